"""A worker process that kills itself with SIGKILL in the middle of one step.

    python crash_worker.py CONFIG STEP

The step's work is done, and then the process dies before the ledger records the step as
finished: the worst moment, and the one recovery must handle from the ledger alone.
"""

import os
import signal
import sys

from fraisier.config import load_config
from fraisier.engine import steps
from fraisier.engine.service import open_state
from fraisier.kinds import migrations
from fraisier.worker import Worker

FUNCTIONS = {"fetch": "fetch", "release": "materialize", "install": "command_step",
             "build": "command_step", "migrate": "migrate_up", "activate": "activate",
             "restart": "restart", "health_check": "health", "cleanup": "cleanup"}


def main() -> None:
    config_path, step = sys.argv[1], sys.argv[2]
    name = FUNCTIONS[step]
    module = migrations if step == "migrate" else steps
    original = getattr(module, name)

    def dying(*args, **kwargs):
        result = original(*args, **kwargs)
        if name != "command_step" or args[1] == step:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(module, name, dying)
    config = load_config(config_path)
    Worker(config, open_state(config), concurrency=1).run_forever()


if __name__ == "__main__":
    main()
