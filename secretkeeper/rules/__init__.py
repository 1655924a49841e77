"""The rule catalog: data files (`*.toml`, one per family) and their loader.

A rule is a regex with a `secret` group plus the controls that keep it precise: keywords (prefilter and
fallback), an entropy floor, a validator (checksum, structure, PEM parse), value filters (placeholders,
environment references...), a path gate for credential files recognised by name, a `near` anchor for
paired secrets, and an allowlist. Every rule carries `examples.true` and `examples.false`, which
`secretkeeper rules test` and the test-suite run.

TOML shape (see README "Writing rules"):

    [[rules]]
    id = "github-pat-classic"            # stable, kebab-case
    description = "GitHub personal access token (classic)"
    severity = "high"                     # info | low | medium | high | critical
    regex = '''(?P<secret>ghp_[0-9A-Za-z]{36})'''
    keywords = ["ghp_"]
    prefilter = '''...'''                # optional: what Hyperscan runs instead of the regex (see below)
    entropy = 3.0                         # optional floor (Shannon bits/char of the secret)
    validator = "github-checksum"         # optional, see secretkeeper.validators
    filters = ["placeholder"]             # optional, see secretkeeper.filters (default: placeholder)
    path = '''(^|/)\\.pgpass$'''          # optional: only files whose path matches (credential files)
    contexts = ["config"]                 # optional: only files of these path contexts (filters.path_context:
                                          # credential-file, config, example, source)
    near = { rule = "aws-access-key-id", lines = 5 }   # optional: only near a finding of that rule (or of
                                          # any rule of a list: rule = ["a", "b"]; lines = 0: same line)
    remediation = "Revoke the token at ..."
    [rules.allowlist]
    regexes = ['''^ghp_0+$''']            # matched against the secret
    stopwords = ["example"]               # secret containing any of these (case-insensitive) is dropped
    paths = ['''(^|/)testdata/''']
    [rules.examples]
    path = "config/.pgpass"               # optional: the path the examples are scanned as
    true = ["token = ghp_...", { path = "app/.env", text = "TOKEN=ghp_..." }]   # a table: its own path
    false = ["token = ghp_xxxxxxxx"]
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any
from collections.abc import Iterable, Mapping

from secretkeeper.errors import RuleError, shown, shown_path
from secretkeeper import cache
from secretkeeper.regextext import factor_alternations
from secretkeeper.findings import Severity
from secretkeeper.rules import rxcache

ID_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DEFAULT_FILTERS = ("placeholder",)
_KNOWN_KEYS = {
    "id", "description", "severity", "regex", "keywords", "entropy", "validator", "filters", "path",
    "near", "remediation", "allowlist", "examples", "tags", "min_length", "kind", "generic", "secret_group",
    "prefilter", "contexts",
}
# What each key and sub-key holds (None: absent, for the optional scalars), checked before the rule is
# built: a rule file comes with the repository under scan, and a wrong type is a one-line error naming
# the rule and the key, never a crash.
_STRINGS = "a list of strings"
_EXAMPLES = "a list of strings or {path, text} tables"
_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    **dict.fromkeys(("id", "description", "severity", "regex", "remediation", "kind"), ((str,), "a string")),
    **dict.fromkeys(("path", "validator", "prefilter"), ((str, type(None)), "a string")),
    **dict.fromkeys(("keywords", "filters", "tags", "allowlist.regexes", "allowlist.stopwords",
                     "allowlist.paths", "contexts"), ((list,), _STRINGS)),
    **dict.fromkeys(("examples.true", "examples.false"), ((list,), _EXAMPLES)),
    **dict.fromkeys(("allowlist", "examples"), ((dict,), "a table")),
    "near": ((dict, type(None)), "a table"), "near.lines": ((int,), "an integer"),
    "entropy": ((int, float, type(None)), "a number"), "min_length": ((int,), "an integer"),
    "generic": ((bool,), "true or false"), "secret_group": ((str, int), "a group name or number"),
    "examples.path": ((str, type(None)), "a string"),
}


@dataclass(frozen=True)
class Near:
    rules: tuple[str, ...]  # anchors: a finding of any of these rules
    lines: int = 5


@dataclass(frozen=True)
class Allowlist:
    regexes: tuple[re.Pattern[bytes], ...] = ()
    stopwords: tuple[bytes, ...] = ()
    paths: tuple[re.Pattern[str], ...] = ()
    hashes: frozenset[str] = frozenset()  # sha256 of secrets to ignore (config allowlists only)

    def allows_path(self, path: str | None) -> bool:
        if not self.paths or path is None:  # the common case, asked once per file and rule
            return False
        return any(p.search(path) for p in self.paths)

    def allows_secret(self, secret: bytes) -> bool:
        if self.stopwords:
            low = secret.lower()
            if any(word in low for word in self.stopwords):
                return True
        if any(p.search(secret) for p in self.regexes):
            return True
        return bool(self.hashes) and hashlib.sha256(secret).hexdigest() in self.hashes


@dataclass(frozen=True)
class Examples:
    true: tuple[str, ...] = ()
    false: tuple[str, ...] = ()
    path: str | None = None
    # Per-example paths (None: `path`), parallel to `true` / `false`: a rule gated on path contexts shows
    # each context with its own files.
    true_paths: tuple[str | None, ...] = ()
    false_paths: tuple[str | None, ...] = ()

    def path_of(self, expected: bool, index: int) -> str | None:
        paths = self.true_paths if expected else self.false_paths
        own = paths[index] if index < len(paths) else None
        return own or self.path


def _example_texts(items: list[Any]) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    texts = tuple(str(e["text"]) if isinstance(e, Mapping) else str(e) for e in items)
    paths = tuple(e.get("path") if isinstance(e, Mapping) else None for e in items)
    return texts, paths if any(paths) else ()


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    severity: Severity
    regex: str
    keywords: tuple[str, ...] = ()
    entropy: float | None = None
    validator: str | None = None
    filters: tuple[str, ...] = DEFAULT_FILTERS
    path: str | None = None
    near: Near | None = None
    remediation: str = ""
    allowlist: Allowlist = field(default_factory=Allowlist)
    examples: Examples = field(default_factory=Examples)
    tags: tuple[str, ...] = ()
    min_length: int = 0
    generic: bool = False  # a generic rule yields to a specific rule that matched the same secret
    # What the Hyperscan pass runs instead of `regex`: an expression that matches the tail of every match
    # (ends where the match ends), typically the regex without a frequent leading context such as `<` or
    # `("` that would start matching work at every occurrence. Confirmation always uses `regex`. A
    # path-gated rule (not in the Hyperscan pass) has its prefilter searched with `re` in the files of
    # its path: it must then match within every match's last line, and the rule is confirmed from its
    # width back to the end of each hit's line.
    prefilter: str | None = None
    family: str = ""  # the catalog file it came from ("custom" for config rules)
    # Path contexts the rule applies in (filters.path_context); empty: everywhere. Config and credential
    # files report weak values that source code and tests hold as fixtures.
    contexts: tuple[str, ...] = ()

    @cached_property
    def pattern(self) -> re.Pattern[bytes]:
        # Literal alternations factored into prefix trees: the same regex, several times faster in `re`.
        # Catalog regexes come compiled from the cache (see rxcache), others are compiled here.
        return rxcache.compile(self.regex, confirmation_pattern)

    @cached_property
    def prefilter_pattern(self) -> re.Pattern[bytes] | None:
        # A path-gated rule's prefilter, searched with `re` in the files of its path (engine.detector).
        return re.compile(self.prefilter.encode("utf-8")) if self.prefilter is not None else None

    @cached_property
    def path_pattern(self) -> re.Pattern[str] | None:
        return re.compile(self.path) if self.path else None

    @property
    def secret_group(self) -> int | str:
        return "secret" if "secret" in self.pattern.groupindex else 0


def confirmation_pattern(regex: str) -> bytes:
    """What a rule's regex is compiled as: literal alternations factored into prefix trees."""
    return factor_alternations(regex).encode("utf-8")


def _err(source: str, rule_id: str, msg: str) -> RuleError:
    return RuleError(f"{source}: rule {shown(rule_id)!r}: {msg}")


def _check_types(data: Mapping[str, Any], source: str, rid: str) -> None:
    for key, value in data.items():
        _check_type(key, value, source, rid)
        if key in ("allowlist", "examples", "near") and isinstance(value, Mapping):
            for sub, sub_value in value.items():
                _check_type(f"{key}.{sub}", sub_value, source, rid)


def _check_type(key: str, value: Any, source: str, rid: str) -> None:
    types, what = _TYPES.get(key, ((object,), ""))
    if not isinstance(value, types) or (what == _STRINGS and not all(isinstance(v, str) for v in value)):
        raise _err(source, rid, f"{key} must be {what}")
    if what == _EXAMPLES and not all(isinstance(v, str) or _example_table(v) for v in value):
        raise _err(source, rid, f"{key} must be {what}")


def _example_table(value: Any) -> bool:
    return (isinstance(value, Mapping) and set(value) <= {"path", "text"} and isinstance(value.get("text"), str)
            and isinstance(value.get("path", ""), str))


def _compile(source: str, rule_id: str, what: str, regex: str, as_bytes: bool) -> re.Pattern[Any]:
    try:
        return re.compile(regex.encode("utf-8") if as_bytes else regex)
    except re.error as exc:
        raise _err(source, rule_id, f"{what} does not compile: {exc}") from None


def rule_from_mapping(data: Mapping[str, Any], source: str, family: str, *, check_regex: bool = True) -> Rule:
    """Build and validate one rule; errors name the source and the rule.

    `check_regex=False` defers compiling the main regex to its first use: the shipped catalog is compiled
    by the test-suite, and start-up must stay fast.
    """
    if not isinstance(data, Mapping):
        raise RuleError(f"{source}: a rule must be a table")
    rid = str(data.get("id", "<no id>"))
    unknown = set(data) - _KNOWN_KEYS
    if unknown:
        raise _err(source, rid, f"unknown key(s): {', '.join(sorted(shown(str(k)) for k in unknown))}")
    _check_types(data, source, rid)
    if not ID_RE.match(rid):
        raise _err(source, rid, "id must be kebab-case ([a-z0-9-])")
    for required in ("description", "severity", "regex"):
        if not data.get(required):
            raise _err(source, rid, f"missing {required!r}")
    try:
        severity = Severity.parse(str(data["severity"]))
    except ValueError:
        choices = ", ".join(s.value for s in Severity)  # the value is not echoed: it may be anything
        raise _err(source, rid, f"unknown severity (choose from {choices})") from None
    regex = str(data["regex"])
    if check_regex:
        _compile(source, rid, "regex", regex, as_bytes=True)
    path = data.get("path")
    if path is not None:
        _compile(source, rid, "path", str(path), as_bytes=False)
    prefilter = data.get("prefilter")
    if prefilter is not None:
        prefilter = str(prefilter)
        if check_regex:
            _compile(source, rid, "prefilter", prefilter, as_bytes=True)
    near = data.get("near")
    near_obj = None
    if near is not None:
        anchor = near.get("rule") if isinstance(near, Mapping) else None
        anchors = (anchor,) if isinstance(anchor, str) else tuple(anchor) if isinstance(anchor, list) else ()
        if not anchors or not all(isinstance(a, str) and a for a in anchors):
            raise _err(source, rid, "near must be a table with 'rule' (a rule id or a list of them) and optional 'lines'")
        near_obj = Near(rules=anchors, lines=int(near.get("lines", 5)))
    allow = data.get("allowlist") or {}
    allowlist = Allowlist(
        regexes=tuple(_compile(source, rid, "allowlist regex", r, True) for r in allow.get("regexes", [])),
        stopwords=tuple(s.lower().encode("utf-8") for s in allow.get("stopwords", [])),
        paths=tuple(_compile(source, rid, "allowlist path", r, False) for r in allow.get("paths", [])),
    )
    ex = data.get("examples") or {}
    true, true_paths = _example_texts(ex.get("true", []))
    false, false_paths = _example_texts(ex.get("false", []))
    examples = Examples(true=true, false=false, path=ex.get("path"), true_paths=true_paths,
                        false_paths=false_paths)
    from secretkeeper import filters as filter_mod
    from secretkeeper import validators as validator_mod

    rule_filters = tuple(data.get("filters", DEFAULT_FILTERS))
    for name in rule_filters:
        if name not in filter_mod.FILTERS:
            known = ", ".join(sorted(filter_mod.FILTERS))
            raise _err(source, rid, f"unknown filter {shown(name)!r} (known: {known})")
    contexts = tuple(data.get("contexts", ()))
    for name in contexts:
        if name not in filter_mod.PATH_CONTEXTS:
            raise _err(source, rid, f"unknown context {shown(name)!r} (known: {', '.join(filter_mod.PATH_CONTEXTS)})")
    if contexts == (filter_mod.CREDENTIAL_FILE,) and path is None:
        # Credential files are recognised by name: such a rule is path-gated on the classifier's pattern
        # (not in the prefilter: its keys, `token`, `auth`, are in most files; history names blobs for it).
        path = filter_mod.CREDENTIAL_FILE_PATH
    validator = data.get("validator")
    if validator is not None and validator not in validator_mod.registry():
        raise _err(source, rid, f"unknown validator {shown(validator)!r}")
    entropy = data.get("entropy")
    return Rule(
        id=rid,
        description=str(data["description"]),
        severity=severity,
        regex=regex,
        keywords=tuple(str(k) for k in data.get("keywords", [])),
        entropy=float(entropy) if entropy is not None else None,
        validator=validator,
        filters=rule_filters,
        path=path,
        near=near_obj,
        remediation=str(data.get("remediation", "")),
        allowlist=allowlist,
        examples=examples,
        tags=tuple(data.get("tags", [])),
        min_length=int(data.get("min_length", 0)),
        generic=bool(data.get("generic", False)),
        prefilter=prefilter,
        family=family,
        contexts=contexts,
    )


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    import tomllib  # only when the catalog cache misses or a rule file is given: its regexes cost start-up

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: invalid TOML: {exc}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays and inline tables
        raise RuleError(f"{source}: invalid TOML: nested too deep") from None


def _rules_from_doc(doc: Mapping[str, Any], source: str, family: str, check_regex: bool = True,
                    examples: bool = True) -> list[Rule]:
    default_remediation = str(doc.get("remediation", ""))
    items = doc.get("rules", [])
    if not isinstance(items, list):
        raise RuleError(f"{source}: `rules` must be an array of tables ([[rules]])")
    if "vendors" in doc or "prefixed" in doc:  # data tables expanded into a few rules (see rules.vendors)
        from secretkeeper.rules import vendors

        items = [*items, *vendors.expand(doc, source, examples=examples),
                 *vendors.expand_prefixed(doc, source, examples=examples)]
    rules = []
    for item in items:
        if default_remediation and isinstance(item, Mapping) and not item.get("remediation"):
            item = {**item, "remediation": default_remediation}
        rules.append(rule_from_mapping(item, source, family, check_regex=check_regex))
    return rules


def _load_toml(text: str, source: str, family: str, check_regex: bool = True) -> list[Rule]:
    return _rules_from_doc(_parse_toml(text, source), source, family, check_regex)


def builtin_rule_files() -> list[tuple[str, str]]:
    """(family, text) for every shipped catalog file, in a stable order."""
    out = []
    for entry in sorted(resources.files(__name__).iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".toml"):
            out.append((entry.name[:-5], entry.read_text(encoding="utf-8")))
    return out


def _parsed_catalog() -> list[tuple[str, dict[str, Any]]]:
    """The shipped TOML files, parsed, without their examples; cached as JSON (keyed by content) since
    TOML parsing in pure Python would be most of a pre-commit run's start-up. The examples (synthetic
    secrets) stay out of the cache so that scanning a home directory does not find them there."""
    files = builtin_rule_files()
    key = hashlib.sha256("\x00".join(f"{f}\x00{t}" for f, t in files).encode()).hexdigest()[:32]
    path = cache.cache_dir() / f"catalog-{key}.json"
    try:
        return [(f, d) for f, d in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass
    parsed = []
    for family, text in files:
        doc = _parse_toml(text, f"secretkeeper/rules/{family}.toml")
        doc["rules"] = [{k: v for k, v in item.items() if k != "examples"} for item in doc.get("rules", [])]
        parsed.append((family, doc))
    cache.save(path, json.dumps(parsed).encode("utf-8"))
    return parsed


def load_builtin_rules(*, examples: bool = False) -> list[Rule]:
    """The shipped catalog. Scans don't need the examples; `rules test` and the test-suite ask for them
    (parsed from the TOML files, not the cache)."""
    if examples:
        docs = [(f, _parse_toml(t, f"secretkeeper/rules/{f}.toml")) for f, t in builtin_rule_files()]
    else:
        docs = _parsed_catalog()
    rules: list[Rule] = []
    for family, doc in docs:
        rules.extend(_rules_from_doc(doc, f"secretkeeper/rules/{family}.toml", family, check_regex=False,
                                     examples=examples))
    check_unique(rules)
    return rules


RULE_FILE_LIMIT = 1 << 20  # about three times the whole shipped catalog


def load_rule_file(path: Path, *, within: Path | None = None) -> list[Rule]:
    """The rules of a TOML file: a regular file of at most RULE_FILE_LIMIT bytes; with `within` (a file
    that a config found in the scanned tree names), one inside that directory."""
    from secretkeeper.fileio import read_input

    source = shown_path(path)  # a config names it: it could be anything
    try:
        text = read_input(path, RULE_FILE_LIMIT, within=within).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{source}: cannot read rule file: {getattr(exc, 'strerror', None) or exc}") from None
    return _load_toml(text, source, "custom")


def check_unique(rules: Iterable[Rule]) -> None:
    """Each id defined once, and every `near` anchor a known rule."""
    rules = list(rules)  # read twice: ids first, then the anchors
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise RuleError(f"rule {shown(rule.id)!r}: defined twice (family {rule.family})")
        seen.add(rule.id)
    ids = seen
    for rule in rules:
        unknown = [a for a in rule.near.rules if a not in ids] if rule.near else []
        if unknown:
            raise RuleError(f"rule {shown(rule.id)!r}: near.rule {shown(unknown[0])!r} is not a known rule")


def merge_rules(builtin: list[Rule], custom: list[Rule], disabled: Iterable[str] = (),
                severity_overrides: Mapping[str, Severity] | None = None) -> list[Rule]:
    """Custom rules replace built-ins of the same id; disabled ids are dropped; severities overridden."""
    from dataclasses import replace

    by_id = {r.id: r for r in builtin}
    for rule in custom:
        by_id[rule.id] = rule
    for rid in disabled:
        by_id.pop(rid, None)
    # A paired-secret rule cannot run without its anchor: disabling its anchors disables it too.
    for rid in [r.id for r in by_id.values() if r.near and not any(a in by_id for a in r.near.rules)]:
        by_id.pop(rid)
    if severity_overrides:
        for rid, sev in severity_overrides.items():
            if rid in by_id:
                by_id[rid] = replace(by_id[rid], severity=sev)
    rules = list(by_id.values())
    check_unique(rules)
    return rules
