"""Reads OpenVEX documents (v0.2.0 and the earlier v0.0.x shape) into `VexStatement` values for the policy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gate.errors import InputError
from gate.ingest.base import Unreadable, opt_str, unreadable

STATUSES = frozenset({"not_affected", "affected", "fixed", "under_investigation"})
"""The four OpenVEX statuses; `not_affected` and `fixed` are the ones that suppress."""

JUSTIFICATIONS = frozenset(
    {
        "component_not_present",
        "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path",
        "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist",
    }
)

_CONTEXT = "https://openvex.dev/ns"


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One statement: a vulnerability's status in some products (and optionally only in their subcomponents)."""

    vulnerability: str
    """The vulnerability's name (`CVE-…`, `GHSA-…`), as scanners spell it."""
    status: str
    """`not_affected`, `affected`, `fixed` or `under_investigation`."""
    origin: str
    """The VEX file it came from."""
    aliases: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    """Product identifiers: `@id` values (purls or image references) and purls from `identifiers`."""
    subcomponents: tuple[str, ...] = ()
    """Packages inside the products the statement is limited to; empty means the whole product."""
    justification: str | None = None
    impact_statement: str | None = None
    action_statement: str | None = None
    timestamp: str | None = None
    """The statement's own timestamp, else the document's (OpenVEX inheritance)."""

    @property
    def ids(self) -> tuple[str, ...]:
        """The vulnerability name and its aliases: a finding whose id or alias is one of them is covered."""
        return (self.vulnerability, *self.aliases)

    @property
    def suppresses(self) -> bool:
        """True for `not_affected` and `fixed`, the statuses that mean "nothing to fix here"."""
        return self.status in ("not_affected", "fixed")


def read_vex(path: Path) -> tuple[VexStatement, ...]:
    """Read an OpenVEX file; anything that is not a valid OpenVEX document is an `InputError` naming it."""
    from gate.ingest import read_json

    return parse_vex(read_json(path), str(path))


def parse_vex(doc: Any, origin: str) -> tuple[VexStatement, ...]:
    """Turn a parsed OpenVEX document into statements (see `read_vex`)."""
    if not isinstance(doc, dict):
        raise InputError("not an OpenVEX document: expected a JSON object", path=origin)
    context = doc.get("@context")
    if not isinstance(context, str) or not context.startswith(_CONTEXT):
        raise InputError(
            f"not an OpenVEX document: `@context` must start with {_CONTEXT} (got {context!r})", path=origin
        )
    statements = doc.get("statements")
    if not isinstance(statements, list):
        raise InputError("OpenVEX document has no `statements` list", path=origin)
    default_time = _field(doc, "timestamp", "", origin)
    return tuple(_statement(s, i, origin, default_time) for i, s in enumerate(statements))


def _statement(raw: Any, index: int, origin: str, default_time: str | None) -> VexStatement:
    where = f"statements[{index}]"
    if not isinstance(raw, dict):
        raise InputError(f"{where} is not an object", path=origin)
    name, aliases = _vulnerability(raw.get("vulnerability"), where, origin)
    status = raw.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise InputError(f"{where}: status {status!r} is not one of {', '.join(sorted(STATUSES))}", path=origin)
    justification = _field(raw, "justification", where, origin)
    impact = _field(raw, "impact_statement", where, origin)
    if justification is not None and justification not in JUSTIFICATIONS:
        raise InputError(f"{where}: unknown justification {justification!r}", path=origin)
    if status == "not_affected" and justification is None and impact is None:
        # OpenVEX §Status: a not_affected statement MUST say why, by justification or impact statement.
        raise InputError(f"{where}: not_affected needs a justification or an impact_statement", path=origin)
    products, subcomponents = _products(raw, where, origin)
    return VexStatement(
        vulnerability=name,
        status=status,
        origin=origin,
        aliases=aliases,
        products=products,
        subcomponents=subcomponents,
        justification=justification,
        impact_statement=impact,
        action_statement=_field(raw, "action_statement", where, origin),
        timestamp=_field(raw, "timestamp", where, origin) or default_time,
    )


def _field(holder: dict[str, Any], key: str, where: str, origin: str) -> str | None:
    # Every text a statement holds decides something (the newest statement wins, a justification is
    # required): one of another type is the document's error, never a statement read without it.
    try:
        return opt_str(holder, key)
    except Unreadable as exc:
        raise unreadable(exc, where, origin) from None


def _vulnerability(value: Any, where: str, origin: str) -> tuple[str, tuple[str, ...]]:
    # v0.0.x wrote the vulnerability as a bare string; v0.2.0 as {"@id", "name", "aliases"}.
    if isinstance(value, str) and value.strip():
        return value.strip(), ()
    if isinstance(value, dict):
        name = _field(value, "name", f"{where}.vulnerability", origin) or _field(
            value, "@id", f"{where}.vulnerability", origin
        )
        aliases = value.get("aliases", [])
        if name and isinstance(aliases, list) and all(isinstance(a, str) for a in aliases):
            return name, tuple(a.strip() for a in aliases if a.strip())
    raise InputError(f"{where}: `vulnerability` needs a name (a string, or an object with `name`)", path=origin)


def _products(raw: dict[str, Any], where: str, origin: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    products = raw.get("products", [])
    if not isinstance(products, list) or not products:
        raise InputError(f"{where}: `products` must be a non-empty list", path=origin)
    ids: list[str] = []
    subs = _component_ids(raw.get("subcomponents", []), f"{where}.subcomponents", origin)
    for index, product in enumerate(products):
        ids.extend(_component_ids([product], f"{where}.products[{index}]", origin))
        if isinstance(product, dict):
            subs.extend(
                _component_ids(product.get("subcomponents", []), f"{where}.products[{index}].subcomponents", origin)
            )
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(subs))


def _component_ids(components: Any, where: str, origin: str) -> list[str]:
    """Identifiers of components: bare strings (v0.0.x), or `@id` plus `identifiers` values (v0.2.0)."""
    if not isinstance(components, list):
        raise InputError(f"{where} must be a list", path=origin)
    out: list[str] = []
    for component in components:
        if isinstance(component, str) and component.strip():
            out.append(component.strip())
            continue
        if not isinstance(component, dict):
            raise InputError(f"{where}: a component must be a string or an object", path=origin)
        found = [_field(component, "@id", where, origin)]
        identifiers = component.get("identifiers") or {}
        if not isinstance(identifiers, dict):
            raise InputError(f"{where}.identifiers must be an object", path=origin)
        found.extend(_field(identifiers, key, f"{where}.identifiers", origin) for key in identifiers)
        named = [f for f in found if f]
        if not named:
            raise InputError(f"{where}: a component needs an `@id` or `identifiers`", path=origin)
        out.extend(named)
    return out
