"""The Markdown summary, the workflow-command annotations and the emitter registry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from emit_helpers import REPO, anchor, corpus_ctx, corpus_verdict, ctx, golden, misconfig, verdict, vuln  # type: ignore[import-not-found]

from gate.emit import annotations as annotations_emitter
from gate.emit import summary
from gate.emit.formats import EMITTERS, emitter
from gate.model import ExpiredIgnore, Report, Severity, Skipped, Suppression


def test_summary_puts_the_verdict_first_then_counts_blocking_and_suppressions() -> None:
    v = verdict(
        [vuln("CVE-2024-0002", severity=Severity.LOW)],
        blocking=[vuln(severity=Severity.CRITICAL, title="a | pipe")],
        suppressed=[(misconfig(), Suppression("ignore", "base image is patched upstream", "2030-01-01"))],
        expired_ignores=(ExpiredIgnore("CVE-2020-1", "2023-01-01", ".trivyignore", "old"),),
        reports=(Report("trivy", "r.json", skipped=(Skipped("r.json", "Results[3]: malformed entry"),)),),
    )
    text = summary.render(v, ctx())
    assert text.startswith("## ❌ container-gate: blocked by 1 finding (fail on HIGH)")
    assert "| trivy | 1 | 0 | 0 | 1 | 0 | 1 |" in text
    assert (
        "| CRITICAL | [CVE-2024-0001](https://nvd.nist.gov/vuln/detail/CVE-2024-0001) | openssl 1.0 → 1.1 |" not in text
    )
    assert (
        "| CRITICAL | CVE-2024-0001 | openssl 1.0 → 1.1 | registry.example/app:1.2 (debian 12.5) | a \\| pipe |" in text
    )
    assert "| HIGH | DS002 | `Dockerfile:3` | ignore | base image is patched upstream | 2030-01-01 |" in text
    assert "`CVE-2020-1` expired 2023-01-01 (.trivyignore): old" in text
    assert "r.json: Results\\[3\\]: malformed entry" in text  # brackets escaped: never a link


def test_summary_pass_headline_and_anchor_location() -> None:
    v = verdict([vuln(severity=Severity.MEDIUM)])
    text = summary.render(v, ctx(anchors=(anchor(),)))
    assert text.startswith("## ✅ container-gate: passed (fail on HIGH; 1 active findings, none blocking)")
    blocked = summary.render(verdict(blocking=[vuln()]), ctx(anchors=(anchor(),)))
    assert "`Dockerfile:7`" in blocked


def test_summary_tables_are_capped_and_the_whole_stays_under_one_mib(monkeypatch: pytest.MonkeyPatch) -> None:
    many = [vuln(f"CVE-2024-{i:05d}", title="x" * 100) for i in range(120)]
    text = summary.render(verdict(blocking=many), ctx())
    assert text.count("| HIGH | CVE-2024-") == summary.ROW_LIMIT
    assert "… and 70 more" in text
    huge = [(misconfig(f"R{i}"), Suppression("ignore", "y" * 190)) for i in range(3000)]
    monkeypatch.setattr(summary, "ROW_LIMIT", 100_000)
    monkeypatch.setattr(summary, "MAX_BYTES", 200_000)
    capped = summary.render(verdict(suppressed=huge), ctx())
    assert len(capped.encode()) <= 200_000
    assert "… and " in capped


def test_a_pass_lists_what_remains_folded_most_severe_first_and_escaped() -> None:
    remaining = [
        vuln("CVE-2024-0003", severity=Severity.LOW, title="low one"),
        misconfig("DS026", severity=Severity.MEDIUM, title="<img src=x onerror=alert(1)> | pipe"),
        vuln("CVE-2024-0004", severity=Severity.UNKNOWN, title="unknown one"),
    ]
    muted = [(misconfig("MUTED", severity=Severity.CRITICAL), Suppression("ignore", "waived"))]
    text = summary.render(verdict(remaining, suppressed=muted), ctx())
    section = text.split("### Active, not blocking (3)\n", 1)[1].split("</details>", 1)[0]
    assert section.startswith("\n<details><summary>3 findings that do not block (fail on HIGH), most severe first")
    rows = [line for line in section.splitlines() if line.startswith("| ") and "Severity" not in line]
    assert [r.split(" | ")[1] for r in rows] == ["DS026", "CVE-2024-0003", "CVE-2024-0004"]
    assert "&lt;img src=x onerror=alert(1)&gt; \\| pipe" in rows[0]
    assert "<img" not in text and "MUTED" not in section
    # a blocked run keeps its blocking table and does not repeat the rest
    blocked = summary.render(verdict(remaining, blocking=[vuln()]), ctx())
    assert "### Blocking (1)" in blocked and "Active, not blocking" not in blocked and "<details>" not in blocked


def test_the_remaining_table_is_capped_like_the_blocking_one() -> None:
    many = [vuln(f"CVE-2024-{i:05d}", severity=Severity.MEDIUM) for i in range(120)]
    text = summary.render(verdict(many), ctx())
    folded = text.split("<details>", 1)[1].split("</details>", 1)[0]
    assert folded.count("| MEDIUM | CVE-2024-") == summary.ROW_LIMIT
    assert "… and 70 more" in folded
    assert "### Active, not blocking (120)" in text
    assert "Active, not blocking" not in summary.render(verdict(), ctx())


@pytest.mark.corpus
def test_summary_golden_of_a_pass(corpus: Path) -> None:
    import datetime as dt

    from gate.decide.verdict import Policy, evaluate
    from gate.ingest import load_report

    relative = "trivy/trivy-golden_debian-buster.json"
    report = load_report(corpus / relative, origin=relative)
    v = evaluate([report], Policy(fail_on=None), today=dt.date(2024, 5, 6))
    assert v.passed
    golden("summary/trivy-golden_debian-buster-pass.md", summary.render(v, corpus_ctx(corpus)))


@pytest.mark.corpus
def test_summary_golden(corpus: Path) -> None:
    v = corpus_verdict(corpus, "trivy/trivy-golden_debian-buster.json")
    golden("summary/trivy-golden_debian-buster.md", summary.render(v, corpus_ctx(corpus)))


def test_annotation_escaping_follows_the_runner_rules() -> None:
    assert annotations_emitter.escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert annotations_emitter.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_annotations_are_capped_per_level_most_severe_first_and_never_inject_commands() -> None:
    blocking = [vuln(f"CVE-2024-{i:04d}", severity=Severity.CRITICAL if i == 14 else Severity.HIGH) for i in range(15)]
    warn = [misconfig(f"W{i}", severity=Severity.MEDIUM, title="line\n::error::injected") for i in range(12)]
    notes = [misconfig(f"N{i}", severity=Severity.LOW, path="/repo/a,b:c.yaml") for i in range(3)]
    muted = [(misconfig("MUTED"), Suppression("ignore", "x"))]
    lines = annotations_emitter.render(verdict(warn + notes, blocking=blocking, suppressed=muted), ctx()).splitlines()
    levels = [line.split(" ", 1)[0] for line in lines]
    assert levels.count("::error") == 10 and levels.count("::warning") == 10 and levels.count("::notice") == 3
    assert "CVE-2024-0014" in lines[0]
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in lines)
    assert "line%0A::error::injected" in lines[10]
    assert "file=a%2Cb%3Ac.yaml,line=3,endLine=3" in lines[-1]
    assert not any("MUTED" in line for line in lines)


def test_registry_resolves_every_emitter_and_names_match() -> None:
    for name in EMITTERS:
        if name == "json" and not (REPO / "gate" / "emit" / "json.py").exists():
            continue
        found = emitter(name)
        assert found.name == name
        assert isinstance(found.render(verdict([vuln(), misconfig()]), ctx()), str)


def test_registry_import_is_lazy() -> None:
    code = "import sys, gate.emit.formats; print(sorted(m for m in sys.modules if m.startswith('gate.emit.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO).stdout
    assert out.strip() == "['gate.emit.base', 'gate.emit.formats']"


def test_summary_renders_hostile_report_text_inert() -> None:
    import dataclasses

    hostile = vuln(
        "CVE-2024-0009",
        severity=Severity.CRITICAL,
        title="![x](https://track.example/p.png) <img src=https://track.example/q> ping @org/security see #123",
        package="evil`pkg|",
        target="img:1 [click](https://phish.example)",
    )
    hostile = dataclasses.replace(hostile, help_uri="https://phish.example/advisory")
    v = dataclasses.replace(
        verdict([], blocking=[hostile]),
        notes=("Rego package(s) <script>x</script> @org/team were not evaluated",),
    )
    text = summary.render(v, ctx())
    assert "](https://" not in text  # no link at all: the help link's host is not an advisory database
    assert "<img" not in text and "<script>" not in text and "![" not in text
    assert "@org/security" not in text and "#123" not in text and "@org/team" not in text
    assert "@\u200borg/security" in text and "#\u200b123" in text  # still readable
    linked = dataclasses.replace(hostile, help_uri="https://avd.aquasec.com/nvd/cve-2024-0009")
    assert "[CVE-2024-0009](https://avd.aquasec.com/nvd/cve-2024-0009)" in summary.render(
        verdict([], blocking=[linked]), ctx()
    )
