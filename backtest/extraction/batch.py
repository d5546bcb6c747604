"""Many article files → setup files on disk, JSON lines, or setup files in memory (``backtest extract``, ``run``).

* :func:`extract_articles` — read and extract every article; one :class:`ArticleResult` per input;
* :func:`extract_setup_files` — (setup files, skips) for the setup loader (``backtest run`` on raw articles);
* :func:`extract_json_lines` — one :class:`JsonLine` per input: the ``--json`` object (documented in
  ``docs/setup-format.md``) or the reason it was skipped; writes and prints nothing;
* :func:`extract_to_dir` — one YAML file per article under ``out_dir``, idempotent, never overwriting a
  file a person edited unless ``force``; returns an :class:`ExtractSummary`.

Paths may be files or directories (directories are read non-recursively, the suffixes in
:data:`backtest.articles.reader.ARTICLE_SUFFIXES`). One bad article never stops the others: it becomes a
one-line reason naming the file, and so does a setup file that cannot be written (disk full, permissions).
The library prints nothing; ``backtest/cli.py`` renders these results.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import functools
import hashlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import Iterable, Iterator

from ..articles.reader import ARTICLE_SUFFIXES
from ..errors import ArticleError, ConfigError, UsageError
from ..setups.model import PUBLISHED_YEARS, SetupFile
from . import extractor
from .instruments import InstrumentTable, PriceLookup, load_table, market_price_lookup


@dataclasses.dataclass
class ArticleResult:
    """One input file's outcome: the setup file and warnings, or the reason it was skipped."""

    path: Path
    setup_file: SetupFile | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None
    text: str | None = None  # the setup file's YAML, when asked for (``iter_articles(render=True)``)
    tally: "Tally | None" = None  # what a summary counts of the setup file (always set with it)


@dataclasses.dataclass(frozen=True)
class Tally:
    """What :class:`ExtractSummary` counts of one setup file: a few numbers, sent back from a forked
    process instead of the whole setup file when only the YAML is written (``iter_articles(keep=False)``)."""

    article_id: str
    setups: int
    unresolved: int
    undated: bool
    watch: int

    @classmethod
    def of(cls, sf: SetupFile) -> "Tally":
        return cls(sf.article.id, len(sf.setups), sum(1 for s in sf.setups if s.status == "unresolved"),
                   sf.article.published is None, len(sf.watch))


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
                raise UsageError(f"directory holds no articles ({', '.join('*' + x for x in ARTICLE_SUFFIXES)})",
                                 where=str(path),
                                 hint="point at the articles directory or at article files")
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            missing.append(ArticleResult(path, error=f"{path}: no such file or directory (check the path)"))
    return files, missing


def parse_published(text: str) -> dt.datetime | dt.date:
    """``--published`` → a date (``2026-02-09``: after that day's close) or an aware UTC instant.

    Accepts ``YYYY-MM-DD`` and ISO 8601 instants with a zone (``2026-02-09T14:30:00Z``, ``…+01:00``).
    Raises :class:`UsageError` for anything else, a time without a zone included (it could look ahead).
    """
    raw = text.strip()
    hint = "give YYYY-MM-DD or an ISO instant with its zone, e.g. 2026-02-09T14:30:00Z"
    try:
        if len(raw) == 10:
            value: dt.datetime | dt.date = dt.date.fromisoformat(raw)
        else:
            value = dt.datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "Zz" else raw)
            if value.tzinfo is None:
                raise UsageError(f"--published {raw!r} has a time but no time zone", hint=hint)
            value = value.astimezone(dt.timezone.utc)
    except (ValueError, IndexError):
        raise UsageError(f"--published {raw!r} is not a date or an instant", hint=hint) from None
    if not PUBLISHED_YEARS[0] <= value.year < PUBLISHED_YEARS[1]:
        raise UsageError(f"--published year {value.year} is outside {PUBLISHED_YEARS[0]}..{PUBLISHED_YEARS[1] - 1}",
                         hint="check the year")
    return value


def iter_articles(paths: Iterable[Path], price_lookup: PriceLookup | None = None, config=None,
                  published: dt.datetime | dt.date | None = None, render: bool = False,
                  keep: bool = True) -> Iterator[ArticleResult]:
    """Read and extract every article, one :class:`ArticleResult` at a time, in the order of the files
    (see module docstring).

    ``published`` (``backtest extract --published``) sets the publication of every article given, with
    ``published_basis: manual``; the note keeps what the article itself said. ``render``: each result
    also carries its setup file's YAML (``ArticleResult.text``), made where the article was extracted;
    ``keep=False`` (with ``render``): the result carries that YAML and its :class:`Tally`, not the setup
    file itself (a tenth of the bytes to send back from a forked process).

    From :data:`PARALLEL_EXTRACT_MIN` files on, the articles are extracted by one forked process per core
    (:func:`backtest.processes.fork_map`; ``BACKTEST_THREADS=1``: none). An article's extraction depends
    on its file alone, so the results are those of one process, in the same order
    (``tests/test_extract_parallel.py`` compares); duplicate ids are found here, in file order.
    """
    from ..environment import default_threads
    from ..processes import fork_map

    lookup = price_lookup if price_lookup is not None else market_price_lookup(config)
    table = instrument_table(config)
    files, missing = discover_articles(paths)
    yield from missing
    token = next(_CALLS)
    # The forked processes inherit this (the price look-up is a closure: it does not pickle).
    _CONTEXTS[token] = (lookup, table, published, render, keep or not render)
    try:
        workers = min(default_threads(), -(-len(files) // EXTRACT_CHUNK))
        if len(files) < PARALLEL_EXTRACT_MIN:
            workers = 1
        if workers > 1:  # what every article needs, made once here rather than once in each process
            extractor.load_phrasebook()
            getattr(lookup, "warm", lambda: None)()
        chunks = [files[lo:lo + EXTRACT_CHUNK] for lo in range(0, len(files), EXTRACT_CHUNK)]
        seen: dict[str, Path] = {}
        for done in fork_map(functools.partial(_extract_chunk, token), chunks, workers):
            for result, article_id in done:
                if article_id is not None and article_id in seen:
                    yield ArticleResult(result.path, error=ArticleError(
                        f"duplicate article id {article_id!r} (also {seen[article_id]})", where=str(result.path),
                        hint="article ids are file stems; rename one file").one_line())
                    continue
                if article_id is not None:
                    seen[article_id] = result.path
                yield result
    finally:
        del _CONTEXTS[token]


#: From this many article files, :func:`iter_articles` extracts them on every core.
PARALLEL_EXTRACT_MIN = 200
#: Articles per task sent to an extracting process.
EXTRACT_CHUNK = 50
#: (price lookup, instrument table, --published, render, keep) of each :func:`iter_articles` call under way.
_CONTEXTS: dict[int, tuple] = {}
_CALLS = itertools.count()


def _extract_chunk(token: int, files: list[Path]) -> list[tuple[ArticleResult, str | None]]:
    lookup, table, published, render, keep = _CONTEXTS[token]
    return [_extract_one(path, lookup, table, published, render, keep) for path in files]


def _extract_one(path: Path, lookup, table, published, render: bool,
                 keep: bool = True) -> tuple[ArticleResult, str | None]:
    """One article's result, and its id when the file was read as an article (for the duplicate check)."""
    from ..articles.reader import read_article
    from ..setups.writer import render_setup_file

    result = ArticleResult(path)
    article_id = None
    try:
        article = read_article(path)
        article_id = article.id
        if published is not None:
            _set_published(article, published)
        extraction = extractor.extract_article(article, lookup, table)
        result.setup_file = extraction.setup_file
        result.warnings = extraction.warnings
        result.tally = Tally.of(extraction.setup_file)
        if render:
            result.text = render_setup_file(extraction.setup_file)
        if not keep:
            result.setup_file = None
    except ArticleError as exc:
        result.error = exc.one_line()
    except ValueError as exc:  # invalid model values
        result.error = f"{path}: {_value_error_line(exc)}"
    except Exception as exc:  # noqa: BLE001 - a bug on one odd article must not lose the others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        result.error = (f"{path}: internal error while extracting ({type(exc).__name__}: {first}); "
                        "this is a bug: please report it with this file, or write its setup file by hand")
    if result.error is not None:
        result.setup_file = result.text = result.tally = None
    return result, article_id


def instrument_table(config=None) -> InstrumentTable:
    """The shipped instrument table, with the alias files of ``[instruments] aliases`` merged on top.

    Raises :class:`ConfigError` (one line naming the file) when an alias file is unreadable or malformed:
    every article depends on the table, so nothing is extracted with a half-read one.
    """
    extra = tuple(str(p) for p in (config.instruments.aliases if config is not None else ()))
    try:
        return load_table(extra)
    except ValueError as exc:
        raise ConfigError(f"[instruments].aliases: {exc}", where=str(config.path) if config is not None and config.path else None,
                          hint="fix the alias file (format: backtest/extraction/instruments.yaml)") from None


def extract_articles(paths: Iterable[Path], price_lookup: PriceLookup | None = None, config=None,
                     published: dt.datetime | dt.date | None = None) -> list[ArticleResult]:
    """Every :class:`ArticleResult` of :func:`iter_articles`, as a list."""
    return list(iter_articles(paths, price_lookup, config, published))


def _set_published(article, published: dt.datetime | dt.date) -> None:
    shown = published.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(published, dt.datetime) else published.isoformat()
    if article.published is None:
        said = "the article gives no date"
    else:
        said = f"the article's own date was {article.published_basis} ({article.published_note or article.published})"
    article.published, article.published_basis = published, "manual"
    article.published_note = f"set with --published {shown}; {said}"
    from ..articles.reader import NO_DATE_NOTE

    article.warnings = [w for w in article.warnings if w != NO_DATE_NOTE]


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
    """(setup files, skips) for the loader: raw articles handed to ``backtest run`` are extracted in memory.

    An undated article cannot be simulated (there is no "after" without a date), so here it is one skip
    naming the file and what to do, instead of a setup file: ``backtest extract`` keeps it with
    ``published: null``.
    """
    from ..articles.reader import NO_DATE_NOTE
    from ..common import Skip

    files: list[SetupFile] = []
    skips: list[Skip] = []
    for result in iter_articles(paths, price_lookup, config):
        if result.setup_file is not None and result.setup_file.article.published is None:
            skips.append(Skip(item=str(result.path), reason=f"{result.path}: {NO_DATE_NOTE}", kind="article"))
        elif result.setup_file is not None:
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
        "published_note": meta.published_note,
        "stance": meta.stance,
        "stance_basis": meta.stance_basis,
        "pulse": meta.pulse,
        "threat": meta.threat,
        "subject": list(meta.subject),
        "setups": setups,
        "watch": watch,
    }


@dataclasses.dataclass(frozen=True)
class JsonLine:
    """One input of ``extract --json``: its JSON text (one line), or why it was skipped."""

    path: Path
    text: str | None = None
    skipped: str | None = None
    warnings: tuple[str, ...] = ()


def extract_json_lines(paths: Iterable[Path], price_lookup: PriceLookup | None = None, config=None,
                       published: dt.datetime | dt.date | None = None) -> Iterator[JsonLine]:
    """One :class:`JsonLine` per input, in input order, as each article is read (nothing is printed)."""
    for result in iter_articles(paths, price_lookup, config, published):
        if result.setup_file is None:
            yield JsonLine(result.path, skipped=result.error or f"{result.path}: unreadable")
        else:
            yield JsonLine(result.path, text=json.dumps(article_json(result.setup_file), ensure_ascii=False),
                           warnings=tuple(result.warnings))


# ------------------------------------------------------------------------------------------ to files
@dataclasses.dataclass
class ExtractSummary:
    """What ``backtest extract`` did: files written, unchanged, kept (edited by a person), failures.

    ``failed`` are inputs that could not be read or extracted; ``unwritten`` are articles whose setup file
    could not be written (disk full, permissions, ...): both one line each, naming the file.
    """

    out_dir: Path
    written: list[Path] = dataclasses.field(default_factory=list)
    unchanged: list[Path] = dataclasses.field(default_factory=list)
    kept: list[Path] = dataclasses.field(default_factory=list)
    failed: list[str] = dataclasses.field(default_factory=list)
    unwritten: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    articles: int = 0
    setups: int = 0
    unresolved: int = 0
    undated: int = 0
    watch: int = 0

    @property
    def exit_code(self) -> int:
        """1 when a setup file could not be written or no input could be read; else 0 (docs/errors.md)."""
        if self.unwritten or (self.failed and not self.written and not self.unchanged and not self.kept):
            return 1
        return 0

    def render(self) -> str:
        from ..common import printable

        lines = [
            f"articles: {self.articles} read, {len(self.failed)} skipped; setups: {self.setups} "
            f"({self.unresolved} unresolved); watch levels: {self.watch}; undated: {self.undated}; "
            f"warnings: {len(self.warnings)}",
            f"files in {printable(self.out_dir)}: {len(self.written)} written, {len(self.unchanged)} unchanged, "
            f"{len(self.kept)} kept (edited by hand)" + (f", {len(self.unwritten)} NOT written" if self.unwritten else ""),
        ]
        lines += [f"  written    {printable(p)}" for p in self.written]
        lines += [f"  kept       {printable(p)} (edited since generated; --force to overwrite)" for p in self.kept]
        lines += [f"  skipped    {printable(reason)}" for reason in self.failed]
        lines += [f"  failed     {printable(reason)}" for reason in self.unwritten]
        lines += [f"  warning    {printable(w)}" for w in self.warnings]
        return "\n".join(lines)


def extract_to_dir(paths: Iterable[Path], out_dir: Path, force: bool = False,
                   price_lookup: PriceLookup | None = None, config=None,
                   published: dt.datetime | dt.date | None = None) -> ExtractSummary:
    """Write one setup file per article under ``out_dir`` (see module docstring and :func:`setup_file_name`)."""
    from ..setups.writer import is_edited

    out_dir = Path(out_dir)
    summary = ExtractSummary(out_dir=out_dir)
    names = _Names(out_dir)
    made = False
    for result in iter_articles(paths, price_lookup, config, published, render=True, keep=False):
        tally = result.tally
        if tally is None:
            summary.failed.append(result.error or f"{result.path}: unreadable")
            continue
        summary.articles += 1
        summary.setups += tally.setups
        summary.unresolved += tally.unresolved
        summary.undated += tally.undated
        summary.watch += tally.watch
        summary.warnings.extend(f"{tally.article_id}: {w}" if not w.startswith(tally.article_id) else w
                                for w in result.warnings)
        text = result.text
        try:
            target = names.path_for(tally.article_id)
            fresh = not names.may_exist(target.name)  # not in the folder when the run began
            if not fresh and target.exists():
                old = target.read_text(encoding="utf-8", errors="replace")
                if old == text:
                    summary.unchanged.append(target)
                    continue
                if is_edited(old) and not force:
                    summary.kept.append(target)
                    continue
            if not made:  # once per run (not a mkdir and a stat per file); again if the folder vanished
                out_dir.mkdir(parents=True, exist_ok=True)
                made = True
            try:
                _atomic_write(target, text, fresh=fresh)
            except FileNotFoundError:
                out_dir.mkdir(parents=True, exist_ok=True)
                _atomic_write(target, text, fresh=fresh)
        except _Appeared:  # someone else made that file since the folder was listed: never replace it
            summary.unwritten.append(f"{target}: appeared while this run was writing (another process?); left as "
                                     f"it is, the setup file for {result.path} was not written: run again")
            continue
        except OSError as exc:
            where = exc.filename or (out_dir / setup_file_name(tally.article_id))
            summary.unwritten.append(f"{where}: cannot write the setup file for {result.path} "
                                     f"({exc.strerror or exc}); check the folder, its permissions and free space")
            continue
        summary.written.append(target)
    return summary


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,119}")


def setup_file_name(article_id: str, disambiguate: bool = False) -> str:
    """The setup file name for an article id: ``<id>.yaml`` when the id is a plain, short file name.

    Other ids (spaces, other characters, over 120 characters) and ids that clash with another article's
    file (``disambiguate``: "A" and "a" on a case-insensitive disk) get a readable slug plus a hash of the
    exact id, so two different ids never share a file: ``a b`` → ``a-b-3f0c…yaml`` next to ``a-b.yaml``.
    """
    if _SAFE_NAME.fullmatch(article_id) and not disambiguate:
        return f"{article_id}.yaml"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", article_id).strip("-._")[:80] or "article"
    digest = hashlib.sha256(article_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}-{digest}.yaml"


class _Names:
    """Setup file paths for one run: never two articles in one file, never an article into another's file."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.taken: dict[str, str] = {}  # case-folded file name -> article id
        # The folder's file names when the run starts, case-folded (a case-insensitive disk opens "A.yaml"
        # for "a.yaml"): a name not among them needs no open() to see whose file it is, nor a stat() to see
        # whether it is there. One listing instead of a failed open and a stat per article in a new folder.
        try:
            self.present: set[str] | None = {name.casefold() for name in os.listdir(out_dir)}
        except FileNotFoundError:
            self.present = set()
        except OSError:  # unreadable folder: look at every file, as before
            self.present = None

    def may_exist(self, name: str) -> bool:
        """False when no file of that name (in any case) was in the folder at the start of the run."""
        return self.present is None or name.casefold() in self.present

    def path_for(self, article_id: str) -> Path:
        name = setup_file_name(article_id)
        owner = self.taken.get(name.casefold())
        if (owner is not None and owner != article_id) or (
                self.may_exist(name) and _owned_by_other(self.out_dir / name, article_id)):
            name = setup_file_name(article_id, disambiguate=True)
        self.taken[name.casefold()] = article_id
        return self.out_dir / name


_ARTICLE_ID_LINE = re.compile(r"^article:\s*\n\s+id:\s*(?P<id>.+?)\s*$", re.M)


def _owned_by_other(path: Path, article_id: str) -> bool:
    """True when ``path`` holds a setup file of a *different* article (e.g. "A.yaml" when writing "a")."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    m = _ARTICLE_ID_LINE.search(head)
    if not m:
        return False
    import yaml

    try:
        found = yaml.safe_load(f"id: {m['id']}").get("id")
    except yaml.YAMLError:
        return False
    return str(found) != article_id


def _atomic_write(path: Path, text: str, *, fresh: bool = False) -> None:
    """Write via a temporary file in the same directory, so an interrupted run leaves no half file.

    The temporary file is created with ``O_EXCL`` (never someone else's file) and mode 0666, which the
    kernel narrows by the umask: the setup file gets an ordinary file's mode (mkstemp's 0600 would need a
    chmod). One ``open``, one ``write`` of the UTF-8 bytes, one ``rename``: cheap enough per article.

    ``fresh``: the file was not there when the run listed the folder, so nobody has looked at what might be
    there now; it is published with ``link`` (which fails, :class:`_Appeared`, instead of replacing a file
    that appeared meanwhile), or, where the disk has no hard links, renamed only if still absent.
    """
    data = text.encode("utf-8")
    if fresh and _publish_unnamed(path, data):
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    # `tmp` names the temporary file from just before it is made, so an interrupt (Ctrl-C, SIGTERM) that lands
    # between the open and the assignment of its result still removes it: it was left behind about one
    # run in six once the extraction ran in other processes and this one mostly wrote. The name holds this
    # process's id and a counter, and one already there (a leftover of an earlier process with the same
    # id) is skipped before the open: a file of that name is then this call's or none.
    tmp = fd = None
    try:
        for attempt in range(100):
            name = path.parent / f".{path.name[:40]}.{os.getpid()}.{next(_TMP_COUNTER)}.tmp"
            if os.path.lexists(name):
                continue
            tmp = name
            try:
                fd = os.open(name, flags, 0o666)
                break
            except FileExistsError:  # made since the check (another process with this id?): not ours
                tmp = None
                if attempt == 99:
                    raise
        else:
            raise FileExistsError(errno.EEXIST, "no free temporary file name", str(path))
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        if fresh:
            _publish_new(tmp, path)
        else:
            os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        raise


#: Folders whose disk makes no unnamed files (O_TMPFILE): written through a named temporary file.
_NO_UNNAMED: set[str] = set()
#: This process's /proc/self/fd, opened once (None: not yet, or not there).
_PROC_FD: list[int | None] = [None]


def _proc_fd() -> int:
    if _PROC_FD[0] is None:
        _PROC_FD[0] = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return _PROC_FD[0]


def _forget_proc_fd() -> None:  # a forked process has the parent's descriptor, which reads the parent's table
    _PROC_FD[0] = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_proc_fd)


def _publish_unnamed(path: Path, data: bytes) -> bool:
    """A new setup file written as an unnamed file of the folder (Linux's O_TMPFILE) and given its name with
    ``linkat``: the name appears with the whole file, a file that appeared meanwhile is never replaced
    (:class:`_Appeared`), and nothing is left behind when the run is interrupted, even killed (the kernel drops
    an unnamed file with its last descriptor). Four system calls, no temporary name to look up and remove.

    False where that cannot be done (no O_TMPFILE, a disk without unnamed files, no /proc): then the named
    temporary file of :func:`_atomic_write`, which also reports any other error as before."""
    folder = os.path.dirname(path) or "."
    if not hasattr(os, "O_TMPFILE") or folder in _NO_UNNAMED:
        return False
    try:
        fd = os.open(folder, os.O_WRONLY | os.O_TMPFILE | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            _NO_UNNAMED.add(folder)
        return False
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        try:
            os.link(str(fd), path, src_dir_fd=_proc_fd(), follow_symlinks=True)
        except FileExistsError:
            raise _Appeared(errno.EEXIST, "File exists", str(path)) from None
        except OSError:  # (no /proc, or linkat refused: the named way does it)
            _NO_UNNAMED.add(folder)
            return False
    finally:
        os.close(fd)
    return True


class _Appeared(FileExistsError):
    """A setup file that was not in the folder when the run began exists now: it is not the run's to replace."""


def _publish_new(tmp: Path, path: Path) -> None:
    """Give ``tmp`` the name ``path`` only if no file has it (:class:`_Appeared` otherwise)."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise _Appeared(errno.EEXIST, "File exists", str(path)) from None
    except OSError:  # no hard links here (some network and FAT disks): the narrow check-then-rename
        if os.path.lexists(path):
            raise _Appeared(errno.EEXIST, "File exists", str(path)) from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


_TMP_COUNTER = itertools.count()
