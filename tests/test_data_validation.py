"""Validation of bar files: bad rows are dropped and counted, bad files give one-line errors naming the file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.load import load_barset
from backtest.data.manage import import_directory
from backtest.data.validate import clean_bars, snap_float32
from backtest.errors import DataError

HEADER = "date,open,high,low,close,volume\n"
# Invented prices on real XNYS sessions of January 2026.
GOOD_ROWS = [
    "2026-01-05,10.0,10.5,9.8,10.2,1000",
    "2026-01-06,10.2,10.9,10.1,10.8,1100",
    "2026-01-07,10.8,11.0,10.4,10.5,900",
    "2026-01-08,10.5,10.6,10.0,10.1,",
    "2026-01-09,10.1,10.3,9.9,10.3,1200",
]


def _write(directory: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    path = directory / name
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _config(tmp_path: Path, mirror: Path, sources=("mirror",)) -> Config:
    return Config(data=DataConfig(sources=sources, cache_dir=tmp_path / "cache", mirrors=(mirror,)))


def test_clean_file_loads_unchanged(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _write(mirror, "GOOD.csv", GOOD_ROWS)
    bars = load_barset(["GOOD"], _config(tmp_path, mirror))["GOOD"]
    assert len(bars) == 5 and bars.dropped_rows == 0 and bars.notes == ()
    assert bars.frame["close"].tolist() == [10.2, 10.8, 10.5, 10.1, 10.3]
    assert np.isnan(bars.frame.loc["2026-01-08", "volume"])  # empty volume is allowed


def test_bad_rows_are_dropped_counted_and_located(tmp_path):
    rows = [
        GOOD_ROWS[0],                            # line 2
        "2026-13-45,10.2,10.9,10.1,10.8,1100",   # line 3: bad date
        "2026-01-07,10.8,11.0,10.4,-10.5,900",   # line 4: negative price
        "2026-01-08,10.5,10.6,10.0,,",           # line 5: missing close
        "2026-01-09,10.1,9.0,9.9,10.3,1200",     # line 6: high < low
        "2026-01-12,10.1,10.2,9.9,10.3,1200",    # line 7: high < close
        "2026-01-13,10.1,10.5,10.2,10.3,1200",   # line 8: low > open
        "2026-01-14,10.1,10.5,9.9,10.3,1200",    # line 9: ok
        "2026-01-14,10.2,10.6,9.9,10.4,1300",    # line 10: duplicate date, this later row wins
        "2026-01-17,10.2,10.6,9.9,10.4,1300",    # line 11: a Saturday: kept, flagged
    ]
    raw = pd.read_csv(pd.io.common.StringIO(HEADER + "\n".join(rows)), dtype=str, keep_default_na=False)
    result = clean_bars(raw, "X.csv", first_line=2)
    assert result.dropped == 7
    assert [str(d.date()) for d in result.frame.index] == ["2026-01-05", "2026-01-14", "2026-01-17"]
    assert result.frame.loc["2026-01-14", "close"] == 10.4
    dropped_note, flag_note = result.notes
    assert dropped_note.startswith("X.csv: dropped 7 of 10 rows")
    assert "1 bad date (line 3)" in dropped_note
    assert "1 price <= 0 (line 4)" in dropped_note
    assert "1 missing price (line 5)" in dropped_note
    assert "3 high/low inconsistent with open/close (lines 6, 7, 8)" in dropped_note
    assert "1 duplicate date(s)" in dropped_note
    assert "non-XNYS-session" in flag_note and "2026-01-17" in flag_note


def test_unsorted_rows_are_sorted_and_reported(tmp_path):
    raw = pd.read_csv(pd.io.common.StringIO(HEADER + "\n".join(reversed(GOOD_ROWS))), dtype=str,
                      keep_default_na=False)
    result = clean_bars(raw, "R.csv", first_line=2)
    assert result.dropped == 0 and result.frame.index.is_monotonic_increasing
    assert any("not in date order" in n for n in result.notes)


def test_malformed_files_give_one_line_errors_and_others_still_load(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _write(mirror, "GOOD.csv", GOOD_ROWS)
    _write(mirror, "NOCLOSE.csv", [r.rsplit(",", 2)[0] + ",1" for r in GOOD_ROWS], header="date,open,high,low,volume\n")
    _write(mirror, "BADDATE.csv", GOOD_ROWS[:2] + ["05/01/2026,10.0,10.5,9.8,10.2,1000"])
    _write(mirror, "NEG.csv", GOOD_ROWS[:3] + ["2026-01-08,-1,10.6,10.0,10.1,5"])
    _write(mirror, "ALLBAD.csv", ["not-a-date,1,1,1,1,1"])
    (mirror / "BINARY.csv").write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    config = _config(tmp_path, mirror)

    bars = load_barset(["GOOD", "NOCLOSE", "BADDATE", "NEG", "ALLBAD", "BINARY"], config)
    assert set(bars) == {"GOOD", "BADDATE", "NEG"}
    assert set(bars.missing) == {"NOCLOSE", "ALLBAD", "BINARY"}
    for symbol, reason in bars.missing.items():
        assert "\n" not in reason
        assert f"{symbol}.csv" in reason
    assert "missing column(s) close" in bars.missing["NOCLOSE"]
    assert "no valid bars" in bars.missing["ALLBAD"]
    assert bars["BADDATE"].dropped_rows == 1 and "BADDATE.csv" in bars["BADDATE"].notes[0]
    assert "bad date (line 4)" in bars["BADDATE"].notes[0]
    assert bars["NEG"].dropped_rows == 1 and "price <= 0 (line 5)" in bars["NEG"].notes[0]

    rows = {r["symbol"]: r for r in import_directory(mirror, config)}
    assert rows["GOOD"]["rows"] == 5 and not rows["GOOD"]["error"]
    assert rows["NEG"]["dropped"] == 1
    assert "NOCLOSE.csv" in rows["NOCLOSE"]["error"] and "missing column" in rows["NOCLOSE"]["error"]
    assert (tmp_path / "cache" / "GOOD_1d.parquet").is_file()
    assert not (tmp_path / "cache" / "NOCLOSE_1d.parquet").exists()


def test_import_cli_reports_bad_file_in_one_line_and_exits_1(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _write(mirror, "GOOD.csv", GOOD_ROWS)
    _write(mirror, "NOCLOSE.csv", GOOD_ROWS, header="date,open,high,low,vol,volume\n")
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(mirror)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    line = next(l for l in result.output.splitlines() if l.startswith("NOCLOSE"))
    assert "NOCLOSE.csv" in line and "missing column(s) close" in line
    assert any(l.startswith("GOOD ") for l in result.output.splitlines())


def test_import_of_a_missing_directory_is_a_one_line_error(tmp_path):
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "not a directory" in result.output


def test_bad_splits_lines_are_skipped_and_reported(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _write(mirror, "GOOD.csv", GOOD_ROWS)
    (mirror / "SPLITS.csv").write_text("symbol,date,ratio\nGOOD,2026-01-07,2\nGOOD,someday,2\nGOOD,2026-01-08,0\n")
    bars = load_barset(["GOOD"], _config(tmp_path, mirror))["GOOD"]
    assert [(s.date, s.ratio) for s in bars.splits] == [(dt.date(2026, 1, 7), 2.0)]
    assert any("SPLITS.csv" in n and "3, 4" in n for n in bars.notes)


def test_index_symbols_use_the_index_suffix(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    _write(mirror, "ABC_INDEX.csv", GOOD_ROWS)
    bars = load_barset(["^ABC", "ABC"], _config(tmp_path, mirror))
    assert "^ABC" in bars and "ABC" in bars.missing


def test_snap_float32_restores_decimals_only_for_float32_values():
    values = np.array([265.0199890136719, 255.0500030517578, 138.5301, 2012.75, 42.215000152587890])
    assert snap_float32(values).tolist() == [265.02, 255.05, 138.5301, 2012.75, 42.215]


def test_missing_column_error_is_a_data_error_naming_the_input():
    raw = pd.DataFrame({"date": ["2026-01-05"], "open": ["1"], "high": ["1"], "low": ["1"]})
    with pytest.raises(DataError) as info:
        clean_bars(raw, "some/file.csv")
    assert info.value.one_line().startswith("some/file.csv: missing column(s) close")


def test_parquet_mirror_file_and_csv_precedence(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    raw = pd.read_csv(pd.io.common.StringIO(HEADER + "\n".join(GOOD_ROWS)))
    raw["date"] = pd.to_datetime(raw["date"])
    raw.to_parquet(mirror / "PQ.parquet", index=False)
    (raw.assign(close=raw["close"] + 100, high=raw["high"] + 100)).to_parquet(mirror / "BOTH.parquet", index=False)
    _write(mirror, "BOTH.csv", GOOD_ROWS)
    bars = load_barset(["PQ", "BOTH"], _config(tmp_path, mirror))
    assert bars["PQ"].frame["close"].tolist() == [10.2, 10.8, 10.5, 10.1, 10.3]
    assert str(bars["PQ"].frame.index.dtype) == "datetime64[ns]"
    assert bars["BOTH"].frame["close"].iloc[0] == 10.2  # the CSV wins over the parquet


def test_notes_name_the_real_file_line_when_the_csv_has_blank_lines(tmp_path):
    """Blank lines are skipped when reading, but a note must still point at the line to fix."""
    mirror = tmp_path / "m"
    mirror.mkdir()
    text = ("\n"                                        # line 1: blank before the header
            + HEADER                                    # line 2
            + GOOD_ROWS[0] + "\n"                       # line 3
            + "\n   \n"                                 # lines 4-5: blank, whitespace only
            + "2026-01-06,10.2,10.9,10.1,-10.8,1100\n"  # line 6: negative close
            + GOOD_ROWS[2] + "\r\n\r\n"                 # line 7, line 8 blank (CRLF)
            + "2026-13-45,10.5,10.6,10.0,10.1,5\n")     # line 9: bad date
    (mirror / "GAPS.csv").write_text(text, encoding="utf-8", newline="")
    bars = load_barset(["GAPS"], _config(tmp_path, mirror))["GAPS"]
    assert len(bars) == 2 and bars.dropped_rows == 2
    [note] = bars.notes
    assert "1 bad date (line 9)" in note and "1 price <= 0 (line 6)" in note
