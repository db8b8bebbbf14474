#!/usr/bin/env bash
# Builds localhost/berth:dev, the one image that runs every Berth program (berth-model-server,
# berth-sidecar, berth-router, berthd), without a registry: a root filesystem assembled here and
# handed to `docker import`.
#
# What goes in: this machine's node binary and the shared libraries it and the native addons
# need (from ldd), /bin/sh for the entrypoint wrappers, minimal /etc, and the repository's
# runtime files under /berth: each app's and package's package.json, src/ and proto/, plus the
# production dependency tree as `npm ls --omit=dev` lists it (tsx included: the apps run from
# their TypeScript sources, exactly as in development, so nothing is bundled and nothing can
# differ between the image and a checkout). onnxruntime-node keeps only its linux/x64 binaries.
#
# Idempotent: the image carries a hash of its inputs (label berth.dev/inputs-hash); when the
# image exists with the same hash nothing is rebuilt. BERTH_IMAGE overrides the tag; --force
# rebuilds anyway. Prints the image reference on stdout; progress goes to stderr.
set -euo pipefail

IMAGE="${BERTH_IMAGE:-localhost/berth:dev}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
# Test files and CI may build at once: one build at a time, the others then find it up to date.
exec 9>"${TMPDIR:-/tmp}/berth-image-build.lock"
flock 9
cd "$ROOT"
log() { echo "image: $*" >&2; }
started=$(date +%s)

command -v docker >/dev/null || { log "docker (the CLI) is not installed"; exit 1; }
docker info >/dev/null 2>&1 || { log "the Docker engine does not answer (bash scripts/ci/start-docker.sh starts one)"; exit 1; }

NODE="$(readlink -f "$(command -v node)")"
WORKSPACES=(apps/model-server apps/sidecar apps/router apps/control-plane apps/cli packages/api packages/core packages/repository packages/backends)
# The parts of a workspace that run; tests, benchmarks and build output stay out.
workspace_files() {
  for ws in "${WORKSPACES[@]}"; do
    [ -d "$ws" ] || continue
    for part in package.json src proto bin; do if [ -e "$ws/$part" ]; then echo "$ws/$part"; fi; done
  done
}

# ---- skip when nothing changed -------------------------------------------------------------------
HASH="$(
  {
    echo "node $NODE $("$NODE" --version)"
    sha256sum "$0" package.json package-lock.json
    workspace_files | xargs -I{} find {} -type f -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-32
)"
if [ "$FORCE" = 0 ]; then
  have="$(docker image inspect --format '{{ index .Config.Labels "berth.dev/inputs-hash" }}' "$IMAGE" 2>/dev/null || true)"
  if [ "$have" = "$HASH" ]; then
    log "$IMAGE is up to date (inputs $HASH)"
    echo "$IMAGE"
    exit 0
  fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/berth-image.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
RFS="$WORK/rootfs"
mkdir -p "$RFS"/{berth,bin,usr/bin,usr/local/bin,etc,tmp,var/cache/berth,models,lib64}
chmod 1777 "$RFS/tmp"

# ---- the repository's runtime files -------------------------------------------------------------
log "collecting production dependencies (npm ls --omit=dev)"
{
  workspace_files
  # npm ls exits non-zero on any problem in the tree (a workspace mid-edit); its list still stands.
  { npm ls --omit=dev --all --parseable 2>/dev/null || true; } | sed "s|^$ROOT/||" | grep '^\(.*/\)\?node_modules/' | sort -u
  echo package.json
} > "$WORK/files"
tar -C "$ROOT" -c \
  --exclude='onnxruntime-node/bin/napi-v*/darwin' --exclude='onnxruntime-node/bin/napi-v*/win32' \
  --exclude='onnxruntime-node/bin/napi-v*/linux/arm64' \
  --exclude='*.md' --exclude='*.map' --exclude='*.d.ts' \
  --exclude='better-sqlite3/deps' --exclude='better-sqlite3/src' \
  -T "$WORK/files" \
  | tar -C "$RFS/berth" -x

# ---- node, sh and the shared libraries they and the native addons load --------------------------
cp "$NODE" "$RFS/usr/bin/node"
SH="$(readlink -f /bin/sh)"
cp "$SH" "$RFS/bin/sh"
{
  ldd "$NODE" "$SH"
  find "$RFS/berth" \( -name '*.node' -o -name '*.so' -o -name '*.so.*' \) -type f -exec ldd {} \; 2>/dev/null
} | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | grep -v "^$RFS/" | sort -u > "$WORK/libs"
while read -r lib; do
  # The path the loader asks for, holding the file it points at. (Libraries the addons carry
  # beside themselves resolve inside the rootfs already and are left out above.)
  mkdir -p "$RFS$(dirname "$lib")"
  cp -L "$lib" "$RFS$lib"
done < "$WORK/libs"

# ---- /etc and the entrypoints -------------------------------------------------------------------
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n' > "$RFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$RFS/etc/group"
printf 'hosts: files dns\n' > "$RFS/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$RFS/etc/hosts"
TSX="/berth/node_modules/tsx/dist/loader.mjs"
[ -f "$RFS$TSX" ] || { log "tsx is missing from the production dependencies"; exit 1; }
entry() { # name, main (relative to /berth)
  printf '#!/bin/sh\nexec /usr/bin/node --import %s /berth/%s "$@"\n' "$TSX" "$2" > "$RFS/usr/local/bin/$1"
  chmod 755 "$RFS/usr/local/bin/$1"
}
entry berth-model-server apps/model-server/src/main.ts
entry berth-sidecar apps/sidecar/src/main.ts
entry berth-router apps/router/src/main.ts
entry berthd apps/control-plane/src/main.ts
entry berth apps/cli/src/main.ts

# ---- import -------------------------------------------------------------------------------------
log "importing $(du -sh "$RFS" | cut -f1) as $IMAGE"
tar -C "$RFS" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change 'ENV NODE_ENV=production' \
  --change 'WORKDIR /berth' \
  --change 'ENTRYPOINT []' \
  --change 'CMD ["berth-model-server", "--help"]' \
  --change "LABEL berth.dev/inputs-hash=$HASH" \
  --change "LABEL org.opencontainers.image.title=berth" \
  - "$IMAGE-cold" >/dev/null
# Every program compiles its TypeScript once (tsx caches the output under /tmp/tsx-0): do it here,
# so that containers start from a warm cache instead of each compiling everything again.
log "warming the tsx cache"
warm="$(docker create --network none "$IMAGE-cold" /bin/sh -c \
  'for p in berth-model-server berth-sidecar berth-router berthd berth; do $p --help >/dev/null 2>&1; done; true')"
docker start -a "$warm" >/dev/null
docker commit --change 'CMD ["berth-model-server", "--help"]' "$warm" "$IMAGE" >/dev/null
docker rm "$warm" >/dev/null
docker rmi "$IMAGE-cold" >/dev/null
log "built $IMAGE in $(( $(date +%s) - started )) s ($(docker image inspect --format '{{ .Size }}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
echo "$IMAGE"
