"""The compact data report.html draws every article's charts from, on demand (issue 11 item 4).

Instead of one plotly chart per article baked into the page (a few hundred kB each), the page embeds, once:

* ``bars``: per symbol that some setup trades, its daily bars from a few weeks before the first
  publication that uses it: ``day`` (days since 1970-01-01, as integers) and ``o``/``h``/``l``/``c``
  rounded to :data:`DECIMALS` decimals;
* ``articles``: columns ``id``, ``title``, ``day`` (publication day, New York), ``stance``, ``pulse``,
  ``ret`` (the sum of its trades' returns, %), ``n`` (its setups);
* ``setups``: one row per setup, grouped by article in the articles' order (article ``k``'s are the
  ``articles.n[k]`` rows after those of the articles before it), columns ``id`` (the setup id without its article's
  prefix), ``sym`` (a position in ``symbols``; a pair: ``[long, short]``), ``dir`` (1 long, -1 short, 0
  pair), ``st`` (a position in ``statuses``), ``ed``/``ep`` (entry day, in days after the publication
  day, and price; a pair: the long leg's; the short leg's in ``p2`` for the setup rows ``p2s``),
  ``xd``/``xp`` (last exit day, in days after the entry day; fraction-weighted exit price), ``xr`` (a position in ``reasons``), ``nl`` (how many levels it has);
* ``levels``: every level of the single setups, in setup-row order (``nl`` of each): ``n`` (0 entry,
  1 stop, 2 invalidation, 2 + k target k), ``w`` (as written) and, only for the levels a split moved
  (positions ``moved``), ``v`` in the bars' basis (the page labels both);
* ``legs``: pair legs' exit fills, ``s``, ``leg`` (0 long, 1 short), ``d``, ``p``.

Everything is built column by column (no loop over articles), so 10k articles cost a few pandas calls and
the page stays a few MB beyond plotly.js. The page's script draws an article's charts when it is opened
(``templates/report.html.j2``): the window runs from :data:`DAYS_BEFORE` days before publication to
:data:`DAYS_AFTER` days after its last exit (:data:`SESSIONS_WITHOUT_EXIT` sessions when nothing was
entered), as the fixed charts did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .build import DAYS_AFTER, DAYS_BEFORE, SESSIONS_WITHOUT_EXIT

if TYPE_CHECKING:
    from .build import Report

#: Decimals kept for prices in the page (charts only: every exact figure is in the CSVs).
DECIMALS = 4
_DAY_NS = 86_400_000_000_000


def _days(values) -> np.ndarray:
    """Session dates (or instants, taken in New York) as integer days since the epoch; -1 when missing."""
    stamps = pd.to_datetime(pd.Series(values), errors="coerce", utc=False)
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_convert("America/New_York").dt.tz_localize(None)
    ns = stamps.dt.normalize().to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(stamps.isna().to_numpy(), -1, ns // _DAY_NS).astype(np.int64)


def _published_days(values) -> np.ndarray:
    """The publication day in New York of each ISO 8601 publication (a date alone is that day); -1 undated."""
    text = pd.Series(values, dtype=object).where(lambda v: v.map(lambda x: isinstance(x, str)), None)
    date_only = text.str.len().eq(10).fillna(False).to_numpy()
    stamps = pd.to_datetime(text.where(~date_only, text + "T12:00:00-05:00"), errors="coerce", utc=True,
                            format="ISO8601")
    days = stamps.dt.tz_convert("America/New_York").dt.tz_localize(None).dt.normalize()
    ns = days.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    return np.where(days.isna().to_numpy(), -1, ns // _DAY_NS).astype(np.int64)


def _numbers(values) -> list:
    array = np.round(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float), DECIMALS)
    return [None if v != v else (int(v) if v.is_integer() else v) for v in array.tolist()]


#: Level names as codes in the page (``target k`` is ``2 + k``).
_LEVEL_CODES = {"entry": 0, "stop": 1, "invalidation": 2}


def _codes(values) -> tuple[list[str], list]:
    """(the distinct texts, sorted; each value's position in them, None when missing)."""
    text = _text(values)
    distinct = sorted({v for v in text if v is not None})
    at = {v: i for i, v in enumerate(distinct)}
    return distinct, [None if v is None else at[v] for v in text]


def _text(values) -> list:
    return [v if isinstance(v, str) else None for v in pd.Series(values, dtype=object).tolist()]


def article_payload(report: "Report") -> dict:
    """The page's article data (see the module docstring), JSON-ready and deterministic."""
    meta = report.meta
    trades = report.trades
    ids = meta["article_id"].astype(str).to_numpy()
    row_of = pd.Series(np.arange(len(ids)), index=ids)
    pub = _published_days(meta["published"])
    totals = trades.groupby("article_id")["return_pct"].sum(min_count=1)
    articles = {
        "id": ids.tolist(), "title": _text(meta["title"]), "day": pub.tolist(), "stance": _text(meta["stance"]),
        "pulse": [None if pd.isna(v) else int(v) for v in meta["pulse"]],
        "ret": _numbers(pd.Series(ids).map(totals)),
    }

    article_row = row_of.reindex(trades["article_id"].astype(str).to_numpy()).fillna(-1).astype(np.int64).to_numpy()
    # setups grouped by article (stable): an article's setups are then the next ``articles.n`` rows
    order = np.argsort(article_row, kind="stable")
    order = order[article_row[order] >= 0]
    trades, article_row = trades.iloc[order], article_row[order]
    setup_ids = trades["setup_id"].astype(str).to_numpy()
    prefixes = np.char.add(trades["article_id"].astype(str).to_numpy().astype(str), "-")
    short = np.where(np.char.startswith(setup_ids.astype(str), prefixes),
                     [s[len(p):] for s, p in zip(setup_ids, prefixes)], setup_ids)
    pair = (trades["kind"] == "pair").to_numpy()
    symbols = [[a, b] if p else [s] for p, s, a, b in zip(pair, _text(trades["symbol"]), _text(trades["long_symbol"]),
                                                           _text(trades["short_symbol"]))]
    names = sorted({n for legs in symbols for n in legs if n})
    code = {n: i for i, n in enumerate(names)}
    direction = np.where(pair, 0, np.where(trades["direction"].to_numpy() == "short", -1, 1))
    entry_price = np.where(pair, trades["long_entry_price"].to_numpy(dtype=float), trades["entry_price"].to_numpy(dtype=float))
    statuses, status_code = _codes(trades["status"])
    reasons, reason_code = _codes(trades["exit_reason"])
    pairs = np.flatnonzero(pair)
    articles["n"] = np.bincount(article_row, minlength=len(ids)).tolist()
    entry_day, exit_day = _days(trades["entry_time"]), _days(trades["exit_time"])
    entered = entry_day >= 0
    setups = {
        "id": [str(s) for s in short],
        "sym": [[code.get(legs[0], -1), code.get(legs[1], -1)] if len(legs) == 2 else code.get(legs[0], -1)
                for legs in symbols],
        "dir": direction.tolist(), "st": status_code,
        "ed": [None if not e else int(d - pub[a]) for e, d, a in zip(entered, entry_day, article_row)],
        "ep": _numbers(entry_price),
        "xd": [None if not e or x < 0 else int(x - d) for e, d, x in zip(entered, entry_day, exit_day)],
        "xp": _numbers(trades["exit_price"]), "xr": reason_code,
        "p2s": pairs.tolist(), "p2": _numbers(trades["short_entry_price"].to_numpy(dtype=float)[pairs]),
    }

    # levels in setup-row order, as counts per setup; names as codes; the bars' basis only where a split moved it
    setup_row = pd.Series(np.arange(len(setup_ids)), index=setup_ids)
    coherence = report.ledger.coherence
    rows = setup_row.reindex(coherence["setup_id"].astype(str).to_numpy()).fillna(-1).astype(np.int64).to_numpy()
    order = np.argsort(rows, kind="stable")
    order = order[rows[order] >= 0]
    level_names = coherence["level_name"].astype(str).to_numpy()[order]
    written = pd.to_numeric(coherence["level_as_written"], errors="coerce").to_numpy(dtype=float)[order]
    in_bars = pd.to_numeric(coherence["level"], errors="coerce").to_numpy(dtype=float)[order]
    moved = np.flatnonzero(np.abs(in_bars - written) > 1e-9 * np.maximum(1.0, np.abs(written)))
    setups["nl"] = np.bincount(rows[order], minlength=len(setup_ids)).tolist()
    levels = {"n": [_LEVEL_CODES.get(n, None) if not n.startswith("target") else 2 + int(n[6:] or 1) for n in level_names],
              "w": _numbers(written), "moved": moved.tolist(), "v": _numbers(in_bars[moved])}
    exits = report.ledger.exits
    pair_exits = exits[exits["leg"].isin(["long", "short"]).to_numpy()]
    legs = {"s": setup_row.reindex(pair_exits["setup_id"].astype(str).to_numpy()).fillna(-1).astype(np.int64).tolist(),
            "leg": (pair_exits["leg"] == "short").astype(int).tolist(), "d": _days(pair_exits["time"]).tolist(),
            "p": _numbers(pair_exits["price"])}

    return {"articles": articles, "setups": setups, "levels": levels, "legs": legs, "symbols": names,
            "statuses": statuses, "reasons": reasons, "bars": _bars(report, symbols, article_row, pub),
            "window": {"before": DAYS_BEFORE, "after": DAYS_AFTER, "sessions": SESSIONS_WITHOUT_EXIT}}


def _bars(report: "Report", symbols, article_row, pub) -> dict:
    """Each traded symbol's bars from DAYS_BEFORE days before the earliest publication that trades it."""
    first_use: dict[str, int] = {}
    for names, a in zip(symbols, article_row):
        day = int(pub[a]) if a >= 0 else -1
        if day < 0:
            continue
        for name in names:
            if name and (name not in first_use or day < first_use[name]):
                first_use[name] = day
    out = {}
    bars = report.ledger.bars
    for name in sorted(first_use):
        if name not in bars:
            continue
        frame = bars[name].frame
        days = _days(frame.index)
        keep = days >= first_use[name] - DAYS_BEFORE
        out[name] = {"day": days[keep].tolist(), **{k: _numbers(frame[c].to_numpy()[keep])
                                                    for k, c in (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"))}}
    return out


__all__ = ["DECIMALS", "article_payload"]
