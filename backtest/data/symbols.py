"""Symbol spelling: Yahoo symbols as users write them <-> file-name stems.

Index symbols start with a caret (``^RUT``), which is awkward in file names, so files spell it out:
``^RUT`` is stored as ``RUT_INDEX.csv`` / ``RUT_INDEX_1d.parquet``. Everything else keeps its name
(``IWM`` -> ``IWM.csv``). Symbols are upper-cased: ``iwm`` and ``IWM`` are the same series.
"""

from __future__ import annotations

import re

INDEX_SUFFIX = "_INDEX"
_VALID = re.compile(r"^\^?[A-Z0-9][A-Z0-9.\-=]*$")


def normalize_symbol(symbol: str) -> str:
    """Upper-case, trimmed symbol; raises ValueError for something that cannot be a ticker."""
    text = str(symbol).strip().upper()
    if not _VALID.match(text):
        raise ValueError(f"{symbol!r} is not a ticker symbol (expected e.g. IWM, ^RUT, BRK-B)")
    return text


def symbol_to_stem(symbol: str) -> str:
    """``"^RUT"`` -> ``"RUT_INDEX"``, ``"IWM"`` -> ``"IWM"``."""
    text = normalize_symbol(symbol)
    return text[1:] + INDEX_SUFFIX if text.startswith("^") else text


def stem_to_symbol(stem: str) -> str:
    """``"RUT_INDEX"`` -> ``"^RUT"``, ``"IWM"`` -> ``"IWM"`` (inverse of :func:`symbol_to_stem`)."""
    text = str(stem).strip().upper()
    if text.endswith(INDEX_SUFFIX) and len(text) > len(INDEX_SUFFIX):
        return "^" + text[: -len(INDEX_SUFFIX)]
    return text
