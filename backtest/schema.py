"""Table schemas declared once: column name, dtype and meaning, in order.

The stages hand each other pandas tables (the setup table into the engine, the ledger out of it). Each
table's columns are declared exactly once, as a :class:`Schema` of :class:`Column` entries; the code
builds its frames through :meth:`Schema.frame` (which checks that every column is there, in order, with
its dtype), and the documentation's column tables are generated from the same declaration
(:meth:`Schema.markdown`; ``tests/test_schema_docs.py`` checks ``docs/`` agrees with it).

Dtypes: ``str`` (text: Python strings in an ``object`` column, missing = None; pandas' pyarrow-backed
``str`` dtype converts every value on the way in and out, which costs seconds at corpus size),
``float64`` (missing = NaN), ``Int64`` (a whole number that may be missing), ``int64``, ``bool``,
``boolean`` (true/false/missing), ``datetime64[ns]`` (a tz-naive session date, missing = NaT),
``datetime64[ns, UTC]`` (an instant) and ``object`` (a tuple, e.g. the targets as written).
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

import numpy as np
import pandas as pd


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its name, its pandas dtype and what it means (one or two sentences, for the docs)."""

    name: str
    dtype: str
    meaning: str


@dataclasses.dataclass(frozen=True)
class Schema:
    """An ordered set of columns: the one declaration a table's code and documentation both use."""

    name: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def __getitem__(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def empty(self) -> pd.DataFrame:
        """A frame with no rows and every column in its dtype."""
        return self.frame({}, length=0)

    def frame(self, data: Mapping[str, object], *, length: int | None = None) -> pd.DataFrame:
        """A frame with exactly these columns, in order, each cast to its dtype.

        ``data`` maps column names to arrays (or lists) of equal length; a column that is absent is all
        missing (``length`` rows when nothing else says how many). A name that is not in the schema is
        an error, so a typo cannot add a column silently.
        """
        unknown = set(data) - set(self.names)
        if unknown:
            raise KeyError(f"{self.name}: not in the schema: {sorted(unknown)}")
        if length is None:
            length = len(next(iter(data.values()))) if data else 0
        index = pd.RangeIndex(length)
        out = {}
        for column in self.columns:
            values = _as_dtype(data.get(column.name), column.dtype, length, f"{self.name}.{column.name}")
            out[column.name] = pd.Series(values, index=index, dtype=object if column.dtype in ("str", "object") else None,
                                         copy=False)
        return pd.DataFrame(out, index=index, columns=list(self.names))

    def pandas_dtype(self, name: str) -> str:
        """The pandas dtype a column has in a frame built by :meth:`frame` (``str`` columns are ``object``)."""
        dtype = self[name].dtype
        return "object" if dtype == "str" else dtype

    def markdown(self) -> str:
        """The documentation table (``| column | dtype | meaning |``) generated from this declaration."""
        lines = ["| column | dtype | meaning |", "|---|---|---|"]
        for column in self.columns:
            lines.append(f"| `{column.name}` | {column.dtype} | {column.meaning} |")
        return "\n".join(lines) + "\n"


def _as_dtype(values, dtype: str, length: int, where: str):
    if values is None:
        values = [None] * length
    if len(values) != length:
        raise ValueError(f"{where}: {len(values)} values for {length} rows")
    if dtype in ("object", "str"):
        if isinstance(values, np.ndarray) and values.dtype == object:
            array = values
        elif isinstance(values, (pd.Series, pd.api.extensions.ExtensionArray)):
            array = values.to_numpy(dtype=object)  # not element by element
        else:
            array = np.empty(length, dtype=object)
            array[:] = list(values)
        if dtype == "str" and length and pd.api.types.infer_dtype(array, skipna=False) != "string":
            # text: Python str, missing as None (NaN from pandas' str columns too); all-str columns need no look
            missing = pd.isna(array)
            if missing.any():
                array = array.copy()
                array[missing] = None
        return array
    if dtype == "float64":
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            return values
        try:  # numbers and None (the common case), without pandas' per-value inference
            return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            return pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce").astype("float64").to_numpy()
    if dtype in ("int64", "int32", "int8"):
        return np.asarray(values, dtype=dtype)
    if dtype == "bool":
        if isinstance(values, np.ndarray) and values.dtype == bool:
            return values
        return np.array([v is not None and v == v and bool(v) for v in values], dtype=bool)
    if dtype in ("Int64", "boolean"):
        return pd.array(values, dtype=dtype)
    if dtype.startswith("datetime64[ns"):
        if isinstance(values, np.ndarray) and values.dtype == "datetime64[ns]" and dtype == "datetime64[ns]":
            return values
        converted = pd.to_datetime(pd.Series(values, dtype=object), utc=dtype.endswith("UTC]"))
        return converted.astype(dtype).to_numpy() if dtype == "datetime64[ns]" else converted.dt.as_unit("ns").array
    raise ValueError(f"{where}: unknown dtype {dtype!r}")


# ------------------------------------------------------------------------------------------- docs
DOC = "docs/tables.md"


def schemas() -> dict[str, Schema]:
    """Every declared table, by the name its documentation section uses."""
    from .engine.ledger import CALLS, COHERENCE, EXITS, TRADES
    from .reports.tables import TRADE_FLAGS
    from .setups.table import ARTICLE_SCHEMA, SETUP_SCHEMA

    return {s.name: s for s in (ARTICLE_SCHEMA, SETUP_SCHEMA, TRADES, TRADE_FLAGS, EXITS, CALLS, COHERENCE)}


def render_doc(text: str) -> str:
    """``text`` with every ``<!-- schema: NAME -->`` ... ``<!-- /schema -->`` block regenerated from its
    declaration (unknown names are an error, so a renamed table cannot leave a stale block)."""
    import re

    tables = schemas()

    def block(match: "re.Match[str]") -> str:
        name = match.group(1)
        if name not in tables:
            raise KeyError(f"{DOC}: no schema named {name!r}")
        return f"<!-- schema: {name} -->\n{tables[name].markdown()}<!-- /schema -->"

    return re.sub(r"<!-- schema: (\w+) -->\n.*?<!-- /schema -->", block, text, flags=re.S)


if __name__ == "__main__":  # python -m backtest.schema: regenerate the column tables of docs/tables.md
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / DOC
    path.write_text(render_doc(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {path}")
