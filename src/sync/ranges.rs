//! `sync` and `verify` over key ranges: the merge-join of two listings, cut into pieces
//! that are listed and joined at once.
//!
//! Both sides are listed in key order and joined key by key ([`rows`]); on a flat key
//! space (hashed names in one folder) that is one page per round trip on each side. So
//! the join starts as one listing (the head), and when it has joined a block of keys (a
//! page: [`BLOCK`]) without reaching the end, what is left after the block's last key is
//! cut into pieces by the keys the block holds ([`pieces_after`], as a split inventory
//! cuts a flat folder): the head goes on to the first cut, each other piece lists both
//! sides from just before its start (`list_with_offset`) and stops at its end, and all of
//! them are joined at once. A small listing (under a block) is never cut: no extra
//! request.
//!
//! Each piece is a merge-join of its own, with the checks of one: every listing of it is
//! checked to be in key order, a key one side lacks is decided on by the same rules (a
//! delete only after a `head` of the source finds nothing). Pieces are half-open key
//! ranges (after a key, up to and including the next cut; the last one to the end), so
//! every key is joined in exactly one. A wrong guess of where keys lie costs requests
//! (empty pieces: one request each), never keys. Rows come in key order within a piece,
//! not across pieces.

use super::{rows, Row};
use crate::inventory::ranges::{common, offset, pieces_after, Range, AHEAD, BLOCK};
use crate::inventory::Listed;
use futures::stream::{BoxStream, SelectAll, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, Result};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The most pieces one join is cut into.
pub(crate) const PIECES_MAX: usize = 32;

/// The rows of `stores` under `prefix` ([`rows`]), cut into at most `pieces` key ranges
/// joined at once once the first `block` keys are joined (see the module docs).
pub(crate) fn ranged_rows<'a>(
    stores: &[(&'static str, &'a dyn ObjectStore)],
    prefix: Option<&Path>,
    listed: &[Listed],
    pieces: usize,
    block: usize,
) -> BoxStream<'a, Result<Row>> {
    let head = rows(stores, prefix, None, listed);
    if pieces < 2 {
        return head;
    }
    Ranged {
        stores: stores.to_vec(),
        prefix: prefix.cloned(),
        listed: listed.to_vec(),
        pieces,
        block: block.max(2),
        probe: Some(Vec::new()),
        head: Some(head),
        head_until: None,
        others: SelectAll::new(),
        head_first: true,
    }
    .boxed()
}

struct Ranged<'a> {
    stores: Vec<(&'static str, &'a dyn ObjectStore)>,
    prefix: Option<Path>,
    listed: Vec<Listed>,
    pieces: usize,
    block: usize,
    /// The keys of the first block, while it is read (`None` once cut, or given up).
    probe: Option<Vec<Path>>,
    /// The first listing: from the start up to `head_until` once cut (`None` when done).
    head: Option<BoxStream<'static, Result<Row>>>,
    head_until: Option<Path>,
    /// The pieces cut off after the block.
    others: SelectAll<BoxStream<'static, Result<Row>>>,
    /// Which to poll first: they take turns, so neither waits on the other.
    head_first: bool,
}

impl Ranged<'_> {
    /// The first block is read, ending at `last`: cut what is left after it.
    fn cut(&mut self, probe: &[Path]) {
        let keys: Vec<&str> = probe.iter().map(|p| p.as_ref()).collect();
        let (Some(&first), Some(&last)) = (keys.first(), keys.last()) else {
            return;
        };
        // Cuts keep the folder the block's keys share (and the prefix listed), so a
        // piece never reaches outside what the block says about the keys.
        let shared = common(first, last);
        let folder = first[..shared].rfind('/').map_or(0, |slash| slash + 1);
        let keep = match &self.prefix {
            Some(prefix) => folder.max(prefix.as_ref().len() + 1),
            None => folder,
        };
        let rest = Range {
            prefix: None,
            after: probe.last().cloned(),
            until: None,
            ahead: AHEAD,
        };
        let mut cut = pieces_after(keep, rest, &keys, self.pieces).into_iter();
        // The head lists on to the first piece's end; the others start now.
        let Some(first_piece) = cut.next() else {
            return;
        };
        if first_piece.until.is_none() {
            return; // not cut
        }
        self.head_until = first_piece.until;
        for piece in cut {
            let after = piece
                .after
                .expect("every piece but the first starts at a cut");
            self.others.push(self.piece(after, piece.until));
        }
    }

    /// The rows after `after` up to `until` (none: to the end).
    fn piece(&self, after: Path, until: Option<Path>) -> BoxStream<'static, Result<Row>> {
        // From just before `after` (a store listing folder by folder would skip a folder
        // `after/` from `after` itself); what it gives up to `after` is the piece before's.
        let from = offset(&after);
        rows(
            &self.stores,
            self.prefix.as_ref(),
            Some(&from),
            &self.listed,
        )
        .try_skip_while(move |(key, _)| std::future::ready(Ok(key.as_ref() <= after.as_ref())))
        .try_take_while(move |(key, _)| {
            let inside = until.as_ref().is_none_or(|u| key.as_ref() <= u.as_ref());
            std::future::ready(Ok(inside))
        })
        .boxed()
    }

    fn poll_head(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let Some(head) = self.head.as_mut() else {
            return Poll::Ready(None);
        };
        match head.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(row))) => {
                if let Some(until) = &self.head_until {
                    if row.0.as_ref() > until.as_ref() {
                        // Past its end: the next piece lists it.
                        self.head = None;
                        return Poll::Ready(None);
                    }
                }
                if let Some(probe) = self.probe.as_mut() {
                    probe.push(row.0.clone());
                    if probe.len() >= self.block {
                        let probe = self.probe.take().expect("probing");
                        self.cut(&probe);
                    }
                }
                Poll::Ready(Some(Ok(row)))
            }
            Poll::Ready(None) => {
                self.head = None;
                self.probe = None;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl futures::Stream for Ranged<'_> {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        this.head_first = !this.head_first;
        for turn in 0..2 {
            let head = (turn == 0) == this.head_first;
            let polled = match head {
                true => this.poll_head(cx),
                false if this.others.is_empty() => Poll::Ready(None),
                false => this.others.poll_next_unpin(cx),
            };
            if let Poll::Ready(Some(item)) = polled {
                return Poll::Ready(Some(item));
            }
        }
        // Neither gave a row: done when both are, else one is pending (and woken).
        if this.head.is_none() && this.others.is_empty() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

/// Keys between decisions to cut, as [`SyncOptions::range_block`](super::SyncOptions)
/// says by default.
pub(crate) const DEFAULT_BLOCK: usize = BLOCK;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fault::{Fault, FaultyStore, Op};
    use crate::sync::{sync, verify, DeleteLimit, SyncOptions};
    use futures::TryStreamExt;
    use object_store::memory::InMemory;
    use object_store::ObjectStoreExt;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::sync::Arc;

    /// Keys to sizes: a flat folder of hex names, small folders, names at the top.
    fn objects() -> impl Strategy<Value = BTreeMap<String, usize>> {
        let key = prop_oneof![
            3 => "f/[0-9a-f]{1,6}",
            1 => "[a-c]/[0-9]{1,3}",
            1 => "[0-9a-z~]{1,4}",
        ];
        prop::collection::btree_map(key, 0usize..4, 0..120)
    }

    async fn store(objects: &BTreeMap<String, usize>) -> Arc<dyn ObjectStore> {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for (key, size) in objects {
            let body = vec![b'x'; *size];
            store
                .put(&Path::from(key.as_str()), body.into())
                .await
                .unwrap();
        }
        store
    }

    async fn contents(store: &dyn ObjectStore) -> BTreeMap<String, u64> {
        let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
        listed
            .into_iter()
            .map(|meta| (meta.location.to_string(), meta.size))
            .collect()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn cases() -> u32 {
        std::env::var("STRATUS_SYNC_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(cases()))]

        /// A join cut into key ranges gives the plain join's rows, each key once, whatever
        /// the keys, the block and the number of pieces; rows are in key order within the
        /// head and within each piece (checked by the join itself), not across them.
        #[test]
        fn a_ranged_join_is_the_plain_join(
            a in objects(),
            b in objects(),
            block in 2usize..12,
            pieces in 2usize..9,
            prefix in prop::option::of(Just("f")),
        ) {
            runtime().block_on(async {
                let (a, b) = (store(&a).await, store(&b).await);
                let stores = [("a", a.as_ref()), ("b", b.as_ref())];
                let prefix = prefix.map(Path::from);
                let plain: Vec<Row> = rows(&stores, prefix.as_ref(), None, &[])
                    .try_collect()
                    .await
                    .unwrap();
                let mut ranged: Vec<Row> =
                    ranged_rows(&stores, prefix.as_ref(), &[], pieces, block)
                        .try_collect()
                        .await
                        .unwrap();
                ranged.sort_by(|x, y| x.0.as_ref().cmp(y.0.as_ref()));
                prop_assert_eq!(ranged, plain);
                Ok(())
            })?;
        }

        /// A sync over key ranges leaves the destination what a plain sync leaves (the
        /// source), with the same counts, deletes included; `verify` over key ranges counts
        /// what a plain one counts.
        #[test]
        fn a_ranged_sync_does_what_a_plain_one_does(
            src in objects(),
            dst in objects(),
            block in 2usize..12,
            concurrency in 1usize..9,
            delete in any::<bool>(),
        ) {
            runtime().block_on(async {
                let source = store(&src).await;
                let options = SyncOptions::default()
                    .with_concurrency(concurrency)
                    .with_delete(delete)
                    .with_max_delete(DeleteLimit::Unlimited)
                    .with_range_block(block);
                let (ranged_dst, plain_dst) = (store(&dst).await, store(&dst).await);
                let ranged_verify = verify(source.as_ref(), ranged_dst.as_ref(), &options).await.unwrap();
                let plain_options = options.clone().with_key_ranges(false);
                let plain_verify = verify(source.as_ref(), plain_dst.as_ref(), &plain_options).await.unwrap();
                prop_assert_eq!(
                    (ranged_verify.same, ranged_verify.missing_in_a, ranged_verify.missing_in_b, ranged_verify.differing),
                    (plain_verify.same, plain_verify.missing_in_a, plain_verify.missing_in_b, plain_verify.differing)
                );
                let ranged = sync(source.as_ref(), ranged_dst.as_ref(), &options).await.unwrap();
                let plain = sync(source.as_ref(), plain_dst.as_ref(), &plain_options).await.unwrap();
                prop_assert_eq!(
                    (ranged.copied, ranged.skipped, ranged.deleted, ranged.failed, ranged.bytes),
                    (plain.copied, plain.skipped, plain.deleted, plain.failed, plain.bytes)
                );
                let after = contents(ranged_dst.as_ref()).await;
                prop_assert_eq!(&after, &contents(plain_dst.as_ref()).await);
                // As the store names them (`~` is `%7E` in a path).
                let name = |key: &String| Path::from(key.as_str()).to_string();
                let mut expected: BTreeMap<String, u64> =
                    src.iter().map(|(k, s)| (name(k), *s as u64)).collect();
                if !delete {
                    for (key, size) in &dst {
                        expected.entry(name(key)).or_insert(*size as u64);
                    }
                }
                prop_assert_eq!(after, expected);
                Ok(())
            })?;
        }
    }

    /// 300 hex names in one folder, blocks of 20 keys, 8 pieces: both sides are listed in
    /// pieces (more than one listing each), and a small folder (under a block) is one
    /// listing each, as without key ranges.
    #[tokio::test]
    async fn a_large_join_is_cut_and_a_small_one_is_not() {
        let names = |n: u64| -> BTreeMap<String, usize> {
            (0..n)
                .map(|i| {
                    (
                        format!("flat/{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32)),
                        1,
                    )
                })
                .collect()
        };
        for (n, cut) in [(300, true), (15, false)] {
            let a = FaultyStore::new(store(&names(n)).await);
            let b = FaultyStore::new(Arc::new(InMemory::new()));
            let options = SyncOptions::default()
                .with_concurrency(8)
                .with_range_block(20);
            let report = sync(&a, &b, &options).await.unwrap();
            let (la, lb) = (a.calls(Op::List), b.calls(Op::List));
            assert_eq!(report.copied, n);
            assert_eq!(contents(&b).await, contents(&a).await);
            match cut {
                true => assert!(la > 1 && lb > 1 && la <= 8 && lb <= 8, "{la} {lb} listings"),
                false => assert_eq!((la, lb), (1, 1)),
            }
        }
    }

    /// A piece whose source listing fails ends the sync with that error; every delete
    /// made before it was of a key the source lacks (each is proven by a `head`).
    #[tokio::test]
    async fn a_failed_piece_ends_the_sync_and_deletes_only_what_the_source_lacks() {
        let src: BTreeMap<String, usize> = (0..200)
            .map(|i| (format!("k/{:04x}", i * 97 % 65536), 1))
            .collect();
        let mut dst = src.clone();
        dst.extend((0..50).map(|i| (format!("k/{:04x}z", i * 331 % 65536), 2)));
        let a = FaultyStore::new(store(&src).await);
        // The head's listing goes through; the first piece's fails.
        a.inject(Fault::fail(Op::List).after(1).times(1));
        let b = store(&dst).await;
        let options = SyncOptions::default()
            .with_concurrency(4)
            .with_delete(true)
            .with_max_delete(DeleteLimit::Unlimited)
            .with_range_block(20);
        assert!(sync(&a, b.as_ref(), &options).await.is_err());
        let left = contents(b.as_ref()).await;
        for key in src.keys() {
            assert!(left.contains_key(key), "{key} of the source was deleted");
        }
    }
}
