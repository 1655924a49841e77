"""The `k8s-token` issuer: Kubernetes service-account tokens through the TokenRequest API, each bound to
its own holder Secret so that retiring a version revokes its token at once.

    issuer: {type: k8s-token, namespace: reports, service_account: reports, audiences: [api], ttl: 24h,
             grace: 10m, context: prod}

issue: a small holder Secret `<service_account>-sk-token-<id>` in `namespace` (labelled managed by
secretkeeper, no value inside), then a TokenRequest for the ServiceAccount with `audiences`,
`expirationSeconds` = ttl (at least 10 minutes) and `boundObjectRef` naming that holder (uid included).
Keys: `token`, and `expires_at` (when the API server says the token expires; not secret) — the rotation
notes it, so the policy renews the token `renew_before` ahead (default: a third of the ttl).

verify: a TokenReview of the new token must say it authenticates as
`system:serviceaccount:<namespace>:<service_account>` for every configured audience.

retire: deletes the holder the old token is bound to (read from the token's own `kubernetes.io` claim,
deleted with a uid precondition): the API server then rejects the token, though it had not expired —
the revocation an unbound token lacks. A failed verify rolls back through retire too.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, VerifyFailed
from secretkeeper.config.durations import format_duration

KEYS = ("token", "expires_at")
HOLDER_ROLE = {"secretkeeper.io/role": "token-holder"}
SECRET_NOTE = "secretkeeper.io/secret"  # annotation on a holder: the managed secret it belongs to
_MAX_NAME = 253
_SKEW = timedelta(minutes=10)


class K8sTokenIssuer:
    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.namespace, self.account = secret.name, cfg.namespace, cfg.service_account
        self.audiences, self.ttl, self.context = list(cfg.audiences), cfg.ttl, cfg.context
        self.grace: timedelta = cfg.grace
        if secret.keys and sorted(secret.keys) != sorted(KEYS):
            raise IssuerError(f"{self.name}: keys: a k8s-token secret holds {', '.join(KEYS)}")
        self._conn: Any = None

    # -- what it is ------------------------------------------------------------------------------------
    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        return (f"k8s-token: a TokenRequest token for ServiceAccount {self.namespace}/{self.account} "
                f"(audiences {', '.join(self.audiences)}), valid {format_duration(self.ttl)}, bound to its own "
                f"holder Secret {self.namespace}/{self._holder_prefix()}<id>, through "
                f"{'context ' + self.context if self.context else 'the current context (or in-cluster)'}")

    def needs(self) -> Sequence[str]:
        where = f"context {self.context}" if self.context else "the current kubeconfig context, or in-cluster"
        return [f"Kubernetes credentials: {where}",
                f"RBAC in namespace {self.namespace}: create serviceaccounts/token "
                f"(resourceNames: [{self.account}])",
                f"RBAC in namespace {self.namespace}: create and delete secrets (the holder Secrets "
                f"{self._holder_prefix()}*)",
                "RBAC cluster-wide: create tokenreviews (authentication.k8s.io), to verify the new token",
                f"optional, RBAC in namespace {self.namespace}: list secrets, so holders a crashed run left "
                "behind are deleted once their tokens expired"]

    def notes(self, data: Mapping[str, bytes]) -> Mapping[str, str]:
        """The status note `expires` (from the version's `expires_at`): the rotation policy renews the token
        `renew_before` ahead of it (default: a third of its lifetime)."""
        try:
            expires = _parse_time(data["expires_at"].decode("ascii"))
        except (KeyError, UnicodeDecodeError, ValueError):
            return {}
        return {"expires": expires.isoformat(timespec="seconds")}

    # -- verbs -----------------------------------------------------------------------------------------
    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        from secretkeeper.kube.calls import core

        api = core(self._connection())
        self._sweep(api)
        holder = f"{self._holder_prefix()}{secrets.token_hex(4)}"
        body = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "immutable": True,
                "metadata": {"name": holder, "namespace": self.namespace,
                             "labels": {"app.kubernetes.io/managed-by": "secretkeeper", **HOLDER_ROLE},
                             "annotations": {SECRET_NOTE: self.name,
                                             "secretkeeper.io/service-account": self.account}}}
        created = self._call(f"create holder Secret {self.namespace}/{holder}", api.create_namespaced_secret,
                             self.namespace, body)
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                   "spec": {"audiences": self.audiences, "expirationSeconds": int(self.ttl.total_seconds()),
                            "boundObjectRef": {"apiVersion": "v1", "kind": "Secret", "name": holder,
                                               "uid": created.metadata.uid}}}
        try:
            answer = self._call(f"TokenRequest for ServiceAccount {self.namespace}/{self.account}",
                                api.create_namespaced_service_account_token, self.account, self.namespace, request)
        except IssuerError:
            self._delete_holder(self.namespace, holder, created.metadata.uid)  # no token is bound to it
            raise
        status = answer.status
        token, expires = getattr(status, "token", None), getattr(status, "expiration_timestamp", None)
        if not token or not isinstance(expires, datetime):
            self._delete_holder(self.namespace, holder, created.metadata.uid)
            raise IssuerError(f"{self.name}: the TokenRequest for {self.namespace}/{self.account} answered "
                              "without a token or its expiry")
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        return {"token": token.encode("utf-8"),
                "expires_at": expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ").encode("ascii")}

    def verify(self, data: Mapping[str, bytes]) -> None:
        """A TokenReview: the new token authenticates as the ServiceAccount, for every audience."""
        from secretkeeper.kube.calls import authentication

        token = data.get("token", b"").decode("ascii", "replace")
        if not token:
            raise VerifyFailed(f"{self.name}: the new version has no token")
        review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                  "spec": {"token": token, "audiences": self.audiences}}
        answer = self._call("TokenReview of the new token",
                            authentication(self._connection()).create_token_review, review)
        status = answer.status
        want = f"system:serviceaccount:{self.namespace}:{self.account}"
        if status is None or not status.authenticated:
            raise VerifyFailed(f"{self.name}: the API server does not accept the new token for audiences "
                               f"{', '.join(self.audiences)}")
        user = getattr(status.user, "username", None)
        if user != want:
            raise VerifyFailed(f"{self.name}: the new token authenticates as {user!r}, not {want}")
        missing = [a for a in self.audiences if a not in (status.audiences or [])]
        if missing:
            raise VerifyFailed(f"{self.name}: the new token is not accepted for audiences {', '.join(missing)}")

    def retire(self, old: SecretVersion) -> None:
        """Delete the holder the old token is bound to: the API server rejects the token from then on.
        A token this issuer did not make (one `put` by hand, a legacy token) names no holder: there is
        nothing here to revoke (it stays valid until it expires; `tokens migrate` deals with legacy token
        Secrets), and raising would leave the rotation, or the rollback of that `put`, failing forever."""
        bound = _bound_secret(old.data.get("token", b""))
        if bound is None:
            return
        self._delete_holder(*bound)

    # -- helpers ---------------------------------------------------------------------------------------
    def _sweep(self, api: Any) -> None:
        """Delete this secret's holders older than the ttl (and a margin for clock skew): every token bound
        to them has expired. A run killed between TokenRequest and staging leaves such a holder. Best
        effort: without `list` on secrets, or on any failure, nothing is swept."""
        selector = ",".join(f"{k}={v}" for k, v in {"app.kubernetes.io/managed-by": "secretkeeper",
                                                    **HOLDER_ROLE}.items())
        try:
            found = self._call(f"list holder Secrets in {self.namespace}", api.list_namespaced_secret,
                               self.namespace, label_selector=selector)
            cutoff = datetime.now(UTC) - self.ttl - _SKEW
            for item in found.items:
                meta = item.metadata
                created = meta.creation_timestamp
                if ((meta.annotations or {}).get(SECRET_NOTE) == self.name and isinstance(created, datetime)
                        and (created if created.tzinfo else created.replace(tzinfo=UTC)) < cutoff):
                    self._delete_holder(self.namespace, meta.name, meta.uid)
        except IssuerError:
            return

    def _holder_prefix(self) -> str:
        suffix = "-sk-token-"
        return self.account[: _MAX_NAME - len(suffix) - 8].rstrip("-.") + suffix

    def _delete_holder(self, namespace: str, name: str, uid: str | None) -> None:
        from secretkeeper.kube.calls import core

        options = {"preconditions": {"uid": uid}} if uid else {}
        try:
            self._call(f"delete holder Secret {namespace}/{name}", core(self._connection()).delete_namespaced_secret,
                       name, namespace, body=options)
        except _CallFailed as exc:
            if exc.status not in (404, 409):  # gone already, or another object now has the name
                raise

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        from secretkeeper.kube.calls import KubeCallError, call

        try:
            return call(self._connection(), what, fn, *args, **kwargs)
        except KubeCallError as exc:
            raise _CallFailed(f"{self.name}: {exc}", exc.status) from None

    def _connection(self) -> Any:
        if self._conn is None:
            from secretkeeper.errors import SecretkeeperError
            from secretkeeper.kube.client import connect

            try:
                self._conn = connect(self.context)
            except SecretkeeperError as exc:
                raise IssuerError(f"{self.name}: {exc}") from None
        return self._conn


class _CallFailed(IssuerError):
    """An API call failed; `status`: the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _bound_secret(token: bytes) -> tuple[str, str, str | None] | None:
    """(namespace, name, uid) of the Secret a bound token names in its `kubernetes.io` claim, or None.
    The claim is read, not trusted: the API server checks it; a wrong one only deletes nothing."""
    parts = token.split(b".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
        info = claims["kubernetes.io"]
        return str(info["namespace"]), str(info["secret"]["name"]), info["secret"].get("uid")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


ISSUERS.register("k8s-token")(K8sTokenIssuer)
