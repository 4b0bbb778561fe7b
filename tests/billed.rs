//! What a store bills that a listing does not show (`stratus::billed`,
//! `inventory::hidden`), on the two S3 servers of the suite, against boto3 as the oracle:
//!
//! - a versioned bucket with a random history (overwrites, deletes, keys deleted without
//!   ever existing, keys that stress encoding, one key with more versions than a page)
//!   and unfinished uploads gives exactly the counts, bytes, per-prefix totals and
//!   "noncurrent since" that boto3 computes from the same server, for the whole bucket
//!   and for a store under a prefix;
//! - `cleanup_uploads` (SeaweedFS: moto dates every upload 2010-11-10): its dry run lists
//!   exactly the old uploads and aborts nothing, its real run aborts exactly those, and
//!   uploads begun while it runs (one on the same key as an old one) survive;
//! - the `stratus` command: `inventory --billed --json` and `cleanup uploads`.

mod common;

use chrono::{DateTime, Utc};
use common::{seaweed_identity, stratus, unique_prefix, Backend, Identity};
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use stratus::billed::{cleanup_uploads, Billed, CleanupOptions, Upload, VersionEntry};
use stratus::inventory::hidden::{scan_hidden, Hidden, HiddenOptions};
use stratus::Config;

/// A bucket name no other test or run uses (S3 names: 3-63 lowercase characters).
fn unique_bucket(test: &str) -> String {
    let unique = unique_prefix(test).replace(['/', '_'], "-").to_lowercase();
    let name: String = unique.trim_start_matches("t-").chars().take(63).collect();
    name.trim_end_matches('-').to_string()
}

/// The endpoint and keys boto3 and stratus use for `backend`.
fn access(backend: Backend) -> Option<(String, String, String)> {
    let endpoint = backend.endpoint()?;
    let (key, secret) = match backend {
        Backend::SeaweedFs => seaweed_identity(Identity::Admin),
        _ => ("test".to_string(), "test".to_string()),
    };
    Some((endpoint, key, secret))
}

/// A config whose store `s` is `bucket` on `backend`, under `prefix` ("" for none).
fn config(backend: Backend, bucket: &str, prefix: &str) -> Option<Config> {
    let (endpoint, key, secret) = access(backend)?;
    let toml = format!(
        "[stores.s]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nendpoint = \"{endpoint}\"\n\
         allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"{key}\"\n\
         secret_access_key = \"{secret}\"\n{}",
        match prefix {
            "" => String::new(),
            p => format!("prefix = \"{p}\"\n"),
        }
    );
    Some(Config::from_toml(&toml, "test.toml", ".").unwrap())
}

/// boto3 on `backend` with `BUCKET` set; `script` prints what the test reads.
fn boto3(backend: Backend, bucket: &str, script: &str, args: &[&str]) -> String {
    let python =
        std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON (scripts/test.sh)");
    let (endpoint, key, secret) = access(backend).expect("checked by the caller");
    let helpers = r#"
import os, sys, json, random, boto3
from botocore.config import Config as BotoConfig
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], aws_access_key_id=os.environ["KEY"],
                  aws_secret_access_key=os.environ["SECRET"], region_name="us-east-1",
                  config=BotoConfig(retries={"max_attempts": 5}))
BUCKET = os.environ["BUCKET"]
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(format!("{helpers}\n{script}"))
        .args(args)
        .env_remove("AWS_CA_BUNDLE")
        .env("ENDPOINT", endpoint)
        .env("KEY", key)
        .env("SECRET", secret)
        .env("BUCKET", bucket)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3 script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Make a versioned bucket with a random history (seeded) and unfinished uploads;
/// `many` more versions of one key than a page holds. No object is empty: SeaweedFS 4.48
/// takes 60 s to put a version over an empty current one (docs/TESTING.md).
const HISTORY: &str = r#"
seed, many = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
s3.create_bucket(Bucket=BUCKET)
s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
dirs = ["logs", "logs/2024", "img", "a b", "ü%2F+=", ""]
for i in range(40):
    d = rng.choice(dirs)
    key = (d + "/" if d else "") + f"k{i}~{rng.randrange(100)}.bin"
    for _ in range(rng.randrange(1, 5)):
        if rng.random() < 0.25:
            s3.delete_object(Bucket=BUCKET, Key=key)
        else:
            s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * rng.randrange(1, 3000))
for i in range(many):
    s3.put_object(Bucket=BUCKET, Key="many/one", Body=b"m" * (1 + i % 7))
def upload(key, sizes):
    u = s3.create_multipart_upload(Bucket=BUCKET, Key=key)
    for n, size in enumerate(sizes, 1):
        s3.upload_part(Bucket=BUCKET, Key=key, UploadId=u["UploadId"], PartNumber=n, Body=b"p" * size)
upload("up/one.bin", [5 << 20, 1000])
upload("up/one.bin", [300])
upload("logs/never.bin", [])
"#;

/// What boto3 computes from the server, under `PREFIX` (argv[1], "" or "logs/"):
/// noncurrent versions (count, bytes, per first segment), the earliest moment one became
/// noncurrent, delete markers, orphaned markers, uploads and their parts. Versions are
/// read from the server's XML as boto3 receives it (Python's ElementTree parses it)
/// because boto3 splits versions and delete markers into two lists and loses the order
/// between them, which "noncurrent since" needs.
const EXPECTED: &str = r#"
import xml.etree.ElementTree as ET
from datetime import datetime
prefix = sys.argv[1]
def tag(e):
    return e.tag.split("}")[-1]
def child(e, name):
    for c in e:
        if tag(c) == name:
            return c.text
    return None
def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
def versions():
    pages = []
    hook = lambda http_response, **kw: pages.append(http_response.content)
    s3.meta.events.register("after-call.s3.ListObjectVersions", hook)
    for _ in s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET, Prefix=prefix):
        for page in pages:
            for e in ET.fromstring(page):
                if tag(e) in ("Version", "DeleteMarker"):
                    size = int(child(e, "Size")) if tag(e) == "Version" else None
                    yield (child(e, "Key"), when(child(e, "LastModified")), child(e, "IsLatest") == "true", size)
        pages.clear()
by_key = {}
for e in versions():
    by_key.setdefault(e[0], []).append(e)
out = {"noncurrent": 0, "noncurrent_bytes": 0, "markers": 0, "orphaned": 0, "since": None,
       "versions_by_prefix": {}, "uploads": 0, "parts": 0, "upload_bytes": 0,
       "uploads_by_prefix": {}, "uploads_by_class": {}}
def segment(key):
    rel = key[len(prefix):]
    return rel.split("/")[0] if "/" in rel else None
for key, es in by_key.items():
    # The latest first, then newest first; ties in the server's order (moto lists all
    # versions before all delete markers, AWS and SeaweedFS interleave them by key).
    es.sort(key=lambda e: (not e[2], -e[1].timestamp()))
    markers = [e for e in es if e[3] is None]
    out["markers"] += len(markers)
    if len(markers) == len(es):
        out["orphaned"] += len(markers)
    for i, e in enumerate(es):
        if e[3] is not None and not e[2]:
            out["noncurrent"] += 1
            out["noncurrent_bytes"] += e[3]
            since = es[i - 1][1] if i > 0 else e[1]
            if out["since"] is None or since < out["since"]:
                out["since"] = since
            seg = segment(key)
            if seg is not None:
                n, b = out["versions_by_prefix"].get(seg, (0, 0))
                out["versions_by_prefix"][seg] = (n + 1, b + e[3])
for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET, Prefix=prefix):
    for u in page.get("Uploads", []):
        size, parts = 0, 0
        for p in s3.get_paginator("list_parts").paginate(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"]):
            for part in p.get("Parts", []):
                parts += 1
                size += part["Size"]
        out["uploads"] += 1
        out["parts"] += parts
        out["upload_bytes"] += size
        seg = segment(u["Key"])
        if seg is not None:
            n, b = out["uploads_by_prefix"].get(seg, (0, 0))
            out["uploads_by_prefix"][seg] = (n + 1, b + size)
        if u.get("StorageClass"):
            n, b = out["uploads_by_class"].get(u["StorageClass"], (0, 0))
            out["uploads_by_class"][u["StorageClass"]] = (n + 1, b + size)
out["since"] = out["since"].isoformat() if out["since"] else None
print(json.dumps(out))
"#;

/// `hidden`'s figures against boto3's `expected`.
fn assert_same(hidden: &Hidden, expected: &Value, what: &str) {
    let number = |name: &str| expected[name].as_u64().unwrap();
    let versions = hidden.versions.as_ref().expect("versions looked at");
    let uploads = hidden.uploads.as_ref().expect("uploads looked at");
    let ours = (
        versions.noncurrent.objects,
        versions.noncurrent.bytes,
        versions.delete_markers,
        versions.orphaned_markers.expect("known from a listing"),
        uploads.uploads.objects,
        uploads.parts,
        uploads.uploads.bytes,
    );
    let theirs = (
        number("noncurrent"),
        number("noncurrent_bytes"),
        number("markers"),
        number("orphaned"),
        number("uploads"),
        number("parts"),
        number("upload_bytes"),
    );
    assert_eq!(
        ours, theirs,
        "{what}: (noncurrent, bytes, markers, orphaned, uploads, parts, upload bytes)"
    );
    let since = expected["since"]
        .as_str()
        .map(|t| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc));
    assert_eq!(versions.noncurrent_since, since, "{what}: noncurrent since");
    let by_prefix =
        |breakdown: &stratus::inventory::PrefixBreakdown| -> BTreeMap<String, (u64, u64)> {
            breakdown
                .entries()
                .into_iter()
                .filter(|e| e.depth == 1)
                .map(|e| (e.prefix, (e.objects, e.bytes)))
                .collect()
        };
    let expected_prefixes = |name: &str| -> BTreeMap<String, (u64, u64)> {
        expected[name]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), (v[0].as_u64().unwrap(), v[1].as_u64().unwrap())))
            .collect()
    };
    assert_eq!(
        by_prefix(&versions.prefixes),
        expected_prefixes("versions_by_prefix"),
        "{what}: noncurrent per prefix"
    );
    assert_eq!(
        by_prefix(&uploads.prefixes),
        expected_prefixes("uploads_by_prefix"),
        "{what}: uploads per prefix"
    );
    let by_class: BTreeMap<String, (u64, u64)> = uploads
        .classes
        .iter()
        .map(|(class, counts)| (class.clone(), (counts.objects, counts.bytes)))
        .collect();
    assert_eq!(
        by_class,
        expected_prefixes("uploads_by_class"),
        "{what}: uploads per class"
    );
}

async fn versioned_bucket_matches_boto3(backend: Backend, many: usize) {
    let Some(_) = access(backend) else {
        return;
    };
    let bucket = unique_bucket("billed");
    boto3(backend, &bucket, HISTORY, &["7", &many.to_string()]);
    // As listed by folder, and with every listing cut into key ranges each block of 5
    // entries (begun at a key marker, 8 at once).
    let mut ranged = HiddenOptions::new(Utc::now());
    ranged.page_entries = 5;
    let plain = HiddenOptions::new(Utc::now());
    for (prefix, options) in [
        ("", &plain),
        ("logs", &plain),
        ("", &ranged),
        ("logs", &ranged),
    ] {
        let config = config(backend, &bucket, prefix).unwrap();
        let billed = config.billed("s").unwrap();
        let options = options.clone().with_prefixes(1, 1000).with_concurrency(8);
        let hidden = scan_hidden(billed.as_ref(), &options).await.unwrap();
        let under = match prefix {
            "" => String::new(),
            p => format!("{p}/"),
        };
        let expected: Value =
            serde_json::from_str(&boto3(backend, &bucket, EXPECTED, &[&under])).unwrap();
        assert!(
            expected["noncurrent"].as_u64().unwrap() > 0,
            "the history has versions"
        );
        assert_same(
            &hidden,
            &expected,
            &format!(
                "{backend:?}, store prefix `{prefix}`, blocks of {}",
                options.page_entries
            ),
        );
        // The requests are the store's: counted as listings.
        let counts = config.requests().of("s");
        assert!(
            counts.get(stratus::requests::RequestKind::List) >= 2,
            "{counts}"
        );
        assert_eq!(
            counts.get(stratus::requests::RequestKind::Get),
            0,
            "{counts}"
        );
    }
}

#[tokio::test]
async fn a_versioned_bucket_on_seaweedfs_counts_as_boto3_does() {
    // 1,050 versions of one key: its entries span two pages (key and version markers).
    versioned_bucket_matches_boto3(Backend::SeaweedFs, 1050).await;
}

#[tokio::test]
async fn a_versioned_bucket_on_moto_counts_as_boto3_does() {
    versioned_bucket_matches_boto3(Backend::Moto, 3).await;
}

/// A [`Billed`] that runs `during` once, at its first abort: what another client does
/// while a cleanup runs.
#[derive(Debug)]
struct Meanwhile {
    inner: Arc<dyn Billed>,
    started: AtomicBool,
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Display for Meanwhile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[async_trait::async_trait]
impl Billed for Meanwhile {
    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> futures::stream::BoxStream<'a, stratus::Result<VersionEntry>> {
        self.inner.versions(prefix)
    }
    fn uploads<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> futures::stream::BoxStream<'a, stratus::Result<Upload>> {
        self.inner.uploads(prefix)
    }
    async fn abort(&self, upload: &Upload) -> stratus::Result<bool> {
        if !self.started.swap(true, Ordering::SeqCst) {
            // A fresh upload of the same key as the one being aborted, and one of a new key.
            begin(&self.store, &upload.key, 1).await;
            begin(&self.store, "fresh/new.bin", 0).await;
        }
        self.inner.abort(upload).await
    }
}

/// Begin an upload of `key` with `parts` parts of 5 MiB, never completed.
async fn begin(store: &Arc<dyn ObjectStore>, key: &str, parts: usize) {
    let mut upload = store.put_multipart(&Path::from(key)).await.unwrap();
    for _ in 0..parts {
        upload.put_part(vec![7u8; 5 << 20].into()).await.unwrap();
    }
    // Dropped without completing or aborting: what a crashed writer leaves.
    drop(upload);
}

async fn listed(billed: &dyn Billed) -> Vec<(String, String)> {
    use futures::TryStreamExt;
    let mut uploads: Vec<(String, String)> = billed
        .uploads(None)
        .map_ok(|u| (u.key, u.upload_id))
        .try_collect()
        .await
        .unwrap();
    uploads.sort();
    uploads
}

#[tokio::test]
async fn cleanup_aborts_exactly_the_old_uploads_it_listed_and_spares_new_ones() {
    let backend = Backend::SeaweedFs;
    let Some(_) = access(backend) else {
        return;
    };
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let prefix = unique_prefix("cleanup");
    let config = config(backend, &bucket, &prefix).unwrap();
    let store = config.open("s").unwrap();
    let billed = config.billed("s").unwrap();
    begin(&store, "old/a.bin", 2).await;
    begin(&store, "old/b c.bin", 0).await;
    let old = listed(billed.as_ref()).await;
    assert_eq!(old.len(), 2, "{old:?}");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    // The dry run lists both, aborts nothing.
    let options = CleanupOptions::new(std::time::Duration::from_secs(2));
    let dry = cleanup_uploads(billed.as_ref(), &options).await.unwrap();
    let mut would: Vec<_> = dry
        .old
        .iter()
        .map(|u| (u.key.clone(), u.upload_id.clone()))
        .collect();
    would.sort();
    assert_eq!(would, old);
    assert_eq!(dry.bytes, 10 << 20);
    assert_eq!(
        listed(billed.as_ref()).await,
        old,
        "a dry run changes nothing"
    );

    // The real run, with two uploads begun while it runs.
    let meanwhile = Meanwhile {
        inner: Arc::clone(&billed),
        started: AtomicBool::new(false),
        store: Arc::clone(&store),
    };
    let done = cleanup_uploads(&meanwhile, &options.clone().with_dry_run(false))
        .await
        .unwrap();
    let mut aborted: Vec<_> = done
        .old
        .iter()
        .map(|u| (u.key.clone(), u.upload_id.clone()))
        .collect();
    aborted.sort();
    assert_eq!(aborted, old, "exactly the old uploads listed are aborted");
    let left = listed(billed.as_ref()).await;
    assert_eq!(
        left.len(),
        2,
        "the uploads begun during the run survive: {left:?}"
    );
    assert!(left.iter().all(|u| !old.contains(u)), "{left:?}");
    assert!(left.iter().any(|(k, _)| k == "fresh/new.bin"), "{left:?}");
    // A young upload is kept by a run that follows.
    let again = cleanup_uploads(billed.as_ref(), &options.clone().with_dry_run(false))
        .await
        .unwrap();
    assert!(again.old.is_empty());
    assert_eq!(again.kept, 2);
    assert_eq!(listed(billed.as_ref()).await, left);
    // Leave nothing behind for the next run.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    cleanup_uploads(billed.as_ref(), &options.with_dry_run(false))
        .await
        .unwrap();
    assert!(listed(billed.as_ref()).await.is_empty());
}

#[test]
fn the_command_reports_billed_bytes_and_cleans_up() {
    let backend = Backend::SeaweedFs;
    let Some((endpoint, key, secret)) = access(backend) else {
        return;
    };
    let bucket = unique_bucket("billed-cli");
    boto3(backend, &bucket, HISTORY, &["11", "0"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stores.toml");
    std::fs::write(
        &file,
        format!(
            "[stores.s]\nprovider = \"s3\"\nbucket = \"{bucket}\"\nendpoint = \"{endpoint}\"\n\
             allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"{key}\"\n\
             secret_access_key = \"{secret}\"\n\
             prices = {{ storage = {{ STANDARD = 1000.0 }} }}\n"
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(stratus())
            .arg("--config")
            .arg(&file)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stratus {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (json, _) = run(&["inventory", "s", "--billed", "--json"]);
    let report: Value = serde_json::from_str(&json).unwrap();
    let expected: Value = serde_json::from_str(&boto3(backend, &bucket, EXPECTED, &[""])).unwrap();
    let hidden = &report["hidden"];
    assert_eq!(
        hidden["versions"]["noncurrent"]["objects"],
        expected["noncurrent"]
    );
    assert_eq!(
        hidden["versions"]["noncurrent"]["bytes"],
        expected["noncurrent_bytes"]
    );
    assert_eq!(hidden["versions"]["delete_markers"], expected["markers"]);
    assert_eq!(hidden["uploads"]["uploads"]["objects"], expected["uploads"]);
    assert_eq!(
        hidden["uploads"]["uploads"]["bytes"],
        expected["upload_bytes"]
    );
    let (table, _) = run(&["inventory", "s", "--billed"]);
    assert!(table.contains("noncurrent versions"), "{table}");
    assert!(table.contains("NoncurrentVersionExpiration"), "{table}");
    // The estimate per top-level prefix: `up/` holds only unfinished uploads (boto3's
    // bytes), priced at $1,000 a GiB-month so that the cents show.
    let upload_bytes = expected["upload_bytes"].as_u64().unwrap();
    let up = table
        .lines()
        .find(|line| line.trim_start().starts_with("up/") && line.contains("/month"))
        .unwrap_or_else(|| panic!("no line for up/ in the estimate: {table}"));
    let cost = upload_bytes as f64 / (1u64 << 30) as f64 * 1000.0;
    assert!(up.contains(&format!("about ${cost:.2}/month")), "{up}");
    assert!(table.contains("By top-level prefix"), "{table}");
    let (dry, _) = run(&["cleanup", "uploads", "s", "--older-than", "0s"]);
    assert!(dry.contains("would abort  up/one.bin"), "{dry}");
    assert!(dry.contains("3 uploads older than"), "{dry}");
    assert!(dry.contains("nothing was changed"), "{dry}");
    let (done, requests) = run(&["cleanup", "uploads", "s", "--older-than", "0s", "--apply"]);
    assert!(done.contains("aborted  logs/never.bin"), "{done}");
    assert!(
        requests.contains("3 multipart"),
        "the aborts are counted: {requests}"
    );
    let (after, _) = run(&["cleanup", "uploads", "s", "--older-than", "0s"]);
    assert!(after.contains("0 uploads older than"), "{after}");
}

/// GCS on fake-gcs-server: a versioned bucket's noncurrent generations (a put over a
/// live object, a delete of one) equal what the history itself says; GCS has no delete
/// markers, and its unfinished uploads are said not to be looked at.
#[tokio::test]
async fn noncurrent_generations_on_fake_gcs_equal_the_history() {
    let Some(endpoint) = Backend::FakeGcs.endpoint() else {
        return;
    };
    let bucket = unique_bucket("gcs");
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{endpoint}/storage/v1/b"))
        .header("content-type", "application/json")
        .body(serde_json::json!({"name": bucket, "versioning": {"enabled": true}}).to_string())
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    // A seeded history: per key, puts (sizes 1..3000) and deletes.
    let mut state: u64 = 11;
    let mut next = |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let keys = ["logs/a", "logs/b c", "img/ü+%.bin", "top", "logs/2024/x"];
    let (mut noncurrent, mut bytes) = (0u64, 0u64);
    let mut per_prefix: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for _ in 0..30 {
        let key = keys[next(keys.len() as u64) as usize];
        let url = |path: &str| format!("{endpoint}{path}");
        let live = http
            .get(url(&format!(
                "/storage/v1/b/{bucket}/o/{}",
                percent_encode(key)
            )))
            .send()
            .await
            .unwrap();
        let live_size = match live.status().is_success() {
            true => {
                let meta: Value = serde_json::from_slice(&live.bytes().await.unwrap()).unwrap();
                Some(meta["size"].as_str().unwrap().parse::<u64>().unwrap())
            }
            false => None,
        };
        let replaced = |size: u64,
                        noncurrent: &mut u64,
                        bytes: &mut u64,
                        per: &mut BTreeMap<String, (u64, u64)>| {
            *noncurrent += 1;
            *bytes += size;
            if let Some((first, _)) = key.split_once('/') {
                let e = per.entry(first.to_string()).or_default();
                e.0 += 1;
                e.1 += size;
            }
        };
        if next(4) == 0 {
            let deleted = http
                .delete(url(&format!(
                    "/storage/v1/b/{bucket}/o/{}",
                    percent_encode(key)
                )))
                .send()
                .await
                .unwrap();
            if let Some(size) = live_size {
                assert!(deleted.status().is_success(), "{}", deleted.status());
                replaced(size, &mut noncurrent, &mut bytes, &mut per_prefix);
            }
        } else {
            let size = 1 + next(3000);
            let put = http
                .post(url(&format!(
                    "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
                    percent_encode(key)
                )))
                .body(vec![b'g'; size as usize])
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success(), "{}", put.status());
            if let Some(size) = live_size {
                replaced(size, &mut noncurrent, &mut bytes, &mut per_prefix);
            }
        }
    }
    assert!(noncurrent > 0, "the history replaces or deletes something");
    let toml = format!(
        "[stores.g]\nprovider = \"gcs\"\nbucket = \"{bucket}\"\nendpoint = \"{endpoint}\"\n\
         allow_http = true\nservice_account_key = '{{\"disable_oauth\": true, \
         \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n"
    );
    let config = Config::from_toml(&toml, "test.toml", ".").unwrap();
    let billed = config.billed("g").unwrap();
    // fake-gcs-server does not serve the XML API's ListMultipartUploads (it answers
    // `GET /bucket?uploads` with its object listing): the uploads are said not looked
    // at, naming what it answered, and the versions are counted.
    let options = HiddenOptions::new(Utc::now()).with_prefixes(1, 100);
    let hidden = scan_hidden(billed.as_ref(), &options).await.unwrap();
    // Cut into key ranges every block of 2 entries (begun at `startOffset`): the same.
    let mut ranged = options.clone().with_concurrency(6);
    (ranged.page_entries, ranged.uploads) = (2, false);
    let in_ranges = scan_hidden(billed.as_ref(), &ranged).await.unwrap();
    assert_eq!(in_ranges.versions, hidden.versions);
    assert!(
        hidden
            .not_seen
            .join(" ")
            .contains("`ListBucketResult`, not `ListMultipartUploadsResult`"),
        "{:?}",
        hidden.not_seen
    );
    let versions = hidden.versions.as_ref().unwrap();
    assert_eq!(
        (versions.noncurrent.objects, versions.noncurrent.bytes),
        (noncurrent, bytes)
    );
    assert_eq!(versions.delete_markers, 0, "GCS has no delete markers");
    let ours: BTreeMap<String, (u64, u64)> = versions
        .prefixes
        .entries()
        .into_iter()
        .filter(|e| e.depth == 1)
        .map(|e| (e.prefix, (e.objects, e.bytes)))
        .collect();
    assert_eq!(ours, per_prefix);
    assert!(hidden.uploads.is_none());
    let counts = config.requests().of("g");
    assert!(
        counts.get(stratus::requests::RequestKind::List) >= 1,
        "{counts}"
    );
    // A cleanup on the emulator says what it answered, rather than finding nothing.
    let err = cleanup_uploads(
        billed.as_ref(),
        &CleanupOptions::new(std::time::Duration::ZERO),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("`ListBucketResult`"), "{err}");
}

/// `key` as one path segment of a URL.
fn percent_encode(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The Azure SDK (azure-storage-blob, the independent client) on Azurite, in the test
/// container, with `PREFIX` set; `script` prints what the test reads.
fn azure_sdk(prefix: &str, script: &str, args: &[&str]) -> String {
    let container = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let script = format!("P = os.environ[\"PREFIX\"] + \"/\"\n{script}");
    common::azure_sdk(&container, prefix, &script, args)
}

/// A seeded history on Azurite: puts (overwrites), snapshots, deletes (with their
/// snapshots), blocks staged on new names and on names with committed bytes, an empty
/// blob; then what the SDK lists of it: the kept states that are not current (snapshots,
/// noncurrent versions, soft-deleted blobs; Azurite 3.37 keeps no versions and no
/// soft-deleted blobs, so there snapshots only), and the staged blocks of blobs without
/// committed bytes, from each blob's block list.
const AZURE_HISTORY: &str = r#"
rng = random.Random(int(sys.argv[1]))
names = ["logs/a", "logs/b c", "img/ü+%.bin", "top", "logs/2024/x", "deep/er/k"]
for step in range(80):
    b = c.get_blob_client(P + rng.choice(names))
    op = rng.random()
    if op < 0.45:
        b.upload_blob(os.urandom(rng.randint(1, 300)), overwrite=True)
    elif op < 0.75:
        if b.exists():
            b.create_snapshot()
    elif op < 0.9:
        b.stage_block("%08d" % step, os.urandom(rng.randint(1, 200)))
    elif b.exists():
        b.delete_blob(delete_snapshots="include")
for i in range(3):
    b = c.get_blob_client(P + "up/%d" % i)
    for j in range(i + 1):
        b.stage_block("%08d" % j, os.urandom(100 + 10 * i + j))
c.get_blob_client(P + "empty").upload_blob(b"")
top = lambda name: name[len(P):].split("/")[0] if "/" in name[len(P):] else None
out = {"noncurrent": 0, "noncurrent_bytes": 0, "snapshots": 0, "versions_by_prefix": {},
       "uploads": 0, "parts": 0, "upload_bytes": 0, "uploads_by_prefix": {}, "staged_on_committed": 0,
       "every": [0, 0, 0], "every_by_prefix": {}}
def add(table, name, size):
    if top(name):
        e = out[table].setdefault(top(name), [0, 0]); e[0] += 1; e[1] += size
for x in c.list_blobs(name_starts_with=P, include=["snapshots", "versions", "deleted"]):
    if x.snapshot or x.deleted or (x.version_id and not x.is_current_version):
        out["noncurrent"] += 1; out["noncurrent_bytes"] += x.size
        out["snapshots"] += bool(x.snapshot)
        add("versions_by_prefix", x.name, x.size)
for x in c.list_blobs(name_starts_with=P, include=["uncommittedblobs"]):
    staged = c.get_blob_client(x.name).get_block_list("uncommitted")[1]
    if staged:
        size = sum(b.size for b in staged)
        out["every"][0] += 1; out["every"][1] += len(staged); out["every"][2] += size
        add("every_by_prefix", x.name, size)
    if staged and x.size == 0:
        size = sum(b.size for b in staged)
        out["uploads"] += 1; out["parts"] += len(staged); out["upload_bytes"] += size
        add("uploads_by_prefix", x.name, size)
    elif staged:
        out["staged_on_committed"] += 1
print(json.dumps(out))
"#;

/// Azure's kept states and staged blocks, counted by stratus (by folder, 4 at once)
/// against what the Azure SDK lists on the same Azurite container, over seeded
/// histories: snapshots (Azurite keeps no versions and no soft-deleted blobs: those are
/// tested against the REST reference's XML in `src/billed/azure.rs`), and the blocks
/// staged on blobs without committed bytes; an empty blob (one block list asked) is not an
/// upload; blocks staged on a blob with committed bytes are said not seen, and counted
/// with every blob's block list read (`uploads_per_object`).
#[tokio::test]
async fn snapshots_and_staged_blocks_on_azurite_count_as_the_azure_sdk_does() {
    if Backend::Azurite.endpoint().is_none() {
        return;
    }
    for seed in [1u64, 2, 3] {
        let prefix = unique_prefix("azure-billed");
        let expected: Value =
            serde_json::from_str(&azure_sdk(&prefix, AZURE_HISTORY, &[&seed.to_string()])).unwrap();
        let number = |name: &str| expected[name].as_u64().unwrap();
        assert!(
            number("snapshots") > 0 && number("uploads") >= 3,
            "{expected}"
        );
        let table = Backend::Azurite.store_toml(&prefix).unwrap();
        let config = Config::from_toml(&format!("[stores.az]\n{table}"), "test.toml", ".").unwrap();
        let billed = config.billed("az").unwrap();
        let hidden = scan_hidden(
            billed.as_ref(),
            &HiddenOptions::new(Utc::now()).with_concurrency(4),
        )
        .await
        .unwrap();
        let versions = hidden.versions.as_ref().unwrap();
        let uploads = hidden.uploads.as_ref().unwrap();
        assert_eq!(
            (
                versions.noncurrent.objects,
                versions.noncurrent.bytes,
                versions.delete_markers,
                uploads.uploads.objects,
                uploads.parts,
                uploads.uploads.bytes
            ),
            (
                number("noncurrent"),
                number("noncurrent_bytes"),
                0,
                number("uploads"),
                number("parts"),
                number("upload_bytes")
            ),
            "seed {seed}: (noncurrent, bytes, markers, uploads, blocks, bytes) against {expected}"
        );
        let by_prefix = |breakdown: &stratus::inventory::PrefixBreakdown| -> Value {
            let map: serde_json::Map<String, Value> = breakdown
                .entries()
                .into_iter()
                .filter(|e| e.depth == 1)
                .map(|e| (e.prefix, serde_json::json!([e.objects, e.bytes])))
                .collect();
            Value::Object(map)
        };
        assert_eq!(
            by_prefix(&versions.prefixes),
            expected["versions_by_prefix"],
            "seed {seed}"
        );
        assert_eq!(
            by_prefix(&uploads.prefixes),
            expected["uploads_by_prefix"],
            "seed {seed}"
        );
        assert!(
            hidden
                .not_seen
                .iter()
                .any(|n| n.contains("have committed bytes")),
            "{:?}",
            hidden.not_seen
        );
        // Every blob's block list: the blocks staged on committed blobs too.
        let every = scan_hidden(
            billed.as_ref(),
            &HiddenOptions::new(Utc::now())
                .with_concurrency(4)
                .with_uploads_per_object(true),
        )
        .await
        .unwrap();
        let uploads = every.uploads.as_ref().unwrap();
        assert!(
            expected["every"][0].as_u64().unwrap() > number("uploads"),
            "seed {seed}: the history stages no block on a committed blob: {expected}"
        );
        assert_eq!(
            serde_json::json!([
                uploads.uploads.objects,
                uploads.parts,
                uploads.uploads.bytes
            ]),
            expected["every"],
            "seed {seed}: (uploads, blocks, bytes) with every blob's block list"
        );
        assert_eq!(
            by_prefix(&uploads.prefixes),
            expected["every_by_prefix"],
            "seed {seed}"
        );
        assert_eq!(every.versions, hidden.versions, "seed {seed}");
        assert!(
            !every.not_seen.iter().any(|n| n.contains("committed bytes")),
            "{:?}",
            every.not_seen
        );
    }
}

/// A folder of more blobs than a page holds (5,000): its snapshots on either page are
/// counted once each, the listing following Azurite's markers. And `cleanup uploads`
/// lists Azure's staged blocks in a dry run and refuses to abort them (Azure has no
/// abort), before sending anything.
#[tokio::test]
async fn a_folder_over_two_pages_on_azurite_and_cleanup_refused() {
    use futures::StreamExt;
    if Backend::Azurite.endpoint().is_none() {
        return;
    }
    let prefix = unique_prefix("azure-pages");
    let table = Backend::Azurite.store_toml(&prefix).unwrap();
    let config = Config::from_toml(&format!("[stores.az]\n{table}"), "test.toml", ".").unwrap();
    let store = config.open("az").unwrap();
    futures::stream::iter(0..5_001)
        .map(|i| {
            let store = Arc::clone(&store);
            async move {
                store
                    .put(&Path::from(format!("many/{i:05}")), vec![1u8; 3].into())
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>()
        .await;
    azure_sdk(
        &prefix,
        r#"
for name in ["many/00000", "many/04999", "many/05000"]:
    c.get_blob_client(P + name).create_snapshot()
c.get_blob_client(P + "many/05000").upload_blob(b"12345678", overwrite=True)
c.get_blob_client(P + "staged").stage_block("b1", b"x" * 42)
"#,
        &[],
    );
    let billed = config.billed("az").unwrap();
    let hidden = scan_hidden(billed.as_ref(), &HiddenOptions::new(Utc::now()))
        .await
        .unwrap();
    let versions = hidden.versions.unwrap();
    assert_eq!(
        (versions.noncurrent.objects, versions.noncurrent.bytes),
        (3, 9)
    );
    let uploads = hidden.uploads.unwrap();
    assert_eq!((uploads.uploads.objects, uploads.uploads.bytes), (1, 42));
    let old = CleanupOptions::new(std::time::Duration::ZERO);
    let dry = cleanup_uploads(billed.as_ref(), &old).await.unwrap();
    assert_eq!(
        dry.old.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
        ["staged"]
    );
    let err = cleanup_uploads(billed.as_ref(), &old.with_dry_run(false))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no abort"), "{err}");
    let still = azure_sdk(
        &prefix,
        "print(len(c.get_blob_client(P + 'staged').get_block_list('uncommitted')[1]))",
        &[],
    );
    assert_eq!(still.trim(), "1");
}

/// The command on Azurite: `--billed` counts the blocks staged on a blob without
/// committed bytes and says those on a committed blob were not looked at;
/// `--every-blob` reads every blob's block list and counts both.
#[test]
fn the_command_reads_every_blobs_block_list_when_asked() {
    if Backend::Azurite.endpoint().is_none() {
        return;
    }
    let prefix = unique_prefix("azure-every");
    let table = Backend::Azurite.store_toml(&prefix).unwrap();
    azure_sdk(
        &prefix,
        r#"
c.get_blob_client(P + "new/staged").stage_block("b1", b"x" * 42)
b = c.get_blob_client(P + "old/committed")
b.upload_blob(b"committed", overwrite=True)
b.stage_block("b1", b"y" * 1000)
b.stage_block("b2", b"z" * 7)
c.get_blob_client(P + "old/plain").upload_blob(b"plain", overwrite=True)
"#,
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stores.toml");
    std::fs::write(&file, format!("[stores.az]\n{table}")).unwrap();
    let run = |args: &[&str]| -> Value {
        let out = Command::new(stratus())
            .arg("--config")
            .arg(&file)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "stratus {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let uploads = |report: &Value| {
        let u = &report["hidden"]["uploads"];
        (
            u["uploads"]["objects"].clone(),
            u["parts"].clone(),
            u["uploads"]["bytes"].clone(),
        )
    };
    let listed = run(&["inventory", "az", "--billed", "--json"]);
    assert_eq!(
        uploads(&listed),
        (1.into(), 1.into(), 42.into()),
        "{listed}"
    );
    let not_seen = listed["hidden"]["not_seen"].to_string();
    assert!(not_seen.contains("--every-blob"), "{not_seen}");
    let every = run(&["inventory", "az", "--billed", "--every-blob", "--json"]);
    assert_eq!(
        uploads(&every),
        (2.into(), 3.into(), 1049.into()),
        "{every}"
    );
    let not_seen = every["hidden"]["not_seen"].to_string();
    assert!(!not_seen.contains("committed bytes"), "{every}");
    // Azure dates no staged block: the committed blob's upload has no start.
    assert!(
        not_seen.contains("when 1 of them (1007 B) were begun is not known"),
        "{every}"
    );
    assert_eq!(every["hidden"]["uploads"]["stale"]["objects"], 0, "{every}");
    // The flag means nothing without --billed: refused, not ignored.
    let out = Command::new(stratus())
        .arg("--config")
        .arg(&file)
        .args(["inventory", "az", "--every-blob"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--billed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// moto lists a page's versions before its delete markers. Key `a` holds one delete
/// marker; key `k` a delete marker, then 999 versions over it: page 1 is `a`'s marker and
/// 999 of `k`'s versions (moto renders `k` first), page 2 `k`'s marker alone. `k`'s
/// marker is not orphaned: `k` has versions on page 1.
#[tokio::test]
async fn a_key_split_across_pages_in_motos_order_counts_as_boto3_does() {
    let backend = Backend::Moto;
    let Some(_) = access(backend) else {
        return;
    };
    let bucket = unique_bucket("billed-split");
    let script = r#"
s3.create_bucket(Bucket=BUCKET)
s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
def marker_only(key):
    # moto puts no marker on a key that does not exist: a version, its marker, and the
    # version deleted.
    v = s3.put_object(Bucket=BUCKET, Key=key, Body=b"0")["VersionId"]
    s3.delete_object(Bucket=BUCKET, Key=key)
    s3.delete_object(Bucket=BUCKET, Key=key, VersionId=v)
marker_only("k")
for i in range(999):
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"v" * (1 + i % 5))
marker_only("a")
"#;
    boto3(backend, &bucket, script, &[]);
    let config = config(backend, &bucket, "").unwrap();
    let billed = config.billed("s").unwrap();
    let hidden = scan_hidden(billed.as_ref(), &HiddenOptions::new(Utc::now()))
        .await
        .unwrap();
    let expected: Value = serde_json::from_str(&boto3(backend, &bucket, EXPECTED, &[""])).unwrap();
    assert_eq!(expected["orphaned"].as_u64(), Some(1), "{expected}");
    assert_same(&hidden, &expected, "moto, a key split across pages");
}

// ---- By folder against one listing, on real servers ----

/// `inner` without its listing by folder: the default `versions_by_folder` (every entry,
/// no folder), i.e. one listing of the whole prefix.
#[derive(Debug)]
struct OneListing(Arc<dyn Billed>);

impl std::fmt::Display for OneListing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[async_trait::async_trait]
impl Billed for OneListing {
    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> futures::stream::BoxStream<'a, stratus::Result<VersionEntry>> {
        self.0.versions(prefix)
    }
    fn uploads<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> futures::stream::BoxStream<'a, stratus::Result<Upload>> {
        self.0.uploads(prefix)
    }
    async fn abort(&self, upload: &Upload) -> stratus::Result<bool> {
        self.0.abort(upload).await
    }
}

/// More folders than a page holds (1,001 at the top, with keys beside them): the top
/// listing by folder ends pages on a folder, and goes on from it (a key marker that is a
/// folder, no version-ID marker). An object named like its folder (`d0500/`, put twice
/// and deleted) and keys at the top. By folder (concurrency 1 and 8) equals one listing.
const MANY_FOLDERS: &str = r#"
s3.create_bucket(Bucket=BUCKET)
s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
for i in range(1001):
    s3.put_object(Bucket=BUCKET, Key=f"d{i:04}/x", Body=b"x")
for key in ["d0500/", "d0998/x", "d0999/", "d1000/x", "a", "t"]:
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"old" * 10)
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"new")
for key in ["d0500/", "u", "d0999/gone"]:
    s3.delete_object(Bucket=BUCKET, Key=key)
print("ok")
"#;

async fn many_folders_equal_one_listing(backend: Backend) {
    let Some(_) = access(backend) else {
        return;
    };
    let bucket = unique_bucket("folders");
    boto3(backend, &bucket, MANY_FOLDERS, &[]);
    let config = config(backend, &bucket, "").unwrap();
    let billed: Arc<dyn Billed> = config.billed("s").unwrap();
    let mut options = HiddenOptions::new(Utc::now()).with_prefixes(2, 5000);
    options.uploads = false;
    let one = scan_hidden(
        &OneListing(Arc::clone(&billed)),
        &options.clone().with_concurrency(1),
    )
    .await
    .unwrap();
    let v = one.versions.as_ref().unwrap();
    // What the history gives (9, 185, 3, Some(2)); the servers differ (SeaweedFS keeps
    // no `d0500/` or `d0999/`, keys ending with `/`; moto makes no marker for a key
    // never written): only by folder against one listing is asserted.
    eprintln!(
        "{backend:?}: one listing {:?}",
        (
            v.noncurrent.objects,
            v.noncurrent.bytes,
            v.delete_markers,
            v.orphaned_markers
        )
    );
    assert!(
        v.noncurrent.objects >= 6,
        "{backend:?}: the history has versions"
    );
    for concurrency in [1, 8] {
        let by_folder = scan_hidden(
            billed.as_ref(),
            &options.clone().with_concurrency(concurrency),
        )
        .await
        .unwrap_or_else(|e| panic!("{backend:?}, by folder at {concurrency}: {e}"));
        assert_eq!(
            by_folder.versions, one.versions,
            "{backend:?}, concurrency {concurrency}"
        );
    }
}

#[tokio::test]
async fn more_folders_than_a_page_on_seaweedfs_equal_one_listing() {
    many_folders_equal_one_listing(Backend::SeaweedFs).await;
}

/// As on SeaweedFS, on moto: 186 s there (its versions listings slow down with every
/// folder listed), so run by hand: `cargo test --all-features --test billed -- --ignored`.
#[tokio::test]
#[ignore = "186 s on moto: run with --ignored"]
async fn more_folders_than_a_page_on_moto_equal_one_listing() {
    many_folders_equal_one_listing(Backend::Moto).await;
}
