"""Article reader: metadata of the five seed articles, bad inputs, and never crashing on odd text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backtest.articles import parse_article_text, read_article
from backtest.errors import ArticleError

UTC = dt.timezone.utc

EXPECTED = {
    # id prefix: (format, published, basis, stance, pulse, threat, has title)
    "000": ("plain", dt.datetime(2026, 2, 8, 17, 30, tzinfo=UTC), "stated", "neutral", 52, 3, False),
    "001": ("plain", dt.datetime(2026, 2, 8, 22, 0, tzinfo=UTC), "stated", "bullish", 74, 3, False),
    "002": ("web", dt.date(2026, 2, 8), "inferred", "bullish", 62, 3, True),
    "003": ("plain", dt.datetime(2026, 2, 2, 3, 45, tzinfo=UTC), "stated", "bearish", 40, 3, False),
    "004": ("web", dt.date(2026, 2, 1), "inferred", "neutral", 61, 2, True),
}


def _article(articles_dir, prefix):
    (path,) = sorted(articles_dir.glob(f"{prefix}_*.txt"))
    return read_article(path)


@pytest.mark.parametrize("prefix", sorted(EXPECTED))
def test_seed_article_metadata(articles_dir, prefix):
    fmt, published, basis, stance, pulse, threat, has_title = EXPECTED[prefix]
    a = _article(articles_dir, prefix)
    assert a.id.startswith(prefix + "_")
    assert a.format == fmt
    assert a.published == published and type(a.published) is type(published)
    assert a.published_basis == basis
    assert (a.stance, a.pulse, a.threat) == (stance, pulse, threat)
    assert (a.title is not None) == has_title
    assert len(a.sources) == 5
    assert set(a.sections) == {"body", "watch", "take"}
    assert len(a.sha256) == 64
    assert not a.warnings


def test_sections_are_bounds_into_the_text(articles_dir):
    a = _article(articles_dir, "001")
    watch = a.section("watch")
    assert "2,100" in watch and "Sources (" not in watch
    assert "datePublished" not in a.section("take")
    body_start, body_end = a.sections["body"]
    assert body_end <= a.sections["watch"][0] < a.sections["take"][0]
    assert "Threat Level" not in a.text[body_start:body_end]  # the header line is not body


def test_web_page_title_tags_and_source_dates(articles_dir):
    a = _article(articles_dir, "002")
    assert a.title.startswith("Small-Cap Stocks Stage a Stealth Comeback")
    assert a.tags[:2] == ["small-caps", "russell-2000"]
    assert {s.outlet for s in a.sources} >= {"barrons.com", "marketwatch.com", "seekingalpha.com"}
    assert {s.date for s in a.sources} == {"2026-02-08"}
    # The year came from the text's past-year mentions, and the note says so.
    assert "2025" in a.published_note and "2026" in a.published_note


def test_as_of_date_sets_the_year(articles_dir):
    a = _article(articles_dir, "004")
    assert a.published == dt.date(2026, 2, 1)
    assert "2026" in a.published_note


def _text(extra=""):
    prose = " ".join(["The market drifted sideways as traders waited for the jobs report."] * 6)
    return f"Strykr Analysis\nBullishStrykr Pulse 70/100. Fine. Threat Level 2/5.\n{prose}\n{extra}"


def test_stated_time_with_offset_and_iso_forms():
    a = parse_article_text(_text("datePublished: 2026-03-02T14:00:00-05:00\n"), "x")
    assert a.published == dt.datetime(2026, 3, 2, 19, 0, tzinfo=UTC)
    a = parse_article_text(_text("datePublished: 2026-03-02 09:15 UTC\n"), "x")
    assert a.published == dt.datetime(2026, 3, 2, 9, 15, tzinfo=UTC) and a.published_basis == "stated"


def test_stated_time_in_words_with_new_york_time():
    a = parse_article_text(_text("Published: February 9, 2026 at 10:15 AM ET\n"), "x")
    assert a.published == dt.datetime(2026, 2, 9, 15, 15, tzinfo=UTC) and a.published_basis == "stated"
    a = parse_article_text(_text("Published: March 3, 2026\n"), "x")
    assert a.published == dt.date(2026, 3, 3) and a.published_basis == "stated"


@pytest.mark.parametrize(
    "line, utc",
    [
        ("datePublished: 2026-02-09 10:00 ET", dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC)),  # EST: UTC-5
        ("datePublished: 2026-07-09 10:00 EDT", dt.datetime(2026, 7, 9, 14, 0, tzinfo=UTC)),  # EDT: UTC-4
        ("datePublished: 2026-07-09 10:00 ET", dt.datetime(2026, 7, 9, 14, 0, tzinfo=UTC)),  # daylight saving
        ("datePublished: 2026-02-09 10:00 EST", dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC)),
        ("datePublished: 2026-02-09 03:30 PM ET", dt.datetime(2026, 2, 9, 20, 30, tzinfo=UTC)),
        ("datePublished: 2026-02-09 10:00 (New York time)", dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC)),
    ],
)
def test_new_york_times_are_not_read_as_utc(line, utc):
    a = parse_article_text(_text(line + "\n"), "x")
    assert (a.published, a.published_basis) == (utc, "stated")


@pytest.mark.parametrize(
    "line",
    ["datePublished: 2026-02-09 10:00", "datePublished: 2026-02-09T10:00:00", "Published: February 9, 2026 at 10:15 AM"],
)
def test_time_without_zone_keeps_only_the_date_and_says_so(line):
    """10:00 in an unknown zone could be up to a day off; the date alone (after that close) cannot look ahead."""
    a = parse_article_text(_text(line + "\n"), "x")
    assert (a.published, a.published_basis) == (dt.date(2026, 2, 9), "stated")
    assert "no time zone" in a.published_note and "after that day's close" in a.published_note


def test_zone_on_the_next_line_is_not_taken_for_the_stated_time():
    a = parse_article_text(_text("datePublished: 2026-02-09 10:00\nET futures rose on the news.\n"), "x")
    assert a.published == dt.date(2026, 2, 9)


def test_year_from_past_year_mentions_when_sources_have_none():
    body = _text("Strykr Watch\nThe index is still below its 2024 highs.\nSources (1)\nA headline\n\nwsj.com·Mar 3\n")
    a = parse_article_text(body, "x")
    assert a.published == dt.date(2025, 3, 3) and a.published_basis == "inferred"
    assert "2024" in a.published_note


def test_no_date_at_all_leaves_published_empty():
    a = parse_article_text(_text(), "x")
    assert a.published is None and a.stance == "bullish" and a.pulse == 70


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01binary\x00" * 50, "binary"),
        ("Caf\u00e9 ".encode("latin-1") * 40, "UTF-8"),
        (b"date,open,high,low,close\n" + b"2026-01-02,1,2,0.5,1.5\n" * 50, "not an article"),
        (b"Too short to be an article.", "not an article"),
    ],
)
def test_bad_inputs_raise_one_line_article_errors(tmp_path, content, reason):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleError) as info:
        read_article(path)
    message = info.value.one_line()
    assert reason in message and str(path) in message and "\n" not in message


def test_too_large_file_is_refused_before_reading(tmp_path, monkeypatch):
    import backtest.articles.reader as reader

    path = tmp_path / "big.txt"
    path.write_text(_text() * 3, encoding="utf-8")
    monkeypatch.setattr(reader, "MAX_BYTES", 100)
    with pytest.raises(ArticleError, match="MB limit"):
        read_article(path)


def test_missing_file_is_an_article_error(tmp_path):
    with pytest.raises(ArticleError, match="cannot read"):
        read_article(tmp_path / "nope.txt")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_reader_never_raises_on_arbitrary_text(text):
    a = parse_article_text(text, "fuzz")
    for start, end in a.sections.values():
        assert 0 <= start <= end <= len(text)
    # parse_article_text turns any exception into this warning, so a crash is only visible here.
    assert not any(w.startswith("reader stopped early") for w in a.warnings), a.warnings


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([
    "Strykr Watch", "Strykr Take", "Sources (3)", "datePublished: 2026-13-45 99:99 UTC", "BullishStrykr Pulse 999/100",
    "Threat Level 9/5", "#tag#other", "wsj.com·Feb 30", "As of February 30, 2026", "Skip to main content", "x | Strykr",
    "Support at $2,040.", "", "Back to News", "62", "Score", "datePublished: 2026-02-09 10:00 ET",
    "datePublished: 2026-02-09 13:30 PM EST", "datePublished: 2026-02-09T10:00", "Published: February 9, 2026 at 0:15 AM",
    "datePublished: 2026-02-09 10:00 +99:99", "Published: Feb 30, 2026 at 10:15 New York time",
]), max_size=30))
def test_reader_never_raises_on_scrambled_article_parts(lines):
    a = parse_article_text("\n".join(lines), "fuzz")
    assert not any(w.startswith("reader stopped early") for w in a.warnings), a.warnings
    assert a.pulse is None or 0 <= a.pulse <= 100
    assert a.threat is None or 0 <= a.threat <= 5
