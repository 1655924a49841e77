"""Image scanning against real artefacts: an OCI layout, a docker-archive tarball, and a real Docker
registry (Debian `docker-registry`) on 127.0.0.1 with images pushed by skopeo."""

from __future__ import annotations

import base64
import json
import random
import re
import string
from pathlib import Path

import pytest

from scanners.options import ImageOptions
from secretkeeper.config import Config
from secretkeeper.errors import SecretkeeperError
from secretkeeper.results import ScanStats
from secretkeeper.validators.core import base62_crc32
from tests.integration.registry_server import OciLayout, docker_archive, push, registry

pytestmark = pytest.mark.integration


def gh_token(seed: int) -> str:
    rnd = random.Random(seed)
    body = "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(30))
    return "ghp_" + body + base62_crc32(body.encode())


ENV_TOKEN, RUN_TOKEN, FILE_TOKEN, DELETED_TOKEN, ARM_TOKEN = (gh_token(i) for i in range(5))


@pytest.fixture(scope="module")
def detector():
    # Image plumbing is under test, not the catalog: one stable rule keeps these tests focused.
    from secretkeeper.engine import Detector
    from secretkeeper.rules import load_rule_file

    return Detector(load_rule_file(Path(__file__).parents[2] / "secretkeeper" / "rules" / "vcs.toml"))


def build_layout(root: Path) -> OciLayout:
    layout = OciLayout(root)
    amd = layout.image(
        env=["PATH=/usr/local/bin:/usr/bin", f"GITHUB_TOKEN={ENV_TOKEN}"],
        history=["/bin/sh -c #(nop) ADD file:abc in /", f"RUN curl -H 'Authorization: token {RUN_TOKEN}' -o /x y"],
        layers=[{"app/settings.txt": f"token = {FILE_TOKEN}\n".encode(),
                 "etc/leak.txt": f"old = {DELETED_TOKEN}\n".encode(), "app/README": b"nothing here\n"},
                {"etc/.wh.leak.txt": b""}],
    )
    arm = layout.image(env=[f"GITHUB_TOKEN={ARM_TOKEN}"], history=[], layers=[{"a.txt": b"hi\n"}], arch="arm64")
    layout.tag(amd, "v1")
    layout.multi([amd, arm], "multi")
    return layout


def scan(refs, detector, platform=None, image_layers=False):
    from scanners.images import scan_images

    stats = ScanStats()
    options = ImageOptions(refs=tuple(refs), layers=image_layers, platform=platform)
    return scan_images(refs, detector, options, stats, max_size=Config().scan.max_file_size), stats


def rules_at(findings):
    return sorted((f.rule_id, f.location.object or f.location.path) for f in findings)


def test_oci_layout_config_only(tmp_path, detector):
    build_layout(tmp_path / "oci")
    findings, stats = scan([f"oci:{tmp_path / 'oci'}:v1"], detector)
    where = rules_at(findings)
    assert ("github-pat-classic", "config/Env/GITHUB_TOKEN") in where
    assert ("github-pat-classic", "config/history[1].created_by") in where
    assert all(f.location.path is None for f in findings), "layers are not read without --image-layers"
    assert stats.images == 1 and all(f.location.digest.startswith("sha256:") for f in findings)


def test_oci_layout_layers_and_whiteouts(tmp_path, detector):
    build_layout(tmp_path / "oci")
    findings, _stats = scan([f"oci:{tmp_path / 'oci'}:v1"], detector, image_layers=True)
    by_path = {f.location.path: f for f in findings if f.location.path}
    assert set(by_path) == {"app/settings.txt", "etc/leak.txt"}
    assert by_path["app/settings.txt"].location.line == 1
    assert by_path["etc/leak.txt"].extra.get("deleted_in_later_layer") is True
    assert "deleted by a later layer" in by_path["etc/leak.txt"].message
    assert not any(".wh." in (f.location.path or "") for f in findings)


def test_platform_selection_from_an_index(tmp_path, detector):
    build_layout(tmp_path / "oci")
    ref = f"oci:{tmp_path / 'oci'}:multi"
    default, _ = scan([ref], detector)
    arm, _ = scan([ref], detector, platform="linux/arm64")
    assert {f.secret_sha256 for f in default} != {f.secret_sha256 for f in arm}
    assert len(arm) == 1
    with pytest.raises(SecretkeeperError, match="no manifest for platform linux/s390x"):
        scan([ref], detector, platform="linux/s390x")


def test_docker_archive(tmp_path, detector):
    tar = tmp_path / "app.tar"
    docker_archive(tar, env=[f"GITHUB_TOKEN={ENV_TOKEN}"], history=[],
                   layers=[{"srv/app.env": f"T={FILE_TOKEN}\n".encode()}])
    findings, _ = scan([f"docker-archive:{tar}"], detector, image_layers=True)
    assert rules_at(findings) == [("github-pat-classic", "config/Env/GITHUB_TOKEN"),
                                  ("github-pat-classic", "srv/app.env")]
    tagged, _ = scan([f"docker-archive:{tar}:demo/app:v1"], detector)
    assert len(tagged) == 1
    with pytest.raises(SecretkeeperError, match="no image tagged"):
        scan([f"docker-archive:{tar}:other:v2"], detector)


@pytest.mark.parametrize("bad", ["not a ref", "app:latest", "oci:/nonexistent/dir:v1", "docker-archive:/nope.tar"])
def test_bad_references_name_the_input(bad, detector):
    with pytest.raises(SecretkeeperError) as err:
        scan([bad], detector)
    assert "\n" not in str(err.value)


def test_registry_config_only_fetches_manifest_and_config(tmp_path, detector):
    layout = build_layout(tmp_path / "oci")
    with registry(tmp_path / "reg") as (host, log):
        push(layout.root, "v1", f"{host}/team/app:v1")
        findings, _stats = scan([f"{host}/team/app:v1"], detector)
        assert ("github-pat-classic", "config/Env/GITHUB_TOKEN") in rules_at(findings)
        digest = findings[0].location.digest
        assert findings[0].location.image == f"{host}/team/app:v1"
        # the digest reported is the registry's manifest digest: fetching by it works
        again, _ = scan([f"{host}/team/app@{digest}"], detector)
        assert {f.secret_sha256 for f in again} == {f.secret_sha256 for f in findings}
        layer_digests = [d["digest"] for d in json.loads(
            (layout.root / "blobs" / "sha256" / layout.index["manifests"][0]["digest"][7:]).read_text())["layers"]]
        pulled = re.findall(r'"GET /v2/team/app/blobs/(sha256:[0-9a-f]{64})', log.read_text())
        assert pulled and not set(pulled) & set(layer_digests), "layers must not be fetched without --image-layers"
        layered, _ = scan([f"{host}/team/app:v1"], detector, image_layers=True)
        assert {"app/settings.txt", "etc/leak.txt"} <= {f.location.path for f in layered}


def test_registry_manifest_list(tmp_path, detector):
    layout = build_layout(tmp_path / "oci")
    with registry(tmp_path / "reg") as (host, _log):
        push(layout.root, "multi", f"{host}/team/multi:1", all_platforms=True)
        arm, _ = scan([f"{host}/team/multi:1"], detector, platform="linux/arm64")
        assert len(arm) == 1 and arm[0].location.object == "config/Env/GITHUB_TOKEN"
        amd, _ = scan([f"{host}/team/multi:1"], detector)
        assert len(amd) >= 2


def test_registry_basic_auth_from_docker_config(tmp_path, detector, monkeypatch):
    crypt = pytest.importorskip("crypt")
    hashed = crypt.crypt("s3kr1t-pass", crypt.mksalt(crypt.METHOD_BLOWFISH))
    if not hashed or not hashed.startswith("$2"):
        pytest.skip("libc crypt has no bcrypt")
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"ci:{hashed}\n")
    layout = build_layout(tmp_path / "oci")
    with registry(tmp_path / "reg", htpasswd=htpasswd) as (host, _log):
        push(layout.root, "v1", f"{host}/team/app:v1", creds="ci:s3kr1t-pass")
        docker_dir = tmp_path / "docker"
        docker_dir.mkdir()
        monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
        with pytest.raises(SecretkeeperError, match="needs credentials") as err:
            scan([f"{host}/team/app:v1"], detector)
        (docker_dir / "config.json").write_text(json.dumps(
            {"auths": {host: {"auth": base64.b64encode(b"ci:wrong").decode()}}}))
        with pytest.raises(SecretkeeperError, match="access denied") as err:
            scan([f"{host}/team/app:v1"], detector)
        assert "wrong" not in str(err.value)
        (docker_dir / "config.json").write_text(json.dumps(
            {"auths": {f"https://{host}": {"auth": base64.b64encode(b"ci:s3kr1t-pass").decode()}}}))
        findings, _ = scan([f"{host}/team/app:v1"], detector)
        assert ("github-pat-classic", "config/Env/GITHUB_TOKEN") in rules_at(findings)


def test_cli_scan_image_reports_reference_and_digest(tmp_path):
    """`secretkeeper scan --image` end to end: exit 1, JSON carries image + digest, no secret in output."""
    from typer.testing import CliRunner

    from secretkeeper.cli import app

    build_layout(tmp_path / "oci")
    ref = f"oci:{tmp_path / 'oci'}:v1"
    result = CliRunner().invoke(app, ["scan", "--image", ref, "-f", "json", "--image-layers"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    locs = [f["location"] for f in doc["findings"]]
    assert all(loc["source"] == "image" and loc["image"] == ref and loc["digest"].startswith("sha256:")
               for loc in locs)
    assert doc["summary"]["images"] == 1 and doc["summary"]["files"] == 3  # layer files scanned
    for token in (ENV_TOKEN, RUN_TOKEN, FILE_TOKEN, DELETED_TOKEN):
        assert token not in result.output
    bad = CliRunner().invoke(app, ["scan", "--image", "app:latest"])
    assert bad.exit_code == 2 and "--image 'app:latest'" in bad.stderr


def test_registry_bearer_token_auth(tmp_path, detector, monkeypatch):
    from tests.integration.registry_server import TokenService

    tokens = TokenService(tmp_path / "tok", {"ci": "t0ken-pass"})
    layout = build_layout(tmp_path / "oci")
    try:
        with registry(tmp_path / "reg", auth=tokens.registry_auth()) as (host, _log):
            push(layout.root, "v1", f"{host}/team/app:v1", creds="ci:t0ken-pass")
            docker_dir = tmp_path / "docker"
            docker_dir.mkdir()
            monkeypatch.setenv("DOCKER_CONFIG", str(docker_dir))
            (docker_dir / "config.json").write_text(json.dumps(
                {"auths": {host: {"username": "ci", "password": "nope"}}}))
            with pytest.raises(SecretkeeperError, match="token service refused"):
                scan([f"{host}/team/app:v1"], detector)
            (docker_dir / "config.json").write_text(json.dumps(
                {"auths": {host: {"username": "ci", "password": "t0ken-pass"}}}))
            before = tokens.requests
            findings, _ = scan([f"{host}/team/app:v1"], detector)
            assert ("github-pat-classic", "config/Env/GITHUB_TOKEN") in rules_at(findings)
            assert tokens.requests > before
    finally:
        tokens.close()


def test_docker_archive_written_by_skopeo(tmp_path, detector):
    """The `docker save` format as real tools write it (skopeo's docker-archive transport)."""
    import subprocess

    from tests.integration.registry_server import require

    skopeo = require("skopeo")
    build_layout(tmp_path / "oci")
    tar = tmp_path / "saved.tar"
    subprocess.run([skopeo, "copy", "--insecure-policy", f"oci:{tmp_path / 'oci'}:v1",
                    f"docker-archive:{tar}:team/app:v1"], check=True, capture_output=True, timeout=120)
    findings, _ = scan([f"docker-archive:{tar}:team/app:v1"], detector, image_layers=True)
    where = rules_at(findings)
    assert ("github-pat-classic", "config/Env/GITHUB_TOKEN") in where
    assert ("github-pat-classic", "app/settings.txt") in where
    deleted = [f for f in findings if f.location.path == "etc/leak.txt"]
    assert deleted and deleted[0].extra.get("deleted_in_later_layer") is True


# A plaintext Secret manifest with a synthetic value.  secretkeeper:allow (test fixture)
SECRET_MANIFEST = (b"apiVersion: v1\nkind: Secret\nmetadata: {name: shop-db}\nstringData:\n"
                   b"  password: Xk9mQ2vLp7Rt\n")


def test_layer_files_get_the_manifest_checks_a_file_gets(tmp_path, detector):
    """A Kubernetes manifest in a layer is checked as in a repository: its hygiene finding points into the
    image (reference, digest, layer), at the manifest's path and the Secret's `kind:` line."""
    layout = OciLayout(tmp_path / "oci")
    layout.tag(layout.image(env=[], history=[], layers=[{"deploy/secret.yaml": SECRET_MANIFEST}]), "v1")
    findings, stats = scan([f"oci:{tmp_path / 'oci'}:v1"], detector, image_layers=True)
    [f] = [f for f in findings if f.rule_id == "k8s-secret-plaintext-manifest"]
    loc = f.location
    assert (loc.source, loc.path, loc.line, loc.object) == ("image", "deploy/secret.yaml", 2, "Secret/-/shop-db")
    assert loc.image == f"oci:{tmp_path / 'oci'}:v1" and loc.digest.startswith("sha256:")
    assert f.extra["layer"] == 0 and f.extra["layer_digest"].startswith("sha256:")
    assert stats.objects == 1 and "Xk9mQ2vLp7Rt" not in repr(findings)
    again, _ = scan([f"oci:{tmp_path / 'oci'}:v1"], detector, image_layers=True)
    assert [g.fingerprint for g in again if g.rule_id == f.rule_id] == [f.fingerprint]


def test_allowlisted_paths_in_layers_are_not_scanned(tmp_path):
    """`scan.allowlist.paths` holds inside images too, for leaks and for the manifest checks alike."""
    from secretkeeper.config import load_config
    from secretkeeper.pipeline import build_detector

    layout = OciLayout(tmp_path / "oci")
    layout.tag(layout.image(env=[], history=[], layers=[{
        "deploy/secret.yaml": SECRET_MANIFEST, "fixtures/token.txt": f"token = {FILE_TOKEN}\n".encode(),
        "app/settings.txt": f"token = {FILE_TOKEN}\n".encode()}]), "v1")
    cfg = tmp_path / "sk.yaml"
    cfg.write_text("scan:\n  allowlist:\n    paths: ['^fixtures/', '^deploy/']\n")
    ref = f"oci:{tmp_path / 'oci'}:v1"
    everything, _ = scan([ref], build_detector(Config()), image_layers=True)
    assert {f.location.path for f in everything} == {"deploy/secret.yaml", "fixtures/token.txt", "app/settings.txt"}
    allowed, stats = scan([ref], build_detector(load_config(cfg)), image_layers=True)
    assert {f.location.path for f in allowed} == {"app/settings.txt"}
    assert stats.files == 3  # still read and counted, as allowlisted files on disk are
