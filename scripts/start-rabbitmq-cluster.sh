#!/usr/bin/env bash
# Starts a three-node RabbitMQ cluster on this machine from Debian's package (no Docker), beside the main node:
# nodes taskbus-c1, taskbus-c2, taskbus-c3 on AMQP ports 5701, 5702, 5703 (management 15701-15703, distribution
# 25701-25703), each with its own data and log folders (scripts/start-rabbitmq-node.sh), then c2 and c3 join c1.
# Run again, it starts the nodes that are down; a node that was a member rejoins by itself.
#   usage: start-rabbitmq-cluster.sh
#   then:  TaskBus:RabbitMQ:Url=amqp://guest:guest@localhost:5701/  TaskBus:RabbitMQ:Nodes=localhost:5701,localhost:5702,localhost:5703
set -euo pipefail
here="$(dirname "$0")"
first="taskbus-c1@localhost"

for i in 1 2 3; do
  bash "${here}/start-rabbitmq-node.sh" "taskbus-c${i}" "570${i}" "1570${i}"
done

for i in 2 3; do
  node="taskbus-c${i}@localhost"
  if rabbitmqctl -q -n "$first" cluster_status 2>/dev/null | grep -q "$node"; then
    continue
  fi
  echo "[rabbitmq cluster] ${node} joins ${first}"
  { rabbitmqctl -q -n "$node" stop_app && rabbitmqctl -q -n "$node" reset && rabbitmqctl -q -n "$node" join_cluster "$first" && rabbitmqctl -q -n "$node" start_app; } >"/tmp/taskbus-cluster-join.log" 2>&1 \
    || { cat /tmp/taskbus-cluster-join.log >&2; echo "[rabbitmq cluster] ${node} could not join ${first}" >&2; exit 1; }
done

for s in $(seq 1 60); do
  running=$(rabbitmqctl -q -n "$first" eval 'length(rabbit_nodes:all_running()).' 2>/dev/null || echo 0)
  if [ "$running" = "3" ]; then
    echo "[rabbitmq cluster] 3 nodes running: amqp://guest:guest@localhost:5701/ (and 5702, 5703)"
    exit 0
  fi
  sleep 1
done
echo "[rabbitmq cluster] the three nodes did not come up together within 60 s" >&2
rabbitmqctl -n "$first" cluster_status >&2 || true
exit 1
