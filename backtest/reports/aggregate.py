"""Per-article and per-stance outcomes of a results table, with group-bys instead of a filter per article.

The report tables use the same figures (:func:`outcome_row`; same vocabulary: *entered* = status
``filled``/``open`` with an entry time; *win* = entered with ``return_pct`` > 0, *loss* <= 0; hit rate =
wins / (wins + losses)), computed for all groups at once so that a million setups over a few hundred thousand
articles aggregate in well under a second. Input: the ledger's trades (``Ledger.trades`` or
``Report.trades``; the columns used are ``article_id``, ``stance``, ``status``, ``entry_time``,
``return_pct``, ``r_multiple``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.ledger import entered_mask

STANCES = ("bullish", "bearish", "neutral")
OUTCOME_COLUMNS = ("setups", "filled", "wins", "losses", "hit_rate", "total_return_pct", "mean_return_pct",
                   "mean_r")
COUNT_COLUMNS = ("setups", "filled", "wins", "losses")


def _outcomes(results: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """Outcome columns per distinct key (sorted by key)."""
    entered = entered_mask(results).to_numpy()
    ret = results["return_pct"].to_numpy(dtype=np.float64)
    rmul = results["r_multiple"].to_numpy(dtype=np.float64)
    counted = entered & ~np.isnan(ret)
    with_r = entered & ~np.isnan(rmul)
    frame = pd.DataFrame({
        "key": keys.to_numpy(),
        "setups": 1,
        "filled": entered.astype(np.int64),
        "wins": (counted & (ret > 0)).astype(np.int64),
        "losses": (counted & (ret <= 0)).astype(np.int64),
        "n_ret": counted.astype(np.int64),
        "sum_ret": np.where(counted, ret, 0.0),
        "n_r": with_r.astype(np.int64),
        "sum_r": np.where(with_r, rmul, 0.0),
    })
    g = frame.groupby("key", sort=True, observed=True).sum()
    out = pd.DataFrame(index=g.index)
    for name in ("setups", "filled", "wins", "losses"):
        out[name] = g[name].astype(np.int64)
    decided = g["wins"] + g["losses"]
    out["hit_rate"] = (g["wins"] / decided).where(decided > 0)
    out["total_return_pct"] = g["sum_ret"].where(g["n_ret"] > 0)
    out["mean_return_pct"] = (g["sum_ret"] / g["n_ret"]).where(g["n_ret"] > 0)
    out["mean_r"] = (g["sum_r"] / g["n_r"]).where(g["n_r"] > 0)
    return out


def outcome_row(results: pd.DataFrame) -> dict:
    """The outcome columns of one group of rows (all of ``results``) plus ``median_return_pct``.

    Counts are ints; a figure that is undefined (nothing entered) is None.
    """
    frame = results.assign(return_pct=pd.to_numeric(results["return_pct"], errors="coerce").astype(np.float64),
                           r_multiple=pd.to_numeric(results["r_multiple"], errors="coerce").astype(np.float64))
    row = _outcomes(frame, pd.Series(np.zeros(len(frame)), index=frame.index)).iloc[0] if len(frame) else {}
    out = {}
    for column in OUTCOME_COLUMNS:
        value = row.get(column) if len(frame) else None
        if column in COUNT_COLUMNS:
            out[column] = int(value or 0)
        else:
            out[column] = None if value is None or np.isnan(value) else float(value)
    ret = frame["return_pct"].to_numpy()
    picked = ret[entered_mask(frame).to_numpy() & ~np.isnan(ret)]
    out["median_return_pct"] = float(np.median(picked)) if len(picked) else None
    return out


def article_outcomes(results: pd.DataFrame) -> pd.DataFrame:
    """One row per article id: its stance and the outcome of its setups."""
    out = _outcomes(results, results["article_id"])
    stance = results.groupby("article_id", sort=True)["stance"].first()
    out.insert(0, "stance", stance.reindex(out.index).to_numpy())
    out.index.name = "article_id"
    return out.reset_index()


def stance_outcomes(results: pd.DataFrame) -> pd.DataFrame:
    """One row per stance (bullish, bearish, neutral, ``unknown`` when some article has none) plus ``all``.

    Adds ``articles`` and ``median_return_pct`` (of the entered trades' returns) to the outcome columns.
    """
    stance = results["stance"].astype(object).where(results["stance"].notna(), "unknown")
    per = _outcomes(results, stance)
    groups = list(STANCES) + (["unknown"] if "unknown" in per.index else [])
    entered = entered_mask(results).to_numpy()
    ret = results["return_pct"].to_numpy(dtype=np.float64)
    rows = []
    articles = results.groupby(stance.to_numpy())["article_id"].nunique()
    for group in groups + ["all"]:
        if group == "all":
            mask = np.ones(len(results), dtype=bool)
            row = _outcomes(results, pd.Series(np.zeros(len(results)))).iloc[0].to_dict() if len(results) else {}
            n_articles = results["article_id"].nunique()
        else:
            mask = (stance == group).to_numpy()
            row = per.loc[group].to_dict() if group in per.index else {}
            n_articles = int(articles.get(group, 0))
        picked = ret[mask & entered & ~np.isnan(ret)]
        rows.append({"stance": group, "articles": n_articles,
                     **{c: row.get(c, 0 if c in ("setups", "filled", "wins", "losses") else None)
                        for c in OUTCOME_COLUMNS},
                     "median_return_pct": float(np.median(picked)) if len(picked) else None})
    return pd.DataFrame(rows, columns=["stance", "articles", *OUTCOME_COLUMNS, "median_return_pct"])


__all__ = ["article_outcomes", "stance_outcomes"]
