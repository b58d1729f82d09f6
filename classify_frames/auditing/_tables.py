"""The audit's tables: pure, vectorised functions of a prepared frame (see :mod:`._prepare`).

Each returns a plain DataFrame; :class:`~classify_frames.auditing.AuditReport` only caches them.
Types are ordered by job count, with "no match" last.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ._evidence import MIN_GROUP_LABELS, benjamini_hochberg, difference
from ._prepare import NO_MATCH
from ._sample import LabelledSample, cell_counts, combine
from ._stats import (
    PSI_MAJOR,
    PSI_MODERATE,
    BinStrategy,
    bin_index,
    calibration_errors,
    calibration_table,
    chi2_homogeneity,
    kolmogorov_sf,
    ks_2samp,
    psi,
    resolve_bins,
    two_proportion_pvalue,
    wilson_interval,
)
from ._weighted import median, numpy_percentiles, pandas_quantile, weights_of

__all__ = [
    "by_type",
    "confusion",
    "disagreements",
    "drift",
    "risk_coverage",
    "status_counts",
    "summary",
    "top_errors",
    "type_order",
    "wilson_scan",
]

QUANTILES = (0.1, 0.25, 0.5, 0.75, 0.9)


def type_order(*series: pd.Series | np.ndarray, weights: np.ndarray | None = None) -> list[str]:
    """Every type seen in ``series``, most frequent first, "no match" last (``weights``: the
    jobs each value of the first series stands for)."""
    counts = pd.Series(dtype="int64")
    for i, values in enumerate(series):  # value_counts of a categorical: a bincount of codes
        if i == 0 and weights is not None:
            found = pd.Series(weights).groupby(pd.Series(values).to_numpy()).sum()
            found = found.astype("int64")
        else:
            found = pd.Series(values).value_counts(sort=False)
        found.index = found.index.astype(str)
        counts = counts.add(found[found > 0], fill_value=0)
    ranked = sorted(counts.items(), key=lambda kv: (kv[0] == NO_MATCH, -kv[1], kv[0]))
    return [str(name) for name, _ in ranked]


def status_counts(jobs: pd.DataFrame) -> pd.DataFrame:
    """Jobs and share per status (``FETCH ERROR`` for rows that could not be fetched)."""
    weights = weights_of(jobs)
    if weights is None:
        counts = jobs["status"].value_counts()
    else:
        counts = pd.Series(weights, index=jobs.index).groupby(jobs["status"], observed=False).sum()
        counts = counts.sort_values(ascending=False, kind="stable").rename("count")
    total = len(jobs) if weights is None else int(weights.sum())
    table = pd.DataFrame({"jobs": counts, "share": counts / max(total, 1)})
    table.index.name = "status"
    return table


def top_errors(jobs: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The ``n`` most common ``error_message``s of failed jobs, with their share of failures."""
    is_failed = (jobs["status"] == "FAILED").to_numpy(bool)
    failed = jobs.loc[is_failed, "error_message"].fillna("(no message)")
    weights = weights_of(jobs)
    if weights is None:  # ties in the messages' order, as from weighted rows
        found = failed.value_counts(sort=False).sort_index()
        counts = found.sort_values(ascending=False, kind="stable").head(n)
        total = len(failed)
    else:
        per = pd.Series(weights[is_failed], index=failed.index).groupby(failed.to_numpy()).sum()
        per = per.rename_axis("error_message").rename("count").astype("int64")
        counts, total = per.sort_values(ascending=False, kind="stable").head(n), int(per.sum())
    table = pd.DataFrame({"jobs": counts, "share_of_failed": counts / max(total, 1)})
    table.index.name = "error_message"
    return table


def summary(
    jobs: pd.DataFrame,
    threshold: float,
    label_metrics: dict[str, float | int | str] | None = None,
) -> pd.DataFrame:
    """Headline numbers, one per row: status mix, no-match and failure rates, rows that could
    not be fetched (``not_fetched``: fetch failures, not job failures), confidence quantiles,
    missing and impossible confidences, share below ``threshold`` (and accuracy with its
    interval, ECE, Brier, AUROC ... when labels are given)."""
    weights = weights_of(jobs)
    if weights is not None:
        rows = _weighted_summary(jobs, weights, threshold)
    else:
        n = len(jobs)
        completed = jobs.loc[jobs["completed"], ["type", "confidence"]]
        conf = completed["confidence"].dropna()
        failed = int((jobs["status"] == "FAILED").sum())
        not_fetched = int((jobs["status"] == "FETCH ERROR").sum())
        no_match = int((completed["type"] == NO_MATCH).sum())
        rows = _summary_rows(
            jobs,
            n,
            len(completed),
            failed,
            not_fetched,
            no_match,
            int(completed["confidence"].isna().sum()),
            int(jobs["confidence_impossible"].sum())
            if "confidence_impossible" in jobs.columns
            else 0,
        )
        rows["confidence_mean"] = float(conf.mean()) if len(conf) else math.nan
        # one partition for every quantile (as Series.quantile computes each: linear, q * 100)
        found = (
            np.percentile(conf.to_numpy(float), [q * 100 for q in QUANTILES]) if len(conf) else []
        )
        for i, q in enumerate(QUANTILES):
            rows[f"confidence_p{round(q * 100)}"] = float(found[i]) if len(conf) else math.nan
        rows["threshold"] = threshold
        rows["below_threshold"] = _ratio(int((conf < threshold).sum()), len(conf))
    rows.update(label_metrics or {})
    return pd.DataFrame({"value": pd.Series(rows, dtype=object)}).rename_axis("metric")


def _summary_rows(
    jobs: pd.DataFrame,
    n: int,
    completed: int,
    failed: int,
    not_fetched: int,
    no_match: int,
    missing: int,
    impossible: int,
) -> dict[str, float | int | str]:
    """The summary's counts, in its order."""
    return {
        "jobs": n,
        "completed": completed,
        "completed_share": _ratio(completed, n),
        "failed": failed,
        "failure_rate": _ratio(failed, n),
        "not_fetched": not_fetched,
        "not_fetched_share": _ratio(not_fetched, n),
        "top_error": top_errors(jobs, 1).index[0] if failed else "",
        "no_match": no_match,
        "no_match_rate": _ratio(no_match, completed),
        "confidence_missing": missing,
        "confidence_impossible": impossible,
    }


def _weighted_summary(
    jobs: pd.DataFrame, weights: np.ndarray, threshold: float
) -> dict[str, float | int | str]:
    """The summary's counts and confidence figures of a frame counted in cells."""
    done = jobs["completed"].to_numpy(bool)
    status = jobs["status"]
    w = weights[done]
    conf = jobs["confidence"].to_numpy(float)[done]
    known = ~np.isnan(conf)
    impossible = jobs["confidence_impossible"].to_numpy(bool)
    rows = _summary_rows(
        jobs,
        int(weights.sum()),
        int(w.sum()),
        int(weights[(status == "FAILED").to_numpy(bool)].sum()),
        int(weights[(status == "FETCH ERROR").to_numpy(bool)].sum()),
        int(w[(jobs.loc[done, "type"] == NO_MATCH).to_numpy(bool)].sum()),
        int(w[~known].sum()),
        int(weights[impossible].sum()),
    )
    total = float(w[known].sum())
    rows["confidence_mean"] = float((conf[known] * w[known]).sum() / total) if total else math.nan
    found = numpy_percentiles(conf, w, [q * 100 for q in QUANTILES])
    for i, q in enumerate(QUANTILES):
        rows[f"confidence_p{round(q * 100)}"] = found[i]
    rows["threshold"] = threshold
    below = int(w[known & (conf < threshold)].sum())
    rows["below_threshold"] = _ratio(below, int(w[known].sum()))
    return rows


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def by_type(
    jobs: pd.DataFrame,
    threshold: float,
    labelled_jobs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    bins: BinStrategy = "auto",
    n_bins: int = 10,
) -> pd.DataFrame:
    """Per predicted type: count, share, confidence mean/median/p10/p90, share below threshold.

    The labelled figures here are of the labelled jobs alone, unweighted (right when every
    job is labelled, or within type strata); :attr:`AuditReport.by_type` replaces them by the
    design-weighted ones of :func:`._population.per_type`.

    With ``labelled_jobs`` (``labelled(jobs, truth)``) also precision, recall, F1 and support (as
    scikit-learn's ``precision_recall_fscore_support`` with ``zero_division=0``, "no match" a
    class of its own), accuracy among the type's predictions with a Wilson interval, ECE, MCE
    and Brier of the type's stated confidences and ``gap`` (their mean minus that accuracy).
    Seen from the documents whose label is the type: ``label_confidence`` (the mean confidence
    stated on them), ``label_gap`` (that minus the share classified right) and
    ``overconfident``: ``label_confidence`` lies above the Wilson upper bound of that share,
    the classifier is sure of documents of this type more often than it gets them right.
    """
    completed = jobs.loc[jobs["completed"], ["type", "confidence"]]
    types = completed["type"]
    conf = completed["confidence"]
    # grouped by the type's integer code (no string hashing per job), named afterwards
    codes = pd.Series(types.cat.codes.to_numpy(np.int64), index=conf.index)
    weights = weights_of(jobs)
    done_weights = None if weights is None else weights[jobs["completed"].to_numpy(bool)]
    if done_weights is None:
        grouped = conf.groupby(codes, sort=False)
        table = pd.DataFrame(
            {
                "count": codes.value_counts(),
                "confidence_mean": grouped.mean(),
                "confidence_median": grouped.median(),
                "confidence_p10": grouped.quantile(0.1),
                "confidence_p90": grouped.quantile(0.9),
                "below_threshold": (conf < threshold).where(conf.notna()).groupby(codes).mean(),
            }
        )
    else:
        table = _weighted_by_type(codes.to_numpy(), conf.to_numpy(float), done_weights, threshold)
    names = np.array([str(c) for c in types.cat.categories], dtype=object)
    table.index = pd.Index(names[table.index.to_numpy()], dtype=object)
    table["count"] = table["count"].fillna(0).astype("int64")
    total = len(completed) if done_weights is None else int(done_weights.sum())
    table.insert(1, "share", table["count"] / max(total, 1))
    if labelled_jobs is None:
        order = type_order(types, weights=done_weights)
        return table.reindex(order).rename_axis("type").fillna({"count": 0, "share": 0.0})
    y_true, y_pred, conf_l = labelled_jobs
    order = type_order(types, y_true, weights=done_weights)
    table = table.reindex(order)
    table[["count"]] = table[["count"]].fillna(0).astype("int64")
    table["share"] = table["share"].fillna(0.0)
    matrix = confusion(y_true, y_pred, order).to_numpy()
    tp = np.diag(matrix).astype(float)
    predicted, support = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    table["precision"] = precision
    table["recall"] = recall
    table["f1"] = f1
    table["support"] = support
    per_type = _per_type_calibration(y_pred, conf_l, y_true == y_pred, bins, n_bins)
    table = table.join(per_type)
    lo, hi = wilson_interval(table["correct"].fillna(0), table["labelled"].fillna(0))
    table["accuracy_lo"], table["accuracy_hi"] = lo, hi
    table["gap"] = table["labelled_confidence"] - table["accuracy"]
    has = ~np.isnan(conf_l)
    sides = pd.DataFrame({"t": y_true[has], "c": conf_l[has], "hit": (y_true == y_pred)[has]})
    by_label = sides.groupby("t").agg(n=("hit", "size"), c=("c", "mean"), hit=("hit", "sum"))
    by_label = by_label.reindex(order)
    _, recall_hi = wilson_interval(by_label["hit"].fillna(0), by_label["n"].fillna(0))
    table["label_confidence"] = by_label["c"]
    table["label_gap"] = by_label["c"] - by_label["hit"] / by_label["n"]
    table["overconfident"] = (by_label["c"] > recall_hi).fillna(False).astype(bool)
    return table.drop(columns=["correct", "labelled_confidence"]).rename_axis("type")


def _weighted_by_type(
    codes: np.ndarray, conf: np.ndarray, weights: np.ndarray, threshold: float
) -> pd.DataFrame:
    """``by_type``'s count and confidence columns from weighted rows, per type code."""
    records = {}
    for code in np.unique(codes):
        mine = codes == code
        c, w = conf[mine], weights[mine]
        known = ~np.isnan(c)
        total = float(w[known].sum())
        records[int(code)] = {
            "count": int(w.sum()),
            "confidence_mean": float((c[known] * w[known]).sum() / total) if total else np.nan,
            "confidence_median": median(c, w),
            "confidence_p10": pandas_quantile(c, w, 0.1),
            "confidence_p90": pandas_quantile(c, w, 0.9),
            "below_threshold": float(w[known & (c < threshold)].sum() / total) if total else np.nan,
        }
    columns = [
        "count",
        "confidence_mean",
        "confidence_median",
        "confidence_p10",
        "confidence_p90",
        "below_threshold",
    ]
    return pd.DataFrame.from_dict(records, orient="index", columns=columns)


def labelled(jobs: pd.DataFrame, truth: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(y_true, y_pred, confidence)`` of the completed jobs that have a label."""
    keep = jobs["completed"].to_numpy(bool) & truth.notna().to_numpy(bool)
    return (
        _strings(truth, keep),
        _strings(jobs["type"], keep),
        jobs["confidence"].to_numpy(float)[keep],
    )


def _strings(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    """``values[keep]`` as an object array, built from the distinct values (few types, many
    jobs) rather than one Python string per row."""
    categorical = (
        values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    )
    names = np.array([str(c) for c in categorical.cat.categories] + [None], dtype=object)
    picked: np.ndarray = names[categorical.cat.codes.to_numpy()[keep]]
    return picked


def _codes(values: np.ndarray | pd.Series, order: list[str]) -> np.ndarray:
    """Position of each value in ``order`` (-1 where absent), by hashing the distinct values
    (for a categorical Series, only its categories)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype):
        where = pd.Index(order).get_indexer(pd.Index([str(c) for c in values.cat.categories]))
        return np.append(where, -1)[values.cat.codes.to_numpy()].astype(np.int64)
    return np.asarray(pd.Categorical(values, categories=order).codes, dtype=np.int64)


def _per_type_calibration(
    y_pred: np.ndarray, conf: np.ndarray, correct: np.ndarray, bins: BinStrategy, n_bins: int
) -> pd.DataFrame:
    """Labelled count, accuracy, ECE, MCE and Brier per predicted type, in one groupby."""
    has = ~np.isnan(conf)
    frame = pd.DataFrame({"type": y_pred[has], "conf": conf[has], "hit": correct[has] * 1.0})
    columns = ["labelled", "correct", "accuracy", "labelled_confidence", "ece", "mce", "brier"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    strategy = resolve_bins(frame["conf"].to_numpy(), bins)
    frame["bin"] = bin_index(frame["conf"].to_numpy(), strategy, n_bins)[0]
    frame["sq"] = (frame["conf"] - frame["hit"]) ** 2
    cells = frame.groupby(["type", "bin"], sort=False).agg(
        n=("hit", "size"), conf=("conf", "sum"), hit=("hit", "sum")
    )
    cells["abs"] = (cells["conf"] - cells["hit"]).abs()
    cells["gap"] = cells["abs"] / cells["n"]
    per = cells.groupby(level="type", sort=False).agg(
        labelled=("n", "sum"),
        correct=("hit", "sum"),
        conf=("conf", "sum"),
        abs=("abs", "sum"),
        mce=("gap", "max"),
    )
    out = pd.DataFrame(
        {
            "labelled": per["labelled"].astype("int64"),
            "correct": per["correct"],
            "accuracy": per["correct"] / per["labelled"],
            "labelled_confidence": per["conf"] / per["labelled"],
            "ece": per["abs"] / per["labelled"],
            "mce": per["mce"],
            "brier": frame.groupby("type", sort=False)["sq"].mean(),
        }
    )
    return out[columns]


def confusion(y_true: np.ndarray, y_pred: np.ndarray, order: list[str]) -> pd.DataFrame:
    """Confusion matrix, rows the true type and columns the predicted one, "no match" included
    (as scikit-learn's ``confusion_matrix(y_true, y_pred, labels=order)``)."""
    k = len(order)
    t, p = _codes(y_true, order), _codes(y_pred, order)
    keep = (t >= 0) & (p >= 0)
    codes = t[keep] * k + p[keep]
    matrix = np.bincount(codes, minlength=k * k).reshape(k, k)
    return pd.DataFrame(
        matrix,
        index=pd.Index(order, name="label"),
        columns=pd.Index(order, name="predicted"),
    )


def label_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, conf: np.ndarray, bins: BinStrategy, n_bins: int
) -> dict[str, float]:
    """Accuracy, ECE, MCE, Brier and AURC of the labelled jobs, for the summary."""
    correct = y_true == y_pred
    has = ~np.isnan(conf)
    table = calibration_table(conf[has], correct[has], bins, n_bins)
    ece, mce = calibration_errors(table)
    aurc = risk_coverage(conf, correct)[1]
    return {
        "labelled": len(y_true),
        "accuracy": float(correct.mean()) if len(correct) else math.nan,
        "ece": ece,
        "mce": mce,
        "brier": float(np.mean((conf[has] - correct[has]) ** 2)) if has.any() else math.nan,
        "aurc": aurc,
    }


def risk_coverage(conf: np.ndarray, correct: np.ndarray) -> tuple[pd.DataFrame, float]:
    """Accepting every job at or above each distinct confidence: coverage, accepted, accuracy
    (with a Wilson interval) and risk; and the area under the risk-coverage curve (AURC).

    Thresholds are the distinct confidences only, so tied jobs are accepted or refused together
    and nothing depends on their order. AURC is the area under that step curve: the sum over
    thresholds (highest first) of the coverage each adds times the risk at that point.
    """
    has = ~np.isnan(conf)
    conf, hit = conf[has], correct[has].astype(float)
    columns = ["accepted", "coverage", "correct", "accuracy", "accuracy_lo", "accuracy_hi", "risk"]
    if len(conf) == 0:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="threshold")), math.nan
    values, inverse = np.unique(conf, return_inverse=True)
    count = np.bincount(inverse)
    hits = np.bincount(inverse, weights=hit)
    accepted = np.cumsum(count[::-1])[::-1]
    right = np.cumsum(hits[::-1])[::-1]
    accuracy = right / accepted
    lo, hi = wilson_interval(right, accepted)
    coverage = accepted / len(conf)
    table = pd.DataFrame(
        {
            "accepted": accepted,
            "coverage": coverage,
            "correct": right.astype(np.int64),
            "accuracy": accuracy,
            "accuracy_lo": lo,
            "accuracy_hi": hi,
            "risk": 1 - accuracy,
        },
        index=pd.Index(values, name="threshold"),
    )
    added = -np.diff(np.append(coverage, 0.0))
    return table, float(np.sum(added * (1 - accuracy)))


def wilson_scan(
    jobs: pd.DataFrame, truth: pd.Series, target_accuracy: float = 0.95
) -> pd.DataFrame:
    """A heuristic, with no guarantee: per "overall" and per predicted type, the lowest
    threshold whose Wilson lower bound of accuracy among the accepted labelled jobs meets
    ``target_accuracy``, and what it keeps. Scanning every threshold and keeping the best makes
    many comparisons (so it promises too much), and plain shares over the labelled jobs are
    biased unless every job is labelled: use :func:`._certify.certify_table` for a guarantee.

    ``accepted`` / ``coverage`` count labelled jobs; ``kept`` / ``kept_share`` apply the threshold
    to every completed job of the frame (labelled or not). NaN threshold: no threshold reaches it.
    """
    if not 0 < target_accuracy <= 1:
        msg = f"target_accuracy must be in (0, 1], got {target_accuracy!r}"
        raise ValueError(msg)
    y_true, y_pred, conf = labelled(jobs, truth)
    completed = jobs.loc[jobs["completed"], ["type", "confidence"]]
    all_conf = completed["confidence"].to_numpy(float)
    names = type_order(pd.Series(y_pred))
    codes = _codes(y_pred, names)
    all_codes = _codes(completed["type"], names)
    correct = y_true == y_pred
    rows = {}
    groups = [("overall", np.ones(len(y_pred), bool), np.ones(len(all_conf), bool))]
    groups += [(t, codes == i, all_codes == i) for i, t in enumerate(names)]
    for name, mask, mask_all in groups:
        table, _ = risk_coverage(conf[mask], correct[mask])
        ok = table[table["accuracy_lo"] >= target_accuracy]
        if ok.empty:
            threshold, row = math.nan, None
        else:
            threshold = float(ok.index[0])
            row = ok.iloc[0]
        kept = int(np.sum(all_conf[mask_all] >= threshold)) if row is not None else 0
        rows[name] = {
            "threshold": threshold,
            "accepted": int(row["accepted"]) if row is not None else 0,
            "coverage": float(row["coverage"]) if row is not None else 0.0,
            "accuracy": float(row["accuracy"]) if row is not None else math.nan,
            "accuracy_lo": float(row["accuracy_lo"]) if row is not None else math.nan,
            "labelled": int(table["accepted"].iloc[0]) if len(table) else 0,
            "kept": kept,
            "kept_share": _ratio(kept, int(mask_all.sum())),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("type")


def disagreements(jobs: pd.DataFrame, truth: pd.Series, min_confidence: float) -> pd.DataFrame:
    """Labelled jobs stated at ``min_confidence`` or more whose label differs from the type:
    model errors or label errors, most confident first."""
    keep = (jobs["completed"] & truth.notna() & (jobs["confidence"] >= min_confidence)).to_numpy(
        bool
    )
    candidates = np.flatnonzero(keep)
    wrong = candidates[_strings(jobs["type"], keep) != _strings(truth, keep)]
    rows = jobs.iloc[wrong]
    table = pd.DataFrame(
        {
            "id": rows["id"],
            "file_input": rows["document"],
            "result.type": rows["type"].astype(object),
            "label": truth[rows.index],
            "result.confidence": rows["confidence"],
            "result.reasoning": rows["reasoning"],
        }
    )
    return table.sort_values(["result.confidence", "id"], ascending=[False, True], kind="stable")


def drift(
    jobs: pd.DataFrame,
    threshold: float,
    freq: str = "M",
    baseline: object = None,
    truth: pd.Series | None = None,
    min_jobs: int = 200,
    alpha: float = 0.001,
    sample: LabelledSample | None = None,
    correct: np.ndarray | None = None,
) -> pd.DataFrame:
    """Each period of ``created_at`` against a baseline: what moved, and whether it matters.

    Per period: jobs, confidence mean/median, share below threshold, no-match rate, the type
    mix (``share.<type>``), and against the baseline the PSI of the confidence histogram and of
    the type mix (each with the p-value of a chi-squared test on the same counts), the change
    of the no-match rate with a two-proportion p-value, and the KS statistic and p-value of
    the confidences.

    With labels (``truth``; ``sample`` and ``correct`` the random sample among them and its
    0/1 outcomes, see :mod:`._sample`): ``labelled`` (labels in the period), and the period's
    ``accuracy`` over all its completed jobs, post-stratified from the random sample with its
    95% interval (``accuracy_lo``, ``accuracy_hi``) and the labels it rests on
    (``accuracy_labels``); ``accuracy_change`` against the baseline's estimate, with its 95%
    interval and the p-value of a z-test on the two stratified variances (without the
    finite-population correction: the question is whether the process changed; see
    :func:`._evidence.difference`). ``accuracy_sample`` names the sample; labels that are no
    random sample (a "lowest" queue) give NaN accuracy, never a flag. The evidence rule
    (:mod:`._evidence`): accuracy is tested (``accuracy_tested``) only where the period and
    the baseline (``baseline_labels``) each hold at least 20 labels.

    Many months are many tests: each signal's p-values are Benjamini-Hochberg adjusted over the
    months it is tested in (``p_*_bh``; false discovery rate at most ``alpha`` per signal,
    and family-wise error too when nothing drifted). A period of at least ``min_jobs`` jobs is
    flagged (``drift``) on a signal that is both significant (adjusted p < ``alpha``) and
    large: a PSI of 0.1 or more (the standard cut-offs: 0.25
    and up is ``"major"``) or a rate that moved 5 points or more (10 and up is ``"major"``);
    ``reasons`` says which. KS is reported but never flags: stated confidences take few
    distinct values and KS assumes continuous scores, so its p-value is off, and with many jobs
    any tiny shift is "significant". ``baseline`` is a period (``"2026-01"``), a ``(start, end)``
    pair of dates, or None: the first periods, until they hold ``min_jobs`` jobs. A rule-set
    change moves the type mix too: audit each ``configuration_id`` apart to separate them.
    """
    freq = {"ME": "M", "QE": "Q", "YE": "Y"}.get(freq, freq)
    keep = jobs["completed"].to_numpy(bool) & jobs["created_at"].notna().to_numpy(bool)
    if not keep.any():
        msg = "drift needs completed jobs with a 'created_at' time; this frame has none"
        raise ValueError(msg)
    rows = jobs.loc[keep, ["created_at", "type", "confidence"]]  # not every column's copy
    period = rows["created_at"].dt.tz_convert(None).dt.to_period(freq)
    types = rows["type"]
    conf = rows["confidence"]
    no_match = types == NO_MATCH
    weights = weights_of(jobs)
    w = None if weights is None else weights[keep]
    if w is None:
        grouped = conf.groupby(period, sort=True)
        table = pd.DataFrame(
            {
                "jobs": period.value_counts().sort_index(),
                "confidence_mean": grouped.mean(),
                "confidence_median": grouped.median(),
                "below_threshold": (conf < threshold).where(conf.notna()).groupby(period).mean(),
                "no_match_rate": no_match.groupby(period).mean(),
            }
        )
    else:
        table = _weighted_periods(period, conf, no_match, w, threshold, freq, baseline)
    base_mask = _baseline_mask(rows["created_at"], period, baseline, table["jobs"], min_jobs)
    order = type_order(types, weights=w)
    # each job's period as a position in the table, and its type's position in ``order``
    at = np.searchsorted(pd.PeriodIndex(table.index).asi8, period.array.asi8)
    type_codes = _codes(types, order)
    type_counts = _crosstab(at, type_codes, len(table), len(order), w)
    for i, name in enumerate(order):
        table[f"share.{name}"] = type_counts[:, i] / table["jobs"]
    base_w = None if w is None else w[base_mask]
    base_types = np.bincount(type_codes[base_mask], weights=base_w, minlength=len(order))
    if w is not None:
        base_types = base_types.astype(np.int64)
    table["psi_type"], table["p_type"] = zip(
        *[_shift(base_types, counts) for counts in type_counts], strict=True
    )
    _confidence_shift(table, at, conf.to_numpy(float), base_mask, w)
    _rate_change(table, "no_match", no_match, period, base_mask, w)
    if truth is not None:
        table["labelled"] = truth[rows.index].notna().groupby(period).sum()
        codes = np.full(int(jobs["completed"].sum()), -1, np.int64)
        codes[keep[jobs["completed"].to_numpy(bool)]] = pd.PeriodIndex(table.index).get_indexer(
            pd.PeriodIndex(period)
        )
        _accuracy_change(table, sample, correct, codes, base_mask)
    base_periods = set(period[base_mask].unique())
    table["baseline"] = [p in base_periods for p in table.index]
    eligible = (table["jobs"] >= min_jobs) & ~table["baseline"]
    # many months are many tests: Benjamini-Hochberg over the months each signal is tested in
    for _, _, p_col, _ in _SIGNALS:
        if p_col in table.columns:
            tested = eligible & table["accuracy_tested"] if p_col == "p_accuracy" else eligible
            table[f"{p_col}_bh"] = benjamini_hochberg(table[p_col].where(tested).to_numpy(float))
    flags = [_flag(row, alpha) for _, row in table.iterrows()]
    table["drift"] = [f[0] if ok else "" for f, ok in zip(flags, eligible, strict=True)]
    table["reasons"] = [f[1] if ok else "" for f, ok in zip(flags, eligible, strict=True)]
    return table.rename_axis("period")


def _shift(base: np.ndarray, actual: np.ndarray) -> tuple[float, float]:
    return psi(base, actual), chi2_homogeneity(base, actual)


def _crosstab(
    rows: np.ndarray,
    columns: np.ndarray,
    n_rows: int,
    n_columns: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Counts of each (row, column) pair of codes, as an ``(n_rows, n_columns)`` array: a
    bincount, where ``pd.crosstab`` would hash every value again (``weights``: jobs per row)."""
    flat = np.bincount(rows * n_columns + columns, weights=weights, minlength=n_rows * n_columns)
    if weights is not None:
        flat = flat.astype(np.int64)
    counts: np.ndarray = flat.reshape(n_rows, n_columns)
    return counts


def _weighted_periods(
    period: pd.Series,
    conf: pd.Series,
    no_match: pd.Series,
    weights: np.ndarray,
    threshold: float,
    freq: str,
    baseline: object,
) -> pd.DataFrame:
    """``drift``'s per-period columns from weighted rows (a frame counted in cells: its
    rows keep the day of their jobs, so periods of a day or longer)."""
    one = pd.Period("2026-01-01", freq=freq)
    if one.end_time - one.start_time < pd.Timedelta(hours=23):  # hours, minutes ...
        msg = f"drift of jobs counted in cells needs periods of a day or more, not {freq!r}"
        raise ValueError(msg)
    if isinstance(baseline, tuple):
        msg = (
            "drift of jobs counted in cells takes a baseline period (e.g. '2026-01'), not a "
            "(start, end) pair: the cells keep the day of each job, not its time"
        )
        raise TypeError(msg)
    values = conf.to_numpy(float)
    match = no_match.to_numpy(bool)
    records = {}
    for name, at in pd.Series(np.arange(len(period))).groupby(period.to_numpy()).groups.items():
        where = np.asarray(at)
        c, w = values[where], weights[where]
        known = ~np.isnan(c)
        total = float(w[known].sum())
        records[name] = {
            "jobs": int(w.sum()),
            "confidence_mean": float((c[known] * w[known]).sum() / total) if total else np.nan,
            "confidence_median": median(c, w),
            "below_threshold": float(w[known & (c < threshold)].sum() / total) if total else np.nan,
            "no_match_rate": float(w[match[where]].sum() / w.sum()),
        }
    table = pd.DataFrame.from_dict(records, orient="index")
    table.index = pd.PeriodIndex(table.index)
    return table.sort_index()


def _confidence_shift(
    table: pd.DataFrame,
    at: np.ndarray,
    values: np.ndarray,
    base_mask: np.ndarray,
    weights: np.ndarray | None = None,
) -> None:
    """PSI and chi-squared p of the confidence histogram, and KS, per period (in place;
    ``at``: each job's row of ``table``).

    Bins are the baseline's distinct values when few (ties), else its deciles."""
    has = ~np.isnan(values)
    base_values = values[base_mask & has]
    columns = ["psi_confidence", "p_confidence", "ks_statistic", "ks_pvalue"]
    if len(base_values) == 0:
        for column in columns:
            table[column] = math.nan
        return
    strategy = resolve_bins(base_values, "auto")
    strategy = "quantile" if strategy == "uniform" else strategy
    if weights is not None:
        _weighted_confidence_shift(table, at, values, base_mask, weights, strategy)
        return
    ids = bin_index(values[has], strategy, 10, reference=base_values)[0]
    size = int(ids.max()) + 1
    counts = _crosstab(at[has], ids, len(table), size)
    base_counts = np.bincount(ids[base_mask[has]], minlength=size)
    # each period's values in one sort, not one scan of every job per period
    where = at[has]
    order = np.argsort(where, kind="stable")
    ends = np.searchsorted(where[order], np.arange(len(table) + 1))
    grouped = values[has][order]
    table[columns] = [
        (
            *_shift(base_counts, counts[i]),
            *ks_2samp(base_values, grouped[ends[i] : ends[i + 1]]),
        )
        for i in range(len(table))
    ]


def _weighted_confidence_shift(
    table: pd.DataFrame,
    at: np.ndarray,
    values: np.ndarray,
    base_mask: np.ndarray,
    weights: np.ndarray,
    strategy: BinStrategy,
) -> None:
    """:func:`_confidence_shift` from weighted rows: the same bins (deciles of the expanded
    baseline), counts and KS statistic of the expanded values."""
    has = ~np.isnan(values)
    base = base_mask & has
    if strategy == "quantile":
        edges = np.asarray(
            numpy_percentiles(values[base], weights[base], list(np.linspace(0, 100, 11)))
        )
        ids = np.searchsorted(edges[1:-1], values[has])
    else:
        ids = bin_index(values[has], strategy, 10, reference=values[base])[0]
    size = int(ids.max()) + 1
    w = weights[has]
    counts = _crosstab(at[has], ids, len(table), size, w)
    base_counts = np.bincount(ids[base[has]], weights=w[base[has]], minlength=size)
    base_counts = base_counts.astype(np.int64)
    pooled = np.unique(values[has])
    base_cdf = _cumulative(values[base], weights[base], pooled)
    out = []
    for i in range(len(table)):
        mine = has & (at == i)
        cdf = _cumulative(values[mine], weights[mine], pooled)
        out.append((*_shift(base_counts, counts[i]), *_ks(base_cdf, cdf)))
    table[["psi_confidence", "p_confidence", "ks_statistic", "ks_pvalue"]] = out


def _cumulative(values: np.ndarray, weights: np.ndarray, at: np.ndarray) -> tuple[np.ndarray, int]:
    """The jobs at or below each of ``at``, and their number."""
    order = np.argsort(values, kind="stable")
    sums = np.cumsum(weights[order])
    index = np.searchsorted(values[order], at, side="right")
    below = np.where(index > 0, sums[np.maximum(index - 1, 0)], 0) if len(sums) else 0 * index
    return np.asarray(below, np.int64), int(sums[-1]) if len(sums) else 0


def _ks(base: tuple[np.ndarray, int], other: tuple[np.ndarray, int]) -> tuple[float, float]:
    """:func:`._stats.ks_2samp` from the two samples' cumulative counts at the pooled values."""
    (cum_a, n), (cum_b, m) = base, other
    if n == 0 or m == 0:
        return math.nan, math.nan
    d = float(np.max(np.abs(cum_a / n - cum_b / m)))
    return d, kolmogorov_sf(math.sqrt(n * m / (n + m)) * d)


def _accuracy_change(
    table: pd.DataFrame,
    sample: LabelledSample | None,
    correct: np.ndarray | None,
    codes: np.ndarray,
    base_mask: np.ndarray,
) -> None:
    """Design-weighted accuracy per period (``codes``: each completed job's period, -1 none)
    and its change against the baseline's, with a z-test p-value (in place)."""
    g = len(table)
    if sample is None or correct is None:
        for column in (
            "accuracy",
            "accuracy_lo",
            "accuracy_hi",
            "accuracy_change",
            "accuracy_change_lo",
            "accuracy_change_hi",
            "p_accuracy",
        ):
            table[column] = math.nan
        table["accuracy_labels"] = 0
        table["accuracy_sample"] = "not a random sample"
        table["accuracy_tested"] = False
        table["baseline_labels"] = 0
        return
    cells = cell_counts(sample, codes, g, correct)
    out = combine(*cells)
    process = combine(*cells, finite=False)
    base_codes = np.full(len(codes), -1, np.int64)
    base_codes[codes >= 0] = np.where(base_mask, 0, -1)
    base = combine(*cell_counts(sample, base_codes, 1, correct), finite=False)
    table["accuracy"] = out["estimate"]
    table["accuracy_lo"] = out["low"]
    table["accuracy_hi"] = out["high"]
    table["accuracy_labels"] = out["labels"]
    table["accuracy_sample"] = sample.kind
    b = (float(base["estimate"][0]), float(base["var"][0]), float(base["n_eff"][0]))
    tests = [
        difference(float(e), float(v), float(n), *b)
        for e, v, n in zip(process["estimate"], process["var"], process["n_eff"], strict=True)
    ]
    table[["accuracy_change", "accuracy_change_lo", "accuracy_change_hi", "p_accuracy"]] = tests
    # the evidence rule: a month's accuracy is compared from enough labels on both sides
    enough = int(base["labels"][0]) >= MIN_GROUP_LABELS
    table["accuracy_tested"] = enough & (out["labels"] >= MIN_GROUP_LABELS)
    table["baseline_labels"] = int(base["labels"][0])


def _rate_change(
    table: pd.DataFrame,
    name: str,
    hits: pd.Series,
    period: pd.Series,
    base_mask: np.ndarray,
    weights: np.ndarray | None = None,
) -> None:
    """Change of a rate against the baseline and its two-proportion p-value (in place)."""
    valid = hits.notna().to_numpy(bool)
    values = hits.to_numpy(float, na_value=np.nan)
    if weights is not None:
        values, valid_w = values * weights, valid * weights
        k0, n0 = float(np.nansum(values[base_mask & valid])), float(valid_w[base_mask].sum())
        k = pd.Series(np.where(valid, values, 0.0), index=hits.index).groupby(period).sum()
        n = pd.Series(valid_w, index=hits.index).groupby(period).sum()
    else:
        k0, n0 = float(np.nansum(values[base_mask & valid])), float((base_mask & valid).sum())
        k = pd.Series(np.where(valid, values, 0.0), index=hits.index).groupby(period).sum()
        n = pd.Series(valid, index=hits.index).groupby(period).sum()
    table[f"{name}_change"] = k / n.where(n > 0) - (k0 / n0 if n0 else math.nan)
    table[f"p_{name}"] = [
        two_proportion_pvalue(k0, n0, float(k[p]), float(n[p])) for p in table.index
    ]


_SIGNALS = (
    ("confidence", "psi_confidence", "p_confidence", "PSI"),
    ("type mix", "psi_type", "p_type", "PSI"),
    ("no-match rate", "no_match_change", "p_no_match", "rate"),
    ("accuracy", "accuracy_change", "p_accuracy", "rate"),
)


def _flag(row: pd.Series, alpha: float) -> tuple[str, str]:
    """Severity and reasons of one period (see :func:`drift`)."""
    severity, reasons = "", []
    for label, value_col, p_col, kind in _SIGNALS:
        if value_col not in row or not row[f"{p_col}_bh"] < alpha:
            continue
        value = float(row[value_col])
        size = abs(value) if kind == "rate" else value
        moderate, major = (0.05, 0.10) if kind == "rate" else (PSI_MODERATE, PSI_MAJOR)
        if not size >= moderate:
            continue
        if label == "accuracy":  # a labelled figure: its interval and the labels behind it
            reasons.append(
                f"accuracy {value * 100:+.1f} pts (95% CI {row['accuracy_change_lo'] * 100:+.1f} "
                f"to {row['accuracy_change_hi'] * 100:+.1f}; {int(row['accuracy_labels'])} labels "
                f"against {int(row['baseline_labels'])} in the baseline)"
            )
        else:
            reasons.append(
                f"{label} PSI {value:.2f}" if kind == "PSI" else f"{label} {value * 100:+.1f} pts"
            )
        severity = "major" if size >= major or severity == "major" else "moderate"
    return severity, "; ".join(reasons)


def _baseline_mask(
    created: pd.Series, period: pd.Series, baseline: object, jobs: pd.Series, min_jobs: int
) -> np.ndarray:
    if baseline is None:
        enough = np.flatnonzero(jobs.cumsum().to_numpy() >= min_jobs)
        last = jobs.index[enough[0]] if len(enough) else jobs.index[-1]
        return np.asarray(period <= last, dtype=bool)
    if isinstance(baseline, tuple) and len(baseline) == 2:
        start = pd.Timestamp(baseline[0], tz="UTC") if baseline[0] is not None else None
        end = pd.Timestamp(baseline[1], tz="UTC") if baseline[1] is not None else None
        mask = pd.Series(True, index=created.index)
        if start is not None:
            mask &= created >= start
        if end is not None:
            mask &= created <= end
        result = np.asarray(mask, dtype=bool)
    else:
        try:
            wanted = pd.Period(baseline, freq=period.dt.freq)  # type: ignore[arg-type]
        except (ValueError, TypeError) as exc:
            msg = f"baseline must be a period like '2026-01' or a (start, end) pair: {exc}"
            raise ValueError(msg) from None
        result = (period == wanted).to_numpy(bool)
    if not result.any():
        msg = f"the baseline {baseline!r} holds no completed job"
        raise ValueError(msg)
    return result
