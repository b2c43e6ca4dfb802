#!/usr/bin/env bash
# make image-check: build the Docker image without a Docker daemon or an image registry, run it,
# and check it from outside the container (health, a demo run page, static files, headers,
# metrics), once as for a laptop and once as for a team (URL prefix + Basic auth).
#
# podman with vfs storage and chroot isolation works on a machine without a daemon or cgroup
# delegation (as root). No registry is reachable, so the base image is Debian bookworm made with
# debootstrap; RUN steps have no network, so pip installs from wheels downloaded here first, and
# htmx comes from static/ (fetched by make, checked against its pinned sha256).
# Everything slow is cached in .cache/image-check (git-ignored): the base rootfs, the wheels and
# podman's image store with its layer cache.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

cache="$PWD/.cache/image-check"
suite=bookworm
# python3-venv for `python3 -m venv`; passwd for useradd (not in minbase), as in python:3.11-slim.
packages=python3,python3-venv,passwd,ca-certificates
base_tag="localhost/lobstr-dash-base:${suite}"
build_tag="localhost/lobstr-dash-build:${suite}"
image="localhost/lobstr-dash:check"
python="${PYTHON:-.venv/bin/python}"
mkdir -p "$cache"

step() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

# -- tools ----------------------------------------------------------------------------------------
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
  step "installing ${need[*]}"
  if [ "$(id -u)" != 0 ]; then
    echo "image-check needs ${need[*]} (apt-get install them, or run as root)" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi

# The daemon-less settings: vfs (no overlay mounts needed), cgroupfs and file events (no systemd).
pm() {
  podman --root "$cache/storage" --runroot "$cache/run" --storage-driver vfs \
    --cgroup-manager cgroupfs --events-backend file "$@"
}

# -- base image: Debian + python3 from debootstrap, cached as a tarball and in the image store -----
rootfs_tar="$cache/${suite}-${packages//,/-}.tar"
if [ ! -s "$rootfs_tar" ]; then
  step "debootstrap ${suite} minbase + ${packages} (one-off, about a minute)"
  rootfs="$cache/rootfs.tmp"
  rm -rf "$rootfs"
  # DEBIAN_MIRROR overrides debootstrap's default mirror.
  debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" ${DEBIAN_MIRROR:+"$DEBIAN_MIRROR"} \
    > "$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" -cf "$rootfs_tar.tmp" . && mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$rootfs"
  pm rmi -f "$base_tag" >/dev/null 2>&1 || true
fi
if ! pm image exists "$base_tag"; then
  step "importing the base image"
  pm import --change 'CMD ["python3"]' "$rootfs_tar" "$base_tag" >/dev/null
fi

# -- wheels: downloaded here (RUN steps have no network), served to pip by the build image ---------
wheels="$cache/build-base/wheels"
stamp="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$cache/build-base/stamp" 2>/dev/null)" != "$stamp" ]; then
  step "downloading wheels for requirements.txt"
  rm -rf "$cache/build-base"
  mkdir -p "$wheels"
  # The base's python is Debian 12's 3.11 on this machine's architecture: the same wheel tags.
  "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --python-version 3.11 --dest "$wheels" -r requirements.txt
  printf '[global]\nno-index = true\nfind-links = /wheels\n' > "$cache/build-base/pip.conf"
  printf 'FROM %s\nCOPY wheels/ /wheels/\nCOPY pip.conf /etc/pip.conf\n' "$base_tag" \
    > "$cache/build-base/Containerfile"
  echo "$stamp" > "$cache/build-base/stamp"
  pm rmi -f "$build_tag" >/dev/null 2>&1 || true
fi
if ! pm image exists "$build_tag"; then
  step "building the build-stage base (base + wheels + pip.conf)"
  pm build --quiet --isolation chroot --pull=never -t "$build_tag" "$cache/build-base" >/dev/null
fi

# -- htmx from the host ---------------------------------------------------------------------------
if [ ! -f static/htmx.min.js ]; then
  sh scripts/fetch-htmx.sh
fi
htmx_sha="$(cut -d' ' -f1 static/htmx.sha256)"

# -- the image ------------------------------------------------------------------------------------
step "building the image from the Dockerfile"
pm build --isolation chroot --pull=never --layers=false \
  --build-arg PYTHON_IMAGE="$base_tag" --build-arg BUILD_IMAGE="$build_tag" \
  --build-arg NODE_IMAGE="$base_tag" -t "$image" . > "$cache/build.log" 2>&1 \
  || { tail -30 "$cache/build.log" >&2; exit 1; }
grep -E '^(STEP|COMMIT|-->)' "$cache/build.log" | tail -4
pm image prune -f >/dev/null 2>&1 || true
echo "image size: $(pm image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}')"

# -- run it and check it from outside -------------------------------------------------------------
containers=()
# Removes every container this run started and proves it: none of them is left in podman's list
# and no process of theirs is left on the machine (conmon and the server run with the container's
# id on their command line). A cleanup that fails says so and fails the check.
remove_containers() {
  local failed=0 c id
  for c in "${containers[@]}"; do
    id="$(pm inspect --format '{{.Id}}' "$c" 2>/dev/null || true)"
    if ! pm rm -f -t 5 -v "$c" >/dev/null 2>"$cache/rm.err"; then
      echo "FAIL could not remove container $c: $(tail -1 "$cache/rm.err")" >&2
      failed=1
    fi
    if pm container exists "$c" 2>/dev/null; then
      echo "FAIL container $c is still there after removal" >&2
      failed=1
    fi
    if [ -n "$id" ] && pgrep -f -- "$id" >/dev/null 2>&1; then
      echo "FAIL processes of container $c are still running: $(pgrep -f -- "$id" | tr '\n' ' ')" >&2
      failed=1
    fi
  done
  # Without systemd nothing unmounts a removed container's /dev/shm; left there, it would pile up
  # and make `rm -rf .cache` (make clean) fail with "Device or resource busy".
  local mounts
  mounts="$(awk -v dir="$cache/" 'index($2, dir) == 1 {print $2}' /proc/mounts)"
  if [ -n "$mounts" ] && ! printf '%s\n' "$mounts" | xargs -r umount; then
    echo "FAIL could not unmount: $mounts" >&2
    failed=1
  fi
  if [ ${#containers[@]} -gt 0 ] && [ "$failed" = 0 ]; then
    echo "  ok  cleanup: ${#containers[@]} containers removed, none left, no process of them left"
  fi
  containers=()
  return "$failed"
}
pg_root=""
cleanup() {
  local status=$?
  remove_containers || exit 1
  [ -z "$pg_root" ] || "$python" tests/pgcluster.py stop "$pg_root" || exit 1
  exit "$status"
}
trap cleanup EXIT

free_port() { "$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Runs need runc and lowered ulimits here (no CAP_SYS_RESOURCE, cgroups v2 in hybrid mode), and the
# host network: gunicorn binds 127.0.0.1 only, so nothing is exposed beyond this machine.
# Called as name="$(start …)", i.e. in a subshell: the caller records the name in `containers`
# (an array changed in a subshell is lost, which is how earlier versions leaked every container).
start() {
  local name="lobstr-dash-check-$1-$$" port="$2"
  shift 2
  pm run -d --name "$name" --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 \
    --network host -e BIND="127.0.0.1:$port" -e DEMO_LATENCY_MS=5 "$@" "$image" >/dev/null
  echo "$name"
}

show_logs() { echo "--- logs of $1" >&2; pm logs "$1" 2>&1 | tail -30 >&2; }

step "run 1: defaults (demo mode, served at /)"
port="$(free_port)"
name="$(start solo "$port")"; containers+=("$name")
"$python" scripts/image_smoke.py "http://127.0.0.1:$port" --htmx-sha256 "$htmx_sha" || { show_logs "$name"; exit 1; }
[ "$(pm exec "$name" id -u)" = 10001 ] && echo "  ok  the server runs as the non-root user 10001"
pm exec "$name" python -m lobstr_dash.ops.healthcheck && echo "  ok  the HEALTHCHECK command passes inside the container"
lines="$(pm logs "$name" 2>&1 | grep -c 'lobstr_dash.request: GET ' || true)"
[ "$lines" -gt 0 ] && echo "  ok  one log line per request ($lines GET lines)"

step "run 2: for a team (URL_PREFIX=/lobstr, Basic auth, PROXY_FIX=1)"
password="image-check-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"
user_line="$(printf '%s\n' "$password" | "$python" -m lobstr_dash.ops.hashpw checker)"
port="$(free_port)"
name="$(start team "$port" -e URL_PREFIX=/lobstr -e PROXY_FIX=1 -e AUTH_USERS="$user_line")"
containers+=("$name")
"$python" scripts/image_smoke.py "http://127.0.0.1:$port/lobstr" --user checker --password "$password" \
  --htmx-sha256 "$htmx_sha" || { show_logs "$name"; exit 1; }
pm exec "$name" python -m lobstr_dash.ops.healthcheck \
  && echo "  ok  the HEALTHCHECK follows URL_PREFIX"
if pm logs "$name" 2>&1 | grep -q -- "$password"; then
  echo "FAIL the password appears in the container's logs" >&2
  exit 1
fi
echo "  ok  the password never appears in the logs; failed sign-ins are logged: \
$(pm logs "$name" 2>&1 | grep -c 'sign-in failed' || true)"

step "slow clients: 64 stalled connections on run 1's image, then /healthz"
port="$(free_port)"
name="$(start slow "$port")"; containers+=("$name")
"$python" - "$port" <<'PY' || { show_logs "$name"; exit 1; }
import sys, time
sys.path.insert(0, ".")
from loadtest.slowclients import SlowClients, time_healthz
port = int(sys.argv[1])
deadline = time.monotonic() + 30
while time_healthz("127.0.0.1", port, timeout=2) == float("inf") and time.monotonic() < deadline:
    time.sleep(0.5)
with SlowClients("127.0.0.1", port, 64, download_path="/") as clients:
    time.sleep(2)
    worst = max(time_healthz("127.0.0.1", port, timeout=5) for _ in range(5))
    print(f"  {'ok' if worst < 1 else 'FAIL'}  /healthz answered in {worst * 1000:.0f} ms at worst "
          f"with {clients.alive()} stalled connections open")
sys.exit(0 if worst < 1 else 1)
PY

step "run 3: two replicas on one PostgreSQL (Debian's postgresql on the host, a throwaway cluster)"
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  read -r pg_root pg_url < <("$python" tests/pgcluster.py "$(free_port)")
  port_a="$(free_port)"
  name="$(start replica-a "$port_a" -e DATABASE_URL="$pg_url" -e SECRET_KEY=image-check-shared)"
  containers+=("$name")
  port_b="$(free_port)"
  name="$(start replica-b "$port_b" -e DATABASE_URL="$pg_url" -e SECRET_KEY=image-check-shared)"
  containers+=("$name")
  # First the shared load (it counts every runtasks request the two have sent), then the smoke
  # checks of run 1 on each.
  "$python" scripts/replicas_smoke.py "http://127.0.0.1:$port_a" "http://127.0.0.1:$port_b" \
    || { show_logs "$name"; exit 1; }
  for port in "$port_a" "$port_b"; do
    "$python" scripts/image_smoke.py "http://127.0.0.1:$port" --htmx-sha256 "$htmx_sha" >/dev/null \
      || { show_logs "$name"; exit 1; }
  done
  echo "  ok  both replicas pass run 1's smoke checks with DATABASE_URL set"
else
  echo "  SKIPPED: PostgreSQL is not installed on the host (apt-get install postgresql)"
fi

step "removing the containers"
remove_containers || exit 1
step "image-check passed in $(( $(date +%s) - started ))s"
