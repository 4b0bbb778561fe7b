//! [`Layered`]: the one forwarding `ObjectStore` of the layers that change a store around
//! its operations: its name, its listings, or what happens around each call and each
//! stream (a deadline, errors cleaned of secrets). A [`Layer`] says what it changes;
//! everything else goes to the store inside unchanged.

use async_trait::async_trait;
use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    Result, UploadPart,
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

    /// `list_with_delimiter`: the inner store's by default.
    fn list_with_delimiter<'a>(
        &'a self,
        inner: &'a Arc<dyn ObjectStore>,
        prefix: Option<&'a Path>,
    ) -> BoxFuture<'a, Result<ListResult>> {
        inner.list_with_delimiter(prefix)
    }

    /// Every call that answers once, as the store inside answers it (`call`) by default:
    /// put, get, get_ranges, head, copy, rename, a delimiter listing, and a multipart
    /// upload's start, parts, completion and abort. A layer that only changes the errors
    /// writes [`Layer::error`] instead, which costs no future of its own.
    fn call<'a, T: Send + 'a>(
        &'a self,
        call: BoxFuture<'a, Result<T>>,
    ) -> BoxFuture<'a, Result<T>> {
        call
    }

    /// The error of every call (after [`Layer::call`]), unchanged by default. Not applied
    /// to streams: [`Layer::stream`] sees those.
    fn error(&self, err: Error) -> Error {
        err
    }

    /// Every stream the store gives, as the store inside gives it by default: a listing
    /// (after [`Layer::list`]), the results of a deletion, an object's body (when it is a
    /// stream; a local file's is read by the caller).
    fn stream<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        stream
    }
}

/// `$call` through `$layer`: its [`Layer::call`], then its [`Layer::error`]. A macro,
/// not an `async fn`: a nested future moves each answer once more (a `GetResult` is a few
/// hundred bytes), which measured ~20 ns a call (BENCHMARKS.md, the redacting layer).
macro_rules! run {
    ($layer:expr, $call:expr) => {
        $layer.call($call).await.map_err(|e| $layer.error(e))
    };
}

/// `inner` with `layer` applied.
pub(crate) struct Layered<L> {
    inner: Arc<dyn ObjectStore>,
    /// Shared with the multipart uploads it starts.
    layer: Arc<L>,
}

impl<L: Layer> Layered<L> {
    pub(crate) fn new(inner: Arc<dyn ObjectStore>, layer: L) -> Self {
        let layer = Arc::new(layer);
        Self { inner, layer }
    }

    pub(crate) fn wrap(inner: Arc<dyn ObjectStore>, layer: L) -> Arc<dyn ObjectStore> {
        Arc::new(Self::new(inner, layer))
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
        let call = self.inner.put_opts(location, payload, opts);
        run!(self.layer, call)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let call = self.inner.put_multipart_opts(location, opts);
        let inner = run!(self.layer, call)?;
        Ok(Box::new(LayeredUpload {
            inner,
            layer: Arc::clone(&self.layer),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let call = self.inner.get_opts(location, options);
        let mut got = run!(self.layer, call)?;
        if let GetResultPayload::Stream(body) = got.payload {
            got.payload = GetResultPayload::Stream(self.layer.stream(body));
        }
        Ok(got)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let call = self.inner.get_ranges(location, ranges);
        run!(self.layer, call)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.layer.stream(self.inner.delete_stream(locations))
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.layer
            .stream(self.layer.list(&self.inner, prefix, None))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.layer
            .stream(self.layer.list(&self.inner, prefix, Some(offset)))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let call = self.layer.list_with_delimiter(&self.inner, prefix);
        run!(self.layer, call)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let call = self.inner.copy_opts(from, to, options);
        run!(self.layer, call)
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let call = self.inner.rename_opts(from, to, options);
        run!(self.layer, call)
    }
}

/// A multipart upload a [`Layered`] store started: its parts, completion and abort are
/// calls of the layer's.
struct LayeredUpload<L> {
    inner: Box<dyn MultipartUpload>,
    layer: Arc<L>,
}

/// The upload inside; the layer's `Debug` may hold what must not be shown.
impl<L> fmt::Debug for LayeredUpload<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LayeredUpload")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<L: Layer> MultipartUpload for LayeredUpload<L> {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let (part, layer) = (self.inner.put_part(data), Arc::clone(&self.layer));
        Box::pin(async move { run!(layer, part) })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        run!(self.layer, self.inner.complete())
    }

    async fn abort(&mut self) -> Result<()> {
        run!(self.layer, self.inner.abort())
    }
}
