"""Attribution: where in history the blobs with findings are, applied once as each Finding is built.

Only blobs with findings are mapped to commits: `git log --raw` over the scanned refs (no content;
streamed, searched for those blobs in bounded windows) lists the commits that add each of them at any
path, oldest first: commits that are not merges first, then, for blobs still unattributed, merge
resolutions (`-c`: only what a merge changed against every parent); renames are seen as add + delete.
Each (rule, path, secret) is reported once, at its earliest introducing commit, with the line in
that version. `git ls-tree -r HEAD` then tells whether the secret is still at that path in HEAD ("rotate
it and remove it") or only in history ("rotate it; rewriting history is optional"). A full-history scan
with path-gated rules runs the walks up front, spooled, because they also name the blobs (names.py); any
other scan runs them only when there are findings.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from scanners.git.content import Hit, path_rule_pass_all
from scanners.git.names import RawNames
from scanners.git.repo import Repo, rev_list_args, run_git, show_path, start_git, stop_git
from scanners.git.selection import Blobs
from secretkeeper.engine import Detector
from secretkeeper.engine.hsdatabase import hyperscan
from secretkeeper.filters import path_context
from secretkeeper.findings import Finding, Location, leak_finding
from secretkeeper.rules import Rule

IN_HEAD_ADVICE = "Still in HEAD: rotate it and remove it."
HISTORY_ADVICE = "Only in history: rotate it; rewriting history is optional."
STAGED_ADVICE = "Staged for commit: remove it from the change and rotate it."

Excluded = Callable[[str, str], bool]  # (path, rule id) -> not reported there


@dataclass(frozen=True)
class Intro:
    order: int  # lower: older (from the position in topological order)
    commit: str
    author: str
    email: str
    date: str


class IntroWalk:
    """The commits that add the blobs with findings, from `git log --raw` over the scanned refs.

    Two walks, each read in bounded windows and searched for the wanted blob ids only (nothing per
    commit is kept): the commits that are not merges (ordinary tree diffs, cheap), and the merges with
    `-c` (combined diff: a path is listed only where the merge differs from every parent, i.e. a merge
    resolution that wrote new content), read only for blobs the first leaves unattributed. A blob a
    merge only carries over from one side was added by a commit on that side. Measured on git.git
    (203k commits, 56k merges): `-m` (each merge against each parent) ~70 s; no-merge walk ~10 CPU s,
    `-c` merge walk ~8 CPU s. A path-limited walk (`-- PATHS`) was measured too and was slower there
    (60 CPU s for 50 paths: pathspec matching on every commit), and it cannot see the other paths a
    blob is copied or renamed to. For the same reason a walk cannot stop once every blob has a commit:
    a later copy or rename is a new (path, secret). `--topo-order` (~2 of the ~10 CPU s on git.git) is
    what makes "earliest" hold across branches.

    Two ways to run: `prefetch` (a full-history scan with path-gated rules, which needs blob names
    before its content pass: names.py) starts both walks at once, each spooled to an unlinked temp file
    while it names the blobs, and attribution then reads the spools; otherwise (`--since`, `--branch`,
    no path rules) the walks run after the content pass and only if there are findings, so a
    repository without findings pays nothing.
    """

    def __init__(self, repo: Repo, refs: Sequence[str], since: str | None) -> None:
        self.repo, self.refs, self.since = repo, list(refs), since
        self.failed = False
        self.started = False
        self._spools: list[_Spool] = []

    def start(self) -> None:
        self.started = True

    def prefetch(self, keep: Callable[[str], bool]) -> None:
        """Start both walks now, spooled, naming the blobs whose path `keep` accepts (see `named`)."""
        if self._spools or not self.refs:
            return
        self.start()
        lock = threading.Lock()

        def one_at_a_time(path: str) -> bool:  # the walks' threads share `keep` (a Hyperscan scratch, for one)
            with lock:
                return keep(path)

        for which in _WALKS:
            spool = _Spool(self._args(which), rev_list_args(self.refs, self.since),
                           RawNames(one_at_a_time, self.repo.oid_len))
            self._spools.append(spool)
            spool.start()

    def named(self, warnings: list[str]) -> tuple[dict[str, bytes], int | None]:
        """After `prefetch`: (blob id -> path of each named blob, commits walked or None if a walk
        failed); waits for the walks to end."""
        found: dict[str, bytes] = {}
        commits: int | None = 0
        for spool in reversed(self._spools):  # the no-merge walk's names win
            spool.join()
            if spool.failed:
                commits = None
            elif commits is not None:
                commits += spool.names.commits
            found.update(spool.names.found)
        if commits is None:
            warnings.append("git log failed part-way (corrupt repository?); credential files may be missed")
        return found, commits

    def introductions(self, wanted: set[str], warnings: list[str]) -> dict[str, list[tuple[bytes, Intro]]]:
        """For each wanted blob: (path, commit) pairs where a commit adds it, oldest first (commits that
        are not merges before merges)."""
        if not wanted or not self.refs:
            return {}
        self.start()
        out: dict[str, list[tuple[bytes, Intro]]] = {}
        left = set(wanted)
        for i, which in enumerate(_WALKS):
            if not left:
                break
            base = i << 62  # merges after every ordinary commit
            spool = self._spools[i] if self._spools else None
            if spool is not None and spool.readable():
                found = _search(spool.windows(), left, base)
            else:
                found = self._walk(which, left, base, warnings)
            out.update(found)
            left -= set(found)
        for pairs in out.values():
            pairs.sort(key=lambda pi: pi[1].order)
        return out

    def _args(self, which: Sequence[str]) -> list[str]:
        return self.repo.walk_cmd("log", "--raw", "-z", "--no-abbrev", "--no-renames", *which, "--topo-order",
                                  "--format=%x01%H%x00%an%x00%ae%x00%aI", "--stdin")

    def _walk(self, which: Sequence[str], wanted: set[str], base: int,
              warnings: list[str]) -> dict[str, list[tuple[bytes, Intro]]]:
        # Newest first (no --reverse: git would hold the whole output to reverse it); an Intro's order is
        # `base` less its offset in the output, so older commits still sort first.
        # Buffered: each read fills a whole window (a raw pipe hands back ~1 KB at a time: 58,000 reads
        # and windows on git.git instead of 16).
        proc = start_git(self._args(which), stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 16)
        try:
            assert proc.stdin is not None and proc.stdout is not None
            writer = threading.Thread(target=_feed, args=(proc.stdin, rev_list_args(self.refs, self.since)),
                                      daemon=True)
            writer.start()
            out = _search(_windows(proc.stdout), wanted, base)
            if proc.wait() != 0 and not self.failed:
                self.failed = True
                warnings.append("git log failed during attribution (corrupt repository?); some findings may "
                                "lack a commit")
        finally:
            stop_git(proc)
        return out

    def close(self) -> None:
        for spool in self._spools:
            spool.close()
        self._spools = []


# The no-merge walk, then merge resolutions.
_WALKS: tuple[tuple[str, ...], ...] = (("--no-merges",), ("--merges", "-c"))


def _search(windows: Iterable[tuple[int, bytes]], wanted: set[str],
            base: int) -> dict[str, list[tuple[bytes, Intro]]]:
    out: dict[str, list[tuple[bytes, Intro]]] = {}
    find = _oid_finder(wanted)
    for offset, window in windows:
        for oid, pairs in _parse_intros(window, find(window), base - offset).items():
            out.setdefault(oid, []).extend(pairs)
    return out


class _Spool:
    """One walk run to its end in a thread: its output copied to an unlinked temp file (0600; ids, paths,
    authors: no content) and named as it streams. The spool is read back by `windows`."""

    def __init__(self, cmd: list[str], stdin: bytes, names: RawNames) -> None:
        self.cmd, self.stdin, self.names = cmd, stdin, names
        self.failed = False
        self._file: Any = None
        self._proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    def start(self) -> None:
        try:
            self._file = tempfile.TemporaryFile(prefix="secretkeeper-log-")
        except OSError:  # no spool: the walk still names the blobs; attribution walks again
            self._file = None
        self._proc = start_git(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 16)
        assert self._proc.stdin is not None
        try:  # here, not in the thread: a worker forked later must not inherit an open stdin (no EOF);
            self._proc.stdin.write(self.stdin)  # git reads all of it before it writes anything
            self._proc.stdin.close()
        except OSError:
            pass
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        try:
            for _offset, window in _windows(proc.stdout):
                self._keep(window)
                self.names.feed(window)
            self._keep(b"")
        except Exception:  # a closed pipe, or a bug: a spool cut short is never read as a whole history
            self.failed = True
            if proc.poll() is None:
                proc.kill()  # not left blocked on a pipe no one reads
        if proc.wait() != 0 and not self._stopped:
            self.failed = True

    def _keep(self, window: bytes) -> None:
        if self._file is None:
            return
        try:
            if window:
                self._file.write(window)
            else:
                self._file.flush()
        except OSError:  # a full disk: attribution walks again instead
            self._file.close()
            self._file = None

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def readable(self) -> bool:
        self.join()
        return not self.failed and self._file is not None

    def windows(self) -> Iterator[tuple[int, bytes]]:
        self._file.seek(0)
        return _windows(self._file)

    def close(self) -> None:
        if self._proc is not None:
            self._stopped = True
            stop_git(self._proc)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._file is not None:
            self._file.close()


def _feed(stdin: Any, data: bytes) -> None:
    try:
        stdin.write(data)
        stdin.close()
    except OSError:
        pass


_WINDOW = 4 << 20


def _windows(stream: Any) -> Iterator[tuple[int, bytes]]:
    """The log output in windows of whole commits (each cut before a commit header, \x01), with the
    offset of each window in the whole output: memory stays bounded however long the history."""
    carry = b""
    offset = 0
    while True:
        chunk = stream.read(_WINDOW)
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\x01")
        if cut <= 0:
            carry = data
            continue
        yield offset, data[:cut]
        offset += cut
        carry = data[cut:]
    if carry:
        yield offset, carry


def _oid_finder(wanted: set[str]) -> Callable[[bytes], Iterator[tuple[int, str]]]:
    """A search for the wanted blob ids in the *new* column of raw diff records (`<old> <new> <status>\0`):
    yields (offset of the id, id). One Hyperscan pass over each window for the whole set (~0.1 s for
    git.git's 62 MB of raw log, where a regex over every record and a set lookup took ~3 s); without
    Hyperscan, `bytes.find` per id for a few ids, else that regex."""
    needles = {f" {oid} ".encode(): oid for oid in wanted}
    if hyperscan is not None and wanted:
        ordered = list(needles.items())
        db = hyperscan.Database()
        db.compile(expressions=[n for n, _ in ordered], ids=list(range(len(ordered))), elements=len(ordered),
                   flags=[0] * len(ordered))
        scratch = hyperscan.Scratch(db)

        def scan(data: bytes) -> Iterator[tuple[int, str]]:
            found: list[tuple[int, str]] = []

            def on_match(i: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
                needle, oid = ordered[i]
                found.append((end - len(needle) + 1, oid))

            db.scan(data, on_match, 0, None, scratch)
            return iter(found)
        return scan
    if len(wanted) <= 16:
        def find(data: bytes) -> Iterator[tuple[int, str]]:
            for needle, oid in needles.items():
                pos = data.find(needle)
                while pos >= 0:
                    yield pos + 1, oid
                    pos = data.find(needle, pos + 1)
        return find

    def match(data: bytes) -> Iterator[tuple[int, str]]:
        for m in _RAW_NEW.finditer(data):
            oid = m.group(1).decode()
            if oid in wanted:
                yield m.start(1), oid
    return match


_ADDED = re.compile(rb"[AMTCRUX]\d*|[AMTCRUX]{2,}")  # one letter per parent in a merge's combined diff
_RAW_NEW = re.compile(rb"[0-9a-f]{40,64} ([0-9a-f]{40,64}) [A-Z]+\d*\x00")


def _parse_intros(data: bytes, hits: Iterable[tuple[int, str]], top: int) -> dict[str, list[tuple[bytes, Intro]]]:
    """The (path, commit) pairs of the `hits` that add a blob; a commit's order is `top` less its offset
    (the log is newest first)."""
    out: dict[str, list[tuple[bytes, Intro]]] = {}
    headers: dict[int, Intro] = {}
    for pos, oid in hits:
        end = pos + len(oid)
        status_end = data.find(b"\0", end)
        status = bytes(data[end + 1 : status_end])
        if not _ADDED.fullmatch(status):
            continue  # the old column, or a deletion
        line_start = data.rfind(b":", 0, pos)
        # The new mode is the last one: `:old new` for a commit, `::p1 p2 ... new` for a merge (-c).
        parents = line_start - data.rfind(b"\0", 0, line_start)  # one colon per parent
        mode_at = line_start + 1 + 7 * parents
        if bytes(data[mode_at : mode_at + 6]) == b"160000":
            continue
        path_end = data.find(b"\0", status_end + 1)
        path = bytes(data[status_end + 1 : path_end])
        h = data.rfind(b"\x01", 0, pos)
        intro = headers.get(h)
        if intro is None:
            stop = data.find(b"\0\0", h, pos)
            fields = bytes(data[h + 1 : stop if stop > 0 else pos])
            parts = fields.split(b"\0")
            if len(parts) < 4:
                continue
            intro = headers[h] = Intro(top - h, parts[0].decode(), parts[1].decode("utf-8", "replace"),
                                       parts[2].decode("utf-8", "replace"), parts[3].decode())
        out.setdefault(oid, []).append((path, intro))
    for pairs in out.values():
        pairs.sort(key=lambda pi: pi[1].order)
    return out


def head_tree(repo: Repo) -> dict[bytes, str]:
    """Path -> blob id of every file in HEAD (empty without a HEAD)."""
    proc = run_git(repo.cmd("ls-tree", "-r", "-z", "--full-tree", "HEAD"), check=False)
    tree: dict[bytes, str] = {}
    if proc.returncode != 0:
        return tree
    for rec in proc.stdout.split(b"\0"):
        meta, tab, path = rec.partition(b"\t")
        parts = meta.split()
        if tab and len(parts) == 3 and parts[1] == b"blob":
            tree[path] = parts[2].decode()
    return tree


@dataclass(frozen=True)
class Provenance:
    """Where in history a hit is: the path as shown (under its root's prefix), the introducing commit
    (None: staged, not committed yet) and what the finding says about it. Applied once, as the Finding
    is built."""

    path: str
    intro: Intro | None
    note: str  # after the rule's description in the message
    advice: str  # after the rule's remediation
    extra: dict[str, Any]

    def finding(self, hit: Hit, rule: Rule) -> Finding:
        intro = self.intro
        if intro is None:
            loc = Location(source="git", path=self.path, line=hit.line, end_line=hit.end_line)
        else:
            loc = Location(source="git", path=self.path, line=hit.line, commit=intro.commit, author=intro.author,
                           email=intro.email, date=intro.date, end_line=hit.end_line)
        return leak_finding(rule, loc, hit.secret_sha256, hit.preview, note=self.note, advice=self.advice,
                            extra={**self.extra, "weak": True} if hit.weak else self.extra)


def _shown(prefix: str, path: str) -> str:
    return f"{prefix}/{path}" if prefix else path


def _rules_by_id(detector: Detector) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for rule in detector.rules:
        rules.setdefault(rule.id, rule)
    return rules


def staged(hits: list[Hit], blobs: Blobs, detector: Detector, prefix: str, excluded: Excluded) -> list[Finding]:
    """Findings in the index: at the path each blob is staged at, with no commit yet."""
    rules = _rules_by_id(detector)
    out = []
    for hit in hits:
        path = show_path(blobs.names.get(hit.oid, b""))
        if excluded(path, hit.rule_id):
            continue
        contexts = rules[hit.rule_id].contexts
        if contexts and path_context(path) not in contexts:
            continue
        place = Provenance(_shown(prefix, path), None, "", STAGED_ADVICE,
                           {"staged": True, "in_head": False, "blob": hit.oid})
        out.append(place.finding(hit, rules[hit.rule_id]))
    return out


def attribute(repo: Repo, hits: list[Hit], walk: IntroWalk, detector: Detector, max_size: int,
              warnings: list[str], prefix: str, excluded: Excluded,
              rescanned: set[tuple[str, str]]) -> list[Finding]:
    """Each (rule, path, secret) once, at its earliest introducing commit. `rescanned`: the (blob, path)
    pairs the path-gated pass scanned with their name; only its hits hold there."""
    if not hits:
        return []
    wanted = {h.oid for h in hits}
    intros = walk.introductions(wanted, warnings)
    best: dict[tuple[str, str, str | None], tuple[Intro, Hit]] = {}
    gated = {r.id for r in detector.path_rules}
    contextual = {r.id: r.contexts for r in detector.rules if r.contexts}
    for hit in hits:
        for raw_path, intro in intros.get(hit.oid, ()):
            path = show_path(raw_path)
            if hit.rule_id in gated and hit.path != path:
                continue  # a path-gated match holds only at the path it was scanned as
            if hit.rule_id in contextual and path_context(path) not in contextual[hit.rule_id]:
                continue  # a context-gated match (blobs are scanned without a name) holds in its contexts
            if (hit.oid, path) in rescanned and hit.path != path:
                continue  # this blob at this path was scanned with its name: those hits stand
            if excluded(path, hit.rule_id):
                continue
            key = (hit.rule_id, path, hit.secret_sha256)
            have = best.get(key)
            if have is None or intro.order < have[0].order:
                best[key] = (intro, hit)
    unreachable = len(wanted - set(intros))
    if unreachable:
        warnings.append(f"{unreachable} blob(s) with findings are not added by any scanned ref "
                        "(unreachable objects, or refs/stash without --stash): not reported")
    head = head_tree(repo) if best else {}
    head_hits = _head_matches(repo, detector, head, {k[1] for k in best}, hits, max_size)
    rules = _rules_by_id(detector)
    out = []
    for (rule_id, path, digest), (intro, hit) in best.items():
        in_head = (rule_id, digest) in head_hits.get(path, set())
        place = Provenance(_shown(prefix, path), intro, " (still in HEAD)" if in_head else " (only in history)",
                           IN_HEAD_ADVICE if in_head else HISTORY_ADVICE, {"in_head": in_head, "blob": hit.oid})
        out.append(place.finding(hit, rules[rule_id]))
    return out


def _head_matches(repo: Repo, detector: Detector, head: dict[bytes, str], paths: set[str],
                  hits: list[Hit], max_size: int) -> dict[str, set[tuple[str, str | None]]]:
    """(rule, secret hash) pairs present at each finding path in HEAD."""
    by_blob: dict[str, set[tuple[str, str | None]]] = {}
    for hit in hits:
        by_blob.setdefault(hit.oid, set()).add((hit.rule_id, hit.secret_sha256))
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
        for hit in res.found:
            out.setdefault(show_path(unscanned[hit.oid]), set()).add((hit.rule_id, hit.secret_sha256))
    # Path-gated matches were scanned with their path and keyed by blob too.
    return out
