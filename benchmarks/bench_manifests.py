"""Kubernetes manifests: manifests scanned per second on a generated set of 10,000 manifests.

The set (benchmarks/.work/data/k8s-manifests) holds 10,000 objects in about 3,300 files — single
objects, multi-document Helm-rendered files (`# Source:` comments) and a few `kind: List` JSON files —
mixing Deployments, StatefulSets, CronJobs, Services, ConfigMaps, Secrets, ServiceAccounts and RBAC, with
planted faults (literal env secrets with synthetic tokens, secretKeyRefs, plaintext Secrets, privileged
pods, secret-reading ClusterRoles) at known counts.

Measured, single process, in-process: parsing only (`parse_manifests`), and the full manifest scan
(`scan_manifest`: engine on the bytes, base64-decoded Secret data, every hygiene rule); then the
command line (`secretkeeper scan --no-history -f json`, warm rule cache, start-up included). Planted
counts are checked against what was found.

Environment knobs: BENCH_MANIFESTS (objects, default 10000).
"""

from __future__ import annotations

import base64
import json
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import SECRETKEEPER, Synth, Timer, best_of, cores, data_dir, log, run, table, tree_size

N_OBJECTS = int(os.environ.get("BENCH_MANIFESTS", "10000"))
SEED = 20261122
GENERATOR_VERSION = f"k8s-v1-{N_OBJECTS}-{SEED}"
TARGET_PER_S = 1000  # full scan, one core: 10,000 manifests in 10 s


class Planted(Counter):
    pass


def _meta(name: str, ns: str, extra: str = "") -> str:
    return f"metadata:\n  name: {name}\n  namespace: {ns}\n  labels:\n    app: {name}\n    team: t{len(name) % 7}\n{extra}"


def _container(rng: random.Random, synth: Synth, planted: Counter, name: str) -> str:
    env = ["        - name: LOG_LEVEL\n          value: info\n",
           "        - name: PORT\n          value: \"8080\"\n"]
    roll = rng.random()
    if roll < 0.05:
        env.append(f"        - name: GITHUB_TOKEN\n          value: {synth.github_pat()}\n")
        planted["k8s-env-secret-literal"] += 1
        planted["github-pat-classic"] += 1
    elif roll < 0.10:
        env.append(f"        - name: DB_PASSWORD\n          value: \"{synth.password(14)}\"\n")
        planted["k8s-env-secret-literal"] += 1
    elif roll < 0.25:
        env.append("        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef: {name: db, key: pw}\n")
        planted["k8s-env-secret-ref"] += 1
    sc = ("        securityContext:\n          runAsNonRoot: true\n          readOnlyRootFilesystem: true\n"
          "          capabilities: {drop: [ALL]}\n")
    if rng.random() < 0.03:
        sc += "          privileged: true\n"
        planted["k8s-privileged-container"] += 1
    return (f"      - name: {name}\n        image: registry.example.test/{name}:{rng.randint(1, 40)}.0\n"
            f"        ports:\n        - containerPort: 8080\n        resources:\n          requests: {{cpu: 100m, "
            f"memory: 128Mi}}\n          limits: {{memory: 256Mi}}\n{sc}        env:\n{''.join(env)}"
            f"        readinessProbe:\n          httpGet: {{path: /healthz, port: 8080}}\n")


def _workload(kind: str, rng: random.Random, synth: Synth, planted: Counter, name: str, ns: str) -> str:
    pod = (f"      serviceAccountName: {name}\n      automountServiceAccountToken: false\n      containers:\n"
           + _container(rng, synth, planted, "app")
           + (_container(rng, synth, planted, "sidecar") if rng.random() < 0.3 else ""))
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    if kind == "CronJob":
        pod = pod.replace("\n      ", "\n          ").replace("      serviceAccountName", "          serviceAccountName", 1)
        return (f"apiVersion: {api}\nkind: CronJob\n{_meta(name, ns)}spec:\n  schedule: \"0 3 * * *\"\n"
                f"  jobTemplate:\n    spec:\n      template:\n        spec:\n{pod}")
    return (f"apiVersion: {api}\nkind: {kind}\n{_meta(name, ns)}spec:\n  replicas: 2\n  selector:\n"
            f"    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n"
            f"    spec:\n{pod}")


def _object(rng: random.Random, synth: Synth, planted: Counter, i: int) -> str:
    ns = f"team-{i % 23}"
    name = f"svc-{i}"
    roll = rng.random()
    if roll < 0.40:
        kind = rng.choice(["Deployment", "Deployment", "StatefulSet", "DaemonSet", "CronJob"])
        return _workload(kind, rng, synth, planted, name, ns)
    if roll < 0.55:
        return (f"apiVersion: v1\nkind: Service\n{_meta(name, ns)}spec:\n  selector: {{app: {name}}}\n  ports:\n"
                f"  - port: 80\n    targetPort: 8080\n")
    if roll < 0.70:
        data = "".join(f"  setting_{k}: value-{rng.randint(0, 999)}\n" for k in range(rng.randint(2, 10)))
        return f"apiVersion: v1\nkind: ConfigMap\n{_meta(name, ns)}data:\n{data}"
    if roll < 0.78:
        planted["k8s-secret-plaintext-manifest"] += 1
        tok = synth.github_pat()
        planted["github-pat-classic"] += 1
        enc = base64.b64encode(tok.encode()).decode()
        return (f"apiVersion: v1\nkind: Secret\n{_meta(name, ns)}type: Opaque\ndata:\n  username: YXBw\n"
                f"  token: {enc}\n")
    if roll < 0.90:
        return (f"apiVersion: v1\nkind: ServiceAccount\n{_meta(name, ns)}automountServiceAccountToken: false\n")
    if roll < 0.95:
        verbs = '["get", "list"]' if rng.random() < 0.3 else '["create"]'
        if "get" in verbs:
            planted["k8s-rbac-secrets-read"] += 1
        return (f"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: {name}\nrules:\n"
                f"- apiGroups: [\"\"]\n  resources: [\"pods\", \"services\"]\n  verbs: [\"get\", \"list\"]\n"
                f"- apiGroups: [\"\"]\n  resources: [\"secrets\"]\n  verbs: {verbs}\n")
    return (f"apiVersion: networking.k8s.io/v1\nkind: Ingress\n{_meta(name, ns)}spec:\n  rules:\n"
            f"  - host: {name}.example.test\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n"
            f"        backend: {{service: {{name: {name}, port: {{number: 80}}}}}}\n")


def generate(root: Path) -> None:
    rng = random.Random(SEED)
    synth = Synth(rng)
    planted: Counter = Counter()
    i = 0
    n_files = 0
    while i < N_OBJECTS:
        shape = rng.random()
        d = root / f"app-{n_files % 50}"
        d.mkdir(exist_ok=True)
        if shape < 0.6:  # one object per file
            (d / f"obj-{n_files}.yaml").write_text(_object(rng, synth, planted, i))
            i += 1
        elif shape < 0.97:  # Helm-rendered multi-document output
            k = min(rng.randint(3, 8), N_OBJECTS - i)
            docs = [f"---\n# Source: chart-{n_files}/templates/t{j}.yaml\n" + _object(rng, synth, planted, i + j)
                    for j in range(k)]
            (d / f"rendered-{n_files}.yaml").write_text("".join(docs))
            i += k
        else:  # kubectl get -o json style List
            from ruamel.yaml import YAML  # converting generated YAML keeps one generator

            k = min(rng.randint(2, 5), N_OBJECTS - i)
            yaml = YAML(typ="safe", pure=True)
            items = [yaml.load(_object(rng, synth, planted, i + j)) for j in range(k)]
            (d / f"list-{n_files}.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                                "items": items}, indent=2))
            i += k
        n_files += 1
    (root / "planted.json").write_text(json.dumps(planted, sort_keys=True))


def main() -> int:
    from scanners.manifests import scan_manifest
    from secretkeeper.config import Config
    from secretkeeper.kube.manifests import parse_manifests
    from secretkeeper.pipeline import build_detector

    root = data_dir("k8s-manifests", GENERATOR_VERSION, generate)
    planted = json.loads((root / "planted.json").read_text())
    files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".json"))
    blobs = [(str(p.relative_to(root)), p.read_bytes()) for p in files]
    _n_files, n_bytes = tree_size(root)
    log(f"{len(blobs)} manifest files, {n_bytes / 1e6:.1f} MB")

    def parse_all() -> int:
        return sum(len(parse_manifests(data, rel)[0]) for rel, data in blobs)

    parse_all()  # warm-up
    cpu0 = time.process_time()
    with Timer() as tp:
        n_objects = parse_all()
    cpu_parse = time.process_time() - cpu0
    log(f"parsed {n_objects} objects in {tp.seconds:.2f} s")

    detector = build_detector(Config())
    cpu0 = time.process_time()
    with Timer() as ts:
        findings = [f for rel, data in blobs for f in scan_manifest(data, rel, detector)]
    cpu_scan = time.process_time() - cpu0
    found = Counter(f.rule_id for f in findings)
    log(f"scanned in {ts.seconds:.2f} s: {len(findings)} findings")

    # Command-line rows, one per report format (the text report is the default; every format writes each
    # finding): below 16 MB of input the pipeline scans inline, so --jobs would not change them.
    cli_rows = []
    for fmt in ("json", "text", "sarif", "junit"):
        cmd = [str(SECRETKEEPER), "scan", str(root), "--no-history", "-f", fmt, "-q"]
        best, _runs = best_of(2, lambda cmd=cmd: run(cmd, ok=(0, 1)))
        count = len(json.loads(best.stdout)["findings"]) if fmt == "json" else ""
        cli_rows.append([f"`secretkeeper scan DIR --no-history -f {fmt} -q`", f"{best.seconds:.2f}",
                         f"{best.cpu_seconds:.2f}", f"{n_objects / best.cpu_seconds:,.0f}", f"{best.max_rss_mb:.0f}",
                         count])

    rate_parse = n_objects / tp.seconds
    rate_scan = n_objects / ts.seconds
    checks = []
    for rule_id, want in sorted(planted.items()):
        got = found.get(rule_id, 0)
        checks.append([f"`{rule_id}`", want, got, "ok" if got >= want else "**missed**"])
    print(f"""## Kubernetes manifests: throughput

Set: {n_objects:,} objects in {len(blobs):,} files ({n_bytes / 1e6:.1f} MB; single objects, Helm-rendered
multi-document files, `kind: List` JSON), generated by `benchmarks/bench_manifests.py` (seed {SEED}).
Machine: {cores()} cores. Command: `.venv/bin/python benchmarks/bench_manifests.py`.

{table(["stage (one process, in-process)", "wall s", "manifests/s (wall)", "CPU s", "manifests/CPU-s"], [
    ["parse only (`parse_manifests`, line tracking)", f"{tp.seconds:.2f}", f"{rate_parse:,.0f}",
     f"{cpu_parse:.2f}", f"{n_objects / cpu_parse:,.0f}"],
    ["full manifest scan (`scan_manifest`: engine + decoded Secret data + hygiene)", f"{ts.seconds:.2f}",
     f"{rate_scan:,.0f}", f"{cpu_scan:.2f}", f"{n_objects / cpu_scan:,.0f}"],
])}

Load average at the end: {os.getloadavg()[0]:.1f} on {cores()} cores (other work on the machine slows the wall
clock, not the CPU seconds).

{table(["command line (warm rule cache)", "wall s", "CPU s", "manifests/CPU-s", "peak RSS MB", "findings"], cli_rows)}

Target: at least {TARGET_PER_S:,} manifests per CPU-second for the full scan on one core — {"met" if n_objects / cpu_scan >= TARGET_PER_S else "**missed**"}.

Planted faults found (at least as many as planted; other rules fire on the same objects too):

{table(["rule", "planted", "found", ""], checks)}
""")
    return 0 if all(r[3] == "ok" for r in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
