"""Article → :class:`SetupFile`: trade setups, pairs and watch levels, each pointing at its sentences.

How it reads (rule-based on purpose: every decision can be traced to a cue in the text):

1. The analysis part of the article (body, Strykr Watch, Strykr Take; never sources or page chrome)
   is split into paragraphs and sentences.
2. Every price level (see :mod:`backtest.extraction.numbers`: "$62 billion", "RSI 63", "+2.3%" are not
   levels) gets a **role** from the words just before it in its clause and just after it:

   ===============  =====================================================================
   role             cues (examples)
   ===============  =====================================================================
   stop             "stop at", "stop below", "stop-loss at"
   target           "target(s) at", "take profit at", "cover at", "opens the door to",
                    "toward", "puts $250 in play"
   invalidation     "invalidation at", "... would invalidate the thesis"
   entry (stop)     "buying above", "long above", "buy the breakout over", "breakout above",
                    "break below", "short under", "sell below", "breakout at"
   entry (limit)    "dip to", "pullback to", "add on a pullback to", "buy at", "short into a rally to"
   support/resist.  "support at", "floor at", "resistance at", "holds above"
   range / price    "between $139 and $143", "4,900–5,000", "trading at $259.63"
   level            "the 2,100 level" (a threshold the next sentence may refer to)
   ===============  =====================================================================

   A level-less trigger ("a move above *this threshold*", "a break below puts $250 in play") refers
   back to the last level mentioned (below → the last support, above → the last resistance).
3. An entry opens a setup; stops, targets and invalidations that follow in the same paragraph attach
   to it. Support/resistance/range/price become watch levels (context, not trades).
4. Pairs: "long S&P 500, short IWM", "long S&P 500 or XLK against small caps" (→ two pairs).
5. Restatements merge: the same instrument, direction, entry type and level is one setup with several
   spans; a breakout whose trigger is an existing setup's target and whose targets it already has
   ("a break above $2,150 opens the door to $2,250") is part of that setup.
6. ``explicit`` is true when the sentence gives an instruction (buy, short, get short, long X...) and
   hedges nothing ("could", "potential", "watch for"); scenarios are kept with ``explicit: false``.

Level ordering is checked with :meth:`Setup.ordering_problems` and reported as warnings, never fixed.
"""

from __future__ import annotations

import dataclasses
import re

from .numbers import LEVEL_AFTER, NumberMention, find_numbers, format_level, mask_names
from ..articles.reader import Article, line_view
from .instruments import (
    FAMILIES,
    Mention,
    PriceLookup,
    TYPICAL_CLOSE,
    find_mentions,
    resolve,
    subject_of,
    tradeable_symbol,
)
from ..setups.model import ArticleMeta, EntryOrder, Leg, Provenance, Setup, SetupFile, Span, WatchLevel

# ------------------------------------------------------------------------------------- cue patterns
_NO = r"[^$\d.;]"  # words between a cue and its number: no other number, no sentence end
_STOP = re.compile(rf"\b(?:stop(?:s|ped)?(?:[\s-]loss(?:es)?)?|stop\s+out)\b{_NO}{{0,25}}$", re.I)
_TARGET = re.compile(
    rf"(?:\b(?:targets?|targeting|take[\s-]?profits?|profit[\s-]taking|objectives?|cover(?:ing)?|exit(?:ing)?|book\s+profits?|"
    rf"price\s+target)\b{_NO}{{0,50}}$"
    rf"|\bopens?\s+(?:up\s+)?the\s+door\s+(?:to|for)\b{_NO}{{0,25}}$"
    rf"|\b(?:toward|towards|up\s+to|down\s+to|back\s+to|extend(?:s|ing)?\s+to|run\s+to|reach|retest\s+of)\s+(?:the\s+)?(?:\w+\s+)?(?:highs?|lows?|level|area)?\s*(?:near|at|of|around)?\s*$"
    rf"|\b(?:upside|downside)\s+(?:to|of|toward|towards)\s*$)",
    re.I,
)
_TARGET_AFTER = re.compile(r"^\s*(?:is\s+|comes\s+|back\s+)?(?:in\s+play|into\s+play|on\s+the\s+table|is\s+the\s+(?:next\s+)?target)", re.I)
_INVALID = re.compile(rf"\binvalidat\w*\b{_NO}{{0,30}}$|\b(?:thesis|setup|idea|view)\s+(?:is\s+)?(?:wrong|void|dead)\s+(?:on\s+a\s+\w+\s+)?(?:below|above|under|over)\s*$", re.I)
_INVALID_AFTER = re.compile(r"^[^.;,:$\d]{0,40}?\binvalidat", re.I)
_LONG_STOP = re.compile(
    rf"(?:\b(?:buy(?:ing|s|ers?)?|long|go(?:ing)?\s+long|get\s+long|enter(?:ing)?(?:\s+long)?|add(?:ing)?|bid)\b{_NO}{{0,30}}"
    rf"\b(?:above|over|through|on\s+a\s+(?:break|close|move)\s+(?:above|over))\s*$"
    rf"|\b(?:break(?:s|ing)?(?:\s*out)?|breakouts?|move[sd]?|moving|clos(?:e|es|ing)|push(?:es|ing)?|rall(?:y|ies|ying)|"
    rf"surg(?:e|es|ing)|run|sustained\s+move|reclaim(?:s|ing)?|thrust)\s+(?:back\s+)?(?:above|over|through)\s*$"
    rf"|\b(?:breakout|break\s+out)\s+(?:at|from|to|near)\s*$"
    rf"|\b(?:reclaim(?:s|ing)?|clear(?:s|ing)?)\s+(?:the\s+)?$)",
    re.I,
)
_SHORT_STOP = re.compile(
    rf"(?:\b(?:short(?:ing|s)?|sell(?:ing|s|ers?)?|go(?:ing)?\s+short|get\s+short|fade|enter(?:ing)?\s+short)\b{_NO}{{0,30}}"
    rf"\b(?:below|under|beneath|through|on\s+a\s+(?:break|close|move)\s+(?:below|under))\s*$"
    rf"|\b(?:break(?:s|ing)?(?:\s*down)?|breakdowns?|drop(?:s|ping)?|fall(?:s|ing)?|move[sd]?|moving|clos(?:e|es|ing)|"
    rf"slid(?:e|es|ing)|slip(?:s|ping)?|los(?:e|es|ing)|sink(?:s|ing)?|crack(?:s|ing)?|plunge[sd]?)\s+(?:back\s+)?(?:below|under|beneath|through)\s*$"
    rf"|\b(?:breakdown|break\s+down)\s+(?:at|from|to|near)\s*$)",
    re.I,
)
_LONG_LIMIT = re.compile(
    rf"(?:\b(?:dips?|pull\s*-?\s*backs?|pull\s+back|retests?|retrac(?:e|es|ement)|declines?|pullbacks?)\s+(?:back\s+)?(?:to|toward|towards|into|near|at)\s+(?:the\s+)?$"
    rf"|\bbuy(?:ing|s)?\b{_NO}{{0,25}}\b(?:at|near|around|on\s+dips\s+to|the\s+dip\s+(?:at|to))\s*$"
    rf"|\badd(?:ing)?\s+(?:on|into)\s+(?:a\s+|any\s+)?(?:pull\s*-?\s*backs?|dips?|retests?|weakness)\s+(?:to|toward|near|at)\s*$"
    rf"|\b(?:long|bid)\s+(?:at|near|around)\s*$"
    rf"|\bentry\s+(?:at|near|around|zone\s+(?:at|near)|point\s+(?:at|near))\s*$)",
    re.I,
)
_SHORT_LIMIT = re.compile(
    rf"(?:\b(?:short(?:ing|s)?|sell(?:ing|s|ers?)?|fade)\b{_NO}{{0,25}}\b(?:at|near|around|into\s+(?:a\s+|any\s+)?(?:rally|rallies|bounce|strength|pop)\s+(?:to|toward|near)|on\s+(?:a\s+)?(?:rally|bounce)\s+to)\s*$)",
    re.I,
)
_ENTRY_AFTER = re.compile(r"^\s*(?:is|as|would\s+be|could\s+be|offers?|marks?)?\s*(?:a|an|the)?\s*(?:\w+\s+){0,2}?(?:entry|buy(?:ing)?\s+(?:opportunity|point|zone)|buy\s+point)\b", re.I)
_HOLDS_ABOVE = re.compile(r"\b(?:holds?|holding|stays?|staying|remains?|trades?|trading|keeps?)\s+(?:firmly\s+)?(?:above|over)\s*$", re.I)
_HOLDS_BELOW = re.compile(r"\b(?:holds?|holding|stays?|staying|remains?|trades?|trading|keeps?|capped)\s+(?:firmly\s+)?(?:below|under|beneath)\s*$", re.I)
_SUPPORT = re.compile(rf"\b(?:support(?:s|ed)?|floor|base|demand\s+zone)\b{_NO}{{0,30}}$", re.I)
_RESIST = re.compile(rf"\b(?:resistance|ceiling|cap|supply\s+zone|overhead)\b{_NO}{{0,30}}$", re.I)
_SUPPORT_AFTER = re.compile(r"^\s*(?:is|as|remains|acts\s+as|serves\s+as)?\s*(?:the\s+|a\s+|key\s+|critical\s+|major\s+)*(?:support|floor)\b", re.I)
_RESIST_AFTER = re.compile(r"^\s*(?:is|as|remains|acts\s+as)?\s*(?:the\s+|a\s+|key\s+|major\s+)*(?:resistance|ceiling)\b", re.I)
_BETWEEN = re.compile(rf"\b(?:between|from|range\s+of|range\s+between){_NO}{{0,5}}$", re.I)
_PRICE = re.compile(r"\b(?:at|trading\s+at|trades\s+at|stuck\s+at|flat\s+at|sits\s+at|sitting\s+at|closed\s+at|closing\s+at|is\s+at|currently\s+at|priced\s+at|last\s+at|now\s+at|changing\s+hands\s+at)\s*$", re.I)
_LIST_MORE = re.compile(r"^\s*(?:,\s*(?:and|then|or)?|and|then|or|/|&)\s*(?:then\s+)?(?:possibly\s+|eventually\s+|ultimately\s+|later\s+)?$", re.I)
_NEXT_TARGET = re.compile(r"^[\s,;.]*(?:and\s+|then\s+)?(?:a\s+|the\s+)?(?:second|third|next|final|further|extended|stretch|ultimate)\b[^$\d.;]{0,20}$", re.I)
_MOVING_AVERAGE = re.compile(r"\b(?:moving\s+averages?|MAs?|[SE]MA|VWAP|trend\s*line|Bollinger)\b[^$\d.;]{0,20}$", re.I)
_BOUNDARY = re.compile(r"[,;:—–(]|\bwhile\b|\bbut\b|\bwhereas\b|\bwith\b(?=\s+(?:a|an|the|key|support|resistance|stops?|targets?)\b)", re.I)
_WORD_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "a couple of": 2, "a few": 3}
_WINDOW = re.compile(
    r"\b(?:within|in|over|during|for)\s+(?:the\s+)?(?:next\s+)?(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|a\s+few)"
    r"\s+(?P<unit>(?:trading\s+)?(?:sessions?|days?)|weeks?)\b", re.I)
_AS_LONG_AS = re.compile(r"\bas\s+long\s+as\b", re.I)

_REFERENT = re.compile(
    r"\b(?P<verb>break(?:s|ing)?(?:\s*out|\s*down)?|breakouts?|breakdowns?|move[sd]?|sustained\s+move|clos(?:e|es|ing)|drop(?:s)?|"
    r"push(?:es)?|fall(?:s)?|rall(?:y|ies)|slide|slip(?:s)?|thrust)\s+(?P<dir>above|over|below|under|beneath|through)"
    r"(?:\s+(?P<this>this|that|the|these|those)\s+(?P<what>level|threshold|line|mark|support|resistance|zone|area|floor|ceiling|range|handle|pivot)s?\b"
    r"|(?=\s*[,.;—]|\s+(?:puts?|opens?|would|could|will|may|might|targets?|is|sends?|brings?|exposes?|triggers?|confirms?|"
    r"likely|should|then|and\s+(?:a|the)\s+(?:target|stop))\b))",
    re.I,
)
_ACTION = re.compile(
    r"\b(?:buy(?:ing|s)?|sell(?:ing|s)?|short(?:ing)?(?!\s+squeeze)|go(?:ing)?\s+(?:long|short)|get\s+(?:long|short)|"
    r"enter(?:ing)?|entry|add(?:ing)?\s+on|cover(?:ing)?|take\s+profits?|fade|long(?!er|\s+as)|trigger\s+to\s+get|"
    r"stop(?:[\s-]loss)?\s+(?:at|below|above|under|over))\b",
    re.I,
)
_HEDGE = re.compile(
    r"\b(?:could|might|may|would|potential(?:ly)?|possibl[ey]|perhaps|maybe|watch\s+for|keep\s+an\s+eye|consider|"
    r"odds\s+are\s+(?:slim|low|against)|don[’']?t\s+hold\s+your\s+breath|speculative|lottery|flirting)\b",
    re.I,
)

_PAIR_LEGS = r"@(?P<{0}>\d+)@(?P<{0}_more>(?:\s*(?:,|or|and|/|&)\s*(?:the\s+)?@\d+@)*)"
_PAIR_PATTERNS = [
    re.compile(r"\blong\s+(?:the\s+)?" + _PAIR_LEGS.format("a") + r"\s*(?:,|;|/|—|–|-|and|vs\.?|versus|against|over|relative\s+to)?\s*(?:and\s+|while\s+)?"
               r"(?:short(?:ing)?|underweight|sell(?:ing)?)\s+(?:the\s+)?" + _PAIR_LEGS.format("b"), re.I),
    re.compile(r"\blong\s+(?:the\s+)?" + _PAIR_LEGS.format("a") + r"\s+(?:against|vs\.?|versus|over|relative\s+to|funded\s+by\s+(?:a\s+)?short\s+(?:in\s+)?)\s*(?:the\s+)?" + _PAIR_LEGS.format("b"), re.I),
    re.compile(r"\b(?:buy(?:ing)?|own(?:ing)?|overweight)\s+(?:the\s+)?" + _PAIR_LEGS.format("a") + r"\s*(?:,|;|and)?\s*(?:short(?:ing)?|sell(?:ing)?|underweight)\s+(?:the\s+)?" + _PAIR_LEGS.format("b"), re.I),
    re.compile(r"\bshort\s+(?:the\s+)?" + _PAIR_LEGS.format("b") + r"\s*(?:,|;|/|and|against|vs\.?)\s*(?:and\s+)?(?:long|buy)\s+(?:the\s+)?" + _PAIR_LEGS.format("a"), re.I),
]
_MARKET_ENTRY = re.compile(
    r"\b(?:(?:go|get|going|getting)\s+(?P<dir1>long|short)\s+(?:the\s+)?@(?P<m1>\d+)@"
    r"|(?P<verb>buy|short|sell)\s+(?:the\s+)?@(?P<m2>\d+)@\s+(?:here|now|at\s+(?:the\s+)?market|at\s+the\s+open|outright|on\s+the\s+open))",
    re.I,
)


# ----------------------------------------------------------------------------------- working types
@dataclasses.dataclass
class _Sentence:
    start: int
    end: int
    paragraph: int
    section: str


@dataclasses.dataclass
class _Level:
    """One level in context: the number, its role and the instrument it was attributed to."""

    num: NumberMention
    role: str
    direction: str | None = None
    entry_type: str | None = None
    mention: Mention | None = None
    pos: int = 0
    span: tuple[int, int] = (0, 0)
    condition: bool = False  # "as long as it holds above X": restates a long's trigger


@dataclasses.dataclass
class _Draft:
    """A setup being assembled."""

    mention: Mention | None
    direction: str
    entry_type: str
    level: float | None
    pos: int
    spans: list[tuple[int, int]]
    explicit: bool
    stop: float | None = None
    targets: list[float] = dataclasses.field(default_factory=list)
    invalidation: float | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    kind: str = "single"
    long: Mention | None = None
    short: Mention | None = None
    window: int | None = None
    symbol: str | None = None
    status: str = "ok"
    resolution_note: str = ""

    def add_span(self, span: tuple[int, int]) -> None:
        if span not in self.spans:
            self.spans.append(span)
            self.spans.sort()


@dataclasses.dataclass
class Extraction:
    """What :func:`extract_article` returns: the setup file plus warnings for the summary."""

    setup_file: SetupFile
    warnings: list[str]


# --------------------------------------------------------------------------------------- entry point
def extract_article(article: Article, price_lookup: PriceLookup | None = None) -> Extraction:
    """Build the :class:`SetupFile` for one article. Never raises for odd text.

    An article without a publication date is extracted all the same, with ``published: null`` (its
    ``published_note`` and a warning say so): ``backtest run`` refuses its setups until a date is set.
    """
    reader = _Reader(article, price_lookup)
    reader.run()
    start, end = article.analysis_span
    meta = ArticleMeta(
        id=article.id,
        title=article.title,
        path=article.path,
        sha256=article.sha256,
        published=article.published,
        published_basis=article.published_basis if article.published is not None else None,
        published_note=article.published_note,
        stance=article.stance,
        stance_basis="stated" if article.stance else None,
        pulse=article.pulse,
        threat=article.threat,
        tags=article.tags,
        subject=subject_of(article.title, article.tags, article.text[start:end]),
        sources=article.sources,
    )
    setups = reader.setups()
    if meta.stance is None:
        meta.stance = derived_stance(setups)
        meta.stance_basis = "derived" if meta.stance else None
    warnings = list(article.warnings)
    for setup in setups:
        for problem in setup.ordering_problems():
            warnings.append(f"{setup.id}: {problem} (kept as written; fix the setup file if the article meant otherwise)")
        if setup.status == "unresolved":
            warnings.append(f"{setup.id}: instrument {setup.instrument!r} is unresolved ({setup.note})")
    return Extraction(SetupFile(article=meta, setups=setups, watch=reader.watch_levels()), warnings)


def derived_stance(setups: list[Setup]) -> str | None:
    """The stance an article's explicit setups imply when it states none.

    Explicit single setups vote with their direction (pairs are relative bets and do not vote): more longs
    → ``bullish``, more shorts → ``bearish``, as many of each → ``neutral``; no explicit setup → None.
    """
    longs = sum(1 for s in setups if s.kind == "single" and s.explicit and s.direction == "long")
    shorts = sum(1 for s in setups if s.kind == "single" and s.explicit and s.direction == "short")
    if not longs and not shorts:
        return None
    return "bullish" if longs > shorts else "bearish" if shorts > longs else "neutral"


class _Reader:
    """Walks the sentences once, collecting drafts and watch items (see module docstring)."""

    def __init__(self, article: Article, price_lookup: PriceLookup | None):
        self.article = article
        self.text = line_view(article.text)
        self.masked = mask_names(self.text)
        self.lookup = price_lookup
        self.drafts: list[_Draft] = []
        self.watch: list[dict] = []
        self.context: list[Mention] = []  # instruments mentioned so far, in order
        self.levels: list[_Level] = []  # levels seen so far in the current paragraph
        self.current: _Draft | None = None
        self.conditions: list[_Level] = []  # "holds above X" levels, to link restatements to setups

    # -- walking -----------------------------------------------------------------------------------
    def run(self) -> None:
        paragraph = -1
        for sentence in self._sentences():
            if sentence.paragraph != paragraph:
                paragraph = sentence.paragraph
                self.current = None
                self.levels = []
            self._sentence(sentence)

    def _sentences(self) -> list[_Sentence]:
        out: list[_Sentence] = []
        para = 0
        for name in ("body", "watch", "take"):
            if name not in self.article.sections:
                continue
            s_start, s_end = self.article.sections[name]
            for pm in re.finditer(r"[^\n]+", self.text[s_start:s_end]):
                p_start = s_start + pm.start()
                chunk = pm.group(0)
                if not chunk.strip():
                    continue
                para += 1
                cut = 0
                for sm in re.finditer(r"(?<=[.!?…])[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z$\d])", chunk):
                    if self._abbreviation(chunk[:sm.start()]):
                        continue
                    out.append(_Sentence(p_start + cut, p_start + sm.start(), para, name))
                    cut = sm.end()
                if chunk[cut:].strip():
                    out.append(_Sentence(p_start + cut, p_start + len(chunk.rstrip()), para, name))
        if not out:  # no recognisable sections: the whole text is the body
            for pm in re.finditer(r"[^\n]+", self.text):
                out.append(_Sentence(pm.start(), pm.end(), len(out), "body"))
        return out

    @staticmethod
    def _abbreviation(before: str) -> bool:
        return bool(re.search(r"\b(?:U\.S|vs|e\.g|i\.e|Mr|Ms|Dr|St|approx|est|No|Inc|Corp|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.$", before))

    def _sentence(self, s: _Sentence) -> None:
        text = self.text[s.start:s.end]
        masked = self.masked[s.start:s.end]
        span = (s.start, s.end)
        mentions = find_mentions(text, s.start)
        nums = [n for n in find_numbers(text)]
        explicit = bool(_ACTION.search(_AS_LONG_AS.sub("provided", text))) and not _HEDGE.search(text)
        events: list[tuple[int, str, object]] = []
        levels = self._roles(s, text, masked, nums, mentions)
        for lv in levels:
            events.append((lv.pos, "level", lv))
        for ref in _REFERENT.finditer(_AS_LONG_AS.sub("provided  ", masked)):
            events.append((s.start + ref.start(), "referent", ref))
        events.sort(key=lambda e: e[0])
        for pos, kind, payload in events:
            if kind == "level":
                self._level_event(payload, span, explicit)  # type: ignore[arg-type]
            else:
                self._referent_event(payload, s, text, span, explicit)  # type: ignore[arg-type]
        self._pairs(text, mentions, span, explicit)
        self._window(text, span)
        self.context.extend(mentions)

    def _window(self, text: str, span: tuple[int, int]) -> None:
        """"within the next five sessions": how long the order opened in this sentence stays working."""
        m = _WINDOW.search(text)
        d = self.current
        if not m or d is None or d.kind != "single" or d.entry_type == "market" or span not in d.spans:
            return
        raw = re.sub(r"\s+", " ", m["n"].lower())
        n = int(raw) if raw.isdigit() else _WORD_NUM.get(raw)
        if n:
            d.window = n * 5 if m["unit"].lower().startswith("week") else n

    # -- roles -------------------------------------------------------------------------------------
    def _roles(self, s: _Sentence, text: str, masked: str, nums: list[NumberMention], mentions: list[Mention]) -> list[_Level]:
        out: list[_Level] = []
        clean = _AS_LONG_AS.sub("provided  ", masked)  # same length as "as long as"
        prev_end = 0
        prev: _Level | None = None
        for n in nums:
            if not n.is_level:
                prev_end = n.end
                continue
            lead_full = clean[:n.start]
            bounds = [m.end() for m in _BOUNDARY.finditer(lead_full)] + [prev_end]
            lead = lead_full[max(bounds):]
            after = clean[n.end:n.end + 60]
            between = clean[prev_end:n.start] if prev is not None else lead
            role, direction, etype = self._role(lead, after, prev, between)
            if role == "range-start":
                role = "range"
            lv = _Level(dataclasses.replace(n, start=n.start + s.start, end=n.end + s.start), role, direction, etype,
                        pos=s.start + n.start, span=(s.start, s.end),
                        condition=bool(_HOLDS_ABOVE.search(lead) or _HOLDS_BELOW.search(lead)))
            # "between $139 and $143": the second number closes the range opened by the first.
            if prev is not None and prev.role == "range" and prev.num.high is None and _LIST_MORE.match(between) and not role.startswith("entry"):
                prev.num = dataclasses.replace(prev.num, high=n.value, end=lv.num.end, kind="range")
                prev_end = n.end
                continue
            lv.mention = self._attribute(lv, mentions, s)
            out.append(lv)
            prev, prev_end = lv, n.end
        return out

    def _role(self, lead: str, after: str, prev: _Level | None, between: str) -> tuple[str, str | None, str | None]:
        if prev is not None and _LIST_MORE.match(between) and prev.role in ("target", "support", "resistance", "level", "price"):
            return prev.role, prev.direction, prev.entry_type
        if prev is not None and prev.role == "target" and _NEXT_TARGET.match(between):
            return "target", None, None
        if _MOVING_AVERAGE.search(lead):
            return "level", None, None
        if _STOP.search(lead):
            return "stop", None, None
        if _INVALID.search(lead):
            return "invalidation", None, None
        if _TARGET.search(lead) or _TARGET_AFTER.match(after):
            return "target", None, None
        if _BETWEEN.search(lead):
            return "range", None, None
        if _SHORT_LIMIT.search(lead):
            role = ("entry", "short", "limit")
        elif _LONG_LIMIT.search(lead) or (_ENTRY_AFTER.match(after) and not re.search(r"\b(?:short|sell)\b", lead, re.I)):
            role = ("entry", "long", "limit")
        elif _SHORT_STOP.search(lead):
            role = ("entry", "short", "stop")
        elif _LONG_STOP.search(lead):
            role = ("entry", "long", "stop")
        else:
            role = None
        if role is not None:
            if _INVALID_AFTER.match(after):
                return "invalidation", role[1], None
            return role
        if _HOLDS_ABOVE.search(lead) or _SUPPORT.search(lead) or _SUPPORT_AFTER.match(after):
            return "support", None, None
        if _HOLDS_BELOW.search(lead) or _RESIST.search(lead) or _RESIST_AFTER.match(after):
            return "resistance", None, None
        if LEVEL_AFTER.match(after):
            return "level", None, None
        if _PRICE.search(lead):
            return "price", None, None
        return "mention", None, None

    # -- instruments -------------------------------------------------------------------------------
    def _attribute(self, lv: _Level, mentions: list[Mention], s: _Sentence) -> Mention | None:
        """The instrument a level belongs to.

        The nearest mention before it in the sentence, else after it, skipping known instruments whose
        price is nowhere near the level (the VIX is not at 2,150); with no mention in the sentence, the
        recently mentioned instrument whose price fits.
        """
        before = [m for m in mentions if m.end <= lv.num.start][::-1]
        after = [m for m in mentions if m.start >= lv.num.end]
        for m in before + after:
            if not m.resolvable or self._fits(m, lv.num.value):
                return m
        if before or after:
            return (before + after)[0]
        return self._by_magnitude(lv.num.value)

    def _fits(self, m: Mention, level: float) -> bool:
        import math

        symbols = [m.pinned] if m.pinned else list(FAMILIES[m.family].candidates)
        prices = [p for p in (self._price(sym) for sym in symbols) if p]
        return not prices or any(abs(math.log(level / p)) < math.log(3) for p in prices)

    def _by_magnitude(self, level: float) -> Mention | None:
        """Among instruments mentioned so far, the one whose price is nearest the level (recent ones win ties)."""
        import math

        best: tuple[float, int] | None = None
        choice: Mention | None = None
        seen: set[tuple[str, str | None]] = set()
        for idx in range(len(self.context) - 1, -1, -1):
            m = self.context[idx]
            key = (m.family, m.pinned)
            if key in seen or not m.resolvable:
                continue
            seen.add(key)
            symbols = [m.pinned] if m.pinned else list(FAMILIES[m.family].candidates)
            for symbol in symbols:
                price = self._price(symbol)
                if not price:
                    continue
                dist = abs(math.log(level / price))
                score = (round(dist, 1), len(self.context) - idx)
                if best is None or score < best:
                    best, choice = score, m
        if best is None or best[0] > math.log(3):
            return None  # nothing mentioned trades near this level: unresolved beats a wrong symbol
        return choice

    def _price(self, symbol: str) -> float | None:
        if self.lookup is not None and self.article.published is not None:
            try:
                price = self.lookup(symbol, self.article.published)
            except Exception:  # noqa: BLE001
                price = None
            if price:
                return price
        return TYPICAL_CLOSE.get(symbol)

    # -- events ------------------------------------------------------------------------------------
    def _level_event(self, lv: _Level, span: tuple[int, int], explicit: bool) -> None:
        self.levels.append(lv)
        if lv.condition:
            self.conditions.append(lv)
        value = lv.num.value
        if lv.role == "entry":
            if lv.num.high is not None and lv.direction == "long":
                value = lv.num.high  # a zone is reached at its top from above, and broken out of at its top
            self._open(lv.mention, lv.direction or "long", lv.entry_type or "stop", value, lv.pos, span, explicit)
        elif lv.role == "stop":
            if self.current is not None:
                self._set_stop(self.current, value, span)
        elif lv.role == "target":
            if self.current is not None:
                self.current.targets.append(value)
                self.current.add_span(span)
        elif lv.role == "invalidation":
            if self.current is not None:
                self._invalidate(self.current, value, span)
            else:
                self._watch(lv, "level", span, note="invalidation level")
        elif lv.role in ("support", "resistance", "range", "level", "price"):
            if lv.role == "range" and lv.num.high is None:
                self._watch(lv, "level", span)
            else:
                self._watch(lv, lv.role if lv.num.high is None or lv.role != "level" else "range", span)

    def _referent_event(self, ref: re.Match, s: _Sentence, text: str, span: tuple[int, int], explicit: bool) -> None:
        direction = "long" if ref["dir"].lower() in ("above", "over") else "short"
        if ref["dir"].lower() == "through":
            direction = "long"
        target_role = {"long": "resistance", "short": "support"}[direction]
        prior = [lv for lv in self.levels if lv.pos < s.start + ref.start()]
        if not prior:
            return
        if ref["this"]:
            what = (ref["what"] or "").lower()
            pick = [lv for lv in prior if lv.role == what] if what in ("support", "resistance", "range") else []
            referent = (pick or prior)[-1]
        else:
            referent = ([lv for lv in prior if lv.role == target_role] or [lv for lv in prior if lv.role in ("level", "support", "resistance", "price")] or [None])[-1]
            if referent is None:
                return
        value = referent.num.high if (referent.num.high and direction == "long") else referent.num.value
        after = self.masked[s.start + ref.end(): s.end]
        if _INVALID_AFTER.match(after):
            if self.current is not None:
                self._invalidate(self.current, value, span)
            return
        self._open(referent.mention, direction, "stop", value, s.start + ref.start(), span, explicit)
        if self.current is not None and referent.span != span:
            self.current.add_span(referent.span)  # the sentence that named the level

    def _open(self, mention: Mention | None, direction: str, etype: str, level: float, pos: int,
              span: tuple[int, int], explicit: bool) -> None:
        draft = _Draft(mention, direction, etype, level, pos, [span], explicit)
        self.drafts.append(draft)
        self.current = draft

    @staticmethod
    def _set_stop(draft: _Draft, value: float, span: tuple[int, int]) -> None:
        if draft.stop is None:
            draft.stop = value
        elif draft.stop != value:
            draft.notes.append(f"another stop {format_level(value)} is also mentioned")
        draft.add_span(span)

    def _invalidate(self, draft: _Draft, value: float, span: tuple[int, int]) -> None:
        """A break that "invalidates" the setup is its stop (or its invalidation when a stop is already set)."""
        if draft.stop is None:
            draft.stop = value
            draft.notes.append(f"stop {format_level(value)} from the level said to invalidate the setup")
        elif draft.stop != value:
            draft.invalidation = value
        draft.add_span(span)

    def _watch(self, lv: _Level, kind: str, span: tuple[int, int], note: str | None = None) -> None:
        levels = lv.num.values
        self.watch.append({"mention": lv.mention, "kind": kind, "levels": levels, "span": span, "note": note})

    # -- pairs and market entries -----------------------------------------------------------------
    def _pairs(self, text: str, mentions: list[Mention], span: tuple[int, int], explicit: bool) -> None:
        if not mentions:
            return
        s_start = span[0]
        token = text
        for idx in range(len(mentions) - 1, -1, -1):
            m = mentions[idx]
            token = token[: m.start - s_start] + f"@{idx}@" + token[m.end - s_start:]
        token = _AS_LONG_AS.sub("provided", token)
        for pattern in _PAIR_PATTERNS:
            for pm in pattern.finditer(token):
                longs = [int(pm["a"])] + [int(x) for x in re.findall(r"@(\d+)@", pm["a_more"] or "")]
                shorts = [int(pm["b"])] + [int(x) for x in re.findall(r"@(\d+)@", pm["b_more"] or "")]
                for li in longs:
                    for si in shorts:
                        self._pair(mentions[li], mentions[si], span, explicit)
            if any(True for _ in pattern.finditer(token)):
                return
        for mm in _MARKET_ENTRY.finditer(token):
            idx = int(mm["m1"] or mm["m2"])
            direction = (mm["dir1"] or ("long" if (mm["verb"] or "").lower() == "buy" else "short")).lower()
            mention = mentions[idx]
            draft = _Draft(mention, direction, "market", None, mention.start, [span], explicit)
            self.drafts.append(draft)

    def _pair(self, long: Mention, short: Mention, span: tuple[int, int], explicit: bool) -> None:
        if tradeable_symbol(long) == tradeable_symbol(short) and long.family == short.family:
            return
        draft = _Draft(None, "long", "market", None, long.start, [span], explicit, kind="pair", long=long, short=short)
        self.drafts.append(draft)

    # -- results -----------------------------------------------------------------------------------
    def setups(self) -> list[Setup]:
        drafts = [d for d in self.drafts]
        for d in drafts:
            self._resolve(d)
        drafts = _merge(drafts)
        for cond in self.conditions:  # "as long as it holds above $2,080" restates the long triggered at 2,080
            direction = "long" if cond.role == "support" else "short"
            for d in drafts:
                if d.kind == "single" and d.level == cond.num.value and d.direction == direction and cond.mention is not None \
                        and d.mention is not None and d.mention.family == cond.mention.family:
                    d.add_span(cond.span)
        drafts.sort(key=lambda d: (d.spans[0][0], d.pos))
        out: list[Setup] = []
        for i, d in enumerate(drafts, start=1):
            out.append(self._to_setup(d, f"{self.article.id}-s{i}"))
        return out

    def _resolve(self, d: _Draft) -> None:
        if d.kind == "pair":
            d.symbol = None
            missing = [m.words for m in (d.long, d.short) if m is not None and tradeable_symbol(m) is None]
            d.status = "unresolved" if missing else "ok"
            d.resolution_note = (f"no series for {', '.join(repr(w) for w in missing)}" if missing
                                 else "pair legs trade as ETFs")
            return
        if d.mention is None:
            d.symbol, d.status, d.resolution_note = None, "unresolved", "no instrument named near the setup"
            return
        if d.entry_type == "market":
            symbol = tradeable_symbol(d.mention)
            d.symbol, d.status = symbol, "ok" if symbol else "unresolved"
            d.resolution_note = f"{d.mention.words!r} trades as {symbol}" if symbol else f"no series for {d.mention.words!r}"
            return
        res = resolve(d.mention, d.level, self.article.published, self.lookup)
        d.symbol, d.status, d.resolution_note = res.symbol, res.status, res.note

    def _to_setup(self, d: _Draft, setup_id: str) -> Setup:
        provenance = Provenance(article_id=self.article.id, sha256=self.article.sha256,
                                spans=[Span(start=a, end=b) for a, b in d.spans])
        notes = [d.resolution_note] + d.notes
        note = "; ".join(n for n in notes if n) or None
        if d.kind == "pair":
            assert d.long is not None and d.short is not None
            return Setup(
                id=setup_id, kind="pair", instrument=f"long {d.long.words} / short {d.short.words}", symbol=None,
                status=d.status, direction="long", entry=EntryOrder(type="market"),
                long=Leg(instrument=d.long.words, symbol=tradeable_symbol(d.long)),
                short=Leg(instrument=d.short.words, symbol=tradeable_symbol(d.short)),
                explicit=d.explicit, note=note, source=provenance,
            )
        direction_sign = 1 if d.direction == "long" else -1
        targets = sorted(dict.fromkeys(d.targets), key=lambda t: direction_sign * t) if d.level is not None and all(
            direction_sign * (t - d.level) > 0 for t in d.targets) else list(dict.fromkeys(d.targets))
        return Setup(
            id=setup_id, kind="single", instrument=d.mention.words if d.mention else "", symbol=d.symbol,
            status=d.status if d.symbol or d.status == "unresolved" else "unresolved",
            direction=d.direction, entry=EntryOrder(type=d.entry_type, level=d.level, window=d.window),
            stop=d.stop, targets=targets, invalidation=d.invalidation, explicit=d.explicit, note=note,
            source=provenance,
        )

    def watch_levels(self) -> list[WatchLevel]:
        merged: dict[tuple, WatchLevel] = {}
        for item in self.watch:
            mention: Mention | None = item["mention"]
            levels = item["levels"]
            if mention is None:
                words, res = "", None
            else:
                words = mention.words
                res = resolve(mention, levels[0], self.article.published, self.lookup)
            symbol = res.symbol if res else None
            key = (symbol or words, item["kind"], tuple(levels))
            span = Span(start=item["span"][0], end=item["span"][1])
            if key in merged:
                if span not in merged[key].source.spans:
                    merged[key].source.spans.append(span)
                continue
            note = "; ".join(n for n in (item["note"], res.note if res and res.status != "ok" else None) if n) or None
            merged[key] = WatchLevel(
                instrument=words or "(unnamed)", symbol=symbol, kind=item["kind"], levels=levels, note=note,
                source=Provenance(article_id=self.article.id, sha256=self.article.sha256, spans=[span]),
            )
        return list(merged.values())


def _key(d: _Draft) -> tuple:
    return (d.kind, d.symbol or (d.mention.words.lower() if d.mention else None), d.direction, d.entry_type, d.level,
            tradeable_symbol(d.long) if d.long else None, tradeable_symbol(d.short) if d.short else None)


def _merge(drafts: list[_Draft]) -> list[_Draft]:
    """Restatements become one setup (spans united); continuation breakouts fold into their parent."""
    out: list[_Draft] = []
    by_key: dict[tuple, _Draft] = {}
    for d in drafts:
        k = _key(d)
        if k in by_key:
            keep = by_key[k]
            for span in d.spans:
                keep.add_span(span)
            keep.explicit = keep.explicit or d.explicit
            if d.stop is not None:
                if keep.stop is None:
                    keep.stop = d.stop
                elif keep.stop != d.stop:
                    keep.notes.append(f"a restatement gives stop {format_level(d.stop)}")
            for t in d.targets:
                if t not in keep.targets:
                    keep.targets.append(t)
            if keep.invalidation is None:
                keep.invalidation = d.invalidation
            if keep.window is None:
                keep.window = d.window
            for n in d.notes:
                if n not in keep.notes:
                    keep.notes.append(n)
            continue
        by_key[k] = d
        out.append(d)
    changed = True
    while changed:
        changed = False
        for child in out:
            if child.kind != "single" or child.entry_type != "stop" or child.level is None:
                continue
            for parent in out:
                if parent is child or parent.kind != "single" or parent.symbol != child.symbol:
                    continue
                if parent.direction != child.direction or child.level not in parent.targets:
                    continue
                if not set(child.targets) <= set(parent.targets) or child.stop not in (None, parent.stop):
                    continue
                for span in child.spans:
                    parent.add_span(span)
                parent.explicit = parent.explicit or child.explicit
                parent.notes.append(f"restated as a breakout over target {format_level(child.level)}")
                out.remove(child)
                changed = True
                break
            if changed:
                break
    return out
