"""A secret's rotation journal, and the lock: a companion secret `<path>.secretkeeper-journal` whose
AWSCURRENT version holds the rotation's record (version ids and steps, never values).

Tags and values have no compare-and-set in Secrets Manager; staging labels do. A write puts the new record
as a version labelled SECRETKEEPER_RECORD (not current), then moves AWSCURRENT onto it with
RemoveFromVersionId naming the version the writer expects to replace: AWS (and moto) refuse the move if
AWSCURRENT has left that version, so of two writers exactly one wins, and the loser reads the winner.
The journal's idle state is a version of its own (id IDLE, labelled SECRETKEEPER_IDLE so AWS never deletes
it): taking the lock moves AWSCURRENT from IDLE to a record, `clear` moves it back. A record's version id
is derived from its content, so repeating a write after a crash puts nothing new, and the version to
replace is known from the record the caller expects. See README.md for the measurements behind this.
"""

from __future__ import annotations

import uuid

from providers.base import JournalRecord
from providers.errors import Conflict, NotFound, StoreError
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.errors import Rejected
from providers.stores.aws.labels import CURRENT, NAMESPACE

SUFFIX = ".secretkeeper-journal"
IDLE = str(uuid.uuid5(NAMESPACE, "journal-idle"))
IDLE_STRING = '{"secretkeeper-journal": "idle"}'
IDLE_LABEL, RECORD_LABEL = "SECRETKEEPER_IDLE", "SECRETKEEPER_RECORD"
DESCRIPTION = "secretkeeper's rotation journal (and lock) for {path}: steps and version ids, never values"


def journal_name(path: str) -> str:
    return path + SUFFIX


def record_version(record: JournalRecord) -> str:
    return str(uuid.uuid5(NAMESPACE, "journal-record " + record.to_json()))


class AwsJournal:
    def __init__(self, api: SecretsApi, path: str) -> None:
        self.api, self.path, self.name = api, path, journal_name(path)

    def read(self) -> JournalRecord | None:
        return self._current()[1]

    def write(self, record: JournalRecord, *, expect: JournalRecord | None) -> None:
        put = {"SecretId": self.name, "ClientRequestToken": record_version(record),
               "SecretString": record.to_json(), "VersionStages": [RECORD_LABEL]}
        try:
            self.api.call("PutSecretValue", self.name, **put)
        except NotFound:
            if expect is not None:
                raise Conflict(f"{self.api.where(self.path)}: its rotation journal is gone") from None
            self._create()
            self.api.call("PutSecretValue", self.name, **put)
        self._move(record_version(record), record, expect)

    def clear(self, *, expect: JournalRecord) -> None:
        self._move(IDLE, None, expect)

    def _move(self, target: str, wanted: JournalRecord | None, expect: JournalRecord | None) -> None:
        """Compare-and-set: AWSCURRENT from `expect`'s version to `target` (holding `wanted`)."""
        source = IDLE if expect is None else record_version(expect)
        for _ in range(3):
            try:
                self.api.call("UpdateSecretVersionStage", self.name, SecretId=self.name, VersionStage=CURRENT,
                              MoveToVersionId=target, RemoveFromVersionId=source)
                return
            except Rejected as exc:
                if exc.code != "InvalidParameterException":
                    raise
            version, holder = self._current()
            if holder == wanted:
                return  # already so: a repeat after a crash, or a retried request of ours that got through
            if holder != expect:
                raise Conflict(_lost(self.api.where(self.path), holder), holder=holder)
            # The journal holds what the caller expected, yet the move failed:
            if version is None:
                raise StoreError(f"{self.api.where(self.path)}: its rotation journal disappeared")
            if version != source:
                source = version  # that record was written under another version id (by hand?)
            elif target == IDLE:
                self._put_idle()  # the idle version was never made: a crash right after creating the journal
        holder = self._current()[1]
        raise Conflict(_lost(self.api.where(self.path), holder), holder=holder)

    def _current(self) -> tuple[str | None, JournalRecord | None]:
        """(version id, record): (IDLE, None) when idle, (None, None) when there is no journal."""
        try:
            answer = self.api.call("GetSecretValue", self.name, SecretId=self.name, VersionStage=CURRENT)
        except NotFound:
            return None, None
        if answer["VersionId"] == IDLE:
            return IDLE, None
        try:
            return answer["VersionId"], JournalRecord.from_json(answer.get("SecretString", ""))
        except ValueError as exc:
            raise StoreError(f"{self.api.where(self.name)}: {exc}") from None

    def _create(self) -> None:
        kms = {"KmsKeyId": self.api.config.kms_key_id} if self.api.config.kms_key_id else {}
        try:
            self.api.call("CreateSecret", self.name, Name=self.name, Description=DESCRIPTION.format(path=self.path),
                          Tags=[{"Key": "secretkeeper:journal-of", "Value": self.path}], **kms)
        except Rejected as exc:
            if exc.code != "ResourceExistsException":  # another rotator created it first: fine
                raise
        self._put_idle()

    def _put_idle(self) -> None:
        # On a journal without versions this first version becomes AWSCURRENT: the journal starts idle.
        self.api.call("PutSecretValue", self.name, SecretId=self.name, ClientRequestToken=IDLE,
                      SecretString=IDLE_STRING, VersionStages=[IDLE_LABEL])


def _lost(where: str, holder: JournalRecord | None) -> str:
    if holder is None:
        return f"{where}: its rotation journal was cleared by another run"
    return (f"{where}: rotation journal held by {holder.holder} (step {holder.step.value}, "
            f"started {holder.started.isoformat()})")
