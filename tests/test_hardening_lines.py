"""Long lines with many matches (minified code, one-line JSON) cost time linear in their length."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.bounded import bounded
from tests.conftest import make_tree


# -- 2. long lines ----------------------------------------------------------------------------------------
# One line of many candidate secrets in the shapes minified code and one-line JSON take; one with an inline
# allow marker after each (markers are looked up per match), one of a vendor rule beside a generic key.
SHAPES = {
    "assignments": 'password="{}" ',
    "json": '"api_key":"{}",',
    "allow-markers": 'password="{}" /* secretkeeper:allow */ ',
    "aws": "aws_secret_access_key={}Ab9/Cd8+Ef7Gh6Ij5Kl4Mn3 ",
}


def _many_matches_line(size: int, shape: str = SHAPES["assignments"]) -> str:
    import random
    import string

    rnd = random.Random(7)
    parts, total = [], 0
    while total < size:
        part = shape.format("".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(16)))
        parts.append(part)
        total += len(part)
    return "".join(parts)


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_long_line_with_many_matches_is_linear(tmp_path, shape):
    # 2 MB on one line: the quadratic confirmation took 4.4 s for 100 KB and 17.6 s for 200 KB, so 2 MB
    # would take half an hour; linear, it takes seconds (most of it per finding, not per byte).
    root = make_tree(tmp_path / "repo", {"bundle.min.js": _many_matches_line(2 * 1024 * 1024, SHAPES[shape])})
    proc = bounded(["scan", root, "--no-history", "-f", "json", "--jobs", "1"], seconds=90)
    found = json.loads(proc.stdout)["findings"] if proc.stdout else []
    if shape == "allow-markers":
        assert proc.returncode == 0 and not found, proc.stderr
    else:
        assert proc.returncode == 1, proc.stderr
        assert len(found) > 10_000


def test_long_line_blobs_in_history_are_linear(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    for i in range(3):
        (root / f"b{i}.min.js").write_text(_many_matches_line(700 * 1024 + i))
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", f"c{i}"], check=True)
    proc = bounded(["scan", root, "-f", "json", "--jobs", "1"], seconds=120)
    assert proc.returncode == 1, proc.stderr
