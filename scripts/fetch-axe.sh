#!/usr/bin/env sh
# Fetch axe-core (the accessibility engine the browser tests inject) from its npm package and check
# it against the pinned sha256. Tests only: the app never serves it, and the file is not committed.
set -eu
pins="tests/browser"
version="$(cut -d' ' -f1 "$pins/axe.version")"
expected="$(cut -d' ' -f1 "$pins/axe.sha256")"
dest="${1:-.cache/axe.min.js}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
( cd "$work" && npm pack "axe-core@${version}" --silent >/dev/null )
tar -xzf "$work"/axe-core-"${version}".tgz -C "$work" package/axe.min.js
actual="$(sha256sum "$work/package/axe.min.js" | cut -d' ' -f1)"
if [ "$actual" != "$expected" ]; then
  echo "axe-core@${version}: sha256 $actual does not match the pinned $expected" >&2
  exit 1
fi
mkdir -p "$(dirname "$dest")"
mv "$work/package/axe.min.js" "$dest"
echo "axe-core ${version} -> ${dest} (sha256 ok)"
