"""The extraction stage's public functions (what ``backtest extract`` and the setup loader call).

* :func:`extract_setup_files` — articles → :class:`SetupFile` objects + :class:`Skip` per bad article;
* :func:`extract_json_lines` — one JSON object per article (the ``--json`` public interface, see
  ``docs/setup-format.md``); writes nothing;
* :func:`extract_to_dir` — one YAML file per article under ``out_dir``, idempotent, never overwriting a
  file a person edited unless ``force``; returns an :class:`ExtractSummary`.

Paths may be files or directories (directories are read non-recursively, the suffixes in
:data:`backtest.articles.reader.ARTICLE_SUFFIXES`).
One bad article never stops the others: it becomes a one-line reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ..articles.reader import ARTICLE_SUFFIXES
from ..errors import ArticleError, UsageError
from .instruments import PriceLookup, market_price_lookup
from ..setups.model import SetupFile


@dataclasses.dataclass
class ArticleResult:
    """One input file's outcome: the setup file and warnings, or the reason it was skipped."""

    path: Path
    setup_file: SetupFile | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None


def discover_articles(paths: Iterable[Path]) -> tuple[list[Path], list[ArticleResult]]:
    """Article files named by ``paths`` (directories expanded, sorted) and failures for missing paths.

    A directory holding no article files is a :class:`UsageError` (nothing sensible to do with it).
    """
    files: list[Path] = []
    missing: list[ArticleResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir()
                           if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in ARTICLE_SUFFIXES)
            if not found:
                raise UsageError("directory holds no articles (*.txt, *.md, *.html)", where=str(path),
                                 hint="point at the articles directory or at article files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            missing.append(ArticleResult(path, error=f"{path}: no such file or directory (check the path)"))
    return files, missing


def extract_articles(paths: Iterable[Path], price_lookup: PriceLookup | None = None,
                     config=None) -> list[ArticleResult]:
    """Read and extract every article; each result carries a setup file or a one-line error."""
    from ..articles.reader import read_article
    from . import extractor

    lookup = price_lookup if price_lookup is not None else market_price_lookup(config)
    files, results = discover_articles(paths)
    seen: dict[str, Path] = {}
    for path in files:
        result = ArticleResult(path)
        try:
            article = read_article(path)
            if article.id in seen:
                raise ArticleError(f"duplicate article id {article.id!r} (also {seen[article.id]})", where=str(path),
                                   hint="article ids are file stems; rename one file")
            seen[article.id] = path
            extraction = extractor.extract_article(article, lookup)
            result.setup_file = extraction.setup_file
            result.warnings = extraction.warnings
        except ArticleError as exc:
            result.error = exc.one_line()
        except ValueError as exc:  # no publication date, invalid model values
            result.error = f"{path}: {_value_error_line(exc)}"
        except Exception as exc:  # noqa: BLE001 - a bug on one odd article must not lose the others
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            result.error = (f"{path}: internal error while extracting ({type(exc).__name__}: {first}); "
                            "this is a bug: please report it with this file, or write its setup file by hand")
        results.append(result)
    return results


def _value_error_line(exc: ValueError) -> str:
    """One line for a ValueError; a pydantic error says which field and why (not "1 validation error")."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.errors():
        error = exc.errors()[0]
        prefix = {"ArticleMeta": "article", "Setup": "setup", "SetupFile": "file"}.get(exc.title, exc.title)
        field = ".".join([prefix, *(str(part) for part in error.get("loc", ()))])
        return f"{field}: {error.get('msg', 'invalid value').removeprefix('Value error, ')}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def extract_setup_files(paths: Iterable[Path], price_lookup: PriceLookup | None = None, config=None):
    """(setup files, skips) for the loader: raw articles handed to ``backtest run`` are extracted in memory."""
    from ..common import Skip

    files: list[SetupFile] = []
    skips: list[Skip] = []
    for result in extract_articles(paths, price_lookup, config):
        if result.setup_file is not None:
            files.append(result.setup_file)
        else:
            skips.append(Skip(item=str(result.path), reason=result.error or "unreadable", kind="article"))
    return files, skips


# ---------------------------------------------------------------------------------------- JSON lines
def article_json(setup_file: SetupFile) -> dict:
    """The public ``--json`` object for one article (documented in docs/setup-format.md)."""
    meta = setup_file.article
    setups = []
    for s in setup_file.setups:
        item = {
            "setup_id": s.id,
            "kind": s.kind,
            "instrument": s.instrument,
            "symbol": s.symbol,
            "status": s.status,
            "direction": s.direction,
            "entry_type": s.entry.type,
            "entry_level": s.entry.level,
            "stop": s.stop,
            "targets": list(s.targets),
            "invalidation": s.invalidation,
            "explicit": s.explicit,
        }
        if s.kind == "pair":
            item["long_symbol"] = s.long.symbol if s.long else None
            item["short_symbol"] = s.short.symbol if s.short else None
        item["spans"] = [[sp.start, sp.end] for sp in s.source.spans]
        setups.append(item)
    watch = [
        {"instrument": w.instrument, "symbol": w.symbol, "kind": w.kind, "levels": list(w.levels),
         "spans": [[sp.start, sp.end] for sp in w.source.spans]}
        for w in setup_file.watch
    ]
    return {
        "article_id": meta.id,
        "title": meta.title,
        "published": meta.published_iso,
        "published_basis": meta.published_basis,
        "stance": meta.stance,
        "pulse": meta.pulse,
        "threat": meta.threat,
        "subject": list(meta.subject),
        "setups": setups,
        "watch": watch,
    }


def extract_json_lines(paths: Iterable[Path], price_lookup: PriceLookup | None = None, config=None,
                       on_skip: Callable[[str], None] | None = None) -> Iterator[str]:
    """One JSON line per readable article; each skipped input is reported through ``on_skip`` (default: stderr)."""
    report = on_skip or (lambda line: print(f"skipped: {line}", file=sys.stderr))
    for result in extract_articles(paths, price_lookup, config):
        if result.setup_file is None:
            report(result.error or f"{result.path}: unreadable")
            continue
        yield json.dumps(article_json(result.setup_file), ensure_ascii=False, sort_keys=False)


# ------------------------------------------------------------------------------------------ to files
@dataclasses.dataclass
class ExtractSummary:
    """What ``backtest extract`` did: files written, unchanged, kept (edited by a person), failed inputs."""

    out_dir: Path
    written: list[Path] = dataclasses.field(default_factory=list)
    unchanged: list[Path] = dataclasses.field(default_factory=list)
    kept: list[Path] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    articles: int = 0
    setups: int = 0
    unresolved: int = 0
    watch: int = 0

    def render(self) -> str:
        lines = [
            f"articles: {self.articles} read, {len(self.failed)} skipped; setups: {self.setups} "
            f"({self.unresolved} unresolved); watch levels: {self.watch}; warnings: {len(self.warnings)}",
            f"files in {self.out_dir}: {len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.kept)} kept (edited by hand)",
        ]
        lines += [f"  written    {p}" for p in self.written]
        lines += [f"  kept       {p} (edited since generated; --force to overwrite)" for p in self.kept]
        lines += [f"  skipped    {reason}" for reason in self.failed]
        lines += [f"  warning    {w}" for w in self.warnings]
        return "\n".join(lines)


def extract_to_dir(paths: Iterable[Path], out_dir: Path, force: bool = False,
                   price_lookup: PriceLookup | None = None, config=None) -> ExtractSummary:
    """Write ``out_dir/<article_id>.yaml`` for each article (see module docstring)."""
    from ..setups.writer import is_edited, render_setup_file

    out_dir = Path(out_dir)
    summary = ExtractSummary(out_dir=out_dir)
    results = extract_articles(paths, price_lookup, config)
    for result in results:
        if result.setup_file is None:
            summary.failed.append(result.error or f"{result.path}: unreadable")
            continue
        sf = result.setup_file
        summary.articles += 1
        summary.setups += len(sf.setups)
        summary.unresolved += sum(1 for s in sf.setups if s.status == "unresolved")
        summary.watch += len(sf.watch)
        summary.warnings.extend(f"{sf.article.id}: {w}" if not w.startswith(sf.article.id) else w
                                for w in result.warnings)
        text = render_setup_file(sf)
        target = out_dir / f"{sf.article.id}.yaml"
        if target.exists():
            old = target.read_text(encoding="utf-8", errors="replace")
            if old == text:
                summary.unchanged.append(target)
                continue
            if is_edited(old) and not force:
                summary.kept.append(target)
                continue
        out_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, text)
        summary.written.append(target)
    return summary


def _atomic_write(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory, so an interrupted run leaves no half file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a setup file is an ordinary, shareable file
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
