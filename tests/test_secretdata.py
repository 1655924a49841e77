"""The one reader of Secret, ConfigMap and SealedSecret values: what each kind holds, decoded, with the
field path (and so the line) it came from."""

from __future__ import annotations

import base64

from secretkeeper.kube.manifests import parse_manifests
from secretkeeper.kube.objects import KubeObject
from secretkeeper.kube.secretdata import is_encoded, stored_values


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def rows(body: dict) -> list[tuple]:
    return [(v.field, v.key, v.path, v.value, v.encoded) for v in stored_values(KubeObject(body))]


def test_secret_data_is_decoded_and_string_data_read_as_text():
    wrapped = b64("user:pa55-w0rd-long")
    body = {"kind": "Secret", "data": {"a": wrapped[:8] + "\n  " + wrapped[8:], "bad": "!!!", "n": 12},
            "stringData": {"s": "plain é", "i": 5}}
    assert rows(body) == [
        ("data", "a", ("data", "a"), b"user:pa55-w0rd-long", True),  # base64 wrapped over lines
        ("data", "bad", ("data", "bad"), None, True),  # not base64
        ("data", "n", ("data", "n"), None, True),  # not a string
        ("stringData", "s", ("stringData", "s"), "plain é".encode(), False),
        ("stringData", "i", ("stringData", "i"), None, False),
    ]
    shown = repr(list(stored_values(KubeObject(body))))
    assert "data a" in shown and "pa55" not in shown and wrapped[:8] not in shown  # a repr never shows a value


def test_configmap_data_and_binary_data():
    body = {"kind": "ConfigMap", "data": {"LOG": "debug"}, "binaryData": {"blob": b64("\x00bin")}}
    assert rows(body) == [("data", "LOG", ("data", "LOG"), b"debug", False),
                          ("binaryData", "blob", ("binaryData", "blob"), b"\x00bin", True)]


def test_sealed_secret_ciphertext_is_never_decoded_and_its_template_is_text():
    body = {"kind": "SealedSecret", "spec": {"encryptedData": {"password": b64("looks like base64")},
                                             "template": {"type": "Opaque", "data": {"url": "https://db"}}}}
    values = list(stored_values(KubeObject(body)))
    assert [(v.field, v.key, v.path, v.value, v.encoded) for v in values] == [
        ("spec.encryptedData", "password", ("spec", "encryptedData", "password"), None, True),
        ("spec.template.data", "url", ("spec", "template", "data", "url"), b"https://db", False)]
    assert values[0].written == body["spec"]["encryptedData"]["password"]


def test_other_kinds_and_broken_shapes_hold_nothing():
    assert rows({"kind": "Pod", "data": {"a": "b"}}) == []
    assert rows({"kind": "Secret", "data": ["a"], "stringData": "x"}) == []
    assert rows({"kind": "SealedSecret", "spec": "x"}) == []


def test_field_path_gives_the_line_in_a_manifest():
    data = (b"apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  one: " + b64("1").encode()
            + b"\nstringData:\n  two: zwei\n")
    (obj,), _ = parse_manifests(data, "s.yaml")
    assert [(v.key, obj.line(*v.path)) for v in stored_values(obj)] == [("one", 5), ("two", 7)]


def test_is_encoded():
    assert is_encoded("Secret", ("data", "k")) and not is_encoded("Secret", ("stringData", "k"))
    assert is_encoded("ConfigMap", ("binaryData", "k")) and not is_encoded("ConfigMap", ("data", "k"))
    assert is_encoded("SealedSecret", ("spec", "encryptedData", "k"))
    assert not is_encoded("SealedSecret", ("spec", "template", "data", "k"))
    assert not is_encoded("Pod", ("data", "k"))
