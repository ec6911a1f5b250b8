#!/usr/bin/env bash
# Runs every test: starts (installing if needed) a local RabbitMQ, a second RabbitMQ node of the tests that raise
# alarms or stop the broker (port 5681), a three-node RabbitMQ cluster (ports 5701-5703) of the tests of quorum
# queues, a node lost and shards, and PostgreSQL, installs chromium for the
# dashboard's browser tests, then the whole solution's tests.
# Prints one closing line "tests: N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/start-rabbitmq.sh || { echo "tests: 0 passed, 1 failed (RabbitMQ did not start)"; exit 1; }
bash scripts/start-rabbitmq-node.sh taskbus-alarm 5681 15681 || { echo "tests: 0 passed, 1 failed (the second RabbitMQ node did not start)"; exit 1; }
bash scripts/start-rabbitmq-cluster.sh || { echo "tests: 0 passed, 1 failed (the three-node RabbitMQ cluster did not start)"; exit 1; }
bash scripts/start-postgres.sh || { echo "tests: 0 passed, 1 failed (PostgreSQL did not start)"; exit 1; }
bash scripts/install-chromium.sh || { echo "tests: 0 passed, 1 failed (chromium could not be installed)"; exit 1; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
# A test that hangs is stopped after 10 minutes and named, instead of using up CI's time; xunit also names
# any test running longer than a minute or two (xunit.runner.json).
dotnet test Bus.sln --nologo --blame-hang-timeout 10m --blame-hang-dump-type none "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test ends each assembly with "Passed!  - Failed: 0, Passed: 128, Skipped: 0, ...".
passed=$(grep -oE 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1  # the build or the runner failed before any test could
fi
rm -f "$log"
echo "tests: ${passed} passed, ${failed} failed"
exit "$status"
