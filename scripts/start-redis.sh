#!/usr/bin/env bash
# Installs (if missing) and starts a local Redis from Debian's redis-server, for the bench's Hangfire peer
# (the tests do not need it), then waits until it answers PING on localhost:6379.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  echo "[redis] installing Debian's redis-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d stops the package's own start attempt, which fails without systemd.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq redis-server >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

if redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; then
  echo "[redis] already running"
  exit 0
fi

# Daemonized with its own log; no snapshot on disk: the bench's jobs are throwaway.
redis-server --port 6379 --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --logfile /tmp/taskbus-redis.log --dir /tmp
for i in $(seq 1 30); do
  if redis-cli -p 6379 ping 2>/dev/null | grep -q PONG; then
    echo "[redis] ready: localhost:6379"
    exit 0
  fi
  sleep 1
done
echo "[redis] did not answer PING within 30 s; see /tmp/taskbus-redis.log" >&2
exit 1
