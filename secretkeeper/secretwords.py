"""Words that say a name holds a credential: the one vocabulary behind env-var and key names
(hygiene.names), table columns (tabular) and the value filters that tell a name from a value (filters).

Each word lists the readers it counts for, and each reader builds its matcher from its words: add a word
here, once, for every reader it belongs to.
"""

from __future__ import annotations

import re
from enum import Flag, auto


class Use(Flag):
    NAME = auto()  # anywhere in an env-var or key name (`DBPASSWORD`, `stripe.apiKey`)
    NAME_PART = auto()  # in a name only as a whole `_`-separated part (`DB_PASS`, not `COMPASS`)
    COLUMN = auto()  # anywhere in a table's column name, any case
    TYPE = auto()  # a title-case part of a type or class name (`V1SecretVolumeSource`)
    VARIABLE = auto()  # anywhere in a variable's name, any case (`mypassword`, `dbCreds`)
    LABEL = auto()  # with the VARIABLE words, in a letters-only label (`userLogin`)


N, P, C, T, V, L = Use.NAME, Use.NAME_PART, Use.COLUMN, Use.TYPE, Use.VARIABLE, Use.LABEL

# A space stands between the parts of a compound that may be written apart or together (`api key`:
# API_KEY, apiKey, api-key); an underscore is one.
WORDS: tuple[tuple[str, Use], ...] = (
    ("password", N | C | T),
    ("passwd", N | C | T),
    ("passw", C),  # columns: any spelling (`passwort`, `passw0rd`)
    ("passphrase", N | C),
    ("passcode", C),
    ("pass", P | V),
    ("pwd", P | C | V),
    ("secret", N | C | T | V),
    ("secrets", T),
    ("token", N | C | T | V),
    ("tokens", T),
    ("credential", N | C | T),
    ("credentials", T),
    ("cred", V),
    ("key", T | V),
    ("keys", T),
    ("auth", P | T | V),
    ("private", T),
    ("access", T),
    ("api key", N | C),
    ("access key", N | C),
    ("private key", N | C),
    ("auth key", C),
    ("signing key", N),
    ("encryption key", N),
    ("master key", N),
    ("session key", N),
    ("webhook key", N),
    ("connection string", N),
    ("conn_string", N),
    ("hmac", N),
    ("dsn", P),
    ("salt", P),
    ("privkey", P),
    ("psk", P),
    ("pin", P),
    ("cert_key", P),
    ("tls_key", P),
    ("ssl_key", P),
    ("login", L),
    ("user", L),
)


def words(use: Use) -> list[str]:
    """The words that count for any of the readers in `use`, in table order."""
    return [word for word, uses in WORDS if uses & use]


def alternation(use: Use, between: str = "") -> str:
    """The words for `use` as a regex alternation (lower case), `between` standing where a compound's
    parts may be apart."""
    return "|".join(between.join(re.escape(part) for part in word.split(" ")) for word in words(use))
