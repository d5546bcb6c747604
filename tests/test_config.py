"""backtest.toml: every wrong type or value is one ConfigError line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.config import load_config
from backtest.errors import ConfigError


def _load(tmp_path: Path, text: str):
    path = tmp_path / "backtest.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path), path


def _error(tmp_path: Path, text: str) -> str:
    path = tmp_path / "backtest.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = info.value.one_line()
    assert "\n" not in line and str(path) in line
    return line


def test_a_valid_file_is_read_with_paths_resolved(tmp_path):
    config, path = _load(tmp_path, """
[data]
sources = ["cache", "mirror"]
cache_dir = "c"
mirrors = ["../m1", "m2"]
interval = "1d"
[run]
entry_window = 5
max_hold = 30
ambiguity = "target-first"
commission_bps = 1
slippage_bps = 0.5
benchmark = "QQQ"
""")
    assert config.data.sources == ("cache", "mirror")
    assert config.data.cache_dir == tmp_path / "c"
    assert config.data.mirrors == (tmp_path / "../m1", tmp_path / "m2")
    assert (config.run.entry_window, config.run.max_hold, config.run.ambiguity) == (5, 30, "target-first")
    assert config.run.commission_bps == 1.0 and isinstance(config.run.commission_bps, float)
    assert config.run.benchmark == "QQQ" and config.path == path


@pytest.mark.parametrize("text, key", [
    ("data = 5\n", "data"),
    ("run = \"x\"\n", "run"),
])
def test_sections_must_be_tables(tmp_path, text, key):
    line = _error(tmp_path, text)
    assert f"[{key}]" in line and "table" in line


@pytest.mark.parametrize("text, key", [
    ("[data]\nmirrors = 5\n", "[data].mirrors"),
    ("[data]\nmirrors = \"../shared/market-data\"\n", "[data].mirrors"),
    ("[data]\nmirrors = [\"a\", 3]\n", "[data].mirrors"),
    ("[data]\nsources = \"mirror\"\n", "[data].sources"),
    ("[data]\nsources = [\"cache\", \"ftp\"]\n", "[data].sources"),
    ("[data]\ncache_dir = 3\n", "[data].cache_dir"),
    ("[data]\ninterval = \"1h\"\n", "[data].interval"),
    ("[run]\nmax_hold = 2.5\n", "[run].max_hold"),
    ("[run]\nmax_hold = true\n", "[run].max_hold"),
    ("[run]\nentry_window = -3\n", "[run].entry_window"),
    ("[run]\nentry_window = 0\n", "[run].entry_window"),
    ("[run]\ndelay = -1\n", "[run].delay"),
    ("[run]\ndelay = 1.5\n", "[run].delay"),
    ("[run]\ncommission_bps = -1\n", "[run].commission_bps"),
    ("[run]\nslippage_bps = \"2\"\n", "[run].slippage_bps"),
    ("[run]\ncoherence_max_pct = false\n", "[run].coherence_max_pct"),
    ("[run]\nambiguity = \"both\"\n", "[run].ambiguity"),
    ("[run]\nbenchmark = 5\n", "[run].benchmark"),
    ("[run]\nout_dir = [\"a\"]\n", "[run].out_dir"),
    ("[run]\ncolour = 1\n", "[run].colour"),
])
def test_wrong_values_name_the_file_and_key(tmp_path, text, key):
    line = _error(tmp_path, text)
    assert key in line


def test_a_string_mirror_is_not_split_into_characters(tmp_path):
    line = _error(tmp_path, '[data]\nmirrors = "../shared/market-data"\n')
    assert "list" in line  # says what to write: mirrors = ["../shared/market-data"]
