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


# ------------------------------------------------------------------ bylines, datelines, zones (issue 10)
PROSE = " ".join(["Breadth improved again as buyers stepped into cyclicals while bonds were flat."] * 4)


def _plain(header: str, extra: str = "") -> str:
    """An article in no particular house style: a title, a header line, prose."""
    return f"Desk Notes on the Tape\n{header}\n{PROSE}\n{extra}\n"


@pytest.mark.parametrize(
    "header, published",
    [
        ("March 3, 2025", dt.date(2025, 3, 3)),
        ("By Dana Reyes | March 3, 2025", dt.date(2025, 3, 3)),
        ("By Dana Reyes, Senior Strategist", None),  # a byline without a date is no date
        ("Mar 3, 2025 8:20 pm ET", dt.datetime(2025, 3, 4, 1, 20, tzinfo=UTC)),  # EST: UTC-5
        ("Mar. 3, 2025, 8:20 p.m. EST", dt.datetime(2025, 3, 4, 1, 20, tzinfo=UTC)),
        ("3 March 2025", dt.date(2025, 3, 3)),
        ("Tuesday, 4 March 2025 09:15 GMT", dt.datetime(2025, 3, 4, 9, 15, tzinfo=UTC)),
        ("Mon, 03 Mar 2025 14:30:00 GMT", dt.datetime(2025, 3, 3, 14, 30, tzinfo=UTC)),
        ("2025-03-03 14:30 UTC", dt.datetime(2025, 3, 3, 14, 30, tzinfo=UTC)),
        ("Market Desk · Jul 9, 2025 · 10:00 CT", dt.datetime(2025, 7, 9, 15, 0, tzinfo=UTC)),  # CDT: UTC-5
        ("Jan 9, 2025 10:00 PT", dt.datetime(2025, 1, 9, 18, 0, tzinfo=UTC)),  # PST: UTC-8
        ("July 9, 2025 10:00 AM PT", dt.datetime(2025, 7, 9, 17, 0, tzinfo=UTC)),  # PDT: UTC-7
        ("July 9, 2025 at 4:05 PM EST", dt.datetime(2025, 7, 9, 20, 5, tzinfo=UTC)),  # "EST" in July means New York time
        ("NEW YORK, March 3, 2025 (Desk Wire) - Futures were mixed.", dt.date(2025, 3, 3)),
        ("8:20 PM ET, March 3, 2025", dt.datetime(2025, 3, 4, 1, 20, tzinfo=UTC)),
        ("Dana Reyes | 03/04/2025 | 6 min read", dt.date(2025, 3, 4)),
        ("Posted by Dana Reyes on Mar 3, 2025", dt.date(2025, 3, 3)),
        ("Date: 2025/03/03", dt.date(2025, 3, 3)),
        # Markdown emphasis around the date line, a middle dot before the time or the rest of the line.
        ("**Tue, Jun 2, 2026 · 13:45 BST** · Desk staff · 4 min read", dt.datetime(2026, 6, 2, 12, 45, tzinfo=UTC)),
        ("*Jun 2, 2026 7:15 pm ET · all times Eastern*", dt.datetime(2026, 6, 2, 23, 15, tzinfo=UTC)),
        ("**2 June 2026** · Weekend charts", dt.date(2026, 6, 2)),
        # The date on one line, its time and zone on the next.
        ("Futures Plan — Tuesday, June 2, 2026\nPosted 6:55 am CT | front month", dt.datetime(2026, 6, 2, 11, 55, tzinfo=UTC)),
        ("Futures Plan — Tuesday, June 2, 2026\nFront month, levels unadjusted", dt.date(2026, 6, 2)),
        # Day-month-year with hyphens; a "Generated" stamp of a report.
        ("DESK LEVELS SHEET — Monday 17-Aug-2026, premarket", dt.date(2026, 8, 17)),
        ("Generated 2026-08-13 22:30 UTC · session plan for Friday", dt.datetime(2026, 8, 13, 22, 30, tzinfo=UTC)),
        # Nothing but symbols after the date: an emoji, stars.
        ("⚡ SIGNAL DESK — Posted 17-Aug-2026 09:50 ET ⚡", dt.datetime(2026, 8, 17, 13, 50, tzinfo=UTC)),
        ("Morning note — March 3, 2025 ★★★", dt.date(2025, 3, 3)),
        # Day-month-year with dashes (day first only when the first cannot be a month); a fixed-width header's gap
        ("Date: 22-05-2026 | Prepared by: the US desk", dt.date(2026, 5, 22)),
        ("RIDGE RESEARCH | WEEKLY TECHNICAL STRATEGY            13 March 2026", dt.date(2026, 3, 13)),
        # A recording's label
        ("File: memo_0616.m4a · recorded 06/16/2026 05:12 PT · length 4:41", dt.datetime(2026, 6, 16, 12, 12, tzinfo=UTC)),
        # Zones of other desks: India, Tokyo, Frankfurt (summer)
        # IST is India's, Ireland's or Israel's: not a zone read (so the line is no byline; never a guessed zone)
        ("Desk note — 14 Aug 2026, 09:15 IST", None),
        ("Desk note — 14 Aug 2026, 09:15 JST", dt.datetime(2026, 8, 14, 0, 15, tzinfo=UTC)),
        ("Published: 14.04.2026, 09:30 MESZ", dt.datetime(2026, 4, 14, 7, 30, tzinfo=UTC)),
        # A fixed-width header: the next field after two blanks
        ("[PAGER SVC] SENT 08/04/26 09:41 EDT  PG 1/1  MSGS 8", dt.datetime(2026, 8, 4, 13, 41, tzinfo=UTC)),
    ],
)
def test_bylines_and_datelines_are_stated_publications(header, published):
    a = parse_article_text(_plain(header), "x")
    assert a.published == published and type(a.published) is type(published)
    if published is None:
        assert a.published_basis is None and "no publication date" in a.published_note
    else:
        assert a.published_basis == "stated" and "stated in the" in a.published_note


def test_a_time_without_zone_in_a_byline_keeps_the_date_only():
    a = parse_article_text(_plain("2025-03-03 14:30"), "x")
    assert (a.published, a.published_basis) == (dt.date(2025, 3, 3), "stated")
    assert "no time zone" in a.published_note


def test_numeric_dates_say_which_order_was_read():
    a = parse_article_text(_plain("Desk | 03/04/2025"), "x")
    assert a.published == dt.date(2025, 3, 4) and "US order" in a.published_note
    a = parse_article_text(_plain("Desk | 25/03/2025"), "x")  # 25 cannot be a month: day first
    assert a.published == dt.date(2025, 3, 25) and "US order" not in a.published_note


@pytest.mark.parametrize(
    "header, context, published",
    [
        # The weekday picks the year among the context year and its neighbours.
        ("Posted Monday, March 3", "The index is still below its 2024 highs.", dt.date(2025, 3, 3)),
        ("Sun Jan 26 8:20 pm ET", "Flows have reversed since the 2024 election.", dt.datetime(2025, 1, 27, 1, 20, tzinfo=UTC)),
        ("Posted Monday, March 3", "As of February 28, 2025, breadth was narrow.", dt.date(2025, 3, 3)),
        ("Friday, March 3", "The index is still below its 2022 highs.", dt.date(2023, 3, 3)),  # 2023-03-03 was a Friday
        # No weekday: the context year.
        ("NEW YORK, March 3 (Desk Wire) - Futures were mixed.", "The index is still below its 2024 highs.",
         dt.date(2025, 3, 3)),
        # A month named with its year ("the May 2026 jobs report"), and an abbreviation with its full stop.
        ("NEW YORK, Sept. 4 (Desk Wire) -", "The August 2026 jobs report landed softer than hoped.",
         dt.date(2026, 9, 4)),
        ("**Thursday, Jun 4 · 4:10 pm ET**", "Traders now look to the June 17, 2026 Fed meeting.",
         dt.datetime(2026, 6, 4, 20, 10, tzinfo=UTC)),
        # Nothing else: the page's copyright notice (the last year of a range), when the weekday fits it.
        ("Thursday, Aug 13 (Desk note) - Futures opened firm.", "© 2026 Example Flow Partners",
         dt.date(2026, 8, 13)),
        ("Thursday, Aug 13 (Desk note) - Futures opened firm.", "Copyright (c) 2019-2026 Example Research",
         dt.date(2026, 8, 13)),
        # A year merely named ("reporting season for 2026"), when the byline's weekday fits it.
        ("*By Jo Whit · Posted Sun Jul 19 6:30 pm ET*", "Reporting season for 2026 moves into its heaviest stretch.",
         dt.datetime(2026, 7, 19, 22, 30, tzinfo=UTC)),
    ],
)
def test_yearless_bylines_take_the_year_from_context(header, context, published):
    a = parse_article_text(_plain(header, context), "x")
    assert (a.published, a.published_basis) == (published, "stated")
    assert "year" in a.published_note


@pytest.mark.parametrize("header, context", [
    ("*By Jo Whit · Posted Mon Jul 19 6:30 pm ET*", "Reporting season for 2026 moves on."),  # 2026-07-19 is a Sunday
    ("NEW YORK, Aug 13 (Desk) - Futures opened firm.", "Reporting season for 2026 moves on."),  # no weekday to check
    ("NEW YORK, Jul 19 (Desk) - Futures opened firm.", "© 2023 Example Partners"),  # a notice may be years old
    ("Posted Sun Jul 19 6:30 pm ET", "We could see a 2015-style flush."),  # a year as a kind, not a time
])
def test_a_year_merely_named_dates_only_a_byline_whose_weekday_fits_it(header, context):
    a = parse_article_text(_plain(header, context), "x")
    assert a.published is None and a.published_basis is None


def test_a_published_line_wins_over_a_recorded_one():
    a = parse_article_text(_plain("Recorded: Fri Jun 12, 2026 4:30 pm ET\nPublished: Mon Jun 15, 2026 6:00 am ET"), "x")
    assert a.published == dt.datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def test_a_month_named_since_or_back_in_a_year_is_no_year_for_a_dateline():
    a = parse_article_text(_plain("NEW YORK, Sept. 4 (Desk Wire) -", "Rates have not moved since March 2020."), "x")
    assert a.published is None


def test_yearless_byline_without_any_year_in_the_text_is_no_date():
    a = parse_article_text(_plain("Posted Monday, March 3"), "x")
    assert a.published is None and a.published_basis is None
    assert any("gives no year" in w for w in a.warnings)


@pytest.mark.parametrize("first_line, published", [
    ("desk chat 2026-02-17 14:05 utc", dt.datetime(2026, 2, 17, 14, 5, tzinfo=UTC)),
    ("Morning levels March 3, 2025", dt.date(2025, 3, 3)),
    ("stocks rallied into March 3, 2025.", None),  # a sentence, not a heading: it ends with a full stop
    ("the desk notes for all of our readers on March 3, 2025", None),  # more than three words before the date
])
def test_a_first_line_that_ends_with_its_date_is_a_dateline(first_line, published):
    a = parse_article_text(f"{first_line}\nnvda long 182.5 sl 176 tp 195\namd watching only\n", "x")
    if published is None:  # at most inferred from the date cited in the text, never stated
        assert a.published_basis != "stated"
    else:
        assert (a.published, a.published_basis) == (published, "stated")


def test_prose_mentioning_a_date_is_not_a_byline():
    a = parse_article_text(_plain("Stocks rallied hard in the week of March 3, 2025 after the jobs report."), "x")
    assert a.published_basis != "stated"


def test_published_beats_updated_whatever_the_order():
    text = _plain("Updated: March 5, 2025 9:00 AM ET", "Published: March 3, 2025 at 7:30 AM ET")
    a = parse_article_text(text, "x")
    assert a.published == dt.datetime(2025, 3, 3, 12, 30, tzinfo=UTC) and "Published line" in a.published_note
    a = parse_article_text(_plain("Updated: March 5, 2025 9:00 AM ET"), "x")
    assert a.published == dt.datetime(2025, 3, 5, 14, 0, tzinfo=UTC)


def test_no_date_anywhere_is_none_with_a_note_and_a_warning():
    a = parse_article_text(_plain("Weekly Desk Notes"), "x")
    assert (a.published, a.published_basis) == (None, None)
    assert "--published" in a.published_note and a.warnings == [a.published_note]


# ------------------------------------------------------------------ encodings and line endings (issue 14)
def _encoded_article():
    return "Desk Notes\n" + PROSE + "\nBuy IWM above $262 with a stop at $255.\ndatePublished: 2026-02-09 14:30 UTC\n"


@pytest.mark.parametrize("encoding, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                           ("utf-8", b"\xef\xbb\xbf"), ("utf-32-le", b"\xff\xfe\x00\x00"),
                                           ("utf-16-le", b""), ("utf-16-be", b"")])
def test_unicode_articles_with_or_without_a_byte_order_mark_are_read(tmp_path, encoding, bom):
    text = _encoded_article()
    path = tmp_path / "wide.txt"
    path.write_bytes(bom + text.encode(encoding))
    a = read_article(path)
    assert a.text == text and a.encoding == encoding  # the mark is not part of the text: offsets index `text`
    assert a.published == dt.datetime(2026, 2, 9, 14, 30, tzinfo=UTC)
    assert a.sha256 == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_cr_only_line_endings_read_like_lf(tmp_path):
    text = _encoded_article()
    path = tmp_path / "mac.txt"
    path.write_bytes(text.replace("\n", "\r").encode("utf-8"))
    a = read_article(path)
    assert a.text == text.replace("\n", "\r")  # decoded exactly as stored
    assert a.published == dt.datetime(2026, 2, 9, 14, 30, tzinfo=UTC) and a.published_basis == "stated"
    crlf = parse_article_text(text.replace("\n", "\r\n"), "x")
    assert crlf.published == a.published


def test_a_file_that_grows_past_the_limit_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    import backtest.articles.reader as reader

    path = tmp_path / "big.txt"
    path.write_text(_encoded_article(), encoding="utf-8")
    real_stat = type(path).stat

    def small_when_asked(self, **kw):  # the file "was" 10 bytes at stat() time and grew before the read
        st = real_stat(self, **kw)
        return type("S", (), {"st_size": 10, "st_mode": st.st_mode})() if self == path else st

    monkeypatch.setattr(reader, "MAX_BYTES", 200)
    monkeypatch.setattr(type(path), "stat", small_when_asked)
    with pytest.raises(ArticleError, match="limit"):
        read_article(path)


@pytest.mark.parametrize("blank", ["", "\n", "  \n\n"])
def test_a_date_published_line_at_the_top_opens_the_body_instead_of_ending_it(blank):
    # Strykr pages end with their datePublished line (the body stops there); other writers put it first,
    # and then it must not cut the body to nothing.
    text = (f"{blank}datePublished: 2026-03-10 13:05 UTC\n\nA note of ours: we buy ZED above $41 with a stop at $39.\n"
            "\ndatePublished: 2026-03-10 13:05 UTC\nSources (0)\n")
    article = parse_article_text(text, "top")
    start, end = article.sections["body"]
    assert "we buy ZED above $41" in text[start:end]
    assert "Sources" not in text[start:end] and text[start:end].count("datePublished") == 0
    assert article.published == dt.datetime(2026, 3, 10, 13, 5, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("header", [
    "> **Stance:** Neutral\n> **Strykr Pulse:** 52/100 — a quiet tape\n> **Threat Level:** 2/5",
    "Stance: **Neutral** | Strykr Pulse **52/100** | Threat Level **2/5**",
    "**Stance: Neutral**\n**Strykr Pulse:** 52/100\n**Threat Level:** 2/5",
])
def test_a_header_in_markdown_emphasis_is_read_and_a_later_threat_level_does_not_move_the_body(header):
    text = (f"# Utilities Stall Again\n\n{header}\n\n{PROSE}\n\nBuy XLU near $43.10 with a stop at $42.20.\n\n"
            "Nothing has changed our view this week. Threat Level 2/5.\n")
    a = parse_article_text(text, "x")
    assert (a.stance, a.pulse, a.threat) == ("neutral", 52, 2)
    body_start, body_end = a.sections["body"]
    assert text.index(PROSE) >= body_start and body_end > text.index("Buy XLU")
