"""Daily bars: the boundary object the data layer hands to the engine.

:class:`Bars` holds one symbol's validated daily OHLCV series *as traded* (not dividend-adjusted),
one row per XNYS session, with each session's open and close instants (UTC nanoseconds) so that
"the first session that opens after an article was published" is a single ``searchsorted``.

:class:`BarSet` maps symbols to :class:`Bars` and records what could not be loaded (symbol -> reason),
so one missing series never stops the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Iterator, Mapping

import numpy as np
import pandas as pd

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclasses.dataclass(frozen=True)
class SplitEvent:
    """A split effective at ``date``'s open; ``ratio`` 2 means 2-for-1 (prices halve)."""

    date: dt.date
    ratio: float


@dataclasses.dataclass
class Bars:
    """One symbol's daily bars.

    ``frame`` is indexed by session date (``datetime64[ns]``, tz-naive, named ``date``) with float64
    columns ``open, high, low, close, volume`` (volume NaN for indices) and int64 columns
    ``session_open_ns``/``session_close_ns`` (UTC nanoseconds since the epoch, from the XNYS calendar;
    half days have their early close).

    ``basis`` says how the prices relate to splits: ``as-traded`` (no split adjustment: levels compare
    directly) or ``split-adjusted`` (every price is in the basis of the newest bar; ``splits`` lists the
    events, and :func:`backtest.data.splits.to_bar_basis` converts an article's level).
    """

    symbol: str
    frame: pd.DataFrame
    source: str = "unknown"
    basis: str = "split-adjusted"
    splits: tuple[SplitEvent, ...] = ()
    dropped_rows: int = 0
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def first(self) -> dt.date | None:
        return self.frame.index[0].date() if len(self.frame) else None

    @property
    def last(self) -> dt.date | None:
        return self.frame.index[-1].date() if len(self.frame) else None

    def array(self, column: str) -> np.ndarray:
        """A column as a contiguous float64 (prices) or int64 (session instants) numpy array."""
        values = self.frame[column].to_numpy()
        return np.ascontiguousarray(values)

    def first_session_after(self, instant: dt.datetime | dt.date) -> int:
        """Index of the first bar whose session *opens strictly after* ``instant``.

        A date (no time) means "published after that day's close" (see
        :func:`backtest.data.calendar.publication_instant`): the first bar dated after it.
        Returns ``len(self)`` when there is no such bar; a naive datetime raises ``ValueError``.
        """
        from .calendar import publication_instant

        ns = publication_instant(instant).value
        return int(np.searchsorted(self.array("session_open_ns"), ns, side="right"))

    def last_close_index(self, published: dt.datetime | dt.date) -> int:
        """Index of the last bar whose session *closed at or before* ``published`` (-1 if none).

        The same publication rule as :meth:`first_session_after`: a date-only publication counts as
        that day's close, so that day's bar (if it is a session) is the last one closed.
        """
        from .calendar import publication_instant

        return last_closed_at(self.array("session_close_ns"), publication_instant(published).value)

    def until(self, as_of: dt.date | None) -> "Bars":
        """The bars dated on or before ``as_of`` (no later bar is ever read in an as-of run)."""
        if as_of is None:
            return self
        cut = self.frame.loc[: pd.Timestamp(as_of)]
        return dataclasses.replace(self, frame=cut)


def last_closed_at(close_ns: np.ndarray, instant_ns: int) -> int:
    """Index of the last session in ``close_ns`` (ascending close instants, UTC ns) that closed at or before
    ``instant_ns`` (-1 if none): a session closing exactly at publication counts as closed."""
    return int(np.searchsorted(close_ns, instant_ns, side="right")) - 1


@dataclasses.dataclass
class BarSet(Mapping[str, Bars]):
    """Bars for many symbols plus the symbols that could not be loaded and why."""

    bars: dict[str, Bars] = dataclasses.field(default_factory=dict)
    missing: dict[str, str] = dataclasses.field(default_factory=dict)

    def __getitem__(self, symbol: str) -> Bars:
        return self.bars[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self.bars)

    def __len__(self) -> int:
        return len(self.bars)

    def coverage(self) -> list[dict]:
        """Per symbol: first/last bar, rows, source, basis (for the report's data coverage block)."""
        rows = []
        for symbol in sorted(self.bars):
            b = self.bars[symbol]
            rows.append(
                {
                    "symbol": symbol,
                    "first": b.first.isoformat() if b.first else None,
                    "last": b.last.isoformat() if b.last else None,
                    "rows": len(b),
                    "source": b.source,
                    "basis": b.basis,
                    "dropped_rows": b.dropped_rows,
                }
            )
        return rows
