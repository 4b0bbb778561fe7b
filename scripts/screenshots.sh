#!/usr/bin/env bash
# The README's screenshots, from the bundled fixtures, with the `stratus` command:
#   docs/screenshots/html-report.png   inventory --html of the S3 Inventory fixture
#   docs/screenshots/browse.png        inventory --browse of the sample tree, in tmux
# Needs chromium and tmux (Debian packages) and Python 3.
#
#   scripts/screenshots.sh                    # over the fixtures
#   scripts/screenshots.sh CONFIG STORE       # over another store, e.g. an emulator bucket:
#     scripts/emulators.sh start && source target/emulators/env
#     scripts/screenshots.sh fixtures/stores/emulators.toml seaweed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=docs/screenshots
mkdir -p "$OUT" target/screenshots
cargo build -q --release -p stratus-cli
INVENTORY="target/release/stratus inventory"
shoot() { # shoot HTML PNG WIDTH HEIGHT
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --disable-background-networking \
        --window-size="$3,$4" --screenshot="$2" "file://$PWD/$1" >/dev/null 2>&1
    echo "wrote $2"
}

if [[ $# -ge 2 ]]; then
    SOURCE=(--config "$1" "$2")
    $INVENTORY "${SOURCE[@]}" --depth 2 --html > target/screenshots/report.html
else
    SOURCE=(--config fixtures/stores/local.toml)
    $INVENTORY --config fixtures/stores/reports.toml s3-parquet \
        --from-report inventory/source-bucket/daily/2026-11-20T00-00Z/manifest.json \
        --html > target/screenshots/report.html
fi
shoot target/screenshots/report.html "$OUT/html-report.png" 1280 1500

# The browser, at the top with the second row selected, in a 110x30 terminal.
SOCKET="stratus-screenshots-$$"
trap 'tmux -L "$SOCKET" kill-server 2>/dev/null || true' EXIT
tmux -L "$SOCKET" -f /dev/null new-session -d -s s -x 110 -y 30 \
    "$INVENTORY ${SOURCE[*]} --browse --depth 3; sleep 30"
for _ in $(seq 1 100); do
    tmux -L "$SOCKET" capture-pane -p -t s | grep -q "scan done" && break
    sleep 0.1
done
tmux -L "$SOCKET" send-keys -t s j
sleep 0.5
tmux -L "$SOCKET" capture-pane -p -e -t s | python3 scripts/ansi_to_html.py > target/screenshots/browse.html
shoot target/screenshots/browse.html "$OUT/browse.png" 1000 590
