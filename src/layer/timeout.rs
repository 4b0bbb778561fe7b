//! [`TimeoutStore`]: every call of a store, and every item of a listing or a body it
//! streams, must come within a deadline, or it fails.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result, UploadPart,
};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

/// `inner`, whose calls fail once they take longer than `limit` (and whose streams fail
/// once an item takes longer): a store that hangs costs at most `limit` per call.
pub(crate) struct TimeoutStore {
    inner: Arc<dyn ObjectStore>,
    limit: Duration,
}

impl TimeoutStore {
    /// `inner` under `limit`.
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, limit: Duration) -> Self {
        Self { inner, limit }
    }
}

fn expired(limit: Duration) -> Error {
    Error::Generic {
        store: "TimeoutStore",
        source: format!("no answer within the member timeout ({limit:?})").into(),
    }
}

async fn within<T>(limit: Duration, call: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or_else(|_| Err(expired(limit)))
}

/// `stream`, each item within `limit`; the stream ends after the error of one that is
/// not.
pub(crate) fn timed<T: Send + 'static>(
    stream: BoxStream<'static, Result<T>>,
    limit: Duration,
) -> BoxStream<'static, Result<T>> {
    futures::stream::unfold(Some(stream), move |stream| async move {
        let mut stream = stream?;
        match tokio::time::timeout(limit, stream.next()).await {
            Ok(Some(item)) => Some((item, Some(stream))),
            Ok(None) => None,
            Err(_) => Some((Err(expired(limit)), None)),
        }
    })
    .boxed()
}

impl fmt::Display for TimeoutStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeoutStore({:?}, {})", self.limit, self.inner)
    }
}

impl fmt::Debug for TimeoutStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A multipart upload whose parts and completion are under the deadline.
#[derive(Debug)]
struct TimedUpload {
    inner: Box<dyn MultipartUpload>,
    limit: Duration,
}

#[async_trait]
impl MultipartUpload for TimedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let (part, limit) = (self.inner.put_part(data), self.limit);
        Box::pin(within(limit, part))
    }

    async fn complete(&mut self) -> Result<PutResult> {
        within(self.limit, self.inner.complete()).await
    }

    async fn abort(&mut self) -> Result<()> {
        within(self.limit, self.inner.abort()).await
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for TimeoutStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        within(self.limit, self.inner.put_opts(location, payload, opts)).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let inner = within(self.limit, self.inner.put_multipart_opts(location, opts)).await?;
        Ok(Box::new(TimedUpload {
            inner,
            limit: self.limit,
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let mut got = within(self.limit, self.inner.get_opts(location, options)).await?;
        got.payload = match got.payload {
            GetResultPayload::Stream(body) => GetResultPayload::Stream(timed(body, self.limit)),
            other => other,
        };
        Ok(got)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        within(self.limit, self.inner.get_ranges(location, ranges)).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        timed(self.inner.delete_stream(locations), self.limit)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        timed(self.inner.list(prefix), self.limit)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        timed(self.inner.list_with_offset(prefix, offset), self.limit)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        within(self.limit, self.inner.list_with_delimiter(prefix)).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        within(self.limit, self.inner.copy_opts(from, to, options)).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        within(self.limit, self.inner.rename_opts(from, to, options)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fault::{Fault, FaultyStore, Op};
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[tokio::test(start_paused = true)]
    async fn a_hung_call_or_listing_fails_at_the_deadline() {
        let faulty = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
        faulty.put(&Path::from("k"), "v".into()).await.unwrap();
        let store = TimeoutStore::new(faulty.clone(), Duration::from_secs(5));
        faulty.inject(Fault::delay(Op::Head, Duration::from_secs(3600)));
        faulty.inject(Fault::delay(Op::List, Duration::from_secs(3600)));
        let err = store.head(&Path::from("k")).await.unwrap_err();
        assert!(err.to_string().contains("member timeout"), "{err}");
        let listed: Vec<_> = store.list(None).collect().await;
        assert!(matches!(listed.as_slice(), [Err(_)]), "{listed:?}");
        // What answers in time is unchanged.
        let got = store.get(&Path::from("k")).await.unwrap();
        assert_eq!(got.bytes().await.unwrap().as_ref(), b"v");
    }
}
