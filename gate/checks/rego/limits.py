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
from typing import Any, Generic, TypeVar

from gate.errors import GateError, PolicyError

T = TypeVar("T")
S = TypeVar("S")
P = TypeVar("P")
F = TypeVar("F")
J = TypeVar("J")
W = TypeVar("W")

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
    that share one `state = setup(progress)` and then take the next index from a shared queue; the parent calls
    `consume(index, result)` for each batch as it arrives (in any order: the caller puts them back in order).
    Returns `finish(state)` of the first child, after its last batch (plain data: it crosses back).

    Every step is bounded as in `bounded`. An error is the one the same batches would meet run in order in one
    child: that of the lowest batch index that failed (a failed `setup` counts as before every batch), raised as
    soon as every batch before it has come back; a step over time ends every child at once. (A `Standby` started
    and run at once: see there for how the children share one set-up.)"""
    standby: Standby[S, None, S, P, F] = Standby(
        setup, lambda state, _job: state, handle, finish, most=workers, limits=limits
    )
    with standby:
        return standby.run(None, batches, consume, workers=workers)


class Standby(Generic[S, J, W, P, F]):
    """Workers started before their work is known: one child sets up (`setup(progress)`: compiles the policies)
    while this process goes on reading its inputs; `run` then hands it the work (`job`, plain data), the child
    turns its state into the worker state (`prepare(state, job)`), forks the other workers from itself (so they
    inherit what it compiled instead of each compiling again), and every worker takes numbered batches from one
    queue (`handle(worker_state, index, progress)`), as `bounded_batches` describes. A standby never run is
    stopped by `close` (or the `with` block's end); its set-up error, if any, is never raised.

    The forked workers are the first child's children, not this process's: each posts its pid on its board, the
    first child reaps them once its own queue is done and posts their exit codes there, and this process knows
    a worker has ended when its pipe does."""

    def __init__(
        self,
        setup: Callable[[Progress], S],
        prepare: Callable[[S, J], W],
        handle: Callable[[W, int, Progress], P],
        finish: Callable[[W], F],
        *,
        most: int,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.most = max(1, most)
        self.children: list[_Child] = []
        self.used = False
        self.job = -1
        self.queue = self.signal = (-1, -1)
        if not hasattr(os, "fork"):
            # No fork: the work runs in this process when `run` is called, unbounded.
            self.pid = -1
            self.inline = (setup, prepare, handle, finish)
            return
        self.boards = [_Board() for _ in range(self.most)]
        self.pipes = [os.pipe() for _ in range(self.most)]
        self.queue = os.pipe()
        self.signal = os.pipe()
        # The job goes through a file, not a pipe: this process writes it without waiting for the child to read,
        # which it does only after its set-up (a pipe would block on a large job for that long, unbounded).
        self.job = _job_file()
        self.pid = os.fork()
        if self.pid == 0:  # pragma: no cover (the child; its effects are tested)
            code = 70
            try:
                os.close(self.queue[1])
                os.close(self.signal[1])
                for read, _ in self.pipes:
                    os.close(read)
                clones: list[tuple[int, _Board]] = []
                body = _standby_body(self, setup, prepare, handle, finish, clones)
                code = _child(body, _Link(self.boards[0], self.pipes[0][1]), self.limits, lambda: _reap(clones))
            finally:
                os._exit(code)
        os.close(self.queue[0])
        os.close(self.signal[0])
        # Only the write ends stay here: `close` must not close a read end twice (its number may be reused).
        self.queue = (-1, self.queue[1])
        self.signal = (-1, self.signal[1])
        for _, write in self.pipes:
            os.close(write)
        self.children = [_Child(self.pid, self.pipes[0][0], self.boards[0], time.monotonic() + self.limits.seconds)]
        self.children += [
            _Child(0, read, board, time.monotonic() + self.limits.seconds, clone=True)
            for (read, _), board in zip(self.pipes[1:], self.boards[1:], strict=True)
        ]

    def __enter__(self) -> Standby[S, J, W, P, F]:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def run(self, job: J, batches: int, consume: Callable[[int, P], None], *, workers: int) -> F:
        """Every batch of `job` handled by `workers` workers (at most the standby's `most`), as `bounded_batches`."""
        if self.used:
            raise RuntimeError("a standby runs once")
        self.used = True
        if self.pid < 0:
            setup, prepare, handle, finish = self.inline
            quiet: Progress = lambda _subject, _doing: None  # noqa: E731
            worker = prepare(setup(quiet), job)
            for index in range(batches):
                consume(index, handle(worker, index, quiet))
            return finish(worker)
        workers = max(1, min(workers, self.most))
        try:
            indices = struct.pack(f"<{batches}I", *range(batches))
            if len(indices) > _QUEUE_BYTES:
                raise ValueError(f"at most {_QUEUE_BYTES // 4} batches")
            # Every index is in the queue before the job is announced, and its write end is then closed, so an
            # empty queue reads as its end: a worker stops when nothing is left. (Reads of 4 bytes are atomic.)
            _offer(self.queue[1], indices)
            os.close(self.queue[1])
            self.queue = (-1, -1)
            payload = pickle.dumps((workers, job), protocol=pickle.HIGHEST_PROTOCOL)
            _write_all(self.job, payload)
            _offer(self.signal[1], struct.pack("<Q", len(payload)))
            os.close(self.signal[1])
            self.signal = (-1, -1)
            for extra in self.children[workers:]:
                extra.stop()
            children = self.children[:workers]
            now = time.monotonic()
            for child in children:
                # The clock of each worker starts with its work (the first child may have waited for it).
                child.deadline = now + self.limits.seconds
            done: set[int] = set()

            def part(_child: _Child, payload: bytes) -> None:
                index, result = pickle.loads(payload)  # noqa: S301 (our own child's bytes)
                done.add(index)
                consume(index, result)

            def settled(failed: int) -> bool:
                # An error at batch `failed` is final once no earlier batch can still fail.
                return all(i in done for i in range(failed))

            _wait(children, self.limits, part=part, settled=settled)
            failures = [child for child in children if child.failed is not None]
            if failures:
                first = min(failures, key=lambda child: child.failed if child.failed is not None else 0)
                _outcome(first, self.limits)  # raises
            return _outcome(children[0], self.limits)  # type: ignore[no-any-return]
        finally:
            self.close()

    def close(self) -> None:
        """Stop every worker still running and let go of the pipes, boards and job file."""
        for end in (*self.queue, *self.signal):
            if end >= 0:
                os.close(end)
        self.queue = self.signal = (-1, -1)
        if self.job >= 0:
            os.close(self.job)
            self.job = -1
        # The clones first: the first child's pid is this process's to reap, theirs are not.
        for child in reversed(self.children):
            child.stop()


def _job_file() -> int:
    """An anonymous file both processes hold (memory-backed where the system has `memfd_create`)."""
    if hasattr(os, "memfd_create"):
        return os.memfd_create("container-gate-job", os.MFD_CLOEXEC)
    import tempfile

    with tempfile.TemporaryFile() as handle:
        return os.dup(handle.fileno())


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _offer(fd: int, data: bytes) -> None:
    """`data` into a pipe to the first child, unless that child has ended already (its set-up failed, or it
    crashed, before the work came): its end, error or crash, is then what `_wait` reads from its own pipe."""
    with contextlib.suppress(BrokenPipeError):
        _write_all(fd, data)


def _read_exact(fd: int, size: int, *, at: int | None = None) -> bytes:
    """`size` bytes from `fd` (from offset `at` of a file), fewer only at its end."""
    parts: list[bytes] = []
    got = 0
    while got < size:
        chunk = os.read(fd, size - got) if at is None else os.pread(fd, size - got, at + got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _standby_body(
    standby: Standby[S, J, W, P, F],
    setup: Callable[[Progress], S],
    prepare: Callable[[S, J], W],
    handle: Callable[[W, int, Progress], P],
    finish: Callable[[W], F],
    clones: list[tuple[int, _Board]],
) -> Callable[[_Link], F | None]:
    """The first child's work; the clones it forks go into `clones`, for `_reap` once its result is sent."""

    def body(link: _Link) -> F | None:  # pragma: no cover (runs in the child)
        link.board.batch(-1)
        state = setup(link.board.post)
        announced = _read_exact(standby.signal[0], 8)
        if len(announced) < 8:
            return None  # never run: this process stopped waiting
        payload = _read_exact(standby.job, struct.unpack("<Q", announced)[0], at=0)
        workers, job = pickle.loads(payload)  # noqa: S301 (our own parent's bytes)
        os.close(standby.signal[0])
        os.close(standby.job)
        worker = prepare(state, job)
        for number in range(1, standby.most):
            write = standby.pipes[number][1]
            if number < workers:
                pid = os.fork()
                if pid == 0:
                    code = 70
                    try:
                        # The first child's write end, and those of the clones still to come (the earlier
                        # ones' it closed already).
                        for other, (_, end) in enumerate(standby.pipes):
                            if other == 0 or other > number:
                                os.close(end)
                        code = _child(
                            _clone_body(worker, handle, finish, standby.queue[0]),
                            _Link(standby.boards[number], write),
                            standby.limits,
                        )
                        standby.boards[number].set_code(code)
                    finally:
                        os._exit(code)
                clones.append((pid, standby.boards[number]))
            os.close(write)
        return _take_batches(worker, handle, finish, standby.queue[0], link)

    return body


def _reap(clones: list[tuple[int, _Board]]) -> None:  # pragma: no cover (runs in the first child)
    """Wait for each clone and post its exit code on its board (a signal is seen only here)."""
    for pid, board in clones:
        _, status = os.waitpid(pid, 0)
        board.set_code(os.waitstatus_to_exitcode(status))


def _clone_body(
    worker: W, handle: Callable[[W, int, Progress], P], finish: Callable[[W], F], queue: int
) -> Callable[[_Link], F]:
    def body(link: _Link) -> F:  # pragma: no cover (runs in a clone)
        link.board.batch(-1)
        link.board.set_pid(os.getpid())
        return _take_batches(worker, handle, finish, queue, link)

    return body


def _take_batches(
    worker: W, handle: Callable[[W, int, Progress], P], finish: Callable[[W], F], queue: int, link: _Link
) -> F:  # pragma: no cover (runs in the children)
    post = link.board.post
    while True:
        raw = os.read(queue, 4)
        if len(raw) < 4:
            return finish(worker)
        index = struct.unpack("<I", raw)[0]
        link.board.batch(index)
        result = handle(worker, index, post)
        link.send(b"P", pickle.dumps((index, result), protocol=pickle.HIGHEST_PROTOCOL))


_QUEUE_BYTES = 4096
"""What the batch queue may hold: one page, the least a pipe holds however short of pipe memory the system is,
so the parent never blocks filling it before any child reads."""

MAX_BATCHES = _QUEUE_BYTES // 4


def _whole(work: Callable[[Progress], T]) -> Callable[[_Link], T]:
    return lambda link: work(link.board.post)


class _Child:
    """One forked child as the parent follows it (a `clone` is a `Standby` worker forked by the first child)."""

    __slots__ = ("board", "clone", "closed", "code", "deadline", "ended", "failed", "frames", "pid", "pipe", "seen")

    def __init__(self, pid: int, pipe: int, board: _Board, deadline: float, *, clone: bool = False) -> None:
        self.pid = pid
        self.pipe = pipe
        self.board = board
        self.deadline = deadline
        self.clone = clone
        self.frames = _Frames()
        self.seen = 0
        """The last step number the parent saw on the board."""
        self.code: int | None = None
        """The exit code once the child has ended and been reaped."""
        self.ended = False
        """Its pipe has ended: the child has exited (or is exiting)."""
        self.closed = False
        self.failed: int | None = None
        """The batch it failed in (-1: before any), once its error frame or its end says it failed."""

    def look(self, now: float, limits: Limits) -> None:
        """A new step since the last look restarts the clock (so a step may run up to `POLL_SECONDS` over)."""
        step = self.board.step()
        if step != self.seen:
            self.seen = step
            self.deadline = now + limits.seconds

    def exit_code(self) -> int | None:
        """The exit code: this process's to reap, or, for a clone, what it or its parent posted on its board."""
        if self.clone and self.code is None:
            self.code = self.board.code()
        return self.code

    def known(self) -> bool:
        """Its outcome can be told: a final frame, or an exit code."""
        return self.frames.final is not None or self.exit_code() is not None

    def reaped(self, status: int) -> None:
        self.code = os.waitstatus_to_exitcode(status)

    def stop(self) -> None:
        if self.closed:
            return
        if self.clone:
            pid = self.board.pid()
            if not self.ended and pid > 0:
                # (Not reaped here: the first child is its parent. Its pipe has not ended, so it has not exited
                # and its pid is still its own.)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.exit_code()
        elif self.code is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.code = -signal.SIGKILL
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
    _PID = SIZE - 16
    """A `Standby` clone's pid, posted by itself (the first child's is this process's own fork)."""
    _CODE = SIZE - 24
    """A `Standby` clone's exit code, posted by itself or by the first child that reaps it."""
    _TEXT = _CODE - 12
    _NO_CODE = -(1 << 62)

    def __init__(self) -> None:
        self.map = mmap.mmap(-1, self.SIZE)
        struct.pack_into("<qqq", self.map, self._CODE, self._NO_CODE, 0, -1)

    def post(self, subject: str, doing: str) -> None:  # pragma: no cover (called in the child)
        data = f"{subject}\0{doing}".encode(errors="replace")[: self._TEXT]
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

    def set_pid(self, pid: int) -> None:  # pragma: no cover (called in the child)
        struct.pack_into("<q", self.map, self._PID, pid)

    def pid(self) -> int:
        return int(struct.unpack_from("<q", self.map, self._PID)[0])

    def set_code(self, code: int) -> None:  # pragma: no cover (called in the children)
        struct.pack_into("<q", self.map, self._CODE, code)

    def code(self) -> int | None:
        code = int(struct.unpack_from("<q", self.map, self._CODE)[0])
        return None if code == self._NO_CODE else code

    def read(self) -> tuple[str, str]:
        """(subject, doing) of the step posted last ("" and a generic text before the first)."""
        data = b""
        for _ in range(1000):  # a child killed mid-write leaves the counter odd: never spin for ever
            seq = struct.unpack_from("<Q", self.map, 0)[0]
            size = min(struct.unpack_from("<I", self.map, 8)[0], self._TEXT)
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
        _write_all(self.out, kind + struct.pack(">I", len(payload)) + payload)


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
        # A child that has sent its final frame runs no step any more (the first child of a `Standby` is then
        # reaping the others): only the others are on the clock.
        timed = [child for child in running.values() if child.frames.final is None]
        late = min(timed, key=lambda c: c.deadline) if timed else None
        if late is not None and late.deadline <= now:
            subject, doing = late.board.read()
            for child in children:
                child.stop()
            raise PolicyError(
                f"{doing} did not finish within {limits.seconds:g} s (the limit is rego.timeout-seconds {_WHERE})",
                path=subject or None,
            )
        wait = POLL_SECONDS if late is None else min(POLL_SECONDS, late.deadline - now)
        ready, _, _ = select.select(list(running), [], [], wait)
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
            child.ended = True
            if not child.clone:
                child.reaped(os.waitpid(child.pid, 0)[1])
            if child.frames.final is None or child.frames.final[0] != b"R":
                child.failed = child.frames.failed_batch(child.board.current_batch())
        if settled is not None:
            # (A clone that ended without a word is told apart only once its exit code is posted.)
            failed = [child.failed for child in children if child.failed is not None and child.known()]
            if failed and settled(min(failed)):
                return


def _child(
    body: Callable[[_Link], Any], link: _Link, limits: Limits, after: Callable[[], None] | None = None
) -> int:  # pragma: no cover (forked)
    """Run `body` and send its result (or error) back; then `after()`, once the result is sent."""
    try:
        # The engine's abort message and backtrace (and policies' print()) would break the one-line error: what
        # matters comes back through the pipe.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        _cap_memory(limits.memory_mib)
        result = body(link)
        link.send(b"R", pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        if after is not None:
            after()
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
    subject, doing = child.board.read()
    where = subject or None
    frames, code = child.frames, child.exit_code()
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
    if code is None:
        # A clone whose parent, the first child, ended before it could post how it ended.
        raise PolicyError(f"{doing} crashed the policy engine", path=where)
    what = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
    raise PolicyError(f"{doing} crashed the policy engine ({what})", path=where)
