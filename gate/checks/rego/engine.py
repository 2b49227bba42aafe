"""Loads Rego policies and data into one regorus engine, once per run: version detection, compile errors, namespaces."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from gate.checks.rego.limits import Progress
from gate.errors import ConfigError, InputError, PolicyError

BUILTIN_PREFIX = "builtin:"
BUILTIN_PACKS = ("kubernetes", "dockerfile")
RULE_KINDS = re.compile(r"^(?:(?P<fail>deny|violation)|(?P<warn>warn))(?:_[a-zA-Z0-9]+)*$")
_V1_IMPORT = re.compile(r"^\s*import\s+rego\.v1\b", re.M)
_FUTURE_IMPORT = re.compile(r"^\s*import\s+future\.keywords\b", re.M)
_V0_HINTS = ("`if` keyword is required", "`contains` keyword is required")


class Module(NamedTuple):
    """One loaded policy file: its namespace (package without `data.`) and its rule heads in order."""

    path: str
    namespace: str
    version: int
    rules: tuple[str, ...]
    """Name of every rule head (a name repeats when the file defines it several times)."""


class PolicySet:
    """Compiled policies plus data; `session()` hands out a cheap clone per input file."""

    __slots__ = (
        "_added",
        "_defined",
        "_go_verbs",
        "_lenient",
        "_lenient_of",
        "_rules",
        "_shared",
        "engine",
        "exact",
        "modules",
        "reads_file_info",
        "relax",
    )

    def __init__(
        self,
        engine: Any,
        modules: tuple[Module, ...],
        reads_file_info: bool = True,
        relax: Callable[[], PolicySet] | None = None,
        exact: Callable[[], PolicySet] | None = None,
    ) -> None:
        self.engine = engine
        self.modules = modules
        self.reads_file_info = reads_file_info
        """Whether a policy may read `data.conftest.file` (set per input file); when none can, one engine serves
        every file, which keeps its caches warm (a clone per file doubles the time of each evaluation)."""
        self.relax = relax
        """Compiles the same policies lenient (see `lenient`); None when these are."""
        self.exact = exact
        """Compiles the same policies with Go's `%s` and `%q` (see `go_verbs`); None when these have them."""
        self._added: list[str] = []
        self._go_verbs: PolicySet | None = None
        self._lenient_of: PolicySet | None = None
        """The set whose lenient set is this one's too (for `go_verbs`: one lenient compile, not two)."""
        self._rules: dict[str, tuple[tuple[str, ...], int]] = {}
        self._defined: dict[tuple[str, str], bool] = {}
        self._shared: Any = None
        self._lenient: PolicySet | None = None

    def lenient(self) -> PolicySet | None:
        """The same policies with every typed built-in call undefined on arguments of the wrong type, as OPA
        evaluates them (`compat.spell_out_imported_calls(lenient=True)`), compiled on first use: for the files
        whose evaluation stopped at a built-in's error. None when these are the lenient ones already."""
        if self._lenient_of is not None:
            return self._lenient_of.lenient()
        if self._lenient is None and self.relax is not None:
            self._lenient = self._with_data(self.relax())
        return self._lenient

    def go_verbs(self) -> PolicySet:
        """These policies as they write a `%s` or `%q` argument that is not text, Go's way (`compat`'s
        `text_verbs`), compiled on first use: from then on `in_use` answers with them, so a policy that formats
        numbers with `%s` costs one more compile, not two evaluations of every input. Their lenient set is this
        one's. Themselves when they have Go's verbs already."""
        if self.exact is None:
            return self
        if self._go_verbs is None:
            made = self._with_data(self.exact())
            made._lenient_of = self
            self._go_verbs = made
        return self._go_verbs

    def in_use(self) -> PolicySet:
        """The policies to evaluate the next input with: these, or their `go_verbs` once an input needed them."""
        return self._go_verbs or self

    def add_data_json(self, text: str) -> None:
        """Data added after the compile (the run's partner objects), kept for the lenient and Go-verb sets too."""
        self.engine.add_data_json(text)
        self._added.append(text)

    def _with_data(self, made: PolicySet) -> PolicySet:
        for text in self._added:
            made.add_data_json(text)
        return made

    def namespaces(self) -> tuple[str, ...]:
        """Every namespace in load order, each once."""
        return tuple(dict.fromkeys(m.namespace for m in self.modules))

    def check_rules(self, namespace: str) -> tuple[tuple[str, ...], int]:
        """The distinct deny/violation/warn rule names of a namespace and how many rule heads define them."""
        if namespace not in self._rules:
            names = [r for m in self.modules if m.namespace == namespace for r in m.rules if RULE_KINDS.match(r)]
            self._rules[namespace] = (tuple(dict.fromkeys(names)), len(names))
        return self._rules[namespace]

    def has_rule(self, namespace: str, rule: str) -> bool:
        """Whether any module of the namespace defines `rule` (so a document need not ask for what is not there)."""
        key = (namespace, rule)
        if key not in self._defined:
            self._defined[key] = any(m.namespace == namespace and rule in m.rules for m in self.modules)
        return self._defined[key]

    def session(self) -> Any:
        """A clone of the compiled engine (regorus clones without re-parsing)."""
        return self.engine.clone()

    def shared_session(self) -> Any:
        """One clone for every input, for policies that never read per-file data (see `reads_file_info`)."""
        if self._shared is None:
            self._shared = self.engine.clone()
        return self._shared


def load(
    policies: Sequence[str],
    *,
    data: Sequence[Path] = (),
    rego_version: str = "auto",
    progress: Progress | None = None,
    lenient: bool = False,
    text_verbs: bool = False,
) -> PolicySet:
    """Parse every policy file and data file once; raise PolicyError naming the file and line on bad Rego.

    `progress(file, doing)` is told of each file as it starts (`gate.checks.rego.limits` bounds each step);
    `lenient`: see `PolicySet.lenient`; `text_verbs`: `%s` and `%q` arguments taken as text, for a caller that
    evaluates an input that stops at one again with `PolicySet.go_verbs` (`compat.TEXT_VERB_ERROR`)."""
    import regorus

    step = progress or _quiet
    if rego_version not in ("auto", "v0", "v1"):
        raise ConfigError(f"unknown Rego version {rego_version!r} (use v0, v1 or auto)")
    files = list(policy_files(policies))
    if not files:
        raise PolicyError(f"no policies found in {', '.join(policies) or '(none)'}")
    engine = regorus.Engine()
    reads_file_info = False
    for display, source in files:
        reads_file_info = reads_file_info or may_read_file_info(source)
        step(display, "compiling the policy")
        add_module(engine, display, source, rego_version, lenient=lenient, text_verbs=text_verbs)
    ast = json.loads(engine.get_ast_as_json())  # (once: 2 MB of JSON for the built-in Kubernetes pack)
    modules = _modules(ast)
    from gate.checks.rego import static as rego_static

    rego_static.check(ast)  # before any evaluation: see rego_static
    merged = load_data(data, step)
    if merged:
        engine.add_data_json(json.dumps(merged))

    def relax() -> PolicySet:
        return load(policies, data=data, rego_version=rego_version, progress=progress, lenient=True)

    def exact() -> PolicySet:
        return load(policies, data=data, rego_version=rego_version, progress=progress)

    go_verbs = exact if text_verbs and not lenient else None
    return PolicySet(engine, modules, reads_file_info, None if lenient else relax, go_verbs)


_DATA = re.compile(r"\bdata\b")
_DATA_ELSEWHERE = re.compile(r"\bdata\.(?!conftest\b)[A-Za-z_]")


def may_read_file_info(source: str) -> bool:
    """False only when every `data` in the text is a path into something other than `data.conftest`: a bare
    `data`, `data[...]` or `data.conftest` (even in a comment or a string) counts as reading it."""
    return any(not _DATA_ELSEWHERE.match(source, m.start()) for m in _DATA.finditer(source))


def _quiet(_subject: str, _doing: str) -> None:
    pass


def policy_files(policies: Sequence[str]) -> Iterable[tuple[str, str]]:
    """(display path, source) of every `.rego` file under each entry, recursively and sorted."""
    for entry in policies:
        root, display_root = _resolve(entry)
        if root.is_file():
            yield display_root, _read(root, display_root)
            continue
        if not root.is_dir():
            raise PolicyError("policy path does not exist", path=entry)
        for path in sorted(root.rglob("*.rego")):
            display = f"{display_root.rstrip('/')}/{path.relative_to(root).as_posix()}"
            yield display, _read(path, display)


def _resolve(entry: str) -> tuple[Path, str]:
    if not entry.startswith(BUILTIN_PREFIX):
        return Path(entry), entry
    from importlib import resources

    name = entry[len(BUILTIN_PREFIX) :]
    if name not in BUILTIN_PACKS:
        raise ConfigError(f"unknown built-in policy pack {entry!r} (available: {', '.join(BUILTIN_PACKS)})")
    return Path(str(resources.files("gate.checks.rego").joinpath("packs", name))), entry


def _read(path: Path, display: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read policy: {exc}", path=display) from exc


def add_module(
    engine: Any, display: str, source: str, rego_version: str, *, lenient: bool = False, text_verbs: bool = False
) -> None:
    """Add one file as v1 or v0: `import rego.v1` means v1, `import future.keywords` means v0, otherwise v1
    first (Conftest >= 0.60's default) and v0 when v1 cannot parse it, so old policies keep working."""
    from gate.checks.rego.compat import spell_out_imported_calls

    order = _version_order(source, rego_version)
    errors: list[RuntimeError] = []
    for v0 in order:
        engine.set_rego_v0(v0)
        try:
            spelled = spell_out_imported_calls(
                source, v0=v0, lenient=lenient, text_verbs=text_verbs, tag=_module_tag(display)
            )
            engine.add_policy(display, _rewrite_v0_sets(spelled, display) if v0 else spelled)
            return
        except RuntimeError as exc:
            errors.append(exc.with_traceback(None))  # (no frame kept: the engine is freed when it goes)
            if not v0 and not any(hint in str(exc) for hint in _V0_HINTS):
                break
        finally:
            engine.set_rego_v0(False)
    # A v1 failure that only says "this is v0 syntax" is less useful than the v0 parser's own complaint.
    v0_hint = order[0] is False and any(hint in str(errors[0]) for hint in _V0_HINTS)
    raise policy_error(errors[-1] if v0_hint else errors[0]) from None


def _module_tag(display: str) -> str:
    # The same for a file in every worker and in the lenient compile: its helpers' names follow its name.
    return f"_{zlib.crc32(display.encode()):08x}"


def _version_order(source: str, rego_version: str) -> tuple[bool, ...]:
    if rego_version == "v0":
        return (True,)
    if rego_version == "v1" or _V1_IMPORT.search(source):
        return (False,)
    if _FUTURE_IMPORT.search(source):
        return (True, False)
    return (False, True)


def _rewrite_v0_sets(source: str, display: str) -> str:
    """In Rego v0, `p[x] if { ... }` (future.keywords) is a partial set; regorus reads it as an object, so
    the head is respelled `p contains x` on the same line, which both agree is a set."""
    from gate.checks.rego.probe import module_ast

    ast = module_ast(source, v0=True, name=display)
    if ast is None:
        return source
    raw = source.encode()
    edits = []
    for rule in ast["rules"]:
        head = rule.get("Spec", {}).get("head", {}).get("Compr")
        if head and head.get("assign") is None and "RefBrack" in head["refr"]:
            base = head["refr"]["RefBrack"]["refr"]
            if "Var" in base:
                start, end, name_end = head["span"]["start"], head["span"]["end"], base["Var"]["span"]["end"]
                key = raw[name_end + 1 : end - 1].decode()
                edits.append((start, end, f"{base['Var']['value']} contains {key}".encode()))
    for start, end, text in sorted(edits, reverse=True):
        raw = raw[:start] + text + raw[end:]
    return raw.decode()


def _modules(entries: list[dict[str, Any]]) -> tuple[Module, ...]:
    modules = []
    for entry in entries:
        ast = entry["ast"]
        path = entry["source"]["file"]
        rules = []
        for rule in ast["rules"]:
            name, line, problematic = _rule_head(rule)
            if name is None:
                continue
            if problematic and entry.get("version") == 1 and RULE_KINDS.match(name):
                # Conftest refuses `deny[x] if` under Rego v1: it builds an object, so no message would show.
                raise PolicyError(
                    f"rule is using 'if' keyword without 'contains' keyword: rule in {path} at line {line}", path=path
                )
            rules.append(name)
        modules.append(Module(path, _ref_text(ast["package"]["refr"]), int(entry.get("version", 1)), tuple(rules)))
    return tuple(modules)


def _rule_head(rule: dict[str, Any]) -> tuple[str | None, int, bool]:
    """(name, line, is `p[x] if` object form) of a rule head; name None for functions and dotted heads."""
    kind, body = next(iter(rule.items()))
    head = body if kind == "Default" else body.get("head", {})
    if kind != "Default":
        if "Func" in head:
            return None, 0, False
        head = next(iter(head.values()))
    refr = head.get("refr", {})
    brack = "RefBrack" in refr
    base = refr["RefBrack"]["refr"] if brack else refr
    if "Var" not in base:
        return None, 0, False
    problematic = brack and kind == "Spec" and "Compr" in body["head"] and head.get("assign") is None
    return base["Var"]["value"], int(head["span"]["line"]), problematic


def _ref_text(refr: dict[str, Any]) -> str:
    if "Var" in refr:
        return str(refr["Var"]["value"])
    if "RefDot" in refr:
        return f"{_ref_text(refr['RefDot']['refr'])}.{refr['RefDot']['field'][1]}"
    if "RefBrack" in refr:
        index = refr["RefBrack"]["index"]
        return f"{_ref_text(refr['RefBrack']['refr'])}.{index.get('String', {}).get('value', '')}"
    return ""


_LOCATION = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_ERROR = re.compile(r"^error:\s*(?P<msg>.+)$", re.M)


def policy_error(exc: BaseException) -> PolicyError:
    """regorus's multi-line diagnostic (with a Rust backtrace when RUST_BACKTRACE is set) as one line."""
    text = str(exc).split("Stack backtrace:", 1)[0]
    where = _LOCATION.search(text)
    what = _ERROR.search(text)
    message = what.group("msg").strip() if what else " ".join(text.split()) or type(exc).__name__
    if where:
        return PolicyError(f"line {where['line']}, column {where['col']}: {message}", path=where["file"])
    return PolicyError(message)


# --- data files -------------------------------------------------------------------------------------------


def data_files(data: Sequence[Path]) -> Iterable[Path]:
    """JSON/YAML files under each `--data` entry, recursively (Conftest's filter: .json, .yaml, .yml)."""
    for entry in data:
        if entry.is_dir():
            yield from sorted(p for p in entry.rglob("*") if p.suffix in (".json", ".yaml", ".yml") and p.is_file())
        elif entry.is_file():
            yield entry
        else:
            raise InputError("data path does not exist", path=str(entry))


def load_data(data: Sequence[Path], progress: Progress | None = None) -> dict[str, Any]:
    """Merge every data file into one `data` document, as OPA's loader does; a clash names the file."""
    from gate.checks.rego.documents import load_documents

    step = progress or _quiet
    merged: dict[str, Any] = {}
    for path in data_files(data):
        step(str(path), "reading policy data")
        docs = load_documents(path) if path.suffix != ".json" else None
        value = docs[0].value if docs else _json_file(path)
        if not isinstance(value, dict):
            raise InputError("a data file must hold an object at its top level", path=str(path))
        _merge(merged, value, str(path))
    return merged


def _json_file(path: Path) -> Any:
    from gate.checks.rego.documents import parse_input

    return parse_input(path)


def _merge(into: dict[str, Any], new: dict[str, Any], origin: str, prefix: str = "data") -> None:
    for key, value in new.items():
        if key in into and isinstance(into[key], dict) and isinstance(value, dict):
            _merge(into[key], value, origin, f"{prefix}.{key}")
        elif key in into and into[key] != value:
            raise InputError(f"{prefix}.{key} is already defined by another data file", path=origin)
        else:
            into[key] = value
