#!/usr/bin/env bash
# Starts the real single-node Kubernetes cluster the Kubernetes backend's tests run against, and
# prints `KUBECONFIG=<path>` on stdout (only that: callers capture it). Idempotent and safe to
# call from several test files at once: Docker engine (scripts/ci/start-docker.sh), the v1.20
# binaries (../shared/k8s/build.sh: about 7 minutes the first time, cached after), the API
# server (start.sh) and the node (start-node.sh), each only when it is not already up; then the
# Berth image (scripts/image/build.sh) when it is missing. Progress goes to stderr.
# Settings: KUBE_DIR (default /tmp/berth-kube), KUBE_PORT (6443), BERTH_K8S_SCRIPTS (../shared/k8s).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
K8S=${BERTH_K8S_SCRIPTS:-$ROOT/../shared/k8s}
export KUBE_DIR=${KUBE_DIR:-/tmp/berth-kube}
PORT=${KUBE_PORT:-6443}
KC=$KUBE_DIR/admin.kubeconfig
log() { echo "start-kube: $*" >&2; }

exec 8>"${TMPDIR:-/tmp}/berth-start-kube.lock"
flock 8

[ -x "$K8S/build.sh" ] || { log "no cluster scripts at $K8S"; exit 1; }
started=$(date +%s)

# The lock fd (8) must not leak into the daemons the scripts start, or it stays held forever.
"$ROOT/scripts/ci/start-docker.sh" 8>&- >/dev/null

# build.sh installs Debian's kubernetes-client (kubectl 1.20). Some images already carry another
# package's /usr/bin/kubectl (Google Cloud SDK's, v1.32), which dpkg refuses to overwrite, so
# build.sh's apt-get fails. Install kubernetes-client over it and put the original back: Debian's
# kubectl 1.20 built with Go 1.19 crashes in `kubectl config set-credentials` (reflect2), which
# start.sh runs, and the newer kubectl renders kustomize v5.
if ! dpkg -s kubernetes-client >/dev/null 2>&1 && [ -e /usr/bin/kubectl ] && dpkg -S /usr/bin/kubectl >/dev/null 2>&1; then
  log "installing kubernetes-client beside $(dpkg -S /usr/bin/kubectl | cut -d: -f1)'s kubectl (kept)"
  saved=$(mktemp -d); cp -a /usr/bin/kubectl "$saved/kubectl"
  install_client() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-overwrite kubernetes-client >&2; }
  install_client || { apt-get update -qq >&2 && install_client; }
  cp -a "$saved/kubectl" /usr/bin/kubectl.berth-saved && mv -f /usr/bin/kubectl.berth-saved /usr/bin/kubectl; rm -rf "$saved"
fi

t=$(date +%s); "$K8S/build.sh" >&2; log "binaries ready ($(( $(date +%s) - t )) s)"

api_up() { [ "$(curl -sk --max-time 2 "https://127.0.0.1:$PORT/readyz" -H 'Authorization: Bearer admintoken' 2>/dev/null)" = ok ]; }
node_ready() { kubectl --kubeconfig "$KC" get node "${NODE_NAME:-berth-node}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True; }
alive() { [ -f "$KUBE_DIR/$1.pid" ] && kill -0 "$(cat "$KUBE_DIR/$1.pid")" 2>/dev/null; }

if ! api_up || ! alive kcm; then
  t=$(date +%s)
  # Whatever is left of an earlier run (a dead API server, a live etcd) is stopped first.
  [ -d "$KUBE_DIR" ] && "$K8S/stop.sh" 8>&- >&2 || true
  "$K8S/start.sh" 8>&- >/dev/null
  api_up || { log "the API server did not come up; see $KUBE_DIR/logs/apiserver.log"; exit 1; }
  log "API server up ($(( $(date +%s) - t )) s)"
fi
if ! node_ready || ! alive kubelet; then
  t=$(date +%s)
  "$K8S/start-node.sh" 8>&- >&2
  log "node ready ($(( $(date +%s) - t )) s)"
fi
# The default ServiceAccount appears a moment after the namespace; pods need it.
for _ in $(seq 1 60); do kubectl --kubeconfig "$KC" -n default get serviceaccount default >/dev/null 2>&1 && break; sleep 0.5; done

if ! docker image inspect localhost/berth:dev >/dev/null 2>&1; then
  if [ -x "$ROOT/scripts/image/build.sh" ]; then
    t=$(date +%s); "$ROOT/scripts/image/build.sh" 8>&- >&2; log "image localhost/berth:dev built ($(( $(date +%s) - t )) s)"
  else
    log "warning: localhost/berth:dev is missing and scripts/image/build.sh is not there"
  fi
fi
log "cluster ready in $(( $(date +%s) - started )) s"
echo "KUBECONFIG=$KC"
