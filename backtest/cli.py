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
import sys
from pathlib import Path

import click

from . import __version__
from .engine.config import DEFAULTS, MAX_SESSIONS


def _fail(message: str, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def handle_errors(func):
    """Turn library errors into one-line messages and exit codes (``--debug`` re-raises)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        ctx = click.get_current_context()
        debug = bool(ctx.find_root().params.get("debug"))
        from .errors import BacktestError

        try:
            return func(*args, **kwargs)
        except BacktestError as exc:
            if debug:
                raise
            _fail(exc.one_line(), exc.exit_code)
        except KeyboardInterrupt:
            if debug:
                raise
            _fail("interrupted; nothing half-written was left behind", 130)
        except OSError as exc:  # disk full, permission denied, ... : still a one-liner
            if debug:
                raise
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            _fail(f"{where}{exc.strerror or exc} (check the path, permissions and free space; --debug for details)", 1)

    return wrapper


def _config(ctx: click.Context):
    from .config import load_config

    root = ctx.find_root().params
    cfg = load_config(root.get("config"))
    return cfg.with_overrides(
        cache_dir=root.get("cache_dir"),
        mirrors=list(root.get("mirror") or []),
        sources=list(root.get("source") or []),
        offline=bool(root.get("offline")),
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="backtest")
@click.option("--config", type=click.Path(dir_okay=False), envvar="BACKTEST_CONFIG",
              help="Config file (default ./backtest.toml; env BACKTEST_CONFIG).")
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
@click.pass_context
@handle_errors
def extract(ctx, paths, out_dir, as_json, force):
    """Read articles (files or directories) and extract their setups into reviewable YAML files."""
    from .setups.api import extract_json_lines, extract_to_dir

    config = _config(ctx)
    if as_json:
        skipped, printed = [], 0
        for line in extract_json_lines([Path(p) for p in paths], config=config,
                                       on_skip=lambda reason: (skipped.append(reason), click.echo(f"skipped: {reason}", err=True))):
            click.echo(line)
            printed += 1
        if skipped and not printed:  # same rule as writing files: nothing readable at all is a failure
            sys.exit(1)
        return
    summary = extract_to_dir([Path(p) for p in paths], Path(out_dir), force=force, config=config)
    click.echo(summary.render())
    if summary.failed and not summary.written and not summary.unchanged:
        sys.exit(1)


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
@click.pass_context
@handle_errors
def run(ctx, setups, out_dir, as_of, entry_window, max_hold, delay, ambiguity, scale_out, costs_bps,
        include_incoherent, formats, quiet, strict, keep, no_cache):
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


# ------------------------------------------------------------------------------------------- helpers
def _print_rows(rows: list[dict], columns: list[str]) -> None:
    """A plain aligned table (no rich import needed for small outputs)."""
    columns = [c for c in columns if any(r.get(c) not in (None, "") for r in rows)] or columns[:1]
    table = [[str(r.get(c, "") if r.get(c) is not None else "") for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in table)) if table else len(c) for i, c in enumerate(columns)]
    click.echo("  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip())
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())


def main() -> None:
    cli(prog_name="backtest")


if __name__ == "__main__":
    main()
