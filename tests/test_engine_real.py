"""The engine on the real bars of ../shared/market-data, with setups written here from facts checked in the CSVs.

Facts used (read from the mirror files, not copied into the repository):
* IWM lows 2026-02-03..2026-03-02 all stay above 255 (2026-02-05: 255.05); 2026-03-03 opens above 255 and
  trades below it, the 20th session after a 2026-02-02 (date-only) publication; 2026-03-09 trades below 245
  after opening above it.
* ^RUT closed 2,670.34 on Friday 2026-02-06 and opened 2,667.44 on Monday 2026-02-09.
* XLK split 2:1 on 2025-12-05; the mirror file is split-adjusted (2025-11-21: open 136.30, low 133.74).
* SPY opened 656.65 on 2026-04-07 (high 659.61) and gapped up to open 676.39 on 2026-04-08.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.engine import SimConfig, simulate
from backtest.setups.model import SetupFile


@pytest.fixture(scope="module")
def barset(market_data_dir, tmp_path_factory):
    config = Config(data=DataConfig(sources=("mirror",), mirrors=(market_data_dir,),
                                    cache_dir=tmp_path_factory.mktemp("cache")))
    return load_barset(["IWM", "^RUT", "XLK", "SPY"], config)


def one(barset, published, setup: dict, **config) -> pd.Series:
    file = SetupFile.model_validate({"article": {"id": "real", "published": published}, "setups": [setup]})
    return simulate([file], barset, SimConfig(**config)).trades.iloc[0]


IWM_LIMIT = {"id": "iwm-dip", "symbol": "IWM", "entry": {"type": "limit", "level": 255}, "stop": 245, "targets": [270]}


def test_iwm_limit_at_255_skips_the_255_05_low_and_fills_on_the_20th_session(barset):
    row = one(barset, dt.date(2026, 2, 2), IWM_LIMIT)
    assert row["first_session"] == pd.Timestamp("2026-02-03")
    assert (row["status"], row["entry_time"], row["entry_price"]) == ("filled", pd.Timestamp("2026-03-03"), 255.0)
    assert (row["exit_time"], row["exit_price"], row["exit_reason"]) == (pd.Timestamp("2026-03-09"), 245.0, "stop")
    assert row["return_pct"] == pytest.approx((245 / 255 - 1) * 100)
    assert row["r_multiple"] == pytest.approx(-1.0)
    assert row["ref_date"] == pd.Timestamp("2026-02-02")


def test_iwm_limit_expires_with_a_19_session_window(barset):
    row = one(barset, dt.date(2026, 2, 2), dict(IWM_LIMIT, entry={"type": "limit", "level": 255, "window": 19}))
    assert row["status"] == "expired"
    assert "through 2026-03-02" in row["reason"]


def test_buying_the_russell_above_2080_is_rejected_against_the_2670_close(barset):
    setup = {"id": "rut-2080", "symbol": "^RUT", "entry": {"type": "stop", "level": 2080}, "stop": 2000, "targets": [2200]}
    row = one(barset, "2026-02-08T17:30:00Z", setup)
    assert row["status"] == "rejected"
    assert "^RUT closed 2,670.34 on 2026-02-06" in row["reason"]
    assert "entry 2,080 is -22.1 %" in row["reason"]
    assert "\n" not in row["reason"]
    forced = one(barset, "2026-02-08T17:30:00Z", setup, include_incoherent=True)
    # the buy stop is far below the market: it fills at Monday's open, clearly marked
    assert forced["incoherent"] and (forced["entry_time"], forced["entry_price"]) == (pd.Timestamp("2026-02-09"), 2667.44)


def test_xlk_level_written_before_the_split_is_halved(barset):
    # the article saw XLK near 272 as traded; a limit at 270 is 135 on the split-adjusted bars
    setup = {"id": "xlk", "symbol": "XLK", "entry": {"type": "limit", "level": 270}, "stop": 250, "targets": [300]}
    row = one(barset, dt.date(2025, 11, 20), setup)
    assert row["status"] in ("filled", "open") and row["incoherent"] == False  # noqa: E712
    assert (row["entry_time"], row["entry_price"]) == (pd.Timestamp("2025-11-21"), 135.0)
    assert row["entry_level"] == 270.0  # the ledger keeps the level as written


def test_spy_short_gapped_through_its_stop_exits_at_the_open(barset):
    setup = {"id": "spy-short", "symbol": "SPY", "direction": "short", "stop": 670, "targets": [640]}
    row = one(barset, dt.date(2026, 4, 6), setup)
    assert (row["entry_time"], row["entry_price"]) == (pd.Timestamp("2026-04-07"), pytest.approx(656.65, abs=1e-4))
    assert (row["exit_time"], row["exit_reason"]) == (pd.Timestamp("2026-04-08"), "stop")
    assert row["exit_price"] == pytest.approx(676.39, abs=1e-4)
    assert row["return_pct"] == pytest.approx(-(676.39 / 656.65 - 1) * 100, abs=1e-4)
    assert row["r_multiple"] < -1  # the gap cost more than the planned risk


def test_as_of_cut_leaves_the_trade_open(barset):
    row = one(barset, dt.date(2026, 2, 2), IWM_LIMIT, as_of=dt.date(2026, 3, 5))
    assert row["status"] == "open" and row["exit_reason"] == "end-of-data"
    assert row["exit_time"] == pd.Timestamp("2026-03-05")
