"""``backtest sweep`` throughput: cells per second in-process and on a 2-worker Dask ``LocalCluster``.

The corpus is the seeded synthetic one (``benchmarks/synthetic.py``: 50 instruments x 2,520 XNYS sessions,
``--setups`` setups, 10,000 by default) read through the parquet cache and the data layer, as the command
reads bars. The grid has ``--cells`` cells (200: entry_window 5 values x max_hold 5 x ambiguity 2 x
costs_bps 4), each evaluated by the product's cell function (engine + scorecard) with ``--permutations``
permutations per p-value. Reported (median of ``--repeats``): wall seconds and cells/s of each executor,
the cluster's start-up, and what the projection in ``docs/performance.md`` needs: the bytes scattered once,
the bytes per task each way, the scheduler's overhead per task (no-op tasks), and the engine's and the
scorecard's share of one cell. The two executors' tables are checked equal, byte for byte; so are
``backtest run --dask``'s merged partitions and the in-process ledger (``run_equal``), timed alike.

    python benchmarks/bench_sweep.py [--setups 10000] [--cells 200] [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402

BENCHMARK = "SYN00"
AXES = {"entry_window": [5, 10, 20, 40, 60], "max_hold": [5, 10, 20, 40, 60],
        "ambiguity": ["stop-first", "target-first"], "costs_bps": [0, 5, 10, 20]}


def grid_of(cells: int):
    """The first ``cells`` cells of the 200-cell grid (a smaller grid for smoke runs: fewer costs, then holds)."""
    from backtest.sweep.grid import parse_grid

    axes = {k: list(v) for k, v in AXES.items()}
    order = ["costs_bps", "max_hold", "entry_window", "ambiguity"]
    while _size(axes) > cells:
        for name in order:
            if len(axes[name]) > 1 and _size(axes) > cells:
                axes[name].pop()
                break
        else:
            break
    return parse_grid([f"{k}={','.join(map(str, v))}" for k, v in axes.items()])


def _size(axes) -> int:
    out = 1
    for v in axes.values():
        out *= len(v)
    return out


def noop(x):
    return x


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setups", type=int, default=10_000)
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--permutations", type=int, default=99)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    import distributed

    from backtest.data.load import load_barset
    from backtest.engine.config import SimConfig
    from backtest.engine.simulation import simulate
    from backtest.reports.writers import frame_to_csv
    from backtest.sweep import executor
    from backtest.sweep.api import cells_frame
    from backtest.sweep.cells import CellOptions, evaluate_cell

    with tempfile.TemporaryDirectory() as cache:
        frames = synthetic.make_bars()
        synthetic.write_cache(frames, cache)
        table = synthetic.to_setup_table(synthetic.make_setup_table(args.setups, frames))
        bars = load_barset(table.symbols(BENCHMARK), synthetic.cache_config(cache))
    grid = grid_of(args.cells)
    configs = grid.cells(SimConfig(benchmark=BENCHMARK))
    options = CellOptions(permutations=args.permutations)
    evaluate_cell(table, bars, configs[0], options)  # compile and warm the caches once

    # one cell's parts: the engine alone, then the whole cell
    t0 = time.perf_counter()
    simulate(table, bars, configs[0])
    engine_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate_cell(table, bars, configs[0], options)
    cell_s = time.perf_counter() - t0

    here_s, here_rows = [], None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        here_rows = executor.in_process(table, bars, configs, options)
        here_s.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    startup_s = time.perf_counter() - t0
    try:
        client.run(lambda: evaluate_cell(table, bars, configs[0], options) and None)  # compile on every worker
        there_s, there_rows = [], None
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            there_rows = executor.on_dask(client, table, bars, configs, options)
            there_s.append(time.perf_counter() - t0)
        # backtest run --dask's path on the same corpus: partitions merged exactly, timed like for like
        from backtest.sweep.partitions import simulate_on_dask

        t0 = time.perf_counter()
        whole = simulate(table, bars, configs[0])
        run_here_s = time.perf_counter() - t0
        simulate_on_dask(client, table, bars, configs[0])  # warm
        t0 = time.perf_counter()
        merged, parts = simulate_on_dask(client, table, bars, configs[0])
        run_dask_s = time.perf_counter() - t0
        run_equal = all(frame_to_csv(getattr(whole, name)) == frame_to_csv(getattr(merged, name))
                        for name in ("trades", "exits", "calls", "coherence")) and whole.skipped == merged.skipped
        n_noop = 2000
        t0 = time.perf_counter()
        client.gather(client.map(noop, range(n_noop), pure=False))
        per_task_s = (time.perf_counter() - t0) / n_noop
    finally:
        client.close()
        cluster.close()

    equal = frame_to_csv(cells_frame(grid, here_rows)) == frame_to_csv(cells_frame(grid, there_rows))
    row = {
        "setups": len(table), "cells": len(configs), "permutations": args.permutations, "workers": args.workers,
        "repeats": args.repeats, "engine_s_per_cell": engine_s, "cell_s": cell_s,
        "in_process_s": statistics.median(here_s), "in_process_cells_per_s": len(configs) / statistics.median(here_s),
        "dask_s": statistics.median(there_s), "dask_cells_per_s": len(configs) / statistics.median(there_s),
        "dask_startup_s": startup_s, "scheduler_s_per_noop_task": per_task_s,
        "scatter_bytes": len(pickle.dumps(table)) + len(pickle.dumps(bars)),
        "task_bytes_in": len(pickle.dumps((configs[0], options))), "task_bytes_out": len(pickle.dumps(here_rows[0])),
        "equal": equal, "run_simulate_s": run_here_s, "run_dask_simulate_s": run_dask_s,
        "run_partitions": len(parts), "run_equal": run_equal, "in_process_runs_s": here_s, "dask_runs_s": there_s,
        "load": os.getloadavg(), "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(row))
    else:
        for key, value in row.items():
            print(f"{key:28s} {value}")
    return 0 if equal and run_equal else 1


if __name__ == "__main__":
    sys.exit(main())
