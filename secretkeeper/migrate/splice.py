"""The text splicer: a plan's edits written into the original manifest text, and nothing else changed.

Every edit replaces or inserts text at a node's span (from `kube.yamllines`, which knows where each
node, key and list item is written): a renamed env var replaces its name scalar (in the same quotes), a
new volume goes after the last one at the same indentation (or inside a flow list, as a flow mapping),
a new key after the mapping's last entry. Every line no edit touches stays byte-identical: comments, key
order, quoting, flow style, document separators and CRLF line endings (new lines take the file's).
ruamel.yaml's round trip re-emits lines it did not change, so it is never the writer here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from secretkeeper.errors import SecretkeeperError
from secretkeeper.kube.objects import FieldPath
from secretkeeper.kube.yamllines import Span, Spans, _resolve_plain
from secretkeeper.migrate.ops import AddKey, AppendItem, EmptyList, Op, RemoveItem, ReplaceEntry, SetScalar

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_/.][A-Za-z0-9_/.-]*")


class SpliceError(SecretkeeperError):
    """The text around an edit is laid out in a way the splicer does not write into."""


@dataclass(frozen=True)
class Edit:
    start: int
    end: int
    text: str
    seq: int  # edits at one place keep the plan's order...
    depth: int = 0  # ...after the deeper ones: an inner mapping that ends there is written into first


def scalar(value: Any) -> str:
    """A value as a YAML scalar that reads back as the same value (plain when it can be)."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN_SAFE.fullmatch(text) and _resolve_plain(text) == text:
        return text
    return json.dumps(text)


def flow(value: Any, as_json: bool = False) -> str:
    """`value` in flow style; `as_json` for a JSON file (every string quoted)."""
    if as_json:
        return json.dumps(value, separators=(", ", ": "))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: Any, indent: int, seq_indent: int) -> list[str]:
    """`value` (a mapping or list) as block lines at `indent`; a list under a key is indented by
    `seq_indent` (0 or 2, as the file does)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{scalar(k)}:")
                lines.extend(block(v, indent + 2, seq_indent))
            elif isinstance(v, list) and v:
                lines.append(f"{pad}{scalar(k)}:")
                lines.extend(block(v, indent + seq_indent, seq_indent))
            else:
                lines.append(f"{pad}{scalar(k)}: {flow(v)}")
        return lines
    for item in value:
        if isinstance(item, dict | list) and item:
            inner = block(item, indent + 2, seq_indent)
            lines.append(f"{pad}- {inner[0][indent + 2:]}")
            lines.extend(inner[1:])
        else:
            lines.append(f"{pad}- {flow(item)}")
    return lines


class _Doc:
    """One document's text positions, for the edits of one object in it."""

    def __init__(self, text: str, spans: Spans, prefix: FieldPath, nl: str, seq_indent: int) -> None:
        self.text, self.spans, self.prefix, self.nl, self.seq_indent = text, spans, prefix, nl, seq_indent
        self.json = text.lstrip().startswith(("{", "["))  # a JSON file stays JSON

    def flow(self, value: Any) -> str:
        return flow(value, self.json)

    def scalar(self, value: Any) -> str:
        return json.dumps(value) if self.json else scalar(value)

    def node(self, path: FieldPath) -> Span:
        try:
            return self.spans.nodes[(*self.prefix, *path)]
        except KeyError:
            raise SpliceError(f"no text position for {'.'.join(map(str, path))}") from None

    def key(self, path: FieldPath) -> Span:
        return self.spans.keys[(*self.prefix, *path)]

    def is_flow(self, span: Span) -> bool:
        return self.text[span.start:span.start + 1] in ("[", "{")

    def line_start(self, at: int) -> int:
        return self.text.rfind("\n", 0, at) + 1

    def after_line(self, end: int) -> int:
        """Where the line holding `end` (exclusive) ends, past its line break."""
        if end > 0 and self.text[end - 1] == "\n":
            return end
        nl = self.text.find("\n", end)
        return len(self.text) if nl < 0 else nl + 1

    def column(self, at: int) -> int:
        return at - self.line_start(at)

    def insert_lines(self, end: int, lines: list[str]) -> tuple[int, str]:
        at = self.after_line(end)
        lead = "" if at == 0 or self.text[at - 1] == "\n" else self.nl
        return at, lead + "".join(line + self.nl for line in lines)

    def flow_insert(self, span: Span, item: str) -> tuple[int, str]:
        """`item` as the last entry of the flow collection `span` (before its closing bracket)."""
        close = span.end - 1
        at = close
        while at > span.start and self.text[at - 1] in " \t\r\n":
            at -= 1
        empty = self.text[at - 1] in "[{"
        return at, item if empty else f", {item}"


def edits_for(text: str, spans: Spans, prefix: FieldPath, ops: list[Op], seq_start: int = 0) -> list[Edit]:
    nl = "\r\n" if "\r\n" in text else "\n"
    doc = _Doc(text, spans, prefix, nl, _seq_indent(text, spans, prefix))
    out: list[Edit] = []
    for n, op in enumerate(ops, seq_start):
        start, end, new = _edit(doc, op)
        out.append(Edit(start, end, new, n, len(op.path)))
    return out


def _seq_indent(text: str, spans: Spans, prefix: FieldPath) -> int:
    """How far this file indents a list under its key: 0 (`containers:` / `- name:` level) or 2."""
    for path, span in spans.nodes.items():
        if path[:len(prefix)] == tuple(prefix) and path and path[-1] == 0 and path[:-1] in spans.keys:
            key = spans.keys[path[:-1]]
            line_start = text.rfind("\n", 0, span.start) + 1
            dash = text.rfind("-", line_start, span.start)
            if dash >= 0 and text[line_start:dash].strip() == "" and key.start_line < span.start_line:
                return max(0, (dash - line_start) - (key.start_column - 1))
    return 0


def _quoted_like(original: str, value: str) -> str:
    if original.startswith("'"):
        return "'" + value.replace("'", "''") + "'"
    if original.startswith('"'):
        return json.dumps(value)
    return scalar(value)


def _edit(doc: _Doc, op: Op) -> tuple[int, int, str]:
    text = doc.text
    if isinstance(op, SetScalar):
        span = doc.node(op.path)
        new = _quoted_like(text[span.start:span.end], op.value)
        if text[span.start:span.end].endswith("\n"):  # a block scalar's span ends past its line break
            new += doc.nl
        return span.start, span.end, new
    if isinstance(op, ReplaceEntry):
        key, node = doc.key(op.path), doc.node(op.path)
        new = f"{doc.scalar(op.key)}: {doc.scalar(op.value)}"
        if text[key.start:node.end].endswith("\n"):
            new += doc.nl
        return key.start, node.end, new
    if isinstance(op, EmptyList):
        key, node = doc.key(op.path), doc.node(op.path)
        return key.end, node.end, ": []"
    if isinstance(op, RemoveItem):
        return _remove_item(doc, op.path)
    if isinstance(op, AppendItem):
        span = doc.node(op.path)
        if doc.is_flow(span):
            at, new = doc.flow_insert(span, doc.flow(op.value))
            return at, at, new
        last = doc.node((*op.path, len(_children(doc, op.path)) - 1))
        line_start = doc.line_start(last.start)
        dash = text.rfind("-", line_start, last.start)
        if dash < 0 or text[line_start:dash].strip():
            raise SpliceError(f"{'.'.join(map(str, op.path))}: list items not laid out one per line")
        dash_col, content_col = dash - line_start, last.start - line_start
        lines = block([op.value], dash_col, doc.seq_indent)
        if content_col != dash_col + 2:  # `-   name:`: keep the file's gap after the dash
            lines = [block_line.replace("- ", "-" + " " * (content_col - dash_col - 1), 1) if i == 0 else
                     " " * (content_col - dash_col - 2) + block_line for i, block_line in enumerate(lines)]
        at, new = doc.insert_lines(last.end, lines)
        return at, at, new
    if isinstance(op, AddKey):
        span = doc.node(op.path)
        if doc.is_flow(span):
            at, new = doc.flow_insert(span, f"{doc.scalar(op.key)}: {doc.flow(op.value)}")
            return at, at, new
        indent = span.start_column - 1
        lines = block({op.key: op.value}, indent, doc.seq_indent)
        if (*doc.prefix, *op.path, op.key) in doc.spans.keys:  # `volumes:` with no value: filled in
            key, node = doc.key((*op.path, op.key)), doc.node((*op.path, op.key))
            return key.start, node.end, doc.nl.join(lines)[indent:]
        at, new = doc.insert_lines(span.end, lines)
        return at, at, new
    raise TypeError(type(op).__name__)


def _children(doc: _Doc, path: FieldPath) -> list[FieldPath]:
    full = (*doc.prefix, *path)
    n = 0
    while (*full, n) in doc.spans.nodes:
        n += 1
    return [(*path, i) for i in range(n)]


def _remove_item(doc: _Doc, path: FieldPath) -> tuple[int, int, str]:
    text = doc.text
    span = doc.node(path)
    parent = doc.node(path[:-1])
    if doc.is_flow(parent):
        end = span.end
        m = re.compile(r"\s*,\s*").match(text, end)
        if m:
            return span.start, m.end(), ""
        start = span.start
        while start > parent.start and text[start - 1] in " \t\r\n":
            start -= 1
        if text[start - 1] == ",":
            start -= 1
        return start, span.end, ""
    line_start = doc.line_start(span.start)
    dash = text.rfind("-", line_start, span.start)
    if dash < 0 or text[line_start:dash].strip():
        raise SpliceError(f"{'.'.join(map(str, path))}: list item not on its own line")
    return line_start, doc.after_line(span.end), ""


def apply_edits(text: str, edits: list[Edit]) -> str:
    """`text` with `edits` made; two edits that overlap are a SpliceError (nothing is written)."""
    out, at = [], 0
    for edit in sorted(edits, key=lambda e: (e.start, -e.depth, e.seq)):
        if edit.start < at:
            raise SpliceError("two edits overlap")
        out.append(text[at:edit.start])
        out.append(edit.text)
        at = max(at, edit.end)
    out.append(text[at:])
    return "".join(out)
