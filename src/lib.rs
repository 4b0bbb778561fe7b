//! # stratus
//!
//! One storage API over AWS S3 (and S3-compatible servers such as MinIO and SeaweedFS),
//! Google Cloud Storage, Azure Blob, the local filesystem and memory, chosen by
//! configuration, built on [`object_store`]. Every store is an `Arc<dyn ObjectStore>`, so
//! it plugs into anything that takes one; on top, bucket inventory, consistent-hash
//! sharding and replication.
//!
//! ## Opening a store
//!
//! Most programs need one of three:
//!
//! - [`open`]`("s3://bucket/prefix?region=eu-west-1")`: a URL
//!   ([`config::parse_url`] lists the forms), or a config file's default store.
//! - [`Config::load`]`("stores.toml")?.`[`open`](Config::open)`("name")`: a store of a
//!   file of named stores, where swapping providers is an edit of the file ([`config`]
//!   documents the format; every key is checked at load).
//! - [`from_env`]: the store `STRATUS_URL`, or `STRATUS_CONFIG` + `STRATUS_STORE`, names.
//!
//! For command lines, [`open_with`] takes `SOURCE [--store NAME]`. A [`StoreConfig`]
//! made in code builds with [`StoreConfig::build`]; the composite stores also open as
//! their own types ([`Config::open_sharded`], [`Config::open_replicated`]) for the
//! operations that need them.
//!
//! ```
//! use stratus::object_store::{path::Path, ObjectStoreExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // From a URL...
//! let store = stratus::open("memory://")?;
//! store.put(&Path::from("hello.txt"), "hi".into()).await?;
//! assert_eq!(store.head(&Path::from("hello.txt")).await?.size, 2);
//!
//! // ...or from a file of named stores; swapping providers is an edit of the file.
//! let dir = tempfile::tempdir()?;
//! std::fs::write(
//!     dir.path().join("stores.toml"),
//!     r#"
//!     default = "scratch"
//!     [stores.scratch]
//!     provider = "local"
//!     root = "data"
//!     create_root = true
//!     "#,
//! )?;
//! let config = stratus::Config::load(dir.path().join("stores.toml"))?;
//! let scratch = config.open_default()?;
//! scratch.put(&Path::from("a/b.txt"), "data".into()).await?;
//! assert!(dir.path().join("data/a/b.txt").exists());
//! # Ok(())
//! # }
//! ```
//!
//! ## The modules
//!
//! | module | what it is for | example |
//! |---|---|---|
//! | [`config`] | files of named stores, URLs, the environment, `${VAR}`; one file per provider; the settings every store has ([`config::StoreSettings`]: limits, deadline, metrics, tracing, prices); signed URLs ([`Config::signer`]); [`config::ConfigRegistry`] | `examples/swap_provider.rs`, `examples/sign.rs`, `examples/prometheus.rs` |
//! | [`inventory`] | [`inventory::scan`]: totals, per-prefix breakdown, size and age histograms, largest objects, in bounded memory, listing in parallel | `examples/inventory.rs` |
//! | [`key`] | [`key::parse_prefix`], [`key::parse_key`]: text a person typed as a key or prefix, every character kept (`café`, `a#b`, `日本`), with an error for what no key can hold | every example |
//! | [`shard`] | [`shard::ShardedStore`]: one store over several, placed by weighted rendezvous hashing; [`shard::rebalance`] moves what a membership change must move | `examples/shard.rs` |
//! | [`replicate`] | [`replicate::ReplicatedStore`]: writes to all (or a quorum), reads that fall back or hedge; [`replicate::sync`], [`replicate::verify`], [`replicate::repair`] | `examples/replicate.rs` |
//! | [`requests`] | the HTTP requests each cloud store sent (retries included), by kind, and their cost | the `stratus` command's last lines |
//! | [`layer`] | store wrappers: what stratus wraps its stores in, and [`layer::fault::FaultyStore`] for tests | |
//! | [`text`] | byte sizes, counts and bars for people | |
//!
//! Every stratus operation returns [`Error`] (errors of stores, inside it, keep
//! object_store's kinds, and name the composite member that failed: [`Error::member`]);
//! every long operation reports [`Progress`]. The examples are in the repository's
//! `examples/` folder (`cargo run --example inventory`), and the `stratus` command that
//! does all of it from a shell in `cli/`; README.md has the tour.

#![warn(missing_docs)]

mod composite;
pub mod config;
mod error;
mod file;
pub mod inventory;
pub mod key;
pub mod layer;
mod merge;
mod place;
mod progress;
pub mod replicate;
pub mod requests;
pub mod shard;
pub mod text;
mod transfer;
pub mod version;

pub use config::{Config, StoreConfig};

/// The README's Rust examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
pub use error::{member_of, ConfigError, Error, MemberError, Result};
/// The `object_store` crate this version of stratus is built on.
pub use object_store;
pub use progress::{Progress, ProgressFn};

use object_store::ObjectStore;
use std::sync::Arc;

/// Open a store from a URL (`s3://bucket/prefix`, ...; see [`config::parse_url`]) or, for
/// anything without `://`, the default store of a configuration file.
pub fn open(spec: &str) -> Result<Arc<dyn ObjectStore>> {
    if spec.contains("://") {
        open_url(spec)
    } else {
        Config::load(spec)?.open_default()
    }
}

/// Open a store for a command line's `SOURCE [--store NAME]`: store `name` (or the
/// default store) of the config file `source`, or the store URL `source`.
pub fn open_with(source: &str, name: Option<&str>) -> Result<Arc<dyn ObjectStore>> {
    match (name, source.contains("://")) {
        (None, true) => open_url(source),
        (Some(_), true) => Err(ConfigError::new(
            "command line",
            "a store name goes with a config file, not with a URL",
        )
        .into()),
        (None, false) => Config::load(source)?.open_default(),
        (Some(name), false) => Config::load(source)?.open(name),
    }
}

/// Open a store from a URL; see [`config::parse_url`].
fn open_url(url: &str) -> Result<Arc<dyn ObjectStore>> {
    let config = config::parse_url(url)?;
    config.build()
}

/// Open the store the environment names: `STRATUS_URL`, or `STRATUS_CONFIG` (a file)
/// with `STRATUS_STORE` (a name in it; the file's default store when unset).
pub fn from_env() -> Result<Arc<dyn ObjectStore>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("STRATUS_URL"), var("STRATUS_CONFIG")) {
        (Some(url), None) => open_url(&url),
        (None, Some(path)) => {
            let config = Config::load(path)?;
            match var("STRATUS_STORE") {
                Some(name) => config.open(&name),
                None => config.open_default(),
            }
        }
        (Some(_), Some(_)) => Err(ConfigError::new(
            "environment",
            "both STRATUS_URL and STRATUS_CONFIG are set; set one",
        )
        .into()),
        (None, None) => Err(ConfigError::new(
            "environment",
            "set STRATUS_URL (a store URL) or STRATUS_CONFIG (a config file, with STRATUS_STORE \
             naming a store in it)",
        )
        .into()),
    }
}
