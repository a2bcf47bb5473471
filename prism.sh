#!/usr/bin/env bash
# PrismMMM on a fresh machine, in two commands (see README.md):
#   ./prism.sh demo   install everything into .venv and run the whole pipeline on the bundled data
#   ./prism.sh test   run the test suite (installs first if needed)
# Other arguments are passed to the `prism` CLI inside the venv, e.g. ./prism.sh app
set -euo pipefail
cd "$(dirname "$0")"

PYTHON=${PYTHON:-python3.11}
VENV=.venv
STAMP="$VENV/.installed-$(cat pyproject.toml constraints.txt prism.sh | sha256sum | cut -c1-16)"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

install() {
  if [ -f "$STAMP" ]; then return; fi
  step "Installing PrismMMM into $VENV (pinned by constraints.txt)"
  if ! command -v "$PYTHON" >/dev/null; then
    echo "error: $PYTHON not found; PrismMMM needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  [ -d "$VENV" ] || "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[test,bench,spark]"
  install_browser
  install_java
  touch "$STAMP"
}

# Debian Chromium drives the real-browser test of the app; installed from Debian's packages.
install_browser() {
  if command -v chromium >/dev/null; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "Installing Debian chromium for the browser test"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: chromium is not installed and this is not a root Debian shell; the browser test will be skipped" >&2
  fi
}

# Debian's Java 17 runtime runs Spark in local mode (engine: spark, and its tests).
install_java() {
  if command -v java >/dev/null; then return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    step "Installing Debian openjdk-17-jre-headless for the Spark engine"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "note: java is not installed and this is not a root Debian shell; the Spark engine tests will fail" >&2
  fi
}

case "${1:-demo}" in
  demo)
    install
    step "Running the pipeline on the bundled data (dbt build, three models, agent loop, report)"
    exec "$VENV/bin/prism" run
    ;;
  test)
    install
    step "Running the tests"
    # pytest exits 5 when it collected no test: that must fail, never pass silently.
    exec "$VENV/bin/python" -m pytest "${@:2}"
    ;;
  install)
    install
    ;;
  *)
    install
    exec "$VENV/bin/prism" "$@"
    ;;
esac
