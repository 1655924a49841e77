"""Files the tool writes: 0600, atomic, and never a rename over a device node."""

from __future__ import annotations

import os
import stat

import pytest

from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import write_private


def test_writes_0600_and_replaces_atomically(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chmod(target, 0o644)
    write_private(target, "new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"], "no temp file left behind"


def test_dev_null_stays_a_device():
    write_private("/dev/null", "anything")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_directory_and_missing_parent_are_one_line_errors(tmp_path):
    with pytest.raises(SecretkeeperError, match="is a directory"):
        write_private(tmp_path, "x")
    with pytest.raises(SecretkeeperError, match="cannot write"):
        write_private(tmp_path / "missing" / "r.json", "x")
