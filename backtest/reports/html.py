"""``report.html``: one self-contained page (plotly.js inlined once; no network needed to view it).

Sections: headline numbers (with costs and ambiguity policy in the header), the per-stance comparison,
one candlestick chart per article and instrument (a few weeks before publication to the exit, the
article's levels as lines, the publication moment, entry/exit markers), the trades table, refused and
skipped items with their reasons, Pulse vs return, and the follow-every-call equity curve.

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
from .tables import _sort_key, entered_trades

if TYPE_CHECKING:
    from .build import Report

#: Calendar days of context shown before publication, and after the last exit, on article charts.
DAYS_BEFORE = 28
DAYS_AFTER = 7
#: How far an article chart runs when nothing was entered (sessions after publication).
SESSIONS_WITHOUT_EXIT = 30
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
        trades=[{c: row.get(c) for c in TRADE_VIEW} for row in report.trades.astype(object).to_dict("records")],
        refused=_refused(report),
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
    """One entry per article: its title and one candlestick chart per instrument it trades."""
    out = []
    trades = report.trades
    by_article = dict(iter(trades.groupby("article_id", sort=False))) if len(trades) else {}
    fills = exit_fills(report.ledger.exits)
    for setup_file in sorted(report.files, key=lambda f: (_sort_key(f.article.published_iso), f.article.id)):
        meta = setup_file.article
        mine = by_article.get(meta.id, trades.iloc[:0])
        symbols: list[str] = []
        for setup in setup_file.setups:
            symbols += [s for s in setup.symbols if s not in symbols]
        if not symbols:
            symbols = [s for s in meta.subject if s in report.bars][:1]
        charts = []
        for symbol in symbols:
            if symbol not in report.bars:
                continue
            figure = candle_figure(report, setup_file, symbol, mine, fills)
            if figure is not None:
                charts.append(_div(figure, f"chart-{_slug(meta.id)}-{_slug(symbol)}"))
        out.append({"id": meta.id, "title": meta.title or meta.id, "published": meta.published_iso,
                    "stance": meta.stance or "–", "pulse": meta.pulse, "charts": charts})
    return out


def candle_figure(report: "Report", setup_file, symbol: str, trades: pd.DataFrame, fills: dict | None = None):
    import plotly.graph_objects as go

    from ..data.splits import to_bar_basis

    bars = report.bars[symbol]
    meta = setup_file.article
    published = pd.Timestamp(meta.published)
    pub_day = published.tz_convert("America/New_York").tz_localize(None).normalize() if published.tzinfo \
        else published.normalize()
    on_symbol = [symbol in str(value).split("/") for value in trades["symbol"]]
    rows = trades.loc[pd.Series(on_symbol, index=trades.index, dtype=bool)]
    exits = pd.to_datetime(rows["exit_time"].map(_naive_day), errors="coerce").dropna()
    start = pub_day - pd.Timedelta(days=DAYS_BEFORE)
    frame = bars.frame
    if len(exits):
        end = exits.max() + pd.Timedelta(days=DAYS_AFTER)
    else:
        after = frame.index[frame.index > pub_day]
        end = after[min(len(after), SESSIONS_WITHOUT_EXIT) - 1] if len(after) else pub_day
    window = frame.loc[start:end]
    if not len(window):
        return None
    x = [_day(i) for i in window.index]
    figure = go.Figure(go.Candlestick(x=x, open=window["open"], high=window["high"], low=window["low"],
                                      close=window["close"], name=symbol, showlegend=False))
    refused = set(rows.loc[rows["status"] == "rejected", "setup_id"].astype(str))
    # Levels far from the market are usually why a setup was refused: show them (the distance is the
    # explanation) unless they are so far that the candles would shrink to a line; the legend lists all.
    low, high = float(window["low"].min()), float(window["high"].max())
    span = high - low
    y_range = [low, high]
    for setup in setup_file.setups:
        if setup.kind != "single" or setup.symbol != symbol:
            continue
        levels = [("entry", setup.entry.level), ("stop", setup.stop), ("invalidation", setup.invalidation)]
        levels += [(f"target {i + 1}" if len(setup.targets) > 1 else "target", t) for i, t in enumerate(setup.targets)]
        for name, level in levels:
            if level is None:
                continue
            value = to_bar_basis(level, meta.published, bars)
            if low - 2.5 * span <= value <= high + 2.5 * span:
                y_range = [min(y_range[0], value), max(y_range[1], value)]
            figure.add_scatter(x=[x[0], x[-1]], y=[value, value], mode="lines",
                               name=f"{setup.id} {name} {level:g}" + (" (refused)" if setup.id in refused else ""),
                               line=dict(color=LEVEL_COLORS[name.split()[0]], width=1,
                                         dash="dot" if setup.id in refused else "dash"))
    pub_x = _day(pub_day)
    figure.add_shape(type="line", x0=pub_x, x1=pub_x, y0=0, y1=1, yref="paper",
                     line=dict(color="#444", dash="dot", width=1))
    figure.add_annotation(x=pub_x, y=1, yref="paper", text="published", showarrow=False, yanchor="bottom")
    for kind, points in _fills(report, rows, symbol, fills).items():
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
    figure.update_layout(title=f"{symbol} — {meta.id}", height=420, xaxis_rangeslider_visible=False,
                         legend=dict(font=dict(size=10)))
    return figure


def exit_fills(exits: pd.DataFrame) -> dict[tuple[str, str], list[tuple]]:
    """``Ledger.exits`` grouped once: (setup id, leg) -> [(time, price), ...] in ledger order."""
    out: dict[tuple[str, str], list[tuple]] = {}
    if len(exits):
        for setup_id, leg, time, price in zip(exits["setup_id"], exits["leg"], exits["time"], exits["price"]):
            out.setdefault((setup_id, leg), []).append((time, price))
    return out


def _fills(report: "Report", rows: pd.DataFrame, symbol: str, by_leg: dict | None = None) -> dict[str, list[tuple]]:
    """Entry and exit points (day, price, label) of the trades on ``symbol``, pair legs included.

    Exits come from ``Ledger.exits`` (one point per tranche and leg; ``by_leg`` is :func:`exit_fills`
    of it, computed here when not given); a single without exit rows falls back to its
    ``exit_time``/``exit_price``.
    """
    if by_leg is None:
        by_leg = exit_fills(report.ledger.exits)
    points: dict[str, list[tuple]] = {"entry": [], "exit": []}
    for row in rows.astype(object).to_dict("records"):
        if row.get("kind") == "pair":
            leg = "long" if row.get("long_symbol") == symbol else "short"
            entry_price = row.get(f"{leg}_entry_price")
            label = f"{row['setup_id']} ({leg} leg)"
        else:
            leg, entry_price, label = "single", row.get("entry_price"), str(row["setup_id"])
        day = _naive_day(row.get("entry_time"))
        if day and _number(entry_price) is not None:
            points["entry"].append((day, _number(entry_price), label))
        fills = [(_naive_day(t), _number(p)) for t, p in by_leg.get((row["setup_id"], leg), [])]
        if not fills and leg == "single":
            fills = [(_naive_day(row.get("exit_time")), _number(row.get("exit_price")))]
        points["exit"] += [(d, p, f"{label} {row.get('exit_reason') or ''}".strip()) for d, p in fills
                           if d and p is not None]
    return points


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _naive_day(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(stamp):
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("America/New_York").tz_localize(None)
    return stamp.strftime("%Y-%m-%d")


def _day(value) -> str:
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    return str(value)[:10]


def _nz(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in str(text)).strip("-").lower() or "x"
