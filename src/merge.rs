//! A k-way merge of several stores' listings, in key order, in bounded memory.
//!
//! Each input is one store's `list` stream. The merge holds one pending entry per input
//! (plus whatever page the input itself buffers), so its memory does not grow with the
//! size of the listing. When every input is in key order (S3, GCS, Azure and the in-memory
//! store list in key order, and so do the local stores stratus builds; a raw
//! `LocalFileSystem` does not), so is the output; entries with
//! equal keys come out together, lowest input index first. Otherwise every entry still
//! comes out exactly once, in no particular order.

use futures::stream::{self, BoxStream, StreamExt};
use object_store::{Error, ObjectMeta, Result};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// One listed object and the index of the input it came from.
#[derive(Debug)]
pub(crate) struct Entry {
    pub input: usize,
    pub meta: ObjectMeta,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.meta
            .location
            .as_ref()
            .cmp(other.meta.location.as_ref())
            .then(self.input.cmp(&other.input))
    }
}

struct State {
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
    heap: BinaryHeap<Reverse<Entry>>,
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
                self.heap.push(Reverse(Entry { input, meta }));
                Ok(())
            }
            Some(Err(err)) => Err(err),
            None => Ok(()),
        }
    }
}

/// Merge `inputs` into one stream of entries. The first error from any input ends the
/// merged stream (after being yielded): a listing with a hole in it is not a listing.
pub(crate) fn merge(
    inputs: Vec<BoxStream<'static, Result<ObjectMeta>>>,
) -> BoxStream<'static, Result<Entry>> {
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
                    Some(Ok(meta)) => state.heap.push(Reverse(Entry { input, meta })),
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use object_store::path::Path;

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
}
