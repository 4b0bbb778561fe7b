//! A k-way merge of several stores' listings, in key order, in bounded memory.
//!
//! Each input is one store's `list` stream. The merge holds up to a page of entries per
//! input ([`AHEAD`], read ahead so that the inputs fetch their pages at once), so its
//! memory does not grow with the size of the listing. When every input is in key order (S3, GCS, Azure and the in-memory
//! store list in key order, and so do the local stores stratus builds; a raw
//! `LocalFileSystem` does not), so is the output; entries with
//! equal keys come out together, lowest input index first. Otherwise every entry still
//! comes out exactly once, in no particular order.

use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, Result};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::task::{Context, Poll};

/// One listed object and the index of the input it came from.
#[derive(Debug)]
pub(crate) struct Listed {
    pub input: usize,
    pub meta: ObjectMeta,
}

impl PartialEq for Listed {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Listed {}
impl PartialOrd for Listed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Listed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.meta
            .location
            .as_ref()
            .cmp(other.meta.location.as_ref())
            .then(self.input.cmp(&other.input))
    }
}

/// Entries an input may read ahead of the merge (a page of S3's and GCS's listings): while
/// the merge waits on one input's next page, the others fetch theirs, so a join of two
/// listings takes about the longer one's round trips, not both added up.
const AHEAD: usize = 1000;

/// One input of the merge, with the entries it has read ahead.
struct Input {
    listing: BoxStream<'static, Result<ObjectMeta>>,
    ahead: VecDeque<Result<ObjectMeta>>,
    /// The listing ended (or gave an error, after which nothing more is read).
    ended: bool,
}

impl Input {
    /// Read what the listing has ready, up to [`AHEAD`] entries.
    fn fill(&mut self, cx: &mut Context<'_>) {
        while !self.ended && self.ahead.len() < AHEAD {
            match self.listing.poll_next_unpin(cx) {
                Poll::Ready(Some(item)) => {
                    self.ended = item.is_err();
                    self.ahead.push_back(item);
                }
                Poll::Ready(None) => self.ended = true,
                Poll::Pending => break,
            }
        }
    }

    /// Whether the next entry (or the end) is known.
    fn ready(&self) -> bool {
        self.ended || !self.ahead.is_empty()
    }
}

struct State {
    inputs: Vec<Input>,
    heap: BinaryHeap<Reverse<Listed>>,
    started: bool,
    /// An error read while refilling, reported after the entry already taken.
    pending: Option<Error>,
    done: bool,
}

impl State {
    /// Read ahead on every input until `wanted` (those it names) have their next entry
    /// or their end.
    async fn read(&mut self, wanted: impl Fn(usize) -> bool) {
        std::future::poll_fn(|cx| {
            let mut waiting = false;
            for (i, input) in self.inputs.iter_mut().enumerate() {
                input.fill(cx);
                waiting |= wanted(i) && !input.ready();
            }
            match waiting {
                true => Poll::Pending,
                false => Poll::Ready(()),
            }
        })
        .await
    }

    /// Move the next entry of `input` into the heap.
    fn take(&mut self, input: usize) -> Result<()> {
        match self.inputs[input].ahead.pop_front() {
            Some(Ok(meta)) => {
                self.heap.push(Reverse(Listed { input, meta }));
                Ok(())
            }
            Some(Err(err)) => Err(err),
            None => Ok(()),
        }
    }

    /// Read the next entry of `input` into the heap (the others read ahead meanwhile).
    async fn refill(&mut self, input: usize) -> Result<()> {
        self.read(|i| i == input).await;
        self.take(input)
    }
}

/// Merge `inputs` into one stream of entries. The first error from any input ends the
/// merged stream (after being yielded): a listing with a hole in it is not a listing.
/// Each input reads up to a page ahead of the merge ([`AHEAD`] entries), so the inputs
/// fetch their pages at once.
pub(crate) fn merge(
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
) -> BoxStream<'static, Result<Listed>> {
    let state = State {
        heap: BinaryHeap::with_capacity(inputs.len()),
        inputs: inputs
            .into_iter()
            .map(|listing| Input {
                listing,
                ahead: VecDeque::new(),
                ended: false,
            })
            .collect(),
        started: false,
        pending: None,
        done: false,
    };
    stream::unfold(state, |mut state| async move {
        if state.done {
            return None;
        }
        if let Some(err) = state.pending.take() {
            state.done = true;
            return Some((Err(err), state));
        }
        if !state.started {
            state.started = true;
            // The first page of every input is requested at once.
            state.read(|_| true).await;
            for input in 0..state.inputs.len() {
                if let Err(err) = state.take(input) {
                    state.done = true;
                    return Some((Err(err), state));
                }
            }
        }
        let Reverse(entry) = state.heap.pop()?;
        if let Err(err) = state.refill(entry.input).await {
            state.pending = Some(err);
        }
        Some((Ok(entry), state))
    })
    .boxed()
}

/// `listing`, checked to be in strictly increasing key order *before* each entry is handed
/// out: an entry comes out only once the next one has been read and found greater (or the
/// listing has ended). A caller that acts on an entry (a merge-join that decides "missing
/// here") thus never acts on the entry just before a break in the order. Breaks further
/// ahead are caught when they are reached, so a caller whose action depends on what the
/// listing *lacks* must still prove it with a `head` (see [`crate::replicate::sync`]).
///
/// Errors name `store`.
pub(crate) fn in_key_order(
    store: String,
    listing: BoxStream<'static, Result<ObjectMeta>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    let held: Option<ObjectMeta> = None;
    stream::unfold(Some((listing, held, store)), |state| async move {
        let (mut listing, mut held, store) = state?;
        loop {
            match listing.next().await {
                Some(Ok(meta)) => match held.take() {
                    None => held = Some(meta),
                    Some(before) if before.location.as_ref() < meta.location.as_ref() => {
                        return Some((Ok(before), Some((listing, Some(meta), store))));
                    }
                    Some(before) => {
                        let err = crate::error::tag(
                            &store,
                            Error::Generic {
                                store: "stratus",
                                source: format!(
                                    "the listing is not in key order ({} after {}): \
                                         comparing stores needs key order",
                                    meta.location, before.location
                                )
                                .into(),
                            },
                        );
                        return Some((Err(err), None));
                    }
                },
                Some(Err(err)) => return Some((Err(err), None)),
                None => return held.map(|last| (Ok(last), None)),
            }
        }
    })
    .boxed()
}

/// [`merge`], each key once (the entry of the lowest input): for listings of copies of
/// one key space (replicas, or one store listed twice over overlapping ranges).
pub(crate) fn merge_unique(
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    let mut last: Option<Path> = None;
    merge(inputs)
        .filter_map(move |entry| {
            let kept = match entry {
                Ok(Listed { meta, .. }) if last.as_ref() == Some(&meta.location) => None,
                Ok(Listed { meta, .. }) => {
                    last = Some(meta.location.clone());
                    Some(Ok(meta))
                }
                Err(err) => Some(Err(err)),
            };
            std::future::ready(kept)
        })
        .boxed()
}

/// `store`'s keys under `prefix` after `after`, in key order: what `list_with_offset`
/// promises, also from servers that break it when `after` is also a "folder" (SeaweedFS
/// answers a start-after of `a` without any key under `a/` when both `a` and `a/b`
/// exist). A listing of the `after/` subtree (usually one empty page) is merged in and
/// duplicates are dropped, so the result is right with or without the quirk.
///
/// Every listing a stratus composite starts at an offset goes through here: a
/// replicated store resuming on the next member after a failure, and the composites'
/// own `list_with_offset`.
pub(crate) fn list_after(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    after: &Path,
) -> BoxStream<'static, Result<ObjectMeta>> {
    let rest = store.list_with_offset(prefix, after);
    // The subtree holds keys after `after` only when `after` is a key inside `prefix`.
    let inside = !after.as_ref().is_empty() && prefix.is_none_or(|p| after.prefix_matches(p));
    if !inside {
        return rest;
    }
    merge_unique(vec![rest, store.list(Some(after))])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn listing(keys: &[&str]) -> BoxStream<'static, Result<ObjectMeta>> {
        let metas: Vec<_> = keys
            .iter()
            .map(|k| {
                Ok(ObjectMeta {
                    location: Path::from(*k),
                    last_modified: Utc::now(),
                    size: 0,
                    e_tag: None,
                    version: None,
                })
            })
            .collect();
        stream::iter(metas).boxed()
    }

    #[tokio::test]
    async fn merges_in_key_order_with_ties_by_input() {
        let merged: Vec<_> = merge(vec![
            listing(&["a", "c", "e"]),
            listing(&[]),
            listing(&["b", "c", "f"]),
        ])
        .map(|e| {
            let e = e.unwrap();
            (e.meta.location.to_string(), e.input)
        })
        .collect()
        .await;
        let expected = [("a", 0), ("b", 2), ("c", 0), ("c", 2), ("e", 0), ("f", 2)];
        let expected: Vec<_> = expected.iter().map(|(k, i)| (k.to_string(), *i)).collect();
        assert_eq!(merged, expected);
    }

    #[tokio::test]
    async fn an_error_ends_the_merge_after_the_entries_before_it() {
        let failing = stream::iter(vec![
            Ok(ObjectMeta {
                location: Path::from("b"),
                last_modified: Utc::now(),
                size: 0,
                e_tag: None,
                version: None,
            }),
            Err(Error::Generic {
                store: "test",
                source: "page 2 failed".into(),
            }),
        ])
        .boxed();
        let items: Vec<_> = merge(vec![listing(&["a", "z"]), failing]).collect().await;
        assert_eq!(items.len(), 3, "a, b, then the error");
        assert!(items[2].is_err());
    }

    #[tokio::test]
    async fn an_order_break_fails_before_the_entry_ahead_of_it_is_handed_out() {
        let items: Vec<_> = in_key_order("src".into(), listing(&["a", "c", "b", "d"]))
            .collect()
            .await;
        assert_eq!(items.len(), 2, "a, then the error instead of c");
        assert_eq!(items[0].as_ref().unwrap().location.as_ref(), "a");
        let err = items[1].as_ref().unwrap_err().to_string();
        assert!(err.contains("src") && err.contains("b after c"), "{err}");

        let ordered: Vec<_> = in_key_order("src".into(), listing(&["a", "b"]))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        assert_eq!(ordered, ["a", "b"]);
        let duplicate: Vec<_> = in_key_order("src".into(), listing(&["a", "a"]))
            .collect()
            .await;
        assert!(
            duplicate.len() == 1 && duplicate[0].is_err(),
            "a key twice is out of order"
        );
    }
}
