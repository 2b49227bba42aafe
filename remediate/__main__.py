"""`python -m remediate` runs `container-gate remediate` on its own parser."""

import sys

from remediate.cli import main

raise SystemExit(main(["remediate", *sys.argv[1:]]))
