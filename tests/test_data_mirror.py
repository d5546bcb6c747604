"""Real bars from ../shared/market-data: import into a temporary cache, load, list, split basis, sessions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from click.testing import CliRunner

from backtest.cli import cli
from backtest.config import Config, DataConfig
from backtest.data.load import last_close_before, load_barset
from backtest.data.manage import import_directory, list_cache
from backtest.data.splits import to_bar_basis

NY = ZoneInfo("America/New_York")
MIRROR_SYMBOLS = {"DIA", "^DJI", "^GSPC", "IWM", "^NDX", "QQQ", "^RUT", "SPY", "^VIX", "XLE", "XLK", "XLU", "XLV"}


def _config(cache_dir, mirrors=(), sources=("cache", "mirror")) -> Config:
    return Config(data=DataConfig(sources=tuple(sources), cache_dir=cache_dir, mirrors=tuple(mirrors)))


@pytest.fixture(scope="module")
def imported(market_data_dir, tmp_path_factory):
    """The mirror imported into a fresh cache; the config reads only that cache."""
    cache = tmp_path_factory.mktemp("cache")
    rows = import_directory(market_data_dir, _config(cache))
    return cache, rows


def test_import_writes_every_symbol_with_real_values(imported):
    cache, rows = imported
    by_symbol = {r["symbol"]: r for r in rows}
    assert set(by_symbol) == MIRROR_SYMBOLS
    assert not any(r["error"] for r in rows)
    assert by_symbol["IWM"]["rows"] == 662 and by_symbol["IWM"]["first"] == "2024-01-02"
    assert (cache / "RUT_INDEX_1d.parquet").is_file()

    bars = load_barset(["IWM", "^RUT"], _config(cache, sources=("cache",)))
    assert not bars.missing
    iwm, rut = bars["IWM"].frame, bars["^RUT"].frame
    assert iwm.loc["2026-02-06", "close"] == 265.02  # exact: float32 artefacts are snapped to the decimal
    assert iwm.loc["2026-02-05", "low"] == 255.05
    assert rut.loc["2026-02-06", "close"] == 2670.34
    assert rut["volume"].isna().all()  # index files carry no volume
    assert bars["IWM"].source.startswith("cache:import:")


def test_cached_frame_has_the_contract_dtypes(imported):
    cache, _ = imported
    frame = load_barset(["SPY"], _config(cache, sources=("cache",)))["SPY"].frame
    assert isinstance(frame.index, pd.DatetimeIndex) and frame.index.tz is None
    assert frame.index.name == "date" and str(frame.index.dtype) == "datetime64[ns]"
    assert frame.index.is_monotonic_increasing and frame.index.is_unique
    for col in ("open", "high", "low", "close", "volume"):
        assert frame[col].dtype == "float64"
    assert frame["session_open_ns"].dtype == "int64" and frame["session_close_ns"].dtype == "int64"


def test_data_list_cli_shows_all_symbols(imported):
    cache, _ = imported
    result = CliRunner().invoke(cli, ["--cache-dir", str(cache), "data", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:5] == ["symbol", "first", "last", "rows", "source"]
    listed = {line.split()[0] for line in lines[1:]}
    assert listed == MIRROR_SYMBOLS
    rut = next(line for line in lines if line.startswith("^RUT "))
    assert "2024-01-02" in rut and "2026-08-21" in rut and " 662 " in rut


def test_data_import_cli_exit_code_and_table(market_data_dir, tmp_path):
    result = CliRunner().invoke(cli, ["--cache-dir", str(tmp_path), "data", "import", str(market_data_dir)])
    assert result.exit_code == 0, result.output
    assert "XLK" in result.output and "2025-12-05 2:1" in result.output
    assert len(list_cache(_config(tmp_path))) == 13


def test_mirror_is_usable_directly_offline(market_data_dir, tmp_path):
    """No import needed: cache miss -> mirror hit; nothing is written to the cache."""
    bars = load_barset(["iwm", "^VIX", "XLK"], _config(tmp_path / "empty", [market_data_dir]))
    assert set(bars) == {"IWM", "^VIX", "XLK"}
    assert bars["IWM"].source.startswith("mirror:")
    assert bars["IWM"].notes == ()  # a plain cache miss is not worth a note
    assert bars["XLK"].basis == "split-adjusted"
    assert not (tmp_path / "empty").exists()


def test_missing_symbol_reason_names_sources_and_remedy(market_data_dir, tmp_path):
    bars = load_barset(["IWM", "IEUS"], _config(tmp_path, [market_data_dir]))
    assert "IWM" in bars
    reason = bars.missing["IEUS"]
    assert "\n" not in reason
    assert "IEUS" in reason and "cache" in reason and "mirror" in reason
    assert "backtest data fetch IEUS" in reason


def test_as_of_and_range_never_return_later_bars(market_data_dir, tmp_path):
    config = _config(tmp_path, [market_data_dir])
    bars = load_barset(["SPY"], config, as_of=dt.date(2026, 2, 7))["SPY"]  # a Saturday
    assert bars.last == dt.date(2026, 2, 6)
    ranged = load_barset(["SPY"], config, start=dt.date(2025, 3, 1), end=dt.date(2025, 3, 31))["SPY"]
    assert ranged.first == dt.date(2025, 3, 3) and ranged.last == dt.date(2025, 3, 31)
    assert len(ranged) == 21


def test_split_basis_from_mirror_splits_csv(market_data_dir, tmp_path):
    xlk = load_barset(["XLK"], _config(tmp_path, [market_data_dir]))["XLK"]
    assert [(s.date, s.ratio) for s in xlk.splits] == [(dt.date(2025, 12, 5), 2.0)]
    assert to_bar_basis(290.0, dt.date(2025, 11, 20), xlk) == 145.0
    assert to_bar_basis(290.0, dt.date(2026, 2, 1), xlk) == 290.0
    # XLU split too, but SPLITS.csv does not list it (date unconfirmed): no event invented.
    assert load_barset(["XLU"], _config(tmp_path, [market_data_dir]))["XLU"].splits == ()


def test_split_basis_holds_when_the_bars_are_cut_before_the_split(market_data_dir, tmp_path):
    """An --as-of cut does not un-adjust the prices: a split after the cut still converts old levels."""
    config = _config(tmp_path, [market_data_dir])
    for cut in (load_barset(["XLK"], config, as_of=dt.date(2025, 11, 30))["XLK"],
                load_barset(["XLK"], config)["XLK"].until(dt.date(2025, 11, 30))):
        assert cut.last == dt.date(2025, 11, 28)
        assert cut.frame["close"].iloc[-1] < 150  # adjusted prices, although the split is after the cut
        assert to_bar_basis(290.0, dt.date(2025, 11, 20), cut) == 145.0
        # An instant on the split day before the open still saw pre-split prices; one after the open did not.
        assert to_bar_basis(290.0, dt.datetime(2025, 12, 5, 14, 0, tzinfo=dt.timezone.utc), cut) == 145.0
        assert to_bar_basis(145.0, dt.datetime(2025, 12, 5, 15, 0, tzinfo=dt.timezone.utc), cut) == 145.0


def test_a_split_listed_after_the_last_bar_is_not_applied(tmp_path):
    """A source whose prices end before a listed split cannot reflect it: not applied, and said so."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rows = ["date,open,high,low,close,volume"] + [
        f"2026-03-{d:02d},100,101,99,100.5,1000" for d in (2, 3, 4, 5, 6)]
    (mirror / "ABC.csv").write_text("\n".join(rows) + "\n")
    (mirror / "SPLITS.csv").write_text("symbol,date,ratio\nABC,2026-03-20,2\n")
    abc = load_barset(["ABC"], _config(tmp_path, [mirror]))["ABC"]
    assert abc.splits == ()
    assert any("after the last bar" in note for note in abc.notes)
    assert to_bar_basis(100.0, dt.date(2026, 3, 2), abc) == 100.0


def test_split_events_survive_the_cache(imported):
    cache, _ = imported
    xle = load_barset(["XLE"], _config(cache, sources=("cache",)))["XLE"]
    assert [(s.date, s.ratio) for s in xle.splits] == [(dt.date(2025, 12, 5), 2.0)]
    assert to_bar_basis(100.0, dt.date(2025, 11, 20), xle) == 50.0


def test_session_instants_normal_half_day_and_dst(market_data_dir, tmp_path):
    frame = load_barset(["IWM"], _config(tmp_path, [market_data_dir]))["IWM"].frame

    def local(day: str, column: str) -> dt.datetime:
        return pd.Timestamp(int(frame.loc[day, column]), tz="UTC").tz_convert(NY).to_pydatetime()

    # A normal winter day: 09:30-16:00 New York = 14:30-21:00 UTC.
    assert local("2026-02-06", "session_open_ns") == dt.datetime(2026, 2, 6, 9, 30, tzinfo=NY)
    assert local("2026-02-06", "session_close_ns") == dt.datetime(2026, 2, 6, 16, 0, tzinfo=NY)
    assert frame.loc["2026-02-06", "session_open_ns"] == pd.Timestamp("2026-02-06 14:30", tz="UTC").value
    # Day after Thanksgiving: early close at 13:00 New York.
    assert local("2025-11-28", "session_close_ns") == dt.datetime(2025, 11, 28, 13, 0, tzinfo=NY)
    # DST began 2026-03-08: the open moves from 14:30 UTC to 13:30 UTC, still 09:30 in New York.
    assert frame.loc["2026-03-06", "session_open_ns"] == pd.Timestamp("2026-03-06 14:30", tz="UTC").value
    assert frame.loc["2026-03-09", "session_open_ns"] == pd.Timestamp("2026-03-09 13:30", tz="UTC").value


def test_last_close_before_picks_the_last_closed_session(market_data_dir, tmp_path):
    config = _config(tmp_path, [market_data_dir])
    # Saturday: Friday's close.
    assert last_close_before("IWM", dt.date(2026, 2, 7), config) == (dt.date(2026, 2, 6), 265.02)
    # Friday 15:00 New York: Friday has not closed yet -> Thursday.
    assert last_close_before("IWM", dt.datetime(2026, 2, 6, 15, 0, tzinfo=NY), config) == (dt.date(2026, 2, 5), 255.83)
    # Exactly at the close counts as closed.
    assert last_close_before("IWM", dt.datetime(2026, 2, 6, 16, 0, tzinfo=NY), config)[0] == dt.date(2026, 2, 6)
    assert last_close_before("^RUT", dt.date(2026, 2, 6), config) == (dt.date(2026, 2, 6), 2670.34)
    assert last_close_before("IWM", dt.date(2023, 1, 1), config) is None
    assert last_close_before("IEUS", dt.date(2026, 2, 6), config) is None
    with pytest.raises(ValueError):
        last_close_before("IWM", dt.datetime(2026, 2, 6, 15, 0), config)


def test_last_close_before_is_as_traded_across_a_split(market_data_dir, tmp_path):
    config = _config(tmp_path, [market_data_dir])
    xlk = load_barset(["XLK"], config)["XLK"].frame
    day, close = last_close_before("XLK", dt.date(2025, 11, 20), config)
    assert day == dt.date(2025, 11, 20)
    assert close == pytest.approx(2 * xlk.loc["2025-11-20", "close"])  # what people saw before the 2:1 split
    assert last_close_before("XLK", dt.date(2026, 2, 2), config)[1] == xlk.loc["2026-02-02", "close"]


def test_changing_a_loaded_frame_does_not_change_the_next_load(market_data_dir, tmp_path):
    config = _config(tmp_path, [market_data_dir])
    frame = load_barset(["DIA"], config)["DIA"].frame
    original = frame["close"].iloc[0]
    frame["extra"] = 1.0
    frame.loc[frame.index[0], "close"] = -1.0
    again = load_barset(["DIA"], config)["DIA"].frame
    assert "extra" not in again.columns and again["close"].iloc[0] == original


def test_bars_last_close_and_first_session_share_one_publication_rule(market_data_dir, tmp_path):
    """Bars.last_close_index / first_session_after: a date-only publication is that day's 16:00 New York."""
    iwm = load_barset(["IWM"], _config(tmp_path, [market_data_dir]))["IWM"]
    day = lambda i: iwm.frame.index[i].date()  # noqa: E731
    for published in (dt.date(2026, 2, 6), dt.datetime(2026, 2, 6, 16, 0, tzinfo=NY)):
        assert day(iwm.last_close_index(published)) == dt.date(2026, 2, 6)
        assert day(iwm.first_session_after(published)) == dt.date(2026, 2, 9)
    # Friday 15:00: Thursday is the last close, Friday had already opened -> Monday.
    friday_3pm = dt.datetime(2026, 2, 6, 15, 0, tzinfo=NY)
    assert day(iwm.last_close_index(friday_3pm)) == dt.date(2026, 2, 5)
    assert day(iwm.first_session_after(friday_3pm)) == dt.date(2026, 2, 9)
    # Half day after Thanksgiving closed at 13:00: by 14:00 it is the last close.
    assert day(iwm.last_close_index(dt.datetime(2025, 11, 28, 14, 0, tzinfo=NY))) == dt.date(2025, 11, 28)
    assert iwm.last_close_index(dt.date(2000, 1, 3)) == -1
    assert iwm.first_session_after(dt.date(2100, 1, 4)) == len(iwm)
    with pytest.raises(ValueError):
        iwm.last_close_index(dt.datetime(2026, 2, 6, 15, 0))


def test_last_close_before_on_the_split_day_is_already_post_split(market_data_dir, tmp_path):
    """XLK split 2:1 at the open of 2025-12-05: that day's close needs no factor, the day before's does."""
    config = _config(tmp_path, [market_data_dir])
    xlk = load_barset(["XLK"], config)["XLK"].frame
    assert last_close_before("XLK", dt.date(2025, 12, 5), config) == (dt.date(2025, 12, 5), xlk.loc["2025-12-05", "close"])
    assert last_close_before("XLK", dt.date(2025, 12, 4), config)[1] == pytest.approx(2 * xlk.loc["2025-12-04", "close"])
