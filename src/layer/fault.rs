//! [`FaultyStore`]: a wrapper that fails or delays chosen operations, deterministically.
//!
//! For testing what a composite store or an application does when a store misbehaves:
//! "the third put to keys containing `x` fails", "every list on this member takes
//! 200 ms". Faults are chosen by operation, key and call count, never at random, so a
//! failing test fails the same way every time (draw keys from a seeded generator for
//! randomized runs).
//!
//! ```
//! use std::sync::Arc;
//! use stratus::layer::fault::{Fault, FaultyStore, Op};
//! use stratus::object_store::{memory::InMemory, path::Path, ObjectStoreExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = FaultyStore::new(Arc::new(InMemory::new()));
//! store.inject(Fault::fail(Op::Put).on_keys_containing("b").times(1));
//! assert!(store.put(&Path::from("a"), "1".into()).await.is_ok());
//! assert!(store.put(&Path::from("b"), "2".into()).await.is_err()); // the one fault
//! assert!(store.put(&Path::from("b"), "2".into()).await.is_ok());
//! assert_eq!(store.calls(Op::Put), 3);
//! # }
//! ```

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An operation a fault can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `put_opts` (and so `put`).
    Put,
    /// `put_multipart_opts` (starting an upload; its parts are [`Op::PutPart`]).
    PutMultipart,
    /// `get_opts` without `head`, and `get_ranges`.
    Get,
    /// `get_opts` with `head` (and so `head`).
    Head,
    /// Each path of `delete_stream` (and so `delete`).
    Delete,
    /// `list` and `list_with_offset`: the fault is the stream's first item.
    List,
    /// `list_with_delimiter`.
    ListWithDelimiter,
    /// `copy_opts`.
    Copy,
    /// `rename_opts`.
    Rename,
    /// `put_part` of a multipart upload this store started (the key is the upload's).
    PutPart,
}

const OPS: usize = 10;

impl Op {
    fn index(self) -> usize {
        self as usize
    }
}

/// What happens to a matching call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Fail,
    Delay(Duration),
}

/// One injected fault: an operation, which of its calls, and what happens to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    op: Op,
    action: Action,
    key_contains: Option<String>,
    skip: u64,
    times: Option<u64>,
}

impl Fault {
    /// Calls of `op` fail with `Error::Generic` (message "injected fault").
    pub fn fail(op: Op) -> Self {
        Self::new(op, Action::Fail)
    }

    /// Calls of `op` wait `delay` before going ahead.
    pub fn delay(op: Op, delay: Duration) -> Self {
        Self::new(op, Action::Delay(delay))
    }

    fn new(op: Op, action: Action) -> Self {
        Self {
            op,
            action,
            key_contains: None,
            skip: 0,
            times: None,
        }
    }

    /// Only calls whose key (or listing prefix) contains `text`.
    pub fn on_keys_containing(mut self, text: impl Into<String>) -> Self {
        self.key_contains = Some(text.into());
        self
    }

    /// Let the first `n` matching calls through untouched.
    pub fn after(mut self, n: u64) -> Self {
        self.skip = n;
        self
    }

    /// Affect at most `n` matching calls (after the skipped ones), then stop.
    pub fn times(mut self, n: u64) -> Self {
        self.times = Some(n);
        self
    }
}

/// A fault with its count of matching calls so far.
struct Armed {
    fault: Fault,
    seen: u64,
}

/// A store that forwards everything to its inner store except the calls its faults pick.
pub struct FaultyStore {
    inner: Arc<dyn ObjectStore>,
    faults: Arc<Mutex<Vec<Armed>>>,
    calls: Arc<[AtomicU64; OPS]>,
    /// Single-request operations running now, and the most at once so far.
    running: AtomicU64,
    peak: AtomicU64,
}

/// Counts one operation as running while it lives.
struct Running<'a>(&'a AtomicU64);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl FaultyStore {
    /// Wrap `inner`, with no faults yet.
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            faults: Arc::default(),
            calls: Arc::new(std::array::from_fn(|_| AtomicU64::new(0))),
            running: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    /// The most single-request operations (put, get, head, get_ranges, copy, rename,
    /// list_with_delimiter, starting a multipart upload) that ran at once so far, a
    /// delay injected included: what a concurrency limit above this store let through.
    pub fn peak_in_flight(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }

    /// `fut` (operation `op` on `key`) counted as running, after the faults.
    async fn run<T>(&self, op: Op, key: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
        let now = self.running.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        let _running = Running(&self.running);
        self.enter(op, key).await?;
        fut.await
    }

    /// Add a fault; faults added earlier are checked first.
    pub fn inject(&self, fault: Fault) {
        self.faults
            .lock()
            .expect("fault list")
            .push(Armed { fault, seen: 0 });
    }

    /// Remove every fault.
    pub fn clear(&self) {
        self.faults.lock().expect("fault list").clear();
    }

    /// Calls of `op` so far (for `Delete`: paths).
    pub fn calls(&self, op: Op) -> u64 {
        self.calls[op.index()].load(Ordering::Relaxed)
    }

    /// The inner store.
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// Count a call and apply the first fault that picks it.
    async fn enter(&self, op: Op, key: &str) -> Result<()> {
        apply(&self.faults, &self.calls, op, key).await
    }
}

async fn apply(
    faults: &Mutex<Vec<Armed>>,
    calls: &[AtomicU64; OPS],
    op: Op,
    key: &str,
) -> Result<()> {
    calls[op.index()].fetch_add(1, Ordering::Relaxed);
    let action = {
        let mut faults = faults.lock().expect("fault list");
        faults.iter_mut().find_map(|armed| {
            let fault = &armed.fault;
            if fault.op != op
                || !fault
                    .key_contains
                    .as_deref()
                    .is_none_or(|text| key.contains(text))
            {
                return None;
            }
            armed.seen += 1;
            let picked =
                armed.seen > fault.skip && fault.times.is_none_or(|n| armed.seen - fault.skip <= n);
            picked.then_some(fault.action)
        })
    };
    match action {
        None => Ok(()),
        Some(Action::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(())
        }
        Some(Action::Fail) => Err(Error::Generic {
            store: "FaultyStore",
            source: format!("injected fault: {op:?} of {key:?}").into(),
        }),
    }
}

impl fmt::Debug for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyStore")
            .field("inner", &self.inner)
            .field("faults", &self.faults.lock().map(|f| f.len()).unwrap_or(0))
            .finish()
    }
}

impl fmt::Display for FaultyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaultyStore({})", self.inner)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for FaultyStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let put = self.inner.put_opts(location, payload, opts);
        self.run(Op::Put, location.as_ref(), put).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let start = self.inner.put_multipart_opts(location, opts);
        let inner = self.run(Op::PutMultipart, location.as_ref(), start).await?;
        Ok(Box::new(FaultyUpload {
            inner,
            key: location.to_string(),
            faults: Arc::clone(&self.faults),
            calls: Arc::clone(&self.calls),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head { Op::Head } else { Op::Get };
        let get = self.inner.get_opts(location, options);
        self.run(op, location.as_ref(), get).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let get = self.inner.get_ranges(location, ranges);
        self.run(Op::Get, location.as_ref(), get).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // Paths a fault picks are answered here; each other path goes to the inner store
        // on its own (no batching: this is a testing tool), in input order.
        let (faults, calls, inner) = (
            Arc::clone(&self.faults),
            Arc::clone(&self.calls),
            Arc::clone(&self.inner),
        );
        locations
            .then(move |item| {
                let (faults, calls, inner) =
                    (Arc::clone(&faults), Arc::clone(&calls), Arc::clone(&inner));
                async move {
                    let path = item?;
                    apply(&faults, &calls, Op::Delete, path.as_ref()).await?;
                    let mut answer = inner.delete_stream(stream::iter([Ok(path)]).boxed());
                    answer.next().await.unwrap_or_else(|| {
                        Err(Error::Generic {
                            store: "FaultyStore",
                            source: "the inner store returned no result for a delete".into(),
                        })
                    })
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listing(prefix, self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.listing(prefix, self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let key = prefix.map(|p| p.as_ref()).unwrap_or("");
        let list = self.inner.list_with_delimiter(prefix);
        self.run(Op::ListWithDelimiter, key, list).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let copy = self.inner.copy_opts(from, to, options);
        self.run(Op::Copy, from.as_ref(), copy).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let rename = self.inner.rename_opts(from, to, options);
        self.run(Op::Rename, from.as_ref(), rename).await
    }
}

/// A multipart upload whose parts go through the store's faults ([`Op::PutPart`]).
struct FaultyUpload {
    inner: Box<dyn MultipartUpload>,
    key: String,
    faults: Arc<Mutex<Vec<Armed>>>,
    calls: Arc<[AtomicU64; OPS]>,
}

impl fmt::Debug for FaultyUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyUpload")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for FaultyUpload {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        // The inner upload gets the part; a fault replaces its answer, as a lost
        // response would.
        let (faults, calls, key) = (
            Arc::clone(&self.faults),
            Arc::clone(&self.calls),
            self.key.clone(),
        );
        let part = self.inner.put_part(data);
        Box::pin(async move {
            apply(&faults, &calls, Op::PutPart, &key).await?;
            part.await
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.inner.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await
    }
}

impl FaultyStore {
    /// `listing`, preceded by the fault check (an error becomes the stream's only item).
    fn listing(
        &self,
        prefix: Option<&Path>,
        listing: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let (faults, calls) = (Arc::clone(&self.faults), Arc::clone(&self.calls));
        let key = prefix.map(|p| p.to_string()).unwrap_or_default();
        stream::once(async move {
            match apply(&faults, &calls, Op::List, &key).await {
                Ok(()) => listing,
                Err(err) => stream::iter([Err(err)]).boxed(),
            }
        })
        .flatten()
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn after_and_times_pick_exactly_the_calls_they_name() {
        let store = FaultyStore::new(Arc::new(InMemory::new()));
        store.inject(
            Fault::fail(Op::Put)
                .on_keys_containing("x")
                .after(2)
                .times(2),
        );
        let mut outcomes = Vec::new();
        for i in 0..6 {
            let key = Path::from(format!("x{i}"));
            outcomes.push(store.put(&key, "v".into()).await.is_ok());
            // Keys without "x" never count towards the fault.
            store
                .put(&Path::from(format!("y{i}")), "v".into())
                .await
                .unwrap();
        }
        assert_eq!(outcomes, [true, true, false, false, true, true]);
        assert_eq!(store.calls(Op::Put), 12);

        store.inject(Fault::fail(Op::List));
        let listed: Vec<_> = store.list(None).collect().await;
        assert_eq!(listed.len(), 1, "the fault is the listing's only item");
        assert!(listed[0].is_err());
        store.clear();
        assert_eq!(store.list(None).collect::<Vec<_>>().await.len(), 10);
    }
}
