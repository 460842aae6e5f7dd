"""What a broken configuration looks like to the person who has to fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration, located by key path and line."""

    path: str  # dotted key path, e.g. "fraises.web.install"; "" for the file as a whole
    message: str
    line: int | None = None  # 1-based line in the YAML file, when known
    # The raw key path, kept so a later stage can look the line up.
    loc: tuple[Any, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def at(cls, loc: tuple[Any, ...], message: str, line: int | None = None) -> Problem:
        return cls(".".join(str(part) for part in loc), message, line, tuple(loc))

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text} (line {self.line})" if self.line is not None else text


class ConfigError(Exception):
    """The configuration cannot be used. `.problems` lists every reason found."""

    def __init__(
        self,
        problems: str | Problem | Iterable[Problem],
        *,
        source: str | Path | None = None,
    ) -> None:
        if isinstance(problems, str):
            problems = [Problem("", problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        self.source: Path | None = Path(source) if source is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.source is None and len(self.problems) == 1:
            return str(self.problems[0])
        header = f"invalid configuration in {self.source}" if self.source else "invalid configuration"
        if len(self.problems) == 1:
            return f"{header}: {self.problems[0]}"
        return header + ":\n" + "\n".join(f"  - {problem}" for problem in self.problems)


class UnknownTarget(ConfigError, KeyError):
    """A fraise or environment that the configuration does not define.

    Also a KeyError, so callers that treat targets as a mapping can catch it as one.
    """

    __str__ = ConfigError.__str__
