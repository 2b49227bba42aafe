"""Every performance trick of the gate, each behind one named function, and one switch that turns them all off.

Each trick is measured (docs/benchmarks.md) and changes no output: `CONTAINER_GATE_PLAIN=1` in the environment
(read once, at import) runs the plain path of every one of them, and `tests/acceptance/test_speed_seam.py` runs
the corpus and a large generated report both ways and compares every output byte for byte.

- `fast_init`: a frozen slotted dataclass's `__init__` that sets each slot through its descriptor, built from the
  class's own fields (a third of the cost of the generated `object.__setattr__` calls; 100k findings a run).
- `collector_paused`: the cyclic garbage collector off over bulk phases (and the heap frozen at the end).
- `read_report`: large reports memory-mapped instead of copied (a report truncated while mapped ends the run with
  SIGBUS: a crash, never a pass).
- `memo`: `functools.lru_cache` for pure helpers called with the same few values thousands of times.
- `render_in_child_from`: the size from which the JSON result renders in a forked child beside the other outputs.
- `json_in_batches`: a large JSON result written a batch of findings at a time (forked or not), never whole in
  memory (up to `gate.emit.json.WHOLE_UP_TO` findings it is made in one piece: fewer copies, same bytes).
- `threaded_gzip_from`: the size from which the SARIF size check compresses two halves on two threads.
- `rego_workers`: how many forked workers evaluate Rego inputs side by side (one per core, enough files each).
- `rego_batch`: how many input files a Rego worker takes from the shared queue at a time, and sends back at once
  (the parent turns each batch into findings while the workers go on; plain: one batch of every file).
- `Interner`: one object for the many equal values of a large run (a rule's properties, a file's location).
- `exit_now`: the command's process ends without tearing its heap down, its outputs already written and closed.

This module imports nothing of ours (the model uses it), does no I/O of its own beyond `read_report`'s.
"""

from __future__ import annotations

import dataclasses
import gc
import mmap
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Generic, TypeVar

ENABLED = os.environ.get("CONTAINER_GATE_PLAIN", "").strip().lower() not in ("1", "true", "yes")
"""False under `CONTAINER_GATE_PLAIN=1`: every trick below takes its plain path."""

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
H = TypeVar("H")


def fast_init(cls: type[T]) -> type[T]:
    """Give a frozen, slotted dataclass an `__init__` that sets each slot through the slot's descriptor.

    Same parameters, defaults and order as the dataclass's own (derived from `dataclasses.fields`, so a new field
    needs nothing here); fields with `init=False` get their default. Plain mode keeps the dataclass's `__init__`."""
    if not ENABLED:
        return cls
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    slots = vars(cls)
    namespace: dict[str, Any] = {}
    params: list[str] = []
    body: list[str] = []
    for index, field in enumerate(fields):
        setter = f"_set{index}"
        namespace[setter] = slots[field.name].__set__
        if field.default_factory is not dataclasses.MISSING:
            namespace[f"_factory{index}"] = field.default_factory
            value = (
                f"_factory{index}()"
                if not field.init
                else f"_factory{index}() if {field.name} is _UNSET else {field.name}"
            )
            if field.init:
                params.append(f"{field.name}=_UNSET")
        elif field.default is not dataclasses.MISSING:
            namespace[f"_default{index}"] = field.default
            value = field.name if field.init else f"_default{index}"
            if field.init:
                params.append(f"{field.name}=_default{index}")
        else:
            if not field.init:
                raise TypeError(f"{cls.__name__}.{field.name}: init=False needs a default")
            value = field.name
            params.append(field.name)
        body.append(f"    {setter}(self, {value})")
    namespace["_UNSET"] = _UNSET
    source = f"def __init__(self, {', '.join(params)}) -> None:\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 (our own text, built from the class's field names only)
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = f"{cls.__name__}'s fields set through their slots (gate.speed.fast_init)."
    setattr(cls, "__init__", init)  # noqa: B010 (assigning the method directly upsets mypy)
    return cls


_UNSET: Any = object()


@contextmanager
def collector_paused(*, freeze: bool = False) -> Iterator[None]:
    """Pause the cyclic collector; nested pauses leave the switch to the outermost one.

    Reading, judging and rendering a large report allocates millions of acyclic, long-lived objects: every
    collector pass over them is wasted work (a third of the parse at 100k findings, 40 % of a whole run at 20k).
    Reference counting still frees the garbage. With `freeze`, what the run built moves to the permanent
    generation on the way out, so neither a later collection nor the interpreter's final one walks the heap."""
    if not ENABLED:
        yield
        return
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()


MAP_FROM = 4 * 1024 * 1024
"""Reports from this size are mapped: -40 ms and -15,000 page faults on a 60 MB report."""


def read_report(handle: Any, size: int) -> bytes | memoryview:
    """The whole of an open file: mapped read-only from `MAP_FROM` bytes where the file system can map it."""
    if ENABLED and size >= MAP_FROM:
        try:
            return memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
        except (OSError, ValueError):
            pass  # a file system that cannot map: read it
    data: bytes = handle.read()
    return data


def memo(maxsize: int) -> Callable[[F], F]:
    """`functools.lru_cache(maxsize)` for a pure function (plain mode: the function itself)."""

    def wrap(function: F) -> F:
        return function if not ENABLED else lru_cache(maxsize=maxsize)(function)  # type: ignore[return-value]

    return wrap


_NEVER = sys.maxsize


def render_in_child_from(decisions: int = 5_000) -> int:
    """Decisions from which the JSON result is rendered in a forked child while this process renders the rest."""
    return decisions if ENABLED and hasattr(os, "fork") else _NEVER


def json_in_batches() -> bool:
    """Whether the JSON result is written a batch of findings at a time, in the forked child or here (same bytes;
    at 100,000 findings the peak falls by ~200 MiB) rather than built whole first."""
    return ENABLED


def threaded_gzip_from(size: int = 4 * 1024 * 1024) -> int:
    """Bytes from which the SARIF size check compresses two halves on two threads (zlib frees the GIL)."""
    return size if ENABLED else _NEVER


REGO_FILES_PER_WORKER = 100
"""Below this many input files per extra worker, forking and compiling once more costs more than it saves."""


def rego_workers(files: int, cores: int | None = None) -> int:
    """Workers for `files` Rego inputs: one per core the process may run on (at most 8), each with at least
    `REGO_FILES_PER_WORKER` files; 1 (evaluate in one child) on the plain path."""
    if not ENABLED:
        return 1
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, 8, files // REGO_FILES_PER_WORKER))


REGO_BATCHES_PER_WORKER = 8
REGO_MAX_BATCH = 16
"""Files a Rego batch holds at most: small enough that the parent builds findings while the workers run and
that a slow batch leaves no core idle for long, large enough that its frame and pickle cost nothing."""


def rego_batch(files: int, workers: int, max_batches: int) -> int:
    """Files per batch for `files` Rego inputs over `workers`: about `REGO_BATCHES_PER_WORKER` batches each, at
    most `REGO_MAX_BATCH` files (more when `max_batches` batches would not hold them all); every file in one batch
    on the plain path."""
    if not ENABLED:
        return max(files, 1)
    size = min(REGO_MAX_BATCH, -(-files // (max(workers, 1) * REGO_BATCHES_PER_WORKER)))
    return max(1, size, -(-files // max_batches))


class Interner(Generic[H]):
    """`same(value)`: the first value equal to it seen by this interner, so a run's 100k findings share their few
    distinct locations, sources and property tuples instead of holding a copy each (plain mode: the value itself).
    Only for immutable, hashable values."""

    __slots__ = ("_seen",)

    def __init__(self) -> None:
        self._seen: dict[H, H] | None = {} if ENABLED else None

    def same(self, value: H) -> H:
        if self._seen is None:
            return value
        return self._seen.setdefault(value, value)


def exit_now(code: int) -> None:
    """End the process with `code` after flushing the standard streams, skipping the heap's teardown (tens of
    milliseconds of freeing millions of objects one by one after a large run). Plain mode exits normally."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader left; the exit code still says what happened
    if not ENABLED:
        raise SystemExit(code)
    os._exit(code)
