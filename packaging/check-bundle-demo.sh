#!/usr/bin/env bash
# Starts a built tstray bundle in demo mode with private folders and a free
# loopback port, waits until /healthz answers, then stops it with SIGTERM and
# expects exit code 0. Run inside tests/with-desktop.sh (build-linux.sh does):
#   tests/with-desktop.sh bash packaging/check-bundle-demo.sh dist/tstray/tstray
set -euo pipefail

program=$1
home=$(mktemp -d)
app_pid=
cleanup() {
  if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2>/dev/null; then
    kill -KILL "$app_pid" 2>/dev/null || true
  fi
  rm -rf "$home"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$home/config" "$home/runtime"
chmod 700 "$home/runtime"
printf '[server]\nport = %s\n' "$port" >"$home/config/config.toml"

XDG_CONFIG_HOME="$home/xdg-config" XDG_STATE_HOME="$home/xdg-state" \
  XDG_DATA_HOME="$home/xdg-data" XDG_CACHE_HOME="$home/xdg-cache" \
  XDG_RUNTIME_DIR="$home/runtime" QT_QPA_PLATFORM=xcb \
  "$program" --demo --config "$home/config/config.toml" >"$home/app.log" 2>&1 &
app_pid=$!

started=$SECONDS
answer=000
while (( SECONDS - started < 60 )); do
  if ! kill -0 "$app_pid" 2>/dev/null; then
    echo "check-bundle: tstray exited early:" >&2
    tail -n 30 "$home/app.log" >&2
    exit 1
  fi
  # /healthz answers 503 until a token is valid; any answer means serving.
  answer=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
  [[ "$answer" == 200 || "$answer" == 503 ]] && break
  sleep 0.2
done
if [[ "$answer" != 200 && "$answer" != 503 ]]; then
  echo "check-bundle: /healthz did not answer within 60 s" >&2
  tail -n 30 "$home/app.log" >&2
  exit 1
fi
echo "check-bundle: /healthz answered $answer after $((SECONDS - started)) s"

kill -TERM "$app_pid"
code=0
wait "$app_pid" || code=$?
app_pid=
if (( code != 0 )); then
  echo "check-bundle: tstray exited with $code after SIGTERM" >&2
  tail -n 30 "$home/app.log" >&2
  exit 1
fi
echo "check-bundle: OK (clean exit after SIGTERM)"
