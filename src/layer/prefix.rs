//! [`PrefixedStore`]: a store scoped to a key prefix (the `prefix` key of a provider).
//!
//! The scoping is object_store's own `PrefixStore`; this layer adds a `Display` that
//! keeps the store it scopes (`PrefixedStore(AmazonS3(bucket), logs/2026)`), where
//! object_store's shows the prefix alone, so that an error names the bucket it came from.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// A store that sees only the keys below `prefix` of the store it wraps.
pub(crate) struct PrefixedStore {
    /// The store scoped, as its `Display` names it.
    scoped: String,
    prefix: Path,
    inner: PrefixStore<Arc<dyn ObjectStore>>,
}

impl PrefixedStore {
    /// `inner` scoped to `prefix` (a valid key prefix).
    pub(crate) fn wrap(inner: Arc<dyn ObjectStore>, prefix: Path) -> Arc<dyn ObjectStore> {
        Arc::new(Self {
            scoped: inner.to_string(),
            inner: PrefixStore::new(inner, prefix.clone()),
            prefix,
        })
    }
}

impl fmt::Display for PrefixedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PrefixedStore({}, {})", self.scoped, self.prefix)
    }
}

impl fmt::Debug for PrefixedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrefixedStore")
            .field("inner", &self.scoped)
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for PrefixedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;

    #[tokio::test]
    async fn scopes_keys_and_names_the_store_it_scopes() {
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let store = PrefixedStore::wrap(Arc::clone(&memory), Path::from("a/b"));
        store.put(&Path::from("k"), "v".into()).await.unwrap();
        assert_eq!(memory.head(&Path::from("a/b/k")).await.unwrap().size, 1);
        assert_eq!(store.to_string(), format!("PrefixedStore({memory}, a/b)"));
    }
}
