"""Policies from a pull request must not crash or hang the gate: recursion is refused before evaluation (it used to
kill the process with SIGSEGV inside the engine), runaway evaluation is bounded in time and memory, and builtins
that reach the network or the runner's environment are refused by name instead of being silently undefined."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
V1 = "package main\nimport rego.v1\n"


def gate(tmp_path: Path, policy: str, *, config: str = "") -> subprocess.CompletedProcess[str]:
    (tmp_path / "c.yaml").write_text("kind: Pod\nitems: [1, 2]\n")
    (tmp_path / "policy").mkdir(exist_ok=True)
    (tmp_path / "policy" / "p.rego").write_text(policy)
    if config:
        (tmp_path / ".container-gate.yml").write_text(config)
    return subprocess.run(
        [sys.executable, "-m", "gate", "gate", "c.yaml", "--policy", "policy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def one_error(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


@pytest.mark.parametrize(
    ("policy", "cycle"),
    [
        (V1 + 'f(x) := y if { y := f(x) }\ndeny contains "x" if f(1)\n', "data.main.f -> data.main.f"),
        (
            V1 + 'a if { b }\nb if { data.main.a }\ndeny contains "x" if a\n',
            "data.main.a -> data.main.b -> data.main.a",
        ),
        (V1 + 'deny contains msg if { count(deny) == 0; msg := "x" }\n', "data.main.deny -> data.main.deny"),
    ],
    ids=["function", "mutual", "self-rule"],
)
def test_recursion_is_refused_before_evaluation(tmp_path: Path, policy: str, cycle: str) -> None:
    err = one_error(gate(tmp_path, policy))
    assert "policy/p.rego: line " in err and "rego_recursion_error" in err and cycle in err


def test_recursion_across_packages_is_refused(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "lib.rego").write_text("package lib\nimport rego.v1\nok if data.main.ready\n")
    err = one_error(gate(tmp_path, V1 + 'ready if data.lib.ok\ndeny contains "x" if ready\n'))
    assert "rego_recursion_error" in err and "data.lib.ok" in err and "data.main.ready" in err


def test_names_bound_locally_are_not_mistaken_for_recursion(tmp_path: Path) -> None:
    policy = V1 + (
        "items contains i if some i in input.items\n"
        "size(items) := count(items)\n"
        'deny contains msg if { size(input.items) > 1; msg := "two" }\n'
    )
    done = gate(tmp_path, policy)
    assert done.returncode == 1, done.stderr
    assert "two" in done.stdout


@pytest.mark.parametrize(
    ("call", "name"),
    [
        ('r := http.send({"method": "get", "url": "http://169.254.169.254/"}); r.status_code == 200', "http.send"),
        ('net.lookup_ip_addr("example.com")', "net.lookup_ip_addr"),
        ("opa.runtime().env.GITHUB_TOKEN", "opa.runtime"),
    ],
)
def test_network_and_environment_builtins_are_refused(tmp_path: Path, call: str, name: str) -> None:
    err = one_error(gate(tmp_path, V1 + f'deny contains "x" if {{ {call} }}\n'))
    assert f"builtin {name} is not allowed" in err and "policy/p.rego: line 3" in err


def test_pure_net_helpers_still_work(tmp_path: Path) -> None:
    done = gate(tmp_path, V1 + 'deny contains "in range" if net.cidr_contains("10.0.0.0/8", "10.1.2.3")\n')
    assert done.returncode == 1 and "in range" in done.stdout


def test_a_runaway_policy_ends_at_the_time_limit_naming_the_input_and_policy(tmp_path: Path) -> None:
    policy = V1 + (
        'deny contains "x" if { some a in numbers.range(1, 5000); some b in numbers.range(1, 5000); a * b < 0 }\n'
    )
    done = gate(tmp_path, policy, config="rego:\n  timeout-seconds: 2\n")
    err = one_error(done)
    assert err.startswith("container-gate: error: c.yaml: evaluating policy did not finish within 2 s")
    assert "rego.timeout-seconds" in err


def test_a_policy_that_eats_memory_ends_at_the_memory_limit(tmp_path: Path) -> None:
    policy = V1 + 'deny contains "x" if count([x | some x in numbers.range(1, 200000000)]) > 0\n'
    err = one_error(gate(tmp_path, policy, config="rego:\n  memory-mib: 1024\n"))
    assert "c.yaml: evaluating policy ran out of memory (limit 1024 MiB" in err


def test_limits_are_validated_by_the_config_schema(tmp_path: Path) -> None:
    err = one_error(gate(tmp_path, V1 + 'deny contains "x" if false\n', config="rego:\n  timeout-seconds: 0\n"))
    assert ".container-gate.yml" in err and "rego.timeout-seconds" in err


# --- holes found afterwards: each of these crashed, hung or was mistaken before --------------------------------------


@pytest.mark.parametrize(
    "policy",
    [
        V1 + 'f(x) := f(x)\ndeny contains "x" if f(1)\n',
        V1 + 'f(x) := [y | some y in [f(x)]]\ndeny contains "x" if f(1)\n',
        V1 + 'f(x) := 1 if { x > 100 } else := f(x)\ndeny contains "x" if f(1)\n',
        V1 + 'import data.main as m\nf(x) := m.f(x)\ndeny contains "x" if f(1)\n',
    ],
    ids=["head-value", "head-comprehension", "else", "import-alias"],
)
def test_recursion_in_a_head_or_through_an_import_is_refused(tmp_path: Path, policy: str) -> None:
    err = one_error(gate(tmp_path, policy))
    assert "policy/p.rego: line 4" in err or "policy/p.rego: line 3" in err
    assert "rego_recursion_error: rule data.main.f is recursive: data.main.f -> data.main.f" in err


def test_recursion_through_an_imported_rule_of_another_package_is_refused(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "lib.rego").write_text("package lib\nimport rego.v1\nok if data.main.ready\n")
    err = one_error(gate(tmp_path, V1 + 'import data.lib.ok as k\nready if k\ndeny contains "x" if ready\n'))
    assert "rego_recursion_error: rule data.lib.ok is recursive: data.lib.ok -> data.main.ready -> data.lib.ok" in err


def test_names_bound_by_some_and_every_shadow_rules(tmp_path: Path) -> None:
    policy = V1 + (
        "r contains i if { some r; r = 1; i := r }\n"
        "s contains v if { every s in [1] { s > 0 }; v := 1 }\n"
        'deny contains "shadowed" if { count(r) > 0; count(s) > 0 }\n'
    )
    done = gate(tmp_path, policy)
    assert done.returncode == 1, done.stderr
    assert "shadowed" in done.stdout


def test_a_policy_the_parser_cannot_finish_ends_at_the_time_limit_naming_the_file(tmp_path: Path) -> None:
    # regorus's parser is exponential in nesting: 25 nested arrays take minutes to parse.
    policy = V1 + "x := " + "[" * 25 + "]" * 25 + '\ndeny contains "x" if x\n'
    done = gate(tmp_path, policy, config="rego:\n  timeout-seconds: 2\n")
    err = one_error(done)
    assert err.startswith("container-gate: error: policy/p.rego: compiling the policy did not finish within 2 s")


def test_the_time_limit_is_per_input_not_for_the_whole_run(tmp_path: Path) -> None:
    # About 0.15 s per input here: twenty of them together take twice as long as than the limit, one by one they do not
    # (a tenfold margin, so a loaded machine does not turn one input into a timeout).
    policy = V1 + (
        'deny contains "slow" if { some a in numbers.range(1, 650); some b in numbers.range(1, 650); a * b < 0 }\n'
        'deny contains "done" if input.kind\n'
    )
    (tmp_path / "many").mkdir()
    for i in range(20):
        (tmp_path / "many" / f"m{i}.yaml").write_text("kind: Pod\n")
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(policy)
    (tmp_path / ".container-gate.yml").write_text("rego:\n  timeout-seconds: 1.5\n")
    done = subprocess.run(
        [sys.executable, "-m", "gate", "gate", "many", "--policy", "policy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.count(": done") == 20


def test_the_memory_limit_is_on_top_of_what_the_engine_already_holds(tmp_path: Path) -> None:
    # regorus reserves about 1 GiB of address space when it can: 512 MiB is a budget on top of what the process
    # holds, not a total (as a total it made evaluations fail at random).
    done = gate(tmp_path, V1 + 'deny contains "pod" if input.kind == "Pod"\n', config="rego:\n  memory-mib: 512\n")
    assert done.returncode == 1, done.stderr
    assert "pod" in done.stdout


def test_policy_tests_run_within_the_same_limits(tmp_path: Path) -> None:
    from gate.checks.rego.check import verify
    from gate.checks.rego.limits import Limits
    from gate.errors import PolicyError

    (tmp_path / "p_test.rego").write_text(
        V1 + "test_slow if { some a in numbers.range(1, 5000); some b in numbers.range(1, 5000); a * b < 0 }\n"
    )
    with pytest.raises(PolicyError) as caught:
        verify([str(tmp_path)], limits=Limits(seconds=1))
    assert caught.value.path == f"{tmp_path}/p_test.rego"
    assert "running data.main.test_slow did not finish within 1 s" in caught.value.message
