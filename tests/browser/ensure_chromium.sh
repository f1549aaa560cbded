#!/usr/bin/env bash
# Installs the system Chromium used by the browser tests (tests/browser/), if it is missing.
# Playwright's Python package drives it through executable_path=/usr/bin/chromium, so no
# Playwright browser download is needed. Needs root (or sudo) and apt (Debian/Ubuntu).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium fonts-noto-core >/dev/null
echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
