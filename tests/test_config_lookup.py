"""Which backtest.toml is used: --config, then beside/above SETUPS (run) or the current folder (other commands),
then $BACKTEST_CONFIG, then the user config folder, then the defaults. A cron job started from another folder
used to miss the project's file, ran on the defaults without the mirror and reported every setup as no-data.
"""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import FOUND_BY, find_config_file, load_config, user_config_path
from backtest.errors import ConfigError
from invented_bars import BARS, SETUP

REPO = Path(__file__).resolve().parents[1]


def _toml(folder: Path, cache: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "backtest.toml"
    path.write_text(f'[data]\ncache_dir = "{cache}"\n')
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    """/tmp/.../proj with backtest.toml (mirror m/, sources cache+mirror), setups/zed.yaml, m/ZED.csv."""
    root = tmp_path / "proj"
    (root / "setups").mkdir(parents=True)
    (root / "setups" / "zed.yaml").write_text(SETUP)
    (root / "m").mkdir()
    (root / "m" / "ZED.csv").write_text(BARS)
    (root / "backtest.toml").write_text('[data]\nsources = ["cache", "mirror"]\ncache_dir = "data_cache"\n'
                                        'mirrors = ["m"]\n[run]\nout_dir = "reports"\n')
    return root


def test_the_file_beside_or_above_setups_wins_over_the_environment(tmp_path, monkeypatch):
    top = _toml(tmp_path / "a", "top")
    deep = tmp_path / "a" / "b" / "c"
    deep.mkdir(parents=True)
    monkeypatch.setenv("BACKTEST_CONFIG", str(_toml(tmp_path / "env", "env")))
    monkeypatch.chdir(_toml(tmp_path / "cwd", "cwd").parent)
    assert find_config_file(near=deep) == (top, "beside or above SETUPS")  # two folders up
    near = _toml(tmp_path / "a" / "b", "near")
    assert find_config_file(near=deep) == (near, "beside or above SETUPS")  # the nearest one
    (deep / "x.yaml").write_text(SETUP)
    assert find_config_file(near=deep / "x.yaml")[0] == near  # a SETUPS file: from its folder
    assert find_config_file(near=deep / "not-yet")[0] == near  # a path that does not exist yet
    config = load_config(near=deep)
    assert config.path == near and config.path.is_absolute() and config.found_by == "beside or above SETUPS"
    assert config.data.cache_dir == tmp_path / "a" / "b" / "near"


def test_then_the_environment_then_the_user_folder_then_defaults(tmp_path, monkeypatch):
    setups = tmp_path / "lonely" / "setups"
    setups.mkdir(parents=True)
    monkeypatch.chdir(setups)  # no backtest.toml beside or above SETUPS nor the current folder
    env = _toml(tmp_path / "env", "env")
    xdg = tmp_path / "xdg"
    user = _toml(xdg / "backtest", "user")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    monkeypatch.setenv("BACKTEST_CONFIG", str(env))
    assert find_config_file(near=setups) == (env, "$BACKTEST_CONFIG")
    monkeypatch.delenv("BACKTEST_CONFIG")
    assert find_config_file(near=setups) == (user, "user config folder")
    assert load_config(near=setups).data.cache_dir == xdg / "backtest" / "user"
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/xdg")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_config_path() == tmp_path / "home" / ".config" / "backtest" / "backtest.toml"
    assert find_config_file(near=setups) == (None, None)
    home_file = _toml(tmp_path / "home" / ".config" / "backtest", "home")
    assert find_config_file(near=setups) == (home_file, "user config folder")


def test_config_flag_beats_everything_and_a_broken_environment_is_named(tmp_path, monkeypatch):
    near = _toml(tmp_path / "p", "near")
    explicit = _toml(tmp_path / "x", "explicit")
    monkeypatch.setenv("BACKTEST_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.chdir(tmp_path)  # the current folder holds no backtest.toml either
    assert find_config_file(explicit, near=near.parent) == (explicit, "--config")
    assert find_config_file(near=near.parent) == (near, "beside or above SETUPS")  # found before the variable
    with pytest.raises(ConfigError) as info:
        find_config_file(near=tmp_path / "elsewhere")
    assert info.value.one_line() == (f"$BACKTEST_CONFIG={tmp_path / 'missing.toml'}: config file not found "
                                     "(fix or unset the variable)")
    assert set(FOUND_BY) == {"--config", "beside or above SETUPS", "current folder or above", "$BACKTEST_CONFIG",
                             "user config folder"}


def test_other_commands_search_the_current_folder_and_its_parents(project, monkeypatch):
    sub = project / "notes" / "deeper"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert find_config_file() == (project / "backtest.toml", "current folder or above")
    result = CliRunner().invoke(cli, ["data", "import", str(project / "m")])
    assert result.exit_code == 0, result.output
    assert (project / "data_cache" / "ZED_1d.parquet").is_file()  # the project's cache_dir, from a subfolder


def test_run_from_another_folder_uses_the_projects_file(project, tmp_path):
    """The scheduled-run case end to end, in a real process started in /."""
    done = subprocess.run([sys.executable, "-c", "from backtest.cli import main; main()", "run",
                           str(project / "setups"), "--format", "csv", "-q"],
                          cwd="/", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (report,) = [p for p in (project / "reports").iterdir() if p.name != "latest"]
    with (report / "trades.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["status"] in ("filled", "open") and row["entry_time"].startswith("2026-02-04"), row


def test_the_readme_cron_line_runs_from_slash(project):
    """README's crontab line, with /path/to/repo pointing at a project laid out like this repository."""
    readme = (REPO / "README.md").read_text()
    (line,) = re.findall(r"^\d+ \d+ \* \* \S+\s+(cd / && .+)$", readme, flags=re.M)
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "backtest").symlink_to(Path(sys.executable).with_name("backtest"))
    (project / "reports").mkdir()
    command = line.replace("/path/to/repo", shlex.quote(str(project)))
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HOME": str(project / "nohome")})
    assert done.returncode == 0, (done.stderr, (project / "reports" / "cron.log").read_text())
    assert (project / "reports" / "cron.log").read_text() == ""  # --quiet: nothing but errors
    reports = [p for p in (project / "reports").iterdir() if p.is_dir() and not p.is_symlink()]
    assert len(reports) == 1
    with (reports[0] / "trades.csv").open() as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["status"] in ("filled", "open"), row  # the mirror named in the project's backtest.toml was used


def test_a_huge_config_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "backtest.toml"
    with path.open("wb") as handle:
        handle.truncate(5 * 10**6)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.one_line() == f"{path}: config file is 5.0 MB, more than the 1 MB limit (check that it is a backtest.toml)"


def test_setups_outside_the_project_fall_back_to_the_current_folders_file(tmp_path, monkeypatch):
    """`backtest run ../shared/articles` from the project's root: nothing beside or above SETUPS, so the
    current folder's backtest.toml is used (before $BACKTEST_CONFIG and the user folder)."""
    from backtest.config import find_config_file

    project, outside = tmp_path / "project", tmp_path / "elsewhere" / "articles"
    project.mkdir()
    outside.mkdir(parents=True)
    (project / "backtest.toml").write_text("[run]\n")
    (tmp_path / "env.toml").write_text("[run]\n")
    monkeypatch.setenv("BACKTEST_CONFIG", str(tmp_path / "env.toml"))
    monkeypatch.chdir(project)
    assert find_config_file(near=outside) == (project / "backtest.toml", "current folder or above")
    (outside.parent / "backtest.toml").write_text("[run]\n")  # a file above SETUPS still wins
    assert find_config_file(near=outside) == (outside.parent / "backtest.toml", "beside or above SETUPS")
