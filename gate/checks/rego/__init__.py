"""Conftest-compatible Rego policies: the check (check.py), the engine over regorus (engine.py), the per-step
bounds (limits.py), the static rules a policy must pass (static.py), `policy verify` (verify.py), the files read
into input documents (documents.py) and the built-in packs (packs/)."""
