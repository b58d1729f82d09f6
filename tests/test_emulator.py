"""The emulator of the Classify API: data, every endpoint, filter, error and fault, over sockets."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import numpy as np
import orjson
import pandas as pd
import pytest

from classify_frames.emulator import Dataset, Emulator, Faults, ManualClock

JOBS = "/api/v2/classify"
SEED_FIELDS = {
    "id", "configuration", "document_input_type", "document_input_value", "project_id",
    "status", "user_id", "configuration_id", "created_at", "error_message", "parse_job_id",
    "result", "transaction_id", "updated_at",
}  # fmt: skip
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
MakeEmulator = Callable[..., Emulator]


def client(emu: Emulator, key: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {key or emu.api_key}"}
    )


def list_all(emu: Emulator, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    with client(emu) as http:
        token = None
        while True:
            page = http.get(JOBS, params={**params, **({"page_token": token} if token else {})})
            assert page.status_code == 200, page.text
            items.extend(page.json()["items"])
            token = page.json()["next_page_token"]
            if not token:
                return items


# -- the data ----------------------------------------------------------------------------------


def test_dataset_is_deterministic_per_seed() -> None:
    a, b = Dataset.generate(800, seed=7), Dataset.generate(800, seed=7)
    assert list(a.jobs()) == list(b.jobs())
    assert a.labels().equals(b.labels())
    assert set(a.ids).isdisjoint(Dataset.generate(800, seed=8).ids)
    assert a.index_of(a.ids[123]) == 123
    assert a.index_of("cls-nope") is None
    assert Dataset.generate(800, seed=8).index_of(a.ids[5]) is None


def test_a_million_jobs_are_generated_columnar() -> None:
    ds = Dataset.generate(1_000_000, seed=0)
    assert len(ds) == 1_000_000
    last = ds.job(999_999)
    assert ds.index_of(last["id"]) == 999_999
    assert ds.created_ms[0] <= ds.created_ms[-1]


@pytest.mark.parametrize("schema", ["seed", "current", "mixed"])
def test_schemas_carry_their_fields(schema: str) -> None:
    jobs = list(Dataset.generate(3_000, seed=1, schema=schema).jobs())  # type: ignore[arg-type]
    statuses = {j["status"] for j in jobs}
    if schema == "seed":
        assert all(set(j) == SEED_FIELDS for j in jobs)
        assert statuses == {"PENDING", "RUNNING", "COMPLETED", "FAILED"}
    elif schema == "current":
        expected = SEED_FIELDS - {"document_input_value"} | {"file_input", "usage"}
        assert all(set(j) == expected for j in jobs)
        assert "CANCELLED" in statuses
    else:
        assert any("document_input_value" in j and "file_input" not in j for j in jobs)
        assert any("file_input" in j and "document_input_value" not in j for j in jobs)
        assert any("file_input" in j and "document_input_value" in j for j in jobs)
        unknown = [set(j) - SEED_FIELDS - {"file_input", "usage"} for j in jobs]
        assert any(unknown)
        assert any(isinstance(j.get("metadata"), dict) for j in jobs)  # a nested unknown object
        assert all("file_input" in j for j in jobs if j["status"] == "CANCELLED")


def test_jobs_look_like_the_service_wrote_them() -> None:
    ds = Dataset.generate(5_000, seed=0, schema="current")
    jobs = list(ds.jobs())
    for job in jobs:
        assert STAMP.match(job["created_at"]) and STAMP.match(job["updated_at"])
        assert job["updated_at"] >= job["created_at"]
        rules = job["configuration"]["rules"]
        assert 3 <= len(rules) <= 8
        assert all(10 <= len(r["description"]) <= 500 and 1 <= len(r["type"]) <= 50 for r in rules)
        if job["status"] == "COMPLETED":
            assert job["result"]["confidence"] in {0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99}
            assert job["result"]["type"] in {None, *(r["type"] for r in rules)}
        else:
            assert job["result"] is None
        assert (job["error_message"] is not None) == (job["status"] == "FAILED")
        if job["document_input_type"] == "url":
            assert job["file_input"].startswith("https://")
        if job["document_input_type"] == "parse_job_id":
            assert job["usage"]["parse_credits"] is None
    months = {j["created_at"][:7] for j in jobs}
    assert len(months) >= 9
    assert {j["document_input_type"] for j in jobs} == {"url", "file_id", "parse_job_id"}
    assert len({j["configuration_id"] for j in jobs}) == 5
    reasons = [j["result"]["reasoning"] for j in jobs if j["result"]]
    assert any(not r.isascii() for r in reasons)
    assert any(j["result"] and j["result"]["type"] is None for j in jobs)


def _completed(ds: Dataset) -> pd.DataFrame:
    rows = [
        {
            "id": j["id"],
            "created_at": j["created_at"],
            "configuration_id": j["configuration_id"],
            "type": j["result"]["type"] or "none",
            "confidence": j["result"]["confidence"],
        }
        for j in ds.jobs()
        if j["status"] == "COMPLETED"
    ]
    return pd.DataFrame(rows).merge(ds.labels()[["id", "label"]], on="id")


def test_the_injected_faults_are_in_the_data() -> None:
    ds = Dataset.generate(40_000, seed=0)
    injected = ds.injected
    done = _completed(ds)
    done["right"] = done["type"] == done["label"]
    sure = done[done["confidence"] >= 0.95]
    by_type = sure.groupby(["configuration_id", "type"])["right"].mean()
    for config, names in injected["overconfident_by_configuration"].items():
        for name in names:  # says 0.95+ but is right far less often
            assert by_type[config, name] < 0.85, (config, name)
    v2 = injected["rule_set_change"]["to"]
    assert by_type[v2, "invoice"] > 0.85  # the reworded rule is calibrated again
    assert sure.groupby("type")["right"].mean()["resume"] > 0.9
    never = injected["never_matched_types"]
    assert not done["type"].isin(never).any() and not done["label"].isin(never).any()
    drift = done["created_at"] >= injected["drift_start"]
    assert (done.loc[drift, "type"] == "none").mean() > (done.loc[~drift, "type"] == "none").mean()
    assert done.loc[drift, "right"].mean() < done.loc[~drift, "right"].mean()
    change = injected["rule_set_change"]
    assert change["added_types"] == ["credit_note"] and change["removed_types"] == ["tax_form"]
    assert change["edited_types"] == ["invoice"]
    old = done[done["configuration_id"] == change["from"]]
    new = done[done["configuration_id"] == change["to"]]
    assert not new["type"].eq("tax_form").any() and not old["type"].eq("credit_note").any()
    labels = ds.labels()
    again = labels["file_input"].duplicated(keep="first").sum()
    assert again == injected["reclassified_documents"] > 0
    assert set(labels["label"]) >= {"none", "invoice", "resume"}


# -- one job, auth and projects ----------------------------------------------------------------


def test_get_one_job(emulator: Emulator) -> None:
    with client(emulator) as http:
        for i in (0, 1, 1999):
            url = f"{JOBS}/{emulator.dataset.ids[i]}"
            reply = http.get(url, params={"organization_id": "o", "expand": "usage"})
            assert reply.status_code == 200
            assert reply.headers["content-type"] == "application/json"
            assert reply.json() == emulator.dataset.job(i)
        missing = http.get(f"{JOBS}/cls-does-not-exist")
        assert missing.status_code == 404
        assert isinstance(missing.json()["detail"], str)
        assert http.get(f"{JOBS}/a/b").status_code == 404
        assert http.get("/api/v1/other").json() == {"detail": "Not Found"}
        assert http.put(f"{JOBS}/{emulator.dataset.ids[0]}").status_code == 405


@pytest.mark.parametrize(
    ("accept", "gzipped"),
    [("gzip", True), ("gzip, deflate, br", True), ("br;q=1, *", True), ("gzip;q=0", False),
     ("identity", False)],
)  # fmt: skip
def test_answers_are_gzipped_when_asked(emulator: Emulator, accept: str, gzipped: bool) -> None:
    job_id = emulator.dataset.ids[0]
    with client(emulator) as c:
        plain = {
            path: c.get(path, params=params, headers={"Accept-Encoding": "identity"}).content
            for path, params in [(JOBS, {"page_size": 100}), (f"{JOBS}/{job_id}", {})]
        }
        for path, body in plain.items():
            params = {"page_size": 100} if path == JOBS else {}
            response = c.get(path, params=params, headers={"Accept-Encoding": accept})
            assert (response.headers.get("content-encoding") == "gzip") is gzipped, path
            assert response.content == body  # httpx undid the encoding
        small = c.get(f"{JOBS}/cls-nope", headers={"Accept-Encoding": accept})
        assert "content-encoding" not in small.headers  # a 404 detail: not worth it


def test_auth_is_required_everywhere(emulator: Emulator) -> None:
    job = f"{JOBS}/{emulator.dataset.ids[0]}"
    for path in (job, JOBS, "/_emulator/counters"):
        anonymous = httpx.get(emulator.base_url + path)
        assert anonymous.status_code == 401
        assert anonymous.json() == {"detail": "Not authenticated"}
        with client(emulator, key="llx-wrong") as http:
            wrong = http.get(path)
        assert wrong.status_code == 401 and isinstance(wrong.json()["detail"], str)
    assert "llx-" not in httpx.get(emulator.base_url + job).text


def test_jobs_of_another_project_are_not_found(emulator: Emulator) -> None:
    job_id = emulator.dataset.ids[3]
    with client(emulator) as http:
        own = http.get(f"{JOBS}/{job_id}", params={"project_id": emulator.dataset.project_id})
        assert own.status_code == 200
        other = http.get(f"{JOBS}/{job_id}", params={"project_id": "another-project"})
        assert other.status_code == 404
        listed = http.get(JOBS, params={"project_id": "another-project"}).json()
        assert listed["items"] == [] and listed["total_size"] == 0


# -- listing -----------------------------------------------------------------------------------


def test_list_pages_through_every_job_once(emulator: Emulator) -> None:
    with client(emulator) as http:
        first = http.get(JOBS).json()
    assert len(first["items"]) == 50  # the default page size
    assert first["total_size"] == 2_000
    items = list_all(emulator, page_size=100)
    assert [j["id"] for j in items] == list(emulator.dataset.ids)


def test_list_filters(emulator: Emulator) -> None:
    ds = emulator.dataset
    jobs = list(ds.jobs())
    failed = list_all(emulator, status="FAILED", page_size=100)
    assert [j["id"] for j in failed] == [j["id"] for j in jobs if j["status"] == "FAILED"]
    config = jobs[10]["configuration_id"]
    by_config = list_all(emulator, configuration_id=config, page_size=100)
    assert {j["configuration_id"] for j in by_config} == {config}
    assert len(by_config) == sum(j["configuration_id"] == config for j in jobs)
    low, high = jobs[100]["created_at"], jobs[300]["created_at"]
    window = list_all(emulator, created_at_on_or_after=low, created_at_on_or_before=high)
    assert [j["id"] for j in window] == [j["id"] for j in jobs if low <= j["created_at"] <= high]
    offset = list_all(emulator, created_at_on_or_after=low.replace("Z", "+00:00"))
    assert len(offset) == sum(j["created_at"] >= low for j in jobs)
    assert list_all(emulator, configuration_id="no-such-config") == []


def test_list_by_job_ids(emulator: Emulator) -> None:
    wanted = [emulator.dataset.ids[i] for i in (1500, 3, 42, 3)] + ["cls-unknown"]
    with client(emulator) as http:
        params = (*[("job_ids", i) for i in wanted], ("page_size", "100"))
        reply = http.get(JOBS, params=params)
    body = reply.json()
    assert sorted(j["id"] for j in body["items"]) == sorted(set(wanted) - {"cls-unknown"})
    assert body["total_size"] == 3 and body["next_page_token"] is None
    paged = list_all(emulator, job_ids=list(emulator.dataset.ids[:250]), page_size=100)
    assert [j["id"] for j in paged] == list(emulator.dataset.ids[:250])


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"page_size": 0}, ["query", "page_size"]),
        ({"page_size": 101}, ["query", "page_size"]),
        ({"page_size": "ten"}, ["query", "page_size"]),
        ({"status": "DONE"}, ["query", "status"]),
        ({"created_at_on_or_after": "yesterday"}, ["query", "created_at_on_or_after"]),
        ({"page_token": "not-a-token"}, ["query", "page_token"]),
    ],
)
def test_list_rejects_bad_parameters_like_fastapi(
    emulator: Emulator, params: dict[str, Any], loc: list[str]
) -> None:
    with client(emulator) as http:
        reply = http.get(JOBS, params=params)
    assert reply.status_code == 422
    (error,) = reply.json()["detail"]
    assert error["loc"] == loc and error["msg"] and error["type"]


def test_page_tokens_only_fit_their_own_listing(emulator: Emulator) -> None:
    with client(emulator) as http:
        token = http.get(JOBS, params={"status": "COMPLETED"}).json()["next_page_token"]
        assert http.get(JOBS, params={"status": "COMPLETED", "page_token": token}).is_success
        assert http.get(JOBS, params={"status": "FAILED", "page_token": token}).status_code == 422


# -- create, cancel, delete --------------------------------------------------------------------

RULES = [{"type": "invoice", "description": "contains invoice number and total amount"}]


def _one_rule(kind: str, description: str) -> dict[str, Any]:
    return {
        "file_input": "f",
        "configuration": {"rules": [{"type": kind, "description": description}]},
    }


def test_create_runs_a_job_to_completion(make_emulator: MakeEmulator) -> None:
    clock = ManualClock(start=1_800_000_000.0)  # 2027-01-15T08:00:00Z
    emu = make_emulator(job_duration=10, clock=clock)
    with client(emu) as http:
        job = http.post(JOBS, json={"file_input": "dfl-1", "configuration": {"rules": RULES}})
        assert job.status_code == 200, job.text
        created = job.json()
        assert created["status"] == "PENDING" and created["file_input"] == "dfl-1"
        assert created["created_at"] == created["updated_at"] == "2027-01-15T08:00:00.000Z"

        def status() -> str:
            seen: str = http.get(f"{JOBS}/{created['id']}").json()["status"]
            return seen

        assert status() == "PENDING"
        clock.advance(1.9)  # PENDING for the first 20% of job_duration
        assert status() == "PENDING"
        clock.advance(0.2)
        assert status() == "RUNNING"
        clock.advance(7.8)
        assert status() == "RUNNING"
        clock.advance(0.2)
        final = http.get(f"{JOBS}/{created['id']}").json()
        assert final["status"] in ("COMPLETED", "FAILED")
        assert final["updated_at"] == "2027-01-15T08:00:10.000Z"
        assert (final["result"] is not None) == (final["status"] == "COMPLETED")
        listed = http.get(JOBS, params={"job_ids": created["id"]}).json()["items"]
        assert [j["id"] for j in listed] == [created["id"]]
        assert http.get(JOBS).json()["total_size"] == 501


def test_a_clock_cannot_go_back_or_cross_into_a_subprocess() -> None:
    with pytest.raises(ValueError, match="only moves forward"):
        ManualClock().advance(-1)
    with pytest.raises(ValueError, match="drop process=True"):
        Emulator(jobs=10, process=True, clock=ManualClock())


def test_create_accepts_older_inputs_and_saved_configurations(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(schema="seed")
    config = emu.dataset.configurations[2]["id"]
    with client(emu) as http:
        by_file = http.post(JOBS, json={"file_id": "f-1", "configuration_id": config}).json()
        assert by_file["document_input_type"] == "file_id"
        assert by_file["document_input_value"] == "f-1" and "file_input" not in by_file
        assert by_file["configuration"] == emu.dataset.configurations[2]["configuration"]
        by_parse = http.post(JOBS, json={"parse_job_id": "pj-1", "configuration_id": config})
        assert by_parse.json()["document_input_type"] == "parse_job_id"
        url = http.post(
            JOBS, json={"file_input": "https://x.test/a.pdf", "configuration_id": config}
        )
        assert url.json()["document_input_type"] == "url"
        unknown = http.post(JOBS, json={"file_id": "f-1", "configuration_id": "nope"})
        assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"configuration": {"rules": RULES}}, ["body"]),
        ({"file_input": "f"}, ["body"]),
        ({"file_input": "f", "configuration": {"rules": []}}, ["body", "configuration", "rules"]),
        (_one_rule("a", "short"), ["body", "configuration", "rules", 0, "description"]),
        (_one_rule("", "x" * 20), ["body", "configuration", "rules", 0, "type"]),
        (_one_rule("t", "x" * 501), ["body", "configuration", "rules", 0, "description"]),
        (_one_rule("t" * 51, "x" * 20), ["body", "configuration", "rules", 0, "type"]),
        ({"file_input": "f", "configuration": {"rules": RULES, "mode": "SLOW"}},
         ["body", "configuration", "mode"]),
        ({"file_input": 3, "configuration": {"rules": RULES}}, ["body", "file_input"]),
    ],
)  # fmt: skip
def test_create_validates_like_the_api(
    emulator: Emulator, body: dict[str, Any], loc: list[Any]
) -> None:
    with client(emulator) as http:
        reply = http.post(JOBS, json=body)
    assert reply.status_code == 422
    assert loc in [e["loc"] for e in reply.json()["detail"]]


def test_create_rejects_a_body_that_is_not_json(emulator: Emulator) -> None:
    with client(emulator) as http:
        reply = http.post(JOBS, content=b"{nope", headers={"content-type": "application/json"})
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["type"] == "json_invalid"


def test_transaction_id_is_idempotent_per_project(make_emulator: MakeEmulator) -> None:
    emu = make_emulator()
    body = {"file_input": "f-9", "configuration": {"rules": RULES}, "transaction_id": "tx-1"}
    with client(emu) as http:
        first = http.post(JOBS, json=body).json()
        again = http.post(JOBS, json={**body, "file_input": "other"}).json()
        assert again["id"] == first["id"] and again["file_input"] == "f-9"
        elsewhere = http.post(JOBS, json=body, params={"project_id": "p-2"}).json()
        assert elsewhere["id"] != first["id"] and elsewhere["project_id"] == "p-2"
        assert http.get(f"{JOBS}/{elsewhere['id']}").status_code == 404
        assert http.get(f"{JOBS}/{elsewhere['id']}", params={"project_id": "p-2"}).is_success
        other = http.get(JOBS, params={"project_id": "p-2"}).json()
        assert [j["id"] for j in other["items"]] == [elsewhere["id"]]


@pytest.mark.parametrize(("schema", "final"), [("current", "CANCELLED"), ("seed", "FAILED")])
def test_cancel(make_emulator: MakeEmulator, schema: str, final: str) -> None:
    emu = make_emulator(schema=schema, jobs=3_000, job_duration=60)
    jobs = list(emu.dataset.jobs())
    pending = next(j for j in jobs if j["status"] == "PENDING")
    done = next(j for j in jobs if j["status"] == "COMPLETED")
    with client(emu) as http:
        cancelled = http.post(f"{JOBS}/{pending['id']}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == final
        assert http.get(f"{JOBS}/{pending['id']}").json()["status"] == final
        listed = list_all(emu, status=final, page_size=100)
        assert pending["id"] in {j["id"] for j in listed}
        assert http.post(f"{JOBS}/{done['id']}/cancel").status_code == 400
        assert http.post(f"{JOBS}/cls-nope/cancel").status_code == 404
        made = http.post(JOBS, json={"file_input": "f", "configuration": {"rules": RULES}})
        stopped = http.post(f"{JOBS}/{made.json()['id']}/cancel").json()
        assert stopped["status"] == final


def test_delete(make_emulator: MakeEmulator) -> None:
    emu = make_emulator()
    job_id = emu.dataset.ids[7]
    with client(emu) as http:
        reply = http.delete(f"{JOBS}/{job_id}")
        assert reply.json() == {"id": job_id, "project_id": emu.dataset.project_id}
        assert http.get(f"{JOBS}/{job_id}").status_code == 404
        assert http.delete(f"{JOBS}/{job_id}").status_code == 404
        assert http.get(JOBS).json()["total_size"] == 499
        assert job_id not in {j["id"] for j in list_all(emu, page_size=100)}


def test_delete_refuses_a_job_that_has_not_finished(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=3_000, job_duration=60)
    running = next(j for j in emu.dataset.jobs() if j["status"] in ("PENDING", "RUNNING"))
    with client(emu) as http:
        refused = http.delete(f"{JOBS}/{running['id']}")
        assert refused.status_code == 400 and "cancel it first" in refused.json()["detail"]
        assert http.get(f"{JOBS}/{running['id']}").json()["status"] == running["status"]
        assert http.post(f"{JOBS}/{running['id']}/cancel").json()["status"] == "CANCELLED"
        assert http.delete(f"{JOBS}/{running['id']}").status_code == 200
        made = http.post(JOBS, json={"file_input": "dfl-1", "configuration": {"rules": RULES}})
        assert http.delete(f"{JOBS}/{made.json()['id']}").status_code == 400
        assert http.get(f"{JOBS}/{made.json()['id']}").status_code == 200


def test_usage_only_when_asked_for(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300)
    job = emu.dataset.job(5)
    with client(emu) as http:
        assert "usage" not in http.get(f"{JOBS}/{job['id']}").json()
        for expand in ("usage", "usage,other"):
            asked = http.get(f"{JOBS}/{job['id']}", params={"expand": expand}).json()
            assert asked["usage"] == job["usage"]
        both = http.get(f"{JOBS}/{job['id']}", params=[("expand", "x"), ("expand", "usage")])
        assert both.json()["usage"] == job["usage"]
        # the SDK's list takes no expand: listings carry no usage unless the server is set to
        listed = http.get(JOBS, params={"expand": "usage", "page_size": 5}).json()["items"]
        assert listed and not any("usage" in j for j in listed)
        emu.set_faults(list_usage=True)
        listed = http.get(JOBS, params={"expand": "usage", "page_size": 5}).json()["items"]
        assert [j["usage"] for j in listed] == [j["usage"] for j in list(emu.dataset.jobs())[:5]]
        assert not any("usage" in j for j in http.get(JOBS).json()["items"])
        made = http.post(JOBS, json={"file_input": "dfl-1", "configuration": {"rules": RULES}})
        assert "usage" not in made.json()
        assert http.get(f"{JOBS}/{made.json()['id']}", params={"expand": "usage"}).json()[
            "usage"
        ] == {"credits": None, "parse_credits": None}


def test_seed_era_refuses_the_cancelled_status(make_emulator: MakeEmulator) -> None:
    seed = make_emulator(jobs=50, schema="seed")
    with client(seed) as http:
        refused = http.get(JOBS, params={"status": "CANCELLED"})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["query", "status"]
        assert "CANCELLED" not in refused.json()["detail"][0]["msg"]
        assert http.get(JOBS, params={"status": "FAILED"}).status_code == 200
    current = make_emulator(jobs=50)
    with client(current) as http:
        assert http.get(JOBS, params={"status": "CANCELLED"}).status_code == 200


def test_ids_have_the_service_shapes() -> None:
    ds = Dataset.generate(600, seed=3)
    jobs = list(ds.jobs())
    shapes = {"file_id": "dfl-", "parse_job_id": "pjb-", "url": "https://"}
    for job in jobs:
        assert job["file_input"].startswith(shapes[job["document_input_type"]])
        assert job["parse_job_id"] is None or job["parse_job_id"].startswith("pjb-")
        assert job["configuration_id"].startswith("cfg-")
        assert ds.document_kind(job["file_input"]) is not None
    assert {j["document_input_type"] for j in jobs} == set(shapes)
    assert ds.document_kind("dfl-" + jobs[0]["id"]) is None


# -- faults ------------------------------------------------------------------------------------


def test_faults_are_off_by_default_and_validated(emulator: Emulator) -> None:
    assert emulator.faults == Faults()
    with pytest.raises(ValueError, match="unknown fault"):
        emulator.set_faults(fail_rat=0.5)
    with pytest.raises(ValueError, match="probability"):
        emulator.set_faults(fail_rate=2)
    with pytest.raises(ValueError, match="add up"):
        emulator.set_faults(fail_rate=0.7, drop_rate=0.7)


def test_latency_and_spikes(emulator: Emulator) -> None:
    url = f"{JOBS}/{emulator.dataset.ids[0]}"
    emulator.set_faults(latency_ms=80, jitter_ms=10)
    with client(emulator) as http:
        started = time.perf_counter()
        http.get(url)
        assert time.perf_counter() - started >= 0.06
        emulator.set_faults(latency_ms=0, jitter_ms=0, spike_rate=1, spike_s=0.3)
        emulator.reset_counters()
        started = time.perf_counter()
        http.get(url)
        assert time.perf_counter() - started >= 0.25
    assert emulator.counters()["by_fault"] == {"latency_spike": 1}


@pytest.mark.parametrize("form", ["seconds", "http-date"])
def test_rate_limit_answers_429_with_retry_after(make_emulator: MakeEmulator, form: str) -> None:
    emu = make_emulator(rate_limit=3, rate_period=60, retry_after=form, retry_after_ms=True)
    with client(emu) as http:
        replies = [http.get(f"{JOBS}/{emu.dataset.ids[0]}") for _ in range(5)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429, 429]
    limited = replies[-1]
    assert isinstance(limited.json()["detail"], str)
    value = limited.headers["retry-after"]
    if form == "seconds":
        assert 1 <= int(value) <= 60
    else:
        wait = parsedate_to_datetime(value).timestamp() - time.time()
        assert -5 < wait <= 61
    assert 0 < int(limited.headers["retry-after-ms"]) <= 60_000
    assert emu.counters()["by_fault"]["rate_limited"] == 2


def test_rate_limit_admits_again_after_the_window(make_emulator: MakeEmulator) -> None:
    clock = ManualClock()
    emu = make_emulator(rate_limit=3, rate_period=1.5, clock=clock)
    with client(emu) as http:

        def code() -> int:
            return http.get(f"{JOBS}/{emu.dataset.ids[0]}").status_code

        assert [code() for _ in range(4)] == [200, 200, 200, 429]
        clock.advance(1.4)
        assert code() == 429  # the window has not moved on yet
        clock.advance(0.1)
        assert [code() for _ in range(4)] == [200, 200, 200, 429]


def test_server_errors(emulator: Emulator) -> None:
    url = f"{JOBS}/{emulator.dataset.ids[0]}"
    with client(emulator) as http:
        emulator.set_faults(fail_rate=1)
        codes = {http.get(url).status_code for _ in range(40)}
        assert codes <= {500, 502, 503, 504} and len(codes) > 1
        emulator.set_faults(fail_statuses=[503], no_retry=True)
        reply = http.get(url)
        assert reply.status_code == 503 and reply.headers["x-should-retry"] == "false"
        assert isinstance(reply.json()["detail"], str)


def test_dropped_connection_mid_body(emulator: Emulator) -> None:
    emulator.set_faults(drop_rate=1)
    with client(emulator) as http, pytest.raises(httpx.RemoteProtocolError):
        http.get(f"{JOBS}/{emulator.dataset.ids[0]}")
    emulator.clear_faults()
    with client(emulator) as http:  # the server itself carries on
        assert http.get(f"{JOBS}/{emulator.dataset.ids[0]}").status_code == 200


@pytest.mark.parametrize("fault", ["truncate_rate", "malformed_rate"])
def test_broken_json_bodies(emulator: Emulator, fault: str) -> None:
    url = f"{JOBS}/{emulator.dataset.ids[0]}"
    emulator.set_faults(**{fault: 1})
    with client(emulator) as http:
        replies = [http.get(url), http.get(JOBS)]
    for reply in replies:
        assert reply.status_code == 200
        with pytest.raises(orjson.JSONDecodeError):
            orjson.loads(reply.content)
    if fault == "truncate_rate":
        whole = orjson.dumps(emulator.dataset.job(0))
        assert whole.startswith(replies[0].content) and len(replies[0].content) < len(whole)


def test_html_pages_instead_of_json(emulator: Emulator) -> None:
    url = f"{JOBS}/{emulator.dataset.ids[0]}"
    with client(emulator) as http:
        emulator.set_faults(html_rate=1)
        proxy = http.get(url)
        assert proxy.status_code == 502 and proxy.headers["content-type"].startswith("text/html")
        emulator.set_faults(html_rate=0, html_200_rate=1)
        portal = http.get(url)
        assert portal.status_code == 200 and portal.text.lstrip().startswith("<!DOCTYPE html>")


def test_200_that_is_not_a_job(emulator: Emulator) -> None:
    emulator.set_faults(not_a_job_rate=1)
    with client(emulator) as http:
        bodies = [http.get(f"{JOBS}/{emulator.dataset.ids[0]}").json() for _ in range(20)]
    assert all(not (isinstance(b, dict) and "id" in b) for b in bodies)


def test_pagination_faults(emulator: Emulator) -> None:
    with client(emulator) as http:
        emulator.set_faults(page_loop_rate=1)
        first = http.get(JOBS, params={"page_size": 10}).json()
        token = first["next_page_token"]
        second = http.get(JOBS, params={"page_size": 10, "page_token": token}).json()
        assert second["next_page_token"] == token  # a loop

        emulator.set_faults(page_loop_rate=0, oversize_rate=1)
        assert len(http.get(JOBS, params={"page_size": 10}).json()["items"]) > 10

        emulator.set_faults(oversize_rate=0, lying_total_rate=1)
        totals = {http.get(JOBS, params={"page_size": 1}).json()["total_size"] for _ in range(8)}
        assert 2_000 not in totals

    emulator.set_faults(lying_total_rate=0, duplicate_rate=1)
    items = [j["id"] for j in list_all(emulator, page_size=100)]
    assert len(items) > len(set(items)) == 2_000  # duplicates, nothing lost
    assert set(emulator.counters()["by_fault"]) >= {"page_loop", "oversize_page", "lying_total"}


def test_server_that_ignores_job_ids(emulator: Emulator) -> None:
    wanted = list(emulator.dataset.ids[1000:1005])
    emulator.set_faults(ignore_job_ids=True)
    with client(emulator) as http:
        items = http.get(JOBS, params={"job_ids": wanted}).json()["items"]
    assert not {j["id"] for j in items} <= set(wanted)


def test_faults_are_deterministic_per_seed(make_emulator: MakeEmulator) -> None:
    def statuses(emu: Emulator) -> list[int]:
        with client(emu) as http:
            return [http.get(f"{JOBS}/{emu.dataset.ids[0]}").status_code for _ in range(40)]

    one = make_emulator(fail_rate=0.4, seed=3)
    two = make_emulator(fail_rate=0.4, seed=3)
    assert statuses(one) == statuses(two)
    assert len(set(statuses(one))) > 1
    one.set_faults(seed=4)
    assert statuses(one) != statuses(two)


def test_counters_by_endpoint_status_and_fault(make_emulator: MakeEmulator) -> None:
    emu = make_emulator()
    with client(emu) as http:
        http.get(f"{JOBS}/{emu.dataset.ids[0]}")
        http.get(f"{JOBS}/nope")
        http.get(JOBS)
        http.post(JOBS, json={})
        emu.set_faults(fail_rate=1, fail_statuses=[500])
        http.delete(f"{JOBS}/{emu.dataset.ids[0]}")
    counts = emu.counters()
    assert counts["requests"] == 5
    assert counts["by_endpoint"] == {"get": 2, "list": 1, "create": 1, "delete": 1}
    assert counts["by_status"] == {"200": 2, "404": 1, "422": 1, "500": 1}
    assert counts["by_fault"] == {"server_error": 1}
    emu.reset_counters()
    assert emu.counters() == {
        "requests": 0, "by_endpoint": {}, "by_status": {}, "by_fault": {},
        "jobs_created": 0, "creations_replayed": 0,
    }  # fmt: skip


# -- running it --------------------------------------------------------------------------------


def test_key_and_repr(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=10)
    assert emu.api_key.startswith("llx-emu-")
    assert emu.api_key not in repr(emu) and emu.api_key not in str(emu)
    own = make_emulator(jobs=10, api_key="llx-canary-123")
    assert own.api_key == "llx-canary-123" and "canary" not in repr(own)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", own.base_url)
    assert own.labels().shape == (10, 3) and own.injected["never_matched_types"]


def test_start_stop_and_faults_before_start() -> None:
    emu = Emulator(jobs=20, fail_rate=1)
    emu.set_faults(fail_statuses=[502])
    with emu:
        with client(emu) as http:
            assert http.get(f"{JOBS}/{emu.dataset.ids[0]}").status_code == 502
        url = emu.base_url
    with pytest.raises(RuntimeError, match="not running"):
        emu.counters()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_subprocess_mode_is_driven_the_same_way(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300, process=True, seed=5)
    with client(emu) as http:
        expanded = http.get(f"{JOBS}/{emu.dataset.ids[9]}", params={"expand": "usage"})
        assert expanded.json() == emu.dataset.job(9)
        emu.set_faults(fail_rate=1, fail_statuses=[504])
        assert http.get(f"{JOBS}/{emu.dataset.ids[9]}").status_code == 504
    assert emu.counters()["by_status"] == {"200": 1, "504": 1}
    assert emu.faults.fail_rate == 1
    emu.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url)


def test_works_inside_a_running_event_loop() -> None:
    async def main() -> int:
        with Emulator(jobs=30) as emu:  # started from a coroutine, as in a notebook cell
            async with httpx.AsyncClient(
                base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}
            ) as http:
                replies = await asyncio.gather(*(http.get(f"{JOBS}/{i}") for i in emu.dataset.ids))
        return sum(r.status_code == 200 for r in replies)

    assert asyncio.run(main()) == 30


def test_cli_serves_until_ctrl_c(tmp_path: Any) -> None:
    labels = tmp_path / "labels.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from classify_frames.cli import main; main()", "emulator",
         "--port", "0", "--jobs", "50", "--seed", "2", "--schema", "seed", "--labels-out",
         str(labels), "--api-key", "llx-cli-key"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        lines = [proc.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        url = next(x for x in lines if x.startswith("LLAMA_CLOUD_BASE_URL=")).split("=")[1]
        assert "LLAMA_CLOUD_API_KEY=llx-cli-key\n" in lines
        served = pd.read_csv(labels)
        assert len(served) == 50 and list(served.columns) == ["id", "file_input", "label"]
        reply = httpx.get(
            f"{url.strip()}{JOBS}/{served['id'][0]}",
            headers={"Authorization": "Bearer llx-cli-key"},
        )
        assert reply.json() == Dataset.generate(50, seed=2, schema="seed").job(0)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err


def test_labels_match_the_served_jobs(emulator: Emulator) -> None:
    labels = emulator.labels()
    jobs = list(emulator.dataset.jobs())
    assert list(labels["id"]) == [j["id"] for j in jobs]
    values = [j.get("document_input_value") or j.get("file_input") for j in jobs]
    assert list(labels["file_input"]) == values
    types = {
        r["type"] for c in emulator.dataset.configurations for r in c["configuration"]["rules"]
    }
    assert np.isin(labels["label"].unique(), [*types, "none"]).all()


def test_requests_are_recorded_without_the_key(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=20)
    with client(emu) as http:
        http.get(f"{JOBS}/{emu.dataset.ids[0]}", params=[("expand", "usage")], headers={"X-A": "1"})
        http.post(JOBS, json={"file_input": "dfl-1", "configuration": {"rules": RULES}})
    first, second = emu.requests()
    assert first["method"] == "GET" and first["query"] == [["expand", "usage"]]
    assert ["x-a", "1"] in first["headers"]
    assert second["method"] == "POST" and second["path"] == JOBS
    assert emu.api_key not in str(emu.requests())
    emu.reset_counters()
    assert emu.requests() == []


def test_create_takes_file_input_webhooks_and_a_jobs_parse_job(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300)
    source = next(
        j for j in emu.dataset.jobs() if j["document_input_type"] == "url" and j["parse_job_id"]
    )
    hook = {
        "webhook_url": "https://hooks.example/classify",
        "webhook_events": ["classify.success"],
        "webhook_headers": {"X-Token": "t"},
        "webhook_signing_secret": "s",
    }
    body = {
        "file_input": source["parse_job_id"],
        "configuration": {"rules": RULES},
        "webhook_configurations": [hook],
        "webhook_configuration_ids": ["whc-1"],
    }
    with client(emu) as http:
        made = http.post(JOBS, json=body)
        assert made.status_code == 200, made.text
        assert made.json()["document_input_type"] == "parse_job_id"
        assert made.json()["file_input"] == source["parse_job_id"]
        for bad in ({"webhook_configurations": [{"webhook_url": 3}]},
                    {"webhook_configurations": "https://x"},
                    {"webhook_configuration_ids": [1]}):  # fmt: skip
            refused = http.post(JOBS, json={**body, **bad})
            assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][1].startswith(
                "webhook_configuration"
            )
    assert emu.dataset.original_input(source["parse_job_id"]) == source["file_input"]
    assert emu.dataset.original_input("pjb-unknown") == "pjb-unknown"
    sent = [r for r in emu.requests() if r["method"] == "POST"]
    assert orjson.loads(sent[0]["body"]) == body
