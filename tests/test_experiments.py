"""Rule-set experiments end to end, over loopback against the emulator (its ground truth too)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

import classify_frames as cf
from classify_frames.emulator import Emulator
from classify_frames.experiments import check_rules, fingerprint
from classify_frames.experiments._rules import rule_from_422

MakeEmulator = Callable[..., Emulator]
FAST = 1_000.0  # creations per second where the pace is not what a test checks


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(jobs=2_500, seed=3, job_duration=0.2) as emulator:
        yield emulator


def opts(emu: Emulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key, "progress": False}


def one(emu: Emulator, k: int = 0) -> dict[str, Any]:
    """``opts`` for the jobs of one configuration: reclassify refuses a mix of them."""
    return {**opts(emu), "configuration_id": emu.dataset.configurations[k]["id"]}


def conn(emu: Emulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "api_key": emu.api_key}


def finance_v1(emu: Emulator) -> list[dict[str, str]]:
    return list(emu.dataset.configurations[0]["configuration"]["rules"])


def better_rules(emu: Emulator) -> list[dict[str, str]]:
    """finance v1 with invoice described as v2 does, and receipt told apart from invoices."""
    v2 = {
        r["type"]: r["description"] for r in emu.dataset.configurations[1]["configuration"]["rules"]
    }
    rules = [dict(r) for r in finance_v1(emu)]
    for rule in rules:
        if rule["type"] == "invoice":
            rule["description"] = v2["invoice"]
        if rule["type"] == "receipt":
            rule["description"] += " Not an invoice: nothing is left to pay."
    return rules


@pytest.fixture(scope="module")
def sample(emu: Emulator) -> pd.DataFrame:
    config = emu.dataset.configurations[0]["id"]
    done = cf.list_jobs(status="COMPLETED", configuration_id=config, **opts(emu))
    return done.sample(160, random_state=1).reset_index(drop=True)


@pytest.fixture(scope="module")
def improved(emu: Emulator, sample: pd.DataFrame) -> pd.DataFrame:
    frame = cf.reclassify(
        sample, rules=better_rules(emu), experiment="better", rate=FAST, **opts(emu)
    )
    assert isinstance(frame, pd.DataFrame)
    return frame


def test_every_sampled_job_gets_exactly_one_new_job_on_the_same_input(
    emu: Emulator, sample: pd.DataFrame, improved: pd.DataFrame
) -> None:
    assert len(improved) == len(sample)
    assert improved["source_id"].tolist() == sample["id"].tolist()  # one row per row, in order
    assert improved["id"].notna().all() and improved["id"].is_unique
    assert not set(improved["id"]) & set(sample["id"])
    assert improved["fetch_error"].isna().all()
    assert set(improved["status"].astype(str)) <= {"COMPLETED", "FAILED"}  # waited until final
    # the same input; a URL job's is its parse job (the create call takes no URL)
    url = (sample["document_input_type"] == "url").tolist()
    assert any(url)
    inputs = sample["parse_job_id"].where(pd.Series(url, index=sample.index), sample["file_input"])
    assert improved["file_input"].tolist() == inputs.tolist()
    kinds = (
        sample["document_input_type"]
        .astype(str)
        .where(~pd.Series(url, index=sample.index), "parse_job_id")
    )
    assert improved["document_input_type"].astype(str).tolist() == kinds.tolist()
    assert (improved["experiment"] == "better").all()
    wanted = fingerprint(better_rules(emu))
    assert all(fingerprint(list(r)) == wanted for r in improved["configuration.rules"])
    sent = {r["id"]: r for r in improved.to_dict("records")}
    assert len(sent) == len(sample)


def test_the_same_call_again_creates_no_job(
    emu: Emulator, sample: pd.DataFrame, improved: pd.DataFrame
) -> None:
    before = emu.counters()
    again = cf.reclassify(
        sample, rules=better_rules(emu), experiment="better", rate=FAST, **opts(emu)
    )
    after = emu.counters()
    assert after["jobs_created"] - before["jobs_created"] == 0
    assert after["creations_replayed"] - before["creations_replayed"] == len(sample)
    assert again["id"].tolist() == improved["id"].tolist()


def test_a_better_rule_set_measurably_improves_accuracy(
    emu: Emulator, sample: pd.DataFrame, improved: pd.DataFrame
) -> None:
    labels = emu.labels()
    baseline = cf.reclassify(
        sample, rules=finance_v1(emu), experiment="baseline", rate=FAST, **opts(emu)
    )
    for before in (sample, baseline):  # against the originals, and the same model's v1 run
        result = cf.compare(before, improved, labels=labels)
        acc = result.accuracy
        assert acc is not None and acc.n >= 140
        assert acc.difference > 0 and acc.difference_ci[0] > 0, result.findings
        assert acc.mcnemar_p < 0.05
    # before/after pairing by source_id on both sides: same documents, same labels
    paired = cf.compare(baseline, improved, labels=labels)
    assert set(paired.pairs["source_id"]) <= set(sample["id"])
    html = paired._repr_html_()
    assert "95% CI" in html and "McNemar" in html and "Flips" in html


def test_dropping_a_type_makes_its_recall_fall(emu: Emulator, sample: pd.DataFrame) -> None:
    rules = [r for r in finance_v1(emu) if r["type"] != "receipt"]
    dropped = cf.reclassify(sample, rules=rules, experiment="no-receipt", rate=FAST, **opts(emu))
    result = cf.compare(sample, dropped, labels=emu.labels())
    row = result.by_type.loc["receipt"]
    assert row["labelled"] >= 15
    assert row["recall_before"] > 0.3 and row["recall_after"] == 0
    assert row["after"] == 0 and row["lost"] == row["before"]
    receipts = result.pairs[result.pairs["label"] == "receipt"]
    assert set(receipts["after"]) <= {"no match", "invoice"}  # no match, or the near type


def test_a_bad_rule_sends_no_request(emu: Emulator, sample: pd.DataFrame) -> None:
    good = {"type": "invoice", "description": "A bill asking for payment of a total."}
    bad_sets: list[Any] = [
        [],
        [good, {"type": "receipt", "description": "too short"}],
        [good, {"type": "x" * 51, "description": "a long enough description"}],
        [{"type": "", "description": "a long enough description"}],
        [good, {"type": "memo", "description": "m" * 501}],
        [good, good],
        [{"type": "invoice"}],
    ]
    emu.reset_counters()
    for rules in bad_sets:
        with pytest.raises((ValueError, TypeError), match=r"rule|at least one"):
            cf.reclassify(sample, rules=rules, experiment="bad", **opts(emu))
    with pytest.raises(ValueError, match=r"rule 1 \('receipt'\): description has 9 characters"):
        check_rules(bad_sets[1])
    assert emu.counters()["requests"] == 0


def test_item12_rules_over_the_apis_limits_are_refused_before_any_post(
    emu: Emulator, sample: pd.DataFrame
) -> None:
    """CLASSIFY_API.md: description 10 to 500 characters (the client allowed 2,000, and sent
    every job to get a 422 each)."""
    long = {"type": "invoice", "description": "An invoice. " + "Line items and totals. " * 25}
    assert 500 < len(long["description"]) <= 2_000
    emu.reset_counters()
    with pytest.raises(ValueError, match=r"rule 0 \('invoice'\): description has \d+ .* 10 to 500"):
        cf.reclassify(sample[:3], rules=[long], experiment="long", rate=FAST, **opts(emu))
    assert emu.counters()["requests"] == 0


def test_a_422_names_the_rule_the_server_refused(emu: Emulator) -> None:
    long = {"type": "invoice", "description": "x" * 501}
    body = {"file_input": "f", "configuration": {"rules": [long]}, "transaction_id": "t-422"}
    headers = {"Authorization": f"Bearer {emu.api_key}"}
    answer = httpx.post(f"{emu.base_url}/api/v2/classify", json=body, headers=headers)
    assert answer.status_code == 422
    error = f"rejected as invalid (422: {answer.json()['detail']})"  # as the client words it
    named = rule_from_422(error, [long])
    assert named.startswith("the server refused rule 0 ('invoice'): description (501 characters)")


def test_failed_creations_and_rows_without_input_are_rows(
    emu: Emulator, sample: pd.DataFrame
) -> None:
    jobs = pd.concat(
        [sample[:2], cf.fetch_jobs(["cls-does-not-exist"], **opts(emu))], ignore_index=True
    )
    after = cf.reclassify(
        jobs, configuration_id="cfg-unknown", experiment="x", rate=FAST, **opts(emu)
    )
    assert len(after) == 3 and after["source_id"].tolist() == jobs["id"].tolist()
    assert after["fetch_error"].str.startswith("not created: not found").sum() == 2
    assert "no input to re-run" in after["fetch_error"].iloc[2]


def test_item7_a_creation_whose_outcome_is_unknown_says_so_and_how_to_recover(
    make_emulator: MakeEmulator,
) -> None:
    """A 500 with x-should-retry: false leaves the job's state unknown (the service may have
    made and billed it): the row says so, and the same call again settles it, never twice."""
    emu = make_emulator(jobs=300, seed=8, job_duration=0.1)
    jobs = cf.list_jobs(status="COMPLETED", limit=5, **one(emu))
    emu.set_faults(fail_rate=1.0, fail_statuses=(500,), no_retry=True)
    after = cf.reclassify(jobs, rules=finance_v1(emu), experiment="unsure", wait=False,
                          rate=FAST, **opts(emu))  # fmt: skip
    errors = after["fetch_error"].tolist()
    assert all(e.startswith("unknown whether created") for e in errors), errors
    assert all("may exist and be billed" in e and "same call again" in e for e in errors)
    assert not any("not created" in e for e in errors)
    emu.clear_faults()
    again = cf.reclassify(jobs, rules=finance_v1(emu), experiment="unsure", wait=False,
                          rate=FAST, **opts(emu))  # fmt: skip
    assert again["fetch_error"].isna().all() and again["id"].is_unique
    assert emu.counters()["jobs_created"] == len(jobs)
    once_more = cf.reclassify(jobs, rules=finance_v1(emu), experiment="unsure", wait=False,
                              rate=FAST, **opts(emu))  # fmt: skip
    assert once_more["id"].tolist() == again["id"].tolist()
    assert emu.counters()["jobs_created"] == len(jobs)


def test_a_creation_the_service_refused_is_not_created(emu: Emulator, sample: pd.DataFrame) -> None:
    after = cf.reclassify(sample[:2], configuration_id="cfg-unknown", experiment="refused",
                          rate=FAST, **opts(emu))  # fmt: skip
    assert after["fetch_error"].str.startswith("not created: not found").all()


def test_dry_run_counts_and_estimates_credits_without_a_request(
    emu: Emulator, sample: pd.DataFrame
) -> None:
    first = cf.reclassify(sample, rules=better_rules(emu), experiment="d", dry_run=True)
    assert "credits=True" in str(first)  # listed without usage: it says how to get it
    sample = cf.fetch_jobs(sample["id"], credits=True, **opts(emu))  # usage: asked for
    emu.reset_counters()
    plan = cf.reclassify(sample, rules=better_rules(emu), experiment="dry", dry_run=True)
    assert emu.counters()["requests"] == 0
    assert plan.jobs == len(sample) and plan.credits_known == len(sample)
    assert plan.credits == pytest.approx(sample["usage.credits"].sum())
    assert f"{len(sample):,} job(s)" in str(plan) and "credits" in plan._repr_html_()


def test_creation_is_paced_under_the_limit(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=500, seed=4, job_duration=0.1, create_rate_limit=40)
    jobs = cf.list_jobs(status="COMPLETED", limit=60, **one(emu))
    started = time.perf_counter()
    cf.reclassify(jobs, rules=finance_v1(emu), experiment="paced", wait=False, **opts(emu))
    rate = len(jobs) / (time.perf_counter() - started)
    counts = emu.counters()
    print(f"\ncreation: {len(jobs)} jobs at {rate:.1f} requests/s, 429s: "
          f"{counts['by_status'].get('429', 0)}")  # fmt: skip
    assert rate <= 42 and counts["jobs_created"] == len(jobs)


def test_a_429_storm_on_create_loses_nothing_and_creates_nothing_twice(
    make_emulator: MakeEmulator,
) -> None:
    emu = make_emulator(jobs=500, seed=5, job_duration=0.1)
    jobs = cf.list_jobs(status="COMPLETED", limit=40, **one(emu, 1))
    # 20 creations/s for a client sending 200/s, and a fifth of the answers lost after the job
    # was made: only transaction ids keep those retries from creating it again.
    emu.set_faults(create_rate_limit=20, retry_after_ms=True, drop_rate=0.2)
    after = cf.reclassify(jobs, rules=finance_v1(emu), experiment="storm", rate=200, **opts(emu))
    counts = emu.counters()
    print(f"\n429 storm: {counts['by_status']['429']} answers 429, "
          f"{counts['by_fault']['dropped']} dropped, {counts['jobs_created']} jobs created, "
          f"{counts['creations_replayed']} creations replayed")  # fmt: skip
    # one 429 is a storm already: its Retry-After pauses every creation of the client
    assert counts["by_status"]["429"] >= 1 and counts["by_fault"]["dropped"] > 0
    assert after["fetch_error"].isna().all() and after["id"].is_unique and len(after) == len(jobs)
    assert counts["jobs_created"] == len(jobs)
    assert counts["creations_replayed"] >= 1


def test_cancel_and_delete_in_bulk_say_what_happened_per_id(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300, seed=6, job_duration=60)
    jobs = cf.list_jobs(status="COMPLETED", limit=5, **one(emu))
    made = cf.reclassify(jobs, rules=finance_v1(emu), experiment="c", wait=False,
                         input_style="legacy", **opts(emu))  # fmt: skip
    assert set(made["status"].astype(str)) == {"PENDING"}
    ids = made["id"].tolist()
    cancelled = cf.cancel_jobs(ids, **opts(emu))
    assert cancelled["ok"].all() and set(cancelled["status"]) == {"CANCELLED"}
    again = cf.cancel_jobs(ids[:2], **opts(emu))
    assert not again["ok"].any() and again["error"].str.contains("already CANCELLED").all()
    deleted = cf.delete_jobs([*ids, "cls-none"], **opts(emu))
    assert deleted["ok"].tolist() == [True] * 5 + [False]
    assert "not found" in deleted["error"].iloc[-1]


def test_configurations_by_name_with_a_quiet_fallback(
    emu: Emulator, sample: pd.DataFrame, improved: pd.DataFrame
) -> None:
    saved = cf.configurations(**conn(emu))
    assert len(saved) == 5 and set(saved["name"]) >= {"finance-intake", "support-inbox"}
    named = cf.with_configuration_names(sample, **conn(emu))
    assert set(named["configuration.name"]) == {"finance-intake"}
    assert named["configuration.version"].notna().all()
    cols = list(named.columns)
    assert cols[cols.index("configuration_id") + 1] == "configuration.name"
    table = cf.audit(named).by_configuration  # the audit shows them next to the ids
    assert table["name"].tolist() == ["finance-intake"] and table["version"].notna().all()
    assert "name" not in cf.audit(sample).by_configuration.columns
    first = cf.save_configuration("finance-better", better_rules(emu), **conn(emu))
    again = cf.save_configuration("finance-better", better_rules(emu), **conn(emu))
    assert first == again and first["rule_set"] == fingerprint(better_rules(emu))
    # inline-rule jobs take the name of the saved configuration with the same rules
    named = cf.with_configuration_names(improved, **conn(emu))
    assert set(named["configuration.name"]) == {"finance-better"}
    by_config = cf.reclassify(sample[:4], configuration_id=first["id"], experiment="saved",
                              rate=FAST, **opts(emu))  # fmt: skip
    assert (by_config["configuration_id"] == first["id"]).all()
    emu.set_faults(no_configurations=True)
    try:
        plain = cf.with_configuration_names(sample, **conn(emu))
    finally:
        emu.clear_faults()
    assert plain["configuration.name"].str.startswith("rules ").all()
    assert plain["configuration.version"].isna().all()


def test_ctrl_c_while_waiting_says_how_to_resume(make_emulator: MakeEmulator) -> None:
    emu = make_emulator(jobs=300, seed=7, job_duration=120)
    jobs = cf.list_jobs(status="COMPLETED", limit=12, **one(emu))
    stop = threading.Event()

    def interrupt_once_all_are_made() -> None:
        while not stop.wait(0.01):
            if emu.counters()["jobs_created"] == len(jobs):
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C, while the call waits
                return

    watcher = threading.Thread(target=interrupt_once_all_are_made, daemon=True)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt), pytest.warns(UserWarning, match="same call again"):
            cf.reclassify(jobs, rules=finance_v1(emu), experiment="ctrl-c", rate=FAST, **opts(emu))
    finally:
        stop.set()
        watcher.join()
    resumed = cf.reclassify(jobs, rules=finance_v1(emu), experiment="ctrl-c", wait=False,
                            rate=FAST, **opts(emu))  # fmt: skip
    assert emu.counters()["jobs_created"] == len(jobs) and resumed["id"].notna().all()


def test_labels_with_the_audits_design_give_design_aware_estimates(emu: Emulator) -> None:
    config = emu.dataset.configurations[0]
    population = cf.list_jobs(configuration_id=config["id"], **opts(emu))
    queue = cf.audit(population).review_queue(n=12, strategy="stratified", seed=0)
    queue["label"] = queue["id"].map(emu.labels().set_index("id")["label"])
    sample = population[population["id"].isin(queue["id"])]
    after = cf.reclassify(sample, rules=better_rules(emu), experiment="designed", rate=FAST,
                          **opts(emu))  # fmt: skip
    designed = cf.compare(population, after, labels=queue)
    plain = cf.compare(sample, after, labels=queue[["id", "label"]])
    assert designed.designed is not None and plain.designed is None
    acc, simple = designed.accuracy, plain.accuracy
    assert acc is not None and simple is not None and acc.weighted and not simple.weighted
    assert acc.difference_ci[0] <= acc.difference <= acc.difference_ci[1]
    assert (acc.right_before_only, acc.right_after_only) == (
        simple.right_before_only, simple.right_after_only,
    )  # fmt: skip
    assert "design-weighted" in " ".join(designed.findings)
