"""The prefilter without Hyperscan: one combined, case-insensitive regex of every rule's keywords."""

from __future__ import annotations

import re
from collections.abc import Sequence

from secretkeeper.rules import Rule


class KeywordPrefilter:
    """Fallback without Hyperscan: one combined, case-insensitive regex of every rule's keywords."""

    markers: frozenset[bytes] = frozenset()  # found by none: the detector searches for them itself

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = rules
        self.by_keyword: dict[bytes, list[int]] = {}
        self.always: list[int] = []
        for i, rule in enumerate(rules):
            if not rule.keywords:
                self.always.append(i)
            for kw in rule.keywords:
                self.by_keyword.setdefault(kw.lower().encode("utf-8"), []).append(i)
        # Matches don't overlap, so a hit on "password" hides "pass" inside it: a keyword also stands
        # for every keyword it contains.
        direct = {k: list(v) for k, v in self.by_keyword.items()}
        for kw in self.by_keyword:
            self.by_keyword[kw] = sorted({i for other, ids in direct.items() if other in kw for i in ids})
        alternation = b"|".join(re.escape(k) for k in sorted(self.by_keyword, key=len, reverse=True))
        # A lookahead, so a match starting inside another is found too (`-us` would hide `userflow` in
        # `X-Userflow-Key`); a shorter keyword at the same start is covered by the containment above.
        self.combined = re.compile(b"(?=(" + alternation + b"))", re.I) if alternation else None
        self.modes = ["keywords" if r.keywords else "always" for r in rules]

    def hits(self, data: bytes, markers: set[bytes] | None = None) -> dict[int, list[int]]:
        """Rule index -> [] for every rule whose keyword occurs (or that has none)."""
        found: dict[int, list[int]] = {i: [] for i in self.always}
        if self.combined is None:
            return found
        for kw in {m.group(1).lower() for m in self.combined.finditer(data)}:
            for i in self.by_keyword.get(kw, ()):
                found[i] = []  # keywords give no position: confirm over the whole buffer
        return found
