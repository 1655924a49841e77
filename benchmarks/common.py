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
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

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
        "load average at start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "hyperscan": package_version("hyperscan"),
        "secretkeeper": package_version("secretkeeper"),
    }


# -- timing and memory ------------------------------------------------------------------------------------
class Timer:
    """`with Timer() as t: ...` then `t.seconds`."""

    def __enter__(self) -> Timer:
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
    cpu_seconds: float  # user + system time of the child and its reaped descendants
    returncode: int
    stdout: bytes
    stderr: bytes
    cycles: int | None = None  # user-space CPU cycles (perf), when measured: see `counted`
    instructions: int | None = None


_PERF: list[bool] = []


def perf_available() -> bool:
    """Whether `perf stat` can count this user's cycles (a package and a kernel setting away on most hosts)."""
    if not _PERF:
        try:
            probe = subprocess.run(["perf", "stat", "-x,", "-e", "cycles:u", "true"], capture_output=True, timeout=30)
            _PERF.append(probe.returncode == 0 and b"cycles" in probe.stderr and b"<not" not in probe.stderr)
        except (OSError, subprocess.TimeoutExpired):
            _PERF.append(False)
    return _PERF[0]


def counted(cmd: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | Path | None = None,
            ok: Sequence[int] = (0,)) -> Run:
    """`run`, with the user-space cycles and instructions of the command and its children counted by
    `perf stat` when it is available. On a shared machine CPU time includes time stolen by neighbours and
    drifts by half within minutes; cycles spent by the process itself move far less."""
    if not perf_available():
        return run(cmd, env=env, cwd=cwd, capture=False, ok=ok)
    with tempfile.NamedTemporaryFile(suffix=".perf") as counts:
        result = run(["perf", "stat", "-x,", "-e", "cycles:u,instructions:u", "-o", counts.name, *cmd],
                     env=env, cwd=cwd, capture=False, ok=ok)
        for line in Path(counts.name).read_text().splitlines():
            fields = line.split(",")
            if len(fields) > 2 and fields[0].isdigit():
                if fields[2].startswith("cycles"):
                    result.cycles = int(fields[0])
                elif fields[2].startswith("instructions"):
                    result.instructions = int(fields[0])
    return result


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
    result = Run(list(cmd), seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode,
                 stdout, stderr)
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
                         capture_output=True, text=True, check=False)
    return out.stdout.strip() or "?"


# -- markdown ---------------------------------------------------------------------------------------------
def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


# -- synthetic credentials --------------------------------------------------------------------------------
class Synth:
    """Random, well-formed, *synthetic* credentials from a seeded generator (never real ones).

    Shapes follow the vendors' published formats (prefix, length, alphabet, checksum where there is one)
    so a scanner sees what it would see in a real leak; the values are random and were never issued.
    """

    B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    B64 = B62 + "+/"
    URLSAFE = B62 + "-_"
    HEX = "0123456789abcdef"

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    @staticmethod
    def _crc_b62(payload: str) -> str:
        import zlib

        n = zlib.crc32(payload.encode()) & 0xFFFFFFFF
        out = ""
        while n:
            n, r = divmod(n, 62)
            out = Synth.B62[r] + out
        return out.rjust(6, "0")

    # vendor tokens
    def aws_key_id(self) -> str:
        return self.rng.choice(["AKIA", "ASIA"]) + self.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)

    def aws_secret(self) -> str:
        return self.chars(self.B64, 40)

    def github_pat(self) -> str:
        body = self.chars(self.B62, 30)
        return f"ghp_{body}{self._crc_b62(body)}"

    def github_token(self, prefix: str) -> str:  # gho_ ghu_ ghs_ ghr_
        body = self.chars(self.B62, 30)
        return f"{prefix}_{body}{self._crc_b62(body)}"

    def github_fine_grained(self) -> str:
        return f"github_pat_{self.chars(self.B62, 22)}_{self.chars(self.B62, 59)}"

    def gitlab_pat(self) -> str:
        return "glpat-" + self.chars(self.URLSAFE, 20)

    def npm_token(self) -> str:
        body = self.chars(self.B62, 30)
        return f"npm_{body}{self._crc_b62(body)}"

    def slack_bot(self) -> str:
        d = "0123456789"
        return f"xoxb-{self.chars(d, 12)}-{self.chars(d, 13)}-{self.chars(self.B62, 24)}"

    def slack_webhook(self) -> str:
        return (f"https://hooks.slack.com/services/T{self.chars(self.B62.upper()[:36], 8)}/"
                f"B{self.chars(self.B62.upper()[:36], 10)}/{self.chars(self.B62, 24)}")

    def stripe_secret(self) -> str:
        return self.rng.choice(["sk_live_", "rk_live_"]) + self.chars(self.B62, 24)

    def google_api_key(self) -> str:
        return "AIza" + self.chars(self.URLSAFE, 35)

    def sendgrid(self) -> str:
        return f"SG.{self.chars(self.URLSAFE, 22)}.{self.chars(self.URLSAFE, 43)}"

    def twilio_key(self) -> str:
        return "SK" + self.chars(self.HEX, 32)

    def openai_key(self) -> str:
        return f"sk-proj-{self.chars(self.URLSAFE, 48)}T3BlbkFJ{self.chars(self.URLSAFE, 48)}"

    def jwt(self) -> str:
        import base64
        import json

        def b64(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode()).decode().rstrip("=")

        header = b64({"alg": "HS256", "typ": "JWT"})
        payload = b64({"sub": self.chars("0123456789", 8), "iat": 1700000000 + self.rng.randrange(10**7),
                       "role": self.rng.choice(["admin", "service", "reader"])})
        return f"{header}.{payload}.{self.chars(self.URLSAFE, 43)}"

    # passwords and keys
    def password(self, n: int | None = None) -> str:
        n = n or self.rng.randrange(14, 24)
        while True:
            pw = self.chars(self.B62 + "!#%^*-_=+", n)
            if any(c.isdigit() for c in pw) and any(c.islower() for c in pw) and any(c.isupper() for c in pw):
                return pw

    def _prime(self, bits: int) -> int:
        while True:
            n = self.rng.getrandbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
            if any(n % p == 0 for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47)):
                continue
            d, r = n - 1, 0
            while d % 2 == 0:
                d, r = d // 2, r + 1
            for _ in range(24):
                x = pow(self.rng.randrange(2, n - 1), d, n)
                if x in (1, n - 1):
                    continue
                for _ in range(r - 1):
                    x = pow(x, 2, n)
                    if x == n - 1:
                        break
                else:
                    break
            else:
                return n

    def private_key(self, kind: str = "RSA") -> str:
        """A real, freshly made key (deterministic from the seed) in PEM: RSA-1024 (PKCS#1), EC P-256
        (SEC1), Ed25519 (OpenSSH) or PKCS#8. Scanners that parse the key see a valid one."""
        from cryptography.hazmat.primitives import serialization as ser
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        if kind in ("RSA", "PKCS8"):
            e = 65537
            while True:
                p, q = self._prime(512), self._prime(512)
                phi = (p - 1) * (q - 1)
                if p != q and phi % e:
                    break
            d = pow(e, -1, phi)
            key = rsa.RSAPrivateNumbers(p, q, d, d % (p - 1), d % (q - 1), pow(q, -1, p),
                                        rsa.RSAPublicNumbers(e, p * q)).private_key()
            fmt = ser.PrivateFormat.TraditionalOpenSSL if kind == "RSA" else ser.PrivateFormat.PKCS8
        elif kind == "EC":
            key = ec.derive_private_key(self.rng.getrandbits(255) + 1, ec.SECP256R1())
            fmt = ser.PrivateFormat.TraditionalOpenSSL
        else:  # OPENSSH
            key = ed25519.Ed25519PrivateKey.from_private_bytes(self.rng.randbytes(32))
            fmt = ser.PrivateFormat.OpenSSH
        return key.private_bytes(ser.Encoding.PEM, fmt, ser.NoEncryption()).decode().strip()

    # look-alikes: shapes that are not secrets
    def certificate(self) -> str:
        import base64

        body = base64.b64encode(b"\x30\x82\x03\x1d\x30\x82\x02\x05\xa0\x03\x02\x01\x02" + self.rng.randbytes(780)).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "\n".join(["-----BEGIN CERTIFICATE-----", *lines, "-----END CERTIFICATE-----"])

    def ssh_public_key(self) -> str:
        import base64

        blob = base64.b64encode(b"\x00\x00\x00\x07ssh-rsa\x00\x00\x00\x03\x01\x00\x01" + self.rng.randbytes(257)).decode()
        return f"ssh-rsa {blob} deploy@build-{self.rng.randrange(1, 40)}"

    def git_sha(self) -> str:
        return self.chars(self.HEX, 40)

    def sha256(self) -> str:
        return self.chars(self.HEX, 64)

    def uuid(self) -> str:
        h = self.chars(self.HEX, 32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def integrity(self) -> str:
        import base64

        return "sha512-" + base64.b64encode(self.rng.randbytes(64)).decode()
