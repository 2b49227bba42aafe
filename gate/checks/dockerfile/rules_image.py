"""Built-in Dockerfile rules about the image as a whole: user, base reference, secrets, ports, health."""

from __future__ import annotations

import re
from collections.abc import Iterator

from gate.checks.dockerfile import rule_table as reg
from gate.checks.dockerfile.context import Hit, RuleContext
from gate.dockerfile import FromLine, Instruction, expand, unquote

_ROOT = frozenset({"root", "0", "containeradministrator"})
# images whose default user is not root: distroless `nonroot` tags, Chainguard's runtime images (not `-dev`),
# Windows nanoserver (ContainerUser) and the nginx/unprivileged-style images
_NONROOT_BASE = re.compile(
    r"(:|-)nonroot\b|^cgr\.dev/chainguard/(?!.*-dev\b)|\bnanoserver\b|-unprivileged\b", re.IGNORECASE
)
# images without a shell or package manager: distroless, Chainguard runtime images, Ubuntu chiseled
_NO_SHELL_BASE = re.compile(r"distroless|^cgr\.dev/chainguard/(?!.*-dev\b)|chiseled", re.IGNORECASE)

_SECRET_WORDS = frozenset(
    {"password", "passwd", "pwd", "pass", "passphrase", "secret", "secrets", "token", "credential", "credentials"}
)
_SECRET_JOINED = frozenset({"apikey", "privatekey", "accesskey", "secretkey", "clientsecret", "authtoken"})
# run-together names such as PGPASSWORD, MYSQLPWD or NPMTOKEN end in one of these
_SECRET_SUFFIXES = ("password", "passwd", "apikey", "authtoken", "accesstoken", "secretkey")
# a switch, not a secret: MYSQL_ALLOW_EMPTY_PASSWORD=yes, SECRET_KEY_BASE_DUMMY=1
_SWITCH_VALUE = re.compile(r"(?i)(true|false|yes|no|on|off|0|1)")
_KEY_QUALIFIERS = frozenset({"api", "private", "access", "secret", "encryption", "signing", "master", "ssh", "session"})
_HARMLESS_LAST = frozenset(
    {
        "file", "path", "dir", "url", "uri", "endpoint", "host", "port", "name", "id", "ids", "length", "len",
        "ttl", "timeout", "expiry", "expires", "header", "type", "enabled", "enable", "required", "min", "max",
        "policy", "algorithm", "format", "version", "location", "server", "region", "prefix", "mode",
        "field", "param", "env", "var", "hash", "lifetime", "size", "count", "dummy",
    }
)  # fmt: skip
_SECRET_VALUE = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\bAKIA[0-9A-Z]{16}\b|\bgh[pousr]_[A-Za-z0-9]{36,}\b|"
    r"\bgithub_pat_[A-Za-z0-9_]{40,}\b|\bxox[abprs]-[A-Za-z0-9-]{10,}\b|\bglpat-[A-Za-z0-9_-]{20,}\b|"
    # a password inside a URL: scheme://user:password@host
    r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
)
_GIT_SOURCE = re.compile(r"^(git@[^:/]+:|git://|ssh://)", re.IGNORECASE)
_PINNED_REF = re.compile(r"#([0-9a-f]{40}|[0-9a-f]{64})(:|$)")
_SECRET_FILE = re.compile(
    r"(^|/)(id_(rsa|dsa|ecdsa|ed25519)|\.netrc|\.npmrc|\.pypirc|\.git-credentials|\.env|\.aws/credentials)$"
)


def root_user(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-001: the last USER of the final stage (or its parents) is root, or there is none."""
    chain = ctx.final_chain
    if not chain:
        return
    for stage in chain:
        users = [i for i in stage.instructions if i.cmd == "user" and i.value]
        if users:
            last = users[-1]
            name = _expand(ctx, last, last.value[0]) or last.value[0]
            if name.split(":", 1)[0].strip().lower() in _ROOT:
                yield Hit(reg.ROOT_USER, last, f"The final image runs as root (`{' '.join(last.value)}`)")
            return
    base = chain[-1].from_
    if not resolvable(base) or _NONROOT_BASE.search(base.resolved):
        return
    yield Hit(reg.ROOT_USER, chain[0].instructions[0], "The final stage sets no USER, so the image runs as root")


def resolvable(f: FromLine) -> bool:
    """True when the FROM's image is known without build args: every ARG it uses has a value, or is only
    used as `${NAME:-default}` / `${NAME-default}` (then the default is what a plain build uses)."""
    for name in f.unresolved:
        uses = re.findall(r"\$(?:\{" + re.escape(name) + r"(:?[-+?])?|" + re.escape(name) + r"\b)", f.image)
        if not uses or any(op not in ("-", ":-") for op in uses):
            return False
    return True


def _expand(ctx: RuleContext, ins: Instruction, word: str) -> str:
    return expand(word, dict(ctx.df.env_at(ins)))[0]


def base_tag(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-002 and CG-DF-003: every external FROM names a tag other than latest, and a digest."""
    for stage in ctx.df.stages:
        f = stage.from_
        if not f.is_external or not resolvable(f) or not f.resolved:
            continue
        ins = stage.instructions[0]
        name, tag, digest = split_reference(f.resolved)
        if digest:
            continue
        if tag is None or tag == "latest":
            what = "uses the `latest` tag" if tag else "has no tag (so `latest`)"
            yield Hit(reg.LATEST_TAG, ins, f"Base image `{f.resolved}` {what}")
        yield Hit(reg.NO_DIGEST, ins, f"Base image `{f.resolved}` is not pinned by digest")


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """`registry/repo:tag@digest` → (name, tag, digest); a registry port is not a tag."""
    name, _, digest = ref.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = None
    if ":" in last:
        tag = last.split(":", 1)[1]
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    return name, tag, digest or None


def secrets(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-004: ENV/ARG names that name a secret, or values in a known credential format."""
    for ins in ctx.df.instructions:
        if ins.kind == "env":
            pairs = [(n, unquote(v)) for n, v in zip(ins.value[::2], ins.value[1::2], strict=False)]
        elif ins.kind == "arg":
            pairs = [(n, d) for n, _, d in (v.partition("=") for v in ins.value)]
        else:
            continue
        for name, value in pairs:
            if _SECRET_VALUE.search(value):
                yield Hit(reg.SECRET_ENV, ins, f"{ins.kind.upper()} {name} holds a credential")
            elif is_secret_name(name) and (ins.kind == "arg" or value.strip()) and not _SWITCH_VALUE.fullmatch(value):
                yield Hit(reg.SECRET_ENV, ins, f"{ins.kind.upper()} {name} looks like a secret")


def name_words(name: str) -> list[str]:
    """`dbPassword_FILE` → ['db', 'password', 'file']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w.lower() for w in re.split(r"[^A-Za-z0-9]+|\s", spaced) if w]


def is_secret_name(name: str) -> bool:
    """Whole-word match on secret words; names ending in a reference word (_FILE, _URL, ...) are not."""
    words = name_words(name)
    if not words or words[-1] in _HARMLESS_LAST:
        return False
    if any(w in _SECRET_WORDS or w in _SECRET_JOINED or w.endswith(_SECRET_SUFFIXES) for w in words):
        return True
    return any(w == "key" and i > 0 and words[i - 1] in _KEY_QUALIFIERS for i, w in enumerate(words))


def secret_files(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-016: COPY/ADD of private keys and credential files from the build context."""
    for ins in ctx.df.instructions:
        if ins.kind not in ("copy", "add") or ins.flag("from") is not None or ins.heredocs:
            continue
        for src in ins.value[:-1]:
            if _SECRET_FILE.search(src.rstrip("/")):
                yield Hit(reg.SECRET_FILE, ins, f"`{src}` (a credential file) is copied into the image")


def expose_ssh(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-013: EXPOSE 22 in the final image."""
    for ins in ctx.final_instructions("expose"):
        for port in ins.value:
            number, _, proto = _expand(ctx, ins, port).partition("/")
            low, _, high = number.partition("-")
            if proto in ("", "tcp") and low.isdigit() and int(low) <= 22 <= int(high if high.isdigit() else low):
                yield Hit(reg.EXPOSE_SSH, ins, "Port 22 (SSH) is exposed")


def healthcheck(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-014: the final image has no HEALTHCHECK (not for scratch/distroless, not after HEALTHCHECK NONE)."""
    chain = ctx.final_chain
    if not chain or ctx.final_instructions("healthcheck"):
        return
    base = chain[-1].from_
    if base.is_scratch or not resolvable(base) or _NO_SHELL_BASE.search(base.resolved):
        return
    yield Hit(reg.NO_HEALTHCHECK, chain[0].instructions[0], "The final image defines no HEALTHCHECK")


def copy_context(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-008: COPY/ADD of the whole build context into the final image."""
    for ins in ctx.final_instructions("copy", "add"):
        if ins.flag("from") is not None or ins.heredocs or ins.json and len(ins.value) < 2:
            continue
        if any(src in (".", "./", "*", "./*") for src in ins.value[:-1]):
            yield Hit(
                reg.COPY_CONTEXT, ins, f"`{ins.kind.upper()} {' '.join(ins.value)}` copies the whole build context"
            )


def add_url(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-009: ADD of an http(s) URL without --checksum, or of a git repository not pinned to a commit."""
    for ins in ctx.df.instructions:
        if ins.kind != "add" or ins.flag("checksum"):
            continue
        for src in ins.value[:-1]:
            if _GIT_SOURCE.match(src) or re.match(r"^https?://[^#]+\.git(#|$)", src, re.IGNORECASE):
                if not _PINNED_REF.search(src):
                    yield Hit(reg.ADD_URL, ins, f"ADD clones `{src}` without pinning a commit")
            elif re.match(r"^https?://", src, re.IGNORECASE):
                yield Hit(reg.ADD_URL, ins, f"ADD downloads `{src}` without a checksum")
