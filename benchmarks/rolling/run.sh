#!/usr/bin/env bash
# Rolling deploy to 5 loopback sshd hosts: Fraisier against one-ssh-call-per-command shell.
# Needs sshd, hyperfine and curl. Prints hyperfine's table. BATCH=N (default 1): batch size
# of both, i.e. hosts worked on at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
WORK=$(mktemp -d /tmp/bench-rolling.XXXXXX)
rmdir "$WORK"
.venv/bin/python benchmarks/rolling/setup.py "$WORK" >/dev/null
trap '.venv/bin/python benchmarks/rolling/setup.py "$WORK" stop; rm -rf "$WORK"' EXIT
CONFIG="$WORK/project/fraises.yaml"
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$WORK/result.md" \
    -n fraisier ".venv/bin/fraisier -c $CONFIG deploy web production --force --quiet" \
    -n "shell (ssh per command)" "benchmarks/rolling/baseline.sh $WORK"
cat "$WORK/result.md"
