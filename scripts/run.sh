#!/usr/bin/env bash
# `make run`: migrate, load the demo, start a Celery worker on both job queues (with its beat
# for the periodic sweep) and Daphne on the embedded defaults unless DATABASE_URL/REDIS_URL say
# otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
# Safe by default: error pages without tracebacks. `DEBUG=true make run` turns debug on.
export DEBUG=${DEBUG:-false}
mkdir -p var/log

.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py seed_demo

.venv/bin/celery -A studio worker -B -Q default,audio -c 1 -P prefork -l warning \
  --schedule var/celerybeat-schedule >var/log/worker.log 2>&1 &
WORKER=$!
trap 'kill $WORKER 2>/dev/null || true; wait $WORKER 2>/dev/null || true' EXIT INT TERM

echo
echo "Studio is running at http://$HOST:$PORT/   (API docs: http://$HOST:$PORT/api/docs/)"
echo "Worker log: var/log/worker.log. Debug mode: $DEBUG (DEBUG=true make run for tracebacks)."
echo "Stop with Ctrl-C."
echo
.venv/bin/python -m studio.serve -b "$HOST" -p "$PORT" --websocket_connect_timeout 30 studio.asgi:application
