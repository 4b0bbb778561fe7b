//! [`TimeoutStore`]: every call of a store, and every item of a listing or a body it
//! streams, must come within a deadline, or it fails.

use super::forward::{Layer, Layered};
use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use object_store::{Error, ObjectStore, Result};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A store whose calls fail once they take longer than `limit` (and whose streams fail
/// once an item takes longer): a store that hangs costs at most `limit` per call.
pub(crate) struct TimeoutStore {
    limit: Duration,
}

impl TimeoutStore {
    /// `inner` under `limit`.
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, limit: Duration) -> Layered<Self> {
        Layered::new(inner, Self { limit })
    }
}

fn expired(limit: Duration) -> Error {
    Error::Generic {
        store: "TimeoutStore",
        source: format!("no answer within the member timeout ({limit:?})").into(),
    }
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

impl Layer for TimeoutStore {
    fn describe(&self, f: &mut fmt::Formatter<'_>, inner: &dyn ObjectStore) -> fmt::Result {
        write!(f, "TimeoutStore({:?}, {inner})", self.limit)
    }

    fn call<'a, T: Send + 'a>(
        &'a self,
        call: BoxFuture<'a, Result<T>>,
    ) -> BoxFuture<'a, Result<T>> {
        let limit = self.limit;
        Box::pin(async move {
            tokio::time::timeout(limit, call)
                .await
                .unwrap_or_else(|_| Err(expired(limit)))
        })
    }

    fn stream<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        timed(stream, self.limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fault::{Fault, FaultyStore, Op};
    use object_store::memory::InMemory;
    use object_store::path::Path;
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
        // A multipart upload's parts are calls too.
        faulty.inject(Fault::delay(Op::PutPart, Duration::from_secs(3600)));
        let mut upload = store.put_multipart(&Path::from("m")).await.unwrap();
        let err = upload.put_part("part".into()).await.unwrap_err();
        assert!(err.to_string().contains("member timeout"), "{err}");
    }
}
