"""Assemble a :class:`Report` (all tables + summary) from a ledger, and write it in the chosen formats.

``build_report`` is pure (no I/O); ``write_report`` writes the files into a directory it is given (the
caller wraps it in :func:`backtest.reports.writers.atomic_directory`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd

from ..data.bars import BarSet
from ..common import Skip
from ..engine.ledger import REFUSED, Ledger
from ..setups.model import SetupFile
from . import tables
from .writers import frame_to_csv, frame_to_parquet, frame_to_records, to_json

FORMATS = ("html", "csv", "parquet", "json", "md")
#: Every file name a report folder can hold (besides the marker): what ``write_report`` may write.
REPORT_FILES = ("trades.csv", "articles.csv", "stances.csv", "calls.csv", "trades.parquet", "summary.json",
                "report.md", "report.html")


@dataclasses.dataclass
class Report:
    """Everything a report directory contains, in memory."""

    trades: pd.DataFrame
    articles: pd.DataFrame
    stances: pd.DataFrame
    calls: pd.DataFrame
    summary: dict
    skipped: list[Skip]
    files: list[SetupFile]
    bars: BarSet
    ledger: Ledger
    portfolio: Any = None  # backtest.engine.portfolio.PortfolioView, when it could be computed

    @property
    def problems(self) -> int:
        """Skipped inputs plus setups refused for data/coherence/resolution reasons (what --strict counts)."""
        refused = int(self.trades["status"].isin(REFUSED).sum())
        return len(self.skipped) + refused + (1 if self.portfolio_error else 0)

    @property
    def portfolio_error(self) -> str | None:
        return getattr(self.portfolio, "error", None)


def build_report(
    ledger: Ledger,
    files: list[SetupFile],
    bars: BarSet,
    *,
    load_skips: list[Skip] = (),
    portfolio: Any = None,
    run_meta: dict | None = None,
) -> Report:
    """All tables and the summary for one run. ``run_meta`` is the wall-clock block (kept separate)."""
    config = ledger.config
    trades = tables.trades_table(ledger)
    calls = tables.calls_table(ledger)
    articles = tables.articles_table(files, trades, calls, config.horizons)
    stances = tables.stances_table(articles, trades, calls, config.horizons)
    skipped = list(load_skips) + list(ledger.skipped)
    skipped += [Skip(item=s, reason=r if r.startswith(s) else f"{s}: {r}", kind="symbol")
                for s, r in sorted(bars.missing.items())
                if not any(k.kind == "symbol" and k.item == s for k in skipped)]
    total = tables.totals(trades)
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
            "articles": len(files),
            "setups": int(len(trades)),
            "by_status": total.pop("by_status"),
            "skipped": len(skipped),
        },
        "totals": total,
        "portfolio": _portfolio_summary(portfolio),
        "stances": frame_to_records(stances),
        "skipped": [{"item": s.item, "kind": s.kind, "reason": s.reason} for s in skipped],
    }
    return Report(trades=trades, articles=articles, stances=stances, calls=calls, summary=summary,
                  skipped=skipped, files=files, bars=bars, ledger=ledger, portfolio=portfolio)


def _portfolio_summary(portfolio: Any) -> dict | None:
    if portfolio is None:
        return None
    if hasattr(portfolio, "error"):
        return {"error": portfolio.error}
    out = {}
    for name in ("sharpe", "max_drawdown", "total_return_pct", "trades"):
        if hasattr(portfolio, name):
            value = getattr(portfolio, name)
            out[name] = value() if callable(value) else value
    per_stance = getattr(portfolio, "per_stance", None)
    if isinstance(per_stance, dict):
        out["per_stance"] = {
            str(stance): {name: getattr(stats, name) for name in ("sharpe", "max_drawdown", "total_return_pct", "trades")
                          if hasattr(stats, name)}
            for stance, stats in sorted(per_stance.items())
        }
    equity = getattr(portfolio, "equity", None)
    if isinstance(equity, pd.Series) and len(equity):
        out["equity_first"] = str(equity.index[0])[:10]
        out["equity_last"] = str(equity.index[-1])[:10]
        out["equity_final"] = float(equity.iloc[-1])
    return out


def write_report(report: Report, directory: Path, formats: tuple[str, ...]) -> list[str]:
    """Write the requested formats into ``directory``; returns the file names written (sorted)."""
    written: list[str] = []
    if "csv" in formats:
        for name, frame in (("trades.csv", report.trades), ("articles.csv", report.articles),
                            ("stances.csv", report.stances), ("calls.csv", report.calls)):
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
