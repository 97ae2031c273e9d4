#!/usr/bin/env bash
# Runs a command inside a throwaway desktop session made of real parts:
#   - its own D-Bus session bus (dbus-run-session),
#   - an unlocked gnome-keyring Secret Service on that bus,
#   - an Xvfb screen on a free display number, with the trayer tray host.
# Everything is torn down when the command ends. Used by tests/run-all.sh and
# handy for running a single test by hand:
#   tests/with-desktop.sh .venv/bin/pytest tests/integration -k keyring
set -euo pipefail

if [[ -z "${TSTRAY_DESKTOP_INNER:-}" ]]; then
  export TSTRAY_DESKTOP_INNER=1
  exec dbus-run-session -- "$0" "$@"
fi

workdir=$(mktemp -d)
cleanup() {
  kill "${trayer_pid:-}" "${xvfb_pid:-}" "${keyring_pid:-}" 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT

# The keyring daemon prints the variables a client needs; --unlock reads the
# login password from stdin, which makes the default collection usable at once.
# Its own data folder keeps concurrent runs from sharing one keyring file.
mkdir -p "$workdir/keyring-data"
keyring_env=$(printf 'tstray-test' |
  XDG_DATA_HOME="$workdir/keyring-data" gnome-keyring-daemon --unlock --components=secrets)
eval "export $keyring_env"
keyring_pid=${GNOME_KEYRING_PID:-}

# -displayfd lets Xvfb pick a free display, so several runs can share a machine.
exec {display_fd}<> <(:)
Xvfb -displayfd "$display_fd" -screen 0 1280x800x24 -nolisten tcp >"$workdir/xvfb.log" 2>&1 &
xvfb_pid=$!
read -r -t 20 -u "$display_fd" display_number
export DISPLAY=":$display_number"

trayer --edge top --align right --widthtype request --height 32 --transparent false \
  >"$workdir/trayer.log" 2>&1 &
trayer_pid=$!
for _ in $(seq 50); do
  xprop -root _NET_SUPPORTED >/dev/null 2>&1 && break
  sleep 0.1
done
# Give trayer a moment to claim the system tray selection before Qt looks.
for _ in $(seq 50); do
  xprop -root 2>/dev/null | grep -q . && xwininfo -root -tree 2>/dev/null | grep -qi trayer && break
  sleep 0.1
done

export TSTRAY_TEST_DESKTOP=1
"$@"
