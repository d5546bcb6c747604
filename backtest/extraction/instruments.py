"""Instrument resolution: the words an article uses ("the Russell", "small caps", "ESM2025", "$TSLA") → a symbol.

The table is data: ``instruments.yaml`` next to this module (format documented at its top), plus any files
named by ``backtest.toml`` (``[instruments] aliases = "my_instruments.yaml"``), merged in order so a user's
entry wins. :func:`load_table` compiles it once per process.

An alias names a *family* of candidate series (``small-caps``: the index ``^RUT`` and its ETF ``IWM``).
Which candidate a level belongs to is decided by **price magnitude at publication**: "2,080" is an index
level, "$255" an ETF price. :func:`resolve` picks the candidate whose last close before publication is
nearest to the level (smallest ``|log(level / close)|``). A ticker written out ("IWM") pins the symbol.
Without a level (pairs, "long S&P 500, short IWM") the family's tradeable ETF is used. Any other ticker
("NVDA", "$TSLA", "Visa (V)") is its own symbol; futures roots and contracts ("ES", "ESM2025", "/NQ") are
the Yahoo continuous contracts (``ES=F``). Families without a series here ("MSCI Europe Small Cap index",
"FTSE 100", gold spot ...) resolve to ``None`` with a reason, so the caller keeps the setup as ``status:
unresolved`` with its words instead of dropping it or guessing.

Prices come from an injected ``price_lookup(symbol, published) -> close | None`` so tests pass lambdas;
:func:`market_price_lookup` adapts :func:`backtest.data.load.last_close_before` (offline sources only).
A candidate with no close available is compared at its ``typical`` close from the table (rough magnitudes)
instead, which is enough to tell an index from its ETF (they differ ~10x); the note says which prices were
typical.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

import yaml

from .phrasebook import Tokens, _expand, base_view, build_trie

PriceLookup = Callable[[str, "dt.datetime | dt.date"], "float | None"]
TABLE = Path(__file__).with_name("instruments.yaml")
#: A user's alias file larger than this is refused (it is read whole, and compiled into one pattern).
MAX_ALIAS_BYTES = 2 * 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Family:
    """A tradeable idea with its candidate series (index first, then ETF) and what a stance call scores."""

    key: str
    name: str
    candidates: tuple[str, ...]
    tradeable: str | None
    subject: tuple[str, ...] = ()
    ignore: bool = False

    @property
    def resolvable(self) -> bool:
        return bool(self.candidates)


@dataclasses.dataclass(frozen=True)
class Mention:
    """An instrument named in the text: ``[start, end)``, the words used, its family and any pinned symbol."""

    start: int
    end: int
    words: str
    family: str
    pinned: str | None = None
    resolvable: bool = True
    how: str | None = None  # how a ticker or contract was read, for the setup's note

    # Made ~15 times per article: filling __dict__ directly costs half of the generated frozen __init__'s
    # object.__setattr__ per field (the instance stays frozen: assigning a field still raises).
    def __init__(self, start: int, end: int, words: str, family: str, pinned: str | None = None,
                 resolvable: bool = True, how: str | None = None):
        fields = self.__dict__
        fields["start"] = start
        fields["end"] = end
        fields["words"] = words
        fields["family"] = family
        fields["pinned"] = pinned
        fields["resolvable"] = resolvable
        fields["how"] = how


@dataclasses.dataclass(frozen=True)
class Resolution:
    """The outcome for one mention: a symbol (or None), ``ok``/``unresolved`` and why."""

    symbol: str | None
    status: str
    note: str


#: A contract month right after a futures root ("GC DEC", "ES Sep '26", "CL November 2026").
_CONTRACT_MONTH_AFTER = re.compile(
    r"[ \t]+(?:JAN|FEB|MAR|APR|MAY|JUNE?|JULY?|AUG|SEPT?|OCT|NOV|DEC|Jan|Feb|Mar|Apr|May|June?|July?|Aug|Sept?|Oct|Nov|"
    r"Dec|January|February|March|April|August|September|October|November|December)\.?(?:[ \t]+'?(?:20)?\d{2})?(?![\w'])")
_TICKER = re.compile(
    r"(?<![\w^$/.=&'’-])(?:"
    r"\$(?P<cash>[A-Za-z]{1,6}(?:\.[A-Za-z])?)(?![\w&])"
    r"|\^(?P<caret>[A-Z]{2,6})(?![\w&])"
    r"|/(?P<slash>[A-Z0-9]{1,3})(?![\w/&])"
    r"|(?P<root>[A-Z0-9]{1,3}?)(?P<month>[FGHJKMNQUVXZ])(?P<year>\d{4}|\d{2}|\d)(?![\w&])"
    r"|(?P<cont>[A-Z0-9]{1,3})1!"
    r"|(?P<eqf>[A-Z0-9]{1,3})=F(?![\w&])"
    r"|(?P<word>[A-Z]{2,5}(?:\.[A-Z])?|M2K|6[A-Z])(?![\w&])"
    r")"
)
#: "Visa (V)": the letters in brackets (group ``paren``; the match starts at the opening bracket).
_PAREN_TICKER = re.compile(r"\((?P<paren>[A-Z]{1,5})(?=\))")
#: Where a ticker can start, with the look at the next characters that _may_be_ticker makes, widened to
#: any non-ASCII character (left to it): a capital needs a capital, a digit or "=" after it, a digit a
#: capital, "!" or "=" within four characters. Most capitals open a plain word ("The", "Buy") and most
#: digits a number: they are passed over here, in C.
_TICKER_START = re.compile(r"[$^/A-Z0-9](?<![\w^$/.=&'’-][$^/A-Z0-9])(?<![A-Za-z0-9][A-Za-z0-9])"
                           r"(?:(?<=[$^/])|(?<=[A-Z])(?=[A-Z0-9=]|[^\x00-\x7f])"
                           r"|(?<=[0-9])(?=[^A-Z!=\x80-\U0010ffff]{0,3}[A-Z!=\x80-\U0010ffff]))")


#: A lower-case ticker opening a line, right before a side word and a level ("nvda long 182.5 sl 176 tp 195").
_LOWER_TICKER_AT = re.compile(r"[ \t>*•-]*\$?(?P<low>[a-z]{2,5})(?=[ \t]+(?:long|short|buy|sell)[ \t:@]*\$?\d)")
#: The same after a line break (a literal first: the regex engine skips to line breaks fast).
_LOWER_TICKER = re.compile(r"\n" + _LOWER_TICKER_AT.pattern)
#: Words that open such a line in chat without being a ticker ("stay long 600", "went short 25").
_NOT_LOWER_TICKERS = frozenset(
    "go get got stay be been is im am are was were went not too how so as very way cut sold still also now will "
    "to may must can we and then or just dont wont cant did do you they he she it me my our your all more less no "
    "yes the an for but if when once into at on in of back flip flat both add size half full new only max".split())


_CAPITAL_WORD = re.compile(r"\b[A-Z]{2,}\b")
#: ISO currency codes: written right before a number they are its unit ("NOK 212", "SEK 95.50"), not a ticker.
CURRENCY_CODES = frozenset("USD EUR GBP JPY CHF CAD AUD NZD CNY CNH HKD SGD NOK SEK DKK ISK PLN CZK HUF RON TRY "
                            "ZAR MXN BRL CLP COP PEN ARS INR IDR KRW TWD THB MYR PHP ILS AED SAR".split())
_NUMBER_NEXT = re.compile(r"[ \t]?\d")
_TRIGGER_WORDS = frozenset({"ABOVE", "BELOW", "OVER", "UNDER", "AT", "ABV", "BLW", "NEAR", "THROUGH"})
#: An alert service's "above"/"below" right before a level: a trigger, not a ticker.
_TRIGGER_SHORTHAND = frozenset({"ABV", "BLW"})
#: The side words of a shouted alert, beside which an unknown capital word is a ticker ("BUY SOFI 8.50").
_SIDE_WORDS = frozenset({"BUY", "SELL", "SHORT", "LONG", "COVER", "BTO", "STO", "STC", "BTC", "ADD", "TRIM", "EXIT"})
_NUMBER_BEFORE = re.compile(r"\d[ \t]?\(?[ \t]?\Z")  # "142 NOK", "142 (NOK"


def _may_be_ticker(text: str, at: int, end: int) -> bool:
    """False when ``_TICKER`` cannot match at ``at`` (a cheap look at the next characters): after a capital
    it needs a capital, a digit or "=" ("IWM", "ES=F", "M2K", "X1!", "ESM25"); after a digit (a root such as
    "6E", "6EZ5") a capital, "!" or "=" within the next four characters."""
    first = text[at]
    if first in "$^/":
        return True
    if first.isdigit():
        nxt = text[at + 1:min(at + 5, end)]
        return nxt.lower() != nxt or "!" in nxt or "=" in nxt
    nxt = text[at + 1:at + 2] if at + 1 < end else ""
    return nxt.isupper() or nxt.isdigit() or nxt == "="


class InstrumentTable:
    """The compiled alias table: families, futures roots, ticker rules (see ``instruments.yaml``)."""

    def __init__(self, data: dict, sources: tuple[Path, ...]):
        self.sources = sources
        self.families: dict[str, Family] = {}
        self.typical: dict[str, float] = {}
        self._names: dict[tuple[str, ...], tuple[str, str | None, frozenset[str] | None]] = {}  # -> family, pin, exact
        self._extend: set[str] = set()
        self._tickers: dict[str, tuple[str, str]] = {}  # as written -> (family, symbol)
        self._futures: dict[str, tuple[str, str]] = {}  # root -> (family, symbol)
        for key, spec in (data.get("families") or {}).items():
            self._add_family(str(key), spec or {})
        for root, spec in (data.get("futures") or {}).items():
            spec = spec or {}
            symbol = str(spec.get("symbol") or f"{root}=F")
            key = f"futures-{root}"
            self.families[key] = Family(key, str(spec.get("name") or f"{root} futures"), (symbol,), symbol)
            self._futures[str(root)] = (key, symbol)
            if spec.get("typical") is not None:  # an index future trades at about its index's level
                self.typical[symbol] = float(spec["typical"])
            for name in spec.get("names") or ():
                self._add_name(name, key, symbol, None)
        self.families["ticker"] = Family("ticker", "a ticker named in the text", ("*",), None)
        for words, symbol in (data.get("aliases") or {}).items():
            self._add_name(str(words), "ticker", str(symbol).strip(), None)
        for name, symbol in (data.get("companies") or {}).items():  # "Microsoft", "Eli Lilly": as capitalised
            self._add_name(str(name), "ticker", str(symbol).strip(), " ".join(str(name).split()))
        self.not_tickers = frozenset(str(w).upper() for w in data.get("not_tickers") or ())
        self._trie = build_trie(self._names)
        #: Every word of every name in the table, lower case ("energy", "regional"): words that name instruments.
        self.name_words = frozenset(t for tokens in self._names for t in tokens if t.isalpha())
        # Symbols the table knows (written tickers, company symbols, futures roots): a lower-case chat ticker
        # must be one of them, or be written in capitals elsewhere in the article.
        self.known_symbols = frozenset(
            {w.upper() for w in self._tickers} | set(self._futures)
            | {str(s).upper() for s in (data.get("companies") or {}).values()}
            | {str(s).upper() for s in (data.get("aliases") or {}).values()})

    def _add_family(self, key: str, spec: dict) -> None:
        candidates = tuple(str(c) for c in spec.get("candidates") or ())
        tradeable = spec.get("tradeable")
        family = Family(key, str(spec.get("name") or key), candidates, str(tradeable) if tradeable else None,
                        tuple(str(s) for s in spec.get("subject") or ()), bool(spec.get("ignore")))
        self.families[key] = family
        for symbol, close in (spec.get("typical") or {}).items():
            self.typical[str(symbol)] = float(close)
        for name in spec.get("names") or ():
            self._add_name(name, key, None, None)
        for name in spec.get("exact") or ():
            self._add_name(name, key, None, str(name))
        for name, symbol in (spec.get("pinned") or {}).items():
            self._add_name(name, key, str(symbol), None)
        for written, symbol in (spec.get("tickers") or {}).items():
            self._tickers[str(written)] = (key, str(symbol))
        if spec.get("extend_capitalized"):
            self._extend.add(key)

    def _add_name(self, name, family: str, pin: str | None, exact: str | None) -> None:
        for tokens in _expand(str(name)):
            spellings = None
            if exact is not None:  # "Nvidia" and "NVIDIA" are one name, with two exact spellings
                before = self._names.get(tokens)
                spellings = frozenset({exact}) | (before[2] if before and before[:2] == (family, pin) and before[2]
                                                  else frozenset())
            self._names[tokens] = (family, pin, spellings)

    # -- finding ------------------------------------------------------------------------------------
    def find(self, text: str, start: int = 0, end: int | None = None, base: str | None = None,
             tokens: Tokens | None = None) -> list[Mention]:
        """Every instrument mention in ``text[start:end]`` (leftmost-longest, non-overlapping), in order.

        ``base``/``tokens`` (:func:`base_view` of the text and its tokens) may be passed when the caller has
        them already; names are matched on those tokens, tickers on the text as written.
        """
        end = len(text) if end is None else end
        if tokens is None:
            tokens = Tokens(base if base is not None else base_view(text), start, end)
        hits: list[tuple[int, int, int, Mention]] = []
        for occ in tokens.match(self._trie):
            family, pin, exact = occ.meanings
            words = text[occ.start:occ.end]
            if exact is not None and " ".join(words.split()) not in exact:
                continue
            stop = occ.end
            if family in self._extend:  # "MSCI World Index", "MSCI Emerging Markets"
                ext = re.match(r"(?:[ \t]+(?:[A-Z][\w-]*|index|Index))+", text[stop:stop + 80])
                if ext:
                    stop += ext.end()
                    words = text[occ.start:stop]
            hits.append((occ.start, -stop, 0, self._mention(occ.start, stop, words, family, pin, None)))
        capitals: dict = {}  # for _headline_word: how often each capitalised word occurs (counted once)
        for c in _TICKER_START.finditer(text, start, end):  # try the ticker pattern only where one can start
            at = c.start()
            if not _may_be_ticker(text, at, end):
                continue
            m = _TICKER.match(text, at, end)
            if m is None:
                continue
            mention = self._ticker(m, text)
            if mention is not None and not (mention.family == "ticker" and mention.words.isalpha()
                                            and self._headline_word(text, mention, capitals)):
                hits.append((mention.start, -mention.end, 1, mention))
        lower = list(_LOWER_TICKER.finditer(text, start, end))  # "nvda long 182.5 sl 176": a chat line in lower case
        first = _LOWER_TICKER_AT.match(text, start, end) if start == 0 or text[start - 1] == "\n" else None
        for m in ([first] if first else []) + lower:
            written = m["low"]
            if written in _NOT_LOWER_TICKERS or not (written.upper() in self.known_symbols or re.search(
                    r"(?<![A-Za-z])\$?" + written.upper() + r"(?![A-Za-z])", text)):
                continue  # "going long 600", "bias short 412": chat words, not tickers
            family, symbol = self._tickers.get(written.upper(), ("ticker", written.upper()))
            hits.append((m.start("low"), -m.end("low"), 1, self._mention(
                m.start("low"), m.end("low"), written, family, symbol,
                f"ticker {symbol} written in lower case before its side and level")))
        for m in _PAREN_TICKER.finditer(text, max(start - 1, 0), end):  # "Visa (V)", "Target (TGT)"
            written, at = m["paren"], m.start("paren")
            if at < start:
                continue
            if written.upper() in self.not_tickers and written not in self._tickers:
                continue
            if written in CURRENCY_CODES and _NUMBER_BEFORE.search(text, max(0, at - 12), at):
                continue  # "142 (NOK)": the amount's currency
            family, symbol = self._tickers.get(written, ("ticker", written))
            hits.append((at, -m.end(), 1, self._mention(at, m.end(), written, family, symbol,
                                                        f"ticker {symbol} named in the text")))
        hits.sort(key=lambda h: h[:3])
        out: list[Mention] = []
        last_end = -1
        for s, neg_end, _, mention in hits:
            if s < last_end:
                continue
            last_end = -neg_end
            if not self.families[mention.family].ignore:
                out.append(mention)
        return out

    def _headline_word(self, text: str, mention: Mention, capitals: dict) -> bool:
        """A capitalised word of a shouted heading ("THE CLOSING BELL SHEET — Wednesday edition"): a line with
        no digit and three or more words in capitals. Its words are tickers only when the table knows them
        or the article writes them in capitals elsewhere; an alert's shouted line has its levels ("BUY AAPL
        ABOVE 262.50"). ``capitals``: a cache of the text's capitalised words and their counts, filled on
        the first call (one scan of the text, so a text of many shouted lines stays linear)."""
        written = mention.words
        if written in self.known_symbols:
            return False
        line_start = text.rfind("\n", 0, mention.start) + 1
        line_end = text.find("\n", mention.end)
        line_end = len(text) if line_end < 0 else line_end
        if line_end - line_start > 200:
            return False  # prose, not a heading
        line = text[line_start:line_end]
        words = _CAPITAL_WORD.findall(line)
        if len(words) < 3:
            return False
        if any(c.isdigit() for c in line):
            # A shouted alert line ("NOTE: TRIGGER ONLY ON PRINT ABV 712. 50 PCT SIZE."): an unknown word is
            # a ticker only beside a side word or right before its price ("BUY SOFI 8.50", "SOFI LONG").
            if sum(c.islower() for c in line) > 0.1 * sum(c.isalpha() for c in line):
                return False  # not shouted
            before = line[:mention.start - line_start].split()[-1:]
            after = [w for w in (w.strip(":,=") for w in text[mention.end:line_end].split()[:3]) if w][:2]
            # (a side or a trigger word after it, possibly past a colon: "SOFI: BUY ABOVE 8.50", "SOFI ABOVE 8.50 = BUY")
            return not ((before and before[0].upper().strip(":>") in _SIDE_WORDS)
                        or (after and (after[0].upper() in _SIDE_WORDS | _TRIGGER_WORDS or after[0][:1].isdigit()
                                       or after[0][:1] in "$@")))
        if not capitals:
            capitals.update(collections.Counter(_CAPITAL_WORD.findall(text)))
        return capitals.get(written, 0) <= words.count(written)

    def _mention(self, start: int, end: int, words: str, family: str, pin: str | None, how: str | None) -> Mention:
        fam = self.families[family]
        resolvable = fam.resolvable or (family == "ticker" and bool(pin))
        return Mention(start, end, words.strip(), family, pin, resolvable, how)

    def _ticker(self, m: re.Match, text: str) -> Mention | None:
        words = m.group(0)
        if m["cash"]:
            written = m["cash"].upper()
            family, symbol = self._tickers.get(written, ("ticker", written.replace(".", "-")))
            return self._mention(m.start(), m.end(), words, family, symbol, f"ticker {symbol} named in the text")
        if m["caret"]:
            written = "^" + m["caret"]
            family, symbol = self._tickers.get(written, ("ticker", written))
            return self._mention(m.start(), m.end(), words, family, symbol, f"index {symbol} named in the text")
        for group, how in (("slash", "futures root /{r}"), ("cont", "continuous contract {r}1!"), ("eqf", "{r}=F")):
            if m[group]:
                root = m[group]
                if root not in self._futures:
                    return None
                family, symbol = self._futures[root]
                return self._mention(m.start(), m.end(), words, family, symbol,
                                     f"{how.format(r=root)} trades as the continuous contract {symbol}")
        if m["root"]:
            root = m["root"]
            if root not in self._futures:
                return None
            family, symbol = self._futures[root]
            return self._mention(m.start(), m.end(), words, family, symbol,
                                 f"contract {words} read as the continuous front-month contract {symbol}")
        written = m["word"]
        if written in self._futures:
            family, symbol = self._futures[written]
            # "GC DEC", "ES Sep '26": the contract month written after the root is part of the name
            month = _CONTRACT_MONTH_AFTER.match(text, m.end())
            end = month.end() if month else m.end()
            return self._mention(m.start(), end, text[m.start():end], family, symbol,
                                 f"futures root {written} trades as the continuous contract {symbol}")
        if written in self._tickers:
            family, symbol = self._tickers[written]
            return self._mention(m.start(), m.end(), words, family, symbol, f"ticker {symbol} named in the text")
        if written.upper() in self.not_tickers or written.split(".")[0] in self.not_tickers:
            return None
        if written in CURRENCY_CODES and (_NUMBER_NEXT.match(text, m.end()) or _NUMBER_BEFORE.search(
                text, max(0, m.start() - 12), m.start())):
            return None  # "above NOK 212", "142 (NOK)": a currency beside its amount (NOK is also a ticker, elsewhere)
        if (written in _TRIGGER_SHORTHAND and _NUMBER_NEXT.match(text, m.end())) or (
                written == "PCT" and _NUMBER_BEFORE.search(text, max(0, m.start() - 12), m.start())):
            return None  # "BUY QQQ ABV 712", "SHORT XLU BLW 44.30", "50 PCT SIZE" (BLW and PCT are tickers elsewhere)
        return self._mention(m.start(), m.end(), words, "ticker", written.replace(".", "-"),
                             f"ticker {written.replace('.', '-')} named in the text")

    # -- resolving ----------------------------------------------------------------------------------
    def tradeable(self, mention: Mention) -> str | None:
        """The symbol a level-less trade (a pair leg, a market entry) uses: the pinned symbol or the family ETF."""
        return mention.pinned or self.families[mention.family].tradeable

    def candidates(self, mention: Mention) -> list[str]:
        return [mention.pinned] if mention.pinned else list(self.families[mention.family].candidates)

    def resolve(self, mention: Mention, level: float | None, published: dt.datetime | dt.date | None,
                price_lookup: PriceLookup | None = None) -> Resolution:
        """The symbol for ``mention`` at ``level`` (see module docstring); never raises."""
        family = self.families[mention.family]
        if not mention.resolvable:
            return Resolution(None, "unresolved", f"no price series for {mention.words!r} ({family.name}) here")
        if mention.pinned:
            return Resolution(mention.pinned, "ok", mention.how or f"ticker {mention.pinned} named in the text")
        if level is None or len(family.candidates) == 1:
            symbol = family.tradeable or family.candidates[0]
            how = "without a level trades as" if level is None else "is"
            return Resolution(symbol, "ok", f"{mention.words!r} {how} {symbol}")
        symbol, how = self.nearest_by_magnitude(level, family.candidates, published, price_lookup)
        return Resolution(symbol, "ok", how)

    def nearest_by_magnitude(self, level: float, candidates: Iterable[str], published, price_lookup) -> tuple[str, str]:
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
        typical = [s for s in candidates if s not in closes and s in self.typical]
        for symbol in typical:
            closes[symbol] = self.typical[symbol]
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

    def subject_of(self, title: str | None, tags: Iterable[str], text: str,
                   mentions: list[Mention] | None = None) -> list[str]:
        """Symbols an article's stance is about: first subject tag, else the title's first family, else the most
        mentioned family, else the most mentioned ticker. ``mentions``: those of ``text``, when already found."""
        for tag in tags:
            fam = _TAG_FAMILY.get(tag.lower())
            if fam and fam in self.families:
                return list(self.families[fam].subject)
        if title:
            for mention in self.find(title):
                if self.families[mention.family].subject:
                    return list(self.families[mention.family].subject)
        counts: dict[str, int] = {}
        first: dict[str, int] = {}
        tickers: dict[str, int] = {}
        for mention in (self.find(text) if mentions is None else mentions):
            if self.families[mention.family].subject:
                counts[mention.family] = counts.get(mention.family, 0) + 1
                first.setdefault(mention.family, mention.start)
            elif mention.family == "ticker" and mention.pinned:
                tickers[mention.pinned] = tickers.get(mention.pinned, 0) + 1
        if counts:
            best = max(counts, key=lambda f: (counts[f], -first[f]))
            return list(self.families[best].subject)
        if tickers:
            return [max(tickers, key=lambda s: tickers[s])]
        return []


#: Tags (``#sp500``) that name an article's subject family.
_TAG_FAMILY = {
    "small-caps": "small-caps", "smallcaps": "small-caps", "small-cap": "small-caps", "russell-2000": "small-caps",
    "russell2000": "small-caps", "iwm": "small-caps", "sp500": "sp500", "s-p-500": "sp500", "spx": "sp500",
    "spy": "sp500", "dow": "dow", "dow-jones": "dow", "djia": "dow", "nasdaq": "nasdaq", "qqq": "nasdaq",
    "vix": "vix", "xlk": "tech", "tech-sector": "tech", "xle": "energy", "xlu": "utilities", "xlv": "health",
    "energy": "energy", "utilities": "utilities", "healthcare": "health", "xlf": "financials",
}


def _merge(base: dict, extra: dict, where: str) -> None:
    """Merge one alias file into the table data (a family or root given again replaces that entry)."""
    if not isinstance(extra, dict):
        raise ValueError(f"{where}: an alias file is a mapping (families:, futures:, aliases:, companies:, "
                         "not_tickers:)")
    unknown = set(extra) - {"version", "families", "futures", "aliases", "companies", "not_tickers"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; use families, futures, aliases, companies, "
                         "not_tickers")
    for section in ("families", "futures", "aliases", "companies"):
        value = extra.get(section) or {}
        if not isinstance(value, dict):
            raise ValueError(f"{where}: {section}: must be a mapping")
        base.setdefault(section, {}).update(value)
    words = extra.get("not_tickers") or []
    if not isinstance(words, list):
        raise ValueError(f"{where}: not_tickers: must be a list of words")
    base["not_tickers"] = list(base.get("not_tickers") or []) + words


@lru_cache(maxsize=8)
def load_table(extra: tuple[str, ...] = ()) -> InstrumentTable:
    """The shipped table with the user's alias files merged on top, in order (compiled once per process).

    Raises ``ValueError`` (one line naming the file) for an unreadable or malformed alias file.
    """
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    sources = [TABLE]
    for name in extra:
        path = Path(name)
        try:
            size = path.stat().st_size
            if size > MAX_ALIAS_BYTES:
                raise ValueError(f"{path}: alias file is {size / 1e6:.1f} MB, over the {MAX_ALIAS_BYTES // 2**20} MB limit")
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the alias file ({exc.strerror or exc})") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        _merge(data, loaded or {}, str(path))
        sources.append(path)
    try:
        return InstrumentTable(data, tuple(sources))
    except (TypeError, AttributeError, ValueError) as exc:
        raise ValueError(f"{sources[-1]}: malformed alias table ({exc})") from None


def default_table() -> InstrumentTable:
    return load_table()


# Module-level helpers over the shipped table (what tests and simple callers use).
def find_mentions(text: str, offset: int = 0) -> list[Mention]:
    """Every instrument mention in ``text``, offsets shifted by ``offset``."""
    found = default_table().find(text)
    return [dataclasses.replace(m, start=m.start + offset, end=m.end + offset) for m in found] if offset else found


def family_of(words: str) -> Mention | None:
    """The mention for a phrase on its own ("S&P 500" → sp500), or None when nothing matches."""
    found = default_table().find(words)
    return found[0] if found else None


def tradeable_symbol(mention: Mention) -> str | None:
    return default_table().tradeable(mention)


def resolve(mention: Mention, level: float | None, published, price_lookup: PriceLookup | None = None) -> Resolution:
    return default_table().resolve(mention, level, published, price_lookup)


def nearest_by_magnitude(level: float, candidates: Iterable[str], published, price_lookup) -> tuple[str, str]:
    return default_table().nearest_by_magnitude(level, candidates, published, price_lookup)


def subject_of(title: str | None, tags: Iterable[str], text: str) -> list[str]:
    return default_table().subject_of(title, tags, text)


def market_price_lookup(config=None) -> PriceLookup:
    """A ``price_lookup`` over :func:`backtest.data.load.last_close_before`, offline sources only.

    Extraction never downloads: with no cache or mirror the lookup answers None and :func:`resolve`
    falls back to the table's typical closes.
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

    def warm() -> None:
        """Import the data layer (pandas, 0.5 s) here, before processes are forked to extract: each would
        import it for its first look-up otherwise."""
        try:
            from ..data import load  # noqa: F401
        except Exception:  # noqa: BLE001 - missing data layer: the look-ups answer None
            pass

    lookup.warm = warm
    return lookup
