"""XNYS session times: each daily bar gets its session's open and close instant (UTC ns).

Why: "a setup acts only on sessions that open strictly after publication" needs instants, not dates.
An article published Sunday 17:30 UTC acts from Monday's 09:30 New York open; one published at
15:00 New York time on a Tuesday acts from Wednesday's open (Tuesday's session had already opened).

``exchange_calendars`` is imported lazily (≈0.4 s) and the calendar is built once per process; when the
data loader names a cache directory (:func:`cache_schedule_in`, ``<cache_dir>/calendar/``), the session
table is kept there as plain int64 arrays (``.npz``, no pickle), one file per ``exchange_calendars``
version and UTC day (the calendar's default end moves with the day), so a later run reads it instead of
importing ``exchange_calendars`` and building the calendar (about 1 s of a small run).
Dates that are not XNYS sessions (some sources carry index bars on exchange holidays) get the regular
09:30–16:00 America/New_York times and are reported by the validator.

The calendar spans 1990-01-02 to :func:`calendar_end`: at least through 2030 and a year past today,
whatever the clock says. It does not depend on the clock being right (a clock in 1985 used to make
exchange_calendars refuse to build it) nor on the local time zone (``TZ``): a ``TZ`` that Python cannot
use (an offset of 24 h or more) is reported in one line, never as an internal error.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

CALENDAR_NAME = "XNYS"
TIMEZONE = "America/New_York"
_FIRST = dt.date(1990, 1, 2)
_MIN_END, _MAX_END = dt.date(2030, 12, 31), dt.date(2199, 12, 31)


def calendar_end(today: dt.date | None = None) -> dt.date:
    """The calendar's last day: a year past ``today`` (UTC), but never before 2030 nor after 2199."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return min(max(today + dt.timedelta(days=366), _MIN_END), _MAX_END)


_CACHE: dict[str, Path | None] = {"dir": None}


def cache_schedule_in(directory: Path | None) -> None:
    """Keep the session table under ``directory`` (``<directory>/calendar/``); None: build it every time."""
    _CACHE["dir"] = Path(directory) if directory is not None else None


def _cache_file() -> Path | None:
    if _CACHE["dir"] is None:
        return None
    from importlib.metadata import version

    day = dt.datetime.now(dt.timezone.utc).date().isoformat()
    return _CACHE["dir"] / "calendar" / f"{CALENDAR_NAME}-{_FIRST}-xcals{version('exchange_calendars')}-{day}.npz"


@functools.lru_cache(maxsize=1)
def _schedule() -> pd.DataFrame:
    """The XNYS session table (``open_ns``, ``close_ns`` by session date): from the cache file of the day
    when there is one (see the module docstring), else built, and stored when a cache directory is set."""
    path = _cache_file()
    if path is not None:
        try:
            with np.load(path, allow_pickle=False) as stored:
                dates, opens, closes = stored["date_ns"], stored["open_ns"], stored["close_ns"]
            if dates.dtype == opens.dtype == closes.dtype == np.int64 and len(dates) == len(opens) == len(closes) > 0:
                return _frame(dates, opens, closes)
        except (OSError, ValueError, KeyError, EOFError):
            pass  # missing or unreadable: build it
    built = _build_schedule()
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as handle:
                np.savez(handle, date_ns=built.index.asi8, open_ns=built["open_ns"].to_numpy(),
                         close_ns=built["close_ns"].to_numpy())
            os.replace(tmp, path)  # readers see the old file or the whole new one
        except OSError:
            pass  # a cache that cannot be written only costs the next run time
    return built


def _frame(dates: np.ndarray, opens: np.ndarray, closes: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"open_ns": opens, "close_ns": closes},
                        index=pd.DatetimeIndex(dates.view("datetime64[ns]"), name="date"))


def _build_schedule() -> pd.DataFrame:
    import warnings

    from ..environment import local_zone_problem
    from ..errors import DataError

    problem = local_zone_problem()
    if problem:
        raise DataError(problem, where="XNYS calendar", hint="unset TZ or set TZ=UTC (times here are UTC or New York)")
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars reads Series.values on tz-aware columns, deprecated in pandas 3.1 (not our code).
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray", category=Warning)
        calendar = xcals.get_calendar(CALENDAR_NAME, start=_FIRST.isoformat(), end=calendar_end().isoformat())
    schedule = calendar.schedule[["open", "close"]]
    index = pd.DatetimeIndex(schedule.index.tz_localize(None) if schedule.index.tz else schedule.index).as_unit("ns")
    return _frame(index.asi8,
                  schedule["open"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy(),
                  schedule["close"].dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy())


def session_dates(start: dt.date, end: dt.date) -> pd.DatetimeIndex:
    """XNYS session dates from ``start`` to ``end`` inclusive (tz-naive midnight timestamps)."""
    sched = _schedule()
    return sched.loc[pd.Timestamp(start) : pd.Timestamp(end)].index


def is_session(dates: pd.DatetimeIndex) -> np.ndarray:
    """Boolean mask: which dates are XNYS sessions (dates beyond the calendar's range count as unknown=False)."""
    return np.asarray(dates.normalize().isin(_schedule().index))


def session_instants(dates: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Open and close instants (int64 UTC ns) for each date; non-sessions get 09:30/16:00 New York time."""
    dates = pd.DatetimeIndex(dates).as_unit("ns").normalize()
    sched = _schedule()
    idx = sched.index.get_indexer(dates)
    found = idx >= 0
    opens = np.empty(len(dates), dtype=np.int64)
    closes = np.empty(len(dates), dtype=np.int64)
    opens[found] = sched["open_ns"].to_numpy()[idx[found]]
    closes[found] = sched["close_ns"].to_numpy()[idx[found]]
    if (~found).any():
        local = dates[~found].tz_localize(TIMEZONE)
        opens[~found] = (local + pd.Timedelta(hours=9, minutes=30)).tz_convert("UTC").as_unit("ns").asi8
        closes[~found] = (local + pd.Timedelta(hours=16)).tz_convert("UTC").as_unit("ns").asi8
    return opens, closes


def with_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of a date-indexed bar frame with ``session_open_ns``/``session_close_ns`` columns added."""
    out = frame.copy()
    opens, closes = session_instants(pd.DatetimeIndex(out.index))
    out["session_open_ns"] = opens
    out["session_close_ns"] = closes
    return out


def publication_instant(published: dt.datetime | dt.date) -> pd.Timestamp:
    """A publication as an instant (UTC, ns): a date-only publication counts as that day's 16:00 New York.

    Every rule treats the two alike: the first session that opens after either is the next day's.
    """
    if isinstance(published, dt.datetime):
        if published.tzinfo is None:
            raise ValueError("publication instant must be timezone-aware")
        return pd.Timestamp(published).tz_convert("UTC").as_unit("ns")
    local = pd.Timestamp(published).tz_localize(TIMEZONE) + pd.Timedelta(hours=16)
    return local.tz_convert("UTC").as_unit("ns")
