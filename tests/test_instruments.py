"""Alias table and resolution by price magnitude (prices are injected lambdas with invented closes)."""

from __future__ import annotations

import datetime as dt

import pytest

from backtest.extraction.instruments import (
    family_of,
    find_mentions,
    market_price_lookup,
    nearest_by_magnitude,
    resolve,
    subject_of,
    tradeable_symbol,
)

PUBLISHED = dt.datetime(2026, 2, 8, 17, 30, tzinfo=dt.timezone.utc)
CLOSES = {"^RUT": 2650.0, "IWM": 262.0, "^GSPC": 6900.0, "SPY": 690.0, "^DJI": 50100.0, "DIA": 501.0,
          "^NDX": 25000.0, "QQQ": 610.0}


def lookup(symbol, published):
    assert published == PUBLISHED  # the resolver asks about the publication instant, nothing later
    return CLOSES.get(symbol)


@pytest.mark.parametrize(
    "words, family, pinned",
    [
        ("the Russell", "small-caps", None), ("Russell 2000", "small-caps", None), ("small caps", "small-caps", None),
        ("small-cap ETFs", "small-caps", "IWM"), ("IWM", "small-caps", "IWM"), ("S&P 500", "sp500", None),
        ("SPY", "sp500", "SPY"), ("the Dow", "dow", None), ("Nasdaq 100", "nasdaq", None), ("VIX", "vix", "^VIX"),
        ("XLK", "tech", "XLK"), ("XLE", "energy", "XLE"), ("MSCI Europe Small Cap Index", "eu-small-caps", None),
        ("European small caps", "eu-small-caps", None),
    ],
)
def test_aliases(words, family, pinned):
    m = family_of(words)
    assert m is not None and (m.family, m.pinned) == (family, pinned)


def test_european_small_caps_are_not_us_small_caps():
    found = find_mentions("European small caps lag while US small caps rally")
    assert [m.family for m in found] == ["eu-small-caps", "small-caps"]


@pytest.mark.parametrize("level, symbol", [(2080.0, "^RUT"), (255.0, "IWM"), (2.1e3, "^RUT"), (190.0, "IWM")])
def test_level_magnitude_picks_index_or_etf(level, symbol):
    res = resolve(family_of("the Russell"), level, PUBLISHED, lookup)
    assert (res.symbol, res.status) == (symbol, "ok")


def test_sp500_range_resolves_to_the_index():
    assert resolve(family_of("S&P 500"), 4900.0, PUBLISHED, lookup).symbol == "^GSPC"
    assert resolve(family_of("S&P 500"), 702.0, PUBLISHED, lookup).symbol == "SPY"


def test_ticker_pins_the_symbol_whatever_the_level():
    assert resolve(family_of("IWM"), 2080.0, PUBLISHED, lookup).symbol == "IWM"


def test_without_level_the_tradeable_etf_is_used():
    assert resolve(family_of("small caps"), None, PUBLISHED, lookup).symbol == "IWM"
    assert tradeable_symbol(family_of("S&P 500")) == "SPY"


def test_unresolvable_family_is_reported_not_dropped():
    res = resolve(family_of("MSCI Europe Small Cap Index"), 1350.0, PUBLISHED, lookup)
    assert res.symbol is None and res.status == "unresolved" and "MSCI Europe Small Cap" in res.note


def test_no_prices_falls_back_to_typical_magnitudes_and_says_so():
    symbol, note = nearest_by_magnitude(2080.0, ["^RUT", "IWM"], PUBLISHED, lambda s, p: None)
    assert symbol == "^RUT" and "typical magnitude" in note


def test_candidates_without_a_close_use_typical_magnitudes_not_drop_out():
    """Only IWM cached: an index level of 2,080 is still the index, compared with its typical close."""
    only_iwm = {"IWM": 262.0}
    res = resolve(family_of("the Russell"), 2080.0, PUBLISHED, lambda s, p: only_iwm.get(s))
    assert (res.symbol, res.status) == ("^RUT", "ok")
    assert "typical magnitude for ^RUT" in res.note and "last close" in res.note
    symbol, note = nearest_by_magnitude(255.0, ["^RUT", "IWM"], PUBLISHED, lambda s, p: only_iwm.get(s))
    assert symbol == "IWM" and "typical magnitude for ^RUT" in note
    # A candidate with neither a close nor a typical price drops out instead of failing the comparison.
    assert nearest_by_magnitude(2080.0, ["NOPE", "^RUT"], PUBLISHED, lambda s, p: None)[0] == "^RUT"


def test_a_failing_lookup_does_not_stop_resolution():
    def broken(symbol, published):
        raise RuntimeError("disk on fire")

    assert resolve(family_of("the Russell"), 255.0, PUBLISHED, broken).symbol == "IWM"


def test_subject_from_tags_title_then_counts():
    assert subject_of("S&P 500 Outshines Small Caps", ["sp500", "small-caps"], "") == ["SPY", "^GSPC"]
    assert subject_of("Small caps are back", [], "") == ["IWM", "^RUT"]
    assert subject_of(None, [], "small caps, small caps and the S&P 500") == ["IWM", "^RUT"]
    assert subject_of(None, [], "nothing here") == []


def test_market_price_lookup_reads_the_mirror(market_data_dir, tmp_path):
    from backtest.config import Config, DataConfig

    cfg = Config(data=DataConfig(sources=("mirror",), mirrors=(market_data_dir,), cache_dir=tmp_path / "cache"))
    close = market_price_lookup(cfg)("IWM", PUBLISHED)
    assert close is not None and 150 < close < 400  # an ETF price, not an index level
