"""Decimal digits of whole columns of integers, in one compiled loop (numba; import lazily, as the engine's kernel).

:func:`decimal_chars` writes ``k / 10**places`` for every ``k`` of an int64 array as text: its digits with a
point before the last ``places``, trailing fraction zeros and a bare point dropped, a ``0`` before the point
and ``-`` for negatives (``-1500000, 6`` -> ``-1.5``; ``7, 0`` -> ``7``). The rule, and why it is Python's
shortest ``repr`` of the rounded floats the reports write, is :func:`backtest.reports.writers.decimal_text`'s;
this module only makes the characters (a few ns per value instead of a numpy pass per character column).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def decimal_chars(k, places):
    """(``chars``, ``lengths``): row ``i`` of the uint32 matrix ``chars`` holds the text of ``k[i] / 10**places``
    left-aligned and NUL-padded, ``lengths[i]`` its length. ``|k| < 10**18``."""
    n = len(k)
    scale = 1
    for _ in range(places):
        scale *= 10
    lengths = np.empty(n, np.int64)
    kept = np.empty(n, np.int64)  # fraction digits left once trailing zeros are dropped
    width = 1
    for i in range(n):
        a = -k[i] if k[i] < 0 else k[i]
        q, r = a // scale, a % scale
        digits = 1
        while q >= 10:
            q //= 10
            digits += 1
        keep = places
        while keep > 0 and r % 10 == 0:
            r //= 10
            keep -= 1
        kept[i] = keep
        lengths[i] = (1 if k[i] < 0 else 0) + digits + (keep + 1 if keep > 0 else 0)
        if lengths[i] > width:
            width = lengths[i]
    chars = np.zeros((n, width), np.uint32)  # code points: a numpy unicode array as it is
    for i in range(n):
        a = -k[i] if k[i] < 0 else k[i]
        q, r = a // scale, a % scale
        for _ in range(places - kept[i]):
            r //= 10
        at = lengths[i] - 1
        for _ in range(kept[i]):
            chars[i, at] = 48 + r % 10
            r //= 10
            at -= 1
        if kept[i] > 0:
            chars[i, at] = 46  # "."
            at -= 1
        while True:
            chars[i, at] = 48 + q % 10
            q //= 10
            at -= 1
            if q == 0:
                break
        if k[i] < 0:
            chars[i, at] = 45  # "-"
    return chars, lengths


__all__ = ["decimal_chars"]
