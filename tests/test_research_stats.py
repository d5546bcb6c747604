"""backtest.reports.stats: each figure recomputed by an independent route (closed form, other API, slow loop)."""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from backtest.reports import stats


# ------------------------------------------------------------------------------------------ Wilson
@pytest.mark.parametrize("k, n", [(2, 4), (0, 5), (5, 5), (37, 120), (1, 1)])
def test_wilson_matches_the_closed_form_and_scipy(k, n):
    got = stats.wilson(k, n)
    z = sps.norm.ppf(0.975)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (got.rate, got.n, got.successes) == (pytest.approx(p), n, k)
    assert got.low == pytest.approx(max(0.0, centre - half), abs=1e-12)
    assert got.high == pytest.approx(min(1.0, centre + half), abs=1e-12)
    other = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert (got.low, got.high) == (pytest.approx(other.low, abs=1e-12), pytest.approx(other.high, abs=1e-12))
    from statsmodels.stats.proportion import proportion_confint  # the interval the run used before: the same

    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (got.low, got.high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))


def test_wilson_arrays_equal_scipy_and_statsmodels_for_every_k_up_to_80():
    from statsmodels.stats.proportion import proportion_confint

    k = np.array([k for n in range(1, 81) for k in range(n + 1)])
    n = np.array([n for n in range(1, 81) for k in range(n + 1)])
    rate, low, high = stats.wilson_arrays(k, n)
    sm_low, sm_high = proportion_confint(k, n, alpha=0.05, method="wilson")
    np.testing.assert_allclose(low, sm_low, atol=1e-12)
    np.testing.assert_allclose(high, sm_high, atol=1e-12)
    for i in range(0, len(k), 97):  # scipy's binomtest, one by one, on a spread of them
        ci = sps.binomtest(int(k[i]), int(n[i])).proportion_ci(confidence_level=0.95, method="wilson")
        assert (low[i], high[i]) == (pytest.approx(ci.low, abs=1e-12), pytest.approx(ci.high, abs=1e-12))
    np.testing.assert_allclose(rate, k / n)
    _, low90, high90 = stats.wilson_arrays(k, n, confidence=0.9)
    sm_low90, sm_high90 = proportion_confint(k, n, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low90, sm_low90, atol=1e-12)
    np.testing.assert_allclose(high90, sm_high90, atol=1e-12)


def test_wilson_of_nothing_is_nan_with_n_zero():
    got = stats.wilson(0, 0)
    assert got.n == 0 and math.isnan(got.rate) and math.isnan(got.low) and math.isnan(got.high)
    rate, low, high = stats.wilson_arrays([1, 0, 3], [2, 0, 3])
    assert np.isnan(rate[1]) and np.isnan(low[1]) and rate[0] == 0.5 and high[2] == pytest.approx(1.0)


# ------------------------------------------------------------------------------------------ block bootstrap
def _overlapping_sample(n_sessions=300, horizon=20, per_session=3, seed=7):
    """Forward sums of daily shocks over ``horizon`` sessions: consecutive sessions' values overlap heavily."""
    rng = np.random.default_rng(seed)
    shocks = rng.normal(size=n_sessions + horizon)
    window = np.convolve(shocks, np.ones(horizon), mode="valid")[:n_sessions]
    sessions = np.repeat(np.arange(n_sessions), per_session)
    values = window[sessions] + rng.normal(scale=0.1, size=len(sessions))
    return values, sessions


def test_bootstrap_interval_equals_archs_own_conf_int():
    """Same seed, same draws: arch's StationaryBootstrap.conf_int(percentile) on per-session sums agrees exactly."""
    from arch.bootstrap import StationaryBootstrap

    values, sessions = _overlapping_sample(n_sessions=120, horizon=5)
    got = stats.block_bootstrap_mean(values, sessions, block_length=5, reps=400, seed=11)
    sums = np.bincount(sessions, weights=values)
    counts = np.bincount(sessions).astype(float)
    oracle = StationaryBootstrap(5, sums, counts, seed=np.random.default_rng(11))
    ci = oracle.conf_int(lambda s, c: np.array([s.sum() / c.sum()]), reps=400, method="percentile")
    assert got.mean == pytest.approx(values.mean())
    assert (got.low, got.high) == (pytest.approx(ci[0, 0], rel=1e-12), pytest.approx(ci[1, 0], rel=1e-12))
    assert (got.n, got.sessions, got.block_length) == (len(values), 120, 5)


def test_bootstrap_replicates_equal_a_slow_loop_over_drawn_sessions():
    """The count-matrix shortcut equals resampling the observations session by session."""
    from arch.bootstrap import StationaryBootstrap

    values, sessions = _overlapping_sample(n_sessions=40, horizon=3, per_session=2)
    weights = stats.bootstrap_weights(40, 3, reps=50, seed=5)
    sums = np.bincount(sessions, weights=values)[:, None]
    counts = np.bincount(sessions).astype(float)[:, None]
    fast = stats.replicate_means(sums, counts, weights)[:, 0]
    draw = StationaryBootstrap(3, np.arange(40), seed=np.random.default_rng(5))
    for r in range(50):
        picked = draw.update_indices()
        resampled = np.concatenate([values[sessions == t] for t in picked])
        assert fast[r] == pytest.approx(resampled.mean(), rel=1e-12)


@pytest.mark.parametrize("n_sessions,block,reps,seed", [(1, 1, 3, 0), (2, 5, 7, 1), (40, 3, 50, 5),
                                                       (997, 20, 33, 2), (5000, 60, 1000, 20260301),
                                                       (300, 1, 200, 9)])
def test_bootstrap_weights_are_archs_draws_exactly(n_sessions, block, reps, seed, monkeypatch):
    """The numpy draw (no arch import in a run) counts exactly the sessions arch's own sampler draws, replicate
    by replicate, including the wrap at the end of the axis and blocks of length 1; also across the chunks
    that bound its memory."""
    from arch.bootstrap import StationaryBootstrap

    monkeypatch.setattr(stats, "_WEIGHT_DIR", None)
    got = stats._draw_weights(n_sessions, block, reps, seed)
    draw = StationaryBootstrap(block, np.arange(n_sessions), seed=np.random.default_rng(seed))
    expected = np.stack([np.bincount(draw.update_indices(), minlength=n_sessions) for _ in range(reps)])
    assert got.shape == (reps, n_sessions)
    assert np.array_equal(got, expected)


def test_a_run_never_imports_arch():
    """arch's import pulls in statsmodels, matplotlib and numba (seconds): the draws are made without it."""
    import subprocess
    import sys

    code = ("import sys; from backtest.reports import stats; stats._draw_weights(500, 5, 20, 1); "
            "print('arch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_overlap_aware_interval_is_wider_than_an_iid_bootstrap():
    """On overlapping 20-session windows the i.i.d. bootstrap understates the uncertainty; blocks do not."""
    values, sessions = _overlapping_sample(n_sessions=300, horizon=20)
    blocked = stats.block_bootstrap_mean(values, sessions, block_length=20)
    iid = sps.bootstrap((values,), np.mean, n_resamples=1000, method="percentile", rng=np.random.default_rng(1))
    blocked_width = blocked.high - blocked.low
    iid_width = iid.confidence_interval.high - iid.confidence_interval.low
    assert blocked.low < values.mean() < blocked.high
    assert blocked_width > 3 * iid_width


def test_bootstrap_is_seeded_and_deterministic():
    values, sessions = _overlapping_sample(n_sessions=60, horizon=5)
    a = stats.block_bootstrap_mean(values, sessions, block_length=5)
    b = stats.block_bootstrap_mean(values.copy(), sessions.copy(), block_length=5)
    c = stats.block_bootstrap_mean(values, sessions, block_length=5, seed=stats.SEED + 1)
    assert a == b and (a.low, a.high) != (c.low, c.high)
    with pytest.raises(ValueError):  # the cached matrix is shared: it must not be writable
        stats.bootstrap_weights(60, 5)[0, 0] = 3.0


def test_one_session_has_a_mean_but_no_interval():
    got = stats.block_bootstrap_mean([1.0, 2.0, 4.0], [7, 7, 7], block_length=5)
    assert got.mean == pytest.approx(7 / 3) and got.n == 3 and got.sessions == 1
    assert math.isnan(got.low) and math.isnan(got.high)
    none = stats.block_bootstrap_mean([np.nan], [3], block_length=1)
    assert none.n == 0 and math.isnan(none.mean)


def test_block_length_rule_is_the_horizon():
    assert [stats.block_length_for(h) for h in (0, 1, 5, 20, 60)] == [1, 1, 5, 20, 60]


def test_session_positions_follow_the_xnys_calendar():
    # 2026-02-13 (Fri) -> 2026-02-17 (Tue): Monday 16 Feb 2026 is Presidents' Day, no session
    pos = stats.session_positions(["2026-02-13", "2026-02-17", "2026-02-12", "2026-02-16"])
    assert list(pos) == [1, 2, 0, 2]


# ------------------------------------------------------------------------------------------ permutation
def _exact_two_sided(a, b):
    """Every relabelling enumerated; scipy's two-sided definition: twice the smaller one-sided p."""
    pooled = np.concatenate([a, b])
    observed = a.mean() - b.mean()
    null = []
    for chosen in itertools.combinations(range(len(pooled)), len(a)):
        mask = np.zeros(len(pooled), dtype=bool)
        mask[list(chosen)] = True
        null.append(pooled[mask].mean() - pooled[~mask].mean())
    null = np.array(null)
    greater = np.mean(null >= observed - 1e-12)
    less = np.mean(null <= observed + 1e-12)
    return observed, min(1.0, 2 * min(greater, less))


def test_permutation_p_value_equals_exact_enumeration():
    a = np.array([2.1, 3.4, 1.7, 5.2])
    b = np.array([-0.3, 1.1, 0.4])
    got = stats.permutation_difference(a, b)
    diff, p = _exact_two_sided(a, b)
    assert got.difference == pytest.approx(diff) and got.p_value == pytest.approx(p)
    assert (got.n_a, got.n_b) == (4, 3)
    assert got.p_value == pytest.approx(2 / 35)  # the observed split is the most extreme of C(7, 3) = 35


def _scipy_permutation(a, b, n_resamples=stats.PERMUTATIONS, seed=stats.SEED):
    from scipy.stats import permutation_test

    a, b = np.asarray(a, float), np.asarray(b, float)
    batch = max(1, min(n_resamples, 4_000_000 // (len(a) + len(b))))  # the batches the product uses
    result = permutation_test((a, b), lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis),
                              permutation_type="independent", vectorized=True, n_resamples=n_resamples,
                              alternative="two-sided", batch=batch, rng=np.random.default_rng(seed))
    return float(result.statistic), float(result.pvalue)


@pytest.mark.parametrize("n_a, n_b, values, n_resamples, seed", [
    (3, 40, "normal", 999, stats.SEED),
    (40, 50, "normal", 999, stats.SEED),
    (40, 50, "ties", 999, 7),          # many exact ties with the observed difference
    (6, 6, "ties", 999, stats.SEED),   # C(12, 6) = 924 <= 999: scipy's exact enumeration
    (7, 6, "normal", 999, stats.SEED), # C(13, 6) = 1716: random relabellings
    (700, 300, "ties", 99, 3),
    (2500, 2100, "normal", 999, 11),   # 4,600 values: batches of 869 rows, the last one short
    (9000, 1, "normal", 999, stats.SEED),
])
def test_permutation_test_equals_scipy_bit_for_bit(n_a, n_b, values, n_resamples, seed):
    """The Monte Carlo relabellings made in numpy give scipy's difference and p-value exactly (``==``)."""
    rng = np.random.default_rng(n_a * 1000 + n_b)
    make = (lambda n: rng.normal(0.1, 1.0, n)) if values == "normal" else (lambda n: rng.integers(-2, 3, n) * 0.5)
    a, b = make(n_a), make(n_b)
    if n_b == 1:
        b = np.array([0.2, np.nan, -0.1])  # NaNs dropped on both paths
    got = stats.permutation_difference(a, b, n_resamples=n_resamples, seed=seed)
    assert (got.difference, got.p_value) == _scipy_permutation(a, b[~np.isnan(b)], n_resamples, seed)


def test_a_monte_carlo_permutation_test_does_not_import_scipy_stats():
    code = ("import sys, numpy as np; from backtest.reports import stats; "
            "d = stats.permutation_difference(np.arange(50.0), np.arange(40.0) + 3); "
            "assert 0 < d.p_value < 1, d; print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_permutation_p_value_agrees_with_a_slow_monte_carlo_loop():
    rng = np.random.default_rng(3)
    a = rng.normal(0.3, 1.0, 40)
    b = rng.normal(0.0, 1.0, 50)
    got = stats.permutation_difference(a, b)
    pooled, observed = np.concatenate([a, b]), a.mean() - b.mean()
    loop = np.random.default_rng(99)
    extreme = 0
    trials = 4000
    for _ in range(trials):
        shuffled = loop.permutation(pooled)
        extreme += abs(shuffled[:40].mean() - shuffled[40:].mean()) >= abs(observed)
    assert got.p_value == pytest.approx(extreme / trials, abs=0.03)
    assert 0 < got.p_value < 1 and got == stats.permutation_difference(a, b)  # seeded


def test_permutation_results_kept_on_disk_are_read_back_exactly(tmp_path, monkeypatch):
    """With the research cache, a test of the same two samples is read back (nothing shuffled), bit for bit;
    another sample, another order or another seed is computed; a damaged file is computed again."""

    rng = np.random.default_rng(8)
    a, b = rng.normal(0.2, 1.0, 300), rng.normal(0.0, 1.0, 200)
    plain = stats.permutation_difference(a, b)
    with stats.weight_cache(tmp_path):
        first = stats.permutation_difference(a, b)
        (kept,) = tmp_path.glob("permutation-*.json")
        monkeypatch.setattr(stats, "_shuffled_test", None)  # a computation would fail now
        assert stats.permutation_difference(a, b) == first == plain
        with pytest.raises(TypeError):
            stats.permutation_difference(a[::-1].copy(), b)  # other order: other key, computed (and fails)
        with pytest.raises(TypeError):
            stats.permutation_difference(a, b, seed=1)
        monkeypatch.undo()
        kept.write_text("{not json")
        assert stats.permutation_difference(a, b) == plain
        assert json.loads(kept.read_text())["p_value"] == plain.p_value  # replaced by a good copy


def test_permutation_needs_two_per_side():
    got = stats.permutation_difference([1.0], [2.0, 3.0, np.nan])
    assert got.difference == pytest.approx(-1.5) and math.isnan(got.p_value) and (got.n_a, got.n_b) == (1, 2)


# ------------------------------------------------------------------------------------------ Spearman
def test_spearman_equals_pearson_on_ranks_and_the_hand_formula():
    got = stats.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5])
    assert got.rho == pytest.approx(1 - 6 * 4 / (5 * 24)) and got.n == 5  # 1 - 6 sum d^2 / (n (n^2 - 1))
    rng = np.random.default_rng(4)
    x = rng.normal(size=30)
    y = x + rng.normal(size=30)
    x[3] = np.nan
    got = stats.spearman(x, y)
    frame = pd.DataFrame({"x": x, "y": y}).dropna()
    ranked = sps.pearsonr(frame["x"].rank(), frame["y"].rank())
    assert got.n == 29 and got.rho == pytest.approx(ranked.statistic) and got.p_value == pytest.approx(ranked.pvalue)


@pytest.mark.parametrize("seed", range(6))
def test_spearman_agrees_with_scipy_spearmanr_ties_included(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 60))
    x = rng.integers(0, 8, n).astype(float)  # many ties (a Pulse score is a small integer scale)
    y = rng.normal(size=n) + 0.3 * x
    if seed == 5:
        y = x * 2.0 + 1.0  # a perfect correlation: p = 0
    got, want = stats.spearman(x, y), sps.spearmanr(x, y)
    assert got.n == n
    assert got.rho == pytest.approx(want.statistic, abs=1e-12)
    assert got.p_value == pytest.approx(want.pvalue, abs=1e-12)


def test_spearman_is_undefined_below_three_pairs_or_on_a_constant():
    assert stats.spearman([1, 2], [3, 4]).n == 2 and math.isnan(stats.spearman([1, 2], [3, 4]).rho)
    flat = stats.spearman([50, 50, 50, 50], [1, 2, 3, 4])
    assert flat.n == 4 and math.isnan(flat.rho) and math.isnan(flat.p_value)


# ------------------------------------------------------------------------------------------ weights on disk
def test_bootstrap_weights_cached_on_disk_are_the_draws_and_skip_arch(tmp_path):
    """A second process reads the draws back from the cache directory (it cannot draw: its sampler is
    disabled): identical weights; arch imported by neither; a damaged file is drawn again."""
    import subprocess
    import sys

    code = ("import sys, numpy as np; from backtest.reports import stats\n"
            "if sys.argv[3] == 'read':\n"
            "    stats._draw_weights = None  # a draw would fail: the weights must come from the file\n"
            "with stats.weight_cache(sys.argv[1]):\n"
            "    w = stats.bootstrap_weights(50, 5, 200, 11)\n"
            "np.save(sys.argv[2], w); print('arch' in sys.modules)")
    runs = [subprocess.run([sys.executable, "-c", code, str(tmp_path / "cache"), str(tmp_path / f"w{i}.npy"), mode],
                           capture_output=True, text=True, check=True).stdout.strip()
            for i, mode in enumerate(("draw", "read"))]
    assert runs == ["False", "False"]
    first, second = np.load(tmp_path / "w0.npy"), np.load(tmp_path / "w1.npy")
    assert np.array_equal(first, second) and first.sum() == 200 * 50
    stats._weights.cache_clear()
    assert np.array_equal(stats.bootstrap_weights(50, 5, 200, 11), first)  # the draw itself, no cache
    (file,) = (tmp_path / "cache").iterdir()
    file.write_bytes(b"not an array")
    stats._weights.cache_clear()
    with stats.weight_cache(tmp_path / "cache"):
        assert np.array_equal(stats.bootstrap_weights(50, 5, 200, 11), first)
    assert np.array_equal(np.load(file), first)  # replaced by a good copy
    stats._weights.cache_clear()


def test_too_few_blocks_give_no_interval_rather_than_a_collapsed_one():
    # Two calls 5 sessions apart with 60-session blocks: a replicate is nearly the sample itself, so an
    # interval would be [0.57, 0.85] around a mean of 0.85 from the values 0 and 1.71 (the seed run's case).
    got = stats.block_bootstrap_mean([0.0, 1.708383], [0, 5], block_length=60)
    assert got.n == 2 and np.isnan(got.low) and np.isnan(got.high) and got.mean == pytest.approx(0.8541915)
    assert stats.enough_blocks(10 * 60, 60) and not stats.enough_blocks(10 * 60 - 1, 60)


def test_intervals_cover_the_true_mean_when_there_are_enough_blocks():
    """Coverage: 40 independent calls over 400 sessions, true mean 0, 20-session blocks (20 blocks)."""
    rng = np.random.default_rng(11)
    covered = tried = 0
    for _ in range(60):
        sessions = np.sort(rng.choice(400, size=40, replace=False))
        got = stats.block_bootstrap_mean(rng.normal(0.0, 3.0, 40), sessions, block_length=20, reps=400,
                                         seed=int(rng.integers(1 << 30)), n_sessions=400)
        tried += 1
        covered += got.low <= 0.0 <= got.high
    assert covered / tried >= 0.85, (covered, tried)
