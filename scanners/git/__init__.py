"""Git history: every unique blob of the selected refs read and scanned once, findings attributed after.

How a history scan runs (docs/git-history.md has the user-facing story):

1. Select blobs. `--all-refs` (default): every blob in the object database, listed in pack order by
   `git cat-file --batch-all-objects --batch-check --unordered` (no history walk at all). `--branch REF`
   and `--since REV`: `git rev-list --objects REFS --not REV`, which also names each blob. `--staged`:
   the index entries that differ from HEAD. Blobs over `scan.max_file_size` are skipped and counted.
2. Scan content. The pack-ordered list is cut into contiguous slices balanced by bytes; each worker
   process (fork: the compiled Detector is inherited) runs its own `git cat-file --batch` on its slice and
   feeds blobs straight to the Detector with no path. Only Findings travel back (hash + redacted preview,
   never the secret). Binary blobs (NUL in the first 8000 bytes) are skipped. A corrupt or missing object
   is a warning and a counted skip; the reader restarts after it.
3. Path-gated rules (credential files recognised by name) need a path, so when the rule set has any,
   `git rev-list --objects` runs beside the content pass and the few blobs whose name matches a path rule
   are scanned again with that path. Without path-gated rules nothing walks history unless there is a
   finding.
4. Attribute. Only blobs with findings are mapped to commits: one `git log --raw -m --find-object=...`
   over the scanned refs lists the commits that add each of those blobs at any path (merge resolutions
   included, renames seen as add + delete), oldest first; each (rule, path, secret) is reported once, at
   its earliest introducing commit, with the line in that version. A repository without findings pays
   nothing here.
5. Presence in HEAD: `git ls-tree -r HEAD` tells whether the secret is still at that path in HEAD
   (`extra.in_head`; "rotate it and remove it") or only in history ("rotate it; rewriting history is
   optional").

Paths are read with `-z` and decoded as UTF-8; bytes that are not UTF-8 are shown as `\\xNN` escapes.
"""

from __future__ import annotations

import mmap
import os
import re
import subprocess
import tempfile
import threading
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scanners.files import PathFilter, looks_binary
from scanners.options import HistoryOptions
from secretkeeper.results import ScanStats, SkipLog
from secretkeeper.engine import Detector
from secretkeeper.findings import finding_from_match
from secretkeeper.errors import SecretkeeperError
from secretkeeper.findings import Finding, Location, fingerprint
from secretkeeper.engine.regextext import class_end
from secretkeeper import workers
from secretkeeper.tabular import TABLE_SUFFIXES

GIT = "git"
# Pack windows mapped into a git process count towards its resident memory: keep them bounded (the
# speed is the same; a 1,000,000-blob repository otherwise maps its whole pack in every reader).
_GIT_CONFIG = ("-c", "core.quotePath=off", "-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=192m",
               "-c", "core.deltaBaseCacheLimit=64m")
_OID_RE = re.compile(rb"^[0-9a-f]{40}(?:[0-9a-f]{24})?$")
# Slices per worker: enough to balance load and report progress, few enough that reader start-up is noise.
_SLICES_PER_JOB = 8

IN_HEAD_ADVICE = "Still in HEAD: rotate it and remove it."
HISTORY_ADVICE = "Only in history: rotate it; rewriting history is optional."
STAGED_ADVICE = "Staged for commit: remove it from the change and rotate it."

Progress = Callable[..., None]
Excluded = Callable[[str, str], bool]  # (path, rule id) -> not reported there


# -- repository -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Repo:
    git_dir: str
    work_tree: str | None  # None for bare repositories and mirrors
    shallow: bool
    oid_len: int = 40

    def cmd(self, *args: str) -> list[str]:
        return [GIT, "--git-dir", self.git_dir, *_GIT_CONFIG, *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(var, None)
    return env


def _run(cmd: Sequence[str], *, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), input=input, capture_output=True, env=_env(), check=False)
    if check and proc.returncode != 0:
        first = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise SecretkeeperError(f"{' '.join(cmd[3 + len(_GIT_CONFIG):][:3])}: "
                                f"{first[-1] if first else 'git failed'}")
    return proc


def find_repo(path: Path, *, inside: bool = False) -> Repo | None:
    """The repository whose top level (work tree) or git directory is `path`; None otherwise.

    A subdirectory of a work tree is not a repository root: it is scanned as files only (unless
    `inside`, for --staged, which scans the index of the repository that contains `path`).
    """
    if not path.is_dir():
        return None
    proc = subprocess.run([GIT, "-C", str(path), "rev-parse", "--absolute-git-dir", "--is-bare-repository",
                           "--is-shallow-repository"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          env=_env(), check=False)
    if proc.returncode != 0:
        return None
    lines = proc.stdout.decode("utf-8", "surrogateescape").splitlines()
    if len(lines) < 3:
        return None
    git_dir, bare, shallow = lines[0], lines[1] == "true", lines[2] == "true"
    resolved = path.resolve()
    work_tree = None
    if not bare:
        top = subprocess.run([GIT, "-C", str(path), "rev-parse", "--show-toplevel"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=_env(), check=False)
        top_dir = top.stdout.decode("utf-8", "surrogateescape").strip() if top.returncode == 0 else ""
        if top_dir and (inside or Path(top_dir).resolve() == resolved):
            work_tree = top_dir
        elif Path(git_dir).resolve() != resolved:
            return None  # a subdirectory of a work tree (or of a .git directory)
    elif Path(git_dir).resolve() != resolved:
        return None
    fmt = subprocess.run([GIT, "--git-dir", git_dir, "rev-parse", "--show-object-format"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(), check=False)
    oid_len = 64 if fmt.stdout.strip() == b"sha256" else 40
    return Repo(git_dir=git_dir, work_tree=work_tree, shallow=shallow, oid_len=oid_len)


def show_path(raw: bytes) -> str:
    """A repository path for display and fingerprints: UTF-8, other bytes as `\\xNN` (never surrogates)."""
    return raw.decode("utf-8", "backslashreplace")


def normalise_path(path: str) -> str:
    """The same display form for a path that came from the file system (surrogate-escaped)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# -- selection ------------------------------------------------------------------------------------------
@dataclass
class Blobs:
    """Blob ids as fixed-width records in one bytes object (cheap to share with forked workers)."""

    oids: bytes  # b"<oid>\n" * n
    sizes: array
    width: int
    names: dict[str, bytes] = field(default_factory=dict)  # oid -> path, when the listing named them

    def __len__(self) -> int:
        return len(self.sizes)

    def oid(self, i: int) -> str:
        return self.oids[i * self.width : i * self.width + self.width - 1].decode("ascii")


def scan_refs(repo: Repo, sel: HistoryOptions) -> list[str]:
    """Full ref names the history scan covers (`refs/stash` only with --stash)."""
    if sel.branches:
        out = []
        for ref in sel.branches:
            proc = _run(repo.cmd("rev-parse", "--verify", "--quiet", "--symbolic-full-name", ref), check=False)
            name = proc.stdout.decode("utf-8", "surrogateescape").strip()
            ok = _run(repo.cmd("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"), check=False)
            if ok.returncode != 0:
                raise SecretkeeperError(f"--branch {ref}: unknown revision")
            out.append(name or ok.stdout.decode().strip())
        return out
    proc = _run(repo.cmd("for-each-ref", "--format=%(refname)"))
    refs = [r for r in proc.stdout.decode("utf-8", "surrogateescape").splitlines() if r]
    if not sel.stash:
        refs = [r for r in refs if r != "refs/stash"]
    return refs


def verify_since(repo: Repo, rev: str) -> str:
    proc = _run(repo.cmd("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"), check=False)
    if proc.returncode != 0:
        raise SecretkeeperError(f"--since {rev}: unknown revision (shallow clone? fetch more history: "
                                f"git fetch --unshallow)")
    return proc.stdout.decode().strip()


def _rev_list_args(refs: Sequence[str], since: str | None) -> bytes:
    lines = list(refs)
    if since:
        lines.append(f"^{since}")  # a resolved commit id (git 2.39's --stdin takes no options)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def _check_batch(repo: Repo, oid_lines: bytes) -> Iterator[tuple[str, str, int]]:
    proc = _run(repo.cmd("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"),
                input=oid_lines, check=False)
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            yield parts[0].decode(), parts[1].decode(), int(parts[2])


def list_blobs(repo: Repo, sel: HistoryOptions, refs: Sequence[str], max_size: int, skips: SkipLog,
               warnings: list[str]) -> Blobs:
    width = repo.oid_len + 1
    oids = bytearray()
    sizes = array("Q")
    names: dict[str, bytes] = {}

    def add(oid: str, size: int, name: bytes | None) -> None:
        if size > max_size:
            skips.add("too-large", show_path(name) if name else f"blob {oid[:12]}")
            return
        if size == 0:
            return
        oids.extend(oid.encode() + b"\n")
        sizes.append(size)
        if name is not None:
            names[oid] = name

    if sel.staged:
        for oid, path in staged_entries(repo):
            for o, typ, size in _check_batch(repo, f"{oid}\n".encode()):
                if typ == "blob":
                    add(o, size, path)
        return Blobs(bytes(oids), sizes, width, names)
    if sel.since or sel.branches:
        proc = subprocess.run(repo.cmd("rev-list", "--objects", "--stdin"), input=_rev_list_args(refs, sel.since),
                              capture_output=True, env=_env(), check=False)
        if proc.returncode != 0:
            warnings.append("git rev-list failed part-way (corrupt repository?); scanned what it listed")
        named: dict[str, bytes] = {}
        for line in proc.stdout.split(b"\n"):
            if len(line) > repo.oid_len and line[repo.oid_len : repo.oid_len + 1] == b" ":
                named[line[: repo.oid_len].decode()] = line[repo.oid_len + 1 :]
        query = "".join(f"{o}\n" for o in named).encode()
        for oid, typ, size in _check_batch(repo, query):
            if typ == "blob":
                add(oid, size, named[oid])
        return Blobs(bytes(oids), sizes, width, names)
    # Streamed: a large repository lists millions of trees and commits we do not keep.
    lister = subprocess.Popen(repo.cmd("cat-file", "--batch-all-objects", "--unordered",
                                       "--batch-check=%(objecttype) %(objectsize) %(objectname)"),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(), bufsize=1 << 20)
    assert lister.stdout is not None
    for line in lister.stdout:
        if line.startswith(b"blob "):
            _, size, oid = line.split()
            size_i = int(size)
            if 0 < size_i <= max_size:
                oids += oid + b"\n"
                sizes.append(size_i)
            elif size_i:
                add(oid.decode(), size_i, None)
        elif line.endswith(b" missing\n"):  # listed but unreadable: a corrupt object
            oid_s = line.split()[0].decode()
            skips.add("corrupt", f"object {oid_s[:12]}")
            warnings.append(f"object {oid_s}: corrupt or unreadable, skipped")
    if lister.wait() != 0:
        warnings.append("git cat-file could not list every object (corrupt repository?); "
                        "scanned the objects it listed")
    return Blobs(bytes(oids), sizes, width, names)


def staged_entries(repo: Repo) -> list[tuple[str, bytes]]:
    """(blob id, path) of index entries added or modified relative to HEAD (all entries without HEAD)."""
    head = _run(repo.cmd("rev-parse", "--verify", "--quiet", "HEAD^{commit}"), check=False)
    if head.returncode == 0:
        proc = _run(repo.cmd("diff-index", "--cached", "--raw", "-z", "--no-renames", "--diff-filter=AMT",
                             "--no-abbrev", "HEAD"))
        toks = proc.stdout.split(b"\0")
        out = []
        for i in range(0, len(toks) - 1, 2):
            meta = toks[i].split()
            if len(meta) >= 5 and meta[1] != b"160000":
                out.append((meta[3].decode(), toks[i + 1]))
        return out
    proc = _run(repo.cmd("ls-files", "--stage", "-z"))
    out = []
    for rec in proc.stdout.split(b"\0"):
        if not rec:
            continue
        meta, _, path = rec.partition(b"\t")
        mode, oid, _stage = meta.split()
        if mode != b"160000":
            out.append((oid.decode(), path))
    return out


# -- content pass ---------------------------------------------------------------------------------------
@dataclass
class SliceResult:
    found: list[tuple[str, Finding]] = field(default_factory=list)  # (blob id, finding without path)
    blobs: int = 0
    bytes: int = 0
    skipped: SkipLog = field(default_factory=SkipLog)
    warnings: list[str] = field(default_factory=list)


class _Reader:
    """One `git cat-file --batch` fed a slice of blob ids by a writer thread."""

    def __init__(self, repo: Repo, payload: bytes) -> None:
        self.proc = subprocess.Popen(repo.cmd("cat-file", "--batch"), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(),
                                     bufsize=1 << 20)
        self.writer = threading.Thread(target=self._write, args=(payload,), daemon=True)
        self.writer.start()

    def _write(self, payload: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            for i in range(0, len(payload), 1 << 16):
                stdin.write(payload[i : i + (1 << 16)])
            stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def close(self) -> None:
        try:
            if self.proc.stdout:
                self.proc.stdout.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.writer.join(timeout=5)


def scan_slice(repo: Repo, blobs: Blobs, lo: int, hi: int, detector: Detector,
               tick: Callable[[int, int], None] | None = None,
               on_finding: Callable[[], None] | None = None) -> SliceResult:
    """Scan blobs [lo, hi) with one reader; a dead reader (corrupt object) is restarted past the culprit."""
    res = SliceResult()
    width = blobs.width
    batch = _Batch(detector, res) if _batchable(detector) else None
    i = lo
    while i < hi:
        if batch is not None:
            batch.flush()
        reader = _Reader(repo, blobs.oids[i * width : hi * width])
        out = reader.proc.stdout
        assert out is not None
        names = blobs.names
        try:
            while i < hi:
                header = out.readline()
                if not header.endswith(b"\n") or header.endswith(b" missing\n"):
                    oid = blobs.oid(i)
                if not header.endswith(b"\n"):
                    res.skipped.add("corrupt", f"blob {oid[:12]}")
                    res.warnings.append(f"blob {oid}: corrupt or unreadable object, skipped")
                    i += 1
                    break
                parts = header.split()
                if len(parts) == 2 and parts[1] == b"missing":
                    res.skipped.add("missing", f"blob {oid[:12]}")
                    res.warnings.append(f"blob {oid}: missing object, skipped")
                    i += 1
                    continue
                oid = parts[0].decode()
                size = int(parts[2])
                data = out.read(size)
                if len(data) < size or out.read(1) != b"\n":
                    res.skipped.add("corrupt", f"blob {oid[:12]}")
                    res.warnings.append(f"blob {oid}: corrupt or unreadable object, skipped")
                    i += 1
                    break
                i += 1
                name = names.get(oid) if names else None
                if batch is not None and name is None and size < _BATCH_BLOB:
                    batch.add(oid, data)
                else:
                    _scan_blob(detector, oid, data, name, res)
                if on_finding is not None and res.found:
                    on_finding()
                    on_finding = None
                if tick is not None and res.blobs % 256 == 0:
                    tick(res.blobs, res.bytes)
        finally:
            reader.close()
    if batch is not None:
        batch.flush()
    return res


# Small blobs are prefiltered together: one Hyperscan call per ~1 MB instead of one per blob (the fixed
# cost of a call dominates for small blobs); only blobs with a prefilter hit are scanned on their own.
_BATCH_BLOB = 64 * 1024
_BATCH_BYTES = 1024 * 1024
_SEP = b"\n\0\n"
_MAX_ENDS = 64  # an engine may stop recording a rule's hits past this many: then scan every blob
_BATCHABLE: dict[int, bool] = {}
_OK_ANCHOR = re.compile(r"\(\?:[\^$]\||\|[\^$]\)")


def _anchors(regex: str) -> list[int]:
    """Offsets of ^ $ \\A \\Z \\z outside character classes."""
    out, i = [], 0
    while i < len(regex):
        c = regex[i]
        if c == "\\":
            if regex[i + 1 : i + 2] in ("A", "Z", "z"):
                out.append(-1)
            i += 2
            continue
        if c == "[":
            i = class_end(regex, i)
            continue
        if c in "^$":
            out.append(i)
        i += 1
    return out


def _batchable(detector: Detector) -> bool:
    """Concatenating blobs (joined by newline, NUL, newline) keeps every prefilter hit of every blob only
    if no rule anchors on the buffer's start or end: `^`/`$` are allowed in multiline rules and as an
    alternative next to another branch (`(?:^|[\\s...])`), which the newlines of the separator satisfy."""
    key = id(detector)
    if key not in _BATCHABLE:
        ok = True
        for rule in detector.prefilter.rules:
            if rule is None:
                continue
            flags = re.match(r"\(\?([a-zA-Z]+)\)", rule.regex)
            multiline = bool(flags and "m" in flags.group(1))
            for pos in _anchors(rule.regex):
                if pos < 0 or not ((multiline and rule.regex[pos] == "^") or _OK_ANCHOR.search(
                        rule.regex[max(0, pos - 3) : pos + 2])):
                    ok = False
        _BATCHABLE[key] = ok
    return _BATCHABLE[key]


class _Batch:
    def __init__(self, detector: Detector, res: SliceResult) -> None:
        self.detector, self.res = detector, res
        self.items: list[tuple[str, bytes]] = []
        self.size = 0

    def add(self, oid: str, data: bytes) -> None:
        if looks_binary(data):
            self.res.skipped.add("binary", f"blob {oid[:12]}")
            return
        self.res.blobs += 1
        self.res.bytes += len(data)
        self.items.append((oid, data))
        self.size += len(data) + len(_SEP)
        if self.size >= _BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        items, self.items, self.size = self.items, [], 0
        if not items:
            return
        starts, pos = [], 0
        for _, data in items:
            starts.append(pos)
            pos += len(data) + len(_SEP)
        marked: set[int] = set()
        for ends in self.detector.prefilter.hits(_SEP.join(d for _, d in items)).values():
            if not ends or len(ends) > _MAX_ENDS:  # no position (keyword/always rules) or capped list
                marked = set(range(len(items)))
                break
            marked.update(bisect_right(starts, end - 1) - 1 for end in ends)
        for k in sorted(marked):
            oid, data = items[k]
            for m in self.detector.scan(data, None):
                self.res.found.append((oid, finding_from_match(m, Location(source="git", path=None,
                                                                          line=m.line))))


def _scan_blob(detector: Detector, oid: str, data: bytes, name: bytes | None, res: SliceResult) -> None:
    path = show_path(name) if name is not None else None
    if looks_binary(data) and not (path and detector.path_rules_for(path)):  # no 8 KB slice, no `in`
        res.skipped.add("binary", path or f"blob {oid[:12]}")
        return
    res.blobs += 1
    res.bytes += len(data)
    for m in detector.scan(data, path):
        res.found.append((oid, finding_from_match(m, Location(source="git", path=path, line=m.line))))


def _scan_bounds(shared: tuple[Repo, Blobs, Detector], bounds: tuple[int, int]) -> SliceResult:
    repo, blobs, detector = shared
    return scan_slice(repo, blobs, bounds[0], bounds[1], detector)


def content_pass(repo: Repo, blobs: Blobs, detector: Detector, jobs: int,
                 progress: Progress | None = None, on_finding: Callable[[], None] | None = None) -> SliceResult:
    """Scan every listed blob once; `on_finding()` is called as soon as the first finding is known."""
    total = SliceResult()
    total_bytes = sum(blobs.sizes)

    def merge(res: SliceResult) -> None:
        if res.found and on_finding is not None:
            on_finding()
        total.found.extend(res.found)
        total.blobs += res.blobs
        total.bytes += res.bytes
        total.skipped.merge(res.skipped)
        total.warnings.extend(res.warnings)

    def report(blobs_done: int, bytes_done: int) -> None:
        if progress is not None:
            secrets = len({(f.rule_id, f.secret_sha256) for _, f in total.found})
            progress(blobs_done, bytes_done, total_bytes, f"git history: {blobs_done} blobs, {secrets} secrets")

    if not len(blobs):
        return total
    if not workers.worth_a_pool(jobs, total_bytes):  # one reader in this process
        merge(scan_slice(repo, blobs, 0, len(blobs), detector,
                         tick=report if progress else None, on_finding=on_finding))
        report(total.blobs, total.bytes)
        return total
    parts = workers.slices(blobs.sizes, jobs * _SLICES_PER_JOB)
    for res in workers.fan_out(_scan_bounds, (repo, blobs, detector), parts, jobs):
        merge(res)
        report(total.blobs, total.bytes)
    return total


# -- path-gated rules -----------------------------------------------------------------------------------
_TABLE_PATH = re.compile("(?:" + "|".join(re.escape(s) for s in TABLE_SUFFIXES) + ")$")


def _named_blobs(repo: Repo, named: dict[str, bytes], max_size: int) -> Blobs:
    """The blobs among `named` (oid -> path) that exist and fit the size cap, ready for `scan_slice`."""
    query = "".join(f"{o}\n" for o in named).encode()
    oids, sizes = bytearray(), array("Q")
    for oid, typ, size in _check_batch(repo, query):
        if typ == "blob" and 0 < size <= max_size:
            oids.extend(oid.encode() + b"\n")
            sizes.append(size)
    return Blobs(bytes(oids), sizes, repo.oid_len + 1, dict(named))


def path_rule_pass(repo: Repo, detector: Detector, candidates: dict[str, bytes], max_size: int) -> SliceResult:
    """Scan credential-file candidates as the file scan would: with their path, every rule resolved together.

    Their findings replace the path-less content-pass findings of the same blob at that path."""
    if not candidates:
        return SliceResult()
    blobs = _named_blobs(repo, candidates, max_size)
    res = scan_slice(repo, blobs, 0, len(blobs), detector)
    res.blobs = res.bytes = 0  # already counted by the content pass
    return res


# -- attribution ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Intro:
    order: int  # position in oldest-first topological order
    commit: str
    author: str
    email: str
    date: str


class IntroWalk:
    """The commits that add blobs, from one `git log --raw` over the scanned refs.

    Started only once there is a finding (`start()`, called by the content pass as soon as the first
    one appears, so the walk overlaps the rest of the content pass); a scan without findings never
    starts it. The walk's output (commit ids, names, dates, paths, blob ids: no content) goes to an
    anonymous 0600 temp file and is searched for the blobs that have findings.
    """

    def __init__(self, repo: Repo, refs: Sequence[str], since: str | None) -> None:
        self.repo, self.refs, self.since = repo, list(refs), since
        self.proc: subprocess.Popen | None = None
        self.out = None
        self.failed = False

    def start(self) -> None:
        if self.proc is not None or not self.refs:
            return
        self.out = tempfile.TemporaryFile(prefix="secretkeeper-log-")
        args = ["log", "--raw", "-z", "--no-abbrev", "--no-renames", "-m", "--topo-order", "--reverse",
                "--format=%x01%H%x00%an%x00%ae%x00%aI", "--stdin"]
        self.proc = subprocess.Popen(self.repo.cmd(*args), stdin=subprocess.PIPE, stdout=self.out,
                                     stderr=subprocess.DEVNULL, env=_env())
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(_rev_list_args(self.refs, self.since))
            self.proc.stdin.close()
        except OSError:
            pass

    def introductions(self, wanted: set[str], warnings: list[str]) -> dict[str, list[tuple[bytes, Intro]]]:
        """For each wanted blob: (path, commit) pairs where a commit adds it, oldest first."""
        if not wanted or not self.refs:
            return {}
        self.start()
        assert self.proc is not None and self.out is not None
        if self.proc.wait() != 0 and not self.failed:
            self.failed = True
            warnings.append("git log failed during attribution (corrupt repository?); some findings may "
                            "lack a commit")
        self.out.seek(0, os.SEEK_END)
        if not self.out.tell():
            return {}
        with mmap.mmap(self.out.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _parse_intros(data, wanted)

    def named(self, patterns: list[re.Pattern[str]], warnings: list[str]) -> dict[str, bytes]:
        """Blobs added at a path that matches one of `patterns` (first such path per blob)."""
        if not self.refs:
            return {}
        self.start()
        assert self.proc is not None and self.out is not None
        if self.proc.wait() != 0:
            warnings.append("git log failed part-way (corrupt repository?); credential files may be missed")
            self.failed = True
        self.out.seek(0, os.SEEK_END)
        if not self.out.tell():
            return {}
        verdicts: dict[bytes, bool] = {}
        out: dict[str, bytes] = {}
        with mmap.mmap(self.out.fileno(), 0, access=mmap.ACCESS_READ) as data:
            for m in _RAW_ENTRY.finditer(data):
                path = m.group(3)
                hit = verdicts.get(path)
                if hit is None:
                    shown = show_path(path)
                    hit = verdicts[path] = any(p.search(shown) for p in patterns)
                if hit and m.group(1) != b"160000":
                    out.setdefault(m.group(2).decode(), path)
        return out

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.out is not None:
            self.out.close()


def _new_oid_hits(data: mmap.mmap | bytes, wanted: set[str]) -> Iterator[tuple[int, str]]:
    """Offsets of wanted blob ids in the *new* column of raw diff records (`<old> <new> <status>\0`)."""
    if len(wanted) <= 16:
        for oid in wanted:
            needle = f" {oid} ".encode()
            pos = data.find(needle)
            while pos >= 0:
                yield pos + 1, oid
                pos = data.find(needle, pos + 1)
        return
    for m in _RAW_NEW.finditer(data):
        oid = m.group(1).decode()
        if oid in wanted:
            yield m.start(1), oid


_ADDED = re.compile(rb"[AMTCRUX]\d*")
# A raw record that adds or changes a file: new mode, new blob id, path (-z output).
_RAW_ENTRY = re.compile(rb":\d{6} (\d{6}) [0-9a-f]{40,64} ([0-9a-f]{40,64}) [AMTCRUX]\d*\x00([^\x00]*)\x00")
_RAW_NEW = re.compile(rb"[0-9a-f]{40,64} ([0-9a-f]{40,64}) [A-Z]\d*\x00")


def _parse_intros(data: mmap.mmap | bytes, wanted: set[str]) -> dict[str, list[tuple[bytes, Intro]]]:
    out: dict[str, list[tuple[bytes, Intro]]] = {}
    headers: dict[int, Intro] = {}
    for pos, oid in _new_oid_hits(data, wanted):
        end = pos + len(oid)
        status_end = data.find(b"\0", end)
        status = bytes(data[end + 1 : status_end])
        if not _ADDED.fullmatch(status):
            continue  # the old column, or a deletion
        line_start = data.rfind(b":", 0, pos)
        mode = bytes(data[line_start + 8 : line_start + 14])
        if mode == b"160000":
            continue
        path_end = data.find(b"\0", status_end + 1)
        path = bytes(data[status_end + 1 : path_end])
        h = data.rfind(b"\x01", 0, pos)
        intro = headers.get(h)
        if intro is None:
            fields = bytes(data[h + 1 : data.find(b"\0\n", h) if data.find(b"\0\n", h) > 0 else pos])
            parts = fields.split(b"\0")
            if len(parts) < 4:
                continue
            intro = headers[h] = Intro(h, parts[0].decode(), parts[1].decode("utf-8", "replace"),
                                       parts[2].decode("utf-8", "replace"), parts[3].decode())
        out.setdefault(oid, []).append((path, intro))
    for pairs in out.values():
        pairs.sort(key=lambda pi: pi[1].order)
    return out


def head_tree(repo: Repo) -> dict[bytes, str]:
    proc = _run(repo.cmd("ls-tree", "-r", "-z", "--full-tree", "HEAD"), check=False)
    tree: dict[bytes, str] = {}
    if proc.returncode != 0:
        return tree
    for rec in proc.stdout.split(b"\0"):
        meta, tab, path = rec.partition(b"\t")
        parts = meta.split()
        if tab and len(parts) == 3 and parts[1] == b"blob":
            tree[path] = parts[2].decode()
    return tree


# -- the whole history scan ----------------------------------------------------------------------------
@dataclass
class HistoryResult:
    findings: list[Finding]
    blobs: int
    bytes: int
    commits: int
    skipped: SkipLog
    warnings: list[str]


def count_commits(repo: Repo, refs: Sequence[str], since: str | None) -> int:
    if not refs:
        return 0
    proc = subprocess.run(repo.cmd("rev-list", "--count", "--stdin"), input=_rev_list_args(refs, since),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_env(), check=False)
    try:
        return int(proc.stdout.strip() or 0)
    except ValueError:
        return 0


def scan_history(repo: Repo, detector: Detector, sel: HistoryOptions, *, max_size: int, jobs: int,
                 progress: Progress | None = None, prefix: str = "",
                 excluded: Excluded | None = None) -> HistoryResult:
    """Scan the selected history of `repo`; `excluded(path, rule_id)` drops findings the working-tree
    scan would not report either (config excludes, allowlisted paths)."""
    skips = SkipLog()
    warnings: list[str] = []
    if repo.shallow and not sel.staged:
        warnings.append("shallow clone: commits before the shallow boundary are not scanned "
                        "(git fetch --unshallow for the full history)")
    since = verify_since(repo, sel.since) if sel.since else None
    refs = [] if sel.staged else scan_refs(repo, sel)
    blobs = list_blobs(repo, sel, refs, max_size, skips, warnings)
    walk = IntroWalk(repo, refs, since)
    # Path-gated rules need names: with --all-refs the blob listing has none, so the attribution walk
    # (which names every blob a commit adds) starts now and also yields the credential-file candidates.
    names_from_walk = bool(detector.path_rules) and not sel.staged and not (sel.since or sel.branches)
    if names_from_walk:
        walk.start()
    try:
        return _scan_listed(repo, detector, sel, blobs, walk, names_from_walk, refs, since, skips, warnings,
                            max_size=max_size, jobs=jobs, progress=progress, prefix=prefix, excluded=excluded)
    finally:
        walk.close()


def _scan_listed(repo: Repo, detector: Detector, sel: HistoryOptions, blobs: Blobs, walk: IntroWalk,
                 names_from_walk: bool, refs: Sequence[str], since: str | None, skips: SkipLog,
                 warnings: list[str], *, max_size: int, jobs: int, progress: Progress | None, prefix: str,
                 excluded: Excluded | None) -> HistoryResult:
    res = content_pass(repo, blobs, detector, jobs, progress, on_finding=None if sel.staged else walk.start)
    rescanned: set[tuple[str, str]] = set()
    if names_from_walk:
        # Credential files, and tables (CSV, SQL INSERTs: their cells are read under their column names)
        patterns = [r.path_pattern for r in detector.path_rules] + [_TABLE_PATH]
        named = walk.named(patterns, warnings)
        gated = path_rule_pass(repo, detector, named, max_size)
        rescanned = {(oid, show_path(raw)) for oid, raw in named.items()}
        res.found.extend(gated.found)
        res.skipped.merge(gated.skipped)
    skips.merge(res.skipped)
    warnings.extend(res.warnings)
    commits = 0 if sel.staged else count_commits(repo, refs, since)
    if sel.staged:
        findings = _staged_findings(res.found, blobs, prefix, excluded)
    else:
        findings = _attribute(repo, res.found, walk, detector, max_size, warnings, prefix, excluded, rescanned)
    return HistoryResult(findings, res.blobs, res.bytes, commits, skips, warnings)


def _located(f: Finding, path: str, prefix: str, **loc: object) -> Finding:
    shown = f"{prefix}/{path}" if prefix else path
    return replace(f, location=Location(source="git", path=shown, line=f.location.line, **loc),  # type: ignore[arg-type]
                   fingerprint=fingerprint(f.rule_id, shown, f.secret_sha256))


def _staged_findings(found: list[tuple[str, Finding]], blobs: Blobs, prefix: str,
                     excluded: Excluded | None) -> list[Finding]:
    out = []
    for oid, f in found:
        path = show_path(blobs.names.get(oid, b""))
        if excluded is not None and excluded(path, f.rule_id):
            continue
        g = _located(f, path, prefix)
        out.append(replace(g, remediation=f"{f.remediation} {STAGED_ADVICE}".strip(),
                           extra={**g.extra, "staged": True, "in_head": False, "blob": oid}))
    return out


def _attribute(repo: Repo, found: list[tuple[str, Finding]], walk: IntroWalk,
               detector: Detector, max_size: int, warnings: list[str], prefix: str,
               excluded: Excluded | None, rescanned: set[tuple[str, str]] = frozenset()) -> list[Finding]:  # type: ignore[assignment]
    if not found:
        return []
    wanted = {oid for oid, _ in found}
    intros = walk.introductions(wanted, warnings)
    best: dict[tuple[str, str, str | None], tuple[Intro, Finding, str]] = {}
    gated = _gated_ids(detector)
    for oid, f in found:
        for raw_path, intro in intros.get(oid, ()):
            path = show_path(raw_path)
            if f.rule_id in gated and f.location.path != path:
                continue  # a path-gated match holds only at the path it was scanned as
            if (oid, path) in rescanned and f.location.path != path:
                continue  # this blob at this path was scanned with its name: those findings stand
            if excluded is not None and excluded(path, f.rule_id):
                continue
            key = (f.rule_id, path, f.secret_sha256)
            have = best.get(key)
            if have is None or intro.order < have[0].order:
                best[key] = (intro, f, oid)
    unreachable = len({oid for oid, _ in found} - set(intros))
    if unreachable:
        warnings.append(f"{unreachable} blob(s) with findings are not added by any scanned ref "
                        "(unreachable objects, or refs/stash without --stash): not reported")
    head = head_tree(repo) if best else {}
    head_hits = _head_matches(repo, detector, head, {k[1] for k in best}, found, max_size)
    out = []
    for (rule_id, path, digest), (intro, f, oid) in best.items():
        in_head = (rule_id, digest) in head_hits.get(path, set())
        advice = IN_HEAD_ADVICE if in_head else HISTORY_ADVICE
        g = _located(f, path, prefix, commit=intro.commit, author=intro.author, email=intro.email,
                     date=intro.date)
        out.append(replace(g, message=f"{f.message} ({'still in HEAD' if in_head else 'only in history'})",
                           remediation=f"{f.remediation} {advice}".strip(),  # the rule's own steps first
                           extra={**g.extra, "in_head": in_head, "blob": oid}))
    return out


def _gated_ids(detector: Detector) -> set[str]:
    return {r.id for r in detector.path_rules}


def _head_matches(repo: Repo, detector: Detector, head: dict[bytes, str], paths: set[str],
                  found: list[tuple[str, Finding]], max_size: int) -> dict[str, set[tuple[str, str | None]]]:
    """(rule, secret hash) pairs present at each finding path in HEAD."""
    by_blob: dict[str, set[tuple[str, str | None]]] = {}
    for oid, f in found:
        by_blob.setdefault(oid, set()).add((f.rule_id, f.secret_sha256))
    shown = {show_path(p): (p, oid) for p, oid in head.items()}
    out: dict[str, set[tuple[str, str | None]]] = {}
    unscanned: dict[str, bytes] = {}
    for path in paths:
        entry = shown.get(path)
        if entry is None:
            continue
        raw, oid = entry
        if oid in by_blob:
            out[path] = set(by_blob[oid])
        else:
            unscanned[oid] = raw
    if unscanned:
        # --since/--branch may not have read the HEAD version of a path: read just those.
        res = path_rule_pass_all(repo, detector, unscanned, max_size)
        for oid, f in res.found:
            out.setdefault(show_path(unscanned[oid]), set()).add((f.rule_id, f.secret_sha256))
    # Path-gated matches were scanned with their path and keyed by blob too.
    return out


def path_rule_pass_all(repo: Repo, detector: Detector, named: dict[str, bytes], max_size: int) -> SliceResult:
    blobs = _named_blobs(repo, named, max_size)
    return scan_slice(repo, blobs, 0, len(blobs), detector)


def merge_with_worktree(file_findings: Iterable[Finding], history: Iterable[Finding]) -> list[Finding]:
    """One finding per (rule, path, secret): a history finding still in HEAD replaces the working-tree one."""
    history = list(history)
    covered = {(f.rule_id, f.location.path, f.secret_sha256) for f in history if f.extra.get("in_head")}
    if not covered:  # no history scanned (or nothing of it in HEAD): every working-tree finding stays
        return [*file_findings, *history]
    kept = [f for f in file_findings
            if (f.rule_id, normalise_path(f.location.path or ""), f.secret_sha256) not in covered]
    return kept + history


# -- pipeline glue (called by secretkeeper.pipeline.run_scan) ------------------------------------------
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
