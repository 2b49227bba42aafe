"""Harbor's CVE allowlists as ignore entries: the system list (`GET /api/v2.0/system/CVEAllowlist`) and a
project's (`GET /api/v2.0/projects/{name}`, its `cve_allowlist`), as Harbor's API returns them (pure).

The shape is Harbor's `CVEAllowlist` model: `items[].cve_id`, and `expires_at` in seconds since the epoch, absent
or null when the list never expires. Harbor stops filtering every CVE of a list once it has expired; the entries
here expire on the UTC day of `expires_at`, the safe side of Harbor's instant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gate.errors import ConfigError

REASON = "Harbor allowlist"


def is_harbor(doc: Any) -> bool:
    """A CVEAllowlist, or a project carrying one."""
    if not isinstance(doc, dict):
        return False
    if isinstance(doc.get("cve_allowlist"), dict):
        return True
    items = doc.get("items")
    return isinstance(items, list) and (
        "expires_at" in doc or any(isinstance(i, dict) and "cve_id" in i for i in items)
    )


def allowlist_ids(doc: dict[str, Any], origin: str) -> tuple[list[str], dt.date | None]:
    """The CVE ids a Harbor document allows, and the day they stop being allowed."""
    where = "Harbor allowlist"
    if isinstance(doc.get("cve_allowlist"), dict):
        project = str(doc.get("name") or doc.get("project_id") or "?")
        reuse = str((doc.get("metadata") or {}).get("reuse_sys_cve_allowlist", "")).lower() == "true"
        if reuse:
            raise ConfigError(
                f"Harbor project {project} uses the system allowlist (metadata.reuse_sys_cve_allowlist), not its own: "
                "give the answer of /api/v2.0/system/CVEAllowlist instead",
                path=origin,
            )
        doc, where = doc["cve_allowlist"], f"Harbor project {project} cve_allowlist"
    items = doc.get("items") or []
    if not isinstance(items, list):
        raise ConfigError(f"{where}: items must be a list", path=origin)
    ids = []
    for index, item in enumerate(items):
        cve = item.get("cve_id") if isinstance(item, dict) else None
        if not isinstance(cve, str) or not cve.strip() or len(cve) > 200:
            raise ConfigError(f"{where}: items[{index}] needs a cve_id string", path=origin)
        ids.append(cve.strip())
    return ids, _expiry(doc.get("expires_at"), where, origin)


def _expiry(value: Any, where: str, origin: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expires_at must be seconds since the epoch, not {value!r:.40}", path=origin)
    try:
        return dt.datetime.fromtimestamp(value, tz=dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise ConfigError(f"{where}: expires_at {value} is not a time Harbor could have set", path=origin) from None
