"""Turn a raw table of daily bars (CSV, parquet, yfinance) into a validated :class:`Bars` frame.

Rules (each violation is counted and reported in one note naming the file and the first lines):

* required columns ``date, open, high, low, close``; ``volume`` optional (empty/NaN for indices);
  a missing column is an error for the whole file (nothing can be trusted);
* a row is **dropped** when its date does not parse, a price is missing or not positive, or the
  prices are inconsistent: ``high < low``, ``high < max(open, close)`` or ``low > min(open, close)``;
* a row is **dropped** when its prices are implausible (:data:`PRICE_MAX`, :data:`JUMP`): a price at or
  above 1e9 (no listed instrument trades near a billion per unit; 1.7e308 is a corrupt cell), a bar
  whose high is more than 10x its low, or an isolated spike: a close more than 10x away from *both*
  neighbouring closes, in the same direction, while those two agree within 10x. A crash or a split
  moves the level for good, so the next close agrees with it and it is kept; only a single bar that
  leaves and comes straight back is dropped. Tiny prices (1e-7) are valid and kept at full precision;
* duplicate dates keep the last row (a later line is usually a correction); unsorted rows are sorted;
* rows dated on a day that is not an XNYS session are **kept but flagged** (they get 09:30-16:00
  New York instants, see :mod:`backtest.data.calendar`);
* a negative or non-finite volume becomes NaN.

Prices that are float32 values widened to float64 (``265.0199890136719``, a common artefact of
Yahoo-derived files) are snapped back to the decimal they stand for (``265.02``). Without this a stop
written as 255.05 would not be "touched" by a low stored as 255.0500030517578 minus a rounding hair.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import DataError
from .bars import COLUMNS

REQUIRED = ("date", "open", "high", "low", "close")
PRICES = ("open", "high", "low", "close")
HEADER_HINT = "expected a header date,open,high,low,close,volume with ISO dates (YYYY-MM-DD)"
_FIRST_DATE, _END_DATE = pd.Timestamp("1900-01-01"), pd.Timestamp("2200-01-01")
NEW_YORK = "America/New_York"
# A trailing UTC offset on an ISO stamp: Z, +01:00, -0500.
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
_ROW = "__row"  # the input position of each row, carried through sorting so notes name the file line
# Relative slack for the OHLC consistency checks, far below a tick, so only real contradictions count.
_EPS = 1e-9
#: Prices at or above this are implausible (BRK-A, the dearest US share, trades below 1e6; ^DJI below 1e5).
PRICE_MAX = 1e9
#: A bar's high more than JUMP x its low, or a close JUMP x away from both neighbours, is implausible.
JUMP = 10.0


@dataclasses.dataclass
class CleanResult:
    """A validated frame (date index, float64 OHLCV, session instants) and what was dropped."""

    frame: pd.DataFrame
    dropped: int
    notes: tuple[str, ...]


def snap_float32(values: np.ndarray) -> np.ndarray:
    """Replace float64 values that are exactly a float32 by the shortest decimal of that float32.

    ``255.0500030517578`` (float32 of 255.05 printed as float64) becomes ``255.05``; a genuine float64
    like ``138.5301`` is not exactly a float32 and is left alone.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(values)
    with np.errstate(over="ignore"):  # beyond float32's range: not a float32 artefact, left alone below
        as32 = values.astype(np.float32)
    exact = finite & (as32.astype(np.float64) == values)
    if not exact.any():
        return values
    out = values.copy()
    out[exact] = as32[exact].astype(str).astype(np.float64)
    return out


def _labels(positions: np.ndarray, first_line: int | None, lines: np.ndarray | None = None, limit: int = 3) -> str:
    word = "line" if first_line is not None or lines is not None else "row"
    if lines is not None:
        shown = ", ".join(str(int(lines[p])) for p in positions[:limit])
    else:
        base = first_line if first_line is not None else 0
        shown = ", ".join(str(int(p) + base) for p in positions[:limit])
    more = f", +{len(positions) - limit} more" if len(positions) > limit else ""
    return f"{word}{'s' if len(positions) > 1 else ''} {shown}{more}"


def session_dates(column: pd.Series) -> pd.Series:
    """The session date of each bar stamp, as tz-naive midnight timestamps (NaT where it is no plausible date).

    The rule (``docs/data.md``, "Dates in bar files"):

    * a plain date (``2026-02-03``), or a naive date-time, is that date;
    * a stamp at **midnight in its own zone** is a date label, whatever the zone: ``2026-02-03T00:00:00Z``,
      ``...T00:00:00-05:00`` (yfinance) and a tz-aware parquet column at UTC midnight are all 2026-02-03.
      Converting such a label to New York first would shift it to the evening before;
    * any other stamp with a zone is an instant: its session date is its **New York** calendar date
      (``2026-02-03T21:00:00Z``, the close, is 2026-02-03; ``2026-02-04T06:00:00+09:00`` too).

    Dates outside 1900..2199 count as bad dates: they are typos (``1200-01-01``), and pandas 3 parses
    them at a coarser unit that would overflow the nanosecond instants the engine works with.
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        wall = column.dt.tz_localize(None)  # the wall-clock time in the column's own zone
        new_york = column.dt.tz_convert(NEW_YORK).dt.tz_localize(None)
        dates = wall.where(wall == wall.dt.normalize(), new_york).dt.normalize()
    elif pd.api.types.is_datetime64_dtype(column.dtype):
        dates = column.dt.normalize()
    else:
        text = column.astype("str").str.strip()
        # Offsets change with daylight saving, and pandas refuses a column of mixed offsets; so the
        # wall-clock part (offset removed) and the instant (in UTC) are parsed apart.
        offset = text.str.extract(_OFFSET, expand=False)
        aware = offset.notna()
        wall = pd.to_datetime(text.str.replace(_OFFSET, "", regex=True), errors="coerce", format="ISO8601")
        dates = wall
        if aware.any():
            instant = pd.to_datetime(text.where(aware), errors="coerce", format="ISO8601", utc=True)
            new_york = instant.dt.tz_convert(NEW_YORK).dt.tz_localize(None).astype(wall.dtype)
            label = aware & (wall == wall.dt.normalize())
            dates = wall.where(~aware | label, new_york)
        dates = dates.dt.normalize()
    return dates.where((dates >= _FIRST_DATE) & (dates < _END_DATE))


def isolated_spikes(close: np.ndarray, jump: float = JUMP) -> np.ndarray:
    """Mask of closes that leave both neighbours by more than ``jump``x in one direction and come straight back.

    Row ``i`` is a spike when ``close[i]`` is above ``jump`` x both ``close[i-1]`` and ``close[i+1]`` (or
    below both divided by ``jump``) while the two neighbours agree within ``jump``x. The first and last
    bars have one neighbour and are never spikes: a jump there cannot be told from a crash or a split.
    """
    close = np.asarray(close, dtype=np.float64)
    out = np.zeros(len(close), dtype=bool)
    if len(close) < 3:
        return out
    mid, before, after = close[1:-1], close[:-2], close[2:]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        up = (mid > jump * before) & (mid > jump * after)
        down = (mid * jump < before) & (mid * jump < after)
        neighbours_agree = np.maximum(before, after) <= jump * np.minimum(before, after)
    out[1:-1] = (up | down) & neighbours_agree
    return out


def clean_bars(raw: pd.DataFrame, where: str, *, first_line: int | None = None,
               lines: Sequence[int] | None = None) -> CleanResult:
    """Validate ``raw`` (one row per bar, a ``date`` column or a date index) into a :class:`Bars` frame.

    ``where`` names the input in messages (a file path, ``yahoo:IWM``); ``first_line`` is the file line
    of the first data row (2 for a CSV with a header) so notes can point at lines. ``lines`` gives
    each row's file line instead, when rows are not consecutive lines (a CSV with blank lines).
    Raises :class:`DataError` when the table is unusable as a whole (missing column, no valid row).
    """
    from .calendar import is_session, with_sessions

    table = raw.copy()
    table.columns = [str(c).strip().lower() for c in table.columns]
    if "date" not in table.columns:
        index_name = str(table.index.name or "").strip().lower()
        if isinstance(table.index, pd.DatetimeIndex) or index_name in ("date", "datetime"):
            table = table.reset_index(names="date")
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise DataError(f"missing column(s) {', '.join(missing)}", where=where, hint=HEADER_HINT)
    if table.columns.duplicated().any():
        raise DataError("duplicate column names in the header", where=where, hint=HEADER_HINT)
    total = len(table)
    if total == 0:
        raise DataError("no rows", where=where, hint=HEADER_HINT)

    dates = session_dates(table["date"])
    prices = {c: snap_float32(pd.to_numeric(table[c], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan))
              for c in PRICES}
    if "volume" in table.columns:
        volume = pd.to_numeric(table["volume"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        volume = np.full(total, np.nan)

    o, h, low, c = (prices[k] for k in PRICES)
    slack = _EPS * np.nan_to_num(np.abs(h), nan=0.0)
    bad_date = dates.isna().to_numpy()
    missing_price = np.zeros(total, dtype=bool)
    for k in PRICES:
        missing_price |= ~np.isfinite(prices[k])
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        not_positive = ~missing_price & ((o <= 0) | (h <= 0) | (low <= 0) | (c <= 0))
        too_large = ~missing_price & ~not_positive & (np.maximum.reduce([o, h, low, c]) >= PRICE_MAX)
        inconsistent = ~missing_price & ~not_positive & ~too_large & (
            (h < low - slack) | (h < np.maximum(o, c) - slack) | (low > np.minimum(o, c) + slack)
        )
        wide = ~missing_price & ~not_positive & ~too_large & ~inconsistent & (h > JUMP * low)
    problems = [
        ("bad date", bad_date),
        ("missing price", ~bad_date & missing_price),
        ("price <= 0", ~bad_date & not_positive),
        (f"implausible price (>= {PRICE_MAX:.0e})", ~bad_date & too_large),
        ("high/low inconsistent with open/close", ~bad_date & inconsistent),
        (f"implausible range (high more than {JUMP:g}x low)", ~bad_date & wide),
    ]
    drop = bad_date | missing_price | not_positive | too_large | inconsistent | wide
    line_numbers = np.asarray(lines) if lines is not None and len(lines) == total else None
    reasons = [f"{n} {name} ({_labels(np.flatnonzero(mask), first_line, line_numbers)})"
               for name, mask in problems if (n := int(mask.sum()))]

    frame = pd.DataFrame(
        {"open": o, "high": h, "low": low, "close": c, "volume": volume, _ROW: np.arange(total)},
        index=pd.DatetimeIndex(dates, name="date"),
    )[[*COLUMNS, _ROW]]
    frame = frame[~drop]
    flags = []
    bad_volume = (frame["volume"] < 0) | np.isinf(frame["volume"])
    if bad_volume.any():
        frame.loc[bad_volume, "volume"] = np.nan
        flags.append(f"{int(bad_volume.sum())} negative or infinite volume(s) set to empty")
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
        flags.append("rows were not in date order (sorted)")
    duplicated = frame.index.duplicated(keep="last")
    if duplicated.any():
        n = int(duplicated.sum())
        reasons.append(f"{n} duplicate date(s) (kept the last row for {frame.index[duplicated][0].date()}"
                       f"{' and others' if n > 1 else ''})")
        frame = frame[~duplicated]
    spikes = isolated_spikes(frame["close"].to_numpy())
    if spikes.any():
        rows = np.sort(frame[_ROW].to_numpy()[spikes])
        reasons.append(f"{int(spikes.sum())} isolated price spike(s) (a close more than {JUMP:g}x away from both "
                       f"neighbouring closes) ({_labels(rows, first_line, line_numbers)})")
        frame = frame[~spikes]
    frame = frame.drop(columns=_ROW)
    if frame.empty:
        detail = "; ".join(reasons) or "no rows"
        raise DataError(f"no valid bars ({detail})", where=where, hint=HEADER_HINT)
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame.index.name = "date"
    off_calendar = ~is_session(frame.index)
    if off_calendar.any():
        days = ", ".join(str(d.date()) for d in frame.index[off_calendar][:3])
        flags.append(f"{int(off_calendar.sum())} row(s) on non-XNYS-session dates kept ({days})")

    dropped = total - len(frame)
    notes = []
    if dropped:
        notes.append(f"{where}: dropped {dropped} of {total} rows: " + "; ".join(reasons))
    if flags:
        notes.append(f"{where}: " + "; ".join(flags))
    return CleanResult(frame=with_sessions(frame), dropped=dropped, notes=tuple(notes))
