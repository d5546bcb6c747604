"""Load setup files (YAML under ``setups/``) into :class:`SetupFile` objects, one problem = one :class:`Skip`.

The loader is forgiving in the sense the project needs: a bad file, a bad setup inside a good file or a
duplicate id is recorded as a :class:`backtest.engine.ledger.Skip` with a one-line reason of the form
``setups/foo.yaml:12: setups[1].stopp: unknown field (remove it or fix the spelling)`` and everything
else is still loaded. Only "there is nothing to load at all" is an error (:class:`UsageError`).

Line numbers come from the YAML node tree (``yaml.compose``): pydantic reports *where* in the data a
field is wrong (``("setups", 1, "stopp")``) and the node tree says on which line that is.

Validation is piecewise on purpose: the ``article:`` block is validated first (without it nothing in the
file can be evaluated, so a bad article block skips the file), then every setup and every watch level on
its own, so one typo sinks one setup, not the other five.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from ..articles.reader import ARTICLE_SUFFIXES
from ..common import REPORT_MARKER, Skip, is_report_folder
from ..errors import UsageError
from .model import FORMAT_VERSION, ArticleMeta, Setup, SetupFile, WatchLevel

SETUP_SUFFIXES = (".yaml", ".yml")
_TOP_LEVEL = set(SetupFile.model_fields)
MAX_SETUP_BYTES = 2 * 1024 * 1024


_ARTICLE_GLOBS = ", ".join(f"*{suffix}" for suffix in ARTICLE_SUFFIXES)

def load_setups(path: Path, *, config=None) -> tuple[list[SetupFile], list[Skip]]:
    """Every valid setup file under ``path`` (a directory or one file) and a Skip for every problem.

    Files are read in sorted path order, so "the first" of two duplicate ids is well defined.
    Raw articles (:data:`~backtest.articles.reader.ARTICLE_SUFFIXES`) are handed to ``backtest.setups.api.extract_setup_files`` when
    the path holds no setup YAML (``config`` is passed on for their price look-ups). Raises :class:`UsageError` when there is nothing to load.
    """
    path = Path(path)
    if not path.exists():
        raise UsageError("no such file or directory", where=str(path), hint="give a setups directory or a setup file")
    setup_paths, article_paths = _discover(path)
    if not setup_paths and article_paths:
        from ..extraction.batch import extract_setup_files  # the extraction stage; only needed for raw articles

        files, skips = extract_setup_files(article_paths, config=config)
        return _drop_duplicates([(f, Path(f.article.path or f.article.id)) for f in files], list(skips))
    if not setup_paths:
        raise UsageError(
            f"no setup files (*.yaml, *.yml) or articles ({_ARTICLE_GLOBS}) found",
            where=str(path),
            hint="run `backtest extract ARTICLES --out setups/` first or point at the right directory",
        )
    loaded: list[tuple[SetupFile, Path]] = []
    skips: list[Skip] = []
    for file_path in setup_paths:
        setup_file, file_skips = load_setup_file(file_path)
        skips.extend(file_skips)
        if setup_file is not None:
            loaded.append((setup_file, file_path))
    return _drop_duplicates(loaded, skips)


def load_setup_file(path: Path) -> tuple[SetupFile | None, list[Skip]]:
    """One YAML file: the valid part of it (or None if nothing usable) and the skips for the rest."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SETUP_BYTES:  # YAML parsing is slow on huge inputs; no real setup file is this big
            return None, [_file_skip(name, f"file is {size / 1e6:.1f} MB, more than the "
                                           f"{MAX_SETUP_BYTES // (1024 * 1024)} MB limit for a setup file; "
                                           "check that it is a setup file (one per article)")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [_file_skip(name, f"not UTF-8 text (byte {exc.start}); save the file as UTF-8")]
    except OSError as exc:
        return None, [_file_skip(name, f"cannot read: {exc.strerror or exc}; check the path and permissions")]
    root = None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [_file_skip(f"{name}{line}", f"invalid YAML: {problem}; fix the syntax", item=name)]
    except ValueError as exc:  # a value shaped like a date that is none (2026-02-31): PyYAML raises plain ValueError
        node = _impossible_timestamp(root)
        where = f"{name}:{node.start_mark.line + 1}" if node is not None else name
        shown = f"{node.value!r} " if node is not None else ""
        return None, [_file_skip(where, f"{shown}is not a real date/time ({exc}); fix it (YYYY-MM-DD or "
                                        "2026-02-08T17:30:00Z)", item=name)]
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else f"a {type(raw).__name__}, not a mapping"
        return None, [_file_skip(name, f"file is {kind}; a setup file has `article:` and `setups:` blocks", item=name)]

    # YAML silently keeps the last of two equal keys (`stop: 95` ... `stop: 90`): treat that as an error,
    # for the one setup it is in, or for the whole file when it is outside the setups.
    duplicates = _duplicate_keys(root)
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
            f"{name}:{_line(root, (key,))}",
            f"unknown top-level field {key!r}; use only {', '.join(sorted(_TOP_LEVEL))}",
            item=name,
        )]
    if raw.get("format", FORMAT_VERSION) != FORMAT_VERSION:
        return None, [_file_skip(
            f"{name}:{_line(root, ('format',))}",
            f"format {raw.get('format')!r} is not supported; use format: {FORMAT_VERSION}",
            item=name,
        )]
    if "article" not in raw:
        return None, [_file_skip(name, "missing required `article:` block (id, published, ...); add it", item=name)]
    article_raw = raw["article"]
    try:
        article = ArticleMeta.model_validate(article_raw)
    except ValidationError as exc:
        return None, [Skip(item=name, reason=_describe(exc, root, prefix=("article",), name=name), kind="setup-file")]

    if article.title is None:
        article.title = _title_from_article(article, path)
    skips: list[Skip] = []
    setups: list[Setup] = []
    seen: dict[str, int] = {}
    raw_setups = raw.get("setups") or []
    if not isinstance(raw_setups, list):
        return None, [_file_skip(f"{name}:{_line(root, ('setups',))}", "`setups:` must be a list of setups", item=name)]
    for index, item in enumerate(raw_setups):
        label = _setup_label(item, index)
        if index in bad_setups:
            skips.append(Skip(item=label, reason=bad_setups[index], kind="setup"))
            continue
        try:
            setup = Setup.model_validate(item)
        except ValidationError as exc:
            reason = _describe(exc, root, prefix=("setups", index), name=name)
            skips.append(Skip(item=label, reason=reason, kind="setup"))
            continue
        bad_symbol = _bad_symbol(setup)
        if bad_symbol is not None:
            field, value, problem = bad_symbol
            skips.append(Skip(
                item=setup.id,
                reason=f"{name}:{_line(root, ('setups', index) + field)}: setups[{index}].{'.'.join(field)}: {problem}; "
                       "put the words in `instrument:` and the ticker in `symbol:`, "
                       "or set status: unresolved",
                kind="setup",
            ))
            continue
        if setup.id in seen:
            skips.append(Skip(
                item=setup.id,
                reason=f"{name}:{_line(root, ('setups', index, 'id'))}: setups[{index}].id: duplicate setup id "
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
                reason=_describe(exc, root, prefix=("watch", index), name=name),
                kind="setup",
            ))
    generated = raw.get("generated")
    setup_file = SetupFile(
        article=article, setups=setups, watch=watch, generated=generated if isinstance(generated, dict) else None
    )
    return setup_file, skips


# ----------------------------------------------------------------------------------------- helpers
def _title_from_article(article: ArticleMeta, setup_path: Path) -> str | None:
    """The article's title, read from its file when it is at hand and unchanged (sha256 matches).

    Setup files do not carry third-party text; reports still want the headline.
    """
    if not article.path:
        return None
    candidates = [Path(article.path), setup_path.parent / article.path, setup_path.parent.parent / article.path]
    for candidate in candidates:
        try:
            if not candidate.is_file():
                continue
            data = candidate.read_bytes()
        except OSError:
            continue
        if article.sha256 and hashlib.sha256(data).hexdigest() != article.sha256:
            return None
        from ..articles.reader import parse_article_bytes
        from ..errors import ArticleError

        try:
            return parse_article_bytes(data, candidate.stem, str(candidate)).title
        except ArticleError:
            return None
    return None


def _discover(path: Path) -> tuple[list[Path], list[Path]]:
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in SETUP_SUFFIXES:
            return [path], []
        if suffix in ARTICLE_SUFFIXES:
            return [], [path]
        raise UsageError(
            f"unsupported file type {suffix or '(none)'}",
            where=str(path),
            hint=f"give a setup file (*.yaml, *.yml), an article ({_ARTICLE_GLOBS}) or a directory",
        )
    files = sorted(p for p in _walk_files(path) if not p.name.startswith("."))
    setup_paths = [p for p in files if p.suffix.lower() in SETUP_SUFFIXES]
    article_paths = [p for p in files if p.suffix.lower() in ARTICLE_SUFFIXES]
    return setup_paths, article_paths


def _walk_files(root: Path) -> list[Path]:
    """Files under ``root``, recursively, leaving out report folders this tool wrote (``--out`` inside an
    articles or setups folder must not be read back as input)."""
    out: list[Path] = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        if REPORT_MARKER in names and is_report_folder(here):
            dirs[:] = []
            continue
        dirs.sort()
        out.extend(here / name for name in names if (here / name).is_file())
    return out


def _drop_duplicates(
    loaded: Iterable[tuple[SetupFile, Path]], skips: list[Skip]
) -> tuple[list[SetupFile], list[Skip]]:
    """Keep the first file per article id and the first setup per setup id (across files)."""
    files: list[SetupFile] = []
    article_owner: dict[str, Path] = {}
    setup_owner: dict[str, Path] = {}
    for setup_file, path in loaded:
        article_id = setup_file.article.id
        if article_id in article_owner:
            skips.append(Skip(
                item=str(path),
                reason=f"{path}: article.id: duplicate article id {article_id!r}, already in {article_owner[article_id]}; "
                       "keep one file per article",
                kind="setup-file",
            ))
            continue
        article_owner[article_id] = path
        kept = []
        for setup in setup_file.setups:
            if setup.id in setup_owner:
                skips.append(Skip(
                    item=setup.id,
                    reason=f"{path}: setup {setup.id!r}: duplicate setup id, already in {setup_owner[setup.id]}; "
                           "rename one of them (the first one is kept)",
                    kind="setup",
                ))
                continue
            setup_owner[setup.id] = path
            kept.append(setup)
        if len(kept) != len(setup_file.setups):
            setup_file = setup_file.model_copy(update={"setups": kept})
        files.append(setup_file)
    return files, skips


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


def _impossible_timestamp(node: yaml.Node | None) -> yaml.ScalarNode | None:
    """The first scalar YAML resolves as a timestamp but that is no real date (``2026-02-31``), if any."""
    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode):
        if node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader(node.value).construct_yaml_timestamp(node)
            except ValueError:
                return node
        return None
    children = node.value if isinstance(node, yaml.SequenceNode) else [n for pair in node.value for n in pair]
    for child in children:
        found = _impossible_timestamp(child)
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
