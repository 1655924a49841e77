"""The `sealed` sync target: a SealedSecret (sealed-secrets) in a folder, `DIR/NAME.yaml`, safe to commit.

Each value is sealed to the controller's certificate (secretkeeper/kube/sealing.py) for the target's
scope; the Secret's metadata (labels, annotations, type) goes into `spec.template`, and the SealedSecret's
annotations say which certificate sealed it (its SHA-256 fingerprint) and which store version it holds.

Quiet diffs: sealing is randomized, so the file is rewritten only when what it stands for changed: the
store version, the certificate, the name, scope or keys. What a file holds is known by its store version,
never by a hash of the value: a plain hash committed to Git lets anyone test guesses of a weak value,
and a keyed one would need a key every syncing machine holds and the repository does not (there is
none but the store itself). A store version names one value for good, so the version is enough.

The certificate is the file `cert` (relative to the config's folder), or, without it, the one the
controller serves at /v1/cert.pem, fetched once per process through the API server's service proxy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from providers.base import SecretVersion
from secretkeeper.config.secrets import SealedTarget, SecretConfig, kube_name
from secretkeeper.errors import SecretkeeperError
from secretkeeper.fileio import read_input, remove_stale_temps, write_private
from secretkeeper.kube.sealing import (
    MAX_CERT_BYTES,
    SCOPE_ANNOTATIONS,
    SealingCert,
    load_cert,
    scope_label,
    seal,
)
from secretkeeper.kube.sync.files import load_file, make_folder, remove_file
from secretkeeper.kube.sync.manifest import _yaml
from secretkeeper.kube.sync.secret_object import CONTENT, MANAGED_BY, VERSION, only_keys, secret_object
from secretkeeper.kube.sync.target import SyncError

SEALED_BY = "secretkeeper.io/sealed-by"  # sha256:<fingerprint of the sealing certificate>
API_VERSION, KIND = "bitnami.com/v1alpha1", "SealedSecret"
HEADER = ("# A SealedSecret written by secretkeeper (sync target `sealed`): encrypted to the sealed-secrets\n"
          "# controller's certificate; safe to commit. Re-encrypt: `secretkeeper reseal <this folder>`.\n")
MAX_FILE_BYTES = 1 << 20
_FETCHED: dict[tuple[str | None, ...], SealingCert] = {}  # one fetch per controller per process


class SealedFile:
    kind = "sealed"
    encrypted = True

    def __init__(self, options: SealedTarget, *, secret: SecretConfig, store: str, base: Path) -> None:
        self.options = options
        self.name = options.secret or secret.name
        self.namespace = options.namespace
        self.store, self.path = store, secret.path
        folder = Path(options.dir)
        self.folder = folder if folder.is_absolute() else base / folder
        self.file = self.folder / f"{self.name}.yaml"
        self.where = str(self.file)
        self.cert_file = None if options.cert is None else _resolve(base, options.cert)
        self._cert: SealingCert | None = None

    # -- the certificate -----------------------------------------------------------------------------------
    def use_cert(self, path: Path) -> None:
        """Seal with the certificate in `path` from now on (reseal --cert)."""
        self.cert_file, self._cert = path, None

    def cert(self) -> SealingCert:
        if self._cert is None:
            if self.cert_file is not None:
                try:
                    pem = read_input(self.cert_file, MAX_CERT_BYTES)
                except OSError as exc:
                    raise SyncError(f"{self.cert_file}: cannot read the sealing certificate: "
                                    f"{exc.strerror or exc}") from None
                self._cert = _loaded(pem, str(self.cert_file))
            else:
                o = self.options
                self._cert = fetch_cert(o.context, o.controller_namespace, o.controller_name)
        return self._cert

    # -- Target ------------------------------------------------------------------------------------------
    def write(self, version: SecretVersion) -> None:
        self.seal(version)

    def seal(self, version: SecretVersion) -> bool:
        """Write the SealedSecret for `version` unless the file already holds it, sealed with the current
        certificate; True when the file was (re)written."""
        version = only_keys(version, self.options.keys, self.where)
        cert = self.cert()
        try:
            kube_name(self.name)  # the managed secret's name, when `secret` is not given
        except ValueError as exc:
            raise SyncError(f"{self.where}: {self.name!r} is no Secret name ({exc}): give `secret:`") from None
        try:
            secret = secret_object(self.name, self.namespace, self.store, self.path, version)
            label = scope_label(self.options.scope, self.namespace, self.name)
        except ValueError as exc:
            raise SyncError(f"{self.where}: {exc}") from None
        body = _sealed_secret(secret, self.options.scope, cert)
        existing = self._existing()
        if existing is not None and _outline(existing) == _outline(body):
            remove_stale_temps(self.file)  # what a writer killed mid-write left beside it: not for Git
            return False
        body["spec"]["encryptedData"] = {key: seal(cert, label, version.data[key]) for key in sorted(version.data)}
        make_folder(self.folder)
        write_private(self.file, HEADER + _yaml(body))
        return True

    def remove(self) -> None:
        self._existing()  # never removes a file it did not write
        remove_file(self.file, self.where)

    def holds(self) -> str | None:
        doc = load_file(self.file, MAX_FILE_BYTES)
        return _annotation(doc, VERSION) if _ours(doc) else None

    def sealed_by(self) -> str | None:
        doc = load_file(self.file, MAX_FILE_BYTES)
        return _annotation(doc, SEALED_BY) if _ours(doc) else None

    def _existing(self) -> dict[str, Any] | None:
        """The SealedSecret this target wrote before, None when there is no file; a file that is something
        else (a workload, a SealedSecret made by kubeseal) is never overwritten."""
        if not self.file.exists():
            return None
        doc = load_file(self.file, MAX_FILE_BYTES)
        if not _ours(doc):  # a namespace or scope changed in the config is resealed, not refused
            raise SyncError(f"{self.where}: exists and is not a SealedSecret secretkeeper wrote; not "
                            "overwriting it (move it, or choose another `dir`)")
        return doc



def target(options: SealedTarget, *, secret: SecretConfig, store: str, base: Path) -> SealedFile:
    return SealedFile(options, secret=secret, store=store, base=base)


def fetch_cert(context: str | None, namespace: str, name: str) -> SealingCert:
    """The certificate the controller serves, through the API server's service proxy (as `kubeseal
    --fetch-cert` does): one request per controller per process."""
    key = (os.environ.get("KUBECONFIG"), context, namespace, name)
    if key not in _FETCHED:
        from secretkeeper.kube.client import connect

        path = (f"/api/v1/namespaces/{quote(namespace, safe='')}/services/"
                f"{quote(name, safe='')}:http/proxy/v1/cert.pem")
        where = f"sealed-secrets controller {namespace}/{name}"
        with connect(context) as conn:
            try:
                status, body = conn.get(path, {})
            except SecretkeeperError:
                raise
            except Exception as exc:  # an answer over the size cap
                raise SyncError(f"{conn.describe()}: {where}: unusable answer ({type(exc).__name__})") from None
            if status != 200:
                raise SyncError(f"{conn.describe()}: {where} did not serve its certificate (HTTP {status}); "
                                "give the certificate as a file with `cert:`")
            _FETCHED[key] = _loaded(body, f"{conn.describe()}: {where}: /v1/cert.pem")
    return _FETCHED[key]


@dataclass(frozen=True)
class SealedEntry:
    """One SealedSecret found in a folder, for `reseal --list`."""

    file: Path
    namespace: str | None
    name: str | None
    sealed_by: str | None  # the fingerprint, when secretkeeper sealed it
    version: str | None


def sealed_in(folder: Path) -> Iterator[SealedEntry]:
    """Every SealedSecret in the YAML files directly in `folder` (several documents a file are read)."""
    from ruamel.yaml import YAML, YAMLError

    for path in sorted(folder.iterdir()):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            docs = list(YAML(typ="safe").load_all(read_input(path, MAX_FILE_BYTES)))
        except (OSError, YAMLError, ValueError):
            continue  # not YAML we can read: not a SealedSecret either
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == KIND:
                namespace, name = _name(doc)
                fingerprint = _annotation(doc, SEALED_BY)
                yield SealedEntry(path, namespace, name, fingerprint,
                                  _annotation(doc, VERSION) if fingerprint else None)


def _resolve(base: Path, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else base / path


def _loaded(pem: bytes, where: str) -> SealingCert:
    try:
        return load_cert(pem, where)
    except SecretkeeperError as exc:
        raise SyncError(str(exc)) from None


def _sealed_secret(secret: dict[str, Any], scope: str, cert: SealingCert) -> dict[str, Any]:
    """The SealedSecret for `secret`, with `encryptedData` still empty. The content hash stays out: in a
    file meant for Git it would be an oracle for guesses of the value."""
    annotations = {k: v for k, v in secret["metadata"]["annotations"].items() if k != CONTENT}
    if scope in SCOPE_ANNOTATIONS:
        annotations = {SCOPE_ANNOTATIONS[scope]: "true", **annotations}
    template_meta = {**secret["metadata"], "annotations": annotations}
    metadata = {key: value for key, value in secret["metadata"].items() if key in ("name", "namespace")}
    metadata["labels"] = dict(MANAGED_BY)
    metadata["annotations"] = {**annotations, SEALED_BY: f"sha256:{cert.fingerprint}"}
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata,
            "spec": {"encryptedData": {key: "" for key in secret["data"]},
                     "template": {"metadata": template_meta, "type": secret["type"]}}}


def _outline(doc: dict[str, Any]) -> Any:
    """The document with each sealed value replaced by its key: what two writes of one version share."""
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    data = spec.get("encryptedData") if isinstance(spec.get("encryptedData"), dict) else {}
    return {**doc, "spec": {**spec, "encryptedData": sorted(data)}}


def _ours(doc: Any) -> bool:
    if not isinstance(doc, dict) or doc.get("kind") != KIND or doc.get("apiVersion") != API_VERSION:
        return False
    meta = doc.get("metadata")
    return isinstance(meta, dict) and meta.get("labels") == MANAGED_BY and _annotation(doc, SEALED_BY) is not None


def _name(doc: dict[str, Any]) -> tuple[str | None, str | None]:
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    namespace, name = meta.get("namespace"), meta.get("name")
    return (namespace if isinstance(namespace, str) else None, name if isinstance(name, str) else None)


def _annotation(doc: Any, key: str) -> str | None:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    notes = meta.get("annotations") if isinstance(meta, dict) else None
    value = notes.get(key) if isinstance(notes, dict) else None
    return str(value) if value is not None else None
