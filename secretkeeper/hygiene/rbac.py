"""RBAC: who can read Secrets. ClusterRoles (cluster-wide) are high; Roles, and ClusterRoles bound only by
RoleBindings in the same scan, medium; limited by resourceNames, low (and not reported for a namespaced
rule that gets only named Secrets it also updates or patches: a sync job such as `deploy render`'s);
bindings of cluster-admin likewise (ClusterRoleBinding high, RoleBinding medium)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from secretkeeper.findings import Finding, Severity
from secretkeeper.hygiene.base import as_dict, as_list, emit
from secretkeeper.kube.objects import KubeObject

READ_VERBS = {"get", "list", "watch", "*"}
_SYSTEM_GROUPS = {"system:masters"}


def _grants_secret_read(rule: dict) -> list[str]:
    """The read verbs a rule grants on secrets ([] if none)."""
    groups = [str(g) for g in as_list(rule.get("apiGroups"))] or [""]
    resources = {str(r) for r in as_list(rule.get("resources"))}
    verbs = {str(v).lower() for v in as_list(rule.get("verbs"))}
    if not ({"", "*"} & set(groups)) or not ({"secrets", "*"} & resources):
        return []
    return sorted(verbs & READ_VERBS)


def _writes_back(rule: dict, read: list[str]) -> bool:
    """A rule that gets only the named Secrets it also updates: a sync job reading back what it writes
    (ownership, compare-and-set). Holding update on them already hands over what they hold to whoever
    writes; the `get` adds no Secret the rule did not name."""
    verbs = {str(v).lower() for v in as_list(rule.get("verbs"))}
    return read == ["get"] and bool(verbs & {"update", "patch"})


def namespace_only_cluster_roles(objects: list[KubeObject]) -> set[str]:
    """ClusterRoles that the given objects bind only through RoleBindings (so only in those namespaces)."""
    by_rb: set[str] = set()
    by_crb: set[str] = set()
    for obj in objects:
        if obj.kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = as_dict(obj.body.get("roleRef"))
            if ref.get("kind") == "ClusterRole" and ref.get("name"):
                (by_crb if obj.kind == "ClusterRoleBinding" else by_rb).add(str(ref["name"]))
    return by_rb - by_crb


def check_role(obj: KubeObject, namespace_only: AbstractSet[str] = frozenset()) -> list[Finding]:
    """`namespace_only`: ClusterRoles known to be bound only in namespaces (lower severity)."""
    out: list[Finding] = []
    cluster = obj.kind == "ClusterRole" and obj.name not in namespace_only
    if obj.kind == "ClusterRole" and obj.name.startswith("system:"):
        return out  # built-in control-plane roles
    for i, rule in enumerate(as_list(obj.body.get("rules"))):
        rule = as_dict(rule)
        verbs = _grants_secret_read(rule)
        if not verbs:
            continue
        names = as_list(rule.get("resourceNames"))
        if names and not cluster and _writes_back(rule, verbs):
            continue
        if cluster:
            scope = "in every namespace"
        elif obj.kind == "ClusterRole":
            scope = "in the namespaces of its RoleBindings"
        else:
            scope = f"in namespace {obj.namespace or '(default)'}"
        what = "secrets" if "secrets" in [str(r) for r in as_list(rule.get("resources"))] else "all resources (*)"
        narrowed = f" (limited to {len(names)} named Secret(s))" if names else ""
        severity = Severity.HIGH if cluster and not names else Severity.MEDIUM if not names else Severity.LOW
        out.append(emit(
            "k8s-rbac-secrets-read", obj, ("rules", i),
            f"{obj.kind} {obj.name} grants {'/'.join(verbs)} on {what} {scope}{narrowed}",
            detail=f"rules[{i}]", severity=severity,
        ))
    return out


def check_binding(obj: KubeObject) -> list[Finding]:
    ref = as_dict(obj.body.get("roleRef"))
    if ref.get("name") != "cluster-admin" or ref.get("kind", "ClusterRole") != "ClusterRole":
        return []
    subjects = [as_dict(s) for s in as_list(obj.body.get("subjects"))]
    if obj.name.startswith("system:") or (subjects and all(str(s.get("name")) in _SYSTEM_GROUPS for s in subjects)):
        return []  # the control plane's own binding
    who = ", ".join(f"{s.get('kind', '?')} {s.get('name', '?')}" for s in subjects[:5]) or "no subjects"
    cluster = obj.kind == "ClusterRoleBinding"
    scope = "cluster-wide" if cluster else f"in namespace {obj.namespace or '(default)'}"
    return [emit(
        "k8s-rbac-cluster-admin-binding", obj, ("roleRef",),
        f"{obj.kind} {obj.name} binds cluster-admin {scope} to {who}",
        severity=Severity.HIGH if cluster else Severity.MEDIUM,
    )]
