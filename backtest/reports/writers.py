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
    columns = [column_cells(frame.iloc[:, i], csv=True, quoted=len(header) >= 2) for i in range(frame.shape[1])]
    if len(header) < 2:  # a lone empty field is written as "" by the csv module: let it decide
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")  # pandas' to_csv dialect: minimal quoting, doubled quotes
        writer.writerow(header)
        writer.writerows(zip(*columns))
        return out.getvalue()
    lines = [",".join(_quoted(header))]
    lines += map(",".join, zip(*columns))
    return "\n".join(lines) + "\n"


#: What makes the csv module (minimal quoting, ``lineterminator="\n"``) quote a field.
_QUOTE_WHEN = (",", '"', "\n", "\r")


def _quoted(cells: list[str], joined: str | None = None) -> list[str]:
    """``cells`` as the csv module's minimal quoting writes them (a field holding a comma, a quote or a line
    break in double quotes, quotes doubled), for rows of two fields or more; a column with nothing to quote
    is checked in one pass over its joined text (``joined``, when the caller has it) and returned as it is."""
    if joined is None:
        joined = "\0".join(cells)
    present = [q for q in _QUOTE_WHEN if q in joined]
    if not present:
        return cells
    if len(present) == 1:  # one character to look for (a comma, say): a plain substring test per cell
        q = present[0]
        return ['"' + c.replace('"', '""') + '"' if q in c else c for c in cells]
    return ['"' + c.replace('"', '""') + '"' if any(q in c for q in present) else c for c in cells]


def _float_cell(f: float) -> str:
    """:func:`_cell` of one float (NaN/inf empty; 6 decimals; integral values as integers; no -0)."""
    if f != f or f in (math.inf, -math.inf):
        return ""
    f = _rounded(f)
    if f == 0:
        return "0"
    return str(int(f)) if f.is_integer() and abs(f) < 1e15 else repr(f)


#: Distinct values are formatted once (and spread back) in columns longer than this.
_DISTINCT_FROM = 64


def decimal_text(k: np.ndarray, places: int) -> np.ndarray:
    """The text of each ``k / 10**places`` (``k`` int64, ``|k| < 10**18``): its digits with a point before the
    last ``places``, trailing fraction zeros and a bare point dropped, a leading ``0`` before the point and
    ``-`` for negatives; an array of ``str`` (numpy unicode).

    This is Python's shortest ``repr`` of the double nearest ``k / 10**places`` whenever that double is
    written positionally and has at most 15 significant digits (two decimals of at most 15 digits never
    share a double, so no shorter text reads back as it), and ``str(int)`` for ``places = 0``. The
    characters are made in one compiled loop (:func:`backtest.reports.digits.decimal_chars`).
    """
    from .digits import decimal_chars

    k = np.ascontiguousarray(k, dtype=np.int64)
    chars, _ = decimal_chars(k, int(places))
    return chars.view(f"<U{chars.shape[1]}").reshape(len(k))


def _spread(values: np.ndarray, format_distinct) -> np.ndarray:
    """``format_distinct(values)`` (an array of texts, one per value) computed on the distinct values only when
    the column is long enough for that to pay (prices, dates and counts repeat), as an object array."""
    if len(values) > _DISTINCT_FROM:
        distinct, inverse = np.unique(values, return_inverse=True)
        return np.asarray(format_distinct(distinct), dtype=object)[inverse.reshape(-1)]
    return np.asarray(format_distinct(values), dtype=object)


def float_cells(values: np.ndarray) -> list[str]:
    """:func:`_float_cell` of a whole float column, vectorized where the result is provably the same.

    For ``0.1 <= |x| < 1e9`` (and 0) the cell is ``x`` rounded to 6 decimals (:func:`_rounded`), written in
    Python's shortest repr, which for such a value is its decimal digits (:func:`decimal_text` of
    ``k = rint(x * 1e6)``). ``rint(x * 1e6)`` is Python's correctly rounded ``round(x, 6)`` unless
    ``x * 1e6`` lies within rounding error of a half (a tie); ties, values below 0.1 (rounded to 6
    significant digits, possibly written with an exponent), 1e9 and above are formatted by
    :func:`_float_cell` itself. Integral results print as integers (no point), ``-0`` as ``0``.
    """
    x = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(x)
    with np.errstate(invalid="ignore", over="ignore"):
        ax = np.abs(x)
        scaled = x * 1e6
        tie = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < 1e-3
        plain = finite & (((ax >= 0.1) & (ax < 1e9)) | (x == 0)) & ~tie
    digits = np.zeros(len(x), dtype=np.int64)
    digits[plain] = np.rint(scaled[plain])
    cells = _decimal_cells(digits, DECIMALS, ~plain)
    other = np.flatnonzero(finite & ~plain)
    if len(other):
        for i, text in zip(other.tolist(), _spread(x[other], lambda v: [_float_cell(f) for f in v.tolist()]).tolist()):
            cells[i] = text
    return cells


def _decimal_cells(k: np.ndarray, places: int, empty: np.ndarray) -> list[str]:
    """:func:`decimal_text` of each ``k`` as a list of str, ``""`` where ``empty``: the texts are joined by a
    compiled loop (:func:`backtest.reports.digits.decimal_join`) and split by ``str.split``, which makes the
    str objects faster than converting a numpy array of them one by one."""
    from .digits import decimal_join

    if not len(k):
        return []
    text = decimal_join(np.ascontiguousarray(k, dtype=np.int64), int(places), np.ascontiguousarray(empty, dtype=np.bool_),
                        _NOTHING, ord("\n"))
    return text.tobytes().decode("ascii").split("\n")


_NOTHING = np.zeros(0, dtype=np.uint8)


def int_cells(values: np.ndarray, missing: np.ndarray | None = None) -> list[str]:
    """``str(int(v))`` of a whole int64 column, ``""`` where ``missing`` (:func:`decimal_text`; Python's ``str``
    from 10**18 on)."""
    values = np.asarray(values, dtype=np.int64)
    missing = np.zeros(len(values), dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    present = values[~missing]
    if len(present) and (np.abs(present[present != np.iinfo(np.int64).min]).max(initial=0) >= 10**18
                         or (present == np.iinfo(np.int64).min).any()):
        return ["" if m else str(i) for i, m in zip(values.tolist(), missing.tolist())]
    return _decimal_cells(np.where(missing, 0, values), 0, missing)


_BOOL_TEXT = np.array(["false", "true"], dtype=object)


def _masked_cells(series: pd.Series, numpy_dtype, cells) -> list[str]:
    """``cells`` of a nullable (``Int64``/``boolean``) column's values, missing cells empty."""
    missing = series.isna().to_numpy()
    values = series.to_numpy(dtype=numpy_dtype, na_value=0)
    if not missing.any():
        return cells(values)
    out = np.full(len(values), "", dtype=object)
    out[~missing] = cells(values[~missing])
    return out.tolist()


def _date_cells(values: np.ndarray) -> list[str] | None:
    """A tz-naive ``datetime64`` column as ``isoformat()`` writes each value (missing empty), or None when some
    value has a fraction of a second (then each cell is formatted on its own)."""
    values = values.astype("datetime64[ns]")
    missing = np.isnat(values)
    ns = values.view(np.int64)
    if (ns[~missing] % 1_000_000_000).any():  # isoformat writes a fraction: not this path
        return None
    out = np.full(len(values), "", dtype=object)
    if (~missing).any():
        out[~missing] = _spread(ns[~missing], lambda v: np.datetime_as_string(v.view("datetime64[ns]"), unit="s"))
    return out.tolist()


def column_cells(series: pd.Series, *, csv: bool, quoted: bool = False) -> list[str]:
    """Every cell of one column as :func:`csv_cell` (``csv=True``) or :func:`_cell` writes it; ``quoted``: then
    as the csv module writes it in a row of two fields or more (:func:`_quoted`).

    Typed columns take a fast path by dtype; anything else (mixed objects) goes cell by cell. Numbers, bools
    and times never hold a comma, a quote or a line break: only text is checked for quoting.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.BooleanDtype):
        return _BOOL_TEXT[series.to_numpy().astype(np.intp)].tolist()
    if isinstance(dtype, pd.BooleanDtype):
        return _masked_cells(series, bool, lambda v: _BOOL_TEXT[v.astype(np.intp)].tolist())
    if pd.api.types.is_float_dtype(dtype):
        return float_cells(series.to_numpy(dtype=np.float64))
    if pd.api.types.is_integer_dtype(dtype):
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return int_cells(series.to_numpy(dtype=np.int64, na_value=0), series.isna().to_numpy())
        if dtype.kind == "u" and len(series) and series.max() > np.iinfo(np.int64).max:
            return [str(int(v)) for v in series.to_numpy()]
        return int_cells(series.to_numpy(dtype=np.int64))
    if pd.api.types.is_datetime64_dtype(dtype) and getattr(dtype, "tz", None) is None:
        cells = _date_cells(series.to_numpy(dtype="datetime64[ns]"))
        if cells is not None:
            return cells
    values = series.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(values, skipna=True) if len(values) else ""
    if kind == "empty":  # every value missing (None, NaN, NaT, NA): every cell empty
        return [""] * len(values)
    if kind == "string":  # text (and missing): at once
        if pd.api.types.infer_dtype(values, skipna=False) != "string":  # some missing: empty cells
            values = values.copy()
            values[pd.isna(values)] = ""
        cells = values.tolist()
        if not csv:
            return cells
        joined = "\0" + "\0".join(cells)  # every cell follows a NUL: "\0=" finds a cell starting with "="
        # (a character that is nowhere is ruled out by a fast one-character search first)
        if "\r" in joined or any(start in joined and "\0" + start in joined for start in FORMULA_START):
            cells, joined = [csv_cell(v) if v.startswith(FORMULA_START) or "\r" in v else v for v in cells], None
        return _quoted(cells, joined) if quoted else cells
    if len(values) and all(type(v) is tuple for v in values):  # lists of levels (targets), all at once
        cells = _float_tuple_cells(values)
        if cells is not None:
            return cells
    if quoted:
        return _quoted(column_cells(series, csv=csv))
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


def _float_tuple_cells(values: np.ndarray) -> list[str] | None:
    """A column of tuples of floats (the targets) as :func:`_cell` writes each (``;``-joined floats), or None
    when some item is not a float."""
    import itertools

    flat = list(itertools.chain.from_iterable(values))
    if flat and set(map(type, flat)) != {float}:
        return None
    counts = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    texts = np.asarray(float_cells(np.array(flat, dtype=np.float64)), dtype=object)
    starts = np.cumsum(counts) - counts
    out = np.full(len(values), "", dtype=object)
    for count in np.unique(counts[counts > 0]).tolist():
        rows = np.flatnonzero(counts == count)
        joined = texts[starts[rows]]
        for j in range(1, count):
            joined = joined + ";" + texts[starts[rows] + j]
        out[rows] = joined
    return out.tolist()


def frame_to_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: fmt_value(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def frame_to_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet with typed numeric and boolean columns; text, times and lists as their CSV strings
    (:func:`parquet_frame`)."""
    parquet_frame(frame).to_parquet(path, index=False)


def parquet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame :func:`frame_to_parquet` writes (with ``to_parquet(path, index=False)``): typed numeric and
    boolean columns; text, times and lists as their CSV strings.

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
        elif _is_text(series) and _inferred_str_dtype() is not None:  # the texts as they are
            columns[column] = _text_column(series.to_numpy(dtype=object))
        else:
            columns[column] = _text_column(column_cells(series, csv=False))
    return pd.DataFrame(columns, index=range(len(frame)), columns=list(frame.columns))


def _is_text(series: pd.Series) -> bool:
    """An ``object`` column of str values (and missing ones): :func:`column_cells` would give them as they are."""
    return series.dtype == object and len(series) > 0 and \
        pd.api.types.infer_dtype(series.to_numpy(dtype=object), skipna=True) == "string"


def _text_column(cells):
    """A Parquet text column of ``cells`` (a list of str, or an object array of str and missing values), an empty
    or missing cell missing: pandas' pyarrow-backed ``str`` column, built by pyarrow at once (what pandas infers
    from the same values one by one, in the same file bytes); an ``object`` column of None when every cell is
    empty (pandas' "empty" column, Arrow's null type)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = _inferred_str_dtype()
    if dtype is None:  # pandas keeps text as objects: nothing to convert
        return np.array([c or None for c in cells], dtype=object)
    text = pa.array(cells, type=pa.large_string(), from_pandas=True)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.large_string()), text)
    if text.null_count == len(text):
        return np.full(len(text), None, dtype=object)
    return pd.array(text, dtype=dtype)


def _inferred_str_dtype():
    """The dtype pandas gives a column of Python strings when it is pyarrow-backed ``str`` (pandas 3), else None."""
    try:
        if int(pd.__version__.split(".")[0]) < 3 and not pd.get_option("future.infer_string"):
            return None
        dtype = pd.StringDtype(na_value=np.nan)
    except (KeyError, TypeError, pd.errors.OptionError):  # an older pandas: text stays object
        return None
    return dtype if dtype.storage == "pyarrow" else None


def _all_numbers(series: pd.Series) -> bool:
    """True when the column has values and all of them are plain numbers (not bools, strings, times, lists)."""
    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        return False  # a text column (pandas' str dtype)
    if series.dtype == object and len(series) and \
            pd.api.types.infer_dtype(series.to_numpy(dtype=object), skipna=True) in ("string", "empty"):
        return False  # text, or nothing but missing values
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
