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

Seam for a pool (issue 20): `bounded` forks one child per call; a pool would fork N children and split the inputs,
each child compiling once, with the same step protocol. Where `os.fork` is missing, work runs in-process unbounded.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
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
    limits = limits or Limits()
    if not hasattr(os, "fork"):
        return work(lambda _subject, _doing: None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its effects are tested)
        code = 70
        try:
            os.close(read)
            code = _child(work, write, limits)
        finally:
            # Never return into the parent's code: whatever happened, the child ends here.
            os._exit(code)
    os.close(write)
    try:
        result: T = _parent(pid, read, limits)
        return result
    finally:
        os.close(read)


def _child(work: Callable[[Progress], T], out: int, limits: Limits) -> int:  # pragma: no cover (forked)
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
        result = work(lambda subject, doing: send(b"F", f"{subject}\0{doing}".encode(errors="replace")))
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
    """Length-prefixed frames from the child: `F` a step starts, `R` result, `E` GateError, `X` other error."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.final: tuple[bytes, bytes] | None = None
        self.subject = ""
        self.doing = "evaluating the policies"
        self.steps = 0

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while len(self.buffer) >= 5:
            size = struct.unpack(">I", self.buffer[1:5])[0]
            if len(self.buffer) < 5 + size:
                return
            kind, payload = bytes(self.buffer[:1]), bytes(self.buffer[5 : 5 + size])
            del self.buffer[: 5 + size]
            if kind == b"F":
                self.subject, _, self.doing = payload.decode().partition("\0")
                self.steps += 1
            elif self.final is None:
                self.final = (kind, payload)


def _parent(pid: int, pipe: int, limits: Limits) -> Any:
    frames = _Frames()
    deadline = time.monotonic() + limits.seconds
    while True:
        ready, _, _ = select.select([pipe], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise PolicyError(
                f"{frames.doing} did not finish within {limits.seconds:g} s "
                f"(the limit is rego.timeout-seconds {_WHERE})",
                path=frames.subject or None,
            )
        chunk = os.read(pipe, 1 << 20)
        if not chunk:
            break
        steps = frames.steps
        frames.feed(chunk)
        if frames.steps != steps:
            deadline = time.monotonic() + limits.seconds
    _, status = os.waitpid(pid, 0)
    return _outcome(frames, os.waitstatus_to_exitcode(status), limits)


def _outcome(frames: _Frames, code: int, limits: Limits) -> Any:
    where = frames.subject or None
    if frames.final is not None:
        kind, payload = frames.final
        if kind == b"R":
            return pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if kind == b"E":
            raise pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        raise PolicyError(f"{frames.doing} failed: {payload.decode(errors='replace')}", path=where)
    if code in (_OUT_OF_MEMORY, -signal.SIGABRT, -signal.SIGKILL):
        # Rust aborts when an allocation fails; the kernel's OOM killer sends SIGKILL.
        raise PolicyError(
            f"{frames.doing} ran out of memory (limit {limits.memory_mib} MiB; the limit is rego.memory-mib {_WHERE})",
            path=where,
        )
    what = f"signal {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"exit {code}"
    raise PolicyError(f"{frames.doing} crashed the policy engine ({what})", path=where)
