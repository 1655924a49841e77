"""A strategic-merge patch that turns a workload into its migrated form: what a Kustomize overlay applies
on top of a base the migration must not edit (`patches: [{path: FILE}]`)."""

from __future__ import annotations

from typing import Any

from secretkeeper.hygiene.base import as_dict, as_list
from secretkeeper.hygiene.workloads import CONTAINER_LISTS, TEMPLATE_PATHS


def _at(body: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for key in path:
        body = as_dict(body.get(key))
    return body


def _by(items: Any, key: str) -> dict[str, dict[str, Any]]:
    return {str(i.get(key)): i for i in as_list(items) if isinstance(i, dict)}


def _container_patch(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    b_env, a_env = _by(before.get("env"), "name"), _by(after.get("env"), "name")
    env = [{"name": n, "$patch": "delete"} for n in b_env if n not in a_env]
    env += [item for n, item in a_env.items() if b_env.get(n) != item]
    if env:
        out["env"] = env
    if as_list(before.get("envFrom")) != as_list(after.get("envFrom")):
        out["envFrom"] = as_list(after.get("envFrom"))  # no merge key: the list is replaced whole
    b_mounts = _by(before.get("volumeMounts"), "mountPath")
    mounts = [m for p, m in _by(after.get("volumeMounts"), "mountPath").items() if p not in b_mounts]
    if mounts:
        out["volumeMounts"] = mounts
    return {"name": after.get("name"), **out} if out else {}


def strategic_patch(before: dict[str, Any], after: dict[str, Any]) -> str:
    """One YAML document (starting with `---`) patching `before` into `after`."""
    from secretkeeper.migrate.splice import block

    path = TEMPLATE_PATHS[str(before.get("kind"))]
    b_spec, a_spec = _at(before, path), _at(after, path)
    spec: dict[str, Any] = {}
    b_sc, a_sc = as_dict(b_spec.get("securityContext")), as_dict(a_spec.get("securityContext"))
    changed_sc = {k: v for k, v in a_sc.items() if b_sc.get(k) != v}
    if changed_sc:
        spec["securityContext"] = changed_sc
    b_vols = _by(b_spec.get("volumes"), "name")
    vols = [v for n, v in _by(a_spec.get("volumes"), "name").items() if n not in b_vols]
    if vols:
        spec["volumes"] = vols
    for key in CONTAINER_LISTS:
        b_cs = _by(b_spec.get(key), "name")
        patches = [p for n, c in _by(a_spec.get(key), "name").items() if (p := _container_patch(b_cs.get(n, {}), c))]
        if patches:
            spec[key] = patches
    meta = as_dict(before.get("metadata"))
    body: dict[str, Any] = spec
    for key in reversed(path):
        body = {key: body}
    doc = {"apiVersion": before.get("apiVersion"), "kind": before.get("kind"),
           "metadata": {k: meta[k] for k in ("name", "namespace") if k in meta}, **body}
    return "---\n" + "".join(line + "\n" for line in block(doc, 0, 0))
