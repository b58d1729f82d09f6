"""Ground-truth labels: read them (a DataFrame, or a CSV / Parquet / JSON-lines file) and join
them to the jobs on ``id`` or ``file_input`` (``document_input_value``, the seed's name, too).

A label is a type name, or ``"none"`` (or ``"no match"``) for a document no rule describes; a blank
label means "not labelled yet", so the review queue, filled in only in part, can be passed back.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._csv import read_text_csv
from .._exceptions import AuditWarning, ConfigurationError, Opt, Parts
from ._prepare import NO_MATCH

__all__ = ["AuditWarning", "LabelsInput", "join_labelled", "join_labels", "read_labels"]

LabelsInput = pd.DataFrame | str | os.PathLike[str]

_STRING = pd.StringDtype("pyarrow")
_JOIN_KEYS = {"id": "id", "file_input": "document", "document_input_value": "document"}
_NONE_LABELS = frozenset({"none", NO_MATCH})


def read_labels(
    labels: LabelsInput, *, label_col: str = "label", join_on: str = "id"
) -> pd.DataFrame:
    """Labels as two columns: ``key`` (the ``join_on`` value) and ``label`` (categorical).

    Blank labels are dropped (not labelled yet); ``"none"`` / ``"no match"`` (any case) become
    ``"no match"``. Keys are trimmed of spaces; keys labelled twice stay (:func:`join_labels`
    keeps the last labelled row). A CSV's separator (comma, semicolon or tab) is detected. The
    sampling design columns of a review queue (``design.*``, see :mod:`._design`) are kept as
    they are.

    >>> read_labels(pd.DataFrame({"id": ["a", "b", "c"], "label": ["invoice", "None", ""]}))
      key     label
    0   a   invoice
    1   b  no match
    """
    if join_on not in _JOIN_KEYS:
        msg = f"join_on must be 'id' or 'file_input', got {join_on!r}"
        raise ValueError(msg)
    table = _read(labels)
    missing = [c for c in (join_on, label_col) if c not in table.columns]
    if missing:
        msg = (
            f"the labels have no {' or '.join(repr(c) for c in missing)} column "
            f"(they have {', '.join(map(repr, table.columns)) or 'no columns'})"
        )
        hint: Parts = ["name them with ", Opt("label_col"), " / ", Opt("join_on")]
        raise ConfigurationError(msg, hint=hint)
    keys = pd.Series(pc.utf8_trim_whitespace(_arrow(table[join_on])), dtype=_STRING)
    # labels repeat a few types: clean the distinct values, not every row
    raw = table[label_col].astype("category")
    cleaned = [str(c).strip() for c in raw.cat.categories]
    cleaned = [NO_MATCH if c.lower() in _NONE_LABELS else c for c in cleaned]
    names = list(dict.fromkeys(c for c in cleaned if c))
    position = np.array([names.index(c) if c else -1 for c in cleaned] + [-1], dtype=np.int64)
    codes = position[raw.cat.codes.to_numpy()]
    keep = keys.notna().to_numpy(bool) & (codes >= 0)
    out = pd.DataFrame(
        {
            "key": keys[keep].reset_index(drop=True),
            "label": pd.Categorical.from_codes(codes[keep], categories=pd.Index(names)),
        }
    )
    for column in table.columns:
        if str(column).startswith("design."):
            out[column] = table[column][keep].reset_index(drop=True)
    return out


def _warn_conflicts(table: pd.DataFrame, join_on: str) -> None:
    """Say which label each key labelled differently twice keeps: its last labelled row's."""
    distinct = table.groupby("key", observed=True)["label"].nunique()
    conflicting = distinct.index[distinct.to_numpy() > 1]
    if len(conflicting):
        key = conflicting[0]
        labels = table.loc[table["key"] == key, "label"].astype(str).tolist()
        others = ", ".join(repr(v) for v in dict.fromkeys(labels[:-1]) if v != labels[-1])
        msg = (
            f"{len(conflicting)} {join_on}(s) labelled more than once, differently: each keeps "
            f"the label of its last labelled row (e.g. {key!r} keeps {labels[-1]!r}, not "
            f"{others}); keep one row per {join_on}"
        )
        warnings.warn(msg, AuditWarning, stacklevel=5)


def _arrow(values: pd.Series) -> pa.Array:
    """A string Series as one Arrow string array."""
    array = pa.array(values.astype(_STRING), type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _read(labels: LabelsInput) -> pd.DataFrame:
    if isinstance(labels, pd.DataFrame):
        return labels
    if not isinstance(labels, str | os.PathLike):
        kind = type(labels).__name__
        msg = f"labels must be a DataFrame or the path of a CSV/Parquet file, got {kind}"
        raise TypeError(msg)
    path = Path(labels)
    if not path.is_file():
        msg = f"no such labels file: {str(path)!r}"
        raise FileNotFoundError(msg)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".jsonl", ".json"):
        # Read as CSV, a spreadsheet or an id list fails later as a puzzling "no column".
        msg = (
            f"labels must be a .csv, .parquet, .jsonl or .json file, got {str(path)!r} "
            "(save a spreadsheet as CSV)"
        )
        raise ValueError(msg)
    if suffix == ".csv":  # as text: a type called "NA" or "None" is a label, not missing
        return read_text_csv(path, what="labels")[0]  # its errors name the file and separator
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=suffix == ".jsonl", dtype=False)
    except (ValueError, OSError) as exc:
        msg = f"cannot read labels from {str(path)!r}: {exc}"
        raise ValueError(msg) from None


def join_labels(
    jobs: pd.DataFrame,
    labels: LabelsInput,
    *,
    label_col: str = "label",
    join_on: str = "id",
    known_types: set[str] | None = None,
) -> pd.Series:
    """Each job's label (NA where it has none), aligned to ``jobs`` (a prepared frame).

    Raises ``ValueError`` naming the join key when no label matches any job; warns when some
    labels match no job, and when labels use types that no rule set defines.
    """
    return join_labelled(
        jobs, labels, label_col=label_col, join_on=join_on, known_types=known_types
    )[0]


def join_labelled(
    jobs: pd.DataFrame,
    labels: LabelsInput,
    *,
    label_col: str = "label",
    join_on: str = "id",
    known_types: set[str] | None = None,
) -> tuple[pd.Series, pd.DataFrame | None]:
    """:func:`join_labels`, and the labels' design columns aligned to ``jobs`` (None when the
    labels carry none): the input of :func:`._design.labelled_sample`."""
    table = read_labels(labels, label_col=label_col, join_on=join_on)
    if table.empty:
        msg = (
            f"the labels hold no label: every {label_col!r} is blank, or there is no row; "
            f"fill in {label_col!r} (a type, or none) for the jobs reviewed first"
        )
        raise ValueError(msg)
    keys = jobs[_JOIN_KEYS[join_on]]
    # Arrow's hash join of the string keys: no Python string objects for a million ids
    encoded = pc.dictionary_encode(_arrow(table["key"]))
    distinct = encoded.dictionary
    if len(distinct) < len(table):
        _warn_conflicts(table, join_on)
    last = np.full(len(distinct), -1, dtype=np.int64)  # a key labelled twice: its last row
    np.maximum.at(last, encoded.indices.to_numpy(), np.arange(len(table)))
    key_index = pc.fill_null(pc.index_in(_arrow(keys), value_set=distinct), -1).to_numpy()
    found = key_index >= 0
    position = np.where(found, last[key_index], -1)
    categorical = table["label"].cat
    codes = np.where(found, categorical.codes.to_numpy()[np.maximum(position, 0)], -1)
    truth = pd.Series(
        pd.Categorical.from_codes(codes, categories=categorical.categories),
        index=jobs.index,
        name="label",
    )
    if not found.any():
        sample_label = table["key"].iloc[0]
        sample_job = next((k for k in keys.dropna()[:1]), None)
        other = "file_input" if join_on == "id" else "id"
        msg = (
            f"none of the {len(table)} labels matches a job on {join_on!r} (a label's {join_on} "
            f"is {sample_label!r}, a job's is {sample_job!r})"
        )
        told: Parts = ["check the file, or join on the other key with ", Opt("join_on", other)]
        raise ConfigurationError(msg, option="join_on", hint=told)
    used = np.zeros(len(distinct), dtype=bool)
    used[key_index[found]] = True
    if not used.all():
        msg = f"{int((~used).sum())} of {len(distinct)} labels match no job on {join_on!r}"
        warnings.warn(msg, AuditWarning, stacklevel=4)
    if known_types:
        matched = {str(c) for c in truth.cat.remove_unused_categories().cat.categories}
        unknown = sorted(matched - known_types - {NO_MATCH})
        if unknown:
            msg = (
                f"labels use types no rule set defines: {', '.join(map(repr, unknown[:10]))}; "
                "they count as misses in the confusion matrix"
            )
            warnings.warn(msg, AuditWarning, stacklevel=4)
    design_cols = [c for c in table.columns if str(c).startswith("design.")]
    design = None
    if design_cols:
        rows = table[design_cols].iloc[np.maximum(position, 0)].astype(object)
        rows.iloc[~found] = None
        design = rows.set_axis(jobs.index)
    return truth, design
