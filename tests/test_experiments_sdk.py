"""The official llama-cloud SDK parses the emulator's created jobs and its configurations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from llama_cloud import LlamaCloud, NotFoundError

import classify_frames as cf
from classify_frames.emulator import Emulator

MakeEmulator = Callable[..., Emulator]


def test_sdk_parses_created_jobs_and_configurations(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300, seed=10, job_duration=0.1)
    config = emu.dataset.configurations[0]
    jobs = cf.list_jobs(status="COMPLETED", configuration_id=config["id"], limit=8,
                        base_url=emu.base_url, api_key=emu.api_key, progress=False)  # fmt: skip
    rules = config["configuration"]["rules"]
    after = cf.reclassify(jobs, rules=rules, experiment="sdk", rate=500,
                          base_url=emu.base_url, api_key=emu.api_key, progress=False)  # fmt: skip
    with LlamaCloud(api_key=emu.api_key, base_url=emu.base_url) as client:
        for row in after.to_dict("records"):
            job = client.classify.get(row["id"])
            assert job.id == row["id"] and job.status == row["status"]
            assert job.transaction_id == row["transaction_id"]
            assert [r.type for r in job.configuration.rules] == [r["type"] for r in rules]
            if job.status == "COMPLETED":
                assert job.result is not None and job.result.type == row["result.type"]
        listed = [j.id for j in client.classify.list(job_ids=list(after["id"]), page_size=100)]
        assert sorted(listed) == sorted(after["id"])
        # the SDK's own create with our transaction id finds the same job
        first = after.iloc[0]
        again = client.classify.create(
            file_input=first["file_input"],
            configuration={"rules": rules},
            transaction_id=first["transaction_id"],
        )
        assert again.id == first["id"]
        saved = list(client.configurations.list(product_type=["classify_v2"]))
        assert {c.id for c in saved} == {c["id"] for c in emu.dataset.configurations}
        one = client.configurations.retrieve(config["id"])
        assert one.name == "finance-intake" and one.product_type == "classify_v2"
        assert [r.type for r in one.parameters.rules] == [r["type"] for r in rules]  # type: ignore[union-attr]
        made = client.configurations.create(
            name="sdk-made", parameters={"product_type": "classify_v2", "rules": rules}
        )
        assert made.id in {c.id for c in client.configurations.list()}
        with pytest.raises(NotFoundError):
            client.configurations.retrieve("cfg-missing")
    assert (
        cf.configurations(base_url=emu.base_url, api_key=emu.api_key)["name"].tolist()[-1]
        == "sdk-made"
    )
