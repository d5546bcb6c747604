"""``report.html``: one self-contained page (plotly.js inlined once; no network needed to view it).

Sections, in reading order: the header (costs, ambiguity policy, windows, delay) and a stale-data banner;
the stance scorecard and the event-study chart (the answer, first); the headline numbers (the
follow-every-call return on capital first); the per-stance comparison; **every article**, listed by
the page's script from compact embedded data (:mod:`backtest.reports.article_data`) and drawn on demand
(a candlestick chart per instrument when the reader opens an article: 10k articles cost a few MB, not a
chart each); the trades table (the first :data:`TRADE_ROWS` rows, sortable and filterable; all of them are
in ``trades.csv``), refused and skipped items with their reasons, Pulse vs return, and the
follow-every-call P&L. The page draws only what the :class:`~backtest.reports.build.Report` holds: it
never reads setup files or bars itself. Its script is ``templates/report.js``.

Charts are built with plotly (imported here, never at CLI import time) and placed by the jinja2
template ``templates/report.html.j2``. Div ids are derived from content, so the same run renders the
same page.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..engine.ledger import REFUSED
from .markdown import num, pct, rate
from .tables import entered_trades

if TYPE_CHECKING:
    from .build import Report

#: Rows of the trades table shown in the page, and refused setups listed (every row is in trades.csv).
TRADE_ROWS = 1_000
REFUSED_ROWS = 250
STANCE_COLORS = {"bullish": "#2ca02c", "bearish": "#d62728", "neutral": "#7f7f7f", "unknown": "#bcbd22",
                 "all": "#1f77b4"}


def render_html(report: "Report") -> str:
    return _render(report)


class Figure:
    """A plotly figure as plain data (traces and layout): built without plotly's validating graph objects,
    which cost more than drawing the chart, and rendered by :func:`_div` (the page's plotly.js draws it)."""

    def __init__(self, **layout):
        self.data: list[dict] = []
        self.layout: dict = dict(layout)
        self.layout.setdefault("shapes", [])
        self.layout.setdefault("annotations", [])

    def add(self, kind: str, **trace) -> None:
        self.data.append({"type": kind, **trace})


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    """plotly's ``plotly_white`` template, read from plotly's package data (one small JSON file)."""
    import json
    import os

    import plotly

    path = os.path.join(os.path.dirname(plotly.__file__), "package_data", "templates", "plotly_white.json")
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _render(report: "Report") -> str:
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backtest.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    env.filters.update(pct=pct, num=num, rate=rate)
    template = env.get_template("report.html.j2")
    s = report.summary
    return template.render(
        plotly_js=get_plotlyjs(),
        summary=s,
        run=s.get("run") or {},
        cfg=s["config"],
        totals=s["totals"],
        staleness=(s.get("run") or {}).get("data_staleness"),
        book=_book_view(s.get("portfolio")),
        scorecard_rows=scorecard_rows(report),
        scorecard_error=report.research_errors.get("scorecard"),
        extremes=extreme_calls(report),
        event_chart=_div(event_figure(report), "chart-event-study") if report.event_study is not None else None,
        event_error=report.research_errors.get("event_study"),
        counts=s["counts"],
        stances=s["stances"],
        stance_chart=_div(stance_figure(report), "chart-stances"),
        article_json=_article_json(report),
        pulse_chart=_div(pulse_figure(report), "chart-pulse"),
        equity_chart=_div(equity_figure(report), "chart-equity")
        if report.portfolio is not None and not report.portfolio_error else None,
        portfolio_error=report.portfolio_error,
        trade_columns=TRADE_VIEW,
        trade_rows=trade_rows(report.trades.head(TRADE_ROWS)),
        trades_shown=min(TRADE_ROWS, len(report.trades)),
        trades_total=len(report.trades),
        refused=_refused(report, REFUSED_ROWS),
        refused_total=report.refused,
        skipped=report.skipped,
    )


def _book_view(portfolio: dict | None) -> dict:
    keys = ("return_on_capital_pct", "peak_live_calls", "notional")
    if not portfolio or "error" in portfolio:
        return {k: None if k == "return_on_capital_pct" else 0 for k in keys}
    return {k: portfolio.get(k) for k in keys}


def _interval(value, low, high, formatter) -> str:
    if value is None or value != value:
        return "–"
    inside = "" if low is None or low != low else f" [{formatter(low)}, {formatter(high)}]"
    return formatter(value) + inside


def scorecard_rows(report: "Report") -> list[dict]:
    """The scorecard's call table as the page shows it: one row per stance x horizon, rates and means with
    their intervals, and the bullish-minus-bearish difference with its p-value on the bullish row."""
    card = report.scorecard
    if card is None:
        return []
    diffs = card.differences
    diffs = diffs[diffs["section"] == "calls"].set_index("horizon") if len(diffs) else diffs
    rows = []
    for r in card.calls.astype(object).where(card.calls.notna(), None).to_dict("records"):
        diff = ""
        if r["stance"] == "bullish" and len(diffs) and r["horizon"] in diffs.index:
            d = diffs.loc[r["horizon"]]
            p = d["p_value"]
            diff = pct(d["difference_pct"]) + (f" (p = {p:.3f})" if p == p else " (p: too few)")
        mean = r["mean_excess_pct"]
        rows.append({"stance": r["stance"], "horizon": r["horizon"], "n": r["n_calls"],
                     "hit": _interval(r["hit_rate"], r["hit_low"], r["hit_high"], rate),
                     "excess": _interval(mean, r["excess_low_pct"], r["excess_high_pct"], pct),
                     "tone": "" if mean is None else ("good" if mean > 0 else "bad" if mean < 0 else ""),
                     "diff": diff})
    return rows


def extreme_calls(report: "Report") -> list[dict]:
    """The best and worst calls (``report.extremes``) as both reports show them: the article's title, the
    excess as a signed percentage and its tone, the quote (or the note saying why there is none)."""
    titles = report.meta.set_index("article_id")["title"]
    return [{"rank": r["rank"], "article": r["article_id"], "title": titles.get(r["article_id"]) or r["article_id"],
             "stance": r["stance"], "symbol": r["symbol"], "start": r["start"], "horizon": r["horizon"],
             "excess": pct(r["excess_pct"]),
             "tone": "good" if r["excess_pct"] > 0 else "bad" if r["excess_pct"] < 0 else "",
             "quote": r.get("quote"), "quote_note": r.get("quote_note")}
            for r in report.extremes]


def event_figure(report: "Report") -> Figure:
    """Mean cumulative excess return by stance over sessions 0-60 after publication, with the 95 % band."""
    study = report.event_study
    benchmark = report.ledger.config.benchmark
    figure = Figure(title={"text": f"Cumulative excess vs {benchmark}, by stance"}, height=380,
                    xaxis={"title": {"text": "sessions after publication"}},
                    yaxis={"title": {"text": "cumulative excess return, % (signed by the call)"}},
                    legend={"orientation": "h", "y": -0.25})
    for stance, group in study.groupby("stance", sort=False):
        color = STANCE_COLORS.get(str(stance), "#444")
        x = group["session"].tolist()
        low, high = _numbers(group["low_pct"]), _numbers(group["high_pct"])
        figure.add("scatter", x=x + x[::-1], y=high + low[::-1], fill="toself", mode="lines", line={"width": 0},
                   fillcolor=color, opacity=0.15, name=f"{stance} 95 % band", hoverinfo="skip", showlegend=False)
        figure.add("scatter", x=x, y=_numbers(group["mean_excess_pct"]), mode="lines", name=str(stance),
                   line={"color": color}, text=[f"n = {n}" for n in group["calls"]],
                   hovertemplate="%{x} sessions: %{y:.2f}% (%{text})<extra>" + str(stance) + "</extra>")
    return figure


TRADE_VIEW = ["setup_id", "symbol", "direction", "entry_type", "entry_level", "stop", "targets", "status",
              "entry_time", "entry_price", "exit_time", "exit_price", "exit_reason", "return_pct", "r_multiple",
              "sessions_held", "ambiguous"]


def _article_json(report: "Report"):
    """The embedded article data as JSON text that cannot close its ``<script>`` element early."""
    from markupsafe import Markup

    from .article_data import article_json

    text = article_json(report)
    return Markup(text.replace("</", "<\\/").replace("<!--", "<\\!--"))


#: Trade columns shown as signed percentages (red below zero, green above).
PERCENT_COLUMNS = ("return_pct",)


def trade_rows(trades: pd.DataFrame):
    """The trades table's ``<tr>`` rows as one HTML string (cells formatted column by column, escaped);
    returns as ``+1.23%`` in green or red, the exact value kept in ``data-v`` for sorting."""
    from markupsafe import Markup, escape

    from .writers import column_cells

    columns = [[_short_time(text) for text in column_cells(trades[c], csv=False)] for c in TRADE_VIEW]
    text_columns = {"setup_id", "symbol", "status", "exit_reason"}
    for c in PERCENT_COLUMNS:
        at = TRADE_VIEW.index(c)
        values = pd.to_numeric(trades[c], errors="coerce").to_numpy(dtype=float)
        columns[at] = [(raw, "" if v != v else pct(v), "good" if v > 0 else "bad" if v < 0 else "")
                       for raw, v in zip(columns[at], values)]
    rows = []
    for cells in zip(*columns):
        parts = []
        for name, value in zip(TRADE_VIEW, cells):
            if isinstance(value, tuple):
                raw, shown, tone = value
                parts.append(f'<td class="{tone}" data-v="{escape(raw)}">{escape(shown)}</td>')
            else:
                parts.append(f'<td class="text">{escape(value)}</td>' if name in text_columns else f"<td>{escape(value)}</td>")
        rows.append("<tr>" + "".join(parts) + "</tr>")
    return Markup("\n".join(rows))


def _short_time(text: str) -> str:
    """An ISO timestamp to the minute (a session date alone), as the tables show times."""
    if len(text) >= 19 and text[10] == "T" and text[4] == "-":
        if text[10:19] == "T00:00:00" and len(text) == 19:
            return text[:10]  # a session date
        return text[:16].replace("T", " ") + ("Z" if text.endswith("+00:00") else "")
    return text


def _refused(report: "Report", limit: int | None = None) -> list[dict]:
    """The first ``limit`` refused setups (all when None): id, symbol, status and reason."""
    trades = report.trades
    refused = trades.loc[trades["status"].isin(REFUSED).to_numpy(), ["setup_id", "symbol", "status", "reason"]]
    return [
        {"setup_id": r["setup_id"], "symbol": r["symbol"], "status": r["status"], "reason": r["reason"] or ""}
        for r in refused.head(len(refused) if limit is None else limit).astype(object).to_dict("records")
    ]


def _div(figure: Figure, div_id: str) -> str:
    import plotly.io as pio

    layout = {"template": _template(), "margin": dict(l=50, r=20, t=40, b=40), **figure.layout}
    return pio.to_html({"data": figure.data, "layout": layout}, validate=False, full_html=False,
                       include_plotlyjs=False, div_id=div_id, config={"displaylogo": False, "responsive": True})


# ------------------------------------------------------------------------------------------- charts
def stance_figure(report: "Report") -> Figure:
    """Bullish vs bearish vs neutral: mean trade return and mean directional-call excess per horizon."""
    stances = [r for r in report.summary["stances"] if r["stance"] != "all"]
    names = [r["stance"] for r in stances]
    figure = Figure(title={"text": "By stance"}, barmode="group", height=360, yaxis={"title": {"text": "%"}})
    figure.add("bar", name="mean trade return %", x=names, y=[_nz(r["mean_return_pct"]) for r in stances],
               marker={"color": "#1f77b4"})
    for h in report.ledger.config.horizons:
        figure.add("bar", name=f"call excess vs {report.ledger.config.benchmark} {h}d %", x=names,
                   y=[_nz(r.get(f"call_mean_excess_pct_{h}d")) for r in stances])
    return figure


#: Points drawn in the Pulse scatter at most (evenly spaced through the trades when there are more).
PULSE_POINTS = 5_000


def pulse_figure(report: "Report") -> Figure:
    """Each entered trade's return against its article's Pulse score, coloured by stance."""
    trades = entered_trades(report.trades)
    shown = trades if len(trades) <= PULSE_POINTS else \
        trades.iloc[np.linspace(0, len(trades) - 1, PULSE_POINTS).astype(int)]
    all_row = next((r for r in report.summary["stances"] if r["stance"] == "all"), {})
    rho = all_row.get("pulse_rho_return")
    subtitle = f"Spearman ρ = {rho:.2f} (n = {all_row.get('pulse_n_return')})" if rho is not None else \
        f"n = {all_row.get('pulse_n_return', 0)}: too few for a correlation"
    if len(shown) < len(trades):
        subtitle += f"; {len(shown):,} of {len(trades):,} trades drawn"
    figure = Figure(title={"text": f"Pulse vs trade return — {subtitle}"}, height=360,
                    xaxis={"title": {"text": "Pulse score (0-100)"}}, yaxis={"title": {"text": "return %"}})
    for stance, group in shown.groupby(shown["stance"].fillna("unknown"), sort=True):
        figure.add("scatter", x=_numbers(group["pulse"]), y=_numbers(group["return_pct"]), mode="markers",
                   name=str(stance), text=list(group["setup_id"]),
                   marker={"size": 10, "color": STANCE_COLORS.get(stance)},
                   hovertemplate="%{text}<br>pulse %{x}<br>return %{y:.2f}%<extra></extra>")
    return figure


def _numbers(values) -> list:
    return [None if v != v else v for v in pd.to_numeric(values, errors="coerce").astype(float).tolist()]


def equity_figure(report: "Report") -> Figure:
    """The follow-every-call book's P&L in % of its capital, session by session, and each stance's book."""
    figure = Figure(title={"text": "Follow every call: P&L on capital"}, height=360,
                    xaxis={"title": {"text": "session"}}, yaxis={"title": {"text": "P&L, % of the book's capital"}})
    portfolio = report.portfolio
    books = [portfolio.total, *(portfolio.per_stance[k] for k in sorted(portfolio.per_stance))]
    for book in books:
        curve = book.curve
        if len(curve):
            figure.add("scatter", x=[_day(i) for i in curve.index], y=curve["pnl_pct"].tolist(), mode="lines",
                       name=book.name, line={"color": STANCE_COLORS.get(book.name),
                                             "dash": "solid" if book.name == "all" else "dot"})
    return figure


def _day(value) -> str:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _nz(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
