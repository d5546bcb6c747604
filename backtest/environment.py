"""The machine the tool runs on: its cores, its local time zone and its clock (no heavy imports: the CLI calls this first).

Nothing in this package reads the local time zone: publication instants, sessions and report stamps are
UTC or New York time. But libraries do (exchange_calendars and vectorbt call ``datetime.now().astimezone()``
at import), so a ``TZ`` that Python cannot use breaks them. The clock matters only where "today" matters:
Yahoo refreshes (download through today), the run id and the staleness check.
"""

from __future__ import annotations

import datetime as dt
import os

#: A clock outside these years is wrong, not a date this tool can mean (the XNYS calendar starts in 1990).
PLAUSIBLE_YEARS = (1990, 2199)


def local_zone_problem() -> str | None:
    """Why the local time zone (``$TZ``) is unusable, or None when it is fine (``TZ=ABC+24``: offset >= 24 h)."""
    try:
        dt.datetime.now().astimezone()
    except (ValueError, OverflowError, OSError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"the local time zone TZ={os.environ.get('TZ', '')!r} cannot be used ({detail})"
    return None


def clock_problem(now: dt.datetime) -> str | None:
    """Why ``now`` (the system clock, UTC) cannot be right, or None when its year is plausible."""
    lo, hi = PLAUSIBLE_YEARS
    if not lo <= now.year <= hi:
        return (f"the system clock reads {now.isoformat(timespec='seconds')}, outside {lo}..{hi}; "
                "fix the clock (date -u; NTP) before fetching, since downloads run through today")
    return None


def default_threads() -> int:
    """Cores this process may run on (``BACKTEST_THREADS`` overrides; at least 1): the kernel's threads and
    the scorecard's permutation tests use this many."""
    env = os.environ.get("BACKTEST_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
