"""Shared fixtures. Third-party material (articles, market data) is read from ../shared, never copied here."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
ARTICLES_DIR = SHARED / "articles"
MARKET_DATA_DIR = SHARED / "market-data"


@pytest.fixture(scope="session")
def articles_dir() -> Path:
    if not ARTICLES_DIR.is_dir():
        pytest.fail(f"{ARTICLES_DIR} is missing: tests need ../shared beside the repository")
    return ARTICLES_DIR


@pytest.fixture(scope="session")
def market_data_dir() -> Path:
    if not MARKET_DATA_DIR.is_dir():
        pytest.fail(f"{MARKET_DATA_DIR} is missing: tests need ../shared beside the repository")
    return MARKET_DATA_DIR


@pytest.fixture(autouse=True, scope="session")
def _no_personal_config(tmp_path_factory):
    """Tests never read the developer's ``~/.config/backtest/backtest.toml`` or ``$BACKTEST_CONFIG``
    (both are in the config lookup order); subprocesses inherit the same environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config-home")))
        patch.delenv("BACKTEST_CONFIG", raising=False)
        yield


@pytest.fixture(autouse=True)
def backoff_waits(monkeypatch) -> list:
    """No test waits for Yahoo's retry backoff: the waits are recorded here instead (see test_data_yahoo_cron)."""
    from backtest.data import yahoo

    waits: list[float] = []
    monkeypatch.setattr(yahoo, "_sleep", waits.append)
    return waits
