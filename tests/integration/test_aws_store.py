"""The AWS Secrets Manager store against moto in server mode, over HTTP.

Consumers read as External Secrets or an application would: GetSecretValue with VersionStage=AWSCURRENT.
Labels are asserted from DescribeSecret (exactly one AWSCURRENT, no AWSPENDING left), never inferred
from a plain read (moto answers a read without a label with a version it no longer calls current).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import traceback
import uuid
from typing import Any

import boto3
import pytest

from providers.base import STORES, Step
from providers.errors import Conflict, NotFound, Refused, StoreError
from providers.stores.aws.journal import journal_name
from tests.conftest import make_token
from tests.emulators.aws_faults import AwsFault
from tests.integration.aws_child import record, rotate
from tests.integration.aws_server import REGION, ROOT, fake_env, free_port, make_store, unique_path


pytestmark = pytest.mark.integration

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"


def token() -> str:
    return str(uuid.uuid4())


def create(client: Any, path: str, data: dict[str, str]) -> str:
    """A secret with a current value, as a person or Terraform makes it; returns its version id."""
    return client.create_secret(Name=path, SecretString=json.dumps(data))["VersionId"]


def labels(client: Any, path: str) -> dict[str, set[str]]:
    """Version id -> labels, for the versions that have any."""
    versions = client.describe_secret(SecretId=path).get("VersionIdsToStages", {})
    return {vid: set(stages) for vid, stages in versions.items() if stages}


def consumer_read(client: Any, path: str) -> dict[str, str]:
    return json.loads(client.get_secret_value(SecretId=path, VersionStage=CURRENT)["SecretString"])


def holders(client: Any, path: str, label: str) -> list[str]:
    return [vid for vid, stages in labels(client, path).items() if label in stages]


def promote_as_someone_else(client: Any, path: str, data: dict[str, str] | str, current: str) -> str:
    """Another rotator's complete rotation, through the AWS API itself."""
    theirs = token()
    text = data if isinstance(data, str) else json.dumps(data)
    client.put_secret_value(SecretId=path, ClientRequestToken=theirs, SecretString=text,
                            VersionStages=["THEIRS"])
    client.update_secret_version_stage(SecretId=path, VersionStage=CURRENT, MoveToVersionId=theirs,
                                       RemoveFromVersionId=current)
    return theirs


# -- the staging-label protocol -------------------------------------------------------------------------
def test_a_staged_value_becomes_current_only_when_promoted(aws_store, aws_client):
    path = unique_path()
    old = create(aws_client, path, {"password": "old-Qx81"})
    new = {"password": "nëw-Zr94-pässwörd".encode(), "username": b"svc-orders"}
    t = token()

    staged = aws_store.stage(path, new, token=t)
    assert (staged.version, staged.data, staged.stages) == (t, new, {PENDING})
    assert consumer_read(aws_client, path) == {"password": "old-Qx81"}
    assert aws_store.read(path).data == {"password": b"old-Qx81"}
    assert aws_store.staged(path, t).data == new
    assert aws_store.status([path])[path].in_progress and aws_store.status([path])[path].current == old

    aws_store.promote(path, t, expect_current=old)
    assert consumer_read(aws_client, path) == {"password": "nëw-Zr94-pässwörd", "username": "svc-orders"}
    current = aws_store.read(path)
    assert (current.version, current.data) == (t, new) and CURRENT in current.stages
    assert labels(aws_client, path) == {t: {CURRENT}, old: {PREVIOUS}}  # one AWSCURRENT, AWSPENDING gone
    assert aws_store.read(path, old).data == {"password": b"old-Qx81"}
    status = aws_store.status([path])[path]
    assert (status.exists, status.current, status.in_progress) == (True, t, False)


def test_promote_is_a_compare_and_set(aws_store, aws_client):
    path = unique_path()
    old = create(aws_client, path, {"password": "old"})
    mine = aws_store.stage(path, {"password": b"mine"}, token=token()).version
    theirs = promote_as_someone_else(aws_client, path, {"password": "theirs"}, old)

    with pytest.raises(Conflict, match=f"current version is {theirs}, not {old}"):
        aws_store.promote(path, mine, expect_current=old)
    assert consumer_read(aws_client, path) == {"password": "theirs"}
    assert holders(aws_client, path, CURRENT) == [theirs] and holders(aws_client, path, PENDING) == [mine]


def test_promote_loses_to_a_promotion_made_between_its_look_and_its_move(aws_store, aws_client):
    """The race a look-then-move leaves open: AWS's own check (RemoveFromVersionId) settles it."""
    path = unique_path()
    old = create(aws_client, path, {"password": "old"})
    mine = aws_store.stage(path, {"password": b"mine"}, token=token()).version
    theirs: list[str] = []

    def just_before_the_move(params: dict[str, Any], **_: Any) -> None:
        if params.get("VersionStage") == CURRENT and not theirs:
            theirs.append(promote_as_someone_else(aws_client, path, {"password": "theirs"}, old))

    aws_store.api.client.meta.events.register(
        "before-parameter-build.secrets-manager.UpdateSecretVersionStage", just_before_the_move)
    with pytest.raises(Conflict, match="another rotation or a person changed the secret first"):
        aws_store.promote(path, mine, expect_current=old)
    assert theirs and consumer_read(aws_client, path) == {"password": "theirs"}
    assert holders(aws_client, path, CURRENT) == theirs


def test_a_first_rotation_creates_the_secret_without_a_current_value(moto, aws_env, aws_client):
    store = make_store(moto.endpoint, kms_key_id="alias/sk-test")
    path = unique_path()
    with pytest.raises(NotFound):
        store.read(path)
    assert not store.status([path])[path].exists
    t = token()

    store.stage(path, {"password": b"first-Wq27"}, token=t)
    assert consumer_read(aws_client, path) == {}  # the placeholder: no key a consumer could use
    with pytest.raises(NotFound, match="no value yet"):
        store.read(path)
    status = store.status([path])[path]
    assert (status.exists, status.in_progress) == (False, True)
    assert aws_client.describe_secret(SecretId=path)["KmsKeyId"] == "alias/sk-test"

    store.promote(path, t, expect_current=None)
    assert consumer_read(aws_client, path) == {"password": "first-Wq27"}
    assert holders(aws_client, path, CURRENT) == [t] and not holders(aws_client, path, PENDING)

    late = store.stage(path, {"password": b"second-bootstrap"}, token=token()).version  # a second first run
    with pytest.raises(Conflict, match=f"current version is {t}, not the bootstrap placeholder"):
        store.promote(path, late, expect_current=None)
    assert consumer_read(aws_client, path) == {"password": "first-Wq27"}


def test_a_secret_created_without_a_value_is_bootstrapped_the_same_way(aws_store, aws_client):
    path = unique_path()
    aws_client.create_secret(Name=path)  # as Terraform declares one: no version at all
    t = token()
    aws_store.stage(path, {"password": b"first"}, token=t)
    assert consumer_read(aws_client, path) == {}
    aws_store.promote(path, t, expect_current=None)
    assert aws_store.read(path).data == {"password": b"first"}
    assert holders(aws_client, path, CURRENT) == [t]


def test_every_verb_is_safe_to_repeat(aws_store, aws_client):
    path = unique_path()
    old = create(aws_client, path, {"password": "old"})
    t = token()
    first = aws_store.stage(path, {"password": b"first-issue"}, token=t)
    again = aws_store.stage(path, {"password": b"reissued-after-a-crash"}, token=t)
    assert again == first and again.data == {"password": b"first-issue"}
    assert aws_store.staged(path, t) == first
    assert set(labels(aws_client, path)) == {old, t}

    aws_store.promote(path, t, expect_current=old)
    aws_store.promote(path, t, expect_current=old)
    assert labels(aws_client, path) == {t: {CURRENT}, old: {PREVIOUS}}

    other = aws_store.stage(path, {"password": b"rolled-back"}, token=token()).version
    aws_store.discard(path, other)
    aws_store.discard(path, other)
    aws_store.discard(path, token())  # never existed
    aws_store.discard(unique_path(), other)  # no such secret
    assert labels(aws_client, path) == {t: {CURRENT}, old: {PREVIOUS}}
    assert aws_store.staged(path, other) is None  # discarded: not a version to resume

    aws_store.annotate(path, {"last-rotated": "2026-03-01T03:00:00+00:00", "issuer": "random"})
    aws_store.annotate(path, {"last-rotated": "2026-03-01T03:00:00+00:00", "issuer": "random"})
    assert aws_store.status([path])[path].metadata == {"last-rotated": "2026-03-01T03:00:00+00:00",
                                                       "issuer": "random"}


def test_a_half_finished_rotation_shows_and_guards_the_secret(aws_store, aws_client):
    path = unique_path()
    old = create(aws_client, path, {"password": "old"})
    left = aws_store.stage(path, {"password": b"left-by-a-crash"}, token=token()).version
    status = aws_store.status([path])[path]
    assert status.in_progress and status.current == old and status.exists

    with pytest.raises(Conflict, match=f"half-finished \\(version {left} is AWSPENDING"):
        aws_store.stage(path, {"password": b"another"}, token=token())
    with pytest.raises(StoreError, match="is current and cannot be discarded"):
        aws_store.discard(path, old)

    aws_store.discard(path, left)
    assert not aws_store.status([path])[path].in_progress
    t = token()
    aws_store.stage(path, {"password": b"another"}, token=t)
    assert holders(aws_client, path, PENDING) == [t] and consumer_read(aws_client, path) == {"password": "old"}


def test_a_secret_aws_rotates_itself_is_refused(aws_store, aws_client):
    path = unique_path()
    create(aws_client, path, {"password": "old"})
    # moto turns rotation on without a Lambda function; on AWS this takes RotationLambdaARN too.
    aws_client.rotate_secret(SecretId=path, RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    before = labels(aws_client, path)

    with pytest.raises(Refused, match=f"{path}: AWS rotates this secret itself"):
        aws_store.stage(path, {"password": b"mine"}, token=token())
    with pytest.raises(Refused, match="AWS rotates this secret itself"):
        aws_store.promote(path, next(iter(before)), expect_current=None)
    assert labels(aws_client, path) == before
    assert "AWS rotates this secret itself" in aws_store.status([path])[path].refused


def test_values_aws_cannot_hold_are_one_line_errors_without_the_value(aws_store, aws_client):
    canary = make_token()
    path = unique_path()
    with pytest.raises(StoreError, match="the value of key 'blob' is not UTF-8") as caught:
        aws_store.stage(path, {"blob": b"\xff\xfe" + canary.encode()}, token=token())
    assert canary not in str(caught.value)
    with pytest.raises(aws_client.exceptions.ResourceNotFoundException):
        aws_client.describe_secret(SecretId=path)  # refused before any request

    for secret, needle in ((dict(SecretString=f"password={canary}"), "SecretString is not JSON"),
                           (dict(SecretString=json.dumps([canary])), "not a JSON object of text values"),
                           (dict(SecretBinary=canary.encode()), "holds SecretBinary")):
        other = unique_path()
        aws_client.create_secret(Name=other, **secret)
        with pytest.raises(StoreError, match=needle) as caught:
            aws_store.read(other)
        assert canary not in str(caught.value) and "\n" not in str(caught.value)


# -- the journal ----------------------------------------------------------------------------------------
def test_the_journal_is_a_compare_and_set_lock(aws_store, aws_client):
    path = unique_path()
    create(aws_client, path, {"password": "old"})
    journal = aws_store.journal(path)
    assert journal.read() is None
    mine = record(path, Step.STARTED, "t1", None, holder="ci@runner-1 pid 10")
    theirs = record(path, Step.STARTED, "t2", None, holder="ci@runner-2 pid 20")

    journal.write(mine, expect=None)
    assert journal.read() == mine and aws_store.status([path])[path].in_progress
    with pytest.raises(Conflict, match="rotation journal held by ci@runner-1 pid 10 \\(step started") as lost:
        journal.write(theirs, expect=None)
    assert lost.value.holder == mine

    staged = record(path, Step.STAGED, "t1", None, holder="ci@runner-1 pid 10")
    journal.write(staged, expect=mine)
    with pytest.raises(Conflict) as stale:
        journal.write(theirs, expect=mine)  # expects a record that is no longer there
    assert stale.value.holder == staged
    with pytest.raises(Conflict):
        journal.clear(expect=mine)
    assert journal.read() == staged

    journal.clear(expect=staged)
    journal.clear(expect=staged)
    assert journal.read() is None and not aws_store.status([path])[path].in_progress
    journal.write(theirs, expect=None)  # the lock is free again
    assert journal.read() == theirs
    aws_store.journal(path).clear(expect=theirs)  # another run ends it
    with pytest.raises(Conflict, match="journal was cleared by another run") as cleared:
        journal.write(record(path, Step.STAGED, "t2", None, holder="ci@runner-2 pid 20"), expect=theirs)
    assert cleared.value.holder is None


def test_a_corrupt_journal_is_a_one_line_error(aws_store, aws_client):
    path = unique_path()
    journal = aws_store.journal(path)
    journal.write(record(path, Step.STARTED, "t1", None), expect=None)
    promote_as_someone_else(aws_client, journal_name(path), "{not json",  # a hand edit
                            holders(aws_client, journal_name(path), CURRENT)[0])
    with pytest.raises(StoreError, match=f"{journal_name(path)}: rotation journal record is not valid JSON"):
        journal.read()


def _child(mode: str, args: dict[str, Any], crash_at: str | None = None) -> subprocess.Popen[str]:
    crash = {"SECRETKEEPER_CRASH_AT": crash_at} if crash_at else {}
    proc = subprocess.Popen([sys.executable, "-m", "tests.integration.aws_child", mode], cwd=ROOT, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**fake_env(), "PYTHONPATH": str(ROOT), **crash})
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(args) + "\n")
    proc.stdin.flush()
    return proc


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """The child's stdout and stderr once it exited (its outputs are a few lines)."""
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.close()
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.wait(timeout=120)
    return out, err


@pytest.mark.parametrize("journal_exists", [False, True], ids=["journal-created-in-the-race", "journal-idle"])
def test_two_processes_racing_for_the_journal_one_wins(aws_store, moto, journal_exists):
    for _ in range(3):
        path = unique_path()
        if journal_exists:
            first = record(path, Step.DONE, "t0", None, holder="earlier run")
            aws_store.journal(path).write(first, expect=None)
            aws_store.journal(path).clear(expect=first)
        procs = [_child("lock", {"endpoint": moto.endpoint, "path": path, "holder": name})
                 for name in ("runner-a", "runner-b")]
        for proc in procs:
            assert proc.stdout.readline() == "ready\n", proc.stderr.read()
        for proc in procs:  # both go within a millisecond
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = []
        for proc in procs:
            out, err = _finish(proc)
            assert proc.returncode == 0, err
            results.append(json.loads(out))
        winners = [name for name, res in zip(("runner-a", "runner-b"), results) if res["won"]]
        assert len(winners) == 1, results
        loser = next(res for res in results if not res["won"])
        assert loser["holder"] == winners[0]
        assert aws_store.journal(path).read().holder == winners[0]


# -- crashes --------------------------------------------------------------------------------------------
def _requests_of_one_rotation(store: Any, path: str, t: str, new: dict[str, bytes], previous: str | None
                              ) -> list[tuple[str, str]]:
    """(operation, secret) of every request a rotation makes, in order, from an uninterrupted run."""
    seen: list[tuple[str, str]] = []

    def note(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, params.get("SecretId") or params.get("Name")))

    store.api.client.meta.events.register("before-parameter-build.secrets-manager", note)
    rotate(store, path, t, new, previous)
    return seen


@pytest.mark.parametrize("bootstrap", [False, True], ids=["existing-secret", "first-rotation"])
def test_a_crash_after_any_store_request_loses_nothing(moto, aws_env, aws_client, bootstrap):
    new = {"password": make_token()}

    def fresh() -> tuple[str, str | None]:
        path = unique_path()
        return path, None if bootstrap else create(aws_client, path, {"password": "last-good"})

    path, previous = fresh()
    requests = _requests_of_one_rotation(make_store(moto.endpoint), path, token(), new_bytes := {
        k: v.encode() for k, v in new.items()}, previous)
    promoted_after = 1 + next(i for i, (op, secret) in enumerate(requests)
                              if op == "UpdateSecretVersionStage" and secret == path)
    for n in range(1, len(requests) + 1):
        path, previous = fresh()
        t = token()
        proc = _child("rotate", {"endpoint": moto.endpoint, "path": path, "token": t, "previous": previous,
                                 "new": new}, crash_at=f"store-request:{n}")
        out, err = _finish(proc)
        assert proc.returncode == 137, f"request {n}: {err}"
        assert new["password"] not in out + err

        store = make_store(moto.endpoint)  # a fresh client, as the next run would have
        store.journal(path).read()  # still parses
        if n >= promoted_after:
            assert consumer_read(aws_client, path) == new, f"crash after request {n}"
        elif bootstrap:
            with pytest.raises(NotFound):
                store.read(path)
        else:
            assert store.read(path).data == {"password": b"last-good"}, f"crash after request {n}"
        try:
            assert len(holders(aws_client, path, CURRENT)) == 1
        except aws_client.exceptions.ResourceNotFoundException:
            assert bootstrap  # killed before its stage created the secret

        rotate(store, path, t, new_bytes, previous)  # the next run resumes
        assert store.read(path).data == new_bytes and holders(aws_client, path, CURRENT) == [t]
        assert not holders(aws_client, path, PENDING)
        assert store.journal(path).read() is None and not store.status([path])[path].in_progress


# -- status in bulk -------------------------------------------------------------------------------------
def test_status_of_a_thousand_secrets_takes_a_request_per_hundred(moto, aws_store, aws_client):
    base = f"t-{uuid.uuid4().hex[:8]}/bulk"
    paths = [f"{base}/app-{i:04d}" for i in range(1000)]
    for path in paths[:995]:  # one at a time: moto's server is not safe for concurrent writes; 5 stay absent
        create(aws_client, path, {"password": "x"})
    pending = aws_store.stage(paths[1], {"password": b"y"}, token=token()).version
    aws_store.journal(paths[2]).write(record(paths[2], Step.STARTED, "t", None), expect=None)
    aws_store.annotate(paths[3], {"next-due": "2026-04-01T03:00:00+00:00"})
    aws_client.create_secret(Name=f"{base}/app-0004-other", SecretString="{}")  # shares a name prefix

    moto.reset_counts()
    started = time.perf_counter()
    status = aws_store.status(paths)
    took = time.perf_counter() - started
    counts = moto.counts()

    assert set(counts) == {"ListSecrets"} and counts["ListSecrets"] <= 2 * len(paths)
    assert counts["ListSecrets"] == 10, counts  # 997 names under the folder's prefix, a hundred a page
    assert took < 10
    assert list(status) == paths
    assert [p for p, s in status.items() if not s.exists] == paths[995:]
    assert [p for p, s in status.items() if s.in_progress] == paths[1:3]
    assert status[paths[1]].current != pending and status[paths[3]].metadata == {"next-due": "2026-04-01T03:00:00+00:00"}
    assert all(s.updated is not None for s in list(status.values())[:995])


def test_status_does_not_grow_with_the_other_secrets_of_a_folder(moto, aws_store, aws_client):
    folder = f"t-{uuid.uuid4().hex[:8]}/shared/"
    others = [f"{folder}other-{i:03d}" for i in range(450)]  # five pages, were they all listed
    mine = [f"{folder}managed-{i:02d}" for i in range(12)]
    for path in others + mine:
        create(aws_client, path, {"k": "v"})
    aws_store.journal(mine[-1]).write(record(mine[-1], Step.STARTED, "t", None), expect=None)

    moto.reset_counts()
    status = aws_store.status(mine)
    assert moto.counts()["ListSecrets"] <= 4  # two pages of the folder, then the rest of mine by name
    assert all(s.exists for s in status.values())
    assert [p for p, s in status.items() if s.in_progress] == mine[-1:]


# -- errors ---------------------------------------------------------------------------------------------
def test_access_denied_names_the_secret_and_the_action(own_moto, aws_env, monkeypatch):
    iam = boto3.client("iam", endpoint_url=own_moto.endpoint, region_name=REGION)
    iam.create_user(UserName="ci-bot")
    iam.put_user_policy(UserName="ci-bot", PolicyName="read-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]}]}))
    key = iam.create_access_key(UserName="ci-bot")["AccessKey"]
    path = unique_path()
    create(boto3.client("secretsmanager", endpoint_url=own_moto.endpoint, region_name=REGION), path,
           {"password": "old"})
    own_moto.enable_auth()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    store = make_store(own_moto.endpoint)
    canary = make_token()

    assert store.read(path).data == {"password": b"old"}
    with pytest.raises(StoreError) as denied:
        store.stage(path, {"password": canary.encode()}, token=token())
    message = str(denied.value)
    assert message.startswith(f"aws store test: {path}: access denied to secretsmanager:PutSecretValue")
    assert canary not in "".join(traceback.format_exception(denied.value))
    assert store.identity() == "arn:aws:iam::123456789012:user/ci-bot"


def test_an_unreachable_endpoint_is_one_line_in_bounded_time(aws_env):
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    store = make_store(endpoint)
    started = time.monotonic()
    with pytest.raises(StoreError, match=f"cannot reach {endpoint}/? for secretsmanager:GetSecretValue"):
        store.read("app/db")
    assert time.monotonic() - started < 15
    assert store.identity() is None


@pytest.mark.parametrize("code, needle, attempts", [
    ("ThrottlingException", "AWS throttled secretsmanager:GetSecretValue \\(ThrottlingException\\), still after 4 attempts", 4),
    ("DecryptionFailure", "KMS could not decrypt it for secretsmanager:GetSecretValue", 1),
    ("InternalServiceError", "AWS refused secretsmanager:GetSecretValue \\(InternalServiceError\\)", 1),
])
def test_aws_errors_are_one_line_and_name_the_secret(aws_env, code, needle, attempts):
    with AwsFault(code) as fault, pytest.raises(StoreError, match=f"^aws store test: app/db: {needle}") as caught:
        make_store(fault.endpoint).read("app/db")
    assert fault.requests == attempts and "\n" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_credentials_and_region_problems_are_one_line(moto, aws_env, monkeypatch, tmp_path):
    with pytest.raises(StoreError, match="AWS profile 'nope' is not in the AWS config files"):
        make_store(moto.endpoint, profile="nope").read("app/db")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(StoreError, match="no AWS region: set `region:` for this store, or AWS_REGION"):
        make_store(moto.endpoint, region=None).read("app/db")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(StoreError, match="no AWS credentials found"):
        make_store(moto.endpoint).read("app/db")


# -- the credential chain -------------------------------------------------------------------------------
def test_a_profile_of_the_aws_config_files_is_used(moto, aws_env, monkeypatch, tmp_path):
    iam = boto3.client("iam", endpoint_url=moto.endpoint, region_name=REGION)
    user = f"sk-{uuid.uuid4().hex[:8]}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[ci]\naws_access_key_id = {key['AccessKeyId']}\n"
                           f"aws_secret_access_key = {key['SecretAccessKey']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    store = make_store(moto.endpoint, profile="ci")
    assert store.identity() == f"arn:aws:iam::123456789012:user/{user}"


def test_web_identity_credentials_are_used(moto, aws_env, aws_client, monkeypatch, tmp_path):
    """As on EKS: a role and a projected service-account token, exchanged at STS (moto's here)."""
    path = unique_path()
    create(aws_client, path, {"password": "old"})
    token_file = tmp_path / "token"
    token_file.write_text("eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl")  # moto accepts any token
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/secretkeeper")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto.endpoint)
    store = make_store(moto.endpoint)
    assert store.read(path).data == {"password": b"old"}
    assert store.identity().startswith("arn:aws:sts::123456789012:assumed-role/secretkeeper/")


# -- no value in clear ----------------------------------------------------------------------------------
def test_no_value_reaches_logs_even_at_debug_level(aws_store, aws_client, caplog):
    canary = make_token()
    caplog.set_level(logging.DEBUG)  # as an application with --debug might set its root logger
    path = unique_path()
    old = create(aws_client, path, {"password": "old"})
    t = token()
    staged = aws_store.stage(path, {"password": canary.encode()}, token=t)
    aws_store.promote(path, t, expect_current=old)
    assert aws_store.read(path).data["password"] == canary.encode()
    with pytest.raises(Conflict) as conflict:
        aws_store.promote(path, old, expect_current=old)
    assert canary not in caplog.text and canary not in repr(staged) and canary not in str(conflict.value)


def test_the_store_type_is_registered(aws_env):
    from secretkeeper.config.stores import AwsSecretsManagerStore

    store = STORES["aws-secrets-manager"]("prod", AwsSecretsManagerStore("aws-secrets-manager", region=REGION))
    assert store.name == "prod"

