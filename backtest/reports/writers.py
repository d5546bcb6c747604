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
    """CSV text with the documented formatting (see module docstring); text cells neutralised (:func:`csv_cell`).

    Formatted column by column (:func:`column_cells`): the same text as :func:`csv_cell` on every cell,
    without its per-cell dispatch (100k rows x 40 columns in about a second).
    """
    header = [str(c) for c in frame.columns]
    columns = [column_cells(frame.iloc[:, i], csv=True) for i in range(frame.shape[1])]
    if len(header) < 2:  # a lone empty field is written as "" by the csv module: let it decide
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")  # pandas' to_csv dialect: minimal quoting, doubled quotes
        writer.writerow(header)
        writer.writerows(zip(*columns))
        return out.getvalue()
    lines = [",".join(_quoted(header))]
    lines += [",".join(row) for row in zip(*(_quoted(c) for c in columns))]
    return "\n".join(lines) + "\n"


#: What makes the csv module (minimal quoting, ``lineterminator="\n"``) quote a field.
_QUOTE_WHEN = (",", '"', "\n", "\r")


def _quoted(cells: list[str]) -> list[str]:
    """``cells`` as the csv module's minimal quoting writes them (a field holding a comma, a quote or a line
    break in double quotes, quotes doubled), for rows of two fields or more; a column with nothing to quote
    is checked in one pass over its joined text and returned as it is."""
    joined = "\0".join(cells)
    if not any(c in joined for c in _QUOTE_WHEN):
        return cells
    return ['"' + c.replace('"', '""') + '"' if any(q in c for q in _QUOTE_WHEN) else c for c in cells]


def _float_cell(f: float) -> str:
    """:func:`_cell` of one float (NaN/inf empty; 6 decimals; integral values as integers; no -0)."""
    if f != f or f in (math.inf, -math.inf):
        return ""
    f = _rounded(f)
    if f == 0:
        return "0"
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


def float_cells(values: np.ndarray) -> list[str]:
    """:func:`_float_cell` of a whole float column, vectorized where the result is provably the same.

    ``np.round(x, 6)`` equals Python's correctly rounded ``round(x, 6)`` unless ``x * 1e6`` lies within
    rounding error of a half (a tie) or ``x`` is so large that ``x * 1e6`` loses digits; values below 0.1
    keep more than 6 decimals (:func:`_rounded`: 6 significant digits at least). Those values are rounded by
    Python. Integral results print as integers, the rest in Python's shortest repr.
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.full(len(x), "", dtype=object)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore", over="ignore"):
        big = finite & (np.abs(x) >= 1e9)
        scaled = x * 1e6
        tie = finite & ~big & (np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-3)
        small = finite & (x != 0) & (np.abs(x) < 0.1)
        rounded = np.round(x, DECIMALS)
    exact = tie | big | small
    if exact.any():
        rounded[exact] = [_rounded(v) for v in x[exact].tolist()]
    rounded[rounded == 0] = 0.0  # no "-0"
    integral = finite & (rounded == np.trunc(rounded)) & (np.abs(rounded) < 1e15)
    if integral.any():
        out[integral] = rounded[integral].astype(np.int64).astype(str)
    rest = finite & ~integral
    if rest.any():
        values = rounded[rest]
        if len(values) > 64:  # each distinct value formatted once (prices repeat: the same close, the same level)
            distinct, inverse = np.unique(values, return_inverse=True)
            out[rest] = np.array([repr(v) for v in distinct.tolist()], dtype=object)[inverse]
        else:
            out[rest] = [repr(v) for v in values.tolist()]
    return out.tolist()


_BOOL_TEXT = np.array(["false", "true"], dtype=object)


def column_cells(series: pd.Series, *, csv: bool) -> list[str]:
    """Every cell of one column as :func:`csv_cell` (``csv=True``) or :func:`_cell` writes it.

    Typed columns take a fast path by dtype; anything else (mixed objects) goes cell by cell.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return _BOOL_TEXT[series.to_numpy().astype(np.intp)].tolist()
    if isinstance(dtype, pd.BooleanDtype):
        return ["" if v is pd.NA else ("true" if v else "false") for v in series.array]
    if pd.api.types.is_float_dtype(dtype):
        return float_cells(series.to_numpy(dtype=np.float64))
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return ["" if v is pd.NA else str(int(v)) for v in series.array]
        return [str(int(v)) for v in series.to_numpy()]
    if pd.api.types.is_datetime64_dtype(dtype) and getattr(dtype, "tz", None) is None:
        values = series.to_numpy(dtype="datetime64[ns]")
        missing = np.isnat(values)
        if not (values[~missing].astype(np.int64) % 1_000_000_000).any():  # whole seconds: isoformat has no fraction
            text = np.datetime_as_string(values, unit="s").astype(object)
            text[missing] = ""
            return text.tolist()
    values = series.to_numpy(dtype=object)
    if len(values) and pd.api.types.infer_dtype(values, skipna=True) == "string":  # text (and missing): at once
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = ""
        cells = values.tolist()
        if not csv:
            return cells
        joined = "\0" + "\0".join(cells)  # every cell follows a NUL: "\0=" finds a cell starting with "="
        if "\r" not in joined and not any("\0" + start in joined for start in FORMULA_START):
            return cells
        return [csv_cell(v) if v.startswith(FORMULA_START) or "\r" in v else v for v in cells]
    if len(values) and all(type(v) is tuple for v in values):  # lists of levels (targets), all at once
        counts = [len(v) for v in values]
        if all(type(x) is float for v in values for x in v):
            flat = iter(float_cells(np.fromiter((x for v in values for x in v), dtype=np.float64, count=sum(counts))))
            return [";".join(next(flat) for _ in range(n)) for n in counts]
    cell = csv_cell if csv else _cell

    def one(v):
        if type(v) is str:
            return csv_cell(v) if csv and (v.startswith(FORMULA_START) or "\r" in v) else v
        if v is None or (type(v) is float and v != v):
            return ""
        return cell(v)

    if csv:
        return [v if type(v) is str and not v.startswith(FORMULA_START) and "\r" not in v else one(v) for v in values]
    return [v if type(v) is str else one(v) for v in values]


def frame_to_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: fmt_value(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def frame_to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet with typed numeric and boolean columns; text, times and lists as their CSV strings.

    A column is numeric only when every non-missing value is a number: times (``entry_time``,
    ``first_session``, ...) are always ISO strings, whether or not some are missing (a ``datetime64``
    column must not turn into epoch numbers just because it has no NaT).
    """
    columns = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            columns[column] = series.to_numpy()
        elif not pd.api.types.is_datetime64_any_dtype(series) and _all_numbers(series):
            columns[column] = pd.to_numeric(series).astype("float64").to_numpy()
        else:
            columns[column] = np.array([c or None for c in column_cells(series, csv=False)], dtype=object)
    pd.DataFrame(columns, index=range(len(frame)), columns=list(frame.columns)).to_parquet(path, index=False)


def _all_numbers(series: pd.Series) -> bool:
    """True when the column has values and all of them are plain numbers (not bools, strings, times, lists)."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return False  # a text column (pandas' str dtype)
    first = series.first_valid_index()
    if first is not None and isinstance(series[first], (str, tuple, list)):
        return False  # text or lists: no need to look at every value
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
