"""What "one call" is, for every research figure (scorecard, event study).

An article's *call* is its stance applied to its **primary** subject symbol (the first listed; IWM and
^RUT in one small-cap article are one opinion, not two) from its first eligible session
(``docs/semantics.md`` section 10): bullish = long, bearish = short, neutral = reported only.

**Identical calls are counted once.** Two articles whose calls have the same symbol, direction and first
session (e.g. two write-ups of the same view on the same weekend) measure the very same window: the same
number twice, not two observations. They are one call; the article count keeps both. The call kept is
the first by (first session, article id), a fixed order.

Input: the ledger's ``calls`` frame (one row per article x subject symbol x horizon, columns
:data:`CALL_INPUT_COLUMNS`; ``primary`` optional: without it each article's first row is its call).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .inputs import require_columns, stance_labels, text_isin, text_values

#: Columns the research figures read from the calls frame.
CALL_INPUT_COLUMNS = ("article_id", "stance", "symbol", "direction", "horizon", "start_time", "excess_pct",
                      "return_pct")
#: What makes two articles' calls the same call.
IDENTICAL_KEY = ("symbol", "direction", "start_time")
#: Sign of a call's direction (neutral calls keep the unsigned move, as in calls.csv).
DIRECTION_SIGN = {"long": 1.0, "short": -1.0, "neutral": 1.0}


def article_calls(calls: pd.DataFrame) -> pd.DataFrame:
    """One row per article that has a measured first session: its primary call, before merging identical calls.

    Columns: ``article_id, stance, symbol, direction, start_time, call_id, articles`` where ``call_id`` is
    the ``article_id`` of the call kept for it (itself unless an earlier article made the identical call)
    and ``articles`` the number of articles behind that call. Sorted by (start_time, article_id).
    """
    require_columns(calls, ("article_id", "stance", "symbol", "direction", "start_time"), "calls")
    keep = pd.notna(calls["start_time"]).to_numpy()
    if "primary" in calls.columns:
        keep = keep & calls["primary"].fillna(False).astype(bool).to_numpy()
    rows = np.flatnonzero(keep)
    ids = text_values(calls["article_id"])[rows]
    first = ~pd.Series(ids, dtype=object).duplicated(keep="first").to_numpy()  # each article's first row
    rows, picked = rows[first], calls.iloc[rows[first]]
    frame = pd.DataFrame({
        "article_id": ids[first],
        "stance": stance_labels(picked["stance"]).to_numpy(),
        "symbol": text_values(picked["symbol"]),
        "direction": text_values(picked["direction"]),
        "start_time": pd.DatetimeIndex(pd.to_datetime(picked["start_time"])).as_unit("ns").normalize(),
    })
    frame = frame.sort_values(["start_time", "article_id"], kind="stable").reset_index(drop=True)
    group = frame.groupby(list(IDENTICAL_KEY), sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(len(frame))).groupby(group).transform("min").to_numpy()
    frame["call_id"] = frame["article_id"].to_numpy()[first]
    frame["articles"] = np.bincount(group, minlength=group.max() + 1 if len(group) else 0)[group]
    return frame


def one_call_each(calls: pd.DataFrame, every: pd.DataFrame | None = None) -> pd.DataFrame:
    """The distinct calls: :func:`article_calls` rows whose ``call_id`` is their own article (first of identical).

    ``every`` is ``article_calls(calls)`` when the caller has it already.
    """
    frame = article_calls(calls) if every is None else every
    return frame[frame["call_id"] == frame["article_id"]].reset_index(drop=True)


def call_outcomes(calls: pd.DataFrame, horizons, every: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per distinct call and horizon: ``excess_pct`` and ``return_pct`` (signed in the call's direction).

    Rows: one per (call, horizon) present in ``calls``; columns ``article_id`` (the call's), ``stance``,
    ``direction``, ``start_time``, ``articles``, ``horizon``, ``excess_pct``, ``return_pct`` (NaN when the
    window is not finished). ``return_pct`` here is ``sign x`` the raw move, so a short call that fell is
    positive, as a hit is.
    """
    require_columns(calls, CALL_INPUT_COLUMNS, "calls")
    kept = one_call_each(calls, every)
    primary = calls
    if "primary" in calls.columns:
        primary = calls[calls["primary"].fillna(False).astype(bool).to_numpy()]
    ids = text_values(primary["article_id"])
    mine = text_isin(ids, kept["article_id"])
    primary, ids = primary[mine], ids[mine]
    values = pd.DataFrame({
        "article_id": ids,
        "horizon": pd.to_numeric(primary["horizon"], errors="coerce").to_numpy(),
        "excess_pct": pd.to_numeric(primary["excess_pct"], errors="coerce").to_numpy(dtype=float),
        "return_pct": pd.to_numeric(primary["return_pct"], errors="coerce").to_numpy(dtype=float),
    })
    values = values[np.isin(values["horizon"], list(horizons))].drop_duplicates(["article_id", "horizon"])
    out = values.merge(kept[["article_id", "stance", "direction", "start_time", "articles"]], on="article_id",
                       how="inner", validate="many_to_one")
    out["return_pct"] = out["return_pct"] * out["direction"].map(DIRECTION_SIGN).fillna(1.0).to_numpy()
    out["horizon"] = out["horizon"].astype(np.int64)
    return out.sort_values(["horizon", "start_time", "article_id"], kind="stable").reset_index(drop=True)


#: Best and worst calls listed under the scorecard (each side), and the horizon they are ranked at.
EXTREME_CALLS = 3
EXTREME_HORIZON = 20


def best_and_worst(calls: pd.DataFrame, horizons, count: int = EXTREME_CALLS,
                   horizon: int = EXTREME_HORIZON) -> list[dict]:
    """The ``count`` best and ``count`` worst distinct directional calls by excess at ``horizon`` sessions
    (the longest of ``horizons`` when that one is not among them), best first; ties by article id.

    Each row: ``rank`` (``best``/``worst``), ``article_id``, ``stance``, ``symbol``, ``direction``, ``start``
    (the first session, ``YYYY-MM-DD``), ``horizon``, ``excess_pct``. Fewer than ``2 x count`` calls: every
    one is listed once, the better half (the middle one of an odd number included) as best, the rest as worst.
    """
    horizons = list(horizons)
    if horizon not in horizons:
        horizon = max(horizons)
    if not len(calls):
        return []
    kept = set(one_call_each(calls)["article_id"])
    at = calls[(pd.to_numeric(calls["horizon"], errors="coerce") == horizon).to_numpy()
               & calls["primary"].fillna(False).astype(bool).to_numpy()
               & text_isin(calls["article_id"], kept) & (calls["direction"] != "neutral").to_numpy()]
    at = at[pd.to_numeric(at["excess_pct"], errors="coerce").notna().to_numpy()]
    if not len(at):
        return []
    at = at.assign(excess=pd.to_numeric(at["excess_pct"])).sort_values(["excess", "article_id"], ascending=[False, True])
    best = at.head(min(count, (len(at) + 1) // 2))  # fewer than 2 x count: the better half is the best
    picked = pd.concat([best, at.tail(min(count, len(at) - len(best)))])
    return [{"rank": "best" if i < len(best) else "worst", "article_id": r["article_id"], "stance": r["stance"],
             "symbol": r["symbol"], "direction": r["direction"], "start": str(r["start_time"])[:10],
             "horizon": horizon, "excess_pct": float(r["excess"])}
            for i, r in enumerate(picked.to_dict("records"))]
