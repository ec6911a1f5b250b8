#!/usr/bin/env bash
# Starts a three-node RabbitMQ cluster on this machine from Debian's package (no Docker), beside the main node:
# nodes taskbus-c1, taskbus-c2, taskbus-c3 on AMQP ports 5701, 5702, 5703 (management 15701-15703, distribution
# 25701-25703), each with its own data and log folders (scripts/start-rabbitmq-node.sh), then c2 and c3 join c1.
#
# It is a cluster for tests and benchmarks, and its data is disposable:
# - none of the three runs (a fresh machine, or one whose nodes were stopped or killed): their data folders are
#   emptied and a new cluster is formed. A clustered node that restarts waits (up to 5 minutes) for the peer that
#   stopped last; started one by one from old data, the first never comes up.
# - some run: the others are started, all at once, and rejoin from their data.
#   usage: start-rabbitmq-cluster.sh
#   then:  TaskBus:RabbitMQ:Url=amqp://guest:guest@localhost:5701/  TaskBus:RabbitMQ:Nodes=localhost:5701,localhost:5702,localhost:5703
set -euo pipefail
here="$(dirname "$0")"
first="taskbus-c1@localhost"

command -v rabbitmq-server >/dev/null 2>&1 || bash "${here}/start-rabbitmq.sh"

running() { rabbitmqctl -q -n "taskbus-c$1@localhost" status >/dev/null 2>&1; }

down=()
for i in 1 2 3; do running "$i" || down+=("$i"); done

if [ "${#down[@]}" = 3 ]; then
  for i in 1 2 3; do
    base="/var/lib/rabbitmq/nodes/taskbus-c${i}"
    # A node still booting (waiting for its peers' tables) answers no status: stop its VM before its data goes.
    if [ -f "${base}/pid" ]; then
      pid=$(cat "${base}/pid" 2>/dev/null || true)
      # Only that node's Erlang VM: a pid file left from another boot may name some other process now.
      if [ -n "$pid" ] && { tr '\0' '\n' <"/proc/${pid}/environ"; } 2>/dev/null | grep -qx "RABBITMQ_NODENAME=taskbus-c${i}@localhost"; then
        kill -9 "$pid" 2>/dev/null || true
        # Gone before its name, ports and data are used again.
        for w in $(seq 1 50); do [ -e "/proc/${pid}" ] || break; sleep 0.2; done
      fi
    fi
    if [ -d "${base}/mnesia" ]; then
      echo "[rabbitmq cluster] taskbus-c${i}: none of the nodes runs, starting from empty data"
      rm -rf "${base}/mnesia" "${base}/pid"
    fi
  done
fi

# Started together: a node with cluster data needs its peers up to finish booting.
pids=()
logs=()
for i in "${down[@]}"; do
  log="$(mktemp)"
  bash "${here}/start-rabbitmq-node.sh" "taskbus-c${i}" "570${i}" "1570${i}" >"$log" 2>&1 &
  pids+=("$!")
  logs+=("$log")
done
failed=0
for k in "${!pids[@]}"; do
  wait "${pids[$k]}" || failed=1
  cat "${logs[$k]}"
  rm -f "${logs[$k]}"
done
[ "$failed" = 0 ] || { echo "[rabbitmq cluster] a node did not start" >&2; exit 1; }

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
  count=$(rabbitmqctl -q -n "$first" eval 'length(rabbit_nodes:all_running()).' 2>/dev/null || echo 0)
  if [ "$count" = "3" ]; then
    echo "[rabbitmq cluster] 3 nodes running: amqp://guest:guest@localhost:5701/ (and 5702, 5703)"
    exit 0
  fi
  sleep 1
done
echo "[rabbitmq cluster] the three nodes did not come up together within 60 s" >&2
rabbitmqctl -n "$first" cluster_status >&2 || true
exit 1
