"""Honest multiple testing across a sweep's cells (``docs/sweep.md`` → *Multiple testing*).

A sweep of m cells computes m bullish-minus-bearish p-values; the smallest of them is small by chance
alone far more often than its face value says. Each cell's p-value gets Holm's step-down correction
(``statsmodels.stats.multitest.multipletests(method="holm")``, which controls the family-wise error
rate at any dependence between the cells, which share their trades), and the best cell is reported with
its raw, Holm and Bonferroni p-values and the number of cells tried.
"""

from __future__ import annotations

import numpy as np


def holm(p_values) -> np.ndarray:
    """Holm-adjusted p-values over the cells that have one (NaN stays NaN and is not counted in m)."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=np.float64)
    out = np.full(len(p), np.nan)
    have = ~np.isnan(p)
    if have.any():
        out[have] = multipletests(p[have], method="holm")[1]
    return out


def best_cell(cells, family: str) -> dict:
    """The cell with the smallest ``{family}_diff_p_value`` (ties: the larger |difference|, then the earlier
    cell), with its raw, Holm and Bonferroni p-values; the counts say how many cells were tried."""
    from statsmodels.stats.multitest import multipletests

    p = cells[f"{family}_diff_p_value"].to_numpy(dtype=np.float64, na_value=np.nan)
    diff = cells[f"{family}_diff_difference_pct"].to_numpy(dtype=np.float64, na_value=np.nan)
    have = ~np.isnan(p)
    out = {"cells_tried": int(len(cells)), "cells_with_p_value": int(have.sum()), "cell": None}
    if not have.any():
        return out
    order = np.lexsort((np.arange(len(p)), -np.abs(np.nan_to_num(diff)), np.where(have, p, np.inf)))
    i = int(order[0])
    holm_p = holm(p)
    bonferroni = multipletests(p[have], method="bonferroni")[1]
    out.update(cell=int(cells["cell"].iloc[i]), difference_pct=float(diff[i]), p_value=float(p[i]),
               p_holm=float(holm_p[i]), p_bonferroni=float(bonferroni[int(np.flatnonzero(np.flatnonzero(have) == i)[0])]))
    return out


__all__ = ["best_cell", "holm"]
