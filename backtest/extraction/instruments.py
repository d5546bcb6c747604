"""Instrument resolution: the words an article uses ("the Russell", "small caps", "S&P 500") → a symbol.

An alias names a *family* of candidate series (``small-caps``: the index ``^RUT`` and its ETF ``IWM``).
Which candidate a level belongs to is decided by **price magnitude at publication**: "2,080" is an
index level, "$255" an ETF price. :func:`resolve` picks the candidate whose last close before
publication is nearest to the level (smallest ``|log(level / close)|``). A ticker written out ("IWM")
pins the symbol. Without a level (pairs, "long S&P 500, short IWM") the family's tradeable ETF is used.

Families without a series here ("MSCI Europe Small Cap index", "FTSE 100", gold ...) resolve to
``None`` with a reason, so the caller keeps the setup as ``status: unresolved`` instead of dropping it.

Prices come from an injected ``price_lookup(symbol, published) -> close | None`` so tests pass lambdas;
:func:`market_price_lookup` adapts :func:`backtest.data.load.last_close_before` (offline sources only).
A candidate with no close available is compared at its :data:`TYPICAL_CLOSE` (rough early-2026
magnitudes) instead, which is enough to tell an index from its ETF (they differ ~10x); the note says
which prices were typical.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from typing import Callable, Iterable

PriceLookup = Callable[[str, "dt.datetime | dt.date"], "float | None"]


@dataclasses.dataclass(frozen=True)
class Family:
    """A tradeable idea with its candidate series (index first, then ETF) and what a stance call scores."""

    key: str
    name: str
    candidates: tuple[str, ...]
    tradeable: str | None
    subject: tuple[str, ...] = ()

    @property
    def resolvable(self) -> bool:
        return bool(self.candidates)


FAMILIES: dict[str, Family] = {f.key: f for f in (
    Family("small-caps", "Russell 2000 / US small caps", ("^RUT", "IWM"), "IWM", ("IWM", "^RUT")),
    Family("sp500", "S&P 500", ("^GSPC", "SPY"), "SPY", ("SPY", "^GSPC")),
    Family("dow", "Dow Jones Industrial Average", ("^DJI", "DIA"), "DIA", ("DIA", "^DJI")),
    Family("nasdaq", "Nasdaq 100", ("^NDX", "QQQ"), "QQQ", ("QQQ", "^NDX")),
    Family("vix", "CBOE Volatility Index", ("^VIX",), "^VIX", ("^VIX",)),
    Family("tech", "Technology Select Sector SPDR", ("XLK",), "XLK", ("XLK",)),
    Family("energy", "Energy Select Sector SPDR", ("XLE",), "XLE", ("XLE",)),
    Family("utilities", "Utilities Select Sector SPDR", ("XLU",), "XLU", ("XLU",)),
    Family("health", "Health Care Select Sector SPDR", ("XLV",), "XLV", ("XLV",)),
    # No series for these here: kept and reported as unresolved, never dropped.
    Family("eu-small-caps", "MSCI Europe Small Cap Index", (), None),
    Family("msci", "an MSCI index", (), None),
    Family("europe", "European equity index", (), None),
    Family("asia", "Asian equity index", (), None),
    Family("commodity", "commodity", (), None),
    Family("crypto", "crypto asset", (), None),
    Family("rates", "interest rate / bond yield", (), None),
    Family("other", "a ticker with no series here", (), None),
)}

# (pattern, family key, pinned symbol). Case-sensitive unless the pattern says (?i); longest match wins
# at a position, and the leftmost match wins overall, so "European small caps" never reads as US small caps.
_ALIASES: list[tuple[str, str, str | None]] = [
    (r"(?i:MSCI\s+Europe\s+Small[\s-]?Cap(?:\s+Index)?)", "eu-small-caps", None),
    (r"(?i:European\s+small[\s-]?caps?(?:\s+(?:stocks|index|indices))?)", "eu-small-caps", None),
    (r"(?i:Europe(?:an)?\s+small[\s-]?cap\s+(?:stocks|index|indices|equities))", "eu-small-caps", None),
    (r"MSCI(?:\s+[A-Z][\w-]*)*(?:\s+(?i:index))?", "msci", None),
    (r"(?i:Russell\s*2000|Russell\s+2K|Russell(?!\s+(?:1000|3000)))(?:\s+(?i:index))?", "small-caps", None),
    (r"\^RUT\b|\bRUT\b|\bRTY\b", "small-caps", "^RUT"),
    (r"\bIWM\b|(?i:iShares\s+Russell\s+2000(?:\s+ETF)?)", "small-caps", "IWM"),
    (r"(?i:small[\s-]?caps?\s+ETFs?|small[\s-]cap\s+(?:ETFs?|funds?))", "small-caps", "IWM"),
    (r"(?i:(?:US\s+|U\.S\.\s+)?small[\s-]?caps?(?:\s+(?:stocks|index|equities|names))?|small[\s-]cap\s+(?:stocks|index|equities|space|arena|rally|names))", "small-caps", None),
    (r"S\s?&\s?P\s?500(?:\s+(?i:index))?|S&P(?!\s?\d)|\bSPX\b|\bSP500\b|\bsp500\b|(?i:large[\s-]caps?(?:\s+stocks)?)", "sp500", None),
    (r"\^GSPC\b", "sp500", "^GSPC"),
    (r"\bSPY\b|\bVOO\b|\bIVV\b", "sp500", "SPY"),
    (r"Dow\s+Jones(?:\s+Industrial\s+Average)?|\bDow\b(?!\s+Chemical)|\bDJIA\b", "dow", None),
    (r"\^DJI\b", "dow", "^DJI"),
    (r"\bDIA\b", "dow", "DIA"),
    (r"Nasdaq(?:[\s-]?100)?(?:\s+(?i:composite|index))?|\bNDX\b", "nasdaq", None),
    (r"\^NDX\b", "nasdaq", "^NDX"),
    (r"\bQQQ\b", "nasdaq", "QQQ"),
    (r"\^VIX\b|\bVIX\b|(?i:CBOE\s+volatility\s+index)", "vix", "^VIX"),
    (r"\bXLK\b|(?i:Technology\s+Select\s+Sector(?:\s+SPDR)?)", "tech", "XLK"),
    (r"\bXLE\b|(?i:Energy\s+Select\s+Sector(?:\s+SPDR)?)", "energy", "XLE"),
    (r"\bXLU\b|(?i:Utilities\s+Select\s+Sector(?:\s+SPDR)?)", "utilities", "XLU"),
    (r"\bXLV\b|(?i:Health\s+Care\s+Select\s+Sector(?:\s+SPDR)?)", "health", "XLV"),
    (r"FTSE(?:\s+100)?|\bDAX\b|CAC\s+40|(?:Euro\s+)?Stoxx(?:\s+\d+)?|(?i:STOXX)", "europe", None),
    (r"Nikkei(?:\s+225)?|Hang\s+Seng|\bKOSPI\b|\bTopix\b", "asia", None),
    (r"\b(?i:gold|silver|crude(?:\s+oil)?|WTI|Brent|copper|natural\s+gas)\b", "commodity", None),
    (r"(?i:bitcoin|ethereum|\bBTC\b|\bETH\b)", "crypto", None),
    (r"(?i:10-year\s+(?:Treasury\s+)?yield|Treasury\s+yields?|2-year\s+yield)", "rates", None),
]
# Any other ticker-looking word ("NVDA", "$TSLA", "(KO)") is an instrument we have no series for: a level
# next to it must not be credited to a known index. Common capitalised non-tickers are excluded.
_NOT_TICKERS = {
    "ETF", "ETFS", "US", "USA", "UK", "EU", "AI", "CEO", "CFO", "IPO", "GDP", "CPI", "PCE", "PPI", "FOMC", "FED", "RSI",
    "MACD", "ADX", "EPS", "PE", "TGA", "QE", "QT", "ATH", "YTD", "YOY", "MOM", "FOMO", "YOLO", "OK", "TV", "CNBC",
    "WSJ", "NYSE", "SEC", "IMF", "ECB", "BOJ", "BOE", "OPEC", "ISM", "PMI", "NFP", "USD", "EUR", "JPY", "GBP", "CNY",
    "UTC", "GMT", "ET", "EST", "EDT", "AM", "PM", "AUM", "NAV", "IV", "VWAP", "SMA", "EMA", "MA", "DMA", "ROI", "IT",
    "II", "III", "IV", "THE", "AND", "FOR", "NOT", "BUT", "ALL", "NEW", "NOW", "ONE", "TWO", "ARE", "DXY", "OTC", "CBOE",
    "CME", "SPDR", "NASDAQ", "DOW", "MSCI", "FTSE", "DAX", "STOXX", "WTI", "BTC", "ETH", "SPX", "NDX", "RUT", "RTY",
    "DJIA", "OI", "PT", "TP", "SL", "LONG", "SHORT", "BUY", "SELL", "HOLD", "RISK", "NOTE", "ESG", "REIT", "REITS",
    "LLC", "INC", "CO", "LTD", "PLC", "COVID", "NATO", "WHO", "GOP", "DOJ", "FDA", "FTC", "EV", "EVS", "HFT", "CTA", "CTAS", "ADR", "SPAC", "BPS", "YOY", "QOQ", "ISM", "JOLTS", "ADP", "BLS", "CBO", "FDIC",
}
_ALIASES.append((r"(?<![\w^])\$?[A-Z]{2,5}(?![\w&-])", "other", None))
_ALIAS_RES = [(re.compile(p), fam, pin) for p, fam, pin in _ALIASES]

#: Rough closes (early 2026) used only when no bars are available, to tell an index from its ETF.
TYPICAL_CLOSE: dict[str, float] = {
    "^GSPC": 6900.0, "SPY": 690.0, "^RUT": 2600.0, "IWM": 260.0, "^DJI": 49000.0, "DIA": 490.0,
    "^NDX": 25000.0, "QQQ": 610.0, "^VIX": 17.0, "XLK": 142.0, "XLE": 45.0, "XLU": 43.0, "XLV": 150.0,
}

#: Tags (``#sp500``) and title words that name an article's subject family.
_TAG_FAMILY = {
    "small-caps": "small-caps", "smallcaps": "small-caps", "small-cap": "small-caps", "russell-2000": "small-caps",
    "russell2000": "small-caps", "iwm": "small-caps", "sp500": "sp500", "s-p-500": "sp500", "spx": "sp500",
    "spy": "sp500", "dow": "dow", "dow-jones": "dow", "djia": "dow", "nasdaq": "nasdaq", "qqq": "nasdaq",
    "vix": "vix", "xlk": "tech", "tech-sector": "tech", "xle": "energy", "xlu": "utilities", "xlv": "health",
}


@dataclasses.dataclass(frozen=True)
class Mention:
    """An instrument named in the text: ``[start, end)``, the words used, its family and any pinned ticker."""

    start: int
    end: int
    words: str
    family: str
    pinned: str | None = None

    @property
    def resolvable(self) -> bool:
        return FAMILIES[self.family].resolvable


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The outcome for one mention: a symbol (or None), ``ok``/``unresolved`` and why."""

    symbol: str | None
    status: str
    note: str


def find_mentions(text: str, offset: int = 0) -> list[Mention]:
    """Every instrument mention in ``text`` (leftmost-longest, non-overlapping), offsets shifted by ``offset``."""
    hits: list[tuple[int, int, int, str, str | None]] = []
    for priority, (rx, fam, pin) in enumerate(_ALIAS_RES):
        for m in rx.finditer(text):
            if m.end() > m.start():
                hits.append((m.start(), -m.end(), priority, fam, pin))
    hits.sort(key=lambda h: h[:3])
    out: list[Mention] = []
    last_end = -1
    for start, neg_end, _, fam, pin in hits:
        end = -neg_end
        if start < last_end:
            continue
        words = text[start:end].strip()
        if fam == "other" and words.lstrip("$").upper() in _NOT_TICKERS:
            continue
        out.append(Mention(start + offset, end + offset, words, fam, pin))
        last_end = end
    return out


def family_of(words: str) -> Mention | None:
    """The mention for a phrase on its own ("S&P 500" → sp500), or None when nothing matches."""
    found = find_mentions(words)
    return found[0] if found else None


def tradeable_symbol(mention: Mention) -> str | None:
    """The symbol a level-less trade (a pair leg, a market entry) uses: the pinned ticker or the family ETF."""
    return mention.pinned or FAMILIES[mention.family].tradeable


def resolve(
    mention: Mention,
    level: float | None,
    published: dt.datetime | dt.date | None,
    price_lookup: PriceLookup | None = None,
) -> Resolution:
    """The symbol for ``mention`` at ``level`` (see module docstring); never raises."""
    family = FAMILIES[mention.family]
    if not family.resolvable:
        return Resolution(None, "unresolved", f"no price series for {mention.words!r} ({family.name}) here")
    if mention.pinned:
        return Resolution(mention.pinned, "ok", f"ticker {mention.pinned} named in the text")
    if level is None or len(family.candidates) == 1:
        symbol = family.tradeable or family.candidates[0]
        return Resolution(symbol, "ok", f"{mention.words!r} without a level trades as {symbol}")
    symbol, how = nearest_by_magnitude(level, family.candidates, published, price_lookup)
    return Resolution(symbol, "ok", how)


def nearest_by_magnitude(
    level: float,
    candidates: Iterable[str],
    published: dt.datetime | dt.date | None,
    price_lookup: PriceLookup | None,
) -> tuple[str, str]:
    """The candidate whose close before ``published`` is nearest to ``level`` in log terms, and a note."""
    candidates = list(candidates)
    closes: dict[str, float] = {}
    if price_lookup is not None and published is not None:
        for symbol in candidates:
            try:
                close = price_lookup(symbol, published)
            except Exception:  # noqa: BLE001 - a data hiccup must not stop extraction; fall back below
                close = None
            if close is not None and close > 0 and math.isfinite(close):
                closes[symbol] = float(close)
    # A candidate without a close is compared at its typical price, never left out: with only IWM
    # cached, 2,080 must not go to IWM just because ^RUT had no bars.
    typical = [s for s in candidates if s not in closes and s in TYPICAL_CLOSE]
    for symbol in typical:
        closes[symbol] = TYPICAL_CLOSE[symbol]
    if not typical:
        basis = "last close before publication"
    elif len(typical) == len(closes):
        basis = "typical magnitude (no bars available)"
    else:
        basis = f"last close before publication; typical magnitude for {', '.join(typical)} (no bars available)"
    if not closes:
        return candidates[0], "no price to compare with; took the first candidate"
    best = min(closes, key=lambda s: abs(math.log(level / closes[s])))
    others = ", ".join(s for s in closes if s != best)
    shown = f" rather than {others}" if others else ""
    return best, f"level {level:,.10g} is nearest in magnitude to {best}{shown} ({basis})"


def subject_of(title: str | None, tags: Iterable[str], text: str) -> list[str]:
    """Symbols an article's stance is about: first subject tag, else first family in the title, else most mentioned."""
    for tag in tags:
        fam = _TAG_FAMILY.get(tag.lower())
        if fam:
            return list(FAMILIES[fam].subject)
    if title:
        for mention in find_mentions(title):
            if FAMILIES[mention.family].subject:
                return list(FAMILIES[mention.family].subject)
    counts: dict[str, int] = {}
    first: dict[str, int] = {}
    for mention in find_mentions(text):
        if FAMILIES[mention.family].subject:
            counts[mention.family] = counts.get(mention.family, 0) + 1
            first.setdefault(mention.family, mention.start)
    if not counts:
        return []
    best = max(counts, key=lambda f: (counts[f], -first[f]))
    return list(FAMILIES[best].subject)


def market_price_lookup(config=None) -> PriceLookup:
    """A ``price_lookup`` over :func:`backtest.data.load.last_close_before`, offline sources only.

    Extraction never downloads: with no cache or mirror the lookup answers None and :func:`resolve`
    falls back to :data:`TYPICAL_CLOSE`.
    """
    memo: dict[tuple[str, object], float | None] = {}

    def lookup(symbol: str, published: dt.datetime | dt.date) -> float | None:
        key = (symbol, published)
        if key not in memo:
            try:
                from ..config import load_config
                from ..data.load import last_close_before

                cfg = (config or load_config()).with_overrides(offline=True)
                hit = last_close_before(symbol, published, cfg)
                memo[key] = float(hit[1]) if hit else None
            except Exception:  # noqa: BLE001 - missing data layer or data: fall back to magnitudes
                memo[key] = None
        return memo[key]

    return lookup
