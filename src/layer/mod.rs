//! Store wrappers: each takes an `Arc<dyn ObjectStore>` and is one, forwarding every
//! method (`#[deny(clippy::missing_trait_methods)]`) and changing one thing. The layers
//! that change a name, the listings, or what happens around each call and each stream
//! (prefix, key order, redaction, the member deadline) share one forwarding
//! implementation (`forward.rs`: a `Layer` says what it changes). Each is
//! named `<What>Store`, and its `Display` names it and the store inside
//! (`KeyOrderedStore(LocalFileSystem(...))`), so a store's `Display` shows its layers.
//!
//! They are what a [`Config`](crate::Config) builds its stores from, and public values
//! an application composes around any store, as object_store's own `LimitStore` and
//! `PrefixStore` are (each `wrap` returns the wrapped store):
//!
//! - [`RedactedStore`] (what stratus builds for every cloud store, outermost): `Debug`
//!   without the client's credentials, errors without the configuration's secrets.
//! - [`PrefixedStore`] (stores with a `prefix`): object_store's `PrefixStore`, with a
//!   `Display` that keeps the store it scopes.
//! - [`KeyOrderedStore`] (local stores, and S3 stores with `list_order = "sorted"`):
//!   listings in byte order, which merging listings needs.
//! - [`LimitedStore`] (stores with `limits` or a `deadline`): operations in flight
//!   (object_store's `LimitStore`), requests and bytes per second (`governor`, feature
//!   `limits`), a deadline per operation.
//! - `ObservedStore` (stores with `metrics` or `tracing`; feature `observe`): metrics
//!   through the `metrics` facade, a span per operation through `tracing`.
//! - [`fault::FaultyStore`]: fails or delays chosen operations, deterministically. A
//!   public **testing aid**, for testing what an application or a composite store does
//!   when a store misbehaves; stratus never builds it.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use stratus::config::Limits;
//! use stratus::layer::{LimitedStore, PrefixedStore};
//! use stratus::object_store::{memory::InMemory, path::Path, ObjectStore};
//!
//! let base: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
//! let mut limits = Limits::default();
//! limits.in_flight = std::num::NonZeroUsize::new(16);
//! let store = LimitedStore::wrap(
//!     PrefixedStore::wrap(base, Path::from("team")),
//!     &limits,
//!     Some(Duration::from_secs(30)),
//! );
//! assert!(store.to_string().contains("PrefixedStore"));
//! ```

pub mod fault;
mod forward;
mod limit;
#[cfg(feature = "observe")]
mod observe;
mod ordered;
mod prefix;
mod redact;
pub(crate) mod timeout;

pub use limit::LimitedStore;
#[cfg(feature = "observe")]
pub use observe::ObservedStore;
pub use ordered::KeyOrderedStore;
pub use prefix::PrefixedStore;
pub use redact::RedactedStore;

/// Replace `result`'s body with `f(body)`, the body as a stream whatever it was (a local
/// file's included).
pub(crate) fn map_body(
    result: &mut object_store::GetResult,
    f: impl FnOnce(
        futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>>,
) {
    use futures::StreamExt;
    use object_store::{GetResult, GetResultPayload};
    let payload = std::mem::replace(
        &mut result.payload,
        GetResultPayload::Stream(futures::stream::empty().boxed()),
    );
    let body = match payload {
        GetResultPayload::Stream(body) => body,
        file => GetResult {
            payload: file,
            meta: result.meta.clone(),
            range: result.range.clone(),
            attributes: result.attributes.clone(),
            extensions: Default::default(),
        }
        .into_stream(),
    };
    result.payload = GetResultPayload::Stream(f(body));
}
