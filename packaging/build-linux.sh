#!/usr/bin/env bash
# Builds tstray's one-folder Linux app with PyInstaller into dist/tstray/ and
# checks that it works: "tstray --version", then "tstray --demo" with private
# folders and a free port inside the test desktop (tests/with-desktop.sh),
# answering /healthz, then SIGTERM and a clean exit.
#
#   packaging/build-linux.sh              # build, then check
#   packaging/build-linux.sh --check-only # check an existing dist/tstray/
#
# PYTHON names an interpreter whose environment has ".[packaging]" installed;
# without it the script makes build/packaging-venv and installs that there.
# Needs the Debian packages that tests/with-desktop.sh needs (Xvfb, trayer,
# dbus, gnome-keyring). Prints the build time and the bundle's size.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
dist="$repo/dist/tstray"

build() {
  local python=${PYTHON:-}
  if [[ -z "$python" ]]; then
    python="$repo/build/packaging-venv/bin/python"
    if [[ ! -x "$python" ]]; then
      python3 -m venv "$repo/build/packaging-venv"
    fi
    "$python" -m pip install --quiet "$repo[packaging]"
  fi

  local started=$SECONDS
  "$python" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$repo/dist" --workpath "$repo/build/pyinstaller" \
    packaging/pyinstaller/tstray.spec
  echo "build-linux: built $dist in $((SECONDS - started)) s"
}

check() {
  [[ -x "$dist/tstray" ]] || { echo "build-linux: no $dist/tstray" >&2; exit 1; }
  echo "build-linux: bundle size $(du -sh "$dist" | cut -f1) ($(find "$dist" -type f | wc -l) files)"

  # The spec drops Qt libraries tstray does not use; none left may need one.
  local internal="$dist/_internal" missing
  missing=$(find "$internal" -name '*.so*' -type f -print0 |
    LD_LIBRARY_PATH="$internal:$internal/PySide6/Qt/lib:$internal/PySide6:$internal/shiboken6" \
      xargs -0 -n 50 ldd 2>/dev/null | grep 'not found' | sort -u || true)
  if [[ -n "$missing" ]]; then
    echo "build-linux: libraries missing from the bundle:" >&2
    echo "$missing" >&2
    exit 1
  fi

  local version
  version=$("$dist/tstray" --version)
  echo "build-linux: --version says: $version"
  [[ "$version" == tstray\ * ]] || { echo "build-linux: unexpected --version" >&2; exit 1; }

  "$repo/tests/with-desktop.sh" bash "$repo/packaging/check-bundle-demo.sh" "$dist/tstray"
}

case "${1:-}" in
  --check-only) check ;;
  "") build; check ;;
  *) echo "usage: $0 [--check-only]" >&2; exit 2 ;;
esac
