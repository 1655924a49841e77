"""The Hyperscan prefilter: every prefilterable rule in one pass over the data, whatever the rule count.

Each rule runs as its Hyperscan expression (engine.hsexpr): exactly where Hyperscan supports it,
`HS_FLAG_PREFILTER` approximation where it does not, its keywords where neither compiles. The pass
reports end offsets per rule; confirmation (engine.confirm) runs the rules' own regexes around them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any

from secretkeeper import cache
from secretkeeper.engine.hsdatabase import CACHE_FORMAT, Database, hyperscan
from secretkeeper.engine.hsexpr import hs_expression, hs_source, needs_prefilter_mode
from secretkeeper.rules import Rule


class RuleDatabase(Database):
    """One Hyperscan block-mode database for a slice of the rules, cached on disk by content hash.

    The built-in catalog and the custom rules of a config are separate groups, so adding a custom rule
    compiles only that rule, never the whole catalog again.
    """

    def __init__(self, rules: Sequence[Rule], offset: int, use_cache: bool,
                 markers: Sequence[bytes] = ()) -> None:
        self.offset = offset
        self.size = len(rules)  # database ids past the rules are `markers` (literal, one report per scan)
        self.markers = tuple(markers)
        key = hashlib.sha256(
            json.dumps([CACHE_FORMAT, getattr(hyperscan, "__version__", "?"), [hs_source(r) for r in rules],
                        [list(r.keywords) for r in rules], [m.hex() for m in self.markers]]).encode()
        ).hexdigest()[:32]
        path = cache.cache_dir() / f"hs-{key}.db"
        # per rule: "exact" | "prefilter" | "keywords" | "always"
        self.modes, self.db_bytes = cache.cached(path, use_cache, lambda: self._compile(rules, self.markers))
        self._load_db()

    @staticmethod
    def _compile(rules: Sequence[Rule], markers: Sequence[bytes] = ()) -> tuple[list[str], bytes]:
        texts = [hs_expression(hs_source(r)) for r in rules]
        exprs = [t.encode("utf-8") for t in texts]
        modes = ["prefilter" if needs_prefilter_mode(re.compile(e)) else "exact" for e in exprs]
        flags = [hyperscan.HS_FLAG_PREFILTER if m == "prefilter" else 0 for m in modes]
        if not exprs:
            return modes, b""
        marker_exprs = [re.escape(m) for m in markers]
        marker_ids = list(range(len(rules), len(rules) + len(markers)))
        marker_flags = [hyperscan.HS_FLAG_SINGLEMATCH] * len(markers)
        try:  # the common case: one compile for the whole group
            db = hyperscan.Database()
            db.compile(expressions=exprs + marker_exprs, ids=list(range(len(exprs))) + marker_ids,
                       elements=len(exprs) + len(markers), flags=flags + marker_flags)
            return modes, hyperscan.dumpb(db)
        except Exception:
            pass
        patterns: list[bytes] = list(marker_exprs)
        ids: list[int] = list(marker_ids)
        pflags: list[int] = list(marker_flags)
        for i, (rule, expr) in enumerate(zip(rules, exprs)):
            mode = "always"
            for name, flag in (("exact", 0), ("prefilter", hyperscan.HS_FLAG_PREFILTER)):
                if name == "exact" and modes[i] == "prefilter":
                    continue
                try:
                    hyperscan.Database().compile(expressions=[expr], ids=[i], elements=1, flags=[flag])
                except Exception:
                    continue
                patterns.append(expr)
                ids.append(i)
                pflags.append(flag)
                mode = name
                break
            if mode == "always" and rule.keywords:
                mode = "keywords"
                for kw in rule.keywords:
                    patterns.append(re.escape(kw.encode("utf-8")))
                    ids.append(i)
                    pflags.append(hyperscan.HS_FLAG_CASELESS)
            modes[i] = mode
        if not patterns:
            return modes, b""
        db = hyperscan.Database()
        db.compile(expressions=patterns, ids=ids, elements=len(patterns), flags=pflags)
        return modes, hyperscan.dumpb(db)


class HyperscanPrefilter:
    """All prefilterable rules: built-in and custom rules in separate Hyperscan databases."""

    def __init__(self, rules: Sequence[Rule], *, use_cache: bool = True,
                 catalog: Sequence[Rule] | None = None, markers: Sequence[bytes] = ()) -> None:
        """With `catalog` (the shipped rules), the first database is always the whole catalog — compiled
        once, cached — and rules a config disables or overrides are masked at hit time, so a config
        never forces a recompile of the catalog; only its own rules are compiled. `markers` (literal
        byte strings) are found by the first database too."""
        if catalog is None:
            base = [r for r in rules if r.family != "custom"]
            extra = [r for r in rules if r.family == "custom"]
            active: list[Rule | None] = list(base)
        else:
            base = list(catalog)
            by_id = {r.id: r for r in rules}
            active = []
            for r in base:
                mine = by_id.pop(r.id, None)
                same = mine is not None and hs_source(mine) == hs_source(r)
                active.append(mine if same else None)
                if mine is not None and not same:
                    by_id[r.id] = mine
            extra = list(by_id.values())
        self.rules: list[Rule | None] = active + extra  # None: in the catalog database but not in use
        self.groups = [g for g in (RuleDatabase(base, 0, use_cache, markers) if base else None,
                                   RuleDatabase(extra, len(base), use_cache) if extra else None) if g]
        self.modes = [m for g in self.groups for m in g.modes]
        self.always = [i for i, m in enumerate(self.modes) if m == "always" and self.rules[i] is not None]
        self.masked = any(r is None for r in self.rules)  # identity test: Rule.__eq__ is costly
        self.markers = frozenset(m for g in self.groups for m in g.markers)

    def hits(self, data: bytes, markers: set[bytes] | None = None) -> dict[int, list[int]]:
        """Rule index -> end offsets of its prefilter matches; `markers` collects the markers seen."""
        found: dict[int, list[int]] = {i: [] for i in self.always} if self.always else {}
        if not data:
            return found
        # What the callback needs, in a list rather than a closure: most files have no hit, and a
        # closure (its cells and function object) cost more than the scan of a small file.
        ctx = [found, {}, data, markers, 0, 0, ()]
        for group in self.groups:
            if group.db is None:
                continue
            ctx[4], ctx[5], ctx[6] = group.offset, group.size, group.markers
            group.db.scan(data, _on_hit, 0, ctx, group.db.scratch)  # positional: keywords cost ~3k instructions
        if len(found) != len(self.always) and self.masked:
            return {i: ends for i, ends in found.items() if self.rules[i] is not None}
        return found


def _on_hit(rid: int, _start: int, end: int, _flags: int, ctx: list[Any]) -> None:
    """A prefilter match: record its end, at most one per line for each rule."""
    found, last, data, markers, offset, size, names = ctx
    if rid >= size:  # a marker (literal, one report per scan)
        if markers is not None:
            markers.add(names[rid - size])
        return
    rid += offset
    prev = last.get(rid)  # rule -> (last kept end, end of its line)
    if prev is not None and prev[0] <= end <= prev[1]:
        return  # same line as the last kept hit: that hit's window already covers it
    ends = found.get(rid)
    if ends is None:
        found[rid] = [end]
    else:
        ends.append(end)  # one per line at most; _windows decides what many hits mean
    nl = data.find(b"\n", end)
    last[rid] = (end, len(data) if nl < 0 else nl)
