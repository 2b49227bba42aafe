"""Turns configuration files into the input documents Conftest would hand a policy (YAML, JSON, TOML, Dockerfile)."""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, NamedTuple

from gate import speed
from gate.errors import InputError

_STRUCTURED = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}


class Document(NamedTuple):
    """One input document a policy sees as `input`, with the line it starts on when the file holds several."""

    value: Any
    line: int | None = None


def input_kind(path: Path) -> str | None:
    """`yaml`, `json`, `toml` or `dockerfile` for a file the engine can take, else None.

    The extension wins; otherwise a name containing `dockerfile` or `containerfile` (any case) is a
    Dockerfile, as Conftest's own file-type guess does for `Dockerfile`, `app.Dockerfile`, `Dockerfile.dev`.
    """
    kind = _STRUCTURED.get(path.suffix.lower())
    if kind:
        return kind
    name = path.name.lower()
    if "dockerfile" in name or "containerfile" in name:
        return "dockerfile"
    return None


def is_policy_input(path: Path) -> bool:
    """True for YAML/JSON/TOML/Dockerfile config files the Rego engine can evaluate."""
    return input_kind(path) is not None


def parse_input(path: Path) -> Any:
    """What `conftest parse` prints for `path`: a document, a list of YAML documents, or `[[commands]]`."""
    return _parse(path)[0]


def load_documents(path: Path, *, stream: bool = False) -> tuple[Document, ...]:
    """The documents Conftest evaluates one by one: a top-level list is split into its elements. `stream`: a YAML
    file's documents as a YAML stream holds them, empty ones left out (how gator reads its inputs)."""
    value, lines = _parse(path, stream=stream)
    if isinstance(value, list):
        return tuple(Document(v, lines[i] if i < len(lines) else None) for i, v in enumerate(value))
    return (Document(value),)


def _parse(path: Path, *, stream: bool = False) -> tuple[Any, Sequence[int | None]]:
    kind = input_kind(path)
    if kind is None:
        raise InputError("not a YAML, JSON, TOML or Dockerfile input", path=str(path))
    if kind == "dockerfile" and _parsed_before_fork:
        known = _parsed_before_fork.get(str(path))
        if isinstance(known, InputError):
            raise known
        if known is not None:
            return known, ()
    try:
        text = _read(path).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {exc}", path=str(path)) from exc
    if kind == "yaml":
        return _yaml_stream(text, path) if stream else _yaml(text, path)
    if kind == "json":
        return _json(text, path), ()
    if kind == "toml":
        return _toml(text, path), ()
    return [dockerfile_commands(text, path)], ()


_parsed_before_fork: dict[str, list[Any] | InputError] = {}
"""Dockerfile inputs parsed before the fork, for this Rego worker (see `parsed_dockerfiles`)."""


def parsed_dockerfiles(paths: Sequence[Path]) -> dict[str, list[Any] | InputError]:
    """The Dockerfiles among `paths` parsed here, for Rego workers forked after this process loaded the parser.

    The Dockerfile parser is BuildKit's, a Go library: once this process has called it, the Go runtime holds
    threads a forked child does not get, and the child's next call into it hangs at the runtime's first garbage
    collection (a run with ~40 Dockerfiles and `--policy` timed out that way after the built-in Dockerfile checks
    had parsed them here). So such workers never call it: they get its answers (or the error, raised where a
    sequential run would meet it) from this table (`take_parsed_dockerfiles`). Without the library loaded here,
    the table is empty: the workers load and call it themselves, which is safe."""
    if "dockerfile" not in sys.modules:
        return {}
    table: dict[str, list[Any] | InputError] = {}
    for path in paths:
        if input_kind(path) != "dockerfile" or str(path) in table:
            continue
        try:
            table[str(path)] = _parse(path)[0]
        except InputError as exc:
            table[str(path)] = exc
    return table


def take_parsed_dockerfiles(table: dict[str, list[Any] | InputError]) -> None:
    """In a worker: read the Dockerfiles of `table` as parsed there (see `parsed_dockerfiles`)."""
    _parsed_before_fork.clear()
    _parsed_before_fork.update(table)


def _read(path: Path) -> bytes:
    """The file's bytes: `Path.read_bytes`, or (fast path) one `open`, `fstat` and `read` without Python's
    buffered file objects, half the cost on a thousand small manifests. Any error is left to `read_bytes`, so it
    reads exactly as on the plain path."""
    if speed.ENABLED:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode):
                    data = os.read(fd, info.st_size + 1)
                    if len(data) <= info.st_size:
                        return data  # a regular file reads short only at its end
            except OSError:
                pass
            finally:
                os.close(fd)
    return path.read_bytes()


def _json(text: str, path: Path) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno}: {exc.msg}", path=str(path)) from exc
    if "\\u" in text:  # (an escaped lone surrogate is U+FFFD to Go's decoder, as to Conftest)
        from gate.ingest import replace_lone_surrogates

        return replace_lone_surrogates(value)
    return value


def _toml(text: str, path: Path) -> Any:
    import tomllib

    try:
        return _plain(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"invalid TOML: {exc}", path=str(path)) from exc


def _plain(value: Any) -> Any:
    """JSON-safe copy: dates and times become RFC 3339 text, as Go's encoder writes `time.Time`."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _yaml(text: str, path: Path) -> tuple[Any, list[int | None]]:
    from gate.safe_yaml import first_document

    # Documents as Conftest's YAML parser cuts them: the text split at each `---` line (`\n---\n`, or `\r\n---\r\n`
    # in a file with a CRLF anywhere), each piece read as one document (its first; an empty or comment-only piece
    # is null, and is evaluated as null). A file without such a line is one document. The one YAML loader reads
    # each piece (limits on size, aliases and values JSON cannot hold; go-yaml's scalars, as Conftest, OPA and
    # gator read YAML); its values are JSON-safe already, so no second walk here.
    pieces = _conftest_pieces(text)
    if len(pieces) == 1:
        return first_document(text, str(path), go_yaml=True)[0], []
    values: list[Any] = []
    lines: list[int | None] = []
    for piece, start in pieces:
        value, line = first_document(piece, str(path), go_yaml=True, first_line=start)
        values.append(value)
        lines.append(start if line is None else line)  # (an empty piece is where it starts: two are two findings)
    return values, lines


def _yaml_stream(text: str, path: Path) -> tuple[Any, list[int | None]]:
    from gate.safe_yaml import load_documents as yaml_documents

    docs = yaml_documents(text, str(path), go_yaml=True)
    if len(docs) <= 1:
        return (docs[0][0] if docs else None), []
    kept = [(v, line) for v, line in docs if v is not None]
    return [v for v, _ in kept], [line for _, line in kept]


def _conftest_pieces(text: str) -> list[tuple[str, int]]:
    """Conftest's `separateSubDocuments`: each piece and the line (1-based) it starts on."""
    newline = "\r\n" if "\r\n" in text else "\n"
    separator = f"{newline}---{newline}"
    parts = text.split(separator)
    if text.startswith("%"):  # a directive belongs to the first document
        parts = [text] if len(parts) <= 2 else [parts[0] + separator + parts[1], *parts[2:]]
    pieces, line = [], 1
    for part in parts:
        pieces.append((part, line))
        line += part.count("\n") + 2  # (the separator's own two line ends)
    return pieces


# --- Dockerfile: Conftest's parser/docker shape -------------------------------------------------------------

_KEY_VALUE_COMMANDS = {"env", "label"}


def dockerfile_commands(text: str, path: Path | None = None) -> list[dict[str, Any]]:
    """Conftest's command list for a Dockerfile: `{Cmd, SubCmd, JSON, Flags, Value, Stage}` per instruction,
    with the comments before an instruction as `Cmd: "comment"` commands (BuildKit's `PrevComment`)."""
    import dockerfile

    from gate.dockerfile import buildkit_commands

    try:
        parsed = buildkit_commands(text)
    except dockerfile.GoParseError as exc:
        raise InputError(f"invalid Dockerfile: {exc}", path=str(path) if path else None) from exc
    lines = text.splitlines()
    commands: list[dict[str, Any]] = []
    stage = -1
    previous_end = 0
    for command in parsed:
        if command.cmd.lower() == "from":
            stage += 1
        current = max(stage, 0)
        comments = _comments_between(lines, previous_end, command.start_line - 1)
        commands.extend(_command("comment", "", False, None, [c], current) for c in comments)
        commands.append(_instruction(command, current))
        previous_end = command.end_line
    return commands


def _instruction(command: Any, stage: int) -> dict[str, Any]:
    cmd = command.cmd.lower()
    sub = (command.sub_cmd or "").lower()
    values = list(command.value)
    if (sub or cmd) in _KEY_VALUE_COMMANDS and not command.json:
        values = _with_separators(values, command.original, cmd, sub)
    return _command(cmd, sub, bool(command.json), list(command.flags), values or None, stage)


def _command(
    cmd: str, sub: str, js: bool, flags: list[str] | None, value: list[str] | None, stage: int
) -> dict[str, Any]:
    return {"Cmd": cmd, "SubCmd": sub, "JSON": js, "Flags": flags, "Value": value, "Stage": stage}


def _with_separators(values: list[str], original: str, cmd: str, sub: str) -> list[str]:
    """BuildKit keeps ENV/LABEL pairs as `key, value, sep` triples: `=` for `K=V`, empty for the old `K V` form.

    The `dockerfile` package drops the separator node, so it is put back from the instruction text.
    """
    words = original.split()
    skip = 2 if sub else 1
    rest = [w for w in words[skip:] if not w.startswith("--")]
    sep = "=" if rest and "=" in rest[0] else ""
    out: list[str] = []
    for i in range(0, len(values) - 1, 2):
        out += [values[i], values[i + 1], sep]
    return out


_COMMENT = re.compile(r"^\s*#")


def _comments_between(lines: list[str], start: int, stop: int) -> list[str]:
    """Comment texts on lines [start, stop) (0-based) exactly as BuildKit collects them: `#` alone resets the
    list, and the text is the line minus its first character, trimmed (so an indented `  # x` keeps its `#`)."""
    found: list[str] = []
    for raw in lines[start:stop]:
        if not _COMMENT.match(raw):
            continue
        text = raw[1:].strip()
        found = found + [text] if text else []
    return found
