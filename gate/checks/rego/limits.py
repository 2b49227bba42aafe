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

`bounded_all` forks several such children at once with the same step protocol and the same bounds for each.
`bounded_batches` is the same pool fed from a queue: each child sets up once (compiles the policies), then takes
numbered batches of work one at a time from a pipe they share (whoever is free takes the next, so a slow file or a
busy core delays no one else), and sends each batch's result back as soon as it is done; the parent hands it on
while the others still work. Where `os.fork` is missing, work runs in-process unbounded.
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
from dataclasses import dataclass
from typing import Any, TypeVar

from gate.errors import GateError, PolicyError

T = TypeVar("T")
S = TypeVar("S")
P = TypeVar("P")
F = TypeVar("F")

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
        children.extend(_fork(_whole(work), limits) for work in works)
        _wait(children, limits)
        return [_outcome(child, limits) for child in children]
    finally:
        for child in children:
            child.stop()


def bounded_batches(
    setup: Callable[[Progress], S],
    handle: Callable[[S, int, Progress], P],
    batches: int,
    consume: Callable[[int, P], None],
    *,
    finish: Callable[[S], F],
    workers: int = 1,
    limits: Limits | None = None,
) -> F:
    """`handle(state, index, progress)` for every batch index in `range(batches)`, in `workers` forked children
    that each run `state = setup(progress)` once and then take the next index from a shared queue; the parent
    calls `consume(index, result)` for each batch as it arrives (in any order: the caller puts them back in
    order). Returns `finish(state)` of the first child, after its last batch (plain data: it crosses back).

    Every step is bounded as in `bounded`. An error is the one the same batches would meet run in order in one
    child: that of the lowest batch index that failed (a failed `setup` counts as before every batch), raised as
    soon as every batch before it has come back; a step over time ends every child at once."""
    limits = limits or Limits()
    if not hasattr(os, "fork"):
        quiet: Progress = lambda _subject, _doing: None  # noqa: E731
        state = setup(quiet)
        for index in range(batches):
            consume(index, handle(state, index, quiet))
        return finish(state)
    queue_out, queue_in = os.pipe()
    try:
        # Every index is in the pipe before the first fork, and its write end is closed, so an empty pipe reads
        # as its end: a child stops when nothing is left. (Reads of 4 bytes are atomic: each index goes once.)
        indices = struct.pack(f"<{batches}I", *range(batches))
        if len(indices) > _QUEUE_BYTES:
            raise ValueError(f"at most {_QUEUE_BYTES // 4} batches")
        view = memoryview(indices)
        while view:
            view = view[os.write(queue_in, view) :]
    finally:
        os.close(queue_in)
    children: list[_Child] = []
    try:
        body = _from_queue(setup, handle, finish, queue_out)
        children.extend(_fork(body, limits) for _ in range(max(1, workers)))
        os.close(queue_out)
        queue_out = -1
        done: set[int] = set()

        def part(child: _Child, payload: bytes) -> None:
            index, result = pickle.loads(payload)  # noqa: S301 (our own child's bytes)
            done.add(index)
            consume(index, result)

        def settled(failed: int) -> bool:
            # An error at batch `failed` is final once no earlier batch can still fail.
            return all(i in done for i in range(failed))

        _wait(children, limits, part=part, settled=settled)
        failures = [child for child in children if child.failed is not None]
        if failures:
            first = min(failures, key=lambda child: child.failed if child.failed is not None else 0)
            _outcome(first, limits)  # raises
        return _outcome(children[0], limits)  # type: ignore[no-any-return]
    finally:
        if queue_out >= 0:
            os.close(queue_out)
        for child in children:
            child.stop()


_QUEUE_BYTES = 4096
"""What the batch queue may hold: one page, the least a pipe holds however short of pipe memory the system is,
so the parent never blocks filling it before any child reads."""

MAX_BATCHES = _QUEUE_BYTES // 4


def _whole(work: Callable[[Progress], T]) -> Callable[[_Link], T]:
    return lambda link: work(link.board.post)


def _from_queue(
    setup: Callable[[Progress], S], handle: Callable[[S, int, Progress], P], finish: Callable[[S], F], queue: int
) -> Callable[[_Link], F]:
    def body(link: _Link) -> F:  # pragma: no cover (runs in the child)
        post = link.board.post
        link.board.batch(-1)
        state = setup(post)
        while True:
            raw = os.read(queue, 4)
            if len(raw) < 4:
                return finish(state)
            index = struct.unpack("<I", raw)[0]
            link.board.batch(index)
            result = handle(state, index, post)
            link.send(b"P", pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL))

    return body


class _Child:
    """One forked child as the parent follows it."""

    __slots__ = ("board", "closed", "code", "deadline", "failed", "frames", "pid", "pipe", "seen")

    def __init__(self, pid: int, pipe: int, board: _Board, deadline: float) -> None:
        self.pid = pid
        self.pipe = pipe
        self.board = board
        self.deadline = deadline
        self.frames = _Frames()
        self.seen = 0
        """The last step number the parent saw on the board."""
        self.code: int | None = None
        """The exit code once the child has ended and been reaped."""
        self.closed = False
        self.failed: int | None = None
        """The batch it failed in (-1: before any), once its error frame or its end says it failed."""

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
    _BATCH = SIZE - 8
    """Where the child keeps the batch it is on (`bounded_batches`), after the text."""

    def __init__(self) -> None:
        self.map = mmap.mmap(-1, self.SIZE)
        struct.pack_into("<q", self.map, self._BATCH, -1)

    def post(self, subject: str, doing: str) -> None:  # pragma: no cover (called in the child)
        data = f"{subject}\0{doing}".encode(errors="replace")[: self._BATCH - 12]
        seq = struct.unpack_from("<Q", self.map, 0)[0]
        struct.pack_into("<Q", self.map, 0, seq + 1)
        struct.pack_into("<I", self.map, 8, len(data))
        self.map[12 : 12 + len(data)] = data
        struct.pack_into("<Q", self.map, 0, seq + 2)

    def step(self) -> int:
        return int(struct.unpack_from("<Q", self.map, 0)[0]) // 2

    def batch(self, index: int) -> None:  # pragma: no cover (called in the child)
        struct.pack_into("<q", self.map, self._BATCH, index)

    def current_batch(self) -> int:
        return int(struct.unpack_from("<q", self.map, self._BATCH)[0])

    def read(self) -> tuple[str, str]:
        """(subject, doing) of the step posted last ("" and a generic text before the first)."""
        data = b""
        for _ in range(1000):  # a child killed mid-write leaves the counter odd: never spin for ever
            seq = struct.unpack_from("<Q", self.map, 0)[0]
            size = min(struct.unpack_from("<I", self.map, 8)[0], self._BATCH - 12)
            data = bytes(self.map[12 : 12 + size])
            if seq % 2 == 0 and struct.unpack_from("<Q", self.map, 0)[0] == seq:
                break
        subject, _, doing = data.decode(errors="replace").partition("\0")
        return subject, doing or "evaluating the policies"

    def close(self) -> None:
        self.map.close()


class _Link:
    """What a child's work talks through: its board, and its pipe to the parent for frames."""

    def __init__(self, board: _Board, out: int) -> None:
        self.board = board
        self.out = out

    def send(self, kind: bytes, payload: bytes) -> None:  # pragma: no cover (called in the child)
        data = kind + struct.pack(">I", len(payload)) + payload
        view = memoryview(data)
        while view:
            view = view[os.write(self.out, view) :]


def _fork(body: Callable[[_Link], Any], limits: Limits) -> _Child:
    board = _Board()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its effects are tested)
        code = 70
        try:
            os.close(read)
            code = _child(body, _Link(board, write), limits)
        finally:
            # Never return into the parent's code: whatever happened, the child ends here.
            os._exit(code)
    # Closed at once, so a child forked next inherits no write end and each pipe ends when its own child does.
    os.close(write)
    return _Child(pid, read, board, deadline=time.monotonic() + limits.seconds)


def _wait(
    children: list[_Child],
    limits: Limits,
    *,
    part: Callable[[_Child, bytes], None] | None = None,
    settled: Callable[[int], bool] | None = None,
) -> None:
    """Until every child has ended (each one's final frame or error kept on it), handing each `P` frame to
    `part` as it arrives; with `settled`, stop early once `settled(lowest failed batch)` says the error is final."""
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
                payloads = child.frames.feed(chunk)
                if payloads and part is not None:
                    began = time.monotonic()
                    for payload in payloads:
                        part(child, payload)
                    # A child may wait on a full pipe while this process takes a batch in: that is not its time.
                    spent = time.monotonic() - began
                    for other in running.values():
                        other.deadline += spent
                if child.frames.final is not None and child.frames.final[0] != b"R":
                    child.failed = child.frames.failed_batch(child.board.current_batch())
                continue
            del running[pipe]
            _, status = os.waitpid(child.pid, 0)
            child.code = os.waitstatus_to_exitcode(status)
            if child.frames.final is None or child.frames.final[0] != b"R":
                child.failed = child.frames.failed_batch(child.board.current_batch())
        if settled is not None:
            failed = [child.failed for child in children if child.failed is not None]
            if failed and settled(min(failed)):
                return


def _child(body: Callable[[_Link], Any], link: _Link, limits: Limits) -> int:  # pragma: no cover (forked)
    try:
        # The engine's abort message and backtrace (and policies' print()) would break the one-line error: what
        # matters comes back through the pipe.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        _cap_memory(limits.memory_mib)
        result = body(link)
        link.send(b"R", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except MemoryError:
        return _OUT_OF_MEMORY
    except GateError as exc:
        link.send(b"E", pickle.dumps((link.board.current_batch(), exc)))
    except BaseException as exc:  # noqa: BLE001 (everything must reach the parent)
        link.send(b"X", f"{type(exc).__name__}: {exc}".encode(errors="replace"))
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
    """Length-prefixed frames from the child: `P` one batch's result (any number), then `R` the result, `E` a
    GateError or `X` another error (the first of those counts)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.final: tuple[bytes, bytes] | None = None

    def feed(self, chunk: bytes) -> list[bytes]:
        """Take in a chunk; return the payloads of the `P` frames it completed, in order."""
        self.buffer += chunk
        parts: list[bytes] = []
        start = 0
        while len(self.buffer) - start >= 5:
            size = struct.unpack_from(">I", self.buffer, start + 1)[0]
            if len(self.buffer) - start < 5 + size:
                break
            kind, payload = bytes(self.buffer[start : start + 1]), bytes(self.buffer[start + 5 : start + 5 + size])
            start += 5 + size
            if self.final is not None:
                continue
            if kind == b"P":
                parts.append(payload)
            else:
                self.final = (kind, payload)
        del self.buffer[:start]
        return parts

    def failed_batch(self, current: int) -> int:
        """The batch an error frame names; else (an `X` frame, or no frame at all) the one the child was on."""
        if self.final is not None and self.final[0] == b"E":
            return int(pickle.loads(self.final[1])[0])  # noqa: S301 (our own child's bytes)
        return current


def _outcome(child: _Child, limits: Limits) -> Any:
    """The child's result, or its error raised."""
    assert child.code is not None or child.frames.final is not None
    subject, doing = child.board.read()
    where = subject or None
    frames, code = child.frames, child.code
    if frames.final is not None:
        kind, payload = frames.final
        if kind == b"R":
            return pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if kind == b"E":
            raise pickle.loads(payload)[1]  # noqa: S301 (our own child's bytes)
        raise PolicyError(f"{doing} failed: {payload.decode(errors='replace')}", path=where)
    if code in (_OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL):
        # Rust aborts when an allocation fails; the kernel's OOM killer sends SIGKILL.
        raise PolicyError(
            f"{doing} ran out of memory (limit {limits.memory_mib} MiB; the limit is rego.memory-mib {_WHERE})",
            path=where,
        )
    assert code is not None
    what = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
    raise PolicyError(f"{doing} crashed the policy engine ({what})", path=where)
