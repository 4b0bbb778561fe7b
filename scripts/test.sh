#!/usr/bin/env bash
# The whole test suite, on a fresh machine or an old one:
#   1. installs the pinned emulators under target/emulators (once; later runs reuse them),
#   2. starts moto, SeaweedFS, fake-gcs-server and Azurite on 127.0.0.1 with fresh data,
#   3. runs every test with the emulator endpoints in the environment, where a missing
#      emulator is a failure rather than a skip,
#   4. stops every emulator it started, also when a step fails or you press Ctrl-C.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test conformance);
# `scripts/test.sh --install` only installs what the tests need. The
# workspace: the library's tests run the `stratus` command (cli/), built with them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# timed NAME CMD...: run CMD, then say how long it took (also when it fails), so a slow
# run says where its time went.
timed() {
    local name=$1 t0=$SECONDS status=0
    shift
    "$@" || status=$?
    echo "[test] $name: $((SECONDS - t0)) s" >&2
    return "$status"
}

# What the tests need beside cargo: the emulators and, for the browser and terminal checks
# (tests/html.rs, tests/browse.rs), Debian's chromium and tmux. Installed here when
# missing (chromium and tmux when apt-get can, as root; without them those tests print
# SKIPPED). Each part is idempotent, so `.ci/run` starts `scripts/test.sh --install` in the
# background while it builds, and this run then finds everything in place.
install_tools() {
    timed "emulators installed" scripts/emulators.sh install
    local tool
    for tool in chromium tmux; do
        if ! command -v "$tool" >/dev/null 2>&1 && [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
            echo "[test] installing $tool (Debian package)" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$tool" >/dev/null 2>&1 \
                || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$tool" >/dev/null 2>&1; } \
                || echo "[test] $tool is not installable here: its tests will be skipped" >&2
        fi
    done
}
if [[ ${1:-} == --install ]]; then
    install_tools
    exit 0
fi
install_tools
if command -v chromium >/dev/null 2>&1; then export STRATUS_REQUIRE_BROWSER=1; fi
if command -v tmux >/dev/null 2>&1; then export STRATUS_REQUIRE_TMUX=1; fi
# Build every test first, then start the emulators: SeaweedFS sizes its volumes from the
# free disk it sees at start and stops taking writes (500 on PUT) when the disk runs low,
# so a build that fills the disk while it runs fails tests that have nothing to do with it.
timed "tests built" cargo test --workspace --all-features --no-run "$@"

trap 'scripts/emulators.sh stop' EXIT
trap 'exit 130' INT TERM
timed "emulators started" scripts/emulators.sh start
# shellcheck source=/dev/null
source target/emulators/env
export STRATUS_REQUIRE_EMULATORS=1

if ! timed "tests ran" cargo test --workspace --all-features "$@"; then
    # What the servers said is often the cause (a full disk, a refused request): show it.
    scripts/emulators.sh explain
    exit 1
fi
