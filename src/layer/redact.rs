//! [`RedactedStore`]: the outermost layer of every cloud store stratus builds; it keeps
//! credentials out of `Debug` and out of error text. (Composite stores are not wrapped:
//! their members are, each; nor are local and memory stores, which have no credentials.)
//!
//! object_store's provider stores derive `Debug` over their whole client configuration,
//! and some of it is secret (object_store 0.14's `MicrosoftAzure` prints a bearer token or
//! SAS in full). A store handed to an application ends up in `{:?}` sooner or later — a
//! `tracing` field, an `unwrap` on a struct holding it — so the store stratus returns shows
//! only its provider and its `Display` form, which object_store keeps to names (bucket,
//! container, prefix). And every error that leaves it (from a call, a listing, a body
//! being read, a multipart part) has any part of the store's secrets cut from its text
//! ([`crate::config::secret`]'s `scrub`): a request URL quoted in an error carries a SAS
//! token. Everything else is forwarded unchanged.

use crate::config::{scrub, scrub_error};
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
use std::ops::Range;
use std::sync::Arc;

/// A store whose `Debug` output names its provider and shows its `Display` form only, and
/// whose errors never quote its secrets.
pub struct RedactedStore {
    inner: Arc<dyn ObjectStore>,
    secrets: Secrets,
}

/// The secret values of a store's configuration (never printed).
#[derive(Clone, Default)]
struct Secrets(Arc<[String]>);

impl Secrets {
    fn clean(&self, err: Error) -> Error {
        if self.0.is_empty() {
            return err;
        }
        let secrets: Vec<&str> = self.0.iter().map(String::as_str).collect();
        scrub_error(err, &secrets)
    }

    fn stream<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        if self.0.is_empty() {
            return stream;
        }
        let secrets = self.clone();
        stream
            .map(move |item| item.map_err(|e| secrets.clean(e)))
            .boxed()
    }
}

impl RedactedStore {
    /// Wrap `inner`; `secrets` are the values its errors must not repeat.
    pub fn wrap(inner: Arc<dyn ObjectStore>, secrets: Vec<String>) -> Arc<dyn ObjectStore> {
        Arc::new(Self {
            inner,
            secrets: Secrets(secrets.into()),
        })
    }
}

impl fmt::Debug for RedactedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedactedStore")
            .field("inner", &format_args!("{}", self.inner))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for RedactedStore {
    /// The store inside, with its secrets cut as its errors have them (a value a
    /// `${VAR}` put into a bucket or a prefix shows in the store's own `Display`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.to_string();
        let secrets: Vec<&str> = self.secrets.0.iter().map(String::as_str).collect();
        let shown = scrub(&inner, &secrets).unwrap_or(inner);
        write!(f, "RedactedStore({shown})")
    }
}

/// A multipart upload whose errors are scrubbed like its store's.
#[derive(Debug)]
struct RedactedUpload {
    inner: Box<dyn MultipartUpload>,
    secrets: Secrets,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} secrets>", self.0.len())
    }
}

#[async_trait]
impl MultipartUpload for RedactedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let part = self.inner.put_part(data);
        let secrets = self.secrets.clone();
        Box::pin(async move { part.await.map_err(|e| secrets.clean(e)) })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.inner
            .complete()
            .await
            .map_err(|e| self.secrets.clean(e))
    }

    async fn abort(&mut self) -> Result<()> {
        self.inner.abort().await.map_err(|e| self.secrets.clean(e))
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for RedactedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let result = self.inner.put_opts(location, payload, opts).await;
        result.map_err(|e| self.secrets.clean(e))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        match self.inner.put_multipart_opts(location, opts).await {
            Ok(inner) => Ok(Box::new(RedactedUpload {
                inner,
                secrets: self.secrets.clone(),
            })),
            Err(e) => Err(self.secrets.clean(e)),
        }
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let mut got = self
            .inner
            .get_opts(location, options)
            .await
            .map_err(|e| self.secrets.clean(e))?;
        if let GetResultPayload::Stream(body) = got.payload {
            got.payload = GetResultPayload::Stream(self.secrets.stream(body));
        }
        Ok(got)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let result = self.inner.get_ranges(location, ranges).await;
        result.map_err(|e| self.secrets.clean(e))
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.secrets.stream(self.inner.delete_stream(locations))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.secrets.stream(self.inner.list(prefix))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.secrets
            .stream(self.inner.list_with_offset(prefix, offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let result = self.inner.list_with_delimiter(prefix).await;
        result.map_err(|e| self.secrets.clean(e))
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let result = self.inner.copy_opts(from, to, options).await;
        result.map_err(|e| self.secrets.clean(e))
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let result = self.inner.rename_opts(from, to, options).await;
        result.map_err(|e| self.secrets.clean(e))
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;
    use object_store::memory::InMemory;

    #[test]
    fn the_display_cuts_the_secrets_its_inner_store_shows() {
        let inner = crate::layer::PrefixedStore::wrap(
            Arc::new(InMemory::new()),
            Path::from("bucketEnvVal"),
        );
        assert!(inner.to_string().contains("bucketEnvVal"));
        let store = RedactedStore::wrap(inner, vec!["bucketEnvVal".to_string()]);
        let shown = store.to_string();
        assert!(!shown.contains("bucketEnvVal"), "{shown}");
        assert!(shown.starts_with("RedactedStore(PrefixedStore("), "{shown}");
    }
}
