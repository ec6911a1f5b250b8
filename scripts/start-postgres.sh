#!/usr/bin/env bash
# Installs (if missing) and starts a local PostgreSQL from Debian's postgresql package, then makes
# sure the role and database the tests use exist: taskbus/taskbus, database taskbus, on localhost:5432.
# PostgreSQL refuses to run as root, so the server and psql run as the postgres user.
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "[postgres] installing Debian's postgresql"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq postgresql >/dev/null
  rm -f /usr/sbin/policy-rc.d
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1"/"$2}' | grep -q "^${version}/main$"; then
  echo "[postgres] creating cluster ${version}/main"
  pg_createcluster "$version" main >/dev/null
fi

if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  echo "[postgres] starting ${version}/main"
  pg_ctlcluster "$version" main start
fi

for i in $(seq 1 60); do
  if su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1; then
    break
  fi
  [ "$i" = 60 ] && { echo "[postgres] did not accept connections within 60 s" >&2; exit 1; }
  sleep 1
done

su postgres -c "psql -qAt" <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'taskbus') THEN
    CREATE ROLE taskbus LOGIN PASSWORD 'taskbus' CREATEDB;
  END IF;
END
$$;
-- The tests and the bench drop their own databases WITH (FORCE), which ends the sessions still on them: an
-- autovacuum worker's among them, which only a member of pg_signal_backend may end.
GRANT pg_signal_backend TO taskbus;
SQL
if ! su postgres -c "psql -qAtc \"select 1 from pg_database where datname='taskbus'\"" | grep -q 1; then
  su postgres -c "createdb -O taskbus taskbus"
fi
echo "[postgres] ready: Host=localhost;Username=taskbus;Password=taskbus;Database=taskbus"
