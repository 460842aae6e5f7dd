#!/usr/bin/env bash
# Benchmark (a): redeploy a 2,000-file repository after a one-file change.
# Fraisier (fetch, release, activate, health check, cleanup, all recorded in SQLite) against
# a shell script doing the same git + symlink + health work, side by side with hyperfine.
#
# Usage: benchmarks/redeploy/run.sh [runs]   (needs hyperfine, git, curl)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fraisier=${FRAISIER:-$root/.venv/bin/fraisier}
python=${PYTHON:-$root/.venv/bin/python}
runs=${1:-20}
work=$(mktemp -d /tmp/fraisier-bench-redeploy.XXXXXX)
trap 'kill "$server_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# A repository of 2,000 small files in 40 directories.
git init -q -b main "$work/repo"
for d in $(seq 1 40); do
  mkdir -p "$work/repo/pkg$d"
  for f in $(seq 1 50); do printf 'line %s %s\n' "$d" "$f" > "$work/repo/pkg$d/file$f.txt"; done
done
git -C "$work/repo" add -A
git -C "$work/repo" -c user.name=bench -c user.email=bench@localhost commit -qm initial

# The "service" both deployers health-check: a static HTTP server that is always up.
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$python" -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$work/fraises.yaml" <<YAML
state:
  url: sqlite:///$work/state.db
fraises:
  app:
    repository: $work/repo
    environments:
      prod:
        branch: main
        app_path: $work/fraisier-app
        keep_releases: 5
        health_check:
          url: http://127.0.0.1:$port/
          retries: 3
          interval: 0.1
YAML

# Each timed run deploys a new commit that changes one file.
cat > "$work/change-one-file.sh" <<'SH'
#!/usr/bin/env bash
set -e
echo "$RANDOM $(date +%s%N)" > "$1/pkg7/file13.txt"
git -C "$1" -c user.name=bench -c user.email=bench@localhost commit -qam change
SH
chmod +x "$work/change-one-file.sh"

# Warm both sides once (first clone of the mirror is not what we measure).
"$fraisier" -c "$work/fraises.yaml" deploy app prod --quiet >/dev/null
APP_PATH="$work/shell-app" MIRROR="$work/shell-mirror.git" REPO="$work/repo" \
  HEALTH_URL="http://127.0.0.1:$port/" bash "$here/baseline.sh" >/dev/null

export APP_PATH="$work/shell-app" MIRROR="$work/shell-mirror.git" REPO="$work/repo"
export HEALTH_URL="http://127.0.0.1:$port/"
hyperfine --warmup 2 --runs "$runs" --export-json "$work/result.json" \
  --prepare "$work/change-one-file.sh $work/repo" \
  --command-name fraisier "$fraisier -c $work/fraises.yaml deploy app prod --quiet" \
  --command-name shell-script "bash $here/baseline.sh"
"$python" "$here/../medians.py" "$work/result.json"
