"""On emulator data the audit finds what the emulator injected (``Dataset.injected``): the
over-confident types, the period of drift, the rule-set change, the rule that never matches and
the documents classified again. Findings are asserted, not just that the code ran."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

import classify_frames as cf
from classify_frames.auditing import AuditReport, AuditWarning
from classify_frames.cli import main
from classify_frames.emulator import Dataset, Emulator


@pytest.fixture(scope="module")
def emulated() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    ds = Dataset.generate(60_000, seed=0)
    return cf.jobs_to_frame(ds.jobs()), ds.labels(), ds.injected


def per_configuration(df: pd.DataFrame, labels: pd.DataFrame) -> dict[str, AuditReport]:
    reports = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)  # labels of the other configurations
        for config, jobs in df.groupby("configuration_id"):
            reports[str(config)] = cf.audit(jobs, labels)
    return reports


def test_finds_the_overconfident_types(emulated: Any) -> None:
    df, labels, injected = emulated
    injected_pairs = {
        (config, t)
        for config, types in injected["overconfident_by_configuration"].items()
        for t in types
    }
    gaps = pd.concat(
        {config: r.by_type["label_gap"] for config, r in per_configuration(df, labels).items()}
    ).dropna()
    top = set(gaps.nlargest(len(injected_pairs)).index)
    assert top == injected_pairs
    # and every injected type is flagged as significantly over-confident
    overall = cf.audit(df, labels).by_type
    assert overall.loc[injected["overconfident_types"], "overconfident"].all()


def test_finds_the_period_of_drift(emulated: Any) -> None:
    df, labels, injected = emulated
    start = pd.Period(injected["drift_start"], freq="M")
    first_flags = {}
    for config, report in per_configuration(df, labels).items():
        table = report.drift("M")
        flagged = table[table["drift"] != ""]
        if len(flagged):
            first_flags[config] = flagged.index[0]
            assert (table.loc[table.index >= start, "drift"] != "").all(), config
            assert "no-match rate" in flagged["reasons"].iloc[0]
    assert first_flags, "no configuration drifts"
    assert set(first_flags.values()) == {start}
    assert len(first_flags) < df["configuration_id"].nunique()  # the others stay quiet


def test_whole_frame_drift_sees_the_rule_change_then_the_drift(emulated: Any) -> None:
    df, labels, injected = emulated
    table = cf.audit(df, labels).drift("M")
    flagged = table[table["drift"] != ""]
    assert flagged.index[0] == pd.Period(injected["rule_set_change"]["date"], freq="M")
    assert "type mix" in flagged["reasons"].iloc[0]
    no_match = table[table["reasons"].str.contains("no-match rate")]
    assert no_match.index[0] == pd.Period(injected["drift_start"], freq="M")
    assert {"psi_confidence", "ks_statistic", "ks_pvalue", "p_type"} <= set(table.columns)


def test_finds_the_rule_set_change(emulated: Any) -> None:
    df, _, injected = emulated
    change = injected["rule_set_change"]
    report = cf.audit(df)
    changes = report.rule_changes
    assert set(changes["from_configuration"]) == {change["from"]}
    assert set(changes["to_configuration"]) == {change["to"]}
    by_kind = changes.groupby("change")["type"].apply(sorted).to_dict()
    assert by_kind.get("added", []) == sorted(change["added_types"])
    assert by_kind.get("removed", []) == sorted(change["removed_types"])
    assert by_kind.get("edited", []) == sorted(change["edited_types"])
    first = report.by_configuration.reset_index().set_index("configuration_id")["first_seen"]
    assert first[change["to"]].strftime("%Y-%m-%d") == change["date"]


def test_finds_the_rule_that_never_matched_and_the_reclassified_documents(emulated: Any) -> None:
    df, _, injected = emulated
    report = cf.audit(df)
    assert sorted(report.unused_rules["type"]) == sorted(injected["never_matched_types"])
    assert report.unknown_types.empty
    reclassified = report.reclassified
    assert len(reclassified) == 1
    documents = int(reclassified["documents"].iloc[0])
    # only documents COMPLETED under both versions can be compared (about 0.93^2 of them)
    assert (
        0.8 * injected["reclassified_documents"] <= documents <= injected["reclassified_documents"]
    )
    flips = report.flips()
    assert int(flips.to_numpy().sum()) == documents
    assert set(injected["rule_set_change"]["removed_types"]) <= set(flips.index)


def test_calibration_and_threshold_on_emulator(emulated: Any) -> None:
    df, labels, _ = emulated
    report = cf.audit(df, labels)
    assert report.ece > 0.05  # the emulator states more confidence than it earns
    table = report.calibration()
    assert list(table.index) == ["0.5", "0.6", "0.7", "0.8", "0.85", "0.9", "0.95", "0.99"]
    assert (table["gap"] > 0).sum() >= 6
    # the emulator's confidence barely ranks: only the top score reaches 80% accuracy
    recommended = report.recommend_threshold(target_accuracy=0.8).loc["overall"]
    curve = report.risk_coverage
    assert recommended["threshold"] == curve[curve["accuracy_lo"] >= 0.8].index.min() == 0.99
    completed = df[df["status"] == "COMPLETED"]
    assert recommended["accepted"] == int((completed["result.confidence"] >= 0.99).sum())


@pytest.mark.slow
def test_through_the_served_api_and_the_cli(tmp_path: Path) -> None:
    with Emulator(jobs=3_000, seed=0) as emu:
        df = cf.list_jobs(base_url=emu.base_url, api_key=emu.api_key, progress=False)
        labels = emu.labels()
    report = cf.audit(df, labels)
    assert report.summary.loc["labelled", "value"] == int((df["status"] == "COMPLETED").sum())
    jobs_path, labels_path = tmp_path / "jobs.parquet", tmp_path / "labels.csv"
    cf.to_parquet(df, jobs_path)
    labels.to_csv(labels_path, index=False)
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        main, ["audit", str(jobs_path), "--labels", str(labels_path), "--html", str(html)]
    )
    assert result.exit_code == 0, result.output
    assert "Recommended thresholds" in result.output and "overconfident" in result.output
    assert html.read_text(encoding="utf-8").count("data:image/png;base64,") == 7
