"""The XNYS session table kept on disk gives the same sessions as building the calendar, and a bad file
only costs the build (backtest/data/calendar.py)."""

from __future__ import annotations

import pandas as pd
import pytest

from backtest.data import calendar


@pytest.fixture
def cache_dir(tmp_path):
    calendar.cache_schedule_in(tmp_path)
    calendar._schedule.cache_clear()
    yield tmp_path
    calendar.cache_schedule_in(None)
    calendar._schedule.cache_clear()


def test_the_stored_session_table_equals_the_built_one(cache_dir, monkeypatch):
    built = calendar._build_schedule()
    first = calendar._schedule()  # builds and stores
    (stored,) = (cache_dir / "calendar").glob("XNYS-*.npz")
    assert "xcals" in stored.name and stored.name.endswith(f"{pd.Timestamp.now(tz='UTC').date().isoformat()}.npz")
    calendar._schedule.cache_clear()

    def no_build():
        raise AssertionError("the calendar was built although a stored table exists")

    monkeypatch.setattr(calendar, "_build_schedule", no_build)
    again = calendar._schedule()
    for frame in (first, again):
        pd.testing.assert_frame_equal(frame, built, check_exact=True)
        assert frame.index.name == "date" and frame.index.dtype == "datetime64[ns]"
    # what the rules read from it: the sessions of 2020 and their open/close instants (a half day included)
    days = calendar.session_dates(pd.Timestamp("2020-01-01").date(), pd.Timestamp("2020-12-31").date())
    assert len(days) == 253 and pd.Timestamp("2020-11-27") in days and pd.Timestamp("2020-11-26") not in days
    opens, closes = calendar.session_instants(days)
    half_day = list(days).index(pd.Timestamp("2020-11-27"))
    assert pd.Timestamp(closes[half_day], tz="UTC") == pd.Timestamp("2020-11-27 13:00", tz="America/New_York")


def test_an_unreadable_stored_table_is_rebuilt(cache_dir):
    calendar._schedule()
    (stored,) = (cache_dir / "calendar").glob("XNYS-*.npz")
    stored.write_bytes(b"not a numpy file")
    calendar._schedule.cache_clear()
    pd.testing.assert_frame_equal(calendar._schedule(), calendar._build_schedule(), check_exact=True)
    calendar._schedule.cache_clear()
    assert len(calendar._schedule()) > 8000  # rewritten whole: read back
