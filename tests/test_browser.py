"""``report.html`` in a real headless Chromium: loads offline without console errors and every chart renders.

Needs the Debian ``chromium`` package (``/usr/bin/chromium``) and the ``playwright`` pip package (its own
browser downloads are never used). Network requests from the page are blocked and recorded: the page
must be self-contained.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import reports_fixtures as rf
from backtest.cli import cli
from backtest.reports.build import build_report, write_report

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

SETUP = """\
article:
  id: b-bull
  title: Browser check
  published: 2026-02-09T14:00:00Z
  stance: bullish
  pulse: 60
  subject: [IWM]
setups:
  - id: b-long
    symbol: IWM
    stop: 240
    targets: [280]
  - id: b-pair
    kind: pair
    long: {instrument: small caps, symbol: IWM}
    short: {instrument: large caps, symbol: SPY}
"""


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield instance
        instance.close()


def open_page(browser, html: Path, screenshot: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file:", "data:", "blob:", "about:")):
            request_route.continue_()
        else:
            requests.append(url)
            request_route.abort()

    page.route("**/*", route)
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_function("document.querySelectorAll('.plotly-graph-div .main-svg').length > 0")
    charts = page.evaluate(
        """() => Array.from(document.querySelectorAll('.plotly-graph-div')).map(div => ({
               id: div.id,
               svgs: div.querySelectorAll('svg.main-svg').length,
               traces: div.querySelectorAll('g.trace').length,
           }))"""
    )
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return charts, errors, requests


def test_real_run_report_renders(browser, tmp_path, market_data_dir):
    setups = tmp_path / "setups"
    setups.mkdir()
    (setups / "b.yaml").write_text(SETUP)
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["--offline", "--mirror", str(market_data_dir), "--cache-dir",
                                      str(tmp_path / "cache"), "run", str(setups), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    charts, errors, requests = open_page(browser, out / "report.html", tmp_path / "real.png")
    assert errors == []
    assert requests == []
    ids = [c["id"] for c in charts]
    assert ids[:4] == ["chart-event-study", "chart-stances", "chart-b-bull-iwm", "chart-b-bull-spy"]
    assert {"chart-pulse", "chart-equity"} <= set(ids)
    for chart in charts:
        assert chart["svgs"] >= 1 and chart["traces"] >= 1, chart
    assert (tmp_path / "real.png").stat().st_size > 10_000


def test_hand_made_report_renders(browser, tmp_path):
    report = build_report(rf.ledger(), rf.table(), portfolio=rf.FakePortfolio(),
                          run_meta={"id": "browser"})
    write_report(report, tmp_path, ("html",))
    charts, errors, requests = open_page(browser, tmp_path / "report.html", tmp_path / "fake.png")
    assert errors == [] and requests == []
    assert [c["id"] for c in charts] == ["chart-event-study", "chart-stances", "chart-art-bull-aaa", "chart-art-bear-bbb",
                                         "chart-art-bear-spy", "chart-pulse", "chart-equity"]
    assert all(c["svgs"] >= 1 and c["traces"] >= 1 for c in charts)
