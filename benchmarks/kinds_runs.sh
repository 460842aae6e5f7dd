#!/usr/bin/env bash
# Overhead of recorded runs and backups, side by side with the same work done by hand:
#   1. `fraisier run` of an ETL script  vs  running the script directly
#   2. `fraisier backup run` (sqlite, checksum, PRAGMA integrity_check)
#      vs  `sqlite3 .backup` + `sha256sum` + `PRAGMA integrity_check` in a shell
# Needs hyperfine, git, sqlite3. Usage: benchmarks/kinds_runs.sh [runs]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-20}
PY=$PWD/.venv/bin/python
FRAISIER=$PWD/.venv/bin/fraisier
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

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

# A ~20 MB SQLite database to back up.
"$PY" - "$WORK/app.db" <<'PYEOF'
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, payload TEXT)")
conn.executemany("INSERT INTO items (payload) VALUES (?)", (("x" * 200,) for _ in range(100_000)))
conn.commit()
PYEOF

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
  nightly:
    type: backup
    repository: $WORK/repo
    backups:
      appdb: {kind: sqlite, path: $WORK/app.db, verify: list, keep_last: 3}
    environments:
      production: {branch: main, app_path: $WORK/srv/nightly, backup_dir: $WORK/backups}
YAML
export FRAISIER_CONFIG=$WORK/fraises.yaml
"$FRAISIER" deploy loader production --quiet >/dev/null

hyperfine --runs "$RUNS" --warmup 2 -N \
  --command-name "direct: python etl.py" "env DB=$WORK/etl.db $PY $WORK/srv/loader/current/etl.py" \
  --command-name "fraisier run loader production" "$FRAISIER run loader production"

mkdir -p "$WORK/manual"
hyperfine --runs "$RUNS" --warmup 2 \
  --command-name "shell: sqlite3 .backup + sha256sum + integrity_check" \
  "sqlite3 $WORK/app.db \".backup $WORK/manual/b.db\" && sha256sum $WORK/manual/b.db > $WORK/manual/b.db.sha256 && sqlite3 $WORK/manual/b.db 'PRAGMA integrity_check' >/dev/null" \
  --command-name "fraisier backup run nightly production" "$FRAISIER backup run nightly production >/dev/null"
