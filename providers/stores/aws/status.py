"""The status of many secrets from a few ListSecrets pages: no value is read and no secret is described.

Each ListSecrets request filters on up to ten names (AWS's limit for a filter's values; a name filter is a
prefix match, so it also brings the secrets' journals, `<path>.secretkeeper-journal`). A listing entry
carries what `rotate --due` needs: the versions' labels (a value? a rotation half-finished? a journal
held?), the tags holding the status notes, and whether AWS rotates the secret itself. Requests grow with
the number of secrets asked about (about one per ten), never with the size of the account.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from providers.base import StoreStatus
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.describe import ROTATED_BY_AWS
from providers.stores.aws.journal import IDLE, journal_name
from providers.stores.aws.labels import CURRENT, UNSET, half_finished, holding, labelled
from providers.stores.aws.notes import PREFIX

NAMES_PER_REQUEST = 10


def status(api: SecretsApi, paths: Sequence[str]) -> dict[str, StoreStatus]:
    names = sorted(set(paths))
    listed: dict[str, Mapping[str, Any]] = {}
    for start in range(0, len(names), NAMES_PER_REQUEST):
        batch = names[start:start + NAMES_PER_REQUEST]
        wanted = set(batch) | {journal_name(name) for name in batch}
        params: dict[str, Any] = {"Filters": [{"Key": "name", "Values": batch}], "MaxResults": 100}
        while True:
            page = api.call("ListSecrets", batch[0], **params)
            listed.update((entry["Name"], entry) for entry in page.get("SecretList", ()) if entry["Name"] in wanted)
            if not page.get("NextToken"):
                break
            params["NextToken"] = page["NextToken"]
    return {path: _status(path, listed.get(path), listed.get(journal_name(path))) for path in paths}


def _status(path: str, entry: Mapping[str, Any] | None, journal: Mapping[str, Any] | None) -> StoreStatus:
    if entry is None:  # absent, or scheduled for deletion
        return StoreStatus(path, exists=False)
    versions = labelled(entry.get("SecretVersionsToStages"))
    current = holding(versions, CURRENT)
    has_value = current is not None and current != UNSET  # the bootstrap placeholder is no value
    held = journal is not None and holding(labelled(journal.get("SecretVersionsToStages")), CURRENT) not in (None, IDLE)
    notes = {tag["Key"][len(PREFIX):]: tag["Value"] for tag in entry.get("Tags", ()) if tag["Key"].startswith(PREFIX)}
    changed = entry.get("LastChangedDate")
    return StoreStatus(path, exists=has_value, current=current if has_value else None,
                       updated=changed.astimezone(UTC) if has_value and changed else None,
                       in_progress=held or half_finished(versions) is not None, metadata=notes,
                       refused=ROTATED_BY_AWS if entry.get("RotationEnabled") else None)
