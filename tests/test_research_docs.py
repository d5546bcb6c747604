"""docs/reports.md → "Research figures" → worked examples: every printed number recomputed from the fixtures.

Each ```research-example NAME``` block lists ``key = value`` lines; a value must equal the figure computed
here to the precision it is printed with. The hand-derivable figures are also checked against arithmetic.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest

import research_fixtures as fx
from backtest.engine.arrays import LIMIT, STOP, STOP_FIRST, TARGET_FIRST, KernelArrays
from backtest.engine.kernel import run_kernel
from backtest.engine.bounds import bounds_from_kernel
from backtest.reports.event_study import event_study
from backtest.reports.portfolio import follow_every_call
from backtest.reports.scorecard import scorecard

DOC = Path(__file__).resolve().parents[1] / "docs" / "reports.md"
BLOCK = re.compile(r"```research-example (\w+)\n(.*?)```", re.S)


def documented() -> dict[str, dict[str, str]]:
    blocks = {}
    for name, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        pairs = [line.split("=", 1) for line in body.strip().splitlines()]
        blocks[name] = {k.strip(): v.strip() for k, v in pairs}
    return blocks


def _calls_figures():
    card = scorecard(fx.example_calls(), None, None, horizons=(5,))
    rows = card.calls.set_index("stance")
    out = {f"{stance}.{column}": rows.loc[stance, column] for stance in ("bullish", "bearish") for column in rows.columns}
    diff = card.differences.iloc[0]
    out.update({f"difference.{column}": diff[column] for column in card.differences.columns})
    return out


def _pulse_figures():
    articles, calls = fx.example_pulse()
    card = scorecard(calls, None, articles, horizons=(20,))
    rows = card.pulse.set_index("group")
    return {f"{group}.{column}": rows.loc[group, column] for group in rows.index for column in rows.columns}


def _event_figures():
    table = event_study(fx.example_event_calls(), fx.example_event_bars(), sessions=2)
    return {f"{row.stance}.{row.session}": row.mean_excess_pct for row in table.itertuples()}


def _book_figures():
    result = follow_every_call(*fx.example_book())
    out = {}
    for name, book in [("all", result.total), *result.per_stance.items()]:
        for field in ("capital", "peak_live_calls", "pnl", "return_on_capital_pct", "sum_of_trade_returns_pct",
                      "max_drawdown_pct", "sharpe"):
            out[f"{name}.{field}"] = getattr(book, field)
    return out


def _bound_figures():
    def bounds(bars, **setup):
        o, h, l, c = (np.array(x, dtype=float) for x in zip(*bars))
        arrays = KernelArrays.build(o, h, l, c, start=[0], end=[len(bars)], direction=1, entry_window=20, max_hold=10, **setup)
        sf, tf = run_kernel(arrays.with_ambiguity(STOP_FIRST)), run_kernel(arrays.with_ambiguity(TARGET_FIRST))
        worst, best = bounds_from_kernel(sf, sf, tf)
        return worst[0], best[0]

    stop = bounds([(100.0, 103.0, 95.0, 101.0), (92.0, 93.0, 90.0, 91.0)], entry_type=STOP, entry_level=103.0,
                  stop=97.0, targets=[[110.0]])
    limit = bounds([(105.0, 112.0, 99.0, 104.0), (120.0, 122.0, 118.0, 121.0)], entry_type=LIMIT, entry_level=100.0,
                   stop=95.0, targets=[[110.0]])
    return {"stop_entry.worst": stop[0], "stop_entry.best": stop[1], "limit_entry.worst": limit[0],
            "limit_entry.best": limit[1]}


FIGURES = {"calls": _calls_figures, "pulse": _pulse_figures, "event": _event_figures, "book": _book_figures,
           "bounds": _bound_figures}


def test_every_example_block_is_checked():
    assert set(documented()) == set(FIGURES)


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_documented_numbers_are_what_the_code_computes(name):
    computed = FIGURES[name]()
    for key, text in documented()[name].items():
        assert key in computed, f"{name}: {key} is documented but not computed"
        decimals = len(text.split(".")[1]) if "." in text else 0
        assert float(computed[key]) == pytest.approx(float(text), abs=0.5 * 10 ** -decimals + 1e-12), (name, key)


def test_hand_derivations_in_the_examples():
    calls = _calls_figures()
    assert calls["bullish.mean_excess_pct"] == pytest.approx(5.5 / 4)
    assert calls["bearish.mean_excess_pct"] == pytest.approx(-2.5 / 3)
    # Wilson for 3 of 4, by the closed form
    z, p, n = 1.959963984540054, 0.75, 4
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    assert (calls["bullish.hit_low"], calls["bullish.hit_high"]) == (pytest.approx(centre - half), pytest.approx(centre + half))
    # the permutation p by enumeration: 2 of the 35 splits reach the observed difference, two-sided doubles it
    bull, bear = [1.0, 2.0, -0.5, 3.0], [-1.0, 0.5, -2.0]
    pooled, observed = bull + bear, np.mean(bull) - np.mean(bear)
    splits = [np.mean([pooled[i] for i in c]) - np.mean([pooled[i] for i in range(7) if i not in c])
              for c in itertools.combinations(range(7), 4)]
    assert len(splits) == 35 and sum(s >= observed - 1e-12 for s in splits) == 2
    assert calls["difference.p_value"] == pytest.approx(2 * 2 / 35)
    # 16 sessions of calls hold fewer than MIN_BLOCKS blocks of 5: no bootstrap interval, never a collapsed one
    for key in ("bullish.excess_low_pct", "bullish.excess_high_pct", "difference.low_pct", "difference.high_pct"):
        assert np.isnan(float(calls[key])), key
    pulse = _pulse_figures()
    assert pulse["directional.rho"] == pytest.approx(1 - 6 * 2 / (5 * 24))
    assert pulse["directional.spread_pct"] == pytest.approx(2.0 - (-1.0))
    event = _event_figures()
    assert event["bullish.1"] == pytest.approx((101 / 100 - 1 - (502 / 500 - 1)) * 100)
    assert event["bullish.2"] == pytest.approx((99 / 100 - 1 - (501 / 500 - 1)) * 100)
    book = _book_figures()
    assert book["all.return_on_capital_pct"] == pytest.approx(6 / 200 * 100)
    assert book["all.max_drawdown_pct"] == pytest.approx((206 / (200 + 10 + 6 * 100 / 104) - 1) * 100)
    bounds = _bound_figures()
    assert bounds["stop_entry.worst"] == pytest.approx((92 / 103 - 1) * 100)
    assert bounds["stop_entry.best"] == pytest.approx((97 / 103 - 1) * 100)
