"""Writing report files: stable, deterministic text formatting for CSV, JSON and Parquet.

Determinism: the same inputs and options give byte-identical CSV and JSON. Floats are rounded to
``DECIMALS`` places, or to ``SIGNIFICANT`` digits when that is finer (a price of 2.5e-07 stays 2.5e-07
instead of becoming 0), and written in Python's shortest round-trip form, timestamps as ISO 8601 in UTC,
lists joined with ``;``, missing values as empty cells (CSV) or ``null`` (JSON). The only wall-clock
values live in the ``run`` block of ``summary.json``.

Where a report folder goes, how it is swapped into place and what may be deleted:
:mod:`backtest.reports.outdir`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


DECIMALS = 6
SIGNIFICANT = 6


def _rounded(f: float) -> float:
    """``f`` to ``DECIMALS`` places, but never to fewer than ``SIGNIFICANT`` significant digits."""
    if f == 0:
        return 0.0
    return round(f, max(DECIMALS, SIGNIFICANT - 1 - math.floor(math.log10(abs(f)))))


def fmt_value(value: Any) -> Any:
    """A JSON-safe, deterministic rendering of one cell (None for missing)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f) or math.isinf(f):
            return None
        f = _rounded(f)
        return 0.0 if f == 0 else f  # no "-0.0"
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        return value.tz_convert("UTC").isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [fmt_value(v) for v in value]
    if value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    return str(value)


def _cell(value: Any) -> str:
    value = fmt_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, float):
        # Integral floats (counts that became floats next to missing values) print as integers.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


#: A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """:func:`_cell` for a CSV file: text that a spreadsheet would run as a formula gets a leading ``'``.

    Only text is touched (an article title ``=HYPERLINK(...)``, an id ``+cmd``); numbers such as ``-2.5``
    are written as numbers. JSON and Parquet keep the raw text. A carriage return inside text becomes a
    newline: Python's CSV writer quotes a newline but not a lone CR, which would otherwise end the row.
    """
    text = _cell(value)
    if isinstance(value, str):
        if text.startswith(FORMULA_START):
            text = "'" + text
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def frame_to_csv(frame: pd.DataFrame) -> str:
    """CSV text with the documented formatting (see module docstring); text cells neutralised (:func:`csv_cell`)."""
    text = frame.astype(object).map(csv_cell) if len(frame) else frame.astype(object)
    return text.to_csv(index=False, lineterminator="\n")


def frame_to_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: fmt_value(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def frame_to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet with typed numeric and boolean columns; text, times and lists as their CSV strings.

    A column is numeric only when every non-missing value is a number: times (``entry_time``,
    ``first_session``, ...) are always ISO strings, whether or not some are missing (a ``datetime64``
    column must not turn into epoch numbers just because it has no NaT).
    """
    out = pd.DataFrame(index=range(len(frame)))
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            out[column] = series.to_numpy()
        elif not pd.api.types.is_datetime64_any_dtype(series) and _all_numbers(series):
            out[column] = pd.to_numeric(series).astype("float64").to_numpy()
        else:
            out[column] = pd.Series([(_cell(v) or None) for v in series], dtype=object).to_numpy()
    out.to_parquet(path, index=False)


def _all_numbers(series: pd.Series) -> bool:
    """True when the column has values and all of them are plain numbers (not bools, strings, times, lists)."""
    values = [v for v in series if not (v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)))]
    return bool(values) and all(isinstance(v, (int, float, np.integer, np.floating))
                                and not isinstance(v, (bool, np.bool_)) for v in values)


def to_json(data: Any) -> str:
    return json.dumps(_jsonable(data), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _jsonable(data: Any) -> Any:
    if isinstance(data, dict):
        return {str(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_jsonable(v) for v in data]
    return fmt_value(data)
