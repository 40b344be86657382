"""Problems found in a config: what they are and how one is written on a line.

Kept free of pydantic and tomllib, so that the daemon's warm start (see
:mod:`pitrigger.config.startup`) can raise and print them without importing either.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass

__all__ = ["ConfigError", "ConfigProblem", "short_repr"]



@dataclass(frozen=True)
class ConfigProblem:
    """One problem: dotted ``key`` (empty for file-level problems), ``line`` if known.

    >>> str(ConfigProblem("haptics.pin", 12, "must differ from button.pin", "pitrigger.toml"))
    'pitrigger.toml:12: haptics.pin: must differ from button.pin'
    """

    key: str
    line: int | None
    message: str
    source: str = "pitrigger.toml"

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """The config cannot be used; ``problems`` lists every reason, ``str()`` one per line."""

    def __init__(self, path: str, problems: list[ConfigProblem]) -> None:
        self.path = path
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))


# Values quoted in messages are cut short: a config line may hold anything.
short_repr = reprlib.Repr()
short_repr.maxstring = short_repr.maxother = short_repr.maxlong = 40
short_repr.maxlevel = 2
short_repr.maxlist = short_repr.maxtuple = short_repr.maxdict = 4
