"""`python -m fraisier`: the CLI, for places that know the interpreter but not the script
(e.g. the systemd units Fraisier writes for scheduled jobs)."""

from fraisier.cli.main import main

main()
