"""`secretkeeper scan` (and `baseline`, `rules`) through the CLI: exit codes, formats, outputs."""

from __future__ import annotations

import json
import stat
import xml.etree.ElementTree as ET

import pytest

from secretkeeper import __version__
from tests.conftest import CUSTOM_RULE, make_token

RULE = "github-pat-classic"


def leaks(doc: dict, rule: str = RULE) -> list[dict]:
    return [f for f in doc["findings"] if f["rule_id"] == rule]


def test_version(run_cli):
    res = run_cli(["--version"])
    assert res.code == 0
    assert res.stdout.strip() == f"secretkeeper {__version__}"


def test_clean_tree_exits_0(make_tree, run_cli):
    root = make_tree({"README.md": "hello\n", "src/app.py": "print('hi')\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 0, res.output
    assert "No leaks found" in res.stdout
    assert "2 files" in res.stdout


def test_leak_exits_1_text(make_tree, run_cli, canary):
    root = make_tree({"config/app.txt": f"DEBUG=1\nGITHUB_TOKEN={canary}\n"})
    res = run_cli(["scan", root, "--no-history"])
    assert res.code == 1, res.output
    assert "config/app.txt" in res.stdout
    assert RULE in res.stdout and "line 2" in res.stdout and "high" in res.stdout
    assert "1 finding (1 high)" in res.stdout
    assert "\x1b[" not in res.stdout
    assert canary not in res.output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_every_format_to_stdout(make_tree, run_cli, canary, fmt):
    root = make_tree({"a.txt": f"token {canary}\n"})
    res = run_cli(["scan", root, "--no-history", "--format", fmt])
    assert res.code == 1, res.output
    assert canary not in res.output
    if fmt == "json":
        doc = json.loads(res.stdout)
        assert [f["location"]["path"] for f in leaks(doc)] == ["a.txt"]
        assert doc["summary"]["findings"] == len(doc["findings"])
    elif fmt == "sarif":
        doc = json.loads(res.stdout)
        results = [r for r in doc["runs"][0]["results"] if r["ruleId"] == RULE]
        assert results[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 1
    elif fmt == "junit":
        suite = ET.fromstring(res.stdout).find("testsuite")
        assert suite is not None and int(suite.get("failures")) >= 1
    else:
        assert "a.txt" in res.stdout


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_every_format_clean(make_tree, run_cli, fmt):
    root = make_tree({"a.txt": "nothing to see\n"})
    res = run_cli(["scan", root, "--no-history", "-f", fmt])
    assert res.code == 0, res.output
    if fmt == "json":
        assert json.loads(res.stdout)["findings"] == []
    elif fmt == "sarif":
        assert json.loads(res.stdout)["runs"][0]["results"] == []
    elif fmt == "junit":
        suite = ET.fromstring(res.stdout).find("testsuite")
        assert suite.get("tests") == "1" and suite.get("failures") == "0"
    else:
        assert "No leaks found" in res.stdout


def test_unknown_format_exits_2(make_tree, run_cli):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["scan", root, "-f", "yaml"])
    assert res.code == 2
    assert res.stderr.count("\n") == 1 and "--format" in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit"])
def test_output_file_is_private_and_not_on_stdout(make_tree, run_cli, canary, tmp_path, fmt):
    root = make_tree({"a.txt": f"token {canary}\n"})
    out = tmp_path / f"report.{fmt}"
    res = run_cli(["scan", root, "--no-history", "-f", fmt, "-o", out])
    assert res.code == 1, res.output
    assert res.stdout == ""
    assert f"wrote {fmt} report" in res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    body = out.read_text(encoding="utf-8")
    assert RULE in body and canary not in body
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_output_file_replaces_a_world_readable_one(make_tree, run_cli, tmp_path):
    root = make_tree({"a.txt": "x\n"})
    out = tmp_path / "report.json"
    out.write_text("old")
    out.chmod(0o644)
    assert run_cli(["scan", root, "--no-history", "-f", "json", "-o", out]).code == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert json.loads(out.read_text())["findings"] == []


def test_output_into_missing_directory_exits_2(make_tree, run_cli, tmp_path):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["scan", root, "-f", "json", "-o", tmp_path / "nope" / "r.json"])
    assert res.code == 2
    assert "cannot write" in res.stderr and "Traceback" not in res.output


def test_fail_on_threshold(make_tree, run_cli, canary):
    root = make_tree({
        "a.txt": f"token {canary}\n",
        ".secretkeeper.yaml": f"scan:\n  severity:\n    {RULE}: medium\n",
    })
    base = ["scan", root, "--no-history", "-f", "json"]
    res = run_cli(base + ["--fail-on", "high"])
    assert res.code == 0, res.output
    assert leaks(json.loads(res.stdout))[0]["severity"] == "medium"  # still reported
    assert run_cli(base + ["--fail-on", "medium"]).code == 1
    assert run_cli(base).code == 1  # default floor is low


def test_fail_on_from_config(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"token {canary}\n", ".secretkeeper.yaml": "scan:\n  fail_on: critical\n"})
    assert run_cli(["scan", root, "--no-history"]).code == 0
    assert run_cli(["scan", root, "--no-history", "--fail-on", "high"]).code == 1  # flag wins


def test_bad_fail_on_exits_2(make_tree, run_cli):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["scan", root, "--fail-on", "severe"])
    assert res.code == 2 and "--fail-on" in res.stderr and res.stderr.count("\n") == 1


def test_quiet_clean_prints_nothing(make_tree, run_cli):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["scan", root, "--no-history", "-q"])
    assert res.code == 0 and res.stdout == ""


def test_multiple_roots_prefix_paths(make_tree, run_cli, tmp_path, canary):
    make_tree({"one/a.txt": f"t {canary}\n", "two/b.txt": f"t {make_token()}\n"}, root=tmp_path)
    res = run_cli(["scan", "one", "two", "--no-history", "-f", "json"], cwd=tmp_path)
    assert res.code == 1, res.output
    assert sorted(f["location"]["path"] for f in leaks(json.loads(res.stdout))) == ["one/a.txt", "two/b.txt"]


def test_single_file_root(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n"})
    res = run_cli(["scan", root / "a.txt", "--no-history", "-f", "json"])
    assert res.code == 1
    assert leaks(json.loads(res.stdout))[0]["location"]["path"] == "a.txt"


def test_default_path_is_cwd(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n"})
    res = run_cli(["scan", "--no-history", "-f", "json"], cwd=root)
    assert res.code == 1
    assert json.loads(res.stdout)["roots"] == ["."]


# -- inline ignores --------------------------------------------------------------------------------------
@pytest.mark.parametrize("marker", ["# secretkeeper:allow", "# gitleaks:allow", "# pragma: allowlist secret"])
def test_inline_ignore_same_line(make_tree, run_cli, canary, marker):
    other = make_token()
    root = make_tree({"a.py": f"A = '{canary}'  {marker}\nB = '{other}'\n"})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert res.code == 1
    assert [f["location"]["line"] for f in leaks(json.loads(res.stdout))] == [2]


def test_inline_ignore_nextline(make_tree, run_cli, canary):
    root = make_tree({"a.py": f"# pragma: allowlist nextline secret\nA = '{canary}'\nB = '{canary}'\n"})
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert [f["location"]["line"] for f in leaks(json.loads(res.stdout))] == [3]


def test_inline_ignore_everything_exits_0(make_tree, run_cli, canary):
    root = make_tree({"a.py": f"A = '{canary}'  # secretkeeper:allow\n"})
    assert run_cli(["scan", root, "--no-history"]).code == 0


# -- baseline ---------------------------------------------------------------------------------------------
def test_baseline_suppresses_exactly_recorded_findings(make_tree, run_cli, canary, tmp_path):
    root = make_tree({"a.txt": f"t {canary}\n", "b.txt": f"t {make_token()}\n"})
    bl = tmp_path / "baseline.json"
    res = run_cli(["baseline", root, "--no-history", "-o", bl])
    assert res.code == 0, res.output
    assert stat.S_IMODE(bl.stat().st_mode) == 0o600
    assert canary not in bl.read_text()

    res = run_cli(["scan", root, "--no-history", "--baseline", bl, "-f", "json"])
    assert res.code == 0, res.output
    doc = json.loads(res.stdout)
    assert leaks(doc) == []
    assert doc["summary"]["suppressed"]["baseline"] >= 2
    text = run_cli(["scan", root, "--no-history", "--baseline", bl]).stdout
    assert "suppressed:" in text and "baseline" in text

    # A new leak (new file, and the same secret in a new place) still fails.
    new = make_token()
    (root / "c.txt").write_text(f"t {new}\n")
    (root / "d.txt").write_text(f"t {canary}\n")
    res = run_cli(["scan", root, "--no-history", "--baseline", bl, "-f", "json"])
    assert res.code == 1
    assert sorted(f["location"]["path"] for f in leaks(json.loads(res.stdout))) == ["c.txt", "d.txt"]


def test_baseline_survives_line_moves(make_tree, run_cli, canary, tmp_path):
    root = make_tree({"a.txt": f"t {canary}\n"})
    bl = tmp_path / "bl.json"
    assert run_cli(["baseline", root, "--no-history", "-o", bl]).code == 0
    (root / "a.txt").write_text(f"\n\n\nmoved {canary}\n")
    assert run_cli(["scan", root, "--no-history", "--baseline", bl]).code == 0


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not valid JSON"),
    ('{"version": 1}', "no 'findings' list"),
    ('{"findings": [{"rule_id": "x"}]}', "no fingerprint"),
])
def test_bad_baseline_exits_2(make_tree, run_cli, tmp_path, content, needle):
    root = make_tree({"a.txt": "x\n"})
    bl = tmp_path / "bl.json"
    bl.write_text(content)
    res = run_cli(["scan", root, "--baseline", bl])
    assert res.code == 2
    assert needle in res.stderr and str(bl) in res.stderr and res.stderr.count("\n") == 1


def test_missing_baseline_exits_2(make_tree, run_cli, tmp_path):
    root = make_tree({"a.txt": "x\n"})
    res = run_cli(["scan", root, "--baseline", tmp_path / "missing.json"])
    assert res.code == 2 and "cannot read baseline" in res.stderr


# -- rules ------------------------------------------------------------------------------------------------
def test_rules_list_json(run_cli):
    res = run_cli(["rules", "list", "--format", "json"])
    assert res.code == 0, res.output
    rows = json.loads(res.stdout)
    by_id = {r["id"]: r for r in rows}
    assert by_id[RULE]["severity"] == "high"
    assert {"id", "severity", "family", "description", "keywords", "remediation"} <= set(by_id[RULE])


def test_rules_list_text(run_cli):
    res = run_cli(["rules", "list"])
    assert res.code == 0 and RULE in res.stdout and res.stdout.rstrip().endswith("rules")


def test_rules_list_bad_format(run_cli):
    res = run_cli(["rules", "list", "-f", "xml"])
    assert res.code == 2 and "--format" in res.stderr




def test_rules_test_passes_with_custom_rule(make_tree, run_cli):
    root = make_tree({"sk.yaml": CUSTOM_RULE})
    res = run_cli(["rules", "test", "-c", root / "sk.yaml"])
    fails = [line for line in res.stderr.splitlines() if line.startswith("FAIL ")]
    assert not [f for f in fails if "acme-api-key" in f]
    # Exit 0 when every example passes; built-in rules being written concurrently may fail their own.
    assert res.code == (1 if fails else 0), res.output
    assert f"{len(fails)} failures" in res.stdout


def test_rules_test_reports_failing_example(make_tree, run_cli):
    bad = CUSTOM_RULE.replace('false: ["key = acme_short"]', 'false: ["key = acme_q8w7e6r5t4y3u2i1o9p8a7s6"]')
    root = make_tree({"sk.yaml": bad})
    res = run_cli(["rules", "test", "-c", root / "sk.yaml"])
    assert res.code == 1
    assert "FAIL acme-api-key: examples.false[0] matched" in res.stderr


def test_rules_list_includes_custom(make_tree, run_cli):
    root = make_tree({"sk.yaml": CUSTOM_RULE})
    rows = json.loads(run_cli(["rules", "list", "-f", "json", "-c", root / "sk.yaml"]).stdout)
    assert {"id": "acme-api-key", "family": "custom"}.items() <= {
        k: v for r in rows if r["id"] == "acme-api-key" for k, v in r.items()}.items()


def test_quiet_with_findings_prints_findings_only(make_tree, run_cli, canary):
    root = make_tree({"a.txt": f"t {canary}\n"})
    res = run_cli(["scan", root, "--no-history", "-q"])
    assert res.code == 1
    assert "a.txt" in res.stdout and RULE in res.stdout
    assert "finding" not in res.stdout.splitlines()[-1]  # no summary line
    assert res.stderr == ""


def test_reports_and_baseline_in_the_tree_raise_no_findings(make_tree, run_cli, canary):
    # Reports hold hashes, fingerprints and previews: a rescan must not flag its own output.
    root = make_tree({"a.env": f"GITHUB_TOKEN={canary}\n"})
    for fmt in ("text", "json", "sarif", "junit"):
        assert run_cli(["scan", root, "--no-history", "-f", fmt, "-o", root / f"report.{fmt}"]).code == 1
    assert run_cli(["baseline", root, "--no-history", "-o", root / "baseline.json"]).code == 0
    res = run_cli(["scan", root, "--no-history", "-f", "json"])
    assert {f["location"]["path"] for f in json.loads(res.stdout)["findings"]} == {"a.env"}


@pytest.mark.parametrize("fmt", ["text", "sarif"])
def test_stdout_that_cannot_encode_the_report(make_tree, canary, fmt):
    # A latin-1 (or cp1252) stdout cannot encode the preview's ellipsis: replace it, do not crash.
    import os
    import subprocess
    import sys

    root = make_tree({"a.txt": f"t {canary}\n", "caf\u00e9/\u65e5\u672c.txt": f"t {canary}\n"})
    env = {**os.environ, "PYTHONIOENCODING": "latin-1"}
    proc = subprocess.run([sys.executable, "-m", "secretkeeper.cli", "scan", str(root), "--no-history", "-f", fmt],
                          capture_output=True, env=env, timeout=600, check=False)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode("latin-1")
    assert RULE in out and canary not in out
    if fmt == "sarif":  # lossless: JSON escapes, not replacement characters
        props = [r["properties"] for r in json.loads(out)["runs"][0]["results"]]
        assert all(p["preview"] == "ghp_\u2026" for p in props)


def test_scans_tune_gc_while_they_run_whatever_the_entry_point(make_tree, run_cli, canary, capsys, monkeypatch,
                                                               tmp_path):
    """`scan` and `baseline` collect garbage less often while they run (same results), called through the
    console entry point or through the app by an embedding process (CliRunner); the thresholds are the
    caller's again when they return."""
    import gc

    from secretkeeper import pipeline
    from secretkeeper.cli import main

    during = []
    real_run_scan = pipeline.run_scan

    def run_scan(options):
        during.append((gc.get_threshold(), gc.get_freeze_count() > 0))
        return real_run_scan(options)

    monkeypatch.setattr(pipeline, "run_scan", run_scan)
    root = make_tree({"a.txt": f"t {canary}\n"})
    before = gc.get_threshold()
    try:
        assert main(["scan", str(root), "--no-history", "-f", "json"]) == 1
        assert gc.get_threshold() == before
        assert run_cli(["scan", root, "--no-history"]).code == 1
        assert run_cli(["baseline", root, "--no-history", "-o", tmp_path / "bl.json"]).code == 0
        assert gc.get_threshold() == before
    finally:
        gc.set_threshold(*before)
    assert during == [((50_000, 50, 100), True)] * 3
    out = capsys.readouterr().out
    assert '"github-pat-classic"' in out and canary not in out
