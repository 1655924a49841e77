"""Helpers shared by every `benchmarks/bench_*.py`: machine info, timing, peak RSS, tool venvs, data dirs.

Conventions (see benchmarks/README.md):
- a benchmark prints one markdown section (starting `## Title`) on stdout and progress on stderr;
- work data lives under `benchmarks/.work/` (gitignored), generated deterministically from a seed and
  reused while its version stamp matches;
- competitor tools are installed into their own cached venv (`tool_venv`), never into the project venv.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Mapping, Sequence

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "benchmarks" / ".work"
PROJECT_VENV = ROOT / ".venv"
SECRETKEEPER = PROJECT_VENV / "bin" / "secretkeeper"
MB = 1024 * 1024


def log(*parts: object) -> None:
    """Progress for the person watching: stderr, never part of the results."""
    print("[bench]", *parts, file=sys.stderr, flush=True)


# -- machine ----------------------------------------------------------------------------------------------
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def ram_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_info() -> dict[str, str]:
    return {
        "CPU": cpu_model(),
        "Cores": str(cores()),
        "RAM": f"{ram_gb():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "hyperscan": package_version("hyperscan"),
        "secretkeeper": package_version("secretkeeper"),
    }


# -- timing and memory ------------------------------------------------------------------------------------
class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds = time.perf_counter() - self.start


@dataclass
class Run:
    cmd: list[str]
    seconds: float  # wall clock
    max_rss_mb: float  # peak resident set of the child or of its largest reaped descendant
    returncode: int
    stdout: bytes
    stderr: bytes


def run(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
        capture: bool = True, ok: Sequence[int] = (0,)) -> Run:
    """Run a command, measuring wall time and peak RSS of that child (os.wait4 rusage).

    Linux folds a process's reaped children into its rusage, so for a process pool the figure is the
    largest single process (parent or worker), not their sum.
    """
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=out if capture else subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    result = Run(list(cmd), seconds, usage.ru_maxrss / 1024, proc.returncode, stdout, stderr)
    if proc.returncode not in ok:
        tail = stderr.decode("utf-8", "replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {tail}")
    return result


def best_of(n: int, fn: Callable[[], Run]) -> tuple[Run, list[Run]]:
    """Run `fn` n times; return the fastest run and all runs (for spread)."""
    runs = [fn() for _ in range(n)]
    return min(runs, key=lambda r: r.seconds), runs


# -- directories ------------------------------------------------------------------------------------------
def work_dir(*parts: str) -> Path:
    path = WORK.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_dir(name: str, version: str, generate: Callable[[Path], None]) -> Path:
    """A deterministic data set under `benchmarks/.work/data/NAME`, regenerated when `version` changes.

    `generate(path)` fills an empty directory; the stamp is written only after it returns, so an
    interrupted generation is redone rather than reused.
    """
    path = WORK / "data" / name
    stamp = WORK / "data" / f"{name}.stamp"
    if path.is_dir() and stamp.is_file() and stamp.read_text() == version:
        return path
    if path.exists():
        shutil.rmtree(path)
    stamp.unlink(missing_ok=True)
    path.mkdir(parents=True)
    log(f"generating {name} data set (version {version}) in {path}")
    with Timer() as t:
        generate(path)
    log(f"generated {name} in {t.seconds:.1f} s")
    stamp.write_text(version)
    return path


def tool_venv(name: str, packages: Sequence[str]) -> Path:
    """A cached venv under `benchmarks/.work/venvs/NAME` with `packages` installed; returns its bin dir."""
    venv = WORK / "venvs" / name
    stamp = venv / ".bench-packages"
    wanted = "\n".join(packages)
    if stamp.is_file() and stamp.read_text() == wanted:
        return venv / "bin"
    if venv.exists():
        shutil.rmtree(venv)
    log(f"creating tool venv {name}: {' '.join(packages)}")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *packages], check=True)
    stamp.write_text(wanted)
    return venv / "bin"


def tree_size(path: Path) -> tuple[int, int]:
    """(files, bytes) of the regular files under `path`."""
    files = total = 0
    for dirpath, _dirs, names in os.walk(path):
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            files += 1
            total += st.st_size
    return files, total


def tool_version(bin_dir: Path, package: str) -> str:
    out = subprocess.run([str(bin_dir / "python"), "-c",
                          f"from importlib.metadata import version; print(version({package!r}))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


# -- markdown ---------------------------------------------------------------------------------------------
def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"
