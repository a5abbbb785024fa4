#!/bin/sh
# make test's entry for the kumo Python package: a venv in the build dir (with the system's
# packages, for torch) gets pytest from PyPI and `pip install ./python` (the package as a user
# installs it, not PYTHONPATH), and a wheel is built, then the tests run against KUMO_BINARY.
#   test/python/run_pytest.sh BUILD_DIR
set -eu
export PYTHONDONTWRITEBYTECODE=1
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BUILD="$(cd "$1" && pwd)"
export KUMO_BINARY="${KUMO_BINARY:-$BUILD/bin/kumo}"
VENV="$BUILD/python-venv"
[ -x "$VENV/bin/python" ] || /usr/bin/python3 -m venv --system-site-packages "$VENV"
"$VENV/bin/python" -m pip install -q pytest
# Build from a copy: setuptools writes build/ and *.egg-info beside the sources otherwise.
rm -rf "$BUILD/python-src" && cp -r "$ROOT/python" "$BUILD/python-src"
"$VENV/bin/python" -m pip install -q --force-reinstall --no-deps "$BUILD/python-src"
"$VENV/bin/python" -m pip wheel -q --no-deps -w "$BUILD/python-wheel" "$BUILD/python-src"
ls "$BUILD"/python-wheel/kumo-*.whl >/dev/null
cd "$BUILD"  # not the source tree: the installed package is what is tested
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider "$ROOT/test/python/test_kumo_api.py"
