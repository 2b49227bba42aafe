"""Time and memory bounds for evaluating policies that may come from a pull request.

regorus has no execution timer or memory cap in its Python API, and a runaway policy (a comprehension over a huge
`numbers.range`, a cross product of every input) runs inside our process until the job's own timeout, or crashes it.
So evaluation runs in a forked child: the compiled policies are shared copy-on-write (nothing is compiled twice),
the child's address space is capped with `RLIMIT_AS`, the parent waits with a deadline and kills it when the time
is up. The child reports which input it is on, so the error names the file being evaluated. Where `os.fork` is
missing, evaluation runs in-process without bounds.
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


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one run's policy evaluation (config: `rego: {timeout-seconds, memory-mib}`)."""

    seconds: float = 60.0
    memory_mib: int = 4096

    @property
    def where(self) -> str:
        """Where a user changes the limits."""
        return "rego.timeout-seconds / rego.memory-mib in .container-gate.yml"


Progress = Callable[[str], None]


def bounded(work: Callable[[Progress], T], limits: Limits | None, *, policies: str = "") -> T:
    """`work(progress)` under `limits` (None: in this process, unbounded); errors name the input being
    evaluated and the `policies`."""
    if limits is None or not hasattr(os, "fork"):
        return work(lambda _: None)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its effects are tested)
        os.close(read)
        os._exit(_child(work, write, limits))
    os.close(write)
    try:
        result: T = _parent(pid, read, limits, policies)
        return result
    finally:
        os.close(read)


def _child(work: Callable[[Progress], T], out: int, limits: Limits) -> int:  # pragma: no cover (forked)
    import resource

    cap = limits.memory_mib * 1024 * 1024
    # The engine's own abort message and backtrace would break the one-line error: what matters comes back
    # through the pipe.
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    def send(kind: bytes, payload: bytes) -> None:
        data = kind + struct.pack(">I", len(payload)) + payload
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]

    try:
        result = work(lambda name: send(b"F", name.encode(errors="replace")))
        send(b"R", pickle.dumps(result))
    except MemoryError:
        return 3
    except GateError as exc:
        send(b"E", pickle.dumps(exc))
    except BaseException as exc:  # noqa: BLE001 (everything must reach the parent)
        send(b"X", f"{type(exc).__name__}: {exc}".encode(errors="replace"))
    return 0


def _parent(pid: int, pipe: int, limits: Limits, policies: str) -> Any:
    deadline = time.monotonic() + limits.seconds
    buffer = bytearray()
    current = ""
    frames: list[tuple[bytes, bytes]] = []
    eof = False
    while not eof:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([pipe], [], [], max(left, 0))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise PolicyError(
                f"evaluating {policies or 'the policies'} did not finish within {limits.seconds:g} s "
                f"(the limit is {limits.where})",
                path=current or None,
            )
        chunk = os.read(pipe, 1 << 20)
        eof = not chunk
        buffer += chunk
        while len(buffer) >= 5:
            size = struct.unpack(">I", buffer[1:5])[0]
            if len(buffer) < 5 + size:
                break
            kind, payload = bytes(buffer[:1]), bytes(buffer[5 : 5 + size])
            del buffer[: 5 + size]
            if kind == b"F":
                current = payload.decode()
            else:
                frames.append((kind, payload))
    _, status = os.waitpid(pid, 0)
    for kind, payload in frames:
        if kind == b"R":
            return pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if kind == b"E":
            raise pickle.loads(payload)  # noqa: S301 (our own child's bytes)
        if kind == b"X":
            raise PolicyError(f"policy evaluation failed: {payload.decode(errors='replace')}", path=current or None)
    code = os.waitstatus_to_exitcode(status)
    if code == 3 or code == -signal.SIGABRT or code == -signal.SIGKILL:
        raise PolicyError(
            f"evaluating {policies or 'the policies'} ran out of memory (limit {limits.memory_mib} MiB; "
            f"the limit is {limits.where})",
            path=current or None,
        )
    what = f"signal {-code}" if code < 0 else f"exit {code}"
    raise PolicyError(f"evaluating {policies or 'the policies'} crashed ({what})", path=current or None)
