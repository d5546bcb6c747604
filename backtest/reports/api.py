"""``backtest run`` as a library call: :func:`run_report` loads, simulates and writes one report directory.

Steps (each stage's boundary object in brackets)::

    setups path --load_setups--> [SetupFile]  --load_barset--> [BarSet] --simulate--> [Ledger]
                --build_report--> [Report] --write_report (atomic)--> reports/<run-id>/ + reports/latest

Exit codes (also in ``docs/reports.md``): 0 when the report was written, also when some inputs were
skipped or setups refused (they are listed in the report; a warning is printed); 1 with ``--strict``
when anything was skipped or refused, and for errors (bad data, unwritable output); 2 for usage errors
(bad option, no setup files); 130 when interrupted (no half report is ever left behind).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import signal
import threading
from pathlib import Path
from typing import Any, Callable

from ..config import Config
from ..engine.ledger import SimConfig
from ..errors import UsageError
from .build import FORMATS, REPORT_FILES, Report, build_report, write_report
from .outdir import ReportFolder, check_out_dir, point_latest, prune_reports


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The ``backtest run`` options; None means "use the config file's default"."""

    setups: Path
    out_dir: Path | None = None
    as_of: dt.date | None = None
    entry_window: int | None = None
    max_hold: int | None = None
    ambiguity: str | None = None
    scale_out: str | None = None
    costs_bps: float | None = None
    include_incoherent: bool = False
    formats: tuple[str, ...] = FORMATS
    quiet: bool = False
    strict: bool = False
    keep: int | None = None  # after a run to the default location, keep only the newest N reports


@dataclasses.dataclass
class RunResult:
    """What a run produced: where the report is, the report itself and the process exit code."""

    run_id: str
    out_dir: Path
    files: list[str]
    report: Report
    exit_code: int
    pruned: list[Path] = dataclasses.field(default_factory=list)  # older reports removed by --keep


@dataclasses.dataclass
class Pipeline:
    """The stages ``run_report`` calls; the defaults are the real ones (tests may pass stand-ins)."""

    load_bars: Callable[..., Any] | None = None
    simulate: Callable[..., Any] | None = None
    portfolio: Callable[..., Any] | None = None

    def resolved(self) -> "Pipeline":
        load_bars, simulate, portfolio = self.load_bars, self.simulate, self.portfolio
        if load_bars is None:
            from ..data.load import load_barset as load_bars
        if simulate is None:
            from ..engine import simulate
        if portfolio is None:
            # (vectorbt, the slow import, is imported inside follow_every_call, not here)
            from ..engine.portfolio import follow_every_call as portfolio
        return Pipeline(load_bars, simulate, portfolio)


def sim_config(options: RunOptions, config: Config) -> SimConfig:
    """The simulation rules: flags beat the config file, which beats the built-in defaults."""
    run = config.run
    if options.costs_bps is not None:
        commission, slippage = float(options.costs_bps), 0.0
    else:
        commission, slippage = float(run.commission_bps), float(run.slippage_bps)
    ambiguity = options.ambiguity or run.ambiguity
    if options.as_of is not None and not 1900 <= options.as_of.year < 2200:
        raise UsageError(f"--as-of {options.as_of.isoformat()} is outside 1900..2199", where="--as-of",
                         hint="give the date to evaluate as of, e.g. --as-of 2026-03-01")
    if ambiguity not in ("stop-first", "target-first"):
        raise UsageError(f"unknown ambiguity policy {ambiguity!r}", where="[run].ambiguity",
                         hint="use stop-first or target-first")
    return SimConfig(
        entry_window=options.entry_window or run.entry_window,
        max_hold=options.max_hold or run.max_hold,
        ambiguity=ambiguity,  # type: ignore[arg-type]
        scale_out=options.scale_out or "equal",  # type: ignore[arg-type]
        commission_bps=commission,
        slippage_bps=slippage,
        coherence_max_pct=float(run.coherence_max_pct),
        coherence_max_atr=float(run.coherence_max_atr),
        include_incoherent=options.include_incoherent,
        as_of=options.as_of,
        benchmark=run.benchmark,
    )


def needed_symbols(files, benchmark: str) -> list[str]:
    """Every setup's symbols, every article's subject and the benchmark, sorted."""
    symbols = {benchmark}
    for setup_file in files:
        symbols.update(setup_file.article.subject)
        for setup in setup_file.setups:
            symbols.update(setup.symbols)
    return sorted(s for s in symbols if s)


def run_report(options: RunOptions, config: Config, *, pipeline: Pipeline | None = None,
               now: dt.datetime | None = None) -> RunResult:
    """Load, simulate and write one report directory atomically; see the module docstring."""
    from ..setups.load import load_setups
    from .terminal import Terminal

    formats = _check_formats(options.formats)
    stages = (pipeline or Pipeline()).resolved()
    sim = sim_config(options, config)
    now = now or dt.datetime.now(dt.timezone.utc)
    run_id = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{sim.digest()}"
    reports_dir = Path(config.run.out_dir)
    target = Path(options.out_dir) if options.out_dir else reports_dir / run_id
    if options.out_dir is not None:
        check_out_dir(target)  # before any work: never replace what this tool did not write
    if options.keep is not None and options.keep < 1:
        raise UsageError(f"--keep must be at least 1, got {options.keep}", where="--keep",
                         hint="the number of newest reports to keep, the new one included")
    term = Terminal(quiet=options.quiet)

    with _interrupts_as_keyboard_interrupt():
        files, load_skips = load_setups(Path(options.setups), config=config)
        symbols = needed_symbols(files, sim.benchmark)
        with term.progress("loading bars", len(symbols)) as progress:
            bars = stages.load_bars(symbols, config, as_of=options.as_of, progress=progress)
        bars = _cut(bars, options.as_of)
        n_setups = sum(len(f.setups) for f in files)
        with term.status(f"simulating {n_setups} setups from {len(files)} articles"):
            ledger = stages.simulate(files, bars, sim)
            portfolio = _portfolio(stages.portfolio, ledger, bars)
        folder = ReportFolder(target, claim=options.out_dir is None, known_files=REPORT_FILES)
        with term.status(f"writing {target}"), folder as tmp:
            run_id = folder.run_id if options.out_dir is None else run_id
            run_meta = {
                "id": run_id,
                "created_utc": now.isoformat(timespec="seconds"),
                "backtest_version": _version(),
                "setups_path": str(options.setups),
                "out_dir": str(folder.final),
                "config_file": str(config.path) if config.path else None,
                "formats": list(formats),
            }
            report = build_report(ledger, files, bars, load_skips=load_skips, portfolio=portfolio, run_meta=run_meta)
            written = write_report(report, tmp, formats)
        target = folder.final
        pruned: list[Path] = []
        if options.out_dir is None:
            point_latest(reports_dir / "latest", target)
            if options.keep is not None:
                pruned = prune_reports(reports_dir, options.keep, protect=[target])

    # Nothing loaded at all (every setup file or article was skipped) is a failed run, even without
    # --strict: a scheduled job must not look green when it evaluated nothing. The report still lists why.
    evaluated_nothing = not files and bool(load_skips)
    exit_code = 1 if (evaluated_nothing or (options.strict and report.problems)) else 0
    term.summary(report, target, strict=options.strict)
    if evaluated_nothing:
        import sys

        print(f"error: {options.setups}: nothing was evaluated, all {len(load_skips)} input(s) were skipped "
              f"(reasons in {target / 'summary.json'} and on the lines above); fix them and run again",
              file=sys.stderr)
    return RunResult(run_id=run_id, out_dir=target, files=written, report=report, exit_code=exit_code,
                     pruned=pruned)


def _check_formats(formats) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(f"unknown --format {','.join(unknown) or '(empty)'}", where="--format",
                         hint=f"use a comma-separated subset of {','.join(FORMATS)}")
    return chosen


def _cut(bars, as_of: dt.date | None):
    """Enforce ``--as-of`` here too, whatever the data layer did: no later bar reaches the engine."""
    if as_of is None:
        return bars
    from ..data.bars import BarSet

    return BarSet(bars={s: b.until(as_of) for s, b in bars.bars.items()}, missing=dict(bars.missing))


@dataclasses.dataclass
class PortfolioFailure:
    """The follow-every-call view could not be computed: the report says why instead of losing the run."""

    error: str


def _portfolio(follow, ledger, bars):
    """The follow-every-call view, or a :class:`PortfolioFailure`.

    The portfolio is a secondary view of the ledger; a failure there must not throw away the trades,
    so it is recorded (``summary.json`` -> ``portfolio.error``, a warning, ``--strict`` exit 1).
    """
    try:
        return follow(ledger, bars)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, see docstring
        return PortfolioFailure(f"follow-every-call portfolio failed: {type(exc).__name__}: {exc}".splitlines()[0])


def _version() -> str:
    from .. import __version__

    return __version__


@contextlib.contextmanager
def _interrupts_as_keyboard_interrupt():
    """SIGTERM behaves like Ctrl-C, so the atomic writer's cleanup runs for cron kills too."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
