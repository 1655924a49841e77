"""No import cycle among the project's modules, lazy imports included.

Every import statement counts, at module level or inside a function, and so does every import by
computed name (`importlib.import_module`). An import has an edge to the module it names (`import a.b`
-> `a.b`; `from a import b` -> `a`, whose namespace it reads, and `a.b` when that is a module) and to
every package Python initialises on the way there (`a` for `import a.b`), except the importer's own
packages, which are always initialised, or being initialised, before it runs. So a package's
`__init__` importing its own submodules is no cycle, unless a submodule reads the package back; a
module outside the package that imports any of its submodules runs the package's `__init__` first.
Imports under `if TYPE_CHECKING:` never run and are left out.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("secretkeeper", "scanners", "providers")

# Imports by computed name, by the package that makes them: each may load any module of that package.
# A new one fails `test_every_import_by_computed_name_is_known` until it is described here.
DYNAMIC = {
    "secretkeeper.report": "the writer for the format asked for",
    "secretkeeper.validators": "every validator module, which register themselves",
    "providers.stores": "the store type a config names, imported when first used",
    "providers.issuers": "the issuer type a config names, imported when first used",
    "secretkeeper.kube.sync": "the sync target kind a config names, imported when first used",
}

# Cycles known and not yet broken, each with why it is still there. The test fails on any other cycle,
# and on a known one that is gone (remove it here).
KNOWN_CYCLES: dict[frozenset[str], str] = {}  # none: a new entry needs a reason that says when it goes

Graph = dict[str, dict[str, int]]  # module -> {imported module: line of the first such import}


def find_modules(root: Path, packages: tuple[str, ...]) -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is a package) for every module under `packages`."""
    found = {}
    for top in packages:
        for path in sorted((root / top).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST) -> list[ast.AST]:
    out, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)  # the body never runs
            continue
        if isinstance(node, ast.Import | ast.ImportFrom) or (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"):
            out.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return out


def build_graph(root: Path, packages: tuple[str, ...], dynamic: dict[str, str]) -> tuple[Graph, set[str]]:
    """The import graph, and the modules that import by computed name."""
    modules = find_modules(root, packages)
    graph: Graph = {name: {} for name in modules}
    computed: set[str] = set()
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        own = {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}  # initialised already
        edges = graph[name]
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, `level - 1` packages up
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(up + ([base] if base else []))
                targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
            else:
                computed.add(name)
                targets = [m for m in modules if m.startswith(f"{name}.")] if name in dynamic else []
            for target in targets:
                if target not in modules:
                    continue
                parents = [".".join(target.split(".")[:i]) for i in range(1, target.count(".") + 1)]
                for module in [*parents, target]:
                    if module in modules and module != name and (module == target or module not in own):
                        edges.setdefault(module, node.lineno)
    return graph, computed


def strongly_connected(graph: Graph) -> list[frozenset[str]]:
    """The groups of modules that reach each other (Kosaraju), those of more than one module."""
    order: list[str] = []
    seen: set[str] = set()
    for start in sorted(graph):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(sorted(graph[start])))]
        while stack:
            module, nexts = stack[-1]
            target = next(nexts, None)
            if target is None:
                stack.pop()
                order.append(module)
            elif target not in seen:
                seen.add(target)
                stack.append((target, iter(sorted(graph[target]))))
    reverse: dict[str, set[str]] = {m: set() for m in graph}
    for module, edges in graph.items():
        for target in edges:
            reverse[target].add(module)
    groups, assigned = [], set()
    for start in reversed(order):
        if start in assigned:
            continue
        group, todo = {start}, [start]
        assigned.add(start)
        while todo:
            for source in reverse[todo.pop()]:
                if source not in assigned:
                    assigned.add(source)
                    group.add(source)
                    todo.append(source)
        if len(group) > 1:
            groups.append(frozenset(group))
    return groups


def find_cycle(graph: Graph, within: frozenset[str]) -> list[tuple[str, int]]:
    """One cycle through the modules of `within` (a strongly connected group) as [(module, line of its
    import of the next one), ...]: from its first module, always to the first next module in the group
    not yet on the path."""
    start = min(within)
    path = [start]
    while True:
        targets = sorted(t for t in graph[path[-1]] if t in within)
        back = [t for t in targets if t in path]
        if back:  # close the loop as late on the path as possible: the shortest cycle seen from here
            loop = path[max(path.index(t) for t in back):]
            break
        path.append(next(t for t in targets if t not in path))
    return [(m, graph[m][loop[(i + 1) % len(loop)]]) for i, m in enumerate(loop)]


def describe(cycle: list[tuple[str, int]]) -> str:
    return " -> ".join(f"{module} (line {line})" for module, line in cycle) + f" -> {cycle[0][0]}"


def test_no_import_cycle_but_the_known_ones():
    graph, _ = build_graph(ROOT, PACKAGES, DYNAMIC)
    groups = set(strongly_connected(graph))
    new = [describe(find_cycle(graph, g)) for g in sorted(groups - set(KNOWN_CYCLES), key=sorted)]
    assert not new, "import cycle: " + "; ".join(new)
    gone = [sorted(g) for g in set(KNOWN_CYCLES) - groups]
    assert not gone, f"no longer a cycle, remove from KNOWN_CYCLES: {gone}"


def test_every_import_by_computed_name_is_known():
    _, computed = build_graph(ROOT, PACKAGES, DYNAMIC)
    assert computed == set(DYNAMIC)


def test_every_module_can_be_imported_first():
    """In a fresh interpreter, whatever module comes first (a test, a plugin, `python -m`): a cycle that
    runs at import time fails here (`secretkeeper rules test` once failed this way)."""
    names = [m for m in find_modules(ROOT, PACKAGES) if not m.endswith("__main__")]  # those run the CLI
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def first(name: str) -> tuple[str, str]:
        proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, env=env,
                              cwd=ROOT, timeout=120, check=False)
        return name, (proc.stderr.strip().splitlines() or ["?"])[-1] if proc.returncode else ""

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        failed = {name: error for name, error in pool.map(first, names) if error}
    assert not failed


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_checker_finds_lazy_facade_parent_and_computed_cycles(tmp_path):
    """The checker itself. Cycles: a lazy import; a submodule reading its package's namespace; a module
    outside a package importing one of its submodules, which runs the package's `__init__`; an import by
    computed name. No cycle: an `__init__` importing its submodules, a submodule importing a sibling by
    its full name, an import under TYPE_CHECKING."""
    write(tmp_path, {
        "pkg/__init__.py": "from pkg.a import A\n",
        "pkg/a.py": "import pkg.b as b\nA = 1\n",
        "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import A\n",
        "lazy/__init__.py": "",
        "lazy/c.py": "def late():\n    from lazy.d import D\n",
        "lazy/d.py": "import lazy.c\nD = 1\n",
        "eng/__init__.py": "from eng.core import Core\n",
        "eng/core.py": "from data import Record\nCore = 1\n",
        "eng/util.py": "U = 1\n",
        "data/__init__.py": "from eng.util import U\nRecord = 1\n",
        "plug/__init__.py": "import importlib\ndef load(n):\n    importlib.import_module(f'{__name__}.{n}')\n",
        "plug/one.py": "from plug import load\n",
    })
    graph, _ = build_graph(tmp_path, ("pkg",), {})
    assert strongly_connected(graph) == []  # pkg -> pkg.a -> pkg.b, whose import never runs
    graph["pkg.b"]["pkg"] = 3  # as if it ran
    [group] = strongly_connected(graph)
    assert describe(find_cycle(graph, group)) == "pkg (line 1) -> pkg.a (line 1) -> pkg.b (line 3) -> pkg"
    lazy, _ = build_graph(tmp_path, ("lazy",), {})
    [group] = strongly_connected(lazy)
    assert describe(find_cycle(lazy, group)) == "lazy.c (line 2) -> lazy.d (line 1) -> lazy.c"
    engine, _ = build_graph(tmp_path, ("eng", "data"), {})
    [group] = strongly_connected(engine)
    assert describe(find_cycle(engine, group)) == "data (line 1) -> eng (line 1) -> eng.core (line 1) -> data"
    plugins, computed = build_graph(tmp_path, ("plug",), {"plug": "its plugins"})
    assert computed == {"plug"}
    [group] = strongly_connected(plugins)
    assert describe(find_cycle(plugins, group)) == "plug (line 3) -> plug.one (line 1) -> plug"
