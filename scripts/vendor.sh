#!/usr/bin/env bash
# `make vendor`: install the pinned front-end libraries from npm (package-lock.json, no install
# scripts) and copy their dist files and licences into static/vendor/<pkg>/. The copies are
# committed, so the app runs on a fresh machine without npm; `make lint` may re-run this and diff.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "vendor: npm is needed (apt-get install npm)" >&2; exit 1; }
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

NM=node_modules
OUT=static/vendor
rm -rf "$OUT"
mkdir -p "$OUT/htmx.org" "$OUT/wavesurfer.js/plugins" "$OUT/tus-js-client" "$OUT/swagger-ui-dist"

cp "$NM/htmx.org/dist/htmx.min.js" "$NM/htmx.org/LICENSE" "$OUT/htmx.org/"
cp "$NM/wavesurfer.js/dist/wavesurfer.esm.js" "$NM/wavesurfer.js/LICENSE" "$OUT/wavesurfer.js/"
cp "$NM/wavesurfer.js/dist/plugins/regions.esm.js" "$OUT/wavesurfer.js/plugins/"
cp "$NM/tus-js-client/dist/tus.min.js" "$NM/tus-js-client/LICENSE" "$OUT/tus-js-client/"
# tus.min.js bundles its dependencies; keep their licences beside it.
for dep in js-base64 url-parse querystringify requires-port combine-errors custom-error-instance \
  lodash.throttle lodash.uniqby; do
  for f in "$NM/$dep"/LICENSE*; do
    [ -e "$f" ] && cp "$f" "$OUT/tus-js-client/LICENSE.$dep"
  done
done
# Swagger UI for /api/docs/ (drf-spectacular's SWAGGER_UI_DIST points here: no CDN).
cp "$NM/swagger-ui-dist/swagger-ui-bundle.js" "$NM/swagger-ui-dist/swagger-ui-standalone-preset.js" \
  "$NM/swagger-ui-dist/swagger-ui.css" "$NM/swagger-ui-dist/LICENSE" "$NM/swagger-ui-dist/NOTICE" \
  "$OUT/swagger-ui-dist/"
sed -i '/sourceMappingURL=/d' "$OUT/swagger-ui-dist/"*.js "$OUT/swagger-ui-dist/swagger-ui.css"
# The source-map comment points at a file we do not ship: drop it (Chromium logs a 404 in DevTools).
sed -i '/^\/\/# sourceMappingURL=/d' "$OUT/tus-js-client/tus.min.js"

{
  echo "# Written by scripts/vendor.sh from package-lock.json; do not edit by hand."
  for pkg in htmx.org wavesurfer.js tus-js-client swagger-ui-dist; do
    node -e "const p=require('./$NM/$pkg/package.json');console.log(p.name+' '+p.version+' '+p.license)"
  done
} >"$OUT/VERSIONS.txt"
echo "vendor: wrote $OUT"; cat "$OUT/VERSIONS.txt"
