"""Where a sweep's cells are evaluated: in this process, or on a Dask distributed cluster.

Both executors take the same inputs (the setup table, the bars, one :class:`SimConfig` per cell) and
return the same list of headline dicts in cell order, computed by the same function
(:func:`backtest.sweep.cells.evaluate_cell`), so their results are equal exactly.

Dask (``pip install -e '.[dask]'``): the setup table and the bars are sent to every worker once
(``client.scatter(..., broadcast=True)``); each task is one cell and returns only its aggregates (a
dict of a few dozen numbers), never a ledger. When a worker dies, the scheduler re-runs its tasks on
another worker (and the nanny restarts it): the scattered inputs still live on the other workers, and
a cell's figures do not depend on where it ran, so the result is unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator, Sequence

from ..errors import UsageError
from .cells import CellOptions, evaluate_cell

#: What a missing dask says.
DASK_HINT = "install the optional extra: pip install -e '.[dask]' (or pip install 'dask[distributed]')"


def in_process(table, bars, configs: Sequence, options: CellOptions,
               progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every cell, one after the other, the kernel using every core."""
    out = []
    for i, config in enumerate(configs):
        out.append(evaluate_cell(table, bars, config, options))
        if progress is not None:
            progress(i + 1, len(configs))
    return out


def require_dask():
    """The ``distributed`` module, or a one-line :class:`UsageError` saying how to install it."""
    return _distributed()


def _distributed():
    try:
        import distributed
    except ImportError:
        raise UsageError("--dask and --scheduler need dask.distributed, which is not installed",
                         where="--dask", hint=DASK_HINT) from None
    return distributed


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, workers: int | None = None) -> Iterator:
    """A ``distributed.Client``: to ``scheduler`` (``tcp://HOST:PORT``), or to a new local cluster of
    ``workers`` processes (one thread each) that is shut down afterwards."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise UsageError(f"cannot reach the Dask scheduler: {exc}".splitlines()[0], where="--scheduler",
                             hint="give tcp://HOST:PORT of a running dask scheduler") from None
        with client:
            yield client
        return
    if workers is not None and workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}", where="--workers", hint="e.g. --workers 2")
    cluster = distributed.LocalCluster(n_workers=workers or 2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=50)
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def on_dask(client, table, bars, configs: Sequence, options: CellOptions,
            progress: Callable[[int, int], None] | None = None) -> list[dict]:
    """Every cell as one Dask task on ``client``'s cluster; the inputs scattered once to every worker."""
    import uuid

    distributed = _distributed()
    token = uuid.uuid4().hex[:12]  # task keys of this sweep only (a cluster may serve several)
    table_f = client.scatter(table, broadcast=True, hash=False)
    bars_f = client.scatter(bars, broadcast=True, hash=False)
    futures = [client.submit(evaluate_cell, table_f, bars_f, config, options, threads=1, key=f"sweep-cell-{token}-{i}",
                             pure=False, retries=2)
               for i, config in enumerate(configs)]
    done = 0
    for _ in distributed.as_completed(futures):
        done += 1
        if progress is not None:
            progress(done, len(futures))
    return client.gather(futures)


__all__ = ["DASK_HINT", "dask_client", "in_process", "on_dask", "require_dask"]
