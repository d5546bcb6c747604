"""What ``backtest run`` prints (the command line's side: the library never prints).

* :class:`ProgressView` renders :class:`backtest.run.Progress` events on stderr: a bar while the bars
  load, a spinner line for the other stages; only when stderr is a terminal and not ``--quiet``, so cron
  mails and captured output stay clean.
* :func:`render_summary` prints the stance table, the totals, the report folder, the config file used,
  a staleness warning and the skipped/refused items (first :data:`SHOWN` of each).
* :func:`strict_line` / nothing-evaluated lines are the one ``error:`` line that explains an exit 1, printed
  even under ``--quiet``.

Every name or reason that comes from an input (ids, symbols, titles, file names) goes through
:func:`backtest.common.printable` (control characters escaped), and the console writes what the terminal's
encoding cannot show as escapes instead of failing (a non-UTF-8 ``stdout`` must not crash the summary).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .common import printable
from .engine.ledger import REFUSED

if TYPE_CHECKING:
    from .run import Progress, RunResult

#: How many skipped/refused items and data notes are printed (all of them are in the report).
SHOWN = 8


def _console(stderr: bool):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    encoding = (getattr(stream, "encoding", None) or "ascii").lower().replace("_", "-")
    safe = encoding.startswith("utf")
    return Console(file=_SafeWriter(stream), stderr=stderr, highlight=False, soft_wrap=True,
                   emoji=False, legacy_windows=False, force_terminal=None if safe else False,
                   color_system=None if not safe else "auto"), safe


class _SafeWriter:
    """A text stream that writes what its encoding cannot represent as ``\\u`` escapes (never raises)."""

    def __init__(self, stream):
        self.stream = stream
        self.encoding = getattr(stream, "encoding", None) or "ascii"

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except UnicodeEncodeError:
            return self.stream.write(text.encode(self.encoding, "backslashreplace").decode(self.encoding, "replace"))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self.stream, "isatty", lambda: False)())

    def fileno(self) -> int:
        return self.stream.fileno()


class ProgressView:
    """A ``progress`` callback for :func:`backtest.run.run` that draws on stderr (see the module docstring)."""

    def __init__(self, quiet: bool = False):
        self.enabled = not quiet and sys.stderr.isatty()
        self._progress = None
        self._task = None
        self._status = None

    def __call__(self, event: "Progress") -> None:
        if not self.enabled:
            return
        if event.total is not None:
            self._bar(event)
        else:
            self._spin(f"{event.stage}: {printable(event.message)}")

    def _bar(self, event: "Progress") -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._stop_status()
        if self._progress is None:
            console, _ = _console(stderr=True)
            self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                      console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task(event.stage, total=event.total)
        self._progress.update(self._task, completed=event.done or 0,
                              description=f"{event.stage}: {printable(event.message)}"[:60])

    def _spin(self, text: str) -> None:
        self._stop_bar()
        if self._status is None:
            console, _ = _console(stderr=True)
            self._status = console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def _stop_bar(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _stop_status(self) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        self._stop_bar()
        self._stop_status()


def render_summary(result: "RunResult") -> None:
    """The run's summary on stdout, warnings and notes on stderr (not called under ``--quiet``)."""
    from rich import box
    from rich.table import Table

    from .reports.markdown import num, pct, rate

    console, safe = _console(stderr=False)
    report = result.report
    s = report.summary
    totals, counts, cfg = s["totals"], s["counts"], s["config"]
    table = Table(title=f"{counts['articles']} articles, {counts['setups']} setups", title_justify="left",
                  box=box.HEAVY_HEAD if safe else box.ASCII)
    for column in ("stance", "articles", "setups", "entered", "hit rate", "mean ret", "mean R"):
        table.add_column(column, justify="left" if column == "stance" else "right")
    for row in s["stances"]:
        table.add_row(row["stance"], str(row["articles"]), str(row["setups"]), str(row["filled"]),
                      rate(row["hit_rate"]), pct(row["mean_return_pct"]), num(row["mean_r"]))
    console.print(table)
    book = s.get("portfolio") or {}
    if book and "error" not in book:
        console.print(f"follow every call: {pct(book['return_on_capital_pct'])} return on capital "
                      f"({book['calls']} calls, peak {book['peak_live_calls']} live)", markup=False)
    console.print(f"sum of trade returns {pct(totals['total_return_pct'])} (worst {pct(totals['total_return_pct_worst'])}, "
                  f"best {pct(totals['total_return_pct_best'])}) | ambiguous {totals['ambiguous_trades']} "
                  f"(policy {cfg['ambiguity']}) | costs {cfg['costs_bps_per_side']:g} bps/side | "
                  f"delay {cfg.get('delay', 0)}", markup=False)
    console.print(f"report: {printable(result.out_dir)}", markup=False)
    console.print(f"config: {printable(result.config_file) if result.config_file else 'none found (built-in defaults)'}",
                  markup=False)
    err, _ = _console(stderr=True)
    stale = result.staleness
    if stale and stale["stale"]:
        err.print(f"warning: the newest bar ({stale['newest_bar']}) is {stale['sessions_behind']} sessions older than "
                  f"{stale['run_date']}; update the data (`backtest data fetch SYMBOL...`) or pass --as-of",
                  markup=False)
    if report.problems:
        err.print(f"warning: {len(report.skipped)} input(s) skipped, {report.refused} setup(s) refused "
                  "(reasons in the report)", markup=False)
        if report.portfolio_error:
            err.print(f"warning: {printable(report.portfolio_error)}", markup=False)
        for name, error in sorted(report.research_errors.items()):
            err.print(f"warning: {name}: {printable(error)}", markup=False)
        lines = [skip.reason for skip in report.skipped]
        refused = report.trades[report.trades["status"].isin(REFUSED)]
        lines += [f"{row['setup_id']} ({row['status']}): {row['reason']}"
                  for row in refused.head(SHOWN).astype(object).to_dict("records")]
        for line in lines[:SHOWN]:
            err.print(f"  {printable(line)}", markup=False)
        more = len(report.skipped) + len(refused) - min(len(lines), SHOWN)
        if more > 0:
            err.print(f"  ... {more} more in summary.json / trades.csv", markup=False)
    notes = [note for symbol_notes in s["data"].get("notes", {}).values() for note in symbol_notes]
    for note in notes[:SHOWN]:
        err.print(f"note: {printable(note)}", markup=False)
    if len(notes) > SHOWN:
        err.print(f"note: ... {len(notes) - SHOWN} more in summary.json (data.notes)", markup=False)


def strict_line(problems: dict[str, int]) -> str:
    """The one line that explains a ``--strict`` exit 1 (see :attr:`backtest.run.RunResult.strict_problems`)."""
    parts = []
    if problems.get("skipped"):
        parts.append(f"{problems['skipped']} input(s) skipped")
    if problems.get("no-data"):
        parts.append(f"{problems['no-data']} setup(s) without data")
    if problems.get("undated"):
        parts.append(f"{problems['undated']} setup(s) undated")
    if problems.get("portfolio"):
        parts.append("the portfolio view failed")
    if problems.get("research"):
        parts.append(f"{problems['research']} research figure(s) failed")
    return "--strict: " + ", ".join(parts) + " (reasons in the report); exit 1"
