"""The files of the sample app, as they are committed to its repository.

`app.py` is a small HTTP service; `control.py` is the process manager a restart command calls
(the role systemd plays on a real server): it stops the instance recorded in the pid file and
starts the release that `current` points at.
"""

APP_PY = '''\
"""Sample service: answers / with its version and /health with 200 (or 500 when broken)."""
import http.server
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
VERSION = (HERE / "VERSION").read_text().strip()
HEALTHY = not (HERE / "BROKEN").exists()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status = 200 if self.path != "/health" or HEALTHY else 500
        body = f"{VERSION}\\n".encode() if status == 200 else b"unhealthy\\n"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


port = int(os.environ["PORT"])
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
'''

CONTROL_PY = '''\
"""Start, stop or restart the sample service from the release `current` points at."""
import os
import signal
import socket
import subprocess
import sys
import time
import pathlib

app_path = pathlib.Path(os.environ["FRAISIER_APP_PATH"])
release = pathlib.Path(os.environ.get("FRAISIER_RELEASE_DIR") or app_path / "current")
pid_file = app_path / "app.pid"


def stop():
    try:
        pid = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(50):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)


def start():
    log = open(app_path / "app.log", "ab")
    proc = subprocess.Popen([sys.executable, str(release / "app.py")], cwd=release,
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    pid_file.write_text(str(proc.pid))
    # Return once the service listens, as `systemctl restart` of a notify service does: the
    # health check then judges the release, not how fast a busy machine starts Python.
    port = int(os.environ.get("PORT", "0"))
    deadline = time.monotonic() + 30
    while port and proc.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.02)
    print(f"started {release.name} as pid {proc.pid}")


action = sys.argv[1]
if action in ("stop", "restart"):
    stop()
if action in ("start", "restart"):
    start()
'''

BUILD_PY = '''\
"""Build step of the sample: writes BUILD_INFO from the environment Fraisier provides."""
import os
import pathlib

pathlib.Path("BUILD_INFO").write_text(
    f"commit={os.environ['FRAISIER_COMMIT']}\\nbranch={os.environ['FRAISIER_BRANCH']}\\n")
print("built", os.environ["FRAISIER_COMMIT"][:12])
'''
