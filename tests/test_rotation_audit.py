"""The audit trail: one JSON line per rotation step, in a 0600 file and/or on stdout, synced line by
line; never a value, even one that slipped into an error; the actor from the service account, the
store's own identity or the OS user, and a slow or failing identity lookup never holds a rotation up."""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import secrets
import stat
import time

import pytest

from secretkeeper.errors import SecretkeeperError
from secretkeeper.rotation import actor
from secretkeeper.rotation.audit import Audit, scrub

STEP = {"secret": "payments-db", "store": "aws", "path": "prod/payments/db"}


@pytest.fixture
def no_pod(tmp_path):
    return tmp_path / "no-such-token"


def lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_one_json_line_per_step_appended_to_a_0600_file(tmp_path, no_pod):
    log = tmp_path / "audit.jsonl"
    with Audit(log, stdout=False, service_account_token=no_pod) as audit:
        audit.record("started", **STEP, outcome="ok", versions={"previous": "7"})
        audit.record("staged", **STEP, outcome="ok", versions={"previous": "7", "pending": "8"})
    with Audit(log, stdout=False, service_account_token=no_pod) as audit:  # the next run appends
        audit.record("verified", **STEP, outcome="failed", error="VerifyFailed: login refused for orders")
    first, second, third = lines(log)
    assert list(first) == ["time", "actor", "secret", "store", "path", "versions", "step", "outcome", "error"]
    assert first["time"].endswith("+00:00") and first["actor"] == actor.os_user()
    assert (second["step"], second["versions"], second["error"]) == ("staged", {"previous": "7", "pending": "8"}, None)
    assert (third["outcome"], third["error"]) == ("failed", "VerifyFailed: login refused for orders")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_stdout_gets_the_same_lines(tmp_path, capsys, no_pod):
    audit = Audit(None, stdout=True, service_account_token=no_pod)
    audit.record("done", **STEP, outcome="ok")
    audit.close()
    audit.close()
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and json.loads(out[0])["step"] == "done"


def test_each_line_is_synced_before_record_returns(tmp_path, monkeypatch, no_pod):
    log = tmp_path / "audit.jsonl"
    audit = Audit(log, stdout=False, service_account_token=no_pod)
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(os.path.getsize(log)), real(fd)))
    audit.record("started", **STEP, outcome="ok")
    audit.record("staged", **STEP, outcome="ok")
    audit.close()
    assert synced == [len(log.read_text().splitlines()[0]) + 1, os.path.getsize(log)]


def _record_then_die(log, no_pod):
    Audit(log, stdout=False, service_account_token=no_pod).record("staged", **STEP, outcome="ok")
    os._exit(137)  # killed right after the step: no close, no flush at exit


def test_a_process_killed_after_a_step_keeps_its_line(tmp_path, no_pod):
    log = tmp_path / "audit.jsonl"
    child = multiprocessing.get_context("fork").Process(target=_record_then_die, args=(log, no_pod))
    child.start()
    child.join(30)
    assert child.exitcode == 137 and [r["step"] for r in lines(log)] == ["staged"]


def test_an_unwritable_audit_file_fails_before_any_step(tmp_path):
    with pytest.raises(SecretkeeperError) as err:
        Audit(tmp_path / "missing" / "audit.jsonl", stdout=False)
    assert str(err.value) == f"{tmp_path / 'missing' / 'audit.jsonl'}: cannot open the audit file: No such file or directory"


def test_a_value_in_an_error_never_reaches_the_trail(tmp_path, canary, capsys, no_pod):
    log = tmp_path / "audit.jsonl"
    key = secrets.token_urlsafe(32)
    errors = [f"login failed for postgres://orders:{canary}@db:5432/orders",
              f"token {canary} rejected\nTraceback: password={canary}",
              f"bad key {key}"]
    with Audit(log, stdout=True, service_account_token=no_pod) as audit:
        for error in errors:
            audit.record("verified", **STEP, outcome="failed", error=error)
    for text in (log.read_text(), capsys.readouterr().out):
        assert canary not in text and canary[4:24] not in text and key[:20] not in text
        assert len(text.splitlines()) == 3
    assert lines(log)[1]["error"] == "token ghp_… rejected Traceback: password=ghp_…"


@pytest.mark.parametrize("message", [
    "local store 'local': prod/payments/db: current version is 8, expected 7: another rotation or a person changed it",
    "aws store 'aws': prod/db: version 0b6a1a52-5f3e-4b8e-9d1c-2f1f0e6c9a11 is not AWSPENDING",
    "vault store 'vault': https://vault.internal.example.com:8200/v1/secret/data/apps/orders: 403 permission denied",
    "/work/tmp/pytest-of-root/pytest-12/test_x0/store/secrets/prod%2Fdb/meta.json: not valid JSON",
])
def test_ordinary_error_messages_pass_unchanged(message):
    assert scrub(message) == message


def test_an_error_is_one_bounded_line():
    got = scrub("first line\n  second line\t" + "word " * 500)
    assert "\n" not in got and got.startswith("first line second line word") and len(got) <= 500


def pod_token(tmp_path, claims: dict) -> object:
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
    token = tmp_path / "token"
    token.write_bytes(b"eyJhbGciOiJSUzI1NiJ9." + body + b".c2lnbmF0dXJl")
    return token


class Store:
    def __init__(self, answer=None, delay=0.0, fails=False):
        self.answer, self.delay, self.fails, self.asked = answer, delay, fails, 0

    def identity(self):
        self.asked += 1
        time.sleep(self.delay)
        if self.fails:
            raise RuntimeError("sts unreachable")
        return self.answer


def actor_of(tmp_path, stores, token, store="aws"):
    audit = Audit(tmp_path / "audit.jsonl", stdout=False, stores=stores, service_account_token=token)
    audit.record("started", **{**STEP, "store": store}, outcome="ok")
    audit.close()
    return lines(tmp_path / "audit.jsonl")[-1]["actor"]


def test_the_service_account_comes_first(tmp_path):
    token = pod_token(tmp_path, {"sub": "system:serviceaccount:ops:secretkeeper", "aud": ["api"]})
    store = Store("arn:aws:iam::123456789012:user/ci-bot")
    assert actor_of(tmp_path, {"aws": store}, token) == "system:serviceaccount:ops:secretkeeper"
    assert store.asked == 0, "no store is asked when the pod says who it is"


def test_then_the_stores_identity_asked_once_per_store(tmp_path, no_pod):
    store = Store("arn:aws:iam::123456789012:user/ci-bot")
    audit = Audit(tmp_path / "audit.jsonl", stdout=False, stores={"aws": store, "local": object()},
                  service_account_token=no_pod)
    for name in ("aws", "aws", "local"):
        audit.record("started", **{**STEP, "store": name}, outcome="ok")
    audit.close()
    assert [r["actor"] for r in lines(tmp_path / "audit.jsonl")] == \
        ["arn:aws:iam::123456789012:user/ci-bot"] * 2 + [actor.os_user()]
    assert store.asked == 1


@pytest.mark.parametrize("store", [Store(delay=5.0, answer="too-late"), Store(fails=True), Store(answer=None)],
                         ids=["slow", "failing", "none"])
def test_a_slow_failing_or_silent_identity_falls_back_to_the_os_user_in_bounded_time(tmp_path, monkeypatch,
                                                                                     no_pod, store):
    monkeypatch.setattr(actor, "IDENTITY_TIMEOUT", 0.2)
    started = time.monotonic()
    assert actor_of(tmp_path, {"aws": store}, no_pod) == actor.os_user()
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("content", [b"", b"not-a-jwt", b"a.!!!.c", b"a." + base64.urlsafe_b64encode(b"[1]") + b".c",
                                     b"a." + base64.urlsafe_b64encode(b'{"aud": "x"}') + b".c"])
def test_an_unreadable_pod_token_is_skipped(tmp_path, content, no_pod):
    token = tmp_path / "token"
    token.write_bytes(content)
    assert actor_of(tmp_path, {"aws": Store("arn:aws:iam::1:user/x")}, token) == "arn:aws:iam::1:user/x"
