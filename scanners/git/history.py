"""The whole history scan of each repository among the scanned roots, for the pipeline.

Select blobs (selection.py), scan each unique blob once (content.py), attribute the blobs with findings
to the commits that introduced them (attribution.py). The working-tree file scan runs beside it; a
secret still in HEAD is reported once, as the history finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scanners.files import PathFilter
from scanners.git.attribution import Excluded, IntroWalk, attribute, staged
from scanners.git.content import TABLE_PATH, Progress, content_pass
from scanners.git.repo import Repo, count_commits, find_repo, normalise_path, scan_refs, show_path, verify_since
from scanners.git.selection import Blobs, list_blobs
from scanners.options import HistoryOptions
from secretkeeper.engine import Detector
from secretkeeper.errors import SecretkeeperError
from secretkeeper.findings import Finding
from secretkeeper.results import ScanStats, SkipLog


def scan_repositories(roots: Sequence[tuple[Path, str]], options: HistoryOptions, detector: Detector,
                      stats: ScanStats, *, paths: PathFilter, max_size: int, jobs: int,
                      progress: Progress | None = None) -> tuple[list[Path], list[Finding]]:
    """Scan the history of every repository among `roots` ((root, how its findings' paths are prefixed)).

    Returns the roots the working-tree file scan should still walk (bare repositories and git
    directories are history only; `--staged` and `--since` scan no working tree) and the history findings.
    Findings at paths the file scan would not report either (`paths` excludes them, or an allowlist
    does) are dropped.
    """
    if options.staged and (options.since or options.branches):
        raise SecretkeeperError("--staged scans the index: it cannot be combined with --since or --branch")
    ci_mode = options.staged or options.since is not None
    if not options.enabled and not ci_mode and not options.branches:
        return [root for root, _prefix in roots], []

    def excluded(path: str, rule_id: str) -> bool:
        if paths.excludes(path):
            return True
        if detector.allowlist.allows_path(path):
            return True
        rule = next((r for r in detector.rules if r.id == rule_id), None)
        return bool(rule and rule.allowlist.allows_path(path))

    file_roots: list[Path] = []
    findings: list[Finding] = []
    for root, prefix in roots:
        repo = find_repo(Path(root), inside=options.staged)
        if repo is None:
            if ci_mode or options.branches:
                flag = "--staged" if options.staged else "--since" if options.since else "--branch"
                raise SecretkeeperError(f"{root}: {flag} needs a git repository (work tree top level or "
                                        "bare repository)")
            file_roots.append(root)
            continue
        if repo.work_tree is not None and not ci_mode:
            file_roots.append(root)
        result = scan_history(repo, detector, options, max_size=max_size, jobs=jobs, progress=progress,
                              prefix="" if prefix == "." else prefix, excluded=excluded)
        findings.extend(result.findings)
        stats.blobs += result.blobs
        stats.bytes += result.bytes
        stats.commits += result.commits
        stats.skipped.merge(result.skipped)
        stats.warnings.extend(result.warnings)
    return file_roots, findings


@dataclass
class HistoryResult:
    findings: list[Finding]
    blobs: int
    bytes: int
    commits: int
    skipped: SkipLog
    warnings: list[str]


def scan_history(repo: Repo, detector: Detector, sel: HistoryOptions, *, max_size: int, jobs: int,
                 progress: Progress | None, prefix: str, excluded: Excluded) -> HistoryResult:
    """Scan the selected history of `repo`; `excluded(path, rule_id)` drops findings the working-tree
    scan would not report either (config excludes, allowlisted paths)."""
    skips = SkipLog()
    warnings: list[str] = []
    if repo.shallow and not sel.staged:
        warnings.append("shallow clone: commits before the shallow boundary are not scanned "
                        "(git fetch --unshallow for the full history)")
    since = verify_since(repo, sel.since) if sel.since else None
    refs = [] if sel.staged else scan_refs(repo, sel)
    walk = IntroWalk(repo, refs, since)
    try:
        # Path-gated rules need names: with --all-refs the blob listing has none, so the attribution walk
        # runs first and names the blobs (names.py) while the blobs are listed, before the content pass.
        named = bool(detector.path_rules and not sel.staged and not (sel.since or sel.branches))
        if named:
            # Credential files, and tables (CSV, SQL INSERTs: their cells are read under their column names)
            # (one Hyperscan pass per distinct path for every path rule: 44 `re.search`es each cost ~2 CPU s
            # on git.git's 82,000 paths)
            walk.prefetch(lambda path: bool(TABLE_PATH.search(path) or detector.path_rules_for(path)))
        blobs = list_blobs(repo, sel, refs, max_size, skips, warnings)
        return _scan_listed(repo, detector, sel, blobs, walk, named, refs, since, skips, warnings,
                            max_size=max_size, jobs=jobs, progress=progress, prefix=prefix, excluded=excluded)
    finally:
        walk.close()


def _scan_listed(repo: Repo, detector: Detector, sel: HistoryOptions, blobs: Blobs, walk: IntroWalk,
                 named: bool, refs: Sequence[str], since: str | None, skips: SkipLog,
                 warnings: list[str], *, max_size: int, jobs: int, progress: Progress | None, prefix: str,
                 excluded: Excluded) -> HistoryResult:
    rescanned: set[tuple[str, str]] = set()
    commits: int | None = None
    if named:
        # The names first, so the content pass reads every blob once: a named blob is scanned with its
        # name where a path rule for it could match (the gate), as the file scan would.
        blobs.names, commits = walk.named(warnings)
    res = content_pass(repo, blobs, detector, jobs, progress, gate=named)
    if named:
        rescanned = {(oid, show_path(blobs.names[oid])) for oid in res.gated}
        blobs.names = {}
    skips.merge(res.skipped)
    warnings.extend(res.warnings)
    if sel.staged:
        commits = 0
    elif commits is None:
        commits = count_commits(repo, refs, since)  # the walks counted them when they ran
    if sel.staged:
        findings = staged(res.found, blobs, detector, prefix, excluded)
    else:
        findings = attribute(repo, res.found, walk, detector, max_size, warnings, prefix, excluded, rescanned)
    return HistoryResult(findings, res.blobs, res.bytes, commits, skips, warnings)


def merge_with_worktree(file_findings: Iterable[Finding], history: Iterable[Finding]) -> list[Finding]:
    """One finding per (rule, path, secret): a history finding still in HEAD replaces the working-tree one."""
    history = list(history)
    covered = {(f.rule_id, f.location.path, f.secret_sha256) for f in history if f.extra.get("in_head")}
    if not covered:  # no history scanned (or nothing of it in HEAD): every working-tree finding stays
        return [*file_findings, *history]
    kept = [f for f in file_findings
            if (f.rule_id, normalise_path(f.location.path or ""), f.secret_sha256) not in covered]
    return kept + history
