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
# folder, then `status`. The store and its key live in the demo folder.
rot="$work/rotation"
mkdir -p "$rot"
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
YAML
sk="$PWD/$SK"
echo
echo "demo: rotation in $rot"
(cd "$rot" && "$sk" rotate demo-db --dry-run)
(cd "$rot" && "$sk" rotate --due --audit-log audit.jsonl)   # absent: the first version is issued
(cd "$rot" && "$sk" rotate demo-db --force --audit-log audit.jsonl)
(cd "$rot" && "$sk" status)
echo "demo: the synced Secret is $rot/out/secrets/demo-db.yaml (0600, NOT ENCRYPTED); the audit log is $rot/audit.jsonl"
