//! The read side of a [`ReplicatedStore`](super::ReplicatedStore): reads under the read
//! policy, listings under the listing policy (with fail-over to the next member).

use super::policy::{Missed, ReadPolicy};
use super::state::{generic, Inner};
use crate::composite::tagged_listings;
use crate::error::tag;
use crate::layer::timeout::timed;
use crate::merge::{list_after, merge_unique};
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{Error, ListResult, ObjectMeta, ObjectStore, ObjectStoreExt, Result};
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::sync::Arc;

impl Inner {
    /// A read of `location` under the read policy, from the members that hold the key's
    /// last write or delete only: a member recorded as owing it (it missed it, or still
    /// applies it in the background) is never asked, so a read never returns what an
    /// acknowledged write replaced or an acknowledged delete removed. When every member
    /// of the store owes the key (the members that applied its last operation are absent
    /// from the configuration), a missed delete reads as `NotFound` and a missed write is
    /// an error.
    pub(super) async fn read<T, F, Fut>(&self, location: &Path, op: F) -> Result<T>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        self.judged(location).await;
        let order = self.holders(location).await;
        if order.is_empty() {
            let (what, uncertain) = self
                .missed
                .lock()
                .expect("record")
                .get(location)
                .map_or((None, BTreeSet::new()), |owed| {
                    (Some(owed.what), owed.given_up.keys().copied().collect())
                });
            if !uncertain.is_empty() {
                return Err(generic(format!(
                    "read of {location}: no member is known to hold its last operation: \
                     {} applied it, but an earlier operation of theirs on it was given up \
                     and may still land; repair settles it",
                    self.names_of(&uncertain)
                        .into_iter()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            return Err(match what {
                Some(Missed::Delete) => Error::NotFound {
                    path: location.to_string(),
                    source: "deleted (the members that applied the delete are not in the \
                             configuration; the others still hold the object until repair)"
                        .into(),
                },
                _ => generic(format!(
                    "read of {location}: no member of the store holds its last write (the \
                     members that do are not in the configuration); run repair when they \
                     are back"
                )),
            });
        }
        let n = order.len();
        let after = match self.read {
            ReadPolicy::Ordered => None,
            ReadPolicy::Hedged(after) => Some(after),
        };
        let mut errors: Vec<(usize, Error)> = Vec::new();
        let mut running = FuturesUnordered::new();
        let start = |next: usize| {
            let i = order[next];
            let fut = op(Arc::clone(&self.members[i].1));
            async move { (i, self.call(i, fut).await) }
        };
        running.push(start(0));
        let mut next = 1;
        loop {
            let hedge = async {
                match after {
                    Some(after) if next < n => tokio::time::sleep(after).await,
                    _ => futures::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                answer = running.next() => {
                    let Some((i, answer)) = answer else { break };
                    match answer {
                        Ok(value) => return Ok(value),
                        Err(err @ (Error::NotModified { .. } | Error::Precondition { .. })) => {
                            return Err(tag(&self.members[i].0, err));
                        }
                        Err(err) => {
                            errors.push((i, tag(&self.members[i].0, err)));
                            if next < n {
                                running.push(start(next));
                                next += 1;
                            }
                        }
                    }
                }
                () = hedge => {
                    running.push(start(next));
                    next += 1;
                }
            }
        }
        errors.sort_by_key(|(i, _)| *i);
        let position = errors
            .iter()
            .position(|(_, e)| !matches!(e, Error::NotFound { .. }))
            .unwrap_or(0);
        Err(errors.swap_remove(position).1)
    }

    /// The members holding `key`'s last write or delete ([`Self::current`]). When none
    /// does because those that owe it still apply it in the background (a write
    /// acknowledged by members whose own earlier operation on the key was given up),
    /// once those operations ended.
    pub(super) async fn holders(&self, key: &Path) -> Vec<usize> {
        let current = self.current(&[key]);
        if !current.is_empty() {
            return current;
        }
        let owing = match self.missed.lock().expect("record").get(key) {
            Some(owed) => owed.members.clone(),
            None => return current,
        };
        self.ended_on(key, &owing).await;
        self.current(&[key])
    }

    /// Whether members in the configuration applied `key`'s last operation but are not
    /// known to hold it (an earlier operation of theirs on it was given up): a read
    /// then fails rather than guess.
    fn uncertain(&self, key: &Path) -> bool {
        self.missed
            .lock()
            .expect("record")
            .get(key)
            .is_some_and(|owed| !owed.given_up.is_empty())
    }

    /// `ListPolicy::First`: the first member's listing; when it fails, the next member
    /// continues after the last key listed (or from the start, before any).
    pub(super) fn list_first(
        self: &Arc<Self>,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        struct State {
            inner: Arc<Inner>,
            prefix: Option<Path>,
            /// The last key yielded, or the caller's offset.
            after: Option<Path>,
            member: usize,
            current: Option<BoxStream<'static, Result<ObjectMeta>>>,
            done: bool,
        }
        let state = State {
            inner: Arc::clone(self),
            prefix: prefix.cloned(),
            after: offset.cloned(),
            member: 0,
            current: None,
            done: false,
        };
        stream::unfold(state, |mut s| async move {
            loop {
                if s.done {
                    return None;
                }
                let (name, store) = &s.inner.members[s.member];
                let limit = s.inner.member_timeout;
                let listing = s.current.get_or_insert_with(|| {
                    let listing = match &s.after {
                        // Not `list_with_offset` itself: see `list_after` (SeaweedFS).
                        Some(after) => list_after(store.as_ref(), s.prefix.as_ref(), after),
                        None => store.list(s.prefix.as_ref()),
                    };
                    match limit {
                        Some(limit) => timed(listing, limit),
                        None => listing,
                    }
                });
                match listing.next().await {
                    Some(Ok(meta)) => {
                        s.after = Some(meta.location.clone());
                        return Some((Ok(meta), s));
                    }
                    None => return None,
                    Some(Err(err)) => {
                        let err = tag(name, err);
                        if s.member + 1 < s.inner.members.len() {
                            // The next member continues after the last key listed.
                            s.member += 1;
                            s.current = None;
                            continue;
                        }
                        s.done = true;
                        return Some((Err(err), s));
                    }
                }
            }
        })
        .boxed()
    }

    /// `listing` (from one member, or merged) with each key the record names under
    /// `prefix` (after `offset`) as a read sees it: from a member that holds its last
    /// write or delete (a `head`), so that a key a listed member missed is shown as it is
    /// now (or not at all, deleted), and one it lacks is shown. The record is read when
    /// the listing starts; one `head` per such key.
    pub(super) fn corrected(
        self: &Arc<Self>,
        listing: BoxStream<'static, Result<ObjectMeta>>,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let owed: VecDeque<Path> = {
            let record = self.missed.lock().expect("record");
            record
                .keys()
                .filter(|k| prefix.is_none_or(|p| k.prefix_matches(p)))
                .filter(|k| offset.is_none_or(|o| k.as_ref() > o.as_ref()))
                .cloned()
                .collect()
        };
        if owed.is_empty() {
            return listing;
        }
        struct State {
            inner: Arc<Inner>,
            listing: BoxStream<'static, Result<ObjectMeta>>,
            next: Option<ObjectMeta>,
            done: bool,
            owed: VecDeque<Path>,
        }
        let state = State {
            inner: Arc::clone(self),
            listing,
            next: None,
            done: false,
            owed,
        };
        stream::unfold(state, |mut s| async move {
            loop {
                if s.next.is_none() && !s.done {
                    match s.listing.next().await {
                        Some(Ok(meta)) => s.next = Some(meta),
                        Some(Err(err)) => {
                            s.done = true;
                            s.owed.clear();
                            return Some((Err(err), s));
                        }
                        None => s.done = true,
                    }
                }
                let recorded_first = match (&s.next, s.owed.front()) {
                    (_, None) => false,
                    (None, Some(_)) => true,
                    (Some(meta), Some(key)) => key.as_ref() <= meta.location.as_ref(),
                };
                if !recorded_first {
                    return s.next.take().map(|meta| (Ok(meta), s));
                }
                let key = s.owed.pop_front().expect("a recorded key");
                let listed = match &s.next {
                    Some(meta) if meta.location == key => s.next.take(),
                    _ => None,
                };
                // Every member behind on it because its last write is on members not
                // in the configuration: shown as listed. (Uncertain: the read fails.)
                if s.inner.holders(&key).await.is_empty() && !s.inner.uncertain(&key) {
                    match listed {
                        Some(meta) => return Some((Ok(meta), s)),
                        None => continue,
                    }
                }
                let head = |store: Arc<dyn ObjectStore>| {
                    let key = key.clone();
                    async move { store.head(&key).await }
                };
                match s.inner.read(&key, head).await {
                    Ok(meta) => return Some((Ok(meta), s)),
                    Err(Error::NotFound { .. }) => continue,
                    Err(err) => {
                        s.done = true;
                        s.owed.clear();
                        s.next = None;
                        return Some((Err(err), s));
                    }
                }
            }
        })
        .boxed()
    }

    /// `listed` (one level under `prefix`) with its objects the record names as a read
    /// sees them, as [`Self::corrected`] does for a listing: a key a listed member
    /// missed the delete of is left out, one it missed the write of is shown as it is.
    /// (Common prefixes are the members': one may hold only keys deleted since.)
    pub(super) async fn corrected_level(
        &self,
        mut listed: ListResult,
        prefix: Option<&Path>,
    ) -> Result<ListResult> {
        let owed: Vec<Path> = {
            let record = self.missed.lock().expect("record");
            let level = |key: &Path| {
                let mut parts: Vec<_> = key.parts().collect();
                parts.pop();
                let parent: Path = parts.into_iter().collect();
                parent == prefix.cloned().unwrap_or_default()
            };
            record.keys().filter(|k| level(k)).cloned().collect()
        };
        if owed.is_empty() {
            return Ok(listed);
        }
        let mut objects: std::collections::BTreeMap<Path, ObjectMeta> = listed
            .objects
            .drain(..)
            .map(|meta| (meta.location.clone(), meta))
            .collect();
        for key in owed {
            if self.holders(&key).await.is_empty() && !self.uncertain(&key) {
                continue; // its last write on members not in the configuration: as listed
            }
            let head = |store: Arc<dyn ObjectStore>| {
                let key = key.clone();
                async move { store.head(&key).await }
            };
            match self.read(&key, head).await {
                Ok(meta) => {
                    objects.insert(key, meta);
                }
                Err(Error::NotFound { .. }) => {
                    objects.remove(&key);
                }
                Err(err) => return Err(err),
            }
        }
        listed.objects = objects.into_values().collect();
        Ok(listed)
    }

    /// `ListPolicy::Merged`: every member's listing, merged, each key once.
    pub(super) fn list_merged(
        &self,
        list: impl Fn(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let limit = self.member_timeout;
        merge_unique(tagged_listings(&self.members, |store| match limit {
            Some(limit) => timed(list(store), limit),
            None => list(store),
        }))
    }
}
