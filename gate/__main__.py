"""`python -m gate` runs the command line, leaving the way the installed command does (`gate.cli.console`)."""

from gate.cli import console

console()
