"""The setup table: every setup of a corpus as one columnar table, the engine's only input.

:class:`SetupTable` holds two frames, both declared once below (and documented from that declaration in
``docs/tables.md``):

* ``articles`` (:data:`ARTICLE_SCHEMA`): one row per article, in **publication order**;
* ``setups`` (:data:`SETUP_SCHEMA`): one row per setup, in publication order of their articles, then by
  setup id; ``article`` is the row of the setup's article in ``articles``.

**Publication order**, defined here and nowhere else (:func:`publication_order`): by publication
instant (UTC; a date-only publication counts as 16:00 New York that day, the instant the fill rules use:
:func:`backtest.data.calendar.publication_instant`), then article id, then setup id; undated articles
come last. The ledger keeps this order and every report table follows it.

The table is built from validated :class:`~backtest.setups.model.SetupFile` objects
(:meth:`SetupTable.from_files`), or from the plain rows the loader caches for unchanged files
(:func:`file_rows` / :meth:`SetupTable.from_rows`): a re-run over an unchanged corpus skips YAML parsing
and validation and goes straight from cached rows to this table. Levels are as written (publication-date
price basis); the engine converts them to the bars' basis.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from ..schema import Column, Schema
from .model import ArticleMeta, Setup, SetupFile

ARTICLE_SCHEMA = Schema("articles", (
    Column("article_id", "str", "the article's id (`article.id` in the setup file)"),
    Column("title", "str", "its headline (from the file, or read from the article file when unchanged)"),
    Column("path", "str", "`article.path` as written: the article file the setups came from"),
    Column("published", "str", "publication as written, ISO 8601 (UTC offset when a time is known, else a date); "
                               "empty when undated"),
    Column("published_at", "datetime64[ns, UTC]", "the publication instant that orders articles and decides the "
                                                  "first eligible session (a date alone is 16:00 New York); NaT when undated"),
    Column("published_basis", "str", "how the date was known: `stated`, `inferred` (a lower bound) or `manual`"),
    Column("stance", "str", "`bullish`, `bearish`, `neutral` or empty"),
    Column("stance_basis", "str", "`stated` in the article, `derived` from its explicit setups, or empty"),
    Column("pulse", "Int64", "the article's Pulse score (0-100)"),
    Column("threat", "Int64", "its Threat Level (0-5)"),
    Column("subject", "object", "tuple of the symbols the stance is about (directional calls), in order"),
    Column("sha256", "str", "`article.sha256` as written: the article file the spans index (a quote is read only "
                            "from a file with this hash)"),
    Column("setup_file", "str", "the setup file the row came from (a relative `article.path` is looked up beside it "
                                "and one folder up); for raw articles, the article file"),
))

SETUP_SCHEMA = Schema("setups", (
    Column("setup_id", "str", "the setup's id (unique in the corpus)"),
    Column("article", "int64", "row of its article in the articles table"),
    Column("kind", "str", "`single` or `pair`"),
    Column("status", "str", "`ok`, or `unresolved` when the file names no symbol for the instrument"),
    Column("instrument", "str", "the instrument in the article's words"),
    Column("symbol", "str", "a single's symbol as written (empty for pairs and unresolved singles)"),
    Column("long_symbol", "str", "a pair's long leg symbol"),
    Column("long_instrument", "str", "a pair's long leg in the article's words"),
    Column("short_symbol", "str", "a pair's short leg symbol"),
    Column("short_instrument", "str", "a pair's short leg in the article's words"),
    Column("direction", "str", "`long` or `short` (a pair is long the spread)"),
    Column("entry_type", "str", "`market`, `stop`, `limit` or `close` (close-confirmed)"),
    Column("entry_level", "float64", "trigger level as written (NaN for market)"),
    Column("entry_window", "Int64", "sessions the entry order works (empty: the run's default)"),
    Column("stop", "float64", "protective stop as written (NaN: none)"),
    Column("targets", "object", "tuple of targets as written, in the order they are reached"),
    Column("invalidation", "float64", "level that cancels a working entry order (NaN: none)"),
    Column("max_hold", "Int64", "holding period in sessions (empty: the run's default)"),
    Column("scale_out", "str", "`equal` or `first` (empty: the run's default)"),
    Column("ambiguity", "str", "`stop-first` or `target-first` (empty: the run's default)"),
    Column("explicit", "bool", "an explicit recommendation (true) or a conditional scenario (false)"),
    Column("ordering", "str", "the level-ordering problems (`Setup.ordering_problems`, `; `-joined); empty when the "
                              "levels are in order"),
    Column("span_start", "Int64", "start of the first of `source.spans` (a character offset into the article's "
                                  "decoded text); empty when the setup has no span"),
    Column("span_end", "Int64", "its end (exclusive)"),
))


def article_row(meta: ArticleMeta, setup_file: str | None = None) -> dict:
    """The plain (JSON-able) article row of one setup file (read from ``setup_file``): what the loader caches."""
    return {
        "article_id": meta.id, "title": meta.title, "path": meta.path, "published": meta.published_iso,
        "published_basis": meta.published_basis, "stance": meta.stance, "stance_basis": meta.stance_basis,
        "pulse": meta.pulse, "threat": meta.threat, "subject": list(meta.subject), "sha256": meta.sha256,
        "setup_file": setup_file,
    }


def setup_row(setup: Setup) -> dict:
    """The plain (JSON-able) row of one validated setup, its level-ordering check included."""
    pair = setup.kind == "pair"
    problems = setup.ordering_problems()
    span = setup.source.spans[0] if setup.source.spans else None
    return {
        "setup_id": setup.id, "kind": setup.kind, "status": setup.status, "instrument": setup.instrument,
        "symbol": setup.symbol,
        "long_symbol": setup.long.symbol if pair else None, "long_instrument": setup.long.instrument if pair else None,
        "short_symbol": setup.short.symbol if pair else None,
        "short_instrument": setup.short.instrument if pair else None,
        "direction": setup.direction, "entry_type": setup.entry.type, "entry_level": setup.entry.level,
        "entry_window": setup.entry.window, "stop": setup.stop, "targets": [float(t) for t in setup.targets],
        "invalidation": setup.invalidation, "max_hold": setup.max_hold, "scale_out": setup.scale_out,
        "ambiguity": setup.ambiguity, "explicit": setup.explicit,
        "ordering": "; ".join(problems) if problems else None,
        "span_start": span.start if span is not None else None, "span_end": span.end if span is not None else None,
    }


def file_rows(setup_file: SetupFile, path: str | Path | None = None) -> tuple[dict, dict[str, list]]:
    """(article row, setup columns) of one setup file read from ``path``: the setups column by column (what
    the loader caches, and what :meth:`SetupTable.from_rows` concatenates without touching each setup again)."""
    rows = [setup_row(s) for s in setup_file.setups]
    columns = {name: [r[name] for r in rows] for name in SETUP_COLUMNS}
    # a column that is empty for every setup of the file is left out (the cache stores less; from_rows fills it)
    return article_row(setup_file.article, str(path) if path is not None else None), {k: v for k, v in columns.items() if k == "setup_id" or any(x is not None for x in v)}


#: The setup columns a file contributes (``article`` is given by the table).
SETUP_COLUMNS = tuple(name for name in SETUP_SCHEMA.names if name != "article")


@dataclasses.dataclass
class SetupTable:
    """Every setup of a corpus, columnar, in publication order (see the module docstring)."""

    articles: pd.DataFrame
    setups: pd.DataFrame

    def __len__(self) -> int:
        return len(self.setups)

    @classmethod
    def from_files(cls, files: Sequence[SetupFile]) -> "SetupTable":
        return cls.from_rows(file_rows(f) for f in files)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[dict, dict[str, list]]]) -> "SetupTable":
        """The table of (article row, setup columns) pairs, one pair per setup file, in any order."""
        import itertools

        rows = list(rows)
        articles = {name: [a.get(name) for a, _ in rows] for name in ARTICLE_SCHEMA.names if name != "published_at"}
        articles["subject"] = [tuple(a.get("subject") or ()) for a, _ in rows]
        counts = [len(setups["setup_id"]) for _, setups in rows]
        setups = {name: list(itertools.chain.from_iterable(c.get(name) or [None] * n for n, (_, c) in zip(counts, rows)))
                  for name in SETUP_COLUMNS}
        setups["targets"] = [tuple(map(float, t or ())) for t in setups["targets"]]
        setups["article"] = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
        return cls.from_columns(articles, setups)

    @classmethod
    def from_columns(cls, articles: dict, setups: dict) -> "SetupTable":
        """The table of column arrays (``articles`` without ``published_at``; ``setups["article"]`` = the
        position of each setup's article in ``articles``), sorted into publication order."""
        published = list(articles["published"])
        n_articles = len(published)
        instants = publication_instants(published)
        order = publication_order(published, articles["article_id"], instants)
        position = np.empty(n_articles, dtype=np.int64)
        position[order] = np.arange(n_articles)
        article_cols = {name: _take(values, order) for name, values in articles.items()}
        article_cols["published_at"] = pd.DatetimeIndex(instants[order].view("datetime64[ns]")).tz_localize("UTC").array
        n_setups = len(setups["setup_id"])
        new_article = position[np.asarray(setups["article"], dtype=np.int64)] if n_setups else np.empty(0, np.int64)
        ids = np.asarray(setups["setup_id"], dtype=object)
        setup_order = np.lexsort((ids.astype(str), new_article)) if n_setups else np.empty(0, np.int64)
        setup_cols = {name: _take(values, setup_order) for name, values in setups.items()}
        setup_cols["article"] = new_article[setup_order]
        return cls(articles=ARTICLE_SCHEMA.frame(article_cols, length=n_articles),
                   setups=SETUP_SCHEMA.frame(setup_cols, length=n_setups))

    def symbols(self, benchmark: str | None = None) -> list[str]:
        """Every symbol the run needs bars for: setups' symbols and pair legs, articles' subjects and the
        benchmark; sorted."""
        found = {benchmark} if benchmark else set()
        for name in ("symbol", "long_symbol", "short_symbol"):
            found.update(self.setups[name].dropna())
        for subject in self.articles["subject"]:
            found.update(subject)
        return sorted(s for s in found if s)

    def published_ns(self) -> np.ndarray:
        """Each setup's publication instant in UTC ns (int64; ``INT64_MIN`` for undated ones)."""
        return self.article_published_ns()[self.setups["article"].to_numpy()]

    def article_published_ns(self) -> np.ndarray:
        """Each article's publication instant in UTC ns (int64; ``INT64_MIN`` when undated)."""
        return pd.DatetimeIndex(self.articles["published_at"]).asi8


_NAT = np.iinfo(np.int64).min


def _take(values, order: np.ndarray):
    """``values`` (a list, array or pandas array) reordered by ``order``."""
    if isinstance(values, (pd.api.extensions.ExtensionArray, pd.Series)):
        return pd.Series(values).take(order).array
    array = np.empty(len(values), dtype=object) if not isinstance(values, np.ndarray) else values
    if not isinstance(values, np.ndarray):
        array[:] = values
    return array[order]


def publication_order(published: Sequence[str | None], article_ids: Sequence[str],
                      instants: np.ndarray | None = None) -> np.ndarray:
    """Positions that sort articles into publication order (see the module docstring)."""
    instants = publication_instants(published) if instants is None else instants
    ids = np.asarray(article_ids, dtype=object).astype(str)
    return np.lexsort((ids, instants, instants == _NAT)).astype(np.int64)


def publication_instants(published: Sequence[str | None]) -> np.ndarray:
    """UTC ns (int64; ``INT64_MIN`` when undated) of publications written as ISO strings, all at once.

    The rule is :func:`backtest.data.calendar.publication_instant` (a date alone counts as 16:00 New York
    that day), applied to whole columns: one parse for the timed ones, one for the dates.
    """
    from ..data.calendar import TIMEZONE

    out = np.full(len(published), _NAT, dtype=np.int64)
    text = np.array([p if p is not None else "" for p in published], dtype=object)
    is_date = np.array([len(p) == 10 for p in text], dtype=bool)
    timed = ~is_date & (text != "")
    if timed.any():
        out[timed] = pd.to_datetime(pd.Series(text[timed]), utc=True, format="ISO8601").dt.as_unit("ns").astype("int64")
    if is_date.any():
        local = pd.DatetimeIndex(pd.to_datetime(pd.Series(text[is_date]), format="%Y-%m-%d")).as_unit("ns")
        out[is_date] = (local.tz_localize(TIMEZONE) + pd.Timedelta(hours=16)).tz_convert("UTC").asi8
    return out


# ------------------------------------------------------------------------------- columnar storage
def encode_frame(frame: pd.DataFrame, schema: Schema) -> bytes:
    """One frame of ``schema`` as Arrow IPC bytes (data only, never code): what the parsed-setup cache
    stores for a whole corpus. :func:`decode_frame` gives back a frame equal to ``frame`` in every value
    and dtype (``tests/test_setup_cache.py`` checks it on real corpora).

    Encoding by declared dtype: text and numbers as Arrow's own types (NaN kept as a value, missing text
    and ``Int64`` as nulls), instants as int64 ns (NaT as ``INT64_MIN``), tuples as lists (of text for
    ``subject``, of floats for ``targets``).
    """
    import pyarrow as pa

    arrays, names = [], []
    for column in schema.columns:
        values = frame[column.name]
        dtype = column.dtype
        if dtype == "str":
            array = pa.array(values.to_numpy(dtype=object), type=pa.string())
        elif dtype == "object":
            items = values.to_numpy(dtype=object).tolist()
            kind = pa.float64() if any(type(x) is float for t in items for x in t) else pa.string()
            array = pa.array([list(t) for t in items], type=pa.list_(kind))
        elif dtype.startswith("datetime64[ns"):
            array = pa.array(pd.DatetimeIndex(values).asi8, type=pa.int64())
        elif dtype in ("Int64", "boolean"):
            array = pa.array(values.array)
        else:
            array = pa.array(values.to_numpy())
        arrays.append(array)
        names.append(column.name)
    table = pa.Table.from_arrays(arrays, names=names) if arrays else pa.table({})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def decode_frame(data: bytes, schema: Schema) -> pd.DataFrame:
    """The frame :func:`encode_frame` stored (ValueError when ``data`` does not hold ``schema``'s columns)."""
    import pyarrow as pa

    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    if tuple(table.column_names) != schema.names:
        raise ValueError(f"{schema.name}: stored columns differ from the schema")
    columns = {}
    for column in schema.columns:
        array = table.column(column.name).combine_chunks()
        dtype = column.dtype
        if dtype == "str":
            values = array.to_numpy(zero_copy_only=False)
            if values.dtype != object:
                values = values.astype(object)
        elif dtype == "object":
            values = np.empty(len(array), dtype=object)
            values[:] = [tuple(x) for x in array.to_pylist()]
        elif dtype.startswith("datetime64[ns"):
            ns = array.to_numpy(zero_copy_only=False).astype(np.int64)
            index = pd.DatetimeIndex(ns.view("datetime64[ns]"))
            values = (index.tz_localize("UTC") if dtype.endswith("UTC]") else index).array
        elif dtype in ("Int64", "boolean"):
            mask = array.is_null().to_numpy(zero_copy_only=False)
            filled = array.fill_null(False if dtype == "boolean" else 0).to_numpy(zero_copy_only=False)
            values = (pd.arrays.IntegerArray(filled.astype(np.int64), mask) if dtype == "Int64"
                      else pd.arrays.BooleanArray(filled.astype(bool), mask))
        else:
            values = array.to_numpy(zero_copy_only=False).astype(dtype, copy=False)
        columns[column.name] = values
    return schema.frame(columns, length=table.num_rows)
