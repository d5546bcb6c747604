"""Price basis across splits.

A level written in an article refers to prices *as traded when it was published*. Daily bars from
Yahoo (``auto_adjust=False``) and from the mirror files are split-adjusted to the newest bar: after
XLK's 2:1 split on 2025-12-05, its pre-split bars are halved. So a level written before a split must be
divided by the ratios of every split that took effect after publication to be compared with the bars.

A split "takes effect after publication" when its session (split date, effective at the open) opens
strictly after the publication instant, the same rule that decides which sessions a setup may act on.
A date-only publication counts as after that day's close, so a split dated the same day took effect
*before* publication (the article saw post-split prices).

Which splits the prices reflect is decided once, when a source loads the series
(:func:`reflected_splits`): a split dated after the source's last bar cannot be in its prices. Cutting
the bars later (``--as-of``) does not un-adjust them, so those splits still apply.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Iterable

import numpy as np
import pandas as pd

from .bars import Bars, SplitEvent


def split_ratio(value) -> float:
    """A split ratio as a float, or ``ValueError`` saying why it is not one (the rule for every source).

    A ratio is new shares per old share: 2 for a 2-for-1 split, 0.1 for a 1-for-10 reverse split. It must
    be a finite number above 0 (levels are divided by it) and not 1 (a split that changes nothing is a
    data error). SPLITS.csv, the cache metadata and Yahoo's actions all go through this check.
    """
    if isinstance(value, bool):
        raise ValueError(f"split ratio must be a number, got {value!r}")
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"split ratio must be a number, got {value!r}") from None
    if not math.isfinite(ratio) or ratio <= 0:
        raise ValueError(f"split ratio must be a finite number above 0, got {value!r}")
    if ratio == 1:
        raise ValueError("split ratio 1 changes nothing")
    return ratio


def reflected_splits(splits: Iterable[SplitEvent], last: dt.date | None) -> tuple[tuple[SplitEvent, ...], tuple[str, ...]]:
    """The splits a split-adjusted series ending on ``last`` can reflect, and a note per one left out."""
    kept, notes = [], []
    for split in splits:
        if last is not None and split.date > last:
            notes.append(f"split {split.date.isoformat()} {split.ratio:g}:1 is after the last bar {last.isoformat()}: "
                         "the prices cannot reflect it yet, so it is not applied")
        else:
            kept.append(split)
    return tuple(kept), tuple(notes)


def split_factors(published_ns: np.ndarray, bars: Bars) -> np.ndarray:
    """Per publication instant (UTC ns), the product of the ratios of the splits whose session opens after it.

    Divide a level written at that instant by its factor to put it in the bars' basis. For as-traded bars
    (no adjustment) every factor is 1.
    """
    published_ns = np.asarray(published_ns, dtype=np.int64)
    factors = np.ones(len(published_ns))
    if bars.basis == "as-traded" or not bars.splits:
        return factors
    from .calendar import session_instants

    opens, _ = session_instants(pd.DatetimeIndex([s.date for s in bars.splits]))
    for split, split_open in zip(bars.splits, opens):
        factors[published_ns < split_open] *= split.ratio
    return factors


def to_bar_basis(level: float, published: dt.datetime | dt.date, bars: Bars) -> float:
    """Convert one level written at ``published`` (publication-date basis) to the basis of ``bars``.

    Example: XLK split 2:1 on 2025-12-05; a level of 290 written on 2025-11-20 is 145 on the
    split-adjusted bars, one written on 2026-02-01 stays 290 (``tests/test_data_mirror.py``).
    """
    from .calendar import publication_instant

    return level / float(split_factors(np.array([publication_instant(published).value]), bars)[0])
