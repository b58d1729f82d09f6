"""The official llama-cloud SDK parses every answer of the emulator, in all three schemas.

Seen with llama-cloud 2.19: the SDK also accepts the seed schema (its models do not validate);
``file_input`` is then None and ``document_input_value`` is kept in ``model_extra``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from llama_cloud.types import ClassifyConfigurationParam

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
            job = client.classify.get(expected["id"])
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
