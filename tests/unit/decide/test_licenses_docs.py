"""docs/licenses.md's category table is the table the policy uses, and Trivy's own spellings of it are understood."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gate.decide.licenses import CATEGORIES, LicensePolicy, Outcome

DOC = Path(__file__).resolve().parents[3] / "docs" / "licenses.md"


def test_the_documented_table_is_the_policy_table() -> None:
    table = r"^\| `(\w+)` \| (CRITICAL|HIGH|MEDIUM|LOW) \| (.*) \|$"
    rows = re.findall(table, DOC.read_text(encoding="utf-8"), re.MULTILINE)
    documented = {name: frozenset(re.findall(r"`([^`]+)`", ids)) for name, _, ids in rows}
    assert documented == CATEGORIES
    assert "pkg/licensing/category.go" in DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("expression", "outcome"),
    [
        # Trivy's restricted list spells these the deprecated SPDX way.
        ("GPL-2.0-with-classpath-exception", Outcome.VIOLATION),
        ("GPL-3.0-with-GCC-exception", Outcome.VIOLATION),
        ("MIT OR GPL-2.0-with-bison-exception", Outcome.ALLOWED),
        ("GPL-1.0+", Outcome.VIOLATION),
        ("AGPL-3.0", Outcome.ALLOWED),  # forbidden category, not restricted
        ("MIT", Outcome.ALLOWED),
        # npm's "SEE LICENSE IN <file>" as Trivy's CycloneDX writes it: one name.
        ("SEE-LICENSE-IN-LICENSE.txt", Outcome.UNKNOWN),
        ("MIT AND SEE-LICENSE-IN-LICENSE.txt", Outcome.UNKNOWN),
    ],
)
def test_trivy_spellings_against_a_category(expression: str, outcome: Outcome) -> None:
    assert LicensePolicy(forbidden=("restricted",)).judge(expression).outcome is outcome


def test_deprecated_with_ids_are_their_with_expressions() -> None:
    policy = LicensePolicy(allowed=("GPL-2.0-only WITH Classpath-exception-2.0",))
    assert policy.judge("GPL-2.0-with-classpath-exception").outcome is Outcome.ALLOWED
    assert policy.judge("GPL-2.0-only").outcome is Outcome.VIOLATION
