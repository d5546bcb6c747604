"""True per-trade bounds over the same-bar ambiguity policies: ``return_pct_worst <= return_pct <= return_pct_best``.

The engine runs every setup under both policies of ``docs/semantics.md`` section 5 (``stop-first`` and
``target-first``). Their results were published as "the pessimistic and optimistic bounds", but
target-first is **not** always the better outcome, because the policy also decides what happens *after*
the ambiguous bar:

1. *A stop entry that skips its entry-bar stop and gaps lower next morning.* A long stop entry fills
   inside the bar (the open was below the trigger); the bar's low also touched the stop, perhaps before
   the fill. ``stop-first`` takes the stop on the entry bar, at the stop level. ``target-first`` checks
   the stop on the entry bar only when the bar closes beyond it; if it closes above, the trade stays
   open, and when the next session opens below the stop it is covered at that open: worse than the stop.
2. *A limit entry that takes its target before a gap up.* A long limit entry fills inside the bar (the
   open was above the limit) and the bar's high reached the target, perhaps before the fill.
   ``target-first`` takes the target on the entry bar; ``stop-first`` does not (unless the bar closes at
   the target) and, when the next session gaps above the target, fills it at that better open.

So the bounds are taken per trade as the minimum and maximum over the policies' results and the result
under the policy in use (:func:`true_bounds`). They bound what the documented rules can produce from
these bars; they are not a search over every intrabar path the bar could hide. Both cases are tests in
``tests/test_research_bounds.py`` (on constructed bars, through :func:`backtest.engine.kernel.run_kernel`).

They are simulation outputs: :func:`backtest.engine.simulation.simulate` writes them into the ledger's
``return_pct_worst`` / ``return_pct_best`` (a pair has no levels, so its three results are one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Ledger columns :func:`with_true_bounds` reads.
BOUND_INPUT_COLUMNS = ("return_pct", "return_pct_stop_first", "return_pct_target_first")
#: Columns it adds.
BOUND_COLUMNS = ("return_pct_worst", "return_pct_best")


def true_bounds(return_pct, stop_first, target_first) -> tuple[np.ndarray, np.ndarray]:
    """(worst, best) per trade: min and max of the three results; NaN where ``return_pct`` is NaN.

    ``return_pct`` is the result under the policy in use, so ``worst <= return_pct <= best`` holds by
    construction. A policy's result that is NaN (no trade under that policy) is left out of the extremes.
    """
    used = np.asarray(return_pct, dtype=np.float64)
    stacked = np.vstack([used, np.asarray(stop_first, dtype=np.float64), np.asarray(target_first, dtype=np.float64)])
    traded = ~np.isnan(used)
    filled = np.where(np.isnan(stacked), used, stacked)  # a missing policy result falls back to the one in use
    worst = np.where(traded, filled.min(axis=0), np.nan)
    best = np.where(traded, filled.max(axis=0), np.nan)
    return worst, best


def bounds_from_kernel(in_use, stop_first, target_first) -> tuple[np.ndarray, np.ndarray]:
    """:func:`true_bounds` of three :class:`~backtest.engine.arrays.KernelResult` (same setups, same order).

    ``in_use`` ran with each setup's own policy; the other two with ``stop-first`` / ``target-first`` forced
    (``KernelArrays.with_ambiguity``).
    """
    return true_bounds(in_use.return_pct, stop_first.return_pct, target_first.return_pct)


def with_true_bounds(trades: pd.DataFrame) -> pd.DataFrame:
    """A copy of a trades table with ``return_pct_worst`` and ``return_pct_best`` added (at the end)."""
    missing = [c for c in BOUND_INPUT_COLUMNS if c not in trades.columns]
    if missing:
        raise ValueError(f"trades: missing column(s) {', '.join(missing)} (needed for the ambiguity bounds)")
    worst, best = true_bounds(*(pd.to_numeric(trades[c], errors="coerce") for c in BOUND_INPUT_COLUMNS))
    return trades.assign(return_pct_worst=worst, return_pct_best=best)


__all__ = ["BOUND_COLUMNS", "BOUND_INPUT_COLUMNS", "true_bounds", "bounds_from_kernel", "with_true_bounds"]
