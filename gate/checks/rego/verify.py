"""Runs Rego unit tests (`test_*` rules) the way `conftest verify` does, and formats the outcome."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from gate.checks.rego.engine import load, policy_error
from gate.checks.rego.limits import Limits, Progress, bounded


@dataclass(frozen=True, slots=True)
class TestOutcome:
    """One test rule's result."""

    __test__ = False  # not a pytest class

    name: str
    """`data.<package>.<rule>`, as Conftest prints a failing test."""
    file: str
    passed: bool
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Every test that ran, in file order."""

    outcomes: tuple[TestOutcome, ...]

    @property
    def tests(self) -> int:
        """Tests run (skipped `todo_test_*` rules excluded)."""
        return sum(1 for o in self.outcomes if not o.skipped)

    @property
    def passed(self) -> int:
        """Tests that evaluated to true."""
        return sum(1 for o in self.outcomes if o.passed and not o.skipped)

    @property
    def failed(self) -> int:
        """Tests that were undefined or not true."""
        return self.tests - self.passed

    @property
    def failures(self) -> tuple[str, ...]:
        """Names of the failing tests."""
        return tuple(o.name for o in self.outcomes if not o.passed and not o.skipped)

    @property
    def ok(self) -> bool:
        """True when no test failed."""
        return self.failed == 0


def verify(
    policies: Sequence[str],
    *,
    data: Sequence[Path] = (),
    namespaces: Sequence[str] | None = None,
    rego_version: str = "auto",
    limits: Limits | None = None,
) -> VerifyResult:
    """Run every `test_*` rule of the loaded policies (OPA's test runner finds them in any file; by convention
    they live in `*_test.rego`). A test passes when it evaluates to `true` with no input; `todo_test_*` rules
    are skipped; `namespaces` (globs allowed) narrows the packages, as `conftest verify --namespace` does."""

    def work(progress: Progress) -> VerifyResult:
        compiled = load(policies, data=data, rego_version=rego_version, progress=progress)
        outcomes: list[TestOutcome] = []
        seen: set[tuple[str, str]] = set()
        for module in compiled.modules:
            if namespaces is not None and not any(fnmatchcase(module.namespace, p) for p in namespaces):
                continue
            for rule in module.rules:
                if (module.namespace, rule) in seen or not rule.startswith(("test_", "todo_test_")):
                    continue
                seen.add((module.namespace, rule))
                progress(module.path, f"running data.{module.namespace}.{rule}")
                outcomes.append(_run(compiled.session(), module.namespace, rule, module.path))
        return VerifyResult(tuple(outcomes))

    # Test files come from the same pull request as the policies: the same bounds (see rego_limits).
    return bounded(work, limits)


def _run(engine: object, namespace: str, rule: str, file: str) -> TestOutcome:
    name = f"data.{namespace}.{rule}"
    if rule.startswith("todo_"):
        return TestOutcome(name, file, passed=False, skipped=True)
    try:
        answer = json.loads(engine.eval_query_as_json(name))  # type: ignore[attr-defined]
    except RuntimeError as exc:
        # `conftest verify` stops on a test that errors rather than counting it as failed.
        raise policy_error(exc) from None
    values = [e["value"] for r in answer.get("result", []) for e in r.get("expressions", [])[:1]]
    return TestOutcome(name, file, passed=bool(values) and values[0] is True)


def format_verify(result: VerifyResult) -> str:
    """Conftest-like output: `FAIL - <file> - <test>` per failure, then `N tests, N passed, ...`."""
    lines = [f"FAIL - {o.file} - {o.name}" for o in result.outcomes if not o.passed and not o.skipped]
    lines += [f"SKIP - {o.file} - {o.name}" for o in result.outcomes if o.skipped]
    skipped = len(result.outcomes) - result.tests
    tests = "test" if result.tests == 1 else "tests"
    failures = "failure" if result.failed == 1 else "failures"
    tally = f"{result.tests} {tests}, {result.passed} passed, 0 warnings, {result.failed} {failures}, 0 exceptions"
    if skipped:
        tally += f", {skipped} skipped"
    return "\n".join([*lines, "", tally]) if lines else tally
