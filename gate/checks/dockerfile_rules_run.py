"""Built-in Dockerfile rules about RUN commands: package hygiene, extra tools, pipes to a shell, modes, sudo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from gate.checks import dockerfile_registry as reg
from gate.checks.dockerfile_context import Hit, RuleContext
from gate.checks.dockerfile_shell import SHELLS, Command, run_commands
from gate.dockerfile import Instruction

_APT = frozenset({"apt-get", "apt", "aptitude"})
_RPM = frozenset({"yum", "dnf", "microdnf"})
_INSTALL = frozenset({"install", "add", "in", "groupinstall"})
_REFRESH = frozenset({"update", "upgrade", "dist-upgrade", "full-upgrade", "up", "patch", "dup"})
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


def package_ops(cmds: tuple[Command, ...]) -> list[PkgOp]:
    """Package-manager invocations among a RUN's commands."""
    ops = []
    for c in cmds:
        family = _family(c.name)
        if family is None:
            continue
        words = list(c.args)
        opts, positional, virtual = _options(words)
        if positional:
            ops.append(PkgOp(family, positional[0], tuple(positional[1:]), tuple(opts), virtual))
    return ops


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
    source = ctx.final_instructions("run") if final_only else [i for i in ctx.df.instructions if i.cmd == "run"]
    for ins in source:
        yield ins, run_commands(ins)


def no_install_recommends(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-005: apt-get/apt install without --no-install-recommends in the final image."""
    configured = False
    for ins, cmds in _runs(ctx, final_only=True):
        configured = configured or bool(re.search(r"Install-Recommends\W+(0|false)", " ".join(ins.value), re.I))
        for op in package_ops(cmds):
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
        ops = package_ops(cmds)
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
        if c.name == "rm" and any(a.startswith(d) for a in c.args for d in _CACHE_DIRS[family]):
            return True
        if _family(c.name) == family and family != "apt" and c.args[:1] in (("clean",), ("cc",)):
            return True
        if family == "apk" and c.name == "apk" and "cache" in c.args and "clean" in c.args:
            return True
    return False


def _cache_mounted(ins: Instruction, family: str) -> bool:
    for mount in ins.flag_values("mount"):
        fields = dict(p.partition("=")[::2] for p in mount.split(","))
        target = fields.get("target") or fields.get("dst") or fields.get("destination") or ""
        if fields.get("type") in ("cache", "tmpfs") and target.rstrip("/") in _CACHE_DIRS[family]:
            return True
    return False


def _installed(cmds: tuple[Command, ...]) -> set[str]:
    """Packages a RUN leaves installed: installs minus what the same RUN removes (incl. apk virtuals)."""
    installed: dict[str, str | None] = {}
    removed: set[str] = set()
    for op in package_ops(cmds):
        if op.action in _INSTALL:
            installed.update((package_name(p), op.virtual) for p in op.packages)
        elif op.action in _REMOVE:
            removed.update(package_name(p) for p in op.packages)
    return {p for p, virtual in installed.items() if p not in removed and virtual not in removed}


def extra_tools(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-007: configured unnecessary tools installed in the final image."""
    needed = _healthcheck_programs(ctx)
    for ins, cmds in _runs(ctx, final_only=True):
        found = sorted((_installed(cmds) & ctx.config.unnecessary_tools) - needed)
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
        found = sorted(_installed(cmds) & ctx.config.compilers)
        if found:
            yield Hit(reg.COMPILERS, ins, f"Installs build tools ({', '.join(found)}) in the final image")


def pipe_to_shell(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-010: `curl|wget ... | sh`, `sh <(curl ...)`, `sh -c "$(curl ...)"`."""
    for ins, cmds in _runs(ctx, final_only=False):
        if any(_fetch_into_shell(c) for c in cmds):
            yield Hit(reg.PIPE_SHELL, ins, "A downloaded script is piped straight into a shell")


def _fetch_into_shell(c: Command) -> bool:
    src = c.piped_from
    if c.name in SHELLS and src is not None and src.name in _DOWNLOADERS:
        return True
    if c.name in _DOWNLOADERS and c.substituted_into is not None and c.substituted_into.name in SHELLS:
        return True
    return c.name in SHELLS and any(re.search(r"(\$\(|`)\s*(curl|wget)\b", a) for a in c.args)


def chmod_world_writable(ctx: RuleContext) -> Iterator[Hit]:
    """CG-DF-011: chmod (or COPY/ADD --chmod) giving others write permission."""
    for ins in ctx.df.instructions:
        if ins.cmd in ("copy", "add") and _world_writable(ins.flag("chmod") or ""):
            yield Hit(reg.CHMOD_777, ins, f"--chmod={ins.flag('chmod')} makes files world-writable")
        elif ins.cmd == "run":
            for c in run_commands(ins):
                modes = [a for a in c.args if not a.startswith("-")]
                mode = modes[0] if modes else ""
                if c.name == "chmod" and _world_writable(mode):
                    yield Hit(reg.CHMOD_777, ins, f"`chmod {mode}` makes files world-writable")
                    break


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
