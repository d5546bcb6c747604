"""The command users run, timed: ``backtest --help``, the five-article run, and corpora of 1k / 10k / 100k setups.

Usage::

    python benchmarks/bench_cli.py                          # median of 3 fresh processes per row, a table
    python benchmarks/bench_cli.py --sizes 1000,10000 --repeats 3 --json

Every row is a fresh process of the ``backtest`` executable of this virtualenv (Python start-up and every
import included), all report formats written (HTML included), ``--quiet``, into a temporary ``--out``:

* ``backtest --help``;
* ``backtest run setups/`` from the repository root: the README's five-article run (``backtest.toml``: the
  parquet cache, then the ``../shared/market-data`` mirror; no network is touched), and the same run
  **cold** (``--offline --cache-dir`` a new, empty directory each time: bars read from the mirror, the
  calendar and the bootstrap draws made again), the like-for-like partner of a corpus's cold row, and
  **new corpus** (a cache directory that holds only today's XNYS session table: what a corpus nobody
  ran before finds on a machine that ran something today), the partner of a corpus's new-corpus row;
* for each size, a corpus of hand-written-style setup files on the real mirror prices
  (``benchmarks/corpus.py``: about 4.5 setups per file, written to a temporary folder, never committed),
  run with ``--offline --mirror ../shared/market-data``: **cold** (a new, empty cache directory for every
  repetition: every file is parsed and validated), **new corpus** (every cache but the session table
  emptied before each repetition: parsed setups, permutation results and bootstrap draws made again) and
  **re-run** (the same corpus again, its parsed-setup cache filled by one untimed run first, as a scheduled
  job finds it).

Three like-for-like ratios are printed per size, each against the five-article run in the same cache
state: cold/cold, new/new and re-run/run; and, for reference, the corpus's cold run against the usual
(warm) five-article run, which also counts the session table and bootstrap draws the warm run has cached.

Wall time is the median of ``--repeats`` runs (min and max in the JSON); peak RSS is the largest
``ru_maxrss`` of the runs (``os.wait4`` of that child alone). The machine's load average is printed before
and after: the machine is shared, and the figures scale with it.
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
MIRROR = (REPO / ".." / "shared" / "market-data").resolve()
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
#: The issue's targets, checked against the medians (None: not measured in this run).
TARGETS = "10k <= 3x the five-article run and <= 1 GB; 100k <= 30 s and <= 2 GB; 100k re-run <= 10 s; five-article <= 2 s"


def backtest_executable() -> list[str]:
    script = Path(sys.executable).with_name("backtest")
    return [str(script)] if script.exists() else [sys.executable, "-m", "backtest.cli"]


def one_run(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one fresh process; fails loudly when the command fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out, err = proc.stdout.read().decode(errors="replace"), proc.stderr.read().decode(errors="replace")
    proc.stdout.close(), proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {(err or out).strip()[-800:]}")
    return wall, usage.ru_maxrss / 1024.0


def new_corpus_state(cache: Path) -> None:
    """Empty every cache a new corpus could not reuse (parsed setups; permutation results and bootstrap
    draws, under ``bootstrap/``), keeping only the per-day XNYS session table (``calendar/``)."""
    for part in ("setups", "bootstrap"):
        shutil.rmtree(cache / part, ignore_errors=True)


def measure(make_cmd, repeats: int, before=None) -> dict:
    """Median / min / max wall seconds and peak RSS of ``repeats`` runs; ``make_cmd(i)`` builds run i's
    command and ``before(i)`` (if given) prepares it, untimed."""
    walls, rss = [], []
    for i in range(repeats):
        if before is not None:
            before(i)
        wall, peak = one_run(make_cmd(i))
        walls.append(wall), rss.append(peak)
    return {"median_s": statistics.median(walls), "min_s": min(walls), "max_s": max(walls),
            "peak_rss_mb": max(rss), "runs": repeats}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="corpus sizes in setups ('' for none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    exe = backtest_executable()
    out: dict = {"load_before": os.getloadavg(), "cores": os.cpu_count()}
    tmp = Path(tempfile.mkdtemp(prefix="backtest-bench-cli-"))
    try:
        out["help"] = measure(lambda i: exe + ["--help"], args.repeats)
        out["five_articles"] = measure(lambda i: exe + ["run", "setups", "--out", str(tmp / f"seed{i}"), "--quiet"],
                                       args.repeats, before=lambda i: shutil.rmtree(tmp / f"seed{i}", ignore_errors=True))
        # the same run with a new, empty cache directory each time (bars from the mirror, the calendar built,
        # the bootstrap drawn): the like-for-like partner of a corpus's cold row
        out["five_articles_cold"] = measure(
            lambda i: exe + ["--offline", "--cache-dir", str(tmp / f"seedcache{i}"), "run", "setups", "--out",
                             str(tmp / f"seedcold{i}"), "--quiet"], args.repeats)

        def seed_new(i):
            return exe + ["--offline", "--cache-dir", str(tmp / "seednew"), "run", "setups", "--out",
                          str(tmp / f"seednew{i}"), "--quiet"]

        one_run(seed_new(-1))  # today's session table, untimed
        out["five_articles_new"] = measure(seed_new, args.repeats, before=lambda i: new_corpus_state(tmp / "seednew"))
        for size in sizes:
            folder = tmp / f"corpus{size}"
            made = corpus.write_corpus(folder, size, MIRROR)
            base = exe + ["--offline", "--mirror", str(MIRROR)]

            def cold(i, size=size, folder=folder):
                return base + ["--cache-dir", str(tmp / f"cold{size}-{i}"), "run", str(folder), "--out",
                               str(tmp / f"out{size}-{i}"), "--quiet"]

            def warm(i, size=size, folder=folder):
                return base + ["--cache-dir", str(tmp / f"warm{size}"), "run", str(folder), "--out",
                               str(tmp / f"rerun{size}-{i}"), "--quiet"]

            row = {"files": made["files"], "setups": made["setups"]}
            row["cold"] = measure(cold, args.repeats)

            def new(i, size=size, folder=folder):
                return base + ["--cache-dir", str(tmp / f"new{size}"), "run", str(folder), "--out",
                               str(tmp / f"out{size}-new{i}"), "--quiet"]

            one_run(new(-1))  # today's session table, untimed (the rest is emptied before every run)
            row["new"] = measure(new, args.repeats, before=lambda i, size=size: new_corpus_state(tmp / f"new{size}"))
            one_run(warm(-1))  # fill the parsed-setup cache, untimed
            row["rerun"] = measure(warm, args.repeats)
            html = tmp / f"out{size}-0" / "report.html"
            row["report_html_mb"] = html.stat().st_size / 1e6 if html.exists() else None
            out[f"corpus_{size}"] = row
            for path in tmp.glob(f"out{size}-*"):
                shutil.rmtree(path, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["load_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print(f"{'command (fresh process, all formats, --quiet)':<52} {'median s':>9} {'min s':>7} {'max s':>7} {'peak RSS MB':>12}")

    def line(label, r):
        print(f"{label:<52} {r['median_s']:>9.2f} {r['min_s']:>7.2f} {r['max_s']:>7.2f} {r['peak_rss_mb']:>12.0f}")

    line("backtest --help", out["help"])
    line("backtest run setups/ (five articles)", out["five_articles"])
    line("backtest run setups/, cold (new cache directory)", out["five_articles_cold"])
    line("backtest run setups/, new corpus (session table kept)", out["five_articles_new"])
    five, five_cold = out["five_articles"]["median_s"], out["five_articles_cold"]["median_s"]
    five_new = out["five_articles_new"]["median_s"]
    for size in sizes:
        row = out[f"corpus_{size}"]
        line(f"run {size:,} setups ({row['files']:,} files), cold", row["cold"])
        line(f"run {size:,} setups, new corpus (session table kept)", row["new"])
        line(f"run {size:,} setups, re-run (parsed-setup cache)", row["rerun"])
        print(f"    {size:,} setups / five articles, like for like: cold/cold {row['cold']['median_s'] / five_cold:.2f}x, "
              f"new/new {row['new']['median_s'] / five_new:.2f}x, re-run/run {row['rerun']['median_s'] / five:.2f}x; "
              f"cold/run {row['cold']['median_s'] / five:.2f}x")
    print(f"({args.repeats} runs each; {out['cores']} cores; load average {out['load_before'][0]:.2f} before, "
          f"{out['load_after'][0]:.2f} after; targets: {TARGETS})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
