#!/usr/bin/env bash
# The same work as a Fraisier redeploy, by hand: fetch the mirror, materialize the branch head
# into a new release directory, switch `current` atomically, health-check, keep 5 releases.
set -euo pipefail
: "${APP_PATH:?}" "${MIRROR:?}" "${REPO:?}" "${HEALTH_URL:?}"
[ -d "$MIRROR" ] || git clone -q --mirror "$REPO" "$MIRROR"
git -C "$MIRROR" fetch -q --prune --force origin
sha=$(git -C "$MIRROR" rev-parse refs/heads/main)
release="$(date -u +%Y%m%dT%H%M%S%NZ)-${sha:0:7}"
mkdir -p "$APP_PATH/releases/.$release.partial"
git -C "$MIRROR" archive --format=tar "$sha" | tar -x -C "$APP_PATH/releases/.$release.partial"
mv "$APP_PATH/releases/.$release.partial" "$APP_PATH/releases/$release"
ln -sfn "releases/$release" "$APP_PATH/.current.tmp"
mv -T "$APP_PATH/.current.tmp" "$APP_PATH/current"
curl -fsS --retry 3 --retry-delay 0 -o /dev/null "$HEALTH_URL"
ls -1d "$APP_PATH"/releases/*/ | sort -r | tail -n +6 | xargs -r rm -rf
