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
the page stays a few MB beyond plotly.js. The long numeric columns stay numpy arrays (:class:`Numbers`,
:class:`Ints`) until the JSON text is written a column at a time (:func:`article_json`); :func:`article_payload`
is the same data as Python lists. The page's script draws an article's charts when it is opened
(``templates/report.html.j2``): the window runs from :data:`DAYS_BEFORE` days before publication to
:data:`DAYS_AFTER` days after its last exit (:data:`SESSIONS_WITHOUT_EXIT` sessions when nothing was
entered), as the fixed charts did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .build import DAYS_AFTER, DAYS_BEFORE, SESSIONS_WITHOUT_EXIT
from .inputs import positions, text_values

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


class Numbers:
    """A float column as the page holds it: rounded to :data:`DECIMALS` decimals (``np.round``), integral
    values as JSON integers, missing (NaN) as null. :meth:`python` is the rule, value by value;
    :meth:`json` writes the same JSON text for the whole column at once (:func:`_numbers_json`)."""

    __slots__ = ("rounded",)

    def __init__(self, values):
        with np.errstate(over="ignore", invalid="ignore"):  # a huge value rounds to inf (json refuses it later)
            self.rounded = np.round(pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float), DECIMALS)

    def python(self) -> list:
        return [None if v != v else (int(v) if v.is_integer() else v) for v in self.rounded.tolist()]

    def json(self) -> str:
        return _numbers_json(self.rounded)


class Ints:
    """An integer column with missing values (null); ``values`` int64, ``missing`` a mask."""

    __slots__ = ("values", "missing")

    def __init__(self, values, missing=None):
        self.values = np.asarray(values, dtype=np.int64)
        self.missing = np.zeros(len(self.values), dtype=bool) if missing is None else np.asarray(missing, dtype=bool)

    def python(self) -> list:
        out = self.values.astype(object)
        out[self.missing] = None
        return out.tolist()

    def json(self) -> str:
        from .writers import int_cells

        if not len(self.values) or np.abs(self.values[~self.missing]).max(initial=0) < 10**15:
            return _joined(self.values, 0, self.missing)
        texts = np.asarray(int_cells(self.values), dtype=object)
        texts[self.missing] = "null"
        return "[" + ",".join(texts.tolist()) + "]"


def _joined(k: np.ndarray, places: int, missing: np.ndarray) -> str:
    """The JSON array of the decimals ``k / 10**places`` (null where ``missing``), written in one compiled loop."""
    from .digits import decimal_join

    body = decimal_join(np.ascontiguousarray(np.where(missing, 0, k), dtype=np.int64), places,
                        np.ascontiguousarray(missing, dtype=np.bool_), _NULL, ord(","))
    return "[" + body.tobytes().decode("ascii") + "]"


_NULL = np.frombuffer(b"null", dtype=np.uint8)


def _numbers_json(rounded: np.ndarray) -> str:
    """``json.dumps`` of :meth:`Numbers.python` (compact), for a whole column.

    ``np.round(x, 4)`` is ``rint(x * 1e4) / 1e4``: the double nearest the decimal ``k / 10**4`` for the
    integer ``k = rint(x * 1e4)``, which ``rint(rounded * 1e4)`` recovers exactly while ``|k| < 10**15``. Such
    a double's JSON text (Python's shortest repr, or the integer) is that decimal's digits
    (:func:`backtest.reports.writers.decimal_text`); larger and non-finite values go through ``json.dumps``
    one by one (which refuses inf, as for the whole payload).
    """
    import json

    from .writers import decimal_text

    with np.errstate(invalid="ignore", over="ignore"):
        k = np.rint(rounded * 10.0 ** DECIMALS)
        fast = np.abs(k) < 1e15  # False for NaN and inf
    missing = np.isnan(rounded)
    if (fast | missing).all():  # every value a decimal of at most 15 digits, or null
        return _joined(np.where(fast, k, 0).astype(np.int64), DECIMALS, missing)
    texts = np.full(len(rounded), "null", dtype=object)
    if fast.any():
        texts[fast] = decimal_text(k[fast].astype(np.int64), DECIMALS)
    other = ~fast & ~np.isnan(rounded)
    if other.any():
        texts[other] = [json.dumps(int(v) if v.is_integer() else v, allow_nan=False) for v in rounded[other].tolist()]
    return "[" + ",".join(texts.tolist()) + "]"


def _numbers(values) -> list:
    return Numbers(values).python()


def _plain(data):
    """The payload with every :class:`Numbers`/:class:`Ints` column as a Python list (JSON-ready)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, (Numbers, Ints)):
        return data.python()
    return data


def _json_text(data) -> str:
    """``json.dumps(_plain(data), separators=(",", ":"), ensure_ascii=False, allow_nan=False)``, with the
    numeric columns written whole (their :meth:`json`)."""
    import json

    if isinstance(data, dict):
        return "{" + ",".join(json.dumps(str(k), ensure_ascii=False) + ":" + _json_text(v) for k, v in data.items()) + "}"
    if isinstance(data, (Numbers, Ints)):
        return data.json()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


#: Level names as codes in the page (``target k`` is ``2 + k``).
_LEVEL_CODES = {"entry": 0, "stop": 1, "invalidation": 2}


def _level_code(name: str):
    return _LEVEL_CODES.get(name, None) if not name.startswith("target") else 2 + int(name[6:] or 1)


def _codes(values) -> tuple[list[str], "Ints"]:
    """(the distinct texts, sorted; each value's position in them, null when missing)."""
    text = np.array(_text(values), dtype=object)
    missing = np.array([v is None for v in text.tolist()], dtype=bool)
    codes, distinct = pd.factorize(text[~missing])
    order = np.argsort(distinct.astype(object)) if len(distinct) else np.zeros(0, dtype=np.int64)
    position = np.zeros(len(text), dtype=np.int64)
    position[~missing] = np.argsort(order)[codes]  # the rank of each text among the sorted distinct ones
    return [distinct[i] for i in order.tolist()], Ints(position, missing)


def _text(values) -> list:
    """Each value if it is a str, else None."""
    array = pd.Series(values, dtype=object).to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(array, skipna=True) if len(array) else "empty"
    if kind == "string":  # text and missing values (None, NaN, NaT, NA) only: at once
        missing = pd.isna(array)
        if missing.any():
            array = array.copy()
            array[missing] = None
        return array.tolist()
    if kind == "empty":
        return [None] * len(array)
    return [v if isinstance(v, str) else None for v in array.tolist()]


def article_payload(report: "Report") -> dict:
    """The page's article data (see the module docstring), JSON-ready and deterministic."""
    return _plain(article_columns(report))


def article_json(report: "Report") -> str:
    """The page's article data as compact JSON text: ``json.dumps(article_payload(report), separators=(",", ":"),
    ensure_ascii=False, allow_nan=False)``, its numeric columns written a column at a time."""
    return _json_text(article_columns(report))


def article_columns(report: "Report") -> dict:
    """:func:`article_payload` with its long numeric columns as :class:`Numbers` and :class:`Ints`."""
    meta = report.meta
    trades = report.trades
    ids = text_values(meta["article_id"])
    pub = _published_days(meta["published"])
    totals = trades.groupby("article_id")["return_pct"].sum(min_count=1)
    pulse = meta["pulse"]
    articles = {
        "id": ids.tolist(), "title": _text(meta["title"]), "day": Ints(pub), "stance": _text(meta["stance"]),
        "pulse": Ints(pulse.to_numpy(dtype=np.int64, na_value=0), pulse.isna().to_numpy())
        if pd.api.types.is_integer_dtype(pulse.dtype) else [None if pd.isna(v) else int(v) for v in pulse],
        "ret": Numbers(pd.Series(ids, dtype=object).map(totals)),
    }

    article_row = positions(ids, text_values(trades["article_id"]))
    # setups grouped by article (stable): an article's setups are then the next ``articles.n`` rows
    order = np.argsort(article_row, kind="stable")
    order = order[article_row[order] >= 0]
    article_row = article_row[order]

    def column(name, dtype=None):
        return trades[name].to_numpy(dtype=dtype)[order]

    setup_ids = text_values(trades["setup_id"])[order]
    short = [s.removeprefix(a + "-") for s, a in zip(setup_ids.tolist(), text_values(trades["article_id"])[order].tolist())]
    pair = column("kind") == "pair"
    pairs = np.flatnonzero(pair)
    singles = np.flatnonzero(~pair)
    # the instruments of each setup: its symbol, or a pair's long and short symbols (positions in ``names``)
    symbol, long_symbol, short_symbol = (np.array(_text(column(c)), dtype=object)
                                         for c in ("symbol", "long_symbol", "short_symbol"))
    used = np.concatenate([symbol[singles], long_symbol[pairs], short_symbol[pairs]])
    names = sorted(n for n in pd.unique(used) if n)
    code = pd.Index(names, dtype=object)
    sym = code.get_indexer(symbol).tolist() if len(code) else [-1] * len(symbol)
    for i, a, b in zip(pairs.tolist(), code.get_indexer(long_symbol[pairs]).tolist() if len(code) else [-1] * len(pairs),
                       code.get_indexer(short_symbol[pairs]).tolist() if len(code) else [-1] * len(pairs)):
        sym[i] = [a, b]
    direction = np.where(pair, 0, np.where(column("direction") == "short", -1, 1))
    entry_price = np.where(pair, column("long_entry_price", float), column("entry_price", float))
    statuses, status_code = _codes(column("status"))
    reasons, reason_code = _codes(column("exit_reason"))
    articles["n"] = Ints(np.bincount(article_row, minlength=len(ids)))
    entry_day, exit_day = _days(column("entry_time")), _days(column("exit_time"))
    entered = entry_day >= 0
    setups = {
        "id": short,
        "sym": sym,
        "dir": Ints(direction), "st": status_code,
        "ed": Ints(entry_day - pub[article_row], ~entered),
        "ep": Numbers(entry_price),
        "xd": Ints(exit_day - entry_day, ~entered | (exit_day < 0)),
        "xp": Numbers(column("exit_price")), "xr": reason_code,
        "p2s": Ints(pairs), "p2": Numbers(column("short_entry_price", float)[pairs]),
    }

    # levels in setup-row order, as counts per setup; names as codes; the bars' basis only where a split moved it
    coherence = report.ledger.coherence
    rows = positions(setup_ids, text_values(coherence["setup_id"]))
    order = np.argsort(rows, kind="stable")
    order = order[rows[order] >= 0]
    level_names, distinct_names = pd.factorize(text_values(coherence["level_name"])[order])
    written = pd.to_numeric(coherence["level_as_written"], errors="coerce").to_numpy(dtype=float)[order]
    in_bars = pd.to_numeric(coherence["level"], errors="coerce").to_numpy(dtype=float)[order]
    moved = np.flatnonzero(np.abs(in_bars - written) > 1e-9 * np.maximum(1.0, np.abs(written)))
    setups["nl"] = Ints(np.bincount(rows[order], minlength=len(setup_ids)))
    level_codes = [_level_code(n) for n in distinct_names] + [None]  # the last for a missing name (code -1)
    n_code = np.array([-1 if c is None else c for c in level_codes], dtype=np.int64)[level_names]
    n_missing = np.array([c is None for c in level_codes], dtype=bool)[level_names]
    levels = {"n": Ints(n_code, n_missing), "w": Numbers(written), "moved": Ints(moved),
              "v": Numbers(in_bars[moved])}
    exits = report.ledger.exits
    pair_exits = exits[exits["leg"].isin(["long", "short"]).to_numpy()]
    legs = {"s": Ints(positions(setup_ids, text_values(pair_exits["setup_id"]))),
            "leg": Ints((pair_exits["leg"] == "short").astype(int).to_numpy()), "d": Ints(_days(pair_exits["time"])),
            "p": Numbers(pair_exits["price"])}

    return {"articles": articles, "setups": setups, "levels": levels, "legs": legs, "symbols": names,
            "statuses": statuses, "reasons": reasons, "bars": _bars(report, used, np.concatenate([pub[article_row][singles], pub[article_row][pairs],
                                                                       pub[article_row][pairs]])),
            "window": {"before": DAYS_BEFORE, "after": DAYS_AFTER, "sessions": SESSIONS_WITHOUT_EXIT}}


def _bars(report: "Report", names: np.ndarray, days: np.ndarray) -> dict:
    """Each traded symbol's bars from DAYS_BEFORE days before the earliest publication that trades it
    (``names``: the symbol of each setup leg, None when missing; ``days``: its article's publication day)."""
    used = (days >= 0) & np.array([bool(n) for n in names.tolist()], dtype=bool)
    first_use = pd.Series(days[used]).groupby(pd.Index(names[used], dtype=object)).min().to_dict() if used.any() else {}
    out = {}
    bars = report.ledger.bars
    for name in sorted(first_use):
        if name not in bars:
            continue
        frame = bars[name].frame
        days = _days(frame.index)
        keep = days >= first_use[name] - DAYS_BEFORE
        out[name] = {"day": Ints(days[keep]), **{k: Numbers(frame[c].to_numpy()[keep])
                                                 for k, c in (("o", "open"), ("h", "high"), ("l", "low"), ("c", "close"))}}
    return out


__all__ = ["DECIMALS", "article_columns", "article_json", "article_payload"]
