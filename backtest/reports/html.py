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
import math
from typing import TYPE_CHECKING, Any

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
    import plotly.io as pio

    # One template for every chart, set once (a template per figure costs more than drawing it);
    # the caller's default is restored afterwards.
    previous, pio.templates.default = pio.templates.default, "plotly_white"
    try:
        return _render(report)
    finally:
        pio.templates.default = previous


def _render(report: "Report") -> str:
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("backtest.reports", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    env.filters.update(pct=pct, num=num, rate=rate, cell=_cell)
    template = env.get_template("report.html.j2")
    s = report.summary
    return template.render(
        plotly_js=get_plotlyjs(),
        summary=s,
        run=s.get("run") or {},
        cfg=s["config"],
        totals=s["totals"],
        counts=s["counts"],
        stances=s["stances"],
        stance_chart=_div(stance_figure(report), "chart-stances"),
        article_charts=article_charts(report),
        pulse_chart=_div(pulse_figure(report), "chart-pulse"),
        equity_chart=_div(equity_figure(report), "chart-equity")
        if report.portfolio is not None and not report.portfolio_error else None,
        portfolio_error=report.portfolio_error,
        trade_columns=TRADE_VIEW,
        trades=report.trades.loc[:, TRADE_VIEW].head(TRADE_ROWS).astype(object).to_dict("records"),
        trades_total=len(report.trades),
        refused=_refused(report)[:REFUSED_ROWS],
        refused_total=report.refused,
        charted=len(report.charts),
        skipped=report.skipped,
    )


TRADE_VIEW = ["setup_id", "symbol", "direction", "entry_type", "entry_level", "stop", "targets", "status",
              "entry_time", "entry_price", "exit_time", "exit_price", "exit_reason", "return_pct", "r_multiple",
              "sessions_held", "ambiguous"]


def _cell(value: Any) -> str:
    from .writers import _cell as csv_cell

    text = csv_cell(value)
    if len(text) >= 19 and text[10] == "T" and text[4] == "-":  # an ISO timestamp: minutes are enough
        if text[10:19] == "T00:00:00" and len(text) == 19:
            return text[:10]  # a session date
        text = text[:16].replace("T", " ") + ("Z" if text.endswith("+00:00") else "")
    return text


def _refused(report: "Report") -> list[dict]:
    refused = report.trades[report.trades["status"].isin(REFUSED)]
    return [
        {"setup_id": r["setup_id"], "symbol": r["symbol"], "status": r["status"], "reason": r["reason"] or ""}
        for r in refused.astype(object).to_dict("records")
    ]


def _div(figure, div_id: str) -> str:
    figure.update_layout(margin=dict(l=50, r=20, t=40, b=40))  # template: see render_html
    return figure.to_html(full_html=False, include_plotlyjs=False, div_id=div_id,
                          config={"displaylogo": False, "responsive": True})


# ------------------------------------------------------------------------------------------- charts
def stance_figure(report: "Report"):
    """Bullish vs bearish vs neutral: mean trade return and mean directional-call excess per horizon."""
    import plotly.graph_objects as go

    stances = [r for r in report.summary["stances"] if r["stance"] != "all"]
    names = [r["stance"] for r in stances]
    figure = go.Figure()
    figure.add_bar(name="mean trade return %", x=names, y=[_nz(r["mean_return_pct"]) for r in stances],
                   marker_color="#1f77b4")
    for h in report.ledger.config.horizons:
        figure.add_bar(name=f"call excess vs {report.ledger.config.benchmark} {h}d %", x=names,
                       y=[_nz(r.get(f"call_mean_excess_pct_{h}d")) for r in stances])
    figure.update_layout(title="By stance", barmode="group", height=360, yaxis_title="%")
    return figure


def pulse_figure(report: "Report"):
    """Each entered trade's return against its article's Pulse score, coloured by stance."""
    import plotly.graph_objects as go

    trades = entered_trades(report.trades)
    figure = go.Figure()
    for stance, group in trades.groupby(trades["stance"].fillna("unknown"), sort=True):
        figure.add_scatter(
            x=pd.to_numeric(group["pulse"], errors="coerce"), y=pd.to_numeric(group["return_pct"], errors="coerce"),
            mode="markers", name=str(stance), text=group["setup_id"], marker=dict(size=10,
                                                                             color=STANCE_COLORS.get(stance)),
            hovertemplate="%{text}<br>pulse %{x}<br>return %{y:.2f}%<extra></extra>",
        )
    all_row = next((r for r in report.summary["stances"] if r["stance"] == "all"), {})
    rho = all_row.get("pulse_rho_return")
    subtitle = f"Spearman ρ = {rho:.2f} (n = {all_row.get('pulse_n_return')})" if rho is not None else \
        f"n = {all_row.get('pulse_n_return', 0)}: too few for a correlation"
    figure.update_layout(title=f"Pulse vs trade return — {subtitle}", height=360,
                         xaxis_title="Pulse score (0-100)", yaxis_title="return %")
    return figure


def equity_figure(report: "Report"):
    import plotly.graph_objects as go

    figure = go.Figure()
    equity = getattr(report.portfolio, "equity", None)
    if isinstance(equity, pd.Series) and len(equity):
        figure.add_scatter(x=[_day(i) for i in equity.index], y=equity.to_numpy(), mode="lines", name="equity")
    per_stance = getattr(report.portfolio, "per_stance", None)
    if isinstance(per_stance, dict):
        for stance, series in sorted(per_stance.items()):
            series = getattr(series, "equity", series)
            if isinstance(series, pd.Series) and len(series):
                figure.add_scatter(x=[_day(i) for i in series.index], y=series.to_numpy(), mode="lines",
                                   name=str(stance), line=dict(dash="dot", color=STANCE_COLORS.get(str(stance))))
    figure.update_layout(title="Follow every call: equity", height=360)
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


def candle_figure(chart: "ArticleChart"):
    import plotly.graph_objects as go

    window = chart.window
    x = [_day(i) for i in window.index]
    figure = go.Figure(go.Candlestick(x=x, open=window["open"], high=window["high"], low=window["low"],
                                      close=window["close"], name=chart.symbol, showlegend=False))
    # Levels far from the market are usually why a setup was refused: show them (the distance is the
    # explanation) unless they are so far that the candles would shrink to a line; the legend lists all.
    low, high = float(window["low"].min()), float(window["high"].max())
    span = high - low
    y_range = [low, high]
    for level in chart.levels:
        value = level.level
        if low - 2.5 * span <= value <= high + 2.5 * span:
            y_range = [min(y_range[0], value), max(y_range[1], value)]
        figure.add_scatter(x=[x[0], x[-1]], y=[value, value], mode="lines",
                           name=f"{level.setup_id} {level.name} {level.written:g}" + (" (refused)" if level.refused else ""),
                           line=dict(color=LEVEL_COLORS[level.name.split()[0]], width=1,
                                     dash="dot" if level.refused else "dash"))
    pub_x = chart.published_day
    figure.add_shape(type="line", x0=pub_x, x1=pub_x, y0=0, y1=1, yref="paper",
                     line=dict(color="#444", dash="dot", width=1))
    figure.add_annotation(x=pub_x, y=1, yref="paper", text="published", showarrow=False, yanchor="bottom")
    for kind, points in (("entry", chart.entries), ("exit", chart.exits)):
        if not points:
            continue
        marker = dict(symbol="triangle-up", size=12, color="#1f77b4") if kind == "entry" else \
            dict(symbol="x", size=11, color="#111")
        figure.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], text=[p[2] for p in points],
                           mode="markers", name=kind, marker=marker,
                           hovertemplate="%{text}<br>%{x}<br>%{y:.2f}<extra>" + kind + "</extra>")
    pad = 0.03 * (y_range[1] - y_range[0] or y_range[1] or 1.0)
    figure.update_yaxes(range=[y_range[0] - pad, y_range[1] + pad])
    figure.update_xaxes(rangebreaks=[dict(bounds=["sat", "mon"])])  # no empty weekend gaps
    figure.update_layout(title=f"{chart.symbol} — {chart.article_id}", height=420, xaxis_rangeslider_visible=False,
                         legend=dict(font=dict(size=10)))
    return figure


def _day(value) -> str:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _nz(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text)).strip("-").lower() or "x"
