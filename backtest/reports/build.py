"""Assemble a :class:`Report` (every table, the summary and the chart data) and write it in the chosen formats.

``build_report`` is pure (no I/O): it takes the engine's :class:`~backtest.engine.ledger.Ledger` and the
setup table's article metadata and holds everything a renderer needs, so that no renderer reaches back
into the setups or the data layer:

* the tables written as files (``trades``, ``articles``, ``stances``, ``calls``) and ``summary``;
* the ledger itself: every exit fill (per tranche and pair leg), the calls, the levels of every single
  setup in both price bases (``ledger.coherence``: ``level_as_written`` and ``level`` in the bars' basis)
  and the bars the engine used (cut at ``--as-of``);
* ``meta``: the articles as the setup table holds them (title, publication and ``published_basis``,
  stance and ``stance_basis``, Pulse, Threat, subject);
* ``portfolio`` (the follow-every-call books) and ``research`` (the scorecard and the event study); the
  per-article chart data of report.html is built from these by :mod:`backtest.reports.article_data`;
* ``extremes``: the best and worst calls (:func:`backtest.reports.calls.best_and_worst`), each with the
  sentence it came from when the caller passes ``quotes`` (the run does: :mod:`backtest.setups.quotes`
  reads those few article files; nothing in this package reads one).

``write_report`` writes the files into a directory it is given (the run writes into a temporary folder
that :mod:`backtest.reports.outdir` swaps into place).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..common import Skip
from ..engine.ledger import REFUSED, Ledger
from ..setups.table import SetupTable
from . import tables
from .calls import best_and_worst
from .writers import fmt_value, frame_to_csv, frame_to_records, parquet_frame, to_json

FORMATS = ("html", "csv", "parquet", "json", "md")
#: Every file name a report folder can hold (besides the marker): what ``write_report`` may write.
REPORT_FILES = ("trades.csv", "articles.csv", "stances.csv", "calls.csv", "exits.csv", "scorecard.csv",
                "scorecard_trades.csv", "scorecard_differences.csv", "pulse.csv", "event_study.csv", "equity.csv",
                "trades.parquet", "summary.json", "report.md", "report.html")
#: The scorecard's tables and the files they are written to (``docs/reports.md`` defines every column).
SCORECARD_FILES = (("calls", "scorecard.csv"), ("trades", "scorecard_trades.csv"),
                   ("differences", "scorecard_differences.csv"), ("pulse", "pulse.csv"))
#: Calendar days of context shown before publication, and after the last exit, on article charts.
DAYS_BEFORE = 28
DAYS_AFTER = 7
#: How far an article chart runs when nothing was entered (sessions after publication).
SESSIONS_WITHOUT_EXIT = 30


@dataclasses.dataclass
class Report:
    """Everything a report directory contains, in memory (see the module docstring)."""

    trades: pd.DataFrame
    articles: pd.DataFrame
    stances: pd.DataFrame
    calls: pd.DataFrame
    summary: dict
    skipped: list[Skip]
    ledger: Ledger
    meta: pd.DataFrame
    portfolio: Any = None  # backtest.reports.portfolio.PortfolioResult, when it could be computed
    research: Any = None  # backtest.reports.research.Research
    extremes: list[dict] = dataclasses.field(default_factory=list)  # best and worst calls, with their quotes

    @property
    def refused(self) -> int:
        """Setups refused before simulation (:data:`backtest.engine.ledger.REFUSED`)."""
        return int(self.trades["status"].isin(REFUSED).sum())

    @property
    def problems(self) -> int:
        """Skipped inputs, refused setups, a failed portfolio view and failed research figures (the warning line)."""
        return len(self.skipped) + self.refused + (1 if self.portfolio_error else 0) + len(self.research_errors)

    @property
    def portfolio_error(self) -> str | None:
        return getattr(self.portfolio, "error", None)

    @property
    def exits(self) -> pd.DataFrame:
        return self.ledger.exits

    @property
    def scorecard(self):
        return getattr(self.research, "scorecard", None)

    @property
    def event_study(self) -> pd.DataFrame | None:
        return getattr(self.research, "event_study", None)

    @property
    def research_errors(self) -> dict[str, str]:
        return dict(getattr(self.research, "errors", None) or {})


def build_report(ledger: Ledger, table: SetupTable, *, load_skips: list[Skip] = (), portfolio: Any = None,
                 run_meta: dict | None = None, weight_cache: Path | None = None,
                 quotes: Callable[[list[tuple[str, str, str]]], list] | None = None) -> Report:
    """All tables, the summary and the chart data of one run. ``run_meta`` is the wall-clock block;
    ``weight_cache`` the directory keeping the research figures' bootstrap draws between runs; ``quotes``
    gives the :class:`~backtest.setups.quotes.Quote` of each ``(article_id, symbol, direction)`` call
    (called once, for the best and worst calls only; without it they have no quote)."""
    config = ledger.config
    bars = ledger.bars
    trades = tables.trades_table(ledger)
    calls = tables.calls_table(ledger)
    articles = tables.articles_table(table.articles, trades, calls, config.horizons)
    stances = tables.stances_table(articles, trades, calls, config.horizons)
    skipped = list(load_skips) + list(ledger.skipped)
    skipped += [Skip(item=s, reason=r if r.startswith(s) else f"{s}: {r}", kind="symbol")
                for s, r in sorted(bars.missing.items())
                if not any(k.kind == "symbol" and k.item == s for k in skipped)]
    total = tables.totals(trades)
    from .research import research_figures

    research = research_figures(trades, calls, table.articles, bars, horizons=config.horizons,
                                benchmark=config.benchmark, weight_cache=weight_cache)
    extremes = _with_quotes(best_and_worst(calls, config.horizons), quotes)
    summary = {
        "run": dict(run_meta or {}),
        "config": {
            **config.to_dict(),
            "costs_bps_per_side": config.commission_bps + config.slippage_bps,
        },
        "data": {
            "coverage": bars.coverage(),
            "missing": dict(sorted(bars.missing.items())),
            # What the data layer repaired or flagged (dropped bad rows, re-sorted dates, a corrupt
            # cache file passed over): the series was used, but the user should know.
            "notes": {symbol: list(bars.bars[symbol].notes) for symbol in sorted(bars.bars) if bars.bars[symbol].notes},
        },
        "counts": {
            "articles": len(table.articles),
            "setups": int(len(trades)),
            "by_status": total.pop("by_status"),
            "skipped": len(skipped),
        },
        "totals": total,
        "portfolio": _portfolio_summary(portfolio),
        "scorecard": _scorecard_summary(research),
        "event_study": _event_summary(research, config.horizons),
        "best_worst_calls": [{k: fmt_value(v) for k, v in row.items()} for row in extremes],
        "stances": frame_to_records(stances),
        "skipped": [{"item": s.item, "kind": s.kind, "reason": s.reason} for s in skipped],
    }
    report = Report(trades=trades, articles=articles, stances=stances, calls=calls, summary=summary,
                    skipped=skipped, ledger=ledger, meta=table.articles, portfolio=portfolio, research=research,
                    extremes=extremes)
    return report


def _with_quotes(rows: list[dict], quotes) -> list[dict]:
    """Each best/worst row with ``setup_id``, ``quote`` and ``quote_note`` (why there is no quote; both None
    when no ``quotes`` was given)."""
    found = quotes([(r["article_id"], r["symbol"], r["direction"]) for r in rows]) if quotes is not None and rows \
        else [None] * len(rows)
    return [{**r, "setup_id": getattr(q, "setup_id", None), "quote": getattr(q, "text", None),
             "quote_note": getattr(q, "note", None)} for r, q in zip(rows, found)]


#: The figures of each portfolio book in summary.json (``docs/reports.md`` → *Follow every call*).
BOOK_FIGURES = ("calls", "peak_live_calls", "capital", "pnl", "return_on_capital_pct", "sharpe", "max_drawdown_pct",
                "sum_of_trade_returns_pct")


def _book_summary(book) -> dict:
    out = {name: getattr(book, name) for name in BOOK_FIGURES}
    curve = book.curve
    out["first_session"] = str(curve.index[0])[:10] if len(curve) else None
    out["last_session"] = str(curve.index[-1])[:10] if len(curve) else None
    return out


def _portfolio_summary(portfolio: Any) -> dict | None:
    """summary.json's ``portfolio``: the whole book (the headline: return on capital) and one per stance."""
    if portfolio is None:
        return None
    if hasattr(portfolio, "error"):
        return {"error": portfolio.error}
    return {"headline": "return_on_capital_pct", "sizing": portfolio.sizing, "notional": portfolio.notional,
            "cost_bps_per_side": portfolio.cost_bps, "identical_calls_once": portfolio.dedupe,
            **_book_summary(portfolio.total),
            "per_stance": {name: _book_summary(book) for name, book in sorted(portfolio.per_stance.items())}}


def _scorecard_summary(research) -> dict:
    if "scorecard" in research.errors:
        return {"error": research.errors["scorecard"]}
    card = research.scorecard
    return {"confidence": 0.95, "bootstrap_reps": card.reps, "permutations": card.permutations, "seed": card.seed,
            "calls": frame_to_records(card.calls), "differences": frame_to_records(card.differences),
            "trades": frame_to_records(card.trades), "pulse": frame_to_records(card.pulse)}


def _event_summary(research, horizons) -> dict:
    """The event study at the scorecard's horizons (every session is in event_study.csv)."""
    if "event_study" in research.errors:
        return {"error": research.errors["event_study"]}
    study = research.event_study
    at = study[study["session"].isin([0, *horizons])]
    return {"sessions": int(study["session"].max()) if len(study) else 0, "at_horizons": frame_to_records(at)}


def equity_curves(portfolio: Any) -> pd.DataFrame | None:
    """equity.csv: one row per book and session (``book`` = ``all`` or a stance), the curve's columns."""
    if portfolio is None or hasattr(portfolio, "error"):
        return None
    parts = []
    for book in [portfolio.total, *(portfolio.per_stance[k] for k in sorted(portfolio.per_stance))]:
        curve = book.curve.reset_index()
        curve.insert(0, "book", book.name)
        parts.append(curve)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------------------------------------------- files
def write_report(report: Report, directory: Path, formats: tuple[str, ...]) -> list[str]:
    """Write the requested formats into ``directory``; returns the file names written (sorted).

    After the CSV files, trades.parquet is encoded and compressed by pyarrow on a second thread (it releases
    the GIL) while summary.json, report.md and report.html are made here; the function returns once every
    file is written, and a failure on that thread is raised here, as any other.
    """
    from concurrent.futures import ThreadPoolExecutor

    written = _write_csv(report, directory) if "csv" in formats else []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet") as pool:
        pending = None
        if "parquet" in formats:
            pending = pool.submit(parquet_frame(report.trades).to_parquet, directory / "trades.parquet", index=False)
        written += _write_documents(report, directory, formats)
        if pending is not None:
            pending.result()
            written.append("trades.parquet")
    return sorted(written)


def _write_csv(report: Report, directory: Path) -> list[str]:
    """The CSV files (:func:`write_report`); the names written."""
    frames = [("trades.csv", report.trades), ("articles.csv", report.articles), ("stances.csv", report.stances),
              ("calls.csv", report.calls), ("exits.csv", report.exits)]
    if report.scorecard is not None:
        frames += [(name, getattr(report.scorecard, part)) for part, name in SCORECARD_FILES]
    if report.event_study is not None:
        frames.append(("event_study.csv", report.event_study))
    curve = equity_curves(report.portfolio)
    if curve is not None:
        frames.append(("equity.csv", curve))
    for name, frame in frames:
        (directory / name).write_text(frame_to_csv(frame), encoding="utf-8")
    return [name for name, _ in frames]


def _write_documents(report: Report, directory: Path, formats: tuple[str, ...]) -> list[str]:
    """summary.json, report.md and report.html, those requested (:func:`write_report`); the names written."""
    written: list[str] = []
    if "json" in formats:
        (directory / "summary.json").write_text(to_json(report.summary), encoding="utf-8")
        written.append("summary.json")
    if "md" in formats:
        from .markdown import render_markdown

        (directory / "report.md").write_text(render_markdown(report), encoding="utf-8")
        written.append("report.md")
    if "html" in formats:
        from .html import render_html

        (directory / "report.html").write_text(render_html(report), encoding="utf-8")
        written.append("report.html")
    return written
