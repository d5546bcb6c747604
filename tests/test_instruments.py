"""Alias table and resolution by price magnitude (prices are injected lambdas with invented closes)."""

from __future__ import annotations

import datetime as dt

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# ------------------------------------------------------------------ the table as data (issue 10, item 3)
@pytest.mark.parametrize(
    "text, words, symbol",
    [
        ("buy NVDA above 145", "NVDA", "NVDA"),
        ("short $TSLA under 400", "$TSLA", "TSLA"),
        ("a cashtag of one letter, $F, works", "$F", "F"),
        ("Visa (V) has held $330", "V", "V"),
        ("Berkshire (BRK.B) is flat", "BRK.B", "BRK-B"),
        ("ES long above 5,640", "ES", "ES=F"),
        ("Long ESM2025 above 5,640", "ESM2025", "ES=F"),
        ("ESZ25 gapped higher", "ESZ25", "ES=F"),
        ("/NQ is bid", "/NQ", "NQ=F"),
        ("RTY1! made a new high", "RTY1!", "RTY=F"),
        ("go long S&P futures on a retest", "S&P futures", "ES=F"),
        ("Gold futures: buying dips", "Gold futures", "GC=F"),
        ("crude oil futures fell", "crude oil futures", "CL=F"),
        ("SPX 6.9k is the line", "SPX", "^GSPC"),
        ("NDX: short on a break", "NDX", "^NDX"),
        ("RUT: long above 2,480", "RUT", "^RUT"),
        ("the Qs are heavy", "the Qs", "QQQ"),
        ("the Nasdaq Composite lagged", "Nasdaq Composite", "^IXIC"),
        ("buy the energy ETF on a pullback", "energy ETF", "XLE"),
        ("Utilities: buy on a close", "Utilities", "XLU"),
        ("healthcare led", "healthcare", "XLV"),
        ("short the tech sector ETF", "tech sector ETF", "XLK"),
        ("I'll buy financials on a breakout", "financials", "XLF"),
    ],
)
def test_tickers_futures_nicknames_and_sectors(text, words, symbol):
    (m,) = [m for m in find_mentions(text) if m.words == words]
    assert resolve(m, None, PUBLISHED).symbol == symbol


@pytest.mark.parametrize(
    "text, words",
    [("DAX: long above 24,150", "DAX"), ("Euro Stoxx 50: short below 5,920", "Euro Stoxx 50"),
     ("gold broke out", "gold"), ("10-year yield rose to 4.3%", "10-year yield")],
)
def test_instruments_without_a_series_here_stay_unresolved_with_their_words(text, words):
    (m,) = [m for m in find_mentions(text) if m.words == words]
    res = resolve(m, 100.0, PUBLISHED)
    assert (res.symbol, res.status) == (None, "unresolved") and words in res.note


@pytest.mark.parametrize("text", ["TRADE ALERT — Momentum Desk", "the FOMC and the CEO", "Dow Chemical rose",
                                  "NEW YORK, March 3 (Desk) -", "SL 598 / TP1 630", "BEAR NOTE: Short"])
def test_words_that_look_like_instruments_are_not(text):
    assert find_mentions(text) == []


def test_a_futures_contract_says_how_it_was_read():
    (m,) = find_mentions("Long ESM2025 above 5,640")
    assert "front-month" in resolve(m, 5640.0, PUBLISHED).note


def test_user_alias_file_extends_the_table(tmp_path):
    from backtest.config import load_config
    from backtest.extraction.batch import extract_to_dir

    (tmp_path / "my_instruments.yaml").write_text(
        "aliases:\n  the chip giant: NVDA\nfamilies:\n  banks:\n    name: big US banks\n    candidates: [KBE]\n"
        "    tradeable: KBE\n    names: [the big banks]\n", encoding="utf-8")
    (tmp_path / "backtest.toml").write_text('[instruments]\naliases = "my_instruments.yaml"\n', encoding="utf-8")
    articles = tmp_path / "in"
    articles.mkdir()
    (articles / "a.txt").write_text(
        "Desk Notes\nMarkets were quiet this week as traders waited for the data, and volumes were thin.\n"
        "Buy the chip giant above $145 with a stop at $139. Short the big banks under $55, stop $58.\n"
        "datePublished: 2026-02-09 14:30 UTC\n", encoding="utf-8")
    config = load_config(tmp_path / "backtest.toml")
    assert config.instruments.aliases == (tmp_path / "my_instruments.yaml",)
    summary = extract_to_dir([articles], tmp_path / "out", config=config, price_lookup=lambda s, p: None)
    (path,) = summary.written
    from backtest.setups.load import load_setup_file

    setups = load_setup_file(path)[0].setups
    assert [(s.symbol, s.direction, s.entry.level) for s in setups] == [("NVDA", "long", 145.0), ("KBE", "short", 55.0)]


@pytest.mark.parametrize("text, found", [
    ("Microsoft and Eli Lilly led the gains", [("Microsoft", "MSFT"), ("Eli Lilly", "LLY")]),
    ("JPMorgan Chase reports on Tuesday", [("JPMorgan Chase", "JPM")]),
    ("Costco's margins held up", [("Costco", "COST")]),
    ("Nvidia, or NVIDIA as it writes itself", [("Nvidia", "NVDA"), ("NVIDIA", "NVDA")]),  # one name, two spellings
    # names are matched with their capitals only: these are words, not companies
    ("an apple a day, the microsoft way", []),
    ("Target $480, then $495.", []),
])
def test_company_names_with_their_capitals(text, found):
    assert [(m.words, m.pinned) for m in find_mentions(text)] == found


@pytest.mark.parametrize("text, found", [
    ("desk chat\nnvda long 182.5 sl 176 tp 195\n", [("nvda", "NVDA")]),
    ("notes\n- amd short 160 stop 166\n", [("amd", "AMD")]),
    # chat words, not tickers; and a lower-case word that does not open its line
    ("notes\nstay long 600 for now\ngo long 600\n", []),
    ("notes\nwe like nvda long 180\n", []),
])
def test_a_lower_case_ticker_opening_a_chat_line(text, found):
    assert [(m.words, m.pinned) for m in find_mentions(text)] == found


def test_a_user_alias_file_adds_company_names(tmp_path):
    from backtest.extraction.instruments import load_table

    (tmp_path / "mine.yaml").write_text('companies:\n  "Acme Rockets": ACME\n', encoding="utf-8")
    table = load_table((str(tmp_path / "mine.yaml"),))
    assert [(m.words, m.pinned) for m in table.find("Acme Rockets rallied; acme rockets is lower case")] == [
        ("Acme Rockets", "ACME")]
    assert [(m.words, m.pinned) for m in table.find("Microsoft too")] == [("Microsoft", "MSFT")]


@pytest.mark.parametrize("content, message", [("families: [1, 2]\n", "families: must be a mapping"),
                                              ("companies: [Acme]\n", "companies: must be a mapping"),
                                              ("aliases: {x: [\n", "not valid YAML"),
                                              ("typos: {}\n", "unknown key")])
def test_a_bad_alias_file_is_one_line_naming_it(tmp_path, content, message):
    from click.testing import CliRunner

    from backtest.cli import cli

    (tmp_path / "bad.yaml").write_text(content, encoding="utf-8")
    (tmp_path / "backtest.toml").write_text('[instruments]\naliases = "bad.yaml"\n', encoding="utf-8")
    (tmp_path / "a.txt").write_text("Desk Notes\n" + "Buy IWM above $262 with a stop at $255. " * 5 + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "backtest.toml"), "extract", str(tmp_path / "a.txt"),
                                      "--json"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.stderr.strip()
    assert "\n" not in line and "bad.yaml" in line and message in line


def test_config_refuses_unknown_instrument_keys(tmp_path):
    from backtest.config import load_config
    from backtest.errors import ConfigError

    (tmp_path / "backtest.toml").write_text('[instruments]\nalias = "x.yaml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[instruments\]\.alias"):
        load_config(tmp_path / "backtest.toml")


@pytest.mark.parametrize("text, found", [
    # a shouted heading with no level: its capitals are words, not tickers
    ("THE MORNING BELL SHEET — Tuesday edition\n1) $NVDA — long over 198.40\n", [("$NVDA", "NVDA")]),
    ("SWING GAME PLAN — week ahead\nCAT long over 650\n", [("CAT", "CAT")]),
    # ... unless the table knows the symbol, or the article writes it in capitals elsewhere
    ("THE AAPL AND MSFT WEEK\nnothing new\n", [("AAPL", "AAPL"), ("MSFT", "MSFT")]),
    ("WATCHING ZORB INTO EARNINGS\nZORB long over 41\n", [("ZORB", "ZORB"), ("ZORB", "ZORB")]),
])
def test_capitals_in_a_shouted_heading(text, found):
    assert [(m.words, m.pinned) for m in find_mentions(text)] == found


def test_an_alerts_shouted_line_with_its_level_keeps_its_ticker():
    # (the cue words in capitals are dropped later, by the extractor: "BELOW" is no instrument)
    assert ("ZORB", "ZORB") in [(m.words, m.pinned) for m in find_mentions("SHORT ZORB BELOW 40 STOP 42\n")]


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("AXZ09 aq$^/=!.-'\nÉé²")), max_size=30), st.integers(0, 4))
def test_the_ticker_start_pattern_passes_over_only_what_the_ticker_check_refuses(text, cut):
    """_TICKER_START looks at the next characters as _may_be_ticker does (a superset, in C): the places
    both accept are the places the plain start pattern and the check accept, up to any end of the range."""
    from backtest.extraction import instruments as I

    end = max(0, len(text) - cut)
    plain = re.compile(r"[$^/A-Z0-9](?<![\w^$/.=&'’-][$^/A-Z0-9])(?<![A-Za-z0-9][A-Za-z0-9])")
    expected = [m.start() for m in plain.finditer(text, 0, end) if I._may_be_ticker(text, m.start(), end)]
    assert [m.start() for m in I._TICKER_START.finditer(text, 0, end)
            if I._may_be_ticker(text, m.start(), end)] == expected
