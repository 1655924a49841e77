"""Where secrets are stored: Secret and ConfigMap objects, legacy token Secrets, TLS certificates, etcd
encryption (EncryptionConfiguration), and the leaks hidden in base64-encoded values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from secretkeeper.filters import is_public_material
from secretkeeper.findings import Finding, Location
from secretkeeper.hygiene.base import Recogniser, as_dict, as_list, emit
from secretkeeper.hygiene.certs import expiry_verdict, parse_pem_certificates
from secretkeeper.hygiene.names import is_secret_like_name, looks_real, url_password
from secretkeeper.kube.objects import KubeObject
from secretkeeper.kube.secretdata import is_encoded, stored_values

if TYPE_CHECKING:  # pragma: no cover
    from secretkeeper.engine import Detector, Match

LEGACY_TOKEN_TYPE = "kubernetes.io/service-account-token"
LAST_USED_LABEL = "kubernetes.io/legacy-token-last-used"
INVALID_SINCE_LABEL = "kubernetes.io/legacy-token-invalid-since"


def _real_bytes(value: bytes | None) -> bool:
    if not value:
        return False
    return looks_real(value.decode("utf-8", "replace"), min_length=1)


def is_sops_encrypted(obj: KubeObject) -> bool:
    sops = obj.body.get("sops")
    return isinstance(sops, dict) and ("mac" in sops or "lastmodified" in sops)


def check_secret(obj: KubeObject) -> list[Finding]:
    out: list[Finding] = []
    stype = str(obj.body.get("type") or "Opaque")
    if stype == LEGACY_TOKEN_TYPE:
        out.append(_legacy_token(obj))
    if obj.source == "manifest" and not is_sops_encrypted(obj):
        values = list(stored_values(obj))
        real = [v for v in values if _real_bytes(v.value)]
        named = [v.value for v in values if is_secret_like_name(v.key)]
        if (named and not any(_real_bytes(v) for v in named)
                and not any(v.value and url_password(v.value.decode("utf-8", "replace")) for v in values)):
            real = []  # a template: every password / token / key is empty or a placeholder
        if real:
            keys = ", ".join(v.key for v in real[:5]) + (", ..." if len(real) > 5 else "")
            fields = " / ".join(sorted({v.field for v in real}))
            out.append(emit(
                "k8s-secret-plaintext-manifest", obj, ("kind",),
                f"Secret {obj.name} is committed with plaintext {fields} ({len(real)} key(s): {keys}); "
                "base64 is not encryption",
            ))
    return out


def _legacy_token(obj: KubeObject) -> Finding:
    labels = as_dict(obj.metadata.get("labels"))
    sa = as_dict(obj.metadata.get("annotations")).get("kubernetes.io/service-account.name", "?")
    notes = []
    if labels.get(LAST_USED_LABEL):
        notes.append(f"last used {labels[LAST_USED_LABEL]}")
    if labels.get(INVALID_SINCE_LABEL):
        notes.append(f"invalid since {labels[INVALID_SINCE_LABEL]}")
    extra = {k: str(v) for k, v in (("last_used", labels.get(LAST_USED_LABEL)),
                                    ("invalid_since", labels.get(INVALID_SINCE_LABEL))) if v}
    note = f" ({'; '.join(notes)})" if notes else ""
    return emit(
        "k8s-legacy-sa-token", obj, ("kind",),
        f"Secret {obj.name} is a legacy, non-expiring token for ServiceAccount {sa}{note}",
        detail="legacy-token", extra=extra,
    )


def check_configmap(obj: KubeObject, recognise: Recogniser) -> list[Finding]:
    out: list[Finding] = []
    for stored in stored_values(obj):
        value, key = stored.written, stored.key
        if stored.field != "data" or not isinstance(value, str) or not value.strip():
            continue
        reason = ""
        rule_id = recognise(value, obj.path)
        if rule_id:
            reason = f"a credential ({rule_id})"
        if not reason and url_password(value):
            reason = "a URL with an embedded password"
        if (not reason and "\n" not in value.strip() and is_secret_like_name(key) and looks_real(value, 6)
                and not is_public_material(value.encode("utf-8", "surrogateescape"),
                                           f"{key}: {value}".encode("utf-8", "surrogateescape"))):
            reason = "a literal value under a secret-like key"  # not a Sentry DSN's public key, a site key
        if reason:
            from secretkeeper.findings import Severity

            out.append(emit(
                "k8s-configmap-secret", obj, stored.path,
                f"ConfigMap {obj.name} key {key} holds {reason}; ConfigMaps are readable by anyone who can "
                "read the namespace's configuration",
                suffix=(f"data {key}",), value=value,
                severity=None if "credential" in reason or "URL" in reason else Severity.MEDIUM,
            ))
    return out


def check_tls(obj: KubeObject, now: dt.datetime | None = None) -> list[Finding]:
    out: list[Finding] = []
    for stored in stored_values(obj):
        if stored.key not in ("tls.crt", "ca.crt") or not stored.value:
            continue
        infos = parse_pem_certificates(stored.value)
        if not infos:
            continue
        info = infos[0]  # the leaf (or the first CA certificate)
        verdict = expiry_verdict(info, now)
        if verdict is None:
            continue
        severity, message = verdict
        out.append(emit(
            "tls-cert-expiry", obj, stored.path, f"Secret {obj.name} {stored.key}: {message}",
            suffix=(f"{stored.field} {stored.key}",), digest=info.der_sha256, severity=severity,
            extra={"days_left": info.days_left(now)},
        ))
    return out


def _covers_secrets(resources: list[Any]) -> bool:
    return any(str(r) in ("secrets", "*.*", "*.", "secrets.") for r in resources)


def check_encryption_config(obj: KubeObject) -> list[Finding]:
    out: list[Finding] = []
    entries = as_list(obj.body.get("resources"))
    covered = False
    for i, entry in enumerate(entries):
        entry = as_dict(entry)
        if not _covers_secrets(as_list(entry.get("resources"))):
            continue
        covered = True
        providers = as_list(entry.get("providers"))
        first = as_dict(providers[0]) if providers else {}
        if "identity" in first:
            out.append(emit(
                "k8s-etcd-encryption-identity", obj, ("resources", i, "providers", 0),
                "the first provider for secrets is identity: new and updated Secrets are written to etcd "
                "unencrypted", detail=f"resources[{i}]",
            ))
        break  # the API server uses the first entry that matches secrets
    if not covered:
        out.append(emit(
            "k8s-etcd-encryption-identity", obj, ("resources",),
            "no resources entry covers secrets: Secrets are stored in etcd unencrypted",
            detail="uncovered",
        ))
    return out


# -- leaks in values ---------------------------------------------------------------------------------------
def value_leaks(objects: list[KubeObject], detector: Detector, *, encoded_only: bool = False) -> list[Finding]:
    """Leak findings in object values, located at their key's line and named by object.

    Always: base64-decoded `Secret.data` and `ConfigMap.binaryData`. Unless `encoded_only` (manifest
    files, whose raw bytes the engine already scanned): every other string value too (live objects).
    """
    from secretkeeper.findings import finding_from_match

    out: list[Finding] = []
    for obj in objects:
        seen: set[str] = set()
        for stored in stored_values(obj):
            if not (stored.encoded and stored.value):
                continue
            for m in _decoded_matches(detector, stored.key, stored.value, obj.path or obj.ref()):
                if m.secret_sha256 in seen:
                    continue
                seen.add(m.secret_sha256)
                where = _value_location(obj, stored.path, f"{stored.field} {stored.key}")
                out.append(finding_from_match(m, where))
        if encoded_only:
            continue
        for fpath, text in _strings(obj.body, ()):
            if is_encoded(obj.kind, fpath):  # scanned decoded above
                continue
            for m in detector.scan(text.encode("utf-8", "surrogateescape"), obj.path or obj.ref()):
                if m.secret_sha256 in seen:
                    continue
                seen.add(m.secret_sha256)
                out.append(finding_from_match(m, _value_location(obj, fpath, ".".join(map(str, fpath)))))
    return out


def _decoded_matches(detector: Detector, key: str, raw: bytes, path: str) -> list[Match]:
    """Matches in a decoded value. A one-line value is also read as `KEY = "value"`: a password alone has
    nothing that marks it, and the rules that recognise one by the name it is assigned to (`DB_PASSWORD`)
    see the key it is stored under. Only matches inside the value count."""
    found = detector.scan(raw, path)
    value = raw.strip()
    if value and b"\n" not in value and b'"' not in value and b"\\" not in value:
        named = key.encode("utf-8", "surrogateescape") + b' = "'
        found.extend(m for m in detector.scan(named + value + b'"', path) if m.start >= len(named))
    return found


def _strings(node: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, (*path, i))


def _value_location(obj: KubeObject, fpath: tuple[str | int, ...], what: str) -> Location:
    source = obj.source if obj.source in ("manifest", "cluster", "image") else "manifest"
    line = obj.line(*fpath) if (obj.lines or obj.doc_line) else None
    return Location(source=source, path=obj.path, line=line, object=obj.ref(what))
