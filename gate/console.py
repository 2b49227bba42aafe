"""Every line the gate prints to the log goes through one writer.

In GitHub Actions the runner reads the log for workflow commands: a line starting with `::` (or the legacy `##[`)
is obeyed, so a report title `x\\n::stop-commands::t` printed raw would switch our own commands off, masks included.
Three rules make that impossible:

- masks (`::add-mask::`) are written before anything else, and nothing else may be written before them;
- text that is not ours goes through `clean`: no line breaks, no C0/C1 controls (ANSI escapes start with ESC) and
  no bidirectional overrides, so it can never start a line, recolour the log or reorder what a reader sees;
- a line we print that still starts like a command (an untrusted value at its very start) is indented by one space;
  only `command` writes a line that starts with `::`, and it escapes the message and properties as the runner
  expects (`%`, CR, LF; in properties also `:` and `,`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

from gate.model import Severity

if TYPE_CHECKING:
    from gate.config import GateConfig
    from gate.model import Decision, Verdict

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x85]")
_COMMAND_START = ("::", "##[")
_NAME = re.compile(r"[a-z][a-z-]*")


def clean(text: str) -> str:
    """Untrusted text for one log line: line breaks become ` ⏎ `, control and bidi characters are dropped."""
    if _BREAKS.search(text):
        text = _BREAKS.sub(" ⏎ ", text)
    return _CONTROL.sub("", text)


def escape_data(text: str) -> str:
    """A workflow command's message, as the runner's `escapeData` (%, CR, LF), after `clean`'s control drop."""
    return _CONTROL.sub("", text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def escape_property(text: str) -> str:
    """A workflow command property value (`escapeProperty`: also `:` and `,`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> str:
    """One workflow command line, ours by construction: `::name k=v,...::message`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a workflow command name: {name!r}")
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


class Console:
    """The log writer: masks first, then our lines, never a line that untrusted text can start."""

    def __init__(self, stream: TextIO, *, actions: bool) -> None:
        self.stream = stream
        self.actions = actions
        self._started = False

    def mask(self, secrets: Iterable[str]) -> None:
        """`::add-mask::` for each secret and each of its lines; only before anything else was printed."""
        if self._started:
            raise RuntimeError("masks must be written before any other line")
        if not self.actions:
            return
        lines = {part.strip() for value in secrets for part in (value, *value.splitlines()) if part.strip()}
        self.stream.write("".join(command("add-mask", line) + "\n" for line in sorted(lines)))

    def line(self, text: str = "") -> None:
        """Print our own line(s); any untrusted part must have gone through `clean` already."""
        self._started = True
        parts = text.split("\n")
        if self.actions:
            parts = [" " + part if part.startswith(_COMMAND_START) else part for part in parts]
        self.stream.write("\n".join(parts) + "\n")

    def command(self, name: str, message: str, properties: Iterable[tuple[str, str]] = ()) -> None:
        """Print one workflow command (only in GitHub Actions; elsewhere the message as a plain line)."""
        self._started = True
        if self.actions:
            self.stream.write(command(name, message, properties) + "\n")
        else:
            self.stream.write(clean(message) + "\n")

    def raw(self, text: str) -> None:
        """Text already made of whole command lines by this module (annotations): written as it is."""
        self._started = True
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class Log(io.TextIOBase):
    """The command's log stream; a reader that went away (`container-gate gate . | head`) ends the log,
    not the run: the outputs, the GitHub integration and the exit code still follow the verdict."""

    def __init__(self, stream: TextIO) -> None:
        self.stream: TextIO | None = stream

    def write(self, text: str) -> int:
        if self.stream is not None:
            try:
                self.stream.write(text)
            except BrokenPipeError:
                self.stream = None
        return len(text)

    def flush(self) -> None:
        if self.stream is not None:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self.stream = None


# --- the lines of a gate run ------------------------------------------------------------------------------


def one_line(verdict: Verdict, blocking: Sequence[Decision] | None = None) -> str:
    """The verdict as people read it in a log (`blocking`: `verdict.blocking` when already at hand)."""
    blocking = verdict.blocking if blocking is None else blocking
    by_sev = ", ".join(
        f"{n} {s.name}" for s in reversed(Severity) if (n := sum(1 for d in blocking if d.finding.severity is s))
    )
    state = "PASS" if verdict.passed else "FAIL"
    detail = f"{len(blocking)} blocking ({by_sev})" if blocking else "nothing blocks"
    threshold = verdict.fail_on.name if verdict.fail_on is not None else "NONE"
    # Counted, not `len(verdict.active)`: those properties sort every decision just to be measured.
    active = sum(1 for d in verdict.decisions if d.suppression is None)
    return (
        f"container-gate: {state}: {detail}; {active} active, {len(verdict.decisions) - active} suppressed "
        f"of {len(verdict.decisions)} findings (fail-on {threshold})"
    )


MAX_LOG_LINES = 25


def blocking_lines(
    verdict: Verdict, limit: int = MAX_LOG_LINES, blocking: Sequence[Decision] | None = None
) -> list[str]:
    """The blocking findings, most severe first, one line each: the log says why without opening a file."""
    blocking = verdict.blocking if blocking is None else blocking
    lines = []
    for d in blocking[:limit]:
        f = d.finding
        what = f" {f.package} {f.installed_version or ''}".rstrip() if f.package else ""
        fix = f" -> {f.fixed_version}" if f.fixed_version else (" (no fix)" if f.kind.value == "vulnerability" else "")
        loc = f.location
        where = f" at {loc.path}:{loc.start_line}" if loc and loc.start_line else f" in {f.target}"
        why = "".join(f" [{r}]" for r in d.reasons if r != "severity")
        # Every part but the severity comes from a report: one cleaned line, never a workflow command.
        lines.append(f"  {f.severity.name:<8} {clean(f'{f.id}{what}{fix}{where}{why}: {f.title}')}"[:240])
    if len(blocking) > limit:
        lines.append(f"  ... and {len(blocking) - limit} more blocking findings (see the summary or --json)")
    return lines


MAX_SKIPPED_LINES = 10


def context_lines(verdict: Verdict, config: GateConfig) -> list[str]:
    """What else decided the verdict: the config used, expired ignores, skipped files, notes (untrusted text
    cleaned: file names and reasons can come from a pull request)."""
    lines = [f"  config: {clean(config.path)}" if config.path else "  config: none found (defaults apply)"]
    lines += [
        f"  expired ignore: {clean(e.id)} (expired {clean(e.expires)}, {clean(e.origin)}): suppresses nothing now"
        for e in verdict.expired_ignores
    ]
    skipped = verdict.skipped
    lines += [f"  skipped: {clean(s.report)}: {clean(s.reason)}"[:240] for s in skipped[:MAX_SKIPPED_LINES]]
    if len(skipped) > MAX_SKIPPED_LINES:
        lines.append(f"  ... and {len(skipped) - MAX_SKIPPED_LINES} more skipped (see --json)")
    lines += [f"  note: {clean(n)}" for n in verdict.notes]
    return lines


def verdict_lines(verdict: Verdict, config: GateConfig, written: Sequence[object]) -> list[str]:
    """Everything a gate run prints after deciding: the verdict, what blocks, what else decided it, the files."""
    blocking = verdict.blocking  # a sort of every decision: once, not per use
    return [
        one_line(verdict, blocking),
        *blocking_lines(verdict, blocking=blocking),
        *context_lines(verdict, config),
        *(f"  wrote {clean(str(path))}" for path in written),
    ]
