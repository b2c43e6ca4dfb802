#!/usr/bin/env sh
# htmx for the image (Dockerfile): the build context's static/htmx.min.js when it has the pinned
# sha256, so a build without network needs no npm; else fetch it from npm with fetch-htmx.sh.
set -eu
dest="$1"
expected="$(cut -d' ' -f1 static/htmx.sha256)"
if [ -f static/htmx.min.js ] && [ "$(sha256sum static/htmx.min.js | cut -d' ' -f1)" = "$expected" ]; then
  cp static/htmx.min.js "$dest"
  echo "htmx from the build context -> ${dest} (sha256 ok)"
else
  sh scripts/fetch-htmx.sh "$dest"
fi
