//! What the composite stores ([`ShardedStore`](crate::shard::ShardedStore) and
//! [`ReplicatedStore`](crate::replicate::ReplicatedStore)) share: their `Display`, their
//! members' listings tagged with the member's name, batched deletes, a copy or rename
//! onto itself.

use crate::error::tag;
use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, ObjectStoreExt, Result};
use std::fmt;
use std::future::Future;
use std::sync::Arc;

/// A composite store's members: name and store.
pub(crate) type Members = [(String, Arc<dyn ObjectStore>)];

/// Write `Kind(name: store, ...)`: a composite store's `Display`.
pub(crate) fn fmt_members(
    f: &mut fmt::Formatter<'_>,
    kind: &str,
    members: &Members,
) -> fmt::Result {
    write!(f, "{kind}(")?;
    for (i, (name, store)) in members.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        write!(f, "{sep}{name}: {store}")?;
    }
    write!(f, ")")
}

/// Each member's listing from `list`, its errors tagged with the member's name.
pub(crate) fn tagged_listings(
    members: &Members,
    list: impl Fn(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
) -> Vec<BoxStream<'static, Result<ObjectMeta>>> {
    members
        .iter()
        .map(|(name, store)| {
            let name = name.clone();
            list(store.as_ref())
                .map(move |item| item.map_err(|err| tag(&name, err)))
                .boxed()
        })
        .collect()
}

/// Composite stores delete in batches of up to this many paths.
const DELETE_BATCH: usize = 1000;

/// `delete_stream` for a composite store: the input in batches of up to 1,000 paths, each
/// handled by `batch` (which answers each path in input order).
pub(crate) fn delete_in_batches<F, Fut>(
    locations: BoxStream<'static, Result<Path>>,
    batch: F,
) -> BoxStream<'static, Result<Path>>
where
    F: Fn(Vec<Result<Path>>) -> Fut + Send + 'static,
    Fut: Future<Output = Vec<Result<Path>>> + Send + 'static,
{
    locations
        .ready_chunks(DELETE_BATCH)
        .then(move |paths| {
            let answers = batch(paths);
            async move { stream::iter(answers.await) }
        })
        .flatten()
        .boxed()
}

/// A copy or rename of `key` onto itself, through a composite `store`: it changes nothing
/// (as a rename within one folder does) and touches no member (their own answers differ
/// by provider: S3 refuses a copy onto itself, a rename through copy and delete would
/// delete it). The object must exist, and a conditional one (`copy_if_not_exists`,
/// `rename_if_not_exists`) finds its target taken.
pub(crate) async fn onto_itself(
    store: &dyn ObjectStore,
    key: &Path,
    conditional: bool,
) -> Result<()> {
    store.head(key).await?;
    if conditional {
        return Err(Error::AlreadyExists {
            path: key.to_string(),
            source: "the target is the source, which exists".into(),
        });
    }
    Ok(())
}
