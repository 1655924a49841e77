"""The KV version 2 requests a store makes, with their answers as small records: one version of an entry
(its data unless deleted), a path's metadata, a check-and-set write, a metadata write, a destroy.

The first request checks that the mount is a KV version 2 engine, as the Vault CLI does (through
sys/internal/ui/mounts): on a version 1 mount `data/...` is an ordinary name and `cas` is ignored, so a
lock would silently not lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from providers.errors import NotFound, StoreError
from providers.stores.vault.calls import Vault
from providers.stores.vault.errors import HTTPFailure, PermissionDenied


@dataclass(frozen=True)
class Version:
    number: int
    created: datetime
    gone: bool  # deleted or destroyed: no data to read


@dataclass(frozen=True)
class Entry:
    version: Version
    data: dict[str, Any] | None  # None when the version is gone


@dataclass(frozen=True)
class Metadata:
    current: int  # the version a check-and-set write must name (0: none was ever written)
    versions: dict[int, Version]
    custom: dict[str, str]
    max_versions: int

    @property
    def live(self) -> Version | None:
        """The current version when it can be read."""
        latest = self.versions.get(self.current)
        return latest if latest is not None and not latest.gone else None

    @property
    def previous(self) -> Version | None:
        """The newest readable version before the current one: what was current before it."""
        older = [v for n, v in self.versions.items() if n < self.current and not v.gone]
        return max(older, key=lambda v: v.number) if older and self.live is not None else None


def _absent(exc: HTTPFailure) -> bool:
    """A 404 for the path, not for a mount that is not there."""
    return exc.status == 404 and not exc.says("no handler for route")


def _version(number: int, meta: dict[str, Any]) -> Version:
    return Version(number, datetime.fromisoformat(meta["created_time"]),
                   bool(meta.get("deletion_time")) or bool(meta.get("destroyed")))


class KV:
    def __init__(self, vault: Vault, mount: str) -> None:
        self.vault, self.mount = vault, mount.strip("/")
        self._checked = False

    def read(self, path: str, version: int | None = None) -> Entry | None:
        """None when the path (or that version) does not exist; an Entry without data when it is gone."""
        api_path = f"{self.mount}/data/{path}"

        def get(client: Any) -> Entry | None:
            try:
                body = client.secrets.kv.v2.read_secret_version(path, version=version, mount_point=self.mount,
                                                                raise_on_deleted_version=True)["data"]
            except HTTPFailure as exc:
                if not _absent(exc):
                    raise
                if exc.metadata and exc.metadata.get("version"):
                    return Entry(_version(int(exc.metadata["version"]), exc.metadata), None)
                return None
            meta = body["metadata"]
            return Entry(_version(int(meta["version"]), meta), body["data"])

        return self._call(get, api_path, "read")

    def write(self, path: str, data: dict[str, Any], cas: int) -> None:
        """Conflict when the current version is not `cas` (0: the path must have no version yet)."""
        self._call(lambda c: c.secrets.kv.v2.create_or_update_secret(path, data, cas=cas, mount_point=self.mount),
                   f"{self.mount}/data/{path}", "update")

    def metadata(self, path: str) -> Metadata | None:
        def get(client: Any) -> Metadata | None:
            try:
                body = client.secrets.kv.v2.read_secret_metadata(path, mount_point=self.mount)["data"]
            except HTTPFailure as exc:
                if not _absent(exc):
                    raise
                return None
            versions = {int(n): _version(int(n), v) for n, v in (body.get("versions") or {}).items()}
            return Metadata(int(body.get("current_version") or 0), versions,
                            dict(body.get("custom_metadata") or {}), int(body.get("max_versions") or 0))

        return self._call(get, f"{self.mount}/metadata/{path}", "read")

    def set_metadata(self, path: str, *, max_versions: int | None = None,
                     custom: dict[str, str] | None = None) -> None:
        """Sets what is given, leaves the rest (custom metadata is replaced whole when given). Not through
        hvac's update_metadata, which always sends delete_version_after and would reset a team's setting."""
        fields: dict[str, Any] = {}
        if max_versions is not None:
            fields["max_versions"] = max_versions
        if custom is not None:
            fields["custom_metadata"] = custom
        self._call(lambda c: c.adapter.post(f"/v1/{self.mount}/metadata/{path}", json=fields),
                   f"{self.mount}/metadata/{path}", "update")

    def destroy(self, path: str, versions: list[int]) -> None:
        self._call(lambda c: c.secrets.kv.v2.destroy_secret_versions(path, versions, mount_point=self.mount),
                   f"{self.mount}/destroy/{path}", "update")

    def _call(self, fn: Any, api_path: str, capability: str) -> Any:
        if not self._checked:
            self._check_mount()
        return self.vault.call(fn, api_path=api_path, capability=capability)

    def _check_mount(self) -> None:
        assert self.vault.auth is not None
        self.vault.auth.ensure()
        try:  # `request`, not `call`: a 403 here means no access to the mount, not an expired token
            info = self.vault.request(lambda c: c.adapter.get(f"/v1/sys/internal/ui/mounts/{self.mount}")["data"],
                                      api_path=f"sys/internal/ui/mounts/{self.mount}", need="any capability under it")
        except (PermissionDenied, NotFound):  # no answer for this token: the request itself will say why
            info = None
        if info is not None and (info.get("type") != "kv" or (info.get("options") or {}).get("version") != "2"):
            version = (info.get("options") or {}).get("version") or "1"
            kind = f"KV version {version}" if info.get("type") == "kv" else f"a {info.get('type')!r} engine"
            raise StoreError(f"vault {self.vault.address}: mount {self.mount}/ is {kind}, not KV version 2")
        self._checked = True
