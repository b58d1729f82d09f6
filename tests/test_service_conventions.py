"""The client follows the service's conventions, checked on what the emulator recorded.

Credits are asked for with ``expand=usage`` where the caller wants them (and cost one more
request per job only where a listing does not carry them); ``LLAMA_CLOUD_CUSTOM_HEADERS``
reaches the server and nothing else; creation sends ``file_input`` and webhooks; the
``Retry-After`` policy is the one README states.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest
import stamina

import classify_frames as cf
from classify_frames.client._transport import _capped, _server_wait
from classify_frames.emulator import Emulator

MakeEmulator = Callable[..., Emulator]
JOBS = "/api/v2/classify"
EXPAND = ["expand", "usage"]
RULES = [{"type": "invoice", "description": "an invoice: a bill with a total to pay"}]


def opts(emu: Emulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False}


def credits_of(emu: Emulator, ids: list[str]) -> list[float | None]:
    by_id = {j["id"]: j for j in emu.dataset.jobs()}
    return [(by_id[i].get("usage") or {}).get("credits") for i in ids]


# -- credits ------------------------------------------------------------------------------------


def test_credits_are_asked_with_expand_usage_only_when_wanted(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=400)
    ids = list(emu.dataset.ids[:150])
    billed = [
        j for j in list(emu.dataset.jobs())[:150] if j["status"] not in ("PENDING", "RUNNING")
    ]

    emu.reset_counters()
    plain = cf.fetch_jobs(ids, **opts(emu))
    sent = emu.requests()
    assert len(sent) == 2 and not any(EXPAND in r["query"] for r in sent)  # 150 ids: 2 pages
    assert plain["usage.credits"].isna().all()

    emu.reset_counters()
    asked = cf.fetch_jobs(ids, credits=True, **opts(emu))
    sent = emu.requests()
    assert all(EXPAND in r["query"] for r in sent)
    pages = [r for r in sent if r["path"] == JOBS]
    gets = [r for r in sent if r["path"] != JOBS]
    assert len(pages) == 2  # the listing does not carry usage: one GET per billed job
    assert sorted(r["path"].rsplit("/", 1)[1] for r in gets) == sorted(j["id"] for j in billed)
    got = asked["usage.credits"].astype(object).where(asked["usage.credits"].notna(), None)
    assert got.tolist() == credits_of(emu, ids)

    emu.set_faults(list_usage=True)  # a server whose listings honour expand: nothing more
    emu.reset_counters()
    again = cf.fetch_jobs(ids, credits=True, **opts(emu))
    assert len(emu.requests()) == 2
    pd.testing.assert_series_equal(again["usage.credits"], asked["usage.credits"])


def test_list_jobs_with_credits(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=120)
    emu.reset_counters()
    listed = cf.list_jobs(credits=True, **opts(emu))
    sent = emu.requests()
    assert sent[0]["path"] == JOBS and EXPAND in sent[0]["query"]
    assert all(EXPAND in r["query"] for r in sent)
    finished = listed["status"].isin(["COMPLETED", "FAILED", "CANCELLED"]).sum()
    assert len(sent) == 2 + finished  # 120 jobs: two pages, then one GET per billed job
    assert listed["usage.credits"].tolist() == pytest.approx(
        [c if c is not None else float("nan") for c in credits_of(emu, listed["id"].tolist())],
        nan_ok=True,
    )


# -- custom headers -------------------------------------------------------------------------------


def test_custom_headers_reach_the_server_and_nothing_else(
    make_emulator: MakeEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    emu = make_emulator(jobs=50)
    token = "gw-7f3a9c2e41b8d605"
    monkeypatch.setenv(
        "LLAMA_CLOUD_CUSTOM_HEADERS", f"X-Gateway-Token: {token}\nX-Team:  finance \nno colon here"
    )
    caplog.set_level(logging.DEBUG)
    with cf.ClassifyClient(**opts(emu)) as client:
        assert token not in repr(client) and token not in repr(client.settings)
        client.fetch_jobs(emu.dataset.ids[:3], per_id=True)
        client.list_jobs(limit=5)
    sent = emu.requests()
    assert len(sent) == 4
    for request in sent:
        headers = dict(request["headers"])
        assert headers["x-gateway-token"] == token and headers["x-team"] == "finance"
    assert token not in caplog.text
    explicit = {"X-Other": "1"}  # the argument replaces the environment's
    with cf.ClassifyClient(custom_headers=explicit, **opts(emu)) as client:
        emu.reset_counters()
        client.fetch_jobs(emu.dataset.ids[:1], per_id=True)
    headers = dict(emu.requests()[0]["headers"])
    assert headers["x-other"] == "1" and "x-gateway-token" not in headers


def test_custom_headers_that_cannot_be_sent_are_refused_by_name() -> None:
    base: dict[str, Any] = {"api_key": "llx-test", "base_url": "http://127.0.0.1:9"}
    with pytest.raises(cf.ConfigurationError, match="api_key"):
        cf.ClassifyClient(custom_headers={"Authorization": "Bearer other"}, **base)
    with pytest.raises(cf.ConfigurationError, match="'Bad Name'") as bad:
        cf.ClassifyClient(custom_headers={"Bad Name": "secret-value"}, **base)
    assert "secret-value" not in str(bad.value)
    with pytest.raises(cf.ConfigurationError, match="X-A") as control:
        cf.ClassifyClient(custom_headers={"X-A": "tok\x00en"}, **base)
    assert "tok" not in str(control.value)


def test_a_custom_header_token_echoed_in_an_error_is_masked() -> None:
    token = "gw-7f3a9c2e41b8d605"

    def handler(request: httpx.Request) -> httpx.Response:
        echoed = request.headers["x-gateway-token"]
        return httpx.Response(403, json={"detail": f"gateway refused {echoed}"})

    client = cf.ClassifyClient(
        api_key="llx-test", base_url="http://127.0.0.1:9", progress=False,
        custom_headers={"X-Gateway-Token": token}, transport=httpx.MockTransport(handler),
    )  # fmt: skip
    with client:
        df = client.fetch_jobs(["a"], per_id=True)
    error = str(df.loc[0, "fetch_error"])
    assert "gateway refused ********" in error and token not in error


# -- creation -------------------------------------------------------------------------------------


def test_creation_sends_file_input_and_webhooks(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300, job_duration=0.1)
    jobs = cf.list_jobs(status="COMPLETED", **opts(emu))
    rules = jobs["configuration.rules"]
    same = (jobs["configuration_id"] == jobs["configuration_id"].iloc[0]) & (
        rules.array == rules.iloc[0]
    )
    jobs = jobs[same]  # one source configuration: reclassify refuses a mix
    sample = pd.concat(
        [
            jobs[jobs["document_input_type"] == kind].head(2)
            for kind in ("file_id", "parse_job_id", "url")
        ]
    )
    hook = {
        "webhook_url": "https://hooks.example/classify",
        "webhook_events": ["classify.success", "classify.error"],
        "webhook_signing_secret": "whsec-0123456789",
    }
    emu.reset_counters()
    made = cf.reclassify(
        sample, rules=RULES, experiment="hooks", webhooks=[hook],
        webhook_configuration_ids=["whc-1"], wait=False, **opts(emu),
    )  # fmt: skip
    assert made["fetch_error"].isna().all()
    bodies = [orjson.loads(r["body"]) for r in emu.requests() if r["method"] == "POST"]
    assert len(bodies) == 6
    for body, (_, source) in zip(bodies, sample.iterrows(), strict=True):
        assert not {"file_id", "parse_job_id"} & set(body)
        url = source["document_input_type"] == "url"
        assert body["file_input"] == (source["parse_job_id"] if url else source["file_input"])
        assert body["webhook_configurations"] == [hook]
        assert body["webhook_configuration_ids"] == ["whc-1"]
    assert "whsec" not in repr(made) and "whsec" not in str(made.attrs)

    emu.reset_counters()
    cf.reclassify(
        sample, rules=RULES, experiment="old", input_style="legacy", wait=False, **opts(emu)
    )
    bodies = [orjson.loads(r["body"]) for r in emu.requests() if r["method"] == "POST"]
    fields = [next(k for k in b if k in ("file_id", "parse_job_id", "file_input")) for b in bodies]
    assert fields == ["file_id"] * 2 + ["parse_job_id"] * 4  # a URL job goes by its parse job


def test_webhooks_are_checked_before_any_request(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=20)
    jobs = cf.list_jobs(status="COMPLETED", **opts(emu))
    emu.reset_counters()
    cases: list[tuple[Any, str]] = [
        ([{"webhook_url": "ftp://x"}], "http"),
        ([{"url": "https://x"}], "unknown key"),
        ({"webhook_url": "https://x"}, "list"),
        ([{"webhook_url": "https://x", "webhook_events": "classify.success"}], "list of event"),
    ]
    for bad, message in cases:
        with pytest.raises((ValueError, TypeError), match=message):
            cf.reclassify(jobs, rules=RULES, experiment="x", webhooks=bad, **opts(emu))
    assert emu.requests() == []


def test_a_url_job_without_a_parse_job_is_reported_not_sent(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=20)
    source = {"id": "u1", "status": "COMPLETED", "document_input_type": "url",
              "file_input": "https://storage.example.com/a.pdf", "parse_job_id": None}  # fmt: skip
    made = cf.reclassify(cf.jobs_to_frame([source]), rules=RULES, experiment="u", **opts(emu))
    assert "a URL input" in made.loc[0, "fetch_error"]
    assert not [r for r in emu.requests() if r["method"] == "POST"]


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "wait"),
    [("30", 30.0), ("90", 90.0), ("600", 120.0), ("0", None), ("-3", None), (None, None)],
)
def test_retry_after_policy(header: str | None, wait: float | None) -> None:
    """Honoured up to 120 s (the SDK: 0 < value <= 60 s, else its own backoff); 0 or less
    falls back to the backoff, as the SDK does."""
    headers = {"Retry-After": header} if header is not None else {}
    assert _capped(_server_wait(httpx.Response(429, headers=headers))) == wait


def test_a_zero_retry_after_backs_off_instead_of_retrying_at_once() -> None:
    stamina.set_testing(False)
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"detail": "slow"})
        return httpx.Response(200, json={"id": "a", "status": "COMPLETED"})

    client = cf.ClassifyClient(
        api_key="llx-test", base_url="http://127.0.0.1:9", progress=False,
        transport=httpx.MockTransport(handler),
    )  # fmt: skip
    with client:
        client.fetch_jobs(["a"], per_id=True)
    assert calls[1] - calls[0] >= 0.4  # the backoff's first wait: 0.5 s (jitter adds to it)


def test_the_command_line_asks_for_credits_with_a_flag(
    make_emulator: MakeEmulator, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from classify_frames.cli import main

    emu = make_emulator(jobs=30)
    env = {"LLAMA_CLOUD_API_KEY": emu.api_key, "LLAMA_CLOUD_BASE_URL": emu.base_url}
    out = tmp_path / "jobs.parquet"
    result = CliRunner().invoke(main, ["list", "--credits", "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert all(EXPAND in r["query"] for r in emu.requests())
    assert cf.read_parquet(out)["usage.credits"].notna().any()
