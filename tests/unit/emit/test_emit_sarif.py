"""SARIF output: schema-valid, within GitHub code scanning's rules and limits, stable and honest."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from emit_helpers import (  # type: ignore[import-not-found]
    anchor,
    check_github_rules,
    corpus_ctx,
    corpus_verdict,
    ctx,
    golden,
    misconfig,
    validate_sarif,
    verdict,
    vuln,
)

from gate import speed
from gate.emit import placement, sarif, summary
from gate.model import Kind, Location, Severity, Suppression

CORPUS_REPORTS = [
    "trivy/trivy-golden_alpine-310.json",
    "trivy/trivy-golden_centos-7.json",
    "trivy/trivy-golden_debian-buster.json",
    "trivy/trivy-golden_ubuntu-1804.json",
    "trivy/trivy-golden_dockerfile-misconfig.json",
    "trivy/trivy-golden_secrets.json",
    "trivy/trivy-golden_npm.json",
    "trivy/trivy-golden_pip.json",
    "trivy/trivy-golden_test-repo.json",
    "trivy/trivy-golden_license-cyclonedx.json",
    "trivy/trivy-action_config-scan.json",
    "trivy/trivy-action_image-alpine310.json",
    "trivy/trivy-action_secret-scan.json",
    "trivy/trivy-action_tfvars-no-findings.json",
    "trivy/defectdojo_trivy_scheme_2_many_vulns.json",
    "grype/grype-golden_json-image.json",
    "grype/grype-golden_json-directory.json",
    "grype/grype-golden_json-empty.json",
    "grype/defectdojo_grype_many_vulns4.json",
    "grype/defectdojo_grype_fix_available.json",
    "grype/grype-explain-testdata_chainguard-ruby.json",
    "grype/grype-explain-testdata_ghsa.json",
    "hadolint/defectdojo_hadolint_one_dockerfile.json",
    "conftest/outputs/conftest-docs_output-json_kubernetes-service.json",
    "conftest/defectdojo/conftest_one_vuln.json",
    "sarif/trivy-action_config-sarif-report.sarif",
    "sarif/grype-golden_sarif-image.sarif",
    "sarif/conftest-docs_output-sarif_kubernetes-service.sarif",
]
GOLDEN_REPORTS = [
    "trivy/trivy-golden_alpine-310.json",
    "trivy/trivy-golden_dockerfile-misconfig.json",
    "grype/grype-golden_json-image.json",
    "hadolint/defectdojo_hadolint_one_dockerfile.json",
    "conftest/outputs/conftest-docs_output-json_kubernetes-service.json",
]


@pytest.mark.corpus
@pytest.mark.parametrize("relative", CORPUS_REPORTS)
def test_corpus_reports_give_schema_valid_sarif_code_scanning_accepts(corpus: Path, relative: str) -> None:
    v = corpus_verdict(corpus, relative)
    doc = json.loads(sarif.render(v, corpus_ctx(corpus)))
    validate_sarif(corpus, doc)
    check_github_rules(doc)
    results = [r for run in doc["runs"] for r in run["results"]]
    assert len(results) == len(v.decisions)
    assert {r["partialFingerprints"]["containerGate/v1"] for r in results} == {
        d.finding.fingerprint for d in v.decisions
    }


@pytest.mark.corpus
@pytest.mark.parametrize("relative", GOLDEN_REPORTS)
def test_corpus_golden(corpus: Path, relative: str) -> None:
    v = corpus_verdict(corpus, relative)
    text = json.dumps(json.loads(sarif.render(v, corpus_ctx(corpus))), indent=2, ensure_ascii=False) + "\n"
    golden(f"sarif/{Path(relative).stem}.sarif", text)


@pytest.mark.corpus
def test_trivy_alpine_matches_trivys_own_rules_and_scores(corpus: Path) -> None:
    trivy_doc = json.loads((corpus / "sarif/trivy-golden_alpine-310.sarif").read_text())
    ours = json.loads(sarif.render(corpus_verdict(corpus, "trivy/trivy-golden_alpine-310.json"), corpus_ctx(corpus)))
    theirs = {r["id"]: r["properties"]["security-severity"] for r in trivy_doc["runs"][0]["tool"]["driver"]["rules"]}
    mine = {r["id"]: r["properties"]["security-severity"] for r in ours["runs"][0]["tool"]["driver"]["rules"]}
    assert mine == theirs
    assert (
        ours["runs"][0]["automationDetails"]["id"] == "container-gate/trivy/testdata/fixtures/images/alpine-310.tar.gz/"
    )


def test_one_run_per_tool_and_image_with_stable_categories_free_of_tags_and_digests() -> None:
    v = verdict(
        [
            vuln(target="registry.example/app:1.2 (debian 12.5)"),
            vuln("CVE-2024-0002", target="registry.example/app@sha256:" + "a" * 64, tool="grype"),
            vuln("CVE-2024-0003", target="docker.io/library/alpine:3.19"),
            misconfig(),
        ]
    )
    doc = json.loads(sarif.render(v, ctx()))
    categories = sorted(run["automationDetails"]["id"] for run in doc["runs"])
    assert categories == [
        "container-gate/grype/registry.example/app/",
        "container-gate/trivy/alpine/",
        "container-gate/trivy/misconfiguration/",
        "container-gate/trivy/registry.example/app/",
    ]
    retagged = verdict(
        [vuln(target="registry.example/app:9.9"), vuln("CVE-2024-0003", target="alpine@sha256:" + "b" * 64)]
    )
    again = sorted(run["automationDetails"]["id"] for run in json.loads(sarif.render(retagged, ctx()))["runs"])
    assert again == ["container-gate/trivy/alpine/", "container-gate/trivy/registry.example/app/"]


def test_category_prefix_is_used_and_sanitised() -> None:
    doc = json.loads(sarif.render(verdict([vuln(target="localhost:5000/team app:1")]), ctx(category_prefix="ci/job 1")))
    assert doc["runs"][0]["automationDetails"]["id"] == "ci/job-1/trivy/localhost-5000/team-app/"


def test_image_vulnerabilities_sit_on_the_dockerfile_from_line_when_anchored() -> None:
    v = verdict([vuln(), vuln("CVE-2024-0009", target="other/image:1")])
    doc = json.loads(sarif.render(v, ctx(anchors=(anchor(path="/repo/build/Dockerfile", line=7),))))
    locations = {r["ruleId"]: r["locations"][0]["physicalLocation"] for run in doc["runs"] for r in run["results"]}
    assert locations["CVE-2024-0001"] == {
        "artifactLocation": {"uri": "build/Dockerfile"},
        "region": {"startLine": 7, "startColumn": 1, "endLine": 7},
    }
    assert locations["CVE-2024-0009"] == {
        "artifactLocation": {"uri": "other/image"},
        "region": {"startLine": 1, "startColumn": 1, "endLine": 1},
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/repo/src/Dockerfile", "src/Dockerfile"),
        ("./k8s/deploy.yaml", "k8s/deploy.yaml"),
        ("/elsewhere/etc/passwd", "elsewhere/etc/passwd"),
        ("https://example.com/x.yaml", "example.com/x.yaml"),
        ("C:\\work\\Dockerfile", "work/Dockerfile"),
        ("../../outside", "outside"),
        ("dir with space/Dockerfile", "dir%20with%20space/Dockerfile"),
    ],
)
def test_locations_are_repo_relative_never_absolute_or_urls(path: str, expected: str) -> None:
    doc = json.loads(sarif.render(verdict([misconfig(path=path)]), ctx()))
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == expected


def test_rules_are_deduplicated_and_carry_help_severity_and_tags() -> None:
    v = verdict(
        [
            vuln(cvss=9.8, severity=Severity.CRITICAL, description="Long story."),
            vuln(package="libssl3", cvss=9.8, severity=Severity.CRITICAL),
            vuln("CVE-2024-0002", severity=Severity.UNKNOWN, fixed=None),
            vuln("CVE-2024-0003", severity=Severity.MEDIUM),
        ]
    )
    run = json.loads(sarif.render(v, ctx()))["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert len(rules) == 3 and len(run["results"]) == 4
    assert rules["CVE-2024-0001"]["properties"]["security-severity"] == "9.8"
    assert rules["CVE-2024-0002"]["properties"]["security-severity"] == "0.1"
    assert rules["CVE-2024-0003"]["properties"]["security-severity"] == "5.5"
    assert "openssl 1.0 → 1.1" in rules["CVE-2024-0001"]["help"]["text"]
    assert "| CRITICAL | openssl | 1.0 | 1.1 |" in rules["CVE-2024-0001"]["help"]["markdown"]
    assert "no fix yet" in rules["CVE-2024-0002"]["help"]["markdown"]
    assert "https://nvd.nist.gov/vuln/detail/CVE-2024-0001" in rules["CVE-2024-0001"]["help"]["text"]
    assert rules["CVE-2024-0001"]["properties"]["tags"] == ["security", "vulnerability", "CRITICAL", "os-pkgs"]
    assert [r["level"] for r in run["results"]] == ["error", "error", "warning", "note"]


def test_suppressed_findings_carry_sarif_suppressions() -> None:
    v = verdict(suppressed=[(vuln(), Suppression("ignore", "accepted until the base image moves", "2030-01-01"))])
    result = json.loads(sarif.render(v, ctx()))["runs"][0]["results"][0]
    assert result["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "accepted until the base image moves (until 2030-01-01)",
        }
    ]


def test_results_cut_to_the_limit_keep_the_most_severe_and_the_summary_says_so() -> None:
    severities = [Severity.LOW, Severity.CRITICAL, Severity.MEDIUM, Severity.HIGH, Severity.LOW]
    v = verdict([vuln(f"CVE-2024-{i:04d}", severity=s) for i, s in enumerate(severities)])
    plan = sarif.plan_sarif(v, ctx(), max_results=2)
    kept = [p.finding.severity for p in plan.runs[0].results]
    assert kept == [Severity.CRITICAL, Severity.HIGH]
    assert plan.dropped_results == 3
    assert "3 of 5 results left out" in plan.omissions()[0]


def test_more_than_twenty_runs_drop_the_least_severe_runs() -> None:
    findings = [vuln(target=f"img{i}:1", severity=Severity.LOW) for i in range(22)]
    findings[21] = vuln(target="img21:1", severity=Severity.CRITICAL)
    v = verdict(findings)
    doc = json.loads(sarif.render(v, ctx()))
    check_github_rules(doc)
    categories = {run["automationDetails"]["id"] for run in doc["runs"]}
    assert len(categories) == 20
    assert "container-gate/trivy/img21/" in categories
    plan = sarif.build(v, ctx())[1]
    assert len(plan.dropped_runs) == 2 and plan.dropped_results == 2
    assert "Left out of the SARIF file" not in summary.render(v, ctx())  # the summary builds no SARIF itself
    # the outputs stage builds the SARIF once and tells the other formats what it left out
    import datetime as dt
    from pathlib import Path

    from gate.config import GateConfig
    from gate.outputs import emit_context

    now = dt.datetime(2024, 5, 6, tzinfo=dt.UTC)
    staged = emit_context(GateConfig(), {}, now, verdict=v, wanted=[("sarif", Path("r.sarif"))])
    assert staged.omitted == plan.omissions() and len(staged.omitted) == 2
    assert "Left out of the SARIF file" in summary.render(v, staged)
    assert emit_context(GateConfig(), {}, now, verdict=v, wanted=[("summary", Path("s.md"))]).omitted == ()


def test_oversized_sarif_is_shrunk_below_the_gzip_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    rng = random.Random(7)
    noise = [" ".join(f"{rng.getrandbits(64):x}" for _ in range(40)) for _ in range(400)]
    v = verdict(
        [
            vuln(f"CVE-2024-{i:05d}", description=noise[i], severity=Severity.CRITICAL if i < 5 else Severity.LOW)
            for i in range(400)
        ]
    )
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", 60_000)
    text, plan = sarif.build(v, ctx())
    assert len(gzip.compress(text.encode())) <= 60_000
    assert plan.dropped_results > 0
    kept = json.loads(text)["runs"][0]["results"]
    assert {r["ruleId"] for r in kept} >= {f"CVE-2024-{i:05d}" for i in range(5)}


def test_empty_report_gives_an_empty_run_that_closes_old_alerts() -> None:
    from gate.model import Report

    v = verdict(reports=[Report("trivy", "r.json", artifact="registry.example/app:2")])
    doc = json.loads(sarif.render(v, ctx()))
    assert [(r["automationDetails"]["id"], r["results"]) for r in doc["runs"]] == [
        ("container-gate/trivy/registry.example/app/", [])
    ]


def test_lock_file_vulnerabilities_sit_on_the_lock_file_in_one_dependencies_run() -> None:
    from dataclasses import replace

    findings = [
        replace(vuln(f"CVE-2024-000{i}"), target=p, location=Location(p, None, None))
        for i, p in enumerate(["a/yarn.lock", "b/go.sum"])
    ]
    doc = json.loads(sarif.render(verdict(findings), ctx()))
    assert [r["automationDetails"]["id"] for r in doc["runs"]] == ["container-gate/trivy/dependencies/"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in doc["runs"][0]["results"])
    assert uris == ["a/yarn.lock", "b/go.sum"]


def test_findings_of_every_kind_validate(corpus: Path) -> None:
    kinds = [misconfig(f"R{k.value}", kind=k) for k in Kind]
    doc = json.loads(sarif.render(verdict(kinds, blocking=[vuln()]), ctx()))
    validate_sarif(corpus, doc)
    check_github_rules(doc)


def test_gzipped_size_is_exact_near_the_limit_and_never_under_it_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    rng = random.Random(11)
    words = [f"{rng.getrandbits(32):x}" for _ in range(3_000)]
    data = " ".join(rng.choice(words) for _ in range(1_200_000)).encode()
    exact = len(gzip.compress(data, 1))
    assert len(data) >= speed.threaded_gzip_from()
    monkeypatch.setattr(sarif, "_PREFIX_SHARE", 0.0)  # the two halves (a prefix bound: the test below)
    # Far below the limit: the two-halves estimate, which is never smaller than the exact size by more
    # than the margin and close to it.
    estimate = sarif.gzipped_size(data)
    assert exact * 0.999 <= estimate <= exact * 1.01
    # Within the margin of the limit: the whole document is compressed, the exact size decides.
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", exact + 10)
    assert sarif.gzipped_size(data) == exact
    # Small documents are always measured exactly.
    assert sarif.gzipped_size(data[:100_000]) == len(gzip.compress(data[:100_000], 1))


@pytest.mark.parametrize("tail", ["words", "random"])
def test_gzipped_size_from_a_prefix_is_an_upper_bound_within_the_limit(
    monkeypatch: pytest.MonkeyPatch, tail: str
) -> None:
    import random

    rng = random.Random(5)
    words = [f"{rng.getrandbits(32):x}" for _ in range(3_000)]
    text = " ".join(rng.choice(words) for _ in range(700_000)).encode()
    data = text + (text[:3_000_000] if tail == "words" else rng.randbytes(3_000_000))
    exact = len(gzip.compress(data, 1))
    # A limit just below the raw size: a compressed prefix plus the raw rest fits, long before the end.
    limit = int(len(data) * 0.9)
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", limit)
    bound = sarif._prefix_bound(data)
    assert bound is not None and exact < bound <= limit * sarif._HALVES_MARGIN
    assert sarif.gzipped_size(data) == bound
    # A limit the bound cannot reach within its share of the data: no bound, the exact size decides.
    monkeypatch.setattr(sarif, "MAX_GZIP_BYTES", exact + 10)
    assert sarif._prefix_bound(data) is None
    assert sarif.gzipped_size(data) == exact


@pytest.mark.parametrize("odd_id", ["CVE-2024-1", "CVE-2024-1\x00b", "CVE-2024-1é"])
def test_results_are_ordered_by_severity_state_id_and_fingerprint(odd_id: str) -> None:
    # `placed_decisions` sorts on one string per decision; the order must be the tuple order of `_order`,
    # with ids that are prefixes of others, non-ASCII ids, and (through the fallback) an id with a NUL.
    ids = ["CVE-2024-1", "CVE-2024-10", "CVE-2024-1-", "CVE-2024-2", odd_id, "A", ""]
    plain = [vuln(i or "X", severity=s, package=p) for i in ids for s in Severity for p in ("a", "b")]
    waived = Suppression(by="ignore", reason="ok")
    v = verdict(
        plain[::3],
        blocking=plain[1::3],
        suppressed=[(f, waived) for f in plain[2::3]],
    )
    placed = placement.placed_decisions(v, ctx())
    assert [placement._order(p) for p in placed] == sorted(placement._order(p) for p in placed)
    assert {p.finding.id for p in placed} >= {odd_id, "CVE-2024-10", "CVE-2024-1-"}


def test_rule_help_lists_the_first_ten_distinct_web_references_help_uri_first() -> None:
    from dataclasses import replace

    refs = ("ftp://mirror.example/x", *(f"https://ref.example/{i % 12}" for i in range(40)), "http://late.example")
    f = replace(vuln(description="a <b>|c\\d\r\ne"), references=refs, help_uri="https://avd.example/cve")
    rule = json.loads(sarif.render(verdict([f]), ctx()))["runs"][0]["tool"]["driver"]["rules"][0]
    listed = [line for line in rule["help"]["text"].split("\n") if "://" in line]
    assert listed == ["https://avd.example/cve", *(f"https://ref.example/{i}" for i in range(9))]
    assert rule["help"]["markdown"].endswith(
        "\n- <https://avd.example/cve>\n" + "\n".join(f"- <https://ref.example/{i}>" for i in range(9))
    )
    assert rule["helpUri"] == "https://avd.example/cve"
    # Escaped once each, backslash first: no escape is escaped again.
    assert "a &lt;b&gt;\\|c\\\\d  e" in rule["help"]["markdown"]
    no_help = replace(f, help_uri=None)
    rule = json.loads(sarif.render(verdict([no_help]), ctx()))["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["helpUri"] == "https://ref.example/0"


def test_long_descriptions_are_clipped_to_githubs_limits_but_help_keeps_more() -> None:
    long = "word " * 700  # 3,500 characters, as some CVE descriptions run
    doc = json.loads(sarif.render(verdict([vuln(description=long, title="t" * 2000)]), ctx()))
    check_github_rules(doc)
    rule = doc["runs"][0]["tool"]["driver"]["rules"][0]
    assert len(rule["fullDescription"]["text"]) == 1024 and rule["fullDescription"]["text"].endswith("…")
    assert len(rule["shortDescription"]["text"]) == 1024
    assert len(rule["help"]["text"]) > 2000  # the help panel is not limited: people read it there
