"""Extraction: :class:`~backtest.articles.Article` → :class:`~backtest.setups.model.SetupFile`.

The stage between reading articles and simulating setups:

* :mod:`.numbers` — numbers in prose and which of them are price levels;
* :mod:`.instruments` — the words an article uses for an instrument → a symbol;
* :mod:`.extractor` — one article → its setups, pairs and watch levels (:func:`extract_article`);
* :mod:`.batch` — many article files → setup files on disk or JSON lines (what ``backtest extract`` calls).
"""

from .extractor import Extraction, extract_article

__all__ = ["Extraction", "extract_article"]
