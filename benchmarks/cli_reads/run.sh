#!/usr/bin/env bash
# Benchmark (b): `fraisier status` and `fraisier history --limit 50` against a SQLite state
# database holding 100,000 deployments (900,000 step rows), wall time with hyperfine.
# Baseline in the same run: the sqlite3 shell answering the same two questions.
#
# Usage: benchmarks/cli_reads/run.sh [deployments]   (needs hyperfine, sqlite3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
fraisier=${FRAISIER:-$root/.venv/bin/fraisier}
python=${PYTHON:-$root/.venv/bin/python}
count=${1:-100000}
work=$(mktemp -d /tmp/fraisier-bench-reads.XXXXXX)
trap 'rm -rf "$work"' EXIT
export XDG_CACHE_HOME="$work/cache"

{
  echo "state: {url: 'sqlite:///$work/state.db'}"
  echo "fraises:"
  for f in $(seq 0 9); do
    echo "  app$f:"
    echo "    repository: /srv/git/app$f.git"
    echo "    environments:"
    for e in 0 1 2; do
      echo "      env$e: {branch: b$e, app_path: $work/srv/app$f/env$e}"
    done
  done
} > "$work/fraises.yaml"

"$python" "$here/seed.py" "sqlite:///$work/state.db" "$count" 10 3
"$fraisier" -c "$work/fraises.yaml" validate

status_sql="SELECT * FROM v_fraise_status ORDER BY fraise, environment;"
history_sql="SELECT * FROM tb_deployment ORDER BY id DESC LIMIT 50;"
hyperfine --warmup 3 --runs 30 --export-json "$work/result.json" \
  --command-name "fraisier status" "$fraisier -c $work/fraises.yaml status" \
  --command-name "fraisier status --json" "$fraisier -c $work/fraises.yaml status --json" \
  --command-name "fraisier history --limit 50" "$fraisier -c $work/fraises.yaml history --limit 50" \
  --command-name "fraisier history --limit 50 --json" "$fraisier -c $work/fraises.yaml history --limit 50 --json" \
  --command-name "sqlite3 status query" "sqlite3 $work/state.db '$status_sql'" \
  --command-name "sqlite3 history query" "sqlite3 $work/state.db '$history_sql'"
"$python" "$here/../medians.py" "$work/result.json"
