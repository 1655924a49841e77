"""The `aws-iam-key` issuer: an IAM user's access key, replaced with no moment where no key works.

    issuer: {type: aws-iam-key, user: ci-bot, grace: 24h}

A rotation creates a second access key (IAM allows two per user), stores and syncs it; `verify` calls STS
GetCallerIdentity signed with the NEW key and checks that the answer is the user's ARN. After `grace`
(default 24h) `retire` deactivates the old key and deletes it. When the user already has two keys, an
inactive one that is not the current version's (a stale key, left by a person or a failed retire) is
deleted first, with an audit record; two active keys are refused (one of them is not ours to delete).

A run killed between CreateAccessKey and staging leaves a key the store does not know: the user's
`secretkeeper.io/pending-access-key` tag names it until verify, and the next run deletes it first (audit
record `orphan-key-deleted`). The issuer's own credentials come from boto3's chain (environment, profile,
web identity, instance role) and need the IAM actions in ACTIONS on the user. Keys `access_key_id`,
`secret_access_key`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, NotFound, VerifyFailed

KEYS = ("access_key_id", "secret_access_key")
DEFAULT_GRACE = timedelta(hours=24)
ACTIONS = ("iam:ListAccessKeys", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:GetUser",
           "iam:ListUserTags", "iam:TagUser", "iam:UntagUser")
# The user's tag naming the key a rotation created and has not verified yet: a run killed between
# CreateAccessKey and staging leaves that key unknown to the store, and the next run deletes it by this tag
# (never an untagged key: that one is a person's).
PENDING_TAG = "secretkeeper.io/pending-access-key"
# What STS answers while a new key has not reached it yet (AWS: seconds); retried until verify_timeout.
_NOT_YET = frozenset({"InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException"})


class AwsIamKeyIssuer:
    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.cfg, self.managed, self.user = secret.name, cfg, managed, cfg.user
        self.grace = cfg.grace or DEFAULT_GRACE
        if secret.keys and sorted(secret.keys) != sorted(KEYS):
            raise IssuerError(f"{self.name}: keys: an access key holds {', '.join(KEYS)}")
        self._session: Any = None
        self._events: list[tuple[str, str, dict[str, str | None]]] = []

    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        return (f"aws-iam-key: a second access key of IAM user {self.user}, verified with STS "
                f"GetCallerIdentity; the old key is deactivated and deleted after grace")

    def needs(self) -> Sequence[str]:
        return [f"AWS credentials (boto3's chain) allowed {', '.join(ACTIONS)} on user/{self.user}",
                f"room for a second key: user {self.user} has at most one key besides an inactive one, which is "
                "deleted first"]

    def drain_events(self) -> list[tuple[str, str, dict[str, str | None]]]:
        """What it did beside issuing or retiring (a stale key deleted): an audit record each."""
        events, self._events = self._events, []
        return events

    # -- issue / verify / retire -----------------------------------------------------------------------
    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        iam = self._client("iam")
        keys = self._call("iam:ListAccessKeys", lambda: iam.list_access_keys(UserName=self.user))["AccessKeyMetadata"]
        current_id = _key_id(current)
        tags = self._call("iam:ListUserTags", lambda: iam.list_user_tags(UserName=self.user))["Tags"]
        orphan = next((t["Value"] for t in tags if t["Key"] == PENDING_TAG), None)
        if orphan and orphan != current_id and any(k["AccessKeyId"] == orphan for k in keys):
            self._call("iam:DeleteAccessKey", lambda: iam.delete_access_key(UserName=self.user, AccessKeyId=orphan))
            self._events.append(("orphan-key-deleted", f"access key {orphan} of {self.user}, made by a rotation "
                                 "that did not finish, deleted", {"deleted_key": orphan}))
            keys = [k for k in keys if k["AccessKeyId"] != orphan]
        if len(keys) >= 2:
            stale = sorted((k for k in keys if k["Status"] == "Inactive" and k["AccessKeyId"] != current_id),
                           key=lambda k: k["CreateDate"])
            if not stale:
                others = ", ".join(k["AccessKeyId"] for k in keys if k["AccessKeyId"] != current_id)
                raise IssuerError(f"{self.name}: IAM user {self.user} already has two active access keys (the most "
                                  f"AWS allows); {others} is not this secret's current key: deactivate it if "
                                  "nothing uses it, and the next rotation deletes it")
            victim = stale[0]
            self._call("iam:DeleteAccessKey",
                       lambda: iam.delete_access_key(UserName=self.user, AccessKeyId=victim["AccessKeyId"]))
            created = victim["CreateDate"].date().isoformat() if hasattr(victim["CreateDate"], "date") else ""
            self._events.append(("stale-key-deleted", f"inactive access key {victim['AccessKeyId']} of {self.user} "
                                 f"(created {created}) deleted to make room for the new key",
                                 {"deleted_key": victim["AccessKeyId"]}))
        made = self._call("iam:CreateAccessKey", lambda: iam.create_access_key(UserName=self.user))["AccessKey"]
        try:
            iam.tag_user(UserName=self.user, Tags=[{"Key": PENDING_TAG, "Value": made["AccessKeyId"]}])
        except Exception as exc:  # untagged, a crash would leave it unknown: it goes now
            self._call("iam:DeleteAccessKey",
                       lambda: iam.delete_access_key(UserName=self.user, AccessKeyId=made["AccessKeyId"]))
            raise IssuerError(f"{self.name}: {self._translate(exc, 'iam:TagUser')}") from None
        return {"access_key_id": made["AccessKeyId"].encode(), "secret_access_key": made["SecretAccessKey"].encode()}

    def verify(self, data: Mapping[str, bytes]) -> None:
        """STS signed with the new key answers with the user's ARN (retried while the key propagates)."""
        from botocore.exceptions import ClientError

        try:
            key_id, secret = data["access_key_id"].decode(), data["secret_access_key"].decode()
        except (KeyError, UnicodeDecodeError):
            raise VerifyFailed(f"{self.name}: the new version lacks {' or '.join(KEYS)}") from None
        expected = self._call("iam:GetUser", lambda: self._client("iam").get_user(UserName=self.user))["User"]["Arn"]
        sts = self._client("sts", key_id=key_id, secret=secret)
        deadline = time.monotonic() + self.cfg.verify_timeout.total_seconds()
        while True:
            try:
                arn = sts.get_caller_identity()["Arn"]
                break
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code not in _NOT_YET or time.monotonic() > deadline:
                    raise VerifyFailed(f"{self.name}: STS refused the new access key {key_id} ({code})") from None
                time.sleep(1.0)
            except Exception as exc:  # unreachable, timeout...: one line, via the store's translation
                raise VerifyFailed(f"{self.name}: {self._translate(exc, 'sts:GetCallerIdentity')}") from None
        if arn != expected:
            raise VerifyFailed(f"{self.name}: the new access key {key_id} is {arn}, not IAM user {expected}")
        # Staged and working: no longer an orphan if this run dies (a resumed run finds it staged).
        iam = self._client("iam")
        tags = self._call("iam:ListUserTags", lambda: iam.list_user_tags(UserName=self.user))["Tags"]
        if {"Key": PENDING_TAG, "Value": key_id} in tags:
            self._call("iam:UntagUser", lambda: iam.untag_user(UserName=self.user, TagKeys=[PENDING_TAG]))

    def retire(self, old: SecretVersion) -> None:
        """Deactivate, then delete, the old key; never the current version's (a person may have put the
        old key back)."""
        from botocore.exceptions import ClientError

        old_id = _key_id(old)
        if old_id is None:
            return
        try:
            current = self.managed.current(self.name)
        except NotFound:
            current = None
        if current is not None and _key_id(current) == old_id:
            return
        iam = self._client("iam")
        try:
            iam.update_access_key(UserName=self.user, AccessKeyId=old_id, Status="Inactive")
            iam.delete_access_key(UserName=self.user, AccessKeyId=old_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":  # already gone
                return
            raise IssuerError(f"{self.name}: {self._translate(exc, 'iam:DeleteAccessKey')}") from None
        except Exception as exc:
            raise IssuerError(f"{self.name}: {self._translate(exc, 'iam:DeleteAccessKey')}") from None

    # -- parts -----------------------------------------------------------------------------------------
    def _client(self, service: str, *, key_id: str | None = None, secret: str | None = None) -> Any:
        from providers.stores.aws.session import new_client

        try:
            if key_id is not None:  # a session of the new key alone: nothing from the environment's chain
                import boto3

                session = boto3.session.Session(aws_access_key_id=key_id, aws_secret_access_key=secret,
                                                region_name=self._session_for().region_name or "us-east-1")
            else:
                session = self._session_for()
            endpoint = self.cfg.endpoint_url if service == "iam" else (self.cfg.sts_endpoint_url or self.cfg.endpoint_url)
            return new_client(session, service, endpoint_url=endpoint)
        except Exception as exc:
            raise IssuerError(f"{self.name}: {self._translate(exc, service)}") from None

    def _session_for(self) -> Any:
        from providers.stores.aws.session import new_session

        if self._session is None:
            self._session = new_session(region=self.cfg.region, profile=self.cfg.profile)
            if self._session.region_name is None:  # IAM is global; STS answers in every region
                self._session = new_session(region="us-east-1", profile=self.cfg.profile)
        return self._session

    def _call(self, action: str, fn: Any) -> Any:
        try:
            return fn()
        except Exception as exc:
            raise IssuerError(f"{self.name}: {self._translate(exc, action)}") from None

    def _translate(self, exc: Exception, action: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        from providers.stores.aws.errors import translate

        if isinstance(exc, ClientError | BotoCoreError):
            return str(translate(exc, where=f"IAM user {self.user}", action=action))
        return f"IAM user {self.user}: {action} failed ({type(exc).__name__})"


def _key_id(version: SecretVersion | None) -> str | None:
    if version is None or "access_key_id" not in version.data:
        return None
    return version.data["access_key_id"].decode("utf-8", "replace")


ISSUERS.register("aws-iam-key")(AwsIamKeyIssuer)
