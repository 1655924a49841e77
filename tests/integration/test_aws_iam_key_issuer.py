"""The `aws-iam-key` issuer against moto in server mode with its IAM authorization ON: only keys made
through its IAM API sign requests, so a deleted key, or a key another account holds, really fails.
(moto still accepts an Inactive key, unlike AWS: the tests check deactivation in ListAccessKeys.)

Driven through the `secretkeeper` command: a rotation makes a second key and verifies it with STS; the
old key works through grace and is then deleted; the two-key limit deletes a stale inactive key first
with an audit record, and refuses two active ones; a failed verify deletes the new key and keeps the old."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration import aws_server
from tests.integration.aws_server import FAKE_ENV, MotoServer
from tests.rotation.conftest import Project, manifest_data, ok

# The AWS fixtures, taken in by name: pytest finds fixtures among a test module's globals.
own_moto, aws_env = aws_server.own_moto, aws_server.aws_env

pytestmark = pytest.mark.integration
REGION = "us-east-1"
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


class Aws:
    """A moto server with auth on, an admin user whose key the issuer runs with."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server
        plain = self.client("iam", FAKE_ENV["AWS_ACCESS_KEY_ID"], FAKE_ENV["AWS_SECRET_ACCESS_KEY"])  # auth off yet
        plain.create_user(UserName="sk-admin")
        plain.put_user_policy(UserName="sk-admin", PolicyName="all", PolicyDocument=ALLOW_ALL)
        key = plain.create_access_key(UserName="sk-admin")["AccessKey"]
        self.admin_env = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        server.enable_auth()
        self.iam = self.client("iam", key["AccessKeyId"], key["SecretAccessKey"])

    def client(self, service: str, key_id: str, secret: str) -> Any:
        import boto3

        return boto3.client(service, endpoint_url=self.server.endpoint, region_name=REGION,
                            aws_access_key_id=key_id, aws_secret_access_key=secret)

    def caller(self, key_id: str, secret: str) -> str | None:
        """The ARN STS answers for this key, or None if it is refused."""
        from botocore.exceptions import ClientError

        try:
            return self.client("sts", key_id, secret).get_caller_identity()["Arn"]
        except ClientError:
            return None

    def keys(self, user: str) -> dict[str, str]:
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def user(self, name: str) -> str:
        return self.iam.create_user(UserName=name)["User"]["Arn"]


@pytest.fixture(scope="module")
def aws() -> Iterator[Aws]:
    for server in aws_server._serve():
        yield Aws(server)


def _project(tmp_path: Path, aws: Aws, user: str, *, extra: str = "") -> Project:
    config = f"""\
stores:
  local: {{type: local, path: .secretkeeper/store}}
secrets:
  - name: ci-bot-keys
    store: local
    path: ci/bot
    issuer: {{type: aws-iam-key, user: {user}, grace: 2s, region: {REGION}, endpoint_url: "{aws.server.endpoint}"{extra}}}
    sync:
      - manifest: {{dir: out/secrets}}
"""
    return Project(tmp_path / "project", config, kind="local")


def _synced(project: Project) -> tuple[str, str]:
    data = manifest_data(project.manifest("ci-bot-keys"))
    return data["access_key_id"].decode(), data["secret_access_key"].decode()


def test_rotation_makes_a_second_key_and_deletes_the_old_after_grace(aws: Aws, aws_env: None, tmp_path: Path):
    arn = aws.user("ci-bot-1")
    project = _project(tmp_path, aws, "ci-bot-1")
    first = ok(project.run("rotate", "--due", env=aws.admin_env))
    one = _synced(project)
    assert aws.caller(*one) == arn and aws.keys("ci-bot-1") == {one[0]: "Active"}
    second = ok(project.run("rotate", "ci-bot-keys", "--force", env=aws.admin_env))
    two = _synced(project)
    assert two[0] != one[0] and aws.caller(*two) == arn
    assert aws.keys("ci-bot-1") == {one[0]: "Active", two[0]: "Active"}  # the old key works through grace
    assert aws.caller(*one) == arn
    time.sleep(2.1)
    ok(project.run("rotate", "--due", env=aws.admin_env))
    assert aws.keys("ci-bot-1") == {two[0]: "Active"}
    assert aws.caller(*one) is None  # deleted: refused
    for out in (first.stdout + first.stderr, second.stdout + second.stderr):
        assert one[1] not in out and two[1] not in out


def test_the_two_key_limit_deletes_a_stale_inactive_key_first_and_records_it(aws: Aws, aws_env: None,
                                                                              tmp_path: Path):
    aws.user("ci-bot-2")
    project = _project(tmp_path, aws, "ci-bot-2")
    ok(project.run("rotate", "--due", env=aws.admin_env))
    current = _synced(project)
    stale = aws.iam.create_access_key(UserName="ci-bot-2")["AccessKey"]["AccessKeyId"]
    aws.iam.update_access_key(UserName="ci-bot-2", AccessKeyId=stale, Status="Inactive")
    audit = tmp_path / "audit.jsonl"
    ok(project.run("rotate", "ci-bot-keys", "--force", "--audit-log", str(audit), env=aws.admin_env))
    new = _synced(project)
    assert aws.keys("ci-bot-2") == {current[0]: "Active", new[0]: "Active"}
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    deleted = [r for r in records if r["step"] == "stale-key-deleted"]
    assert len(deleted) == 1 and deleted[0]["versions"]["deleted_key"] == stale
    assert [r["step"] for r in records].index("stale-key-deleted") < [r["step"] for r in records].index("issued")
    assert new[1] not in audit.read_text() and current[1] not in audit.read_text()


def test_two_active_keys_are_refused_and_nothing_changes(aws: Aws, aws_env: None, tmp_path: Path):
    aws.user("ci-bot-3")
    project = _project(tmp_path, aws, "ci-bot-3")
    ok(project.run("rotate", "--due", env=aws.admin_env))
    current = _synced(project)
    other = aws.iam.create_access_key(UserName="ci-bot-3")["AccessKey"]["AccessKeyId"]
    refused = project.run("rotate", "ci-bot-keys", "--force", env=aws.admin_env)
    assert refused.returncode == 1, refused.stderr
    assert f"already has two active access keys (the most AWS allows); {other} is not" in refused.stderr
    assert aws.keys("ci-bot-3") == {current[0]: "Active", other: "Active"} and _synced(project) == current


def test_a_key_sts_refuses_rolls_back_and_the_new_key_is_deleted(aws: Aws, own_moto: MotoServer, aws_env: None,
                                                                 tmp_path: Path):
    arn = aws.user("ci-bot-4")
    project = _project(tmp_path, aws, "ci-bot-4")
    ok(project.run("rotate", "--due", env=aws.admin_env))
    current = _synced(project)
    own_moto.enable_auth()  # another account: it knows none of these keys
    other = _project(tmp_path, aws, "ci-bot-4",  # the same project, its STS answered by that account
                     extra=f', sts_endpoint_url: "{own_moto.endpoint}", verify_timeout: 1s')
    failed = other.run("rotate", "ci-bot-keys", "--force", env=aws.admin_env)
    assert failed.returncode == 1, failed.stderr
    assert "STS refused the new access key" in failed.stderr and "rolled back" in failed.stderr
    assert aws.keys("ci-bot-4") == {current[0]: "Active"}  # the new key was deleted, the old one kept
    assert aws.caller(*current) == arn
    assert project.value("ci-bot-keys")["access_key_id"] == current[0].encode()


def test_dry_run_names_the_iam_actions(aws: Aws, aws_env: None, tmp_path: Path):
    project = _project(tmp_path, aws, "ci-bot-5")
    plan = ok(project.run("rotate", "ci-bot-keys", "--dry-run")).stdout
    assert "needs:   AWS credentials (boto3's chain) allowed iam:ListAccessKeys, iam:CreateAccessKey, " \
           "iam:UpdateAccessKey, iam:DeleteAccessKey, iam:GetUser, iam:ListUserTags, iam:TagUser, " \
           "iam:UntagUser on user/ci-bot-5" in plan


def test_a_key_made_by_a_killed_run_is_deleted_by_the_next(aws: Aws, aws_env: None, tmp_path: Path):
    arn = aws.user("ci-bot-6")
    project = _project(tmp_path, aws, "ci-bot-6")
    ok(project.run("rotate", "--due", env=aws.admin_env))
    current = _synced(project)
    killed = project.run("rotate", "ci-bot-keys", "--force", env={**aws.admin_env, "SECRETKEEPER_CRASH_AT": "after:issued"})
    assert killed.returncode == 137, killed.stderr
    orphan = next(k for k in aws.keys("ci-bot-6") if k != current[0])  # created, never staged
    audit = tmp_path / "audit.jsonl"
    ok(project.run("rotate", "--due", "--audit-log", str(audit), env=aws.admin_env))
    new = _synced(project)
    assert aws.keys("ci-bot-6") == {current[0]: "Active", new[0]: "Active"} and orphan not in (current[0], new[0])
    assert aws.caller(*new) == arn
    deleted = [json.loads(line) for line in audit.read_text().splitlines() if '"orphan-key-deleted"' in line]
    assert [r["versions"]["deleted_key"] for r in deleted] == [orphan]
    assert aws.iam.list_user_tags(UserName="ci-bot-6")["Tags"] == []  # verified: no key is pending any more
