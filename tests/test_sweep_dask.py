"""The sweep on a real Dask cluster: two worker processes on this machine (``LocalCluster``).

The cells evaluated on the cluster must equal the in-process cells exactly (the same bytes once
tabulated), also when a worker process is killed while it holds tasks: the scheduler re-runs them
elsewhere. Kept small (a few hundred setups, a handful of cells) so CI stays quick.
"""

from __future__ import annotations

import os
from pathlib import Path
import signal
import time

import pytest

import sweep_fixtures as sf
from backtest.engine.config import SimConfig
from backtest.reports.writers import frame_to_csv
from backtest.sweep import executor
from backtest.sweep.api import cells_frame
from backtest.sweep.cells import CellOptions
from backtest.sweep.grid import parse_grid

import distributed  # noqa: E402  (the dask extra is part of the test extras: missing it fails, never skips)

OPTIONS = CellOptions(permutations=49, reps=100)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return sf.corpus(tmp_path_factory.mktemp("dask-cache"), n_setups=300)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=50)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def table_bytes(grid, rows) -> str:
    return frame_to_csv(cells_frame(grid, rows))


def test_cluster_cells_equal_in_process_exactly(corpus, client):
    table, bars = corpus
    grid = parse_grid(["entry_window=3,20", "costs_bps=0,10"])
    configs = grid.cells(SimConfig(benchmark=sf.BENCHMARK))
    here = executor.in_process(table, bars, configs, OPTIONS)
    there = executor.on_dask(client, table, bars, configs, OPTIONS)
    assert len(client.scheduler_info()["workers"]) == 2
    assert table_bytes(grid, there) == table_bytes(grid, here)


def test_a_worker_killed_mid_sweep_does_not_change_the_result(corpus, client):
    table, bars = corpus
    grid = parse_grid(["max_hold=5,20,60", "ambiguity=stop-first,target-first", "costs_bps=0,5"])
    configs = grid.cells(SimConfig(benchmark=sf.BENCHMARK))
    expected = table_bytes(grid, executor.in_process(table, bars, configs, OPTIONS))
    pids = client.run(os.getpid)
    killed = {}

    def kill_when_busy(done, total):
        if killed:
            return
        processing = client.processing()
        busy = [w for w, tasks in processing.items() if tasks and w in pids]
        if busy and done < total - 2:
            killed[busy[0]] = pids[busy[0]]
            os.kill(pids[busy[0]], signal.SIGKILL)

    rows = executor.on_dask(client, table, bars, configs, OPTIONS, progress=kill_when_busy)
    assert killed, "no worker was killed: the sweep finished before a task was seen in flight"
    assert table_bytes(grid, rows) == expected
    # the nanny restarts the killed worker: the cluster is whole again for later use
    deadline = time.monotonic() + 60
    while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert list(killed.values())[0] not in client.run(os.getpid).values()


def test_sweep_command_with_scheduler_writes_the_same_cells(client, tmp_path, market_data_dir):
    """``backtest sweep --scheduler`` (the seed setups, the shared mirror) writes the in-process files."""
    from pathlib import Path

    from click.testing import CliRunner

    from backtest.cli import cli

    repo = Path(__file__).resolve().parents[1]
    base = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(tmp_path / "cache"), "sweep",
            str(repo / "setups"), "--grid", "max_hold=5,60", "--grid", "costs_bps=0,10", "--permutations", "99", "-q"]
    here = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "here")])
    there = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "there"), "--scheduler", client.scheduler.address])
    assert here.exit_code == 0 and there.exit_code == 0, here.output + there.output
    for name in ("cells.csv", "cells.parquet", "heatmap.html"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes(), name
    import json

    assert json.loads((tmp_path / "there" / "summary.json").read_text())["run"]["executor"] == "dask"


def test_missing_dask_is_a_one_line_usage_error(monkeypatch, tmp_path):
    import builtins

    from click.testing import CliRunner

    from backtest.cli import cli

    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "distributed" or name.startswith(("distributed.", "dask")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    setups = Path(__file__).resolve().parents[1] / "setups"
    result = CliRunner().invoke(cli, ["--offline", "sweep", str(setups), "--grid", "max_hold=5,60", "--dask",
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert "pip install -e '.[dask]'" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


EXTRA_SETUP = """\
article:
  id: zz-missing
  title: A setup whose symbol has no bars
  published: 2026-02-09T14:00:00Z
  stance: bearish
  subject: [NOPEA, IWM]
setups:
  - id: zz-short
    symbol: NOPEB
    direction: short
    stop: 20
    targets: [10]
"""


def test_run_on_the_cluster_writes_the_in_process_report_byte_for_byte(client, tmp_path, market_data_dir):
    """``backtest run --scheduler``: the seed setups (plus a setup and a call without bars, so the merge of
    skips is exercised) in 3 partitions; every report file equals the in-process one, and the parquet
    parts hold trades.parquet's rows in order."""
    import datetime as dt
    import shutil

    import pandas as pd

    from backtest.config import load_config
    from backtest.reports.build import REPORT_FILES
    from backtest.run import RunOptions, run

    setups = tmp_path / "setups"
    shutil.copytree(Path(__file__).resolve().parents[1] / "setups", setups)
    (setups / "zz_missing.yaml").write_text(EXTRA_SETUP)
    config = load_config(None).with_overrides(cache_dir=str(tmp_path / "cache"), mirrors=[str(market_data_dir)],
                                              sources=[], offline=True)
    now = dt.datetime(2026, 3, 1, 12, tzinfo=dt.timezone.utc)
    out = tmp_path / "report"  # the same folder (its path is in summary.json): the second run replaces the first
    here = run(RunOptions(setups=setups, out_dir=out, cache=False), config, now=now)
    expected = {name: (out / name).read_bytes() for name in REPORT_FILES}
    assert not list(out.glob("trades-part-*"))
    there = run(RunOptions(setups=setups, out_dir=out, cache=False, scheduler=client.scheduler.address,
                           partitions=3), config, now=now)
    assert {s.item for s in here.report.skipped} >= {"NOPEA", "NOPEB"}
    for name in REPORT_FILES:
        assert (out / name).read_bytes() == expected[name], name
    parts = sorted(out.glob("trades-part-*.parquet"))
    assert len(parts) == 3
    whole = pd.read_parquet(out / "trades.parquet")
    joined = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
    # a part whose column is all empty has no string type: compare the rows as the report writes them
    assert len(joined) == len(whole) and frame_to_csv(joined) == frame_to_csv(whole)
    assert sorted(there.files) == sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
