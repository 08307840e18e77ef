#!/usr/bin/env bash
# The outside oracles some engine tests and benchmarks compare against: ffmpeg (its ebur128
# filter reads loudness and true peak) and sox. Test and benchmark peers only, never the engine.
# Installed with apt-get where missing; a machine that cannot install them still runs the
# suite (those comparisons are then skipped, and this says so).
set -uo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
missing=()
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v sox >/dev/null || missing+=(sox)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "oracles: installing ${missing[*]} with apt-get" >&2
if ! { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    "${missing[@]}" >/dev/null; }; then
  echo "oracles: could not install ${missing[*]}: the tests that compare with them skip that part" >&2
fi
exit 0
