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
    // The same totals as the billed bytes a listing does not show, where the report has
    // version columns (S3 and Azure here); uploads and per-prefix figures said unseen.
    if let Some(hidden) = &report.hidden {
        let versions = hidden
            .versions
            .as_ref()
            .expect("versions from a versioned report");
        assert_eq!(
            versions.noncurrent, source.noncurrent,
            "{name}: hidden noncurrent"
        );
        assert_eq!(
            versions.delete_markers, source.delete_markers,
            "{name}: hidden markers"
        );
        assert_eq!(
            versions.orphaned_markers, None,
            "{name}: not known from unordered rows"
        );
        assert!(hidden.uploads.is_none(), "{name}: no report lists uploads");
        assert_eq!(hidden.not_seen.len(), 2, "{name}: {:?}", hidden.not_seen);
    } else {
        assert_eq!(
            source.noncurrent.objects + source.delete_markers,
            0,
            "{name}: {source:?}"
        );
    }
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

// ---- Export: a listing as an S3 Inventory in Parquet, read back ----

use stratus::inventory::export::{export, ExportOptions};
use stratus::layer::fault::{Fault, FaultyStore, Op};

fn as_of() -> chrono::DateTime<chrono::Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

/// Objects spread over prefixes, with a zero-byte one and names that need care.
async fn fill(store: &dyn ObjectStore, under: &str) -> usize {
    let mut n = 0;
    for (i, key) in [
        "logs/2026/a.log",
        "logs/2026/b.log",
        "logs/2025/c.log",
        "logs/d.log",
        "img/e f.png",
        "img/raw/g+h.raw",
        "img/raw/ünï.raw",
        "top.txt",
        "empty/zero",
        "deep/a/b/c/d/e.bin",
    ]
    .into_iter()
    .enumerate()
    {
        let body = vec![
            b'x';
            if key == "empty/zero" {
                0
            } else {
                100 * (i + 1) * (i + 1)
            }
        ];
        let key = if under.is_empty() {
            key.to_string()
        } else {
            format!("{under}/{key}")
        };
        store.put(&Path::from(key), body.into()).await.unwrap();
        n += 1;
    }
    n
}

/// Times in a report cut to milliseconds (what the export's `TIMESTAMP(MILLIS)` keeps).
fn to_millis(mut report: Report) -> Report {
    let cut = |t: chrono::DateTime<chrono::Utc>| {
        chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
    };
    report.oldest = report.oldest.map(cut);
    report.newest = report.newest.map(cut);
    let json = serde_json::to_value(&report).unwrap();
    let mut json = json;
    for o in json["top"]["objects"].as_array_mut().unwrap() {
        let t: chrono::DateTime<chrono::Utc> =
            o["last_modified"].as_str().unwrap().parse().unwrap();
        o["last_modified"] = serde_json::to_value(cut(t)).unwrap();
    }
    serde_json::from_value(json).unwrap()
}

/// Export `source` under `prefix` to `dest`, read the export back, and require the two
/// reports to be equal field by field (but `source`, which says where a report came from).
async fn round_trip(
    what: &str,
    source: &dyn ObjectStore,
    prefix: Option<&Path>,
    dest: Arc<dyn ObjectStore>,
    listed: usize,
) {
    let options = ScanOptions::default()
        .with_depth(2)
        .with_top(5)
        .with_as_of(as_of())
        .with_concurrency(4);
    let (listing, written) = export(
        source,
        prefix,
        &options,
        Arc::clone(&dest),
        Some(&Path::from("exports")),
        &ExportOptions::default()
            .with_rows_per_file(3)
            .with_row_group_rows(2),
    )
    .await
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(listing.objects, listed as u64, "{what}");
    assert_eq!(written.rows, listed as u64, "{what}");
    assert_eq!(
        written.files.len(),
        listed.div_ceil(3),
        "{what}: files of 3 rows"
    );
    let mut back = reports::read(Arc::clone(&dest), &written.manifest, prefix, &options)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let source_info = back.source.take().expect("read from a report");
    assert_eq!(source_info.kind, "s3-inventory");
    assert_eq!(source_info.rows, listed as u64);
    assert_eq!(back.classes, None, "{what}: a listing gives no classes");
    assert_eq!(
        back,
        to_millis(listing),
        "{what}: the export reads back as the listing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reads_back_as_the_listing_on_memory_and_a_folder() {
    let memory = object_store::memory::InMemory::new();
    let n = fill(&memory, "data").await;
    let dir = tempfile::tempdir().unwrap();
    let folder: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    round_trip(
        "memory -> folder",
        &memory,
        Some(&Path::from("data")),
        Arc::clone(&folder),
        n,
    )
    .await;
    // The folder's own listing (which now holds the export too) into memory.
    let listed_now = {
        let all: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(folder.list(None))
            .await
            .unwrap();
        all.len()
    };
    let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    round_trip(
        "folder -> memory",
        folder.as_ref(),
        None,
        memory,
        listed_now,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_reads_back_as_the_listing_on_every_emulator() {
    for backend in Backend::EMULATED {
        let Some(fixture) = Fixture::new(backend, "export") else {
            continue;
        };
        if backend == Backend::FakeGcs {
            // fake-gcs-server refuses object_store's writes: list from it (objects seeded
            // through its JSON API), export to a folder.
            let memory = object_store::memory::InMemory::new();
            fill(&memory, "").await;
            let mut listing = memory.list(None);
            let mut n = 0;
            while let Some(meta) = futures::StreamExt::next(&mut listing).await {
                let meta = meta.unwrap();
                let body = memory
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                gcs_seed(
                    &fixture.prefix,
                    &format!("data/{}", meta.location),
                    body.to_vec(),
                )
                .await;
                n += 1;
            }
            let dir = tempfile::tempdir().unwrap();
            let folder: Arc<dyn ObjectStore> =
                Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
            round_trip(
                "fake-gcs -> folder",
                fixture.store.as_ref(),
                Some(&Path::from("data")),
                folder,
                n,
            )
            .await;
            continue;
        }
        let n = fill(fixture.store.as_ref(), "data").await;
        round_trip(
            &format!("{backend:?}"),
            fixture.store.as_ref(),
            Some(&Path::from("data")),
            Arc::clone(&fixture.store),
            n,
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_exports_to_one_place_keep_both_and_read_back_alike() {
    let memory = object_store::memory::InMemory::new();
    let n = fill(&memory, "").await;
    let dest: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let options = ScanOptions::default().with_as_of(as_of());
    let defaults = ExportOptions::default();
    let run = || export(&memory, None, &options, Arc::clone(&dest), None, &defaults);
    let (_, first) = run().await.unwrap();
    let (_, second) = run().await.unwrap();
    assert_ne!(first.manifest, second.manifest);
    assert!(first
        .files
        .iter()
        .all(|f| !second.files.iter().any(|g| g.key == f.key)));
    for written in [first, second] {
        let report = reports::read(Arc::clone(&dest), &written.manifest, None, &options)
            .await
            .unwrap();
        assert_eq!(report.objects, n as u64);
    }
}

/// Export `store` under `prefix` into `dest` under `dest_prefix`, which may lie inside
/// what is scanned: the report and the rows must be the tree as it was before, without
/// the export's own files (the scan meets them when it lists their keys after they were
/// written).
async fn export_leaves_its_own_files_out(
    what: &str,
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    dest: Arc<dyn ObjectStore>,
    dest_prefix: Option<&Path>,
) -> stratus::inventory::export::Export {
    let options = ScanOptions::default()
        .with_as_of(as_of())
        .with_concurrency(1);
    let before = stratus::inventory::scan(store, prefix, &options)
        .await
        .unwrap();
    let small = ExportOptions::default().with_rows_per_file(1000);
    let (report, written) = export(
        store,
        prefix,
        &options,
        Arc::clone(&dest),
        dest_prefix,
        &small,
    )
    .await
    .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        (report.objects, report.bytes),
        (before.objects, before.bytes),
        "{what}: the report counts the tree without the export's files"
    );
    assert_eq!(report, before, "{what}");
    assert_eq!(written.rows, before.objects, "{what}");
    let mut back = reports::read(dest, &written.manifest, prefix, &options)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    back.source = None;
    assert_eq!(back, to_millis(before), "{what}: the rows are the tree's");
    written
}

/// 4,600 objects under `a/`: more than the listing hands the writer at once (4,096), and
/// before `exports/` in key order, so the export writes files while its listing has yet
/// to reach their keys.
async fn fill_before_exports(store: &dyn ObjectStore) {
    let puts = (0..4600).map(|i| async move {
        store
            .put(&Path::from(format!("a/{i:05}")), vec![1u8; 10].into())
            .await
            .unwrap()
    });
    futures::StreamExt::collect::<Vec<_>>(futures::StreamExt::buffer_unordered(
        futures::stream::iter(puts),
        16,
    ))
    .await;
}

// One thread: the export's writer runs whenever the listing waits for a page.
#[tokio::test]
async fn an_export_into_memory_it_scans_leaves_its_own_files_out() {
    let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    fill_before_exports(memory.as_ref()).await;
    // Listed a page at a time, as S3 lists: files written at keys not reached yet show up.
    let store: Arc<dyn ObjectStore> = Arc::new(common::Relisted::paged(memory, 500));
    let exports = Path::from("exports");
    let first = export_leaves_its_own_files_out(
        "inside the scanned tree",
        store.as_ref(),
        None,
        Arc::clone(&store),
        Some(&exports),
    )
    .await;
    // Outside the scanned prefix: never met.
    export_leaves_its_own_files_out(
        "outside the scanned prefix",
        store.as_ref(),
        Some(&Path::from("a")),
        Arc::clone(&store),
        Some(&exports),
    )
    .await;
    // An earlier run's files are objects like any other: counted.
    let options = ScanOptions::default().with_as_of(as_of());
    let (report, _) = export(
        store.as_ref(),
        None,
        &options,
        Arc::clone(&store),
        Some(&exports),
        &ExportOptions::default(),
    )
    .await
    .unwrap();
    let earlier = 2 * (first.files.len() as u64 + 2);
    assert_eq!(report.objects, 4600 + earlier, "both earlier runs' files");
}

#[tokio::test]
async fn an_export_into_a_folder_it_scans_leaves_its_own_files_out() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("exports")).unwrap();
    let folder = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    fill_before_exports(folder.as_ref()).await;
    let scanned = common::Relisted::paged(folder, 500);
    // The destination: another store, the folder `exports` inside the scanned one.
    let inside = LocalFileSystem::new_with_prefix(dir.path().join("exports")).unwrap();
    let dest: Arc<dyn ObjectStore> = Arc::new(scanned.and_writes_to(Arc::new(inside)));
    export_leaves_its_own_files_out("a folder inside", &scanned, None, dest, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_whose_listing_fails_half_way_writes_no_manifest() {
    // More objects than the listing hands the writer at once (4,096), so files are
    // written before the listing fails.
    let memory: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    for i in 0..5000 {
        memory
            .put(&Path::from(format!("k/{i:05}")), vec![1u8; 10].into())
            .await
            .unwrap();
    }
    let failing = common::Relisted::then_fail(Arc::clone(&memory), 4500);
    let dest: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let options = ScanOptions::default().with_concurrency(1);
    let small = ExportOptions::default().with_rows_per_file(1000);
    let error = export(&failing, None, &options, Arc::clone(&dest), None, &small)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("the connection dropped"), "{error}");
    let left: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(dest.list(None))
        .await
        .unwrap();
    assert!(
        !left.is_empty(),
        "the files of the first rows were uploaded"
    );
    assert!(
        left.iter()
            .all(|m| m.location.as_ref().starts_with("data/")),
        "no manifest: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_whose_upload_fails_says_so_and_writes_no_manifest() {
    let memory = object_store::memory::InMemory::new();
    fill(&memory, "").await;
    let dest = Arc::new(FaultyStore::new(Arc::new(
        object_store::memory::InMemory::new(),
    )));
    // Small files are uploaded with one put each: the second fails.
    dest.inject(Fault::fail(Op::Put).after(1));
    let dest_dyn: Arc<dyn ObjectStore> = dest.clone();
    let small = ExportOptions::default().with_rows_per_file(2);
    let error = export(
        &memory,
        None,
        &ScanOptions::default(),
        dest_dyn,
        Some(&Path::from("out")),
        &small,
    )
    .await
    .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("no manifest written") && text.contains("out/data/"),
        "{text}"
    );
    let left: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(dest.inner().list(None))
        .await
        .unwrap();
    assert!(
        left.iter()
            .all(|m| !m.location.as_ref().ends_with("manifest.json")),
        "{left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duckdb_counts_the_same_objects_and_bytes_in_an_export() {
    let python = match std::env::var("STRATUS_TEST_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ if std::env::var("STRATUS_REQUIRE_EMULATORS").as_deref() == Ok("1") => {
            panic!("STRATUS_TEST_PYTHON is not set: scripts/test.sh installs DuckDB in its venv")
        }
        _ => {
            eprintln!("SKIPPED: STRATUS_TEST_PYTHON is not set (scripts/test.sh sets it, with DuckDB installed)");
            return;
        }
    };
    let memory = object_store::memory::InMemory::new();
    fill(&memory, "").await;
    let dir = tempfile::tempdir().unwrap();
    let folder: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let small = ExportOptions::default().with_rows_per_file(4);
    let (report, written) = export(&memory, None, &ScanOptions::default(), folder, None, &small)
        .await
        .unwrap();
    assert!(written.files.len() > 1);
    let glob = dir.path().join("data").join("*.parquet");
    let query = format!(
        "import duckdb, json\n\
         r = duckdb.sql(\"SELECT count(*), sum(size), count(DISTINCT key), epoch_ms(max(last_modified_date)) FROM read_parquet('{}')\").fetchone()\n\
         print(json.dumps([r[0], int(r[1]), r[2], r[3]]))",
        glob.display()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(query)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer[0].as_u64(), Some(report.objects), "{answer}");
    assert_eq!(answer[1].as_u64(), Some(report.bytes), "{answer}");
    assert_eq!(answer[2].as_u64(), Some(report.objects), "{answer}");
    assert_eq!(
        answer[3].as_i64(),
        Some(report.newest.unwrap().timestamp_millis()),
        "{answer}"
    );
}

// ---- Broken reports: an error naming the file and what is wrong, never a figure ----

/// A copy of a fixture in a temporary folder, to break.
fn copy_of(case: &str) -> (tempfile::TempDir, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().unwrap();
    for (key, body) in fixture_files(case) {
        let path = dir.path().join(&key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let store: Arc<dyn ObjectStore> =
        Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    (dir, store)
}

fn manifest_of(case: &str) -> String {
    expected()["cases"][case]["manifest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What breaks a copy of a fixture: given its folder and its manifest's key.
type Breaking = Box<dyn FnOnce(&std::path::Path, &str)>;

/// Read `case` after `breaking` its copy; the error's text.
async fn broken(case: &str, breaking: impl FnOnce(&std::path::Path, &str)) -> String {
    let (dir, store) = copy_of(case);
    let manifest = manifest_of(case);
    breaking(dir.path(), &manifest);
    match reports::read(store, &Path::from(manifest.as_str()), None, &options()).await {
        Ok(report) => panic!("{case}: read a broken report: {} objects", report.objects),
        Err(e) => e.to_string(),
    }
}

fn edit_json(path: &std::path::Path, edit: impl FnOnce(&mut Value)) {
    let mut json: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(path, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// S3 manifests are checked against manifest.checksum: rewrite it after an edit.
fn resum(dir: &std::path::Path, manifest: &str) {
    use md5::Digest;
    let text = std::fs::read(dir.join(manifest)).unwrap();
    let sum: String = md5::Md5::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dir.join(manifest).with_file_name("manifest.checksum"), sum).unwrap();
}

fn first_data_file(dir: &std::path::Path, manifest: &str) -> std::path::PathBuf {
    let json: Value = serde_json::from_slice(&std::fs::read(dir.join(manifest)).unwrap()).unwrap();
    let key = json["files"][0]["key"]
        .as_str()
        .or(json["files"][0]["blob"].as_str())
        .unwrap();
    dir.join(key)
}

#[tokio::test]
async fn broken_manifests_are_refused_with_the_file_and_the_reason() {
    let store: Arc<dyn ObjectStore> = local("s3-csv");
    let missing = reports::read(
        Arc::clone(&store),
        &Path::from("no/manifest.json"),
        None,
        &options(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        missing.contains("no/manifest.json") && missing.contains("cannot read the manifest"),
        "{missing}"
    );

    let cases: Vec<(&str, Breaking, &str)> = vec![
        (
            "s3-csv",
            Box::new(|d, m| std::fs::write(d.join(m), "{not json").unwrap()),
            "not a JSON manifest",
        ),
        (
            "s3-csv",
            Box::new(|d, m| std::fs::write(d.join(m), r#"{"hello": 1}"#).unwrap()),
            "not an inventory manifest",
        ),
        (
            "s3-csv",
            Box::new(|d, m| {
                edit_json(&d.join(m), |j| j["fileFormat"] = "ORC".into());
                resum(d, m)
            }),
            "ORC inventory reports are not supported",
        ),
        (
            "s3-csv",
            Box::new(|d, m| {
                edit_json(&d.join(m), |j| j["files"] = "x".into());
                resum(d, m)
            }),
            "at `files`",
        ),
        (
            "s3-parquet",
            Box::new(|d, m| edit_json(&d.join(m), |j| j["sourceBucket"] = "edited".into())),
            "does not match",
        ),
        (
            "azure-csv",
            Box::new(|d, m| {
                std::fs::remove_file(d.join(m.replace("-manifest.json", "-manifest.checksum")))
                    .unwrap()
            }),
            "not complete",
        ),
        (
            "azure-parquet",
            Box::new(|d, m| edit_json(&d.join(m), |j| j["status"] = "Failed".into())),
            "not Succeeded",
        ),
        (
            "azure-csv",
            Box::new(|d, m| edit_json(&d.join(m), |j| j["summary"]["objectCount"] = 3.into())),
            "holds 3 rows",
        ),
        (
            "gcs-parquet",
            Box::new(|d, m| edit_json(&d.join(m), |j| j["records_processed"] = 1.into())),
            "holds 1 rows",
        ),
    ];
    for (case, breaking, wanted) in cases {
        let error = broken(case, breaking).await;
        assert!(
            error.contains(wanted),
            "{case}: wanted `{wanted}` in: {error}"
        );
    }
}

#[tokio::test]
async fn broken_data_files_are_refused_naming_the_file() {
    let cases: Vec<(&str, Breaking, &str)> = vec![
        (
            "s3-csv",
            Box::new(|d, m| std::fs::remove_file(first_data_file(d, m)).unwrap()),
            "lists this file but it is missing",
        ),
        (
            "s3-parquet",
            Box::new(|d, m| std::fs::remove_file(first_data_file(d, m)).unwrap()),
            "lists this file but it is missing",
        ),
        (
            "gcs-csv",
            Box::new(|d, _| {
                std::fs::remove_file(d.join("inventory/5f2e-config_2026-11-20T00-00-00Z_1.csv"))
                    .unwrap()
            }),
            "missing",
        ),
        // The gzip header's time changed, size kept: the rows are intact, only the MD5
        // can tell.
        (
            "s3-csv",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let mut b = std::fs::read(&f).unwrap();
                b[4] ^= 1;
                std::fs::write(f, b).unwrap()
            }),
            "the manifest's MD5 is",
        ),
        // The compressed stream damaged.
        (
            "s3-csv",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let mut b = std::fs::read(&f).unwrap();
                let n = b.len();
                b[n - 9] ^= 1;
                std::fs::write(f, b).unwrap()
            }),
            "cannot read (or inflate) it",
        ),
        (
            "s3-parquet",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let mut b = std::fs::read(&f).unwrap();
                b[100] ^= 1;
                std::fs::write(f, b).unwrap()
            }),
            "the manifest's MD5 is",
        ),
        (
            "s3-parquet",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let mut b = std::fs::read(&f).unwrap();
                b.truncate(b.len() - 10);
                std::fs::write(f, b).unwrap()
            }),
            "the manifest says",
        ),
        (
            "azure-parquet",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let mut b = std::fs::read(&f).unwrap();
                b.push(0);
                std::fs::write(f, b).unwrap()
            }),
            "bytes; the file has",
        ),
        (
            "azure-csv",
            Box::new(|d, m| {
                let f = first_data_file(d, m);
                let t =
                    std::fs::read_to_string(&f)
                        .unwrap()
                        .replacen("Content-Length", "Length", 1);
                std::fs::write(f, t).unwrap();
                edit_json(&d.join(m), |j| j["files"][0]["size"] = Value::Null)
            }),
            "no Size column",
        ),
        (
            "gcs-csv",
            Box::new(|d, _| {
                let f = d.join("inventory/5f2e-config_2026-11-20T00-00-00Z_0.csv");
                let t = std::fs::read_to_string(&f).unwrap();
                let mut lines: Vec<String> = t.lines().map(String::from).collect();
                let cells: Vec<&str> = lines[3].split(',').collect();
                let bad = format!("{},{},lots,{}", cells[0], cells[1], cells[3..].join(","));
                lines[3] = bad;
                std::fs::write(f, lines.join("\n")).unwrap()
            }),
            "row 3: size `lots` is not a whole number",
        ),
    ];
    for (case, breaking, wanted) in cases {
        let error = broken(case, breaking).await;
        assert!(
            error.contains(wanted),
            "{case}: wanted `{wanted}` in: {error}"
        );
        assert!(
            error.contains("inventory report `"),
            "{case}: names the file: {error}"
        );
    }
}

#[tokio::test]
async fn without_checksum_verification_a_parquet_file_is_read_once() {
    let (dir, store) = copy_of("s3-parquet");
    let manifest = manifest_of("s3-parquet");
    // A wrong MD5 in the manifest is not looked at when verification is off...
    edit_json(&dir.path().join(&manifest), |j| {
        j["files"][0]["MD5checksum"] = "00000000000000000000000000000000".into()
    });
    resum(dir.path(), &manifest);
    let off = options().with_verify_checksums(false);
    let report = reports::read(
        Arc::clone(&store),
        &Path::from(manifest.as_str()),
        None,
        &off,
    )
    .await
    .unwrap();
    check("s3-parquet", &report, &expected()["cases"]["s3-parquet"]);
    // ...and is with it on.
    let error = reports::read(store, &Path::from(manifest.as_str()), None, &options())
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("the manifest's MD5 is 00000000"),
        "{error}"
    );
}

// ---- Classes in diffs, and the example over the fixtures ----

#[tokio::test]
async fn a_diff_of_two_reports_shows_each_class_grow() {
    let expected = expected();
    // The variant holds the same bucket without its 3 GiB objects: "before" it grew.
    let before = read_case(
        local("s3-parquet-variant"),
        &expected["cases"]["s3-parquet-variant"],
    )
    .await;
    let after = read_case(local("s3-parquet"), &expected["cases"]["s3-parquet"]).await;
    let diff = before.diff(&after);
    let classes = diff.classes.as_ref().expect("both reports give classes");
    let by_class = |c: &Value| counts(c);
    for change in classes {
        let old = by_class(&expected["cases"]["s3-parquet-variant"]["classes"][&change.class]);
        let new = by_class(&expected["cases"]["s3-parquet"]["classes"][&change.class]);
        assert_eq!(
            (change.objects.before, change.bytes.before),
            old,
            "{}",
            change.class
        );
        assert_eq!(
            (change.objects.after, change.bytes.after),
            new,
            "{}",
            change.class
        );
    }
    assert!(classes
        .windows(2)
        .all(|w| w[0].bytes.delta() >= w[1].bytes.delta()));
    assert!(diff.render(5).contains("by class"));
    // A listing has no classes: the diff says nothing of them.
    let mut listing = after.clone();
    listing.classes = None;
    assert_eq!(before.diff(&listing).classes, None);
}

#[test]
fn the_command_reads_a_report_and_diffs_two() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(common::stratus())
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let expected = expected();
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for case in ["s3-parquet-variant", "s3-csv"] {
        let manifest = manifest_of(case);
        let table = run(&[
            "inventory",
            "--config",
            "fixtures/stores/reports.toml",
            case,
            "--from-report",
            &manifest,
        ]);
        assert!(
            table.contains("By storage class:") && table.contains("GLACIER"),
            "{table}"
        );
        // The report's noncurrent versions, in the section of what is billed and not
        // listed.
        assert!(
            table.contains("Billed, not listed")
                && table
                    .lines()
                    .any(|l| l.contains("noncurrent versions") && l.contains(" 20 ")),
            "{table}"
        );
        let json = run(&[
            "inventory",
            "--config",
            "fixtures/stores/reports.toml",
            case,
            "--from-report",
            &manifest,
            "--json",
        ]);
        let report: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(report["objects"], expected["cases"][case]["objects"]);
        assert_eq!(report["bytes"], expected["cases"][case]["bytes"]);
        let file = dir.path().join(format!("{case}.json"));
        std::fs::write(&file, json).unwrap();
        files.push(file);
    }
    let diff = run(&[
        "diff",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
    ]);
    assert!(
        diff.contains("by class") && diff.contains("STANDARD"),
        "{diff}"
    );
    // A listing's table says classes are not available.
    let listing = run(&["inventory", "--config", "fixtures/stores/local.toml"]);
    assert!(
        listing.contains("not available from a listing"),
        "{listing}"
    );
}
