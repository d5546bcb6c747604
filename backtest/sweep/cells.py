"""One cell of a sweep: simulate the setup table under one :class:`SimConfig`, keep the headline figures.

:func:`evaluate_cell` is the unit of work of every executor (in-process or a Dask task): it takes the
setup table and the bars (loaded once, shared by every cell), runs the engine
(:func:`backtest.engine.simulation.simulate`) and the research scorecard
(:func:`backtest.reports.scorecard.scorecard`), and returns a small dict: the figures of
:data:`HEADLINE` and nothing else (the aggregates, never the trades). Each figure is read from a
scorecard table by name, so its definition is the scorecard's (``docs/reports.md``), never restated here.

The headline of a cell (``docs/sweep.md`` lists each column, generated from :data:`HEADLINE`):

* ``calls_*`` — the directional calls at one horizon (``--horizon``, default 20 sessions), per stance
  (bullish, bearish): n calls, beat rate (the call beat the benchmark) with its Wilson interval, mean
  excess with its block-bootstrap interval; ``calls_diff_*``: bullish minus bearish mean excess, its
  interval and permutation p-value;
* ``trades_*`` — the entered ``explicit`` trades, per stance: n trades, win rate, beat rate with its
  interval, mean return, mean excess with its interval; ``trades_diff_*``: bullish minus bearish mean
  return, interval and p-value;
* ``n_setups``, ``n_entered``: setups in the table and trades entered under the cell's rules.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ..engine.config import SimConfig
from ..schema import Column, Schema

#: The stances the headline reports (the difference is the first minus the second).
STANCES = ("bullish", "bearish")
#: Default horizon of the call figures.
DEFAULT_HORIZON = 20
#: The trade section of the headline (explicit recommendations; conditional scenarios are not mixed in).
TRADE_SECTION = "explicit"

# (column suffix, scorecard column, dtype, meaning)
_CALL_FIGURES = (
    ("n", "n_calls", "Int64", "distinct calls whose window finished"),
    ("beat_rate", "beat_rate", "float64", "share of calls that beat the benchmark"),
    ("beat_low", "beat_low", "float64", "Wilson 95 % interval of the beat rate, low"),
    ("beat_high", "beat_high", "float64", "... high"),
    ("mean_excess_pct", "mean_excess_pct", "float64", "mean excess over the benchmark, %"),
    ("excess_low_pct", "excess_low_pct", "float64", "block-bootstrap 95 % interval of the mean excess, low"),
    ("excess_high_pct", "excess_high_pct", "float64", "... high"),
)
_TRADE_FIGURES = (
    ("n", "n_trades", "Int64", "entered explicit trades (identical trades once)"),
    ("win_rate", "win_rate", "float64", "share with return_pct > 0"),
    ("beat_rate", "beat_rate", "float64", "share that beat the benchmark held over the same sessions"),
    ("beat_low", "beat_low", "float64", "Wilson 95 % interval of the beat rate, low"),
    ("beat_high", "beat_high", "float64", "... high"),
    ("mean_return_pct", "mean_return_pct", "float64", "mean return after costs, %"),
    ("mean_excess_pct", "mean_excess_pct", "float64", "mean excess over the benchmark, %"),
    ("excess_low_pct", "excess_low_pct", "float64", "block-bootstrap 95 % interval of the mean excess, low"),
    ("excess_high_pct", "excess_high_pct", "float64", "... high"),
)
_DIFFERENCE_FIGURES = (
    ("difference_pct", "difference_pct", "float64", "bullish minus bearish mean"),
    ("low_pct", "low_pct", "float64", "block-bootstrap 95 % interval of the difference, low"),
    ("high_pct", "high_pct", "float64", "... high"),
    ("p_value", "p_value", "float64", "two-sided permutation p-value of the difference (uncorrected)"),
)


def _headline_columns() -> tuple[Column, ...]:
    out = [Column("n_setups", "Int64", "setups in the table"),
           Column("n_entered", "Int64", "setups whose entry filled under the cell's rules (filled or open)")]
    for family, figures, what in (("calls", _CALL_FIGURES, "calls at the horizon"),
                                  ("trades", _TRADE_FIGURES, "explicit trades")):
        for stance in STANCES:
            out += [Column(f"{family}_{stance}_{suffix}", dtype, f"{stance} {what}: {meaning}")
                    for suffix, _, dtype, meaning in figures]
        measure = "mean excess of the calls" if family == "calls" else "mean return of the explicit trades"
        out += [Column(f"{family}_diff_{suffix}", dtype, f"{measure}: {meaning}")
                for suffix, _, dtype, meaning in _DIFFERENCE_FIGURES]
    return tuple(out)


#: The figures every cell reports, in column order (after the cell number and the axis values).
HEADLINE = Schema("sweep cells", _headline_columns())


@dataclasses.dataclass(frozen=True)
class CellOptions:
    """How the scorecard of each cell is computed (the same for every cell of a sweep)."""

    horizon: int = DEFAULT_HORIZON
    permutations: int = 999
    reps: int = 1000


def evaluate_cell(table, bars, config: SimConfig, options: CellOptions = CellOptions(), *,
                  threads: int | None = None) -> dict:
    """The headline figures (:data:`HEADLINE`) of ``table`` simulated on ``bars`` under ``config``; ``threads``
    bounds both the kernel's threads and the scorecard's concurrent permutation tests (a Dask worker passes 1:
    two workers with two threads each would oversubscribe two cores)."""
    from ..engine.ledger import entered_mask
    from ..engine.simulation import simulate
    from ..reports.scorecard import scorecard

    if options.horizon not in config.horizons:
        raise ValueError(f"the cell's horizons {config.horizons} lack the headline horizon {options.horizon}")
    ledger = simulate(table, bars, config, threads=threads)
    card = scorecard(ledger.calls, ledger.trades, None, ledger.bars, horizons=config.horizons, benchmark=config.benchmark,
                     reps=options.reps, permutations=options.permutations, threads=threads)
    row: dict = {"n_setups": len(ledger.trades), "n_entered": int(entered_mask(ledger.trades).sum())}
    calls = card.calls[card.calls["horizon"] == options.horizon]
    trades = card.trades[(card.trades["section"] == TRADE_SECTION) & (card.trades["direction"] == "all")]
    diffs = card.differences
    for family, table_, figures, diff in (
            ("calls", calls, _CALL_FIGURES,
             diffs[(diffs["section"] == "calls") & (diffs["horizon"] == options.horizon)]),
            ("trades", trades, _TRADE_FIGURES, diffs[diffs["section"] == f"{TRADE_SECTION} trades"])):
        for stance in STANCES:
            mine = table_[table_["stance"] == stance]
            for suffix, source, _, _ in figures:
                row[f"{family}_{stance}_{suffix}"] = _scalar(mine[source]) if len(mine) else (0 if suffix == "n" else None)
        for suffix, source, _, _ in _DIFFERENCE_FIGURES:
            row[f"{family}_diff_{suffix}"] = _scalar(diff[source]) if len(diff) else None
    return row


def _scalar(series):
    """The first value as a plain Python number (None when missing), so a cell pickles small."""
    value = series.iloc[0]
    if pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


__all__ = ["CellOptions", "DEFAULT_HORIZON", "HEADLINE", "evaluate_cell"]
