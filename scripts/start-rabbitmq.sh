#!/usr/bin/env bash
# Installs (if missing) and starts a local RabbitMQ from Debian's rabbitmq-server,
# then waits until it accepts AMQP connections on localhost:5672.
set -euo pipefail

if ! command -v rabbitmq-server >/dev/null 2>&1; then
  echo "[rabbitmq] installing Debian's rabbitmq-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d stops the package's own start attempt, which fails without systemd.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq rabbitmq-server >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

# The management plugin serves the queue's counts per priority (AMQP has none); enabled on a running node too.
enable_management() {
  rabbitmq-plugins -q enable rabbitmq_management >/dev/null
  for i in $(seq 1 30); do
    if rabbitmq-diagnostics -q check_port_listener 15672 >/dev/null 2>&1; then
      return 0
    fi
    sleep 1
  done
  echo "[rabbitmq] the management plugin did not listen on 15672 within 30 s" >&2
  return 1
}

if rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
  echo "[rabbitmq] already running"
  enable_management
  exit 0
fi

echo "[rabbitmq] starting"
mkdir -p /var/log/rabbitmq /var/lib/rabbitmq
chown -R rabbitmq:rabbitmq /var/log/rabbitmq /var/lib/rabbitmq 2>/dev/null || true
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
  su rabbitmq -s /bin/sh -c 'rabbitmq-server -detached' || true
else
  rabbitmq-server -detached || true
fi

for i in $(seq 1 90); do
  if rabbitmq-diagnostics -q check_port_connectivity >/dev/null 2>&1; then
    echo "[rabbitmq] ready after ${i}s"
    enable_management
    exit 0
  fi
  sleep 1
done
echo "[rabbitmq] did not start within 90 s" >&2
tail -n 50 /var/log/rabbitmq/*.log >&2 || true
exit 1
