"""Baseline files: known findings, keyed on fingerprints, that a scan does not report again.

The file holds fingerprints and redacted context only (rule, path, preview, hash): committing it leaks
nothing. Committed, it is also the repository's to change: it is read as a regular file of at most
`BASELINE_LIMIT` bytes (some 170,000 findings), and JSON nested past Python's stack is refused. Inline
ignore comments are handled by the engine (see `secretkeeper.engine`).
"""

from __future__ import annotations

import json
from datetime import datetime, UTC
from pathlib import Path
from collections.abc import Iterable

from secretkeeper import __version__
from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import read_input, write_private
from secretkeeper.findings import Finding

BASELINE_VERSION = 1
BASELINE_LIMIT = 64 << 20


class Baseline:
    def __init__(self, fingerprints: Iterable[str] = ()) -> None:
        self.fingerprints = frozenset(fingerprints)

    def __contains__(self, finding: Finding) -> bool:
        return finding.fingerprint in self.fingerprints

    def filter(self, findings: list[Finding]) -> tuple[list[Finding], int]:
        kept = [f for f in findings if f not in self]
        return kept, len(findings) - len(kept)

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(read_input(path, BASELINE_LIMIT).decode("utf-8"))
        except OSError as exc:
            raise SecretkeeperError(f"{path}: cannot read baseline: {exc.strerror}") from None
        except (ValueError, UnicodeDecodeError):
            raise SecretkeeperError(f"{path}: baseline is not valid JSON") from None
        except RecursionError:
            raise SecretkeeperError(f"{path}: baseline is not valid JSON (nested too deep)") from None
        if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
            raise SecretkeeperError(f"{path}: not a secretkeeper baseline (no 'findings' list)")
        prints = []
        for i, item in enumerate(data["findings"]):
            fp = item.get("fingerprint") if isinstance(item, dict) else None
            if not isinstance(fp, str):
                raise SecretkeeperError(f"{path}: findings[{i}] has no fingerprint")
            prints.append(fp)
        return cls(prints)


def write_baseline(findings: Iterable[Finding], path: Path) -> int:
    entries = sorted(
        (
            {
                "fingerprint": f.fingerprint,
                "rule_id": f.rule_id,
                "path": f.location.path or f.location.object or f.location.image,
                "line": f.location.line,
                "commit": f.location.commit,
                "preview": f.preview,
                "secret_sha256": f.secret_sha256,
            }
            for f in findings
        ),
        key=lambda e: (e["path"] or "", e["rule_id"], e["fingerprint"]),
    )
    unique = list({e["fingerprint"]: e for e in entries}.values())
    doc = {
        "version": BASELINE_VERSION,
        "tool": f"secretkeeper {__version__}",
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "findings": unique,
    }
    write_private(path, json.dumps(doc, indent=2) + "\n")
    return len(unique)
