"""Live cluster: list objects through the Kubernetes API and run the same hygiene rules as for manifests.

`secretkeeper scan --cluster [--context C] [--namespace N | --all-namespaces]`:

- connects through `secretkeeper.kube.client`: the kubeconfig (`KUBECONFIG` or ~/.kube/config,
  `--context`) or, inside a pod, the in-cluster service-account config; TLS verification always stays on;
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

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from scanners.options import ClusterOptions
from secretkeeper.findings import LEAK, Finding, Location, Scrubber, sha256_hex
from secretkeeper.hygiene.workloads import CONTAINER_LISTS, pod_spec
from secretkeeper.kube.client import Connection, Resource, connect, list_visible
from secretkeeper.kube.objects import KubeObject
from secretkeeper.kube.secretdata import stored_values

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PUBLIC_SECRET_KEYS = ("tls.crt", "ca.crt")  # certificates, not secrets: kept for expiry checks
_RBAC = "rbac.authorization.k8s.io/v1"
LISTED: tuple[Resource, ...] = (
    Resource("pods", "Pod", "v1"),
    Resource("deployments", "Deployment", "apps/v1"),
    Resource("statefulsets", "StatefulSet", "apps/v1"),
    Resource("daemonsets", "DaemonSet", "apps/v1"),
    Resource("replicasets", "ReplicaSet", "apps/v1"),
    Resource("jobs", "Job", "batch/v1"),
    Resource("cronjobs", "CronJob", "batch/v1", optional=True),  # not served before Kubernetes 1.21
    Resource("secrets", "Secret", "v1"),
    Resource("configmaps", "ConfigMap", "v1"),
    Resource("serviceaccounts", "ServiceAccount", "v1"),
    Resource("roles", "Role", _RBAC),
    Resource("rolebindings", "RoleBinding", _RBAC),
    Resource("clusterroles", "ClusterRole", _RBAC, namespaced=False),
    Resource("clusterrolebindings", "ClusterRoleBinding", _RBAC, namespaced=False),
)


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
    for stored in stored_values(KubeObject(body, source="cluster")):
        raw = stored.value
        if stored.field != "data" or raw is None:  # a live Secret has no stringData: the API merges it
            continue
        if raw.strip():
            hashes.setdefault(sha256_hex(raw), f"{ref} key {stored.key}")
            hashes.setdefault(sha256_hex(raw.strip()), f"{ref} key {stored.key}")
        if stored.key in PUBLIC_SECRET_KEYS:
            kept[stored.key] = stored.written
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
        for stored in stored_values(KubeObject(body, source="cluster")):
            if stored.value is not None:
                text = stored.value.decode("utf-8", "surrogateescape")
                yield _ref(body, f"{stored.field} {stored.key}"), text
        return
    pod = pod_spec(KubeObject(body, source="cluster"))  # known kinds, and any object by its shape
    if pod is None:
        return
    spec = pod.spec
    for list_name in CONTAINER_LISTS:
        for c in _list(spec.get(list_name)):
            if not isinstance(c, dict):
                continue
            cname = str(c.get("name") or "?")
            for env in _list(c.get("env")):
                if isinstance(env, dict) and isinstance(env.get("value"), str):
                    yield _ref(body, cname, f"env {env.get('name')}"), env["value"]
            for field in ("command", "args"):
                words = [w for w in _list(c.get(field)) if isinstance(w, str)]
                if words:
                    yield _ref(body, cname, field), "\n".join(words)


def _list(value: Any) -> list[Any]:
    """`value` if the API server sent a list there, else nothing: live objects are what it answers."""
    return value if isinstance(value, list) else []


def leak_findings(bodies: list[dict[str, Any]], detector: Detector,
                  secrets: list[bytes | str] | None = None) -> list[Finding]:
    """Leaks in the values `live_values` names; each secret is also added to `secrets` when given."""
    from secretkeeper.findings import finding_from_match

    out: list[Finding] = []
    for body in bodies:
        for ref, text in live_values(body):
            if not text.strip():
                continue
            for m in detector.scan(text.encode("utf-8", "surrogateescape"), ref):
                out.append(finding_from_match(m, Location(source="cluster", object=ref)))
                if secrets is not None:
                    secrets.append(m.secret)
    return out


def _base_ref(obj_ref: str | None) -> str:
    return "/".join((obj_ref or "").split("/")[:3])


# -- images ---------------------------------------------------------------------------------------------
def running_images(pods: list[dict[str, Any]]) -> list[str]:
    """Image references of running pods, pinned by digest where the kubelet reported one, deduplicated."""
    refs: dict[str, str] = {}
    for pod in pods:
        status = pod.get("status")
        if not isinstance(status, dict) or status.get("phase") != "Running":
            continue
        for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
            for cs in _list(status.get(key)):
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


def scan_cluster(detector: Detector, options: ClusterOptions, stats: Any, *, max_size: int) -> list[Finding]:
    with connect(options.context) as conn:
        return _scan(conn, detector, options, stats, max_size)


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
            for body in list_visible(conn, what, ns, stats.warnings):
                stats.objects += 1
                if what.kind == "Secret":
                    body = strip_secret(body, hashes)
                else:
                    (body.get("metadata") or {}).pop("managedFields", None)
                if what.kind == "Pod":
                    pods.append(body)
                bodies.append(body)
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
    secrets: list[bytes | str] = [v for obj in objects for v in obj.flagged]
    for f in leak_findings(values, detector, secrets) + _other_strings(values, detector):
        key = (f.secret_sha256, _base_ref(f.location.object))
        if key not in covered:
            covered.add(key)
            findings.append(f)
    # A secret in a value that is also in an object's names (a Deployment named after a token, in lower
    # case as Kubernetes names are) is redacted in every finding that names the object.
    scrub = Scrubber(secrets)
    return [_match_managed(scrub.finding(f), hashes) for f in findings]


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
