"""The sentence a directional call came from, read back from the article file (``docs/reports.md``).

A call is an article's stance on one subject symbol (bullish = long, bearish = short); the setup file
keeps no text, only each setup's ``source.spans`` into the article's decoded text and the article file's
``sha256``. :func:`call_quotes` finds, for each call, **the setup the call agrees with**
(:func:`quoted_setup`) and reads its first span from the article file, only when that file is at hand and
its bytes are the ones the spans index; otherwise there is no quote and a short note says why
(:data:`NOTES`). Never a wrong quote: a changed file gives none.

It reads one article file per call at most (each file once), so the report asks only for the handful of
calls it shows (its best and worst), never for every article of a 100k-setup run.

The text is decoded as extraction decoded it (:func:`backtest.articles.reader.decode_article_bytes`) and
read through the extractor's view of it (:func:`backtest.articles.reader.line_view`: same length, so the
spans index it; line breaks as one LF, an HTML page's tags, scripts and entities blanked), then whitespace
is collapsed and the quote bounded to :data:`QUOTE_CHARS` characters (an ellipsis marks a cut).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .table import SetupTable

#: Longest quote, in characters (a longer span is cut at a word and ends with an ellipsis).
QUOTE_CHARS = 300
ELLIPSIS = "…"
#: Why a call has no quote (the report shows the note instead).
NOTES = {
    "no-setup": "no setup in the call's direction",
    "no-span": "no source span",
    "no-path": "no article path in the setup file",
    "no-sha256": "no article sha256 to check the file against",
    "missing": "article file not found",
    "too-large": "article file too large to read",
    "changed": "article changed since extraction",
    "unreadable": "article file is not readable text",
    "outside": "source span outside the article text",
    "empty": "source span holds no text",
}
_DIRECTION = {"bullish": "long", "bearish": "short"}


@dataclasses.dataclass(frozen=True)
class Quote:
    """The sentence of one call (``text``) and the setup it came from, or the note saying why there is none."""

    text: str | None
    setup_id: str | None = None
    note: str | None = None


def quoted_setup(table: SetupTable, article: int, symbol: str, direction: str) -> int | None:
    """The row in ``table.setups`` whose sentence stands for the call of article row ``article`` on ``symbol``
    in ``direction`` (``long``/``short``), or None when no setup of the article takes that side.

    A setup takes the call's side when it trades one of the article's subject symbols in the call's
    direction: a single on that symbol, or a pair with that symbol on the leg of that side (long leg for a
    long call, short leg for a short one). Of those: the ones with a source span first, then explicit
    before conditional, then the call's own symbol before the other subject symbols, then text order
    (first span start), then setup id.
    """
    setups = table.setups
    articles = setups["article"].to_numpy()
    lo, hi = np.searchsorted(articles, article, "left"), np.searchsorted(articles, article, "right")
    if lo == hi:
        return None
    subject = set(table.articles["subject"].iloc[article]) | {symbol}
    rows = setups.iloc[lo:hi]
    best, best_key = None, None
    for offset, r in enumerate(rows[["kind", "symbol", "long_symbol", "short_symbol", "direction", "explicit",
                                     "span_start", "setup_id"]].itertuples(index=False)):
        if r.kind == "pair":
            leg = r.long_symbol if direction == "long" else r.short_symbol
        else:
            leg = r.symbol if r.direction == direction else None
        if not isinstance(leg, str) or leg not in subject:
            continue
        has_span = not pd.isna(r.span_start)
        key = (not has_span, not bool(r.explicit), leg != symbol, int(r.span_start) if has_span else 0, str(r.setup_id))
        if best_key is None or key < best_key:
            best, best_key = lo + offset, key
    return best


def call_quotes(table: SetupTable, calls: Iterable[tuple[str, str, str]]) -> list[Quote]:
    """The :class:`Quote` of each call ``(article_id, symbol, stance or direction)``, in order; reads each
    article file at most once."""
    calls = list(calls)
    if not calls:
        return []
    articles = table.articles
    position = {a: i for i, a in enumerate(articles["article_id"].to_numpy(dtype=object))}
    texts: dict[int, tuple[str | None, str | None]] = {}
    out = []
    for article_id, symbol, side in calls:
        a = position.get(article_id)
        direction = _DIRECTION.get(side, side)
        row = quoted_setup(table, a, symbol, direction) if a is not None else None
        if row is None:
            out.append(Quote(None, note=NOTES["no-setup"]))
            continue
        setup = table.setups.iloc[row]
        setup_id = str(setup["setup_id"])
        if pd.isna(setup["span_start"]):
            out.append(Quote(None, setup_id, NOTES["no-span"]))
            continue
        if a not in texts:
            texts[a] = _article_view(articles.iloc[a])
        view, problem = texts[a]
        start, end = int(setup["span_start"]), int(setup["span_end"])
        if problem is not None:
            out.append(Quote(None, setup_id, NOTES[problem]))
        elif end > len(view):
            out.append(Quote(None, setup_id, NOTES["outside"]))
        else:
            text = bounded(view[start:end])
            out.append(Quote(text, setup_id) if text else Quote(None, setup_id, NOTES["empty"]))
    return out


def _article_view(article: pd.Series) -> tuple[str | None, str | None]:
    """(the extractor's view of the article's text, None) or (None, why it cannot be read)."""
    from ..articles.reader import decode_article_bytes, line_view
    from ..errors import ArticleError
    from .load import article_file

    sha256 = article["sha256"]
    if not isinstance(article["path"], str) or not article["path"]:
        return None, "no-path"
    if not isinstance(sha256, str) or not sha256:
        return None, "no-sha256"
    setup_file = article["setup_file"] if isinstance(article["setup_file"], str) else article["path"]
    found = article_file(article["path"], sha256, Path(setup_file))
    if found.data is None:
        return None, found.problem
    try:
        text, _ = decode_article_bytes(found.data, str(found.path))
    except ArticleError:
        return None, "unreadable"
    return line_view(text), None


def bounded(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` with every run of whitespace one space, at most ``limit`` characters: a longer one is cut at
    the last space before the limit (or at the limit when there is none nearby) and ends with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + ELLIPSIS
