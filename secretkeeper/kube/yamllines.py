"""The line-keeping YAML loader for Kubernetes manifests: plain values with the 1-based line of every
field, and on request the exact text span of every node and key, so an edit can be spliced into the
original text.

`load_documents(text)` reads multi-document YAML and JSON (JSON is YAML). Plain block YAML (most
manifests) is read by `_fast_documents` in one pass over its lines; anything else composes YAML nodes
(libyaml when PyYAML's C parser is present, ruamel.yaml otherwise) and builds plain Python values and
lines in one walk. Both read the same values and lines. Refused with a one-line `ManifestError` that never
quotes the text: invalid YAML, nesting deeper than Python's stack, and YAML bombs (the refusals of
secretkeeper/yamlsafe.py, shared with the config loader).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from secretkeeper.kube.objects import FieldPath
from secretkeeper.yamlsafe import MAX_EXPANDED_NODES, compose_all, refuse_bombs
from secretkeeper.yamlsafe import YamlError as ManifestError  # a manifest that cannot be parsed


# -- documents ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """Where a node is written: `text[start:end]` is the node as written, with its anchor or tag, its
    quotes and, for a block scalar, its indicator and lines. Lines and columns are 1-based, ends exclusive.

    A block collection ends where its last entry does (comments and blank lines after it are not part of
    it); an empty value (`key:`) is the empty span right after its `:`; a list item's span is the item
    itself, after its `- `; an alias (`*name`) has the span of the node it names."""

    start: int
    end: int
    start_line: int
    start_column: int
    end_line: int
    end_column: int


@dataclass
class Spans:
    nodes: dict[FieldPath, Span]  # every node by field path; () is the document's root
    keys: dict[FieldPath, Span]  # every mapping key, by the field path of its value


@dataclass
class Document:
    body: Any
    lines: dict[FieldPath, int]  # field path -> line of its key or list item; () -> `line`
    line: int  # the document's first line
    spans: Spans | None = None  # with `load_documents(text, spans=True)`


def load_documents(text: str, *, spans: bool = False) -> tuple[list[Document], list[str]]:
    """Each document of `text` (one with no content is left out or has a None body), and a one-line
    error for each document refused.

    Raises `ManifestError` when the text as a whole cannot be read. With `spans`, text always goes through
    composition (the fast path keeps no columns), which reads the same values and lines.
    """
    if not spans:
        fast = _fast_documents(text)
        if fast is not None:
            return [Document(body, lines, line) for body, lines, line in fast], []
    nodes = compose_all(text)
    documents: list[Document] = []
    errors: list[str] = []
    has_aliases = "&" in text and "*" in text
    for node in nodes:
        if node is None:
            continue
        line = node.start_mark.line + 1
        try:
            if has_aliases:
                refuse_bombs(node)
            builder = _Builder(MAX_EXPANDED_NODES)
            body = builder.build(node, ())
        except ManifestError as exc:
            errors.append(f"document at line {line}: {exc}")
            continue
        except RecursionError:
            errors.append(f"document at line {line}: refused: nesting too deep")
            continue
        builder.lines[()] = line
        documents.append(Document(body, builder.lines, line, _spans(node, text) if spans else None))
    return documents, errors


# -- values ---------------------------------------------------------------------------------------------
def _tag(node: Any) -> str:
    tag = node.tag
    return tag if isinstance(tag, str) else str(getattr(tag, "value", tag))


# YAML 1.1 core scalars (what Kubernetes' go-yaml resolves): resolved here, in one pass, for plain scalars
_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
_NULL = {"", "~", "null"}
_NUMBER_START = frozenset("0123456789-+.")
_SPECIAL_START = frozenset("tTfFyYnNoO~0123456789-+.")  # what a bool, null or number can start with
_STR_TAG = "tag:yaml.org,2002:str"
_FLOAT_RE = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")
# How an int (any base) or float can end in ASCII text; `int()` also ignores surrounding whitespace.
_NUMBER_END = frozenset("0123456789abcdefABCDEF._ \t\n\r\x0b\x0c")


def _resolve_plain(value: str) -> Any:
    if not value:
        return None
    if value[0] not in _SPECIAL_START:  # most values: names, images, paths
        return value
    if len(value) <= 5:  # the longest bool or null is `false`
        low = value.lower()
        if low in _NULL:
            return None
        b = _BOOL.get(low)
        if b is not None:
            return b
    if value[:1] in _NUMBER_START:
        if value[-1] not in _NUMBER_END and value.isascii():
            return value  # `100m`, `128Mi`: spares two failing int() calls
        text = value.replace("_", "")
        try:
            return int(text, 10)
        except ValueError:
            pass
        try:
            return int(text, 0)
        except ValueError:
            pass
        if _FLOAT_RE.match(text):
            return float(text)
    return value


def _scalar(node: Any) -> Any:
    value = node.value
    if not node.style:  # plain (None in ruamel, "" in libyaml): resolve like YAML 1.1
        if value and value[0] not in _SPECIAL_START:
            return value
        tag = node.tag
        if tag == _STR_TAG or tag == "?" or (isinstance(tag, str) and tag.startswith("tag:yaml.org,2002:")):
            return _resolve_plain(value)
        return value
    tag = _tag(node)
    if tag == _STR_TAG or not tag.startswith("tag:yaml.org,2002:"):
        return value
    return _resolve_plain(value)  # an explicit !!int / !!bool on a quoted scalar


class _Builder:
    """Node tree -> plain values, recording the 1-based line of every key and list item."""

    __slots__ = ("budget", "lines")

    def __init__(self, budget: int) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.budget = budget

    def build(self, node: Any, path: FieldPath) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise ManifestError(f"refused: more than {MAX_EXPANDED_NODES} nodes after alias expansion "
                                "(YAML bomb?)")
        nid = node.id
        if nid == "scalar":
            return _scalar(node)
        value = node.value
        lines = self.lines
        if nid == "mapping":
            out: dict[Any, Any] = {}
            for knode, vnode in value:
                key = _key(knode)
                sub = (*path, key)
                lines[sub] = knode.start_mark.line + 1
                out[key] = self.build(vnode, sub)
            return out
        items = []
        for i, item in enumerate(value):
            sub = (*path, i)
            lines[sub] = item.start_mark.line + 1
            items.append(self.build(item, sub))
        return items


def _key(knode: Any) -> str:
    return knode.value if knode.id == "scalar" else f"<{knode.id} key>"  # JSON keys: strings


def _spans(root: Any, text: str) -> Spans:
    """The span of every node and key under `root`, by the field paths `_Builder` gives them. A walk with
    its own stack: the nesting limits stay `_Builder`'s, which has already read this tree."""
    spans = Spans({}, {})
    nodes, keys = spans.nodes, spans.keys
    stack: list[tuple[Any, FieldPath, bool]] = [(root, (), False)]
    while stack:
        node, path, entries_done = stack.pop()
        nid = node.id
        if nid == "scalar":
            nodes[path] = _mark_span(node)
            continue
        if nid == "mapping":
            entries = [((*path, _key(knode)), vnode) for knode, vnode in node.value]
        else:
            entries = [((*path, i), item) for i, item in enumerate(node.value)]
        if not entries_done:  # first its entries, in order (a repeated key: the last one wins)
            stack.append((node, path, True))
            stack.extend((child, sub, False) for sub, child in reversed(entries))
            continue
        if nid == "mapping":
            for (sub, vnode), (knode, _) in zip(entries, node.value):
                key = keys[sub] = _mark_span(knode)
                if vnode.id == "scalar" and vnode.start_mark.index == vnode.end_mark.index:
                    # libyaml puts an empty value after the `:` in a block mapping but at the next token in
                    # a flow one, ruamel.yaml at the next token: one place for both
                    nodes[sub] = _after_colon(text, key)
        start = _mark_span(node)
        if node.flow_style:
            nodes[path] = start
            continue
        end = nodes[entries[-1][0]]  # a block collection (never empty) ends with its last entry
        nodes[path] = Span(start.start, end.end, start.start_line, start.start_column, end.end_line,
                           end.end_column)
    return spans


def _after_colon(text: str, key: Span) -> Span:
    """The empty span after the `:` that follows `key` (at the key's end if none does: `{a}`)."""
    at = key.end
    while text.startswith(" ", at):
        at += 1
    at = at + 1 if text.startswith(":", at) else key.end
    line = text.count("\n", 0, at) + 1
    column = at - text.rfind("\n", 0, at)
    return Span(at, at, line, column, line, column)


def _mark_span(node: Any) -> Span:
    start, end = node.start_mark, node.end_mark
    return Span(start.index, end.index, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


# -- fast path: plain block YAML --------------------------------------------------------------------------
# Most manifests (kubectl, Helm and Kustomize output, hand-written files) are plain block YAML: `key: value`
# lines, `- ` items, one-line flow collections and simple quoted scalars. `_fast_documents` reads that
# subset in one pass over the lines, two to four times cheaper than libyaml and its Python nodes. It is
# strict: anything else (block scalars, anchors, tags, comments after content, multi-line scalars or flows,
# tabs, non-ASCII, unusual indentation, anything invalid) raises `_Unsupported` and the whole text goes
# through libyaml, which also writes every error message. What the subset accepts, it reads as libyaml does.
class _Unsupported(Exception):
    pass

_FAST_MAX_CHARS = 1 << 20  # so few nodes that the alias-expansion budget cannot apply
_FAST_MAX_DEPTH = 64  # deeper nesting goes to libyaml, which refuses it the usual way
_FAST_BYTES = bytes([10, *range(0x20, 0x7F)])  # newline and printable ASCII: no tab, CR, other controls
# A block value: a plain scalar (no indicator first, no `: `, no `#`), a quoted scalar without escapes,
# or a one-line flow collection (checked by `_flow`).
_PLAIN = r"""(?:[^-?:,\[\]{}#&*!|>'"%@`\n ]|-(?=[^ \n]))[^:#\n]*(?::+[^ \n:#][^:#\n]*)*(?<! )"""
_QUOTED = r""""[^"\\#\n]*"|'[^'#\n]*'"""
# Each line: `---`; or indent, `- `, `key:`, value (plain, quoted, flow), each optional; or comment; or junk.
_LINES = re.compile(rf"""^(?:(---) *|( *+)(- ++)?(?:([A-Za-z0-9_][A-Za-z0-9_./-]*+):(?= |$))? *+"""
                    rf"""(?:({_PLAIN})|({_QUOTED})|([\[{{][^#\n]*(?<! )))? *| *#.*|(.+))$""", re.M)
# The same, for one line read alone (`_line_records`): `$` before a newline is the line's end.
_LINE = re.compile(_LINES.pattern[1:-1] + r"\Z")
_LINE_MEMO: dict[str, tuple[int, int, int, str, Any]] = {}  # line text -> `_line_record`
_LINE_MEMO_LIMIT = 1 << 15  # ~8 MB at most; within a file and across files, lines repeat well below this
_FLOW_CHARS = r"[A-Za-z0-9_./~$()=^+@%-]"  # plain scalars in flow collections: ordinary characters only
_FLOW_PLAIN = rf"(?:[A-Za-z0-9_./~$(=^+]|-(?=[A-Za-z0-9_.])){_FLOW_CHARS}*(?: +{_FLOW_CHARS}+)*"
_FLOW_TOKEN = rf""" *(?:([\[\]{{}},])|(:) +|("[^"\\]*"|'[^']*')|({_FLOW_PLAIN}))"""
_FLOW_TOKENS = re.compile(_FLOW_TOKEN)
_FLOW_ONLY_TOKENS = re.compile(rf"(?:{_FLOW_TOKEN})+")
_FLOW_KEY = r"[A-Za-z0-9_][A-Za-z0-9_./-]*"
_FLOW_PAIRS = re.compile(rf"({_FLOW_KEY}): +({_FLOW_PLAIN})")
_FLAT_FLOW_MAP = re.compile(rf"\{{ *{_FLOW_KEY}: +{_FLOW_PLAIN}(?: *, *{_FLOW_KEY}: +{_FLOW_PLAIN})* *\}}")


def _fast_documents(text: str) -> list[tuple[dict[str, Any], dict[FieldPath, int], int]] | None:
    """(body, lines, first line) of each non-empty document, or None when the text is not plain block YAML.

    One pass over the lines with a stack of the open collections, (column, dict or list, field path):
    a line closes those deeper than itself, then must continue the innermost one.
    """
    # `isascii` reads a flag; deleting the allowed bytes leaves any others (a regex search was ~60
    # instructions a character, a tenth of the whole parse).
    if len(text) > _FAST_MAX_CHARS or not text.isascii() or text.encode("ascii").translate(None, _FAST_BYTES):
        return None
    docs: list[tuple[dict[str, Any], dict[FieldPath, int], int]] = []
    stack: list[tuple[int, Any, FieldPath]] = []
    lines: dict[FieldPath, int] = {}
    pending: tuple[dict[str, Any], str, FieldPath, int] | None = None  # a `key:` whose value is below
    try:
        for lineno, (kind, col, dash, key, value) in enumerate(_line_records(text), 1):
            if kind < _SCALAR:
                if kind == _BAD:
                    raise _Unsupported  # `- ` alone, a scalar alone (a continuation), or outside the subset
                if kind == _DOC:
                    if pending is not None:
                        pending[0][pending[1]] = None
                        pending = None
                    stack = []
                continue  # `---`, blank or comment
            if not stack:  # a document's first line
                if dash or col:
                    raise _Unsupported
                lines = {}
                stack = [(0, {}, ())]
                docs.append((stack[0][1], lines, lineno))
            if pending is not None:  # a nested block if this line is deeper (a sequence may sit level)
                pdict, pkey, ppath, pcol = pending
                pending = None
                if col > pcol or (dash and col == pcol):
                    pdict[pkey] = [] if dash else {}
                    stack.append((col, pdict[pkey], ppath))
                    if len(stack) > _FAST_MAX_DEPTH:
                        raise _Unsupported
                else:
                    pdict[pkey] = None
            top, node, path = stack[-1]
            while top > col or (top == col and not dash and type(node) is list):
                stack.pop()  # closed: this line is outside it (or a key ends a level sequence)
                top, node, path = stack[-1]
            if top != col or (dash and type(node) is not list):
                raise _Unsupported  # not at an open collection's indent, or a `- ` in a mapping
            if dash:
                path += (len(node),)
                lines[path] = lineno
                if not key:
                    node.append(_flow(value, lineno, path, lines) if kind == _FLOW else value)
                    continue
                node.append({})  # `- key: ...` opens a mapping at the key's column
                node = node[-1]
                col += dash
                stack.append((col, node, path))
            path += (key,)
            lines[path] = lineno
            if kind == _SCALAR:
                node[key] = value
            elif kind == _FLOW:
                node[key] = _flow(value, lineno, path, lines)  # parsed here, once its field path is known
            else:
                pending = (node, key, path, col)  # `key:` alone: its value is on the lines below, or null
        if pending is not None:
            pending[0][pending[1]] = None
    except _Unsupported:
        return None
    for _body, doc_lines, doc_line in docs:
        doc_lines[()] = doc_line  # last, as `load_documents` adds it after `_Builder`
    return docs


# What a line is, for `_fast_documents`: (kind, indent, length of `- `, key, value).
_SKIP, _DOC, _BAD, _SCALAR, _FLOW, _KEY = range(6)
_LineRecord = tuple[int, int, int, str, Any]


def _line_record(fields: tuple[str, ...]) -> _LineRecord:
    """One line's `_LINES` groups read once: plain scalars resolved (their values are immutable, so a
    line's record serves every occurrence), quotes removed, flows kept as text for `_flow`."""
    doc, indent, dash, key, plain, quoted, flow, junk = fields
    if plain:
        kind, value = _SCALAR, plain if plain[0] not in _SPECIAL_START else _resolve_plain(plain)
    elif quoted:
        kind, value = _SCALAR, quoted[1:-1]
    elif flow:
        kind, value = _FLOW, flow
    elif key:
        kind, value = _KEY, None
    elif dash or junk:
        return (_BAD, 0, 0, "", None)
    else:
        return (_DOC if doc else _SKIP, 0, 0, "", None)
    if not (key or dash):
        return (_BAD, 0, 0, "", None)
    return (kind, len(indent), len(dash), key, value)


def _line_records(text: str) -> list[_LineRecord]:
    """`_line_record` of each of `_LINES.findall(text)`, each distinct line read once: kubectl, Helm and
    Kustomize output repeat most lines (`spec:`, `containers:`, `- name: LOG_LEVEL`...), and matching
    and reading a line was most of the parse."""
    memo = _LINE_MEMO
    if len(memo) > _LINE_MEMO_LIMIT:
        memo.clear()
    out = []
    for line in text.split("\n"):  # the last item: what findall's final empty match stands for
        record = memo.get(line)
        if record is None:
            # `(.+)` takes any line the other alternatives do not: the match never fails.
            record = memo[line] = _line_record(_LINE.match(line).groups(""))  # type: ignore[union-attr]
        out.append(record)
    return out


def _flow(text: str, line: int, path: FieldPath, lines: dict[FieldPath, int]) -> Any:
    """A one-line flow collection; every key and item is on `line`."""
    if _FLAT_FLOW_MAP.fullmatch(text):  # the usual `{cpu: 100m, memory: 128Mi}`
        out = {}
        for key, value in _FLOW_PAIRS.findall(text):
            lines[(*path, key)] = line
            out[key] = _resolve_plain(value)
        return out
    if not _FLOW_ONLY_TOKENS.fullmatch(text):
        raise _Unsupported
    tokens = _FLOW_TOKENS.findall(text)
    value, i = _flow_node(tokens, 0, line, path, lines, 1)
    if i != len(tokens):
        raise _Unsupported
    return value


def _flow_node(tokens: list[tuple[str, str, str, str]], i: int, line: int, path: FieldPath,
               lines: dict[FieldPath, int], depth: int) -> tuple[Any, int]:
    if i >= len(tokens) or depth > _FAST_MAX_DEPTH:
        raise _Unsupported
    punct, _colon, quoted, plain = tokens[i]
    if plain:
        return _resolve_plain(plain), i + 1
    if quoted:
        return quoted[1:-1], i + 1
    if punct == "{":
        closer, out = "}", {}
    elif punct == "[":
        closer, out = "]", []
    else:
        raise _Unsupported
    i += 1
    if i < len(tokens) and tokens[i][0] == closer:
        return out, i + 1  # {} or []
    while True:
        if closer == "}":  # key (a scalar, kept as written), `:`, value
            if i + 1 >= len(tokens) or not tokens[i + 1][1]:
                raise _Unsupported
            _punct, _colon, quoted, plain = tokens[i]
            if not (plain or quoted):
                raise _Unsupported
            key = plain or quoted[1:-1]
            sub = (*path, key)
            lines[sub] = line
            out[key], i = _flow_node(tokens, i + 2, line, sub, lines, depth + 1)
        else:
            sub = (*path, len(out))
            lines[sub] = line
            item, i = _flow_node(tokens, i, line, sub, lines, depth + 1)
            out.append(item)
        punct = tokens[i][0] if i < len(tokens) else ""
        if punct == closer:
            return out, i + 1
        if punct != "," or i + 1 >= len(tokens) or tokens[i + 1][0] in (closer, ","):
            raise _Unsupported  # not `,`, or `,` before a closer or another `,`
        i += 1
