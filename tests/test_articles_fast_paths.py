"""The reader's cheap forms of its counts and look-ups give what the plain forms give, on any text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from backtest.articles import reader

# Characters the fast paths treat apart: letters, word marks, blanks of every kind, non-ASCII letters,
# the four characters a case-insensitive pattern reads as ASCII letters ("İ", "ı", "ſ", the Kelvin sign).
_ALPHABET = st.sampled_from(list("aZk '’-\n\r\t\x0b\x1c.,:1é€\u2028\xa0\u3000İıſ\u212a?") + ["\U0001f4c8"])
_TEXT = st.text(_ALPHABET, max_size=60) | st.text(max_size=60)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_prose_words_count_the_prose_word_matches(text):
    words = reader._PROSE_WORD.findall(text)
    assert reader._prose_words(text) == (len(words), sum(map(len, words)))


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_keys_view_lowers_the_ascii_letters_and_keeps_every_offset(text):
    low = reader.keys_view(text)
    if any(c in text for c in "İıſ"):
        assert low is None
        return
    assert low is not None and len(low) == len(text)
    for c, v in zip(text, low):
        if c.isascii():
            assert v == c.lower()
        else:
            assert not v.isascii() or v == "?" or (c == "\u212a" and v == "k")
