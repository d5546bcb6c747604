"""Engine benchmark: kernel, end-to-end library run, reference oracle and vectorbt on one synthetic corpus.

Usage::

    python benchmarks/bench_engine.py                      # sizes 1k, 10k, 100k, 1M; prints a table
    python benchmarks/bench_engine.py --sizes 1000,10000 --json

The corpus (``benchmarks/synthetic.py``, seeded): 50 instruments x 2,520 real XNYS sessions of geometric random
walks with overnight gaps; setups grouped into articles, levels within a few % of the last close before
publication, stop/limit/market entries, long and short, 0-2 targets, some invalidations, 2 % pairs.

Each size runs in two fresh subprocesses, so that peak RSS and start-up costs belong to that size alone:

* ``end-to-end``: read the setup table (parquet), load the bars from the parquet cache through
  ``backtest.data.load.load_barset``, :func:`backtest.engine.columnar.simulate_table` (triage, split basis,
  coherence, the kernel x 3 for the two ambiguity bounds, pairs) and the per-article / per-stance aggregates
  of :mod:`backtest.reports.aggregate`. Peak RSS is that process's ``VmHWM``. No HTML, no report files.
* ``compare``: the kernel alone on the singles (best of 5 after JIT, median too; ``compile_s`` is a cold compile of the
  same function without numba's cache, ``first_call_s`` the first call with it), the plain-Python reference
  (S <= 100k), and vectorbt ``Portfolio.from_signals``: one column per setup over the full bar history of its
  instrument (S <= 10k) and a windowed variant, each column cut to the setup's own window (S <= 100k).

``agree`` is true when every comparison that ran agrees: kernel == reference on every field (exactly);
vectorbt's trade returns == the kernel's on the setups where their semantics coincide (entered, at most one
target, no same-bar stop/target ambiguity, no exit on the entry bar, no exit at a gapped open, no exit at a level
the bar touches exactly (float round-off of the fraction), no costs); ``simulate_table`` == ``simulate()`` on
status and every number for the first 2,000 setups (pydantic setup files through the normal engine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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
ORACLE_MAX, VBT_MAX, VBT_WINDOWED_MAX, LIBRARY_CHECK = 100_000, 10_000, 100_000, 2_000
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


# ------------------------------------------------------------------------------------------ end to end
def end_to_end(table_path: Path, cache_dir: Path) -> dict:
    """One library run without HTML: setups table + cached bars -> results -> per-article/per-stance tables."""
    t0 = time.perf_counter()
    import pandas as pd

    from backtest.data.load import load_barset
    from backtest.engine.columnar import simulate_table
    from backtest.engine.ledger import SimConfig
    from backtest.reports.aggregate import article_outcomes, stance_outcomes

    table = pd.read_parquet(table_path)
    symbols = sorted(set(table["symbol"].dropna()) | set(table["long_symbol"].dropna())
                     | set(table["short_symbol"].dropna()))
    bars = load_barset(symbols, synthetic.cache_config(cache_dir))
    results = simulate_table(table, bars, SimConfig())
    articles = article_outcomes(results)
    stances = stance_outcomes(results)
    elapsed = time.perf_counter() - t0
    return {"end_to_end_s": elapsed, "peak_rss_mb": peak_rss_mb(), "articles": int(len(articles)),
            "missing": len(bars.missing),
            "all_total_return_pct": float(stances.loc[stances["stance"] == "all", "total_return_pct"].iloc[0] or 0)}


# ------------------------------------------------------------------------------------------ kernel & oracle
def time_kernel(arrays, repeats: int = 5) -> tuple[float, float, float, float, object]:
    """(compile_s cold, first_call_s with numba's cache, best and median of ``repeats`` seconds, result).

    Each call allocates its output buffers; the first calls also pay the page faults of that fresh memory
    (about 0.15 s at 1M setups), hence best-of and median.
    """
    from numba import njit

    from backtest.engine import kernel

    t = time.perf_counter()
    kernel.run_kernel(synthetic_slice(arrays, 4))
    first_call = time.perf_counter() - t
    cold = njit(cache=False, nogil=True)(kernel._kernel.py_func)
    small = synthetic_slice(arrays, 4)
    out = _empty(small)
    t = time.perf_counter()
    cold(*_kernel_args(small, out))
    compile_s = time.perf_counter() - t
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = kernel.run_kernel(arrays)
        times.append(time.perf_counter() - t)
    return compile_s, first_call, min(times), float(np.median(times)), result


def synthetic_slice(arrays, n: int):
    import dataclasses

    per_setup = {f.name for f in dataclasses.fields(arrays)} - {"open", "high", "low", "close"}
    return dataclasses.replace(arrays, **{k: getattr(arrays, k)[:n] for k in per_setup})


def _empty(arrays):
    from backtest.engine.arrays import KernelResult

    return KernelResult.empty(len(arrays), arrays.targets.shape[1])


def _kernel_args(a, out):
    return (a.open, a.high, a.low, a.close, a.start, a.end, a.direction, a.entry_type, a.entry_level, a.stop,
            a.targets, a.invalidation, a.entry_window, a.max_hold, a.scale_out, a.ambiguity, 0.0,
            out.status, out.entry_bar, out.entry_price, out.exit_bar, out.exit_price, out.exit_reason,
            out.return_pct, out.mae_pct, out.mfe_pct, out.sessions_held, out.ambiguous, out.n_tranches,
            out.tranche_bar, out.tranche_price, out.tranche_fraction, out.tranche_reason)


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

    entered = res.entry_bar >= 0
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


def compare(size: int, oracle_max: int, vbt_max: int, vbt_windowed_max: int, library_check: int) -> dict:
    """Kernel timing plus every comparison that this size allows."""
    bars = synthetic.make_bars()
    table = synthetic.make_setup_table(size, bars)
    arrays, _ = synthetic.kernel_arrays(table, bars)
    compile_s, first_call, kernel_s, kernel_median, res = time_kernel(arrays)
    out = {"kernel_s": kernel_s, "kernel_setups_per_s": len(arrays) / kernel_s, "compile_s": compile_s,
           "first_call_s": first_call, "kernel_median_s": kernel_median, "kernel_singles": len(arrays), "oracle_s": None, "vectorbt_s": None,
           "vectorbt_windowed_s": None, "agree_oracle": None, "agree_vectorbt": None,
           "agree_vectorbt_windowed": None, "vectorbt_compared": None, "agree_library": None}
    if size <= oracle_max:
        from backtest.engine.reference import run_reference

        t = time.perf_counter()
        ref = run_reference(arrays)
        out["oracle_s"] = time.perf_counter() - t
        out["agree_oracle"] = results_equal(ref, res)
    if size <= vbt_windowed_max or size <= vbt_max:
        _warm_vectorbt()
        mask = comparable(arrays, res)
        out["vectorbt_compared"] = int(mask.sum())
        for key, windowed, limit in (("vectorbt_s", False, vbt_max), ("vectorbt_windowed_s", True, vbt_windowed_max)):
            if size > limit:
                continue
            seconds, vbt_ret = run_vectorbt(arrays, res, windowed)
            out[key] = seconds
            ok = np.allclose(vbt_ret[mask] * 100.0, res.return_pct[mask], rtol=1e-9, atol=1e-9)
            out["agree_" + key.replace("_s", "")] = bool(ok)
    if library_check:
        out["agree_library"] = library_agrees(table.iloc[:library_check], bars)
    return out


def library_agrees(table, frames) -> bool:
    """``simulate_table`` equals ``simulate()`` (pydantic setup files) on status and every number."""
    import tempfile as tf

    from backtest.data.load import load_barset
    from backtest.engine import simulate
    from backtest.engine.columnar import simulate_table
    from backtest.engine.ledger import SimConfig

    with tf.TemporaryDirectory() as cache:
        synthetic.write_cache(frames, cache)
        bars = load_barset(list(frames), synthetic.cache_config(cache))
        fast = simulate_table(table, bars, SimConfig())
        ledger = simulate(synthetic.table_to_files(table), bars, SimConfig())
    slow = ledger.trades.set_index("setup_id").loc[fast["setup_id"]]
    if not np.array_equal(slow["status"].to_numpy(dtype=object), fast["status"].astype(object).to_numpy()):
        return False
    for name in ("entry_price", "exit_price", "return_pct", "r_multiple", "mae_pct", "mfe_pct",
                 "return_pct_stop_first", "return_pct_target_first"):
        if not np.array_equal(slow[name].to_numpy(dtype=float), fast[name].to_numpy(dtype=float), equal_nan=True):
            return False
    return True


# ------------------------------------------------------------------------------------------ driver
def _child(args: list[str]) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark child failed ({' '.join(args)}):\n{proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(size: int, cache_dir: Path, work: Path, limits: dict) -> dict:
    """One size: the end-to-end child, then the compare child; one flat dict with :data:`KEYS` first."""
    table = synthetic.make_setup_table(size, synthetic.make_bars())
    table_path = work / f"setups_{size}.parquet"
    table.to_parquet(table_path)
    del table
    e2e = _child(["--e2e", str(table_path), str(cache_dir)])
    cmp_ = _child(["--compare", str(size), json.dumps(limits)])
    checks = [cmp_[k] for k in ("agree_oracle", "agree_vectorbt", "agree_vectorbt_windowed", "agree_library")
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
            "numpy": np.__version__}


def _fmt(x, spec=".3f"):
    return "-" if x is None else format(x, spec)


def table_text(rows: list[dict]) -> str:
    head = ("setups", "kernel s", "setups/s", "compile s", "e2e s", "peak RSS MB", "oracle s", "x oracle",
            "vbt s", "x vbt", "vbt win s", "x vbt win", "agree")
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        k = r["kernel_s"]

        def ratio(other):
            return None if other is None else other / k

        lines.append(" | ".join([
            f"{r['setups']:,}", _fmt(k, ".4f"), f"{r['kernel_setups_per_s'] / 1e6:.2f} M", _fmt(r["compile_s"], ".2f"),
            _fmt(r["end_to_end_s"], ".2f"), _fmt(r["peak_rss_mb"], ".0f"), _fmt(r["oracle_s"], ".2f"),
            _fmt(ratio(r["oracle_s"]), ".0f"), _fmt(r["vectorbt_s"], ".2f"), _fmt(ratio(r["vectorbt_s"]), ",.0f"),
            _fmt(r["vectorbt_windowed_s"], ".2f"), _fmt(ratio(r["vectorbt_windowed_s"]), ",.0f"), str(r["agree"])]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated setup counts")
    parser.add_argument("--json", action="store_true", help="print a JSON list, one object per size")
    parser.add_argument("--oracle-max", type=int, default=ORACLE_MAX, help="largest size run through the oracle")
    parser.add_argument("--vbt-max", type=int, default=VBT_MAX, help="largest size for vectorbt over full history")
    parser.add_argument("--vbt-windowed-max", type=int, default=VBT_WINDOWED_MAX,
                        help="largest size for windowed vectorbt")
    parser.add_argument("--library-check", type=int, default=LIBRARY_CHECK,
                        help="setups checked against simulate() (0: skip)")
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
    limits = {"oracle_max": args.oracle_max, "vbt_max": args.vbt_max, "vbt_windowed_max": args.vbt_windowed_max,
              "library_check": args.library_check}
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
              f"numpy {info['numpy']}")
        print(table_text(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
