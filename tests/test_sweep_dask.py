"""The sweep on a real Dask cluster: two worker processes on this machine (``LocalCluster``).

The cells evaluated on the cluster must equal the in-process cells exactly (the same bytes once
tabulated), also when a worker process is killed while it holds tasks: the scheduler re-runs them
elsewhere. Kept small (a few hundred setups, a handful of cells) so CI stays quick.
"""

from __future__ import annotations

import os
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

distributed = pytest.importorskip("distributed", reason="the dask extra is part of the test extras")

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
