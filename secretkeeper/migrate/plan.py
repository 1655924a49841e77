"""The planner: for one workload, which env vars carry a secret (the hygiene rules' reading,
`hygiene.workloads.secret_env`) and the edits that deliver each as a read-only file instead.

For each affected container: a literal value moves into a new Secret (`<workload>-env-secrets`, or a
store entry with `--store`); every Secret a pod needs is one `secret` volume with only the keys it needs
(`items`), `defaultMode` 0440 when the pod runs as non-root (with the pod's `fsGroup`, set when absent)
and 0400 otherwise, mounted read-only at `<mount root>/<secret>/` in each container that reads it (never
with `subPath`: such files never see a rotation); the env var becomes `<NAME>_FILE=<path>` (or goes,
with `--no-file-env`). Non-secret env vars are untouched. The plan also says, per container, whether
the image is known to read `*_FILE` files and which `$(VAR)` references name a moved variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.hygiene.base import Recogniser, as_dict, as_list
from secretkeeper.hygiene.workloads import SecretEnv, pod_spec, secret_env
from secretkeeper.kube.objects import FieldPath, KubeObject
from secretkeeper.migrate.images import file_env_suffix
from secretkeeper.migrate.ops import AddKey, AppendItem, EmptyList, Op, RemoveItem, ReplaceEntry, SetScalar

DEFAULT_MOUNT_ROOT = "/var/run/secrets"
MODE_NON_ROOT = 0o440
MODE_ROOT = 0o400
DEFAULT_FS_GROUP = 1000  # when a non-root pod names neither runAsGroup nor runAsUser
_VAR_REF = re.compile(r"(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


@dataclass
class Options:
    mount_root: str = DEFAULT_MOUNT_ROOT
    file_env: bool = True  # False: --no-file-env
    # keys of Secrets seen beside the workloads (files given, or the cluster): (namespace, name) -> keys,
    # so an `envFrom` source becomes one file per key
    secret_keys: dict[tuple[str | None, str], list[str]] = field(default_factory=dict)
    # (namespace, name) of the Secrets this run creates for literal values: no two workloads share one
    created: set[tuple[str | None, str]] = field(default_factory=set)


@dataclass
class Move:
    """One env var (or envFrom source) that now arrives as a file."""
    container: str
    source: str  # "literal" | "secretKeyRef" | "envFrom"
    env: str  # the env var's name (envFrom: the Secret's keys, prefixed, or `*`)
    secret: str
    key: str | None  # None: every key of the Secret (an envFrom source whose keys are not known)
    path: str  # the file (or, for every key, the directory)
    file_env: str | None  # the `<NAME>_FILE` var now naming it, if any
    field: FieldPath = ()  # the env entry (or envFrom source) it came from


@dataclass
class ContainerReport:
    name: str
    image: str
    reads_file_env: bool  # the image is in the table of images known to read `*_FILE`
    var_refs: list[str]  # `$(VAR)` references to moved vars in command, args or other env values

    def todo(self) -> str:
        parts = []
        if not self.reads_file_env:
            parts.append("check that the application reads the secret files (the image is not known to "
                         "read *_FILE)")
        if self.var_refs:
            parts.append(f"$({'), $('.join(self.var_refs)}) in command/args/env no longer expand: read "
                         "the file instead")
        return "; ".join(parts)


@dataclass
class WorkloadPlan:
    obj: KubeObject
    ops: list[Op] = field(default_factory=list)
    moves: list[Move] = field(default_factory=list)
    containers: list[ContainerReport] = field(default_factory=list)
    new_secret: str | None = None  # the Secret created for literal values
    literals: dict[str, str] = field(default_factory=dict, repr=False)  # its key -> value (never printed)
    mode: int = MODE_ROOT
    fs_group_set: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return self.obj.ref()

    @property
    def empty(self) -> bool:
        return not self.ops


def literal_secret_name(obj: KubeObject, options: Options) -> str:
    """`<workload>-env-secrets`, unless a Secret of that name exists (in the files or the cluster) or
    another workload of this run took it: then with the kind, then numbered."""
    name = obj.name or obj.kind.lower()
    candidates = [f"{name}-env-secrets", f"{name}-{obj.kind.lower()}-env-secrets"]
    candidates += [f"{name}-env-secrets-{n}" for n in range(2, 100)]
    for candidate in candidates:
        key = (obj.namespace, candidate[:253])
        if key not in options.secret_keys and key not in options.created:
            options.created.add(key)
            return key[1]
    raise SecretkeeperError(f"{obj.ref()}: no free name for its new Secret")


def volume_name(secret: str) -> str:
    """A DNS label (63 characters at most) naming the volume for `secret`."""
    name = re.sub(r"[^a-z0-9-]", "-", f"sk-{secret}".lower()).strip("-")
    return name[:63].rstrip("-")


def _non_root(pod: dict[str, Any], containers: list[dict[str, Any]]) -> bool:
    psc = as_dict(pod.get("securityContext"))
    for c in containers:
        sc = as_dict(c.get("securityContext"))
        user = sc.get("runAsUser", psc.get("runAsUser"))
        if user == 0:
            continue
        if sc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True or (isinstance(user, int) and user > 0):
            return True
    return False


def _fs_group(pod: dict[str, Any], containers: list[dict[str, Any]]) -> int:
    psc = as_dict(pod.get("securityContext"))
    for key in ("runAsGroup", "runAsUser"):
        for sc in (psc, *(as_dict(c.get("securityContext")) for c in containers)):
            value = sc.get(key)
            if isinstance(value, int) and value > 0:
                return value
    return DEFAULT_FS_GROUP


def plan_workload(obj: KubeObject, recognise: Recogniser, options: Options) -> WorkloadPlan | None:
    """The plan for `obj`, or None when it holds no pod spec."""
    pod = pod_spec(obj)
    if pod is None:
        return None
    plan = WorkloadPlan(obj)
    found = secret_env(pod, recognise)
    if not found:
        return plan
    spec = pod.spec
    ns = obj.namespace
    literal_secret = ""  # named when the first literal is met
    mounts: dict[str, dict[str, None] | None] = {}  # secret -> its needed keys (None: all), in order
    per_container: dict[FieldPath, list[str]] = {}  # container path -> secrets it mounts
    optional: set[str] = set()  # Secrets only referenced with `optional: true`: the pod starts without them
    required: set[str] = set()
    moved_names: dict[FieldPath, list[str]] = {}
    emptied: set[FieldPath] = set()
    by_list: dict[FieldPath, list[SecretEnv]] = {}
    for f in found:
        by_list.setdefault(f.field[:-1], []).append(f)
    # A Secret the pod already mounts (an earlier partial migration, or by hand) is reused, not mounted twice.
    existing: dict[str, tuple[int, dict[str, Any]]] = {}
    for i, vol in enumerate(as_list(spec.get("volumes"))):
        sname = as_dict(as_dict(vol).get("secret")).get("secretName")
        if isinstance(sname, str) and sname not in existing:
            existing[sname] = (i, vol)

    def mounted_at(container: dict[str, Any], secret: str) -> str | None:
        if secret not in existing:
            return None
        vname = existing[secret][1].get("name")
        for m in as_list(container.get("volumeMounts")):
            m = as_dict(m)
            if m.get("name") == vname and not m.get("subPath") and isinstance(m.get("mountPath"), str):
                return m["mountPath"].rstrip("/")
        return None

    def dir_for(container: dict[str, Any], secret: str) -> str:
        return mounted_at(container, secret) or f"{options.mount_root}/{secret}"

    for f in found:
        c = f.container
        image = str(c.spec.get("image") or "")
        suffix = file_env_suffix(image) or "_FILE"
        env = f.entry
        name = str(env.get("name") or "")
        if f.kind == "envfrom":
            sref = as_dict(env.get("secretRef"))
            secret, prefix = str(sref.get("name") or ""), str(env.get("prefix") or "")
            (optional if sref.get("optional") is True else required).add(secret)
            keys = options.secret_keys.get((ns, secret))
            if keys is None:
                mounts.setdefault(secret, None)
                mounts[secret] = None
                plan.moves.append(Move(c.name, "envFrom", f"{prefix}*", secret, None,
                                       f"{dir_for(c.spec, secret)}/", None, f.field))
                plan.notes.append(f"container {c.name}: the keys of Secret {secret} are not known here: every "
                                  f"key is mounted as a file under {dir_for(c.spec, secret)}/; set the "
                                  f"<NAME>{suffix} vars the application needs")
            else:
                wanted = mounts.setdefault(secret, {})
                for key in keys:
                    if wanted is not None:
                        wanted[key] = None
                    path = f"{dir_for(c.spec, secret)}/{key}"
                    env_name = f"{prefix}{key}"
                    file_env = f"{env_name}{suffix}" if options.file_env else None
                    plan.moves.append(Move(c.name, "envFrom", env_name, secret, key, path, file_env, f.field))
                    moved_names.setdefault(c.path, []).append(env_name)
                    if file_env:
                        _add_env(plan, c.spec, c.path, {"name": file_env, "value": path})
            _remove(plan, f, by_list, emptied)
        else:
            if f.kind == "ref":
                ref = as_dict(as_dict(env.get("valueFrom")).get("secretKeyRef"))
                secret, key, source = str(ref.get("name") or ""), str(ref.get("key") or ""), "secretKeyRef"
                (optional if ref.get("optional") is True else required).add(secret)
            else:
                literal_secret = literal_secret or literal_secret_name(obj, options)
                secret, source = literal_secret, "literal"
                key = _literal_key(plan, name, c.name, str(env.get("value")))
                plan.new_secret = secret
            wanted = mounts.setdefault(secret, {})
            if wanted is not None:
                wanted[key] = None
            path = f"{dir_for(c.spec, secret)}/{key}"
            file_env = f"{name}{suffix}" if options.file_env else None
            plan.moves.append(Move(c.name, source, name, secret, key, path, file_env, f.field))
            moved_names.setdefault(c.path, []).append(name)
            if file_env:
                plan.ops.append(SetScalar((*f.field, "name"), file_env))
                if f.kind == "ref":
                    plan.ops.append(ReplaceEntry((*f.field, "valueFrom"), "value", path))
                else:
                    plan.ops.append(SetScalar((*f.field, "value"), path))
            else:
                _remove(plan, f, by_list, emptied)
        per_container.setdefault(c.path, [])
        if secret not in per_container[c.path]:
            per_container[c.path].append(secret)

    containers = {c.path: c for c in pod.containers}
    affected = [containers[p].spec for p in per_container]
    if _non_root(spec, affected):
        plan.mode = MODE_NON_ROOT
        psc = spec.get("securityContext")
        if not isinstance(as_dict(psc).get("fsGroup"), int):
            group = _fs_group(spec, affected)
            plan.fs_group_set = group
            if isinstance(psc, dict):
                plan.ops.append(AddKey((*pod.path, "securityContext"), "fsGroup", group))
            else:
                plan.ops.append(AddKey(pod.path, "securityContext", {"fsGroup": group}))
            plan.notes.append(f"set the pod's fsGroup to {group} (it had none): the files are mode 0440, "
                              f"readable by group {group}; check that the application runs in that group")
    volumes = []
    for secret, keys in mounts.items():
        if secret in existing:
            index, vol = existing[secret]
            items = as_dict(vol.get("secret")).get("items")
            if isinstance(items, list):
                have = {as_dict(i).get("key") for i in items}
                if keys is None:
                    plan.notes.append(f"volume {vol.get('name')} mounts only some keys of Secret {secret}: add the "
                                      "ones the application needs to its items")
                for key in keys or ():
                    if key not in have:
                        plan.ops.append(AppendItem((*pod.path, "volumes", index, "secret", "items"),
                                                   {"key": key, "path": key}))
            continue
        source: dict[str, Any] = {"secretName": secret, "defaultMode": plan.mode}
        if keys is not None:
            source["items"] = [{"key": k, "path": k} for k in keys]
        if secret in optional and secret not in required:
            source["optional"] = True
        volumes.append({"name": volume_name(secret), "secret": source})
    _extend(plan, spec, pod.path, "volumes", volumes)
    for cpath, secrets in per_container.items():
        container = containers[cpath].spec
        mounts_for = [{"name": existing[s][1].get("name") if s in existing else volume_name(s),
                       "mountPath": dir_for(container, s), "readOnly": True}
                      for s in secrets if mounted_at(container, s) is None]
        _extend(plan, container, cpath, "volumeMounts", mounts_for)
    for c in pod.containers:
        if c.path not in per_container:
            continue
        names = set(moved_names.get(c.path, ()))
        refs = _var_refs(c.spec, names)
        plan.containers.append(ContainerReport(c.name, str(c.spec.get("image") or ""),
                                               file_env_suffix(str(c.spec.get("image") or "")) is not None,
                                               refs))
    return plan


def _literal_key(plan: WorkloadPlan, name: str, container: str, value: str) -> str:
    """The new Secret's key for a literal: the env var's name, or `<container>.<name>` when another
    container holds another value under the same name."""
    key = name if name and re.fullmatch(r"[-._a-zA-Z0-9]+", name) else re.sub(r"[^-._a-zA-Z0-9]", "_", name)
    if key in plan.literals and plan.literals[key] != value:
        key = f"{container}.{key}"
    plan.literals[key] = value
    return key


def _remove(plan: WorkloadPlan, f: SecretEnv, by_list: dict[FieldPath, list[SecretEnv]],
            emptied: set[FieldPath]) -> None:
    """Remove `f`'s list item; when every item of the list goes, the list becomes `[]` (once)."""
    list_path = f.field[:-1]
    entries = as_list(f.container.spec.get(list_path[-1]))
    # Whenever one item of a list goes, all its secret items go (envFrom sources always; env vars with
    # --no-file-env, when nothing is added to env either): a list left with none becomes `[]`.
    if len(by_list[list_path]) == len(entries):
        if list_path not in emptied:
            emptied.add(list_path)
            plan.ops.append(EmptyList(list_path))
        return
    plan.ops.append(RemoveItem(f.field))


def _add_env(plan: WorkloadPlan, container: dict[str, Any], cpath: FieldPath, item: dict[str, Any]) -> None:
    _extend(plan, container, cpath, "env", [item])


def _extend(plan: WorkloadPlan, mapping: dict[str, Any], path: FieldPath, key: str, items: list[Any]) -> None:
    """Append `items` to the list `mapping[key]`, or add the key; items added earlier in this plan to the
    same key are merged into one AddKey."""
    if not items:
        return
    if isinstance(mapping.get(key), list) and not any(
            isinstance(op, EmptyList) and op.path == (*path, key) for op in plan.ops):
        plan.ops.extend(AppendItem((*path, key), item) for item in items)
        return
    for i, op in enumerate(plan.ops):
        if isinstance(op, AddKey) and op.path == path and op.key == key:
            plan.ops[i] = AddKey(path, key, [*op.value, *items])
            return
    if mapping.get(key) is not None and not isinstance(mapping[key], list):
        raise SecretkeeperError(f"{plan.ref}: {key} is not a list; not migrated")
    plan.ops.append(AddKey(path, key, list(items)))


def _var_refs(container: dict[str, Any], names: set[str]) -> list[str]:
    texts: list[str] = []
    for key in ("command", "args"):
        texts.extend(str(x) for x in as_list(container.get(key)))
    texts.extend(str(as_dict(e).get("value") or "") for e in as_list(container.get("env")))
    found = []
    for text in texts:
        for m in _VAR_REF.finditer(text):
            if m.group(1) in names and m.group(1) not in found:
                found.append(m.group(1))
    return found
