"""fetch_jobs / list_jobs / iter_frames against the emulator over real loopback sockets."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest

import classify_frames as cf
from classify_frames.frame._schema import KNOWN_COLUMNS, TAIL_COLUMNS


def opts(emu: Any, **extra: Any) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False, **extra}


def test_fetch_keeps_order_dedupes_and_reports_missing(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:450]]
    wanted = [ids[5], "cls-missing-1", *ids, ids[5], "cls-missing-2"]
    with cf.ClassifyClient(**opts(emulator)) as client:
        df = client.fetch_jobs(wanted)
        stats = client.stats()
    expected = list(dict.fromkeys(wanted))
    assert df["id"].tolist() == expected
    missing = df[df["fetch_error"].notna()]
    assert missing["id"].tolist() == ["cls-missing-1", "cls-missing-2"]
    assert missing["http_status"].tolist() == [404, 404]
    assert missing["fetch_error"].str.startswith("not found").all()
    assert df.loc[df["fetch_error"].isna(), "status"].notna().all()
    assert stats["requests"] <= 5 + 2  # 5 batches of 100 ids, then one GET per missing id


def test_batched_and_per_id_give_the_same_frame(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:120]]
    batched = cf.fetch_jobs(ids, **opts(emulator))
    per_id = cf.fetch_jobs(ids, per_id=True, **opts(emulator))
    pd.testing.assert_frame_equal(batched, per_id)
    assert list(batched.columns[: len(KNOWN_COLUMNS)]) == list(KNOWN_COLUMNS)
    assert list(batched.columns[-2:]) == list(TAIL_COLUMNS)


def test_fetched_rows_match_the_served_jobs(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:50]]
    df = cf.fetch_jobs(ids, credits=True, **opts(emulator))  # usage: sent when asked for
    expected = cf.jobs_to_frame([emulator.dataset.job(i) for i in range(50)])
    pd.testing.assert_frame_equal(df, expected, check_like=False)


def test_list_jobs_follows_the_cursor_and_filters(emulator: Any) -> None:
    everything = cf.list_jobs(**opts(emulator))
    assert len(everything) == len(emulator.dataset)
    assert everything["id"].is_unique
    completed = cf.list_jobs(status="COMPLETED", **opts(emulator))
    assert len(completed) == (everything["status"] == "COMPLETED").sum()
    assert set(completed["status"]) == {"COMPLETED"}
    two = cf.list_jobs(status=["FAILED", "PENDING"], **opts(emulator))
    assert set(two["status"]) <= {"FAILED", "PENDING"}
    limited = cf.list_jobs(limit=130, **opts(emulator))
    assert len(limited) == 130
    middle = everything["created_at"].sort_values().iloc[len(everything) // 2]
    after = cf.list_jobs(created_after=middle, **opts(emulator))
    assert (after["created_at"] >= middle).all()
    assert len(after) == (everything["created_at"] >= middle).sum()
    config = everything["configuration_id"].dropna().iloc[0]
    by_config = cf.list_jobs(configuration_id=config, **opts(emulator))
    assert set(by_config["configuration_id"]) == {config}


def test_iter_frames_streams_every_id_exactly_once(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:700]] + ["cls-nope"]
    with cf.ClassifyClient(**opts(emulator)) as client:
        frames = list(client.iter_frames(ids, batch_size=250))
        listed = list(client.iter_frames(batch_size=300, status="COMPLETED"))
    assert [len(f) for f in frames] == [250, 250, 201]
    assert pd.concat(frames)["id"].tolist() == ids
    assert sum(len(f) for f in listed) == len(cf.list_jobs(status="COMPLETED", **opts(emulator)))


def test_async_api_and_reuse_of_one_pool(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:30]]

    async def main() -> tuple[pd.DataFrame, pd.DataFrame]:
        async with cf.ClassifyClient(**opts(emulator)) as client:
            first = await client.afetch_jobs(ids)
            second = await client.alist_jobs(limit=10)
            return first, second

    first, second = asyncio.run(main())
    assert first["id"].tolist() == ids and len(second) == 10


def test_sync_call_inside_a_running_event_loop(emulator: Any) -> None:
    ids = [str(i) for i in emulator.dataset.ids[:10]]

    async def notebook_cell() -> pd.DataFrame:
        return cf.fetch_jobs(ids, **opts(emulator))  # sync call, loop running (as in Jupyter)

    assert asyncio.run(notebook_cell())["id"].tolist() == ids


def test_wrong_key_stops_with_a_clear_error(emulator: Any) -> None:
    with pytest.raises(cf.AuthenticationError, match="LLAMA_CLOUD_API_KEY"):
        cf.fetch_jobs([str(emulator.dataset.ids[0])], base_url=emulator.base_url,
                      api_key="llx-wrong", progress=False)  # fmt: skip


def test_nested_frames(emulator: Any) -> None:
    df = cf.fetch_jobs([str(i) for i in emulator.dataset.ids[:5]], nested=True, **opts(emulator))
    assert {"configuration", "result"} <= set(df.columns)


def test_a_listing_404_says_the_base_url_is_wrong(emulator: Any) -> None:
    wrong = f"{emulator.base_url}/v2"  # a path the API is not under (/api/v2 is refused at once)
    with pytest.raises(cf.APIError, match=r"check base_url, which is the host only"):
        cf.list_jobs(**opts(emulator, base_url=wrong, retries=0))
