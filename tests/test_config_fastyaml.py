"""A large config is read from the nodes libyaml composed (config/fastyaml.py) instead of a second parse
by ruamel.yaml's round-trip loader: the same values, the same `FILE:LINE: key: problem` for every mistake
the config tests know, and a fraction of the time."""

from __future__ import annotations

import time

import pytest

from secretkeeper.config import fastyaml, load_config
from secretkeeper.config.invalid import line_of
from secretkeeper.errors import ConfigError
from tests import test_config, test_config_credentials, test_config_rotation


def _cases(test, argnames: str) -> list:
    mark = next(m for m in test.pytestmark if m.name == "parametrize" and m.args[0] == argnames)
    return [case if isinstance(case, tuple) else case.values for case in mark.args[1]]


MISTAKES = [case[0] for case in _cases(test_config_rotation.test_a_mistake_is_one_line_naming_file_line_and_key,
                                       "body, expected")]
MISTAKES += [case[0] for case in _cases(test_config.test_bad_config_one_line_exit_2, "body, line, needles")]
MISTAKES += [case[0] for case in _cases(
    test_config_credentials.test_inline_plaintext_is_an_error_naming_the_key_never_the_value, "body, line, key")]
GOOD = [test_config_rotation.ROTATION, test_config_credentials.GOOD, test_config.CUSTOM_RULE,
        "scan:\n  exclude: [a, 'b', \"c\"]\n  fail_on: high\n  max_file_size: 2MB\n",
        "stores:\n  l: {type: local, max_versions: 0o17}\nsecrets:\n  - {name: a, store: l, path: p, keys: [on, 'yes'],"
        " issuer: {type: random, length: 1_0}}\n  - name: b\n    store: l\n    path: q\n    issuer:\n"
        "      type: random\n      exclude: |\n        0O1lI\n      charset: >-\n        abcdef\n        ghij\n"
        "    keys:\n      - '~'\n"]


def load_both(make_tree, body: str, monkeypatch) -> tuple[object, object]:
    """(round-trip result, fast result) of loading `body`: a Config or the ConfigError's text."""
    path = make_tree({"secretkeeper.yaml": body}) / "secretkeeper.yaml"
    out = []
    for fast_from in (1 << 40, 0):
        monkeypatch.setattr(fastyaml, "FAST_FROM", fast_from)
        try:
            out.append(load_config(path))
        except ConfigError as exc:
            out.append(str(exc))
    return out[0], out[1]


@pytest.mark.parametrize("body", MISTAKES)
def test_every_known_mistake_reads_the_same_line(make_tree, monkeypatch, body):
    slow, fast = load_both(make_tree, body, monkeypatch)
    assert isinstance(slow, str) and fast == slow


@pytest.mark.parametrize("body", GOOD)
def test_a_good_config_loads_to_the_same_values_and_lines(make_tree, monkeypatch, body):
    slow, fast = load_both(make_tree, body, monkeypatch)
    assert not isinstance(slow, str), slow
    assert (fast.scan, fast.stores, fast.secrets, fast.lock, fast.deploy, fast.example_lines) == \
        (slow.scan, slow.stores, slow.secrets, slow.lock, slow.deploy, slow.example_lines)
    for loc in _locations(slow.doc):
        assert line_of(fast.doc, loc) == line_of(slow.doc, loc), loc


def _locations(node, loc=()):
    yield loc
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _locations(value, (*loc, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _locations(value, (*loc, i))


def test_a_duplicate_key_is_an_error_at_its_line(make_tree, monkeypatch):
    monkeypatch.setattr(fastyaml, "FAST_FROM", 0)
    path = make_tree({"secretkeeper.yaml": "stores:\n  a: {type: local}\n  a: {type: local}\n"}) / "secretkeeper.yaml"
    with pytest.raises(ConfigError, match=r":3: invalid YAML: found duplicate key 'a'$"):
        load_config(path)


def test_tags_and_merge_keys_are_left_to_the_round_trip_loader(make_tree, monkeypatch):
    monkeypatch.setattr(fastyaml, "FAST_FROM", 0)
    tagged = "scan:\n  fail_on: !!str high\n"
    assert load_config(make_tree({"a.yaml": tagged}) / "a.yaml").scan.fail_on == "high"
    merged = ("stores:\n  l: &base {type: local}\n  m: {<<: *base, path: other}\n")
    assert load_config(make_tree({"b.yaml": merged}) / "b.yaml").stores["m"].path == "other"
    with pytest.raises(ConfigError, match="unsupported YAML tag"):
        load_config(make_tree({"c.yaml": "scan:\n  fail_on: !custom high\n"}) / "c.yaml")


def test_a_fleet_of_a_thousand_secrets_loads_several_times_faster(make_tree, monkeypatch):
    lines = ["stores:", "  aws: {type: aws-secrets-manager, region: eu-west-1}", "secrets:"]
    for i in range(1000):
        lines += [f"  - name: app-{i:04d}", "    store: aws", f"    path: team-{i % 20:02d}/app-{i:04d}",
                  "    issuer: {type: random, length: 32}", "    rotate: {every: 30d}"]
    path = make_tree({"secretkeeper.yaml": "\n".join(lines) + "\n"}) / "secretkeeper.yaml"
    took = {}
    for fast_from in (1 << 40, fastyaml.FAST_FROM):
        monkeypatch.setattr(fastyaml, "FAST_FROM", fast_from)
        started = time.process_time()  # CPU time: a busy machine slows both alike
        cfg = load_config(path)
        took[fast_from] = time.process_time() - started
        assert len(cfg.secrets) == 1000
    slow, fast = took.values()
    assert fast * 2 < slow, took


def test_a_config_past_the_round_trip_limit_loads_unless_it_needs_that_loader(make_tree):
    entry = ("  - name: app-{i:04d}\n    store: aws\n    path: team/app-{i:04d}\n    keys: [username, password]\n"
             "    issuer: {{type: random, keep: [username], templates: {{uri: 'pg://{{username}}:{{password}}@db/app'}}}}\n"
             "    rotate: {{every: 30d, window: {{start: '02:00', end: '05:00', timezone: Europe/Berlin}}}}\n"
             "    sync: [{{manifest: {{dir: out/secrets, namespace: shop}}}}]\n")
    body = "stores:\n  aws: {type: aws-secrets-manager}\nsecrets:\n" + "".join(entry.format(i=i) for i in range(1200))
    assert len(body) > 300 << 10  # past what the round-trip loader may read, inside CONFIG_LIMIT
    cfg = load_config(make_tree({"big.yaml": body}) / "big.yaml")
    assert len(cfg.secrets) == 1200 and cfg.secrets[-1].rotate.window.timezone == "Europe/Berlin"
    path = make_tree({"tagged.yaml": body.replace("store: aws\n", "store: !!str aws\n", 1)}) / "tagged.yaml"
    with pytest.raises(ConfigError, match=r"tagged\.yaml: a config over 256 KiB is read only as one YAML document "
                                          r"without tags or merge keys"):
        load_config(path)
