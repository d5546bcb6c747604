"""Parquet in and out of memory, without Arrow's thread pools (the one way the data layer touches pyarrow).

Why: Arrow's CPU and I/O thread pools are C++ ``std::thread`` workers, started on first use and still alive
when the interpreter exits; tearing them down while Python finalizes can end the process with SIGABRT
("terminate called without an active exception", apache/arrow#34314, #38352, #50482). Under concurrent
``backtest data import`` runs that was about 1 exit in 60. Bar files are small (decades of daily bars are a
few hundred KB), so nothing is gained from threads: files are read whole by Python (one handle: see
:func:`backtest.data.cache.read_entry`), decoded with ``use_threads=False`` through ``ParquetFile`` (the
dataset path behind ``pq.read_table``/``pd.read_parquet`` starts the I/O pool even then), and written into
a memory buffer that Python writes out. ``tests/test_data_parquet_io.py`` checks that a whole ``data
import`` starts no native thread; ``benchmarks/stress_data_import.py`` runs concurrent imports.
"""

from __future__ import annotations

import pandas as pd


def read_parquet_bytes(data: bytes) -> tuple[pd.DataFrame, dict[bytes, bytes]]:
    """(frame, schema metadata) of a parquet file's bytes; pyarrow's own errors propagate (callers report them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
    return table.to_pandas(use_threads=False), dict(table.schema.metadata or {})


def parquet_bytes(frame: pd.DataFrame, metadata: dict[bytes, bytes] | None = None) -> bytes:
    """``frame`` (index kept) as parquet file bytes, with ``metadata`` added to the schema metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=True, nthreads=1)
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()
