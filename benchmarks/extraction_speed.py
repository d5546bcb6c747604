"""How fast is ``backtest extract``? Articles per second on 2–8 KB articles, and how time grows with size.

Two measurements, both on the product path (read → extract → render YAML → write, the work of
``backtest extract DIR --out OUT``), in one process on one core:

* **throughput**: N articles of 2–8 KB, built by joining articles of the development corpus
  (``tests/extraction_corpus/dev``, our own text) and the five seed articles read from ``../shared``;
  reported as articles/s over ``extract_to_dir`` on one core (``BACKTEST_THREADS=1``: no extracting
  processes, so the CPU time of this process is all the work); with ``--cli``, over the ``backtest extract``
  command, process start-up included, on one core and on every core (wall time);
* **scaling**: one article that is a single paragraph of 100 KB, 400 KB, 4 MB (and ``--huge``: 19.5 MB),
  timed through ``read_article`` + ``extract_article``; linear work shows as a constant seconds-per-MB. The
  same up to 400 KB for a paragraph of nothing but levels (every level's look-backs at their longest).

Times are CPU seconds of the benchmark process (``time.process_time``: one core's work, less sensitive
to other load than wall time; the command run with ``--cli`` is wall time); medians of ``--repeat`` runs;
the machine load (``os.getloadavg``) is printed with the results.

    python benchmarks/extraction_speed.py                  # 1,000 articles, 3 repeats, scaling to 4 MB
    python benchmarks/extraction_speed.py --cli --huge     # also the command itself, and 19.5 MB
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "tests" / "extraction_corpus" / "dev"
SHARED = REPO.parent / "shared" / "articles"


def build_articles(folder: Path, n: int, seed: int = 7) -> list[int]:
    """Write ``n`` articles of 2–8 KB into ``folder``; returns their sizes in bytes."""
    rng = random.Random(seed)
    pieces = [p.read_text(encoding="utf-8") for p in sorted(DEV.glob("*.txt"))]
    shared = [p.read_text(encoding="utf-8") for p in sorted(SHARED.glob("*.txt"))] if SHARED.is_dir() else []
    sizes = []
    for i in range(n):
        if shared and i % 5 == 0:
            text = shared[i // 5 % len(shared)]
        else:
            target = rng.randint(2048, 8192)
            parts: list[str] = []
            while sum(len(p) for p in parts) < target:
                parts.append(rng.choice(pieces))
            text = "\n\n".join(parts)[:8192]
        path = folder / f"speed-{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        sizes.append(path.stat().st_size)
    return sizes


def single_paragraph(size: int) -> str:
    """An article that is one paragraph of about ``size`` bytes (no line breaks): sentences of our corpus."""
    sentences = []
    for p in sorted(DEV.glob("*.txt")):
        sentences += [line.strip() for line in p.read_text(encoding="utf-8").splitlines() if len(line.strip()) > 40]
    head, tail = "Desk Notes\n", "\ndatePublished: 2026-02-09 14:30 UTC\n"
    body, total, i = [], len(head) + len(tail), 0
    while total < size:
        s = sentences[i % len(sentences)]
        body.append(s)
        total += len(s) + 1
        i += 1
    return head + " ".join(body) + tail


def time_throughput(folder: Path, out: Path, repeat: int) -> list[float]:
    from backtest.config import load_config
    from backtest.extraction.batch import extract_to_dir

    os.environ["BACKTEST_THREADS"] = "1"  # one core: the work is all in this process's CPU time
    config = load_config(REPO / "backtest.toml").with_overrides(offline=True)
    extract_to_dir([folder], out / "warm", config=config)  # compile the tables, load the price mirror once
    runs = []
    for r in range(repeat):
        target = out / f"run{r}"
        start = time.process_time()  # CPU time of this process: what one core does, whatever else runs
        summary = extract_to_dir([folder], target, config=config)
        runs.append(time.process_time() - start)
        assert not summary.failed and not summary.unwritten, (summary.failed[:3], summary.unwritten[:3])
    return runs


def time_cli(folder: Path, out: Path, repeat: int, threads: str) -> list[float]:
    """Wall seconds of ``backtest extract`` into a new folder; ``threads``: BACKTEST_THREADS ("" = every core)."""
    env = {k: v for k, v in os.environ.items() if k != "BACKTEST_THREADS"}
    if threads:
        env["BACKTEST_THREADS"] = threads
    runs = []
    for r in range(repeat):
        target = out / f"cli{threads or 'all'}{r}"
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "backtest.cli", "--config", str(REPO / "backtest.toml"), "--offline",
                        "extract", str(folder), "--out", str(target)], check=True, capture_output=True, env=env)
        runs.append(time.perf_counter() - start)
    return runs


def dense_paragraph(size: int) -> str:
    """One paragraph of about ``size`` bytes that is nothing but levels and corrections ("21,480 21,480 ...",
    "not $1 not $1 ..."): every level looks back over the sentence, so a look-back that is not bounded shows."""
    half = size // 2
    return "Dense levels\n\n" + "21,480 " * (half // 7) + "not $1 " * (half // 7) + "\n"


def time_scaling(sizes: list[int], repeat: int, folder: Path) -> list[dict]:
    from backtest.articles import read_article
    from backtest.extraction.extractor import extract_article

    rows = []
    cases = [(size, "prose", single_paragraph(size)) for size in sizes]
    cases += [(size, "levels", dense_paragraph(size)) for size in sizes if size <= 400_000]
    for size, kind, text in cases:
        path = folder / f"paragraph-{kind}-{size}.txt"
        path.write_text(text, encoding="utf-8")
        runs = []
        for _ in range(repeat):
            start = time.process_time()
            article = read_article(path)
            result = extract_article(article)
            runs.append(time.process_time() - start)
        seconds = statistics.median(runs)
        rows.append({"kind": kind, "bytes": path.stat().st_size, "seconds": seconds,
                     "seconds_per_mb": seconds / (path.stat().st_size / 1e6), "setups": len(result.setup_file.setups)})
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cli", action="store_true", help="also time the backtest extract command")
    parser.add_argument("--huge", action="store_true", help="also a 19.5 MB single paragraph")
    parser.add_argument("--sizes", default="100000,400000,4000000", help="single-paragraph sizes in bytes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="extraction-speed-"))
    try:
        folder = work / "articles"
        folder.mkdir()
        sizes = build_articles(folder, args.articles)
        runs = time_throughput(folder, work / "out", args.repeat)
        result = {
            "load_avg": os.getloadavg(),
            "articles": len(sizes), "kb_min": min(sizes) / 1024, "kb_max": max(sizes) / 1024,
            "kb_mean": sum(sizes) / len(sizes) / 1024,
            "extract_to_dir_s": statistics.median(runs),
            "articles_per_s": len(sizes) / statistics.median(runs),
        }
        if args.cli:
            modes = (("cli_one_core", "1"), ("cli_all_cores", ""))
            cli: dict[str, list[float]] = {key: [] for key, _ in modes}
            for r in range(args.repeat):  # alternated, so a drift of the machine's speed hits both alike
                for key, threads in modes:
                    cli[key] += time_cli(folder, work / "out" / f"{key}-{r}", 1, threads)
            for key, runs_ in cli.items():
                result[f"{key}_s"] = statistics.median(runs_)
                result[f"{key}_articles_per_s"] = len(sizes) / statistics.median(runs_)
        paragraph_sizes = [int(s) for s in args.sizes.split(",") if s] + ([19_500_000] if args.huge else [])
        result["scaling"] = time_scaling(paragraph_sizes, 1 if args.huge else args.repeat, work)
        result["load_avg_after"] = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"load average {result['load_avg'][0]:.2f} (after: {result['load_avg_after'][0]:.2f})")
    print(f"throughput: {result['articles']} articles of {result['kb_min']:.1f}-{result['kb_max']:.1f} KB "
          f"(mean {result['kb_mean']:.1f} KB): {result['extract_to_dir_s']:.2f} s median of {args.repeat} -> "
          f"{result['articles_per_s']:.0f} articles/s (extract_to_dir: read, extract, YAML, write)")
    if "cli_one_core_s" in result:
        for key, label in (("cli_one_core", "one core"), ("cli_all_cores", f"{os.cpu_count()} cores")):
            print(f"command:    backtest extract DIR --out OUT, {label}: {result[key + '_s']:.2f} s -> "
                  f"{result[key + '_articles_per_s']:.0f} articles/s (wall time, process start-up included)")
    print("scaling (one paragraph, read + extract; prose of the corpus, or nothing but levels):")
    for row in result["scaling"]:
        print(f"  {row['kind']:6s} {row['bytes'] / 1e6:8.2f} MB  {row['seconds']:8.2f} s  "
              f"{row['seconds_per_mb']:6.2f} s/MB  {row['setups']} setups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
