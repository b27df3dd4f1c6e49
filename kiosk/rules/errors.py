"""The rules package's exceptions, written for the staff member who must fix the policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class RulesError(Exception):
    """Root of every error the rules package raises."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy or scenario, at ``path`` (``privileges[3].days``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InvalidPolicy(RulesError):
    """The data does not describe a usable policy (or scenario); ``problems`` says why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(problem) for problem in self.problems))
