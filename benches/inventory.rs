//! Inventory benchmarks: each prints ours beside a baseline measured in the same run,
//! interleaved, with medians. Run with `--release`:
//!
//! ```text
//! cargo bench --bench inventory              # all four
//! cargo bench --bench inventory -- overhead  # or: add, latency, flat, flat-verify, memory, local
//! ```
//!
//! 0. `add`: nanoseconds per object of `Report::add` (all aggregations, depth 0 and 2),
//!    the minimum of 30 passes over 100,000 prebuilt listing entries.
//! 1. `overhead`: `scan` at concurrency 1 vs a bare `list` loop that only sums sizes,
//!    100,000 objects, same store: in memory (the cheapest listing there is, so the
//!    harshest ratio) and on the local filesystem.
//! 2. `latency`: a store that serves listings in pages of 1,000 with 20 ms per page
//!    (`STRATUS_BENCH_DELAY_MS` to change), 200,000 generated objects in 200 prefixes;
//!    concurrency 32 vs 1 vs the ideal `pages × delay / 32`.
//!
//!    `flat`: 200,000 hashed names in one folder (`STRATUS_BENCH_FLAT` to change),
//!    pages of 1,000 with 20 ms per page, listed from an offset as S3 does: concurrency
//!    32 with key ranges, without, and concurrency 1; times and pages requested.
//!
//!    `flat-verify`: `verify` of two such folders (pages and delays the same): the join
//!    cut into key ranges, one join at concurrency 32, and concurrency 1.
//! 3. `memory`: peak RSS while scanning 1,000,000 generated objects (each scan in a
//!    child process of its own, so peaks do not mix), in 1,000 folders and all in one
//!    folder (a flat level), vs collecting the listing.
//! 4. `local`: a 20,000-file tree, `scan` of the store a config builds (and of
//!    object_store's `LocalFileSystem` as it is) vs `du -sb`.

#[path = "support/timing.rs"]
mod timing;
use futures::stream::{self, BoxStream, Stream};
use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::*;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stratus::inventory::{scan, ScanOptions};
use stratus::sync::{verify, SyncOptions};
use timing::{median, ms};

const RUNS: usize = 7;

/// Keys "p{p:03}/k{i:06}", sizes from a cheap deterministic sequence.
fn key_and_size(i: u64, prefixes: u64) -> (String, u64) {
    let p = i % prefixes;
    (
        format!("p{p:03}/k{i:07}"),
        (i.wrapping_mul(2654435761) % 65536) + i.is_multiple_of(7) as u64 * 1_000_000,
    )
}

async fn filled_memory_store(objects: u64, prefixes: u64) -> Arc<InMemory> {
    let store = Arc::new(InMemory::new());
    stream::iter(0..objects)
        .for_each_concurrent(64, |i| {
            let store = Arc::clone(&store);
            async move {
                let (key, _) = key_and_size(i, prefixes);
                // Size does not matter to listing cost; keep memory small.
                store
                    .put(&Path::from(key), PutPayload::from_static(b"x"))
                    .await
                    .unwrap();
            }
        })
        .await;
    store
}

async fn bare_list_sum(store: &dyn ObjectStore) -> (u64, u64) {
    store
        .list(None)
        .try_fold(
            (0u64, 0u64),
            |(n, b), m| async move { Ok((n + 1, b + m.size)) },
        )
        .await
        .unwrap()
}

fn add_cost() {
    let as_of = chrono::Utc::now();
    let mut metas: Vec<ObjectMeta> = (0..100_000u64)
        .map(|i| ObjectMeta {
            location: Path::from(format!("p{:03}/d{}/k{i:07}", i / 100, i % 3)),
            last_modified: as_of - chrono::TimeDelta::seconds((i * 7919) as i64 % 100_000_000),
            size: i.wrapping_mul(2654435761) % 65536,
            e_tag: None,
            version: None,
        })
        .collect();
    // In listing order, as every store returns them.
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    // The same objects named with extensions (`k0000001.jpg`), for the count by extension.
    let named: Vec<ObjectMeta> = metas
        .iter()
        .enumerate()
        .map(|(i, m)| ObjectMeta {
            location: Path::from(format!(
                "{}.{}",
                m.location,
                ["jpg", "PNG", "log", "gz", "parquet"][i % 5]
            )),
            ..m.clone()
        })
        .collect();
    println!("\n0. Report::add per object, 100,000 entries, minimum of 30 passes");
    for (label, depth, extensions, metas) in [
        ("depth 0", 0, false, &metas),
        ("depth 2", 2, false, &metas),
        ("depth 0, names with extensions", 0, false, &named),
        ("depth 0, by extension", 0, true, &named),
        ("depth 2, by extension", 2, true, &named),
    ] {
        let mut best = f64::MAX;
        for _ in 0..30 {
            let mut report =
                stratus::inventory::Report::new(as_of, depth, 1000, 20).with_extensions(extensions);
            let t = Instant::now();
            for meta in metas {
                report.add(meta.location.as_ref(), meta);
            }
            best = best.min(t.elapsed().as_nanos() as f64 / metas.len() as f64);
            std::hint::black_box(&report);
        }
        println!("   {label:<40} {best:>9.1} ns");
    }
}

/// Median times of a bare list loop and of `scan`, interleaved, on `store`.
async fn overhead_on(store: &dyn ObjectStore, n: u64) -> (Duration, Duration) {
    let opts = ScanOptions::default().with_concurrency(1);
    let (mut ours, mut base) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let (count, _) = bare_list_sum(store).await;
        base.push(t.elapsed());
        assert_eq!(count, n);
        let t = Instant::now();
        let r = scan(store, None, &opts).await.unwrap();
        ours.push(t.elapsed());
        assert_eq!(r.objects, n);
    }
    (median(base), median(ours))
}

async fn overhead() {
    println!("\n1. Aggregation overhead: 100,000 objects, concurrency 1, median of {RUNS} interleaved runs");
    println!(
        "   {:<28} {:>14} {:>14} {:>8}",
        "store", "bare list sum", "scan", "ratio"
    );
    let memory = filled_memory_store(100_000, 1000).await;
    let (b, o) = overhead_on(memory.as_ref(), 100_000).await;
    println!(
        "   {:<28} {:>14} {:>14} {:>8.3}",
        "InMemory",
        ms(b),
        ms(o),
        o.as_secs_f64() / b.as_secs_f64()
    );
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 100_000, 1000, 512);
    let local = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let (b, o) = overhead_on(&local, 100_000).await;
    println!(
        "   {:<28} {:>14} {:>14} {:>8.3}",
        "LocalFileSystem (warm)",
        ms(b),
        ms(o),
        o.as_secs_f64() / b.as_secs_f64()
    );
    println!("   (target: ratio <= 1.05)");
}

/// `n` files in `folders` folders under `root`, sizes below `max_size`.
fn write_tree(root: &std::path::Path, n: u64, folders: u64, max_size: u64) {
    for i in 0..n {
        let (key, size) = key_and_size(i, folders);
        let path = root.join(key);
        if i < folders {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        }
        std::fs::write(path, vec![0u8; (size % max_size) as usize]).unwrap();
    }
}

/// Serves the inner store's listings in pages of `page` entries, `delay` before each page
/// (the shape of S3's ListObjectsV2), lazily. Counts pages served.
#[derive(Debug)]
struct Paged {
    inner: Arc<dyn ObjectStore>,
    page: usize,
    delay: Duration,
    pages: Arc<std::sync::atomic::AtomicU64>,
}

impl Paged {
    /// `listing` served as a server's pages: each request leaves at once and its answer
    /// comes `delay` later, the page made meanwhile (the server's work, as a real
    /// server's: neither before the request leaves nor after the answer comes), the last
    /// page known as the last (an empty listing is one empty page).
    fn paged(
        &self,
        listing: impl Stream<Item = Result<ObjectMeta>> + Send + 'static,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let (page, delay, pages) = (self.page, self.delay, Arc::clone(&self.pages));
        stream::unfold(Some(listing.boxed().peekable()), move |listing| {
            let pages = Arc::clone(&pages);
            async move {
                let mut listing = listing?;
                let ((), entries) = futures::join!(
                    tokio::time::sleep(delay),
                    (&mut listing).take(page).collect::<Vec<_>>()
                );
                pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let more = std::pin::Pin::new(&mut listing).peek().await.is_some();
                Some((stream::iter(entries), more.then_some(listing)))
            }
        })
        .flatten()
        .boxed()
    }
}

impl std::fmt::Display for Paged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Paged({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Paged {
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
        // Lazy, as a real provider's listing is (no request before the first poll);
        // InMemory itself builds its whole listing inside `list`.
        let (inner, prefix) = (Arc::clone(&self.inner), prefix.cloned());
        self.paged(stream::once(async move { inner.list(prefix.as_ref()) }).flatten())
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        // As S3's start-after: the server skips to the offset, pages from there.
        let (inner, prefix, offset) = (Arc::clone(&self.inner), prefix.cloned(), offset.clone());
        self.paged(
            stream::once(async move { inner.list_with_offset(prefix.as_ref(), &offset) }).flatten(),
        )
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        // The first page's delay comes before any work, as with a server: a request
        // dropped while in flight costs the client nothing.
        tokio::time::sleep(self.delay).await;
        self.pages
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let result = self.inner.list_with_delimiter(prefix).await?;
        let n = (result.objects.len() + result.common_prefixes.len()).div_ceil(self.page);
        for _ in 1..n {
            tokio::time::sleep(self.delay).await;
            self.pages
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(result)
    }
    async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

async fn latency() {
    let delay = Duration::from_millis(
        std::env::var("STRATUS_BENCH_DELAY_MS").map_or(20, |v| v.parse().unwrap()),
    );
    // Entries generated on the fly: the server's side of a listing costs the client
    // nothing, as with S3 (InMemory would charge an O(all keys) walk per delimiter listing).
    let inner: Arc<dyn ObjectStore> = Arc::new(Generated {
        n: 200_000,
        prefixes: 200,
    });
    let pages = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let store = Paged {
        inner,
        page: 1000,
        delay,
        pages: Arc::clone(&pages),
    };
    let listing_pages = 200_000 / 1000;
    let ideal = delay * listing_pages / 32;
    let (mut c32, mut c1) = (Vec::new(), Vec::new());
    let mut pages32 = 0;
    let runs = 3; // concurrency 1 takes ~4 s a run
    for _ in 0..runs {
        pages.store(0, std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        let r = scan(&store, None, &ScanOptions::default().with_concurrency(32))
            .await
            .unwrap();
        c32.push(t.elapsed());
        pages32 = pages.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(r.objects, 200_000);
        let t = Instant::now();
        let r = scan(&store, None, &ScanOptions::default().with_concurrency(1))
            .await
            .unwrap();
        c1.push(t.elapsed());
        assert_eq!(r.objects, 200_000);
    }
    let (a, b) = (median(c32), median(c1));
    // What one page really costs here (timer overshoot included), from the sequential run,
    // and the least any discover-then-list plan can take: one discovery round, then
    // ceil(200 / 32) = 7 rounds of pages.
    let page = b / (listing_pages + 1);
    let floor = page * (1 + listing_pages.div_ceil(32));
    println!("\n2. Latency-bound listing: 200,000 objects in 200 prefixes, pages of 1,000, 20 ms a page, median of {runs}");
    println!(
        "   {:<40} {:>12}",
        "ideal: 200 pages x 20 ms / 32",
        ms(ideal)
    );
    println!(
        "   {:<40} {:>12}",
        "measured cost of a page (c1 / 201)",
        ms(page)
    );
    println!(
        "   {:<40} {:>12}",
        "floor: (1 + ceil(200/32)) rounds x page",
        ms(floor)
    );
    println!(
        "   {:<40} {:>12}  ({pages32} pages incl. discovery)",
        "scan, concurrency 32",
        ms(a)
    );
    println!("   {:<40} {:>12}", "scan, concurrency 1", ms(b));
    println!(
        "   concurrency 32 / ideal: {:.2}  (target <= 1.25);  / floor: {:.2};  speed-up over concurrency 1: {:.1}x  (target >= 20)",
        a.as_secs_f64() / ideal.as_secs_f64(),
        a.as_secs_f64() / floor.as_secs_f64(),
        b.as_secs_f64() / a.as_secs_f64()
    );
}

/// The flat folder of [`flat`] and [`flat_verify`]: `n` hashed names
/// (`flat/<16 hex digits>`, `STRATUS_BENCH_FLAT`, 200,000 by default) in byte order,
/// served in pages of 1,000 that take `delay` each (`STRATUS_BENCH_DELAY_MS`, 20), and
/// the pages requested.
struct FlatFolder {
    n: u64,
    delay: Duration,
    keys: Arc<Vec<String>>,
    pages: Arc<std::sync::atomic::AtomicU64>,
}

impl FlatFolder {
    fn new() -> Self {
        let n: u64 = std::env::var("STRATUS_BENCH_FLAT").map_or(200_000, |v| v.parse().unwrap());
        let delay = Duration::from_millis(
            std::env::var("STRATUS_BENCH_DELAY_MS").map_or(20, |v| v.parse().unwrap()),
        );
        let mut keys: Vec<String> = (0..n)
            .map(|i| format!("flat/{:016x}", (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        keys.sort();
        Self {
            n,
            delay,
            keys: Arc::new(keys),
            pages: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        }
    }

    /// A store of the folder, its pages counted with every other store's of it.
    fn store(&self) -> Paged {
        Paged {
            inner: Arc::new(Sorted(Arc::clone(&self.keys))),
            page: 1000,
            delay: self.delay,
            pages: Arc::clone(&self.pages),
        }
    }

    /// Each variant run [`FLAT_RUNS`] times, the variants alternating, then printed under
    /// `title`: the median time and the pages of each variant's last run.
    async fn measure<'s, O>(
        &self,
        title: &str,
        variants: &'s [(&str, O)],
        run: impl Fn(&'s O) -> futures::future::BoxFuture<'s, ()>,
    ) -> Vec<(Duration, u64)> {
        let mut times = vec![Vec::new(); variants.len()];
        let mut counts = vec![0; variants.len()];
        for _ in 0..FLAT_RUNS {
            for (i, (_, options)) in variants.iter().enumerate() {
                self.pages.store(0, std::sync::atomic::Ordering::Relaxed);
                let t = Instant::now();
                run(options).await;
                times[i].push(t.elapsed());
                counts[i] = self.pages.load(std::sync::atomic::Ordering::Relaxed);
            }
        }
        let measured: Vec<(Duration, u64)> = times.into_iter().map(median).zip(counts).collect();
        println!(
            "\n{title}: {} names, pages of 1,000, {} ms a page, median of {FLAT_RUNS}",
            self.n,
            self.delay.as_millis()
        );
        for ((name, _), (time, pages)) in variants.iter().zip(&measured) {
            println!("   {:<40} {:>12}  {:>5} pages", name, ms(*time), pages);
        }
        measured
    }
}

/// Runs of each variant of [`FlatFolder::measure`].
const FLAT_RUNS: usize = 3;

/// A scan of the flat folder: concurrency 32 with key ranges vs without (one streaming
/// listing, as before key ranges) vs concurrency 1, and the pages each requested.
async fn flat() {
    let folder = FlatFolder::new();
    let store = folder.store();
    let variants: [(&str, ScanOptions); 4] = [
        (
            "concurrency 32, key ranges",
            ScanOptions::default().with_concurrency(32),
        ),
        // As the command scans S3 and GCS, which begin a listing at its offset.
        (
            "same, offsets known on the server",
            ScanOptions::default()
                .with_concurrency(32)
                .with_offsets_on_server(true),
        ),
        (
            "concurrency 32, no key ranges",
            ScanOptions::default()
                .with_concurrency(32)
                .with_key_ranges(false),
        ),
        ("concurrency 1", ScanOptions::default().with_concurrency(1)),
    ];
    let m = folder
        .measure("2b. Flat folder", &variants, |options| {
            Box::pin(async {
                let r = scan(&store, None, options).await.unwrap();
                assert_eq!(r.objects, folder.n);
            })
        })
        .await;
    let plain = folder.n.div_ceil(1000);
    for (name, i) in [("key ranges", 0), ("offsets known", 1)] {
        println!(
            "   speed-up of {name} over concurrency 1: {:.1}x (target >= 20); pages {} vs {} for one listing: {:.2}x (target <= 1.3)",
            m[3].0.as_secs_f64() / m[i].0.as_secs_f64(),
            m[i].1,
            plain,
            m[i].1 as f64 / plain as f64
        );
    }
}

/// `verify` of two copies of the flat folder (both paged and delayed the same way): the
/// join cut into key ranges against one join.
async fn flat_verify() {
    let folder = FlatFolder::new();
    let (a, b) = (folder.store(), folder.store());
    let variants: [(&str, SyncOptions); 4] = [
        (
            "concurrency 32, key ranges",
            SyncOptions::default()
                .with_concurrency(32)
                .with_key_ranges(true),
        ),
        // As the command joins S3 and GCS stores, which begin a listing at its offset.
        (
            "same, offsets known on the server",
            SyncOptions::default()
                .with_concurrency(32)
                .with_key_ranges(true)
                .with_offsets_on_server(true),
        ),
        (
            "concurrency 32, one join",
            SyncOptions::default()
                .with_concurrency(32)
                .with_key_ranges(false),
        ),
        ("concurrency 1", SyncOptions::default().with_concurrency(1)),
    ];
    let m = folder
        .measure(
            "2c. verify of two copies of the flat folder",
            &variants,
            |options| {
                Box::pin(async {
                    let found = verify(&a, &b, options).await.unwrap();
                    assert_eq!(found.same, folder.n);
                })
            },
        )
        .await;
    let plain = 2 * folder.n.div_ceil(1000);
    for (name, i) in [("key ranges", 0), ("offsets known", 1)] {
        println!(
            "   speed-up of {name} over one join: {:.1}x; pages {} vs {} for one join: {:.2}x",
            m[2].0.as_secs_f64() / m[i].0.as_secs_f64(),
            m[i].1,
            plain,
            m[i].1 as f64 / plain as f64
        );
    }
}

/// Sorted keys of one folder, listed (from an offset too) as a server lists: the
/// server's work is a binary search, not billed to the client.
#[derive(Debug)]
struct Sorted(Arc<Vec<String>>);

impl std::fmt::Display for Sorted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sorted({})", self.0.len())
    }
}

impl Sorted {
    fn from(&self, start: usize) -> BoxStream<'static, Result<ObjectMeta>> {
        let keys = Arc::clone(&self.0);
        stream::iter(start..keys.len())
            .map(move |i| {
                Ok(ObjectMeta {
                    location: Path::parse(&keys[i]).expect("a valid key"),
                    last_modified: chrono::DateTime::from_timestamp(1_700_000_000 + i as i64, 0)
                        .unwrap(),
                    size: i as u64 % 65_536,
                    e_tag: None,
                    version: None,
                })
            })
            .boxed()
    }
}

#[async_trait::async_trait]
impl ObjectStore for Sorted {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        unimplemented!("read-only")
    }
    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        unimplemented!("read-only")
    }
    async fn get_opts(&self, _: &Path, _: GetOptions) -> Result<GetResult> {
        unimplemented!("read-only")
    }
    fn delete_stream(
        &self,
        _: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        unimplemented!("read-only")
    }
    fn list(&self, _: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.from(0)
    }
    fn list_with_offset(
        &self,
        _: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.from(self.0.partition_point(|k| k.as_str() <= offset.as_ref()))
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        Ok(match prefix {
            None => ListResult {
                common_prefixes: vec![Path::from("flat")],
                objects: vec![],
                extensions: Default::default(),
            },
            Some(_) => ListResult {
                common_prefixes: vec![],
                objects: self.list(prefix).try_collect().await?,
                extensions: Default::default(),
            },
        })
    }
    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        unimplemented!("read-only")
    }
}

/// Generates a sorted listing of `n` objects on the fly in `prefixes` folders; holds none.
#[derive(Debug)]
struct Generated {
    n: u64,
    prefixes: u64,
}

impl std::fmt::Display for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Generated({})", self.n)
    }
}

impl Generated {
    fn meta(&self, p: u64, j: u64) -> ObjectMeta {
        let i = j * self.prefixes + p;
        let (_, size) = key_and_size(i, self.prefixes);
        ObjectMeta {
            location: Path::parse(format!("p{p:03}/k{i:07}")).expect("a valid key"),
            last_modified: chrono::DateTime::from_timestamp(
                1_700_000_000 + (i as i64 % 50_000_000),
                0,
            )
            .unwrap(),
            size,
            e_tag: None,
            version: None,
        }
    }
}

#[async_trait::async_trait]
impl ObjectStore for Generated {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        unimplemented!("read-only")
    }
    async fn put_multipart_opts(
        &self,
        _: &Path,
        _: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        unimplemented!("read-only")
    }
    async fn get_opts(&self, _: &Path, _: GetOptions) -> Result<GetResult> {
        unimplemented!("read-only")
    }
    fn delete_stream(
        &self,
        _: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        unimplemented!("read-only")
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let me = Generated {
            n: self.n,
            prefixes: self.prefixes,
        };
        let per = self.n / self.prefixes;
        let only: Option<u64> = prefix.map(|p| p.as_ref().trim_start_matches('p').parse().unwrap());
        let folders: Vec<u64> = match only {
            Some(p) => vec![p],
            None => (0..self.prefixes).collect(),
        };
        stream::iter(folders)
            .flat_map(move |p| {
                let me = Generated {
                    n: me.n,
                    prefixes: me.prefixes,
                };
                stream::iter((0..per).map(move |j| Ok(me.meta(p, j))))
            })
            .boxed()
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        Ok(match prefix {
            // The top level: only folders.
            None => ListResult {
                common_prefixes: (0..self.prefixes)
                    .map(|p| Path::from(format!("p{p:03}")))
                    .collect(),
                objects: vec![],
                extensions: Default::default(),
            },
            // A folder: only objects.
            Some(_) => ListResult {
                common_prefixes: vec![],
                objects: self.list(prefix).try_collect().await?,
                extensions: Default::default(),
            },
        })
    }
    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        unimplemented!("read-only")
    }
}

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// In a child process: measure one way of going through 1M objects; prints
/// "baseline_kib peak_kib objects".
async fn memory_child(mode: &str) {
    let store = Generated {
        n: 1_000_000,
        prefixes: 1000,
    };
    let baseline = rss_kib("VmRSS:");
    let objects = match mode {
        "scan1" => {
            scan(&store, None, &ScanOptions::default().with_concurrency(1))
                .await
                .unwrap()
                .objects
        }
        "scan32" => {
            scan(&store, None, &ScanOptions::default().with_concurrency(32))
                .await
                .unwrap()
                .objects
        }
        "scan32flat" => {
            let flat = Generated {
                n: 1_000_000,
                prefixes: 1,
            };
            scan(&flat, None, &ScanOptions::default().with_concurrency(32))
                .await
                .unwrap()
                .objects
        }
        "collect" => store
            .list(None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len() as u64,
        _ => unreachable!(),
    };
    println!("{baseline} {} {objects}", rss_kib("VmHWM:"));
}

fn memory() {
    println!("\n3. Memory: peak RSS above the process baseline, 1,000,000 generated objects in 1,000 prefixes");
    let exe = std::env::current_exe().unwrap();
    for (mode, label) in [
        ("scan1", "scan, concurrency 1"),
        ("scan32", "scan, concurrency 32"),
        ("scan32flat", "scan, concurrency 32, all in one folder"),
        ("collect", "baseline: collect the listing into a Vec"),
    ] {
        let out = std::process::Command::new(&exe)
            .args(["memory-child", mode])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<u64> = text
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        assert_eq!(v[2], 1_000_000, "{mode} counted {}", v[2]);
        println!(
            "   {:<40} {:>8.1} MiB",
            label,
            (v[1].saturating_sub(v[0])) as f64 / 1024.0
        );
    }
    println!("   (target: scan <= 64 MiB above baseline)");
}

async fn local() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), 20_000, 200, 4096);
    let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    // What a user gets: the local store a config builds (listed in key order, names no
    // key can hold counted apart).
    let config = stratus::Config::from_toml(
        &format!(
            "[stores.local]\nprovider = \"local\"\nroot = {:?}\n",
            dir.path().display().to_string()
        ),
        "bench.toml",
        ".",
    )
    .unwrap();
    let built = config.open("local").unwrap();
    let (mut du, mut s1, mut s16, mut b16) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = std::process::Command::new("du")
            .arg("-sb")
            .arg(dir.path())
            .output()
            .unwrap();
        du.push(t.elapsed());
        assert!(out.status.success());
        let t = Instant::now();
        let r = scan(&built, None, &ScanOptions::default().with_concurrency(1))
            .await
            .unwrap();
        s1.push(t.elapsed());
        assert_eq!(r.objects, 20_000);
        let t = Instant::now();
        let r = scan(&store, None, &ScanOptions::default().with_concurrency(16))
            .await
            .unwrap();
        s16.push(t.elapsed());
        assert_eq!(r.objects, 20_000);
        let t = Instant::now();
        let r = scan(&built, None, &ScanOptions::default().with_concurrency(16))
            .await
            .unwrap();
        b16.push(t.elapsed());
        assert_eq!(r.objects, 20_000);
    }
    let (d, a, b, c) = (median(du), median(s1), median(s16), median(b16));
    println!("\n4. Local filesystem: 20,000 files in 200 folders (warm cache), median of {RUNS}");
    println!("   {:<40} {:>12}", "du -sb", ms(d));
    println!(
        "   {:<40} {:>12}  ratio to du {:.2}",
        "scan, concurrency 1, config's store",
        ms(a),
        a.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "   {:<40} {:>12}  ratio to du {:.2}",
        "scan, concurrency 16, object_store's own",
        ms(b),
        b.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "   {:<40} {:>12}  ratio to du {:.2}",
        "scan, concurrency 16, config's store",
        ms(c),
        c.as_secs_f64() / d.as_secs_f64()
    );
    println!("   (aim: within 1.2x of du, issue 28)");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = timing::args();
    if args.first().map(String::as_str) == Some("memory-child") {
        return memory_child(&args[1]).await;
    }
    let all = args.is_empty();
    let want = |name: &str| all || args.iter().any(|a| a == name);
    if cfg!(debug_assertions) {
        println!("warning: a debug build; run with --release for meaningful numbers");
    }
    if want("add") {
        add_cost();
    }
    if want("overhead") {
        overhead().await;
    }
    if want("latency") {
        latency().await;
    }
    if want("flat") {
        flat().await;
    }
    if want("flat-verify") {
        flat_verify().await;
    }
    if want("memory") {
        memory();
    }
    if want("local") {
        local().await;
    }
}
