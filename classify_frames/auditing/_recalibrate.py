"""Isotonic recalibration: map stated confidence to observed accuracy, per rule set."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._prepare import prepare
from ._stats import isotonic_fit

__all__ = ["Recalibrator"]


class Recalibrator:
    """A fitted map from stated to observed confidence, one isotonic curve per rule set (and an
    overall one for rule sets it has not seen). Apply it to new frames of jobs.

    >>> cal = report.recalibrate()                      # doctest: +SKIP
    >>> new_df["calibrated"] = cal.transform(new_df)    # doctest: +SKIP
    """

    def __init__(self, confidence: np.ndarray, correct: np.ndarray, rule_set: np.ndarray) -> None:
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
        keys = jobs["rule_set"].fillna("").to_numpy(object)
        out = np.full(len(jobs), np.nan)
        for key in pd.unique(keys):
            # no rule set, or one not seen in fitting: the overall curve
            x, y = self.curves.get(key, self.curves[None])
            mask = keys == key
            if len(x):
                out[mask] = np.interp(conf[mask], x, y)
        out[np.isnan(conf)] = np.nan
        return pd.Series(out, index=df.index, name="calibrated_confidence")
