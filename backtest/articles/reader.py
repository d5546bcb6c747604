"""Read a market-commentary article into an :class:`Article`: metadata, sections and the decoded text.

Two page formats occur and both are handled by the same cues rather than by a format switch:

* *plain*: starts with "Strykr Analysis", the stance glued to the score ("BullishStrykr Pulse 74/100"),
  "Threat Level 3/5", a ``datePublished:`` line and "Sources (5)" followed by title/snippet pairs;
* *web*: a scraped page ("Skip to main content", "Back to News", the title, "62 Score", a "Strykr
  Analysis" block, sources whose last line is "outlet·Feb 8", ``#tags``, no ``datePublished``).

Other authors' commentary without these markers still reads: the whole text is then the body, and the
publication date comes from a ``datePublished``/``Published:`` line or the dates in the text.

**Publication time** (what the no-look-ahead rule hangs on): ``stated`` from a ``datePublished`` line
(``2026-02-08 17:30 UTC``, ``2026-02-08T22:00:00Z``, ``-05:00``, or New York time: ``10:00 ET``/``EST``/
``EDT``) or a "Published: February 8, 2026 at 10:30 AM ET" line. A time with no zone keeps only its
date (after that day's close; said in ``published_note``): reading it as UTC could look ahead. Otherwise ``inferred`` as the latest of the
sources' dates and "As of February 1, 2026"-style dates. An inferred date has no time, so the article
counts as published after that day's close. A source date without a year ("·Feb 8") takes its year from
full dates in the text, else from years the text treats as past ("its 2025 highs" → 2026); how the year
was chosen is kept in ``published_note``, never guessed silently.

Offsets (section bounds, provenance spans) index the decoded text exactly as read: no newline
translation, no stripping, so a span can always be checked against the file.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re
from pathlib import Path

from ..errors import ArticleError
from ..common import SourceRef

#: File suffixes read as articles when a directory is given (extract and run use this one tuple).
ARTICLE_SUFFIXES = (".txt", ".md", ".text", ".html", ".htm")
MAX_BYTES = 20 * 1024 * 1024
MIN_WORDS = 30

_MONTH_NUM = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1)}
_MONTH = r"(?P<month>Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sept?(?:ember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"

# A time zone after a stated time: UTC forms, numeric offsets, or New York time (ET/EST/EDT, "New York").
_TZ = r"\(?(?P<tz>Z|UTC|GMT|[+-]\d{2}:?\d{2}|ET|EST|EDT|America/New_York|New\s+York(?:\s+time)?)\)?(?![\w/])"
_STATED = re.compile(
    r"^[ \t]*(?:datePublished|date\s*published|published(?:\s+on|\s+at)?|date)\s*[:=]\s*"
    r"(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{1,2}:\d{2}(?::\d{2})?)(?:\.\d+)?)?"
    r"(?:[ \t]*(?P<ampm>[AaPp]\.?[Mm]\.?)(?!\w))?[ \t]*(?:" + _TZ + ")?",
    re.I | re.M,
)
_STATED_WORDS = re.compile(
    r"^[ \t]*(?:date\s*published|published(?:\s+on)?|posted(?:\s+on)?|date)\s*[:=]?\s*(?:\w+day,?\s+)?"
    + _MONTH + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{2})"
    r"(?:,?\s+(?:at\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?[ \t]*(?:" + _TZ + ")?)?",
    re.I | re.M,
)
_FULL_DATE = re.compile(_MONTH + r"\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>(?:19|20)\d{2})\b", re.I)
_AS_OF = re.compile(r"\b(?:as\s+of|as\s+at|on|today,?|published)\s+(?:\w+day,?\s+)?" + _FULL_DATE.pattern, re.I)
_SOURCE_DATE = re.compile(r"^(?P<outlet>[^\n·]{1,80}?)\s*·\s*" + _MONTH + r"\.?\s+(?P<day>\d{1,2})(?:,?\s+(?P<year>\d{4}))?\s*$", re.I)
_YEAR = re.compile(r"(?<![\d,.$])(?P<year>(?:19|20)\d{2})(?![\d,])")
_PAST_YEAR_CUE = re.compile(
    r"(?:\b(?:its|their|the|since|from|in|during|of|pre|post|early|late|mid|last)\s*-?\s*(?:early\s+|late\s+|mid-)?$)", re.I)
_PAST_YEAR_AFTER = re.compile(r"^\s*(?:highs?|lows?|peaks?|bottoms?|levels?|rally|selloff|sell-off|crash|mania|bear|bull|'s)", re.I)
_PRESENT_YEAR = re.compile(r"\b(?:in|this\s+year,?|so\s+far\s+in|year-to-date\s+in)\s+(?P<year>(?:19|20)\d{2}),\s+(?:it|the|we|small|large|markets?|stocks?)", re.I)

_STANCE = re.compile(r"(?P<stance>Bullish|Bearish|Neutral)\s*(?:\n\s*)*Strykr\s+Pulse", re.I)
_STANCE_LOOSE = re.compile(r"\b(?:stance|bias|outlook|sentiment|rating)\s*[:=]\s*(?P<stance>bullish|bearish|neutral)\b", re.I)
_PULSE = re.compile(r"\bPulse\s*(?::\s*)?(?P<score>\d{1,3})\s*/\s*100\b", re.I)
_SCORE_WEB = re.compile(r"^\s*(?P<score>\d{1,3})\s*\n\s*Score\s*$", re.M)
_THREAT = re.compile(r"\bThreat\s+Level\s*(?::\s*)?(?P<level>\d)\s*/\s*5\b", re.I)
_SOURCES_HEAD = re.compile(r"^[ \t]*Sources\s*\((?P<n>\d+)\)[ \t]*$", re.M)
_TAG_LINE = re.compile(r"^[ \t]*#[\w-]+(?:\s*#[\w-]+)*[ \t]*$", re.M)
_FOOTER_TITLE = re.compile(r"^(?P<title>[^\n|]{10,300}?)\s*\|\s*Strykr\b", re.M)
_HEADING = {
    "watch": re.compile(r"^[ \t]*Strykr\s+Watch[ \t]*$", re.M),
    "take": re.compile(r"^[ \t]*Strykr\s+Take[ \t]*$", re.M),
    "analysis": re.compile(r"^[ \t]*Strykr\s+Analysis[ \t]*$", re.M),
}
_END_MARKERS = re.compile(
    r"^[ \t]*(?:datePublished\s*:|Sources\s*\(\d+\)|Get Real-Time Alerts|Related Articles|#[\w-]+\s*#)", re.M)


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
        size = path.stat().st_size
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}", where=where, hint="check the path") from None
    if not path.is_file():
        raise ArticleError("not a regular file", where=where, hint="give an article file or a directory of them")
    if size > MAX_BYTES:
        raise ArticleError(f"file is {size / 1e6:.1f} MB, more than the {MAX_BYTES // (1024 * 1024)} MB limit for an article",
                           where=where, hint="split it or check that it is an article")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot read file: {exc.strerror or exc}", where=where, hint="check permissions") from None
    return parse_article_bytes(raw, path.stem, path=where)


def parse_article_bytes(raw: bytes, article_id: str, path: str | None = None) -> Article:
    """Decode and check bytes, then :func:`parse_article_text`. Raises :class:`ArticleError` if not an article."""
    where = path or article_id
    if not raw.strip():
        raise ArticleError("file is empty", where=where, hint="nothing to extract")
    if b"\x00" in raw[:8192]:
        raise ArticleError("binary file (contains NUL bytes), not a text article", where=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 text (bad byte at offset {exc.start})", where=where,
                           hint="re-save the article as UTF-8") from None
    problem = not_an_article_reason(text)
    if problem:
        raise ArticleError(f"not an article: {problem}", where=where)
    article = parse_article_text(text, article_id)
    article.path = path
    article.sha256 = hashlib.sha256(raw).hexdigest()
    return article


def not_an_article_reason(text: str) -> str | None:
    """Why ``text`` does not look like prose commentary (None when it does)."""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]+", text)
    if len(words) < MIN_WORDS:
        return f"only {len(words)} words of prose (need at least {MIN_WORDS})"
    letters = sum(len(w) for w in words)
    visible = sum(1 for c in text if not c.isspace())
    if visible and letters / visible < 0.5:
        return "mostly numbers and symbols (a data file?)"
    if not re.search(r"[a-z]{2,}[.!?]", text):
        return "no sentences"
    return None


def parse_article_text(text: str, article_id: str) -> Article:
    """Parse decoded text into an :class:`Article`. Never raises: missing parts stay None/empty."""
    article = Article(id=article_id, text=text)
    work = text.replace("\r", " ")  # same length: offsets stay valid for the original text
    article.format = "web" if re.search(r"^\s*(?:Skip to main content|Back to News)\s*$", work[:2000], re.M) else (
        "plain" if _HEADING["analysis"].search(work[:500]) else "other")
    try:
        _sections(article, work)
        _header(article, work)
        _sources_and_tags(article, work)
        _published(article, work)
    except Exception as exc:  # noqa: BLE001 - a reader must never crash on odd text; keep what we got
        article.warnings.append(f"reader stopped early: {type(exc).__name__}: {exc}")
    return article


# ------------------------------------------------------------------------------------------ parts
def _sections(article: Article, work: str) -> None:
    """Body from after the Pulse/Threat header line to 'Strykr Watch', watch to 'Strykr Take', take to the end marker."""
    end_match = _END_MARKERS.search(work, pos=_first_after_header(work))
    end = end_match.start() if end_match else len(work)
    body_start = _first_after_header(work)
    watch = _HEADING["watch"].search(work, body_start, end)
    take = _HEADING["take"].search(work, watch.end() if watch else body_start, end)
    cuts = [m for m in (watch, take) if m]
    body_end = cuts[0].start() if cuts else end
    article.sections["body"] = (body_start, body_end)
    if watch:
        article.sections["watch"] = (watch.end(), take.start() if take else end)
    if take:
        article.sections["take"] = (take.end(), end)


def _first_after_header(work: str) -> int:
    """Offset where the prose begins: after the line carrying the Threat Level / Pulse header, if any."""
    head = work[:4000]
    for pattern in (_THREAT, _PULSE):
        m = pattern.search(head)
        if m:
            nl = work.find("\n", m.end())
            return len(work) if nl < 0 else nl + 1
    m = _HEADING["analysis"].search(head)
    return m.end() if m else 0


def _header(article: Article, work: str) -> None:
    head = work[: article.sections.get("body", (0, 0))[0] or 4000]
    m = _STANCE.search(head) or _STANCE.search(work) or _STANCE_LOOSE.search(work)
    if m:
        article.stance = m["stance"].lower()
    m = _PULSE.search(head) or _PULSE.search(work) or _SCORE_WEB.search(head)
    if m:
        score = int(m["score"])
        article.pulse = score if 0 <= score <= 100 else None
    m = _THREAT.search(head) or _THREAT.search(work)
    if m and int(m["level"]) <= 5:
        article.threat = int(m["level"])
    if article.format == "web":
        footer = _FOOTER_TITLE.search(work[-3000:])
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
        m = re.search(r"^[ \t]*(?:title|headline)\s*:\s*(?P<t>\S.{3,300})$", work[:3000], re.I | re.M)
        if m:
            article.title = m["t"].strip()


def _sources_and_tags(article: Article, work: str) -> None:
    for line in _TAG_LINE.finditer(work):
        for tag in re.findall(r"#([\w-]+)", line.group(0)):
            if tag.lower() not in article.tags:
                article.tags.append(tag.lower())
    head = _SOURCES_HEAD.search(work)
    if not head:
        return
    stop = re.compile(r"^[ \t]*(?:#[\w-]+|Get Real-Time Alerts|Related Articles|datePublished\s*:)", re.M)
    tail = work[head.end():]
    m = stop.search(tail)
    block = tail[: m.start()] if m else tail
    lines = [ln.strip() for ln in block.splitlines() if ln.strip()]
    expected = int(head["n"])
    if any(_SOURCE_DATE.match(ln) for ln in lines):
        group: list[str] = []
        for line in lines:
            dm = _SOURCE_DATE.match(line)
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


def _month_day(m: re.Match) -> str:
    """"Feb 8" → "02-08" (year unknown) or "2026-02-08" when the year is printed."""
    month = _MONTH_NUM[m["month"][:3].lower()]
    if m["year"]:
        return f"{int(m['year']):04d}-{month:02d}-{int(m['day']):02d}"
    return f"{month:02d}-{int(m['day']):02d}"


def _published(article: Article, work: str) -> None:
    words = _STATED_WORDS.search(work)
    m = _STATED.search(work)
    stated, what = (words, "publication line") if words and not m else (m, "datePublished")
    if stated:
        try:
            article.published, article.published_note = _stated_instant(stated)
            article.published_basis = "stated"
            return
        except ValueError as exc:
            article.warnings.append(f"{what} {stated.group(0).strip()!r} is not a valid date ({exc}); inferring instead")
    # Inferred: latest of the "as of" dates and the sources' dates (an article cites sources already out).
    candidates: list[tuple[dt.date, str]] = []
    for fm in _AS_OF.finditer(work):
        day = _safe_date(int(fm["year"]), _MONTH_NUM[fm["month"][:3].lower()], int(fm["day"]))
        if day:
            candidates.append((day, f"in-text date {fm.group(0).strip()!r}"))
    yearless = [s.date for s in article.sources if s.date and len(s.date) == 5]
    full_sources = [s.date for s in article.sources if s.date and len(s.date) == 10]
    for iso in full_sources:
        candidates.append((dt.date.fromisoformat(iso), f"source date {iso}"))
    if yearless:
        year, how = _infer_year(work, article.sections, candidates)
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


def _stated_instant(m: re.Match) -> tuple[dt.datetime | dt.date, str | None]:
    """A ``_STATED`` or ``_STATED_WORDS`` match → (publication instant in UTC, or a date; note or None).

    ``2026-02-08 17:30 UTC`` / ``…T22:00:00Z`` / ``…-05:00`` / ``February 9, 2026 at 10:15 AM ET``
    (ET, EST, EDT and "New York" mean America/New_York, daylight saving included). A time *without* a
    zone is ambiguous by up to a day's worth of hours, so only the date is kept: the article then counts
    as published after that day's close, which can delay a setup but never lets it see the future.
    """
    if "date" in m.re.groupindex:
        day = dt.date.fromisoformat(m["date"])
        if not m["time"]:
            return day, None
        parts = [int(p) for p in m["time"].split(":")]
        hour, minute, second = (parts + [0, 0])[:3]
    else:
        day = dt.date(int(m["year"]), _MONTH_NUM[m["month"][:3].lower()], int(m["day"]))
        if not m["hour"]:
            return day, None
        hour, minute, second = int(m["hour"]), int(m["minute"]), 0
    ampm = (m["ampm"] or "").lower().replace(".", "")
    if ampm and not 1 <= hour <= 12:
        raise ValueError(f"hour {hour} with {ampm.upper()}")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    clock = f"{hour:02d}:{minute:02d}"
    tz = _zone(m["tz"])
    if tz is None:
        dt.time(hour, minute, second)  # still refuse an impossible time
        return day, (f"stated time {clock} has no time zone; kept only the date {day.isoformat()} "
                     "(counts as after that day's close, so no look-ahead)")
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=tz).astimezone(dt.timezone.utc), None


def _zone(tz_text: str | None) -> dt.tzinfo | None:
    """The tzinfo a stated zone names; None when no zone was written."""
    if not tz_text:
        return None
    tz_text = re.sub(r"\s+", " ", tz_text.strip()).upper()
    if tz_text in ("Z", "UTC", "GMT"):
        return dt.timezone.utc
    if tz_text in ("ET", "EST", "EDT", "AMERICA/NEW_YORK", "NEW YORK", "NEW YORK TIME"):
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    sign = 1 if tz_text[0] == "+" else -1
    digits = tz_text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _infer_year(work: str, sections: dict, full_dates: list[tuple[dt.date, str]]) -> tuple[int | None, str]:
    """The year for "Feb 8"-style dates: from full dates, else the text's present or past years."""
    if full_dates:
        year = max(full_dates)[0].year
        return year, f"year of the full date(s) in the text ({year})"
    full = [int(fm["year"]) for fm in _FULL_DATE.finditer(work)]
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
    return None, ""
