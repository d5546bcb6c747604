"""``backtest sweep``: the grid, the cells' figures, the folder it writes, determinism, multiple testing."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import sweep_fixtures as sf
from backtest.cli import cli
from backtest.engine.config import SimConfig
from backtest.errors import UsageError
from backtest.sweep import executor
from backtest.sweep.api import cells_frame
from backtest.sweep.cells import HEADLINE, CellOptions
from backtest.sweep.grid import parse_grid
from backtest.sweep.multiple import best_cell, holm

HAS_DELAY = "delay" in {f.name for f in dataclasses.fields(SimConfig)}


# ------------------------------------------------------------------------------------------- the grid
def test_grid_is_the_cartesian_product_in_order_and_maps_names_to_fields():
    grid = parse_grid(["entry_window=5,10", "ambiguity=stop-first,target-first", "costs_bps=0,7.5"])
    assert len(grid) == 8
    cells = grid.cells(SimConfig(commission_bps=3.0, slippage_bps=2.0))
    assert [(c.entry_window, c.ambiguity, c.commission_bps) for c in cells[:3]] == [
        (5, "stop-first", 0.0), (5, "stop-first", 7.5), (5, "target-first", 0.0)]
    # costs_bps is run --costs-bps: commission = value, slippage = 0, whatever the base had
    assert {c.slippage_bps for c in cells} == {0.0}
    assert cells[-1].entry_window == 10 and cells[-1].max_hold == SimConfig().max_hold


def test_grid_file_toml(tmp_path):
    path = tmp_path / "grid.toml"
    path.write_text('[grid]\nmax_hold = [5, 20]\ncoherence_pct = [10, 15.5]\ninclude_incoherent = [false, true]\n')
    grid = parse_grid(["scale_out=equal,first"], path)
    assert grid.names == ("max_hold", "coherence_pct", "include_incoherent", "scale_out")
    cell = grid.cells(SimConfig())[7]
    assert (cell.max_hold, cell.coherence_max_pct, cell.include_incoherent, cell.scale_out) == (5, 15.5, True, "first")


@pytest.mark.parametrize("options, words", [
    (["nonsense=1,2"], "unknown grid axis 'nonsense'"),
    (["entry_window=5,x"], "is not a whole number"),
    (["entry_window=0,5"], "entry_window must be a whole number"),
    (["ambiguity=stop-first,sideways"], "ambiguity must be one of"),
    (["costs_bps=0,nan"], "is not a number"),
    (["max_hold=5", "max_hold=10"], "given twice"),
    (["max_hold=5,5"], "repeats a value"),
    (["entry_window"], "is not NAME=V1,V2"),
    (["benchmark=SPY,QQQ"], "unknown grid axis"),
])
def test_bad_grids_are_one_line_usage_errors(options, words):
    with pytest.raises(UsageError) as info:
        parse_grid(options).cells(SimConfig())
    assert words in info.value.one_line() and "\n" not in info.value.one_line()


def test_delay_axis(tmp_path):
    """The delay axis works once SimConfig has the field; before that it is one line and exit 2, no traceback."""
    if HAS_DELAY:
        grid = parse_grid(["delay=0,1,5"])
        assert [c.delay for c in grid.cells(SimConfig())] == [0, 1, 5]
        return
    result = CliRunner().invoke(cli, ["--offline", "sweep", str(tmp_path), "--grid", "delay=0,1,5"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "delay" in lines[0] and "Traceback" not in result.output, result.output


# ------------------------------------------------------------------------------------- multiple testing
def test_holm_by_hand():
    # Holm: sort p ascending, multiply the k-th smallest by (m - k + 1), running maximum, capped at 1.
    # p = 0.01, 0.03, 0.04 (m = 3): 0.03, max(0.06, 0.03) = 0.06, max(0.04, 0.06) = 0.06
    assert np.allclose(holm([0.04, 0.01, np.nan, 0.03]), [0.06, 0.03, np.nan, 0.06], equal_nan=True)


def test_best_cell_is_the_smallest_p_and_counts_every_cell_tried():
    cells = pd.DataFrame({"cell": [0, 1, 2, 3], "trades_diff_p_value": [0.2, 0.004, np.nan, 0.05],
                          "trades_diff_difference_pct": [0.1, -1.5, np.nan, 0.7]})
    best = best_cell(cells, "trades")
    assert best["cell"] == 1 and best["cells_tried"] == 4 and best["cells_with_p_value"] == 3
    assert best["p_value"] == 0.004 and best["p_holm"] == pytest.approx(0.012)
    assert best["p_bonferroni"] == pytest.approx(0.012) and best["difference_pct"] == -1.5


# ------------------------------------------------------------------------------------- cells' figures
@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return sf.corpus(tmp_path_factory.mktemp("sweep-cache"))


def test_cells_follow_their_rules(corpus):
    """Costs of 10 bps a side cut every trade's return by about 0.2 %, nothing else changes (same trades);
    a longer entry window enters at least as many setups."""
    table, bars = corpus
    grid = parse_grid(["entry_window=2,20", "costs_bps=0,10"])
    rows = executor.in_process(table, bars, grid.cells(SimConfig(benchmark=sf.BENCHMARK)),
                               CellOptions(permutations=49, reps=100))
    cells = cells_frame(grid, rows)
    assert list(cells.columns[:3]) == ["cell", "entry_window", "costs_bps"]
    assert set(HEADLINE.names) <= set(cells.columns)
    free, costly = cells.iloc[2], cells.iloc[3]  # entry_window 20, costs 0 and 10
    assert free["trades_bearish_n"] == costly["trades_bearish_n"] > 50
    drop = free["trades_bearish_mean_return_pct"] - costly["trades_bearish_mean_return_pct"]
    assert 0.18 < drop < 0.22, drop
    assert cells.iloc[0]["n_entered"] < cells.iloc[2]["n_entered"]
    # every p-value and its Holm correction: adjusted >= raw
    p, adjusted = cells["trades_diff_p_value"].astype(float), cells["trades_diff_p_holm"].astype(float)
    assert (adjusted[p.notna()] >= p[p.notna()]).all()


def test_a_cell_on_one_thread_runs_one_permutation_test_at_a_time(corpus, monkeypatch):
    """A Dask worker evaluates its cells with ``threads=1``: the scorecard's permutation tests then share
    that one thread too (two workers of two threads each would oversubscribe two cores), same figures."""
    from backtest.sweep.cells import evaluate_cell
    from research_fixtures import record_permutation_pools

    table, bars = corpus
    options, config = CellOptions(permutations=49, reps=100), SimConfig(benchmark=sf.BENCHMARK)
    sizes = record_permutation_pools(monkeypatch)
    one = evaluate_cell(table, bars, config, options, threads=1)
    assert sizes == [1]
    assert evaluate_cell(table, bars, config, options, threads=2) == one and sizes == [1, 2]


# ----------------------------------------------------------------------------------- the command
def _sweep(tmp_path, market_data_dir, *extra):
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    args = ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(tmp_path / "cache"), "sweep",
            str(repo / "setups"), "--grid", "entry_window=5,20", "--grid", "max_hold=5,60",
            "--grid", "ambiguity=stop-first,target-first", "--permutations", "99", *extra]
    return CliRunner().invoke(cli, args)


def test_sweep_command_on_the_seed_setups_is_deterministic(tmp_path, market_data_dir):
    first = _sweep(tmp_path, market_data_dir, "--out", str(tmp_path / "a"))
    second = _sweep(tmp_path, market_data_dir, "--out", str(tmp_path / "b"), "--heatmap", "n_entered",
                    "--x", "max_hold", "--y", "entry_window", "--fix", "ambiguity=target-first")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "8 cells written" in first.output
    for name in ("cells.csv", "cells.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    cells = pd.read_csv(tmp_path / "a" / "cells.csv")
    assert len(cells) == 8 and list(cells["cell"]) == list(range(8))
    assert list(cells["entry_window"]) == [5, 5, 5, 5, 20, 20, 20, 20]
    assert list(cells["ambiguity"][:2]) == ["stop-first", "target-first"]
    assert (cells["n_setups"] > 0).all()
    parquet = pd.read_parquet(tmp_path / "a" / "cells.parquet")
    assert list(parquet.columns) == list(cells.columns) and parquet["n_entered"].tolist() == cells["n_entered"].tolist()
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["cells"] == 8 and summary["grid"]["max_hold"] == [5, 60]
    assert summary["multiple_testing"]["trades"]["cells_tried"] == 8
    page = (tmp_path / "b" / "heatmap.html").read_text()
    assert '"metric":"n_entered"' in page and '"x":"max_hold"' in page and '"fixed":{"ambiguity":1}' in page


def test_sweep_out_refuses_a_folder_it_did_not_write(tmp_path, market_data_dir):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    result = _sweep(tmp_path, market_data_dir, "--out", str(mine))
    assert result.exit_code == 2, result.output
    assert (mine / "notes.txt").read_text() == "keep me" and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_sweep_heatmap_options_are_checked_before_any_work(tmp_path, market_data_dir):
    result = _sweep(tmp_path, market_data_dir, "--x", "nope")
    assert result.exit_code == 2 and "--x 'nope' is not an axis" in result.output
    result = _sweep(tmp_path, market_data_dir, "--heatmap", "nope")
    assert result.exit_code == 2 and "unknown --heatmap metric" in result.output


def test_docs_list_every_headline_column_from_its_declaration():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "sweep.md").read_text(encoding="utf-8")
    block = text.split("<!-- schema: sweep cells -->\n", 1)[1].split("<!-- /schema -->", 1)[0]
    assert block == HEADLINE.markdown(), "docs/sweep.md is stale: paste HEADLINE.markdown() between the markers"
    for axis in ("entry_window", "max_hold", "ambiguity", "costs_bps", "coherence_pct", "delay"):
        assert f"| `{axis}` |" in text


def test_the_docs_worked_example():
    # docs/sweep.md: raw 0.004, 0.030, 0.200, 0.012 -> Holm 0.016, 0.060, 0.200, 0.036
    assert np.allclose(holm([0.004, 0.030, 0.200, 0.012]), [0.016, 0.060, 0.200, 0.036])


def test_workers_without_dask_is_a_usage_error(tmp_path, market_data_dir):
    result = _sweep(tmp_path, market_data_dir, "--workers", "2")
    assert result.exit_code == 2 and "--workers applies to the local cluster of --dask only" in result.output
    run = CliRunner().invoke(cli, ["--offline", "run", str(tmp_path), "--partitions", "3"])
    assert run.exit_code == 2 and "--partitions applies to --dask or --scheduler only" in run.output
