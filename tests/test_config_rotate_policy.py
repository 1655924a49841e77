"""The `rotate:` policy of a managed secret in `secretkeeper.yaml`: its keys load typed with their
defaults, and a mistake in one (a cron expression, a jitter, a window) is `FILE:LINE: key: problem`."""

from __future__ import annotations

from datetime import timedelta

import pytest

from secretkeeper.config import load_config
from secretkeeper.errors import ConfigError

HEAD = "stores:\n  local: {type: local}\nsecrets:\n  - name: db\n    store: local\n    path: p\n" \
       "    issuer: {type: random}\n"


def load(make_tree, rotate: str):
    root = make_tree({"secretkeeper.yaml": HEAD + f"    rotate: {rotate}\n"})
    return root / "secretkeeper.yaml", lambda: load_config(root / "secretkeeper.yaml").secrets[0].rotate


def test_policy_keys_load_typed_with_defaults(make_tree):
    _, policy = load(make_tree, "{cron: '0  3 * * 1', max_age: 12w, renew_before: 30d, jitter: 10%}")
    got = policy()
    assert (got.cron, got.max_age, got.renew_before, got.jitter, got.min_interval) == \
        ("0 3 * * 1", timedelta(weeks=12), timedelta(days=30), 0.10, timedelta(hours=1))
    _, policy = load(make_tree, "{every: 1m, min_interval: 5m, jitter: 15m}")
    assert (policy().jitter, policy().min_interval) == (timedelta(minutes=15), timedelta(minutes=5))
    _, policy = load(make_tree, "{every: 30d, jitter: 0}")
    assert policy().jitter == 0.0
    _, policy = load(make_tree, "{cron: '@daily'}")
    assert policy().cron == "@daily" and policy().jitter is None


@pytest.mark.parametrize("rotate, problem", [
    ("{cron: '0 3 * *'}", "rotate.cron: not a cron expression: five fields"),
    ("{cron: '61 3 * * 1'}", "rotate.cron: not a cron expression"),
    ("{cron: '0 0 3 * * 1'}", "rotate.cron: not a cron expression"),  # seconds: not cron as people read it
    ("{every: 30d, jitter: 80%}", "rotate.jitter: a jitter percentage is between 0% and 50%"),
    ("{every: 30d, jitter: lots}", "rotate.jitter: expected a share of the interval (e.g. 10%) or a duration"),
    ("{every: 30d, min_interval: 0}", "rotate.min_interval: not a duration: 0"),
    ("{every: 30d, window: {start: '03:00', end: '03:00', timezone: UTC}}",
     "rotate.window: start and end are the same time: the window would be empty"),
])
def test_a_policy_mistake_is_one_line_with_file_and_line(make_tree, rotate, problem):
    path, policy = load(make_tree, rotate)
    with pytest.raises(ConfigError) as err:
        policy()
    assert str(err.value).startswith(f"{path}:8: secrets.0.{problem}"), str(err.value)
