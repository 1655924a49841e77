"""The AWS store's pure parts: error translation, the SecretString codec, labels, journal version ids,
status from a listing entry, note names, and the store's config section. (Against moto: tests/integration/
test_aws_store.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
    SSLError,
)

from providers.base import JournalRecord, Step
from providers.errors import NotFound, StoreError
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.codec import decode, encode
from providers.stores.aws.errors import Rejected, translate
from providers.stores.aws.journal import IDLE, journal_name, record_version
from providers.stores.aws.labels import UNSET, half_finished, labelled
from providers.stores.aws.notes import annotate
from providers.stores.aws.status import _status
from secretkeeper.config.stores import AwsSecretsManagerStore
from tests.conftest import make_token

WHERE, ACTION = "aws store prod: app/db", "secretsmanager:PutSecretValue"
CANARY = make_token()


def client_error(code: str, status: int = 400, retries: int = 0) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"value was {CANARY}"},
                        "ResponseMetadata": {"HTTPStatusCode": status, "RetryAttempts": retries}}, "PutSecretValue")


@pytest.mark.parametrize("exc, kind, message", [
    (client_error("ResourceNotFoundException"), NotFound, "not found (secretsmanager:PutSecretValue)"),
    (client_error("AccessDeniedException"), StoreError,
     "access denied to secretsmanager:PutSecretValue (AccessDeniedException)"),
    (client_error("403", status=403), StoreError, "access denied to secretsmanager:PutSecretValue (HTTP 403)"),
    (client_error("UnrecognizedClientException"), StoreError,
     "AWS rejected the credentials for secretsmanager:PutSecretValue (UnrecognizedClientException)"),
    (client_error("ThrottlingException", retries=3), StoreError,
     "AWS throttled secretsmanager:PutSecretValue (ThrottlingException), still after 4 attempts"),
    (client_error("EncryptionFailure"), StoreError, "KMS could not encrypt it for secretsmanager:PutSecretValue"),
    (client_error("LimitExceededException"), Rejected,
     "AWS refused secretsmanager:PutSecretValue (LimitExceededException)"),
    (EndpointConnectionError(endpoint_url="https://secretsmanager.eu-west-1.amazonaws.com"), StoreError,
     "cannot reach https://secretsmanager.eu-west-1.amazonaws.com for secretsmanager:PutSecretValue"),
    (ConnectTimeoutError(endpoint_url="https://sm.internal"), StoreError,
     "https://sm.internal did not answer secretsmanager:PutSecretValue in time (ConnectTimeoutError)"),
    (ReadTimeoutError(endpoint_url="https://sm.internal"), StoreError,
     "https://sm.internal did not answer secretsmanager:PutSecretValue in time (ReadTimeoutError)"),
    (SSLError(endpoint_url="https://sm.internal", error="bad cert"), StoreError,
     "TLS verification failed for https://sm.internal"),
    (NoCredentialsError(), StoreError, "no AWS credentials found"),
    (ProfileNotFound(profile="ci"), StoreError, "AWS profile 'ci' is not in the AWS config files"),
    (NoRegionError(), StoreError, "no AWS region"),
    (ParamValidationError(report=f"Invalid type for parameter SecretString, value: {CANARY}"), StoreError,
     "secretsmanager:PutSecretValue: the request has invalid parameters"),
])
def test_botocore_errors_become_one_line_store_errors_without_what_was_sent(exc, kind, message):
    error = translate(exc, where=WHERE, action=ACTION)
    assert type(error) is kind
    assert str(error).startswith(f"{WHERE}: {message}")
    assert CANARY not in str(error) and "\n" not in str(error)


def test_an_unnamed_refusal_keeps_its_code_for_the_caller():
    assert translate(client_error("InvalidParameterException"), where=WHERE, action=ACTION).code == \
        "InvalidParameterException"


def test_values_travel_as_a_json_object_of_text():
    data = {"password": "pässwörd".encode(), "user": b"svc"}
    text = encode(data, WHERE)
    assert json.loads(text) == {"password": "pässwörd", "user": "svc"}
    assert decode({"SecretString": text}, WHERE) == data


@pytest.mark.parametrize("answer, message", [
    ({"SecretBinary": CANARY.encode()}, "holds SecretBinary"),
    ({"SecretString": CANARY}, "SecretString is not JSON"),
    ({"SecretString": json.dumps({"password": 7, "note": CANARY})}, "not a JSON object of text values"),
    ({"SecretString": json.dumps([CANARY])}, "not a JSON object of text values"),
])
def test_a_secret_of_another_shape_is_named_not_shown(answer, message):
    with pytest.raises(StoreError, match=message) as caught:
        decode(answer, WHERE)
    assert CANARY not in str(caught.value)


def test_a_value_that_is_not_utf8_names_its_key_only():
    with pytest.raises(StoreError, match="the value of key 'der' is not UTF-8") as caught:
        encode({"der": b"\x30\x82" + CANARY.encode()}, WHERE)
    assert CANARY not in str(caught.value)


def test_labels():
    versions = labelled({"v1": ["AWSPREVIOUS"], "v2": ["AWSCURRENT"], "v3": ["AWSPENDING"], "v0": []})
    assert versions == {"v1": {"AWSPREVIOUS"}, "v2": {"AWSCURRENT"}, "v3": {"AWSPENDING"}}  # v0 deprecated
    assert half_finished(versions) == "v3"
    assert half_finished(labelled({"v2": ["AWSCURRENT", "AWSPENDING"]})) is None  # promoted, not yet tidied
    assert half_finished(labelled({"v2": ["AWSCURRENT"]})) is None


def test_a_journal_record_has_a_version_id_of_its_own_content():
    when = datetime(2026, 3, 1, tzinfo=UTC)
    rec = JournalRecord("db", Step.STARTED, "t1", "me", when, when)
    assert record_version(rec) == record_version(JournalRecord.from_json(rec.to_json()))  # a reader can name it
    assert record_version(rec) != record_version(JournalRecord("db", Step.STAGED, "t1", "me", when, when))
    assert len({record_version(rec), IDLE, UNSET}) == 3
    assert journal_name("prod/payments/db") == "prod/payments/db.secretkeeper-journal"


def entry(name: str, versions: dict[str, list[str]], **more) -> dict:
    return {"Name": name, "SecretVersionsToStages": versions, "LastChangedDate": datetime(2026, 3, 1, tzinfo=UTC),
            **more}


@pytest.mark.parametrize("secret, journal, expected", [
    (None, None, {"exists": False, "in_progress": False}),
    (entry("a", {UNSET: ["AWSCURRENT"]}), None, {"exists": False, "in_progress": False}),
    (entry("a", {UNSET: ["AWSCURRENT"], "v1": ["AWSPENDING"]}), None, {"exists": False, "in_progress": True}),
    (entry("a", {"v1": ["AWSCURRENT"]}), None, {"exists": True, "current": "v1", "in_progress": False}),
    (entry("a", {"v1": ["AWSCURRENT"], "v2": ["AWSPENDING"]}), None, {"in_progress": True}),
    (entry("a", {"v1": ["AWSCURRENT"]}), entry("a.j", {IDLE: ["AWSCURRENT", "SECRETKEEPER_IDLE"]}),
     {"in_progress": False}),
    (entry("a", {"v1": ["AWSCURRENT"]}), entry("a.j", {IDLE: ["SECRETKEEPER_IDLE"], "r1": ["AWSCURRENT"]}),
     {"in_progress": True}),
    (entry("a", {"v1": ["AWSCURRENT"]}, RotationEnabled=True), None, {"refused": "AWS rotates this secret itself"}),
    (entry("a", {"v1": ["AWSCURRENT"]}, Tags=[{"Key": "secretkeeper:next-due", "Value": "2026-04-01"},
                                             {"Key": "team", "Value": "payments"}]),
     None, {"metadata": {"next-due": "2026-04-01"}}),
])
def test_status_from_a_listing_entry(secret, journal, expected):
    status = _status("a", secret, journal)
    for name, value in expected.items():
        got = getattr(status, name)
        assert value in got if name == "refused" else got == value, name


@pytest.mark.parametrize("notes, message", [
    ({"Last Rotated": "x"}, "status note name 'Last Rotated' is not lower-case words"),
    ({"next-due": "x" * 257}, "status note 'next-due' is longer than 256 characters"),
])
def test_bad_status_notes_are_refused_before_any_request(notes, message):
    api = SecretsApi("prod", AwsSecretsManagerStore("aws-secrets-manager", endpoint_url="http://127.0.0.1:9"))
    with pytest.raises(StoreError, match=message):
        annotate(api, "app/db", notes)
    assert "client" not in vars(api)  # no client made, so no request sent


def test_the_store_section_takes_a_profile(tmp_path):
    from secretkeeper.config.loader import load_config

    path = tmp_path / "secretkeeper.yaml"
    path.write_text("stores:\n  aws: {type: aws-secrets-manager, region: eu-west-1, profile: ci,\n"
                    "        kms_key_id: alias/secrets, endpoint_url: 'http://127.0.0.1:5000'}\n")
    store = load_config(path).stores["aws"]
    assert (store.region, store.profile, store.kms_key_id, store.endpoint_url) == \
        ("eu-west-1", "ci", "alias/secrets", "http://127.0.0.1:5000")


def test_status_lists_a_folder_of_ten_or_more_by_its_prefix_and_lone_secrets_by_name():
    from providers.stores.aws.status import _groups

    folder = [f"prod/payments/app-{i}" for i in range(10)]
    groups = _groups(sorted([*folder, "prod/web/tls", "prod/web/db", "root-token"]))
    assert groups == [("prod/payments/", folder), ("prod/web/db", ["prod/web/db"]),
                      ("prod/web/tls", ["prod/web/tls"]), ("root-token", ["root-token"])]
