"""When was an article published? Bylines, datelines, ``datePublished`` lines and the dates it cites.

The no-look-ahead rule hangs on this instant, so every answer says where it came from
(:class:`Publication` ``basis`` and ``note``) and nothing is guessed silently:

``stated``
    The article states it, in one of the forms writers use (examples invented):

    * a labelled line anywhere: ``datePublished: 2026-02-08 17:30 UTC``, ``Published: February 9, 2026 at
      10:15 AM ET``, ``Posted by Dana Reyes on Mar 3, 2025``, ``Date: 3 March 2025``, ``Updated 03/03/2025``;
    * a byline or dateline near the top: ``By Dana Reyes | Mar 3, 2025 8:20 pm ET``, ``March 3, 2025 —``,
      ``Tuesday, 4 March 2025 09:15 GMT``, ``2025-03-03 14:30``, ``NEW YORK, March 3 (Desk) -``,
      ``Posted Monday, March 3``, ``Sun Jan 26 8:20 pm ET``, ``14.05.2025`` (dotted dates are day first).

    A date without a year takes it from the article's context: the year of the full dates it cites, else the
    year its text treats as the present or the year after the one it treats as past ("its 2025 highs" →
    2026); a weekday, when written, picks the year among the neighbours that fits it ("Monday, March 3" →
    2025). With no context at all there is no year and no date (see below).

    A time keeps its zone: ``Z``/``UTC``/``GMT``, numeric offsets (``-05:00``), ``ET``/``EST``/``EDT``/
    ``Eastern``/"New York time" (America/New_York), ``CT``/``CST``/``CDT`` (America/Chicago), ``MT``
    (America/Denver), ``PT``/``PST``/``PDT`` (America/Los_Angeles), ``BST`` (Europe/London), ``CET``/
    ``CEST`` (Europe/Paris); daylight saving follows the date (``EST`` in July is read as New York time,
    which is what writers mean). A time *without* a zone keeps only the date: reading it as UTC could look
    ahead by hours. ``Published`` beats ``Updated`` (the later date would only delay a setup, but the
    earlier one is the publication).

``inferred``
    No stated date: the latest of the article's sources' dates ("·Feb 8") and "As of February 1, 2026"
    dates, as a date (after that day's close).

``None``
    No date anywhere: the article is still extracted, with ``published: null``; ``backtest run`` refuses
    its setups until a date is set (``backtest extract --published``).

All patterns are anchored to one line or one short window, so the work is linear in the text length.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from functools import lru_cache


class NoCase:
    """A case-insensitive pattern that, on an ASCII text, is run in lower case on the text in lower case
    without ``re.I``: the same matches at the same offsets (groups in lower case), far cheaper, since
    under ``re.I`` Python's engine maps the case of every character it tries and finds no first
    characters to skip to. Texts that are not ASCII get the pattern itself ("ſ", "ı", "İ" and the Kelvin
    sign match ASCII letters under ``re.I``)."""

    def __init__(self, pattern: str):
        self.pattern = re.compile(pattern, re.I)
        self.ascii = re.compile(re.sub(r"\(\?p([<=])", r"(?P\1", pattern.lower()))  # (?P<name>...) stays
        # Lower-casing must not turn an escape into another (\S into \s, \B into \b...) or rename a group.
        if re.search(r"\\[A-Z]", pattern) or self.ascii.groupindex != self.pattern.groupindex:
            raise ValueError(f"NoCase needs lower-case escapes and group names: {pattern!r}")

    def search(self, text: str, lowered: str | None = None) -> re.Match | None:
        """``pattern.search(text)``; ``lowered``: ``text.lower()`` when already made."""
        if not text.isascii():
            return self.pattern.search(text)
        return self.ascii.search(text.lower() if lowered is None else lowered)


_MONTH_NUM = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_WEEKDAY_NUM = {d: i for i, d in enumerate(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])}
MONTH = (r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
         r"Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_WEEKDAY = (r"(?:(?P<wd>Mon(?:day)?|Tue(?:s(?:day)?)?|Wed(?:nesday)?|Thu(?:r(?:s(?:day)?)?)?|Fri(?:day)?|"
            r"Sat(?:urday)?|Sun(?:day)?)\.?,?\s+)")
_YEAR = r"(?P<year>(?:19|20)\d{2})"

#: Date expressions, each with its own groups (``re`` allows no repeated group names across alternatives);
#: case-insensitive (:class:`NoCase`).
_DATE_FORMS = {
    # "Monday, March 3, 2025", "Mar. 3 2025", "March 3rd", "Sun Jan 26"
    "month_first": NoCase(_WEEKDAY + r"?\b" + MONTH + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s+" + _YEAR
                          + r"\b)?(?![\d,.]*\d)"),
    # "3 March 2025", "Tuesday, 4 March 2025", "3rd of March 2025"
    "day_first": NoCase(_WEEKDAY + r"?\b(?P<day>\d{1,2})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|-)" + MONTH
                        + r"\b\.?,?(?:(?:\s+|-)" + _YEAR + r"\b)?"),  # (also "17-Aug-2026")
    # "2025-03-03", "2025-03-03T14:30:00Z", "2025/03/03"
    # (any four-digit year: a typo such as 9999 must reach the model's year check, not vanish)
    "iso": NoCase(_WEEKDAY + r"?(?<![\d-])(?P<year>\d{4})[-/](?P<m>\d{2})[-/](?P<day>\d{2})(?![\d])"),
    # "03/03/2025", "3/3/25" (US order; day first when the first number cannot be a month)
    "numeric": NoCase(_WEEKDAY + r"?(?<![\d/.])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>(?:19|20)\d{2}|\d{2})(?![\d/])"),
    # "22-05-2026", "05-22-2026": read as the slashed form (US order; day first when the first cannot be a month)
    "dashed": NoCase(_WEEKDAY + r"?(?<![\d/.-])(?P<a>\d{1,2})-(?P<b>\d{1,2})-(?P<year>(?:19|20)\d{2})(?![\d-])"),
    # "14.05.2025", "3.3.2025" (dotted dates are day first: the European order)
    "dotted": NoCase(_WEEKDAY + r"?(?<![\d/.])(?P<da>\d{1,2})\.(?P<mb>\d{1,2})\.(?P<year>(?:19|20)\d{2})(?![\d.]\d)"),
}
_TZ = (r"(?P<tz>Z|UTC|GMT|utc|gmt|[+-]\d{2}:?\d{2}|E[SD]?T|C[SD]?T|M[SD]?T|P[SD]?T|BST|CES?T|MESZ|MEZ|JST|HKT|SGT|"
       r"AE[SD]T|Eastern|Central|Pacific|"
       r"Mountain|America/New_York|New\s+York(?:\s+time)?)")
# A time right after a date: "8:20 pm ET", "at 10:15 AM", "T22:00:00Z", "14:30 UTC", "8 p.m. ET", "| 09:15 GMT",
# "(prepared 6:45 am CT)".
_TIME_AFTER = re.compile(
    r"(?:\s*(?:,|at|@|[-–—|/·•])?\s*(?:\(?[ \t]*(?:(?:prepared|posted|written|published|sent|updated|as[ \t]+of)"
    r"[ \t]+(?:at[ \t]+)?)?)?|T)(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?(?::(?P<second>\d{2}))?(?:\.\d+)?"
    r"(?:[ \t]*(?P<ampm>[AaPp]\.?[Mm]\.?)(?!\w))?(?:[ \t]*\(?" + _TZ + r"\)?(?![A-Za-z0-9/]))?")
# A time right before a date: "8:20 PM ET, March 3, 2025".
_TIME_BEFORE = re.compile(
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?:[ \t]*(?P<ampm>[AaPp]\.?[Mm]\.?)(?!\w))?(?:[ \t]*\(?" + _TZ
    + r"\)?(?![A-Za-z0-9/]))?[ \t]*(?:,|[-–—|·•])?[ \t]*(?:on[ \t]+)?$")

_LABEL = re.compile(
    r"^[ \t]*(?:[*_#>-]+[ \t]*)?(?P<label>datePublished|date\s*published|first\s+published|originally\s+published|"
    r"published|posted|sent|issued|written|recorded|exported|generated|last\s+updated|updated|last\s+refreshed|refreshed|last\s+modified|date|"
    # the keys of a JSON alert or a data export: "time": "2026-06-16T13:45:00Z"
    r"timestamp|time|created_at|published_at|sent_at|posted_at)\b(?:[ \t]+(?:on|at))?[ \t]*[:=]?[ \t]*", re.I | re.M)
_UPDATED = ("updated", "last updated")
#: The first word of every label, lower case: a label line holds one of them after its marks.
_LABEL_KEYS = ("date", "first", "originally", "published", "posted", "sent", "issued", "written", "last", "updated",
               "refreshed", "generated", "time", "created", "recorded", "exported")
#: A line break, marks, and a label key: where a label line may start (see _labels).
_LABEL_LINE = re.compile(r"\n[ \t*_#>-]*(?:" + "|".join(_LABEL_KEYS) + ")")
_HAS_DIGIT = re.compile(r"\d")

_ZONES = {
    "Z": "UTC", "UTC": "UTC", "GMT": "UTC",
    "ET": "America/New_York", "EST": "America/New_York", "EDT": "America/New_York", "EASTERN": "America/New_York",
    "AMERICA/NEW_YORK": "America/New_York", "NEW YORK": "America/New_York", "NEW YORK TIME": "America/New_York",
    "CT": "America/Chicago", "CST": "America/Chicago", "CDT": "America/Chicago", "CENTRAL": "America/Chicago",
    "MT": "America/Denver", "MST": "America/Denver", "MDT": "America/Denver", "MOUNTAIN": "America/Denver",
    "PT": "America/Los_Angeles", "PST": "America/Los_Angeles", "PDT": "America/Los_Angeles",
    "PACIFIC": "America/Los_Angeles", "BST": "Europe/London", "CET": "Europe/Paris", "CEST": "Europe/Paris",
    "MEZ": "Europe/Berlin", "MESZ": "Europe/Berlin", "JST": "Asia/Tokyo",
    "HKT": "Asia/Hong_Kong", "SGT": "Asia/Singapore", "AEST": "Australia/Sydney", "AEDT": "Australia/Sydney",
}

#: How far into the article a byline or dateline is looked for (lines and characters).
HEADER_LINES = 15
HEADER_CHARS = 2500
#: Most words a byline line may carry besides its date ("By Dana Reyes, Senior Strategist | ...").
_BYLINE_WORDS = 12


@dataclasses.dataclass(frozen=True)
class Publication:
    """A publication instant (aware datetime, or a date = after that day's close), how it was found, and why."""

    value: dt.datetime | dt.date | None
    basis: str | None  # "stated" | "inferred" | None
    note: str | None


@dataclasses.dataclass(frozen=True)
class _Found:
    """One date expression in the text: where, the parts read, and what surrounds it."""

    start: int
    end: int
    year: int | None
    month: int
    day: int
    weekday: int | None
    hour: int | None = None
    minute: int = 0
    second: int = 0
    ampm: str | None = None
    tz: str | None = None
    ambiguous_order: bool = False

    @property
    def has_time(self) -> bool:
        return self.hour is not None


def stated_publication(work: str, year_context, header_end: int | None = None,
                       low: str | None = None, latest: bool = False) -> tuple[Publication | None, list[str]]:
    """The stated publication in ``work`` (labelled line first, then a byline near the top), and warnings.

    ``year_context()`` is called only when a date has no year; it returns ``(year, how)`` or ``(None, "")``.
    Bylines are looked for before ``header_end`` (e.g. where the source list starts: "outlet·Feb 8" lines
    are the sources' dates, not the article's). ``low``: ``work.lower()`` when it may stand in for ``work``
    in key look-ups (:func:`backtest.articles.reader.keys_view`), which makes finding the labels cheaper.
    ``latest``: the text holds several dated items (a feed): the latest publication label wins, so that no
    item's setups count as published before that item was.
    """
    warnings: list[str] = []
    candidates: list[tuple[int, str, _Found]] = []  # (priority, description, found)
    for label in (_labels(work, low) if low is not None else _LABEL.finditer(work)):
        line_end = work.find("\n", label.end())
        line_end = len(work) if line_end < 0 else line_end
        rest = work[label.end():min(line_end, label.end() + 200)]
        found = _first_date(rest, label.end(), allow_words=8)
        if found is None:
            continue
        name = re.sub(r"\s+", " ", label["label"].lower())
        # (a recording's date comes before its publication: a "Published" line wins over it)
        priority = 2 if name in _UPDATED else 1 if name in ("recorded", "exported") else 0
        candidates.append((priority, f"{label['label']} line", found))
        if priority == 0 and not latest:
            break  # the first publication label wins; later ones are restatements
    if not any(p == 0 for p, _, _ in candidates):
        for index, (line_start, line) in enumerate(_header_lines(work, header_end)):
            if not _HAS_DIGIT.search(line):
                continue  # every date form has digits
            found = _first_date(line, line_start, allow_words=None)
            if found is None or not _is_byline(line, found.start - line_start, found.end - line_start,
                                               top=index == 0):
                continue
            if not found.has_time:  # "ES Daily Plan — Thursday, July 9, 2026" over "Posted 7:50 am CT | ..."
                found = _time_on_next_line(work, line_start + len(line), found)
            candidates.append((1, "byline", found))
            break
    if not candidates:
        return None, warnings
    candidates.sort(key=lambda c: c[0])
    if latest:
        return _latest(candidates, work, year_context), warnings
    for _, what, found in candidates:
        shown = re.sub(r"\s+", " ", work[found.start:found.end].strip())
        try:
            value, note = _instant(found, what, shown, year_context)
        except ValueError as exc:
            warnings.append(f"{what} {shown!r} is not a valid date ({exc}); looking further")
            continue
        if value is None:
            warnings.append(note)
            continue
        return Publication(value, "stated", note), warnings
    return None, warnings


def _latest(candidates: list[tuple[int, str, "_Found"]], work: str, year_context) -> Publication | None:
    """Of all the publication labels (an Atom entry may carry only its "updated" date), the one that reads
    as the latest instant (a date alone counts as the end of its day); labels that cannot be read are
    passed over."""
    read: list[tuple[dt.datetime, Publication]] = []
    for _, what, found in candidates:
        shown = re.sub(r"\s+", " ", work[found.start:found.end].strip())
        try:
            value, note = _instant(found, what, shown, year_context)
        except ValueError:
            continue
        if value is None:
            continue
        key = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time(23, 59), dt.timezone.utc)
        read.append((key, Publication(value, "stated", note)))
    if not read:
        return None
    latest = max(read, key=lambda r: r[0])[1]
    return dataclasses.replace(latest, note=f"{latest.note} (the latest of {len(read)} dated items)") \
        if len(read) > 1 else latest


def _labels(work: str, low: str):
    """``_LABEL.finditer(work)``, tried only at the starts of lines whose first word (past blanks and Markdown
    marks) begins with one of :data:`_LABEL_KEYS`, found in ``low`` (``work.lower()``, same length)."""
    # One scan for the line starts (in "\n" + low, the line break before a line sits at the line's own
    # offset in low): the keys are common words ("last", "first", "sent" in "present"), and finding each
    # of them through the text cost a look-up per occurrence. A key starts with a letter, so it begins
    # exactly where the marks end.
    last_end = 0
    for line in [m.start() for m in _LABEL_LINE.finditer("\n" + low)]:
        if line >= last_end:
            m = _LABEL.match(work, line)
            if m:
                yield m
                last_end = max(m.end(), line + 1)


def _header_lines(work: str, header_end: int | None):
    """(offset, text) of the first non-empty lines: where bylines and datelines sit."""
    pos, seen = 0, 0
    limit = min(len(work), HEADER_CHARS, len(work) if header_end is None else header_end)
    while pos < limit and seen < HEADER_LINES:
        end = work.find("\n", pos)
        end = len(work) if end < 0 else end
        line = work[pos:min(end, limit)]
        if line.strip():
            seen += 1
            yield pos, line[:400]
        pos = end + 1


_SEPARATOR_END = re.compile(r"(?:[|·•—–/,:]|\s-)\s*$")
#: A fixed-width header's gap before the date: "WEEKLY TECHNICAL STRATEGY            13 March 2026".
_FIELD_GAP = re.compile(r"\S[ \t]{3,}\Z")
#: (two blanks or more: the next field of a fixed-width header, "SENT 08/04/26 09:41 EDT  PG 1/1")
_SEPARATOR_START = re.compile(r"^(?:\s*(?:[|·•—–/,(]|-\s|$)|[ \t]{2,}\S)")
_BY = re.compile(r"^\W*(?:by|from|written\s+by)\b", re.I)
# "Thread on small caps (1/4) — posted Feb 3, 2026": a publication word right before the date.
_LABEL_END = re.compile(r"(?:^|[\s|·•—–(])(?:posted|published|updated|written|sent|issued|refreshed|recorded|exported)(?:\s+(?:on|at))?"
                        r"\s*:?\s*$", re.I)


def _is_byline(line: str, start: int, end: int, top: bool = False) -> bool:
    """A date on a line of its own, next to a name ("By Dana Reyes | ..."), or opening a dateline.

    Prose that merely mentions a date ("Stocks rallied on March 3 after ...") is not a byline: the date must
    start the line or follow a separator or "By <name>", and be followed by nothing, a separator or a time.
    ``top``: the article's first line, a heading that may end with its date in any case ("desk chat
    2026-02-17 14:05 utc").
    """
    # Markdown emphasis around the date line ("**Friday, Aug 28 · 4:40 pm ET**", "*Jul 14, 2026 · NQU26*").
    before, after = line[:start].rstrip("*_ \t"), line[end:].lstrip("*_")
    words_before = re.findall(r"[A-Za-z][\w'’.-]*", before)
    if len(words_before) > _BYLINE_WORDS:
        return False
    before_ok = not before.strip() or bool(_SEPARATOR_END.search(before)) or bool(_FIELD_GAP.search(line, 0, start)) \
        or bool(_BY.match(before)) or bool(
        _LABEL_END.search(before))
    # Nothing but marks after it: "— Posted 17-Aug-2026 09:50 ET ⚡" (an emoji, a closing rule).
    after_ok = not after.strip() or _marks_only(after) or bool(_SEPARATOR_START.match(after)) or bool(
        re.match(r"^\s*\d+\s*min(?:ute)?s?\s+read\b", after, re.I))
    if before_ok and after_ok:
        return True
    # A heading that is mostly its date: "FLASH ALERT 09:41 ET — Tuesday, November 18, 2025".
    words_after = re.findall(r"[A-Za-z][\w'’.-]*", after)
    if after_ok and 0 < len(words_before) <= 3 and not words_after and (
            top or all(w[0].isupper() for w in words_before)):
        return True
    # A dateline: a few words (often a city in capitals), the date, then a dash or colon: "NEW YORK, March 3 -".
    return len(words_before) <= 4 and bool(re.match(r"^\s*(?:\([^)]{0,40}\)\s*)?[-–—:]", after))


def _marks_only(text: str) -> bool:
    """No letter, digit or sentence punctuation: only symbols (emoji, rules, stars)."""
    return not any(c.isalnum() or c in ".,;:!?" for c in text)


_TIME_LINE = re.compile(
    r"\n[ \t*_]*(?:(?:posted|published|prepared|written|sent|updated)[ \t]+(?:at[ \t]+)?)?(?P<hour>\d{1,2}):"
    r"(?P<minute>\d{2})(?:[ \t]*(?P<ampm>[AaPp]\.?[Mm]\.?)(?!\w))?[ \t]*\(?" + _TZ + r"\)?(?![A-Za-z0-9/])", re.I)


def _time_on_next_line(work: str, line_end: int, found: _Found) -> _Found:
    """A date line's time given on the line below it, with its zone ("Posted 7:50 am CT | ...")."""
    t = _TIME_LINE.match(work, line_end)
    if t is None:
        return found
    return dataclasses.replace(found, end=t.end(), hour=int(t["hour"]), minute=int(t["minute"]), ampm=t["ampm"],
                               tz=t["tz"])


#: In lower-case text, where a :data:`MONTH` can match: every form of it begins with one of these stems
#: (a case-insensitive pattern also reads "ſ" as "s"; ``lower()`` leaves it alone).
_MONTH_STEM = re.compile("jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|ſep")


def _first_date(text: str, offset: int, allow_words: int | None) -> _Found | None:
    """The leftmost date expression in ``text`` (offsets shifted by ``offset``), with a time right after it.

    With ``allow_words``, at most that many words may come before the date ("Posted by Dana on ...").
    """
    best: tuple[int, str, re.Match] | None = None
    # What each form cannot match without (a month name; "-" or "/"; "/"; "-"; "."): the forms are tried at every
    # character, so these cheap tests spare most lines most of the searches.
    lowered = text.lower()
    names_month = _MONTH_STEM.search(lowered) is not None
    slash = "/" in text
    dash = "-" in text
    possible = (names_month, names_month, slash or dash, slash, dash, "." in text)  # (in _DATE_FORMS' order)
    for (form, pattern), may_match in zip(_DATE_FORMS.items(), possible):
        if not may_match:
            continue
        m = pattern.search(text, lowered)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), form, m)
    if best is None:
        return None
    start, form, m = best
    if allow_words is not None:
        gap = text[:start]
        if gap.strip() and not (_BY.match(gap) and len(re.findall(r"[A-Za-z]+", gap)) <= allow_words):
            return None  # "Posted gains were strong on March 3": prose, not a label
    parts = _parts(form, m)
    if parts is None:
        return None
    year, month, day, weekday, ambiguous = parts
    end = m.end()
    hour = minute = second = 0
    has_time, ampm, tz = False, None, None
    t = _TIME_AFTER.match(text, end)
    if t and (t["minute"] or t["ampm"]):
        hour, minute, second = int(t["hour"]), int(t["minute"] or 0), int(t["second"] or 0)
        has_time, ampm, tz = True, t["ampm"], t["tz"]
        end = t.end()
    else:
        before = text[max(0, start - 40):start]
        b = _TIME_BEFORE.search(before) if ":" in before else None  # (the pattern needs a colon)
        if b:
            hour, minute, second = int(b["hour"]), int(b["minute"]), 0
            has_time, ampm, tz = True, b["ampm"], b["tz"]
            start = max(0, start - 40) + b.start()
        # A zone written right after a date-only stamp ("2026-02-09 ET") means nothing without a time.
    return _Found(offset + start, offset + end, year, month, day, weekday, hour if has_time else None, minute, second,
                  ampm, tz, ambiguous)


def _parts(form: str, m: re.Match) -> tuple[int | None, int, int, int | None, bool] | None:
    weekday = None
    if "wd" in m.re.groupindex and m["wd"]:
        weekday = _WEEKDAY_NUM[m["wd"][:3].lower()]
    if form in ("month_first", "day_first"):
        month = _MONTH_NUM[m["month"][:3].lower()]
        return (int(m["year"]) if m["year"] else None), month, int(m["day"]), weekday, False
    if form == "iso":
        return int(m["year"]), int(m["m"]), int(m["day"]), weekday, False
    if form == "dotted":
        day, month = int(m["da"]), int(m["mb"])
        return (int(m["year"]), month, day, weekday, False) if month <= 12 else None
    a, b, year = int(m["a"]), int(m["b"]), int(m["year"])
    if year < 100:
        year += 2000
    if a > 12 >= b:
        return year, b, a, weekday, False  # 25/03/2025: day first
    return year, a, b, weekday, a <= 12 and b <= 12 and a != b


def _instant(found: _Found, what: str, shown: str, year_context) -> tuple[dt.datetime | dt.date | None, str]:
    """(aware UTC datetime or date, note). The value is None when the year cannot be known (note says why)."""
    notes = [f"stated in the {what} {shown!r}"]
    year = found.year
    if year is None:
        context_year, how = year_context()
        if context_year is None:
            return None, (f"the {what} {shown!r} gives no year and the text names none; publication date unknown "
                          "(set it with `backtest extract --published`)")
        if how.startswith(WEEKDAY_ONLY_YEAR):  # (a year merely named: good only with a weekday that fits it)
            if found.weekday is None or dt.date(context_year, found.month, found.day).weekday() != found.weekday:
                return None, (f"the {what} {shown!r} gives no year and the text names none that its weekday fits; "
                              "publication date unknown (set it with `backtest extract --published`)")
        year, why = _year_for(found, context_year, how)
        notes.append(why)
    day = dt.date(year, found.month, found.day)  # ValueError for "Feb 30"
    if found.weekday is not None and found.year is not None and day.weekday() != found.weekday:
        notes.append(f"its weekday does not match {day.isoformat()} (a {day.strftime('%A')}); the date was kept")
    if found.ambiguous_order:
        notes.append("read as month/day/year (US order)")
    if not found.has_time:
        return day, "; ".join(notes)
    hour = found.hour or 0
    ampm = (found.ampm or "").lower().replace(".", "")
    if ampm and not 1 <= hour <= 12:
        raise ValueError(f"hour {hour} with {ampm.upper()}")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    dt.time(hour, found.minute, found.second)  # refuse 25:61 even without a zone
    tz = zone(found.tz)
    if tz is None:
        notes.append(f"its time {hour:02d}:{found.minute:02d} has no time zone, so only the date {day.isoformat()} "
                     "is kept (counts as after that day's close, so no look-ahead)")
        return day, "; ".join(notes)
    local = dt.datetime(day.year, day.month, day.day, hour, found.minute, found.second, tzinfo=tz)
    return local.astimezone(dt.timezone.utc), "; ".join(notes)


#: How a year context begins when the year is only named somewhere in the text ("reporting season for
#: 2026"): it dates a yearless byline only when the byline's weekday fits that very year.
WEEKDAY_ONLY_YEAR = "the latest year the text names"


def _year_for(found: _Found, context_year: int, how: str) -> tuple[int, str]:
    """The year for a yearless date: the context year, or the neighbour whose calendar fits the weekday."""
    if found.weekday is None:
        return context_year, f"year {context_year} from {how}"
    for year in (context_year, context_year + 1, context_year - 1):
        try:
            if dt.date(year, found.month, found.day).weekday() == found.weekday:
                return year, f"year {year}: the weekday fits {year} (context: {how})"
        except ValueError:
            continue
    return context_year, f"year {context_year} from {how} (the weekday fits none of {context_year - 1}..{context_year + 1})"


@lru_cache(maxsize=64)
def _zoneinfo(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def zone(tz_text: str | None) -> dt.tzinfo | None:
    """The tzinfo a written zone names (DST-aware for named zones); None when no zone was written."""
    if not tz_text:
        return None
    key = re.sub(r"\s+", " ", tz_text.strip()).upper()
    name = _ZONES.get(key)
    if name == "UTC":
        return dt.timezone.utc
    if name:
        return _zoneinfo(name)
    sign = 1 if key[0] == "+" else -1
    digits = key[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def month_number(name: str) -> int:
    return _MONTH_NUM[name[:3].lower()]
