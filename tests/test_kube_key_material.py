"""A kubeconfig's embedded key material (client-key-data: a private key) never lands in a file: the
kubernetes client would write it to a temp file in /tmp, removed only at a clean exit, so a run killed
mid-rotation would leave the key on disk."""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.test_canary import files_holding


def _client_pair() -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tester")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="memory-only files are Linux's memfd")
def test_client_key_data_is_never_written_to_a_file(tmp_path, monkeypatch):
    from secretkeeper.kube.client import connect

    cert, key = _client_pair()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1",
                                                "certificate-authority-data": base64.b64encode(cert).decode()}}],
        "users": [{"name": "u", "user": {"client-certificate-data": base64.b64encode(cert).decode(),
                                         "client-key-data": base64.b64encode(key).decode()}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    started = time.time() - 1
    conn = connect()
    cfg = conn.api.configuration
    with open(cfg.key_file, "rb") as fh:  # the client still finds the key where it looks
        assert fh.read() == key
    body = key.splitlines()[1]
    assert files_holding(body, Path(tempfile.gettempdir()), started, {kubeconfig.resolve()}) == []
    assert not os.path.exists(os.path.realpath(cfg.key_file)) or os.path.realpath(cfg.key_file).startswith("/memfd:")
