"""A large config read from the nodes libyaml already composed (secretkeeper/yamlsafe.py), not parsed a
second time by ruamel.yaml's round-trip loader: that loader reads some 100-250 KB a second (it gathers
every comment), so a fleet's config of 1,000 managed secrets cost seconds before `rotate --due` asked its
first question (benchmarks/bench_rotate.py).

The values are those the round-trip loader makes: plain scalars are resolved and built by ruamel.yaml's
own YAML 1.2 resolver and constructor, quoted and block scalars are text. Mappings and sequences carry
`.lc` with the `key` / `value` / `item` lines the round-trip document has, so every problem is still
`FILE:LINE: key: problem` (config/invalid.py `line_of`). What this reader does not model is left to the
round-trip loader (`build` returns None): a tag, a merge key (`<<`), a key that is not a scalar, more
than one document.
"""

from __future__ import annotations

import re
from typing import Any

from secretkeeper.errors import shown

FAST_FROM = 32 << 10  # smaller files load through the round-trip loader in well under 0.1 s
_STR_TAG = "tag:yaml.org,2002:str"
# A `!` that could start a tag (an explicit `!!str` is composed like a plain scalar: not told apart here);
# a match inside quoted text only sends the file to the round-trip loader.
_TAG_START = re.compile(r"(?:^|[\s\[\]{},:?-])!", re.MULTILINE)
_MERGE_KEY = re.compile(r"(?:^|[\s{,])<<\s*:", re.MULTILINE)


class DuplicateKey(ValueError):
    def __init__(self, key: str, line: int) -> None:
        super().__init__(f"found duplicate key {shown(key)!r}")
        self.line = line


class _Lines:
    """The `.lc` of a round-trip node: 0-based (line, column) of each key, value and item."""

    __slots__ = ("_items", "_keys", "_values")

    def __init__(self) -> None:
        self._keys: dict[Any, tuple[int, int]] = {}
        self._values: dict[Any, tuple[int, int]] = {}
        # a sequence's items by index; a mapping's keys, as ruamel.yaml answers `item` there
        self._items: Any = self._keys

    def key(self, key: Any) -> tuple[int, int]:
        return self._keys[key]

    def value(self, key: Any) -> tuple[int, int]:
        return self._values[key]

    def item(self, index: int) -> tuple[int, int]:
        return self._items[index]


class LineMap(dict):  # type: ignore[type-arg]
    __slots__ = ("lc",)


class LineList(list):  # type: ignore[type-arg]
    __slots__ = ("lc",)


class _NeedsFullLoader(Exception):
    pass


def applies(text: str, documents: list[Any]) -> bool:
    return (len(text) >= FAST_FROM and len(documents) == 1 and not _TAG_START.search(text)
            and not _MERGE_KEY.search(text))


def build(node: Any) -> Any:
    """The round-trip document of one composed node tree, or None when the round-trip loader must read
    it. Raises DuplicateKey as that loader would."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    try:
        return _Builder(yaml.resolver, yaml.constructor).value(node)
    except _NeedsFullLoader:
        return None


class _Builder:
    def __init__(self, resolver: Any, constructor: Any) -> None:
        from ruamel.yaml.nodes import ScalarNode

        self.resolver, self.constructor, self.scalar_node = resolver, constructor, ScalarNode
        self.scalars: dict[str, Any] = {}  # plain text -> its value (immutable values only)

    def value(self, node: Any) -> Any:
        kind = type(node).__name__
        if kind == "ScalarNode":
            return self.scalar(node)
        if kind == "SequenceNode":
            out = LineList(self.value(item) for item in node.value)
            out.lc = lines = _Lines()
            lines._items = [_at(item) for item in node.value]
            return out
        if kind == "MappingNode":
            return self.mapping(node)
        raise _NeedsFullLoader

    def mapping(self, node: Any) -> LineMap:
        out = LineMap()
        out.lc = lines = _Lines()
        for knode, vnode in node.value:
            if type(knode).__name__ != "ScalarNode":
                raise _NeedsFullLoader
            key = self.scalar(knode)
            if isinstance(key, (dict, list)) or key in out:
                if key in out:
                    raise DuplicateKey(str(key), knode.start_mark.line + 1)
                raise _NeedsFullLoader
            out[key] = self.value(vnode)
            lines._keys[key], lines._values[key] = _at(knode), _at(vnode)
        return out

    def scalar(self, node: Any) -> Any:
        if node.tag != _STR_TAG:
            raise _NeedsFullLoader
        text = node.value
        if node.style:  # quoted or block: text as written
            return text
        if text in self.scalars:
            return self.scalars[text]
        tag = self.resolver.resolve(self.scalar_node, text, (True, False))
        value = text if tag == _STR_TAG else self.constructor.construct_object(self.scalar_node(tag, text),
                                                                               deep=True)
        if isinstance(value, (str, int, float, bool, type(None))):
            self.scalars[text] = value
        return value


def _at(node: Any) -> tuple[int, int]:
    return node.start_mark.line, node.start_mark.column
