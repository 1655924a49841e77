"""`secretkeeper.yaml` / `.secretkeeper.yaml`: one file for the whole tool.

Sections: `scan` (this module's schema), and `stores`, `secrets`, `deploy` (rotation; validated by
their own schemas when rotation is configured). A bad file is reported as `FILE:LINE: scan.key: problem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from secretkeeper.errors import ConfigError
from secretkeeper.findings import Severity

CONFIG_NAMES = ("secretkeeper.yaml", ".secretkeeper.yaml", "secretkeeper.yml", ".secretkeeper.yml")
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


# The schema is plain dataclasses: a scan without a config file (most pre-commit runs) never imports
# pydantic and ruamel.yaml (~0.2 s of start-up). A config file is validated against these same classes by
# pydantic (types, unknown keys) in `load_config`, then by `_check_values` (sizes, severities, regexes).
_FORBID = {"extra": "forbid"}  # pydantic reads `__pydantic_config__`; a ConfigDict is a plain dict


@dataclass
class AllowlistConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID
    paths: list[str] = field(default_factory=list)  # regexes on the relative path
    regexes: list[str] = field(default_factory=list)  # regexes on the secret value
    stopwords: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # sha256 hex of secrets to ignore
    rules: list[str] = field(default_factory=list)  # rule ids to turn off


@dataclass
class ScanConfig:
    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID
    exclude: list[str] = field(default_factory=list)  # glob patterns of paths not to scan
    default_excludes: bool = True
    max_file_size: int = 10 * 1024 * 1024
    fail_on: Severity | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)  # custom rules (built-in schema)
    rule_files: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    severity: dict[str, Severity] = field(default_factory=dict)
    allowlist: AllowlistConfig = field(default_factory=AllowlistConfig)


@dataclass
class Config:
    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID
    scan: ScanConfig = field(default_factory=ScanConfig)
    # Rotation sections are validated by the rotation schemas; kept opaque here.
    stores: dict[str, Any] | None = None
    secrets: Any = None
    deploy: dict[str, Any] | None = None
    # Set by load_config, never read from the file.
    path: Path | None = field(default=None, init=False)
    # Lines of this file holding custom rules' examples (synthetic secrets by design, not leaks).
    example_lines: frozenset[int] = field(default_factory=frozenset, init=False)


def _normalise(doc: dict[str, Any]) -> None:
    """Sizes and severities in the forms people write them (`10MB`, `HIGH`), before type validation."""
    scan = doc.get("scan")
    if not isinstance(scan, dict):
        return
    if "max_file_size" in scan:
        try:
            scan["max_file_size"] = parse_size(scan["max_file_size"])
        except ValueError as exc:
            raise _Invalid(("scan", "max_file_size"), str(exc), scan["max_file_size"]) from None
    if scan.get("fail_on") is not None:
        scan["fail_on"] = _severity(("scan", "fail_on"), scan["fail_on"])
    if isinstance(scan.get("severity"), dict):
        scan["severity"] = {k: _severity(("scan", "severity", k), v) for k, v in scan["severity"].items()}


def _severity(loc: tuple[Any, ...], value: Any) -> Severity:
    try:
        return Severity.parse(str(value))
    except ValueError as exc:
        raise _Invalid(loc, str(exc), value) from None


def _check_values(cfg: Config) -> None:
    allow = cfg.scan.allowlist
    for name in ("paths", "regexes"):
        for i, value in enumerate(getattr(allow, name)):
            try:
                re.compile(value)
            except re.error as exc:
                raise _Invalid(("scan", "allowlist", name, i), f"regex {value!r} does not compile: {exc}",
                               value) from None
    for i, value in enumerate(allow.secrets):
        if not _SHA256_RE.fullmatch(value):
            raise _Invalid(("scan", "allowlist", "secrets", i),
                           "secrets are sha256 hex digests (see a finding's secret_sha256), never values", value)


class _Invalid(ValueError):
    def __init__(self, loc: tuple[Any, ...], msg: str, value: Any) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.value = loc, msg, value


def find_config(root: Path) -> Path | None:
    base = root if root.is_dir() else root.parent
    for name in CONFIG_NAMES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


def _line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """Best-effort 1-based line of a pydantic error location in a ruamel round-trip document."""
    node, line = doc, None
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                if isinstance(key, int):
                    line = lc.item(key)[0] + 1
                else:
                    line = lc.key(key)[0] + 1
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def load_config(path: Path) -> Config:
    from pydantic import TypeAdapter, ValidationError
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {getattr(exc, 'strerror', None) or exc}") from None
    yaml = YAML(typ="rt")
    try:
        doc = yaml.load(text)
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with sections scan/stores/secrets/deploy")

    def fail(loc: tuple[Any, ...], msg: str, value: Any) -> ConfigError:
        line = _line_of(doc, loc)
        key = ".".join(str(p) for p in loc) or "<root>"
        where = f"{path}:{line}" if line else str(path)
        return ConfigError(f"{where}: {key}: {_scrub(msg, value)}")

    plain = _plain(doc)
    try:
        _normalise(plain)
        cfg = TypeAdapter(Config).validate_python(plain)
        _check_values(cfg)
    except _Invalid as exc:
        raise fail(exc.loc, exc.msg, exc.value) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(tuple(err["loc"]), err["msg"].removeprefix("Value error, "), err.get("input")) from None
    _check_custom_rules(cfg, doc, path)
    cfg.path = path
    cfg.example_lines = _example_lines(doc)
    return cfg


def _example_lines(doc: Any) -> frozenset[int]:
    """1-based lines spanned by every `scan.rules[i].examples` block."""
    lines: set[int] = set()
    try:
        rules = doc["scan"]["rules"]
    except (KeyError, TypeError):
        return frozenset()
    for item in rules if isinstance(rules, list) else []:
        if not isinstance(item, dict) or "examples" not in item:
            continue
        first = item.lc.key("examples")[0] + 1
        last = max([first, *_node_lines(item["examples"])])
        lines.update(range(first, last + 1))
    return frozenset(lines)


def _node_lines(node: Any) -> list[int]:
    out: list[int] = []
    lc = getattr(node, "lc", None)
    if isinstance(node, dict):
        for key, value in node.items():
            if lc is not None:
                out.append(lc.key(key)[0] + 1)
                out.append(lc.value(key)[0] + 1 + str(value).count("\n"))
            out.extend(_node_lines(value))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            if lc is not None:
                out.append(lc.item(i)[0] + 1 + str(value).count("\n"))
            out.extend(_node_lines(value))
    return out


def _check_custom_rules(cfg: Config, doc: Any, path: Path) -> None:
    """Build each `scan.rules` entry once now, so a bad rule is reported with its file and line."""
    from secretkeeper.rules import rule_from_mapping

    for i, data in enumerate(cfg.scan.rules):
        line = _line_of(doc, ("scan", "rules", i))
        where = f"{path}:{line}" if line else str(path)
        try:
            rule_from_mapping(data, f"{where}: scan.rules[{i}]", "custom")
        except ConfigError as exc:
            raise ConfigError(_scrub(str(exc), data.get("severity"))) from None


def _scrub(message: str, bad_input: Any) -> str:
    """Redact the offending values a validation message echoes: one may be a credential pasted by mistake."""
    from secretkeeper.findings import redact

    stack, values = [bad_input], []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 8:
            values.append(item)
    for value in sorted(values, key=len, reverse=True):
        message = message.replace(value, redact(value))
    return message


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        # YAML reads the keys `true:` / `false:` (rule examples) as booleans; keep their spelling.
        return {(str(k).lower() if isinstance(k, bool) else str(k)): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def resolve_config(explicit: Path | None, roots: list[Path]) -> Config:
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"{explicit}: config file not found")
        return load_config(explicit)
    for root in roots[:1]:
        found = find_config(root)
        if found is not None:
            return load_config(found)
    return Config()
