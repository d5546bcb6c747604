"""The report's tables: trades, per-article and per-stance aggregates, totals (pure pandas, no I/O).

Vocabulary used in every table (and in ``docs/reports.md``):

* *entered*: the setup's entry filled (status ``filled`` = exited, or ``open`` = still running at the end
  of the data / ``--as-of`` and marked to that close; an ``open`` row with no entry is a working order);
* *win* / *loss*: an entered trade whose ``return_pct`` is > 0 / <= 0 (costs included);
* *hit rate*: wins / (wins + losses), empty when nothing was entered;
* *directional call*: the article's stance applied to its subject symbol(s) from the first eligible
  open, measured over each horizon in sessions (``Ledger.calls``); *excess* is versus the benchmark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..schema import Column, Schema
from ..engine.ledger import CALL_COLUMNS, TRADE_COLUMNS, Ledger, entered_mask
from .aggregate import COUNT_COLUMNS, OUTCOME_COLUMNS, article_outcomes, outcome_row
from .inputs import positions, text_isin, text_values

STANCES = ("bullish", "bearish", "neutral")
#: Columns the report adds to the ledger's trades in trades.csv (declared once, documented in docs/tables.md).
TRADE_FLAGS = Schema("trade_flags", (
    Column("duplicate_of", "str", "the `setup_id` of an earlier entered setup this one repeats (same kind, symbol, "
                                  "direction, entry rule and first session): an identical call, counted once in the "
                                  "portfolio and the scorecard; empty for the first copy and for setups not entered"),
))
#: The directional-call horizon used for the Pulse-vs-outcome correlation (sessions).
PULSE_HORIZON = 20


def trades_table(ledger: Ledger) -> pd.DataFrame:
    """``Ledger.trades`` as ``trades.csv`` holds it: the declared columns, in the ledger's (publication) order,
    then :data:`TRADE_FLAGS` (``duplicate_of``: :func:`backtest.reports.portfolio.duplicate_flags`)."""
    from .portfolio import duplicate_flags

    trades = ledger.trades.loc[:, list(TRADE_COLUMNS)].reset_index(drop=True)
    trades["duplicate_of"] = duplicate_flags(trades).to_numpy()
    return trades


def calls_table(ledger: Ledger) -> pd.DataFrame:
    calls = ledger.calls.copy()
    for column in CALL_COLUMNS:
        if column not in calls.columns:
            calls[column] = None
    if len(calls):
        calls = calls.sort_values(["article_id", "symbol", "horizon"], kind="stable")
    return calls.reset_index(drop=True)


def entered_trades(trades: pd.DataFrame) -> pd.DataFrame:
    """Rows whose entry filled: status ``filled``/``open`` *with* an entry time.

    (An ``open`` row without an entry is an order still working when the data or ``--as-of`` ended.)
    """
    return trades[entered_mask(trades)]


def _outcome(trades: pd.DataFrame) -> dict:
    """Counts and return statistics of a group of trade rows (:func:`backtest.reports.aggregate.outcome_row`)."""
    return outcome_row(trades)


def primary_calls(calls: pd.DataFrame) -> pd.DataFrame:
    """One directional call per article and horizon: the one on the article's primary (first) subject symbol.

    An article about small caps lists IWM and ^RUT; counting both would count one opinion twice.
    """
    if "primary" not in calls.columns or not len(calls):
        return calls
    return calls[calls["primary"].fillna(False).astype(bool)]


def articles_table(meta: pd.DataFrame, trades: pd.DataFrame, calls: pd.DataFrame, horizons) -> pd.DataFrame:
    """One row per article that was loaded (also those with no tradable setup), in publication order.

    ``meta`` is the setup table's articles (:data:`backtest.setups.table.ARTICLE_SCHEMA`). Outcomes come
    from one group-by over all trades (:func:`backtest.reports.aggregate.article_outcomes`), so a corpus
    of thousands of articles costs no more than a few pandas calls.
    """
    text = {name: pd.Series(meta[name].to_numpy(dtype=object), dtype=object)  # Python strings, not pyarrow's
            for name in ("article_id", "title", "published", "published_basis", "stance", "stance_basis")}
    table = pd.DataFrame({
        **text,
        "pulse": meta["pulse"].array,
        "threat": meta["threat"].array,
        "subject": pd.Series([";".join(subject) for subject in meta["subject"]], dtype=object),
    }, columns=["article_id", "title", "published", "published_basis", "stance", "stance_basis", "pulse", "threat",
                "subject"])
    ids = text["article_id"].to_numpy(dtype=object)
    explicit = trades.groupby("article_id")["explicit"].sum() if len(trades) else pd.Series(dtype=np.int64)
    table["explicit_setups"] = _by_article(ids, explicit, 0).astype(np.int64)
    outcomes = article_outcomes(trades).set_index("article_id") if len(trades) else None
    at = positions(outcomes.index.to_numpy(dtype=object), ids) if outcomes is not None else np.full(len(ids), -1)
    for column in OUTCOME_COLUMNS:
        values = outcomes[column].to_numpy(dtype=np.float64) if outcomes is not None else np.zeros(0)
        values = np.where(at >= 0, values[np.maximum(at, 0)] if len(values) else np.nan, np.nan)
        table[column] = np.where(np.isnan(values), 0, values).astype(np.int64) if column in COUNT_COLUMNS else values
    primary = primary_calls(calls)
    horizon = pd.to_numeric(primary["horizon"], errors="coerce")
    for h in horizons:
        at = primary[horizon == h]
        by_article = pd.DataFrame({
            "article_id": at["article_id"].to_numpy(),
            "return_pct": pd.to_numeric(at["return_pct"], errors="coerce").to_numpy(dtype=float),
            "excess_pct": pd.to_numeric(at["excess_pct"], errors="coerce").to_numpy(dtype=float),
            "hit": pd.array(at["hit"], dtype="boolean").astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        }).groupby("article_id").mean()
        at = positions(by_article.index.to_numpy(dtype=object), ids) if len(by_article) else None
        for name in ("return_pct", "excess_pct", "hit"):
            column = f"call_{name}_{h}d"
            table[column] = np.where(at >= 0, by_article[name].to_numpy(dtype=np.float64)[np.maximum(at, 0)], np.nan) \
                if at is not None else np.nan
    return table[_article_columns(horizons)]


def _by_article(ids: np.ndarray, values: pd.Series, missing) -> np.ndarray:
    """``values`` (indexed by article id) for each of ``ids``, ``missing`` where an id has none."""
    at = positions(values.index.to_numpy(dtype=object), ids)
    found = values.to_numpy()[np.maximum(at, 0)] if len(values) else np.zeros(len(ids))
    return np.where(at >= 0, found, missing)


def _article_columns(horizons) -> list[str]:
    base = ["article_id", "title", "published", "stance", "pulse", "threat", "subject", "setups", "filled",
            "wins", "losses", "hit_rate", "total_return_pct", "mean_return_pct", "mean_r"]
    for h in horizons:
        base += [f"call_return_pct_{h}d", f"call_excess_pct_{h}d", f"call_hit_{h}d"]
    return base + ["published_basis", "stance_basis", "explicit_setups"]  # added later: at the end


def stances_table(articles: pd.DataFrame, trades: pd.DataFrame, calls: pd.DataFrame, horizons) -> pd.DataFrame:
    """One row per stance (always bullish, bearish, neutral; ``unknown`` if some article has none) plus ``all``.

    The ``all`` row's call columns and Pulse-vs-excess use directional calls only: neutral calls are
    reported on the ``neutral`` row and nowhere else.

    The ``pulse_*`` columns are the Pulse-vs-outcome summary: Spearman rank correlation of the article's
    Pulse score with each entered trade's return, and with the directional call's excess return at
    ``PULSE_HORIZON`` sessions, with the number of pairs (``n``); empty below 3 pairs.

    Identical calls count once (:func:`backtest.reports.portfolio.duplicate_flags`): the ``all`` row leaves
    out every repeated entered trade, a stance's row those whose first copy is from the same stance (as the
    portfolio's books do).
    """
    from .calls import one_call_each
    from .portfolio import IDENTICAL_CALL_KEY, identical_calls

    article_ids = articles["article_id"].to_numpy(dtype=object)
    stances = articles["stance"].to_numpy(dtype=object)
    stance_of = dict(zip(article_ids.tolist(), np.where(pd.isna(stances), "unknown", stances).tolist()))
    repeated_anywhere = _repeated(trades)
    repeated_in_stance = np.zeros(len(trades), dtype=bool)
    entered = entered_mask(trades).to_numpy()
    if entered.any():
        key = ("setup_id",) + IDENTICAL_CALL_KEY
        with_stance = trades.loc[entered, list(key)].assign(stance=trades.loc[entered, "stance"].fillna("unknown"))
        repeated_in_stance[entered] = identical_calls(with_stance, IDENTICAL_CALL_KEY + ("stance",)).notna().to_numpy()
    groups = list(STANCES)
    if "unknown" in stance_of.values():
        groups.append("unknown")
    rows = []

    primary = primary_calls(calls)
    kept = one_call_each(primary)["article_id"] if len(primary) else []
    distinct = primary[text_isin(text_values(primary["article_id"]), kept)]
    # each row's article's stance (None: an article not in the table, in no group, not even "all")
    trades_stance = np.array([stance_of.get(a) for a in trades["article_id"].to_numpy(dtype=object).tolist()], dtype=object)
    calls_stance = np.array([stance_of.get(a) for a in distinct["article_id"].to_numpy(dtype=object).tolist()],
                            dtype=object)
    # only the columns the figures read (each group's rows are copied)
    trades = trades[["article_id", "status", "entry_time", "return_pct", "r_multiple"]]
    distinct = distinct[["article_id", "direction", "horizon", "excess_pct", "hit"]]
    articles = articles[["article_id", "pulse"]]
    for group in groups + ["all"]:
        if group == "all":
            ids_mask = np.array([a in stance_of for a in article_ids.tolist()], dtype=bool)
            n_articles = len(stance_of)
            trade_rows, call_rows = trades_stance != None, calls_stance != None  # noqa: E711 (elementwise)
        else:
            ids_mask = np.array([stance_of.get(a) == group for a in article_ids.tolist()], dtype=bool)
            n_articles = sum(1 for s in stance_of.values() if s == group)
            trade_rows, call_rows = trades_stance == group, calls_stance == group
        repeated = repeated_anywhere if group == "all" else repeated_in_stance
        mine = trades[trade_rows & ~repeated]
        # identical calls (the same symbol, direction and first session from several articles) count once,
        # as in the scorecard: only the first article's call is kept (reports/calls.one_call_each)
        my_calls = distinct[call_rows]
        if group == "all":
            # neutral calls are reported (their own row) but have no direction to score: not in the total
            my_calls = my_calls[my_calls["direction"] != "neutral"]
        row = {"stance": group, "articles": n_articles}
        row.update(_outcome(mine))
        for h in horizons:
            at = my_calls[pd.to_numeric(my_calls["horizon"], errors="coerce") == h]
            excess = pd.to_numeric(at["excess_pct"], errors="coerce").dropna()
            row[f"calls_{h}d"] = int(len(excess))
            row[f"call_hit_rate_{h}d"] = _mean(at["hit"])
            row[f"call_mean_excess_pct_{h}d"] = float(excess.mean()) if len(excess) else None
        row.update(_pulse_summary(articles[ids_mask], mine, my_calls))
        rows.append(row)
    columns = ["stance", "articles", "setups", "filled", "wins", "losses", "hit_rate", "total_return_pct",
               "mean_return_pct", "median_return_pct", "mean_r"]
    for h in horizons:
        columns += [f"calls_{h}d", f"call_hit_rate_{h}d", f"call_mean_excess_pct_{h}d"]
    columns += ["pulse_rho_return", "pulse_n_return", "pulse_rho_excess", "pulse_n_excess"]
    return pd.DataFrame(rows, columns=columns)


def _pulse_summary(articles: pd.DataFrame, trades: pd.DataFrame, calls: pd.DataFrame) -> dict:
    pulse = articles.set_index("article_id")["pulse"]
    entered = entered_trades(trades)
    x = entered["article_id"].map(pulse)
    rho_r, n_r = spearman(x, entered["return_pct"])
    at = calls[pd.to_numeric(calls["horizon"], errors="coerce") == PULSE_HORIZON]
    rho_e, n_e = spearman(at["article_id"].map(pulse), at["excess_pct"])
    return {"pulse_rho_return": rho_r, "pulse_n_return": n_r, "pulse_rho_excess": rho_e, "pulse_n_excess": n_e}


def spearman(x, y) -> tuple[float | None, int]:
    """Spearman rank correlation of two aligned sequences (pairs with a missing value dropped) and n.

    None when fewer than 3 pairs or when either side is constant (the correlation is undefined).
    """
    frame = pd.DataFrame({"x": _numbers(x), "y": _numbers(y)}).dropna()
    n = int(len(frame))
    if n < 3:
        return None, n
    rx, ry = frame["x"].rank().to_numpy(), frame["y"].rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return None, n
    return float(np.corrcoef(rx, ry)[0, 1]), n


def _repeated(trades: pd.DataFrame) -> np.ndarray:
    """Rows that repeat an earlier entered trade (``duplicate_of`` set): left out of the run's aggregates."""
    if "duplicate_of" not in trades.columns:
        return np.zeros(len(trades), dtype=bool)
    return trades["duplicate_of"].notna().to_numpy()


def totals(trades: pd.DataFrame) -> dict:
    """Run totals, including both ambiguity bounds and the number of ambiguous trades. Identical calls
    count once (``duplicate_of``; ``identical_calls_left_out`` says how many rows that left out);
    ``by_status`` counts every setup."""
    by_status = {s: int(n) for s, n in sorted(trades["status"].value_counts().items())}
    repeated = _repeated(trades)
    bounds = ("stop_first", "target_first", "worst", "best")
    read = ["status", "entry_time", "return_pct", "r_multiple", "ambiguous", *(f"return_pct_{b}" for b in bounds)]
    trades = trades.loc[~repeated, [c for c in read if c in trades.columns]]  # only the columns read are copied
    out = _outcome(trades)
    entered = entered_trades(trades)
    for bound in bounds:
        values = pd.to_numeric(entered.get(f"return_pct_{bound}"), errors="coerce").dropna()
        out[f"total_return_pct_{bound}"] = float(values.sum()) if len(values) else None
    out["ambiguous_trades"] = int(entered["ambiguous"].fillna(False).astype(bool).sum()) if len(entered) else 0
    out["identical_calls_left_out"] = int(repeated.sum())
    out["by_status"] = by_status
    return out


def _mean(values) -> float | None:
    numbers = _numbers(values, dtype=object).dropna()
    return float(numbers.mean()) if len(numbers) else None


def _numbers(values, dtype=None) -> pd.Series:
    """``pd.to_numeric(pd.Series(list(values), dtype=dtype), errors="coerce")``, realigned from 0, with a numeric or
    boolean column's values taken at once as float64 (missing NaN): the same numbers, ranks and means, without
    iterating the column (a nullable column's values are boxed one by one)."""
    if isinstance(values, pd.Series) and (pd.api.types.is_bool_dtype(values.dtype)
                                          or pd.api.types.is_numeric_dtype(values.dtype)):
        array = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if not pd.api.types.is_integer_dtype(values.dtype) or np.abs(array[~np.isnan(array)]).max(initial=0) < 2**53:
            return pd.Series(array)
    return pd.to_numeric(pd.Series(list(values), dtype=dtype), errors="coerce")


