"""Finding records: severities, redaction, fingerprints, serialisation."""

from __future__ import annotations

import pytest

from secretkeeper.findings import (
    Finding,
    Location,
    Scrubber,
    Severity,
    fingerprint,
    redact,
    sha256_hex,
)
from secretkeeper.results import ScanResult, ScanStats


def test_severity_order_and_parse():
    assert [s.rank for s in (Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)] \
        == [0, 1, 2, 3, 4]
    assert Severity.parse(" HIGH ") is Severity.HIGH
    with pytest.raises(ValueError, match="choose from info, low, medium, high, critical"):
        Severity.parse("severe")


@pytest.mark.parametrize("value, expected", [
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_…"),
    ("abcdefg", "a…"),  # short values show fewer characters
    ("abc", "…"),
    ("", "…"),
    (b"AKIAIOSFODNN7EXAMPL3", "AKIA…"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIE", "----…"),
    ("ab\ncdefghijklmnop", "ab…"),  # never past a line break
])
def test_redact(value, expected):
    assert redact(value) == expected


def test_redact_shows_at_most_four_characters():
    for n in range(80):
        secret = "x" * n
        assert len(redact(secret).rstrip("…")) <= min(4, n // 4)


TOKEN = "ghp_Zq8xLmN3pQ7wRt5Y2uVbKc9D4fGhJ1kLmN0p"


def test_scrubber_redacts_a_secret_as_written_and_as_a_kubernetes_name_spells_it():
    scrub = Scrubber([TOKEN.encode()])
    low = TOKEN.lower().replace("_", "-")
    assert scrub(f"Deployment/ns-{low}/web/app/env {TOKEN}") == "Deployment/ns-ghp-…/web/app/env ghp_…"
    assert scrub("Deployment/ns/web") == "Deployment/ns/web"
    assert scrub(f"dé/{TOKEN}/ü\udce9") == "dé/ghp_…/ü\udce9"  # other text keeps its place


def test_scrubber_joins_overlapping_secrets():
    assert Scrubber(["abcdef1h", "ef1hijkl"])("<abcdef1hijkl>") == "<abc…>"  # one redaction, 3 of 12 shown


def test_scrubber_leaves_names_that_spell_a_short_value_or_a_plain_word():
    """The password `postgres` of a database named postgres: its names give nothing more away."""
    for value in ("s3cr3", "postgres", "RABBITMQ", "Guestuser", " ", ""):
        assert not Scrubber([value]), value
    assert Scrubber(["hunter2", "Postgres1", "pOstgres", "db-pass"])("hunter2 Postgres1 postgres1 pOstgres db-pass") \
        == "h… Po… po… pO… d…"


def test_scrubber_of_many_secrets_finds_what_one_at_a_time_finds():
    """Past a few secrets the text is searched by prefix, within runs of the secrets' characters."""
    import random

    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+/="
    secrets = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 40))) for _ in range(200)]
    texts = [f"Kind/ns/{s.lower().replace('_', '-')}/c key {t} holds (1 key(s): {u}); x"
             for s, t, u in zip(secrets, secrets[1:], secrets[2:])]
    texts.append(f"{secrets[0]}{secrets[1]} and {secrets[2][:-1]}")  # adjacent, and one cut short
    many = Scrubber(secrets)
    assert many.by_prefix is not None
    for text in texts:
        expected = text
        for secret in secrets:  # none overlaps another here: one at a time gives the same result
            expected = Scrubber([secret])(expected)
        assert many(text) == expected != text


def test_scrubbed_finding_keeps_its_identity():
    """Names, message and extra text are scrubbed; the hash, fingerprint and line are what was found."""
    low = TOKEN.lower().replace("_", "-")
    f = Finding("r", "hygiene", Severity.HIGH,
                Location("manifest", f"dir-{TOKEN}/a.yaml", 3, author=f"dev {TOKEN}", email=f"{TOKEN}@e.test",
                         image=f"reg/{low}:1", object=f"Pod/ns/{low}"),
                sha256_hex("x"), "x…", "f" * 40, f"Pod {low} is bad", extra={"last_used": TOKEN, "days": 3})
    g = Scrubber([TOKEN]).finding(f)
    assert TOKEN not in repr(g.to_dict()) and low not in repr(g.to_dict())
    assert g.location.path == "dir-ghp_…/a.yaml" and g.location.object == "Pod/ns/ghp-…"
    assert g.extra == {"last_used": "ghp_…", "days": 3} and g.message == "Pod ghp-… is bad"
    assert (g.fingerprint, g.secret_sha256, g.location.line) == (f.fingerprint, f.secret_sha256, 3)
    clean = make(path="a")
    assert Scrubber([TOKEN]).finding(clean) is clean


def test_fingerprint_stable_across_lines_and_commits():
    """Findings made from the engine's matches: the same secret in the same file keeps its fingerprint
    wherever its line moves and whichever commit introduced it; another file or value changes it."""
    from tests.test_baseline import make as finding_at

    first = finding_at(line=1)
    for moved in (finding_at(line=40), finding_at(line=3, commit="c" * 40)):
        assert moved.location != first.location and moved.fingerprint == first.fingerprint
    assert finding_at(path="b.txt").fingerprint != first.fingerprint
    assert finding_at(secret="tk_" + "z9y8x7w6v5u4t3s2r1q0").fingerprint != first.fingerprint


def test_fingerprint_depends_on_rule_path_secret_and_object():
    h = sha256_hex("s3cr3t")
    a = fingerprint("rule", "a.txt", h)
    assert a == fingerprint("rule", "a.txt", h)
    assert len(a) == 40
    assert a != fingerprint("rule", "b.txt", h)
    assert a != fingerprint("other", "a.txt", h)
    assert a != fingerprint("rule", "a.txt", sha256_hex("other"))
    assert a != fingerprint("rule", "a.txt", h, extra="Deployment/x")


def test_sha256_hex_bytes_and_str_agree():
    assert sha256_hex("é") == sha256_hex("é".encode())
    assert sha256_hex("\udcff") == sha256_hex(b"\xff")  # surrogate-escaped bytes hash as the bytes


def make(**loc) -> Finding:
    location = Location(**{"source": "file", **loc})
    return Finding("r", "leak", Severity.MEDIUM, location, "ab" * 32, "ab…", "fp", "msg")


def test_equality_ignores_extra_and_to_dict_drops_empty_fields():
    f = make(path="a", line=3)
    assert f.to_dict() == {"rule_id": "r", "kind": "leak", "severity": "medium",
                           "location": {"source": "file", "path": "a", "line": 3},
                           "secret_sha256": "ab" * 32, "preview": "ab…", "fingerprint": "fp", "message": "msg",
                           "remediation": "", "description": ""}
    g = Finding(**{**f.__dict__, "extra": {"k": 1}})
    assert f == g and g.to_dict()["extra"] == {"k": 1}


def test_display():
    assert Location("file", path="a.txt", line=3).display() == "a.txt:3"
    assert Location("git", path="a.txt", line=9, commit="0123456789abcdef").display() == "a.txt:9@0123456789ab"
    assert Location("cluster", object="Secret/ns/n").display() == "Secret/ns/n"
    assert Location("file").display() == "<input>"


def test_fail_on_floor_counts_findings_at_or_above_it():
    """`scan --fail-on` exits 1 when `ScanResult.at_or_above(floor)` is not empty."""
    medium = make(path="a")
    result = ScanResult([medium], ScanStats(), ["."])
    assert result.at_or_above(Severity.LOW) == [medium] and result.at_or_above(Severity.MEDIUM) == [medium]
    assert result.at_or_above(Severity.HIGH) == []


@pytest.mark.parametrize("cls", [Location, Finding])
def test_written_out_init_matches_the_fields(cls):
    """Location and Finding spell out __init__ for speed: it must take exactly the dataclass fields, in
    order, with the same defaults, and be immutable like the generated one."""
    import dataclasses
    import inspect

    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields):
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default
        elif f.default_factory is not dataclasses.MISSING:
            assert p.default is None  # None stands for a fresh default_factory() value
        else:
            assert p.default is inspect.Parameter.empty


def test_findings_survive_pickling_as_workers_send_them():
    import pickle

    f = make(path="a", line=3, commit="c" * 40)
    g = Finding(**{**f.__dict__, "severity": Severity.CRITICAL, "extra": {"days_left": 3}})
    for x in (f, g):
        y = pickle.loads(pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL))
        assert y == x and y.extra == x.extra and y.severity is x.severity and y.location == x.location
        assert hash(y) == hash(x)
    with pytest.raises(dataclasses_frozen_error()):
        f.rule_id = "other"  # type: ignore[misc]
    assert make().extra == {} and make().extra is not make().extra


def dataclasses_frozen_error() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError
