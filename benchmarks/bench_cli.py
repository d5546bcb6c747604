"""CLI wall times, Python start-up included: ``backtest --help`` and ``backtest run setups/`` (five seed articles).

Usage::

    python benchmarks/bench_cli.py            # median of 5 runs each, prints a small table
    python benchmarks/bench_cli.py --json --repeats 3

Each command runs as a fresh process (``backtest`` from the same virtualenv as this Python), from the
repository root so that ``backtest.toml`` (cache, then the ``../shared/market-data`` mirror) is used. The run
writes into a temporary ``--out`` directory, in the default formats (HTML included) and, separately, without
HTML, and once more through the library without the follow-every-call portfolio (the one stage that imports
vectorbt) to show what bounds the run. The bars come from the cache or the offline mirror: no network.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def backtest_executable() -> list[str]:
    script = Path(sys.executable).with_name("backtest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backtest.cli"]


def wall(cmd: list[str], repeats: int) -> dict:
    """Median / min / max wall seconds of ``repeats`` fresh runs; fails loudly if the command fails."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-500:]}")
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "runs": repeats}


#: The same run through the library with the follow-every-call portfolio switched off (it imports vectorbt):
#: measures what that view costs, since the CLI has no flag for it.
_NO_PORTFOLIO = """
import sys
from pathlib import Path
from backtest.config import load_config
from backtest.reports.api import Pipeline, RunOptions, run_report
options = RunOptions(setups=Path(sys.argv[1]), out_dir=Path(sys.argv[2]), quiet=True,
                     formats=("csv", "parquet", "json", "md"))
run_report(options, load_config(), pipeline=Pipeline(portfolio=lambda ledger, bars: None))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--setups", default="setups", help="setup directory (default: the seed articles' setups/)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    exe = backtest_executable()
    out = {"help": wall(exe + ["--help"], args.repeats)}
    tmp = Path(tempfile.mkdtemp(prefix="backtest-bench-cli-"))
    try:
        out["run"] = wall(exe + ["run", args.setups, "--out", str(tmp / "all"), "--quiet"], args.repeats)
        out["run_no_html"] = wall(exe + ["run", args.setups, "--out", str(tmp / "nohtml"), "--quiet",
                                         "--format", "csv,parquet,json,md"], args.repeats)
        out["run_no_html_no_portfolio"] = wall([sys.executable, "-c", _NO_PORTFOLIO, args.setups, str(tmp / "lib")],
                                               args.repeats)
        out["import_vectorbt"] = wall([sys.executable, "-c", "import vectorbt"], args.repeats)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{'command':<44} {'median s':>9} {'min s':>7} {'max s':>7}")
        labels = {"help": "backtest --help",
                  "run": f"backtest run {args.setups}/ (all formats)",
                  "run_no_html": f"backtest run {args.setups}/ (no HTML)",
                  "run_no_html_no_portfolio": "same, library, no vectorbt portfolio",
                  "import_vectorbt": "python -c 'import vectorbt'"}
        for key, label in labels.items():
            r = out[key]
            print(f"{label:<44} {r['median_s']:>9.3f} {r['min_s']:>7.3f} {r['max_s']:>7.3f}")
        print(f"({args.repeats} fresh processes each; cwd {REPO}; pid {os.getpid()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
