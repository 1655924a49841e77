"""`secretkeeper deploy render`: the objects that run the scheduled rotation in a cluster, with only the
access the config needs.

    Namespace, ServiceAccount, ConfigMap (the config file), CronJob (`rotate --due`, Forbid, non-root,
    read-only root filesystem, every capability dropped, seccomp RuntimeDefault, resource limits),
    a Role and RoleBinding per namespace the config names, and a NetworkPolicy that lets the job reach the
    API server, DNS and the configured stores only.

Roles, per namespace:
    Secrets of `kubernetes` targets   get / update / patch / delete limited by resourceNames (delete: a
                                      first rotation rolled back removes its Secret), and create (which
                                      the API cannot limit by name) for a Secret that does not exist yet
    immutable targets                 create / delete / list (versioned names cannot be listed in advance)
    workloads in `consumers:`         get / patch limited by resourceNames; list on the workload kinds
                                      and pods, to find consumers and watch the old pods drain
    token issuers (k8s-token)         create on serviceaccounts/token of the named ServiceAccounts, create
                                      and delete on Secrets (each token's holder), and a ClusterRole to
                                      create TokenReviews (verify)
    the lock's namespace              Leases (the cluster lock, one per secret): get / create / update /
                                      patch (`lock.kubernetes.namespace`, else the job's namespace)

The `deploy:` section of the config sets `namespace` (secretkeeper), `image`, `schedule` (every 15
minutes), `api_server` (the API server's address as a CIDR, for the NetworkPolicy).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from secretkeeper import __version__
from secretkeeper.config import Config
from secretkeeper.errors import ConfigError
from secretkeeper.kube.consumers import WorkloadRef

NAME = "secretkeeper"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": NAME}
CONFIG_DIR = "/etc/secretkeeper"
_PLURALS = {"Deployment": "deployments", "StatefulSet": "statefulsets", "DaemonSet": "daemonsets"}
TOKEN_ISSUER = "k8s-token"  # its tokens: TokenRequest for a named ServiceAccount, bound to a holder Secret
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"  # where the client's in-cluster config looks


@dataclass(frozen=True)
class Settings:
    namespace: str = NAME
    image: str = f"{NAME}:{__version__}"
    schedule: str = "*/15 * * * *"
    api_server: str = "10.96.0.1/32"  # the `kubernetes` Service's usual address; set the real one

    @classmethod
    def of(cls, config: Config) -> Settings:
        raw = dict(config.deploy or {})
        known = {"namespace", "image", "schedule", "api_server"}
        where = str(config.path) if config.path else "config"
        for key, value in raw.items():
            if key not in known:
                raise ConfigError(f"{where}: deploy.{key}: unknown key (known: {', '.join(sorted(known))})")
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{where}: deploy.{key}: expected a non-empty string")
        settings = cls(**raw)
        try:
            ipaddress.ip_network(settings.api_server, strict=False)
        except ValueError:
            raise ConfigError(f"{where}: deploy.api_server: expected an address or CIDR, e.g. 10.96.0.1/32") from None
        return settings


def render(config: Config) -> list[dict[str, Any]]:
    """The objects, in the order to apply them."""
    s = Settings.of(config)
    text = config.path.read_text(encoding="utf-8") if config.path else ""
    roles = _roles(config, s)
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": s.namespace, "labels": dict(LABELS)}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(NAME, s.namespace),
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(f"{NAME}-config", s.namespace),
         "data": {"secretkeeper.yaml": text}},
        _cronjob(s),
    ]
    for namespace, rules in roles.items():
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                        "metadata": _meta(NAME, namespace), "rules": rules})
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                        "metadata": _meta(NAME, namespace),
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
                        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": s.namespace}]})
    if any(secret.issuer.type == TOKEN_ISSUER for secret in config.secrets):
        # verifying a new token is a TokenReview, which only exists cluster-wide
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": f"{NAME}-tokenreview", "labels": dict(LABELS)},
                        "rules": [_rule("authentication.k8s.io", ["tokenreviews"], ["create"])]})
        objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"{NAME}-tokenreview", "labels": dict(LABELS)},
                        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                    "name": f"{NAME}-tokenreview"},
                        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": s.namespace}]})
    objects.append(_network_policy(config, s))
    return objects


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(LABELS)}


def _cronjob(s: Settings) -> dict[str, Any]:
    container = {
        "name": NAME, "image": s.image,
        "args": ["rotate", "--due", "--config", f"{CONFIG_DIR}/secretkeeper.yaml"],
        "env": [{"name": "HOME", "value": "/tmp"}],
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "privileged": False, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"},
                         {"name": "api-token", "mountPath": TOKEN_DIR, "readOnly": True}],
    }
    # Not the automounted token: a projected one, bound to the pod, renewed hourly by the kubelet.
    token = {"name": "api-token", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}]}}
    pod = {"serviceAccountName": NAME, "automountServiceAccountToken": False, "restartPolicy": "Never",
           "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "fsGroup": 65532,
                               "seccompProfile": {"type": "RuntimeDefault"}},
           "containers": [container],
           "volumes": [{"name": "config", "configMap": {"name": f"{NAME}-config"}},
                       {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}, token]}
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _meta(NAME, s.namespace),
            "spec": {"schedule": s.schedule, "concurrencyPolicy": "Forbid", "startingDeadlineSeconds": 300,
                     "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
                     "jobTemplate": {"spec": {"backoffLimit": 0, "activeDeadlineSeconds": 3600,
                                              "template": {"metadata": {"labels": dict(LABELS)}, "spec": pod}}}}}


def _roles(config: Config, s: Settings) -> dict[str, list[dict[str, Any]]]:
    secrets: dict[str, set[str]] = {}
    creates, immutable, listing = set(), set(), set()
    workloads: dict[str, dict[str, set[str]]] = {}
    tokens: dict[str, set[str]] = {}
    for secret in config.secrets:
        live = [entry.kubernetes for entry in secret.sync if getattr(entry, "kubernetes", None) is not None]
        for target in live:
            assert target is not None
            ns = target.namespace
            creates.add(ns)
            if target.immutable:
                immutable.add(ns)
            else:
                secrets.setdefault(ns, set()).add(target.secret or secret.name)
            if target.restart != "never":
                listing.add(ns)
        if live:
            for text in secret.consumers:
                ref = WorkloadRef.parse(text)
                workloads.setdefault(ref.namespace, {}).setdefault(ref.kind, set()).add(ref.name)
                listing.add(ref.namespace)
        issuer = secret.issuer
        if issuer.type == TOKEN_ISSUER:
            tokens.setdefault(issuer.namespace, set()).add(issuer.service_account)  # type: ignore[attr-defined]
    out: dict[str, list[dict[str, Any]]] = {}
    every = set(secrets) | creates | immutable | set(workloads) | listing | set(tokens)
    for ns in sorted(every | {s.namespace, _lease_namespace(config, s)}):
        rules: list[dict[str, Any]] = []
        if secrets.get(ns):
            # delete: a first rotation rolled back leaves no Secret behind
            rules.append(_rule("", ["secrets"], ["get", "update", "patch", "delete"], secrets[ns]))
        if ns in creates:
            rules.append(_rule("", ["secrets"], ["create"]))
        if ns in immutable:
            rules.append(_rule("", ["secrets"], ["list", "delete"]))
        for kind, names in sorted(workloads.get(ns, {}).items()):
            rules.append(_rule("apps", [_PLURALS[kind]], ["get", "patch"], names))
        if ns in listing:
            rules.append(_rule("apps", sorted(_PLURALS.values()), ["list"]))
            rules.append(_rule("", ["pods"], ["list"]))
        if tokens.get(ns):
            rules.append(_rule("", ["serviceaccounts/token"], ["create"], tokens[ns]))
            # the holder Secret each token is bound to: created with it, deleted to revoke it (generated
            # names: not limited by resourceNames)
            rules.append(_rule("", ["secrets"], ["delete"] if ns in creates else ["create", "delete"]))
        if ns == _lease_namespace(config, s):
            # One Lease per managed secret (`lock: {kubernetes: ...}`); Leases hold no credential, and the
            # ones the lock creates cannot be named in advance of create anyway.
            rules.append(_rule("coordination.k8s.io", ["leases"], ["get", "create", "update", "patch"]))
        out[ns] = rules
    return out


def _lease_namespace(config: Config, s: Settings) -> str:
    """Where the cluster lock keeps its Leases: `lock.kubernetes.namespace`, else the job's own."""
    lock = getattr(getattr(config, "lock", None), "kubernetes", None)
    return getattr(lock, "namespace", None) or s.namespace


def _rule(group: str, resources: list[str], verbs: list[str], names: Iterable[str] = ()) -> dict[str, Any]:
    rule: dict[str, Any] = {"apiGroups": [group], "resources": resources, "verbs": verbs}
    if names:
        rule["resourceNames"] = sorted(names)
    return rule


def _network_policy(config: Config, s: Settings) -> dict[str, Any]:
    api = ipaddress.ip_network(s.api_server, strict=False)
    egress: list[dict[str, Any]] = [
        {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                 "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"to": [{"ipBlock": {"cidr": str(api)}}], "ports": [{"protocol": "TCP", "port": 443},
                                                             {"protocol": "TCP", "port": 6443}]},
    ]
    for rule in _store_egress(config):
        if rule not in egress:
            egress.append(rule)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": _meta(NAME, s.namespace),
            "spec": {"podSelector": {"matchLabels": dict(LABELS)}, "policyTypes": ["Ingress", "Egress"],
                     "ingress": [], "egress": egress}}


def _store_egress(config: Config) -> list[dict[str, Any]]:
    """Per store: its address (an IP: that host only; a name: its port, as NetworkPolicy has no names)."""
    out = []
    for store in config.stores.values():
        url = getattr(store, "address", None) or getattr(store, "endpoint_url", None)
        if store.type == "local":
            continue  # a file in the pod
        if url is None:  # AWS without an endpoint: the regional HTTPS endpoints
            out.append({"ports": [{"protocol": "TCP", "port": 443}]})
            continue
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            host = ipaddress.ip_address(parts.hostname or "")
        except ValueError:
            out.append({"ports": [{"protocol": "TCP", "port": port}]})
            continue
        out.append({"to": [{"ipBlock": {"cidr": f"{host}/{host.max_prefixlen}"}}],
                    "ports": [{"protocol": "TCP", "port": port}]})
    return out


# -- output ---------------------------------------------------------------------------------------------------
def to_yaml(obj: dict[str, Any]) -> str:
    """Block YAML, every string a JSON string (stable, nothing YAML would reinterpret)."""
    return "".join(_lines(obj, ""))


def _lines(node: Any, indent: str) -> list[str]:
    out = []
    for key, value in node.items():
        out.extend(_entry(f"{indent}{key}:", value, indent))
    return out


def _entry(head: str, value: Any, indent: str) -> list[str]:
    if isinstance(value, dict) and value:
        return [head + "\n", *_lines(value, indent + "  ")]
    if isinstance(value, list) and value:
        out = [head + "\n"]
        for item in value:
            if isinstance(item, dict) and item:
                inner = _lines(item, indent + "    ")
                first = indent + "  - " + inner[0][len(indent) + 4:]
                out.extend([first, *inner[1:]])
            else:
                out.append(f"{indent}  - {_scalar(item)}\n")
        return out
    return [f"{head} {_scalar(value)}\n"]


def _scalar(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return json.dumps(value)


def write(objects: list[dict[str, Any]], out: Path | None) -> str | list[Path]:
    """All objects as one multi-document text, or each in `out/NN-kind-name.yaml`."""
    if out is None:
        return "---\n".join(to_yaml(obj) for obj in objects)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, obj in enumerate(objects):
        meta = obj["metadata"]
        name = "-".join(filter(None, [f"{i:02d}", obj["kind"].lower(), meta.get("namespace"), meta["name"]]))
        path = out / f"{name}.yaml"
        path.write_text(to_yaml(obj), encoding="utf-8")
        paths.append(path)
    return paths
