//! Adversarial tests, second round, of key ranges after c6f6914 (the head's first cut
//! sized by `blocks_to_end`), ed6c6d2 (a piece's `End` shared with its listings),
//! 8faa70e (the scan's open range sized the same way) and bcfc856 (the merge reads a
//! page ahead per input).

mod common;

use common::rng;

use common::{filled_sized, sizes, sync_wrong, verify_truth, Relisted};
use futures::stream::{self, StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use stratus::inventory::{scan, ScanOptions};
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::sync::{sync, verify, DeleteLimit, SyncOptions, VerifyReport};

const LIMIT: Duration = Duration::from_secs(60);

fn valid(key: &str) -> bool {
    Path::parse(key).is_ok_and(|p| p.as_ref() == key)
}

type Objects = Vec<(String, usize)>;

fn counts(r: &VerifyReport) -> (u64, u64, u64, u64) {
    (r.same, r.missing_in_a, r.missing_in_b, r.differing)
}

fn options(concurrency: usize, block: usize) -> SyncOptions {
    SyncOptions::default()
        .with_key_ranges(true)
        .with_concurrency(concurrency)
        .with_range_block(block)
}

async fn timed<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: hung for {LIMIT:?}"))
}

/// In byte order, as the store lists (a wrapper only so both kinds have one type).
fn byte_order(inner: Arc<InMemory>) -> Relisted {
    Relisted::with(inner, "byte order", |inner, prefix, after| match after {
        Some(after) => inner.list_with_offset(prefix, after),
        None => inner.list(prefix),
    })
}

/// A store listing as `kind` says: 0 byte order, 1 folder by folder, 2 pages of `page`
/// keys (S3-like, each page a new request), 3 ignoring the offset, 4 starting a few keys
/// early.
fn lister(kind: u8, inner: Arc<InMemory>, page: usize) -> Relisted {
    match kind {
        0 => byte_order(inner),
        1 => Relisted::folder_order(inner),
        2 => Relisted::paged(inner, page),
        3 => Relisted::with(inner, "ignores offset", |inner, prefix, _| {
            inner.list(prefix)
        }),
        _ => Relisted::with(inner, "early", move |inner, prefix, after| {
            let Some(after) = after.cloned() else {
                return inner.list(prefix);
            };
            let (inner, prefix) = (Arc::clone(inner), prefix.cloned());
            stream::once(async move {
                let mut all: Vec<ObjectMeta> =
                    inner.list(prefix.as_ref()).try_collect().await.unwrap();
                let at = all.partition_point(|m| m.location.as_ref() < after.as_ref());
                stream::iter(all.split_off(at.saturating_sub(page)).into_iter().map(Ok))
            })
            .flatten()
            .boxed()
        }),
    }
}

/// Keys from a small set of characters around the ones cuts care about, mixed with a
/// flat folder of hex names (so that the head's first cut is sized and spread).
fn fuzz_keys(next: &mut impl FnMut() -> u64, n: usize) -> Vec<String> {
    let chars = [
        ' ',
        '!',
        '+',
        '-',
        '.',
        '/',
        '0',
        '1',
        '9',
        'a',
        'b',
        'f',
        'z',
        '~',
        'é',
        '日',
        '\u{80}',
        '\u{10FFFF}',
    ];
    let stems = [
        "", "a", "a/", "a+", "a-", "a.", "a/b", "f/", "f", "f0", "f/0",
    ];
    let flat = next() % 3;
    let mut out: Vec<String> = (0..n)
        .map(|_| match next() % 4 {
            0 | 1 if flat > 0 => format!("f/{:0w$x}", next() % 65536, w = 4),
            _ => {
                let mut key = stems[(next() % stems.len() as u64) as usize].to_string();
                for _ in 0..=next() % 4 {
                    key.push(chars[(next() % chars.len() as u64) as usize]);
                }
                key
            }
        })
        .filter(|k| valid(k))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One fuzz case of `sync --delete` and `verify` over key ranges, stores in the orders
/// given: an error, or the truth. Returns a description of a wrong result.
async fn fuzz_case(seed: u64, src_kind: u8, dst_kind: u8) -> Option<String> {
    let mut next = rng(seed);
    let n = 20 + (next() % 300) as usize;
    let keys = fuzz_keys(&mut next, n);
    let conc = [2usize, 3, 5, 8, 32][(next() % 5) as usize];
    let block = 2 + (next() % 20) as usize;
    let mut src: Objects = Vec::new();
    let mut dst: Objects = Vec::new();
    for key in &keys {
        match next() % 4 {
            0 => src.push((key.clone(), 1)),
            1 => dst.push((key.clone(), 2)),
            2 => {
                src.push((key.clone(), 1));
                dst.push((key.clone(), 1));
            }
            _ => {
                src.push((key.clone(), 1));
                dst.push((key.clone(), 3));
            }
        }
    }
    let page = 1 + (next() % 7) as usize;
    let make = |kind: u8, inner: Arc<InMemory>| lister(kind, inner, page);
    let prefix = ["", "a", "f", "f/0"][(next() % 4) as usize];
    let what = format!(
        "seed {seed} src {src_kind} dst {dst_kind} conc {conc} block {block} page {page} prefix {prefix:?} keys {}",
        keys.len()
    );
    let mut opts = options(conc, block);
    if !prefix.is_empty() {
        opts = opts.with_prefix(Path::from(prefix));
    }
    let truth = verify_truth(&src, &dst, prefix);
    let a = make(src_kind, filled_sized(&src).await);
    let b = make(dst_kind, filled_sized(&dst).await);
    if let Ok(found) = timed(&what, verify(&a, &b, &opts)).await {
        if counts(&found) != truth {
            return Some(format!(
                "{what}: verify {:?}, truth {truth:?}",
                counts(&found)
            ));
        }
    }
    // sync --delete.
    let source = make(src_kind, filled_sized(&src).await);
    let dest = make(dst_kind, filled_sized(&dst).await);
    let opts = opts
        .with_delete(true)
        .with_max_delete(DeleteLimit::Unlimited);
    let result = timed(&what, sync(&source, &dest, &opts)).await;
    let left = sizes(&dest).await;
    sync_wrong(&src, &dst, prefix, &left, result.is_ok())
        .map(|wrong| format!("{what}: {wrong} ({result:?})"))
}

/// HELD. Random keys around the bytes cuts care about (` !+-./019abfz~`, `é`, `日`,
/// U+0080, U+10FFFF, keys that are prefixes of others, folders beside names), a flat hex
/// folder beside them so that the head's first cut is sized and spread, a prefix or none,
/// blocks 2 to 21, concurrency 2 to 32; source and destination each listing in byte
/// order, folder by folder (SeaweedFS), in S3-like pages, ignoring the offset, or
/// starting a few keys early. `verify` is the truth or an error; `sync --delete` never
/// deletes a key the source has and, when it succeeds, leaves the destination the
/// source. 60 seeds by default (4 store pairs each); `FUZZ_CASES` and `FUZZ_SEED` for
/// more (5,000 seeds, 20,000 cases, found nothing).
#[tokio::test]
async fn fuzz_sync_and_verify() {
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let base: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut wrong = Vec::new();
    for seed in base..base + cases {
        let mut pick = rng(seed ^ 0x55);
        for _ in 0..4 {
            let (sf, df) = ((pick() % 5) as u8, (pick() % 5) as u8);
            if let Some(w) = fuzz_case(seed, sf, df).await {
                eprintln!("{w}");
                wrong.push(w);
            }
        }
        if wrong.len() > 5 {
            break;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// HELD. A scan over key ranges (whole, or split into 2 or 3 parts merged), discovery
/// depth 0 or 3, of the keys of [`fuzz_sync_and_verify`] (up to 3,500, so that a flat
/// folder's probe hands over a range whose first cut is sized) from a store listing as
/// [`lister`] says, with or without a prefix: the plain count and bytes, or (folder by
/// folder) an error saying the order is wrong. 15 seeds by default; `FUZZ_CASES` for
/// more (1,200 seeds found nothing).
#[tokio::test]
async fn fuzz_scan() {
    let cases: u64 = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let base: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut wrong = Vec::new();
    for seed in base..base + cases {
        let mut next = rng(seed);
        let n = match next() % 3 {
            0 => 20 + (next() % 400) as usize,
            _ => 1000 + (next() % 2500) as usize,
        };
        let keys = fuzz_keys(&mut next, n);
        let conc = [2usize, 3, 5, 8, 32][(next() % 5) as usize];
        let block = [2, 3, 7, 20, 100, 1000][(next() % 6) as usize];
        let parts = [1usize, 1, 2, 3][(next() % 4) as usize];
        let kind = (next() % 5) as u8;
        let page = 1 + (next() % 7) as usize;
        let prefix = [None, Some("f"), Some("a")][(next() % 3) as usize].map(Path::from);
        let objects: Objects = keys.iter().map(|k| (k.clone(), k.len())).collect();
        let inner = filled_sized(&objects).await;
        let plain = scan(inner.as_ref(), prefix.as_ref(), &scan_options(1, block))
            .await
            .unwrap();
        let store = lister(kind, Arc::clone(&inner), page);
        for depth in [0usize, 3] {
            let what = format!(
                "seed {seed} kind {kind} depth {depth} conc {conc} block {block} parts {parts} prefix {prefix:?} keys {}",
                keys.len()
            );
            let mut merged: Option<stratus::inventory::Report> = None;
            let mut failed = None;
            for k in 1..=parts {
                let opts = scan_options(conc, block)
                    .with_discovery_depth(depth)
                    .with_part(k, parts);
                match timed(&what, scan(&store, prefix.as_ref(), &opts)).await {
                    Ok(r) => match merged.as_mut() {
                        None => merged = Some(r),
                        Some(m) => m.merge(r).unwrap(),
                    },
                    Err(e) => {
                        failed = Some(e.to_string());
                        break;
                    }
                }
            }
            match (failed, merged) {
                (Some(e), _) => {
                    if kind != 1 || !e.contains("not in byte order") {
                        wrong.push(format!("{what}: {e}"));
                    }
                }
                (None, Some(mut r)) => {
                    r.parts.take();
                    r.finish();
                    if (r.objects, r.bytes) != (plain.objects, plain.bytes) {
                        wrong.push(format!(
                            "{what}: {} objects {} bytes, plain {} {}",
                            r.objects, r.bytes, plain.objects, plain.bytes
                        ));
                    }
                }
                _ => unreachable!(),
            }
        }
        if wrong.len() > 5 {
            break;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

fn scan_options(concurrency: usize, block: usize) -> ScanOptions {
    ScanOptions::default()
        .with_depth(3)
        .with_prefix_limit(40)
        .with_top(5)
        .with_concurrency(concurrency)
        .with_range_block(block)
        .with_as_of(chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap())
}

// ---------------------------------------------------------------------------------------
// Findings. Each test below failed at the commit under review (all are fixed now); each
// doc comment says what it shows, what it measured, and what the commit before the
// change measured.
// ---------------------------------------------------------------------------------------

/// A store that counts what it lists: its listings (calls) and the entries they give.
fn counting(inner: Arc<InMemory>, calls: Arc<AtomicU64>, entries: Arc<AtomicU64>) -> Relisted {
    Relisted::with(inner, "counting", move |inner, prefix, after| {
        calls.fetch_add(1, Ordering::Relaxed);
        let entries = Arc::clone(&entries);
        let listing = match after {
            Some(after) => inner.list_with_offset(prefix, after),
            None => inner.list(prefix),
        };
        listing
            .inspect(move |_| {
                entries.fetch_add(1, Ordering::Relaxed);
            })
            .boxed()
    })
}

/// A server that ignores the offset (lists from the prefix's first key), counting the
/// entries it gives.
fn ignores_offset(inner: Arc<InMemory>, given: Arc<AtomicU64>) -> Relisted {
    Relisted::with(inner, "ignoring the offset", move |inner, prefix, _| {
        let given = Arc::clone(&given);
        inner
            .list(prefix)
            .inspect(move |_| {
                given.fetch_add(1, Ordering::Relaxed);
            })
            .boxed()
    })
}

/// `n` hashed names in `folder`, sorted.
fn hashed(folder: &str, n: usize, seed: u64) -> Vec<String> {
    let mut next = rng(seed);
    let mut keys: Vec<String> = (0..n)
        .map(|_| format!("{folder}/{:016x}.jpg", next()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// FINDING (8faa70e, requests): a small flat folder of sequential names (3,000 keys,
/// three pages) is cut by its range's first cut into every free slot. The block of
/// `seq/00000000` to `seq/00000999` uses few of the values its characters could spell
/// (counters), so `blocks_to_end` predicts billions of blocks and `first_cut` spreads the
/// rest over `min(slots, blocks / PAGES)` = every slot, nearly all of them past the last
/// key: one LIST request each. Measured: concurrency 64, 66 listings; 1,000, 993
/// listings (2.9 s against 0.02 s); 5,000, 4,210. At 9f704a5 (just before): 7 listings
/// at every concurrency. (With concurrency 100,000 the child process ran out of memory
/// under an 8 GB limit: every slot became a listing.) The module doc promises "a small
/// listing is not cut". At fault: src/inventory/mod.rs `Cutting::after`, the
/// `(true, Some(n))` arm sized by `blocks_to_end` (lines 694-707) with `want =
/// usize::MAX` for a first cut (679-685); src/inventory/ranges.rs `blocks_to_end` (394).
/// Fixed: a block whose keys fill their span (a counter) predicts nothing, so the first
/// cut goes ahead at the block's pace; and a first cut takes at most `AHEAD_MAX` slots.
#[tokio::test]
async fn a_small_folder_of_sequential_names_is_not_cut_into_every_slot() {
    let keys: Vec<String> = (0..3000).map(|i| format!("seq/{i:08}")).collect();
    let objects: Objects = keys.iter().map(|k| (k.clone(), 1)).collect();
    let (calls, entries) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let store = counting(filled_sized(&objects).await, Arc::clone(&calls), entries);
    let report = scan(&store, None, &scan_options(1000, 1000)).await.unwrap();
    assert_eq!(report.objects, 3000);
    let listings = calls.load(Ordering::Relaxed);
    eprintln!("{listings} listings for 3,000 sequential names at concurrency 1,000");
    assert!(
        listings <= 20,
        "{listings} listings for a folder of three pages (7 before 8faa70e)"
    );
}

/// FINDING (8faa70e, requests): a server that ignores the offset lists every piece from
/// the prefix's first key; the scan stops cutting once a piece has skipped a block
/// (`Cutter::offsets`), which kept the cost near one listing while the first cut was
/// four pieces. The sized first cut makes every free slot a piece before any of them has
/// started, each re-listing the subtree up to its start. A flat folder found by
/// discovery is handed over from an offset (the skip is seen first); a subtree below the
/// discovery depth (`t/a/b/c/`, depth 3) is listed whole, with no offset, and is cut at
/// once. 20,000 keys, blocks of 100: concurrency 8, 163,003 keys listed (8x); 64,
/// 1,260,511 (63x). At 9f704a5: 26,585 at both. tests/key_ranges.rs pins 3x for a flat
/// folder at concurrency 8. At fault: src/inventory/mod.rs `Cutting::after`, the first
/// cut taking every slot (679-685 and 694-707) before `offsets` can be cleared (795).
/// Fixed: the first cut spreads only once a piece has shown that offsets work; until
/// then one piece lists and the others are held, and joined into one listing if the
/// server ignores offsets.
#[tokio::test]
async fn a_deep_subtree_from_a_server_ignoring_offsets_is_listed_about_once() {
    let keys = hashed("t/a/b/c", 20_000, 11);
    let objects: Objects = keys.iter().map(|k| (k.clone(), 1)).collect();
    let given = Arc::new(AtomicU64::new(0));
    let store = ignores_offset(filled_sized(&objects).await, Arc::clone(&given));
    let report = scan(&store, None, &scan_options(64, 100)).await.unwrap();
    assert_eq!(report.objects, keys.len() as u64);
    let listed = given.load(Ordering::Relaxed);
    let n = keys.len() as u64;
    eprintln!("{listed} keys listed for {n} at concurrency 64");
    assert!(
        listed <= 3 * n,
        "{listed} keys listed for {n} (26,585 before 8faa70e)"
    );
}

/// FINDING (bcfc856, a sync aborted): the merge's read-ahead polls every input whenever
/// it refills one (`State::read` fills all), so after it hands out an entry another
/// input is left part-way through its next entry; a listing under a per-entry deadline
/// (a replicated store's `member_timeout`, a store's `deadline` layer: `timed`) keeps
/// that deadline running while nobody polls it. A sync whose copies take longer than the
/// deadline (here concurrency 1 and 300 ms puts; in life, large objects and
/// `member_timeout_ms = 2000` or `deadline = "60s"`) then finds the source listing
/// "timed out" though its member answered every step in 5 ms, and aborts: "member
/// "one": no answer within the member timeout (200ms)". At 7eae5b2 (just before) the
/// same sync copies all six keys: an input's entry was awaited from its first poll to
/// its end. At fault: src/merge.rs `State::read` / `Input::fill` (61-106) polling inputs
/// the merge does not wait for. (`differences` read by a slow consumer fails the same way
/// both before and after: its `.buffered()` leaves the listing part-way; not new.)
/// Fixed: the merge reads an input only for the entry it waits for; the join reads each
/// store through `merge::read_ahead`, a task that polls an entry under way to its end.
#[tokio::test]
async fn a_slow_destination_does_not_time_out_the_source_listing() {
    let objects: Objects = (0..6).map(|i| (format!("k/{i:02}"), 1)).collect();
    let member: Arc<dyn ObjectStore> = Arc::new(Relisted::stepwise(filled_sized(&objects).await));
    let source = stratus::replicate::ReplicatedStore::new([("one".to_string(), member)])
        .unwrap()
        .with_member_timeout(Duration::from_millis(200));
    let inner = Arc::new(InMemory::new());
    let dest = FaultyStore::new(inner.clone());
    dest.inject(Fault::delay(Op::Put, Duration::from_millis(300)));
    let opts = SyncOptions::default().with_concurrency(1);
    let report = sync(&source, &dest, &opts)
        .await
        .unwrap_or_else(|e| panic!("the sync failed: {e}"));
    assert_eq!(report.copied, objects.len() as u64);
    assert_eq!(sizes(inner.as_ref()).await.len(), objects.len());
}

/// `differences` read by a slow consumer: its `.buffered()` reads rows ahead, and the
/// listing under them used to be left part-way through an entry while the consumer was
/// busy (the same false timeout, older than bcfc856). The join's listings are now read
/// by tasks of their own (`merge::read_ahead`), so a slow reader of `differences` does
/// not time out a member that answers every step in 5 ms.
#[tokio::test]
async fn differences_read_slowly_do_not_time_out_the_source_listing() {
    let objects: Objects = (0..6).map(|i| (format!("k/{i:02}"), 1)).collect();
    let member: Arc<dyn ObjectStore> = Arc::new(Relisted::stepwise(filled_sized(&objects).await));
    let source = stratus::replicate::ReplicatedStore::new([("one".to_string(), member)])
        .unwrap()
        .with_member_timeout(Duration::from_millis(200));
    let empty = InMemory::new();
    let opts = SyncOptions::default().with_concurrency(4);
    let mut found = 0;
    let mut differences = stratus::sync::differences(&source, &empty, &opts);
    while let Some(difference) = differences.next().await {
        assert!(difference.expect("no false timeout").is_some());
        found += 1;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert_eq!(found, objects.len());
}

/// FINDING (bcfc856 with ed6c6d2, memory and requests): `SyncOptions::key_ranges` says
/// memory holds "up to a page per store and piece", and ed6c6d2 that "the merge's
/// read-ahead never requests a page past a piece's end". Both hold for a plain store
/// (34,094 entries listed when 3,032 keys were handled, 32 pieces). For a sharded store
/// they do not: its `list_with_offset` is a merge of every member's `list_after` (itself
/// a merge), and each of those merges reads 1,000 entries ahead per input, under the
/// piece's `End` (which only stops the outer listing). A ranged sync (concurrency 32)
/// from an 8-member sharded store of 30,000 keys, the destination stalled after 3,000
/// copies: every piece's listings read up to ~2,000 entries per member past their end,
/// so 180,404 entries were listed (held, or requested and dropped) for 3,032 keys
/// handled, six times the whole listing; the bound grows with members (pieces x members
/// x 2 x 1,000: 512,000 entries for 8 members, ~100 MB). At 7eae5b2 (one entry per
/// input) this test passes (with 60,000 keys: 3,664 entries listed for 3,032 handled;
/// now 456,918). At
/// fault: src/merge.rs `AHEAD` read by every nested merge (49, 61-106), with
/// src/shard/store.rs `list_with_offset` (732-741) and src/merge.rs `list_after`
/// (251-262) outside the reach of src/sync/ranges.rs `End`. Fixed: composites' merges
/// read nothing ahead; only the join's `read_ahead` does, a page per store and piece,
/// stopped at the piece's end.
#[tokio::test]
async fn a_ranged_sync_from_a_sharded_store_holds_a_page_per_store_and_piece() {
    use stratus::shard::{Member, Rendezvous, ShardedStore};
    let members = 8;
    let (calls, listed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stores: Vec<(String, Arc<dyn ObjectStore>)> = (0..members)
        .map(|i| {
            let member = counting(Arc::new(InMemory::new()), calls.clone(), listed.clone());
            let member: Arc<dyn ObjectStore> = Arc::new(member);
            (format!("m{i}"), member)
        })
        .collect();
    let placement = Rendezvous::new((0..members).map(|i| Member::new(format!("m{i}")))).unwrap();
    let source = ShardedStore::new(placement, stores).unwrap();
    let keys = hashed("uploads", 30_000, 5);
    for key in &keys {
        source
            .put(&Path::parse(key).unwrap(), vec![1u8].into())
            .await
            .unwrap();
    }
    let stale: Objects = keys.iter().map(|k| (k.clone(), 2)).collect();
    // Puts after the first 3,000 never finish.
    let dest = FaultyStore::new(filled_sized(&stale).await);
    dest.inject(Fault::delay(Op::Put, Duration::from_secs(86_400)).after(3000));
    listed.store(0, Ordering::Relaxed);
    let pieces = 32;
    let opts = options(pieces, 1000);
    // The sync stalls once 3,000 copies are under way: what its listings read by then.
    let stalled = tokio::time::timeout(Duration::from_secs(3), sync(&source, &dest, &opts)).await;
    assert!(stalled.is_err(), "the destination stalls the sync");
    let handled = dest.calls(Op::Put);
    let ahead = listed.load(Ordering::Relaxed).saturating_sub(handled);
    // A page per store and piece (the source's share: one store), and a page of slack.
    let bound = (pieces as u64 + 1) * 1000;
    assert!(
        ahead <= bound,
        "{ahead} entries of the source listed ahead of {handled} keys handled (at most \
         {bound}: a page per piece; 3,664 listed in all before bcfc856)"
    );
}

/// As the scan above, for a ranged `verify`: the head's first cut spreads up to 32 pieces
/// over the key space the block spells, and a server ignoring offsets would list every
/// key before each piece's start once per piece. Pieces cut before one has shown that
/// the server honours offsets wait, and are joined into one listing if it does not.
#[tokio::test]
async fn a_ranged_verify_from_a_server_ignoring_offsets_lists_about_once() {
    let keys = hashed("u", 20_000, 12);
    let objects: Objects = keys.iter().map(|k| (k.clone(), 1)).collect();
    let given = Arc::new(AtomicU64::new(0));
    let a = ignores_offset(filled_sized(&objects).await, Arc::clone(&given));
    let b = filled_sized(&objects).await;
    let report = timed("verify", verify(&a, b.as_ref(), &options(32, 1000)))
        .await
        .unwrap();
    assert_eq!(counts(&report), (keys.len() as u64, 0, 0, 0));
    let listed = given.load(Ordering::Relaxed);
    let n = keys.len() as u64;
    eprintln!("{listed} keys listed for {n}");
    assert!(listed <= 4 * n, "{listed} keys listed for {n}");
}
