#!/usr/bin/env bash
# CLI fixed cost: `fraisier run loader production` (an ETL script of ~25 ms) and
# `fraisier status`, beside the bare script, in one hyperfine run. A fourth command shows the
# same `fraisier run` when the configuration cache cannot be written (XDG_CACHE_HOME points
# below a file), so every call validates fraises.yaml in full: what the cache saves.
#
# BASELINE=/other/checkout/.venv/bin/fraisier adds that Fraisier's `run` and `status` to the
# same hyperfine run (its bytecode is written under /tmp, not into the other checkout).
#
# Usage: [BASELINE=...] benchmarks/cli_fixed_cost/run.sh [runs]   (needs hyperfine, git)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RUNS=${1:-30}
PY=$PWD/.venv/bin/python
FRAISIER=$PWD/.venv/bin/fraisier
WORK=$(mktemp -d /tmp/fraisier-bench-cli.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
# An installed package ships its bytecode; an editable checkout under
# PYTHONDONTWRITEBYTECODE would compile every module on every call instead.
unset PYTHONDONTWRITEBYTECODE
"$PY" -m compileall -q src >/dev/null
export XDG_CACHE_HOME=$WORK/cache

mkdir -p "$WORK/repo"
cat > "$WORK/repo/etl.py" <<'PYEOF'
import os, sqlite3
conn = sqlite3.connect(os.environ["DB"])
conn.execute("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
conn.execute("INSERT INTO t VALUES (1)")
conn.commit()
print("loaded")
PYEOF
git -C "$WORK/repo" init -q -b main
git -C "$WORK/repo" -c user.name=b -c user.email=b@localhost add -A
git -C "$WORK/repo" -c user.name=b -c user.email=b@localhost commit -qm bench

cat > "$WORK/fraises.yaml" <<YAML
state:
  url: sqlite:///$WORK/state.db
fraises:
  loader:
    type: etl
    repository: $WORK/repo
    script: [$PY, etl.py]
    env: {DB: $WORK/etl.db}
    environments:
      production: {branch: main, app_path: $WORK/srv/loader}
YAML
export FRAISIER_CONFIG=$WORK/fraises.yaml
"$FRAISIER" deploy loader production --quiet >/dev/null
touch "$WORK/not-a-directory"
baseline=()
if [ -n "${BASELINE:-}" ]; then
  prefix=$WORK/baseline-pycache
  PYTHONPYCACHEPREFIX=$prefix "$(dirname "$BASELINE")/python" -m compileall -q \
    "$(cd "$(dirname "$BASELINE")/../.." && pwd)/src" >/dev/null
  PYTHONPYCACHEPREFIX=$prefix "$BASELINE" status >/dev/null  # its own cache, warmed
  baseline=(--command-name "baseline: fraisier run loader production"
            "env PYTHONPYCACHEPREFIX=$prefix $BASELINE run loader production"
            --command-name "baseline: fraisier status"
            "env PYTHONPYCACHEPREFIX=$prefix $BASELINE status")
fi

hyperfine --runs "$RUNS" --warmup 3 -N --export-json "$WORK/result.json" \
  --command-name "bare script: python etl.py" "env DB=$WORK/etl.db $PY $WORK/srv/loader/current/etl.py" \
  --command-name "fraisier run loader production" "$FRAISIER run loader production" \
  --command-name "fraisier status" "$FRAISIER status" \
  --command-name "fraisier run, no cache (validates every call)" \
  "env XDG_CACHE_HOME=$WORK/not-a-directory $FRAISIER run loader production" \
  "${baseline[@]}"
"$PY" benchmarks/medians.py "$WORK/result.json" --cpu
uptime
