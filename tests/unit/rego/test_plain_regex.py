"""`regex.match` with a literal pattern `plain_regex` reads answers through string built-ins exactly as the real
thing: as OPA's (Go's RE2, what Conftest runs) on every string, and as regorus's own built-in on the ASCII ones
(regorus's Rust engine reads `\\d`, `\\w` and `\\s` as Unicode classes, `\\s` with a vertical tab, Go as ASCII
without; the rewrite follows Go)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import regorus

from gate.checks.rego.compat import spell_out_imported_calls
from gate.checks.rego.engine import add_module
from gate.checks.rego.plain_regex import conditions
from tests.conftest import go_tool

# Patterns of the shapes policies write (tags, registries, names, versions), each read by `plain_regex`.
READ = [
    ":latest$",
    ":latest$|^[^:]+$",
    "^[a-z0-9-]+$",
    "^[a-z0-9][a-z0-9-]*$",
    "^registry\\.internal/",
    "^docker.io/",  # `.` unescaped: any character but a newline
    "latest",
    ".*:latest$",
    "^.*$",
    "^v[0-9]+$",
    "^[A-Za-z0-9_.-]+\\.com$",
    "^[^/]+$",
    "[^a-z0-9-]",
    "^\\d+$",
    "^\\w*$",
    "\\s",
    "^\\S+$",
    "^$",
    "",
    "a|",
    "^prod-|^staging-|-test$",
    "^.$",
    "^[a-z][0-9]",
    "[0-9]$",
    "^a.b$",
    "^\\$\\^\\|\\[x\\]$",
    "^[\\]\\-x]+$",
    "^a+",
    "^a+b$",
    "^ab*c$",
    "^kube-.*",
    "\\.yaml$|\\.yml$",
    "^(a|b)$",
    "^(create|patch|update|delete)$",
    "^(extensions|networking.k8s.io)/.+$",
    "^.*(crd.projectcalico.org)$",
    "^(calico.*|system:kube-scheduler)$",
    "^(?:prod|stag(e|ing))-[a-z]+$",
    "x(|y)z",
]

# Outside the subset: repeated or named groups, optional and counted parts, flags, word boundaries, POSIX classes,
# a repeat in the middle of a half-anchored alternative (also after expansion), a class next to a literal with no
# anchor, two repeats, a large negated class, non-ASCII.
UNREAD = [
    "^(a|b)+$",
    "^(?P<n>a)$",
    "(^|;)\\s*sudo",
    "^colou?r$",
    "^[0-9]{3}$",
    "(?i)^latest$",
    "\\blatest\\b",
    "a+b",
    "ab*c",
    "^[[:alpha:]]+$",
    "^a.*b",
    "a[0-9]",
    "^é$",
    "^[^a-z]+$",
]
# Not patterns at all: left to regorus, which names them when it evaluates the call.
INVALID = ["[a-z", "\\", "*a"]

STRINGS = [
    "",
    "a",
    "ab",
    "a.b",
    "a\nb",
    "aaab",
    "nginx",
    "nginx:latest",
    "nginx:1.25",
    ":latest",
    "latest",
    "registry.internal/app:1.0",
    "registryXinternal/app",
    "docker.io/library/nginx",
    "a:b:c",
    "UPPER",
    "with space",
    "tab\tx",
    "line\n",
    "-",
    "a-b-1",
    "a_b",
    "v1",
    "v",
    "v12a",
    "x.com",
    ".com",
    "sub.example.com",
    "12345",
    "/",
    "app/web",
    "$^|[x]",
    "]-x",
    "prod-db",
    "db-test",
    "stagingdb",
    "kube-system",
    "x.yaml",
    "x.yml.bak",
    "z9",
    "ünï",
    "١٢٣",  # Arabic-Indic digits: not `\\d` to Go
    "\u00a0",  # no-break space: not `\\s` to Go
    "v\vt",  # a vertical tab: not `\\s` to Go either (it is to Rust)
    "日本:latest",
    "create",
    "patch-x",
    "extensions/v1",
    "networking.k8s.io/v1",
    "networkingXk8s.io/v1",
    "networking.k8s.io/",
    "crd.projectcalico.org",
    "x.crd.projectcalico.org",
    "crdXprojectcalico.org",
    "calico-node",
    "system:kube-scheduler",
    "prod-web",
    "stage-web",
    "staging-",
    "xz",
    "xyz",
    "xyyz",
]


def _policy(patterns: list[str], strings: list[str], *, v1: bool) -> str:
    head = "package t\n" + ("import rego.v1\n" if v1 else "")
    lines = [f"strings := {json.dumps(strings)}"]
    lines += [f"r{i} := [regex.match(`{p}`, s) | s := strings[_]]" for i, p in enumerate(patterns)]
    return head + "\n".join(lines) + "\n"


def _regorus(source: str, version: str, *, rewrite: bool = True) -> dict[str, list[bool]]:
    engine = regorus.Engine()
    if rewrite:
        add_module(engine, "p.rego", source, version)
    else:
        engine.add_policy("p.rego", source)
    answer = json.loads(engine.eval_query_as_json("data.t"))
    return answer["result"][0]["expressions"][0]["value"]  # type: ignore[no-any-return]


def test_every_pattern_is_read_or_refused_as_listed() -> None:
    assert [p for p in READ if conditions(p) is None] == []
    assert [p for p in UNREAD + INVALID if conditions(p) is not None] == []


def test_read_patterns_no_longer_call_regex_match_for_strings() -> None:
    rewritten = spell_out_imported_calls(_policy(READ, STRINGS, v1=True))
    body, _, appended = rewritten.partition("\ncg_compat_regex_1(")
    assert "regex.match(" not in body
    functions = ("cg_compat_regex_1(" + appended).splitlines()
    assert len(functions) == len(READ)
    # The built-in is left only for a value that is not a string (so it fails with its own message).
    assert all(f.count("regex.match(p, x)") == 1 and "not is_string(x); regex.match(p, x)" in f for f in functions)


@pytest.mark.parametrize("v1", [True, False])
def test_read_patterns_answer_as_regorus_builtin_on_ascii(v1: bool) -> None:
    ascii_strings = [s for s in STRINGS if s.isascii() and "\v" not in s]
    rewritten = _regorus(_policy(READ, ascii_strings, v1=v1), "v1" if v1 else "v0")
    builtin = _regorus(_policy(READ, ascii_strings, v1=True), "v1", rewrite=False)
    for i, pattern in enumerate(READ):
        assert rewritten[f"r{i}"] == builtin[f"r{i}"], pattern


def test_read_patterns_answer_as_opa(tmp_path: Path) -> None:
    opa = go_tool("opa")
    source = _policy(READ, STRINGS, v1=True)
    (tmp_path / "p.rego").write_text(source)
    done = subprocess.run(
        [opa, "eval", "--format", "raw", "-d", str(tmp_path / "p.rego"), "data.t"],
        capture_output=True,
        text=True,
        check=True,
    )
    theirs = json.loads(done.stdout)
    ours = _regorus(source, "v1")
    mismatches = {
        (pattern, s)
        for i, pattern in enumerate(READ)
        for s, a, b in zip(STRINGS, ours[f"r{i}"], theirs[f"r{i}"], strict=True)
        if a != b
    }
    assert mismatches == set()
    assert any(theirs[f"r{i}"] != [False] * len(STRINGS) for i in range(len(READ))), "the strings test something"


def test_unread_patterns_keep_the_builtin() -> None:
    source = _policy(UNREAD + INVALID, ["a"], v1=True)
    assert spell_out_imported_calls(source) == source


def test_a_double_quoted_pattern_and_re_match_are_read_too() -> None:
    source = 'package t\nx := regex.match("^[a-z]+\\\\.com$", input.host)\ny := re_match(`^v`, input.v)\n'
    out = spell_out_imported_calls(source).splitlines()
    assert out[1] == 'x := cg_compat_regex_1("^[a-z]+\\\\.com$", input.host)'
    assert out[2] == "y := cg_compat_regex_2(`^v`, input.v)"
    engine = regorus.Engine()
    add_module(engine, "p.rego", source, "v0")
    for host, v, want in [("a.com", "v1", [True, True]), ("a.org", "1", [False, False]), ("xcom", "v", [False, True])]:
        engine.set_input_json(json.dumps({"host": host, "v": v}))
        assert [json.loads(engine.eval_rule_as_json(f"data.t.{r}")) for r in "xy"] == want


def test_a_value_that_is_not_a_string_fails_as_the_builtin_does() -> None:
    engine = regorus.Engine()
    add_module(engine, "p.rego", "package t\nx := regex.match(`^a$`, input.n)\n", "v1")
    engine.set_input_json('{"n": 5}')
    with pytest.raises(RuntimeError, match="`regex.match` expects string argument"):
        engine.eval_rule_as_json("data.t.x")
