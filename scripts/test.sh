#!/usr/bin/env bash
# The whole test suite, on a fresh machine or an old one:
#   1. installs the pinned emulators under target/emulators (once; later runs reuse them),
#   2. starts moto, SeaweedFS, fake-gcs-server and Azurite on 127.0.0.1 with fresh data,
#   3. runs every test with the emulator endpoints in the environment, where a missing
#      emulator is a failure rather than a skip,
#   4. stops every emulator it started, also when a step fails or you press Ctrl-C.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh --test conformance).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/emulators.sh install
trap 'scripts/emulators.sh stop' EXIT
trap 'exit 130' INT TERM
scripts/emulators.sh start
# shellcheck source=/dev/null
source target/emulators/env
export STRATUS_REQUIRE_EMULATORS=1

cargo test --all-features "$@"
