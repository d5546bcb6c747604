"""Configuration: ``backtest.toml``, overridable by ``--config``, the ``BACKTEST_CONFIG`` env var and flags.

Lookup order for the file: ``--config PATH`` > ``$BACKTEST_CONFIG`` > ``./backtest.toml`` > built-in defaults.
Relative directories in the file are resolved against the file's own directory, so a cron job run from
anywhere with ``--config /path/to/repo/backtest.toml`` sees the same cache and mirrors.

Example::

    [data]
    sources = ["cache", "mirror", "yahoo"]   # tried in this order for each symbol
    cache_dir = "data_cache"
    mirrors = ["../shared/market-data"]       # offline CSV/parquet mirrors

    [run]
    out_dir = "reports"
    entry_window = 20
    max_hold = 60
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

from .errors import ConfigError

ENV_VAR = "BACKTEST_CONFIG"
KNOWN_SOURCES = ("cache", "mirror", "yahoo")


@dataclasses.dataclass
class DataConfig:
    sources: tuple[str, ...] = ("cache", "mirror", "yahoo")
    cache_dir: Path = Path("data_cache")
    mirrors: tuple[Path, ...] = ()
    interval: str = "1d"


@dataclasses.dataclass
class RunDefaults:
    out_dir: Path = Path("reports")
    entry_window: int = 20
    max_hold: int = 60
    ambiguity: str = "stop-first"
    commission_bps: float = 0.0
    slippage_bps: float = 0.0
    coherence_max_pct: float = 15.0
    coherence_max_atr: float = 10.0
    benchmark: str = "SPY"


@dataclasses.dataclass
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    run: RunDefaults = dataclasses.field(default_factory=RunDefaults)
    path: Path | None = None  # the file it came from, if any

    def with_overrides(
        self,
        *,
        cache_dir: str | Path | None = None,
        mirrors: list[str | Path] | None = None,
        sources: list[str] | None = None,
        offline: bool = False,
    ) -> "Config":
        """A copy with command-line flags applied (flags beat the file)."""
        data = dataclasses.replace(self.data)
        if cache_dir is not None:
            data.cache_dir = Path(cache_dir)
        if mirrors:
            data.mirrors = tuple(Path(m) for m in mirrors)
        if sources:
            data.sources = _check_sources(sources, "--source")
        if offline:
            data.sources = tuple(s for s in data.sources if s != "yahoo")
        return dataclasses.replace(self, data=data)


def _check_sources(sources, where: str) -> tuple[str, ...]:
    out = []
    for s in sources:
        if s not in KNOWN_SOURCES:
            raise ConfigError(f"unknown data source {s!r}", where=where, hint=f"use one of {', '.join(KNOWN_SOURCES)}")
        out.append(s)
    return tuple(out)


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """The config file to use, or None for built-in defaults."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("config file not found", where=str(path), hint="check the --config path")
        return path
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError("config file not found", where=f"${ENV_VAR}={env}", hint="fix or unset the variable")
        return path
    local = Path("backtest.toml")
    return local if local.is_file() else None


def load_config(explicit: str | Path | None = None) -> Config:
    """Read the configuration (see module docstring for the lookup order)."""
    path = find_config_file(explicit)
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path), hint="fix the syntax") from None
    base = path.resolve().parent
    data_raw = raw.get("data", {}) or {}
    run_raw = raw.get("run", {}) or {}
    unknown = set(raw) - {"data", "run"}
    if unknown:
        raise ConfigError(f"unknown section(s) {sorted(unknown)}", where=str(path), hint="use [data] and [run]")
    data = DataConfig()
    run = RunDefaults()
    for key, value in data_raw.items():
        if key == "sources":
            data.sources = _check_sources(value, f"{path} [data].sources")
        elif key == "cache_dir":
            data.cache_dir = _resolve(base, value)
        elif key == "mirrors":
            data.mirrors = tuple(_resolve(base, v) for v in value)
        elif key == "interval":
            data.interval = str(value)
        else:
            raise ConfigError(f"unknown key [data].{key}", where=str(path), hint="see backtest/config.py for the keys")
    for key, value in run_raw.items():
        if not hasattr(run, key):
            raise ConfigError(f"unknown key [run].{key}", where=str(path), hint="see backtest/config.py for the keys")
        current = getattr(run, key)
        if isinstance(current, Path):
            value = _resolve(base, value)
        elif isinstance(current, (int, float)) and not isinstance(value, (int, float)):
            raise ConfigError(f"[run].{key} must be a number, got {value!r}", where=str(path))
        setattr(run, key, value)
    return Config(data=data, run=run, path=path)


def _resolve(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else (base / p)
