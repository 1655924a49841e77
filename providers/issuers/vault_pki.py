"""Certificates from a PKI secrets engine of Vault or OpenBao, for the `x509` issuer's `vault_pki:`.

    issuer: {type: x509, common_name: api.example.internal, vault_pki: {mount: pki, role: web}}

Issue is `POST <mount>/issue/<role>` (the engine makes the key pair and signs; the role decides key type,
allowed names and the longest ttl); retire is `POST <mount>/revoke` of the previous certificate's serial.
Requests go through the `vault` store's connection (its address, TLS settings and login), with its retries
and one-line errors. Only what Vault itself offers is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from cryptography import x509

from providers.base import ManagedSecrets
from providers.errors import IssuerError
import providers.issuers.certs as certs


class VaultPkiRole:
    def __init__(self, secret_name: str, options: Any, default_store: str, managed: ManagedSecrets) -> None:
        self.secret, self.mount, self.role = secret_name, options.mount.strip("/"), options.role
        self.store_name = options.store or default_store
        self.managed = managed
        self._vault: Any = None

    @property
    def issue_path(self) -> str:
        return f"{self.mount}/issue/{self.role}"

    @property
    def revoke_path(self) -> str:
        return f"{self.mount}/revoke"

    def needs(self) -> Sequence[str]:
        return [f'Vault policy for the token of store {self.store_name}: path "{self.issue_path}" '
                '{ capabilities = ["update"] }',
                f'and path "{self.revoke_path}" {{ capabilities = ["update"] }} (revokes the previous certificate)',
                f"a PKI role {self.role!r} on mount {self.mount!r} that allows these names and this ttl "
                "(the role decides the key type)"]

    def vault(self) -> Any:
        """The store's Vault connection (opened once, when first needed)."""
        if self._vault is None:
            store = self.managed.store(self.store_name)
            self._vault = getattr(store, "vault", None)
            if self._vault is None:
                raise IssuerError(f"{self.secret}: issuer.vault_pki.store: {self.store_name!r} is not a vault "
                                  "store (name one with vault_pki.store)")
        return self._vault

    def issue(self, common_name: str, dns_names: Sequence[str], ip_addresses: Sequence[str],
              ttl: timedelta) -> dict[str, bytes]:
        body = {"common_name": common_name, "alt_names": ",".join(dns_names), "ip_sans": ",".join(ip_addresses),
                "ttl": f"{int(ttl.total_seconds())}s", "format": "pem", "private_key_format": "pkcs8"}
        answer = self.vault().call(lambda c: c.write_data(self.issue_path, data=body), api_path=self.issue_path,
                                   capability="update")
        data = (answer or {}).get("data") or {}
        if not all(isinstance(data.get(k), str) for k in ("certificate", "private_key", "issuing_ca")):
            raise IssuerError(f"{self.secret}: {self.issue_path} answered without a certificate, key and CA")
        chain = [c for c in data.get("ca_chain") or [] if isinstance(c, str)] or [data["issuing_ca"]]
        loaded = [x509.load_pem_x509_certificate(c.encode()) for c in chain]
        roots = [c for c in loaded if c.subject == c.issuer]
        below = [c for c in loaded if c.subject != c.issuer]
        # tls.crt: the leaf and any intermediates a peer needs; ca.crt: the root(s) to trust
        return {"tls.crt": data["certificate"].strip().encode() + b"\n" + certs.bundle_pem(below),
                "tls.key": data["private_key"].strip().encode() + b"\n",
                "ca.crt": certs.bundle_pem(roots or loaded)}

    def revoke(self, tls_crt: bytes) -> None:
        try:
            cert = x509.load_pem_x509_certificates(tls_crt)[0]
        except (ValueError, IndexError):
            return  # nothing readable to revoke
        serial = ":".join(f"{b:02x}" for b in cert.serial_number.to_bytes(20, "big").lstrip(b"\0"))
        self.vault().call(lambda c: c.write_data(self.revoke_path, data={"serial_number": serial}),
                          api_path=self.revoke_path, capability="update")
