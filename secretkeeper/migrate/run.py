"""`migrate env-to-files` from request to outcome: the files or the cluster, planned, shown or changed,
reported."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import write_private, write_private_bytes
from secretkeeper.hygiene.base import Recogniser
from secretkeeper.migrate.files import FileResult, migrate_files
from secretkeeper.migrate.plan import Options, WorkloadPlan
from secretkeeper.migrate.report import Entry, redact_values, secret_manifest, unified
from secretkeeper.migrate.request import MigrateRequest, Outcome
from secretkeeper.migrate.store import managed_snippet, open_named_store, put_literals


def _recogniser(request: MigrateRequest):
    from secretkeeper.config import resolve_config
    from secretkeeper.pipeline import build_detector

    cfg = resolve_config(request.config, [Path.cwd()])
    return cfg, Recogniser(build_detector(cfg))


def run_env_to_files(request: MigrateRequest) -> Outcome:
    cfg, recognise = _recogniser(request)
    options = Options(mount_root=request.mount_root, file_env=request.file_env)
    if request.cluster:
        from secretkeeper.migrate.live import migrate_cluster

        return migrate_cluster(request, cfg, recognise, options)
    return _migrate_files(request, cfg, recognise, options)


def secret_file(secrets_dir: Path, plan: WorkloadPlan) -> Path:
    return secrets_dir / f"{plan.obj.namespace or 'default'}.{plan.new_secret}.yaml"


def _migrate_files(request: MigrateRequest, cfg, recognise: Recogniser, options: Options) -> Outcome:
    results = migrate_files(request.paths, recognise, options)
    errors = [r.error for r in results if r.mode == "error"]
    if errors:  # nothing is written when one file cannot be migrated
        raise SecretkeeperError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    out = Outcome()
    out.messages += [r.error for r in results if r.mode == "helm-unreadable"]
    diffs: list[str] = []
    store = open_named_store(cfg, request.store) if request.store else None
    for result in results:
        diffs.append(_file_diff(result))
        for plan in result.plans:
            entry = Entry(plan, str(result.path), _file_outcome(result, plan, request.write))
            if plan.new_secret and result.mode in ("rewrite", "kustomize-base"):
                if store is not None:
                    where = f"{plan.obj.namespace or 'default'}/{plan.new_secret}"
                    entry.secret_to = f"store {request.store}, path {where}"
                    entry.extra.append(managed_snippet(request.store or "", where, plan))
                else:
                    target = secret_file(request.secrets_dir, plan)
                    entry.secret_to = f"{target} (0600; values not shown)"
                    diffs.append(unified(str(target), None, secret_manifest(
                        plan.new_secret, plan.obj.namespace, plan.literals, redact=True)))
            out.entries.append(entry)
    out.diff = redact_values("".join(diffs), [v for e in out.entries for v in e.plan.literals.values()])
    for result in results:  # a Kustomize patch already written as it would be now is not a change
        if result.mode == "kustomize-base" and result.patch_path is not None and result.patch_path.exists() \
                and result.patch_path.read_text(encoding="utf-8") == result.patch_text:
            result.mode = "kustomize-done"
            for entry in out.entries:
                if entry.where == str(result.path):
                    entry.outcome = f"patch {result.patch_path} is up to date (the base is not edited)"
    out.changes = any(r.mode in ("rewrite", "kustomize-base") for r in results)
    if not out.changes:
        out.messages.append("nothing to migrate: no file would change")
    elif request.write:
        _write(results, request, store, out)
    return out


def _file_outcome(result: FileResult, plan: WorkloadPlan, write: bool) -> str:
    if plan.empty:
        return "nothing to migrate"
    if result.mode == "helm":
        return "report only: a Helm template is not rewritten; make these changes in the template"
    if result.mode == "kustomize-base":
        verb = "patch written to" if write else "would write patch"
        return f"{verb} {result.patch_path} (a Kustomize base is not edited; add it to the overlay's `patches`)"
    return "migrated" if write else "would migrate (--write to rewrite)"


def _file_diff(result: FileResult) -> str:
    if result.mode == "rewrite" and result.new_text is not None:
        return unified(str(result.path), result.original, result.new_text)
    if result.mode == "kustomize-base" and result.patch_text and result.patch_path is not None:
        before = result.patch_path.read_text(encoding="utf-8") if result.patch_path.exists() else None
        return unified(str(result.patch_path), before, result.patch_text)
    return ""


def _write(results: list[FileResult], request: MigrateRequest, store, out: Outcome) -> None:
    for result in results:
        for plan in result.plans:
            if not (plan.new_secret and result.mode in ("rewrite", "kustomize-base")) or plan.empty:
                continue
            if store is not None:
                put_literals(store, f"{plan.obj.namespace or 'default'}/{plan.new_secret}", plan)
            else:
                _secrets_dir(request.secrets_dir)
                target = secret_file(request.secrets_dir, plan)
                write_private(target, secret_manifest(plan.new_secret, plan.obj.namespace, plan.literals,
                                                      redact=False))
                out.messages.append(f"wrote Secret {plan.new_secret} to {target} (0600): keep it out of git")
    for result in results:
        if result.mode == "rewrite" and result.new_text is not None:
            _replace(result.path, result.new_text.encode("utf-8"))
            out.messages.append(f"rewrote {result.path}")
        elif result.mode == "kustomize-base" and result.patch_path is not None and result.patch_text:
            _replace(result.patch_path, result.patch_text.encode("utf-8"))
            out.messages.append(f"wrote {result.patch_path}")


def _secrets_dir(path: Path) -> None:
    """The directory for Secret files: 0700, with a `.gitignore` of `*` so that git never takes them."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# Secret manifests with values (written by secretkeeper migrate): never commit them\n*\n",
                          encoding="utf-8")


def _replace(path: Path, data: bytes) -> None:
    """Atomically, keeping the file's mode (a manifest is not a secret: it stays as readable as it was)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o644
    write_private_bytes(path, data)
    os.chmod(path, mode)


