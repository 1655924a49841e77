"""The `scan:` section: what to skip, what to allow, custom rules, severities and the failure floor.

The schema is plain dataclasses: a scan without a config file (most pre-commit runs) never imports
pydantic and ruamel.yaml (~0.2 s of start-up). A config file is validated against these same classes by
pydantic (types, unknown keys), after `normalise` and before `check_values` (regexes, hashes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from secretkeeper.config.invalid import FORBID_EXTRA, Invalid
from secretkeeper.findings import Severity

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.I)
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


def parse_size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    m = _SIZE_RE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (use bytes or e.g. 10MB)")
    unit = (m.group(2) or "b").lower()[0]
    mult = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    return int(float(m.group(1)) * mult)


@dataclass
class AllowlistConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    paths: list[str] = field(default_factory=list)  # regexes on the relative path
    regexes: list[str] = field(default_factory=list)  # regexes on the secret value
    stopwords: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # sha256 hex of secrets to ignore
    rules: list[str] = field(default_factory=list)  # rule ids to turn off


@dataclass
class ScanConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = FORBID_EXTRA
    exclude: list[str] = field(default_factory=list)  # glob patterns of paths not to scan
    default_excludes: bool = True
    max_file_size: int = 10 * 1024 * 1024
    fail_on: Severity | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)  # custom rules (built-in schema)
    rule_files: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    allowlist: AllowlistConfig = field(default_factory=AllowlistConfig)

    def rule_ids(self) -> Iterator[tuple[tuple[Any, ...], str]]:
        """(location, rule id) of every rule the section names: an unknown one is a mistake to report,
        since it would silently change nothing."""
        yield from ((("scan", "severity", rid), rid) for rid in self.severity)
        yield from ((("scan", "disable", i), rid) for i, rid in enumerate(self.disable))
        yield from ((("scan", "allowlist", "rules", i), rid) for i, rid in enumerate(self.allowlist.rules))


def normalise(doc: dict[str, Any]) -> None:
    """Sizes and severities in the forms people write them (`10MB`, `HIGH`), before type validation."""
    scan = doc.get("scan")
    if not isinstance(scan, dict):
        return
    if "max_file_size" in scan:
        try:
            scan["max_file_size"] = parse_size(scan["max_file_size"])
        except ValueError as exc:
            raise Invalid(("scan", "max_file_size"), str(exc), scan["max_file_size"]) from None
    if scan.get("fail_on") is not None:
        scan["fail_on"] = _severity(("scan", "fail_on"), scan["fail_on"])
    if isinstance(scan.get("severity"), dict):
        scan["severity"] = {k: _severity(("scan", "severity", k), v) for k, v in scan["severity"].items()}


def _severity(loc: tuple[Any, ...], value: Any) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise Invalid(loc, str(exc), value) from None


def check_values(scan: ScanConfig) -> None:
    allow = scan.allowlist
    for name in ("paths", "regexes"):
        for i, value in enumerate(getattr(allow, name)):
            try:
                re.compile(value)
            except re.error as exc:
                raise Invalid(("scan", "allowlist", name, i), f"regex {value!r} does not compile: {exc}",
                              value) from None
    for i, value in enumerate(allow.secrets):
        if not _SHA256_RE.fullmatch(value):
            raise Invalid(("scan", "allowlist", "secrets", i),
                          "secrets are sha256 hex digests (see a finding's secret_sha256), never values", value)
