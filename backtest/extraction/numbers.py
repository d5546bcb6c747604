"""Numbers in commentary: parse them, and tell price *levels* from everything else.

Articles are full of numbers and most of them are not levels: "$62 billion" (a flow), "+2.3%" (a move),
"14x" (a multiple), "RSI at 63" (an indicator reading), "VIX around 15" (a volatility reading), "the
200-day moving average" (a period), "Pulse 74/100" (a score), "February 1, 2026" (a date), "the Dow past
50,000" (a milestone being narrated), "$2,200 and $2,000 strikes" (option strikes). A level is what is
left: "$2,080", "2,100", "1.35k", "$141.06", or a range "4,900–5,000".

:func:`parse_number` turns one token into a float; :func:`find_numbers` scans a text and returns every
number with its span and a ``kind``; ``NumberMention.is_level`` is what the extractor builds setups from.
The classification is by the words glued to or right around the number, so it works on any author's prose.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Iterable

#: Index names that contain digits; masked so "Russell 2000" is never read as a level of 2,000.
NAME_WITH_DIGITS = re.compile(
    r"\b(?:Russell\s+(?:1000|2000|3000|Microcap)|S\s*&\s*P\s*(?:500|400|600|100)|SP500|Nasdaq[\s-]*100|NDX\s*100|"
    r"Dow\s+(?:Jones\s+)?(?:30|Industrials?\s+30)|FTSE\s+100|Nikkei\s+225|DAX\s+40|Stoxx\s+(?:50|600)|Euro\s+Stoxx\s+50|"
    r"CAC\s+40|IBEX\s+35|ASX\s+200|TSX\s+60|MSCI\s+\w+\s+\d+|Top\s+\d+|Fortune\s+500|Covid-19|COVID-19|H\d|Q[1-4]|[1-4]Q)\b",
    re.IGNORECASE,
)

#: The names with digits that are not instruments (those are blanked by the caller, see ``find_numbers``).
_OTHER_NAMES_WITH_DIGITS = re.compile(
    r"\b(?:Top\s+\d+|TOP\s+\d+|top\s+\d+|Fortune\s+500|Covid-19|COVID-19|covid-19|H[12]|Q[1-4]|[1-4]Q|"
    r"MSCI\s+\w+\s+\d+|Dow\s+30|DAX\s+40|TSX\s+60|G[27]|G20|S\s*&\s*P\s*(?:500|400|600|100)|Russell\s+[1-3]000)\b")
#: The same names without the leading ``\b`` (checked by hand, see :func:`_blank_other_names`): every
#: alternative then starts with a letter or digit, which the regex engine skips to fast.
_OTHER_NAMES_BODY = re.compile(
    r"(?:Top\s+\d+|TOP\s+\d+|top\s+\d+|Fortune\s+500|Covid-19|COVID-19|covid-19|H[12]|Q[1-4]|1Q|2Q|3Q|4Q|"
    r"MSCI\s+\w+\s+\d+|Dow\s+30|DAX\s+40|TSX\s+60|G[27]|G20|S\s*&\s*P\s*(?:500|400|600|100)|Russell\s+[1-3]000)\b")
#: Words whose presence in the 60 characters before a number make it an indicator reading (cheap pre-check).
_INDICATOR_KEYS = ("rsi", "relative strength", "stochastic", "macd", "adx", "cci", "williams", "put/call", "p/e", "pe",
                   "multiple", "overbought", "oversold", "breadth", "advance/decline", "pulse", "threat", "score",
                   "rated", "rating", "grade", "vix", "volatility", "iv", "beta", "yield", "rate", "inflation", "cpi",
                   "pce", "gdp", "unemployment", "payroll", "readings")

_MONTHS = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|"
    r"Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)

# One numeric token: optional sign and $ (or €/£), digits with optional thousands separators, decimals, k/m
# suffix. Not the minutes of a time or the second term of a ratio ("10:30", "3:1").
_NUMBER = re.compile(
    r"(?<![\w.,])(?<![^\s\d]/)(?<!\d:)(?:(?P<sign>[+\-−])\s?)?(?:(?P<dollar>[$€£])\s?)?"
    r"(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?P<frac>\.\d+)?"
    r"(?P<suffix>[kKmM](?![a-zA-Z]))?"
)
# A range: "4,900–5,000", "$255-$265", "139 to 143" is handled by the extractor ("between X and Y").
_RANGE_DASH = re.compile(r"^\s*[–—-]\s*\$?(?=\d)")

_PERCENT_AFTER = re.compile(r"^[ \t]?(?:%|percent\b|per\s?cent\b|pct\b|bps\b|basis\s+points?\b|percentage\s+points?\b|vol\b)", re.I)
# Dates, times and ratios written with digits: "2025-06-02", "12/01/2025", "10:30 ET", "3.3:1".
_DATE_TIME = re.compile(r"(?<![\w.,/:-])(?:\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?|\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})"
                        r"|\d{1,2}-\d{1,2}-(?:19|20)\d{2}"
                        r"|\d{1,2}:\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?|\d+(?:\.\d+)?:\d+(?:\.\d+)?)(?![\w/])", re.I)
# A price quoted for a commodity or a coin: "$60 oil", "$64 a barrel", "$3,400 an ounce", "$118,000 bitcoin".
_COMMODITY_AFTER = re.compile(
    r"^[ \t]?(?:a\s+|an\s+|per\s+)?(?:oil|crude|brent|wti|gold|silver|copper|gas|natgas|barrels?|bbl|ounces?|oz|"
    r"bitcoin|btc|ether|ethereum|troy)\b", re.I)
_OPTION_AFTER = re.compile(r"^[ \t]?-?\s?(?:delta|gamma|vega|dte|iv)\b", re.I)
_MULTIPLE_AFTER = re.compile(r"^(?:x\b|×|\s?times\b)", re.I)
_AMOUNT_AFTER = re.compile(r"^[ \t]?(?:billion|bn|million|mn|mln|trillion|tn|thousand|B\b|T\b)", re.I)
_PERIOD_AFTER = re.compile(
    r"^[ \t]?-?\s?(?:day|week|month|year|yr|session|hour|minute|min|quarter|decade|bar|period|dma|sma|ema|d\b|w\b|mo\b)s?\b",
    re.I,
)
_SCORE_AFTER = re.compile(r"^[ \t]?/\s?(?P<of>100|10|5)(?![\d,.])")
_SLASH_BEFORE = re.compile(r"(?P<n>\d+)\s?/\s?$")
_DECADE_AFTER = re.compile(r"^s\b")  # "the mid-50s", "the 1990s"
# "the $700 calls", "$2,200 strikes"; not the verb in "a break below $87 puts $85 in play".
_STRIKE_AFTER = re.compile(r"^[ \t]?(?:strikes?|calls?|puts?|call\s+strikes?|put\s+strikes?|contracts?)\b"
                           r"(?![ \t]+(?:the[ \t]+)?[$€£]?\d)(?![^.;]{0,40}\bin[ \t]+play\b)", re.I)
#: A preposition or a level's role word that puts an index level before "points": "falls under 47,500 points",
#: "target 46,900 points" (a change is written "up 1,200 points", "a 1,200-point drop").
_LEVEL_PREP_BEFORE = re.compile(r"\b(?:at|above|below|under|over|to|toward|near|around|of|through|beyond|target|"
                                r"targets|stop|support|resistance)\s+$", re.I)
_POINTS_AFTER = re.compile(r"^[ \t]?(?:points?|pts?|handles?|ticks?)\b(?!\s+(?:level|area|zone))", re.I)
_COUNT_AFTER = re.compile(
    r"^[ \t]?(?:stocks?|shares?|companies|names|funds|traders|jobs|people|members|days|weeks|months|years|"
    r"basis|times|cycles|sessions|trades|consecutive|straight|of\s+the|of\s+them|of\s+those|out\s+of|tonnes|tons|"
    r"metric\s+tons|"
    r"contracts|lots|units|subscribers|employees|members|points?\s+of)\b",
    re.I,
)
_INDICATOR_BEFORE = re.compile(
    r"\b(?:RSI|relative\s+strength\s+index|stochastics?|MACD|ADX|CCI|Williams\s+%R|put/call|P/E|PE|multiple|"
    r"overbought|oversold|breadth|advance/decline|Pulse|Threat\s+Level|score|rated|rating|grade|VIX|volatility\s+index|"
    r"implied\s+volatility|IV|beta|yield|yields|rates?|inflation|CPI|PCE|GDP|unemployment|payrolls?|readings)\b[^.;:!?\n]{0,40}$",
    re.I,
)
_MILESTONE_BEFORE = re.compile(r"\b(?:past|surpass(?:es|ed|ing)?|eclips(?:e|es|ed|ing)|topp(?:ed|ing))\s+(?:the\s+)?$", re.I)
_DATE_BEFORE = re.compile(_MONTHS + r"\.?\s+$", re.I)
_DATE_AFTER = re.compile(r"^(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}\b|^\s*" + _MONTHS + r"\b", re.I)
_YEAR_CONTEXT_BEFORE = re.compile(r"(?:\b(?:in|since|of|from|during|until|by|before|after|its|their|the|early|late|mid|pre|post|fiscal|FY|end\s+of)\s*-?\s*|-)$", re.I)
#: Words after a number that make it a price level: "the 2,100 level", "the 2050 pivot".
LEVEL_AFTER = re.compile(r"^[ \t]*(?:level|mark|line|handle|area|zone|threshold|pivot)\b", re.I)
# Level words right before a year-shaped number: "stop 1980", "target of 2050", "support near 1950".
_LEVEL_CUE_BEFORE = re.compile(
    r"\b(?:stop(?:s|[\s-]loss)?|targets?|support|resistance|floors?|ceilings?|entry|above|below|at)(?:\s*:)?\s+"
    r"(?:(?:at|of|near)\s+)?(?:the\s+)?$",
    re.I,
)
# Words after a year-shaped number that make it a year whatever came before: "above 2025 highs", "2025's".
_YEAR_AFTER = re.compile(r"^(?:'s\b|’s\b|\s+(?:highs?|lows?|peaks?|bottoms?|rally|selloff|sell-off|crash|crisis|election)\b)", re.I)
_ORDINAL_AFTER = re.compile(r"^(?:st|nd|rd|th)\b", re.I)
_MONEY_NOUN_AFTER = re.compile(
    r"^[ \t]?(?:loan|company|deal|fund|salary|budget|bonus|check|cheque|fine|settlement|valuation|market\s+cap|"
    r"investment|buyback|stake|acquisition|raise|round|revenue|profit|loss|debt|contract|grant|mortgage|"
    r"of\s+premium|premium|credit|debit|dividend|a\s+share\s+dividend|per\s+share|a\s+share)\b",
    re.I,
)

@dataclasses.dataclass(frozen=True)
class NumberMention:
    """A number found in a text: ``[start, end)`` span, value (and ``high`` for a range), kind.

    ``kind`` is ``level`` or ``range`` (price levels) or what else the number is: ``percent``,
    ``multiple``, ``amount``, ``period``, ``score``, ``date``, ``time``, ``ratio``, ``year``, ``indicator``,
    ``milestone``, ``strike``, ``option``, ``commodity``, ``points``, ``count``, ``decade``, ``ordinal``.
    """

    start: int
    end: int
    value: float
    kind: str
    high: float | None = None
    dollar: bool = False

    # Made ~25 times per article: filling __dict__ directly costs half of the generated frozen __init__'s
    # object.__setattr__ per field (the instance stays frozen: assigning a field still raises).
    def __init__(self, start: int, end: int, value: float, kind: str, high: float | None = None,
                 dollar: bool = False):
        fields = self.__dict__
        fields["start"] = start
        fields["end"] = end
        fields["value"] = value
        fields["kind"] = kind
        fields["high"] = high
        fields["dollar"] = dollar

    @property
    def is_level(self) -> bool:
        """True for price levels (``level`` or ``range``); every other kind is context."""
        return self.kind in ("level", "range")

    @property
    def values(self) -> list[float]:
        return [self.value] if self.high is None else [self.value, self.high]


def parse_number(token: str) -> float:
    """``"$2,080"`` → 2080.0, ``"1.35k"`` → 1350.0, ``"2.1K"`` → 2100.0, ``"−3.5"`` → -3.5.

    Raises ValueError for anything that is not one number (the error names the token).
    """
    match = _NUMBER.fullmatch(token.strip())
    if not match:
        raise ValueError(f"not a number: {token!r}")
    return _value(match)


def _value(match: re.Match) -> float:
    value = float(match["digits"].replace(",", "") + (match["frac"] or ""))
    suffix = (match["suffix"] or "").lower()
    if suffix == "k":
        value *= 1_000
    elif suffix == "m":
        value *= 1_000_000
    if match["sign"] in ("-", "−"):
        value = -value
    return value


def format_level(value: float) -> str:
    """The way articles write levels: ``2080`` → ``"2,080"``, ``141.06`` → ``"141.06"``."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) >= 1 else f"{value:g}"


def mask_names(text: str) -> str:
    """``text`` with the digits of index names blanked, same length: "Russell 2000" → "Russell NNNN".

    The digits become a *letter* so the name stays a plain word to the cue patterns: "Buy the Russell
    2000 above 2,700" must still read as "buy ... above 2,700" (a symbol like ``#`` would look like a
    number standing between the cue and its level).
    """
    return NAME_WITH_DIGITS.sub(lambda m: re.sub(r"\d", "N", m.group(0)), text)


def find_numbers(text: str, blank: Iterable[tuple[int, int]] = (), offset: int = 0) -> list[NumberMention]:
    """Every number in ``text`` with its kind, in order. Never raises; linear in the length of ``text``.

    ``blank`` spans (instrument names such as "ESM2025") are not read. Index names containing digits are
    skipped; dates, times and ratios written with digits are one non-level mention each; a dash between two
    levels makes one ``range`` mention (low, high) whichever order it is written in; a unit shared by a list
    ("$2,200 and $2,000 strikes", "between 3 and 4%") applies to each member. ``offset`` is added to every
    span (``text`` is a part of a longer text: the spans index that one).
    """
    blanked = sorted(blank)
    # Instrument names ("Russell 2000", "S&P 500") come blanked from the extractor; without them, mask every
    # index name with digits.
    masked = _blank_other_names(text) if blanked else mask_names(text)
    if blanked:
        pieces, pos = [], 0
        for start, end in blanked:
            if start >= pos:
                pieces.append(masked[pos:start])
                pieces.append(_digits_to_n_text(masked[start:end]))
                pos = end
        pieces.append(masked[pos:])
        masked = "".join(pieces)
    found: list[list] = []  # [start, end, value, kind, high, dollar]: NumberMentions are made once, at the end
    runs = [m.start() for m in _DIGIT_RUN.finditer(masked)]
    if ":" in masked or "/" in masked or "-" in masked:
        stamps = []
        for pos in runs:
            if stamps and pos < stamps[-1].end():
                continue
            m = _DATE_TIME.match(masked, pos) if _may_be_stamp(masked, pos) else None
            if m:
                stamps.append(m)
        if stamps:
            pieces, pos = [], 0
            for m in stamps:
                token = m.group(0)
                kind = "ratio" if _RATIO.fullmatch(token) and not _CLOCK.fullmatch(token) else (
                    "time" if ":" in token and "-" not in token else "date")
                found.append([m.start(), m.end(), 0.0, kind, None, False])
                pieces.append(masked[pos:m.start()])
                pieces.append("N" * (m.end() - m.start()))
                pos = m.end()
            pieces.append(masked[pos:])
            masked = "".join(pieces)
            runs = [m.start() for m in _DIGIT_RUN.finditer(masked)]
    raw: list[tuple[re.Match, float]] = []
    for match in _numbers_at(masked, runs):
        try:
            raw.append((match, _value(match)))
        except (ValueError, OverflowError):  # pragma: no cover - regex guarantees digits
            continue
    i = 0
    while i < len(raw):
        match, value = raw[i]
        start, end = match.start(), match.end()
        hyphen = bool(match["sign"]) and start > 0 and masked[start - 1].isalnum()
        if hyphen:  # "1-2", "sub-$87": the dash is a hyphen, not a sign
            start += 1
            value = abs(value)
        kind = _classify(masked, match, value, hyphen)
        high = None
        # "4,900–5,000", "4,900 - 5,000", "141.80–139.60": one range when both sides are levels. A hyphen with
        # spaces on both sides was read as the next number's sign ("-5,000"); it is the range dash.
        if kind == "level" and i + 1 < len(raw):
            nxt, nxt_value = raw[i + 1]
            gap = masked[end:nxt.start()]
            spaced_dash = (nxt["sign"] in ("-", "−") and gap.isspace() and 0 < len(gap) <= 2
                           and masked[nxt.start() + 1:nxt.start() + 2].isspace())
            glued_dash = nxt["sign"] in ("-", "−") and gap == ""
            if spaced_dash or glued_dash or (_RANGE_GAP.fullmatch(gap) and not nxt["sign"]):
                nxt_value = abs(nxt_value)
                nxt_kind = _classify(masked, nxt, nxt_value, True)
                if nxt_kind == "level" and nxt_value != value and value > 0 and _same_scale(value, nxt_value):
                    value, high = min(value, nxt_value), max(value, nxt_value)
                    end, kind = nxt.end(), "range"
                    i += 1
                elif nxt_kind in _SHARED_UNIT_KINDS and not spaced_dash:
                    kind = nxt_kind  # "3-4%": the unit after the range applies to both ends
        found.append([start, end, abs(value) if kind in ("level", "range") else value, kind, high,
                      bool(match["dollar"])])
        i += 1
    found.sort(key=_start_of)
    _share_units(masked, found)
    return [NumberMention(start + offset, end + offset, value, kind, high, dollar)
            for start, end, value, kind, high, dollar in found]


_RATIO = re.compile(r"\d+(?:\.\d+)?:\d+(?:\.\d+)?")
_CLOCK = re.compile(r"\d{1,2}:\d{2}")
_RANGE_GAP = re.compile(r"\s?(?:[–—][ \t]*|-\s?)[$€£]?")  # ("&ndash;" in a page: a dash and six blanks)
_ASCII_DIGITS_TO_N = str.maketrans("0123456789", "NNNNNNNNNN")
_STAMP_MARKS = ":/-"


def _start_of(item: list) -> int:
    return item[0]


def _digits_to_n_text(text: str) -> str:
    r"""``re.sub(r"\d", "N", text)``: by a character table when the text is ASCII."""
    return text.translate(_ASCII_DIGITS_TO_N) if text.isascii() else re.sub(r"\d", "N", text)


def _blank_other_names(text: str) -> str:
    r"""``_OTHER_NAMES_WITH_DIGITS.sub(_digits_to_n, text)``. The leading ``\b`` is checked here: every
    alternative starts with a word character, so it holds where the character before is none."""
    pieces: list[str] = []
    pos = at = 0
    while (m := _OTHER_NAMES_BODY.search(text, at)) is not None:
        start = m.start()
        if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
            at = start + 1
            continue
        pieces.append(text[pos:start])
        pieces.append(_digits_to_n(m))
        pos = at = m.end()
    if not pieces:
        return text
    pieces.append(text[pos:])
    return "".join(pieces)


def _may_be_stamp(text: str, pos: int) -> bool:
    """False when ``_DATE_TIME`` cannot match at ``pos``: each of its forms has a ":", "/" or "-" after a
    short run of digits (a ratio's run may be longer: then the digits and points reach past the window)."""
    window = text[pos:pos + 24]
    if ":" in window or "/" in window or "-" in window:
        return True
    return not window.isascii() or not window.strip("0123456789.")


_DIGIT_RUN = re.compile(r"\d(?<![\d,.]\d)")  # the digit first: the regex engine then skips to digits fast


def _numbers_at(text: str, runs: list[int]):
    """``_NUMBER`` matches, found from the digit runs (with the sign or currency just before them): the same
    matches as ``_NUMBER.finditer(text)``, without trying the pattern at every character."""
    end = 0
    for pos in runs:
        if pos < end:
            continue
        for back in (3, 2, 1, 0):  # "- $87", "-$87", "$87", "87"
            start = pos - back
            if start < end or start < 0 or (back and text[start] not in _SIGN_OR_CURRENCY):
                continue  # (a match that starts before the digits starts with a sign or a currency)
            m = _NUMBER.match(text, start)
            if m and m.start("digits") == pos:
                yield m
                end = m.end()
                break


_SIGN_OR_CURRENCY = "+-−$€£"


def _digits_to_n(m: re.Match) -> str:
    return re.sub(r"\d", "N", m.group(0))


def _same_scale(a: float, b: float) -> bool:
    """Two ends of one zone are within 25% of each other ("5,960–5,977"); "2024-2026" or "10-2,500" are not."""
    return max(a, b) <= 1.25 * min(a, b)


_LIST_JOIN = re.compile(r"^\s*(?:,\s*|\band\b|\bor\b|,\s*and\b|,\s*or\b)\s*$", re.I)
_SHARED_UNIT_KINDS = ("strike", "amount", "percent", "multiple", "points")


def _share_units(text: str, found: list[list]) -> None:
    """Give list members the unit of the list's last member: "$2,200 and $2,000 strikes" (``found``: the
    ``[start, end, value, kind, high, dollar]`` items of :func:`find_numbers`)."""
    for idx in range(len(found) - 2, -1, -1):
        cur, nxt = found[idx], found[idx + 1]
        if cur[3] == "level" and nxt[3] in _SHARED_UNIT_KINDS and _LIST_JOIN.match(text[cur[1]:nxt[0]]):
            cur[3] = nxt[3]


def _classify(text: str, match: re.Match, value: float, unsigned: bool = False) -> str:
    start, end = match.start(), match.end()
    if unsigned and match["sign"]:
        start += 1
    after = text[end:end + 40]
    before = text[max(0, start - 60):start]
    has_dollar = bool(match["dollar"])
    if value <= 0 and unsigned:
        value = abs(value)
    has_sep = "," in match["digits"]
    has_suffix = bool(match["suffix"])
    # Most numbers are levels, with none of the words after them that make something else of a number:
    # one look at all those words first (the checks below stay in their order; see _AFTER_ANY).
    first = after[:1]
    if first in _NO_WORDS_AFTER:  # a quarter of the numbers: "$87.", "$87;", "6,100–6,150", "87)"
        words_after = False
    elif first == ",":  # "$87, $90": of the "after" patterns only the year of a date can follow a comma
        words_after = _DATE_AFTER.match(after) is not None
    else:
        words_after = _AFTER_ANY.match(after) is not None
    if words_after:
        score = _SCORE_AFTER.match(after)
        if score and value <= int(score["of"]):
            return "score"  # "74/100", "3/5"
    slash = _SLASH_BEFORE.search(before[-10:]) if "/" in before[-10:] else None
    if slash and (value <= 31 or int(slash["n"]) <= 100 and value in (5, 10, 100)):
        return "score" if value in (5, 10, 100) else "date"  # the "/100" of "74/100", the "/2" of "3/2"
    if words_after:
        if _PERCENT_AFTER.match(after):
            return "percent"
        if _MULTIPLE_AFTER.match(after):
            return "multiple"
        if _AMOUNT_AFTER.match(after):
            return "amount"
        if _DECADE_AFTER.match(after):
            return "decade"
        if _PERIOD_AFTER.match(after):
            return "period"
    if value < 32 and not has_dollar and not match["frac"] and _DATE_BEFORE.search(before[-12:]):
        return "date"
    if words_after:
        if not has_dollar and not has_sep and not match["frac"] and _DATE_AFTER.match(after) and value < 32:
            return "date"
        if _ORDINAL_AFTER.match(after):
            return "ordinal"
        if _STRIKE_AFTER.match(after):
            return "strike"
    if has_suffix and has_dollar and ((words_after and _MONEY_NOUN_AFTER.match(after))
                                      or re.search(r"\b(?:an?|potential)\s+\$?$", before, re.I)):
        return "amount"  # "a $50K loan", "a $9M deal"
    if words_after:
        if has_dollar and _MONEY_NOUN_AFTER.match(after):
            return "amount"
        if _COMMODITY_AFTER.match(after):
            return "commodity"
        if _OPTION_AFTER.match(after):
            return "option"
        if _POINTS_AFTER.match(after) and not has_dollar and not (
                before.endswith(("the ", "The ")) and after.lstrip()[:6].lower() == "handle") and not (
                value >= 1000 and _LEVEL_PREP_BEFORE.search(before[-16:])):  # "under 47,500 points": an index level
            return "points"  # (but "the 68 handle" is a level: the price 68-and-change, in traders' slang)
    if match["sign"] == "+" and not unsigned:
        return "points"  # "+25": a change, not a level
    if start and text[start - 1] == "#" and not has_dollar:
        return "count"  # "Signal #419", "#2 pick": a label's number
    if not has_dollar and not has_sep and not match["frac"] and not has_suffix and 1900 <= value <= 2100:
        # Year or level? A level word next to it ("stop 1980", "the 2100 level") makes it a level unless
        # a year noun follows ("above 2025 highs"); otherwise year context or no price preposition → year.
        level_cue = LEVEL_AFTER.match(after) or _LEVEL_CUE_BEFORE.search(before)
        price_prep = re.search(r"\b(?:at|above|below|to|near|under|over|toward|towards|around|through|of)\s+(?:the\s+)?$", before, re.I)
        if _YEAR_AFTER.match(after) or (not level_cue and (_YEAR_CONTEXT_BEFORE.search(before) or not price_prep)):
            return "year"
    low = before.lower()
    if ("past" in low or "surpass" in low or "eclips" in low or "topp" in low) and _MILESTONE_BEFORE.search(before[-30:]):
        return "milestone"
    if not has_dollar and _INDICATOR_KEY.search(low) and _INDICATOR_BEFORE.search(before):
        return "indicator"
    if words_after and _COUNT_AFTER.match(after) and not has_dollar:
        return "count"
    if value <= 0:
        return "points"
    if not has_dollar and not has_sep and not match["frac"] and not has_suffix and value < 10:
        return "count"  # "3 names", "two" : single digits without $ are never levels here
    return "level"


def _any_of(*patterns: re.Pattern) -> re.Pattern:
    """One pattern matching where any of ``patterns`` matches (each keeps its own flags)."""
    return re.compile("|".join(f"(?{'i' if p.flags & re.I else ''}:{p.pattern})" for p in patterns))


#: Matches at the start of the text after a number when one of the "after" patterns of _classify does.
_AFTER_ANY = _any_of(_SCORE_AFTER, _PERCENT_AFTER, _MULTIPLE_AFTER, _AMOUNT_AFTER, _DECADE_AFTER, _PERIOD_AFTER,
                     _DATE_AFTER, _ORDINAL_AFTER, _STRIKE_AFTER, _MONEY_NOUN_AFTER, _COMMODITY_AFTER, _OPTION_AFTER,
                     _POINTS_AFTER, _COUNT_AFTER)
#: Characters none of the patterns of _AFTER_ANY can start with: each starts with white space, a letter,
#: "%", "/", "×", "-" or (a date's year) ",". Digits and ASCII punctuation only (no case folding or white
#: space can make one of them match), so skipping the match for them changes nothing.
_NO_WORDS_AFTER = frozenset("0123456789.;:)(]['\"!?$#&*+<=>@\\^_`{|}~–—")
#: ``any(key in text for key in _INDICATOR_KEYS)`` as one search.
_INDICATOR_KEY = re.compile("|".join(re.escape(k) for k in _INDICATOR_KEYS))
