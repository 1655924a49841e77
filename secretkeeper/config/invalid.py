"""A problem at a key of the config document, pydantic validation that reports one, and its one line:
`FILE:LINE: key: problem`, with any long string it echoes redacted and every key passed through `shown`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from secretkeeper.errors import ConfigError, shown

# Every section's classes carry this as `__pydantic_config__` (a ConfigDict is a plain dict): an unknown
# key is a problem, reported with its line, never silently ignored.
FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}

# The keys that select a variant (`type: vault`, `method: token`): pydantic puts their value into an
# error's location, where the file has none.
_TAG_KEYS = ("type", "method")


class Invalid(ValueError):
    """`msg` about `value` at `loc`; `key` is the key to name when it is not `loc` itself (a problem
    with an entry that the message names)."""

    def __init__(self, loc: tuple[Any, ...], msg: str, value: Any, key: tuple[Any, ...] | None = None) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.value, self.key = loc, msg, value, key


def config_error(path: Path | None, doc: Any, problem: Invalid) -> ConfigError:
    """`problem` as one line: the file, the line of its key in `doc` (a ruamel.yaml round-trip document)."""
    line = line_of(doc, problem.loc)
    where = f"{path}:{line}" if path and line else str(path or "config")
    key = ".".join(shown(p) if isinstance(p, str) else str(p) for p in problem.key or problem.loc) or "<root>"
    return ConfigError(f"{where}: {key}: {_scrub(problem.msg, problem.value)}")


def line_of(doc: Any, loc: tuple[Any, ...]) -> int | None:
    """Best-effort 1-based line of a location in a ruamel round-trip document."""
    node, line = doc, None
    for key in loc:
        lc = getattr(node, "lc", None)
        try:
            if lc is not None:
                if isinstance(key, int):
                    line = lc.item(key)[0] + 1
                else:
                    line = lc.key(key)[0] + 1
            node = node[key]
        except (KeyError, IndexError, TypeError, AttributeError):
            break
    return line


def _scrub(message: str, bad_input: Any) -> str:
    """Redact the offending values a validation message echoes: one may be a credential pasted by mistake."""
    from secretkeeper.findings import redact

    stack, values = [bad_input], []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= 8:
            values.append(item)
    for value in sorted(values, key=len, reverse=True):
        message = message.replace(value, redact(value))
    return message


def validated(schema: Any, value: Any, loc: tuple[Any, ...]) -> Any:
    """`value` (the section at `loc`) validated against `schema`; the first error raised as Invalid."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(schema).validate_python(value)
    except ValidationError as exc:
        err = exc.errors()[0]
        where, msg = _file_loc(err["loc"], value), err["msg"].removeprefix("Value error, ")
        ctx = err.get("ctx") or {}
        if err["type"] == "union_tag_invalid":  # the tag is not echoed: it could be a value pasted there
            where, msg = (*where, ctx["discriminator"].strip("'")), f"must be one of {ctx['expected_tags']}"
        elif err["type"] == "union_tag_not_found":
            where, msg = (*where, ctx["discriminator"].strip("'")), "Field required"
        raise Invalid(loc + where, msg, err.get("input")) from None


def _file_loc(loc: tuple[Any, ...], value: Any) -> tuple[Any, ...]:
    """The error's location as keys of the file: without the variant tags pydantic inserts."""
    out: list[Any] = []
    node = value
    for key in loc:  # a model's own check (__post_init__) ends its location with the tag
        if isinstance(node, dict) and key not in node and key in (node.get(tag) for tag in _TAG_KEYS):
            continue
        out.append(key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)
