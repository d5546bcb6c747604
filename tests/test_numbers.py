"""Number parser: levels vs. the many numbers that are not levels."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.extraction.numbers import find_numbers, format_level, parse_number


@pytest.mark.parametrize(
    "token, value",
    [("$2,080", 2080.0), ("2,100", 2100.0), ("1.35k", 1350.0), ("2.1K", 2100.0), ("$141.06", 141.06),
     ("255", 255.0), ("$1,234,567.5", 1234567.5), ("-3.5", -3.5)],
)
def test_parse_number(token, value):
    assert parse_number(token) == pytest.approx(value)


@pytest.mark.parametrize("token", ["", "abc", "2,08", "$", "1.2.3"])
def test_parse_number_rejects_non_numbers(token):
    with pytest.raises(ValueError):
        parse_number(token)


def _levels(text):
    return [(m.values) for m in find_numbers(text) if m.is_level]


@pytest.mark.parametrize(
    "text, levels",
    [
        ("buying above $2,080 with a stop at $2,000", [[2080.0], [2000.0]]),
        ("key resistance at the 4,900–5,000 level", [[4900.0, 5000.0]]),  # en dash
        ("a range of 4,900-5,000 for now", [[4900.0, 5000.0]]),  # hyphen
        ("key resistance at the 4,900 - 5,000 zone", [[4900.0, 5000.0]]),  # spaced hyphen, not -5,000
        ("key resistance at the 4,900 − 5,000 zone", [[4900.0, 5000.0]]),  # spaced minus sign
        ("a $255 - $265 range", [[255.0, 265.0]]),
        ("between $139 and $143", [[139.0], [143.0]]),
        ("a breakout at 1.35k on the index", [[1350.0]]),
        ("stuck in neutral at $141.06", [[141.06]]),
        ("the Russell 2000 at 2,100", [[2100.0]]),  # the index name is not a level
    ],
)
def test_levels_found(text, levels):
    assert _levels(text) == levels


@pytest.mark.parametrize(
    "text, kind",
    [
        ("drain $62 billion from markets", "amount"),
        ("a potential $80 billion in stock selling", "amount"),
        ("with the Dow past 50,000", "milestone"),
        ("RSI remains below overbought territory at 63", "indicator"),
        ("a +2.3% move", "percent"),
        ("the VIX hovering around 15", "indicator"),
        ("a forward P/E of 14x", "multiple"),
        ("a 3-month high", "period"),
        ("Strykr Pulse 74/100", "score"),
        ("the 200-day moving average", "period"),
        ("open interest at the $2,200 and $2,000 strikes", "strike"),
        ("take out a $50K loan", "amount"),
        ("down 7% from its 2025 highs", "percent"),
        ("RSI is in the mid-50s", "decade"),
    ],
)
def test_non_levels(text, kind):
    found = find_numbers(text)
    assert found, text
    assert not any(m.is_level for m in found), [(m.kind, m.value) for m in found]
    assert found[0].kind == kind


def test_dates_and_years_are_not_levels():
    kinds = [m.kind for m in find_numbers("As of February 1, 2026, since early 2025 and pre-2022 highs; Feb 8")]
    assert kinds == ["date", "year", "year", "year", "date"]


@pytest.mark.parametrize(
    "text, levels",
    [
        ("buy above 2050, stop 1980, target 2150", [[2050.0], [1980.0], [2150.0]]),
        ("a test of the 2100 level", [[2100.0]]),
        ("resistance 2080, support 1950", [[2080.0], [1950.0]]),
        ("stop at 1980, a target of 2050, support near 1950", [[1980.0], [2050.0], [1950.0]]),
        ("stop-loss 1990 and entry 2010", [[1990.0], [2010.0]]),
        ("a floor at 1920 and a ceiling of 2090", [[1920.0], [2090.0]]),
    ],
)
def test_year_shaped_levels_with_a_level_cue_are_levels(text, levels):
    """1900-2100 without a comma is a level when a level word is right before or after it."""
    assert _levels(text) == levels


@pytest.mark.parametrize(
    "text",
    ["the rally in 2025 was broad", "still 7% below its 2025 highs", "flat since early 2025",
     "As of February 1, 2026, breadth improved", "the index closed above 2025 highs", "the 2008 crisis"],
)
def test_years_in_prose_stay_years(text):
    years = [m.value for m in find_numbers(text) if m.kind == "year"]
    assert years and not _levels(text), [(m.kind, m.value) for m in find_numbers(text)]


def test_both_strikes_share_the_unit():
    assert [m.kind for m in find_numbers("the $2,200 and $2,000 strikes")] == ["strike", "strike"]


def test_spans_point_at_the_number():
    text = "Support sits at 2,040, then $1,950."
    for m in find_numbers(text):
        assert parse_number(text[m.start:m.end]) == m.value


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=10, max_value=999_999), st.decimals(min_value=10, max_value=99_999, places=2).map(float)))
def test_formatted_levels_round_trip(value):
    """format_level writes what articles write; the parser reads back the same level from prose."""
    written = format_level(value)
    assert parse_number(written) == pytest.approx(value)
    assert parse_number("$" + written) == pytest.approx(value)
    found = [m for m in find_numbers(f"a break above ${written} is the trigger") if m.is_level]
    assert [m.value for m in found] == [pytest.approx(value)]


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_find_numbers_never_raises(text):
    for m in find_numbers(text):
        assert 0 <= m.start <= m.end <= len(text)


def test_the_words_after_a_number_are_on_its_own_line():
    # "PT" on the next line is a target label, not "points"; "T/P" not "trillion"
    assert [(n.value, n.kind) for n in find_numbers("S/L 366\nPT 330\n")] == [(366.0, "level"), (330.0, "level")]
    assert [(n.value, n.kind) for n in find_numbers("S/L 629\nT/P 1: 676\n")] == [
        (629.0, "level"), (1.0, "count"), (676.0, "level")]
