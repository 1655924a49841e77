"""Live cluster: list objects through the Kubernetes API and run the same hygiene rules as for manifests.

`secretkeeper scan --cluster [--context C] [--namespace N | --all-namespaces]`:

- connects with the kubeconfig (`KUBECONFIG` or ~/.kube/config, `--context`) or, inside a pod, the
  in-cluster service-account config; TLS verification always stays on;
- lists workloads (pods, deployments, statefulsets, daemonsets, replicasets, jobs, cronjobs), Secrets,
  ConfigMaps, ServiceAccounts and RBAC (roles, rolebindings, clusterroles, clusterrolebindings), page by
  page (`limit`/`continue`), in the context's namespace (like kubectl), `--namespace N`, or every
  namespace with `--all-namespaces`;
- Secrets keep metadata and type only: each value is hashed in memory (so a leak found elsewhere can be
  matched to the managed Secret that holds the same value) and dropped; values are never printed, and
  the `last-applied-configuration` annotation (which repeats them) is dropped too. Public certificates
  (`tls.crt`, `ca.crt`) are kept for the expiry checks;
- a resource the credentials may not list (403) becomes one warning, "secrets in namespace X: not
  visible with these permissions", and the scan goes on; an unreachable server, a broken kubeconfig or
  an unknown context is a SecretkeeperError naming the context and server (exit 2);
- string values in pod specs and ConfigMaps go through the Detector, located as
  `Kind/namespace/name[/container/env NAME]`;
- `--images-from-cluster`: the images running pods use (by digest, deduplicated) go to the image scanner.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from scanners.options import ClusterOptions
from secretkeeper.errors import SecretkeeperError
from secretkeeper.findings import LEAK, Finding, Location, sha256_hex
from secretkeeper.kube.objects import KubeObject

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector

PAGE_SIZE = 500
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
IN_CLUSTER_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PUBLIC_SECRET_KEYS = ("tls.crt", "ca.crt")  # certificates, not secrets: kept for expiry checks
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_TEMPLATE = {"Pod": ("spec",), "Deployment": ("spec", "template", "spec"),
             "StatefulSet": ("spec", "template", "spec"), "DaemonSet": ("spec", "template", "spec"),
             "ReplicaSet": ("spec", "template", "spec"), "Job": ("spec", "template", "spec"),
             "CronJob": ("spec", "jobTemplate", "spec", "template", "spec")}


@dataclass(frozen=True)
class Listed:
    """One kind of object to list: its API path pieces and kind."""

    plural: str
    kind: str
    group_version: str  # "v1", "apps/v1", ...
    namespaced: bool = True

    def path(self, namespace: str | None) -> str:
        base = "/api/v1" if self.group_version == "v1" else f"/apis/{self.group_version}"
        if self.namespaced and namespace is not None:
            return f"{base}/namespaces/{quote(namespace, safe='')}/{self.plural}"
        return f"{base}/{self.plural}"


_RBAC = "rbac.authorization.k8s.io/v1"
LISTED: tuple[Listed, ...] = (
    Listed("pods", "Pod", "v1"),
    Listed("deployments", "Deployment", "apps/v1"),
    Listed("statefulsets", "StatefulSet", "apps/v1"),
    Listed("daemonsets", "DaemonSet", "apps/v1"),
    Listed("replicasets", "ReplicaSet", "apps/v1"),
    Listed("jobs", "Job", "batch/v1"),
    Listed("cronjobs", "CronJob", "batch/v1"),
    Listed("secrets", "Secret", "v1"),
    Listed("configmaps", "ConfigMap", "v1"),
    Listed("serviceaccounts", "ServiceAccount", "v1"),
    Listed("roles", "Role", _RBAC),
    Listed("rolebindings", "RoleBinding", _RBAC),
    Listed("clusterroles", "ClusterRole", _RBAC, namespaced=False),
    Listed("clusterrolebindings", "ClusterRoleBinding", _RBAC, namespaced=False),
)


# -- connection -----------------------------------------------------------------------------------------
@dataclass
class Connection:
    api: Any  # kubernetes.client.ApiClient
    context: str  # context name, or "in-cluster"
    server: str
    namespace: str  # the context's default namespace

    def describe(self) -> str:
        return f"context {self.context} ({self.server})"


def connect(context: str | None = None) -> Connection:
    """Kubeconfig (`KUBECONFIG`, else ~/.kube/config) with `context`, else the in-cluster config."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    paths = os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    existing = [p for p in paths.split(os.pathsep) if p and os.path.exists(p)]
    cfg = client.Configuration()
    if not existing:
        if context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
            try:
                config.load_incluster_config(client_configuration=cfg)
            except ConfigException as exc:
                raise SecretkeeperError(f"in-cluster config: {exc}") from None
            namespace = "default"
            try:
                with open(IN_CLUSTER_NAMESPACE, encoding="utf-8") as fh:
                    namespace = fh.read().strip() or "default"
            except OSError:
                pass
            return Connection(_api_client(client, cfg), "in-cluster", cfg.host, namespace)
        raise SecretkeeperError(f"no kubeconfig found ({paths}) and not running inside a cluster")
    where = os.pathsep.join(existing)
    try:
        contexts, active = config.list_kube_config_contexts(config_file=where)
    except Exception as exc:
        raise SecretkeeperError(f"kubeconfig {where}: cannot be read ({_safe_reason(exc)})") from None
    names = [c.get("name") for c in contexts or []]
    chosen = next((c for c in contexts or [] if c.get("name") == context), None) if context else active
    if chosen is None:
        if context:
            raise SecretkeeperError(f"kubeconfig {where}: no context named {context!r} "
                                    f"(available: {', '.join(map(str, names)) or 'none'})")
        raise SecretkeeperError(f"kubeconfig {where}: no current context; pass --context")
    name = str(chosen.get("name"))
    try:
        config.load_kube_config(config_file=where, context=name, client_configuration=cfg,
                                persist_config=False)
    except Exception as exc:
        raise SecretkeeperError(f"kubeconfig {where}: context {name} cannot be loaded "
                                f"({_safe_reason(exc)})") from None
    namespace = str((chosen.get("context") or {}).get("namespace") or "default")
    return Connection(_api_client(client, cfg), name, cfg.host, namespace)


def _api_client(client: Any, cfg: Any) -> Any:
    cfg.verify_ssl = True  # never disabled, whatever the kubeconfig says
    cfg.retries = 0  # fail fast and quietly: urllib3 logs each retry as a warning on stderr
    return client.ApiClient(cfg)


def _safe_reason(exc: BaseException) -> str:
    """The exception class and its first line, cut short: kubeconfig errors name keys, not values."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first[:160]}" if first else type(exc).__name__


# -- listing --------------------------------------------------------------------------------------------
class Forbidden(Exception):
    pass


def _get(conn: Connection, path: str, query: dict[str, Any]) -> tuple[int, bytes]:
    """One GET through the client's own connection pool (its TLS, proxy and CA settings) and its auth
    (bearer token, refreshed exec/auth-provider tokens, client certificates). The generated API classes
    are not used: importing them costs seconds."""
    import urllib3

    cfg = conn.api.configuration
    headers = {"Accept": "application/json", "User-Agent": "secretkeeper"}
    for auth in (cfg.auth_settings() or {}).values():
        if auth.get("in") == "header" and auth.get("value"):
            headers[auth["key"]] = auth["value"]
    url = cfg.host.rstrip("/") + path + ("?" + urlencode(query) if query else "")
    resp = conn.api.rest_client.pool_manager.request(
        "GET", url, headers=headers, preload_content=True,
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT))
    return resp.status, resp.data


def list_objects(conn: Connection, what: Listed, namespace: str | None) -> Iterator[dict[str, Any]]:
    """Every object of `what` in `namespace` (None: all namespaces / cluster-scoped), page by page."""
    from urllib3.exceptions import HTTPError, SSLError

    token: str | None = None
    restarted = False
    seen: set[str] = set()
    while True:
        query: dict[str, Any] = {"limit": PAGE_SIZE}
        if token:
            query["continue"] = token
        try:
            status, data = _get(conn, what.path(namespace), query)
        except HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, SSLError) or isinstance(exc, SSLError):
                raise SecretkeeperError(f"{conn.describe()}: TLS verification of the API server failed (the "
                                        "kubeconfig's certificate-authority does not vouch for it; "
                                        "verification is never disabled)") from None
            raise SecretkeeperError(f"{conn.describe()}: cannot reach the Kubernetes API server "
                                    f"({type(reason).__name__})") from None
        if status == 403:
            raise Forbidden()
        if status == 410 and token and not restarted:  # continue token expired: list again from the start
            token, restarted = None, True
            continue
        if status == 401:
            raise SecretkeeperError(f"{conn.describe()}: the API server rejected the credentials "
                                    "(401 Unauthorized)")
        if status == 404 and what.kind == "CronJob":
            return  # clusters older than 1.21 serve no batch/v1 CronJob
        if status != 200:
            raise SecretkeeperError(f"{conn.describe()}: listing {what.plural} failed (HTTP {status}"
                                    f"{_status_reason(data)})")
        try:
            page = json.loads(data)
        except ValueError:
            raise SecretkeeperError(f"{conn.describe()}: listing {what.plural} returned a response that "
                                    "is not JSON") from None
        del data
        for item in page.get("items") or []:
            if not isinstance(item, dict):
                continue
            uid = str((item.get("metadata") or {}).get("uid") or id(item))
            if uid in seen:
                continue
            seen.add(uid)
            item.setdefault("apiVersion", what.group_version)
            item.setdefault("kind", what.kind)
            yield item
        token = (page.get("metadata") or {}).get("continue") or None
        if not token:
            return


def _status_reason(data: bytes) -> str:
    """The `reason` of a metav1.Status body (a fixed word like NotFound), never its message."""
    try:
        reason = json.loads(data).get("reason")
    except (ValueError, AttributeError):
        return ""
    return f" {reason}" if isinstance(reason, str) and reason.isalnum() else ""


# -- secrets: metadata and type only --------------------------------------------------------------------
def strip_secret(body: dict[str, Any], hashes: dict[str, str]) -> dict[str, Any]:
    """Metadata and type of a Secret; every value hashed into `hashes` (sha256 -> ref) and dropped."""
    meta = dict(body.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.pop(LAST_APPLIED, None)  # repeats the values in clear
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    meta.pop("managedFields", None)
    ref = f"Secret/{meta.get('namespace') or '-'}/{meta.get('name') or '-'}"
    kept: dict[str, Any] = {}
    for key, value in (body.get("data") or {}).items():
        if not isinstance(value, str):
            continue
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            continue
        if raw.strip():
            hashes.setdefault(sha256_hex(raw), f"{ref} key {key}")
            hashes.setdefault(sha256_hex(raw.strip()), f"{ref} key {key}")
        if key in PUBLIC_SECRET_KEYS:
            kept[key] = value
        del raw
    out = {"apiVersion": body.get("apiVersion", "v1"), "kind": "Secret", "metadata": meta,
           "type": body.get("type") or "Opaque"}
    if kept:
        out["data"] = kept
    return out


# -- leaks in live values -------------------------------------------------------------------------------
def _ref(body: dict[str, Any], *suffix: str) -> str:
    meta = body.get("metadata") or {}
    return "/".join([str(body.get("kind") or "Object"), str(meta.get("namespace") or "-"),
                     str(meta.get("name") or "-"), *suffix])


def live_values(body: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(object reference, text) for the string values of a live object worth a leak scan."""
    kind = body.get("kind")
    if kind == "ConfigMap":
        for key, value in (body.get("data") or {}).items():
            if isinstance(value, str):
                yield _ref(body, f"data {key}"), value
        for key, value in (body.get("binaryData") or {}).items():
            try:
                raw = base64.b64decode(str(value), validate=True)
            except (binascii.Error, ValueError):
                continue
            yield _ref(body, f"binaryData {key}"), raw.decode("utf-8", "surrogateescape")
        return
    path = _TEMPLATE.get(str(kind))
    if path is None:
        return
    spec: Any = body
    for key in path:
        spec = spec.get(key) if isinstance(spec, dict) else None
    if not isinstance(spec, dict):
        return
    for list_name in _CONTAINER_LISTS:
        for c in spec.get(list_name) or []:
            if not isinstance(c, dict):
                continue
            cname = str(c.get("name") or "?")
            for env in c.get("env") or []:
                if isinstance(env, dict) and isinstance(env.get("value"), str):
                    yield _ref(body, cname, f"env {env.get('name')}"), env["value"]
            for field in ("command", "args"):
                words = [w for w in c.get(field) or [] if isinstance(w, str)]
                if words:
                    yield _ref(body, cname, field), "\n".join(words)


def leak_findings(bodies: list[dict[str, Any]], detector: Detector) -> list[Finding]:
    from secretkeeper.findings import finding_from_match

    out: list[Finding] = []
    for body in bodies:
        for ref, text in live_values(body):
            if not text.strip():
                continue
            for m in detector.scan(text.encode("utf-8", "surrogateescape"), ref):
                out.append(finding_from_match(m, Location(source="cluster", object=ref)))
    return out


def _base_ref(obj_ref: str | None) -> str:
    return "/".join((obj_ref or "").split("/")[:3])


# -- images ---------------------------------------------------------------------------------------------
def running_images(pods: list[dict[str, Any]]) -> list[str]:
    """Image references of running pods, pinned by digest where the kubelet reported one, deduplicated."""
    refs: dict[str, str] = {}
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") != "Running":
            continue
        for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
            for cs in status.get(key) or []:
                if not isinstance(cs, dict):
                    continue
                image_id = str(cs.get("imageID") or "")
                for prefix in ("docker-pullable://", "docker://", "containerd://"):
                    image_id = image_id.removeprefix(prefix)
                image = str(cs.get("image") or "")
                if "@sha256:" in image_id:
                    digest = image_id.split("@", 1)[1]
                    refs.setdefault(digest, image_id)
                elif image_id.startswith("sha256:") and image:
                    name = image.split("@", 1)[0]
                    refs.setdefault(image_id, f"{name}@{image_id}" if ":" not in name.rsplit("/", 1)[-1]
                                    else image)
                elif image:
                    refs.setdefault(image, image)
    return list(refs.values())


# -- the scan -------------------------------------------------------------------------------------------
def _controlled(body: dict[str, Any]) -> bool:
    """Owned by a controller whose own object is scanned (pods of a ReplicaSet, ReplicaSets of a
    Deployment, Jobs of a CronJob): its findings would repeat the owner's."""
    for owner in (body.get("metadata") or {}).get("ownerReferences") or []:
        if isinstance(owner, dict) and owner.get("controller") and owner.get("kind") in (
                "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"):
            return True
    return False


def scan_cluster(detector: Detector, options: ClusterOptions, stats: Any, *, max_size: int,
                 connector: Callable[[str | None], Connection] = connect) -> list[Finding]:
    conn = connector(options.context)
    try:
        return _scan(conn, detector, options, stats, max_size)
    finally:
        conn.api.close()


def _scan(conn: Connection, detector: Detector, options: ClusterOptions, stats: Any,
          max_size: int) -> list[Finding]:
    if options.all_namespaces:
        scopes: list[str | None] = [None]
    else:
        scopes = [options.namespace or conn.namespace]
    full = options.objects  # False: --images-from-cluster alone lists pods only
    hashes: dict[str, str] = {}
    bodies: list[dict[str, Any]] = []
    pods: list[dict[str, Any]] = []
    for what in LISTED if full else tuple(w for w in LISTED if w.kind == "Pod"):
        for ns in ([None] if not what.namespaced else scopes):
            try:
                for body in list_objects(conn, what, ns):
                    stats.objects += 1
                    if what.kind == "Secret":
                        body = strip_secret(body, hashes)
                    else:
                        (body.get("metadata") or {}).pop("managedFields", None)
                    if what.kind == "Pod":
                        pods.append(body)
                    bodies.append(body)
            except Forbidden:
                where = f"in namespace {ns}" if ns else ("in any namespace" if what.namespaced else "(cluster-wide)")
                stats.warnings.append(f"{what.plural} {where}: not visible with these permissions")
    findings: list[Finding] = _checks(bodies, detector, hashes) if full else []
    hashes.clear()
    if options.images is not None:
        refs = running_images(pods)
        if refs:
            from scanners.images import scan_images

            findings.extend(scan_images(refs, detector, options.images, stats, max_size=max_size, strict=False))
    return findings


def _checks(bodies: list[dict[str, Any]], detector: Detector, hashes: dict[str, str]) -> list[Finding]:
    """Hygiene rules on the objects, then leaks in their values not already reported."""
    scanned = [b for b in bodies if not _controlled(b)]
    objects = [KubeObject(body=b, source="cluster", path=None) for b in scanned]
    findings: list[Finding] = list(_hygiene(objects, detector))
    covered = {(f.secret_sha256, _base_ref(f.location.object)) for f in findings if f.kind == LEAK}
    values = [b for b in scanned if b.get("kind") != "Secret"]
    # first the values named precisely (container/env NAME, data KEY), then every other string
    # (annotations, args, volumes...) for what those did not report
    for f in leak_findings(values, detector) + _other_strings(values, detector):
        key = (f.secret_sha256, _base_ref(f.location.object))
        if key not in covered:
            covered.add(key)
            findings.append(f)
    return [_match_managed(f, hashes) for f in findings]


def _other_strings(bodies: list[dict[str, Any]], detector: Detector) -> list[Finding]:
    from secretkeeper.hygiene import value_leaks

    return value_leaks([KubeObject(body=b, source="cluster", path=None) for b in bodies], detector)


def _hygiene(objects: list[KubeObject], detector: Detector) -> list[Finding]:
    from secretkeeper.hygiene import check_objects  # the same rules as for manifest files

    return check_objects(objects, detector)


def _match_managed(finding: Finding, hashes: dict[str, str]) -> Finding:
    """A leaked value that equals a value of a Secret in the cluster names that Secret (never the value)."""
    where = hashes.get(finding.secret_sha256 or "")
    if where is None:
        return finding
    return replace(finding, extra={**finding.extra, "managed_secret": where})
