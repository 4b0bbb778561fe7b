//! [`LimitedStore`]: what a store may do (config `limits`, `deadline`). Operations in
//! flight through object_store's `LimitStore`; requests and bytes per second through
//! `governor` (GCRA, bursts of a tenth of a second's worth); a deadline per operation.
//!
//! governor counts time in whole nanoseconds: a rate is turned into a period per cell
//! of at least a microsecond (bytes are counted in blocks when the rate is above a
//! million a second) and at most 10⁶ seconds, so that every rate a configuration
//! accepts runs, and a rate set in code outside that range is clamped into it: building
//! a store never panics.

use crate::config::Limits;
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
#[cfg(feature = "limits")]
use governor::{Quota, RateLimiter};
use object_store::limit::LimitStore;
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};
use std::fmt;
use std::future::Future;
use std::num::NonZeroU32;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// A rate of cells a second (governor's GCRA).
#[cfg(feature = "limits")]
type Limiter = governor::DefaultDirectRateLimiter;

/// Without the `limits` feature no rate can be made: a configuration setting one is
/// refused on load, and rates in a `Limits` made in code are not applied.
#[cfg(not(feature = "limits"))]
enum Limiter {}

#[cfg(not(feature = "limits"))]
impl Limiter {
    async fn until_ready(&self) {
        match *self {}
    }

    async fn until_n_ready(&self, _: NonZeroU32) -> Result<(), ()> {
        match *self {}
    }
}

/// The rates and the deadline, shared by a store and its multipart uploads.
struct Rules {
    requests: Option<Limiter>,
    bytes: Option<Limiter>,
    /// The bytes rate's burst, in cells: the most one wait may ask for.
    bytes_burst: u32,
    /// Bytes per cell of the bytes rate (1 up to a million bytes a second).
    bytes_unit: u64,
    deadline: Option<Duration>,
}

/// A store under `limits` and a `deadline` (see the module documentation).
pub struct LimitedStore {
    inner: Arc<dyn ObjectStore>,
    rules: Arc<Rules>,
}

impl LimitedStore {
    /// `inner` under `limits` and `deadline`.
    pub fn wrap(
        inner: Arc<dyn ObjectStore>,
        limits: &Limits,
        deadline: Option<Duration>,
    ) -> Arc<dyn ObjectStore> {
        let inner: Arc<dyn ObjectStore> = match limits.in_flight {
            // Refused on load above the maximum; a `Limits` made in code is lowered to it.
            Some(n) => Arc::new(LimitStore::new(inner, n.get().min(Limits::MAX_IN_FLIGHT))),
            None => inner,
        };
        let requests = limits
            .requests_per_second
            .and_then(|rate| limiter(rate, burst_of(rate)));
        let bytes_unit = limits.bytes_per_second.map_or(1, unit_of);
        let cells = |rate: u64| rate as f64 / bytes_unit as f64;
        let bytes_burst = limits
            .bytes_per_second
            .map_or(1, |rate| burst_of(cells(rate)));
        let bytes = limits
            .bytes_per_second
            .and_then(|rate| limiter(cells(rate), bytes_burst));
        Arc::new(Self {
            inner,
            rules: Arc::new(Rules {
                requests,
                bytes,
                bytes_burst,
                bytes_unit,
                deadline,
            }),
        })
    }
}

/// A tenth of a second's worth of `rate` (at least 1): the burst a limiter allows.
fn burst_of(rate: f64) -> u32 {
    (rate / 10.0).clamp(1.0, u32::MAX as f64) as u32
}

/// The fastest cell rate counted one byte a cell: a period of a microsecond.
const FINEST: u64 = 1_000_000;

/// Bytes per cell for `rate` bytes a second: 1 up to [`FINEST`], then as many as keep
/// the cells at most [`FINEST`] a second.
fn unit_of(rate: u64) -> u64 {
    rate.div_ceil(FINEST).max(1)
}

/// `rate` cells per second, `burst` at once. The period is kept within what governor
/// counts (1 ns to 10⁶ s; on load, rates are checked to fall inside): never a panic.
#[cfg(feature = "limits")]
fn limiter(rate: f64, burst: u32) -> Option<Limiter> {
    let seconds = if rate.is_finite() && rate > 0.0 {
        (1.0 / rate).clamp(1e-9, 1e6)
    } else {
        1e6
    };
    let period = Duration::try_from_secs_f64(seconds)
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_nanos(1));
    // governor multiplies the period by the burst: a burst window of at most 10⁶ s.
    let most = (1e15 / period.as_nanos() as f64).clamp(1.0, u32::MAX as f64) as u32;
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::new(burst.min(most)).unwrap_or(NonZeroU32::MIN));
    Some(RateLimiter::direct(quota))
}

#[cfg(not(feature = "limits"))]
fn limiter(_rate: f64, _burst: u32) -> Option<Limiter> {
    None
}

impl Rules {
    /// Wait for one request's turn.
    async fn request(&self) {
        if let Some(limiter) = &self.requests {
            limiter.until_ready().await;
        }
    }

    /// Wait until `n` more bytes may go.
    async fn bytes(&self, n: u64) {
        let Some(limiter) = &self.bytes else {
            return;
        };
        let mut n = n.div_ceil(self.bytes_unit);
        while n > 0 {
            let step = n.min(self.bytes_burst as u64) as u32;
            let _ = limiter
                .until_n_ready(NonZeroU32::new(step).expect("n > 0"))
                .await;
            n -= step as u64;
        }
    }

    /// Run `op` (a request moving `bytes` bytes) under the rates and the deadline.
    async fn run<T>(&self, bytes: u64, op: impl Future<Output = Result<T>>) -> Result<T> {
        self.within(async {
            self.request().await;
            self.bytes(bytes).await;
            op.await
        })
        .await
    }

    /// `fut` under the deadline.
    async fn within<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        match self.deadline {
            None => fut.await,
            Some(deadline) => tokio::time::timeout(deadline, fut)
                .await
                .unwrap_or_else(|_| Err(past_deadline(deadline))),
        }
    }
}

fn past_deadline(deadline: Duration) -> Error {
    Error::Generic {
        store: "LimitedStore",
        source: format!("the operation took longer than its deadline ({deadline:?})").into(),
    }
}

impl fmt::Display for LimitedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LimitedStore({})", self.inner)
    }
}

impl fmt::Debug for LimitedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A listing under the rules: one request when it starts, the deadline on the wait for
/// each entry.
fn limited_listing(
    rules: Arc<Rules>,
    listing: impl FnOnce() -> BoxStream<'static, Result<ObjectMeta>> + Send + 'static,
) -> BoxStream<'static, Result<ObjectMeta>> {
    stream::once(async move {
        rules.request().await;
        let listing = listing();
        stream::unfold(
            (listing, rules, false),
            |(mut listing, rules, done)| async move {
                if done {
                    return None;
                }
                match rules.within(async { Ok(listing.next().await) }).await {
                    Ok(Some(item)) => Some((item, (listing, rules, false))),
                    Ok(None) => None,
                    Err(err) => Some((Err(err), (listing, rules, true))),
                }
            },
        )
    })
    .flatten()
    .boxed()
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for LimitedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let size = payload.content_length() as u64;
        self.rules
            .run(size, self.inner.put_opts(location, payload, opts))
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self
            .rules
            .run(0, self.inner.put_multipart_opts(location, opts))
            .await?;
        Ok(Box::new(LimitedUpload {
            upload,
            rules: Arc::clone(&self.rules),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let mut result = self
            .rules
            .run(0, self.inner.get_opts(location, options))
            .await?;
        if self.rules.bytes.is_some() {
            let rules = Arc::clone(&self.rules);
            super::map_body(&mut result, |body| {
                body.then(move |chunk| {
                    let rules = Arc::clone(&rules);
                    async move {
                        if let Ok(bytes) = &chunk {
                            rules.bytes(bytes.len() as u64).await;
                        }
                        chunk
                    }
                })
                .boxed()
            });
        }
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let size = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
        self.rules
            .run(size, self.inner.get_ranges(location, ranges))
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let rules = Arc::clone(&self.rules);
        // One request per path, each before the path goes on.
        let paced = locations
            .then(move |path| {
                let rules = Arc::clone(&rules);
                async move {
                    rules.request().await;
                    path
                }
            })
            .boxed();
        self.inner.delete_stream(paced)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, prefix) = (Arc::clone(&self.inner), prefix.cloned());
        limited_listing(Arc::clone(&self.rules), move || inner.list(prefix.as_ref()))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let (inner, prefix, offset) = (Arc::clone(&self.inner), prefix.cloned(), offset.clone());
        limited_listing(Arc::clone(&self.rules), move || {
            inner.list_with_offset(prefix.as_ref(), &offset)
        })
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.rules
            .run(0, self.inner.list_with_delimiter(prefix))
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.rules
            .run(0, self.inner.copy_opts(from, to, options))
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.rules
            .run(0, self.inner.rename_opts(from, to, options))
            .await
    }
}

/// A multipart upload under its store's rules: each part a request with its bytes.
struct LimitedUpload {
    upload: Box<dyn MultipartUpload>,
    rules: Arc<Rules>,
}

impl fmt::Debug for LimitedUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitedUpload").finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for LimitedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let size = data.content_length() as u64;
        let part = self.upload.put_part(data);
        let rules = Arc::clone(&self.rules);
        Box::pin(async move { rules.run(size, part).await })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let rules = Arc::clone(&self.rules);
        rules.run(0, self.upload.complete()).await
    }

    async fn abort(&mut self) -> Result<()> {
        let rules = Arc::clone(&self.rules);
        rules.run(0, self.upload.abort()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "limits")]
    fn every_rate_builds_a_limiter_and_blocks_keep_the_rate() {
        for rate in [
            0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            1e-20,
            1e-6,
            1.0,
            1e9,
            1e10,
            1e300,
        ] {
            let _ = limiter(rate, burst_of(rate));
        }
        // Bytes: a period of at least a microsecond, the rate kept to within 0.1%.
        for rate in [
            1u64,
            999_999,
            1_000_000,
            1_000_001,
            10_000_000_000,
            u64::MAX,
        ] {
            let unit = unit_of(rate);
            let cells = rate as f64 / unit as f64;
            assert!(cells <= FINEST as f64, "{rate}: {cells} cells a second");
            assert!(cells >= 1.0 || rate < FINEST, "{rate}");
            let period = Duration::try_from_secs_f64(1.0 / cells).unwrap();
            let kept = unit as f64 / period.as_secs_f64();
            assert!((kept / rate as f64 - 1.0).abs() < 1e-3, "{rate}: {kept}");
        }
    }

    #[tokio::test]
    async fn an_in_flight_limit_above_the_semaphore_maximum_is_lowered_not_a_panic() {
        let limits = Limits {
            in_flight: std::num::NonZeroUsize::new(usize::MAX),
            ..Limits::default()
        };
        let inner: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
        let store = LimitedStore::wrap(inner, &limits, None);
        object_store::ObjectStoreExt::put(&store, &Path::from("k"), "v".into())
            .await
            .unwrap();
    }
}
