"""Finding and reading `secretkeeper.yaml`: discovery, YAML with line numbers, each section validated by
its own schema, and every problem reported as `FILE:LINE: key: problem` (one line, values redacted).

The file may come with the repository under scan: it is read as the scanned tree's other inputs are
(secretkeeper/fileio.py: a regular file, at most `CONFIG_LIMIT` bytes, inside the tree), and its YAML is
composed and checked (secretkeeper/yamlsafe.py: no alias bomb, at most `MAX_DEPTH` levels) before
ruamel.yaml reads it with its lines.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

from secretkeeper.config.invalid import Invalid, config_error, line_of, validated
from secretkeeper.config.root import SECTIONS, Config
from secretkeeper.config.scan import ScanConfig, check_values, normalise
from secretkeeper.errors import ConfigError

CONFIG_NAMES = ("secretkeeper.yaml", ".secretkeeper.yaml", "secretkeeper.yml", ".secretkeeper.yml")
# A fleet's config (2,500 managed secrets with windows, templates and targets) loads in about 2 s from the
# nodes libyaml composes (config/fastyaml.py); the round-trip loader, which reads some 250 KB a second, is
# used up to ROUND_TRIP_LIMIT only (a file the fast reader leaves to it: tags, merge keys).
CONFIG_LIMIT = 1 << 20
ROUND_TRIP_LIMIT = 256 << 10
MAX_DEPTH = 64  # the deepest section (secrets[].rotate.window.days[]) is 6 levels down
_STANDARD_TAG = "tag:yaml.org,2002:"


def find_config(root: Path) -> Path | None:
    base = root if root.is_dir() else root.parent
    for name in CONFIG_NAMES:
        candidate = base / name
        if os.path.lexists(candidate):  # whatever it is: not a regular file is an error, not no config
            return candidate
    return None


def resolve_config(explicit: Path | None, roots: list[Path]) -> Config:
    if explicit is not None:
        return load_config(explicit)
    for root in roots[:1]:
        found = find_config(root)
        if found is not None:
            return load_config(found, within=found.parent)
    return Config()


def load_config(path: Path, *, within: Path | None = None) -> Config:
    """The config in `path`; `within`: it was found in that scanned tree, and what it names must be too."""
    from secretkeeper.fileio import read_input

    try:
        text = read_input(path, CONFIG_LIMIT, within=within).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config: {getattr(exc, 'strerror', None) or exc}") from None
    doc = _read_yaml(text, path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping with sections scan/stores/secrets/lock/deploy")
    try:
        cfg = _sections(_plain(doc, ()))
    except Invalid as exc:
        raise config_error(path, doc, exc) from None
    _check_custom_rules(cfg, doc, path)
    cfg.path, cfg.within, cfg.doc = path, within, doc
    cfg.example_lines = _example_lines(doc)
    return cfg


def _read_yaml(text: str, path: Path) -> Any:
    """The round-trip document of `text`, once its nodes passed the checks every untrusted YAML gets."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from secretkeeper.config.fastyaml import DuplicateKey, applies, build
    from secretkeeper.yamlsafe import YamlError, compose_all, refuse_bombs, yaml_error

    try:
        documents = compose_all(text)
        for node in documents:
            if node is not None:
                refuse_bombs(node, max_depth=MAX_DEPTH)
        if applies(text, documents) and documents[0] is not None:
            doc = build(documents[0])  # a large file: the nodes libyaml composed, read once
            if doc is not None:
                return doc
        if len(text) > ROUND_TRIP_LIMIT:
            raise YamlError("a config over 256 KiB is read only as one YAML document without tags or merge keys (<<)")
        with warnings.catch_warnings():  # ruamel.yaml warns with a snippet of the file, over lines
            warnings.simplefilter("ignore")
            return YAML(typ="rt").load(text)
    except YAMLError as exc:
        err = yaml_error(exc)
    except YamlError as exc:
        err = exc
    except DuplicateKey as exc:
        err = YamlError(f"invalid YAML: {exc}", exc.line)
    raise ConfigError(f"{path}:{err.line}: {err.problem}" if err.line else f"{path}: {err.problem}")


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
        from secretkeeper.config.credentials import prepare
        from secretkeeper.config.secrets import SecretConfig, check_references
        from secretkeeper.config.stores import StoreConfig

        _default_local_store(plain)
        prepare(plain)  # no credential in the file; `from:` references parsed, their stores declared
        cfg.stores = validated(dict[str, StoreConfig], plain.get("stores") or {}, ("stores",))
        cfg.secrets = validated(list[SecretConfig], plain.get("secrets") or [], ("secrets",))
        check_references(cfg.secrets, set(cfg.stores))
    if plain.get("lock") is not None:
        from secretkeeper.config.lock import LockConfig

        cfg.lock = validated(LockConfig, plain["lock"], ("lock",))
    return cfg


def _default_local_store(plain: dict[str, Any]) -> None:
    """`local` names the embedded encrypted store (`.secretkeeper/store`, its key beside it) without being
    declared, once a secret or a `from:` reference uses it; a `stores.local` of the file's own wins."""
    stores = plain.get("stores")
    if stores is not None and (not isinstance(stores, dict) or "local" in stores):
        return  # declared (or not a mapping: the validation's error names it)
    if _uses_local(plain.get("secrets")) or _uses_local(stores):
        plain["stores"] = {**(stores or {}), "local": {"type": "local"}}


def _uses_local(node: Any) -> bool:
    if isinstance(node, dict):
        if node.get("store") == "local":
            return True
        ref = node.get("from")
        if isinstance(ref, str) and ref.startswith("local:"):
            return True
        return any(_uses_local(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_local(v) for v in node)
    return False


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
        line = line_of(doc, ("scan", "rules", i))
        where = f"{path}:{line}" if line else str(path)
        rule_from_mapping(data, f"{where}: scan.rules[{i}]", "custom")  # its messages echo no value


def _plain(node: Any, loc: tuple[Any, ...]) -> Any:
    """Plain values of the round-trip document. A tag other than YAML's own is refused: nothing in the
    file needs one, and the tag is not echoed (it could be a value pasted there)."""
    from ruamel.yaml.comments import TaggedScalar

    tag = getattr(getattr(node, "tag", None), "value", None)
    if tag is not None and not tag.startswith(_STANDARD_TAG):
        raise Invalid(loc, "unsupported YAML tag", None)
    if isinstance(node, TaggedScalar):  # `!!str 5`: ruamel.yaml keeps the tag, the value is the text
        return node.value
    if isinstance(node, dict):
        # YAML reads the keys `true:` / `false:` (rule examples) as booleans; keep their spelling.
        out = {}
        for k, v in node.items():
            key = str(k).lower() if isinstance(k, bool) else str(k)
            out[key] = _plain(v, (*loc, key))
        return out
    if isinstance(node, list):
        return [_plain(v, (*loc, i)) for i, v in enumerate(node)]
    return node
