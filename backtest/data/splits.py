"""Price basis across splits.

A level written in an article refers to prices *as traded when it was published*. Daily bars from
Yahoo (``auto_adjust=False``) and from the mirror files are split-adjusted to the newest bar: after
XLK's 2:1 split on 2025-12-05, its pre-split bars are halved. So a level written before a split must be
divided by the ratios of every split that took effect after publication to be compared with the bars.

A split "takes effect after publication" when its session (split date, effective at the open) opens
strictly after the publication instant, the same rule that decides which sessions a setup may act on.
A date-only publication counts as after that day's close, so a split dated the same day took effect
*before* publication (the article saw post-split prices).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from .bars import Bars, SplitEvent


def _split_after(split: SplitEvent, published: dt.datetime | dt.date) -> bool:
    if isinstance(published, dt.datetime):
        from .calendar import first_session_open_after

        # The split's session opens after publication iff the split date is on/after the first session
        # that opens after publication.
        return split.date >= first_session_open_after(published).tz_convert("America/New_York").date()
    return split.date > published


def split_factor(published: dt.datetime | dt.date, splits: Iterable[SplitEvent], until: dt.date | None = None) -> float:
    """Product of split ratios effective after ``published`` (and on/before ``until`` if given)."""
    factor = 1.0
    for split in splits:
        if until is not None and split.date > until:
            continue
        if _split_after(split, published):
            factor *= split.ratio
    return factor


def to_bar_basis(level: float, published: dt.datetime | dt.date, bars: Bars) -> float:
    """Convert an article's level (publication-date basis) to the basis of ``bars``.

    For split-adjusted bars: divide by every split after publication up to the last bar.
    For as-traded bars nothing changes (the bars themselves jump at the split).

    >>> from backtest.data.bars import Bars, SplitEvent
    >>> import pandas as pd, datetime as dt
    >>> xlk = Bars("XLK", pd.DataFrame(index=pd.DatetimeIndex(["2026-01-02"])),
    ...            splits=(SplitEvent(dt.date(2025, 12, 5), 2.0),))
    >>> to_bar_basis(290.0, dt.date(2025, 11, 20), xlk)
    145.0
    >>> to_bar_basis(145.0, dt.date(2026, 2, 1), xlk)
    145.0
    """
    if bars.basis == "as-traded" or not bars.splits:
        return level
    return level / split_factor(published, bars.splits, until=bars.last)
