"""`secretkeeper.yaml` / `.secretkeeper.yaml`: one file for the whole tool.

Sections: `scan` (this module's schema), and `stores`, `secrets`, `deploy` (rotation; validated by
their own schemas when rotation is configured). A bad file is reported as `FILE:LINE: scan.key: problem`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from secretkeeper.errors import ConfigError
from secretkeeper.findings import Severity

CONFIG_NAMES = ("secretkeeper.yaml", ".secretkeeper.yaml", "secretkeeper.yml", ".secretkeeper.yml")
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.I)


def parse_size(value: Any) -> int:
    if isinstance(value, int) and value > 0:
        return value
    m = _SIZE_RE.match(str(value))
    if not m:
        raise ValueError(f"not a size: {value!r} (use bytes or e.g. 10MB)")
    unit = (m.group(2) or "b").lower()[0]
    mult = {"b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]
    return int(float(m.group(1)) * mult)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AllowlistConfig(_Strict):
    paths: list[str] = Field(default_factory=list, description="regexes on the relative path")
    regexes: list[str] = Field(default_factory=list, description="regexes on the secret value")
    stopwords: list[str] = Field(default_factory=list)
    secrets: list[str] = Field(default_factory=list, description="sha256 hex of secrets to ignore")
    rules: list[str] = Field(default_factory=list, description="rule ids to turn off")

    @field_validator("paths", "regexes")
    @classmethod
    def _compiles(cls, values: list[str]) -> list[str]:
        for v in values:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"regex {v!r} does not compile: {exc}") from None
        return values

    @field_validator("secrets")
    @classmethod
    def _hashes(cls, values: list[str]) -> list[str]:
        for v in values:
            if not re.fullmatch(r"[0-9a-f]{64}", v):
                raise ValueError("secrets are sha256 hex digests (see a finding's secret_sha256), never values")
        return values


class ScanConfig(_Strict):
    exclude: list[str] = Field(default_factory=list, description="glob patterns of paths not to scan")
    default_excludes: bool = True
    max_file_size: int = 10 * 1024 * 1024
    fail_on: Severity | None = None
    rules: list[dict[str, Any]] = Field(default_factory=list, description="custom rules (built-in schema)")
    rule_files: list[str] = Field(default_factory=list)
    disable: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)
    allowlist: AllowlistConfig = Field(default_factory=AllowlistConfig)

    @field_validator("max_file_size", mode="before")
    @classmethod
    def _size(cls, value: Any) -> int:
        return parse_size(value)

    @field_validator("fail_on", mode="before")
    @classmethod
    def _sev(cls, value: Any) -> Any:
        return Severity.parse(str(value)) if value is not None else None

    @field_validator("severity", mode="before")
    @classmethod
    def _sevmap(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: Severity.parse(str(v)) for k, v in value.items()}
        return value


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scan: ScanConfig = Field(default_factory=ScanConfig)
    # Rotation sections are validated by the rotation schemas; kept opaque here.
    stores: dict[str, Any] | None = None
    secrets: Any = None
    deploy: dict[str, Any] | None = None

    path: Path | None = Field(default=None, exclude=True)
    # Lines of this file holding custom rules' examples (synthetic secrets by design, not leaks).
    example_lines: frozenset[int] = Field(default_factory=frozenset, exclude=True)


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
    try:
        cfg = Config.model_validate(_plain(doc))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        line = _line_of(doc, loc)
        key = ".".join(str(p) for p in loc) or "<root>"
        msg = _scrub(err["msg"].removeprefix("Value error, "), err.get("input"))
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {key}: {msg}") from None
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
