"""The setup-file loader: every problem is one Skip naming file:line and field; the rest still loads."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from backtest.errors import UsageError
from backtest.setups.load import load_setups
from backtest.setups.model import SetupFile

GOOD = """\
format: backtest.setups/1
article:
  id: {article}
  published: 2026-02-09T14:00:00Z
  stance: bullish
  subject: [AAA]
setups:
  - id: {article}-1
    symbol: AAA
    direction: long
    entry: {{type: stop, level: 101}}
    stop: 95
    targets: [110]
  - id: {article}-2
    symbol: AAA
    stop: 90
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def one_line(reason: str) -> bool:
    return "\n" not in reason and len(reason) < 400


def test_good_directory_loads_every_file_in_order(tmp_path):
    write(tmp_path, "b.yaml", GOOD.format(article="bbb"))
    write(tmp_path, "a.yml", GOOD.format(article="aaa"))
    files, skips = load_setups(tmp_path)
    assert [f.article.id for f in files] == ["aaa", "bbb"]
    assert [s.id for s in files[0].setups] == ["aaa-1", "aaa-2"]
    assert files[0].setups[0].entry.level == 101
    assert skips == []


def test_single_file_path(tmp_path):
    path = write(tmp_path, "a.yaml", GOOD.format(article="aaa"))
    files, skips = load_setups(path)
    assert len(files) == 1 and not skips


def test_invalid_yaml_names_file_and_line_and_other_files_still_load(tmp_path):
    write(tmp_path, "a.yaml", GOOD.format(article="aaa"))
    bad = write(tmp_path, "broken.yaml", "article:\n  id: x\n  published: [2026-01-01\nsetups: []\n")
    files, skips = load_setups(tmp_path)
    assert [f.article.id for f in files] == ["aaa"]
    assert len(skips) == 1
    skip = skips[0]
    assert skip.kind == "setup-file" and skip.item == str(bad)
    assert skip.reason.startswith(f"{bad}:4: invalid YAML")
    assert one_line(skip.reason)


def test_unknown_field_skips_only_that_setup_with_line(tmp_path):
    text = GOOD.format(article="aaa").replace("    stop: 90\n", "    stopp: 90\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-1"]
    assert len(skips) == 1
    line = text.splitlines().index("    stopp: 90") + 1
    assert skips[0].item == "aaa-2" and skips[0].kind == "setup"
    assert skips[0].reason.startswith(f"{path}:{line}: setups[1].stopp: unknown field")
    assert "spelling" in skips[0].reason and one_line(skips[0].reason)


def test_wrong_type_names_field_and_value(tmp_path):
    text = GOOD.format(article="aaa").replace("    stop: 95\n", "    stop: ninety-five\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-2"]
    line = text.splitlines().index("    stop: ninety-five") + 1
    assert skips[0].reason.startswith(f"{path}:{line}: setups[0].stop: ")
    assert "'ninety-five'" in skips[0].reason


def test_missing_required_setup_field(tmp_path):
    text = GOOD.format(article="aaa").replace("  - id: aaa-2\n", "  - note: no id here\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-1"]
    assert skips[0].item == "setups[1]"
    assert f"{path}:" in skips[0].reason and "setups[1].id: required field is missing" in skips[0].reason


def test_missing_article_field_skips_the_file(tmp_path):
    write(tmp_path, "a.yaml", GOOD.format(article="aaa").replace("  published: 2026-02-09T14:00:00Z\n", ""))
    write(tmp_path, "b.yaml", GOOD.format(article="bbb"))
    files, skips = load_setups(tmp_path)
    assert [f.article.id for f in files] == ["bbb"]
    assert skips[0].kind == "setup-file"
    assert "article.published: required field is missing" in skips[0].reason


def test_naive_publication_time_is_refused_with_a_hint(tmp_path):
    write(tmp_path, "a.yaml", GOOD.format(article="aaa").replace("14:00:00Z", "14:00:00"))
    files, skips = load_setups(tmp_path)
    assert files == []
    assert "article.published" in skips[0].reason and "timezone" in skips[0].reason


def test_unknown_top_level_field_names_its_line(tmp_path):
    text = GOOD.format(article="aaa").replace("setups:\n", "setup:\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert files == []
    line = text.splitlines().index("setup:") + 1
    assert skips[0].reason.startswith(f"{path}:{line}: unknown top-level field 'setup'")


def test_duplicate_setup_id_across_files_keeps_the_first(tmp_path):
    first = write(tmp_path, "a.yaml", GOOD.format(article="aaa"))
    second = write(tmp_path, "b.yaml", GOOD.format(article="bbb").replace("id: bbb-2", "id: aaa-1"))
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-1", "aaa-2"]
    assert [s.id for s in files[1].setups] == ["bbb-1"]
    assert len(skips) == 1 and skips[0].item == "aaa-1"
    assert str(first) in skips[0].reason and str(second) in skips[0].reason


def test_duplicate_setup_id_within_a_file(tmp_path):
    write(tmp_path, "a.yaml", GOOD.format(article="aaa").replace("id: aaa-2", "id: aaa-1"))
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-1"]
    assert "duplicate setup id 'aaa-1'" in skips[0].reason


def test_empty_and_non_mapping_files_are_skipped(tmp_path):
    write(tmp_path, "empty.yaml", "")
    write(tmp_path, "list.yaml", "- 1\n- 2\n")
    write(tmp_path, "a.yaml", GOOD.format(article="aaa"))
    files, skips = load_setups(tmp_path)
    assert len(files) == 1
    reasons = sorted(s.reason for s in skips)
    assert "file is empty" in reasons[0] and "a list, not a mapping" in reasons[1]


def test_not_utf8_is_skipped(tmp_path):
    (tmp_path / "bin.yaml").write_bytes(b"article:\n  id: \xff\xfe\n")
    write(tmp_path, "a.yaml", GOOD.format(article="aaa"))
    files, skips = load_setups(tmp_path)
    assert len(files) == 1 and "not UTF-8" in skips[0].reason


def test_empty_directory_is_a_usage_error(tmp_path):
    (tmp_path / "notes.json").write_text("{}")  # neither a setup file nor an article
    with pytest.raises(UsageError) as info:
        load_setups(tmp_path)
    assert str(tmp_path) in info.value.one_line() and info.value.exit_code == 2


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError):
        load_setups(tmp_path / "nope")


def test_json_dump_round_trip_keeps_a_date_only_publication(tmp_path):
    """``model_dump(mode="json")`` writes a date as a quoted string; it must load back as a date."""
    setup_file = SetupFile.model_validate({"article": {"id": "d", "published": dt.date(2026, 2, 20)}, "setups": []})
    write(tmp_path, "d.yaml", yaml.safe_dump(setup_file.model_dump(mode="json"), sort_keys=False))
    files, skips = load_setups(tmp_path)
    assert skips == []
    assert files[0].article.published == dt.date(2026, 2, 20)
    assert files[0] == setup_file


def test_repeated_key_in_a_setup_skips_that_setup(tmp_path):
    text = GOOD.format(article="aaa").replace("    stop: 95\n", "    stop: 95\n    stop: 96\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert [s.id for s in files[0].setups] == ["aaa-2"]
    line = text.splitlines().index("    stop: 96") + 1
    assert skips[0].item == "aaa-1"
    assert skips[0].reason == f"{path}:{line}: setups[0].stop: key appears twice in the same block; keep one"


def test_repeated_key_in_the_article_skips_the_file(tmp_path):
    text = GOOD.format(article="aaa").replace("  stance: bullish\n", "  stance: bullish\n  stance: bearish\n")
    path = write(tmp_path, "a.yaml", text)
    files, skips = load_setups(tmp_path)
    assert files == []
    line = text.splitlines().index("  stance: bearish") + 1
    assert skips[0].reason.startswith(f"{path}:{line}: article.stance: key appears twice")


def test_date_only_publication_string_is_a_date_not_naive_midnight():
    """JSON or quoted YAML dates mean 'after that day's close', never a naive datetime."""
    import datetime as dt

    from backtest.setups.model import ArticleMeta

    meta = ArticleMeta.model_validate_json('{"id": "a", "published": "2026-02-01"}')
    assert meta.published == dt.date(2026, 2, 1) and not isinstance(meta.published, dt.datetime)
    assert meta.published_iso == "2026-02-01"


@pytest.mark.parametrize("published, expected", [
    ("'2026-02-09'", dt.date(2026, 2, 9)),  # a quoted date is a date (published after that day's close)
    ("'2026-02-31'", None),                 # an impossible quoted date is a skip naming the field, no traceback
])
def test_quoted_publication_date(tmp_path, published, expected):
    path = write(tmp_path, "a.yaml", GOOD.format(article="aaa").replace("2026-02-09T14:00:00Z", published))
    files, skips = load_setups(path)
    if expected is not None:
        assert [f.article.published for f in files] == [expected] and not skips
    else:
        assert files == [] and len(skips) == 1
        assert skips[0].reason.startswith(f"{path}:4: article.published") and one_line(skips[0].reason)


@pytest.mark.parametrize("number", ["20260202", "1770000000", "2026.02", "true"])
def test_a_number_in_published_is_refused_not_read_as_seconds_since_1970(tmp_path, number):
    write(tmp_path, "n.yaml", GOOD.format(article="n").replace("2026-02-09T14:00:00Z", number))
    write(tmp_path, "ok.yaml", GOOD.format(article="ok"))
    files, skips = load_setups(tmp_path)
    assert [f.article.id for f in files] == ["ok"]
    (skip,) = [s for s in skips if "n.yaml" in s.item or "n.yaml" in s.reason]
    assert "published" in skip.reason and "not a date" in skip.reason and one_line(skip.reason)


def test_parsing_on_every_core_gives_the_serial_result(tmp_path, monkeypatch):
    """Many files are parsed by one process per core: the table, the skips (their order too) and the cached
    entries are those of parsing them one by one, bad files and duplicate ids included."""
    import sys

    from backtest.setups import load

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import corpus

    folder = tmp_path / "corpus"
    corpus.write_corpus(folder, 900, Path(__file__).resolve().parents[2] / "shared" / "market-data")
    good = sorted(folder.glob("*.yaml"))
    (folder / "note-000002.yaml").write_text("article: [unclosed\n")  # invalid YAML in the middle
    (folder / "note-000007.yaml").write_text(good[5].read_text().replace("setups:", "setups:\n  - {id: x}", 1))
    dup = good[10].read_text()
    (folder / "zz-duplicate.yaml").write_text(dup)  # same setup ids as another file: skipped as duplicates
    paths = sorted(folder.glob("*.yaml"))

    monkeypatch.setenv("BACKTEST_THREADS", "1")
    serial = load.load_table(paths)
    monkeypatch.setenv("BACKTEST_THREADS", "2")
    monkeypatch.setattr(load, "PARALLEL_PARSE_MIN", 10)
    monkeypatch.setattr(load, "PARSE_CHUNK", 17)
    import os

    log = tmp_path / "pids"
    real = load._entry

    def entry(path, data):  # forked with the pool: records which process parsed each file
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return real(path, data)

    monkeypatch.setattr(load, "_entry", entry)
    parallel = load.load_table(paths)
    pids = log.read_text().split()
    assert len(pids) == len(paths)  # every file parsed once...
    assert str(os.getpid()) not in pids and len(set(pids)) == 2  # ...by the two pool processes
    assert parallel.table.setups.equals(serial.table.setups)
    assert parallel.table.articles.equals(serial.table.articles)
    assert parallel.skips == serial.skips
    assert len(serial.table.setups) > 800 and any("invalid YAML" in s.reason for s in serial.skips)
    assert any("duplicate" in s.reason for s in serial.skips)


def test_more_targets_than_the_engine_codes_are_refused_for_that_setup_only(tmp_path):
    """Target j exits with reason code 10 + j in an int8: a setup may list at most MAX_TARGETS (20) targets;
    one with more is skipped with its line, its neighbour still loads, and 20 targets load."""
    from backtest.limits import MAX_TARGETS

    many = ", ".join(str(110 + i) for i in range(MAX_TARGETS + 1))
    most = ", ".join(str(110 + i) for i in range(MAX_TARGETS))
    write(tmp_path, "a.yaml", GOOD.format(article="a").replace("targets: [110]", f"targets: [{many}]"))
    write(tmp_path, "b.yaml", GOOD.format(article="b").replace("targets: [110]", f"targets: [{most}]"))
    files, skips = load_setups(tmp_path)
    assert [s.id for f in files for s in f.setups] == ["a-2", "b-1", "b-2"]
    (skip,) = skips
    assert skip.item == "a-1" and "a.yaml:" in skip.reason and "targets" in skip.reason and "at most 20" in skip.reason
    assert one_line(skip.reason)


def test_a_parsing_process_that_dies_costs_time_not_files(tmp_path, monkeypatch):
    """A pool worker killed mid-parse (the OOM killer, kill -9) breaks the pool at once instead of hanging
    the run: the files it did not return are parsed here, and the table is the serial one."""
    import os
    import signal
    import sys

    from backtest.setups import load

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import corpus

    folder = tmp_path / "corpus"
    corpus.write_corpus(folder, 400, Path(__file__).resolve().parents[2] / "shared" / "market-data")
    paths = sorted(folder.glob("*.yaml"))
    monkeypatch.setenv("BACKTEST_THREADS", "1")
    serial = load.load_table(paths)

    parent, real = os.getpid(), load._entry

    def entry(path, data):
        if os.getpid() != parent and path.name == paths[30].name:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, data)

    monkeypatch.setenv("BACKTEST_THREADS", "2")
    monkeypatch.setattr(load, "PARALLEL_PARSE_MIN", 10)
    monkeypatch.setattr(load, "PARSE_CHUNK", 20)
    monkeypatch.setattr(load, "_entry", entry)
    broken = load.load_table(paths)
    assert broken.table.setups.equals(serial.table.setups) and broken.skips == serial.skips


def test_the_parsing_processes_store_the_cache_entries_the_parent_would(tmp_path, monkeypatch):
    """The pool's processes encode the cache text of what they parse: the stored entries are the same, byte
    for byte, as a one-process load's, and a second load reads them back as the same table."""
    import sqlite3
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import corpus
    from backtest.setups.cache import ParsedSetupCache

    folder = tmp_path / "corpus"
    from backtest.setups import load

    corpus.write_corpus(folder, 300, Path(__file__).resolve().parents[2] / "shared" / "market-data")
    paths = sorted(folder.glob("*.yaml"))

    def stored(cache_dir):
        db = sqlite3.connect(cache_dir / "setups" / "parsed.sqlite")
        try:
            return db.execute("SELECT key, path, value FROM entries ORDER BY key").fetchall()
        finally:
            db.close()

    monkeypatch.setenv("BACKTEST_THREADS", "1")
    serial = load.load_table(paths, cache=ParsedSetupCache.under(tmp_path / "one"))
    monkeypatch.setenv("BACKTEST_THREADS", "2")
    monkeypatch.setattr(load, "PARALLEL_PARSE_MIN", 10)
    monkeypatch.setattr(load, "PARSE_CHUNK", 13)
    parallel = load.load_table(paths, cache=ParsedSetupCache.under(tmp_path / "two"))
    assert parallel.cached == serial.cached == 0
    rows = stored(tmp_path / "one")
    assert len(rows) == len(paths) and stored(tmp_path / "two") == rows
    (folder / "touched.yaml").write_bytes(paths[0].read_bytes().replace(b"note-000001", b"note-touched"))
    again = load.load_table(sorted(folder.glob("*.yaml")), cache=ParsedSetupCache.under(tmp_path / "two"))
    assert again.cached == len(paths)  # every stored entry read back; only the new file parsed
    setups = again.table.setups
    kept = setups[~setups["setup_id"].str.startswith("note-touched")].drop(columns="article").reset_index(drop=True)
    assert kept.equals(parallel.table.setups.drop(columns="article").reset_index(drop=True))
