#!/usr/bin/env bash
# House rules no linter knows (STYLE.md section 2): where some calls may appear.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
rule() {  # rule <description> <pattern> <allowed path regex>
  local found
  found=$(grep -rnE --include='*.py' "$2" studio sessions audio 2>/dev/null \
    | grep -vE "^($3)" | grep -v "/migrations/" || true)
  if [ -n "$found" ]; then
    echo "lint-rules: $1:"; echo "$found"; status=1
  fi
}
rule "channels.layers is imported only in sessions/broadcast.py" \
  "from channels.layers|import channels.layers|get_channel_layer" "sessions/broadcast.py"
rule "Event rows are created only by sessions/events.py" \
  "Event\.objects\.(create|bulk_create)" "sessions/events.py"
rule "Celery tasks are enqueued only from services" \
  "\.(delay|delay_on_commit|apply_async)\(" "(studio|sessions|audio)/services(/|\.py)"
found=$(grep -rnE --include='*.py' \
  "^\s*(from|import) (django|celery|channels|rest_framework|studio|sessions)\b" audio/engine || true)
if [ -n "$found" ]; then
  echo "lint-rules: the audio engine never imports Django, Celery, Channels, DRF or the project:"
  echo "$found"; status=1
fi
exit $status
