"""Prices that are silently wrong: absurd values are dropped with a note, tiny real prices keep their precision.

The rule (``backtest/data/validate.py``, ``docs/data.md``): prices must be finite, > 0 and below 1e9; a
bar's high may not exceed 10x its low; a close more than 10x away from both neighbours, which agree with
each other, is an isolated spike. Crashes and splits move the level for good and are kept.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.data.calendar import session_dates
from backtest.data.validate import PRICE_MAX, clean_bars, isolated_spikes
from backtest.reports.writers import csv_cell, fmt_value


def series(base: float, n: int = 60, *, jumps: dict[int, float] | None = None) -> pd.DataFrame:
    """An invented daily series around ``base`` on the XNYS sessions from 2026-01-02; ``jumps`` rescales a row."""
    days = session_dates(dt.date(2026, 1, 2), dt.date(2026, 6, 30))[:n]
    close = np.array([base * (1 + 0.01 * math.sin(i / 3)) for i in range(n)])
    for i, factor in (jumps or {}).items():
        close[i] *= factor
    frame = pd.DataFrame({"date": [d.date().isoformat() for d in days], "open": close * 0.999,
                          "high": close * 1.004, "low": close * 0.995, "close": close, "volume": 1000.0})
    return frame


def _clean(frame: pd.DataFrame):
    return clean_bars(frame.astype({"open": object}), "m/X.csv", first_line=2)


def test_a_huge_bar_is_dropped_and_named():
    frame = series(250.0)
    frame.loc[10, ["open", "high", "close"]] = 1.7e308
    result = _clean(frame)
    assert len(result.frame) == 59 and result.dropped == 1
    assert pd.Timestamp(frame.loc[10, "date"]) not in result.frame.index
    (note,) = result.notes
    assert note == "m/X.csv: dropped 1 of 60 rows: 1 implausible price (>= 1e+09) (line 12)"
    assert result.frame["high"].max() < PRICE_MAX


def test_an_isolated_spike_is_dropped_but_a_crash_and_a_split_are_kept():
    spike = _clean(series(250.0, jumps={20: 20.0}))
    assert spike.dropped == 1 and "1 isolated price spike(s)" in spike.notes[0] and "(line 22)" in spike.notes[0]
    dip = _clean(series(250.0, jumps={30: 1 / 15}))
    assert dip.dropped == 1 and "(line 32)" in dip.notes[0]

    crash = series(250.0)
    crash.loc[25:, ["open", "high", "low", "close"]] *= 0.08  # -92 % in one session, and it stays there
    assert _clean(crash).dropped == 0
    reverse_split = series(2.0)
    reverse_split.loc[40:, ["open", "high", "low", "close"]] *= 20  # an unadjusted 1:20 reverse split
    assert _clean(reverse_split).dropped == 0
    # The first and last bars have one neighbour: a jump there cannot be told from a crash.
    assert not isolated_spikes(np.array([2500.0, 250, 251, 252, 25.0])).any()


def test_a_bar_ranging_more_than_ten_fold_is_dropped():
    frame = series(250.0)
    frame.loc[5, "high"] = frame.loc[5, "low"] * 11  # a fat-finger high: would fill every long target
    result = _clean(frame)
    assert result.dropped == 1 and "1 implausible range (high more than 10x low) (line 7)" in result.notes[0]


def test_tiny_real_prices_keep_every_digit_through_validation():
    frame = series(2.5e-7)
    result = _clean(frame)
    assert result.dropped == 0
    np.testing.assert_array_equal(result.frame["close"].to_numpy(), frame["close"].to_numpy())


@pytest.mark.parametrize("value, written", [
    (2.5e-07, 2.5e-07), (1.23456789e-09, 1.23457e-09), (-3.3e-08, -3.3e-08),  # were all written as 0
    (261.4966014, 261.496601), (0.1234567, 0.123457), (7.0, 7.0), (0.0, 0.0),  # unchanged
])
def test_report_numbers_keep_six_significant_digits_below_one_millionth(value, written):
    assert fmt_value(value) == written
    assert csv_cell(value) == repr(written) if not float(written).is_integer() else str(int(written))


def test_a_tiny_price_symbol_is_simulated_and_reported_without_zeros(tmp_path):
    """End to end: levels, entry and exit of a sub-micro-dollar symbol are not written as 0 in trades.csv."""
    mirror = tmp_path / "m"
    mirror.mkdir()
    frame = series(2.5e-7, n=100)
    frame.to_csv(mirror / "TINY.csv", index=False, float_format="%.10g")
    setups = tmp_path / "s"
    setups.mkdir()
    (setups / "tiny.yaml").write_text("""\
article:
  id: tiny-note
  published: 2026-01-05T21:30:00Z
setups:
  - id: tiny-long
    symbol: TINY
    direction: long
    stop: 2.4e-7
    targets: [2.52e-7]
""")
    result = CliRunner().invoke(cli, ["--mirror", str(mirror), "--source", "mirror", "--cache-dir", str(tmp_path / "c"),
                                      "run", str(setups), "--out", str(tmp_path / "out"), "--format", "csv,json", "-q"])
    assert result.exit_code == 0, result.output
    with (tmp_path / "out" / "trades.csv").open() as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["setup_id"] == "tiny-long"]
    assert row["status"] in ("filled", "open"), row
    assert float(row["stop"]) == 2.4e-7 and float(row["targets"]) == 2.52e-7
    assert float(row["ref_close"]) == pytest.approx(frame.loc[1, "close"], rel=1e-5)  # 2026-01-05's close
    assert float(row["entry_price"]) == pytest.approx(frame.loc[2, "open"], rel=1e-5)  # next session's open
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary  # the JSON report was written with the same formatter


def test_data_import_cli_reports_the_dropped_bar(tmp_path):
    mirror = tmp_path / "m"
    mirror.mkdir()
    frame = series(250.0)
    frame.loc[10, ["open", "high", "close"]] = 1.7e308
    frame.to_csv(mirror / "HUGE.csv", index=False)
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path / "c"), "data", "import", str(mirror)])
    assert result.exit_code == 0, result.output
    assert "dropped 1 of 60 rows: 1 implausible price (>= 1e+09) (line 12)" in result.stdout
