"""Article → :class:`SetupFile`: trade setups, pairs and watch levels, each pointing at its sentences.

How it reads (rule-based on purpose: every decision traces back to words in the text, listed in
``phrasebook.yaml``; ``docs/setup-format.md`` has the examples):

1. **What is read**: the analysis part of the article (body, Strykr Watch, Strykr Take; never sources or
   page chrome), cut into paragraphs (a blank line, or two long lines in a row) and sentences (each line
   ends one). Short consecutive lines ("Entry 612.50" / "SL 598" / "TP1 630") form one paragraph.
2. **What the words are**: instrument names (:mod:`.instruments`) and numbers (:mod:`.numbers`: "$62
   billion", "RSI 63", "+2.3%", "$60 oil", "10:30 ET" are not levels) are found first; the phrasebook then
   matches its phrases on a masked view of the text (:mod:`.phrasebook`), once per article.
3. **Which role each level has**: the cue right before it ("stop at", "targets", "buy above", "on a daily
   close under"; link words such as "at", "just" and a few other words may stand between), else a cue right
   after it ("a $90 stop", "puts $250 in play", "is a potential entry"), else the role of the level before
   it when only a continuation stands between ("targets $275, $285", "6,100 → 6,150", "first ... then ...").
   An entry cue needs a *side*: a side word in the clause ("buy", "short", "fade", "I'm a buyer"), right
   after the level ("North of $165 I'm a buyer"), earlier in the sentence, or on a heading line of the
   paragraph ("$META long idea"); breakouts, breakdowns and closes ("a break below 87", "a daily close
   above 6,700") may stand alone as scenarios. Side and trigger give the entry type (docs table): "buy
   above" = stop, "buy at / on a dip to / in the zone" = limit, "short under" = stop, "fade a rally to" =
   limit, "on a (daily) close above" = close. An entry without a side ("Entry 612.50", "IWM at $237 with a
   stop at $232") takes its direction from its stop and targets, or is dropped.
4. **Setups**: an entry opens a setup; stops, targets and invalidations that follow in the same paragraph
   (on the same instrument) attach to it; "invalidation below X" is the stop when none is given. Support,
   resistance, ranges and quoted prices become watch levels. A level-less break ("a move above *this
   threshold*", "a break below puts …") refers back to the last level named. "At the market / here / now"
   opens a market order. Pairs: "long S&P 500, short IWM" (templates in the phrasebook).
5. **What is not a setup**: nothing in a clause that says there is no trade ("no short from us", "stand
   aside", "the short is off"); nothing in sentences about trades already closed, option positions or
   someone else's price target; a "would confirm" sentence adds to the setup it confirms; a condition
   followed by its entry ("lose 25,540 and I flip short under 25,520") is one setup.
6. **Merging**: the same instrument, direction, entry type and level is one setup with several spans; a
   breakout whose trigger is an existing setup's target and whose targets it already has ("a break above
   $2,150 opens the door to $2,250") is part of that setup.
7. ``explicit`` is true when the sentence gives an instruction (buy, short, get short, long X...) and
   hedges nothing ("could", "potential", "watch for"); scenarios are kept with ``explicit: false``.

Level ordering is checked with :meth:`Setup.ordering_problems` and reported as warnings, never fixed.
Everything is linear in the article's length: one scan per phrase layer, and bounded look-ups per level.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import math
import operator
import re
from decimal import ROUND_HALF_UP, Decimal

from ..articles.reader import Article, line_view, looks_like_html
from ..limits import MAX_TARGETS
from ..setups.model import ArticleMeta, Setup, SetupFile
from .instruments import InstrumentTable, Mention, PriceLookup, default_table
from .numbers import NumberMention, find_numbers, format_level
from .phrasebook import TOKEN, Occurrence, Phrasebook, Tokens, base_view, load_phrasebook, masked_view, view_marks

_WORD_NUM = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
             "ten": 10, "a couple of": 2, "a few": 3}
_WINDOW = re.compile(
    r"\b(?:within|in|over|during|for)\s+(?:the\s+)?(?:next\s+)?(?P<n>\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|a\s+few)"
    r"\s+(?P<unit>(?:trading\s+)?(?:sessions?|days?)|weeks?)\b", re.I)
#: A sentence end: the punctuation, then (group 1, where the sentence stops) closing quotes and blanks before a
#: capital, a digit or "$". Matching the punctuation first, not looking behind for it, lets the regex engine
#: skip to it fast.
_SENTENCE_END = re.compile(r"[.!?…]([\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z$\d]))")
_ABBREVIATION = re.compile(r"(?:^|[^\w])(?:U\.S|vs|e\.g|i\.e|Mr|Ms|Dr|St|approx|est|No|Inc|Corp|Jan|Feb|Mar|Apr|Jun|Jul|"
                           r"Aug|Sep|Sept|Oct|Nov|Dec)\.$")
#: A line longer than this is prose: two such lines in a row are two paragraphs even without a blank line.
PROSE_LINE = 200
#: Clause boundaries in the masked view (a side word or a negation does not reach across them).
_CLAUSE = re.compile(r"[;()|•—:]")
#: A bracketed instrument in the masked view: "(§  )".
_TICKER_BRACKETS = re.compile(r"\( ?§ *\)")
_REFERENT_AFTER = re.compile(
    r"[ \t]*(?:(?P<this>this|that|these|those|the)[ \t]+(?P<what>level|threshold|line|mark|support|resistance|zone|area|"
    r"floor|ceiling|range|handle|pivot)s?(?![a-z])|(?=[,.;—]|(?:puts?|opens?|would|could|will|may|might|targets?|is|"
    r"sends?|brings?|exposes?|triggers?|confirms?|likely|should|then|and[ \t]+(?:a|the)[ \t]+(?:target|stop))(?![a-z])))")
_ARROW = re.compile(r"→|->|=>|- >")
#: On a sentence's pair view: a name and its ticker in brackets ("§0 (§1)"), words and a ticker in brackets
#: ("semiconductors (§0)"), and "vs." (the full stop of the abbreviation).
_PAIR_BOTH = re.compile(r"§\d+ \( ?§(\d+) ?\)")
_PAIR_NAMED = re.compile(r"(?<![a-z§\d])(?!(?:long|short|buy|buying|sell|selling|own|owning|overweight|underweight|vs|"
                         r"versus|against|and|or)\b)[a-z][\w&'-]* \( ?§(\d+) ?\)")
_PAIR_VS = re.compile(r"(?<![a-z])vs\. ?")
_PAIR_BARE = re.compile(r"\( ?§(\d+) ?\)")
#: After an entry level, the start of a clause that explains it (", which is about where ...", ", where ...").
_EXPLAINING = re.compile(r"[ \t]*,[ \t]*(?:which|where|that is|i\.e\.)(?![a-z])")
#: An article that says it gives no new trade.
_NO_NEW_TRADES = re.compile(r"(?:there are|there is|we have|i have)?[ \t]*no new (?:trades?|setups?|ideas?|positions?) "
                            r"(?:in|this|today|for)|nothing in this (?:post|note|letter|article) is a (?:new )?trade")
#: A correction: "the stop in this morning's alert is $97, not $79" (on the masked view: levels are "#").
_CORRECTION = re.compile(r"(?<![a-z])(?P<role>stop|target|entry)(?![a-z])[^.;\n#]{0,60}?\b(?:is|should be|should read|"
                         r"reads|was meant to be)[ \t]+(?P<right>#)[ \t,]*not[ \t]+(?P<wrong>#)")
#: Words of a plan, not of a log: a timestamped line holding one is read as usual.
_PLANNING = re.compile(r"(?<![a-z])(?:plan|plans|will|would|if|look to|looking to|want to|watch|watching|tomorrow|next)"
                       r"(?![a-z])")
#: A line of a session log: a clock time and a dash first ("09:42 —", "2:40 pm -", "14:40 ET –").
_LOG_LINE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]*[ap]\.?m\.?)?(?:[ \t]*(?:et|ct|pt|utc|gmt))?[ \t]*[—–-]", re.I)
_COLON = re.compile(":")


def _log_times(text: str, start: int, end: int):
    """``_LOG_LINE.finditer(text, start, end)``, tried only where a match can start: one or two characters
    before a colon (each match opens with one or two digits and a colon). The pattern itself starts with a
    digit, so the regex engine would try it at every digit of the text: 80 us on a 6 KB article, 5 here."""
    last = start
    for colon in _COLON.finditer(text, start, end):
        c = colon.start()
        for at in (c - 2, c - 1):
            if at >= last:
                m = _LOG_LINE.match(text, at, end)
                if m is not None:
                    yield m
                    last = m.end()
                    break
#: What may open a paragraph before the stop or target label that carries the setup on (a thread's "4/5",
#: "On the upside I'm aiming for ...").
_LEAD_WORDS = frozenset({"%", "/", "(", ")", "the", "my", "our", "and", "on", "upside", "downside", "i'm", "we're",
                         "i", "we", "i'd", "we'd", "i'll", "we'll", "look", "to", "then", "first", "for", "it", "a"})
#: Trigger phrases that end with the word for the level already named ("below there", "above it").
_REFERENT_WORDS = (" there", " it", " that level")
#: The line that opens an earlier message quoted in an e-mail reply ("> On Mon, Aug 10, 2026 at 6:48 AM, Dana
#: Whitfield wrote:"); ``whole``: a forwarded or original message, which runs to the end of the text.
#: Also a forum's quote of an earlier post ("> Quote from ridgeback (March 18):", "Originally Posted by ...").
_QUOTE_HEADER = re.compile(r"\n[ \t>]*(?:On[ \t][^\n]{4,160}?[ \t]wrote:|(?P<whole>-{2,}[ \t]*(?:Original|Forwarded)"
                           r"[ \t]+Message[ \t]*-{2,}|Begin[ \t]+forwarded[ \t]+message:)|Quote[ \t]+from[ \t][^\n]{1,120}?:"
                           r"|Quote:|Originally[ \t]+posted[ \t]+by[ \t][^\n]{1,80}?:?|[\w.-]{2,40}[ \t]+said:)[ \t]*(?=\n|\Z)",
                           re.I)
#: A quoted line of such a message (with its line break): it opens with ">".
_QUOTED_LINE = re.compile(r"\n[ \t]*>[^\n]*")
#: "until it", "until the stock" right before a trigger (in the masked view): what the writer waits for.
_UNTIL_BEFORE = re.compile(r"until[ \t]+(?:it|price|the[ \t]+(?:stock|index|etf|price)|shares|§)[ \t]*\Z")
#: A grid's column of outcomes (as :data:`_RESULT_COLUMN`), and a line that only rules a grid ("-----").
_RESULT_CELL = re.compile(r"(?i:result|results|p&l|p/l|pnl|return|returns|outcome|gain/loss|realized)(?:[ \t]*\(?%\)?)?")
#: A grid row's status when the trade is over: "CLOSED", "STOPPED", "exited", "cancelled".
_CLOSED_STATUS = re.compile(r"(?i:closed|stopped|stopped out|exited|filled and closed|cancel+ed|expired|done|hit|out)\b")


def _tab_cells(line: str, offset: int) -> list[tuple[int, int]]:
    """(start, end) of each tab-separated cell of ``line`` (empty cells kept), offsets shifted by ``offset``."""
    cells, pos = [], 0
    for part in line.split("\t"):
        cells.append((offset + pos, offset + pos + len(part)))
        pos += len(part) + 1
    return cells
_RULE_LINE = re.compile(r"[ \t]*[=─━_-]{3,}[ \t=─━_-]*")
#: A pipe table's column of outcomes ("Result", "P&L", "Return"): its rows are closed trades.
_RESULT_COLUMN = re.compile(r"\|[ \t]*(?:result|results|p&l|p/l|pnl|return|returns|outcome|gain/loss|realized)[ \t]*(?=\|)")
#: A capitalised name (one to three words) right after a side word: "accumulating Harlow", "buying Halvorsen Marine".
_PROPER_NAME_AFTER = re.compile(r"[ \t]+([A-Z][a-z]{2,})(?:[ \t]+[A-Z][a-z]+){0,2}(?=[ \t]+(?:below|above|under|over|at|"
                                r"near|around|on|if|from|in|into|between|up|sub|north|south|\$|\d))")
#: How far before a level "shares in <company>" is looked for (about a paragraph).
_COMPANY_LOOKBACK = 800
#: "shares in Harcourt & Vale", "shares of Northwind": the company a paragraph is about.
_SHARES_OF_NAME = re.compile(r"[Ss]hares[ \t]+(?:in|of)[ \t]+([A-Z][a-z]{2,})(?=[ \t]+(?:&[ \t]+)?[A-Z][a-z]+|,[ \t]+the\b|"
                             r"[ \t]+(?:plc|PLC|Inc|Corp|Ltd|Group|AG|SA|NV|ASA|SE)\b)")  # (a company's name, not "Tokyo")
#: Words written with a capital first, and in lower case (for _unknown_name_after_side's counts).
_TITLE_WORD = re.compile(r"\b[A-Z][a-z]{2,}\b")
_LOWER_WORD = re.compile(r"\b[a-z]{3,}\b")
#: Capitalised words that follow a side word without naming a company ("buying Monday", "short Friday").
_COMMON_CAPITALS = frozenset("monday tuesday wednesday thursday friday saturday sunday january february march april may "
                             "june july august september october november december it this that the here now".split())
#: After "is cancelled": a condition, not a cancelled order ("... is cancelled if it opens below 43").
_CONDITION_NEXT = re.compile(r"[ \t]+(?:if|unless|when|once|should|in case)\b")
#: A past call that still stands: "Yesterday's idea still stands", "Last Friday's long is still valid".
_STILL_STANDS = re.compile(r"still[ \t]+(?:stands|valid|live|active|good|open|working|in[ \t]+play)|remains?[ \t]+"
                           r"(?:valid|live|active|in[ \t]+play)")
#: Between a first target and the next: "292 then 288", "292, and then 288".
_THEN_GAP = re.compile(r"[ \t,]*(?:and[ \t]+)?then[ \t]+")
#: An order ticket's type line (in the masked view): "Type: SELL STOP", "Order type - buy limit", "BUY LIMIT".
_TICKET_TYPE = re.compile(r"\n[ \t]*(?:(?:order[ \t]+)?type|order|side)?[ \t]*[:=-]?[ \t]*(?P<side>buy|sell)[ \t]+"
                          r"(?P<type>stop|limit)(?:[ \t]+order)?[ \t]*(?=\n)")
#: A ticket's price label before its level: "Price: ", "Order price @ ".
_TICKET_PRICE = re.compile(r"[ \t]*(?:order[ \t]+|entry[ \t]+)?price[ \t]*[:=@-]?[ \t]*")
_MARKET_WORD = re.compile(r"here|now|market|open|outright|current")
_ENTRY_LABEL_BEFORE = re.compile(r"(?<![a-z])(?:entry|trigger|entry trigger)[ \t]*[:=-]?[ \t]*\Z")
_WORD_BEFORE = re.compile(r"([A-Za-z]+) +\Z")
_SIDE_WORDS = frozenset({"buy", "buying", "sell", "selling", "short", "shorting", "long", "add", "adding", "own", "fade"})
_CONDITION_CUE = re.compile(r"^(?:holds?|holding|stays?|staying|remains?|keeps?|trades?|trading|firmly)\b")
#: Before a level whose trigger follows it ("if 21,480 breaks", "once the 87 level gives way", "should NQ's 21,480
#: fail"): a condition word, then at most a few words naming the level (on the masked view: "§" an instrument).
_CONDITION_BEFORE = re.compile(
    r"(?<![a-z])(?:if|once|when|whenever|should|as soon as|the moment|after)[ \t]+"
    r"(?:(?:the|§|'s|it|its|price|prices|key|that|this|our|support|resistance|level|line|low|high|floor|ceiling|at|"
    r"of|daily|weekly)[ \t]+){0,4}\$?[ \t]*\Z")
#: Between a level and its trigger ("the 21,480 level gives way", "87 support fails").
_LEVEL_NOUNS_GAP = re.compile(r"[ \t]*(?:(?:level|area|zone|mark|handle|line|support|resistance|pivot|floor|shelf|"
                              r"low|high|ceiling)[ \t]+){0,2}\Z")
_CONTINUABLE = {"target", "support", "resistance", "level", "price"}
_NEAR_FIT = math.log(1.25)
#: Words for one company's shares: a level said of them belongs to a single stock, not an index or fund.
_THE_STOCK = re.compile(r"(?<![a-z])(?:the stock|the shares|shares|the name|the company)(?![a-z])")
_WATCH_ROLES = {"support", "resistance", "range", "level", "price"}
#: Families whose levels are macro context: a level-less scenario on them never becomes a setup.
_CONTEXT_FAMILIES = {"commodity", "rates", "crypto", "bitcoin", "ether"}
#: How many neighbouring mentions / levels a look-up considers (keeps every look-up bounded).
_NEAR = 8
_CONTEXT_SPAN = 300
_START = operator.attrgetter("start")


# ----------------------------------------------------------------------------------- working types
@dataclasses.dataclass
class _Sentence:
    start: int
    end: int
    paragraph: int
    section: str
    line_length: int


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
    side_written: bool = True  # an entry whose side was written (not implied by "break below" alone)
    tentative: str | None = None  # "sentence"/"paragraph": an entry whose direction must come from its levels
    confirm: bool = False  # "would confirm the move": adds to the open setup
    opens_range: bool = False  # "between 139 and ...": the next number closes the zone


@dataclasses.dataclass
class _Draft:
    """A setup being assembled."""

    mention: Mention | None
    direction: str | None
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
    sentence: int = -1
    side_written: bool = True
    tentative: str | None = None
    zone: tuple[float, float] | None = None
    dropped: bool = False  # removed (a condition restated by its entry, an unconfirmed tentative entry)

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
def extract_article(article: Article, price_lookup: PriceLookup | None = None,
                    table: InstrumentTable | None = None, phrasebook: Phrasebook | None = None) -> Extraction:
    """Build the :class:`SetupFile` for one article. Never raises for odd text.

    An article without a publication date is extracted all the same, with ``published: null`` (its
    ``published_note`` and a warning say so): ``backtest run`` refuses its setups until a date is set.
    ``table`` is the instrument table (default: the shipped one; ``batch`` passes the user's extended one).
    """
    table = table or default_table()
    reader = _Reader(article, price_lookup, table, phrasebook or load_phrasebook())
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
        subject=table.subject_of(article.title, article.tags, article.text[start:end], reader.mentions),
        sources=article.sources,
    )
    setup_file = SetupFile.of(meta, reader.setups(), reader.watch_levels())  # (one validation of them all)
    setups = setup_file.setups
    if meta.stance is None:
        setup_file.article.stance = derived_stance(setups)
        setup_file.article.stance_basis = "derived" if setup_file.article.stance else None
    warnings = list(article.warnings)
    for setup in setups:
        for problem in setup.ordering_problems():
            warnings.append(f"{setup.id}: {problem} (kept as written; fix the setup file if the article meant otherwise)")
        if setup.status == "unresolved":
            warnings.append(f"{setup.id}: instrument {setup.instrument!r} is unresolved ({setup.note})")
    return Extraction(setup_file, warnings)


#: A line break before a line that goes on in lower case ("... with a protective stop\nat $92.70"): maybe one
#: inside a hard-wrapped paragraph (the regex starts with the line break, so it is looked for only there).
_WRAPPED_BREAK = re.compile(r"\n(?=[ \t]*[a-z$(\d])")
#: The words a wrapped line may end on before a line that opens with a number: the number is theirs ("trail
#: under" / "185.20 for today", "into strength near" / "30,420").
#: A number written with a decimal comma, or with points between thousands: "614,80", "25.383,72", "47.500".
_DECIMAL_COMMA_NUMBER = re.compile(r"(?<![\d.,])(?:\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+,\d{1,2})(?!\d|[.,]\d)")
_COMMA_DECIMAL = re.compile(r"\d,\d{1,2}(?![\d,])")  # "614,80", "1,1 %": no thousands separator has 1-2 digits
_POINT_DECIMAL = re.compile(r"\d\.\d{1,2}(?![\d.])")  # "614.80"


def _decimal_commas(text: str) -> bool:
    """The text writes numbers the German (continental) way: three or more numbers with a decimal comma
    ("614,80", "19,12", "1,1 %"), at least three times as many as with a decimal point of one or two digits
    ("614.80": a translator's note may show one). Then "47.500" is 47,500, not 47.5."""
    commas = sum(1 for _ in _COMMA_DECIMAL.finditer(text))
    return commas >= 3 and 3 * sum(1 for _ in _POINT_DECIMAL.finditer(text)) <= commas


def _swap_separators(m: re.Match) -> str:
    return m.group().translate(_SWAP)


_SWAP = str.maketrans(",.", ".,")
#: An aside in brackets (no level in it) right after a level: "722.20 (clears the Tue/Wed highs)".
_ASIDE_AFTER = re.compile(r"[ \t]*\([^()\n]{1,80}\)")
#: The first word of a question ("Q: Should I buy now?", "**Is it time to short XLU?**").
_QUESTION_START = re.compile(r"[ \t>*_#\"'“‘-]*(?:Q[:.][ \t]*)?(?i:should|shall|is|are|was|were|do|does|did|can|could|would|"
                             r"will|what|why|how|where|when|which|who|whom|anyone|any|isn't|aren't|don't|doesn't|"
                             r"wouldn't|shouldn't|won't|am|have|has)\b")
#: A zone's name right before its first end: "buy zone of 150.80 (to 152.20)", "entry range: 44.10".
_ZONE_NAMED_BEFORE = re.compile(r"(?:zone|range|area|region)[*_ \t]*(?:of|from|is|:|=)?[*_ \t]*\$?[*_ \t]*\Z", re.I)
_BEFORE_A_NUMBER = frozenset("at near under below above over to toward towards around from between into of for "
                             "is are was sits and or than beneath through @".split())
_WRAPPED_LINE = 40  # characters of line before such a break: shorter lines are a list or chat, not wrapped prose
#: A line that opens with a cashtag or a lower-case ticker before a side and a level, or a clock time: it starts
#: something new even after a long line.
_NOT_A_CONTINUATION = re.compile(r"[ \t]*(?:\$[A-Za-z]|\d{1,2}:\d{2}|[a-z]{2,5}[ \t]+(?:long|short|buy|sell)[ \t:@]*\$?\d)")


#: A two-column pipe table (a header, its separator, rows of two cells): a card of keys and values.
_CARD_TABLE = re.compile(r"\n[ \t]*\|[^|\n]*\|[^|\n]*\|[ \t]*\n[ \t]*\|[ \t]*:?-{2,}:?[ \t]*\|[ \t]*:?-{2,}:?[ \t]*\|[ \t]*"
                         r"(?:\n[ \t]*\|[^|\n]*\|[^|\n]*\|[ \t]*)+")
_CARD_KEYS = re.compile(r"\|[ \t]*(?:entry|entries|stop|stop loss|sl|target|targets|tp\d?|t\d|price|trigger)[ \t]*\|")


def _unpipe_cards(base: str) -> str:
    """The base view with the pipes of two-column "key | value" tables that give a trade ("| Order | Buy limit |",
    "| Entry | 29,640–29,680 |", "| Stop | 29,555 |") as blanks, so each row reads as "Entry 29,640–29,680" does.
    Tables with an entry column are read row by row elsewhere (:meth:`_Reader._tables`)."""
    pieces: list[str] = []
    pos = 0
    for m in _CARD_TABLE.finditer(base):
        if _CARD_KEYS.search(base, m.start(), m.end()) is None:
            continue
        pieces.append(base[pos:m.start()])
        pieces.append(base[m.start():m.end()].replace("|", " "))
        pos = m.end()
    if not pieces:
        return base
    pieces.append(base[pos:])
    return "".join(pieces)


def html_text_breaks(raw: str, view: str) -> str:
    """In the line view of an HTML page, the line breaks written in the page's text (a ``<p>`` wrapped across
    lines: "into strength near" / "30,420&ndash;30,350") as spaces, as a browser shows them; the breaks that
    block tags make (``</p>``, ``<br>``, ``<li>``) stay. Same length, offsets kept; a page with ``<pre>`` is
    left as it is."""
    if "\n" not in raw or not looks_like_html(raw) or "<pre" in raw.lower():
        return view
    pieces: list[str] = []
    pos = 0
    at = raw.find("\n")
    while at >= 0:
        if view[at] == "\n":  # (a block tag's break stands where its "<" is written, not at a raw line break)
            pieces.append(view[pos:at])
            pieces.append(" ")
            pos = at + 1
        at = raw.find("\n", at + 1)
    pieces.append(view[pos:])
    return "".join(pieces)


#: The rest of a word hyphenated across a line end, on the next line: "tar-\n  gets".
_HYPHEN_CUT = re.compile(r"[ \t]*(?P<rest>[a-z]+)")


def unwrap_lines(text: str) -> str:
    """``text`` with the line breaks of hard-wrapped paragraphs as spaces (same length, offsets kept), so a
    sentence wrapped across lines is read as one: a break after 40 or more characters of line, before a line
    that goes on in lower case; a word hyphenated across it ("tar-\ngets") is joined, its blanks after it.
    Not in column layouts, tables or lists (runs of spaces, pipes, bullets)."""
    pieces: list[str] = []
    pos = 0
    first_break = text.find("\n")
    for m in _WRAPPED_BREAK.finditer(text):
        at = m.start()
        start = text.rfind("\n", 0, at) + 1
        hyphen_cut = text[at - 1:at] == "-" and text[at - 2:at - 1].isalpha() and text[at + 1:at + 2].islower()
        if (at - start < _WRAPPED_LINE and not hyphen_cut) or at == first_break:  # (the headline: a line of its own)
            continue
        line = text[start:at]
        if "  " in line.strip() or line.lstrip().startswith(("|", "-", "*", "•", ">")):
            continue  # a grid, a table or a list
        end = text.find("\n", at + 1)
        nxt = text[at + 1:end if end >= 0 else len(text)]
        if nxt.lstrip(" \t")[:1].isdigit() and line.rsplit(None, 1)[-1].lower() not in _BEFORE_A_NUMBER:
            continue  # a line that opens with a number goes on only a line that ends on a word wanting one
        if "  " in nxt.strip() or _NOT_A_CONTINUATION.match(nxt):
            continue  # "$NFLX short near ...", "amd short 150 sl 156": a line of its own
        cut = _HYPHEN_CUT.match(text, at + 1) if hyphen_cut else None
        if cut is not None:  # "tar-\ngets" (text from a PDF): the word joined, its blanks after it
            pieces.append(text[pos:at - 1])
            pieces.append(cut["rest"] + " " * (cut.end() - at + 1 - len(cut["rest"])))
            pos = cut.end()
            continue
        pieces.append(text[pos:at])
        pieces.append(" ")
        pos = at + 1
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)


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


#: A calendar day in a sentence ("on July 1", "opened Aug 3", "Sept. 4"): with a fill verb in the past tense, the
#: sentence tells a trade already done.
_CALENDAR_DAY = re.compile(r"\b(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? ?\d{1,2}(?!\d|[.,]\d)"
                           r"|(?<![\d.,])\d{1,2}(?:st|nd|rd|th)? (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\b)")


class _Reader:
    """Reads one article: scans it once, then walks its sentences, collecting drafts and watch items."""

    def __init__(self, article: Article, price_lookup: PriceLookup | None, table: InstrumentTable,
                 phrasebook: Phrasebook):
        self.article = article
        self.text = unwrap_lines(html_text_breaks(article.text, line_view(article.text)))
        self.lookup = price_lookup
        self.table = table
        self.pb = phrasebook
        self.start, self.end = article.analysis_span
        base = base_view(self.text)
        if "|" in base:
            base = _unpipe_cards(base)
        base_tokens = Tokens(base, self.start, self.end)  # once: for the names, then (masked) for the phrases
        self.mentions = [m for m in table.find(self.text, self.start, self.end, base=base, tokens=base_tokens)
                         if not self._shouted_word(m, phrasebook)]
        self.mention_starts = [m.start for m in self.mentions]
        # find_numbers reads the analysis span alone; its spans are shifted back to offsets into the text.
        span_text = self.text[self.start:self.end]
        if "," in span_text and _decimal_commas(span_text):
            span_text = _DECIMAL_COMMA_NUMBER.sub(_swap_separators, span_text)  # "614,80" -> "614.80", same length
        self.numbers = find_numbers(span_text, [(m.start - self.start, m.end - self.start)
                                                for m in self.mentions], offset=self.start)
        marks = view_marks([(m.start, m.end) for m in self.mentions],
                           [(n.start, n.end) for n in self.numbers if n.is_level],
                           [(n.start, n.end) for n in self.numbers if not n.is_level])
        self.view = masked_view(base, (), (), (), marks=marks)
        self.number_starts = [n.start for n in self.numbers]
        self.levels_all = [n for n in self.numbers if n.is_level]
        self.level_starts = [n.start for n in self.levels_all]
        self.sentences = self._sentences()
        # The phrases are only looked for where they can matter (see _relevant): most prose sentences of a
        # long article hold no level, no order word and at most one instrument.
        # The view's tokens of each range, from the text's with the marks put in (tokenized afresh where they
        # do not fit), joined with a line break between ranges: no phrase runs across one, so each layer is
        # one walk over the article (not one per range) and finds what the walks range by range found.
        tokens = Tokens.joined([base_tokens.masked(marks, start, end) or Tokens(self.view, start, end)
                                for start, end in self._relevant_ranges()])
        self.cues = phrasebook.scan("cues", self.view, tokens=tokens)
        self.sides = phrasebook.scan("sides", self.view, tokens=tokens)
        self.flags = phrasebook.scan("flags", self.view, tokens=tokens)
        self.cue_ends = [o.end for o in self.cues]
        self.cue_starts = [o.start for o in self.cues]
        self.side_starts = [o.start for o in self.sides]
        self.flag_starts = [o.start for o in self.flags]
        self.drafts: list[_Draft] = []
        self.tentatives: list[_Draft] = []  # drafts still waiting for their direction
        self.watch: list[dict] = []
        self.context: list[Mention] = []  # instruments mentioned so far, in order
        self.paragraph_mentions: list[Mention] = []
        self.levels: list[_Level] = []  # levels seen so far in the current paragraph
        self.current: _Draft | None = None
        self.carried: _Draft | None = None  # the previous paragraph's open setup, for its first sentence
        self.conditions: list[_Level] = []  # "holds above X" levels, to link restatements to setups
        self.paragraph_side: str | None = None
        self.prices: dict[str, float | None] = {}
        self._magnitude_memo: dict[tuple[str, str | None], list[float | None]] = {}
        self._clause_marks: tuple[_Sentence | None, list[int]] = (None, [])
        self._headline_end: int | None = None
        self._explicit_sentence = False  # the sentence being read gives an instruction (set by _sentence)
        self._log_starts: list[int] | None = None
        self.paragraph_example = False  # an illustration opened this paragraph ("Suppose a made-up company ...")
        self.paragraph_start = 0
        self._ticket_entry = False  # a level of the sentence being read is an order ticket's entry
        self._quote_spans: list[tuple[int, int]] | None = None  # earlier messages quoted in an e-mail reply
        self._word_forms: tuple[collections.Counter, frozenset[str]] | None = None  # for _unknown_name_after_side

    def _shouted_word(self, m: Mention, phrasebook: Phrasebook) -> bool:
        """A capitalised cue word taken for a ticker: "BUY AAPL ABOVE 262.50" ("ABOVE" is no instrument).

        Only bare words: "$TGT", "Target (TGT)" and a ticker right after a side word ("short TGT at the open")
        stay tickers."""
        if not (m.family == "ticker" and m.words.isalpha() and m.words.isupper()
                and m.words.lower() in phrasebook.vocabulary and self.text[max(0, m.start - 1):m.start] != "("):
            return False
        before = _WORD_BEFORE.search(self.text, max(0, m.start - 24), m.start)
        return not (before and before.group(1).lower() in _SIDE_WORDS and not before.group(1).isupper())

    # -- walking -----------------------------------------------------------------------------------
    def _relevant_ranges(self) -> list[tuple[int, int]]:
        """Spans of the sentences worth scanning for phrases, consecutive ones merged.

        A sentence matters when it holds a level, follows a level in its paragraph (a level-less break can
        refer back to it: "a move above this threshold"), names two instruments (a pair), says "here",
        "now", "market" or "open" (a market order), or is a short heading line ("$META long idea").
        """
        ranges: list[list[int]] = []
        paragraph, seen_level = -1, False
        for s in self.sentences:
            if s.paragraph != paragraph:
                paragraph, seen_level = s.paragraph, False
            l0 = bisect.bisect_left(self.level_starts, s.start)
            has_level = l0 < len(self.level_starts) and self.level_starts[l0] < s.end
            m0 = bisect.bisect_left(self.mention_starts, s.start)
            two_names = m0 + 1 < len(self.mention_starts) and self.mention_starts[m0 + 1] < s.end
            view = self.view[s.start:s.end]
            relevant = (has_level or seen_level or two_names or s.end - s.start < 80
                        or _MARKET_WORD.search(view) is not None)
            seen_level = seen_level or has_level
            if not relevant:
                continue
            if ranges and ranges[-1][1] >= s.start - 2 and "\n" not in self.view[ranges[-1][1]:s.start]:
                ranges[-1][1] = s.end
            else:
                ranges.append([s.start, s.end])
        return [(a, b) for a, b in ranges]

    def run(self) -> None:
        self.table_rows = self._tables()
        paragraph = -1
        for sentence in self.sentences:
            if sentence.paragraph != paragraph:
                carried = self.current if sentence.paragraph == paragraph + 1 else None
                self._end_paragraph()
                self.carried = carried if carried is not None and not carried.dropped else None
                paragraph = sentence.paragraph
                self.paragraph_start = sentence.start
            self._sentence(sentence)
            if self.carried is not None and (self._holds(self.level_starts, sentence)
                                             or self._holds(self.mention_starts, sentence)):
                self.carried = None  # (a first sentence with no level and no name, "No fixed stop on this one.",
        self._end_paragraph()        # leaves the setup to the paragraph's next sentence)

    @staticmethod
    def _holds(starts: list[int], s: _Sentence) -> bool:
        i = bisect.bisect_left(starts, s.start)
        return i < len(starts) and starts[i] < s.end

    def _sentences(self) -> list[_Sentence]:
        out: list[_Sentence] = []
        para = 0
        sections = [(n, self.article.sections[n]) for n in ("body", "watch", "take") if n in self.article.sections]
        if not sections:
            sections = [("body", (0, len(self.text)))]
        for name, (s_start, s_end) in sections:
            para += 1
            previous_end, previous_long = None, False
            for pm in re.finditer(r"[^\n]+", self.text[s_start:s_end]):
                chunk = pm.group(0)
                if not chunk.strip():
                    continue
                p_start = s_start + pm.start()
                long_line = len(chunk.strip()) > PROSE_LINE
                gap = self.text[previous_end:p_start] if previous_end is not None else ""
                if previous_end is None or gap.count("\n") > 1 or (long_line and previous_long) or long_line:
                    para += 1  # a blank line, or prose: a new paragraph
                previous_end, previous_long = p_start + len(chunk), long_line
                cut = 0
                for sm in _SENTENCE_END.finditer(chunk):
                    stop = sm.start(1)
                    # (every abbreviation ends in a letter and a full stop: most sentence ends need no search)
                    if chunk[stop - 1] == "." and stop >= 2 and chunk[stop - 2].isalpha() \
                            and _ABBREVIATION.search(chunk[max(0, stop - 9):stop]):
                        continue
                    if chunk.endswith("....", 0, stop):
                        continue  # leader dots between a label and its value: "SL ........... 3,041.0"
                    out.append(_Sentence(p_start + cut, p_start + stop, para, name, len(chunk)))
                    cut = sm.end()
                if chunk[cut:].strip():
                    out.append(_Sentence(p_start + cut, p_start + len(chunk.rstrip()), para, name, len(chunk)))
        return out

    def _end_paragraph(self) -> None:
        self.paragraph_example = False
        self._settle_tentative(paragraph_end=True)
        self.current = None
        self.levels = []
        self.paragraph_side = None
        self.paragraph_mentions = []

    def _sentence(self, s: _Sentence) -> None:
        span = (s.start, s.end)
        i0, i1 = bisect.bisect_left(self.mention_starts, s.start), bisect.bisect_left(self.mention_starts, s.end)
        mentions = self.mentions[i0:i1]
        if self.table_rows and any(a <= s.start and s.end <= b for a, b in self.table_rows):
            self.context.extend(mentions)  # a table row was read as a whole (see _tables)
            return
        self._disowned(s)
        carried = self.carried
        if carried is not None and (not mentions or (carried.mention is not None and all(
                m.family == carried.mention.family and m.pinned in (None, carried.mention.pinned) for m in mentions))):
            self._carry_on(s)  # (naming the same instrument: "4/5 The stop for that IWM long goes at $254")
        l0, l1 = bisect.bisect_left(self.level_starts, s.start), bisect.bisect_left(self.level_starts, s.end)
        c0, c1 = bisect.bisect_left(self.cue_starts, s.start), bisect.bisect_left(self.cue_starts, s.end)
        if l0 == l1 and c0 == c1 and len(mentions) < 2:  # nothing to read here but context
            self._heading_side(s, has_levels=False)
            self.context.extend(mentions)
            self.paragraph_mentions.extend(mentions)
            return
        flags = self._occurrences(self.flags, self.flag_starts, s.start, s.end)
        flag_names = {m.name for o in flags for m in o.meanings if not self._history_that_is_not(o, s)}
        explicit = "action" in flag_names and "hedge" not in flag_names
        # "For example, if a stock is capped at $50, a trader could buy ...": an illustration naming no
        # instrument teaches, it is no setup.
        if "example" in flag_names and not mentions and self.current is None:  # "Suppose a made-up company ..."
            self.paragraph_example = True  # (not after a setup of the paragraph: "In theory, the gap fills ...")
        blocked = bool(flag_names & {"history", "options", "analyst"}) or (self.paragraph_example and not mentions) \
            or self._log_line(s) or ("past_fill" in flag_names and _CALENDAR_DAY.search(self.text, s.start, s.end)) \
            or self._quoted(s) or self._question(s)
        confirm = "confirmation" in flag_names
        numbers = self.levels_all[l0:l1]
        self._explicit_sentence = explicit
        events: list[tuple[int, int, str, object]] = []
        self._ticket_entry = False
        levels = self._roles(s, numbers, mentions, blocked, confirm)
        if self._ticket_entry and "hedge" not in flag_names:
            explicit = True  # an order ticket's "Type: SELL STOP" line is the instruction
        for lv in levels:
            events.append((lv.pos, 0, "level", lv))
        bound_cues = {id(lv_cue) for lv_cue in self._bound}
        for occ in self._occurrences(self.cues, self.cue_starts, s.start, s.end):
            if id(occ) in bound_cues:
                continue
            if any(m.kind == "trigger" and m.name in ("break_above", "break_below", "close_above", "close_below")
                   for m in occ.meanings):
                ref = _REFERENT_AFTER.match(self.view, occ.end, s.end)
                # "Bulls need 655 to hold. Below there I will short it": the pronoun names the level; only in
                # an instruction ("price is above it" narrates).
                pronoun = self.view.endswith(_REFERENT_WORDS, occ.start, occ.end)
                # ("Until it closes above that ceiling, we stay patient": the wait for a setup already given)
                if ((ref and not pronoun) or (pronoun and explicit)) and not _UNTIL_BEFORE.search(
                        self.view, max(s.start, occ.start - 40), occ.start):
                    events.append((occ.start, 1, "referent", (occ, ref)))
            elif occ.has("market") and not blocked:
                events.append((occ.start, 1, "market", occ))
        events.sort(key=lambda e: (e[0], e[1]))
        # "With a protective stop parked at $178, we'd initiate AMD on a pullback to $186": a stop or target
        # before the sentence's first entry waits for that entry (when no setup of this sentence is open).
        first_entry = min((lv.pos for lv in levels if lv.role == "entry"), default=None)
        waiting: list[_Level] = []
        for pos, _, kind, payload in events:
            if kind == "level" and first_entry is not None and pos < first_entry \
                    and payload.role in ("stop", "target") and payload.mention is not None:  # type: ignore[union-attr]
                waiting.append(payload)  # type: ignore[arg-type]
                continue
            if kind == "level":
                self._level_event(payload, span, explicit, s)  # type: ignore[arg-type]
            elif kind == "referent":
                self._referent_event(payload, s, span, explicit)  # type: ignore[arg-type]
            else:
                self._market_event(payload, s, span, explicit, mentions)  # type: ignore[arg-type]
        if waiting:
            d = self.current
            if d is not None and d.sentence == id(s) and d.kind == "single":
                targets = [self._edge(lv, "target") for lv in waiting if lv.role == "target"]
                stops = [self._edge(lv, "stop") for lv in waiting if lv.role == "stop"]
                if stops and d.stop is None:
                    d.stop = stops[0]
                d.targets[:0] = [v for v in targets if v not in d.targets]
            else:
                for lv in waiting:  # no entry opened after all: as they come
                    self._level_event(lv, span, explicit, s)
        if "respectively" in self.view[s.start:s.end]:
            self._respectively(s, levels)
        self._percent_stop(s, span)
        self._settle_tentative(paragraph_end=False, sentence=s)
        if not blocked:
            self._pairs(s, mentions, span, explicit)
        self._window(s, span)
        self._heading_side(s, has_levels=bool(numbers))
        self.context.extend(mentions)
        self.paragraph_mentions.extend(mentions)

    def _respectively(self, s: _Sentence, levels: list[_Level]) -> None:
        """"Buying Amazon above $238 and Microsoft above $412, with stops at $229 and $399 respectively and
        targets of $252 and $436": as many stops (targets) as setups opened in the sentence go to them in order."""
        opened = [d for d in self.drafts if d.sentence == id(s) and d.kind == "single" and not d.dropped]
        if len(opened) < 2:
            return
        for role in ("stop", "target"):
            values: list[float] = []
            for k, lv in enumerate(levels):  # "stops at $229 and $399": the list after the role word
                if lv.role == role or (values and lv.role == "mention" and levels[k - 1].num.value == values[-1]
                                       and self.pb.continuation.fullmatch(self.view[levels[k - 1].num.end:lv.num.start])):
                    values.append(lv.num.value)
            if len(values) != len(opened):
                continue
            for d, value in zip(opened, values):
                if role == "stop":
                    d.stop = value
                    d.notes = [n for n in d.notes if not n.startswith("another stop")]
                else:
                    d.targets = [value]

    def _heading_side(self, s: _Sentence, has_levels: bool) -> None:
        """A short line with a side and no level ("$META long idea", "New position: NVDA (long)") gives the
        paragraph its side."""
        if has_levels or s.end - s.start >= 80:
            return
        sides = [o for o in self._occurrences(self.sides, self.side_starts, s.start, s.end) if o.has("side")]
        side = next((m.name for o in reversed(sides) for m in o.meanings if m.name in ("long", "short")), None)
        if side:
            self.paragraph_side = side

    # -- tables ------------------------------------------------------------------------------------
    def _tables(self) -> list[tuple[int, int]]:
        """Markdown pipe tables whose header names the columns ("| Ticker | Side | Entry | Stop | Targets |"),
        and plain-text grids aligned with spaces ("TICKER  BIAS   TRIGGER       STOP    TGT"): each data row
        is one setup. Returns the rows read, so the sentence walk leaves them alone."""
        span = self.view[self.start:self.end]
        pipes = "|" in span
        grids = "  " in span or "\t" in span  # a grid's cells are set apart by runs of spaces (or tabs)
        if not pipes and not grids:
            return []
        lines = [(self.start + m.start(), self.start + m.end()) for m in re.finditer(r"[^\n]+", span)]
        rows: list[tuple[int, int]] = []
        if grids:
            rows += self._grids(lines)
        if not pipes:
            return rows
        i = 0
        while i + 1 < len(lines):
            head, sep = lines[i], lines[i + 1]
            if not (self.view[head[0]:head[1]].strip().startswith("|")
                    and _TABLE_SEPARATOR.fullmatch(self.view[sep[0]:sep[1]].strip())):
                i += 1
                continue
            columns = [_column_role(self.view[a:b]) for a, b in _cells(self.view, head)]
            if "entry" not in columns:
                i += 2
                continue
            if _RESULT_COLUMN.search(self.view, head[0], head[1]):
                # "| Trade | Entry | Exit | Result |": a scorecard of closed trades, whose rows are no setups
                j = i + 2
                while j < len(lines) and self.view[lines[j][0]:lines[j][1]].strip().startswith("|"):
                    rows.append(lines[j])
                    j += 1
                i = j
                continue
            j = i + 2
            while j < len(lines) and self.view[lines[j][0]:lines[j][1]].strip().startswith("|"):
                self._table_row(lines[j], columns)
                rows.append(lines[j])
                j += 1
            i = j
        return rows

    def _grids(self, lines: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Plain-text grids: a header of three or more column names set apart by runs of spaces or tabs, naming
        an entry and a stop or target column; each row below it (up to a blank line) is cut into its own cells
        the same way when it has as many as the header (tabs, right-aligned numbers), else at the header's
        column starts (a row with an empty cell, aligned with spaces)."""
        rows: list[tuple[int, int]] = []
        i = 0
        while i < len(lines):
            a, b = lines[i]
            line = self.text[a:b]
            if line.count("  ") + line.count("\t") < 2:  # fewer than three cells: no header (cheap look first)
                i += 1
                continue
            tabbed = "\t" in line
            heads = _tab_cells(line, a) if tabbed else [(a + m.start(), a + m.end()) for m in _GRID_CELL.finditer(line)]
            names = [self.text[x:y].strip().lower() for x, y in heads]
            columns = [_column_role(name) for name in names]  # as written ("TYPE" is no ticker)
            if len(heads) < 3 or "entry" not in columns or not {"stop", "targets"} & set(columns) \
                    or self.view[a:b].lstrip().startswith("|"):
                i += 1
                continue
            # "... Target  Exit  P&L %": beside a target column, an exit column is the price a trade closed at
            if any(role == "targets" and name != "exit" for role, name in zip(columns, names)):
                columns = [None if name == "exit" else role for role, name in zip(columns, names)]
            status = next((k for k, name in enumerate(names) if name in ("status", "state")), None)
            starts = [x - a for x, _ in heads]
            # "#  Instrument  Side  Opened  Entry  Closed  Exit  Result": a scorecard of closed trades, whose
            # rows are no setups (as a pipe table's with such a column); with a Status column, each row's
            # status says ("CLOSED", "STOPPED" are history; "PLAN", "IDEA" are read)
            scorecard = status is None and any(_RESULT_CELL.fullmatch(name) for name in names)
            j = i + 1
            if j < len(lines) and lines[j][0] == lines[j - 1][1] + 1 and \
                    _RULE_LINE.fullmatch(self.text[lines[j][0]:lines[j][1]]):
                j += 1  # a rule under the header: "-----------"
            while j < len(lines) and lines[j][0] == lines[j - 1][1] + 1:  # consecutive lines, no blank one
                r0, r1 = lines[j]
                if scorecard:
                    if _RULE_LINE.fullmatch(self.text[r0:r1]):
                        break
                    rows.append(lines[j])
                    j += 1
                    continue
                tab_cells = _tab_cells(self.text[r0:r1], r0) if tabbed else None
                found = [(r0 + m.start(), r0 + m.end()) for m in _GRID_CELL.finditer(self.text[r0:r1])]
                if len(found) < 2:
                    break
                if tab_cells is not None and abs(len(tab_cells) - len(heads)) <= 2:
                    # (empty cells kept: "...\t511.00 / 516.00\t\t\tPLAN"; a tab or two too few or too many in
                    # a hand-typed row shifts only the columns after it)
                    cells = tab_cells
                elif len(found) == len(heads):
                    cells = found
                elif "\t" in self.text[r0:r1]:  # tabs do not line up by characters: no cutting at positions
                    break
                else:
                    edges = [min(r0 + s, r1) for s in starts[1:]] + [r1]
                    cells = [(r0 if k == 0 else min(r0 + starts[k], r1), edges[k]) for k in range(len(starts))]
                if status is not None and status < len(cells) and _CLOSED_STATUS.match(
                        self.text[cells[status][0]:cells[status][1]].strip()):
                    rows.append(lines[j])  # a trade already closed: history
                    j += 1
                    continue
                self._table_row(lines[j], columns, cells)
                rows.append(lines[j])
                j += 1
            i = j
        return rows

    def _table_row(self, row: tuple[int, int], columns: list[str | None],
                   spans: list[tuple[int, int]] | None = None) -> None:
        pairs = list(zip(columns, spans if spans is not None else _cells(self.view, row)))
        cells = dict(pairs)
        if "entry" not in cells:
            return
        target_cells = [span for role, span in pairs if role == "targets"]  # "T/P1", "T/P2": one column each

        def levels(role):
            if role not in cells:
                return []
            found = []
            for a, b in (target_cells if role == "targets" else [cells[role]]):
                found += self.levels_all[bisect.bisect_left(self.level_starts, a):bisect.bisect_left(self.level_starts, b)]
            return found
        entry = levels("entry")
        a, b = cells.get("instrument", row)
        mentions = [m for m in self.mentions if a <= m.start and m.end <= b] or \
                   [m for m in self.mentions if row[0] <= m.start and m.end <= row[1]]
        mention = mentions[0] if mentions else None
        side_text = self.view[slice(*cells["side"])] if "side" in cells else ""
        side = "long" if re.search(r"\b(?:long|buy)\b", side_text) else "short" if re.search(
            r"\b(?:short|sell)\b", side_text) else None
        entry_text = self.view[slice(*cells["entry"])]
        if side is None:
            side = self._nearest_side(cells["entry"][0], cells["entry"][1], reverse=False)
        if side is None:  # "| KRE | breakdown short | sub-61.00 | ...": a side word elsewhere in the row
            side = self._nearest_side(row[0], row[1], reverse=False)
        if not entry:
            if mention is not None and side and _MARKET_WORD.search(entry_text):
                draft = _Draft(mention, side, "market", None, row[0], [row], True)
            else:
                return
        else:
            num = entry[0]
            cues = self._occurrences(self.cues, self.cue_starts, cells["entry"][0], num.start)
            cls = next((m.name for o in reversed(cues) for m in o.meanings if m.kind == "trigger"), None)
            order = self.text[slice(*cells["type"])].strip().lower() if "type" in cells else ""
            written = re.search(r"\b(?:stop|limit)\b", entry_text)  # "buy stop 181.20", "43.90-43.60 limit"
            if order in _ORDER_TYPES:  # a TYPE column: "LMT", "STP"
                etype = _ORDER_TYPES[order]
            elif written is not None:
                etype = written.group(0)
            elif cls in ("close_above", "close_below"):
                etype, side = "close", side or ("long" if cls == "close_above" else "short")
            elif cls in ("break_above", "break_below", "break"):
                etype, side = "stop", side or ("long" if cls == "break_above" else "short" if cls == "break_below" else None)
            elif cls == "above":
                etype = "stop" if side != "short" else "limit"
            elif cls == "below":
                etype = "stop" if side != "long" else "limit"  # ("sub-61.00" with no side: a short's trigger)
            else:
                etype = "limit"
            zone = (num.value, num.high) if num.high is not None else None
            level = (num.high if side == "long" else num.value) if zone else num.value
            draft = _Draft(mention, side, etype, level, row[0], [row], True, zone=zone,
                           tentative=None if side else "paragraph")
        stops = levels("stop")
        if stops:
            draft.stop = stops[0].value if side != "short" or stops[0].high is None else stops[0].high
        for target in levels("targets"):
            draft.targets.append(target.value if side != "short" or target.high is None else target.high)
        self.drafts.append(draft)
        if draft.tentative:
            self.tentatives.append(draft)

    def _percent_stop(self, s: _Sentence, span: tuple[int, int]) -> None:
        """"with a stop 5% below the entry", "cut losses 7% to 8% below the buy point": a stop given as a
        percentage of the entry level of the setup just opened (a range of percentages: its middle)."""
        d = self.current
        if d is None or d.kind != "single" or d.level is None or d.stop is not None or d.direction is None:
            return
        if "%" not in self.text[s.start:s.end]:
            return
        stop_cues = [o for o in self._occurrences(self.cues, self.cue_starts, s.start, s.end) if o.has("role", "stop")]
        if not stop_cues:
            return
        for n in self.numbers[bisect.bisect_left(self.number_starts, stop_cues[0].end):]:
            if n.start >= s.end:
                return
            m = self.pb.relative_to_entry.match(self.view, n.end, s.end)
            if not m or not (m["first"] or m["high"]) or not 0 < n.value < 50:
                continue
            pct = n.value
            if m["high"]:
                k = bisect.bisect_right(self.number_starts, n.start)
                if k < len(self.numbers) and self.numbers[k].end <= m.end() and self.numbers[k].value > pct:
                    pct = (pct + self.numbers[k].value) / 2
            sign = -1 if m["side"] in ("below", "under", "beneath") else 1
            if (sign < 0) != (d.direction == "long"):
                return  # "5% above the entry" on a long is no stop
            value = float(Decimal(repr(d.level * (1 + sign * pct / 100))).quantize(Decimal("0.01"), ROUND_HALF_UP))
            d.stop = value
            d.notes.append(f"stop {format_level(value)} is {format_level(pct)}% {m['side']} the entry "
                           f"{format_level(d.level)}")
            d.add_span(span)
            return

    @staticmethod
    def _occurrences(items: list[Occurrence], starts: list[int], start: int, end: int) -> list[Occurrence]:
        return [o for o in items[bisect.bisect_left(starts, start):bisect.bisect_left(starts, end)] if o.end <= end]

    def _window(self, s: _Sentence, span: tuple[int, int]) -> None:
        """"within the next five sessions": how long the order opened in this sentence stays working."""
        d = self.current
        if d is None or d.kind != "single" or d.entry_type == "market" or span not in d.spans:
            return
        text = self.text[s.start:s.end]
        low = text.lower()
        # _WINDOW (case-insensitive, tried at every word) needs a unit word: most sentences hold none. Only
        # for ASCII text, where lower() folds case as the pattern does ("ſ" matches "s" under re.I).
        if text.isascii() and "day" not in low and "session" not in low and "week" not in low:
            return
        m = _WINDOW.search(text)
        if not m:
            return
        raw = re.sub(r"\s+", " ", m["n"].lower())
        n = int(raw) if raw.isdigit() else _WORD_NUM.get(raw)
        if n:
            d.window = n * 5 if m["unit"].lower().startswith("week") else n

    # -- roles -------------------------------------------------------------------------------------
    def _roles(self, s: _Sentence, numbers: list[NumberMention], mentions: list[Mention], blocked: bool,
               confirm: bool) -> list[_Level]:
        """Give every level of the sentence its role (module docstring, step 3)."""
        out: list[_Level] = []
        self._bound: list[Occurrence] = []
        claimed: set[int] = set()
        roles: list[tuple | None] = [None] * len(numbers)
        # Cues before their level first (they win), then cues after it, then continuations.
        for k, num in enumerate(numbers):
            window_start = numbers[k - 1].end if k else s.start
            self._roles_so_far = roles
            roles[k] = self._prefix_role(s, num, window_start, numbers, k, blocked, claimed)
        for k, num in enumerate(numbers):
            if roles[k] is None:
                roles[k] = self._suffix_role(s, num, numbers, k, roles, claimed)
            elif roles[k][0] == "target" and self._stop_after(num, s):
                roles[k] = ("stop", None, None, {})  # "If the stock then falls to $968, I'm out": a stop
        for k, num in enumerate(numbers):
            if (roles[k] is None or roles[k][3].get("weak")) and k:
                roles[k] = self._continued_role(numbers, k, roles) or roles[k]
            elif k and roles[k][0] == "entry" and roles[k - 1] is not None and roles[k - 1][0] == "target" \
                    and self.pb.continuation.fullmatch(self.view[numbers[k - 1].end:num.start]):
                roles[k] = ("target", None, None, {})  # "sell a third at $91, a third at $96": no new entry
        for k in range(len(numbers) - 1):
            # "lose 297 and I'm short, 292 then 288": a bare level right before "then <target>", after an entry,
            # is the first target
            if roles[k] is None and roles[k + 1] is not None and roles[k + 1][0] == "target" \
                    and _THEN_GAP.fullmatch(self.view, numbers[k].end, numbers[k + 1].start):
                entry = next((numbers[j].value for j in range(k - 1, -1, -1)
                              if roles[j] is not None and roles[j][0] == "entry"), None)
                # (on the side of the entry its next target is: "long above 44, stop 42; 43 then 46" is no 43)
                if entry is not None and (numbers[k].value - entry) * (numbers[k + 1].value - entry) > 0:
                    roles[k] = ("target", None, None, {})
        for k in range(1, len(numbers)):
            # "Entry: 21,840.25 (fine anywhere in 21,820 – 21,860)": a zone in brackets after an entry is its
            # tolerance, not a second entry.
            # "above $702, which is about where the index clears 7k": a level in a clause that explains the
            # entry restates it.
            if roles[k] is not None and roles[k][0] == "entry" and roles[k - 1] is not None \
                    and roles[k - 1][0] == "entry":
                gap = self.view[numbers[k - 1].end:numbers[k].start]
                if ("(" in gap and ")" not in gap) or (_EXPLAINING.match(gap) and not self._nearest_side(
                        numbers[k - 1].end, numbers[k].start, reverse=False)):
                    roles[k] = ("mention", None, None, {})
        for k, num in enumerate(numbers):
            name, direction, etype, info = roles[k] or ("mention", None, None, {})
            # "between $139 and $143", "scale in between 236 and 233": the second number closes the zone.
            # Also "a buy zone of 150.80 to 152.20": the zone named before its first end.
            zone_after_entry = bool(out and out[-1].role == "entry" and out[-1].num.high is None
                                    and name in ("mention", "level")
                                    and re.fullmatch(r"[ \t]*to[ \t]*", self.view[out[-1].num.end:num.start])
                                    and (re.match(r"[ \t]*(?:area|zone|range|region)\b", self.view[num.end:num.end + 12])
                                         or _ZONE_NAMED_BEFORE.search(self.view, max(0, out[-1].num.start - 24),
                                                                      out[-1].num.start))
                                    and max(out[-1].num.value, num.value) <= 1.25 * min(out[-1].num.value, num.value))
            if out and (out[-1].opens_range or zone_after_entry) and out[-1].num.high is None \
                    and name in ("mention", "range", "level" if zone_after_entry else "range") \
                    and re.fullmatch(r"[ \t]*(?:and|to|-|–|—)[ \t]*", self.view[out[-1].num.end:num.start]):
                prev = out[-1]
                low, high = sorted((prev.num.value, num.value))
                prev.num = dataclasses.replace(prev.num, value=low, high=high, end=num.end, kind="range")
                prev.opens_range = False
                continue
            lv = _Level(num, name, direction, etype, pos=num.start, span=(s.start, s.end),
                        condition=bool(info.get("condition")), side_written=info.get("side_written", True),
                        tentative=info.get("tentative"), confirm=confirm and name == "entry",
                        opens_range=bool(info.get("range")))
            if blocked and name in ("entry", "stop", "target", "invalidation"):
                lv.role = "price" if name == "entry" else "mention"
            lv.mention = self._attribute(lv, mentions)
            out.append(lv)
        return out

    def _candidates(self, start: int, end: int) -> list[Occurrence]:
        """Cue occurrences ending in ``[start, end]``, nearest first (at most four)."""
        hi = bisect.bisect_right(self.cue_ends, end)
        out = []
        for idx in range(hi - 1, max(-1, hi - 12), -1):
            occ = self.cues[idx]
            if occ.end < start or occ.start < start:
                break
            out.append(occ)
            if len(out) == 4:
                break
        return out

    def _gap_ok(self, start: int, end: int, reach: int, instruments: bool = False) -> bool:
        """Only link words (and at most ``reach`` other words or non-level numbers) between ``start`` and ``end``;
        with ``instruments``, also instrument names ("buy zone for XLK: $139.60")."""
        fillers = 0
        gap = self.view[start:end].rstrip(" \t")
        if gap.endswith("(") and "%" in gap:
            gap = gap[:-1]  # "take half off at 2R ($100)", "10% ($95)": the level in brackets restates the cue's
        for token in TOKEN.findall(gap):
            if token in self.pb.link or (instruments and token == "§"):
                continue
            if token == "§" or token == "#" or not (token[0].isalnum() or token in "%'"):
                return False
            fillers += 1
            if fillers > reach:
                return False
        if fillers and self._side_between(start, end):
            return False
        return True

    def _side_between(self, start: int, end: int) -> bool:
        lo = bisect.bisect_left(self.side_starts, start)
        return any(o.start < end and o.has("side") for o in self.sides[lo:lo + 4])

    def _prefix_role(self, s: _Sentence, num: NumberMention, window_start: int, numbers: list[NumberMention],
                     k: int, blocked: bool, claimed: set[int]):
        """The role a cue before the level gives it, trying the nearest cue first (see module docstring)."""
        candidates = self._candidates(window_start, num.start)
        quoted_at = False  # "XLK stuck in neutral at $141.06": an "at" with no side is a quoted price
        for c_idx, occ in enumerate(candidates):
            if c_idx == 0 and len(candidates) > 1 and occ.has("trigger", "at") and _BREAKS & {
                    m.name for m in candidates[1].meanings if m.kind == "trigger"} and self._gap_ok(
                    candidates[1].end, num.start, 0):
                continue  # "above the overnight high at 7,552": the break is the entry, "at" names its price
            # "stop just under 85", "support sits at 2,040", "target at the October lows near $1,950": a trigger,
            # a quoted-price or a range word after a stronger role word is only a link; the role word binds.
            behind = self._stronger_behind(occ, candidates[c_idx + 1:], num)
            if behind is not None:
                if occ.has("role", "range"):
                    got = self._interpret(s, num, behind, window_start, numbers, k, blocked, claimed)
                    if got is not None:
                        return got[:3] + ({**got[3], "range": True},)
                continue
            got = self._interpret(s, num, occ, window_start, numbers, k, blocked, claimed)
            if got is not None:
                return got
            if occ.has("trigger", "at") and c_idx == 0:
                quoted_at = True
        bare = self._bare_entry(s, num, window_start, numbers, k, blocked) or self._ticket_price(s, num, blocked)
        if bare is not None:
            return bare
        if quoted_at:
            return ("price", None, None, {"weak": True})
        return None

    def _stronger_behind(self, occ: Occurrence, behind: list[Occurrence], num: NumberMention) -> Occurrence | None:
        """The role word further back that claims ``num`` over ``occ`` (only weaker cues stand between)."""
        for j, cand in enumerate(behind):
            if _defers(occ, cand):
                if self._gap_ok(cand.end, num.start, _reach(cand, self.pb)) and all(
                        _strength(between, True) <= 1 or _trigger_only(between) for between in behind[:j]):
                    return cand
                return None
            if not (_trigger_only(cand) or _strength(cand, True) <= 1):
                return None
        return None

    def _interpret(self, s: _Sentence, num: NumberMention, occ: Occurrence, window_start: int,
                   numbers: list[NumberMention], k: int, blocked: bool, claimed: set[int]):
        """What ``occ`` (a cue before ``num``) makes of it, or None when it cannot bind it."""
        meanings = occ.meanings
        if len(meanings) > 1 and any(m.kind == "role" and m.position == "needs_current" for m in meanings) \
                and any(m.kind == "trigger" and m.name == "at" for m in meanings) and self._opens_before(s, numbers, k):
            # "long above 146 for a move up to 152": after an entry of the sentence, the target meaning first
            meanings = sorted(meanings, key=lambda m: not (m.kind == "role" and m.position == "needs_current"))
        for meaning in meanings:
            got = None
            if meaning.kind == "role" and meaning.position in ("before", "needs_current"):
                if meaning.position == "needs_current" and self.current is None and not self._opens_before(
                        s, numbers, k) and not self._opens_after(s, numbers, k):
                    continue
                if not self._gap_ok(occ.end, num.start, self.pb.reach.get(meaning.name, 0)):
                    continue
                if meaning.name in ("stop", "target", "invalidation") and self._suffix_is_invalidation(num, s):
                    got = ("invalidation", None, None, {})
                elif meaning.name == "range":
                    side = None if blocked else self._nearest_side(self._clause(occ.start, s)[0], occ.start, True)
                    if side is None and not blocked and self._entry_word_before(self._clause(occ.start, s)[0], occ.start):
                        side = "long"  # "scale in between 236 and 233": buying a zone
                    if side and not self._negated(occ.start, s):  # "accumulate between ...": an entry zone
                        got = ("entry", side, "limit", {"range": True})
                    else:
                        got = ("range", None, None, {"range": True})
                else:
                    text = self.view[occ.start:occ.end]
                    info = {"condition": bool(_CONDITION_CUE.match(text))} if meaning.name in (
                        "support", "resistance") else {}
                    got = (meaning.name, None, None, info)
            elif meaning.kind == "entry" and meaning.position == "before":
                if not self._gap_ok(occ.end, num.start, 2, instruments=True):  # "Buy zone for XLK: $139.60–…"
                    continue
                if blocked or self._negated(occ.start, s):
                    got = ("price", None, None, {})
                else:
                    side, written = self._side(s, num, occ, window_start, numbers, k)
                    side = None if side == "entry" else side
                    noun = self.view[occ.start:occ.end]
                    if side is None and ("buy" in noun or "sell" in noun or "short" in noun):
                        side, written = ("long" if "buy" in noun else "short"), True  # "buy zone", "sell stop"
                    ticket = self._ticket(s, occ.start)  # "Type: SELL STOP" on a line above "Entry: 4,412"
                    if side is None and ticket is not None:
                        side, written = ticket[0], True
                    self._ticket_entry = self._ticket_entry or (ticket is not None and ticket[0] == side)
                    etype = "stop" if noun.endswith(("stop", "buy point")) else self._type_after(num, s) or (
                        ticket[1] if ticket is not None and ticket[0] == side else "limit")
                    got = ("entry", side, etype, {"side_written": written} if side else
                           {"tentative": "paragraph", "side_written": False})
            elif meaning.kind == "trigger":
                if not self._gap_ok(occ.end, num.start, 0):
                    continue
                got = self._trigger_role(s, num, occ, meaning.name, window_start, numbers, k, blocked)
            if got is not None:
                claimed.add(id(occ))
                self._bound.append(occ)
                return got
        return None

    def _opens_before(self, s: _Sentence, numbers: list[NumberMention], k: int) -> bool:
        """True when an earlier level of this sentence is (about to be) an entry: "long above 25,900 for 26,150"."""
        roles = getattr(self, "_roles_so_far", [])
        return any(j < len(roles) and roles[j] is not None and roles[j][0] == "entry" for j in range(k)) or any(
            self._entry_cue_before(s, numbers[j], numbers[j - 1].end if j else s.start)
            or self._trigger_after(numbers[j], s, numbers[j - 1].end if j else s.start) is not None for j in range(k))

    def _opens_after(self, s: _Sentence, numbers: list[NumberMention], k: int) -> bool:
        """A later level of this sentence is an entry by a trigger written after it ("The Nasdaq 100 could slip toward
        28,600 if 29,000 gives way"): the target comes first and waits for it."""
        return any(self._trigger_after(numbers[j], s, numbers[j - 1].end) is not None
                   or self._break_cue_before(numbers[j], numbers[j - 1].end) for j in range(k + 1, len(numbers)))

    def _break_cue_before(self, num: NumberMention, window_start: int) -> bool:
        """A break or close trigger right before the level ("if it clears 3,060", "on a close above")."""
        return any(m.kind == "trigger" and m.name in _BREAKS
                   for occ in self._candidates(window_start, num.start)[:1] for m in occ.meanings)

    def _entry_cue_before(self, s: _Sentence, num: NumberMention, window_start: int) -> bool:
        for occ in self._candidates(window_start, num.start)[:1]:
            if any(m.kind in ("trigger", "entry") for m in occ.meanings):
                return True
        return False

    def _bare_entry(self, s: _Sentence, num: NumberMention, window_start: int, numbers, k, blocked):
        """"Long SPY 740", "Buy YM 44,780", "$AMD long 162–164", "Short NVDA 191.20–192.00": a side word, maybe
        an instrument, then the level."""
        lo = bisect.bisect_left(self.side_starts, window_start)
        hi = bisect.bisect_left(self.side_starts, num.start)
        for occ in reversed(self.sides[lo:hi]):
            if not occ.has("side") or occ.end > num.start:
                continue
            side = next((m.name for m in occ.meanings if m.name in ("long", "short", "entry")), None)
            gap = TOKEN.findall(self.view[occ.end:num.start])
            # (an instrument in the sentence, the paragraph or the headline: "NQ plan | Sept 9" over "Plan A:
            # buy 29,450-29,420")
            named = "§" in gap or "§" in self.view[s.start:occ.start] or bool(self.paragraph_mentions) or (
                bool(self.context) and self.context[0].start < self._headline())
            if side and named and all(t in ("§", "the", "a", "at", ":", "@") for t in gap) and len(gap) <= 3:
                if blocked or self._negated(occ.start, s):
                    return None
                etype = self._type_after(num, s) or "limit"
                self._bound.append(occ)
                if side == "entry":  # "scale in $XLK 189.50-188.00, stop 183.20": the side from the levels
                    return ("entry", None, etype, {"tentative": "paragraph", "side_written": False})
                return ("entry", side, etype, {"side_written": True})
            return None
        return None

    def _ticket(self, s: _Sentence, before: int) -> tuple[str, str] | None:
        """The side and entry type of an order ticket's type line above ``before`` in this paragraph ("Type: SELL
        STOP", "Order: buy limit", a line that is just "BUY LIMIT"): ``("short", "stop")``, or None."""
        if s.start <= self.paragraph_start:
            return None
        found = None  # (from the line break before the paragraph: its first line may be the type line)
        for m in _TICKET_TYPE.finditer(self.view, max(self.paragraph_start - 1, s.start - 400, 0), s.start):
            found = m
        if found is None or found.end() > before:
            return None
        return ("long" if found["side"] == "buy" else "short"), found["type"]

    def _ticket_price(self, s: _Sentence, num: NumberMention, blocked: bool):
        """"Price: 4,412.0" under an order ticket's type line: the order's entry."""
        line_start = self.view.rfind("\n", 0, num.start) + 1
        if blocked or not _TICKET_PRICE.fullmatch(self.view, line_start, num.start):
            return None
        ticket = self._ticket(s, num.start)
        if ticket is None:
            return None
        d = self.current or self.carried
        if d is not None and d.kind == "single" and d.direction not in (None, ticket[0]):
            # "Our XLE long from 44 is working." / "Order type: sell stop" / "Price: 42.00": the long's exit
            return ("stop" if ticket[1] == "stop" else "target", None, None, {})
        self._ticket_entry = True
        return ("entry", ticket[0], ticket[1], {"side_written": True})

    def _type_after(self, num: NumberMention, s: _Sentence) -> str | None:
        """A break or close cue right after an entry level changes its type: "Entry 612.50 on a break of ..."."""
        lo = bisect.bisect_left(self.cue_starts, num.end)
        for occ in self.cues[lo:lo + 2]:
            if occ.start >= s.end:
                break
            if self.view[occ.start:occ.end] in ("buy stop", "sell stop") and not self.view[num.end:occ.start].strip(" \t("):
                return "stop"  # "Entry: 24.80 (buy stop)"
            if not self._gap_ok(num.end, occ.start, 0):
                break
            for m in occ.meanings:
                if m.kind == "trigger" and m.name in ("break", "break_above", "break_below"):
                    return "stop"
                if m.kind == "trigger" and m.name in ("close_above", "close_below"):
                    return "close"
        return None

    def _trigger_role(self, s: _Sentence, num: NumberMention, occ: Occurrence, cls: str, window_start: int,
                      numbers: list[NumberMention], k: int, blocked: bool):
        if self._suffix_is_invalidation(num, s):
            return ("invalidation", None, None, {})
        if blocked or self._negated(occ.start, s):
            return None
        if cls == "at" and self._market_cue_before(occ.start, s):
            return ("price", None, None, {})  # "at the market around 292": the market order's reference price
        side, written = self._side(s, num, occ, window_start, numbers, k)
        implied = {"break_above": "long", "close_above": "long", "break_below": "short", "close_below": "short"}.get(cls)
        if implied:
            direction = implied
            etype = "close" if cls.startswith("close") else "stop"
            if not written:
                mention = self._attribute(_Level(num, "entry"), self._sentence_mentions(s))
                if mention is not None and mention.family in _CONTEXT_FAMILIES:
                    return None  # "crude slipping under $66 would ...": macro context, not a setup
            return ("entry", direction, etype, {"side_written": written})
        if side is None and cls in ("pullback", "rally", "at"):  # the cue says it: "buy the dip 155.00–155.60"
            words = self.view[occ.start:occ.end].split()
            # ("I want it on a pullback to 60.40-60.70": wanting it on a dip is buying it)
            side = "long" if ("buy" in words or (cls == "pullback" and "want" in words)) else \
                "short" if ("sell" in words or "short" in words) else None
            written = side is not None
        if cls == "pullback" and side is None and self._suffix_entry(num, s):
            side, written = "long", False
        if side is None and _ENTRY_LABEL_BEFORE.search(self.view, max(s.start, occ.start - 24), occ.start):
            side = "entry"  # "Trigger: > 252.30 | Stop: 239.80": a labelled trigger, its side from its levels
        if side == "entry":  # "scale in on a dip to 396.50", "enter below 85": the trigger's natural side
            side = {"above": "long", "below": "short", "pullback": "long", "rally": "short"}.get(cls)
            if side is None:
                return ("entry", None, "stop" if cls == "break" else "limit",
                        {"tentative": "paragraph", "side_written": False})
        if side is None:
            if cls == "at" and self._instrument_right_before(occ.start) and not blocked:
                return ("entry", None, "limit", {"tentative": "sentence", "side_written": False})
            if cls in ("above", "below") and not blocked and self._instrument_right_before(occ.start) \
                    and self._stop_or_target_word(s) \
                    and not self.view[s.start:self.mentions[bisect.bisect_left(self.mention_starts, occ.start) - 1]
                                      .start].strip(" \t-*•>"):
                # a one-liner that opens with its instrument: "$XLV north of 173.5 opens the door to 178", read
                # as a break is ("the break's direction", `explicit` only with an instruction)
                return ("entry", "long" if cls == "above" else "short", "stop", {"side_written": False})
            return None
        if cls == "above":
            etype = "stop" if side == "long" else "limit"
        elif cls == "below":
            etype = "limit" if side == "long" else "stop"
        elif cls == "break":
            etype = "stop"
        else:  # at, retest, rally, pullback
            etype = "limit"
        return ("entry", side, etype, {"side_written": written})

    def _stop_or_target_word(self, s: _Sentence) -> bool:
        """The sentence names a stop or a target before a level ("mental stop 170.8", "opens the door to 178")."""
        return any(m.kind == "role" and m.name in ("stop", "target") and m.position == "before"
                   for o in self._occurrences(self.cues, self.cue_starts, s.start, s.end) for m in o.meanings)

    def _market_cue_before(self, pos: int, s: _Sentence) -> bool:
        """A market-order cue ends right before ``pos`` (blanks or a comma between): "at the market around"."""
        hi = bisect.bisect_left(self.cue_starts, pos)
        for occ in self.cues[max(0, hi - 2):hi]:
            if occ.has("market") and s.start <= occ.start and occ.end <= pos \
                    and not self.view[occ.end:pos].strip(" \t,"):
                return True
        return False

    def _stop_after(self, num: NumberMention, s: _Sentence) -> bool:
        """A stop word after the level that is no cue before one ("$968, I'm out", "$196 as our stop")."""
        occ = self._suffix_at(num.end, s)
        return occ is not None and occ.has("role", "stop", "after") and not occ.has("role", "stop", "before")

    def _suffix_is_invalidation(self, num: NumberMention, s: _Sentence) -> bool:
        """The level is followed by an invalidation word ("$44, which would invalidate ..."); not when that word
        opens the next level ("buy at 69.40, invalidation below 67.60": 67.60 is the invalidation)."""
        occ = self._suffix_at(num.end, s)
        if occ is None or not occ.has("role", "invalidation", "after"):
            return False
        if occ.has("role", "invalidation", "before"):
            nxt = bisect.bisect_left(self.level_starts, occ.end)
            if nxt < len(self.level_starts) and self.level_starts[nxt] < s.end \
                    and self._gap_ok(occ.end, self.level_starts[nxt], 0):
                return False
        return True

    def _suffix_entry(self, num: NumberMention, s: _Sentence) -> bool:
        occ = self._suffix_at(num.end, s)
        return occ is not None and occ.has("entry", position="after")

    def _suffix_at(self, pos: int, s: _Sentence) -> Occurrence | None:
        idx = bisect.bisect_left(self.cue_starts, pos)
        if idx < len(self.cues):
            occ = self.cues[idx]
            if occ.start < s.end and not self.view[pos:occ.start].strip(" \t,"):
                return occ
        return None

    def _trigger_after(self, num: NumberMention, s: _Sentence, window_start: int) -> Occurrence | None:
        """The trigger after ``num`` in a condition ("if 21,480 breaks"), or None (see :meth:`_conditioned`)."""
        idx = bisect.bisect_left(self.cue_starts, num.end)
        for occ in self.cues[idx:idx + 3]:  # past a level noun ("the $46 level fails"), itself a cue
            if occ.start >= s.end or not _LEVEL_NOUNS_GAP.match(self.view, num.end, occ.start):
                return None
            if occ.has("trigger_after"):
                return occ if self._conditioned(num, s, window_start) else None
        return None

    def _side_in(self, s: _Sentence, side: str) -> bool:
        """A side word for ``side`` anywhere in the sentence."""
        lo, hi = bisect.bisect_left(self.side_starts, s.start), bisect.bisect_left(self.side_starts, s.end)
        return any(m.kind == "side" and m.name == side for o in self.sides[lo:hi] for m in o.meanings)

    def _conditioned(self, num: NumberMention, s: _Sentence, window_start: int) -> bool:
        """A condition word right before the level ("if", "once", "should"; the level's name may stand between)."""
        return _CONDITION_BEFORE.search(self.view, max(window_start, s.start, num.start - 60), num.start) is not None

    def _instrument_right_before(self, pos: int) -> bool:
        idx = bisect.bisect_left(self.mention_starts, pos) - 1
        return idx >= 0 and not self.view[self.mentions[idx].end:pos].strip(" \t,")

    def _carry_on(self, s: _Sentence) -> None:
        """"... with a stop at $176.</p><p>Upside objectives: $210, then $225.</p>": a paragraph that opens with
        a stop or target label and names no instrument goes on with the setup the previous paragraph ended on."""
        first = self._occurrences(self.cues, self.cue_starts, s.start, s.end)[:1]
        lead = TOKEN.findall(self.view[s.start:first[0].start]) if first else []
        # "4/5 The stop for that IWM long goes at $254": a thread's counter and an article may come first.
        # "On the upside I'm aiming for $390 first", "Look to cover near $392": a few plain words may too.
        # "I'm running a trailing stop instead: trail under 185.20": a few words with no side or entry word.
        if first and (not self.view[s.start:first[0].start].strip(" \t\n-*•") or len(lead) <= 1
                      or (len(lead) <= 6 and all(tok in _LEAD_WORDS for tok in lead))
                      or (len(lead) <= 4 and not self._side_or_entry_in(s.start, first[0].start))):
            if any(m.kind == "role" and m.name in ("stop", "target") and m.position in ("before", "needs_current")
                   for m in first[0].meanings):
                self.current = self.carried

    def _side_or_entry_in(self, start: int, end: int) -> bool:
        lo = bisect.bisect_left(self.side_starts, start)
        return any(o.start < end and o.has("side") for o in self.sides[lo:lo + 6])

    def _disowned(self, s: _Sentence) -> None:
        """"If IWM loses $262 instead, I'm wrong. No short from me though.": a negation naming the side of the
        scenario just described (not an instruction) in the next sentence takes it back."""
        d = self.current
        if d is None or d.explicit or d.kind != "single" or d.direction is None or d.sentence == id(s):
            return
        for occ in self._occurrences(self.flags, self.flag_starts, s.start, s.end):
            if occ.has("flag", "negation"):
                words = set(self.view[occ.start:occ.end].replace("'", " ").split())
                if words & ({"short", "shorts", "shorting", "sell", "selling"} if d.direction == "short"
                            else {"long", "longs", "buy", "buying"}):
                    d.dropped = True
                    self.current = None
                    return

    def _negated(self, pos: int, s: _Sentence) -> bool:
        """A negation in the clause around ``pos`` ("stand aside: no short from us", "the short is off")."""
        clause_start, clause_end = self._clause(pos, s)
        for occ in self._occurrences(self.flags, self.flag_starts, clause_start, clause_end):
            if occ.has("flag", "negation"):
                return True
        return False

    def _clause(self, pos: int, s: _Sentence) -> tuple[int, int]:
        """The clause around ``pos``: from after the clause mark before it to the next one (sentence bounds)."""
        if not s.start <= pos <= s.end:
            start = s.start
            for m in _CLAUSE.finditer(self.view, s.start, pos):
                start = m.end()
            m = _CLAUSE.search(self.view, pos, s.end)
            return start, (m.start() if m else s.end)
        if self._clause_marks[0] is not s:  # the marks of the sentence, found once
            # (not the brackets of a ticker after its name: "short Exxon (XOM) from the $97.40 to $97.90 area")
            self._clause_marks = (s, [m.start() for m in _CLAUSE.finditer(self.view, s.start, s.end)
                                      if m.group() not in "()" or not self._ticker_bracket(m.start())])
        marks = self._clause_marks[1]
        i = bisect.bisect_left(marks, pos)
        return (marks[i - 1] + 1 if i else s.start), (marks[i] if i < len(marks) else s.end)

    def _ticker_bracket(self, pos: int) -> bool:
        """The "(" or ")" at ``pos`` encloses a single instrument right after another: "§ (§)"."""
        view = self.view
        if view[pos] == ")":
            pos = view.rfind("(", max(0, pos - 12), pos)
            if pos < 0:
                return False
        m = _TICKER_BRACKETS.match(view, pos)
        return m is not None and view[max(0, pos - 60):pos].rstrip().endswith("§")

    def _sentence_mentions(self, s: _Sentence) -> list[Mention]:
        i0, i1 = bisect.bisect_left(self.mention_starts, s.start), bisect.bisect_left(self.mention_starts, s.end)
        return self.mentions[i0:i1]

    def _side(self, s: _Sentence, num: NumberMention, occ: Occurrence, window_start: int,
              numbers: list[NumberMention], k: int) -> tuple[str | None, bool]:
        """The side for an entry cue: (long/short, written?) or (None, False). See module docstring, step 3."""
        clause_start, clause_end = self._clause(occ.start, s)
        # 1. A side word between the previous level (or the clause start) and the cue, with no stop or target
        #    word between them ("... to get short, with a target at the October lows near $1,950").
        side = self._nearest_side(max(clause_start, window_start), occ.start, reverse=True, guard=occ.start)
        if side:
            return side, True
        # 2. Right after the level: "North of $165 I'm a buyer".
        next_start = numbers[k + 1].start if k + 1 < len(numbers) else s.end
        stop = min(clause_end, next_start, num.end + 60)
        side = self._nearest_side(num.end, stop, reverse=False)
        if side:
            if not self._trigger_between(num.end, next_start if next_start < clause_end else stop, real=True):
                return side, True
            # "lose 25,540 and I flip short under 25,520": that side is the next entry's, and this level its
            # condition (not a side from a heading or from earlier: "Short side. If it loses $418, I flip ...").
            return None, False
        # 2b. Past an aside in brackets right after the level: "IF price > 722.20 (clears the Tue/Wed highs) → long".
        aside = _ASIDE_AFTER.match(self.view, num.end)
        if aside is not None and not any(c.isdigit() for c in aside.group()):
            after_end = self._clause(min(aside.end() + 1, s.end), s)[1]
            stop = min(after_end, next_start, aside.end() + 60)
            side = self._nearest_side(aside.end(), stop, reverse=False)
            if side and not self._trigger_between(aside.end(), stop, real=True):
                return side, True
        # 3. Earlier in the sentence, when no stop/target word stands between ("buy above 87, or on a dip to 84").
        lo = s.start
        for m in re.finditer(";", self.view[s.start:occ.start]):
            lo = s.start + m.end()
        hi = max(clause_start, window_start)
        if hi > lo:
            idx = bisect.bisect_left(self.side_starts, hi) - 1
            while idx >= 0 and self.sides[idx].start >= lo:
                cand = self.sides[idx]
                if cand.has("side") and cand.end <= hi:
                    name = next((m.name for m in cand.meanings if m.name in ("long", "short")), None)
                    if name and not self._role_word_between(cand.end, occ.start) and not self._negated(cand.start, s):
                        return name, True
                    if name:
                        break
                idx -= 1
        # 4. A heading line of the paragraph ("$META long idea").
        if self.paragraph_side:
            return self.paragraph_side, True
        # 5. Only an entry word ("enter", "scale in", "trigger"): the trigger's own direction decides.
        lo = bisect.bisect_left(self.side_starts, max(clause_start, window_start))
        for cand in self.sides[lo:bisect.bisect_left(self.side_starts, occ.start)]:
            if cand.has("side", "entry") and not self._role_word_between(cand.end, occ.start):
                return "entry", True
        return None, False

    def _nearest_side(self, start: int, end: int, reverse: bool, guard: int | None = None) -> str | None:
        """The nearest long/short side word in ``[start, end)``; with ``guard``, none past a stop/target word."""
        lo, hi = bisect.bisect_left(self.side_starts, start), bisect.bisect_left(self.side_starts, end)
        items = self.sides[lo:hi]
        for occ in (reversed(items) if reverse else items):
            if occ.end > end:
                continue
            if not occ.has("side"):
                continue
            name = next((m.name for m in occ.meanings if m.name in ("long", "short")), None)
            if name:
                if guard is not None and self._role_word_between(occ.end, guard):
                    return None
                return name
        return None

    def _trigger_between(self, start: int, end: int, real: bool = False) -> bool:
        """A trigger in ``[start, end)``; with ``real``, not an "in"/"at" that names an instrument ("buy it"
        after "once $262 is reclaimed in IWM", "are for selling in TLT")."""
        lo, hi = bisect.bisect_left(self.cue_starts, start), bisect.bisect_left(self.cue_starts, end)
        return any(m.kind == "trigger" and not (real and m.name == "at" and self.view.startswith("§", o.end + 1))
                   for o in self.cues[lo:hi] for m in o.meanings)

    def _entry_word_before(self, start: int, end: int) -> bool:
        lo, hi = bisect.bisect_left(self.side_starts, start), bisect.bisect_left(self.side_starts, end)
        return any(o.has("side", "entry") for o in self.sides[lo:hi])

    def _role_word_between(self, start: int, end: int) -> bool:
        lo, hi = bisect.bisect_left(self.cue_starts, start), bisect.bisect_left(self.cue_starts, end)
        return any(m.kind == "role" and m.name in ("stop", "target", "invalidation") and m.position == "before"
                   for o in self.cues[lo:hi] for m in o.meanings)

    def _suffix_role(self, s: _Sentence, num: NumberMention, numbers: list[NumberMention], k: int, roles, claimed):
        window_start = numbers[k - 1].end if k else s.start
        trigger = self._trigger_after(num, s, window_start)  # "if 21,480 breaks, I'm short"
        if trigger is not None and id(trigger) not in claimed:
            name = next(m.name for m in trigger.meanings if m.kind == "trigger_after")
            # "if 87 breaks" takes its direction from the side: only an instruction's ("..., I'm short"), not the
            # "bulls" of "that is bad news for bulls".
            got = None if name == "break" and not self._explicit_sentence else self._trigger_role(
                s, num, trigger, name, window_start, numbers, k, blocked=False)
            # "If 600 is lost, the next support is 590, where I would be a buyer": the writer's side is the
            # other one; the lost level is no short.
            if got is not None and got[1] is not None and self._side_in(s, "short" if got[1] == "long" else "long"):
                got = None
            # "If 250 fails, I will sell my AAPL shares": an instruction with no side is an exit, not an entry
            # (a scenario without an instruction stays one: "if 5,519 fails, the index could slide to 5,502").
            if got is not None and not got[3].get("side_written", True) and self._explicit_sentence:
                got = None
            if got is not None:
                claimed.add(id(trigger))
                self._bound.append(trigger)
                return got
        occ = self._suffix_at(num.end, s)
        if occ is None or id(occ) in claimed:
            return None
        # "87 stop 85": a word that is also a cue *before* the next level belongs to that level.
        if k + 1 < len(numbers) and any(m.kind == "role" and m.position == "before" for m in occ.meanings):
            nxt = numbers[k + 1]
            if occ.end <= nxt.start and self._gap_ok(occ.end, nxt.start, 0) and roles[k + 1] is None:
                return None
        for meaning in occ.meanings:
            if meaning.kind == "role" and meaning.position == "after":
                claimed.add(id(occ))
                self._bound.append(occ)
                return (meaning.name, None, None, {})
            if meaning.kind == "entry" and meaning.position == "after":
                claimed.add(id(occ))
                self._bound.append(occ)
                side, written = self._side(s, num, occ, numbers[k - 1].end if k else s.start, numbers, k)
                side = None if side == "entry" else side
                if side is None:
                    return ("entry", None, "limit", {"tentative": "sentence", "side_written": False})
                return ("entry", side, "limit", {"side_written": written})
        return None

    def _continued_role(self, numbers: list[NumberMention], k: int, roles):
        prev = roles[k - 1]
        if prev is None:
            return None
        name = prev[0]
        gap = self.view[numbers[k - 1].end:numbers[k].start]
        if self.pb.continuation.fullmatch(gap) or not gap.strip():
            if name in _CONTINUABLE:
                return (name, None, None, {})
            if name == "entry" and _ARROW.search(gap):
                return ("target", None, None, {})
        if name == "target":
            tokens = TOKEN.findall(gap)
            if tokens and any(t in self.pb.next_target for t in tokens) and all(
                    t in self.pb.next_target or t in self.pb.link or t in (",", ";", ".", "and", "then", "target", "a",
                                                                           "the", "objective")
                    for t in tokens):
                return ("target", None, None, {})
        return None

    # -- instruments -------------------------------------------------------------------------------
    def _attribute(self, lv: _Level, mentions: list[Mention]) -> Mention | None:
        """The instrument a level belongs to.

        The nearest mention before it in the sentence, else after it, skipping known instruments whose
        price is nowhere near the level (the VIX is not at 2,150); with no mention in the sentence, the
        instrument of this paragraph whose price fits, else the recently mentioned one whose price fits.
        """
        idx = bisect.bisect_left(mentions, lv.num.start, key=_START)
        before = [m for m in mentions[max(0, idx - _NEAR):idx] if m.end <= lv.num.start][::-1]
        after = [m for m in mentions[idx:idx + _NEAR] if m.start >= lv.num.end]
        for m in before + after:
            if not m.resolvable or self._fits(m, lv.num.value):
                if not m.pinned:  # "XLK, the tech sector ETF, ...": the ticker says it more precisely
                    m = next((o for o in before + after if o.family == m.family and o.pinned
                              and self._fits(o, lv.num.value)), m)
                if not m.resolvable:  # "Silver (May futures, SIK26). Sell silver ...": the contract named
                    m = self._contract_for(m) or m
                return m
        if before or after:
            return (before + after)[0]
        if self._unknown_name_after_side(lv) or self._unknown_company_in_paragraph(lv):
            return None  # "I'm accumulating Harlow below $38": a company the table does not know, not the context's
        # No instrument in the sentence: first this paragraph's, then the article's so far; by price
        # magnitude among those with a known price, else the latest ticker whose price is not known here.
        # "drops the stock below $940": a single stock named before, not the index it was compared with.
        pools = [(self.paragraph_mentions[-_NEAR:], True), (self.context[-_CONTEXT_SPAN:], False)]
        if _THE_STOCK.search(self.view, max(lv.span[0], lv.num.start - 80), lv.num.start):  # (bounded: linear)
            pools = [([m for m in pool if m.family == "ticker"], local) for pool, local in pools] + pools
        for pool, local in pools:
            found = self._by_magnitude(lv.num.value, pool)
            unknown = [m for m in pool if m.resolvable and m.pinned and not self._known_price(m)]
            # A ticker with no price here ("Microsoft", offline), named in this paragraph or in the headline,
            # beats a known instrument the level is not near: $455 is not the Nasdaq 100's ETF at $620 just
            # because that is the only price at hand.
            preferred = unknown if local else [m for m in unknown if self._in_headline(m)]
            if found is not None and (not preferred or self._near(found, lv.num.value)):
                return found
            if preferred:
                return preferred[-1]
            if found is not None:
                return found
            if unknown:
                return unknown[-1]
        return None

    def _unknown_company_in_paragraph(self, lv: _Level) -> bool:
        """The text just before the level (this paragraph, or the one before it when this one names no
        instrument) is about a company the table does not know, and names no instrument after it: "Shares in
        Harcourt & Vale fell below 410p ... ¶ I think the market has overreacted. I am a buyer at 385p"."""
        if self.paragraph_mentions:
            return False
        start = max(0, lv.num.start - _COMPANY_LOOKBACK)
        if "hares " not in self.text[start:lv.num.start]:
            return False
        for m in _SHARES_OF_NAME.finditer(self.text, start, lv.num.start):
            after = bisect.bisect_left(self.mention_starts, m.end())
            named_since = after < len(self.mention_starts) and self.mention_starts[after] < lv.num.start
            if not named_since and self._is_unknown_name(m.group(1), written=1):  # ("shares in": a company)
                return True
        return False

    def _is_unknown_name(self, name: str, written: int = 2) -> bool:
        """A capitalised word that names a company the article talks of: no word of the phrasebook or of the
        alias table, capitalised at least ``written`` times in the article and never written in lower case."""
        low = name.lower()
        if self._word_forms is None:  # (counted once for the article: the look-up stays linear)
            self._word_forms = (collections.Counter(_TITLE_WORD.findall(self.text)),
                                frozenset(_LOWER_WORD.findall(self.text)))
        capitalised, lower = self._word_forms
        return low not in self.pb.vocabulary and low not in _COMMON_CAPITALS and low not in self.table.name_words \
            and capitalised[name] >= written and low not in lower

    def _unknown_name_after_side(self, lv: _Level) -> bool:
        """A capitalised name right after the side word before the level, that is no instrument the table knows
        and no word of the phrasebook: "I'm accumulating Harlow below $38", "buying Halvorsen above NOK 212"."""
        lo = bisect.bisect_left(self.side_starts, lv.span[0])
        hi = bisect.bisect_left(self.side_starts, lv.num.start)
        for occ in reversed(self.sides[lo:hi]):
            if not occ.has("side"):
                continue
            m = _PROPER_NAME_AFTER.match(self.text, occ.end, lv.num.start)
            if m is None:
                return False
            # (not a word of the phrasebook or of the alias table: "Buying Energy above $46.5" is XLE's)
            return self._is_unknown_name(m.group(1))
        return False

    def _in_headline(self, m: Mention) -> bool:
        """The instrument is named in the article's headline (:meth:`_title_end`)."""
        end = self._headline()
        return any(o.start < end and o.family == m.family and o.pinned == m.pinned
                   for o in self.mentions[:bisect.bisect_left(self.mention_starts, end)])

    def _near(self, m: Mention, level: float) -> bool:
        """The level is within 25% of one of the mention's prices."""
        return any(p and abs(math.log(level / p)) < _NEAR_FIT for p in self._magnitudes(m))

    def _contract_for(self, m: Mention) -> Mention | None:
        """For a commodity named as such ("silver"), the futures contract on it named in this paragraph
        ("SIK26"), else earlier in the article ("October WTI has run ..." above "Sell crude into ..."), else None."""
        if m.family != "commodity":
            return None
        word = m.words.lower()
        for pool in (self.paragraph_mentions, self.context[-_CONTEXT_SPAN:]):  # (bounded: linear in the text)
            for o in reversed(pool):
                if o.family.startswith("futures-") and o.resolvable and word in self.table.families[o.family].name:
                    return o
        return None

    def _known_price(self, m: Mention) -> bool:
        return any(price for price in self._magnitudes(m))

    def _fits(self, m: Mention, level: float) -> bool:
        prices = [p for p in self._magnitudes(m) if p]
        return not prices or any(abs(math.log(level / p)) < math.log(3) for p in prices)

    def _magnitudes(self, m: Mention) -> list[float | None]:
        """:meth:`_magnitude` of each of the mention's candidate symbols, in order (once per article)."""
        key = (m.family, m.pinned)
        found = self._magnitude_memo.get(key)
        if found is None:
            found = self._magnitude_memo[key] = [self._magnitude(sym) for sym in self.table.candidates(m)]
        return found

    def _magnitude(self, symbol: str) -> float | None:
        """A rough price, enough to say whether a level is in an instrument's range (within 3x): the table's
        typical close when it has one, else the last close before publication (the exact close only decides
        between an index and its ETF, in :meth:`InstrumentTable.resolve`)."""
        typical = self.table.typical.get(symbol)
        if symbol.endswith("=F"):  # a future's typical level is its index's today: a close at hand says more
            price = self._price(symbol)
            return price if price is not None else typical
        return typical if typical is not None else self._price(symbol)

    def _by_magnitude(self, level: float, context: list[Mention]) -> Mention | None:
        """Among ``context`` mentions, the one whose price is nearest the level (recent ones win ties)."""
        best: tuple[float, int] | None = None
        choice: Mention | None = None
        seen: set[tuple[str, str | None]] = set()
        for idx in range(len(context) - 1, -1, -1):
            m = context[idx]
            key = (m.family, m.pinned)
            if key in seen or not m.resolvable:
                continue
            seen.add(key)
            for price in self._magnitudes(m):
                if not price:
                    continue
                dist = abs(math.log(level / price))
                score = (round(dist, 1), len(context) - idx)
                if best is None or score < best:
                    best, choice = score, m
        if best is None or best[0] > math.log(3):
            return None  # nothing mentioned trades near this level: unresolved beats a wrong symbol
        return choice

    def _price(self, symbol: str) -> float | None:
        if symbol in self.prices:
            return self.prices[symbol]
        price = None
        if self.lookup is not None and self.article.published is not None:
            try:
                price = self.lookup(symbol, self.article.published)
            except Exception:  # noqa: BLE001
                price = None
        self.prices[symbol] = price or self.table.typical.get(symbol)
        return self.prices[symbol]

    def _compatible(self, d: _Draft, lv: _Level) -> bool:
        """A stop or target belongs to the open setup unless it is said of another instrument, or is no price
        of the setup's at all ("which puts 1R at $3.80" after an entry at $92.40: more than 3x away)."""
        if d.level is not None and d.level > 0 and not d.level / 3 <= lv.num.value <= d.level * 3:
            return False
        if lv.mention is None or d.mention is None or lv.span in d.spans:
            return True
        if lv.mention.family == d.mention.family and (lv.mention.pinned == d.mention.pinned or not lv.mention.pinned
                                                      or not d.mention.pinned):
            return True
        sentence_mentions = [m for m in self.mentions[bisect.bisect_left(self.mention_starts, lv.span[0]):
                                                      bisect.bisect_left(self.mention_starts, lv.span[1])]]
        return not sentence_mentions

    # -- events ------------------------------------------------------------------------------------
    def _level_event(self, lv: _Level, span: tuple[int, int], explicit: bool, s: _Sentence) -> None:
        self.levels.append(lv)
        if len(self.levels) > 2 * _CONTEXT_SPAN:
            del self.levels[:_CONTEXT_SPAN]
        if lv.condition:
            self.conditions.append(lv)
        value = lv.num.value
        if lv.role == "entry":
            if lv.confirm and self.current is not None and self.current.direction == lv.direction \
                    and self.current.sentence != id(s):
                self.current.add_span(span)
                self.current.notes.append(f"confirmation at {format_level(value)} noted")
                return
            if lv.num.high is not None and lv.direction == "long":
                value = lv.num.high  # a zone is reached at its top from above, and broken out of at its top
            draft = _Draft(lv.mention, lv.direction, lv.entry_type or "stop", value, lv.pos, [span], explicit,
                           sentence=id(s), side_written=lv.side_written, tentative=lv.tentative,
                           zone=(lv.num.value, lv.num.high) if lv.num.high is not None else None)
            previous = self.current
            if previous is not None and previous.sentence == id(s) and not previous.stop and not previous.targets:
                if previous.tentative:
                    self._drop_tentative(previous)  # "XLU at $41.30 looks heavy: short XLU below $40.80"
                elif not previous.side_written and previous.direction == draft.direction and draft.side_written \
                        and (previous.mention is None or draft.mention is None
                             or previous.mention.family == draft.mention.family):
                    previous.dropped = True  # "lose 25,540 and I flip short under 25,520": one setup
            self.drafts.append(draft)
            if draft.tentative:
                self.tentatives.append(draft)
            self.current = draft
        elif lv.role == "stop":
            if self.current is not None and self._compatible(self.current, lv):
                self._set_stop(self.current, self._edge(lv, "stop"), span)
                self._follow_up(self.current, explicit, s)
        elif lv.role == "target":
            if self.current is not None and self._compatible(self.current, lv):
                target = self._edge(lv, "target")
                if target == self.current.level and self.current.sentence != id(s):
                    return  # "... right under 402" after "long SMH over 402": the entry again, not a target
                self.current.targets.append(target)
                self.current.add_span(span)
                self._follow_up(self.current, explicit, s)
        elif lv.role == "invalidation":
            if self.current is not None and self._compatible(self.current, lv):
                self._invalidate(self.current, value, span)
            else:
                self._watch(lv, "level", span, note="invalidation level")
        elif lv.role in _WATCH_ROLES:
            if lv.role == "range" and lv.num.high is None:
                self._watch(lv, "level", span)
            else:
                self._watch(lv, lv.role if lv.num.high is None or lv.role != "level" else "range", span)

    def _follow_up(self, d: _Draft, explicit: bool, s: _Sentence) -> None:
        """"A weekly close above $48 is the signal. I would buy that close, with the stop at $44.50": the
        instruction in the sentence that gives the stop makes the setup explicit."""
        if d.explicit or not explicit or d.sentence == id(s) or d.direction is None:
            return
        if self._nearest_side(s.start, s.end, reverse=False) == d.direction:
            d.explicit = True

    def _edge(self, lv: _Level, role: str) -> float:
        """Which end of a zone a stop or target is: the target's near edge, the stop's far edge."""
        if lv.num.high is None or self.current is None:
            return lv.num.value
        long = self.current.direction != "short"
        if role == "target":
            return lv.num.value if long else lv.num.high
        return lv.num.value if long else lv.num.high

    def _settle_tentative(self, paragraph_end: bool, sentence: _Sentence | None = None) -> None:
        """Entries without a side take their direction from their stop and targets, or are dropped.

        "IWM at $237 with a stop at $232 ..." settles at the end of its sentence (with nothing attached it was
        only a quoted price); "Entry 612.50" / "SL 598" at the end of its paragraph.
        """
        pending = []
        for d in self.tentatives:
            if not d.tentative or d.dropped:
                continue
            if not paragraph_end and (d.tentative != "sentence" or d.sentence != id(sentence)):
                pending.append(d)
                continue
            direction = _direction_from_levels(d)
            if direction is not None:
                d.direction = direction
                if d.zone is not None:
                    d.level = d.zone[1] if direction == "long" else d.zone[0]
                d.tentative = None
                d.notes.append(f"direction {direction} read from the stop and targets")
                continue
            self._drop_tentative(d)
        self.tentatives = pending

    def _drop_tentative(self, d: _Draft) -> None:
        d.dropped = True
        if self.current is d:
            self.current = None
        if d.tentative == "sentence" and d.stop is None and not d.targets:
            levels = list(d.zone) if d.zone else [d.level]
            self.watch.append({"mention": d.mention, "kind": "price", "levels": levels, "span": d.spans[0], "note": None})

    def _referent_event(self, payload, s: _Sentence, span: tuple[int, int], explicit: bool) -> None:
        occ, ref = payload
        cls = next(m.name for m in occ.meanings if m.kind == "trigger")
        direction = "long" if cls in ("break_above", "close_above") else "short"
        target_role = {"long": "resistance", "short": "support"}[direction]
        prior = [lv for lv in self.levels[-_CONTEXT_SPAN:] if lv.pos < occ.start]
        if not prior or self._negated(occ.start, s):
            return
        if ref is not None and ref["this"] and ref["what"]:
            what = ref["what"].lower()
            pick = [lv for lv in prior if lv.role == what] if what in ("support", "resistance", "range") else []
            referent = (pick or prior)[-1]
        else:
            referent = ([lv for lv in prior if lv.role == target_role]
                        or [lv for lv in prior if lv.role in ("level", "support", "resistance", "price")] or [None])[-1]
            if referent is None:
                return
        value = referent.num.high if (referent.num.high and direction == "long") else referent.num.value
        d = self.current
        if d is not None and d.kind == "single" and value in (d.stop, d.invalidation) and d.direction != direction:
            d.add_span(span)  # "I exit on a daily close below $306. A close under that level would mean ...": its stop
            return
        tail = self.view[occ.end:s.end]
        if re.match(r"^[^.;,:#]{0,40}?\binvalidat", tail):
            if self.current is not None:
                self._invalidate(self.current, value, span)
            return
        etype = "close" if cls.startswith("close") else "stop"
        draft = _Draft(referent.mention, direction, etype, value, occ.start, [span], explicit, sentence=id(s),
                       side_written=False)
        self.drafts.append(draft)
        self.current = draft
        if referent.span != span:
            draft.add_span(referent.span)  # the sentence that named the level

    def _market_event(self, occ: Occurrence, s: _Sentence, span: tuple[int, int], explicit: bool,
                      mentions: list[Mention]) -> None:
        """"Buy AAPL at the market", "Go long the S&P 500 here", "I'm short ARKK from here" (an order word is
        needed: "bears have the better argument here" is no order)."""
        # "Entry: market" under a "$XLE | SHORT" heading: the label is the order, the heading its side.
        labelled = self.view.startswith("entry", occ.start)
        if not labelled and not any(o.has("flag", "action")
                                    for o in self._occurrences(self.flags, self.flag_starts, s.start, s.end)):
            return
        clause_start, _ = self._clause(occ.start, s)
        side = self._nearest_side(clause_start, occ.start, reverse=True) or (self.paragraph_side if labelled else None)
        if side is None or self._negated(occ.start, s):
            return
        if self.current is not None and self.current.sentence == id(s):
            return  # this sentence already opened a setup with a level
        before = [m for m in mentions if m.end <= occ.start]
        mention = before[-1] if before else None
        if mention is None and not mentions:  # "I am long the index from here": the paragraph's instrument
            recent = [m for m in self.paragraph_mentions[-_NEAR:] if m.resolvable] or \
                     [m for m in self.context[-_NEAR:] if m.resolvable]
            mention = recent[-1] if recent else None
        if mention is None or self.table.tradeable(mention) is None and mention.resolvable:
            return
        draft = _Draft(mention, side, "market", None, mention.start, [span], explicit, sentence=id(s))
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
        self.watch.append({"mention": lv.mention, "kind": kind, "levels": lv.num.values, "span": span, "note": note})

    # -- pairs ---------------------------------------------------------------------------------------
    def _pairs(self, s: _Sentence, mentions: list[Mention], span: tuple[int, int], explicit: bool) -> None:
        if len(mentions) < 2:
            return
        view = self.view[s.start:s.end]
        if "long" not in view and "buy" not in view and "own" not in view and "overweight" not in view:
            return
        pieces, pos, idx = [], 0, 0
        for m in mentions:
            start = m.start - s.start
            pieces.append(view[pos:start])
            pieces.append(f" §{idx} ")
            pos = m.end - s.start
            idx += 1
        pieces.append(view[pos:])
        token = re.sub(r"\s+", " ", "".join(pieces))
        if "(" in token or "vs." in token:  # "long semiconductors (SMH) vs. software (IGV)": the tickers
            token = _PAIR_VS.sub("vs ", _PAIR_BARE.sub(r" §\1 ", _PAIR_NAMED.sub(r" §\1 ", _PAIR_BOTH.sub(r" §\1 ", token))))
            token = re.sub(r"\s+", " ", token)
        for pattern, reverse in self.pb.pairs:
            found = list(pattern.finditer(token))
            for pm in found:
                first = [int(pm["a"])] + [int(x) for x in re.findall(r"§(\d+)", pm["a_more"] or "")]
                second = [int(pm["b"])] + [int(x) for x in re.findall(r"§(\d+)", pm["b_more"] or "")]
                longs, shorts = (second, first) if reverse else (first, second)
                for li in longs:
                    for si in shorts:
                        self._pair(mentions[li], mentions[si], span, explicit)
            if found:
                # "long XLP against short XLY at the market": the legs' market orders are the pair itself
                legs = {(m.family, m.pinned) for m in mentions}
                for d in self.drafts:
                    if d.kind == "single" and d.entry_type == "market" and d.sentence == id(s) \
                            and d.mention is not None and (d.mention.family, d.mention.pinned) in legs:
                        d.dropped = True
                return

    def _pair(self, long: Mention, short: Mention, span: tuple[int, int], explicit: bool) -> None:
        if self.table.tradeable(long) == self.table.tradeable(short) and long.family == short.family:
            return
        draft = _Draft(None, "long", "market", None, long.start, [span], explicit, kind="pair", long=long, short=short)
        self.drafts.append(draft)

    # -- results -----------------------------------------------------------------------------------
    def setups(self) -> list[dict]:
        """The setups' values, for :meth:`SetupFile.of` (which validates them with the rest of the file)."""
        drafts = [d for d in self.drafts if d.direction is not None and not d.dropped]
        for d in drafts:
            self._resolve(d)
        drafts = _merge(drafts, self.table)
        for role, right, wrong, named in self._corrections():  # "the stop ... is $97, not $79 as first sent"
            for d in drafts:
                if named and d.symbol not in named and (d.mention is None or d.mention.family not in named):
                    continue  # the correction names another instrument
                if role == "stop" and d.stop == wrong:
                    d.stop = right
                    d.notes.append(f"stop {format_level(right)}, corrected in the article from {format_level(wrong)}")
                elif role == "target" and wrong in d.targets:
                    d.targets = [right if v == wrong else v for v in d.targets]
                    d.notes.append(f"target {format_level(right)}, corrected in the article from {format_level(wrong)}")
                elif role == "entry" and d.level == wrong:
                    d.level = right
                    d.notes.append(f"entry {format_level(right)}, corrected in the article from {format_level(wrong)}")
        # "There are no new trades in this post": its instructions restate old ones (a scenario stays one).
        if ("no new" in self.view or "nothing in this" in self.view) and _NO_NEW_TRADES.search(
                self.view, self.start, self.end):  # (the look-ups first: the regex has no literal to skip to)
            drafts = [d for d in drafts if not d.explicit]
        # A scenario on the level of an instruction ("Bias: bearish below 62.00." before "Short CL on a retest
        # of 62.00 ..."): the bias restates the trade.
        drafts = [d for d in drafts if d.explicit or d.kind != "single" or d.level is None or not any(
            o is not d and o.explicit and o.kind == "single" and (o.symbol == d.symbol or d.symbol is None)
            and o.direction == d.direction and o.level == d.level for o in drafts)]
        # A headline's market order ("Why I'm Fading Netflix Here") when the article gives the trade itself
        # (short NFLX near $1,255 ...): the headline announces that trade, it is not a second one.
        drafts = [d for d in drafts if not (
            d.kind == "single" and d.entry_type == "market" and d.symbol and self._is_heading(d.spans[0])
            and any(o is not d and o.symbol == d.symbol and o.direction == d.direction for o in drafts))]
        for cond in self.conditions:  # "as long as it holds above $2,080" restates the long triggered at 2,080
            direction = "long" if cond.role == "support" else "short"
            for d in drafts:
                if d.kind == "single" and d.level == cond.num.value and d.direction == direction and cond.mention is not None \
                        and d.mention is not None and d.mention.family == cond.mention.family:
                    d.add_span(cond.span)
        for d in drafts:
            _cap_targets(d)
        drafts.sort(key=lambda d: (d.spans[0][0], d.pos))
        return [self._to_setup(d, f"{self.article.id}-s{i}") for i, d in enumerate(drafts, start=1)]

    def _corrections(self) -> list[tuple[str, float, float, set[str]]]:
        """(role, right level, wrong level, families named) of every "the stop ... is $97, not $79"."""
        if "not #" not in self.view:  # (levels are "#" on the masked view: "is $97, not $79")
            return []
        out = []
        for m in _CORRECTION.finditer(self.view, self.start, self.end):
            right = self._number_at(m.start("right"))
            wrong = self._number_at(m.start("wrong"))
            if right is not None and wrong is not None and right.is_level and wrong.is_level:
                # the instrument the correction names ("The AAPL target is $285, not $280"), if any
                lo = max(self.view.rfind("\n", 0, m.start()), self.view.rfind(". ", 0, m.start()), 0)
                named = {x.pinned or x.family for x in self.mentions if lo <= x.start < m.end()}
                out.append(("target" if m["role"].startswith("target") else m["role"], right.value, wrong.value,
                            named))
        return out

    def _number_at(self, pos: int) -> NumberMention | None:
        i = bisect.bisect_left(self.number_starts, pos)
        return self.numbers[i] if i < len(self.numbers) and self.numbers[i].start == pos else None

    def _history_that_is_not(self, occ: Occurrence, s: _Sentence) -> bool:
        """A history phrase that gives no history here: a cancel condition ("the order is cancelled if it opens
        below 43"), or a past call the sentence says still stands ("Yesterday's idea still stands: buy XLE ...")."""
        if not occ.has("flag", "history"):
            return False
        words = self.view[occ.start:occ.end]
        if "cancel" in words:
            return _CONDITION_NEXT.match(self.view, occ.end, s.end) is not None
        if "'s" in words:
            return _STILL_STANDS.search(self.view, s.start, s.end) is not None
        return False

    def _question(self, s: _Sentence) -> bool:
        """The sentence asks ("Should I buy Tesla now?", "Is it time to short XLU below 44?"): a reader's
        question, or the writer's rhetorical one, gives no instruction. Only a sentence that opens as a
        question: "Buy XLE at 44, stop 42 - anyone else in?" is an instruction with a question after it."""
        text = self.text[s.start:s.end]
        return text.rstrip(" \t\n*_\"'’”)").endswith("?") and _QUESTION_START.match(text) is not None

    def _quoted(self, s: _Sentence) -> bool:
        """The sentence is in an earlier message quoted by an e-mail reply or a forum post: the lines opening
        with ">" after an "On Mon, Aug 10, 2026 at 6:48 AM, Dana wrote:" line (or "Quote from ridgeback
        (March 18):", "Originally Posted by ...", "ridgeback said:"), or all after "-----Original Message-----". What
        the writer sent before (and may have cancelled since) is context, not this article's setup."""
        spans = self._quote_spans
        if spans is None:
            spans = []
            text = self.text
            if "wrote:" in text or "riginal" in text or "orwarded" in text or "uote" in text or "said:" in text:
                for m in _QUOTE_HEADER.finditer(text, max(0, self.start - 1), self.end):
                    if spans and m.start() < spans[-1][1]:
                        continue
                    if m["whole"]:  # a forwarded or original message: the rest of the text
                        spans.append((m.start(), len(text)))
                        break
                    end = m.end()
                    while (line := _QUOTED_LINE.match(text, end)) is not None:
                        end = line.end()
                    spans.append((m.start(), end))
            self._quote_spans = spans
            self._quote_starts = [a for a, _ in spans]
        if not spans:
            return False
        i = bisect.bisect_right(self._quote_starts, s.start) - 1
        return i >= 0 and s.start < spans[i][1]

    def _log_line(self, s: _Sentence) -> bool:
        """The sentence is on a line of a timestamped log ("09:42 — Took NQ long at 25,310", "11:20 - ES short
        at 6,912"): what was done during a session, not a plan. Only where two or more lines open that way."""
        starts = self._log_starts
        if starts is None:
            text = self.text
            starts = []
            if ":" in text:  # the time opens its line (blanks before it only)
                for m in _log_times(text, self.start, self.end):
                    line_start = text.rfind("\n", 0, m.start()) + 1
                    if not text[line_start:m.start()].strip(" \t") and (starts[-1:] or [-1])[0] != line_start:
                        starts.append(line_start)
            if len(starts) < 2:  # one timestamped line is no log
                starts = []
            self._log_starts = starts
        if not starts:
            return False
        line_start = self.view.rfind("\n", 0, s.start) + 1
        i = bisect.bisect_left(starts, line_start)
        if i >= len(starts) or starts[i] != line_start:
            return False
        line_end = self.view.find("\n", line_start)
        # "08:45 ET — Plan: buy ES above 6,920": a line that plans is no log of what was done
        return _PLANNING.search(self.view, line_start, line_end if line_end >= 0 else len(self.view)) is None

    def _is_heading(self, span: tuple[int, int]) -> bool:
        """The span is the headline, or a whole short line with no closing full stop (a section heading)."""
        start, end = span
        if end <= self._headline():
            return True
        line_start = self.text.rfind("\n", 0, start) + 1
        line_end = self.text.find("\n", end)
        line = self.text[line_start:line_end if line_end >= 0 else len(self.text)].strip()
        return (0 < len(line) <= 120 and not self.text[line_start:start].strip() and not line.endswith((".", "!", ";"))
                and not self.text[end:line_end if line_end >= 0 else len(self.text)].strip(" \t"))

    def _headline(self) -> int:
        """:meth:`_title_end`, found once per article."""
        if self._headline_end is None:
            self._headline_end = self._title_end()
        return self._headline_end

    def _title_end(self) -> int:
        """End of the article's headline: its title, else a short first line followed by more text (else 0)."""
        first = self.text.lstrip()
        title = (self.article.title or "").strip()
        if not title:
            line_end = first.find("\n")
            title = first[:line_end].strip() if 0 < line_end <= 120 and first[line_end:].strip() else ""
        if not title or not first.startswith(title):
            return 0
        return len(self.text) - len(first) + len(title)

    def _resolve(self, d: _Draft) -> None:
        if d.kind == "pair":
            d.symbol = None
            missing = [m.words for m in (d.long, d.short) if m is not None and self.table.tradeable(m) is None]
            d.status = "unresolved" if missing else "ok"
            d.resolution_note = (f"no series for {', '.join(repr(w) for w in missing)}" if missing
                                 else "pair legs trade as ETFs")
            return
        if d.mention is None:
            d.symbol, d.status, d.resolution_note = None, "unresolved", "no instrument named near the setup"
            return
        if d.entry_type == "market" and (d.stop is not None or d.targets) and not d.mention.pinned:
            # "Buy the Russell here, stop 2,550": the stop and targets say whether the index or its ETF is meant.
            res = self.table.resolve(d.mention, d.stop if d.stop is not None else d.targets[0], self.article.published,
                                     self.lookup)
            d.symbol, d.status, d.resolution_note = res.symbol, res.status, res.note
            return
        if d.entry_type == "market":
            symbol = self.table.tradeable(d.mention)
            d.symbol, d.status = symbol, "ok" if symbol else "unresolved"
            d.resolution_note = (d.mention.how or f"{d.mention.words!r} trades as {symbol}") if symbol \
                else f"no series for {d.mention.words!r}"
            return
        res = self.table.resolve(d.mention, d.level, self.article.published, self.lookup)
        d.symbol, d.status, d.resolution_note = res.symbol, res.status, res.note

    def _to_setup(self, d: _Draft, setup_id: str) -> dict:
        """A :class:`Setup`'s values (its ``entry``, legs and ``source`` as dicts too)."""
        provenance = {"article_id": self.article.id, "sha256": self.article.sha256,
                      "spans": [{"start": a, "end": b} for a, b in d.spans]}
        notes = [d.resolution_note] + d.notes
        note = "; ".join(n for n in notes if n) or None
        if d.kind == "pair":
            assert d.long is not None and d.short is not None
            return dict(
                id=setup_id, kind="pair", instrument=f"long {d.long.words} / short {d.short.words}", symbol=None,
                status=d.status, direction="long", entry={"type": "market"},
                long={"instrument": d.long.words, "symbol": self.table.tradeable(d.long)},
                short={"instrument": d.short.words, "symbol": self.table.tradeable(d.short)},
                explicit=d.explicit, note=note, source=provenance,
            )
        direction_sign = 1 if d.direction == "long" else -1
        targets = sorted(dict.fromkeys(d.targets), key=lambda t: direction_sign * t) if d.level is not None and all(
            direction_sign * (t - d.level) > 0 for t in d.targets) else list(dict.fromkeys(d.targets))
        return dict(
            id=setup_id, kind="single", instrument=d.mention.words if d.mention else "", symbol=d.symbol,
            status=d.status if d.symbol or d.status == "unresolved" else "unresolved",
            direction=d.direction, entry={"type": d.entry_type, "level": d.level, "window": d.window},
            stop=d.stop, targets=targets, invalidation=d.invalidation, explicit=d.explicit, note=note,
            source=provenance,
        )

    def watch_levels(self) -> list[dict]:
        """The watch levels' values, for :meth:`SetupFile.of`; one per instrument, kind and levels (spans united)."""
        merged: dict[tuple, dict] = {}
        for item in self.watch:
            mention: Mention | None = item["mention"]
            levels = item["levels"]
            if mention is None:
                words, res = "", None
            else:
                words = mention.words
                res = self.table.resolve(mention, levels[0], self.article.published, self.lookup)
            symbol = res.symbol if res else None
            key = (symbol or words, item["kind"], tuple(levels))
            span = {"start": item["span"][0], "end": item["span"][1]}
            if key in merged:
                spans = merged[key]["source"]["spans"]
                if span not in spans:
                    spans.append(span)
                continue
            note = "; ".join(n for n in (item["note"], res.note if res and res.status != "ok" else None) if n) or None
            merged[key] = dict(
                instrument=words or "(unnamed)", symbol=symbol, kind=item["kind"], levels=levels, note=note,
                source={"article_id": self.article.id, "sha256": self.article.sha256, "spans": [span]},
            )
        return list(merged.values())


_TABLE_SEPARATOR = re.compile(r"\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?")
_COLUMN_WORDS = (("stop", r"\b(?:stop|stops|sl|s/l|invalidation|risk)\b"),
                 ("targets", r"\b(?:targets?|tgts?|tps?|t/p\d?|tp\d|pt\d?|t\d|objectives?|take profit|goals?|exit)\b"),
                 ("side", r"\b(?:side|direction|bias|position|long ?/ ?short|action)\b"),
                 ("type", r"^\s*(?:type|order type)\s*$"),
                 ("instrument", r"\b(?:ticker|symbol|instrument|name|stock|etf|market|mkt|contract|asset|security)\b"),
                 ("entry", r"\b(?:entry|entries|trigger|buy|sell|level|price|order)\b"))
_GRID_CELL = re.compile(r"\S+(?: \S+)*")
#: The TYPE column of a grid: how the entry order works.
_ORDER_TYPES = {"lmt": "limit", "limit": "limit", "lim": "limit", "stp": "stop", "stop": "stop", "mkt": "market",
                "market": "market", "moc": "market"}


def _column_role(header: str) -> str | None:
    for role, pattern in _COLUMN_WORDS:
        if re.search(pattern, header):
            return role
    return None


def _cells(view: str, row: tuple[int, int]) -> list[tuple[int, int]]:
    """(start, end) of the cells of a pipe-table row (without the outer pipes)."""
    start, end = row
    bars = [start + m.start() for m in re.finditer(r"\|", view[start:end])]
    if not bars:
        return [(start, end)]
    edges = ([start - 1] if view[start:bars[0]].strip() else []) + bars + (
        [end] if view[bars[-1] + 1:end].strip() else [])
    return [(a + 1, b) for a, b in zip(edges, edges[1:])]


#: How strongly a cue before a level claims it. A weaker cue standing right after a stronger one is only a
#: link ("stop just under 85", "support sits at 2,040", "target is the gap at 1,170", "entry is at 87").
_STRENGTH = {"stop": 4, "target": 4, "invalidation": 4, "support": 3, "resistance": 3, "level": 2, "price": 1,
             "range": 1}


def _strength(occ: Occurrence, as_front: bool) -> float:
    best = 0.0
    for m in occ.meanings:
        if m.kind == "role" and m.position == "before":
            best = max(best, _STRENGTH.get(m.name, 0))
        elif m.kind == "role" and m.position == "needs_current":
            best = max(best, 1)  # "for", "toward": only a target after an entry, and weaker than a stop word
        elif m.kind == "entry" and m.position == "before":
            best = max(best, 2.5)
        elif m.kind == "trigger":
            # A trigger that says how to enter ("daily close above") is not a link for an entry word
            # behind it ("Trigger: daily close above 6,950"); "at" is.
            best = max(best, 0.5 if m.name == "at" else (3.0 if as_front else 0.5))
    return best


def _defers(front: Occurrence, behind: Occurrence) -> bool:
    """True when the cue ``behind`` (further from the level) claims it over ``front``."""
    strong_behind = any((m.kind == "role" and m.position == "before" and m.name in _STRENGTH)
                        or (m.kind == "entry" and m.position == "before") for m in behind.meanings)
    if not strong_behind:
        return False
    front_strength = _strength(front, True)
    if any(m.kind == "trigger" and m.name != "at" for m in front.meanings) and any(
            m.kind == "role" and m.name in ("stop", "target", "invalidation", "support", "resistance")
            and m.position == "before" for m in behind.meanings):
        front_strength = 0.5  # "invalidated on a close back below 24,700": the close is how it is invalidated
    return _strength(behind, False) > front_strength


_BREAKS = frozenset(("above", "below", "break", "break_above", "break_below", "close_above", "close_below"))


def _trigger_only(occ: Occurrence) -> bool:
    return all(m.kind == "trigger" for m in occ.meanings)


def _reach(occ: Occurrence, pb: Phrasebook) -> int:
    return max([pb.reach.get(m.name, 0) for m in occ.meanings if m.kind == "role"] + [1])


def _cap_targets(d: _Draft) -> None:
    """The targets cut at the model's limit, :data:`backtest.limits.MAX_TARGETS` (the note says so). Targets on
    the wrong side of the entry are kept as written: the setup's ordering problems report them."""
    if len(d.targets) > MAX_TARGETS:
        d.notes.append(f"{len(d.targets)} targets: the first {MAX_TARGETS} kept")
        d.targets = d.targets[:MAX_TARGETS]


def _direction_from_levels(d: _Draft) -> str | None:
    """long when the stop is below the entry and the targets above it; short for the mirror; else None."""
    level = d.zone[1] if d.zone else d.level
    low = d.zone[0] if d.zone else d.level
    if level is None:
        return None
    votes = []
    if d.stop is not None:
        votes.append("long" if d.stop < low else "short" if d.stop > level else None)
    for t in d.targets:
        votes.append("long" if t > level else "short" if t < low else None)
    votes = [v for v in votes if v]
    if votes and all(v == votes[0] for v in votes):
        return votes[0]
    return None


def _key(d: _Draft, table: InstrumentTable) -> tuple:
    return (d.kind, d.symbol or (d.mention.words.lower() if d.mention else None), d.direction, d.entry_type, d.level,
            table.tradeable(d.long) if d.long else None, table.tradeable(d.short) if d.short else None)


def _merge(drafts: list[_Draft], table: InstrumentTable) -> list[_Draft]:
    """Restatements become one setup (spans united); continuation breakouts fold into their parent."""
    out: list[_Draft] = []
    by_key: dict[tuple, _Draft] = {}
    for d in drafts:
        k = _key(d, table)
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
    # "Trigger: 2,985" in the Watch (no side written: its direction came from its levels) and "If the Russell
    # slips under 2,985, we'd be sellers ..." in the Take are one trade: the one the writer gave a side wins.
    def name(d: _Draft):
        return d.symbol or (d.mention.words.lower() if d.mention else None)
    written: dict[tuple, _Draft] = {}  # (instrument, level, direction) -> the first trade with its side written
    for e in out:
        if e.kind == "single" and e.side_written and e.level is not None:
            written.setdefault((name(e), e.level, e.direction), e)
    folded: set[int] = set()
    for d in out:
        if d.kind != "single" or d.side_written or d.level is None:
            continue
        e = written.get((name(d), d.level, d.direction))
        if e is not None and e is not d:
            for span in d.spans:
                e.add_span(span)
            e.explicit = e.explicit or d.explicit
            e.stop = e.stop if e.stop is not None else d.stop
            folded.add(id(d))
    if folded:
        out = [d for d in out if id(d) not in folded]
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
