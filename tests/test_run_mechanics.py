"""``backtest.run.run`` mechanics with stand-in stages: output location, ``latest``, atomicity, exit codes, quiet.

The stages (bars, engine, portfolio) are replaced by :class:`reports_fixtures.FakePipeline` so these tests
are about the run itself; the end-to-end tests in test_run_e2e.py use the real pipeline. The library
never prints: what the command line prints (and its exit codes) is checked through ``backtest run`` with
the same stand-in stages (:func:`cli_run`).
"""

from __future__ import annotations

import dataclasses
import json
import datetime as dt
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import reports_fixtures as rf
from backtest import run as api
from backtest.cli import cli
from backtest.config import Config, RunDefaults
from backtest.errors import ReportError, UsageError
from backtest.reports import build
from backtest.reports.outdir import MARKER
from backtest.run import Pipeline, RunOptions, run as run_report

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)

#: What ``--format csv`` writes (the tables, the scorecard, the event study, the equity curve), sorted.
CSV_FILES = ("articles.csv", "calls.csv", "equity.csv", "event_study.csv", "exits.csv", "pulse.csv", "scorecard.csv",
             "scorecard_differences.csv", "scorecard_trades.csv", "stances.csv", "trades.csv")


@pytest.fixture
def setups_dir(tmp_path) -> Path:
    """The fixture's setup files as YAML, so the loaded articles match the fake engine's ledger."""
    directory = tmp_path / "setups"
    directory.mkdir()
    for setup_file in rf.setup_files():
        text = yaml.safe_dump(setup_file.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
        (directory / f"{setup_file.article.id}.yaml").write_text(text)
    return directory


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(run=RunDefaults(out_dir=tmp_path / "reports"))


def fake() -> Pipeline:
    stages = rf.FakePipeline()
    return Pipeline(load_bars=stages.load_bars, simulate=stages.simulate, portfolio=stages.portfolio)


def run(setups_dir, config, now=NOW, **options):
    return run_report(RunOptions(setups=setups_dir, **options), config, pipeline=fake(), now=now)


def cli_run(setups_dir, config, monkeypatch, *args, portfolio=None):
    """``backtest run SETUPS ARGS`` through the real command line, with the stand-in stages."""
    stages = rf.FakePipeline()

    class Stages(Pipeline):
        def resolved(self):
            return Pipeline(stages.load_bars, stages.simulate, portfolio or stages.portfolio)

    monkeypatch.setattr(api, "Pipeline", Stages)
    toml = config.run.out_dir.parent / "test-backtest.toml"
    toml.write_text(f'[run]\nout_dir = "{config.run.out_dir}"\n')
    return CliRunner().invoke(cli, ["--config", str(toml), "run", str(setups_dir), *args])


def test_default_location_run_id_and_latest(setups_dir, config, monkeypatch):
    result = run(setups_dir, config)
    digest = api.sim_config(RunOptions(setups=setups_dir), config).digest()
    assert result.run_id == f"20260301T120000Z-{digest}"
    assert result.out_dir == config.run.out_dir / result.run_id
    assert result.nothing_evaluated is None
    latest = config.run.out_dir / "latest"
    assert latest.is_symlink() and os.readlink(latest) == result.run_id
    assert (latest / "summary.json").is_file()
    assert sorted(result.files) == sorted(p.name for p in result.out_dir.iterdir() if p.name != MARKER)
    assert [p.name for p in config.run.out_dir.iterdir() if p.name.startswith(".")] == []  # no temp left
    shown = cli_run(setups_dir, config, monkeypatch)
    assert shown.exit_code == 0  # skips are warnings, exit code still 0
    assert "bullish" in shown.stdout and str(config.run.out_dir) in shown.stdout
    assert "warning:" in shown.stderr and "ZZZ" in shown.stderr
    assert "config: " in shown.stdout and "test-backtest.toml" in shown.stdout  # the config file used is named


def test_second_run_moves_latest(setups_dir, config):
    first = run(setups_dir, config)
    second = run(setups_dir, config, now=NOW + dt.timedelta(minutes=5))
    assert first.out_dir.is_dir() and second.out_dir.is_dir()
    assert os.readlink(config.run.out_dir / "latest") == second.run_id


def test_explicit_out_dir_is_written_and_leaves_latest_alone(setups_dir, config, tmp_path):
    out = tmp_path / "custom"
    result = run(setups_dir, config, out_dir=out, formats=("csv",))
    assert result.out_dir == out
    assert sorted(p.name for p in out.iterdir()) == [MARKER, *CSV_FILES]
    assert json.loads((out / MARKER).read_text())["files"] == list(CSV_FILES)
    assert not (config.run.out_dir / "latest").exists()


def test_explicit_out_dir_replaces_an_earlier_report_as_a_whole(setups_dir, config, tmp_path):
    out = tmp_path / "custom"
    run(setups_dir, config, out_dir=out, formats=("csv", "json"))
    run(setups_dir, config, out_dir=out, formats=("csv",))
    assert sorted(p.name for p in out.iterdir()) == [MARKER, *CSV_FILES]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp or old folder left


def _tree(path: Path) -> dict:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("layout", ["setups", "project", "foreign-file", "report-plus-foreign", "nested-folder"])
def test_out_dir_that_holds_other_files_is_refused_before_any_work(setups_dir, config, tmp_path, layout):
    """--out setups / --out $PWD / an old report someone added notes to: usage error, nothing touched."""
    if layout == "setups":
        out = setups_dir
    elif layout == "project":
        out = tmp_path
    else:
        out = tmp_path / "custom"
        if layout in ("report-plus-foreign",):
            run(setups_dir, config, out_dir=out, formats=("csv",))
        out.mkdir(exist_ok=True)
        if layout == "nested-folder":
            (out / "sub").mkdir()
            (out / "sub" / "keep.txt").write_text("mine")
        else:
            (out / "notes.txt").write_text("my notes")
    before = _tree(tmp_path)
    stages = rf.FakePipeline()
    with pytest.raises(UsageError) as info:
        run_report(RunOptions(setups=setups_dir, out_dir=out), config,
                   pipeline=Pipeline(stages.load_bars, stages.simulate, stages.portfolio), now=NOW)
    assert info.value.exit_code == 2 and str(out) in info.value.one_line()
    assert "nothing was written or deleted" in info.value.one_line()
    assert stages.bars_requested is None  # refused before loading anything
    assert _tree(tmp_path) == before


def test_out_dir_symlink_and_file_are_refused(setups_dir, config, tmp_path):
    real = tmp_path / "real"
    run(setups_dir, config, out_dir=real, formats=("csv",))
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(UsageError, match="symbolic link"):
        run(setups_dir, config, out_dir=link)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    with pytest.raises(UsageError, match="not a folder"):
        run(setups_dir, config, out_dir=plain)
    assert plain.read_text() == "x"


def test_interrupt_during_the_swap_leaves_the_old_or_the_new_report(setups_dir, config, tmp_path, monkeypatch):
    """SIGINT arriving between moving the old report away and moving the new one in is held back."""
    out = tmp_path / "custom"
    run(setups_dir, config, out_dir=out, formats=("json",))
    real_rename = os.rename
    calls = []

    def rename(src, dst):
        calls.append((Path(src).name, Path(dst).name))
        real_rename(src, dst)
        if len(calls) == 1 and Path(dst).name.startswith(".custom.old-"):
            os.kill(os.getpid(), signal.SIGINT)  # delivered only once the swap is complete

    # Another thread alive (numba, pyarrow and rich start their own): a signal mask on the main thread
    # alone would let the kernel deliver SIGINT to it, and the interrupt would land between the renames.
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, daemon=True)
    other.start()
    monkeypatch.setattr(os, "rename", rename)
    try:
        with pytest.raises(KeyboardInterrupt):
            run(setups_dir, config, out_dir=out, formats=("csv",))
    finally:
        monkeypatch.setattr(os, "rename", real_rename)
        stop.set()
    assert len(calls) == 2  # both renames happened before the interrupt was delivered
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the old report was removed
    assert sorted(p.name for p in out.iterdir()) == [MARKER, *CSV_FILES]


def test_leftover_temporary_folders_of_dead_runs_are_cleaned(setups_dir, config):
    reports = config.run.out_dir
    reports.mkdir(parents=True)
    dead = reports / ".20260101T000000Z-abc.tmp-999999999-deadbeef"  # no such pid
    dead.mkdir()
    (dead / "trades.csv").write_text("partial")
    foreign = reports / ".other.tmp-999999999-deadbeef"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("not a report file")  # not ours: left alone
    run(setups_dir, config)
    assert not dead.exists()
    assert (foreign / "mine.txt").read_text() == "not a report file"


def test_same_second_runs_get_their_own_folder_and_id(setups_dir, config):
    first = run(setups_dir, config)
    second = run(setups_dir, config)
    assert second.out_dir.name == first.out_dir.name + "-2" == second.run_id
    summary = json.loads((second.out_dir / "summary.json").read_text())
    assert summary["run"]["id"] == second.run_id and summary["run"]["out_dir"] == str(second.out_dir)
    assert json.loads((second.out_dir / MARKER).read_text())["run_id"] == second.run_id


def test_keep_prunes_only_older_report_folders(setups_dir, config):
    runs = [run(setups_dir, config, now=NOW + dt.timedelta(minutes=m)) for m in range(4)]
    reports = config.run.out_dir
    (reports / "README.md").write_text("mine")
    (reports / "my-folder").mkdir()
    result = run(setups_dir, config, now=NOW + dt.timedelta(minutes=10), keep=2)
    kept = sorted(p.name for p in reports.iterdir() if p.is_dir() and not p.is_symlink())
    assert kept == sorted(["my-folder", runs[-1].run_id, result.run_id])
    assert sorted(p.name for p in result.pruned) == sorted(r.run_id for r in runs[:3])
    assert (reports / "README.md").read_text() == "mine"
    assert os.readlink(reports / "latest") == result.run_id


def test_a_report_folder_inside_the_input_folder_is_not_read_back(setups_dir, config):
    first = run(setups_dir, config, out_dir=setups_dir / "report", formats=("csv", "md", "json"))
    assert (first.out_dir / "report.md").is_file()
    second = run(setups_dir, config, out_dir=setups_dir / "report2", formats=("json",))
    summary = json.loads((second.out_dir / "summary.json").read_text())
    assert summary["counts"]["articles"] == first.report.summary["counts"]["articles"]
    assert not any("report" in s["item"] for s in summary["skipped"])


def test_strict_problems_are_skips_missing_data_and_the_portfolio(setups_dir, config):
    """--strict counts the skipped input (ZZZ) and the no-data setup; the rejected setup is a result."""
    assert run(setups_dir, config).strict_problems == {"skipped": 1, "no-data": 1}


def test_strict_turns_skips_into_exit_1(setups_dir, config, monkeypatch):
    assert cli_run(setups_dir, config, monkeypatch, "--strict").exit_code == 1
    assert cli_run(setups_dir, config, monkeypatch).exit_code == 0


def test_library_prints_nothing(setups_dir, config, capsys):
    assert run(setups_dir, config).strict_problems
    assert capsys.readouterr() == ("", "")


def test_quiet_prints_nothing(setups_dir, config, monkeypatch):
    result = cli_run(setups_dir, config, monkeypatch, "--quiet")
    assert result.exit_code == 0
    assert (result.stdout, result.stderr) == ("", "")


def test_quiet_strict_failure_still_says_why(setups_dir, config, monkeypatch):
    """--quiet --strict exiting 1 prints the one error line (no table, no item list)."""
    result = cli_run(setups_dir, config, monkeypatch, "--quiet", "--strict")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == ["error: --strict: 1 input(s) skipped, 1 setup(s) without data "
                                          "(reasons in the report); exit 1"]


def test_quiet_strict_names_the_portfolio_failure(setups_dir, config, monkeypatch):
    def broken(ledger, bars):
        raise ValueError("shape mismatch")

    result = cli_run(setups_dir, config, monkeypatch, "--quiet", "--strict", portfolio=broken)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["error: --strict: 1 input(s) skipped, 1 setup(s) without data, the portfolio "
                                          "view failed (reasons in the report); exit 1"]


def test_failure_while_writing_leaves_no_report_and_latest_unchanged(setups_dir, config, monkeypatch):
    first = run(setups_dir, config)

    def half_write(report, directory, formats):
        (directory / "trades.csv").write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build, "write_report", half_write)
    with pytest.raises(ReportError) as info:
        run(setups_dir, config, now=NOW + dt.timedelta(hours=1))
    assert "No space left on device" in info.value.one_line()
    assert sorted(p.name for p in config.run.out_dir.iterdir()) == sorted([first.run_id, "latest"])
    assert os.readlink(config.run.out_dir / "latest") == first.run_id


def test_sigterm_while_writing_cleans_up(setups_dir, config, monkeypatch):
    """The command line turns SIGTERM into an interrupt; the library's report folder cleans up after it."""
    first = run(setups_dir, config)

    def killed(report, directory, formats):
        (directory / "trades.csv").write_text("partial")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this sleep
        raise AssertionError("SIGTERM was not turned into an interrupt")

    monkeypatch.setattr(build, "write_report", killed)
    result = cli_run(setups_dir, config, monkeypatch)
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert sorted(p.name for p in config.run.out_dir.iterdir() if not p.name.endswith(".toml")) == \
        sorted([first.run_id, "latest"])
    assert os.readlink(config.run.out_dir / "latest") == first.run_id
    assert signal.getsignal(signal.SIGTERM) is not None and signal.getsignal(signal.SIGTERM) != signal.SIG_IGN


def test_unwritable_output_is_one_line_error(setups_dir, config, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    with pytest.raises(ReportError) as info:
        run(setups_dir, config, out_dir=blocker / "report")
    assert str(blocker) in info.value.one_line() and "\n" not in info.value.one_line()


def test_unknown_format_is_usage_error(setups_dir, config):
    with pytest.raises(UsageError) as info:
        run(setups_dir, config, formats=("csv", "pdf"))
    assert "pdf" in info.value.one_line() and info.value.exit_code == 2
    assert not config.run.out_dir.exists()


def test_as_of_is_passed_down_and_enforced(setups_dir, config):
    stages = rf.FakePipeline()
    result = run_report(
        RunOptions(setups=setups_dir, as_of=dt.date(2026, 3, 1)), config,
        pipeline=Pipeline(stages.load_bars, stages.simulate, stages.portfolio), now=NOW,
    )
    symbols, as_of = stages.bars_requested
    assert symbols == ["AAA", "BBB", "SPY", "ZZZ"] and as_of == dt.date(2026, 3, 1)
    # The fake data layer ignores as_of (its bars run to April); run_report cuts them anyway.
    assert {c["last"] for c in result.report.summary["data"]["coverage"]} == {"2026-02-27"}


def test_flags_beat_config_file(setups_dir, tmp_path):
    config = Config(run=dataclasses.replace(RunDefaults(out_dir=tmp_path / "r"), commission_bps=1.0, max_hold=30))
    sim = api.sim_config(RunOptions(setups=setups_dir, costs_bps=4.0, ambiguity="target-first"), config)
    assert (sim.commission_bps, sim.slippage_bps, sim.ambiguity, sim.max_hold) == (4.0, 0.0, "target-first", 30)


def test_portfolio_failure_is_reported_not_fatal(setups_dir, config, monkeypatch):
    def broken(ledger, bars):
        raise ValueError("shape mismatch\nsecond line")

    result = cli_run(setups_dir, config, monkeypatch, "--strict", portfolio=broken)
    (out_dir,) = [p for p in config.run.out_dir.iterdir() if p.is_dir() and not p.is_symlink()]
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary["portfolio"] == {"error": "follow-every-call portfolio failed: ValueError: shape mismatch"}
    assert result.exit_code == 1
    assert "warning: follow-every-call portfolio failed" in result.stderr
    assert "shape mismatch" in (out_dir / "report.html").read_text()


def test_a_failed_research_figure_is_warned_about_and_fails_strict(setups_dir, config, monkeypatch):
    """A scorecard that cannot be computed is in the report (summary.json, report.md) and also on stderr:
    a warning line, and with --strict exit 1 naming it, even under --quiet (a cron job must hear of it)."""
    import backtest.reports.scorecard as scorecard_module

    def broken(*args, **kwargs):
        raise ValueError("invented failure")

    monkeypatch.setattr(scorecard_module, "scorecard", broken)
    plain = cli_run(setups_dir, config, monkeypatch)
    assert plain.exit_code == 0, plain.output
    assert any(line.startswith("warning: scorecard:") and "invented failure" in line for line in plain.stderr.splitlines())
    strict = cli_run(setups_dir, config, monkeypatch, "--quiet", "--strict")
    assert strict.exit_code == 1
    (line,) = strict.stderr.splitlines()
    assert line.startswith("error: --strict:") and "1 research figure(s) failed" in line
