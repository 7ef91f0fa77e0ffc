#!/usr/bin/env bash
# Start or stop the real services the test suite uses: a private Docker engine (Debian's
# docker.io) and a container registry on 127.0.0.1:5000 (Debian's docker-registry).
#
#   scripts/services.sh start   install what is missing, start both, print the env to export
#   scripts/services.sh stop    stop both and remove their state
#
# The engine runs with no bridge and no iptables/NAT changes (containers use --network host or
# none), with its data, exec root and socket under one state directory, so nothing on the host
# firewall or in /var/lib/docker is touched. Needs root (apt-get, dockerd).
set -euo pipefail

STATE_DIR=${ZHR_SERVICES_DIR:-/tmp/zhr-services}
REGISTRY_ADDR=${ZHR_REGISTRY_ADDR:-127.0.0.1:5000}
SOCK="$STATE_DIR/docker.sock"

log() { printf '[services] %s\n' "$*" >&2; }

install_missing() {
  local need=()
  command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
  command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
  [ -x /usr/sbin/debootstrap ] || need+=(debootstrap)
  command -v busybox >/dev/null 2>&1 || need+=(busybox-static)
  # Sandboxes process-runtime Spaces like Hub containers (tests require it in CI).
  command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
  if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  log "$what did not come up within ${secs}s"
  return 1
}

start_docker() {
  mkdir -p "$STATE_DIR/docker-data" "$STATE_DIR/docker-exec"
  if [ -S "$SOCK" ] && DOCKER_HOST="unix://$SOCK" docker version >/dev/null 2>&1; then
    log "docker engine already running at unix://$SOCK"
    return 0
  fi
  log "starting dockerd (unix://$SOCK)"
  nohup dockerd \
    --storage-driver=overlay2 --iptables=false --ip-forward=false --ip-masq=false \
    --bridge=none --data-root "$STATE_DIR/docker-data" --exec-root "$STATE_DIR/docker-exec" \
    --pidfile "$STATE_DIR/dockerd.pid" -H "unix://$SOCK" \
    --insecure-registry "$REGISTRY_ADDR" \
    >"$STATE_DIR/dockerd.log" 2>&1 &
  if ! wait_for 60 "dockerd" env DOCKER_HOST="unix://$SOCK" docker version; then
    tail -n 30 "$STATE_DIR/dockerd.log" >&2 || true
    return 1
  fi
}

start_registry() {
  mkdir -p "$STATE_DIR/registry-data"
  if curl -fsS "http://$REGISTRY_ADDR/v2/" >/dev/null 2>&1; then
    log "registry already answering at $REGISTRY_ADDR"
    return 0
  fi
  cat >"$STATE_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  log "starting docker-registry on $REGISTRY_ADDR"
  nohup docker-registry serve "$STATE_DIR/registry.yml" >"$STATE_DIR/registry.log" 2>&1 &
  echo $! >"$STATE_DIR/registry.pid"
  if ! wait_for 30 "docker-registry" curl -fsS "http://$REGISTRY_ADDR/v2/"; then
    tail -n 30 "$STATE_DIR/registry.log" >&2 || true
    return 1
  fi
}

stop_pidfile() {  # stop_pidfile FILE NAME
  local file=$1 name=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

case "${1:-}" in
  start)
    install_missing
    start_docker
    start_registry
    echo "export DOCKER_HOST=unix://$SOCK"
    echo "export ZHR_TEST_REGISTRY=$REGISTRY_ADDR"
    ;;
  stop)
    if [ -S "$SOCK" ]; then
      ids=$(DOCKER_HOST="unix://$SOCK" docker ps -aq 2>/dev/null || true)
      [ -z "$ids" ] || DOCKER_HOST="unix://$SOCK" docker rm -f $ids >/dev/null 2>&1 || true
    fi
    stop_pidfile "$STATE_DIR/registry.pid" docker-registry
    stop_pidfile "$STATE_DIR/dockerd.pid" dockerd
    # containerd-shims and overlay mounts go with the engine; then the state can go too.
    grep -o "$STATE_DIR/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf "$STATE_DIR"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
