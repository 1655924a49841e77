"""Paths named on the command line, checked before anything runs: each is there and readable, else one
line names it (exit 2) — a root the scan could not read would otherwise end as a false "clean".

Path options are declared `readable=False`: click's own check prints a three-line usage error instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from secretkeeper.errors import SecretkeeperError


def check_roots(roots: list[Path]) -> None:
    for root in roots:
        try:
            mode = os.stat(root).st_mode
        except OSError as exc:  # missing, or under a directory we may not enter
            raise SecretkeeperError(f"{root}: {(exc.strerror or 'cannot read').lower()}") from None
        if not os.access(root, os.R_OK | (os.X_OK if stat.S_ISDIR(mode) else 0)):
            raise SecretkeeperError(f"{root}: permission denied")
