"""The report's id lookups and groupings against the pandas calls they stand in for (reports/inputs.py,
portfolio.identical_calls): hand-built frames with missing values, -0.0, NaT, repeated and absent ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtest.reports.inputs import positions, text_isin, text_values
from backtest.reports.portfolio import IDENTICAL_CALL_KEY, identical_calls


def _identical_by_groupby(trades: pd.DataFrame, key) -> pd.Series:
    """The rule as pandas states it: the first row of each ``groupby(key, dropna=False)`` group."""
    group = trades.groupby(list(key), sort=False, dropna=False).ngroup().to_numpy()
    first_row = pd.Series(np.arange(len(trades))).groupby(group).transform("min").to_numpy()
    is_dup = (first_row != np.arange(len(trades))) & trades["first_session"].notna().to_numpy()
    ids = trades["setup_id"].astype(str).to_numpy()
    return pd.Series(np.where(is_dup, ids[first_row], None), index=trades.index, dtype=object, name="duplicate_of")


def _calls(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sessions = pd.to_datetime(["2024-03-01", "2024-03-04", None], format="ISO8601")
    return pd.DataFrame({
        "setup_id": [f"a-{i}" for i in range(n)],
        "kind": rng.choice(["single", "pair"], n).astype(object),
        "symbol": np.array(["SPY", "QQQ", None, "IWM"], dtype=object)[rng.integers(0, 4, n)],
        "direction": rng.choice(["long", "short"], n).astype(object),
        "entry_type": rng.choice(["market", "limit", "stop"], n).astype(object),
        "entry_level": np.array([np.nan, 0.0, -0.0, 101.5, 101.50000000000001])[rng.integers(0, 5, n)],
        "first_session": sessions[rng.integers(0, 3, n)],
        "stance": np.array(["bullish", "bearish", "unknown"], dtype=object)[rng.integers(0, 3, n)],
    }, index=pd.RangeIndex(5, 5 + n))


@pytest.mark.parametrize("seed", range(4))
def test_identical_calls_group_rows_as_pandas_groupby_does(seed):
    trades = _calls(300, seed)
    for key in (IDENTICAL_CALL_KEY, IDENTICAL_CALL_KEY + ("stance",)):
        got = identical_calls(trades, key)
        pd.testing.assert_series_equal(got, _identical_by_groupby(trades, key))
    assert identical_calls(trades).notna().sum() > 20  # the frame does repeat calls: the rule was exercised


def test_positions_is_get_indexer_on_distinct_ids():
    keys = np.array(["b", "a", "c-1", "é"], dtype=object)
    values = np.array(["a", "zz", "é", "b", "a", None], dtype=object)
    expected = pd.Index(keys, dtype=object).get_indexer(values)
    assert positions(keys, values).tolist() == expected.tolist() == [1, -1, 3, 0, 1, -1]
    assert positions(list(zip(["s", "s"], ["long", "short"])), [("s", "short"), ("t", "long")]).tolist() == [1, -1]
    with pytest.raises(pd.errors.InvalidIndexError):
        positions(np.array(["a", "a"], dtype=object), values)


def test_text_values_and_isin_are_astype_str_and_isin():
    words = pd.Series(np.array(["x", "y", "x,z", ""], dtype=object))
    mixed = pd.Series(np.array(["x", None, 3, 2.5], dtype=object))
    for series in (words, mixed, pd.Series(["p", "q"], dtype="str"), pd.Series([], dtype=object)):
        assert text_values(series).tolist() == series.astype(str).to_numpy().tolist()
        assert text_values(series).dtype == object
    allowed = {"x", "x,z", "nope"}
    for given in (allowed, list(allowed), pd.Series(sorted(allowed), dtype="str"), np.array(sorted(allowed), dtype=object)):
        assert text_isin(words, given).tolist() == words.isin(list(allowed)).tolist() == [True, False, True, False]
    assert text_isin(words.to_numpy(), []).tolist() == [False] * 4
