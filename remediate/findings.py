"""Which base images have fixable OS-package vulnerabilities, from Trivy/Grype reports of the built images.

Matching a report (the scan of an image built from some Dockerfile) to that Dockerfile, first rule wins:

1. `findings_map` in the config: a report path glob → a Dockerfile path glob.
2. The report's artifact is the final stage's base image itself (same repository, `image_key`).
3. The artifact's repository name equals the Dockerfile's folder name or its variant
   (`api` for `services/api/Dockerfile`, `Dockerfile.api` or `api.Dockerfile`).
4. The run has exactly one Dockerfile.

Rules 2-4 are vetoed when the report's OS family (`alpine`, `debian`, ...) contradicts a distribution
the base reference names (a report of an Alpine image never matches `python:3.12-slim-bookworm`).
A report that matches nothing is listed in the plan's notes. The fixes of a matched report belong to the
bases that end up in the final stage (its FROM, through `FROM <stage>` chains); build stages get none.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gate.model import Kind, Report, image_key
from remediate.model import BaseImageUse

_FAMILIES: dict[str, tuple[str, ...]] = {
    "alpine": ("alpine",),
    "debian": ("debian", "bookworm", "bullseye", "buster", "trixie", "stretch"),
    "ubuntu": ("ubuntu", "jammy", "noble", "focal", "bionic"),
    "centos": ("centos",),
    "redhat": ("ubi", "rhel"),
    "amazon": ("amazonlinux", "al2023"),
    "wolfi": ("wolfi", "chainguard"),
}


@dataclass(frozen=True, slots=True)
class FixableVuln:
    """What a PR body says about one fixable vulnerability (every field is report text: untrusted)."""

    id: str
    severity: str
    package: str
    installed: str
    fixed: str
    link: str = ""
    kev: bool = False
    """Listed in CISA's Known Exploited Vulnerabilities catalog (Grype's own mark, or `--kev`)."""
    epss: float | None = None


@dataclass(frozen=True, slots=True)
class ImageFindings:
    """What one report says about one built image."""

    report: str
    artifact: str | None
    os: str | None
    fixable: tuple[str, ...]
    """Ids of vulnerabilities in OS packages that have a fixed version, sorted, once each."""
    details: tuple[FixableVuln, ...] = ()
    """The same vulnerabilities with severity, package and versions (the first sighting of each id)."""


def load(paths: Sequence[Path], *, kev: Sequence[str] = (), epss: Sequence[str] = ()) -> list[ImageFindings]:
    """Read each report through the gate's readers (an unreadable report is an InputError), with the exploit
    data of `--kev`/`--epss` joined as the gate joins it."""
    from gate.exploits import enrich
    from gate.ingest import exploits, load_report

    reports = [load_report(p) for p in paths]
    if kev or epss:
        reports = list(enrich(reports, exploits.load(kev, epss)))
    return [summarise(r) for r in reports]


def summarise(report: Report) -> ImageFindings:
    """Keep what remediation needs: the fixable OS-package vulnerability ids."""
    details: dict[str, FixableVuln] = {}
    for f in report.findings:
        if f.kind is Kind.VULNERABILITY and f.package_class == "os-pkgs" and f.fixable and f.id not in details:
            link = f.help_uri or next((r for r in f.references if r.startswith("https://")), "")
            details[f.id] = FixableVuln(
                f.id,
                f.severity.name,
                f.package or "",
                f.installed_version or "",
                f.fixed_version or "",
                link,
                kev=f.kev,
                epss=f.epss,
            )
    return ImageFindings(
        report.path, report.artifact, report.os, tuple(sorted(details)), tuple(details[i] for i in sorted(details))
    )


def match(
    reports: Sequence[ImageFindings],
    uses: Sequence[BaseImageUse],
    *,
    mapping: Sequence[tuple[str, str]] = (),
) -> tuple[dict[tuple[str, int], tuple[str, ...]], list[str]]:
    """Fixes per base image use, keyed by (file, line), for the uses that end up in a final image;
    plus notes for reports that matched no Dockerfile."""
    files = sorted({u.file for u in uses})
    finals = {f: [u for u in uses if u.file == f and u.final] for f in files}
    fixes: dict[tuple[str, int], set[str]] = {}
    notes: list[str] = []
    for rep in reports:
        targets = _targets(rep, files, finals, mapping)
        if not targets:
            notes.append(f"{rep.report}: matches no Dockerfile (map it under remediate.findings-map)")
        for file in targets:
            for use in finals[file]:
                fixes.setdefault((use.file, use.line), set()).update(rep.fixable)
    return {k: tuple(sorted(v)) for k, v in fixes.items()}, notes


def _targets(
    rep: ImageFindings,
    files: Sequence[str],
    finals: dict[str, list[BaseImageUse]],
    mapping: Sequence[tuple[str, str]],
) -> list[str]:
    mapped = [
        f for report_glob, file_glob in mapping if _glob(rep.report, report_glob) for f in files if _glob(f, file_glob)
    ]
    if mapped:
        return sorted(set(mapped))
    plausible = [f for f in files if not _os_conflict(rep.os, finals[f])]
    by_base = [f for f in plausible if rep.artifact and _is_base(rep.artifact, finals[f])]
    if by_base:
        return by_base
    by_name = [f for f in plausible if rep.artifact and _repo_name(rep.artifact) in _names(f)]
    if by_name:
        return by_name
    return plausible if len(files) == 1 else []


def _glob(path: str, pattern: str) -> bool:
    return fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(PurePosixPath(path).name, pattern)


def _is_base(artifact: str, finals: list[BaseImageUse]) -> bool:
    key = image_key(artifact)
    return any(key in (image_key(u.resolved), u.ref.familiar, u.ref.name) for u in finals)


def _repo_name(artifact: str) -> str:
    return image_key(artifact).rsplit("/", 1)[-1].lower()


def _names(file: str) -> set[str]:
    """Names a Dockerfile answers to: its folder, and the variant in `Dockerfile.x` / `x.Dockerfile`."""
    p = PurePosixPath(file)
    names = {p.parent.name.lower()} if p.parent.name else set()
    m = re.match(r"^(?:docker|container)file[.-](.+)$", p.name, re.I) or re.match(
        r"^(.+)\.(?:docker|container)file$", p.name, re.I
    )
    if m:
        names.add(m.group(1).lower())
    return names


def _os_conflict(os_name: str | None, finals: list[BaseImageUse]) -> bool:
    if not os_name or not finals:
        return False
    family = os_name.split()[0].lower()
    words = set(re.split(r"[^a-z0-9]+", " ".join(u.resolved.lower() for u in finals)))
    named = {fam for fam, marks in _FAMILIES.items() if any(w.startswith(marks) for w in words if w)}
    return bool(named) and family not in named
