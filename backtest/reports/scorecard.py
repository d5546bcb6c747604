"""The stance scorecard: did bullish or bearish calls do better, by how much, and how sure is that?

:func:`scorecard` ``(calls, trades, articles, bars)`` returns four tidy tables (:class:`Scorecard`), each
column declared once below and defined in ``docs/reports.md`` → *Research figures*:

* ``calls`` — per stance and horizon (1/5/20/60 sessions), over **distinct calls**
  (:mod:`backtest.reports.calls`: one per article on its primary symbol, identical calls once) whose
  window has finished: n articles, n calls, hit rate (the move had the call's sign) and beat rate
  (``excess_pct > 0``) with Wilson 95 % intervals, mean excess with the block-bootstrap 95 % interval;
* ``trades`` — per section (``explicit`` recommendations; ``conditional`` scenarios separately), stance
  and trade direction (``long``, ``short``, ``pair``, and ``all``), over entered trades with identical
  trades once (:func:`backtest.reports.portfolio.identical_calls`): n articles, n trades, win rate
  (``return_pct > 0``), beat rate (excess over the benchmark held over the same sessions > 0), mean
  return and mean excess with their intervals;
* ``differences`` — bullish minus bearish: mean excess per horizon (calls) and mean return per section
  (trades), with the two-sided permutation p-value and a block-bootstrap interval of the difference;
* ``pulse`` — over **articles** (not trades): Spearman's rho between the Pulse score and the article's
  call excess per horizon, with its p-value and n, and the spread of mean excess between the top and
  bottom Pulse quantiles, with its interval; for bullish and bearish articles together and apart.

Speed: each table is a few group-bys; every bootstrap interval of a table comes from one matrix product
per block length (``stats.replicate_means``) with the draws cached, so the scorecard is cheap to compute
hundreds of times over one calendar (issue 13's sweeps). The permutation tests are the costly part
(``PERMUTATIONS`` relabellings each); ``permutations`` trades their resolution for time.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from ..engine.ledger import entered_mask
from ..environment import default_threads
from . import stats
from .calls import CALL_INPUT_COLUMNS, article_calls, call_outcomes, one_call_each
from .inputs import bar_frames, require_columns, stance_labels
from .portfolio import IDENTICAL_CALL_KEY, identical_calls

HORIZONS = (1, 5, 20, 60)
STANCE_ORDER = ("bullish", "bearish", "neutral", "unknown")
#: Pulse quantile for the top-vs-bottom spread (0.2: top fifth vs bottom fifth).
PULSE_QUANTILE = 0.2

#: Trade columns the scorecard reads.
TRADE_INPUT_COLUMNS = tuple(dict.fromkeys(("setup_id", "article_id", "stance", "kind", "direction", "status",
                                           "entry_time", "exit_time", "return_pct", "explicit", "sessions_held")
                                          + IDENTICAL_CALL_KEY))
#: Article columns it reads (for Pulse).
ARTICLE_INPUT_COLUMNS = ("article_id", "stance", "pulse")

CALL_SCORE_COLUMNS = ("stance", "horizon", "n_articles", "n_calls", "hits", "hit_rate", "hit_low", "hit_high",
                      "beats", "beat_rate", "beat_low", "beat_high", "mean_excess_pct", "excess_low_pct",
                      "excess_high_pct", "block_length")
TRADE_SCORE_COLUMNS = ("section", "stance", "direction", "n_articles", "n_trades", "n_open", "wins", "win_rate", "win_low",
                       "win_high", "beats", "beat_rate", "beat_low", "beat_high", "mean_return_pct",
                       "return_low_pct", "return_high_pct", "mean_excess_pct", "excess_low_pct", "excess_high_pct",
                       "block_length")
DIFFERENCE_COLUMNS = ("section", "horizon", "measure", "bullish_mean_pct", "bearish_mean_pct", "difference_pct",
                      "low_pct", "high_pct", "p_value", "n_bullish", "n_bearish", "block_length")
PULSE_COLUMNS = ("group", "horizon", "n_articles", "rho", "p_value", "quantile", "n_top", "n_bottom",
                 "top_mean_excess_pct", "bottom_mean_excess_pct", "spread_pct", "spread_low_pct",
                 "spread_high_pct", "block_length")


@dataclasses.dataclass
class Scorecard:
    """The four scorecard tables (columns: ``CALL_SCORE_COLUMNS``, ``TRADE_SCORE_COLUMNS``, ``DIFFERENCE_COLUMNS``,
    ``PULSE_COLUMNS``) and the settings they were computed with."""

    calls: pd.DataFrame
    trades: pd.DataFrame
    differences: pd.DataFrame
    pulse: pd.DataFrame
    horizons: tuple[int, ...]
    reps: int
    permutations: int
    seed: int


# ------------------------------------------------------------------------------------------ helpers
def horizon_block(sessions: float, horizons=HORIZONS) -> int:
    """A holding period rounded up to the next scorecard horizon (beyond the last: itself), >= 1."""
    if not np.isfinite(sessions):
        return 1
    for h in sorted(horizons):
        if h >= sessions:
            return stats.block_length_for(h)
    return stats.block_length_for(int(np.ceil(sessions)))


def _stances(values) -> list[str]:
    present = set(pd.Series(values).unique().tolist())
    return [s for s in STANCE_ORDER if s in present] + sorted(present - set(STANCE_ORDER))


class _Bootstrap:
    """Group means with block-bootstrap intervals on one calendar axis (one matrix product per block length)."""

    def __init__(self, n_sessions: int, reps: int, seed: int):
        self.n_sessions, self.reps, self.seed = n_sessions, reps, seed

    def replicates(self, values, position, group, n_groups, block) -> tuple[np.ndarray, np.ndarray]:
        """(replicate means (reps, n_groups), distinct sessions per group); NaN values ignored."""
        keep = ~np.isnan(values)
        cell = position[keep] * n_groups + group[keep]  # (session, group) flattened; sums in input order
        size = self.n_sessions * n_groups
        sums = np.bincount(cell, weights=values[keep], minlength=size).reshape(self.n_sessions, n_groups)
        counts = np.bincount(cell, minlength=size).astype(np.float64).reshape(self.n_sessions, n_groups)
        spread = (counts > 0).sum(axis=0)
        weights = stats.bootstrap_weights(self.n_sessions, block, self.reps, self.seed)
        return stats.replicate_means(sums, counts, weights), spread

    def intervals(self, values, position, group, n_groups, block) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(low, high, replicates); NaN interval for a group on fewer than two sessions."""
        reps, spread = self.replicates(values, position, group, n_groups, block)
        low, high = stats.percentile_interval(reps)
        low[spread < 2], high[spread < 2] = np.nan, np.nan
        reps[:, spread < 2] = np.nan
        return low, high, reps


def _difference_interval(reps_a: np.ndarray, reps_b: np.ndarray) -> tuple[float, float]:
    if np.all(np.isnan(reps_a)) or np.all(np.isnan(reps_b)):
        return np.nan, np.nan
    low, high = stats.percentile_interval(reps_a - reps_b)
    return float(low[0]), float(high[0])


def _positions(dates, calendar) -> tuple[np.ndarray, int]:
    position = stats.session_positions(dates, calendar) if len(dates) else np.zeros(0, dtype=np.int64)
    if not len(position):
        return position, 1
    position = position - position.min()
    return position, int(position.max()) + 1


# ------------------------------------------------------------------------------------------ calls
def _call_tables(calls: pd.DataFrame, every: pd.DataFrame, horizons, boot_args, permutations, seed, calendar, tests):
    outcomes = call_outcomes(calls, horizons, every)
    # the axis is the span of every distinct call (as the event study's), so their intervals agree
    kept = one_call_each(calls, every)
    axis, n_sessions = _positions(kept["start_time"], calendar)
    axis_of = pd.Series(axis, index=kept["article_id"].to_numpy())
    stances = _stances(outcomes["stance"]) if len(outcomes) else []
    boot = _Bootstrap(n_sessions, *boot_args)
    rows, diffs = [], []
    for h in horizons:
        at = outcomes[(outcomes["horizon"] == h).to_numpy() & outcomes["excess_pct"].notna().to_numpy()]
        group = pd.Categorical(at["stance"], categories=stances).codes.astype(np.int64)
        excess = at["excess_pct"].to_numpy(dtype=float)
        signed = at["return_pct"].to_numpy(dtype=float)
        directional = at["direction"].isin(["long", "short"]).to_numpy()
        n = np.bincount(group, minlength=len(stances))
        n_articles = np.bincount(group, weights=at["articles"].to_numpy(dtype=float), minlength=len(stances))
        hits = np.bincount(group, weights=(directional & (signed > 0)), minlength=len(stances))
        beats = np.bincount(group, weights=(directional & (excess > 0)), minlength=len(stances))
        n_dir = np.bincount(group, weights=directional, minlength=len(stances))
        hit_rate, hit_low, hit_high = stats.wilson_arrays(hits, n_dir)
        beat_rate, beat_low, beat_high = stats.wilson_arrays(beats, n_dir)
        sums = np.bincount(group, weights=excess, minlength=len(stances))
        mean = np.divide(sums, n, out=np.full(len(stances), np.nan), where=n > 0)
        block = stats.block_length_for(h)
        position = axis_of.reindex(at["article_id"].to_numpy()).to_numpy(dtype=np.int64)
        low, high, reps = boot.intervals(excess, position, group, len(stances), block)
        for g, stance in enumerate(stances):
            rows.append({"stance": stance, "horizon": h, "n_articles": int(n_articles[g]), "n_calls": int(n[g]),
                         "hits": int(hits[g]) if n_dir[g] else None, "hit_rate": hit_rate[g], "hit_low": hit_low[g],
                         "hit_high": hit_high[g], "beats": int(beats[g]) if n_dir[g] else None,
                         "beat_rate": beat_rate[g], "beat_low": beat_low[g], "beat_high": beat_high[g],
                         "mean_excess_pct": mean[g], "excess_low_pct": low[g], "excess_high_pct": high[g],
                         "block_length": block})
        diffs.append(_difference_row("calls", h, "excess_pct", excess, group, stances, reps, block, permutations, seed,
                                     tests))
    return pd.DataFrame(rows, columns=list(CALL_SCORE_COLUMNS)), diffs


def _difference_row(section, horizon, measure, values, group, stances, reps, block, permutations, seed, tests) -> dict:
    """One row of scorecard_differences.csv; its permutation test runs on ``tests`` (a thread pool: the
    tests are independent and seeded, so their results do not depend on the order they run in), and
    :func:`_resolved` fills in its figures."""
    def side(stance):
        if stance not in stances:
            return np.zeros(0), np.full((reps.shape[0], 1), np.nan)
        g = stances.index(stance)
        return values[(group == g) & ~np.isnan(values)], reps[:, [g]]

    (bull, bull_reps), (bear, bear_reps) = side("bullish"), side("bearish")
    test = tests.submit(stats.permutation_difference, bull, bear, n_resamples=permutations, seed=seed)
    low, high = _difference_interval(bull_reps, bear_reps)
    return {"section": section, "horizon": horizon, "measure": measure,
            "bullish_mean_pct": float(bull.mean()) if len(bull) else np.nan,
            "bearish_mean_pct": float(bear.mean()) if len(bear) else np.nan,
            "low_pct": low, "high_pct": high, "block_length": block, "_test": test}


def _resolved(diffs: list[dict]) -> pd.DataFrame:
    """The difference rows with their permutation tests' figures (waits for the tests)."""
    rows = []
    for row in diffs:
        row = dict(row)
        test = row.pop("_test").result()
        row.update(difference_pct=test.difference, p_value=test.p_value, n_bullish=test.n_a, n_bearish=test.n_b)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(DIFFERENCE_COLUMNS)) if rows else _empty(DIFFERENCE_COLUMNS)


# ------------------------------------------------------------------------------------------ trades
def trade_excess(trades: pd.DataFrame, bars, benchmark: str = "SPY") -> np.ndarray:
    """Each trade's return minus the benchmark's over the same sessions, signed like the trade, in %.

    The benchmark is held from the open of the entry session to the close of the exit session (daily bars
    cannot say when inside a session a level filled); a short compares with shorting the benchmark. A pair
    is already hedged: its excess is its return. NaN without bars or where the benchmark has no such bar.
    """
    out = np.full(len(trades), np.nan)
    if bars is None or not len(trades):
        return out
    frames = bar_frames(bars, columns=("open", "close"))
    if benchmark not in frames:
        return out
    frame = frames[benchmark]
    dates = frame.index.asi8
    entry = pd.DatetimeIndex(pd.to_datetime(trades["entry_time"])).as_unit("ns").normalize().asi8
    exit_ = pd.DatetimeIndex(pd.to_datetime(trades["exit_time"])).as_unit("ns").normalize().asi8
    i = np.searchsorted(dates, entry)
    j = np.searchsorted(dates, exit_)
    ok = (i < len(dates)) & (j < len(dates)) & (entry != np.iinfo(np.int64).min) & (exit_ != np.iinfo(np.int64).min)
    ok &= dates[np.minimum(i, len(dates) - 1)] == entry
    ok &= dates[np.minimum(j, len(dates) - 1)] == exit_
    opens, closes = frame["open"].to_numpy(dtype=float), frame["close"].to_numpy(dtype=float)
    bench = (closes[np.minimum(j, len(dates) - 1)] / opens[np.minimum(i, len(dates) - 1)] - 1.0) * 100.0
    sign = np.where(trades["direction"].to_numpy() == "short", -1.0, 1.0)
    ret = pd.to_numeric(trades["return_pct"], errors="coerce").to_numpy(dtype=float)
    pair = (trades["kind"] == "pair").to_numpy()
    out = np.where(ok, ret - sign * bench, np.nan)
    out[pair] = ret[pair]
    return out


def _trade_tables(trades: pd.DataFrame, bars, benchmark, boot_args, permutations, seed, calendar, horizons, tests):
    entered = trades[entered_mask(trades).to_numpy()]
    if len(entered):  # identical trades once within a stance (each stance row counts its own articles' trades)
        entered = entered[identical_calls(entered, IDENTICAL_CALL_KEY + ("stance",)).isna().to_numpy()]
    entered = entered.assign(stance=stance_labels(entered["stance"]).to_numpy(),
                             trade_direction=np.where(entered["kind"].to_numpy() == "pair", "pair",
                                                      entered["direction"].astype(str).to_numpy()),
                             section=np.where(entered["explicit"].fillna(False).astype(bool).to_numpy(),
                                              "explicit", "conditional"),
                             excess=trade_excess(entered, bars, benchmark))
    axis, n_sessions = _positions(entered["entry_time"], calendar)
    boot = _Bootstrap(n_sessions, *boot_args)
    rows, diffs = [], []
    for section in ("explicit", "conditional"):
        mine = (entered["section"] == section).to_numpy()
        part = entered[mine]
        position = axis[mine]
        held = pd.to_numeric(part["sessions_held"], errors="coerce").to_numpy(dtype=float)
        block = horizon_block(float(np.nanmedian(held)) if np.isfinite(held).any() else 1.0, horizons)
        stances = _stances(part["stance"])
        cells = [(s, d) for s in stances for d in ("all", "long", "short", "pair")]
        ret = pd.to_numeric(part["return_pct"], errors="coerce").to_numpy(dtype=float)
        excess = part["excess"].to_numpy(dtype=float)
        stance_code = pd.Categorical(part["stance"], categories=stances).codes.astype(np.int64)
        direction = part["trade_direction"].to_numpy()
        # each trade is in its stance's "all" cell and in its direction's cell: two passes of the same sums
        code_all = stance_code * 4
        code_dir = stance_code * 4 + pd.Categorical(direction, categories=["all", "long", "short", "pair"]).codes
        values_ret, values_exc = np.concatenate([ret, ret]), np.concatenate([excess, excess])
        codes, pos2 = np.concatenate([code_all, code_dir]), np.concatenate([position, position])
        n_cells = len(cells)
        n = np.bincount(codes, weights=~np.isnan(values_ret), minlength=n_cells)
        wins = np.bincount(codes, weights=values_ret > 0, minlength=n_cells)
        still_open = np.tile((part["status"] == "open").to_numpy(), 2) & ~np.isnan(values_ret)
        n_open = np.bincount(codes, weights=still_open, minlength=n_cells)
        n_exc = np.bincount(codes, weights=~np.isnan(values_exc), minlength=n_cells)
        beats = np.bincount(codes, weights=values_exc > 0, minlength=n_cells)
        art = part["article_id"].astype(str).to_numpy()
        n_articles = pd.Series(np.concatenate([art, art])).groupby(codes).nunique().reindex(range(n_cells), fill_value=0)
        win_rate, win_low, win_high = stats.wilson_arrays(wins, n)
        beat_rate, beat_low, beat_high = stats.wilson_arrays(beats, n_exc)
        mean_ret = np.divide(np.bincount(codes, weights=np.nan_to_num(values_ret), minlength=n_cells), n,
                             out=np.full(n_cells, np.nan), where=n > 0)
        mean_exc = np.divide(np.bincount(codes, weights=np.nan_to_num(values_exc), minlength=n_cells), n_exc,
                             out=np.full(n_cells, np.nan), where=n_exc > 0)
        # one bootstrap for both measures: return cells 0..n-1, excess cells n..2n-1
        low, high, both = boot.intervals(np.concatenate([values_ret, values_exc]), np.concatenate([pos2, pos2]),
                                         np.concatenate([codes, codes + n_cells]), 2 * n_cells, block)
        r_low, r_high, r_reps = low[:n_cells], high[:n_cells], both[:, :n_cells]
        e_low, e_high = low[n_cells:], high[n_cells:]
        for c, (stance, trade_direction) in enumerate(cells):
            if n[c] == 0 and trade_direction != "all":
                continue  # no such trades: no row (the stance's "all" row is always there)
            rows.append({"section": section, "stance": stance, "direction": trade_direction,
                         "n_articles": int(n_articles.iloc[c]), "n_trades": int(n[c]), "n_open": int(n_open[c]),
                         "wins": int(wins[c]),
                         "win_rate": win_rate[c], "win_low": win_low[c], "win_high": win_high[c],
                         "beats": int(beats[c]) if n_exc[c] else None, "beat_rate": beat_rate[c],
                         "beat_low": beat_low[c], "beat_high": beat_high[c], "mean_return_pct": mean_ret[c],
                         "return_low_pct": r_low[c], "return_high_pct": r_high[c], "mean_excess_pct": mean_exc[c],
                         "excess_low_pct": e_low[c], "excess_high_pct": e_high[c], "block_length": block})
        # bullish minus bearish over each stance's "all" trades
        all_cells = [c for c, (_, d) in enumerate(cells) if d == "all"]
        diff_stances = [cells[c][0] for c in all_cells]
        diff_reps = r_reps[:, all_cells] if n_cells else np.zeros((boot.reps, 0))
        diffs.append(_difference_row(f"{section} trades", None, "return_pct", ret, stance_code, diff_stances,
                                     diff_reps, block, permutations, seed, tests))
    return pd.DataFrame(rows, columns=list(TRADE_SCORE_COLUMNS)), diffs


# ------------------------------------------------------------------------------------------ pulse
def _pulse_table(calls, every, articles, horizons, boot_args, calendar, quantile):
    if articles is None or not len(articles):
        return _empty(PULSE_COLUMNS)
    require_columns(articles, ARTICLE_INPUT_COLUMNS, "articles")
    pulse = pd.to_numeric(articles["pulse"], errors="coerce")
    pulse_of = pd.Series(pulse.to_numpy(dtype=float), index=articles["article_id"].astype(str).to_numpy())
    pulse_of = pulse_of[~pulse_of.index.duplicated()]
    # every article's own call (over articles: identical calls not merged)
    # the same calendar axis as the call table's (identical calls share their first session)
    axis, n_sessions = _positions(every["start_time"], calendar)
    boot = _Bootstrap(n_sessions, *boot_args)
    primary = calls[calls["primary"].fillna(False).astype(bool).to_numpy()] if "primary" in calls.columns else calls
    primary = primary.drop_duplicates(["article_id", "horizon"])
    excess_of = pd.Series(pd.to_numeric(primary["excess_pct"], errors="coerce").to_numpy(dtype=float),
                          index=pd.MultiIndex.from_arrays([primary["article_id"].astype(str).to_numpy(),
                                                           pd.to_numeric(primary["horizon"]).to_numpy()]))
    is_directional = every["direction"].isin(["long", "short"]).to_numpy()
    directional, position = every[is_directional], axis[is_directional]
    groups = ("directional", "bullish", "bearish")
    stance = directional["stance"].to_numpy()
    x = pulse_of.reindex(directional["article_id"].to_numpy()).to_numpy(dtype=float)
    rows = []
    for h in horizons:
        y = excess_of.reindex(pd.MultiIndex.from_arrays([directional["article_id"].to_numpy(),
                                                         np.full(len(directional), h)])).to_numpy(dtype=float)
        block = stats.block_length_for(h)
        # one bootstrap for the six sides (top and bottom of each group): columns 2g (top) and 2g + 1 (bottom)
        values, positions, columns, spread_rows = [], [], [], []
        for g, name in enumerate(groups):
            mask = ~np.isnan(x) & ~np.isnan(y) & ((stance == name) if name != "directional" else True)
            corr = stats.spearman(x[mask], y[mask])
            row = {"group": name, "horizon": h, "n_articles": corr.n, "rho": corr.rho, "p_value": corr.p_value,
                   "quantile": quantile, "n_top": 0, "n_bottom": 0, "top_mean_excess_pct": np.nan,
                   "bottom_mean_excess_pct": np.nan, "spread_pct": np.nan, "spread_low_pct": np.nan,
                   "spread_high_pct": np.nan, "block_length": block}
            rows.append(row)
            if corr.n < 2:
                continue
            xs, ys, ps = x[mask], y[mask], position[mask]
            top_cut, bottom_cut = np.quantile(xs, 1.0 - quantile), np.quantile(xs, quantile)
            top, bottom = xs >= top_cut, xs <= bottom_cut
            if not (top_cut > bottom_cut and top.any() and bottom.any()):
                continue  # too few distinct Pulse values to tell a top from a bottom
            row.update(n_top=int(top.sum()), n_bottom=int(bottom.sum()), top_mean_excess_pct=float(ys[top].mean()),
                       bottom_mean_excess_pct=float(ys[bottom].mean()),
                       spread_pct=float(ys[top].mean() - ys[bottom].mean()))
            for side, chosen in ((0, top), (1, bottom)):
                values.append(ys[chosen])
                positions.append(ps[chosen])
                columns.append(np.full(int(chosen.sum()), 2 * g + side))
            spread_rows.append((g, row))
        if spread_rows:
            reps, sessions = boot.replicates(np.concatenate(values), np.concatenate(positions),
                                             np.concatenate(columns), 2 * len(groups), block)
            for g, row in spread_rows:
                if min(sessions[2 * g], sessions[2 * g + 1]) >= 2:
                    lo, hi = stats.percentile_interval(reps[:, [2 * g]] - reps[:, [2 * g + 1]])
                    row.update(spread_low_pct=float(lo[0]), spread_high_pct=float(hi[0]))
    return pd.DataFrame(rows, columns=list(PULSE_COLUMNS))


def _empty(columns) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=float) for c in columns})


# ------------------------------------------------------------------------------------------ entry point
def scorecard(calls: pd.DataFrame, trades: pd.DataFrame | None, articles: pd.DataFrame | None = None, bars=None, *,
              horizons=HORIZONS, benchmark: str = "SPY", reps: int = stats.BOOTSTRAP_REPS,
              permutations: int = stats.PERMUTATIONS, seed: int = stats.SEED, calendar: pd.DatetimeIndex | None = None,
              pulse_quantile: float = PULSE_QUANTILE, threads: int | None = None) -> Scorecard:
    """The stance scorecard of ``calls`` (the ledger's calls frame), ``trades`` and ``articles`` (for Pulse).

    ``bars`` (symbol -> frame with ``open``/``close``) is needed only for the trades' excess over
    ``benchmark``; without it those columns are NaN. ``trades=None`` / ``articles=None`` skip the trade /
    Pulse tables (empty frames), for callers that need only the call figures. ``calendar`` fixes the bootstrap's session axis
    (default: XNYS sessions spanning the observations). Deterministic for a given ``seed``, whatever
    ``threads`` (how many permutation tests run at once; default :func:`default_threads`, 1 inside a sweep
    cell, whose worker already holds one core).
    """
    require_columns(calls, CALL_INPUT_COLUMNS, "calls")
    horizons = tuple(int(h) for h in horizons)
    boot_args = (int(reps), int(seed))
    every = article_calls(calls)
    # the permutation tests (seconds each on 100k calls: one shuffle of both samples per relabelling, with
    # the GIL released) run on every core while the tables are built
    tests = ThreadPoolExecutor(max_workers=default_threads() if threads is None else max(1, int(threads)))
    try:
        call_table, call_diffs = _call_tables(calls, every, horizons, boot_args, permutations, seed, calendar, tests)
        if trades is None:  # a sweep that only wants the call figures
            trade_table, trade_diffs = _empty(TRADE_SCORE_COLUMNS), []
        else:
            require_columns(trades, TRADE_INPUT_COLUMNS, "trades")
            trade_table, trade_diffs = _trade_tables(trades, bars, benchmark, boot_args, permutations, seed, calendar,
                                                     horizons, tests)
        pulse = _pulse_table(calls, every, articles, horizons, boot_args, calendar, pulse_quantile)
        differences = _resolved(call_diffs + trade_diffs)
    except BaseException:
        tests.shutdown(wait=False, cancel_futures=True)  # Ctrl-C or a failure: drop the queued tests at once
        raise
    tests.shutdown(wait=True)
    return Scorecard(_typed(call_table), _typed(trade_table), _typed(differences.reset_index(drop=True)),
                     _typed(pulse), horizons, int(reps), int(permutations), int(seed))


#: Count columns: nullable integers (empty where a count has no meaning, e.g. hits of neutral calls).
_COUNTS = ("horizon", "n_articles", "n_calls", "n_trades", "n_open", "hits", "beats", "wins", "n_bullish", "n_bearish",
           "n_top", "n_bottom", "block_length")


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as ``Int64``, text as ``str``, every other column ``float64``: stable dtypes for CSV/Parquet."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if column in _COUNTS:
            out[column] = pd.array(pd.to_numeric(values, errors="coerce"), dtype="Int64")
        elif column in ("stance", "section", "direction", "measure", "group"):
            out[column] = values.astype(str)
        else:
            out[column] = pd.to_numeric(values, errors="coerce").astype(np.float64)
    return pd.DataFrame(out, columns=frame.columns, index=frame.index)


__all__ = ["HORIZONS", "CALL_SCORE_COLUMNS", "TRADE_SCORE_COLUMNS", "DIFFERENCE_COLUMNS", "PULSE_COLUMNS",
           "Scorecard", "scorecard", "trade_excess", "horizon_block"]
