"""Sampling designs that travel with the labels.

A review queue carries its design in plain columns (they survive a CSV or spreadsheet round
trip): ``design.id`` (one per queue), ``design.strategy``, ``design.stratum``, ``design.bands``,
``design.stratum_size`` (jobs the stratum's draw was made from), ``design.stratum_sample`` (jobs
drawn), ``design.inclusion_probability``, ``design.weight`` and ``design.population`` (completed
jobs of the frame), ``design.check``, a checksum of the row's other design columns, so a
hand edit is detected even in a file that keeps only the labelled rows, and ``design.frame``, a
fingerprint of the frame's completed jobs (see :func:`frame_fingerprint`), so labels drawn on
another frame are recognised.

:func:`labelled_sample` reads the design back and decides which labels are a random sample:

- rows of a ``stratified/...`` design whose checksum holds: stratified random sample;
- rows of a ``lowest`` or ``margin`` queue: chosen, not drawn; never used for population figures;
- rows with no design (or an edited one): a simple random sample only if their type mix and
  confidence mix match the frame's (chi-squared test, p >= 0.01); otherwise the figures are
  computed but marked, and no threshold is certified;
- rows of a stratified design drawn on another frame (its fingerprint, or else its count of
  completed jobs, differs from this frame's): kind ``"other frame"``, figures marked, no
  threshold certified: they are a random sample of that frame, not of this one.

:func:`nonresponse` finds the jobs a stratified queue drew that came back without a label.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import replace
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._exceptions import AuditWarning, Opt, Parts, Sentence
from ._advice import STRATIFIED
from ._labels import LabelsInput, _read, join_labelled, read_labels
from ._sample import LabelledSample, stratum_names
from ._stats import chi2_sf

__all__ = [
    "DESIGN_COLUMNS",
    "Allocation",
    "allocate",
    "design_columns",
    "frame_fingerprint",
    "labelled_sample",
    "nonresponse",
    "sample_from_labels",
    "stored_sample",
]

Allocation = Literal["equal", "proportional", "neyman"]

DESIGN_COLUMNS = [
    "design.id",
    "design.strategy",
    "design.stratum",
    "design.bands",
    "design.stratum_size",
    "design.stratum_sample",
    "design.inclusion_probability",
    "design.weight",
    "design.population",
    "design.check",
    "design.frame",
]
#: Where a frame counted in cells keeps the fingerprint its engine computed.
FRAME_ATTR = "classify_frames.frame_fingerprint"
#: A design-less sample whose type or confidence mix differs from the frame's at this level is
#: not taken for a random one.
MIX_ALPHA = 0.01


def _checksum(*parts: object) -> str:
    return hashlib.sha256(json.dumps([str(p) for p in parts]).encode()).hexdigest()[:12]


def _row_check(
    design_id: object, strategy: object, stratum: object, bands: object, *counts: float
) -> str:
    """The checksum of one row's design (counts as integers, so a CSV round trip keeps it)."""
    numbers = ["" if math.isnan(c) else int(c) for c in counts]
    return _checksum(design_id, strategy, stratum, bands, *numbers)[:8]


def _bands_text(bands: tuple[float, ...]) -> str:
    return ";".join(f"{b:g}" for b in sorted(bands))


def frame_fingerprint(jobs: pd.DataFrame) -> str:
    """A fingerprint of a prepared frame's completed jobs: their number, then a digest of
    their smallest and largest id (Arrow's min/max, fast on millions of ids). It does not
    depend on row order; a frame with other jobs differs in one of the three (a subset, a
    superset or another fetch) unless it has as many jobs and the same first and last id.

    >>> jobs = pd.DataFrame({"id": ["a", "b"], "completed": [True, True]})
    >>> frame_fingerprint(jobs) == frame_fingerprint(jobs.iloc[::-1])
    True

    A frame counted in cells (:mod:`._sources`, a ``weight`` column) holds the ids of its
    labelled jobs alone: its engine's fingerprint comes in ``jobs.attrs[FRAME_ATTR]``.
    """
    if "weight" in jobs.columns:
        return str(jobs.attrs[FRAME_ATTR])
    ids = jobs.loc[jobs["completed"].to_numpy(bool), "id"]
    ends = pc.min_max(pa.array(ids.astype(pd.StringDtype("pyarrow")), type=pa.string()))
    lowest, highest = ends["min"].as_py(), ends["max"].as_py()
    return f"{len(ids):x}-{_checksum(lowest, highest)}"


def design_columns(
    strategy: str,
    strata: pd.Series,
    pool: pd.Series,
    population: int,
    bands: tuple[float, ...] = (),
    frame: str = "",
) -> pd.DataFrame:
    """The design columns of a queue: ``strata`` the stratum of each picked job, ``pool`` the
    jobs per stratum the draw was made from (empty for a queue that was chosen, not drawn),
    ``frame`` the :func:`frame_fingerprint` of the frame drawn from."""
    drawn = strata.value_counts()
    bands_text = _bands_text(bands)
    if len(pool):
        size = strata.map(pool).astype(float)
        sample = strata.map(drawn).astype(float)
        table = sorted((str(s), int(pool[s]), int(drawn[s])) for s in drawn.index)
        stratum = strata.astype(object).astype(str)
    else:
        size = sample = pd.Series(math.nan, index=strata.index)
        table = []
        stratum = pd.Series("", index=strata.index, dtype=object)
    design_id = _checksum(strategy, bands_text, population, table, len(strata))
    check = [
        _row_check(design_id, strategy, s, bands_text, big, small, float(population))
        for s, big, small in zip(stratum, size, sample, strict=True)
    ]
    return pd.DataFrame(
        {
            "design.id": design_id,
            "design.strategy": strategy,
            "design.stratum": stratum,
            "design.bands": bands_text,
            "design.stratum_size": size.astype("Int64") if len(pool) else size,
            "design.stratum_sample": sample.astype("Int64") if len(pool) else sample,
            "design.inclusion_probability": sample / size,
            "design.weight": size / sample,
            "design.population": population,
            "design.check": check,
            "design.frame": frame,
        },
        index=strata.index,
    )


def allocate(
    budget: int, sizes: np.ndarray, spread: np.ndarray, allocation: Allocation, minimum: int = 2
) -> np.ndarray:
    """Labels per stratum for a total ``budget``: ``"proportional"`` (n_h ~ N_h) or
    ``"neyman"`` (n_h ~ N_h S_h, S_h the expected standard deviation of correctness), at least
    ``minimum`` per stratum while the budget allows it, never more than a stratum holds.

    >>> allocate(10, np.array([80, 20]), np.array([0.5, 0.5]), "proportional").tolist()
    [8, 2]
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    budget = int(min(budget, sizes.sum()))
    score = sizes * (np.asarray(spread, float) if allocation == "neyman" else 1.0)
    score = np.where(sizes > 0, np.maximum(score, 1e-9), 0.0)
    out = np.minimum(sizes, minimum if budget >= minimum * (sizes > 0).sum() else 0)
    while out.sum() < budget:
        room = out < sizes
        left = budget - out.sum()
        target = score * room / (score * room).sum() * (left + out[room].sum())
        extra = np.floor(np.maximum(target - out, 0)).astype(np.int64)
        extra = np.minimum(extra, sizes - out)
        if extra.sum() == 0:  # largest remainders, one label each
            gap = np.where(room, target - out, -np.inf)
            extra = np.zeros_like(out)
            extra[np.argsort(-gap, kind="stable")[: min(left, int(room.sum()))]] = 1
        elif extra.sum() > left:
            extra = np.floor(extra * left / extra.sum()).astype(np.int64)
            if extra.sum() == 0:
                extra[np.argmax(np.where(room, target - out, -np.inf))] = 1
        out = out + extra
    result: np.ndarray = out
    return result


def _parse_bands(text: object) -> tuple[float, ...]:
    if text is None or (isinstance(text, float) and math.isnan(text)) or str(text).strip() == "":
        return ()
    return tuple(sorted(float(part) for part in str(text).split(";") if part.strip()))


def _number(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(float)


def _valid_design(rows: pd.DataFrame) -> str:
    """Why the design columns of one design id are inconsistent ("" when they hold)."""
    text = rows[["design.id", "design.strategy", "design.stratum", "design.bands"]]
    text = text.fillna("").astype(str).apply(lambda c: c.str.strip())
    size, drawn = _number(rows["design.stratum_size"]), _number(rows["design.stratum_sample"])
    population = _number(rows["design.population"])
    checks = [
        _row_check(*t, n_big, n_small, pop)
        for t, n_big, n_small, pop in zip(
            text.itertuples(index=False, name=None), size, drawn, population, strict=True
        )
    ]
    edited = np.asarray(checks, dtype=object) != rows["design.check"].fillna("").astype(
        str
    ).str.strip().to_numpy(object)
    if edited.any():
        return f"{int(edited.sum())} rows do not match their checksum"
    if text["design.strategy"].nunique() > 1 or text["design.bands"].nunique() > 1:
        return "rows of one design name different strategies or bands"
    if len(np.unique(population)) > 1:
        return "rows of one design name different population sizes"
    if str(text["design.strategy"].iloc[0]).startswith("stratified"):
        inclusion = _number(rows["design.inclusion_probability"])
        weight = _number(rows["design.weight"])
        if np.isnan(size).any() or np.isnan(drawn).any() or (drawn < 1).any():
            return "a stratum size or sample count is missing"
        if not (
            np.allclose(inclusion, drawn / size, rtol=1e-6)
            and np.allclose(weight, size / drawn, rtol=1e-6)
        ):
            return "an inclusion probability or weight does not match its stratum's counts"
    return ""


def labelled_sample(
    jobs: pd.DataFrame, truth: pd.Series, design: pd.DataFrame | None
) -> LabelledSample | None:
    """The random sample among the labels, with its strata (see the module's docstring);
    None when no label can stand for the population (warned, saying what to do)."""
    completed = jobs["completed"].to_numpy(bool)
    has = truth.notna().to_numpy(bool)[completed]
    weights = _weights(jobs, completed)
    population = int(completed.sum()) if weights is None else int(weights.sum())
    if not has.any():
        return None
    positions = np.flatnonzero(has)
    types = jobs.loc[completed, "type"]
    conf = jobs.loc[completed, "confidence"].to_numpy(float)
    strategy = pd.Series("", index=range(len(positions)), dtype=object)
    notes: list[str | Parts] = []
    bands: set[float] = set()
    elsewhere = False
    if design is not None and "design.id" in design.columns:
        block = design[completed].iloc[positions].reset_index(drop=True)
        block = block.reindex(columns=DESIGN_COLUMNS)
        ids = block["design.id"].fillna("").astype(str).str.strip()
        for design_id, rows in block[ids != ""].groupby(ids[ids != ""]):
            kind = str(rows["design.strategy"].iloc[0])
            problem = _valid_design(rows)
            if problem:
                notes.append(
                    f"the design columns of {len(rows)} labels were edited by hand ({problem}): "
                    "they are treated as labels without a design"
                )
                continue
            strategy[rows.index] = kind
            if kind.startswith("stratified"):
                bands |= set(_parse_bands(rows["design.bands"].iloc[0]))
                other = _other_frame(rows, jobs, population)
                if other:
                    elsewhere = True
                    notes.append(
                        [
                            f"the queue {design_id} was drawn on another frame ({other}): its "
                            f"{len(rows)} labels are a random sample of that frame, not of this "
                            "one, so figures for this frame may be biased and no threshold is "
                            "certified; audit the frame the queue was drawn from, or draw a new "
                            "queue from this one (",
                            STRATIFIED,
                            ")",
                        ]
                    )
    chosen = strategy.isin(["lowest", "margin"]).to_numpy(bool)
    drawn = strategy.str.startswith("stratified").to_numpy(bool)
    if chosen.any():
        picked = ", ".join(sorted(set(strategy[chosen])))
        notes.append(
            [
                f"{int(chosen.sum())} labels come from a {picked!r} queue: they were chosen, not "
                "drawn at random, so they are left out of every population figure (accuracy, "
                "thresholds, calibration); label ",
                STRATIFIED,
                " for those",
            ]
        )
    band_tuple = tuple(sorted(bands))
    names = stratum_names(types, conf, band_tuple)
    codes, uniques = pd.factorize(names, sort=True)
    if drawn.any():
        sampled = positions[drawn]
        kind = "other frame" if elsewhere else "stratified"
        loose = ~drawn & ~chosen
        if loose.any():
            notes.append(
                f"{int(loose.sum())} labels carry no sampling design, next to a stratified "
                "queue's: they are left out of population figures"
            )
    else:
        sampled = positions[~chosen]
        if not len(sampled):
            for note in notes:
                warnings.warn(AuditWarning(note), stacklevel=4)
            return None
        kind, check = _check_random(types, conf, sampled, weights)
        if kind == "unchecked":
            notes.append(check)
    for note in notes:
        warnings.warn(AuditWarning(note), stacklevel=4)
    return LabelledSample(
        population=codes.astype(np.int64),
        rows=sampled.astype(np.int64),
        names=[str(u) for u in uniques],
        kind=kind,
        bands=band_tuple,
        notes=[Sentence(note) for note in notes],
        weights=weights,
    )


def _weights(jobs: pd.DataFrame, completed: np.ndarray) -> np.ndarray | None:
    """The jobs each completed row stands for in a frame counted in cells (None: one each)."""
    if "weight" not in jobs.columns:
        return None
    weights: np.ndarray = jobs["weight"].to_numpy(np.int64)[completed]
    return weights


def _other_frame(rows: pd.DataFrame, jobs: pd.DataFrame, population: int) -> str:
    """How a stratified design's frame differs from ``jobs`` ("" when it is the same): its
    fingerprint (queues that carry one), else its count of completed jobs."""
    stored = rows["design.frame"].dropna().astype(str).str.strip()
    stored = stored[stored != ""]
    if len(stored):
        if stored.iloc[0] != frame_fingerprint(jobs):
            then = int(str(stored.iloc[0]).split("-")[0], 16)
            return (
                f"{then:,} completed jobs there, {population:,} here"
                if then != population
                else f"the same number of completed jobs, {population:,}, but other ones"
            )
        return ""
    then = int(_number(rows["design.population"])[0])
    return f"{then:,} completed jobs there, {population:,} here" if then != population else ""


def _check_random(
    types: pd.Series, conf: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None
) -> tuple[str, str | Parts]:
    """Whether design-less labels look like a simple random sample: chi-squared tests of their
    type mix and confidence mix against the frame's (``weights``: jobs per row)."""
    if len(rows) == (len(types) if weights is None else int(weights.sum())):
        return "random", "every completed job is labelled"
    type_codes, _ = pd.factorize(types.astype(object))
    value_codes = _confidence_groups(conf, weights)
    problems = []
    for what, codes in (("type mix", type_codes), ("confidence mix", value_codes)):
        p = _mix_pvalue(codes, rows, weights)
        if p < MIX_ALPHA:
            problems.append(f"{what} (chi-squared p = {p:.2g})")
    n = len(rows)
    if problems:
        return "unchecked", [
            f"the {n} labels carry no sampling design and their {' and '.join(problems)} "
            "differs from the frame's: they do not look like a random sample, so population "
            "figures may be biased and no threshold is certified; label ",
            STRATIFIED,
            " (or with ",
            Opt("budget", ...),
            ") and pass that file back",
        ]
    return "random", (
        f"labels without a design match the frame's type and confidence mix (chi-squared "
        f"p >= {MIX_ALPHA:g}): taken as a simple random sample, post-stratified by type"
    )


def _confidence_groups(conf: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    values = np.nan_to_num(conf, nan=-1.0)
    distinct = np.unique(values)
    if len(distinct) <= 20:
        return np.asarray(np.searchsorted(distinct, values))
    if weights is not None:
        msg = (
            "labels without a design, on more than 20 distinct confidences, cannot be checked "
            "for randomness from cells (the check takes deciles of every job's confidence): "
            "label a queue from report.review_queue(strategy='stratified')"
        )
        raise ValueError(msg)
    edges = np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    return np.asarray(np.searchsorted(edges, values, side="right"))


def _mix_pvalue(codes: np.ndarray, rows: np.ndarray, weights: np.ndarray | None = None) -> float:
    """p-value of the chi-squared goodness-of-fit test of the sample's groups against the
    population's shares (``weights``: jobs per position); groups expected fewer than 5 times
    are pooled."""
    k = int(codes.max()) + 1 if len(codes) else 0
    counts = np.bincount(codes, weights=weights, minlength=k)
    share = counts / counts.sum()
    observed = np.bincount(codes[rows], minlength=k).astype(float)
    expected = share * len(rows)
    small = expected < 5
    if small.any():
        observed = np.append(observed[~small], observed[small].sum())
        expected = np.append(expected[~small], expected[small].sum())
        keep = expected > 0
        observed, expected = observed[keep], expected[keep]
    if len(expected) < 2:
        return 1.0
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    return chi2_sf(statistic, len(expected) - 1)  # scipy.stats.chisquare's p-value


def nonresponse(
    jobs: pd.DataFrame,
    labels: LabelsInput,
    sample: LabelledSample | None,
    *,
    label_col: str = "label",
    join_on: str = "id",
) -> LabelledSample | None:
    """``sample`` with the jobs its stratified queues drew but that came back without a label
    (``sample.missing``), warned with their count: the queue's rows left blank before its
    last labelled row (rows after it were not reached: a queue comes in random order, so
    labelling it from the top keeps a random sample of every stratum), and where rows were
    deleted, as many more jobs of the stratum as the labelled rows' ``design.stratum_sample``
    says were drawn (any unlabelled jobs of that stratum stand in: only their stratum
    matters to a stratum's share).

    Reviewers skip the hard cases, so these are not missing at random: the audit gives bounds
    that hold whatever their labels are (:func:`._sample.bounds`)."""
    if sample is None or sample.kind != "stratified":
        return sample
    table = _read(labels)
    if "design.strategy" not in table.columns or join_on not in table.columns:
        return sample
    if label_col not in table.columns:
        return sample
    drawn, blank, reached = _unlabelled(table, label_col)
    completed = jobs["completed"].to_numpy(bool)
    keys = jobs.loc[completed, "id" if join_on == "id" else "document"].astype(object)
    where = pd.Series(np.arange(len(keys)), index=keys.to_numpy(object))
    where = where[~where.index.duplicated()]
    wanted = table.loc[drawn & blank & reached, join_on].astype(str).str.strip()
    found = where.reindex(wanted.to_numpy(object)).dropna().to_numpy(np.int64)
    taken = np.zeros(len(sample.population), bool)
    taken[sample.rows] = True
    missing = np.unique(found[~taken[found]])
    taken[missing] = True
    # rows deleted from the file: the labelled rows still say how many their stratum drew
    seen = table.loc[drawn & ~blank]
    if "design.stratum_sample" in seen.columns and len(seen):
        per = seen.groupby(["design.id", "design.stratum"], dropna=False)["design.stratum_sample"]
        blanks = table.loc[drawn & blank].groupby(["design.id", "design.stratum"]).size()
        extra: list[np.ndarray] = []
        for (design_id, stratum), counts in per:
            deficit = (
                int(_number(counts).max()) - len(counts) - int(blanks.get((design_id, stratum), 0))
            )
            if deficit <= 0 or str(stratum) not in sample.names:
                continue
            code = sample.names.index(str(stratum))
            free = np.flatnonzero((sample.population == code) & ~taken)[:deficit]
            taken[free] = True
            extra.append(free)
        missing = np.unique(np.concatenate([missing, *extra])).astype(np.int64)
    if not len(missing):
        return sample
    share = len(missing) / (len(missing) + len(sample.rows))
    note = (
        f"{len(missing):,} of the {len(missing) + len(sample.rows):,} jobs the queue drew "
        f"have no label ({share:.0%}): reviewers who skip hard cases make the labelled ones "
        "look better than the rest, so the findings give bounds that hold whatever those "
        "labels are (all wrong, all right); label them to narrow the bounds"
    )
    warnings.warn(note, AuditWarning, stacklevel=4)
    return replace(sample, missing=missing, notes=[*sample.notes, note])


def _unlabelled(table: pd.DataFrame, label_col: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row of a queue file: drawn by a stratified design, left blank, and reached.

    Queue rows come in random order: blanks after a design's last label were not reached
    (the labels are still a random sample of each stratum); blanks before it were skipped."""
    drawn = table["design.strategy"].fillna("").astype(str).str.startswith("stratified")
    text = table[label_col].astype(object)
    blank = text.isna() | text.astype(str).str.strip().eq("")
    ids = table.get("design.id", pd.Series("", index=table.index)).fillna("").astype(str)
    position = pd.Series(np.arange(len(table)), index=table.index)
    last = position[drawn & ~blank].groupby(ids[drawn & ~blank]).max()
    reached = position <= ids.map(last).fillna(-1)
    return drawn, blank, reached


def sample_from_labels(
    jobs: pd.DataFrame, labels: LabelsInput, *, label_col: str = "label", join_on: str = "id"
) -> tuple[pd.Series, LabelledSample | None]:
    """Read labels (a file or DataFrame, with or without design columns) against a prepared
    frame: each job's label (NA where none) and the random sample among them (see
    :func:`labelled_sample` and :mod:`._sample`)."""
    truth, design = join_labelled(jobs, labels, label_col=label_col, join_on=join_on)
    return truth, labelled_sample(jobs, truth, design)


def stored_sample(
    labels: LabelsInput, *, label_col: str = "label", join_on: str = "id"
) -> tuple[LabelledSample, np.ndarray, np.ndarray] | None:
    """The labelled rows of one stratified queue as a sample of the frame it was drawn from,
    with the stratum sizes its design stored (no frame needed): the sample (its population a
    stand-in of that many jobs per stratum; the jobs drawn but left unlabelled, as its design
    counts them, in ``missing``), and each labelled row's ``join_on`` key and label. None when
    the labels carry no single, unedited stratified design."""
    table = _read(labels)
    if "design.id" not in table.columns or join_on not in table.columns:
        return None
    read = read_labels(table, label_col=label_col, join_on=join_on)
    read = read[read["design.id"].notna()].reindex(columns=[*read.columns[:2], *DESIGN_COLUMNS])
    ids = read["design.id"].astype(str).str.strip()
    if ids.nunique() != 1 or _valid_design(read):
        return None
    if not str(read["design.strategy"].iloc[0]).startswith("stratified"):
        return None
    strata = read["design.stratum"].astype(str).str.strip()
    sizes = pd.Series(_number(read["design.stratum_size"]), index=strata).groupby(level=0).max()
    names = [str(n) for n in sizes.index]
    population = np.repeat(np.arange(len(names)), sizes.to_numpy(np.int64))
    starts = np.concatenate([[0], np.cumsum(sizes.to_numpy(np.int64))[:-1]])
    code = pd.Index(names).get_indexer(pd.Index(strata))
    rank = strata.groupby(strata).cumcount().to_numpy()
    rows = (starts[code] + rank).astype(np.int64)
    # drawn but unlabelled (skipped, or deleted from the file), as the design counts them
    drawn = pd.Series(_number(read["design.stratum_sample"]), index=strata).groupby(level=0).max()
    _, blank, reached = _unlabelled(table, label_col)
    later = table.loc[
        blank & ~reached & (table["design.id"].astype(str).str.strip() == ids.iloc[0])
    ]
    unreached = later["design.stratum"].astype(str).str.strip().value_counts()
    labelled = strata.value_counts()
    missing = [
        starts[h] + int(labelled.get(name, 0)) + np.arange(max(0, int(count)))
        for h, name in enumerate(names)
        for count in [drawn[name] - labelled.get(name, 0) - unreached.get(name, 0)]
    ]
    sample = LabelledSample(
        population.astype(np.int64),
        rows,
        names,
        "stratified",
        missing=np.concatenate([np.zeros(0, np.int64), *missing]).astype(np.int64),
    )
    keys = read["key"].astype(object).to_numpy()
    return sample, keys, read["label"].astype(object).to_numpy()
