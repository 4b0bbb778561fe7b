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
//!   ([`config`]'s "URLs" lists the forms), or a config file's default store.
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
//! | [`billed`] | what a store bills that a listing does not show: noncurrent versions, delete markers, unfinished multipart uploads ([`Config::billed`]); [`billed::cleanup_uploads`] | `stratus inventory --billed`, `stratus cleanup uploads` |
//! | [`inventory`] | [`inventory::scan`]: totals, per-prefix breakdown, size and age histograms, largest objects, in bounded memory, listing in parallel | `examples/inventory.rs` |
//! | [`key`] | [`key::parse_prefix`], [`key::parse_key`]: text a person typed as a key or prefix, every character kept (`café`, `a#b`, `日本`), with an error for what no key can hold | every example |
//! | [`shard`] | [`shard::ShardedStore`]: one store over several, placed by weighted rendezvous hashing; [`shard::rebalance`] moves what a membership change must move | `examples/shard.rs` |
//! | [`replicate`] | [`replicate::ReplicatedStore`]: writes to all (or a quorum), reads that fall back or hedge; [`replicate::sync`], [`replicate::verify`], [`replicate::repair`] | `examples/replicate.rs` |
//! | [`requests`] | the HTTP requests each cloud store sent (retries included), by kind, and their cost | the `stratus` command's last lines |
//! | [`layer`] | store wrappers: what stratus wraps its stores in, and [`layer::fault::FaultyStore`] for tests | |
//! | [`text`] | byte sizes, counts and bars for people | |
//!
//! ## Errors, progress, display
//!
//! Every stratus operation returns [`Error`]; the errors of store calls inside it keep
//! object_store's kind ([`Error::store_error`] is the `object_store::Error`, `NotFound` and
//! all) and name the member of a composite store that failed ([`Error::member`], or
//! [`member_of`] on an object_store error); [`Error::in_store`]`(&store, e)` turns an
//! object_store error of your own calls into one that names the store, [`Error::brief`] is
//! one line a person can act on and [`Error::advice`] says what to check (a missing bucket,
//! refused credentials, an unreachable endpoint). Every long operation (inventory, sync,
//! verify, repair, rebalance) reports [`Progress`] to the callback its options'
//! `with_progress` sets. A store's `Display` shows what it is made of, layers included:
//! `RedactedStore(PrefixedStore(AmazonS3(acme-archive), v2))`,
//! `KeyOrderedStore(LocalFileSystem(file:///srv/data))`, `ShardedStore(east: ..., west: ...)`.
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `aws`, `gcp`, `azure` | on | the cloud providers (object_store's own features) |
//! | `limits` | on | request and byte rates in a store's `limits` (`governor`) |
//! | `observe` | on | `metrics = true` and `tracing = true` (the `metrics` and `tracing` facades) |
//! | `reports` | off | provider inventory reports and Parquet export (`inventory::reports`, `inventory::export`: arrow-rs `parquet`, `csv`, `flate2`) |
//! | `html` | off | a report as one HTML page (`inventory::html`: `maud`, `treemap`) |
//! | `browse` | off | the terminal prefix browser (`inventory::browse`: `ratatui`) |
//!
//! The default set is the providers and the two layers a configuration file may ask for, so
//! that a file that works in one application works in another built with the defaults; a
//! build without `limits` or `observe` refuses, on load, a file that asks for what it lacks,
//! naming the key and the feature. Presentation (`html`, `browse`) and `reports` are opt-in:
//! the `stratus` command turns all three on.
//!
//! ## Bad input
//!
//! Never a crash, a hang, a leak or a silent wrap on bad input (the repository's
//! `tests/bad_input.rs`, `tests/hostile_input.rs`, `tests/fuzz_config.rs`):
//!
//! - **Configuration**: every key checked at load, secrets never in text, a `retry` table
//!   object_store cannot run with and rates outside their range refused at load, naming file,
//!   store and key ([`config`] lists each); loading is linear in the file's size (each
//!   store's references and places are worked out once), and `open` builds a store shared by
//!   several composites once.
//! - **Counts** (inventory reports, histograms, rebalance plans and reports, sync and repair
//!   reports) saturate at `u64::MAX` instead of wrapping.
//! - **Provider inventory reports**: keys of at most 1,024 bytes, CSV rows of at most 1 MiB,
//!   Parquet pages and batches bounded, at most 64 storage classes (the rest "other"),
//!   manifests of at most 64 MiB and 100,000 files, parsed once: a report file of at most
//!   64 MiB reads in well under 256 MiB, in time linear in its size
//!   (`inventory::reports`).
//! - **Memory**: a body is held in memory only up to 16 MiB (unconditional copies; larger
//!   ones are multipart uploads) or 64 MiB (conditional copies, `copy_if_not_exists` across
//!   sharded members; larger ones fail with `NotSupported`); sync, repair and rebalance
//!   reports keep the first `examples` failures and conflicts (20, 20 and 1,000 by default)
//!   and count all of them; a rebalance holds at most `concurrency` (8) bodies of at most
//!   16 MiB each. Not bounded by a setting: merged listings, `plan` and replicated writes
//!   open one listing or request per member (so the bound is the member count), and `plan`
//!   holds one `Move` (about 100 bytes plus the key) per misplaced object.
//! - **Symbolic links**: local stores follow them as object_store does, to files and
//!   folders, inside the root or out of it (a local store exposes what its links reach: do
//!   not link to what it must not expose); a link to the folder that holds it is
//!   object_store's own listing error, naming the link; a link to a folder further up is not
//!   entered again, so a cycle ends and each real file is listed once.
//! - **Nothing raw on a terminal**: every key, prefix, storage class, title and error text
//!   printed for people (the inventory table, the diff table, the browser, the command's
//!   progress line, [`Error::brief`] and what the command prints) goes through one
//!   sanitizer, [`text::terminal`], which writes C0 controls, DEL, C1 controls and the bidi
//!   controls (U+061C, U+200E/F, U+202A-202E, U+2066-2069) visibly, as `\x1b` and
//!   `\u{202e}`; JSON and HTML keep the exact key. A local file whose name no object_store
//!   key can hold (an ASCII control such as ESC, bytes that are not UTF-8), or that lies
//!   below such a folder, does not fail the listing: the store leaves it out (it could only
//!   be named by a key that names another file) and an inventory counts it under
//!   `unlisted`, as it does `NAME#N` files.
//! - **Files someone names** are regular files, read with a cap: a configuration (16 MiB,
//!   [`config::MAX_CONFIG_BYTES`]), a journal (1 GiB), a sync/verify checkpoint (1 MiB), a
//!   report to diff (256 MiB, [`inventory::MAX_REPORT_BYTES`]); a FIFO, a device
//!   (`/dev/zero`, or a link to it) or a folder is refused, naming the file and what it is,
//!   and a larger file names the cap and the size found (opened non-blocking: a FIFO never
//!   hangs).
//!
//! The examples are in the repository's `examples/` folder (`cargo run --example
//! inventory`), and the `stratus` command that does all of it from a shell in `cli/`
//! (`cli/README.md`). The repository's README has the tour, `docs/` the rest: what is done
//! and the known gaps in detail (`docs/STATUS.md`), the tests (`docs/TESTING.md`), the
//! measurements (`docs/BENCHMARKS.md`) and the layout (`docs/DESIGN.md`).

#![warn(missing_docs)]

pub mod billed;
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
pub mod sync;
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
    let var = config::env_value;
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
