"""Report folders: where a run may write, how it swaps a report into place, and what it may delete.

The rule that protects users' files: **the tool only ever replaces or deletes what it wrote itself.**
Every report folder it writes holds a marker file, :data:`MARKER`, listing the files it wrote. So:

* ``--out DIR`` is accepted when DIR does not exist, is an empty folder, or holds an earlier report of
  this tool and nothing else (every entry is named in its marker). Anything else is a
  :class:`~backtest.errors.UsageError` naming the folder, raised before any work is done:
  ``--out setups`` or ``--out $PWD`` can no longer delete a project.
* The new report is written into a hidden sibling (``.<name>.tmp-<pid>-<nonce>``) and swapped into
  place with signals (SIGINT, SIGTERM) held back for the two renames: an interrupt leaves the old report
  or the new one, never none. The old report is then removed file by file, by the names in its marker.
* The default location ``reports/<run-id>/`` is *claimed* before writing (``mkdir`` fails if another run
  took the name; the next free ``-2``, ``-3`` ... is used), so the run id written into ``summary.json``
  is always the name of the folder it is in.
* Temporary folders left by a run that was killed (``SIGKILL``, power loss) are removed by the next run
  writing beside them, when their process is gone and they hold nothing but report files.
* ``--keep N`` prunes the oldest report folders under the reports directory, only folders with a marker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import threading
from pathlib import Path
from typing import Iterable, Iterator

from ..common import REPORT_MARKER, is_report_folder, read_report_marker
from ..errors import ReportError, UsageError

MARKER = REPORT_MARKER
MARKER_FORMAT = 1
_TEMP = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-(?P<pid>\d+)-[0-9a-f]+$")
#: How many foreign entries a refusal names.
_SHOWN_EXTRA = 3


# --------------------------------------------------------------------------------------------- marker
read_marker = read_report_marker


def write_marker(folder: Path, run_id: str, files: Iterable[str]) -> None:
    """Record which files this run wrote (the only files a later run may replace or delete)."""
    data = {"tool": "backtest", "format": MARKER_FORMAT, "run_id": run_id, "files": sorted(files)}
    (Path(folder) / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _foreign_entries(folder: Path, marker: dict | None) -> list[str]:
    """Entries of ``folder`` this tool did not write (sorted); everything when there is no marker."""
    allowed = set(marker["files"]) | {MARKER} if marker else set()
    out = []
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        if entry not in allowed or path.is_symlink() or not path.is_file():
            out.append(entry)
    return out


# --------------------------------------------------------------------------------------------- checks
def check_out_dir(target: Path) -> None:
    """Refuse an explicit ``--out`` that would replace anything the tool did not write (see module doc)."""
    target = Path(target)
    where = str(target)
    if target.is_symlink():
        raise UsageError("--out is a symbolic link; a report folder is never written through a link",
                         where=where, hint="give the real folder, or a new one")
    if not target.exists():
        return
    if not target.is_dir():
        raise UsageError("--out exists and is not a folder", where=where, hint="choose a new or empty folder")
    try:
        entries = os.listdir(target)
    except OSError as exc:
        raise UsageError(f"--out folder cannot be read: {exc.strerror or exc}", where=where,
                         hint="choose a new or empty folder") from None
    if not entries:
        return
    marker = read_marker(target)
    if marker is None:
        raise UsageError(
            f"--out folder is not empty and holds no earlier backtest report (no {MARKER}); "
            "nothing was written or deleted", where=where,
            hint="choose a new or empty folder, or the folder of an earlier report")
    foreign = _foreign_entries(target, marker)
    if foreign:
        shown = ", ".join(foreign[:_SHOWN_EXTRA]) + (f" and {len(foreign) - _SHOWN_EXTRA} more" if len(foreign) > _SHOWN_EXTRA else "")
        raise UsageError(f"--out folder holds an earlier report plus files this tool did not write ({shown}); "
                         "nothing was written or deleted", where=where,
                         hint="move those files out, or choose a new or empty folder")


# --------------------------------------------------------------------------------------------- signals
@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT/SIGTERM arriving while the block runs are held back and re-raised right after it.

    Python runs signal handlers in the main thread only, so replacing the handlers defers the interrupt
    whichever thread the kernel delivered the signal to (a thread mask would not: numba, pyarrow and rich
    start threads of their own). The previous handler is called once the block is done.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[tuple[int, object]] = []

    def hold(signum, frame):
        pending.append((signum, frame))

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signum, frame = pending[0]
            handler = previous[signum]
            if callable(handler):
                handler(signum, frame)
            elif handler == signal.SIG_DFL:
                raise KeyboardInterrupt


# --------------------------------------------------------------------------------------------- cleanup
def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_report(folder: Path) -> bool:
    """Delete a report folder file by file, by the names its marker lists; True when the folder is gone.

    Anything else found in it (a file a person added) is left where it is, with the folder.
    """
    folder = Path(folder)
    marker = read_marker(folder)
    names = set(marker["files"]) if marker else set()
    for name in sorted(names) + [MARKER]:
        path = folder / name
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    try:
        folder.rmdir()
    except OSError:
        return False
    return True


def _remove_temp(folder: Path, known: set[str]) -> bool:
    """Delete a temporary folder of a dead run when it holds only report files (else leave it)."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return False
    if any(e not in known and e != MARKER for e in entries):
        return False
    for entry in entries:
        path = folder / entry
        if path.is_symlink() or not path.is_file():
            return False
    for entry in entries:
        with contextlib.suppress(FileNotFoundError):
            (folder / entry).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()
        return True
    return False


def clean_leftovers(parent: Path, known_files: Iterable[str]) -> list[Path]:
    """Remove ``.<name>.tmp-<pid>-*`` / ``.old-*`` folders whose run is gone; returns what was removed."""
    parent = Path(parent)
    removed = []
    known = set(known_files)
    try:
        entries = os.listdir(parent)
    except OSError:
        return removed
    for entry in sorted(entries):
        match = _TEMP.match(entry)
        path = parent / entry
        if not match or path.is_symlink() or not path.is_dir() or _pid_alive(int(match["pid"])):
            continue
        if _remove_temp(path, known):
            removed.append(path)
    return removed


# --------------------------------------------------------------------------------------------- writer
class ReportFolder:
    """``with ReportFolder(target, claim=...) as tmp:`` -- write files into ``tmp``; on success they become
    ``target`` (see the module docstring for the rules).

    ``claim=True`` is the default location: ``target`` is taken with ``mkdir`` before the block (the next
    free ``target-2`` ... when another run has it), so :attr:`final` and :attr:`run_id` are known while
    writing. ``claim=False`` is an explicit ``--out``: checked with :func:`check_out_dir`, replaced as a
    whole when it holds an earlier report. The block's files are listed in the marker
    (:func:`write_marker`), which is written last, so a folder with a marker is always complete.
    Failures (disk full, interrupts) remove the temporary folder, and a claimed folder, and leave any
    earlier report as it was; an ``OSError`` becomes a one-line :class:`ReportError`.
    """

    def __init__(self, target: Path, *, claim: bool, known_files: Iterable[str] = ()):
        self.target = Path(target)
        self.claim = claim
        self.known_files = set(known_files)
        self.final: Path = self.target
        self.tmp: Path | None = None
        self.removed_leftovers: list[Path] = []
        self.kept_old: Path | None = None  # an old report that could not be fully removed (a foreign file)
        self._claimed = False

    @property
    def run_id(self) -> str:
        return self.final.name

    def __enter__(self) -> Path:
        parent = self.target.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ReportError(f"cannot create the report's parent folder: {exc.strerror or exc}",
                              where=str(parent), hint="choose a writable --out") from None
        if not self.claim:
            check_out_dir(self.target)
        self.removed_leftovers = clean_leftovers(parent, self.known_files)
        if self.claim:
            self.final = self._claim_name()
        tmp = parent / f".{self.final.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            tmp.mkdir()
        except OSError as exc:
            self._release()
            raise ReportError(f"report folder is not writable: {exc.strerror or exc}",
                              where=str(parent), hint="choose a writable --out or fix the permissions") from None
        self.tmp = tmp
        return tmp

    def _claim_name(self) -> Path:
        for n in range(1, 10_000):
            candidate = self.target if n == 1 else self.target.with_name(f"{self.target.name}-{n}")
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                raise ReportError(f"cannot create the report folder: {exc.strerror or exc}", where=str(candidate),
                                  hint="check free space and permissions") from None
            self._claimed = True
            return candidate
        raise ReportError("no free report folder name", where=str(self.target), hint="use --keep or --out")

    def _release(self) -> None:
        if self._claimed:
            with contextlib.suppress(OSError):
                self.final.rmdir()  # still empty: nothing of ours was published there
            self._claimed = False

    def __exit__(self, exc_type, exc, tb) -> bool:
        assert self.tmp is not None
        if exc_type is None:
            try:
                self._publish()
                return False
            except OSError as error:
                exc_type, exc = type(error), error
            except BaseException:
                self._discard()
                raise
        self._discard()
        if isinstance(exc, OSError) and not isinstance(exc, FileExistsError):
            raise ReportError(f"could not write the report: {exc.strerror or exc}", where=str(self.target),
                              hint="check free space and permissions; nothing was left half-written") from None
        return False  # anything else (KeyboardInterrupt, UsageError) propagates unchanged

    def _discard(self) -> None:
        if self.tmp is not None and self.tmp.exists():
            _remove_temp(self.tmp, self.known_files | set(os.listdir(self.tmp)))
        self._release()

    def _publish(self) -> None:
        tmp, final = self.tmp, self.final
        assert tmp is not None
        files = sorted(p.name for p in tmp.iterdir() if p.name != MARKER)
        write_marker(tmp, final.name, files)
        if self.claim:
            os.rename(tmp, final)  # onto the empty folder this run claimed: atomic
            self._claimed = False
            return
        old = final.parent / f".{final.name}.old-{os.getpid()}-{secrets.token_hex(4)}"
        moved = False
        try:
            with _signals_held():
                check_out_dir(final)  # again, right before the swap: nothing foreign arrived meanwhile
                if final.exists():
                    if os.listdir(final):
                        os.rename(final, old)
                        moved = True
                    else:
                        final.rmdir()
                try:
                    os.rename(tmp, final)
                except OSError:
                    if moved:
                        os.rename(old, final)  # put the earlier report back
                        moved = False
                    raise
        finally:  # also when a held-back interrupt is delivered as the mask is lifted
            if moved and not remove_report(old):
                self.kept_old = old


def point_latest(latest: Path, target: Path) -> None:
    """Atomically make ``latest`` a symlink to ``target`` (relative when they share a folder).

    Refuses to replace a ``latest`` that is a real file or folder (someone else's): only a symlink is ours.
    """
    latest, target = Path(latest), Path(target)
    if latest.exists() and not latest.is_symlink():
        raise ReportError(f"cannot point it at the new report {target.name}: it is not a symbolic link",
                          where=str(latest),
                          hint="the report itself was written; remove or rename this path (it must be a symlink)")
    link_to = target.name if target.parent.resolve() == latest.parent.resolve() else str(target.resolve())
    tmp = latest.parent / f".{latest.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
    os.symlink(link_to, tmp)
    try:
        os.replace(tmp, latest)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ReportError(f"cannot point it at the new report {target.name}: {exc.strerror or exc}", where=str(latest),
                          hint="the report itself was written; remove or rename this path (it must be a symlink)") from None


def prune_reports(reports_dir: Path, keep: int, *, protect: Iterable[Path] = ()) -> list[Path]:
    """Delete all but the newest ``keep`` report folders directly under ``reports_dir``; returns those deleted.

    Only folders holding a marker count (and are deleted, file by file); run ids start with their UTC
    time, so name order is age order. ``protect`` (the new report, ``latest``'s target) is never deleted.
    """
    if keep < 1:
        raise UsageError(f"--keep must be at least 1, got {keep}", where="--keep", hint="keep at least the new report")
    reports_dir = Path(reports_dir)
    protected = {Path(p).resolve() for p in protect}
    latest = reports_dir / "latest"
    if latest.is_symlink():
        with contextlib.suppress(OSError):
            protected.add(latest.resolve())
    folders = []
    for entry in sorted(os.listdir(reports_dir)) if reports_dir.is_dir() else []:
        path = reports_dir / entry
        if entry.startswith(".") or path.is_symlink() or not path.is_dir() or not is_report_folder(path):
            continue
        folders.append(path)
    doomed = folders[:-keep] if len(folders) > keep else []
    removed = []
    for path in doomed:
        if path.resolve() in protected:
            continue
        if remove_report(path):
            removed.append(path)
    return removed


__all__ = ["MARKER", "ReportFolder", "check_out_dir", "clean_leftovers", "is_report_folder", "point_latest",
           "prune_reports", "read_marker", "remove_report", "write_marker"]
