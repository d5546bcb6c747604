"""``report.md``: a one-screen summary for email or Slack (headline, stances, refused/skipped counts)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..engine.ledger import REFUSED

if TYPE_CHECKING:
    from .build import Report


def pct(value, digits: int = 2) -> str:
    """``+1.23%`` or an en dash for missing."""
    return "–" if value is None or value != value else f"{value:+.{digits}f}%"


def num(value, digits: int = 2) -> str:
    return "–" if value is None or value != value else f"{value:.{digits}f}"


def rate(value) -> str:
    return "–" if value is None or value != value else f"{100 * value:.0f}%"


#: Skipped inputs and refused setups listed in report.md (the rest are counted).
NOTES = 6


def render_markdown(report: "Report") -> str:
    s = report.summary
    cfg, totals, counts = s["config"], s["totals"], s["counts"]
    run = s.get("run") or {}
    lines = [f"# Backtest report {run.get('id', '')}".rstrip(), ""]
    staleness = run.get("data_staleness") or {}
    if staleness.get("stale"):
        lines += [f"> **Stale data:** the newest bar ({staleness['newest_bar']}) is {staleness['sessions_behind']} "
                  f"sessions older than the run date ({staleness['run_date']}).", ""]
    lines += scorecard_lines(report, cfg)
    book = s.get("portfolio") or {}
    if "error" in book:
        lines += [f"Follow every call: {book['error']}.", ""]
    elif book:
        lines += [f"**Follow every call: {pct(book['return_on_capital_pct'])} return on capital** "
                  f"({book['calls']} calls, capital {book['peak_live_calls']} peak live calls x "
                  f"{book['notional']:g}; Sharpe {num(book['sharpe'])}, max drawdown {pct(book['max_drawdown_pct'])}).", ""]
    lines += [
        f"{counts['articles']} articles, {counts['setups']} setups, {totals['filled']} entered; "
        f"hit rate {rate(totals['hit_rate'])}, sum of trade returns {pct(totals['total_return_pct'])} "
        f"(ambiguity bounds: worst {pct(totals['total_return_pct_worst'])}, best {pct(totals['total_return_pct_best'])}), "
        f"mean R {num(totals['mean_r'])}.",
        f"Ambiguous bars: {totals['ambiguous_trades']} trades (total {pct(totals['total_return_pct_stop_first'])} "
        f"stop-first, {pct(totals['total_return_pct_target_first'])} target-first); policy **{cfg['ambiguity']}**, "
        f"costs {cfg['costs_bps_per_side']:g} bps per side, delay {cfg.get('delay', 0)} session(s)"
        + (f", as of {cfg['as_of']}" if cfg.get("as_of") else "") + ".",
        "",
        "| stance | articles | setups | entered | hit rate | mean return | mean R |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in s["stances"]:
        lines.append(
            f"| {row['stance']} | {row['articles']} | {row['setups']} | {row['filled']} | {rate(row['hit_rate'])} "
            f"| {pct(row['mean_return_pct'])} | {num(row['mean_r'])} |"
        )
    status = ", ".join(f"{k} {v}" for k, v in counts["by_status"].items()) or "none"
    lines += ["", f"Status: {status}. Skipped inputs: {counts['skipped']}."]
    trades = report.trades
    refused = trades.loc[trades["status"].isin(REFUSED).to_numpy(), ["setup_id", "status", "reason"]]
    notes = [f"- skipped: {skip.reason}" for skip in report.skipped[:NOTES]]
    notes += [f"- {r['status']} `{r['setup_id']}`: {_short(r['reason'])}"
              for r in refused.head(max(0, NOTES - len(notes))).astype(object).to_dict("records")]
    if notes:
        more = len(report.skipped) + len(refused) - NOTES
        lines.append("")
        lines += notes
        if more > 0:
            lines.append(f"- … {more} more in trades.csv / summary.json")
    return "\n".join(lines) + "\n"


def scorecard_lines(report: "Report", cfg: dict) -> list[str]:
    """The scorecard (stance x horizon: n, hit rate and mean excess with 95 % intervals, bullish minus bearish
    with its permutation p-value), the top of report.md."""
    from .html import scorecard_rows

    error = report.research_errors.get("scorecard")
    if error:
        return [f"Scorecard: {error}.", ""]
    rows = scorecard_rows(report)
    out = ["## Did bullish or bearish calls do better?", "",
           f"Distinct directional calls whose window has finished; excess = signed return minus {cfg['benchmark']} "
           "over the same sessions; 95 % intervals; p = permutation test of bullish minus bearish.", "",
           "| stance | horizon | n | hit rate [95 %] | mean excess [95 %] | bull - bear (p) |",
           "|---|---:|---:|---:|---:|---:|"]
    out += [f"| {r['stance']} | {r['horizon']}d | {r['n']} | {r['hit']} | {r['excess']} | {r['diff']} |" for r in rows]
    from .html import extreme_calls

    extremes = extreme_calls(report)
    if extremes:
        out += ["", f"Best and worst calls ({extremes[0]['horizon']} sessions), each with the sentence of the setup "
                "it agrees with:", ""]
        for r in extremes:
            said = f': "{md_escape(r["quote"])}"' if r["quote"] else f" (no quote: {r['quote_note']})" \
                if r["quote_note"] else ""
            out.append(f"- {r['rank']} {r['excess']} {r['stance']} {md_escape(r['symbol'])} from {r['start']} "
                       f"({md_escape(_short(r['title'], 60))}){said}")
    return out + [""]


#: Characters with a meaning in Markdown inside a line (backslash-escaped in third-party text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~]|&(?=#?\w+;))")


def md_escape(text) -> str:
    """Third-party text (a title, a quote) as literal Markdown: every character that could start emphasis,
    code, a link, HTML, a table cell or an entity reference is backslash-escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", "" if text is None else str(text))


def _short(text, limit: int = 140) -> str:
    text = "" if text is None or text != text else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
