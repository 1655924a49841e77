"""The first issuers: `random` draws what its config says (length, characters, kept keys, templates),
`keypair` makes pairs that load in the format asked for and catches halves that do not match, `static`
never issues. Bad settings are one-line errors naming the secret and the setting."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from providers.base import SecretVersion
from providers.errors import IssuerError, VerifyFailed
from providers.issuers.keypair import KeypairIssuer
from providers.issuers.random import RandomIssuer
from providers.issuers.static import StaticIssuer
from secretkeeper.config.secrets import KeypairIssuer as KeypairConfig
from secretkeeper.config.secrets import RandomIssuer as RandomConfig
from secretkeeper.config.secrets import SecretConfig, StaticIssuer as StaticConfig


def secret(issuer, keys=()) -> SecretConfig:
    return SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=issuer, keys=list(keys))


def current(**values: bytes) -> SecretVersion:
    return SecretVersion("3", values, datetime.now(UTC))


def test_random_draws_length_characters_from_the_charset_less_exclusions():
    issuer = RandomIssuer(secret(RandomConfig("random", length=64, charset="abcdef012345", exclude="0a")), None)
    values = [issuer.issue(None)["value"] for _ in range(20)]
    assert all(len(v) == 64 and set(v.decode()) <= set("bcdef12345") for v in values)
    assert len(set(values)) == 20
    assert set(b"".join(values).decode()) == set("bcdef12345")  # every allowed character comes up


def test_random_keeps_keys_and_fills_templates_from_the_new_version():
    cfg = RandomConfig("random", length=20, keep=["user"],
                       templates={"uri": "postgres://{user}:{password}@db:5432/orders"})
    issuer = RandomIssuer(secret(cfg, keys=["user", "password"]), None)
    assert list(issuer.keys()) == ["user", "password", "uri"]
    made = issuer.issue(current(user=b"orders_app", password=b"old"))
    assert made["user"] == b"orders_app" and made["password"] != b"old" and len(made["password"]) == 20
    assert made["uri"] == b"postgres://orders_app:" + made["password"] + b"@db:5432/orders"
    assert set(made["password"].decode()) <= set(string.ascii_letters + string.digits)
    with pytest.raises(IssuerError, match="key 'user' is kept from the current version, which has none: "
                                          "set it with `secretkeeper put orders-db`"):
        issuer.issue(None)
    issuer.verify(made)
    with pytest.raises(IssuerError, match="lacks keys uri"):
        issuer.verify({"user": b"u", "password": b"p"})


@pytest.mark.parametrize("cfg, message", [
    (RandomConfig("random", templates={"uri": "x://{pasword}@h"}), r"issuer.templates.uri: \{pasword\} is not another key"),
    (RandomConfig("random", templates={"uri": "x://{uri}"}), r"\{uri\} is not another key"),
    (RandomConfig("random", templates={"uri": "x://{value!r}"}), "placeholders are plain key names"),
    (RandomConfig("random", templates={"uri": "x://{value"}), "issuer.templates.uri: "),
    (RandomConfig("random", templates={"a": "{value}", "b": "{a}"}), r"\{a\} is itself a template"),
    (RandomConfig("random", charset="ab", exclude="b"), "fewer than 2 characters left after exclude"),
])
def test_random_settings_that_cannot_work_are_one_line_errors(cfg, message):
    with pytest.raises(IssuerError, match=message) as err:
        RandomIssuer(secret(cfg), None)
    assert str(err.value).startswith("orders-db: ") and "\n" not in str(err.value)


@pytest.mark.parametrize("algorithm, size, fmt, kind", [
    ("ed25519", None, "pem", ed25519.Ed25519PrivateKey),
    ("ed25519", None, "openssh", ed25519.Ed25519PrivateKey),
    ("ec", 384, "pem", ec.EllipticCurvePrivateKey),
    ("rsa", 2048, "openssh", rsa.RSAPrivateKey),
])
def test_keypair_issues_a_matching_pair_in_the_format_asked_for(algorithm, size, fmt, kind):
    issuer = KeypairIssuer(secret(KeypairConfig("keypair", algorithm=algorithm, size=size, format=fmt)), None)
    made = issuer.issue(None)
    assert set(made) == {"private_key", "public_key"}
    if fmt == "openssh":
        assert made["private_key"].startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
        assert made["public_key"].split(b" ")[0] in (b"ssh-ed25519", b"ssh-rsa")
        private = serialization.load_ssh_private_key(made["private_key"], None)
    else:
        assert made["private_key"].startswith(b"-----BEGIN PRIVATE KEY-----")
        assert made["public_key"].startswith(b"-----BEGIN PUBLIC KEY-----")
        private = serialization.load_pem_private_key(made["private_key"], None)
    assert isinstance(private, kind)
    if size:
        assert private.key_size == size if algorithm == "rsa" else private.curve.key_size == size
    issuer.verify(made)
    other = issuer.issue(None)
    assert other["private_key"] != made["private_key"]
    with pytest.raises(VerifyFailed, match="the new public key is not the private key's"):
        issuer.verify({"private_key": made["private_key"], "public_key": other["public_key"]})
    with pytest.raises(VerifyFailed, match=f"does not load as {algorithm} {fmt}"):
        issuer.verify({"private_key": b"garbage", "public_key": made["public_key"]})


@pytest.mark.parametrize("cfg, keys, message", [
    (KeypairConfig("keypair", algorithm="rsa", size=1024), (), "RSA keys are at least 2048 bits"),
    (KeypairConfig("keypair", algorithm="ec", size=255), (), "EC curves are 256, 384 or 521"),
    (KeypairConfig("keypair", algorithm="ed25519", size=256), (), "ed25519 keys have one size"),
    (KeypairConfig("keypair"), ("key",), "a keypair holds private_key, public_key"),
])
def test_keypair_settings_that_cannot_work_are_one_line_errors(cfg, keys, message):
    with pytest.raises(IssuerError, match=message):
        KeypairIssuer(secret(cfg, keys), None)


def test_static_never_issues_and_says_how_to_set_it():
    issuer = StaticIssuer(secret(StaticConfig("static"), keys=["username", "password"]), None)
    with pytest.raises(IssuerError, match=r"a static secret is set by a person: `secretkeeper put orders-db`"):
        issuer.issue(None)
    issuer.verify({"username": b"u", "password": b"p"})
    with pytest.raises(IssuerError, match="lacks keys password"):
        issuer.verify({"username": b"u"})
