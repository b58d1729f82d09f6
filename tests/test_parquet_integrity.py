"""Damaged data files: page checksums catch a flipped byte, every decode error names its file,
a damaged file is skipped or repaired whatever column holds the damage, and a lost or damaged
manifest has a way forward (issue 21, items 8, 9 and 18)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_parquet_support import MemoryClient, job

import classify_frames as cf
from classify_frames import ExportError
from classify_frames.parquet import read_metadata, read_parquet, sync_parquet, to_parquet


def jobs(n: int = 120) -> list[dict[str, object]]:
    """Final jobs over three months, each with its own reasoning text."""
    return [
        job(i, month=1 + i % 3, result={"type": "invoice", "confidence": (i % 97) / 100,
                                        "reasoning": f"reason {i} " * (3 + i % 5)})
        for i in range(n)
    ]  # fmt: skip


def chunk_span(path: Path, column: str) -> tuple[int, int]:
    """Where the first row group's chunk of ``column`` lies in the file: (start, end)."""
    meta = pq.ParquetFile(path).metadata
    group = meta.row_group(0)
    for i in range(group.num_columns):
        chunk = group.column(i)
        if chunk.path_in_schema == column:
            start = chunk.dictionary_page_offset or chunk.data_page_offset
            return start, start + chunk.total_compressed_size
    raise AssertionError(f"no column {column!r} in {path}")


def flip_silently(path: Path, column: str) -> pd.Series:
    """Flip one byte of ``column``'s data that a reader without checksums decodes without an
    error into other values (the silent bit rot of item 8); return those values."""
    original = path.read_bytes()
    before = pq.read_table(path, columns=[column]).column(column).to_pandas()
    start, end = chunk_span(path, column)
    for at in range(end - 1, start, -1):
        damaged = bytearray(original)
        damaged[at] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            after: pd.Series = pq.read_table(path, columns=[column]).column(column).to_pandas()
        except Exception:  # this byte breaks decoding: look for one that does not
            continue
        if not after.equals(before):
            return after
    raise AssertionError("no byte of the chunk changes values silently")


def smash(path: Path, column: str) -> None:
    """Overwrite the middle of ``column``'s first chunk with zeros."""
    start, end = chunk_span(path, column)
    data = bytearray(path.read_bytes())
    middle = (start + end) // 2
    data[middle : middle + 16] = bytes(16)
    path.write_bytes(bytes(data))


def dataset(tmp_path: Path) -> tuple[Path, MemoryClient]:
    client = MemoryClient(jobs())
    root = tmp_path / "ds"
    cf.export_jobs(path=root, client=client)
    return root, client


def data_file(root: Path, month: str) -> Path:
    (path,) = (root / f"created_month={month}").glob("*.parquet")
    return path


# -- 8: a flipped byte is an error, never other values -------------------------------------


def test_a_flipped_byte_in_a_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "jobs.parquet"
    to_parquet(cf.jobs_to_frame(jobs()), path)
    changed = flip_silently(path, "result.confidence")  # without checksums: wrong values
    assert len(changed) == 120
    with pytest.raises(ExportError, match=rf"cannot read '{path}'.*(?i:crc|checksum)"):
        read_parquet(path)


def test_a_flipped_byte_in_a_dataset_is_an_error_naming_the_file(tmp_path: Path) -> None:
    root, _ = dataset(tmp_path)
    path = data_file(root, "2026-02")
    flip_silently(path, "result.confidence")
    relative = path.relative_to(root).as_posix()
    with pytest.raises(ExportError, match=rf"{relative} \(.*(?i:crc|checksum)") as caught:
        read_parquet(root)
    assert "on_bad_files='skip'" in str(caught.value) and "repair=True" in str(caught.value)


# -- 9: a damaged page in a column sync does not read ----------------------------------------


def test_a_smashed_page_is_named_skipped_and_repaired(tmp_path: Path) -> None:
    root, client = dataset(tmp_path)
    before = read_parquet(root).sort_values("id", ignore_index=True)
    path = data_file(root, "2026-02")
    smash(path, "result.reasoning")  # a column sync does not read
    relative = path.relative_to(root).as_posix()
    with pytest.raises(ExportError, match=rf"1 data file\(s\) cannot be read.*{relative}"):
        read_parquet(root)
    with pytest.warns(UserWarning, match=rf"skipped them: .*{relative}"):
        rest = read_parquet(root, on_bad_files="skip")
    assert len(rest) == 80 and not rest["id"].isin(client.jobs_in_month(2)).any()
    client.calls.clear()
    summary = sync_parquet(root, client=client, repair=True)
    assert summary.committed and (summary.dropped, summary.added) == (40, 40)
    assert sorted(client.fetched_ids()) == sorted(client.jobs_in_month(2))  # by id, not a re-list
    back = read_parquet(root).sort_values("id", ignore_index=True)
    # fetched by id, not listed: http_status says 200 where a listing leaves it empty
    pd.testing.assert_frame_equal(
        back.drop(columns="http_status"), before.drop(columns="http_status")
    )
    assert "nothing to write" not in str(summary)


def test_a_damaged_id_column_is_repaired_by_a_full_listing(tmp_path: Path) -> None:
    root, client = dataset(tmp_path)
    smash(data_file(root, "2026-01"), "id")
    client.calls.clear()
    summary = sync_parquet(root, client=client, repair=True)
    assert client.calls[0] == (None, {})  # the ids are lost: the whole listing, no window
    assert (summary.dropped, summary.added, summary.rows) == (40, 40, 120)
    assert read_parquet(root)["id"].is_unique


# -- 18: a lost or damaged manifest ------------------------------------------------------------


def test_a_deleted_manifest_is_read_around_and_rebuilt(tmp_path: Path) -> None:
    root, client = dataset(tmp_path)
    before = read_parquet(root).sort_values("id", ignore_index=True)
    (root / "_classify_frames.json").unlink()
    with pytest.warns(UserWarning, match=r"lost its manifest.*sync_parquet\(\.\.\., repair"):
        plain = read_parquet(root).sort_values("id", ignore_index=True)
    pd.testing.assert_frame_equal(plain, before, check_categorical=False)
    with pytest.raises(ExportError, match=r"lost its manifest.*sync_parquet\(\.\.\., repair"):
        sync_parquet(root, client=client)
    client.calls.clear()
    with pytest.warns(UserWarning, match="rebuilt and cannot say how its jobs were chosen"):
        summary = sync_parquet(root, client=client, repair=True)
    assert summary.committed and summary.rows == 120 and client.calls == []  # all final
    pd.testing.assert_frame_equal(read_parquet(root).sort_values("id", ignore_index=True), before)
    client.jobs.append(job(500, month=4))
    again = sync_parquet(root, client=client, status=["PENDING", "RUNNING", "COMPLETED"])
    assert again.added == 1 and read_metadata(root)["source"]["kind"] == "list"


@pytest.mark.parametrize(
    "damage", [b"{not json", b"[]", b'{"files": {"../../etc/passwd": 1}}'], ids=str
)
def test_a_damaged_manifest_says_what_to_run_and_is_rebuilt(tmp_path: Path, damage: bytes) -> None:
    root, client = dataset(tmp_path)
    before = read_parquet(root).sort_values("id", ignore_index=True)
    (root / "_classify_frames.json").write_bytes(damage)
    with pytest.raises(ExportError, match=r"is damaged: .*sync_parquet\(\.\.\., repair=True\)"):
        read_parquet(root)
    with pytest.raises(ExportError, match="is damaged"):
        sync_parquet(root, client=client)
    with pytest.warns(UserWarning, match="rebuilt"):
        sync_parquet(root, client=client, repair=True)
    manifest = json.loads((root / "_classify_frames.json").read_bytes())
    assert manifest["rows"] == 120 and manifest["partition_by"] == ["created_month"]
    pd.testing.assert_frame_equal(read_parquet(root).sort_values("id", ignore_index=True), before)
