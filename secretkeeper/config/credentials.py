"""Credentials in the config: never written there, only named.

A field that takes a credential (an AppRole `secret_id`, a Vault `token`, a random issuer's template
`inputs`) takes one of

    secret_id: {from: "vault-admin:auth/approle/secretkeeper#secret_id"}   # STORE:PATH#KEY, another stored secret
    secret_id: {env: VAULT_SECRET_ID}                                     # an environment variable

and a literal there is an error, as is a literal under any key named like a credential (`password:`,
`token:`, `api_key:`...) anywhere in `stores:` or `secrets:`: the file is committed, its values are not
secret. A reference is checked when the file loads (syntax, a declared store, no store that needs itself
to open) and read when a run first needs it, through the named store's `read`: the value lives in
memory only (`Revealed`, whose repr and str are the reference, never the value).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Annotated, Any

from pydantic import PlainValidator

from secretkeeper.config.invalid import Invalid
from secretkeeper.errors import shown

# Keys whose value is a credential by name, and suffixes that make one (`admin_password`); `_file`,
# `_env`, `_path`, `_id` name where a credential is, which is fine (`secret_id_file`, `token_path`).
_CREDENTIAL_KEYS = frozenset({
    "password", "passwd", "passphrase", "secret_id", "token", "api_key", "apikey", "secret_key",
    "private_key", "client_secret", "access_key", "secret_access_key", "aws_secret_access_key",
    "session_token", "credentials", "credential", "seed",
})
_CREDENTIAL_SUFFIXES = ("_password", "_passwd", "_token", "_secret", "_secret_key", "_api_key", "_private_key")
_REF_RE = re.compile(r"(?P<store>[A-Za-z0-9][A-Za-z0-9._-]*):(?P<path>[^#\s]+)#(?P<key>[^#\s]+)")
_ENV_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `scheme://user:password@host` whose password is written out, not a {placeholder}
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:(?![^@/\s]*[{}])[^@/\s]+@")
_ADVICE = "give it as {from: STORE:PATH#KEY} (another stored secret) or {env: VARIABLE}"


@dataclass(frozen=True)
class SecretRef:
    """`from: STORE:PATH#KEY`; `loc`: where the file says it, for the line of a problem found later."""

    store: str
    path: str
    key: str
    loc: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.store}:{self.path}#{self.key}"


@dataclass(frozen=True)
class EnvRef:
    name: str
    loc: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"env {self.name}"


class Revealed:
    """A credential read for this run: `reveal()` is the value; repr and str name only where it came from."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str) -> None:
        self._value, self._source = value, source

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"<credential from {self._source}>"

    __str__ = __repr__


def _credential(value: Any) -> SecretRef | EnvRef | Revealed:
    if isinstance(value, (SecretRef, EnvRef, Revealed)):
        return value
    if isinstance(value, dict) and set(value) == {"env"}:
        name = value["env"]
        if not isinstance(name, str) or not _ENV_RE.fullmatch(name):
            raise ValueError("env: expected the name of an environment variable")
        return EnvRef(name)
    if isinstance(value, (str, int, float, bytes)):
        raise ValueError(f"inline plaintext credential: the config never holds one; {_ADVICE}")
    raise ValueError(f"expected a credential reference: {_ADVICE}")


Credential = Annotated[SecretRef | EnvRef | Revealed, PlainValidator(_credential)]


def reveal(value: SecretRef | EnvRef | Revealed | None) -> str | None:
    """The value of a resolved credential field (None when the field is not set)."""
    if value is None:
        return None
    if not isinstance(value, Revealed):  # a bug, not a user's mistake: say which field was not resolved
        raise TypeError(f"credential {value} was not resolved before use")
    return value.reveal()


def is_credential_key(key: str) -> bool:
    key = key.lower().replace("-", "_")
    return key in _CREDENTIAL_KEYS or key.endswith(_CREDENTIAL_SUFFIXES)


def prepare(plain: dict[str, Any]) -> None:
    """Check the `stores:` and `secrets:` sections of the plain document for credentials and turn each
    `{from: ...}` into a SecretRef (in place), before their models are validated."""
    stores = plain.get("stores") if isinstance(plain.get("stores"), dict) else {}
    declared = set(stores)
    needs: dict[str, set[str]] = {}
    for section in ("stores", "secrets"):
        if plain.get(section) is not None:
            plain[section] = _walk(plain[section], (section,), declared, needs)
    _check_store_cycles(needs)


def _walk(node: Any, loc: tuple[Any, ...], declared: set[str], needs: dict[str, set[str]]) -> Any:
    if isinstance(node, dict):
        if "from" in node:
            return _reference(node, loc, declared, needs)
        if set(node) == {"env"} and isinstance(node["env"], str):
            return _env(node["env"], loc)
        templates = bool(loc) and loc[-1] == "templates"  # key -> text: a key named `token` is fine there
        for key, value in node.items():
            if templates:
                if isinstance(value, str) and _URL_PASSWORD.search(value):
                    raise Invalid((*loc, key), "inline plaintext credential in a URL: write a {placeholder} "
                                  "there, filled from a key or from `inputs` ({from: STORE:PATH#KEY})", None)
            elif isinstance(key, str) and is_credential_key(key) and isinstance(value, (str, int, float)) \
                    and not isinstance(value, bool) and value != "":
                raise Invalid((*loc, key), f"inline plaintext credential: the config never holds one; {_ADVICE}",
                              None)
            node[key] = _walk(value, (*loc, key), declared, needs)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            node[i] = _walk(value, (*loc, i), declared, needs)
    return node


def _env(name: str, loc: tuple[Any, ...]) -> EnvRef:
    if not _ENV_RE.fullmatch(name):
        raise Invalid((*loc, "env"), "expected the name of an environment variable", None)
    return EnvRef(name, loc)


def _reference(node: dict[str, Any], loc: tuple[Any, ...], declared: set[str], needs: dict[str, set[str]]) -> SecretRef:
    if set(node) != {"from"}:
        extra = ", ".join(shown(str(k)) for k in node if k != "from")
        raise Invalid((*loc, "from"), f"a reference is `from:` alone (also given: {extra})", None)
    text = node["from"]
    found = _REF_RE.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise Invalid((*loc, "from"), "expected STORE:PATH#KEY, e.g. vault:admin/pg#password", None)
    ref = SecretRef(found["store"], found["path"], found["key"], loc)
    if ref.store not in declared:
        names = ", ".join(shown(name) for name in sorted(declared)) or "none"
        raise Invalid((*loc, "from"), f"store {shown(ref.store)!r} is not declared under stores "
                      f"(declared: {names})", None)
    if loc[0] == "stores":
        owner = loc[1]
        if ref.store == owner:
            raise Invalid((*loc, "from"), f"store {shown(owner)!r} cannot read its own credentials from itself",
                          None)
        needs.setdefault(owner, set()).add(ref.store)
    return ref


def _check_store_cycles(needs: dict[str, set[str]]) -> None:
    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = " -> ".join([*path[path.index(name):], name])
            raise Invalid(("stores", path[0]), f"stores need each other's credentials in a cycle: {cycle}", None)
        for other in sorted(needs.get(name, ())):
            visit(other, [*path, name])

    for name in sorted(needs):
        visit(name, [])


def references(obj: Any) -> list[SecretRef | EnvRef]:
    """Every unresolved credential in a config object (a store's, an issuer's)."""
    out: list[SecretRef | EnvRef] = []
    _map(obj, lambda ref: out.append(ref) or ref)
    return out


def resolve(obj: Any, read: Callable[[SecretRef], str]) -> Any:
    """A copy of `obj` (a config dataclass) with each credential reference replaced by its Revealed
    value: `read` reads a SecretRef, an EnvRef is read from the environment. Raises Invalid at the
    reference's line for an environment variable that is not set; `read` raises its own."""

    def one(ref: SecretRef | EnvRef) -> Revealed:
        if isinstance(ref, EnvRef):
            value = os.environ.get(ref.name, "")
            if not value:
                raise Invalid((*ref.loc, "env"), f"environment variable {ref.name} is not set", None)
            return Revealed(value, str(ref))
        return Revealed(read(ref), str(ref))

    return _map(obj, one)


def _map(obj: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(obj, (SecretRef, EnvRef)):
        return fn(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        changes = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            new = _map(value, fn)
            if new is not value:
                changes[f.name] = new
        return replace(obj, **changes) if changes else obj
    if isinstance(obj, dict):
        new_items = {k: _map(v, fn) for k, v in obj.items()}
        return new_items if any(new_items[k] is not obj[k] for k in obj) else obj
    if isinstance(obj, list):
        new_list = [_map(v, fn) for v in obj]
        return new_list if any(a is not b for a, b in zip(new_list, obj, strict=True)) else obj
    return obj
