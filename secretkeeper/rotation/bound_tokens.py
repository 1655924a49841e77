"""`tokens migrate --issue`: the bound, rotated tokens that replace legacy token Secrets used from outside
the cluster. Each legacy token's ServiceAccount is matched with the config's `k8s-token` managed secrets
for it; those are issued now when absent from their store (or resumed, or rotated when due), as `rotate`
does. A legacy token with no such managed secret is reported with the entry to add."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from secretkeeper.kube.legacy_tokens import LegacyToken
from secretkeeper.rotation.engine import Outcome
from secretkeeper.rotation.run import run_rotations
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring


def issue_bound(wiring: Wiring, trail: Trail, tokens: Sequence[LegacyToken], now: datetime) -> None:
    """Sets each token's outcome: issued (its managed secrets are current), unchanged (pods use it: they
    move to projected volumes instead), skipped (no managed secret for its ServiceAccount, or a rotation
    failed)."""
    by_account: dict[tuple[str, str], list[str]] = {}
    for secret in wiring.config.secrets:
        if secret.issuer.type == "k8s-token":
            key = (secret.issuer.namespace, secret.issuer.service_account)
            by_account.setdefault(key, []).append(secret.name)
    wanted = sorted({name for t in tokens if not t.mounted_by
                     for name in by_account.get((t.namespace, t.service_account), [])})
    results = {r.secret: r for r in run_rotations(wiring, trail, wiring.select(wanted), force=False, now=now)} \
        if wanted else {}
    for token in tokens:
        names = by_account.get((token.namespace, token.service_account), [])
        if token.mounted_by:
            token.outcome, token.note = "unchanged", "used by pods: move them to a projected serviceAccountToken volume"
        elif not names:
            token.outcome = "skipped"
            token.note = (f"no k8s-token managed secret for ServiceAccount {token.namespace}/{token.service_account}"
                          f" in the config; add one: {{name: {token.service_account}-token, store: STORE, path: "
                          f"k8s/{token.namespace}/{token.service_account}, issuer: {{type: k8s-token, namespace: "
                          f"{token.namespace}, service_account: {token.service_account}, audiences: [AUDIENCE], "
                          "ttl: 24h}}")
        else:
            failed = [f"{name}: {results[name].message}" for name in names if results[name].failed
                      or results[name].outcome in (Outcome.HELD,)]
            if failed:
                token.outcome, token.note = "skipped", "; ".join(failed)
            else:
                token.outcome = "issued"
                token.note = (f"bound token in managed secret {', '.join(names)} (give it to the client, then "
                              "--invalidate this one)")
