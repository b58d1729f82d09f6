"""``classify-frames audit --check / --check-estimate / --json``: an audit a CI job can gate on,
and the terminal's by-type table in the findings' terms."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest
from audit_simulation import emulator_population
from click.testing import CliRunner
from gate_simulation import gate_rates
from test_audit import make_jobs

import classify_frames as cf
from classify_frames.auditing._checks import CheckError, evaluate, parse_check
from classify_frames.auditing._report_json import schema
from classify_frames.cli import main
from classify_frames.cli._audit import EXIT_CHECK_FAILED

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """2,000 jobs, a 300-label stratified queue filled in from the truth, and every label."""
    root = tmp_path_factory.mktemp("audit_gate")
    df, truth = make_jobs(2000)
    jobs = root / "jobs.parquet"
    cf.to_parquet(df, jobs)
    queue = cf.audit(df).review_queue(budget=300, strategy="stratified")
    queue["label"] = truth.set_index("id")["label"][queue["id"]].to_numpy()
    labels = root / "labels.csv"
    queue.to_csv(labels, index=False)
    every = root / "every.csv"
    truth.to_csv(every, index=False)
    return {"jobs": jobs, "labels": labels, "every": every}


@pytest.fixture(scope="module")
def report(files: dict[str, Path]) -> cf.AuditReport:
    return cf.audit(cf.read_parquet(files["jobs"]), files["labels"])


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["audit", *args])
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def check_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(("PASS  ", "FAIL  "))]


# -- exit codes -------------------------------------------------------------------------------


def test_checks_that_hold_exit_0_and_one_that_fails_exits_5(
    files: dict[str, Path], report: cf.AuditReport
) -> None:
    low, high = report.accuracy_ci
    jobs, labels = str(files["jobs"]), str(files["labels"])
    code, out = run(jobs, "--labels", labels, "--check", f"accuracy>={low - 0.01:.4f}")
    assert code == 0, out
    assert check_lines(out)[0].startswith("PASS  accuracy>=")
    assert "All 1 checks passed." in out
    code, out = run(
        jobs,
        "--labels",
        labels,
        "--check",
        f"accuracy>={low - 0.01:.4f}",
        "--check",
        f"accuracy<={high - 0.01:.4f}",  # the upper bound is above it
    )
    assert code == EXIT_CHECK_FAILED, out
    passed, failed = check_lines(out)
    assert passed.startswith("PASS") and failed.startswith("FAIL  accuracy<=")
    assert "upper 95% bound" in failed and "1 of 2 checks failed." in out


def test_exit_codes_from_a_real_process(files: dict[str, Path], report: cf.AuditReport) -> None:
    low = report.accuracy_ci[0]

    def process(*checks: str) -> subprocess.CompletedProcess[str]:
        args = ["audit", str(files["jobs"]), "--labels", str(files["labels"])]
        for check in checks:
            args += ["--check", check]
        return subprocess.run(
            [sys.executable, "-c", "from classify_frames.cli import main; main()", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )

    held = process(f"accuracy>={low - 0.01:.4f}", "failure_rate<=0.5")
    assert held.returncode == 0, held.stdout + held.stderr
    failed = process(f"accuracy>={low + 0.01:.4f}", "failure_rate<=0.5")
    assert failed.returncode == EXIT_CHECK_FAILED, failed.stdout + failed.stderr
    assert "FAIL  accuracy>=" in failed.stdout and "PASS  failure_rate<=0.5" in failed.stdout
    unknown = process("acuracy>=0.9")
    assert unknown.returncode == 2  # a usage error, not a failed gate
    assert "did you mean 'accuracy'" in unknown.stderr and "Traceback" not in unknown.stderr


# -- the rule: an estimate is judged by its interval ------------------------------------------


def test_a_point_estimate_that_passes_with_an_interval_that_does_not_fails(
    files: dict[str, Path], report: cf.AuditReport
) -> None:
    est = report.accuracy_estimate
    target = round((est.low + est.estimate) / 2, 4)  # the estimate is above, the bound below
    assert est.low < target < est.estimate
    code, out = run(
        str(files["jobs"]), "--labels", str(files["labels"]), "--check", f"accuracy>={target}"
    )
    assert code == EXIT_CHECK_FAILED, out
    (line,) = check_lines(out)
    assert line.startswith(f"FAIL  accuracy>={target}: lower 95% bound {est.low:.1%}")
    assert f"{est.labels:,} labels" in line and "95% CI" in line
    assert "the estimate" in line and "passes, its interval does not" in line
    # the point estimate, asked for by name, passes, and says it ignored the interval
    code, out = run(
        str(files["jobs"]),
        "--labels",
        str(files["labels"]),
        "--check-estimate",
        f"accuracy>={target}",
    )
    assert code == 0, out
    (line,) = check_lines(out)
    assert "point estimate" in line and "the interval is not used" in line


def test_upper_bounds_judge_at_most_checks(report: cf.AuditReport) -> None:
    high = report.ece_ci[1]
    above = evaluate(report, [parse_check(f"ece<={(report.ece + high) / 2}")])[0]
    assert not above.passed and above.bound == "upper" and above.compared == pytest.approx(high)
    fine = evaluate(report, [parse_check(f"ece<={high + 1e-9}")])[0]
    assert fine.passed and fine.kind == "interval"
    auroc = evaluate(report, [parse_check("auroc>0.5")])[0]
    assert auroc.bound == "lower" and auroc.compared == pytest.approx(report.auroc_ci[0])


def test_exact_figures_are_compared_as_they_are(report: cf.AuditReport) -> None:
    rate = float(report.summary["value"]["failure_rate"])
    at, under = evaluate(
        report, [parse_check(f"failure_rate<={rate}"), parse_check(f"failure_rate<{rate}")]
    )
    assert at.passed and at.kind == "exact" and at.bound is None and at.labels is None
    assert not under.passed and "exact" in under.reason
    coverage = evaluate(report, [parse_check("coverage>=0")])[0]
    assert coverage.compared == pytest.approx(1 - float(report.summary["value"]["below_threshold"]))


def test_per_type_checks_use_the_types_interval_and_labels(report: cf.AuditReport) -> None:
    row = report.by_type.loc["receipt"].to_dict()
    result = evaluate(report, [parse_check(f"accuracy[receipt]>={row['accuracy_lo'] - 0.001}")])[0]
    assert result.passed and result.labels == row["accuracy_labels"]
    count = evaluate(report, [parse_check(f"count[receipt]>={row['count'] + 1}")])[0]
    assert not count.passed and count.kind == "exact"


def test_every_label_makes_the_figure_exact_and_says_so(files: dict[str, Path]) -> None:
    code, out = run(str(files["jobs"]), "--labels", str(files["every"]), "--check", "accuracy>=0.5")
    assert code == 0, out
    (line,) = check_lines(out)
    assert "every one of the" in line and "completed jobs is labelled" in line
    assert "bound" not in line


def test_labels_that_are_no_random_sample_fail_the_check_and_say_why(
    files: dict[str, Path], tmp_path: Path
) -> None:
    df = cf.read_parquet(files["jobs"])
    queue = cf.audit(df).review_queue(40, "lowest")
    truth = pd.read_csv(files["every"]).set_index("id")["label"]
    queue["label"] = truth[queue["id"]].to_numpy()
    chosen = tmp_path / "lowest.csv"
    queue.to_csv(chosen, index=False)
    document = tmp_path / "audit.json"
    code, out = run(
        str(files["jobs"]),
        "--labels",
        str(chosen),
        "--check",
        "accuracy>=0.1",
        "--check",
        "accuracy[invoice]>=0.1",
        "--json",
        str(document),
    )
    assert code == EXIT_CHECK_FAILED, out
    assert all("no estimate: the labels are not a random sample" in x for x in check_lines(out))
    written = _strict(document.read_text(encoding="utf-8"))
    jsonschema.validate(written, schema(), cls=jsonschema.Draft202012Validator)
    assert written["estimates"]["accuracy"]["estimate"] is None
    assert written["checks"][0]["compared"] is None and not written["passed"]


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--check", "acuracy>=0.9"], "did you mean 'accuracy'"),
        (["--check", "bogus>=0.9"], "valid metrics are exact (no labels needed): jobs"),
        (["--check", "accuracy=0.9"], "write METRIC OP VALUE"),
        (["--check", "mce<=0.1"], "--check-estimate 'mce<=0.1'"),
        (["--check", "recall[invoice]>=0.5"], "unknown per-type metric 'recall'"),
        (["--check", "accuracy[memo]>=0.5"], "no type 'memo'"),
        (["--check", "accuracy[memo]>=0.5"], "the types are invoice"),
    ],
)
def test_a_bad_check_is_a_usage_error_naming_the_valid_ones(
    files: dict[str, Path], args: list[str], message: str
) -> None:
    code, out = run(str(files["jobs"]), "--labels", str(files["labels"]), *args)
    assert code == 2, out
    assert message in out


def test_a_check_on_labels_without_labels_is_a_usage_error(files: dict[str, Path]) -> None:
    code, out = run(str(files["jobs"]), "--check", "failure_rate<=0.5", "--check", "ece<=0.1")
    assert code == 2 and "'ece<=0.1' needs --labels" in out


def test_checks_read_shares_and_percentages() -> None:
    assert parse_check("accuracy ≥ 90%").target == pytest.approx(0.9)
    assert parse_check(" failure_rate<0.02 ").op == "<"
    assert parse_check("accuracy[no match]>=.5").type == "no match"
    with pytest.raises(CheckError, match="did you mean 'no_match_rate'"):
        parse_check("nomatch_rate<=0.2")


# -- --json -----------------------------------------------------------------------------------


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise AssertionError(f"{constant} in the JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("labelled", [True, False])
def test_json_matches_its_schema(files: dict[str, Path], tmp_path: Path, labelled: bool) -> None:
    out = tmp_path / "audit.json"
    args = [str(files["jobs"]), "--json", str(out), "--check", "failure_rate<=0.5"]
    if labelled:
        args += ["--labels", str(files["labels"]), "--check", "accuracy>=0.99"]
    code, printed = run(*args)
    assert code == (EXIT_CHECK_FAILED if labelled else 0), printed
    document = _strict(out.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema())
    jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator)
    assert document["passed"] is not labelled
    findings = [line[2:] for line in printed.splitlines() if line.startswith("- ")]
    assert document["findings"] == findings
    assert [c["check"] for c in document["checks"]] == ["failure_rate<=0.5"] + (
        ["accuracy>=0.99"] if labelled else []
    )
    if labelled:
        accuracy = document["estimates"]["accuracy"]
        assert accuracy["labels"] == 300 and accuracy["low"] < accuracy["estimate"]
        failed = document["checks"][1]
        assert failed["kind"] == "interval" and failed["bound"] == "lower"
        assert failed["compared"] == accuracy["low"] and not failed["passed"]
        assert all("labels" in row for row in document["calibration"])
        assert document["thresholds"][0]["type"] == "overall"
    else:
        assert document["estimates"] is None and document["calibration"] is None


def test_json_has_null_where_the_report_has_nan(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    code, printed = run(str(files["jobs"]), "--labels", str(files["labels"]), "--json", str(out))
    assert code == 0, printed
    document = _strict(out.read_text(encoding="utf-8"))
    overall = document["thresholds"][0]  # no threshold reaches 95% on these labels
    thresholds = cf.audit(cf.read_parquet(files["jobs"]), files["labels"]).recommend_threshold()
    assert overall["threshold"] is None
    assert math.isnan(thresholds["threshold"].to_dict()["overall"])
    jsonschema.validate(document, schema(), cls=jsonschema.Draft202012Validator)


def test_a_json_document_that_breaks_the_schema_is_refused() -> None:
    # the schema can fail: a share as a percentage, a NaN-like string, a missing section
    bad = {"schema_version": 1, "report": {}, "findings": "no"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema(), cls=jsonschema.Draft202012Validator)


def test_the_schema_ships_with_the_package() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    data = project["tool"]["setuptools"]["package-data"]["classify_frames.auditing"]
    assert "report.schema.json" in data
    assert (ROOT / "classify_frames" / "auditing" / "report.schema.json").is_file()
    assert "jsonschema" in " ".join(project["project"]["optional-dependencies"]["test"])


# -- the by-type table ------------------------------------------------------------------------


def test_by_type_table_shows_what_the_findings_say(
    files: dict[str, Path], report: cf.AuditReport
) -> None:
    code, out = run(str(files["jobs"]), "--labels", str(files["labels"]))
    assert code == 0, out
    table = out.split("\nBy type\n", 1)[1].split("\n\n", 1)[0].splitlines()
    header = table[0]
    assert "precision" not in header and "support" not in header  # once, and the findings' count
    assert header.count("accuracy") == 1 and "labels" in header
    # a type's sentence (if one is shown less accurate) and its row agree on the labels; else
    # the type with the most labels: its row shows the count the findings would give
    sentence = next((s for s in report.findings if "is less accurate than the rest" in s), None)
    if sentence is not None:
        found = re.search(r"^(.+?) is less accurate.*?\((?:[^,]*), (\d+) labels", sentence)
        assert found is not None, sentence
        name, labels = found[1], int(found[2])
    else:
        name = str(report.by_type["accuracy_labels"].idxmax())
        labels = int(report.by_type["accuracy_labels"].max())
    row = next(line for line in table if line.startswith(f"{name} "))
    assert re.search(rf"\)\s+{labels}\s", row), row
    figures = report.by_type.loc[name].to_dict()
    assert figures["accuracy_labels"] == labels
    assert figures["support"] != labels  # the column the table used to show
    # shares as percentages, never as fractions
    share = figures["share"]
    assert f"{share:.1%}" in row and f"{share:.4g}" not in row


def test_by_type_table_without_labels_has_no_label_columns(files: dict[str, Path]) -> None:
    code, out = run(str(files["jobs"]))
    assert code == 0, out
    header = out.split("\nBy type\n", 1)[1].splitlines()[0]
    assert "share" in header and "accuracy" not in header and "labels" not in header
    assert "%" in out.split("\nBy type\n", 1)[1].splitlines()[2]


# -- README -----------------------------------------------------------------------------------


def test_readme_gate_example_runs_as_written(files: dict[str, Path], tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Gate a CI job on the audit", 1)[1].split("\n## ", 1)[0]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    args = shlex.split(block.replace("\\\n", " "))
    assert args[:2] == ["classify-frames", "audit"]
    where = {"jobs.parquet": files["jobs"], "labels.csv": files["labels"]}
    where["audit.json"] = tmp_path / "audit.json"
    code, out = run(*(str(where.get(a, a)) for a in args[2:]))
    assert code == 0, out
    assert len(check_lines(out)) == 4 and all(x.startswith("PASS") for x in check_lines(out))
    # the FAIL line README quotes is the one this command prints
    quoted = " ".join(re.search(r'\*"(FAIL .*?)"\*', section, flags=re.S)[1].split())  # type: ignore[index]
    code, out = run(
        str(files["jobs"]), "--labels", str(files["labels"]), "--check", "accuracy>=0.75"
    )
    assert code == EXIT_CHECK_FAILED and check_lines(out) == [quoted.replace("FAIL ", "FAIL  ", 1)]


# -- simulation -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_gate_rarely_passes_a_claim_at_the_truth_and_passes_one_with_margin() -> None:
    """Over queues labelled from a known truth, a check at the true accuracy passes only when
    its bound lies beyond the truth (nominally 2.5%; the point estimate would pass half the
    time), and a claim 10 points inside the truth passes overall. Many repetitions:
    ``benchmarks/sim_gate.py``."""
    pop = emulator_population(10_000, seed=3)
    at_truth = gate_rates(pop, reps=20)
    assert at_truth.at_least.max() <= 0.25 and at_truth.at_most.max() <= 0.25, at_truth
    inside = gate_rates(pop, reps=10, offset=-0.10)
    assert inside.at_least["overall"] == 1.0 and inside.at_most["overall"] == 1.0, inside


def test_summary_and_thresholds_print_shares_as_percentages(
    files: dict[str, Path], report: cf.AuditReport
) -> None:
    code, out = run(str(files["jobs"]), "--labels", str(files["labels"]))
    assert code == 0, out
    rows = dict(line.split(None, 1) for line in out.split("\nSummary\n", 1)[1].splitlines()[2:12])
    rate = float(report.summary["value"]["failure_rate"])
    assert rows["failure_rate"].strip() == f"{rate:.1%}" and rows["jobs"].strip() == "2,000"
    thresholds = out.split("\nRecommended thresholds (certified at ≥ 95% accuracy with 95%", 1)[1]
    lines = thresholds.splitlines()
    header = next(i for i, line in enumerate(lines) if "coverage" in line)
    start = lines[header].index("coverage")
    cells = [line[start : start + len("coverage")].strip() for line in lines[header + 1 :]]
    shares = [cell for cell in cells if cell]
    assert shares and all(cell.endswith("%") for cell in shares), shares  # never 0.0 or 0.43
