"""The `x509-ca` issuer: a self-signed CA kept in the store, which signs the `x509` leaves that name it.

    issuer: {type: x509-ca, common_name: Example Internal CA, ttl: 3650d, key_type: ecdsa, key_size: 256}

Keys: `tls.crt`, `tls.key` (the signing CA), `ca.crt` (the same certificate) and `ca-bundle.crt`, the
trust bundle: every CA consumers must trust now. Sync the bundle to consumers on its own (a target with
`keys: [ca-bundle.crt]`): the CA's private key stays in the store.

A CA is replaced without downtime in three rotations, each in its own run (`rotate.min_interval` apart,
1h by default: the time a synced bundle takes to reach every consumer):

    introduce  a new CA (`next.crt`, `next.key`) joins the bundle; the old one still signs
    switch     once every leaf's ca.crt holds the new CA: the new one signs, leaves re-issue under it
    drop       once every leaf is signed by the new CA: the old one leaves the bundle

A step whose condition is not met yet waits (providers.errors.NotYet): the run skips the CA and a later
run tries again. The steps are noted in the `next-step` status note, which makes the CA due again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import NotFound, NotYet, VerifyFailed
import providers.issuers.certs as certs

KEYS = ("tls.crt", "tls.key", "ca.crt", "ca-bundle.crt")
NEXT = ("next.crt", "next.key")  # only while a new CA is being introduced
NEXT_STEP = "next-step"  # status note: the step a rotation in several runs takes next


class X509CaIssuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.managed = secret.name, managed
        self.common_name, self.ttl = cfg.common_name, cfg.ttl
        self.spec = certs.key_spec(self.name, cfg.key_type, cfg.key_size)

    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        return (f"x509-ca: a self-signed CA {self.common_name!r} ({self.spec[0]}-{self.spec[1]}, "
                f"{self.ttl.days}d) into {', '.join(KEYS)}; a new CA joins the bundle, then signs, then the "
                "old one leaves it, one step per run")

    def needs(self) -> Sequence[str]:
        return ["nothing outside secretkeeper: the CA key lives only in its store",
                "consumers that trust ca-bundle.crt (sync it to them on its own target), so a CA can be "
                "replaced without downtime"]

    # -- issue ---------------------------------------------------------------------------------------

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        now = certs.utcnow()
        if current is None or "tls.crt" not in current.data:
            key = certs.new_key(self.spec)
            cert = certs.make_ca(self.common_name, key, self.ttl, now)
            return self._data(cert, key, [cert])
        active, active_key, bundle = self._load(current.data)
        if "next.crt" in current.data:  # switch: the new CA signs from now on
            new = certs.load_certs(self.name, "next.crt", current.data["next.crt"])[0]
            new_key = certs.load_key(self.name, "next.key", current.data.get("next.key"))
            self._wait_for_bundle(new)
            return self._data(new, new_key, bundle)
        if len(bundle) > 1:  # drop: every leaf is signed by the active CA
            self._wait_for_leaves(active)
            return self._data(active, active_key, [active])
        # introduce: a new CA joins the bundle; the active one keeps signing until every consumer trusts both
        key = certs.new_key(self.spec)
        new = certs.make_ca(self.common_name, key, self.ttl, now)
        kept = [c for c in bundle if c.not_valid_after_utc > now]
        data = self._data(active, active_key, [*kept, new])
        return {**data, "next.crt": certs.cert_pem(new), "next.key": certs.key_pem(key)}

    def _data(self, cert: x509.Certificate, key: Any, bundle: Sequence[x509.Certificate]) -> dict[str, bytes]:
        pem = certs.cert_pem(cert)
        return {"tls.crt": pem, "tls.key": certs.key_pem(key), "ca.crt": pem,
                "ca-bundle.crt": certs.bundle_pem(bundle)}

    def _load(self, data: Mapping[str, bytes]) -> tuple[x509.Certificate, Any, list[x509.Certificate]]:
        active = certs.load_certs(self.name, "tls.crt", data.get("tls.crt"))[0]
        key = certs.load_key(self.name, "tls.key", data.get("tls.key"))
        bundle = certs.load_certs(self.name, "ca-bundle.crt", data.get("ca-bundle.crt") or data.get("ca.crt"))
        return active, key, bundle

    def _leaves(self) -> list[tuple[str, SecretVersion]]:
        out = []
        for name in self.managed.dependents(self.name):
            try:
                out.append((name, self.managed.current(name)))
            except NotFound:  # not issued yet: it is issued under whatever CA signs then
                continue
        return out

    def _wait_for_bundle(self, new: x509.Certificate) -> None:
        """Leaves hand their ca.crt to consumers too: the new CA signs only once every one holds it."""
        want = certs.fingerprint(new)
        behind = [name for name, leaf in self._leaves()
                  if want not in {certs.fingerprint(c) for c in _certs(leaf.data.get("ca.crt"))}]
        if behind:
            raise NotYet(f"{self.name}: the new CA signs once {', '.join(behind)} hold(s) the new trust bundle "
                         "(their next rotation)")

    def _wait_for_leaves(self, active: x509.Certificate) -> None:
        signer = certs.ski(active)
        behind = [name for name, leaf in self._leaves()
                  if any(certs.aki(c) != signer for c in _certs(leaf.data.get("tls.crt"))[:1])]
        if behind:
            raise NotYet(f"{self.name}: the old CA leaves the bundle once {', '.join(behind)} moved to the new "
                         "CA (their next rotation)")

    # -- verify --------------------------------------------------------------------------------------

    def verify(self, data: Mapping[str, bytes]) -> None:
        """Each CA is a valid self-signed CA whose key it holds and that the bundle holds; each can sign a
        leaf that validates against the bundle; every current leaf still validates against the bundle."""
        now = certs.utcnow()
        active, key, bundle = self._load(data)
        signers = [("tls.crt", active, key)]
        if "next.crt" in data:
            signers.append(("next.crt", certs.load_certs(self.name, "next.crt", data["next.crt"])[0],
                            certs.load_key(self.name, "next.key", data.get("next.key"))))
        held = {certs.fingerprint(c) for c in bundle}
        for what, cert, cert_key in signers:
            certs.check_ca(self.name, what, cert, now)
            certs.check_key_match(self.name, what, cert, cert_key)
            if certs.fingerprint(cert) not in held:
                raise VerifyFailed(f"{self.name}: ca-bundle.crt does not hold the CA of {what}")
            certs.probe(self.name, cert, cert_key, bundle, now, "the new ca-bundle.crt")
        for name, leaf in self._leaves():
            _still_trusted(self.name, name, leaf, bundle, now)

    def retire(self, old: SecretVersion) -> None:
        """Nothing to revoke: an old CA leaves the bundle through the `drop` step, not here."""

    def notes(self, data: Mapping[str, bytes]) -> Mapping[str, str]:
        active = certs.load_certs(self.name, "tls.crt", data.get("tls.crt"))[0]
        bundle = data.get("ca-bundle.crt", b"")
        if "next.crt" in data:
            step = "switch signing to the new CA"
        elif len(_certs(bundle)) > 1:
            step = "drop the old CA from the trust bundle"
        else:
            step = ""  # "" clears the note
        return {"expires": _iso(active.not_valid_after_utc), "hands-out": certs.hands_out(active, bundle),
                NEXT_STEP: step}


def _still_trusted(name: str, leaf_name: str, leaf: SecretVersion, bundle: Sequence[x509.Certificate],
                   now: datetime) -> None:
    """A leaf valid now must stay trusted by the new bundle (a CA leaves it only after its leaves moved)."""
    chain = _certs(leaf.data.get("tls.crt"))
    if not chain or not chain[0].not_valid_before_utc <= now <= chain[0].not_valid_after_utc:
        return  # expired or unreadable already: its own renewal is what fixes it
    cert = chain[0]
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return
    try:
        usages = {u.dotted_string for u in cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value}
    except x509.ExtensionNotFound:
        usages = set()
    ext = [k for k, oid in certs.EXT_KEY_USAGES.items() if oid.dotted_string in usages]
    certs.verify_chain(name, cert, chain[1:], bundle, dns_names=sans.get_values_for_type(x509.DNSName),
                       ip_addresses=[str(ip) for ip in sans.get_values_for_type(x509.IPAddress)],
                       ext_key_usage=[u for u in ext if u in ("server_auth", "client_auth")] or ["server_auth"],
                       now=now, against=f"the new ca-bundle.crt (leaf {leaf_name})")


def _certs(pem: bytes | None) -> list[x509.Certificate]:
    try:
        return x509.load_pem_x509_certificates(pem or b"")
    except ValueError:
        return []


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="seconds")


ISSUERS.register("x509-ca")(X509CaIssuer)
