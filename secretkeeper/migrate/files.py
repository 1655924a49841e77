"""Migration of manifest files: read every file once (Secrets beside the workloads tell an `envFrom`
source's keys), plan each workload, and splice the edits into the file's text.

- a plain manifest: its new text (shown as a diff, written with `--write`);
- a Helm template (`{{ ... }}` in the file): never rewritten; the report says what to change;
- a Kustomize base (a file a `kustomization.yaml` beside it lists under `resources`): left as it is; a
  strategic-merge patch file beside it carries the change (`<file stem>.env-to-files.patch.yaml`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import read_input
from secretkeeper.hygiene.base import Recogniser, as_dict, as_list
from secretkeeper.kube.manifests import MAX_MANIFEST_BYTES
from secretkeeper.kube.objects import FieldPath, KubeObject
from secretkeeper.kube.yamllines import Document, ManifestError, load_documents
from secretkeeper.migrate.ops import apply_ops
from secretkeeper.migrate.patch import strategic_patch
from secretkeeper.migrate.plan import Options, WorkloadPlan, plan_workload
from secretkeeper.migrate.splice import SpliceError, apply_edits, edits_for

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
PATCH_SUFFIX = ".env-to-files.patch.yaml"  # what this writes beside a Kustomize base: never migrated itself
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.S)


@dataclass
class FileResult:
    path: Path
    mode: str  # "rewrite" | "helm" | "helm-unreadable" | "kustomize-base" | "unchanged" | "error"
    original: str = ""
    new_text: str | None = None  # the rewritten manifest (mode "rewrite")
    patch_path: Path | None = None  # the patch file for a Kustomize base
    patch_text: str | None = None
    plans: list[WorkloadPlan] = field(default_factory=list)
    error: str = ""


def manifest_files(paths: list[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.endswith(MANIFEST_SUFFIXES) and not name.endswith(PATCH_SUFFIX):
                        yield Path(root) / name
        elif path.exists():
            yield path
        else:
            raise SecretkeeperError(f"{path}: no such file or directory")


def _read(path: Path) -> str:
    try:
        data = read_input(path, MAX_MANIFEST_BYTES)
    except OSError as exc:
        raise SecretkeeperError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretkeeperError(f"{path}: not UTF-8") from None


def _blank_templates(text: str) -> str:
    """A Helm template read as nearly as YAML can: a line that is only actions (`{{- if ... }}`) blanked,
    an action inside a value kept as `<< ... >>` (a plain scalar; `helm_text` turns it back)."""
    out = []
    for line in text.split("\n"):
        if line.strip() and not _TEMPLATE.sub("", line).strip():
            out.append(" " * len(line))
        else:
            out.append(_TEMPLATE.sub(lambda m: "<<" + m.group(0)[2:-2].replace("\n", " ") + ">>", line))
    return "\n".join(out)


def helm_text(value: str) -> str:
    return value.replace("<<", "{{").replace(">>", "}}")


@dataclass
class Located:
    obj: KubeObject
    doc: Document
    prefix: FieldPath


def _objects(text: str, path: Path) -> list[Located]:
    try:
        docs, errors = load_documents(text, spans=True)
    except ManifestError as exc:
        raise SecretkeeperError(f"{path}: {exc}") from None
    if errors:
        raise SecretkeeperError(f"{path}: {errors[0]}")
    out = []
    for doc in docs:
        body = doc.body
        if not _is_object(body):
            continue
        if str(body["kind"]).endswith("List") and isinstance(body.get("items"), list):
            for i, item in enumerate(body["items"]):
                if _is_object(item):
                    out.append(Located(KubeObject(item, "manifest", str(path)), doc, ("items", i)))
        else:
            out.append(Located(KubeObject(body, "manifest", str(path)), doc, ()))
    return out


def _is_object(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("kind"), str) and isinstance(body.get("apiVersion"), str)


def secret_keys(objects: list[KubeObject]) -> dict[tuple[str | None, str], list[str]]:
    """(namespace, name) -> keys of every Secret (and SealedSecret) among `objects`."""
    out: dict[tuple[str | None, str], list[str]] = {}
    for obj in objects:
        if obj.kind == "Secret":
            keys = [*as_dict(obj.body.get("data")), *as_dict(obj.body.get("stringData"))]
        elif obj.kind == "SealedSecret":
            keys = list(as_dict(as_dict(obj.body.get("spec")).get("encryptedData")))
        else:
            continue
        out[(obj.namespace, obj.name)] = list(dict.fromkeys(map(str, keys)))
    return out


def _helm_names(plan: WorkloadPlan) -> None:
    """The report of a Helm template names its actions as written (`{{ .Release.Name }}-db`)."""
    for m in plan.moves:
        m.secret, m.path, m.env = helm_text(m.secret), helm_text(m.path), helm_text(m.env)
        if m.file_env:
            m.file_env = helm_text(m.file_env)
    for c in plan.containers:
        c.image = helm_text(c.image)
    meta = plan.obj.body.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("name"), str):
        meta["name"] = helm_text(meta["name"])
        plan.obj.__dict__.pop("_ref", None)


def kustomize_bases(path: Path) -> bool:
    """Whether a kustomization beside `path` lists it as a resource (the file is part of a base)."""
    for name in KUSTOMIZATIONS:
        k = path.parent / name
        if not k.is_file():
            continue
        try:
            docs, _ = load_documents(_read(k))
        except (ManifestError, SecretkeeperError):
            continue
        for doc in docs:
            for res in as_list(as_dict(doc.body).get("resources")):
                if isinstance(res, str) and os.path.normpath(res) == path.name:
                    return True
    return False


def migrate_files(paths: list[Path], recognise: Recogniser, options: Options) -> list[FileResult]:
    files = list(manifest_files(paths))
    texts: dict[Path, str] = {}
    located: dict[Path, list[Located]] = {}
    results: dict[Path, FileResult] = {}
    for path in files:
        if path.name in KUSTOMIZATIONS:
            continue
        text = texts[path] = _read(path)
        helm = bool(_TEMPLATE.search(text))
        try:
            located[path] = _objects(_blank_templates(text) if helm else text, path)
        except SecretkeeperError as exc:
            if helm:  # templating YAML cannot always be read without rendering: reported, never fatal
                results[path] = FileResult(path, "helm-unreadable", text,
                                           error=f"{path}: a Helm template that does not read as YAML without "
                                           "rendering: check its env vars by hand (or migrate the rendered "
                                           "output of `helm template` and carry the changes over)")
            else:
                results[path] = FileResult(path, "error", text, error=str(exc))
            continue
        results[path] = FileResult(path, "helm" if helm else "unchanged", text)
    keys = secret_keys([loc.obj for locs in located.values() for loc in locs])
    options.secret_keys = {**keys, **options.secret_keys}
    for path, locs in located.items():
        result = results[path]
        text = texts[path]
        edits = []
        expected = []  # every object as the plans make it: what the new text must read back as
        try:
            for loc in locs:
                plan = plan_workload(loc.obj, recognise, options)
                expected.append(loc.obj.body if plan is None else apply_ops(loc.obj.body, plan.ops))
                if plan is None:
                    continue
                if result.mode == "helm":
                    _helm_names(plan)
                result.plans.append(plan)
                if not plan.empty and result.mode != "helm":
                    edits.extend(edits_for(text, loc.doc.spans, loc.prefix, plan.ops, len(edits)))  # type: ignore[arg-type]
        except SpliceError as exc:
            result.mode, result.error = "error", f"{path}: {exc}"
            continue
        if not any(not p.empty for p in result.plans) or result.mode == "helm":
            continue
        if kustomize_bases(path):
            result.mode = "kustomize-base"
            result.patch_path = path.with_name(f"{path.stem}{PATCH_SUFFIX}")
            result.patch_text = "".join(
                strategic_patch(p.obj.body, apply_ops(p.obj.body, p.ops)) for p in result.plans if not p.empty)
            continue
        try:
            new_text = apply_edits(text, edits)
            # The splice must read back as exactly what was planned, or the file is not touched.
            if [loc.obj.body for loc in _objects(new_text, path)] != expected:
                raise SpliceError("the rewritten text does not read back as planned; not rewritten")
        except (SpliceError, SecretkeeperError) as exc:
            result.mode, result.error = "error", f"{path}: {str(exc).removeprefix(f'{path}: ')}"
            continue
        result.new_text = new_text
        result.mode = "rewrite"
    return [results[p] for p in files if p in results]
