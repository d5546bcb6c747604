"""Limits before work, and scheduled-run behaviour (issue 14), end to end through ``backtest run``.

Every case is one line naming the culprit, no traceback, the rest of the run evaluated: YAML alias bombs,
deep nesting and recursive aliases refused before anything is constructed; an ``article.path`` pointing at
a huge file; huge integers in a setup file, in ``[run]`` and on the command line; ``--costs-bps nan``;
symlinked and unreadable sub-folders reported; a run that evaluated nothing exits 1 with one line even
under ``--quiet``; the config file used is named; stale data warned about; names from inputs printed with
control characters escaped; a non-UTF-8 stdout does not crash the summary; the parsed-setup cache.
Bars are the invented ones of test_bad_inputs.py (a mirror of made-up series).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_bad_inputs import FIXTURES, assert_good_row_evaluated, bars_template, make_workspace  # noqa: F401

BOMB = """\
format: backtest.setups/1
article: {id: bomb, published: 2026-02-02}
a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


@pytest.fixture
def ws(tmp_path, bars_template):
    return make_workspace(tmp_path / "ws", bars_template)


def skipped_reasons(outcome) -> list[str]:
    return [s["reason"] for s in outcome.summary["skipped"]]


def test_an_alias_bomb_is_refused_before_it_expands(ws):
    (ws.inputs / "bomb.yaml").write_text(BOMB)  # 9^9 = 387 million values if expanded
    start = time.perf_counter()
    outcome = ws.run()
    assert time.perf_counter() - start < 120  # expanded, it would never finish
    assert outcome.exit_code == 0 and outcome.exception is None
    (reason,) = skipped_reasons(outcome)
    assert reason.startswith(f"{ws.inputs / 'bomb.yaml'}:") and "aliases expand to more than 200,000 values" in reason
    assert_good_row_evaluated(outcome)


@pytest.mark.parametrize("text, fragment", [
    ("format: backtest.setups/1\narticle: {id: deep, published: 2026-02-02}\nx: " + "[" * 40 + "]" * 40 + "\n",
     "nests deeper than 32 levels"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nests deeper than 32 levels"),  # past libyaml's own bound
    ("format: backtest.setups/1\narticle: &a {id: loop, published: 2026-02-02, tags: [*a]}\n",
     "refers to the block it is in"),
])
def test_deep_nesting_and_recursive_aliases_are_refused_in_one_line(ws, text, fragment):
    (ws.inputs / "odd.yaml").write_text(text)
    outcome = ws.run()
    assert outcome.exit_code == 0 and outcome.exception is None and "Traceback" not in outcome.stderr
    (reason,) = skipped_reasons(outcome)
    assert reason.startswith(str(ws.inputs / "odd.yaml")) and fragment in reason and "\n" not in reason
    assert_good_row_evaluated(outcome)


def test_an_article_path_to_a_huge_file_is_not_read_and_the_setups_still_run(ws):
    huge = ws.root / "huge_article.txt"
    with huge.open("wb") as handle:  # sparse: 1 GB on paper, nothing on disk
        handle.truncate(1024 * 1024 * 1024)
    text = (FIXTURES / "good/00_good.yaml").read_text().replace("  title: Invented desk note (good)\n",
                                                               f"  path: {huge}\n")
    (ws.inputs / "00_good.yaml").write_text(text)
    outcome = ws.run()
    assert outcome.exit_code == 0
    (skip,) = outcome.summary["skipped"]
    assert skip["kind"] == "article" and skip["reason"].startswith(f"{huge}: article file")
    assert "1073.7 MB, more than the 20 MB limit" in skip["reason"] and "still evaluated" in skip["reason"]
    assert_good_row_evaluated(outcome)


def test_huge_integers_are_one_line_refusals(ws):
    text = (FIXTURES / "good/00_good.yaml").read_text()
    (ws.inputs / "big.yaml").write_text(text.replace("good-article", "big-article").replace("good-long", "big-hold")
                                        + "    max_hold: 100000000000000000000000\n")
    outcome = ws.run()
    assert outcome.exit_code == 0
    (reason,) = skipped_reasons(outcome)
    assert "setups[0].max_hold: Input should be less than or equal to 100000" in reason
    assert_good_row_evaluated(outcome)

    flag = ws.run("--max-hold", str(10 ** 20), out="flag")
    assert flag.exit_code == 2 and "--max-hold" in flag.stderr and "Traceback" not in flag.stderr
    config = ws.root / "huge.toml"
    config.write_text(ws.config.read_text() + "max_hold = 100000000000000000000\n")
    from_config = ws.run(out="cfg", config=config)
    assert from_config.exit_code == 1 and from_config.exception is None
    assert from_config.stderr.strip().startswith(f"error: {config}: [run].max_hold must be a whole number of sessions")


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_costs_must_be_a_finite_number(ws, value):
    outcome = ws.run("--costs-bps", value)
    assert outcome.exit_code == 2 and "--costs-bps" in outcome.stderr and "not a finite number" in outcome.stderr


def test_symlinked_and_unreadable_sub_folders_are_reported_not_skipped_silently(ws, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "x.yaml").write_text((FIXTURES / "good/00_good.yaml").read_text())
    (ws.inputs / "linked").symlink_to(elsewhere, target_is_directory=True)
    locked = ws.inputs / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):  # tests run as root, for whom chmod does not stop a listing: make it fail the way it would
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    outcome = ws.run()
    assert outcome.exit_code == 0
    reasons = skipped_reasons(outcome)
    assert any(r.startswith(f"{ws.inputs / 'linked'}: is a symbolic link to a folder, which is not followed")
               for r in reasons), reasons
    assert any(r.startswith(f"{locked}: cannot read this folder (Permission denied)") for r in reasons), reasons
    assert_good_row_evaluated(outcome)
    assert ws.run("--strict", out="strict").exit_code == 1  # what was not loaded fails --strict


@pytest.mark.parametrize("situation", ["every-setup-no-data", "missing-mirror", "no-sources"])
def test_a_run_that_evaluated_nothing_exits_1_with_one_line_even_when_quiet(ws, situation):
    if situation == "every-setup-no-data":
        (ws.inputs / "00_good.yaml").unlink()
        ws.add("setups/unknown_symbol.yaml")
    elif situation == "missing-mirror":
        ws.write_config(mirrors=[ws.root / "no-such-mirror"])
    else:
        ws.write_config(sources=())
    outcome = ws.run("--quiet")
    assert outcome.exit_code == 1 and outcome.exception is None
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {ws.inputs}: nothing was evaluated: none of the")
    assert outcome.stdout == ""
    assert (outcome.out / "summary.json").is_file()  # the report still says why


def test_the_config_file_is_named_and_stale_data_is_warned_about(ws):
    outcome = ws.run("--as-of", "2026-06-30")  # the invented bars end 2026-04-30: 41 XNYS sessions before (20 in May, 21 in June)
    assert outcome.exit_code == 0
    assert f"config: {ws.config}" in outcome.stdout
    summary = outcome.summary
    assert summary["run"]["config_file"] == str(ws.config)
    assert summary["run"]["data_staleness"] == {"newest_bar": "2026-04-30", "run_date": "2026-06-30",
                                                "sessions_behind": 41, "stale": True}
    assert "warning: the newest bar (2026-04-30) is 41 sessions older than 2026-06-30" in outcome.stderr
    fresh = ws.run("--as-of", "2026-05-04", out="fresh")  # 2 sessions: no warning
    assert fresh.summary["run"]["data_staleness"]["stale"] is False and "newest bar" not in fresh.stderr


def test_names_from_inputs_are_printed_with_control_characters_escaped(ws):
    text = (FIXTURES / "good/00_good.yaml").read_text()
    hostile = text.replace("good-article", 'evil-article').replace("good-long", 'evil\\x1b[31mred\\nFAKE: ok')
    hostile = hostile.replace("  - id: evil", '  - id: "evil').replace("FAKE: ok\n", 'FAKE: ok"\n', 1)
    hostile = hostile.replace("symbol: IWM", "symbol: QZXW")  # refused (no data): its id is printed
    (ws.inputs / "evil.yaml").write_text(hostile)
    outcome = ws.run()
    assert outcome.exit_code == 0, outcome.stderr
    assert "\x1b" not in outcome.stderr + outcome.stdout
    assert "evil\\x1b[31mred\\nFAKE: ok (no-data)" in outcome.stderr
    assert not any(line.startswith("FAKE") for line in outcome.stderr.splitlines())


def test_a_non_utf8_stdout_does_not_crash_the_summary(ws):
    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C")
    done = subprocess.run([sys.executable, "-c", "from backtest.cli import main; main()", "--config", str(ws.config),
                           "run", str(ws.inputs), "--out", str(ws.root / "ascii"), "--format", "csv"],
                          capture_output=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode("ascii", "replace")
    assert b"Traceback" not in done.stderr and b"articles" in done.stdout


def test_the_parsed_setup_cache_serves_unchanged_files_and_reparses_edited_ones(ws):
    from backtest.config import load_config
    from backtest.run import RunOptions, run

    ws.add("setups/unknown_field.yaml")  # a file with a skip: the skip comes back from the cache too
    config = load_config(ws.config)
    first = run(RunOptions(setups=ws.inputs, out_dir=ws.root / "c1", formats=("csv", "json")), config)
    second = run(RunOptions(setups=ws.inputs, out_dir=ws.root / "c2", formats=("csv", "json")), config)
    assert (first.setup_files, first.cached, second.cached) == (2, 0, 2)
    assert (ws.root / "c1" / "trades.csv").read_bytes() == (ws.root / "c2" / "trades.csv").read_bytes()
    assert first.report.summary["skipped"] == second.report.summary["skipped"] != []
    good = ws.inputs / "00_good.yaml"
    good.write_text(good.read_text().replace("stop: 245", "stop: 240"))
    third = run(RunOptions(setups=ws.inputs, out_dir=ws.root / "c3", formats=("csv",)), config)
    assert third.cached == 1  # the edited file was parsed again ...
    assert "240" in (ws.root / "c3" / "trades.csv").read_text()  # ... and its new stop used
    no_cache = run(RunOptions(setups=ws.inputs, out_dir=ws.root / "c4", formats=("csv",), cache=False), config)
    assert no_cache.cached == 0


def test_a_new_tool_version_or_a_broken_cache_never_serves_stale_entries(ws, monkeypatch):
    from backtest.config import load_config
    from backtest.run import RunOptions, run
    from backtest.setups import cache

    config = load_config(ws.config)
    assert run(RunOptions(setups=ws.inputs, out_dir=ws.root / "v1", formats=("csv",)), config).cached == 0
    monkeypatch.setattr(cache, "__version__", "9.9.9")  # an upgrade: other keys
    assert run(RunOptions(setups=ws.inputs, out_dir=ws.root / "v2", formats=("csv",)), config).cached == 0
    database = ws.cache / "setups" / "parsed.sqlite"
    assert database.is_file()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    database.write_bytes(b"this is not a database" * 100)
    broken = run(RunOptions(setups=ws.inputs, out_dir=ws.root / "v3", formats=("csv",)), config)
    assert broken.cached == 0 and broken.nothing_evaluated is None  # parsed again; the run is not hurt
