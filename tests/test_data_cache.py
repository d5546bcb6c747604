"""The parquet cache: metadata, corrupt files, concurrent writers."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from pathlib import Path

import backtest.data.cache as cache_module
import backtest.data.yahoo as yahoo
from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.data.manage import import_directory, list_cache
from backtest.data.cache import CacheSource, cache_path, read_entry, store
from backtest.errors import CorruptCacheError


def _config(cache_dir, mirrors=(), sources=("cache", "mirror")) -> Config:
    return Config(data=DataConfig(sources=tuple(sources), cache_dir=cache_dir, mirrors=tuple(mirrors)))


def _frame(days, base: float) -> pd.DataFrame:
    idx = pd.DatetimeIndex(pd.to_datetime(days), name="date")
    close = [base + i for i in range(len(days))]
    return pd.DataFrame({"open": close, "high": [c + 1 for c in close], "low": [c - 1 for c in close],
                         "close": close, "volume": [1.0] * len(days)}, index=idx)


@pytest.fixture
def imported_cache(market_data_dir, tmp_path):
    cache = tmp_path / "cache"
    import_directory(market_data_dir, _config(cache))
    return cache


def test_cache_file_metadata_and_layout(imported_cache, market_data_dir):
    path = imported_cache / "XLK_1d.parquet"
    table = pq.read_table(path)
    assert table.column_names[:5] == ["open", "high", "low", "close", "volume"]
    entry = read_entry(path)
    meta = entry.meta
    assert meta["symbol"] == "XLK" and meta["interval"] == "1d"
    assert meta["source"] == f"import:{market_data_dir}" and meta["basis"] == "split-adjusted"
    assert meta["splits"] == [["2025-12-05", 2.0]]
    assert meta["rows"] == 661 and (meta["first"], meta["last"]) == ("2024-01-02", "2026-08-20")
    assert dt.datetime.fromisoformat(meta["fetched_at"]).tzinfo is not None
    assert not list(imported_cache.glob("*.tmp")) and not list(imported_cache.glob(".*.tmp"))


def test_truncated_cache_file_is_reported_in_one_line_and_others_load(imported_cache, market_data_dir):
    path = imported_cache / "IWM_1d.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    with pytest.raises(CorruptCacheError) as info:
        CacheSource(imported_cache).load("IWM")
    assert info.value.one_line().startswith(f"{path}: unreadable cache file")

    only_cache = load_barset(["IWM", "SPY"], _config(imported_cache, sources=("cache",)))
    assert "SPY" in only_cache and len(only_cache["SPY"]) == 662
    reason = only_cache.missing["IWM"]
    assert "\n" not in reason and str(path) in reason and "unreadable cache file" in reason

    # With the mirror configured after the cache, the symbol still loads (the corrupt file is skipped).
    with_mirror = load_barset(["IWM"], _config(imported_cache, [market_data_dir]))
    assert with_mirror["IWM"].frame.loc["2026-02-06", "close"] == 265.02
    assert with_mirror["IWM"].source.startswith("mirror:")
    assert any(str(path) in n and "unreadable" in n for n in with_mirror["IWM"].notes)

    rows = {r["symbol"]: r for r in list_cache(_config(imported_cache))}
    assert len(rows) == 13 and rows["IWM"]["rows"] is None and "unreadable" in rows["IWM"]["note"]
    result = CliRunner().invoke(cli, ["--cache-dir", str(imported_cache), "data", "list"])
    assert result.exit_code == 0 and "Traceback" not in result.output
    assert any(l.startswith("IWM ") and "unreadable" in l for l in result.output.splitlines())


def test_corrupt_cache_file_is_replaced_by_a_refetch(imported_cache, monkeypatch):
    path = imported_cache / "SPY_1d.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    days = pd.bdate_range("2026-01-05", "2026-01-09")
    history = _frame(days, 50.0).rename(columns=str.capitalize)
    history.index = history.index.tz_localize("America/New_York")
    monkeypatch.setattr(yahoo, "download", lambda symbol, start, end: history)
    monkeypatch.setattr(yahoo, "now_utc", lambda: dt.datetime(2026, 1, 10, tzinfo=dt.timezone.utc))
    from backtest.data.manage import fetch

    [row] = fetch(["SPY"], dt.date(2026, 1, 5), dt.date(2026, 1, 9), _config(imported_cache, sources=("yahoo",)))
    assert row["rows"] == 5 and "unreadable cache file" in row["note"]
    assert read_entry(path).frame["close"].tolist() == [50.0, 51.0, 52.0, 53.0, 54.0]


def test_store_merges_new_rows_over_old(tmp_path):
    store(tmp_path, "ABC", _frame(["2026-01-05", "2026-01-06"], 10.0), source="yahoo", basis="split-adjusted")
    entry, _ = store(tmp_path, "ABC", _frame(["2026-01-06", "2026-01-07"], 20.0), source="yahoo",
                     basis="split-adjusted")
    assert entry.frame["close"].tolist() == [10.0, 20.0, 21.0]
    replaced, _ = store(tmp_path, "ABC", _frame(["2026-01-08"], 5.0), source="import:x", basis="split-adjusted",
                        replace=True)
    assert replaced.frame["close"].tolist() == [5.0]


def _writer(cache_dir: str, days: list[str], base: float) -> None:
    for day in days:  # one store (read-merge-write) per day: many chances to lose the other's rows
        store(cache_dir, "RACE", _frame([day], base), source="yahoo", basis="split-adjusted")


def _reader(path: str, writers_done, queue) -> None:
    """Read the file as the loaders do, as often as possible until the writers are done."""
    failures, reads = [], 0
    while not writers_done.is_set():
        if os.path.exists(path):
            cache_module._memo.clear()  # really re-read every time
            try:
                read_entry(Path(path))
                reads += 1
            except CorruptCacheError as exc:
                failures.append(exc.one_line())
    queue.put((reads, failures))


def test_two_processes_writing_the_same_cache_file(tmp_path):
    sessions = [d.strftime("%Y-%m-%d") for d in pd.bdate_range("2025-06-02", periods=40)]
    first, second = sessions[0::2], sessions[1::2]
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like two cron runs
    queue, writers_done = ctx.Queue(), ctx.Event()
    path = cache_path(tmp_path, "RACE")
    reader = ctx.Process(target=_reader, args=(str(path), writers_done, queue))
    writers = [ctx.Process(target=_writer, args=(str(tmp_path), first, 100.0)),
               ctx.Process(target=_writer, args=(str(tmp_path), second, 200.0))]
    reader.start()
    for p in writers:
        p.start()
    for p in writers:
        p.join(timeout=120)
    writers_done.set()
    reads, failures = queue.get(timeout=60)
    reader.join(timeout=60)
    assert [p.exitcode for p in writers + [reader]] == [0, 0, 0]
    assert failures == []  # a reader never saw a half-written (or half-replaced) file
    assert reads > 0
    entry = read_entry(path)
    assert [d.strftime("%Y-%m-%d") for d in entry.frame.index] == sessions  # no write was lost
    assert entry.meta["rows"] == 40
    assert not list(tmp_path.glob(".*.tmp"))
