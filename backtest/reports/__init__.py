"""Reports: turn a :class:`~backtest.engine.ledger.Ledger` into a report directory people and cron can use.

* :mod:`.tables` — the per-trade, per-article and per-stance tables (pure pandas);
* :mod:`.aggregate` — the outcome figures of those tables by group-by;
* :mod:`.build` — :class:`~.build.Report` (tables, ``summary.json`` content, chart data: everything a
  renderer needs) and ``write_report``;
* :mod:`.writers` — deterministic CSV/JSON/parquet formatting;
* :mod:`.outdir` — report folders: ``--out`` safety, the atomic swap, ``reports/latest``, ``--keep``;
* :mod:`.markdown`, :mod:`.html` (+ ``templates/report.html.j2``) — the human views.

The whole run (load, simulate, write) is :func:`backtest.run.run`, above the stages; what the command
prints is :mod:`backtest.terminal`. The files and their columns are documented in ``docs/reports.md`` (a
public interface) and ``docs/tables.md``.
"""
