"""Stepping over character classes in regex source text."""

import pytest

from secretkeeper.regextext import class_end


@pytest.mark.parametrize("pattern, end", [
    ("[abc]x", 5), ("[^abc]x", 6), ("[]a]x", 4), ("[^]a]x", 5), (r"[\]a]x", 5), (r"[a\\]x", 5), ("[abc", 5),
])
def test_class_end(pattern, end):
    assert class_end(pattern, 0) == end


def test_factored_alternation_is_a_prefix_tree() -> None:
    from secretkeeper.regextext import factor_alternations

    assert factor_alternations("(?i)(?:access|auth|api|app|bearer)_token") == \
        "(?i)(?:a(?:ccess|uth|p(?:i|p))|bearer)_token"
    # a word that is a prefix of a later one stays first to be tried (`?` is greedy: longer first)
    assert factor_alternations("(?:public|publishable|pub)") == "(?:p(?:u(?:b(?:l(?:i(?:c|shable)))?)))"
    # an empty-rest branch tried before others, case variants, classes and escapes: left as written
    assert factor_alternations("(?:pub|public)") == "(?:p(?:u(?:b|blic)))"
    assert factor_alternations("(?:Pass|pass|PWD)") == "(?:Pass|pass|PWD)"
    assert factor_alternations(r"[(?:ab|ac)]\(?:ab|ac)") == r"[(?:ab|ac)]\(?:ab|ac)"
    assert factor_alternations("(?:a.b|a-c)") == "(?:a.b|a-c)"


def test_factored_alternations_match_exactly_like_the_original() -> None:
    """Same matches, spans and groups under finditer, with and without IGNORECASE (random words that
    share prefixes, differ in case and contain one another)."""
    import random
    import re

    from secretkeeper.regextext import factor_alternations

    rng = random.Random(5)
    alpha = "abAB_1"
    for _ in range(1500):
        words = ["".join(rng.choice(alpha) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(2, 7))]
        pattern = f"{rng.choice(['', '(?i)'])}(?P<k>(?:{'|'.join(words)}))(?P<t>[ab]*)x?"
        before, after = re.compile(pattern), re.compile(factor_alternations(pattern))
        for _ in range(8):
            text = "".join(rng.choice(alpha + "x ") for _ in range(12))
            assert [(m.span(), m.groups()) for m in before.finditer(text)] == \
                [(m.span(), m.groups()) for m in after.finditer(text)], (pattern, text)


def test_catalog_patterns_keep_their_groups() -> None:
    import re

    from secretkeeper.regextext import factor_alternations
    from secretkeeper.rules import load_builtin_rules

    for rule in load_builtin_rules():
        assert re.compile(factor_alternations(rule.regex)).groupindex == re.compile(rule.regex).groupindex
