#!/bin/bash
# What `inventory --billed` costs over a plain inventory: a versioned SeaweedFS bucket of
# N objects (default 20,000) in FOLDERS folders (default 20), a quarter of them overwritten (noncurrent
# versions), a twentieth deleted (delete markers), and 20 unfinished uploads. Times,
# medians of RUNS (default 3), alternating:
#   - stratus inventory (concurrency 16): the listing;
#   - stratus inventory --billed: the same, and the versions and uploads listed meanwhile;
#   - stratus inventory --concurrency 1: one listing, the yardstick ("at most one more
#     listing's time").
# Starts and stops the emulators itself, or with RUNNING=1 uses those already running
# (`scripts/emulators.sh start`). With BASELINE=path/to/stratus, also that binary's
# --billed, alternating with the others (a side-by-side before and after a change).
# With DELAY_MS=60, the store is reached through scripts/latency_proxy.py adding that much
# to every response (a distant server: S3 answers a page in about 0.3 s).
# Usage: [N=20000] [FOLDERS=20] [RUNS=3] [RUNNING=1] [BASELINE=bin] [DELAY_MS=60]
# scripts/bench_billed.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-20000}
FOLDERS=${FOLDERS:-20}
RUNS=${RUNS:-3}

cargo build --release -q -p stratus-cli
proxy=""
if [ "${RUNNING:-}" != 1 ]; then
    scripts/emulators.sh install
    scripts/emulators.sh start
    trap '[ -n "$proxy" ] && kill $proxy; scripts/emulators.sh stop' EXIT
else
    trap '[ -n "$proxy" ] && kill $proxy' EXIT
fi
# shellcheck source=/dev/null
source target/emulators/env
PY=$STRATUS_TEST_PYTHON
BUCKET=bench-billed-$(date +%s)

echo "writing $N objects in $FOLDERS folders and their history to $BUCKET ($(date +%T)) ..."
"$PY" - "$N" "$BUCKET" "$FOLDERS" <<'EOF'
import os, sys, boto3
from concurrent.futures import ThreadPoolExecutor
from botocore.config import Config
n, bucket, folders = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s3 = boto3.client("s3", endpoint_url=os.environ["STRATUS_TEST_SEAWEED_ENDPOINT"],
                  aws_access_key_id=os.environ["STRATUS_TEST_SEAWEED_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["STRATUS_TEST_SEAWEED_SECRET_KEY"],
                  region_name="us-east-1", config=Config(max_pool_connections=64))
s3.create_bucket(Bucket=bucket)
s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
key = lambda i: "d%05d/f%06d" % (i % folders, i)
# No empty object: SeaweedFS takes 60 s to put a version over an empty one.
put = lambda i: s3.put_object(Bucket=bucket, Key=key(i), Body=b"x" * (1 + i % 1000))
with ThreadPoolExecutor(64) as pool:
    list(pool.map(put, range(n)))
    list(pool.map(put, range(0, n, 4)))
    list(pool.map(lambda i: s3.delete_object(Bucket=bucket, Key=key(i)), range(1, n, 20)))
for i in range(20):
    s3.create_multipart_upload(Bucket=bucket, Key="uploads/u%02d" % i)
EOF

endpoint=$STRATUS_TEST_SEAWEED_ENDPOINT
if [ -n "${DELAY_MS:-}" ]; then
    PROXY_PORT=${PROXY_PORT:-28334}
    "$PY" scripts/latency_proxy.py "$PROXY_PORT" "${endpoint##*:}" "$DELAY_MS" &
    proxy=$!
    endpoint="http://127.0.0.1:$PROXY_PORT"
    for _ in $(seq 1 50); do
        (echo > "/dev/tcp/127.0.0.1/$PROXY_PORT") 2>/dev/null && break
        sleep 0.1
    done
fi
config=target/bench-billed.toml
cat > "$config" <<EOF
[stores.v]
provider = "s3"
bucket = "$BUCKET"
endpoint = "$endpoint"
allow_http = true
flavor = "seaweedfs"
access_key_id = "$STRATUS_TEST_SEAWEED_ACCESS_KEY"
secret_access_key = "$STRATUS_TEST_SEAWEED_SECRET_KEY"
EOF

run() { # name, command...: appends "name seconds" to the results
    local name=$1; shift
    local start end
    start=$(date +%s.%N)
    "$@" > target/bench-billed.$name.json
    end=$(date +%s.%N)
    echo "$name $(awk "BEGIN {print $end - $start}")" >> target/bench-billed.results
}
: > target/bench-billed.results
for _ in $(seq 1 "$RUNS"); do
    run plain target/release/stratus inventory --config "$config" v --json
    run billed target/release/stratus inventory --config "$config" v --json --billed
    run one-listing target/release/stratus inventory --config "$config" v --json --concurrency 1
    if [ -n "${BASELINE:-}" ]; then
        run baseline "$BASELINE" inventory --config "$config" v --json --billed
    fi
done
# The server's own cost of the two listings, through another client (boto3, once each):
# what a versions listing costs SeaweedFS against an objects listing.
"$PY" - "$BUCKET" > target/bench-billed.server <<'EOF'
import os, sys, time, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["STRATUS_TEST_SEAWEED_ENDPOINT"],
                  aws_access_key_id=os.environ["STRATUS_TEST_SEAWEED_ACCESS_KEY"],
                  aws_secret_access_key=os.environ["STRATUS_TEST_SEAWEED_SECRET_KEY"],
                  region_name="us-east-1")
for op in ("list_objects_v2", "list_object_versions"):
    start, pages = time.time(), 0
    for _ in s3.get_paginator(op).paginate(Bucket=sys.argv[1]):
        pages += 1
    print(f"  boto3 {op:<21} {time.time() - start:6.2f} s  {pages} pages")
EOF
"$PY" - "$N" "$FOLDERS" <<'EOF'
import os, sys, json, statistics, collections
times = collections.defaultdict(list)
for line in open("target/bench-billed.results"):
    name, t = line.split()
    times[name].append(float(t))
med = {k: statistics.median(v) for k, v in times.items()}
billed = json.load(open("target/bench-billed.billed.json"))
h = billed["hidden"]
delay = os.environ.get("DELAY_MS")
print(f"versioned bucket of {sys.argv[1]} objects in {sys.argv[2]} folders on SeaweedFS"
      f"{f', {delay} ms a response' if delay else ''}; medians of {len(times['plain'])}, alternating")
print(f"  objects {billed['objects']}, noncurrent versions {h['versions']['noncurrent']['objects']}, "
      f"delete markers {h['versions']['delete_markers']}, unfinished uploads {h['uploads']['uploads']['objects']}")
for name in ("plain", "billed", "one-listing", "baseline"):
    if name in med:
        print(f"  {name:<12} {med[name]:7.2f} s  runs {['%.2f' % t for t in times[name]]}")
extra = med["billed"] - med["plain"]
print(f"  --billed costs {extra:.2f} s more: {extra / med['one-listing']:.2f}x one listing's time "
      f"(billed / plain {med['billed'] / med['plain']:.2f}x)")
if "baseline" in med:
    base = json.load(open("target/bench-billed.baseline.json"))
    same = base.get("hidden") == billed.get("hidden")
    print(f"  baseline --billed costs {med['baseline'] - med['plain']:.2f} s more; "
          f"billed / baseline {med['billed'] / med['baseline']:.2f}x; same hidden figures: {same}")
EOF
cat target/bench-billed.server
