"""Text report: grouping, per-finding details, summary line, colour only when asked."""

from __future__ import annotations

from secretkeeper.findings import Finding, Location, Severity, fingerprint
from secretkeeper.report import render
from secretkeeper.report.text import clean, hint, summary_line
from secretkeeper.results import ScanResult, ScanStats


def finding(rule="github-pat-classic", severity=Severity.HIGH, kind="leak", **loc) -> Finding:
    loc.setdefault("source", "file")
    location = Location(**loc)
    return Finding(
        rule_id=rule, kind=kind, severity=severity, location=location, secret_sha256="ab" * 32,
        preview="ghp_…", fingerprint=fingerprint(rule, location.path or location.object, "ab" * 32),
        message="GitHub personal access token (classic)",
        remediation="Revoke the token in GitHub settings. Then issue a new one and store it in a vault.",
    )


def result(findings, **stats) -> ScanResult:
    st = ScanStats(**{k: v for k, v in stats.items() if k not in ("skipped", "suppressed")})
    for reason, n in stats.get("skipped", {}).items():
        for i in range(n):
            st.skipped.add(reason, f"{reason}-{i}")
    st.suppressed.update(stats.get("suppressed", {}))
    return ScanResult(list(findings), st, ["."])


def test_clean_message():
    out = render(result([], files=12, bytes=3 * 1024 * 1024, duration=0.5), "text")
    assert out.strip() == "No leaks found in 12 files, 3.0 MB, 0.50 s"


def test_grouped_by_file_with_details():
    out = render(result([
        finding(path="a/config.env", line=3),
        finding(path="a/config.env", line=9, severity=Severity.CRITICAL, rule="private-key"),
        finding(path="b.py", line=1, severity=Severity.MEDIUM),
    ], files=2, bytes=2048, duration=0.1), "text")
    lines = out.splitlines()
    assert lines[0] == "a/config.env"
    assert lines.count("a/config.env") == 1
    assert "b.py" in lines
    first = lines[1]
    assert "line 3" in first and "high" in first and "github-pat-classic" in first and "ghp_…" in first
    assert "      fix: Revoke the token in GitHub settings" in out
    assert "Then issue" not in out  # only the first sentence
    assert lines[-1] == "3 findings (1 critical, 1 high, 1 medium) in 2 files, 2.0 KB, 0.10 s"


def test_summary_skips_and_suppressed():
    r = result([finding(path="x", line=1)], files=5, bytes=10, duration=1.0,
               skipped={"binary": 3, "too-large": 1}, suppressed={"baseline": 2})
    assert summary_line(r) == ("1 finding (1 high) in 5 files, 10 B, 1.00 s; skipped: 3 binary, 1 too-large; "
                               "suppressed: 2 baseline")


def test_history_finding_shows_commit_author_date():
    out = render(result([finding(source="git", path="app.env", line=2, commit="0123456789abcdef0123",
                                 author="Dev One", email="dev@example.test", date="2026-01-02T03:04:05Z")],
                        commits=7), "text")
    assert "commit 0123456789 by Dev One <dev@example.test> on 2026-01-02T03:04:05Z" in out
    assert "7 commits" in out


def test_cluster_object_grouped_by_object():
    ref = "Deployment/prod/api/container/app/env DB_PASSWORD"
    out = render(result([finding(source="cluster", object=ref, kind="hygiene",
                                 rule="k8s-env-secret-literal")], objects=4), "text")
    assert out.splitlines()[0] == ref
    assert "[hygiene]" in out and "line -" in out
    assert "4 objects" in out


def test_manifest_finding_shows_object_under_its_file():
    out = render(result([finding(source="manifest", path="k8s/deploy.yaml", line=12,
                                 object="Deployment/default/web")]), "text")
    assert out.splitlines()[0] == "k8s/deploy.yaml"
    assert "object Deployment/default/web" in out


def test_image_finding():
    out = render(result([finding(source="image", path="/app/.env", line=1, image="registry.test/app:1",
                                 digest="sha256:" + "c" * 64)]), "text")
    assert out.splitlines()[0] == "registry.test/app:1:/app/.env"
    assert "sha256:" + "c" * 64 in out


def test_no_ansi_without_color_and_ansi_with_color():
    r = result([finding(path="a.txt", line=1)])
    plain = render(r, "text", color=False)
    assert "\x1b[" not in plain
    colored = render(r, "text", color=True)
    assert "\x1b[" in colored
    assert "github-pat-classic" in colored


def test_paths_are_not_markup_or_control_sequences():
    out = render(result([finding(path="dir/[bold]x[/bold]\x1b[31m.txt", line=1)]), "text", color=True)
    assert "[bold]x[/bold]" in out
    assert "\x1b[31m" not in out
    assert clean("a\x07b\udcffc") == "a?b\ufffdc"


def test_long_lines_are_not_wrapped():
    path = "very/" * 40 + "deep.txt"
    out = render(result([finding(path=path, line=1)]), "text")
    assert path in out.splitlines()


def test_hint():
    assert hint("") == ""
    assert hint("Rotate it. Then more.") == "Rotate it"
    long = hint("x" * 300)
    assert len(long) == 100 and long.endswith("…")


def test_plain_text_is_what_rich_writes_and_colour_keeps_the_text():
    """Without colour the report is written directly (rich cost ~0.2 ms a line); it is byte for byte what
    rich printed line by line, for odd, wide and long paths; with colour the visible text is the same."""
    import io
    import re

    from rich.console import Console
    from rich.text import Text

    from secretkeeper.report import text as report_text

    r = result([finding(path="dir/é \"q\"\t\x1b[31m.txt", line=3), finding(path="日本語/ファイル.py", line=1),
                finding(source="git", path="app.env", line=2, commit="0123456789abcdef0123", author="Zoë",
                        email="z@example.test", date="2024-01-01"),
                finding(source="cluster", object="Pod/ns/p", kind="hygiene", severity=Severity.LOW),
                finding(path="x" * 300, line=9)], files=3, bytes=99, duration=0.1)
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, no_color=True, color_system=None, width=report_text.WIDTH,
                      highlight=False, markup=False, emoji=False, soft_wrap=True)
    for line in report_text._lines(r, False, True):
        console.print(Text.assemble(*line) if line else Text(""))
    assert render(r, "text") == buf.getvalue()
    colored = render(r, "text", color=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == buf.getvalue()
