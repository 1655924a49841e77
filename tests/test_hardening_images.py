"""Malformed image inputs name the input in one line (exit 2), never an internal error; an OCI layout
cannot make the scanner read outside itself or block on a FIFO (issue 20, item 9)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.bounded import bounded, one_line_error
from tests.conftest import make_token, make_tree
from tests.integration.hostile import HostileServer
from tests.integration.registry_server import OciLayout

pytestmark = pytest.mark.timeout(120)


def one_line(res, *names: str) -> None:
    assert res.code == 2, res.output
    assert "internal error" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
    for name in names:
        assert name in res.stderr, res.stderr


def scan_image(tmp_path, run_cli, ref: str, *extra: str):
    empty = make_tree(tmp_path / "empty", {"readme.txt": "hello\n"})
    return run_cli(["scan", empty, "--no-history", "--image", ref, *extra])


def tar_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_malformed_docker_archive_names_the_input(tmp_path, run_cli):
    bad = tmp_path / "img.tar"
    bad.write_bytes(tar_of({"manifest.json": b'[{"Config": 5, "Layers": {"a": 1}}]'}))
    res = scan_image(tmp_path, run_cli, f"docker-archive:{bad}")
    one_line(res, "img.tar")


# -- docker-archive: manifest.json and members --------------------------------------------------------------
CONFIG = b'{"config": {"Env": ["A=b"]}}'
CONFIG_NAME = hashlib.sha256(CONFIG).hexdigest() + ".json"
LAYER = tar_of({"etc/motd": b"hello\n"})
ARCHIVES = {  # manifest.json, members: each gave "internal error (KeyError | TypeError | ...)"
    "an entry not an object": ([5], {}),
    "Config not a string": ([{"Config": ["x"], "Layers": []}], {}),
    "Layers not a list": ([{"Config": CONFIG_NAME, "Layers": "l.tar"}], {CONFIG_NAME: CONFIG}),
    "RepoTags not strings": ([{"Config": CONFIG_NAME, "Layers": [], "RepoTags": [5]}], {CONFIG_NAME: CONFIG}),
    "a layer missing": ([{"Config": CONFIG_NAME, "Layers": ["l.tar", "gone.tar"]}], {CONFIG_NAME: CONFIG,
                                                                                   "l.tar": LAYER}),
    "config not an object": ([{"Config": "c.json", "Layers": []}], {"c.json": b"[1, 2]"}),
    "config Env not a list": ([{"Config": "c.json", "Layers": []}], {"c.json": b'{"config": {"Env": 5}}'}),
    "config history not objects": ([{"Config": "c.json", "Layers": []}], {"c.json": b'{"history": [5]}'}),
    "JSON nested too deeply": (None, {}),
}


@pytest.mark.parametrize("case", sorted(ARCHIVES))
def test_malformed_docker_archives_are_one_line(tmp_path, run_cli, case):
    manifest, members = ARCHIVES[case]
    data = b"[" * 100_000 + b"]" * 100_000 if manifest is None else json.dumps(manifest).encode()
    archive = tmp_path / "app.tar"
    archive.write_bytes(tar_of({**members, "manifest.json": data}))
    ref = f"docker-archive:{archive}" + (":app:v1" if case == "RepoTags not strings" else "")
    one_line(scan_image(tmp_path, run_cli, ref, "--image-layers"), f"docker-archive:{archive}")


# -- OCI layouts: index.json, manifests, blobs --------------------------------------------------------------
def layout(root: Path, token: str = "") -> tuple[OciLayout, dict]:
    oci = OciLayout(root)
    desc = oci.image(env=[f"GITHUB_TOKEN={token}"] if token else [], history=[],
                     layers=[{"srv/app.env": b"LOG_LEVEL=debug\n"}])
    oci.tag(desc, "v1")
    return oci, desc


def rewrite_manifest(oci: OciLayout, desc: dict, change) -> None:
    doc = json.loads((oci.root / "blobs" / "sha256" / desc["digest"][7:]).read_bytes())
    change(doc)
    oci.index["manifests"][0].update(oci.blob(json.dumps(doc).encode()))
    (oci.root / "index.json").write_text(json.dumps(oci.index))


def rewrite_index(oci: OciLayout, change) -> None:
    change(oci.index)
    (oci.root / "index.json").write_text(json.dumps(oci.index))


LAYOUTS = {  # each gave "internal error (ValueError | TypeError | KeyError | AttributeError)"
    "size not an integer": lambda oci, d: rewrite_manifest(oci, d, lambda m: m["layers"][0].update(size="1k")),
    "size a list": lambda oci, d: rewrite_manifest(oci, d, lambda m: m["layers"][0].update(size=[1])),
    "layers not a list": lambda oci, d: rewrite_manifest(oci, d, lambda m: m.update(layers={"a": 1})),
    "a layer not an object": lambda oci, d: rewrite_manifest(oci, d, lambda m: m.update(layers=[5])),
    "a layer without digest": lambda oci, d: rewrite_manifest(oci, d, lambda m: m["layers"][0].pop("digest")),
    "config not an object": lambda oci, d: rewrite_manifest(oci, d, lambda m: m.update(config="x")),
    "manifest not an object": lambda oci, d: rewrite_index(oci, lambda i: i["manifests"][0].update(
        oci.blob(b"[1]"))),
    "index manifests not a list": lambda oci, d: rewrite_index(oci, lambda i: i.update(manifests={"a": 1})),
    "index entry not an object": lambda oci, d: rewrite_index(oci, lambda i: i.update(manifests=[5])),
    "annotations not an object": lambda oci, d: rewrite_index(oci, lambda i: i["manifests"][0].update(
        annotations=["v1"])),
    "digest not a string": lambda oci, d: rewrite_index(oci, lambda i: i["manifests"][0].update(digest=5)),
    "a layer blob missing": lambda oci, d: rewrite_manifest(oci, d, lambda m: (
        oci.root / "blobs" / "sha256" / m["layers"][0]["digest"][7:]).unlink()),
}


@pytest.mark.parametrize("case", sorted(LAYOUTS))
def test_malformed_oci_layouts_are_one_line(tmp_path, run_cli, case):
    oci, desc = layout(tmp_path / "oci")
    LAYOUTS[case](oci, desc)
    one_line(scan_image(tmp_path, run_cli, f"oci:{oci.root}:v1", "--image-layers"), f"oci:{oci.root}:v1")


def test_a_digest_cannot_reach_outside_the_layout(tmp_path, run_cli):
    # The digest became a path as it was: a layer "sha256:../../../outside.tar" was read from beside the
    # layout and its files scanned (and reported) as the image's.
    token = make_token()
    (tmp_path / "outside.tar").write_bytes(tar_of({"home/me/.env": f"GITHUB_TOKEN={token}\n".encode()}))
    oci, desc = layout(tmp_path / "oci")
    rewrite_manifest(oci, desc, lambda m: m["layers"][0].update(digest="sha256:../../../outside.tar"))
    res = scan_image(tmp_path, run_cli, f"oci:{oci.root}:v1", "--image-layers", "-f", "json")
    one_line(res, f"oci:{oci.root}:v1", "a digest is not sha256: and 64 hex digits")
    assert "github-pat" not in res.stdout and token[:8] not in res.output
    oci, _ = layout(tmp_path / "oci2")
    rewrite_index(oci, lambda i: i["manifests"][0].update(digest="sha256:../../../outside.tar"))
    one_line(scan_image(tmp_path, run_cli, f"oci:{oci.root}:v1"), "index.json", "a digest is not sha256:")


@pytest.mark.parametrize("blob", ["manifest", "config", "layer"])
def test_a_fifo_blob_is_refused_not_waited_on(tmp_path, blob):
    oci, desc = layout(tmp_path / "oci")
    manifest = json.loads((oci.root / "blobs" / "sha256" / desc["digest"][7:]).read_bytes())
    digest = {"manifest": desc, "config": manifest["config"], "layer": manifest["layers"][0]}[blob]["digest"]
    path = oci.root / "blobs" / "sha256" / digest[7:]
    path.unlink()
    os.mkfifo(path)
    empty = make_tree(tmp_path / "empty", {"readme.txt": "hello\n"})
    proc = bounded(["scan", empty, "--no-history", "--image", f"oci:{oci.root}:v1", "--image-layers"], seconds=60)
    one_line_error(proc, f"oci:{oci.root}:v1", "not a regular file")


# -- registries: what a manifest names is checked before it becomes a URL -----------------------------------
def test_a_registry_manifest_of_odd_types_is_one_line(tmp_path, run_cli):
    config = json.dumps({"config": {"Env": []}}).encode()
    config_desc = {"digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)}
    manifests = {
        "size": {"config": config_desc, "layers": [{"digest": "sha256:" + "0" * 64, "size": "big"}]},
        "traversal": {"config": config_desc, "layers": [{"digest": "sha256:../../../v2/other/secret/blobs/x",
                                                         "size": 1}]},
    }

    def handle(server, req, sock):
        name = req.path.split("/")[2]
        if "/manifests/" in req.path:
            body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                               **manifests[name]}).encode()
            server.respond(sock, 200, body, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
        elif req.path.endswith(hashlib.sha256(config).hexdigest()):
            server.respond(sock, 200, config)
        else:
            server.respond(sock, 404)

    srv = HostileServer(handle)
    try:
        for name in manifests:
            res = scan_image(tmp_path, run_cli, f"{srv.host}/{name}/app:v1", "--image-layers")
            one_line(res, f"{srv.host}/{name}/app:v1")
        assert not [r for r in srv.requests if "/blobs/" in r.path and "sha256:.." in r.path]
        assert not [r for r in srv.requests if "/other/" in r.path]
    finally:
        srv.close()
