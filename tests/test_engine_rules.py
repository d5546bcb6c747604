"""Engine rules on hand-built bars (invented numbers, real XNYS session dates).

Every scenario is written for a long; :func:`run` can mirror it into the equivalent short by reflecting
every price around ``MIRROR / 2`` (``p -> MIRROR - p``; highs and lows swap). A short's outcome on the
mirrored bars must be the long's outcome mirrored: same statuses, dates and reasons, prices ``MIRROR - p``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from backtest.data.bars import Bars, BarSet
from backtest.data.calendar import session_dates, with_sessions
from backtest.engine import SimConfig, simulate
from backtest.setups.model import SetupFile

MIRROR = 200.0
#: A Sunday afternoon publication: the first eligible session is Monday 2026-03-02.
SUNDAY = "2026-03-01T17:30:00Z"
#: The reference bar (Friday 2026-02-27) that the coherence check compares the levels with.
LEAD_BAR = (100.0, 104.0, 96.0, 100.0)


def make_bars(symbol: str, ohlc: list[tuple[float, float, float, float]], first: dt.date = dt.date(2026, 2, 27)) -> Bars:
    """Bars on consecutive XNYS sessions from ``first`` (volume left empty)."""
    dates = session_dates(first, first + dt.timedelta(days=3 * len(ohlc) + 10))[: len(ohlc)]
    frame = pd.DataFrame(ohlc, columns=["open", "high", "low", "close"], index=pd.DatetimeIndex(dates, name="date").as_unit("ns"))
    frame["volume"] = float("nan")
    return Bars(symbol, with_sessions(frame), source="test", basis="as-traded")


def mirror_bar(bar):
    o, h, l, c = bar
    return (MIRROR - o, MIRROR - l, MIRROR - h, MIRROR - c)


def mirror_setup(setup: dict) -> dict:
    """The short version of a long setup dict (levels reflected)."""
    out = dict(setup, direction="short")
    if "entry" in setup and setup["entry"].get("level") is not None:
        out["entry"] = dict(setup["entry"], level=MIRROR - setup["entry"]["level"])
    for key in ("stop", "invalidation"):
        if setup.get(key) is not None:
            out[key] = MIRROR - setup[key]
    if setup.get("targets"):
        out["targets"] = [MIRROR - t for t in setup["targets"]]
    return out


def px(direction: str, price: float) -> float:
    """A long scenario's price as seen in the mirrored short scenario."""
    return price if direction == "long" else MIRROR - price


def run(direction: str, bars: list, setup: dict, published: str = SUNDAY, lead: bool = True, **config):
    """Simulate one setup on symbol TEST; returns (trade row, exits frame, ledger)."""
    ohlc = ([LEAD_BAR] if lead else []) + list(bars)
    setup = dict({"id": "t1", "symbol": "TEST"}, **setup)
    if direction == "short":
        ohlc = [mirror_bar(b) for b in ohlc]
        setup = mirror_setup(setup)
    first = dt.date(2026, 2, 27) if lead else dt.date(2026, 3, 2)
    barset = BarSet({"TEST": make_bars("TEST", ohlc, first)})
    file = SetupFile.model_validate({"article": {"id": "a1", "published": published}, "setups": [setup]})
    ledger = simulate([file], barset, SimConfig(**config))
    return ledger.trades.iloc[0], ledger.exits, ledger


def day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


# ------------------------------------------------------------------------------------------------ tests
import math  # noqa: E402

import numpy as np  # noqa: E402

import pytest  # noqa: E402

BOTH = pytest.mark.parametrize("side", ["long", "short"])
QUIET = (101.0, 102.0, 100.0, 101.0)  # a bar that touches nothing


def signed_return(side: str, entry: float, exit_: float) -> float:
    """Direction-signed % return between two long-scenario prices, as the mirrored trade sees them."""
    sign = 1.0 if side == "long" else -1.0
    return sign * (px(side, exit_) / px(side, entry) - 1.0) * 100.0


@BOTH
def test_market_entry_at_first_open_and_time_exit_at_last_close(side):
    bars = [(101, 103, 99, 102), (102, 104, 100, 103), (103, 105, 101, 104), (104, 106, 102, 105)]
    row, exits, _ = run(side, bars, {"stop": 90, "targets": [115], "max_hold": 3})
    assert row["status"] == "filled"
    assert row["first_session"] == day("2026-03-02") and row["entry_time"] == day("2026-03-02")
    assert row["entry_price"] == px(side, 101)
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-04"), px(side, 104), "time")
    assert row["sessions_held"] == 3
    assert row["return_pct"] == pytest.approx(signed_return(side, 101, 104))
    # excursions over the three bars held: worst 99 / best 105 in the long scenario (mirrored for the short)
    worst, best = 99, 105
    assert row["mae_pct"] == pytest.approx(signed_return(side, 101, worst)) and row["mae_pct"] < 0
    assert row["mfe_pct"] == pytest.approx(signed_return(side, 101, best)) and row["mfe_pct"] > 0
    assert not row["ambiguous"]
    assert list(exits["reason"]) == ["time"]


@BOTH
def test_gap_through_stop_fills_at_the_open_not_the_stop(side):
    bars = [(101, 103, 99, 102), (93, 96, 92, 95), QUIET]
    row, _, _ = run(side, bars, {"stop": 95, "targets": [115]})
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-03"), px(side, 93), "stop")
    assert not row["ambiguous"]
    # R multiple: a loss bigger than the planned risk because of the gap
    assert row["r_multiple"] == pytest.approx(signed_return(side, 101, 93) / abs(signed_return(side, 101, 95)))
    assert row["r_multiple"] < -1


@BOTH
def test_stop_without_gap_is_minus_one_r(side):
    row, _, _ = run(side, [(101, 103, 99, 102), (100, 101, 94, 96)], {"stop": 95, "targets": [115]})
    assert (row["exit_price"], row["exit_reason"]) == (px(side, 95), "stop")
    assert row["r_multiple"] == pytest.approx(-1.0)


@BOTH
def test_gap_through_stop_entry_fills_at_the_open(side):
    bars = [(101, 103, 100, 102), (107, 109, 106, 108), (108, 110, 107, 109)]
    row, _, _ = run(side, bars, {"entry": {"type": "stop", "level": 105}, "stop": 98, "targets": [115], "max_hold": 2})
    assert (row["entry_time"], row["entry_price"]) == (day("2026-03-03"), px(side, 107))
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-04"), px(side, 109), "time")
    assert not row["ambiguous"]


@BOTH
def test_gap_through_target_fills_at_the_open(side):
    row, _, _ = run(side, [(101, 103, 100, 102), (108, 109, 107, 108)], {"stop": 95, "targets": [106]})
    assert (row["exit_price"], row["exit_reason"]) == (px(side, 108), "target1")


@BOTH
@pytest.mark.parametrize("policy, price, reason", [("stop-first", 97, "stop"), ("target-first", 106, "target1")])
def test_same_bar_stop_and_target_follows_the_ambiguity_policy(side, policy, price, reason):
    bars = [(101, 102, 100, 101), (101, 107, 96, 100), QUIET]
    row, _, _ = run(side, bars, {"stop": 97, "targets": [106]}, ambiguity=policy)
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-03"), px(side, price), reason)
    assert row["ambiguous"]
    # both bounds are filled whatever the policy used
    assert row["return_pct_stop_first"] == pytest.approx(signed_return(side, 101, 97))
    assert row["return_pct_target_first"] == pytest.approx(signed_return(side, 101, 106))


def test_per_setup_ambiguity_overrides_the_run_default():
    bars = [(101, 102, 100, 101), (101, 107, 96, 100)]
    row, _, _ = run("long", bars, {"stop": 97, "targets": [106], "ambiguity": "target-first"}, ambiguity="stop-first")
    assert row["exit_reason"] == "target1"


@BOTH
def test_target_on_the_entry_bar_of_a_stop_entry(side):
    # fills at 103 inside the bar; the high (107) came after the fill, so target 106 fills the same day
    row, _, _ = run(side, [(101, 107, 100, 105), QUIET], {"entry": {"type": "stop", "level": 103}, "stop": 98,
                                                          "targets": [106]})
    assert (row["entry_time"], row["entry_price"]) == (day("2026-03-02"), px(side, 103))
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-02"), px(side, 106), "target1")
    assert row["sessions_held"] == 1 and not row["ambiguous"]


@BOTH
def test_stop_on_the_entry_bar_of_a_stop_entry_depends_on_the_policy(side):
    # fills at 103; the low (98) may have come before the fill
    setup = {"entry": {"type": "stop", "level": 103}, "stop": 99, "targets": [110], "max_hold": 2}
    bars = [(101, 104, 98, 102), (102, 103, 100, 101)]
    pessimistic, _, _ = run(side, bars, setup, ambiguity="stop-first")
    assert (pessimistic["exit_time"], pessimistic["exit_price"], pessimistic["exit_reason"]) == \
        (day("2026-03-02"), px(side, 99), "stop")
    optimistic, _, _ = run(side, bars, setup, ambiguity="target-first")
    assert (optimistic["exit_time"], optimistic["exit_price"], optimistic["exit_reason"]) == \
        (day("2026-03-03"), px(side, 101), "time")
    assert pessimistic["ambiguous"] and optimistic["ambiguous"]
    # a close beyond the stop proves the stop traded after the fill: stopped under both policies
    closed_below = [(101, 104, 97, 98), (102, 103, 100, 101)]
    row, _, _ = run(side, closed_below, setup, ambiguity="target-first")
    assert (row["exit_time"], row["exit_reason"]) == (day("2026-03-02"), "stop")


@BOTH
def test_limit_entry_fills_at_the_level_or_the_better_open(side):
    setup = {"entry": {"type": "limit", "level": 98}, "stop": 95, "targets": [104]}
    row, _, _ = run(side, [(101, 102, 99, 100), (99, 100, 97, 99), (99, 105, 98, 104)], setup)
    assert (row["entry_time"], row["entry_price"]) == (day("2026-03-03"), px(side, 98))
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-04"), px(side, 104), "target1")
    gapped, _, _ = run(side, [(101, 102, 99, 100), (96, 97, 96, 97), (99, 105, 98, 104)], setup)
    assert gapped["entry_price"] == px(side, 96)


def test_limit_long_not_filled_when_the_low_stays_above_the_level():
    row, _, _ = run("long", [(101, 102, 98.01, 100)] * 3, {"entry": {"type": "limit", "level": 98, "window": 3},
                                                            "stop": 95, "targets": [104]})
    assert row["status"] == "expired"


@BOTH
def test_entry_order_expires_after_the_window(side):
    row, exits, _ = run(side, [QUIET] * 5, {"entry": {"type": "stop", "level": 108, "window": 3}, "stop": 100,
                                            "targets": [114]})
    assert row["status"] == "expired"
    assert "within 3 sessions (through 2026-03-04)" in row["reason"]
    assert pd.isna(row["entry_time"]) and math.isnan(row["return_pct"]) and exits.empty


@BOTH
def test_invalidation_before_the_fill_cancels(side):
    setup = {"entry": {"type": "stop", "level": 106}, "invalidation": 97, "stop": 95, "targets": [115]}
    row, _, _ = run(side, [(101, 103, 96, 97), (98, 108, 97, 107)], setup)
    assert row["status"] == "cancelled"
    assert "invalidation" in row["reason"]
    # without the invalidation the same bars fill on day two
    no_inv = dict(setup, invalidation=None)
    row, _, _ = run(side, [(101, 103, 96, 97), (98, 108, 97, 107)], no_inv)
    assert (row["status"], row["entry_time"]) == ("open", day("2026-03-03"))


@BOTH
def test_entry_and_invalidation_in_one_bar_cancel(side):
    setup = {"entry": {"type": "stop", "level": 106}, "invalidation": 97, "stop": 99, "targets": [115]}
    row, _, _ = run(side, [(101, 107, 96, 100)], setup)
    assert row["status"] == "cancelled"


@BOTH
def test_equal_scale_out_over_two_targets(side):
    bars = [(101, 102, 100, 101), (101, 105, 100, 104), (104, 106, 103, 105), (105, 109, 104, 108), QUIET]
    row, exits, _ = run(side, bars, {"stop": 95, "targets": [104, 108]})
    assert list(exits["reason"]) == ["target1", "target2"]
    assert list(exits["fraction"]) == [0.5, 0.5]
    assert list(exits["time"]) == [day("2026-03-03"), day("2026-03-05")]
    assert list(exits["price"]) == [px(side, 104), px(side, 108)]
    assert row["exit_price"] == pytest.approx(px(side, 106))  # fraction-weighted average
    assert (row["exit_time"], row["exit_reason"]) == (day("2026-03-05"), "target2")
    assert row["return_pct"] == pytest.approx(0.5 * signed_return(side, 101, 104) + 0.5 * signed_return(side, 101, 108))


@BOTH
def test_scale_out_remainder_is_stopped(side):
    bars = [(101, 102, 100, 101), (101, 105, 100, 104), (103, 104, 94, 95)]
    row, exits, _ = run(side, bars, {"stop": 96, "targets": [104, 108]})
    assert list(exits["reason"]) == ["target1", "stop"]
    assert list(exits["price"]) == [px(side, 104), px(side, 96)]
    assert row["exit_reason"] == "stop" and row["status"] == "filled"


@BOTH
def test_scale_out_first_sells_everything_at_the_first_target(side):
    bars = [(101, 102, 100, 101), (101, 105, 100, 104), (105, 109, 104, 108)]
    row, exits, _ = run(side, bars, {"stop": 95, "targets": [104, 108]}, scale_out="first")
    assert list(exits["fraction"]) == [1.0]
    assert (row["exit_price"], row["exit_reason"]) == (px(side, 104), "target1")


@BOTH
def test_data_ending_first_leaves_the_trade_open_marked_to_the_last_close(side):
    row, exits, _ = run(side, [(101, 103, 99, 102), (102, 104, 100, 103)], {"stop": 90, "targets": [115]})
    assert row["status"] == "open"
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (day("2026-03-03"), px(side, 103), "end-of-data")
    assert row["return_pct"] == pytest.approx(signed_return(side, 101, 103))
    assert "still open" in row["reason"]


def test_entry_order_still_working_when_the_data_ends_is_open():
    row, _, _ = run("long", [QUIET] * 3, {"entry": {"type": "stop", "level": 108}, "stop": 100, "targets": [114]})
    assert row["status"] == "open" and pd.isna(row["entry_time"])
    assert "still working" in row["reason"]


def test_costs_are_charged_per_side():
    bars = [(101, 103, 99, 102), (102, 104, 100, 103), (103, 105, 101, 104)]
    free, _, _ = run("long", bars, {"max_hold": 3})
    paid, _, _ = run("long", bars, {"max_hold": 3}, commission_bps=5, slippage_bps=5)
    assert free["return_pct"] == pytest.approx((104 / 101 - 1) * 100)
    # 10 bps each way: buy at 101 * 1.001, sell at 104 * 0.999
    assert paid["return_pct"] == pytest.approx((104 * 0.999 / (101 * 1.001) - 1) * 100)
    assert free["return_pct"] - paid["return_pct"] == pytest.approx(0.2, abs=0.01)


# ---------------------------------------------------------------------------------------- publication timing
def _first_session(published, first: dt.date) -> pd.Timestamp:
    barset = BarSet({"TEST": make_bars("TEST", [QUIET] * 6, first)})
    file = SetupFile.model_validate({"article": {"id": "a", "published": published},
                                     "setups": [{"id": "s", "symbol": "TEST"}]})
    return simulate([file], barset, SimConfig()).trades.iloc[0]["entry_time"]


def test_weekend_publication_acts_from_monday_open():
    assert _first_session(SUNDAY, dt.date(2026, 2, 26)) == day("2026-03-02")


def test_holiday_publication_acts_from_the_next_session():
    # 2026-01-19 (Martin Luther King Jr. Day) and 2026-02-16 (Presidents' Day) are XNYS holidays
    assert _first_session(dt.date(2026, 1, 19), dt.date(2026, 1, 14)) == day("2026-01-20")
    assert _first_session("2026-02-16T15:00:00Z", dt.date(2026, 2, 11)) == day("2026-02-17")


def test_a_session_that_already_opened_is_not_eligible():
    # Tuesday 2026-03-03: 09:29 New York is before the open, 09:30 is not strictly before it
    assert _first_session("2026-03-03T09:29:00-05:00", dt.date(2026, 2, 26)) == day("2026-03-03")
    assert _first_session("2026-03-03T09:30:00-05:00", dt.date(2026, 2, 26)) == day("2026-03-04")
    assert _first_session(dt.date(2026, 3, 3), dt.date(2026, 2, 26)) == day("2026-03-04")  # date only: after the close


# ---------------------------------------------------------------------------------------- pairs
def test_pair_is_long_leg_minus_short_leg_over_the_holding_period():
    a = make_bars("AAA", [(100, 101, 99, 100), (100, 104, 99, 103), (103, 111, 102, 110), (110, 112, 108, 111)],
                  dt.date(2026, 3, 2))
    b = make_bars("BBB", [(50, 51, 49, 50), (50, 52, 49, 51), (51, 53, 50, 52), (52, 53, 51, 52)], dt.date(2026, 3, 2))
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "p", "kind": "pair", "max_hold": 3, "long": {"instrument": "a", "symbol": "AAA"},
         "short": {"instrument": "b", "symbol": "BBB"}}]})
    ledger = simulate([file], BarSet({"AAA": a, "BBB": b}), SimConfig())
    row = ledger.trades.iloc[0]
    assert (row["status"], row["symbol"], row["long_symbol"], row["short_symbol"]) == ("filled", "AAA/BBB", "AAA", "BBB")
    assert row["long_return_pct"] == pytest.approx(10.0) and row["short_return_pct"] == pytest.approx(4.0)
    assert row["return_pct"] == pytest.approx(6.0)
    assert (row["entry_time"], row["exit_time"], row["sessions_held"]) == (day("2026-03-02"), day("2026-03-04"), 3)
    legs = ledger.exits.set_index("leg")
    assert legs.loc["long", "price"] == 110 and legs.loc["short", "price"] == 52
    assert set(legs["reason"]) == {"time"}


# ---------------------------------------------------------------------------------------- refusals
def test_incoherent_setup_is_rejected_with_numbers_or_simulated_when_asked():
    setup = {"entry": {"type": "stop", "level": 150}, "stop": 140, "targets": [170]}
    row, _, ledger = run("long", [QUIET] * 3, setup)
    assert row["status"] == "rejected"
    assert "TEST closed 100 on 2026-02-27" in row["reason"] and "entry 150 is +50.0 %" in row["reason"]
    verdicts = ledger.coherence.set_index("level_name")["verdict"]
    assert verdicts["entry"] == "far" and ledger.coherence["ref_close"].iloc[0] == 100
    row, _, _ = run("long", [QUIET] * 3, setup, include_incoherent=True)
    assert row["incoherent"] and row["status"] == "open" and "simulated anyway" in row["reason"]


def test_targets_already_behind_the_market_are_incoherent():
    row, _, ledger = run("long", [QUIET] * 3, {"stop": 95, "targets": [99]})
    assert row["status"] == "rejected" and "wrong side for a long" in row["reason"]


def test_level_ordering_unresolved_and_missing_data_are_refused_not_dropped():
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "s1", "symbol": "TEST", "entry": {"type": "stop", "level": 100}, "stop": 105, "targets": [110]},
        {"id": "s2", "instrument": "Europe small caps", "status": "unresolved"},
        {"id": "s3", "symbol": "GONE"},
        {"id": "s4", "symbol": "LATE"},
    ]})
    barset = BarSet({"TEST": make_bars("TEST", [LEAD_BAR, QUIET]), "LATE": make_bars("LATE", [LEAD_BAR])},
                    missing={"GONE": "GONE: not in any mirror"})
    ledger = simulate([file], barset, SimConfig())
    by_id = ledger.trades.set_index("setup_id")
    assert by_id.loc["s1", "status"] == "rejected" and "stop 105 must be below the long entry 100" in by_id.loc["s1", "reason"]
    assert by_id.loc["s2", "status"] == "unresolved" and "Europe small caps" in by_id.loc["s2", "reason"]
    assert by_id.loc["s3", "status"] == "no-data" and "GONE: not in any mirror" == by_id.loc["s3", "reason"]
    assert by_id.loc["s4", "status"] == "no-data" and "last bar 2026-02-27" in by_id.loc["s4", "reason"]
    assert [s.item for s in ledger.skipped] == ["GONE"]
    assert list(ledger.trades.columns) == list(__import__("backtest.engine.ledger", fromlist=["x"]).TRADE_COLUMNS)


def test_trades_are_sorted_by_publication_then_setup_id():
    barset = BarSet({"TEST": make_bars("TEST", [LEAD_BAR] + [QUIET] * 5)})
    late = SetupFile.model_validate({"article": {"id": "late", "published": "2026-03-03T12:00:00Z"},
                                     "setups": [{"id": "b", "symbol": "TEST"}, {"id": "a", "symbol": "TEST"}]})
    early = SetupFile.model_validate({"article": {"id": "early", "published": dt.date(2026, 3, 1)},
                                      "setups": [{"id": "z", "symbol": "TEST"}]})
    trades = simulate([late, early], barset, SimConfig()).trades
    assert list(trades["setup_id"]) == ["z", "a", "b"]
    assert list(trades["published"]) == ["2026-03-01", "2026-03-03T12:00:00+00:00", "2026-03-03T12:00:00+00:00"]


# ---------------------------------------------------------------------------------------- directional calls
def test_directional_calls_forward_returns_hits_and_excess():
    test = make_bars("TEST", [LEAD_BAR, (100, 103, 99, 102), (102, 103, 95, 96), (96, 99, 95, 98)])
    spy = make_bars("SPY", [(500, 501, 499, 500), (500, 506, 499, 505), (505, 506, 500, 505), (505, 510, 504, 510)])
    files = [SetupFile.model_validate({"article": {"id": i, "published": SUNDAY, "stance": stance, "subject": ["TEST"]}})
             for i, stance in (("bull", "bullish"), ("bear", "bearish"), ("flat", "neutral"))]
    files.append(SetupFile.model_validate({"article": {"id": "none", "published": SUNDAY, "stance": "bullish"}}))
    calls = simulate(files, BarSet({"TEST": test, "SPY": spy}), SimConfig(horizons=(1, 3, 5))).calls
    calls = calls.set_index(["article_id", "horizon"])
    assert "none" not in calls.index.get_level_values(0)
    one = calls.loc[("bull", 1)]
    assert (one["start_time"], one["start_price"], one["end_time"], one["end_price"]) == (day("2026-03-02"), 100, day("2026-03-02"), 102)
    assert one["return_pct"] == pytest.approx(2.0) and one["benchmark_return_pct"] == pytest.approx(1.0)
    assert one["excess_pct"] == pytest.approx(1.0) and bool(one["hit"])
    three = calls.loc[("bear", 3)]
    assert three["direction"] == "short" and three["return_pct"] == pytest.approx(-2.0)
    assert bool(three["hit"]) and three["excess_pct"] == pytest.approx(4.0)  # SPY +2 %, TEST -2 %, short call
    assert not bool(calls.loc[("bull", 3), "hit"])
    assert pd.isna(calls.loc[("flat", 1), "hit"])
    five = calls.loc[("bull", 5)]  # window runs past the data: start known, no end, no verdict
    assert pd.isna(five["end_time"]) and pd.isna(five["hit"]) and five["start_price"] == 100


def test_symbols_are_matched_case_insensitively():
    barset = BarSet({"TEST": make_bars("TEST", [LEAD_BAR, QUIET])})
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bullish", "subject": ["test"]},
                                     "setups": [{"id": "s", "symbol": " test "}]})
    ledger = simulate([file], barset, SimConfig(horizons=(1,)))
    assert ledger.trades.iloc[0]["entry_price"] == 101
    assert ledger.calls.iloc[0]["start_price"] == 101


def test_market_positions_match_first_session_after():
    from backtest.engine.market import Market

    a = make_bars("AAA", [QUIET] * 5, dt.date(2026, 2, 26))
    b = make_bars("BBB", [QUIET] * 3, dt.date(2026, 3, 2))
    market = Market.of(BarSet({"AAA": a, "BBB": b}))
    published = [pd.Timestamp(SUNDAY), pd.Timestamp("2026-03-03T14:30:00Z"), pd.Timestamp("2026-03-10T00:00:00Z")]
    ns = np.array([p.value for p in published])
    for symbol, bars in (("AAA", a), ("BBB", b)):
        codes = market.codes([symbol.lower()] * 3)  # hand-typed symbols find their series
        assert list(market.first_after(codes, ns)) == [bars.first_session_after(p.to_pydatetime()) for p in published]
        assert list(market.last_closed(codes, ns)) == [bars.last_close_index(p.to_pydatetime()) for p in published]
    assert market.open[market.offset[market.codes(["BBB"])[0]]] == 101
    assert list(market.codes([None, "ZZZ"])) == [-2, -1]


def test_missing_series_for_a_call_or_a_pair_leg_is_recorded_not_fatal():
    barset = BarSet({"TEST": make_bars("TEST", [LEAD_BAR, QUIET, QUIET])}, missing={"GONE": "GONE: not in any mirror"})
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bearish",
                                                 "subject": ["GONE", "TEST"]}, "setups": [
        {"id": "p", "kind": "pair", "long": {"instrument": "t", "symbol": "TEST"}, "short": {"instrument": "g", "symbol": "GONE"}},
        {"id": "s", "symbol": "TEST", "direction": "short", "stop": 105}]})
    ledger = simulate([file], barset, SimConfig(horizons=(1,)))
    by_id = ledger.trades.set_index("setup_id")
    assert by_id.loc["p", "status"] == "no-data" and "GONE" in by_id.loc["p", "reason"]
    assert by_id.loc["s", "status"] == "open"
    calls = ledger.calls.set_index("symbol")
    assert pd.isna(calls.loc["GONE", "start_time"]) and calls.loc["TEST", "direction"] == "short"
    assert [(s.item, s.kind) for s in ledger.skipped] == [("GONE", "symbol")]


def test_a_setup_that_cannot_be_evaluated_is_refused_alone():
    barset = BarSet({"BAD": make_bars("BAD", [(0.0, 0.0, 0.0, 0.0), QUIET]), "TEST": make_bars("TEST", [LEAD_BAR, QUIET])})
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "bad", "symbol": "BAD", "stop": 95}, {"id": "good", "symbol": "TEST", "stop": 95}]})
    by_id = simulate([file], barset, SimConfig()).trades.set_index("setup_id")
    assert by_id.loc["bad", "status"] == "rejected" and by_id.loc["bad", "reason"].startswith("BAD: could not evaluate")
    assert by_id.loc["good", "status"] == "open"


def test_unresolved_pair_names_the_leg():
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "p", "kind": "pair", "status": "unresolved", "long": {"instrument": "US large caps", "symbol": "SPY"},
         "short": {"instrument": "European small caps"}}]})
    row = simulate([file], BarSet({}), SimConfig()).trades.iloc[0]
    assert row["status"] == "unresolved" and "'European small caps'" in row["reason"]
    assert row["symbol"] == "SPY/?"


def test_an_undated_article_is_refused_with_one_line_saying_what_to_do():
    """No publication date, no "after": refused (status undated), never guessed; the dated one still runs."""
    barset = BarSet({"TEST": make_bars("TEST", [LEAD_BAR, QUIET, QUIET])})
    undated = SetupFile.model_validate({"article": {"id": "no-date", "published": None, "stance": "bullish",
                                                    "subject": ["TEST"]},
                                        "setups": [{"id": "u", "symbol": "TEST", "stop": 95}]})
    dated = SetupFile.model_validate({"article": {"id": "dated", "published": SUNDAY},
                                      "setups": [{"id": "d", "symbol": "TEST", "stop": 95}]})
    ledger = simulate([undated, dated], barset, SimConfig(horizons=(1,)))
    by_id = ledger.trades.set_index("setup_id")
    assert list(ledger.trades["setup_id"]) == ["d", "u"]  # undated articles come last
    row = by_id.loc["u"]
    assert row["status"] == "undated" and pd.isna(row["first_session"]) and pd.isna(row["entry_time"])
    assert "'no-date' has no publication date" in row["reason"] and "backtest extract ARTICLE --published" in row["reason"]
    assert "\n" not in row["reason"]
    assert by_id.loc["d", "status"] == "open"
    assert ledger.calls["start_time"].isna().all()  # its directional call is not measured either


# ---------------------------------------------------------------------------------------- aligned data, delay
def bars_on(symbol: str, days: list[str], ohlc: list[tuple[float, float, float, float]]) -> Bars:
    """Bars on the given XNYS session dates only (gaps where a series did not trade)."""
    frame = pd.DataFrame(ohlc, columns=["open", "high", "low", "close"],
                         index=pd.DatetimeIndex(pd.to_datetime(days), name="date").as_unit("ns"))
    frame["volume"] = float("nan")
    return Bars(symbol, with_sessions(frame), source="test", basis="as-traded")


MARCH = ["2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06"]


def test_pair_lives_on_the_sessions_both_legs_trade():
    """BBB has no bar on 03-03: the pair is held over 3 *common* sessions (03-02, 03-04, 03-05), both legs
    closed on 03-05, the 03-03 AAA close never enters the spread's excursion."""
    a = bars_on("AAA", MARCH, [(100, 101, 99, 100), (100, 130, 99, 80), (100, 104, 99, 103), (103, 111, 102, 110),
                               (110, 112, 108, 111)])
    b = bars_on("BBB", [MARCH[0]] + MARCH[2:], [(50, 51, 49, 50), (50, 52, 49, 51), (51, 53, 50, 52), (52, 53, 51, 53)])
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "p", "kind": "pair", "max_hold": 3, "long": {"instrument": "a", "symbol": "AAA"},
         "short": {"instrument": "b", "symbol": "BBB"}}]})
    ledger = simulate([file], BarSet({"AAA": a, "BBB": b}), SimConfig())
    row = ledger.trades.iloc[0]
    assert (row["entry_time"], row["exit_time"], row["sessions_held"]) == (day("2026-03-02"), day("2026-03-05"), 3)
    assert row["long_return_pct"] == pytest.approx(10.0) and row["short_return_pct"] == pytest.approx(4.0)
    # spread by common session: 03-02 0-0, 03-04 3-2=1, 03-05 10-4=6; AAA's 03-03 close of 80 (-20 %) is not one
    assert row["mae_pct"] == pytest.approx(0.0) and row["mfe_pct"] == pytest.approx(6.0)
    legs = ledger.exits.set_index("leg")
    assert list(legs["time"]) == [day("2026-03-05")] * 2


def test_pair_whose_legs_share_no_session_after_publication_is_refused():
    a = bars_on("AAA", MARCH[:2], [QUIET, QUIET])
    b = bars_on("BBB", MARCH[2:], [QUIET, QUIET, QUIET])
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY}, "setups": [
        {"id": "p", "kind": "pair", "long": {"instrument": "a", "symbol": "AAA"},
         "short": {"instrument": "b", "symbol": "BBB"}}]})
    row = simulate([file], BarSet({"AAA": a, "BBB": b}), SimConfig()).trades.iloc[0]
    assert row["status"] == "no-data" and "no session in common" in row["reason"]
    assert "\n" not in row["reason"]


def test_a_series_that_starts_late_is_refused_not_entered_late():
    """First bar 5 sessions after the first eligible one (03-09): refused; 4 sessions later (03-06): entered."""
    late = bars_on("LATE", ["2026-03-09", "2026-03-10"], [QUIET, QUIET])
    near = bars_on("NEAR", ["2026-03-06", "2026-03-09"], [QUIET, QUIET])
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bullish",
                                                 "subject": ["LATE", "NEAR"]}, "setups": [
        {"id": "late", "symbol": "LATE"}, {"id": "near", "symbol": "NEAR"}]})
    ledger = simulate([file], BarSet({"LATE": late, "NEAR": near}), SimConfig(horizons=(1,)))
    by_id = ledger.trades.set_index("setup_id")
    assert by_id.loc["late", "status"] == "no-data"
    assert "no LATE bar within 5 sessions after publication" in by_id.loc["late", "reason"]
    assert "2026-03-09" in by_id.loc["late", "reason"] and "5 sessions later" in by_id.loc["late", "reason"]
    assert by_id.loc["near", "entry_time"] == day("2026-03-06")
    calls = ledger.calls.set_index("symbol")
    assert pd.isna(calls.loc["LATE", "start_time"]) and "not measured late" in calls.loc["LATE", "reason"]
    assert calls.loc["NEAR", "start_time"] == day("2026-03-06")


def test_delay_moves_the_first_eligible_session_of_setups_pairs_and_calls():
    a = bars_on("AAA", MARCH, [(100, 101, 99, 100), (101, 102, 100, 101), (102, 103, 101, 102), (103, 104, 102, 103),
                               (104, 105, 103, 104)])
    b = bars_on("BBB", MARCH, [(50, 51, 49, 50), (51, 52, 50, 51), (52, 53, 51, 52), (53, 54, 52, 53), (54, 55, 53, 54)])
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bullish", "subject": ["AAA"]},
                                     "setups": [{"id": "s", "symbol": "AAA"},
                                                {"id": "p", "kind": "pair", "max_hold": 2,
                                                 "long": {"instrument": "a", "symbol": "AAA"},
                                                 "short": {"instrument": "b", "symbol": "BBB"}}]})
    bars = BarSet({"AAA": a, "BBB": b})
    for delay, start in ((0, "2026-03-02"), (2, "2026-03-04")):
        ledger = simulate([file], bars, SimConfig(delay=delay, horizons=(1,), benchmark="BBB"))
        by_id = ledger.trades.set_index("setup_id")
        assert by_id.loc["s", "entry_time"] == day(start) and by_id.loc["p", "entry_time"] == day(start)
        call = ledger.calls.iloc[0]
        assert call["start_time"] == day(start) and call["end_time"] == day(start)
    ledger = simulate([file], bars, SimConfig(delay=5))
    by_id = ledger.trades.set_index("setup_id")
    assert set(by_id["status"]) == {"no-data"} and all("--delay 5" in r for r in by_id["reason"])
    with pytest.raises(ValueError, match="delay"):
        SimConfig(delay=-1)


def test_a_calls_benchmark_is_measured_over_the_same_session_dates():
    """SPY has no bar on 03-02: the 1-session call of 03-02 has no excess (and says why); the 3-session call
    starting 03-02 has none either; nothing is shifted onto SPY's own next session."""
    test = bars_on("TEST", MARCH[:4], [(100, 101, 99, 100), (100, 103, 99, 102), (102, 103, 95, 96), (96, 99, 95, 98)])
    spy = bars_on("SPY", MARCH[1:4], [(500, 506, 499, 505), (505, 506, 500, 505), (505, 510, 504, 510)])
    file = SetupFile.model_validate({"article": {"id": "a", "published": SUNDAY, "stance": "bullish", "subject": ["TEST"]}})
    calls = simulate([file], BarSet({"TEST": test, "SPY": spy}), SimConfig(horizons=(1, 3))).calls.set_index("horizon")
    for h in (1, 3):
        assert pd.isna(calls.loc[h, "excess_pct"]) and "SPY has no bar on 2026-03-02" in calls.loc[h, "reason"]
    published = "2026-03-02T22:00:00Z"  # after the 03-02 close: window 03-03..03-04 on both
    file = SetupFile.model_validate({"article": {"id": "b", "published": published, "stance": "bullish", "subject": ["TEST"]}})
    call = simulate([file], BarSet({"TEST": test, "SPY": spy}), SimConfig(horizons=(2,))).calls.iloc[0]
    # SPY: 03-03 open 500 -> 03-04 close 505 (+1 %); TEST: 100 -> 96 (-4 %)
    assert call["benchmark_return_pct"] == pytest.approx(1.0) and call["return_pct"] == pytest.approx(-4.0)
    assert call["excess_pct"] == pytest.approx(-5.0) and pd.isna(call["reason"])


@pytest.mark.parametrize("targets", [None, [], np.empty((0, 2))])
def test_kernel_accepts_zero_setups(targets):
    """An empty batch (e.g. every setup refused) is an empty result, not a reshape error."""
    from backtest.engine.arrays import KernelArrays
    from backtest.engine.kernel import run_kernel

    prices = np.array([100.0, 101.0, 102.0])
    arrays = KernelArrays.build(prices, prices, prices, prices, start=np.array([], dtype=np.int64),
                                end=np.array([], dtype=np.int64), direction=1, entry_type=0, targets=targets,
                                entry_window=20, max_hold=60)
    assert len(arrays) == 0 and arrays.targets.shape[0] == 0
    result = run_kernel(arrays)
    assert len(result.status) == 0 and len(result.return_pct) == 0
