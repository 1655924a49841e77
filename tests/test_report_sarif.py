"""SARIF 2.1.0 report: schema-valid, rules for what fired, locations, fingerprints, no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secretkeeper.findings import Severity
from secretkeeper.report.sarif import artifact_uri, render
from tests.test_report_text import finding, result

# The OASIS SARIF 2.1.0 schema (draft-07), vendored so that every checkout validates its reports.
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def validator():
    import jsonschema  # a test dependency: a missing one fails here rather than skipping validation

    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def validate(validator, doc):
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


MIXED = [
    finding(path="src/app.env", line=3),
    finding(source="git", path="old/é x.env", line=1, commit="a" * 40, author="Dev", email="d@example.test",
            date="2026-01-01T00:00:00Z", rule="aws-access-key-id", severity=Severity.CRITICAL),
    finding(source="manifest", path="k8s/deploy.yaml", line=20, object="Deployment/default/web",
            kind="hygiene", rule="k8s-env-secret-literal", severity=Severity.MEDIUM),
    finding(source="cluster", object="Secret/prod/db", kind="hygiene", rule="k8s-plaintext-secret",
            severity=Severity.LOW),
    finding(source="image", path="/app/.env", line=2, image="registry.test/app:1", digest="sha256:" + "d" * 64,
            severity=Severity.INFO, rule="generic-password"),
    finding(path="no-line.bin", rule="keystore-file"),
]


def test_valid_against_schema(validator):
    validate(validator, json.loads(render(result(MIXED))))


def test_schema_rejects_a_broken_log(validator):
    """The vendored schema is enforced: a log without its tool, or with an unknown level, is invalid."""
    doc = json.loads(render(result(MIXED)))
    del doc["runs"][0]["tool"]
    assert any("'tool' is a required property" in e.message for e in validator.iter_errors(doc))
    doc = json.loads(render(result(MIXED)))
    doc["runs"][0]["results"][0]["level"] = "severe"
    assert list(validator.iter_errors(doc))


def test_clean_valid_against_schema(validator):
    doc = json.loads(render(result([])))
    validate(validator, doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


def test_real_scan_valid_against_schema(validator, make_tree, run_cli, canary):
    root = make_tree({"a b/c%.txt": f"t {canary}\n"})
    res = run_cli(["scan", root, "--no-history", "-f", "sarif"])
    assert res.code == 1, res.output
    doc = json.loads(res.stdout)
    validate(validator, doc)
    run = doc["runs"][0]
    hit = next(r for r in run["results"] if r["ruleId"] == "github-pat-classic")
    assert hit["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "a%20b/c%25.txt"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == root.resolve().as_uri() + "/"
    assert canary not in res.stdout


def test_one_run_and_driver():
    doc = json.loads(render(result(MIXED)))
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["name"] == "secretkeeper" and driver["semanticVersion"]
    assert [r["id"] for r in driver["rules"]] == ["github-pat-classic", "aws-access-key-id",
                                                  "k8s-env-secret-literal", "k8s-plaintext-secret",
                                                  "generic-password", "keystore-file"]


def test_rule_descriptors_and_levels():
    doc = json.loads(render(result(MIXED)))
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"github-pat-classic": "error", "aws-access-key-id": "error",
                      "k8s-env-secret-literal": "warning", "k8s-plaintext-secret": "note",
                      "generic-password": "note", "keystore-file": "error"}
    gh = rules[0]
    assert gh["shortDescription"]["text"] == "GitHub personal access token (classic)"
    assert gh["help"]["text"].startswith("Revoke the token")
    assert gh["defaultConfiguration"]["level"] == "error"
    assert gh["properties"]["security-severity"] == "8.0"
    assert "security" in gh["properties"]["tags"]
    assert rules[1]["properties"]["security-severity"] == "9.5"


def test_locations():
    run = json.loads(render(result(MIXED)))["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    phys = by_rule["github-pat-classic"]["locations"][0]["physicalLocation"]
    assert phys == {"artifactLocation": {"uri": "src/app.env", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 3}}
    assert (by_rule["aws-access-key-id"]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "old/%C3%A9%20x.env")
    manifest = by_rule["k8s-env-secret-literal"]["locations"][0]
    assert manifest["physicalLocation"]["region"]["startLine"] == 20
    assert manifest["logicalLocations"][0]["fullyQualifiedName"] == "Deployment/default/web"
    cluster = by_rule["k8s-plaintext-secret"]["locations"][0]
    assert "physicalLocation" not in cluster
    assert cluster["logicalLocations"] == [{"fullyQualifiedName": "Secret/prod/db", "kind": "resource"}]
    image = by_rule["generic-password"]["locations"][0]
    assert "physicalLocation" not in image
    assert image["logicalLocations"][0]["fullyQualifiedName"].startswith("registry.test/app:1@sha256:")
    no_line = by_rule["keystore-file"]["locations"][0]["physicalLocation"]
    assert "region" not in no_line


def test_fingerprints_and_properties():
    run = json.loads(render(result(MIXED)))["runs"][0]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    plain, hist = by_rule["github-pat-classic"], by_rule["aws-access-key-id"]
    assert plain["partialFingerprints"] == {"secretkeeper/v1": MIXED[0].fingerprint}
    assert hist["partialFingerprints"]["commitSha"] == "a" * 40
    props = hist["properties"]
    assert props["commit"] == "a" * 40 and props["author"] == "Dev" and props["email"] == "d@example.test"
    assert props["date"] == "2026-01-01T00:00:00Z" and props["kind"] == "leak"
    assert props["secretSha256"] == "ab" * 32 and props["severity"] == "critical" and props["preview"] == "ghp_…"
    assert by_rule["k8s-env-secret-literal"]["properties"]["kind"] == "hygiene"
    assert by_rule["k8s-env-secret-literal"]["properties"]["object"] == "Deployment/default/web"
    img = by_rule["generic-password"]["properties"]
    assert img["image"] == "registry.test/app:1" and img["digest"].startswith("sha256:")


def test_message_never_holds_more_than_preview():
    run = json.loads(render(result(MIXED)))["runs"][0]
    for res in run["results"]:
        assert "ghp_…" in res["message"]["text"]


@pytest.mark.parametrize("path, uri", [
    ("a/b.txt", "a/b.txt"),
    ("dir with space/#frag?.txt", "dir%20with%20space/%23frag%3F.txt"),
    ("ünï/c.txt", "%C3%BCn%C3%AF/c.txt"),
    ("bad\udcff.txt", "bad%FF.txt"),  # an undecodable byte in a file name, as os.fsdecode gives it
])
def test_artifact_uri(path, uri):
    assert artifact_uri(path) == uri


def test_undecodable_path_renders(validator):
    doc = json.loads(render(result([finding(path="x\udcfe.txt", line=1)])))
    validate(validator, doc)


def test_rendered_text_is_the_document(validator):
    """Results are written one a line by json's C encoder into the indented document: the text parses to
    exactly `to_document`, valid, for no result, one, and many with odd characters."""
    from secretkeeper.report.sarif import to_document

    many = [finding(path=f"dir/é \"{i}\".txt", line=i) for i in range(1, 40)]
    many.append(finding(source="cluster", object="Pod/ns/p", kind="hygiene", severity=Severity.LOW))
    for findings in ([], many[:1], many):
        r = result(findings)
        text = render(r)
        doc = json.loads(text)
        assert doc == to_document(r)
        assert text.isascii() and text.endswith("}\n")
        validator.validate(doc)
        assert len([line for line in text.splitlines() if line.startswith('        {"ruleId"')]) == len(findings)
