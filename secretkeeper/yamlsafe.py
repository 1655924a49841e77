"""YAML from untrusted files, composed and checked before any value is built: the one place both YAML
loaders (Kubernetes manifests: kube/yamllines.py; the config: config/loader.py) get their nodes and their
refusals.

`compose_all(text)` composes every document with libyaml when PyYAML's C parser is present (fast, and it
refuses nesting past its own limit at once), with ruamel.yaml otherwise. `refuse_bombs(node)` refuses a
document whose aliases expand beyond `MAX_EXPANDED_NODES` nodes or more than `MAX_ALIAS_AMPLIFICATION`
times the nodes written (a "billion laughs" bomb), and, given `max_depth`, one nested deeper than that
once its aliases are expanded. Every refusal is a one-line `YamlError` that never quotes the text.
"""

from __future__ import annotations

import io
import re
from typing import Any, ClassVar

MAX_EXPANDED_NODES = 2_000_000
MAX_ALIAS_AMPLIFICATION = 10

try:  # libyaml through PyYAML: an order of magnitude faster than pure-Python composition
    import yaml as _pyyaml
    from yaml._yaml import CParser as _CParser

    class _CLoader(_CParser):  # type: ignore[misc,valid-type]
        """libyaml composition without PyYAML's Python-side resolver: readers resolve plain scalars."""

        _TAGS: ClassVar[dict[type, str]] = {_pyyaml.ScalarNode: "tag:yaml.org,2002:str", _pyyaml.SequenceNode: "tag:yaml.org,2002:seq",
                                             _pyyaml.MappingNode: "tag:yaml.org,2002:map"}

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            return self._TAGS[kind]

        def descend_resolver(self, current_node: Any, current_index: Any) -> None:
            return None

        def ascend_resolver(self, *args: Any) -> None:
            return None

except ImportError:  # pragma: no cover - PyYAML without libyaml: ruamel.yaml's pure-Python composer
    _pyyaml = None
    _CLoader = None


class YamlError(ValueError):
    """YAML that cannot be read, or is refused: one line that never quotes the text. `problem` is the
    message without its place, `line` (1-based) where the parser stopped, when it says."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        self.problem, self.line = problem, line
        # "invalid YAML: P" at a line reads "invalid YAML at line N: P"
        super().__init__(problem if line is None else problem.replace(": ", f" at line {line}: ", 1))


def compose_all(text: str) -> list[Any]:
    """The node tree of each document of `text` (None for an empty one)."""
    try:
        return _compose_all(text)
    except RecursionError:  # the pure-Python composer recurses once per level
        raise YamlError("refused: nesting too deep") from None


def _compose_all(text: str) -> list[Any]:
    if _CLoader is not None:
        loader = _CLoader(text)
        try:
            nodes = []
            while loader.check_node():
                nodes.append(loader.get_node())
            return nodes
        except _pyyaml.YAMLError as exc:
            raise yaml_error(exc) from None
        finally:
            loader.dispose()
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return list(YAML(typ="safe", pure=True).compose_all(io.StringIO(text)))
    except YAMLError as exc:
        raise yaml_error(exc) from None


_QUOTED = re.compile(r"""'[^'\n]*'|"[^"\n]*\"""")


def yaml_error(exc: Exception) -> YamlError:
    """A parser's exception as `invalid YAML: problem` at its line, without the offending snippet (it
    could hold a secret); what the problem quotes (an alias, a tag, a duplicate key and its values)
    passes through `errors.shown`."""
    from secretkeeper.errors import shown

    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    problem = _QUOTED.sub(lambda m: m[0][0] + shown(m[0][1:-1]) + m[0][0], problem)
    return YamlError(f"invalid YAML: {problem}", mark.line + 1 if mark is not None else None)


def refuse_bombs(node: Any, *, max_depth: int | None = None) -> None:
    """Refuse the document `node` when its aliases expand too far, or (with `max_depth`) it nests deeper
    than that, aliases expanded. Linear in the nodes written; without `max_depth` it recurses as deep as
    the document nests (a RecursionError is the caller's)."""
    memo: dict[int, tuple[int, int]] = {}
    size, _height = _expanded(node, memo, 1, max_depth or 0)
    if size > MAX_EXPANDED_NODES or size > MAX_ALIAS_AMPLIFICATION * len(memo) + 10_000:
        raise YamlError(f"refused: aliases expand to over {min(size, MAX_EXPANDED_NODES)} nodes (YAML bomb?)")


def _expanded(node: Any, memo: dict[int, tuple[int, int]], depth: int, max_depth: int) -> tuple[int, int]:
    """(nodes, levels) `node` stands for once aliases are expanded, memoised by node: an alias costs one
    look-up, and a recursive alias counts once and cannot loop."""
    key = id(node)
    size, height = memo.get(key, (0, 0))
    if max_depth and depth + max(height, 1) - 1 > max_depth:  # checked before going deeper
        raise YamlError(f"refused: nested deeper than {max_depth} levels")
    if size:
        return size, height
    memo[key] = (1, 1)
    size = height = 1
    value = node.value
    if isinstance(value, list):
        for item in value:
            for child in item if isinstance(item, tuple) else (item,):  # (key, value) in a mapping
                sub, sub_height = _expanded(child, memo, depth + 1, max_depth)
                size += sub
                height = max(height, sub_height + 1)
            if size > MAX_EXPANDED_NODES:
                break
    memo[key] = (size, height)
    return size, height
