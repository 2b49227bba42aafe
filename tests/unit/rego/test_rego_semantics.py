"""Conftest semantics on cases the corpus lacks (written here): exceptions, object results, Rego v0/v1,
data files, TOML/JSON inputs, compile errors, the shipped packs and verify failures."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gate.checks.rego.check import check, evaluate, format_summary, format_verify, verify
from gate.checks.rego.documents import is_policy_input, parse_input
from gate.errors import ConfigError, GateError, InputError, PolicyError
from gate.model import Severity

V1 = "package main\nimport rego.v1\n\n"


def run(tmp_path: Path, inputs: list[Path], **kw):  # type: ignore[no-untyped-def]
    return check(inputs, policies=[str(tmp_path / "policy")], root=tmp_path, **kw)


def test_exceptions_hide_results_and_are_tallied(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(
        "policy/p.rego",
        V1 + 'deny_foo contains "foo fired" if true\n'
        'deny contains "plain fired" if true\n'
        'warn_bar contains "bar warned" if true\n'
        'exception contains rules if { input.skip; rules := ["foo", ""] }\n',
    )
    skipped = write("skip.json", '{"skip": true}')
    kept = write("keep.json", '{"skip": false}')
    (result,) = run(tmp_path, [skipped])
    assert [w.msg for w in result.warnings] == ["bar warned"] and result.failures == ()
    assert sorted(result.exceptions) == ['data.main.exception[_][_] == ""', 'data.main.exception[_][_] == "foo"']
    assert format_summary([result]).endswith("3 tests, 0 passed, 1 warning, 0 failures, 2 exceptions")
    (report,) = evaluate([skipped], policies=[str(tmp_path / "policy")], root=tmp_path)
    suppressed = {f.title: f.tool_suppression for f in report.findings}
    assert suppressed["bar warned"] is None
    assert suppressed["foo fired"] is not None and suppressed["foo fired"].reason == "conftest exception in main"
    assert suppressed["plain fired"] is not None and suppressed["plain fired"].by == "tool"
    (result,) = run(tmp_path, [kept])
    assert len(result.failures) == 2 and result.exceptions == ()


def test_object_results_carry_id_severity_location_and_metadata(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(
        "policy/p.rego",
        V1 + 'violation contains {"msg": "bad port", "id": "NET-1", "severity": "low", '
        '"_loc": {"file": "svc.yaml", "line": 7}, "details": {"port": 22}} if true\n'
        'warn_x contains {"msg": "graded", "severity": "critical"} if true\n'
        'deny_y contains {"msg": "odd grade", "severity": "blocker"} if true\n'
        'deny_z contains {"msg": ""} if true\n',
    )
    doc = write("svc.yaml", "kind: Service\n")
    (report,) = evaluate([doc], policies=[str(tmp_path / "policy")], root=tmp_path)
    found = {f.title: f for f in report.findings}
    assert set(found) == {"bad port", "graded", "odd grade"}  # an empty msg counts as passed
    bad = found["bad port"]
    assert (bad.id, bad.severity) == ("NET-1", Severity.LOW)
    assert bad.location is not None and (bad.location.path, bad.location.start_line) == ("svc.yaml", 7)
    assert bad.prop("details") == '{"port": 22}' and bad.prop("query") == "data.main.violation"
    assert (found["graded"].id, found["graded"].severity) == ("main.warn_x", Severity.CRITICAL)
    assert found["odd grade"].severity is Severity.HIGH


def test_metadata_equal_in_python_but_not_in_json_keeps_its_own_properties(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    # Findings of one rule share what its metadata decides; `1`, `1.0` and `true` are one key to Python.
    write(
        "policy/p.rego",
        V1 + 'deny contains {"msg": sprintf("n=%v", [n]), "n": n} if some n in input.ns\n'
        'warn contains {"msg": sprintf("d=%v", [n]), "details": {"n": n}} if some n in input.ns\n',
    )
    doc = write("a.json", '{"ns": [1, true, 2]}')
    (report,) = evaluate([doc], policies=[str(tmp_path / "policy")], root=tmp_path)
    got = sorted((f.title, f.prop("details"), f.prop("n")) for f in report.findings)
    assert got == [
        ("d=1", '{"n": 1}', None),
        ("d=2", '{"n": 2}', None),
        ("d=true", '{"n": true}', None),
        ("n=1", None, "1"),
        ("n=2", None, "2"),
        ("n=true", None, "true"),
    ]


def test_metadata_orjson_cannot_write_is_not_shared_and_breaks_nothing() -> None:
    # (regorus hands numbers past 64 bits back as floats; a 128-bit integer can still reach here from Python.)
    from gate.checks.rego.check import _metadata_key

    assert _metadata_key((("n", 2**70),)) is None
    assert _metadata_key((("id", "X-1"),)) == (("id", "X-1"),)
    assert _metadata_key((("d", {"b": 1, "a": [True]}),)) == (("d", b'{"a":[true],"b":1}'),)


def test_object_result_without_msg_is_a_policy_error(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + 'deny contains {"message": "no msg key"} if true\n')
    with pytest.raises(PolicyError, match='"msg" field must be present'):
        run(tmp_path, [write("a.json", "{}")])


def test_syntax_error_names_file_and_line(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/ok.rego", V1 + 'deny contains "x" if false\n')
    write("policy/broken.rego", V1 + "deny contains msg if {\n  msg := 1 +\n")
    with pytest.raises(PolicyError) as info:
        run(tmp_path, [write("a.json", "{}")])
    line = info.value.diagnostics()
    assert line.startswith(f"{tmp_path}/policy/broken.rego: line ") and "\n" not in line
    assert "Stack backtrace" not in line


def test_unknown_function_fails_at_evaluation_with_location(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + "deny contains msg if {\n  msg := nosuchfn(input)\n}\n")
    with pytest.raises(PolicyError) as info:
        run(tmp_path, [write("a.json", "{}")])
    assert info.value.path == f"{tmp_path}/policy/p.rego"
    assert "line 5" in info.value.message and "nosuchfn" in info.value.message


def test_v1_if_without_contains_is_rejected_like_conftest(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + 'deny[msg] if {\n  msg := "foo"\n}\n')
    with pytest.raises(PolicyError, match="'if' keyword without 'contains' keyword: rule in .*p.rego at line 4"):
        run(tmp_path, [write("a.json", "{}")])


def test_rego_v0_policies_still_work(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/plain.rego", 'package main\n\ndeny[msg] {\n  input.kind == "Pod"\n  msg := "v0 plain"\n}\n')
    write(
        "policy/future.rego",
        "package main\nimport future.keywords.if\nimport future.keywords.in\n\n"
        'warn[msg] if {\n  some c in input.containers\n  msg := sprintf("container %s", [c])\n}\n',
    )
    write("policy/bare.rego", "package main\n\ndeny_bare {\n  true\n}\n")
    (result,) = run(tmp_path, [write("pod.json", '{"kind": "Pod", "containers": ["a", "b"]}')])
    assert [f.msg for f in result.failures] == ["v0 plain"]
    assert sorted(w.msg for w in result.warnings) == ["container a", "container b"]
    with pytest.raises(PolicyError):
        run(tmp_path, [write("x.json", "{}")], rego_version="v1")


def test_data_files_are_merged_into_data(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(
        "policy/p.rego",
        V1 + "deny contains msg if {\n  some port in input.ports\n  port in data.blocked.ports\n"
        '  msg := sprintf("port %d is blocked for %s", [port, data.team.name])\n}\n',
    )
    blocked = write("data/blocked.yaml", "blocked:\n  ports: [22, 23]\n")
    team = write("data/nested/team.json", '{"team": {"name": "web"}}')
    doc = write("svc.json", '{"ports": [22, 80]}')
    (result,) = run(tmp_path, [doc], data=[blocked.parent])
    assert [f.msg for f in result.failures] == ["port 22 is blocked for web"]
    (result,) = run(tmp_path, [doc], data=[blocked, team])
    assert len(result.failures) == 1
    clash = write("other/clash.json", '{"team": {"name": "ops"}}')
    with pytest.raises(InputError, match="data.team.name is already defined"):
        run(tmp_path, [doc], data=[team, clash])


def test_conftest_file_info_is_in_data(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + 'deny contains sprintf("file %s", [data.conftest.file.name]) if true\n')
    (result,) = run(tmp_path, [write("cfg/app.json", "{}")])
    assert [f.msg for f in result.failures] == ["file app.json"]


def test_toml_and_json_array_inputs(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write(
        "policy/p.rego",
        V1 + 'deny contains msg if {\n  input.server.debug == true\n  msg := "debug on"\n}\n'
        'warn contains msg if {\n  input.name\n  msg := sprintf("item %s", [input.name])\n}\n',
    )
    toml = write("app.toml", "[server]\ndebug = true\nstarted = 1979-05-27T07:32:00Z\n")
    assert parse_input(toml)["server"]["started"] == "1979-05-27T07:32:00Z"
    (result,) = run(tmp_path, [toml])
    assert [f.msg for f in result.failures] == ["debug on"]
    (result,) = run(tmp_path, [write("items.json", '[{"name": "a"}, {"name": "b"}]')])
    assert sorted(w.msg for w in result.warnings) == ["item a", "item b"]


def test_bad_inputs_are_one_line_input_errors(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + 'deny contains "x" if false\n')
    for name, text in (("bad.yaml", "a: [1,\n"), ("bad.json", "{"), ("bad.toml", "= x"), ("Dockerfile", "")):
        with pytest.raises(InputError) as info:
            run(tmp_path, [write(name, text)])
        assert info.value.path is not None and info.value.path.endswith(name)
        assert "\n" not in info.value.diagnostics()


def test_policy_configuration_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown built-in policy pack"):
        check([], policies=["builtin:nope"], root=tmp_path)
    with pytest.raises(PolicyError, match="does not exist"):
        check([], policies=[str(tmp_path / "missing")], root=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PolicyError, match="no policies found"):
        check([], policies=[str(tmp_path / "empty")], root=tmp_path)


def test_is_policy_input() -> None:
    for name in (
        "a.yaml",
        "b.YML",
        "c.json",
        "d.toml",
        "Dockerfile",
        "app.Dockerfile",
        "Dockerfile.dev",
        "Containerfile",
    ):
        assert is_policy_input(Path(name)), name
    for name in ("main.go", "README.md", "trivy.sarif"):
        assert not is_policy_input(Path(name)), name


def test_dockerfile_input_shape(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        "Dockerfile",
        "# syntax=docker/dockerfile:1\n#\n# build stage\nFROM golang:1.22 AS build\nENV A=b C=d\nENV OLD two words\n"
        "ONBUILD RUN make\nCOPY --from=build /out /app\nRUN <<EOF\n# inside heredoc\nEOF\n# final\nFROM scratch\n",
    )
    (commands,) = parse_input(path)
    assert commands[0] == {
        "Cmd": "comment",
        "SubCmd": "",
        "JSON": False,
        "Flags": None,
        "Value": ["build stage"],
        "Stage": 0,
    }
    env, old = commands[2], commands[3]
    assert env["Value"] == ["A", "b", "=", "C", "d", "="] and old["Value"] == ["OLD", "two words", ""]
    assert commands[4]["Cmd"] == "onbuild" and commands[4]["SubCmd"] == "run" and commands[4]["Value"] == ["make"]
    assert commands[5]["Flags"] == ["--from=build"]
    assert [c["Value"] for c in commands if c["Cmd"] == "comment"] == [["build stage"], ["final"]]
    assert commands[-2]["Stage"] == 1 and commands[-1] == {
        "Cmd": "from",
        "SubCmd": "",
        "JSON": False,
        "Flags": [],
        "Value": ["scratch"],
        "Stage": 1,
    }


def test_builtin_packs_pass_their_own_tests() -> None:
    kubernetes = verify(["builtin:kubernetes"])
    dockerfile = verify(["builtin:dockerfile"])
    assert kubernetes.ok and kubernetes.tests >= 15
    assert dockerfile.ok and dockerfile.tests >= 13


def test_builtin_packs_run_without_namespace_flags(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    pod = write(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  hostNetwork: true\n  containers:\n"
        "  - name: app\n    image: nginx:latest\n",
    )
    docker = write("Dockerfile", "FROM node:20\nEXPOSE 22\nUSER root\n")
    reports = evaluate([pod, docker], policies=["builtin:kubernetes", "builtin:dockerfile"], root=tmp_path)
    ids = {r.path: {f.id for f in r.findings} for r in reports}
    assert {"k8s/run-as-non-root", "k8s/host-namespaces", "k8s/image-tag", "k8s/resource-limits"} <= ids["pod.yaml"]
    assert not any(i.startswith("dockerfile/") for i in ids["pod.yaml"])
    assert ids["Dockerfile"] == {"dockerfile/root-user", "dockerfile/expose-ssh"}
    titles = {f.title for r in reports for f in r.findings}
    assert "Pod web: container app uses image nginx:latest: pin a version tag or a digest instead of latest" in titles


def test_verify_reports_failures_by_name(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + "double(x) := x * 2\n")
    write(
        "policy/p_test.rego", V1 + "test_ok if double(2) == 4\ntest_bad if double(2) == 5\ntodo_test_later if false\n"
    )
    result = verify([str(tmp_path / "policy")])
    assert (result.tests, result.passed, result.failed) == (2, 1, 1)
    assert result.failures == ("data.main.test_bad",)
    text = format_verify(result)
    assert f"FAIL - {tmp_path}/policy/p_test.rego - data.main.test_bad" in text
    assert text.splitlines()[-1] == "2 tests, 1 passed, 0 warnings, 1 failure, 0 exceptions, 1 skipped"


def test_policies_compile_once_per_run(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", V1 + 'deny contains "big" if input.size > 10\n')
    inputs = [write(f"in/{i}.json", f'{{"size": {i}}}') for i in range(200)]
    start = time.perf_counter()
    results = run(tmp_path, inputs)
    elapsed = time.perf_counter() - start
    assert sum(len(r.failures) for r in results) == 189
    assert elapsed < 5, f"200 inputs took {elapsed:.2f}s"


def test_errors_are_gate_errors(tmp_path: Path, write) -> None:  # type: ignore[no-untyped-def]
    write("policy/p.rego", "package main\ndeny[ {\n")
    with pytest.raises(GateError):
        run(tmp_path, [write("a.json", "{}")])
