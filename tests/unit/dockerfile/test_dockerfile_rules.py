"""Tests for the built-in Dockerfile rules: fixtures with every expected line, traps, pragmas, config, corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gate.checks.dockerfile.rule_table import RULES, RULES_BY_ID, RulesConfig
from gate.checks.dockerfile.rules import check
from gate.checks.dockerfile.rules_image import is_secret_name, split_reference
from gate.checks.dockerfile.shell import commands
from gate.dockerfile import parse, parse_file
from gate.errors import ConfigError
from gate.model import Kind, Severity

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXPECT = json.loads((FIXTURES / "expectations.json").read_text())
DIGEST = "@sha256:" + "a" * 64


def hits(text: str, config: RulesConfig | None = None) -> set[tuple[int, str]]:
    report = check(parse(text, "Dockerfile"), config)
    return {(f.location.start_line, f.id) for f in report.findings if f.location and f.location.start_line}


def test_every_fixture_has_expectations() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.Dockerfile")) == sorted(k for k in EXPECT if k != "how_to_read")


@pytest.mark.parametrize("name", sorted(k for k in EXPECT if k != "how_to_read"))
def test_fixture_lines(name: str) -> None:
    report = check(parse_file(FIXTURES / name, name))
    got = sorted([f.location.start_line, f.id] for f in report.findings if f.location)
    assert got == sorted(EXPECT[name]["findings"])
    suppressed = sorted([f.location.start_line, f.id] for f in report.findings if f.location and f.tool_suppression)
    assert suppressed == sorted(EXPECT[name]["suppressed"])
    assert all(f.kind is Kind.POLICY and f.sources[0].tool == "container-gate" for f in report.findings)


# a clean, pinned, non-root prelude so each trap below shows only its own line
OK = f"FROM debian:12.6{DIGEST}\nHEALTHCHECK NONE\nUSER 1000\n"


@pytest.mark.parametrize(
    "line",
    [
        'RUN echo "curl https://x | sh"',
        "RUN curl -fsSL https://x -o /tmp/i.sh && sha256sum -c sums && sh /tmp/i.sh",
        "RUN curl -s https://x | tee /tmp/x",
        "RUN apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*",
        "RUN apt-get -o APT::Install-Recommends=false install -y libpq5 && rm -rf /var/lib/apt/lists/*",
        "RUN --mount=type=cache,target=/var/lib/apt/lists apt-get update"
        " && apt-get install -y --no-install-recommends x",
        "RUN apk add --no-cache libpq",
        "RUN yum install -y httpd && yum clean all",
        "RUN dnf install -y httpd && dnf clean all",
        "RUN zypper install -y httpd && zypper clean -a",
        "RUN chmod 755 /a && chmod -R go-w /b && chmod 1777 /tmp/x && chmod u+w /c",
        "RUN echo sudo is not installed here",
        "RUN apt-get install -y --no-install-recommends sudo-less-tool && rm -rf /var/lib/apt/lists/*",
        "ENV TOKEN_URL=https://auth/token SECRET_NAME=db PASSWORD_FILE=/run/secrets/p GPG_KEY=ABCDEF",
        "ENV PUBLIC_KEY=ssh-ed25519 KEYSERVER=hkps://keys.openpgp.org TOKENIZER=bert",
        "ENV PASSWORD=",
        "ARG SECRET_ID_PATH=/x",
        "COPY --from=builder . /app",
        "COPY src/ /app/src/",
        "COPY id_rsa.pub /root/.ssh/authorized_keys",
        "ADD --checksum=sha256:" + "b" * 64 + " https://example.com/x.tgz /x.tgz",
        "ADD vendor.tar.gz /opt/",
        "EXPOSE 2222 8022 443",
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc && pip install x"
        " && apt-get purge -y gcc && rm -rf /var/lib/apt/lists/*",
        'RUN ["sh", "-c", "echo ok"]',
        "RUN yum -y install httpd && yum -y clean all",
        "RUN zypper -n in nginx && zypper -n clean -a",
        "RUN apt-get update && apt-get install -y --no-install-recommends x && find /var/lib/apt/lists -type f -delete",
        "RUN apt-get update && apt-get install -y --no-install-recommends x && rm -rf /var/lib/{apt,dpkg}/",
        "RUN apt-get update && apt-get install -y --no-install-recommends x && apt-get dist-clean",
        "ENV MYSQL_ALLOW_EMPTY_PASSWORD=yes SECRET_KEY_BASE_DUMMY=1 REDIS_URL=redis://cache:6379/0",
        "RUN curl -fsSL https://x/meta | python3 -c 'import json,sys; print(json.load(sys.stdin))'",
        "RUN curl -fsSL https://x/key.asc | gpg --dearmor -o /usr/share/keyrings/x.gpg",
        "RUN curl -fsSLo x.sh https://x && echo 'abc  x.sh' | sha256sum -c - && sh x.sh",
        "ADD https://github.com/moby/buildkit.git#" + "c" * 40 + " /src",
        "ONBUILD COPY --from=builder . /app",
        "RUN apt-get update && apt-get install -y --no-install-recommends gcc make wget && make"
        " && apt-mark auto '.*' && apt-get purge -y --auto-remove && rm -rf /var/lib/apt/lists/*",
        "RUN deps='gcc make' && apt-get update && apt-get install -y --no-install-recommends $deps"
        " && make && apt-get purge -y --auto-remove $deps && rm -rf /var/lib/apt/lists/*",
        "RUN find /srv -type d -exec chmod 755 {} +",
    ],
)
def test_fine_lines_are_not_flagged(line: str) -> None:
    text = f"FROM alpine:3.20{DIGEST} AS builder\nRUN true\n" + OK + line + "\n"
    assert hits(text) == set()


@pytest.mark.parametrize(
    ("line", "rule"),
    [
        ("RUN curl -sSL https://x | bash -s -- -y", "CG-DF-010"),
        ('RUN sh -c "$(wget -qO- https://x)"', "CG-DF-010"),
        ('RUN ["/bin/sh", "-c", "curl -s https://x | sh"]', "CG-DF-010"),
        ("RUN <<EOF\nset -e\ncurl -s https://x | sh\nEOF", "CG-DF-010"),
        ("RUN sudo -u app make", "CG-DF-012"),
        ("RUN chmod 0666 /etc/app.conf", "CG-DF-011"),
        ("RUN chmod o+w /srv", "CG-DF-011"),
        ("ENV MYSQL_ROOT_PASSWORD=secret", "CG-DF-004"),
        ("ENV AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "CG-DF-004"),
        ('ENV CONFIG="-----BEGIN RSA PRIVATE KEY-----"', "CG-DF-004"),
        ("ARG GITHUB_TOKEN", "CG-DF-004"),
        ("ARG DB_PASS=x", "CG-DF-004"),
        ("ENV SECRET_KEY_BASE=abc", "CG-DF-004"),
        ("ADD . /app", "CG-DF-008"),
        ("COPY .env /app/.env", "CG-DF-016"),
        ("EXPOSE 22", "CG-DF-013"),
        ("RUN apt install -y --no-install-recommends nano && rm -rf /var/lib/apt/lists/*", "CG-DF-007"),
        ("RUN apk add --no-cache build-base", "CG-DF-015"),
        ("RUN apt-get update", "CG-DF-006"),
        ("RUN curl -fsSLo /tmp/i.sh https://x && sh /tmp/i.sh", "CG-DF-010"),
        ("RUN wget https://x/get.sh && chmod +x get.sh && ./get.sh", "CG-DF-010"),
        ("RUN curl -sSL https://install.example.org | python3 -", "CG-DF-010"),
        ("ONBUILD RUN wget -qO- https://x | sh", "CG-DF-010"),
        ("RUN iex ((New-Object System.Net.WebClient).DownloadString('https://x/install.ps1'))", "CG-DF-010"),
        ("RUN find /srv -type d -exec chmod 777 {} +", "CG-DF-011"),
        ("ENV PGPASSWORD=postgres", "CG-DF-004"),
        ("ENV DATABASE_URL=postgres://app:s3cr3t@db:5432/app", "CG-DF-004"),
        ("ENV SECRET_KEY_BASE=dummy", "CG-DF-004"),
        ("ADD git@github.com:org/repo.git#v1.2.3 /src", "CG-DF-009"),
        ("USER ContainerAdministrator", "CG-DF-001"),
        ("RUN zypper -n in vim && zypper -n clean -a", "CG-DF-007"),
        (
            "RUN deps='gcc make' && apt-get update && apt-get install -y --no-install-recommends $deps"
            " && rm -rf /var/lib/apt/lists/*",
            "CG-DF-015",
        ),
        ("RUN --mount=type=cache,target=/var/cache/apt apt-get update", "CG-DF-006"),
        ("ONBUILD COPY . /app", "CG-DF-008"),
        ("EXPOSE 8080 20-25/tcp", "CG-DF-013"),
    ],
)
def test_bad_lines_are_flagged(line: str, rule: str) -> None:
    text = OK + line + "\n"
    n = OK.count("\n") + 1
    assert hits(text) == {(n, rule)}


def test_builder_stage_may_install_tools_and_copy_context() -> None:
    text = (
        f"FROM golang:1.22{DIGEST} AS build\nRUN apt-get update && apt-get install -y curl gcc\nCOPY . .\n"
        f"FROM scratch\nCOPY --from=build /out/app /app\nUSER 65532\n"
    )
    assert hits(text) == set()


def test_latest_and_no_tag_rules_resolve_args_and_skip_stage_refs() -> None:
    text = (
        "ARG IMG=nginx\nARG TAG=latest\nARG UNSET\nFROM ${IMG}:${TAG} AS a\nFROM a\nFROM scratch\n"
        "FROM $UNSET\nFROM registry.local:5000/team/app\nHEALTHCHECK NONE\nUSER 1\n"
    )
    got = hits(text)
    assert (4, "CG-DF-002") in got and (8, "CG-DF-002") in got
    assert not {(5, "CG-DF-002"), (6, "CG-DF-002"), (7, "CG-DF-002")} & got


def test_from_with_a_defaulted_arg_is_checked_and_an_unknown_one_is_not() -> None:
    text = "ARG TAG\nFROM python:${PY:-3.11}-alpine AS a\nFROM node${TAG}\nFROM ${IMG:-ubuntu}\nUSER 1\n"
    assert hits(text) == {(2, "CG-DF-003"), (4, "CG-DF-002"), (4, "CG-DF-003"), (4, "CG-DF-014")}


def test_user_root_then_app_is_fine_and_variable_user_resolved() -> None:
    assert hits(OK + "USER root\nRUN true\nUSER app\n") == set()
    assert hits(OK + "ENV RUNAS=0\nUSER ${RUNAS}:0\n") == {(5, "CG-DF-001")}
    assert hits(f"FROM gcr.io/distroless/base-debian12:nonroot{DIGEST}\n") == set()


def test_healthcheck_not_needed_for_scratch_or_distroless() -> None:
    assert hits("FROM scratch\nUSER 1\n") == set()
    assert hits(f"FROM cgr.dev/chainguard/glibc-dynamic{DIGEST}\n") == set()
    assert hits(f"FROM cgr.dev/chainguard/python:latest-dev{DIGEST}\nUSER 1\n") == {(1, "CG-DF-014")}
    assert hits(f"FROM gcr.io/distroless/static-debian12{DIGEST}\nUSER 1\n") == set()
    assert hits(f"FROM debian:12{DIGEST}\nUSER 1\n") == {(1, "CG-DF-014")}


def test_pragma_suppresses_only_named_rules() -> None:
    text = (
        f"FROM debian:12{DIGEST}\nUSER 1\nHEALTHCHECK NONE\n"
        "# container-gate ignore=CG-DF-012 needed for the vendor installer\nRUN curl -s x | sudo sh\n"
    )
    report = check(parse(text))
    by_id = {f.id: f for f in report.findings}
    assert by_id["CG-DF-012"].tool_suppression is not None
    assert by_id["CG-DF-012"].tool_suppression.reason == "needed for the vendor installer"
    assert by_id["CG-DF-010"].tool_suppression is None


def test_config_disables_and_regrades() -> None:
    cfg = RulesConfig.from_mapping(
        {"disable": ["CG-DF-014"], "severity": {"CG-DF-003": "HIGH"}, "unnecessary-tools": ["jq"]}
    )
    report = check(parse("FROM debian:12\nUSER 1\nRUN apk add --no-cache jq curl\n"), cfg)
    ids = {f.id: f for f in report.findings}
    assert "CG-DF-014" not in ids
    assert ids["CG-DF-003"].severity is Severity.HIGH
    assert ids["CG-DF-007"].title == "Installs jq in the final image"


@pytest.mark.parametrize(
    "data",
    [
        {"disable": ["DL3008"]},
        {"severity": {"CG-DF-001": "SEVERE"}},
        {"severity": ["CG-DF-001"]},
        {"unnecessary-tools": "curl"},
        {"trusted": []},
        ["disable"],
    ],
)
def test_bad_config_is_a_config_error(data: object) -> None:
    with pytest.raises(ConfigError) as info:
        RulesConfig.from_mapping(data, path=".container-gate.yml")  # type: ignore[arg-type]
    assert info.value.path == ".container-gate.yml"


def test_registry_ids_are_unique_and_complete() -> None:
    ids = [r.id for r in RULES]
    assert ids == sorted(set(ids)) and ids == [f"CG-DF-{i:03d}" for i in range(1, len(ids) + 1)]
    assert all(r.title and r.why and r.fix and r.severity is not Severity.UNKNOWN for r in RULES)
    assert RULES_BY_ID["CG-DF-001"].equivalents == ("DL3002", "DS-0002")


@pytest.mark.parametrize(
    ("name", "secret"),
    [("DB_PASSWORD", True), ("dbPassword", True), ("API_KEY", True), ("PRIVATE_KEY", True), ("TOKEN", True),
     ("TOKEN_URL", False), ("GPG_KEY", False), ("PASSWORD_FILE", False), ("KEY", False), ("PASSENGER_PORT", False),
     ("BYPASS", False), ("SECRETS_DIR", False), ("MONKEY", False)],
)  # fmt: skip
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_split_reference_ignores_registry_port() -> None:
    assert split_reference("registry:5000/app") == ("registry:5000/app", None, None)
    assert split_reference("app:1@sha256:x") == ("app", "1", "sha256:x")


def test_shell_split_respects_quotes() -> None:
    cmds = commands("echo 'a && b' | grep a; X=1 sudo -E apt-get install -y x || true")
    assert [c.argv for c in cmds] == [("echo", "a && b"), ("grep", "a"), ("apt-get", "install", "-y", "x"), ("true",)]
    assert cmds[1].piped_from is cmds[0] and cmds[2].wrapped_by == ("sudo",)


@pytest.mark.corpus
def test_conftest_example_dockerfile(corpus_path: Path) -> None:
    path = corpus_path / "conftest" / "examples" / "docker" / "Dockerfile"
    report = check(parse_file(path, "Dockerfile"))
    got = {(f.location.start_line, f.id) for f in report.findings if f.location}
    # openjdk:8-jdk-alpine: tagged, not pinned; no USER, no HEALTHCHECK; apk add of build-base without cleanup
    # is fine (--no-cache) but leaves compilers in this single-stage image
    assert got == {(1, "CG-DF-003"), (1, "CG-DF-001"), (1, "CG-DF-014"), (11, "CG-DF-015")}


@pytest.mark.corpus
def test_hadolint_action_testdata(corpus_path: Path) -> None:
    folder = corpus_path / "hadolint" / "hadolint-action-testdata"
    expectations = json.loads((corpus_path / "hadolint" / "EXPECTATIONS.json").read_text())
    assert {t["action_inputs"]["dockerfile"] for t in expectations["tests"]} == {
        "testdata/Dockerfile",
        "testdata/info.Dockerfile",
    }
    for name in ("Dockerfile", "info.Dockerfile"):
        report = check(parse_file(folder / name, name))
        got = {(f.location.start_line, f.id) for f in report.findings if f.location}
        # both pass hadolint at `warning`; our rules only add what hadolint has no rule for (root, digest,
        # healthcheck), all on the FROM line, and nothing on the RUN lines hadolint calls consolidation-only
        assert got == {(1, "CG-DF-001"), (1, "CG-DF-003"), (1, "CG-DF-014")}


def test_docs_page_is_up_to_date() -> None:
    from gate.checks.dockerfile.docs import render

    page = Path(__file__).resolve().parents[3] / "docs" / "dockerfile-rules.md"
    assert page.read_text(encoding="utf-8") == render(), "run: python -m gate.checks.dockerfile.docs > " + str(page)
    assert all(r.id in page.read_text(encoding="utf-8") for r in RULES)
