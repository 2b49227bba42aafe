"""A constraint's `spec.parameters` checked against its template's schema, as the API server does before
Gatekeeper (or gator) accepts the constraint: wrong types, missing required fields and, for
templates.gatekeeper.sh/v1, fields the schema does not declare are refused in CI instead of at `kubectl apply`.

The schema is `spec.crd.spec.validation.openAPIV3Schema`, an OpenAPI 3.0 structural schema; jsonschema checks it
as Draft 4 (the dialect OpenAPI 3.0 schemas are written in). Kubernetes refuses undeclared fields of a structural
schema unless `x-kubernetes-preserve-unknown-fields` says otherwise, which JSON Schema does not do by default, so
each object schema is closed first. v1beta1 templates keep Gatekeeper's legacy schema (unknown fields allowed)."""

from __future__ import annotations

from typing import Any

_PRESERVE = "x-kubernetes-preserve-unknown-fields"


def schema_of(template: dict[str, Any]) -> dict[str, Any] | None:
    """The template's parameter schema, or None when it declares none."""
    crd = ((template.get("spec") or {}).get("crd") or {}).get("spec") or {}
    validation = crd.get("validation") if isinstance(crd, dict) else None
    schema = validation.get("openAPIV3Schema") if isinstance(validation, dict) else None
    return schema if isinstance(schema, dict) else None


def problem(parameters: Any, schema: dict[str, Any] | None, *, strict: bool) -> str | None:
    """Why Kubernetes would refuse these parameters, or None. `strict`: a v1 template (undeclared fields refused,
    and parameters without any schema are unknown fields)."""
    from jsonschema import Draft4Validator

    if not parameters:
        return None
    if schema is None:
        return "sets spec.parameters, but its ConstraintTemplate declares no schema for them" if strict else None
    checked = _closed(schema) if strict else schema
    error = next(iter(sorted(Draft4Validator(checked).iter_errors(parameters), key=lambda e: list(e.path))), None)
    if error is None:
        return None
    where = ".".join(str(p) for p in error.absolute_path)
    return f"spec.parameters{'.' + where if where else ''}: {error.message}"


def _closed(schema: Any) -> Any:
    """The schema with every object schema refusing fields it does not list (an object schema without
    `properties` allows none), as Kubernetes does."""
    if isinstance(schema, list):
        return [_closed(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _closed(v) if k in _NESTED else v for k, v in schema.items()}
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: _closed(s) for name, s in schema["properties"].items()}
    is_object = schema.get("type") == "object" or "properties" in schema
    if is_object and "additionalProperties" not in schema and not schema.get(_PRESERVE):
        out["additionalProperties"] = False
    return out


_NESTED = {"items", "additionalProperties", "allOf", "anyOf", "oneOf", "not"}
