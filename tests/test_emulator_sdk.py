"""The official llama-cloud SDK parses every answer of the emulator, in all three schemas.

Seen with llama-cloud 2.19: the SDK also accepts the seed schema (its models do not validate);
``file_input`` is then None and ``document_input_value`` is kept in ``model_extra``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from llama_cloud import (
    AuthenticationError,
    BadRequestError,
    InternalServerError,
    LlamaCloud,
    NotFoundError,
    UnprocessableEntityError,
)

from classify_frames.emulator import Emulator, ManualClock

JOBS = "/api/v2/classify"
CONFIGURATIONS = "/api/v1/beta/configurations"

if TYPE_CHECKING:
    from llama_cloud.types import ClassifyConfigurationParam, ClassifyV2ParametersParam

MakeEmulator = Callable[..., Emulator]
CONFIGURATION: ClassifyConfigurationParam = {
    "rules": [{"type": "invoice", "description": "contains invoice number and total amount"}]
}


def sdk(emu: Emulator, **kw: Any) -> LlamaCloud:
    return LlamaCloud(api_key=emu.api_key, base_url=emu.base_url, **kw)


@pytest.fixture(scope="module", params=["seed", "current", "mixed"])
def schema_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    with Emulator(jobs=400, seed=1, schema=request.param) as emu:
        yield emu


def test_get_parses_every_field(schema_emulator: Emulator) -> None:
    emu = schema_emulator
    with sdk(emu) as client:
        for i in range(0, 400, 7):
            expected = emu.dataset.job(i)
            job = client.classify.get(expected["id"], expand=["usage"])
            assert job.id == expected["id"] and job.status == expected["status"]
            assert job.project_id == expected["project_id"]
            assert job.configuration.rules[0].type == expected["configuration"]["rules"][0]["type"]
            assert isinstance(job.created_at, datetime) and job.created_at.tzinfo is not None
            assert (
                job.created_at.isoformat(timespec="milliseconds")[:23]
                == expected["created_at"][:23]
            )
            value = expected.get("file_input") or expected["document_input_value"]
            if "file_input" in expected:
                assert job.file_input == value
            else:  # the seed page's field: kept by the SDK as an extra
                assert job.file_input is None
                assert (job.model_extra or {})["document_input_value"] == value
            if expected["result"] is None:
                assert job.result is None
            else:
                assert job.result is not None
                assert job.result.type == expected["result"]["type"]
                assert job.result.confidence == expected["result"]["confidence"]
            if "usage" in expected:
                assert job.usage is not None
                assert job.usage.credits == expected["usage"]["credits"]
                assert client.classify.get(expected["id"]).usage is None  # not asked for


def test_list_pages_and_filters(schema_emulator: Emulator) -> None:
    emu = schema_emulator
    jobs = list(emu.dataset.jobs())
    with sdk(emu) as client:
        pages = list(client.classify.list(page_size=30).iter_pages())
        assert len(pages) == math.ceil(400 / 30)
        every = [job.id for job in client.classify.list(page_size=100)]
        assert every == list(emu.dataset.ids)
        completed = [job.id for job in client.classify.list(status="COMPLETED")]
        assert completed == [j["id"] for j in jobs if j["status"] == "COMPLETED"]
        config = jobs[0]["configuration_id"]
        by_config = list(client.classify.list(configuration_id=config, page_size=100))
        assert {job.configuration_id for job in by_config} == {config}
        since = datetime.fromisoformat(jobs[200]["created_at"])  # sent as +00:00 by the SDK
        later = list(client.classify.list(created_at_on_or_after=since, page_size=100))
        assert len(later) == sum(j["created_at"] >= jobs[200]["created_at"] for j in jobs)


def test_list_by_job_ids(schema_emulator: Emulator) -> None:
    emu = schema_emulator
    wanted = list(emu.dataset.ids[100:350])
    with sdk(emu) as client:
        found = [job.id for job in client.classify.list(job_ids=wanted, page_size=100)]
    assert found == wanted


def test_create_wait_cancel_delete(make_emulator: MakeEmulator) -> None:
    clock = ManualClock()
    emu = make_emulator(job_duration=5, clock=clock)
    with sdk(emu) as client:
        made = client.classify.create(file_input="dfl-1", configuration=CONFIGURATION)
        assert made.status == "PENDING" and made.file_input == "dfl-1"
        clock.advance(5)  # the first poll finds it done
        done = client.classify.wait_for_completion(made.id, polling_interval=0.1, timeout=30)
        assert done.status in ("COMPLETED", "FAILED")
        again = client.classify.create(file_id="f-2", configuration=CONFIGURATION)
        assert client.classify.cancel(again.id).status == "CANCELLED"
        with pytest.raises(BadRequestError):
            client.classify.cancel(again.id)
        deleted = client.classify.delete(again.id)
        assert deleted.id == again.id and deleted.project_id == emu.dataset.project_id
        with pytest.raises(NotFoundError):
            client.classify.get(again.id)


def test_sdk_errors(emulator: Emulator) -> None:
    with sdk(emulator, max_retries=0) as client:
        with pytest.raises(NotFoundError):
            client.classify.get("cls-nope")
        with pytest.raises(UnprocessableEntityError):
            client.classify.list(page_size=500)
        with pytest.raises(UnprocessableEntityError):
            client.classify.create(file_input="f", configuration={"rules": []})
    with (
        LlamaCloud(api_key="llx-wrong", base_url=emulator.base_url) as wrong,
        pytest.raises(AuthenticationError),
    ):
        wrong.classify.get(emulator.dataset.ids[0])


def test_sdk_retries_429_and_honours_x_should_retry(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(rate_limit=2, rate_period=1)
    with sdk(emu, max_retries=5) as client:
        for i in range(5):
            assert client.classify.get(emu.dataset.ids[i]).id == emu.dataset.ids[i]
    assert emu.counters()["by_status"]["429"] >= 1  # retried after Retry-After, then served
    emu.set_faults(rate_limit=None, fail_rate=1, fail_statuses=[503], no_retry=True)
    emu.reset_counters()
    with sdk(emu, max_retries=5) as client, pytest.raises(InternalServerError):
        client.classify.get(emu.dataset.ids[0])
    assert emu.counters()["requests"] == 1  # x-should-retry: false stopped the retries


def test_every_answer_validates_strictly_on_the_current_schema(
    make_emulator: MakeEmulator,
) -> None:
    """Each body the emulator sends passes the SDK's pydantic models in full validation (the
    SDK itself only constructs them), with no field the models do not know."""
    from llama_cloud.types import (
        ClassifyCancelResponse,
        ClassifyCreateResponse,
        ClassifyDeleteResponse,
        ClassifyGetResponse,
        ClassifyListResponse,
        ConfigurationResponse,
    )

    clock = ManualClock()
    emu = make_emulator(jobs=1_500, seed=4, job_duration=5, clock=clock)
    checked = 0

    def valid(model: Any, body: Any) -> None:
        nonlocal checked
        parsed = model.model_validate(body)
        assert not parsed.model_extra, parsed.model_extra
        checked += 1

    with httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {emu.api_key}"}
    ) as http:
        token = None
        while True:
            paging: dict[str, str] = {"page_token": token} if token else {}
            page = http.get(JOBS, params={"page_size": 100, **paging})
            for item in page.json()["items"]:
                valid(ClassifyListResponse, item)
            token = page.json()["next_page_token"]
            if not token:
                break
        for job_id in emu.dataset.ids[::5]:
            for params in ({}, {"expand": "usage"}):
                valid(ClassifyGetResponse, http.get(f"{JOBS}/{job_id}", params=params).json())
        made = http.post(JOBS, json={"file_input": "dfl-1", "configuration": CONFIGURATION})
        valid(ClassifyCreateResponse, made.json())
        other = http.post(JOBS, json={"file_input": "pjb-1", "configuration": CONFIGURATION})
        valid(ClassifyCancelResponse, http.post(f"{JOBS}/{other.json()['id']}/cancel").json())
        clock.advance(5)
        valid(ClassifyGetResponse, http.get(f"{JOBS}/{made.json()['id']}").json())
        valid(ClassifyDeleteResponse, http.delete(f"{JOBS}/{made.json()['id']}").json())
        configs = http.get(CONFIGURATIONS).json()["items"]
        for config in configs:
            valid(ConfigurationResponse, config)
    assert checked >= 300 + 600 + 4 + len(configs)


def test_configurations_update_delete_and_latest_only(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=50)
    finance = [c for c in emu.dataset.configurations if c["name"] == "finance-intake"]
    old, new = (c["id"] for c in sorted(finance, key=lambda c: c["version"]))
    with sdk(emu) as client:
        every = [c.id for c in client.configurations.list()]
        latest = [c.id for c in client.configurations.list(latest_only=True)]
        assert old in every and new in every
        assert new in latest and old not in latest
        assert len(latest) == len({c["name"] for c in emu.dataset.configurations})
        saved = client.configurations.create(
            name="mine", parameters={"product_type": "classify_v2", "rules": CONFIGURATION["rules"]}
        )
        assert saved.id.startswith("cfg-")
        receipt: ClassifyV2ParametersParam = {
            "product_type": "classify_v2",
            "rules": [{"type": "receipt", "description": "a till receipt with a total paid"}],
        }
        updated = client.configurations.update(saved.id, parameters=receipt)
        assert updated.id == saved.id and updated.name == "mine"
        assert updated.version >= saved.version
        renamed = client.configurations.update(saved.id, name="yours")
        assert renamed.name == "yours" and client.configurations.retrieve(saved.id).name == "yours"
        job = client.classify.create(file_input="dfl-2", configuration_id=saved.id)
        assert [r.type for r in job.configuration.rules] == ["receipt"]
        client.configurations.delete(saved.id)
        with pytest.raises(NotFoundError):
            client.configurations.retrieve(saved.id)
        with pytest.raises(NotFoundError):
            client.configurations.update(saved.id, name="again")
        with pytest.raises(NotFoundError):
            client.classify.create(file_input="dfl-2", configuration_id=saved.id)
        assert client.classify.get(job.id).configuration.rules[0].type == "receipt"
