"""The sudoers drop-in: the `fraisier` user may run `systemctl start|stop|restart|reload` of
the units named in fraises.yaml, without a password, and nothing else.

Every command is written with its full argument list, so sudo matches it exactly (no
wildcards: `systemctl restart web*` would also match `web; anything`-like unit names and
other verbs' options). `systemctl` itself is root-owned, so nothing root runs here is
writable by the `fraisier` user.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from fraisier.selfhost.options import SetupOptions

VERBS = ("start", "stop", "restart", "reload")

# Characters sudoers gives a meaning to inside a command line: escaped with a backslash.
_SPECIAL = re.compile(r"([\\,:= ])")


def _escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def unit_forms(unit: str) -> list[str]:
    """`web` and `web.service` name the same unit to systemctl; sudo sees two argv."""
    if "." in unit.rsplit("@", 1)[-1]:
        return [unit]
    return [unit, f"{unit}.service"]


def render_sudoers(options: SetupOptions, units: Iterable[str]) -> str:
    commands = [
        f"{options.systemctl} {verb} {_escape(form)}"
        for unit in sorted(set(units)) for form in unit_forms(unit) for verb in VERBS
    ]
    alias = "FRAISIER_UNITS"
    body = ", \\\n    ".join(commands)
    return (
        "# Written by `fraisier setup`: the services of fraises.yaml, and nothing more.\n"
        "# Check with: visudo -cf /etc/sudoers.d/fraisier\n"
        f"Cmnd_Alias {alias} = \\\n    {body}\n"
        f"{options.user} ALL=(root) NOPASSWD: {alias}\n"
    )
