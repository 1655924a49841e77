"""The status of many secrets from a few ListSecrets pages: no value is read and no secret is described.

A listing entry carries what `rotate --due` needs: the versions' labels (a value? a rotation
half-finished? a journal held?), the tags holding the status notes, and whether AWS rotates the secret
itself. Requests filter on name prefixes, ten at most (AWS's limit); a prefix also brings the secrets'
journals (`<path>.secretkeeper-journal`). Where a folder holds ten managed secrets or more, its prefix
(`prod/payments/`) lists them all a hundred to a page; a lone secret is asked for by its own name. A
folder shared with many other secrets must not make the listing grow with the account: past the pages its
managed secrets need, the rest of them are asked for by name instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

from providers.base import StoreStatus
from providers.stores.aws.api import SecretsApi
from providers.stores.aws.describe import ROTATED_BY_AWS
from providers.stores.aws.journal import IDLE, journal_name
from providers.stores.aws.labels import CURRENT, PREVIOUS, UNSET, half_finished, holding, labelled
from providers.stores.aws.notes import PREFIX

PREFIXES_PER_REQUEST = 10  # AWS's limit for a filter's values
PAGE = 100  # AWS's largest page


def status(api: SecretsApi, paths: Sequence[str]) -> dict[str, StoreStatus]:
    names = sorted(set(paths))
    wanted = set(names) | {journal_name(name) for name in names}
    listed: dict[str, Mapping[str, Any]] = {}
    groups = _groups(names)
    for start in range(0, len(groups), PREFIXES_PER_REQUEST):
        batch = groups[start:start + PREFIXES_PER_REQUEST]
        budget = sum(-(-2 * len(members) // PAGE) for _, members in batch) + 1  # a secret and its journal each
        if _list(api, [prefix for prefix, _ in batch], wanted, listed, budget):
            continue
        unseen = [name for _, members in batch for name in members
                  if name not in listed or journal_name(name) not in listed]
        for first in range(0, len(unseen), PREFIXES_PER_REQUEST):
            _list(api, unseen[first:first + PREFIXES_PER_REQUEST], wanted, listed, budget=None)
    return {path: _status(path, listed.get(path), listed.get(journal_name(path))) for path in paths}


def _groups(names: list[str]) -> list[tuple[str, list[str]]]:
    """(name prefix to list, the managed names it covers): a folder's prefix, or a name of its own."""
    folders: dict[str, list[str]] = {}
    for name in names:
        folders.setdefault(name[:name.rfind("/") + 1], []).append(name)
    groups: list[tuple[str, list[str]]] = []
    for folder, members in folders.items():
        if folder and len(members) >= PREFIXES_PER_REQUEST:
            groups.append((folder, members))
        else:
            groups.extend((name, [name]) for name in members)
    return groups


def _list(api: SecretsApi, prefixes: list[str], wanted: set[str], listed: dict[str, Mapping[str, Any]],
          budget: int | None) -> bool:
    """Adds the wanted entries of names starting with any of `prefixes`; False if it stopped at `budget`
    pages before the end."""
    params: dict[str, Any] = {"Filters": [{"Key": "name", "Values": prefixes}], "MaxResults": PAGE}
    pages = 0
    while True:
        page = api.call("ListSecrets", prefixes[0], **params)
        pages += 1
        listed.update((entry["Name"], entry) for entry in page.get("SecretList", ()) if entry["Name"] in wanted)
        if not page.get("NextToken"):
            return True
        if budget is not None and pages >= budget:
            return False
        params["NextToken"] = page["NextToken"]


def _status(path: str, entry: Mapping[str, Any] | None, journal: Mapping[str, Any] | None) -> StoreStatus:
    if entry is None:  # absent, or scheduled for deletion
        return StoreStatus(path, exists=False)
    versions = labelled(entry.get("SecretVersionsToStages"))
    current = holding(versions, CURRENT)
    has_value = current is not None and current != UNSET  # the bootstrap placeholder is no value
    previous = holding(versions, PREVIOUS)
    held = journal is not None and holding(labelled(journal.get("SecretVersionsToStages")), CURRENT) not in (None, IDLE)
    notes = {tag["Key"][len(PREFIX):]: tag["Value"] for tag in entry.get("Tags", ()) if tag["Key"].startswith(PREFIX)}
    changed = entry.get("LastChangedDate")
    return StoreStatus(path, exists=has_value, current=current if has_value else None,
                       previous=previous if has_value and previous != UNSET else None,
                       updated=changed.astimezone(UTC) if has_value and changed else None,
                       in_progress=held or half_finished(versions) is not None, metadata=notes,
                       refused=ROTATED_BY_AWS if entry.get("RotationEnabled") else None)
