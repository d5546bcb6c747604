"""The vectorized simulation kernel: one numba loop over setups, early exit, no Python per setup.

The rules are those of ``docs/semantics.md``; :mod:`backtest.engine.reference` states them again in plain
Python and the tests check both agree exactly.

Trick that keeps the loop small: a short is a long on negated prices. With ``sg = -1`` the bar becomes
``open' = -open, high' = -low, low' = -high, close' = -close`` and every level ``L' = -L``, so "the low
reaches the stop" is ``low' <= S'`` for both directions. Negation is exact in floating point, so the
prices reported back (``sg * price'``) are the bars' own numbers.

One loop, two ways to run it. :func:`_kernel` is plain Python source; numba compiles it (``njit``, cached
on disk) the first time a batch is big enough to need it. A small batch (at most :data:`INTERPRETED_MAX_STEPS`
bar-steps, e.g. the five seed articles) runs the same function interpreted, on the same numpy arrays, so a
small run never imports numba (its import and cache load cost about 0.7 s, more than the whole simulation).
Both ways give the same numbers bit for bit (``tests/test_engine_property.py`` checks it): the loop uses only
float64 arithmetic that numba compiles to the same IEEE operations (no fastmath), and numpy scalars divide
as ``error_model="numpy"`` does (inf/NaN, never an exception).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..environment import default_threads
from .arrays import (CANCELLED, CLOSE, EXIT_END, EXIT_STOP, EXIT_TIME, EXPIRED, FILLED, LIMIT, MARKET, NO_DATA, OPEN,
                     SCALE_FIRST, STOP, TARGET0, TARGET_FIRST, TRIGGERED, WORKING, KernelArrays, KernelResult,
                     cost_fraction)

# entry-bar modes: how much of the fill bar is known to come after the fill
_WHOLE_BAR, _INSIDE_STOP_ENTRY, _INSIDE_LIMIT_ENTRY = 0, 1, 2


def _kernel(o, h, l, c, start, end, direction, entry_type, entry_level, stop, targets, invalidation, window,
            hold, scale_out, ambiguity, cost,
            status, entry_bar, entry_price, exit_bar, exit_price, exit_reason, ret, mae, mfe, held, ambiguous,
            n_tr, tr_bar, tr_price, tr_frac, tr_reason):
    n = start.shape[0]
    kmax = targets.shape[1]
    for i in range(n):
        s = start[i]
        stop_at = end[i]
        if s >= stop_at or s < 0:
            status[i] = NO_DATA
            continue
        sg = 1.0 if direction[i] > 0 else -1.0
        et = entry_type[i]
        lvl = sg * entry_level[i]
        sl = sg * stop[i]
        inv = sg * invalidation[i]
        has_stop = not np.isnan(sl)
        has_inv = not np.isnan(inv)
        # sentinels: "no stop" / "no invalidation" is a level no price reaches (saves a test per bar)
        sl_chk = sl if has_stop else -np.inf
        inv_chk = inv if has_inv else -np.inf
        nt = 0
        for k in range(kmax):
            if np.isnan(targets[i, k]):
                break
            nt += 1
        if scale_out[i] == SCALE_FIRST and nt > 1:
            nt = 1
        target_first = ambiguity[i] == TARGET_FIRST

        # ---- entry: first eligible bar, up to the window ----
        last = s + window[i]
        if et == MARKET:
            last = s + 1
        if last > stop_at:
            last = stop_at
        fill = -1
        mode = _WHOLE_BAR
        ep = np.nan
        st = EXPIRED
        for b in range(s, last):
            if sg > 0:
                bo = o[b]
                bh = h[b]
                bl = l[b]
                bc = c[b]
            else:
                bo = -o[b]
                bh = -l[b]
                bl = -h[b]
                bc = -c[b]
            if bo <= inv_chk:
                st = CANCELLED
                break
            if et == MARKET:
                fill = b
                ep = bo
                break
            if et == CLOSE:
                # close-confirmed: an invalidation touched on the trigger bar (or before) cancels; a close at
                # or beyond the level triggers, and the order fills at the next session's open
                if bl <= inv_chk:
                    st = CANCELLED
                    break
                if bc >= lvl:
                    nxt = b + 1
                    if nxt >= stop_at:
                        st = TRIGGERED
                        break
                    fo = o[nxt] if sg > 0 else -o[nxt]
                    if fo <= inv_chk:
                        st = CANCELLED
                        break
                    fill = nxt
                    ep = fo
                    break
                continue
            if et == STOP:
                if bo >= lvl:
                    fill = b
                    ep = bo
                    break
                if bh >= lvl:
                    if bl <= inv_chk:
                        st = CANCELLED
                        break
                    fill = b
                    ep = lvl
                    mode = _INSIDE_STOP_ENTRY
                    break
            else:  # LIMIT
                if bo <= lvl:
                    fill = b
                    ep = bo
                    break
                if bl <= lvl:
                    if inv_chk >= lvl:
                        st = CANCELLED
                        break
                    fill = b
                    ep = lvl
                    mode = _INSIDE_LIMIT_ENTRY
                    break
            if bl <= inv_chk:
                st = CANCELLED
                break
        if fill < 0:
            if st == EXPIRED and s + window[i] > stop_at:
                st = WORKING
            status[i] = st
            continue

        # ---- position: stop, targets, time exit, end of data ----
        entry_bar[i] = fill
        entry_price[i] = sg * ep
        e_real = sg * ep
        buy_cost = e_real * (1.0 + sg * cost)
        j = 0
        ntr = 0
        amb = False
        closed = False
        min_low = np.inf
        max_high = -np.inf
        last_hold = fill + hold[i] - 1
        next_t = sg * targets[i, 0] if nt > 0 else np.inf  # the next target, oriented
        b = fill
        while b < stop_at:
            if sg > 0:
                bo = o[b]
                bh = h[b]
                bl = l[b]
                bc = c[b]
            else:
                bo = -o[b]
                bh = -l[b]
                bl = -h[b]
                bc = -c[b]
            if bl < min_low:
                min_low = bl
            if bh > max_high:
                max_high = bh
            md = mode if b == fill else _WHOLE_BAR
            if md == _WHOLE_BAR and bl > sl_chk and bh < next_t:
                # fast path: the bar touches neither the stop nor the next target (nor gaps to them)
                if b == last_hold:
                    tr_bar[i, ntr] = b
                    tr_price[i, ntr] = sg * bc
                    tr_frac[i, ntr] = (nt - j) / nt if nt > 0 else 1.0
                    tr_reason[i, ntr] = EXIT_TIME
                    ntr += 1
                    closed = True
                    break
                b += 1
                continue
            stop_hit = False
            tgt_hit = False
            hi = bh  # the favourable extreme that target checks may use on this bar
            if md == _WHOLE_BAR:
                if has_stop and bo <= sl:  # gap through the stop: out at the open, before anything else
                    tr_bar[i, ntr] = b
                    tr_price[i, ntr] = sg * bo
                    tr_frac[i, ntr] = (nt - j) / nt if nt > 0 else 1.0
                    tr_reason[i, ntr] = EXIT_STOP
                    ntr += 1
                    closed = True
                else:
                    while j < nt and bo >= sg * targets[i, j]:  # gap through targets: filled at the open
                        tr_bar[i, ntr] = b
                        tr_price[i, ntr] = sg * bo
                        tr_frac[i, ntr] = 1.0 / nt
                        tr_reason[i, ntr] = TARGET0 + j
                        ntr += 1
                        j += 1
                    if nt > 0 and j == nt:
                        closed = True
                    else:
                        stop_hit = has_stop and bl <= sl
                        tgt_hit = j < nt and bh >= sg * targets[i, j]
                        if stop_hit and tgt_hit:
                            amb = True
            elif md == _INSIDE_STOP_ENTRY:
                # the high came after the fill; the low may have come before it
                touched = has_stop and bl <= sl
                if touched:
                    amb = True
                if target_first:
                    stop_hit = has_stop and bc <= sl
                else:
                    stop_hit = touched
                tgt_hit = j < nt and bh >= sg * targets[i, j]
            else:
                # inside limit entry: the low came after the fill; the high may have come before it
                stop_hit = has_stop and bl <= sl
                if j < nt and bh >= sg * targets[i, j]:
                    amb = True
                if not target_first:
                    hi = bc
                tgt_hit = j < nt and hi >= sg * targets[i, j]
            if not closed and (stop_hit or tgt_hit):
                if tgt_hit and (target_first or not stop_hit):
                    while j < nt and hi >= sg * targets[i, j]:
                        tr_bar[i, ntr] = b
                        tr_price[i, ntr] = targets[i, j]
                        tr_frac[i, ntr] = 1.0 / nt
                        tr_reason[i, ntr] = TARGET0 + j
                        ntr += 1
                        j += 1
                    if j == nt:
                        closed = True
                if stop_hit and not closed:
                    tr_bar[i, ntr] = b
                    tr_price[i, ntr] = stop[i]
                    tr_frac[i, ntr] = (nt - j) / nt if nt > 0 else 1.0
                    tr_reason[i, ntr] = EXIT_STOP
                    ntr += 1
                    closed = True
            next_t = sg * targets[i, j] if j < nt else np.inf
            if not closed and b == last_hold:
                tr_bar[i, ntr] = b
                tr_price[i, ntr] = sg * bc
                tr_frac[i, ntr] = (nt - j) / nt if nt > 0 else 1.0
                tr_reason[i, ntr] = EXIT_TIME
                ntr += 1
                closed = True
            if closed:
                break
            b += 1
        if closed:
            status[i] = FILLED
        else:
            b = stop_at - 1
            tr_bar[i, ntr] = b
            tr_price[i, ntr] = c[b]
            tr_frac[i, ntr] = (nt - j) / nt if nt > 0 else 1.0
            tr_reason[i, ntr] = EXIT_END
            ntr += 1
            status[i] = OPEN

        # ---- summary of the tranches ----
        wsum = 0.0
        psum = 0.0
        rsum = 0.0
        for k in range(ntr):
            f = tr_frac[i, k]
            p = tr_price[i, k]
            wsum += f
            psum += f * p
            rsum += f * (sg * ((p * (1.0 - sg * cost)) / buy_cost - 1.0))
        n_tr[i] = ntr
        exit_bar[i] = tr_bar[i, ntr - 1]
        exit_reason[i] = tr_reason[i, ntr - 1]
        exit_price[i] = psum / wsum
        ret[i] = 100.0 * rsum
        mae[i] = sg * (min_low / ep - 1.0) * 100.0
        mfe[i] = sg * (max_high / ep - 1.0) * 100.0
        held[i] = exit_bar[i] - fill + 1
        ambiguous[i] = amb


#: Up to this many bar-steps (the sum over setups of the bars each may read, ``end - start``) a batch runs
#: interpreted: under 3 µs a step, so at most ~0.15 s, less than numba's import and cache load.
INTERPRETED_MAX_STEPS = 50_000

_compiled = None


def compiled_kernel():
    """:func:`_kernel` compiled by numba (once per process; the machine code is cached on disk).

    ``error_model="numpy"``: a zero price (hand-built bars) gives inf/NaN for that setup, never an exception
    that would stop the whole batch. ``nogil``: chunks run on several threads at once."""
    global _compiled
    if _compiled is None:
        from numba import njit

        _compiled = njit(cache=True, nogil=True, error_model="numpy")(_kernel)
    return _compiled


def bar_steps(arrays: KernelArrays) -> int:
    """An upper bound of the kernel's work on ``arrays``: the bars every setup may read."""
    return int(np.clip(arrays.end - arrays.start, 0, None).sum())


#: Below this many setups the kernel runs on the calling thread (threads cost more than they save).
PARALLEL_MIN = 20_000
#: Chunks per thread: setups differ in cost (an order that expires reads 20 bars, a stopped trade 2), so
#: more, smaller chunks than threads keep both cores busy to the end.
CHUNKS_PER_THREAD = 4


def run_kernel(arrays: KernelArrays, config=None, *, cost: float | None = None,
               threads: int | None = None, compiled: bool | None = None) -> KernelResult:
    """Simulate every setup in ``arrays``; ``config`` (a ``SimConfig``) supplies the per-side costs.

    This is the hot path the benchmark measures: array in, array out, one compiled loop. With more than
    :data:`PARALLEL_MIN` setups it runs on ``threads`` threads (default :func:`default_threads`): the
    setups are cut into contiguous chunks and each thread runs the same compiled loop (``nogil``) on its
    chunks, writing into its own slice of the output buffers. Every setup is simulated on its own, so
    the result is identical to one thread, whatever the number of threads or chunks (a test checks it).

    ``compiled``: run the numba-compiled loop (True) or the same loop interpreted (False); by default,
    interpreted up to :data:`INTERPRETED_MAX_STEPS` bar-steps (:func:`bar_steps`), compiled above.
    """
    if cost is None:
        cost = cost_fraction(config.commission_bps, config.slippage_bps) if config is not None else 0.0
    n = len(arrays)
    k = arrays.targets.shape[1]
    out = KernelResult.empty(n, k)
    if compiled is None:
        compiled = bar_steps(arrays) > INTERPRETED_MAX_STEPS
    if not compiled:
        with np.errstate(all="ignore"):  # inf/NaN as the compiled loop gives them, without warnings
            _run_chunk(_kernel, arrays, out, float(cost), 0, n)
        return out
    loop = compiled_kernel()
    threads = default_threads() if threads is None else max(1, int(threads))
    if threads == 1 or n < PARALLEL_MIN:
        _run_chunk(loop, arrays, out, float(cost), 0, n)
        return out
    size = -(-n // (threads * CHUNKS_PER_THREAD))
    bounds = [(lo, min(lo + size, n)) for lo in range(0, n, size)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done in [pool.submit(_run_chunk, loop, arrays, out, float(cost), lo, hi) for lo, hi in bounds]:
            done.result()  # re-raise a failure of any chunk
    return out


def _run_chunk(loop, a: KernelArrays, out: KernelResult, cost: float, lo: int, hi: int) -> None:
    """``loop`` (the compiled or the plain :func:`_kernel`) on setups ``lo:hi`` (views: the chunk writes
    straight into the shared output buffers)."""
    per = slice(lo, hi)
    loop(a.open, a.high, a.low, a.close, a.start[per], a.end[per], a.direction[per], a.entry_type[per],
            a.entry_level[per], a.stop[per], a.targets[per], a.invalidation[per], a.entry_window[per],
            a.max_hold[per], a.scale_out[per], a.ambiguity[per], cost,
            out.status[per], out.entry_bar[per], out.entry_price[per], out.exit_bar[per], out.exit_price[per],
            out.exit_reason[per], out.return_pct[per], out.mae_pct[per], out.mfe_pct[per], out.sessions_held[per],
            out.ambiguous[per], out.n_tranches[per], out.tranche_bar[per], out.tranche_price[per],
            out.tranche_fraction[per], out.tranche_reason[per])


__all__ = ["run_kernel", "compiled_kernel", "bar_steps", "default_threads", "INTERPRETED_MAX_STEPS", "MARKET", "STOP", "LIMIT", "CLOSE"]
