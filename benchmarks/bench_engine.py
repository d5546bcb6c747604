"""Engine benchmark: the kernel, the library's ``simulate()``, the reference oracle and vectorbt, like for like.

Usage::

    python benchmarks/bench_engine.py                      # sizes 1k, 10k, 100k, 1M; prints a table
    python benchmarks/bench_engine.py --sizes 1000,10000 --json --repeats 3

The corpus (``benchmarks/synthetic.py``, seeded): 50 instruments x 2,520 real XNYS sessions of geometric random
walks with overnight gaps; setups grouped into articles, levels within a few % of the last close before
publication, stop/limit/market entries, long and short, 0-2 targets, some invalidations, 2 % pairs.

**Like for like.** Every contender gets its inputs from the same code: the product's own screening
(:func:`backtest.engine.simulation.kernel_inputs`) turns the setup table and the bars into the kernel's
arrays once, untimed; the kernel, the reference and vectorbt all read those arrays (vectorbt's column
matrices are built from them inside its timed call, since that layout is what vectorbt needs). Every
contender runs ``--repeats`` times (default 3) after a warm-up call and its **median** is reported, with
min and max in the JSON. vectorbt's headline is the **windowed** layout (each setup's column cut to its own
window: the fair layout for per-setup simulation); the full-history layout (one column per setup over its
instrument's whole history, as a first vectorbt attempt would write it) is the second figure.

Each size runs in two fresh subprocesses, so that peak RSS and start-up costs belong to that size alone:

* ``end-to-end``: read the corpus (parquet), build the setup table, load the bars from the parquet cache
  through ``backtest.data.load.load_barset``, ``simulate()`` (screening, the kernel on every core, the
  ambiguity bounds, pairs, directional calls, the typed ledger) and the per-article / per-stance outcome
  tables. Peak RSS is that process's ``VmHWM``. No report files (``bench_cli.py`` measures the command).
* ``compare``: the kernel on one thread and on all cores (``kernel_s`` is all cores: what the product
  runs), the plain-Python reference (S <= 100k), vectorbt windowed (S <= 100k) and full history (S <= 10k).

``agree`` is true when every comparison that ran agrees: kernel == reference on every field (exactly);
the kernel on all cores == on one thread (exactly); vectorbt's trade returns == the kernel's on the setups
where their semantics coincide (entered, at most one target, no same-bar stop/target ambiguity, no exit on
the entry bar, no exit at a gapped open, no exit at a level the bar touches exactly (float round-off of the
fraction), no costs, not a close-confirmed entry).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import synthetic  # noqa: E402

SIZES = (1_000, 10_000, 100_000, 1_000_000)
ORACLE_MAX, VBT_MAX, VBT_WINDOWED_MAX = 100_000, 10_000, 100_000
REPEATS = 3
KEYS = ("setups", "kernel_s", "kernel_setups_per_s", "compile_s", "end_to_end_s", "peak_rss_mb", "oracle_s",
        "vectorbt_s", "vectorbt_windowed_s", "agree")


def peak_rss_mb() -> float:
    """This process's peak resident set size (``VmHWM``), in MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def timed(call, repeats: int) -> tuple[dict, object]:
    """Median / min / max seconds of ``repeats`` calls after one warm-up call, and the last result."""
    result = call()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - t)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "runs": repeats}, result


# ------------------------------------------------------------------------------------------ end to end
def end_to_end(frame_path: Path, cache_dir: Path) -> dict:
    """One library run without report files: corpus -> setup table -> cached bars -> ledger -> outcome tables."""
    t0 = time.perf_counter()
    import pandas as pd

    from backtest.data.load import load_barset
    from backtest.engine import simulate
    from backtest.engine.config import SimConfig
    from backtest.reports.aggregate import article_outcomes, stance_outcomes

    table = synthetic.to_setup_table(pd.read_parquet(frame_path))
    bars = load_barset(table.symbols(), synthetic.cache_config(cache_dir))
    ledger = simulate(table, bars, SimConfig())
    articles = article_outcomes(ledger.trades)
    stances = stance_outcomes(ledger.trades)
    elapsed = time.perf_counter() - t0
    return {"end_to_end_s": elapsed, "peak_rss_mb": peak_rss_mb(), "articles": int(len(articles)),
            "missing": len(bars.missing),
            "all_total_return_pct": float(stances.loc[stances["stance"] == "all", "total_return_pct"].iloc[0] or 0)}


# ------------------------------------------------------------------------------------------ kernel & oracle
def kernel_inputs(size: int):
    """The kernel's arrays for a corpus of ``size`` setups, prepared by the product's own screening."""
    from backtest.data.bars import Bars, BarSet
    from backtest.data.calendar import with_sessions
    from backtest.engine.config import SimConfig
    from backtest.engine.simulation import kernel_inputs as prepare

    frames = synthetic.make_bars()
    bars = BarSet({s: Bars(s, with_sessions(f), source="synthetic", basis="split-adjusted") for s, f in frames.items()})
    table = synthetic.to_setup_table(synthetic.make_setup_table(size, frames))
    _, _, arrays, _ = prepare(table, bars, SimConfig())
    return arrays


def cold_compile_s(arrays) -> float:
    """Seconds of a cold numba compile of the kernel function (numba's on-disk cache bypassed)."""
    from numba import njit

    from backtest.engine import kernel
    from backtest.engine.arrays import KernelResult

    cold = njit(cache=False, nogil=True, error_model="numpy")(kernel._kernel)
    small = _head(arrays, 4)
    out = KernelResult.empty(len(small), small.targets.shape[1])
    a = small
    t = time.perf_counter()
    cold(a.open, a.high, a.low, a.close, a.start, a.end, a.direction, a.entry_type, a.entry_level, a.stop,
         a.targets, a.invalidation, a.entry_window, a.max_hold, a.scale_out, a.ambiguity, 0.0,
         out.status, out.entry_bar, out.entry_price, out.exit_bar, out.exit_price, out.exit_reason,
         out.return_pct, out.mae_pct, out.mfe_pct, out.sessions_held, out.ambiguous, out.n_tranches,
         out.tranche_bar, out.tranche_price, out.tranche_fraction, out.tranche_reason)
    return time.perf_counter() - t


def _head(arrays, n: int):
    import dataclasses

    per_setup = {f.name for f in dataclasses.fields(arrays)} - {"open", "high", "low", "close"}
    return dataclasses.replace(arrays, **{k: getattr(arrays, k)[:n] for k in per_setup})


def results_equal(a, b) -> bool:
    """Every KernelResult field identical (NaN == NaN)."""
    for name, x in a.fields().items():
        y = getattr(b, name)
        if x.dtype.kind == "f":
            if not np.array_equal(x, y, equal_nan=True):
                return False
        elif not np.array_equal(x, y):
            return False
    return True


# ------------------------------------------------------------------------------------------ vectorbt
def comparable(arrays, res) -> np.ndarray:
    """Setups whose outcome vectorbt's from_signals can express exactly (see the module docstring)."""
    from backtest.engine.arrays import EXIT_END, EXIT_STOP, EXIT_TIME, TARGET0

    from backtest.engine.arrays import CLOSE

    entered = (res.entry_bar >= 0) & (arrays.entry_type != CLOSE)
    n_targets = (~np.isnan(arrays.targets)).sum(axis=1)
    simple_exit = np.isin(res.exit_reason, (EXIT_STOP, EXIT_TIME, EXIT_END, TARGET0))
    exit_at = np.maximum(res.exit_bar, 0)
    gap_exit = (res.exit_reason != EXIT_TIME) & (res.exit_reason != EXIT_END) & (res.exit_price == arrays.open[exit_at])
    # a level touched exactly (high == target): the fraction vectorbt gets back from the absolute level may
    # round to a price a hair beyond it, so vectorbt sees no touch; the kernel compares the levels themselves
    exact_touch = (res.exit_price == arrays.high[exit_at]) | (res.exit_price == arrays.low[exit_at])
    exact_touch &= (res.exit_reason == EXIT_STOP) | (res.exit_reason == TARGET0)
    return (entered & (n_targets <= 1) & ~res.ambiguous & simple_exit & ~gap_exit & ~exact_touch
            & (res.exit_bar > res.entry_bar))


def _vbt_columns(arrays, res, rows, first, length):
    """Matrices (length x len(rows)) for from_signals, bar ``first[j] + t`` in row t of column j."""
    idx = first[None, :] + np.arange(length)[:, None]
    end = arrays.end[rows]
    # past the end of the data a column repeats its last close (flat bars trigger nothing: see ``comparable``)
    past = idx >= end[None, :]
    idx = np.minimum(idx, end[None, :] - 1)

    def take(values):
        out = values[idx]
        out[past] = arrays.close[idx[past]]
        return out

    close, open_, high, low = take(arrays.close), take(arrays.open), take(arrays.high), take(arrays.low)
    entries = np.zeros(idx.shape, dtype=bool)
    exits = np.zeros(idx.shape, dtype=bool)
    price = close.copy()
    cols = np.arange(len(rows))
    filled = res.entry_bar[rows] >= 0
    rel_entry = res.entry_bar[rows] - first
    entries[rel_entry[filled], cols[filled]] = True
    price[rel_entry[filled], cols[filled]] = res.entry_price[rows][filled]
    rel_exit = rel_entry + arrays.max_hold[rows] - 1  # time exit at that session's close
    timed = filled & (rel_exit < length) & (first + rel_exit < end)
    exits[rel_exit[timed], cols[timed]] = True
    sign = arrays.direction[rows].astype(np.float64)
    ep = res.entry_price[rows]
    with np.errstate(invalid="ignore"):
        sl = sign * (ep - arrays.stop[rows]) / ep
        tp = sign * (arrays.targets[rows, 0] - ep) / ep if arrays.targets.shape[1] else np.full(len(rows), np.nan)
    sl[~(sl > 0)] = np.nan  # stops already behind the fill would be a gap exit: not comparable anyway
    tp[~(tp > 0)] = np.nan
    direction = np.where(sign > 0, 0, 1)  # Direction.LongOnly, Direction.ShortOnly
    return dict(close=close, open=open_, high=high, low=low, entries=entries, exits=exits, price=price,
                sl_stop=sl[None, :], tp_stop=tp[None, :], direction=direction[None, :])


def run_vectorbt(arrays, res, windowed: bool, chunk: int = 20_000) -> tuple[float, np.ndarray]:
    """Seconds and per-setup trade return (NaN when no trade) of vectorbt on every setup.

    Full history: one from_signals per instrument, one column per setup over all of that instrument's bars.
    Windowed: columns cut to [first eligible bar, + entry window + max hold), in chunks of ``chunk`` columns.
    """
    import vectorbt as vbt

    n = len(arrays)
    returns = np.full(n, np.nan)
    t0 = time.perf_counter()
    if windowed:
        length = int((arrays.entry_window + arrays.max_hold).max())
        groups = [np.arange(s, min(s + chunk, n)) for s in range(0, n, chunk)]
        firsts = [arrays.start[g] for g in groups]
    else:
        # instrument = the [first bar, end) block the setup's start falls in; all its bars are one column each
        ends = np.unique(arrays.end)
        block_of = np.searchsorted(ends, arrays.start, side="right")
        starts_of_block = np.concatenate(([0], ends[:-1]))
        groups, firsts = [], []
        for b in range(len(ends)):
            rows = np.flatnonzero(block_of == b)
            if len(rows):
                groups.append(rows)
                firsts.append(np.full(len(rows), starts_of_block[b]))
        length = None
    for rows, first in zip(groups, firsts):
        span = length if windowed else int(arrays.end[rows[0]] - first[0])
        m = _vbt_columns(arrays, res, rows, first, span)
        pf = vbt.Portfolio.from_signals(
            close=m["close"], entries=m["entries"], exits=m["exits"], price=m["price"], open=m["open"],
            high=m["high"], low=m["low"], sl_stop=m["sl_stop"], tp_stop=m["tp_stop"], direction=m["direction"],
            stop_entry_price="price", init_cash=1e9, fees=0.0, freq="1D")
        rec = pf.trades.records
        returns[rows[rec["col"]]] = rec["return"]
    return time.perf_counter() - t0, returns


def _warm_vectorbt() -> None:
    import vectorbt as vbt

    c = np.array([[1.0], [1.1], [1.2]])
    for width in (1, 2):  # compile vectorbt's numba functions (one and several columns) before timing
        cw = np.repeat(c, width, axis=1)
        pf = vbt.Portfolio.from_signals(
            close=cw, entries=np.repeat([[True], [False], [False]], width, axis=1), exits=np.zeros((3, width), bool),
            price=cw, open=cw, high=cw, low=cw, sl_stop=np.full((1, width), 0.1), tp_stop=np.full((1, width), 0.1),
            direction=np.zeros((1, width), dtype=int), stop_entry_price="price", init_cash=1e9, fees=0.0, freq="1D")
        pf.trades.records


def compare(size: int, oracle_max: int, vbt_max: int, vbt_windowed_max: int, repeats: int) -> dict:
    """Kernel timings plus every comparison that this size allows, all on the same arrays."""
    from backtest.engine import kernel

    arrays = kernel_inputs(size)
    t = time.perf_counter()
    kernel.run_kernel(_head(arrays, 4), compiled=True)  # numba import + on-disk cache load, timed apart
    first_call = time.perf_counter() - t
    one, res_one = timed(lambda: kernel.run_kernel(arrays, threads=1, compiled=True), repeats)
    cores, res = timed(lambda: kernel.run_kernel(arrays, compiled=True), repeats)
    out = {"kernel_s": cores["median"], "kernel_setups_per_s": len(arrays) / cores["median"],
           "kernel_times": cores, "kernel_1thread_s": one["median"], "kernel_1thread_times": one,
           "threads": kernel.default_threads(), "thread_speedup": one["median"] / cores["median"],
           "compile_s": cold_compile_s(arrays), "first_call_s": first_call, "kernel_singles": len(arrays),
           "agree_threads": results_equal(res, res_one), "oracle_s": None, "vectorbt_s": None,
           "vectorbt_windowed_s": None, "agree_oracle": None, "agree_vectorbt": None,
           "agree_vectorbt_windowed": None, "vectorbt_compared": None}
    if size <= oracle_max:
        from backtest.engine.reference import run_reference

        times, ref = timed(lambda: run_reference(arrays), repeats)
        out["oracle_s"], out["oracle_times"] = times["median"], times
        out["agree_oracle"] = results_equal(ref, res)
    if size <= vbt_windowed_max or size <= vbt_max:
        _warm_vectorbt()
        mask = comparable(arrays, res)
        out["vectorbt_compared"] = int(mask.sum())
        for key, windowed, limit in (("vectorbt_windowed_s", True, vbt_windowed_max), ("vectorbt_s", False, vbt_max)):
            if size > limit:
                continue
            times, vbt_ret = timed(lambda: run_vectorbt(arrays, res, windowed)[1], repeats)
            out[key], out[key.replace("_s", "_times")] = times["median"], times
            ok = np.allclose(vbt_ret[mask] * 100.0, res.return_pct[mask], rtol=1e-9, atol=1e-9)
            out["agree_" + key.replace("_s", "")] = bool(ok)
    return out


# ------------------------------------------------------------------------------------------ driver
def _child(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({' '.join(args)}):\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(size: int, cache_dir: Path, work: Path, limits: dict) -> dict:
    """One size: the end-to-end child, then the compare child; one flat dict with :data:`KEYS` first."""
    frame_path = work / f"setups_{size}.parquet"
    synthetic.make_setup_table(size, synthetic.make_bars()).to_parquet(frame_path)
    e2e = _child(["--e2e", str(frame_path), str(cache_dir)])
    cmp_ = _child(["--compare", str(size), json.dumps(limits)])
    checks = [cmp_[k] for k in ("agree_oracle", "agree_vectorbt", "agree_vectorbt_windowed", "agree_threads")
              if cmp_[k] is not None]
    row = {"setups": size, **{k: cmp_.get(k) for k in ("kernel_s", "kernel_setups_per_s", "compile_s")},
           "end_to_end_s": e2e["end_to_end_s"], "peak_rss_mb": e2e["peak_rss_mb"], "oracle_s": cmp_["oracle_s"],
           "vectorbt_s": cmp_["vectorbt_s"], "vectorbt_windowed_s": cmp_["vectorbt_windowed_s"],
           "agree": all(checks)}
    row.update({k: v for k, v in cmp_.items() if k not in row})
    row.update({k: v for k, v in e2e.items() if k not in row})
    return row


def machine() -> dict:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            model = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba

    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(), "numba": numba.__version__,
            "numpy": np.__version__, "load": os.getloadavg()}


def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def table_text(rows: list[dict]) -> str:
    head = ("setups", "kernel s", "setups/s", "1 thread s", "x threads", "compile s", "e2e s", "peak RSS MB",
            "oracle s", "x oracle", "vbt win s", "x vbt win", "vbt s", "x vbt", "agree")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        k = r["kernel_s"]

        def ratio(other):
            return None if other is None else other / k

        lines.append(" | ".join([
            f"{r['setups']:,}", _fmt(k, ".4f"), f"{r['kernel_setups_per_s'] / 1e6:.2f} M", _fmt(r["kernel_1thread_s"], ".4f"),
            _fmt(r["thread_speedup"], ".2f"), _fmt(r["compile_s"], ".2f"), _fmt(r["end_to_end_s"], ".2f"),
            _fmt(r["peak_rss_mb"], ".0f"), _fmt(r["oracle_s"], ".2f"), _fmt(ratio(r["oracle_s"]), ".0f"),
            _fmt(r["vectorbt_windowed_s"], ".2f"), _fmt(ratio(r["vectorbt_windowed_s"]), ",.0f"),
            _fmt(r["vectorbt_s"], ".2f"), _fmt(ratio(r["vectorbt_s"]), ",.0f"), str(r["agree"])]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated setup counts")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per size")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="timed runs per contender (median reported)")
    parser.add_argument("--oracle-max", type=int, default=ORACLE_MAX, help="largest size run through the oracle")
    parser.add_argument("--vbt-max", type=int, default=VBT_MAX, help="largest size for vectorbt over full history")
    parser.add_argument("--vbt-windowed-max", type=int, default=VBT_WINDOWED_MAX,
                        help="largest size for windowed vectorbt")
    parser.add_argument("--e2e", nargs=2, metavar=("TABLE", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--compare", nargs=2, metavar=("SIZE", "LIMITS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.e2e:
        print(json.dumps(end_to_end(Path(args.e2e[0]), Path(args.e2e[1]))))
        return 0
    if args.compare:
        limits = json.loads(args.compare[1])
        print(json.dumps(compare(int(args.compare[0]), **limits)))
        return 0

    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes: expected comma-separated integers, got {args.sizes!r}")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes: give at least one positive size")
    if args.repeats < 1:
        parser.error("--repeats: at least 1")
    limits = {"oracle_max": args.oracle_max, "vbt_max": args.vbt_max, "vbt_windowed_max": args.vbt_windowed_max,
              "repeats": args.repeats}
    rows = []
    with tempfile.TemporaryDirectory(prefix="backtest-bench-") as tmp:
        work = Path(tmp)
        cache_dir = work / "cache"
        synthetic.write_cache(synthetic.make_bars(), cache_dir)
        for size in sizes:
            rows.append(measure(size, cache_dir, work, limits))
            if not args.json:
                print(f"  done {size:,} setups", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        info = machine()
        print(f"machine: {info['nproc']} cores, {info['cpu']}, Python {info['python']}, numba {info['numba']}, "
              f"numpy {info['numpy']}, load average {info['load'][0]:.2f}")
        print(table_text(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
