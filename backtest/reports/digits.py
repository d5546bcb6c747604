"""Decimal digits of whole columns of integers, in one compiled loop (numba; import lazily, as the engine's kernel).

Both functions write ``k / 10**places`` for every ``k`` of an int64 array (``|k| < 10**18``): its digits with
a point before the last ``places``, trailing fraction zeros and a bare point dropped, a ``0`` before the
point and ``-`` for negatives (``-1500000, 6`` -> ``-1.5``; ``7, 0`` -> ``7``). The rule, and why it is
Python's shortest ``repr`` of the rounded floats the reports write, is
:func:`backtest.reports.writers.decimal_text`'s; this module only makes the characters (a few ns per value
instead of a numpy pass per character column, and no Python object per value for :func:`decimal_join`).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def _shape(value, places, scale):
    """(length of the text, fraction digits kept) of ``value / scale``."""
    a = -value if value < 0 else value
    q, r = a // scale, a % scale
    digits = 1
    while q >= 10:
        q //= 10
        digits += 1
    kept = places
    while kept > 0 and r % 10 == 0:
        r //= 10
        kept -= 1
    return (1 if value < 0 else 0) + digits + (kept + 1 if kept > 0 else 0), kept


@njit(cache=True, nogil=True, inline="always")
def _write(out, end, value, places, scale, kept):
    """Write the text of ``value / scale`` into ``out`` backwards, its last character at ``end``."""
    a = -value if value < 0 else value
    q, r = a // scale, a % scale
    for _ in range(places - kept):
        r //= 10
    at = end
    for _ in range(kept):
        out[at] = 48 + r % 10
        r //= 10
        at -= 1
    if kept > 0:
        out[at] = 46  # "."
        at -= 1
    while True:
        out[at] = 48 + q % 10
        q //= 10
        at -= 1
        if q == 0:
            break
    if value < 0:
        out[at] = 45  # "-"


@njit(cache=True, nogil=True)
def decimal_chars(k, places):
    """(``chars``, ``lengths``): row ``i`` of the uint32 matrix ``chars`` holds the text of ``k[i] / 10**places``
    as code points, left-aligned and NUL-padded (a numpy ``str`` array when viewed as ``<U``), ``lengths[i]``
    its length."""
    n = len(k)
    scale = 10 ** places
    lengths = np.empty(n, np.int64)
    kept = np.empty(n, np.int64)
    width = 1
    for i in range(n):
        lengths[i], kept[i] = _shape(k[i], places, scale)
        width = max(width, lengths[i])
    chars = np.zeros((n, width), np.uint32)
    for i in range(n):
        _write(chars[i], lengths[i] - 1, k[i], places, scale, kept[i])
    return chars, lengths


@njit(cache=True, nogil=True)
def decimal_join(k, places, missing, null, sep):
    """The texts of ``k / 10**places`` joined by the byte ``sep`` into one ASCII byte array, with the bytes
    ``null`` in place of each value where ``missing`` is true (a JSON array's body, say)."""
    n = len(k)
    scale = 10 ** places
    total = max(n - 1, 0)
    for i in range(n):
        total += len(null) if missing[i] else _shape(k[i], places, scale)[0]
    out = np.empty(total, np.uint8)
    at = 0
    for i in range(n):
        if i:
            out[at] = sep
            at += 1
        if missing[i]:
            out[at:at + len(null)] = null
            at += len(null)
        else:
            length, kept = _shape(k[i], places, scale)
            _write(out, at + length - 1, k[i], places, scale, kept)
            at += length
    return out


__all__ = ["decimal_chars", "decimal_join"]
