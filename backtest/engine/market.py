"""The bars as the engine reads them: every symbol's series in one flat array set, cut at ``--as-of``.

:class:`Market` is built once per simulation from a :class:`~backtest.data.bars.BarSet`. It is where the
``--as-of`` cut is applied (:meth:`BarSet.until <backtest.data.bars.Bars.until>`, once: no later bar reaches
the screening, the kernel, the pairs or the calls), and it answers the per-setup questions in whole
columns, one ``searchsorted`` per symbol and none per setup:

* which symbol a setup's text means (:meth:`codes`: exact, else trimmed and upper-cased, as setup files
  are hand-edited: ``iwm`` is IWM);
* the first session that opens strictly after publication (:meth:`first_after`) and the last that closed
  at or before it (:meth:`last_closed`);
* the split factor that converts a level written at publication to the bars' basis (:meth:`split_factors`);
* ATR(14) at a bar (:meth:`atr`);
* how many XNYS sessions opened between a publication and a bar (:meth:`sessions_between`: a series
  whose first bar after publication comes :data:`LATE_START_SESSIONS` or more sessions late is refused);
* the sessions two series share (:meth:`common`: a pair enters, is marked and exits on these only).

Bar positions are *local* (0 = the symbol's first bar); ``offset[code] + local`` is the global position
in the flat arrays the kernel reads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from ..data.bars import Bars, BarSet
from ..data.splits import split_factors

#: ATR window (sessions): the mean true range the coherence check measures distances in.
ATR_WINDOW = 14
#: Symbol codes that are not a series: no symbol written (unresolved) / a symbol without bars.
NO_SYMBOL, NOT_LOADED = -2, -1
#: A setup (pair, call) whose series has no bar in the first this-many XNYS sessions that open after its
#: publication is refused ("no bar within 5 sessions after publication"), never entered late: a series that
#: starts months after the article would measure another market than the one the article saw.
LATE_START_SESSIONS = 5


def average_true_range(bars: Bars, window: int = ATR_WINDOW) -> np.ndarray:
    """Simple mean of the last ``window`` true ranges at each bar (fewer at the start of the series)."""
    high, low, close = bars.array("high"), bars.array("low"), bars.array("close")
    prev = np.concatenate(([np.nan], close[:-1]))
    tr = np.fmax(high, prev) - np.fmin(low, prev)
    return pd.Series(tr).rolling(window, min_periods=1).mean().to_numpy()


@dataclasses.dataclass
class Market:
    """All symbols' bars concatenated (the kernel's price arrays) plus each symbol's offset and length."""

    bars: BarSet  # as cut at as_of: what the ledger reports as the bars used
    names: list[str]
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    dates: np.ndarray  # datetime64[ns], session dates
    open_ns: np.ndarray  # int64 session-open instants (UTC ns)
    close_ns: np.ndarray  # int64 session-close instants
    offset: np.ndarray  # int64 per symbol code
    length: np.ndarray  # int64 per symbol code
    _atr: dict = dataclasses.field(default_factory=dict)
    _common: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, barset: BarSet, as_of: dt.date | None = None) -> "Market":
        """The flat layout of ``barset`` with every series cut at ``as_of`` (the one place it is cut)."""
        usable = {symbol: b.until(as_of) for symbol, b in barset.bars.items()}
        names = list(usable)
        lengths = np.array([len(usable[s]) for s in names], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64) if len(names) else lengths

        def cat(column, dtype):
            parts = [usable[s].array(column) for s in names]
            return np.ascontiguousarray(np.concatenate(parts) if parts else np.empty(0, dtype), dtype=dtype)

        dates = [usable[s].frame.index.as_unit("ns").to_numpy() for s in names]
        return cls(bars=BarSet(bars=usable, missing=dict(barset.missing)), names=names,
                   open=cat("open", np.float64), high=cat("high", np.float64), low=cat("low", np.float64),
                   close=cat("close", np.float64),
                   dates=np.concatenate(dates) if dates else np.empty(0, "datetime64[ns]"),
                   open_ns=cat("session_open_ns", np.int64), close_ns=cat("session_close_ns", np.int64),
                   offset=offsets, length=lengths)

    # ------------------------------------------------------------------------------------- symbols
    def codes(self, symbols) -> np.ndarray:
        """Symbol code per value: its position in :attr:`names`, ``NOT_LOADED`` or ``NO_SYMBOL`` (None/NaN)."""
        raw = pd.Series(symbols, dtype=object)
        absent = raw.isna().to_numpy()
        names = pd.Index(self.names, dtype=object)
        codes = names.get_indexer(raw.where(~absent, None)).astype(np.int64)
        retry = (codes < 0) & ~absent
        if retry.any():
            codes[retry] = names.get_indexer(raw[retry].astype(str).str.strip().str.upper())
        codes[absent] = NO_SYMBOL
        return codes

    def offset_of(self, codes: np.ndarray) -> np.ndarray:
        """Global position of each code's first bar (0 for codes without a series)."""
        codes = np.asarray(codes)
        return self.offset[np.maximum(codes, 0)] * (codes >= 0) if len(self.offset) else np.zeros(codes.shape, np.int64)

    def length_of(self, codes: np.ndarray) -> np.ndarray:
        """Number of bars of each code's series (0 for codes without a series)."""
        codes = np.asarray(codes)
        return self.length[np.maximum(codes, 0)] * (codes >= 0) if len(self.length) else np.zeros(codes.shape, np.int64)

    # ------------------------------------------------------------------------------------- positions
    def _per_symbol(self, codes: np.ndarray, values: np.ndarray, column: np.ndarray, side: str) -> np.ndarray:
        """``searchsorted`` of ``values`` in each row's symbol's slice of ``column`` (local positions)."""
        out = np.zeros(len(codes), dtype=np.int64)
        for code in np.unique(codes[codes >= 0]):
            mine = codes == code
            lo, n = self.offset[code], self.length[code]
            out[mine] = np.searchsorted(column[lo:lo + n], values[mine], side=side)
        return out

    def first_after(self, codes: np.ndarray, published_ns: np.ndarray) -> np.ndarray:
        """Local position of the first session opening *strictly after* each publication (``length`` when
        there is none); rows without a series get 0."""
        return self._per_symbol(codes, published_ns, self.open_ns, "right")

    def last_closed(self, codes: np.ndarray, published_ns: np.ndarray) -> np.ndarray:
        """Local position of the last session that *closed at or before* each publication (-1: none)."""
        return self._per_symbol(codes, published_ns, self.close_ns, "right") - 1

    def split_factors(self, codes: np.ndarray, published_ns: np.ndarray) -> np.ndarray:
        """Divide a level written at publication by this to put it in its symbol's bars' basis."""
        out = np.ones(len(codes))
        for code in np.unique(codes[codes >= 0]):
            mine = codes == code
            out[mine] = split_factors(published_ns[mine], self.bars.bars[self.names[code]])
        return out

    def sessions_between(self, published_ns: np.ndarray, open_ns: np.ndarray) -> np.ndarray:
        """XNYS sessions that open strictly after each publication and strictly before ``open_ns`` (a bar's
        session open): 0 when the bar is the first session after publication."""
        from ..data.calendar import session_dates, session_instants

        published_ns, open_ns = np.asarray(published_ns, np.int64), np.asarray(open_ns, np.int64)
        out = np.zeros(len(open_ns), dtype=np.int64)
        if not len(open_ns):
            return out
        day = 86_400_000_000_000  # the calendar spans a day either side of every instant asked about
        start = pd.Timestamp(int(min(published_ns.min(), open_ns.min())) - day).date()
        end = pd.Timestamp(int(max(published_ns.max(), open_ns.max())) + day).date()
        calendar, _ = session_instants(session_dates(start, end))
        return (np.searchsorted(calendar, open_ns, side="left")
                - np.searchsorted(calendar, published_ns, side="right")).clip(min=0)

    def common(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(session-open instants, local positions in ``a``, local positions in ``b``) of the sessions both
        series have a bar on, in date order (computed once per pair of symbols)."""
        key = (int(a), int(b))
        if key not in self._common:
            lo_a, lo_b = self.offset[a], self.offset[b]
            dates_a = self.dates[lo_a:lo_a + self.length[a]]
            dates_b = self.dates[lo_b:lo_b + self.length[b]]
            _, in_a, in_b = np.intersect1d(dates_a, dates_b, assume_unique=True, return_indices=True)
            self._common[key] = (self.open_ns[lo_a + in_a], in_a.astype(np.int64), in_b.astype(np.int64))
        return self._common[key]

    def atr(self, code: int) -> np.ndarray:
        """ATR(14) of one symbol at each of its bars (computed once per symbol)."""
        if code not in self._atr:
            self._atr[code] = average_true_range(self.bars.bars[self.names[code]])
        return self._atr[code]

    def date(self, global_index) -> np.ndarray:
        """Session dates at global positions (NaT where the position is negative)."""
        index = np.asarray(global_index, dtype=np.int64)
        if index.ndim == 0:
            return self.dates[int(index)] if index >= 0 else np.datetime64("NaT", "ns")
        out = self.dates[np.maximum(index, 0)] if len(self.dates) else np.full(index.shape, np.datetime64("NaT", "ns"))
        return np.where(index >= 0, out, np.datetime64("NaT", "ns"))

    def last_date(self, code: int) -> dt.date | None:
        b = self.bars.bars[self.names[code]]
        return b.last
