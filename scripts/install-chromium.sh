#!/usr/bin/env bash
# Installs (if missing) Debian's chromium, the browser the dashboard tests drive through Playwright
# (Playwright's own browser download is not reachable from CI).
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "[chromium] installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
chromium --version
