"""The line-keeping YAML loader: the fast path reads what libyaml reads, both composers agree, and every
node's text span is exact (block and flow YAML, multi-document files, JSON) and survives a splice."""

from __future__ import annotations

from pathlib import Path

import pytest

from secretkeeper import yamlsafe
from secretkeeper.kube import yamllines
from secretkeeper.kube.yamllines import ManifestError, Span, load_documents

DATA = Path(__file__).parent / "data" / "k8s"


def fixture(name: str) -> str:
    return (DATA / name).read_text().replace("@TOKEN@", "x")


def test_pure_python_fallback_matches_libyaml(monkeypatch):
    text = fixture("multi.yaml") + "---\n" + fixture("deployment.yaml")
    monkeypatch.setattr(yamllines, "_fast_documents", lambda text: None)
    fast, _ = load_documents(text)
    monkeypatch.setattr(yamlsafe, "_CLoader", None)
    slow, errors = load_documents(text)
    assert errors == []
    assert [d.body for d in slow] == [d.body for d in fast]
    assert [d.lines for d in slow] == [d.lines for d in fast]
    with pytest.raises(ManifestError, match=r"^invalid YAML at line \d+: "):
        load_documents(fixture("broken.yaml"))


# -- the plain block YAML fast path reads exactly what libyaml reads ---------------------------------------
def _libyaml_documents(text: str) -> list:
    out = []
    for node in yamlsafe.compose_all(text):
        builder = yamllines._Builder(yamllines.MAX_EXPANDED_NODES)
        body = builder.build(node, ())
        builder.lines[()] = node.start_mark.line + 1
        if body is not None:  # None: an empty document
            out.append((body, list(builder.lines.items()), node.start_mark.line + 1))
    return out


def _fast_or_none(text: str) -> list | None:
    docs = yamllines._fast_documents(text)
    return None if docs is None else [(body, list(lines.items()), line) for body, lines, line in docs]


@pytest.mark.parametrize("name", ["multi.yaml", "deployment.yaml", "cronjob.yaml", "encryption-config.yaml",
                                  "encrypted.yaml", "sops-secret.yaml"])
def test_fast_path_reads_fixtures_like_libyaml(name):
    text = fixture(name)
    fast = _fast_or_none(text)
    assert fast is not None and fast == _libyaml_documents(text)


PLAIN_BLOCK = [
    "a: 1\nb: -1\nc: 0x1F\nd: 1e3\ne: 1_000\nf: 012\ng: .5\nh: 100m\ni: true\nj: Off\nk: ~\nl: null\nm:\n",
    "a:\n- x\n- 'q'\n- \"8080\"\n-   k: v\n    l: [1, two, '3']\n- {a: b, c: [d, {e: f}]}\nb: 2\n",
    "a:\n  b:\n    - c: 1\n      d:\n      - e\n    - f\n  g: h:i\n---\n# Source: x\n---\nz: a b  c\n",
    "a: {}\nb: []\nc: ['', \"\"]\nd: {x: unix}\ne: http://u:p@h:5432/db?x=y&z\nf: $(VAR)\na: dup\n",
    "kind: List\nitems:\n- kind: A\n  apiVersion: v1\n- {kind: B, apiVersion: v1}\n",
]
FALLBACK = [  # valid YAML outside the subset, or invalid: libyaml reads (or refuses) these
    "a: |\n  x\n", "a: >\n  x\n", "a: &x 1\nb: *x\n", "a: !!str 1\n", "a: 1 # c\n", "a: b\n  c\n",
    "a: 'it''s'\n", 'a: "x\\ty"\n', "a:\n-\n  b: 1\n", "a: [b,\n  c]\n", "a:\tb\n", "a: caf\u00e9\n",
    "a: b\r\n", "? a\n: b\n", "  a: 1\n", "- a\n", "a: b: c\n", "a: [b\n", "a:\n  - b\n  c: 1\n", "a: {b: c:d}\n",
    "%YAML 1.1\n---\na: 1\n", "a: 1\n...\n", '{"a": 1}\n', "a: @x\n", "a: - b\n",
]


@pytest.mark.parametrize("text", PLAIN_BLOCK)
def test_fast_path_plain_block_yaml(text):
    fast = _fast_or_none(text)
    assert fast is not None and fast == _libyaml_documents(text)


@pytest.mark.parametrize("text", FALLBACK)
def test_fast_path_leaves_the_rest_to_libyaml(text):
    assert _fast_or_none(text) is None


def test_fast_path_random_documents_match_libyaml():
    """Random nested block YAML, some of it broken: whatever the fast path accepts, libyaml reads the same."""
    import random

    rng = random.Random(20261123)
    plain = ["x", "1", "-2", "0x1F", "1.5", "true", "no", "~", "a:b", "a b", "'q'", '"q"', "''", "[a, 'b']",
             "{a: 1, b: [c]}", "{}", "a, b", "-a", "100m"]
    broken = ["a: b", "'a", "[a", "{a: b", "&a", "*a", "|", "x # c", "- a"]

    def value() -> str:
        return rng.choice(broken if rng.random() < 0.02 else plain)

    def block(indent: int, depth: int, out: list[str]) -> None:
        pad = " " * indent
        if depth and rng.random() < 0.4:  # a sequence
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.4:
                    out.append(f"{pad}- {value()}")
                    continue
                out.append(f"{pad}- k: {value()}")
                for _ in range(rng.randint(0, 2)):
                    entry(indent + 2, depth, out)
            return
        for _ in range(rng.randint(1, 4)):
            entry(indent, depth, out)

    def entry(indent: int, depth: int, out: list[str]) -> None:
        key = rng.choice(["a", "b", "name", "1", "on"])
        if depth < 4 and rng.random() < 0.35:
            out.append(f"{' ' * indent}{key}:")
            block(indent + rng.choice([0, 2, 2, 4]), depth + 1, out)
        else:
            out.append(f"{' ' * indent}{key}: {value()}")

    accepted = 0
    for _ in range(2000):
        lines = ["apiVersion: v1", "kind: X"]
        block(0, 0, lines)
        for _ in range(rng.choice([0, 0, 1, 2])):  # break some indentation
            i = rng.randrange(len(lines))
            lines[i] = rng.choice([" ", "  ", "---\n", "- "]) + lines[i]
        text = "\n".join(lines) + "\n"
        fast = _fast_or_none(text)
        if fast is None:
            continue
        accepted += 1
        try:
            expected = _libyaml_documents(text)
        except ManifestError:
            expected = "invalid YAML"
        assert fast == expected, text
    assert accepted > 800  # most documents are valid and plain enough


def test_lines_are_read_as_the_multiline_pattern_reads_the_text(monkeypatch):
    """Each distinct line is matched once and remembered; what is remembered is read from exactly the
    fields the one-pass multi-line pattern finds, for any text the fast path accepts (trailing newline or not, blank lines,
    comments, flows, junk), also after the memo fills up and starts over."""
    import random

    monkeypatch.setattr(yamllines, "_LINE_MEMO_LIMIT", 50)
    rng = random.Random(9)
    pieces = ["---", "", "  ", "# note", "apiVersion: v1", "kind: Pod", "metadata:", "  name: web", "- a",
              "  - name: X", "    value: '1'", 'k: "q"', "k: {cpu: 1m, memory: 2Mi}", "k: [a, b]", "k:", "k: v # c",
              "key: a: b", "x", "   - ", "-", "k: |", "a.b/c-d: e", "k: -1", "k: 'it''s'"]
    for _ in range(2000):
        text = "\n".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12)))
        text += rng.choice(["", "\n", "\n\n"])
        want = [yamllines._line_record(fields) for fields in yamllines._LINES.findall(text)]
        assert yamllines._line_records(text) == want, text


# -- spans: where each node is written, to splice edits into the original text ------------------------------
def spans_of(text: str) -> list:
    documents, errors = load_documents(text, spans=True)
    assert errors == []
    return documents


def written(text: str, span: Span) -> str:
    return text[span.start:span.end]


def point(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    return text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)


BLOCK = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: "front"}
spec:
  template:
    spec:
      containers:
      - name: app
        image: registry.example/web:1
        env:
        - name: DB_PASSWORD
          value: 's3cr3t-value'
        - name: EMPTY
          value:
        args: [--port, "8080"]
        command:
        - /bin/sh
        - -c
        - |
          exec app
# trailing comment
"""


def test_block_yaml_spans_of_scalars_items_and_mappings():
    (doc,) = spans_of(BLOCK)
    nodes, keys = doc.spans.nodes, doc.spans.keys
    env = ("spec", "template", "spec", "containers", 0, "env")
    assert written(BLOCK, nodes[(*env, 0, "value")]) == "'s3cr3t-value'"  # a scalar value, quotes and all
    assert written(BLOCK, keys[(*env, 0, "value")]) == "value"
    # a list item: the item after its `- `, to its last entry
    assert written(BLOCK, nodes[(*env, 0)]) == "name: DB_PASSWORD\n          value: 's3cr3t-value'"
    # a whole mapping under a key: from its first key to its last value, not the comment after it
    assert written(BLOCK, nodes[("metadata",)]) == 'name: web\n  labels: {app: web, tier: "front"}'
    assert written(BLOCK, nodes[("metadata", "labels")]) == '{app: web, tier: "front"}'
    assert written(BLOCK, nodes[("metadata", "labels", "tier")]) == '"front"'
    assert written(BLOCK, nodes[(*env[:-1], "args", 1)]) == '"8080"'
    assert written(BLOCK, nodes[(*env[:-1], "command", 2)]) == "|\n          exec app\n"  # block scalar
    assert written(BLOCK, nodes[(*env,)]).startswith("- name: DB_PASSWORD")
    assert written(BLOCK, nodes[()]) == BLOCK[:BLOCK.index("# trailing")]
    # an empty value is the empty span right after its `:`
    empty = nodes[(*env, 1, "value")]
    assert empty.start == empty.end == BLOCK.index("value:\n        args") + len("value:")
    value = nodes[(*env, 0, "value")]
    line = doc.lines[(*env, 0, "value")]
    assert (value.start_line, value.start_column) == (line, 18) and (value.end_line, value.end_column) == (line, 32)


def test_flow_yaml_spans():
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, labels: {a: '1'}}\ndata: {k: [x, {y: z}], e: , f}\n"
    (doc,) = spans_of(text)
    nodes = doc.spans.nodes
    assert written(text, nodes[("metadata",)]) == "{name: c, labels: {a: '1'}}"
    assert written(text, nodes[("metadata", "labels", "a")]) == "'1'"
    assert written(text, nodes[("data", "k")]) == "[x, {y: z}]"
    assert written(text, nodes[("data", "k", 1)]) == "{y: z}"
    assert written(text, nodes[("data", "k", 1, "y")]) == "z"
    e, f = nodes[("data", "e")], nodes[("data", "f")]
    assert e.start == e.end == text.index("e: ,") + 2  # after `e:`
    assert f.start == f.end == text.index("f}") + 1  # no `:`: at the end of the key


def test_multi_document_spans_are_offsets_into_the_whole_text():
    text = ("---\n# Source: a.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: one\n"
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: two\nstringData:\n  password: hunter2-but-longer\n")
    first, second = spans_of(text)
    assert (first.line, second.line) == (3, 8)
    assert written(text, first.spans.nodes[("metadata", "name")]) == "one"
    span = second.spans.nodes[("stringData", "password")]
    assert written(text, span) == "hunter2-but-longer"
    assert span.start_line == second.lines[("stringData", "password")] == 13
    # the same documents, values and lines as without spans (which reads them on the fast path)
    plain, _ = load_documents(text)
    assert [(d.body, d.lines, d.line) for d in plain] == [(d.body, d.lines, d.line) for d in (first, second)]
    assert all(d.spans is None for d in plain)


def test_json_spans():
    text = fixture("list.json")
    (doc,) = spans_of(text)
    nodes, keys = doc.spans.nodes, doc.spans.keys
    item = nodes[("items", 0)]
    assert written(text, item).startswith("{") and written(text, item).endswith("}")
    assert written(text, keys[("items", 0, "kind")]) == '"kind"'
    assert written(text, nodes[("items", 0, "kind")]) == '"Pod"'
    assert written(text, nodes[("items", 0, "spec", "hostPID")]) == "true"
    assert item.start_line == doc.lines[("items", 0)]


@pytest.mark.parametrize("text", [BLOCK, fixture("multi.yaml"), fixture("list.json"), fixture("deployment.yaml"),
                                  "a: &x {k: v}\nb: *x\nc:\n- - 1\n  - 2\n- ? k\n  : v\n"])
def test_spans_are_consistent_and_both_composers_agree(text, monkeypatch):
    documents = spans_of(text)
    for doc in documents:
        for path, span in [*doc.spans.nodes.items(), *doc.spans.keys.items()]:
            assert point(text, span.start) == (span.start_line, span.start_column), path
            assert point(text, span.end) == (span.end_line, span.end_column), path
        for path, line in doc.lines.items():
            if path:
                assert doc.spans.keys.get(path, doc.spans.nodes[path]).start_line == line, path
    monkeypatch.setattr(yamlsafe, "_CLoader", None)
    assert [d.spans for d in spans_of(text)] == [d.spans for d in documents]


def test_alias_has_the_span_of_its_anchor():
    text = "a: &x {k: v}\nb: *x\n"
    (doc,) = spans_of(text)
    assert written(text, doc.spans.nodes[("b",)]) == "&x {k: v}"
    assert doc.body["b"] == {"k": "v"}


def test_splicing_at_a_span_edits_only_that_value():
    text = BLOCK
    (doc,) = spans_of(text)
    env = ("spec", "template", "spec", "containers", 0, "env")
    span = doc.spans.nodes[(*env, 0)]
    edited = text[:span.start] + "name: DB_PASSWORD_FILE\n          value: /secrets/db" + text[span.end:]
    (after,) = spans_of(edited)
    assert after.body["spec"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "DB_PASSWORD_FILE", "value": "/secrets/db"}
    before = doc.body["spec"]["template"]["spec"]["containers"][0]
    now = after.body["spec"]["template"]["spec"]["containers"][0]
    assert now["env"][1:] == before["env"][1:] and now["command"] == before["command"]
    assert edited.endswith("# trailing comment\n")


def test_spans_keep_the_loader_limits():
    def outcome(text: str, spans: bool) -> tuple:
        try:
            documents, errors = load_documents(text, spans=spans)
        except ManifestError as exc:
            return "refused", str(exc)
        return [d.body for d in documents], errors

    bomb = outcome(fixture("bomb.yaml"), spans=True)
    assert bomb[0] == [] and len(bomb[1]) == 1 and "YAML bomb" in bomb[1][0]
    for depth in (900, 5000):  # within the nesting limit, then past it: read or refused alike
        text = "a: " + "[" * depth + "]" * depth + "\n"
        assert outcome(text, spans=True) == outcome(text, spans=False)
    assert outcome(text, spans=True)[0] == "refused"
