"""A problem at a key of the config document, and pydantic validation that reports one.

The loader turns a problem into `FILE:LINE: key: problem`, redacting any long string it echoes.
"""

from __future__ import annotations

from typing import Any

# Every section's classes carry this as `__pydantic_config__` (a ConfigDict is a plain dict): an unknown
# key is a problem, reported with its line, never silently ignored.
FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}

# The keys that select a variant (`type: vault`, `method: token`): pydantic puts their value into an
# error's location, where the file has none.
_TAG_KEYS = ("type", "method")


class Invalid(ValueError):
    def __init__(self, loc: tuple[Any, ...], msg: str, value: Any) -> None:
        super().__init__(msg)
        self.loc, self.msg, self.value = loc, msg, value


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
