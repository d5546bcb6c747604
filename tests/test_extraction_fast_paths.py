"""Fast paths of the extractor give what the plain regex gives (property tests on odd text).

Each fast path replaces a scan that Python's ``re`` would try at every character with one that starts from
a literal; the output of extraction must not change, so each is checked against the scan it replaces.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.extraction.extractor import _LOG_LINE, _log_times


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0129:: \t-—–amETutc\n٣")), max_size=40), st.integers(0, 6),
       st.integers(0, 6))
def test_log_times_are_the_log_line_matches(text, cut_start, cut_end):
    start = min(cut_start, len(text))
    end = max(start, len(text) - cut_end)
    assert [m.span() for m in _log_times(text, start, end)] == [m.span() for m in _LOG_LINE.finditer(text, start, end)]
