//! [`Redacted`]: the [`Billed`] every store's configuration hands out, whose errors never
//! quote the store's secrets, as [`crate::layer::RedactedStore`] does for the store. A
//! server's refusal is quoted in the error (its `Code` and `Message`), and a server may
//! echo what it was sent: a SAS token's signature, a bearer token.

use super::{Billed, Upload, VersionEntry, Versioned};
use crate::config::scrub_crate_error;
use crate::error::Error;
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use std::fmt;
use std::sync::Arc;

/// `inner`, its errors cut of any part of `secrets`.
pub(crate) struct Redacted {
    inner: Arc<dyn Billed>,
    secrets: Arc<[String]>,
}

impl Redacted {
    pub(crate) fn wrap(inner: Arc<dyn Billed>, secrets: Vec<String>) -> Arc<dyn Billed> {
        if secrets.is_empty() {
            return inner;
        }
        Arc::new(Self {
            inner,
            secrets: secrets.into(),
        })
    }

    fn clean(secrets: &[String], error: Error) -> Error {
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        scrub_crate_error(error, &secrets)
    }

    fn stream<'a, T: Send + 'a>(
        &self,
        stream: BoxStream<'a, crate::Result<T>>,
    ) -> BoxStream<'a, crate::Result<T>> {
        let secrets = Arc::clone(&self.secrets);
        stream
            .map(move |item| item.map_err(|e| Self::clean(&secrets, e)))
            .boxed()
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

#[async_trait]
impl Billed for Redacted {
    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        self.stream(self.inner.versions(prefix))
    }

    fn lists_after(&self) -> bool {
        self.inner.lists_after()
    }

    fn after_in_folder_order(&self) -> bool {
        self.inner.after_in_folder_order()
    }

    fn versions_after<'a>(
        &'a self,
        prefix: Option<&'a str>,
        after: &'a str,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        self.stream(self.inner.versions_after(prefix, after))
    }

    fn versions_by_folder<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        self.stream(self.inner.versions_by_folder(prefix))
    }

    fn lists_uploads(&self) -> bool {
        self.inner.lists_uploads()
    }

    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
        self.stream(self.inner.uploads(prefix))
    }

    fn uploads_per_object<'a>(
        &'a self,
        prefix: Option<&'a str>,
        concurrency: usize,
    ) -> BoxStream<'a, crate::Result<Upload>> {
        self.stream(self.inner.uploads_per_object(prefix, concurrency))
    }

    fn provider(&self) -> Option<&'static str> {
        self.inner.provider()
    }

    fn uploads_not_seen(&self) -> Option<String> {
        self.inner.uploads_not_seen()
    }

    fn uploads_per_object_not_seen(&self) -> Option<String> {
        self.inner.uploads_per_object_not_seen()
    }

    fn aborts_uploads(&self) -> bool {
        self.inner.aborts_uploads()
    }

    async fn abort(&self, upload: &Upload) -> crate::Result<bool> {
        (self.inner.abort(upload).await).map_err(|e| Self::clean(&self.secrets, e))
    }
}
