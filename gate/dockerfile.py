"""The Dockerfile model: BuildKit's parse (via the `dockerfile` package) plus stages, ARG scoping and spans.

Pure: no I/O except `parse_file`. The `dockerfile` package wraps BuildKit's own Go parser, which already
applies the `# escape=` directive, joins continuation lines and reads heredocs; this module adds what
callers need on top: parser directives, stages and their references, ARG/ENV values, and the exact
character spans of each FROM image token and each ARG default, so remediation can rewrite byte-exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gate import speed
from gate.errors import InputError

__all__ = [
    "ArgDecl",
    "Dockerfile",
    "FromLine",
    "Instruction",
    "Span",
    "Stage",
    "expand",
    "parse",
    "parse_file",
    "unquote",
]

_BUILTIN_ARGS = frozenset(
    {
        "BUILDPLATFORM",
        "BUILDOS",
        "BUILDARCH",
        "BUILDVARIANT",
        "TARGETPLATFORM",
        "TARGETOS",
        "TARGETARCH",
        "TARGETVARIANT",
        "TARGETSTAGE",
        "BUILDKIT_SYNTAX",
    }
)
"""ARGs BuildKit defines itself; they resolve only at build time, so they never make a FROM 'unresolved'."""

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"syntax", "escape", "check"})
_IGNORE_FROM = re.compile(r"^\s*#\s*container-gate:\s*ignore(?:\s|$)", re.IGNORECASE)
_VAR_START = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-+?])?|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


@dataclass(frozen=True, slots=True)
class Span:
    """Character offsets into the original text (str indices), end exclusive."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction as BuildKit parsed it, with the stage it belongs to."""

    cmd: str
    """Lower-case instruction: `from`, `run`, `copy`, ..."""
    sub_cmd: str | None
    """Lower-case instruction wrapped by ONBUILD."""
    json: bool
    """Exec (JSON array) form."""
    flags: tuple[str, ...]
    """Flags as written, e.g. `("--from=builder",)`."""
    value: tuple[str, ...]
    original: str
    """BuildKit's joined text of the instruction (continuations removed, heredoc bodies kept)."""
    start_line: int
    """1-based first line."""
    end_line: int
    """1-based last line (inclusive)."""
    stage: int
    """0-based index of the stage it belongs to (-1 before the first FROM)."""
    heredocs: tuple[str, ...] = ()
    """Bodies of the instruction's heredocs, in order."""

    @property
    def kind(self) -> str:
        """What the instruction does: `cmd`, or for `ONBUILD RUN ...` the wrapped `run`."""
        return self.sub_cmd if self.cmd == "onbuild" and self.sub_cmd else self.cmd

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` (the last one wins, as in BuildKit); `""` for a bare `--name`."""
        found: str | None = None
        for f in self.flags:
            key, sep, val = f.partition("=")
            if key.lstrip("-").lower() == name.lower():
                found = val if sep else ""
        return found

    def flag_values(self, name: str) -> tuple[str, ...]:
        """Every value of a repeatable flag such as `--mount`."""
        out = []
        for f in self.flags:
            key, _, val = f.partition("=")
            if key.lstrip("-").lower() == name.lower():
                out.append(val)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class ArgDecl:
    """One `NAME[=default]` of an ARG instruction."""

    name: str
    default: str | None
    """The default with shell quoting removed; None when the ARG has no default."""
    line: int
    default_span: Span | None
    """Span of the default value in the original text, without one pair of enclosing quotes."""
    stage: int
    """-1 for ARGs before the first FROM (the only ones FROM lines see)."""


@dataclass(frozen=True, slots=True)
class FromLine:
    """A FROM instruction with its image reference resolved against global ARGs."""

    line: int
    image: str
    """The image token exactly as written (may contain `${VAR}`)."""
    image_span: Span
    resolved: str
    """The token after substituting global ARG defaults (an ARG without a default expands to "")."""
    arg_refs: tuple[str, ...]
    platform: str | None
    alias: str | None
    stage: int
    stage_ref: int | None
    """Index of the earlier stage this FROM builds on (`FROM builder`), else None."""
    is_scratch: bool
    ignored: bool
    """True when the line before is a `# container-gate: ignore` comment (remediation leaves it alone)."""
    unresolved: tuple[str, ...] = ()
    """Referenced ARGs with no value before the first FROM (BuildKit makes them ""); builtins excluded."""

    @property
    def is_external(self) -> bool:
        """True when the FROM pulls an image (not `scratch`, not an earlier stage)."""
        return not self.is_scratch and self.stage_ref is None


@dataclass(frozen=True, slots=True)
class Stage:
    """A build stage: its FROM and the instructions after it, up to the next FROM."""

    index: int
    name: str | None
    from_: FromLine
    instructions: tuple[Instruction, ...]
    """The stage's instructions, its FROM first."""


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile."""

    path: str
    text: str
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    global_args: tuple[ArgDecl, ...]
    args: tuple[ArgDecl, ...]
    directives: Mapping[str, str]
    """Parser directives from the top of the file (`syntax`, `escape`, `check`), keys lower-case."""
    line_starts: tuple[int, ...] = field(default=(), repr=False)
    """Offset of the first character of each line (index 0 is line 1)."""
    _envs: dict[int, dict[int, dict[str, str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """Per stage index, the ARG/ENV values before each of its instructions (by start line), built once on demand:
    rules ask at every RUN, and folding the stage again each time made a 10,000-line file take minutes."""

    def final_stage(self) -> Stage | None:
        """The last stage (what `docker build` produces without `--target`)."""
        return self.stages[-1] if self.stages else None

    def stage_by_ref(self, ref: str) -> Stage | None:
        """A stage by name (case-insensitive, as BuildKit) or by index; None for an image reference."""
        wanted = ref.strip().lower()
        for st in self.stages:
            if st.name is not None and st.name.lower() == wanted:
                return st
        if wanted.isdigit() and int(wanted) < len(self.stages):
            return self.stages[int(wanted)]
        return None

    def stage_of(self, instruction: Instruction) -> Stage | None:
        """The stage an instruction belongs to (None before the first FROM)."""
        return self.stages[instruction.stage] if instruction.stage >= 0 else None

    def parent_chain(self, stage: Stage) -> tuple[Stage, ...]:
        """The stage and every stage it builds on through `FROM <stage>`, nearest first."""
        chain = [stage]
        while (ref := chain[-1].from_.stage_ref) is not None and len(chain) <= len(self.stages):
            chain.append(self.stages[ref])
        return tuple(chain)

    def copy_from_stage(self, instruction: Instruction) -> Stage | None:
        """The stage a `COPY --from=` refers to (by name or index), None for an image or no flag."""
        ref = instruction.flag("from")
        return None if ref is None else self.stage_by_ref(ref)

    def line_text(self, line: int) -> str:
        """The text of a 1-based line, without its line ending."""
        start = self.line_starts[line - 1]
        end = self.line_starts[line] if line < len(self.line_starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def env_at(self, instruction: Instruction) -> dict[str, str]:
        """ARG and ENV values in effect when `instruction` runs (ENV inherited through `FROM <stage>`).

        ARGs declared in the stage take their default, or the global default of the same name when
        redeclared bare (BuildKit's rule); build-time `--build-arg` values are unknown here.
        """
        stage = self.stage_of(instruction)
        if stage is None:
            return _global_values(self.global_args, upto=instruction.start_line)
        snapshots = self._envs.get(stage.index)
        if snapshots is None:
            env: dict[str, str] = {}
            for parent in reversed(self.parent_chain(stage)[1:]):
                _apply_stage(parent, env, self.global_args)
            snapshots = self._envs[stage.index] = _apply_stage(stage, env, self.global_args)
        found = snapshots.get(instruction.start_line)
        return dict(found) if found is not None else {}


def unquote(word: str, escape: str = "\\") -> str:
    """Remove shell quoting from one word as BuildKit's lexer does (no variable expansion)."""
    out: list[str] = []
    quote: str | None = None
    chars = iter(word)
    for ch in chars:
        if quote == "'":
            if ch == "'":
                quote = None
            else:
                out.append(ch)
        elif ch == escape:
            nxt = next(chars, "")
            if quote == '"' and nxt not in ('"', escape, "$"):
                out.append(ch)
            out.append(nxt)
        elif ch in ("'", '"') and (quote is None or quote == ch):
            quote = None if quote else ch
        else:
            out.append(ch)
    return "".join(out)


def expand(word: str, values: Mapping[str, str | None]) -> tuple[str, tuple[str, ...]]:
    """Expand `$VAR`, `${VAR}`, `${VAR:-d}`, `${VAR-d}`, `${VAR:+x}`, `${VAR+x}` (`?` forms as plain).

    Returns the expanded text and the referenced names, in order of first use. Names missing from
    `values` (or mapped to None) expand to "" as BuildKit does.
    """
    refs: dict[str, None] = {}
    out: list[str] = []
    i = 0
    while i < len(word):
        m = _VAR_START.match(word, i) if word[i] == "$" else None
        if m is None:
            out.append(word[i])
            i += 1
            continue
        name = m.group("braced") or m.group("bare")
        refs[name] = None
        if m.group("bare"):
            out.append(values.get(name) or "")
            i = m.end()
            continue
        close = _closing_brace(word, m.end())
        op, alt = m.group("op") or "", word[m.end() : close]
        inner, inner_refs = expand(alt, values)
        refs.update(dict.fromkeys(inner_refs))
        out.append(_apply_op(values.get(name), op, inner))
        i = close + 1
    return "".join(out), tuple(refs)


def _closing_brace(word: str, start: int) -> int:
    """Index of the `}` that closes a `${`, allowing nested `${...}` in the alternative word."""
    depth = 1
    for j in range(start, len(word)):
        if word[j] == "{":
            depth += 1
        elif word[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    return len(word)


def _apply_op(val: str | None, op: str, alt: str) -> str:
    is_set = val is not None and (val != "" or ":" not in op)
    if op.endswith("-"):
        return val if is_set and val is not None else alt
    if op.endswith("+"):
        return alt if is_set else ""
    return val or ""


def parse_file(path: Path, display: str | None = None) -> Dockerfile:
    """Read a Dockerfile (UTF-8, line endings kept) and parse it; unreadable files raise InputError."""
    shown = display or str(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read Dockerfile: {exc}", path=shown) from exc
    return parse(text, shown)


@speed.memo(4096)
def buildkit_commands(text: str) -> tuple[Any, ...]:
    """BuildKit's parse of `text` (raises `dockerfile.GoParseError`), once per text: the built-in checks and the
    Rego inputs read the same Dockerfiles, and this Go call is most of what a Dockerfile costs (~0.4 ms)."""
    import dockerfile as bk  # lazy: a compiled Go extension, not needed by `--version`

    return tuple(bk.parse_string(text))


def parse(text: str, path: str = "Dockerfile") -> Dockerfile:
    """Parse Dockerfile text; syntax errors raise `InputError(path=...)` naming the line."""
    import dockerfile as bk

    if "\x00" in text:
        raise InputError("not a Dockerfile (contains NUL bytes)", path=path)
    try:
        commands = buildkit_commands(text)
    except bk.GoParseError as exc:
        raise InputError(_locate_error(bk, text, str(exc)), path=path) from None
    directives = _directives(text, path)
    escape = directives.get("escape", "\\")
    return _Builder(text, path, escape, directives).build(commands)


def _locate_error(bk: Any, text: str, message: str) -> str:
    """BuildKit's message lacks the line: find it with a handful of parses, never one per line.

    An unterminated heredoc swallows the rest of the file, so its line is where the last heredoc that never
    closes opened: a linear scan proposes it and BuildKit confirms it (the text before it parses, the text
    through it fails the same way). Other messages take a binary search over prefixes (a parse error stays an
    error as lines are added after it), about 14 parses for 10,000 lines."""
    lines = text.split("\n")
    if message == "unterminated heredoc":
        line = _open_heredoc_line(lines)
        if line is not None and _fails_at(bk, lines, line, message) and not _fails(bk, lines, line - 1):
            return f"line {line}: {message}"
    if message.startswith("dockerfile line greater than max allowed size"):
        line = next((n for n, text in enumerate(lines, 1) if len(text) > _MAX_LINE), None)
        if line is not None:
            return f"line {line}: {message}"
    lo, hi = 0, len(lines)
    if not _fails_at(bk, lines, hi, message):
        return message
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _fails_at(bk, lines, mid, message):
            hi = mid
        else:
            lo = mid
    return f"line {hi}: {message}"


_MAX_LINE = 65535
"""BuildKit's scanner limit for one line (bufio.Scanner's buffer)."""
_HEREDOC = re.compile(r"<<(-?)\s*([\"']?)([^\s\"'<>|&;]+)\2")


def _open_heredoc_line(lines: Sequence[str]) -> int | None:
    """The 1-based line of the last heredoc opener whose terminator never comes, by one pass over the lines."""
    waiting: list[tuple[str, bool]] = []
    opened = 0
    for number, raw in enumerate(lines, 1):
        line = raw.removesuffix("\r")
        if waiting:
            word, strip_tabs = waiting[0]
            if (line.lstrip("\t") if strip_tabs else line) == word:
                waiting.pop(0)
            continue
        if line.lstrip().startswith("#"):
            continue
        found = [(m.group(3), m.group(1) == "-") for m in _HEREDOC.finditer(line)]
        if found:
            waiting, opened = found, number
    return opened if waiting else None


def _fails(bk: Any, lines: Sequence[str], count: int) -> bool:
    try:
        bk.parse_string("\n".join(lines[:count]) + "\n")
    except bk.GoParseError:
        return True
    return False


def _fails_at(bk: Any, lines: Sequence[str], count: int, message: str) -> bool:
    try:
        bk.parse_string("\n".join(lines[:count]) + "\n")
    except bk.GoParseError as exc:
        return str(exc) == message
    return False


def _directives(text: str, path: str) -> dict[str, str]:
    """Parser directives: `# key=value` lines at the very top, until anything else appears (BuildKit)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _DIRECTIVE.match(line)
        if not m or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            break
        key = m.group(1).lower()
        if key in found:
            raise InputError(f"only one {key} parser directive can be used", path=path)
        found[key] = m.group(2)
    esc = found.get("escape")
    if esc is not None and esc not in ("\\", "`"):
        raise InputError(f"invalid escape token {esc!r} does not match ` or \\", path=path)
    return found


def _line_starts(text: str) -> tuple[int, ...]:
    # BuildKit's scanner splits on \n only (a lone \r is not a line break) and drops the \r of \r\n
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    if starts[-1] == len(text) and len(starts) > 1:
        starts.pop()
    return tuple(starts)


class _Builder:
    """Turns BuildKit's flat command list into the model (one use, then discarded)."""

    def __init__(self, text: str, path: str, escape: str, directives: dict[str, str]) -> None:
        self.text, self.path, self.escape, self.directives = text, path, escape, directives
        self.starts = _line_starts(text)
        self.instructions: list[Instruction] = []
        self.froms: list[FromLine] = []
        self.args: list[ArgDecl] = []

    def fail(self, line: int, message: str) -> InputError:
        return InputError(f"line {line}: {message}", path=self.path)

    def build(self, commands: Sequence[Any]) -> Dockerfile:
        import dockerfile as bk

        known = set(bk.all_cmds())
        stage = -1
        for c in commands:
            cmd = (c.cmd or "").lower()
            if cmd not in known:
                raise self.fail(c.start_line, f"unknown instruction: {c.cmd}")
            if cmd == "from":
                stage += 1
            elif stage < 0 and cmd != "arg":
                raise self.fail(c.start_line, f"{c.cmd} before the first FROM (only ARG may come first)")
            ins = self.instruction(c, cmd, stage)
            self.instructions.append(ins)
            if cmd == "from":
                self.froms.append(self.from_line(ins))
            elif cmd == "arg":
                self.args.extend(self.arg_decls(ins))
        if not self.froms:
            raise InputError("no FROM instruction", path=self.path)
        return self.finish()

    def instruction(self, c: Any, cmd: str, stage: int) -> Instruction:
        return Instruction(
            cmd=cmd,
            sub_cmd=c.sub_cmd.lower() if c.sub_cmd else None,
            json=bool(c.json),
            flags=_onbuild_flags(c) if cmd == "onbuild" else tuple(c.flags),
            value=tuple(c.value),
            original=c.original,
            start_line=c.start_line,
            end_line=c.end_line,
            stage=stage,
            heredocs=tuple(h.content for h in c.heredocs),
        )

    def finish(self) -> Dockerfile:
        stages = []
        for f in self.froms:
            body = tuple(i for i in self.instructions if i.stage == f.stage)
            stages.append(Stage(index=f.stage, name=f.alias, from_=f, instructions=body))
        return Dockerfile(
            path=self.path,
            text=self.text,
            instructions=tuple(self.instructions),
            stages=tuple(stages),
            global_args=tuple(a for a in self.args if a.stage == -1),
            args=tuple(self.args),
            directives=dict(self.directives),
            line_starts=self.starts,
        )

    def tokens(self, ins: Instruction) -> list[tuple[str, Span]]:
        """Words of the instruction's logical line with their raw spans (quote-aware, as parseWords)."""
        chars = list(_logical_chars(self.text, self.starts, ins.start_line, ins.end_line, self.escape))
        return list(_words(chars, self.escape))

    def from_line(self, ins: Instruction) -> FromLine:
        words = [w for w in self.tokens(ins)[1:] if not w[0].startswith("--")]
        if not ins.value or not words:
            raise self.fail(ins.start_line, "FROM requires an image")
        image, span = words[0]
        if image != ins.value[0]:
            raise self.fail(ins.start_line, f"cannot read FROM arguments: {ins.original!r}")
        alias = ins.value[2] if len(ins.value) == 3 else None
        if len(ins.value) not in (1, 3) or (alias is not None and ins.value[1].lower() != "as"):
            raise self.fail(ins.start_line, "FROM expects `FROM image [AS name]`")
        return self.resolve_from(ins, image, span, alias)

    def resolve_from(self, ins: Instruction, image: str, span: Span, alias: str | None) -> FromLine:
        known: dict[str, str | None] = {}
        for a in self.args:
            if a.stage == -1:
                known[a.name] = a.default if a.default is not None else known.get(a.name)
        resolved, refs = expand(image, known)
        unresolved = tuple(r for r in refs if known.get(r) is None and r not in _BUILTIN_ARGS)
        stage_ref = self.stage_ref(resolved)
        prev = (
            self.text[self.starts[ins.start_line - 2] : self.starts[ins.start_line - 1]] if ins.start_line > 1 else ""
        )
        return FromLine(
            line=ins.start_line,
            image=image,
            image_span=span,
            resolved=resolved,
            arg_refs=refs,
            platform=ins.flag("platform"),
            alias=alias,
            stage=ins.stage,
            stage_ref=stage_ref,
            is_scratch=resolved.lower() == "scratch",
            ignored=bool(_IGNORE_FROM.match(prev)),
            unresolved=unresolved,
        )

    def stage_ref(self, resolved: str) -> int | None:
        wanted = resolved.lower()
        for f in self.froms:
            if f.alias is not None and f.alias.lower() == wanted:
                return f.stage
        return None

    def arg_decls(self, ins: Instruction) -> Iterator[ArgDecl]:
        words = self.tokens(ins)[1:]
        if len(words) != len(ins.value):
            raise self.fail(ins.start_line, f"cannot read ARG arguments: {ins.original!r}")
        for (raw, span), val in zip(words, ins.value, strict=True):
            name, eq, default = val.partition("=")
            if not name:
                raise self.fail(ins.start_line, f"ARG without a name: {val!r}")
            dspan = _default_span(raw, span) if eq else None
            yield ArgDecl(
                name=name,
                default=unquote(default, self.escape) if eq else None,
                line=ins.start_line,
                default_span=dspan,
                stage=ins.stage,
            )


def _onbuild_flags(c: Any) -> tuple[str, ...]:
    """Flags of the instruction an ONBUILD wraps (BuildKit's parse leaves them out of ONBUILD's own)."""
    import dockerfile as bk

    inner = re.sub(r"^\s*onbuild\s+", "", c.original, flags=re.IGNORECASE)
    try:
        parsed = bk.parse_string(inner + "\n")
    except bk.GoParseError:
        return tuple(c.flags)
    return tuple(parsed[0].flags) if parsed else tuple(c.flags)


def _default_span(raw: str, span: Span) -> Span:
    """Span of the text after `=`, without one pair of quotes enclosing all of it."""
    start = span.start + raw.index("=") + 1
    value = raw[raw.index("=") + 1 :]
    if span.end - span.start != len(raw):
        # a continuation runs through the word: offsets no longer line up char for char
        return Span(start, span.end)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return Span(start + 1, span.end - 1)
    return Span(start, span.end)


def _logical_chars(text: str, starts: Sequence[int], first: int, last: int, escape: str) -> Iterator[tuple[str, int]]:
    """(char, raw offset) of an instruction's logical line, joined the way BuildKit joins continuations."""
    for lineno in range(first, last + 1):
        begin = starts[lineno - 1]
        end = starts[lineno] if lineno < len(starts) else len(text)
        line = text[begin:end].rstrip("\r\n")
        if lineno == first:
            stripped = len(line) - len(line.lstrip(" \t"))
        else:
            if re.match(r"^[ \t]*#", line) or not line.strip(" \t"):
                continue  # comment and empty lines inside a continuation are dropped
            stripped = 0
        cont = re.search(re.escape(escape) + r"[ \t]*$", line)
        stop = cont.start() if cont and lineno < last else len(line)
        for i in range(stripped, stop):
            yield line[i], begin + i


def _words(chars: Sequence[tuple[str, int]], escape: str) -> Iterator[tuple[str, Span]]:
    """Split on blanks outside quotes, keeping quotes and escapes in the word (BuildKit's parseWords)."""
    word: list[tuple[str, int]] = []
    quote: str | None = None
    escaped = False
    for ch, pos in chars:
        if not word and ch in " \t" and quote is None:
            continue
        if quote is None and not escaped and ch in " \t":
            yield "".join(c for c, _ in word), Span(word[0][1], word[-1][1] + 1)
            word = []
            continue
        word.append((ch, pos))
        if escaped:
            escaped = False
        elif ch == escape and quote != "'":
            escaped = True
        elif quote is None and ch in "'\"":
            quote = ch
        elif ch == quote:
            quote = None
    if word:
        yield "".join(c for c, _ in word), Span(word[0][1], word[-1][1] + 1)


def _global_values(args: Sequence[ArgDecl], upto: int | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for a in args:
        if (upto is None or a.line < upto) and a.default is not None:
            out[a.name] = a.default
    return out


def _apply_stage(stage: Stage, env: dict[str, str], global_args: Sequence[ArgDecl]) -> dict[int, dict[str, str]]:
    """Fold one stage's ARG and ENV instructions into `env`, in one pass.

    Returns what an instruction of this stage sees, by its start line: the ENV so far, with the stage's ARGs
    under them (ENV wins over an ARG of the same name; ARGs do not pass to stages built on this one)."""
    globals_ = _global_values(global_args, upto=None)
    args: dict[str, str] = {}
    seen: dict[int, dict[str, str]] = {}
    for ins in stage.instructions:
        seen.setdefault(ins.start_line, {**args, **env})
        if ins.cmd == "arg":
            for val in ins.value:
                name, eq, default = val.partition("=")
                if eq:
                    args[name] = expand(unquote(default), {**env, **args})[0]
                elif name in globals_:
                    args[name] = globals_[name]
        elif ins.cmd == "env":
            for name, raw in zip(ins.value[::2], ins.value[1::2], strict=False):
                env[name] = expand(unquote(raw), {**args, **env})[0]
    return seen
