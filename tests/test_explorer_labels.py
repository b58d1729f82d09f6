"""Labelling in the explorer: the labels file (atomic, resumable, the queue's columns kept), the
panel driven as a user would, and the labels read back by ``cf.audit``. No browser."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

import classify_frames as cf
from classify_frames.auditing._labels import read_labels
from classify_frames.emulator import Dataset
from classify_frames.explorer import explore
from classify_frames.explorer._labelling import LabelStore


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return cf.jobs_to_frame(list(Dataset.generate(1_500, seed=2).jobs()))


@pytest.fixture(scope="module")
def queue(df: pd.DataFrame) -> pd.DataFrame:
    """A review queue with the sampling-design columns the audit adds (any non-job column)."""
    table = cf.audit(df).review_queue(n=3, strategy="stratified")
    table["stratum"] = table["result.type"].fillna("no match")
    table["inclusion_probability"] = 0.125
    table["design_id"] = "design-7"
    return table


def test_every_label_is_written_at_once_with_the_queue_columns(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    e = explore(df, queue=queue, labels=path)
    assert e.frame["id"].tolist() == queue["id"].tolist()  # the queue's jobs, in its order
    assert e.labelling is not None and not path.exists()  # nothing written before a label
    first = e.selected
    assert first == queue["id"].iloc[0]
    e.labelling.pick(1)  # key "1": the first rule type of the open job
    rules = e.frame["configuration.rules"].iloc[0]
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert written.columns.tolist() == queue.columns.tolist()
    assert written.loc[0, "label"] == rules[0]["type"] and (written["label"] != "").sum() == 1
    assert written["design_id"].eq("design-7").all()
    assert written["stratum"].tolist() == queue["stratum"].tolist()
    assert e.selected == queue["id"].iloc[1]  # moved on to the next job
    e.labelling.pick(0)  # key "0": none of the rules
    e.labelling.other.value = "handwritten_note"  # a type the rules do not name, then Enter
    assert "3 of" in e.labelling.status.value
    labels = read_labels(path)
    assert labels["label"].astype(str).tolist() == [
        rules[0]["type"],
        "no match",
        "handwritten_note",
    ]
    with pytest.warns(UserWarning, match="labels use types no rule set defines"):
        report = cf.audit(df, labels=path)  # the typed-in type is no rule's: the audit says so
    assert report.truth is not None and int(report.truth.notna().sum()) == 3


def test_walking_clearing_and_resuming(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.parquet"
    e = explore(df, queue=queue, labels=path, page_size=10)
    assert e.labelling is not None
    e.labelling.advance.value = False
    e._on_key({"event": "move", "step": 1})  # "j" in the table
    e._on_key({"event": "move", "step": 1})
    e._on_key({"event": "move", "step": -1})  # "k"
    assert e.selected == queue["id"].iloc[1]
    e._on_key({"event": "pick", "number": 2})
    assert e.selected == queue["id"].iloc[1]  # stayed: "next job after a label" is off
    for _ in range(12):  # past the end of the first page: turns to the next
        e.move(+1)
    assert e.selected == queue["id"].iloc[13] and e.page_label.value.startswith("page 2")
    e.labelling.choice.value = "none"
    e.show_job(queue["id"].iloc[1])
    e.labelling.clear.click()
    e.labelling.next.click()
    assert e.selected == queue["id"].iloc[2]
    # a new session on the same file resumes where this one stopped
    again = explore(df, queue=queue, labels=path)
    assert again.labelling is not None and again.labelling.store.labels == {
        queue["id"].iloc[13]: "none"
    }
    again.show_job(queue["id"].iloc[13])
    assert again.labelling.choice.value == "none"
    table = pd.read_parquet(path)
    assert table["inclusion_probability"].dtype == "float64"  # Parquet keeps the queue's types
    assert (table["label"] != "").sum() == 1


def test_rows_of_an_existing_file_are_kept(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    pd.DataFrame(
        {"id": ["older-job", queue["id"].iloc[0]], "label": ["invoice", "receipt"]}
    ).to_csv(path, index=False)
    store = LabelStore(path, queue=queue)
    assert store.get(queue["id"].iloc[0]) == "receipt"  # resumed from the file
    store.set(queue["id"].iloc[1], "nda")
    written = pd.read_csv(path, dtype=str, keep_default_na=False)
    # the file's rows stay where they were; the queue's other jobs follow, in its order
    assert written["id"].tolist() == ["older-job", *queue["id"]]
    labels = dict(zip(written["id"], written["label"], strict=True))
    assert labels["older-job"] == "invoice" and labels[queue["id"].iloc[0]] == "receipt"
    # the queue's design columns reach the row that was in the file before them
    assert written.set_index("id").loc[queue["id"].iloc[0], "design_id"] == "design-7"


def test_labels_without_a_queue(df: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    e = explore(df, labels=path, status=["COMPLETED"])
    assert e.labelling is not None
    e.labelling.label("invoice")
    first = df.loc[df["status"] == "COMPLETED", "id"].iloc[0]
    assert pd.read_csv(path, dtype=str).to_dict("records") == [{"id": first, "label": "invoice"}]


def test_bad_inputs_say_what_to_do(df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must end in \.csv or \.parquet"):
        explore(df, queue=queue, labels=tmp_path / "labels.xlsx")
    with pytest.raises(cf.ExportError, match="no such directory"):
        explore(df, queue=queue, labels=tmp_path / "missing" / "labels.csv")
    stranger = pd.concat([queue, pd.DataFrame({"id": ["cls-unknown"]})], ignore_index=True)
    with pytest.raises(ValueError, match=r"1 of the queue's .* not in the frame \('cls-unknown'\)"):
        explore(df, queue=stranger, labels=tmp_path / "l.csv")
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a labels file"):
        explore(df, queue=queue, labels=tmp_path / "notes.csv")
    with pytest.raises(ValueError, match="no 'id' column"):
        explore(df, queue=queue.drop(columns="id"), labels=tmp_path / "l.csv")


def test_a_saved_queue_file_can_be_opened(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    saved = tmp_path / "queue.csv"
    queue.to_csv(saved, index=False)
    e = explore(df, queue=saved, labels=tmp_path / "labels.csv")
    assert e.frame["id"].tolist() == queue["id"].tolist()


def test_a_failed_write_keeps_the_previous_file_and_says_so(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "labels.csv"
    e = explore(df, queue=queue, labels=path)
    assert e.labelling is not None
    e.labelling.pick(1)
    before = path.read_bytes()

    def half_then_fail(self: pd.DataFrame, target: Path, **_: object) -> None:
        Path(target).write_bytes(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    e.labelling.pick(1)
    assert path.read_bytes() == before  # the old file, whole
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left
    assert "Label not saved" in e.labelling.status.value
    assert "No space left on device" in e.labelling.status.value


_WRITER = textwrap.dedent(
    """
    import io
    import sys

    import pandas as pd
    import pyarrow.parquet as pq

    from classify_frames.explorer import _labelling

    queue = pd.DataFrame({"id": [f"job-{i:04d}" for i in range(2_000)], "weight": 1.5})
    store = _labelling.LabelStore(sys.argv[1], queue=queue)
    store.set("job-0000", "invoice")  # a first, complete version
    real_csv, real_parquet = pd.DataFrame.to_csv, pq.write_table

    def stall(content: bytes, target: str) -> None:
        with open(target, "wb") as handle:  # half the new version, on disk
            handle.write(content[: len(content) // 2])
        print("midway", flush=True)
        sys.stdin.read()  # wait here to be killed

    def half_csv(frame, target, **options):
        stall(real_csv(frame, **options).encode(), target)

    def half_parquet(table, target):
        buffer = io.BytesIO()
        real_parquet(table, buffer)
        stall(buffer.getvalue(), target)

    pd.DataFrame.to_csv = half_csv
    _labelling.pq.write_table = half_parquet
    store.set("job-0001", "receipt")
    """
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_write_killed_midway_leaves_the_previous_file_readable(
    tmp_path: Path, suffix: str
) -> None:
    """SIGKILL a process while half of a new labels file is on disk."""
    path = tmp_path / f"labels{suffix}"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "midway"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    leftovers = [p for p in tmp_path.iterdir() if p != path and p.suffix != ".lock"]
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".tmp")  # the half-written one
    labels = read_labels(path)  # as cf.audit reads it: the previous version, whole
    assert labels.to_dict("list") == {"key": ["job-0000"], "label": ["invoice"]}
    table = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert len(table) == 2_000 and table["weight"].eq(1.5).all()
    # the next writer, holding the lock, knows no write is under way: it removes the leftover
    LabelStore(path, queue=table.drop(columns="label")).set("job-0002", "memo")
    assert not leftovers[0].exists()
    assert read_labels(path)["key"].tolist() == ["job-0000", "job-0002"]
