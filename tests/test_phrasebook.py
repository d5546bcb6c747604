"""The phrasebook (backtest/extraction/phrasebook.yaml), its matcher, and the fast writer path.

* every phrase compiles, and no phrase is listed twice with different meanings (but the few, named below,
  whose second meaning is read from context);
* the views the matchers see keep the text's length (offsets into them are offsets into the text);
* the token-trie matcher finds the longest phrase, left to right, without overlaps;
* the libyaml writer path (``dump_yaml``) writes exactly what PyYAML's pure-Python dumper writes;
* HTML, Markdown tables and shouted (all-caps) alerts read like plain text; a 4 MB paragraph extracts.
"""

from __future__ import annotations

import os
import re

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.articles import parse_article_text
from backtest.articles.reader import parse_article_bytes
from backtest.extraction.extractor import extract_article
from backtest.extraction.phrasebook import (
    PHRASEBOOK, TOKEN, Tokens, base_view, build_trie, compile_phrasebook, load_phrasebook, masked_view)
from backtest.setups.writer import _Flow, dump_yaml

#: Phrases with two meanings on purpose: "a rally to $92" is a short's limit entry ("fade a rally to"),
#: and after an entry a target ("long above 87 for a rally to 95"); the extractor decides by context.
# "bought" is an instruction in today's alert ("Bought QQQ at the market") and, with a calendar day in its
# sentence, a fill in the past (past_fill).
# "up to" is a target after an entry ("long above 100 for a move up to 110") and a limit's price before one
# ("Buy XLV up to $166.50").
TWO_MEANINGS = {("rally", "to"), ("a", "rally", "to"), ("bought",), ("up", "to")}


def test_every_phrase_compiles_and_the_shipped_file_is_version_1():
    data = yaml.safe_load(PHRASEBOOK.read_text(encoding="utf-8"))
    assert data["version"] == 1
    pb = compile_phrasebook(data)
    assert set(pb.tries) == {"cues", "sides", "flags"}
    assert all(pb.table[layer] for layer in pb.tries)
    assert pb.relative_to_entry.match("% below the entry")


def test_no_phrase_is_listed_twice_with_different_meanings():
    pb = load_phrasebook()
    clashes = []
    for layer, table in pb.table.items():
        for tokens, meanings in table.items():
            # the same role word before and after its level is one meaning ("stop $85", "a $85 stop"), and so
            # is the same trigger ("cracks $87", "if $87 cracks"); "not a side" phrases are also ignored as
            # sentence flags.
            names = {("trigger" if m.kind == "trigger_after" else m.kind, m.name) for m in meanings
                     if (m.kind, m.name) != ("flag", "ignore")}
            if len(names) > 1 and tokens not in TWO_MEANINGS:
                clashes.append((layer, " ".join(tokens), sorted(names)))
    assert clashes == []


@pytest.mark.parametrize("bad, message", [
    ({"version": 1, "triggers": {"above": ["on a", "a||b"]}}, "empty word"),
    ({"version": 1, "sides": {"long": ["?"]}}, None),
])
def test_a_bad_phrase_is_refused_with_its_text(bad, message):
    if message is None:  # a lone "?" is punctuation, not an optional marker: it compiles
        compile_phrasebook(bad)
        return
    with pytest.raises(ValueError, match=message):
        compile_phrasebook(bad)


def test_optional_words_and_alternatives_expand():
    pb = compile_phrasebook({"version": 1, "roles": {"stop": {"before": ["daily|weekly? close below"]}}})
    assert {" ".join(t) for t in pb.table["cues"]} == {"daily close below", "weekly close below", "close below"}


def test_the_matcher_takes_the_longest_phrase_left_to_right():
    trie = build_trie({("stop",): "short", ("stop", "loss"): "long", ("loss", "at"): "other"})
    view = "a stop loss at # and a stop at #"
    found = [(view[o.start:o.end], o.meanings) for o in Tokens(view).match(trie)]
    assert found == [("stop loss", "long"), ("stop", "short")]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab s1't ,.$#§%\n\t\r\u2028\x1c\u3000é→")), max_size=60),
       st.integers(0, 8), st.integers(0, 8))
def test_tokens_are_the_token_pattern_matches_with_their_offsets(text, cut_start, cut_end):
    """Tokens of text[start:end]: what TOKEN finds there, scanning left to right over any white space but the
    line break (odd spaces such as U+2028 or U+3000 included), with offsets into the whole text."""
    start, end = min(cut_start, len(text)), max(min(cut_start, len(text)), len(text) - cut_end)
    expected = [(m.group(), m.start(), m.end()) for m in TOKEN.finditer(text, start, end)]
    tokens = Tokens(text, start, end)
    assert list(zip(tokens.words, tokens.starts, tokens.ends)) == expected
    assert all(text[s:e].isspace() and "\n" not in text[s:e]
               for s, e in zip([start] + tokens.ends, tokens.starts + [end]) if s < e)


def test_phrases_match_words_not_characters():
    pb = load_phrasebook()
    view = masked_view(base_view("Stopped out; the stop-loss is $85."), [], [(27, 30)], [])
    occurrences = pb.scan("cues", view)
    assert [view[o.start:o.end] for o in occurrences] == ["stop loss"]  # not "stop" inside "stopped"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("aZ $1,.-–’'\u00a0\u2009*_`İßﬃé\n|#§%")), max_size=80))
def test_the_views_keep_the_text_length(text):
    base = base_view(text)
    assert len(base) == len(text)
    spans = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
    assert len(masked_view(base, [], spans, [])) == len(text)


# ------------------------------------------------------------------------------------- the writer path
_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
    st.sampled_from(["yes", "no", "null", "~", "1e3", "0x1f", "", " lead", "trail ", "a: b", "#x", "- x", "'q'",
                     '"dq"', "multi\nline", "tab\there", "€ 6,900", "é", "2026-02-09", "12:30", "@at", "%p", "*star",
                     "x" * 150, "word " * 40]),
    st.text(max_size=40),
)


class _PureDumper(yaml.SafeDumper):
    pass


_PureDumper.add_representer(
    _Flow, lambda d, data: d.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=True))


def _tree(depth: int = 3):
    keys = st.sampled_from(["symbol", "entry", "level", "targets", "note", "spans", "start", "end", "x y", "yes"])
    if depth == 0:
        return _SCALARS
    child = _tree(depth - 1)
    return st.one_of(
        _SCALARS,
        st.lists(child, max_size=4),
        st.dictionaries(keys, child, max_size=4),
        st.dictionaries(st.sampled_from(["start", "end"]), st.integers(0, 10**7), min_size=1).map(_Flow),
    )


@settings(max_examples=int(os.environ.get("BACKTEST_FUZZ_EXAMPLES", 300)), deadline=None)
@given(st.dictionaries(st.sampled_from(["format", "article", "setups", "watch"]), _tree(), max_size=4),
       st.sampled_from([80, 110]))
def test_dump_yaml_writes_what_the_pure_python_dumper_writes(data, width):
    written = dump_yaml(data, width=width)
    assert yaml.safe_load(written) == data  # what is written reads back as the same data, always
    expected = yaml.dump(data, Dumper=_PureDumper, sort_keys=False, allow_unicode=True, width=width)
    # Byte for byte where PyYAML's own emitter is right: it writes NEL (U+0085) raw inside single quotes,
    # which reads back as a space; libyaml writes "\N", which reads back as NEL.
    if yaml.safe_load(expected) == data:
        assert written == expected


# ------------------------------------------------------------------------------------- other page forms
def _setups(text: str, name: str = "t"):
    article = parse_article_text(text, name)
    return [(s.symbol, s.direction, s.entry.type, s.entry.level, s.stop, s.targets)
            for s in extract_article(article, lambda s, p: None).setup_file.setups]


def test_an_html_page_reads_as_its_text():
    html = ("<html><head><title>Trade Idea: AMD</title></head><body><p class='date'>Published March 3, 2026</p>"
            "<p>We are <b>buying AMD</b> above <span>$160</span>, stop <i>$152</i>, target $175.</p>"
            "<p>Semis have lagged the index for a month and the chart has finally based out.</p></body></html>")
    article = parse_article_bytes(html.encode(), "amd.html")
    assert article.published is not None
    sf = extract_article(article, lambda s, p: None).setup_file
    assert [(s.symbol, s.entry.type, s.entry.level, s.stop, s.targets) for s in sf.setups] == [
        ("AMD", "stop", 160.0, 152.0, [175.0])]
    for span in sf.setups[0].source.spans:  # spans index the text as read (tags included)
        assert article.text[span.start:span.end].strip()


def test_a_markdown_table_of_setups_reads_row_by_row():
    text = ("# Weekly Setups\n\nPublished 2026-02-09 14:30 UTC\n\n"
            "Three names on the list this week, each with a defined risk and a first target.\n\n"
            "| Ticker | Side | Entry | Stop | Target |\n|---|---|---|---|---|\n"
            "| AMD | Long | 160 | 152 | 175 |\n| XLE | Short | 44 | 46 | 40 |\n")
    assert _setups(text) == [("AMD", "long", "limit", 160.0, 152.0, [175.0]),
                             ("XLE", "short", "limit", 44.0, 46.0, [40.0])]


def test_a_shouted_alert_keeps_its_cue_words_out_of_the_tickers():
    text = ("TRADE ALERT\nPublished 2026-02-09 14:30 UTC\nBUY AMD ABOVE 160. STOP 152. TARGET 175.\n"
            "Semis have lagged the index for a month and the chart has finally based out.\n")
    assert _setups(text) == [("AMD", "long", "stop", 160.0, 152.0, [175.0])]


def test_a_four_megabyte_paragraph_extracts():
    """Correctness only (the time is measured by benchmarks/extraction_speed.py, not tested)."""
    filler = "Breadth improved while bonds went nowhere and volumes were thin across most sectors. " * 48_000
    text = "Desk Notes\nPublished 2026-02-09 14:30 UTC\n" + filler + "Buy AMD above $160, stop $152, target $175."
    assert len(text) > 4_000_000
    assert _setups(text) == [("AMD", "long", "stop", 160.0, 152.0, [175.0])]


def test_the_fast_writer_path_matches_the_pure_python_dumper_on_setup_shaped_data():
    """Setup-file shapes with awkward words (quotes, indicators, look-alikes of numbers and dates, long notes
    that fold at the width): the direct emitter must write them itself and byte for byte like PyYAML."""
    import random

    from backtest.setups import writer

    rng = random.Random(10)
    words = ["level", "2,100", "is", "nearest", "to", "^RUT", "(last", "close)", "it's", "'quoted'", "a:b", "x#y",
             "$87", "-", "--", "%", "@at", "é", "yes", "null", "1e3", "12:30", "", " ", "a,b", "[x]", "{y}", "?",
             "!", "&a", "*b", "|", ">", "~", "=", "<<", "0x1f", "007", "2026-02-09", "stop 5% below", "ES=F"]

    def text():
        if rng.random() < 0.1:
            return rng.choice(words)
        return " ".join(rng.choice(words) for _ in range(rng.randint(0, 30)))

    fast = 0
    for _ in range(3000):
        data = {"format": text(), "article": {"id": text(), "published": None, "pulse": rng.randint(0, 100),
                                              "note": text(), "subject": [text() for _ in range(rng.randint(0, 3))]},
                "setups": [{"id": text(), "entry": {"type": "stop", "level": rng.random() * 1e4},
                            "targets": [rng.choice([2080, 141.06, 1e-05, 6.9e3])] * rng.randint(0, 2),
                            "explicit": rng.random() < 0.5, "note": text(),
                            "source": {"spans": [_Flow(start=rng.randint(0, 10**6), end=rng.randint(0, 10**6))]}}
                           for _ in range(rng.randint(0, 2))],
                "watch": []}
        width = rng.choice([40, 80, 110])
        expected = yaml.dump(data, Dumper=_PureDumper, sort_keys=False, allow_unicode=True, width=width)
        try:
            got = writer._fast_yaml(data, width)
        except writer._Unusual:
            continue
        fast += 1
        assert got == expected, (data, width)
    assert fast > 2900  # the direct path writes (nearly) everything a setup file holds


@pytest.mark.parametrize("text", ["\x85\U00010000", "title \U0001F9F5 with\x85NEL", "\U0001F9F5"])
def test_emoji_and_nel_together_read_back_as_written(text):
    data = {"format": text, "article": {"title": text}}
    assert yaml.safe_load(dump_yaml(data)) == data


def test_no_phrase_expands_into_a_combinatorial_number_of_word_sequences():
    """A phrase with many alternatives per word is every combination of them in the trie: one such phrase of
    this round ("zone|area|... is|are where i|we|... would|will|want|like|start? to? buy|short|...") was
    tens of thousands of paths and 12 MiB of memory per process. Each phrase stays under 4,000 sequences and
    the whole phrasebook under 15,000 (about 8,800 today)."""
    import yaml

    from backtest.extraction.phrasebook import PHRASEBOOK, _expand

    sizes: list[tuple[int, str]] = []

    def walk(node):
        if isinstance(node, str):
            sizes.append((len(_expand(node)), node))
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)

    walk(yaml.safe_load(PHRASEBOOK.read_text(encoding="utf-8")))
    assert max(sizes)[0] < 4000, max(sizes)
    assert sum(n for n, _ in sizes) < 15000
