"""YAML reading that refuses what a CI input must never do: unsafe tags, alias bombs, huge files."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from gate.errors import ConfigError, GateError, InputError

MAX_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 100
"""Configs have no need for many aliases."""
MAX_NODES = 1_000_000
"""A billion-laughs document with few aliases still expands past this."""


def load_text(text: str, origin: str, *, error: type[GateError] = ConfigError, multi: bool = False) -> Any:
    """Parse YAML with the safe loader and return plain data (dates become ISO strings).

    With `multi`, every document of a multi-document stream is returned as a list."""
    import yaml

    if len(text) > MAX_BYTES:
        raise error(f"YAML larger than {MAX_BYTES // (1024 * 1024)} MiB", path=origin)
    try:
        loader = _loader()
        aliases = sum(1 for event in yaml.parse(text, Loader=loader) if isinstance(event, yaml.AliasEvent))
        if aliases > MAX_ALIASES:
            raise error(
                f"YAML uses {aliases} aliases (limit {MAX_ALIASES}): refusing a possible alias bomb",
                path=origin,
            )
        docs = list(yaml.load_all(text, Loader=loader)) if multi else [yaml.load(text, Loader=loader)]  # noqa: S506
    except yaml.constructor.ConstructorError as exc:
        if "finite number" in (exc.problem or ""):
            raise error(f"invalid YAML value: {exc.problem}{_where(exc)}", path=origin) from None
        raise error(f"unsafe or unknown YAML tag {_tag(exc)}{_where(exc)}", path=origin) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"invalid YAML: {problem}{_where(exc)}", path=origin) from None
    except RecursionError:
        raise error("YAML nested too deeply to read", path=origin) from None
    budget = [MAX_NODES]
    try:
        plain = [_plain(doc, budget) for doc in docs]
    except _TooBig:
        raise error(
            f"YAML expands to more than {MAX_NODES} values: refusing a possible alias bomb", path=origin
        ) from None
    except RecursionError:
        # Also an alias that refers to the node holding it (`b: &b {c: *b}`): no JSON value can hold it.
        raise error("YAML nested too deeply, or a value that contains itself", path=origin) from None
    return plain if multi else plain[0]


def load_file(path: Path, *, error: type[GateError] = ConfigError, multi: bool = False) -> Any:
    """Read and parse a YAML file; unreadable or non-UTF-8 files are one-line errors."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error("no such file", path=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise error("not UTF-8 text", path=str(path)) from None
    return load_text(text, str(path), error=error, multi=multi)


MAX_INPUT_BYTES = 64 * 1024 * 1024
"""Manifests and policy data: rendered Helm charts run to megabytes, but not to this."""


def load_documents(
    text: str, origin: str, *, error: type[GateError] = InputError, max_bytes: int = MAX_INPUT_BYTES
) -> list[tuple[Any, int]]:
    """Every document of a YAML stream as (plain value, line it starts on), with the limits of `load_text`:
    an alias bomb ends after `MAX_NODES` values, a value JSON cannot hold (`.nan`, `.inf`) or nesting too deep for
    the parser is an error naming the line. The C parser (libyaml) is used where PyYAML has it: the same events and
    marks, several times faster on large manifests."""
    import yaml

    if len(text) > max_bytes:
        raise error(f"YAML larger than {max_bytes // (1024 * 1024)} MiB", path=origin)
    loader = _fast_loader()(text)
    docs: list[tuple[Any, int]] = []
    budget = [MAX_NODES]
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _count_nodes(node, budget, origin, error)
            docs.append((_plain(loader.construct_document(node), [MAX_NODES]), node.start_mark.line + 1))
    except yaml.constructor.ConstructorError as exc:
        if "finite number" in (exc.problem or ""):
            raise error(f"invalid YAML value: {exc.problem}{_where(exc)}", path=origin) from None
        raise error(f"unsafe or unknown YAML tag {_tag(exc)}{_where(exc)}", path=origin) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"invalid YAML{_where(exc)}: {problem}", path=origin) from None
    except RecursionError:
        raise error("YAML nested too deeply to read", path=origin) from None
    finally:
        loader.dispose()
    return docs


def field_line(text: str, document_line: int | None, field: Sequence[str | int]) -> int | None:
    """The line of `field` (keys and list indices) in the document starting at `document_line` (None: the first),
    or of the deepest part of it the document has: a missing `securityContext.privileged` points at the container
    that lacks it. None when the document is not found. (Parsed again on demand: only findings that name a
    field pay for it.)"""
    import yaml

    loader = _fast_loader()(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if document_line is None or node.start_mark.line + 1 == document_line:
                return _descend(node, field)
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return None


def _descend(node: Any, field: Sequence[str | int]) -> int:
    import yaml

    line = int(node.start_mark.line) + 1
    for step in field:
        if isinstance(node, yaml.MappingNode):
            pair = next((p for p in node.value if isinstance(p[0], yaml.ScalarNode) and p[0].value == str(step)), None)
            if pair is None:
                break
            line, node = int(pair[0].start_mark.line) + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
            line = int(node.start_mark.line) + 1
        else:
            break
    return line


def _count_nodes(root: Any, budget: list[int], origin: str, error: type[GateError]) -> None:
    """Count the values a document expands to, aliases included, without building them (iteratively: a deep
    document must not overflow here either)."""
    stack = [root]
    while stack:
        node = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise error(f"YAML expands to more than {MAX_NODES} values: refusing a possible alias bomb", path=origin)
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    stack.extend(item)
                else:
                    stack.append(item)


@cache
def _fast_loader() -> Any:
    """`_loader`'s rules on libyaml's parser when PyYAML was built with it (else the pure-Python one)."""
    import yaml

    base = getattr(yaml, "CSafeLoader", None)
    if base is None:
        import logging

        logging.getLogger(__name__).debug("libyaml is not available: YAML is parsed in pure Python")
        return _loader()
    slow = _loader()

    class FastLoader(base):  # type: ignore[misc, valid-type]
        pass

    FastLoader.yaml_implicit_resolvers = slow.yaml_implicit_resolvers
    FastLoader.yaml_constructors = slow.yaml_constructors
    return FastLoader


@cache
def _loader() -> Any:
    """The safe loader minus implicit timestamps: `expires: 2027-13-01` must reach the schema as text
    (and fail there with a message), not crash the date constructor."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def finite_float(loader: Any, node: Any) -> float:
        # `.nan` and `.inf` have no JSON form: Rego engines and our JSON outputs fail on them far from the file.
        value = yaml.SafeLoader.construct_yaml_float(loader, node)
        if value != value or value in (float("inf"), float("-inf")):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a finite number (JSON cannot hold it)", node.start_mark
            )
        return float(value)

    Loader.add_constructor("tag:yaml.org,2002:float", finite_float)
    return Loader


def _tag(exc: Exception) -> str:
    problem = getattr(exc, "problem", "") or ""
    return problem.rsplit(" ", 1)[-1].strip("'") if "tag" in problem else "(unsupported)"


def _where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


class _TooBig(Exception):
    pass


def _plain(value: Any, budget: list[int]) -> Any:
    # Aliases share objects, so a few of them can expand exponentially: count every value visited.
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    # YAML turns `2027-01-01` into a date; the schema and our models speak ISO strings.
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: _plain(v, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value
