"""Best and worst calls with the sentence each came from (``backtest/setups/quotes.py``, docs/reports.md).

The seed run's quotes are checked against the article text read independently (the YAML file's spans,
``read_article(...).text`` sliced); edited, missing and span-less articles give no quote and the reason;
third-party text is escaped in report.html and report.md. Articles written here are this test's own
sentences.
"""

from __future__ import annotations

import hashlib
import html
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from backtest.articles import read_article
from backtest.cli import cli

REPO = Path(__file__).resolve().parents[1]


def run(setups: Path, out: Path, market_data_dir: Path, cache: Path) -> dict:
    result = CliRunner().invoke(cli, ["--offline", "--mirror", str(market_data_dir), "--cache-dir", str(cache),
                                      "run", str(setups), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


def collapsed(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def seed(tmp_path_factory, market_data_dir):
    out = tmp_path_factory.mktemp("seed") / "report"
    return out, run(REPO / "setups", out, market_data_dir, tmp_path_factory.mktemp("cache"))


def test_seed_quotes_are_the_article_text_at_the_setups_first_span(seed, articles_dir):
    out, summary = seed
    calls = summary["best_worst_calls"]
    assert len(calls) >= 2 and all(c["quote"] for c in calls), calls
    md = (out / "report.md").read_text(encoding="utf-8")
    page = (out / "report.html").read_text(encoding="utf-8")
    for call in calls:
        assert call["quote_note"] is None
        setup_file = yaml.safe_load((REPO / "setups" / f"{call['article_id']}.yaml").read_text(encoding="utf-8"))
        setup = next(s for s in setup_file["setups"] if s["id"] == call["setup_id"])
        span = setup["source"]["spans"][0]
        text = read_article(articles_dir / Path(setup_file["article"]["path"]).name).text
        assert call["quote"] == collapsed(text[span["start"]:span["end"]])
        # the quoted setup takes the call's side on the call's symbol
        side = "long" if call["stance"] == "bullish" else "short"
        if setup.get("kind") == "pair":
            assert setup[side]["symbol"] in setup_file["article"]["subject"]
        else:
            assert setup["direction"] == side and setup["symbol"] in setup_file["article"]["subject"]
        assert html.escape(call["quote"], quote=False) in page
        assert f'"{call["quote"]}"' in md  # the seed quotes hold no character Markdown would need escaped
    # 003 is bearish on small caps: its explicit instruction is the pair short IWM
    bear = next(c for c in calls if c["article_id"] == "003_99540e02251797ad")
    assert bear["quote"] == "If you must play, focus on relative value trades—long S&P 500, short IWM."


def test_raw_articles_give_the_same_quotes(seed, tmp_path, articles_dir, market_data_dir):
    """The in-memory route (SETUPS = the articles themselves) resolves the same sentences."""
    summary = run(articles_dir, tmp_path / "raw", market_data_dir, tmp_path / "cache")
    assert summary["best_worst_calls"] == seed[1]["best_worst_calls"]


def copy_seed(tmp_path: Path, articles_dir: Path, ids: list[str]) -> Path:
    """The seed setup files ``ids`` in tmp/setups, their articles copied to tmp/articles and pointed at."""
    setups, articles = tmp_path / "setups", tmp_path / "articles"
    setups.mkdir(), articles.mkdir()
    for article_id in ids:
        shutil.copy(articles_dir / f"{article_id}.txt", articles / f"{article_id}.txt")
        text = (REPO / "setups" / f"{article_id}.yaml").read_text(encoding="utf-8")
        text = text.replace(f"path: ../shared/articles/{article_id}.txt", f"path: {articles / f'{article_id}.txt'}")
        (setups / f"{article_id}.yaml").write_text(text, encoding="utf-8")
    return articles


def test_a_changed_or_missing_article_gives_no_quote_and_says_why(tmp_path, articles_dir, market_data_dir):
    bear, bull = "003_99540e02251797ad", "001_6fa92685ddde2a21"
    articles = copy_seed(tmp_path, articles_dir, [bear, bull])
    unchanged = run(tmp_path / "setups", tmp_path / "before", market_data_dir, tmp_path / "cache")
    assert all(c["quote"] for c in unchanged["best_worst_calls"])
    data = bytearray((articles / f"{bear}.txt").read_bytes())
    data[-2] = ord("x") if data[-2] != ord("x") else ord("y")  # one byte, far from any span
    (articles / f"{bear}.txt").write_bytes(bytes(data))
    (articles / f"{bull}.txt").unlink()
    summary = run(tmp_path / "setups", tmp_path / "after", market_data_dir, tmp_path / "cache")
    got = {c["article_id"]: c for c in summary["best_worst_calls"]}
    assert got[bear]["quote"] is None and got[bear]["quote_note"] == "article changed since extraction"
    assert got[bull]["quote"] is None and got[bull]["quote_note"] == "article file not found"
    assert got[bear]["setup_id"] == f"{bear}-s4"  # the setup is still named: only its sentence is withheld
    md = (tmp_path / "after" / "report.md").read_text(encoding="utf-8")
    assert "(no quote: article changed since extraction)" in md and "(no quote: article file not found)" in md
    page = (tmp_path / "after" / "report.html").read_text(encoding="utf-8")
    assert "no quote: article changed since extraction" in page
    before = {c["article_id"]: c["quote"] for c in unchanged["best_worst_calls"]}
    assert not any(q in page for q in before.values()), "no stale sentence is shown"
    # the numbers do not depend on the article file
    strip = [{k: v for k, v in c.items() if k not in ("quote", "quote_note")} for c in summary["best_worst_calls"]]
    assert strip == [{k: v for k, v in c.items() if k not in ("quote", "quote_note")}
                     for c in unchanged["best_worst_calls"]]


HAND = """\
article:
  id: hand-{name}
  title: Written by hand
  published: 2026-02-09T14:00:00Z
  stance: {stance}
  subject: [IWM]
setups:
  - id: hand-{name}-1
    symbol: IWM
    direction: long
    stop: 240
"""


def test_hand_written_setups_without_spans_or_on_the_other_side(tmp_path, market_data_dir):
    setups = tmp_path / "setups"
    setups.mkdir()
    (setups / "bull.yaml").write_text(HAND.format(name="bull", stance="bullish"), encoding="utf-8")
    (setups / "bear.yaml").write_text(HAND.format(name="bear", stance="bearish"), encoding="utf-8")
    summary = run(setups, tmp_path / "r", market_data_dir, tmp_path / "cache")
    got = {c["article_id"]: c for c in summary["best_worst_calls"]}
    assert set(got) == {"hand-bull", "hand-bear"}
    assert got["hand-bull"]["quote"] is None and got["hand-bull"]["quote_note"] == "no source span"
    assert got["hand-bull"]["setup_id"] == "hand-bull-1"
    assert got["hand-bear"]["quote"] is None and got["hand-bear"]["quote_note"] == "no setup in the call's direction"
    assert got["hand-bear"]["setup_id"] is None
    assert "(no quote: no source span)" in (tmp_path / "r" / "report.md").read_text(encoding="utf-8")


SCRIPT_SENTENCE = ("Small caps are coiled: buy IWM <script>alert('quoted')</script> above the open, "
                   "a *firm* stop at [240] & a `tight` leash | no_excuses.")
LONG_SENTENCE = ("Large caps have carried the tape for months and the breadth under them keeps thinning, " * 6).strip()
HTML_PAGE = ("<html><body><p>Notes on the week.</p>\n<p>We would <b>sell IWM</b> into strength &amp; keep the "
             "position small.</p>\n<p>More words follow here so the page reads like commentary to anyone.</p>"
             "</body></html>\n")


def article_with(tmp_path: Path, name: str, text: str, sentence: str, stance: str, direction: str,
                 published: str) -> None:
    """An article file of ``text`` and a setup file whose one setup's span is ``sentence`` in it."""
    path = tmp_path / "articles" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    start = text.index(sentence)
    setup = {"article": {"id": path.stem, "path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                         "published": published, "stance": stance, "subject": ["IWM"]},
             "setups": [{"id": f"{path.stem}-s1", "symbol": "IWM", "direction": direction, "explicit": True,
                         "source": {"spans": [{"start": start, "end": start + len(sentence)}]}}]}
    (tmp_path / "setups").mkdir(exist_ok=True)
    (tmp_path / "setups" / f"{path.stem}.yaml").write_text(yaml.safe_dump(setup, allow_unicode=True), encoding="utf-8")


def test_quotes_are_escaped_bounded_and_read_as_the_extractor_reads(tmp_path, market_data_dir):
    article_with(tmp_path, "script.txt", f"Weekly notes.\n\n{SCRIPT_SENTENCE}\n\nThat is all for now, friends.\n",
                 SCRIPT_SENTENCE, "bullish", "long", "2026-02-09T14:00:00Z")
    article_with(tmp_path, "long.txt", f"Opening words.\n\n{LONG_SENTENCE}\nClosing words here.\n",
                 LONG_SENTENCE, "bearish", "short", "2026-03-02T14:00:00Z")
    article_with(tmp_path, "page.html", HTML_PAGE, "<p>We would <b>sell IWM</b> into strength &amp; keep the "
                 "position small.</p>", "bearish", "short", "2026-04-06T14:00:00Z")
    out = tmp_path / "r"
    summary = run(tmp_path / "setups", out, market_data_dir, tmp_path / "cache")
    got = {c["article_id"]: c for c in summary["best_worst_calls"]}
    assert set(got) == {"script", "long", "page"}, got
    assert got["script"]["quote"] == SCRIPT_SENTENCE
    long_quote = got["long"]["quote"]
    assert len(long_quote) <= 300 and long_quote.endswith("…") and LONG_SENTENCE.startswith(long_quote[:-1])
    # an HTML page is quoted as the extractor reads it: tags blanked, entities decoded, whitespace collapsed
    assert got["page"]["quote"] == "We would sell IWM into strength & keep the position small."

    page = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert('quoted')" not in page
    assert "&lt;script&gt;alert(&#39;quoted&#39;)&lt;/script&gt;" in page
    md = (out / "report.md").read_text(encoding="utf-8")
    assert ('"Small caps are coiled: buy IWM \\<script\\>alert(\'quoted\')\\</script\\> above the open, '
            'a \\*firm\\* stop at \\[240\\] & a \\`tight\\` leash \\| no\\_excuses."') in md
    assert "<script>" not in md


def test_an_edited_span_past_the_end_of_the_article_gives_no_quote(tmp_path, market_data_dir):
    article_with(tmp_path, "short.txt", f"Weekly notes.\n\n{SCRIPT_SENTENCE}\n", SCRIPT_SENTENCE, "bullish", "long",
                 "2026-02-09T14:00:00Z")
    path = tmp_path / "setups" / "short.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["setups"][0]["source"]["spans"] = [{"start": 10, "end": 10_000}]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    summary = run(tmp_path / "setups", tmp_path / "r", market_data_dir, tmp_path / "cache")
    assert summary["best_worst_calls"][0]["quote"] is None
    assert summary["best_worst_calls"][0]["quote_note"] == "source span outside the article text"


def test_every_reason_for_no_quote_is_documented():
    from backtest.setups.quotes import NOTES, QUOTE_CHARS

    doc = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")
    section = doc[doc.index("### Best and worst calls"):doc.index("### `report.html`")]
    assert all(f"`{note}`" in section for note in NOTES.values()), [n for n in NOTES.values() if f"`{n}`" not in section]
    assert f"at most {QUOTE_CHARS} characters" in section
