"""``backtest sweep``: the same setups under a grid of simulation rules, one row of headline figures per cell.

Above the stages, like :mod:`backtest.run`: :mod:`.grid` (axes over ``SimConfig``), :mod:`.cells` (one
cell's figures from the engine and the scorecard), :mod:`.executor` (in-process or Dask),
:mod:`.multiple` (the correction for having looked at every cell), :mod:`.heatmap` (the HTML page) and
:mod:`.api` (:func:`~backtest.sweep.api.sweep`, the library call the command line makes).
``docs/sweep.md`` explains the command and every figure.
"""
