#!/usr/bin/env bash
# The same rolling deployment as Fraisier's, written the usual way: one `ssh` call per
# command, no connection reuse. Per host: write the 0600 env file, read `current`, upload
# the release, activate it atomically, restart, health-check, then prune old releases.
# BATCH=N works on N hosts at once.
set -euo pipefail
WORK=$1
source "$WORK/baseline.env"
SSH=(ssh -T -o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$KNOWN_HOSTS"
     -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -i "$IDENTITY" -o IdentitiesOnly=yes
     -l "$SSH_USER")
commit=$(git -C "$REPO" rev-parse HEAD)
release="$(date -u +%Y%m%dT%H%M%S%NZ)-${commit:0:7}"
archive=$(mktemp)
trap 'rm -f "$archive"' EXIT
git -C "$REPO" archive --format=tar.gz -o "$archive" "$commit"

deploy_host() {
    local host_json=$1 port app health env_port
    read -r port app health env_port < <("$PYTHON" -c 'import json,sys; h=json.loads(sys.argv[1]);
print(h["port"], h["app_path"], h["health_url"], h["env"]["PORT"])' "$host_json")
    run() { "${SSH[@]}" -p "$port" 127.0.0.1 "$@"; }
    printf 'API_SECRET=not-on-the-command-line\nPORT=%s\n' "$env_port" |
        run "umask 077 && mkdir -p $app/.fraisier && cat > $app/.fraisier/env"
    run "readlink $app/current || true" >/dev/null
    run "mkdir -p $app/releases/.$release.partial && tar -xzf - -C $app/releases/.$release.partial && mv -T $app/releases/.$release.partial $app/releases/$release" < "$archive"
    run "ln -sfn releases/$release $app/.current.tmp && mv -T $app/.current.tmp $app/current"
    run "cd $app/releases/$release && set -a && . $app/.fraisier/env && set +a && FRAISIER_APP_PATH=$app FRAISIER_RELEASE_DIR=$app/releases/$release FRAISIER_HOST=x $PYTHON control.py restart" >/dev/null
    for _ in $(seq 50); do
        curl -fsS -o /dev/null "$health" && break
        sleep 0.05
    done
    curl -fsS -o /dev/null "$health"
    run "cd $app/releases && ls -1 | head -n -3 | xargs -r rm -rf --"
}

# BATCH hosts at a time (background jobs), like Fraisier's batch_size; 1 by default.
batch=${BATCH:-1}
for ((first = 0; first < ${#HOSTS[@]}; first += batch)); do
    pids=()
    for host_json in "${HOSTS[@]:first:batch}"; do
        deploy_host "$host_json" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid"
    done
done
