"""The rule loader: the package on its own, and its checks on a rule set (ids, anchors)."""

from __future__ import annotations

from pathlib import Path


def test_the_rules_package_imports_first():
    """The catalog sits below the engine: importing it alone must not go through the engine."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run([sys.executable, "-c", "import secretkeeper.rules"], capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, proc.stderr
