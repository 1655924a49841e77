"""The compiled-regex cache: catalog patterns rebuilt from the cache behave exactly like `re.compile`'s."""

from __future__ import annotations

import re
import stat

import pytest

from secretkeeper.rules import rxcache
from secretkeeper.rules import confirmation_pattern, load_builtin_rules


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(rxcache, "_pending", None)
    monkeypatch.setattr(rxcache, "_table", None)
    return tmp_path


def _same(a: re.Pattern[bytes], b: re.Pattern[bytes]) -> bool:
    return (a.pattern, a.flags, a.groups, dict(a.groupindex)) == (b.pattern, b.flags, b.groups, dict(b.groupindex))


def test_catalog_patterns_from_the_cache_equal_re_compile(fresh_cache):
    if rxcache._sre is None:  # pragma: no cover
        pytest.skip("not CPython: every regex takes re.compile")
    rules = load_builtin_rules()
    rxcache.register([r.regex for r in rules], confirmation_pattern)
    built = [rxcache.compile(r.regex, confirmation_pattern) for r in rules]  # builds and stores the cache
    (entry,) = fresh_cache.glob("rx-*.marshal")
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    rxcache._table = None  # as a new process: read back from disk
    loaded = [rxcache.compile(r.regex, confirmation_pattern) for r in rules]
    for rule, a, b in zip(rules, built, loaded):
        ref = re.compile(confirmation_pattern(rule.regex))
        assert _same(a, ref) and _same(b, ref), rule.id
        for text in rule.examples.true + rule.examples.false:  # same matches, same secret groups
            data = text.encode()
            assert [m.span("secret" if "secret" in ref.groupindex else 0) for m in b.finditer(data)] == \
                   [m.span("secret" if "secret" in ref.groupindex else 0) for m in ref.finditer(data)], rule.id


def test_unknown_regexes_and_a_damaged_cache_fall_back_to_re_compile(fresh_cache):
    rules = load_builtin_rules()[:5]
    rxcache.register([r.regex for r in rules], confirmation_pattern)
    custom = r"(?i)mytoken=(?P<secret>[a-z0-9]{12})"
    assert _same(rxcache.compile(custom, confirmation_pattern), re.compile(confirmation_pattern(custom)))
    for entry in fresh_cache.glob("rx-*.marshal"):
        entry.write_bytes(entry.read_bytes()[:40])  # truncated: a crash mid-write elsewhere, a full disk
    rxcache._table = None
    pattern = rxcache.compile(rules[0].regex, confirmation_pattern)
    assert _same(pattern, re.compile(confirmation_pattern(rules[0].regex)))


def test_without_the_cache_nothing_is_written(fresh_cache):
    rules = load_builtin_rules()[:5]
    rxcache.register([r.regex for r in rules], confirmation_pattern, use_cache=False)
    rxcache.compile(rules[0].regex, confirmation_pattern)
    assert not list(fresh_cache.glob("rx-*"))


def test_an_entry_compiled_from_other_prepared_text_is_not_used(fresh_cache):
    """The cache is keyed by the regexes as written: if how they are prepared changes, its entries must
    not stand in for the new text."""
    rules = load_builtin_rules()[:5]
    rxcache.register([r.regex for r in rules], confirmation_pattern)
    rxcache.compile(rules[0].regex, confirmation_pattern)  # builds the cache from confirmation_pattern
    rxcache._table = None

    def other(regex: str) -> bytes:
        return b"(?:" + confirmation_pattern(regex) + b")"

    assert rxcache.compile(rules[0].regex, other).pattern == other(rules[0].regex)
