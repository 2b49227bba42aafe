"""Time and memory bounds for compiling and evaluating policies that may come from a pull request.

regorus has no execution timer or memory cap in its Python API (its VM has them, unexposed), its parser is
exponential in nesting (25 nested `[` take minutes), and a runaway policy (a comprehension over a huge
`numbers.range`, a cross product of every input) runs until the job's own timeout, or crashes the process. So the
whole Rego step runs in a forked child: compiling each policy file, reading data and evaluating each input are
*steps*, each bounded by the same wall time; the child's address space may grow by the memory budget over what it
had when forked (`RLIMIT_AS`; an allocation past it aborts the engine); the parent waits with the deadline of the
current step and kills the child when the time is up. The child names each step as it starts, so an error names
the policy file being compiled or the input being evaluated. Nothing is compiled twice: the child compiles, and
what crosses back is plain data.

`bounded_all` forks several such children at once (the Rego check splits its inputs over one per core, each
compiling the policies once) with the same step protocol and the same bounds for each. Where `os.fork` is
missing, work runs in-process unbounded.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gate.errors import GateError, PolicyError

T = TypeVar("T")

DEFAULT_SECONDS = 10.0
DEFAULT_MEMORY_MIB = 2048
_OUT_OF_MEMORY = 3
_WHERE = "in .container-gate.yml"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on the Rego step of a run (config: `rego: {timeout-seconds, memory-mib}`)."""

    seconds: float = DEFAULT_SECONDS
    """Wall time of one step: compiling one policy file, evaluating one input file, running one test."""
    memory_mib: int = DEFAULT_MEMORY_MIB
    """Memory the child may add to what it held when forked."""


Progress = Callable[[str, str], None]
"""`progress(subject, doing)`: a new step starts on `subject` (a file), described by `doing` ("evaluating p/")."""


def bounded(work: Callable[[Progress], T], limits: Limits | None = None) -> T:
    """`work(progress)` in a forked child under `limits` (None: the defaults); GateErrors it raises come back."""
    return bounded_all([work], limits)[0]


def bounded_all(works: Sequence[Callable[[Progress], T]], limits: Limits | None = None) -> list[T]:
    """Every `work(progress)` in its own forked child, all at once, each bounded as `bounded` bounds one.

    The results come back in the order of `works`. When a child fails, the others still finish (each is bounded),
    and the error raised is that of the first failing work in that order, so a run split over workers fails as
    the same run in one child would; a step over time ends every child at once."""
    limits = limits or Limits()
    if not hasattr(os, "fork"):
        return [work(lambda _subject, _doing: None) for work in works]
    children: list[_Child] = []
    try:
        # (One by one: children forked before a failing fork are still stopped below.)
        children.extend(_fork(work, limits) for work in works)
        return _wait(children, limits)
    finally:
        for child in children:
            child.stop()


@dataclass(slots=True)
class _Child:
    pid: int
    pipe: int
    board: _Board
    deadline: float
    frames: _Frames = field(default_factory=lambda: _Frames())
    seen: int = 0
    """The last step number the parent saw on the board."""
    code: int | None = None
    """The exit code once the child has ended and been reaped."""
    closed: bool = False

    def look(self, now: float, limits: Limits) -> None:
        """A new step since the last look restarts the clock (so a step may run up to `POLL_SECONDS` over)."""
        step = self.board.step()
        if step != self.seen:
            self.seen = step
            self.deadline = now + limits.seconds

    def stop(self) -> None:
        if self.code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.code = -signal.SIGKILL
        if not self.closed:
            os.close(self.pipe)
            self.board.close()
            self.closed = True


POLL_SECONDS = 0.05
"""How often the parent looks at the children's boards while none of them writes to its pipe."""


class _Board:
    """Where a child posts the step it starts (a counter and `subject\0doing` in shared memory, guarded as a
    seqlock: odd while being written): a step costs the child no system call and wakes no process, which a
    frame per input file on the pipe did (a fifth of a 1,000-file run went to those wake-ups)."""

    SIZE = 4096

    def __init__(self) -> None:
        self.map = mmap.mmap(-1, self.SIZE)

    def post(self, subject: str, doing: str) -> None:  # pragma: no cover (called in the child)
        data = f"{subject}\0{doing}".encode(errors="replace")[: self.SIZE - 12]
        seq = struct.unpack_from("<Q", self.map, 0)[0]
        struct.pack_into("<Q", self.map, 0, seq + 1)
        struct.pack_into("<I", self.map, 8, len(data))
        self.map[12 : 12 + len(data)] = data
        struct.pack_into("<Q", self.map, 0, seq + 2)

    def step(self) -> int:
        return int(struct.unpack_from("<Q", self.map, 0)[0]) // 2

    def read(self) -> tuple[str, str]:
        """(subject, doing) of the step posted last ("" and a generic text before the first)."""
        data = b""
        for _ in range(1000):  # a child killed mid-write leaves the counter odd: never spin for ever
            seq = struct.unpack_from("<Q", self.map, 0)[0]
            size = min(struct.unpack_from("<I", self.map, 8)[0], self.SIZE - 12)
            data = bytes(self.map[12 : 12 + size])
            if seq % 2 == 0 and struct.unpack_from("<Q", self.map, 0)[0] == seq:
                break
        subject, _, doing = data.decode(errors="replace").partition("\0")
        return subject, doing or "evaluating the policies"

    def close(self) -> None:
        self.map.close()


def _fork(work: Callable[[Progress], T], limits: Limits) -> _Child:
    board = _Board()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its effects are tested)
        code = 70
        try:
            os.close(read)
            code = _child(work, write, board, limits)
        finally:
            # Never return into the parent's code: whatever happened, the child ends here.
            os._exit(code)
    # Closed at once, so a child forked next inherits no write end and each pipe ends when its own child does.
    os.close(write)
    return _Child(pid, read, board, deadline=time.monotonic() + limits.seconds)


def _wait(children: list[_Child], limits: Limits) -> list[Any]:
    running = {child.pipe: child for child in children}
    while running:
        now = time.monotonic()
        for child in running.values():
            child.look(now, limits)
        late = min(running.values(), key=lambda c: c.deadline)
        if late.deadline <= now:
            subject, doing = late.board.read()
            for child in children:
                child.stop()
            raise PolicyError(
                f"{doing} did not finish within {limits.seconds:g} s (the limit is rego.timeout-seconds {_WHERE})",
                path=subject or None,
            )
        ready, _, _ = select.select(list(running), [], [], min(POLL_SECONDS, late.deadline - now))
        for pipe in ready:
            child = running[pipe]
            chunk = os.read(pipe, 1 << 20)
            if chunk:
                child.frames.feed(chunk)
                continue
            del running[pipe]
            _, status = os.waitpid(child.pid, 0)
            child.code = os.waitstatus_to_exitcode(status)
    outcomes: list[Any] = []
    for child in children:
        assert child.code is not None
        outcomes.append(_outcome(child.frames, child.board.read(), child.code, limits))
    return outcomes


def _child(work: Callable[[Progress], T], out: int, board: _Board, limits: Limits) -> int:  # pragma: no cover
    def send(kind: bytes, payload: bytes) -> None:
        data = kind + struct.pack(">I", len(payload)) + payload
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]

    try:
        # The engine's abort message and backtrace (and policies' print()) would break the one-line error: what
        # matters comes back through the pipe.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        _cap_memory(limits.memory_mib)
        result = work(board.post)
        send(b"R", pickle.dumps(result))
    except MemoryError:
        return _OUT_OF_MEMORY
    except GateError as exc:
        send(b"E", pickle.dumps(exc))
    except BaseException as exc:  # noqa: BLE001 (everything must reach the parent)
        send(b"X", f"{type(exc).__name__}: {exc}".encode(errors="replace"))
    return 0


def _cap_memory(budget_mib: int) -> None:  # pragma: no cover (forked)
    import resource

    # The interpreter and regorus already map about 1 GiB of address space before doing anything, so the cap is
    # what is mapped now plus the budget; a bare `memory-mib: 512` would otherwise fail every policy.
    cap = _address_space() + budget_mib * 1024 * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _address_space() -> int:  # pragma: no cover (forked)
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class _Frames:
    """Length-prefixed frames from the child: `R` result, `E` GateError, `X` other error (the first one counts)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.final: tuple[bytes, bytes] | None = None

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= 5:
            size = struct.unpack(">I", self.buffer[1:5])[0]
            if len(self.buffer) < 5 + size:
                return
            kind, payload = bytes(self.buffer[:1]), bytes(self.buffer[5 : 5 + size])
            del self.buffer[: 5 + size]
            if self.final is None:
                self.final = (kind, payload)


def _outcome(frames: _Frames, step: tuple[str, str], code: int, limits: Limits) -> Any:
    subject, doing = step
    where = subject or None
    if frames.final is not None:
        kind, payload = frames.final
        if kind == b"R":
            return pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if kind == b"E":
            raise pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        raise PolicyError(f"{doing} failed: {payload.decode(errors='replace')}", path=where)
    if code in (_OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL):
        # Rust aborts when an allocation fails; the kernel's OOM killer sends SIGKILL.
        raise PolicyError(
            f"{doing} ran out of memory (limit {limits.memory_mib} MiB; the limit is rego.memory-mib {_WHERE})",
            path=where,
        )
    what = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
    raise PolicyError(f"{doing} crashed the policy engine ({what})", path=where)
