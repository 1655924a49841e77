"""Text report for people: findings grouped by file (or object / image), then one summary line.

Rendered through a rich Console writing to a string: colour only when asked (`color=True`), a fixed width
when not on a terminal, no markup or highlighting (paths are data, never interpreted as rich markup).
Only redacted previews and hashes reach this module; paths are cleaned of control characters and of
undecodable bytes so the output is always printable UTF-8.
"""

from __future__ import annotations

import io
import shutil
from collections import Counter
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from secretkeeper.findings import Finding, Severity

if TYPE_CHECKING:
    from secretkeeper.results import ScanResult

WIDTH = 120
HINT_CHARS = 100
SEVERITY_STYLE = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}
_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO)


def clean(value: object) -> str:
    """Printable, encodable text: undecodable bytes become U+FFFD, control characters become `?`."""
    text = str(value)
    if text.isascii() and text.isprintable():  # nearly every path, rule id and message: nothing to do
        return text
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() or ch == " " else "?" for ch in text)


def hint(remediation: str, limit: int = HINT_CHARS) -> str:
    """The first sentence of a remediation, cut to `limit` characters."""
    text = " ".join(remediation.split())
    if not text:
        return ""
    first = text.split(". ", 1)[0].rstrip(".")
    if len(first) > limit:
        first = first[: limit - 1].rstrip() + "…"
    return first


def group_key(finding: Finding) -> str:
    loc = finding.location
    if loc.source in ("image", "cluster") or not loc.path:
        where = loc.image or loc.object or loc.path or "<input>"
        if loc.image and loc.path:
            where = f"{loc.image}:{loc.path}"
        return where
    return loc.path


def human_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n} B"


def summary_line(result: ScanResult) -> str:
    st = result.stats
    counts = Counter(f.severity for f in result.findings)
    n = len(result.findings)
    scope = [f"{st.files} file{'s' if st.files != 1 else ''}"]
    if st.commits:
        scope.append(f"{st.commits} commits")
    if st.objects:
        scope.append(f"{st.objects} objects")
    if st.images:
        scope.append(f"{st.images} images")
    scope.append(human_bytes(st.bytes))
    scope.append(f"{st.duration:.2f} s")
    if n:
        by_sev = ", ".join(f"{counts[s]} {s.value}" for s in _ORDER if counts[s])
        head = f"{n} finding{'s' if n != 1 else ''} ({by_sev}) in {', '.join(scope)}"
    else:
        head = f"No leaks found in {', '.join(scope)}"
    parts = [head]
    if st.skipped.counts:
        parts.append("skipped: " + ", ".join(f"{c} {r}" for r, c in sorted(st.skipped.counts.items())))
    if st.suppressed:
        parts.append("suppressed: " + ", ".join(f"{c} {r}" for r, c in sorted(st.suppressed.items())))
    return "; ".join(parts)


Segment = tuple[str, str]  # text, rich style ("" for none)


def _finding_lines(f: Finding, color: bool) -> list[list[Segment]]:
    """A finding's lines, each a list of styled segments."""
    loc = f.location
    first: list[Segment] = [("  ", ""), (f"line {loc.line:<5}" if loc.line else "line -    ", ""), (" ", ""),
                            (f"{f.severity._value_:<8}", SEVERITY_STYLE[f.severity] if color else ""), (" ", ""),
                            (clean(f.rule_id), "bold" if color else ""), ("  ", ""), (clean(f.preview), "")]
    if f.kind != "leak":
        first.append((f"  [{clean(f.kind)}]", ""))
    if f.extra.get("weak"):  # a weak committed password is worse, not better
        first.append(("  [weak value: guessable as well as leaked]", "bold red" if color else ""))
    out = [first]
    pad = "      "
    if f.message:
        out.append([(pad + clean(f.message), "")])
    if loc.commit:
        who = clean(loc.author or "unknown")
        if loc.email:
            who += f" <{clean(loc.email)}>"
        out.append([(f"{pad}commit {clean(loc.commit[:10])} by {who}" + (f" on {clean(loc.date)}" if loc.date else ""),
                     "")])
    if loc.object and group_key(f) != loc.object:
        out.append([(f"{pad}object {clean(loc.object)}", "")])
    if loc.image and loc.digest:
        out.append([(f"{pad}image {clean(loc.image)} ({clean(loc.digest)})", "")])
    tip = hint(f.remediation)
    if tip:
        out.append([(f"{pad}fix: {clean(tip)}", "dim" if color else "")])
    return out


def _lines(result: ScanResult, color: bool, summary: bool) -> list[list[Segment]]:
    """Every line of the report, grouped by file (or object / image), then the summary line."""
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        groups.setdefault(group_key(f), []).append(f)
    lines: list[list[Segment]] = []
    for where, findings in groups.items():
        lines.append([(clean(where), "bold underline" if color else "")])
        for f in findings:
            lines.extend(_finding_lines(f, color))
        if summary:
            lines.append([])
    if summary:
        style = "bold red" if result.findings and color else ("bold green" if color else "")
        lines.append([(summary_line(result), style)])
    return lines


def render(result: ScanResult, *, color: bool = False, summary: bool = True) -> str:
    """The report; `summary=False` (`scan --quiet`) prints the findings only.

    Without colour the lines are the text itself (what rich writes for them: no markup, no wrapping);
    with colour, rich renders the styles, one `print` a group of lines (a `print` per line cost ~0.2 ms,
    minutes for a cluster's worth of hygiene findings)."""
    lines = _lines(result, color, summary)
    if not color:
        return "".join(f"{''.join(text for text, _style in line)}\n" for line in lines)
    buf = io.StringIO()
    width = shutil.get_terminal_size((WIDTH, 24)).columns
    console = Console(file=buf, force_terminal=True, no_color=False, color_system="auto",
                      width=width, highlight=False, markup=False, emoji=False, soft_wrap=True)
    for i in range(0, len(lines), 512):
        console.print(Text("\n").join(Text.assemble(*line) for line in lines[i:i + 512]))
    return buf.getvalue()
