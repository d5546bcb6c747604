"""``backtest run`` as a library call: :func:`run` takes a SETUPS path to a report folder, above the stages.

The run in pipeline order, each stage's boundary object in brackets::

    SETUPS --setups.load (parsed-setup cache)--> [SetupTable] --data.load--> [BarSet]
           --engine.simulate--> [Ledger] --reports.portfolio--> [PortfolioResult]
           --reports.build--> [Report] --reports.write, into reports.outdir's folder--> reports/<run-id>/

(raw articles given as SETUPS go through extraction first). :func:`run` returns a :class:`RunResult` and
never prints: progress goes to an optional ``progress`` callback as :class:`Progress` events, and the
command line (``backtest/cli.py``) renders them and the result, and chooses the exit code from
:attr:`RunResult.nothing_evaluated` and :attr:`RunResult.strict_problems`. An interrupt
(``KeyboardInterrupt``) propagates after the report folder's own cleanup: nothing half-written is left.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any, Callable

from .common import Skip
from .config import Config
from .engine.config import SimConfig, check_delay, check_sessions
from .errors import ConfigError, UsageError

#: Output formats of a report folder.
FORMATS = ("html", "csv", "parquet", "json", "md")
#: The newest bar may be this many sessions older than the run date before the run warns that it is stale.
STALE_SESSIONS = 5


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """The ``backtest run`` options; None means "use the config file's default" (:class:`SimConfig`'s)."""

    setups: Path
    out_dir: Path | None = None
    as_of: dt.date | None = None
    entry_window: int | None = None
    max_hold: int | None = None
    ambiguity: str | None = None
    scale_out: str | None = None
    costs_bps: float | None = None
    delay: int | None = None  # act N sessions late (SimConfig.delay)
    include_incoherent: bool = False
    formats: tuple[str, ...] = FORMATS
    keep: int | None = None  # after a run to the default location, keep only the newest N reports
    cache: bool = True  # use the parsed-setup cache (data_cache/setups/)
    dask: bool = False  # simulate in partitions on a local Dask cluster (docs/sweep.md)
    scheduler: str | None = None  # ... or on an existing one, tcp://HOST:PORT
    workers: int | None = None  # worker processes of the local cluster
    partitions: int | None = None  # setup-table partitions (default: 4 per worker)

    @property
    def distributed(self) -> bool:
        return bool(self.dask or self.scheduler)


@dataclasses.dataclass(frozen=True)
class Progress:
    """One progress event: a stage (``setups``, ``bars``, ``simulate``, ``portfolio``, ``report``) and what
    it is doing; ``done``/``total`` when the stage counts items (the bars: one event per symbol)."""

    stage: str
    message: str
    done: int | None = None
    total: int | None = None


@dataclasses.dataclass
class RunResult:
    """What a run produced: where the report is, the report itself, and what a caller needs to decide."""

    run_id: str
    out_dir: Path
    files: list[str]
    report: Any  # backtest.reports.build.Report
    config_file: Path | None = None
    setup_files: int = 0  # setup files read ...
    cached: int = 0  # ... of which this many came from the parsed-setup cache
    staleness: dict | None = None
    pruned: list[Path] = dataclasses.field(default_factory=list)  # older reports removed by --keep

    @property
    def nothing_evaluated(self) -> str | None:
        """Why nothing could be evaluated, or None. A run is *evaluated* when at least one setup was placed
        on its series (it has a first session) or one directional call was measured: otherwise (every input
        skipped, every setup without bars, a mirror that does not exist, no data source) it must fail."""
        trades, calls = self.report.trades, self.report.calls
        if trades["first_session"].notna().any() or calls["start_time"].notna().any():
            return None
        if not len(trades) and not len(self.report.articles):
            return f"nothing was evaluated, all {len(self.report.skipped)} input(s) were skipped"
        statuses = ", ".join(f"{n} {s}" for s, n in trades["status"].value_counts().sort_index().items())
        return (f"nothing was evaluated: none of the {len(trades)} setup(s) and none of the directional calls had "
                f"bars after their publication ({statuses or 'no setups'}; {len(self.report.skipped)} input(s) skipped)")

    @property
    def strict_problems(self) -> dict[str, int]:
        """What ``--strict`` fails on: the run could not evaluate everything it was given, for reasons in the
        inputs or the data. Counted: skipped inputs (a setup file, setup or article that could not be read,
        a series that could not be loaded), setups ``no-data`` (no bars, or none after publication) or
        ``undated``, a failed portfolio view and a failed research figure (scorecard, event study). Not counted: setups the rules refused on their own merits
        (``rejected``: levels out of order or incoherent; ``unresolved``: no symbol), nor outcomes
        (expired, cancelled, open): those are results, listed in the report."""
        trades = self.report.trades
        out = {"skipped": len(self.report.skipped),
               "no-data": int((trades["status"] == "no-data").sum()),
               "undated": int((trades["status"] == "undated").sum()),
               "portfolio": 1 if self.report.portfolio_error else 0,
               "research": len(self.report.research_errors)}
        return {k: v for k, v in out.items() if v}


@dataclasses.dataclass
class Pipeline:
    """The stages :func:`run` calls; the defaults are the real ones (tests may pass stand-ins)."""

    load_bars: Callable[..., Any] | None = None
    simulate: Callable[..., Any] | None = None
    portfolio: Callable[..., Any] | None = None

    def resolved(self) -> "Pipeline":
        load_bars, simulate, portfolio = self.load_bars, self.simulate, self.portfolio
        if load_bars is None:
            from .data.load import load_barset as load_bars
        if simulate is None:
            from .engine.simulation import simulate
        if portfolio is None:
            portfolio = follow_ledger
        return Pipeline(load_bars, simulate, portfolio)


def sim_config(options: RunOptions, config: Config) -> SimConfig:
    """The simulation rules: flags beat the config file, which beats :class:`SimConfig`'s defaults.

    Every value is range-checked here (a huge ``--max-hold`` or a ``nan`` cost is a usage error naming it).
    """
    defaults = config.run
    if options.costs_bps is not None:
        commission, slippage = options.costs_bps, 0.0
        where = "--costs-bps"
    else:
        commission, slippage = defaults.commission_bps, defaults.slippage_bps
        where = "[run].commission_bps/slippage_bps"
    if options.as_of is not None and not 1900 <= options.as_of.year < 2200:
        raise UsageError(f"--as-of {options.as_of.isoformat()} is outside 1900..2199", where="--as-of",
                         hint="give the date to evaluate as of, e.g. --as-of 2026-03-01")
    config_file = str(config.path or "backtest.toml")
    values = {}
    for name, flag, value, check in (("entry_window", "--entry-window", options.entry_window, check_sessions),
                                     ("max_hold", "--max-hold", options.max_hold, check_sessions),
                                     ("delay", "--delay", options.delay, lambda _, v: check_delay(v))):
        try:
            values[name] = check(name, value if value is not None else getattr(defaults, name))
        except ValueError as exc:
            if value is not None:
                raise UsageError(str(exc), where=flag, hint="a whole number of sessions") from None
            raise ConfigError(f"[run].{exc}", where=config_file, hint="a whole number of sessions") from None
    try:
        return SimConfig(
            **values,
            ambiguity=options.ambiguity or defaults.ambiguity,  # type: ignore[arg-type]
            scale_out=options.scale_out or SimConfig.scale_out,  # type: ignore[arg-type]
            commission_bps=float(commission), slippage_bps=float(slippage),
            coherence_max_pct=float(defaults.coherence_max_pct), coherence_max_atr=float(defaults.coherence_max_atr),
            include_incoherent=options.include_incoherent, as_of=options.as_of, benchmark=defaults.benchmark,
        )
    except ValueError as exc:
        if options.costs_bps is not None and "bps" in str(exc):
            raise UsageError(str(exc), where=where, hint="basis points per side, a finite number >= 0") from None
        raise ConfigError(f"[run].{exc}", where=config_file, hint="fix the value") from None


def check_formats(formats) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in formats if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise UsageError(f"unknown --format {','.join(unknown) or '(empty)'}", where="--format",
                         hint=f"use a comma-separated subset of {','.join(FORMATS)}")
    return chosen


def run(options: RunOptions, config: Config, *, progress: Callable[[Progress], None] | None = None,
        pipeline: Pipeline | None = None, now: dt.datetime | None = None) -> RunResult:
    """Load, simulate and write one report folder atomically; see the module docstring."""
    from .reports.build import REPORT_FILES, build_report, write_report
    from .reports.outdir import ReportFolder, check_out_dir, point_latest, prune_reports
    from .setups.quotes import call_quotes

    def tell(stage: str, message: str, done: int | None = None, total: int | None = None) -> None:
        if progress is not None:
            progress(Progress(stage, message, done, total))

    formats = check_formats(options.formats)
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

    if options.workers is not None and (options.scheduler or not options.dask):
        raise UsageError("--workers applies to the local cluster of --dask only", where="--workers",
                         hint="add --dask, or drop --workers (an existing cluster has its own workers)")
    if options.partitions is not None and not options.distributed:
        raise UsageError("--partitions applies to --dask or --scheduler only", where="--partitions",
                         hint="add --dask, or drop --partitions")
    if options.distributed:
        from .sweep.executor import require_dask

        require_dask()  # a missing extra is known before any work
    tell("setups", f"reading {options.setups}")
    loaded = load_inputs(Path(options.setups), config, use_cache=options.cache)
    table, load_skips = loaded.table, loaded.skips
    symbols = table.symbols(sim.benchmark)
    counter = {"done": 0}

    def bar_loaded(line: str = "") -> None:
        counter["done"] += 1
        tell("bars", line, counter["done"], len(symbols))

    tell("bars", "loading bars", 0, len(symbols))
    bars = stages.load_bars(symbols, config, as_of=options.as_of, progress=bar_loaded)
    tell("simulate", f"simulating {len(table)} setups from {len(table.articles)} articles")
    parts: list = []
    if options.distributed:
        from .sweep.executor import dask_client
        from .sweep.partitions import simulate_on_dask

        with dask_client(options.scheduler, options.workers) as client:
            ledger, parts = simulate_on_dask(client, table, bars, sim, options.partitions)
    else:
        ledger = stages.simulate(table, bars, sim)
    tell("portfolio", "follow-every-call portfolio")
    portfolio = _portfolio(stages.portfolio, ledger)
    folder = ReportFolder(target, claim=options.out_dir is None, known_files=REPORT_FILES)
    tell("report", f"writing {target}")
    with folder as tmp:
        run_id = folder.run_id if options.out_dir is None else run_id
        staleness = data_staleness(ledger.bars, now, options.as_of)
        run_meta = {
            "id": run_id,
            "created_utc": now.isoformat(timespec="seconds"),
            "backtest_version": _version(),
            "setups_path": str(options.setups),
            "out_dir": str(folder.final),
            "config_file": str(config.path) if config.path else None,
            "formats": list(formats),
            "data_staleness": staleness,
        }
        report = build_report(ledger, table, load_skips=load_skips, portfolio=portfolio, run_meta=run_meta,
                              weight_cache=Path(config.data.cache_dir) / "bootstrap",
                              quotes=lambda calls: call_quotes(table, calls))
        written = write_report(report, tmp, formats)
        if parts and "parquet" in formats:
            written = sorted(written + _write_parts(parts, tmp))
    target = folder.final
    pruned: list[Path] = []
    if options.out_dir is None:
        point_latest(reports_dir / "latest", target)
        if options.keep is not None:
            pruned = prune_reports(reports_dir, options.keep, protect=[target])
    return RunResult(run_id=run_id, out_dir=target, files=written, report=report, config_file=config.path,
                     setup_files=loaded.files, cached=loaded.cached, staleness=staleness, pruned=pruned)


def load_inputs(path: Path, config: Config, *, use_cache: bool = True):
    """SETUPS -> :class:`backtest.setups.load.Loaded`: setup files through the parsed-setup cache, or raw
    articles (when the path holds no setup files) through extraction, in memory."""
    from .setups import load

    inputs = load.discover(path)
    if inputs.setup_paths:
        cache = None
        if use_cache:
            from .setups.cache import ParsedSetupCache

            cache = ParsedSetupCache.under(config.data.cache_dir)
        return load.load_table(inputs.setup_paths, cache=cache, extra_skips=inputs.skips)
    if inputs.article_paths:
        from .extraction.batch import extract_setup_files  # the extraction stage: only for raw articles

        files, skips = extract_setup_files(inputs.article_paths, config=config)
        return load.tabulate([(f, Path(f.article.path or f.article.id)) for f in files], inputs.skips + list(skips))
    raise load.no_inputs_error(path)


def data_staleness(bars, now: dt.datetime, as_of: dt.date | None = None) -> dict | None:
    """How far the newest bar lies behind the run date (``--as-of`` when given), in XNYS sessions.

    ``sessions_behind`` counts the sessions after the newest bar that had closed by the run date;
    ``stale`` is true beyond :data:`STALE_SESSIONS`. None when no bars were loaded.
    """
    lasts = [b.last for b in bars.bars.values() if b.last is not None]
    if not lasts:
        return None
    from .data.calendar import session_dates, session_instants

    newest = max(lasts)
    until = as_of or now.date()
    days = session_dates(newest + dt.timedelta(days=1), until) if until > newest else []
    if as_of is None and len(days):
        _, closes = session_instants(days)
        behind = int((closes <= int(now.timestamp() * 1e9)).sum())
    else:
        behind = len(days)
    return {"newest_bar": newest.isoformat(), "run_date": until.isoformat(), "sessions_behind": behind,
            "stale": behind > STALE_SESSIONS}


def follow_ledger(ledger, bars):
    """The follow-every-call book of a ledger (:func:`backtest.reports.portfolio.follow_every_call` over its
    trades and exit fills, at the run's per-side cost): the run's default portfolio stage."""
    from .reports.portfolio import follow_every_call

    config = ledger.config
    return follow_every_call(ledger.trades, ledger.exits, bars, cost_bps=config.commission_bps + config.slippage_bps)


@dataclasses.dataclass
class PortfolioFailure:
    """The follow-every-call view could not be computed: the report says why instead of losing the run."""

    error: str


def _portfolio(follow, ledger):
    """The follow-every-call view, or a :class:`PortfolioFailure`.

    The portfolio is a secondary view of the ledger; a failure there must not throw away the trades,
    so it is recorded (``summary.json`` -> ``portfolio.error``, a warning, ``--strict`` exit 1).
    """
    try:
        return follow(ledger, ledger.bars)
    except Exception as exc:  # noqa: BLE001 - any failure is reported, see docstring
        return PortfolioFailure(f"follow-every-call portfolio failed: {type(exc).__name__}: {exc}".splitlines()[0])


def _write_parts(parts: list, folder: Path) -> list[str]:
    """Each partition's trades as ``trades-part-NNNNN.parquet`` (``backtest run --dask``; their rows, in
    order, are ``trades.parquet``'s)."""
    from .reports.tables import trades_table
    from .reports.writers import frame_to_parquet

    names = []
    for k, ledger in enumerate(parts):
        name = f"trades-part-{k:05d}.parquet"
        frame_to_parquet(trades_table(ledger), folder / name)
        names.append(name)
    return names


def _version() -> str:
    from . import __version__

    return __version__


__all__ = ["FORMATS", "Pipeline", "Progress", "RunOptions", "RunResult", "Skip", "run", "sim_config"]
