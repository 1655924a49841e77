"""The records rotation passes around: a SecretVersion never shows its values, a journal record never
holds them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from providers.base import JournalRecord, SecretVersion, Step

VALUE = b"Zq8-planted-Xv41-value"  # synthetic
WHEN = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)


def version(vid: str, value: bytes = VALUE) -> SecretVersion:
    return SecretVersion(vid, {"password": value, "username": b"svc-orders"}, WHEN, frozenset({"AWSCURRENT"}))


def test_secret_version_repr_and_str_show_keys_not_values():
    v = version("7")
    for text in (repr(v), str(v), f"{v}", repr([v]), repr({"current": v})):
        assert "planted" not in text and "svc-orders" not in text
    assert repr(v) == ("SecretVersion(version='7', keys=['password', 'username'], "
                       "created=2026-03-01T02:30:00+00:00, stages=[AWSCURRENT])")
    assert v.data["password"] == VALUE  # the value is there for whoever asks for it by key


def test_secret_versions_compare_by_content():
    assert version("7") == version("7") and version("7") != version("7", b"other")
    assert hash(version("7")) == hash(version("7"))


def record(**changes) -> JournalRecord:
    current, staged = version("7"), version("8", b"Rr5-new-planted-Kp02")
    base = {"secret": "orders-db", "step": Step.STAGED, "token": "0b6a1a52-5f3e-4b8e-9d1c-2f1f0e6c9a11",
            "holder": "ci@runner-7 pid 4121", "started": WHEN, "updated": WHEN + timedelta(seconds=3),
            "pending": staged.version, "previous": current.version}
    return JournalRecord(**{**base, **changes})


def test_journal_record_round_trips_through_json():
    for rec in (record(), record(step=Step.STARTED, pending=None, previous=None), record(step=Step.ROLLED_BACK)):
        assert JournalRecord.from_json(rec.to_json()) == rec


def test_journal_record_json_holds_version_ids_not_values():
    text = record().to_json()
    doc = json.loads(text)
    assert doc == {"secret": "orders-db", "step": "staged", "token": "0b6a1a52-5f3e-4b8e-9d1c-2f1f0e6c9a11",
                   "holder": "ci@runner-7 pid 4121", "started": "2026-03-01T02:30:00+00:00",
                   "updated": "2026-03-01T02:30:03+00:00", "pending": "8", "previous": "7",
                   "host": "", "pid": 0, "lease_until": None, "error": None}
    assert "planted" not in text and "svc-orders" not in text


@pytest.mark.parametrize("text, needle", [
    ("{", "not valid JSON"),
    ("[]", "has keys list"),
    (json.dumps({"secret": "x"}), "has keys ['secret']"),
    (record().to_json().replace('"staged"', '"half-done"'), "step is not valid"),
    (record().to_json().replace("2026-03-01T02:30:00+00:00", "yesterday"), "started is not valid"),
])
def test_a_corrupt_journal_record_is_a_clear_error(text, needle):
    with pytest.raises(ValueError, match=needle.replace("[", r"\[").replace("]", r"\]")):
        JournalRecord.from_json(text)
