"""Writing the report directory: stable text formatting and an all-or-nothing directory swap.

Determinism: the same inputs and options give byte-identical CSV and JSON. Floats are rounded to
``DECIMALS`` places and written in Python's shortest round-trip form, timestamps as ISO 8601 in UTC,
lists joined with ``;``, missing values as empty cells (CSV) or ``null`` (JSON). The only wall-clock
values live in the ``run`` block of ``summary.json``.

Atomicity: everything is written into a hidden sibling directory ``.<name>.tmp-<pid>`` and renamed into
place at the end (a rename within one directory is atomic on POSIX). On any failure, including
SIGINT/SIGTERM, the temporary directory is removed, the target is untouched and ``latest`` still points
at the previous report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ReportError

DECIMALS = 6


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
        f = round(f, DECIMALS)
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


def frame_to_csv(frame: pd.DataFrame) -> str:
    """CSV text with the documented formatting (see module docstring)."""
    text = frame.astype(object).map(_cell) if len(frame) else frame.astype(object)
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


def free_directory_name(target: Path) -> Path:
    """``target`` if nothing is there yet, else the first free ``target-2``, ``target-3``, ...

    Two runs started in the same second with the same options get the same run id; the later one must
    not replace the earlier one's report (they may have read different setups).
    """
    target = Path(target)
    candidate, n = target, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = target.with_name(f"{target.name}-{n}")
    return candidate


class atomic_directory:
    """``with atomic_directory(target) as tmp:`` -- a temporary directory that becomes ``target`` only if
    the block finishes.

    ``replace=True`` (an explicit ``--out`` reused): an existing ``target`` is replaced as a whole, never
    merged. ``replace=False`` (the default ``reports/<run-id>/``): an existing report is never touched;
    if another run claimed ``target`` meanwhile, the report goes to the next free ``target-N`` (the
    rename of a directory onto a non-empty one fails atomically, so the claim is race-free). Either
    way the directory finally used is :attr:`final`.

    Failures inside the block (disk full, SIGINT/SIGTERM turned into ``KeyboardInterrupt``) remove the
    temporary directory and leave ``target`` as it was; an ``OSError`` becomes a one-line
    :class:`ReportError`.
    """

    def __init__(self, target: Path, *, replace: bool = True):
        self.target = Path(target)
        self.replace = replace
        self.final: Path | None = None
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot create the report's parent directory: {exc.strerror or exc}",
                              where=str(parent), hint="choose a writable --out") from None
        tmp = parent / f".{self.target.name}.tmp-{os.getpid()}"
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir()
        except OSError as exc:
            raise ReportError(f"report directory is not writable: {exc.strerror or exc}",
                              where=str(parent), hint="choose a writable --out or fix the permissions") from None
        self.tmp = tmp
        return tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.tmp is not None
        if exc_type is None:
            try:
                self.final = self._publish()
                return False
            except OSError as error:
                exc_type, exc = type(error), error
        shutil.rmtree(self.tmp, ignore_errors=True)
        if issubclass(exc_type, OSError):
            raise ReportError(f"could not write the report: {exc.strerror or exc}", where=str(self.target),
                              hint="check free space and permissions; nothing was left half-written") from None
        return False  # anything else (KeyboardInterrupt included) propagates unchanged

    def _publish(self) -> Path:
        tmp, target = self.tmp, self.target
        if not self.replace:
            for n in range(1, 1000):
                candidate = target if n == 1 else target.with_name(f"{target.name}-{n}")
                try:
                    os.rename(tmp, candidate)
                    return candidate
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
                        raise
            raise OSError(errno.EEXIST, "no free report directory name", str(target))
        olds = []
        try:
            for attempt in range(20):  # a concurrent run writing the same --out may swap in between
                try:
                    os.rename(tmp, target)
                    return target
                except OSError as exc:
                    if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                        raise
                old = target.parent / f".{target.name}.old-{os.getpid()}-{attempt}"
                with contextlib.suppress(FileNotFoundError):
                    os.rename(target, old)
                    olds.append(old)
            raise OSError(errno.EBUSY, "the report directory kept changing (another run writing it?)", str(target))
        finally:
            for old in olds:
                shutil.rmtree(old, ignore_errors=True)


def point_latest(latest: Path, target: Path) -> None:
    """Atomically make ``latest`` a symlink to ``target`` (relative when they share a directory)."""
    link_to = target.name if target.parent.resolve() == latest.parent.resolve() else str(target.resolve())
    tmp = latest.parent / f".{latest.name}.tmp-{os.getpid()}"
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(link_to, tmp)
    try:
        os.replace(tmp, latest)
    except OSError as exc:  # e.g. someone made ``latest`` a real directory
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReportError(f"cannot point it at the new report {target.name}: {exc.strerror or exc}", where=str(latest),
                          hint="the report itself was written; remove or rename this path (it must be a symlink)") from None
