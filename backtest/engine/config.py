"""The engine's configuration, :class:`SimConfig`: every run-wide rule and its default, declared once.

``backtest.toml [run]`` (:class:`backtest.config.RunDefaults`), the command line's help texts and the
library all take their defaults from :data:`DEFAULTS` (a ``SimConfig()``), so a default is written in
exactly one place. A setup file can override ``entry.window``, ``max_hold``, ``scale_out`` and
``ambiguity`` for one setup; everything else applies to the whole run.

This module imports nothing heavy (no pandas, no numba): the CLI reads the defaults at start-up.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from typing import Literal

from ..limits import MAX_SESSIONS  # noqa: E402  (re-exported: the bound on every count of sessions)
AMBIGUITY_POLICIES = ("stop-first", "target-first")
SCALE_OUT_POLICIES = ("equal", "first")


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Run-wide simulation rules (each overridable per setup where the setup file has a field).

    ``entry_window``: sessions an entry order stays working; ``max_hold``: sessions a position is held
    (entry session included); ``ambiguity``: which fill counts when one bar touches the stop and a target;
    ``scale_out``: several targets exit in equal parts or all at the first; costs in basis points per
    side; ``coherence_max_pct`` / ``coherence_max_atr``: how far from the last close a level may be;
    ``include_incoherent``: simulate incoherent setups anyway (flagged); ``as_of``: no bar after this
    date is used; ``benchmark`` and ``horizons``: directional calls are measured against this symbol
    over these numbers of sessions; ``delay``: act this many sessions late (the first eligible session of
    every setup, pair and call moves this many sessions of its series later: a robustness check against
    acting on the article at once). Out-of-range values raise ``ValueError`` naming the field.
    """

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
    delay: int = 0

    def __post_init__(self) -> None:
        for name in ("entry_window", "max_hold"):
            check_sessions(name, getattr(self, name))
        check_delay(self.delay)
        for h in self.horizons:
            check_sessions("horizons", h)
        for name in ("commission_bps", "slippage_bps", "coherence_max_pct", "coherence_max_atr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.ambiguity not in AMBIGUITY_POLICIES:
            raise ValueError(f"ambiguity must be one of {', '.join(AMBIGUITY_POLICIES)}, got {self.ambiguity!r}")
        if self.scale_out not in SCALE_OUT_POLICIES:
            raise ValueError(f"scale_out must be one of {', '.join(SCALE_OUT_POLICIES)}, got {self.scale_out!r}")

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["horizons"] = list(self.horizons)
        return out

    def digest(self) -> str:
        """Short stable hash of the configuration (part of the run id)."""
        blob = json.dumps(self.to_dict(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:8]


def check_sessions(name: str, value) -> int:
    """``value`` as a count of sessions in 1..MAX_SESSIONS, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SESSIONS:
        raise ValueError(f"{name} must be a whole number of sessions from 1 to {MAX_SESSIONS:,}, got {value!r}")
    return value


def check_delay(value) -> int:
    """``value`` as a delay in sessions, 0..MAX_SESSIONS, else ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SESSIONS:
        raise ValueError(f"delay must be a whole number of sessions from 0 to {MAX_SESSIONS:,}, got {value!r}")
    return value


#: The defaults, for the config file, the command line's help and the docs.
DEFAULTS = SimConfig()
