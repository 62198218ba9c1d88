#!/usr/bin/env bash
# Builds the relay image (relay/Dockerfile) and checks it the way a self-hoster uses it:
#   - it runs as a non-root user, with production dependencies only;
#   - against Postgres and Redis it applies its migrations and answers /readyz, and its HEALTHCHECK turns healthy;
#   - two `sotto` profiles register on it and exchange a message;
#   - `docker stop` shuts it down cleanly (exit code 0);
#   - with no DATABASE_URL it runs embedded (PGlite) in its /data volume.
# Usage: bash scripts/check-relay-image.sh   (needs Docker; Postgres on 127.0.0.1:5432 with trust auth for
# user postgres, and Redis on 127.0.0.1:6379, as on the build machines; override with CHECK_PG_URL / CHECK_REDIS_URL)
# Where Docker Hub cannot be reached, SOTTO_IMAGE_LOCAL_BASE=1 first builds a stand-in for the base image
# (node:20-bookworm-slim) from Debian's packages (debootstrap) and this machine's own Node 20 and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${CHECK_PG_URL:-postgres://postgres@127.0.0.1:5432}
REDIS_URL=${CHECK_REDIS_URL:-redis://127.0.0.1:6379}
IMAGE=sotto-relay:check
RUN_ID=$$
DB=sotto_image_check_$RUN_ID
PORT=$((20000 + RUN_ID % 10000))
WORK=$(mktemp -d)
step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'image check failed: %s\n' "$*" >&2; exit 1; }

cleanup() {
  docker rm -f -v "relay-check-$RUN_ID" "relay-check-embedded-$RUN_ID" >/dev/null 2>&1 || true
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

docker info >/dev/null 2>&1 || fail "Docker is not running (start dockerd, or install Docker)"

if [ "${SOTTO_IMAGE_LOCAL_BASE:-}" = 1 ]; then
  step "stand-in base image node:20-bookworm-slim (debootstrap + this machine's Node $(node -v))"
  command -v debootstrap >/dev/null || fail "debootstrap is missing: apt-get install debootstrap"
  root="$WORK/rootfs"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
    fail "debootstrap failed (see $WORK/debootstrap.log)"
  mkdir -p "$root/usr/local/bin" "$root/usr/local/lib/node_modules" "$root/usr/local/etc" "$root/etc/ssl/certs"
  cp "$(command -v node)" "$root/usr/local/bin/node"
  cp -a "$(dirname "$(readlink -f "$(command -v npm)")")/.." "$root/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # This machine's certificate authorities (the npm registry may be reached through an intercepting proxy).
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' >"$root/usr/local/etc/npmrc"
  chroot "$root" groupadd -g 1000 node
  chroot "$root" useradd -u 1000 -g node -m node
  rm -rf "$root"/var/cache/apt/archives/*.deb
  tar -C "$root" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    -c 'CMD ["node"]' - node:20-bookworm-slim >/dev/null
  rm -rf "$root"
fi

step "docker build -f relay/Dockerfile (a few minutes: npm ci runs in both stages)"
docker build --network=host -f relay/Dockerfile -t "$IMAGE" . >"$WORK/build.log" 2>&1 ||
  { tail -30 "$WORK/build.log" >&2; fail "the image did not build (log above)"; }
echo "built $IMAGE, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"

step "runs as non-root with production dependencies only"
uid=$(docker run --rm --entrypoint id "$IMAGE" -u)
[ "$uid" != 0 ] || fail "the relay runs as root"
dev=$(docker run --rm --entrypoint sh "$IMAGE" -c 'cd /app/node_modules && ls -d typescript vitest tsx @biomejs electron react 2>/dev/null || true')
[ -z "$dev" ] || fail "development packages in the image: $dev"
echo "uid $uid; no typescript, vitest, tsx, biome, electron or react"

step "against Postgres and Redis: migrations, /readyz, HEALTHCHECK, a message between two profiles"
psql "$PG_URL/postgres" -qc "CREATE DATABASE $DB" >/dev/null
docker run -d --name "relay-check-$RUN_ID" --network=host -e PORT=$PORT -e HOST=127.0.0.1 \
  -e DATABASE_URL="$PG_URL/$DB" -e REDIS_URL="$REDIS_URL" "$IMAGE" >/dev/null
for _ in $(seq 1 60); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "relay-check-$RUN_ID")" = healthy ] && break
  sleep 1
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "relay-check-$RUN_ID")" = healthy ] ||
  { docker logs "relay-check-$RUN_ID" >&2; fail "the container did not turn healthy within 60 s"; }
ready=$(curl -fsS "http://127.0.0.1:$PORT/readyz")
case "$ready" in *'"postgres":"ok"'*'"redis":"ok"'*) echo "readyz: $ready" ;; *) fail "readyz: $ready" ;; esac

export SOTTO_DB_PASSPHRASE="image-check-$RUN_ID"
name="check$RUN_ID"
npx sotto --profile "$WORK/a" register --relay "http://127.0.0.1:$PORT" --username "${name}a" >/dev/null
npx sotto --profile "$WORK/b" register --relay "http://127.0.0.1:$PORT" --username "${name}b" >/dev/null
npx sotto --profile "$WORK/a" send "${name}b" "through the image $RUN_ID" >/dev/null
got=$(npx sotto --profile "$WORK/b" receive --timeout 2 --json)
case "$got" in *"through the image $RUN_ID"*) echo "${name}b received ${name}a's message" ;; *) fail "not received: $got" ;; esac

step "docker stop: a clean shutdown"
docker stop "relay-check-$RUN_ID" >/dev/null
code=$(docker inspect -f '{{.State.ExitCode}}' "relay-check-$RUN_ID")
[ "$code" = 0 ] || { docker logs "relay-check-$RUN_ID" 2>&1 | tail -5 >&2; fail "exit code $code after docker stop"; }
docker logs "relay-check-$RUN_ID" 2>&1 | grep -q '"relay stopped"' || fail "no 'relay stopped' in its log"
echo "exit code 0, 'relay stopped' logged"

step "embedded: no DATABASE_URL, PGlite in the /data volume"
docker run -d --name "relay-check-embedded-$RUN_ID" --network=host -e PORT=$((PORT + 1)) -e HOST=127.0.0.1 "$IMAGE" >/dev/null
ready=""
for _ in $(seq 1 60); do
  ready=$(curl -fsS "http://127.0.0.1:$((PORT + 1))/readyz" 2>/dev/null) && break
  sleep 1
done
case "$ready" in *'"postgres":"ok"'*) echo "readyz: $ready" ;; *) fail "embedded relay not ready: $ready" ;; esac

printf '\nrelay image check passed\n'
