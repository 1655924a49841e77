"""MemoryStore: a Store for the engine's tests, honest about what the real stores promise.

Each request reads and writes the whole state at once (in file mode under an exclusive file lock and an
atomic rename, so processes share it and a kill never leaves half a request), then calls
`crashpoints.reached("store-request")` as every real store does. Staging, promotion and the journal are
compare-and-set exactly as the Store protocol says; versions live beside the current one until discarded.

Test infrastructure: values are kept base64-encoded in clear (the real local store encrypts).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from providers.base import JournalRecord, SecretVersion, StoreStatus
from providers.errors import Conflict, NotFound, StoreError
from secretkeeper.rotation import crashpoints


class MemoryStore:
    def __init__(self, name: str = "local", file: Path | None = None) -> None:
        self.name, self.file = name, file
        self._memory: dict[str, Any] = {"paths": {}}
        self.faults: dict[str, Exception] = {}  # method name -> error raised instead of the request
        self.requests: list[str] = []  # method names, in order (this process only)
        self.delay = 0.0  # seconds each file-mode request takes, so other processes can overlap it

    # -- the Store protocol ------------------------------------------------------------------------------

    def read(self, path: str, version: str | None = None) -> SecretVersion:
        with self._request("read") as state:
            entry = state["paths"].get(path)
            vid = version or (entry or {}).get("current")
            if entry is None or vid is None or vid not in entry["versions"]:
                raise NotFound(f"{self.name}: {path}: no such secret" + (f" version {version}" if version else ""))
            return _version(entry, vid)

    def stage(self, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
        with self._request("stage") as state:
            entry = state["paths"].setdefault(path, {"versions": {}, "current": None, "previous": None,
                                                     "next": 1, "notes": {}, "journal": None})
            for vid, stored in entry["versions"].items():
                if stored["token"] == token:
                    return _version(entry, vid)
            vid = str(entry["next"])
            entry["next"] += 1
            entry["versions"][vid] = {"token": token, "created": datetime.now(UTC).isoformat(),
                                      "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}
            return _version(entry, vid)

    def staged(self, path: str, token: str) -> SecretVersion | None:
        with self._request("staged") as state:
            entry = state["paths"].get(path)
            for vid, stored in (entry or {}).get("versions", {}).items():
                if stored["token"] == token:
                    return _version(entry, vid)
            return None

    def promote(self, path: str, version: str, *, expect_current: str | None) -> None:
        with self._request("promote") as state:
            entry = state["paths"].get(path)
            if entry is None or version not in entry["versions"]:
                raise NotFound(f"{self.name}: {path}: no version {version} to promote")
            if entry["current"] == version:
                return
            if entry["current"] != expect_current:
                raise Conflict(f"{self.name}: {path}: current version is {entry['current']}, "
                               f"not {expect_current}")
            entry["previous"], entry["current"] = entry["current"], version

    def discard(self, path: str, version: str) -> None:
        with self._request("discard") as state:
            entry = state["paths"].get(path)
            if entry is None:
                return
            if entry["current"] == version:
                raise StoreError(f"{self.name}: {path}: version {version} is current: not discarded")
            entry["versions"].pop(version, None)

    def journal(self, path: str) -> MemoryJournal:
        return MemoryJournal(self, path)

    def status(self, paths: Sequence[str]) -> Mapping[str, StoreStatus]:
        with self._request("status") as state:
            out = {}
            for path in paths:
                entry = state["paths"].get(path)
                if entry is None:
                    out[path] = StoreStatus(path, exists=False)
                    continue
                current = entry["current"]
                updated = datetime.fromisoformat(entry["versions"][current]["created"]) if current else None
                out[path] = StoreStatus(path, exists=current is not None, current=current,
                                        previous=entry["previous"], updated=updated,
                                        in_progress=entry["journal"] is not None, metadata=dict(entry["notes"]))
            return out

    def annotate(self, path: str, notes: Mapping[str, str]) -> None:
        with self._request("annotate") as state:
            entry = state["paths"].get(path)
            if entry is None:
                raise NotFound(f"{self.name}: {path}: no such secret")
            merged = {**entry["notes"], **notes}
            entry["notes"] = {k: v for k, v in merged.items() if v != ""}  # "" removes a note, as in every store

    # -- test helpers ------------------------------------------------------------------------------------

    def values(self, path: str) -> dict[str, bytes] | None:
        """The current value, without counting a request."""
        entry = self._load()["paths"].get(path)
        if not entry or entry["current"] is None:
            return None
        return dict(_version(entry, entry["current"]).data)

    def versions(self, path: str) -> list[str]:
        entry = self._load()["paths"].get(path)
        return sorted(entry["versions"], key=int) if entry else []

    def set_journal(self, path: str, record: JournalRecord | None) -> None:
        with self._request("test") as state:
            state["paths"][path]["journal"] = record.to_json() if record else None

    # -- one request: the whole state, read and written at once ------------------------------------------

    @contextmanager
    def _request(self, method: str) -> Iterator[dict[str, Any]]:
        if method in self.faults:
            raise self.faults[method]
        self.requests.append(method)
        try:
            if self.file is None:
                state = json.loads(json.dumps(self._memory))  # a refused request changes nothing
                yield state
                self._memory = state
            else:
                # The lock file lives outside the store's folder: a read must leave the folder as it was.
                key = hashlib.sha256(str(self.file.resolve()).encode()).hexdigest()[:16]
                with open(Path(tempfile.gettempdir()) / f"memstore-{key}.lock", "a") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    before = json.dumps(self._load())
                    state = json.loads(before)
                    yield state
                    if self.delay:
                        time.sleep(self.delay)
                    after = json.dumps(state)
                    if after != before:  # a read writes nothing (a dry run must leave the file as it was)
                        self.file.parent.mkdir(parents=True, exist_ok=True)
                        tmp = self.file.with_suffix(".tmp")
                        tmp.write_text(after)
                        os.replace(tmp, self.file)
        finally:  # answered or refused, the request was made
            crashpoints.reached("store-request")

    def _load(self) -> dict[str, Any]:
        if self.file is None:
            return self._memory
        try:
            return json.loads(self.file.read_text())
        except FileNotFoundError:
            return {"paths": {}}


class MemoryJournal:
    def __init__(self, store: MemoryStore, path: str) -> None:
        self.store, self.path = store, path

    def read(self) -> JournalRecord | None:
        with self.store._request("journal.read") as state:
            return _record((state["paths"].get(self.path) or {}).get("journal"))

    def write(self, record: JournalRecord, *, expect: JournalRecord | None) -> None:
        with self.store._request("journal.write") as state:
            entry = state["paths"].setdefault(self.path, {"versions": {}, "current": None, "previous": None,
                                                          "next": 1, "notes": {}, "journal": None})
            held = _record(entry["journal"])
            if held != expect:
                raise Conflict(f"{self.store.name}: {self.path}: the rotation journal moved", holder=held)
            entry["journal"] = record.to_json()

    def clear(self, *, expect: JournalRecord) -> None:
        with self.store._request("journal.clear") as state:
            entry = state["paths"].get(self.path) or {}
            held = _record(entry.get("journal"))
            if held != expect:
                raise Conflict(f"{self.store.name}: {self.path}: the rotation journal moved", holder=held)
            entry["journal"] = None


def _record(text: str | None) -> JournalRecord | None:
    return JournalRecord.from_json(text) if text else None


def _version(entry: dict[str, Any], vid: str) -> SecretVersion:
    stored = entry["versions"][vid]
    stages = {"current"} if entry["current"] == vid else {"previous"} if entry["previous"] == vid else set()
    return SecretVersion(vid, {k: base64.b64decode(v) for k, v in stored["data"].items()},
                         datetime.fromisoformat(stored["created"]), frozenset(stages))
