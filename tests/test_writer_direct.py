"""The setup file writer's direct path writes what the dict path writes, byte for byte.

``backtest.setups.writer.body_yaml`` writes the data part straight from the models (``_direct_body``);
``_dict_body`` builds the dicts of ``article_dict``/``setup_dict``/``watch_dict`` and dumps them (itself checked
against PyYAML's pure-Python dumper in tests/test_phrasebook.py). Random setup files, made with
``model_construct`` so that any value may stand in any field (odd strings, long notes that fold, quotes, emoji,
floats with exponents, ints, bools, empty lists), must come out the same both ways, and so must the whole
file of ``render_setup_file`` (the ``generated:`` block included).
"""

from __future__ import annotations

import datetime as dt
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from backtest import __version__
from backtest.common import SourceRef
from backtest.setups import writer
from backtest.setups.model import ArticleMeta, EntryOrder, Leg, Provenance, Setup, SetupFile, Span, WatchLevel

#: Words of setup files, awkward ones included (quotes, indicators, look-alikes of numbers, dates and bools).
_WORDS = ["level", "2,100", "is", "nearest", "to", "^RUT", "(last", "close)", "it's", "'quoted'", "a:b", "x#y",
          "$87", "-", "%", "@at", "é", "yes", "null", "1e3", "12:30", "", "a,b", "[x]", "{y}", "?", "&a", "*b",
          "~", "=", "<<", "0x1f", "007", "2026-02-09", "stop 5% below", "ES=F", "two  spaces", "x" * 120, "f",
          "true", "on", "0b101", "SPY", "long", "short", "ticker", "named", "in", "the", "text", "ok"]
#: What the direct path leaves to the dict path (emoji, tabs, line breaks, control characters).
_ODD = ["\U0001F9F5", "tab\there", "line\nbreak", "nel\x85", "\x00", "trail "]
#: Text around the line width, with a space at nearly every column (plain, and quoted for its first
#: character): whether and where it folds depends on the exact column it starts at.
_DENSE = st.tuples(st.sampled_from(["", "'", "@", "it's "]),
                   st.lists(st.sampled_from(["a", "bb", "c"]), min_size=20, max_size=60).map(" ".join)).map("".join)
_WORDY = st.one_of(st.lists(st.sampled_from(_WORDS), max_size=25).map(" ".join), st.sampled_from(_WORDS), _DENSE,
                   st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))  # (a sha256)
_ANY_TEXT = st.one_of(_WORDY, _WORDY, st.sampled_from(_ODD), st.text(max_size=30))
_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([2080.0, 141.06, 1e-05, 6.9e3, 1e20, 1e16, -0.0, 0.5, 25110.74]),
    st.integers(-10**20, 10**20),
)
_INT = st.integers(0, 10**7)


def _files(text, odd: bool = False):
    """Setup files whose strings are drawn from ``text``; any value may stand in any field (``odd``: levels
    that are no numbers and pairs without legs too, which neither way writes)."""
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**12), _NUMBER, text, text, text)
    optional = st.one_of(st.none(), st.just(""), scalar)
    level = st.one_of(_NUMBER, _NUMBER, _NUMBER, _NUMBER, st.none(), st.booleans(), *([text] if odd else []))
    # (ends of 43 to 46 digits: a span line just short of the width, or just over)
    ends = st.one_of(_INT, _INT, _INT, st.integers(10**42, 10**46), *([st.booleans()] if odd else []))
    spans = st.lists(st.builds(lambda a, b: Span.model_construct(start=a, end=b), ends, ends), max_size=3)
    maybe_text = st.one_of(st.none(), st.just(""), text, text, text)
    provenance = st.builds(lambda a, s, spans: Provenance.model_construct(article_id=a, sha256=s, spans=spans),
                           maybe_text, maybe_text, spans)
    legs = st.builds(lambda i, s: Leg.model_construct(instrument=i, symbol=s), scalar, scalar)
    if odd:
        legs = st.one_of(st.none(), legs)
    entry = st.builds(lambda t, level, w: EntryOrder.model_construct(type=t, level=level, window=w),
                      st.one_of(st.sampled_from(["market", "stop", "limit", "close"]), scalar),
                      st.one_of(st.none(), level), st.one_of(st.none(), st.integers(0, 300)))
    setup = st.builds(
        lambda **kw: Setup.model_construct(**kw),
        id=text, kind=st.one_of(st.sampled_from(["single", "single", "pair"]), scalar), instrument=scalar,
        symbol=scalar, status=st.sampled_from(["ok", "unresolved"]), direction=st.sampled_from(["long", "short"]),
        entry=entry, stop=level, targets=st.lists(level, max_size=3), invalidation=level, max_hold=optional,
        scale_out=optional, ambiguity=optional, long=legs, short=legs, explicit=st.one_of(st.booleans(), scalar),
        confidence=optional, note=optional, source=provenance)
    watch = st.builds(
        lambda **kw: WatchLevel.model_construct(**kw),
        instrument=scalar, symbol=scalar, kind=st.sampled_from(["range", "support", "level", "price"]),
        levels=st.lists(level, max_size=3), note=optional, source=provenance)
    published = st.one_of(st.none(), st.dates(), st.datetimes(timezones=st.just(dt.timezone.utc)))
    sources = st.lists(st.builds(lambda o, d: SourceRef.model_construct(outlet=o, date=d), optional, optional),
                       max_size=3)
    article = st.builds(
        lambda **kw: ArticleMeta.model_construct(**kw),
        id=text, path=optional, sha256=optional, published=published, published_basis=optional,
        published_note=optional, stance=optional, stance_basis=optional, pulse=st.one_of(st.none(), scalar),
        threat=st.one_of(st.none(), st.integers(0, 5)), tags=st.lists(text, max_size=3),
        subject=st.lists(text, max_size=3), sources=sources)
    return st.builds(lambda a, s, w: SetupFile.model_construct(article=a, setups=s, watch=w),
                     article, st.lists(setup, max_size=3), st.lists(watch, max_size=3))


#: Files the direct path writes itself (as a rule), and files of anything at all.
_FILES = st.one_of(_files(_WORDY), _files(_WORDY), _files(_ANY_TEXT, odd=True))


def _outcome(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - both ways must fail alike on values no model would hold
        return type(exc)


def _reference_render(setup_file: SetupFile) -> str:
    """render_setup_file by way of the dicts, as it was written before the direct path."""
    body = writer._dict_body(setup_file)
    generated = {"generated": {"by": f"backtest extract {__version__}",
                               "article_sha256": setup_file.article.sha256,
                               "content_sha256": writer.content_hash(body)}}
    return writer.HEADER.format(id=setup_file.article.id, version=__version__) + body + writer.dump_yaml(generated)


@settings(max_examples=int(os.environ.get("BACKTEST_FUZZ_EXAMPLES", 400)), deadline=None)
@given(_FILES, st.booleans())
def test_the_direct_path_writes_what_the_dict_path_writes(setup_file, warm):
    if not warm:  # a string seen for the first time, and one whose style is known already
        writer._STRING_STYLE.clear()
        writer._PLAIN_TAG.clear()
    assert _outcome(writer.body_yaml, setup_file) == _outcome(writer._dict_body, setup_file)
    assert _outcome(writer.render_setup_file, setup_file) == _outcome(_reference_render, setup_file)


def test_the_direct_path_writes_the_extractors_files_itself(monkeypatch):
    """On a real setup file the direct path writes everything (no fallback to the dicts)."""
    from backtest.articles import parse_article_text
    from backtest.extraction.extractor import extract_article

    text = ("Weekly Setups\nPublished 2026-02-09 14:30 UTC\n\nBuy AMD above $160, stop $152, targets $175 and "
            "$182.50. Support at 150.25 holds; it's the level to watch ('the floor').\n")
    setup_file = extract_article(parse_article_text(text, "t"), lambda s, p: None).setup_file
    monkeypatch.setattr(writer, "_dict_body", lambda sf: (_ for _ in ()).throw(AssertionError("fell back")))
    assert writer.render_setup_file(setup_file).startswith("# Setup file for article t,")


def _base_file() -> SetupFile:
    """A file with every field the writer knows set: a single setup, a pair, a watch level, a source."""
    def source():
        return Provenance.model_construct(article_id="t", sha256="ab" * 32, spans=[Span.model_construct(start=1, end=2)])

    single = Setup.model_construct(
        id="t-s1", kind="single", instrument="AMD", symbol="AMD", status="ok", direction="long",
        entry=EntryOrder.model_construct(type="stop", level=160.0, window=5), stop=152.0, targets=[175.0, 182.5],
        invalidation=150.0, max_hold=10, scale_out="equal", ambiguity="stop-first", long=None, short=None,
        explicit=True, confidence=0.5, note="a note", source=source())
    pair = Setup.model_construct(
        id="t-s2", kind="pair", instrument="long SPY / short IWM", symbol=None, status="ok", direction="long",
        entry=EntryOrder.model_construct(type="market", level=None, window=None), stop=None, targets=[],
        invalidation=None, max_hold=None, scale_out=None, ambiguity=None,
        long=Leg.model_construct(instrument="SPY", symbol="SPY"), short=Leg.model_construct(instrument="IWM", symbol="IWM"),
        explicit=False, confidence=None, note="pair", source=source())
    watch = WatchLevel.model_construct(instrument="AMD", symbol="AMD", kind="support", levels=[150.25], note="w",
                                       source=source())
    article = ArticleMeta.model_construct(
        id="t", title=None, path="a/t.txt", sha256="ab" * 32, published=dt.date(2026, 2, 9), published_basis="stated",
        published_note="stated", stance="bullish", stance_basis="stated", pulse=50, threat=2, tags=["x"],
        subject=["AMD"], sources=[SourceRef.model_construct(title=None, outlet="Desk", date="Feb 8")])
    return SetupFile.model_construct(format="backtest.setups/1", article=article, setups=[single, pair], watch=[watch],
                                     generated=None)


_STRING_FIELDS = [
    ("format",), ("article", "id"), ("article", "path"), ("article", "sha256"), ("article", "published_basis"),
    ("article", "published_note"), ("article", "stance"), ("article", "stance_basis"), ("article", "pulse"),
    ("article", "threat"), ("article", "tags", 0), ("article", "subject", 0), ("article", "sources", 0, "outlet"),
    ("article", "sources", 0, "date"),
    *((("setups", i) + path) for i in (0, 1) for path in [
        ("id",), ("kind",), ("instrument",), ("symbol",), ("status",), ("direction",), ("entry", "type"),
        ("entry", "window"), ("max_hold",), ("scale_out",), ("ambiguity",), ("explicit",), ("confidence",), ("note",),
        ("source", "article_id"), ("source", "sha256")]),
    ("setups", 1, "long", "instrument"), ("setups", 1, "long", "symbol"), ("setups", 1, "short", "instrument"),
    ("setups", 1, "short", "symbol"),
    ("watch", 0, "instrument"), ("watch", 0, "symbol"), ("watch", 0, "kind"), ("watch", 0, "note"),
    ("watch", 0, "source", "article_id"), ("watch", 0, "source", "sha256"),
]
#: Strings of every length around the line width, with a space at every other column: plain, quoted (for
#: the first character, or a quote inside), and one space short of fitting.
_AROUND_THE_WIDTH = [first + ("a " * 60)[:length] + last for length in range(76, 116)
                     for first, last in [("", "b"), ("'", "b"), ("@", "x"), ("it's ", "b")]]


def _set(setup_file: SetupFile, path: tuple, value) -> SetupFile:
    setup_file = setup_file.model_copy(deep=True)
    target = setup_file
    for step in path[:-1]:
        target = target[step] if isinstance(step, int) else getattr(target, step)
    if isinstance(path[-1], int):
        target[path[-1]] = value
    else:
        object.__setattr__(target, path[-1], value)
    return setup_file


def test_every_field_folds_at_the_width_as_the_dict_path_folds_it():
    """Each field, in turn, holds text of every length around the width: the direct path must start it at the
    right column (a column off by one moves a line break), and write the file alike."""
    base = _base_file()
    assert writer.body_yaml(base) == writer._dict_body(base)
    for path in _STRING_FIELDS:
        for value in _AROUND_THE_WIDTH:
            setup_file = _set(base, path, value)
            assert _outcome(writer.body_yaml, setup_file) == _outcome(writer._dict_body, setup_file), (path, value)
            assert _outcome(writer.render_setup_file, setup_file) == _outcome(_reference_render, setup_file), (path, value)


def test_a_span_line_at_the_width_is_written_as_the_dict_path_writes_it():
    base = _base_file()
    for digits_start in range(40, 48):
        for digits_end in range(40, 48):
            span = Span.model_construct(start=10 ** (digits_start - 1), end=10 ** (digits_end - 1))
            for path in [("setups", 0, "source", "spans", 0), ("watch", 0, "source", "spans", 0)]:
                setup_file = _set(base, path, span)
                assert _outcome(writer.body_yaml, setup_file) == _outcome(writer._dict_body, setup_file)
