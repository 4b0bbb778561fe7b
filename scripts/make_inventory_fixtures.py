#!/usr/bin/env python3
"""Write small provider inventory reports under fixtures/inventory-reports/, one folder per
provider and format, each laid out as that provider writes it into its destination bucket,
and expected.json with the figures computed here, independently of stratus.

    target/emulators/venv/bin/python scripts/make_inventory_fixtures.py    # needs pyarrow

The formats, from the providers' documentation:

- S3 Inventory: <prefix>/<source-bucket>/<config>/<YYYY-MM-DDTHH-MMZ>/manifest.json with
  sourceBucket, fileFormat, fileSchema, creationTimestamp (ms) and files [{key, size,
  MD5checksum}]; manifest.checksum = MD5 of manifest.json; data files under
  <prefix>/<source-bucket>/<config>/data/. CSV: gzipped, no header, every value quoted,
  columns in fileSchema order, the key URL-encoded. Parquet: schema s3.inventory with
  bucket, key, version_id, is_latest, is_delete_marker, size, last_modified_date
  (TIMESTAMP(MILLIS)), e_tag, storage_class. A variant ("s3-parquet-variant") writes the
  date as an ISO 8601 string and the size as int32, as some tools re-writing reports do.
  The bucket is versioned: some rows are older versions (is_latest false) and delete
  markers (no size).
- Azure Blob Inventory: <date>/<time>/<rule>/<rule>-manifest.json with files [{blob, size}],
  summary {objectCount, totalObjectSize}, ruleDefinition {format, schemaFields},
  inventoryStartTime, status; <rule>-manifest.checksum marks the run complete. CSV with a
  header (Name, Creation-Time, Last-Modified, Content-Length, AccessTier, BlobType) or
  Parquet; names start with their container ("source/").
- GCS Storage Insights: <config>_<snapshot>_manifest.json with report_shards_file_names,
  records_processed, snapshot_time; shards <config>_<snapshot>_<n>.csv (header) or
  .parquet with bucket, name, size, updated, storageClass.

Rows are shuffled: reports are not in key order. Runs are deterministic (fixed seed).
"""
import csv
import gzip
import hashlib
import io
import json
import os
import random
import shutil
import urllib.parse
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "inventory-reports")
TAKEN = datetime(2026, 11, 20, 0, 0, tzinfo=timezone.utc)
DEPTH = 2


def objects(seed, classes):
    """The current objects of a source bucket: (key, size, modified, class)."""
    rng = random.Random(seed)
    tops = ["logs", "images", "backups", "data set", "ünïcode"]
    seconds = ["2024", "2025", "2026", "raw", "a+b%c"]
    out = []
    for i in range(240):
        top = rng.choice(tops)
        depth = rng.choice([0, 1, 1, 2, 2, 2])
        parts = [top] if depth >= 1 else []
        if depth >= 2:
            parts.append(rng.choice(seconds))
        if depth >= 2 and rng.random() < 0.5:
            parts.append(rng.choice(["x", "y"]))
        name = f"file {i}.bin" if i % 7 == 0 else f"f{i}+{i % 3}.dat"
        key = "/".join(parts + [name])
        size = 0 if i % 11 == 0 else rng.choice([1, 512, 4096, 70_000, 1_500_000, 3 << 30]) + i
        modified = TAKEN - timedelta(days=rng.randint(0, 900), seconds=rng.randint(0, 86_399),
                                     milliseconds=rng.randint(0, 999))
        out.append((key, size, modified, rng.choice(classes)))
    return out


def expected(rows, prefix=None):
    """The figures stratus must find, computed from the rows here."""
    objects_, bytes_, classes, prefixes = 0, 0, {}, {}
    oldest = newest = None
    for key, size, modified, cls in rows:
        if prefix is not None:
            if not key.startswith(prefix + "/"):
                continue
            key = key[len(prefix) + 1:]
        objects_ += 1
        bytes_ += size
        c = classes.setdefault(cls, {"objects": 0, "bytes": 0})
        c["objects"] += 1
        c["bytes"] += size
        parts = key.split("/")[:-1]
        for d in range(1, min(DEPTH, len(parts)) + 1):
            p = prefixes.setdefault("/".join(parts[:d]), {"objects": 0, "bytes": 0})
            p["objects"] += 1
            p["bytes"] += size
        oldest = modified if oldest is None else min(oldest, modified)
        newest = modified if newest is None else max(newest, modified)
    return {
        "objects": objects_,
        "bytes": bytes_,
        "classes": classes,
        "prefixes": prefixes,
        "oldest": iso_ms(oldest),
        "newest": iso_ms(newest),
    }


def iso_ms(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def md5(data):
    return hashlib.md5(data).hexdigest()


def parquet_bytes(table):
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy", row_group_size=100)
    return sink.getvalue()


def s3_rows(current, seed):
    """Versioned-bucket rows: every current object, plus older versions and delete markers."""
    rng = random.Random(seed)
    rows = []
    for key, size, modified, cls in current:
        rows.append(dict(key=key, version_id=f"v{rng.randrange(10**9)}", is_latest=True,
                         is_delete_marker=False, size=size, modified=modified, cls=cls))
    for key, size, modified, cls in rng.sample(current, 20):
        rows.append(dict(key=key, version_id=f"v{rng.randrange(10**9)}", is_latest=False,
                         is_delete_marker=False, size=size + 7, modified=modified - timedelta(days=3), cls=cls))
    for i in range(6):
        rows.append(dict(key=f"logs/deleted-{i}.log", version_id=f"d{i}", is_latest=True,
                         is_delete_marker=True, size=None, modified=TAKEN - timedelta(days=1), cls=None))
    rng.shuffle(rows)
    return rows


def noncurrent(rows):
    old = [r for r in rows if not r["is_latest"] and not r["is_delete_marker"]]
    return {"objects": len(old), "bytes": sum(r["size"] for r in old)}, sum(r["is_delete_marker"] for r in rows)


def s3_case(name, fmt, variant=False):
    current = objects(1, ["STANDARD", "STANDARD_IA", "GLACIER", "INTELLIGENT_TIERING"])
    if variant:
        # The variant's int32 sizes cannot hold the 3 GiB objects: it has none.
        current = [o for o in current if o[1] < 2**31]
    rows = s3_rows(current, 2)
    base = os.path.join(ROOT, name)
    run = "inventory/source-bucket/daily"
    halves = [rows[: len(rows) // 2], rows[len(rows) // 2:]]
    files = []
    if fmt == "CSV":
        schema = "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, ETag, StorageClass"
        for n, part in enumerate(halves):
            text = io.StringIO()
            w = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
            for r in part:
                w.writerow(["source-bucket", urllib.parse.quote_plus(r["key"], safe="/"), r["version_id"],
                            str(r["is_latest"]).lower(), str(r["is_delete_marker"]).lower(),
                            "" if r["size"] is None else str(r["size"]), iso_ms(r["modified"]),
                            "" if r["is_delete_marker"] else md5(r["key"].encode()), r["cls"] or ""])
            data = gzip.compress(text.getvalue().encode(), mtime=0)
            key = f"{run}/data/file-{n}.csv.gz"
            write(os.path.join(base, key), data)
            files.append({"key": key, "size": len(data), "MD5checksum": md5(data)})
    else:
        schema = ("message s3.inventory { required binary bucket (STRING); required binary key (STRING); "
                  "optional binary version_id (STRING); optional boolean is_latest; optional boolean is_delete_marker; "
                  "optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); "
                  "optional binary e_tag (STRING); optional binary storage_class (STRING);}")
        for n, part in enumerate(halves):
            if variant:
                date = pa.array([iso_ms(r["modified"]) for r in part], pa.string())
                size = pa.array([r["size"] for r in part], pa.int32())
            else:
                date = pa.array([r["modified"] for r in part], pa.timestamp("ms", tz="UTC"))
                size = pa.array([r["size"] for r in part], pa.int64())
            table = pa.table({
                "bucket": pa.array(["source-bucket"] * len(part), pa.string()),
                "key": pa.array([r["key"] for r in part], pa.string()),
                "version_id": pa.array([r["version_id"] for r in part], pa.string()),
                "is_latest": pa.array([r["is_latest"] for r in part], pa.bool_()),
                "is_delete_marker": pa.array([r["is_delete_marker"] for r in part], pa.bool_()),
                "size": size,
                "last_modified_date": date,
                "e_tag": pa.array([None if r["is_delete_marker"] else md5(r["key"].encode()) for r in part], pa.string()),
                "storage_class": pa.array([r["cls"] for r in part], pa.string()),
            })
            data = parquet_bytes(table)
            key = f"{run}/data/file-{n}.parquet"
            write(os.path.join(base, key), data)
            files.append({"key": key, "size": len(data), "MD5checksum": md5(data)})
    manifest = {
        "sourceBucket": "source-bucket",
        "destinationBucket": "arn:aws:s3:::inventory-bucket",
        "version": "2016-11-30",
        "creationTimestamp": str(int(TAKEN.timestamp() * 1000)),
        "fileFormat": fmt,
        "fileSchema": schema,
        "files": files,
    }
    text = json.dumps(manifest, indent=2).encode()
    mkey = f"{run}/2026-11-20T00-00Z/manifest.json"
    write(os.path.join(base, mkey), text)
    write(os.path.join(base, f"{run}/2026-11-20T00-00Z/manifest.checksum"), md5(text).encode())
    old, markers = noncurrent(rows)
    figures = expected(current)
    figures.update(manifest=mkey, prefix=None, rows=len(rows), noncurrent=old, delete_markers=markers)
    return figures


def azure_case(name, fmt):
    current = objects(3, ["Hot", "Cool", "Cold", "Archive"])
    current = [("source/" + k, s, m, c) for k, s, m, c in current]
    # Another container's blobs share the report; the tests read only "source".
    other = [("other/" + k, s, m, c) for k, s, m, c in objects(4, ["Hot"])[:25]]
    rows = current + other
    random.Random(5).shuffle(rows)
    base = os.path.join(ROOT, name)
    run = "2026/11/20/00-00-00/daily"
    fields = ["Name", "Creation-Time", "Last-Modified", "Content-Length", "AccessTier", "BlobType"]
    files = []
    halves = [rows[: len(rows) // 2], rows[len(rows) // 2:]]
    for n, part in enumerate(halves):
        if fmt == "csv":
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\r\n")
            w.writerow(fields)
            for key, size, modified, cls in part:
                w.writerow([key, iso_ms(modified - timedelta(days=1)), iso_ms(modified), size, cls, "BlockBlob"])
            data = text.getvalue().encode()
            blob = f"{run}/daily_{n}.csv"
        else:
            table = pa.table({
                "Name": pa.array([r[0] for r in part], pa.string()),
                "Creation-Time": pa.array([r[2] - timedelta(days=1) for r in part], pa.timestamp("ms", tz="UTC")),
                "Last-Modified": pa.array([r[2] for r in part], pa.timestamp("ms", tz="UTC")),
                "Content-Length": pa.array([r[1] for r in part], pa.int64()),
                "AccessTier": pa.array([r[3] for r in part], pa.string()),
                "BlobType": pa.array(["BlockBlob"] * len(part), pa.string()),
            })
            data = parquet_bytes(table)
            blob = f"{run}/daily_{n}.parquet"
        write(os.path.join(base, blob), data)
        files.append({"blob": blob, "size": len(data)})
    manifest = {
        "destinationContainer": "inventory",
        "endpoint": "https://account.blob.core.windows.net",
        "files": files,
        "inventoryCompletionTime": "2026-11-20T00:10:00Z",
        "inventoryStartTime": "2026-11-20T00:00:00Z",
        "ruleDefinition": {
            "filters": {"blobTypes": ["blockBlob"], "includeBlobVersions": False, "includeSnapshots": False},
            "format": fmt,
            "objectType": "blob",
            "schedule": "daily",
            "schemaFields": fields,
        },
        "ruleName": "daily",
        "status": "Succeeded",
        "summary": {"objectCount": len(rows), "totalObjectSize": sum(r[1] for r in rows)},
        "version": "1.0",
    }
    text = json.dumps(manifest, indent=2).encode()
    mkey = f"{run}/daily-manifest.json"
    write(os.path.join(base, mkey), text)
    write(os.path.join(base, f"{run}/daily-manifest.checksum"), md5(text).encode())
    figures = expected(current, prefix="source")
    figures.update(manifest=mkey, prefix="source", rows=len(rows),
                   noncurrent={"objects": 0, "bytes": 0}, delete_markers=0)
    return figures


def gcs_case(name, fmt):
    current = objects(6, ["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"])
    rows = list(current)
    random.Random(7).shuffle(rows)
    base = os.path.join(ROOT, name)
    stem = "inventory/5f2e-config_2026-11-20T00-00-00Z"
    shards = []
    thirds = [rows[0::3], rows[1::3], rows[2::3]]
    for n, part in enumerate(thirds):
        if fmt == "csv":
            text = io.StringIO()
            w = csv.writer(text, lineterminator="\n")
            w.writerow(["bucket", "name", "size", "updated", "storageClass", "etag"])
            for key, size, modified, cls in part:
                w.writerow(["source-bucket", key, size, iso_ms(modified), cls, md5(key.encode())])
            data = text.getvalue().encode()
            shard = f"{stem}_{n}.csv"
        else:
            table = pa.table({
                "bucket": pa.array(["source-bucket"] * len(part), pa.string()),
                "name": pa.array([r[0] for r in part], pa.string()),
                "size": pa.array([r[1] for r in part], pa.int64()),
                "updated": pa.array([r[2] for r in part], pa.timestamp("us", tz="UTC")),
                "storageClass": pa.array([r[3] for r in part], pa.string()),
                "etag": pa.array([md5(r[0].encode()) for r in part], pa.string()),
            })
            data = parquet_bytes(table)
            shard = f"{stem}_{n}.parquet"
        write(os.path.join(base, shard), data)
        shards.append(os.path.basename(shard))
    manifest = {
        "report_config": {"name": "projects/p/locations/us/reportConfigs/5f2e-config", "display_name": "daily"},
        "records_processed": len(rows),
        "snapshot_time": "2026-11-20T00:00:00Z",
        "shard_count": len(shards),
        "report_shards_file_names": shards,
    }
    mkey = f"{stem}_manifest.json"
    write(os.path.join(base, mkey), json.dumps(manifest, indent=2).encode())
    figures = expected(current)
    figures.update(manifest=mkey, prefix=None, rows=len(rows),
                   noncurrent={"objects": 0, "bytes": 0}, delete_markers=0)
    return figures


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    cases = {
        "s3-csv": s3_case("s3-csv", "CSV"),
        "s3-parquet": s3_case("s3-parquet", "Parquet"),
        "s3-parquet-variant": s3_case("s3-parquet-variant", "Parquet", variant=True),
        "azure-csv": azure_case("azure-csv", "csv"),
        "azure-parquet": azure_case("azure-parquet", "parquet"),
        "gcs-csv": gcs_case("gcs-csv", "csv"),
        "gcs-parquet": gcs_case("gcs-parquet", "parquet"),
    }
    out = {"depth": DEPTH, "taken": "2026-11-20T00:00:00Z", "cases": cases}
    write(os.path.join(ROOT, "expected.json"), (json.dumps(out, indent=1, sort_keys=True) + "\n").encode())
    print(f"wrote {len(cases)} reports under {os.path.normpath(ROOT)}")


if __name__ == "__main__":
    main()
