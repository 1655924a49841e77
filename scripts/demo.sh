#!/usr/bin/env bash
# `make demo`: build a throwaway git repository with planted *synthetic* leaks (random values, never real
# credentials), scan it with secretkeeper, and write SARIF and JSON reports next to it.
# Exits 0 when the scan finds the leaks it should (the scan itself exits 1 on findings).
set -euo pipefail
cd "$(dirname "$0")/.."
SK=.venv/bin/secretkeeper
PY=.venv/bin/python
if [ ! -x "$SK" ]; then
  echo "demo: $SK not found; run 'make install' first" >&2
  exit 2
fi
if ! command -v git >/dev/null; then
  echo "demo: git is not installed; run 'make system-deps' (or install git)" >&2
  exit 2
fi
# The working tree and the full git history (the .env deleted in the last commit is found in history).
SCAN_FLAGS=()

work="$(mktemp -d "${TMPDIR:-/tmp}/secretkeeper-demo.XXXXXX")"
repo="$work/repo"
"$PY" scripts/demo_repo.py "$repo"
echo "demo: built $repo ($(git -C "$repo" rev-list --count HEAD) commits of synthetic leaks and look-alikes)"
echo

# Text report on the terminal. Exit 1 means "findings", which is what we planted.
set +e
"$SK" scan "$repo" ${SCAN_FLAGS[@]+"${SCAN_FLAGS[@]}"} --no-progress
status=$?
set -e
if [ "$status" -ne 1 ]; then
  echo "demo: expected the scan to report leaks (exit 1), got exit $status" >&2
  exit 1
fi

"$SK" scan "$repo" ${SCAN_FLAGS[@]+"${SCAN_FLAGS[@]}"} -q -f sarif -o "$work/report.sarif" || [ $? -eq 1 ]
"$SK" scan "$repo" ${SCAN_FLAGS[@]+"${SCAN_FLAGS[@]}"} -q -f json -o "$work/report.json" || [ $? -eq 1 ]
n="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["findings"])' "$work/report.json")"
echo
echo "demo: reports written to $work/report.sarif and $work/report.json"
echo "demo: $n findings as expected (the repository is left in $work for you to explore)"

# Rotation: a managed secret in the embedded local store (encrypted), issued, rotated, synced to a manifest
# folder and sealed into a GitOps folder, then `status`. The store and its key live in the demo folder.
# The sealing certificate is a throwaway one made here (in a cluster: `kubeseal --fetch-cert`, or leave
# `cert` out and secretkeeper fetches it from the controller); its private key is not kept.
rot="$work/rotation"
mkdir -p "$rot"
"$PY" - "$rot/sealing-cert.pem" <<'PY'
import sys
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sealed-secret")])
now = datetime.now(UTC)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + timedelta(days=365)).sign(key, hashes.SHA256()))
open(sys.argv[1], "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY
cat > "$rot/secretkeeper.yaml" <<'YAML'
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
  - name: demo-db
    store: local
    path: demo/db
    keys: [password]
    issuer: {type: random, length: 32, templates: {url: "postgres://demo:{password}@db:5432/demo"}}
    rotate: {every: 30d}
    sync:
      - manifest: {dir: out/secrets, namespace: demo}
      - sealed: {cert: sealing-cert.pem, dir: gitops/demo, namespace: demo, scope: strict}
YAML
sk="$PWD/$SK"
echo
echo "demo: rotation in $rot"
(cd "$rot" && "$sk" rotate demo-db --dry-run)
(cd "$rot" && "$sk" rotate --due --audit-log audit.jsonl)   # absent: the first version is issued
(cd "$rot" && "$sk" rotate demo-db --force --audit-log audit.jsonl)
(cd "$rot" && "$sk" status)
(cd "$rot" && "$sk" reseal gitops/demo --list)
echo "demo: the synced Secret is $rot/out/secrets/demo-db.yaml (0600, NOT ENCRYPTED), its SealedSecret (safe to commit)"
echo "demo: $rot/gitops/demo/demo-db.yaml; the audit log is $rot/audit.jsonl"
