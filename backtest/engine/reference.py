"""Plain-Python reference implementation of the simulation rules: the tests' oracle.

Same inputs (:class:`~backtest.engine.arrays.KernelArrays`) and outputs
(:class:`~backtest.engine.arrays.KernelResult`) as :func:`backtest.engine.kernel.run_kernel`, but written
the slow, literal way: real prices, an explicit long/short vocabulary ("adverse", "favourable"), one
small function per rule of ``docs/semantics.md``. It is never used by the product.
"""

from __future__ import annotations

import math

from .arrays import (CANCELLED, CLOSE, EXIT_END, EXIT_STOP, EXIT_TIME, EXPIRED, FILLED, MARKET, NO_DATA, OPEN,
                     SCALE_FIRST, STOP, TARGET0, TARGET_FIRST, TRIGGERED, WORKING, KernelArrays, KernelResult,
                     cost_fraction)


class _Bar:
    """One daily bar seen from a position's side: ``reaches_adverse(level)`` etc."""

    def __init__(self, o, h, l, c, long: bool):
        self.open, self.high, self.low, self.close, self.long = o, h, l, c, long

    # "beyond" = further in the favourable direction (higher for a long, lower for a short)
    def beyond(self, a: float, b: float) -> bool:
        """a is at or beyond b in the favourable direction."""
        return a >= b if self.long else a <= b

    @property
    def favourable_extreme(self) -> float:
        return self.high if self.long else self.low

    @property
    def adverse_extreme(self) -> float:
        return self.low if self.long else self.high

    def opens_at_or_beyond(self, level: float) -> bool:
        return self.beyond(self.open, level)

    def opens_at_or_behind(self, level: float) -> bool:
        return self.beyond(level, self.open)

    def reaches_favourable(self, level: float) -> bool:
        return self.beyond(self.favourable_extreme, level)

    def reaches_adverse(self, level: float) -> bool:
        return self.beyond(level, self.adverse_extreme)

    def closes_behind(self, level: float) -> bool:
        return self.beyond(level, self.close)

    def closes_at_or_beyond(self, level: float) -> bool:
        return self.beyond(self.close, level)


def _close_confirmed_entry(bars, first, last, end, level, invalidation):
    """A ``close`` order: (bar, price, "open") of its fill, or (None, status, None).

    Session by session within the window: the invalidation touched (at the open or inside the bar)
    cancels, even on the bar that would trigger; else a close at or beyond the level triggers, and the
    order fills at the next session's open (which may lie after the window) unless that open is already
    at or behind the invalidation. No next session in the data: triggered, not yet filled.
    """
    has_inv = not math.isnan(invalidation)
    for b in range(first, last):
        bar = bars(b)
        if has_inv and (bar.opens_at_or_behind(invalidation) or bar.reaches_adverse(invalidation)):
            return None, CANCELLED, None
        if bar.closes_at_or_beyond(level):
            if b + 1 >= end:
                return None, TRIGGERED, None
            fill_bar = bars(b + 1)
            if has_inv and fill_bar.opens_at_or_behind(invalidation):
                return None, CANCELLED, None
            return b + 1, fill_bar.open, "open"
    return None, EXPIRED, None


def _find_entry(bars, first, last, entry_type, level, invalidation):
    """(bar index, price, how) of the entry fill, or (None, status, None).

    ``how``: "open" (the whole bar follows the fill), "stop-inside", "limit-inside".
    """
    has_inv = not math.isnan(invalidation)
    for b in range(first, last):
        bar = bars(b)
        if has_inv and bar.opens_at_or_behind(invalidation):
            return None, CANCELLED, None
        if entry_type == MARKET:
            return b, bar.open, "open"
        if entry_type == STOP:
            # breakout: fills when price reaches the level in the trade's direction
            if bar.opens_at_or_beyond(level):
                return b, bar.open, "open"
            if bar.reaches_favourable(level):
                if has_inv and bar.reaches_adverse(invalidation):
                    return None, CANCELLED, None  # both touched, order unknown: no trade claimed
                return b, level, "stop-inside"
        else:
            # pullback: fills when price comes back to the level
            if bar.opens_at_or_behind(level):
                return b, bar.open, "open"
            if bar.reaches_adverse(level):
                if has_inv and bar.beyond(invalidation, level):
                    # the invalidation sits at or before the limit on the way back: touched first
                    return None, CANCELLED, None
                return b, level, "limit-inside"
        if has_inv and bar.reaches_adverse(invalidation):
            return None, CANCELLED, None
    return None, EXPIRED, None


def simulate_one(a: KernelArrays, i: int, cost: float) -> dict:
    """Outcome of setup ``i`` as a dict of KernelResult fields (scalars, tranche lists)."""
    out = {"status": NO_DATA, "entry_bar": -1, "entry_price": math.nan, "exit_bar": -1, "exit_price": math.nan,
           "exit_reason": 0, "return_pct": math.nan, "mae_pct": math.nan, "mfe_pct": math.nan,
           "sessions_held": 0, "ambiguous": False, "tranches": []}
    first, end = int(a.start[i]), int(a.end[i])
    if first < 0 or first >= end:
        return out
    long = a.direction[i] > 0
    sign = 1.0 if long else -1.0

    def bars(b):
        return _Bar(a.open[b], a.high[b], a.low[b], a.close[b], long)

    # NaN-padding is on the right: stop at the first NaN like the kernel does
    targets = []
    for t in a.targets[i]:
        if math.isnan(t):
            break
        targets.append(float(t))
    if a.scale_out[i] == SCALE_FIRST:
        targets = targets[:1]
    stop = float(a.stop[i])
    has_stop = not math.isnan(stop)
    target_first = a.ambiguity[i] == TARGET_FIRST
    entry_type = int(a.entry_type[i])

    window_end = first + 1 if entry_type == MARKET else first + int(a.entry_window[i])
    if entry_type == CLOSE:
        fill, price, how = _close_confirmed_entry(bars, first, min(window_end, end), end, float(a.entry_level[i]),
                                                  float(a.invalidation[i]))
    else:
        fill, price, how = _find_entry(bars, first, min(window_end, end), entry_type, float(a.entry_level[i]),
                                       float(a.invalidation[i]))
    if fill is None:
        status = price
        if status == EXPIRED and first + int(a.entry_window[i]) > end:
            status = WORKING
        out["status"] = status
        return out

    tranches = []  # (bar, price, fraction, reason)
    n_targets = len(targets)
    hit = 0  # targets already filled

    def remainder():
        return (n_targets - hit) / n_targets if n_targets else 1.0

    def take_targets(b, reach, at_open):
        nonlocal hit
        while hit < n_targets and bar.beyond(reach, targets[hit]):
            tranches.append((b, bar.open if at_open else targets[hit], 1.0 / n_targets, TARGET0 + hit))
            hit += 1

    ambiguous = False
    worst, best = None, None  # most adverse / most favourable price over the bars held
    last_hold = fill + int(a.max_hold[i]) - 1
    done = False
    for b in range(fill, end):
        bar = bars(b)
        worst = bar.adverse_extreme if worst is None or bar.beyond(worst, bar.adverse_extreme) else worst
        best = bar.favourable_extreme if best is None or bar.beyond(bar.favourable_extreme, best) else best
        mode = how if b == fill else "open"
        stop_now = target_now = False
        reach = bar.favourable_extreme
        if mode == "open":
            if has_stop and bar.opens_at_or_behind(stop):
                tranches.append((b, bar.open, remainder(), EXIT_STOP))
                done = True
            else:
                take_targets(b, bar.open, at_open=True)
                if n_targets and hit == n_targets:
                    done = True
                else:
                    stop_now = has_stop and bar.reaches_adverse(stop)
                    target_now = hit < n_targets and bar.reaches_favourable(targets[hit])
                    ambiguous = ambiguous or (stop_now and target_now)
        elif mode == "stop-inside":
            touched = has_stop and bar.reaches_adverse(stop)
            ambiguous = ambiguous or touched
            stop_now = (has_stop and bar.closes_behind(stop)) if target_first else touched
            target_now = hit < n_targets and bar.reaches_favourable(targets[hit])
        else:  # limit-inside
            stop_now = has_stop and bar.reaches_adverse(stop)
            ambiguous = ambiguous or (hit < n_targets and bar.reaches_favourable(targets[hit]))
            if not target_first:
                reach = bar.close
            target_now = hit < n_targets and bar.beyond(reach, targets[hit])
        if not done and target_now and (target_first or not stop_now):
            take_targets(b, reach, at_open=False)
            done = n_targets > 0 and hit == n_targets
        if not done and stop_now:
            tranches.append((b, stop, remainder(), EXIT_STOP))
            done = True
        if not done and b == last_hold:
            tranches.append((b, bar.close, remainder(), EXIT_TIME))
            done = True
        if done:
            break
    if done:
        out["status"] = FILLED
    else:
        tranches.append((end - 1, float(a.close[end - 1]), remainder(), EXIT_END))
        out["status"] = OPEN

    entry_cost = price * (1.0 + sign * cost)
    wsum = psum = rsum = 0.0
    for _, p, f, _ in tranches:
        wsum += f
        psum += f * p
        rsum += f * (sign * ((p * (1.0 - sign * cost)) / entry_cost - 1.0))
    last_bar = tranches[-1][0]
    out.update(
        entry_bar=fill, entry_price=price, exit_bar=last_bar, exit_price=psum / wsum,
        exit_reason=tranches[-1][3], return_pct=100.0 * rsum,
        mae_pct=sign * (worst / price - 1.0) * 100.0,
        mfe_pct=sign * (best / price - 1.0) * 100.0,
        sessions_held=last_bar - fill + 1, ambiguous=ambiguous, tranches=tranches,
    )
    return out


def run_reference(arrays: KernelArrays, config=None, *, cost: float | None = None) -> KernelResult:
    """Same contract as :func:`backtest.engine.kernel.run_kernel`, one setup at a time in Python."""
    if cost is None:
        cost = cost_fraction(config.commission_bps, config.slippage_bps) if config is not None else 0.0
    n = len(arrays)
    res = KernelResult.empty(n, arrays.targets.shape[1])
    for i in range(n):
        one = simulate_one(arrays, i, cost)
        for name in ("status", "entry_bar", "entry_price", "exit_bar", "exit_price", "exit_reason", "return_pct",
                     "mae_pct", "mfe_pct", "sessions_held", "ambiguous"):
            getattr(res, name)[i] = one[name]
        res.n_tranches[i] = len(one["tranches"])
        for k, (b, p, f, r) in enumerate(one["tranches"]):
            res.tranche_bar[i, k] = b
            res.tranche_price[i, k] = p
            res.tranche_fraction[i, k] = f
            res.tranche_reason[i, k] = r
    return res
