"""The `static` issuer: a credential set by a person with `secretkeeper put` (a vendor's API key, an admin
password). It never issues: the tool tracks its age, and a due static secret is a reminder, not a
rotation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError


class StaticIssuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        self.name, self._keys = secret.name, list(secret.keys)

    def keys(self) -> Sequence[str]:
        return self._keys

    def describe(self) -> str:
        return f"static: set by a person with `secretkeeper put {self.name}`; never issued"

    def needs(self) -> Sequence[str]:
        return [f"a person to run `secretkeeper put {self.name}` when it is due"]

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        raise IssuerError(f"{self.name}: a static secret is set by a person: `secretkeeper put {self.name}`")

    def verify(self, data: Mapping[str, bytes]) -> None:
        missing = [k for k in self._keys if k not in data]
        if missing:
            raise IssuerError(f"{self.name}: the new version lacks keys {', '.join(missing)}")

    def retire(self, old: SecretVersion) -> None:
        """The person who set the new value revokes the old one where it was issued."""


ISSUERS.register("static")(StaticIssuer)
