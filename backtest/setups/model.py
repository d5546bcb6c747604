"""Setup rule objects: the typed boundary between extraction (or a hand-written file) and the engine.

A *setup file* (YAML, one per article, under ``setups/``) holds an :class:`ArticleMeta` block, a list of
:class:`Setup` rules and a list of :class:`WatchLevel` context items. ``docs/setup-format.md`` documents
every field; this module is the executable form of that document.

Levels are plain floats in the price basis of the publication date (the engine converts them across
later splits). Nothing here looks at market data: ordering checks are about the levels among themselves
(a long's stop below its entry, targets above); whether the levels make sense *given the market* is the
engine's coherence check.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..common import SourceRef
from ..limits import MAX_SESSIONS, MAX_TARGETS

FORMAT_VERSION = "backtest.setups/1"
#: Publication years accepted (end exclusive): anything else is a typo, and outside the bars' time range.
PUBLISHED_YEARS = (1900, 2200)

Direction = Literal["long", "short"]
EntryType = Literal["market", "stop", "limit", "close"]
Stance = Literal["bullish", "bearish", "neutral"]
PublishedBasis = Literal["stated", "inferred", "manual"]
StanceBasis = Literal["stated", "derived"]
ResolutionStatus = Literal["ok", "unresolved"]
Ambiguity = Literal["stop-first", "target-first"]
ScaleOut = Literal["equal", "first"]

PositiveLevel = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    """Unknown fields are errors (a typo like ``stopp:`` must not be silently ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)


class Span(_Strict):
    """Character span ``[start, end)`` in the article file's decoded text. Provenance, never a copy."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Span":
        if self.end < self.start:
            raise ValueError(f"span end {self.end} is before start {self.start}")
        return self


class Provenance(_Strict):
    """Where a setup came from: the article id, the sha256 of the article file and the sentence spans."""

    article_id: str | None = None
    sha256: str | None = None
    spans: list[Span] = Field(default_factory=list)


class EntryOrder(_Strict):
    """How the position is opened.

    * ``market``: at the open of the first eligible session (``level`` must be empty).
    * ``stop``: breakout order; long fills when the high reaches ``level``, short when the low does.
    * ``limit``: pullback order; long fills when the low reaches ``level``, short when the high does.
    * ``close``: close-confirmed trigger ("on a daily close above 6,700"); long triggers when a session
      *closes* at or above ``level`` (short: at or below) and fills at the next session's open.

    ``window`` is the number of eligible sessions the order stays working (None = run default).
    """

    type: EntryType = "market"
    level: PositiveLevel | None = None
    window: int | None = Field(default=None, ge=1, le=MAX_SESSIONS)

    @model_validator(mode="after")
    def _level_matches_type(self) -> "EntryOrder":
        if self.type == "market" and self.level is not None:
            raise ValueError("a market entry takes no level; use type: stop or limit")
        if self.type != "market" and self.level is None:
            raise ValueError(f"a {self.type} entry needs a level")
        return self


class Leg(_Strict):
    """One side of a pair: the words used and the resolved symbol."""

    instrument: str
    symbol: str | None = None


class Setup(_Strict):
    """One trade rule.

    ``kind: single`` trades ``symbol`` in ``direction`` with the entry order, stop and targets.
    ``kind: pair`` buys ``long.symbol`` and shorts ``short.symbol`` in equal notional at the first
    eligible open (``direction`` is then ``long``: long the spread; levels are not used).
    """

    id: str = Field(min_length=1)
    kind: Literal["single", "pair"] = "single"
    instrument: str = ""
    symbol: str | None = None
    status: ResolutionStatus = "ok"
    direction: Direction = "long"
    entry: EntryOrder = Field(default_factory=EntryOrder)
    stop: PositiveLevel | None = None
    targets: list[PositiveLevel] = Field(default_factory=list, max_length=MAX_TARGETS)
    invalidation: PositiveLevel | None = None
    max_hold: int | None = Field(default=None, ge=1, le=MAX_SESSIONS,
                                 description="holding period in sessions; None = run default")
    scale_out: ScaleOut | None = None
    ambiguity: Ambiguity | None = None
    long: Leg | None = None
    short: Leg | None = None
    explicit: bool = True
    confidence: float | None = Field(default=None, ge=0, le=1)
    note: str | None = None
    source: Provenance = Field(default_factory=Provenance)

    @field_validator("symbol")
    @classmethod
    def _strip_symbol(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None

    @model_validator(mode="after")
    def _shape(self) -> "Setup":
        if self.kind == "pair":
            if self.long is None or self.short is None:
                raise ValueError("a pair setup needs both `long:` and `short:` legs")
            if self.entry.type != "market":
                raise ValueError("a pair setup enters at market; remove the entry level")
        else:
            if self.long is not None or self.short is not None:
                raise ValueError("`long:`/`short:` legs are only for kind: pair")
            if self.status == "ok" and not self.symbol:
                raise ValueError("status ok needs a symbol; set symbol or status: unresolved")
        return self

    # -- level ordering -------------------------------------------------------------------------
    def ordering_problems(self) -> list[str]:
        """Level-ordering violations, as human-readable strings naming the levels (empty if fine).

        A long's stop must be below its entry and its targets above (ascending); a short mirrors.
        Targets must be in the order they will be reached. These are reported, never silently fixed.
        """
        if self.kind == "pair":
            return []
        problems: list[str] = []
        sign = 1 if self.direction == "long" else -1
        entry = self.entry.level
        below, above = ("below", "above") if sign > 0 else ("above", "below")
        if entry is not None and self.stop is not None and sign * (entry - self.stop) <= 0:
            problems.append(f"stop {self.stop:g} must be {below} the {self.direction} entry {entry:g}")
        if entry is not None:
            for target in self.targets:
                if sign * (target - entry) <= 0:
                    problems.append(f"target {target:g} must be {above} the {self.direction} entry {entry:g}")
        if self.stop is not None:
            for target in self.targets:
                if sign * (target - self.stop) <= 0:
                    problems.append(f"target {target:g} must be {above} the stop {self.stop:g}")
        for first, second in zip(self.targets, self.targets[1:]):
            if sign * (second - first) <= 0:
                problems.append(f"targets {first:g} then {second:g} are not in the order a {self.direction} reaches them")
        if entry is not None and self.invalidation is not None and self.entry.type == "stop":
            # An invalidation for a breakout sits on the far side of the market from the trigger.
            if sign * (entry - self.invalidation) <= 0:
                problems.append(f"invalidation {self.invalidation:g} must be {below} the {self.direction} entry {entry:g}")
        return problems

    @property
    def symbols(self) -> list[str]:
        """Every symbol this setup needs bars for."""
        if self.kind == "pair":
            return [s for s in (self.long.symbol, self.short.symbol) if s]  # type: ignore[union-attr]
        return [self.symbol] if self.symbol else []

    @property
    def display_symbol(self) -> str:
        """``IWM`` for a single, ``SPY/IWM`` (LONG/SHORT) for a pair."""
        if self.kind == "pair":
            return f"{self.long.symbol or '?'}/{self.short.symbol or '?'}"  # type: ignore[union-attr]
        return self.symbol or "?"


class WatchLevel(_Strict):
    """A level the article mentions that is not a trade: a range, support/resistance, a quoted price."""

    instrument: str
    symbol: str | None = None
    kind: Literal["range", "support", "resistance", "level", "price"] = "level"
    levels: list[PositiveLevel] = Field(min_length=1)
    note: str | None = None
    source: Provenance = Field(default_factory=Provenance)


class ArticleMeta(_Strict):
    """What the engine and reports need to know about the article behind a setup file.

    ``published`` is a timezone-aware timestamp when a time is known, else a date: a date-only
    publication counts as published after that day's close (first eligible session is the next one).
    ``null`` when no date could be read: the file is kept, but ``backtest run`` refuses its setups until a
    date is set (``backtest extract --published``, or by hand): without one there is no "after".
    ``subject`` lists the instrument(s) the article's stance is about, for directional-call scoring.
    ``stance_basis`` is ``stated`` when the article states its stance, ``derived`` when it was derived
    from the directions of its explicit setups.
    """

    id: str = Field(min_length=1)
    title: str | None = None
    path: str | None = None
    sha256: str | None = None
    published: dt.datetime | dt.date | None
    published_basis: PublishedBasis | None = "manual"
    published_note: str | None = Field(default=None, description="how the publication was read when not stated exactly (an inferred date, a time without zone)")
    stance: Stance | None = None
    stance_basis: StanceBasis | None = None
    pulse: int | None = Field(default=None, ge=0, le=100)
    threat: int | None = Field(default=None, ge=0, le=5)
    tags: list[str] = Field(default_factory=list)
    subject: list[str] = Field(default_factory=list)
    sources: list[SourceRef] = Field(default_factory=list)

    @field_validator("published", mode="before")
    @classmethod
    def _date_only_string_is_a_date(cls, value):
        # A number is no date: pydantic would read 20260202 as seconds since 1970 (1970-08-23), and a
        # setup would then trade from the first bar in the data.
        if isinstance(value, (bool, int, float)):
            raise ValueError(f"{value!r} is a number, not a date; write it as YYYY-MM-DD or 2026-02-08T17:30:00Z "
                             "(in quotes if in doubt)")
        # "2026-02-01" means a date (published after that day's close), not a naive midnight datetime.
        if isinstance(value, str) and len(value.strip()) == 10:
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                return value
        return value

    @field_validator("published")
    @classmethod
    def _aware(cls, value: dt.datetime | dt.date | None) -> dt.datetime | dt.date | None:
        if value is None:
            return None
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            raise ValueError("a publication time needs a timezone, e.g. 2026-02-08T17:30:00Z")
        # A typo'd year (9999, 1026) must not reach the engine: it cannot be placed among the bars'
        # nanosecond session instants, and a wrapped-around instant would let a setup act before it existed.
        if not PUBLISHED_YEARS[0] <= value.year < PUBLISHED_YEARS[1]:
            raise ValueError(f"publication year {value.year} is outside {PUBLISHED_YEARS[0]}..{PUBLISHED_YEARS[1] - 1}; "
                             "check the year")
        return value

    @property
    def published_iso(self) -> str | None:
        """ISO 8601 with UTC offset when a time is known, else ``YYYY-MM-DD``; None when undated."""
        if self.published is None:
            return None
        if isinstance(self.published, dt.datetime):
            return self.published.astimezone(dt.timezone.utc).isoformat()
        return self.published.isoformat()


class SetupFile(_Strict):
    """The content of one file under ``setups/``: the boundary object the engine consumes."""

    format: Literal["backtest.setups/1"] = FORMAT_VERSION
    article: ArticleMeta
    setups: list[Setup] = Field(default_factory=list)
    watch: list[WatchLevel] = Field(default_factory=list)
    generated: dict | None = Field(
        default=None,
        description="written by `backtest extract`: tool version and content hash (edit detection)",
    )

    @classmethod
    def of(cls, article: ArticleMeta, setups: list[dict], watch: list[dict]) -> "SetupFile":
        """``SetupFile(article=article, setups=[Setup(**s) ...], watch=[WatchLevel(**w) ...])``, with the nested
        values given as dicts too (``entry``, ``long``/``short``, ``source`` and its ``spans``), validated in one
        go: the same models, validators and defaults as model by model, at a third less of the cost (one
        validation instead of some twenty for an article's models, and every after-validator run once).

        An invalid value raises the error the models built one by one, in order, give: it names the model and
        field that failed ("setup.stop: ..."), not their place in the file."""
        from pydantic import ValidationError

        try:
            return cls(article=article, setups=setups, watch=watch)
        except ValidationError:
            _one_by_one(cls, article, setups, watch)
            raise

    @model_validator(mode="after")
    def _unique_ids(self) -> "SetupFile":
        seen: set[str] = set()
        for setup in self.setups:
            if setup.id in seen:
                raise ValueError(f"duplicate setup id {setup.id!r}")
            seen.add(setup.id)
        return self


def _one_by_one(cls, article: ArticleMeta, setups: list[dict], watch: list[dict]) -> None:
    """Build the models of :meth:`SetupFile.of` one at a time, as the extractor did: the first invalid one raises."""

    def source(values: dict) -> Provenance:
        return Provenance(**{**values, "spans": [Span(**span) for span in values.get("spans", [])]})

    built = []
    for values in setups:
        provenance = source(values["source"])
        entry = EntryOrder(**values["entry"])
        legs = {side: Leg(**values[side]) for side in ("long", "short") if values.get(side) is not None}
        built.append(Setup(**{**values, "entry": entry, "source": provenance, **legs}))
    levels = [WatchLevel(**{**values, "source": source(values["source"])}) for values in watch]
    cls(article=article, setups=built, watch=levels)
