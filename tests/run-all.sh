#!/usr/bin/env bash
# Sets up the machine and runs every check tstray has: lint, formatting, types
# and the whole test suite against real parts (a D-Bus session with an
# unlocked gnome-keyring, Xvfb with the trayer tray host, real QtWebEngine,
# real loopback HTTP). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/setup

echo "== ruff"
.venv/bin/ruff check tstray tests
.venv/bin/ruff format --check tstray tests
echo "== mypy"
.venv/bin/mypy
echo "== pytest"
# QtWebEngine refuses to run as root with its sandbox on; tests only.
export QTWEBENGINE_DISABLE_SANDBOX=1
exec tests/with-desktop.sh .venv/bin/python -m pytest "$@"
