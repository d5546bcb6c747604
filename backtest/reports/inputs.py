"""Input checks shared by the research modules (portfolio, event study, scorecard).

They work on plain pandas frames with the ledger's documented column names (``docs/reports.md``), so each
module declares the columns it reads once, as a tuple, and checks them with :func:`require_columns`.
Bars come as ``{symbol: DataFrame(open, high, low, close)}`` indexed by session date, or as a
:class:`~backtest.data.bars.BarSet` (its frames are used).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd


def require_columns(frame: pd.DataFrame, columns, what: str) -> None:
    """Raise one clear ``ValueError`` naming every missing column of ``frame`` (called ``what``)."""
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"{what}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)} (required: {', '.join(columns)})")


def bar_frames(bars, columns=("close",)) -> dict[str, pd.DataFrame]:
    """``{symbol: DataFrame}`` from a mapping of frames or a ``BarSet``, each checked for ``columns``.

    The index is made a sorted tz-naive ``DatetimeIndex`` of session dates (ns).
    """
    items = bars.items() if isinstance(bars, Mapping) else getattr(bars, "bars", {}).items()
    out = {}
    for symbol, value in items:
        frame = getattr(value, "frame", value)
        require_columns(frame, columns, f"bars[{symbol!r}]")
        index = pd.DatetimeIndex(frame.index)
        if index.tz is not None:
            index = index.tz_localize(None)
        frame = frame.set_axis(index.as_unit("ns").normalize())
        out[str(symbol)] = frame if frame.index.is_monotonic_increasing else frame.sort_index()
    return out


def stance_labels(values: pd.Series) -> pd.Series:
    """Stances as plain strings; a missing stance is ``unknown`` (as in stances.csv), never dropped by a group-by."""
    return values.astype(object).where(values.notna(), "unknown").astype(str)


def text_values(values: pd.Series) -> np.ndarray:
    """``values.astype(str).to_numpy()`` (an object array), without pandas' conversion to its ``str`` dtype and
    back when every value is a ``str`` already (ids, symbols: seconds at corpus size)."""
    array = values.to_numpy(dtype=object)
    if not len(array) or pd.api.types.infer_dtype(array, skipna=False) == "string":
        return array
    return values.astype(str).to_numpy(dtype=object)


def text_isin(values, allowed) -> np.ndarray:
    """``values.isin(allowed)`` for text (a boolean array): hashed as Python objects, since pandas' ``isin`` on
    its pyarrow ``str`` dtype converts every allowed value to an Arrow scalar one by one."""
    allowed = np.asarray(list(allowed) if isinstance(allowed, (set, frozenset, dict)) else
                         (allowed.to_numpy(dtype=object) if hasattr(allowed, "to_numpy") else allowed), dtype=object)
    array = values.to_numpy(dtype=object) if hasattr(values, "to_numpy") else np.asarray(values, dtype=object)
    return pd.Series(array, dtype=object).isin(allowed).to_numpy()


def positions(keys, values) -> np.ndarray:
    """Each of ``values``' position in ``keys`` (distinct hashable values: ids), -1 when absent: what
    ``pd.Index(keys).get_indexer(values)`` gives, by a dict (Python strings keep their hash; pandas converts
    text to its pyarrow dtype first). Duplicate keys raise, as pandas does."""
    keys = keys.tolist() if hasattr(keys, "tolist") else list(keys)
    at = dict(zip(keys, range(len(keys))))
    if len(at) != len(keys):
        raise pd.errors.InvalidIndexError("Reindexing only valid with uniquely valued Index objects")
    get = at.get
    values = values.tolist() if hasattr(values, "tolist") else list(values)
    return np.fromiter((get(v, -1) for v in values), dtype=np.int64, count=len(values))
