"""Configuration: ``backtest.toml``, overridable by ``--config``, the ``BACKTEST_CONFIG`` env var and flags.

Lookup order for the file: ``--config PATH`` > ``$BACKTEST_CONFIG`` > ``./backtest.toml`` > built-in defaults.
Relative directories in the file are resolved against the file's own directory, so a cron job run from
anywhere with ``--config /path/to/repo/backtest.toml`` sees the same cache and mirrors.

Every value is checked when the file is read, so a typo fails once, in one line naming the file and
the key, instead of deep inside a run: sections are tables, ``sources``/``mirrors`` lists of strings,
``interval`` is ``"1d"``, ``[run]`` values have the type of their default (``entry_window``/``max_hold``
whole numbers >= 1, costs and thresholds numbers >= 0, ``ambiguity`` stop-first or target-first).

Example::

    [data]
    sources = ["cache", "mirror", "yahoo"]   # tried in this order for each symbol
    cache_dir = "data_cache"
    mirrors = ["../shared/market-data"]       # offline CSV/parquet mirrors

    [run]
    out_dir = "reports"
    entry_window = 20
    max_hold = 60
    delay = 0                                 # act this many sessions late (robustness check)
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

from .engine.config import DEFAULTS as SIM_DEFAULTS
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
    """``[run]``: where reports go, and the simulation defaults (declared once, in :class:`SimConfig`)."""

    out_dir: Path = Path("reports")
    entry_window: int = SIM_DEFAULTS.entry_window
    max_hold: int = SIM_DEFAULTS.max_hold
    ambiguity: str = SIM_DEFAULTS.ambiguity
    commission_bps: float = SIM_DEFAULTS.commission_bps
    slippage_bps: float = SIM_DEFAULTS.slippage_bps
    coherence_max_pct: float = SIM_DEFAULTS.coherence_max_pct
    coherence_max_atr: float = SIM_DEFAULTS.coherence_max_atr
    benchmark: str = SIM_DEFAULTS.benchmark
    delay: int = SIM_DEFAULTS.delay


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
    where = str(path)
    unknown = set(raw) - {"data", "run"}
    if unknown:
        raise ConfigError(f"unknown section(s) {sorted(unknown)}", where=where, hint="use [data] and [run]")
    data_raw = _table(raw, "data", where)
    run_raw = _table(raw, "run", where)
    data = DataConfig()
    run = RunDefaults()
    for key, value in data_raw.items():
        if key == "sources":
            data.sources = _check_sources(_strings(value, "[data].sources", where), f"{where}: [data].sources")
        elif key == "cache_dir":
            data.cache_dir = _resolve(base, _string(value, "[data].cache_dir", where))
        elif key == "mirrors":
            data.mirrors = tuple(_resolve(base, v) for v in _strings(value, "[data].mirrors", where))
        elif key == "interval":
            if value != "1d":
                raise ConfigError(f"[data].interval {value!r} is not supported", where=where,
                                  hint='daily bars only: use "1d"')
            data.interval = value
        else:
            raise ConfigError(f"unknown key [data].{key}", where=where, hint="see backtest/config.py for the keys")
    for key, value in run_raw.items():
        if not hasattr(run, key):
            raise ConfigError(f"unknown key [run].{key}", where=where, hint="see backtest/config.py for the keys")
        setattr(run, key, _run_value(key, value, getattr(run, key), base, where))
    return Config(data=data, run=run, path=path)


# [run] keys with a narrower range than their type: sessions are counted from 1, choices are fixed.
_AT_LEAST_ONE = ("entry_window", "max_hold")
_CHOICES = {"ambiguity": ("stop-first", "target-first")}


def _table(raw: dict, name: str, where: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table, got {type(value).__name__} {value!r}", where=where,
                          hint=f"write a [{name}] section header with key = value lines under it")
    return value


def _string(value, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key} must be a string, got {value!r}", where=where, hint=f'write {key.split(".")[-1]} = "..."')
    return value


def _strings(value, key: str, where: str) -> list[str]:
    """A TOML list of strings (a bare string is refused: it would be read character by character)."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of strings, got {value!r}", where=where,
                          hint=f'write {key.split(".")[-1]} = ["...", "..."]')
    return value


def _run_value(key: str, value, default, base: Path, where: str):
    """``value`` checked against the type of the built-in default (int is not bool; floats accept ints)."""
    name = f"[run].{key}"
    if isinstance(default, Path):
        return _resolve(base, _string(value, name, where))
    if isinstance(default, str):
        value = _string(value, name, where)
        choices = _CHOICES.get(key)
        if choices and value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}", where=where)
        return value
    if isinstance(default, int):  # bool is an int in Python, but `max_hold = true` is a mistake
        hint = "a whole number of sessions, at least 1" if key in _AT_LEAST_ONE else "a whole number, at least 0"
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a number, got {value!r}", where=where, hint=hint)
        if key in _AT_LEAST_ONE and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}", where=where, hint=hint)
        if value < 0:
            raise ConfigError(f"{name} must be at least 0, got {value}", where=where, hint=hint)
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number, got {value!r}", where=where, hint="a number >= 0")
        if not value >= 0:  # also refuses nan
            raise ConfigError(f"{name} must be >= 0, got {value!r}", where=where)
        return float(value)
    return value


def _resolve(base: Path, value: str) -> Path:
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else (base / p)
