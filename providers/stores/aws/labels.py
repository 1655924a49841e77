"""Staging labels and the version ids secretkeeper chooses, shared by the verbs and the bulk status.

AWS attaches each staging label to one version at a time. AWSCURRENT is what every reader gets; a
version labelled AWSPENDING but not AWSCURRENT is a rotation under way (or half-finished). secretkeeper
also gives fixed version ids (ClientRequestTokens) to the placeholder a bootstrap creates and to the idle
state of a journal, so a listing's SecretVersionsToStages alone tells whether a secret has a value and
whether a rotation is in progress.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"

NAMESPACE = uuid.UUID("5b1e5c5e-7d1f-4c8a-9a4e-2f7f3c1d9e20")  # secretkeeper's, for the version ids it derives

# AWS makes the first version of a secret AWSCURRENT whatever labels it is put with, so a bootstrap
# cannot stage a first value without making it current. Instead it creates this placeholder (an empty
# JSON object, no keys) as the current version, stages the value as the second version and promotes it
# with RemoveFromVersionId=UNSET: a compare-and-set that two bootstraps cannot both win.
UNSET = str(uuid.uuid5(NAMESPACE, "unset"))
UNSET_STRING = "{}"


def labelled(versions: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    """Version id -> its labels, leaving out versions that have none (deprecated: AWS may delete them)."""
    return {vid: frozenset(stages) for vid, stages in (versions or {}).items() if stages}


def holding(versions: Mapping[str, frozenset[str]], label: str) -> str | None:
    return next((vid for vid, stages in versions.items() if label in stages), None)


def half_finished(versions: Mapping[str, frozenset[str]]) -> str | None:
    """The version labelled AWSPENDING but not AWSCURRENT, if any."""
    pending = holding(versions, PENDING)
    return pending if pending is not None and CURRENT not in versions[pending] else None
