#!/usr/bin/env bash
# Starts one more RabbitMQ node on this machine, beside the main one (scripts/start-rabbitmq.sh), from the same Debian
# package: its own node name, AMQP port, distribution port, management port, data and log folders. Tests that raise a
# memory alarm or stop the broker use it, so the other tests on the main node are not disturbed.
#   usage: start-rabbitmq-node.sh [name] [amqp-port] [management-port]   (default: taskbus-alarm 5681 15681)
set -euo pipefail
name=${1:-taskbus-alarm}
port=${2:-5681}
management=${3:-15681}
node="${name}@localhost"
base="/var/lib/rabbitmq/nodes/${name}"

command -v rabbitmq-server >/dev/null 2>&1 || bash "$(dirname "$0")/start-rabbitmq.sh"

if rabbitmqctl -q -n "$node" status >/dev/null 2>&1; then
  echo "[rabbitmq ${name}] already running on ${port}"
  rabbitmqctl -q -n "$node" start_app >/dev/null 2>&1 || true
  rabbitmqctl -q -n "$node" set_vm_memory_high_watermark 0.4 >/dev/null 2>&1 || true
  exit 0
fi

echo "[rabbitmq ${name}] starting on ${port} (management ${management})"
mkdir -p "${base}/mnesia" "${base}/log"
chown -R rabbitmq:rabbitmq "${base}" 2>/dev/null || true
env_vars="RABBITMQ_NODENAME=${node} RABBITMQ_NODE_PORT=${port} RABBITMQ_DIST_PORT=$((port + 20000)) \
RABBITMQ_MNESIA_BASE=${base}/mnesia RABBITMQ_LOG_BASE=${base}/log RABBITMQ_PID_FILE=${base}/pid \
RABBITMQ_SERVER_START_ARGS='-rabbitmq_management tcp_config [{port,${management}}]'"
if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
  su rabbitmq -s /bin/sh -c "${env_vars} rabbitmq-server -detached" || true
else
  sh -c "${env_vars} rabbitmq-server -detached" || true
fi

for i in $(seq 1 90); do
  if rabbitmq-diagnostics -q -n "$node" check_port_listener "$port" >/dev/null 2>&1 \
    && rabbitmq-diagnostics -q -n "$node" check_port_listener "$management" >/dev/null 2>&1; then
    echo "[rabbitmq ${name}] ready after ${i}s: amqp://guest:guest@localhost:${port}/"
    exit 0
  fi
  sleep 1
done
echo "[rabbitmq ${name}] did not start within 90 s" >&2
tail -n 50 "${base}"/log/*.log >&2 || true
exit 1
