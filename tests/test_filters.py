"""Value filters: each one, table-driven, on the values real files hold (synthetic values only)."""

from __future__ import annotations

import pytest

from secretkeeper.filters import (
    FILTERS,
    is_code_expression,
    is_numeric,
    is_placeholder,
    is_resource_name,
    is_word,
    shannon_entropy,
)


def test_existing_filter_names_still_registered() -> None:
    for name in ("placeholder", "env-ref", "uuid", "hash", "integrity", "public", "data-uri", "code", "path"):
        assert name in FILTERS
    for name in ("word", "numeric", "name"):
        assert name in FILTERS


@pytest.mark.parametrize("value, is_filtered", [
    ("changeme", True), ("CHANGE_ME", True), ("your_password_here", True), ("<password>", True),
    ("${DB_PASSWORD}", True), ("$DB_PASSWORD", True), ("{{ db_password }}", True), ("%(password)s", True),
    ("%s", True), ("********", True), ("xxxxxxxx", True), ("password", True), ("null", True), ("", True),
    ("%DB_PASSWORD%", True), ("@@DB_PASSWORD@@", True), ("<%= ENV['DB_PASSWORD'] %>", True),
    ("__DB_PASSWORD__", True), ("((db_password))", True), ("abcdef123", True), ("example-secret", True),
    ("Xq7#mLp29v", False), ("Summer2024!", False), ("k8Lm2Qp9zXv4Rt7", False), ("Zx9qw8Er7%", False),
])
def test_placeholder(value: str, is_filtered: bool) -> None:
    assert is_placeholder(value.encode()) is is_filtered


@pytest.mark.parametrize("value, match, is_filtered", [
    ("get_password()", "password = get_password()", True),
    ("self.password", "password = self.password", True),
    ("config.db.password", "password = config.db.password", True),
    ("kwargs.get(", "password = kwargs.get(", True),
    ("request.form[", "password = request.form[", True),
    ("user_password", "password = user_password", True),
    ("DB_PASSWORD", "password = DB_PASSWORD", True),
    ("dbPassword", "password = dbPassword", True),
    ("SecretStr", "password: SecretStr", True),
    ("mypassword", "password = mypassword", True),
    ("!vault", "password: !vault", True),
    ("Optional[str]", "password: Optional[str]", True),
    ("env!(", "let password = env!(", True),
    ("uznku.ZFh3D1", "DB_PASSWORD=uznku.ZFh3D1", False),
    ("Q.78yjjirUIW", "password: Q.78yjjirUIW", False),
    ("ta1M!VePbhlg", "PASSWORD=ta1M!VePbhlg", False),
    ("Xk9mP2vLq8", "DB_PASSWORD=Xk9mP2vLq8", False),
    ("get_password()", 'password = "get_password()"', False),  # quoted: a literal, not code
    ("verification_tokens?.[0]", "verificationToken = verification_tokens?.[0]", True),  # optional chaining
    ("adapter!.createToken?.({", "token = adapter!.createToken?.({", True),  # non-null assertion, optional call
])
def test_code(value: str, match: str, is_filtered: bool) -> None:
    assert is_code_expression(value.encode(), match.encode()) is is_filtered


@pytest.mark.parametrize("value, is_filtered", [
    ("Password", True), ("Passwort", True), ("Kennwort", True), ("hidden", True), ("required", True),
    ("passwordInput", True), ("confirm_password", True), ("secretKey", True), ("user-password", True),
    ("Mandatory.", True), ("bcrypt", True), ("V1SecretVolumeSource", True), ("PKCS7PrivateKeyTypes", True),
    ("ConfigMap", True), ("SecretKeyRef", True), ("GoodLuck7", False), ("Tr0ub4dorAnd3", False),
    ("kJ9GtnAsutfa", False), ("D4QQwjFeyyncwHsnN9B8k9LtrJblaWx8", False),
    ("hunter2x", False), ("Summer2024!", False), ("letmein", False), ("Xq7#mLp29v", False), ("P@ssw0rd", False),
])
def test_word(value: str, is_filtered: bool) -> None:
    assert is_word(value.encode()) is is_filtered


@pytest.mark.parametrize("value, is_filtered", [
    ("12345678", True), ("3600", True), ("1.2.3", True), ("2024-01-01", True), ("30s", True), ("8080", True),
    ("9f8e7d6c", False), ("Zx9qw8Er7", False), ("1a2b3c4d5e6f", False),
])
def test_numeric(value: str, is_filtered: bool) -> None:
    assert is_numeric(value.encode()) is is_filtered


@pytest.mark.parametrize("value, is_filtered", [
    ("my-app-secret", True), ("prod/db/password", True), ("db_credentials_v2", True), ("tls-cert", True),
    ("projects/p1/secrets/s1", True), (".models.v1_secret", True),
    ("io.x-k8s.kind.cluster", True), ("resume-token-1000", True), ("access-token-1234", True),
    ("k8Lm2Qp9zXv4Rt7", False), ("django-insecure-7x#k2m", False), ("Zx9qw8Er7", False),
    ("tom156xoes68y12x52iah2p64", False), ("key-3ax6xnjp29jd6fds4gc373sgvjxteol0", False),
])
def test_resource_name(value: str, is_filtered: bool) -> None:
    assert is_resource_name(value.encode()) is is_filtered


@pytest.mark.parametrize("name, value, match, is_filtered", [
    ("env-ref", "os.environ['X']", "password = os.environ['X']", True),
    ("env-ref", "process.env.DB_PASSWORD", "password: process.env.DB_PASSWORD", True),
    ("uuid", "0f8fad5b-d9cb-469f-a165-70867728950e", "", True),
    ("path", "/run/secrets/db", "password_file: /run/secrets/db", True),
    ("path", "https://auth.example.io/token", "", True),
    ("public", "AAAAC3NzaC1lZDI1NTE5", "public_key = AAAAC3NzaC1lZDI1NTE5", True),
    ("data-uri", "data:image/png;base64,iVBORw0KGgo", "", True),
    ("hash", "8f3a2b1c9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a", "commit_sha: 8f3a2b1c9d0e7f6a5b4c3d2e1f0a9b8c7d6e5f4a", True),
    ("path", "ci/beanstalk/app-626-1313.war", '"S3Key": "ci/beanstalk/app-626-1313.war"', True),
    ("path", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzX9kLmQ2", "", False),  # slashes, no file name: base64
    ("public", "6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIU", "'recaptcha_site_key' => '6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIU'", True),
    ("public", "6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIU", "'websiteKey' => '6L1Vr8DiZ4ZMRAe_zAV8emMtlZgEWTzH6lOeaNIU'", False),
    ("placeholder", "Verification</strong>", "", True),  # markup
    ("env-ref", "Xk9mP2vLq8", "password = Xk9mP2vLq8", False),
    ("path", "Xk9mP2vLq8", "", False),
])
def test_other_filters(name: str, value: str, match: str, is_filtered: bool) -> None:
    assert FILTERS[name](value.encode(), match.encode()) is is_filtered


def test_entropy_orders_random_above_words() -> None:
    assert shannon_entropy(b"k8Lm2Qp9zXv4Rt7Wn3") > 3.5 > shannon_entropy(b"aaaabbbb")


def test_short_placeholder_words_only_as_whole_words():
    from secretkeeper.filters import is_placeholder

    assert is_placeholder(b"TODO") and is_placeholder(b"todo-set-me") and is_placeholder(b"dummy")
    assert not is_placeholder(b"q8WtoDoZ1xR7pKb2Vn4Lm6")  # random token that happens to contain "todo"
    assert not is_placeholder(b"aTbDk29Xq7Lw3Rz8Pn1V")


@pytest.mark.parametrize("line", [
    b'    "V1Secret": ".v1_secret",\n',
    b'    "secret": V1SecretVolumeSource.from_dict(obj["secret"]) if obj.get("secret") is not None else None,\n',
    b'    "serviceAccountToken": V1ServiceAccountTokenProjection.from_dict(obj["serviceAccountToken"]),\n',
])
def test_generated_client_code_is_not_a_secret(line):
    """Seen in the kubernetes client's generated models: module paths and method calls as values."""
    from secretkeeper.config import Config
    from secretkeeper.pipeline import build_detector

    assert build_detector(Config()).scan(line, "models.py") == []


def test_field_initialised_from_reads_as_the_regex_built_around_the_value():
    """`Password: invoice` is recognised without compiling a regex around each candidate; the answer is
    the one that regex (`$` included: the end, or before a final newline) gives."""
    import random
    import re

    from secretkeeper.filters import _field_initialised_from

    rng = random.Random(5)
    parts = [b"Password:", b"Password: ", b"Password:\t", b"pass:", b" ", b"{", b"(", b",", b"x", b"\n", b"Db",
             b"invoice", b"inv", b"voice", b"_a1", b"Key:invoice"]
    for _ in range(4000):
        s = rng.choice([b"invoice", b"inv", b"voice", b"_a1", b"a"])
        match = b"".join(rng.choice(parts) for _ in range(rng.randrange(0, 6))) + rng.choice([s, s + b"\n", b""])
        want = bool(re.search(rb"(?:^|[\s{(,])[A-Z][A-Za-z]*:[ \t]*" + re.escape(s) + rb"$", match))
        assert _field_initialised_from(s, match) == want, (s, match)


def test_entropy_and_placeholder_words_read_as_their_plain_definitions():
    """Entropy counts bytes with Counter's C helper and placeholder words are one regex search: both
    give exactly what the plain definitions give (bit for bit: a threshold must never flip)."""
    import math
    import random
    from collections import Counter

    from secretkeeper.filters import _C_LOG_C, _PLACEHOLDER_WORDS, _PLACEHOLDER_WORDS_RE

    def entropy(data: bytes) -> float:  # as it was written with Counter
        n = len(data)
        if not n:
            return 0.0
        counts = Counter(data).values()
        total = sum(map(_C_LOG_C.__getitem__, counts)) if n < len(_C_LOG_C) else sum(c * math.log2(c) for c in counts)
        return max(0.0, math.log2(n) - total / n)

    rng = random.Random(3)
    alphabet = b"abcxyz019_-.<>*#" + bytes(range(256))[::17]
    for _ in range(3000):
        data = bytes(rng.choice(alphabet) for _ in range(rng.randrange(0, 300)))
        assert shannon_entropy(data) == entropy(data)
        low = data.lower() + rng.choice([b"", *_PLACEHOLDER_WORDS])
        assert bool(_PLACEHOLDER_WORDS_RE.search(low)) == any(w in low for w in _PLACEHOLDER_WORDS)
