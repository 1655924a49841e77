"""Service-account tokens in the Kubernetes API emulator (tests/emulators/kube.py): how they are signed,
which are still accepted, and TokenReview.

Three kinds of token, as the API server has them:

- bound tokens from TokenRequest: `aud`, `exp`, and the `kubernetes.io` claim naming the namespace, the
  ServiceAccount and, with `boundObjectRef`, the Secret or Pod they are bound to (name and uid). They are
  accepted while unexpired, while the ServiceAccount with that uid exists and while the bound object with
  that uid exists: deleting the object revokes the token at once;
- legacy tokens, written into `kubernetes.io/service-account-token` Secrets: the old claim set (issuer
  `kubernetes/serviceaccount`, no expiry, the Secret's name). Accepted while the Secret holds that token and
  has no `kubernetes.io/legacy-token-invalid-since` label; each accepted use stamps the Secret's
  `kubernetes.io/legacy-token-last-used` label with the day (UTC), as the API server's legacy-token
  tracking does;
- static tokens (`KubeEmulator.add_token`), which are not JWTs and are never reviewed here.

The API server itself accepts a bound token only when one of its audiences is the server's own
(API_AUDIENCE); TokenReview checks the audiences the reviewer asks for (default: the server's).

Everything here runs with the emulator's state lock held.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from tests.emulators.kube import KubeEmulator, Principal

API_AUDIENCE = "https://kubernetes.default.svc"
LEGACY_ISSUER = "kubernetes/serviceaccount"
LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used"
INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since"
BINDABLE = {"Secret": "secrets", "Pod": "pods"}  # boundObjectRef kinds the emulator serves
_LEGACY = "kubernetes.io/serviceaccount/"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, claims: dict[str, Any]) -> str:
    head = _b64url(json.dumps({"alg": "HS256", "kid": "emulator", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    sig = _b64url(hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


def verified_claims(key: bytes, token: str) -> dict[str, Any] | None:
    """The claims of a token this emulator signed, or None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    want = _b64url(hmac.new(key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(want, parts[2]):
        return None
    try:
        claims = json.loads(_b64url_decode(parts[1]))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


def legacy_token(key: bytes, namespace: str, sa_name: str, sa_uid: str, secret_name: str) -> str:
    """The token the API server wrote into a legacy token Secret: no audience, no expiry."""
    return sign(key, {"iss": LEGACY_ISSUER, f"{_LEGACY}namespace": namespace,
                      f"{_LEGACY}secret.name": secret_name, f"{_LEGACY}service-account.name": sa_name,
                      f"{_LEGACY}service-account.uid": sa_uid,
                      "sub": f"system:serviceaccount:{namespace}:{sa_name}"})


def bound_claim(emu: KubeEmulator, namespace: str, ref: dict[str, Any] | None) -> dict[str, Any] | None:
    """The `kubernetes.io` claim entry for a TokenRequest's boundObjectRef ({"secret": {name, uid}}), or
    None without one; an ApiError as the API server answers a ref it cannot bind to."""
    from tests.emulators.kube import ApiError

    if not ref:
        return None
    kind, name = ref.get("kind"), ref.get("name")
    if kind not in BINDABLE or not name:
        raise ApiError(422, "Invalid", f"TokenRequest.authentication.k8s.io is invalid: spec.boundObjectRef.kind: "
                       f"Unsupported value: {kind!r}: supported values: \"Pod\", \"Secret\"",
                       {"kind": "TokenRequest", "group": "authentication.k8s.io"})
    obj = _live(emu, BINDABLE[kind], namespace, name)
    if obj is None:
        raise ApiError(404, "NotFound", f'{BINDABLE[kind]} "{name}" not found',
                       {"name": name, "kind": BINDABLE[kind]})
    uid = obj["metadata"]["uid"]
    if ref.get("uid") and ref["uid"] != uid:
        raise ApiError(409, "Conflict", f"the UID in the bound object reference ({ref['uid']}) does not match "
                       f"the UID in record ({uid}); the object might have been deleted and then recreated")
    return {kind.lower(): {"name": name, "uid": uid}}


def principal_for(emu: KubeEmulator, token: str) -> tuple[Principal, list[str]] | None:
    """Who a service-account JWT authenticates as and its audiences, or None when it is not accepted
    (unknown signature, expired, its ServiceAccount, bound object or legacy Secret gone or changed, or a
    legacy Secret marked invalid)."""
    from tests.emulators.kube import Principal

    claims = verified_claims(emu.state.signing_key, token)
    if claims is None:
        return None
    if claims.get("iss") == LEGACY_ISSUER:
        ns, name = claims.get(f"{_LEGACY}namespace"), claims.get(f"{_LEGACY}service-account.name")
        uid, audiences = claims.get(f"{_LEGACY}service-account.uid"), [API_AUDIENCE]
        if not _legacy_accepted(emu, ns, claims.get(f"{_LEGACY}secret.name"), token):
            return None
    else:
        info = claims.get("kubernetes.io") or {}
        ns, sa = info.get("namespace"), info.get("serviceaccount") or {}
        name, uid = sa.get("name"), sa.get("uid")
        audiences = list(claims.get("aud") or [])
        if claims.get("exp", 0) <= time.time():
            return None
        for kind, plural in BINDABLE.items():
            bound = info.get(kind.lower())
            if bound is not None:
                live = _live(emu, plural, ns, bound.get("name"))
                if live is None or live["metadata"]["uid"] != bound.get("uid"):
                    return None
    account = _live(emu, "serviceaccounts", ns, name)
    if account is None or account["metadata"]["uid"] != uid:
        return None
    who = Principal(f"system:serviceaccount:{ns}:{name}", ("system:serviceaccounts", f"system:serviceaccounts:{ns}",
                                                           "system:authenticated"), None, (ns, name, uid), uid=uid)
    return who, audiences


def _legacy_accepted(emu: KubeEmulator, namespace: str | None, secret_name: str | None, token: str) -> bool:
    secret = _live(emu, "secrets", namespace, secret_name)
    if secret is None:
        return False
    stored = (secret.get("data") or {}).get("token")
    if stored is None or base64.b64decode(stored) != token.encode():
        return False
    labels = secret["metadata"].get("labels") or {}
    if INVALID_SINCE_LABEL in labels:
        return False
    today = datetime.now(UTC).date().isoformat()
    if labels.get(LAST_USED_LABEL) != today:  # tracked per day, as the API server does
        from tests.emulators.kube import _BY_GV

        secret["metadata"].setdefault("labels", {})[LAST_USED_LABEL] = today
        secret["metadata"]["resourceVersion"] = str(emu.state.bump())
        emu.state.record("MODIFIED", _BY_GV[("", "v1", "secrets")], secret)
    return True


def _live(emu: KubeEmulator, plural: str, namespace: str | None, name: str | None) -> dict[str, Any] | None:
    from tests.emulators.kube import _resource_by_name

    if not namespace or not name:
        return None
    return emu.state.table(_resource_by_name(plural)).get((namespace, name))


def token_review(emu: KubeEmulator, body: Any) -> dict[str, Any]:
    """The TokenReview answer (authentication.k8s.io/v1): authenticated with the user and the audiences
    both sides share, or not, with a reason that never repeats the token."""
    spec = (body or {}).get("spec") or {} if isinstance(body, dict) else {}
    token, wanted = spec.get("token") or "", list(spec.get("audiences") or [API_AUDIENCE])
    found = principal_for(emu, token) if isinstance(token, str) else None
    status: dict[str, Any]
    if found is None:
        status = {"authenticated": False, "error": "invalid bearer token, token lookup failed", "user": {}}
    else:
        who, audiences = found
        shared = [a for a in wanted if a in audiences]
        if not shared:
            status = {"authenticated": False, "error": "invalid bearer token, token audiences "
                      f"{json.dumps(audiences)} is invalid for the target audiences {json.dumps(wanted)}",
                      "user": {}}
        else:
            status = {"authenticated": True, "audiences": shared,
                      "user": {"username": who.user, "uid": who.uid, "groups": list(who.groups)}}
    return {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None, "uid": str(uuid.uuid4())},
            "spec": {"token": token, "audiences": wanted if spec.get("audiences") else []}, "status": status}
