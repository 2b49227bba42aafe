"""Built-in Dockerfile rules about RUN commands: package hygiene, extra tools, pipes to a shell, modes, sudo."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gate.checks.dockerfile import rule_table as reg
from gate.checks.dockerfile.context import Hit, RuleContext
from gate.checks.dockerfile.shell import SHELLS, Command, run_commands
from gate.dockerfile import Instruction, expand

_APT = frozenset({"apt-get", "apt", "aptitude"})
_RPM = frozenset({"yum", "dnf", "microdnf"})
_INSTALL = frozenset({"install", "add", "in", "groupinstall"})
_REFRESH = frozenset(
    {"update", "upgrade", "dist-upgrade", "full-upgrade", "up", "patch", "dup", "ref", "refresh", "makecache"}
)
_REMOVE = frozenset({"remove", "purge", "del", "erase", "autoremove", "rm"})
_VALUE_OPTS = frozenset({"-o", "-t", "--virtual", "-X", "--repository", "--target-release", "-c", "--setopt", "-p"})
_CACHE_DIRS = {
    "apt": ("/var/lib/apt/lists", "/var/lib/apt"),
    "apk": ("/var/cache/apk", "/etc/apk/cache"),
    "rpm": ("/var/cache/yum", "/var/cache/dnf", "/var/cache/libdnf5"),
    "zypper": ("/var/cache/zypp",),
}
_DOWNLOADERS = frozenset({"curl", "wget", "fetch"})
_CHMOD_SYMBOLIC = re.compile(r"^[ugoa]*[+=][rwxXst]*$")


@dataclass(frozen=True, slots=True)
class PkgOp:
    """One package-manager invocation."""

    family: str
    """`apt`, `apk`, `rpm` or `zypper`."""
    action: str
    packages: tuple[str, ...]
    options: tuple[str, ...]
    virtual: str | None = None


def package_ops(cmds: tuple[Command, ...], env: Mapping[str, str] | None = None) -> list[PkgOp]:
    """Package-manager invocations among a RUN's commands; `$VAR` package lists are expanded from the RUN's
    own shell variables (`buildDeps='gcc make'`) and the ENV/ARG values in `env`."""
    ops = []
    values = dict(env or {})
    for c in cmds:
        values.update(_shell_vars(c))
        family = _family(c.name)
        if family is None:
            continue
        words = [w for a in c.args for w in (expand(a, values)[0].split() if "$" in a else [a])]
        opts, positional, virtual = _options(words)
        if positional:
            ops.append(PkgOp(family, positional[0], tuple(positional[1:]), tuple(opts), virtual))
    return ops


def _shell_vars(c: Command) -> list[tuple[str, str]]:
    if not c.argv:
        return list(c.assigns)
    if c.name in ("export", "local", "declare", "readonly"):
        return [(n, v) for n, eq, v in (a.partition("=") for a in c.args) if eq and n.isidentifier()]
    return []


def _family(name: str) -> str | None:
    if name in _APT:
        return "apt"
    if name == "apk":
        return "apk"
    if name in _RPM:
        return "rpm"
    return "zypper" if name == "zypper" else None


def _options(words: list[str]) -> tuple[list[str], list[str], str | None]:
    opts: list[str] = []
    positional: list[str] = []
    virtual = None
    it = iter(words)
    for w in it:
        if w in _VALUE_OPTS:
            value = next(it, "")
            opts.append(f"{w}={value}")
            if w in ("--virtual", "-t") and positional[:1] == ["add"]:
                virtual = value
        elif w.startswith("-"):
            opts.append(w)
            if w.startswith("--virtual="):
                virtual = w.split("=", 1)[1]
        else:
            positional.append(w)
    return opts, positional, virtual


def package_name(spec: str) -> str:
    """`curl=7.88.1-10` / `curl~=8` / `curl>1` / `curl-7.1` stays as given except for the version operator."""
    return re.split(r"[=<>~]", spec, maxsplit=1)[0]


def _runs(ctx: RuleContext, final_only: bool) -> Iterator[tuple[Instruction, tuple[Command, ...]]]:
    """RUN instructions (and ONBUILD RUN triggers) with their commands."""
    source = ctx.final_instructions("run") if final_only else [i for i in ctx.df.instructions if i.kind == "run"]
    for ins in source:
        yield ins, run_commands(ins)


def _ops(ctx: RuleContext, ins: Instruction, cmds: tuple[Command, ...]) -> list[PkgOp]:
    return package_ops(cmds, ctx.df.env_at(ins))


def no_install_recommends(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-005: apt-get/apt install without --no-install-recommends in the final image."""
    configured = False
    for ins, cmds in _runs(ctx, final_only=True):
        configured = configured or bool(re.search(r"Install-Recommends\W+(0|false)", " ".join(ins.value), re.I))
        for op in _ops(ctx, ins, cmds):
            if op.family != "apt" or op.action != "install" or not op.packages or configured:
                continue
            if not any(_recommends_off(o) for o in op.options):
                yield Hit(reg.NO_RECOMMENDS, ins, "`apt-get install` without `--no-install-recommends`")
                break


def _recommends_off(option: str) -> bool:
    return option == "--no-install-recommends" or bool(re.search(r"Install-Recommends=(0|false)", option, re.I))


def package_cache(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-006: a RUN that fills a package cache and does not clean it in the same RUN."""
    for ins, cmds in _runs(ctx, final_only=True):
        ops = _ops(ctx, ins, cmds)
        for family in sorted({op.family for op in ops}):
            mine = [op for op in ops if op.family == family]
            if _dirty(family, mine, cmds) and not _cache_mounted(ins, family) and not _cleaned(family, cmds):
                yield Hit(reg.PKG_CACHE, ins, _CACHE_MESSAGES[family])


_CACHE_MESSAGES = {
    "apt": "apt lists are not removed in the same RUN (`rm -rf /var/lib/apt/lists/*`)",
    "apk": "`apk add` without `--no-cache` leaves the apk cache in the image",
    "rpm": "yum/dnf cache is not cleaned in the same RUN (`yum clean all` / `dnf clean all`)",
    "zypper": "zypper cache is not cleaned in the same RUN (`zypper clean -a`)",
}


def _dirty(family: str, ops: list[PkgOp], cmds: tuple[Command, ...]) -> bool:
    if family == "apk":
        return any((op.action == "add" and "--no-cache" not in op.options) or op.action == "update" for op in ops)
    return any(op.action in _INSTALL or op.action in _REFRESH for op in ops)


def _cleaned(family: str, cmds: tuple[Command, ...]) -> bool:
    for c in cmds:
        if c.name in ("rm", "find") and _removes_cache(family, c):
            return True
        positional = [a for a in c.args if not a.startswith("-")]
        if _family(c.name) == family and family != "apt" and positional[:1] in (["clean"], ["cc"]):
            return True
        if family == "apt" and c.name in _APT and positional[:1] == ["dist-clean"]:
            return True
        if family == "apk" and c.name == "apk" and "cache" in c.args and "clean" in c.args:
            return True
    return False


def _removes_cache(family: str, c: Command) -> bool:
    """`rm -rf <cache dir>...` (brace lists expanded) or `find <cache dir> ... -delete`."""
    if c.name == "find" and not ({"-delete", "-exec", "-execdir"} & set(c.args)):
        return False
    paths = [p for a in c.args for p in _braces(a)]
    return any(p.startswith(d) for p in paths for d in _CACHE_DIRS[family])


def _braces(word: str) -> list[str]:
    """`/var/lib/{apt,dpkg}/` → ['/var/lib/apt/', '/var/lib/dpkg/'] (one level, as rm sees it from the shell)."""
    m = re.search(r"\{([^{}]*,[^{}]*)\}", word)
    if not m:
        return [word]
    return [word[: m.start()] + alt + word[m.end() :] for alt in m.group(1).split(",")]


def _cache_mounted(ins: Instruction, family: str) -> bool:
    for mount in ins.flag_values("mount"):
        fields = dict(p.partition("=")[::2] for p in mount.split(","))
        target = fields.get("target") or fields.get("dst") or fields.get("destination") or ""
        if fields.get("type") in ("cache", "tmpfs") and target.rstrip("/") in _CACHE_DIRS[family]:
            return True
    return False


def _installed(ops: list[PkgOp], cmds: tuple[Command, ...]) -> set[str]:
    """Packages a RUN leaves installed: installs minus what the same RUN removes (incl. apk virtuals, and
    everything apt installed when the RUN does `apt-mark auto ...` then an autoremove, as official images do)."""
    installed: dict[str, str | None] = {}
    removed: set[str] = set()
    for op in ops:
        if op.action in _INSTALL:
            installed.update((package_name(p), op.virtual) for p in op.packages)
        elif op.action in _REMOVE:
            removed.update(package_name(p) for p in op.packages)
    if _apt_autoremoves_all(ops, cmds):
        kept = {a for c in cmds if c.name == "apt-mark" and c.args[:1] == ("manual",) for a in c.args[1:]}
        removed.update(p for p in installed if p not in kept)
    return {p for p, virtual in installed.items() if p not in removed and virtual not in removed}


def _apt_autoremoves_all(ops: list[PkgOp], cmds: tuple[Command, ...]) -> bool:
    marked = any(c.name == "apt-mark" and c.args[:1] == ("auto",) for c in cmds)
    return marked and any(
        op.family == "apt" and (op.action == "autoremove" or (op.action in _REMOVE and "--auto-remove" in op.options))
        for op in ops
    )


def extra_tools(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-007: configured unnecessary tools installed in the final image."""
    needed = _healthcheck_programs(ctx)
    for ins, cmds in _runs(ctx, final_only=True):
        found = sorted((_installed(_ops(ctx, ins, cmds), cmds) & ctx.config.unnecessary_tools) - needed)
        if found:
            yield Hit(reg.EXTRA_TOOLS, ins, f"Installs {', '.join(found)} in the final image")


def _healthcheck_programs(ctx: RuleContext) -> set[str]:
    progs: set[str] = set()
    for ins in ctx.final_instructions("healthcheck"):
        text = " ".join(ins.value[1:]) if ins.value[:1] == ("CMD",) else " ".join(ins.value)
        progs.update(re.findall(r"[A-Za-z0-9_.+-]+", text))
    return progs


def compilers(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-015: compilers and build tools left installed in the final image."""
    for ins, cmds in _runs(ctx, final_only=True):
        found = sorted(_installed(_ops(ctx, ins, cmds), cmds) & ctx.config.compilers)
        if found:
            yield Hit(reg.COMPILERS, ins, f"Installs build tools ({', '.join(found)}) in the final image")


def pipe_to_shell(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-010: a downloaded script run unverified: `curl ... | sh` (or `| python3 -`), `sh <(curl ...)`,
    `sh -c "$(curl ...)"`, PowerShell `iwr ... | iex`, or `curl -o x.sh && sh x.sh` with no checksum or
    signature check in the same RUN."""
    for ins, cmds in _runs(ctx, final_only=False):
        if any(_fetch_into_shell(c) for c in cmds) or _powershell_fetch_exec(ins):
            yield Hit(reg.PIPE_SHELL, ins, "A downloaded script is piped straight into a shell")
        elif _download_then_run(cmds):
            yield Hit(reg.PIPE_SHELL, ins, "A downloaded script is run without verifying its checksum or signature")


def _fetch_into_shell(c: Command) -> bool:
    src = c.piped_from
    if src is not None and src.name in _DOWNLOADERS and (c.name in SHELLS or _reads_script_from_stdin(c)):
        return True
    if c.name in _DOWNLOADERS and c.substituted_into is not None and c.substituted_into.name in SHELLS:
        return True
    return c.name in SHELLS and any(re.search(r"(\$\(|`)\s*(curl|wget)\b", a) for a in c.args)


def _reads_script_from_stdin(c: Command) -> bool:
    """`python3 -`, `perl`, `ruby -` ...: an interpreter running its stdin (not `python3 -c '<code>'`)."""
    if not re.fullmatch(r"(python[0-9.]*|perl|ruby|node|php)", c.name):
        return False
    rest = [a for a in c.args if a != "-"]
    return not rest or not any(a in ("-c", "-e", "-m", "-r", "-E") or not a.startswith("-") for a in rest)


def _powershell_fetch_exec(ins: Instruction) -> bool:
    text = " ".join(ins.value)
    return bool(
        re.search(r"\b(iex|Invoke-Expression)\b", text, re.IGNORECASE)
        and re.search(r"DownloadString|Invoke-WebRequest|Invoke-RestMethod|\b(iwr|irm)\b", text, re.IGNORECASE)
    )


def _download_then_run(cmds: tuple[Command, ...]) -> bool:
    if any(_verifies(c) for c in cmds):
        return False
    saved: set[str] = set()
    for c in cmds:
        if c.name in _DOWNLOADERS:
            saved.update(_saved_files(c))
        elif saved and _runs_file(c, saved):
            return True
    return False


def _verifies(c: Command) -> bool:
    if c.name in ("sha256sum", "sha512sum", "sha384sum", "sha1sum", "shasum", "gpgv", "minisign", "signify"):
        return True
    return (c.name in ("gpg", "gpg2") and "--verify" in c.args) or (c.name == "cosign" and "verify-blob" in c.args)


def _saved_files(c: Command) -> set[str]:
    """Base names of the files a curl/wget call writes (`-o f`, `--output f`, wget `-O f`; `-O`/wget: URL name)."""
    out: set[str] = set()
    args = list(c.args)
    for i, a in enumerate(args):
        short = r"-[a-zA-Z]*o" if c.name == "curl" else r"-[a-zA-Z]*O"
        if (a in ("-o", "--output", "--output-document") or re.fullmatch(short, a)) and i + 1 < len(args):
            out.add(args[i + 1].rsplit("/", 1)[-1])
    curl_remote = c.name == "curl" and any(re.fullmatch(r"-[a-zA-Z]*O[a-zA-Z]*|--remote-name", a) for a in args)
    if curl_remote or (c.name == "wget" and not out):
        urls = [a for a in args if re.match(r"^https?://", a)]
        out.update(u.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] for u in urls)
    return {f for f in out if f and f != "-"}


def _runs_file(c: Command, saved: set[str]) -> bool:
    """`sh x.sh`, `bash /tmp/x.sh`, `./x.sh`, `/tmp/x.sh`: runs one of the downloaded files."""
    if c.name in SHELLS:
        target = next((a for a in c.args if not a.startswith("-")), "")
        return target.rsplit("/", 1)[-1] in saved
    return "/" in (c.argv[0] if c.argv else "") and c.name in saved


def chmod_world_writable(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-011: chmod (or COPY/ADD --chmod) giving others write permission."""
    for ins in ctx.df.instructions:
        if ins.kind in ("copy", "add") and _world_writable(ins.flag("chmod") or ""):
            yield Hit(reg.CHMOD_777, ins, f"--chmod={ins.flag('chmod')} makes files world-writable")
        elif ins.kind == "run":
            mode = next((m for c in run_commands(ins) for m in _chmod_modes(c) if _world_writable(m)), None)
            if mode is not None:
                yield Hit(reg.CHMOD_777, ins, f"`chmod {mode}` makes files world-writable")


def _chmod_modes(c: Command) -> Iterator[str]:
    """The mode of each chmod a command runs, directly or through `find -exec` / `xargs`."""
    argv = list(c.argv)
    for i, word in enumerate(argv):
        direct = i == 0
        via = i > 0 and (argv[i - 1] in ("-exec", "-execdir", "-ok") or argv[0].rsplit("/", 1)[-1] == "xargs")
        if word.rsplit("/", 1)[-1] == "chmod" and (direct or via):
            modes = [a for a in argv[i + 1 :] if not a.startswith("-") or re.fullmatch(r"-[rwxXst]+", a)]
            if modes:
                yield modes[0]


def _world_writable(mode: str) -> bool:
    if re.fullmatch(r"[0-7]{3,4}", mode):
        sticky = len(mode) == 4 and int(mode[0]) & 1
        return int(mode[-1]) & 2 != 0 and not sticky
    return any(
        _CHMOD_SYMBOLIC.match(part) and "w" in part.split("+")[-1].split("=")[-1] and re.match(r"^[ugo]*[ao]", part)
        for part in mode.split(",")
    )


def sudo(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-012: sudo invoked in a RUN."""
    for ins, cmds in _runs(ctx, final_only=False):
        if any("sudo" in c.wrapped_by or c.name == "sudo" for c in cmds):
            yield Hit(reg.SUDO, ins, "`sudo` is used in RUN")
