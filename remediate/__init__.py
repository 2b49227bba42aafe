"""container-gate remediate: the nightly base-image fixer."""
