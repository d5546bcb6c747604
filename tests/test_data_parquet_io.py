"""Parquet without Arrow's thread pools, and size limits on the bar files the data layer reads.

About 1 in 60 concurrent ``data import`` processes died at exit with SIGABRT: Arrow's C++ thread pools
(started by ``pq.read_table`` on a Python file handle and by ``to_pandas``) were still alive while the
interpreter finalized. The data layer now starts no native thread at all; the census below counts them at
exit. (The stress run itself is ``benchmarks/stress_data_import.py``: too slow for the suite.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.data.parquet_io import parquet_bytes, read_parquet_bytes
from invented_bars import BARS


CENSUS = textwrap.dedent("""
    import atexit, os, sys
    import numpy, pandas, pyarrow, pyarrow.parquet  # threads these imports start are not the command's
    baseline = len(os.listdir("/proc/self/task"))
    census = lambda: sys.__stderr__.write(f"extra threads at exit: {len(os.listdir('/proc/self/task')) - baseline}\\n")
    atexit.register(census)  # a normal interpreter exit
    from backtest import cli
    leave = cli._leave_now
    def counted(code):  # the console entry's immediate exit skips atexit: count just before it
        census(); sys.__stderr__.flush(); atexit.unregister(census); leave(code)
    cli._leave_now = counted
    sys.argv = ["backtest"] + sys.argv[1:]
    cli.main()
""")


def test_round_trip_keeps_the_frame_and_the_metadata():
    frame = pd.DataFrame({"open": [1.5, 2.5e-7], "close": [np.nan, 3.0]},
                         index=pd.DatetimeIndex(["2026-02-02", "2026-02-03"], name="date"))
    back, meta = read_parquet_bytes(parquet_bytes(frame, {b"backtest": b'{"x": 1}'}))
    pd.testing.assert_frame_equal(back, frame, check_freq=False)
    assert meta[b"backtest"] == b'{"x": 1}'


@pytest.mark.parametrize("command", ["import", "list", "import-parquet"])
def test_data_commands_leave_no_native_thread_at_exit(tmp_path, command):
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "ZED.csv").write_text(BARS)
    pd.read_csv(mirror / "ZED.csv", index_col="date", parse_dates=True).to_parquet(mirror / "PQT.parquet")
    base = [sys.executable, "-c", CENSUS, "--cache-dir", str(tmp_path / "c")]
    first = subprocess.run(base + ["data", "import", str(mirror)], capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    args = {"import": ["data", "import", str(mirror)], "list": ["data", "list"],
            "import-parquet": ["data", "import", str(mirror)]}[command]
    done = subprocess.run(base + args, capture_output=True, text=True, timeout=300)  # also reads the cache back
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "extra threads at exit: 0"


def test_a_bar_file_far_too_large_is_refused_unread(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "ZED.csv").write_text(BARS)
    with (mirror / "BIG.csv").open("wb") as handle:  # sparse: 300 MB on paper, nothing on disk
        handle.write(BARS.encode())
        handle.truncate(300 * 10**6)
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(mirror)])
    assert result.exit_code == 1
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert (f"{mirror / 'BIG.csv'}: file is 300.0 MB, more than the 256 MB limit for a bar file (one daily series) "
            "(check that it is a daily bar file)") in rows["BIG"]
    assert rows["ZED"].split()[1] == "10"  # the others are still imported


def test_a_cache_file_far_too_large_is_corrupt_not_read(tmp_path):
    cache = tmp_path / "c"
    cache.mkdir()
    with (cache / "ZED_1d.parquet").open("wb") as handle:
        handle.truncate(300 * 10**6)
    result = CliRunner().invoke(cli, ["--cache-dir", str(cache), "data", "list"])
    assert result.exit_code == 0
    assert "ZED_1d.parquet: cache file is 300.0 MB, more than the 256 MB limit for one series" in result.stdout
