#!/usr/bin/env bash
# The whole test suite: lint, then pytest (slow, server and browser tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
# The converted embedding model is cached here between runs so only the first run pays for conversion.
export IRCHAT_TEST_MODEL_DIR="${IRCHAT_TEST_MODEL_DIR:-$PWD/.irchat-test/models}"
$BIN/ruff check .
$BIN/ruff format --check .
exec $BIN/python -m pytest "$@"
