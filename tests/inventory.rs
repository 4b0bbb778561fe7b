//! Inventory figures against independent computations: a filesystem walk for the local
//! provider, the uploaded set for emulators. Parallel scans must equal sequential ones.

mod common;

use chrono::{DateTime, Utc};
use common::{Backend, Fixture};
use futures::{stream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use stratus::inventory::{scan, Report, ScanOptions};

/// What a report must say, computed the plain way from (relative key, size) pairs.
#[derive(Debug)]
struct Expected {
    objects: u64,
    bytes: u64,
    zero: u64,
    smallest: Option<u64>,
    largest: Option<u64>,
    /// (min, objects, bytes) per non-empty power-of-two bucket.
    buckets: Vec<(u64, u64, u64)>,
    /// Kept prefixes (name, objects, bytes), most bytes first, and the fold-out.
    prefixes: Vec<(String, u64, u64)>,
    other: (u64, u64, u64),
    /// (key, size) of the largest objects.
    top: Vec<(String, u64)>,
}

fn expected(objects: &[(String, u64)], depth: usize, limit: usize, top: usize) -> Expected {
    let mut buckets: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    let mut prefixes: BTreeMap<String, (usize, u64, u64)> = BTreeMap::new();
    for (key, size) in objects {
        let min = if *size == 0 {
            0
        } else {
            1u64 << (63 - size.leading_zeros())
        };
        let b = buckets.entry(min).or_default();
        b.0 += 1;
        b.1 += size;
        let folders: Vec<&str> = key.split('/').collect();
        for d in 1..=depth.min(folders.len() - 1) {
            let p = prefixes.entry(folders[..d].join("/")).or_insert((d, 0, 0));
            p.1 += 1;
            p.2 += size;
        }
    }
    let mut ranked: Vec<_> = prefixes.into_iter().collect();
    ranked.sort_by(|(an, (_, ao, ab)), (bn, (_, bo, bb))| {
        bb.cmp(ab).then(bo.cmp(ao)).then(an.cmp(bn))
    });
    let dropped = ranked.split_off(limit.min(ranked.len()));
    let other = dropped
        .iter()
        .fold((0, 0, 0), |(n, o, b), (_, (d, po, pb))| {
            if *d == 1 {
                (n + 1, o + po, b + pb)
            } else {
                (n + 1, o, b)
            }
        });
    let mut largest: Vec<_> = objects.to_vec();
    largest.sort_by(|(ak, asz), (bk, bsz)| bsz.cmp(asz).then(ak.cmp(bk)));
    largest.truncate(top);
    Expected {
        objects: objects.len() as u64,
        bytes: objects.iter().map(|(_, s)| s).sum(),
        zero: objects.iter().filter(|(_, s)| *s == 0).count() as u64,
        smallest: objects.iter().map(|(_, s)| *s).min(),
        largest: objects.iter().map(|(_, s)| *s).max(),
        buckets: buckets.into_iter().map(|(m, (o, b))| (m, o, b)).collect(),
        prefixes: ranked.into_iter().map(|(n, (_, o, b))| (n, o, b)).collect(),
        other,
        top: largest,
    }
}

/// Check `report` against `want`; `key_prefix` is prepended to relative keys in `top`.
fn assert_matches(report: &Report, want: &Expected, key_prefix: &str) {
    assert_eq!(report.objects, want.objects, "objects");
    assert_eq!(report.bytes, want.bytes, "bytes");
    assert_eq!(report.zero_byte_objects, want.zero, "zero-byte objects");
    assert_eq!(
        (report.smallest, report.largest),
        (want.smallest, want.largest),
        "extremes"
    );
    let buckets: Vec<_> = report
        .sizes
        .buckets()
        .map(|b| (b.min, b.objects, b.bytes))
        .collect();
    assert_eq!(buckets, want.buckets, "size histogram");
    let prefixes: Vec<_> = report
        .prefixes
        .entries()
        .into_iter()
        .map(|e| (e.prefix, e.objects, e.bytes))
        .collect();
    assert_eq!(prefixes, want.prefixes, "per-prefix breakdown");
    let other = report.prefixes.other();
    assert_eq!(
        (other.prefixes, other.objects, other.bytes),
        want.other,
        "other prefixes"
    );
    let top: Vec<_> = report
        .top
        .largest()
        .into_iter()
        .map(|o| (o.key, o.size))
        .collect();
    let want_top: Vec<_> = want
        .top
        .iter()
        .map(|(k, s)| (format!("{key_prefix}{k}"), *s))
        .collect();
    assert_eq!(top, want_top, "largest objects");
    let ages: u64 =
        report.ages.buckets().map(|(_, c)| c.objects).sum::<u64>() + report.ages.future().objects;
    assert_eq!(ages, want.objects, "age histogram total");
    assert!(report.prefixes.is_finished());
}

/// A deterministic tree: nesting up to 4 levels, zero-byte objects, awkward names.
fn generate(count: usize, seed: u64) -> Vec<(String, u64)> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let tops = ["logs", "images", "spaces here", "ünï", "100%", "z"];
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    while out.len() < count {
        let mut key = tops[rng.random_range(0..tops.len())].to_string();
        for _ in 0..rng.random_range(0..4) {
            key.push_str(&format!("/d{}", rng.random_range(0..6)));
        }
        key.push_str(&format!("/f{}.bin", rng.random_range(0..100_000)));
        if rng.random_range(0..20) == 0 {
            key = format!("top-{}", rng.random_range(0..1000));
        }
        if !seen.insert(key.clone()) {
            continue;
        }
        let size = match rng.random_range(0..10) {
            0 => 0,
            1 => rng.random_range(1000..20_000),
            _ => 2u64.pow(rng.random_range(0..10)) + rng.random_range(0..7),
        };
        out.push((key, size));
    }
    out
}

async fn upload(store: &dyn ObjectStore, objects: &[(String, u64)]) {
    stream::iter(objects)
        .for_each_concurrent(32, |(key, size)| async move {
            let path = Path::parse(key).unwrap();
            store
                .put(&path, vec![7u8; *size as usize].into())
                .await
                .unwrap();
        })
        .await;
}

fn options(concurrency: usize, as_of: DateTime<Utc>) -> ScanOptions {
    ScanOptions::default()
        .with_depth(2)
        .with_prefix_limit(12)
        .with_top(7)
        .with_concurrency(concurrency)
        .with_as_of(as_of)
        // Small targets force discovery to descend, so partitions really split.
        .with_target_partitions(20)
}

/// The reports of parts 1 to `n` of a scan (each with the options `part(k)` gives)
/// merged, checked complete, and finished: what one scan reports.
async fn merged_parts(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    n: usize,
    part: impl Fn(usize) -> ScanOptions,
) -> Report {
    let mut merged: Option<Report> = None;
    for k in 1..=n {
        let report = scan(store, prefix, &part(k)).await.unwrap();
        match merged.as_mut() {
            None => merged = Some(report),
            Some(m) => m.merge(report).unwrap(),
        }
    }
    let mut merged = merged.expect("at least one part");
    assert!(merged.parts.take().unwrap().is_complete());
    merged.finish();
    merged
}

/// Scan with concurrency 1 and 8 (and 8 with key ranges cut small, and in three parts
/// merged); all must equal `want` and each other.
async fn check_store(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    want: &Expected,
    key_prefix: &str,
) {
    let as_of = Utc::now();
    let sequential = scan(store, prefix, &options(1, as_of)).await.unwrap();
    assert_matches(&sequential, want, key_prefix);
    let parallel = scan(store, prefix, &options(8, as_of)).await.unwrap();
    assert_eq!(
        parallel, sequential,
        "parallel scan differs from sequential"
    );
    // Listings cut into key ranges every 40 keys: offsets and ends on the real server.
    let ranged = options(8, as_of).with_range_block(40);
    let ranged = scan(store, prefix, &ranged).await.unwrap();
    assert_eq!(ranged, sequential, "a scan cut into key ranges differs");
    // The same scan split over three processes, merged.
    let merged = merged_parts(store, prefix, 3, |k| {
        options(4, as_of).with_range_block(40).with_part(k, 3)
    })
    .await;
    assert_eq!(merged, sequential, "three parts merged differ");
    let json = serde_json::to_value(&parallel).unwrap();
    assert_eq!(json["schema"], "stratus.inventory.v1");
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, parallel, "JSON round trip");
}

// ---- local: compare with a direct filesystem walk ------------------------------------

fn walk(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, u64)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let meta = entry.metadata().unwrap();
        if meta.is_dir() {
            walk(root, &entry.path(), out);
        } else {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            out.push((rel, meta.len()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_matches_a_filesystem_walk() {
    let fixture = Fixture::new(Backend::Local, "inv").unwrap();
    upload(&*fixture.store, &generate(1500, 1)).await;
    let root = fixture.dir.as_ref().unwrap().path().join("data");
    let mut walked = Vec::new();
    walk(&root, &root, &mut walked);
    assert_eq!(walked.len(), 1500);
    check_store(&*fixture.store, None, &expected(&walked, 2, 12, 7), "").await;

    // A prefix, with and without a trailing slash, and a deep nesting level.
    let under: Vec<_> = walked
        .iter()
        .filter_map(|(k, s)| k.strip_prefix("logs/").map(|r| (r.to_string(), *s)))
        .collect();
    for prefix in ["logs", "logs/"] {
        check_store(
            &*fixture.store,
            Some(&Path::from(prefix)),
            &expected(&under, 2, 12, 7),
            "logs/",
        )
        .await;
    }
}

#[tokio::test]
async fn the_bundled_fixture_tree() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/data");
    let mut walked = Vec::new();
    walk(&root, &root, &mut walked);
    let config = stratus::Config::load(root.join("../stores/local.toml")).unwrap();
    let store = config.open_default().unwrap();
    check_store(&*store, None, &expected(&walked, 2, 12, 7), "").await;
}

// ---- edge cases ------------------------------------------------------------------

#[tokio::test]
async fn empty_store_and_prefix_matching_nothing() {
    let fixture = Fixture::new(Backend::Memory, "empty").unwrap();
    for concurrency in [1, 8] {
        let report = scan(&*fixture.store, None, &options(concurrency, Utc::now()))
            .await
            .unwrap();
        assert_eq!(
            (report.objects, report.bytes, report.smallest, report.oldest),
            (0, 0, None, None)
        );
        assert!(report.prefixes.entries().is_empty() && report.top.largest().is_empty());
        assert_eq!(report.mean_size(), None);
    }
    fixture
        .store
        .put(&Path::from("logs/a"), "x".into())
        .await
        .unwrap();
    for prefix in ["log", "nothing", "logs/a"] {
        let report = scan(
            &*fixture.store,
            Some(&Path::from(prefix)),
            &options(8, Utc::now()),
        )
        .await
        .unwrap();
        assert_eq!(
            report.objects, 0,
            "prefix {prefix} matches whole segments only"
        );
    }
}

#[tokio::test]
async fn deep_nesting_and_odd_names_in_memory() {
    let fixture = Fixture::new(Backend::Memory, "deep").unwrap();
    let mut objects = generate(800, 2);
    objects.push(("a/b/c/d/e/f/g/h/i/j/deep.bin".into(), 123));
    objects.push(("spaces here/50% off/ünïcode é.txt".into(), 0));
    upload(&*fixture.store, &objects).await;
    check_store(&*fixture.store, None, &expected(&objects, 2, 12, 7), "").await;
    // Depth larger than the tree, and a tight limit.
    let as_of = Utc::now();
    let opts = |c| options(c, as_of).with_depth(12).with_prefix_limit(3);
    let seq = scan(&*fixture.store, None, &opts(1)).await.unwrap();
    assert_matches(&seq, &expected(&objects, 12, 3, 7), "");
    assert_eq!(scan(&*fixture.store, None, &opts(8)).await.unwrap(), seq);
}

/// The options' fields are public: set directly to values their setters would refuse or
/// adjust (a concurrency of 0 or of `usize::MAX`, a "split" of one part, no partition
/// target), a scan reports what a plain one does, in one part or two merged.
#[tokio::test]
async fn options_set_on_their_fields_scan_as_their_setters_would() {
    let fixture = Fixture::new(Backend::Memory, "fields").unwrap();
    let objects = generate(600, 2);
    upload(&*fixture.store, &objects).await;
    let as_of = Utc::now();
    let plain = scan(&*fixture.store, None, &options(1, as_of))
        .await
        .unwrap();
    let with = |concurrency: usize, part: Option<(usize, usize)>| {
        let mut o = options(1, as_of).with_range_block(40);
        o.concurrency = concurrency;
        o.part = part;
        o.target_partitions = None;
        o
    };
    for concurrency in [0, 3, usize::MAX] {
        let one = scan(&*fixture.store, None, &with(concurrency, Some((1, 1))))
            .await
            .unwrap();
        assert_eq!(one, plain, "concurrency {concurrency}, part 1 of 1");
        let merged = merged_parts(&*fixture.store, None, 2, |k| {
            with(concurrency, Some((k, 2)))
        })
        .await;
        assert_eq!(merged, plain, "concurrency {concurrency}, two parts merged");
    }
}

#[tokio::test]
async fn progress_reports_running_totals() {
    let fixture = Fixture::new(Backend::Memory, "progress").unwrap();
    let objects = generate(3000, 3);
    upload(&*fixture.store, &objects).await;
    for concurrency in [1, 8] {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&seen);
        let opts =
            options(concurrency, Utc::now()).with_progress(move |p| sink.lock().unwrap().push(p));
        let report = scan(&*fixture.store, None, &opts).await.unwrap();
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 3, "only {} progress calls", seen.len());
        assert!(seen
            .windows(2)
            .all(|w| w[0].done <= w[1].done && w[0].bytes <= w[1].bytes));
        let last = seen.last().unwrap();
        assert_eq!((last.done, last.bytes), (report.objects, report.bytes));
        assert_eq!(last.parts_done, last.parts_known);
    }
}

/// A store whose listings never end, each page slow; records when its streams are dropped.
mod endless {
    use super::*;
    use futures::stream::BoxStream;
    use object_store::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Debug, Default)]
    pub struct Endless {
        pub open_streams: Arc<AtomicUsize>,
        pub items: Arc<AtomicUsize>,
    }

    impl std::fmt::Display for Endless {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "Endless")
        }
    }

    struct Guard(Arc<AtomicUsize>);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for Endless {
        async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
            unimplemented!()
        }
        async fn put_multipart_opts(
            &self,
            _: &Path,
            _: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            unimplemented!()
        }
        async fn get_opts(&self, _: &Path, _: GetOptions) -> Result<GetResult> {
            unimplemented!()
        }
        fn delete_stream(
            &self,
            _: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            unimplemented!()
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.open_streams.fetch_add(1, Ordering::SeqCst);
            let guard = Guard(Arc::clone(&self.open_streams));
            let items = Arc::clone(&self.items);
            let prefix = prefix.cloned().unwrap_or_default();
            futures::stream::unfold((0u64, guard), move |(i, guard)| {
                let items = Arc::clone(&items);
                let prefix = prefix.clone();
                async move {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                    items.fetch_add(1, Ordering::SeqCst);
                    let meta = ObjectMeta {
                        location: prefix.clone().join(format!("k{i:012}")),
                        last_modified: chrono::Utc::now(),
                        size: 1,
                        e_tag: None,
                        version: None,
                    };
                    Some((Ok(meta), (i + 1, guard)))
                }
            })
            .boxed()
        }
        async fn list_with_delimiter(&self, _: Option<&Path>) -> Result<ListResult> {
            Ok(ListResult {
                common_prefixes: (0..4).map(|i| Path::from(format!("p{i}"))).collect(),
                objects: vec![],
                extensions: Default::default(),
            })
        }
        async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
            unimplemented!()
        }
    }
}

#[tokio::test]
async fn dropping_the_scan_stops_the_listing() {
    for concurrency in [1, 4] {
        let store = endless::Endless::default();
        let opts = ScanOptions::default()
            .with_concurrency(concurrency)
            .with_discovery_depth(1);
        let outcome = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            scan(&store, None, &opts),
        )
        .await;
        assert!(outcome.is_err(), "an endless listing cannot finish");
        // A listing read ahead on a task of its own ends when that task next runs (the
        // runtime carries out the abort), not within the drop itself.
        let open = || store.open_streams.load(std::sync::atomic::Ordering::SeqCst);
        for _ in 0..100 {
            if open() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(open(), 0, "listings still open");
        let after_drop = store.items.load(std::sync::atomic::Ordering::SeqCst);
        assert!(after_drop > 0);
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        assert_eq!(
            store.items.load(std::sync::atomic::Ordering::SeqCst),
            after_drop,
            "listing went on"
        );
    }
}

// ---- emulators: compare with what was uploaded ----------------------------------------

async fn emulator_inventory(backend: Backend, count: usize) {
    let Some(fixture) = Fixture::new(backend, "inventory") else {
        return;
    };
    let objects = generate(count, 4);
    upload(&*fixture.store, &objects).await;
    check_store(&*fixture.store, None, &expected(&objects, 2, 12, 7), "").await;
    let under: Vec<_> = objects
        .iter()
        .filter_map(|(k, s)| k.strip_prefix("images/").map(|r| (r.to_string(), *s)))
        .collect();
    check_store(
        &*fixture.store,
        Some(&Path::from("images/")),
        &expected(&under, 2, 12, 7),
        "images/",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_moto() {
    emulator_inventory(Backend::Moto, 1500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_seaweedfs() {
    emulator_inventory(Backend::SeaweedFs, 1500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_azurite() {
    emulator_inventory(Backend::Azurite, 600).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gcs_fake() {
    let Some(fixture) = Fixture::new(Backend::FakeGcs, "inventory") else {
        return;
    };
    let objects = generate(250, 5);
    stream::iter(&objects)
        .for_each_concurrent(16, |(key, size)| {
            common::gcs_seed(&fixture.prefix, key, vec![7u8; *size as usize])
        })
        .await;
    check_store(&*fixture.store, None, &expected(&objects, 2, 12, 7), "").await;
}

/// A flat folder on a real server, cut into key ranges with its first page, as the
/// command scans the stores whose server begins a listing at its offset (S3's
/// `start-after`, GCS's `startOffset`): equal to one listing, and cut (1,300 hashed
/// names: the 300 after the first page in pieces of four blocks of 20).
async fn flat_folder_cut_with_its_first_page(backend: Backend) {
    let Some(fixture) = Fixture::new(backend, "flat-first") else {
        return;
    };
    let objects: Vec<(String, u64)> = (0..1300u64)
        .map(|i| {
            let name = (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            (format!("up/{name:016x}.jpg"), i % 97)
        })
        .collect();
    match backend {
        Backend::FakeGcs => {
            stream::iter(&objects)
                .for_each_concurrent(16, |(key, size)| {
                    common::gcs_seed(&fixture.prefix, key, vec![7u8; *size as usize])
                })
                .await
        }
        _ => upload(&*fixture.store, &objects).await,
    }
    let as_of = Utc::now();
    let one = scan(&*fixture.store, None, &options(1, as_of))
        .await
        .unwrap();
    assert_matches(&one, &expected(&objects, 2, 12, 7), "");
    let known = std::sync::Arc::new(AtomicU64::new(0));
    let seen = std::sync::Arc::clone(&known);
    let cut = options(8, as_of)
        .with_range_block(20)
        .with_offsets_on_server(true)
        .with_progress(move |p| {
            seen.fetch_max(p.parts_known, Ordering::Relaxed);
        });
    let cut = scan(&*fixture.store, None, &cut).await.unwrap();
    assert_eq!(cut, one, "a flat folder cut with its first page differs");
    // The bucket, its folder, and the folder's rest in more than one range.
    let known = known.load(Ordering::Relaxed);
    assert!(known >= 4, "{known} parts known: the folder was not cut");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flat_folder_cut_with_its_first_page_on_seaweedfs_moto_and_fake_gcs() {
    for backend in [Backend::SeaweedFs, Backend::Moto, Backend::FakeGcs] {
        flat_folder_cut_with_its_first_page(backend).await;
    }
}

/// What an operator sees when a bucket is missing, access is denied or the endpoint is
/// down: one line naming the store, and advice.
#[tokio::test]
async fn failures_read_as_one_line_with_advice() {
    let unreachable = stratus::open(
        "s3://b?endpoint=http://127.0.0.1:9&allow_http=true&access_key_id=x&secret_access_key=y",
    )
    .unwrap();
    let err = scan(&*unreachable, None, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.brief()
            .starts_with("store `RedactedStore(AmazonS3(b))`: listing `` failed"),
        "{}",
        err.brief()
    );
    assert!(!err.brief().contains('\n'));
    assert!(err.advice().unwrap().contains("check `endpoint`"), "{err}");

    let Some(endpoint) = Backend::Moto.endpoint() else {
        return;
    };
    let missing = stratus::open(&format!(
        "s3://no-such-bucket?endpoint={endpoint}&allow_http=true&access_key_id=x&secret_access_key=y"
    ))
    .unwrap();
    let err = scan(&*missing, None, &ScanOptions::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("NoSuchBucket"),
        "the full text keeps the response"
    );
    assert!(
        !err.brief().contains('\n') && !err.brief().contains("<?xml"),
        "{}",
        err.brief()
    );
    assert!(err.brief().contains("404 Not Found"), "{}", err.brief());
    assert!(err.advice().unwrap().contains("does not exist"), "{err}");

    if Backend::Azurite.endpoint().is_some() {
        let denied = stratus::open("az://stratus?use_emulator=true&access_key=d3JvbmcK").unwrap();
        let err = scan(&*denied, None, &ScanOptions::default())
            .await
            .unwrap_err();
        assert!(!err.brief().contains('\n'), "{}", err.brief());
        assert!(err.advice().unwrap().contains("access was denied"), "{err}");
    }
}

/// An in-memory store whose delimiter listings take 50 ms and are counted when they
/// complete, to see which way discovery went.
mod slow_delimiter {
    use futures::stream::BoxStream;
    use object_store::memory::InMemory;
    use object_store::path::Path;
    use object_store::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug, Default)]
    pub struct SlowDelimiter {
        pub inner: InMemory,
        pub completed: AtomicUsize,
    }

    impl std::fmt::Display for SlowDelimiter {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SlowDelimiter")
        }
    }

    #[async_trait::async_trait]
    impl ObjectStore for SlowDelimiter {
        async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> Result<Box<dyn MultipartUpload>> {
            self.inner.put_multipart_opts(l, o).await
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
            self.inner.get_opts(l, o).await
        }
        fn delete_stream(
            &self,
            l: BoxStream<'static, Result<Path>>,
        ) -> BoxStream<'static, Result<Path>> {
            self.inner.delete_stream(l)
        }
        fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
            self.inner.list(prefix)
        }
        async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            let result = self.inner.list_with_delimiter(prefix).await;
            self.completed.fetch_add(1, Ordering::SeqCst);
            result
        }
        async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
            self.inner.copy_opts(f, t, o).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_streams_flat_levels_and_counts_small_subtrees_from_the_probe() {
    use std::sync::atomic::Ordering;
    let as_of = Utc::now();
    let scan_both = |store: std::sync::Arc<slow_delimiter::SlowDelimiter>| async move {
        let seq = scan(&*store, None, &options(1, as_of)).await.unwrap();
        let last = std::sync::Arc::new(std::sync::Mutex::new(None));
        let sink = std::sync::Arc::clone(&last);
        let opts = options(8, as_of).with_progress(move |p| *sink.lock().unwrap() = Some(p));
        let par = scan(&*store, None, &opts).await.unwrap();
        assert_eq!(par, seq, "parallel scan differs from sequential");
        let last = last.lock().unwrap().expect("progress was reported");
        assert_eq!(last.parts_done, last.parts_known, "{last:?}");
        assert_eq!((last.done, last.bytes), (seq.objects, seq.bytes));
        seq
    };

    // Flat: 3,000 objects directly at the root and a few nested ones. The probe shows a
    // flat level, so the delimiter listing (which would collect all 3,000) is dropped.
    let flat = std::sync::Arc::new(slow_delimiter::SlowDelimiter::default());
    let mut objects: Vec<(String, u64)> =
        (0..3000).map(|i| (format!("obj-{i:05}"), i % 50)).collect();
    objects.extend((0..10).map(|i| (format!("zz/nested-{i}"), 7)));
    upload(&flat.inner, &objects).await;
    let report = scan_both(std::sync::Arc::clone(&flat)).await;
    assert_matches(&report, &expected(&objects, 2, 12, 7), "");
    assert_eq!(
        flat.completed.load(Ordering::SeqCst),
        0,
        "a delimiter listing ran on a flat level"
    );

    // Small: the whole subtree fits in the probe's page, so no delimiter listing is needed.
    let small = std::sync::Arc::new(slow_delimiter::SlowDelimiter::default());
    let objects = generate(300, 6);
    upload(&small.inner, &objects).await;
    let report = scan_both(std::sync::Arc::clone(&small)).await;
    assert_matches(&report, &expected(&objects, 2, 12, 7), "");
    assert_eq!(small.completed.load(Ordering::SeqCst), 0);

    // Nested and large: the probe sees mostly deeper keys; the delimiter listing splits it.
    let nested = std::sync::Arc::new(slow_delimiter::SlowDelimiter::default());
    let objects = generate(2500, 7);
    upload(&nested.inner, &objects).await;
    let report = scan_both(std::sync::Arc::clone(&nested)).await;
    assert_matches(&report, &expected(&objects, 2, 12, 7), "");
    assert!(
        nested.completed.load(Ordering::SeqCst) >= 1,
        "no delimiter listing split the tree"
    );
}

/// "What grew since last week": two scans of one store a change apart, the older written
/// as JSON and read back (`Report::load`), then diffed: totals and prefixes as changed.
#[tokio::test]
async fn a_diff_of_two_scans_shows_what_grew_and_what_went() {
    let store = object_store::memory::InMemory::new();
    for (key, size) in [
        ("logs/a", 100),
        ("logs/b", 100),
        ("tmp/x", 50),
        ("img/p", 10),
    ] {
        store
            .put(&Path::from(key), vec![0u8; size].into())
            .await
            .unwrap();
    }
    let options = ScanOptions::default().with_depth(1);
    let before = scan(&store, None, &options).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("before.json");
    std::fs::write(&file, serde_json::to_string(&before).unwrap()).unwrap();
    let loaded = Report::load(&file).unwrap();
    assert_eq!(loaded, before, "a report survives its JSON");

    store
        .put(&Path::from("logs/c"), vec![0u8; 1000].into())
        .await
        .unwrap();
    store.delete(&Path::from("tmp/x")).await.unwrap();
    store
        .put(&Path::from("new/y"), vec![0u8; 5].into())
        .await
        .unwrap();
    let after = scan(&store, None, &options).await.unwrap();
    let diff = loaded.diff(&after);
    assert_eq!((diff.objects.before, diff.objects.after), (4, 5));
    assert_eq!((diff.bytes.before, diff.bytes.after), (260, 1215));
    let changes: Vec<(&str, stratus::inventory::PrefixStatus, i128)> = diff
        .prefixes
        .iter()
        .map(|p| (p.prefix.as_str(), p.status, p.bytes.delta()))
        .collect();
    use stratus::inventory::PrefixStatus::*;
    assert_eq!(
        changes,
        [
            ("logs", Changed, 1000),
            ("new", Appeared, 5),
            ("img", Same, 0),
            ("tmp", Vanished, -50),
        ]
    );
    let err = Report::load(dir.path().join("missing.json"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read inventory report") && err.contains("missing.json"),
        "{err}"
    );
    std::fs::write(dir.path().join("bad.json"), "{\"objects\": 1}").unwrap();
    let err = Report::load(dir.path().join("bad.json"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an inventory report"), "{err}");
}
