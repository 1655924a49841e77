"""Legacy service-account token Secrets (`kubernetes.io/service-account-token`): find them, say who uses
them, and retire them in reversible steps (`secretkeeper tokens migrate`).

Such a Secret holds a token that never expires and cannot be revoked but by deleting the Secret. The API
server (1.26+) stamps `kubernetes.io/legacy-token-last-used` (a day, UTC) on the Secret when its token is
used, and rejects the token while the Secret carries `kubernetes.io/legacy-token-invalid-since` (1.28+):
removing that label makes it work again. So the way out is:

1. report: every legacy token Secret, its ServiceAccount, its last-used day, whether it is already
   invalid, and the pods in its namespace that mount it (secret volume, projected source, env
   secretKeyRef, envFrom secretRef) — those move to a projected `serviceAccountToken` volume; a token used
   from outside the cluster is replaced by a `k8s-token` managed secret (TokenRequest, bound, rotated);
2. invalidate: label the Secret invalid-since today (refused while a pod mounts it, or when pods cannot
   be listed); `restore` removes the label;
3. delete-unused: delete the Secrets invalid for longer than the grace period with no use recorded since
   they were invalidated (uid precondition: a Secret re-created under the name is not touched).

Token values are never read: a listed Secret's data is dropped as soon as it is seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.client import Connection, Forbidden, Resource, list_objects, list_visible

LEGACY_TYPE = "kubernetes.io/service-account-token"
LAST_USED = "kubernetes.io/legacy-token-last-used"
INVALID_SINCE = "kubernetes.io/legacy-token-invalid-since"
SA_NAME = "kubernetes.io/service-account.name"
SECRETS = Resource("secrets", "Secret", "v1")
PODS = Resource("pods", "Pod", "v1")
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
PROJECTED = ("{name: kube-api-token, projected: {sources: [{serviceAccountToken: {path: token, "
             "expirationSeconds: 3600}}]}}")


@dataclass
class LegacyToken:
    namespace: str
    name: str
    uid: str
    service_account: str
    last_used: str | None  # the label as the API server wrote it (YYYY-MM-DD), or None: never recorded
    invalid_since: str | None
    mounted_by: list[str] = field(default_factory=list)  # "Pod/ns/name (volume token)"
    outcome: str = ""  # what an action did: invalidated, restored, deleted, skipped, unchanged
    note: str = ""  # why, or what to do next

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Survey:
    tokens: list[LegacyToken]
    warnings: list[str]
    pods_visible: bool  # False: some namespace's pods could not be listed, so consumers are unknown


def survey(conn: Connection, namespace: str | None, only: set[str] | None = None) -> Survey:
    """The legacy token Secrets in `namespace` (None: every namespace), each with the pods mounting it;
    `only`: "ns/name" refs to keep."""
    warnings: list[str] = []
    tokens: list[LegacyToken] = []
    try:
        listed = list(_legacy_only(list_objects(conn, SECRETS, namespace)))
    except Forbidden:
        where = f"in namespace {namespace}" if namespace else "in every namespace"
        raise SecretkeeperError(f"{conn.describe()}: these credentials may not list secrets {where}") from None
    for item in listed:
        meta = item.get("metadata") or {}
        labels, notes = meta.get("labels") or {}, meta.get("annotations") or {}
        token = LegacyToken(str(meta.get("namespace") or ""), str(meta.get("name") or ""), str(meta.get("uid") or ""),
                            str(notes.get(SA_NAME) or "?"), labels.get(LAST_USED), labels.get(INVALID_SINCE))
        if only is None or token.ref in only:
            tokens.append(token)
    if only is not None:
        missing = sorted(only - {t.ref for t in tokens})
        warnings += [f"{ref}: no legacy service-account token Secret by that name" for ref in missing]
    pods_visible = True
    by_ref = {t.ref: t for t in tokens}
    # pods of the namespaces that have legacy tokens; with many such namespaces, one cluster-wide listing
    namespaces = sorted({t.namespace for t in tokens})
    scopes: list[str | None] = list(namespaces) if namespace is None and len(namespaces) <= 20 else [namespace]
    for ns in scopes if tokens else []:
        before = len(warnings)
        for pod in list_visible(conn, PODS, ns, warnings):
            for secret, how in _secret_uses(pod):
                pod_meta = pod.get("metadata") or {}
                found = by_ref.get(f"{pod_meta.get('namespace')}/{secret}")
                if found is not None:
                    found.mounted_by.append(f"Pod/{pod_meta.get('namespace')}/{pod_meta.get('name')} ({how})")
        pods_visible = pods_visible and len(warnings) == before
    tokens.sort(key=lambda t: t.ref)
    return Survey(tokens, warnings, pods_visible)


def _legacy_only(items: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The legacy token Secrets of a listing, their data dropped as soon as each is seen."""
    for item in items:
        item.pop("data", None)  # the token itself is never kept
        if item.get("type") == LEGACY_TYPE:
            yield item


def _secret_uses(pod: dict[str, Any]) -> list[tuple[str, str]]:
    """(Secret name, how the pod uses it) for every Secret a pod's spec names."""
    spec = pod.get("spec") or {}
    uses: list[tuple[str, str]] = []
    for volume in spec.get("volumes") or []:
        name = volume.get("name")
        if (volume.get("secret") or {}).get("secretName"):
            uses.append((volume["secret"]["secretName"], f"volume {name}"))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("secret") or {}).get("name"):
                uses.append((source["secret"]["name"], f"projected volume {name}"))
    for kind in _CONTAINER_LISTS:
        for container in spec.get(kind) or []:
            cname = container.get("name")
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef") or {}
                if ref.get("name"):
                    uses.append((ref["name"], f"env {env.get('name')} in container {cname}"))
            for source in container.get("envFrom") or []:
                if (source.get("secretRef") or {}).get("name"):
                    uses.append((source["secretRef"]["name"], f"envFrom in container {cname}"))
    return uses


def advice(token: LegacyToken, today: date, grace: timedelta) -> str:
    """What to do next with a token, for the report."""
    if token.mounted_by:
        return (f"move its pods to a projected serviceAccountToken volume (short-lived, bound to the pod; the "
                f"pod runs as ServiceAccount {token.service_account}): {PROJECTED}; then --invalidate")
    if token.invalid_since:
        since = _day(token.invalid_since)
        if since is not None and _used_since(token, since):
            return (f"used {token.last_used}, after it was invalidated (restored meanwhile?): find that client "
                    "before deleting it")
        if since is not None and today - since >= grace:
            return "invalid and unused for longer than the grace period: --delete-unused"
        return "invalid: --delete-unused after the grace period with no use, or --restore if something broke"
    if token.last_used is None:
        return "no use recorded: --invalidate (reversible with --restore)"
    return (f"used {token.last_used} and mounted by no pod: a client outside the cluster? give it a bound, "
            f"rotated token (a k8s-token managed secret for ServiceAccount {token.namespace}/"
            f"{token.service_account}), then --invalidate")


def invalidate(conn: Connection, tokens: list[LegacyToken], pods_visible: bool, today: date) -> None:
    for token in tokens:
        if token.invalid_since:
            token.outcome, token.note = "unchanged", f"already invalid since {token.invalid_since}"
        elif token.mounted_by:
            token.outcome, token.note = "skipped", f"mounted by {', '.join(token.mounted_by)}: move those first"
        elif not pods_visible:
            token.outcome, token.note = "skipped", "pods could not be listed: who mounts it is unknown"
        else:
            _label(conn, token, today.isoformat())
            token.outcome, token.note = "invalidated", f"label {INVALID_SINCE}={today.isoformat()} set: the API " \
                                                       "server rejects its token (undo: --restore)"
            token.invalid_since = today.isoformat()


def restore(conn: Connection, tokens: list[LegacyToken]) -> None:
    for token in tokens:
        if not token.invalid_since:
            token.outcome, token.note = "unchanged", "not invalidated"
            continue
        _label(conn, token, None)
        token.outcome, token.note = "restored", f"label {INVALID_SINCE} removed: its token works again"
        token.invalid_since = None


def delete_unused(conn: Connection, tokens: list[LegacyToken], pods_visible: bool, today: date,
                  grace: timedelta) -> None:
    from secretkeeper.kube.calls import KubeCallError, call, core

    for token in tokens:
        since = _day(token.invalid_since)
        if since is None:
            token.outcome = "skipped"
            token.note = ("not invalidated: --invalidate first" if token.invalid_since is None else
                          f"{INVALID_SINCE} is not a day: {token.invalid_since!r}")
        elif today - since < grace:
            token.outcome, token.note = "skipped", f"invalid only since {token.invalid_since}, grace ends " \
                                                   f"{(since + grace).isoformat()}"
        elif _used_since(token, since):
            token.outcome, token.note = "skipped", f"used {token.last_used}, after it was invalidated"
        elif token.mounted_by or not pods_visible:
            token.outcome = "skipped"
            token.note = (f"mounted by {', '.join(token.mounted_by)}" if token.mounted_by else
                          "pods could not be listed: who mounts it is unknown")
        else:
            try:
                call(conn, f"delete Secret {token.ref}", core(conn).delete_namespaced_secret, token.name,
                     token.namespace, body={"preconditions": {"uid": token.uid}})
            except KubeCallError as exc:
                if exc.status not in (404, 409):
                    raise
                token.outcome, token.note = "skipped", "gone, or re-created under the same name"
                continue
            token.outcome = "deleted"
            token.note = f"invalid since {token.invalid_since}, no use recorded since"


def _label(conn: Connection, token: LegacyToken, value: str | None) -> None:
    from secretkeeper.kube.calls import call, core

    patch = {"metadata": {"labels": {INVALID_SINCE: value}}}  # JSON merge patch: null removes the label
    call(conn, f"label Secret {token.ref}", core(conn).patch_namespaced_secret, token.name, token.namespace, patch,
         _content_type="application/merge-patch+json")


def _used_since(token: LegacyToken, since: date) -> bool:
    """A use recorded after the day it was invalidated (the day itself is ambiguous: used, then marked)."""
    used = _day(token.last_used)
    return used is not None and used > since


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None
