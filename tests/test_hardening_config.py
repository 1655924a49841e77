"""A scanned tree controls its own `.secretkeeper.yaml` and the files it names: none of it may hang the
scanner, exhaust the machine, or get echoed back (issue: hardening, items 1, 8, 9)."""

from __future__ import annotations

import json
import os

import pytest

from secretkeeper.config.loader import CONFIG_LIMIT
from secretkeeper.errors import shown
from tests.bounded import bounded, one_line_error
from tests.conftest import make_token, make_tree

ACME_RULES = """\
[[rules]]
id = "acme-api-key"
description = "ACME API key"
severity = "high"
regex = '\\b(?P<secret>acme_[a-z0-9]{24})\\b'
keywords = ["acme_"]
"""
ACME_KEY = "acme_q8w7e6r5t4y3u2i1o9p8a7s6"


# -- 1. the config file -----------------------------------------------------------------------------------
def _alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 9)}]")
    return "\n".join(lines) + "\nscan:\n  exclude: [*a" + str(levels - 1) + "]\n"


@pytest.mark.parametrize("levels", [4, 9])
def test_config_alias_bomb_is_refused_at_once(tmp_path, levels):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": _alias_bomb(levels), "a.txt": "x\n"})
    proc = bounded(["scan", root, "--no-history"], seconds=30, max_mb=300)
    one_line_error(proc, ".secretkeeper.yaml")


def test_config_alias_that_does_not_expand_much_still_loads(tmp_path):
    # A shared anchor used once or twice is ordinary YAML, not a bomb.
    cfg = "scan:\n  exclude: &common [vendor/]\n  allowlist:\n    paths: *common\n"
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": cfg, "a.txt": "x\n"})
    proc = bounded(["scan", root, "--no-history"], seconds=60)
    assert proc.returncode == 0, proc.stderr


def test_deeply_nested_config_is_one_line(tmp_path):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": "scan: " + "[" * 5000 + "]" * 5000 + "\n"})
    one_line_error(bounded(["scan", root, "--no-history"], seconds=30), ".secretkeeper.yaml")


def _mapping_bomb(levels: int) -> str:
    keys = [f"k{i}" for i in range(9)]
    lines = ["a0: &a0 {" + ", ".join(f"{k}: lol" for k in keys) + "}"]
    lines += [f"a{i}: &a{i} {{" + ", ".join(f"{k}: *a{i - 1}" for k in keys) + "}" for i in range(1, levels)]
    return "\n".join(lines) + f"\ndeploy: *a{levels - 1}\n"


@pytest.mark.parametrize("cfg", [
    _mapping_bomb(9),  # mappings, under a section kept as written
    # aliases chained past Python's stack, each anchor written two levels deep
    "a0: &a0 [x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, 3000)) + "deploy: {a: *a2999}\n",
    "".join(" " * i + f"k{i}:\n" for i in range(600)),  # block nesting, within libyaml's own limit
], ids=["mapping-bomb", "alias-chain", "block-nesting"])
def test_config_bombs_of_other_shapes_are_refused_at_once(tmp_path, cfg):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": cfg, "a.txt": "x\n"})
    err = one_line_error(bounded(["scan", root, "--no-history"], seconds=30, max_mb=300), ".secretkeeper.yaml")
    assert "refused" in err


def test_config_that_is_huge_a_fifo_or_outside_the_tree_is_refused(tmp_path):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": "scan:\n  exclude:\n" + "    - a/\n" * (CONFIG_LIMIT // 8)})
    scan = ["scan", root, "--no-history"]
    assert "larger than" in one_line_error(bounded(scan, seconds=30), ".secretkeeper.yaml")
    os.unlink(root / ".secretkeeper.yaml")
    os.mkfifo(root / ".secretkeeper.yaml")
    one_line_error(bounded(scan, seconds=30), ".secretkeeper.yaml", "not a regular file")
    os.unlink(root / ".secretkeeper.yaml")
    (tmp_path / "elsewhere.yaml").write_text("scan: {}\n")
    (root / ".secretkeeper.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    one_line_error(bounded(scan, seconds=30), ".secretkeeper.yaml", "outside")


# -- 8. files the config names ----------------------------------------------------------------------------
def test_rule_file_that_is_a_device_is_refused(tmp_path):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: ["/dev/zero"]\n'})
    one_line_error(bounded(["scan", root, "--no-history"], seconds=30, max_mb=300), "/dev/zero")


def test_rule_file_that_is_a_fifo_does_not_hang(tmp_path):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: ["rules.toml"]\n'})
    os.mkfifo(root / "rules.toml")
    one_line_error(bounded(["scan", root, "--no-history"], seconds=30), "rules.toml")


def test_rule_file_outside_the_repository_is_refused(tmp_path):
    outside = tmp_path / "elsewhere.toml"
    outside.write_text("")
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f'scan:\n  rule_files: ["{outside}", "../elsewhere.toml"]\n'})
    one_line_error(bounded(["scan", root, "--no-history"], seconds=60), "rule_files")


def test_rule_file_outside_is_allowed_with_an_explicit_config(tmp_path):
    rules = tmp_path / "shared" / "rules.toml"
    rules.parent.mkdir()
    rules.write_text("")
    cfg = tmp_path / "shared" / "sk.yaml"
    cfg.write_text(f'scan:\n  rule_files: ["{rules}"]\n')
    root = make_tree(tmp_path / "repo", {"a.txt": "x\n"})
    proc = bounded(["scan", root, "--no-history", "--config", cfg], seconds=60)
    assert proc.returncode == 0, proc.stderr


def test_huge_rule_file_is_refused(tmp_path):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: ["big.toml"]\n'})
    with open(root / "big.toml", "w") as fh:
        fh.write("# padding\n" * (3 * 1024 * 1024 // 10))
    one_line_error(bounded(["scan", root, "--no-history"], seconds=30), "big.toml")


def test_rule_file_symlinks_are_followed_only_inside_the_repository(tmp_path, run_cli):
    (tmp_path / "outside.toml").write_text(ACME_RULES)
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: ["rules/link.toml"]\n',
                                         "ci/acme.toml": ACME_RULES, "app.ini": f"key = {ACME_KEY}\n"})
    (root / "rules").mkdir()
    (root / "rules" / "link.toml").symlink_to(tmp_path / "outside.toml")
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and "outside the scanned root" in res.stderr and res.stderr.count("\n") == 1
    (root / "rules" / "link.toml").unlink()
    (root / "rules" / "link.toml").symlink_to(root / "ci" / "acme.toml")
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1 and [f["rule_id"] for f in json.loads(res.stdout)["findings"]] == ["acme-api-key"]


def test_rule_file_names_are_echoed_as_names(tmp_path, run_cli):
    tok = make_token()
    for name in (f"ci/{tok}.toml", "ci/x\\n\\u001b[2Jy.toml", "ci/a\\u0000b.toml"):
        root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f'scan:\n  rule_files: ["{name}"]\n'})
        res = run_cli(["scan", root, "--no-history"])
        assert res.code == 2 and res.stderr.count("\n") == 1 and "\x1b" not in res.stderr, res.output
        assert "cannot read rule file" in res.stderr and tok not in res.output


def test_rule_file_that_is_a_directory_is_refused(tmp_path, run_cli):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: ["ci"]\n', "ci/x": ""})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and "scan.rule_files.0" in res.stderr and "not a regular file" in res.stderr


@pytest.mark.parametrize("body, needle", [
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deep"),
    ("rules = 5\n", "array of tables"),
    ("rules = [5]\n", "a rule must be a table"),
    (ACME_RULES + "tags = 5\n", "tags must be a list of strings"),
    (ACME_RULES + 'allowlist = "x"\n', "allowlist must be a table"),
    (ACME_RULES + '[rules.near]\nrule = "jwt"\nlines = "x"\n', "near.lines must be an integer"),
    (ACME_RULES + "[rules.allowlist]\nregexes = [5]\n", "allowlist.regexes must be a list of strings"),
    (ACME_RULES + "filters = [[1]]\n", "filters must be a list of strings"),
])
def test_malformed_rule_file_is_one_line_naming_it(tmp_path, run_cli, body, needle):
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": 'scan:\n  rule_files: [r.toml]\n', "r.toml": body})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and res.stderr.count("\n") == 1, res.output
    assert "internal error" not in res.stderr and "r.toml" in res.stderr and needle in res.stderr


def test_command_line_rule_files_and_baselines_are_regular_and_capped_but_may_be_anywhere(tmp_path, run_cli):
    root = make_tree(tmp_path / "repo", {"app.ini": f"key = {ACME_KEY}\n"})
    (tmp_path / "acme.toml").write_text(ACME_RULES)
    res = run_cli(["scan", root, "--no-history", "--rules", tmp_path / "acme.toml", "-f", "json"])
    assert res.code == 1 and [f["rule_id"] for f in json.loads(res.stdout)["findings"]] == ["acme-api-key"]
    os.mkfifo(tmp_path / "fifo")
    for option in ("--rules", "--baseline"):
        for special in ("/dev/zero", tmp_path / "fifo"):
            proc = bounded(["scan", root, "--no-history", option, special], seconds=30, max_mb=300)
            one_line_error(proc, str(special), "not a regular file")


def test_baseline_past_its_cap_is_refused_unread(tmp_path, run_cli, monkeypatch):
    import secretkeeper.baseline

    monkeypatch.setattr(secretkeeper.baseline, "BASELINE_LIMIT", 1000)
    root = make_tree(tmp_path / "repo", {"a.txt": "x\n"})
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps({"findings": [{"fingerprint": "f" * 40}] * 100}))
    res = run_cli(["scan", root, "--no-history", "--baseline", base])
    assert res.code == 2 and res.stderr.count("\n") == 1
    assert "baseline.json" in res.stderr and "larger than 1000 bytes" in res.stderr


# -- 9. small ones ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, echoed", [
    ("max_file_size", True), ("github-pat-classic", True), ("sha512-crypt-hash", True), ("maxFileSize", True),
    ("lenght", True), ("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", False), ("ghp_SECRETSECRETSECRETxx", False),
    ("AKIAIOSFODNN7EXAMPLE", False), ("0123abcd-89ab-cdef-0123-456789abcdef", False), ("hunter22", False),
    ("d41d8cd98f00b204e9800998ecf8427e", False), ("correcthorsebatterystaple", False),
])
def test_names_are_echoed_only_when_they_read_like_names(name, echoed):
    assert (shown(name) == name) is echoed
    assert echoed or (shown(name).endswith("…") and len(shown(name)) <= 5)


def test_yaml_errors_quote_no_value(tmp_path, run_cli, monkeypatch):
    from secretkeeper import yamlsafe

    tok = make_token()
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f"scan: {{}}\nscan: {tok}\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and "duplicate key" in res.stderr and tok not in res.output
    # ruamel.yaml's composer (the fallback without libyaml) quotes the alias it did not find
    monkeypatch.setattr(yamlsafe, "_CLoader", None)
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f"scan:\n  exclude: *{tok}\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and "undefined alias 'ghp_…'" in res.stderr and tok not in res.output


def test_rotation_names_are_not_echoed_whole(tmp_path, run_cli):
    tok = make_token()
    cfg = (f"stores:\n  {tok}: {{type: local}}\nsecrets:\n  - {{name: db, store: {tok[::-1]}, path: p, "
           "issuer: {type: random}}\n")
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": cfg})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2 and "is not declared under stores" in res.stderr
    assert tok not in res.output and tok[::-1] not in res.output


def test_config_errors_do_not_echo_keys_or_aliases(tmp_path, run_cli):
    tok = make_token()
    for cfg in (f"scan:\n  {tok}: 1\n", f"scan:\n  exclude: *{tok}\n", f"scan: !{tok} x\n",
                f"%TAG !{tok}! tag:example.com,2000:\n---\nscan: !{tok}!x 1\n"):
        root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": cfg})
        res = run_cli(["scan", root, "--no-history"])
        assert res.code == 2, res.output
        assert tok not in res.output and ".secretkeeper.yaml" in res.stderr


def test_debug_keeps_exit_2_and_prints_no_scanned_data(tmp_path):
    tok = make_token()
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f"scan:\n  {tok}: 1\n"})
    proc = bounded(["scan", root, "--no-history", "--debug"], seconds=60)
    assert proc.returncode == 2, proc.stderr
    assert tok not in proc.stdout + proc.stderr


def test_debug_withholds_the_text_of_exceptions_that_are_not_ours(tmp_path, run_cli, monkeypatch):
    import secretkeeper.pipeline

    tok = make_token()

    def crash(options):
        try:
            raise KeyError(tok)
        except KeyError:
            raise ValueError(f"bad value {tok}")  # noqa: B904 - the chain is what is printed

    monkeypatch.setattr(secretkeeper.pipeline, "run_scan", crash)
    root = make_tree(tmp_path / "repo", {"a.txt": "x\n"})
    res = run_cli(["scan", root, "--no-history", "--debug"])
    assert res.code == 2 and tok not in res.output, res.output
    assert "KeyError (message withheld)" in res.stderr and "ValueError (message withheld)" in res.stderr
    assert "in crash" in res.stderr  # the frames are there
    assert res.stderr.endswith("secretkeeper: error: internal error (ValueError)\n")
    plain = run_cli(["scan", root, "--no-history"])
    assert plain.code == 2 and plain.stderr.count("\n") == 1 and "Traceback" not in plain.stderr


def test_debug_keeps_exit_130_on_interrupt(tmp_path, run_cli, monkeypatch):
    import secretkeeper.pipeline

    def interrupted(options):
        raise KeyboardInterrupt

    monkeypatch.setattr(secretkeeper.pipeline, "run_scan", interrupted)
    root = make_tree(tmp_path / "repo", {"a.txt": "x\n"})
    assert run_cli(["scan", root, "--no-history", "--debug"]).code == 130


def test_unreadable_path_argument_is_one_line(tmp_path):
    proc = bounded(["scan", tmp_path / "nope" / "deeper", "--no-history"], seconds=60)
    one_line_error(proc, "nope")


def test_path_argument_that_cannot_be_read_is_one_line(tmp_path, run_cli, monkeypatch):
    # Tests may run as root, who reads anything: the system says no to these two paths instead.
    locked, under = tmp_path / "locked", tmp_path / "locked" / "x"
    locked.mkdir()
    real_stat, real_access = os.stat, os.access

    def stat(path, *args, **kwargs):
        if str(path) == str(under):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: str(path) != str(locked) and real_access(path, mode))
    for command in (["scan", "--no-history"], ["baseline", "-o", tmp_path / "bl.json"]):
        for path in (locked, under):
            res = run_cli([*command, path])
            assert res.code == 2, res.output
            assert res.stderr == f"secretkeeper: error: {path}: permission denied\n"


@pytest.mark.parametrize("section", ["severity", "disable"])
def test_unknown_rule_ids_in_config_are_errors(tmp_path, run_cli, section):
    body = "    no-such-rule: high\n" if section == "severity" else "    - no-such-rule\n"
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": f"scan:\n  {section}:\n{body}", "a.txt": "x\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 2, res.output
    assert "no-such-rule" in res.stderr and f"scan.{section}" in res.stderr and res.stderr.count("\n") == 1


def test_rule_ids_defined_anywhere_are_known_and_others_are_named(tmp_path, run_cli):
    (tmp_path / "cli.toml").write_text(ACME_RULES.replace("acme-api-key", "cli-rule"))
    cfg = ("scan:\n  rule_files: [r.toml]\n  rules:\n    - {id: inline-rule, description: d, severity: low, "
           "regex: 'zz_[0-9]{9}'}\n  severity: {acme-api-key: low, inline-rule: high,\n    cli-rule: low}\n"
           "  disable: [inline-rule]\n  allowlist: {rules: [acme-api-key, jwt]}\n")
    root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": cfg, "r.toml": ACME_RULES})
    assert run_cli(["scan", root, "--no-history", "--rules", tmp_path / "cli.toml"]).code == 0
    res = run_cli(["scan", root, "--no-history"])  # cli-rule is defined on the command line only
    assert res.code == 2 and res.stderr == (f"secretkeeper: error: {root / '.secretkeeper.yaml'}:6: "
                                            "scan.severity: unknown rule id 'cli-rule' (see `secretkeeper rules "
                                            "list`)\n")
    tok = make_token()
    for body, needle in ((f"scan:\n  allowlist:\n    rules: [jwt, {tok}]\n",
                          "scan.allowlist.rules: unknown rule id 'ghp_…'"),
                         ("scan:\n  disable: [k8s-env-secret-literal]\n", "a Kubernetes hygiene rule")):
        root = make_tree(tmp_path / "repo", {".secretkeeper.yaml": body})
        res = run_cli(["scan", root, "--no-history"])
        assert res.code == 2 and needle in res.stderr and tok not in res.output, res.output


def test_deeply_nested_baseline_is_one_line(tmp_path, run_cli):
    root = make_tree(tmp_path / "repo", {"a.txt": "x\n"})
    base = tmp_path / "baseline.json"
    base.write_text("[" * 100000 + "]" * 100000)
    res = run_cli(["scan", root, "--no-history", "--baseline", base])
    assert res.code == 2, res.output
    assert "internal error" not in res.stderr and "baseline.json" in res.stderr and res.stderr.count("\n") == 1
