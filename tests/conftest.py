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
