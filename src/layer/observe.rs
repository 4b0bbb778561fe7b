//! [`ObservedStore`]: metrics (config `metrics = true`) and a span per operation (config
//! `tracing = true`), through the `metrics` and `tracing` facades, so any exporter or
//! subscriber works. The metrics and span fields are listed in the `config` module's
//! documentation ("Metrics", "Tracing"): keep that table in step with this file.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use metrics::{Counter, Gauge, Histogram, SharedString};
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
    UploadPart,
};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tracing::field::Empty;
use tracing::{Instrument, Span};

/// The operations observed, in metric label form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Put,
    PutMultipart,
    Get,
    GetRanges,
    Delete,
    List,
    ListWithDelimiter,
    Copy,
    Rename,
    MultipartPart,
    MultipartComplete,
    MultipartAbort,
}

const OPERATIONS: usize = 12;

impl Operation {
    fn name(self) -> &'static str {
        match self {
            Self::Put => "put",
            Self::PutMultipart => "put_multipart",
            Self::Get => "get",
            Self::GetRanges => "get_ranges",
            Self::Delete => "delete",
            Self::List => "list",
            Self::ListWithDelimiter => "list_with_delimiter",
            Self::Copy => "copy",
            Self::Rename => "rename",
            Self::MultipartPart => "multipart_part",
            Self::MultipartComplete => "multipart_complete",
            Self::MultipartAbort => "multipart_abort",
        }
    }
}

/// An error's kind, in metric label form.
pub(crate) fn outcome(err: &Error) -> &'static str {
    match err {
        Error::NotFound { .. } => "not_found",
        Error::AlreadyExists { .. } => "already_exists",
        Error::Precondition { .. } => "precondition",
        Error::NotModified { .. } => "not_modified",
        Error::PermissionDenied { .. } => "permission_denied",
        Error::Unauthenticated { .. } => "unauthenticated",
        Error::NotImplemented { .. } => "not_implemented",
        Error::NotSupported { .. } => "not_supported",
        Error::InvalidPath { .. } => "invalid_path",
        Error::JoinError { .. } => "join_error",
        Error::UnknownConfigurationKey { .. } => "unknown_configuration_key",
        _ => "generic",
    }
}

/// One operation's metric handles (the `ok` path).
struct Handles {
    ok: Counter,
    duration: Histogram,
    in_flight: Gauge,
}

/// What a store records, shared with its multipart uploads and bodies.
struct Recorder {
    store: SharedString,
    metrics: bool,
    tracing: bool,
    handles: [OnceLock<Handles>; OPERATIONS],
    written: OnceLock<Counter>,
    read: OnceLock<Counter>,
}

/// An operation under way: its span, and what ends it.
struct Running<'a> {
    recorder: &'a Recorder,
    operation: Operation,
    started: Instant,
    span: Span,
    /// Ended ([`Running::end`]); one dropped before that was cancelled.
    ended: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.ended {
            // The caller dropped the operation: it leaves the in-flight gauge too.
            self.finish(Some("cancelled"), 0);
        }
    }
}

impl Recorder {
    fn handles(&self, operation: Operation) -> &Handles {
        self.handles[operation as usize].get_or_init(|| {
            let (store, op) = (self.store.clone(), operation.name());
            Handles {
                ok: metrics::counter!("stratus_operations_total", "store" => store.clone(), "operation" => op, "outcome" => "ok"),
                duration: metrics::histogram!("stratus_operation_duration_seconds", "store" => store.clone(), "operation" => op),
                in_flight: metrics::gauge!("stratus_operations_in_flight", "store" => store, "operation" => op),
            }
        })
    }

    fn bytes(&self, written: bool, n: u64) {
        if !self.metrics || n == 0 {
            return;
        }
        let (cell, direction) = if written {
            (&self.written, "written")
        } else {
            (&self.read, "read")
        };
        cell.get_or_init(|| {
            metrics::counter!("stratus_bytes_total", "store" => self.store.clone(), "direction" => direction)
        })
        .increment(n);
    }

    fn start(&self, operation: Operation, key: Option<&Path>) -> Running<'_> {
        if self.metrics {
            self.handles(operation).in_flight.increment(1.0);
        }
        let span = if self.tracing {
            tracing::debug_span!(
                "stratus",
                store = %self.store,
                operation = operation.name(),
                key = key.map(Path::as_ref).unwrap_or(""),
                bytes = Empty,
                outcome = Empty,
            )
        } else {
            Span::none()
        };
        Running {
            recorder: self,
            operation,
            started: Instant::now(),
            span,
            ended: false,
        }
    }

    /// Run `op` observed.
    async fn observe<T>(
        &self,
        operation: Operation,
        key: Option<&Path>,
        bytes: u64,
        op: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let running = self.start(operation, key);
        let result = if self.tracing {
            op.instrument(running.span.clone()).await
        } else {
            op.await
        };
        running.end(result.as_ref().err().map(outcome), bytes);
        result
    }
}

impl Running<'_> {
    /// End the operation: `error`, the kind of the error it ended with.
    fn end(mut self, error: Option<&'static str>, bytes: u64) {
        self.finish(error, bytes);
    }

    fn finish(&mut self, error: Option<&'static str>, bytes: u64) {
        self.ended = true;
        let recorder = self.recorder;
        let outcome = error.unwrap_or("ok");
        if recorder.metrics {
            let handles = recorder.handles(self.operation);
            handles.in_flight.decrement(1.0);
            handles
                .duration
                .record(self.started.elapsed().as_secs_f64());
            match error {
                None => handles.ok.increment(1),
                Some(_) => metrics::counter!(
                    "stratus_operations_total",
                    "store" => recorder.store.clone(),
                    "operation" => self.operation.name(),
                    "outcome" => outcome
                )
                .increment(1),
            }
        }
        if recorder.tracing {
            self.span.record("outcome", outcome);
            if bytes > 0 {
                self.span.record("bytes", bytes);
            }
        }
    }
}

/// A store observed (see the module documentation).
pub struct ObservedStore {
    inner: Arc<dyn ObjectStore>,
    recorder: Arc<Recorder>,
}

impl ObservedStore {
    /// `inner` observed as `store`, with metrics and/or spans.
    pub fn wrap(
        inner: Arc<dyn ObjectStore>,
        store: &str,
        metrics: bool,
        tracing: bool,
    ) -> Arc<dyn ObjectStore> {
        Arc::new(Self {
            inner,
            recorder: Arc::new(Recorder {
                store: SharedString::from(store.to_string()),
                metrics,
                tracing,
                handles: Default::default(),
                written: OnceLock::new(),
                read: OnceLock::new(),
            }),
        })
    }

    /// A listing observed: from its start to its end (or drop).
    fn listing(
        &self,
        prefix: Option<&Path>,
        listing: BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        /// Ends the listing's observation when the stream ends or is dropped.
        struct Listing {
            recorder: Arc<Recorder>,
            started: Instant,
            span: Span,
            error: Option<&'static str>,
        }
        impl Listing {
            fn saw(&mut self, item: &Result<ObjectMeta>) {
                if let Err(err) = item {
                    self.error = Some(outcome(err));
                }
            }
        }
        impl Drop for Listing {
            fn drop(&mut self) {
                let running = Running {
                    recorder: &self.recorder,
                    operation: Operation::List,
                    started: self.started,
                    span: std::mem::replace(&mut self.span, Span::none()),
                    ended: false,
                };
                // The error's kind only: the error itself went to the caller.
                running.end(self.error, 0);
            }
        }
        // Started here, ended by the stream's end or drop.
        let mut running = self.recorder.start(Operation::List, prefix);
        running.ended = true;
        let mut state = Listing {
            recorder: Arc::clone(&self.recorder),
            started: running.started,
            span: std::mem::replace(&mut running.span, Span::none()),
            error: None,
        };
        listing
            .map(move |item| {
                state.saw(&item);
                item
            })
            .boxed()
    }
}

impl fmt::Display for ObservedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObservedStore({})", self.inner)
    }
}

impl fmt::Debug for ObservedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for ObservedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let size = payload.content_length() as u64;
        let result = self
            .recorder
            .observe(
                Operation::Put,
                Some(location),
                size,
                self.inner.put_opts(location, payload, opts),
            )
            .await;
        if result.is_ok() {
            self.recorder.bytes(true, size);
        }
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self
            .recorder
            .observe(
                Operation::PutMultipart,
                Some(location),
                0,
                self.inner.put_multipart_opts(location, opts),
            )
            .await?;
        Ok(Box::new(ObservedUpload {
            upload,
            location: location.clone(),
            recorder: Arc::clone(&self.recorder),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let result = self
            .recorder
            .observe(
                Operation::Get,
                Some(location),
                0,
                self.inner.get_opts(location, options),
            )
            .await?;
        // The response's bytes, counted when it comes (not as the body is read: wrapping
        // the body would cost more than the count).
        let range = &result.range;
        self.recorder
            .bytes(false, range.end.saturating_sub(range.start));
        Ok(result)
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        let result = self
            .recorder
            .observe(
                Operation::GetRanges,
                Some(location),
                0,
                self.inner.get_ranges(location, ranges),
            )
            .await;
        if let Ok(parts) = &result {
            self.recorder
                .bytes(false, parts.iter().map(|b| b.len() as u64).sum());
        }
        result
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        // Each path's answer is one delete observed (from when the answer came: a batch's
        // latency is not each path's).
        let recorder = Arc::clone(&self.recorder);
        self.inner
            .delete_stream(locations)
            .inspect(move |answer| {
                let key = answer.as_ref().ok();
                let running = recorder.start(Operation::Delete, key);
                running.end(answer.as_ref().err().map(outcome), 0);
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
        self.recorder
            .observe(
                Operation::ListWithDelimiter,
                prefix,
                0,
                self.inner.list_with_delimiter(prefix),
            )
            .await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.recorder
            .observe(
                Operation::Copy,
                Some(to),
                0,
                self.inner.copy_opts(from, to, options),
            )
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.recorder
            .observe(
                Operation::Rename,
                Some(to),
                0,
                self.inner.rename_opts(from, to, options),
            )
            .await
    }
}

/// A multipart upload observed part by part.
struct ObservedUpload {
    upload: Box<dyn MultipartUpload>,
    location: Path,
    recorder: Arc<Recorder>,
}

impl fmt::Debug for ObservedUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObservedUpload")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl MultipartUpload for ObservedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let size = data.content_length() as u64;
        let part = self.upload.put_part(data);
        let (recorder, location) = (Arc::clone(&self.recorder), self.location.clone());
        Box::pin(async move {
            let result = recorder
                .observe(Operation::MultipartPart, Some(&location), size, part)
                .await;
            if result.is_ok() {
                recorder.bytes(true, size);
            }
            result
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        let recorder = Arc::clone(&self.recorder);
        recorder
            .observe(
                Operation::MultipartComplete,
                Some(&self.location),
                0,
                self.upload.complete(),
            )
            .await
    }

    async fn abort(&mut self) -> Result<()> {
        let recorder = Arc::clone(&self.recorder);
        recorder
            .observe(
                Operation::MultipartAbort,
                Some(&self.location),
                0,
                self.upload.abort(),
            )
            .await
    }
}
