"""What every built-in Dockerfile rule receives (the parsed file, the config, the final image's stages)
and what it yields (a hit on one instruction)."""

from __future__ import annotations

from dataclasses import dataclass

from gate.checks.dockerfile.rule_table import RulesConfig
from gate.dockerfile import Dockerfile, Instruction, Stage


@dataclass(frozen=True, slots=True)
class Hit:
    """A rule firing on one instruction, with a message specific to that line."""

    rule_id: str
    instruction: Instruction
    message: str


@dataclass(frozen=True, slots=True)
class RuleContext:
    """A parsed Dockerfile with the views rules share."""

    df: Dockerfile
    config: RulesConfig

    @property
    def final_chain(self) -> tuple[Stage, ...]:
        """The final stage and every stage it builds on (`FROM <stage>`), nearest first."""
        final = self.df.final_stage()
        return self.df.parent_chain(final) if final else ()

    def final_instructions(self, *cmds: str) -> tuple[Instruction, ...]:
        """Instructions of the given kinds (ONBUILD triggers by what they wrap) in the final image, in file order."""
        found = [i for st in self.final_chain for i in st.instructions if i.kind in cmds]
        return tuple(sorted(found, key=lambda i: i.start_line))
