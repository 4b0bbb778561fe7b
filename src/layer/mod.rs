//! Store wrappers: each takes an `Arc<dyn ObjectStore>` and is one, forwarding every
//! method (`#[deny(clippy::missing_trait_methods)]`) and changing one thing. The layers
//! that change no more than a name and the listings share one forwarding
//! implementation (`forward.rs`: a `Layer` says what it changes). Each is
//! named `<What>Store`, and its `Display` names it and the store inside
//! (`KeyOrderedStore(LocalFileSystem(...))`), so a store's `Display` shows its layers.
//!
//! - `RedactedStore` (what stratus builds for every cloud store, outermost): `Debug`
//!   without the client's credentials, errors without the configuration's secrets.
//! - `PrefixedStore` (stores with a `prefix`): object_store's `PrefixStore`, with a
//!   `Display` that keeps the store it scopes.
//! - `KeyOrderedStore` (local stores, and S3 stores with `list_order = "sorted"`):
//!   listings in byte order, which merging listings needs.
//! - [`fault::FaultyStore`]: fails or delays chosen operations, deterministically. A
//!   public **testing aid**, for testing what an application or a composite store does
//!   when a store misbehaves; stratus never builds it.

pub mod fault;
mod forward;
mod ordered;
mod prefix;
mod redact;

pub(crate) use ordered::KeyOrderedStore;
pub(crate) use prefix::PrefixedStore;
pub(crate) use redact::RedactedStore;
