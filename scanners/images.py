"""Container images: the config (Env, Labels, Cmd/Entrypoint, history[].created_by) and, on request, files.

Sources: registry references (`host[:port]/repo[:tag][@digest]`, Docker Registry v2 / OCI distribution),
`oci:DIR[:TAG]` layouts and `docker-archive:FILE.tar[:REPO:TAG]` (docker save). Manifest lists resolve to
`--platform` (default linux/amd64). Only the manifest and the config blob are fetched unless
`--image-layers` asks for the layers, which are streamed (never written to disk) with whiteouts noted:
a secret in a file a later layer deletes is still in the image, and the finding says so. Each file in a
layer gets the checks a file on disk gets (secretkeeper/blobscan.py): allowlisted paths, the engine,
Kubernetes manifests and certificates.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, ClassVar
from collections.abc import Callable, Iterable, Iterator

from scanners.files import is_binary_name
from scanners.imagejson import archive_entries, image_config, image_manifest, index_entries, parse_json
from scanners.layerlimits import LayerBudget, LayerLimitExceeded, open_archive, open_regular
from scanners.options import ImageOptions
from scanners.registry import (
    INDEX_TYPES,
    MAX_CONFIG,
    DockerCredentials,
    RegistryClient,
    parse_reference,
    verify_digest,
)
from secretkeeper.blobscan import scan_blob
from secretkeeper.engine import Detector, Match
from secretkeeper.errors import SecretkeeperError
from secretkeeper.findings import Finding, Location, finding_from_match, fingerprint
from secretkeeper.results import ScanStats

DEFAULT_PLATFORM = "linux/amd64"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass
class Layer:
    digest: str
    media_type: str
    size: int


@dataclass
class ResolvedImage:
    display: str  # what the user named
    key: str  # stable identity for fingerprints: registry/repo, oci dir, or archive name (no tag)
    digest: str  # manifest digest (docker-archive: the image id, i.e. the config digest)
    config: dict[str, Any]
    layers: list[Layer]
    open_layer: Callable[[Layer], IO[bytes]]
    cleanup: list[Callable[[], None]] = field(default_factory=list)


# -- platform selection ---------------------------------------------------------------------------------
def parse_platform(text: str) -> tuple[str, str, str | None]:
    parts = text.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise SecretkeeperError(f"--platform {text!r}: expected OS/ARCH[/VARIANT], e.g. linux/arm64/v8")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else None


def choose_manifest(index: dict[str, Any], platform: str, what: str) -> dict[str, Any]:
    want_os, want_arch, want_variant = parse_platform(platform)
    seen = []
    for desc in index_entries(index, what):
        plat = desc.get("platform") or {}
        seen.append("/".join(str(x) for x in (plat.get("os"), plat.get("architecture"), plat.get("variant")) if x))
        if plat.get("os") == want_os and plat.get("architecture") == want_arch and (
            want_variant is None or plat.get("variant") == want_variant
        ):
            return desc
    raise SecretkeeperError(f"{what}: no manifest for platform {platform} (has: {', '.join(seen) or 'none'})")


# -- sources ----------------------------------------------------------------------------------------------
def resolve(ref: str, platform: str, credentials: DockerCredentials | None = None) -> ResolvedImage:
    if ref.startswith("oci:"):
        return _resolve_oci(ref, platform)
    if ref.startswith("docker-archive:"):
        return _resolve_archive(ref)
    return _resolve_registry(ref, platform, credentials)


def _resolve_registry(text: str, platform: str, credentials: DockerCredentials | None) -> ResolvedImage:
    ref = parse_reference(text)
    client = RegistryClient(ref.registry, credentials)
    manifest, media, digest = client.manifest(ref.repository, ref.reference)
    if media in INDEX_TYPES or "manifests" in manifest:
        desc = choose_manifest(manifest, platform, str(ref))
        manifest, media, digest = client.manifest(ref.repository, desc["digest"])
    config_digest, descs = image_manifest(manifest, str(ref))
    config = image_config(client.blob(ref.repository, config_digest, MAX_CONFIG), f"{ref} config")
    layers = [Layer(*d) for d in descs]

    def open_layer(layer: Layer) -> IO[bytes]:
        return _VerifyingStream(client.blob_stream(ref.repository, layer.digest), layer.digest, f"{ref}")

    return ResolvedImage(str(ref), f"{ref.registry}/{ref.repository}", digest, config, layers, open_layer)


def _split_ref(body: str) -> tuple[str, str | None]:
    """`DIR[:TAG]` / `FILE[:REPO:TAG]`: the longest prefix that exists on disk is the path (paths and
    references may both contain ':' and '/')."""
    if os.path.exists(body):
        return body, None
    for i in [i for i, c in enumerate(body) if c == ":"]:
        if os.path.exists(body[:i]):
            return body[:i], body[i + 1 :] or None
    return body, None


def _resolve_oci(text: str, platform: str) -> ResolvedImage:
    path_text, tag = _split_ref(text[len("oci:"):])
    root = Path(path_text)
    index = parse_json(_read(root / "index.json", text, 4 << 20), f"{text} index.json")

    def path(digest: str) -> Path:  # a digest imagejson checked (sha256:HEX): a path inside the layout
        algo, _, hexd = digest.partition(":")
        return root / "blobs" / algo / hexd

    def blob(digest: str, limit: int) -> bytes:
        data = _read(path(digest), text, limit)
        verify_digest(data, digest, f"{text} blob {digest[:19]}")
        return data

    manifests = index_entries(index, f"{text} index.json")
    if tag is not None:
        picked = [m for m in manifests if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag]
    else:
        picked = manifests if len(manifests) == 1 else []
    if not picked:
        raise SecretkeeperError(f"{text}: no image {'tagged ' + repr(tag) if tag else '(name a :TAG)'} in the layout")
    desc = picked[0]
    doc = parse_json(blob(desc["digest"], 4 << 20), f"{text} manifest")
    digest = desc["digest"]
    if desc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
        desc = choose_manifest(doc, platform, text)
        digest = desc["digest"]
        doc = parse_json(blob(digest, 4 << 20), f"{text} manifest")
    config_digest, descs = image_manifest(doc, text)
    config = image_config(blob(config_digest, MAX_CONFIG), f"{text} config")
    layers = [Layer(*d) for d in descs]

    def open_layer(layer: Layer) -> IO[bytes]:
        try:
            fh = open_regular(path(layer.digest))
        except OSError as exc:
            raise SecretkeeperError(f"{text}: cannot read layer blob {layer.digest[:19]}: {exc.strerror}") from None
        return _VerifyingStream(iter(lambda: fh.read(1 << 20), b""), layer.digest, text, close=fh.close)

    return ResolvedImage(text, f"oci:{root.name}", digest, config, layers, open_layer)


def _resolve_archive(text: str) -> ResolvedImage:
    path_text, want = _split_ref(text[len("docker-archive:"):])
    try:
        tar = open_archive(path_text, text)
    except (OSError, tarfile.TarError):
        raise SecretkeeperError(f"{text}: not a readable docker-archive tarball") from None

    def open_member(name: str, what: str) -> IO[bytes]:
        try:
            fh = tar.extractfile(name)
        except KeyError:  # no such member, or a link to one
            fh = None
        if fh is None:  # names come from the archive: not repeated in the message
            raise SecretkeeperError(f"{text}: {what} is missing from the archive (or not a file)")
        return fh  # type: ignore[return-value]

    def member(name: str, what: str, limit: int) -> bytes:
        data = open_member(name, what).read(limit + 1)
        if len(data) > limit:
            raise SecretkeeperError(f"{text}: {what} is larger than {limit} bytes")
        return data

    entries = archive_entries(member("manifest.json", "manifest.json", 4 << 20), f"{text} manifest.json")
    entry = entries[0]
    if want:
        matching = [e for e in entries if any(_same_tag(want, t) for t in e.get("RepoTags") or [])]
        if not matching:
            raise SecretkeeperError(f"{text}: no image tagged {want!r} in the archive")
        entry = matching[0]
    config_bytes = member(entry["Config"], "the image config", MAX_CONFIG)
    config = image_config(config_bytes, f"{text} config")
    digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    layers = [Layer(name, "", 0) for name in entry.get("Layers") or []]
    for i, layer in enumerate(layers):  # before any layer is scanned
        open_member(layer.digest, f"layer {i}")

    def open_layer(layer: Layer) -> IO[bytes]:
        return open_member(layer.digest, "a layer")

    return ResolvedImage(text, f"docker-archive:{Path(path_text).name}", digest, config, layers, open_layer,
                         cleanup=[tar.close])


def _strip_host(tag: str) -> str:
    """`host[:port]/repo:tag` -> `repo:tag`; `library/x` -> `x` (tools write tags normalised)."""
    first, sep, rest = tag.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        tag = rest
    return tag.removeprefix("library/")


def _same_tag(want: str, have: str) -> bool:
    return want == have or _strip_host(want) == _strip_host(have)


def _read(path: Path, what: str, limit: int) -> bytes:
    try:
        with open_regular(path) as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise SecretkeeperError(f"{what}: cannot read {path.name}: {exc.strerror}") from None
    if len(data) > limit:
        raise SecretkeeperError(f"{what}: {path.name} is larger than {limit} bytes")
    return data


class _VerifyingStream(io.RawIOBase):
    """A read-only stream over chunks that checks the sha256 digest once the stream is exhausted."""

    def __init__(self, chunks: Iterator[bytes], digest: str, what: str, close: Callable[[], None] | None = None):
        self._chunks = chunks
        self._buf = b""
        self._hash = hashlib.sha256()
        self._digest = digest
        self._what = what
        self._close = close
        self.mismatch = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                chunk = next(self._chunks)
            except StopIteration:
                want = self._digest.partition(":")[2]
                if want and self._hash.hexdigest() != want:
                    self.mismatch = True
                return 0
            self._hash.update(chunk)
            self._buf = chunk
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if self._close:
            self._close()
            self._close = None
        super().close()


# -- scanning -------------------------------------------------------------------------------------------
def config_strings(config: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, text) for every string in the config that can carry a secret."""
    inner = config.get("config") or {}
    for i, env in enumerate(inner.get("Env") or []):
        name, eq, _value = str(env).partition("=")
        # An entry without `=` has no name: all of it is value, and it is named by its place instead.
        yield f"Env/{name}" if eq else f"Env[{i}]", str(env)
    for key, value in sorted((inner.get("Labels") or {}).items()):
        yield f"Labels/{key}", f"{key}={value}"
    for field_name in ("Entrypoint", "Cmd"):
        value = inner.get(field_name)
        if value:
            yield field_name, " ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    for i, entry in enumerate(config.get("history") or []):
        created = str(entry.get("created_by") or "")
        if created:
            yield f"history[{i}].created_by", created.replace("/bin/sh -c #(nop) ", "")


def scan_config(image: ResolvedImage, detector: Detector) -> list[Finding]:
    out = []
    for where, text in config_strings(image.config):
        obj = f"config/{where}"
        loc = Location(source="image", image=image.display, digest=image.digest, object=obj)
        for m in detector.scan(text.encode("utf-8", "surrogateescape"), None):
            out.append(finding_from_match(m, loc, fingerprint_path=f"{image.key}:{obj}"))
    return out


@dataclass(frozen=True)
class _InLayer:
    """Files in one layer of an image: each finding carries the image, its digest and the layer, and its
    fingerprint is keyed by the image's name without the tag (stable across tags and rebuilds)."""

    image: ResolvedImage
    index: int
    digest: str
    whole_file: ClassVar[bool] = True

    def skipped_as(self, path: str) -> str:
        return f"{self.image.display}:{path}"

    def found(self, match: Match, path: str) -> Finding:
        return finding_from_match(match, self._location(path, match.line), fingerprint_path=self._key(path),
                                  extra=self._extra())

    def adopt(self, finding: Finding) -> Finding:
        # The manifest and certificate checks build their own Locations, at the bare path: moved into the
        # image here, their own fingerprint kept as part of the image-keyed one.
        loc = finding.location
        return replace(finding, location=self._location(loc.path, loc.line, loc.object),
                       fingerprint=fingerprint(finding.rule_id, self._key(loc.path), finding.secret_sha256,
                                               finding.fingerprint),
                       extra={**finding.extra, **self._extra()})

    def _location(self, path: str | None, line: int | None, obj: str | None = None) -> Location:
        return Location(source="image", path=path, line=line, image=self.image.display, digest=self.image.digest,
                        object=obj)

    def _key(self, path: str | None) -> str:
        return f"{self.image.key}:{path}"

    def _extra(self) -> dict[str, Any]:
        return {"layer": self.index, "layer_digest": self.digest}  # a dict per finding: marked up later


def _whiteout_target(name: str) -> tuple[str, bool] | None:
    """(path removed, is_opaque) for whiteout entries, else None."""
    base = os.path.basename(name)
    parent = os.path.dirname(name)
    if base == ".wh..wh..opq":
        return parent, True
    if base.startswith(".wh."):
        return (f"{parent}/{base[4:]}" if parent else base[4:]), False
    return None


def scan_layers(image: ResolvedImage, detector: Detector, max_size: int, stats: ScanStats) -> list[Finding]:
    per_layer: list[list[tuple[str, Finding]]] = []
    removed: list[tuple[int, str, bool]] = []  # (layer index, path, opaque)
    budget = LayerBudget(image.display)
    for idx, layer in enumerate(image.layers):
        found: list[tuple[str, Finding]] = []
        per_layer.append(found)
        place = _InLayer(image, idx, layer.digest)
        stream = image.open_layer(layer)
        head = stream.read(4) if hasattr(stream, "read") else b""
        if head == _ZSTD_MAGIC:
            stats.warnings.append(f"{image.display}: layer {idx} is zstd-compressed; not scanned")
            stream.close()
            continue
        try:
            with budget.open_tar(idx, _Prepend(head, stream)) as tar:
                for member in tar:
                    name = member.name.lstrip("./") or member.name
                    wh = _whiteout_target(name)
                    if wh is not None:
                        removed.append((idx, wh[0], wh[1]))
                        continue
                    if not member.isfile():
                        continue
                    if member.size > max_size:
                        stats.skipped.add("too-large", place.skipped_as(name))
                        continue
                    path_rules = detector.path_rules_for(name)
                    if not path_rules and is_binary_name(name):
                        stats.skipped.add("binary", place.skipped_as(name))
                        continue
                    fh = tar.extractfile(member)
                    data = fh.read() if fh else b""
                    got = scan_blob(detector, data, name, place, stats, path_rules)
                    if got is None:  # binary
                        continue
                    stats.files += 1
                    stats.bytes += len(data)
                    found.extend((name, f) for f in got)
        except LayerLimitExceeded as exc:
            exc.record(stats)
        except (tarfile.TarError, OSError, EOFError) as exc:
            stats.warnings.append(f"{image.display}: layer {idx} unreadable ({type(exc).__name__}); skipped")
        finally:
            if getattr(stream, "mismatch", False):
                stats.warnings.append(f"{image.display}: layer {idx} does not match its digest")
            stream.close()
    out: list[Finding] = []
    for idx, found in enumerate(per_layer):
        for name, f in found:
            if any(j > idx and (name == p or name.startswith(p + "/") or (opq and name.startswith(p + "/")))
                   for j, p, opq in removed):
                f.extra["deleted_in_later_layer"] = True
                f = _note(f, " (deleted by a later layer, still present in the image's layer blob)")
            out.append(f)
    return out


def _note(f: Finding, text: str) -> Finding:
    return replace(f, message=f.message + text)


class _Prepend(io.RawIOBase):
    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def scan_images(refs: Iterable[str], detector: Detector, options: ImageOptions, stats: ScanStats, *,
                max_size: int, strict: bool = True) -> list[Finding]:
    """Scan each image once (deduplicated by manifest digest); layer files over `max_size` are skipped.
    `strict=False` turns per-image errors into warnings (used for images discovered in a cluster)."""
    platform = options.platform or DEFAULT_PLATFORM
    seen: set[str] = set()
    out: list[Finding] = []
    creds = DockerCredentials()
    for ref in refs:
        try:
            image = resolve(ref, platform, creds)
        except SecretkeeperError as exc:
            if strict:
                raise
            stats.warnings.append(str(exc))
            continue
        try:
            if image.digest in seen:
                continue
            seen.add(image.digest)
            stats.images += 1
            out.extend(scan_config(image, detector))
            if options.layers:
                out.extend(scan_layers(image, detector, max_size, stats))
        finally:
            for fn in image.cleanup:
                fn()
    return out
