"""The one registry of named implementations: validators, store types and issuer types."""

from __future__ import annotations

import pytest

from providers.base import ISSUERS, STORES
from secretkeeper.registry import Registry
from secretkeeper.validators import registry as validators
from secretkeeper.validators.base import validator


def test_a_name_registers_once():
    stores: Registry[object] = Registry("store type")

    @stores.register("vault")
    def vault_kv(_cfg: object) -> object:
        return object()

    def impostor(_cfg: object) -> object:
        return object()

    with pytest.raises(RuntimeError, match=r"store type 'vault' registered twice: by tests\.test_registry\.test_a_name"
                                           r"_registers_once\.<locals>\.vault_kv and by .*impostor"):
        stores.register("vault")(impostor)
    assert dict(stores) == {"vault": vault_kv} and "local" not in stores


def test_validators_refuse_a_second_registration_under_a_taken_name():
    original = validators()["crc32-base62"]
    with pytest.raises(RuntimeError, match="validator 'crc32-base62' registered twice"):
        validator("crc32-base62")(lambda _secret, _match: True)
    assert validators()["crc32-base62"] is original


def test_provider_registries_share_the_mechanism():
    assert isinstance(STORES, Registry) and STORES.kind == "store type"
    assert isinstance(ISSUERS, Registry) and ISSUERS.kind == "issuer type"
