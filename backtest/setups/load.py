"""Load setup files (YAML under ``setups/``): one problem = one :class:`Skip`, the rest still loads.

The loader is forgiving in the sense the project needs: a bad file, a bad setup inside a good file or a
duplicate id is recorded as a :class:`~backtest.common.Skip` with a one-line reason of the form
``setups/foo.yaml:12: setups[1].stopp: unknown field (remove it or fix the spelling)`` and everything
else is still loaded. Only "there is nothing to load at all" is an error (:class:`UsageError`).

**One parse per file, through libyaml.** Each file is read once (at most :data:`MAX_SETUP_BYTES`) and
parsed by libyaml's C parser (``yaml.CSafeLoader``). A plain document (mappings, sequences, core-tag
scalars, no alias: nearly every setup file) is constructed straight from libyaml's event stream, without a
node tree; anything else is composed into a node tree, checked, then constructed from that same tree. The
node tree gives the line numbers: pydantic reports *where* in the data a field is wrong
(``("setups", 1, "stopp")``) and the tree says on which line that is, so a plain file whose message needs a
line has its tree composed then, once (errors are rare; a valid file never needs it). A file libyaml
refuses is parsed again by PyYAML's pure-Python parser, only to word the error the way PyYAML does (and to
accept the rare document only PyYAML reads).

**Limits before work** (a small file must not cost a long time): files larger than
:data:`MAX_SETUP_BYTES` are refused unread; nesting deeper than :data:`MAX_DEPTH` levels, aliases that
would expand to more than :data:`MAX_NODES` values (an "alias bomb": the size is computed on the node
graph, never by expanding it) and recursive aliases are refused before anything is constructed; an
article file named by ``article.path`` (read for its title) is read only up to the article reader's limit.

Validation is piecewise on purpose: the ``article:`` block is validated first (without it nothing in the
file can be evaluated, so a bad article block skips the file), then every setup and every watch level on
its own, so one typo sinks one setup, not the other five.

:func:`load_table` is what ``backtest run`` calls: setup files to the engine's
:class:`~backtest.setups.table.SetupTable`, through the parsed-setup cache
(:mod:`backtest.setups.cache`) so that an unchanged file is neither parsed nor validated again.
:func:`load_setups` returns the validated :class:`SetupFile` objects instead (for scripts and tests).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from ..articles.reader import ARTICLE_SUFFIXES
from ..common import REPORT_MARKER, Skip, is_report_folder
from ..errors import UsageError
from .model import FORMAT_VERSION, ArticleMeta, Setup, SetupFile, WatchLevel
from .table import ARTICLE_SCHEMA, SETUP_SCHEMA, SetupTable, decode_frame, encode_frame, file_rows

SETUP_SUFFIXES = (".yaml", ".yml")
_TOP_LEVEL = set(SetupFile.model_fields)
#: Largest setup file read (no real setup file is this big: one per article).
MAX_SETUP_BYTES = 2 * 1024 * 1024
#: Deepest nesting accepted (a setup file needs about 5 levels: file, setups, setup, entry, level).
MAX_DEPTH = 32
#: Most values a file may expand to, aliases counted as often as they are used (a setup has about 40).
MAX_NODES = 200_000

_ARTICLE_GLOBS = ", ".join(f"*{suffix}" for suffix in ARTICLE_SUFFIXES)


@dataclasses.dataclass
class Inputs:
    """What a SETUPS path holds: setup files, raw articles, and the folders that could not be searched."""

    setup_paths: list[Path]
    article_paths: list[Path]
    skips: list[Skip]


def discover(path: Path) -> Inputs:
    """The setup files and articles under ``path`` (a directory, searched recursively, or one file).

    Files are listed in sorted path order, so "the first" of two duplicate ids is well defined. A
    sub-folder that is a symbolic link (not followed) or cannot be read is reported as a skip, never
    passed over in silence; report folders this tool wrote are left out. Raises :class:`UsageError`
    for a path that does not exist or an unsupported file type.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError("no such file or directory", where=str(path), hint="give a setups directory or a setup file")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in SETUP_SUFFIXES:
            return Inputs([path], [], [])
        if suffix in ARTICLE_SUFFIXES:
            return Inputs([], [path], [])
        raise UsageError(
            f"unsupported file type {suffix or '(none)'}",
            where=str(path),
            hint=f"give a setup file (*.yaml, *.yml), an article ({_ARTICLE_GLOBS}) or a directory",
        )
    found, skips = _walk_files(path)
    files = sorted(p for p in found if not p.name.startswith("."))
    return Inputs([p for p in files if p.suffix.lower() in SETUP_SUFFIXES],
                  [p for p in files if p.suffix.lower() in ARTICLE_SUFFIXES], skips)


def no_inputs_error(path: Path) -> UsageError:
    return UsageError(
        f"no setup files (*.yaml, *.yml) or articles ({_ARTICLE_GLOBS}) found",
        where=str(path),
        hint="run `backtest extract ARTICLES --out setups/` first or point at the right directory",
    )


def load_setups(path: Path) -> tuple[list[SetupFile], list[Skip]]:
    """Every valid setup file under ``path`` (a directory or one file) and a Skip for every problem.

    Raises :class:`UsageError` when the path holds no setup files (raw articles are extracted by the run,
    :func:`backtest.run.run`, not here).
    """
    inputs = discover(Path(path))
    if not inputs.setup_paths:
        raise no_inputs_error(Path(path))
    loaded: list[tuple[SetupFile, Path]] = []
    skips: list[Skip] = list(inputs.skips)
    for file_path in inputs.setup_paths:
        setup_file, file_skips = load_setup_file(file_path)
        skips.extend(file_skips)
        if setup_file is not None:
            loaded.append((setup_file, file_path))
    kept, more = _drop_duplicates([(file_rows(f, p), p) for f, p in loaded])
    by_path = {p: f for f, p in loaded}
    files = []
    for (article, setups), file_path in kept:
        setup_file = by_path[file_path]
        ids = set(setups["setup_id"])
        if len(ids) != len(setup_file.setups):
            setup_file = setup_file.model_copy(update={"setups": [s for s in setup_file.setups if s.id in ids]})
        files.append(setup_file)
    return files, skips + more


@dataclasses.dataclass
class Loaded:
    """:func:`load_table`'s result: the table, every skip, and how many files came from the cache."""

    table: SetupTable
    skips: list[Skip]
    files: int
    cached: int


def load_table(paths: Iterable[Path], *, cache=None, extra_skips: Iterable[Skip] = ()) -> Loaded:
    """The setup table of the setup files at ``paths`` (sorted), through ``cache`` when given.

    ``cache`` is a :class:`backtest.setups.cache.ParsedSetupCache`. Two levels, both keyed by content:

    * **the whole corpus**: when the same list of paths was loaded before and every file's stat signature
      (size, mtime, ctime, inode, device: :func:`~backtest.setups.cache.stat_signature`) is unchanged and
      was recorded safely after its last change, the stored table and skips are used as they are, without
      reading a file (git's index does the same). A file whose signature changed, or was *racy* when
      recorded, is read and hashed again: same bytes (a ``touch``), and the snapshot still holds;
    * **each file**: otherwise every file whose bytes (and path, and the tool's version and schemas) are
      unchanged since it was last parsed is taken from the per-file entries, with the same rows and the
      same skips, and only the others are parsed and validated; the new snapshot is stored.

    The result is the same as a cold load in every case (``tests/test_setup_cache.py``).
    """
    paths = list(paths)
    extra = list(extra_skips)
    if cache is None:
        return _load_files(paths, None, extra, {})
    from .cache import RACY_NS, CorpusSnapshot, sources_unchanged, stat_signature

    began = time.time_ns()
    corpus_key = cache.corpus_key(paths)
    snapshot = cache.get_corpus(corpus_key)
    known: dict[int, tuple[str, tuple]] = {}  # file -> (content key, signature), without reading it
    rehashed: dict[int, tuple] = {}  # file -> what _read_stat read, when its signature vouched for nothing
    try:
        if snapshot is not None and len(snapshot.files) == len(paths):
            loaded = _from_snapshot(paths, snapshot, cache, extra, known, rehashed, stat_signature)
            if loaded is not None and sources_unchanged(snapshot.sources):
                if rehashed:  # touched, or racy when recorded: store their new signatures
                    files = [(str(p), *known[i][1], known[i][0], _trusted(known[i][1], began, RACY_NS))
                             if i in rehashed else f for i, (p, f) in enumerate(zip(paths, snapshot.files))]
                    cache.put_corpus(corpus_key, dataclasses.replace(snapshot, files=files))
                return loaded
            known = {i: k for i, k in known.items() if k[0] is not None and i not in rehashed}
        files: list[tuple] = []
        sources: list[list] = []
        loaded = _load_files(paths, cache, extra, known, files=files, sources=sources, fresh=rehashed)
        cache.put_corpus(corpus_key, CorpusSnapshot(
            files=[(str(p), *sig, key, _trusted(sig, began, RACY_NS)) for p, (key, sig) in zip(paths, files)],
            sources=sources, skips=[(k.item, k.reason, k.kind) for k in loaded.skips[len(extra):]],
            cached=loaded.files - sum(key is None for key, _ in files),
            articles=encode_frame(loaded.table.articles, ARTICLE_SCHEMA),
            setups=encode_frame(loaded.table.setups, SETUP_SCHEMA)))
        return loaded
    finally:
        cache.close()


def _trusted(signature: tuple, began: int, racy_ns: int) -> bool:
    """A signature may stand for the bytes only when the file's times lie safely before the run began."""
    return signature[0] >= 0 and max(signature[1], signature[2]) < began - racy_ns


_NO_SIGNATURE = (-1, -1, -1, -1, -1)


def _signature(path: Path, stat_signature) -> tuple:
    try:
        return stat_signature(os.stat(path))
    except OSError:
        return _NO_SIGNATURE


def _from_snapshot(paths: list[Path], snapshot, cache, extra: list[Skip], known: dict, rehashed: dict,
                   stat_signature) -> Loaded | None:
    """The stored load of ``paths`` when every file is provably unchanged, else None. ``known`` gets every
    file's content key and signature: the stored ones where the signature vouches for the bytes, else the
    file is read and hashed again (and ``rehashed`` keeps what was read, so it is never read twice)."""
    unchanged = True
    for i, (path, recorded) in enumerate(zip(paths, snapshot.files)):
        name, *signature, key, trusted = recorded
        if name != str(path):
            return None
        signature = tuple(signature)
        if trusted and _signature(path, stat_signature) == signature:
            known[i] = (key, signature)
            continue
        data, problem, st = _read_stat(path)
        now_key = cache.key(path, data) if problem is None else None
        known[i] = (now_key, stat_signature(st) if st is not None else _NO_SIGNATURE)
        rehashed[i] = (data, problem, st)
        if now_key is None or now_key != key:
            unchanged = False
    if not unchanged:
        return None
    try:
        table = SetupTable(decode_frame(snapshot.articles, ARTICLE_SCHEMA), decode_frame(snapshot.setups, SETUP_SCHEMA))
    except (ValueError, TypeError, KeyError, OSError):
        return None
    return Loaded(table, extra + [Skip(item=item, reason=reason, kind=kind) for item, reason, kind in snapshot.skips],
                  len(paths), snapshot.cached)


def _load_files(paths: list[Path], cache, extra: list[Skip], known: dict, *, files: list | None = None,
                sources: list | None = None, fresh: dict | None = None) -> Loaded:
    """Read, look up and parse file by file (see :func:`load_table`); ``known``: files whose content key
    the stat-first check already vouches for (not read unless their entry is missing), ``fresh``: files just
    read (``_read_stat``'s result). ``files`` gets each file's (content key or None, stat signature),
    ``sources`` the title sources of the entries used."""
    read: list[tuple[Path, bytes | None, str | None, tuple]] = []
    problems: dict[int, Skip] = {}
    for i, file_path in enumerate(paths):
        if i in known:
            read.append((file_path, None, *known[i]))
            continue
        data, problem, st = fresh[i] if fresh and i in fresh else _read_stat(file_path)
        signature = _stat_tuple(st)
        if problem is not None:
            problems[i] = problem
            read.append((file_path, b"", None, signature))
        else:
            read.append((file_path, data, cache.key(file_path, data) if cache is not None else None, signature))
    found = cache.get_many(k for _, _, k, _ in read if k is not None) if cache is not None else {}
    parsed = _parse_entries([(i, file_path, data) for i, (file_path, data, key, _) in enumerate(read)
                             if i not in problems and data is not None and (key is None or key not in found)])
    new: dict[str, tuple[str, dict | str]] = {}  # key -> (path, entry or its cache text)
    entries: list[tuple[tuple[dict, dict], Path]] = []
    skips: list[Skip] = list(extra)
    cached = 0
    for i, (file_path, data, key, signature) in enumerate(read):
        if i not in problems and key is not None and key not in found and data is None:  # vouched for, not stored
            data, problem, st = _read_stat(file_path)
            signature = _stat_tuple(st)
            if problem is not None:
                problems[i], key = problem, None
            else:
                key = cache.key(file_path, data)
        if files is not None:
            files.append((key if i not in problems else None, signature))
        if i in problems:
            skips.append(problems[i])
            continue
        entry = found.get(key) if key is not None else None
        if entry is None:
            entry, text = parsed[i] if i in parsed else (_entry(file_path, data), None)
            if key is not None:
                new[key] = (str(file_path), entry if text is None else text)
        else:
            cached += 1
        if sources is not None:
            sources.extend(entry["sources"])
        skips.extend(Skip(item=item, reason=reason, kind=kind) for item, reason, kind in entry["skips"])
        if entry["rows"] is not None:
            article, setups = entry["rows"]
            entries.append(((article, setups), file_path))
    if cache is not None:
        cache.put_many(new)
    kept, more = _drop_duplicates(entries)
    return Loaded(SetupTable.from_rows(rows for rows, _ in kept), skips + more, len(paths), cached)


def _entry(path: Path, data: bytes) -> dict:
    """One file's cache entry: its table rows (None when the file is refused), skips and title sources."""
    setup_file, file_skips = _parse(path, data)
    return {"rows": file_rows(setup_file, path) if setup_file is not None else None,
            "skips": [[k.item, k.reason, k.kind] for k in file_skips],
            "sources": _title_sources(setup_file, path)}


#: From this many files to parse, they are parsed by one process per core (``BACKTEST_THREADS=1``: none).
PARALLEL_PARSE_MIN = 1_000
#: Files per task sent to a parsing process.
PARSE_CHUNK = 250


def _parse_chunk(chunk: list[tuple[int, str, bytes]]) -> list[tuple[int, dict, str]]:
    """Entries of a chunk of files, each with its cache text (encoded here, on every core, not in the parent)."""
    from .cache import encode_entry

    out = []
    for i, name, data in chunk:
        entry = _entry(Path(name), data)
        out.append((i, entry, encode_entry(entry)))
    return out


def _parse_entries(todo: list[tuple[int, Path, bytes]]) -> dict[int, tuple[dict, str]]:
    """Entries of the files in ``todo``, with their cache texts, parsed on every core
    (:func:`backtest.processes.fork_map`), when there are enough of them (else {} and the caller parses
    them in order). Parsing is a pure function of (path, bytes, the article files it names), so where it
    runs does not change an entry (``tests/test_load_setups.py`` compares, a killed worker included)."""
    from ..environment import default_threads
    from ..processes import fork_map

    workers = min(default_threads(), -(-len(todo) // PARSE_CHUNK))
    if len(todo) < PARALLEL_PARSE_MIN or workers < 2:
        return {}
    chunks = [[(i, str(path), data) for i, path, data in todo[lo:lo + PARSE_CHUNK]]
              for lo in range(0, len(todo), PARSE_CHUNK)]
    return {i: (entry, text) for done in fork_map(_parse_chunk, chunks, workers) for i, entry, text in done}


def _stat_tuple(st: os.stat_result | None) -> tuple:
    from .cache import stat_signature

    return stat_signature(st) if st is not None else _NO_SIGNATURE


def tabulate(files: Iterable[tuple[SetupFile, Path]], skips: Iterable[Skip] = ()) -> Loaded:
    """The setup table of setup files already in memory (e.g. just extracted from articles), each with the
    path its messages name; duplicate ids are dropped as :func:`load_table` drops them."""
    files = list(files)
    kept, more = _drop_duplicates([(file_rows(f, p), p) for f, p in files])
    return Loaded(SetupTable.from_rows(rows for rows, _ in kept), list(skips) + more, len(files), 0)


def load_setup_file(path: Path) -> tuple[SetupFile | None, list[Skip]]:
    """One YAML file: the valid part of it (or None if nothing usable) and the skips for the rest."""
    data, problem = _read(path)
    if problem is not None:
        return None, [problem]
    return _parse(path, data)


def _read(path: Path) -> tuple[bytes | None, Skip | None]:
    """The file's bytes (read once, at most MAX_SETUP_BYTES + 1), or the skip saying why not."""
    data, problem, _ = _read_stat(path)
    return data, problem


def _read_stat(path: Path) -> tuple[bytes | None, Skip | None, os.stat_result | None]:
    """:func:`_read`, and the file's stat taken on the open file *before* reading it (so a change made while
    it is read leaves a newer signature than the one recorded)."""
    name = str(path)
    st = None
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            size = st.st_size
            # read the size the stat gave, plus one byte to see growth (read(MAX + 1) would allocate 2 MB a file)
            data = handle.read(size + 1) if size <= MAX_SETUP_BYTES else b""
            if len(data) > size:  # grew while read: the rest, up to the limit
                data += handle.read(MAX_SETUP_BYTES + 1 - len(data))
    except OSError as exc:
        return None, _file_skip(name, f"cannot read: {exc.strerror or exc}; check the path and permissions"), st
    if size > MAX_SETUP_BYTES or len(data) > MAX_SETUP_BYTES:  # huge (or grew while read): never parsed
        size = max(size, len(data))
        return None, _file_skip(name, f"file is {size / 1e6:.1f} MB, more than the "
                                      f"{MAX_SETUP_BYTES // (1024 * 1024)} MB limit for a setup file; "
                                      "check that it is a setup file (one per article)"), st
    return data, None, st


def _parse(path: Path, data: bytes) -> tuple[SetupFile | None, list[Skip]]:
    """Parse and validate one file's bytes (see the module docstring)."""
    name = str(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [_file_skip(name, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]
    root = None
    try:
        root, raw, raw_flags = _compose_and_construct(text, name)
    except _Refused as exc:
        return None, [exc.skip]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [_file_skip(f"{name}{line}", f"invalid YAML: {problem}; fix the syntax", item=name)]
    except _UNBUILDABLE as exc:  # a scalar its constructor refuses: a date that is none (2026-02-31), `!!bool maybe`
        node = _unbuildable_scalar(getattr(exc, "root", None))
        where = f"{name}:{node.start_mark.line + 1}" if node is not None else name
        if node is None or node.tag == "tag:yaml.org,2002:timestamp":
            shown = f"{node.value!r} " if node is not None else ""
            why = f" ({exc})" if isinstance(exc, ValueError) else ""  # 'day is out of range for month'
            return None, [_file_skip(where, f"{shown}is not a real date/time{why}; fix it (YYYY-MM-DD or "
                                            "2026-02-08T17:30:00Z)", item=name)]
        kind = node.tag.rsplit(":", 1)[-1]
        return None, [_file_skip(where, f"{node.value!r} is not a valid !!{kind} value; fix the value or remove "
                                        f"the !!{kind} tag", item=name)]

    def tree() -> yaml.Node | None:
        """The node tree, for line numbers: a plain document was built without one, so it is composed
        here, once, only when a message needs a line."""
        nonlocal root
        if root is None:
            root = _nodes(text, name)
        return root

    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}, not a mapping"
        return None, [_file_skip(name, f"file is {kind}; a setup file has `article:` and `setups:` blocks", item=name)]

    # YAML silently keeps the last of two equal keys (`stop: 95` ... `stop: 90`): treat that as an error,
    # for the one setup it is in, or for the whole file when it is outside the setups.
    duplicates = _duplicate_keys(tree()) if getattr(raw_flags, "repeated_keys", True) else []
    bad_setups: dict[int, str] = {}
    for loc, line in duplicates:
        where = f"{name}:{line}: {_dotted(loc)}: key appears twice in the same block; keep one"
        if len(loc) >= 3 and loc[0] == "setups" and isinstance(loc[1], int):
            bad_setups.setdefault(loc[1], where)
        else:
            return None, [_file_skip(f"{name}:{line}", f"{_dotted(loc)}: key appears twice in the same block; keep one",
                                     item=name)]

    unknown = sorted(str(k) for k in raw if k not in _TOP_LEVEL)
    if unknown:
        key = unknown[0]
        return None, [_file_skip(
            f"{name}:{_line(tree(), (key,))}",
            f"unknown top-level field {key!r}; use only {', '.join(sorted(_TOP_LEVEL))}",
            item=name,
        )]
    if raw.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        return None, [_file_skip(
            f"{name}:{_line(tree(), ('format',))}",
            f"format {raw.get('format')!r} is not supported; use format: {FORMAT_VERSION}",
            item=name,
        )]
    if "article" not in raw:
        return None, [_file_skip(name, "missing required `article:` block (id, published, ...); add it", item=name)]
    article_raw = raw["article"]
    try:
        article = ArticleMeta.model_validate(article_raw)
    except ValidationError as exc:
        return None, [Skip(item=name, reason=_describe(exc, tree(), prefix=("article",), name=name), kind="setup-file")]

    skips: list[Skip] = []
    if article.title is None:
        article.title, title_skip = _title_from_article(article, path)
        if title_skip is not None:
            skips.append(title_skip)
    setups: list[Setup] = []
    seen: dict[str, int] = {}
    raw_setups = raw.get("setups") or []
    if not isinstance(raw_setups, list):
        return None, [_file_skip(f"{name}:{_line(tree(), ('setups',))}", "`setups:` must be a list of setups", item=name)]
    for index, item in enumerate(raw_setups):
        label = _setup_label(item, index)
        if index in bad_setups:
            skips.append(Skip(item=label, reason=bad_setups[index], kind="setup"))
            continue
        try:
            setup = Setup.model_validate(item)
        except ValidationError as exc:
            reason = _describe(exc, tree(), prefix=("setups", index), name=name)
            skips.append(Skip(item=label, reason=reason, kind="setup"))
            continue
        bad_symbol = _bad_symbol(setup)
        if bad_symbol is not None:
            field, value, problem = bad_symbol
            skips.append(Skip(
                item=setup.id,
                reason=f"{name}:{_line(tree(), ('setups', index) + field)}: setups[{index}].{'.'.join(field)}: {problem}; "
                       "put the words in `instrument:` and the ticker in `symbol:`, "
                       "or set status: unresolved",
                kind="setup",
            ))
            continue
        if setup.id in seen:
            skips.append(Skip(
                item=setup.id,
                reason=f"{name}:{_line(tree(), ('setups', index, 'id'))}: setups[{index}].id: duplicate setup id "
                       f"{setup.id!r} (first at setups[{seen[setup.id]}]); give each setup its own id",
                kind="setup",
            ))
            continue
        seen[setup.id] = index
        setups.append(setup)

    watch: list[WatchLevel] = []
    raw_watch = raw.get("watch") or []
    for index, item in enumerate(raw_watch if isinstance(raw_watch, list) else []):
        try:
            watch.append(WatchLevel.model_validate(item))
        except ValidationError as exc:
            skips.append(Skip(
                item=f"{article.id}:watch[{index}]",
                reason=_describe(exc, tree(), prefix=("watch", index), name=name),
                kind="setup",
            ))
    generated = raw.get("generated")
    setup_file = SetupFile(
        article=article, setups=setups, watch=watch, generated=generated if isinstance(generated, dict) else None
    )
    return setup_file, skips


# ----------------------------------------------------------------------------------------- parsing
class _Refused(Exception):
    """A file refused before construction (too deep, an alias bomb, a recursive alias)."""

    def __init__(self, skip: Skip):
        super().__init__(skip.reason)
        self.skip = skip


class _Flags:
    """What :func:`_construct_from_events` saw on its way (None: the document was not plain; assume anything)."""

    __slots__ = ("repeated_keys",)

    def __init__(self) -> None:
        self.repeated_keys = False


class _Loader(yaml.CSafeLoader):
    """libyaml's SafeLoader with its tag resolution and scalar construction memoised. libyaml calls back into
    Python to resolve the tag of every node (a regex match per plain scalar, and two path-resolver calls per
    node): with no path resolvers registered (SafeLoader has none), a tag depends only on (kind, value,
    implicit), so one dict lookup gives the same tag, and the path-resolver calls are no-ops. Likewise the
    value of an untagged scalar depends only on (text, implicit), and every such value (str, int, float,
    bool, None, date, datetime) is immutable, so it can be shared. Files repeat their keys and most values
    (``type: stop``), so this is most of the parse's Python time."""

    _tags: dict = {}
    _values: dict = {}  # (text, implicit) -> the value of an untagged scalar (prices are not kept)
    _MAX_TAGS = 100_000  # bounds each memo (numbers vary); past it, tags are resolved as usual
    _MAX_TEXT = 64  # only short values are kept (keys, numbers, words): at most ~10 MB, whatever the files

    def resolve(self, kind, value, implicit):
        if value is not None and len(value) > self._MAX_TEXT:
            return super().resolve(kind, value, implicit)
        key = (kind, value, implicit)
        tag = self._tags.get(key)
        if tag is None:
            tag = super().resolve(kind, value, implicit)
            if len(self._tags) < self._MAX_TAGS:
                self._tags[key] = tag
        return tag

    def descend_resolver(self, current_node, current_index):
        return None

    def ascend_resolver(self):
        return None


if yaml.CSafeLoader.yaml_path_resolvers:  # pragma: no cover - someone registered a path resolver: be plain
    _Loader = yaml.CSafeLoader  # noqa: F811


def _compose_and_construct(text: str, name: str) -> tuple[yaml.Node | None, Any, "_Flags | None"]:
    """(node tree or None, Python data, flags) of one YAML document, parsed once by libyaml.

    A plain document (nearly every setup file) is constructed straight from libyaml's event stream
    (:func:`_construct_from_events`) and the node tree is not built (None: the caller composes it only when
    a message needs a line number, :func:`_nodes`). Anything else takes the node path: libyaml composes the
    tree, it is checked (:func:`_check_tree`), then constructed from that same tree; a document libyaml
    refuses goes through PyYAML's pure-Python parser (its error wording, or the rare document only it
    accepts)."""
    loader = _Loader(text)
    try:
        flags = _Flags()
        return None, _construct_from_events(loader, flags), flags
    except Exception:  # not plain, a syntax error, an impossible date, a tagged value its constructor refuses:
        pass  # the node path composes the whole document first and words its refusal or error, with its line
    finally:
        loader.dispose()
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            if "maximum nesting depth" in str(exc):  # libyaml's own bound (1,000): do not recurse in Python
                raise _Refused(_too_deep(name, exc)) from None
            return (*_pure_python(text, name), None)
        try:
            if root is None:
                return root, None, None
            _check_tree(root, name)
            return root, loader.construct_document(root), None
        except _UNBUILDABLE as exc:
            exc.root = root  # for the message: which scalar, on which line
            raise
    finally:
        loader.dispose()


def _nodes(text: str, name: str) -> yaml.Node | None:
    """The node tree of a document :func:`_compose_and_construct` built from events (for line numbers)."""
    loader = _Loader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _NotPlain(Exception):
    """The document is not plain: :func:`_construct_from_events` leaves it to the node path."""


_MAP, _SEQ, _STR = "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:str"
_SCALARS = {f"tag:yaml.org,2002:{kind}": f"construct_yaml_{kind}"
            for kind in ("str", "int", "float", "bool", "null", "timestamp")}
_EXPECT_KEY = object()  # a mapping on the stack waiting for its next key
_MISSING = object()
#: A plain scalar of digits, a point and digits (``25110.74``): SafeLoader resolves it as a float (the first
#: implicit resolver that matches it) and ``construct_yaml_float`` returns ``float(text)`` for it, so that is
#: what it is built as, without the resolver's regexes and the constructor's calls (most levels are such).
_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+\Z")


def _construct_from_events(loader: _Loader, flags: _Flags | None = None) -> Any:
    """The data of a *plain* document, built from libyaml's events without composing a node tree: one
    document of mappings, sequences and scalars of the core tags, no anchor or alias, fewer than
    :data:`MAX_DEPTH` levels and at most :data:`MAX_NODES` nodes, every key a scalar. Tags are resolved as
    libyaml's composer resolves them (an untagged or ``!`` node through ``loader.resolve``) and each scalar
    is made by PyYAML's own constructor for its tag (``construct_yaml_int`` ...), so the values are the ones
    ``construct_document`` gives (``tests/test_yaml_plain_path.py`` compares); what is skipped is the node
    objects, their marks and the constructor's generic machinery. An untagged scalar's value depends only
    on its text and implicit flags, and is immutable, so it is memoised (``_Loader._values``). Anything
    else (an alias or anchor, another tag, a second or empty document, too deep, too many nodes) raises
    :class:`_NotPlain`: the node path then builds or refuses it; a syntax error raises libyaml's error.
    ``flags.repeated_keys`` says whether some mapping wrote a key text twice (only then does the caller
    look for where)."""
    get = loader.get_event
    get()  # StreamStartEvent
    if type(get()) is not yaml.DocumentStartEvent:
        raise _NotPlain  # an empty stream: the node path says so
    values, room, short = loader._values, loader._MAX_TAGS, loader._MAX_TEXT
    scalar_event, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
    mapping_end, sequence_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
    stack: list[list] = []  # [list] for a sequence; [dict, pending key or _EXPECT_KEY, key texts, keys] for a mapping
    count, result = 0, None
    while True:
        event = get()
        kind = type(event)
        if kind is scalar_event:
            count += 1
            if event.anchor is not None or count > MAX_NODES:
                raise _NotPlain
            text, tag = event.value, event.tag
            if tag is None or tag == "!":
                memo = (text, event.implicit)
                value = values.get(memo, _MISSING)
                if value is _MISSING:
                    if event.implicit[0] and _DECIMAL.match(text):  # a price: always distinct, never kept
                        value = float(text)
                    else:
                        value = _scalar(loader, loader.resolve(yaml.ScalarNode, text, event.implicit), text)
                        if len(text) <= short and len(values) < room:
                            values[memo] = value
            else:
                value = _scalar(loader, tag, text)
        elif kind is mapping_start or kind is sequence_start:
            count += 1
            if event.anchor is not None or (stack and len(stack[-1]) > 1 and stack[-1][1] is _EXPECT_KEY):
                raise _NotPlain  # an anchor, or a key that is not a scalar
            mapping = kind is mapping_start
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(yaml.MappingNode if mapping else yaml.SequenceNode, None, event.implicit)
            if tag != (_MAP if mapping else _SEQ):
                raise _NotPlain
            stack.append([{}, _EXPECT_KEY, set(), 0] if mapping else [[]])
            if len(stack) >= MAX_DEPTH or count > MAX_NODES:  # (its scalars would lie deeper than MAX_DEPTH)
                raise _NotPlain
            continue
        elif kind is mapping_end:
            top = stack.pop()
            if len(top[2]) != top[3] and flags is not None:
                flags.repeated_keys = True
            value = top[0]
        elif kind is sequence_end:
            value = stack.pop()[0]
        elif kind is yaml.DocumentEndEvent:
            if type(get()) is not yaml.StreamEndEvent:
                raise _NotPlain  # a second document: the node path refuses it
            return result
        else:  # an alias
            raise _NotPlain
        if not stack:
            result = value
            continue
        top = stack[-1]
        if len(top) == 1:  # a sequence
            top[0].append(value)
        elif top[1] is _EXPECT_KEY:
            top[2].add(event.value)
            top[3] += 1
            top[1] = value
        else:
            top[0][top[1]] = value
            top[1] = _EXPECT_KEY


def _scalar(loader: _Loader, tag: str, text: str) -> Any:
    """The value of one scalar of a core tag (:data:`_SCALARS`), as PyYAML's constructor for it makes it."""
    if tag == _STR:  # construct_yaml_str's value, without its two calls
        return text
    method = _SCALARS.get(tag)
    if method is None:
        raise _NotPlain
    return getattr(loader, method)(yaml.ScalarNode(tag, text))


def _pure_python(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except RecursionError:
            raise _Refused(_file_skip(name, f"YAML nests deeper than {MAX_DEPTH} levels; a setup file needs about 5 "
                                            "(check the indentation and brackets)")) from None
        _check_tree(root, name)
        try:
            return root, loader.construct_document(root) if root is not None else None
        except _UNBUILDABLE as exc:
            exc.root = root
            raise
    finally:
        loader.dispose()


def _too_deep(name: str, exc: yaml.YAMLError) -> Skip:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"{name}:{mark.line + 1}" if mark is not None else name
    return _file_skip(where, f"YAML nests deeper than {MAX_DEPTH} levels; a setup file needs about 5 "
                             "(check the indentation and brackets)", item=name)


def _check_tree(root: yaml.Node | None, name: str) -> None:
    """Refuse (:class:`_Refused`) a node tree that nests deeper than :data:`MAX_DEPTH`, whose aliases would
    expand to more than :data:`MAX_NODES` values, or that refers to itself. Linear in the number of
    distinct nodes: an alias is a node met again, its expanded size is computed once and reused."""
    if root is None:
        return
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node)
            size[key] = 1 + sum(size[id(c)] for c in children)
            if size[key] > MAX_NODES:
                raise _Refused(_file_skip(f"{name}:{node.start_mark.line + 1}",
                                          f"YAML aliases expand to more than {MAX_NODES:,} values (an alias bomb?); "
                                          "write the values out instead of repeating aliases", item=name))
            continue
        if key in size:
            continue
        if key in on_path:
            raise _Refused(_file_skip(f"{name}:{node.start_mark.line + 1}",
                                      "a YAML alias refers to the block it is in (recursive); write the values out",
                                      item=name))
        if depth > MAX_DEPTH:
            raise _Refused(_file_skip(f"{name}:{node.start_mark.line + 1}",
                                      f"YAML nests deeper than {MAX_DEPTH} levels; a setup file needs about 5 "
                                      "(check the indentation and brackets)", item=name))
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            if id(child) not in size:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


# ----------------------------------------------------------------------------------------- helpers
def _title_candidates(article_path: str, setup_path: Path) -> list[Path]:
    """Where ``article.path`` may point: as written, beside the setup file, or one folder up."""
    return [Path(article_path), setup_path.parent / article_path, setup_path.parent.parent / article_path]


@dataclasses.dataclass(frozen=True)
class ArticleFile:
    """What :func:`article_file` found for an ``article.path``: the file's bytes when it is at hand and
    unchanged, else why not (``problem``: ``no-path``, ``missing``, ``too-large`` or ``changed``)."""

    data: bytes | None
    path: Path | None = None
    problem: str | None = None
    size: int = 0


def article_file(article_path: str | None, sha256: str | None, setup_path: Path) -> ArticleFile:
    """The article file named by ``article.path`` of the setup file at ``setup_path`` (as written, beside the
    setup file, or one folder up: the first that exists), read up to the article reader's limit, and
    its bytes only when their sha256 is ``sha256`` (any bytes when ``sha256`` is None).

    The one rule for reading an article back from a setup file: the title (:func:`_title_from_article`)
    and the quote of a call (:mod:`backtest.setups.quotes`) both come through here.
    """
    from ..articles.reader import MAX_BYTES

    if not article_path:
        return ArticleFile(None, problem="no-path")
    for candidate in _title_candidates(article_path, Path(setup_path)):
        try:
            if not candidate.is_file():
                continue
            size = candidate.stat().st_size
            if size > MAX_BYTES:
                return ArticleFile(None, candidate, "too-large", size)
            with open(candidate, "rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError:
            continue
        if len(data) > MAX_BYTES:
            return ArticleFile(None, candidate, "too-large", len(data))
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            return ArticleFile(None, candidate, "changed", len(data))
        return ArticleFile(data, candidate, None, len(data))
    return ArticleFile(None, problem="missing")


def _title_from_article(article: ArticleMeta, setup_path: Path) -> tuple[str | None, Skip | None]:
    """The article's title, read from its file when it is at hand and unchanged (sha256 matches), and a
    skip when that file is too large to read (the setups are evaluated all the same).

    Setup files do not carry third-party text; reports still want the headline.
    """
    from ..articles.reader import MAX_BYTES, parse_article_bytes
    from ..errors import ArticleError

    found = article_file(article.path, article.sha256, setup_path)
    if found.problem == "too-large":
        candidate = found.path
        return None, Skip(item=str(candidate), kind="article", reason=(
            f"{candidate}: article file (article.path of {setup_path}) is {found.size / 1e6:.1f} MB, more than the "
            f"{MAX_BYTES // (1024 * 1024)} MB limit for an article; its title is not read (the setups are "
            "still evaluated)"))
    if found.data is None:
        return None, None
    try:
        return parse_article_bytes(found.data, found.path.stem, str(found.path)).title, None
    except ArticleError:
        return None, None


def title_sources(article_path: str | None, setup_path: Path) -> list[list]:
    """(path, size, mtime) of every file the title could come from: what the cache checks on a hit."""
    if not article_path:
        return []
    out = []
    for candidate in _title_candidates(article_path, setup_path):
        try:
            st = candidate.stat()
            out.append([str(candidate), st.st_size, st.st_mtime_ns])
        except OSError:
            out.append([str(candidate), -1, -1])
    return out


def _title_sources(setup_file: SetupFile | None, path: Path) -> list[list]:
    return title_sources(setup_file.article.path if setup_file is not None else None, path)


def _walk_files(root: Path) -> tuple[list[Path], list[Skip]]:
    """Files under ``root``, recursively, leaving out report folders this tool wrote (``--out`` inside an
    articles or setups folder must not be read back as input); a sub-folder that is a symbolic link or
    cannot be read is a skip (never silently left out). One ``scandir`` per folder, no ``stat`` per file."""
    out: list[Path] = []
    skips: list[Skip] = []
    pending = [str(root)]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as error:
            skips.append(Skip(item=folder, kind="setup-file", reason=(
                f"{folder}: cannot read this folder ({error.strerror or error}); its files were not loaded; "
                "check its permissions")))
            continue
        if any(e.name == REPORT_MARKER for e in entries) and is_report_folder(Path(folder)):
            continue
        subfolders = []
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                elif entry.is_symlink() and entry.is_dir():
                    skips.append(Skip(item=entry.path, kind="setup-file", reason=(
                        f"{entry.path}: is a symbolic link to a folder, which is not followed; its files were not "
                        "loaded (give the real folder as SETUPS, or copy the files in)")))
                elif entry.is_file():
                    out.append(Path(entry.path))
            except OSError:
                continue
        pending.extend(reversed(subfolders))  # depth first, in name order
    return out, skips


def _drop_duplicates(loaded: Iterable[tuple[tuple[dict, dict], Path]]) -> tuple[list, list[Skip]]:
    """Keep the first file per article id and the first setup per setup id (across files).

    ``loaded``: ((article row, setup columns), path) per file; returns the kept ones and a skip per drop.
    """
    kept: list = []
    skips: list[Skip] = []
    article_owner: dict[str, Path] = {}
    setup_owner: dict[str, Path] = {}
    for (article, setups), path in loaded:
        article_id = article["article_id"]
        if article_id in article_owner:
            skips.append(Skip(
                item=str(path),
                reason=f"{path}: article.id: duplicate article id {article_id!r}, already in {article_owner[article_id]}; "
                       "keep one file per article",
                kind="setup-file",
            ))
            continue
        article_owner[article_id] = path
        keep = []
        for index, setup_id in enumerate(setups["setup_id"]):
            if setup_id in setup_owner:
                skips.append(Skip(
                    item=setup_id,
                    reason=f"{path}: setup {setup_id!r}: duplicate setup id, already in {setup_owner[setup_id]}; "
                           "rename one of them (the first one is kept)",
                    kind="setup",
                ))
                continue
            setup_owner[setup_id] = path
            keep.append(index)
        if len(keep) != len(setups["setup_id"]):
            setups = {name: [values[i] for i in keep] for name, values in setups.items() if values}
        kept.append(((article, setups), path))
    return kept, skips


def _bad_symbol(setup: Setup) -> tuple[tuple[str, ...], str, str] | None:
    """(field path, value, problem) of the first symbol that cannot be a ticker, else None.

    Caught here, with the file and line, rather than later as a data-layer miss that names no file.
    """
    from ..data.symbols import normalize_symbol

    fields = [(("symbol",), setup.symbol)]
    if setup.kind == "pair":
        fields = [((leg, "symbol"), getattr(setup, leg).symbol) for leg in ("long", "short")]
    for field, value in fields:
        if value is None:
            continue
        try:
            normalize_symbol(value)
        except ValueError as exc:
            return field, value, str(exc)
    return None


# What PyYAML's constructors raise for a scalar they refuse: ValueError for a date that is none
# (2026-02-31) or `!!float abc`; KeyError for `!!bool maybe`; IndexError for `!!int ''`; AttributeError for
# `!!timestamp x`. Not YAMLError, so each is caught by name and worded by `_unbuildable_scalar`'s node.
_UNBUILDABLE = (ValueError, KeyError, IndexError, AttributeError, TypeError)


def _unbuildable_scalar(node: yaml.Node | None) -> yaml.ScalarNode | None:
    """The first scalar whose constructor refuses it (``2026-02-31``, ``!!bool maybe``), if any."""
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        loader = yaml.SafeLoader("")
        try:
            loader.construct_object(node)
        except yaml.YAMLError:
            return None  # an unknown tag: worded by the YAML error path, not here
        except _UNBUILDABLE:
            return node
        finally:
            loader.dispose()
        return None
    children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
    for child in children:
        found = _unbuildable_scalar(child)
        if found is not None:
            return found
    return None


def _file_skip(where: str, what: str, item: str | None = None) -> Skip:
    return Skip(item=item or where, reason=f"{where}: {what}", kind="setup-file")


def _setup_label(item: Any, index: int) -> str:
    if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]:
        return item["id"]
    return f"setups[{index}]"


def _describe(exc: ValidationError, root: yaml.Node | None, *, prefix: tuple, name: str) -> str:
    """The first pydantic error as ``file:line: field.path: message (what to do)``."""
    error = exc.errors()[0]
    loc = prefix + tuple(error.get("loc", ()))
    field = _dotted(loc)
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        what = "unknown field (remove it or fix the spelling; see docs/setup-format.md)"
    elif kind == "missing":
        what = "required field is missing; add it"
    else:
        message = error.get("msg", "invalid value").removeprefix("Value error, ")
        value = error.get("input")
        shown = f" (got {value!r})" if isinstance(value, (str, int, float, bool)) and kind != "value_error" else ""
        what = f"{message}{shown}; fix the value"
    more = len(exc.errors()) - 1
    if more:
        what += f" [+{more} more problem{'s' if more > 1 else ''} in this item]"
    return f"{name}:{_line(root, loc)}: {field}: {what}"


def _duplicate_keys(node, loc: tuple = ()) -> list[tuple[tuple, int]]:
    """``(path of the repeated key, its 1-based line)`` for every key repeated within one mapping."""
    found: list[tuple[tuple, int]] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen:
                found.append((loc + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            found += _duplicate_keys(value_node, loc + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            found += _duplicate_keys(item, loc + (index,))
    return found


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line(root: yaml.Node | None, loc: tuple) -> int:
    """1-based line of the deepest YAML node on ``loc`` (the key itself for mapping entries)."""
    node = root
    line = (root.start_mark.line + 1) if root is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    node = value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
