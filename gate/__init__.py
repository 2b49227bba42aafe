"""container-gate: one security gate over every result a container pipeline produces."""

__version__ = "0.1.0"
