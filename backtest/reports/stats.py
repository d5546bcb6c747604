"""Research statistics, kept apart from the simulation (cf. backtesting.py's ``_stats.py``).

Thin, named wrappers over well-kept libraries; nothing here re-derives a statistic by hand:

* :func:`wilson` — a rate with its Wilson 95 % interval (closed form with the standard library's normal
  quantile; the tests check it equals scipy's ``binomtest(k, n).proportion_ci(method="wilson")`` and
  statsmodels' ``proportion_confint(method="wilson")``, neither of which a run needs to import);
* :func:`block_bootstrap_mean` — a mean with a 95 % interval from a **stationary block bootstrap over
  calendar sessions** (the draws of arch's ``StationaryBootstrap``, reproduced draw for draw in numpy, below), so that calls whose
  forward windows overlap, and calls made on the same session, are resampled together;
* :func:`permutation_difference` — a difference of two means with a two-sided permutation p-value
  (``scipy.stats.permutation_test``'s test: its Monte Carlo path reproduced draw for draw in numpy, its
  exact enumeration called for tiny samples);
* :func:`spearman` — Spearman's rho with its p-value (``scipy.stats.spearmanr``).

Every result carries ``n`` (the number of observations behind the figure) beside the figure, and every
random procedure is seeded (:data:`SEED`): the same inputs give the same numbers, bit for bit.

Why a bootstrap over *sessions*: a 20-session call made on Monday and one made on Tuesday share 19 of
their 20 sessions, so their excess returns are far from independent; a plain (i.i.d.) bootstrap of calls
would understate the uncertainty. The bootstrap here works on the calendar: observations are summed per
session (``sums[t]``, ``counts[t]`` for session ``t``), arch's stationary bootstrap (Politis & Romano
1994) draws sessions in blocks of random length with mean ``block_length``, and each replicate's mean is
``sum(w[t] * sums[t]) / sum(w[t] * counts[t])`` where ``w[t]`` is how often session ``t`` was drawn.
Block length rule (:func:`block_length_for`): the horizon in sessions (at least 1), because two
windows of ``h`` sessions overlap only when they start fewer than ``h`` sessions apart. An axis shorter
than :data:`MIN_BLOCKS` (10) blocks gives no interval at all (:func:`enough_blocks`): with calls spread
over too few independent windows the resampling cannot see their spread, and its interval would be
far too narrow. The interval is
the percentile interval (2.5th and 97.5th percentiles of the replicates' means; replicates that drew no
observation are left out). The count matrices ``w`` depend only on (number of sessions, block length,
replicates, seed), so they are drawn once and reused for every group and figure (:func:`bootstrap_weights`):
hundreds of scorecards over the same calendar cost one draw per block length. With
:func:`weight_cache` (the run uses ``<cache_dir>/bootstrap``) they are also kept on disk, keyed by those
four numbers (the draw counts as ``uint8``, 1 byte per session and replicate): a later run over the same
calendar reads them back. The same folder keeps each permutation test's result, keyed by a hash of its two
samples (:func:`permutation_difference`): a re-run over unchanged calls does not shuffle them again.

The draws are arch's (``arch.bootstrap.StationaryBootstrap(block_length, sessions, seed=default_rng(seed))``,
iterated ``reps`` times), made without importing arch: its import pulls in its whole ``univariate``
package with statsmodels, matplotlib and numba (1.5-5 s, more than the rest of a 10k-setup run), and its
sampler is one Cython loop per replicate. :func:`_draw_weights` asks the same generator for the same
numbers in the same order (per replicate: ``integers(n, size=n)``, then ``random(n)``) and applies arch's
rule ("continue the block, wrapping at the end, while ``u > 1 / block_length``") to all replicates at
once; ``tests/test_research_stats.py`` checks the counts equal arch's own draws exactly.

Import cost: scipy.stats (0.7 s) is imported only for a permutation test small enough to be enumerated
exactly (at most ``n_resamples`` relabellings, e.g. 4 calls against 3); every other figure needs at most
``scipy.special``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import math
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

#: Seed of every random procedure in the research figures (bootstrap draws, permutations).
SEED = 20260301
#: Bootstrap replicates for the block-bootstrap intervals.
BOOTSTRAP_REPS = 1000
#: Random relabellings for the permutation p-values: the smallest p reported is 1 / 1000. Each costs one
#: shuffle of both samples, so this is the scorecard's main cost; sweeps may pass fewer.
PERMUTATIONS = 999
#: Two-sided confidence level of every interval.
CONFIDENCE = 0.95


# ------------------------------------------------------------------------------------------ results
@dataclasses.dataclass(frozen=True)
class Rate:
    """``successes`` out of ``n``; ``rate`` and its Wilson interval are NaN when ``n`` is 0."""

    rate: float
    low: float
    high: float
    n: int
    successes: int


@dataclasses.dataclass(frozen=True)
class MeanInterval:
    """Mean of ``n`` observations with a block-bootstrap percentile interval.

    ``sessions`` is the number of distinct sessions holding an observation; the interval is NaN when it is
    below 2 (one session's calls move together: resampling them says nothing about variation over time).
    """

    mean: float
    low: float
    high: float
    n: int
    sessions: int
    block_length: int


@dataclasses.dataclass(frozen=True)
class Difference:
    """``mean(a) - mean(b)`` with a two-sided permutation p-value; NaN unless both sides have 2+ values."""

    difference: float
    p_value: float
    n_a: int
    n_b: int


@dataclasses.dataclass(frozen=True)
class Correlation:
    """Spearman's rho and its two-sided p-value over ``n`` complete pairs (NaN below 3 or if one side is constant)."""

    rho: float
    p_value: float
    n: int


# ------------------------------------------------------------------------------------------ rates
def wilson_arrays(successes, n, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorized :func:`wilson`: (rate, low, high) arrays, NaN where ``n`` is 0.

    The Wilson score interval in closed form, ``(p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)``,
    with ``z`` the normal quantile from the standard library (``statistics.NormalDist``): the interval
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")`` and statsmodels'
    ``proportion_confint(method="wilson")`` compute (``tests/test_research_stats.py`` checks all three agree
    to 1e-12), without importing scipy.stats (seconds on a loaded machine) for a run that needs no other
    test statistic."""
    from statistics import NormalDist

    k = np.asarray(successes, dtype=np.float64)
    m = np.asarray(n, dtype=np.float64)
    some = m > 0
    safe = np.where(some, m, 1.0)
    p = k / safe
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    z2 = z * z
    centre = (p + z2 / (2.0 * safe)) / (1.0 + z2 / safe)
    half = z / (1.0 + z2 / safe) * np.sqrt(p * (1.0 - p) / safe + z2 / (4.0 * safe * safe))
    low = np.where(some, np.clip(centre - half, 0.0, 1.0), np.nan)
    high = np.where(some, np.clip(centre + half, 0.0, 1.0), np.nan)
    rate = np.where(some, p, np.nan)
    return rate, low, high


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Rate:
    """The rate ``successes / n`` and its Wilson score interval (:func:`wilson_arrays`).

    Wilson, not the normal approximation: with few calls (2 of 4) or rates near 0 or 1 the normal interval
    leaves [0, 1] or collapses to a point; Wilson's stays inside and keeps its coverage.
    """
    rate, low, high = wilson_arrays([successes], [n], confidence)
    return Rate(float(rate[0]), float(low[0]), float(high[0]), int(n), int(successes))


# ------------------------------------------------------------------------------------------ bootstrap
def block_length_for(horizon: int) -> int:
    """Expected block length (sessions) for observations over ``horizon``-session windows: the horizon, >= 1."""
    return max(1, int(horizon))


#: Where :func:`weight_cache` keeps the bootstrap draws on disk (None: memory only).
_WEIGHT_DIR: Path | None = None


@contextlib.contextmanager
def weight_cache(directory: Path | str | None):
    """Within the block, bootstrap weights are read from / written to ``directory`` (None: memory only).

    Files are ``stationary-<sessions>-<block>-<reps>-<seed>-arch-stationary-1.npy`` (the draw counts as
    ``uint8``, or ``uint16`` when a session is drawn more than 255 times), written atomically; an unreadable file is drawn again and replaced, never an error, and a
    directory that cannot be written only costs the draw."""
    global _WEIGHT_DIR
    previous, _WEIGHT_DIR = _WEIGHT_DIR, Path(directory) if directory is not None else None
    try:
        yield
    finally:
        _WEIGHT_DIR = previous


#: Changes when the draws change (a new sampler rule would make old cached files wrong).
_SAMPLER = "arch-stationary-1"


def _weight_file(n_sessions: int, block_length: int, reps: int, seed: int) -> Path | None:
    if _WEIGHT_DIR is None:
        return None
    return _WEIGHT_DIR / f"stationary-{n_sessions}-{block_length}-{reps}-{seed}-{_SAMPLER}.npy"


@functools.lru_cache(maxsize=32)
def _weights(n_sessions: int, block_length: int, reps: int, seed: int) -> np.ndarray:
    path = _weight_file(n_sessions, block_length, reps, seed)
    if path is not None:
        try:
            counts = np.load(path, allow_pickle=False)
            if counts.shape == (reps, n_sessions):
                weights = counts.astype(np.float64)
                weights.setflags(write=False)
                return weights
        except (OSError, ValueError):
            pass  # absent or damaged: drawn again below
    weights = _draw_weights(n_sessions, block_length, reps, seed)
    small = np.uint8 if weights.max(initial=0) <= np.iinfo(np.uint8).max else np.uint16
    if path is not None and weights.max(initial=0) <= np.iinfo(np.uint16).max:
        buffer = io.BytesIO()
        np.save(buffer, weights.astype(small), allow_pickle=False)
        _write_atomically(path, buffer.getvalue())
    return weights


def _draw_weights(n_sessions: int, block_length: int, reps: int, seed: int) -> np.ndarray:
    """(reps, n_sessions) draw counts of arch's stationary bootstrap, seeded with ``seed`` (module docstring)."""
    rng = np.random.default_rng(seed)
    n, p = int(n_sessions), 1.0 / block_length
    weights = np.empty((reps, n), dtype=np.float64)
    chunk = max(1, min(reps, 4_000_000 // max(n, 1)))  # bounds the temporary (chunk, n) arrays
    for lo in range(0, reps, chunk):
        rows = min(chunk, reps - lo)
        starts = np.empty((rows, n), dtype=np.int64)
        u = np.empty((rows, n))
        for r in range(rows):  # arch's order of draws: the block starts, then the uniforms, per replicate
            starts[r] = rng.integers(n, size=n, dtype=np.int64)
            u[r] = rng.random(n)
        new_block = u <= p
        new_block[:, 0] = True
        flat = np.arange(rows * n, dtype=np.int64)
        origin = np.flatnonzero(new_block.ravel())[np.cumsum(new_block.ravel()) - 1]  # where each block began
        drawn = (starts.ravel()[origin] + (flat - origin)) % n
        offsets = drawn + (flat // n) * n
        weights[lo:lo + rows] = np.bincount(offsets, minlength=rows * n).reshape(rows, n)
    weights.setflags(write=False)  # cached and shared: nobody may change it
    return weights


#: A block bootstrap needs this many blocks' worth of sessions on its axis: with fewer, each replicate is
#: nearly the original sample and the interval collapses (a simulation of 40 independent calls over 63
#: sessions covers the true mean 92 % of the time with blocks of 1, 78 % with 20, 63 % with 60). Below it
#: every interval drawn on that axis is left empty ("too few independent windows"), never too narrow.
MIN_BLOCKS = 10


def enough_blocks(n_sessions: int, block_length: int) -> bool:
    """Whether an axis of ``n_sessions`` holds :data:`MIN_BLOCKS` blocks of ``block_length`` sessions."""
    return int(n_sessions) >= MIN_BLOCKS * block_length_for(block_length)


def bootstrap_weights(n_sessions: int, block_length: int, reps: int = BOOTSTRAP_REPS, seed: int = SEED) -> np.ndarray:
    """(reps, n_sessions) matrix: how often each session is drawn in each stationary-bootstrap replicate.

    The draws of ``arch.bootstrap.StationaryBootstrap(block_length, ...)`` seeded with ``seed`` (made in numpy,
    see the module docstring); cached (read-only).
    All NaN when the axis is too short for the block length (:func:`enough_blocks`): every replicate mean,
    and so every interval built from it, is then NaN.
    """
    if n_sessions < 1:
        raise ValueError(f"bootstrap over {n_sessions} sessions: need at least one")
    if not enough_blocks(n_sessions, block_length):
        return _no_weights(int(n_sessions), int(reps))
    return _weights(int(n_sessions), block_length_for(block_length), int(reps), int(seed))


@functools.lru_cache(maxsize=32)
def _no_weights(n_sessions: int, reps: int) -> np.ndarray:
    weights = np.full((reps, n_sessions), np.nan)
    weights.setflags(write=False)
    return weights


def replicate_means(sums: np.ndarray, counts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Bootstrap means of many groups at once: ``(weights @ sums) / (weights @ counts)``.

    ``sums`` and ``counts`` are (n_sessions, groups): per session, the sum and number of a group's
    observations. Returns (reps, groups); NaN where a replicate drew none of a group's observations.
    """
    both = weights @ np.hstack([sums, counts])  # one matrix product for numerators and denominators
    totals, numbers = both[:, : sums.shape[1]], both[:, sums.shape[1]:]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(numbers > 0, totals / np.where(numbers > 0, numbers, 1.0), np.nan)


def percentile_interval(replicates: np.ndarray, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) per column: the percentile interval of bootstrap replicates (NaN replicates left out)."""
    tail = (1.0 - confidence) / 2.0 * 100.0
    replicates = np.asarray(replicates, dtype=np.float64)
    if replicates.ndim == 1:
        replicates = replicates[:, None]
    low = np.full(replicates.shape[1], np.nan)
    high = np.full(replicates.shape[1], np.nan)
    finite = np.isfinite(replicates)
    full = finite.all(axis=0)
    if full.any():  # the common case in one call
        low[full], high[full] = np.percentile(replicates[:, full], [tail, 100.0 - tail], axis=0)
    for column in np.flatnonzero(~full & finite.any(axis=0)):
        low[column], high[column] = np.percentile(replicates[finite[:, column], column], [tail, 100.0 - tail])
    return low, high


def session_positions(dates, calendar: pd.DatetimeIndex | None = None) -> np.ndarray:
    """Position of each session date in ``calendar`` (default: the XNYS sessions covering ``dates``).

    A date that is not a session counts as the next session. Positions start at 0 on the calendar's first
    session, so ``max + 1`` is the length of the bootstrap's session axis.
    """
    stamps = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates)).to_numpy(dtype="datetime64[ns]"))
    if calendar is None:
        from ..data.calendar import session_dates

        calendar = session_dates(stamps.min().date(), stamps.max().date()) if len(stamps) else pd.DatetimeIndex([])
    axis = pd.DatetimeIndex(calendar).as_unit("ns").asi8
    return np.searchsorted(axis, stamps.as_unit("ns").asi8, side="left").astype(np.int64)


def block_bootstrap_mean(values, sessions, *, block_length: int, reps: int = BOOTSTRAP_REPS, seed: int = SEED,
                         confidence: float = CONFIDENCE, n_sessions: int | None = None) -> MeanInterval:
    """Mean of ``values`` with a stationary block-bootstrap interval over the sessions they belong to.

    ``sessions[i]`` is the integer session position of observation ``i`` (:func:`session_positions`);
    observations sharing a session are drawn together, and sessions are drawn in blocks of mean length
    ``block_length`` (:func:`block_length_for`). NaN values are dropped first. The session axis runs from
    the first to the last observation's session, or is ``0 .. n_sessions - 1`` when given (several
    groups on one calendar: the scorecard and the event study use the span of all calls).
    """
    values = np.asarray(values, dtype=np.float64)
    sessions = np.asarray(sessions, dtype=np.int64)
    keep = ~np.isnan(values)
    values, sessions = values[keep], sessions[keep]
    n = int(len(values))
    if n == 0:
        return MeanInterval(np.nan, np.nan, np.nan, 0, 0, block_length_for(block_length))
    if n_sessions is None:
        sessions = sessions - sessions.min()
        n_sessions = int(sessions.max()) + 1
    elif sessions.min() < 0 or sessions.max() >= n_sessions:
        raise ValueError(f"session positions must lie in 0..{n_sessions - 1}")
    distinct = int(len(np.unique(sessions)))
    mean = float(values.mean())
    if distinct < 2:
        return MeanInterval(mean, np.nan, np.nan, n, distinct, block_length_for(block_length))
    sums = np.bincount(sessions, weights=values, minlength=n_sessions)[:, None]
    counts = np.bincount(sessions, minlength=n_sessions).astype(np.float64)[:, None]
    weights = bootstrap_weights(n_sessions, block_length, reps, seed)
    low, high = percentile_interval(replicate_means(sums, counts, weights), confidence)
    return MeanInterval(mean, float(low[0]), float(high[0]), n, distinct, block_length_for(block_length))


# ------------------------------------------------------------------------------------------ tests
def _mean_difference(a, b, axis=-1):
    return np.mean(a, axis=axis) - np.mean(b, axis=axis)


def permutation_difference(a, b, *, n_resamples: int = PERMUTATIONS, seed: int = SEED) -> Difference:
    """``mean(a) - mean(b)`` and the two-sided p-value of ``scipy.stats.permutation_test`` (labels shuffled).

    The null hypothesis is that the two groups' values are exchangeable (e.g. a call's excess return does
    not depend on whether the article was bullish or bearish). When the groups are small enough for every
    relabelling to be enumerated within ``n_resamples``, scipy computes the exact p-value. NaNs are dropped.

    Otherwise (the usual case) the Monte Carlo test is made here, as scipy makes it, bit for bit
    (:func:`_shuffled_test`): importing ``scipy.stats`` costs 0.7 s, more than the six tests of a 10k-setup
    scorecard, and scipy shuffles an index array and then gathers the values, where shuffling the values
    themselves gives the same rows at half the cost. ``tests/test_research_stats.py`` checks the two are
    equal (difference and p-value, ``==``) over sizes, ties, seeds, resample counts and batch bounds.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if len(a) < 2 or len(b) < 2:
        diff = float(a.mean() - b.mean()) if len(a) and len(b) else np.nan
        return Difference(diff, np.nan, int(len(a)), int(len(b)))
    path = _permutation_file(a, b, n_resamples, seed)
    if path is not None:
        try:
            kept = json.loads(path.read_text())
            return Difference(float(kept["difference"]), float(kept["p_value"]), int(len(a)), int(len(b)))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # absent or damaged: computed again below
    # batch bounds memory: scipy would otherwise hold n_resamples x (len(a) + len(b)) values at once
    batch = max(1, min(n_resamples, 4_000_000 // (len(a) + len(b))))
    if _enumerable(len(a), len(b), n_resamples):  # every relabelling fits: scipy enumerates them
        from scipy.stats import permutation_test

        result = permutation_test((a, b), _mean_difference, permutation_type="independent", vectorized=True,
                                  n_resamples=n_resamples, alternative="two-sided", batch=batch,
                                  rng=np.random.default_rng(seed))
        statistic, p_value = float(result.statistic), float(result.pvalue)
    else:
        statistic, p_value = _shuffled_test(a, b, n_resamples, batch, np.random.default_rng(seed))
    out = Difference(statistic, p_value, int(len(a)), int(len(b)))
    if path is not None:
        _write_atomically(path, json.dumps({"difference": out.difference, "p_value": out.p_value}).encode())
    return out


def _enumerable(n_a: int, n_b: int, n_resamples: int) -> bool:
    """scipy's test for the exact path: C(n_a + n_b, n_a) relabellings <= ``n_resamples`` (the binomial
    is only computed exactly when its logarithm says it may be small: at 100k calls it is a 0.1 s bignum)."""
    log_count = math.lgamma(n_a + n_b + 1) - math.lgamma(n_a + 1) - math.lgamma(n_b + 1)
    return log_count <= math.log(max(n_resamples, 1)) + 1.0 and math.comb(n_a + n_b, n_a) <= n_resamples


def _shuffled_test(a: np.ndarray, b: np.ndarray, n_resamples: int, batch: int,
                   rng: np.random.Generator) -> tuple[float, float]:
    """(observed difference, two-sided p-value) of ``scipy.stats.permutation_test``'s Monte Carlo path
    for ``permutation_type="independent"`` and :func:`_mean_difference`, on the same draws.

    scipy draws ``rng.permutation(n)`` once per resample, takes the pooled values in that order in
    batches of ``batch`` rows, and splits each row into the first ``len(a)`` and the rest. Shuffling a
    copy of the pooled values consumes the generator exactly as shuffling ``arange(n)`` does (the same
    Fisher-Yates loop over ``n`` items), so each row here is the row scipy gathers; the means are taken
    over the same (rows, n) layout and the p-value is scipy's: ``(count + 1) / (n_resamples + 1)`` on
    each side, with ties within ``100 * eps * |observed|``, twice the smaller side, clipped to 1.
    """
    pooled = np.concatenate([a, b])
    split, n = len(a), len(pooled)
    null = np.empty(n_resamples, dtype=np.float64)
    rows = np.empty((min(batch, n_resamples), n), dtype=np.float64)
    for lo in range(0, n_resamples, batch):
        size = min(batch, n_resamples - lo)
        for row in rows[:size]:
            row[:] = pooled
            rng.shuffle(row)  # numpy's shuffle runs without the GIL: the scorecard's tests share the cores
        null[lo:lo + size] = _mean_difference(rows[:size, :split], rows[:size, split:], axis=-1)
    observed = _mean_difference(a, b, axis=-1)
    gamma = np.abs(np.finfo(np.float64).eps * 100 * observed)
    less = (np.count_nonzero(null <= observed + gamma) + 1) / (n_resamples + 1)
    greater = (np.count_nonzero(null >= observed - gamma) + 1) / (n_resamples + 1)
    return float(observed), float(np.clip(min(less, greater) * 2, 0.0, 1.0))


#: Changes whenever :func:`permutation_difference` computes something else (statistic, alternative, batch).
_PERMUTATION_RULE = "mean-difference-two-sided-1"


def _permutation_file(a: np.ndarray, b: np.ndarray, n_resamples: int, seed: int) -> Path | None:
    """Where the test of exactly these samples is kept (with :func:`weight_cache`; None without). The
    result is a pure function of the two samples' values in order, ``n_resamples``, ``seed``, the rule
    (:data:`_PERMUTATION_RULE`) and scipy's and numpy's versions (numpy's generator makes the shuffles), so a re-run over unchanged calls reads it back instead of shuffling 100k values 999 times."""
    if _WEIGHT_DIR is None:
        return None
    from importlib.metadata import version

    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{_PERMUTATION_RULE}:{len(a)}:{len(b)}:{n_resamples}:{seed}:scipy{version('scipy')}:"
                  f"numpy{np.__version__}:".encode())
    digest.update(np.ascontiguousarray(a, dtype="<f8").tobytes())
    digest.update(np.ascontiguousarray(b, dtype="<f8").tobytes())
    return _WEIGHT_DIR / f"permutation-{digest.hexdigest()}.json"


def _write_atomically(path: Path, data: bytes) -> None:
    """``data`` into ``path`` by rename (readers see the old file or the new one); a cache that cannot be
    written only costs the work next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        pass


def spearman(x: Sequence[float], y: Sequence[float]) -> Correlation:
    """Spearman's rank correlation of aligned ``x`` and ``y``, pairs with a NaN dropped, and its p-value.

    What ``scipy.stats.spearmanr`` computes (``tests/test_research_stats.py`` checks they agree, ties
    included): rho is Pearson's correlation of the average ranks, and the two-sided p-value comes from the t
    distribution with n - 2 degrees of freedom, ``t = rho sqrt((n - 2) / (1 - rho²))``, through
    ``scipy.special.stdtr`` (scipy's own t CDF; ``scipy.special`` imports in a fraction of the time
    ``scipy.stats`` takes, and the Pulse table needs nothing else from it).
    """
    x = pd.to_numeric(pd.Series(np.asarray(x, dtype=object)), errors="coerce").to_numpy(dtype=np.float64)
    y = pd.to_numeric(pd.Series(np.asarray(y, dtype=object)), errors="coerce").to_numpy(dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = int(len(x))
    if n < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return Correlation(np.nan, np.nan, n)
    from scipy.special import stdtr

    rx = pd.Series(x).rank(method="average").to_numpy()
    ry = pd.Series(y).rank(method="average").to_numpy()
    rho = float(np.clip(np.corrcoef(rx, ry)[0, 1], -1.0, 1.0))
    with np.errstate(divide="ignore"):
        t = rho * math.sqrt((n - 2) / max(1.0 - rho * rho, 0.0)) if abs(rho) < 1.0 else math.inf
    p_value = 0.0 if math.isinf(t) else float(2.0 * stdtr(n - 2, -abs(t)))
    return Correlation(rho, p_value, n)


__all__ = ["SEED", "BOOTSTRAP_REPS", "PERMUTATIONS", "CONFIDENCE", "Rate", "MeanInterval", "Difference",
           "Correlation", "wilson", "wilson_arrays", "block_length_for", "MIN_BLOCKS", "enough_blocks", "bootstrap_weights", "weight_cache", "replicate_means",
           "percentile_interval", "session_positions", "block_bootstrap_mean", "permutation_difference",
           "spearman"]
