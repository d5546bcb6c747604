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

pytestmark = pytest.mark.browser

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

SETUP = """\
article:
  id: b-bull
  title: Browser check
  path: PATH
  sha256: SHA256
  published: 2026-02-09T14:00:00Z
  stance: bullish
  pulse: 60
  subject: [IWM]
setups:
  - id: b-long
    symbol: IWM
    stop: 240
    targets: [280]
    source: {spans: [{start: START, end: END}]}
  - id: b-pair
    kind: pair
    long: {instrument: small caps, symbol: IWM}
    short: {instrument: large caps, symbol: SPY}
"""


#: The article behind b-long: its sentence (the quote under the best/worst calls) is long and has a long
#: unbroken token, and must wrap at 390 px.
SENTENCE = ("Small caps finally look ready to lead: buy IWM here with a stop at 240 and a target at 280, and read "
            "the full reasoning at example-research-notes/small-caps-breadth-thrust-and-the-rate-path-revisited-"
            "in-detail before sizing up, because the move depends on breadth holding, rates easing and earnings "
            "revisions turning higher.")
ARTICLE = f"Weekly notes on small caps.\n\n{SENTENCE}\n\nThat is all for this week.\n"


def write_setups(folder: Path) -> Path:
    """b.yaml (its article beside it, b-long's span on :data:`SENTENCE`) and c.yaml in ``folder``."""
    import hashlib

    folder.mkdir()
    article = folder / "b-article.txt"
    article.write_text(ARTICLE, encoding="utf-8")
    start = ARTICLE.index(SENTENCE)
    filled = {"PATH": str(article), "SHA256": hashlib.sha256(article.read_bytes()).hexdigest(), "START": str(start),
              "END": str(start + len(SENTENCE))}
    text = SETUP
    for name, value in filled.items():
        text = text.replace(f": {name}", f": {value}")
    (folder / "b.yaml").write_text(text, encoding="utf-8")
    (folder / "c.yaml").write_text(BEAR, encoding="utf-8")
    return folder


BEAR = """\
article:
  id: c-bear
  title: Large caps roll over
  published: 2026-02-02T14:00:00Z
  stance: bearish
  pulse: 30
  subject: [XLK]
setups:
  - id: c-short
    symbol: XLK
    direction: short
"""


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium), args=ARGS)
        yield instance
        instance.close()


def open_page(browser, html: Path, screenshot: Path, width: int = 1400):
    """Load the page at ``width`` px, offline; returns (charts, console errors, blocked requests, page)."""
    page = browser.new_page(viewport={"width": width, "height": 900})
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
    page.screenshot(path=str(screenshot), full_page=False)
    return charts_of(page), errors, requests, page


def charts_of(page) -> list[dict]:
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
               id: div.id,
               svgs: div.querySelectorAll('svg.main-svg').length,
               traces: div.querySelectorAll('g.trace').length,
           }))"""
    )


def check_first_screen_and_interaction(page, errors, requests, tmp_path: Path, width: int):
    """What a reader sees and does: the scorecard and the event study first; sorting, filtering, a chart
    drawn on demand; no horizontal scrolling; no console error; no network."""
    first = page.evaluate("""() => ({
        heading: document.querySelector('h2').textContent,
        scorecard: document.getElementById('scorecard').getBoundingClientRect().top,
        headline: document.getElementById('headline').getBoundingClientRect().top,
        event: document.getElementById('chart-event-study').getBoundingClientRect().top,
        firstChart: document.querySelector('.plotly-graph-div').id,
        rows: document.querySelectorAll('#scorecard tr').length,
    })""")
    assert first["heading"].startswith("Did bullish or bearish calls do better")
    assert first["firstChart"] == "chart-event-study"
    assert first["rows"] > 1 and first["scorecard"] < first["headline"]
    if width >= 1000:
        assert first["event"] < 900, "the scorecard and the event-study chart are on the first screen"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scrolling"

    # sort the trades by return (the header cell of return_pct), both ways
    column = page.evaluate("Array.from(document.querySelectorAll('#trades thead th')).findIndex(th => th.textContent === 'return_pct')")
    values = f"Array.from(document.querySelectorAll('#trades tbody tr')).map(r => r.cells[{column}].getAttribute('data-v')).filter(v => v)"
    page.click(f"#trades thead th >> nth={column}")
    up = [float(v) for v in page.evaluate(values)]
    page.click(f"#trades thead th >> nth={column}")
    down = [float(v) for v in page.evaluate(values)]
    assert len(up) >= 2 and up == sorted(up) and down == sorted(up, reverse=True)
    # filter: only matching rows stay visible
    page.fill("#trade-filter", "filled")
    visible = page.evaluate("Array.from(document.querySelectorAll('#trades tbody tr')).filter(r => r.style.display !== 'none').map(r => r.textContent)")
    assert visible and all("filled" in text for text in visible)
    page.fill("#trade-filter", "")

    # an article's charts are drawn only when it is opened
    assert page.evaluate("document.querySelectorAll('.article-chart').length") == 0
    page.click("#articles button.open >> nth=0")
    page.wait_for_function("document.querySelectorAll('.article-chart .main-svg').length > 0")
    drawn = [c for c in charts_of(page) if c["id"].startswith("chart-") and c["traces"] >= 1]
    assert any(c["id"] not in ("chart-event-study", "chart-stances", "chart-pulse", "chart-equity") for c in drawn)
    page.screenshot(path=str(tmp_path / f"article-{width}.png"), full_page=False)
    # every opened article's charts have their own element ids (the article's index is part of the id, so
    # article ids that slug alike never share one)
    buttons = page.locator("#articles button.open").count()
    for i in range(1, min(buttons, 3)):
        page.click(f"#articles button.open >> nth={i}")
    ids = page.evaluate("Array.from(document.querySelectorAll('.article-chart')).map(d => d.id)")
    assert len(ids) == len(set(ids)) and all(i.rsplit("-", 1)[-1].isdigit() for i in ids)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no horizontal scrolling after a chart"
    assert errors == [] and requests == []


@pytest.mark.parametrize("width", [1400, 390])
def test_real_run_report_renders(browser, tmp_path, market_data_dir, width):
    setups = write_setups(tmp_path / "setups")
    out = tmp_path / "report"
    result = CliRunner().invoke(cli, ["--offline", "--mirror", str(market_data_dir), "--cache-dir",
                                      str(tmp_path / "cache"), "run", str(setups), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    charts, errors, requests, page = open_page(browser, out / "report.html", tmp_path / f"real-{width}.png", width)
    ids = [c["id"] for c in charts]
    assert ids[:2] == ["chart-event-study", "chart-stances"]
    assert {"chart-pulse", "chart-equity"} <= set(ids)
    for chart in charts:
        assert chart["svgs"] >= 1 and chart["traces"] >= 1, chart
    quotes = page.evaluate("Array.from(document.querySelectorAll('#extremes tr.quote td')).map(td => td.textContent)")
    assert sorted(quotes) == sorted([SENTENCE[:299].rsplit(" ", 1)[0] + "…", "no quote: no source span"]), quotes
    widths = page.evaluate("""() => {
        const table = document.getElementById('extremes'), rows = table.querySelectorAll('tr.quote');
        const withQuotes = table.getBoundingClientRect().width;
        rows.forEach(r => r.style.display = 'none');
        const without = table.getBoundingClientRect().width;
        rows.forEach(r => r.style.display = '');
        return [withQuotes, without];
    }""")
    assert widths[0] <= max(widths[1], width - 32) + 1, f"the quotes widen the best/worst table: {widths} at {width} px"
    check_first_screen_and_interaction(page, errors, requests, tmp_path, width)  # no horizontal scroll: quotes wrap
    page.close()
    assert (tmp_path / f"real-{width}.png").stat().st_size > 10_000


def test_hand_made_report_renders(browser, tmp_path):
    report = build_report(rf.ledger(), rf.table(), portfolio=rf.FakePortfolio(),
                          run_meta={"id": "browser"})
    write_report(report, tmp_path, ("html",))
    charts, errors, requests, page = open_page(browser, tmp_path / "report.html", tmp_path / "fake.png")
    assert errors == [] and requests == []
    assert [c["id"] for c in charts] == ["chart-event-study", "chart-stances", "chart-pulse", "chart-equity"]
    assert all(c["svgs"] >= 1 and c["traces"] >= 1 for c in charts)
    check_first_screen_and_interaction(page, errors, requests, tmp_path, 1400)
    page.close()


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
