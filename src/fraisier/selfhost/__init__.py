"""Running Fraisier itself on a server: the files `fraisier setup` writes (systemd units, the
sudoers drop-in that lets the `fraisier` user restart the configured services and nothing
more, an nginx site terminating TLS) and the comparison `fraisier setup --check` makes.

Everything here is pure: a `SetupOptions` and a loaded configuration in, a list of
`PlannedFile`s out; `files.py` alone touches the disk.
"""

from fraisier.selfhost.files import Difference, apply_plan, compare_plan
from fraisier.selfhost.options import SetupOptions
from fraisier.selfhost.plan import PlannedFile, plan_files

__all__ = ["Difference", "PlannedFile", "SetupOptions", "apply_plan", "compare_plan",
           "plan_files"]
