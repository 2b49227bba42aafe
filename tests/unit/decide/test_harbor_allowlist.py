"""Harbor's CVE allowlists read as ignore files, as Harbor's API returns them.

The documents follow Harbor's API v2.0 `CVEAllowlist` model (swagger `CVEAllowlist`: id, project_id, expires_at
in seconds since the epoch, items[].cve_id, creation_time, update_time) and `Project` (name, metadata with
`reuse_sys_cve_allowlist`, cve_allowlist), written compact as the API sends them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from gate.cli import main
from gate.decide.ignores import read_ignore_file
from gate.errors import ConfigError
from tests.conftest import corpus_file

NOW = dt.datetime.now(dt.UTC)


def system(cves: list[str], expires_at: int | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": 1,
        "project_id": 0,
        "items": [{"cve_id": c} for c in cves],
        "creation_time": "2026-01-05T10:00:00.000Z",
        "update_time": "2026-11-30T08:12:44.000Z",
    }
    if expires_at is not None:
        doc["expires_at"] = expires_at
    return doc


def project(allowlist: dict[str, Any], reuse: str = "false") -> dict[str, Any]:
    return {
        "project_id": 7,
        "name": "shop",
        "owner_name": "admin",
        "metadata": {"public": "false", "reuse_sys_cve_allowlist": reuse, "prevent_vul": "true"},
        "cve_allowlist": allowlist | {"project_id": 7},
    }


def compact(tmp_path: Path, doc: Any, name: str = "allowlist.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, separators=(",", ":")))
    return path


def test_system_allowlist_entries_carry_harbors_reason_and_expiry(tmp_path: Path) -> None:
    expires = int(dt.datetime(2027, 3, 1, 15, 30, tzinfo=dt.UTC).timestamp())
    entries = read_ignore_file(compact(tmp_path, system(["CVE-2021-44228", "CVE-2022-0778"], expires)))
    assert [e.id for e in entries] == ["CVE-2021-44228", "CVE-2022-0778"]
    assert {e.reason for e in entries} == {"Harbor allowlist"}
    assert {e.expires for e in entries} == {dt.date(2027, 3, 1)}


def test_a_list_without_expiry_never_expires_and_a_project_list_is_read(tmp_path: Path) -> None:
    entries = read_ignore_file(compact(tmp_path, project(system(["CVE-2023-1"]))))
    assert [(e.id, e.expires) for e in entries] == [("CVE-2023-1", None)]


def test_a_project_reusing_the_system_list_is_refused_with_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reuse_sys_cve_allowlist.*system/CVEAllowlist"):
        read_ignore_file(compact(tmp_path, project(system(["CVE-2023-1"]), reuse="true")))


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (system(["CVE-1"]) | {"expires_at": "tomorrow"}, "expires_at must be seconds"),
        (system(["CVE-1"]) | {"expires_at": 10**30}, "not a time"),
        ({"items": [{"cve_id": 5}], "expires_at": None}, r"items\[0\] needs a cve_id"),
        ({"items": [{"cve_id": "CVE-1"}], "expires_at": True}, "expires_at must be seconds"),
        (project(system([])) | {"cve_allowlist": {"items": "CVE-1", "expires_at": 1}}, "items must be a list"),
    ],
)
def test_bad_harbor_documents_are_one_clear_error(tmp_path: Path, doc: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        read_ignore_file(compact(tmp_path, doc))
    assert caught.value.path is not None and caught.value.path.endswith("allowlist.json")


def blocking_cves(out: Path) -> list[str]:
    found = json.loads(out.read_text())["findings"]
    return sorted({f["id"] for f in found if f["blocking"] and f["id"].startswith("CVE-")})


def test_the_gate_honours_a_live_allowlist_and_not_an_expired_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = str(corpus_file("trivy/trivy-golden_alpine-310.json"))
    out = tmp_path / "out.json"
    main(["gate", report, "--fail-on", "LOW", "--json", str(out)])
    before = blocking_cves(out)
    assert len(before) >= 2, "the corpus report stopped having blocking CVEs"
    allowed = before[:2]
    future = int((NOW + dt.timedelta(days=3650)).timestamp())
    live = compact(tmp_path, system(allowed, future), "live.json")
    code = main(["gate", report, "--fail-on", "LOW", "--ignore-file", str(live), "--json", str(out)])
    assert blocking_cves(out) == [c for c in before if c not in allowed]
    reasons = {f["suppressed"]["reason"] for f in json.loads(out.read_text())["findings"] if f["suppressed"]}
    assert any(r.startswith("Harbor allowlist") for r in reasons)
    assert code == (1 if len(before) > 2 else 0)
    expired = compact(tmp_path, project(system(allowed, int((NOW - dt.timedelta(days=1)).timestamp()))), "old.json")
    main(["gate", report, "--fail-on", "LOW", "--ignore-file", str(expired), "--json", str(out)])
    assert blocking_cves(out) == before
    assert json.loads(out.read_text())["expired_ignores"]
    capsys.readouterr()
