"""The license policy's rules: OR/AND/WITH, forbidden over allowed, or-later, categories, aliases, unknowns."""

from __future__ import annotations

import pytest

from gate.decide.licenses import LicensePolicy, Outcome, Unknown, apply, normalise
from gate.model import Finding, Kind, Severity

POLICY = LicensePolicy(
    allowed=("MIT", "Apache-2.0", "BSD-3-Clause", "ISC", "MPL-2.0", "LGPL-2.1-or-later"),
    forbidden=("AGPL-3.0-or-later", "SSPL-1.0"),
)


@pytest.mark.parametrize(
    ("expression", "outcome"),
    [
        ("MIT", Outcome.ALLOWED),
        ("MIT OR GPL-3.0-only", Outcome.ALLOWED),
        ("GPL-3.0-only OR SSPL-1.0", Outcome.VIOLATION),
        ("MIT AND Apache-2.0", Outcome.ALLOWED),
        ("MIT AND GPL-3.0-only", Outcome.VIOLATION),
        ("(MIT OR GPL-3.0-only) AND ISC", Outcome.ALLOWED),
        ("GPL-2.0-only WITH Classpath-exception-2.0", Outcome.VIOLATION),
        ("Apache-2.0 WITH LLVM-exception", Outcome.ALLOWED),
        ("LGPL-2.1-only", Outcome.ALLOWED),
        ("LGPL-3.0-or-later", Outcome.ALLOWED),
        ("LGPL-2.0-only", Outcome.VIOLATION),
        ("LGPL-2.1+", Outcome.ALLOWED),
        ("Apache License 2.0", Outcome.ALLOWED),
        ("MIT License", Outcome.ALLOWED),
        ("BSD", Outcome.ALLOWED),
        ("GPLv3", Outcome.VIOLATION),
        ("NOASSERTION", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        ("SEE LICENSE IN LICENSE.txt", Outcome.UNKNOWN),
        ("LicenseRef-scancode-proprietary", Outcome.UNKNOWN),
        ("MIT OR LicenseRef-x", Outcome.ALLOWED),
        ("MIT AND LicenseRef-x", Outcome.UNKNOWN),
        ("GPL-3.0-only AND LicenseRef-x", Outcome.VIOLATION),
        ("Proprietary", Outcome.UNKNOWN),
        ("MIT OR Acme-EULA-2", Outcome.ALLOWED),
        ("Apache-2.0 AND Acme-EULA-2", Outcome.UNKNOWN),
        ("SSPL-1.0 AND Acme-EULA-2", Outcome.VIOLATION),
    ],
)
def test_expressions(expression: str, outcome: Outcome) -> None:
    assert POLICY.judge(expression).outcome is outcome


def test_names_outside_the_spdx_list_are_unknown_unless_the_policy_lists_them() -> None:
    assert POLICY.judge("Proprietary").reason == "license 'Proprietary' is not an SPDX license id"
    assert LicensePolicy(forbidden=("SSPL-1.0",)).judge("Proprietary").outcome is Outcome.UNKNOWN
    assert LicensePolicy(allowed=("Acme-EULA-2",)).judge("Acme-EULA-2").outcome is Outcome.ALLOWED
    assert LicensePolicy(forbidden=("Acme-EULA-2",)).judge("Acme-EULA-2").outcome is Outcome.VIOLATION


def test_forbidden_beats_allowed() -> None:
    policy = LicensePolicy(allowed=("AGPL-3.0-only", "MIT"), forbidden=("AGPL-3.0-or-later",))
    judgement = policy.judge("AGPL-3.0-only")
    assert judgement.outcome is Outcome.VIOLATION
    assert judgement.reason == "AGPL-3.0-only is forbidden"
    assert policy.judge("AGPL-3.0-only OR MIT").outcome is Outcome.ALLOWED


def test_reasons_name_the_license() -> None:
    assert POLICY.judge("GPL-3.0-only").reason == "GPL-3.0-only: not in licenses.allowed"
    assert POLICY.judge("AGPL-3.0-only").reason == "AGPL-3.0-only is forbidden"


def test_with_exception_listed_as_written() -> None:
    policy = LicensePolicy(allowed=("GPL-2.0-only WITH Classpath-exception-2.0",))
    assert policy.judge("GPL-2.0-only WITH Classpath-exception-2.0").outcome is Outcome.ALLOWED
    assert policy.judge("GPL-2.0-only").outcome is Outcome.VIOLATION


def test_categories_expand_from_trivy_table() -> None:
    policy = LicensePolicy(allowed=("notice", "unencumbered"), forbidden=("forbidden",))
    assert policy.judge("Zlib AND 0BSD").outcome is Outcome.ALLOWED
    assert policy.judge("MPL-2.0").outcome is Outcome.VIOLATION
    assert policy.judge("WTFPL").reason == "WTFPL is forbidden"


def test_forbidden_only_allows_the_rest() -> None:
    policy = LicensePolicy(forbidden=("restricted",))
    assert policy.judge("Zlib").outcome is Outcome.ALLOWED
    assert policy.judge("GPL-2.0").outcome is Outcome.VIOLATION
    assert policy.active
    assert not LicensePolicy().active


def test_normalise() -> None:
    assert normalise("GPL-2.0+") == normalise("GPL-2.0-or-later") == "GPL-2.0-or-later"
    assert normalise("GPL-2.0") == "GPL-2.0-only"
    assert normalise("Apache 2.0") == "Apache-2.0"


def _lic(expr: str, package: str, *, sbom: bool = False) -> Finding:
    props = (("license_expression", expr), ("from", "sbom")) if sbom else ()
    return Finding(
        id=expr,
        kind=Kind.LICENSE,
        severity=Severity.UNKNOWN,
        title=expr,
        target="t",
        package=package,
        installed_version="1.2",
        properties=props,
    )


def test_apply_with_a_policy() -> None:
    vuln = Finding(id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.LOW, title="x", target="t")
    found = [_lic("MIT", "a"), _lic("GPL-3.0-only", "libfoo"), _lic("NOASSERTION", "b", sbom=True), vuln]
    out = apply(tuple(found), POLICY)
    assert out[-1] is vuln
    by_pkg = {f.package: f for f in out if f.kind is Kind.LICENSE}
    assert set(by_pkg) == {"libfoo", "b"}
    assert by_pkg["libfoo"].title == "GPL-3.0-only in libfoo 1.2: GPL-3.0-only: not in licenses.allowed"
    assert by_pkg["libfoo"].severity is Severity.HIGH
    assert ("license_warn", "true") in by_pkg["b"].properties
    assert ("license_warn", "true") not in by_pkg["libfoo"].properties
    allow = LicensePolicy(allowed=("MIT",), unknown=Unknown.ALLOW)
    assert [f.package for f in apply(tuple(found[:3]), allow)] == ["libfoo"]


def test_apply_without_a_policy_drops_only_sbom_facts() -> None:
    trivy, sbom = _lic("GPL-3.0-only", "a"), _lic("MIT", "b", sbom=True)
    assert apply((trivy, sbom), LicensePolicy()) == (trivy,)
