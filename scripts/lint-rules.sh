#!/usr/bin/env bash
# House rules no linter knows: which one module may make some calls. A call anywhere else is
# printed with its file and line, and the script exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
read -r -a SOURCES <<<"$(ls -d studio sessions audio eventlog pages 2>/dev/null | tr '\n' ' ')"
rule() {  # rule <description> <pattern> <allowed path regex>
  local found
  found=$(grep -rnE --include='*.py' "$2" "${SOURCES[@]}" 2>/dev/null \
    | grep -vE "^($3):" | grep -v "/migrations/" || true)
  if [ -n "$found" ]; then
    echo "lint-rules: $1:"; echo "$found"; status=1
  fi
}
rule "channels.layers is imported only by the event log's broadcast module" \
  "from channels.layers|import channels.layers|get_channel_layer" "eventlog/broadcast\.py"
rule "Event rows are created only by eventlog/services.py (event_record)" \
  "Event\.objects\.(create|bulk_create|get_or_create|update_or_create)" "eventlog/services\.py"
# Every message to the broker goes through the job runner: job_send (on commit, to the kind's
# queue) and the worker's recovery hook that asks for the sweep.
rule "Celery messages are sent only by the job runner (audio/services/jobs.py, audio/jobs/worker.py)" \
  "\.(delay|delay_on_commit|apply_async|send_task)\(" \
  "audio/services/jobs\.py|audio/jobs/worker\.py"
found=$(grep -rnE --include='*.py' \
  "^\s*(from|import) (django|celery|channels|rest_framework|studio|sessions|eventlog|pages)\b" \
  audio/engine 2>/dev/null || true)
if [ -n "$found" ]; then
  echo "lint-rules: the audio engine never imports Django, Celery, Channels, DRF or the project:"
  echo "$found"; status=1
fi
exit $status
