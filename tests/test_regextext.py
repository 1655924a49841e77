"""Stepping over character classes in regex source text."""

import pytest

from secretkeeper.regextext import class_end


@pytest.mark.parametrize("pattern, end", [
    ("[abc]x", 5), ("[^abc]x", 6), ("[]a]x", 4), ("[^]a]x", 5), (r"[\]a]x", 5), (r"[a\\]x", 5), ("[abc", 5),
])
def test_class_end(pattern, end):
    assert class_end(pattern, 0) == end
