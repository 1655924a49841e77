"""Stage a new value: a version labelled AWSPENDING, which no consumer reads until `promote` moves
AWSCURRENT onto it. The version id is the rotation's token (ClientRequestToken), so a repeat after a
crash finds what the token staged instead of staging again.

A secret that does not exist yet is created with an empty placeholder as its current version (see
labels.UNSET: AWS makes a secret's first version current whatever its labels), so the staged value is
never what consumers get before it is promoted.
"""

from __future__ import annotations

from collections.abc import Mapping

from providers.base import SecretVersion
from providers.errors import Conflict, NotFound
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.codec import encode
from providers.stores.aws.describe import Described, describe, writable
from providers.stores.aws.errors import Rejected
from providers.stores.aws.labels import CURRENT, PENDING, UNSET, UNSET_STRING, half_finished
from providers.stores.aws.read import read

DESCRIPTION = "Managed by secretkeeper: rotated with `secretkeeper rotate`"


def stage(api: SecretsApi, path: str, data: Mapping[str, bytes], *, token: str) -> SecretVersion:
    string = encode(data, api.where(path))  # a value AWS cannot hold fails before any request
    described = writable(api, path, _existing(api, path))
    if token in described.versions:  # a repeat: what this token staged, whatever `data` is now
        return read(api, path, token)
    other = half_finished(described.versions)
    if other is not None:  # AWS's own rotation guard: one pending version at a time
        raise Conflict(f"{api.where(path)}: a rotation is half-finished (version {other} is AWSPENDING, "
                       "not AWSCURRENT): resume or discard it first")
    if described.current is None:  # created by someone else without a value
        api.call("PutSecretValue", path, SecretId=path, ClientRequestToken=UNSET, SecretString=UNSET_STRING,
                 VersionStages=[CURRENT])
    api.call("PutSecretValue", path, SecretId=path, ClientRequestToken=token, SecretString=string,
             VersionStages=[PENDING])
    return read(api, path, token)  # as AWS keeps it (its date), and the same answer a repeat gets


def _existing(api: SecretsApi, path: str) -> Described:
    """The secret as it is, once created with its placeholder if it did not exist."""
    try:
        return describe(api, path)
    except NotFound:
        pass
    kms = {"KmsKeyId": api.config.kms_key_id} if api.config.kms_key_id else {}
    try:
        api.call("CreateSecret", path, Name=path, ClientRequestToken=UNSET, SecretString=UNSET_STRING,
                 Description=DESCRIPTION, **kms)
    except Rejected as exc:
        if exc.code != "ResourceExistsException":  # another bootstrap created it first
            raise
    # Looked at again either way: moto (and perhaps AWS) answers a repeated CreateSecret with the same
    # token as a success, though another run may have staged a version since.
    return describe(api, path)
