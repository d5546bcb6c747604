"""The loader's construction of plain YAML documents from libyaml's events gives exactly what PyYAML's
constructor gives, and the files it loads give the same setups and the same messages (line numbers
included) as the node path.

``backtest.setups.load._construct_from_events`` builds the data of alias-free documents of core-tag scalars
itself, without a node tree (calling PyYAML's scalar constructors), and hands everything else back; each
document below, from real setup files to odd scalars, is constructed both ways and compared value by value
and type by type.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
import yaml

from backtest.setups import load

ROOT = Path(__file__).resolve().parents[1]

ODD = [
    "a: 1\nb: 0x1F\nc: 0o17\nd: 1_000\ne: 1:30\nf: -0\ng: +12\n",
    "f: [1.5, .inf, -.Inf, .nan, 1e3, 6.8523015e+5, 1_0.5, 190:20:30.15]\n",
    "b: [yes, No, TRUE, off, on, y, n, true]\nn: [~, null, Null, '', \"\"]\n",
    "t: [2026-02-08, 2026-02-08T17:30:00Z, 2026-02-08 17:30:00.5 +01:00, 2001-12-14t21:59:43.10-05:00]\n",
    "s: 'quoted: yes'\nq: \"esc \\t \\u00e9\"\nm: |\n  block\n  text\nk: >\n  folded\n  text\n",
    "{1: one, 2.5: two, true: three, null: four, 2026-01-01: five}\n",
    "dup: 1\ndup: 2\nnested: {a: [1, {b: [2, 3]}], c: []}\nempty: {}\n",
    "- 1\n- [2, [3, [4, [5]]]]\n- {x: y}\n",
    "plain scalar document\n",
    "123\n",
    "a: !!float 1\nb: !!int 1\nc: !!str 1\nd: 1\ne: '1'\n",
    "prices: [25110.74, -0.0, -0.50, 007.50, 1.0, '25110.74', \"2.5\", 1.5e3, 1_000.5, 3.]\n",
]
NOT_PLAIN = [
    "a: &x [1, 2]\nb: *x\n",  # an alias
    "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",  # a merge key
    "a: !!binary aGVsbG8=\n",  # another tag
    "a: !!set {x, y}\n",
    "? [1, 2]\n: complex key\n",  # a sequence as a key
    "x: " + "[" * 40 + "]" * 40 + "\n",  # deeper than MAX_DEPTH
    "a: &x 1\nb: 2\n",  # an anchor, even unused
    "? {k: v}\n: a mapping as a key\n",
    "a: 1\n---\nb: 2\n",  # a second document
    "",  # no document
    "a: !!python/name:os.system x\n",
]


def same(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) and type(k) is type(kb) for k, kb in zip(a, b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and a != a:
        return b != b
    if isinstance(a, (dt.datetime,)):
        return a == b and a.tzinfo == b.tzinfo
    return a == b


def both(text: str):
    loader = load._Loader(text)  # the product's loader (memoised tags and scalars)
    try:
        plain = load._construct_from_events(loader)
    finally:
        loader.dispose()
    return plain, yaml.load(text, Loader=yaml.CSafeLoader)


def documents() -> list[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "setups").glob("*.yaml"))]
    texts += [p.read_text(encoding="utf-8", errors="replace")
              for p in sorted((ROOT / "tests" / "bad_inputs" / "setups").glob("*.yaml"))]
    return texts + ODD


@pytest.mark.parametrize("index", range(len(documents())))
def test_a_plain_document_is_built_as_pyyaml_builds_it(index):
    text = documents()[index]
    try:
        expected = yaml.load(text, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError):
        return  # refused by PyYAML itself: the loader's error path, tested in test_bad_inputs
    try:
        plain, _ = both(text)
    except load._NotPlain:
        return  # handed back: the checked path builds it
    assert same(plain, expected), text[:200]


@pytest.mark.parametrize("text", NOT_PLAIN)
def test_anything_but_a_plain_tree_is_handed_back(text):
    with pytest.raises(load._NotPlain):
        both(text)


def test_the_benchmark_corpus_is_plain_and_built_identically(tmp_path, market_data_dir):
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import corpus

    corpus.write_corpus(tmp_path, 200, market_data_dir)
    for path in sorted(tmp_path.glob("*.yaml")):
        plain, expected = both(path.read_text(encoding="utf-8"))
        assert same(plain, expected), path.name


@pytest.mark.parametrize("text", ODD)
def test_odd_scalars_take_the_plain_path(text):
    plain, expected = both(text)  # (no _NotPlain: these are plain trees)
    assert same(plain, expected)


def _tags(loader_class, text):
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
    finally:
        loader.dispose()
    out, stack = [], [root] if root is not None else []
    while stack:
        node = stack.pop()
        out.append((type(node).__name__, node.tag, node.value if isinstance(node, yaml.ScalarNode) else None))
        if isinstance(node, yaml.MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return out


def test_memoised_tags_are_libyamls_in_any_order():
    """The loader's memo gives every node the tag CSafeLoader gives it, whether the value was seen before
    in another context (quoted, plain, key, long text) or not: all documents forwards, then backwards."""
    texts = [t for t in documents() + NOT_PLAIN[:4] + ["a: '1'\nb: 1\nc: \"true\"\nd: true\ne: " + "x" * 100 + "\n"]]
    load._Loader._tags.clear()
    for order in (texts, texts[::-1]):
        for text in order:
            try:
                expected = _tags(yaml.CSafeLoader, text)
            except yaml.YAMLError:
                continue
            assert _tags(load._Loader, text) == expected, text[:120]
    assert load._Loader._tags and all(v is None or len(v) <= load._Loader._MAX_TEXT for _, v, _ in load._Loader._tags)


def _setup_texts(tmp_path, market_data_dir) -> list[tuple[str, bytes]]:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import corpus

    corpus.write_corpus(tmp_path, 100, market_data_dir)
    paths = sorted((ROOT / "setups").glob("*.yaml")) + sorted((ROOT / "tests" / "bad_inputs" / "setups").glob("*"))
    paths += sorted(tmp_path.glob("*.yaml"))
    return [(str(p.relative_to(ROOT) if p.is_relative_to(ROOT) else p.name), p.read_bytes()) for p in paths]


def test_files_load_as_on_the_node_path(tmp_path, market_data_dir, monkeypatch):
    """Every setup file (the seed setups, every bad input, a generated corpus) gives the same setups and the
    same skips, word for word and line for line, whether its data came from the event stream (and its
    node tree is composed only for a message) or from the node tree itself."""
    texts = _setup_texts(tmp_path, market_data_dir)
    fast = [load._parse(Path(name), data) for name, data in texts]

    def node_path(loader, flags=None):
        raise load._NotPlain

    monkeypatch.setattr(load, "_construct_from_events", node_path)
    slow = [load._parse(Path(name), data) for name, data in texts]
    plain = 0
    for (name, _), (f_file, f_skips), (s_file, s_skips) in zip(texts, fast, slow):
        assert f_skips == s_skips, name
        assert (f_file is None) == (s_file is None), name
        if f_file is not None:
            assert f_file.model_dump() == s_file.model_dump(), name
            plain += 1
    bad = [name for name, _ in texts if "bad_inputs" in name]
    assert plain >= 20 and len(bad) > 20  # both kinds were really compared
    assert sum(bool(skips) for _, skips in fast) >= len(bad) // 2  # messages with lines were compared


def test_a_message_line_comes_from_the_tree_composed_on_demand():
    text = b"format: backtest.setups/1\narticle:\n  id: a1\n  published: 2026-02-08\nsetups:\n  - id: s1\n" \
           b"    symbol: IWM\n    direction: long\n    entry: {type: stop, level: 100}\n    stopp: 95\n"
    setup_file, skips = load._parse(Path("x.yaml"), text)
    assert [s.reason.split(": ")[0] for s in skips] == ["x.yaml:10"]


def test_a_decimal_is_the_float_pyyaml_makes_sign_and_all():
    text = "a: [-0.0, 0.0, -12.50, 25110.74, 0.1]\nb: '1.5'\n"
    plain, expected = both(text)
    assert [math.copysign(1.0, x) for x in plain["a"]] == [math.copysign(1.0, x) for x in expected["a"]]
    assert plain == expected and type(plain["b"]) is str


def test_a_bad_tagged_value_before_a_syntax_error_is_still_the_syntax_error(tmp_path):
    """The event path constructs values while parsing; a value its constructor cannot make (``!!bool maybe``)
    hands the file to the node path, which parses the whole document first: the syntax error further down
    is what the file is refused for, as before, not an exception that stops the load."""
    text = (b"format: backtest.setups/1\narticle:\n  id: a1\n  published: 2026-02-08\nsetups: []\n"
            b"x: !!bool maybe\ny: [\n")
    setup_file, skips = load._parse(Path("x.yaml"), text)
    assert setup_file is None and len(skips) == 1 and "invalid YAML" in skips[0].reason


@pytest.mark.parametrize("value, wording", [
    ("!!bool maybe", "'maybe' is not a valid !!bool value"),  # PyYAML raises KeyError
    ("!!int ''", "'' is not a valid !!int value"),  # IndexError
    ("!!float abc", "'abc' is not a valid !!float value"),  # ValueError, not a date
    ("!!timestamp x", "'x' is not a real date/time; fix it"),  # AttributeError
    ("2026-02-31", "'2026-02-31' is not a real date/time (day is out of range for month)"),
])
def test_a_tagged_value_its_constructor_refuses_skips_that_file_only(tmp_path, value, wording):
    """A scalar PyYAML's constructor refuses raises KeyError/IndexError/AttributeError, not YAMLError: the
    file is skipped with its line and what to fix, and the other files still load (it used to stop the load)."""
    good = "format: backtest.setups/1\narticle:\n  id: {id}\n  published: 2026-02-08\n  x: {x}\nsetups: []\n"
    (tmp_path / "bad.yaml").write_text(good.format(id="bad", x=value))
    (tmp_path / "good.yaml").write_text(good.format(id="good", x="1").replace("  x: 1\n", ""))
    files, skips = load.load_setups(tmp_path)
    assert [f.article.id for f in files] == ["good"]
    assert len(skips) == 1 and skips[0].reason.startswith(f"{tmp_path / 'bad.yaml'}:5: {wording}")
