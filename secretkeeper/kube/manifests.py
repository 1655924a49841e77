"""Manifest files -> `KubeObject`s with the line of every field.

Multi-document YAML, JSON, `kind: List` (each item is an object), Helm-rendered output (the `# Source:`
comments are just comments) and Kustomize output. The documents come from `secretkeeper.kube.yamllines`;
here are the file-level limits (size, encoding) and which documents are objects.
"""

from __future__ import annotations

from typing import Any

from secretkeeper.kube.objects import FieldPath, KubeObject
from secretkeeper.kube.yamllines import ManifestError, load_documents

MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def parse_manifests(data: bytes, path: str) -> tuple[list[KubeObject], list[str]]:
    """Kubernetes objects in `data`, with field lines; plus one-line errors for documents that failed.

    A document without `apiVersion` and `kind` is not an object and is ignored; a `kind: List` yields
    its items. Errors name the file and never quote its content.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        return [], [f"{path}: refused: {len(data)} bytes is over the {MAX_MANIFEST_BYTES} byte manifest limit"]
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [f"{path}: not UTF-8 (byte {exc.start})"]
    if "\t" in text and path.lower().endswith(".json"):
        text = text.replace("\t", " ")  # JSON allows tabs as whitespace, YAML does not
    try:
        documents, errors = load_documents(text)
    except ManifestError as exc:
        return [], [f"{path}: {exc}"]
    objects = [obj for doc in documents for obj in _objects(doc.body, doc.lines, path, doc.line)]
    return objects, [f"{path}: {error}" for error in errors]


def _is_object(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("kind"), str) and isinstance(body.get("apiVersion"), str)


def _objects(body: Any, lines: dict[FieldPath, int], path: str, doc_line: int) -> list[KubeObject]:
    if not _is_object(body):
        return []
    items = body.get("items")
    if body["kind"].endswith("List") and isinstance(items, list):
        per_item: dict[int, dict[FieldPath, int]] = {}
        for fpath, line in lines.items():
            if len(fpath) >= 2 and fpath[0] == "items" and isinstance(fpath[1], int):
                per_item.setdefault(fpath[1], {})[fpath[2:]] = line
        out = []
        for i, item in enumerate(items):
            if _is_object(item):
                item_lines = per_item.get(i, {})
                out.append(KubeObject(item, "manifest", path, item_lines, item_lines.get((), doc_line)))
        return out
    return [KubeObject(body, "manifest", path, lines, doc_line)]
