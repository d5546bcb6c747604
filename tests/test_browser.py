"""``report.html`` in a real headless Chromium: loads offline without console errors and every chart renders.

Needs the Debian ``chromium`` package and the ``playwright`` pip package (its own browser downloads are never
used); the ``chromium`` fixture (``tests/conftest.py``) installs the package with apt-get when it is missing
and the tests run as root. Network requests from the page are blocked and recorded: the page must be
self-contained.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import reports_fixtures as rf
from backtest.cli import cli
from backtest.reports.build import build_report, write_report
from backtest.reports.html import chart_dom_id

pytestmark = pytest.mark.browser

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
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
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
    assert ids[:3] == ["chart-stances", chart_dom_id("b-bull", "IWM"), chart_dom_id("b-bull", "SPY")]
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
    assert [c["id"] for c in charts] == ["chart-stances", chart_dom_id("art-bull", "AAA"), chart_dom_id("art-bear", "BBB"),
                                         chart_dom_id("art-bear", "SPY"), "chart-pulse", "chart-equity"]
    assert all(c["svgs"] >= 1 and c["traces"] >= 1 for c in charts)


def test_sweep_heatmap_renders_and_its_selector_switches_cells(browser, tmp_path):
    """heatmap.html: offline, draws the chosen metric over x and y, and the fixed axis' selector redraws
    it from the other cells (each cell's value here is its own number, so the expected matrix is known)."""
    from backtest.sweep.api import cells_frame
    from backtest.sweep.cells import HEADLINE
    from backtest.sweep.grid import parse_grid
    from backtest.sweep.heatmap import choose_view, page

    grid = parse_grid(["entry_window=5,10,20", "max_hold=5,60", "ambiguity=stop-first,target-first"])
    rows = [{name: None for name in HEADLINE.names} | {"n_entered": c} for c in range(len(grid))]
    cells = cells_frame(grid, rows)
    view = choose_view(grid, "n_entered", "entry_window", "max_hold", ["ambiguity=stop-first"])
    html = tmp_path / "heatmap.html"
    html.write_text(page(cells, grid, view, {"cells": len(cells)}), encoding="utf-8")
    browser_page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors, requests = [], []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.on("pageerror", lambda e: errors.append(str(e)))
    browser_page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:", "about:"))
                       else (requests.append(r.request.url), r.abort()))
    browser_page.goto(html.as_uri(), wait_until="load")
    browser_page.wait_for_function("document.querySelectorAll('#heatmap .main-svg').length > 0")
    z = browser_page.evaluate("() => document.getElementById('heatmap').data[0].z")
    # cell = 4 * entry_window index + 2 * max_hold index + ambiguity index; rows are max_hold, columns entry_window
    assert z == [[0, 4, 8], [2, 6, 10]]
    browser_page.select_option("#fix-ambiguity", "1")  # target-first
    z = browser_page.evaluate("() => document.getElementById('heatmap').data[0].z")
    assert z == [[1, 5, 9], [3, 7, 11]]
    assert browser_page.locator("#heatmap g.hm image").count() == 1  # the heatmap was drawn
    browser_page.screenshot(path=str(tmp_path / "heatmap.png"))
    browser_page.close()
    assert errors == [] and requests == []
