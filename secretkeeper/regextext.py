"""Reading regex source text (not compiling it): where a character class ends.

The engine's prefilter trimming and the git scanner's anchor check both walk pattern text and must step
over `[...]` as a unit, including `[]...]`, `[^]...]` and escaped `\\]`.
"""

from __future__ import annotations


def class_end(pattern: str, i: int) -> int:
    """Index just past the character class that opens at `pattern[i] == "["`."""
    j = i + 1
    if pattern[j : j + 1] == "^":
        j += 1
    if pattern[j : j + 1] == "]":  # a `]` first in the class is a literal
        j += 1
    while j < len(pattern) and pattern[j] != "]":
        j += 2 if pattern[j] == "\\" else 1
    return j + 1
