"""The `random` issuer: fresh random values from the `secrets` module, with per-key templates.

    issuer: {type: random, length: 32, charset: "abc...", exclude: "0O1lI",
             keep: [user], templates: {uri: "postgres://{user}:{password}@db:5432/orders"}}

The secret's `keys` (default `value`) are drawn at random, except kept keys (carried over from the
current version: a user name set once with `secretkeeper put`) and templates, which are text whose
`{placeholders}` name other keys of the same new version or `inputs`: credentials read at run time from
another stored secret (`inputs: {user: {from: "shared:mq/admin#user"}}`), spliced into the text but not
stored as keys of their own. Nothing outside changes, so verify and retire have nothing to do.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError

DEFAULT_CHARSET = string.ascii_letters + string.digits


class RandomIssuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.length = secret.name, cfg.length
        self.templates, self.kept = dict(cfg.templates), list(cfg.keep)
        from secretkeeper.config.credentials import reveal

        self._inputs = {name: reveal(value) or "" for name, value in getattr(cfg, "inputs", {}).items()}
        charset = cfg.charset if cfg.charset is not None else DEFAULT_CHARSET
        self.charset = "".join(sorted(set(charset) - set(cfg.exclude)))
        if len(self.charset) < 2:
            raise IssuerError(f"{self.name}: issuer.charset: fewer than 2 characters left after exclude")
        declared = list(secret.keys) or ["value"]
        self.random_keys = [k for k in declared if k not in self.templates and k not in self.kept]
        self._keys = [*declared, *(k for k in [*self.kept, *self.templates] if k not in declared)]
        for key, text in self.templates.items():
            for field in _placeholders(self.name, key, text):
                if field in self._inputs and field not in self._keys:
                    continue
                if field not in self._keys or field == key:
                    raise IssuerError(f"{self.name}: issuer.templates.{key}: {{{field}}} is not another key "
                                      f"of this secret ({', '.join(self._keys)}) nor one of its inputs")
                if field in self.templates:
                    raise IssuerError(f"{self.name}: issuer.templates.{key}: {{{field}}} is itself a template")

    def keys(self) -> Sequence[str]:
        return self._keys

    def describe(self) -> str:
        kept = f"; keeps {', '.join(self.kept)}" if self.kept else ""
        made = f"; templates {', '.join(self.templates)}" if self.templates else ""
        return (f"random: {self.length} characters from a set of {len(self.charset)} into "
                f"{', '.join(self.random_keys) or 'no key'}{kept}{made}")

    def needs(self) -> Sequence[str]:
        return [f"a current version holding {', '.join(self.kept)} (set with `secretkeeper put {self.name}`)"] \
            if self.kept else []

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        values: dict[str, bytes] = {}
        for key in self.kept:
            if current is None or key not in current.data:
                raise IssuerError(f"{self.name}: key {key!r} is kept from the current version, which has none: "
                                  f"set it with `secretkeeper put {self.name}`")
            values[key] = current.data[key]
        for key in self.random_keys:
            values[key] = "".join(secrets.choice(self.charset) for _ in range(self.length)).encode()
        for key, text in self.templates.items():
            try:
                fills = {**self._inputs, **{k: v.decode("utf-8") for k, v in values.items()}}
            except UnicodeDecodeError:
                raise IssuerError(f"{self.name}: issuer.templates.{key}: a kept key is not UTF-8 text") from None
            values[key] = text.format_map(fills).encode("utf-8")
        return values

    def verify(self, data: Mapping[str, bytes]) -> None:
        missing = [k for k in self._keys if k not in data]
        if missing:
            raise IssuerError(f"{self.name}: the new version lacks keys {', '.join(missing)}")

    def retire(self, old: SecretVersion) -> None:
        """Nothing to revoke: a random value is only what the store holds."""


def _placeholders(name: str, key: str, text: str) -> list[str]:
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise IssuerError(f"{name}: issuer.templates.{key}: {exc}") from None
    fields = []
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field or spec or conversion or not field.replace("-", "_").isidentifier():
            raise IssuerError(f"{name}: issuer.templates.{key}: placeholders are plain key names, "
                              f"like {{password}}")
        fields.append(field)
    return fields


ISSUERS.register("random")(RandomIssuer)
