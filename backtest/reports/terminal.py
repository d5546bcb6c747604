"""What ``backtest run`` prints: a progress bar while loading bars and a short rich summary table.

With ``quiet`` only what makes the run fail is printed: under ``--strict``, the portfolio failure and
the one ``error:`` line that explains the exit code (other errors are printed by the CLI). Progress goes to stderr and only
when stderr is a terminal, so cron mails and captured output stay clean.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from ..engine.ledger import REFUSED
from .markdown import num, pct, rate

if TYPE_CHECKING:
    from .build import Report


#: How many skipped/refused items and data notes are printed (all of them are in the report).
SHOWN = 8


class Terminal:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet

    @contextlib.contextmanager
    def progress(self, label: str, total: int) -> Iterator:
        """A progress callback for the data layer: called with one short line per symbol loaded.

        Yields None (no callback) when quiet or when stderr is not a terminal.
        """
        if self.quiet or not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=total)

            def advance(line: str = "") -> None:
                bar.update(task, advance=1, description=f"{label}: {line}"[:60])

            yield advance

    @contextlib.contextmanager
    def status(self, message: str) -> Iterator[None]:
        """A spinner on stderr for a long step (simulation, portfolio, writing); silent when not a terminal."""
        if self.quiet or not sys.stderr.isatty():
            yield
            return
        from rich.console import Console

        with Console(stderr=True).status(message):
            yield

    def summary(self, report: "Report", out_dir: Path, *, strict: bool) -> None:
        if self.quiet:
            if strict and report.problems:  # the run exits 1: say why, even when quiet
                self._problems(report, strict=True, details=False)
            return
        from rich.console import Console
        from rich.table import Table

        console = Console(highlight=False)
        s = report.summary
        totals, counts, cfg = s["totals"], s["counts"], s["config"]
        table = Table(title=f"{counts['articles']} articles, {counts['setups']} setups", title_justify="left")
        for column in ("stance", "articles", "setups", "entered", "hit rate", "mean ret", "mean R"):
            table.add_column(column, justify="left" if column == "stance" else "right")
        for row in s["stances"]:
            table.add_row(row["stance"], str(row["articles"]), str(row["setups"]), str(row["filled"]),
                          rate(row["hit_rate"]), pct(row["mean_return_pct"]), num(row["mean_r"]))
        console.print(table)
        console.print(
            f"total {pct(totals['total_return_pct'])} | ambiguous {totals['ambiguous_trades']} "
            f"(policy {cfg['ambiguity']}) | costs {cfg['costs_bps_per_side']:g} bps/side"
        )
        console.print(f"report: {out_dir}", soft_wrap=True, markup=False)
        if report.problems:
            self._problems(report, strict=strict, details=True)
        notes = [note for symbol_notes in report.summary["data"].get("notes", {}).values() for note in symbol_notes]
        if notes:
            err = Console(stderr=True, highlight=False)
            for note in notes[:SHOWN]:
                err.print(f"note: {note}", markup=False, soft_wrap=True)
            if len(notes) > SHOWN:
                err.print(f"note: ... {len(notes) - SHOWN} more in summary.json (data.notes)", markup=False)

    def _problems(self, report: "Report", *, strict: bool, details: bool) -> None:
        """The portfolio failure, the skipped/refused count line and (with ``details``) the first items, on stderr."""
        from rich.console import Console

        err = Console(stderr=True, highlight=False)
        word = "error" if strict else "warning"
        if report.portfolio_error:
            err.print(f"warning: {report.portfolio_error}", markup=False, soft_wrap=True)
        refused = report.problems - len(report.skipped) - (1 if report.portfolio_error else 0)
        tail = "; --strict: exit 1" if strict else ""
        err.print(f"{word}: {len(report.skipped)} input(s) skipped, {refused} setup(s) refused "
                  f"(reasons in the report){tail}", markup=False, soft_wrap=True)
        if not details:
            return
        lines = [skip.reason for skip in report.skipped]
        refused_rows = report.trades[report.trades["status"].isin(REFUSED)]
        lines += [f"{row['setup_id']} ({row['status']}): {row['reason']}"
                  for row in refused_rows.astype(object).to_dict("records")]
        for line in lines[:SHOWN]:
            err.print(f"  {line}", markup=False, soft_wrap=True)
        if len(lines) > SHOWN:
            err.print(f"  ... {len(lines) - SHOWN} more in summary.json / trades.csv", markup=False)
