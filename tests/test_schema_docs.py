"""docs/tables.md documents every declared table from its declaration (sqlite-utils' docs test, for schemas).

Regenerate the file with ``python -m backtest.schema`` after changing a schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backtest.schema import DOC, render_doc, schemas

REPO = Path(__file__).resolve().parents[1]


def test_docs_tables_agree_with_the_declared_schemas():
    text = (REPO / DOC).read_text(encoding="utf-8")
    assert render_doc(text) == text, "docs/tables.md is stale: run `python -m backtest.schema`"
    for name in schemas():
        assert f"<!-- schema: {name} -->" in text, f"{name} is not documented in {DOC}"


def test_a_column_missing_from_the_docs_is_detected():
    text = (REPO / DOC).read_text(encoding="utf-8")
    mangled = text.replace("| `ambiguous` | bool |", "| `ambiguous_typo` | bool |", 1)
    assert mangled != text and render_doc(mangled) != mangled
    with pytest.raises(KeyError):
        render_doc("<!-- schema: nosuchtable -->\n<!-- /schema -->")


def test_ledger_frames_have_exactly_the_declared_columns_and_dtypes():
    import datetime as dt

    from backtest.data.bars import BarSet
    from backtest.engine import SimConfig, simulate
    from backtest.setups.model import SetupFile

    file = SetupFile.model_validate({"article": {"id": "a", "published": dt.date(2026, 3, 2), "stance": "bullish",
                                                 "subject": ["NONE"]},
                                     "setups": [{"id": "s", "symbol": "NONE", "stop": 1}]})
    ledger = simulate([file], BarSet(), SimConfig(horizons=(1,)))
    tables = schemas()
    for name in ("trades", "exits", "calls", "coherence"):
        frame, schema = getattr(ledger, name), tables[name]
        assert list(frame.columns) == list(schema.names), name
        for column in schema.columns:
            assert str(frame[column.name].dtype) == schema.pandas_dtype(column.name), (name, column.name)
