"""The data layer says exactly what is wrong: a missing mirror folder, no sources, a ';'-separated file, a bad TZ
or clock. Before, these were "not found", "missing column(s)" without a hint, or "internal error ... a bug".
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import load_config
from backtest.data.load import load_barset
from backtest.data.mirror import read_bar_file
from invented_bars import BARS, SETUP


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "backtest.toml"
    path.write_text(text)
    return path


def test_a_mirror_folder_that_does_not_exist_is_named(tmp_path):
    path = _config(tmp_path, '[data]\nsources = ["cache", "mirror"]\ncache_dir = "c"\nmirrors = ["no-such-folder"]\n')
    reason = load_barset(["ZED"], load_config(path)).missing["ZED"]
    assert f"mirror: mirror folder {tmp_path / 'no-such-folder'} does not exist (fix [data].mirrors in {path})" in reason
    # Given on the command line, the flag is named instead of the file.
    config = load_config(path).with_overrides(mirrors=[str(tmp_path / "gone")])
    assert f"mirror folder {tmp_path / 'gone'} does not exist (fix --mirror)" in load_barset(["ZED"], config).missing["ZED"]


def test_an_existing_mirror_beside_a_missing_one_still_delivers(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ZED.csv").write_text(BARS)
    path = _config(tmp_path, '[data]\nsources = ["mirror"]\nmirrors = ["gone", "m"]\n')
    bars = load_barset(["ZED", "QQQ"], load_config(path))
    assert len(bars["ZED"]) == 10
    assert f"mirror folder {tmp_path / 'gone'} does not exist" in bars.missing["QQQ"]


def test_no_sources_is_named_with_the_file(tmp_path):
    path = _config(tmp_path, "[data]\nsources = []\n")
    reason = load_barset(["ZED"], load_config(path)).missing["ZED"]
    assert reason == (f"ZED: no data sources configured ([data].sources is empty) in {path} "
                      "(add cache, mirror or yahoo to [data].sources, or pass --source)")
    offline = _config(tmp_path, '[data]\nsources = ["yahoo"]\n')
    reason = load_barset(["ZED"], load_config(offline).with_overrides(offline=True)).missing["ZED"]
    assert "no data sources left: --offline drops yahoo" in reason and str(offline) in reason


def test_run_with_no_sources_lists_the_reason_in_the_report(tmp_path):
    path = _config(tmp_path, "[data]\nsources = []\n")
    setups = tmp_path / "s"
    setups.mkdir()
    (setups / "zed.yaml").write_text(SETUP)
    result = CliRunner().invoke(cli, ["--config", str(path), "run", str(setups), "--out", str(tmp_path / "out"),
                                      "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["data"]["missing"]["ZED"].startswith("ZED: no data sources configured ([data].sources is empty)")
    assert "no data sources configured ([data].sources is empty)" in result.stderr


@pytest.mark.parametrize("separator, decimal", [(";", ","), (";", "."), ("\t", "."), ("|", ".")])
def test_semicolon_tab_and_pipe_separated_files_are_read(tmp_path, separator, decimal):
    text = BARS.replace(",", separator)
    if decimal == ",":
        text = text.replace(".", ",")
    path = tmp_path / "ZED.csv"
    path.write_text(text)
    frame = read_bar_file(path).frame
    assert len(frame) == 10 and frame["close"].iloc[0] == 100.5 and frame["high"].iloc[-1] == 110.0


def test_a_header_without_separators_says_so(tmp_path):
    path = tmp_path / "ZED.csv"
    path.write_text(BARS.replace(",", " "))
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert (f"{path}: missing column(s) date, open, high, low, close (the header 'date open high low close volume' "
            "has no comma, semicolon, tab or '|' between the columns") in result.stdout


def test_semicolon_csv_imports_from_the_cli(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ZED.csv").write_text(BARS.replace(",", ";").replace(".", ","))
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(tmp_path / "m")])
    assert result.exit_code == 0, result.output
    row = result.stdout.splitlines()[1].split()
    assert row[:4] == ["ZED", "10", "2026-02-02", "2026-02-13"]


# ------------------------------------------------------------------------------------- TZ and clock
RUN = textwrap.dedent("""
    # Run the CLI with exchange_calendars' clock-derived default end as a clock in 1985 would set it.
    import sys
    if sys.argv[1] == "clock-1985":
        import datetime as real
        import pandas as pd
        import exchange_calendars.exchange_calendar as xc
        xc.GLOBAL_DEFAULT_END = pd.Timestamp("1986-01-01")
        class Clock(real.datetime):
            @classmethod
            def now(cls, tz=None):
                return cls(1985, 1, 1, 12, tzinfo=real.timezone.utc).astimezone(tz) if tz else cls(1985, 1, 1, 12)
        real.datetime = Clock
    from backtest.cli import main
    sys.argv = ["backtest"] + sys.argv[2:]
    main()
""")


@pytest.fixture
def zed_run(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ZED.csv").write_text(BARS)
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "zed.yaml").write_text(SETUP)

    def run(mode: str, *extra: str, env: dict | None = None):
        args = ["--mirror", str(tmp_path / "m"), "--source", "mirror", "--cache-dir", str(tmp_path / "c"),
                "run", str(tmp_path / "s"), "--out", str(tmp_path / f"out-{mode}"), "--format", "csv", *extra]
        done = subprocess.run([sys.executable, "-c", RUN, mode, *args], capture_output=True, text=True, timeout=300,
                              env=env)
        trades = tmp_path / f"out-{mode}" / "trades.csv"
        return done, (pd.read_csv(trades) if trades.exists() else None)

    return run


def test_an_unusable_tz_is_one_warning_and_the_run_is_unchanged(zed_run, monkeypatch):
    import os

    good, good_trades = zed_run("plain", "-q")
    assert good.returncode == 0, good.stderr
    env = {**os.environ, "TZ": "ABC+24"}  # an offset of 24 h: datetime.astimezone() raises inside libraries
    bad, bad_trades = zed_run("bad-tz", env=env)
    assert bad.returncode == 0, bad.stderr
    assert "internal error" not in bad.stderr and "Traceback" not in bad.stderr and "portfolio failed" not in bad.stderr
    warning = [line for line in bad.stderr.splitlines() if line.startswith("warning: the local time zone")]
    assert warning == ["warning: the local time zone TZ='ABC+24' cannot be used (offset must be a timedelta strictly "
                       "between -timedelta(hours=24) and timedelta(hours=24), not datetime.timedelta(days=-1).); "
                       "using TZ=UTC (every time here is UTC or New York, so results do not change)"]
    assert bad_trades[["setup_id", "status", "entry_time", "entry_price"]].equals(
        good_trades[["setup_id", "status", "entry_time", "entry_price"]])
    quiet, _ = zed_run("bad-tz-quiet", "-q", env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_the_calendar_does_not_depend_on_the_clock(zed_run):
    """A clock in 1985 made exchange_calendars refuse to build (end before 1990): every symbol was a 'bug'."""
    done, trades = zed_run("clock-1985", "-q")
    assert done.returncode == 0, done.stderr
    assert "internal error" not in done.stderr
    assert trades.loc[0, "status"] in ("filled", "open") and trades.loc[0, "entry_time"].startswith("2026-02-04")


def test_the_library_names_an_unusable_tz_instead_of_crashing():
    code = ("from backtest.data.calendar import session_dates\nimport datetime as dt\n"
            "from backtest.errors import DataError\n"
            "try:\n    session_dates(dt.date(2026, 2, 2), dt.date(2026, 2, 6))\n"
            "except DataError as exc:\n    print(exc.one_line())\n")
    import os

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "TZ": "XXX-167:59:59"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("XNYS calendar: the local time zone TZ='XXX-167:59:59' cannot be used (")
    assert done.stdout.rstrip().endswith("(unset TZ or set TZ=UTC (times here are UTC or New York))")


@pytest.mark.parametrize("now", [dt.datetime(1985, 1, 1, tzinfo=dt.timezone.utc),
                                 dt.datetime(2240, 6, 1, tzinfo=dt.timezone.utc)])
def test_a_clock_far_off_is_named_by_data_fetch(tmp_path, monkeypatch, now):
    from backtest.data import yahoo

    calls = []
    monkeypatch.setattr(yahoo, "now_utc", lambda: now)
    monkeypatch.setattr(yahoo, "download", lambda *a: calls.append(a))
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "fetch", "IWM"])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    (row,) = result.stdout.splitlines()[1:]
    assert f"yahoo:IWM: the system clock reads {now.isoformat(timespec='seconds')}, outside 1990..2199" in row
    assert "fix the clock" in row and calls == []
