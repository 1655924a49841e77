"""Workload checks: env-var secrets, service-account tokens and pod settings that expose other secrets.

Pod specs are found at their known place in Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
ReplicationController, Job, CronJob and PodTemplate, and by shape in any other object (an Argo Rollout, a
Knative Service, an OpenShift DeploymentConfig, any custom resource, a kustomize patch holding only the
changed containers): a mapping with a list of containers under spec / template / jobTemplate.
containers, initContainers and ephemeralContainers are all checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from secretkeeper.findings import Finding, Severity
from secretkeeper.hygiene.base import Recogniser, as_dict, as_list, emit
from secretkeeper.hygiene.names import is_secret_like_name, looks_real, url_password
from secretkeeper.kube.objects import KubeObject, once

TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "PodTemplate": ("template", "spec"),
}
CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
# hostPath mounts that hand a pod the node's credentials: kubelet, etcd, control-plane config, runtimes.
SENSITIVE_HOST_PATHS = (
    "/var/lib/kubelet", "/var/lib/etcd", "/etc/kubernetes", "/etc/etcd", "/var/run/docker.sock",
    "/run/docker.sock", "/var/run/containerd", "/run/containerd", "/var/lib/containerd", "/var/lib/docker",
    "/var/run/crio", "/run/crio", "/var/lib/containers", "/var/run/secrets", "/run/secrets", "/proc",
    "/var/run/cri-dockerd.sock", "/run/k3s", "/var/lib/rancher",
)


@dataclass
class Container:
    spec: dict[str, Any]
    path: tuple[str | int, ...]  # field path of the container entry
    name: str


@dataclass
class PodSpec:
    obj: KubeObject
    spec: dict[str, Any]
    path: tuple[str | int, ...]

    @once
    def containers(self) -> list[Container]:
        """Every container entry, built once: each check walks them."""
        return [Container(c, (*self.path, key, i), str(c.get("name") or f"{key}[{i}]"))
                for key in CONTAINER_LISTS for i, c in enumerate(as_list(self.spec.get(key)))
                if isinstance(c, dict)]

    @property
    def is_patch(self) -> bool:
        """A kustomize strategic-merge patch holding only the changed containers (none has an image):
        its env is checked, while pod settings it leaves out come from the base it patches."""
        return bool(self.containers) and not any(c.spec.get("image") for c in self.containers)

    @property
    def service_account(self) -> str:
        return str(self.spec.get("serviceAccountName") or self.spec.get("serviceAccount") or "default")


# Where other kinds keep a pod template: walked only along these keys, a few levels deep.
_TEMPLATE_KEYS = ("spec", "template", "jobTemplate", "podTemplate", "podSpec", "workload")
_SHAPE_DEPTH = 6


def pod_spec(obj: KubeObject) -> PodSpec | None:
    path = TEMPLATE_PATHS.get(obj.kind)
    if path is None:
        found = _pod_spec_by_shape(obj.body, (), _SHAPE_DEPTH)
        return PodSpec(obj, found[0], found[1]) if found else None
    node: Any = obj.body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return PodSpec(obj, node, path) if isinstance(node, dict) else None


def _holds_containers(node: dict[str, Any]) -> bool:
    return any(isinstance(c, dict) for key in CONTAINER_LISTS for c in as_list(node.get(key)))


def _pod_spec_by_shape(node: Any, path: tuple[str, ...], depth: int) -> tuple[dict[str, Any], tuple[str, ...]] | None:
    """The first mapping holding containers under the template keys (breadth first: `spec.template.spec`
    before anything deeper)."""
    level = [(node, path)]
    for _ in range(depth):
        below = []
        for n, p in level:
            for key in _TEMPLATE_KEYS:
                child = n.get(key)
                if isinstance(child, dict):
                    if _holds_containers(child):
                        return child, (*p, key)
                    below.append((child, (*p, key)))
        level = below
    return None


# -- env --------------------------------------------------------------------------------------------------
@dataclass
class SecretEnv:
    """One way a container's env carries a secret: `kind` is "literal" (`env[i].value`), "ref"
    (`env[i].valueFrom.secretKeyRef`) or "envfrom" (`envFrom[i].secretRef`). The hygiene rules report
    these; `secretkeeper migrate env-to-files` moves them: one reading for both."""

    container: Container
    kind: str
    index: int
    entry: dict[str, Any]
    reason: str = ""  # for a literal: what makes it a credential

    @property
    def field(self) -> tuple[str | int, ...]:
        return (*self.container.path, "envFrom" if self.kind == "envfrom" else "env", self.index)


def secret_env(pod: PodSpec, recognise: Recogniser) -> list[SecretEnv]:
    """Every env var and envFrom source of `pod` that carries a secret, container by container."""
    out: list[SecretEnv] = []
    for c in pod.containers:
        for i, env in enumerate(as_list(c.spec.get("env"))):
            if not isinstance(env, dict):
                continue
            if as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef")):
                out.append(SecretEnv(c, "ref", i, env))
                continue
            value = env.get("value")
            if not isinstance(value, str) or not value.strip():
                continue
            reason = _literal_reason(str(env.get("name") or ""), value, pod.obj.path, recognise)
            if reason:
                out.append(SecretEnv(c, "literal", i, env, reason))
        for j, src in enumerate(as_list(c.spec.get("envFrom"))):
            if as_dict(as_dict(src).get("secretRef")):
                out.append(SecretEnv(c, "envfrom", j, src))
    return out


def check_env(pod: PodSpec, recognise: Recogniser) -> list[Finding]:
    out: list[Finding] = []
    obj = pod.obj
    for found in secret_env(pod, recognise):
        c, env = found.container, found.entry
        if found.kind == "envfrom":
            sname = str(as_dict(env.get("secretRef")).get("name") or "?")
            out.append(emit(
                "k8s-env-secret-ref", obj, found.field,
                f"container {c.name} loads every key of Secret {sname} as env vars (envFrom); mount "
                "the Secret as files instead",
                suffix=(c.name, f"envFrom {sname}"),
            ))
            continue
        name = str(env.get("name") or "")
        suffix = (c.name, f"env {name}")
        at_name = (*found.field, "name")  # at the name's line (in JSON, not the `{` before it)
        if found.kind == "ref":
            ref = as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef"))
            out.append(emit(
                "k8s-env-secret-ref", obj, at_name,
                f"env var {name} in container {c.name} reads key {ref.get('key', '?')!s} of Secret "
                f"{ref.get('name', '?')!s}: env vars leak through /proc, crash dumps and child "
                "processes; mount the Secret as a file",
                suffix=suffix,
            ))
        else:
            out.append(emit(
                "k8s-env-secret-literal", obj, at_name,
                f"env var {name} in container {c.name} holds a literal {found.reason}",
                suffix=suffix, value=env.get("value"),
            ))
    return out


def _literal_reason(name: str, value: str, path: str | None, recognise: Recogniser) -> str:
    rule_id = recognise(value, path)
    if rule_id:
        return f"credential ({rule_id})"
    if url_password(value):
        return "URL with an embedded password"
    if is_secret_like_name(name) and looks_real(value):
        return "value under a secret-like name"
    return ""


# -- service-account tokens ---------------------------------------------------------------------------------
def _same_ns(a: str | None, b: str | None) -> bool:
    return not a or not b or a == b


def bound_service_accounts(objects: list[KubeObject]) -> set[tuple[str | None, str]]:
    """(namespace, name) of every ServiceAccount a RoleBinding/ClusterRoleBinding in the list grants to."""
    out: set[tuple[str | None, str]] = set()
    for obj in objects:
        if obj.kind not in ("RoleBinding", "ClusterRoleBinding"):
            continue
        for subject in as_list(obj.body.get("subjects")):
            s = as_dict(subject)
            if s.get("kind") == "ServiceAccount" and s.get("name"):
                ns = s.get("namespace")
                out.add((str(ns) if ns else obj.namespace, str(s["name"])))
    return out


def _is_bound(bound: dict[str, list[str | None]], ns: str | None, name: str) -> bool:
    return any(_same_ns(bns, ns) for bns in bound.get(name, ()))


def check_service_accounts(objects: list[KubeObject], pods: list[PodSpec]) -> list[Finding]:
    out: list[Finding] = []
    # By name: a file of many workloads and accounts must not cost pods x accounts comparisons.
    bound: dict[str, list[str | None]] = {}
    for bns, bname in bound_service_accounts(objects):
        bound.setdefault(bname, []).append(bns)
    accounts = {(o.namespace, o.name): o for o in objects if o.kind == "ServiceAccount"}
    by_name: dict[str, list[tuple[str | None, KubeObject]]] = {}
    for (ns, n), a in accounts.items():
        by_name.setdefault(n, []).append((ns, a))
    for sa in accounts.values():
        auto = sa.body.get("automountServiceAccountToken")
        if auto is False or _is_bound(bound, sa.namespace, sa.name):
            continue
        field = ("automountServiceAccountToken",) if "automountServiceAccountToken" in sa.body else ("kind",)
        out.append(emit(
            "k8s-sa-token-automount", sa, field,
            f"ServiceAccount {sa.name} has no role bindings here but its token is mounted into every pod "
            "that uses it (automountServiceAccountToken is not false)",
        ))
    for pod in pods:
        obj, spec = pod.obj, pod.spec
        sa_name = pod.service_account
        if sa_name == "default" and obj.kind != "PodTemplate":
            out.append(emit(
                "k8s-default-service-account", obj, (*pod.path, "serviceAccountName"),
                f"{obj.kind} {obj.name} runs as the namespace's default ServiceAccount; give it its own",
            ))
        auto = spec.get("automountServiceAccountToken")
        if auto is False:
            continue
        if _is_bound(bound, obj.namespace, sa_name):
            continue  # it is granted API access here, so it needs the token
        account = next((a for ns, a in by_name.get(sa_name, ()) if _same_ns(ns, obj.namespace)), None)
        if auto is None and account is not None and account.body.get("automountServiceAccountToken") is False:
            continue
        field = (*pod.path, "automountServiceAccountToken") if auto is not None else (*pod.path,)
        out.append(emit(
            "k8s-sa-token-automount", obj, field,
            f"{obj.kind} {obj.name} mounts the token of ServiceAccount {sa_name} although nothing here grants "
            "it API access (automountServiceAccountToken is not false)",
        ))
    return out


# -- pod settings that expose other workloads' secrets --------------------------------------------------------
def _sensitive_host_path(p: str) -> bool:
    p = p.rstrip("/") or "/"
    if p == "/":
        return True
    return any(p == s or p.startswith(s + "/") or s.startswith(p + "/") for s in SENSITIVE_HOST_PATHS)


_HOST_NS = {"hostPID": "process", "hostIPC": "IPC", "hostNetwork": "network"}


def check_pod_security(pod: PodSpec) -> list[Finding]:
    out: list[Finding] = []
    obj, spec = pod.obj, pod.spec
    for flag in ("hostPID", "hostIPC", "hostNetwork"):
        if spec.get(flag) is True:
            out.append(emit(
                "k8s-host-namespace", obj, (*pod.path, flag),
                f"{obj.kind} {obj.name} sets {flag}: true, sharing the node's {_HOST_NS[flag]} namespace "
                "(and with it other workloads' processes, traffic and secrets)",
                detail=flag,
            ))
    for i, vol in enumerate(as_list(spec.get("volumes"))):
        host = as_dict(as_dict(vol).get("hostPath"))
        hpath = host.get("path")
        if isinstance(hpath, str) and _sensitive_host_path(hpath):
            vname = str(as_dict(vol).get("name") or i)
            out.append(emit(
                "k8s-hostpath-sensitive", obj, (*pod.path, "volumes", i),
                f"volume {vname} mounts host path {hpath}, which holds node, kubelet, etcd or container-runtime "
                "credentials",
                detail=f"volume {vname}",
            ))
    pod_sc = as_dict(spec.get("securityContext"))
    for c in pod.containers:
        sc = as_dict(c.spec.get("securityContext"))
        sc_path = (*c.path, "securityContext")
        if sc.get("privileged") is True:
            out.append(emit("k8s-privileged-container", obj, (*sc_path, "privileged"),
                            f"container {c.name} is privileged: it can read every secret on the node",
                            suffix=(c.name,)))
        if sc.get("procMount") == "Unmasked":
            out.append(emit("k8s-proc-mount-unmasked", obj, (*sc_path, "procMount"),
                            f"container {c.name} sets procMount: Unmasked, exposing the host's /proc",
                            suffix=(c.name,)))
        caps = as_dict(sc.get("capabilities"))
        drop = {str(x).upper() for x in as_list(caps.get("drop"))}
        add = {str(x).upper() for x in as_list(caps.get("add"))}
        if "NET_RAW" in add or not drop & {"NET_RAW", "ALL"}:
            field = (*sc_path, "capabilities") if caps else (*c.path,)
            out.append(emit("k8s-net-raw-not-dropped", obj, field,
                            f"container {c.name} keeps NET_RAW (capabilities.drop has neither NET_RAW nor ALL), "
                            "allowing spoofing and sniffing of other pods' traffic",
                            suffix=(c.name,)))
        if c.path[-2] == "ephemeralContainers":
            continue
        if sc.get("readOnlyRootFilesystem") is not True:
            out.append(emit("k8s-writable-root-fs", obj,
                            (*sc_path, "readOnlyRootFilesystem") if sc else (*c.path,),
                            f"container {c.name} has a writable root filesystem (readOnlyRootFilesystem is "
                            "not true)", suffix=(c.name,)))
        user = sc.get("runAsUser", pod_sc.get("runAsUser"))
        non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
        if user == 0 or (non_root is not True and not (isinstance(user, int) and user > 0)):
            why = "runAsUser is 0" if user == 0 else "neither runAsNonRoot: true nor a non-zero runAsUser"
            out.append(emit("k8s-run-as-root", obj, (*sc_path, "runAsUser") if "runAsUser" in sc else (*c.path,),
                            f"container {c.name} may run as root ({why})", suffix=(c.name,),
                            severity=Severity.LOW))
    return out
