"""The simulation engine: the setup table + daily bars -> :class:`~backtest.engine.ledger.Ledger`.

``simulate(setups, bars, config)`` is the entry point (:mod:`backtest.engine.simulation`); in pipeline
order its modules are :mod:`.market` (the bars, cut at ``--as-of``), :mod:`.screening` (what can be
simulated, and why not), :mod:`.kernel` (the numba loop; :mod:`.arrays` is its layout), :mod:`.pairs`,
:mod:`.calls` and :mod:`.ledger` (the output schemas). :mod:`.config` holds :class:`SimConfig`;
:mod:`.reference` is the tests' oracle, never used by the product. The rules are in ``docs/semantics.md``.
Attributes are resolved lazily so importing this package stays cheap (numba is only imported when a
simulation actually runs).
"""

from __future__ import annotations

__all__ = ["simulate", "SimConfig", "Ledger", "Skip", "run_kernel", "KernelArrays", "KernelResult"]


def __getattr__(name: str):
    if name == "simulate":
        from .simulation import simulate

        return simulate
    if name == "SimConfig":
        from .config import SimConfig

        return SimConfig
    if name in ("Ledger", "Skip"):
        from . import ledger

        return getattr(ledger, name)
    if name == "run_kernel":
        from .kernel import run_kernel

        return run_kernel
    if name in ("KernelArrays", "KernelResult"):
        from . import arrays

        return getattr(arrays, name)
    raise AttributeError(f"module 'backtest.engine' has no attribute {name!r}")
