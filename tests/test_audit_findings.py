"""``report.findings``: a list of sentences that also takes the target accuracy to certify."""

from __future__ import annotations

import pytest
from test_audit import make_jobs

import classify_frames as cf
from classify_frames.auditing import AuditReport


@pytest.fixture(scope="module")
def report() -> AuditReport:
    df, labels = make_jobs(300)
    return cf.audit(df, labels)


def sentence(found: list[str], word: str) -> str:
    matching = [s for s in found if word in s]
    assert len(matching) == 1, found
    return matching[0]


def test_findings_stay_a_list_at_the_usual_targets(report: AuditReport) -> None:
    found = report.findings
    assert isinstance(found, list) and all(isinstance(s, str) for s in found)
    assert found == report.findings  # the same sentences each time
    # nothing is certified at 95% or 90% on these labels: the plain findings say so at 90%
    assert "No threshold can be certified at ≥ 90% accuracy with 95% confidence" in " ".join(found)


def test_findings_certify_at_the_given_target(report: AuditReport) -> None:
    found = report.findings(target_accuracy=0.8, delta=0.1)
    row = report.recommend_threshold(0.8, delta=0.1).loc["overall"].to_dict()
    assert sentence(found, "certified").startswith(
        f"Auto-accepting at ≥ {row['threshold']:g} keeps {row['coverage']:.0%} of jobs "
        f"({int(row['accepted']):,}) at ≥ 80% accuracy, certified at 90% confidence"
    )
    missed = report.findings(target_accuracy=0.97)
    assert "No threshold can be certified at ≥ 97% accuracy with 95% confidence" in sentence(
        missed, "certified"
    )
    assert "report.plan_labels(target_accuracy=0.97)" in " ".join(missed)
    # the sentences that do not depend on the target are the same
    assert found[:2] == report.findings[:2] and found[3:] == report.findings[3:]


def test_findings_refuse_a_target_that_is_no_accuracy(report: AuditReport) -> None:
    with pytest.raises(ValueError, match="target_accuracy must be in"):
        report.findings(target_accuracy=95)
    with pytest.raises(ValueError, match="delta must be in"):
        report.findings(0.9, delta=0)


def test_findings_without_labels_ignore_the_target() -> None:
    df = make_jobs(100)[0]
    plain = cf.audit(df)
    assert plain.findings(target_accuracy=0.8) == plain.findings
