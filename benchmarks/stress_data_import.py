"""Stress: many concurrent ``backtest data import`` processes on one cache; count how each one ended.

    python benchmarks/stress_data_import.py --rounds 50 --parallel 8 [--mirror ../shared/market-data]

Each round starts ``--parallel`` real CLI processes importing the same mirror into the same cache, waits for
all, and records the exit status; a negative status is a signal (-6 = SIGABRT). ``--threads`` reports the
native threads each process still had at exit beyond those its imports started (Arrow's C++ thread pools
alive at exit were the cause of the SIGABRTs, see ``backtest/data/parquet_io.py``). Environment variables
pass through, e.g. ``OMP_NUM_THREADS=32`` for the Arrow pool size of a many-core machine.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = """
import atexit, os, sys
import numpy, pandas, pyarrow, pyarrow.parquet  # the threads importing these starts are not the command's
baseline = len(os.listdir("/proc/self/task"))
def report():
    sys.__stderr__.write(f"EXTRA-THREADS-AT-EXIT {len(os.listdir('/proc/self/task')) - baseline}\\n")
from backtest import cli
if os.environ.get("STRESS_THREADS"):
    atexit.register(report)  # a normal exit; the console entry's immediate exit skips atexit, so count before it
    leave = cli._leave_now
    def counted(code):
        report(); sys.__stderr__.flush(); atexit.unregister(report); leave(code)
    cli._leave_now = counted
sys.argv = ["backtest"] + sys.argv[1:]
cli.main()
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "market-data")
    parser.add_argument("--threads", action="store_true", help="report native threads left at exit")
    args = parser.parse_args()
    statuses: collections.Counter = collections.Counter()
    extra: collections.Counter = collections.Counter()
    failures: list[str] = []
    env = dict(__import__("os").environ, **({"STRESS_THREADS": "1"} if args.threads else {}))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        command = [sys.executable, "-c", CHILD, "--cache-dir", str(cache), "--source", "cache", "data", "import",
                   str(args.mirror)]
        for _ in range(args.rounds):
            jobs = [subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
                    for _ in range(args.parallel)]
            for job in jobs:
                _, stderr = job.communicate()
                statuses[job.returncode] += 1
                for line in stderr.splitlines():
                    if line.startswith("EXTRA-THREADS-AT-EXIT "):
                        extra[int(line.split()[1])] += 1
                if job.returncode != 0:
                    failures.append(stderr.strip().splitlines()[-1] if stderr.strip() else f"status {job.returncode}")
    elapsed = time.perf_counter() - started
    total = sum(statuses.values())
    print(f"{total} imports in {elapsed:.0f} s ({args.parallel} at a time): exit statuses {dict(sorted(statuses.items()))}")
    if args.threads:
        print(f"native threads left at exit beyond the imports': {dict(sorted(extra.items()))}")
    for line in failures[:5]:
        print(f"  failure: {line}")
    return 0 if set(statuses) == {0} else 1


if __name__ == "__main__":
    sys.exit(main())
