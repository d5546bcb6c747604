"""Market coherence: the one place the rule lives (``docs/semantics.md`` section 8).

A setup's levels are compared with the last close before publication. A level is

* ``far`` when it is more than ``coherence_max_pct`` % or ``coherence_max_atr`` ATR(14) from that close;
* ``wrong-side`` when the trade would enter at the market (a market order, or a stop/limit already on the
  far side of the price, which fills at the first open) and a target is not beyond the close, or the stop
  not behind it (a long whose targets are already below the market);
* ``ok`` otherwise.

The screening (:mod:`backtest.engine.screening`) calls these vectorized functions on whole columns, once
per kind of level; the reason texts are written from their verdicts.
"""

from __future__ import annotations

import numpy as np

from .arrays import CLOSE, STOP

OK, FAR, WRONG_SIDE = 0, 1, 2
VERDICT_NAMES = ("ok", "far", "wrong-side")
#: A level exactly at the limit (85 vs 100 at 15 %) is not "beyond" it, whatever the rounding.
EPS = 1e-9


def enters_at_market(sign, entry_type, entry, ref_close) -> np.ndarray:
    """Whether each trade would enter at the first open: no entry level, or a level already crossed.

    A long stop (breakout) at or below the close, or a long limit (pullback) above it, fills at once. A
    close-confirmed order is treated like a stop: at or below the close it triggers on the first session.
    """
    sign, entry, ref_close = (np.asarray(x, dtype=np.float64) for x in (sign, entry, ref_close))
    with np.errstate(invalid="ignore"):
        ahead = sign * (entry - ref_close) > 0  # the level is above the market for a long
    return np.where(np.isnan(entry), True, np.where(np.isin(entry_type, (STOP, CLOSE)), ~ahead, ahead))


def verdicts(role: str, level, sign, at_market, ref_close, atr, max_pct: float, max_atr: float) -> np.ndarray:
    """Verdict codes (``OK``/``FAR``/``WRONG_SIDE``) of one kind of level (``role``: entry, stop, target,
    invalidation) across many setups; a NaN level (none) is ``OK``."""
    level, sign, ref_close, atr = (np.asarray(x, dtype=np.float64) for x in (level, sign, ref_close, atr))
    at_market = np.asarray(at_market, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        side = sign * (level - ref_close)
        pct = np.abs((level / ref_close - 1.0) * 100.0)
        in_atr = np.abs((level - ref_close) / np.where(atr > 0, atr, np.nan))
        far = (pct > max_pct + EPS) | (~np.isnan(in_atr) & (in_atr > max_atr + EPS))
        if role == "target":
            wrong = at_market & (side <= 0)
        elif role == "stop":
            wrong = at_market & (side >= 0)
        else:
            wrong = np.zeros(np.broadcast(level, sign).shape, dtype=bool)
    out = np.where(wrong, WRONG_SIDE, np.where(far, FAR, OK))
    return np.where(np.isnan(level), OK, out)
