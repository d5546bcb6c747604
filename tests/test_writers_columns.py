"""The column formatters of reports/writers.py against the one-cell rules they replace on the hot path.

``_cell`` / ``csv_cell`` / ``_float_cell`` format one value at a time (and still do for mixed object
columns); ``column_cells`` and ``frame_to_csv`` format whole columns with numpy. Every test here builds
tricky columns (NaN, inf, -0.0, ties, tiny and huge values, large integers, missing values, time zones,
text with commas, quotes and line breaks) and checks the fast path writes exactly what the per-cell rule
writes, and that ``frame_to_csv`` is what the csv module writes from the per-cell texts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.reports.writers import (_cell, _float_cell, column_cells, csv_cell, decimal_text, float_cells,
                                      frame_to_csv, frame_to_parquet, int_cells)

TRICKY_FLOATS = [
    0.0, -0.0, float("nan"), float("inf"), float("-inf"), 2.5e-07, -2.5e-07, 1e-05, 0.0001, 0.00012345678,
    0.09999999999999999, 0.1, -0.1, 0.1000005, 0.30000000000000004, 0.5, 1.0, -1.0, 2.675, 1.0000005, -1.0000005,
    0.0000005, 123.456789, 123.4567895, 999999.9999995, 999999999.9999996, 999999999.99, 1e9, -1e9, 1e9 + 0.5,
    123456789012.345678, 1e15, 1e15 - 1, 1e16, -1e16, 2.0 ** 53, 2.0 ** 53 + 2, 1.7976931348623157e308, 5e-324,
    1 / 3, -2 / 3, 100.0, 255.12, 0.125, 0.0625, 12345.6789012, 3.14159265358979,
]


def test_tricky_floats_are_written_as_the_one_cell_rule_writes_them():
    values = TRICKY_FLOATS * 3  # long enough for the distinct-value path (each value formatted once)
    assert len(values) > 64
    assert float_cells(np.array(values)) == [_float_cell(v) for v in values] == [_cell(v) for v in values]
    assert float_cells(np.array(TRICKY_FLOATS)) == [_float_cell(v) for v in TRICKY_FLOATS]  # short: no unique
    assert float_cells(np.array([-0.0, 2.5e-07, 1e16, 1e15, 0.1000005])) == ["0", "2.5e-07", "1e+16",
                                                                            "1000000000000000.0", "0.100001"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.floats(width=64), st.floats(-2e9, 2e9), st.floats(-1.0, 1.0),
                          st.integers(-10**15, 10**15).map(lambda i: i / 1e6),
                          st.integers(-10**12, 10**12).map(lambda i: i / 2e6 + 0.0000005),
                          st.integers(-2**60, 2**60).map(float)), min_size=0, max_size=150))
def test_float_columns_of_any_magnitude_match_the_one_cell_rule(values):
    assert float_cells(np.array(values, dtype=np.float64)) == [_float_cell(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(10**18) + 1, 10**18 - 1), max_size=120), st.integers(0, 9))
def test_decimal_text_is_the_shortest_repr_of_the_decimal(ks, places):
    texts = decimal_text(np.array(ks, dtype=np.int64), places).tolist()
    if places == 0:
        assert texts == [str(k) for k in ks]
    for k, text in zip(ks, texts):
        if abs(k) < 10**15:  # at most 15 significant digits: repr is these digits (positional below 1e16)
            value = k / 10**places
            expected = repr(value) if value.is_integer() is False else str(int(value))
            if 1e-4 <= abs(value) < 1e16 or value == 0:
                assert text == (expected[:-2] if expected.endswith(".0") else expected), (k, places)
        q, r = divmod(abs(k), 10**places)
        assert text == ("-" if k < 0 else "") + str(q) + (f".{r:0{places}d}".rstrip("0") if r else "")


def test_integer_columns_numpy_and_nullable():
    big = [0, -1, 7, 2**63 - 1, -(2**63), 10**18, -(10**18), 123456789] * 12
    assert int_cells(np.array(big, dtype=np.int64)) == [str(v) for v in big]
    for series in (pd.Series(big, dtype=np.int64), pd.Series(np.array([0, -1, 7, 127, -128] * 20, dtype=np.int8)),
                   pd.Series([2**64 - 1, 0, 5] * 30, dtype=np.uint64),
                   pd.Series([1, None, -3, 2**62] * 30, dtype="Int64"), pd.Series([None] * 70, dtype="Int64"),
                   pd.Series([True, None, False] * 30, dtype="boolean"), pd.Series([True, False] * 40)):
        for flag in (True, False):
            assert column_cells(series, csv=flag) == [(csv_cell if flag else _cell)(v) for v in series], series.dtype


def test_time_columns_naive_missing_fractional_and_time_zones():
    days = pd.to_datetime(["2024-03-01", None, "2024-03-04 15:30:00", "1999-12-31 23:59:59"] * 25, format="ISO8601")
    fractional = pd.Series(pd.to_datetime(["2024-03-01 09:30:00.25", None, "2024-03-01"] * 30, format="ISO8601"))
    zoned = pd.Series(pd.to_datetime(["2024-03-01 09:30", None, "2024-11-03 01:30"] * 30, format="ISO8601")
                      ).dt.tz_localize("America/New_York", ambiguous=np.array([True, True, True] * 30))
    instants = pd.Series(pd.to_datetime(["2024-03-01T14:30:00Z", None] * 40, utc=True, format="ISO8601"))
    objects = pd.Series([pd.Timestamp("2024-03-01 09:30", tz="UTC"), dt.date(2024, 3, 1), None,
                         dt.datetime(2024, 3, 1, 9, 30)] * 20, dtype=object)
    for series in (pd.Series(days), fractional, zoned, instants, objects):
        assert column_cells(series, csv=True) == [csv_cell(v) for v in series], series.dtype
        assert column_cells(series, csv=False) == [_cell(v) for v in series]
    assert column_cells(pd.Series(days), csv=True)[:3] == ["2024-03-01T00:00:00", "", "2024-03-04T15:30:00"]


def test_level_tuples_empty_missing_and_mixed():
    targets = pd.Series([(137.25, 135.69), (), (float("nan"), 2.5e-07), (1e16,), (1.0, 2.0, 3.5, -0.0)] * 20,
                        dtype=object)
    mixed = pd.Series([(1, 2.5), (3.0,)] * 40, dtype=object)  # an int inside: the per-cell rule
    for series in (targets, mixed):
        assert column_cells(series, csv=True) == [csv_cell(v) for v in series]
        assert column_cells(series, csv=False) == [_cell(v) for v in series]
    assert column_cells(targets, csv=True)[:5] == ["137.25;135.69", "", ";2.5e-07", "1e+16", "1;2;3.5;0"]


def _per_cell_csv(frame: pd.DataFrame) -> str:
    """The oracle: every cell through csv_cell, rows through the csv module (pandas' to_csv dialect)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([str(c) for c in frame.columns])
    writer.writerows(zip(*([csv_cell(v) for v in frame[c].astype(object)] for c in frame.columns)))
    return out.getvalue()


def _tricky_frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    pieces = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "=1+1", "-x", "@me", "\ttab", "", None, "é, ü"]
    with np.errstate(over="ignore"):  # 3 x the largest double is inf: one more tricky value
        floats = np.array(TRICKY_FLOATS)[rng.integers(0, len(TRICKY_FLOATS), n)] * rng.choice([1.0, -1.0, 3.0], n)
    return pd.DataFrame({
        "text": pd.Series(np.array([pieces[i] for i in rng.integers(0, len(pieces), n)], dtype=object)),
        "clean": pd.Series(np.array(["ok", None, "fine"] * (n // 3) + ["ok"] * (n % 3), dtype=object)),
        "none": pd.Series([None] * n, dtype=object),
        "price": floats, "ret": rng.standard_normal(n) * 10.0, "tiny": rng.standard_normal(n) * 1e-6,
        "count": rng.integers(-10**12, 10**12, n), "maybe": pd.array(rng.integers(0, 100, n), dtype="Int64"),
        "flag": rng.random(n) > 0.5, "hit": pd.array([True, None, False] * (n // 3) + [True] * (n % 3), dtype="boolean"),
        "day": pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")),
        "at": pd.Series(pd.to_datetime("2024-01-01", utc=True) + pd.to_timedelta(rng.integers(0, 10**6, n), unit="s")),
        "levels": pd.Series([tuple(float(v) for v in rng.standard_normal(k) * 100) for k in rng.integers(0, 4, n)],
                            dtype=object),
    })


@pytest.mark.parametrize("n", [7, 400])
def test_frame_to_csv_is_the_per_cell_rule_written_by_the_csv_module(n):
    frame = _tricky_frame(n)
    frame.loc[frame.index[::5], "day"] = pd.NaT
    assert frame_to_csv(frame) == _per_cell_csv(frame)


def test_parquet_text_columns_are_what_pandas_makes_of_the_per_cell_texts(tmp_path):
    """The text columns are built by pyarrow at once: the file is byte for byte the one written from the
    per-cell texts as Python objects (empty cells missing) through pandas, as before."""
    frame = _tricky_frame(300).drop(columns=["maybe", "hit"])
    frame_to_parquet(frame, tmp_path / "fast.parquet")
    columns = {}
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            columns[name] = series.to_numpy()
        else:
            columns[name] = np.array([_cell(v) or None for v in series.astype(object)], dtype=object)
    pd.DataFrame(columns, index=range(len(frame))).to_parquet(tmp_path / "cells.parquet", index=False)
    assert (tmp_path / "fast.parquet").read_bytes() == (tmp_path / "cells.parquet").read_bytes()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_infinity=False), st.floats(-1e6, 1e6),
                          st.integers(-10**12, 10**12).map(lambda i: i / 1e4), st.integers(-10**9, 10**9).map(lambda i: i / 2e4),
                          st.just(float("nan")), st.just(-0.0)), max_size=120))
def test_article_numbers_json_is_json_dumps_of_their_values(values):
    """report.html's article data: a numeric column written whole is json.dumps of its value-by-value rule."""
    import json

    from backtest.reports.article_data import Ints, Numbers

    numbers = Numbers(values)
    try:
        expected = json.dumps(numbers.python(), separators=(",", ":"), allow_nan=False)
    except ValueError:  # a value so large that rounding it overflows to inf: refused, as json.dumps refuses it
        with pytest.raises(ValueError):
            numbers.json()
    else:
        assert numbers.json() == expected
    ints = Ints([int(v) if v == v and abs(v) < 2**62 else 0 for v in values], [v != v for v in values])
    assert ints.json() == json.dumps(ints.python(), separators=(",", ":"))


def test_article_json_is_json_dumps_of_the_payload():
    import json

    import reports_fixtures as rf
    from backtest.reports.article_data import article_json, article_payload
    from backtest.reports.build import build_report

    report = build_report(rf.ledger(), rf.table())
    expected = json.dumps(article_payload(report), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    assert article_json(report) == expected
    assert json.loads(expected)["setups"]["ep"]  # the fixture has entered setups: the numeric path ran


@pytest.mark.parametrize("places", [0, 2, 4, 6])
def test_digit_loops_interpreted_equal_compiled(places):
    """Short columns run the digit loops interpreted (no numba import in a small run), long ones compiled:
    the same characters either way, on edge values (0, +-1, powers of ten, 10**17, negatives, missing)."""
    from backtest.reports import digits

    rng = np.random.default_rng(places)
    k = rng.integers(-10**15, 10**15, 3000)
    k[:12] = [0, 1, -1, 10, -10, 999_999, 1_000_000, -1_000_001, 5, 10**17, -(10**17), 10**places]
    missing = rng.random(len(k)) < 0.1
    null = np.frombuffer(b"null", dtype=np.uint8)
    fast, slow = digits.decimal_chars(k, places, compiled=True), digits.decimal_chars(k, places, compiled=False)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert np.array_equal(digits.decimal_join(k, places, missing, null, ord(","), compiled=True),
                          digits.decimal_join(k, places, missing, null, ord(","), compiled=False))
    text = digits.decimal_join(k[:12], places, np.zeros(12, bool), null, ord(","), compiled=False).tobytes().decode()
    assert text.split(",")[:3] == ([str(v) for v in (0, 1, -1)] if places == 0 else ["0", f"{1 / 10**places:f}".rstrip("0"),
                                                                                   f"{-1 / 10**places:f}".rstrip("0")])
