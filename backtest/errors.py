"""Error types. A user mistake is a :class:`UserError`: the CLI prints its one-line message, no traceback.

Every message names the culprit (file, line/field, setup id or symbol), what is wrong and what to do.
``--debug`` on the CLI re-raises to show the traceback.
"""

from __future__ import annotations


class BacktestError(Exception):
    """Base class of all errors this package raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None):
        self.message = message
        self.hint = hint
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = []
        if self.where:
            parts.append(f"{self.where}: ")
        parts.append(self.message)
        if self.hint:
            parts.append(f" ({self.hint})")
        return "".join(parts).replace("\n", " ")


class UserError(BacktestError):
    """Bad input from the user: bad file, bad option, missing data. One line, no traceback."""


class UsageError(UserError):
    """Wrong command-line usage (exit code 2, like click)."""

    exit_code = 2


class ConfigError(UserError):
    """backtest.toml or environment is wrong."""


class DataError(UserError):
    """Bars cannot be loaded or are unusable for a symbol."""


class CorruptCacheError(DataError):
    """A cache file could not be read; it will be re-fetched or skipped."""


class ArticleError(UserError):
    """A file cannot be read as an article (binary, empty, not UTF-8, too large)."""


class ReportError(UserError):
    """The report cannot be written (directory not writable, disk full)."""
