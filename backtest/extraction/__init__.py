"""Extraction: :class:`~backtest.articles.Article` → :class:`~backtest.setups.model.SetupFile`.

The stage between reading articles and simulating setups:

* :mod:`.numbers` — numbers in prose and which of them are price levels;
* :mod:`.instruments` (+ ``instruments.yaml``) — the words an article uses for an instrument → a symbol;
* :mod:`.phrasebook` (+ ``phrasebook.yaml``) — the cue words around levels, compiled into matchers;
* :mod:`.extractor` — one article → its setups, pairs and watch levels (:func:`extract_article`);
* :mod:`.batch` — many article files → setup files on disk or JSON lines (what ``backtest extract`` calls).
"""

__all__ = ["Extraction", "extract_article"]


def __getattr__(name):  # the extractor compiles its tables on first use, not on package import
    if name in __all__:
        from . import extractor

        return getattr(extractor, name)
    raise AttributeError(name)
