"""The engine's output: the typed :class:`Ledger`, its four tables declared once (columns, dtypes, meaning).

The schemas below are the only place the ledger's columns are listed: the engine builds its frames
through them (:meth:`backtest.schema.Schema.frame`), the reports write them, and ``docs/tables.md`` is
generated from them (a test keeps the two equal). ``trades`` columns are a public interface
(``trades.csv``, ``docs/reports.md``): names are kept, new ones are only ever appended.

Vocabulary: :data:`STATUSES` (what happened to a setup), :data:`ENTERED` / :func:`entered_mask` (a trade
whose entry filled), :data:`REFUSED` (refused before simulation).
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ..common import Skip  # noqa: F401  (re-exported: the ledger carries skips)
from ..data.bars import BarSet
from ..schema import Column, Schema
from .config import SimConfig  # noqa: F401  (re-exported: the ledger carries the config it ran under)

#: Status of a setup after simulation. ``open`` = still running (or its entry order still working) when the
#: data (or --as-of) ended; ``undated`` = its article has no publication date, so nothing can be evaluated.
STATUSES = ("filled", "open", "expired", "cancelled", "rejected", "unresolved", "no-data", "undated")
#: Statuses whose entry may have filled: ``filled`` (exited) or ``open`` (see :func:`entered_mask`).
ENTERED = ("filled", "open")
#: Statuses of setups refused before simulation (resolution, level ordering or coherence, data, date).
REFUSED = ("rejected", "no-data", "unresolved", "undated")

TRADES = Schema("trades", (
    Column("setup_id", "str", "the setup's id"),
    Column("article_id", "str", "its article's id"),
    Column("published", "str", "the article's publication as written (ISO 8601; a date alone means after that "
                               "day's close)"),
    Column("stance", "str", "the article's stance: bullish, bearish, neutral (empty: none)"),
    Column("pulse", "Int64", "the article's Pulse score, 0-100"),
    Column("threat", "Int64", "the article's Threat Level, 0-5"),
    Column("symbol", "str", "traded symbol; `LONG/SHORT` for a pair; `?` when unresolved"),
    Column("direction", "str", "`long` or `short` (a pair is long the spread)"),
    Column("kind", "str", "`single` or `pair`"),
    Column("entry_type", "str", "`market`, `stop`, `limit` or `close` (close-confirmed)"),
    Column("entry_level", "float64", "entry trigger as written (article's price basis)"),
    Column("stop", "float64", "stop as written"),
    Column("targets", "object", "targets as written, in order (`;`-separated in CSV)"),
    Column("status", "str", "filled, open, expired, cancelled, rejected, unresolved, no-data, undated"),
    Column("reason", "str", "why a setup was not traded, or how it ended unusually (one line)"),
    Column("entry_time", "datetime64[ns]", "session date of the entry fill"),
    Column("entry_price", "float64", "entry fill, bars' basis (singles)"),
    Column("exit_time", "datetime64[ns]", "session date of the last exit fill"),
    Column("exit_price", "float64", "fraction-weighted average of the exit fills, bars' basis (singles)"),
    Column("exit_reason", "str", "`stop`, `time`, `end-of-data`, `target1`, `target2`, ... (of the last fill)"),
    Column("return_pct", "float64", "return in % of the entry notional, after costs, in the trade's direction"),
    Column("r_multiple", "float64", "return in units of the initial risk (entry fill to stop)"),
    Column("mae_pct", "float64", "maximum adverse excursion while held, % (<= 0)"),
    Column("mfe_pct", "float64", "maximum favourable excursion while held, % (>= 0)"),
    Column("sessions_held", "Int64", "sessions from entry to exit, both included"),
    Column("ambiguous", "bool", "some bar's order of events was unknown and the ambiguity policy decided"),
    Column("instrument", "str", "the instrument in the article's words"),
    Column("explicit", "bool", "an explicit recommendation (true) or a conditional scenario (false)"),
    Column("invalidation", "float64", "invalidation level as written"),
    Column("incoherent", "bool", "the levels failed the market-coherence check (simulated with "
                                 "--include-incoherent)"),
    Column("first_session", "datetime64[ns]", "the first session that opens after publication (`delay` sessions "
                                             "later when acting late: `--delay`); a pair's, the legs' first common one"),
    Column("ref_date", "datetime64[ns]", "the last session that closed at or before publication (coherence)"),
    Column("ref_close", "float64", "that session's close, bars' basis"),
    Column("long_symbol", "str", "a pair's long leg"),
    Column("short_symbol", "str", "a pair's short leg"),
    Column("long_return_pct", "float64", "a pair's long-leg return, %, after costs"),
    Column("short_return_pct", "float64", "a pair's short-leg price move at cost-adjusted fills, % (positive is a "
                                          "loss for the short)"),
    Column("return_pct_stop_first", "float64", "`return_pct` under the stop-first policy"),
    Column("return_pct_target_first", "float64", "`return_pct` under the target-first policy"),
    Column("long_entry_price", "float64", "a pair's long-leg entry fill"),
    Column("short_entry_price", "float64", "a pair's short-leg entry fill"),
    Column("return_pct_worst", "float64", "the lowest `return_pct` the documented rules give from these bars: the "
                                          "minimum over the ambiguity policies and the one in use "
                                          "(`engine/bounds.py`); worst <= return_pct <= best"),
    Column("return_pct_best", "float64", "the highest such `return_pct` (the maximum over the same results)"),
    Column("published_basis", "str", "how the article's publication date was known: `stated`, `inferred` (a lower "
                                     "bound: the article may have appeared later) or `manual`"),
    Column("stance_basis", "str", "`stated` in the article, `derived` from its explicit setups, or empty"),
))

EXITS = Schema("exits", (
    Column("setup_id", "str", "the setup's id"),
    Column("leg", "str", "`single`, or `long` / `short` for a pair's legs"),
    Column("tranche", "int64", "1, 2, ...: the fills of one leg in order"),
    Column("fraction", "float64", "fraction of the position this fill closed"),
    Column("time", "datetime64[ns]", "session date of the fill"),
    Column("price", "float64", "fill price, bars' basis"),
    Column("reason", "str", "`target1`, `target2`, ..., `stop`, `time`, `end-of-data`"),
))

CALLS = Schema("calls", (
    Column("article_id", "str", "the article's id"),
    Column("stance", "str", "its stance"),
    Column("symbol", "str", "a subject symbol"),
    Column("direction", "str", "`long` (bullish), `short` (bearish) or `neutral`"),
    Column("horizon", "int64", "window length in sessions"),
    Column("start_time", "datetime64[ns]", "first eligible session (the window opens at its open)"),
    Column("start_price", "float64", "that open"),
    Column("end_time", "datetime64[ns]", "the session `horizon - 1` later (its close ends the window); empty when the "
                                         "data ends first"),
    Column("end_price", "float64", "that close"),
    Column("return_pct", "float64", "the symbol's price return over the window, %, unsigned"),
    Column("benchmark_return_pct", "float64", "the benchmark's return over the same session dates (its open on "
                                              "`start_time`, its close on `end_time`), %"),
    Column("excess_pct", "float64", "`sign x (return - benchmark)`: positive when the call beat the benchmark"),
    Column("hit", "boolean", "the return has the call's sign; empty for neutral calls and unfinished windows"),
    Column("primary", "bool", "the article's first subject symbol: the one aggregates count (one opinion, one call)"),
    Column("reason", "str", "why the row has no excess (undated, no bars, a series that starts late, the window "
                            "not over, no benchmark bar on one of its dates); empty when it has one"),
))

COHERENCE = Schema("coherence", (
    Column("setup_id", "str", "the setup's id (singles that had bars)"),
    Column("symbol", "str", "its symbol"),
    Column("level_name", "str", "`entry`, `stop`, `target1`, ..., `invalidation`"),
    Column("level", "float64", "the level in the bars' basis (converted across splits)"),
    Column("ref_date", "datetime64[ns]", "the reference session (last close at or before publication)"),
    Column("ref_close", "float64", "its close"),
    Column("atr14", "float64", "ATR(14) at the reference session"),
    Column("distance_pct", "float64", "`(level / ref_close - 1) x 100`"),
    Column("distance_atr", "float64", "`(level - ref_close) / atr14`"),
    Column("verdict", "str", "`ok`, `far`, `wrong-side` or `no-reference`"),
    Column("level_as_written", "float64", "the level as the article wrote it (publication-date basis)"),
))

#: Column names in order (kept for callers that list columns; the schemas above are the declaration).
TRADE_COLUMNS = TRADES.names
EXIT_COLUMNS = EXITS.names
CALL_COLUMNS = CALLS.names
COHERENCE_COLUMNS = COHERENCE.names


def entered_mask(trades: pd.DataFrame) -> pd.Series:
    """Rows of a trades table whose entry filled: status ``filled``/``open`` *with* an entry time.

    An ``open`` row without an entry time is an entry order still working when the data (or --as-of)
    ended: not a trade. The one definition of *entered* for the portfolio and every report table.
    """
    return trades["status"].isin(ENTERED) & trades["entry_time"].notna()


@dataclasses.dataclass
class Ledger:
    """Everything the simulation produced.

    * ``trades``: one row per setup (:data:`TRADES`), refused setups included with their reason, in
      publication order (:mod:`backtest.setups.table`);
    * ``exits``: every exit fill, per tranche and per pair leg (:data:`EXITS`);
    * ``calls``: directional-call forward returns (:data:`CALLS`);
    * ``coherence``: every level of every single setup that had bars, against the reference close, with
      the level converted to the bars' basis (:data:`COHERENCE`; the report draws these levels);
    * ``skipped``: series that could not be loaded (the loader's skips are kept by the run);
    * ``bars``: the bars the engine used, already cut at ``config.as_of``.
    """

    trades: pd.DataFrame
    exits: pd.DataFrame
    calls: pd.DataFrame
    coherence: pd.DataFrame
    config: SimConfig
    skipped: list[Skip] = dataclasses.field(default_factory=list)
    bars: BarSet = dataclasses.field(default_factory=BarSet)
