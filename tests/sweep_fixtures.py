"""A small seeded synthetic corpus for the sweep tests (invented numbers: benchmarks/synthetic.py)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:
    sys.path.insert(0, str(REPO / "benchmarks"))

import synthetic  # noqa: E402

BENCHMARK = "SYN00"


def corpus(cache_dir: Path, n_setups: int = 400, n_symbols: int = 6, n_sessions: int = 700):
    """(setup table, bar set) loaded the product's way: bars through the parquet cache and the data layer."""
    from backtest.data.load import load_barset

    frames = synthetic.make_bars(n_symbols=n_symbols, n_sessions=n_sessions)
    synthetic.write_cache(frames, cache_dir)
    table = synthetic.to_setup_table(synthetic.make_setup_table(n_setups, frames))
    bars = load_barset(table.symbols(BENCHMARK), synthetic.cache_config(cache_dir))
    return table, bars
