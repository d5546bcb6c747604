"""``run_report`` mechanics with stand-in stages: output location, ``latest``, atomicity, exit codes, quiet.

The stages (bars, engine, portfolio) are replaced by :class:`reports_fixtures.FakePipeline` so these tests
are about the run itself; the end-to-end tests in test_run_e2e.py use the real pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import datetime as dt
import os
import signal
import time
from pathlib import Path

import pytest
import yaml

import reports_fixtures as rf
from backtest.config import Config, RunDefaults
from backtest.errors import ReportError, UsageError
from backtest.reports import api
from backtest.reports.api import Pipeline, RunOptions, run_report

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)


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


def test_default_location_run_id_and_latest(setups_dir, config, capsys):
    result = run(setups_dir, config)
    digest = api.sim_config(RunOptions(setups=setups_dir), config).digest()
    assert result.run_id == f"20260301T120000Z-{digest}"
    assert result.out_dir == config.run.out_dir / result.run_id
    assert result.exit_code == 0
    latest = config.run.out_dir / "latest"
    assert latest.is_symlink() and os.readlink(latest) == result.run_id
    assert (latest / "summary.json").is_file()
    assert sorted(result.files) == sorted(p.name for p in result.out_dir.iterdir())
    assert [p.name for p in config.run.out_dir.iterdir() if p.name.startswith(".")] == []  # no temp left
    out = capsys.readouterr()
    assert "bullish" in out.out and str(result.out_dir) in out.out
    assert "warning:" in out.err and "ZZZ" in out.err  # skips are warnings, exit code still 0


def test_second_run_moves_latest(setups_dir, config):
    first = run(setups_dir, config)
    second = run(setups_dir, config, now=NOW + dt.timedelta(minutes=5))
    assert first.out_dir.is_dir() and second.out_dir.is_dir()
    assert os.readlink(config.run.out_dir / "latest") == second.run_id


def test_explicit_out_dir_replaces_whole_and_leaves_latest_alone(setups_dir, config, tmp_path):
    out = tmp_path / "custom"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    result = run(setups_dir, config, out_dir=out, formats=("csv",))
    assert result.out_dir == out
    assert sorted(p.name for p in out.iterdir()) == ["articles.csv", "calls.csv", "stances.csv", "trades.csv"]
    assert not (config.run.out_dir / "latest").exists()


def test_strict_turns_skips_into_exit_1(setups_dir, config):
    assert run(setups_dir, config, strict=True).exit_code == 1


def test_quiet_prints_nothing(setups_dir, config, capsys):
    result = run(setups_dir, config, quiet=True)
    assert result.exit_code == 0
    assert capsys.readouterr() == ("", "")


def test_quiet_strict_failure_still_says_why(setups_dir, config, capsys):
    """--quiet --strict exiting 1 prints the one error line (no table, no item list)."""
    result = run(setups_dir, config, quiet=True, strict=True)
    assert result.exit_code == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.splitlines() == ["error: 1 input(s) skipped, 2 setup(s) refused (reasons in the report); "
                                    "--strict: exit 1"]


def test_quiet_strict_prints_the_portfolio_failure(setups_dir, config, capsys):
    stages = rf.FakePipeline()

    def broken(ledger, bars):
        raise ValueError("shape mismatch")

    pipeline = Pipeline(stages.load_bars, stages.simulate, broken)
    result = run_report(RunOptions(setups=setups_dir, strict=True, quiet=True), config, pipeline=pipeline, now=NOW)
    assert result.exit_code == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "warning: follow-every-call portfolio failed: ValueError: shape mismatch"
    assert err[1].startswith("error: 1 input(s) skipped, 2 setup(s) refused") and len(err) == 2


def test_failure_while_writing_leaves_no_report_and_latest_unchanged(setups_dir, config, monkeypatch):
    first = run(setups_dir, config)

    def half_write(report, directory, formats):
        (directory / "trades.csv").write_text("partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(api, "write_report", half_write)
    with pytest.raises(ReportError) as info:
        run(setups_dir, config, now=NOW + dt.timedelta(hours=1))
    assert "No space left on device" in info.value.one_line()
    assert sorted(p.name for p in config.run.out_dir.iterdir()) == sorted([first.run_id, "latest"])
    assert os.readlink(config.run.out_dir / "latest") == first.run_id


def test_sigterm_while_writing_cleans_up(setups_dir, config, monkeypatch):
    first = run(setups_dir, config)

    def killed(report, directory, formats):
        (directory / "trades.csv").write_text("partial")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this sleep
        raise AssertionError("SIGTERM was not turned into an interrupt")

    monkeypatch.setattr(api, "write_report", killed)
    with pytest.raises(KeyboardInterrupt):
        run(setups_dir, config, now=NOW + dt.timedelta(hours=1))
    assert sorted(p.name for p in config.run.out_dir.iterdir()) == sorted([first.run_id, "latest"])
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


def test_portfolio_failure_is_reported_not_fatal(setups_dir, config, capsys):
    stages = rf.FakePipeline()

    def broken(ledger, bars):
        raise ValueError("shape mismatch\nsecond line")

    pipeline = Pipeline(stages.load_bars, stages.simulate, broken)
    result = run_report(RunOptions(setups=setups_dir, strict=True), config, pipeline=pipeline, now=NOW)
    summary = json.loads((result.out_dir / "summary.json").read_text())
    assert summary["portfolio"] == {"error": "follow-every-call portfolio failed: ValueError: shape mismatch"}
    assert result.exit_code == 1
    assert "warning: follow-every-call portfolio failed" in capsys.readouterr().err
    assert "shape mismatch" in (result.out_dir / "report.html").read_text()
