"""Screening: which setups can be simulated, in whole columns, before the kernel runs.

:func:`screen` takes the setup table and the market and decides, for every setup at once, the first
of these that applies (``docs/semantics.md`` section 9):

1. ``unresolved``: the setup file names no symbol (``status: unresolved``);
2. ``rejected``: its levels are out of order (the setup table's ``ordering`` column);
3. ``undated``: its article has no publication date;
4. ``unresolved`` / ``no-data`` for a pair leg without a symbol or without bars (long leg first);
   ``no-data`` for a single whose symbol has no bars;
5. ``no-data``: no session of the series opens after publication; or its first bar after publication
   comes :data:`~backtest.engine.market.LATE_START_SESSIONS` or more XNYS sessions late (a series that
   starts months after the article: refused, never entered late); or, with ``delay``, the data ends
   before the delayed first session. A pair needs a session both legs trade (:meth:`Market.common`):
   each leg is checked as a single, then the legs' first common session after publication;
6. ``rejected`` (unless ``include_incoherent``): the levels are incoherent with the market (the rule is
   :mod:`backtest.engine.coherence`), measured against the reference close in the bars' basis.

``first`` is the first eligible session *after* the delay: a local bar position for singles, a position
in the legs' common sessions for pairs.

What survives goes to the kernel (singles) or to :mod:`backtest.engine.pairs`. Every decision is a
*code*; the one-line reason texts are rendered from the codes afterwards (:func:`refusal_texts`), for
the refused rows only. Levels are converted to the bars' basis here (split factors), once.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from ..data.calendar import TIMEZONE
from ..setups.table import SetupTable
from .arrays import AMBIGUITIES, ENTRY_TYPES, SCALE_OUTS
from .coherence import OK, VERDICT_NAMES, enters_at_market, verdicts
from .config import SimConfig
from .ledger import COHERENCE, STATUSES
from .market import LATE_START_SESSIONS, NO_SYMBOL, NOT_LOADED, Market

#: Status codes: positions in :data:`backtest.engine.ledger.STATUSES`; ``PENDING``: to be simulated.
PENDING = -1
S = {name: code for code, name in enumerate(STATUSES)}

# refusal reasons (rendered by refusal_texts)
(R_NONE, R_UNRESOLVED, R_ORDERING, R_UNDATED, R_LEG_UNRESOLVED, R_NO_BARS, R_BAD_REFERENCE, R_AFTER_LAST_BAR,
 R_INCOHERENT, R_LATE_START, R_NO_COMMON, R_DELAY_PAST_END) = range(12)

_NAT = np.iinfo(np.int64).min


@dataclasses.dataclass
class Screening:
    """The outcome of :func:`screen`, one entry per setup-table row (arrays of length n).

    ``status`` is a status code or :data:`PENDING`; ``reason`` a refusal code (``R_*``); ``incoherent``
    the coherence verdict (whatever ``include_incoherent`` made of it). For singles with a series:
    ``code`` (symbol code), ``first`` / ``ref`` (local positions of the first eligible session and of
    the reference bar) and the levels in the bars' basis. ``missing_symbol`` names the symbol whose
    bars were missing (R_NO_BARS), ``leg`` the pair leg a refusal is about. ``coherence`` is the
    ledger's coherence table; ``problems`` the incoherent rows' level descriptions. ``late_by`` counts the
    XNYS sessions between publication and the series' (a pair: the legs' common) first bar after it, and
    ``start_day`` is that bar's date (for the late-start reasons).
    """

    status: np.ndarray
    reason: np.ndarray
    incoherent: np.ndarray
    pair: np.ndarray
    sign: np.ndarray
    entry_type: np.ndarray
    code: np.ndarray
    first: np.ndarray
    ref: np.ndarray
    ref_close: np.ndarray
    entry: np.ndarray
    stop: np.ndarray
    invalidation: np.ndarray
    targets: np.ndarray
    entry_window: np.ndarray
    max_hold: np.ndarray
    scale_out: np.ndarray
    ambiguity: np.ndarray
    published_ns: np.ndarray
    missing_symbol: np.ndarray
    leg: np.ndarray
    long_code: np.ndarray
    short_code: np.ndarray
    coherence: pd.DataFrame
    problems: dict
    late_by: np.ndarray
    start_day: np.ndarray


def targets_matrix(targets: pd.Series) -> np.ndarray:
    """The targets tuples as an (n, K) float matrix, NaN-padded on the right (K = the most targets)."""
    width = max((len(t) for t in targets), default=0)
    out = np.full((len(targets), width), np.nan)
    for i, row in enumerate(targets):
        if row:
            out[i, : len(row)] = row
    return out


def _defaulted(values: pd.Series, default: int) -> np.ndarray:
    """A nullable integer column with the run's default where the setup sets none."""
    return np.asarray(values.fillna(default).to_numpy(dtype=np.int64))


def _codes(values: pd.Series, mapping: dict, default: str) -> np.ndarray:
    return np.asarray(values.fillna(default).map(mapping).to_numpy(dtype=np.int8))


def screen(table: SetupTable, market: Market, config: SimConfig) -> Screening:
    """Screen every setup of ``table`` against ``market`` under ``config`` (see the module docstring)."""
    setups = table.setups
    n = len(setups)
    pair = (setups["kind"] == "pair").to_numpy()
    single = ~pair
    sign = np.where((setups["direction"] == "short").to_numpy(), -1, 1).astype(np.int8)
    entry_type = np.asarray(setups["entry_type"].map(ENTRY_TYPES).to_numpy(dtype=np.int8))
    published_ns = table.published_ns()
    status = np.full(n, PENDING, dtype=np.int8)
    reason = np.zeros(n, dtype=np.int8)
    leg = np.full(n, "", dtype=object)
    missing_symbol = np.full(n, None, dtype=object)

    def refuse(mask, code, why):
        mask = mask & (status == PENDING)
        status[mask] = S[code]
        reason[mask] = why
        return mask

    refuse((setups["status"] == "unresolved").to_numpy(), "unresolved", R_UNRESOLVED)
    refuse(setups["ordering"].notna().to_numpy(), "rejected", R_ORDERING)
    refuse(published_ns == _NAT, "undated", R_UNDATED)

    # pair legs: long first, as a reader checks them
    long_code = market.codes(setups["long_symbol"])
    short_code = market.codes(setups["short_symbol"])
    for name, codes, column in (("long", long_code, "long_symbol"), ("short", short_code, "short_symbol")):
        hit = refuse(pair & (codes == NO_SYMBOL), "unresolved", R_LEG_UNRESOLVED)
        leg[hit] = name
        hit = refuse(pair & (codes == NOT_LOADED), "no-data", R_NO_BARS)
        missing_symbol[hit] = setups[column].to_numpy(dtype=object)[hit]
    # singles without bars
    code = market.codes(setups["symbol"])
    hit = refuse(single & (code == NOT_LOADED), "no-data", R_NO_BARS)
    missing_symbol[hit] = setups["symbol"].to_numpy(dtype=object)[hit]

    # positions, reference bar and split basis of every single with a series
    live = single & (status == PENDING)
    code = np.where(live, code, NOT_LOADED)
    first = market.first_after(code, published_ns)
    ref = np.where(live, market.last_closed(code, published_ns), -1)
    factor = market.split_factors(code, published_ns)
    targets_written = targets_matrix(setups["targets"])
    written = {"entry": setups["entry_level"].to_numpy(dtype=np.float64),
               "stop": setups["stop"].to_numpy(dtype=np.float64),
               **{f"target{k + 1}": targets_written[:, k] for k in range(targets_written.shape[1])},
               "invalidation": setups["invalidation"].to_numpy(dtype=np.float64)}
    levels = {name: values / factor for name, values in written.items()}
    ref_close = np.full(n, np.nan)
    atr = np.full(n, np.nan)
    has_ref = live & (ref >= 0)
    for c in np.unique(code[has_ref]):
        rows = has_ref & (code == c)
        ref_close[rows] = market.close[market.offset[c] + ref[rows]]
        atr[rows] = market.atr(c)[ref[rows]]
    # a reference close that is no price (bars built by hand, bypassing the data layer's validation): this
    # setup cannot be measured; refuse it alone
    with np.errstate(invalid="ignore"):
        bad_ref = has_ref & ~(np.isfinite(ref_close) & (ref_close > 0))
    refuse(bad_ref, "rejected", R_BAD_REFERENCE)
    live &= ~bad_ref
    has_ref &= ~bad_ref

    # coherence against the reference close (the rule: engine/coherence.py)
    at_market = enters_at_market(sign, entry_type, levels["entry"], ref_close)
    verdict = {}
    for name, level in levels.items():
        role = "target" if name.startswith("target") else name
        verdict[name] = verdicts(role, level, sign, at_market, ref_close, atr, config.coherence_max_pct,
                                 config.coherence_max_atr)
    incoherent_levels = np.zeros(n, dtype=bool)
    for name in levels:
        incoherent_levels |= ~np.isnan(levels[name]) & (verdict[name] != OK)
    incoherent_levels &= has_ref
    coherence, problems = _coherence_table(setups, live, has_ref, levels, written, verdict, ref, ref_close, atr,
                                           code, market, incoherent_levels)

    # no session after publication, a series that starts late, the delay past the data; then incoherence
    lengths = market.length_of(code)
    late_by = np.zeros(n, dtype=np.int64)
    start_day = np.full(n, np.datetime64("NaT", "ns"))
    refuse(live & (first >= lengths), "no-data", R_AFTER_LAST_BAR)
    _refuse_late(live & (status == PENDING), market.offset_of(code) + first, published_ns, market, late_by,
                 start_day, refuse)
    first[single] += config.delay
    refuse(live & (first >= lengths), "no-data", R_DELAY_PAST_END)
    incoherent = incoherent_levels & (status == PENDING)
    if not config.include_incoherent:  # refused; only a setup simulated anyway is flagged `incoherent`
        refuse(incoherent, "rejected", R_INCOHERENT)
        incoherent = np.zeros(n, dtype=bool)

    # pairs: each leg a session after publication, not late (long leg first); then the legs' common sessions
    for name, codes in (("long", long_code), ("short", short_code)):
        alive = pair & (status == PENDING)
        leg_first = market.first_after(np.where(alive, codes, NOT_LOADED), published_ns)
        leg_len = np.where(alive, market.length_of(codes), 0)
        hit = refuse(alive & (leg_first >= leg_len), "no-data", R_AFTER_LAST_BAR)
        leg[hit] = name
        hit = _refuse_late(alive & ~hit, market.offset_of(codes) + leg_first, published_ns, market, late_by,
                           start_day, refuse)
        leg[hit] = name
    alive = pair & (status == PENDING)
    common_length = np.zeros(n, dtype=np.int64)
    common_open = np.zeros(n, dtype=np.int64)
    for a, b in sorted(set(zip(long_code[alive].tolist(), short_code[alive].tolist()))):
        opens, _, _ = market.common(a, b)
        rows = alive & (long_code == a) & (short_code == b)
        first[rows] = np.searchsorted(opens, published_ns[rows], side="right")
        common_length[rows] = len(opens)
        if len(opens):
            common_open[rows] = opens[np.minimum(first[rows], len(opens) - 1)]
    hit = refuse(alive & (first >= common_length), "no-data", R_NO_COMMON)
    leg[hit] = "both"
    shared = alive & ~hit
    if shared.any():
        late_by[shared] = market.sessions_between(published_ns[shared], common_open[shared])
        start_day[shared] = pd.DatetimeIndex(pd.to_datetime(common_open[shared], utc=True)).tz_convert(TIMEZONE) \
            .tz_localize(None).normalize().as_unit("ns").to_numpy()
        hit = refuse(shared & (late_by >= LATE_START_SESSIONS), "no-data", R_LATE_START)
        leg[hit] = "both"
    first[pair] += config.delay
    refuse(alive & (first >= common_length), "no-data", R_DELAY_PAST_END)

    return Screening(
        status=status, reason=reason, incoherent=incoherent, pair=pair, sign=sign, entry_type=entry_type,
        code=code, first=first, ref=ref, ref_close=ref_close, entry=levels["entry"], stop=levels["stop"],
        invalidation=levels["invalidation"],
        targets=np.column_stack([levels[f"target{k + 1}"] for k in range(targets_written.shape[1])])
        if targets_written.shape[1] else np.full((n, 0), np.nan),
        entry_window=_defaulted(setups["entry_window"], config.entry_window),
        max_hold=_defaulted(setups["max_hold"], config.max_hold),
        scale_out=_codes(setups["scale_out"], SCALE_OUTS, config.scale_out),
        ambiguity=_codes(setups["ambiguity"], AMBIGUITIES, config.ambiguity),
        published_ns=published_ns, missing_symbol=missing_symbol, leg=leg, long_code=long_code,
        short_code=short_code, coherence=coherence, problems=problems, late_by=late_by, start_day=start_day,
    )


def _refuse_late(rows, first_global, published_ns, market, late_by, start_day, refuse) -> np.ndarray:
    """Refuse (``no-data``, R_LATE_START) the ``rows`` whose first bar after publication (global position
    ``first_global``) opens :data:`LATE_START_SESSIONS` or more XNYS sessions after it; the mask refused."""
    if not rows.any():
        return rows
    at = first_global[rows]
    late_by[rows] = market.sessions_between(published_ns[rows], market.open_ns[at])
    start_day[rows] = market.dates[at]
    return refuse(rows & (late_by >= LATE_START_SESSIONS), "no-data", R_LATE_START)


def _coherence_table(setups, live, has_ref, levels, written, verdict, ref, ref_close, atr, code, market,
                     incoherent_levels):
    """The ledger's coherence rows (setup order, then entry, stop, targets, invalidation) and, for every
    incoherent setup, its problem descriptions in the same order."""
    names = list(levels)
    rows = np.flatnonzero(live)
    if not len(rows):
        return COHERENCE.empty(), {}
    matrix = np.column_stack([levels[name][rows] for name in names])
    written_matrix = np.column_stack([written[name][rows] for name in names])
    verdict_matrix = np.column_stack([verdict[name][rows] for name in names])
    r_idx, l_idx = np.nonzero(~np.isnan(matrix))  # row-major: setup order, then level order
    setup_rows = rows[r_idx]
    level = matrix[r_idx, l_idx]
    as_written = written_matrix[r_idx, l_idx]
    codes = verdict_matrix[r_idx, l_idx].astype(np.int64)
    with_ref = has_ref[setup_rows]
    rc = ref_close[setup_rows]
    a = atr[setup_rows]
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(with_ref, (level / rc - 1.0) * 100.0, np.nan)
        in_atr = np.where(with_ref & (a > 0), (level - rc) / np.where(a > 0, a, np.nan), np.nan)
    verdict_names = np.where(with_ref, np.array(VERDICT_NAMES, dtype=object)[codes], "no-reference")
    ref_dates = market.date(np.where(with_ref, market.offset[np.maximum(code[setup_rows], 0)] + ref[setup_rows], -1))
    symbols = np.array(market.names, dtype=object)[code[setup_rows]]
    frame = COHERENCE.frame({
        "setup_id": setups["setup_id"].to_numpy(dtype=object)[setup_rows], "symbol": symbols,
        "level_name": np.array(names, dtype=object)[l_idx], "level": level, "ref_date": ref_dates,
        "ref_close": np.where(with_ref, rc, np.nan), "atr14": np.where(with_ref, a, np.nan), "distance_pct": pct,
        "distance_atr": in_atr, "verdict": verdict_names, "level_as_written": as_written,
    })
    problems: dict[int, list[str]] = {}
    bad = incoherent_levels[setup_rows] & (verdict_names != "ok")
    direction = setups["direction"].to_numpy(dtype=object)
    for k in np.flatnonzero(bad):
        i = int(setup_rows[k])
        name = names[l_idx[k]]
        shown = _fmt(as_written[k]) if as_written[k] == level[k] else f"{_fmt(as_written[k])} ({_fmt(level[k])} after splits)"
        side = f", already on the wrong side for a {direction[i]}" if verdict_names[k] == "wrong-side" else ""
        problems.setdefault(i, []).append(f"{name} {shown} is {pct[k]:+.1f} % / {in_atr[k]:+.1f} ATR from it{side}")
    return frame, problems


# ------------------------------------------------------------------------------------------ texts
def _fmt(x) -> str:
    """2,670.34 / 255 / 0.5: readable numbers for one-line reasons."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:,.2f}".rstrip("0").rstrip(".") if abs(x) >= 1 else f"{x:.4g}"


def _day(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


def after_last_bar(symbol: str, published: str, last) -> str:
    """Reason for a setup published after the symbol's last bar: nothing to simulate yet."""
    return (f"no {symbol} session after publication {published} (last bar {last}); "
            f"update the data (`backtest data fetch {symbol}`) or check the publication date")


def missing_reason(symbol: str, missing: dict) -> str:
    """The data layer's one-line reason a symbol has no bars (as the skip records it)."""
    return missing.get(symbol) or missing.get(str(symbol).strip().upper()) or f"no bars loaded for {symbol}"


def refusal_texts(table: SetupTable, sc: Screening, market: Market, config: SimConfig) -> dict[int, str]:
    """Row -> one-line reason, for every refused row and every incoherent row (``include_incoherent``)."""
    setups = table.setups
    out: dict[int, str] = {}
    rows = np.flatnonzero((sc.reason != R_NONE) | sc.incoherent)
    if not len(rows):
        return out
    article_ids = table.articles["article_id"].to_numpy(dtype=object)
    published = table.articles["published"].to_numpy(dtype=object)
    article = setups["article"].to_numpy()
    kind = setups["kind"].to_numpy(dtype=object)
    instrument = setups["instrument"].to_numpy(dtype=object)
    long_instrument = setups["long_instrument"].to_numpy(dtype=object)
    short_instrument = setups["short_instrument"].to_numpy(dtype=object)
    long_symbol = setups["long_symbol"].to_numpy(dtype=object)
    short_symbol = setups["short_symbol"].to_numpy(dtype=object)
    symbol = setups["symbol"].to_numpy(dtype=object)
    ordering = setups["ordering"].to_numpy(dtype=object)
    for i in rows:
        why = sc.reason[i]
        if why == R_UNRESOLVED:
            if kind[i] == "pair":
                names = [f"{name!r}" for name, sym in ((long_instrument[i], long_symbol[i]),
                                                      (short_instrument[i], short_symbol[i])) if not _text(sym)]
                what = " and ".join(names) or "a leg"
                out[i] = (f"pair leg {what} has no symbol (status: unresolved); set long.symbol/short.symbol in the "
                          "setup file")
            else:
                out[i] = (f"instrument {_text(instrument[i]) or '(unnamed)'!r} has no symbol (status: unresolved); "
                          "set symbol: in the setup file")
        elif why == R_ORDERING:
            out[i] = "level ordering: " + ordering[i]
        elif why == R_UNDATED:
            out[i] = (f"article {article_ids[article[i]]!r} has no publication date, so no session is known to come "
                      "after it; set `published:` in its setup file (or extract it again with "
                      "`backtest extract ARTICLE --published DATE`)")
        elif why == R_LEG_UNRESOLVED:
            out[i] = f"{sc.leg[i]} leg has no symbol"
        elif why == R_NO_BARS:
            sym = sc.missing_symbol[i]
            reason = missing_reason(sym, market.bars.missing)
            out[i] = reason if reason.startswith(sym) else f"no bars for {sym}: {reason}"
        elif why == R_BAD_REFERENCE:
            ref_date = market.date(market.offset[sc.code[i]] + sc.ref[i])
            out[i] = (f"{market.names[sc.code[i]]}: could not evaluate the setup (the reference close on "
                      f"{_day(ref_date)} is {sc.ref_close[i]!r}, not a price); check the bars")
        elif why == R_AFTER_LAST_BAR:
            # a pair leg is named as written; a single by its series' name
            written = (long_symbol if sc.leg[i] == "long" else short_symbol)[i] if sc.pair[i] else symbol[i]
            c = market.codes([written])[0]
            last = market.last_date(c)
            name = written if sc.pair[i] else market.names[c]
            out[i] = after_last_bar(name, published[article[i]], last.isoformat() if last else "none")
        elif why == R_LATE_START:
            day = _day(sc.start_day[i])
            if sc.leg[i] == "both":
                out[i] = (f"{long_symbol[i]} and {short_symbol[i]} have no session in common within "
                          f"{LATE_START_SESSIONS} sessions after publication {published[article[i]]} (the first is "
                          f"{day}, {sc.late_by[i]} sessions later); a pair is not entered late")
            else:
                written = (long_symbol if sc.leg[i] == "long" else short_symbol)[i] if sc.pair[i] else symbol[i]
                name = written if sc.pair[i] else market.names[sc.code[i]]
                out[i] = (f"no {name} bar within {LATE_START_SESSIONS} sessions after publication "
                          f"{published[article[i]]} (its first bar after it is {day}, {sc.late_by[i]} sessions "
                          "later); not entered late: check the data or the publication date")
        elif why == R_NO_COMMON:
            out[i] = (f"{long_symbol[i]} and {short_symbol[i]} have no session in common after publication "
                      f"{published[article[i]]}; a pair needs a session both legs trade")
        elif why == R_DELAY_PAST_END:
            name = f"{long_symbol[i]}/{short_symbol[i]}" if sc.pair[i] else market.names[sc.code[i]]
            out[i] = (f"acting {config.delay} sessions late (--delay {config.delay}), no {name} session is left in "
                      f"the data after publication {published[article[i]]}")
        elif why == R_INCOHERENT or sc.incoherent[i]:
            text = incoherence_text(market.names[sc.code[i]], sc, i, market, config)
            out[i] = text if why == R_INCOHERENT else text + " [simulated anyway: --include-incoherent]"
    return out


def incoherence_text(symbol: str, sc: Screening, i: int, market: Market, config: SimConfig) -> str:
    ref_date = market.date(market.offset[sc.code[i]] + sc.ref[i])
    return (f"incoherent with the market: {symbol} closed {_fmt(sc.ref_close[i])} on {_day(ref_date)}; "
            + "; ".join(sc.problems[i])
            + f" (limits {config.coherence_max_pct:g} % / {config.coherence_max_atr:g} ATR)")


def _text(value) -> str | None:
    """A text cell as str, or None when missing (NaN in a pandas string column)."""
    return value if isinstance(value, str) and value else None
