#!/usr/bin/env bash
# Make sure a Docker engine answers. As root on Debian, install docker.io and start the
# daemon with no bridge network and no iptables rules, so that no container ever gets a
# private-range address: benchmark traffic stays on loopback (host networking).
set -euo pipefail

if docker info >/dev/null 2>&1; then
    echo "tierbench: Docker engine answers: $(docker version --format '{{.Server.Version}}')"
    exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<'MSG'
tierbench: no Docker engine answers (`docker info` failed).
  Install Docker Engine (https://docs.docker.com/engine/install/) and start it, or make
  sure your user may talk to it (member of the `docker` group), then run this again.
MSG
    exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "tierbench: installing docker.io from the Debian archive"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

log=${DOCKERD_LOG:-/var/log/tierbench-dockerd.log}
# A process is alive unless gone or a zombie (a killed daemon whose parent never reaped it).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }

running=""
for pid in $(pgrep -x dockerd || true); do
    alive "$pid" && running=$pid
done
if [ -n "$running" ]; then
    echo "tierbench: dockerd (pid $running) is running but does not answer yet; waiting for it"
else
    # A daemon killed without a chance to clean up leaves pid files behind (its own and its
    # containerd's), and a new daemon refuses to start, or waits forever, beside them.
    for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
        if [ -f "$pidfile" ] && ! alive "$(cat "$pidfile")"; then
            rm -f "$pidfile"
        fi
    done
    echo "tierbench: starting dockerd (--bridge=none --iptables=false), log in $log"
    nohup dockerd --bridge=none --iptables=false >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        echo "tierbench: Docker engine answers: $(docker version --format '{{.Server.Version}}')"
        exit 0
    fi
    sleep 0.5
done
echo "tierbench: dockerd did not answer within 30 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
