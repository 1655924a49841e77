"""The `x509` issuer: a leaf certificate, signed by a managed `x509-ca` secret or issued by a Vault PKI role.

    issuer: {type: x509, ca: internal-ca, common_name: api.example.internal,
             dns_names: [api.example.internal], ip_addresses: [10.0.0.7], ttl: 90d, renew_before: 30d,
             key_type: ecdsa, key_usage: [digital_signature], ext_key_usage: [server_auth]}
    issuer: {type: x509, common_name: api.example.internal, vault_pki: {mount: pki, role: web}}

Keys `tls.crt`, `tls.key`, `ca.crt`: what a `kubernetes.io/tls` Secret holds (the manifest target writes
that type). With `ca:`, ca.crt is the CA's trust bundle, so a consumer that trusts it keeps trusting peers
while the CA is replaced (providers/issuers/x509_ca.py). A new private key on every renewal unless
`reuse_key: true`. The certificate is due when its remaining lifetime drops below `renew_before` (default a
third of its lifetime), and, with `ca:`, as soon as the CA signs with another key or changes its bundle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from providers.base import ISSUERS, ManagedSecrets, SecretVersion
from providers.errors import IssuerError, NotFound
import providers.issuers.certs as certs  # not `from providers.issuers import`: the package imports its types
from providers.issuers.vault_pki import VaultPkiRole

KEYS = ("tls.crt", "tls.key", "ca.crt")


class X509Issuer:
    grace = timedelta(0)

    def __init__(self, secret: Any, managed: ManagedSecrets) -> None:
        cfg = secret.issuer
        self.name, self.managed, self.ca = secret.name, managed, cfg.ca
        self.common_name, self.ttl, self.reuse_key = cfg.common_name, cfg.ttl, cfg.reuse_key
        self.ip_addresses = list(cfg.ip_addresses)
        self.dns_names = list(cfg.dns_names) or ([] if self.ip_addresses else [cfg.common_name])
        self.spec = certs.key_spec(self.name, cfg.key_type, cfg.key_size)
        default_usage = ["digital_signature", "key_encipherment"] if cfg.key_type == "rsa" else ["digital_signature"]
        self.key_usage = list(cfg.key_usage) if cfg.key_usage is not None else default_usage
        self.ext_key_usage = list(cfg.ext_key_usage)
        self.pki = VaultPkiRole(self.name, cfg.vault_pki, secret.store, managed) if cfg.vault_pki else None
        if secret.keys and sorted(secret.keys) != sorted(KEYS):
            raise IssuerError(f"{self.name}: keys: a certificate holds {', '.join(KEYS)}")

    def keys(self) -> Sequence[str]:
        return KEYS

    def describe(self) -> str:
        names = ", ".join([*self.dns_names, *self.ip_addresses])
        by = (f"issued by Vault PKI {self.pki.issue_path}" if self.pki else
              f"signed by {self.ca}, a new {self.spec[0]}-{self.spec[1]} key"
              + (" (kept across renewals)" if self.reuse_key else ""))
        return f"x509: a certificate for {names} ({self.ttl.days}d), {by}, into {', '.join(KEYS)}"

    def needs(self) -> Sequence[str]:
        if self.pki:
            return self.pki.needs()
        return [f"the CA in managed secret {self.ca} (a run handles it first)"]

    def issue(self, current: SecretVersion | None) -> Mapping[str, bytes]:
        if self.pki:
            return self.pki.issue(self.common_name, self.dns_names, self.ip_addresses, self.ttl)
        ca = self._ca()
        signer = certs.load_certs(self.ca or "", "tls.crt", ca.get("tls.crt"))[0]
        signer_key = certs.load_key(self.ca or "", "tls.key", ca.get("tls.key"))
        key = None
        if self.reuse_key and current is not None and "tls.key" in current.data:
            key = certs.load_key(self.name, "the current tls.key", current.data["tls.key"])
        key = key or certs.new_key(self.spec)
        leaf = certs.make_leaf(signer, signer_key, key.public_key(), common_name=self.common_name,
                               dns_names=self.dns_names, ip_addresses=self.ip_addresses, ttl=self.ttl,
                               key_usage=self.key_usage, ext_key_usage=self.ext_key_usage, now=certs.utcnow())
        return {"tls.crt": certs.cert_pem(leaf), "tls.key": certs.key_pem(key),
                "ca.crt": ca.get("ca-bundle.crt") or ca["ca.crt"]}

    def verify(self, data: Mapping[str, bytes]) -> None:
        """The key is the certificate's; the chain validates, for every SAN, now, against the new ca.crt and
        (with `ca:`) against the CA's current trust bundle, what its consumers hold."""
        now = certs.utcnow()
        chain = certs.load_certs(self.name, "tls.crt", data.get("tls.crt"))
        key = certs.load_key(self.name, "tls.key", data.get("tls.key"))
        certs.check_key_match(self.name, "tls.crt", chain[0], key)
        trusts = [("the new ca.crt", certs.load_certs(self.name, "ca.crt", data.get("ca.crt")))]
        if self.ca:
            bundle = self._ca().get("ca-bundle.crt")
            trusts.append((f"the trust bundle of {self.ca}", certs.load_certs(self.ca, "ca-bundle.crt", bundle)))
        for against, trust in trusts:
            certs.verify_chain(self.name, chain[0], chain[1:], trust, dns_names=self.dns_names,
                               ip_addresses=self.ip_addresses, ext_key_usage=self.ext_key_usage, now=now,
                               against=against)

    def retire(self, old: SecretVersion) -> None:
        """With Vault PKI the previous certificate is revoked; a managed CA keeps no revocation list."""
        if self.pki and "tls.crt" in old.data:
            self.pki.revoke(old.data["tls.crt"])

    def notes(self, data: Mapping[str, bytes]) -> Mapping[str, str]:
        leaf = certs.load_certs(self.name, "tls.crt", data.get("tls.crt"))[0]
        notes = {"expires": leaf.not_valid_after_utc.isoformat(timespec="seconds")}
        if self.ca:
            notes["made-from"] = certs.made_from(leaf, data.get("ca.crt", b""))
        return notes

    def _ca(self) -> Mapping[str, bytes]:
        assert self.ca is not None
        try:
            data = self.managed.current(self.ca).data
        except NotFound:
            raise IssuerError(f"{self.name}: its CA {self.ca} has no version yet: rotate {self.ca} first") from None
        if "tls.key" not in data or "tls.crt" not in data:
            raise IssuerError(f"{self.name}: issuer.ca: {self.ca} holds no CA certificate and key "
                              "(is it an x509-ca secret?)")
        return data


ISSUERS.register("x509")(X509Issuer)
