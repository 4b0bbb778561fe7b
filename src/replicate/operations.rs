//! The [`ObjectStore`] operations of a [`ReplicatedStore`]: each one handed to the write
//! side (`write.rs`, `multipart.rs`) or the read side (`read.rs`) of the store's shared
//! state.

use super::multipart::ReplicatedUpload;
use super::policy::{ListPolicy, Missed};
use super::store::ReplicatedStore;
use super::write::Condition;
use crate::composite::{delete_in_batches, onto_itself};
use crate::error::tag;
use crate::merge::list_after;
use async_trait::async_trait;
use bytes::Bytes;
use futures::future::FutureExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    RenameTargetMode, Result,
};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::Arc;

impl ReplicatedStore {
    /// `list_with_delimiter` as the listing policy gives it: the first member that
    /// answers, or every member merged.
    async fn list_level(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let inner = &self.inner;
        if inner.list == ListPolicy::First {
            let mut first_error = None;
            for (i, (name, store)) in inner.members.iter().enumerate() {
                match inner.call(i, store.list_with_delimiter(prefix)).await {
                    Ok(result) => return Ok(result),
                    Err(err) => {
                        first_error.get_or_insert(tag(name, err));
                    }
                }
            }
            return Err(first_error.expect("at least one member"));
        }
        let outcome = inner
            .fan_out(0..inner.members.len(), |_, store| {
                store.list_with_delimiter(prefix)
            })
            .await;
        if let Some((_, err)) = outcome.failed.into_iter().next() {
            return Err(err);
        }
        let mut prefixes = BTreeSet::new();
        let mut objects = BTreeMap::new();
        let mut ok = outcome.ok;
        ok.sort_by_key(|(i, _)| *i);
        for (_, result) in ok {
            prefixes.extend(result.common_prefixes);
            for meta in result.objects {
                objects.entry(meta.location.clone()).or_insert(meta);
            }
        }
        Ok(ListResult {
            common_prefixes: prefixes.into_iter().collect(),
            objects: objects.into_values().collect(),
            extensions: Default::default(),
        })
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for ReplicatedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let condition = match &opts.mode {
            PutMode::Overwrite => Condition::None,
            PutMode::Create => Condition::First,
            PutMode::Update(version) => Condition::Matching(version.clone()),
        };
        let overwrite = PutOptions {
            mode: PutMode::Overwrite,
            ..opts.clone()
        };
        self.inner
            .write(
                "put",
                &[(location, Missed::Write)],
                &[],
                condition,
                |store, conditional| {
                    let opts = if conditional { &opts } else { &overwrite };
                    let (store, location) = (Arc::clone(store), location.clone());
                    let (payload, opts) = (payload.clone(), opts.clone());
                    async move { store.put_opts(&location, payload, opts).await }.boxed()
                },
            )
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        ReplicatedUpload::start(&self.inner, location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner
            .read(location, |store| {
                let options = options.clone();
                async move { store.get_opts(location, options).await }
            })
            .await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner
            .read(location, |store| async move {
                store.get_ranges(location, ranges).await
            })
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        delete_in_batches(locations, move |batch| {
            let inner = Arc::clone(&inner);
            async move { inner.delete_batch(batch).await }
        })
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let listing = match self.inner.list {
            ListPolicy::First => self.inner.list_first(prefix, None),
            ListPolicy::Merged => self.inner.list_merged(|store| store.list(prefix)),
        };
        self.inner.corrected(listing, prefix, None)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let listing = match self.inner.list {
            ListPolicy::First => self.inner.list_first(prefix, Some(offset)),
            ListPolicy::Merged => self
                .inner
                .list_merged(|store| list_after(store, prefix, offset)),
        };
        self.inner.corrected(listing, prefix, Some(offset))
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let listed = self.list_level(prefix).await?;
        self.inner.corrected_level(listed, prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let conditional = matches!(options.mode, CopyMode::Create);
        if from == to {
            return onto_itself(self, from, conditional).await;
        }
        let overwrite = CopyOptions {
            mode: CopyMode::Overwrite,
            ..options.clone()
        };
        self.inner
            .write(
                "copy",
                &[(to, Missed::Write)],
                &[from],
                Condition::first_if(conditional),
                |store, conditional| {
                    let options = if conditional { &options } else { &overwrite };
                    let (store, from, to) = (Arc::clone(store), from.clone(), to.clone());
                    let options = options.clone();
                    async move { store.copy_opts(&from, &to, options).await }.boxed()
                },
            )
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let inner = &self.inner;
        let conditional = matches!(options.target_mode, RenameTargetMode::Create);
        if from == to {
            return onto_itself(self, from, conditional).await;
        }
        let overwrite = RenameOptions {
            target_mode: RenameTargetMode::Overwrite,
            ..options.clone()
        };
        // The source is gone where the rename was applied: what the target missed as a
        // write, the source missed as a delete (recorded only if some member applied it).
        // A member behind on the source does not take part: it would move an old version
        // to the target (it is recorded as having missed both).
        let changes = [(to, Missed::Write), (from, Missed::Delete)];
        inner
            .write(
                "rename",
                &changes,
                &[from],
                Condition::first_if(conditional),
                |store, conditional| {
                    let options = if conditional { &options } else { &overwrite };
                    let (store, from, to) = (Arc::clone(store), from.clone(), to.clone());
                    let options = options.clone();
                    async move { store.rename_opts(&from, &to, options).await }.boxed()
                },
            )
            .await
    }
}
