"""The audit's numpy statistics agree with scipy and scikit-learn (test dependencies only)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import brier_score_loss

from classify_frames.auditing._stats import (
    calibration_errors,
    calibration_table,
    chi2_sf,
    isotonic_fit,
    kolmogorov_sf,
    ks_2samp,
    psi,
    resolve_bins,
    wilson_interval,
)

LLM_SCORES = np.array([0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99])


def tied_sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    conf = rng.choice(LLM_SCORES, size=n, p=[0.02, 0.04, 0.07, 0.1, 0.12, 0.2, 0.27, 0.18])
    correct = rng.random(n) < conf - 0.1
    return conf, correct


@pytest.mark.parametrize(("k", "n"), [(0, 10), (10, 10), (95, 100), (3, 7), (512, 1000)])
def test_wilson_matches_scipy(k: int, n: int) -> None:
    lo, hi = wilson_interval(k, n)
    ref = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert float(lo) == pytest.approx(ref.low, abs=1e-12)
    assert float(hi) == pytest.approx(ref.high, abs=1e-12)


def test_wilson_of_no_trials_is_nan() -> None:
    lo, hi = wilson_interval(np.array([0, 1]), np.array([0, 2]))
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and 0 < lo[1] < hi[1] <= 1


@pytest.mark.parametrize("x", [0.05, 0.3, 0.7, 0.99, 1.0, 1.5, 2.5, 4.0])
def test_kolmogorov_sf_matches_scipy(x: float) -> None:
    assert kolmogorov_sf(x) == pytest.approx(stats.kstwobign.sf(x), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("x", "dof"), [(0.0, 1), (3.841, 1), (10.0, 4), (250.0, 30)])
def test_chi2_sf_matches_scipy(x: float, dof: int) -> None:
    assert chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-12, abs=1e-300)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(list(LLM_SCORES)), min_size=1, max_size=80),
    st.lists(st.sampled_from(list(LLM_SCORES)), min_size=1, max_size=80),
)
def test_ks_statistic_with_ties_matches_scipy(a: list[float], b: list[float]) -> None:
    d, p = ks_2samp(np.array(a), np.array(b))
    ref = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    en = np.sqrt(len(a) * len(b) / (len(a) + len(b)))
    assert p == pytest.approx(stats.kstwobign.sf(en * d), abs=1e-12)


def test_ks_pvalue_close_to_scipy_asymptotic_on_continuous_scores() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3000), rng.normal(0.08, size=2500)
    assert ks_2samp(a, b)[1] == pytest.approx(stats.ks_2samp(a, b, method="asymp").pvalue, rel=0.1)


def test_psi_known_value_and_symmetry_of_identical() -> None:
    e, a = np.array([0.2, 0.3, 0.5]), np.array([0.3, 0.3, 0.4])
    expected = sum((y - x) * np.log(y / x) for x, y in zip(e, a, strict=True))
    assert psi(e * 1000, a * 50) == pytest.approx(expected)
    assert psi(np.array([5, 5]), np.array([10, 10])) == 0.0
    assert np.isnan(psi(np.array([0, 0]), np.array([1, 2])))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_calibration_table_matches_sklearn(strategy: str, n_bins: int) -> None:
    conf, correct = tied_sample(np.random.default_rng(n_bins), 3000)
    table = calibration_table(conf, correct, strategy, n_bins)  # type: ignore[arg-type]
    prob_true, prob_pred = calibration_curve(correct, conf, n_bins=n_bins, strategy=strategy)
    np.testing.assert_allclose(table["accuracy"], prob_true, rtol=1e-12)
    np.testing.assert_allclose(table["confidence"], prob_pred, rtol=1e-12)


def test_quantile_bins_collapse_on_ties_but_distinct_bins_do_not() -> None:
    conf, correct = tied_sample(np.random.default_rng(0), 5000)
    prob_true, _ = calibration_curve(correct, conf, n_bins=10, strategy="quantile")
    assert len(prob_true) < 8  # edges collapse on the tied scores
    table = calibration_table(conf, correct, "distinct")
    assert len(table) == len(LLM_SCORES) and resolve_bins(conf, "auto") == "distinct"
    # one bin per distinct value: the same as very fine uniform bins
    fine_true, fine_pred = calibration_curve(correct, conf, n_bins=1000)
    np.testing.assert_allclose(table["accuracy"], fine_true, rtol=1e-12)
    np.testing.assert_allclose(table["confidence"], fine_pred, rtol=1e-12)
    assert (table["accuracy_lo"] <= table["accuracy"]).all()
    assert (table["accuracy"] <= table["accuracy_hi"]).all()


def test_ece_mce_brier_by_definition() -> None:
    conf, correct = tied_sample(np.random.default_rng(3), 4000)
    table = calibration_table(conf, correct, "distinct")
    ece, mce = calibration_errors(table)
    gaps = [abs(conf[conf == v].mean() - correct[conf == v].mean()) for v in np.unique(conf)]
    weights = [np.mean(conf == v) for v in np.unique(conf)]
    assert ece == pytest.approx(float(np.dot(gaps, weights)))
    assert mce == pytest.approx(max(gaps))
    brier = float(np.mean((conf - correct) ** 2))
    assert brier == pytest.approx(brier_score_loss(correct, conf))


def test_empty_calibration_table() -> None:
    table = calibration_table(np.array([np.nan]), np.array([True]))
    assert table.empty
    assert all(np.isnan(calibration_errors(table)))


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=5, max_value=400))
def test_isotonic_matches_sklearn(seed: int, n: int) -> None:
    conf, correct = tied_sample(np.random.default_rng(seed), n)
    x, fitted = isotonic_fit(conf, correct.astype(float))
    model = IsotonicRegression(out_of_bounds="clip").fit(conf, correct.astype(float))
    grid = np.linspace(0.4, 1.0, 61)
    np.testing.assert_allclose(np.interp(grid, x, fitted), model.predict(grid), atol=1e-9)
    assert np.all(np.diff(fitted) >= -1e-12)
