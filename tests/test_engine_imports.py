"""Importing the engine (as the CLI and reports do) must not pull in numba or vectorbt."""

import subprocess
import sys


def test_engine_imports_stay_light():
    code = ("import sys, backtest.cli, backtest.engine, backtest.engine.simulation, backtest.reports.portfolio; "
            "from backtest.engine import simulate, SimConfig; "
            "heavy = [m for m in ('numba', 'vectorbt', 'plotly') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_the_five_article_run_never_imports_numba(tmp_path):
    """The README's ``backtest run setups/`` is small: its kernel runs interpreted, so numba (about 0.7 s of
    import and cache load) is never imported; the numbers are the compiled loop's (property tests)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    code = ("import sys; from backtest import cli\n"
            "cli._leave_now = lambda code: None  # the console entry would end the process before the print\n"
            "sys.argv = ['backtest', 'run', 'setups', '--out', sys.argv[1], '--quiet']\n"
            "try:\n    cli.main()\n"
            "except SystemExit as exc:\n    assert exc.code in (0, None), exc.code\n"
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out")], capture_output=True, text=True,
                         cwd=repo, check=True).stdout.strip()
    assert out.splitlines()[-1] == "False"
    assert (tmp_path / "out" / "trades.csv").exists()
