"""Isotonic recalibration: map stated confidence to observed accuracy, per rule set."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from .._exceptions import AuditWarning
from ._prepare import prepare
from ._stats import isotonic_fit

__all__ = ["MIN_LABELS", "Recalibrator", "recalibrator_with_gain"]

#: Below this many labels per rule set isotonic recalibration tends to overfit
#: (scikit-learn's calibration guide).
MIN_LABELS = 1_000
FOLDS = 5


class Recalibrator:
    """A fitted map from stated to observed confidence, one isotonic curve per rule set (and an
    overall one for rule sets it has not seen). Apply it to new frames of jobs.

    >>> cal = report.recalibrate()                      # doctest: +SKIP
    >>> new_df["calibrated"] = cal.transform(new_df)    # doctest: +SKIP
    """

    def __init__(self, confidence: np.ndarray, correct: np.ndarray, rule_set: np.ndarray) -> None:
        #: Cross-validated change of the Brier score (recalibrated minus stated; negative is
        #: better), overall and per rule set; set by :func:`recalibrator_with_gain`.
        self.gain: dict[str, float] = {}
        self.curves: dict[str | None, tuple[np.ndarray, np.ndarray]] = {
            None: isotonic_fit(confidence, correct)
        }
        for key in pd.unique(rule_set[pd.notna(rule_set)]):
            mask = rule_set == key
            self.curves[str(key)] = isotonic_fit(confidence[mask], correct[mask])

    @property
    def table(self) -> pd.DataFrame:
        """The fitted points: rule set ("(all)" for the overall curve), stated, calibrated."""
        frames = [
            pd.DataFrame({"rule_set": key or "(all)", "stated": x, "calibrated": y})
            for key, (x, y) in self.curves.items()
        ]
        return pd.concat(frames, ignore_index=True)

    def transform(self, df: pd.DataFrame) -> pd.Series:
        """Calibrated confidence of each job of ``df`` (NaN where it states none)."""
        jobs = prepare(df)[0]
        conf = jobs["confidence"].to_numpy(float)
        keys = jobs["rule_set"].astype(object).fillna("").to_numpy(object)
        out = np.full(len(jobs), np.nan)
        for key in pd.unique(keys):
            # no rule set, or one not seen in fitting: the overall curve
            x, y = self.curves.get(key, self.curves[None])
            mask = keys == key
            if len(x):
                out[mask] = np.interp(conf[mask], x, y)
        out[np.isnan(conf)] = np.nan
        return pd.Series(out, index=df.index, name="calibrated_confidence")


def _apply(x: np.ndarray, curve: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return np.interp(x, *curve) if len(curve[0]) else x


def cross_validated_gain(confidence: np.ndarray, correct: np.ndarray, seed: int = 0) -> float:
    """Mean change of the Brier score when each fold is recalibrated by a curve fitted on
    the other folds (negative: recalibration helps on jobs it has not seen)."""
    keep = np.isfinite(confidence)
    x, y = confidence[keep], correct[keep]
    if len(x) < FOLDS * 2:
        return math.nan
    fold = np.random.default_rng(seed).permutation(len(x)) % FOLDS
    before = after = 0.0
    for f in range(FOLDS):
        test = fold == f
        curve = isotonic_fit(x[~test], y[~test])
        before += float(np.sum((x[test] - y[test]) ** 2))
        after += float(np.sum((_apply(x[test], curve) - y[test]) ** 2))
    return (after - before) / len(x)


def recalibrator_with_gain(
    confidence: np.ndarray, correct: np.ndarray, rule_set: np.ndarray
) -> Recalibrator:
    """A :class:`Recalibrator` with its cross-validated ``gain``, warning about rule sets with
    fewer than :data:`MIN_LABELS` labels."""

    calibrator = Recalibrator(confidence, correct, rule_set)
    calibrator.gain["(all)"] = cross_validated_gain(confidence, correct)
    small = []
    for key in pd.unique(rule_set[pd.notna(rule_set)]):
        mask = rule_set == key
        calibrator.gain[str(key)] = cross_validated_gain(confidence[mask], correct[mask])
        if mask.sum() < MIN_LABELS:
            small.append(f"{key} ({int(mask.sum())})")
    if not small and len(confidence) < MIN_LABELS:
        small.append(f"all ({len(confidence)})")
    if small:
        gain = calibrator.gain["(all)"]
        msg = (
            f"recalibrating from fewer than {MIN_LABELS:,} labels per rule set "
            f"({', '.join(small[:5])}): isotonic curves overfit small samples; its "
            f"cross-validated Brier change is {gain:+.4f} (negative is better)"
        )
        warnings.warn(msg, AuditWarning, stacklevel=3)
    return calibrator
