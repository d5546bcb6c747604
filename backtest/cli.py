"""The ``backtest`` command: a thin click layer over the library.

Every command parses options, calls one library function and prints its result. Heavy modules are
imported inside the command bodies so ``backtest --help`` stays fast. User mistakes
(:class:`backtest.errors.UserError`) print one line and exit 1 (2 for usage errors); ``--debug`` shows
the traceback instead.

Exit codes: 0 success (also when some setups were skipped: they are in the report), 1 error or a skip
under ``--strict``, 2 usage error, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import signal
import sys
import threading
from pathlib import Path

import click

from . import __version__
from .engine.config import DEFAULTS, MAX_SESSIONS


INTERRUPTED = "interrupted; nothing half-written was left behind"
#: Set by :func:`main` when the environment needed fixing (e.g. an unusable ``TZ``); printed once as a warning.
_environment_notes: list[str] = []


def _fail(message: str, code: int) -> None:
    from .common import printable

    click.echo(f"error: {printable(message)}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (cron, systemd, ``kill``) behaves like Ctrl-C for the command's duration.

    Raising :class:`KeyboardInterrupt` unwinds through every ``finally``/``except BaseException`` that
    removes a temporary file (cache writes, setup files, report folders), then :func:`handle_errors`
    prints the one-line "interrupted" message and exits 130, as for Ctrl-C. A second SIGTERM during
    that cleanup is ignored, so the cleanup itself is not cut short. Outside the main thread (tests
    calling the command from a worker thread) signals cannot be handled and nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _interrupt(signum, frame):  # noqa: ARG001
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def handle_errors(func):
    """Turn library errors, interrupts and bugs into one-line messages and exit codes (``--debug`` re-raises).

    * :class:`~backtest.errors.BacktestError`: its one line, its exit code (1, or 2 for usage errors);
    * Ctrl-C or SIGTERM: ``error: interrupted; nothing half-written was left behind``, exit 130;
    * :class:`OSError` (disk full, permission denied): the path and the reason, exit 1;
    * anything else is a bug: ``error: internal error (TypeError: ...); this is a bug ...``, exit 1.

    Every line goes through :func:`backtest.common.printable`: names from user files cannot drive the
    terminal or forge log lines.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        from .errors import BacktestError

        if _environment_notes and not ctx.params.get("quiet"):
            for note in _environment_notes:
                click.echo(f"warning: {note}", err=True)
        try:
            with _terminate_as_interrupt():
                return func(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BacktestError as exc:
            if debug:
                raise
            _fail(exc.one_line(), exc.exit_code)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail(INTERRUPTED, 130)
        except OSError as exc:  # disk full, permission denied, ... : still a one-liner
            if debug:
                raise
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            _fail(f"{where}{exc.strerror or exc} (check the path, permissions and free space; --debug for details)", 1)
        except Exception as exc:  # noqa: BLE001 - a bug: one line, and --debug shows where
            if debug:
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            _fail(f"internal error ({type(exc).__name__}{': ' + first if first else ''}); this is a bug: please "
                  "report it with the command and the output of `backtest --debug ...`", 1)

    return wrapper


def _config(ctx: click.Context):
    """The configuration for this command: ``--config``, else the backtest.toml found near SETUPS (``run``) or
    the current folder, ``$BACKTEST_CONFIG``, the user config folder (:func:`backtest.config.find_config_file`),
    with the global flags applied."""
    from .config import load_config

    root = ctx.find_root().params
    near = ctx.params.get("setups") if ctx.command.name == "run" else None
    cfg = load_config(root.get("config"), near=near)
    return cfg.with_overrides(
        cache_dir=root.get("cache_dir"),
        mirrors=list(root.get("mirror") or []),
        sources=list(root.get("source") or []),
        offline=bool(root.get("offline")),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backtest")
@click.option("--config", type=click.Path(dir_okay=False),
              help="Config file. Default: backtest.toml beside or above SETUPS (run) or the current folder "
                   "(other commands), else $BACKTEST_CONFIG, else ~/.config/backtest/backtest.toml.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Parquet cache directory (overrides config).")
@click.option("--mirror", multiple=True, type=click.Path(file_okay=False),
              help="Offline CSV/parquet mirror directory (repeatable; overrides config).")
@click.option("--source", multiple=True, type=click.Choice(["cache", "mirror", "yahoo"]),
              help="Data sources in order (repeatable; overrides config).")
@click.option("--offline", is_flag=True, help="Never touch the network (drop the yahoo source).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
def cli(config, cache_dir, mirror, source, offline, debug):
    """Backtest the trade setups written in market-commentary articles on real daily bars.

    \b
    Pipeline: articles -> setups/ (YAML) -> bars -> simulation -> reports/.
      backtest extract ARTICLES... --out setups/   read articles, write setup files
      backtest run setups/                         simulate and write a report
      backtest data import DIR                     fill the cache from CSV/parquet files
    """


# ---------------------------------------------------------------------------------------------- data
@cli.group()
def data():
    """Daily bars: import, fetch and list the parquet cache."""


@data.command("import")
@click.argument("directory", type=click.Path(file_okay=False))
@click.pass_context
@handle_errors
def data_import(ctx, directory):
    """Import a directory of CSV/parquet bars (IWM.csv, RUT_INDEX.csv for ^RUT, SPLITS.csv) into the cache."""
    from .data.manage import import_directory

    rows = import_directory(Path(directory), _config(ctx))
    _print_rows(rows, ["symbol", "rows", "first", "last", "dropped", "note"])
    if any(r.get("error") for r in rows):
        sys.exit(1)


@data.command("fetch")
@click.argument("symbols", nargs=-1, required=True)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="First date (default: 2 years back).")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]),
              help="Last date to report (the cache is always refreshed through today, see docs/data.md).")
@click.pass_context
@handle_errors
def data_fetch(ctx, symbols, start, end):
    """Fetch SYMBOLS from Yahoo into the cache (only the missing date range is downloaded)."""
    from .data.manage import fetch

    rows = fetch(list(symbols), start.date() if start else None, end.date() if end else None, _config(ctx))
    _print_rows(rows, ["symbol", "rows", "first", "last", "fetched", "note"])
    if any(r.get("error") for r in rows):
        sys.exit(1)


@data.command("list")
@click.pass_context
@handle_errors
def data_list(ctx):
    """List the cached symbols: symbol, first, last, rows, source."""
    from .data.manage import list_cache

    rows = list_cache(_config(ctx))
    if not rows:
        click.echo("cache is empty (run `backtest data import DIR` or `backtest data fetch SYMBOL`)")
        return
    _print_rows(rows, ["symbol", "first", "last", "rows", "source", "basis", "note"])


# ------------------------------------------------------------------------------------------- extract
@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out_dir", default="setups", show_default=True, type=click.Path(file_okay=False),
              help="Directory for the setup files (one YAML per article).")
@click.option("--json", "as_json", is_flag=True, help="Write nothing; print JSON lines, one object per article.")
@click.option("--force", is_flag=True, help="Overwrite setup files that a person has edited.")
@click.option("--published", "published", metavar="DATE|INSTANT",
              help="Publication of every article given (2026-02-09, or 2026-02-09T14:30:00Z); basis `manual`.")
@click.pass_context
@handle_errors
def extract(ctx, paths, out_dir, as_json, force, published):
    """Read articles (files or directories) and extract their setups into reviewable YAML files."""
    from .common import printable
    from .extraction.batch import extract_json_lines, extract_to_dir, parse_published

    config = _config(ctx)
    when = parse_published(published) if published is not None else None
    if as_json:
        skipped = printed = 0
        for line in extract_json_lines([Path(p) for p in paths], config=config, published=when):
            if line.text is None:
                skipped += 1
                click.echo(f"skipped: {printable(line.skipped)}", err=True)
            else:
                click.echo(line.text)
                printed += 1
        if skipped and not printed:  # same rule as writing files: nothing readable at all is a failure
            sys.exit(1)
        return
    summary = extract_to_dir([Path(p) for p in paths], Path(out_dir), force=force, config=config, published=when)
    click.echo(summary.render())
    if summary.exit_code:
        sys.exit(summary.exit_code)


# ----------------------------------------------------------------------------------------------- run
def _finite(ctx, param, value):
    """A number option that must be finite (``nan`` and ``inf`` pass click's range check)."""
    import math

    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value!r} is not a finite number", ctx=ctx, param=param)
    return value


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (cron, systemd) behaves like Ctrl-C: the run's cleanup removes anything half-written."""
    import signal
    import threading

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


@cli.command()
@click.argument("setups", type=click.Path())
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Report folder (default reports/<run-id>/): a new or empty folder, or an earlier report's.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate as if on this date: no later bar is read.")
@click.option("--entry-window", type=click.IntRange(min=1, max=MAX_SESSIONS),
              help=f"Sessions an entry order stays working (default {DEFAULTS.entry_window}).")
@click.option("--max-hold", type=click.IntRange(min=1, max=MAX_SESSIONS),
              help=f"Holding period in sessions (default {DEFAULTS.max_hold}).")
@click.option("--delay", type=click.IntRange(min=0, max=MAX_SESSIONS),
              help="Act N sessions late: every setup's, pair's and call's first eligible session moves N sessions "
                   f"later (default {DEFAULTS.delay}; a robustness check).")
@click.option("--ambiguity", type=click.Choice(["stop-first", "target-first"]),
              help=f"Which fill wins when one bar touches both stop and target (default {DEFAULTS.ambiguity}).")
@click.option("--scale-out", type=click.Choice(["equal", "first"]),
              help=f"Several targets: equal parts or the whole position at the first (default {DEFAULTS.scale_out}).")
@click.option("--costs-bps", type=click.FloatRange(min=0), callback=_finite,
              help="Commission + slippage per side, basis points.")
@click.option("--include-incoherent", is_flag=True, help="Simulate setups the coherence check rejects (marked).")
@click.option("--format", "formats", default="html,csv,parquet,json,md", show_default=True,
              help="Comma-separated outputs: html,csv,parquet,json,md.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but the line that explains a failure.")
@click.option("--strict", is_flag=True,
              help="Exit 1 when an input was skipped, a setup had no data or no date, or the portfolio failed.")
@click.option("--keep", type=click.IntRange(min=1), help="After the run, keep only the newest N reports in reports/.")
@click.option("--no-cache", is_flag=True, help="Parse every setup file again (ignore the parsed-setup cache).")
@click.option("--dask", is_flag=True, help="Simulate in partitions on a local Dask cluster (needs the dask extra).")
@click.option("--workers", type=click.IntRange(min=1, max=1024), help="Worker processes of --dask (default 2).")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Simulate in partitions on an existing Dask cluster.")
@click.option("--partitions", type=click.IntRange(min=1, max=100_000),
              help="Setup-table partitions of --dask/--scheduler (default 4 per worker).")
@click.pass_context
@handle_errors
def run(ctx, setups, out_dir, as_of, entry_window, max_hold, delay, ambiguity, scale_out, costs_bps,
        include_incoherent, formats, quiet, strict, keep, no_cache, dask, workers, scheduler, partitions):
    """Simulate every setup in SETUPS (a directory or file of setup YAML, or raw articles) and write a report.

    \b
    Exit codes: 0 the report was written (skips and refusals are listed in it); 1 nothing could be
    evaluated (the report still says why), --strict and an input was skipped or a setup had no data
    or no date, or an error; 2 usage error; 130 interrupted.
    """
    from .common import printable
    from .run import RunOptions, run as run_backtest
    from .terminal import ProgressView, render_summary, strict_line

    options = RunOptions(
        setups=Path(setups),
        out_dir=Path(out_dir) if out_dir else None,
        as_of=as_of.date() if as_of else None,
        entry_window=entry_window,
        max_hold=max_hold,
        delay=delay,
        ambiguity=ambiguity,
        scale_out=scale_out,
        costs_bps=costs_bps,
        include_incoherent=include_incoherent,
        formats=tuple(f.strip() for f in formats.split(",") if f.strip()),
        keep=keep,
        cache=not no_cache,
        dask=dask,
        scheduler=scheduler,
        workers=workers,
        partitions=partitions,
    )
    view = ProgressView(quiet=quiet)
    try:
        with _sigterm_as_interrupt():
            result = run_backtest(options, _config(ctx), progress=view)
    finally:
        view.close()
    if not quiet:
        render_summary(result)
    nothing = result.nothing_evaluated
    if nothing:
        click.echo(f"error: {printable(options.setups)}: {nothing} (reasons in {printable(result.out_dir / 'summary.json')}"
                   f"{'' if quiet else ' and on the lines above'}); fix them and run again", err=True)
        sys.exit(1)
    if strict and result.strict_problems:
        click.echo(f"error: {strict_line(result.strict_problems)}", err=True)
        sys.exit(1)


# --------------------------------------------------------------------------------------------- sweep
@cli.command()
@click.argument("setups", type=click.Path())
@click.option("--grid", "grid", multiple=True, metavar="AXIS=V1,V2,...",
              help="One axis and its values (repeatable): entry_window, max_hold, ambiguity, scale_out, costs_bps, "
                   "coherence_pct, coherence_atr, include_incoherent, delay (see docs/sweep.md).")
@click.option("--grid-file", type=click.Path(dir_okay=False), help="A TOML file with a [grid] table of AXIS = [values].")
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Sweep folder (default reports/sweep-<id>/): a new or empty folder, or an earlier report's.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="Evaluate as if on this date: no later bar is read.")
@click.option("--include-incoherent", is_flag=True, help="Simulate setups the coherence check rejects (every cell).")
@click.option("--horizon", type=click.IntRange(min=1, max=MAX_SESSIONS), default=20, show_default=True,
              help="Horizon (sessions) of the call figures.")
@click.option("--permutations", type=click.IntRange(min=1, max=1_000_000), default=999, show_default=True,
              help="Permutations of each difference's p-value (the smallest p is 1/(N+1)).")
@click.option("--dask", is_flag=True, help="Evaluate the cells on a local Dask cluster (needs the dask extra).")
@click.option("--workers", type=click.IntRange(min=1, max=1024), help="Worker processes of --dask (default 2).")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="Evaluate the cells on an existing Dask cluster.")
@click.option("--heatmap", "heatmap_metric", metavar="METRIC", help="Metric of heatmap.html (default trades_diff_difference_pct).")
@click.option("--x", "x_axis", metavar="AXIS", help="Heatmap x axis (default the first axis).")
@click.option("--y", "y_axis", metavar="AXIS", help="Heatmap y axis (default the second axis).")
@click.option("--fix", multiple=True, metavar="AXIS=VALUE", help="Heatmap: the value shown first of another axis.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but the line that explains a failure.")
@click.option("--no-cache", is_flag=True, help="Parse every setup file again (ignore the parsed-setup cache).")
@click.pass_context
@handle_errors
def sweep(ctx, setups, grid, grid_file, out_dir, as_of, include_incoherent, horizon, permutations, dask, workers,
          scheduler, heatmap_metric, x_axis, y_axis, fix, quiet, no_cache):
    """Simulate SETUPS under every cell of a grid of rules and tabulate each cell's headline figures.

    \b
    Example:
      backtest sweep setups/ --grid entry_window=5,10,20 --grid max_hold=5,20,60 \\
          --grid ambiguity=stop-first,target-first --grid costs_bps=0,5,10
    Writes cells.csv, cells.parquet, summary.json and heatmap.html. Exit codes: 0 written, 1 error,
    2 usage error, 130 interrupted.
    """
    from .common import printable
    from .sweep.api import SweepOptions, sweep as run_sweep
    from .sweep.grid import parse_grid

    options = SweepOptions(
        setups=Path(setups), grid=parse_grid(grid, Path(grid_file) if grid_file else None),
        out_dir=Path(out_dir) if out_dir else None, as_of=as_of.date() if as_of else None,
        include_incoherent=include_incoherent, horizon=horizon, permutations=permutations, dask=dask,
        scheduler=scheduler, workers=workers, heatmap=heatmap_metric, x=x_axis, y=y_axis, fix=tuple(fix),
        cache=not no_cache)

    def progress(done: int, total: int) -> None:
        if not quiet and (done == total or done % max(1, total // 10) == 0):
            click.echo(f"cells {done}/{total}", err=True)

    with _sigterm_as_interrupt():
        result = run_sweep(options, _config(ctx), progress=progress)
    if quiet:
        return
    click.echo(f"{len(result.cells)} cells written to {printable(result.out_dir)}/ ({', '.join(result.files)})")
    skipped = result.summary["skipped"]
    if skipped:
        click.echo(f"warning: {len(skipped)} input(s) skipped, listed in summary.json; first: "
                   f"{printable(skipped[0]['item'])}: {printable(skipped[0]['reason'])}", err=True)
    for family, best in result.summary["multiple_testing"].items():
        if best["cell"] is None:
            click.echo(f"{family}: no cell has a bullish-minus-bearish p-value (fewer than two on a side)")
            continue
        where = ", ".join(f"{k}={v}" for k, v in best["axes"].items())
        click.echo(f"{family}: best cell {best['cell']} ({printable(where)}): difference {best['difference_pct']:.3f} %, "
                   f"p {best['p_value']:.4f} uncorrected, {best['p_holm']:.4f} Holm-corrected over "
                   f"{best['cells_with_p_value']} of {best['cells_tried']} cells")


# ------------------------------------------------------------------------------------------- helpers
def _print_rows(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table (no rich import needed for small outputs); cells with control characters escaped."""
    from .common import printable

    columns = [c for c in columns if any(r.get(c) not in (None, "") for r in rows)] or columns[:1]
    table = [[printable(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) if table else len(c) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def _printing_never_fails() -> None:
    """stdout/stderr escape what their encoding cannot show (``PYTHONIOENCODING=ascii``, ``LC_ALL=C``).

    Without this, a title with a curly quote or the summary's box drawing raises UnicodeEncodeError
    on a non-UTF-8 terminal or log file, for any command. ``\\u2019`` is shown instead.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or exotic stream: leave it alone
                pass


def _usable_time_zone() -> None:
    """A ``TZ`` Python cannot use (``TZ=ABC+24``) is replaced by UTC for this process, with a warning.

    Nothing here reads the local zone (times are UTC or New York), but exchange_calendars and vectorbt
    fail at import under such a ``TZ``; replacing it keeps every result the same.
    """
    import time

    from .environment import local_zone_problem

    problem = local_zone_problem()
    if problem is None:
        return
    os.environ["TZ"] = "UTC"
    if hasattr(time, "tzset"):
        time.tzset()
    _environment_notes.append(f"{problem}; using TZ=UTC (every time here is UTC or New York, so results do not change)")


#: The cycle collector's thresholds for a command's process (the default is (700, 10, 10)); see :func:`main`.
GC_THRESHOLDS = (50_000, 20, 100)


def main() -> None:
    """The ``backtest`` console entry: the process belongs to one command, so it is tuned for batch work.

    A run allocates millions of short-lived objects that reference counting frees at once (YAML nodes,
    dicts, table rows, strings); with Python's default thresholds the cycle collector still walks the
    young objects every 700 allocations: about 600 collections and 0.3 s in a 10k-setup run, plus 9 % of
    the parse processes' time (which inherit these thresholds when forked). Only reference cycles wait
    longer to be freed. Library callers keep their own settings.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    _printing_never_fails()
    _usable_time_zone()
    try:
        cli(prog_name="backtest")
    except SystemExit as stop:
        _leave_now(stop.code)
        raise


def _leave_now(code) -> None:
    """End the process at once with ``code`` once the command is done, when nothing is left running.

    A normal interpreter exit frees every object one by one (and tears down numba and pyarrow): 0.4 s
    after a 10k-setup run, about 1 s after 100k, for memory the system takes back anyway. By the time
    click exits, every file the command writes is closed (report files are written whole and renamed,
    caches are committed), so only the standard streams need flushing. Only the console entry point does
    this, and only when no other thread or child process is alive and the code is an int (a test's
    ``CliRunner`` and ``python -m`` callers exit normally); any flush failure exits normally too.
    """
    if not isinstance(code, (int, type(None))) or threading.active_count() != 1:
        return
    processes = sys.modules.get("multiprocessing")
    if processes is not None and processes.active_children():
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed pipe or stream: the normal exit reports it as it always has
    os._exit(code or 0)


if __name__ == "__main__":
    main()
