"""The phrasebook (``phrasebook.yaml``) compiled into matchers over a masked view of the text.

The extractor does not match cue words on raw characters. It first builds a *masked view* of the article
(:func:`masked_view`): same length as the text, lower case, instrument names replaced by ``§``, price
levels by ``#``, other numbers by ``%``, hyphens between words by spaces. A phrase such as
``stop loss`` or ``on a daily close above`` is then a sequence of tokens in that view, and all phrases of a
*layer* (cues, sides, sentence flags) are compiled into a trie of their tokens. The view is tokenized once
(:class:`Tokens`) and each layer's trie is walked over the tokens, so every occurrence is found left to
right, longest first, with one dictionary look-up per token: linear in the length of the text. Each match
carries what the phrase means (:class:`Meaning`).

Phrase syntax (documented at the top of the YAML): words separated by spaces; ``a|b`` either word;
``x?`` an optional word; ``#`` a level, ``§`` an instrument, other punctuation (``@``, ``>``, ``→``)
stands for itself.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

PHRASEBOOK = Path(__file__).with_name("phrasebook.yaml")

#: Tokens of a phrase or of the masked view: words (letters, digits, inner apostrophes; a possessive "'s"
#: is a token of its own), markers, punctuation, and line breaks (no phrase runs across one).
TOKEN = re.compile(r"[a-z0-9]+(?:'(?!s(?![a-z0-9]))[a-z0-9]+)*|'s(?![a-z0-9])|'|[#§%]|\n|[^\sa-z0-9'#§%]")
#: :data:`TOKEN` as a group: ``split`` then gives the gaps and the tokens in turn (see :class:`Tokens`).
_TOKEN_SPLIT = re.compile("(" + TOKEN.pattern + ")")
#: Layers scanned separately (a phrase may mean different things in different layers: "buy" is a side
#: word and an action word).
LAYERS = ("cues", "sides", "flags")


@dataclasses.dataclass(frozen=True)
class Meaning:
    """What one phrase means in its layer: ``kind`` (``trigger``, ``role``, ``side``, ``flag``, ...) and details."""

    kind: str
    name: str
    position: str = ""  # roles: before / after / needs_current


@dataclasses.dataclass(frozen=True)
class Occurrence:
    """One phrase found in the masked view: ``[start, end)`` and its meanings."""

    start: int
    end: int
    meanings: tuple[Meaning, ...]

    # Made ~70 times per article: filling __dict__ directly costs half of the generated frozen __init__'s
    # object.__setattr__ per field (the instance stays frozen: assigning a field still raises).
    def __init__(self, start: int, end: int, meanings: tuple[Meaning, ...]):
        fields = self.__dict__
        fields["start"] = start
        fields["end"] = end
        fields["meanings"] = meanings

    def has(self, kind: str, name: str | None = None, position: str | None = None) -> bool:
        for m in self.meanings:
            if m.kind == kind and (name is None or m.name == name) and (position is None or m.position == position):
                return True
        return False

    def first(self, kind: str, position: str | None = None) -> Meaning | None:
        for m in self.meanings:
            if m.kind == kind and (position is None or m.position == position):
                return m
        return None


@dataclasses.dataclass
class Phrasebook:
    """The compiled phrasebook. Build it with :func:`load_phrasebook` (cached)."""

    tries: dict[str, dict]
    table: dict[str, dict[tuple[str, ...], tuple[Meaning, ...]]]
    link: frozenset[str]
    reach: dict[str, int]
    continuation: re.Pattern
    next_target: frozenset[str]
    pairs: list[tuple[re.Pattern, bool]]
    source: Path
    relative_to_entry: re.Pattern = re.compile(r"(?!)")  # "5% below the entry" (see relative_to_entry:)
    vocabulary: frozenset[str] = frozenset()  # every word of every phrase (capitalised, none is a ticker)

    def scan(self, layer: str, view: str, start: int = 0, end: int | None = None,
             tokens: "Tokens | None" = None) -> list[Occurrence]:
        """Every occurrence of the layer's phrases in ``view[start:end]``, left to right, longest first."""
        tokens = tokens or Tokens(view, start, end)
        return tokens.match(self.tries[layer])

    def is_link(self, token: str) -> bool:
        return token in self.link


class Tokens:
    """The tokens of ``view[start:end]`` (words, markers, punctuation, line breaks) with their offsets.

    Built once per article and shared by every layer's trie walk (:meth:`match`): the work is one regex
    scan plus a dictionary look-up per token, linear in the text.
    """

    def __init__(self, view: str, start: int = 0, end: int | None = None):
        # Every character is white space or part of a token, so ``split`` on the tokens gives the gaps (white
        # space, "" between glued tokens) and the tokens in turn: gap, token, gap, ..., gap. The running sum
        # of their lengths gives each token's start and end. All of it runs in C, with no match object per
        # token (a third faster than findall and a strip of each match).
        text = view if start == 0 and (end is None or end == len(view)) else view[start:end]
        parts = _TOKEN_SPLIT.split(text)
        self.words = parts[1::2]
        bounds = list(itertools.accumulate(map(len, parts), initial=start))
        self.starts = bounds[1:-1:2]
        self.ends = bounds[2::2]

    @classmethod
    def _of(cls, starts: list[int], ends: list[int], words: list[str]) -> "Tokens":
        tokens = cls.__new__(cls)
        tokens.starts, tokens.ends, tokens.words = starts, ends, words
        return tokens

    @classmethod
    def joined(cls, parts: list["Tokens"]) -> "Tokens":
        """The tokens of ``parts`` (in text order, not overlapping) with a line break token between two
        parts: a trie walk stops there (no phrase holds a line break), so :meth:`match` over the result
        finds what it finds over each part."""
        if len(parts) == 1:
            return parts[0]
        starts: list[int] = []
        ends: list[int] = []
        words: list[str] = []
        for part in parts:
            if words:
                starts.append(ends[-1] if ends else 0)
                ends.append(ends[-1] if ends else 0)
                words.append("\n")
            starts += part.starts
            ends += part.ends
            words += part.words
        return cls._of(starts, ends, words)

    def masked(self, marks: list[tuple[int, int, str]], start: int, end: int) -> "Tokens | None":
        """The tokens of :func:`masked_view` of this text over ``[start, end)``, made from these tokens
        (``marks``: :func:`view_marks`): a marked span that covers whole tokens becomes its mark, the other
        tokens stay. None when that would not give exactly what tokenizing the view there gives: a token runs
        across ``start`` or ``end`` or across a marked span's bounds ("14x": the number is "14"), or a marked
        span runs across ``start`` or ``end`` (then the caller tokenizes the view itself)."""
        starts, ends, words = self.starts, self.ends, self.words
        lo = bisect.bisect_left(starts, start)
        hi = bisect.bisect_left(starts, end)
        if (lo and ends[lo - 1] > start) or (hi and ends[hi - 1] > end):
            return None
        k = bisect.bisect_left(marks, (start,))
        if k and marks[k - 1][1] > start:
            return None
        out_starts: list[int] = []
        out_ends: list[int] = []
        out_words: list[str] = []
        pos = lo
        while k < len(marks) and marks[k][0] < end:
            s, e, mark = marks[k]
            if e > end:
                return None
            i = bisect.bisect_left(starts, s, pos, hi)
            if i >= hi or starts[i] != s:
                return None
            j = bisect.bisect_left(starts, e, i, hi)
            if ends[j - 1] > e:
                return None
            out_starts += starts[pos:i]
            out_ends += ends[pos:i]
            out_words += words[pos:i]
            out_starts.append(s)
            out_ends.append(s + 1)
            out_words.append(mark)
            pos = j
            k += 1
        if pos == lo:
            return Tokens._of(starts[lo:hi], ends[lo:hi], words[lo:hi])
        out_starts += starts[pos:hi]
        out_ends += ends[pos:hi]
        out_words += words[pos:hi]
        return Tokens._of(out_starts, out_ends, out_words)

    def match(self, trie: dict) -> list[Occurrence]:
        """Longest non-overlapping matches of ``trie`` (token -> child, ``None`` -> meanings), left to right."""
        words, out = self.words, []
        n, free = len(words), 0
        # Only tokens that start a phrase (the membership tests run in C: most tokens start none).
        for i in itertools.compress(range(n), map(trie.__contains__, words)):
            if i < free:
                continue
            node = trie[words[i]]
            best, j = (i + 1, node[None]) if None in node else (None, None), i + 1
            while j < n:
                node = node.get(words[j])
                if node is None:
                    break
                j += 1
                if None in node:
                    best = (j, node[None])
            if best[0] is None:
                continue
            stop, meanings = best
            out.append(Occurrence(self.starts[i], self.ends[stop - 1], meanings))
            free = stop
        return out

def _expand(phrase: str) -> list[tuple[str, ...]]:
    """``"daily|weekly? close above"`` → every token tuple it stands for."""
    options: list[list[tuple[str, ...]]] = []
    text = re.sub(r"(?<=[a-z0-9])-(?=[a-z0-9$])", " ", str(phrase).lower().replace("’", "'"))
    for raw in text.split():
        optional = raw.endswith("?") and len(raw) > 1
        raw = raw[:-1] if optional else raw
        alternatives = []
        for alt in raw.split("|") if len(raw) > 1 else [raw]:
            tokens = tuple(TOKEN.findall(alt))
            if not tokens:
                raise ValueError(f"phrase {phrase!r}: empty word")
            alternatives.append(tokens)
        if optional:
            alternatives.append(())
        options.append(alternatives)
    out = []
    for combo in itertools.product(*options):
        tokens = tuple(t for part in combo for t in part)
        if tokens:
            out.append(tokens)
    if not out:
        raise ValueError(f"phrase {phrase!r} matches nothing")
    return out


def _token_regex(token: str) -> str:
    """One token; a word may not run on into more letters (a possessive "'s" may follow: "Russell 2000's")."""
    body = re.escape(token)
    return body + r"(?![a-z0-9])(?!'(?!s(?![a-z0-9]))[a-z0-9])" if token[-1].isalnum() or token[-1] == "'" else body


def _add(table: dict, phrases: Iterable, meaning: Meaning, where: str) -> None:
    for phrase in phrases or ():
        for tokens in _expand(phrase):
            current = table.setdefault(tokens, ())
            if meaning not in current:
                table[tokens] = current + (meaning,)


def compile_phrasebook(data: dict, source: Path = PHRASEBOOK) -> Phrasebook:
    """Compile the parsed YAML (see ``phrasebook.yaml``). Raises ``ValueError`` naming a bad entry."""
    tables: dict[str, dict] = {layer: {} for layer in LAYERS}
    cues, sides, flags = tables["cues"], tables["sides"], tables["flags"]
    for name, phrases in (data.get("triggers") or {}).items():
        _add(cues, phrases, Meaning("trigger", name), f"triggers.{name}")
    for name, phrases in (data.get("triggers_after") or {}).items():
        _add(cues, phrases, Meaning("trigger_after", name), f"triggers_after.{name}")
    for position in ("before", "after"):
        _add(cues, (data.get("entry") or {}).get(position), Meaning("entry", "entry", position), f"entry.{position}")
    _add(cues, data.get("market"), Meaning("market", "market"), "market")
    reach: dict[str, int] = {}
    for role, spec in (data.get("roles") or {}).items():
        reach[role] = int(spec.get("reach", 0))
        for position in ("before", "after", "needs_current"):
            _add(cues, spec.get(position), Meaning("role", role, position), f"roles.{role}.{position}")
    _add(sides, data.get("not_sides"), Meaning("not_side", "not_side"), "not_sides")
    for side, phrases in (data.get("sides") or {}).items():
        _add(sides, phrases, Meaning("side", side), f"sides.{side}")
    for flag in ("action", "hedge", "not_hedge", "negation", "history", "options", "analyst", "confirmation",
                 "example", "past_fill"):
        _add(flags, data.get(flag), Meaning("flag", flag), flag)
    # A "not a side" phrase hides the side words inside it ("short squeeze" is not "short").
    for tokens, meanings in list(sides.items()):
        if any(m.kind == "not_side" for m in meanings):
            sides[tokens] = tuple(m for m in meanings if m.kind == "not_side")
    link = frozenset(t for phrase in data.get("link") or () for tokens in _expand(phrase) for t in tokens)
    continuation_alts = sorted({" ".join(tokens) for p in data.get("continuation") or () for tokens in _expand(p)},
                               key=len, reverse=True)
    continuation = re.compile(
        r"[ \t]*(?:(?:" + "|".join(r"[ \t]*".join(_token_regex(t) for t in alt.split()) for alt in continuation_alts)
        + r")[ \t]*)+")
    next_target = frozenset(t for phrase in data.get("next_target") or () for tokens in _expand(phrase) for t in tokens)
    # Sentence flags ignore the look-alikes too ("as long as" is no "long", "short squeeze" no "short").
    _add(flags, data.get("not_sides"), Meaning("flag", "ignore"), "not_sides")
    pairs = [(_pair_regex(t), False) for t in (data.get("pairs") or {}).get("long_first") or ()]
    pairs += [(_pair_regex(t), True) for t in (data.get("pairs") or {}).get("short_first") or ()]
    tries = {layer: build_trie(table) for layer, table in tables.items()}
    vocabulary = frozenset(t for table in tables.values() for tokens in table for t in tokens if t.isalpha()) | link
    entry_refs = sorted({" ".join(tokens) for p in data.get("relative_to_entry") or () for tokens in _expand(p)},
                        key=len, reverse=True)
    relative = re.compile(  # after a percentage: "% below the entry", "% to 8% under our buy point"
        r"(?P<first>[ \t]?%)?[ \t]*(?:(?P<high>to|-|–|or)[ \t]*%[ \t]*%[ \t]*)?"
        r"(?P<side>below|under|beneath|above|over)[ \t]+(?:(?:the|our|my|your|its)[ \t]+)?(?:"
        + "|".join(r"[ \t]+".join(_token_regex(t) for t in ref.split()) for ref in entry_refs) + r")(?![a-z0-9])"
        if entry_refs else r"(?!)")
    return Phrasebook(tries, tables, link, reach, continuation, next_target, pairs, source, relative, vocabulary)


def build_trie(table: dict[tuple[str, ...], object]) -> dict:
    """token tuples -> value, as nested dicts (``None`` holds the value at the end of a phrase)."""
    root: dict = {}
    for tokens, value in table.items():
        node = root
        for token in tokens:
            node = node.setdefault(token, {})
        node[None] = value
    return root


_LEGS = r"§(?P<{0}>\d+)(?P<{0}_more>(?:\s*(?:,|or|and|/|&)\s*(?:the\s+)?§\d+)*)"


def _pair_regex(template: str) -> re.Pattern:
    """A pair template ("long the? §+ against §+") → a regex over a sentence's pair view ("long §0 against §1").

    The first ``§+`` is group ``a`` (with ``a_more`` for a list), the second ``b``.
    """
    parts: list[str] = []
    legs = iter("ab")
    for raw in template.lower().split():
        optional = raw.endswith("?") and len(raw) > 1
        raw = raw[:-1] if optional else raw
        if raw == "§+":
            piece = _LEGS.format(next(legs))
        else:
            alts = [re.escape(a) + (r"(?![a-z0-9'])" if a[-1].isalnum() else "") for a in raw.split("|")]
            piece = "(?:" + "|".join(alts) + ")"
        parts.append(f"(?:{piece}\\s*)?" if optional else f"{piece}\\s*")
    return re.compile(r"(?<![a-z0-9'])" + "".join(parts))


@lru_cache(maxsize=8)
def load_phrasebook(path: str | None = None) -> Phrasebook:
    """The phrasebook at ``path`` (default: the one shipped with the package), compiled once per process."""
    source = Path(path) if path else PHRASEBOOK
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != 1:
        raise ValueError(f"{source}: not a version-1 phrasebook")
    return compile_phrasebook(data, source)


# ------------------------------------------------------------------------------------------ the view
_ASCII_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_WORD_HYPHEN = re.compile(r"-(?=[a-z$])(?<=[a-z0-9]-)|-(?=\d)(?<=[a-z]-)")  # literal first: fast to scan
_PLAIN = (("’", "'"), ("‘", "'"), ("\xa0", " "), ("\u2009", " "), ("\u202f", " "))
#: Box-drawing characters (U+2500-U+257F: "│ SL ... 3,041.0 │", "┌───┐") frame a card; they read as blanks
#: (replaced by a regex: ``str.translate`` with a table looks every character up, 1.5 ms on a 6 KB text).
_BOX_DRAWING = re.compile("[\u2500-\u257f]")
#: Leader dots between a label and its value ("SL ........... 3,041.0") read as blanks.
_LEADER_DOTS = re.compile(r"\.{3,}")


def base_view(text: str) -> str:
    """``text`` lower-cased, curly apostrophes straight, hyphens between words as spaces, "towards" as
    "toward"; same length."""
    low = text.lower()
    if len(low) != len(text):  # a few non-ASCII letters change length when lower-cased: lower ASCII only
        low = text.translate(_ASCII_LOWER)
    if not low.isascii():
        for char, plain in _PLAIN:
            if char in low:
                low = low.replace(char, plain)
        if _BOX_DRAWING.search(low) is not None:
            low = _BOX_DRAWING.sub(" ", low)
    if "..." in low:
        low = _LEADER_DOTS.sub(_blanks, low)
    for mark in "*_`":  # Markdown emphasis and code marks: "**Stop loss:** $928"
        if mark in low:
            low = low.replace(mark, " ")
    if "towards" in low:  # British "towards" reads as "toward" (the phrasebook lists one spelling)
        low = low.replace("towards", "toward ")
    return _WORD_HYPHEN.sub(" ", low) if "-" in low else low


def _blanks(m: re.Match) -> str:
    return " " * (m.end() - m.start())


def view_marks(instruments: Iterable[tuple[int, int]], levels: Iterable[tuple[int, int]],
               others: Iterable[tuple[int, int]]) -> list[tuple[int, int, str]]:
    """``(start, end, mark)`` of the spans :func:`masked_view` replaces, in order: instrument names ``§``,
    price levels ``#``, other numbers ``%``; of overlapping spans the first one wins, empty ones are left."""
    marks = sorted([(s, e, "§") for s, e in instruments] + [(s, e, "#") for s, e in levels]
                   + [(s, e, "%") for s, e in others])
    kept: list[tuple[int, int, str]] = []
    pos = 0
    for start, end, mark in marks:
        if start < pos or end <= start:
            continue  # overlapping spans: the first one wins
        kept.append((start, end, mark))
        pos = end
    return kept


def masked_view(base: str, instruments: Iterable[tuple[int, int]], levels: Iterable[tuple[int, int]],
                others: Iterable[tuple[int, int]], marks: list[tuple[int, int, str]] | None = None) -> str:
    """The text as the phrase matchers see it (same length; see module docstring).

    ``base`` is :func:`base_view` of the text; ``instruments``, ``levels`` and ``others`` are non-overlapping
    ``(start, end)`` spans: instrument names, price levels and the other numbers, replaced by ``§``, ``#``
    and ``%`` followed by spaces (``marks``: :func:`view_marks` of them, when the caller has it).
    """
    if marks is None:
        marks = view_marks(instruments, levels, others)
    pieces: list[str] = []
    pos = 0
    for start, end, mark in marks:
        pieces.append(base[pos:start])
        pieces.append(mark + " " * (end - start - 1))
        pos = end
    pieces.append(base[pos:])
    return "".join(pieces)
