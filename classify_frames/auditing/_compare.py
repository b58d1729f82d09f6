"""Compare two classifications of the same documents: before and after new rules.

>>> comparison = cf.compare(sample, after, labels="labels.csv")  # doctest: +SKIP
>>> comparison.agreement, comparison.flips, comparison.by_type    # doctest: +SKIP
>>> comparison.accuracy.difference_ci, comparison.accuracy.mcnemar_p  # doctest: +SKIP

Pairs are matched by ``source_id`` (the column :func:`.reclassify` writes) to the ``id`` of the
jobs before; only pairs whose two jobs completed are compared, and the others are counted.
With labels, each side's accuracy is judged on the same labelled documents, so their
difference gets a paired interval (Tango's) and McNemar's exact test (see :mod:`._paired`).
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from statistics import NormalDist

import numpy as np
import pandas as pd

from .._exceptions import AuditWarning, Call, ConfigurationError, Opt, Parts
from ._design import nonresponse, sample_from_labels, stored_sample
from ._labels import _read, read_labels
from ._paired import PairedResult, mcnemar_exact, paired_accuracy
from ._prepare import NO_MATCH, prepare
from ._sample import LabelledSample, bounded, cell_counts, share

__all__ = ["Comparison", "compare"]

LabelsInput = pd.DataFrame | str | os.PathLike[str]
# The audit's review queues write design.weight / design.inclusion_probability
_WEIGHT_COLUMNS = (
    "design.weight",
    "weight",
    "design.inclusion_probability",
    "inclusion_probability",
)


def _types(frame: pd.DataFrame) -> pd.DataFrame:
    """id-like key, completed flag, predicted type (NO_MATCH for none) and confidence."""
    status = frame["status"].astype("string") if "status" in frame else pd.Series("COMPLETED")
    ok = status.eq("COMPLETED").fillna(False).to_numpy(bool)
    if "fetch_error" in frame:
        ok &= frame["fetch_error"].isna().to_numpy(bool)
    n = len(frame)
    if "result.type" in frame:
        kinds = frame["result.type"].astype("string").fillna(NO_MATCH).to_numpy(dtype=object)
    else:
        kinds = np.full(n, NO_MATCH, dtype=object)
    if "result.confidence" in frame:
        confidence = pd.to_numeric(frame["result.confidence"], errors="coerce").to_numpy(float)
    else:
        confidence = np.full(n, np.nan)
    return pd.DataFrame(
        {
            "completed": ok,
            "type": pd.Series(kinds, index=frame.index).where(ok, None).to_numpy(dtype=object),
            "confidence": np.where(ok, confidence, np.nan),
        },
        index=frame.index,
    )


def compare(
    before: pd.DataFrame,
    after: pd.DataFrame,
    labels: LabelsInput | None = None,
    *,
    label_col: str = "label",
    join_on: str = "id",
    population: pd.DataFrame | None = None,
) -> Comparison:
    """Pair ``after`` (from :func:`.reclassify`) with ``before`` by ``source_id`` and compare.

    ``before`` is the jobs re-run (paired on their ``id``), or another experiment's frame on
    the same jobs (paired on its ``source_id`` too). Each document counts once: repeated
    ``after`` rows of one ``source_id`` (two runs concatenated, say) are dropped, keeping the
    last, with a warning.

    ``labels`` (a frame or CSV/Parquet file, joined on the before jobs' ``id`` or, with
    ``join_on="file_input"``, on the documents) adds each side's accuracy, their
    paired difference with a 95% interval, McNemar's exact test and the change in calibration.
    Labels from the audit's review queue of ``before`` (``report.review_queue(strategy=
    "stratified")``, its design columns kept) get the audit's design-aware handling: both
    accuracies are population shares of the jobs the queue was drawn from (post-stratified,
    Wilson intervals at the effective size), and the paired difference a post-stratified mean
    of the per-document difference with a normal interval (Cochran 5.A, finite-population
    correction). The stratum sizes are the population's, never ``before``'s (a labelled sample
    passed as ``before`` would make every stratum look fully labelled): those of
    ``population`` (the frame the queue was drawn from) when given, else those the queue's
    design stored; the findings say which. Otherwise a labels column ``weight`` (or
    ``inclusion_probability``) is used as weights.
    """
    for name, frame in (("before", before), ("after", after)):
        if not isinstance(frame, pd.DataFrame):
            msg = f"{name} must be a DataFrame of jobs, got {type(frame).__name__}"
            raise TypeError(msg)
    if "source_id" not in after.columns:
        told: Parts = ["pass the jobs from ", Call("reclassify"), " (its source_id names the "
                       "job each row re-ran)"]  # fmt: skip
        raise ConfigurationError([Opt("after"), " has no 'source_id' column"], hint=told)
    # Two experiments on the same sample pair by their common source; else before is the source.
    key = "source_id" if "source_id" in before.columns else "id"
    if key not in before.columns:
        hint: Parts = ["pass jobs from ", Call("fetch_jobs"), " or ", Call("list_jobs")]
        raise ConfigurationError([Opt("before"), " has no 'id' column"], hint=hint)
    old = before[before[key].notna()].drop_duplicates(key, keep="last")
    mine = _types(old).set_axis(old[key].astype(object).to_numpy())
    repeated = int(before[key].notna().sum()) - len(old)
    if repeated:
        msg = f"{repeated} row(s) of before repeat a {key}: each document counted once (the last)"
        warnings.warn(msg, AuditWarning, stacklevel=2)
    after = _once(after)
    theirs = _types(after)
    source = after["source_id"].astype(object).to_numpy()
    known = np.array([s in mine.index for s in source], dtype=bool)
    matched = mine.reindex(source[known])
    both = matched["completed"].to_numpy(bool) & theirs["completed"].to_numpy(bool)[known]
    pairs = pd.DataFrame(
        {
            "source_id": source[known][both],
            "before": matched["type"].to_numpy()[both],
            "after": theirs["type"].to_numpy()[known][both],
            "before_confidence": matched["confidence"].to_numpy()[both],
            "after_confidence": theirs["confidence"].to_numpy()[known][both],
        }
    )
    documents = None
    if join_on in ("file_input", "document_input_value") and "file_input" in old.columns:
        documents = old.set_index(old[key].astype(object))["file_input"]
    truth, weights = _labels_for(pairs["source_id"], labels, label_col, join_on, documents)
    pairs["label"] = truth
    designed, strata, unlabelled = None, "", None
    if labels is not None:  # the audit's design, when the labels carry one, before weights
        after_type = dict(zip(pairs["source_id"], pairs["after"], strict=True))
        found = _design_accuracy(before, after_type, labels, label_col, join_on, population)
        if found is not None:
            designed, strata, unlabelled = found
    return Comparison(
        pairs=pairs,
        weights=weights,
        designed=designed,
        strata=strata,
        unlabelled=unlabelled,
        rows=len(after),
        unmatched=int((~known).sum()),
        incomplete=int(known.sum() - both.sum()),
        labelled_input=labels is not None,
    )


def _once(after: pd.DataFrame) -> pd.DataFrame:
    """``after`` with one row per ``source_id`` (the last), warning how many were dropped:
    a document counted twice would double its weight in every figure and test."""
    has = after["source_id"].notna()
    dropped = after[has].duplicated("source_id", keep="last")
    if not dropped.any():
        return after
    msg = (
        f"{int(dropped.sum())} row(s) of after repeat a source_id (the same document re-run "
        "twice, or a frame concatenated with itself): each document is counted once, the "
        "last row kept"
    )
    warnings.warn(msg, AuditWarning, stacklevel=3)
    keep = ~has.to_numpy(bool)
    keep[np.flatnonzero(has.to_numpy(bool))[~dropped.to_numpy(bool)]] = True
    return after[keep]


def _labels_for(
    source_ids: pd.Series,
    labels: LabelsInput | None,
    label_col: str,
    join_on: str,
    documents: pd.Series | None,
) -> tuple[np.ndarray, np.ndarray | None]:
    n = len(source_ids)
    if labels is None:
        return np.full(n, None, dtype=object), None
    table = read_labels(labels, label_col=label_col, join_on=join_on)
    by_key = dict(zip(table["key"].astype(object), table["label"].astype(object), strict=True))
    keys = source_ids.to_numpy(dtype=object)
    if documents is not None:
        keys = documents.reindex(keys).to_numpy(dtype=object)
    truth = np.array([by_key.get(k) for k in keys], dtype=object)
    # The seam for sampling designs: weights travel with the labels, one per labelled key.
    raw = _read(labels)
    column = next((c for c in _WEIGHT_COLUMNS if c in raw.columns), None)
    if column is None:
        return truth, None
    values = pd.to_numeric(raw[column], errors="coerce")
    if column.endswith("inclusion_probability"):
        values = 1.0 / values
    weight_of = dict(zip(raw[join_on].astype(str), values, strict=True))
    weights = np.array([weight_of.get(str(k), np.nan) for k in keys], dtype=float)
    return truth, weights


def _design_accuracy(
    before: pd.DataFrame,
    after_type: dict[object, object],
    labels: LabelsInput,
    label_col: str,
    join_on: str,
    population: pd.DataFrame | None,
) -> tuple[PairedResult, str, Unlabelled | None] | None:
    """The audit's design-aware estimates, when the labels carry a stratified design: accuracy
    before and after as population shares of the jobs the queue was drawn from, and their
    paired difference (a [-1, 1] outcome per document) with a normal interval from the
    stratified variance; where the stratum sizes came from; and the documents drawn but not
    labelled, with bounds of the difference that hold whatever their labels. None
    otherwise."""
    if "source_id" in before.columns:
        return None  # two experiments: the types before are another run's, keyed apart
    table = _read(labels)
    if "design.id" not in table.columns:
        return None  # no design travelled with these labels
    found = _population_sample(table, label_col, join_on, population)
    if found is None:
        return None
    sample, keys, label, strata = found
    old = before[before["id"].notna()].drop_duplicates("id", keep="last")
    column = "id" if join_on == "id" else "document_input_value"
    if column not in old.columns:
        return None
    said = _types(old)
    before_type = dict(zip(old[column].astype(object), said["type"], strict=True))
    source_of = dict(zip(old[column].astype(object), old["id"].astype(object), strict=True))
    said_before = np.array([before_type.get(k) for k in keys], dtype=object)
    said_after = np.array([after_type.get(source_of.get(k)) for k in keys], dtype=object)
    paired = np.array(
        [a is not None and b is not None for a, b in zip(said_before, said_after, strict=True)],
        dtype=bool,
    )
    if not paired.any():
        return None
    right_before = np.where(paired, said_before == label, np.nan).astype(float)
    right_after = np.where(paired, said_after == label, np.nan).astype(float)
    before_share, after_share = share(sample, right_before), share(sample, right_after)
    groups = np.zeros(len(sample.population), np.int64)
    estimate, variance, n_eff = _stratified_difference(
        *cell_counts(sample, groups, 1, right_after - right_before)
    )
    half = NormalDist().inv_cdf(0.975) * math.sqrt(variance)
    b = int(((right_before == 1) & (right_after == 0)).sum())
    c = int(((right_before == 0) & (right_after == 1)).sum())
    result = PairedResult(
        n=int(paired.sum()),
        n_effective=n_eff,
        before=before_share.estimate,
        before_ci=(before_share.low, before_share.high),
        after=after_share.estimate,
        after_ci=(after_share.low, after_share.high),
        difference=estimate,
        difference_ci=(max(-1.0, estimate - half), min(1.0, estimate + half)),
        right_before_only=b,
        right_after_only=c,
        mcnemar_p=mcnemar_exact(b, c),
        weighted=True,
    )
    return result, strata, _unlabelled(sample, right_after - right_before)


@dataclass(frozen=True)
class Unlabelled:
    """Documents the queue drew that have no label, and the paired difference's bounds that
    hold whatever their labels are (each counted as -1, then +1: Manski's bounds), with the
    95% range from the lower bound's low end to the upper bound's high end."""

    documents: int
    drawn: int
    low: float
    high: float
    range_95: tuple[float, float]


def _unlabelled(sample: LabelledSample, difference: np.ndarray) -> Unlabelled | None:
    """The nonresponse of ``sample`` and the bounds of the paired ``difference`` (one per
    labelled row, NaN where the pair is incomplete); warned. None without nonresponse."""
    missing = len(sample.missing)
    if not missing:
        return None
    z = NormalDist().inv_cdf(0.975)
    groups = np.zeros(len(sample.population), np.int64)
    ends = []
    for value in (-1.0, 1.0):
        widened, outcome = bounded(sample, difference, value)
        estimate, variance, _ = _stratified_difference(*cell_counts(widened, groups, 1, outcome))
        ends.append((estimate, estimate + value * z * math.sqrt(variance)))
    (low, low_end), (high, high_end) = ends
    found = Unlabelled(missing, sample.drawn, low, high, (max(-1.0, low_end), min(1.0, high_end)))
    msg = (
        f"{missing} of the {sample.drawn} documents the queue drew have no label: the paired "
        "difference reads them as missing at random; whatever their labels it lies between "
        f"{low:+.1%} and {high:+.1%} (see comparison.unlabelled)"
    )
    warnings.warn(msg, AuditWarning, stacklevel=4)
    return found


def _population_sample(
    table: pd.DataFrame, label_col: str, join_on: str, population: pd.DataFrame | None
) -> tuple[LabelledSample, np.ndarray, np.ndarray, str] | None:
    """The labels' sample with the population's stratum sizes: those of ``population`` when
    given (its design must match that frame), else those the queue's design stored. Returns
    the sample, each labelled row's key and label, and where the sizes came from."""
    if population is None:
        stored = stored_sample(table, label_col=label_col, join_on=join_on)
        if stored is None:
            return None
        stored_rows, keys, label = stored
        strata = (
            f"stratum sizes from the review queue's design, {len(stored_rows.population):,} "
            "jobs when it was drawn"
        )
        return stored_rows, keys, label, strata
    jobs, _ = prepare(population)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AuditWarning)  # the audit of population says it all
        try:
            truth, sample = sample_from_labels(jobs, table, label_col=label_col, join_on=join_on)
        except ValueError:
            return None
        sample = nonresponse(jobs, table, sample, label_col=label_col, join_on=join_on)
    if sample is None or sample.kind != "stratified":
        return None
    done = jobs["completed"].to_numpy(bool)
    column = "id" if join_on == "id" else "document"
    keys = jobs.loc[done, column].astype(object).to_numpy()[sample.rows]
    label = truth[done].astype(object).to_numpy()[sample.rows]
    strata = f"stratum sizes from population=, {len(sample.population):,} completed jobs"
    return sample, keys, label, strata


def _stratified_difference(
    big_n: np.ndarray, n: np.ndarray, k: np.ndarray, q: np.ndarray
) -> tuple[float, float, float]:
    """Post-stratified mean of a [-1, 1] outcome (cells of one group), its variance with the
    finite-population correction (Cochran 5.A; a cell with one label counts the largest
    variance such an outcome has, 1), and Kish's effective sample size."""
    big_n, n, k, q = big_n[0], n[0], k[0], q[0]
    labelled = (n > 0) & (big_n > 0)
    w = np.where(labelled, big_n, 0.0)
    w = w / w.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(labelled, k / n, 0.0)
        cell_var = np.where(n > 1, (q - n * mean**2) / (n - 1), 1.0)
        fpc = np.clip(1.0 - n / np.where(big_n > 0, big_n, 1.0), 0.0, 1.0)
        terms = np.where(labelled, w**2 * np.clip(cell_var, 0.0, 1.0) / np.maximum(n, 1), 0.0)
        kish = float(1.0 / np.where(labelled, w**2 / np.maximum(n, 1), 0.0).sum())
    return float((w * mean).sum()), float((terms * fpc).sum()), kish


@dataclass(frozen=True)
class Comparison:
    """Two classifications of the same documents, paired (from :func:`compare`).

    Attributes:
        pairs: one row per pair both of whose jobs completed: ``source_id``, ``before`` and
            ``after`` types (``"no match"`` when no rule matched), both confidences, ``label``.
        rows: rows of the after frame; unmatched: rows whose ``source_id`` is not in before;
        incomplete: matched pairs where a job did not complete (failed, not fetched ...).
        designed: the audit's design-aware estimates, when the labels carry a stratified
            design; strata: where their stratum sizes came from (the queue's stored design,
            or ``population=``), as the findings say it.
    """

    pairs: pd.DataFrame
    weights: np.ndarray | None
    rows: int
    unmatched: int
    incomplete: int
    labelled_input: bool
    designed: PairedResult | None = None  # the audit's design-aware estimates, when they apply
    strata: str = ""  # where the design-aware estimates' stratum sizes came from
    unlabelled: Unlabelled | None = None  # documents drawn but not labelled, and the bounds

    def __repr__(self) -> str:
        return "Comparison(" + "; ".join(self.findings) + ")"

    @property
    def n(self) -> int:
        """Pairs compared."""
        return len(self.pairs)

    @property
    def agreement(self) -> float:
        """Share of pairs with the same type before and after (no match counts as a type)."""
        if not self.n:
            return float("nan")
        return float((self.pairs["before"] == self.pairs["after"]).mean())

    @cached_property
    def flips(self) -> pd.DataFrame:
        """Crosstab of pairs: type before (rows) by type after (columns)."""
        table = pd.crosstab(
            self.pairs["before"].rename("before"), self.pairs["after"].rename("after")
        )
        order = _order(set(table.index) | set(table.columns))
        return table.reindex(index=order, columns=order, fill_value=0)

    @cached_property
    def by_type(self) -> pd.DataFrame:
        """Per type: jobs before and after, gained, lost and net; with labels, each side's
        recall (share of that type's labelled documents given it) and the label count."""
        p = self.pairs
        order = _order(set(p["before"]) | set(p["after"]))
        rows = []
        for kind in order:
            was, now = p["before"] == kind, p["after"] == kind
            row: dict[str, object] = {
                "type": kind,
                "before": int(was.sum()),
                "after": int(now.sum()),
                "gained": int((now & ~was).sum()),
                "lost": int((was & ~now).sum()),
            }
            row["net"] = row["after"] - row["before"]  # type: ignore[operator]
            if self._has_labels:
                truly = p["label"] == kind
                k = int(truly.sum())
                row["labelled"] = k
                row["recall_before"] = float((was & truly).sum() / k) if k else float("nan")
                row["recall_after"] = float((now & truly).sum() / k) if k else float("nan")
            rows.append(row)
        return pd.DataFrame(rows).set_index("type") if rows else pd.DataFrame()

    @cached_property
    def no_match(self) -> pd.DataFrame:
        """Pairs that left or entered "no match", and those that stayed there."""
        was, now = self.pairs["before"] == NO_MATCH, self.pairs["after"] == NO_MATCH
        return pd.DataFrame(
            {"pairs": [int((~was & now).sum()), int((was & ~now).sum()), int((was & now).sum())]},
            index=pd.Index(["became no match", "no match became a type", "stayed no match"]),
        )

    @property
    def _has_labels(self) -> bool:
        return bool(self.pairs["label"].notna().any())

    @cached_property
    def _labelled(self) -> pd.DataFrame:
        keep = self.pairs["label"].notna().to_numpy(bool)
        if self.weights is not None:
            keep = keep & np.isfinite(self.weights) & (self.weights > 0)
        return self.pairs[keep]

    @cached_property
    def accuracy(self) -> PairedResult | None:
        """Accuracy before and after on the labelled pairs, the paired difference (after minus
        before) with Tango's 95% interval, and McNemar's exact p-value; None without labels."""
        if self.designed is not None:
            return self.designed
        rows = self._labelled
        if rows.empty:
            return None
        right_before = (rows["before"] == rows["label"]).to_numpy(bool)
        right_after = (rows["after"] == rows["label"]).to_numpy(bool)
        weights = None
        if self.weights is not None:
            keep = self.pairs["label"].notna().to_numpy(bool)
            w = self.weights[keep]
            weights = w[np.isfinite(w) & (w > 0)]
        return paired_accuracy(right_before, right_after, weights)

    @cached_property
    def calibration(self) -> pd.DataFrame | None:
        """Before, after and change: accuracy, mean stated confidence, the gap between them,
        ECE (one bin per distinct confidence value) and Brier score, on the labelled pairs."""
        rows = self._labelled
        if rows.empty:
            return None
        out = {}
        for side in ("before", "after"):
            right = (rows[side] == rows["label"]).to_numpy(float)
            conf = rows[f"{side}_confidence"].to_numpy(float)
            ok = np.isfinite(conf)
            right, conf = right[ok], conf[ok]
            gaps = pd.DataFrame({"c": conf, "y": right}).groupby("c")["y"].agg(["mean", "size"])
            ece = float((gaps["size"] * (gaps.index.to_numpy() - gaps["mean"]).abs()).sum())
            out[side] = {
                "labelled": int(ok.sum()),
                "accuracy": float(right.mean()) if ok.any() else float("nan"),
                "mean_confidence": float(conf.mean()) if ok.any() else float("nan"),
                "overconfidence": float(conf.mean() - right.mean()) if ok.any() else float("nan"),
                "ece": ece / max(1, int(ok.sum())),
                "brier": float(((conf - right) ** 2).mean()) if ok.any() else float("nan"),
            }
        table = pd.DataFrame(out).T
        change = table.loc["after"] - table.loc["before"]
        change["labelled"] = float("nan")
        table.loc["change"] = change
        return table

    @cached_property
    def findings(self) -> list[str]:
        """What the comparison says, in plain words with numbers."""
        if not self.n:
            return [f"No pair to compare: none of the {self.rows} rows completed on both sides."]
        lines = [
            f"{self.n:,} documents compared: {self.agreement:.0%} have the same type under "
            f"both rule sets, {round((1 - self.agreement) * self.n):,} changed."
        ]
        if self.unmatched or self.incomplete:
            lines.append(
                f"Left out: {self.incomplete:,} pair(s) where a job did not complete, "
                f"{self.unmatched:,} row(s) whose source job is not in the frame before."
            )
        nm = [int(v) for v in self.no_match["pairs"]]
        lines.append(
            f"No match: {nm[0]:,} became no match, {nm[1]:,} found a type, "
            f"{nm[2]:,} stayed unmatched."
        )
        acc = self.accuracy
        if acc is not None:
            lo, hi = acc.difference_ci
            weighted = (
                f" (design-weighted; {self.strata})"
                if self.designed is not None
                else " (weighted)"
                if acc.weighted
                else ""
            )
            verdict = (
                "better" if lo > 0 else "worse" if hi < 0 else "not distinguishable from before"
            )
            lines.append(
                f"From {acc.n:,} labelled documents{weighted}: accuracy {acc.before:.1%} before, "
                f"{acc.after:.1%} after; difference {acc.difference:+.1%} (95% CI "
                f"{lo:+.1%} to {hi:+.1%}): {verdict}. McNemar exact p = {acc.mcnemar_p:.3g} "
                f"({acc.right_after_only} fixed, {acc.right_before_only} broken)."
            )
            gone = self.unlabelled
            if gone is not None:
                lo_end, hi_end = gone.range_95
                lines.append(
                    f"{gone.documents:,} of the {gone.drawn:,} documents the queue drew have no "
                    "label: the difference above reads them as missing at random. Whatever "
                    f"their labels, it lies between {gone.low:+.1%} and {gone.high:+.1%} "
                    f"(95% range {lo_end:+.1%} to {hi_end:+.1%}; Manski bounds)."
                )
            cal = self.calibration
            if cal is not None:
                ece, brier = cal["ece"].astype(float), cal["brier"].astype(float)
                lines.append(
                    f"Calibration: ECE {ece['before']:.3f} → {ece['after']:.3f}, "
                    f"Brier {brier['before']:.3f} → {brier['after']:.3f}."
                )
        elif self.labelled_input:
            lines.append("None of the labels matches a compared pair: no accuracy to report.")
        return lines

    def to_html_section(self, anchor: str = "experiment") -> str:
        """This comparison as one ``<section>`` of HTML with its stylesheet, written like the
        audit's report (``report.to_html(path, comparisons=[comparison])`` puts it there)."""
        from ._comparison_page import comparison_html

        return comparison_html(self, anchor)

    def _repr_html_(self) -> str:
        return self.to_html_section()


def _order(types: set[object]) -> list[str]:
    names = sorted(str(t) for t in types if t is not None and t != NO_MATCH)
    return names + ([NO_MATCH] if NO_MATCH in types else [])
