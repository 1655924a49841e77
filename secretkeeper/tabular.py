"""Tables: CSV / TSV exports and SQL INSERT statements, where a secret sits under a column named on another
line (`id,email,password` then `7,ann@example.org,Xk9#mQ2v`; an INSERT without a column list is read with
the columns of its table's CREATE TABLE, as dumps write them).

Each value under a secret-like column is read as `column = "value"` and scanned with the same rules, so
it is recognised the way `password = "..."` is, with the same filters (placeholders, hashes, names).
Matches are reported at the value's own line and offset in the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from secretkeeper.secretwords import Use, alternation

# Files read as tables, by suffix (checked by the engine on every buffer: one `endswith`).
TABLE_SUFFIXES = (".csv", ".tsv", ".psv", ".sql")

# `pass` only as a whole last word (`pass`, `smtp_pass`): inside names it is `passenger`, `bypass`, `passed`.
_SECRET_COLUMN = re.compile(alternation(Use.COLUMN, "[_ -]?").encode() + rb"|(?:^|[_ .-])pass$", re.IGNORECASE)
_DELIMITERS = (b",", b";", b"\t", b"|")
_MAX_VALUE = 512  # longer cells are text, not one credential (keys in cells are found by their own rules)
_INSERT_RE = re.compile(rb"(?i)\bINSERT\s+(?:IGNORE\s+)?INTO\s+([\w.`\"\[\]]+)\s*(?:\(([^()]{1,4000})\)\s*)?VALUES\s*")
_CREATE_RE = re.compile(rb"(?i)\bCREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([\w.`\"\[\]]+)\s*\(")
# What opens a table constraint in CREATE TABLE, not a column.
_CONSTRAINTS = frozenset(b"primary key unique constraint index foreign check fulltext spatial exclude period".split())

# (column name, value, offset of the value in the buffer)
Cell = tuple[bytes, bytes, int]


def table_cells(data: bytes, path: str) -> Iterator[Cell]:
    """The cells of secret-like columns in `data`, read as CSV/TSV or as SQL INSERT statements."""
    if path.endswith(".sql"):
        yield from _sql_cells(data)
    else:
        yield from _csv_cells(data)


def _csv_cells(data: bytes) -> Iterator[Cell]:
    nl = data.find(b"\n")
    header = data[: nl if nl >= 0 else len(data)].rstrip(b"\r")
    if not _SECRET_COLUMN.search(header):
        return
    delim = max(_DELIMITERS, key=header.count)
    names = [c.strip().strip(b"\"'") for c in header.split(delim)]
    wanted = {i: n for i, n in enumerate(names) if _SECRET_COLUMN.search(n)}
    if not wanted or nl < 0:
        return
    pos = nl + 1
    while pos < len(data):
        end = data.find(b"\n", pos)
        end = len(data) if end < 0 else end
        for i, (value, offset) in enumerate(_split_row(data, pos, end, delim)):
            name = wanted.get(i)
            if name is not None and value:
                yield name, value, offset
        pos = end + 1


def _split_row(data: bytes, pos: int, end: int, delim: bytes) -> Iterator[tuple[bytes, int]]:
    """(value, offset) per field of one line; a quoted field may hold the delimiter (and `""`)."""
    i = pos
    while i <= end:
        if i < end and data[i] == 0x22:  # "quoted"
            j = i + 1
            while True:
                j = data.find(b'"', j, end)
                if j < 0 or data[j + 1:j + 2] != b'"':
                    break
                j += 2
            close = end if j < 0 else j
            yield data[i + 1:close].replace(b'""', b'"'), i + 1
            nxt = data.find(delim, close, end)
            i = end + 1 if nxt < 0 else nxt + 1
            continue
        nxt = data.find(delim, i, end)
        stop = end if nxt < 0 else nxt
        raw = data[i:stop]
        value = raw.strip().rstrip(b"\r")
        yield value, i + (len(raw) - len(raw.lstrip()))
        if nxt < 0:
            return
        i = nxt + 1


def _sql_cells(data: bytes) -> Iterator[Cell]:
    created: dict[bytes, list[bytes]] | None = None
    for m in _INSERT_RE.finditer(data):
        if m.group(2) is not None:
            names = [c.strip().strip(b"`\"[]") for c in m.group(2).split(b",")]
        else:  # `INSERT INTO t VALUES (...)`, as mysqldump writes: the columns of t's CREATE TABLE
            if created is None:
                created = _created_tables(data)
            names = created.get(_table_name(m.group(1)), [])
        wanted = {i: n for i, n in enumerate(names) if _SECRET_COLUMN.search(n)}
        if not wanted:
            continue
        for row in _sql_tuples(data, m.end()):
            for i, (value, offset) in enumerate(row):
                name = wanted.get(i)
                if name is not None and value is not None:
                    yield name, value, offset


def _table_name(raw: bytes) -> bytes:
    return raw.rsplit(b".", 1)[-1].strip(b"`\"[]").lower()


def _created_tables(data: bytes) -> dict[bytes, list[bytes]]:
    """The column names of each CREATE TABLE in `data`, by table name (types may hold commas: split at
    the definition list's own level)."""
    out: dict[bytes, list[bytes]] = {}
    for m in _CREATE_RE.finditer(data):
        depth, start, parts = 1, m.end(), []
        i, end = m.end(), min(len(data), m.end() + 20000)
        while i < end and depth:
            c = data[i]
            if c == 0x28:  # (
                depth += 1
            elif c == 0x29:  # )
                depth -= 1
            elif c == 0x2C and depth == 1:  # ,
                parts.append(data[start:i])
                start = i + 1
            i += 1
        if depth:
            continue  # cut off: no columns rather than wrong ones
        parts.append(data[start : i - 1])
        columns = []
        for part in parts:
            words = part.split()
            if words and words[0].lower() not in _CONSTRAINTS:
                columns.append(words[0].strip(b"`\"[]"))
        out[_table_name(m.group(1))] = columns
    return out


def _sql_tuples(data: bytes, pos: int) -> Iterator[list[tuple[bytes | None, int]]]:
    """The `(...)` tuples of a VALUES list from `pos`: string literals as (value, offset), anything else
    (numbers, NULL, calls) as (None, offset). Stops at the statement's end."""
    n = len(data)
    while pos < n:
        while pos < n and data[pos] in b" \t\r\n,":
            pos += 1
        if pos >= n or data[pos] != 0x28:  # not "(": `;` or the next statement
            return
        pos += 1
        row: list[tuple[bytes | None, int]] = []
        depth = 0
        start = pos
        literal: tuple[bytes, int] | None = None
        while pos < n:
            c = data[pos]
            if c == 0x27:  # 'string' with '' and \' escapes
                j = pos + 1
                parts = []
                while j < n:
                    k = data.find(b"'", j)
                    if k < 0:
                        return
                    if data[k - 1] == 0x5C and (k - 2 < 0 or data[k - 2] != 0x5C):
                        parts.append(data[j:k - 1] + b"'")
                        j = k + 1
                        continue
                    if data[k + 1:k + 2] == b"'":
                        parts.append(data[j:k + 1])
                        j = k + 2
                        continue
                    parts.append(data[j:k])
                    break
                literal = (b"".join(parts), pos + 1)
                pos = k + 1
                continue
            if c == 0x28:
                depth += 1
            elif c == 0x29 and depth:
                depth -= 1
            elif (c == 0x2C or c == 0x29) and not depth:
                text = data[start:pos].strip()
                if literal is not None and text.startswith(b"'") and text.endswith(b"'"):
                    row.append(literal)
                else:
                    row.append((None, start))
                literal = None
                start = pos + 1
                if c == 0x29:
                    pos += 1
                    yield row
                    break
            pos += 1
        else:
            return


def named_value(name: bytes, value: bytes) -> tuple[bytes, int] | None:
    """`name = "value"` for the rules to read, and where the value starts in it; None when no quoting
    keeps the value whole."""
    if len(value) > _MAX_VALUE or b"\n" in value:
        return None
    key = re.sub(rb"[^A-Za-z0-9_.-]+", b"_", name) or b"value"
    for q in (b'"', b"'"):
        if q not in value:
            prefix = key + b" = " + q
            return prefix + value + q, len(prefix)
    return None
