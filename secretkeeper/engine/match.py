"""A confirmed match: what the engine hands to findings."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from secretkeeper.rules import Rule


@dataclass(frozen=True, slots=True)
class Match:
    """A confirmed secret in a buffer. Offsets are into the scanned bytes; `line` is 1-based."""

    rule: Rule
    start: int  # of the secret
    end: int
    secret: bytes
    line: int
    match_start: int

    @property
    def secret_sha256(self) -> str:
        return hashlib.sha256(self.secret).hexdigest()
