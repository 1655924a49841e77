"""The scan pipeline: targets -> sources -> engine -> findings -> suppression -> ScanResult.

The CLI calls `run_scan` with a ScanOptions (each source's own options inside); report writers take the
ScanResult. Sources: git history (scanners/git/), files on disk (walked by scanners/files.py, scanned
here), container images, a live cluster. Files and history blobs are spread over processes by
secretkeeper/workers.py; every named blob goes through secretkeeper/blobscan.py.
"""

from __future__ import annotations

import itertools
import os
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable, Iterable, Iterator, Sequence

from scanners.files import ON_DISK, FileEntry, PathFilter, is_binary_name, read_file, walk
from scanners.options import ClusterOptions, HistoryOptions, ImageOptions
from secretkeeper import heap, workers
from secretkeeper.baseline import Baseline
from secretkeeper.blobscan import scan_blob
from secretkeeper.config import Config
from secretkeeper.engine import Detector
from secretkeeper.errors import RuleError, SecretkeeperError, shown
from secretkeeper.findings import Finding
from secretkeeper.printed import scrub_printed
from secretkeeper.results import ScanResult, ScanStats, SkipLog
from secretkeeper.rules import Allowlist, load_builtin_rules, load_rule_file, merge_rules, rule_from_mapping

# Batches handed to a worker: big enough to amortise IPC, small enough to balance the load.
_BATCH_FILES = 256
_BATCH_BYTES = 8 * 1024 * 1024
_UNSIZED_WEIGHT = 128 * 1024  # what a batch counts for a file of unknown size: 64 such files a batch


def build_rules(config: Config, rule_files: Sequence[Path] = ()) -> list:
    """The catalog with the config's custom rules and rule files and the `rule_files` named on the command
    line, less what the config disables, with its severities. A rule file the config names is read
    under the config's rules (inside the scanned tree, for a config found there); one named on the
    command line is the user's own choice."""
    scan_cfg = config.scan
    custom = []
    source = str(config.path) if config.path else "config"
    for i, data in enumerate(scan_cfg.rules):
        custom.append(rule_from_mapping(data, f"{source}: scan.rules[{i}]", "custom"))
    base = config.path.parent if config.path else Path(".")
    for i, rf in enumerate(scan_cfg.rule_files):
        try:
            custom.extend(load_rule_file(base / rf, within=config.within))  # `base / "/abs"` is "/abs"
        except RuleError as exc:
            raise config.error(("scan", "rule_files", i), str(exc)) from None
    for p in rule_files:
        custom.extend(load_rule_file(p))
    known = {r.id for r in builtin_rules()} | {r.id for r in custom}
    for loc, rid in scan_cfg.rule_ids():
        if rid not in known:
            raise config.error(loc, f"unknown rule id {shown(rid)!r}{_not_a_leak_rule(rid)}", key=loc[:-1])
    disabled = list(scan_cfg.disable) + list(scan_cfg.allowlist.rules)
    return merge_rules(builtin_rules(), custom, disabled, scan_cfg.severity)


def _not_a_leak_rule(rule_id: str) -> str:
    from secretkeeper.hygiene import HYGIENE_RULES

    if any(h.id == rule_id for h in HYGIENE_RULES):
        return " (a Kubernetes hygiene rule: severities and disabling apply to leak rules)"
    return " (see `secretkeeper rules list`)"


_BUILTIN: list = []


def builtin_rules() -> list:
    """The shipped catalog, loaded once per process."""
    if not _BUILTIN:
        _BUILTIN.extend(load_builtin_rules())
    return _BUILTIN


def build_detector(config: Config, *, backend: str = "auto", rule_files: Sequence[Path] = ()) -> Detector:
    allow = config.scan.allowlist
    import re

    allowlist = Allowlist(
        regexes=tuple(re.compile(r.encode()) for r in allow.regexes),
        stopwords=tuple(w.lower().encode() for w in allow.stopwords),
        paths=tuple(re.compile(p) for p in allow.paths),
        hashes=frozenset(allow.secrets),
    )
    return Detector(build_rules(config, rule_files), backend=backend, allowlist=allowlist,
                    catalog=builtin_rules())


# -- files ----------------------------------------------------------------------------------------------
def scan_file(detector: Detector, entry: FileEntry, max_size: int, stats: ScanStats,
              display_path: str | None = None) -> list[Finding]:
    """Read and scan one file; every problem is a counted, named skip, never an exception."""
    rel = display_path or entry.relpath
    if entry.size > max_size:
        stats.skipped.add("too-large", rel)
        return []
    path_rules = detector.path_rules_for(rel)  # credential files: scanned even when binary (keystores)
    if not path_rules and is_binary_name(rel):
        stats.skipped.add("binary", rel)
        return []
    data = read_file(entry, max_size, stats.skipped, rel)
    if not data:  # unreadable (counted), or empty: nothing to scan, and not counted as a file scanned
        return []
    found = scan_blob(detector, data, rel, ON_DISK, stats, path_rules)
    if found is None:  # binary
        return []
    stats.files += 1
    stats.bytes += len(data)
    return found


def _scan_batch(shared: tuple[Detector, int], batch: list[tuple[FileEntry, str]]) -> tuple[list[Finding], ScanStats]:
    detector, max_size = shared
    stats = ScanStats()
    out: list[Finding] = []
    for entry, display in batch:
        out.extend(scan_file(detector, entry, max_size, stats, display))
    return out, stats


def _size(item: tuple[FileEntry, str]) -> int:
    """A file's size for the pool decision: the walk's, or a stat (the walk reads directory entries only)."""
    entry = item[0]
    if entry.size >= 0:
        return entry.size
    try:
        return os.stat(entry.path, follow_symlinks=False).st_size
    except OSError:
        return 0


def _weight(item: tuple[FileEntry, str]) -> int:
    """What a file counts for in a batch: its size, or a guess when the walk did not stat it."""
    size = item[0].size
    return size if size >= 0 else _UNSIZED_WEIGHT


_MANIFEST_OR_CERT = (".yaml", ".yml", ".json", ".crt", ".pem", ".cer", ".cert")


def _prewarm(head: list[tuple[FileEntry, str]]) -> None:
    """Import the manifest and certificate machinery before forking when the tree has such files: every
    worker would otherwise import it on its first manifest (yaml, the hygiene checks, cryptography's x509,
    ~0.2 s of module set-up each)."""
    if any(shown.endswith(_MANIFEST_OR_CERT) for _entry, shown in head):
        import scanners.manifests  # noqa: F401
        import secretkeeper.hygiene  # noqa: F401
        from cryptography import x509  # noqa: F401


def scan_files(detector: Detector, entries: Iterable[tuple[FileEntry, str]], max_size: int, jobs: int,
               progress: Callable[[int, int], None] | None = None) -> tuple[list[Finding], ScanStats]:
    """Scan files with `jobs` processes; `progress(files_done, bytes_done)` is called as batches finish.

    `entries` may be a lazy walk: workers start on the first batches while the tree is still being walked.
    """
    stats = ScanStats()
    findings: list[Finding] = []
    heap.keep_buffers_on_heap(max_size + 1)  # before the fork: workers inherit it
    head, rest, pool = workers.lookahead(entries, jobs, _size)
    batches = workers.batches(itertools.chain(head, rest), _weight, _BATCH_FILES, _BATCH_BYTES)
    shared = (detector, max_size)
    if pool:
        _prewarm(head)
        done = workers.fan_out(_scan_batch, shared, batches, jobs)
    else:
        done = (_scan_batch(shared, batch) for batch in batches)
    with closing(done):  # an interruption in this loop stops the workers at once too
        for got, st in done:
            findings.extend(got)
            stats.merge(st)
            if progress:
                progress(stats.files, stats.bytes)
    return findings, stats


# -- orchestration --------------------------------------------------------------------------------------
@dataclass
class ScanOptions:
    paths: list[Path]
    config: Config
    jobs: int = 0
    baseline: Baseline | None = None
    rule_files: list[Path] = field(default_factory=list)
    progress: Callable[..., None] | None = None
    history: HistoryOptions = field(default_factory=HistoryOptions)  # of the repositories among `paths`
    images: ImageOptions = field(default_factory=ImageOptions)
    cluster: ClusterOptions = field(default_factory=ClusterOptions)


def display_paths(roots: list[Path]) -> list[str]:
    """How each root prefixes its findings' paths: nothing for a single root, its relpath otherwise."""
    if len(roots) == 1:
        return [""]
    out = []
    cwd = Path.cwd()
    for r in roots:
        try:
            out.append(os.path.relpath(r, cwd).replace(os.sep, "/"))
        except ValueError:  # pragma: no cover - other drive
            out.append(str(r))
    return out


def collect_files(roots: list[Path], paths: PathFilter, skips: SkipLog) -> Iterator[tuple[FileEntry, str]]:
    """(entry, displayed path) for every file under `roots`, walked lazily. A missing root is an error
    now, before any scanning starts; `skips` fills in as the walk proceeds."""
    for root in roots:
        try:
            os.stat(root)
        except OSError as exc:
            raise SecretkeeperError(f"{root}: {exc.strerror}") from None
    return _walk_roots(roots, paths, skips)


def _walk_roots(roots: list[Path], paths: PathFilter, skips: SkipLog) -> Iterator[tuple[FileEntry, str]]:
    for root, prefix in zip(roots, display_paths(roots)):
        # Shown as: the relpath (one root, or the cwd), `prefix/relpath` (a directory root), `prefix` (a
        # file root). The root's kind is read once, not once per file.
        head = "" if not prefix or prefix == "." else f"{prefix}/" if root.is_dir() else None
        try:
            for entry in walk(root, paths, skips):
                yield entry, prefix if head is None else head + entry.relpath
        except FileNotFoundError:  # removed since collect_files checked it; walk() counted the skip
            continue


def run_scan(options: ScanOptions) -> ScanResult:
    started = time.perf_counter()
    cfg = options.config.scan
    detector = build_detector(options.config, rule_files=options.rule_files)
    paths = PathFilter(cfg.exclude, cfg.default_excludes)
    stats = ScanStats()
    jobs = options.jobs or workers.default_jobs()
    from scanners.git.history import merge_with_worktree, scan_repositories

    file_roots, history = scan_repositories(list(zip(options.paths, display_paths(options.paths))),
                                            options.history, detector, stats, paths=paths,
                                            max_size=cfg.max_file_size, jobs=jobs, progress=options.progress)
    walk_skips = SkipLog()  # filled as the walk proceeds, while the files are scanned
    entries = collect_files(file_roots, paths, walk_skips)
    findings, file_stats = scan_files(detector, entries, cfg.max_file_size, jobs, options.progress)
    stats.skipped.merge(walk_skips)
    stats.merge(file_stats)
    findings = merge_with_worktree(findings, history)
    if options.images.refs:
        from scanners.images import scan_images

        findings.extend(scan_images(options.images.refs, detector, options.images, stats,
                                    max_size=cfg.max_file_size))
    if options.cluster.wanted:
        from scanners.cluster import scan_cluster

        findings.extend(scan_cluster(detector, options.cluster, stats, max_size=cfg.max_file_size))
    return finish(findings, stats, options, detector, started)


def _drop_config_examples(findings: list[Finding], options: ScanOptions, stats: ScanStats) -> list[Finding]:
    """The active config's custom-rule examples are synthetic secrets by design: not reported. The rest
    of the config file is scanned like any other file (it could hold a real credential)."""
    cfg = options.config
    if not cfg.example_lines or cfg.path is None:
        return findings
    shown = set()
    cfg_abs = Path(cfg.path).resolve()
    for root, prefix in zip(options.paths, display_paths(options.paths)):
        try:
            rel = cfg_abs.relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            continue
        shown.add(f"{prefix}/{rel}" if prefix and prefix != "." else rel)
    kept = [f for f in findings if not (f.location.source == "file" and f.location.path in shown
                                        and f.location.line in cfg.example_lines)]
    if len(kept) != len(findings):
        stats.suppressed["config-examples"] += len(findings) - len(kept)
    return kept


def _report_order(f: Finding) -> tuple[str, int, str]:
    loc = f.location
    return (loc.path or loc.object or loc.image or "", loc.line or 0, f.rule_id)


def finish(findings: list[Finding], stats: ScanStats, options: ScanOptions, detector: Detector,
           started: float) -> ScanResult:
    """Dedup, baseline, redaction of the names reports print, sort: shared by every source so
    suppression and redaction behave the same everywhere."""
    unique: dict[tuple, Finding] = {}
    for f in findings:
        loc = f.location
        unique.setdefault((f.fingerprint, loc.path, loc.line, loc.commit, loc.object, loc.image), f)
    kept = _drop_config_examples(list(unique.values()), options, stats)
    if options.baseline is not None:
        kept, n = options.baseline.filter(kept)
        if n:
            stats.suppressed["baseline"] += n
    kept = scrub_printed(kept, stats, detector)  # after dedup and baseline: they key on names as scanned
    kept.sort(key=_report_order)
    stats.rules = len(detector.rules)
    stats.skipped.paths.sort()  # workers finish in any order: reports list skipped files in a stable one
    stats.duration = time.perf_counter() - started
    rules: dict[str, object] = {}
    if any(f.kind == "hygiene" for f in kept):  # the hygiene catalog loads only when a report needs it
        from secretkeeper.hygiene import HYGIENE_RULES

        rules.update((r.id, r) for r in HYGIENE_RULES)
    rules.update((r.id, r) for r in detector.rules)
    return ScanResult(kept, stats, [str(p) for p in options.paths], rules)
