"""The flat array layout shared by the numba kernel and the plain-Python reference.

Every symbol's bars are concatenated into one contiguous ``open/high/low/close`` set; a setup points into
it with ``start`` (global index of its first eligible bar, i.e. the first session opening strictly after
publication) and ``end`` (one past the last bar it may read: its symbol's last bar, or the ``--as-of`` cut).
Everything else is one value per setup, already in the bars' price basis:

==============  =======  ===============================================================================
field           dtype    meaning
==============  =======  ===============================================================================
direction       int8     +1 long, -1 short
entry_type      int8     ``MARKET``, ``STOP``, ``LIMIT`` or ``CLOSE`` (close-confirmed)
entry_level     float64  trigger level (NaN for market)
stop            float64  protective stop (NaN: none)
targets         float64  (n, K) matrix, targets in the order they are reached, NaN-padded on the right
invalidation    float64  level that cancels a working entry order when touched (NaN: none)
entry_window    int64    sessions the entry order stays working (from ``start``)
max_hold        int64    sessions held, entry session included; time exit at the close of the last one
scale_out       int8     ``SCALE_EQUAL`` (equal parts per target) or ``SCALE_FIRST`` (all at the first)
ambiguity       int8     ``STOP_FIRST`` or ``TARGET_FIRST``
==============  =======  ===============================================================================

The outputs (:class:`KernelResult`) are bar indices into the same flat arrays and prices in the same basis.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# entry types (``CLOSE``: triggers on a session's close at/beyond the level, fills at the next open)
MARKET, STOP, LIMIT, CLOSE = 0, 1, 2, 3
ENTRY_TYPES = {"market": MARKET, "stop": STOP, "limit": LIMIT, "close": CLOSE}
ENTRY_TYPE_NAMES = tuple(ENTRY_TYPES)
# scale-out and ambiguity policies
SCALE_EQUAL, SCALE_FIRST = 0, 1
SCALE_OUTS = {"equal": SCALE_EQUAL, "first": SCALE_FIRST}
STOP_FIRST, TARGET_FIRST = 0, 1
AMBIGUITIES = {"stop-first": STOP_FIRST, "target-first": TARGET_FIRST}

# kernel statuses -> ledger status: ``WORKING`` (entry order still working when the data ended) and
# ``TRIGGERED`` (a close-confirmed order triggered on the last bar: its fill, the next open, is not in the
# data yet) are both ledger status "open" without an entry
FILLED, OPEN, EXPIRED, CANCELLED, NO_DATA, WORKING, TRIGGERED = 0, 1, 2, 3, 4, 5, 6
STATUS_NAMES = {FILLED: "filled", OPEN: "open", EXPIRED: "expired", CANCELLED: "cancelled",
                NO_DATA: "no-data", WORKING: "open", TRIGGERED: "open"}

# exit reasons; target k (0-based) is ``TARGET0 + k``
NO_EXIT, EXIT_STOP, EXIT_TIME, EXIT_END, TARGET0 = 0, 1, 2, 3, 10


def reason_name(code: int) -> str | None:
    """``stop``, ``time``, ``end-of-data``, ``target1``, ``target2``... (None for no exit)."""
    if code >= TARGET0:
        return f"target{code - TARGET0 + 1}"
    return {EXIT_STOP: "stop", EXIT_TIME: "time", EXIT_END: "end-of-data"}.get(int(code))


@dataclasses.dataclass
class KernelArrays:
    """Inputs of :func:`backtest.engine.kernel.run_kernel` (see the module docstring for each field)."""

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    start: np.ndarray
    end: np.ndarray
    direction: np.ndarray
    entry_type: np.ndarray
    entry_level: np.ndarray
    stop: np.ndarray
    targets: np.ndarray
    invalidation: np.ndarray
    entry_window: np.ndarray
    max_hold: np.ndarray
    scale_out: np.ndarray
    ambiguity: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def build(cls, open, high, low, close, start, end, direction, entry_type, *, entry_window, max_hold,
              entry_level=None, stop=None, targets=None, invalidation=None, scale_out=SCALE_EQUAL,
              ambiguity=STOP_FIRST) -> "KernelArrays":
        """Coerce and broadcast inputs to the kernel's dtypes (scalars fill the whole column).

        ``entry_window`` and ``max_hold`` have no default here: the run's defaults are declared once, in
        :class:`backtest.engine.ledger.SimConfig`, and the caller passes them (a scalar or one per setup).
        """
        start = np.ascontiguousarray(start, dtype=np.int64)
        n = len(start)

        def col(value, dtype, fill):
            if value is None:
                value = fill
            arr = np.asarray(value, dtype=dtype)
            if arr.ndim == 0:
                arr = np.full(n, arr, dtype=dtype)
            return np.ascontiguousarray(arr)

        if targets is None:
            targets = np.full((n, 0), np.nan)
        targets = np.asarray(targets, dtype=np.float64)
        # (n, K); with no setups there is nothing to infer K from, so keep a given width or use 0
        width = targets.shape[-1] if targets.ndim == 2 else 0
        targets = np.ascontiguousarray(targets.reshape(n, -1) if n else targets.reshape(0, width))
        return cls(
            open=np.ascontiguousarray(open, dtype=np.float64),
            high=np.ascontiguousarray(high, dtype=np.float64),
            low=np.ascontiguousarray(low, dtype=np.float64),
            close=np.ascontiguousarray(close, dtype=np.float64),
            start=start,
            end=col(end, np.int64, 0),
            direction=col(direction, np.int8, 1),
            entry_type=col(entry_type, np.int8, MARKET),
            entry_level=col(entry_level, np.float64, np.nan),
            stop=col(stop, np.float64, np.nan),
            targets=targets,
            invalidation=col(invalidation, np.float64, np.nan),
            entry_window=col(entry_window, np.int64, 0),
            max_hold=col(max_hold, np.int64, 0),
            scale_out=col(scale_out, np.int8, SCALE_EQUAL),
            ambiguity=col(ambiguity, np.int8, STOP_FIRST),
        )

    def with_ambiguity(self, policy: int) -> "KernelArrays":
        """The same setups with every ambiguity policy forced to ``policy`` (for the two bounds)."""
        return dataclasses.replace(self, ambiguity=np.full(len(self), policy, dtype=np.int8))


@dataclasses.dataclass
class KernelResult:
    """Per-setup outcome. Bar indices are global (into the flat arrays), -1 when there is none.

    ``exit_price`` is the fraction-weighted average of the tranche prices, ``exit_reason``/``exit_bar``
    those of the last tranche. ``return_pct`` is direction-signed and net of costs; ``mae_pct`` (<= 0) and
    ``mfe_pct`` (>= 0) are gross excursions over the bars held. ``tranche_*`` are (n, K+1) matrices: the
    target fills in order, then the stop/time/end-of-data fill of the remainder.
    """

    status: np.ndarray
    entry_bar: np.ndarray
    entry_price: np.ndarray
    exit_bar: np.ndarray
    exit_price: np.ndarray
    exit_reason: np.ndarray
    return_pct: np.ndarray
    mae_pct: np.ndarray
    mfe_pct: np.ndarray
    sessions_held: np.ndarray
    ambiguous: np.ndarray
    n_tranches: np.ndarray
    tranche_bar: np.ndarray
    tranche_price: np.ndarray
    tranche_fraction: np.ndarray
    tranche_reason: np.ndarray

    @classmethod
    def empty(cls, n: int, k: int) -> "KernelResult":
        """Output buffers initialised to "nothing happened" (status NO_DATA, NaN prices, -1 bars)."""
        return cls(
            status=np.full(n, NO_DATA, dtype=np.int8),
            entry_bar=np.full(n, -1, dtype=np.int64),
            entry_price=np.full(n, np.nan),
            exit_bar=np.full(n, -1, dtype=np.int64),
            exit_price=np.full(n, np.nan),
            exit_reason=np.zeros(n, dtype=np.int8),
            return_pct=np.full(n, np.nan),
            mae_pct=np.full(n, np.nan),
            mfe_pct=np.full(n, np.nan),
            sessions_held=np.zeros(n, dtype=np.int64),
            ambiguous=np.zeros(n, dtype=np.bool_),
            n_tranches=np.zeros(n, dtype=np.int8),
            tranche_bar=np.full((n, k + 1), -1, dtype=np.int64),
            tranche_price=np.full((n, k + 1), np.nan),
            tranche_fraction=np.full((n, k + 1), np.nan),
            tranche_reason=np.zeros((n, k + 1), dtype=np.int8),
        )

    def fields(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def cost_fraction(commission_bps: float, slippage_bps: float) -> float:
    """Per-side cost as a fraction of price (10 bps -> 0.001)."""
    return (float(commission_bps) + float(slippage_bps)) / 10_000.0
