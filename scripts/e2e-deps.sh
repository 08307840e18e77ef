#!/usr/bin/env bash
# Browser tests drive Debian's Chromium (never a downloaded browser): install it where missing.
set -euo pipefail
if ! [ -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" != "0" ] && SUDO="sudo"
  echo "e2e: installing chromium with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
