"""The credential vocabulary (secretwords) and the matchers built from it: each reader still accepts and
rejects the names it did when it kept its own list of words."""

from __future__ import annotations

import pytest

from secretkeeper.filters import is_code_expression, is_word
from secretkeeper.hygiene.names import is_secret_like_name
from secretkeeper.secretwords import WORDS
from secretkeeper.tabular import table_cells

ENV_NAMES = {
    True: ["DB_PASSWORD", "db-passwd", "sshPassphrase", "CLIENT_SECRET", "GITHUB_TOKEN", "stripe.apiKey", "AWS_ACCESS_KEY",
           "access-key", "PRIVATE_KEY", "privatekey", "GOOGLE_CREDENTIALS", "JWT_SIGNING_KEY", "ENCRYPTIONKEY",
           "rails.masterKey", "SESSION_KEY", "WEBHOOK_KEY", "webhookkey", "DB_CONNECTION_STRING", "connectionstring",
           "DB_CONN_STRING", "HMAC_SHA", "DB_PASS", "MYSQL_PWD", "BASIC_AUTH", "SENTRY_DSN", "PW_SALT", "SSH_PRIVKEY",
           "WIFI_PSK", "SIM_PIN", "TLS_KEY", "CERT_KEY", "auth_key"],
    False: ["DB_CONNSTRING", "COMPASS", "BYPASS_PROXY", "AUTHOR", "PINNED", "PASSWORD_FILE", "TOKEN_TTL", "SECRET_NAME",
            "TOKENIZER", "SECRETARY", "PASSTHROUGH", "USERNAME", "API_URL", "DSNX", "authkey", "PASSCODE"],
}
COLUMNS = {
    True: ["password", "Passwort", "passw0rd", "passphrase", "passcode", "pwd_hash", "client_secret", "access_token",
           "api key", "API-KEY", "apikey", "access_key", "private-key", "credentials", "auth_key", "authkey"],
    False: ["auth", "pass", "login", "username", "email", "signing_key", "hmac", "dsn", "salt", "cred"],
}
# Type names with a digit: only their credential-word parts can make them a name rather than a value.
TYPE_NAMES = {
    True: ["V1SecretVolumeSource", "V1SecretsList", "PKCS7PrivateKeyTypes", "X509KeysHolder", "Oauth2TokenInfo",
           "V2TokensPage", "V1PasswordPolicy", "Api2PasswdEntry", "V1CredentialRef", "V1CredentialsStore",
           "Http2AuthHandler", "S3AccessPoint"],
    False: ["V1PassphraseSource", "Api2LoginInfo", "V1UserRecord", "V1ConfigMapSource", "X509CertificateChain"],
}
# Lower-case identifiers: a variable named after the thing (code), and also a label when it names an account.
VARIABLES = {
    True: ["mypassword", "mypass", "dbpwd", "mysecret", "mytoken", "dbcreds", "apikey", "oauth"],
    False: ["mylogin", "myuser", "myvalue", "hostname"],
}
LABELS = {True: [*VARIABLES[True], "mylogin", "myuser"], False: ["myvalue", "hostname"]}


def cases(table: dict[bool, list[str]]) -> list[tuple[str, bool]]:
    return [(name, want) for want, names in table.items() for name in names]


@pytest.mark.parametrize("name, want", cases(ENV_NAMES))
def test_env_and_key_names(name, want):
    assert is_secret_like_name(name) is want


@pytest.mark.parametrize("column, want", cases(COLUMNS))
def test_table_columns(column, want):
    table = f"id,{column}\n7,Xk9mQ2vTr0ub4dor\n".encode()
    assert bool(list(table_cells(table, "users.csv"))) is want


@pytest.mark.parametrize("name, want", cases(TYPE_NAMES))
def test_type_names_are_words_not_values(name, want):
    assert is_word(name.encode()) is want


@pytest.mark.parametrize("name, want", cases(VARIABLES))
def test_variables_named_after_a_credential_are_code(name, want):
    assert is_code_expression(name.encode()) is want


@pytest.mark.parametrize("name, want", cases(LABELS))
def test_labels_named_after_a_credential_or_account_are_words(name, want):
    assert is_word(name.encode()) is want


def test_each_word_is_listed_once_and_counts_somewhere():
    listed = [word for word, _ in WORDS]
    assert len(listed) == len(set(listed))
    assert all(uses for _, uses in WORDS)
