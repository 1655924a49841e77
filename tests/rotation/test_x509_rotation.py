"""Certificates rotated as a user runs them: a fresh config issues the CA before its leaves and syncs a
kubernetes.io/tls Secret whose tls.crt verifies against its ca.crt; status shows the days to expiry;
a CA is replaced over several runs with every leaf trusted by what consumers hold at every step; a
certificate that fails verification is rolled back."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
from ruamel.yaml import YAML

from providers.errors import IssuerError, NotFound
from secretkeeper.config import load_config
from secretkeeper.rotation.audit import Audit
from secretkeeper.rotation.engine import Outcome
from secretkeeper.rotation.run import run_rotations
from secretkeeper.rotation.trail import Trail
from secretkeeper.rotation.wiring import Wiring
from tests.rotation.conftest import manifest_data, ok
from tests.rotation.memstore import MemoryStore

PKI = """\
stores:
  local: {type: local, path: .secretkeeper/store}
secrets:
  - name: api-tls
    store: local
    path: web/api-tls
    issuer: {type: x509, ca: internal-ca, common_name: api.example.internal,
             dns_names: [api.example.internal], ttl: 90d, renew_before: 30d}
    sync:
      - manifest: {dir: out/secrets}
  - name: internal-ca
    store: local
    path: pki/internal-ca
    issuer: {type: x509-ca, common_name: Example Internal CA, ttl: 3650d}
    sync:
      - manifest: {dir: out/trust, keys: [ca-bundle.crt]}
"""
WEB = """\
  - name: web-tls
    store: local
    path: web/web-tls
    issuer: {type: x509, ca: internal-ca, common_name: www.example.internal, ip_addresses: [10.0.0.8],
             key_type: rsa, key_size: 2048}
    sync:
      - manifest: {dir: out/secrets}
"""


def verifies(leaf_pem: bytes, trust_pem: bytes, name: str) -> bool:
    """What a TLS client holding `trust_pem` decides about `leaf_pem` (independently of the issuers)."""
    import ipaddress

    leaf = x509.load_pem_x509_certificates(leaf_pem)[0]
    subject = (x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() else x509.DNSName(name))
    verifier = PolicyBuilder().store(Store(x509.load_pem_x509_certificates(trust_pem))).build_server_verifier(subject)
    try:
        verifier.verify(leaf, [])
    except Exception:
        return False
    return True


def test_a_fresh_config_issues_the_ca_first_and_syncs_a_tls_secret_that_verifies(make_project):
    project = make_project(PKI, kind="local")  # the real encrypted local store, the real command
    plan = ok(project.run("rotate", "api-tls", "--dry-run"))
    assert "  needs:   the CA in managed secret internal-ca (a run handles it first)" in plan.stdout
    run = ok(project.run("rotate", "--due"))
    assert run.stderr.index("internal-ca: done") < run.stderr.index("api-tls: done")  # CA first
    doc = YAML(typ="safe").load(project.manifest("api-tls").read_text())
    assert doc["type"] == "kubernetes.io/tls"
    data = manifest_data(project.manifest("api-tls"))
    assert set(data) == {"tls.crt", "tls.key", "ca.crt"}
    assert verifies(data["tls.crt"], data["ca.crt"], "api.example.internal")
    key_body = data["tls.key"].decode().splitlines()[1]  # a line of the private key's base64
    assert key_body not in run.stdout + run.stderr
    trust = manifest_data(project.root / "out/trust/internal-ca.yaml")
    assert set(trust) == {"ca-bundle.crt"}  # the CA's key never leaves the store
    assert verifies(data["tls.crt"], trust["ca-bundle.crt"], "api.example.internal")

    status = ok(project.run("status")).stdout
    assert "(in 89 days)" in status and "(in 3649 days)" in status
    rows = {row["name"]: row for row in json.loads(ok(project.run("status", "--format", "json")).stdout)}
    assert rows["api-tls"]["days_to_expiry"] == 89 and rows["internal-ca"]["days_to_expiry"] == 3649
    assert key_body not in status + json.dumps(rows)
    assert ok(project.run("rotate", "--due")).stderr.count(": done") == 0  # nothing due now


class Consumers(Trail):
    """A trail that, at every step of every rotation, checks what a TLS client sees: each leaf current in
    the store, and each leaf Secret consumers mount, verifies against the trust bundle consumers hold, and
    against the ca.crt of every other leaf Secret (a peer that trusts its own Secret's ca.crt)."""

    def __init__(self, wiring: Wiring, store: MemoryStore, leaves: dict[str, str]) -> None:
        super().__init__(Audit(None, stdout=False), progress=io.StringIO())
        self.wiring, self.store, self.leaves, self.checks = wiring, store, leaves, 0

    def step(self, subject, step, **kwargs) -> None:
        super().step(subject, step, **kwargs)
        bundle_file = self.wiring.base / "out/trust/internal-ca.yaml"
        mounts = {leaf: self.wiring.base / f"out/secrets/{leaf}.yaml" for leaf in self.leaves}
        peers = {leaf: manifest_data(path) for leaf, path in mounts.items() if path.exists()}
        for leaf, mounted in peers.items():
            for peer, held in peers.items():
                assert verifies(mounted["tls.crt"], held["ca.crt"], self.leaves[leaf]), \
                    f"{peer} does not trust {leaf} at {subject.name}: {step}"
        for leaf, name in self.leaves.items():
            try:
                current = self.store.read(self.wiring.secrets[leaf].path).data
            except NotFound:
                continue
            bundle = manifest_data(bundle_file)["ca-bundle.crt"]
            assert verifies(current["tls.crt"], bundle, name), f"{leaf} untrusted at {subject.name}: {step}"
            mounted = manifest_data(self.wiring.base / f"out/secrets/{leaf}.yaml")
            assert verifies(mounted["tls.crt"], bundle, name), f"{leaf}'s Secret untrusted at {subject.name}: {step}"
            self.checks += 1


def signer(data) -> bytes:
    leaf = x509.load_pem_x509_certificates(data["tls.crt"])[0]
    return leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier


def ski(pem: bytes) -> bytes:
    return x509.load_pem_x509_certificates(pem)[0].extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier).value.digest


def test_a_ca_is_replaced_over_several_runs_and_no_leaf_is_ever_untrusted(tmp_path: Path):
    (tmp_path / "secretkeeper.yaml").write_text(PKI + WEB)
    store = MemoryStore()
    wiring = Wiring(load_config(tmp_path / "secretkeeper.yaml"), stores={"local": store})
    trail = Consumers(wiring, store, {"api-tls": "api.example.internal", "web-tls": "10.0.0.8"})
    start = datetime.now(UTC)

    def run(hours: int, *names: str, force: bool = False) -> dict[str, Outcome]:
        results = run_rotations(wiring, trail, wiring.select(list(names)), force=force,
                                now=start + timedelta(hours=hours))
        return {r.secret: r.outcome for r in results}

    def ca() -> dict[str, bytes]:
        return store.values("pki/internal-ca")

    def bundle() -> list[bytes]:
        return [c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
                for c in x509.load_pem_x509_certificates(ca()["ca-bundle.crt"])]

    assert set(run(0).values()) == {Outcome.ROTATED}  # bootstrap, CA first
    old = ski(ca()["tls.crt"])
    assert run(2) == {"internal-ca": Outcome.SKIPPED, "api-tls": Outcome.SKIPPED, "web-tls": Outcome.SKIPPED}

    assert run(4, "internal-ca", force=True) == {"internal-ca": Outcome.ROTATED}  # introduce the new CA
    new = ski(ca()["next.crt"])
    assert bundle() == [old, new] and ski(ca()["tls.crt"]) == old
    # The switch waits for the leaves to hold the new bundle; they re-issue (still under the old CA) now.
    assert run(6) == {"internal-ca": Outcome.SKIPPED, "api-tls": Outcome.ROTATED, "web-tls": Outcome.ROTATED}
    assert {signer(store.values(p)) for p in ("web/api-tls", "web/web-tls")} == {old}
    # The new CA signs, and the leaves move to it in the same run: consumers trust it since the last run.
    # web-tls cannot be issued this time (its rotation fails and rolls back): it stays on the old CA.
    web = wiring.subject("web-tls").issuer
    web.issue = _fails_once(web.issue)
    assert run(8) == {"internal-ca": Outcome.ROTATED, "api-tls": Outcome.ROTATED, "web-tls": Outcome.ROLLED_BACK}
    assert ski(ca()["tls.crt"]) == new and bundle() == [old, new]
    assert signer(store.values("web/api-tls")) == new and signer(store.values("web/web-tls")) == old
    # The old CA stays in the bundle while web-tls is signed by it; web-tls moves in this run.
    assert run(10) == {"internal-ca": Outcome.SKIPPED, "api-tls": Outcome.SKIPPED, "web-tls": Outcome.ROTATED}
    assert bundle() == [old, new] and signer(store.values("web/web-tls")) == new
    # Every leaf moved: the old CA leaves the bundle; the leaves take the new bundle as their ca.crt.
    assert run(12) == {"internal-ca": Outcome.ROTATED, "api-tls": Outcome.ROTATED, "web-tls": Outcome.ROTATED}
    assert bundle() == [new]
    assert store.values("web/api-tls")["ca.crt"] == ca()["ca-bundle.crt"]
    assert set(run(14).values()) == {Outcome.SKIPPED}  # done: nothing is due any more
    assert trail.checks > 50


def _fails_once(issue):
    calls = []

    def wrapped(current):
        calls.append(1)
        if len(calls) == 1:
            raise IssuerError("web-tls: the signing backend is down")
        return issue(current)

    return wrapped


def test_a_certificate_that_fails_verification_is_rolled_back(tmp_path: Path):
    (tmp_path / "secretkeeper.yaml").write_text(PKI)
    store = MemoryStore()
    wiring = Wiring(load_config(tmp_path / "secretkeeper.yaml"), stores={"local": store})
    trail = Trail(Audit(None, stdout=False), progress=io.StringIO())
    run_rotations(wiring, trail, wiring.select([]), force=False, now=datetime.now(UTC))
    before = store.values("web/api-tls")
    issuer = wiring.subject("api-tls").issuer
    real_issue = issuer.issue

    def wrong_key(current):  # a certificate with a key that is not its own: what verify must catch
        made = dict(real_issue(current))
        return {**made, "tls.key": real_issue(current)["tls.key"]}

    issuer.issue = wrong_key
    [result] = run_rotations(wiring, trail, wiring.select(["api-tls"]), force=True, now=datetime.now(UTC))
    assert result.outcome is Outcome.ROLLED_BACK
    assert "the private key is not the certificate's" in result.message
    assert store.values("web/api-tls") == before  # the old certificate stays current
    assert manifest_data(tmp_path / "out/secrets/api-tls.yaml") == before
