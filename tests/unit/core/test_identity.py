"""A finding's identity is what it is, never where its lines are: fingerprints survive edits above it."""

from __future__ import annotations

import dataclasses

from gate import dockerfile
from gate.checks.dockerfile import rules as dockerfile_rules
from gate.model import (
    Finding,
    Kind,
    Landmark,
    Location,
    Report,
    Severity,
    Source,
    dedupe,
    fingerprint,
    normal_path,
    relative_path,
    rule_key,
)

NODE = """FROM node:20-bookworm
WORKDIR /usr/src/app
ENV API_TOKEN=sk_live_51HxQ2aZ9vR8kT3mNpQ7wX4yB6cD
RUN apt-get update && apt-get install -y curl
COPY . .
EXPOSE 22 3000
USER root
CMD ["node", "server.js"]
"""

EDITED = """# syntax=docker/dockerfile:1
# The shop's front end: comments and a label added above every problem.
FROM node:20-bookworm
LABEL org.opencontainers.image.source="https://example.com/shop"

WORKDIR /usr/src/app
ENV API_TOKEN=sk_live_51HxQ2aZ9vR8kT3mNpQ7wX4yB6cD
RUN apt-get update \\
 &&   apt-get install -y curl
COPY . .
EXPOSE 22 3000
USER root
CMD ["node", "server.js"]
"""


def prints(text: str) -> dict[str, str]:
    report = dockerfile_rules.check(dockerfile.parse(text))
    return {f.fingerprint: f.id for f in dedupe(report.findings, landmarks=report.landmarks)}


def misconf(line: int, *, rule: str = "DL3008", tool: str = "hadolint", title: str = "Pin versions") -> Finding:
    return Finding(
        id=rule,
        kind=Kind.MISCONFIGURATION,
        severity=Severity.MEDIUM,
        title=title,
        target="Dockerfile",
        location=Location("Dockerfile", line, line),
        sources=(Source(tool, f"{tool}.json"),),
    )


def test_trivy_spellings_of_one_check_are_one_id() -> None:
    assert {rule_key(i) for i in ("DS002", "AVD-DS-0002", "DS-0002", "ds002", " DS-2 ")} == {"DS-0002"}
    assert rule_key("KSV001") == rule_key("AVD-KSV-0001") == "KSV-0001"
    assert rule_key("AVD-AWS-0086") == "AWS-0086"
    # hadolint's, ShellCheck's, ours and CVE ids are left as they are
    assert [rule_key(i) for i in ("DL3002", "SC2086", "CG-DF-001", "CVE-2021-1")] == [
        "DL3002",
        "SC2086",
        "CG-DF-001",
        "CVE-2021-1",
    ]


def test_paths_are_spelt_one_way() -> None:
    assert normal_path("./app//Dockerfile") == normal_path("app\\Dockerfile") == "app/Dockerfile"
    assert relative_path("/work/repo/app/Dockerfile", "/work/repo") == "app/Dockerfile"
    assert relative_path("/elsewhere/Dockerfile", "/work/repo") == "/elsewhere/Dockerfile"
    assert relative_path("/work/repository/Dockerfile", "/work/repo") == "/work/repository/Dockerfile"


def test_a_misconfiguration_fingerprint_has_no_line() -> None:
    assert misconf(3).fingerprint == misconf(30).fingerprint
    old = Finding(id="DS002", kind=Kind.MISCONFIGURATION, severity=Severity.HIGH, title="t", target="Dockerfile")
    assert old.fingerprint == dataclasses.replace(old, id="DS-0002").fingerprint
    assert misconf(3).fingerprint != misconf(3, rule="DL3009").fingerprint


def test_our_fingerprints_survive_comments_a_label_and_continuation_lines() -> None:
    before, after = prints(NODE), prints(EDITED)
    assert sorted(before.values()) == [f"CG-DF-{n:03d}" for n in (1, 3, 4, 5, 6, 7, 8, 13, 14)]
    assert before == after


def test_a_genuinely_new_problem_gets_a_new_fingerprint_and_the_old_ones_stay() -> None:
    before = prints(NODE)
    added = prints(NODE.replace("WORKDIR /usr/src/app\n", "WORKDIR /usr/src/app\nRUN sudo mkdir -p /data\n"))
    assert set(before) < set(added)
    assert [added[fp] for fp in set(added) - set(before)] == ["CG-DF-012"]


def test_identical_findings_on_two_lines_stay_two_and_keep_their_fingerprints_when_both_move() -> None:
    # hadolint's DL3008 says the same words about every unpinned apt-get: numbered in line order.
    first = {f.fingerprint for f in dedupe([misconf(4), misconf(9)])}
    moved = {f.fingerprint for f in dedupe([misconf(7), misconf(12)])}
    assert len(first) == 2 and first == moved
    # the same report twice is still one finding per line
    assert len(dedupe([misconf(4), misconf(9), misconf(4), misconf(9)])) == 2


def test_landmarks_name_another_tools_line_as_our_instruction() -> None:
    edited = dockerfile_rules.check(dockerfile.parse(EDITED))
    plain = dockerfile_rules.check(dockerfile.parse(NODE))
    line_of = {"NODE": 4, "EDITED": 8}  # the apt-get RUN in each version
    one = dedupe([misconf(line_of["NODE"])], landmarks=plain.landmarks)[0]
    two = dedupe([misconf(line_of["EDITED"])], landmarks=edited.landmarks)[0]
    assert (
        one.location is not None
        and one.location.logical == "final stage: RUN apt-get update && apt-get install -y curl"
    )
    assert one.fingerprint == two.fingerprint
    # a second continuation line of the RUN is the same instruction
    three = dedupe([misconf(line_of["EDITED"] + 1)], landmarks=edited.landmarks)[0]
    assert three.fingerprint == one.fingerprint


def test_env_values_never_reach_the_identity() -> None:
    df = dockerfile.parse(NODE)
    env = next(i for i in df.instructions if i.cmd == "env")
    name = dockerfile_rules.logical_name(df, env)
    assert name == "final stage: ENV API_TOKEN" and "sk_live" not in name


def test_a_builder_stage_added_above_keeps_the_final_stage_names() -> None:
    before = prints(NODE)
    after = prints("FROM node:20-bookworm AS build\nRUN npm ci\n\n" + NODE)
    assert set(before) <= set(after)


def test_the_same_instruction_in_two_stages_is_two_places() -> None:
    text = "FROM debian:12 AS a\nRUN apt-get install -y curl\nFROM debian:12\nRUN apt-get install -y curl\n"
    df = dockerfile.parse(text)
    runs = [i for i in df.instructions if i.cmd == "run"]
    assert len({dockerfile_rules.logical_name(df, i) for i in runs}) == 2


def test_a_report_carries_a_landmark_per_instruction() -> None:
    report: Report = dockerfile_rules.check(dockerfile.parse(NODE))
    assert len(report.landmarks) == 8
    assert report.landmarks[0] == Landmark("Dockerfile", 1, 1, "final stage: FROM")


def test_manifest_findings_are_keyed_by_message_not_line() -> None:
    def rego(line: int, msg: str) -> Finding:
        return Finding(
            id="k8s/run-as-non-root",
            kind=Kind.POLICY,
            severity=Severity.HIGH,
            title=msg,
            target="k8s/deploy.yaml",
            location=Location("k8s/deploy.yaml", line),
        )

    web, api = "Deployment web: container web must run as non-root", "Deployment api: container api must run as ..."
    assert rego(1, web).fingerprint == rego(4, web).fingerprint
    assert rego(1, web).fingerprint != rego(1, api).fingerprint
    assert fingerprint(rego(1, web)) == rego(20, web).fingerprint
