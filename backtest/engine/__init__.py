"""The simulation engine: setup rules + daily bars -> :class:`~backtest.engine.ledger.Ledger`.

``simulate(files, bars, config)`` is the entry point (see :mod:`backtest.engine.simulation`); the rules are
in ``docs/semantics.md``. Attributes are resolved lazily so importing this package stays cheap (numba is
only imported when a simulation actually runs).
"""

from __future__ import annotations

__all__ = ["simulate", "SimConfig", "Ledger", "Skip", "run_kernel", "KernelArrays", "KernelResult"]


def __getattr__(name: str):
    if name == "simulate":
        from .simulation import simulate

        return simulate
    if name in ("SimConfig", "Ledger", "Skip"):
        from . import ledger

        return getattr(ledger, name)
    if name == "run_kernel":
        from .kernel import run_kernel

        return run_kernel
    if name in ("KernelArrays", "KernelResult"):
        from . import arrays

        return getattr(arrays, name)
    raise AttributeError(f"module 'backtest.engine' has no attribute {name!r}")
