"""`restart: gitops`: the restart annotations written into the workload's manifest in the repository, for
the GitOps controller to apply, instead of patching the live object (which the controller would revert).

The file is edited as text: the annotation's value is replaced where it is written, or one line is
inserted under the pod template's `metadata.annotations` (or an `annotations:` block under its
`metadata`); every other line stays byte-identical, comments included.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from secretkeeper.fileio import write_private
from secretkeeper.kube.consumers import WorkloadRef
from secretkeeper.kube.sync.target import SyncError
from secretkeeper.kube.yamllines import Document, ManifestError, load_documents

MAX_FILE = 4 << 20
_SKIP_DIRS = {".git", "node_modules", ".venv", "vendor"}
_TEMPLATE_META = ("spec", "template", "metadata")


def find_manifest(repo: Path, ref: WorkloadRef) -> Path | None:
    """The YAML file under `repo` that declares the workload (its namespace written or left out)."""
    for root, dirs, files in os.walk(repo):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")):
                path = Path(root) / name
                if _document(path, ref) is not None:
                    return path
    return None


def write_annotations(path: Path, ref: WorkloadRef, annotations: dict[str, str]) -> bool:
    """Set the pod-template annotations of `ref` in `path`; False when they already hold those values."""
    text = path.read_text(encoding="utf-8")
    original = text
    for key, value in annotations.items():
        doc = _find(text, ref, path)
        text = _set(text, doc, key, value, path)
    if text == original:
        return False
    mode = os.stat(path).st_mode & 0o777
    write_private(path, text)
    os.chmod(path, mode)  # a manifest keeps its mode: it holds no secret
    return True


def _document(path: Path, ref: WorkloadRef) -> Document | None:
    try:
        if path.stat().st_size > MAX_FILE:
            return None
        return _find(path.read_text(encoding="utf-8"), ref, path, quiet=True)
    except (OSError, UnicodeDecodeError, SyncError):
        return None


def _find(text: str, ref: WorkloadRef, path: Path, quiet: bool = False) -> Document:
    try:
        docs, _ = load_documents(text, spans=True)
    except ManifestError as exc:
        raise SyncError(f"{path}: {exc}") from None
    for doc in docs:
        body = doc.body if isinstance(doc.body, dict) else {}
        meta = body.get("metadata") or {}
        if (body.get("kind") == ref.kind and meta.get("name") == ref.name
                and meta.get("namespace") in (None, ref.namespace)):
            return doc
    raise SyncError(f"{path}: no {ref} in it")


def _set(text: str, doc: Document, key: str, value: str, path: Path) -> str:
    assert doc.spans is not None
    nodes = doc.spans.nodes
    notes = (*_TEMPLATE_META, "annotations")
    line = f"{key}: {json.dumps(value)}"
    if (*notes, key) in nodes:
        span = nodes[(*notes, key)]
        return text[:span.start] + json.dumps(value) + text[span.end:]
    for where, lines in ((notes, [line]), (_TEMPLATE_META, ["annotations:", f"  {line}"]),
                         (_TEMPLATE_META[:2], ["metadata:", "  annotations:", f"    {line}"])):
        span = nodes.get(where)
        if span is None:
            continue
        if text[span.start:span.start + 1] in "{[":
            raise SyncError(f"{path}: {'.'.join(where)} is written in flow style; add the annotation "
                            f"{key} by hand once")
        indent = " " * (span.start_column - 1)
        end = text.find("\n", span.end)  # after the whole last line: a trailing comment stays on it
        end = len(text) if end < 0 else end
        return text[:end] + "".join(f"\n{indent}{part}" for part in lines) + text[end:]
    raise SyncError(f"{path}: the workload has no spec.template")
