"""Articles: read commentary files into :class:`Article` objects (metadata, sections, decoded text)."""

from .reader import Article, parse_article_bytes, parse_article_text, read_article

__all__ = ["Article", "read_article", "parse_article_text", "parse_article_bytes"]
