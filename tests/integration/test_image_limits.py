"""An image's layers are attacker-controlled: decompression bombs, tar headers that make tarfile allocate or
recurse, and docker-archives that are bombs themselves must cost a bounded amount of time and memory. Past a
cap the rest of the layer is a counted skip with a warning, findings already made are kept and the scan
goes on. The caps are lowered for the tests (16 MiB per layer, ...); bombs expand to 1 GiB, which the
previous code took over a minute to wade through (and tarfile read some of it into memory)."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile
import time
from pathlib import Path
from scanners.options import ImageOptions

import pytest

from scanners import layerlimits
from secretkeeper.config import Config
from secretkeeper.errors import SecretkeeperError
from secretkeeper.results import ScanStats
from tests.conftest import make_token
from tests.integration.hostile import TAR_END, GzipWriter, bomb_writer, run_bounded, tar_header, tar_member
from tests.integration.registry_server import OciLayout, push, registry

pytestmark = pytest.mark.integration

GZ_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
GiB, MiB = 1 << 30, 1 << 20
A, B, C, D, E, F = (make_token() for _ in range(6))


@pytest.fixture
def small_caps(monkeypatch):
    monkeypatch.setattr(layerlimits, "MAX_LAYER_BYTES", 16 * MiB)
    monkeypatch.setattr(layerlimits, "MAX_IMAGE_BYTES", 24 * MiB)
    monkeypatch.setattr(layerlimits, "MAX_LAYER_ENTRIES", 2000)
    monkeypatch.setattr(layerlimits, "MAX_IMAGE_ENTRIES", 3000)
    monkeypatch.setattr(layerlimits, "MAX_ARCHIVE_DECOMPRESSION", 32 * MiB)


@pytest.fixture(scope="module")
def detector():
    from secretkeeper.engine import Detector
    from secretkeeper.rules import load_rule_file

    return Detector(load_rule_file(Path(__file__).parents[2] / "secretkeeper" / "rules" / "vcs.toml"))


def scan(ref, detector):
    from scanners.images import scan_images

    stats = ScanStats()
    findings = scan_images([ref], detector, ImageOptions(refs=(), layers=True), stats,
                           max_size=Config().scan.max_file_size)
    return {f.location.path for f in findings if f.location.path}, stats


def token_file(token: str) -> bytes:
    return f"token = {token}\n".encode()


# -- images built from raw layer blobs --------------------------------------------------------------------
def files_layer(files: dict[str, bytes]) -> GzipWriter:
    gz = GzipWriter()
    for name, data in files.items():
        gz.data(tar_member(name, data))
    return gz.data(TAR_END)


def gz(writer: GzipWriter) -> tuple[bytes, str, str]:
    """(blob, media type, diff_id)."""
    return writer.finish(), GZ_LAYER, "sha256:" + writer.sha.hexdigest()


def oci_image(root: Path, layers: list[tuple[bytes, str, str]], tag: str = "v1") -> str:
    layout = OciLayout(root)
    descs = [{"mediaType": media, **layout.blob(blob)} for blob, media, _ in layers]
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [diff for *_, diff in layers]}}
    cfg = {"mediaType": "application/vnd.oci.image.config.v1+json", **layout.blob(json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST, "config": cfg, "layers": descs}
    layout.tag({"mediaType": MANIFEST, **layout.blob(json.dumps(manifest).encode())}, tag)
    return f"oci:{root}:{tag}"


def archive_members(layers: list[tuple[bytes, str, str]]) -> list[tuple[str, bytes]]:
    """The members of a `docker save` tarball holding `layers` (blobs as they are, compressed or not)."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {}}).encode()
    cfg_name = hashlib.sha256(config).hexdigest() + ".json"
    names = [f"layer{i}/layer.tar" for i in range(len(layers))]
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["demo/app:v1"], "Layers": names}]).encode()
    return [*((n, blob) for n, (blob, _, _) in zip(names, layers)), (cfg_name, config), ("manifest.json", manifest)]


def docker_archive(path: Path, layers: list[tuple[bytes, str, str]]) -> str:
    with tarfile.open(path, "w") as out:
        for name, data in archive_members(layers):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            out.addfile(info, io.BytesIO(data))
    return f"docker-archive:{path}"


def bomb_image_layers() -> list[tuple[bytes, str, str]]:
    """Layer 0: a.txt (token A), a 1 GiB file of zeros, b.txt (token B). Layer 1: c.txt (token C)."""
    return [gz(bomb_writer({"a.txt": token_file(A)}, GiB, {"b.txt": token_file(B)})),
            gz(files_layer({"c.txt": token_file(C)}))]


def assert_bomb_skipped(ref: str, paths: set[str], stats: ScanStats, elapsed: float) -> None:
    assert paths == {"a.txt", "c.txt"}, "found before the cap and in the next layer; nothing past the cap"
    assert stats.skipped.counts["layer-limit"] == 1
    assert f"{ref}: layer 0: expands past 16 MiB (the per-layer cap); the rest of the layer was not scanned" \
        in stats.warnings
    assert elapsed < 15


# -- 2. decompressed bytes per layer and per image ----------------------------------------------------------
@pytest.mark.timeout(60)
@pytest.mark.parametrize("source", ["oci", "docker-archive"])
def test_a_layer_bomb_is_a_counted_skip_on_disk(source, tmp_path, small_caps, detector):
    """1 MiB of gzip expanding to 1 GiB in the first layer: the layer stops at the 16 MiB cap (a warning and
    a `layer-limit` skip), the token before the bomb is reported, the next layer is scanned."""
    layers = bomb_image_layers()
    ref = oci_image(tmp_path / "oci", layers) if source == "oci" else docker_archive(tmp_path / "app.tar", layers)
    started = time.monotonic()
    paths, stats = scan(ref, detector)
    assert_bomb_skipped(ref, paths, stats, time.monotonic() - started)


@pytest.mark.timeout(120)
def test_a_layer_bomb_is_a_counted_skip_from_a_registry(tmp_path, small_caps, detector, monkeypatch):
    """The same image pushed by skopeo to a real registry (Debian's docker-registry) on 127.0.0.1."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    oci_image(tmp_path / "oci", bomb_image_layers())
    with registry(tmp_path / "reg") as (host, _log):
        push(tmp_path / "oci", "v1", f"{host}/team/bomb:v1")
        ref = f"{host}/team/bomb:v1"
        started = time.monotonic()
        paths, stats = scan(ref, detector)
    assert_bomb_skipped(ref, paths, stats, time.monotonic() - started)


@pytest.mark.timeout(60)
def test_the_image_cap_skips_the_rest_of_the_image(tmp_path, small_caps, detector):
    """Three layers under the 16 MiB layer cap, 36 MiB together: the image cap (24 MiB) stops layer 1 past
    its first file and skips layer 2; both are counted and warned about."""
    ref = oci_image(tmp_path / "oci", [
        gz(bomb_writer({"a.txt": token_file(A)}, 12 * MiB, {})),
        gz(bomb_writer({"d.txt": token_file(D)}, 12 * MiB, {"e.txt": token_file(E)})),
        gz(files_layer({"f.txt": token_file(F)})),
    ])
    paths, stats = scan(ref, detector)
    assert paths == {"a.txt", "d.txt"}
    assert stats.skipped.counts["layer-limit"] == 2
    for idx in (1, 2):
        assert (f"{ref}: layer {idx}: the image expands past 24 MiB (the per-image cap); the rest of the layer "
                "was not scanned") in stats.warnings


@pytest.mark.timeout(60)
def test_entries_are_capped_per_layer(tmp_path, small_caps, detector):
    """Parsing a tar header costs ~40 us whatever it holds: 1 MB of gzip can hold a million of them. Past
    the entry cap (2000 here) the layer is a counted skip; the next layer is scanned."""
    headers = GzipWriter().data(tar_member("a.txt", token_file(A)))
    for i in range(2500):
        headers.data(tar_member(f"empty/{i}", b""))
    headers.data(tar_member("b.txt", token_file(B))).data(TAR_END)
    ref = oci_image(tmp_path / "oci", [gz(headers), gz(files_layer({"c.txt": token_file(C)}))])
    paths, stats = scan(ref, detector)
    assert paths == {"a.txt", "c.txt"}
    assert f"{ref}: layer 0: more than 2000 entries (the per-layer cap); the rest of the layer was not scanned" \
        in stats.warnings


def pax_chain(n: int) -> bytes:
    record = b"17 comment=hello\n"  # the length counts itself
    return (tar_header("pax", len(record), tarfile.XHDTYPE) + record + b"\0" * (-len(record) % 512)) * n


HOSTILE_HEADERS = {
    # a GNU long name of 1 GiB: tarfile reads it into memory whole
    "long-name": (lambda w: w.data(tar_header("././@LongLink", GiB, tarfile.GNUTYPE_LONGNAME)).zeros(GiB),
                  "holds an extended tar header of 1073741824 bytes (over 1 MiB)"),
    # 3000 pax headers in a row: tarfile recurses once per header (RecursionError)
    "pax-chain": (lambda w: w.data(pax_chain(3000)), "holds more than 16 extended tar headers in a row"),
    # a GNU sparse file: its map is an unbounded list
    "sparse": (lambda w: w.data(tar_header("sparse.bin", 0, tarfile.GNUTYPE_SPARSE)), "holds a GNU sparse file (not read)"),
}


@pytest.mark.timeout(90)
@pytest.mark.parametrize("kind", sorted(HOSTILE_HEADERS))
def test_hostile_tar_headers_are_a_counted_skip(kind, tmp_path):
    """Run in a child capped at 1.5 GiB of address space, with the default caps: a 1 GiB long name would be
    read into memory, a chain of pax headers overflowed the stack. Now: refused, RSS stays small."""
    build, reason = HOSTILE_HEADERS[kind]
    layer0 = GzipWriter().data(tar_member("a.txt", token_file(A)))
    build(layer0)
    layer0.data(tar_member("b.txt", token_file(B))).data(TAR_END)
    ref = oci_image(tmp_path / "oci", [gz(layer0), gz(files_layer({"c.txt": token_file(C)}))])
    out = run_bounded(f"""
        from pathlib import Path
        from scanners.images import scan_images
        from scanners.options import ImageOptions
        from secretkeeper.config import Config
        from secretkeeper.engine import Detector
        from secretkeeper.results import ScanStats
        from secretkeeper.rules import load_rule_file
        detector = Detector(load_rule_file(Path("secretkeeper/rules/vcs.toml")))
        stats = ScanStats()
        found = scan_images([{ref!r}], detector, ImageOptions(refs=(), layers=True), stats,
                            max_size=Config().scan.max_file_size)
        result = {{"paths": sorted({{f.location.path for f in found if f.location.path}}),
                   "warnings": stats.warnings, "skipped": dict(stats.skipped.counts)}}
        """, memory_mb=1536, timeout=80)
    assert out["error"] is None, out
    assert out["result"]["paths"] == ["a.txt", "c.txt"]
    assert out["result"]["skipped"].get("layer-limit") == 1
    assert out["result"]["warnings"] == [f"{ref}: layer 0: {reason}; the rest of the layer was not scanned"]
    assert out["maxrss_mb"] < 400, out


# -- docker-archive and OCI layout files themselves ---------------------------------------------------------
@pytest.mark.timeout(60)
def test_a_compressed_docker_archive_bomb_is_refused(tmp_path, small_caps, detector):
    """`docker save | gzip` whose first member is 1 GiB of zeros: finding manifest.json would mean
    decompressing all of it; past the archive's decompression cap it is a one-line error naming the input."""
    outer = GzipWriter().data(tar_header("padding.bin", GiB)).zeros(GiB)
    for name, data in archive_members([gz(files_layer({"c.txt": token_file(C)}))]):
        outer.data(tar_member(name, data))
    path = tmp_path / "app.tar.gz"
    path.write_bytes(outer.data(TAR_END).finish())
    started = time.monotonic()
    with pytest.raises(SecretkeeperError) as err:
        scan(f"docker-archive:{path}", detector)
    assert time.monotonic() - started < 10
    assert str(err.value) == (f"docker-archive:{path}: the compressed archive takes more than 32 MiB of "
                              "decompression to read; not read further")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("codec", ["gzip", "bzip2", "xz", "none"])
def test_compressed_docker_archives_still_scan(codec, tmp_path, detector):
    """What `docker load` accepts: plain, gzip, bzip2 and xz archives."""
    plain = tmp_path / "app.tar"
    docker_archive(plain, [gz(files_layer({"c.txt": token_file(C)}))])
    pack = {"gzip": gzip.compress, "bzip2": bz2.compress, "xz": lzma.compress, "none": lambda b: b}[codec]
    path = tmp_path / "app.tar.x"
    path.write_bytes(pack(plain.read_bytes()))
    paths, stats = scan(f"docker-archive:{path}", detector)
    assert paths == {"c.txt"} and not stats.warnings


@pytest.mark.timeout(60)
@pytest.mark.parametrize("codec", ["gzip", "gzip-members", "bzip2", "xz", "none"])
def test_layer_codecs(codec, tmp_path, detector):
    """Layers are decompressed by layerlimits now, not tarfile: every codec tarfile read still reads,
    including gzip written as several members (pigz, concatenation)."""
    raw = tar_member("a.txt", token_file(A)) + tar_member("b.txt", token_file(B)) + TAR_END
    blob = {"gzip": lambda: gzip.compress(raw), "bzip2": lambda: bz2.compress(raw), "xz": lambda: lzma.compress(raw),
            "gzip-members": lambda: gzip.compress(raw[:700]) + gzip.compress(raw[700:]), "none": lambda: raw}[codec]()
    ref = oci_image(tmp_path / "oci", [(blob, GZ_LAYER, "sha256:" + hashlib.sha256(raw).hexdigest())])
    paths, stats = scan(ref, detector)
    assert paths == {"a.txt", "b.txt"} and not stats.warnings


@pytest.mark.timeout(30)
def test_special_files_named_as_image_inputs(tmp_path, detector):
    """A docker-archive that is a FIFO would block in open(); an OCI index.json that is /dev/zero would be
    read forever. Both are one-line errors at once (the latter run in a child capped at 1 GiB)."""
    fifo = tmp_path / "app.tar"
    os.mkfifo(fifo)
    with pytest.raises(SecretkeeperError, match="not a readable docker-archive tarball"):
        scan(f"docker-archive:{fifo}", detector)
    layout = tmp_path / "oci"
    layout.mkdir()
    (layout / "index.json").symlink_to("/dev/zero")
    out = run_bounded(f"""
        from scanners.images import resolve
        resolve({f"oci:{layout}:v1"!r}, "linux/amd64")
        """, memory_mb=1024, timeout=20)
    assert out["error"] == f"SecretkeeperError: oci:{layout}:v1: cannot read index.json: not a regular file"
    assert out["maxrss_mb"] < 200


# -- end to end -----------------------------------------------------------------------------------------
@pytest.mark.timeout(60)
def test_cli_reports_the_skip_and_exits_on_findings(tmp_path, small_caps, run_cli):
    """`secretkeeper scan --image REF --image-layers`: a bomb is not a crash and not exit 2; the JSON report
    counts the skip, carries the warning and the findings made before and after it."""
    ref = oci_image(tmp_path / "oci", bomb_image_layers())
    result = run_cli(["scan", "--image", ref, "--image-layers", "-f", "json"], cwd=tmp_path,
                     env={"DOCKER_CONFIG": str(tmp_path)})
    assert result.code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["summary"]["skipped"]["layer-limit"] == 1
    assert any("layer 0: expands past 16 MiB" in w for w in doc["summary"]["warnings"])
    assert {f["location"]["path"] for f in doc["findings"]} == {"a.txt", "c.txt"}
    assert "Traceback" not in result.output and A not in result.output
