#!/usr/bin/env bash
# `make prod-smoke`: the production topology of docker/compose.yaml started from distribution
# packages and the venv (scripts/prod/stack.py), and a user's journey driven through nginx
# over TLS (tests/prod/test_journey.py). Installs what is missing with apt-get; everything it
# starts runs on free ports with its own folders under var/prod-smoke and stops at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi

missing=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "prod-smoke: installing ${missing[*]} with apt-get" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The distribution's own nginx service is not used (nor started by the install where systemd
# runs): the smoke starts a private one on a free port.

# The pytest process itself needs no services: it drives the stack over HTTP and websockets.
exec env -u DATABASE_URL -u REDIS_URL STUDIO_VAR_DIR="$PWD/var/prod-smoke-pytest" \
  SECRET_KEY=prod-smoke-client-only .venv/bin/pytest -m prod tests/prod -q "$@"
