"""Repository plumbing: finding a repository, running git with the scan's configuration, refs and revisions.

Every git process runs with a clean environment (no inherited GIT_DIR, no prompts, C locale, no
optional locks) and bounded pack windows. Paths are read with `-z` and shown as UTF-8, other bytes as
`\\xNN` escapes.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanners.options import HistoryOptions
from secretkeeper.children import starting
from secretkeeper.errors import SecretkeeperError

GIT = "git"
# Pack windows mapped into a git process count towards its resident memory: keep them bounded (the
# speed is the same; a 1,000,000-blob repository otherwise maps its whole pack in every reader).
# The scanned repository's config is untrusted: its fsmonitor hook would run when git refreshes the index.
_GIT_CONFIG = ("-c", "core.quotePath=off", "-c", "core.packedGitWindowSize=32m", "-c", "core.packedGitLimit=192m",
               "-c", "core.deltaBaseCacheLimit=64m", "-c", "core.fsmonitor=false")
# History walks (rev-list --objects, log --raw, rev-list --count) read commits and small delta-chained trees:
# smaller windows and delta base cache cost them no CPU (git.git: rev-list --objects 9.7 vs 11 CPU s, log
# --raw the same) and ~80-100 MB of RSS each (rev-list --objects is the largest process of a scan).
_WALK_CONFIG = ("-c", "core.packedGitWindowSize=16m", "-c", "core.packedGitLimit=48m",
                "-c", "core.deltaBaseCacheLimit=16m")


@dataclass(frozen=True)
class Repo:
    git_dir: str
    work_tree: str | None  # None for bare repositories and mirrors
    shallow: bool
    oid_len: int = 40

    def cmd(self, *args: str) -> list[str]:
        return [GIT, "--git-dir", self.git_dir, *_GIT_CONFIG, *args]

    def walk_cmd(self, *args: str) -> list[str]:
        """`cmd` for a history walk (later `-c` settings win)."""
        return [GIT, "--git-dir", self.git_dir, *_GIT_CONFIG, *_WALK_CONFIG, *args]


def git_env() -> dict[str, str]:
    """The environment every git process gets: no inherited repository, no prompt, C locale, no locks."""
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"})
    for var in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        env.pop(var, None)
    return env


def start_git(cmd: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start a long-running git reader (stderr discarded unless `popen` says otherwise). Whoever starts
    one stops it with `stop_git` in a `finally`; the kernel kills it if this process dies first."""
    popen.setdefault("stderr", subprocess.DEVNULL)
    proc = None
    try:
        with starting() as arm:
            proc = subprocess.Popen(list(cmd), env=git_env(), preexec_fn=arm, **popen)
    except BaseException:  # a Ctrl-C or SIGTERM that came while git started: it is not left running
        if proc is not None:
            stop_git(proc)
        raise
    return proc


def stop_git(proc: subprocess.Popen) -> None:
    """Kill `proc` unless it has ended, and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def run_git(cmd: Sequence[str], *, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run git to completion; with `check`, a failure is one line naming the subcommand and git's reason."""
    proc = subprocess.run(list(cmd), input=input, capture_output=True, env=git_env(), check=False)
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
                          env=git_env(), check=False)
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
                             stderr=subprocess.DEVNULL, env=git_env(), check=False)
        top_dir = top.stdout.decode("utf-8", "surrogateescape").strip() if top.returncode == 0 else ""
        if top_dir and (inside or Path(top_dir).resolve() == resolved):
            work_tree = top_dir
        elif Path(git_dir).resolve() != resolved:
            return None  # a subdirectory of a work tree (or of a .git directory)
    elif Path(git_dir).resolve() != resolved:
        return None
    fmt = subprocess.run([GIT, "--git-dir", git_dir, "rev-parse", "--show-object-format"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env(), check=False)
    oid_len = 64 if fmt.stdout.strip() == b"sha256" else 40
    return Repo(git_dir=git_dir, work_tree=work_tree, shallow=shallow, oid_len=oid_len)


def show_path(raw: bytes) -> str:
    """A repository path for display and fingerprints: UTF-8, other bytes as `\\xNN` (never surrogates)."""
    return raw.decode("utf-8", "backslashreplace")


def normalise_path(path: str) -> str:
    """The same display form for a path that came from the file system (surrogate-escaped)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# -- refs and revisions --------------------------------------------------------------------------------
def scan_refs(repo: Repo, sel: HistoryOptions) -> list[str]:
    """Full ref names the history scan covers (`refs/stash` only with --stash)."""
    if sel.branches:
        out = []
        for ref in sel.branches:
            proc = run_git(repo.cmd("rev-parse", "--verify", "--quiet", "--symbolic-full-name", ref), check=False)
            name = proc.stdout.decode("utf-8", "surrogateescape").strip()
            ok = run_git(repo.cmd("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"), check=False)
            if ok.returncode != 0:
                raise SecretkeeperError(f"--branch {ref}: unknown revision")
            out.append(name or ok.stdout.decode().strip())
        return out
    proc = run_git(repo.cmd("for-each-ref", "--format=%(refname)"))
    refs = [r for r in proc.stdout.decode("utf-8", "surrogateescape").splitlines() if r]
    if not sel.stash:
        refs = [r for r in refs if r != "refs/stash"]
    return refs


def verify_since(repo: Repo, rev: str) -> str:
    proc = run_git(repo.cmd("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"), check=False)
    if proc.returncode != 0:
        raise SecretkeeperError(f"--since {rev}: unknown revision (shallow clone? fetch more history: "
                                f"git fetch --unshallow)")
    return proc.stdout.decode().strip()


def rev_list_args(refs: Sequence[str], since: str | None) -> bytes:
    """`--stdin` input for rev-list and log: the refs, less what `since` reaches."""
    lines = list(refs)
    if since:
        lines.append(f"^{since}")  # a resolved commit id (git 2.39's --stdin takes no options)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def batch_check(repo: Repo, oid_lines: bytes) -> Iterator[tuple[str, str, int]]:
    """(id, type, size) of each object named in `oid_lines` that exists."""
    proc = run_git(repo.cmd("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"),
                input=oid_lines, check=False)
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            yield parts[0].decode(), parts[1].decode(), int(parts[2])


def count_commits(repo: Repo, refs: Sequence[str], since: str | None) -> int:
    if not refs:
        return 0
    proc = subprocess.run(repo.walk_cmd("rev-list", "--count", "--stdin"), input=rev_list_args(refs, since),
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=git_env(), check=False)
    try:
        return int(proc.stdout.strip() or 0)
    except ValueError:
        return 0
