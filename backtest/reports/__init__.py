"""Reports: turn a :class:`~backtest.engine.ledger.Ledger` into a report directory people and cron can use.

* :mod:`.api` — ``run_report(RunOptions, Config) -> RunResult``: the whole ``backtest run`` (load setups,
  load bars, simulate, write atomically, point ``reports/latest``);
* :mod:`.tables` — the per-trade, per-article and per-stance tables (pure pandas);
* :mod:`.build` — :class:`Report` (tables + ``summary.json`` content) and ``write_report``;
* :mod:`.writers` — deterministic CSV/JSON/parquet formatting and the atomic directory swap;
* :mod:`.markdown`, :mod:`.html` (+ ``templates/report.html.j2``), :mod:`.terminal` — the human views.

The files and their columns are documented in ``docs/reports.md`` (a public interface).
"""
