"""An in-memory Kubernetes API server emulator for tests: real HTTP on 127.0.0.1, the documented REST API.

Test infrastructure only (never shipped). It speaks enough of kube-apiserver for the real `kubernetes`
Python client and `kubectl` to work against it:

- discovery: /version, /api, /api/v1, /apis, /apis/<group>/<version> (resource lists with verbs,
  short names and subresources, so kubectl resolves `po`, `deploy`, `cm` ...);
- CRUD for core/v1 (namespaces, pods, secrets, configmaps, serviceaccounts, services, events),
  apps/v1 (deployments, statefulsets, daemonsets, replicasets), batch/v1 (jobs, cronjobs),
  rbac.authorization.k8s.io/v1 (roles, rolebindings, clusterroles, clusterrolebindings),
  coordination.k8s.io/v1 (leases); `status` subresources; lists across all namespaces;
- list options: labelSelector (=, ==, !=, in, notin, exists, !exists), fieldSelector (metadata.name,
  metadata.namespace and any dotted field, =, ==, !=), limit/continue with opaque tokens and
  `metadata.remainingItemCount`; watch (`?watch=true`, chunked JSON event stream, resourceVersion and
  timeoutSeconds); server-side Table output for `kubectl get`;
- resourceVersion on every write, optimistic concurrency (stale PUT or patch -> 409 Conflict),
  create of an existing name -> 409 AlreadyExists, NotFound/Forbidden/Unauthorized/Invalid Status
  objects, `generation` bumped on spec changes, `uid`, `creationTimestamp`, `generateName`;
- `?dryRun=All` on create, update and patch: the answer without storing anything;
- PATCH as JSON merge patch, strategic merge patch and JSON patch (see kube_patch.py), and a simplified
  server-side apply (create or strategic merge; no field ownership); immutable Secrets/ConfigMaps;
  finalizers (DELETE marks `deletionTimestamp`; the object goes when its last finalizer is removed);
- Secrets: `stringData` folded into base64 `data`; legacy service-account token Secrets get a token;
- `serviceaccounts/<name>/token` (TokenRequest): an HS256-signed JWT with `expirationTimestamp`; such
  tokens authenticate as `system:serviceaccount:<ns>:<name>` while the ServiceAccount (same uid) exists,
  and are authorized by the RBAC objects stored in the emulator (Role/ClusterRole + bindings);
  `boundObjectRef` (a Secret or Pod) binds a token to that object: deleting it revokes the token;
  legacy token Secrets honour `kubernetes.io/legacy-token-invalid-since` and get
  `kubernetes.io/legacy-token-last-used` stamped on use; `tokenreviews` (TokenReview) says whether a
  token is accepted, for which audiences (tests/emulators/kube_tokens.py);
- static bearer tokens, each mapped to a user and either full access or a set of allowed
  (verb, resource[, namespace]) rules, so a test can make `secrets` forbidden (403 Status);
- the service proxy (`/api/v1/namespaces/<ns>/services/[scheme:]<name>[:port]/proxy/<path>`, RBAC verb
  on `services/proxy`): answers a test registered with `serve_proxy` (the sealed-secrets controller's
  /v1/cert.pem), 404 without the Service, 503 (no endpoints) for a path nothing serves;
- SealedSecrets (bitnami.com/v1alpha1) and, after `run_sealed_secrets_controller(key)`, the controller's
  work: each SealedSecret written is unsealed with that private key (tests/sealed_kit.py, written from
  the format) into its Secret (template metadata and type, owner reference), or gets a `Synced: False`
  condition when no value opens (wrong scope, wrong key) or a Secret it does not own has the name;
- authentication.k8s.io selfsubjectreviews and authorization.k8s.io selfsubjectaccessreviews
  (`kubectl auth whoami` / `kubectl auth can-i`).

Workload "controllers" are simulated just enough: writes to a Deployment/StatefulSet/DaemonSet/
ReplicaSet set a status that reports the rollout complete at the current generation. With
`simulate_rollouts()`, Deployments/StatefulSets/DaemonSets get pods of their pod template (labels and
annotations copied, `pod-template-hash`; a ReplicaSet per template for Deployments): a change of the pod
template is a new generation whose status reports `updatedReplicas: 0` until `delay` seconds passed, then
the rollout complete; the pods of the old template are then marked terminating and disappear after
`grace` seconds (at most their terminationGracePeriodSeconds). Time advances on each request.

TLS: HTTPS by default (kubectl sends tokens only over TLS); the kubeconfig carries the CA.

Usage:

    with KubeEmulator() as kube:
        kube.write_kubeconfig(path)          # server https://127.0.0.1:PORT + its CA, admin token
        kube.add_token("viewer", rules={("list", "pods"), ("get", "*")})
        kube.simulate_rollouts(delay=0.3, grace=0.5)     # workloads get pods; a template change rolls
        kube.seed({...})                     # insert an object directly, status included
        kube.issue_token("ns", "sa")         # what TokenRequest returns, without HTTP
        kube.break_rollout("deployments", "ns", "web")   # its next rollout never completes
        kube.serve_proxy("kube-system", "sealed-secrets-controller", "http", "/v1/cert.pem", pem)
        kube.state.requests                  # (method, path?query) of every request, for assertions

`KubeEmulator(tls=False)` serves plain HTTP (the Python client sends tokens over it; kubectl does not).
Fixtures: `kube_emulator` (session) and `kube` (a fresh namespace per test, or a real cluster when
KUBECONFIG is set) in tests/integration/conftest.py.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import secrets as _random
import ssl
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from tests.emulators import kube_tokens
from tests.emulators.kube_patch import PatchError, apply_patch
from tests.emulators.kube_tls import make_server_tls

SERVER_VERSION = {"major": "1", "minor": "30", "gitVersion": "v1.30.0-secretkeeper-emulator",
                  "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                  "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.22", "compiler": "gc",
                  "platform": "linux/amd64"}
WATCH_MAX_SECONDS = 60
EVENT_LOG_SIZE = 2000


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    short: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    singular: str = ""

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

RESOURCES: tuple[Resource, ...] = (
    Resource("", "v1", "namespaces", "Namespace", False, ("ns",), ("status",)),
    Resource("", "v1", "pods", "Pod", True, ("po",), ("status",)),
    Resource("", "v1", "secrets", "Secret"),
    Resource("", "v1", "configmaps", "ConfigMap", True, ("cm",)),
    Resource("", "v1", "serviceaccounts", "ServiceAccount", True, ("sa",), ("token",)),
    Resource("", "v1", "services", "Service", True, ("svc",), ("status",)),
    Resource("", "v1", "events", "Event", True, ("ev",)),
    Resource("apps", "v1", "deployments", "Deployment", True, ("deploy",), ("status",)),
    Resource("apps", "v1", "statefulsets", "StatefulSet", True, ("sts",), ("status",)),
    Resource("apps", "v1", "daemonsets", "DaemonSet", True, ("ds",), ("status",)),
    Resource("apps", "v1", "replicasets", "ReplicaSet", True, ("rs",), ("status",)),
    Resource("batch", "v1", "jobs", "Job", True, (), ("status",)),
    Resource("batch", "v1", "cronjobs", "CronJob", True, ("cj",), ("status",)),
    Resource("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    Resource("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    Resource("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    Resource("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    Resource("coordination.k8s.io", "v1", "leases", "Lease"),
    Resource("bitnami.com", "v1alpha1", "sealedsecrets", "SealedSecret", True, (), ("status",)),  # the CRD
)
_BY_GV: dict[tuple[str, str, str], Resource] = {(r.group, r.version, r.plural): r for r in RESOURCES}
_WORKLOADS = {"deployments", "statefulsets", "daemonsets", "replicasets"}
# Resources whose `status` is owned by the status subresource (ignored on create/update of the main one).
_STATUS_OWNED = {r.plural for r in RESOURCES if "status" in r.subresources}
_NO_GENERATION = {"pods", "secrets", "configmaps", "serviceaccounts", "events", "namespaces", "leases",
                  "roles", "rolebindings", "clusterroles", "clusterrolebindings"}


class ApiError(Exception):
    """Becomes a metav1.Status response."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            body["details"] = self.details
        return body


def _qualified(res: Resource) -> str:
    return f"{res.plural}.{res.group}" if res.group else res.plural


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{_qualified(res)} "{name}" not found',
                    {"name": name, "group": res.group, "kind": res.plural})


def conflict(res: Resource, name: str) -> ApiError:
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {_qualified(res)} "{name}": the object '
                    "has been modified; please apply your changes to the latest version and try again",
                    {"name": name, "group": res.group, "kind": res.plural})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- selectors ------------------------------------------------------------------------------------------
_SET_RE = re.compile(r"^\s*([^\s!=]+)\s+(in|notin)\s+\((.*)\)\s*$")


def _split_top(text: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def label_matcher(selector: str | None):
    if not selector:
        return lambda labels: True
    tests = []
    for term in _split_top(selector):
        term = term.strip()
        m = _SET_RE.match(term)
        if m:
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            if op == "in":
                tests.append(lambda lb, k=key, vs=values: lb.get(k) in vs)
            else:
                tests.append(lambda lb, k=key, vs=values: lb.get(k) not in vs)
        elif "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda lb, k=k, v=v: lb.get(k) != v)
        elif "=" in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda lb, k=k, v=v: lb.get(k) == v)
        elif term.startswith("!"):
            absent = term[1:].strip()
            tests.append(lambda lb, k=absent: k not in lb)
        elif re.fullmatch(r"[A-Za-z0-9./_-]+", term):
            tests.append(lambda lb, k=term: k in lb)
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")
    return lambda labels: all(t(labels or {}) for t in tests)


def _field_value(obj: dict[str, Any], path: str) -> str:
    node: Any = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if node is None:
        return ""
    if isinstance(node, bool):
        return "true" if node else "false"
    return str(node)


def field_matcher(selector: str | None):
    if not selector:
        return lambda obj: True
    tests = []
    for term in selector.split(","):
        term = term.strip()
        if "!=" in term:
            k, v = (s.strip() for s in term.split("!=", 1))
            tests.append(lambda o, k=k, v=v: _field_value(o, k) != v)
        elif "=" in term:
            k, v = (s.strip() for s in term.replace("==", "=").split("=", 1))
            tests.append(lambda o, k=k, v=v: _field_value(o, k) == v)
        else:
            raise ApiError(400, "BadRequest", f"invalid field selector: {term!r}")
    return lambda obj: all(t(obj) for t in tests)


# -- tokens and authorization ---------------------------------------------------------------------------
Rule = tuple  # (verb, resource) or (verb, resource, namespace); "*" matches anything


@dataclass
class Principal:
    user: str
    groups: tuple[str, ...] = ("system:authenticated",)
    rules: frozenset[Rule] | None = None  # None: full access (cluster-admin)
    sa: tuple[str, str, str] | None = None  # (namespace, name, uid) for service-account tokens
    uid: str = ""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the store ------------------------------------------------------------------------------------------
@dataclass
class _Event:
    rv: int
    type: str
    plural: str
    group: str
    obj: dict[str, Any]


@dataclass
class KubeState:
    """Everything the server holds; all access under `lock`."""

    objects: dict[tuple[str, str], dict[tuple[str, str], dict[str, Any]]] = field(default_factory=dict)
    rv: int = 1000
    events: list[_Event] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    signing_key: bytes = field(default_factory=lambda: _random.token_bytes(32))
    tokens: dict[str, Principal] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path?query) log for tests
    closed: bool = False

    def table(self, res: Resource) -> dict[tuple[str, str], dict[str, Any]]:
        return self.objects.setdefault((res.group, res.plural), {})

    def bump(self) -> int:
        self.rv += 1
        return self.rv

    def record(self, kind: str, res: Resource, obj: dict[str, Any]) -> None:
        self.events.append(_Event(int(obj["metadata"]["resourceVersion"]), kind, res.plural, res.group,
                                  copy.deepcopy(obj)))
        if len(self.events) > EVENT_LOG_SIZE:
            del self.events[: len(self.events) - EVENT_LOG_SIZE]
        self.lock.notify_all()


@dataclass
class _Rollout:
    hash: str  # of the pod template being rolled out
    ready_at: float  # monotonic time at which it completes
    old: str | None  # the template hash it replaces
    done: bool = False


@dataclass
class _RolloutSim:
    delay: float
    grace: float
    workloads: dict[tuple[str, str, str], _Rollout] = field(default_factory=dict)
    terminating: dict[tuple[str, str], float] = field(default_factory=dict)  # pod key -> gone at


class KubeEmulator:
    """The emulator: `start()`/`stop()` or use as a context manager. Thread-safe."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, admin_token: str | None = None,
                 tls: bool = True) -> None:
        self.state = KubeState()
        self.tls = make_server_tls(host) if tls else None
        self.admin_token = admin_token or f"emulator-admin-{_random.token_hex(12)}"
        self.rollouts: _RolloutSim | None = None  # simulate_rollouts(): pods and timed rollouts
        self.add_token(self.admin_token, user="emulator-admin", groups=("system:masters",))
        self._host, self._port = host, port
        self.stuck: set[tuple[str, str, str]] = set()  # (plural, namespace, name) whose rollouts fail
        self.proxied: dict[tuple[str, str, str, str], tuple[str, bytes]] = {}  # serve_proxy's answers
        self.sealing_key: Any = None  # the sealed-secrets controller stand-in's private key, once running
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer((self._host, self._port), handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            # handshake in the handler thread (first read), so a stalled client cannot block accept()
            self._server.socket = self.tls.server_context().wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, name="kube-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self.state.lock:
            self.state.closed = True
            self.state.lock.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # -- test helpers ------------------------------------------------------------------------------------
    def add_token(self, token: str, user: str = "tester", *, rules: Iterable[Rule] | None = None,
                  groups: Iterable[str] = ()) -> str:
        """Register a static bearer token; `rules=None` is full access, else allowed (verb, resource[, ns])."""
        principal = Principal(user, tuple(groups) + ("system:authenticated",),
                              None if rules is None else frozenset(tuple(r) for r in rules))
        with self.state.lock:
            self.state.tokens[token] = principal
        return token

    def serve_proxy(self, namespace: str, service: str, port: str, path: str, body: bytes,
                    content_type: str = "text/plain; charset=utf-8") -> None:
        """What the service proxy answers for GET `path` on `service`'s port `port` (a name or number)
        in `namespace`, as a pod behind it would. The Service itself must exist (seed it)."""
        with self.state.lock:
            self.proxied[(namespace, service, port, path)] = (content_type, body)

    def run_sealed_secrets_controller(self, key: Any, namespace: str = "kube-system",
                                      name: str = "sealed-secrets-controller") -> bytes:
        """A sealed-secrets controller stand-in with RSA private `key`: its Service, its certificate at
        /v1/cert.pem behind the service proxy, and SealedSecrets unsealed into Secrets from now on.
        Returns the certificate (PEM)."""
        from tests.sealed_kit import cert_pem

        pem = cert_pem(key)
        self.seed({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
                   "spec": {"ports": [{"name": "http", "port": 8080}]}})
        self.serve_proxy(namespace, name, "http", "/v1/cert.pem", pem)
        with self.state.lock:
            self.sealing_key = key
        return pem

    def write_kubeconfig(self, path: str | Path, *, token: str | None = None, namespace: str = "default",
                         context: str = "emulator", extra_contexts: dict[str, str] | None = None) -> Path:
        """A kubeconfig usable by kubectl and the Python client. `extra_contexts`: name -> token."""
        path = Path(path)
        contexts = {context: token or self.admin_token, **(extra_contexts or {})}
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls is not None:
            cluster["certificate-authority-data"] = base64.b64encode(self.tls.ca_pem).decode()
        doc = {
            "apiVersion": "v1", "kind": "Config", "preferences": {}, "current-context": context,
            "clusters": [{"name": "emulator", "cluster": cluster}],
            "users": [{"name": f"user-{name}", "user": {"token": tok}} for name, tok in contexts.items()],
            "contexts": [{"name": name, "context": {"cluster": "emulator", "user": f"user-{name}",
                                                    "namespace": namespace}} for name in contexts],
        }
        path.write_text(json.dumps(doc, indent=2))  # JSON is YAML; kubectl and the client both read it
        path.chmod(0o600)
        return path

    def seed(self, body: dict[str, Any]) -> dict[str, Any]:
        """Insert (or replace) an object directly, keeping its status; defaults filled as on create."""
        res = resource_for(body)
        ns = (body.get("metadata") or {}).get("namespace")
        if res.namespaced and ns and self.get("namespaces", ns) is None:
            self.seed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        with self.state.lock:
            obj = self._prepare_new(res, copy.deepcopy(body), body.get("metadata", {}).get("namespace"),
                                    keep_status=True)
            self.state.table(res)[(obj["metadata"].get("namespace", ""), obj["metadata"]["name"])] = obj
            self._after_write(res, obj, "ADDED")
            return copy.deepcopy(obj)

    def get(self, kind_or_plural: str, name: str, namespace: str | None = None) -> dict[str, Any] | None:
        res = _resource_by_name(kind_or_plural)
        with self.state.lock:
            obj = self.state.table(res).get((namespace or "" if res.namespaced else "", name))
            return copy.deepcopy(obj) if obj else None

    def list(self, kind_or_plural: str, namespace: str | None = None) -> list[dict[str, Any]]:
        res = _resource_by_name(kind_or_plural)
        with self.state.lock:
            return [copy.deepcopy(o) for (ns, _), o in sorted(self.state.table(res).items())
                    if namespace is None or ns == namespace]

    def break_rollout(self, plural: str, namespace: str, name: str, broken: bool = True) -> None:
        """Make a workload's rollouts fail from its next write on (a bad image, a crash loop): status
        reports the new generation observed but no updated or available replica and, for Deployments,
        `Progressing=False, reason ProgressDeadlineExceeded` — what `kubectl rollout status` fails on."""
        with self.state.lock:
            key = (_resource_by_name(plural).plural, namespace, name)
            if broken:
                self.stuck.add(key)
            else:
                self.stuck.discard(key)

    def simulate_rollouts(self, delay: float = 0.3, grace: float = 0.5) -> None:
        """From now on, workloads have pods and a pod-template change rolls out over `delay` seconds; the
        old template's pods terminate for `grace` seconds (capped by terminationGracePeriodSeconds)."""
        with self.state.lock:
            self.rollouts = _RolloutSim(delay, grace)

    # -- simulated rollouts (simulate_rollouts) --------------------------------------------------------------
    def _rollout_write(self, res: Resource, obj: dict[str, Any]) -> None:
        """A workload written: a new pod template starts a rollout; its status says how far it is."""
        sim = self.rollouts
        assert sim is not None
        meta = obj["metadata"]
        key = (res.plural, meta.get("namespace", ""), meta["name"])
        template = (obj.get("spec") or {}).get("template") or {}
        digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:10]
        rollout = sim.workloads.get(key)
        if rollout is None or rollout.hash != digest:
            old = rollout.hash if rollout is not None else None
            rollout = _Rollout(digest, time.monotonic() + (sim.delay if old is not None else 0), old)
            sim.workloads[key] = rollout
            self._start_pods(res, obj, digest)
        if not rollout.done:
            obj["status"].update(updatedReplicas=0, availableReplicas=0, updatedNumberScheduled=0,
                                 numberAvailable=0, updateRevision=digest)

    def _start_pods(self, res: Resource, obj: dict[str, Any], digest: str) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace", "")
        template = copy.deepcopy((obj.get("spec") or {}).get("template") or {})
        replicas = (obj.get("spec") or {}).get("replicas", 1) if res.plural != "daemonsets" else 1
        labels = {**((template.get("metadata") or {}).get("labels") or {}), "pod-template-hash": digest}
        owner = {"apiVersion": res.group_version, "kind": res.kind, "name": meta["name"], "uid": meta["uid"]}
        if res.plural == "deployments":
            rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": f"{meta['name']}-{digest}", "namespace": ns, "labels": labels,
                               "ownerReferences": [owner]},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template}}
            rs_res = _BY_GV[("apps", "v1", "replicasets")]
            rs = self._prepare_new(rs_res, rs, ns)
            self.state.table(rs_res)[(ns, rs["metadata"]["name"])] = rs
            self._after_write(rs_res, rs, "ADDED")
            owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
                     "uid": rs["metadata"]["uid"]}
        pods = _BY_GV[("", "v1", "pods")]
        for i in range(replicas):
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": f"{meta['name']}-{digest}-{i}", "namespace": ns, "labels": labels,
                                "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                                "ownerReferences": [owner]},
                   "spec": template.get("spec") or {}, "status": {"phase": "Running"}}
            pod = self._prepare_new(pods, pod, ns, keep_status=True)
            self.state.table(pods)[(ns, pod["metadata"]["name"])] = pod
            self._after_write(pods, pod, "ADDED")

    def _tick(self) -> None:
        """Advance simulated time: finish rollouts whose delay passed (their old pods start terminating),
        remove terminating pods whose grace passed."""
        sim = self.rollouts
        if sim is None:
            return
        now = time.monotonic()
        for (plural, ns, name), rollout in sim.workloads.items():
            if rollout.done or now < rollout.ready_at:
                continue
            rollout.done = True
            res = _BY_GV[("apps", "v1", plural)]
            obj = self.state.table(res).get((ns, name))
            if obj is None:
                continue
            obj["metadata"]["resourceVersion"] = str(self.state.bump())
            self._after_write(res, obj, "MODIFIED")  # the complete status, as on any write
            if rollout.old is not None:
                self._terminate_pods(ns, name, rollout.old, now)
        pods = _BY_GV[("", "v1", "pods")]
        for key, gone_at in list(sim.terminating.items()):
            if now >= gone_at and key in self.state.table(pods):
                gone = self.state.table(pods).pop(key)
                gone["metadata"]["resourceVersion"] = str(self.state.bump())
                self.state.record("DELETED", pods, gone)
            if now >= gone_at:
                del sim.terminating[key]

    def _terminate_pods(self, ns: str, workload: str, digest: str, now: float) -> None:
        sim = self.rollouts
        assert sim is not None
        pods = _BY_GV[("", "v1", "pods")]
        for key, pod in self.state.table(pods).items():
            labels = pod["metadata"].get("labels") or {}
            if key[0] == ns and labels.get("pod-template-hash") == digest and key[1].startswith(f"{workload}-"):
                grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
                pod["metadata"]["deletionTimestamp"] = _now()
                pod["metadata"]["deletionGracePeriodSeconds"] = grace
                sim.terminating[key] = now + min(sim.grace, float(grace))

    def issue_token(self, namespace: str, name: str, seconds: int = 3600,
                    audiences: Iterable[str] = ("https://kubernetes.default.svc",)) -> tuple[str, str]:
        """(token, expirationTimestamp) for an existing ServiceAccount, as TokenRequest returns."""
        sa = self.get("serviceaccounts", name, namespace)
        if sa is None:
            raise KeyError(f"serviceaccount {namespace}/{name}")
        return self._sign_sa_token(namespace, name, sa["metadata"]["uid"], seconds, list(audiences))

    # -- internals shared with the handler ---------------------------------------------------------------
    def _sign_sa_token(self, namespace: str, name: str, uid: str, seconds: int,
                       audiences: list[str], bound: dict[str, Any] | None = None) -> tuple[str, str]:
        now = int(time.time())
        exp = now + max(600, int(seconds))
        claims = {"aud": audiences, "exp": exp, "iat": now, "nbf": now, "iss": "https://kubernetes.default.svc",
                  "jti": str(uuid.uuid4()), "sub": f"system:serviceaccount:{namespace}:{name}",
                  "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid},
                                    **(bound or {})}}
        expires = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return kube_tokens.sign(self.state.signing_key, claims), expires

    def _authenticate(self, header: str | None) -> Principal:
        scheme, _, token = (header or "").strip().partition(" ")
        token = token.strip()  # the scheme is case-insensitive, as in the API server's bearer authenticator
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Unauthorized", "Unauthorized")
        principal = self.state.tokens.get(token)
        if principal is not None:
            return principal
        found = kube_tokens.principal_for(self, token)
        if found is not None and kube_tokens.API_AUDIENCE in found[1]:  # a token for another audience is not ours
            return found[0]
        raise ApiError(401, "Unauthorized", "Unauthorized")

    def _allowed(self, who: Principal, verb: str, resource: str, group: str, namespace: str | None,
                 name: str | None) -> bool:
        if "system:masters" in who.groups:
            return True
        if who.sa is not None:
            return self._rbac_allows(who, verb, resource, group, namespace, name)
        if who.rules is None:
            return True
        for rule in who.rules:
            r_verb, r_res = rule[0], rule[1]
            r_ns = rule[2] if len(rule) > 2 else "*"
            if r_verb in ("*", verb) and r_res in ("*", resource) and (r_ns == "*" or r_ns == namespace):
                return True
        return False

    def _rbac_allows(self, who: Principal, verb: str, resource: str, group: str, namespace: str | None,
                     name: str | None) -> bool:
        """RBAC as the API server evaluates it, for service-account tokens."""
        ns, sa_name, _ = who.sa  # type: ignore[misc]

        def subject_matches(subjects: list[dict[str, Any]] | None) -> bool:
            for s in subjects or []:
                if s.get("kind") == "ServiceAccount" and s.get("name") == sa_name and s.get("namespace") == ns:
                    return True
                if s.get("kind") == "Group" and s.get("name") in who.groups:
                    return True
                if s.get("kind") == "User" and s.get("name") == who.user:
                    return True
            return False

        def role_rules(ref: dict[str, Any], binding_ns: str | None) -> list[dict[str, Any]]:
            if ref.get("kind") == "ClusterRole":
                role = self.state.table(_BY_GV[("rbac.authorization.k8s.io", "v1", "clusterroles")]).get(
                    ("", ref.get("name")))
            else:
                role = self.state.table(_BY_GV[("rbac.authorization.k8s.io", "v1", "roles")]).get(
                    (binding_ns, ref.get("name")))
            return (role or {}).get("rules") or []

        def rule_matches(rule: dict[str, Any]) -> bool:
            def has(values: list[str] | None, want: str) -> bool:
                return bool(values) and ("*" in values or want in values)

            return (has(rule.get("verbs"), verb) and has(rule.get("apiGroups"), group)
                    and has(rule.get("resources"), resource)
                    and (not rule.get("resourceNames") or (name is not None and name in rule["resourceNames"])))

        rb = self.state.table(_BY_GV[("rbac.authorization.k8s.io", "v1", "clusterrolebindings")])
        for binding in rb.values():
            if subject_matches(binding.get("subjects")) and any(map(rule_matches, role_rules(binding["roleRef"], None))):
                return True
        if namespace:
            for (b_ns, _), binding in self.state.table(_BY_GV[("rbac.authorization.k8s.io", "v1",
                                                               "rolebindings")]).items():
                if b_ns == namespace and subject_matches(binding.get("subjects")) and any(
                        map(rule_matches, role_rules(binding["roleRef"], b_ns))):
                    return True
        return False

    def _prepare_new(self, res: Resource, body: dict[str, Any], namespace: str | None,
                     keep_status: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        meta = body.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise ApiError(400, "BadRequest", "metadata must be an object")
        body["apiVersion"], body["kind"] = res.group_version, res.kind
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + _random.token_hex(3)[:5]
            else:
                raise ApiError(422, "Invalid", f"{res.kind} \"\" is invalid: metadata.name: Required value: name "
                               "or generateName is required", {"kind": res.kind, "group": res.group})
        if res.namespaced:
            ns = namespace or meta.get("namespace") or "default"
            if meta.get("namespace") and meta["namespace"] != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the "
                               "namespace sent on the request")
            meta["namespace"] = ns
            if ("", ns) not in self.state.table(_BY_GV[("", "v1", "namespaces")]):
                raise ApiError(404, "NotFound", f'namespaces "{ns}" not found',
                               {"name": ns, "kind": "namespaces"})
        else:
            meta.pop("namespace", None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = _now()
        for key in ("deletionTimestamp", "selfLink"):
            meta.pop(key, None)
        if res.plural not in _NO_GENERATION:
            meta["generation"] = 1
        if res.plural in _STATUS_OWNED and not keep_status:
            body.pop("status", None)
        self._defaults(res, body)
        meta["resourceVersion"] = str(self.state.bump())
        return body

    def _defaults(self, res: Resource, body: dict[str, Any]) -> None:
        if res.plural == "secrets":
            body.setdefault("type", "Opaque")
            string_data = body.pop("stringData", None)
            if isinstance(string_data, dict):
                data = body.setdefault("data", {}) or {}
                for k, v in string_data.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
                body["data"] = data
            ann = body["metadata"].get("annotations") or {}
            if body["type"] == "kubernetes.io/service-account-token" and "token" not in (body.get("data") or {}):
                sa_name = ann.get("kubernetes.io/service-account.name")
                ns = body["metadata"]["namespace"]
                sa = self.state.table(_BY_GV[("", "v1", "serviceaccounts")]).get((ns, sa_name))
                if sa is not None:
                    token = kube_tokens.legacy_token(self.state.signing_key, ns, sa_name, sa["metadata"]["uid"],
                                                     body["metadata"]["name"])
                    body.setdefault("data", {}).update({
                        "token": base64.b64encode(token.encode()).decode(),
                        "namespace": base64.b64encode(ns.encode()).decode(),
                        "ca.crt": base64.b64encode(b"emulator-has-no-ca\n").decode()})
                    body["metadata"].setdefault("annotations", {})["kubernetes.io/service-account.uid"] = \
                        sa["metadata"]["uid"]
        elif res.plural == "namespaces":
            body.setdefault("spec", {"finalizers": ["kubernetes"]})
            body["status"] = {"phase": "Active"}
            labels = body["metadata"].setdefault("labels", {})
            labels["kubernetes.io/metadata.name"] = body["metadata"]["name"]
        elif res.plural == "services":
            spec = body.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            if not spec.get("clusterIP"):
                n = self.state.rv % 65000
                spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
        elif res.plural == "pods":
            body.setdefault("status", {"phase": "Pending"})
        elif res.plural == "leases":
            _check_lease(body)

    def _after_write(self, res: Resource, obj: dict[str, Any], event: str) -> None:
        meta = obj["metadata"]
        if res.plural in _WORKLOADS:
            spec = obj.get("spec") or {}
            replicas = spec.get("replicas", 1) if res.plural != "daemonsets" else 1
            status = {"observedGeneration": meta.get("generation", 1), "replicas": replicas,
                      "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}
            if res.plural == "statefulsets":
                status.update(currentReplicas=replicas, currentRevision="r1", updateRevision="r1")
            if res.plural == "daemonsets":
                status = {"observedGeneration": meta.get("generation", 1), "currentNumberScheduled": 1,
                          "desiredNumberScheduled": 1, "numberAvailable": 1, "numberReady": 1,
                          "updatedNumberScheduled": 1, "numberMisscheduled": 0}
            if (res.plural, meta.get("namespace", ""), meta["name"]) in self.stuck:
                status = {"observedGeneration": meta.get("generation", 1), "replicas": replicas,
                          "updatedReplicas": 0, "readyReplicas": 0, "availableReplicas": 0,
                          "unavailableReplicas": replicas, "updatedNumberScheduled": 0, "numberAvailable": 0,
                          "desiredNumberScheduled": 1, "numberReady": 0, "currentNumberScheduled": 1,
                          "updateRevision": "r2", "currentRevision": "r1",
                          "conditions": [{"type": "Progressing", "status": "False",
                                          "reason": "ProgressDeadlineExceeded"}]}
            elif res.plural == "deployments":
                status["conditions"] = [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                                        {"type": "Progressing", "status": "True",
                                         "reason": "NewReplicaSetAvailable"}]
            obj["status"] = {**(obj.get("status") or {}), **status}
        if res.plural == "sealedsecrets" and self.sealing_key is not None:
            self._unseal(obj)
        if res.plural == "namespaces" and event == "ADDED":
            sas = self.state.table(_BY_GV[("", "v1", "serviceaccounts")])
            if (meta["name"], "default") not in sas:
                sa = {"apiVersion": "v1", "kind": "ServiceAccount",
                      "metadata": {"name": "default", "namespace": meta["name"], "uid": str(uuid.uuid4()),
                                   "creationTimestamp": _now(), "resourceVersion": str(self.state.bump())}}
                sas[(meta["name"], "default")] = sa
                self.state.record("ADDED", _BY_GV[("", "v1", "serviceaccounts")], sa)
            cms = self.state.table(_BY_GV[("", "v1", "configmaps")])
            if (meta["name"], "kube-root-ca.crt") not in cms and self.tls is not None:
                # the root CA publisher's ConfigMap, present in every namespace of a real cluster
                cm = {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "kube-root-ca.crt", "namespace": meta["name"], "uid": str(uuid.uuid4()),
                                   "creationTimestamp": _now(), "resourceVersion": str(self.state.bump())},
                      "data": {"ca.crt": self.tls.ca_pem.decode()}}
                cms[(meta["name"], "kube-root-ca.crt")] = cm
                self.state.record("ADDED", _BY_GV[("", "v1", "configmaps")], cm)
        if self.rollouts is not None and res.plural in _WORKLOADS - {"replicasets"} and \
                (res.plural, meta.get("namespace", ""), meta["name"]) not in self.stuck:
            self._rollout_write(res, obj)
        self.state.record(event, res, obj)


    def _unseal(self, sealed: dict[str, Any]) -> None:
        """What the sealed-secrets controller does with a SealedSecret written (the state lock held)."""
        from tests.sealed_kit import unseal_all

        meta = sealed["metadata"]
        ns, name = meta["namespace"], meta["name"]

        def synced(ok: bool, message: str = "") -> None:
            condition = {"type": "Synced", "status": "True" if ok else "False", "lastUpdateTime": _now()}
            sealed["status"] = {"observedGeneration": meta.get("generation", 1),
                                "conditions": [{**condition, **({"message": message} if message else {})}]}

        try:
            data = unseal_all(self.sealing_key, sealed)
        except Exception:  # a wrong label or key: the controller's message names neither value nor key
            synced(False, "no key could decrypt secret")
            return
        secrets = _BY_GV[("", "v1", "secrets")]
        table = self.state.table(secrets)
        old = table.get((ns, name))
        owner = {"apiVersion": sealed["apiVersion"], "kind": "SealedSecret", "name": name, "uid": meta["uid"],
                 "controller": True}
        if old is not None and not any(ref.get("uid") == meta["uid"] for ref in
                                       old["metadata"].get("ownerReferences") or []):
            synced(False, f'Resource "{name}" already exists and is not managed by SealedSecret')
            return
        template = (sealed.get("spec") or {}).get("template") or {}
        secret = {"apiVersion": "v1", "kind": "Secret",
                  "metadata": {**(template.get("metadata") or {}), "name": name, "namespace": ns,
                               "ownerReferences": [owner],
                               "uid": old["metadata"]["uid"] if old else str(uuid.uuid4()),
                               "creationTimestamp": old["metadata"]["creationTimestamp"] if old else _now(),
                               "resourceVersion": str(self.state.bump())},
                  "type": template.get("type") or "Opaque",
                  "data": {key: base64.b64encode(value).decode() for key, value in data.items()}}
        table[(ns, name)] = secret
        self.state.record("MODIFIED" if old else "ADDED", secrets, secret)
        synced(True)


_MICRO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _check_lease(body: dict[str, Any]) -> None:
    """What the API server validates in a Lease's spec (coordination.k8s.io/v1): times are MicroTime
    (a bad one fails decoding: 400), the duration is positive, the transitions are not negative (422)."""
    spec = body.get("spec") or {}
    name = body["metadata"].get("name", "")
    for key in ("acquireTime", "renewTime"):
        value = spec.get(key)
        if value is not None and not (isinstance(value, str) and _MICRO_TIME.fullmatch(value)):
            raise ApiError(400, "BadRequest", f"Lease in version \"v1\" cannot be handled as a Lease: "
                           f"spec.{key}: not an RFC 3339 time")
    for key, least in (("leaseDurationSeconds", 1), ("leaseTransitions", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < least):
            raise ApiError(422, "Invalid", f'Lease.coordination.k8s.io "{name}" is invalid: spec.{key}: Invalid '
                           f"value: {value!r}: must be {'greater than 0' if least else 'non-negative'}",
                           {"name": name, "group": "coordination.k8s.io", "kind": "Lease"})


def resource_for(body: dict[str, Any]) -> Resource:
    api_version, kind = body.get("apiVersion", "v1"), body.get("kind")
    group, _, version = api_version.rpartition("/")
    for r in RESOURCES:
        if r.group == group and r.version == version and r.kind == kind:
            return r
    raise KeyError(f"the emulator does not serve {api_version} {kind}")


def _resource_by_name(name: str) -> Resource:
    low = name.lower()
    for r in RESOURCES:
        if low in (r.plural, r.kind.lower(), *r.short):
            return r
    raise KeyError(f"unknown resource {name!r}")


# -- HTTP -----------------------------------------------------------------------------------------------
_PATH_RE = re.compile(r"^/(?:api/(?P<cv>v1)|apis/(?P<g>[^/]+)/(?P<v>[^/]+))(?P<rest>/.*)?$")
_PROXY_RE = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<svc>[^/]+)/proxy(?P<path>/.*)?$")


@dataclass
class _Route:
    res: Resource
    namespace: str | None
    name: str | None
    sub: str | None


class _Handler(BaseHTTPRequestHandler):
    emulator: KubeEmulator
    protocol_version = "HTTP/1.1"
    _raw = b""
    server_version = "kube-emulator/1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet; tests read `state.requests`
        pass

    # -- plumbing ----------------------------------------------------------------------------------------
    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _read_body(self) -> bytes:
        """The whole request body, read before anything can fail: an unread body would be taken for the
        next request on this keep-alive connection."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _body(self) -> Any:
        raw = self._raw
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            if "yaml" in (self.headers.get("Content-Type") or ""):
                from ruamel.yaml import YAML, YAMLError

                try:
                    return YAML(typ="safe").load(raw)
                except YAMLError:
                    raise ApiError(400, "BadRequest", "the request body is not valid YAML") from None
            raise ApiError(400, "BadRequest", "the request body is not valid JSON") from None

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        emu = self.emulator
        self._raw = self._read_body()
        with emu.state.lock:
            emu.state.requests.append((self.command, self.path))
            emu._tick()
        try:
            with emu.state.lock:
                who = emu._authenticate(self.headers.get("Authorization"))
            result = self._handle(url.path.rstrip("/") or "/", query, who)
            if result is not None:
                code, body = result
                self._send(code, body)
        except ApiError as err:
            self._send(err.code, err.status())
        except PatchError as err:
            code, reason = (409, "Conflict") if err.conflict else (422, "Invalid")
            self._send(code, ApiError(code, reason, str(err)).status())
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, TimeoutError):
            pass  # a client that hangs up mid-handshake or mid-request is not a server error

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    # -- routing -----------------------------------------------------------------------------------------
    def _handle(self, path: str, query: dict[str, str], who: Principal) -> tuple[int, Any] | None:
        if path == "/version":
            return 200, SERVER_VERSION
        if path in ("/healthz", "/readyz", "/livez"):
            return 200, "ok"
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"],
                         "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                         "serverAddress": f"127.0.0.1:{self.emulator.port}"}]}
        if path == "/apis":
            return 200, _group_list()
        if path == "/apis/authentication.k8s.io/v1/selfsubjectreviews" and self.command == "POST":
            return 201, {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview",
                         "metadata": {"creationTimestamp": _now()},
                         "status": {"userInfo": {"username": who.user, "groups": list(who.groups),
                                                 **({"uid": who.uid} if who.uid else {})}}}
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews" and self.command == "POST":
            return 201, self._access_review(who)
        if path == "/apis/authentication.k8s.io/v1/tokenreviews" and self.command == "POST":
            return 201, self._token_review(who)
        if path in ("/apis/authentication.k8s.io/v1", "/apis/authorization.k8s.io/v1"):
            return 200, _special_resource_list(path)
        proxy = _PROXY_RE.match(path)
        if proxy:
            return self._service_proxy(proxy, who)
        m = _PATH_RE.match(path)
        if not m:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        group, version = ("", "v1") if m.group("cv") else (m.group("g"), m.group("v"))
        rest = (m.group("rest") or "").strip("/")
        if not rest:
            resources = [r for r in RESOURCES if r.group == group and r.version == version]
            if not resources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource")
            return 200, _resource_list(group, version, resources)
        route = _route(group, version, rest.split("/"))
        return self._serve(route, query, who)

    def _service_proxy(self, match: re.Match[str], who: Principal) -> None:
        """A request through the API server to a Service's pods (only what `serve_proxy` registered)."""
        namespace, target = match.group("ns"), match.group("svc").split(":")
        name = target[1] if len(target) == 3 else target[0]  # [scheme:]name[:port]
        port = target[-1] if len(target) > 1 else ""
        res = _BY_GV[("", "v1", "services")]
        verb = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete"}[self.command]
        self._authorize(who, verb, _Route(res, namespace, name, "proxy"))
        emu = self.emulator
        with emu.state.lock:
            if emu.state.table(res).get((namespace, name)) is None:
                raise not_found(res, name)
            answer = emu.proxied.get((namespace, name, port, match.group("path") or "/"))
        if answer is None or verb != "get":
            raise ApiError(503, "ServiceUnavailable", f'no endpoints available for service "{name}"')
        ctype, body = answer
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _token_review(self, who: Principal) -> dict[str, Any]:
        """TokenReview: the reviewer needs `create` on tokenreviews (cluster-wide)."""
        res = Resource("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False)
        self._authorize(who, "create", _Route(res, None, None, None))
        with self.emulator.state.lock:
            return kube_tokens.token_review(self.emulator, self._body())

    def _access_review(self, who: Principal) -> dict[str, Any]:
        body = self._body() or {}
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        emu = self.emulator
        with emu.state.lock:
            ok = emu._allowed(who, attrs.get("verb", ""), attrs.get("resource", "") +
                              (f"/{attrs['subresource']}" if attrs.get("subresource") else ""),
                              attrs.get("group", ""), attrs.get("namespace") or None, attrs.get("name") or None)
        body.setdefault("metadata", {})
        body["status"] = {"allowed": ok, **({} if ok else {"reason": "not allowed by the emulator's policy"})}
        return body

    def _authorize(self, who: Principal, verb: str, route: _Route) -> None:
        res = route.res
        resource = f"{res.plural}/{route.sub}" if route.sub else res.plural
        emu = self.emulator
        with emu.state.lock:
            ok = emu._allowed(who, verb, resource, res.group, route.namespace, route.name)
        if ok:
            return
        scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
        what = f'resource "{resource}"'
        raise ApiError(403, "Forbidden", f'{_qualified(res)}{(" " + repr(route.name).replace(chr(39), chr(34))) if route.name else ""} '
                       f'is forbidden: User "{who.user}" cannot {verb} {what} in API group "{res.group}" {scope}',
                       {"name": route.name or "", "group": res.group, "kind": res.plural})

    def _serve(self, route: _Route, query: dict[str, str], who: Principal) -> tuple[int, Any] | None:
        method = self.command
        watching = query.get("watch") in ("true", "1")
        if method in ("GET", "HEAD"):
            verb = "watch" if watching else ("get" if route.name else "list")
        else:
            verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                    "DELETE": "delete" if route.name else "deletecollection"}[method]
        self._authorize(who, verb, route)
        if route.sub == "token":
            if method != "POST" or not route.name:
                raise ApiError(405, "MethodNotAllowed", "only POST is allowed on serviceaccounts/token")
            return self._token_request(route)
        if route.sub not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if verb == "watch":
            self._watch(route, query)
            return None
        if verb == "list":
            return 200, self._list(route, query)
        if verb == "get":
            return 200, self._get(route)
        if verb == "create":
            return 201, self._create(route, self._body())
        if verb == "update":
            return 200, self._update(route, self._body())
        if verb == "patch":
            if "apply-patch" in (self.headers.get("Content-Type") or ""):
                return self._server_side_apply(route, self._body(), query)
            return 200, self._patch(route, self._body())
        if verb == "delete":
            return 200, self._delete(route)
        return 200, self._delete_collection(route, query)

    # -- verbs -------------------------------------------------------------------------------------------
    def _get(self, route: _Route) -> dict[str, Any]:
        st = self.emulator.state
        with st.lock:
            obj = st.table(route.res).get((route.namespace or "", route.name))
            if obj is None:
                raise not_found(route.res, route.name or "")
            return copy.deepcopy(obj)

    def _matching(self, route: _Route, query: dict[str, str]) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"))
        st = self.emulator.state
        return [(k, o) for k, o in sorted(st.table(route.res).items())
                if (route.namespace is None or k[0] == route.namespace)
                and labels(o["metadata"].get("labels")) and fields(o)]

    def _list(self, route: _Route, query: dict[str, str]) -> dict[str, Any]:
        st = self.emulator.state
        limit = int(query.get("limit") or 0)
        token = query.get("continue")
        with st.lock:
            items = self._matching(route, query)
            list_rv = str(st.rv)
            if token:
                try:
                    state = json.loads(base64.urlsafe_b64decode(token.encode()))
                    start = tuple(state["start"])
                    list_rv = state["rv"]
                except (ValueError, KeyError, TypeError):
                    raise ApiError(400, "BadRequest", "continue key is not valid") from None
                items = [(k, o) for k, o in items if k > start]
            meta: dict[str, Any] = {"resourceVersion": list_rv}
            if limit and len(items) > limit:
                page = items[:limit]
                meta["continue"] = base64.urlsafe_b64encode(json.dumps(
                    {"v": "meta.k8s.io/v1", "rv": list_rv, "start": list(page[-1][0])}).encode()).decode()
                if not query.get("labelSelector") and not query.get("fieldSelector"):
                    meta["remainingItemCount"] = len(items) - limit
                items = page
            objs = [copy.deepcopy(o) for _, o in items]
        accept = self.headers.get("Accept") or ""
        if "as=Table" in accept:
            return _table(route.res, objs, meta)
        return {"apiVersion": route.res.group_version, "kind": route.res.list_kind, "metadata": meta,
                "items": objs}

    def _create(self, route: _Route, body: Any) -> dict[str, Any]:
        emu, st = self.emulator, self.emulator.state
        if route.name:
            raise ApiError(405, "MethodNotAllowed", "POST to a named resource is not allowed")
        if isinstance(body, dict) and body.get("kind") not in (None, route.res.kind):
            raise ApiError(400, "BadRequest", f"the kind {body.get('kind')!r} does not match {route.res.kind!r}")
        with st.lock:
            obj = emu._prepare_new(route.res, copy.deepcopy(body), route.namespace)
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            if key in st.table(route.res):
                raise ApiError(409, "AlreadyExists", f'{_qualified(route.res)} "{key[1]}" already exists',
                               {"name": key[1], "group": route.res.group, "kind": route.res.plural})
            if "dryRun=All" in self.path:
                return copy.deepcopy(obj)
            st.table(route.res)[key] = obj
            emu._after_write(route.res, obj, "ADDED")
            return copy.deepcopy(obj)

    def _store_update(self, route: _Route, current: dict[str, Any], new: Any, expect_rv: str | None) -> dict[str, Any]:
        """Common path of PUT and PATCH: concurrency check, immutable fields, generation, status ownership."""
        emu, st = self.emulator, self.emulator.state
        res = route.res
        if not isinstance(new, dict):
            raise ApiError(400, "BadRequest", "the request body must be a JSON object")
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        if meta.get("name", route.name) != route.name:
            raise ApiError(400, "BadRequest", "the name of the object does not match the name on the URL")
        if expect_rv and expect_rv != current["metadata"]["resourceVersion"]:
            raise conflict(res, route.name or "")
        cur_meta = current["metadata"]
        meta["name"] = route.name
        for key in ("uid", "creationTimestamp", "namespace"):
            if key in cur_meta:
                meta[key] = cur_meta[key]
        new["apiVersion"], new["kind"] = res.group_version, res.kind
        if res.plural in _STATUS_OWNED:
            if route.sub == "status":
                new = {**copy.deepcopy(current), "status": new.get("status")}
                meta = new["metadata"]
            elif "status" in current:
                new["status"] = copy.deepcopy(current["status"])
            else:
                new.pop("status", None)
        if res.plural in ("secrets", "configmaps") and current.get("immutable") and any(
                new.get(k) != current.get(k) for k in ("data", "binaryData", "immutable")):
            raise ApiError(422, "Invalid", f'{res.kind} "{route.name}" is invalid: data: Forbidden: field is '
                           "immutable when `immutable` is set", {"name": route.name, "kind": res.kind})
        if res.plural == "secrets":
            type_before = current.get("type")
            emu._defaults(res, new)
            if new.get("type") != type_before:
                raise ApiError(422, "Invalid", f'Secret "{route.name}" is invalid: type: Invalid value: '
                               f'"{new.get("type")}": field is immutable', {"name": route.name, "kind": "Secret"})
        if res.plural == "leases":
            _check_lease(new)
        if "generation" in cur_meta:
            changed = new.get("spec") != current.get("spec")
            meta["generation"] = cur_meta["generation"] + (1 if changed else 0)
        for key in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            if key in cur_meta:
                meta[key] = cur_meta[key]
            else:
                meta.pop(key, None)
        if new == current:
            return copy.deepcopy(current)  # no-op writes keep the resourceVersion, as the API server does
        if "dryRun=All" in self.path:  # `?dryRun=All`: validated and answered, never stored
            return copy.deepcopy(new)
        meta["resourceVersion"] = str(st.bump())
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            del st.table(res)[(cur_meta.get("namespace", ""), route.name)]  # last finalizer removed
            emu.state.record("DELETED", res, new)
            return copy.deepcopy(new)
        st.table(res)[(cur_meta.get("namespace", ""), route.name)] = new
        emu._after_write(res, new, "MODIFIED")
        return copy.deepcopy(new)

    def _update(self, route: _Route, body: Any) -> dict[str, Any]:
        st = self.emulator.state
        if not route.name:
            raise ApiError(405, "MethodNotAllowed", "PUT needs a resource name")
        with st.lock:
            current = st.table(route.res).get((route.namespace or "", route.name))
            if current is None:
                raise not_found(route.res, route.name)
            rv = ((body or {}).get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None
            return self._store_update(route, current, copy.deepcopy(body), rv)

    def _patch(self, route: _Route, patch: Any) -> dict[str, Any]:
        st = self.emulator.state
        ctype = self.headers.get("Content-Type") or ""
        if not route.name:
            raise ApiError(405, "MethodNotAllowed", "PATCH needs a resource name")
        with st.lock:
            current = st.table(route.res).get((route.namespace or "", route.name))
            if current is None:
                raise not_found(route.res, route.name)
            new = apply_patch(ctype, current, patch)
            rv = (new.get("metadata") or {}).get("resourceVersion") if isinstance(new, dict) else None
            if rv == current["metadata"]["resourceVersion"]:
                rv = None
            return self._store_update(route, current, new, rv)

    def _server_side_apply(self, route: _Route, body: Any, query: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """Server-side apply, simplified: create when absent, else a strategic merge of the applied
        configuration (no field ownership: fields a manager stops applying are not removed)."""
        emu, st = self.emulator, self.emulator.state
        if not query.get("fieldManager"):
            raise ApiError(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: "
                           "is required for apply patch")
        if not route.name or not isinstance(body, dict):
            raise ApiError(400, "BadRequest", "apply needs a resource name and an object body")
        with st.lock:
            current = st.table(route.res).get((route.namespace or "", route.name))
            if current is None:
                body.setdefault("metadata", {})["name"] = route.name
                obj = emu._prepare_new(route.res, copy.deepcopy(body), route.namespace)
                st.table(route.res)[(obj["metadata"].get("namespace", ""), route.name)] = obj
                emu._after_write(route.res, obj, "ADDED")
                return 201, copy.deepcopy(obj)
            new = apply_patch("application/strategic-merge-patch+json", current, body)
            rv = (body.get("metadata") or {}).get("resourceVersion")
            return 200, self._store_update(route, current, new, rv)

    def _delete(self, route: _Route) -> dict[str, Any]:
        emu, st = self.emulator, self.emulator.state
        body = self._body() or {}
        precond = (body.get("preconditions") or {}) if isinstance(body, dict) else {}
        with st.lock:
            key = (route.namespace or "", route.name)
            current = st.table(route.res).get(key)
            if current is None:
                raise not_found(route.res, route.name or "")
            if precond.get("resourceVersion") and precond["resourceVersion"] != current["metadata"]["resourceVersion"]:
                raise conflict(route.res, route.name or "")
            if precond.get("uid") and precond["uid"] != current["metadata"]["uid"]:
                raise conflict(route.res, route.name or "")
            if current["metadata"].get("finalizers") and route.res.plural != "namespaces":
                # finalizers hold the object: it is marked for deletion and goes when they are cleared
                if not current["metadata"].get("deletionTimestamp"):
                    current["metadata"]["deletionTimestamp"] = _now()
                    current["metadata"]["deletionGracePeriodSeconds"] = 0
                    current["metadata"]["resourceVersion"] = str(st.bump())
                    emu.state.record("MODIFIED", route.res, current)
                return copy.deepcopy(current)
            del st.table(route.res)[key]
            gone = copy.deepcopy(current)
            gone["metadata"]["resourceVersion"] = str(st.bump())
            if route.res.plural == "namespaces":
                for table in st.objects.values():
                    for k in [k for k in table if k[0] == route.name]:
                        del table[k]
                gone["status"] = {"phase": "Terminating"}
                gone["metadata"]["deletionTimestamp"] = _now()
            emu.state.record("DELETED", route.res, gone)
        if route.res.plural == "namespaces":
            return gone
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": route.name, "group": route.res.group, "kind": route.res.plural,
                            "uid": current["metadata"]["uid"]}}

    def _delete_collection(self, route: _Route, query: dict[str, str]) -> dict[str, Any]:
        emu, st = self.emulator, self.emulator.state
        with st.lock:
            items = self._matching(route, query)
            for key, obj in items:
                del st.table(route.res)[key]
                gone = copy.deepcopy(obj)
                gone["metadata"]["resourceVersion"] = str(st.bump())
                emu.state.record("DELETED", route.res, gone)
            return {"apiVersion": route.res.group_version, "kind": route.res.list_kind,
                    "metadata": {"resourceVersion": str(st.rv)}, "items": [copy.deepcopy(o) for _, o in items]}

    def _token_request(self, route: _Route) -> tuple[int, Any]:
        emu, st = self.emulator, self.emulator.state
        body = self._body() or {}
        spec = body.get("spec") or {}
        with st.lock:
            sa = st.table(route.res).get((route.namespace or "", route.name))
            if sa is None:
                raise not_found(route.res, route.name or "")
            seconds = int(spec.get("expirationSeconds") or 3600)
            if seconds < 600:
                raise ApiError(422, "Invalid", "TokenRequest.authentication.k8s.io is invalid: "
                               "spec.expirationSeconds: Invalid value: may not specify a duration less than "
                               "10 minutes", {"kind": "TokenRequest", "group": "authentication.k8s.io"})
            audiences = list(spec.get("audiences") or ["https://kubernetes.default.svc"])
            bound = kube_tokens.bound_claim(emu, route.namespace or "", spec.get("boundObjectRef"))
            token, expires = emu._sign_sa_token(route.namespace or "", route.name or "", sa["metadata"]["uid"],
                                                seconds, audiences, bound)
        return 201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                     "metadata": {"name": route.name, "namespace": route.namespace, "creationTimestamp": None},
                     "spec": {"audiences": audiences, "expirationSeconds": seconds,
                              "boundObjectRef": spec.get("boundObjectRef")},
                     "status": {"token": token, "expirationTimestamp": expires}}

    def _watch(self, route: _Route, query: dict[str, str]) -> None:
        st = self.emulator.state
        timeout = min(float(query.get("timeoutSeconds") or WATCH_MAX_SECONDS), WATCH_MAX_SECONDS)
        deadline = time.monotonic() + timeout
        labels = label_matcher(query.get("labelSelector"))
        fields = field_matcher(query.get("fieldSelector"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(kind: str, obj: dict[str, Any]) -> None:
            data = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        def wanted(ev_obj: dict[str, Any]) -> bool:
            ns = ev_obj["metadata"].get("namespace", "")
            if route.namespace is not None and ns != route.namespace:
                return False
            if route.name and ev_obj["metadata"]["name"] != route.name:
                return False
            return labels(ev_obj["metadata"].get("labels")) and fields(ev_obj)

        try:
            with st.lock:
                since = query.get("resourceVersion")
                if since in (None, "", "0"):
                    initial = [copy.deepcopy(o) for _, o in self._matching(route, query)
                               if not route.name or o["metadata"]["name"] == route.name]
                    cursor = st.rv
                else:
                    initial, cursor = [], int(since)
                    if st.events and cursor < st.events[0].rv - 1:
                        initial = None  # too old
            if initial is None:
                emit("ERROR", ApiError(410, "Expired", f"too old resource version: {since}").status())
            else:
                for obj in initial:
                    emit("ADDED", obj)
                while True:
                    with st.lock:
                        pending = [e for e in st.events if e.rv > cursor and e.plural == route.res.plural
                                   and e.group == route.res.group]
                        if not pending:
                            left = deadline - time.monotonic()
                            if left <= 0 or st.closed:
                                break
                            st.lock.wait(min(left, 0.5))
                            continue
                        cursor = max(e.rv for e in st.events)
                    for ev in pending:
                        if wanted(ev.obj):
                            emit(ev.type, ev.obj)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


def _route(group: str, version: str, parts: list[str]) -> _Route:
    def lookup(plural: str) -> Resource:
        res = _BY_GV.get((group, version, plural))
        if res is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return res

    if parts[0] == "namespaces" and len(parts) >= 3:
        res = _BY_GV.get((group, version, parts[2]))
        if res is not None and res.namespaced:
            return _Route(res, parts[1], parts[3] if len(parts) > 3 else None, parts[4] if len(parts) > 4 else None)
        if group == "" and len(parts) == 3:  # namespaces/<name>/status|finalize
            return _Route(lookup("namespaces"), None, parts[1], parts[2])
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    res = lookup(parts[0])
    name = parts[1] if len(parts) > 1 else None
    sub = parts[2] if len(parts) > 2 else None
    if res.namespaced and name is not None:
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    return _Route(res, None, name, sub)


# -- discovery and tables -------------------------------------------------------------------------------
def _groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in RESOURCES:
        if r.group and r.version not in out.setdefault(r.group, []):
            out[r.group].append(r.version)
    return out


def _group_list() -> dict[str, Any]:
    groups = []
    for name, versions in list(_groups().items()) + [("authentication.k8s.io", ["v1"]),
                                                       ("authorization.k8s.io", ["v1"])]:
        vs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": vs, "preferredVersion": vs[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _resource_list(group: str, version: str, resources: list[Resource]) -> dict[str, Any]:
    entries = []
    for r in resources:
        entries.append({"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                        "kind": r.kind, "verbs": _VERBS, "shortNames": list(r.short),
                        "storageVersionHash": hashlib.sha256(r.plural.encode()).hexdigest()[:12]})
        for sub in r.subresources:
            if sub == "token":
                entries.append({"name": f"{r.plural}/token", "singularName": "", "namespaced": True,
                                "group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest",
                                "verbs": ["create"]})
            else:
                entries.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                                "kind": r.kind, "verbs": ["get", "patch", "update"]})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries}


def _special_resource_list(path: str) -> dict[str, Any]:
    if "authentication" in path:
        res = [{"name": "selfsubjectreviews", "singularName": "selfsubjectreview", "namespaced": False,
                "kind": "SelfSubjectReview", "verbs": ["create"]},
               {"name": "tokenreviews", "singularName": "tokenreview", "namespaced": False,
                "kind": "TokenReview", "verbs": ["create"]}]
        gv = "authentication.k8s.io/v1"
    else:
        res = [{"name": "selfsubjectaccessreviews", "singularName": "selfsubjectaccessreview",
                "namespaced": False, "kind": "SelfSubjectAccessReview", "verbs": ["create"]}]
        gv = "authorization.k8s.io/v1"
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": res}


def _age(ts: str | None) -> str:
    if not ts:
        return "<unknown>"
    try:
        then = datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    secs = int((datetime.now(UTC) - then) / timedelta(seconds=1))
    return f"{secs}s" if secs < 120 else f"{secs // 60}m"


def _table(res: Resource, objs: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    cols = [("Name", "string", "name")]
    extra: list[tuple[str, Any]] = []
    if res.plural == "pods":
        extra = [("Status", lambda o: (o.get("status") or {}).get("phase", "")),
                 ("Restarts", lambda o: sum(c.get("restartCount", 0)
                                            for c in (o.get("status") or {}).get("containerStatuses") or []))]
    elif res.plural == "secrets":
        extra = [("Type", lambda o: o.get("type", "")), ("Data", lambda o: len(o.get("data") or {}))]
    elif res.plural == "configmaps":
        extra = [("Data", lambda o: len(o.get("data") or {}))]
    elif res.plural in ("deployments", "statefulsets", "replicasets"):
        extra = [("Ready", lambda o: f"{(o.get('status') or {}).get('readyReplicas', 0)}/"
                                     f"{(o.get('spec') or {}).get('replicas', 1)}")]
    columns = [{"name": n, "type": t, "format": f, "description": n, "priority": 0} for n, t, f in cols]
    columns += [{"name": n, "type": "string", "format": "", "description": n, "priority": 0} for n, _ in extra]
    columns.append({"name": "Age", "type": "string", "format": "", "description": "Age", "priority": 0})
    rows = []
    for o in objs:
        m = o["metadata"]
        rows.append({"cells": [m["name"], *[fn(o) for _, fn in extra], _age(m.get("creationTimestamp"))],
                     "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                "metadata": m}})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns,
            "rows": rows}


def iter_resources() -> Iterator[Resource]:
    return iter(RESOURCES)


__all__ = [
    "RESOURCES",
    "ApiError",
    "KubeEmulator",
    "Resource",
    "field_matcher",
    "iter_resources",
    "label_matcher",
    "resource_for",
]
