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


def test_extract_keeps_the_session_table_for_the_next_command(tmp_path):
    """`backtest extract` reads last closes through the same loader as a run, so it keeps the session table in
    the cache directory too: the next command (a new process) reads it instead of building the calendar."""
    import subprocess
    import sys

    from invented_bars import BARS

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ZED.csv").write_text(BARS)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "zed.txt").write_text("datePublished: 2026-02-09 14:00 UTC\n\nInvented note: we are buying $ZED "
                                            "above $106 with a stop at $103, targeting $110.\n", encoding="utf-8")
    command = ["--offline", "--mirror", str(tmp_path / "m"), "--cache-dir", str(tmp_path / "c"), "extract",
               str(tmp_path / "a"), "--out"]
    entry = "import sys; from backtest.cli import main; sys.argv = ['backtest'] + sys.argv[1:]; main()"
    first = subprocess.run([sys.executable, "-c", entry, *command, str(tmp_path / "s1")], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert len(list((tmp_path / "c" / "calendar").glob("XNYS-*.npz"))) == 1
    no_build = ("import sys; from backtest.data import calendar\n"
                "def refuse(): raise SystemExit('the calendar was built again')\n"
                "calendar._build_schedule = refuse\n" + entry.replace("; ", "\n"))
    again = subprocess.run([sys.executable, "-c", no_build, *command, str(tmp_path / "s2")], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr + again.stdout
    assert (tmp_path / "s2" / "zed.yaml").read_text() == (tmp_path / "s1" / "zed.yaml").read_text()
