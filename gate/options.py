"""The gate's output options, declared once: the CLI's flags, the action's inputs and the checks of the config
schema, the GitLab component and the docs are all made from (or tested against) this table."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Output:
    """One output file the gate can write."""

    emitter: str
    """The emitter's name in `gate.emit.formats`."""
    flag: str
    help: str

    @property
    def dest(self) -> str:
        """The argparse attribute (`--gitlab-report` → `gitlab_report`)."""
        return self.flag[2:].replace("-", "_")

    @property
    def input(self) -> str:
        """The action's and the GitLab component's input name (`gitlab-report`)."""
        return self.flag[2:]


OUTPUTS: tuple[Output, ...] = (
    Output("sarif", "--sarif", "write SARIF 2.1.0"),
    Output("gitlab", "--gitlab-report", "write a GitLab container_scanning report"),
    Output("codequality", "--codequality", "write a GitLab Code Quality report"),
    Output("json", "--json", "write the JSON result"),
    Output("summary", "--summary", "write the Markdown summary"),
    Output("junit", "--junit", "write JUnit XML: a test case per finding id and target, failed when it blocks"),
)
"""In the order outputs are written and listed in the log."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One `FLAG FILE` option per output."""
    for output in OUTPUTS:
        parser.add_argument(output.flag, metavar="FILE", help=output.help)


def requested(args: argparse.Namespace) -> tuple[tuple[str, Path], ...]:
    """(emitter name, file) for every output flag given, in `OUTPUTS` order."""
    return tuple((output.emitter, Path(value)) for output in OUTPUTS if (value := getattr(args, output.dest, None)))
