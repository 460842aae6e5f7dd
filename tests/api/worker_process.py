"""Stand-in for a worker in another process: run one queued deployment, then exit.

Usage: python worker_process.py CONFIG_PATH DEPLOYMENT_ID
"""

import sys

from fraisier.config import load_config
from fraisier.engine.service import open_state
from fraisier.worker.inline import deploy_now

config = load_config(sys.argv[1])
store = open_state(config)
record = deploy_now(store, config, int(sys.argv[2]))
store.close()
print(record.status)
