#!/usr/bin/env bash
# Install everything ravebox needs on a fresh Debian machine (idempotent):
# Debian's JACK server and MIDI clock (plus systemd's analyzer for the unit checks), a C compiler
# for the JACK thread's native half (ravebox/host/native, built once here), a venv in .venv with the
# CPU build of torch pinned, and ravebox itself with its test extras.
# Why a venv: the box's system Python stays untouched, and the service unit points at it.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(jackd2 jack-midi-clock systemd procps psmisc gcc libc6-dev)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "ravebox install: apt packages ${missing[*]}"
  # jackd2 asks whether to enable realtime priority; answer for the dedicated box (yes).
  echo "jackd2 jackd/tweak_rt_limits boolean true" | $SUDO debconf-set-selections 2>/dev/null || true
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv 2>/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv
    "$PYTHON" -m venv .venv
  }
fi
# torch is pinned on its own first: any other spec would pull a multi-GB CUDA build.
.venv/bin/pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
# the JACK thread's native half; without it the daemon plays through its Python process thread (and says so)
.venv/bin/python -m ravebox.host.nativebuild
echo "ravebox install: done ($(.venv/bin/ravebox --version))"
