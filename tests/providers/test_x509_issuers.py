"""The `x509-ca` and `x509` issuers on their own: what the certificates hold (SANs, key usages, key
identifiers, lifetimes), RSA and ECDSA, a new key on each renewal, what `verify` refuses, the three steps of
a CA's replacement and what each waits for, and the status notes that make a certificate due."""

from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydantic import TypeAdapter, ValidationError

from providers.base import SecretVersion, StoreStatus
from providers.errors import IssuerError, NotFound, NotYet, VerifyFailed
from providers.issuers import build_issuer, certs
from secretkeeper.config.secrets import SecretConfig
from secretkeeper.rotation import policy

CONFIG = TypeAdapter(SecretConfig)


def secret(name: str, **issuer) -> SecretConfig:
    return CONFIG.validate_python({"name": name, "store": "local", "path": f"p/{name}", "issuer": issuer})


CA = {"type": "x509-ca", "common_name": "Example Internal CA", "ttl": "3650d"}
LEAF = {"type": "x509", "ca": "internal-ca", "common_name": "api.example.internal",
        "dns_names": ["api.example.internal", "api"], "ip_addresses": ["10.0.0.7"], "ttl": "90d"}


class Managed:
    """ManagedSecrets over a dict: the current version of each secret, and which leaves need the CA."""

    def __init__(self, leaves=("api-tls",)) -> None:
        self.current_versions: dict[str, SecretVersion] = {}
        self.leaves = list(leaves)

    def current(self, name: str) -> SecretVersion:
        if name not in self.current_versions:
            raise NotFound(f"{name}: absent")
        return self.current_versions[name]

    def dependents(self, name: str):
        return self.leaves if name == "internal-ca" else []

    def store(self, name: str):
        raise AssertionError("no store is opened for a managed CA")

    def put(self, name: str, data) -> None:
        self.current_versions[name] = SecretVersion(str(len(self.current_versions) + 1), dict(data), datetime.now(UTC))


def cert(data, key="tls.crt") -> x509.Certificate:
    return x509.load_pem_x509_certificates(data[key])[0]


def ext(c: x509.Certificate, kind):
    return c.extensions.get_extension_for_class(kind).value


@pytest.fixture
def managed() -> Managed:
    return Managed()


@pytest.fixture
def ca(managed):
    issuer = build_issuer(secret("internal-ca", **CA), managed)
    managed.put("internal-ca", issuer.issue(None))
    return issuer


@pytest.mark.parametrize("key_type, key_size, kind, size", [("ecdsa", None, ec.EllipticCurvePrivateKey, 256),
                                                             ("ecdsa", 384, ec.EllipticCurvePrivateKey, 384),
                                                             ("rsa", 2048, rsa.RSAPrivateKey, 2048)])
def test_a_ca_is_a_self_signed_ca_of_the_key_type_asked_for(managed, key_type, key_size, kind, size):
    issuer = build_issuer(secret("internal-ca", **CA, key_type=key_type, key_size=key_size), managed)
    data = issuer.issue(None)
    assert set(data) == {"tls.crt", "tls.key", "ca.crt", "ca-bundle.crt"}
    c = cert(data)
    assert c.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Example Internal CA"
    assert c.subject == c.issuer and ext(c, x509.BasicConstraints).ca
    usage = ext(c, x509.KeyUsage)
    assert usage.key_cert_sign and usage.crl_sign
    assert ext(c, x509.SubjectKeyIdentifier).digest == ext(c, x509.AuthorityKeyIdentifier).key_identifier
    assert c.not_valid_after_utc - c.not_valid_before_utc == timedelta(days=3650) + certs.BACKDATE
    assert isinstance(c.public_key(), type(certs.load_key("t", "k", data["tls.key"]).public_key()))
    assert isinstance(certs.load_key("t", "k", data["tls.key"]), kind)
    assert certs.load_key("t", "k", data["tls.key"]).key_size == size
    assert data["ca.crt"] == data["ca-bundle.crt"] == data["tls.crt"]
    issuer.verify(data)


@pytest.mark.parametrize("key_type", ["ecdsa", "rsa"])
def test_a_leaf_holds_its_names_usages_and_key_identifiers_and_verifies(managed, ca, key_type):
    issuer = build_issuer(secret("api-tls", **LEAF, key_type=key_type, key_size=2048 if key_type == "rsa" else None),
                          managed)
    data = issuer.issue(None)
    assert set(data) == {"tls.crt", "tls.key", "ca.crt"}
    leaf, signer = cert(data), cert(managed.current("internal-ca").data)
    sans = ext(leaf, x509.SubjectAlternativeName)
    assert sans.get_values_for_type(x509.DNSName) == ["api.example.internal", "api"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]
    assert ext(leaf, x509.AuthorityKeyIdentifier).key_identifier == ext(signer, x509.SubjectKeyIdentifier).digest
    assert ext(leaf, x509.SubjectKeyIdentifier).digest == x509.SubjectKeyIdentifier.from_public_key(
        leaf.public_key()).digest
    assert list(ext(leaf, x509.ExtendedKeyUsage)) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = ext(leaf, x509.KeyUsage)
    assert usage.digital_signature and usage.key_encipherment == (key_type == "rsa") and not usage.key_cert_sign
    assert not ext(leaf, x509.BasicConstraints).ca
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == timedelta(days=90) + certs.BACKDATE
    assert data["ca.crt"] == managed.current("internal-ca").data["ca-bundle.crt"]
    issuer.verify(data)
    notes = issuer.notes(data)
    assert notes["expires"] == leaf.not_valid_after_utc.isoformat(timespec="seconds")
    assert notes["made-from"] == ca.notes(managed.current("internal-ca").data)["hands-out"]


def test_a_client_certificate_verifies_as_a_client(managed, ca):
    issuer = build_issuer(secret("api-tls", **{**LEAF, "ext_key_usage": ["client_auth"]}), managed)
    issuer.verify(issuer.issue(None))


def test_every_renewal_has_a_new_key_unless_reuse_key(managed, ca):
    fresh = build_issuer(secret("api-tls", **LEAF), managed)
    first = fresh.issue(None)
    again = fresh.issue(SecretVersion("1", first, datetime.now(UTC)))
    assert again["tls.key"] != first["tls.key"] and cert(again).public_key() != cert(first).public_key()
    kept = build_issuer(secret("api-tls", **LEAF, reuse_key=True), managed)
    renewed = kept.issue(SecretVersion("1", first, datetime.now(UTC)))
    assert cert(renewed).public_key() == cert(first).public_key() and cert(renewed) != cert(first)


def test_verify_refuses_a_key_that_is_not_the_certificates(managed, ca):
    issuer = build_issuer(secret("api-tls", **LEAF), managed)
    one, two = issuer.issue(None), issuer.issue(None)
    with pytest.raises(VerifyFailed, match=re.escape("api-tls: tls.crt: the private key is not the certificate's")):
        issuer.verify({**one, "tls.key": two["tls.key"]})


def test_verify_refuses_a_certificate_of_another_ca_or_for_other_names(managed, ca):
    issuer = build_issuer(secret("api-tls", **LEAF), managed)
    good = issuer.issue(None)
    other = Managed()
    other.put("internal-ca", build_issuer(secret("internal-ca", **CA), other).issue(None))
    stranger = build_issuer(secret("api-tls", **LEAF), other).issue(None)
    with pytest.raises(VerifyFailed, match="api-tls: the certificate does not verify against the trust bundle "
                                           "of internal-ca"):
        issuer.verify(stranger)
    renamed = build_issuer(secret("api-tls", **{**LEAF, "dns_names": ["api.example.internal", "www"]}), managed)
    with pytest.raises(VerifyFailed, match=re.escape("does not verify against the new ca.crt")):
        renamed.verify(good)
    with pytest.raises(VerifyFailed, match=re.escape("tls.key is not a PEM private key")):
        issuer.verify({**good, "tls.key": b"garbage"})


def test_verify_refuses_an_expired_certificate(managed, ca):
    ca_data = managed.current("internal-ca").data
    key = certs.new_key(("ecdsa", 256))
    old = certs.make_leaf(cert(ca_data), certs.load_key("ca", "k", ca_data["tls.key"]), key.public_key(),
                          common_name="api.example.internal", dns_names=["api.example.internal", "api"],
                          ip_addresses=["10.0.0.7"], ttl=timedelta(days=1), key_usage=["digital_signature"],
                          ext_key_usage=["server_auth"], now=datetime.now(UTC) - timedelta(days=3))
    issuer = build_issuer(secret("api-tls", **LEAF), managed)
    with pytest.raises(VerifyFailed, match="does not verify against"):
        issuer.verify({"tls.crt": certs.cert_pem(old), "tls.key": certs.key_pem(key), "ca.crt": ca_data["ca.crt"]})


def test_a_leaf_without_its_ca_says_which_to_rotate_first():
    issuer = build_issuer(secret("api-tls", **LEAF), Managed())
    with pytest.raises(IssuerError, match="api-tls: its CA internal-ca has no version yet: rotate internal-ca first"):
        issuer.issue(None)


@pytest.mark.parametrize("issuer, message", [
    ({**LEAF, "vault_pki": {"role": "web"}}, "give `ca` .* or `vault_pki`, exactly one"),
    ({k: v for k, v in LEAF.items() if k != "ca"}, "exactly one"),
    ({**LEAF, "ip_addresses": ["10.0.0.300"]}, "not an IP address"),
    ({**LEAF, "ext_key_usage": ["server"]}, "server_auth"),
    ({**CA, "ttl": "forever"}, "not a duration"),
])
def test_settings_the_config_refuses(issuer, message):
    with pytest.raises(ValidationError, match=message):
        secret("x", **issuer)


def test_a_key_size_that_is_not_offered_is_a_one_line_error():
    with pytest.raises(IssuerError, match=r"^internal-ca: issuer\.key_size: ECDSA curves are 256, 384 or 521$"):
        build_issuer(secret("internal-ca", **CA, key_size=512), Managed())
    with pytest.raises(IssuerError, match="RSA keys are 2048, 3072 or 4096 bits"):
        build_issuer(secret("api-tls", **LEAF, key_type="rsa", key_size=1024), Managed())


def test_a_ca_is_replaced_in_three_steps_each_waiting_for_the_leaves(managed, ca):
    leaf = build_issuer(secret("api-tls", **LEAF), managed)
    managed.put("api-tls", leaf.issue(None))
    old = cert(managed.current("internal-ca").data)

    introduced = ca.issue(managed.current("internal-ca"))  # a new CA joins the bundle; the old one signs
    ca.verify(introduced)
    new = cert(introduced, "next.crt")
    assert cert(introduced) == old and certs.load_certs("t", "b", introduced["ca-bundle.crt"]) == [old, new]
    assert ca.notes(introduced)["next-step"] == "switch signing to the new CA"
    managed.put("internal-ca", introduced)

    with pytest.raises(NotYet, match="the new CA signs once api-tls hold"):  # its ca.crt lacks the new CA
        ca.issue(managed.current("internal-ca"))
    managed.put("api-tls", leaf.issue(managed.current("api-tls")))  # re-issued: ca.crt is the new bundle
    switched = ca.issue(managed.current("internal-ca"))
    ca.verify(switched)
    assert cert(switched) == new and "next.crt" not in switched
    assert switched["ca-bundle.crt"] == introduced["ca-bundle.crt"]
    assert ca.notes(switched)["next-step"] == "drop the old CA from the trust bundle"
    managed.put("internal-ca", switched)

    with pytest.raises(NotYet, match="the old CA leaves the bundle once api-tls moved"):
        ca.issue(managed.current("internal-ca"))
    too_soon = {**switched, "ca-bundle.crt": switched["tls.crt"]}  # what dropping early would make
    with pytest.raises(VerifyFailed, match=r"does not verify against the new ca-bundle.crt \(leaf api-tls\)"):
        ca.verify(too_soon)
    managed.put("api-tls", leaf.issue(managed.current("api-tls")))  # now signed by the new CA
    dropped = ca.issue(managed.current("internal-ca"))
    ca.verify(dropped)
    assert certs.load_certs("t", "b", dropped["ca-bundle.crt"]) == [new]
    assert ca.notes(dropped)["next-step"] == ""


def status(notes, last: datetime) -> StoreStatus:
    return StoreStatus("p", exists=True, current="1", updated=last,
                       metadata={policy.LAST_ROTATED: last.isoformat(), **notes})


def test_a_certificate_is_due_when_its_remaining_lifetime_drops_below_renew_before():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    expires = {"expires": (start + timedelta(days=90)).isoformat()}
    set_30d = secret("api-tls", **LEAF, renew_before="30d")
    assert policy.due(set_30d, status(expires, start), start + timedelta(days=59)) is None
    why = policy.due(set_30d, status(expires, start), start + timedelta(days=60, hours=1))
    assert why is not None and why.reason == "expires in 29d (renew_before 30d)"
    default = secret("api-tls", **LEAF)  # a third of 90 days
    assert policy.due(default, status(expires, start), start + timedelta(days=59)) is None
    assert "a third of its lifetime" in policy.due(default, status(expires, start), start + timedelta(days=61)).reason


def test_a_leaf_is_due_once_its_ca_hands_out_something_else_and_a_ca_with_a_step_left_is_due():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    later = start + timedelta(hours=2)
    leaf = secret("api-tls", **LEAF)
    mine = status({"expires": (start + timedelta(days=90)).isoformat(), "made-from": "aaaa-1111"}, start)
    same = {"internal-ca": status({"hands-out": "aaaa-1111"}, start)}
    assert policy.due(leaf, mine, later, same) is None
    moved = {"internal-ca": status({"hands-out": "bbbb-1111"}, later)}
    assert policy.due(leaf, mine, later, moved).reason.startswith("internal-ca changed what it hands out")
    ca_secret = secret("internal-ca", **CA)
    stepping = status({"expires": (start + timedelta(days=3650)).isoformat(), "next-step": "drop the old CA"}, start)
    assert policy.due(ca_secret, stepping, start + timedelta(minutes=30)) is None  # min_interval: 1h
    assert policy.due(ca_secret, stepping, later).reason == "next step: drop the old CA"
