"""Work spread over forked processes, one per core, results in order: the setup parser and the extractor.

:func:`fork_map` is ``map(func, chunks)``, computed by a pool of forked processes when it can be. It never
changes a result, only where it is computed; callers keep ``func`` a pure function of its chunk (and of
what the parent held at the fork). A pool that cannot start (no ``fork`` on this platform, a daemonic
dask worker) or that breaks (a worker killed by the OOM killer or ``kill -9``) costs time, not results:
the chunks not received are computed in this process. On Ctrl-C the chunks already sent finish (a few per
process, :func:`_stop`), their results are dropped, and the interrupt goes on up.
"""

from __future__ import annotations

import collections
import os
from typing import Callable, Iterator, Sequence, TypeVar

C = TypeVar("C")
R = TypeVar("R")


def fork_map(func: Callable[[C], R], chunks: Sequence[C], workers: int) -> Iterator[R]:
    """``func(chunk)`` for each chunk, in order, on ``workers`` forked processes (here when ``workers`` < 2).

    The processes are forked when the first chunk is sent, so a module-level value the caller set before
    calling is theirs too (what cannot be pickled, a closure, reaches them that way). They ignore Ctrl-C,
    take SIGTERM plainly (the parent handles both) and write nothing to the terminal. A broken pool is
    reported at once by ``concurrent.futures`` (``multiprocessing.Pool`` would wait forever).
    """
    done = 0
    pool = _pool(min(workers, len(chunks)))
    if pool is not None:
        # A few chunks per process in flight, not all of them: results that wait for the caller (which may
        # be slower, writing files) stay a bounded amount of memory however long the list is.
        in_flight = 3 * workers
        pending: collections.deque = collections.deque()
        try:
            while done < len(chunks):
                while len(pending) < in_flight and done + len(pending) < len(chunks):
                    pending.append(pool.submit(func, chunks[done + len(pending)]))
                result = _result(pending[0], pool)  # still in `pending` while awaited: _stop drains it too
                pending.popleft()
                done += 1
                yield result
        except BaseException as exc:  # GeneratorExit (the caller stopped), Ctrl-C, a broken pool
            _stop(pool, pending, drain=not isinstance(exc, _WorkerLost))  # nothing comes through a stuck pipe
            if not isinstance(exc, Exception):
                raise
        else:
            pool.shutdown(wait=True)
    for chunk in chunks[done:]:  # no pool, or what a broken one did not return
        yield func(chunk)


#: Seconds between checks that the workers are alive while a result is awaited.
POLL_SECONDS = 5.0


class _WorkerLost(Exception):
    """A worker ended and the pool did not notice (it waits for the rest of a result the worker was sending)."""


def _result(future, pool):
    """``future.result()``, unless a worker process has ended meanwhile without the pool noticing: a worker
    killed while it sends a result (the OOM killer) leaves half a message in the pipe, the pool's reader
    thread waits for the rest, and the future would never finish. Then :class:`_WorkerLost`, which the
    caller treats as a broken pool. (With ``fork`` the pool starts all its processes at the first chunk
    and never replaces one: a worker only ends by dying.)"""
    import concurrent.futures

    while True:
        try:
            return future.result(timeout=POLL_SECONDS)
        except concurrent.futures.TimeoutError:
            if _a_worker_ended(pool):
                raise _WorkerLost("a worker process ended while a result was awaited") from None


def _a_worker_ended(pool) -> bool:
    return any(p.exitcode is not None for p in list((getattr(pool, "_processes", None) or {}).values()))


#: Seconds the chunks already sent are given to finish when the caller stops (Ctrl-C, an abandoned loop).
DRAIN_SECONDS = 30.0


def _stop(pool, pending, drain: bool = True) -> None:
    """End the pool without losing the process to a hang.

    The chunks sent are let finish (a few, bounded by the in-flight count): a worker killed while it sends
    its result leaves half a message in the result pipe, and the pool's reader thread would wait for the
    rest forever (seen on Ctrl-C with results of 100 KB). They are not cancelled either: when the workers
    die too (SIGTERM to the process group), the reader thread fails every future still listed, and one
    cancelled meanwhile made it raise InvalidStateError and stop, so nothing ever finished (Python 3.11).

    The workers are killed instead, and the parent's end of the result pipe closed (so that the reader
    thread sees the pipe end rather than wait), when waiting cannot help: a chunk still running after
    :data:`DRAIN_SECONDS`; a worker that has ended while chunks are still open (it died mid-send, or the
    process group was signalled: nothing more comes through that pipe); ``drain`` False (the caller saw
    that already); or a pool whose forks failed partway (EAGAIN, ENOMEM at the first chunk): its manager
    thread never started, so nothing else would stop the workers that did start, and the interpreter
    would wait for them at exit for ever.
    """
    import concurrent.futures
    import time

    late = True
    if drain and getattr(pool, "_executor_manager_thread", None) is not None:
        deadline = time.monotonic() + DRAIN_SECONDS
        while True:
            late = concurrent.futures.wait(pending, timeout=0.5)[1]  # then: a worker gone? past the deadline?
            if not late or time.monotonic() >= deadline or _a_worker_ended(pool):
                break
    if late:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        for process in processes:
            process.kill()
        for process in processes:
            process.join()
        writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
        if writer is not None:
            _quiet_on_closed_pipe({getattr(pool, "_executor_manager_thread", None),
                                   getattr(getattr(pool, "_call_queue", None), "_thread", None)} - {None})
            writer.close()
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=not late)
    if late and manager is not None:
        # The manager closes its wake-up pipe as it ends. Let it end now: at interpreter exit,
        # concurrent.futures writes to that pipe of every pool still listed, without the lock the manager
        # closes it under, and a close between its check and its write printed "Exception ignored ...
        # OSError: [Errno 9] Bad file descriptor" (one exit in about sixty under load, Python 3.11).
        manager.join(timeout=MANAGER_EXIT_SECONDS)


#: Seconds a stopped pool's manager thread is given to end (it is woken by the closed result pipe).
MANAGER_EXIT_SECONDS = 5.0


def _quiet_on_closed_pipe(threads: set) -> None:
    """Keep the pool's own threads (its manager, its call queue's feeder) from printing a traceback when
    they meet a pipe closed under them.

    Closing the result pipe's writer is what wakes the manager (see :func:`_stop`); with the workers killed,
    a thread may then be in the middle of a read or write and end with ``OSError: [Errno 9] Bad file
    descriptor``, which ``threading`` prints to stderr: after Ctrl-C, a traceback stood beside "interrupted"
    (about one run in twenty of the test, under load). Only those threads' ``EBADF`` is silenced; any other
    exception is reported as before.
    """
    import errno
    import threading

    if not threads:
        return
    previous = threading.excepthook

    def hook(args, _previous=previous, _threads=frozenset(threads)):
        if args.thread in _threads and issubclass(args.exc_type, OSError) and \
                getattr(args.exc_value, "errno", None) == errno.EBADF:
            return
        _previous(args)

    threading.excepthook = hook


def _pool(workers: int):
    if workers < 2:
        return None
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        context = multiprocessing.get_context("fork")
    except ValueError:  # no fork on this platform: one process
        return None
    # No process is started here: they are forked at the first chunk, and a failure then (a daemonic dask
    # worker, EAGAIN) is a broken pool to fork_map, which computes the chunks in this process. The pool's
    # queues are made here, though: without working semaphores (no /dev/shm) that fails, and so does this.
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_worker_signals)
    except (OSError, ValueError, ImportError):
        return None


def _worker_signals() -> None:
    """A worker's set-up: the parent handles Ctrl-C and SIGTERM; and the worker writes nothing to the
    terminal (its results go back through the pool), so a lock the parent's progress thread held on
    stdout/stderr at the fork can never block it."""
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.stdout = sys.stderr = open(os.devnull, "w", encoding="utf-8")
