"""The `lock:` section (a Kubernetes Lease per managed secret, beside the store's own lock) and the Lease
names it gives secrets. The Lease itself against the API: tests/integration/test_rotation_lease.py."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from secretkeeper.config import load_config
from secretkeeper.errors import ConfigError
from secretkeeper.kube.lease import lease_name

BASE = """\
stores:
  local: {type: local}
secrets:
  - {name: app-db, store: local, path: apps/db, issuer: {type: random}}
"""


def write(make_tree, text: str):
    return make_tree({"secretkeeper.yaml": text}) / "secretkeeper.yaml"


def test_the_lock_section_loads_with_defaults(make_tree):
    cfg = load_config(write(make_tree, BASE + "lock:\n  kubernetes: {namespace: secretkeeper}\n"))
    lock = cfg.lock.kubernetes
    assert (lock.namespace, lock.context, lock.lease_duration) == ("secretkeeper", None, timedelta(seconds=60))
    assert load_config(write(make_tree, BASE)).lock is None


@pytest.mark.parametrize("body, line, key, problem", [
    ("lock:\n  kubernetes: {namespace: Prod_NS}\n", 6, "lock.kubernetes.namespace", "a namespace is a DNS label"),
    ("lock:\n  kubernetes: {lease_duration: 2s}\n", 6, "lock.kubernetes.lease_duration", "from 5s to 1h"),
    ("lock:\n  kubernetes: {namespace: ops, retries: 3}\n", 6, "lock.kubernetes.retries", "Unexpected"),
    ("lock:\n  etcd: {}\n", 6, "lock.etcd", "Unexpected"),
])
def test_a_mistake_in_the_lock_section_is_one_line(make_tree, body, line, key, problem):
    path = write(make_tree, BASE + body)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:{line}: {key}: "), str(err.value)
    assert problem in str(err.value)


@pytest.mark.parametrize("secret, expected", [
    ("app-db", "secretkeeper-app-db"),
    ("payments", "secretkeeper-payments"),
])
def test_a_dns_safe_name_keeps_its_spelling(secret, expected):
    assert lease_name(secret) == expected


def test_other_names_are_made_dns_safe_and_stay_distinct():
    names = ["App.DB", "app_db", "app-db", "x" * 200, "x" * 201, "9.lives"]
    made = [lease_name(n) for n in names]
    assert len(set(made)) == len(made)
    for name in made:
        assert len(name) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name), name
