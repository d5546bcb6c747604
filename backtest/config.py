"""Configuration: ``backtest.toml``, found by :func:`find_config_file`, overridable by flags.

Which file is used (the first that exists; ``docs/data.md`` "Which backtest.toml"):

1. ``--config FILE`` (must exist);
2. ``backtest.toml`` in the folder of the SETUPS argument or any folder above it (``backtest run``), then
   in the current folder or above (every command): a cron job ``backtest run /repo/setups`` started
   from ``/`` finds ``/repo/backtest.toml``, and ``backtest run ../shared/articles`` from the project's
   root finds the project's file;
3. ``$BACKTEST_CONFIG`` (must exist when set);
4. the user config folder: ``$XDG_CONFIG_HOME/backtest/backtest.toml``, else ``~/.config/backtest/backtest.toml``;
5. built-in defaults (no mirror).

The chosen file is :attr:`Config.path` (absolute) and how it was found :attr:`Config.found_by`; a run
names both. Relative directories in the file are resolved against the file's own directory, so the same
file gives the same cache and mirrors from any working directory.

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

    [instruments]
    aliases = "my_instruments.yaml"         # extra instrument names (format: backtest/extraction/instruments.yaml)
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from pathlib import Path

from .engine.config import DEFAULTS as SIM_DEFAULTS
from .errors import ConfigError

ENV_VAR = "BACKTEST_CONFIG"
CONFIG_NAME = "backtest.toml"
MAX_CONFIG_BYTES = 10**6  # a config is a few hundred bytes; a larger file is not one (read before parsing)
KNOWN_SOURCES = ("cache", "mirror", "yahoo")
#: How :func:`find_config_file` found the file (``Config.found_by``), in lookup order.
FOUND_BY = ("--config", "beside or above SETUPS", "current folder or above", f"${ENV_VAR}", "user config folder")


@dataclasses.dataclass
class DataConfig:
    sources: tuple[str, ...] = ("cache", "mirror", "yahoo")
    cache_dir: Path = Path("data_cache")
    mirrors: tuple[Path, ...] = ()
    interval: str = "1d"
    offline: bool = False  # --offline: yahoo was dropped from sources
    overridden: frozenset[str] = frozenset()  # keys set by command-line flags (named in messages instead of the file)


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
class InstrumentsConfig:
    """``[instruments]``: alias files merged over the shipped table (backtest/extraction/instruments.yaml)."""

    aliases: tuple[Path, ...] = ()


@dataclasses.dataclass
class Config:
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    run: RunDefaults = dataclasses.field(default_factory=RunDefaults)
    path: Path | None = None  # the file it came from (absolute), None for the built-in defaults
    found_by: str | None = None  # one of FOUND_BY: how that file was found
    instruments: InstrumentsConfig = dataclasses.field(default_factory=InstrumentsConfig)

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
        overridden = set(data.overridden)
        if cache_dir is not None:
            data.cache_dir = Path(cache_dir)
            overridden.add("cache_dir")
        if mirrors:
            data.mirrors = tuple(Path(m) for m in mirrors)
            overridden.add("mirrors")
        if sources:
            data.sources = _check_sources(sources, "--source")
            overridden.add("sources")
        if offline:
            data.sources = tuple(s for s in data.sources if s != "yahoo")
            data.offline = True
        data.overridden = frozenset(overridden)
        return dataclasses.replace(self, data=data)


def _check_sources(sources, where: str) -> tuple[str, ...]:
    out = []
    for s in sources:
        if s not in KNOWN_SOURCES:
            raise ConfigError(f"unknown data source {s!r}", where=where, hint=f"use one of {', '.join(KNOWN_SOURCES)}")
        out.append(s)
    return tuple(out)


def user_config_path() -> Path | None:
    """``$XDG_CONFIG_HOME/backtest/backtest.toml`` (an absolute XDG_CONFIG_HOME only), else ``~/.config/...``."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "backtest" / CONFIG_NAME
    try:
        return Path.home() / ".config" / "backtest" / CONFIG_NAME
    except RuntimeError:  # no HOME and no passwd entry (some containers): there is no user folder
        return None


def _search_upwards(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def find_config_file(explicit: str | Path | None = None, *, near: str | Path | None = None) -> tuple[Path | None, str | None]:
    """The config file to use and how it was found (see the module docstring), or ``(None, None)`` for defaults.

    ``near`` is the SETUPS argument of ``backtest run`` (a folder or a file, which need not exist yet): the
    search starts in it (a file: its folder) instead of the current folder. Folders are taken as written
    (``os.path.abspath``, symbolic links not resolved), so ``~/proj/setups`` finds ``~/proj/backtest.toml``
    even when ``setups`` links elsewhere.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError("config file not found", where=str(path), hint="check the --config path")
        return path, FOUND_BY[0]
    if near is not None:
        start = Path(os.path.abspath(near))
        if not start.is_dir():
            start = start.parent
        found = _search_upwards(start)
        if found:
            return found, FOUND_BY[1]
    # Then the current folder (SETUPS outside the project, e.g. `backtest run ../shared/articles` from its root).
    found = _search_upwards(Path.cwd())
    if found:
        return found, FOUND_BY[2]
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env)
        if not path.is_file():
            raise ConfigError("config file not found", where=f"${ENV_VAR}={env}", hint="fix or unset the variable")
        return path, FOUND_BY[3]
    user = user_config_path()
    if user is not None and user.is_file():
        return user, FOUND_BY[4]
    return None, None


def load_config(explicit: str | Path | None = None, *, near: str | Path | None = None) -> Config:
    """Read the configuration (see the module docstring for which file is used)."""
    path, found_by = find_config_file(explicit, near=near)
    if path is None:
        return Config()
    path = Path(os.path.abspath(path))
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file is {size / 1e6:.1f} MB, more than the {MAX_CONFIG_BYTES // 10**6} MB "
                              "limit", where=str(path), hint="check that it is a backtest.toml")
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=str(path), hint="fix the syntax") from None
    except OSError as exc:
        raise ConfigError(f"config file cannot be read: {exc.strerror or exc}", where=str(path),
                          hint="check its permissions") from None
    base = path.resolve().parent  # relative paths: from the folder of the file itself (links followed)
    where = str(path)
    unknown = set(raw) - {"data", "run", "instruments"}
    if unknown:
        raise ConfigError(f"unknown section(s) {sorted(unknown)}", where=where, hint="use [data], [run], [instruments]")
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
    return Config(data=data, run=run, path=path, found_by=found_by, instruments=_instruments(_table(raw, "instruments", where), base, where))


def _instruments(raw: dict, base: Path, where: str) -> InstrumentsConfig:
    """``[instruments] aliases = "my_instruments.yaml"`` (or a list): files in the format of instruments.yaml."""
    out = InstrumentsConfig()
    for key, value in raw.items():
        if key != "aliases":
            raise ConfigError(f"unknown key [instruments].{key}", where=where, hint="the key is aliases")
        names = [value] if isinstance(value, str) else _strings(value, "[instruments].aliases", where)
        out.aliases = tuple(_resolve(base, v) for v in names)
    return out


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
