"""How our PRs/MRs read: branch names, commit messages, titles, bodies and the hidden metadata (pure strings).

Every text that comes from a report, a Dockerfile or a file name goes through `esc` (`gate.emit.markdown`)
before it reaches Markdown: a crafted package name must not inject links, HTML or @-mentions into a PR body.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from gate.emit import markdown
from gate.model import MOST_SEVERE_FIRST
from remediate.findings import FixableVuln
from remediate.forge import Entry, FileChange, Meta, Update

FORMAT_VERSION = 1
BODY_LIMIT = 65_536
"""GitHub refuses PR bodies over 65,536 characters (GitLab allows more; one limit keeps both the same)."""
MARKER = "container-gate:remediate"
_META = re.compile(r"<!-- container-gate:remediate (\{.*?\}) -->", re.DOTALL)
_SLUG = re.compile(r"[^a-z0-9._]+")
SEVERITY_ORDER = tuple(s.name for s in MOST_SEVERE_FIRST)


def esc(value: str) -> str:
    """Report or file text made inert in Markdown: the gate's one rule for it (links, HTML, mentions, tables)."""
    return markdown.text(value)


def slug(text: str) -> str:
    """A branch-name-safe piece: lower case, runs of anything else folded to one `-`."""
    out = _SLUG.sub("-", text.lower()).strip("-.")
    out = re.sub(r"\.{2,}", ".", out)
    return out or "x"


def short(ref: str) -> str:
    """A reference as titles show it: `sha256:` digests cut to 12 hex digits."""
    return re.sub(r"@sha256:([0-9a-f]{12})[0-9a-f]+", r"@\1", ref)


def _name_tag(ref: str) -> tuple[str, str]:
    """(`alpine`, `3.20@sha256:...`) from `alpine:3.20@sha256:...`; the tag part may be ''."""
    head, at, digest = ref.partition("@")
    colon = head.rfind(":")
    name, tag = (head[:colon], head[colon + 1 :]) if colon > head.rfind("/") else (head, "")
    return name, tag + (f"@{digest}" if at else "")


def branch_for(prefix: str, entry: Entry) -> str:
    """`container-gate/<file path slug>/<image>-<new tag>` (the digest's first 7 digits when no tag moves)."""
    name, version = _name_tag(entry.new)
    tag, _, digest = version.partition("@")
    _, old_version = _name_tag(entry.old)
    old_tag = old_version.partition("@")[0]
    if (tag == old_tag or not tag) and digest:
        tag = f"{tag}-{digest.removeprefix('sha256:')[:7]}" if tag else digest.removeprefix("sha256:")[:7]
    return f"{prefix}{slug(entry.file)}/{slug(name.rsplit('/', 1)[-1])}-{slug(tag)}"


def group_branch(prefix: str) -> str:
    """The one branch of `--group`."""
    return f"{prefix}base-images"


def move(entry: Entry) -> str:
    """`alpine 3.14 → 3.20`, or `alpine:3.20 digest → 1a2b3c4d5e6f` when only the digest moves."""
    name, old = _name_tag(entry.old)
    _, new = _name_tag(entry.new)
    old_tag, _, old_digest = old.partition("@")
    new_tag, _, new_digest = new.partition("@")
    if old_tag != new_tag:
        return f"{name} {old_tag or 'latest'} → {new_tag}"
    what = f"{name}:{new_tag}" if new_tag else name
    if not new_digest:
        return f"{what} unpinned"
    verb = "digest" if old_digest else "pinned to"
    return f"{what} {verb} {'→ ' if old_digest else ''}{new_digest.removeprefix('sha256:')[:12]}"


def commit_message(entries: Sequence[Entry]) -> str:
    """Conventional commit subject: `fix(docker): bump alpine 3.14 → 3.20 in Dockerfile`."""
    if len(entries) == 1:
        e = entries[0]
        return f"fix(docker): bump {move(e)} in {e.file}"
    files = sorted({e.file for e in entries})
    where = files[0] if len(files) == 1 else f"{len(files)} files"
    return f"fix(docker): bump {len(entries)} base images in {where}"


def content_digest(files: Sequence[FileChange]) -> str:
    """A digest of the files we push: path and text, in path order."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f.path.encode() + b"\0" + f.content.encode() + b"\0")
    return h.hexdigest()[:32]


def make_update(branch: str, entries: Sequence[Entry], files: Sequence[FileChange]) -> Update:
    """An `Update` with its title and commit message rendered."""
    subject = commit_message(entries)
    return Update(
        branch=branch,
        title=subject,
        commit_message=subject,
        entries=tuple(entries),
        files=tuple(sorted(files, key=lambda f: f.path)),
        content=content_digest(files),
    )


def with_exploits(update: Update, vulns: Mapping[str, FixableVuln]) -> Update:
    """The update ranked and titled by what attackers use among its fixes: the known-exploited ids (CISA KEV) and
    the highest EPSS score; the title says how many known-exploited vulnerabilities it fixes."""
    fixes = sorted({f for e in update.entries for f in e.fixes})
    exploited = tuple(i for i in fixes if (v := vulns.get(i)) is not None and v.kev)
    scores = [v.epss for i in fixes if (v := vulns.get(i)) is not None and v.epss is not None]
    if not exploited and not scores:
        return update
    title = update.title
    if exploited:
        noun = "vulnerability" if len(exploited) == 1 else "vulnerabilities"
        title = f"{title} (fixes {len(exploited)} known-exploited {noun})"
    return replace(update, title=title, exploited=exploited, top_epss=max(scores, default=0.0))


def meta_comment(meta: Meta) -> str:
    """The hidden comment that marks our PRs; `-`, `<` and `>` are JSON-escaped so it cannot end early."""
    data = {
        "v": FORMAT_VERSION,
        "updates": [{"file": e.file, "image": e.image, "from": e.old, "to": e.new} for e in meta.entries],
        "commit": meta.commit,
        "content": meta.content,
    }
    if meta.closed:
        data["closed"] = meta.closed
    text = json.dumps(data, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    # every -, < and > is inside a JSON string (the only number is the version), so \u escapes keep it JSON
    text = text.replace("-", "\\u002d").replace("<", "\\u003c").replace(">", "\\u003e")
    return f"<!-- {MARKER} {text} -->"


def parse_meta(body: str | None) -> Meta | None:
    """Our metadata from a PR body or commit message; None when absent, malformed or of another version."""
    if not body:
        return None
    found = _META.search(body)
    if found is None:
        return None
    try:
        data = json.loads(found[1])
        if data.get("v") != FORMAT_VERSION:
            return None
        entries = tuple(Entry(u["file"], u["image"], u["from"], u["to"]) for u in data["updates"])
        return Meta(entries, str(data.get("commit", "")), str(data.get("content", "")), str(data.get("closed", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def body(update: Update, *, commit: str, vulns: Mapping[str, FixableVuln] | None = None, closed: str = "") -> str:
    """The PR/MR description: what moves, what it fixes (clipped to fit), how to ignore it, the metadata."""
    meta = meta_comment(Meta(update.entries, commit, update.content, closed))
    head = [_intro(update), *_exploited(update), "", *_table(update.entries)]
    tail = ["", *_ignore_help(update.entries), "", "---", "Opened by container-gate remediate.", meta, ""]
    fixes = sorted({f for e in update.entries for f in e.fixes})
    fixed = _fixes(fixes, vulns or {}, BODY_LIMIT - len("\n".join([*head, *tail])) - 200)
    return "\n".join([*head, *fixed, *tail])


def _intro(update: Update) -> str:
    if len(update.entries) == 1:
        e = update.entries[0]
        return f"This updates the base image **{esc(_name_tag(e.old)[0])}** in {esc(e.file)}: {esc(move(e))}."
    return f"This updates {len(update.entries)} base images."


def _exploited(update: Update) -> list[str]:
    if not update.exploited:
        return []
    ids = ", ".join(esc(i) for i in update.exploited[:10]) + (" …" if len(update.exploited) > 10 else "")
    noun = "vulnerability" if len(update.exploited) == 1 else "vulnerabilities"
    count = len(update.exploited)
    return ["", f"**It fixes {count} {noun} in CISA's Known Exploited Vulnerabilities catalog: {ids}.**"]


def _table(entries: Sequence[Entry]) -> list[str]:
    rows = ["| File | Image | From → To | Update | Digest |", "|---|---|---|---|---|"]
    for e in entries:
        _, new = _name_tag(e.new)
        digest = new.partition("@")[2]
        rows.append(
            f"| {esc(e.file)}:{e.line} | {esc(e.image)} | {esc(e.old)} → {esc(e.new)} | {esc(e.why or '-')} "
            f"| {esc(digest[:19] + '…' if digest else '-')} |"
        )
    return rows


def _fixes(ids: Sequence[str], vulns: Mapping[str, FixableVuln], budget: int) -> list[str]:
    if not ids:
        return []
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    # What attackers use first (KEV, then by EPSS), then by severity.
    known = sorted(
        (vulns.get(i) or FixableVuln(i, "UNKNOWN", "", "", "") for i in ids),
        key=lambda v: (not v.kev, -(v.epss or 0.0), rank.get(v.severity.upper(), len(rank)), v.id),
    )
    exploits = any(v.kev or v.epss is not None for v in known)
    out = [
        "",
        f"### Vulnerabilities this is expected to fix ({len(known)})",
        "",
        "| ID | Severity | Package | Installed → Fixed |" + (" Exploited |" if exploits else ""),
        "|---|---|---|---|" + ("---|" if exploits else ""),
    ]
    used = sum(len(x) + 1 for x in out)
    shown = 0
    for v in known:
        ident = esc(v.id)
        if v.link.startswith("https://") and not any(c in v.link for c in " <>()[]\"'`"):
            ident = f"[{ident}]({v.link})"
        versions = f"{esc(v.installed or '-')} → {esc(v.fixed or '-')}"
        row = f"| {ident} | {esc(v.severity)} | {esc(v.package or '-')} | {versions} |"
        if exploits:
            known_use = "known (CISA KEV)" if v.kev else ""
            likely = f"EPSS {v.epss:.2f}" if v.epss is not None else ""
            row += f" {', '.join(p for p in (known_use, likely) if p) or '-'} |"
        if used + len(row) + 1 > budget:
            break
        out.append(row)
        used += len(row) + 1
        shown += 1
    if shown < len(known):
        out.extend(
            ["", f"…and {len(known) - shown} more not listed (GitHub limits a description to {BODY_LIMIT} characters)."]
        )
    return out


def _ignore_help(entries: Sequence[Entry]) -> list[str]:
    e = entries[0]
    name, version = _name_tag(e.new)
    tag = version.partition("@")[0] or "*"
    return [
        "### Ignoring this update",
        "",
        "Close this without merging and container-gate will not propose this exact version again; "
        "a newer version opens a new one. To ignore versions or the image for good, in `.container-gate.yml`:",
        "",
        "```yaml",
        "remediate:",
        "  images:",
        f"    - match: {json.dumps(name)}",
        f"      ignore-versions: [{json.dumps(tag)}]   # or: ignore: true",
        "```",
    ]


def replace_meta(text: str, meta: Meta) -> str:
    """`text` with its metadata comment replaced (or added when it had none)."""
    comment = meta_comment(meta)
    if _META.search(text):
        return _META.sub(lambda _: comment, text, count=1)
    return f"{text.rstrip()}\n\n{comment}\n"
