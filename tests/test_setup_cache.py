"""The parsed-setup cache's two levels keep a re-run equal to a cold load, under every kind of change.

A corpus of the benchmark's hand-written-style setup files (``benchmarks/corpus.py``, on the real mirror
prices) plus bad files from ``tests/bad_inputs`` (skips, a duplicate setup id) is loaded cold without any
cache; every cached load below must give the same setup table (every value and dtype) and the same skips
in the same order. Reads and parses are counted by wrapping the loader's own functions, so each test
also shows *how* the result was obtained: an unchanged corpus is not read at all, a touched file is read
but not parsed, an edited file (even one given back its old size and mtime) is parsed again.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from backtest.setups import cache as cache_module
from backtest.setups import load
from backtest.setups.cache import ParsedSetupCache
from backtest.setups.table import ARTICLE_SCHEMA, SETUP_SCHEMA, decode_frame, encode_frame

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
BAD = Path(__file__).parent / "bad_inputs" / "setups"


@pytest.fixture(scope="module")
def corpus_template(tmp_path_factory, market_data_dir) -> Path:
    import corpus

    folder = tmp_path_factory.mktemp("corpus") / "setups"
    corpus.write_corpus(folder, 150, market_data_dir)
    for name in ("unknown_field.yaml", "invalid_yaml.yaml"):
        shutil.copy(BAD / name, folder / name)
    first = sorted(folder.glob("note-*.yaml"))[0]  # its setups again, under another article: duplicate ids
    (folder / "zz_duplicates.yaml").write_text(first.read_text().replace("  id: note-", "  id: copy-of-note-", 1))
    return folder


@pytest.fixture
def folder(tmp_path, corpus_template) -> Path:
    target = tmp_path / "setups"
    shutil.copytree(corpus_template, target)
    return target


@pytest.fixture
def counted(monkeypatch):
    """Counts of files read and parsed by the loader (wrapping its own functions)."""
    counts = {"read": [], "parsed": []}
    read, parse = load._read_stat, load._parse

    def counting_read(path):
        counts["read"].append(Path(path).name)
        return read(path)

    def counting_parse(path, data):
        counts["parsed"].append(Path(path).name)
        return parse(path, data)

    monkeypatch.setattr(load, "_read_stat", counting_read)
    monkeypatch.setattr(load, "_parse", counting_parse)

    def take():
        out = {k: sorted(v) for k, v in counts.items()}
        for v in counts.values():
            v.clear()
        return out

    return take


@pytest.fixture
def not_racy(monkeypatch):
    """Files written by the test a moment ago count as settled (else every one is re-hashed: see
    test_a_file_written_just_before_the_run_is_hashed_again_next_time)."""
    monkeypatch.setattr(cache_module, "RACY_NS", 0)


def cold(folder: Path):
    return load.load_table(load.discover(folder).setup_paths)


def cached(folder: Path, root: Path):
    return load.load_table(load.discover(folder).setup_paths, cache=ParsedSetupCache(root))


def assert_same(a, b):
    pd.testing.assert_frame_equal(a.table.articles, b.table.articles, check_exact=True)
    pd.testing.assert_frame_equal(a.table.setups, b.table.setups, check_exact=True)
    for frame_a, frame_b in ((a.table.articles, b.table.articles), (a.table.setups, b.table.setups)):
        for column in frame_a.columns:  # tuples stay tuples, None stays None
            assert [type(v) for v in frame_a[column]] == [type(v) for v in frame_b[column]], column
    assert a.skips == b.skips


def test_the_columnar_encoding_gives_back_every_value_and_dtype(folder):
    table = cold(folder).table
    assert len(table) > 100 and table.setups["targets"].map(len).max() >= 2 and table.setups["entry_window"].isna().any()
    for frame, schema in ((table.articles, ARTICLE_SCHEMA), (table.setups, SETUP_SCHEMA)):
        back = decode_frame(encode_frame(frame, schema), schema)
        pd.testing.assert_frame_equal(frame, back, check_exact=True)
        assert list(back.dtypes) == list(frame.dtypes)
    with pytest.raises(ValueError):
        decode_frame(encode_frame(table.articles, ARTICLE_SCHEMA), SETUP_SCHEMA)


def test_an_unchanged_corpus_is_served_without_reading_a_file(folder, tmp_path, counted, not_racy):
    reference = cold(folder)
    counted()
    first = cached(folder, tmp_path / "cache")
    assert len(counted()["parsed"]) == first.files and first.cached == 0
    second = cached(folder, tmp_path / "cache")
    assert counted() == {"read": [], "parsed": []}
    assert second.cached == second.files - 0 and second.files == len(load.discover(folder).setup_paths)
    assert_same(reference, first)
    assert_same(reference, second)
    assert any("unknown field" in s.reason for s in second.skips)
    assert any("duplicate setup id" in s.reason for s in second.skips)


def test_editing_one_file_reparses_only_it_and_equals_a_cold_load(folder, tmp_path, counted, not_racy):
    cached(folder, tmp_path / "cache")
    victim = sorted(folder.glob("note-*.yaml"))[3]
    text = victim.read_text()
    assert "stop: " in text
    victim.write_text(text.replace("stop: ", "stop: 1", 1))
    counted()
    after = cached(folder, tmp_path / "cache")
    assert counted() == {"read": [victim.name], "parsed": [victim.name]}
    assert after.cached == after.files - 1
    assert_same(cold(folder), after)
    counted()
    again = cached(folder, tmp_path / "cache")  # the new snapshot serves the edited corpus
    assert counted() == {"read": [], "parsed": []}
    assert_same(cold(folder), again)


def test_a_touch_without_change_rereads_the_file_but_parses_nothing(folder, tmp_path, counted, not_racy):
    cached(folder, tmp_path / "cache")
    victim = sorted(folder.glob("note-*.yaml"))[5]
    st = victim.stat()
    os.utime(victim, ns=(st.st_atime_ns, st.st_mtime_ns - 5_000_000_000))  # (a future time would be racy)
    counted()
    after = cached(folder, tmp_path / "cache")
    assert counted() == {"read": [victim.name], "parsed": []}
    assert_same(cold(folder), after)
    counted()
    cached(folder, tmp_path / "cache")  # its new signature was stored: not even read now
    assert counted() == {"read": [], "parsed": []}


@pytest.mark.parametrize("how", ["rewritten in place", "replaced by another file"])
def test_a_file_replaced_with_the_same_size_and_mtime_is_parsed_again(folder, tmp_path, counted, not_racy, how):
    cached(folder, tmp_path / "cache")
    victim = sorted(folder.glob("note-*.yaml"))[7]
    before = victim.stat()
    text = victim.read_text()
    changed = re.sub(r"stop: (\d+)\.(\d)", lambda m: f"stop: {m[1]}.{(int(m[2]) + 1) % 10}", text, count=1)
    assert changed != text and len(changed) == len(text)
    if how == "rewritten in place":
        victim.write_text(changed)
    else:
        other = tmp_path / "other.yaml"
        other.write_text(changed)
        os.replace(other, victim)
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (victim.stat().st_size, victim.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    counted()
    after = cached(folder, tmp_path / "cache")
    assert counted() == {"read": [victim.name], "parsed": [victim.name]}
    assert_same(cold(folder), after)


def test_a_file_written_just_before_the_run_is_hashed_again_next_time(folder, tmp_path, counted):
    # the default margin: a file whose times lie within RACY_NS of the run's start could still change in
    # the same timestamp tick, so its signature is not trusted; its content key still is
    assert cache_module.RACY_NS >= 1_000_000_000
    cached(folder, tmp_path / "cache")
    fresh = sorted(folder.glob("note-*.yaml"))[2]
    fresh.write_text(fresh.read_text())  # same bytes, written now
    counted()
    cached(folder, tmp_path / "cache")
    seen = counted()
    assert fresh.name in seen["read"] and seen["parsed"] == []


def test_added_and_removed_files_and_a_changed_title_source_are_followed(folder, tmp_path, not_racy, counted,
                                                                         market_data_dir):
    cached(folder, tmp_path / "cache")
    extra = folder / "zz_new.yaml"
    extra.write_text(sorted(folder.glob("note-*.yaml"))[0].read_text().replace("id: note-", "id: new-note-"))
    assert_same(cold(folder), cached(folder, tmp_path / "cache"))
    sorted(folder.glob("note-*.yaml"))[1].unlink()
    assert_same(cold(folder), cached(folder, tmp_path / "cache"))
    # the article file a title is read from: its change is seen although no setup file changed
    article = tmp_path / "article.txt"
    body = (market_data_dir.parent / "articles" / "000_7eabb35e4aa9ecf1.txt").read_bytes()  # read, not copied
    article.write_bytes(b"title: First headline of the day\n\n" + body)
    titled = folder / "zz_titled.yaml"
    titled.write_text("format: backtest.setups/1\narticle: {id: titled, published: 2026-02-02, path: "
                      f"{article}}}\nsetups: []\n")
    first = cached(folder, tmp_path / "cache")
    assert "First headline of the day" in set(first.table.articles["title"].dropna())
    article.write_bytes(b"title: Second headline of the day\n\n" + body)
    counted()
    second = cached(folder, tmp_path / "cache")
    assert counted()["parsed"] == [titled.name]
    assert "Second headline of the day" in set(second.table.articles["title"].dropna())
    assert_same(cold(folder), second)


def test_a_broken_snapshot_only_costs_time(folder, tmp_path, not_racy):
    cached(folder, tmp_path / "cache")
    import sqlite3

    db = sqlite3.connect(tmp_path / "cache" / "parsed.sqlite")
    db.execute("UPDATE corpora SET setups = ?, meta = meta", (b"not arrow",))
    db.commit()
    db.close()
    assert_same(cold(folder), cached(folder, tmp_path / "cache"))
