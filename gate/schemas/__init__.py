"""Schemas shipped with the package (our config and JSON result), loaded with importlib.resources."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> Any:
    """A packaged schema by file name, e.g. `config.schema.json`."""
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))
