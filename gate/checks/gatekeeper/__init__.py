"""Gatekeeper mode: ConstraintTemplates and constraints (load.py) reviewed against the Kubernetes objects of the
run (review.py builds Gatekeeper's input and `data.inventory`, match.py applies `spec.match`), evaluated on
regorus in bounded workers like the Conftest mode (check.py)."""
