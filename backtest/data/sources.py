"""The :class:`BarSource` protocol and helpers shared by the cache, mirror and Yahoo sources.

A source answers one question: "give me this symbol's daily bars between ``start`` and ``end``".
It returns ``None`` when it simply does not have the symbol (the next source is tried) and raises
:class:`backtest.errors.DataError` with a one-line reason when it has something but cannot use it
(unreadable file, no network). :func:`backtest.data.load.load_barset` tries the configured sources in
order and records the reasons of all of them when none delivers.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol, runtime_checkable

import pandas as pd

from .bars import Bars


@runtime_checkable
class BarSource(Protocol):
    """Anything that can load one symbol's :class:`Bars`."""

    name: str

    def load(self, symbol: str, start: dt.date | None = None, end: dt.date | None = None) -> Bars | None:
        """The bars dated ``start``..``end`` (inclusive, ``None`` = open), or ``None`` if the symbol is unknown."""
        ...

    def describe(self) -> str:
        """Where this source looks (for "tried: ..." messages)."""
        ...


def clip(bars: Bars, start: dt.date | None, end: dt.date | None) -> Bars:
    """``bars`` restricted to ``start``..``end`` inclusive (the same object when nothing is cut)."""
    if start is None and end is None:
        return bars
    frame = bars.frame
    lo = pd.Timestamp(start) if start is not None else None
    hi = pd.Timestamp(end) if end is not None else None
    cut = frame.loc[lo:hi]
    if len(cut) == len(frame):
        return bars
    return Bars(symbol=bars.symbol, frame=cut, source=bars.source, basis=bars.basis, splits=bars.splits,
                dropped_rows=bars.dropped_rows, notes=bars.notes)
