"""Types every stage may use: none of them belongs to one stage, so none is imported "up" the pipeline.

* :class:`Skip` — something that was not evaluated, and why (a bad file, a bad setup, a missing series);
  every stage records its problems as skips and the report lists them all.
* :class:`SourceRef` — one source an article lists (read by ``articles``, carried by ``setups``).
* :data:`REPORT_MARKER` / :func:`is_report_folder` — the file that marks a folder this tool wrote a report
  into; input discovery (articles, setup files) skips such folders.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

#: The marker file every report folder holds (hidden, so article and setup discovery never read it).
REPORT_MARKER = ".backtest-report.json"


@dataclasses.dataclass(frozen=True)
class Skip:
    """Something that was not evaluated, and why (kept for the report; never lost)."""

    item: str  # file path, setup id or symbol
    reason: str
    kind: Literal["article", "setup-file", "setup", "symbol"] = "setup"


class SourceRef(BaseModel):
    """One of the article's listed sources (titles are filled at run time from the article, never committed)."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    outlet: str | None = None
    date: str | None = None


def read_report_marker(folder: Path) -> dict | None:
    """The marker of a report folder, or None when there is none (or it is not ours / unreadable)."""
    try:
        data = json.loads((Path(folder) / REPORT_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("tool") != "backtest" or not isinstance(data.get("files"), list):
        return None
    if not all(isinstance(name, str) and "/" not in name and name not in ("", ".", "..") for name in data["files"]):
        return None
    return data


def is_report_folder(folder: Path) -> bool:
    """True for a folder this tool wrote a report into (no report is ever read back as input)."""
    return read_report_marker(folder) is not None


_CONTROL = {c: f"\\x{c:02x}" for c in range(32) if c not in (9,)} | {127: "\\x7f"}
_CONTROL.update({10: "\\n", 13: "\\r"})


def printable(text: object) -> str:
    """``text`` safe to print on one terminal line: control characters (ESC, CR, LF, ...) escaped.

    Names and reasons come from user files (an article id, a title, a symbol); printed raw, an ESC sequence
    would drive the terminal and a newline would forge a log line. Tabs stay (harmless); everything else
    below 0x20, DEL and the C1 controls become ``\\xNN`` escapes.
    """
    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        code = ord(ch)
        if code in _CONTROL:
            out.append(_CONTROL[code])
        elif 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        else:
            out.append(ch)
    return "".join(out)
