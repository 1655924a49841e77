"""Image scanning: time to scan an image's config from a local registry, and layer throughput.

A real Docker registry (Debian `docker-registry`) on 127.0.0.1; a deterministic image (40 Env entries,
60 history entries, 4 layers of mixed text files, ~64 MB uncompressed) pushed with skopeo. Figures, all in
the same run:
  - `secretkeeper scan --image REF` (manifest + config only), best of 5, next to `skopeo inspect --config`
    (fetching the same config, no scanning) as the floor;
  - `secretkeeper scan --image REF --image-layers` (streams and scans every layer): MB/s of layer content.
"""

from __future__ import annotations

import random
import shutil
import string
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import MB, SECRETKEEPER, best_of, log, run

SEED = 20261122


def _text_file(rnd: random.Random, size: int) -> bytes:
    words = ["def", "return", "config", "value", "import", "server", "client", "name", "port", "timeout",
             "if", "else", "for", "in", "self", "data", "user", "path", "items", "result"]
    lines, total = [], 0
    while total < size:
        line = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 14)))
        lines.append(line)
        total += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def build(layout_dir: Path):
    from tests.integration.registry_server import OciLayout

    rnd = random.Random(SEED)
    layout = OciLayout(layout_dir)
    layers = []
    for li in range(4):
        files = {}
        for fi in range(64):
            files[f"srv/layer{li}/mod{fi}.py"] = _text_file(rnd, 256 * 1024)
        layers.append(files)
    env = [f"VAR_{i}=" + "".join(rnd.choice(string.ascii_lowercase) for _ in range(12)) for i in range(39)]
    env.append("DB_PASSWORD=" + "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(20)))
    history = [f"/bin/sh -c apt-get install -y pkg{i} && rm -rf /var/lib/apt/lists/*" for i in range(60)]
    desc = layout.image(env=env, history=history, layers=layers)
    layout.tag(desc, "v1")
    raw = sum(len(d) for files in layers for d in files.values())
    return layout, raw


def main() -> None:
    for tool in ("docker-registry", "skopeo"):
        if not shutil.which(tool):
            print(f"## images\n\nSkipped: `{tool}` is not installed (`make system-deps`).")
            return
    from tests.integration.registry_server import push, registry

    with tempfile.TemporaryDirectory(prefix="sk-bench-img-") as tmp:
        tmpdir = Path(tmp)
        layout, raw = build(tmpdir / "oci")
        with registry(tmpdir / "reg") as (host, _log):
            ref = f"{host}/bench/app:v1"
            push(layout.root, "v1", ref)
            log("registry up, image pushed")
            cfg_cmd = [str(SECRETKEEPER), "scan", "--image", ref, "-f", "json", "-o", "/dev/null", "-q"]
            skopeo = [shutil.which("skopeo"), "inspect", "--tls-verify=false", "--config", f"docker://{ref}"]
            run(cfg_cmd, ok=(0, 1))  # warm the rule cache
            ours, ours_all = best_of(5, lambda: run(cfg_cmd, ok=(0, 1)))
            floor, _ = best_of(5, lambda: run(skopeo))
            empty = tmpdir / "empty"
            empty.mkdir()
            start_cmd = [str(SECRETKEEPER), "scan", str(empty), "--no-history", "-f", "json", "-o", "/dev/null", "-q"]
            startup, _ = best_of(5, lambda: run(start_cmd))
            lay_cmd = cfg_cmd[:4] + ["--image-layers"] + cfg_cmd[4:]
            layers, _ = best_of(3, lambda: run(lay_cmd, ok=(0, 1)))
    print("## images\n")
    print("Image: 4 layers, 256 text files, "
          f"{raw / MB:.0f} MB uncompressed; config with 40 Env and 60 history entries; registry on 127.0.0.1.\n")
    print("| measurement | seconds | note |")
    print("| --- | ---: | --- |")
    print(f"| `secretkeeper scan --image REF` (manifest + config, all rules, process start included) | "
          f"{ours.seconds:.3f} | best of 5 (worst {max(r.seconds for r in ours_all):.3f}); peak RSS "
          f"{ours.max_rss_mb:.0f} MB |")
    print(f"| `skopeo inspect --config` (fetch only, the floor) | {floor.seconds:.3f} | best of 5 |")
    print(f"| `secretkeeper scan EMPTY_DIR` (process start + catalog load, no image) | {startup.seconds:.3f} | "
          "best of 5 |")
    print(f"| `secretkeeper scan --image REF --image-layers` | {layers.seconds:.3f} | "
          f"{raw / MB / layers.seconds:.0f} MB/s of layer content; peak RSS {layers.max_rss_mb:.0f} MB |")
    print(f"\nImage work beyond start-up: {ours.seconds - startup.seconds:.3f} s "
          f"({(ours.seconds - startup.seconds) / floor.seconds:.1f}x the fetch-only floor); "
          f"whole command / floor: {ours.seconds / floor.seconds:.1f}x.")


if __name__ == "__main__":
    main()
