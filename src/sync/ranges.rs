//! `sync` and `verify` over key ranges: the merge-join of two listings, cut into pieces
//! that are listed and joined at once.
//!
//! Both sides are listed in key order and joined key by key ([`rows`]); on a flat key
//! space (hashed names in one folder) that is one page per round trip on each side. So
//! the join starts as one listing (the head), and every listing, whenever it has joined a
//! block of keys (a page: [`BLOCK`]) while fewer listings run than allowed, cuts what is
//! left of it into pieces by the keys the block holds: the head's first cut spreads them
//! over the key space the block suggests ([`pieces_after`], as a split inventory cuts a
//! flat folder); later cuts use [`cuts`], as a scan's ranges do (a range with an end into
//! equal pieces, an open one ahead at the pace of its block, more pieces each time). The
//! listing goes on to its first cut; each other piece lists both sides from just before
//! its start (`list_with_offset`) and stops at its end. So a key space that the first cut
//! misjudged (date-like names in one piece) is cut again as slots free. A small listing
//! (under a block) is never cut: no extra request.
//!
//! Each piece is a merge-join of its own, with the checks of one: every listing of it is
//! checked to be in key order, a key one side lacks is decided on by the same rules (a
//! delete only after a `head` of the source finds nothing). Pieces are half-open key
//! ranges (after a key, up to and including the next cut; the last one to the end), so
//! every key is joined in exactly one. A wrong guess of where keys lie costs requests
//! (empty pieces: one request each), never keys. Rows come in key order within a piece,
//! not across pieces.

use super::{rows_until, Row};
use crate::inventory::ranges::{
    blocks_to_end, common, cuts, join_chains, offset, pieces_after, Alphabet, Offsets, OffsetsSeen,
    Range, AHEAD, AHEAD_MAX, BLOCK,
};
use crate::inventory::Listed;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, Result};
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

/// Where a piece ends (inclusive; none: at the end of the prefix), shared with its
/// listings so that they stop there and read no page past it, lowered when it cuts.
#[derive(Clone, Default)]
pub(crate) struct End(Arc<RwLock<Option<Path>>>);

impl End {
    pub(crate) fn new(until: Option<Path>) -> Self {
        Self(Arc::new(RwLock::new(until)))
    }

    fn get(&self) -> Option<Path> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set(&self, until: Path) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Some(until);
    }

    /// Whether `key` is within the end.
    pub(crate) fn admits(&self, key: &str) -> bool {
        let until = self.0.read().unwrap_or_else(|e| e.into_inner());
        until.as_ref().is_none_or(|u| key <= u.as_ref())
    }
}

/// The most pieces one join is cut into.
pub(crate) const PIECES_MAX: usize = 32;

/// Keys between decisions to cut, as [`SyncOptions::range_block`](super::SyncOptions)
/// says by default.
pub(crate) const DEFAULT_BLOCK: usize = BLOCK;

/// The rows of `stores` under `prefix` ([`rows`]), cut into key ranges, at most `pieces`
/// listed at once, each listing deciding to cut after every `block` keys (see the
/// module docs); with `offsets_on_server`, the pieces of the first cut list at once
/// instead of waiting for one to show that the servers begin at offsets.
pub(crate) fn ranged_rows<'a>(
    stores: &[(&'static str, &'a dyn ObjectStore)],
    prefix: Option<&Path>,
    listed: &[Listed],
    pieces: usize,
    block: usize,
    offsets_on_server: bool,
) -> BoxStream<'a, Result<Row>> {
    if pieces < 2 {
        return rows_until(stores, prefix, None, listed, None);
    }
    let end = End::default();
    let head = rows_until(stores, prefix, None, listed, Some(&end));
    let keep = prefix.map_or(0, |p| p.as_ref().len() + 1);
    Ranged {
        stores: stores.to_vec(),
        prefix: prefix.cloned(),
        listed: listed.to_vec(),
        most: pieces,
        block: block.max(2),
        keep,
        running: vec![Piece::new(head, end, true)],
        next: 0,
        offsets: Arc::new(match offsets_on_server {
            true => OffsetsSeen::honoured(),
            false => OffsetsSeen::default(),
        }),
        probing: false,
    }
    .boxed()
}

/// One listing of the join: a key range.
struct Piece {
    rows: BoxStream<'static, Result<Row>>,
    /// Its last key (inclusive; none: to the end). Lowered when it cuts off what is left.
    until: End,
    /// The block being read: its first key, its keys so far, and their characters.
    first: Option<Path>,
    read: usize,
    alphabet: Alphabet,
    /// Whether its next cut is the head's first (spread over the whole key space).
    head: bool,
    /// An open piece's cuts ahead at once (doubling with every cut, as a scan's).
    ahead: usize,
    /// Where it starts (after; none: the head).
    start: Option<Path>,
    /// Cut before the offsets were known while another piece shows them: not listed yet.
    held: bool,
}

impl Piece {
    fn new(rows: BoxStream<'static, Result<Row>>, until: End, head: bool) -> Self {
        Self {
            rows,
            until,
            first: None,
            read: 0,
            alphabet: Alphabet::default(),
            head,
            ahead: AHEAD,
            start: None,
            held: false,
        }
    }
}

struct Ranged<'a> {
    stores: Vec<(&'static str, &'a dyn ObjectStore)>,
    prefix: Option<Path>,
    listed: Vec<Listed>,
    /// The most pieces listed at once.
    most: usize,
    block: usize,
    /// Bytes of the prefix listed, with its `/`: every cut keeps them.
    keep: usize,
    running: Vec<Piece>,
    /// The piece to poll first (they take turns).
    next: usize,
    /// Whether the server honours offsets, as a scan's listings find it: until a piece
    /// has shown it, one piece lists and the others cut wait ([`Piece::held`]); a server
    /// that ignores them lists every piece from the start, so the waiting pieces are then
    /// joined into one, and nothing is cut any more.
    offsets: Arc<OffsetsSeen>,
    /// A piece cut while the offsets were unknown lists (and shows them).
    probing: bool,
}

impl Ranged<'_> {
    /// The rows after `after` up to the end of the prefix (a piece's end is checked as
    /// its rows come).
    fn listing(&self, after: &Path, end: &End) -> BoxStream<'static, Result<Row>> {
        // From just before `after` (a store listing folder by folder would skip a folder
        // `after/` from `after` itself); what it gives up to `after` is the piece before's.
        let from = offset(after);
        let from_text = from.as_ref().to_string();
        let after = after.clone();
        let (offsets, block) = (Arc::clone(&self.offsets), self.block);
        let ended = Arc::clone(&self.offsets);
        let mut skipped = 0;
        rows_until(
            &self.stores,
            self.prefix.as_ref(),
            Some(&from),
            &self.listed,
            Some(end),
        )
        .try_skip_while(move |(key, _)| {
            let skip = key.as_ref() <= after.as_ref();
            skipped += usize::from(skip);
            // A key before where it was listed from: the server ignored the offset.
            let early = key.as_ref() < from_text.as_str();
            if early || skipped == block {
                offsets.found(Offsets::Ignored);
            } else if !skip {
                // Past its start without re-listing a block before it.
                offsets.found(Offsets::Honoured);
            }
            std::future::ready(Ok(skip))
        })
        // Ended without re-listing a block before its start (or with: it said so).
        .chain(futures::stream::poll_fn(move |_| {
            ended.found(Offsets::Honoured);
            Poll::Ready(None)
        }))
        .boxed()
    }

    /// Piece `i` has just joined `key`, the last of a block: cut what is left of it when
    /// fewer pieces run than allowed.
    fn cut(&mut self, i: usize, key: &Path) {
        // Pieces held for the offsets go once enough blocks were read (`settle`).
        self.offsets.block_read();
        let free = self.most.saturating_sub(self.running.len());
        let piece = &mut self.running[i];
        let first = piece.first.take();
        let alphabet = std::mem::take(&mut piece.alphabet);
        piece.read = 0;
        let cutting = free > 0 && self.offsets.get() != Offsets::Ignored;
        let Some(first) = first.filter(|_| cutting) else {
            return;
        };
        let (first, last) = (first.as_ref(), key.as_ref());
        // Cuts keep the folder the block's keys share (and the prefix listed), so a piece
        // never reaches outside what the block says about the keys.
        let folder = first[..common(first, last)]
            .rfind('/')
            .map_or(0, |slash| slash + 1);
        let keep = folder.max(self.keep);
        // The head's first cut spreads pieces over the whole key space the block suggests,
        // as many as the keys left are predicted to fill two blocks each (a small listing
        // goes on as one), at most as many as slots are free. Where the block tells
        // nothing from the folder on (keys sharing a long part: dates), it cuts as any
        // piece does, ahead at the block's pace.
        let predicted = match piece.head {
            true => blocks_to_end(keep, (first, last), self.block, alphabet),
            false => None,
        };
        if predicted.is_none() {
            piece.head = false;
        }
        let ends: Vec<Path> = if let Some(blocks) = predicted {
            let n = (free + 1).min(usize::try_from(blocks / 2).unwrap_or(usize::MAX));
            if n < 2 {
                return;
            }
            piece.head = false;
            let rest = Range {
                prefix: None,
                after: Some(key.clone()),
                until: None,
                ahead: AHEAD,
                seed: None,
            };
            pieces_after(keep, rest, (first, last), alphabet, n)
                .into_iter()
                .filter_map(|piece| piece.until)
                .collect()
        } else {
            let until = piece.until.get();
            let count = match until {
                Some(_) => free,
                None => free.min(piece.ahead),
            };
            let until = until.as_ref().map(|u| u.as_ref());
            cuts(keep, first, last, until, count, alphabet, false)
        };
        if ends.is_empty() {
            return;
        }
        let piece = &mut self.running[i];
        piece.ahead = (piece.ahead * 2).min(AHEAD_MAX);
        let ahead = piece.ahead;
        let tail = piece.until.get();
        piece.until.set(ends[0].clone());
        let unknown = self.offsets.holding();
        let mut pieces = Vec::with_capacity(ends.len());
        for (k, start) in ends.iter().enumerate() {
            let until = End::new(ends.get(k + 1).cloned().or_else(|| tail.clone()));
            let mut next = Piece::new(self.listing(start, &until), until, false);
            next.ahead = ahead;
            next.start = Some(start.clone());
            // While the offsets are unknown, one piece lists and shows them.
            next.held = unknown && (k > 0 || self.probing);
            pieces.push(next);
        }
        self.probing |= unknown;
        self.running.extend(pieces);
    }

    /// Let the held pieces go once the offsets are known: as they are (honoured), or
    /// joined where one ends where the next starts (ignored, or when no piece is left to
    /// tell), so a server listing every piece from the start lists those keys once per
    /// chain. Whether anything changed.
    fn settle(&mut self) -> bool {
        if !self.running.iter().any(|piece| piece.held) {
            return false;
        }
        let holding = self.offsets.holding();
        match self.offsets.get() {
            Offsets::Unknown if holding && self.running.iter().any(|piece| !piece.held) => {
                return false
            }
            Offsets::Unknown | Offsets::Honoured if !holding => {
                for piece in &mut self.running {
                    piece.held = false;
                }
                return true;
            }
            _ => {}
        }
        let (held, running): (Vec<Piece>, Vec<Piece>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|piece| piece.held);
        self.running = running;
        let held = held.into_iter().map(|piece| Range {
            prefix: None,
            after: piece.start,
            until: piece.until.get(),
            ahead: piece.ahead,
            seed: None,
        });
        let (chains, _) = join_chains(held.collect());
        for chain in chains {
            // Only the head has no start, and it is never held.
            let Some(start) = chain.after else { continue };
            let until = End::new(chain.until);
            let mut joined = Piece::new(self.listing(&start, &until), until, false);
            joined.ahead = chain.ahead;
            joined.start = Some(start);
            self.running.push(joined);
        }
        self.next = 0;
        true
    }

    /// Poll piece `i`: a row within it, or `None` when it is done (ended, or past its end).
    fn poll_piece(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<Option<Result<Row>>> {
        let piece = &mut self.running[i];
        let row = match piece.rows.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(row))) => row,
            other => return other,
        };
        if !piece.until.admits(row.0.as_ref()) {
            // Past its end: the next piece lists it.
            return Poll::Ready(None);
        }
        // Blocks count keys every store listed: each listing has read such a key in
        // order (and the key after it), which is what makes a cut after it safe for a
        // store that lists folder by folder (see `cuts`). A key one store lacks may lie
        // where another store's listing has not reached yet in its own order.
        if row.1.iter().all(Option::is_some) {
            let key = row.0.as_ref();
            let first = piece.first.get_or_insert_with(|| row.0.clone());
            let shared = common(first.as_ref(), key).max(self.keep);
            piece.alphabet.add_varying(key, shared);
            piece.read += 1;
            if piece.read >= self.block {
                let key = row.0.clone();
                self.cut(i, &key);
            }
        }
        Poll::Ready(Some(Ok(row)))
    }
}

impl futures::Stream for Ranged<'_> {
    type Item = Result<Row>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        // Each piece in turn, from the one after the last to give a row, so none waits
        // on another; a piece that is done leaves. Pending only once every piece left
        // has been polled since the last one left (so each will wake this).
        let mut i = this.next;
        let mut pending = 0;
        loop {
            if this.settle() {
                pending = 0;
            }
            if this.running.is_empty() {
                return Poll::Ready(None);
            }
            let listing = this.running.iter().filter(|piece| !piece.held).count();
            if pending == listing {
                return Poll::Pending;
            }
            i %= this.running.len();
            if this.running[i].held {
                i += 1;
                continue;
            }
            match this.poll_piece(i, cx) {
                Poll::Ready(Some(item)) => {
                    this.next = i + 1;
                    return Poll::Ready(Some(item));
                }
                Poll::Ready(None) => {
                    this.running.swap_remove(i);
                    pending = 0;
                }
                Poll::Pending => {
                    pending += 1;
                    i += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::fault::{Fault, FaultyStore, Op};
    use crate::sync::{rows, sync, verify, DeleteLimit, SyncOptions};
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
            on_server in any::<bool>(),
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
                    ranged_rows(&stores, prefix.as_ref(), &[], pieces, block, on_server)
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
                    .with_key_ranges(true)
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
        let stale = |n: u64| names(n).into_keys().map(|k| (k, 2)).collect();
        for (n, cut) in [(300, true), (15, false)] {
            let a = FaultyStore::new(store(&names(n)).await);
            // A stale copy of every key: a block counts keys both stores list.
            let b = FaultyStore::new(store(&stale(n)).await);
            let options = SyncOptions::default()
                .with_key_ranges(true)
                .with_concurrency(8)
                .with_range_block(20);
            let report = sync(&a, &b, &options).await.unwrap();
            let (la, lb) = (a.calls(Op::List), b.calls(Op::List));
            assert_eq!(report.copied, n);
            assert_eq!(contents(&b).await, contents(&a).await);
            match cut {
                true => assert!(la > 2 && lb > 2, "{la} {lb} listings"),
                false => assert_eq!((la, lb), (1, 1)),
            }
        }
    }

    /// Date-like names: the head's first cut spreads pieces up to `9` twice, so nearly
    /// every key falls in its first piece, which cuts itself again as the empty pieces
    /// end: many listings, not two, and the copy is exact.
    #[tokio::test]
    async fn a_misjudged_first_cut_is_cut_again() {
        let names: BTreeMap<String, usize> = (0..2000)
            .map(|i| (format!("logs/2026-12-{:02}T{:04}", i / 100 + 1, i % 100), 1))
            .collect();
        let a = FaultyStore::new(store(&names).await);
        let stale: BTreeMap<String, usize> = names.keys().map(|k| (k.clone(), 2)).collect();
        let b = store(&stale).await;
        let options = SyncOptions::default()
            .with_key_ranges(true)
            .with_concurrency(8)
            .with_range_block(50);
        let report = sync(&a, b.as_ref(), &options).await.unwrap();
        let listings = a.calls(Op::List);
        assert_eq!(report.copied, 2000);
        assert_eq!(contents(b.as_ref()).await, contents(&a).await);
        assert!(listings > 8, "{listings} listings");
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
            .with_key_ranges(true)
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
