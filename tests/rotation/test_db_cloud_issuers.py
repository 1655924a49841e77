"""The database and cloud issuers without their servers: settings that cannot work are one-line errors
naming the secret and the setting, the alternating strategy takes turns, the synced uri is a URI for any
password and host, and a login that fails says where and as whom, never with the password."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest

from providers.base import SecretVersion
from providers.errors import IssuerError, NotFound
from providers.issuers.aws_iam_key import AwsIamKeyIssuer
from providers.issuers.pglogin import login
from providers.issuers.postgres import PostgresIssuer
from secretkeeper.config.secrets import AwsIamKeyIssuer as AwsIamKeyConfig
from secretkeeper.config.secrets import PostgresIssuer as PostgresConfig
from secretkeeper.config.secrets import SecretConfig
from tests.conftest import make_token


class NoSecrets:
    def current(self, name: str) -> SecretVersion:
        raise NotFound(f"{name}: none")


def postgres(keys=(), **settings) -> PostgresIssuer:
    cfg = PostgresConfig(**{"type": "postgres", "host": "db.internal", "database": "orders", "role": "orders",
                            "admin": "pg-admin", **settings})
    return PostgresIssuer(SecretConfig(name="orders-db", store="local", path="apps/orders", issuer=cfg,
                                       keys=list(keys)), NoSecrets())


def version(**values: str) -> SecretVersion:
    return SecretVersion("3", {k: v.encode() for k, v in values.items()}, datetime.now(UTC))


@pytest.mark.parametrize("settings, keys, message", [
    ({"strategy": "single", "grace": "1h"}, (), "orders-db: issuer.grace: a `single` role has one password"),
    ({"role": "r" * 60, "strategy": "alternating"}, (), "is longer than PostgreSQL's 63-byte names"),
    ({}, ("password", "token"), "orders-db: keys: a postgres credential holds username, password, host"),
])
def test_postgres_settings_that_cannot_work(settings, keys, message):
    with pytest.raises(IssuerError) as caught:
        postgres(keys, **settings)
    assert message in str(caught.value)


def test_alternating_takes_turns_and_refuses_a_user_it_does_not_manage():
    issuer = postgres(strategy="alternating")
    assert issuer._next_user(None) == "orders"
    assert issuer._next_user(version(username="orders")) == "orders_clone"
    assert issuer._next_user(version(username="orders_clone")) == "orders"
    with pytest.raises(IssuerError, match="the current version's username is not orders or orders_clone"):
        issuer._next_user(version(username="someone"))
    assert postgres()._next_user(version(username="orders")) == "orders"  # single: always the role
    assert issuer.grace.total_seconds() == 3600 and postgres().grace.total_seconds() == 0


def test_the_uri_encodes_what_a_uri_cannot_hold():
    data = postgres(host="fd00::5", database="my db", sslmode="verify-full")._version("orders", "p@ss/w:rd")
    assert data["uri"] == b"postgresql://orders:p%40ss%2Fw%3Ard@[fd00::5]:5432/my%20db?sslmode=verify-full"
    assert sorted(data) == ["database", "host", "password", "port", "uri", "username"]


def test_issue_without_the_admin_value_says_how_to_set_it():
    with pytest.raises(IssuerError, match="admin secret 'pg-admin' has no value yet: set it with "
                                          "`secretkeeper put pg-admin`"):
        postgres().issue(None)


def test_a_failed_login_names_the_server_and_user_never_the_password():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    password = make_token()
    with pytest.raises(IssuerError) as caught, login("orders-db", host="127.0.0.1", port=port, database="orders",
                                                     user="orders", password=password,
                                                     require_auth="scram-sha-256", connect_timeout=2):
        pass
    text = str(caught.value)
    assert text.startswith(f"orders-db: postgres 127.0.0.1:{port}/orders as orders: ") and "\n" not in text
    assert password not in text


def test_an_iam_key_holds_two_keys():
    cfg = AwsIamKeyConfig(type="aws-iam-key", user="ci-bot")
    with pytest.raises(IssuerError, match="ci-bot-keys: keys: an access key holds access_key_id, secret_access_key"):
        AwsIamKeyIssuer(SecretConfig(name="ci-bot-keys", store="aws", path="ci/bot", issuer=cfg, keys=["value"]),
                        NoSecrets())
    issuer = AwsIamKeyIssuer(SecretConfig(name="ci-bot-keys", store="aws", path="ci/bot", issuer=cfg), NoSecrets())
    assert issuer.grace.total_seconds() == 24 * 3600 and list(issuer.keys()) == ["access_key_id", "secret_access_key"]


def test_a_ca_given_without_an_sslmode_is_verified_against_even_on_loopback():
    assert postgres(host="127.0.0.1", sslrootcert="/etc/ssl/db-ca.pem").sslmode == "verify-full"


@pytest.mark.parametrize("host, given, effective", [
    ("db.internal", None, "verify-full"),  # across a network: the server's certificate is checked
    ("10.0.0.7", None, "verify-full"),
    ("fd00::5", None, "verify-full"),
    ("127.0.0.1", None, "prefer"),  # loopback: no network to cross, and rarely TLS
    ("::1", None, "prefer"),
    ("localhost", None, "prefer"),
    ("/var/run/postgresql", None, "prefer"),  # a Unix socket folder
    ("db.internal", "disable", "disable"),  # the user's word wins
    ("127.0.0.1", "verify-full", "verify-full"),
])
def test_tls_verification_is_on_by_default_except_on_loopback(host, given, effective):
    issuer = postgres(host=host, **({"sslmode": given} if given else {}))
    assert issuer.sslmode == effective
    uri = issuer._version("orders", "pw")["uri"].decode()
    assert uri.endswith(f"?sslmode={effective}") if effective != "prefer" else "sslmode" not in uri


def test_a_server_without_tls_says_how_to_choose_another_sslmode(monkeypatch):
    import psycopg

    class NoTls(psycopg.OperationalError):
        pass

    def refuse(**params):
        assert params["sslmode"] == "verify-full"
        raise NoTls('connection to server at "db.internal" (10.0.0.7), port 5432 failed: server does not '
                    "support SSL, but SSL was required")

    monkeypatch.setattr(psycopg, "connect", refuse)
    password = make_token()
    with pytest.raises(IssuerError) as caught, login("orders-db", host="db.internal", port=5432, database="orders",
                                                     user="orders", password=password, require_auth="!password",
                                                     sslmode="verify-full"):
        pass
    text = str(caught.value)
    assert "server does not support SSL" in text and "issuer.sslmode" in text and "sslrootcert" in text
    assert "\n" not in text and password not in text
