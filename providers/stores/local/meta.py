"""A local secret's metadata (meta.json): its versions, which is current and previous, which token staged
each, and its status notes. Never a value: `status()` reads this file alone, without the key.

Writing this one file atomically is what commits a stage, a promote or a discard: a version file the
metadata does not list is an unfinished write, tidied away by the next writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

CURRENT, PREVIOUS, PENDING = "current", "previous", "pending"  # a version's stages


@dataclass
class VersionInfo:
    created: datetime
    token: str | None  # the token that staged it
    promoted: bool = False  # has been current once: no longer pending, part of the history


@dataclass
class Meta:
    versions: dict[str, VersionInfo] = field(default_factory=dict)  # id (a counter) -> info
    current: str | None = None
    previous: str | None = None
    next: int = 1  # the id of the next version staged
    notes: dict[str, str] = field(default_factory=dict)

    def by_token(self, token: str) -> str | None:
        return next((v for v, info in self.versions.items() if info.token == token), None)

    def pending(self) -> list[str]:
        return [v for v, info in self.versions.items() if not info.promoted and v != self.current]

    def stages(self, version: str) -> frozenset[str]:
        if version == self.current:
            return frozenset({CURRENT})
        if version == self.previous:
            return frozenset({PREVIOUS})
        return frozenset({PENDING}) if version in self.pending() else frozenset()

    def prune(self, keep: int) -> list[str]:
        """Drop the oldest versions past `keep` from the history; never the current, previous or a
        pending one. Returns the ids dropped (their files are to be removed)."""
        history = sorted((v for v, info in self.versions.items() if info.promoted), key=int)
        protected = {self.current, self.previous}
        dropped = []
        for version in history:
            if len(history) - len(dropped) <= keep:
                break
            if version not in protected:
                dropped.append(version)
        for version in dropped:
            del self.versions[version]
        return dropped

    def to_doc(self) -> dict[str, Any]:
        return {"format": 1, "current": self.current, "previous": self.previous, "next": self.next,
                "notes": self.notes,
                "versions": {v: {"created": info.created.isoformat(), "token": info.token,
                                 "promoted": info.promoted} for v, info in self.versions.items()}}

    @classmethod
    def from_doc(cls, doc: Any) -> Meta:
        """Raises ValueError saying what is wrong (the file holds no value to leak, but stay terse)."""
        if not isinstance(doc, dict) or doc.get("format") != 1:
            raise ValueError("not a format 1 metadata document")
        try:
            versions = {str(v): VersionInfo(datetime.fromisoformat(info["created"]), info["token"],
                                            bool(info["promoted"]))
                        for v, info in doc["versions"].items()}
            meta = cls(versions, doc["current"], doc["previous"], int(doc["next"]), dict(doc["notes"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValueError("metadata document has missing or malformed fields") from None
        if meta.current is not None and meta.current not in versions:
            raise ValueError(f"metadata names current version {meta.current} but does not list it")
        return meta
