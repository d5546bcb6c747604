"""The engine's boundary objects: :class:`SimConfig` in, :class:`Ledger` out.

The ledger is what the reports consume. Its ``trades`` columns are a public interface
(``docs/reports.md``): keep the names, add new ones at the end.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Literal

import pandas as pd

from ..common import Skip  # noqa: F401  (re-exported: the ledger carries skips)

#: Status of a setup after simulation. ``open`` = still running when the data (or --as-of) ended.
STATUSES = ("filled", "open", "expired", "cancelled", "rejected", "unresolved", "no-data")
#: Statuses whose entry may have filled: ``filled`` (exited) or ``open`` (see :func:`entered_mask`).
ENTERED = ("filled", "open")
#: Statuses of setups that were refused before simulation (data, coherence, resolution): what --strict counts.
REFUSED = ("rejected", "no-data", "unresolved")

#: Columns of ``Ledger.trades`` in order (public interface; see docs/reports.md).
TRADE_COLUMNS = (
    "setup_id", "article_id", "published", "stance", "pulse", "threat", "symbol", "direction", "kind",
    "entry_type", "entry_level", "stop", "targets", "status", "reason", "entry_time", "entry_price",
    "exit_time", "exit_price", "exit_reason", "return_pct", "r_multiple", "mae_pct", "mfe_pct",
    "sessions_held", "ambiguous",
    # additions
    "instrument", "explicit", "invalidation", "incoherent", "first_session", "ref_date", "ref_close",
    "long_symbol", "short_symbol", "long_return_pct", "short_return_pct",
    "return_pct_stop_first", "return_pct_target_first",
    "long_entry_price", "short_entry_price",
)

#: Columns of ``Ledger.exits``: one row per partial or full exit fill (tranche), per leg for pairs.
EXIT_COLUMNS = ("setup_id", "leg", "tranche", "fraction", "time", "price", "reason")

#: Columns of ``Ledger.calls``: directional calls, one row per article x subject symbol x horizon.
#: ``primary`` marks the article's first subject symbol: aggregates count each article's call once, on it
#: (IWM and ^RUT are one call about small caps, not two).
CALL_COLUMNS = (
    "article_id", "stance", "symbol", "direction", "horizon", "start_time", "start_price", "end_time",
    "end_price", "return_pct", "benchmark_return_pct", "excess_pct", "hit",
    # additions
    "primary",
)

#: Columns of ``Ledger.coherence``: every level of every single setup against the last close before publication.
COHERENCE_COLUMNS = (
    "setup_id", "symbol", "level_name", "level", "ref_date", "ref_close", "atr14", "distance_pct",
    "distance_atr", "verdict",
)


def entered_mask(trades: pd.DataFrame) -> pd.Series:
    """Rows of a trades table whose entry filled: status ``filled``/``open`` *with* an entry time.

    An ``open`` row without an entry time is an entry order still working when the data (or --as-of)
    ended: not a trade. The one definition of *entered* for the portfolio and every report table.
    """
    return trades["status"].isin(ENTERED) & trades["entry_time"].notna()


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Run-wide simulation rules (each overridable per setup where the setup file has a field)."""

    entry_window: int = 20
    max_hold: int = 60
    ambiguity: Literal["stop-first", "target-first"] = "stop-first"
    scale_out: Literal["equal", "first"] = "equal"
    commission_bps: float = 0.0
    slippage_bps: float = 0.0
    coherence_max_pct: float = 15.0
    coherence_max_atr: float = 10.0
    include_incoherent: bool = False
    as_of: dt.date | None = None
    benchmark: str = "SPY"
    horizons: tuple[int, ...] = (1, 5, 20, 60)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["horizons"] = list(self.horizons)
        return out

    def digest(self) -> str:
        """Short stable hash of the configuration (part of the run id)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]


@dataclasses.dataclass
class Ledger:
    """Everything the simulation produced.

    * ``trades``: one row per setup (``TRADE_COLUMNS``), refused setups included with their reason;
    * ``exits``: the individual exit fills (``EXIT_COLUMNS``);
    * ``calls``: directional-call forward returns (``CALL_COLUMNS``);
    * ``coherence``: the market-coherence measurements (``COHERENCE_COLUMNS``);
    * ``skipped``: inputs that could not be evaluated at all (bad files, missing series).
    """

    trades: pd.DataFrame
    exits: pd.DataFrame
    calls: pd.DataFrame
    coherence: pd.DataFrame
    config: SimConfig
    skipped: list[Skip] = dataclasses.field(default_factory=list)
