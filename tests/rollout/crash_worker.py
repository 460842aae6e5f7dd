"""A worker process that kills itself with SIGKILL right after one rollout method did its
work (for one host or slot, if named), before the ledger records the step as finished.

    python crash_worker.py CONFIG MODULE.CLASS.METHOD [FIRST_ARGUMENT]

e.g. `rolling.Rolling.restart web2` or `slots.Slots.switch green`.
"""

import importlib
import os
import signal
import sys

from fraisier.config import load_config
from fraisier.engine.service import open_state
from fraisier.worker import Worker


def main() -> None:
    config_path, where = sys.argv[1], sys.argv[2]
    only = sys.argv[3] if len(sys.argv) > 3 else None
    module_name, class_name, method_name = where.split(".")
    cls = getattr(importlib.import_module(f"fraisier.rollout.strategies.{module_name}"),
                  class_name)
    original = getattr(cls, method_name)

    def dying(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if only is None or (args and str(args[0]) == only):
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(cls, method_name, dying)
    config = load_config(config_path)
    Worker(config, open_state(config), concurrency=1).run_forever()


if __name__ == "__main__":
    main()
