"""The choice of bump for one base image use: current reference + tags (+ fixable findings) → decision.

Pure apart from `digest_of`, the lookup the caller passes in (the registry client's, in a run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from remediate.model import BaseImageUse, Bump, ImageRef, SkippedImage
from remediate.versioning import Rules, TagVersion, candidates, parse_tag

DigestOf = Callable[[str], str]
Accept = Callable[[str], "str | None"]
MAX_SIGNATURE_PROBES = 10
"""Candidates (best first) checked for a signature before the image is skipped."""
MAX_DIGEST_PROBES = 50
"""Tags probed (newest first) to find which tag a digest-only reference follows."""


def decide(
    use: BaseImageUse,
    tags: Sequence[str],
    *,
    rules: Rules,
    digest_of: DigestOf,
    pin: bool | None = None,
    fixes: tuple[str, ...] | None = None,
    accept: Accept | None = None,
) -> Bump | SkippedImage:
    """Pick the newest allowed tag for `use`, and its digest when the reference is (or is to be) pinned.

    `accept(digest)`: None when a candidate may be proposed (its signature verifies), else why not; each
    refused candidate is passed over for the next best, and named in the bump's reason.

    `pin` None keeps what the file does; True adds digests; False drops them from `tag@digest`.
    `fixes` None means no findings were given (every base may move); a tuple holds the fixable
    OS-package finding ids of the image this base ends up in, and an empty one means "leave it".
    """
    ref = use.ref
    if fixes is not None and not fixes:
        return _skip(use, "no fixable OS-package vulnerabilities reported for the image built on it")
    if ref.tag is None and ref.digest is not None:
        return _digest_only(use, tags, rules=rules, digest_of=digest_of, fixes=fixes or ())
    if ref.tag is None:
        if pin:
            return _bump(use, ref.with_version(None, digest_of("latest")), "pin digest (latest)", fixes)
        return _skip(use, "no tag (follows latest): write a version tag to let remediation move it")
    keep_digest = pin if pin is not None else ref.digest is not None
    current = parse_tag(ref.tag)
    new_tag = ref.tag
    level = ""
    passed: list[str] = []
    if current is not None:
        found = candidates(current, tags, rules)
        if found and accept is not None:
            for candidate in found[:MAX_SIGNATURE_PROBES]:
                refused = accept(digest_of(candidate.tag))
                if refused is None:
                    new_tag, level = candidate.tag, candidate.level
                    break
                passed.append(f"{candidate.tag}: {refused}")
            else:
                return _skip(use, "no signed candidate: " + "; ".join(passed[:5]))
        elif found:
            new_tag, level = found[0].tag, found[0].level
    new_digest = digest_of(new_tag) if keep_digest else None
    if accept is not None and new_tag == ref.tag and new_digest is not None and new_digest != ref.digest:
        refused = accept(new_digest)
        if refused is not None:
            return _skip(use, f"the new digest of {new_tag!r} is refused: {refused}")
    if new_tag == ref.tag and new_digest == ref.digest:
        if current is None:
            return _skip(use, f"tag {ref.tag!r} is not a version; nothing to compare it with")
        return _skip(use, f"up to date: no newer {rules.update}-level tag compatible with {ref.tag!r}")
    why = _why(ref, new_tag, new_digest, level) + (f" (passed over {'; '.join(passed[:3])})" if passed else "")
    return _bump(use, ref.with_version(new_tag, new_digest), why, fixes)


def _why(ref: ImageRef, new_tag: str, new_digest: str | None, level: str) -> str:
    if new_tag != ref.tag:
        return f"{level} update"
    if ref.digest is None:
        return "pin digest"
    return "digest refresh" if new_digest else "unpin digest"


def _digest_only(
    use: BaseImageUse, tags: Sequence[str], *, rules: Rules, digest_of: DigestOf, fixes: tuple[str, ...]
) -> Bump | SkippedImage:
    """`image@sha256:…`: find the tag that points at the digest now, follow that tag, keep digest-only form."""
    ref = use.ref
    tag = follow_tag(ref.digest or "", tags, digest_of)
    if tag is None:
        return _skip(
            use,
            "pinned by digest only and no tag points at that digest now; "
            "write image:tag@digest so remediation knows which tag to follow",
        )
    current = parse_tag(tag)
    found = candidates(current, tags, rules) if current is not None else []
    new_tag = found[0].tag if found else tag
    new_digest = digest_of(new_tag)
    if new_digest == ref.digest:
        return _skip(use, f"up to date: the digest is {tag!r}, the newest allowed tag")
    why = f"{found[0].level} update (digest of {new_tag})" if found else f"digest refresh (follows {tag})"
    return Bump(use=use, new=ref.with_version(None, new_digest), why=why, fixes=fixes)


def follow_tag(digest: str, tags: Sequence[str], digest_of: DigestOf) -> str | None:
    """The tag a digest belongs to: of the version tags (newest first, then `latest`) that point at it,
    the most precise one (`3.20.3` over `3.20` over `3`); None when none does."""
    versions: list[TagVersion] = [v for v in (parse_tag(t) for t in tags) if v is not None and v.stable]
    versions.sort(key=lambda v: v.sort_key(), reverse=True)
    probes = [v.tag for v in versions[:MAX_DIGEST_PROBES]]
    matches = [t for t in probes if digest_of(t) == digest]
    if matches:
        return max(matches, key=lambda t: (len(_release(t)), _release(t)))
    if "latest" in tags and digest_of("latest") == digest:
        return "latest"
    return None


def _release(tag: str) -> tuple[int, ...]:
    parsed = parse_tag(tag)
    return parsed.release if parsed else ()


def _bump(use: BaseImageUse, new: ImageRef, why: str, fixes: tuple[str, ...] | None) -> Bump:
    return Bump(use=use, new=new, why=why, fixes=fixes or ())


def _skip(use: BaseImageUse, reason: str) -> SkippedImage:
    return SkippedImage(file=use.file, line=use.line, image=use.resolved, reason=reason)
