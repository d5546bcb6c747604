"""Managing the local bar store: the bodies of ``backtest data import``, ``fetch`` and ``list``.

* :func:`import_directory` — a mirror-layout folder of CSV/parquet files into the parquet cache;
* :func:`fetch` — Yahoo into the cache, only the missing date ranges;
* :func:`list_cache` — one row per cached series.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..config import Config
from ..errors import DataError
from .cache import CacheSource, _symbol_from_path
from .load import clear_memo
from .mirror import MIRROR_BASIS, SPLITS_FILE, MirrorSource, read_bar_file, read_splits
from .symbols import normalize_symbol
from .yahoo import YahooSource

__all__ = ["import_directory", "fetch", "list_cache"]


def import_directory(directory: Path, config: Config) -> list[dict]:
    """Import every bar file of ``directory`` (mirror layout) into the parquet cache.

    Each file replaces the symbol's cached series (re-importing a corrected file fixes the cache).
    Returns one row per file: ``symbol, rows, first, last, dropped, note, error``; a bad file gets an
    ``error`` (also shown as its note) and the others are still imported.
    """
    from ..errors import UserError
    from .cache import store

    directory = Path(directory)
    if not directory.is_dir():
        raise UserError("not a directory", where=str(directory), hint="give the folder holding IWM.csv, RUT_INDEX.csv, ...")
    mirror = MirrorSource([directory])
    files = mirror.files()
    if not files:
        raise DataError("no bar files found", where=str(directory),
                        hint="expected one CSV/parquet per symbol: IWM.csv, RUT_INDEX.csv for ^RUT, ...")
    split_table, split_notes = ({}, ())
    if (directory / SPLITS_FILE).is_file():
        split_table, split_notes = read_splits(directory / SPLITS_FILE)
    rows = []
    for symbol, path in sorted(files.items(), key=lambda kv: kv[1].name):
        row = {"symbol": symbol, "rows": None, "first": None, "last": None, "dropped": None, "note": "", "error": ""}
        try:
            clean = read_bar_file(path)
            splits = [[e.date.isoformat(), e.ratio] for e in split_table.get(symbol, ())]
            entry, notes = store(config.data.cache_dir, symbol, clean.frame, source=f"import:{directory}",
                                 basis=MIRROR_BASIS, interval=config.data.interval, splits=splits, replace=True)
        except DataError as exc:
            row["error"] = row["note"] = exc.one_line()
            rows.append(row)
            continue
        row.update(rows=len(entry.frame), first=entry.frame.index[0].date().isoformat(),
                   last=entry.frame.index[-1].date().isoformat(), dropped=clean.dropped,
                   note="; ".join(list(clean.notes) + notes + (["splits: " + ", ".join(f"{d} {r:g}:1" for d, r in splits)]
                                                                if splits else [])))
        rows.append(row)
    if split_notes:
        rows.append({"symbol": SPLITS_FILE, "rows": None, "first": None, "last": None, "dropped": None,
                     "note": "; ".join(split_notes), "error": ""})
    clear_memo()
    return rows


def fetch(symbols: list[str], start: dt.date | None, end: dt.date | None, config: Config) -> list[dict]:
    """Download ``symbols`` from Yahoo into the cache, only the date ranges the cache lacks.

    Returns one row per symbol: ``symbol, rows, first, last, fetched, note, error`` (``rows``/``first``/
    ``last`` describe the cache after the refresh, ``fetched`` the bars downloaded now). A symbol that
    cannot be fetched (offline, unknown) gets a one-line ``error``; the others still are.
    """
    from ..errors import UsageError

    if "yahoo" not in config.data.sources:
        raise UsageError("fetching needs the yahoo source, which is off (--offline or [data].sources)",
                         hint="drop --offline or add \"yahoo\" to [data].sources in backtest.toml")
    yahoo = YahooSource(cache=CacheSource(config.data.cache_dir, interval=config.data.interval))
    rows = []
    for raw_symbol in symbols:
        row = {"symbol": str(raw_symbol), "rows": None, "first": None, "last": None, "fetched": 0, "note": "",
               "error": ""}
        try:
            symbol = normalize_symbol(raw_symbol)
            row["symbol"] = symbol
            result = yahoo.refresh(symbol, start, end)
        except ValueError as exc:
            row["error"] = row["note"] = str(exc)
        except DataError as exc:
            row["error"] = row["note"] = exc.one_line()
        else:
            entry = result["entry"]
            if entry is not None and len(entry.frame):
                row.update(rows=len(entry.frame), first=entry.frame.index[0].date().isoformat(),
                           last=entry.frame.index[-1].date().isoformat())
            row["fetched"] = result["fetched"]
            notes = list(result["notes"])
            if not result["ranges"]:
                notes.insert(0, "up to date")
            row["note"] = "; ".join(notes)
        rows.append(row)
    clear_memo()
    return rows


def list_cache(config: Config) -> list[dict]:
    """One row per cache file: ``symbol, first, last, rows, source, basis, note`` (unreadable files noted)."""
    rows = []
    for path, entry, error in CacheSource(config.data.cache_dir, interval=config.data.interval).entries():
        if entry is None:
            rows.append({"symbol": _symbol_from_path(path), "first": None, "last": None, "rows": None,
                         "source": None, "basis": None, "note": error})
            continue
        frame = entry.frame
        notes = list(entry.clean.notes)
        if entry.meta.get("splits"):
            notes.append("splits: " + ", ".join(f"{d} {r:g}:1" for d, r in entry.meta["splits"]))
        rows.append({
            "symbol": entry.symbol,
            "first": frame.index[0].date().isoformat(),
            "last": frame.index[-1].date().isoformat(),
            "rows": len(frame),
            "source": entry.meta.get("source", "unknown"),
            "basis": entry.meta["basis"],
            "note": "; ".join(notes),
        })
    return rows
