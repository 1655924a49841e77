"""Finding and reading `secretkeeper.yaml`: discovery, YAML with line numbers, each section validated by
its own schema, and every problem reported as `FILE:LINE: key: problem` (one line, values redacted).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secretkeeper.config.invalid import Invalid, validated
from secretkeeper.config.root import SECTIONS, Config
from secretkeeper.config.scan import ScanConfig, check_values, normalise
from secretkeeper.errors import ConfigError

CONFIG_NAMES = ("secretkeeper.yaml", ".secretkeeper.yaml", "secretkeeper.yml", ".secretkeeper.yml")


def find_config(root: Path) -> Path | None:
    base = root if root.is_dir() else root.parent
    for name in CONFIG_NAMES:
        candidate = base / name
        if candidate.is_file():
            return candidate
    return None


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


def load_config(path: Path) -> Config:
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
    try:
        cfg = _sections(_plain(doc))
    except Invalid as exc:
        line = _line_of(doc, exc.loc)
        key = ".".join(str(p) for p in exc.loc) or "<root>"
        where = f"{path}:{line}" if line else str(path)
        raise ConfigError(f"{where}: {key}: {_scrub(exc.msg, exc.value)}") from None
    _check_custom_rules(cfg, doc, path)
    cfg.path = path
    cfg.example_lines = _example_lines(doc)
    return cfg


def _sections(plain: dict[str, Any]) -> Config:
    normalise(plain)
    for key, value in plain.items():
        if key not in SECTIONS:
            raise Invalid((key,), "Unexpected keyword argument", value)  # pydantic's words, as in sections
    cfg = Config()
    if "scan" in plain:
        cfg.scan = validated(ScanConfig, plain["scan"], ("scan",))
        check_values(cfg.scan)
    if plain.get("deploy") is not None:
        cfg.deploy = validated(dict[str, Any], plain["deploy"], ("deploy",))
    if plain.get("stores") is not None or plain.get("secrets") is not None:
        # Their pydantic models are built only for a file that declares rotation: scans load as fast.
        from secretkeeper.config.secrets import SecretConfig, check_references
        from secretkeeper.config.stores import StoreConfig

        cfg.stores = validated(dict[str, StoreConfig], plain.get("stores") or {}, ("stores",))
        cfg.secrets = validated(list[SecretConfig], plain.get("secrets") or [], ("secrets",))
        check_references(cfg.secrets, set(cfg.stores))
    return cfg


def _line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """Best-effort 1-based line of a location in a ruamel round-trip document."""
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
