"""Issue 21, items 1-6 (labels lost or changed) and 14-17 (messages): each test reproduces one
probe over real files, real processes and the emulator on loopback, and fails on the code
before its fix."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import classify_frames as cf
from classify_frames.auditing._labels import read_labels
from classify_frames.cli import main
from classify_frames.emulator import Dataset, Emulator
from classify_frames.experiments import read_rules
from classify_frames.explorer import JobExplorer, explore
from classify_frames.explorer._labelling import LabelStore


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return cf.jobs_to_frame(list(Dataset.generate(600, seed=4).jobs()))


@pytest.fixture(scope="module")
def queue(df: pd.DataFrame) -> pd.DataFrame:
    table = cf.audit(df).review_queue(n=2, strategy="stratified")
    table["design_id"] = "design-9"
    return table.reset_index(drop=True)


def labelled_in_file(path: Path) -> dict[str, str]:
    """What ``cf.audit`` reads from ``path``: id -> label."""
    table = read_labels(path)
    return dict(zip(table["key"], table["label"].astype(str), strict=True))


def label(explorer: JobExplorer, job_id: str, value: str) -> None:
    """Open ``job_id`` and label it, as a click on its row then on a type does."""
    explorer.show_job(job_id)
    assert explorer.labelling is not None
    explorer.labelling.label(value, advance=False)


# -- 1: two explorers (or an explorer and a script) on one labels file -------------------------


def test_item01_two_explorers_on_one_file_keep_each_others_labels(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    old = explore(df, queue=queue, labels=path)  # the cell run once ...
    new = explore(df, queue=queue, labels=path)  # ... and again, the old widget still in use
    ids = queue["id"].tolist()
    for i in range(6):
        label(old if i % 2 == 0 else new, ids[i], f"type-{i}")
    assert labelled_in_file(path) == {ids[i]: f"type-{i}" for i in range(6)}
    assert len(pd.read_csv(path, dtype=str)) == len(queue)  # one row per job, none added
    old.show_job(ids[7])  # each panel counts what the file holds, the other's labels too
    assert old.labelling is not None and "6 of" in old.labelling.status.value


def test_item01_a_script_writing_between_two_labels_is_not_overwritten(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    e = explore(df, queue=queue, labels=path)
    ids = queue["id"].tolist()
    label(e, ids[0], "invoice")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)  # a script, with pandas alone
    table.loc[table["id"] == ids[1], "label"] = "receipt"
    table.to_csv(path, index=False)
    label(e, ids[2], "memo")
    assert labelled_in_file(path) == {ids[0]: "invoice", ids[1]: "receipt", ids[2]: "memo"}


_SCRIPT = textwrap.dedent(
    """
    import sys
    from classify_frames.explorer._labelling import LabelStore

    path, first, count, total = sys.argv[1], *map(int, sys.argv[2:])
    store = LabelStore(path, ids=[f"job-{i:03d}" for i in range(total)])
    print("ready", flush=True)
    sys.stdin.readline()  # "go": both processes start writing at once
    for i in range(first, first + count):
        store.set(f"job-{i:03d}", f"type-{i % 7}")
    """
)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_item01_two_processes_writing_at_once_lose_nothing(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"labels{suffix}"
    count = 30
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, str(path), str(first), str(count), str(2 * count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for first in (0, count)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        assert [proc.wait(timeout=120) for proc in procs] == [0, 0]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    table = pd.read_csv(path, dtype=str) if suffix == ".csv" else pd.read_parquet(path)
    assert len(table) == 2 * count and table["id"].is_unique
    assert labelled_in_file(path) == {f"job-{i:03d}": f"type-{i % 7}" for i in range(2 * count)}


_HOLDER = textwrap.dedent(
    """
    import sys
    from classify_frames._atomic import locked

    with locked(sys.argv[1]):
        print("holding", flush=True)
        sys.stdin.readline()
    """
)


def test_item01_the_lock_excludes_other_processes_and_other_explorers(tmp_path: Path) -> None:
    from classify_frames._atomic import locked  # here: the code before the fix has none

    path = tmp_path / "labels.csv"
    store = LabelStore(path, ids=["job-1"])
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        refused = r"labels\.csv.* is being written by another"
        with pytest.raises(cf.ExportError, match=refused), locked(path, timeout=0):
            pass
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait()
    # in one process too: two explorers in one kernel exclude each other
    with (
        locked(path),
        pytest.raises(cf.ExportError, match="close the other explorer"),
        locked(path, timeout=0),
    ):
        pass
    store.set("job-1", "invoice")  # released: the next write goes through
    assert labelled_in_file(path) == {"job-1": "invoice"}


# -- 2: every column of the file is kept -------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_item02_a_reviewers_notes_column_survives(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"queue{suffix}"
    e = explore(df, queue=queue, labels=path)
    ids = queue["id"].tolist()
    label(e, ids[0], "invoice")
    table = pd.read_csv(path, dtype=str, keep_default_na=False) if suffix == ".csv" else (
        pd.read_parquet(path)
    )  # fmt: skip
    table["notes"] = ""
    table.loc[0, "notes"] = "blurry scan, checked by hand"
    if suffix == ".csv":
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    label(e, ids[1], "receipt")
    back = pd.read_csv(path, dtype=str, keep_default_na=False) if suffix == ".csv" else (
        pd.read_parquet(path)
    )  # fmt: skip
    assert back.columns.tolist() == [*queue.columns, "notes"]
    assert back.loc[0, "notes"] == "blurry scan, checked by hand"
    assert labelled_in_file(path) == {ids[0]: "invoice", ids[1]: "receipt"}


# -- 3 and 4: a symlink, the file's mode and owner, a read-only file ---------------------------


def test_item03_a_symlinked_labels_file_writes_its_target(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    target = shared / "team-labels.csv"
    link = tmp_path / "labels.csv"
    link.symlink_to(target)  # dangling until the first label
    e = explore(df, queue=queue, labels=link)
    ids = queue["id"].tolist()
    label(e, ids[0], "invoice")
    label(e, ids[1], "receipt")
    assert link.is_symlink() and link.resolve() == target
    assert labelled_in_file(target) == {ids[0]: "invoice", ids[1]: "receipt"}
    assert sorted(p.name for p in shared.iterdir()) == [".team-labels.csv.lock", "team-labels.csv"]


def test_item04_the_files_mode_and_owner_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    pd.DataFrame({"id": ["job-1"], "label": [""]}).to_csv(path, index=False)
    path.chmod(0o600)  # private
    owner = (4321, 4322) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(path, *owner)
    store = LabelStore(path, ids=["job-1", "job-2"])
    store.set("job-1", "invoice")
    store.set("job-2", "receipt")
    info = path.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == owner
    assert labelled_in_file(path) == {"job-1": "invoice", "job-2": "receipt"}


def test_item04_a_read_only_file_is_refused_naming_it(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    queue.assign(label="").to_csv(path, index=False)
    before = path.read_bytes()
    path.chmod(0o444)  # refused even by root, who could write it
    with pytest.raises(cf.ExportError, match=r"labels\.csv' is read-only.*chmod u\+w.*labels="):
        explore(df, queue=queue, labels=path)
    store = LabelStore(tmp_path / "other.csv", ids=["a"])
    store.path = path  # read-only made after the explorer opened: each write checks again
    with pytest.raises(cf.ExportError, match="read-only"):
        store.set("a", "invoice")
    assert path.read_bytes() == before and stat.S_IMODE(path.stat().st_mode) == 0o444


# -- 5: ids with spaces ------------------------------------------------------------------------


def test_item05_padded_ids_are_matched_and_never_doubled(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    ids = queue["id"].tolist()
    padded = queue.assign(id=[f"  {i} " for i in ids], label="")
    padded.loc[0, "label"] = "invoice"
    padded.to_csv(path, index=False)
    e = explore(df, queue=queue, labels=path)
    assert e.labelling is not None and e.labelling.store.get(ids[0]) == "invoice"  # 1 loaded
    assert "1 of" in e.labelling.status.value
    label(e, ids[0], "receipt")  # the relabel replaces the row
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(table) == len(queue) and table["id"].str.strip().is_unique
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*labelled more than once")
        assert labelled_in_file(path) == {ids[0]: "receipt"}
        truth = cf.audit(df, labels=path).truth
    assert truth is not None and truth.notna().sum() == 1


def test_item05_the_audits_duplicate_warning_says_which_label_it_kept(
    df: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    job = df["id"].iloc[0]
    path.write_text(f"id,label\n{job},invoice\n {job} ,receipt\n{df['id'].iloc[1]},\n")
    with pytest.warns(UserWarning, match=rf"'{job}' keeps 'receipt', not 'invoice'"):
        report = cf.audit(df, labels=path)
    assert report.truth is not None and report.truth.iloc[0] == "receipt"


# -- 6: the panel shows the file; separators; temporary files ---------------------------------


def test_item06_after_a_full_disk_the_panel_counts_what_the_file_holds(
    df: pd.DataFrame, queue: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "labels.csv"
    e = explore(df, queue=queue, labels=path)
    ids = queue["id"].tolist()
    label(e, ids[0], "invoice")

    def full_disk(self: pd.DataFrame, target: Path, **_: object) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(pd.DataFrame, "to_csv", full_disk)
        label(e, ids[1], "receipt")
        assert e.labelling is not None
        e.labelling.choice.value = "none"  # a click on "none": the button does not stay pressed
        assert e.labelling.choice.value is None and e.selected == ids[1]
    status = e.labelling.status.value
    assert "Label not saved" in status and "labels.csv" in status and "free space" in status
    assert "1 of" in status and e.labelling.store.get(ids[1]) is None
    assert labelled_in_file(path) == {ids[0]: "invoice"}
    e.show_job(ids[1])  # reopened: no label shown that the file does not hold
    assert e.labelling.choice.value is None and e.labelling.other.value == ""


@pytest.mark.parametrize("sep", [";", "\t"])
def test_item06_a_semicolon_or_tab_file_is_read_and_kept_so(
    df: pd.DataFrame, tmp_path: Path, sep: str
) -> None:
    path = tmp_path / "labels.csv"
    ids = df["id"].iloc[:3].tolist()
    rows = [f"{ids[0]}{sep}invoice{sep}looks like a bill, from ACME", f"{ids[1]}{sep}{sep}"]
    path.write_bytes(
        ("\ufeff" + sep.join(["id", "label", "notes"]) + "\n" + "\n".join(rows) + "\n").encode()
    )
    store = LabelStore(path, ids=ids)
    assert store.labels == {ids[0]: "invoice"}
    store.set(ids[1], "receipt")
    store.set(ids[2], "memo")
    text = path.read_bytes()
    assert text.startswith(b"\xef\xbb\xbfid" + sep.encode() + b"label" + sep.encode() + b"notes")
    assert labelled_in_file(path) == {ids[0]: "invoice", ids[1]: "receipt", ids[2]: "memo"}
    assert "looks like a bill, from ACME" in text.decode("utf-8-sig")


def test_item06_an_unreadable_csv_names_its_separator(df: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("id;label\na;b\nc;d;e;f\n")
    with pytest.raises(
        ValueError, match=r"labels\.csv' as UTF-8 text with fields separated by semicolons"
    ):
        LabelStore(path, ids=["a"])
    with pytest.raises(ValueError, match="separated by semicolons"):
        cf.audit(df, labels=path)


def test_item06_a_temporary_file_left_by_a_killed_write_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    store = LabelStore(path, ids=["job-1", "job-2"])
    store.set("job-1", "invoice")
    stale = tmp_path / ".labels.csv.0123456789ab.tmp"  # as a kill -9 mid-write leaves it
    stale.write_text("id,label\njob-1,inv")
    other = tmp_path / ".notes.csv.0123456789ab.tmp"  # another file's: not this store's to clean
    other.write_text("x")
    store.set("job-2", "receipt")
    assert not stale.exists() and other.exists()
    assert labelled_in_file(path) == {"job-1": "invoice", "job-2": "receipt"}


# -- 14, 15: rules JSON ------------------------------------------------------------------------


def test_item14_a_rules_json_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_bytes(b'\xef\xbb\xbf{"invoice": "A bill asking for payment."}')
    assert read_rules(path) == [{"type": "invoice", "description": "A bill asking for payment."}]


def test_item15_a_type_given_twice_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(
        '{"invoice": "A bill asking for payment.", "receipt": "Proof that a bill was paid.", '
        '"invoice": "A request for payment, itemised."}'
    )
    with pytest.raises(ValueError, match=r"rules\.json.*'invoice' is given twice"):
        read_rules(path)
    listed = tmp_path / "listed.json"
    listed.write_text('[{"type": "a", "type": "invoice", "description": "A bill to be paid."}]')
    with pytest.raises(ValueError, match="'type' is given twice"):
        read_rules(listed)


# -- 16, 17: the command line -----------------------------------------------------------------


def test_item16_the_cli_shows_a_warning_as_one_clean_line(
    emulator: Emulator, tmp_path: Path
) -> None:
    root = tmp_path / "jobs"
    cf.export_jobs(
        list(emulator.dataset.ids[:5]),
        path=root,
        base_url=emulator.base_url,
        api_key=emulator.api_key,
        progress=False,
    )
    shutil.copy(next(root.rglob("*.parquet")), root / "mine.parquet")  # a foreign file: warned
    done = subprocess.run(
        [sys.executable, "-c", "from classify_frames.cli import main; main()", "sync", str(root),
         "--base-url", emulator.base_url, "--no-progress"],
        capture_output=True,
        text=True,
        env={**os.environ, "LLAMA_CLOUD_API_KEY": emulator.api_key},
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    warned = [line for line in lines if "not part of the dataset" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: "), done.stderr
    assert "mine.parquet" in warned[0]
    assert "Warning:" not in done.stderr and "sync_parquet(" not in done.stderr
    assert ".py:" not in done.stderr  # no Python file and line


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs, filled but for 16 kB (mounting needs root)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        (disk / "filler").write_bytes(b"\0" * (shutil.disk_usage(disk).free - (16 << 10)))
        yield disk
    finally:
        with contextlib.suppress(OSError):
            (disk / "filler").unlink()
        subprocess.run(["umount", "--lazy", str(disk)], check=True)


def test_item17_a_csv_out_on_a_full_disk_names_the_file(
    emulator: Emulator, full_disk: Path
) -> None:
    out = full_disk / "jobs.csv"
    result = CliRunner().invoke(
        main,
        ["fetch", "-", "--out", str(out), "--base-url", emulator.base_url, "--no-progress"],
        input="\n".join(emulator.dataset.ids[:400]),
        env={"LLAMA_CLOUD_API_KEY": emulator.api_key},
    )
    assert result.exit_code == 1, result.output
    assert f"cannot write {str(out)!r}: No space left on device" in result.output
    assert "free space" in result.output and "Errno" not in result.output
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]  # no temporary file left


# -- the command line's labelling loop never writes a queue over labels -----------------------


def test_cli_audit_refuses_to_write_a_queue_over_labels(df: pd.DataFrame, tmp_path: Path) -> None:
    jobs, queue = tmp_path / "jobs.parquet", tmp_path / "queue.csv"
    cf.to_parquet(df, jobs)
    runner = CliRunner()
    first = runner.invoke(main, ["audit", str(jobs), "--queue", str(queue), "--per-type", "5"])
    assert first.exit_code == 0, first.output
    table = pd.read_csv(queue, dtype=str, keep_default_na=False)
    table.loc[:2, "label"] = "invoice"  # a reviewer labels three jobs
    table.to_csv(queue, index=False)
    before = queue.read_bytes()
    for option in ("--queue", "--plan"):
        again = runner.invoke(
            main, ["audit", str(jobs), "--labels", str(queue), option, str(queue)]
        )
        assert again.exit_code == 2 and "holds 3 labels" in again.output, again.output
        assert "another file" in again.output and queue.read_bytes() == before
