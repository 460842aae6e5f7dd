#!/bin/sh
# The webhook load against the code of another commit, with this checkout's harness, e.g. to
# find the commit that made the hot path slower:
#
#     benchmarks/webhook_load/at_commit.sh REV [run.py options]
#
# The commit is checked out in a temporary worktree; its `src/` comes first on PYTHONPATH
# of `fraisier serve` (run.py starts it with this checkout's virtualenv). The worktree is
# removed afterwards.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 REV [run.py options]" >&2; exit 2; }
rev=$1
shift
root=$(git rev-parse --show-toplevel)
dir=$(mktemp -d)
git -C "$root" worktree add --quiet --detach "$dir" "$rev"
trap 'git -C "$root" worktree remove --force "$dir"' EXIT
PYTHONPATH="$dir/src" "$root/.venv/bin/python" "$root/benchmarks/webhook_load/run.py" "$@"
