"""docs/errors.md: the table of issue 14's cases names real tests (a renamed or deleted test breaks this)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_test_named_in_the_cases_table_exists():
    text = (REPO / "docs" / "errors.md").read_text()
    table = text[text.index("## The cases of issue 14"):text.index("## Where skipped and refused items are listed")]
    rows = [line for line in table.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert [int(r.split("|")[1]) for r in rows] == list(range(1, len(rows) + 1))
    named = []
    for row in rows:
        cell = row.rstrip("|").rsplit("|", 1)[-1]
        current = None
        for file_name, test_name in re.findall(r"`(test_\w+\.py)?::(test_\w+)`", cell):  # `f.py::t`, then `::t`
            current = file_name or current
            assert current, (row, test_name)
            named.append((current, test_name))
        for whole_file in re.findall(r"`(test_\w+\.py)` \(all\)", cell):
            assert (REPO / "tests" / whole_file).is_file(), whole_file
    assert len(named) >= 40
    for file_name, test_name in named:
        source = (REPO / "tests" / file_name).read_text()
        assert re.search(rf"^def {test_name}\(", source, flags=re.M), f"{file_name}::{test_name} does not exist"
