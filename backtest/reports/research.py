"""The research figures of a run: the stance scorecard and the event study, computed from the report's tables.

:func:`research_figures` is what ``build_report`` calls: it hands the trades, calls and articles tables
(the same frames trades.csv, calls.csv and articles.csv are written from) and the bars the engine used to
:func:`backtest.reports.scorecard.scorecard` and :func:`backtest.reports.event_study.event_study`, with the
run's horizons and benchmark. Each figure is a secondary view of the ledger: if one cannot be computed the
run keeps its trades and the report says why (``Research.errors``, in summary.json and in the report).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd


@dataclasses.dataclass
class Research:
    """``scorecard`` (:class:`~backtest.reports.scorecard.Scorecard`) and ``event_study`` (tidy frame,
    :data:`~backtest.reports.event_study.EVENT_COLUMNS`), each None when it failed; ``errors`` maps the
    figure's name to a one-line reason."""

    scorecard: object | None
    event_study: pd.DataFrame | None
    errors: dict[str, str]


def research_figures(trades: pd.DataFrame, calls: pd.DataFrame, articles: pd.DataFrame, bars, *, horizons,
                     benchmark: str, weight_cache: Path | None = None) -> Research:
    """The scorecard and the event study of one run (see the module docstring); ``weight_cache``: the
    directory that keeps the bootstrap draws between runs (:func:`backtest.reports.stats.weight_cache`)."""
    from .stats import weight_cache as cached_weights

    with cached_weights(weight_cache):
        return _figures(trades, calls, articles, bars, horizons, benchmark)


def _figures(trades, calls, articles, bars, horizons, benchmark) -> Research:
    errors: dict[str, str] = {}
    card = study = None
    try:
        from .scorecard import scorecard

        card = scorecard(calls, trades, articles, bars, horizons=horizons, benchmark=benchmark)
    except Exception as exc:  # noqa: BLE001 - recorded, see the module docstring
        errors["scorecard"] = _line("scorecard", exc)
    try:
        from .event_study import event_study

        study = event_study(calls, bars, benchmark=benchmark)
    except Exception as exc:  # noqa: BLE001
        errors["event_study"] = _line("event study", exc)
    return Research(card, study, errors)


def _line(what: str, exc: Exception) -> str:
    return f"{what} failed: {type(exc).__name__}: {exc}".splitlines()[0]


__all__ = ["Research", "research_figures"]
