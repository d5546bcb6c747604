"""Importing the engine (as the CLI and reports do) must not pull in numba or vectorbt."""

import subprocess
import sys


def test_engine_imports_stay_light():
    code = ("import sys, backtest.cli, backtest.engine, backtest.engine.simulation, backtest.reports.portfolio; "
            "from backtest.engine import simulate, SimConfig; "
            "heavy = [m for m in ('numba', 'vectorbt', 'plotly') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
