"""``SetupFile.of`` (the extractor's one validation of a whole file) gives what the models built one by one
give: the same setup file when the values are valid (types, field order, fields set; checked on every corpus
when it was written), and the same error, naming the same model and field, when one is not."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import BaseModel, ValidationError

from backtest.extraction.batch import _value_error_line
from backtest.setups.model import ArticleMeta, EntryOrder, Leg, Provenance, Setup, SetupFile, Span, WatchLevel

META = dict(id="t", path="t.txt", sha256="ab" * 32, published=dt.date(2026, 2, 9), published_basis="stated")


def _single(**changes):
    values = dict(id="t-s1", kind="single", instrument="AMD", symbol=" AMD ", status="ok", direction="long",
                  entry={"type": "stop", "level": 160, "window": None}, stop=152.0, targets=[175, 182.5],
                  invalidation=None, explicit=True, note="n",
                  source={"article_id": "t", "sha256": "ab" * 32, "spans": [{"start": 1, "end": 9}]})
    values.update(changes)
    return values


def _pair(**changes):
    values = dict(id="t-s2", kind="pair", instrument="long SPY / short IWM", symbol=None, status="ok",
                  direction="long", entry={"type": "market"}, long={"instrument": "SPY", "symbol": "SPY"},
                  short={"instrument": "IWM", "symbol": "IWM"}, explicit=False, note=None,
                  source={"article_id": "t", "sha256": "ab" * 32, "spans": [{"start": 3, "end": 4}]})
    values.update(changes)
    return values


def _watch(**changes):
    values = dict(instrument="AMD", symbol="AMD", kind="support", levels=[150], note=None,
                  source={"article_id": "t", "sha256": "ab" * 32, "spans": [{"start": 1, "end": 2}]})
    values.update(changes)
    return values


def _model_by_model(setups, watch):
    """The models built as the extractor built them before SetupFile.of."""
    def source(values):
        return Provenance(article_id=values["article_id"], sha256=values["sha256"],
                          spans=[Span(start=s["start"], end=s["end"]) for s in values["spans"]])
    meta = ArticleMeta(**META)
    built = []
    for values in setups:
        provenance = source(values["source"])
        extra = {side: Leg(**values[side]) for side in ("long", "short") if side in values}
        built.append(Setup(**{**values, **extra, "entry": EntryOrder(**values["entry"]), "source": provenance}))
    levels = [WatchLevel(**{**values, "source": source(values["source"])}) for values in watch]
    return SetupFile(article=meta, setups=built, watch=levels)


def _shape(x):
    if isinstance(x, BaseModel):
        return type(x), sorted(x.model_fields_set), [(k, _shape(v)) for k, v in x.__dict__.items()]
    if isinstance(x, list):
        return [_shape(v) for v in x]
    return type(x), x


def test_valid_values_give_the_same_setup_file():
    setups, watch = [_single(), _pair()], [_watch(), _watch(levels=[140.5, 150])]
    got = SetupFile.of(ArticleMeta(**META), setups, watch)
    assert _shape(got) == _shape(_model_by_model(setups, watch))
    assert got.setups[0].symbol == "AMD" and got.setups[0].entry.level == 160.0  # (validators and coercion ran)


@pytest.mark.parametrize("setups, watch", [
    ([_single(stop=-1.0)], []),
    ([_single(entry={"type": "market", "level": 5.0})], []),
    ([_single(source={"article_id": "t", "sha256": "x", "spans": [{"start": 9, "end": 1}]})], []),
    ([_single(symbol=None)], []),
    ([_single(targets=[1.0] * 99)], []),
    ([_pair(entry={"type": "stop", "level": 3.0})], []),
    ([_pair(long={"instrument": "SPY", "symbol": "SPY", "x": 1})], []),
    ([_single(), _single()], []),  # duplicate ids: the file's own check
    ([_single()], [_watch(levels=[])]),
    ([_single()], [_watch(source={"article_id": "t", "sha256": "x", "spans": [{"start": -1, "end": 2}]})]),
    ([_single(stop=-1.0)], [_watch(levels=[])]),  # the first model to fail is the setup
])
def test_an_invalid_value_gives_the_error_of_the_models_built_one_by_one(setups, watch):
    with pytest.raises(ValidationError) as expected:
        _model_by_model(setups, watch)
    with pytest.raises(ValidationError) as got:
        SetupFile.of(ArticleMeta(**META), setups, watch)
    assert got.value.title == expected.value.title
    assert got.value.errors(include_context=False) == expected.value.errors(include_context=False)
    assert str(got.value) == str(expected.value)
    assert _value_error_line(got.value) == _value_error_line(expected.value)
