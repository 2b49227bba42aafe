"""Splits the shell of a RUN instruction into simple commands, respecting quotes (via `shlex`)."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from gate.dockerfile import Instruction

_SEPARATORS = frozenset({"&&", "||", ";", "&", "|", "(", ")", "{", "}", "\n", ";;", "|&"})
_WRAPPERS = frozenset({"sudo", "env", "nohup", "time", "exec", "command", "nice", "then", "do", "else", "!"})
_ASSIGN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
SHELLS = frozenset({"sh", "bash", "zsh", "ash", "dash", "ksh"})


@dataclass(frozen=True, slots=True)
class Command:
    """One simple command: argv after dropping leading `VAR=x` assignments."""

    argv: tuple[str, ...]
    piped_from: Command | None = None
    """The command whose output is piped into this one (`a | b` gives b.piped_from == a)."""
    wrapped_by: tuple[str, ...] = ()
    """Wrappers peeled off the front (`sudo`, `env`, ...)."""
    substituted_into: Command | None = None
    """The command reading this one's output through process substitution (`bash <(curl ...)`)."""
    assigns: tuple[tuple[str, str], ...] = ()
    """Leading `NAME=value` words (shell variables when the command has no program)."""

    @property
    def name(self) -> str:
        """The program's base name (`/usr/bin/curl` → `curl`), "" for an empty command."""
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""

    @property
    def args(self) -> tuple[str, ...]:
        """Arguments after the program name."""
        return self.argv[1:]


def script_of(ins: Instruction) -> str:
    """The shell text a RUN executes: heredoc bodies, `sh -c` of the JSON form, or the shell form."""
    if ins.heredocs:
        line = " ".join(ins.value)
        first = line.split(maxsplit=1)[0].rsplit("/", 1)[-1] if line.strip() else ""
        # `RUN <<EOF` and `RUN bash <<EOF` run the body; `RUN cat <<EOF > f` only feeds it data
        if first.startswith("<<") or first in SHELLS:
            return "\n".join((line, *ins.heredocs))
        return line
    if ins.json:
        argv = ins.value
        if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in SHELLS and argv[1] == "-c":
            return argv[2]
        return shlex.join(argv)
    return " ".join(ins.value)


@functools.lru_cache(maxsize=1 << 16)
def commands(script: str) -> tuple[Command, ...]:
    """Every simple command of a script, in order, with pipe links.

    Cached (the result is immutable): about seven rules split every RUN, and shlex is most of a large file's time."""
    out: list[Command] = []
    for line in _logical_lines(script):
        out.extend(_split(_tokens(line)))
    return tuple(out)


def run_commands(ins: Instruction) -> tuple[Command, ...]:
    """Commands of a RUN (or ONBUILD RUN) instruction."""
    return commands(script_of(ins))


def _logical_lines(script: str) -> Iterator[str]:
    """Lines joined over backslash continuations; comment-only lines dropped."""
    pending = ""
    for raw in script.splitlines():
        line = pending + raw
        if line.endswith("\\") and not line.endswith("\\\\"):
            pending = line[:-1] + " "
            continue
        pending = ""
        if not line.lstrip().startswith("#"):
            yield line
    if pending:
        yield pending


def _tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError:
        # unbalanced quotes: fall back to blanks so a broken line still yields its words
        return line.split()


def _split(tokens: list[str]) -> Iterator[Command]:
    current: list[str] = []
    previous: Command | None = None
    into: Command | None = None
    pipe = False
    for tok in [*tokens, ";"]:
        if tok not in _SEPARATORS:
            current.append(tok)
            continue
        procsub = tok == "(" and len(current) > 1 and current[-1] == "<"
        if procsub:
            current.pop()
        if current:
            cmd = _command(current, previous if pipe else None, into)
            yield cmd
            previous = cmd
        into = previous if procsub else None
        current = []
        pipe = tok in ("|", "|&")


def _command(words: list[str], piped_from: Command | None, into: Command | None = None) -> Command:
    wrappers: list[str] = []
    assigns: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        w = words[i]
        if _ASSIGN.match(w):
            name, _, value = w.partition("=")
            assigns.append((name, value))
            i += 1
        elif w in _WRAPPERS:
            wrappers.append(w)
            i += 1
            while w in ("sudo", "env") and i < len(words) and words[i].startswith("-"):
                # options of sudo/env (`sudo -E`, `env -i`); `sudo -u user` takes a value
                i += 2 if words[i] in ("-u", "-g", "-C", "-D", "-U") else 1
        else:
            break
    return Command(
        argv=tuple(words[i:]),
        piped_from=piped_from,
        wrapped_by=tuple(wrappers),
        substituted_into=into,
        assigns=tuple(assigns),
    )
