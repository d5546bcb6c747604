"""Committed setup files point at the articles (path, sha256, spans) and carry none of their text."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from backtest.articles.reader import read_article
from backtest.setups.load import load_setups

REPO = Path(__file__).resolve().parents[1]
SETUPS = REPO / "setups"


def _phrases(text: str, words: int = 8) -> set[str]:
    """Every run of ``words`` consecutive words (normalised), to find copied passages."""
    tokens = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(tokens[i : i + words]) for i in range(len(tokens) - words + 1)}


def test_committed_setup_files_copy_no_article_text(articles_dir):
    files = sorted(SETUPS.glob("*.yaml"))
    assert len(files) == 5
    for path in files:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        article_file = articles_dir / f"{data['article']['id']}.txt"
        article = read_article(article_file)
        data["article"].pop("tags", None)  # keywords like small-caps are metadata, not prose
        copied = _phrases(yaml.safe_dump(data, allow_unicode=True)) & _phrases(article.text)
        assert not copied, f"{path.name} repeats article text: {sorted(copied)[:3]}"
        assert "title" not in data["article"]
        assert all("title" not in source for source in data["article"].get("sources", []))


def test_loader_reads_title_from_the_article_when_unchanged(articles_dir, tmp_path):
    files, skips = load_setups(SETUPS)
    assert not skips
    by_id = {f.article.id: f.article for f in files}
    web_page = by_id["002_1a3ddcab0d830ea8"]
    assert web_page.title == read_article(articles_dir / "002_1a3ddcab0d830ea8.txt").title
    assert web_page.title  # the scraped page has a headline

    # A setup file whose article changed since extraction (sha256 mismatch) gets no title rather than a wrong one.
    text = (SETUPS / "002_1a3ddcab0d830ea8.yaml").read_text(encoding="utf-8")
    altered = re.sub(r"sha256: [0-9a-f]{64}", "sha256: " + "f" * 64, text, count=1)
    path = tmp_path / "002.yaml"
    path.write_text(altered.replace("path: ../shared", f"path: {REPO}/../shared"), encoding="utf-8")
    (loaded,), _ = load_setups(path)
    assert loaded.article.title is None
