"""YAML reading that refuses what a CI input must never do: unsafe tags, alias bombs, huge files."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from functools import cache, lru_cache, partial
from pathlib import Path
from typing import Any

from gate import speed
from gate.errors import ConfigError, GateError, InputError

MAX_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 100
"""Configs have no need for many aliases."""
MAX_NODES = 1_000_000
"""A billion-laughs document with few aliases still expands past this."""
MAX_DEPTH = 200
"""Kubernetes manifests and Helm values nest a few dozen levels; JSON encoders and Rego engines recurse."""


def load_text(text: str, origin: str, *, error: type[GateError] = ConfigError, multi: bool = False) -> Any:
    """Parse YAML with the one loader (`load_documents`, with the config's tighter size and alias limits) and
    return plain data. With `multi`, every document of a multi-document stream is returned as a list."""
    docs = [value for value, _ in _documents(text, origin, error, MAX_BYTES, MAX_ALIASES, keep_empty=True)]
    if multi:
        return docs
    if len(docs) > 1:
        raise error("invalid YAML: expected a single document, found several (---)", path=origin)
    return docs[0] if docs else None


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
    text: str,
    origin: str,
    *,
    error: type[GateError] = InputError,
    max_bytes: int = MAX_INPUT_BYTES,
    go_yaml: bool = False,
) -> list[tuple[Any, int]]:
    """Every document of a YAML stream as (plain value, line it starts on): the one loader every YAML we read goes
    through (config, ignores, Rego inputs, policy data). An alias bomb ends after `MAX_NODES` values; nesting past
    `MAX_DEPTH`, a value JSON cannot hold (`.nan`, `.inf`) or a key JSON cannot hold (a list or a map) is an error
    naming the line. The C parser (libyaml) is used where PyYAML has it: the same events and marks, several times
    faster on large manifests. With `go_yaml` (policy inputs), the text is read as go-yaml v2 reads it, which is
    what Conftest, OPA and gator decode YAML with (through sigs.k8s.io/yaml): its plain scalars (`y` and `n` are
    booleans, `1e3` and `.5` numbers, `0o17` octal, `1:20` text, not a base-60 number) and an application's own
    `!tag` as if it were not there; a `!!python/...` or other unknown `!!` tag is still an error."""
    return list(_documents(text, origin, error, max_bytes, None, keep_empty=False, go_yaml=go_yaml))


def first_document(text: str, origin: str, *, go_yaml: bool = False, first_line: int = 1) -> tuple[Any, int | None]:
    """The first document of a YAML stream, as go-yaml's `Unmarshal` reads one (the rest is not read), and the line
    it starts on counting from `first_line`; (None, None) for an empty or comment-only text. Limits and errors as
    `load_documents`."""
    for value, line in _documents(text, origin, InputError, MAX_INPUT_BYTES, None, keep_empty=True, go_yaml=go_yaml):
        return value, (line + first_line - 1 if value is not None else None)
    return None, None


def _documents(
    text: str,
    origin: str,
    error: type[GateError],
    max_bytes: int,
    max_aliases: int | None,
    *,
    keep_empty: bool,
    go_yaml: bool = False,
) -> Iterator[tuple[Any, int]]:
    import yaml

    if len(text) > max_bytes:
        raise error(f"YAML larger than {max_bytes // (1024 * 1024)} MiB", path=origin)
    loader = (_go_loader() if go_yaml else _fast_loader())(text)
    budget = _Budget(MAX_NODES, max_aliases)
    walk_nodes = max_aliases is not None or "*" in text
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                if keep_empty:
                    yield None, 1
                continue
            # Without an alias (`*`) nothing can expand, so the walk over the nodes is left to the one over the
            # values (which counts and bounds depth too); a stream with aliases is measured before it is built.
            problem = budget.spend(node) if walk_nodes else None
            if problem:
                raise error(problem, path=origin)
            try:
                builder = _Builder(loader, local_tags=go_yaml)
                value = (builder.build_fast if speed.ENABLED else builder.build)(node, MAX_DEPTH)
            except _TooDeep:
                raise error(_Budget(MAX_NODES, None).spend(node) or _DEEP, path=origin) from None
            yield value, node.start_mark.line + 1
    except yaml.constructor.ConstructorError as exc:
        problem = exc.problem or ""
        if "finite number" in problem:
            raise error(f"invalid YAML value: {problem}{_where(exc)}", path=origin) from None
        if problem.startswith("cannot read "):
            raise error(f"invalid YAML value: {problem}{_where(exc)}", path=origin) from None
        if "null key" in problem:
            raise error(f"invalid YAML: a null used as a key{_where(exc)} (JSON keys are text)", path=origin) from None
        if "unhashable key" in problem:
            raise error(
                f"invalid YAML: a list or map used as a key{_where(exc)} (JSON keys are text)", path=origin
            ) from None
        raise error(f"unsafe or unknown YAML tag {_tag(exc)}{_where(exc)}", path=origin) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"invalid YAML{_where(exc)}: {problem}", path=origin) from None
    except RecursionError:
        raise error("YAML nested too deeply to read", path=origin) from None
    except _TooBig:
        raise error(
            f"YAML expands to more than {MAX_NODES} values: refusing a possible alias bomb", path=origin
        ) from None
    finally:
        loader.dispose()


def field_line(text: str, document_line: int | None, field: Sequence[str | int]) -> int | None:
    """The line of `field` (keys and list indices) in the document starting at `document_line` (None: the first),
    or of the deepest part of it the document has: a missing `securityContext.privileged` points at the container
    that lacks it. None when the document is not found. (Parsed again on demand: only findings that name a
    field pay for it.)"""
    return field_lines(text, [(document_line, field)])[0]


def field_lines(text: str, queries: Sequence[tuple[int | None, Sequence[str | int]]]) -> list[int | None]:
    """`field_line` for each (document_line, field) of `queries`, the text parsed once for all of them (and only as
    far as the last document they name)."""
    import yaml

    wanted = {line for line, _ in queries}
    found: dict[int | None, Any] = {}
    loader = _fast_loader()(text)
    try:
        while len(found) < len(wanted) and loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            line = node.start_mark.line + 1
            if None in wanted:
                found.setdefault(None, node)
            if line in wanted:
                found.setdefault(line, node)
    except (yaml.YAMLError, RecursionError):
        pass  # what was found before the error still answers
    finally:
        loader.dispose()
    return [_descend(found[line], field) if line in found else None for line, field in queries]


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


class _Budget:
    """What a stream may expand to: values (aliases included), alias uses and nesting depth, counted on the
    composed nodes before anything is built (iteratively: a deep document must not overflow here either)."""

    def __init__(self, values: int, aliases: int | None) -> None:
        self.values = values
        self.aliases = aliases

    def spend(self, root: Any) -> str | None:
        seen: set[int] = set()
        stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
        while stack:
            node, depth, shared = stack.pop()
            self.values -= 1
            if self.values < 0:
                return f"YAML expands to more than {MAX_NODES} values: refusing a possible alias bomb"
            if depth > MAX_DEPTH:
                line = node.start_mark.line + 1
                return f"YAML nested deeper than {MAX_DEPTH} levels (or a value that contains itself) at line {line}"
            again = id(node) in seen
            seen.add(id(node))
            if again and not shared and self.aliases is not None:
                # A node met again is an alias; what lies under it is counted but is not more aliases.
                self.aliases -= 1
                if self.aliases < 0:
                    return (
                        f"YAML uses more than {MAX_ALIASES} aliases (at line {node.start_mark.line + 1}): "
                        "refusing a possible alias bomb"
                    )
            stack.extend((child, depth + 1, shared or again) for child in _children(node))
        return None


def _children(node: Any) -> Iterator[Any]:
    value = node.value
    if isinstance(value, list):
        for item in value:
            if isinstance(item, tuple):
                yield from item
            else:
                yield item


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

    plain_resolve = base.resolve
    scalar = yaml.ScalarNode
    # Tags by implicit flags, then by value: libyaml's composer asks `resolve` for every scalar; manifests repeat
    # the same few words thousands of times, and with no path resolvers (the safe loader has none) the tag depends
    # on these values alone.
    tags: dict[tuple[bool, bool], dict[str, str]] = {}

    class FastLoader(base):  # type: ignore[misc, valid-type]
        def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
            if kind is not scalar:
                return plain_resolve(self, kind, value, implicit)
            known = tags.get(implicit)
            if known is None:
                known = tags[implicit] = {}
            tag = known.get(value)
            if tag is None:
                tag = plain_resolve(self, kind, value, implicit)
                if len(known) >= 65_536:
                    known.clear()
                known[value] = tag
            return tag

    FastLoader.yaml_implicit_resolvers = slow.yaml_implicit_resolvers
    FastLoader.yaml_constructors = slow.yaml_constructors
    assert not FastLoader.yaml_path_resolvers, "path resolvers would make the tag cache wrong"
    if speed.ENABLED:
        # The composer also calls these two around every node, for path resolvers only; with none they do
        # nothing, so C callables that take the same arguments and do nothing stand in (no Python frame per node).
        FastLoader.descend_resolver = staticmethod(slice)
        FastLoader.ascend_resolver = staticmethod(tuple)
        # And `resolve` for every node: the same answers from a C-level cache (a hit runs no Python at all). The
        # resolver reads only class attributes when there are no path resolvers, so the class stands in for self.
        FastLoader.resolve = staticmethod(  # type: ignore[method-assign]
            lru_cache(maxsize=65_536)(partial(plain_resolve, FastLoader))
        )
    return FastLoader


@cache
def _go_loader() -> Any:
    """`_fast_loader` with go-yaml v2's scalars (see `load_documents`): `_go_tag` decides a plain scalar's tag,
    and the int, float and bool constructors read the text as go-yaml does."""
    import yaml

    base = _fast_loader()
    scalar = yaml.ScalarNode
    plain_resolve: Any = yaml.resolver.BaseResolver.resolve

    class GoLoader(base):  # type: ignore[misc, valid-type]
        pass

    def resolve(kind: Any, value: Any, implicit: Any) -> Any:
        if kind is not scalar:
            return plain_resolve(GoLoader, kind, value, implicit)
        return _go_tag(value) if implicit[0] else _STR  # (quoted and block scalars are text)

    # (No path resolvers, so the tag is a function of these arguments alone: cached as `_fast_loader` does.)
    GoLoader.resolve = staticmethod(lru_cache(maxsize=65_536)(resolve))
    GoLoader.add_constructor(_INT, lambda _loader, node: _go_number(node, _go_int(node.value.replace("_", ""))))
    GoLoader.add_constructor(_FLOAT, lambda _loader, node: _go_number(node, _go_float(node.value.replace("_", ""))))
    GoLoader.add_constructor(_BOOL, lambda _loader, node: _GO_BOOLS[node.value])
    return GoLoader


_GO_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_FLOAT = "tag:yaml.org,2002:float"
_GO_WORDS = {
    **dict.fromkeys(_GO_BOOLS, "tag:yaml.org,2002:bool"),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), "tag:yaml.org,2002:null"),
    **dict.fromkeys((".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), _FLOAT),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), _FLOAT),
}
"""go-yaml v2's `resolveMap`: words decided by a look-up, case as written."""
_GO_HINT = {**dict.fromkeys("+-", "S"), **dict.fromkeys("0123456789", "D"), **dict.fromkeys("yYnNtTfFoO~", "M")}
_GO_HINT["."] = "."
_GO_INT = re.compile(r"([-+]?)(?:0[bB]([01]+)|0[oO]([0-7]+)|0[xX]([0-9a-fA-F]+)|0([0-7]*)|([1-9][0-9]*))\Z")
"""What Go's `strconv.ParseInt(s, 0, 64)` reads (after go-yaml has dropped every `_`)."""
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
"""go-yaml v2's `yamlStyleFloat`."""
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:[eE][-+]?[0-9]+)?\Z")
"""What `strconv.ParseFloat` reads of a scalar starting with `.` (go-yaml's `.` hint)."""


def _go_tag(value: str) -> str:
    """The tag go-yaml v2's `resolve` gives a plain scalar (its timestamps are left as text for JSON, so they are
    text here)."""
    hint = _GO_HINT.get(value[:1]) if value else "N"
    if hint is None:
        # (A plain `<<` key merges: go-yaml's decoder looks for the text itself, whatever `resolve` says.)
        return _MERGE if value == "<<" else _STR
    word = _GO_WORDS.get(value)
    if word is not None:
        return word
    if hint == "M":
        return _STR
    if hint == ".":
        return _FLOAT if _go_float(value) is not None else _STR
    plain = value.replace("_", "")
    if _go_int(plain) is not None:
        return _INT
    return _FLOAT if _GO_FLOAT.match(plain) and _go_float(plain) is not None else _STR


def _go_int(text: str) -> int | None:
    """`text` as `strconv.ParseInt(text, 0, 64)` reads it, else as `ParseUint` does (no sign), else None."""
    m = _GO_INT.match(text)
    if m is None:
        return None
    sign, binary, octal, hexadecimal, zero_octal, decimal = m.groups()
    if binary is not None:
        value = int(binary, 2)
    elif octal is not None:
        value = int(octal, 8)
    elif hexadecimal is not None:
        value = int(hexadecimal, 16)
    elif zero_octal is not None:
        value = int(zero_octal or "0", 8)
    else:
        value = int(decimal)
    if sign == "-":
        value = -value
    if -(2**63) <= value < 2**63 or (not sign and value < 2**64):
        return value
    return None


def _go_float(text: str) -> float | None:
    """`text` (go-yaml's float forms and words) as go-yaml reads it; None when it overflows, which Go refuses."""
    if text in _GO_NONFINITE:
        return _GO_NONFINITE[text]
    if not (_GO_FLOAT.match(text) or _GO_DOT_FLOAT.match(text)):
        return None
    value = float(text)
    return None if value in (float("inf"), float("-inf")) else value


_GO_NONFINITE = {word: float(word.replace(".", "")) for word, tag in _GO_WORDS.items() if tag == _FLOAT}


def _go_number(node: Any, value: int | float | None) -> int | float:
    """A number go-yaml gives, as Conftest's policies get it: through JSON into a float64 (past 2**53 an integer
    is that float), an integral float below 1e21 written as an integer."""
    import yaml

    if value is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"cannot read {node.value[:40]!r} as !!{node.tag.rsplit(':', 1)[-1]}", node.start_mark
        )
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a finite number (JSON cannot hold it)", node.start_mark
            )
        if value.is_integer() and abs(value) <= _EXACT:
            return int(value)
    elif abs(value) > _EXACT:
        return float(value)
    return value


_EXACT = 2**53


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

    def set_as_map(loader: Any, node: Any) -> dict[Any, None]:
        # JSON has no sets: `!!set {a, b}` is the map `{a: null, b: null}` it is written as (Conftest reads it so).
        return dict.fromkeys(loader.construct_mapping(node))

    Loader.add_constructor("tag:yaml.org,2002:float", finite_float)
    Loader.add_constructor("tag:yaml.org,2002:set", set_as_map)

    # A plain `=` resolves to YAML 1.1's `!!value`, which PyYAML's safe constructor cannot build ("unknown tag"
    # for `op: =`): it is the text `=`, as every other YAML reader has it.
    def value_as_text(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))

    Loader.add_constructor(_VALUE, value_as_text)
    return Loader


def _tag(exc: Exception) -> str:
    problem = getattr(exc, "problem", "") or ""
    return problem.rsplit(" ", 1)[-1].strip("'") if "tag" in problem else "(unsupported)"


def _where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f" at line {mark.line + 1}" if mark is not None else ""


class _TooBig(Exception):
    pass


class _TooDeep(Exception):
    pass


_DEEP = f"YAML nested deeper than {MAX_DEPTH} levels"


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_MERGE, _VALUE = "tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"
_INT, _BOOL, _NULL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
"""What `construct_yaml_int` reads as plain `int(text)` (no `_`, base prefix, leading zero or `:`)."""
_UNTAGGED = {"scalar": _STR, "mapping": _MAP, "sequence": _SEQ}
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
"""`SafeConstructor.bool_values`."""


class _Builder:
    """Plain values straight from the composed nodes: strings, maps and lists (nearly every node of a manifest)
    are built here in one pass that also counts and bounds depth; every other tag (numbers, booleans, null,
    explicit tags, maps with `<<` merge keys) goes through the loader's own constructors, so the values are
    exactly PyYAML's. (PyYAML's generic constructor costs more than parsing with libyaml.)"""

    __slots__ = ("budget", "loader", "local_tags")

    def __init__(self, loader: Any, *, local_tags: bool = False) -> None:
        self.loader = loader
        self.budget = [MAX_NODES]
        self.local_tags = local_tags

    def build(self, node: Any, depth: int) -> Any:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise _TooBig
        if not depth:
            raise _TooDeep
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP and not any(k.tag == _MERGE for k, _ in node.value):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                # A `=` key is text to PyYAML's safe constructor too (its flatten step retags it).
                key = key_node.value if key_node.tag == _VALUE else self.build(key_node, depth - 1)
                if not isinstance(key, str):
                    key = self._key(key, key_node)
                out[key] = self.build(value_node, depth - 1)
            return out
        if tag == _SEQ:
            return [self.build(item, depth - 1) for item in node.value]
        return self._construct(node, depth)

    def build_fast(self, node: Any, depth: int) -> Any:
        """`build`, the same values, counts and errors, with a map's text keys and text values (most of a
        manifest) taken in the loop instead of one call each (`gate.speed`: the plain path is `build`)."""
        budget = self.budget
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooBig
        if not depth:
            raise _TooDeep
        tag = node.tag
        if tag == _STR:
            return node.value
        if tag == _MAP:
            pairs = node.value
            for key_node, _ in pairs:
                if key_node.tag == _MERGE:
                    break
            else:
                out: dict[str, Any] = {}
                inner = depth - 1
                build = self.build_fast
                for key_node, value_node in pairs:
                    key_tag = key_node.tag
                    if key_tag == _STR and inner:
                        budget[0] -= 1
                        if budget[0] < 0:
                            raise _TooBig
                        key = key_node.value
                    elif key_tag == _VALUE:
                        key = key_node.value
                    else:
                        key = build(key_node, inner)
                        if not isinstance(key, str):
                            key = self._key(key, key_node)
                    if value_node.tag == _STR and inner:
                        budget[0] -= 1
                        if budget[0] < 0:
                            raise _TooBig
                        out[key] = value_node.value
                    else:
                        out[key] = build(value_node, inner)
                return out
        if tag == _SEQ:
            build = self.build_fast
            return [build(item, depth - 1) for item in node.value]
        # The commonest scalars, as PyYAML's safe constructors make them (anything else goes to those).
        value = node.value
        if type(value) is str:
            if tag == _INT and _DECIMAL.match(value):
                return int(value)
            if tag == _BOOL:
                known = _BOOLS.get(value.lower())
                if known is not None:
                    return known
            elif tag == _NULL:
                return None
        return self._construct(node, depth)

    def _construct(self, node: Any, depth: int) -> Any:
        if self.local_tags and str(node.tag).startswith("!"):
            # go-yaml, which Conftest and gator parse with, reads an application's own tag (CloudFormation's
            # `!Ref`, `!Sub`, `!GetAtt`) as no tag on a map or a list and as the plain text of a scalar.
            node.tag = _UNTAGGED[node.id]
            self.budget[0] += 1  # (counted once already, by the caller)
            return self.build(node, depth)
        loader = self.loader
        try:
            value = loader.construct_object(node, deep=True)
        except (KeyError, ValueError, TypeError, OverflowError, AttributeError):
            # PyYAML's safe constructors index and convert without checking (`!!bool maybe` is a KeyError,
            # `!!int x` a ValueError): the same one-line error, at the value's line, as any other bad YAML.
            import yaml

            shown = str(node.value)[:40] if isinstance(node.value, str) else ""
            tag = str(node.tag).rsplit(":", 1)[-1]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {shown!r} as !!{tag}", node.start_mark
            ) from None
        finally:
            loader.constructed_objects, loader.recursive_objects = {}, {}
        self.budget[0] += 1
        return _plain(value, self.budget, depth)

    def _key(self, key: Any, node: Any) -> str:
        if isinstance(key, dict | list) or (key is None and self.local_tags):
            import yaml

            # (A null key is text to PyYAML's reading of our own files; sigs.k8s.io/yaml, under Conftest and
            # gator, refuses the whole file: "unsupported map key".)
            problem = "found unhashable key" if key is not None else "found a null key"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark)
        return _key(key)


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    # Aliases share objects, so a few of them can expand exponentially: count every value visited.
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooBig
    if not depth:
        # The same bound as `_Budget.spend`: the root is level 1, a value on level MAX_DEPTH + 1 is too deep.
        raise _TooDeep
    if isinstance(value, dict):
        return {k if isinstance(k, str) else _key(k): _plain(v, budget, depth - 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, budget, depth - 1) for v in value]
    # YAML turns `2027-01-01` into a date; the schema and our models speak ISO strings; `!!binary` is text in JSON.
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _key(key: Any) -> str:
    """A scalar key as JSON text, spelt as Conftest's YAML-to-JSON step spells it (`true`, `null`, `1.5`)."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float) and key.is_integer() and abs(key) < 1e21:
        return str(int(key))
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    if isinstance(key, dt.datetime | dt.date):
        return key.isoformat()
    return str(key)
