"""Article files that are not plain text: e-mail messages, RSS/Atom feeds and JSON alerts (all invented).

docs/setup-format.md ("Article files"): an e-mail's encoded body is decoded and its Date header is its
publication; a feed's items are read like a page, its latest item date is the publication; a JSON alert is
read from its prose strings and its date member. Spans index the text the reader decoded, and the view
the quotes read through gives back the sentence.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import quopri

from click.testing import CliRunner

from backtest.articles import read_article
from backtest.articles.reader import decode_article_bytes, line_view
from backtest.cli import cli
from backtest.extraction.extractor import extract_article

UTC = dt.timezone.utc
CLOSES = {"XLE": 45.0, "XLU": 43.0, "XLV": 150.0, "NQ=F": 25000.0, "GC=F": 4700.0, "CL=F": 62.0}
PROSE = ("The desk spent the week watching energy and utilities trade in opposite directions while bond yields "
         "stayed in a narrow band and volumes stayed light.")


def extracted(path):
    article = read_article(path)
    setups = extract_article(article, lambda s, p: CLOSES.get(s)).setup_file.setups
    return article, [(s.symbol, s.direction, s.entry.type, s.entry.level, s.stop, s.targets) for s in setups]


def first_span_text(article, path) -> str:
    """The first setup's first span, read back as the quotes read it (decoded file, then its view)."""
    text, _ = decode_article_bytes(path.read_bytes(), str(path))
    setup = extract_article(article, lambda s, p: CLOSES.get(s)).setup_file.setups[0]
    span = setup.source.spans[0]
    return " ".join(line_view(text)[span.start:span.end].split())


def _email(body_headers: str, body: str) -> str:
    return ("From: \"Harbour Lane Letters\" <desk@harbourlane.example>\n"
            "To: members@harbourlane.example\n"
            "Subject: Energy note: selling the bounce\n"
            "Date: Tue, 14 Jul 2026 07:05:00 -0400\n"
            "Message-ID: <note-0714@harbourlane.example>\n"
            "MIME-Version: 1.0\n" + body_headers + "\n" + body)


def test_a_quoted_printable_email_is_decoded_and_dated_by_its_header(tmp_path):
    sentence = "Short XLE under $44.50 with a stop at $46.20 \u2014 first target $42.80, then $41.90."
    body = quopri.encodestring(f"{PROSE}\n\n{sentence}\n\n{PROSE}\n".encode("utf-8")).decode("ascii")
    path = tmp_path / "note.eml"
    path.write_text(_email('Content-Type: text/plain; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n',
                           body), encoding="ascii")
    assert "=E2=80=94" in path.read_text()  # the dash is encoded in the file, so the decoding is what is tested
    article, got = extracted(path)
    assert got == [("XLE", "short", "stop", 44.5, 46.2, [42.8, 41.9])]
    assert article.published == dt.datetime(2026, 7, 14, 11, 5, tzinfo=UTC) and article.published_basis == "stated"
    assert article.title == "Energy note: selling the bounce"
    assert "$44.50" in first_span_text(article, path)


def test_a_multipart_email_reads_its_plain_part_and_an_html_only_one_its_html(tmp_path):
    sentence = "Buy XLU on a dip to $42.10, stop $41.20, target $44.00."
    plain = f"{PROSE}\n\n{sentence}\n"
    page = f"<html><body><p>{PROSE}</p><p><b>{sentence}</b></p></body></html>"
    multipart = ('Content-Type: multipart/alternative; boundary="b1"\n',
                 "--b1\nContent-Type: text/plain; charset=utf-8\n\n" + plain +
                 "\n--b1\nContent-Type: text/html; charset=utf-8\n\n" + page.replace("42.10", "99.99") + "\n--b1--\n")
    html_only = ("Content-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                 base64.encodebytes(page.encode()).decode("ascii"))
    for name, (headers, body) in {"multi.eml": multipart, "html.eml": html_only}.items():
        path = tmp_path / name
        path.write_text(_email(headers, body), encoding="ascii")
        article, got = extracted(path)
        assert got == [("XLU", "long", "limit", 42.1, 41.2, [44.0])], name  # the plain part, not the HTML's 99.99
        assert article.published == dt.datetime(2026, 7, 14, 11, 5, tzinfo=UTC), name
        assert "$42.10" in first_span_text(article, path), name


def test_a_feed_is_read_like_a_page_and_dated_by_its_latest_item(tmp_path):
    older = "Buy XLU on a dip to 42.10, stop 41.20, target 44.00."
    newer = "Short crude (CL) into strength near 64.20, stop 65.10, objective 62.40."
    feed = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Harbour Lane desk alerts</title>
    <lastBuildDate>Fri, 17 Jul 2026 22:00:00 GMT</lastBuildDate>
    <item>
      <title>Utilities: buying the dip</title>
      <pubDate>Mon, 13 Jul 2026 13:30:00 GMT</pubDate>
      <description><![CDATA[<p>{PROSE}</p><p><strong>{older}</strong></p>]]></description>
    </item>
    <item>
      <title>Crude: fading the pop</title>
      <pubDate>Wed, 15 Jul 2026 14:45:00 GMT</pubDate>
      <description><![CDATA[<p>{PROSE}</p><p>{newer}</p>]]></description>
    </item>
  </channel>
</rss>
"""
    path = tmp_path / "alerts.xml"
    path.write_text(feed, encoding="utf-8")
    article, got = extracted(path)
    assert got == [("XLU", "long", "limit", 42.1, 41.2, [44.0]), ("CL=F", "short", "limit", 64.2, 65.1, [62.4])]
    # The latest item's date, not the first one's (nor the rebuild date): no setup counts as published
    # before its item was.
    assert article.published == dt.datetime(2026, 7, 15, 14, 45, tzinfo=UTC), article.published_note
    assert "latest of 2" in article.published_note and article.title == "Utilities: buying the dip"
    assert "42.10" in first_span_text(article, path)


def test_a_json_alert_is_read_from_its_message_and_dated_by_its_time(tmp_path):
    alert = {"source": "webhook", "time": "2026-06-16T13:45:00Z", "ticker": "NQ1!",
             "signal": {"entry": 30705.25, "stop_loss": 30540.0, "take_profit": [30880.0, 31050.0], "qty": 2},
             "context": {"rsi14": 61.2, "atr14": 182.4, "gap_pct": 0.16},
             "message": "NQ futures long on a break of 30705.25. Stop 30540, targets 30880 and 31050."}
    path = tmp_path / "alert.json"
    path.write_text(json.dumps(alert, indent=2), encoding="utf-8")
    article, got = extracted(path)
    assert got == [("NQ=F", "long", "stop", 30705.25, 30540.0, [30880.0, 31050.0])]  # no setup from the numbers
    assert article.published == dt.datetime(2026, 6, 16, 13, 45, tzinfo=UTC)
    assert "30705.25" in first_span_text(article, path)
    # Numbers alone, whatever their keys, are no setup: their meaning is the sender's schema.
    path.write_text(json.dumps({k: v for k, v in alert.items() if k != "message"}, indent=2), encoding="utf-8")
    assert extracted(path)[1] == []


def test_extract_reads_mail_and_feeds_in_a_directory_and_json_alerts_when_named(tmp_path):
    """A folder's .eml and .xml files are articles (an XML file of data is skipped with its reason); its
    .json files are left alone (data and settings live there too) unless named on the command line."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    sentence = "Buy XLE on a dip to 44.10, stop 43.20, target 46.00."
    (folder / "note.eml").write_text(_email("Content-Type: text/plain; charset=utf-8\n", f"{PROSE}\n{sentence}\n"),
                                     encoding="utf-8")
    (folder / "prices.xml").write_text("<?xml version='1.0'?>\n<closes>" + "<c>44.1</c><c>44.3</c>" * 50 + "</closes>\n",
                                       encoding="utf-8")
    alert = folder / "alert.json"
    alert.write_text(json.dumps({"time": "2026-06-16T13:45:00Z", "message": f"{PROSE} {sentence}"}), encoding="utf-8")
    out = tmp_path / "setups"
    result = CliRunner().invoke(cli, ["--offline", "extract", str(folder), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["note.yaml"]
    skipped = [line for line in result.output.splitlines() if "prices.xml" in line]
    assert len(skipped) == 1 and "not an article" in skipped[0], result.output
    result = CliRunner().invoke(cli, ["--offline", "extract", str(alert), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["alert.yaml", "note.yaml"]


def test_a_json_array_of_alerts_is_dated_by_its_latest_and_escapes_read_as_text(tmp_path):
    alerts = [{"time": "2026-06-10T13:00:00Z", "message": "Buy XLE above 44, stop 42, for the week ahead."},
              {"time": "2026-06-16T13:00:00Z", "message": "Short XLU under 43.50 now\nStop loss at 44.40, target 42."}]
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps(alerts, indent=1), encoding="utf-8")
    article, got = extracted(path)
    assert article.published == dt.datetime(2026, 6, 16, 13, 0, tzinfo=UTC)  # no alert predates itself
    assert got == [("XLE", "long", "stop", 44.0, 42.0, []), ("XLU", "short", "stop", 43.5, 44.4, [42.0])]


def test_a_markdown_page_that_opens_with_a_link_is_not_read_as_json(tmp_path):
    path = tmp_path / "page.md"
    path.write_text('[Home](/) / [Notes](/n)\n\nPublished: June 3, 2026\n\nThe "key": "value" pairs are set up. '
                    f"{PROSE} Buy XLE at 44, stop 42.\n", encoding="utf-8")
    article, got = extracted(path)
    assert article.published == dt.date(2026, 6, 3) and got == [("XLE", "long", "limit", 44.0, 42.0, [])]


def test_an_atom_entry_with_only_its_updated_date_counts(tmp_path):
    feed = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <entry><title>Energy</title><published>2026-06-10T13:00:00Z</published>
    <content type="html"><![CDATA[<p>{PROSE}</p><p>Buy XLE above 44, stop 42.</p>]]></content></entry>
  <entry><title>Utilities</title><updated>2026-06-16T13:00:00Z</updated>
    <content type="html"><![CDATA[<p>{PROSE}</p><p>Short XLU under 43.50, stop 44.40.</p>]]></content></entry>
</feed>
"""
    path = tmp_path / "feed.atom"
    path.write_text(feed, encoding="utf-8")
    article, got = extracted(path)
    assert article.published == dt.datetime(2026, 6, 16, 13, 0, tzinfo=UTC) and len(got) == 2
