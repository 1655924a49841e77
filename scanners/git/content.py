"""The content pass: every selected blob read once and scanned with no name, or with the one it was listed
under; then the path-gated rescans.

The blob list is cut into contiguous slices of about equal bytes (pack order kept inside each: delta bases
stay hot in git's cache); each slice has its own `git cat-file --batch` reader, in this process or in a
forked worker (secretkeeper/workers.py). Blobs go through secretkeeper/blobscan.py like files do; only
Hits travel back (a hash and a redacted preview, never the secret). A corrupt or missing object is a
warning and a counted skip, and the reader restarts after it.

Path-gated rules (credential files recognised by name) need a path: the blobs whose name matches one are
scanned again with that name, as the file scan would scan them.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from typing import NamedTuple

from scanners.files import looks_binary
from secretkeeper.filters import is_weak
from scanners.git.repo import Repo, show_path, start_git, stop_git
from scanners.git.selection import Blobs, named_blobs
from secretkeeper import workers
from secretkeeper.blobscan import MARKER_MANIFEST, leaks_out_of_place, may_store_encoded, scan_blob
from secretkeeper.engine import Detector, Match, PrefilterBatch
from secretkeeper.findings import Finding, redact
from secretkeeper.results import SkipLog
from secretkeeper.tabular import TABLE_SUFFIXES

# Slices per worker: enough to balance load and report progress, few enough that reader start-up is noise.
_SLICES_PER_JOB = 8

Progress = Callable[..., None]


class Hit(NamedTuple):
    """A match in a blob, without its secret: what the content pass keeps and workers send back. Where
    in history the blob is (commits, paths) is known only after attribution, which builds the Finding."""

    oid: str
    rule_id: str
    line: int
    secret_sha256: str
    preview: str  # redacted
    path: str | None  # the name the blob was scanned as, if any: path-gated rules hold only there
    weak: bool = False  # a value fixtures are made of (filters.is_weak), committed where it is real
    end_line: int | None = None  # the last line of a secret that spans lines

    @classmethod
    def of(cls, oid: str, match: Match, path: str | None) -> Hit:
        spans = match.secret.count(b"\n", 0, len(match.secret.rstrip()))
        return cls(oid, match.rule.id, match.line, match.secret_sha256, redact(match.secret), path,
                   is_weak(match.secret), match.line + spans if spans else None)


class _InHistory:
    """A history blob, for scan_blob: its matches are kept as Hits, and the checks that need a whole file
    in place (hygiene of manifests, certificates) do not apply."""

    __slots__ = ("oid",)
    whole_file = False

    def __init__(self, oid: str) -> None:
        self.oid = oid

    def skipped_as(self, path: str | None) -> str:
        return path or f"blob {self.oid[:12]}"

    def found(self, match: Match, path: str | None) -> Hit:
        return Hit.of(self.oid, match, path)

    def adopt(self, finding: Finding) -> Hit:
        """A leak in a decoded Secret value (blobscan.scan_blob): at its key's line, as a Hit."""
        where = finding.location
        return Hit(self.oid, finding.rule_id, where.line or 1, finding.secret_sha256 or "", finding.preview,
                   where.path, bool(finding.extra.get("weak")), where.end_line)


@dataclass
class SliceResult:
    """What one reader, or the whole pass, found and counted."""

    found: list[Hit] = field(default_factory=list)
    blobs: int = 0
    bytes: int = 0
    skipped: SkipLog = field(default_factory=SkipLog)
    warnings: list[str] = field(default_factory=list)
    gated: list[str] = field(default_factory=list)  # with `gate`: the named blobs actually rescanned


class _Reader:
    """One `git cat-file --batch` fed a slice of blob ids by a writer thread.

    A pipe, not libgit2 in process (pygit2): read into Python in pack order, every blob of git.git took
    17.9 s through the pipe and 36.9 s with pygit2 1.21's `odb.read` (libgit2 rebuilds delta chains with a
    smaller base cache); on 1M small blobs the two tie on wall time (6.2 vs 6.3 s). `benchmarks/inflate.py`,
    rows of `make bench BENCH=git`."""

    def __init__(self, repo: Repo, payload: bytes) -> None:
        self.proc = start_git(repo.cmd("cat-file", "--batch"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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
            stop_git(self.proc)
            self.writer.join(timeout=5)


def scan_slice(repo: Repo, blobs: Blobs, lo: int, hi: int, detector: Detector,
               tick: Callable[[int, int], None] | None = None,
               on_finding: Callable[[], None] | None = None, gate: bool = False) -> SliceResult:
    """Scan blobs [lo, hi) with one reader; a dead reader (corrupt object) is restarted past the culprit.

    With `gate`, a named blob is scanned with its name only if it is a table, looks binary (a keystore),
    or a path rule for its name matches somewhere in it (`res.gated` lists those); else as unnamed."""
    res = SliceResult()
    width = blobs.width
    batch: PrefilterBatch[str] = PrefilterBatch(
        detector, lambda oid, data, matches: res.found.extend(
            leaks_out_of_place(detector, data, None, _InHistory(oid), matches)), also=may_store_encoded,
        also_marker=MARKER_MANIFEST)
    i = lo
    while i < hi:
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
                if gate and name is not None and not _could_match(detector, show_path(name), data):
                    name = None
                if name is None and size < _BATCH_BLOB:
                    if looks_binary(data):
                        res.skipped.add("binary", f"blob {oid[:12]}")
                    else:
                        res.blobs += 1
                        res.bytes += len(data)
                        batch.add(oid, data)
                else:
                    _scan_blob(detector, oid, data, name, res)
                    if gate and name is not None:
                        res.gated.append(oid)
                if on_finding is not None and res.found:
                    on_finding()
                    on_finding = None
                if tick is not None and res.blobs % 256 == 0:
                    tick(res.blobs, res.bytes)
        finally:
            reader.close()
    batch.flush()
    return res


# Small blobs are prefiltered together (secretkeeper.engine.batch): one Hyperscan call per ~1 MB instead
# of one per blob; only blobs with a prefilter hit are scanned on their own.
_BATCH_BLOB = 64 * 1024


def _scan_blob(detector: Detector, oid: str, data: bytes, name: bytes | None, res: SliceResult) -> None:
    path = show_path(name) if name is not None else None
    hits = scan_blob(detector, data, path, _InHistory(oid), res)
    if hits is not None:
        res.blobs += 1
        res.bytes += len(data)
        res.found.extend(hits)


def _scan_bounds(shared: tuple[Repo, Blobs, Detector, bool], bounds: tuple[int, int]) -> SliceResult:
    repo, blobs, detector, gate = shared
    return scan_slice(repo, blobs, bounds[0], bounds[1], detector, gate=gate)


def content_pass(repo: Repo, blobs: Blobs, detector: Detector, jobs: int,
                 progress: Progress | None = None, on_finding: Callable[[], None] | None = None,
                 gate: bool = False) -> SliceResult:
    """Scan every listed blob once; `on_finding()` is called as soon as the first finding is known.
    `gate`: named blobs are scanned with their name only where that can matter (scan_slice)."""
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
        total.gated.extend(res.gated)

    def report(blobs_done: int, bytes_done: int) -> None:
        if progress is not None:
            secrets = len({(h.rule_id, h.secret_sha256) for h in total.found})
            progress(blobs_done, bytes_done, total_bytes, f"git history: {blobs_done} blobs, {secrets} secrets")

    if not len(blobs):
        return total
    if not workers.worth_a_pool(jobs, total_bytes):  # one reader in this process
        merge(scan_slice(repo, blobs, 0, len(blobs), detector,
                         tick=report if progress else None, on_finding=on_finding, gate=gate))
        report(total.blobs, total.bytes)
        return total
    parts = workers.slices(blobs.sizes, jobs * _SLICES_PER_JOB)
    with closing(workers.fan_out(_scan_bounds, (repo, blobs, detector, gate), parts, jobs)) as done:
        for res in done:  # closed however the loop ends: an interruption in it stops the workers too
            merge(res)
            report(total.blobs, total.bytes)
    return total


# -- path-gated rules -----------------------------------------------------------------------------------
# Tables (CSV, SQL INSERTs) are rescanned with their names too: their cells are read under their columns.
TABLE_PATH = re.compile("(?:" + "|".join(re.escape(s) for s in TABLE_SUFFIXES) + ")$")


def _could_match(detector: Detector, path: str, data: bytes) -> bool:
    """Whether scanning `data` with its name can differ from the path-less scan (the gate): a table, a
    binary blob (a keystore), or a path rule for `path` that matches somewhere (on git.git the C-source
    rule names 120,000 blobs; its regex, which starts with `#`, rules out nearly all of them at once)."""
    if path.endswith(TABLE_SUFFIXES) or looks_binary(data):
        return True
    # A rule's prefilter, where it has one, is a cheaper necessary condition of a match.
    return any((rule.prefilter_pattern or rule.pattern).search(data) for rule in detector.path_rules_for(path))


def path_rule_pass_all(repo: Repo, detector: Detector, named: dict[str, bytes], max_size: int) -> SliceResult:
    """The blobs among `named` (oid -> path), each scanned with its name."""
    blobs = named_blobs(repo, named, max_size)
    return scan_slice(repo, blobs, 0, len(blobs), detector)
