"""The registry of built-in Dockerfile rules (stable ids, titles, help) and their configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from gate.errors import ConfigError
from gate.model import AliasTable, Severity, rule_key


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What a rule is about; the id never changes once published."""

    id: str
    title: str
    severity: Severity
    why: str
    fix: str
    hadolint: tuple[str, ...] = ()
    """hadolint rules that catch the same problem (possibly in a narrower or wider way)."""
    trivy: tuple[str, ...] = ()
    """Trivy misconfiguration checks (DS-xxxx) that catch the same problem."""
    scope: str = "all stages"
    """Which stages the rule looks at: `all stages` or `final image` (the final stage and its parents)."""

    @property
    def equivalents(self) -> tuple[str, ...]:
        """Every equivalent id, hadolint first."""
        return (*self.hadolint, *self.trivy)


ROOT_USER = "CG-DF-001"
LATEST_TAG = "CG-DF-002"
NO_DIGEST = "CG-DF-003"
SECRET_ENV = "CG-DF-004"  # noqa: S105 (a rule id, not a password)
NO_RECOMMENDS = "CG-DF-005"
PKG_CACHE = "CG-DF-006"
EXTRA_TOOLS = "CG-DF-007"
COPY_CONTEXT = "CG-DF-008"
ADD_URL = "CG-DF-009"
PIPE_SHELL = "CG-DF-010"
CHMOD_777 = "CG-DF-011"
SUDO = "CG-DF-012"
EXPOSE_SSH = "CG-DF-013"
NO_HEALTHCHECK = "CG-DF-014"
COMPILERS = "CG-DF-015"
SECRET_FILE = "CG-DF-016"  # noqa: S105 (a rule id, not a password)

_FINAL = "final image"

RULES: tuple[RuleInfo, ...] = (
    RuleInfo(
        ROOT_USER,
        "The image runs as root",
        Severity.HIGH,
        "A process running as root inside the container is root on the host if it escapes; the final "
        "stage sets no USER (none inherited from a parent stage) or its last USER is root/0 (or Windows' "
        "ContainerAdministrator). Bases that already run as non-root (`:nonroot` tags, Chainguard runtime "
        "images, nanoserver, `*-unprivileged`) need no USER; a USER root in a builder stage never ships.",
        "Create an unprivileged user and end the final stage with `USER <name or uid>` (e.g. `USER 65532`), "
        "or build on a base that already runs as non-root (`...:nonroot`).",
        hadolint=("DL3002",),
        trivy=("DS-0002",),
        scope=_FINAL,
    ),
    RuleInfo(
        LATEST_TAG,
        "Base image uses `latest` or no tag",
        Severity.MEDIUM,
        "`latest` (or no tag, which means `latest`) changes under you: builds stop being reproducible and "
        "an unreviewed base can ship. Stage references and `scratch` are not images and are never flagged. "
        "ARGs resolve to their defaults (`${TAG:-3.12}` too); a FROM that needs a build arg with no default "
        "is left alone, and a registry port (`host:5000/app`) is not a tag.",
        "Name an explicit version tag (`python:3.12.4-slim`), better still with its digest.",
        hadolint=("DL3006", "DL3007"),
        trivy=("DS-0001",),
    ),
    RuleInfo(
        NO_DIGEST,
        "Base image is not pinned by digest",
        Severity.LOW,
        "A tag can be re-pointed to other content; only a digest names exactly what was reviewed and scanned.",
        "Append the digest: `FROM python:3.12.4-slim@sha256:<digest>` (`container-gate remediate` keeps it up "
        "to date).",
    ),
    RuleInfo(
        SECRET_ENV,
        "Secret in ENV or ARG",
        Severity.HIGH,
        "ENV values are stored in the image config and ARG values in its history: anyone who can pull the "
        "image can read them. Names are matched on whole words (PASSWORD, TOKEN, SECRET, API_KEY, "
        "PRIVATE_KEY, ...) and values on known credential formats; names ending in _FILE, _PATH, _URL, "
        "_NAME and similar are references, not secrets, and GPG_KEY/PUBLIC_KEY are public. Run-together names "
        "(PGPASSWORD) count; yes/no/true/false/0/1 values are switches (MYSQL_ALLOW_EMPTY_PASSWORD=yes), not "
        "secrets; a placeholder (SECRET_KEY_BASE=dummy) is flagged because it becomes the running app's key "
        "unless overridden. A `user:password@` inside a URL value is flagged whatever the name.",
        "Pass secrets at build time with `RUN --mount=type=secret,id=<id>` (`docker build --secret`) and at "
        "run time through the orchestrator's secret store; never bake them into the image.",
        hadolint=("DL3064",),
        trivy=("DS-0031",),
    ),
    RuleInfo(
        NO_RECOMMENDS,
        "`apt-get install` without `--no-install-recommends`",
        Severity.LOW,
        "Recommended packages are pulled in silently: more packages, more vulnerabilities, bigger image.",
        'Add `--no-install-recommends` (or set `APT::Install-Recommends "0";` in /etc/apt/apt.conf.d first).',
        hadolint=("DL3015",),
        trivy=("DS-0029",),
        scope=_FINAL,
    ),
    RuleInfo(
        PKG_CACHE,
        "Package manager cache left in the image",
        Severity.LOW,
        "Package indexes and caches left in a layer add size and stale metadata to the image; cleaning them "
        "in a later RUN does not shrink the earlier layer (hadolint DL3009 semantics). `apt-get clean` alone "
        "leaves /var/lib/apt/lists; `find <lists> -delete`, `rm -rf /var/lib/{apt,dpkg}` and a cache mount "
        "on the lists count as cleanup; a mount of /var/cache/apt alone does not. Builder stages are not "
        "flagged: their layers never ship.",
        "In the same RUN: `rm -rf /var/lib/apt/lists/*` after apt-get, `apk add --no-cache`, `yum clean all`, "
        "`dnf clean all`, `zypper clean -a`; or mount the cache: `RUN --mount=type=cache,target=/var/cache/apt`.",
        hadolint=("DL3009", "DL3019", "DL3032", "DL3036", "DL3040"),
        trivy=("DS-0015", "DS-0019", "DS-0020", "DS-0025", "DS-0027"),
        scope=_FINAL,
    ),
    RuleInfo(
        EXTRA_TOOLS,
        "Unnecessary tool installed in the final image",
        Severity.LOW,
        "Download tools, editors, remote shells and network utilities (curl, wget, vim, ssh, netcat, ...) are "
        "what an attacker reaches for after getting in. Builder stages may install them; a tool the final "
        "HEALTHCHECK calls, or one removed in the same RUN (by name, as an apk `--virtual` group, or through "
        "`apt-mark auto` + `apt-get purge --auto-remove` as the official images do), is not flagged. Package "
        "lists in shell variables (`buildDeps='gcc make'`, ENV/ARG) are expanded.",
        "Install such tools only in a builder stage, or remove them in the same RUN; configure the list with "
        "`dockerfile.unnecessary-tools`.",
        scope=_FINAL,
    ),
    RuleInfo(
        COPY_CONTEXT,
        "Whole build context copied into the image",
        Severity.MEDIUM,
        "`COPY . .` copies everything the build context holds (.git, .env, keys, local build output) unless "
        ".dockerignore excludes it. Builder stages are not flagged: only what reaches the final image matters. "
        "`ONBUILD COPY . .` is flagged (it copies every downstream build's context); `COPY --from=<stage> . .` "
        "is not the build context.",
        "Copy explicit paths (`COPY src/ ./src/`), and keep a .dockerignore that excludes secrets and VCS data.",
        scope=_FINAL,
    ),
    RuleInfo(
        ADD_URL,
        "ADD fetches a remote URL",
        Severity.MEDIUM,
        "ADD downloads without verifying what it got; a compromised or changed server changes your image. "
        "A git source (`git@host:repo`, `https://.../repo.git`) is flagged unless pinned to a full commit id "
        "(`#<sha>`): branches and tags move.",
        "Use `ADD --checksum=sha256:<hash> <url> <dest>` (or `#<commit>` for git), or download in a RUN and "
        "verify the checksum.",
    ),
    RuleInfo(
        PIPE_SHELL,
        "Remote script piped to a shell",
        Severity.HIGH,
        "`curl ... | sh` runs whatever the server returns, unverified, as root during the build. The same "
        "goes for `| python3 -` (an interpreter reading its stdin; `python3 -c` parsing the response is fine), "
        "`sh <(curl ...)`, PowerShell `iex (...DownloadString(...))`, ONBUILD RUN triggers, and "
        "`curl -o x.sh URL && sh x.sh` when the same RUN checks no checksum or signature (sha256sum, gpg "
        "--verify, ...) — hadolint does not flag that last form.",
        "Download to a file, verify its checksum or signature, then run it; or install from a package manager.",
    ),
    RuleInfo(
        CHMOD_777,
        "World-writable permissions",
        Severity.MEDIUM,
        "`chmod 777` / `0777` / `a+w` lets any user in the container rewrite the files (COPY --from keeps the "
        "mode), also through `find -exec chmod` or `xargs chmod`. Sticky-bit modes such as 1777 (shared temp "
        "dirs) are not flagged.",
        "Give ownership to the user that needs it (`chown app:app`, `COPY --chown`) and use 755/644 or tighter.",
    ),
    RuleInfo(
        SUDO,
        "`sudo` used in RUN",
        Severity.MEDIUM,
        "RUN already runs as the current USER; sudo adds a setuid binary and unpredictable TTY/env behaviour.",
        "Switch with `USER root` before the step and back to the unprivileged user after it (or use gosu).",
        hadolint=("DL3004",),
        trivy=("DS-0010",),
    ),
    RuleInfo(
        EXPOSE_SSH,
        "SSH port 22 exposed",
        Severity.MEDIUM,
        "An SSH daemon in a container is an extra way in that bypasses the orchestrator's access controls. "
        "22 and 22/tcp and a range that covers 22 are flagged; 2222, 8022 and 22/udp are not.",
        "Remove `EXPOSE 22` and the SSH server; use `docker exec`/`kubectl exec` for debugging.",
        trivy=("DS-0004",),
        scope=_FINAL,
    ),
    RuleInfo(
        NO_HEALTHCHECK,
        "No HEALTHCHECK in the final image",
        Severity.LOW,
        "Without a health check the engine cannot tell a hung service from a healthy one. Not flagged for "
        "scratch, distroless, Chainguard runtime or Ubuntu chiseled bases (no shell to run one) or when "
        "`HEALTHCHECK NONE` is explicit.",
        "Add `HEALTHCHECK CMD <command that fails when the service is unhealthy>`, or `HEALTHCHECK NONE` to "
        "state that the orchestrator probes it.",
        hadolint=("DL3057",),
        trivy=("DS-0026",),
        scope=_FINAL,
    ),
    RuleInfo(
        COMPILERS,
        "Build tools in the final image",
        Severity.LOW,
        "Compilers and build tools (gcc, make, build-essential, ...) in the shipped image let an attacker "
        "build exploits in place and add many packages to patch. Removing them in the same RUN is fine.",
        "Use a multi-stage build: compile in a builder stage and COPY only the artifacts into a slim final stage.",
        scope=_FINAL,
    ),
    RuleInfo(
        SECRET_FILE,
        "Secret file copied into the image",
        Severity.HIGH,
        "Private keys and credential files (id_rsa, .netrc, .npmrc, .git-credentials, .env, .aws/credentials) "
        "stay in the layer even if a later step deletes them.",
        "Mount them only for the step that needs them: `RUN --mount=type=secret,id=npmrc,target=/root/.npmrc`.",
        trivy=("DS-0031",),
    ),
)

RULES_BY_ID: Mapping[str, RuleInfo] = {r.id: r for r in RULES}


@dataclass(frozen=True, slots=True)
class Equivalence:
    """A hadolint rule and a Trivy check that catch the same problem, where no built-in rule does."""

    title: str
    hadolint: tuple[str, ...]
    trivy: tuple[str, ...]


# Each pair was seen firing on the same instruction with hadolint 2.15 and Trivy 0.76 (`trivy config`).
ELSEWHERE: tuple[Equivalence, ...] = (
    Equivalence("`MAINTAINER` is deprecated", ("DL4000",), ("DS-0022",)),
    Equivalence("WORKDIR is not absolute", ("DL3000",), ("DS-0009",)),
    Equivalence("`RUN cd` instead of WORKDIR", ("DL3003",), ("DS-0013",)),
    Equivalence("ADD used where COPY would do", ("DL3020",), ("DS-0005",)),
    Equivalence("`COPY --from` refers to its own stage", ("DL3023",), ("DS-0006",)),
    Equivalence("Several ENTRYPOINT instructions", ("DL4004",), ("DS-0007",)),
    Equivalence("Exposed port out of range", ("DL3011",), ("DS-0008",)),
    Equivalence("COPY to several sources without a trailing `/`", ("DL3021",), ("DS-0011",)),
    Equivalence("Both wget and curl are used", ("DL4001",), ("DS-0014",)),
    Equivalence("Several CMD instructions", ("DL4003",), ("DS-0016",)),
    Equivalence("`apt-get install` without `-y`", ("DL3014",), ("DS-0021",)),
    Equivalence("Several HEALTHCHECK instructions", ("DL3012",), ("DS-0023",)),
)
"""Merged like a built-in rule's equivalents (one finding per problem), under the Trivy id."""


def spellings(rule_id: str) -> tuple[str, ...]:
    """Every way tools write an id: Trivy's checks also go by their pre-0.50 (`DS002`) and AVD
    (`AVD-DS-0002`) names, which `.trivyignore` files and old reports still use."""
    key = rule_key(rule_id)
    family, _, number = key.partition("-")
    if family in ("DS", "KSV", "KCV") and number.isdigit():
        return (key, f"{family}{int(number):03d}", f"AVD-{key}")
    return (key,)


@lru_cache(maxsize=1)
def alias_table() -> AliasTable:
    """Every id (as `rule_key` spells it) to the built-in rules, or the hadolint/Trivy pair, meaning the
    same problem: what `gate.model.dedupe` merges across tools."""
    table: dict[str, set[str]] = {}
    for rule in RULES:
        for rid in (rule.id, *rule.equivalents):
            table.setdefault(rule_key(rid), set()).add(rule.id)
    for pair in ELSEWHERE:
        for rid in (*pair.hadolint, *pair.trivy):
            table.setdefault(rule_key(rid), set()).add(pair.trivy[0])
    return {key: frozenset(rules) for key, rules in table.items()}


DEFAULT_UNNECESSARY_TOOLS: frozenset[str] = frozenset(
    {
        "curl",
        "wget",
        "vim",
        "vim-tiny",
        "vim-nox",
        "nano",
        "emacs",
        "emacs-nox",
        "ssh",
        "openssh-server",
        "openssh-client",
        "openssh",
        "openssh-clients",
        "dropbear",
        "telnet",
        "netcat",
        "netcat-openbsd",
        "netcat-traditional",
        "nc",
        "ncat",
        "nmap",
        "nmap-ncat",
        "socat",
        "tcpdump",
        "ftp",
        "sudo",
    }
)

DEFAULT_COMPILERS: frozenset[str] = frozenset(
    {
        "gcc",
        "g++",
        "gcc-c++",
        "clang",
        "make",
        "cmake",
        "build-essential",
        "build-base",
        "autoconf",
        "automake",
        "libtool",
        "musl-dev",
        "libc6-dev",
        "libc-dev",
        "golang",
        "golang-go",
        "rustc",
        "cargo",
        "Development Tools",
    }
)

_KEYS = {"disable", "severity", "unnecessary-tools", "compilers"}


@dataclass(frozen=True, slots=True)
class RulesConfig:
    """User settings for the built-in rules (the `dockerfile:` section of `.container-gate.yml`)."""

    disabled: frozenset[str] = frozenset()
    severity: tuple[tuple[str, Severity], ...] = ()
    """Severity overrides as sorted (rule id, severity) pairs."""
    unnecessary_tools: frozenset[str] = field(default=DEFAULT_UNNECESSARY_TOOLS)
    compilers: frozenset[str] = field(default=DEFAULT_COMPILERS)

    def severity_of(self, rule: RuleInfo) -> Severity:
        """The rule's severity after overrides."""
        return dict(self.severity).get(rule.id, rule.severity)

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None, *, path: str | None = None) -> RulesConfig:
        """Validate and build the config; unknown keys, ids or severities raise ConfigError."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ConfigError("dockerfile: must be a mapping", path=path)
        unknown = set(data) - _KEYS
        if unknown:
            raise ConfigError(f"dockerfile: unknown key(s) {', '.join(sorted(map(str, unknown)))}", path=path)
        disabled = frozenset(_rule_ids(_strings(data.get("disable", []), "disable", path), path))
        severity = _severities(data.get("severity", {}), path)
        tools = data.get("unnecessary-tools")
        comps = data.get("compilers")
        return cls(
            disabled=disabled,
            severity=severity,
            unnecessary_tools=frozenset(_strings(tools, "unnecessary-tools", path))
            if tools is not None
            else DEFAULT_UNNECESSARY_TOOLS,
            compilers=frozenset(_strings(comps, "compilers", path)) if comps is not None else DEFAULT_COMPILERS,
        )


def _strings(value: object, key: str, path: str | None) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"dockerfile.{key}: must be a list of strings", path=path)
    return [v.strip() for v in value]


def _rule_ids(ids: list[str], path: str | None) -> list[str]:
    for rid in ids:
        if rid not in RULES_BY_ID:
            raise ConfigError(f"dockerfile: unknown rule id {rid!r} (known: CG-DF-001..{RULES[-1].id})", path=path)
    return ids


def _severities(value: object, path: str | None) -> tuple[tuple[str, Severity], ...]:
    if not isinstance(value, Mapping):
        raise ConfigError("dockerfile.severity: must map rule ids to severities", path=path)
    out: dict[str, Severity] = {}
    for rid, word in value.items():
        _rule_ids([str(rid)], path)
        sev = Severity.parse(word) if isinstance(word, str) else Severity.UNKNOWN
        if sev is Severity.UNKNOWN or not isinstance(word, str) or word.upper() != sev.name:
            raise ConfigError(f"dockerfile.severity.{rid}: {word!r} is not CRITICAL, HIGH, MEDIUM or LOW", path=path)
        out[str(rid)] = sev
    return tuple(sorted(out.items()))
