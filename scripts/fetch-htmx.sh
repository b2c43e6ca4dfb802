#!/usr/bin/env sh
# Fetch htmx from the npm package htmx.org into static/ and check it against the pinned sha256.
# The file is not committed: this script is the single source of it (make, Dockerfile).
set -eu
version="$(cut -d' ' -f1 static/htmx.version)"
expected="$(cut -d' ' -f1 static/htmx.sha256)"
dest="${1:-static/htmx.min.js}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack "htmx.org@${version}" --silent >/dev/null )
tar -xzf "$work"/htmx.org-"${version}".tgz -C "$work" package/dist/htmx.min.js
actual="$(sha256sum "$work/package/dist/htmx.min.js" | cut -d' ' -f1)"
if [ "$actual" != "$expected" ]; then
  echo "htmx.org@${version}: sha256 $actual does not match the pinned $expected" >&2
  exit 1
fi
mv "$work/package/dist/htmx.min.js" "$dest"
echo "htmx ${version} -> ${dest} (sha256 ok)"
