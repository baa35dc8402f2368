#!/usr/bin/env bash
# Install (idempotent) and run the whole test suite: unit, offline render, real-JACK integration
# and systemd unit checks. Each JACK test starts and stops its own uniquely named dummy server.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
export JACK_NO_AUDIO_RESERVATION=1
exec .venv/bin/python -m pytest -q "$@"
