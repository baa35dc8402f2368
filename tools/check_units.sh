#!/usr/bin/env bash
# Check the systemd units in systemd/: `systemd-analyze verify` must print
# nothing (it exits 0 on ignored bad values, so its stderr counts too), and
# every service's exposure score must be <= MAX_EXPOSURE (default 2.0) in
# `systemd-analyze security --offline=yes`. CI calls this; exit 0 = all good.
#
# The units' ExecStart= uses /usr/local/bin/ravebox, the link that
# `ravebox install-service` creates. Where that link does not exist (CI, a
# fresh clone, a developer machine), the copy being verified points at the
# checkout's .venv/bin/ravebox (what scripts/install.sh makes), else at the
# ravebox on PATH; nothing else is changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
units_dir="${1:-$here/systemd}"
max_exposure="${MAX_EXPOSURE:-2.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail=0

cp "$units_dir"/*.service "$work"/
if [[ ! -x /usr/local/bin/ravebox ]]; then
    ravebox_bin="$here/.venv/bin/ravebox"
    [[ -x "$ravebox_bin" ]] || ravebox_bin="$(command -v ravebox || true)"
    if [[ -z "$ravebox_bin" ]]; then
        echo "check_units: no /usr/local/bin/ravebox, no $here/.venv/bin/ravebox and no ravebox on PATH" \
             "(bash scripts/install.sh first)" >&2
        exit 2
    fi
    sed -i "s#/usr/local/bin/ravebox#${ravebox_bin}#g" "$work"/*.service
fi

# 1. verify: exit code and any output at all
if ! out="$(cd "$work" && systemd-analyze verify ./*.service 2>&1)"; then
    echo "FAIL systemd-analyze verify exited non-zero:"; echo "$out"; fail=1
elif [[ -n "$out" ]]; then
    echo "FAIL systemd-analyze verify printed warnings:"; echo "$out"; fail=1
else
    echo "ok   systemd-analyze verify: $(cd "$work" && ls ./*.service | xargs -n1 basename | tr '\n' ' ')"
fi

# 2. security exposure per service
for unit in "$work"/*.service; do
    name="$(basename "$unit")"
    report="$(cd "$work" && systemd-analyze security --offline=yes --no-pager "./$name" 2>&1 || true)"
    score="$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' <<<"$report")"
    if [[ -z "$score" ]]; then
        echo "FAIL $name: no exposure score in:"; echo "$report"; fail=1
    elif awk -v s="$score" -v m="$max_exposure" 'BEGIN { exit !(s <= m) }'; then
        echo "ok   $name exposure $score <= $max_exposure"
    else
        echo "FAIL $name exposure $score > $max_exposure"; grep '✗' <<<"$report" || true; fail=1
    fi
done
exit "$fail"
