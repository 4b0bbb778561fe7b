//! [`Layered`]: the one forwarding `ObjectStore` for layers that change a store's name
//! and, at most, its listings. A [`Layer`] says what it changes; everything else goes to
//! the store inside unchanged.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// What a pass-through layer changes.
pub(crate) trait Layer: Send + Sync + 'static {
    /// Its `Display`: its name and the store inside (`inner` is that store's `Display`).
    fn describe(&self, f: &mut fmt::Formatter<'_>, inner: &dyn ObjectStore) -> fmt::Result;

    /// `list` (without `offset`) and `list_with_offset` (with): the inner store's by
    /// default.
    fn list(
        &self,
        inner: &Arc<dyn ObjectStore>,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        match offset {
            None => inner.list(prefix),
            Some(offset) => inner.list_with_offset(prefix, offset),
        }
    }

    /// Called before `list_with_delimiter` of `prefix` goes to the inner store: nothing
    /// by default.
    fn listing(&self, _prefix: Option<&Path>) {}
}

/// `inner` with `layer` applied.
pub(crate) struct Layered<L> {
    inner: Arc<dyn ObjectStore>,
    layer: L,
}

impl<L: Layer> Layered<L> {
    pub(crate) fn wrap(inner: Arc<dyn ObjectStore>, layer: L) -> Arc<dyn ObjectStore> {
        Arc::new(Self { inner, layer })
    }
}

impl<L: Layer> fmt::Display for Layered<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.layer.describe(f, self.inner.as_ref())
    }
}

/// The `Display` form: a layer's `Debug` is its name and what it wraps, never more (the
/// store inside may be a client whose `Debug` holds credentials).
impl<L: Layer> fmt::Debug for Layered<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl<L: Layer> ObjectStore for Layered<L> {
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
        self.layer.list(&self.inner, prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.layer.list(&self.inner, prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.layer.listing(prefix);
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}
