#!/usr/bin/env bash
# Starts a local Docker engine for the Docker backend's tests and prints its socket on stdout
# (only the socket: callers capture it). Idempotent: installs Debian's docker.io when dockerd is
# missing, starts dockerd when its socket does not answer, waits until it does. The engine runs
# without iptables and without a bridge (this machine allows neither): containers use the host
# network, which is what the backend asks for. Progress goes to stderr; dockerd logs to
# $BERTH_DOCKERD_LOG (default /tmp/dockerd.log).
set -euo pipefail

# Test files start in parallel and may all call this at once.
exec 9>"${TMPDIR:-/tmp}/berth-start-docker.lock"
flock 9

SOCKET="${BERTH_DOCKER_SOCKET:-/var/run/docker.sock}"
LOG="${BERTH_DOCKERD_LOG:-/tmp/dockerd.log}"

log() { echo "start-docker: $*" >&2; }

# The engine answers /_ping with OK; a stale socket file does not.
answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET" http://localhost/_ping >/dev/null 2>&1; }

if answers; then
  echo "$SOCKET"
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    log "dockerd is not installed and this user cannot install it (run as root, or apt-get install docker.io)"
    exit 1
  fi
  log "installing Debian's docker.io (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq docker.io >&2
fi
command -v curl >/dev/null 2>&1 || { log "curl is needed to check the engine"; exit 1; }

if [ "$(id -u)" != 0 ]; then
  log "the engine is not running at $SOCKET and only root can start dockerd here"
  exit 1
fi

log "starting dockerd (host network only; log: $LOG)"
rm -f "$SOCKET"
# fd 9 (the lock) must not live on in dockerd, or every later caller waits forever.
setsid dockerd --iptables=false --ip6tables=false --bridge=none --host "unix://$SOCKET" >"$LOG" 2>&1 </dev/null 9>&- &

for _ in $(seq 1 150); do
  answers && break
  sleep 0.2
done
answers || { log "dockerd did not answer at $SOCKET within 30 s; the end of $LOG:"; tail -n 20 "$LOG" >&2; exit 1; }

echo "$SOCKET"
