"""``report.html``: one self-contained page (plotly.js inlined once; no network needed to view it).

Sections: headline numbers (with costs and ambiguity policy in the header), the per-stance comparison,
a candlestick chart per instrument for the articles of ``Report.charts`` (at most
:data:`backtest.reports.build.MAX_ARTICLE_CHARTS` articles: all of a small run, the best and worst of a
large one; a few weeks before publication to the exit, the article's levels as lines, the publication
moment, entry/exit markers), the trades table (the first :data:`TRADE_ROWS` rows; all of them are in
``trades.csv``), refused and skipped items with their reasons, Pulse vs return, and the follow-every-call
equity curve. The page draws only what the :class:`~backtest.reports.build.Report` holds: it never reads
setup files or bars itself.

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
    from .build import ArticleChart, Report

#: Rows of the trades table shown in the page, and refused setups listed (every row is in trades.csv).
TRADE_ROWS = 2_000
REFUSED_ROWS = 500
LEVEL_COLORS = {"entry": "#1f77b4", "stop": "#d62728", "target": "#2ca02c", "invalidation": "#9467bd"}
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
        event_chart=_div(event_figure(report), "chart-event-study") if report.event_study is not None else None,
        event_error=report.research_errors.get("event_study"),
        counts=s["counts"],
        stances=s["stances"],
        stance_chart=_div(stance_figure(report), "chart-stances"),
        article_charts=article_charts(report),
        pulse_chart=_div(pulse_figure(report), "chart-pulse"),
        equity_chart=_div(equity_figure(report), "chart-equity")
        if report.portfolio is not None and not report.portfolio_error else None,
        portfolio_error=report.portfolio_error,
        trade_columns=TRADE_VIEW,
        trade_rows=trade_rows(report.trades.head(TRADE_ROWS)),
        trades_shown=min(TRADE_ROWS, len(report.trades)),
        trades_total=len(report.trades),
        refused=_refused(report)[:REFUSED_ROWS],
        refused_total=report.refused,
        charted=len(report.charts),
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


def event_figure(report: "Report") -> Figure:
    """Mean cumulative excess return by stance over sessions 0-60 after publication, with the 95 % band."""
    study = report.event_study
    benchmark = report.ledger.config.benchmark
    figure = Figure(title={"text": f"Event study: mean cumulative excess vs {benchmark}, by stance"}, height=380,
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


def trade_rows(trades: pd.DataFrame):
    """The trades table's ``<tr>`` rows as one HTML string (cells formatted column by column, escaped)."""
    from markupsafe import Markup, escape

    from .writers import column_cells

    columns = [[_short_time(text) for text in column_cells(trades[c], csv=False)] for c in TRADE_VIEW]
    text_columns = {"setup_id", "symbol", "status", "exit_reason"}
    opening = ['<td class="text">' if c in text_columns else "<td>" for c in TRADE_VIEW]
    rows = []
    for cells in zip(*columns):
        rows.append("<tr>" + "".join(f"{o}{escape(v)}</td>" for o, v in zip(opening, cells)) + "</tr>")
    return Markup("\n".join(rows))


def _short_time(text: str) -> str:
    """An ISO timestamp to the minute (a session date alone), as the tables show times."""
    if len(text) >= 19 and text[10] == "T" and text[4] == "-":
        if text[10:19] == "T00:00:00" and len(text) == 19:
            return text[:10]  # a session date
        return text[:16].replace("T", " ") + ("Z" if text.endswith("+00:00") else "")
    return text


def _refused(report: "Report") -> list[dict]:
    refused = report.trades[report.trades["status"].isin(REFUSED)]
    return [
        {"setup_id": r["setup_id"], "symbol": r["symbol"], "status": r["status"], "reason": r["reason"] or ""}
        for r in refused.astype(object).to_dict("records")
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


def article_charts(report: "Report") -> list[dict]:
    """One entry per charted article: its heading and one candlestick chart per instrument."""
    out = []
    for article in report.charts:
        charts = [_div(candle_figure(chart), f"chart-{_slug(article.article_id)}-{_slug(chart.symbol)}")
                  for chart in article.charts]
        out.append({"id": article.article_id, "title": article.title, "published": article.published,
                    "stance": article.stance or "–", "pulse": article.pulse, "charts": charts})
    return out


def candle_figure(chart: "ArticleChart") -> Figure:
    window = chart.window
    x = [_day(i) for i in window.index]
    figure = Figure(title={"text": f"{chart.symbol} — {chart.article_id}"}, height=420,
                    xaxis={"rangeslider": {"visible": False}, "rangebreaks": [{"bounds": ["sat", "mon"]}]},
                    legend={"font": {"size": 10}})
    figure.add("candlestick", x=x, open=window["open"].tolist(), high=window["high"].tolist(),
               low=window["low"].tolist(), close=window["close"].tolist(), name=chart.symbol, showlegend=False)
    # Levels far from the market are usually why a setup was refused: show them (the distance is the
    # explanation) unless they are so far that the candles would shrink to a line; the legend lists all.
    low, high = float(window["low"].min()), float(window["high"].max())
    span = high - low
    y_range = [low, high]
    for level in chart.levels:
        value = level.level
        if low - 2.5 * span <= value <= high + 2.5 * span:
            y_range = [min(y_range[0], value), max(y_range[1], value)]
        figure.add("scatter", x=[x[0], x[-1]], y=[value, value], mode="lines",
                   name=f"{level.setup_id} {level.name} {level.written:g}" + (" (refused)" if level.refused else ""),
                   line={"color": LEVEL_COLORS[level.name.split()[0]], "width": 1,
                         "dash": "dot" if level.refused else "dash"})
    pub_x = chart.published_day
    figure.layout["shapes"].append({"type": "line", "x0": pub_x, "x1": pub_x, "y0": 0, "y1": 1, "yref": "paper",
                                    "line": {"color": "#444", "dash": "dot", "width": 1}})
    figure.layout["annotations"].append({"x": pub_x, "y": 1, "yref": "paper", "text": "published",
                                         "showarrow": False, "yanchor": "bottom"})
    for kind, points in (("entry", chart.entries), ("exit", chart.exits)):
        if not points:
            continue
        marker = {"symbol": "triangle-up", "size": 12, "color": "#1f77b4"} if kind == "entry" else \
            {"symbol": "x", "size": 11, "color": "#111"}
        figure.add("scatter", x=[p[0] for p in points], y=[p[1] for p in points], text=[p[2] for p in points],
                   mode="markers", name=kind, marker=marker,
                   hovertemplate="%{text}<br>%{x}<br>%{y:.2f}<extra>" + kind + "</extra>")
    pad = 0.03 * (y_range[1] - y_range[0] or y_range[1] or 1.0)
    figure.layout["yaxis"] = {"range": [y_range[0] - pad, y_range[1] + pad]}
    return figure


def _day(value) -> str:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _nz(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text)).strip("-").lower() or "x"
