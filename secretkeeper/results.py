"""What a scan produces and what reports read: the findings, the statistics, and why things were skipped.

Sources fill a ScanStats each (workers too: stats are merged, never shared); the pipeline returns one
ScanResult; report writers take nothing else.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from secretkeeper.findings import Finding, Severity


@dataclass
class SkipLog:
    """Why files were not scanned. Paths are recorded (never content) so reports can list them."""

    counts: Counter[str] = field(default_factory=Counter)
    paths: list[tuple[str, str]] = field(default_factory=list)
    keep_paths: int = 1000

    def add(self, reason: str, path: str) -> None:
        self.counts[reason] += 1
        if len(self.paths) < self.keep_paths:
            self.paths.append((path, reason))

    def merge(self, other: SkipLog) -> None:
        self.counts.update(other.counts)
        room = self.keep_paths - len(self.paths)
        if room > 0:
            self.paths.extend(other.paths[:room])


@dataclass
class ScanStats:
    files: int = 0
    bytes: int = 0
    blobs: int = 0
    commits: int = 0
    objects: int = 0
    images: int = 0
    rules: int = 0
    duration: float = 0.0
    skipped: SkipLog = field(default_factory=SkipLog)
    suppressed: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)

    def merge(self, other: ScanStats) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.blobs += other.blobs
        self.commits += other.commits
        self.objects += other.objects
        self.images += other.images
        self.skipped.merge(other.skipped)
        self.suppressed.update(other.suppressed)
        self.warnings.extend(other.warnings)


@dataclass
class ScanResult:
    findings: list[Finding]
    stats: ScanStats
    roots: list[str]
    rules: dict[str, object] = field(default_factory=dict)  # rule id -> Rule, for reports (SARIF rules)

    def at_or_above(self, floor: Severity) -> list[Finding]:
        wanted = _severities_from(floor)
        return [f for f in self.findings if f.severity._value_ in wanted]

    def any_at_or_above(self, floor: Severity) -> bool:
        """Whether a finding is at `floor` or above (the exit code): stops at the first one."""
        wanted = _severities_from(floor)
        return any(f.severity._value_ in wanted for f in self.findings)


def _severities_from(floor: Severity) -> frozenset[str]:
    """The values of the severities at `floor` or above: a member's `rank` hashes the Enum in Python
    (~1k instructions), a str in a frozenset is a C lookup; reports of 30k findings ask for each."""
    return frozenset(s._value_ for s in type(floor) if s.rank >= floor.rank)
