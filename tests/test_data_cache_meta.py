"""Cache metadata and split ratios are validated where they are read: a bad value is one line, never a crash later.

Before: malformed metadata (a list, a split ratio that is text) crashed ``data list`` with a traceback, and a
split ratio of 0 (cache metadata) divided a level by zero when the report converted it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.cache import META_KEY, CacheMeta
from backtest.data.load import load_barset
from backtest.data.manage import import_directory
from backtest.data.mirror import read_splits
from backtest.data.splits import split_ratio
from invented_bars import BARS, SETUP

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data.md"


@pytest.fixture
def cached(tmp_path) -> tuple[Path, Path]:
    """A mirror with ZED.csv (invented bars) imported into a cache; returns (mirror, cache)."""
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "ZED.csv").write_text(BARS)
    cache = tmp_path / "c"
    rows = import_directory(mirror, Config(data=DataConfig(sources=("cache",), cache_dir=cache)))
    assert not any(r["error"] for r in rows)
    return mirror, cache


def _rewrite_meta(path: Path, change) -> None:
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[META_KEY])
    new = change(meta)
    raw = new.encode() if isinstance(new, str) else json.dumps(new).encode()
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, META_KEY: raw}), path)


MALFORMED = [
    ("a list", lambda m: [1, 2], "malformed cache metadata (a list, not a JSON object)"),
    ("not JSON", lambda m: "{oops", "malformed cache metadata (not JSON:"),
    ("ratio is text", lambda m: {**m, "splits": [["2026-02-05", "x"]]},
     "malformed cache metadata (splits[0][1]: split ratio must be a number, got 'x')"),
    ("ratio 0", lambda m: {**m, "splits": [["2026-02-05", 0]]},
     "malformed cache metadata (splits[0][1]: split ratio must be a finite number above 0, got 0)"),
    ("ratio 1", lambda m: {**m, "splits": [["2026-02-05", 1]]}, "malformed cache metadata (splits[0][1]: split ratio 1 changes nothing, got 1)"),
    ("splits not a list", lambda m: {**m, "splits": 5}, "malformed cache metadata (splits: "),
    ("bad split date", lambda m: {**m, "splits": [["2026-13-01", 2]]}, "malformed cache metadata (splits[0][0]: "),
    ("negative dividend", lambda m: {**m, "dividends": [["2026-02-05", -1]]}, "malformed cache metadata (dividends[0][1]: dividend must be"),
    ("unknown basis", lambda m: {**m, "basis": "adjusted?"}, "malformed cache metadata (basis: "),
    ("naive fetched_at", lambda m: {**m, "fetched_at": "2026-02-14T10:00:00"}, "malformed cache metadata (fetched_at: "),
    ("symbol of another file", lambda m: {**m, "symbol": "SPY"}, "malformed cache metadata (symbol 'SPY', but the file is 'ZED''s)"),
    ("symbol not a string", lambda m: {**m, "symbol": 5}, "malformed cache metadata (symbol: "),
]


@pytest.mark.parametrize("change, expected", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_metadata_is_one_line_in_data_list_and_the_mirror_takes_over(cached, change, expected):
    mirror, cache = cached
    path = cache / "ZED_1d.parquet"
    _rewrite_meta(path, change)
    listing = CliRunner().invoke(cli, ["--cache-dir", str(cache), "data", "list"])
    assert listing.exit_code == 0 and listing.exception is None, listing.output
    (row,) = listing.stdout.splitlines()[1:]
    assert row.startswith("ZED ") and f"{path}: {expected}" in row, row

    config = Config(data=DataConfig(sources=("cache", "mirror"), cache_dir=cache, mirrors=(mirror,)))
    bars = load_barset(["ZED"], config)
    assert bars["ZED"].source.startswith("mirror:") and len(bars["ZED"]) == 10
    assert any(expected in note and note.startswith("skipped cache: ") for note in bars["ZED"].notes)


def test_a_zero_split_ratio_in_the_cache_is_refused_and_the_run_writes_its_report(cached, tmp_path):
    """A level written before the split would be divided by 0 in the HTML report; now the file is refused."""
    mirror, cache = cached
    _rewrite_meta(cache / "ZED_1d.parquet", lambda m: {**m, "splits": [["2026-02-10", 0]]})
    setups = tmp_path / "s"
    setups.mkdir()
    (setups / "zed.yaml").write_text(SETUP)
    result = CliRunner().invoke(cli, ["--cache-dir", str(cache), "--source", "cache", "run", str(setups),
                                      "--out", str(tmp_path / "out"), "--format", "csv,json,html", "-q"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "split ratio must be a finite number above 0, got 0" in summary["data"]["missing"]["ZED"]
    assert (tmp_path / "out" / "report.html").is_file()


@pytest.mark.parametrize("ratio", ["0", "-2", "inf", "nan", "1", "abc", "1e999", ""])
def test_splits_csv_refuses_every_non_ratio_at_the_source(tmp_path, ratio):
    path = tmp_path / "SPLITS.csv"
    path.write_text(f"symbol,date,ratio\nZED,2026-02-05,{ratio}\nZED,2026-02-10,2\n")
    table, notes = read_splits(path)
    assert [(e.date.isoformat(), e.ratio) for e in table["ZED"]] == [("2026-02-10", 2.0)]
    (note,) = notes
    assert note.startswith(f"{path}: skipped bad line(s) 2 ") and "finite number above 0 and not 1" in note


@pytest.mark.parametrize("value", [2, 0.1, "3", 1.5])
def test_split_ratio_accepts_real_ratios(value):
    assert split_ratio(value) == float(value)


def test_docs_list_exactly_the_declared_metadata_fields():
    """docs/data.md documents the metadata from the declaration: same keys, in the table."""
    text = DOCS.read_text()
    table = text[text.index("| key | meaning |", text.index("The parquet schema metadata key `backtest`")):]
    table = table[:table.index("\n\n")]
    documented = set()
    for line in table.splitlines()[2:]:
        documented |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    assert documented == set(CacheMeta.model_fields)
