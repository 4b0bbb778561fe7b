//! Provider inventory reports (feature `reports`): the fixtures that
//! `scripts/make_inventory_fixtures.py` writes from the providers' documented formats are
//! read from a local folder and from every emulator, and their figures must equal the
//! ones the script computed from the same rows (`fixtures/inventory-reports/expected.json`).
//! Then what a broken report gets: an error naming the file, never a figure.
#![cfg(feature = "reports")]

mod common;

use common::{gcs_seed, Backend, Fixture};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use stratus::inventory::{reports, Report, ScanOptions};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/inventory-reports");

const CASES: [&str; 7] = [
    "s3-csv",
    "s3-parquet",
    "s3-parquet-variant",
    "azure-csv",
    "azure-parquet",
    "gcs-csv",
    "gcs-parquet",
];

fn expected() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn local(case: &str) -> Arc<dyn ObjectStore> {
    Arc::new(LocalFileSystem::new_with_prefix(format!("{ROOT}/{case}")).unwrap())
}

fn options() -> ScanOptions {
    ScanOptions::default().with_depth(2).with_concurrency(2)
}

async fn read_case(store: Arc<dyn ObjectStore>, case: &Value) -> Report {
    let manifest = Path::from(case["manifest"].as_str().unwrap());
    let prefix = case["prefix"].as_str().map(Path::from);
    reports::read(store, &manifest, prefix.as_ref(), &options())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn counts(value: &Value) -> (u64, u64) {
    (
        value["objects"].as_u64().unwrap(),
        value["bytes"].as_u64().unwrap(),
    )
}

/// Every figure the script computed, against the report.
fn check(name: &str, report: &Report, case: &Value) {
    assert_eq!(
        (report.objects, report.bytes),
        counts(case),
        "{name}: totals"
    );
    let classes: BTreeMap<String, (u64, u64)> = report
        .classes
        .as_ref()
        .unwrap_or_else(|| panic!("{name}: no classes"))
        .iter()
        .map(|(class, c)| (class.clone(), (c.objects, c.bytes)))
        .collect();
    let expected_classes: BTreeMap<String, (u64, u64)> = case["classes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(class, c)| (class.clone(), counts(c)))
        .collect();
    assert_eq!(classes, expected_classes, "{name}: classes");
    let prefixes: BTreeMap<String, (u64, u64)> = report
        .prefixes
        .entries()
        .into_iter()
        .map(|e| (e.prefix, (e.objects, e.bytes)))
        .collect();
    let expected_prefixes: BTreeMap<String, (u64, u64)> = case["prefixes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, c)| (p.clone(), counts(c)))
        .collect();
    assert!(expected_prefixes.len() > 10, "{name}: a real breakdown");
    assert_eq!(prefixes, expected_prefixes, "{name}: prefixes");
    assert!(report.prefixes.is_exact(), "{name}: exact");
    let iso = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.unwrap()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    assert_eq!(
        iso(report.oldest),
        case["oldest"].as_str().unwrap(),
        "{name}: oldest"
    );
    assert_eq!(
        iso(report.newest),
        case["newest"].as_str().unwrap(),
        "{name}: newest"
    );
    let source = report.source.as_ref().expect("a source");
    assert_eq!(source.rows, case["rows"].as_u64().unwrap(), "{name}: rows");
    assert_eq!(
        (source.noncurrent.objects, source.noncurrent.bytes),
        counts(&case["noncurrent"]),
        "{name}: noncurrent versions"
    );
    assert_eq!(
        source.delete_markers,
        case["delete_markers"].as_u64().unwrap(),
        "{name}: delete markers"
    );
    // Ages are measured from the report's own time.
    assert_eq!(report.as_of.to_rfc3339(), "2026-11-20T00:00:00+00:00");
    let largest = report.top.largest();
    assert!(largest.windows(2).all(|w| w[0].size >= w[1].size));
    assert_eq!(Some(largest[0].size), report.largest, "{name}: largest");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_read_from_a_local_folder_equals_the_scripts_figures() {
    let expected = expected();
    for name in CASES {
        let case = &expected["cases"][name];
        let report = read_case(local(name), case).await;
        check(name, &report, case);
        let source = report.source.as_ref().unwrap();
        let kind = name.split('-').next().unwrap();
        assert!(source.kind.starts_with(kind), "{name}: {}", source.kind);
        assert_eq!(
            source.format,
            if name.contains("csv") {
                "csv"
            } else {
                "parquet"
            }
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_report_reads_the_same_on_one_thread_and_one_file_at_a_time() {
    let expected = expected();
    for name in ["s3-csv", "azure-parquet"] {
        let case = &expected["cases"][name];
        let manifest = Path::from(case["manifest"].as_str().unwrap());
        let prefix = case["prefix"].as_str().map(Path::from);
        let one = options().with_concurrency(1);
        let report = reports::read(local(name), &manifest, prefix.as_ref(), &one)
            .await
            .unwrap();
        check(name, &report, case);
    }
}

/// Every file of a fixture, by key relative to its folder.
fn fixture_files(case: &str) -> Vec<(String, Vec<u8>)> {
    let root = std::path::PathBuf::from(format!("{ROOT}/{case}"));
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let key = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((key, std::fs::read(&path).unwrap()));
            }
        }
    }
    out
}

/// Upload a fixture under the store's prefix, as the provider would have written it.
async fn upload(backend: Backend, fixture: &Fixture, case: &str) {
    for (key, body) in fixture_files(case) {
        let key = format!("{case}/{key}");
        if backend == Backend::FakeGcs {
            gcs_seed(&fixture.prefix, &key, body).await;
        } else {
            fixture
                .store
                .put(&Path::from(key), PutPayload::from(body))
                .await
                .unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_read_from_every_emulator_equals_the_scripts_figures() {
    let expected = expected();
    for backend in Backend::EMULATED {
        let Some(fixture) = Fixture::new(backend, "reports") else {
            continue;
        };
        for name in CASES {
            upload(backend, &fixture, name).await;
            // The report's keys are relative to its destination bucket: here, the folder.
            let store: Arc<dyn ObjectStore> = Arc::new(object_store::prefix::PrefixStore::new(
                Arc::clone(&fixture.store),
                name,
            ));
            let case = &expected["cases"][name];
            let report = read_case(store, case).await;
            check(&format!("{backend:?} {name}"), &report, case);
        }
    }
}
