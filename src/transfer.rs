//! Copy one object between two stores, streaming its body.
//!
//! Shared by the composite stores (a copy between keys on different members) and by the
//! helpers that move data (rebalance). The body is held whole only up to 16 MiB (above,
//! an unconditional write is a multipart upload) or, for a conditional write, up to
//! [`CONDITIONAL_LIMIT`] (64 MiB): object_store has no conditional multipart upload, so a
//! `PutMode::Create` or `Update` transfer buffers the object (as a list of the chunks
//! read, not one contiguous copy) and writes it with one atomic `put_opts`; a larger one
//! is refused with `NotSupported`.
//!
//! The object's attributes (content type, cache control, user metadata...) are carried
//! over where the destination stores them; a destination that cannot (object_store's
//! `LocalFileSystem` answers `NotImplemented`) gets the bytes without them.

use crate::version::Transferred;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{
    Attributes, Error, GetOptions, ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions,
    PutPayload, Result, WriteMultipart,
};
use xxhash_rust::xxh3::Xxh3;

/// Objects larger than this are written with a multipart upload when the write is not
/// conditional.
pub(crate) const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// A conditional write (`PutMode::Create` or `Update`) is one `put` (object_store has no
/// conditional multipart upload), so its body is held in memory: larger objects are
/// refused with `NotSupported` rather than buffered.
pub(crate) const CONDITIONAL_LIMIT: u64 = 64 * 1024 * 1024;
/// The part size of such uploads.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight at once per upload.
const PART_CONCURRENCY: usize = 4;

/// Whether a copy carries the source stamp (see [`crate::version`]): what `sync` writes
/// does, so that a later `sync` knows which version of the source it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stamp {
    /// The copy carries the source's attributes only.
    No,
    /// The copy also carries the stamp of the version read.
    Source,
}

/// Copy `from` in `src` to `to` in `dst` with `mode`, carrying the object's attributes.
pub(crate) async fn transfer(
    src: &dyn ObjectStore,
    from: &Path,
    dst: &dyn ObjectStore,
    to: &Path,
    mode: PutMode,
) -> Result<Transferred> {
    transfer_stamped(src, from, dst, to, mode, Stamp::No).await
}

/// [`transfer`], the copy stamped as `stamp` says.
pub(crate) async fn transfer_stamped(
    src: &dyn ObjectStore,
    from: &Path,
    dst: &dyn ObjectStore,
    to: &Path,
    mode: PutMode,
    stamp: Stamp,
) -> Result<Transferred> {
    let got = src.get_opts(from, GetOptions::default()).await?;
    let attributes = match stamp {
        Stamp::No => got.attributes.clone(),
        Stamp::Source => crate::version::stamped(got.attributes.clone(), &got.meta),
    };
    let size = got.meta.size;
    let conditional = !matches!(mode, PutMode::Overwrite);
    if conditional && size > CONDITIONAL_LIMIT {
        return Err(Error::NotSupported {
            source: format!(
                "a conditional copy of {from} ({size} bytes) would be held in memory whole \
                 (object_store has no conditional multipart upload); the limit is \
                 {CONDITIONAL_LIMIT} bytes"
            )
            .into(),
        });
    }
    let body = crate::layer::body(got);
    let mut hasher = Xxh3::new();
    let copied = if matches!(mode, PutMode::Overwrite) && size > MULTIPART_THRESHOLD {
        upload_parts(body, &mut hasher, dst, to, attributes).await?
    } else {
        let payload = buffer(body, &mut hasher, from, size).await?;
        let copied = payload.content_length() as u64;
        put_whole(dst, to, payload, mode, attributes).await?;
        copied
    };
    Ok(Transferred {
        size: copied,
        digest: hasher.digest128(),
    })
}

/// Stream `body` to `to` in `dst` as a multipart upload (aborted if reading or sending
/// fails), hashing it on the way; the bytes sent. Attributes are dropped for a store that
/// does not implement them.
async fn upload_parts(
    mut body: BoxStream<'static, Result<Bytes>>,
    hasher: &mut Xxh3,
    dst: &dyn ObjectStore,
    to: &Path,
    attributes: Attributes,
) -> Result<u64> {
    let options = |attributes| object_store::PutMultipartOptions {
        attributes,
        ..Default::default()
    };
    let upload = match dst
        .put_multipart_opts(to, options(attributes.clone()))
        .await
    {
        Err(Error::NotImplemented { .. }) if !attributes.is_empty() => {
            dst.put_multipart_opts(to, options(Attributes::new()))
                .await?
        }
        other => other?,
    };
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut copied = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(err) => {
                // Best effort: the upload is abandoned either way, and the read error
                // is the one worth reporting.
                let _ = writer.abort().await;
                return Err(err);
            }
        };
        if let Err(err) = writer.wait_for_capacity(PART_CONCURRENCY).await {
            let _ = writer.abort().await;
            return Err(err);
        }
        hasher.update(&chunk);
        copied += chunk.len() as u64;
        writer.put(chunk);
    }
    writer.finish().await?;
    Ok(copied)
}

/// `body` in memory, hashed: at most `size` bytes (what the source announced, itself at
/// most `MULTIPART_THRESHOLD` or `CONDITIONAL_LIMIT`); a body longer than announced is
/// refused.
async fn buffer(
    mut body: BoxStream<'static, Result<Bytes>>,
    hasher: &mut Xxh3,
    from: &Path,
    size: u64,
) -> Result<PutPayload> {
    let mut chunks = Vec::new();
    let mut copied = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        hasher.update(&chunk);
        copied += chunk.len() as u64;
        if copied > size {
            return Err(Error::Generic {
                store: "stratus",
                source: format!(
                    "{from} sent more than the {size} bytes it announced; nothing was written"
                )
                .into(),
            });
        }
        chunks.push(chunk);
    }
    Ok(PutPayload::from_iter(chunks))
}

/// One `put` of `payload` with `mode`, attributes dropped for a store that does not
/// implement them.
async fn put_whole(
    dst: &dyn ObjectStore,
    to: &Path,
    payload: PutPayload,
    mode: PutMode,
    attributes: Attributes,
) -> Result<()> {
    let options = |attributes| PutOptions {
        mode: mode.clone(),
        attributes,
        ..Default::default()
    };
    match dst
        .put_opts(to, payload.clone(), options(attributes.clone()))
        .await
    {
        Err(Error::NotImplemented { .. }) if !attributes.is_empty() => dst
            .put_opts(to, payload, options(Attributes::new()))
            .await
            .map(drop),
        other => other.map(drop),
    }
}

/// Copy `from` in `src` to `to` in `dst`, where `dst` was found *not* to hold `to` (by a
/// listing, whose word is not proof: it may be out of order, or a writer may have been
/// quicker). The write never replaces an object: up to [`MULTIPART_THRESHOLD`] (`size`,
/// as listed) it is a conditional create, atomic on the destination; above, a `head`
/// must find nothing just before the multipart upload (a write landing between the two
/// is the one case left, as for any multipart upload). An object found at `to` fails the
/// copy with `AlreadyExists`, and nothing is overwritten.
pub(crate) async fn transfer_absent(
    src: &dyn ObjectStore,
    from: &Path,
    dst: &dyn ObjectStore,
    to: &Path,
    size: u64,
    stamp: Stamp,
) -> Result<Transferred> {
    let exists = |source: &str| Error::AlreadyExists {
        path: to.to_string(),
        source: format!(
            "{to} exists although the listing did not show it ({source}); it was not \
             overwritten"
        )
        .into(),
    };
    if size > MULTIPART_THRESHOLD {
        if !absent(dst, to).await? {
            return Err(exists("found by a head"));
        }
        return transfer_stamped(src, from, dst, to, PutMode::Overwrite, stamp).await;
    }
    match transfer_stamped(src, from, dst, to, PutMode::Create, stamp).await {
        Err(Error::AlreadyExists { .. }) => Err(exists("a conditional create was refused")),
        other => other,
    }
}

/// `store`'s object at `location`, or `None` where it has none (a `head`).
pub(crate) async fn head_if_any(
    store: &dyn ObjectStore,
    location: &Path,
) -> Result<Option<ObjectMeta>> {
    match store.head(location).await {
        Ok(meta) => Ok(Some(meta)),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}

/// Whether `store` lacks `location`, asked with a `head`.
pub(crate) async fn absent(store: &dyn ObjectStore, location: &Path) -> Result<bool> {
    Ok(head_if_any(store, location).await?.is_none())
}
