"""Read a market-commentary article into an :class:`Article`: metadata, sections and the decoded text.

Two page formats occur and both are handled by the same cues rather than by a format switch:

* *plain*: starts with "Strykr Analysis", the stance glued to the score ("BullishStrykr Pulse 74/100"),
  "Threat Level 3/5", a ``datePublished:`` line and "Sources (5)" followed by title/snippet pairs;
* *web*: a scraped page ("Skip to main content", "Back to News", the title, "62 Score", a "Strykr
  Analysis" block, sources whose last line is "outlet·Feb 8", ``#tags``, no ``datePublished``).

Other authors' commentary without these markers still reads: the whole text is then the body, and the
publication date comes from a ``datePublished``/``Published:`` line or the dates in the text.

**Publication time** (what the no-look-ahead rule hangs on) is read by :mod:`backtest.articles.dates`:
``stated`` from a ``datePublished``/``Published:``/``Posted``/``Date:`` line or a byline or dateline near the
top (US time zones with daylight saving; a time without a zone keeps only its date), else ``inferred`` from
the sources' dates and "As of February 1, 2026"-style dates (date only), else None (the article is still
extracted; ``published_note`` says why). A date without a year ("·Feb 8", "Posted Monday, March 3") takes
its year from full dates in the text, else from years the text treats as present or past ("its 2025 highs"
→ 2026); how the year was chosen is kept in ``published_note``, never guessed silently.

**Encoding**: UTF-8 (a UTF-8 byte-order mark is dropped), or UTF-16/UTF-32 when the file starts with their
byte-order mark (UTF-16 without one is recognised by its zero bytes). **Offsets** (section bounds,
provenance spans) index the decoded text (:attr:`Article.text`) exactly as decoded: no newline
translation, no stripping, so a span can always be checked with ``read_article(path).text[start:end]``.
Line endings may be LF, CRLF or CR alone; :func:`line_view` gives a same-length copy with every line break
as one LF, which is what the cues and the sentence splitter read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import stat
from pathlib import Path

from ..common import SourceRef
from ..errors import ArticleError
from . import dates

#: File suffixes read as articles when a directory is given (extract and run use this one tuple): text,
#: Markdown, HTML, e-mail messages, RSS/Atom feeds (docs/setup-format.md, "Article files"). A JSON alert is
#: read when named (`extract alerts/*.json`): a folder's ``.json`` files are more often data or settings.
ARTICLE_SUFFIXES = (".txt", ".md", ".text", ".html", ".htm", ".eml", ".xml", ".rss", ".atom")
#: Note and warning for an article whose date cannot be read (it is still extracted, with ``published: null``).
NO_DATE_NOTE = ("no publication date found (no datePublished/Published/byline date, no dated sources or 'as of' "
                "date); set one with `backtest extract --published DATE` before `backtest run`")
MAX_BYTES = 20 * 1024 * 1024
MIN_WORDS = 8
#: A prose word (what :func:`_prose_words` counts, without running this pattern).
_PROSE_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
_ROW_SEPARATOR = re.compile(r";|\t|,(?!\d{3})")
_DIGIT = re.compile(r"\d")
_WORD3 = re.compile(r"[A-Za-z]{3,}")

_MONTH_NUM = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"

_FULL_DATE = re.compile(_MONTH + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{2})\b", re.I)
_AS_OF = re.compile(r"\b(?:as\s+of|as\s+at|on|today,?|published)\s+(?:\w+day,?\s+)?" + _FULL_DATE.pattern, re.I)
# Full dates are found from their year (a digit pattern scans fast), then read backwards over a short window.
_YEAR_DIGITS = re.compile(r"(?:19|20)\d{2}(?!\d)(?!,\d{3})")
_FULL_DATE_BEFORE = dates.NoCase(_MONTH + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+$")
_AS_OF_BEFORE = dates.NoCase(r"\b(?:as\s+of|as\s+at|on|today,?|published)\s+(?:\w+day,?\s+)?$")
_SOURCE_DATE = re.compile(r"^(?P<outlet>[^\n·]{1,80}?)\s*·\s*" + _MONTH + r"\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?\s*$", re.I)
_YEAR = re.compile(r"(?P<year>(?:19|20)\d{2})(?<![\d,.$]\d{4})(?![\d,])")
_PAST_YEAR_CUE = re.compile(
    r"(?:\b(?:its|their|the|since|from|in|during|of|pre|post|early|late|mid|last)\s*-?\s*(?:early\s+|late\s+|mid-)?$)", re.I)
_PAST_YEAR_AFTER = re.compile(r"^\s*(?:highs?|lows?|peaks?|bottoms?|levels?|rally|selloff|sell-off|crash|mania|bear|bull|'s)", re.I)
#: A year named as a kind, not a time: "a 2015-style flush", "2008-like".
_YEAR_AS_KIND = re.compile(r"-(?:style|like|era|type|vintage)\b", re.I)
_COPYRIGHT = re.compile(r"(?:©|\([cC]\)|[Cc]opyright)[ \t]*(?:©[ \t]*)?(?:(?:19|20)\d{2}[ \t]*[-–][ \t]*)?"
                        r"(?P<year>(?:19|20)\d{2})(?![\d,.])")
_PRESENT_YEAR = re.compile(r"\b(?:in|this\s+year,?|so\s+far\s+in|year-to-date\s+in)\s+(?P<year>(?:19|20)\d{2}),\s+(?:it|the|we|small|large|markets?|stocks?)", re.I)

_STANCE = re.compile(r"(?P<stance>Bullish|Bearish|Neutral)\s*(?:\n\s*)*Strykr\s+Pulse", re.I)
# Markdown emphasis may wrap the label, the value or both: "**Stance:** Neutral", "Threat Level **3/5**".
_STANCE_LOOSE = re.compile(r"\b(?:stance|bias|outlook|sentiment|rating)[ \t*_]*[:=][ \t*_]*(?P<stance>bullish|bearish|neutral)\b",
                           re.I)
_PULSE = re.compile(r"\bPulse[ \t*_]*(?::[ \t*_]*)?(?P<score>\d{1,3})\s*/\s*100\b", re.I)
_SCORE_WEB = re.compile(r"^\s*(?P<score>\d{1,3})\s*\n\s*Score\s*$", re.M)
_THREAT = re.compile(r"\bThreat\s+Level[ \t*_]*(?::[ \t*_]*)?(?P<level>\d)\s*/\s*5\b", re.I)
_SOURCES_HEAD = re.compile(r"^[ \t]*Sources\s*\((?P<n>\d+)\)[ \t]*$", re.M)
_TAG_LINE = re.compile(r"^[ \t]*#[\w-]+(?:\s*#[\w-]+)*[ \t]*$", re.M)
_TITLE_LINE = re.compile(r"^[ \t]*(?:title|headline|subject)\s*:\s*(?P<t>\S.{3,300})$", re.I | re.M)
#: A feed's first item's (or entry's) title: the alert the file carries.
_FEED_TITLE = re.compile(r"<(?:item|entry)\b.*?<title[^>]*>\s*(?:<!\[CDATA\[)?(?P<t>[^<\]]{3,300}?)\s*(?:\]\]>)?\s*</title>",
                         re.I | re.S)
_FOOTER_TITLE = re.compile(r"^(?P<title>[^\n|]{10,300}?)\s*\|\s*Strykr\b", re.M)
_HEADING = {
    "watch": re.compile(r"^[ \t]*Strykr\s+Watch[ \t]*$", re.M),
    "take": re.compile(r"^[ \t]*Strykr\s+Take[ \t]*$", re.M),
    "analysis": re.compile(r"^[ \t]*Strykr\s+Analysis[ \t]*$", re.M),
}
_END_MARKERS = re.compile(
    r"^[ \t]*(?:datePublished\s*:|Sources\s*\(\d+\)|Get Real-Time Alerts|Related Articles|#[\w-]+\s*#)", re.M)
_END_KEYS = ("datePublished", "Sources", "Get Real-Time Alerts", "Related Articles", "#")


@dataclasses.dataclass
class Article:
    """One article: identity, metadata and section bounds into ``text`` (the decoded file).

    ``sections`` maps ``body``/``watch``/``take`` to ``(start, end)`` offsets; missing sections are absent.
    ``published`` is an aware datetime (stated time), a date (date only: after that day's close) or None.
    """

    id: str
    text: str
    path: str | None = None
    sha256: str | None = None
    format: str = "other"
    title: str | None = None
    published: dt.datetime | dt.date | None = None
    published_basis: str | None = None
    published_note: str | None = None
    stance: str | None = None
    pulse: int | None = None
    threat: int | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    sources: list[SourceRef] = dataclasses.field(default_factory=list)
    sections: dict[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    warnings: list[str] = dataclasses.field(default_factory=list)
    encoding: str = "utf-8"

    def section(self, name: str) -> str:
        """The text of one section ('' when the article has none)."""
        start, end = self.sections.get(name, (0, 0))
        return self.text[start:end]

    @property
    def analysis_span(self) -> tuple[int, int]:
        """Where setups may come from: body start to take end (sources and page chrome excluded)."""
        bounds = list(self.sections.values())
        if not bounds:
            return (0, len(self.text))
        return (min(s for s, _ in bounds), max(e for _, e in bounds))


# ------------------------------------------------------------------------------------------ reading
def read_article(path: str | Path) -> Article:
    """Read one article file. Raises :class:`ArticleError` (one line) for anything that is not an article."""
    path = Path(path)
    where = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}", where=where, hint="check the path") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArticleError("not a regular file", where=where, hint="give an article file or a directory of them")
    size = info.st_size
    if size > MAX_BYTES:
        raise ArticleError(f"file is {size / 1e6:.1f} MB, more than the {MAX_BYTES // (1024 * 1024)} MB limit for an article",
                           where=where, hint="split it or check that it is an article")
    try:
        with open(path, "rb") as handle:
            # The size stat() gave, and one byte more to see the file grew since; never more than the limit.
            raw = handle.read(min(size, MAX_BYTES) + 1)
            if len(raw) > size:
                raw += handle.read(MAX_BYTES + 1 - len(raw))
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}", where=where, hint="check permissions") from None
    if len(raw) > MAX_BYTES:
        raise ArticleError(f"file is over the {MAX_BYTES // (1024 * 1024)} MB limit for an article", where=where,
                           hint="split it or check that it is an article")
    return parse_article_bytes(raw, path.stem, path=where)


def parse_article_bytes(raw: bytes, article_id: str, path: str | None = None) -> Article:
    """Decode and check bytes, then :func:`parse_article_text`. Raises :class:`ArticleError` if not an article."""
    where = path or article_id
    text, encoding = decode_article_bytes(raw, where)
    if not text or text.isspace():  # (not a stripped copy of the whole text)
        raise ArticleError("file is empty", where=where, hint="nothing to extract")
    problem = not_an_article_reason(text)
    if problem:
        raise ArticleError(f"not an article: {problem}", where=where)
    article = parse_article_text(text, article_id)
    article.path = path
    article.sha256 = hashlib.sha256(raw).hexdigest()
    article.encoding = encoding
    return article


_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
)


def decode_article_bytes(raw: bytes, where: str = "article") -> tuple[str, str]:
    """(decoded text, encoding name). Raises :class:`ArticleError` for binary or undecodable bytes.

    A byte-order mark picks UTF-8, UTF-16 or UTF-32 and is not part of the text (offsets index the text
    after it). Without one: UTF-16 when every other byte of the start is zero (ASCII text saved as UTF-16),
    else UTF-8. Other NUL bytes mean a binary file.
    """
    encoding, body = None, raw
    for bom, name in _BOMS:
        if raw.startswith(bom):
            encoding, body = name, raw[len(bom):]
            break
    if encoding is None:
        encoding = _bomless_utf16(raw) or "utf-8"
        if encoding == "utf-8" and raw.find(b"\x00", 0, 8192) >= 0:
            raise ArticleError("binary file (contains NUL bytes), not a text article", where=where)
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        if encoding == "utf-8":
            raise ArticleError(f"not UTF-8 text (bad byte at offset {exc.start})", where=where,
                               hint="re-save the article as UTF-8") from None
        raise ArticleError(f"not valid {encoding.upper()} text (bad bytes at offset {exc.start})", where=where,
                           hint="re-save the article as UTF-8") from None
    # A NUL character is a NUL byte in UTF-8, so bytes without one need no look through the text.
    if (encoding != "utf-8" or b"\x00" in body) and text.find("\x00", 0, 8192) >= 0:
        raise ArticleError("binary file (contains NUL characters), not a text article", where=where)
    if _EMAIL_HEAD.match(text):
        text = _email_text(text, where)
    return text, encoding


#: The start of an e-mail message: three or more header lines ("From: ...", "Subject: ...", folded lines).
_EMAIL_HEAD = re.compile(r"(?:(?:From|To|Cc|Subject|Date|Received|Return-Path|Reply-To|Delivered-To|Sender|"
                         r"MIME-Version|Message-ID|Content-Type|Content-Transfer-Encoding|X-[A-Za-z0-9-]+)"
                         r":[^\n]*\n(?:[ \t][^\n]*\n)*){3}")
#: Header lines kept above an e-mail's decoded body: where its date and title are read from.
_EMAIL_KEPT = ("Subject", "From", "Date")


def _email_text(text: str, where: str) -> str:
    """An e-mail message as the article it carries: a plain one as it is; one whose body is encoded
    (quoted-printable, base64) or in parts (text and HTML alternatives) as its Subject, From and Date
    lines, a blank line and its body decoded: the plain-text part, else the HTML part with its tags
    blanked. This is the text that spans index (:mod:`backtest.setups.quotes` decodes the file the same
    way)."""
    import email
    import email.policy

    head_end = text.find("\n\n")
    head = (text if head_end < 0 else text[:head_end]).lower()
    if "multipart/" not in head and "quoted-printable" not in head and "base64" not in head:
        return text  # its text is its body: offsets stay those of the file
    try:
        message = email.message_from_string(text, policy=email.policy.default)
        part = message.get_body(preferencelist=("plain", "html"))
        body = part.get_content() if part is not None else ""
        if part is not None and part.get_content_subtype() == "html":
            body = _blank_html(body)
    except Exception as exc:  # noqa: BLE001 - a malformed message is reported, never a traceback
        raise ArticleError(f"e-mail message cannot be decoded ({type(exc).__name__}: {exc})", where=where,
                           hint="save the message's text as a .txt file") from None
    headers = "".join(f"{name}: {' '.join(str(message[name]).split())}\n" for name in _EMAIL_KEPT
                      if message[name] is not None)
    return f"{headers}\n{body}"


def _bomless_utf16(raw: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when the first bytes look like ASCII text stored in 16-bit units."""
    if raw.find(b"\x00", 0, 4096) < 0:
        return None  # both tests below need zero bytes (most files: no slicing and counting)
    head = raw[:4096]
    if len(head) < 8 or len(head) % 2:
        head = head[: len(head) - (len(head) % 2)]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) >= 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def line_view(text: str) -> str:
    """``text`` as the cues read it, same length: every line break one LF (CRLF → " \\n", a lone CR → "\\n");
    in an HTML page the tags, comments, scripts and entities blanked (a block end such as ``</p>`` becomes a
    line break).

    Offsets into the view are offsets into ``text``, so cues and spans can be found on the view.
    """
    view = text.replace("\r\n", " \n").replace("\r", "\n") if "\r" in text else text
    if looks_like_html(view):
        view = _blank_html(view)
    elif _FEED_START.match(view):
        view = _blank_html(_FEED_DATE.sub(_feed_date_label, _CDATA.sub(_blanks, view)))
    elif view.lstrip()[:1] in ("{", "[") and _JSON_PAIR.search(view, 0, 2000) and _is_json(view):
        view = _json_view(view)
    return view


#: An RSS or Atom feed (an XML file): its items' HTML is read like a page, its date tags as labels.
_FEED_START = re.compile(r"\s*(?:<\?xml\b[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF|channel|item|entry)\b", re.S)
_CDATA = re.compile(r"<!\[CDATA\[|\]\]>|<\?[^>]{0,300}\?>")  # and the XML declaration
#: A feed's date tags, written in the view as the label they are, in the same number of characters
#: ("<pubDate>" -> "pubDate: "): the publication is then read as from a "Published:" line.
_FEED_DATE = re.compile(r"<(?P<tag>pubDate|dc:date|published|updated|lastBuildDate)>", re.I)
#: A JSON member whose value is a string: "message": "NQ long on a break of 30705.25 ..."
_JSON_PAIR = re.compile(r'"(?P<key>[A-Za-z_][\w .-]{0,60})"\s*:\s*"(?P<value>(?:[^"\\\n]|\\.)*)"')
#: Keys whose string value is the alert's publication ("time": "2026-06-16T13:45:00Z").
_JSON_DATE_KEYS = frozenset({"time", "timestamp", "date", "datetime", "published", "published_at", "posted",
                             "posted_at", "sent", "sent_at", "created_at", "datepublished"})
_JSON_PROSE = re.compile(r"[A-Za-z]{2,}")


def _is_json(text: str) -> bool:
    """The whole text parses as JSON (a Markdown page may open with "[Home](/)" and quote a "key": "value")."""
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


#: A JSON string escape, read as the character it stands for padded with blanks: "\n" is a line break.
_JSON_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")


def _json_unescaped(value: str) -> str:
    def one(m: re.Match) -> str:
        code = m.group()
        char = {"n": "\n", "t": " ", "r": " ", "b": " ", "f": " "}.get(code[1], code[1]) if code[1] != "u" \
            else chr(int(code[2:], 16))
        char = char if char.isprintable() or char == "\n" else " "
        return " " * (len(code) - 1) + char if char == "\n" else char + " " * (len(code) - 1)
    return _JSON_ESCAPE.sub(one, value) if "\\" in value else value


def _json_view(text: str) -> str:
    """A JSON alert as the cues read it, same length: the string values that are prose (four words or
    more: "message", "text", "description") and the publication member ("time: 2026-06-16T13:45:00Z", on a
    line of its own); everything else blank. Numeric members are not read: what "entry" or "level" means
    is the sender's schema, and the alert's text says it in words."""
    view = ["\n" if c == "\n" else " " for c in text]
    for m in _JSON_PAIR.finditer(text):
        key, value = m["key"], m["value"]
        if key.lower() in _JSON_DATE_KEYS:
            start = m.start("key")
            view[start - 1] = "\n"  # the key's opening quote: the label starts a line
            view[start:m.end("key")] = key
            view[m.end("key")] = ":"
            view[m.start("value"):m.end("value")] = value
        elif len(_JSON_PROSE.findall(value)) >= 4:
            view[m.start("value") - 1] = "\n"  # each text on a line of its own
            view[m.start("value"):m.end("value")] = _json_unescaped(value)
    return "".join(view)


def _feed_date_label(m: re.Match) -> str:
    tag = m["tag"].lower()
    if tag == "lastbuilddate":  # when the feed was rebuilt, not when an item was published
        return " " * len(m.group(0))
    label = {"pubdate": "date:", "dc:date": "date:", "published": "published:", "updated": "updated:"}[tag]
    return "\n" + label.rjust(len(m.group(0)) - 1)  # on a line of its own, where a label is read


def _blanks(m: re.Match) -> str:
    return " " * (m.end() - m.start())


_HTML_START = re.compile(r"\s*(?:<!doctype\s+html|<html\b|<head\b|<body\b|<article\b|<div\b|<p\b|<!--)", re.I)
_HTML_MARKUP = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->|<(/?)([a-zA-Z][a-zA-Z0-9]*)\b[^<>]{0,2000}>",
                          re.S | re.I)
_HTML_BLOCK = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "article", "section", "title",
               "td", "th", "ul", "ol", "table", "blockquote", "header", "footer"}
_HTML_ENTITY = re.compile(r"&(?:#\d{1,7}|#x[0-9a-fA-F]{1,6}|[A-Za-z]{2,8});")


def looks_like_html(text: str) -> bool:
    return _HTML_START.match(text[:1000]) is not None


def _blank_html(text: str) -> str:
    import html

    def markup(m: re.Match) -> str:
        raw = m.group(0)
        block = m.group(3) is not None and m.group(3).lower() in _HTML_BLOCK
        lines = raw.count("\n")
        head = "\n" if block else " "
        return head + "".join("\n" if c == "\n" else " " for c in raw[1:]) if lines or block else " " * len(raw)

    def entity(m: re.Match) -> str:
        char = html.unescape(m.group(0))
        return (char if len(char) == 1 and char.isprintable() else " ") + " " * (len(m.group(0)) - 1)

    return _HTML_ENTITY.sub(entity, _HTML_MARKUP.sub(markup, text))


_HTML_TITLE = re.compile(r"<title[^>]*>(?P<t>[^<]{3,300})</title>", re.I)
_WEB_PAGE = re.compile(r"^\s*(?:Skip to main content|Back to News)\s*$", re.M)


def keys_view(text: str) -> str | None:
    """A same-length copy of ``text`` that can stand in for it in the key look-ups of :func:`_keyed_search`
    and :func:`_line_search`: its ASCII letters lower case, its other characters "?" (never part of a key);
    else None (the callers then run their patterns everywhere).

    A case-insensitive pattern reads four other characters as ASCII letters: "ı" and "ſ" (as "i" and "s";
    ``lower()`` leaves them alone) and "İ" (its ``lower()`` is two characters) give None; the Kelvin sign
    (as "k") gives ``text.lower()``, which turns it into "k". Replacing the other characters through bytes
    is much cheaper than ``lower()`` of a text that is not ASCII."""
    if text.isascii():
        return text.lower()
    if "ı" in text or "ſ" in text or "İ" in text:
        return None
    if "\u212a" in text:
        return text.lower()
    return text.encode("ascii", "replace").lower().decode("ascii")


def _line_search(pattern: re.Pattern, text: str, keys: tuple[str, ...], start: int = 0, end: int | None = None,
                 low: str | None = None, nocase: bool = False) -> re.Match | None:
    """``pattern.search(text, start, end)`` for a multi-line pattern that matches at a line start, on a line
    holding one of ``keys``: the pattern is tried only at the starts of such lines (a regex with ``^`` is
    otherwise tried at every character). ``nocase``: the pattern ignores case, ``keys`` are lower case and
    are looked for in ``low`` (:func:`keys_view` of the text; None: search everywhere)."""
    end = len(text) if end is None else end
    hay = text
    if nocase:
        if low is None:
            return pattern.search(text, start, end)
        hay = low
    best: re.Match | None = None
    for key in keys:
        pos = hay.find(key, start, end)
        while pos >= 0 and (best is None or pos < best.start()):
            line = text.rfind("\n", 0, pos) + 1
            if line >= start:
                m = pattern.match(text, line, end)
                if m:
                    best = m
                    break
            nl = text.find("\n", pos, end)
            if nl < 0:
                break
            pos = hay.find(key, nl + 1, end)
    return best


def _line_finditer(pattern: re.Pattern, text: str, key: str):
    """``pattern.finditer(text)`` for a multi-line pattern whose matches start at a line start where, past
    blanks and tabs, ``key`` begins (tried only there)."""
    last_end = 0
    pos = text.find(key)
    while pos >= 0:
        line = text.rfind("\n", 0, pos) + 1
        if line >= last_end and not text[line:pos].strip(" \t"):
            m = pattern.match(text, line)
            if m:
                yield m
                last_end = max(m.end(), line + 1)
        nl = text.find("\n", pos)
        if nl < 0:
            break
        pos = text.find(key, max(nl + 1, last_end))


def not_an_article_reason(text: str) -> str | None:
    """Why ``text`` does not look like commentary (None when it does).

    Terse trade notes count ("NVDA short 191.20–192.00 / SL 194.10 / TP1 187.50"): a dozen words and some
    letters are enough. What is refused: a few words, and data files (most lines rows of comma- or
    tab-separated numbers, or hardly any letters at all).
    """
    head = text[:2048]  # most articles: prose from the first line, so the first 2 KB settle it
    words, letters = _prose_words(head)
    # Without its spaces and line breaks the head has at least as many visible characters as it truly has:
    # when that count passes, so does the exact one, which is left uncounted.
    if words >= MIN_WORDS and (letters >= 0.6 * (len(head) - head.count(" ") - head.count("\n"))
                               or letters >= 0.6 * _visible(head)):
        return None
    sample = text[:8192]  # a data file is the same all through: its start tells
    words, letters = _prose_words(sample)
    if words < MIN_WORDS and len(text) > len(sample):
        sample = text
        words, letters = _prose_words(text)
    if words < MIN_WORDS:
        return f"only {words} words of prose (need at least {MIN_WORDS})"
    visible = _visible(sample)
    if visible and letters / visible < 0.25:
        return "mostly numbers and symbols (a data file?)"
    if visible and letters / visible < 0.6:  # number-heavy: a trade sheet, or a table of data rows?
        lines = [ln for ln in sample.splitlines() if ln.strip()]
        rows = sum(1 for ln in lines if len(_ROW_SEPARATOR.findall(ln)) >= 3 and len(_DIGIT.findall(ln)) >= 3
                   and len(_WORD3.findall(ln)) <= 2)
        if lines and rows >= max(3, 0.6 * len(lines)):
            return "mostly rows of numbers (a data table?)"
    return None


def _prose_words(text: str) -> tuple[int, int]:
    """(number of prose words, their characters): ``_PROSE_WORD``'s matches and their total length.

    Counted on bit masks of the text (bit i for character i, one Python integer each), so the work is a
    few C-level passes rather than a regex match per word. A run of word characters (letters, "'", "’",
    "-") holds one match, from its first letter to its end, when that is two characters or more."""
    chars = text.replace("’", "'").encode("ascii", "replace")[::-1]  # reversed: character 0 is the low bit
    if not chars:
        return 0, 0
    word = int(chars.translate(_WORD_CHAR_BITS), 2)
    if not word:
        return 0, 0
    marks = word & ~int(chars.translate(_LETTER_BITS), 2)  # the "'" and "-" of the runs
    starts = word & ~(word << 1)
    leading = starts & marks
    if leading:  # runs that open with marks: their match starts at their first letter
        # Adding a run's start bit carries through its leading marks and clears them; nothing else changes.
        word &= ~(marks & ~(marks + leading))
        starts = word & ~(word << 1)
    singles = (starts & ~(word >> 1)).bit_count()  # one-letter runs ("a", "I"): no match
    return starts.bit_count() - singles, word.bit_count() - singles


def _bit_table(chars: bytes) -> bytes:
    """A ``bytes.translate`` table: b"1" for the given characters, b"0" for every other byte."""
    table = bytearray(b"0" * 256)
    for byte in chars:
        table[byte] = ord("1")
    return bytes(table)


_ASCII_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LETTER_BITS = _bit_table(_ASCII_LETTERS)
_WORD_CHAR_BITS = _bit_table(_ASCII_LETTERS + b"'-")  # "’" is read as "'"; other non-ASCII as "?"


def _visible(text: str) -> int:
    """Characters that are not white space."""
    return len("".join(text.split()))


def parse_article_text(text: str, article_id: str) -> Article:
    """Parse decoded text into an :class:`Article`. Never raises: missing parts stay None/empty."""
    article = Article(id=article_id, text=text)
    work = line_view(text)  # same length: offsets stay valid for the original text
    top = work[:2000]
    article.format = "web" if ("Skip to main content" in top or "Back to News" in top) and _WEB_PAGE.search(top) else (
        "plain" if "Strykr" in work[:500] and _HEADING["analysis"].search(work[:500]) else "other")
    low = keys_view(work)
    try:
        _sections(article, work, low)
        _header(article, work, low)
        sources_head = _line_search(_SOURCES_HEAD, work, ("Sources",))
        _sources_and_tags(article, work, sources_head)
        _published(article, work, sources_head, low)
    except Exception as exc:  # noqa: BLE001 - a reader must never crash on odd text; keep what we got
        article.warnings.append(f"reader stopped early: {type(exc).__name__}: {exc}")
    return article


# ------------------------------------------------------------------------------------------ parts
def _sections(article: Article, work: str, low: str | None) -> None:
    """Body from after the Pulse/Threat header line to 'Strykr Watch', watch to 'Strykr Take', take to the end marker."""
    body_start = _past_leading_date_lines(work, _first_after_header(work, low))
    end_match = _line_search(_END_MARKERS, work, _END_KEYS, body_start)
    end = end_match.start() if end_match else len(work)
    watch = _line_search(_HEADING["watch"], work, ("Strykr",), body_start, end)
    take = _line_search(_HEADING["take"], work, ("Strykr",), watch.end() if watch else body_start, end)
    cuts = [m for m in (watch, take) if m]
    body_end = cuts[0].start() if cuts else end
    article.sections["body"] = (body_start, body_end)
    if watch:
        article.sections["watch"] = (watch.end(), take.start() if take else end)
    if take:
        article.sections["take"] = (take.end(), end)


def _keyed_search(pattern: re.Pattern, text: str, low: str, keys: tuple[str, ...], start: int = 0,
                  end: int | None = None) -> re.Match | None:
    """``pattern.search(text, start, end)`` for a case-insensitive pattern that starts with one of ``keys``
    (lower case): tried only where a key occurs in ``low`` (``text.lower()``, same length). An alternation
    under ``re.I`` is tried at every character by Python's engine; finding the keys first is far cheaper."""
    end = len(text) if end is None else end
    if len(low) != len(text):
        return pattern.search(text, start, end)
    best = None
    for key in keys:
        pos = low.find(key, start, end)
        while pos >= 0 and (best is None or pos < best.start()):
            m = pattern.match(text, pos, end)
            if m and (pos == 0 or not text[pos - 1].isalnum() or not key[0].isalnum()):
                best = m
                break
            pos = low.find(key, pos + 1, end)
    return best


_LEADING_DATE_LINE = re.compile(r"(?:[ \t]*\n)*[ \t]*datePublished\s*:[^\n]*(?:\n|\Z)")


def _past_leading_date_lines(work: str, start: int) -> int:
    """Skip a ``datePublished:`` line that *opens* the prose: at the top it is a header, not the footer
    marker that ends the body (Strykr pages put it at the end; other writers put it first)."""
    while m := _LEADING_DATE_LINE.match(work, start):
        start = m.end()
    return start


def _first_after_header(work: str, low: str | None) -> int:
    """Offset where the prose begins: after the line carrying the Threat Level / Pulse header, if any."""
    head = work[:4000]
    low = low[:4000] if low is not None else head.lower()
    for pattern, word in ((_THREAT, "threat"), (_PULSE, "pulse")):
        m = _keyed_search(pattern, head, low, (word,)) if word in low else None
        if m:
            nl = work.find("\n", m.end())
            return len(work) if nl < 0 else nl + 1
    m = _line_search(_HEADING["analysis"], head, ("Strykr",)) if "strykr" in low else None
    return m.end() if m else 0


def _header(article: Article, work: str, low: str | None) -> None:
    head = work[: article.sections.get("body", (0, 0))[0] or 4000]
    low = work.lower() if low is None else low  # cheap substring checks keep the searches for those that need them
    strykr, pulse = "strykr" in low, "pulse" in low
    stances = ("bullish", "bearish", "neutral")
    m = (strykr and pulse and (_keyed_search(_STANCE, work, low, stances, 0, len(head))
                                or _keyed_search(_STANCE, work, low, stances))) or (
        ("bullish" in low or "bearish" in low or "neutral" in low)
        and _keyed_search(_STANCE_LOOSE, work, low, ("stance", "bias", "outlook", "sentiment", "rating")))
    if m:
        article.stance = m["stance"].lower()
    m = (pulse and (_keyed_search(_PULSE, work, low, ("pulse",), 0, len(head))
                    or _keyed_search(_PULSE, work, low, ("pulse",)))) or ("score" in low and _SCORE_WEB.search(head))
    if m:
        score = int(m["score"])
        article.pulse = score if 0 <= score <= 100 else None
    m = "threat" in low and (_keyed_search(_THREAT, work, low, ("threat",), 0, len(head))
                             or _keyed_search(_THREAT, work, low, ("threat",)))
    if m and int(m["level"]) <= 5:
        article.threat = int(m["level"])
    if article.format == "web":
        footer = _footer_title(work[-3000:])
        if footer:
            article.title = footer["title"].strip()
        else:
            lines = [ln.strip() for ln in work[:3000].splitlines() if ln.strip()]
            seen = set()
            for line in lines:  # the title is printed twice in the page header
                if line in seen and len(line) > 10:
                    article.title = line
                    break
                seen.add(line)
    else:
        m = ("title" in low[:3000] or "headline" in low[:3000] or "subject" in low[:3000]) and \
            _TITLE_LINE.search(work[:3000])
        feed = not m and _FEED_START.match(article.text) and _FEED_TITLE.search(article.text[:20000])
        if m:
            article.title = m["t"].strip()
        elif feed:
            import html

            article.title = html.unescape(feed["t"]).strip()
        elif looks_like_html(article.text):
            m = _HTML_TITLE.search(article.text[:5000])
            if m:
                import html

                article.title = html.unescape(m["t"]).strip()


def _footer_title(tail: str) -> re.Match | None:
    """``_FOOTER_TITLE.search(tail)``, tried only at the lines that can end in "| Strykr": a title line is
    followed by blanks (line breaks too) and the bar, so it is the line of the last character before the
    bar that is not blank, or a blank line between it and the bar."""
    if "Strykr" not in tail:
        return None
    for bar in _FOOTER_BAR.finditer(tail):
        q = bar.start()
        last = len(tail[:q].rstrip()) - 1
        line = tail.rfind("\n", 0, max(last, 0)) + 1 if last >= 0 else 0
        while line <= q:
            m = _FOOTER_TITLE.match(tail, line)
            if m:
                return m
            nl = tail.find("\n", line, q)
            if nl < 0:
                break
            line = nl + 1
    return None


_FOOTER_BAR = re.compile(r"\|\s*Strykr\b")
_SOURCES_STOP = re.compile(r"^[ \t]*(?:#[\w-]+|Get Real-Time Alerts|Related Articles|datePublished\s*:)", re.M)


def _sources_and_tags(article: Article, work: str, head: re.Match | None) -> None:
    for line in (_line_finditer(_TAG_LINE, work, "#") if "#" in work else ()):
        for tag in re.findall(r"#([\w-]+)", line.group(0)):
            if tag.lower() not in article.tags:
                article.tags.append(tag.lower())
    if not head:
        return
    tail = work[head.end():]
    m = _line_search(_SOURCES_STOP, tail, ("#", "Get Real-Time Alerts", "Related Articles", "datePublished"))
    block = tail[: m.start()] if m else tail
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    expected = int(head["n"])
    dated = [_SOURCE_DATE.match(ln) if "·" in ln else None for ln in lines]
    if any(dated):
        group: list[str] = []
        for line, dm in zip(lines, dated):
            if dm and group:
                article.sources.append(SourceRef(title=group[0], outlet=dm["outlet"].strip(),
                                                 date=_month_day(dm)))
                group = []
            elif not dm:
                group.append(line)
    else:
        step = 2 if len(lines) >= 2 * expected else 1
        for i in range(0, min(len(lines), step * expected), step):
            article.sources.append(SourceRef(title=lines[i]))


def _full_dates(work: str, as_of: bool = False, low: str | None = None):
    """(year, month, day, matched text) of every "February 1, 2026" in ``work`` (with ``as_of``: only those
    after "as of", "on", "today", "published"). Linear: found from the years, each read back 30 characters.
    ``low``: :func:`keys_view` of ``work``, to find the years in (see :func:`_years`)."""
    for ym in _years(work, low):
        start = ym.start()
        if not start or not work[start - 1].isspace():
            continue  # a day number and blanks come before the year
        window = work[max(0, start - 20):start]
        fm = _FULL_DATE_BEFORE.search(window) if _may_end_with_day(window) else None
        if not fm:
            continue
        begin = start - len(window) + fm.start()
        if as_of:
            lead = _AS_OF_BEFORE.search(work[max(0, begin - 30):begin])
            if not lead:
                continue
            begin = begin - min(30, begin) + lead.start()
        yield int(ym.group()), _MONTH_NUM[fm["month"][:3].lower()], int(fm["day"]), work[begin:ym.end()]


#: A month name right before a year, not after a word that puts it in the past ("since March 2020").
_MONTH_YEAR_BEFORE = re.compile(
    r"(?<!since )(?<!back in )(?<!from )(?<!until )\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|"
    r"July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.? $")
_YEAR_19 = re.compile(r"19\d{2}(?!\d)(?!,\d{3})")
_YEAR_20 = re.compile(r"20\d{2}(?!\d)(?!,\d{3})")


def _years(work: str, low: str | None = None) -> list[re.Match]:
    """``_YEAR_DIGITS.finditer(work)``: the 19xx and 20xx matches (never overlapping: a match is followed by
    no digit), each found by a pattern that starts with its two digits. With ``low`` (:func:`keys_view` of
    ``work``: the same digits at the same offsets, one byte a character) the two digits are found by
    ``str.find`` there and the pattern is matched only at them, which is cheaper than its scan."""
    if low is None:
        return sorted([*_YEAR_19.finditer(work), *_YEAR_20.finditer(work)], key=re.Match.start)
    found = []
    for digits, pattern in (("19", _YEAR_19), ("20", _YEAR_20)):
        pos = low.find(digits)
        while pos >= 0:
            m = pattern.match(work, pos)
            if m:
                found.append(m)
            pos = low.find(digits, pos + 1)
    found.sort(key=re.Match.start)
    return found


def _may_end_with_day(window: str) -> bool:
    """False when ``_FULL_DATE_BEFORE`` cannot match the end of ``window``: it needs blanks at the end and a
    day number (with an optional "st"/"nd"/"rd"/"th" and comma) before them."""
    if not window[-1:].isspace():
        return False
    rest = window.rstrip()
    rest = rest[:-1] if rest.endswith(",") else rest
    return rest[-1:].isdigit() or (rest[-2:].casefold() in ("st", "nd", "rd", "th") and rest[-3:-2].isdigit())


def _month_day(m: re.Match) -> str:
    """"Feb 8" → "02-08" (year unknown) or "2026-02-08" when the year is printed."""
    month = _MONTH_NUM[m["month"][:3].lower()]
    if m["year"]:
        return f"{int(m['year']):04d}-{month:02d}-{int(m['day']):02d}"
    return f"{month:02d}-{int(m['day']):02d}"


def _published(article: Article, work: str, sources_head: re.Match | None, low: str | None) -> None:
    """Set ``published``/``_basis``/``_note``: stated, else inferred, else None with a warning (module docstring)."""
    # Dates the article cites: "As of February 1, 2026" and sources with a year.
    cited: list[tuple[dt.date, str]] = []
    for year, month, day_number, shown in _full_dates(work, as_of=True, low=low):
        day = _safe_date(year, month, day_number)
        if day:
            cited.append((day, f"in-text date {shown.strip()!r}"))
    for source in article.sources:
        if source.date and len(source.date) == 10:
            cited.append((dt.date.fromisoformat(source.date), f"source date {source.date}"))
    year_memo: list[tuple[int | None, str]] = []

    def year_context() -> tuple[int | None, str]:
        if not year_memo:
            year_memo.append(_infer_year(work, article.sections, cited, low))
        return year_memo[0]

    # A feed's items and a JSON array's alerts: the latest date, so that none counts as published before it was.
    many = _FEED_START.match(article.text) is not None or article.text.lstrip()[:1] == "["
    stated, warnings = dates.stated_publication(work, year_context, sources_head.start() if sources_head else None,
                                                low=low, latest=many)
    article.warnings.extend(warnings)
    if stated is not None:
        article.published, article.published_basis, article.published_note = stated.value, "stated", stated.note
        return
    # Inferred: latest of the "as of" dates and the sources' dates (an article cites sources already out).
    candidates = list(cited)
    yearless = [s.date for s in article.sources if s.date and len(s.date) == 5]
    if yearless:
        year, how = year_context()
        if year is not None:
            for md in yearless:
                day = _safe_date(year, int(md[:2]), int(md[3:]))
                if day:
                    candidates.append((day, f"source date {md[:2]}/{md[3:]} with year {year} ({how})"))
            # Fill the year into the sources so they read as full dates.
            article.sources = [
                s.model_copy(update={"date": f"{year:04d}-{s.date}"}) if s.date and len(s.date) == 5 else s
                for s in article.sources
            ]
        else:
            article.warnings.append("sources give month and day but no year, and the text names no year: "
                                    "publication date unknown")
    if candidates:
        day, why = max(candidates)
        article.published = day
        article.published_basis = "inferred"
        article.published_note = (f"inferred {day.isoformat()} (date only: counts as after that day's close) "
                                  f"from the latest dated item: {why}")
        return
    article.published_note = NO_DATE_NOTE
    article.warnings.append(NO_DATE_NOTE)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _infer_year(work: str, sections: dict, full_dates: list[tuple[dt.date, str]],
                low: str | None = None) -> tuple[int | None, str]:
    """The year for "Feb 8"-style dates: from full dates, else the text's present or past years."""
    if full_dates:
        year = max(full_dates)[0].year
        return year, f"year of the full date(s) in the text ({year})"
    full = [year for year, _, _, _ in _full_dates(work, low=low)]
    if full:
        return max(full), f"year of the full date(s) in the text ({max(full)})"
    start = min((s for s, _ in sections.values()), default=0)
    end = max((e for _, e in sections.values()), default=len(work))
    prose = work[start:end]
    present = [int(pm["year"]) for pm in _PRESENT_YEAR.finditer(prose)]
    if present:
        return max(present), f"the text speaks of {max(present)} as the present year"
    past: list[tuple[int, str]] = []
    for ym in _YEAR.finditer(prose):
        before = prose[max(0, ym.start() - 25):ym.start()]
        after = prose[ym.end():ym.end() + 15]
        if _PAST_YEAR_CUE.search(before) or _PAST_YEAR_AFTER.match(after):
            words = before.split()[-1:] + [ym["year"]] + after.split()[:1]
            past.append((int(ym["year"]), " ".join(words)))
    if past:
        year, phrase = max(past)
        return year + 1, f"the text refers to {year} as past (e.g. {phrase!r}), so {year + 1}"
    # "The August 2026 payrolls report": a month named with its year (not "since", "back in", "from" it).
    named = [int(ym.group()) for ym in _years(work, low)
             if _MONTH_YEAR_BEFORE.search(work, max(0, ym.start() - 30), ym.start())]
    if named:
        return max(named), f"year of the month named with it in the text ({max(named)})"
    # "Posted Sun Jul 19 6:30 pm ET" in a text about "reporting season for 2026", or over "© 2026 Northgate":
    # a year named anywhere (not as the past: "a 2015-style flush"), or the copyright notice's, which may be
    # years old; either is taken only when the byline's weekday fits that very year (dates.WEEKDAY_ONLY_YEAR).
    named = [int(ym["year"]) for ym in _YEAR.finditer(prose)
             if not _PAST_YEAR_AFTER.match(prose[ym.end():ym.end() + 15]) and not _YEAR_AS_KIND.match(prose, ym.end())
             and not _PAST_YEAR_CUE.search(prose[max(0, ym.start() - 25):ym.start()])]
    if named:
        return max(named), f"{dates.WEEKDAY_ONLY_YEAR} ({max(named)})"
    notice = [int(m["year"]) for m in _COPYRIGHT.finditer(work)]
    if notice:
        return max(notice), f"{dates.WEEKDAY_ONLY_YEAR}: its copyright notice ({max(notice)})"
    return None, ""
