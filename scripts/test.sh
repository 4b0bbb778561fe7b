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
# Without arguments the test binaries run side by side, STRATUS_TEST_JOBS at a time
# (default: cores + 1, at most 8): most of their time is waiting on the emulators, and
# every test already isolates its data (its own prefix or bucket) from the tests that
# `cargo test` runs beside it in the same binary. Each binary's output goes to
# target/test-logs/; a failed binary's output is printed at the end.
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
if (($# > 0)); then
    timed "tests built" cargo test --workspace --all-features --no-run "$@"
else
    # One line per test binary: its package's folder (cargo runs a test there), a name
    # for its log, the executable.
    timed "tests built" cargo test --workspace --all-features --no-run \
        --message-format=json-render-diagnostics \
        | python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        kind, name = m["target"]["kind"][0], m["target"]["name"]
        label = name if kind == "test" else f"{name}-{kind}-unit"
        print(os.path.dirname(m["manifest_path"]), label, m["executable"], sep="\t")
' >target/test-binaries.tsv
fi

trap 'scripts/emulators.sh stop' EXIT
trap 'exit 130' INT TERM
timed "emulators started" scripts/emulators.sh start
# shellcheck source=/dev/null
source target/emulators/env
export STRATUS_REQUIRE_EMULATORS=1

# run_one DIR NAME EXE...: one test binary (or command) in DIR, its output in the log
# folder, its time in the durations file (which orders the next run, longest first).
LOGS=target/test-logs
run_one() {
    local dir=$1 name=$2 t0=$SECONDS status=0 summary
    shift 2
    (cd "$dir" && "$@") >"$LOGS/$name.log" 2>&1 || status=$?
    summary=$(grep -h "^test result:" "$LOGS/$name.log" | tail -n 1 | cut -d';' -f1-3 || true)
    echo "$name $((SECONDS - t0))" >>"$LOGS/durations"
    if ((status == 0)); then
        echo "[test] $name: $((SECONDS - t0)) s, ${summary#test result: }" >&2
    else
        echo "[test] $name: FAILED (exit $status) after $((SECONDS - t0)) s" >&2
        echo "$name" >>"$LOGS/failed"
    fi
}

# run_all: every test binary and the doc tests, the longest of the last run first, at
# most STRATUS_TEST_JOBS at a time; fails when any of them failed, after printing its
# output.
run_all() {
    local jobs=$(($(nproc) + 1)) dir name exe order previous=target/test-durations
    if ((jobs > 8)); then jobs=8; fi
    jobs=${STRATUS_TEST_JOBS:-$jobs}
    rm -rf "$LOGS" && mkdir -p "$LOGS" && touch "$previous"
    # Longest first (by the last run; a binary never timed counts as long), so that the
    # last ones to start are short.
    order=$( (printf '.\tdoc-tests\tdoc\n' && cat target/test-binaries.tsv) | while IFS=$'\t' read -r dir name exe; do
        printf '%s\t%s\t%s\t%s\n' "$(awk -v n="$name" '$1 == n { t = $2 } END { print (t == "" ? 999999 : t) }' "$previous")" "$dir" "$name" "$exe"
    done | sort -t$'\t' -k1,1nr | cut -f2-)
    echo "[test] $(wc -l <<<"$order") test binaries, $jobs at a time; output in $LOGS/" >&2
    while IFS=$'\t' read -r dir name exe; do
        while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
        if [[ $name == doc-tests ]]; then
            run_one "$dir" "$name" cargo test --workspace --all-features --doc &
        else
            run_one "$dir" "$name" "$exe" &
        fi
    done <<<"$order"
    wait
    cp "$LOGS/durations" "$previous"
    if [[ -s $LOGS/failed ]]; then
        while read -r name; do
            echo "======== $name ($LOGS/$name.log)" >&2
            cat "$LOGS/$name.log" >&2
        done <"$LOGS/failed"
        echo "[test] failed: $(tr '\n' ' ' <"$LOGS/failed")" >&2
        return 1
    fi
}

if (($# > 0)); then
    tests=(cargo test --workspace --all-features "$@")
else
    tests=(run_all)
fi
if ! timed "tests ran" "${tests[@]}"; then
    # What the servers said is often the cause (a full disk, a refused request): show it.
    scripts/emulators.sh explain
    exit 1
fi
