"""A sample app whose every step can be made to fail by committing a marker file.

`hooks.py` stands in for a real project's scripts: install, build, migrations against a tiny
file-backed "database" shared by all releases (`<app_path>/db.txt`, one revision per line), and
a restart that stops the running instance and starts the release that `current` points at.
"""

from __future__ import annotations

import sys
from pathlib import Path

from fraisier.demo import make_workspace
from fraisier.demo.workspace import Workspace

HOOKS_PY = '''\
import os, pathlib, subprocess, sys, time
here = pathlib.Path.cwd()
app = pathlib.Path(os.environ["FRAISIER_APP_PATH"])
db = app / "db.txt"
action = sys.argv[1]

def note_pid(name):
    # Written aside, then renamed: a test waiting for the file never reads it half written.
    (app / (name + ".tmp")).write_text(str(os.getpid()))
    os.replace(app / (name + ".tmp"), app / name)

def fail_if(marker):
    if (here / marker).exists():
        print(f"{action}: failing because {marker} is present")
        sys.exit(7)

with open(app / "env.log", "a") as log:
    log.write(action + " " + " ".join(f"{k}={v}" for k, v in sorted(os.environ.items())
                                       if k.startswith("FRAISIER_")) + "\\n")

if action == "install":
    fail_if("FAIL_INSTALL")
    print("installing")
elif action == "build":
    if (here / "SLOW_BUILD").exists():
        note_pid("build.pid")
        print("building slowly", flush=True)
        time.sleep(60)
    fail_if("FAIL_BUILD")
    (here / "BUILT").write_text(os.environ["FRAISIER_COMMIT"])
elif action == "migrate-status":
    revisions = db.read_text().split() if db.exists() else []
    print(revisions[-1] if revisions else "base")
elif action == "migrate-up":
    fail_if("FAIL_MIGRATE")
    wanted = (here / "MIGRATION").read_text().strip() if (here / "MIGRATION").exists() else None
    revisions = db.read_text().split() if db.exists() else []
    if wanted and wanted not in revisions:
        db.write_text("\\n".join(revisions + [wanted]) + "\\n")
    if (here / "SLOW_MIGRATE").exists():  # half applied, and still going
        note_pid("migrate.pid")
        with open(app / "m.log", "a") as m:
            m.write("up-start\\n")
        time.sleep(60)
        with open(app / "m.log", "a") as m:
            m.write("up-done\\n")
    print("migrated to", wanted)
elif action == "migrate-down":
    if (here / "HELD_DOWN").exists():  # wait until the test lets the migration go on
        (app / "down.started").write_text(str(os.getpid()))
        while not (app / "down.release").exists():
            time.sleep(0.02)
    target = os.environ["FRAISIER_MIGRATE_REVISION"]
    revisions = db.read_text().split() if db.exists() else []
    keep = revisions[: revisions.index(target) + 1] if target in revisions else []
    db.write_text("\\n".join(keep) + ("\\n" if keep else ""))
    print("migrated down to", target)
elif action == "restart":
    if (app / "FAIL_ALL_RESTARTS").exists():
        print("restart refused by FAIL_ALL_RESTARTS")
        sys.exit(9)
    subprocess.run([sys.executable, "control.py", "restart"], check=True)
    fail_if("FAIL_RESTART")
'''

CONFIG = """\
state:
  url: sqlite:///{root}/state.db
fraises:
  hello:
    repository: {repo}
    install: [{py}, hooks.py, install]
    build: [{py}, hooks.py, build]
    migrate:
      up: [{py}, hooks.py, migrate-up]
      down: [{py}, hooks.py, migrate-down]
      status: [{py}, hooks.py, migrate-status]
    env:
      PORT: "{port}"
      GREETING: hello
    environments:
      production:
        branch: main
        app_path: {app_path}
        keep_releases: {keep}
        timeout: {timeout}
        restart: [{py}, hooks.py, restart]
        health_check:
          url: http://127.0.0.1:{port}/health
          retries: 6
          interval: 0.2
          timeout: 2
"""


def make_sample(tmp_path: Path, *, keep: int = 5, timeout: float = 60) -> Workspace:
    workspace = make_workspace(tmp_path / "ws")
    workspace.commit("Add hooks", {"hooks.py": HOOKS_PY})
    workspace.config_path.write_text(CONFIG.format(
        root=workspace.root, repo=workspace.repo, py=sys.executable, port=workspace.port,
        app_path=workspace.app_path, keep=keep, timeout=timeout))
    return workspace
