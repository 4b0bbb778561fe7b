//! A store for attacking the inventory scan's exploration and key ranges, and the keys
//! and options the scan reviews (tests/adversarial_review_8.rs, tests/adversarial_review_9.rs)
//! run it with. `mod scan_probe;` in a test file; not every file uses every helper.

#![allow(dead_code)]

use chrono::DateTime;
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::*;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use stratus::inventory::{scan, Report, ScanOptions};

/// Keys of one shape, `n` of them, from `seed` (as tests/key_ranges.rs makes them).
pub fn keys(shape: u8, n: usize, seed: u64) -> Vec<String> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let odd = ["a", "a-b", "a.b", "a b", "a~", "é", "日本", "a/", "b", "~"];
    let mut out: Vec<String> = (0..n)
        .map(|i| match shape % 7 {
            0 => format!("uploads/{:016x}.jpg", next()),
            1 => format!(
                "logs/2026-{:02}-{:02}T{:02}:00:00Z-{i}",
                next() % 12 + 1,
                next() % 28 + 1,
                next() % 24
            ),
            2 => match next() % 4 {
                0 => format!("t/d{}/e{}/f{}", next() % 5, next() % 3, next() % 1000),
                _ => format!("t/flat/{}", next() % 100_000),
            },
            3 => {
                let mut key = odd[(next() % odd.len() as u64) as usize].to_string();
                for _ in 0..next() % 3 {
                    key.push_str(odd[(next() % odd.len() as u64) as usize]);
                    key.push('/');
                }
                format!("{key}{}", next() % 500)
            }
            4 => format!("k/{}/{:09}", "x".repeat(20), next() % 1_000_000_000),
            // Flat hashed names directly at the node (no folder of their own).
            5 => format!("{:012x}", next()),
            _ => {
                let len = 1 + next() % 12;
                (0..len)
                    .map(|_| match next() % 40 {
                        0 => '/',
                        1 => 'ü',
                        2 => '😀',
                        3 => '~',
                        c => char::from(b' ' + (c as u8 * 3 % 95)),
                    })
                    .collect()
            }
        })
        .filter_map(|k| Path::parse(&k).ok().filter(|p| p.as_ref() == k))
        .map(|p| p.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `keys` under a chain of lone folders (`segments`, joined by `/`).
pub fn chained(keys: &[String], segments: &[&str]) -> Vec<String> {
    let chain: String = segments.iter().map(|s| format!("{s}/")).collect();
    keys.iter()
        .map(|k| format!("{chain}{k}"))
        .filter(|k| Path::parse(k).is_ok_and(|p| p.as_ref() == k))
        .collect()
}

pub async fn filled(keys: &[String]) -> Arc<InMemory> {
    let store = Arc::new(InMemory::new());
    for (i, key) in keys.iter().enumerate() {
        store
            .put(&Path::parse(key).unwrap(), vec![0u8; i % 97].into())
            .await
            .unwrap();
    }
    store
}

pub fn options(concurrency: usize, block: usize) -> ScanOptions {
    ScanOptions::default()
        .with_depth(3)
        .with_prefix_limit(40)
        .with_top(5)
        .with_concurrency(concurrency)
        .with_range_block(block)
        .with_as_of(DateTime::from_timestamp(2_000_000_000, 0).unwrap())
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub type Rewrite = dyn Fn(Option<&str>, ListResult) -> ListResult + Send + Sync;
pub type Meta = dyn Fn(ObjectMeta) -> ObjectMeta + Send + Sync;
pub type Lister = dyn Fn(
        &Arc<dyn ObjectStore>,
        Option<&Path>,
        Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>>
    + Send
    + Sync;

/// A store for attacks: plain listings from `listed` (through `lister`, if any),
/// delimiter listings from `delimited` (rewritten by `rewrite`, if any), every entry
/// through `meta`; every listing named in `calls`; listings in flight counted (from
/// their first poll to their end or drop, delimiter listings while they run), the most
/// at once in `most`. Each listing waits `latency` before its first entry and yields, so
/// that a timeout around a scan can fire.
pub struct Probe {
    listed: Arc<dyn ObjectStore>,
    delimited: Arc<dyn ObjectStore>,
    lister: Option<Box<Lister>>,
    rewrite: Option<Box<Rewrite>>,
    meta: Option<Arc<Meta>>,
    calls: Arc<Mutex<Vec<String>>>,
    flight: Arc<(AtomicUsize, AtomicUsize)>,
    latency: Duration,
}

impl Probe {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            listed: Arc::clone(&inner),
            delimited: inner,
            lister: None,
            rewrite: None,
            meta: None,
            calls: Arc::default(),
            flight: Arc::default(),
            latency: Duration::ZERO,
        }
    }

    pub fn delimiter(
        mut self,
        rewrite: impl Fn(Option<&str>, ListResult) -> ListResult + Send + Sync + 'static,
    ) -> Self {
        self.rewrite = Some(Box::new(rewrite));
        self
    }

    pub fn delimited_from(mut self, other: Arc<dyn ObjectStore>) -> Self {
        self.delimited = other;
        self
    }

    pub fn lister(
        mut self,
        list: impl Fn(
                &Arc<dyn ObjectStore>,
                Option<&Path>,
                Option<&Path>,
            ) -> BoxStream<'static, Result<ObjectMeta>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.lister = Some(Box::new(list));
        self
    }

    pub fn meta(mut self, meta: impl Fn(ObjectMeta) -> ObjectMeta + Send + Sync + 'static) -> Self {
        self.meta = Some(Arc::new(meta));
        self
    }

    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn calls(&self, kind: &str) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter_map(|c| c.strip_prefix(kind)?.strip_prefix(' '))
            .map(str::to_string)
            .collect()
    }

    /// Forget the listings asked so far.
    pub fn forget(&self) {
        self.calls.lock().unwrap().clear();
    }

    pub fn most(&self) -> usize {
        self.flight.1.load(Ordering::SeqCst)
    }

    fn ask(&self, kind: &str, prefix: Option<&Path>) {
        let prefix = prefix.map_or("", |p| p.as_ref());
        self.calls.lock().unwrap().push(format!("{kind} {prefix}"));
    }

    fn listing(
        &self,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let inner = match &self.lister {
            Some(list) => list(&self.listed, prefix, offset),
            None => match offset {
                Some(offset) => self.listed.list_with_offset(prefix, offset),
                None => self.listed.list(prefix),
            },
        };
        let meta = self.meta.clone();
        let inner = inner
            .map(move |m| match &meta {
                Some(f) => m.map(|m| f(m)),
                None => m,
            })
            .boxed();
        let latency = self.latency;
        let waited = futures::stream::once(async move {
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            tokio::task::yield_now().await;
            inner
        })
        .flatten()
        .boxed();
        Tracked {
            inner: waited,
            guard: None,
            done: false,
            flight: Arc::clone(&self.flight),
        }
        .boxed()
    }
}

/// One listing in flight.
pub struct Flying(Arc<(AtomicUsize, AtomicUsize)>);

impl Flying {
    fn start(flight: &Arc<(AtomicUsize, AtomicUsize)>) -> Self {
        let now = flight.0.fetch_add(1, Ordering::SeqCst) + 1;
        flight.1.fetch_max(now, Ordering::SeqCst);
        Self(Arc::clone(flight))
    }
}

impl Drop for Flying {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Tracked {
    inner: BoxStream<'static, Result<ObjectMeta>>,
    guard: Option<Flying>,
    done: bool,
    flight: Arc<(AtomicUsize, AtomicUsize)>,
}

impl Stream for Tracked {
    type Item = Result<ObjectMeta>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.guard.is_none() {
            self.guard = Some(Flying::start(&self.flight));
        }
        let polled = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(None) = polled {
            self.done = true;
            self.guard = None;
        }
        polled
    }
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe")
    }
}

impl std::fmt::Display for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Probe")
    }
}

#[async_trait::async_trait]
impl ObjectStore for Probe {
    async fn put_opts(&self, l: &Path, p: PutPayload, o: PutOptions) -> Result<PutResult> {
        self.listed.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &Path,
        o: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.listed.put_multipart_opts(l, o).await
    }
    async fn get_opts(&self, l: &Path, o: GetOptions) -> Result<GetResult> {
        self.listed.get_opts(l, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.listed.delete_stream(l)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.ask("list", prefix);
        self.listing(prefix, None)
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.ask("offset", prefix);
        self.listing(prefix, Some(offset))
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.ask("delimiter", prefix);
        let _flying = Flying::start(&self.flight);
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        tokio::task::yield_now().await;
        let mut level = self.delimited.list_with_delimiter(prefix).await?;
        if let Some(rewrite) = &self.rewrite {
            level = rewrite(prefix.map(|p| p.as_ref()), level);
        }
        if let Some(meta) = &self.meta {
            level.objects = level.objects.into_iter().map(|m| meta(m)).collect();
        }
        Ok(level)
    }
    async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> Result<()> {
        self.listed.copy_opts(f, t, o).await
    }
}

/// A size and a time from the key alone (the same in every store built from the keys).
pub fn by_key(mut m: ObjectMeta) -> ObjectMeta {
    let h = m
        .location
        .as_ref()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    m.size = h % 97;
    m.last_modified =
        DateTime::from_timestamp(1_500_000_000 + (h % 100_000_000) as i64, 0).unwrap();
    m
}

/// A delimiter listing that holds only `folder`.
pub fn only(folder: &str) -> ListResult {
    ListResult {
        common_prefixes: vec![Path::from(folder)],
        objects: Vec::new(),
        extensions: Default::default(),
    }
}

/// The scan, or `None` if it has not answered after `secs` seconds.
pub async fn within(
    secs: u64,
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    options: &ScanOptions,
) -> Option<std::result::Result<Report, stratus::Error>> {
    tokio::time::timeout(Duration::from_secs(secs), scan(store, prefix, options))
        .await
        .ok()
}
