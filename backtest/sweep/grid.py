"""The sweep's grid: named axes over :class:`~backtest.engine.config.SimConfig`, and their cartesian product.

An axis is a name and a list of values. The names a user types (``--grid entry_window=5,10,20``, or a
``[grid]`` table in a TOML file given with ``--grid-file``) map to ``SimConfig`` fields through
:data:`ALIASES`; any other ``SimConfig`` field of a plain type (int, float, str, bool) may be named
directly. The mapping is generic over ``dataclasses.fields(SimConfig)``: a field the engine adds later
(``delay``) becomes an axis without a change here, and an axis whose field this engine lacks is a
one-line usage error. Every cell is ``dataclasses.replace(base, **assignments)``, so ``SimConfig``'s own
checks (ranges, policy names) judge every value, and a refused value names its axis.

``costs_bps`` is the one axis that is not a field: like ``backtest run --costs-bps`` it sets the
commission per side to the value and the slippage to 0 (``docs/sweep.md``).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path
from typing import Any, Iterable

from ..engine.config import SimConfig
from ..errors import UsageError

#: Axis name -> the SimConfig assignments one value makes (``{}`` placeholders take the value).
ALIASES: dict[str, tuple[str, ...]] = {
    "entry_window": ("entry_window",),
    "max_hold": ("max_hold",),
    "ambiguity": ("ambiguity",),
    "scale_out": ("scale_out",),
    "costs_bps": ("commission_bps",),  # and slippage_bps = 0, as run --costs-bps
    "coherence_pct": ("coherence_max_pct",),
    "coherence_atr": ("coherence_max_atr",),
    "include_incoherent": ("include_incoherent",),
    "delay": ("delay",),
}
#: SimConfig fields that are not assumptions about the trades (what is measured, or the data's end).
NOT_AXES = ("as_of", "benchmark", "horizons")
#: The most cells one sweep may have.
MAX_CELLS = 100_000
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclasses.dataclass(frozen=True)
class Axis:
    """One axis of the grid: its name (as typed), the SimConfig fields it sets, and its values in order."""

    name: str
    fields: tuple[str, ...]
    values: tuple[Any, ...]

    def assignments(self, value) -> dict:
        out = {f: value for f in self.fields}
        if self.name == "costs_bps":
            out["slippage_bps"] = 0.0
        return out


@dataclasses.dataclass(frozen=True)
class Grid:
    """The axes in the order given; :meth:`cells` is their cartesian product (the last axis varies fastest)."""

    axes: tuple[Axis, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.axes)

    def __len__(self) -> int:
        return math.prod(len(a.values) for a in self.axes)

    def points(self) -> list[tuple]:
        """Every cell's axis values, in cell order."""
        return list(itertools.product(*(a.values for a in self.axes)))

    def cells(self, base: SimConfig) -> list[SimConfig]:
        """Every cell's configuration: ``base`` with the cell's axis values assigned."""
        out = []
        for point in self.points():
            changes: dict = {}
            for axis, value in zip(self.axes, point):
                changes.update(axis.assignments(value))
            try:
                out.append(dataclasses.replace(base, **changes))
            except (ValueError, TypeError) as exc:
                cell = ", ".join(f"{a.name}={v}" for a, v in zip(self.axes, point))
                raise UsageError(f"cell {cell}: {exc}", where="--grid",
                                 hint="fix or remove the value on its axis") from None
        return out

    def to_dict(self) -> dict:
        return {a.name: list(a.values) for a in self.axes}


def _fields() -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(SimConfig)}


def axis_fields(name: str, where: str) -> tuple[str, ...]:
    """The SimConfig fields axis ``name`` sets, or a :class:`UsageError` naming it."""
    fields = _fields()
    targets = ALIASES.get(name, (name,) if name in fields and name not in NOT_AXES else ())
    if not targets:
        known = ", ".join(available_axes())
        raise UsageError(f"unknown grid axis {name!r}", where=where, hint=f"use one of {known}")
    missing = [f for f in targets if f not in fields]
    if missing:
        raise UsageError(f"grid axis {name!r} needs the engine setting {missing[0]!r}, which this version of "
                         "backtest does not have", where=where, hint="drop the axis or upgrade backtest")
    return targets


def available_axes() -> list[str]:
    """Every axis name this engine accepts (aliases whose fields exist, then the other plain fields)."""
    fields = _fields()
    names = [a for a, targets in ALIASES.items() if all(t in fields for t in targets)]
    covered = {t for a in names for t in ALIASES[a]} | set(NOT_AXES) | {"slippage_bps"}
    return names + [f for f in fields if f not in covered and f not in names]


def coerce(name: str, field: str, value, where: str):
    """One axis value (text from the command line, or a TOML value) as the field's type."""
    default = getattr(SimConfig(), field)
    kind = type(default)
    bad = UsageError(f"grid axis {name}: {value!r} is not {_kind_words(kind)}", where=where,
                     hint=f"give {name}=V1,V2,... with values like {default!r}")
    text = value.strip() if isinstance(value, str) else None
    if kind is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise bad
    if kind is int:
        if isinstance(value, bool):
            raise bad
        if isinstance(value, int):
            return value
        if text is not None:
            try:
                return int(text)
            except ValueError:
                raise bad from None
        raise bad
    if kind is float:
        if isinstance(value, bool):
            raise bad
        try:
            number = float(text if text is not None else value)
        except (TypeError, ValueError):
            raise bad from None
        if not math.isfinite(number):
            raise bad
        return number
    if kind is str:
        if text is None or not text:
            raise bad
        return text
    raise UsageError(f"grid axis {name}: the setting {field} cannot be swept", where=where,
                     hint=f"use one of {', '.join(available_axes())}")


def _kind_words(kind) -> str:
    return {bool: "true or false", int: "a whole number", float: "a number", str: "a name"}.get(kind, "valid")


def make_axis(name: str, values: Iterable, where: str) -> Axis:
    name = str(name).strip()
    fields = axis_fields(name, where)
    coerced = tuple(coerce(name, fields[0], v, where) for v in values)
    if not coerced:
        raise UsageError(f"grid axis {name} has no values", where=where, hint=f"give {name}=V1,V2,...")
    if len(set(coerced)) != len(coerced):
        raise UsageError(f"grid axis {name} repeats a value", where=where, hint="give each value once")
    return Axis(name, fields, coerced)


def parse_grid(options: Iterable[str] = (), grid_file: Path | None = None) -> Grid:
    """``--grid NAME=V1,V2`` options and a ``--grid-file`` TOML file -> :class:`Grid` (file axes first).

    The TOML file holds a ``[grid]`` table (or top-level keys) of arrays: ``entry_window = [5, 10, 20]``.
    """
    axes: list[Axis] = []
    if grid_file is not None:
        axes += _file_axes(Path(grid_file))
    for option in options:
        name, sep, values = str(option).partition("=")
        if not sep or not name.strip() or not values.strip():
            raise UsageError(f"--grid {option!r} is not NAME=V1,V2,...", where="--grid",
                             hint="e.g. --grid entry_window=5,10,20")
        axes.append(make_axis(name, [v for v in values.split(",")], f"--grid {name.strip()}"))
    seen: set[str] = set()
    for axis in axes:
        overlap = seen & set(axis.fields)
        if overlap:
            raise UsageError(f"grid axis {axis.name} is given twice (or sets {sorted(overlap)[0]} again)",
                             where="--grid", hint="give each axis once")
        seen |= set(axis.fields) | ({"slippage_bps"} if axis.name == "costs_bps" else set())
    if not axes:
        raise UsageError("the sweep has no grid", where="--grid",
                         hint="give --grid NAME=V1,V2,... (repeatable) or --grid-file GRID.toml")
    grid = Grid(tuple(axes))
    if len(grid) > MAX_CELLS:
        raise UsageError(f"the grid has {len(grid):,} cells, more than {MAX_CELLS:,}", where="--grid",
                         hint="sweep fewer values, or split the grid into several sweeps")
    return grid


def _file_axes(path: Path) -> list[Axis]:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("grid file not found", where=str(path), hint="check the --grid-file path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the grid file: {exc}", where=str(path), hint="give a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", where=str(path), hint="see docs/sweep.md for the format") from None
    table = data.get("grid", data)
    if not isinstance(table, dict):
        raise UsageError("[grid] must be a table of NAME = [values]", where=str(path), hint="see docs/sweep.md")
    axes = []
    for name, values in table.items():
        where = f"{path}: {name}"
        if not isinstance(values, list):
            values = [values] if not isinstance(values, dict) else None
        if values is None:
            raise UsageError(f"{name} must be an array of values", where=where, hint=f"{name} = [v1, v2]")
        axes.append(make_axis(name, values, where))
    return axes


__all__ = ["ALIASES", "Axis", "Grid", "MAX_CELLS", "available_axes", "parse_grid"]
