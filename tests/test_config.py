"""`.secretkeeper.yaml`: what each `scan` key does to a scan, and how a bad file is reported."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from secretkeeper.config import Config, find_config, load_config, parse_size
from secretkeeper.errors import ConfigError
from tests.conftest import CUSTOM_RULE, make_token

RULE = "github-pat-classic"


def scan_json(run_cli, root, *extra):
    res = run_cli(["scan", root, "--no-history", "-f", "json", *extra])
    assert res.code in (0, 1), res.output
    return json.loads(res.stdout)


def paths_of(doc, rule=RULE):
    return sorted(f["location"]["path"] for f in doc["findings"] if f["rule_id"] == rule)


def test_config_discovered_at_root(make_tree):
    root = make_tree({".secretkeeper.yaml": "scan: {}\n"})
    assert find_config(root) == root / ".secretkeeper.yaml"
    assert find_config(root / "nothing-here.txt") == root / ".secretkeeper.yaml"


def test_empty_config_is_default(make_tree):
    root = make_tree({"secretkeeper.yaml": ""})
    cfg = load_config(root / "secretkeeper.yaml")
    assert cfg.scan == Config().scan


@pytest.mark.parametrize("value, expected", [(100, 100), ("1KB", 1024), ("10MB", 10 * 1024**2),
                                             ("1.5 GiB", int(1.5 * 1024**3)), ("512", 512)])
def test_parse_size(value, expected):
    assert parse_size(value) == expected


def test_exclude(make_tree, run_cli, canary):
    root = make_tree({
        "src/a.txt": f"t {canary}\n",
        "fixtures/b.txt": f"t {canary}\n",
        "deep/x/c.snap": f"t {canary}\n",
        ".secretkeeper.yaml": "scan:\n  exclude: ['fixtures', '*.snap']\n",
    })
    doc = scan_json(run_cli, root)
    assert paths_of(doc) == ["src/a.txt"]
    assert doc["summary"]["skipped"]["excluded"] == 2


def test_default_excludes_skip_dependencies_not_config_dirs(make_tree, run_cli, canary):
    root = make_tree({
        "node_modules/pkg/a.txt": f"t {canary}\n",
        "tools/py/pyvenv.cfg": "home = /usr/bin\n",  # a virtualenv under any name
        "tools/py/bin/activate": f"t {canary}\n",
        "ops/env/prod.env": f"T={canary}\n",  # per-environment settings, not a virtualenv
        "home/.gradle/gradle.properties": f"t {canary}\n",
        ".idea/workspace.xml": f"t {canary}\n",
    })
    doc = scan_json(run_cli, root)
    assert paths_of(doc) == [".idea/workspace.xml", "home/.gradle/gradle.properties", "ops/env/prod.env"]
    assert doc["summary"]["skipped"]["excluded"] == 2
    root.joinpath(".secretkeeper.yaml").write_text("scan:\n  default_excludes: false\n")
    assert len(paths_of(scan_json(run_cli, root))) == 5


def test_allowlist_paths(make_tree, run_cli, canary):
    root = make_tree({
        "src/a.txt": f"t {canary}\n",
        "testdata/b.txt": f"t {canary}\n",
        ".secretkeeper.yaml": "scan:\n  allowlist:\n    paths: ['^testdata/']\n",
    })
    assert paths_of(scan_json(run_cli, root)) == ["src/a.txt"]


def test_allowlist_regexes(make_tree, run_cli, canary):
    other = make_token()
    root = make_tree({
        "a.txt": f"t {canary}\n",
        "b.txt": f"t {other}\n",
        ".secretkeeper.yaml": f"scan:\n  allowlist:\n    regexes: ['^{re.escape(canary[:12])}']\n",
    })
    assert paths_of(scan_json(run_cli, root)) == ["b.txt"]


def test_allowlist_secrets_by_hash(make_tree, run_cli, canary):
    digest = hashlib.sha256(canary.encode()).hexdigest()
    root = make_tree({
        "a.txt": f"t {canary}\n",
        "b.txt": f"t {make_token()}\n",
        ".secretkeeper.yaml": f"scan:\n  allowlist:\n    secrets: ['{digest}']\n",
    })
    assert paths_of(scan_json(run_cli, root)) == ["b.txt"]


def test_allowlist_secrets_refuse_raw_values(make_tree, run_cli, canary):
    root = make_tree({".secretkeeper.yaml": f"scan:\n  allowlist:\n    secrets: ['{canary}']\n"})
    res = run_cli(["scan", root])
    assert res.code == 2
    assert "sha256" in res.stderr
    assert canary not in res.output


def test_severity_override(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n", ".secretkeeper.yaml": f"scan:\n  severity:\n    {RULE}: low\n"})
    doc = scan_json(run_cli, root)
    assert [f["severity"] for f in doc["findings"] if f["rule_id"] == RULE] == ["low"]


def test_disable(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n", ".secretkeeper.yaml": f"scan:\n  disable: [{RULE}]\n"})
    doc = scan_json(run_cli, root)
    assert paths_of(doc) == []


def test_explicit_config_flag(make_tree, run_cli, canary, tmp_path):
    root = make_tree({"a.txt": f"t {canary}\n"})
    cfg = tmp_path / "elsewhere.yaml"
    cfg.write_text(f"scan:\n  disable: [{RULE}]\n")
    assert paths_of(scan_json(run_cli, root, "-c", cfg)) == []
    res = run_cli(["scan", root, "-c", tmp_path / "missing.yaml"])
    assert res.code == 2 and "config file not found" in res.stderr




def test_config_examples_are_not_leaks_but_the_rest_of_the_config_is_scanned(make_tree, run_cli):
    # A custom rule's examples are synthetic secrets by design; anything else in the config (a
    # credential pasted into it by mistake) is scanned like any other file.
    leak = "acme_z9y8x7w6v5u4t3s2r1q0p9o8"
    root = make_tree({".secretkeeper.yaml": CUSTOM_RULE + f"stores:\n  aws: {{type: aws-secrets-manager, kms_key_id: {leak}}}\n"})
    doc = scan_json(run_cli, root)
    found = [f for f in doc["findings"] if f["rule_id"] == "acme-api-key"]
    assert [(f["location"]["path"], f["location"]["line"]) for f in found] == [(".secretkeeper.yaml", 13)]
    assert doc["summary"]["suppressed"] == {"config-examples": 1}
    # the same examples in a file that is not the active config are reported
    other = make_tree({"rules-copy.yaml": CUSTOM_RULE, ".secretkeeper.yaml": CUSTOM_RULE})
    assert paths_of(scan_json(run_cli, other), "acme-api-key") == ["rules-copy.yaml"]


def test_custom_rule_finds_and_carries_its_metadata(make_tree, run_cli):
    root = make_tree({"sk.yaml": CUSTOM_RULE.replace('s6"]\n', 's6"]  # secretkeeper:allow\n'),
                      "app.ini": "[acme]\nkey = acme_z9y8x7w6v5u4t3s2r1q0p9o8\n"})
    (root / ".secretkeeper.yaml").symlink_to(root / "sk.yaml")
    res = run_cli(["scan", root, "--no-history", "-f", "json", "--fail-on", "critical"])
    assert res.code == 1
    found = [f for f in json.loads(res.stdout)["findings"] if f["rule_id"] == "acme-api-key"]
    assert len(found) == 1
    assert found[0]["severity"] == "critical" and found[0]["location"] == {"source": "file", "path": "app.ini",
                                                                          "line": 2}
    assert found[0]["remediation"] == "Rotate it in the ACME console."
    assert "acme_z9y8" not in res.stdout


def test_custom_rule_examples_keep_true_false_keys(make_tree):
    # YAML reads `true:` / `false:` as booleans; the examples must still arrive under those names.
    root = make_tree({"sk.yaml": CUSTOM_RULE})
    cfg = load_config(root / "sk.yaml")
    assert set(cfg.scan.rules[0]["examples"]) == {"true", "false"}


# -- bad config files -------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, line, needles", [
    ("scan:\n  exclude: [a\n  disable: []\n", None, ["invalid YAML"]),
    ("scan:\n  exclude: []\n  bogus: 1\n", 3, ["scan.bogus"]),
    ("scan:\n  allowlist:\n    paths: ['(unclosed']\n", 3, ["scan.allowlist.paths", "does not compile"]),
    (f"scan:\n  severity:\n    {RULE}: severe\n", 3, [f"scan.severity.{RULE}", "unknown severity"]),
    ("scan:\n  fail_on: nope\n", 2, ["scan.fail_on"]),
    ("scan:\n  max_file_size: lots\n", 2, ["scan.max_file_size", "not a size"]),
    ("- just\n- a list\n", None, ["expected a mapping"]),
    ("scan:\n  rules:\n    - id: x\n      description: d\n      severity: high\n      regex: '(['\n", 3,
     ["scan.rules[0]", "does not compile"]),
    (("scan:\n  rules:\n    - id: ok-rule\n      description: d\n      severity: high\n      regex: 'a'\n"
     "    - id: Bad_Id\n      description: d\n      severity: high\n      regex: 'b'\n"), 7,
     ["scan.rules[1]", "kebab-case"]),
    ("scan:\n  rules:\n    - id: x\n      description: d\n      severity: extreme\n      regex: 'a'\n", 3,
     ["scan.rules[0]", "unknown severity"]),
])
def test_bad_config_one_line_exit_2(make_tree, run_cli, body, line, needles):
    root = make_tree({".secretkeeper.yaml": body, "a.txt": "x\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2, res.output
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr
    assert str(root / ".secretkeeper.yaml") in res.stderr
    if line is not None:
        assert f".secretkeeper.yaml:{line}:" in res.stderr
    for needle in needles:
        assert needle in res.stderr


def test_invalid_yaml_names_the_line(make_tree):
    root = make_tree({"sk.yaml": "scan:\n  exclude: ['a'\n  disable: [b]\n"})
    with pytest.raises(ConfigError, match=r"sk\.yaml:\d+: invalid YAML"):
        load_config(root / "sk.yaml")


def test_unreadable_config_is_config_error(make_tree):
    root = make_tree({"sk.yaml": b"scan: \xff\xfe\n"})
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(root / "sk.yaml")
