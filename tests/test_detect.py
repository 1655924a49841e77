"""The engine on hand-made rules: prefilter + confirm, filters, path gates, near anchors, overlaps."""

from __future__ import annotations

import pytest

from secretkeeper.engine import Detector
from secretkeeper.findings import finding_from_match
from secretkeeper.findings import Location
from secretkeeper.rules import RuleError, rule_from_mapping


def rule(**kw):
    base = {"description": "test rule", "severity": "high", "remediation": "rotate it",
            "examples": {"true": ["x"], "false": ["y"]}}
    base.update(kw)
    return rule_from_mapping(base, "test", "test")


TOKEN = rule(id="tok", regex=r"\b(?P<secret>tk_[a-z0-9]{20})\b", keywords=["tk_"])
GENERIC = rule(id="gen", regex=r"(?i)token\s*=\s*(?P<secret>\S{8,})", keywords=["token"], generic=True)
PAIR = rule(id="pair", regex=r"(?<![A-Za-z0-9])(?P<secret>[A-Za-z0-9]{30})(?![A-Za-z0-9])",
            keywords=[], near={"rule": "tok", "lines": 2}, entropy=3.0)
PGPASS = rule(id="pgpass", regex=r"(?m)^[^:\n]+:[^:\n]+:[^:\n]+:[^:\n]+:(?P<secret>[^\n]+)$",
              path=r"(^|/)\.pgpass$")
SECRET = "tk_" + "a1b2c3d4e5f6g7h8i9j0"


@pytest.fixture(params=["hyperscan", "re"])
def backend(request):
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    return request.param


def scan(rules, text, path="f.txt", backend="re", **kw):
    return Detector(rules, backend=backend, use_cache=False).scan(text.encode(), path, **kw)


def test_finds_token_with_line_and_offsets(backend):
    text = "one\ntwo\nkey: " + SECRET + "\n"
    (m,) = scan([TOKEN], text, backend=backend)
    assert m.rule.id == "tok" and m.line == 3 and m.secret == SECRET.encode()
    assert text.encode()[m.start:m.end] == SECRET.encode()


def test_many_hits_in_a_big_buffer_all_found(backend):
    lines = [f"line {i}" if i % 50 else f"k{i} = {SECRET[:-2]}{i % 100:02d}" for i in range(5000)]
    found = scan([TOKEN], "\n".join(lines), backend=backend)
    assert len(found) == 100
    assert {m.line for m in found} == {i + 1 for i in range(0, 5000, 50)}


def test_generic_rule_yields_to_specific(backend):
    found = scan([TOKEN, GENERIC], f"token = {SECRET}\n", backend=backend)
    assert [m.rule.id for m in found] == ["tok"]
    both = scan([TOKEN, GENERIC], f"token = {SECRET}\n", backend=backend, resolve=False)
    assert {m.rule.id for m in both} == {"tok", "gen"}


def test_near_rule_only_fires_close_to_its_anchor(backend):
    pair = "Zq8Xv2Lm9Rt4Wn7Bp3Kc6Yh1Df5Gs0J"[:30]
    close = f"id = {SECRET}\nsecret = {pair}\n"
    far = f"id = {SECRET}\n\n\n\n\nsecret = {pair}\n"
    assert "pair" in {m.rule.id for m in scan([TOKEN, PAIR], close, backend=backend)}
    assert "pair" not in {m.rule.id for m in scan([TOKEN, PAIR], far, backend=backend)}
    assert not scan([TOKEN, PAIR], f"secret = {pair}\n", backend=backend)


def test_near_rule_with_several_anchors_and_the_same_line(backend):
    vendor = rule(id="vendor", regex=r"(?i)acme_secret\s*=\s*(?P<secret>[A-Za-z0-9]{24})\b", keywords=[],
                  near={"rule": ["tok", "gen"], "lines": 0})
    value = "Zq8Xv2Lm9Rt4Wn7Bp3Kc6Yh1"
    assert vendor.near.rules == ("tok", "gen")
    assert "vendor" in {m.rule.id for m in scan([TOKEN, GENERIC, vendor], f"acme_secret = {value} token = {value}\n",
                                               backend=backend, resolve=False)}
    # the anchor on the next line is not the same line
    assert "vendor" not in {m.rule.id for m in scan([TOKEN, GENERIC, vendor], f"acme_secret = {value}\n{SECRET}\n",
                                                   backend=backend)}
    with pytest.raises(RuleError, match="near"):
        rule(id="bad", regex=r"(?P<secret>x)", near={"rule": []})


def test_path_gated_rule_runs_only_on_matching_paths(backend):
    text = "db.example.internal:5432:app:app:Xk29!fPq\n"
    assert [m.rule.id for m in scan([PGPASS], text, path="home/.pgpass", backend=backend)] == ["pgpass"]
    assert scan([PGPASS], text, path="notes.txt", backend=backend) == []


@pytest.mark.parametrize("marker", ["secretkeeper:allow", "gitleaks:allow", "pragma: allowlist secret"])
def test_inline_ignores(backend, marker):
    assert scan([TOKEN], f"x = '{SECRET}'  # {marker}\n", backend=backend) == []


def test_inline_ignore_nextline(backend):
    text = f"# pragma: allowlist nextline secret\nx = '{SECRET}'\ny = '{SECRET}'\n"
    assert [m.line for m in scan([TOKEN], text, backend=backend)] == [3]


def test_placeholder_filter_and_entropy(backend):
    placeholder = rule(id="ph", regex=r"pw=(?P<secret>\S+)", keywords=["pw="])
    assert scan([placeholder], "pw=changeme\npw=${DB_PASSWORD}\npw=<your-password>\npw=xxxxxxxx\n",
                backend=backend) == []
    assert len(scan([placeholder], "pw=Tr0ub4dor&3x\n", backend=backend)) == 1
    low = rule(id="ent", regex=r"pw=(?P<secret>\S+)", keywords=["pw="], entropy=3.5)
    assert scan([low], "pw=aaaabbbb\n", backend=backend) == []


def test_allowlist_stopwords_and_regexes(backend):
    r = rule(id="al", regex=r"\b(?P<secret>tk_[a-z0-9]{20})\b", keywords=["tk_"],
             allowlist={"stopwords": ["a1b2"], "regexes": ["^tk_0+$"], "paths": ["^fixtures/"]})
    assert scan([r], SECRET, backend=backend) == []
    assert scan([r], "tk_" + "0" * 20, backend=backend) == []
    other = "tk_" + "z9y8x7w6v5u4t3s2r1q0"
    assert len(scan([r], other, backend=backend)) == 1
    assert scan([r], other, path="fixtures/a.txt", backend=backend) == []


def test_finding_never_holds_the_secret():
    (m,) = scan([TOKEN], SECRET)
    f = finding_from_match(m, Location(source="file", path="a.txt", line=m.line))
    dumped = repr(f) + repr(f.to_dict())
    assert SECRET not in dumped and SECRET[:5] not in dumped
    assert f.preview == "tk_a…" and len(f.secret_sha256) == 64


def test_fingerprint_ignores_line_moves():
    (a,) = scan([TOKEN], SECRET)
    (b,) = scan([TOKEN], "\n\n\n" + SECRET)
    fa = finding_from_match(a, Location(source="file", path="a.txt", line=a.line))
    fb = finding_from_match(b, Location(source="file", path="a.txt", line=b.line))
    assert fa.fingerprint == fb.fingerprint and fa.location.line != fb.location.line


def test_hyperscan_cache_roundtrip(tmp_path, monkeypatch):
    pytest.importorskip("hyperscan")
    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    first = Detector([TOKEN, GENERIC], backend="hyperscan")
    assert list(tmp_path.glob("hs-*.db"))
    second = Detector([TOKEN, GENERIC], backend="hyperscan")
    assert second.prefilter.modes == first.prefilter.modes
    assert [m.rule.id for m in second.scan(SECRET.encode())] == ["tok"]
    (cache,) = tmp_path.glob("hs-*.db")
    assert cache.stat().st_mode & 0o777 == 0o600


def test_disabling_an_anchor_disables_its_paired_rule():
    from secretkeeper.rules import merge_rules

    assert [r.id for r in merge_rules([TOKEN, PAIR, GENERIC], [], disabled=["tok"])] == ["gen"]


def test_keyword_fallback_sees_keywords_inside_longer_keywords():
    """'password' (another rule's keyword) must not hide 'pass' from the rules keyed on it."""
    longer = rule(id="longer", regex=r"password_hash=(?P<secret>\S+)", keywords=["password"])
    short = rule(id="short", regex=r"(?i)pass\w*\s*=\s*(?P<secret>\S{6,})", keywords=["pass"])
    assert [m.rule.id for m in scan([longer, short], "password = Xk29fPq7", backend="re")] == ["short"]


def test_config_changes_never_recompile_the_catalog(tmp_path, monkeypatch):
    """Disabling or overriding a shipped rule masks it; a custom rule gets its own small database."""
    pytest.importorskip("hyperscan")
    from dataclasses import replace

    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    catalog = [TOKEN, GENERIC]
    Detector(catalog, catalog=catalog)
    (first,) = tmp_path.glob("hs-*.db")
    stamp = first.stat().st_mtime_ns

    only_generic = Detector([GENERIC], catalog=catalog)
    assert list(tmp_path.glob("hs-*.db")) == [first] and first.stat().st_mtime_ns == stamp
    assert [m.rule.id for m in only_generic.scan(f"token = {SECRET}".encode())] == ["gen"]

    louder = Detector([replace(TOKEN, severity=TOKEN.severity.CRITICAL), GENERIC], catalog=catalog)
    (m,) = louder.scan(SECRET.encode())
    assert m.rule.severity.value == "critical" and list(tmp_path.glob("hs-*.db")) == [first]

    custom = replace(rule(id="mine", regex=r"\b(?P<secret>zz_[a-z]{12})\b", keywords=["zz_"]), family="custom")
    with_custom = Detector([TOKEN, GENERIC, custom], catalog=catalog)
    assert len(list(tmp_path.glob("hs-*.db"))) == 2
    assert {m.rule.id for m in with_custom.scan(f"{SECRET} zz_abcdefghijkl".encode())} == {"tok", "mine"}


def test_two_specific_rules_on_the_same_secret_report_it_once(backend):
    wide = rule(id="wide", regex=r'"key": "(?P<secret>tk_[a-z0-9]{20})"', keywords=['"key"'])
    assert [m.rule.id for m in scan([TOKEN, wide], f'{{"key": "{SECRET}"}}', backend=backend)] == ["tok"]
    other = "tk_" + "z9y8x7w6v5u4t3s2r1q0"
    both = scan([TOKEN], f"{SECRET} {other}", backend=backend)
    assert len(both) == 2, "distinct secrets side by side are both reported"


def test_rule_cache_holds_no_examples(tmp_path, monkeypatch):
    from secretkeeper.rules import load_builtin_rules

    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    rules = load_builtin_rules()
    assert rules and not any(r.examples.true for r in rules)
    (cached,) = tmp_path.glob("catalog-*.json")
    assert '"examples"' not in cached.read_text()
    assert all(r.examples.true for r in load_builtin_rules(examples=True))


@pytest.mark.parametrize("regex, expected", [
    (r"(?i)[\w.-]{0,40}?(?:password|secret)\s*=\s*(?P<secret>\S{8,64})(?![\w])",
     r"(?i)(?:password|secret)\s*=\s*(?P<secret>\S{8,64})"),
    (r"(?<![A-Za-z0-9])AKIA[0-9A-Z]{16}(?![A-Z0-9])", r"AKIA[0-9A-Z]{16}"),
    (r"\b(?P<secret>ghp_[0-9A-Za-z]{36})\b", r"(?P<secret>ghp_[0-9A-Za-z]{36})"),
    (r"a|b", r"a|b"),  # top-level alternation: left alone
    (r"x?", r"x?"),
    (r"BEGIN[\s\S]{4,99}END(?:\n)?", r"BEGIN[\s\S]{4,99}END(?:\n)?"),  # an optional tail with a newline stays
])
def test_prefilter_trimming_keeps_every_match_end(regex, expected):
    from secretkeeper.engine.hsexpr import _trim_for_prefilter

    assert _trim_for_prefilter(regex) == expected


@pytest.mark.parametrize("with_catalog", [False, True])
def test_markers_reported_by_every_backend(backend, with_catalog, tmp_path, monkeypatch):
    """The manifest/certificate markers come from the prefilter pass (or a byte search without one)."""
    from secretkeeper.engine import MARKERS
    from secretkeeper.pipeline import builtin_rules

    monkeypatch.setenv("SECRETKEEPER_CACHE_DIR", str(tmp_path))
    catalog = builtin_rules() if with_catalog else None
    det = Detector([TOKEN], backend=backend, catalog=catalog)
    for text, want in [("apiVersion: v1\nkind: Pod\n", {MARKERS[0]}), ("plain text\n", set()),
                       (f"-----BEGIN CERTIFICATE-----\nMIIB\napiVersion {SECRET}\n", set(MARKERS))]:
        seen: set[bytes] = set()
        det.scan(text.encode(), "x.yaml", markers=seen)
        assert seen == want, text


@pytest.mark.parametrize("regex,expected", [
    (r"(?i:(?:twitter|(?<![a-z])x)[\w.]{0,20}secret)", r"(?i:(?:twitter|(?:^|[^a-z])x)[\w.]{0,20}secret)"),
    (r"(?<![A-Za-z0-9])(?P<secret>AKIA[0-9A-Z]{16})", r"(?:^|[^A-Za-z0-9])(?P<secret>AKIA[0-9A-Z]{16})"),
    (r"(?i)(?:(?<!\w)tok|(?<![^a-z])mj)", r"(?i)(?:(?:^|\W)tok|(?:^|[a-z])mj)"),
    (r"foo(?<![a-z])bar", r"foo(?<![a-z])bar"),  # not where a match starts: left alone
    (r"(?:a|b)(?<![a-z])x", r"(?:a|b)(?<![a-z])x"),
    (r"(?<!ab)x", r"(?<!ab)x"),  # two characters: left alone
])
def test_leading_lookbehinds_become_consumed_characters(regex, expected):
    from secretkeeper.engine.hsexpr import _consume_leading_lookbehinds

    assert _consume_leading_lookbehinds(regex) == expected


def test_hyperscan_expressions_find_every_example_match():
    """Every shipped rule's Hyperscan expression (trimmed, relaxed, lookbehinds consumed) has a match
    within the lines of each match in its true examples, and all but a few run exactly, not approximated."""
    import re

    from secretkeeper.engine.hsexpr import hs_expression, hs_source, needs_prefilter_mode
    from secretkeeper.rules import load_builtin_rules

    approximated = 0
    for rule in load_builtin_rules(examples=True):
        if rule.path or rule.near:
            continue
        expr = re.compile(hs_expression(hs_source(rule)).encode())
        approximated += needs_prefilter_mode(expr)
        for text in rule.examples.true:
            data = text.encode()
            for m in rule.pattern.finditer(data):
                lo = data.rfind(b"\n", 0, m.start()) + 1
                hi = data.find(b"\n", m.end())
                assert expr.search(data, lo, len(data) if hi < 0 else hi + 1), (rule.id, text)
    assert approximated <= 5


def _resolve_overlaps_by_pairs(matches):
    """The rule `resolve_overlaps` implements, written the obvious (quadratic) way."""
    ranked = sorted(matches, key=lambda m: (m.rule.generic, m.rule.family == "generic", -m.rule.severity.rank,
                                            -(m.end - m.start), m.rule.id))
    kept = []
    for m in ranked:
        if not any(min(k.end, m.end) - max(k.start, m.start) > 0
                   and (m.rule.generic or min(k.end, m.end) - max(k.start, m.start)
                        >= 0.8 * min(k.end - k.start, m.end - m.start)) for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: (m.start, m.rule.id))


def test_overlap_resolution_matches_the_pairwise_rule():
    """Overlaps are resolved through an index of kept matches (a file of thousands of secrets was
    quadratic); the result is what comparing every pair gives, for nested, chained and wide matches."""
    import random

    from secretkeeper.engine import Match
    from secretkeeper.engine.policy import resolve_overlaps

    rules = [TOKEN, GENERIC, rule(id="wide", regex=r"(?P<secret>x+)", severity="critical"),
             rule(id="low", regex=r"(?P<secret>y+)", severity="low")]
    rng = random.Random(7)
    for trial in range(300):
        matches = []
        for _ in range(rng.randrange(2, 60)):
            start = rng.randrange(0, 400)
            end = start + rng.choice([1, 2, 5, 20, 40, 300])
            matches.append(Match(rng.choice(rules), start, end, b"s" * (end - start), 1, start))
        assert resolve_overlaps(matches) == _resolve_overlaps_by_pairs(matches), trial


def test_python_open_lower_bound_repeats_reach_hyperscan_as_repeats(backend):
    """`{,n}` is Python's `{0,n}`; Hyperscan reads it as literal text unless it is rewritten."""
    from secretkeeper.engine.hsexpr import _relax_repeats

    assert _relax_repeats(r"ab{,3}c[x]{,20}") == r"ab{0,3}c[x]*"
    pw = rule(id="pw", regex=r"pw={,3}(?P<secret>[a-z0-9]{12})", keywords=["pw"])
    assert [m.secret for m in scan([pw], "pw==zq9wkrtvbnm1\n", backend=backend)] == [b"zq9wkrtvbnm1"]


@pytest.mark.parametrize("regex,expected", [
    # up to the first item that cannot match empty: the group (items are atoms, `token` is five)
    (r"(?i)(?:pub)?[_.-]?(?:access|auth)token[ \t]*=(?P<secret>\w+)", r"(?i)(?:pub)?[_.-]?(?:access|auth)"),
    (r"(?i)\b(?:pass|pwd)\s*=\s*(?P<secret>\w{8,40})", r"(?i)\b(?:pass|pwd)"),
    (r"(?<![a-z])x_[a-z]{4,60}=(?P<secret>\w+)", r"(?:^|[^a-z])x"),
    (r"(?:^|\s)--password[= ](?P<secret>\S+)", r"(?:^|\s)-"),  # `(?:^|\s)` alone can be empty
    (r"(?P<secret>[0-9]{2,40})", None),  # the prefix would be the whole regex
    (r"a|b", None),
    (r"(?x) a b (?P<secret>c)", None),  # verbose: not read as items
    (r"x=(?P<secret>\w+)\Z", r"x"),
    (r"\Ax=(?P<secret>\w+)", None),  # `\A` means the buffer's start even in multi-line mode
])
def test_start_expression_is_a_prefix_every_match_begins_with(regex, expected):
    from secretkeeper.engine.hsexpr import start_expression

    assert start_expression(regex) == expected


def test_start_index_finds_exactly_what_finditer_finds():
    """Hit lines of a line rule are tried only where Hyperscan says a match can start: for
    every shipped rule that has such an index, on its examples padded, doubled and cut at random, the
    matches (whole match and secret group) are those `finditer` finds on the same lines."""
    import random
    import re

    pytest.importorskip("hyperscan")
    from secretkeeper.engine.regexfacts import can_match_newline
    from secretkeeper.rules import load_builtin_rules

    rng = random.Random(11)
    det = Detector(load_builtin_rules(examples=True), backend="hyperscan", use_cache=False)
    fillers = [b"", b"x", b"_", b"$", b" ", b"\t", b"a1", b"Pass", b"token ", b"= ", b"PUB_", b"zz" * 30]
    indexed = 0
    for r in det.rules:
        if r.path or r.near or can_match_newline(r.pattern):
            continue
        index = det.confirmer.start_index(r)
        if index is None:
            continue
        indexed += 1
        examples = [e.encode() for e in (*r.examples.true, *r.examples.false)]
        lines = []
        for ex in examples:
            for line in ex.split(b"\n"):
                lines.append(line)
                lines.append(rng.choice(fillers) * rng.randrange(1, 3) + line + rng.choice(fillers) + line)
                cut = rng.randrange(len(line) + 1)
                lines.append(b"y" * 60 + line[cut:] + b" " + line[:cut] + rng.choice(fillers))
                lines.append(b"z" * 40 + line)  # long enough for the index however short the example
        data = b"\n".join(lines) + b"\n"
        windows, lo = [], 0
        for line in lines:
            windows.append((lo, lo + len(line) + 1))
            lo += len(line) + 1
        group = r.secret_group
        want = [(m.span(), m.span(group)) for lo, hi in windows for m in r.pattern.finditer(data, lo, hi)]
        got = [(m.span(), m.span(group)) for m in index.matches(r.pattern, data, windows)]
        assert got == want, r.id
        assert want, r.id  # the examples do match somewhere: the comparison is not vacuous
    assert indexed >= 20
    assert re  # imported for the reader: the comparison is with `re`'s own finditer


@pytest.mark.parametrize("regex", [
    rb"(?i)(?:pub)?[_.-]?(?:access|auth)token=(?P<secret>\w+)",
    rb"(?<![a-z])x_[a-z]{1,6}=\w+",
    rb"(?:^|[\s\"'])--?[a-z-]{0,30}pass",
    rb"\b(?:os\.)?environ\.get\(|\$_ENV\[|(?i:env)\(",
    rb"[^a-z\n]x|\dy|\Wz",
    rb"(?i)[\w.]{0,3}?(?-i:Q)",
    rb"(?i:[a-f])(?-i:G)|(?>ab|cd)e|x*+y",
])
def test_first_bytes_rules_out_only_bytes_no_match_begins_with(regex):
    import random
    import re

    from secretkeeper.engine.regexfacts import first_bytes

    pattern = re.compile(regex)
    table = first_bytes(pattern)
    assert table is not None and 0 < sum(table) < 256
    rng = random.Random(5)
    pieces = [bytes([b]) for b in b"abcdefgxyzQG_-.=([$ \t\"'\n0123456789ACTEUPSenvio"] + [
        b"pub", b"ACCESS", b"auth", b"token=", b"x_", b"--", b"pass", b"os.", b"environ.get(", b"$_ENV[",
        b"ENV(", b"ab", b"cd", b"e", b"xy", b"Q", b"fG"]
    starts = 0
    for _ in range(20000):
        s = b"".join(rng.choice(pieces) for _ in range(rng.randrange(1, 6)))
        if pattern.match(s):
            starts += 1
            assert table[s[0]], (regex, s)
    assert starts >= 3  # the property was exercised


def test_first_bytes_gives_up_where_a_match_can_be_empty():
    import re

    from secretkeeper.engine.regexfacts import first_bytes

    assert first_bytes(re.compile(rb"a?b*")) is None
    assert first_bytes(re.compile(rb".x")) is None  # every byte but a newline: no help either way


def test_start_index_tries_inside_a_span_that_began_in_the_last_match():
    """A span that began inside the previous match and reaches past it: the leftmost start Hyperscan
    reports is behind the match's end, and the real next start (same span end) is hidden behind it."""
    pytest.importorskip("hyperscan")
    r = rule(id="xyz", regex=r"x?y?zz=(?P<secret>[a-x]+)", keywords=["zz="])
    det = Detector([r], backend="hyperscan", use_cache=False)
    index = det.confirmer.start_index(r)
    assert index is not None
    data = b"zz=abxyzz=cd" + b" " * 40 + b"\n"  # long enough for the index
    want = [m.span() for m in r.pattern.finditer(data)]
    assert want == [(0, 6), (6, 12)]
    assert [m.span() for m in index.matches(r.pattern, data, [(0, len(data))])] == want


def test_no_catalog_expression_hands_hyperscan_a_wide_bounded_repeat():
    """Relaxed repeats are also a correctness guard: the Hyperscan in use drops matches of
    `[(x]"[A-Z_]{0,15}KEY` (a range of 15 and up) when two occurrences are a few dozen bytes apart."""
    import re

    from secretkeeper.engine.hsexpr import hs_expression, hs_source
    from secretkeeper.rules import load_builtin_rules

    for rule in load_builtin_rules():
        if rule.path or rule.near:
            continue
        for lo, hi in re.findall(r"(?<!\\)\{(\d*),(\d+)\}", hs_expression(hs_source(rule))):
            assert int(hi) - int(lo or 0) < 8, rule.id


def test_password_hashes_are_findings_outside_test_code_only():
    """Hash tests carry published vectors next to their plaintexts; a dump, a fixture or a shadow file
    elsewhere holds real ones."""
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector

    det = build_detector(Config())
    line = b"INSERT INTO users VALUES (1, 'ann', '$2b$12$5XcC7v7HKs6LW5Z1cqPlVPlDBTFt2AOl9LgcmzBw1YkcapB/R8exg');\n"
    assert [m.rule.id for m in det.scan(line, "db/seed.sql")] == ["bcrypt-hash"]
    assert [m.rule.id for m in det.scan(line, "fixtures/users.sql")] == ["bcrypt-hash"]
    for path in ("spec/lib/password_digest_spec.rb", "tests/auth/test_vectors.py", "pkg/auth/hash_test.go",
                 "src/test/java/HashTest.java", "web/src/hash.test.ts"):
        assert det.scan(line, path) == [], path


def test_literal_prefix_of_path_rules():
    import re

    from secretkeeper.engine.regexfacts import literal_prefix

    assert literal_prefix(re.compile(rb"NoEcho[ \t]*:")) == b"NoEcho"
    assert literal_prefix(re.compile(rb"abc|abd")) == b"ab"
    assert literal_prefix(re.compile(rb"(?i)NoEcho")) == b""  # any case: no literal to look for
    assert literal_prefix(re.compile(rb"(?m)^x")) == b""


def test_path_rule_led_by_a_literal_still_finds_it(backend):
    led = rule(id="led", regex=r"Secret: (?P<secret>[A-Za-z0-9]{12})", path=r"\.cfg$")
    text = "x: 1\nSecret: Zq8Xv2Lm9Rt4\n"
    assert [m.rule.id for m in scan([led], text, path="a.cfg", backend=backend)] == ["led"]
    assert scan([led], text.replace("Secret", "secret"), path="a.cfg", backend=backend) == []
