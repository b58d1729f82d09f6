"""Bad input: odd ids, odd things handed to jobs_to_frame, and CLI calls that must fail well.

Ids are either refused with a ValueError naming them (before any request) or encoded so that
each reaches exactly its own path segment or ``job_ids`` value, never another endpoint. CLI
mistakes end with a one-line message and a non-zero exit, no traceback and no file left.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

import classify_frames as cf
from classify_frames.cli import main
from classify_frames.emulator import Emulator

KEY = "llx-inputs-test"
JOBS = "/api/v2/classify"


class Server:
    """A MockTransport server: 404 for every job, and a record of every URL asked for."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == JOBS:
            return httpx.Response(200, json={"items": [], "next_page_token": None})
        return httpx.Response(404, json={"detail": "not found"})

    def client(self) -> cf.ClassifyClient:
        return cf.ClassifyClient(
            api_key=KEY, base_url="http://127.0.0.1:9", progress=False,
            transport=httpx.MockTransport(self),
        )  # fmt: skip

    def asked(self) -> tuple[list[str], list[str]]:
        """The ids asked for one by one (decoded path segment) and through job_ids."""
        one, listed = [], []
        for request in self.requests:
            raw = request.url.raw_path.decode("ascii")
            path, _, query = raw.partition("?")
            if path == JOBS:
                pairs = parse_qsl(query, keep_blank_values=True)
                assert {name for name, _ in pairs} <= {"job_ids", "page_size", "page_token"}
                listed += [value for name, value in pairs if name == "job_ids"]
            else:
                assert path.startswith(JOBS + "/") and "/" not in path[len(JOBS) + 1 :], raw
                one.append(unquote(path[len(JOBS) + 1 :]))
        return one, listed


# -- ids -----------------------------------------------------------------------------------------

REFUSED = [
    "", " ", "\t", "a b", " a", "a\n", "\x00", "../x", "a/b", "..", ".", "%2F", "a%2Fb", "?x=1",
    "a?x=1", "#frag", "a\\b", "x" * 513, 7, None, b"bytes", 1.5,
]  # fmt: skip


@pytest.mark.parametrize("bad", REFUSED, ids=[repr(b)[:20] for b in REFUSED])
def test_bad_ids_are_refused_by_name_before_any_request(bad: object) -> None:
    server = Server()
    with pytest.raises(ValueError, match="invalid job id") as caught:
        server.client().fetch_jobs(["good-1", bad, "good-2"])  # type: ignore[list-item]
    assert repr(bad)[:40] in str(caught.value)
    with pytest.raises(ValueError, match="invalid job id"):
        list(server.client().iter_frames(["good", bad]))  # type: ignore[list-item]
    assert server.requests == []


def test_many_bad_ids_are_counted_not_all_listed() -> None:
    with pytest.raises(ValueError, match=r"and 40 more") as caught:
        Server().client().fetch_jobs([f"bad/{i}" for i in range(50)])
    assert len(str(caught.value)) < 1_000


ODD_BUT_VALID = ["a;b", "a&b=c", "a+b", "ü-ñ-日本", "a:b@c", "~x", "a'b\"c", "<x>", "a" * 512, "-"]


@pytest.mark.parametrize("per_id", [False, True])
def test_odd_ids_reach_exactly_their_own_segment_or_value(per_id: bool) -> None:
    server = Server()
    df = server.client().fetch_jobs(ODD_BUT_VALID, per_id=per_id)
    one, listed = server.asked()
    assert sorted(one) == sorted(ODD_BUT_VALID)  # each asked for alone (all are unknown)
    assert listed == ([] if per_id else ODD_BUT_VALID)
    assert df["id"].tolist() == ODD_BUT_VALID
    assert df["fetch_error"].str.startswith("not found (404").all()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=5))
def test_any_text_id_is_refused_or_reaches_only_its_own_path(ids: list[str]) -> None:
    server = Server()
    try:
        df = server.client().fetch_jobs(ids)
    except ValueError:
        assert server.requests == []  # refused before any request
        with pytest.raises(ValueError, match="invalid job id"):
            server.client().fetch_jobs(ids)
        return
    unique = list(dict.fromkeys(ids))
    one, listed = server.asked()
    assert listed == unique and sorted(one) == sorted(unique)
    assert df["id"].tolist() == unique


_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@given(st.lists(st.tuples(_TEXT, _TEXT), max_size=5))
def test_the_query_string_is_exactly_urlencodes(pairs: list[tuple[str, str]]) -> None:
    from urllib.parse import quote, urlencode

    from classify_frames.client._ids import query_string

    assert query_string(pairs) == urlencode(pairs, quote_via=quote, safe="")


def test_long_ids_keep_each_request_within_the_url_budget() -> None:
    server = Server()
    ids = [f"{i:03d}" + "é" * 200 for i in range(150)]  # 1,200+ characters each once encoded
    server.client().fetch_jobs(ids)
    lists = [r for r in server.requests if r.url.path == JOBS]
    assert max(len(r.url.raw_path) for r in lists) < 6_500
    assert sum(r.url.raw_path.count(b"job_ids=") for r in lists) == 150


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(jobs=300, seed=2) as emulator:
        yield emulator


def test_ten_thousand_duplicates_are_one_row_and_one_request(emu: Emulator) -> None:
    first, second = emu.dataset.ids[0], emu.dataset.ids[1]
    wanted = [first] * 10_000 + [second] + [first] * 10_000 + ["cls-nope"] * 10_000
    emu.reset_counters()
    df = cf.fetch_jobs(wanted, base_url=emu.base_url, api_key=emu.api_key, progress=False)
    assert df["id"].tolist() == [first, second, "cls-nope"]
    assert df["fetch_error"].isna().tolist() == [True, True, False]
    assert emu.counters()["by_endpoint"] == {"list": 1, "get": 1}


def test_a_single_string_is_not_taken_for_its_characters() -> None:
    with pytest.raises(TypeError, match="not one string"):
        Server().client().fetch_jobs("cls-abc")


# -- jobs_to_frame -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (None, TypeError, "not NoneType"),
        (42, TypeError, "not int"),
        ({"id": "a"}, TypeError, r"not one job: wrap it"),
        ([1, "x", None], ValueError, r"position \[0, 1, 2\]"),
        ([{"id": "a"}, "oops"], ValueError, r"position \[1\]"),
        (b"{broken", ValueError, "line 1, column 2"),
        (b'{"id": "a"}\n{"id": "b"}\n{broken\n', ValueError, "line 3, column 2"),
        (b'"just a string"', ValueError, "got JSON str"),
        ("no-such-file.jsonl", ValueError, "no such file"),
    ],
)
def test_jobs_to_frame_refuses_what_it_cannot_read_clearly(
    bad: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cf.jobs_to_frame(bad)  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore:not the expected JSON:UserWarning")
def test_jobs_to_frame_keeps_odd_but_readable_jobs() -> None:
    jobs: list[Any] = [
        {"id": "a", "status": "SOMETHING_NEW", "result": {"confidence": "0.9"}},
        {"id": None},
        {},
        {"id": "b", "created_at": "not a date", "configuration": [1, 2]},
        {"id": "c", "result": "oops", "usage": {"credits": "many"}},
    ]
    df = cf.jobs_to_frame(jobs)
    assert len(df) == 5
    assert df["id"].iloc[0] == "a" and df["id"].iloc[1:3].isna().all()
    assert "SOMETHING_NEW" in df["status"].cat.categories
    empty = cf.empty_frame().drop(columns="status")  # status gained a category: compared above
    assert (df[list(empty.columns)].dtypes == empty.dtypes).all()  # the contract holds
    assert df["result.confidence"].iloc[0] == 0.9  # a number sent as a string is still read


# -- the CLI -------------------------------------------------------------------------------------


def run(*args: str, **env: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"LLAMA_CLOUD_API_KEY": KEY, **env})


def failed_cleanly(result: Result, *expected: str) -> None:
    assert result.exit_code not in (0, None), result.output
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not an error escaping
    for text in expected:
        assert text in result.output, result.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "ids": tmp_path / "ids.txt",
        "binary": tmp_path / "binary.txt",
        "broken_csv": tmp_path / "broken.csv",
        "empty_csv": tmp_path / "empty.csv",
        "dir": tmp_path / "a-directory",
        "readonly": tmp_path / "read-only",
    }
    paths["ids"].write_text("cls-1\ncls-2\n")
    paths["binary"].write_bytes(b"\xff\xfe\x00\x81")
    paths["broken_csv"].write_text('id,x\n"never closed\n')
    paths["empty_csv"].write_text("")
    paths["dir"].mkdir()
    paths["readonly"].mkdir()
    paths["readonly"].chmod(0o500)
    return paths


READ_ONLY_DIRS = ["/proc"] + (["read-only"] if os.geteuid() != 0 else [])  # root writes anywhere


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["fetch", "{missing}", "--out", "{out}.csv"], ["no such file", "missing.txt"]),
        (["fetch", "{dir}", "--out", "{out}.csv"], ["no such file"]),
        (["fetch", "{binary}", "--out", "{out}.csv"], ["cannot read", "binary.txt"]),
        (["fetch", "{broken_csv}", "--out", "{out}.csv"], ["cannot read", "broken.csv"]),
        (["fetch", "{empty_csv}", "--out", "{out}.csv"], ["cannot read", "empty.csv"]),
        (["fetch", "{ids}", "--out", "{out}.xlsx"], ["--out must end in one of"]),
        (["fetch", "{ids}", "--out", "{dir}"], ["--out must end in one of"]),
        (["fetch", "{ids}", "--out", "{missing_dir}/jobs.csv"], ["does not exist"]),
        (["fetch", "{ids}"], ["Missing option '--out'"]),
        (["fetch", "{ids}", "--out", "{out}.csv", "--concurrency", "0"], ["--concurrency"]),
        (["fetch", "{ids}", "--out", "{out}.csv", "--base-url", "http://example.com"],
         ["plain http"]),
        (["list", "--out", "{out}.txt"], ["--out must end in one of"]),
        (["list", "--out", "{missing_dir}/x.parquet"], ["does not exist"]),
        (["list", "--out", "{out}.csv", "--since", "yesterday-ish", "--base-url",
          "http://127.0.0.1:9"], ["--since must be a date or time"]),
        (["list", "--out", "{out}.csv", "--status", "DONE"], ["'DONE' is not one of"]),
        (["demo", "--out", "{out}.txt"], ["--out must end in one of"]),
        (["demo", "--out", "{missing_dir}/x.parquet"], ["does not exist"]),
        (["demo", "--jobs", "0"], ["--jobs"]),
        (["export", "{missing}", "--out", "{out}"], ["no such file"]),
        (["export", "--out", "{ids}"], ["is a file"]),
        (["audit", "{missing}.parquet"], ["no such file"]),
        (["audit", "{ids}"], ["must end in one of"]),
    ],
)  # fmt: skip
def test_cli_mistakes_fail_cleanly_and_write_nothing(
    args: list[str], expected: list[str], files: dict[str, Path], tmp_path: Path
) -> None:
    names = {k: str(v) for k, v in files.items()}
    names.update(missing=str(tmp_path / "missing.txt"), out=str(tmp_path / "out"),
                 missing_dir=str(tmp_path / "no-such-dir"))  # fmt: skip
    before = sorted(tmp_path.rglob("*"))
    failed_cleanly(run(*(a.format(**names) for a in args)), *expected)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, no temporary file left


@pytest.mark.parametrize("directory", READ_ONLY_DIRS)
@pytest.mark.parametrize("command", ["fetch", "list", "demo"])
def test_cli_refuses_an_unwritable_output_directory_before_any_work(
    command: str, directory: str, files: dict[str, Path]
) -> None:
    where = directory if directory.startswith("/") else str(files["readonly"])
    args = {"fetch": ["fetch", str(files["ids"])], "list": ["list"], "demo": ["demo"]}[command]
    # An unreachable base URL: were the check late, the fetch would fail first, differently.
    result = run(*args, "--out", f"{where}/jobs.parquet",
                 *([] if command == "demo" else ["--base-url", "http://127.0.0.1:9"]))  # fmt: skip
    failed_cleanly(result, "cannot write in the directory")
    assert not Path(where, "jobs.parquet").exists()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
    emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(emu.dataset.ids[:20]))
    out = tmp_path / "jobs.csv"
    out.write_text("the old file\n")

    def disk_full(*_: object, **__: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pandas.DataFrame.to_csv", disk_full)
    result = run("fetch", str(ids), "--out", str(out), "--base-url", emu.base_url,
                 "--no-progress", LLAMA_CLOUD_API_KEY=emu.api_key)  # fmt: skip
    failed_cleanly(result, "No space left on device")
    assert out.read_text() == "the old file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ids.txt", "jobs.csv"]
