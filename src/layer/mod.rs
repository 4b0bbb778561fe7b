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

/// The bytes of a `get`, as a stream. A local file's comes in pieces of [`FILE_PIECE`]
/// read on a blocking thread: object_store's own stream of a file
/// (`GetResult::into_stream`) hops to a blocking thread for every 8 KiB, which costs
/// more than hashing or parsing them (report files, digests, copies read whole files).
pub(crate) fn body(
    got: object_store::GetResult,
) -> futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>> {
    match got.payload {
        object_store::GetResultPayload::File(file, path) => file_pieces(file, path, got.range),
        object_store::GetResultPayload::Stream(stream) => stream,
    }
}

/// How much of a local file one read of [`body`] takes.
const FILE_PIECE: u64 = 1 << 20;

/// `range` of a local `file`, [`FILE_PIECE`] at a time.
fn file_pieces(
    file: std::fs::File,
    path: std::path::PathBuf,
    range: std::ops::Range<u64>,
) -> futures::stream::BoxStream<'static, object_store::Result<bytes::Bytes>> {
    use futures::StreamExt;
    use std::io::{Read, Seek, SeekFrom};
    let failed = |path: &std::path::Path, e: std::io::Error| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("cannot read {}: {e}", path.display()).into(),
    };
    futures::stream::try_unfold(
        (file, path, range.start, range.end),
        move |(mut file, path, at, end)| async move {
            if at >= end {
                return Ok(None);
            }
            tokio::task::spawn_blocking(move || {
                let want = (end - at).min(FILE_PIECE);
                let mut piece = Vec::with_capacity(want as usize);
                file.seek(SeekFrom::Start(at))
                    .and_then(|_| (&mut file).take(want).read_to_end(&mut piece))
                    .map_err(|e| failed(&path, e))?;
                if piece.is_empty() {
                    let short = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
                    return Err(failed(&path, short));
                }
                let next = at + piece.len() as u64;
                Ok(Some((bytes::Bytes::from(piece), (file, path, next, end))))
            })
            .await
            .map_err(|e| object_store::Error::JoinError { source: e })?
        },
    )
    .boxed()
}

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

#[cfg(test)]
mod tests {
    /// A local file's body read in pieces is its bytes, whole or a range; a file that
    /// shrinks while it is read is an error, never a short body.
    #[tokio::test]
    async fn a_local_files_body_in_pieces_is_its_bytes() {
        use futures::TryStreamExt;
        use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
        let dir = tempfile::tempdir().unwrap();
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let bytes: Vec<u8> = (0..(super::FILE_PIECE * 2 + 12_345))
            .map(|i| (i % 251) as u8)
            .collect();
        let path = object_store::path::Path::from("r.csv.gz");
        store.put(&path, bytes.clone().into()).await.unwrap();
        let read = |options: GetOptions| {
            let store = &store;
            let path = &path;
            async move {
                let got = store.get_opts(path, options).await.unwrap();
                let pieces: Vec<_> = super::body(got).try_collect().await?;
                Ok::<_, object_store::Error>(pieces.concat())
            }
        };
        assert_eq!(read(GetOptions::default()).await.unwrap(), bytes);
        let end = super::FILE_PIECE + 7;
        let range = GetOptions {
            range: Some(GetRange::Bounded(5..end)),
            ..Default::default()
        };
        assert_eq!(read(range).await.unwrap(), bytes[5..end as usize]);
        let got = store.get(&path).await.unwrap();
        std::fs::File::options()
            .write(true)
            .open(dir.path().join("r.csv.gz"))
            .unwrap()
            .set_len(100)
            .unwrap();
        let shrunk: object_store::Result<Vec<_>> = super::body(got).try_collect().await;
        assert!(shrunk.is_err());
    }
}
