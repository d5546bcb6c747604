"""``backtest run --dask``: the setup table simulated in partitions on a Dask cluster, merged exactly.

The table is cut at article boundaries into contiguous partitions of about equal numbers of setups
(:func:`partition`); each partition is one task running the engine's one path
(:func:`backtest.engine.simulation.simulate`) on the bars, which are scattered to every worker once.
The partitions' ledgers are merged (:func:`merge`) into the ledger the whole table gives in one
process, row for row, so the report built from it is byte-identical (tested):

* every per-setup result depends only on its own row and the bars, and every per-article call only on its
  article, so concatenating the partitions' ``trades``, ``exits``, ``calls`` and ``coherence`` in
  partition order gives the whole table's rows in the whole table's order (exits are ordered by row,
  then leg and tranche; coherence by row, then level; calls by article, then symbol and horizon);
* ``skipped`` (series that could not be loaded) lists first the symbols the setups missed in row
  order, then those only the calls missed: each task also returns its partition's two orders (from the
  engine's screening and calls functions), and the merge replays them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

#: Partitions per worker when ``--partitions`` is not given (a few, so a lost worker costs little).
PARTITIONS_PER_WORKER = 4


def partition(table, parts: int) -> list:
    """``table`` cut into at most ``parts`` contiguous SetupTables at article boundaries."""
    from ..setups.table import SetupTable

    n_articles = len(table.articles)
    if n_articles == 0 or parts <= 1:
        return [table]
    article = table.setups["article"].to_numpy(dtype=np.int64)
    per_article = np.bincount(article, minlength=n_articles) + 1  # an article without setups still counts
    cumulative = np.cumsum(per_article)
    cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, parts) / parts, side="left") + 1
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 1, n_articles), [n_articles]]))
    out = []
    for a0, a1 in zip(bounds[:-1], bounds[1:]):
        rows = (article >= a0) & (article < a1)
        setups = table.setups[rows].reset_index(drop=True)
        setups["article"] = setups["article"] - a0
        out.append(SetupTable(articles=table.articles.iloc[a0:a1].reset_index(drop=True), setups=setups))
    return out


def simulate_part(table, bars, config) -> tuple:
    """One task: the partition's ledger and the two orders of missing symbols (setups', calls')."""
    from ..engine.calls import directional_calls
    from ..engine.market import Market
    from ..engine.screening import R_NO_BARS, screen
    from ..engine.simulation import simulate

    ledger = simulate(table, bars, config, threads=1)
    market = Market.of(bars, config.as_of)
    sc = screen(table, market, config)
    setup_missing = list(dict.fromkeys(sc.missing_symbol[sc.reason == R_NO_BARS]))
    _, call_missing = directional_calls(table, market, config)
    # the bars go back to the client only once (merge), not once per partition
    return dataclasses.replace(ledger, bars=None), setup_missing, list(call_missing)


def merge(results: list[tuple], bars):
    """The partitions' ledgers as one :class:`~backtest.engine.ledger.Ledger` (see the module docstring);
    ``bars`` is the bar set the tasks were given (the ledger carries it cut at ``--as-of``, as the engine does)."""
    from ..engine.market import Market

    ledgers = [r[0] for r in results]
    first = ledgers[0]

    def concat(name):
        frames = [getattr(l, name) for l in ledgers]
        nonempty = [f for f in frames if len(f)]
        if not nonempty:
            return frames[0]
        return pd.concat(nonempty, ignore_index=True) if len(nonempty) > 1 else nonempty[0].reset_index(drop=True)

    setup_order = list(dict.fromkeys(s for r in results for s in r[1]))
    call_order = list(dict.fromkeys(s for r in results for s in r[2]))
    by_setup, by_call = {}, {}
    for ledger, setup_missing, call_missing in results:
        skips = {s.item: s for s in ledger.skipped}
        for symbol in setup_missing:
            by_setup.setdefault(symbol, skips[symbol])
        for symbol in call_missing:
            if symbol not in setup_missing:
                by_call.setdefault(symbol, skips[symbol])
    skipped = [by_setup[s] for s in setup_order] + [by_call[s] for s in call_order if s not in by_setup]
    return dataclasses.replace(first, trades=concat("trades"), exits=concat("exits"), calls=concat("calls"),
                               coherence=concat("coherence"), skipped=skipped,
                               bars=Market.of(bars, first.config.as_of).bars)


def simulate_on_dask(client, table, bars, config, parts: int | None = None) -> tuple:
    """(merged ledger, the partitions' ledgers): every partition one task on ``client``'s cluster."""
    import uuid

    workers = max(1, len(client.scheduler_info().get("workers", {})))
    pieces = partition(table, parts or workers * PARTITIONS_PER_WORKER)
    bars_f = client.scatter(bars, broadcast=True, hash=False)
    token = uuid.uuid4().hex[:12]
    futures = [client.submit(simulate_part, piece, bars_f, config, key=f"run-part-{token}-{k}", pure=False, retries=2)
               for k, piece in enumerate(pieces)]
    results = client.gather(futures)
    return merge(results, bars), [r[0] for r in results]


__all__ = ["PARTITIONS_PER_WORKER", "merge", "partition", "simulate_on_dask", "simulate_part"]
