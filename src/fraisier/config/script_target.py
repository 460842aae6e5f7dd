"""What running an etl target's script needs, in plain values.

`fraisier run FRAISE ENV` runs a script that may take 25 ms. Reading its argv from the
validated configuration means importing pydantic and the configuration's model classes,
which costs ten times that. So the configuration cache (config/cache.py) keeps this view of
every etl target beside its summary, and `fraisier run` takes it from there; a deployment's
script step builds the same view from its Target. Either way the same code runs the script
(kinds/etl.py). This module imports nothing but the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraisier.config.resolve import Target

_SECRET_REFERENCE = "${secret:"


@dataclass(frozen=True)
class ScriptTarget:
    fraise: str
    environment: str
    app_path: Path
    env: dict[str, str]
    timeout: float  # the target's: for on_success and on_failure
    script: list[str] | None  # argv
    script_timeout: float  # `script_timeout`, else the target's timeout
    on_success: list[str] | None = None
    on_failure: list[str] | None = None

    @property
    def name(self) -> str:
        return f"{self.fraise}/{self.environment}"

    @classmethod
    def of(cls, target: Target) -> ScriptTarget:
        kind = target.kind

        def argv(command: Any) -> list[str] | None:
            return None if command is None else list(command.argv)

        return cls(fraise=target.fraise, environment=target.environment,
                   app_path=target.app_path, env=dict(target.env), timeout=target.timeout,
                   script=argv(kind.script), script_timeout=kind.script_timeout or target.timeout,
                   on_success=argv(kind.on_success), on_failure=argv(kind.on_failure))

    def references_secrets(self) -> bool:
        """True when a value is still a `${secret:...}` reference, to be fetched first."""
        texts = [*self.env.values(), *(self.script or ()), *(self.on_success or ()),
                 *(self.on_failure or ())]
        return any(_SECRET_REFERENCE in text for text in texts)

    def to_json(self) -> dict[str, Any]:
        return {"fraise": self.fraise, "environment": self.environment,
                "app_path": str(self.app_path), "env": self.env, "timeout": self.timeout,
                "script": self.script, "script_timeout": self.script_timeout,
                "on_success": self.on_success, "on_failure": self.on_failure}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScriptTarget:
        return cls(**{**data, "app_path": Path(data["app_path"])})
