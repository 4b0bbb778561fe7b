//! The read side of a [`ReplicatedStore`](super::ReplicatedStore): reads under the read
//! policy, listings under the listing policy (with fail-over to the next member).

use super::policy::ReadPolicy;
use super::store::Inner;
use crate::composite::tagged_listings;
use crate::error::tag;
use crate::merge::{list_after, merge_unique};
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, Result};
use std::future::Future;
use std::sync::Arc;

impl Inner {
    /// A read of `location` under the read policy. Members recorded as owing the key's
    /// last write or delete (they missed it, or still apply it in the background) come
    /// after the others, in order: a read sees an acknowledged write while any member
    /// that applied it answers.
    pub(super) async fn read<T, F, Fut>(&self, location: &Path, op: F) -> Result<T>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let n = self.members.len();
        let order: Vec<usize> = {
            let record = self.missed.lock().expect("record");
            let behind = record.get(location).map(|owed| &owed.members);
            let is_behind = |i: &usize| behind.is_some_and(|b| b.contains(i));
            let (behind, current): (Vec<usize>, Vec<usize>) = (0..n).partition(is_behind);
            current.into_iter().chain(behind).collect()
        };
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
                let listing = s.current.get_or_insert_with(|| match &s.after {
                    // Not `list_with_offset` itself: see `list_after` (SeaweedFS).
                    Some(after) => list_after(store.as_ref(), s.prefix.as_ref(), after),
                    None => store.list(s.prefix.as_ref()),
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

    /// `ListPolicy::Merged`: every member's listing, merged, each key once.
    pub(super) fn list_merged(
        &self,
        list: impl Fn(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        merge_unique(tagged_listings(&self.members, list))
    }
}
