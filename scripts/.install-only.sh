#!/usr/bin/env bash
# Runs the whole test suite, installing first what the tests need on a fresh Debian machine
# with the Rust toolchain: Chromium and its driver (browser tests), and the real third-party
# servers the tests talk to (OAuth providers, httpbin) in a project-local .test-peers/.
# Safe to run again: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS="$PWD/.test-peers"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
python3 -m venv --help >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x "$PEERS/venv/bin/oidc-provider-mock" ] || [ ! -x "$PEERS/venv/bin/python" ] \
   || ! "$PEERS/venv/bin/python" -c 'import httpbin' >/dev/null 2>&1; then
  echo "== installing oidc-provider-mock and httpbin (pip, into .test-peers/venv)"
  python3 -m venv "$PEERS/venv"
  "$PEERS/venv/bin/pip" install -q --disable-pip-version-check \
    'oidc-provider-mock==0.3.4' 'httpbin==0.10.4' 'gunicorn'
fi

if [ ! -d "$PEERS/node/node_modules/oauth2-mock-server" ]; then
  echo "== installing oauth2-mock-server (npm, into .test-peers/node)"
  mkdir -p "$PEERS/node"
  npm install --silent --no-audit --no-fund --prefix "$PEERS/node" oauth2-mock-server@8.2.3 >/dev/null
fi

export FDK_EMU_TEST_PEERS="$PEERS"
