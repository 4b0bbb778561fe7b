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

use super::forward::{Layer, Layered};
use crate::config::{scrub, scrub_error};
use futures::stream::{BoxStream, StreamExt};
use object_store::{Error, ObjectStore, Result};
use std::fmt;
use std::sync::Arc;

/// A store whose `Debug` output is its `Display` form (its layers and names), and whose
/// errors never quote its secrets.
pub struct RedactedStore {
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
}

impl RedactedStore {
    /// Wrap `inner`; `secrets` are the values its errors must not repeat.
    pub fn wrap(inner: Arc<dyn ObjectStore>, secrets: Vec<String>) -> Arc<dyn ObjectStore> {
        let secrets = Secrets(secrets.into());
        Layered::wrap(inner, Self { secrets })
    }
}

impl Layer for RedactedStore {
    /// The store inside, with its secrets cut as its errors have them (a value a
    /// `${VAR}` put into a bucket or a prefix shows in the store's own `Display`).
    fn describe(&self, f: &mut fmt::Formatter<'_>, inner: &dyn ObjectStore) -> fmt::Result {
        let inner = inner.to_string();
        let secrets: Vec<&str> = self.secrets.0.iter().map(String::as_str).collect();
        let shown = scrub(&inner, &secrets).unwrap_or(inner);
        write!(f, "RedactedStore({shown})")
    }

    fn error(&self, err: Error) -> Error {
        self.secrets.clean(err)
    }

    fn stream<T: Send + 'static>(
        &self,
        stream: BoxStream<'static, Result<T>>,
    ) -> BoxStream<'static, Result<T>> {
        if self.secrets.0.is_empty() {
            return stream;
        }
        let secrets = self.secrets.clone();
        stream
            .map(move |item| item.map_err(|e| secrets.clean(e)))
            .boxed()
    }
}

#[cfg(test)]
mod display_tests {
    use super::*;
    use object_store::memory::InMemory;
    use object_store::path::Path;

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
