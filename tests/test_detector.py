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


def test_python_open_lower_bound_repeats_reach_hyperscan_as_repeats(backend):
    """`{,n}` is Python's `{0,n}`; Hyperscan reads it as literal text unless it is rewritten."""
    from secretkeeper.engine.hsexpr import _relax_repeats

    assert _relax_repeats(r"ab{,3}c[x]{,20}") == r"ab{0,3}c[x]*"
    pw = rule(id="pw", regex=r"pw={,3}(?P<secret>[a-z0-9]{12})", keywords=["pw"])
    assert [m.secret for m in scan([pw], "pw==zq9wkrtvbnm1\n", backend=backend)] == [b"zq9wkrtvbnm1"]


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


def test_path_rule_led_by_a_literal_still_finds_it(backend):
    led = rule(id="led", regex=r"Secret: (?P<secret>[A-Za-z0-9]{12})", path=r"\.cfg$")
    text = "x: 1\nSecret: Zq8Xv2Lm9Rt4\n"
    assert [m.rule.id for m in scan([led], text, path="a.cfg", backend=backend)] == ["led"]
    assert scan([led], text.replace("Secret", "secret"), path="a.cfg", backend=backend) == []
