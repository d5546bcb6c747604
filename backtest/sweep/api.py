"""``backtest sweep`` as a library call: :func:`sweep` takes SETUPS and a grid to a sweep folder.

The setup files are parsed and the bars loaded **once**; the setup table and the bars are then shared
by every cell (in this process, or scattered once to a Dask cluster). The folder, written atomically
through :mod:`backtest.reports.outdir` with the same safety rules as ``backtest run``'s report
(``--out`` must be new, empty or an earlier report; the default is ``reports/sweep-<id>/``), holds:

* ``cells.csv`` / ``cells.parquet`` — one row per cell: ``cell`` (its number), the axis values, the
  headline figures (:data:`backtest.sweep.cells.HEADLINE`) and the Holm-corrected p-values;
* ``summary.json`` — the grid, the base rules, how many cells were tried and the best cell of each
  difference with its raw, Holm and Bonferroni p-values; the wall-clock block ``run``;
* ``heatmap.html`` — a self-contained page: one metric over two axes, the others fixed (selectable).

The tables are deterministic: the same setups, bars and grid give byte-identical ``cells.csv`` and
``cells.parquet``, whichever executor ran the cells. Never prints; ``progress`` gets ``(done, total)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..config import Config
from ..errors import UsageError
from .cells import DEFAULT_HORIZON, HEADLINE, CellOptions
from .grid import Grid

SWEEP_FILES = ("cells.csv", "cells.parquet", "summary.json", "heatmap.html")
#: The differences the multiple-testing correction is applied to (column prefixes of HEADLINE).
FAMILIES = ("trades", "calls")


@dataclasses.dataclass(frozen=True)
class SweepOptions:
    """What ``backtest sweep`` was asked: the inputs, the grid, the executor and the heatmap's view."""

    setups: Path
    grid: Grid
    out_dir: Path | None = None
    as_of: dt.date | None = None
    include_incoherent: bool = False
    horizon: int = DEFAULT_HORIZON
    permutations: int = 999
    dask: bool = False
    scheduler: str | None = None
    workers: int | None = None
    heatmap: str | None = None  # metric; default trades_diff_difference_pct
    x: str | None = None
    y: str | None = None
    fix: tuple[str, ...] = ()
    cache: bool = True


@dataclasses.dataclass
class SweepResult:
    out_dir: Path
    cells: pd.DataFrame
    summary: dict
    files: list[str]


def sweep(options: SweepOptions, config: Config, *, progress: Callable[[int, int], None] | None = None,
          now: dt.datetime | None = None) -> SweepResult:
    """Evaluate every cell of ``options.grid`` and write the sweep folder (see the module docstring)."""
    from ..data.load import load_barset
    from ..reports.outdir import ReportFolder, check_out_dir
    from ..run import RunOptions, load_inputs, sim_config
    from . import executor, heatmap

    if options.horizon < 1:
        raise UsageError(f"--horizon must be at least 1, got {options.horizon}", where="--horizon",
                         hint="a number of sessions, e.g. 20")
    if options.permutations < 1:
        raise UsageError(f"--permutations must be at least 1, got {options.permutations}", where="--permutations",
                         hint="e.g. 999")
    base = sim_config(RunOptions(setups=options.setups, as_of=options.as_of,
                                 include_incoherent=options.include_incoherent), config)
    if options.horizon not in base.horizons:  # the calls must be measured at the headline's horizon
        base = dataclasses.replace(base, horizons=tuple(sorted(set(base.horizons) | {options.horizon})))
    configs = options.grid.cells(base)
    view = heatmap.choose_view(options.grid, options.heatmap, options.x, options.y, options.fix)
    now = now or dt.datetime.now(dt.timezone.utc)
    sweep_id = f"sweep-{now.strftime('%Y%m%dT%H%M%SZ')}-{grid_digest(options.grid, base)}"
    target = Path(options.out_dir) if options.out_dir else Path(config.run.out_dir) / sweep_id
    if options.out_dir is not None:
        check_out_dir(target)  # before any work
    if options.workers is not None and (options.scheduler or not options.dask):
        raise UsageError("--workers applies to the local cluster of --dask only", where="--workers",
                         hint="add --dask, or drop --workers (an existing cluster has its own workers)")

    if options.dask or options.scheduler:
        executor.require_dask()  # a missing extra is known before any work
    loaded = load_inputs(Path(options.setups), config, use_cache=options.cache)
    table = loaded.table
    bars = load_barset(table.symbols(base.benchmark), config, as_of=options.as_of)
    cell_options = CellOptions(horizon=options.horizon, permutations=options.permutations)
    if options.dask or options.scheduler:
        with executor.dask_client(options.scheduler, options.workers) as client:
            rows = executor.on_dask(client, table, bars, configs, cell_options, progress)
    else:
        rows = executor.in_process(table, bars, configs, cell_options, progress)
    cells = cells_frame(options.grid, rows)
    summary = {
        "run": {"id": sweep_id, "created_utc": now.isoformat(timespec="seconds"), "setups_path": str(options.setups),
                "executor": "dask" if (options.dask or options.scheduler) else "in-process"},
        "grid": options.grid.to_dict(),
        "base_config": base.to_dict(),
        "cells": len(cells),
        "setups": len(table),
        "skipped": [{"item": s.item, "reason": s.reason} for s in loaded.skips],
        "horizon": options.horizon,
        "permutations": options.permutations,
        "smallest_p_value": 1.0 / (options.permutations + 1),
        "multiple_testing": {family: _best(cells, options.grid, family) for family in FAMILIES},
    }
    folder = ReportFolder(target, claim=options.out_dir is None, known_files=SWEEP_FILES)
    from ..reports.writers import frame_to_csv, frame_to_parquet, to_json

    with folder as tmp:
        summary["run"]["id"] = folder.run_id if options.out_dir is None else sweep_id
        summary["run"]["out_dir"] = str(folder.final)
        (tmp / "cells.csv").write_text(frame_to_csv(cells), encoding="utf-8", newline="")
        frame_to_parquet(cells, tmp / "cells.parquet")
        (tmp / "summary.json").write_text(to_json(summary), encoding="utf-8")
        (tmp / "heatmap.html").write_text(heatmap.page(cells, options.grid, view, summary), encoding="utf-8")
    return SweepResult(out_dir=folder.final, cells=cells, summary=summary, files=list(SWEEP_FILES))


def cells_frame(grid: Grid, rows: list[dict]) -> pd.DataFrame:
    """One row per cell: ``cell``, the axis values, the headline and ``{family}_diff_p_holm``."""
    points = grid.points()
    headline = HEADLINE.frame({name: [r.get(name) for r in rows] for name in HEADLINE.names}, length=len(rows))
    axes = pd.DataFrame({axis.name: pd.Series([p[k] for p in points], dtype=_axis_dtype(axis.values))
                         for k, axis in enumerate(grid.axes)}, index=headline.index)
    out = pd.concat([pd.DataFrame({"cell": np.arange(len(rows), dtype=np.int64)}), axes, headline], axis=1)
    from .multiple import holm

    for family in FAMILIES:
        p = out[f"{family}_diff_p_value"].to_numpy(dtype=np.float64, na_value=np.nan)
        out[f"{family}_diff_p_holm"] = holm(p)
    return out


def _axis_dtype(values) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int64"
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "float64"
    return "object"


def _best(cells: pd.DataFrame, grid: Grid, family: str) -> dict:
    """:func:`~backtest.sweep.multiple.best_cell` with the best cell's axis values."""
    from .multiple import best_cell

    best = best_cell(cells, family)
    if best["cell"] is not None:
        best["axes"] = dict(zip(grid.names, grid.points()[best["cell"]]))
    return best


def grid_digest(grid: Grid, base) -> str:
    blob = json.dumps({"grid": grid.to_dict(), "base": base.to_dict()}, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:8]


__all__ = ["SWEEP_FILES", "SweepOptions", "SweepResult", "cells_frame", "sweep"]
