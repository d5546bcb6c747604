"""Shared fixtures. Third-party material (articles, market data) is read from ../shared, never copied here."""

from __future__ import annotations

import os
import shutil
import subprocess
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


# ------------------------------------------------------------------------------------- headless Chromium
CHROMIUM = Path("/usr/bin/chromium")
APT_INSTALL = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-qq", "--no-install-recommends", "chromium"]


def ensure_chromium(*, which=shutil.which, run=subprocess.run, euid=os.geteuid) -> Path:
    """Debian's ``chromium`` for the browser test, installed with apt-get when it is missing and we can.

    The README's ``pytest -q`` must pass on a fresh machine with nothing installed by hand, so the test
    command installs what it needs: as root with apt-get available, ``apt-get update`` then ``apt-get install
    chromium`` (a few minutes once; Debian's package registry is reachable in CI). Otherwise the test fails
    with the one command to run. playwright's own browser downloads are never used.
    """
    def found() -> Path | None:
        path = which("chromium")
        return Path(path) if path else (CHROMIUM if CHROMIUM.exists() else None)

    if (path := found()) is not None:
        return path
    command = "apt-get install -y chromium"
    if euid() != 0 or which("apt-get") is None:
        pytest.fail(f"the browser test needs Debian's chromium, which is missing: run `sudo {command}` "
                    "(or run the tests as root on Debian/Ubuntu and they install it)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-qq"], APT_INSTALL):
        done = run(step, capture_output=True, text=True, env=env, timeout=1200)
        if done.returncode != 0:
            tail = " ".join((done.stderr or done.stdout or "").strip().splitlines()[-2:])
            pytest.fail(f"installing chromium for the browser test failed: `{' '.join(step)}` exited "
                        f"{done.returncode}: {tail} (run `{command}` by hand)")
    if (path := found()) is None:
        pytest.fail(f"`{command}` succeeded but no chromium is on PATH or at {CHROMIUM}")
    return path


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The path of a headless-capable Chromium (installed on first use if missing, see :func:`ensure_chromium`).

    Test processes (pytest-xdist workers) take turns through a file lock, so only one runs apt-get and the
    others then find what it installed.
    """
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "backtest-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_chromium()
