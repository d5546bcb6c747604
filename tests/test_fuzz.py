"""Fuzzing the two readers of user files: arbitrary input never produces an unexpected exception.

* the article reader + extractor: any bytes give an :class:`Article` (then setups) or a one-line
  :class:`ArticleError`/reason, never a crash;
* the setup-file loader: any text (random, mangled YAML, YAML with schema-like keys and wrong values)
  gives a setup file and/or one-line skips naming the file, never a crash;
* whatever the loader accepts, the engine simulates (one ledger row per setup), on invented bars.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.articles.reader import parse_article_bytes
from backtest.errors import ArticleError
from backtest.extraction.batch import extract_articles
from backtest.setups.load import load_setup_file
from backtest.setups.model import SetupFile

# BACKTEST_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py for a deeper (slow) search.
EXAMPLES = int(os.environ.get("BACKTEST_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD_SETUP_FILE = (Path(__file__).parent / "bad_inputs" / "good" / "00_good.yaml").read_text()
GOOD_ARTICLE = (Path(__file__).parent / "bad_inputs" / "good" / "good_article.txt").read_text()


@pytest.fixture(scope="module")
def scratch() -> Path:
    with tempfile.TemporaryDirectory() as directory:
        yield Path(directory)


# ------------------------------------------------------------------------------------- articles
WORDS = st.sampled_from([
    "IWM", "SPY", "QQQ", "^RUT", "Russell", "2000", "S&P", "500", "small", "caps", "long", "short", "buy", "sell",
    "above", "below", "under", "over", "stop", "target", "targets", "invalidation", "at", "$262", "255", "2,650",
    "2.7k", "1e9", "-5", "0", "%", "pair", "vs", "versus", "and", "the", "a", "datePublished:", "2026-02-08",
    "17:30", "UTC", "ET", "EDT", "PM", "New York", "Feb", "8,", "2026", "Strykr", "Watch", "Take", "Analysis", "Pulse", "74/100", "Threat",
    "Level", "3/5", "Sources", "(3)", "·", "\n", ".", ",", ";", "—", "\u00a0", "\r\n", "#tag",
])


@FUZZ
@given(st.binary(max_size=3000))
def test_any_bytes_read_as_an_article_or_a_one_line_article_error(raw):
    try:
        article = parse_article_bytes(raw, "fuzz", path="fuzz.txt")
    except ArticleError as exc:
        assert "\n" not in exc.one_line() and exc.one_line().startswith("fuzz.txt: ")
    else:
        assert article.text == raw.decode("utf-8")
        for start, end in article.sections.values():
            assert 0 <= start <= end <= len(article.text)
        # parse_article_text catches every exception into this warning: a crash is only visible here.
        assert not any(w.startswith("reader stopped early") for w in article.warnings), article.warnings


NUMBER = st.one_of(st.integers(0, 30000).map(str), st.integers(1, 3000).map(lambda n: f"${n}"),
                   st.floats(0, 3000).map(lambda x: f"{x:,.2f}"), st.sampled_from(["2.7k", "2,650", "-5", "0", "1e9"]))
SENTENCE = st.tuples(
    st.sampled_from(["Buy", "Sell", "Short", "Go long", "We like", "Add on a pullback to", "Bears want a close under", ""]),
    st.sampled_from(["IWM", "SPY", "QQQ", "the Russell 2000", "the S&P 500", "small caps", "the Dow", "XLK", "gold",
                     "MSCI Europe Small Cap", "ZZZZ", ""]),
    st.sampled_from(["above", "below", "at", "under", "over", "on a break under", ""]), NUMBER,
    st.sampled_from([", stop", " with a stop at", "; stops go under", ", invalidation below", ""]), NUMBER,
    st.sampled_from([", target", " and a target of", ", take profit at", ", targeting", ""]),
    st.lists(NUMBER, max_size=3),
).map(lambda p: f"{p[0]} {p[1]} {p[2]} {p[3]}{p[4]} {p[5]}{p[6]} {', '.join(p[7])}.")


@FUZZ
@given(st.lists(st.one_of(WORDS, SENTENCE), min_size=0, max_size=40), st.booleans(),
       st.sampled_from(["", "\x00", "\xff", "é"]))
def test_extraction_of_any_commentary_gives_setups_or_a_reason(scratch, words, prose, extra):
    """The whole per-file path of ``backtest extract``/``run``: read, classify, extract, validate."""
    text = " ".join(words)
    if prose:  # enough prose for the reader to treat it as an article, so extraction really runs
        text = GOOD_ARTICLE.replace("IWM: long above 262, stop 255, target 275.", text)
    path = scratch / "fuzz_article.txt"
    path.write_bytes((text + extra).encode("utf-8", "surrogatepass") if extra != "\xff" else text.encode() + b"\xff")
    (result,) = extract_articles([path], price_lookup=lambda symbol, published: 100.0)
    assert not any(w.startswith("reader stopped early") for w in result.warnings), result.warnings
    if result.setup_file is None:
        assert result.error and "\n" not in result.error and str(path) in result.error
    else:
        SetupFile.model_validate(result.setup_file.model_dump())  # what was extracted is a valid setup file


# ------------------------------------------------------------------------------------- setup files
KEYS = ["format", "article", "setups", "watch", "generated", "id", "published", "title", "stance", "pulse", "threat",
        "subject", "symbol", "instrument", "status", "direction", "entry", "type", "level", "window", "stop", "stopp",
        "targets", "invalidation", "kind", "long", "short", "max_hold", "scale_out", "ambiguity", "source", "spans",
        "start", "end", "levels", "note", "explicit", "confidence"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20), st.dates(), st.datetimes(timezones=st.sampled_from([dt.timezone.utc, None])),
    st.sampled_from(["long", "short", "pair", "single", "market", "stop", "limit", "IWM", "SPY", "^RUT", "unresolved",
                     "ok", "bullish", "2026-02-03", "2026-02-03T14:00:00Z", "backtest.setups/1", "equal", "stop-first"]),
)
TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.sampled_from(KEYS), children, max_size=6)),
    max_leaves=30,
)


def _assert_loader_contract(path: Path, text: str) -> tuple:
    path.write_text(text, encoding="utf-8")
    setup_file, skips = load_setup_file(path)
    assert setup_file is None or isinstance(setup_file, SetupFile)
    for skip in skips:
        assert skip.reason.startswith(str(path)) and "\n" not in skip.reason, skip.reason
        assert skip.kind in ("setup-file", "setup")
    if setup_file is None:
        assert skips, "a file that loads nothing must say why"
    return setup_file, skips


@FUZZ
@given(st.text(max_size=800))
def test_any_text_as_a_setup_file_loads_or_gives_one_line_skips(scratch, text):
    _assert_loader_contract(scratch / "fuzz.yaml", text)


@FUZZ
@given(TREES, st.dictionaries(st.sampled_from(KEYS), TREES, max_size=4))
def test_yaml_with_schema_keys_and_wrong_values_never_crashes_the_loader(scratch, tree, article):
    document = {"article": {"id": "fuzz", "published": "2026-02-03", **article}, "setups": [tree, tree]}
    text = yaml.safe_dump(document, allow_unicode=True)
    _assert_loader_contract(scratch / "fuzz.yaml", text)
    _assert_loader_contract(scratch / "fuzz.yaml", yaml.safe_dump(tree, allow_unicode=True))


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(GOOD_SETUP_FILE)), st.integers(0, 8),
                          st.sampled_from(["", ":", " ", "\n", "-", "[", "{", "'", '"', "&a", "*a", "!!", "\t", "0", "x"])),
                max_size=6))
def test_hand_edited_setup_file_never_crashes_the_loader(scratch, edits):
    """A person editing a good file: characters deleted and inserted at random places."""
    text = GOOD_SETUP_FILE
    for position, deleted, inserted in edits:
        position = min(position, len(text))
        text = text[:position] + inserted + text[position + deleted:]
    _assert_loader_contract(scratch / "fuzz.yaml", text)


# ------------------------------------------------------------------------------------- loader -> engine
def _invented_barset():
    from backtest.data.bars import Bars, BarSet
    from backtest.data.calendar import session_dates
    from backtest.data.validate import clean_bars

    days = session_dates(dt.date(2026, 1, 2), dt.date(2026, 3, 31))
    close = [250 * (1 + 0.01 * math.sin(i / 3)) for i in range(len(days))]
    raw = pd.DataFrame({"date": days, "open": close, "high": [c * 1.01 for c in close],
                        "low": [c * 0.99 for c in close], "close": close, "volume": 1.0})
    clean = clean_bars(raw, "invented")
    return BarSet(bars={s: Bars(symbol=s, frame=clean.frame, source="invented") for s in ("IWM", "SPY")})


LEVEL = st.one_of(st.none(), st.floats(min_value=1, max_value=600))
SETUP = st.fixed_dictionaries({
    "id": st.sampled_from(["a", "b", "c"]),
    "symbol": st.sampled_from(["IWM", "SPY", "iwm", "QZXW"]),
    "direction": st.sampled_from(["long", "short"]),
    "entry": st.one_of(st.just({"type": "market"}),
                       st.fixed_dictionaries({"type": st.sampled_from(["stop", "limit"]),
                                              "level": st.floats(min_value=1, max_value=600)})),
    "stop": LEVEL,
    "targets": st.lists(st.floats(min_value=1, max_value=600), max_size=3),
    "invalidation": LEVEL,
    "max_hold": st.one_of(st.none(), st.integers(1, 80)),
})


@settings(max_examples=max(60, EXAMPLES // 3), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SETUP, max_size=4), st.one_of(st.dates(dt.date(2025, 12, 1), dt.date(2026, 5, 1)),
                                             st.datetimes(dt.datetime(2025, 12, 1), dt.datetime(2026, 5, 1),
                                                          timezones=st.just(dt.timezone.utc))))
def test_whatever_the_loader_accepts_the_engine_simulates(scratch, setups, published):
    from backtest.engine import simulate

    document = {"article": {"id": "fuzz", "published": published, "stance": "bullish", "subject": ["IWM"]},
                "setups": [{k: v for k, v in s.items() if v is not None} for s in setups]}
    setup_file, _ = _assert_loader_contract(scratch / "fuzz.yaml", yaml.safe_dump(document))
    if setup_file is None:
        return
    ledger = simulate([setup_file], _invented_barset())
    assert sorted(ledger.trades["setup_id"]) == sorted(s.id for s in setup_file.setups)
    assert ledger.trades["status"].notna().all()
    refused = ledger.trades[ledger.trades["status"].isin(["rejected", "no-data", "unresolved"])]
    assert refused["reason"].map(lambda r: isinstance(r, str) and r and "\n" not in r).all()


# ------------------------------------------------------------------------------------- bar files
CELL = st.one_of(
    st.sampled_from(["", "nan", "NaN", "null", "-", "n/a", "0", "-1", "1e308", "inf", "-inf", "1,5", "$10",
                     "2026-02-02", "2026-02-31", "1200-01-01", "99999-01-01", "2026-02-03T10:00:00-05:00",
                     "02/03/2026", "20260203", "\u00a0", '"', "'", "\\", ";"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**12, 10**12).map(str),
    st.dates(dt.date(1890, 1, 1), dt.date(2210, 1, 1)).map(str),
    st.text(max_size=6),
)
HEADER = st.one_of(
    st.just("date,open,high,low,close,volume"),
    st.permutations(["date", "open", "high", "low", "close", "volume"]).map(",".join),
    st.lists(st.sampled_from(["date", "Date", " open", "HIGH", "low", "close", "close", "adj close", "volume", "x", ""]),
             max_size=7).map(",".join),
)


@FUZZ
@given(HEADER, st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=25), st.sampled_from(["", "\r\n", "\x00"]))
def test_any_csv_bar_file_gives_bars_or_a_one_line_data_error(scratch, header, rows, tail):
    """Whatever a mirror file holds, the reader returns validated bars or a DataError naming the file."""
    from backtest.data.mirror import read_bar_file
    from backtest.errors import DataError

    path = scratch / "FUZZ.csv"
    body = "\n".join(",".join(cell.replace(",", " ").replace("\n", " ") for cell in row) for row in rows)
    path.write_text(header + "\n" + body + tail, encoding="utf-8", errors="surrogatepass")
    try:
        result = read_bar_file(path)
    except DataError as exc:
        assert exc.one_line().startswith(str(path)) and "\n" not in exc.one_line()
        return
    frame = result.frame
    assert len(frame) and frame.index.is_monotonic_increasing and not frame.index.has_duplicates
    prices = frame[["open", "high", "low", "close"]].to_numpy()
    assert (prices > 0).all() and (frame["high"] >= frame["low"]).all()
    assert (frame["session_open_ns"] < frame["session_close_ns"]).all()
