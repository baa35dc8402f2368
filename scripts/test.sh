#!/usr/bin/env bash
# Install (idempotent) and run the whole test suite: unit, offline render, real-JACK integration
# and systemd unit checks. Each JACK test starts and stops its own uniquely named dummy server.
#
# Why a private /dev/shm: JACK keeps one machine-wide registry of at most 8 servers there, and a
# server that dies by SIGKILL (the "JACK crashed" tests, or a test run cut short) keeps its slot.
# As root we run the suite in its own mount and IPC namespace with a fresh tmpfs on /dev/shm, so
# no run can fill the registry for the next one, nor collide with another JACK on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
# lint and type checks first (config in pyproject.toml): a failure here stops the run
.venv/bin/ruff check ravebox bench tests tools
.venv/bin/mypy
export JACK_NO_AUDIO_RESERVATION=1
PYTEST=(.venv/bin/python -m pytest -q "$@")
if [ "$(id -u)" -eq 0 ] && unshare --mount --ipc --propagation private true 2>/dev/null; then
  exec unshare --mount --ipc --propagation private \
    sh -c 'mount -t tmpfs -o mode=1777 ravebox-test-shm /dev/shm && exec "$@"' sh "${PYTEST[@]}"
fi
exec "${PYTEST[@]}"
