"""Hypothesis profiles for the property tests: a short deterministic run by default, a long one for `make fuzz`."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# One example runs the whole gate: no per-example deadline (an alarm in the tests bounds a hang instead).
settings.register_profile(
    "common",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
# ~25 examples for each property of test_fuzz_readers.py, about 100 in `make test`, the same ones on every
# run (derandomize), so CI never fails on a case nobody can reproduce.
settings.register_profile(
    "short", parent=settings.get_profile("common"), max_examples=25, derandomize=True, database=None
)
# `make fuzz` (HYPOTHESIS_PROFILE=long): thousands of new examples; failures are kept in .hypothesis/ to replay.
settings.register_profile("long", parent=settings.get_profile("common"), max_examples=2500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "short"))
