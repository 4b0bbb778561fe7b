//! A k-way merge of several stores' listings, in key order, in bounded memory.
//!
//! Each input is one store's `list` stream. The merge holds one entry per input and reads
//! an input only when it hands out that input's entry, so its memory does not grow with
//! the size of the listing, it reads nothing ahead of its consumer, and an input it is
//! not waiting for is never left part-way through an entry (a listing under a deadline
//! per entry, such as a replicated store's member timeout, is timed only while it is
//! awaited). When every input is in key order (S3, GCS, Azure and the in-memory
//! store list in key order, and so do the local stores stratus builds; a raw
//! `LocalFileSystem` does not), so is the output; entries with
//! equal keys come out together, lowest input index first. Otherwise every entry still
//! comes out exactly once, in no particular order.
//!
//! A consumer that wants its inputs to fetch their pages at once (a join of two stores'
//! listings) reads each of them through [`read_ahead`]: a task of its own drives the
//! listing up to a page ahead. The composites' own listings (a sharded store's members, a
//! replicated store's) do not: read ahead at every level, a piece of a ranged sync would
//! hold a page per member and level, and read that far past its end.

use futures::stream::{self, BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectMeta, ObjectStore, Result};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

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

/// Entries [`read_ahead`] reads ahead of its consumer (a page of S3's and GCS's listings):
/// while a join waits on one input's next page, the others fetch theirs, so a join of two
/// listings takes about the longer one's round trips, not both added up.
const AHEAD: usize = 1000;

struct State {
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
    heap: BinaryHeap<Reverse<Listed>>,
    started: bool,
    /// An error read while refilling, reported after the entry already taken.
    pending: Option<Error>,
    done: bool,
}

impl State {
    /// Read the next entry of `input` into the heap.
    async fn refill(&mut self, input: usize) -> Result<()> {
        match self.inputs[input].next().await {
            Some(Ok(meta)) => {
                self.heap.push(Reverse(Listed { input, meta }));
                Ok(())
            }
            Some(Err(err)) => Err(err),
            None => Ok(()),
        }
    }
}

/// Merge `inputs` into one stream of entries. The first error from any input ends the
/// merged stream (after being yielded): a listing with a hole in it is not a listing.
/// Every input's first entry is read at once; after that, an input is read only for the
/// entry the merge waits for.
pub(crate) fn merge(
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
) -> BoxStream<'static, Result<Listed>> {
    let state = State {
        heap: BinaryHeap::with_capacity(inputs.len()),
        inputs,
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
            let firsts =
                futures::future::join_all(state.inputs.iter_mut().map(|input| input.next())).await;
            for (input, first) in firsts.into_iter().enumerate() {
                match first {
                    Some(Ok(meta)) => state.heap.push(Reverse(Listed { input, meta })),
                    Some(Err(err)) => {
                        state.done = true;
                        return Some((Err(err), state));
                    }
                    None => {}
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

/// Aborts the task it holds when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Entries [`read_ahead`] hands over at once when they are ready together (a page
/// decoded): one wake-up of the consumer for a batch, not for every entry.
const BATCH: usize = 50;

/// `listing`, driven by a task of its own up to about [`AHEAD`] entries ahead of its
/// consumer, so that it fetches its next page while the consumer waits on something else
/// (another listing of a join, a copy). The task starts at the first poll (until then
/// nothing is requested, as with any listing). It polls the listing whenever an entry is
/// under way and waits for its consumer only between entries, so a deadline per entry
/// runs only while an entry is fetched; entries ready together go over in batches of up
/// to [`BATCH`]. Dropping the stream stops the task (when the runtime next runs it); a
/// panic in the listing is raised in the consumer. Outside a Tokio runtime, `listing` as
/// it is.
pub(crate) fn read_ahead(
    listing: BoxStream<'static, Result<ObjectMeta>>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    type Batches = tokio::sync::mpsc::Receiver<Vec<Result<ObjectMeta>>>;
    enum Ahead {
        Idle(BoxStream<'static, Result<ObjectMeta>>),
        Reading(Batches, std::vec::IntoIter<Result<ObjectMeta>>, AbortOnDrop),
        Ended,
    }
    let mut state = Ahead::Idle(listing);
    stream::poll_fn(move |cx| loop {
        match &mut state {
            Ahead::Idle(_) => {
                let Ahead::Idle(mut listing) = std::mem::replace(&mut state, Ahead::Ended) else {
                    unreachable!("matched above");
                };
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    // No runtime to run a task on: the listing as it is.
                    let next = listing.poll_next_unpin(cx);
                    state = Ahead::Idle(listing);
                    return next;
                };
                let (sender, batches) = tokio::sync::mpsc::channel(AHEAD / BATCH);
                // In the scan's scope, if any: a local folder's listing notes what it
                // could not list there.
                let task = runtime.spawn(crate::inventory::unlisted::in_scan(async move {
                    drive(listing, sender).await
                }));
                state = Ahead::Reading(batches, Vec::new().into_iter(), AbortOnDrop(task));
            }
            Ahead::Reading(batches, batch, task) => {
                if let Some(entry) = batch.next() {
                    return Poll::Ready(Some(entry));
                }
                if let Some(next) = std::task::ready!(batches.poll_recv(cx)) {
                    *batch = next.into_iter();
                    continue;
                }
                // Every batch sent is read and the task let go of the channel: it ended,
                // or it panicked (the listing is incomplete: never taken for its end).
                let ended = std::task::ready!(Pin::new(&mut task.0).poll(cx));
                state = Ahead::Ended;
                return match ended {
                    Ok(()) => Poll::Ready(None),
                    Err(e) => match e.try_into_panic() {
                        Ok(panic) => std::panic::resume_unwind(panic),
                        Err(e) => Poll::Ready(Some(Err(Error::Generic {
                            store: "stratus",
                            source: Box::new(e),
                        }))),
                    },
                };
            }
            Ahead::Ended => return Poll::Ready(None),
        }
    })
    .boxed()
}

/// [`read_ahead`]'s task: `listing` into `batches` until it ends, fails or the consumer
/// leaves.
async fn drive(
    mut listing: BoxStream<'static, Result<ObjectMeta>>,
    batches: tokio::sync::mpsc::Sender<Vec<Result<ObjectMeta>>>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        // While an entry is under way, the batch so far goes over as soon as there is
        // room; the listing is polled all along.
        let entry = {
            let mut next = listing.next();
            loop {
                if batch.is_empty() {
                    break (&mut next).await;
                }
                tokio::select! {
                    biased;
                    entry = &mut next => break entry,
                    room = batches.reserve() => match room {
                        Ok(room) => room.send(std::mem::take(&mut batch)),
                        Err(_) => return,
                    },
                }
            }
        };
        let last = match entry {
            Some(entry) => {
                let failed = entry.is_err();
                batch.push(entry);
                failed
            }
            None => true,
        };
        // Between entries (none under way): wait for room for a full batch, or the end.
        if (last || batch.len() >= BATCH)
            && !batch.is_empty()
            && batches.send(std::mem::take(&mut batch)).await.is_err()
        {
            return;
        }
        if last {
            return;
        }
    }
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
    async fn read_ahead_gives_every_entry_and_reads_at_most_a_page_ahead() {
        let keys: Vec<String> = (0..3 * AHEAD).map(|i| format!("k{i:05}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let got: Vec<String> = read_ahead(listing(&refs))
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        assert_eq!(got, keys);

        // Dropped after one entry: the task stops, and with it the listing.
        let polled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = {
            let polled = polled.clone();
            listing(&refs)
                .inspect(move |_| {
                    polled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                })
                .boxed()
        };
        let mut ahead = read_ahead(counted);
        assert!(ahead.next().await.is_some());
        drop(ahead);
        tokio::task::yield_now().await;
        let read = polled.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            read <= AHEAD + BATCH + 1,
            "{read} entries read for one taken"
        );
    }

    #[tokio::test]
    async fn a_panic_in_a_listing_read_ahead_is_raised_not_taken_for_its_end() {
        let panicking = listing(&["a", "b"])
            .chain(stream::once(async { panic!("the listing broke") }))
            .boxed();
        let consumer = tokio::spawn(async move { read_ahead(panicking).count().await });
        let err = consumer.await.expect_err("the consumer panics");
        assert!(err.is_panic());
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
