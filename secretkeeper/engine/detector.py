"""The detection engine: every rule compiled once, one multi-pattern pass, then confirmation.

1. Prefilter: all rule regexes in one Hyperscan database (engine.hsprefilter, with expressions shaped
   by engine.hsexpr), so scanning cost does not grow with the rule count. Without Hyperscan, one
   combined regex of every rule's keywords does the same job, slower (engine.keywords).
2. Confirm: the rule's own Python regex runs only in line-aligned windows around the prefilter hits,
   and on a long hit line only where the rule's start index says a match can begin (engine.confirm).
3. Keep: secret group length, entropy floor, value filters, allowlists, validator, inline ignores; then
   overlaps resolved: a generic rule yields to a specific rule on the same secret (engine.policy).

Rules gated on a path (credential files recognised by name, engine.pathmatch) skip the prefilter and
run when the path matches (around their own `prefilter`'s `re` hits when they have one); rules gated on path contexts (filters.path_context: credential file, config,
example, source) are prefiltered as any rule and their matches kept only in those contexts; rules anchored `near` another rule run only around that rule's matches
(paired secrets); cells of secret-like table columns are scanned as `column = "value"`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from secretkeeper.engine.confirm import Confirmer, merge_windows
from secretkeeper.engine.hsdatabase import hyperscan
from secretkeeper.engine.hsexpr import edge_anchored
from secretkeeper.engine.hsprefilter import HyperscanPrefilter
from secretkeeper.engine.keywords import KeywordPrefilter
from secretkeeper.engine.match import Match
from secretkeeper.engine.newlines import NewlineIndex
from secretkeeper.engine.pathmatch import PathMatcher
from secretkeeper.engine.policy import MatchPolicy, fixture_lookalike, inline_allowed, resolve_overlaps
from secretkeeper.engine.regexfacts import literal_prefix
from secretkeeper.filters import CONFIG, EXAMPLE, is_weak, path_context
from secretkeeper.rules import Allowlist, Rule, confirmation_pattern, rxcache
from secretkeeper.tabular import TABLE_SUFFIXES, named_value, table_cells

# Byte strings other stages ask about ("does this file hold a Kubernetes object / a certificate?"),
# answered by the prefilter's pass over the data instead of one more `in` search each.
MARKERS = (b"apiVersion", b"-----BEGIN CERTIFICATE-----")


class Detector:
    """Scans byte buffers with a fixed rule set. Build once, reuse for every buffer (and pickle to workers)."""

    def __init__(self, rules: Sequence[Rule], *, backend: str = "auto", use_cache: bool = True,
                 allowlist: Allowlist | None = None, catalog: Sequence[Rule] | None = None) -> None:
        self.rules = list(rules)
        self.allowlist = allowlist or Allowlist()
        self.path_rules = [r for r in self.rules if r.path]
        self._paths = PathMatcher([r.path_pattern for r in self.path_rules], use_cache=use_cache)
        self.near_rules = [r for r in self.rules if r.near and not r.path]
        self._contextual = any(r.contexts or r.generic for r in self.rules)
        if catalog is not None:  # their compiled confirmation regexes come from the cache
            rxcache.register([r.regex for r in catalog], confirmation_pattern, use_cache)
        prefilterable = [r for r in self.rules if not r.path and not r.near]
        if backend == "auto":
            backend = "hyperscan" if hyperscan is not None else "re"
        if backend == "hyperscan" and hyperscan is None:
            raise RuntimeError("the hyperscan backend is not installed")
        self.backend = backend
        self.prefilter: HyperscanPrefilter | KeywordPrefilter
        if backend == "hyperscan":
            shipped = [r for r in catalog if not r.path and not r.near] if catalog is not None else None
            self.prefilter = HyperscanPrefilter(prefilterable, use_cache=use_cache, catalog=shipped,
                                                markers=MARKERS)
        else:
            self.prefilter = KeywordPrefilter(prefilterable)
        # Rules whose Hyperscan end offsets cover every real match end (exact mode) and whose matches
        # never span lines are confirmed on the hit lines only, however many there are.
        exact = {r.id for r, mode in zip(self.prefilter.rules, self.prefilter.modes)
                 if r is not None and mode == "exact"}
        self.confirmer = Confirmer(MatchPolicy(self.allowlist), exact, start_indexes=backend == "hyperscan",
                                   use_cache=use_cache)
        self._literals: dict[str, bytes] = {}  # path rules: the literal their matches start with
        self._unmarked = [m for m in MARKERS if m not in self.prefilter.markers]

    @cached_property
    def batchable(self) -> bool:
        """Whether buffers can be prefiltered joined (engine.batch) without losing a hit: no prefiltered
        rule may need a buffer's start or end. Worked out once, on first use, for this detector."""
        return not any(r is not None and edge_anchored(r.regex) for r in self.prefilter.rules)

    def path_rules_for(self, path: str) -> list[Rule]:
        """Credential-file rules that apply to `path` (also used to keep binary keystores in scope)."""
        if not self.path_rules:
            return []
        hits = self._paths.matching(path)
        return [self.path_rules[i] for i in hits] if hits else []

    def prefilter_hits(self, data: bytes, markers: set[bytes] | None = None) -> dict[int, list[int]]:
        """The prefilter's hits in `data` (rule index -> end offsets); `markers`, when given, receives the
        MARKERS that occur in it (those Hyperscan does not look for are searched for here)."""
        hits = self.prefilter.hits(data, markers)
        if markers is not None and self._unmarked:
            markers.update(m for m in self._unmarked if m in data)
        return hits

    def scan(self, data: bytes, path: str | None = None, *, resolve: bool = True,
             markers: set[bytes] | None = None, path_rules: Sequence[Rule] | None = None,
             tables: bool = True, any_context: bool = False) -> list[Match]:
        """All confirmed matches in `data` (scanned as if it lived at `path`), in offset order.

        `resolve=False` keeps overlapping matches of several rules (rule self-tests use it). `markers`,
        when given, receives the MARKERS that occur in `data`. `path_rules`, when given, is
        `path_rules_for(path)` from a caller that has also checked the allowlist for `path` (a file scan
        asks both before it reads the file). `any_context=True` keeps the matches of rules gated on path
        contexts whatever `path` is: for a caller that learns the paths later (git history blobs).
        """
        if not data:
            return []
        if path_rules is None:
            if self.allowlist.allows_path(path):
                return []
            path_rules = self.path_rules_for(path) if path is not None else ()
        found: list[Match] = []
        hits = self.prefilter_hits(data, markers)
        table = tables and path is not None and path.endswith(TABLE_SUFFIXES)  # CSV, SQL INSERTs
        if not hits and not path_rules and not table:
            return found  # most files: nothing to confirm, no line index to build
        newlines = NewlineIndex(data)
        confirm = self.confirmer.confirm
        context = None
        for idx, ends in hits.items():
            rule = self.prefilter.rules[idx]
            if rule.allowlist.allows_path(path):
                continue
            if rule.contexts and not any_context:
                # Not confirmed outside its contexts: a credential-file rule's prefilter fires in most files.
                if context is None:
                    context = path_context(path)
                if context not in rule.contexts:
                    continue
            found.extend(confirm(rule, data, ends, newlines))
        for rule in path_rules:
            if rule.allowlist.allows_path(path):
                continue
            if rule.contexts and not any_context:
                if context is None:
                    context = path_context(path)
                if context not in rule.contexts:
                    continue  # kept only in its contexts (_in_context): not confirmed outside them
            # A literal the rule (or its prefilter) starts with, looked for first: `bytes.find` passes over
            # a file without it several times faster than `re` does (CloudFormation rules read every YAML
            # and JSON file).
            literal = self._literals.get(rule.id)
            if literal is None:
                literal = self._literals[rule.id] = literal_prefix(rule.prefilter_pattern or rule.pattern)
            if literal and data.find(literal) < 0:
                continue
            if rule.prefilter is not None:
                # Its prefilter, searched with `re`: the rule is confirmed only around the hits (from as
                # many lines back as a match spans), not over the whole file (k8s-env-named-value reads
                # every YAML and JSON file; its regex starts at each `name`, its prefilter at `value:`).
                ends = [m.end() for m in rule.prefilter_pattern.finditer(data)]
                if ends:
                    found.extend(confirm(rule, data, ends, newlines))
                continue
            found.extend(confirm(rule, data, [], newlines))
        if table:
            found.extend(self._table_matches(data, path, newlines))
        if self.near_rules and found:
            found.extend(self._near(data, found, newlines, path))
        if found and self._contextual and not any_context:
            found = self._in_context(found, path, context, data)
        if found:
            found = [m for m in found if not (m.rule.generic and fixture_lookalike(m, data, path))]
        return resolve_overlaps(found) if resolve else found

    @staticmethod
    def _in_context(found: list[Match], path: str | None, context: str | None = None,
                    data: bytes = b"") -> list[Match]:
        """Matches of rules gated on path contexts dropped outside them, and weak values of generic rules
        in example files and in the comments of configuration (the context, when not given, is worked out
        only for a buffer with such a match)."""
        out = []
        for m in found:
            if m.rule.contexts or m.rule.generic:
                if context is None:
                    context = path_context(path)
                if m.rule.contexts and context not in m.rule.contexts:
                    continue
                if context == EXAMPLE and m.rule.generic and is_weak(m.secret):
                    continue  # `DB_PASSWORD=admin123` in .env.example: a stand-in, by the file's name
                if context == CONFIG and m.rule.generic and _commented(data, m.match_start) and is_weak(m.secret):
                    continue  # `# password: some_pass` in a chart's values.yaml: documentation of the key
            out.append(m)
        return out

    def _table_matches(self, data: bytes, path: str, newlines: NewlineIndex) -> list[Match]:
        """Secrets in the cells of secret-like columns (secretkeeper.tabular), each read as
        `column = "value"` by the same rules and reported where the value is in `data`."""
        out: list[Match] = []
        for name, value, offset in table_cells(data, path):
            named = named_value(name, value)
            if named is None:
                continue
            text, at = named
            for m in self.scan(text, path, path_rules=(), tables=False):
                if m.start < at:
                    continue
                start = offset + m.start - at
                if not inline_allowed(newlines, start, start + len(m.secret)):
                    out.append(Match(m.rule, start, start + len(m.secret), m.secret, newlines.line(start), start))
        return out

    def _near(self, data: bytes, found: list[Match], newlines: NewlineIndex, path: str | None) -> list[Match]:
        """Matches of paired-secret rules within their `near.lines` of an anchor rule's match."""
        out: list[Match] = []
        for rule in self.near_rules:
            anchors = [m for m in found if m.rule.id in rule.near.rules]
            if not anchors:
                continue
            if rule.allowlist.allows_path(path):
                continue
            spans = []
            for a in anchors:
                spans.append((newlines.line_start(a.line - rule.near.lines),
                              newlines.line_end(a.line + rule.near.lines)))
            out.extend(self.confirmer.confirm(rule, data, [], newlines, windows=merge_windows(spans)))
        return out


_COMMENT_STARTS = (b"#", b"//", b";", b"<!--")


def _commented(data: bytes, at: int) -> bool:
    """Whether the line holding offset `at` is a comment up to `at` (`# password: x`, `; pass = x`)."""
    lo = data.rfind(b"\n", 0, at) + 1
    return data[lo:at].lstrip().startswith(_COMMENT_STARTS)
