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
* ``charts``: the per-article chart data (bars window, levels, fills) for a bounded set of articles,
  at most :data:`MAX_ARTICLE_CHARTS` articles and :data:`MAX_CHARTS_PER_ARTICLE` instruments each (see
  :func:`chart_articles`), so a report over 100k setups stays one page of a few MB.

``write_report`` writes the files into a directory it is given (the run writes into a temporary folder
that :mod:`backtest.reports.outdir` swaps into place).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..common import Skip
from ..engine.ledger import REFUSED, Ledger
from ..setups.table import SetupTable
from . import tables
from .writers import frame_to_csv, frame_to_parquet, frame_to_records, to_json

FORMATS = ("html", "csv", "parquet", "json", "md")
#: Every file name a report folder can hold (besides the marker): what ``write_report`` may write.
REPORT_FILES = ("trades.csv", "articles.csv", "stances.csv", "calls.csv", "exits.csv", "scorecard.csv",
                "scorecard_trades.csv", "scorecard_differences.csv", "pulse.csv", "event_study.csv", "equity.csv",
                "trades.parquet", "summary.json", "report.md", "report.html")
#: The scorecard's tables and the files they are written to (``docs/reports.md`` defines every column).
SCORECARD_FILES = (("calls", "scorecard.csv"), ("trades", "scorecard_trades.csv"),
                   ("differences", "scorecard_differences.csv"), ("pulse", "pulse.csv"))
#: Articles that get candlestick charts in ``report.html`` (all of them when there are no more than this),
#: and instruments charted per article (its first ones, in setup order).
MAX_ARTICLE_CHARTS = 12
MAX_CHARTS_PER_ARTICLE = 4
#: Calendar days of context shown before publication, and after the last exit, on article charts.
DAYS_BEFORE = 28
DAYS_AFTER = 7
#: How far an article chart runs when nothing was entered (sessions after publication).
SESSIONS_WITHOUT_EXIT = 30


@dataclasses.dataclass
class ChartLevel:
    """One level line: the setup, the level's name (``entry``, ``stop``, ``target 2``...), as written and in
    the bars' basis, and whether the setup was refused."""

    setup_id: str
    name: str
    written: float
    level: float
    refused: bool


@dataclasses.dataclass
class ArticleChart:
    """What one candlestick chart shows: an article's instrument from a few weeks before publication to a
    week after the last exit, its levels, the publication day and the entry/exit fills ``(day, price, label)``."""

    article_id: str
    symbol: str
    published_day: str
    window: pd.DataFrame
    levels: list[ChartLevel]
    entries: list[tuple]
    exits: list[tuple]


@dataclasses.dataclass
class ArticleCharts:
    """An article of the chart set: its heading and its charts (one per instrument with bars)."""

    article_id: str
    title: str
    published: str | None
    stance: str | None
    pulse: int | None
    charts: list[ArticleChart]


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
    charts: list[ArticleCharts] = dataclasses.field(default_factory=list)
    portfolio: Any = None  # backtest.reports.portfolio.PortfolioResult, when it could be computed
    research: Any = None  # backtest.reports.research.Research

    @property
    def refused(self) -> int:
        """Setups refused before simulation (:data:`backtest.engine.ledger.REFUSED`)."""
        return int(self.trades["status"].isin(REFUSED).sum())

    @property
    def problems(self) -> int:
        """Skipped inputs plus refused setups plus a failed portfolio view (what the warning line counts)."""
        return len(self.skipped) + self.refused + (1 if self.portfolio_error else 0)

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
                 run_meta: dict | None = None, weight_cache: Path | None = None) -> Report:
    """All tables, the summary and the chart data of one run. ``run_meta`` is the wall-clock block;
    ``weight_cache`` the directory keeping the research figures' bootstrap draws between runs."""
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
        "stances": frame_to_records(stances),
        "skipped": [{"item": s.item, "kind": s.kind, "reason": s.reason} for s in skipped],
    }
    report = Report(trades=trades, articles=articles, stances=stances, calls=calls, summary=summary,
                    skipped=skipped, ledger=ledger, meta=table.articles, portfolio=portfolio, research=research)
    report.charts = article_charts(report, table)
    return report


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


# ------------------------------------------------------------------------------------------- charts
def chart_articles(articles: pd.DataFrame, limit: int = MAX_ARTICLE_CHARTS) -> list[str]:
    """The articles that get charts, in publication order: all of them up to ``limit``; beyond, the
    ``limit / 2`` with the best and the ``limit / 2`` with the worst total trade return (ties and any room
    left go to the earliest articles)."""
    ids = list(articles["article_id"])
    if len(ids) <= limit:
        return ids
    total = pd.to_numeric(articles["total_return_pct"], errors="coerce").to_numpy(dtype=float)
    traded = np.flatnonzero(~np.isnan(total))
    by_return = traded[np.lexsort((traded, total[traded]))]  # ascending return, then publication order
    half = limit // 2
    chosen = set(by_return[:half].tolist()) | set(by_return[::-1][:limit - half].tolist())
    for position in range(len(ids)):
        if len(chosen) >= limit:
            break
        chosen.add(position)
    return [ids[i] for i in sorted(chosen)]


def article_charts(report: Report, table: SetupTable) -> list[ArticleCharts]:
    """Chart data for :func:`chart_articles` (one chart per instrument the article trades and has bars for)."""
    bars = report.ledger.bars
    trades = report.trades
    chosen = chart_articles(report.articles)
    if not chosen:
        return []
    meta = table.articles.set_index("article_id", drop=False)
    setups = table.setups
    article_of = table.articles["article_id"].to_numpy(dtype=object)[setups["article"].to_numpy()]
    trade_articles = trades["article_id"].to_numpy(dtype=object)
    setups_of = {a: np.flatnonzero(article_of == a) for a in chosen}  # a few articles: a mask each
    trades_of = {a: np.flatnonzero(trade_articles == a) for a in chosen}
    mine_ids = set(trades["setup_id"].to_numpy(dtype=object)[np.concatenate(list(trades_of.values()))])
    exits = report.ledger.exits
    fills = _exit_fills(exits[exits["setup_id"].isin(mine_ids)])
    levels = report.ledger.coherence
    levels = levels[levels["setup_id"].isin(mine_ids)]
    out = []
    for article_id in chosen:
        m = meta.loc[article_id]
        mine = setups.iloc[setups_of.get(article_id, [])]
        rows = trades.iloc[trades_of.get(article_id, [])]
        symbols: list[str] = []
        for single, long_, short in zip(mine["symbol"], mine["long_symbol"], mine["short_symbol"]):
            symbols += [s for s in (single, long_, short) if isinstance(s, str) and s and s not in symbols]
        if not symbols:
            symbols = [s for s in m["subject"] if s in bars][:1]
        charts = []
        for symbol in [s for s in symbols if s in bars][:MAX_CHARTS_PER_ARTICLE]:
            chart = _chart(article_id, m["published"], symbol, bars[symbol].frame, rows, levels, fills)
            if chart is not None:
                charts.append(chart)
        out.append(ArticleCharts(article_id=article_id, title=m["title"] if isinstance(m["title"], str) else article_id,
                                 published=m["published"] if isinstance(m["published"], str) else None,
                                 stance=m["stance"] if isinstance(m["stance"], str) else None,
                                 pulse=None if pd.isna(m["pulse"]) else int(m["pulse"]), charts=charts))
    return out


def _chart(article_id, published, symbol, frame, trades, levels, fills) -> ArticleChart | None:
    if not isinstance(published, str):
        return None  # undated: there is no publication to centre the chart on
    stamp = pd.Timestamp(published)
    pub_day = stamp.tz_convert("America/New_York").tz_localize(None).normalize() if stamp.tzinfo else stamp.normalize()
    on_symbol = np.array([symbol in str(value).split("/") for value in trades["symbol"]], dtype=bool)
    rows = trades[on_symbol]
    exits = pd.to_datetime(rows["exit_time"], errors="coerce").dropna()
    start = pub_day - pd.Timedelta(days=DAYS_BEFORE)
    if len(exits):
        end = exits.max() + pd.Timedelta(days=DAYS_AFTER)
    else:
        after = frame.index[frame.index > pub_day]
        end = after[min(len(after), SESSIONS_WITHOUT_EXIT) - 1] if len(after) else pub_day
    window = frame.loc[start:end, ["open", "high", "low", "close"]]
    if not len(window):
        return None
    refused = set(rows.loc[rows["status"] == "rejected", "setup_id"].astype(str))
    chart_levels = []
    ids = set(rows.loc[rows["kind"] == "single", "setup_id"].astype(str))
    mine = levels[levels["setup_id"].isin(ids) & (levels["symbol"] == symbol)]
    for setup_id, group in mine.groupby("setup_id", sort=False):
        n_targets = int(group["level_name"].str.startswith("target").sum())
        for name, written, level in zip(group["level_name"], group["level_as_written"], group["level"]):
            shown = name if not name.startswith("target") else ("target" if n_targets == 1 else f"target {name[6:]}")
            chart_levels.append(ChartLevel(str(setup_id), shown, float(written), float(level), setup_id in refused))
    entries, exit_points = _fills(rows, symbol, fills)
    return ArticleChart(article_id=article_id, symbol=symbol, published_day=pub_day.strftime("%Y-%m-%d"),
                        window=window, levels=chart_levels, entries=entries, exits=exit_points)


def _exit_fills(exits: pd.DataFrame) -> dict[tuple[str, str], list[tuple]]:
    """``Ledger.exits`` grouped once: (setup id, leg) -> [(time, price), ...] in ledger order."""
    out: dict[tuple[str, str], list[tuple]] = {}
    for setup_id, leg, time, price in zip(exits["setup_id"], exits["leg"], exits["time"], exits["price"]):
        out.setdefault((setup_id, leg), []).append((time, price))
    return out


def _fills(rows: pd.DataFrame, symbol: str, by_leg: dict) -> tuple[list[tuple], list[tuple]]:
    """Entry and exit points (day, price, label) of the trades on ``symbol``, pair legs included: one exit
    point per tranche and leg (a single without exit rows falls back to its ``exit_time``/``exit_price``)."""
    entries, exits = [], []
    columns = ("setup_id", "kind", "long_symbol", "long_entry_price", "short_entry_price", "entry_price",
               "entry_time", "exit_time", "exit_price", "exit_reason")
    for values in zip(*(rows[c].to_numpy(dtype=object) for c in columns)):
        row = dict(zip(columns, values))
        if row["kind"] == "pair":
            leg = "long" if row["long_symbol"] == symbol else "short"
            entry_price = row[f"{leg}_entry_price"]
            label = f"{row['setup_id']} ({leg} leg)"
        else:
            leg, entry_price, label = "single", row["entry_price"], str(row["setup_id"])
        day = _day(row["entry_time"])
        if day and _number(entry_price) is not None:
            entries.append((day, _number(entry_price), label))
        points = [(_day(t), _number(p)) for t, p in by_leg.get((row["setup_id"], leg), [])]
        if not points and leg == "single":
            points = [(_day(row["exit_time"]), _number(row["exit_price"]))]
        reason = row["exit_reason"] if isinstance(row["exit_reason"], str) else ""
        exits += [(d, p, f"{label} {reason}".strip()) for d, p in points if d and p is not None]
    return entries, exits


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(number) else number


def _day(value) -> str | None:
    if value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value)[:10]  # a session date
    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("America/New_York").tz_localize(None)
    return stamp.strftime("%Y-%m-%d")


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
    """Write the requested formats into ``directory``; returns the file names written (sorted)."""
    written: list[str] = []
    if "csv" in formats:
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
            written.append(name)
    if "parquet" in formats:
        frame_to_parquet(report.trades, directory / "trades.parquet")
        written.append("trades.parquet")
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
    return sorted(written)
