//! An independent oracle: DuckDB computes the inventory of the same local trees and the
//! same exported report files (`scripts/duckdb_inventory.py --oracle`), and every field
//! of stratus's reports must equal it.
//!
//! Each case is a seeded random tree: keys of unicode and of every character object_store
//! would percent-encode, files object_store's local store hides (`NAME#N`), sizes at
//! powers of two and ties, modification times within a millisecond of an age bucket's
//! boundary and in the future, a prefix (of unicode and reserved characters, or none, or
//! one that does not exist) and a depth. stratus scans it through a configured local
//! store (sequential or parallel), exports it as an S3 Inventory (Parquet) and reads the
//! export back under the same prefix; DuckDB reads the folder (os.walk, os.stat) and the
//! Parquet files itself. A mismatch names the case, its seed and settings, and the field.
//!
//! Needs Python with DuckDB (`STRATUS_TEST_PYTHON`, which scripts/test.sh sets).

#![cfg(feature = "reports")]

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::sync::Arc;
use stratus::inventory::export::{export, ExportOptions};
use stratus::inventory::{reports, scan, Report, ScanOptions, SizeHistogram};
use stratus::object_store::ObjectStore;

/// How many random cases run (each: a scan and a report read, both compared).
const CASES: u64 = 240;
const DAY_MS: i64 = 86_400_000;

/// Segments: plain, unicode, and every character `Path::from` would percent-encode.
const SEGMENTS: &[&str] = &[
    "a",
    "b",
    "logs",
    "café",
    "日本",
    "🎉",
    "a%b",
    "a~b",
    "a#b",
    "[x]",
    "a?b",
    "*",
    "{y}",
    "^",
    "a\\b",
    "`",
    "\"q\"",
    "<l>",
    "|",
    "a b",
    "a+b",
    "caf%C3%A9",
    "x#1",
    "z.txt",
    "a#b#1",
];
/// File names object_store's local store hides.
const HIDDEN: &[&str] = &["f#1", "a#22", "#3", "café#0042"];
const SIZES: &[u64] = &[
    0, 1, 2, 3, 511, 512, 513, 1023, 1024, 1025, 4096, 65535, 65536,
];
const BOUNDARY_DAYS: &[i64] = &[0, 1, 7, 30, 90, 365, 3 * 365, 2000];

struct Case {
    name: String,
    dir: tempfile::TempDir,
    prefix: String,
    depth: usize,
    top: usize,
    concurrency: usize,
}

fn python() -> Option<String> {
    match std::env::var("STRATUS_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ if std::env::var("STRATUS_REQUIRE_EMULATORS").as_deref() == Ok("1") => {
            panic!("STRATUS_TEST_PYTHON is not set: scripts/test.sh installs DuckDB in its venv")
        }
        _ => {
            eprintln!("SKIPPED: STRATUS_TEST_PYTHON is not set (scripts/test.sh sets it, with DuckDB installed)");
            None
        }
    }
}

/// The case of `seed`: its tree written, its settings drawn.
fn make_case(seed: u64, as_of: DateTime<Utc>) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    std::fs::create_dir_all(&root).unwrap();
    let mut folders: Vec<String> = Vec::new();
    let files = rng.random_range(0..30);
    let as_of_ms = as_of.timestamp_millis();
    for _ in 0..files {
        let depth = rng.random_range(1..=4);
        let mut parts: Vec<&str> = (0..depth)
            .map(|_| SEGMENTS[rng.random_range(0..SEGMENTS.len())])
            .collect();
        if rng.random_bool(0.12) {
            *parts.last_mut().unwrap() = HIDDEN[rng.random_range(0..HIDDEN.len())];
        }
        let key = parts.join("/");
        let path = root.join(&key);
        // A name that is already a file (or a folder) on this path: drawn again later.
        if std::fs::create_dir_all(path.parent().unwrap()).is_err() || path.exists() {
            continue;
        }
        let size = if rng.random_bool(0.6) {
            SIZES[rng.random_range(0..SIZES.len())]
        } else {
            rng.random_range(0..200_000)
        };
        std::fs::write(&path, vec![b'x'; size as usize]).unwrap();
        // Within a millisecond of a bucket boundary (either side, sub-millisecond parts
        // too), anywhere, or in the future.
        let ns: i64 = match rng.random_range(0..3) {
            0 => {
                let days = BOUNDARY_DAYS[rng.random_range(0..BOUNDARY_DAYS.len())];
                let ms = as_of_ms - days * DAY_MS + rng.random_range(-1..=1);
                ms * 1_000_000 + [0, 250_000, 999_999][rng.random_range(0..3)]
            }
            1 => as_of_ms * 1_000_000 - rng.random_range(0..4000 * DAY_MS) * 1_000_000,
            _ => as_of_ms * 1_000_000 + rng.random_range(-2_000_000_i64..5_000_000_000),
        };
        let when = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns as u64);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(when).unwrap();
        for n in 1..parts.len() {
            folders.push(parts[..n].join("/"));
        }
    }
    folders.sort();
    folders.dedup();
    let prefix = match rng.random_range(0..5) {
        0 | 1 => String::new(),
        2 => "nope/café".to_string(),
        _ if folders.is_empty() => String::new(),
        _ => folders[rng.random_range(0..folders.len())].clone(),
    };
    let depth = rng.random_range(0..4);
    let top = rng.random_range(0..7);
    let concurrency = [1, 4, 16][rng.random_range(0..3)];
    Case {
        name: format!(
            "case {seed} (prefix {prefix:?}, depth {depth}, top {top}, concurrency {concurrency}, {files} files drawn)"
        ),
        dir,
        prefix,
        depth,
        top,
        concurrency,
    }
}

/// A report in the oracle's form: times in whole milliseconds, empty buckets left out.
fn normalized(report: &Report) -> Value {
    let counts = |c: stratus::inventory::Counts| json!([c.objects, c.bytes]);
    let mut prefixes: Vec<(String, u64, u64)> = report
        .prefixes
        .entries()
        .into_iter()
        .map(|e| (e.prefix, e.objects, e.bytes))
        .collect();
    prefixes.sort();
    json!({
        "objects": report.objects,
        "bytes": report.bytes,
        "zero_byte_objects": report.zero_byte_objects,
        "smallest": report.smallest,
        "largest": report.largest,
        "oldest_ms": report.oldest.map(|t| t.timestamp_millis()),
        "newest_ms": report.newest.map(|t| t.timestamp_millis()),
        "sizes": report.sizes.buckets().filter(|b| b.objects > 0)
            .map(|b| json!([SizeHistogram::bucket_of(b.min), b.objects, b.bytes]))
            .collect::<Vec<_>>(),
        "ages": {
            "future": counts(report.ages.future()),
            "buckets": report.ages.buckets().map(|(_, c)| counts(c)).collect::<Vec<_>>(),
        },
        "prefixes": prefixes.into_iter().map(|(p, o, b)| json!([p, o, b])).collect::<Vec<_>>(),
        "top": report.top.largest().into_iter()
            .map(|o| json!([o.key, o.size, o.last_modified.timestamp_millis()]))
            .collect::<Vec<_>>(),
        "unlisted": report.unlisted.as_ref().map(|u| json!([u.objects, u.bytes, u.examples])),
    })
}

/// Every field that differs, named.
fn differences(name: &str, what: &str, ours: &Value, oracle: &Value) -> Vec<String> {
    let (Value::Object(ours), Value::Object(oracle)) = (ours, oracle) else {
        return vec![format!("{name}, {what}: not objects")];
    };
    let mut out = Vec::new();
    for (field, expected) in oracle {
        let got = ours.get(field).unwrap_or(&Value::Null);
        if got != expected {
            out.push(format!(
                "{name}, {what}, field `{field}`: stratus {got}, DuckDB {expected}"
            ));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_computes_the_same_report_from_the_same_trees_and_report_files() {
    let Some(python) = python() else {
        return;
    };
    let started = std::time::Instant::now();
    // Half a millisecond past a whole millisecond: ages are measured at millisecond
    // precision on both sides.
    let as_of = DateTime::from_timestamp_nanos(1_795_000_000_123_500_000);
    let mut ours = Vec::new();
    let mut inputs = Vec::new();
    let mut names = Vec::new();
    let mut keep = Vec::new();
    for seed in 0..CASES {
        let case = make_case(seed, as_of);
        let toml = "[stores.t]\nprovider = \"local\"\nroot = \"data\"\n\
                    [stores.out]\nprovider = \"local\"\nroot = \"out\"\ncreate_root = true\n";
        let config = stratus::Config::from_toml(toml, "oracle.toml", case.dir.path()).unwrap();
        let store = config.open("t").unwrap();
        let out: Arc<dyn ObjectStore> = config.open("out").unwrap();
        let prefix = stratus::key::parse_prefix(&case.prefix).unwrap();
        let prefix = Some(&prefix).filter(|p| !p.as_ref().is_empty());
        let options = ScanOptions::default()
            .with_as_of(as_of)
            .with_depth(case.depth)
            .with_top(case.top)
            .with_prefix_limit(1_000_000)
            .with_concurrency(case.concurrency);
        let scanned = scan(store.as_ref(), prefix, &options).await.unwrap();
        // The whole tree exported, read back under the case's prefix.
        let (_, written) = export(
            store.as_ref(),
            None,
            &options,
            Arc::clone(&out),
            None,
            &ExportOptions::default().with_rows_per_file(7),
        )
        .await
        .unwrap();
        let read = reports::read(Arc::clone(&out), &written.manifest, prefix, &options)
            .await
            .unwrap();
        let base = json!({"prefix": case.prefix, "depth": case.depth, "top": case.top,
                          "as_of_ms": as_of.timestamp_millis()});
        let mut tree = base.clone();
        tree["tree"] = json!(case.dir.path().join("data"));
        let mut parquet = base;
        parquet["parquet"] = json!(case.dir.path().join("out/data/*.parquet"));
        parquet["tree"] = Value::Null;
        inputs.push(tree);
        inputs.push(parquet);
        ours.push((normalized(&scanned), "listing"));
        let mut from_report = normalized(&read);
        from_report["unlisted"] = Value::Null; // a report lists what the store listed
        ours.push((from_report, "export read back"));
        names.push(case.name.clone());
        names.push(case.name.clone());
        keep.push(case);
    }
    let stratus_time = started.elapsed();
    let cases_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(cases_file.path(), serde_json::to_vec(&inputs).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/duckdb_inventory.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg("--oracle")
        .arg(cases_file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(oracle.len(), ours.len());
    let mut wrong = Vec::new();
    let mut hidden_cases = 0;
    let mut boundary_checked = 0;
    for ((name, (ours, what)), expected) in names.iter().zip(&ours).zip(&oracle) {
        let mut expected = expected.clone();
        if let Some(prefixes) = expected["prefixes"].as_array_mut() {
            prefixes.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
        }
        hidden_cases += usize::from(!expected["unlisted"].is_null());
        boundary_checked += usize::from(expected["objects"].as_u64() > Some(0));
        wrong.extend(differences(name, what, ours, &expected));
    }
    eprintln!(
        "oracle: {} cases ({} comparisons, {hidden_cases} with unlisted files, {boundary_checked} non-empty); \
         stratus {:.1?}, DuckDB {:.1?}",
        CASES,
        ours.len(),
        stratus_time,
        started.elapsed() - stratus_time
    );
    assert!(
        hidden_cases > 0,
        "no case had a hidden file: the generator is off"
    );
    assert!(
        wrong.is_empty(),
        "{} differences from DuckDB:\n{}",
        wrong.len(),
        wrong
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
