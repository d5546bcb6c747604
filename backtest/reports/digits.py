"""Decimal digits of whole columns of integers, in one loop: compiled by numba for long columns, interpreted for
short ones (as the engine's kernel: a small run, such as the five seed articles, never imports numba).

Both functions write ``k / 10**places`` for every ``k`` of an int64 array (``|k| < 10**18``): its digits with
a point before the last ``places``, trailing fraction zeros and a bare point dropped, a ``0`` before the
point and ``-`` for negatives (``-1500000, 6`` -> ``-1.5``; ``7, 0`` -> ``7``). The rule, and why it is
Python's shortest ``repr`` of the rounded floats the reports write, is
:func:`backtest.reports.writers.decimal_text`'s; this module only makes the characters (a few ns per value
instead of a numpy pass per character column, and no Python object per value for :func:`decimal_join`).
"""

from __future__ import annotations

import sys
import types

import numpy as np

#: Columns of at least this many values use the compiled loops (numba's import and cache load, about 0.5 s
#: once, against ~3-8 µs a value interpreted); once numba is imported (the kernel ran compiled), every column.
COMPILED_FROM = 2_000


def _use_compiled(n: int) -> bool:
    return n >= COMPILED_FROM or "numba" in sys.modules


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


def _decimal_chars(k, places):
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


def _decimal_join(k, places, missing, null, sep):
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


_compiled: dict | None = None


def _loops() -> dict:
    """The two loops compiled by numba (once per process; machine code cached on disk). The helpers are
    compiled first and the loops built over them (numba resolves a loop's globals when it compiles it)."""
    global _compiled
    if _compiled is None:
        from numba import njit

        names = dict(globals())
        names["_shape"] = njit(cache=True, nogil=True, inline="always")(_shape)
        names["_write"] = njit(cache=True, nogil=True, inline="always")(_write)
        _compiled = {name: njit(cache=True, nogil=True)(types.FunctionType(function.__code__, names, name))
                     for name, function in (("_decimal_chars", _decimal_chars), ("_decimal_join", _decimal_join))}
    return _compiled


def decimal_chars(k, places, *, compiled: bool | None = None):
    """(``chars``, ``lengths``): row ``i`` of the uint32 matrix ``chars`` holds the text of ``k[i] / 10**places``
    as code points, left-aligned and NUL-padded (a numpy ``str`` array when viewed as ``<U``), ``lengths[i]``
    its length. ``compiled``: the numba loop (True), the same loop interpreted (False), or by length (and
whether numba is already imported)."""
    if compiled if compiled is not None else _use_compiled(len(k)):
        return _loops()["_decimal_chars"](k, places)
    return _decimal_chars(k, places)


def decimal_join(k, places, missing, null, sep, *, compiled: bool | None = None):
    """The texts of ``k / 10**places`` joined by the byte ``sep`` into one ASCII byte array, with the bytes
    ``null`` in place of each value where ``missing`` is true (a JSON array's body, say); ``compiled`` as in
    :func:`decimal_chars`."""
    if compiled if compiled is not None else _use_compiled(len(k)):
        return _loops()["_decimal_join"](k, places, missing, null, sep)
    return _decimal_join(k, places, missing, null, sep)


__all__ = ["decimal_chars", "decimal_join", "COMPILED_FROM"]
