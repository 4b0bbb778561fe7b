//! Adversarial tests of `sync` / `verify` over key ranges (`SyncOptions::key_ranges`):
//! every key joined once, the same result as a plain join, no source key deleted, errors
//! instead of wrong results, delete limits, dry runs, no hang, bounded listings. Written
//! by a review that tried to break them (27 tests; 4 failed on the first version).
//!
//! What the review broke, and the fixes:
//! - a store listing folder by folder (SeaweedFS without its flavor) gave a wrong
//!   `verify` and a silently short `sync` (`a_folder_by_folder_source_*`): the join was cut
//!   after a key only the *other* store had listed, where the folder-by-folder listing had
//!   not reached yet in its own order; its keys between the two orders were in no piece.
//!   Now a block counts only keys every store listed (each listing has read them in
//!   order, as a scan's cuts require), and a piece's end applies after the order check.
//! - a listing out of order past a piece's end is in no piece and no order check reads it
//!   (`an_offset_listing_out_of_order_past_a_pieces_end`): not fixable inside a piece, so
//!   key ranges are off by default and need listings in byte order (the command turns
//!   them on per `Config::key_ranges`).
//! - `differences` promised key order and came out of it (`differences_come_in_key_order`):
//!   it is one join whatever the options.

mod common;

use common::{filled_sized, sizes, Relisted};
use futures::stream::{self, StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::sync::{
    differences, sync, verify, Backup, DeleteLimit, Difference, SyncOptions, SyncReport,
    VerifyReport,
};

const LIMIT: Duration = Duration::from_secs(60);

fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

fn valid(key: &str) -> bool {
    Path::parse(key).is_ok_and(|p| p.as_ref() == key)
}

/// `n` keys of one shape (sorted, unique, valid).
fn shaped(shape: u8, n: usize, seed: u64) -> Vec<String> {
    let mut next = rng(seed);
    let odd = [
        "a", "a-", "a.", "a ", "a0", "a-b", "a.b", "a b", "ab", "a~", "a!",
    ];
    let uni = [
        'é', '日', '本', '😀', 'a', 'z', '0', '~', '-', '.', ' ', 'ü',
    ];
    let mut out: Vec<String> = (0..n)
        .map(|i| match shape {
            // Flat hex names.
            0 => format!("h/{:08x}", next() as u32),
            // Names beside folders of the same stem, with bytes below `/`.
            1 => {
                let mut key = String::new();
                for _ in 0..=next() % 3 {
                    key.push_str(odd[(next() % odd.len() as u64) as usize]);
                    key.push('/');
                }
                key.push_str(odd[(next() % odd.len() as u64) as usize]);
                key.push_str(&format!("{}", next() % 50));
                key
            }
            // Non-ASCII names in one folder.
            2 => {
                let len = 1 + next() % 8;
                let name: String = (0..len)
                    .map(|_| uni[(next() % uni.len() as u64) as usize])
                    .collect();
                format!("u/{name}")
            }
            // A long shared part.
            3 => format!("p/{}/{:06}", "x".repeat(40), next() % 1_000_000),
            // Dates.
            4 => format!("d/2026-01-{:02}T{:04}", i / 100 + 1, i % 100),
            // Unpadded counters (uneven spread).
            5 => format!("n/{}", next() % 100_000),
            // Everything at the top, hex and odd names mixed.
            _ => match next() % 3 {
                0 => format!("{:06x}", next() as u32 & 0xff_ffff),
                1 => format!("{}-{}", odd[(next() % odd.len() as u64) as usize], i),
                _ => format!("{:x}/{}", next() % 16, i),
            },
        })
        .filter(|k| valid(k))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn hash(key: &str, salt: u64) -> u64 {
    key.bytes().fold(salt ^ 0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// A source and a destination from `keys`: a third only in each, a third in both, some
/// of those with another size.
/// Keys with their sizes.
type Objects = Vec<(String, usize)>;

fn split(keys: &[String], seed: u64) -> (Objects, Objects) {
    let (mut src, mut dst) = (Vec::new(), Vec::new());
    for key in keys {
        let h = hash(key, seed);
        let size = (h % 5) as usize;
        match h % 3 {
            0 => src.push((key.clone(), size)),
            1 => dst.push((key.clone(), size)),
            _ => {
                src.push((key.clone(), size));
                dst.push((key.clone(), size + (h / 3 % 2) as usize));
            }
        }
    }
    (src, dst)
}

fn counts(r: &VerifyReport) -> (u64, u64, u64, u64) {
    (r.same, r.missing_in_a, r.missing_in_b, r.differing)
}

fn sync_counts(r: &SyncReport) -> (u64, u64, u64, u64, u64, u64) {
    (
        r.copied,
        r.skipped,
        r.deleted,
        r.failed,
        r.bytes,
        r.backed_up,
    )
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

/// `verify` over key ranges counts what a plain one counts, and each key of the union
/// once.
async fn check_verify(a: &dyn ObjectStore, b: &dyn ObjectStore, opts: &SyncOptions, what: &str) {
    let ranged = timed(what, verify(a, b, opts)).await.unwrap();
    let plain = verify(a, b, &opts.clone().with_key_ranges(false))
        .await
        .unwrap();
    assert_eq!(counts(&ranged), counts(&plain), "{what}");
    let union: BTreeSet<String> = sizes(a)
        .await
        .into_keys()
        .chain(sizes(b).await.into_keys())
        .filter(|k| {
            opts.prefix
                .as_ref()
                .filter(|p| !p.as_ref().is_empty())
                .is_none_or(|p| k.starts_with(&format!("{}/", p.as_ref())))
        })
        .collect();
    let (s, ma, mb, d) = counts(&ranged);
    assert_eq!(s + ma + mb + d, union.len() as u64, "{what}: keys joined");
}

/// `sync` over key ranges onto one copy of `dst` and a plain one onto another: the same
/// counts, the same destination; with `delete` and no prefix, the source.
async fn check_sync(
    src: &[(String, usize)],
    dst: &[(String, usize)],
    opts: &SyncOptions,
    what: &str,
) {
    let source = filled_sized(src).await;
    let (rd, pd) = (filled_sized(dst).await, filled_sized(dst).await);
    let ranged = timed(what, sync(source.as_ref(), rd.as_ref(), opts)).await;
    let plain = sync(
        source.as_ref(),
        pd.as_ref(),
        &opts.clone().with_key_ranges(false),
    )
    .await;
    match (ranged, plain) {
        (Ok(r), Ok(p)) => {
            assert_eq!(sync_counts(&r), sync_counts(&p), "{what}");
            assert_eq!(sizes(rd.as_ref()).await, sizes(pd.as_ref()).await, "{what}");
            if opts.delete && opts.prefix.is_none() && !opts.dry_run {
                assert_eq!(
                    sizes(rd.as_ref()).await,
                    sizes(source.as_ref()).await,
                    "{what}"
                );
            }
        }
        (r, p) => {
            let r = r.map(|r| sync_counts(&r)).map_err(|e| e.to_string());
            let p = p.map(|p| sync_counts(&p)).map_err(|e| e.to_string());
            assert_eq!(r.is_ok(), p.is_ok(), "{what}: ranged {r:?}, plain {p:?}");
        }
    }
}

/// Every key shape (folders beside names with bytes below `/`, non-ASCII, long shared
/// parts, dates, unpadded counters), blocks 2, 3, 7 and 50, concurrency 2, 3, 33 and
/// 100: `verify` and `sync --delete` over key ranges equal plain ones, each key once.
#[tokio::test]
async fn every_shape_block_and_concurrency_is_exact() {
    for shape in 0..7u8 {
        let keys = shaped(shape, 300, 11 + shape as u64);
        let (src, dst) = split(&keys, shape as u64);
        let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
        for block in [2, 3, 7, 50] {
            for conc in [2, 3, 33, 100] {
                let what = format!("shape {shape} block {block} concurrency {conc}");
                let opts = options(conc, block)
                    .with_delete(true)
                    .with_max_delete(DeleteLimit::Unlimited);
                check_verify(a.as_ref(), b.as_ref(), &opts, &what).await;
                check_sync(&src, &dst, &opts, &what).await;
            }
        }
    }
}

/// As [`every_shape_block_and_concurrency_is_exact`] on a multi-threaded runtime, larger
/// key sets, the default block of 1,000 and a smaller one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_key_sets_on_two_threads_are_exact() {
    for shape in [0u8, 1, 2, 5, 6] {
        let keys = shaped(shape, 5000, 99 + shape as u64);
        let (src, dst) = split(&keys, 5 + shape as u64);
        let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
        for (conc, block) in [(16, 1000), (32, 100), (7, 37)] {
            let what = format!("shape {shape} block {block} concurrency {conc}");
            let opts = options(conc, block)
                .with_delete(true)
                .with_max_delete(DeleteLimit::Unlimited);
            check_verify(a.as_ref(), b.as_ref(), &opts, &what).await;
            check_sync(&src, &dst, &opts, &what).await;
        }
    }
}

/// The store as is, recording the offsets its listings are asked for.
fn recording(inner: Arc<dyn ObjectStore>, offsets: Arc<Mutex<Vec<Path>>>) -> Relisted {
    Relisted::with(
        inner,
        "recording",
        move |inner, prefix, offset| match offset {
            Some(o) => {
                offsets.lock().unwrap().push(o.clone());
                inner.list_with_offset(prefix, o)
            }
            None => inner.list(prefix),
        },
    )
}

/// The cut a piece's offset was made from (`offset()` lowers the last character by one
/// and adds `~`; `.` stands for a lowered `0`).
fn cut_of(offset: &str) -> String {
    let Some(stem) = offset.strip_suffix('~') else {
        return offset.to_string();
    };
    let mut chars: Vec<char> = stem.chars().collect();
    match chars.pop() {
        Some('.') => chars.push('0'),
        Some(c) => chars.push(char::from_u32(c as u32 + 1).unwrap_or(c)),
        None => return offset.to_string(),
    }
    chars.into_iter().collect()
}

/// Keys exactly at every cut point a first run used, and keys just below and just above
/// them (`cut0`, `cut-`, `cut.`, `cut `, `cut/x`, `cut~`, the offset itself, the stem
/// before the cut), in the source only, the destination only and both: joined once each,
/// as a plain join.
#[tokio::test]
async fn keys_at_and_around_every_cut_are_joined_once() {
    for shape in [0u8, 1, 3, 5, 6] {
        let keys = shaped(shape, 600, 3 + shape as u64);
        for (conc, block) in [(4, 20), (33, 7), (2, 3)] {
            let (src, dst) = split(&keys, shape as u64);
            let offsets = Arc::new(Mutex::new(Vec::new()));
            let a = recording(filled_sized(&src).await, Arc::clone(&offsets));
            let b = filled_sized(&dst).await;
            let opts = options(conc, block);
            verify(&a, b.as_ref(), &opts).await.unwrap();
            let seen: Vec<Path> = offsets.lock().unwrap().clone();
            assert!(!seen.is_empty(), "shape {shape}: no cut");
            let mut extra = BTreeSet::new();
            for offset in &seen {
                let cut = cut_of(offset.as_ref());
                let stem = cut[..cut.len() - cut.chars().last().unwrap().len_utf8()].to_string();
                for k in [
                    cut.clone(),
                    format!("{cut}0"),
                    format!("{cut}-"),
                    format!("{cut}."),
                    format!("{cut} "),
                    format!("{cut} x"),
                    format!("{cut}/x"),
                    format!("{cut}/x/y"),
                    format!("{cut}~"),
                    format!("{cut}é"),
                    offset.as_ref().to_string(),
                    format!("{}/z", offset.as_ref()),
                    stem,
                ] {
                    if valid(&k) {
                        extra.insert(k);
                    }
                }
            }
            let mut all: BTreeSet<String> = keys.iter().cloned().collect();
            all.extend(extra);
            let all: Vec<String> = all.into_iter().collect();
            let (src, dst) = split(&all, 17 + shape as u64);
            let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
            let what = format!("shape {shape} concurrency {conc} block {block}, at cuts");
            let opts = opts
                .with_delete(true)
                .with_max_delete(DeleteLimit::Unlimited);
            check_verify(a.as_ref(), b.as_ref(), &opts, &what).await;
            check_sync(&src, &dst, &opts, &what).await;
        }
    }
}

/// A prefix whose keys share a long common part, with neighbours outside the prefix
/// (`p-`, `p.`, `p0`, `p/` siblings of the folder `p`, the object `p` itself): the
/// ranged sync touches only the prefix and equals a plain one; verify counts agree.
#[tokio::test]
async fn a_prefix_with_long_shared_keys_is_exact_and_stays_inside() {
    let shared = format!("p/{}", "q".repeat(60));
    let mut keys: Vec<String> = (0..800)
        .map(|i| format!("{shared}/{:05}", (i * 7919) % 100_000))
        .collect();
    keys.extend((0..200).map(|i| format!("{shared}-{i:03}")));
    keys.extend((0..200).map(|i| format!("{shared}/x/{i:03}")));
    let outside: Vec<String> = ["p", "p-", "p-/x", "p.", "p0", "p 1", "pa/x", "o/z", "q"]
        .iter()
        .map(|s| s.to_string())
        .chain((0..300).map(|i| format!("p-{i:04}")))
        .collect();
    keys.extend(outside.iter().cloned());
    keys.sort();
    keys.dedup();
    let (src, dst) = split(&keys, 1);
    for prefix in ["p", shared.as_str(), &format!("{shared}/x")] {
        for (conc, block) in [(8, 10), (32, 3), (2, 100)] {
            let what = format!("prefix {prefix} conc {conc} block {block}");
            let opts = options(conc, block)
                .with_prefix(Path::parse(prefix).unwrap())
                .with_delete(true)
                .with_max_delete(DeleteLimit::Unlimited);
            let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
            check_verify(a.as_ref(), b.as_ref(), &opts, &what).await;
            check_sync(&src, &dst, &opts, &what).await;
            // Nothing outside the prefix was touched.
            let before = sizes(b.as_ref()).await;
            timed(&what, sync(a.as_ref(), b.as_ref(), &opts))
                .await
                .unwrap();
            let after = sizes(b.as_ref()).await;
            let inside = |k: &String| k.starts_with(&format!("{prefix}/"));
            let outside_of = |m: &BTreeMap<String, u64>| -> BTreeMap<String, u64> {
                m.iter()
                    .filter(|(k, _)| !inside(k))
                    .map(|(k, v)| (k.clone(), *v))
                    .collect()
            };
            assert_eq!(outside_of(&after), outside_of(&before), "{what}");
        }
    }
}

/// A prefix given as the empty path: the ranged join equals a plain one.
#[tokio::test]
async fn an_empty_prefix_is_exact() {
    let keys = shaped(6, 2000, 5);
    let (src, dst) = split(&keys, 2);
    let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
    let opts = options(8, 20)
        .with_prefix(Path::from(""))
        .with_delete(true)
        .with_max_delete(DeleteLimit::Unlimited);
    check_verify(a.as_ref(), b.as_ref(), &opts, "empty prefix").await;
    check_sync(&src, &dst, &opts, "empty prefix").await;
}

/// An empty source and a large destination (every cut from the destination's keys):
/// `Half` refuses having deleted nothing; `Count(n - 1)` refuses and `Count(n)` deletes
/// all; `Unlimited` deletes all: as plain syncs do. The join is cut (several listings).
#[tokio::test]
async fn an_empty_source_and_a_large_destination() {
    let keys = shaped(0, 3000, 8);
    let dst: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 1)).collect();
    let n = dst.len() as u64;
    let source = filled_sized(&[]).await;
    for limit in [
        DeleteLimit::Half,
        DeleteLimit::Count(n - 1),
        DeleteLimit::Count(n),
        DeleteLimit::Fraction(0.999),
        DeleteLimit::Fraction(1.0),
        DeleteLimit::Unlimited,
    ] {
        let opts = options(16, 50).with_delete(true).with_max_delete(limit);
        let ranged_dst = FaultyStore::new(filled_sized(&dst).await);
        let plain_dst = FaultyStore::new(filled_sized(&dst).await);
        let ranged = timed("empty source", sync(source.as_ref(), &ranged_dst, &opts)).await;
        let plain = sync(
            source.as_ref(),
            &plain_dst,
            &opts.clone().with_key_ranges(false),
        )
        .await;
        let what = format!("{limit:?}");
        match (&ranged, &plain) {
            (Ok(r), Ok(p)) => assert_eq!(sync_counts(r), sync_counts(p), "{what}"),
            (Err(r), Err(p)) => assert_eq!(r.to_string(), p.to_string(), "{what}"),
            _ => panic!("{what}: ranged {ranged:?} plain {plain:?}"),
        }
        // No key in common: nothing to cut at (a block counts keys every store lists),
        // so one join (and one more for the delete count).
        assert!(ranged_dst.calls(Op::List) <= 2, "{what}: cut");
        assert_eq!(sizes(&ranged_dst).await, sizes(&plain_dst).await, "{what}");
    }
}

/// Delete limits at their edges (`Count(k)` and `Count(k - 1)` for `k` deletes,
/// `Fraction` just above and below, `Half`) over key ranges: the same refusals and
/// deletes as plain syncs.
#[tokio::test]
async fn delete_limits_at_their_edges_match_plain() {
    let keys = shaped(0, 2000, 21);
    let src: Vec<(String, usize)> = keys.iter().step_by(3).map(|k| (k.clone(), 2)).collect();
    let dst: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 2)).collect();
    let held = dst.len() as f64;
    let deletes = (dst.len() - src.len()) as u64;
    let frac = deletes as f64 / held;
    for limit in [
        DeleteLimit::Half,
        DeleteLimit::Count(deletes),
        DeleteLimit::Count(deletes - 1),
        DeleteLimit::Fraction(frac + 1e-9),
        DeleteLimit::Fraction(frac - 1.0 / held),
        DeleteLimit::Fraction(0.0),
    ] {
        for dry in [false, true] {
            let opts = options(32, 13)
                .with_delete(true)
                .with_max_delete(limit)
                .with_dry_run(dry);
            check_sync(&src, &dst, &opts, &format!("{limit:?} dry {dry}")).await;
        }
    }
}

/// A dry run over key ranges (with delete, past the half limit allowed) puts, copies and
/// deletes nothing, and reports what a plain dry run reports.
#[tokio::test]
async fn a_dry_run_touches_nothing() {
    let keys = shaped(6, 3000, 4);
    let (src, dst) = split(&keys, 3);
    let source = filled_sized(&src).await;
    let d = FaultyStore::new(filled_sized(&dst).await);
    let before = sizes(&d).await;
    let opts = options(16, 25)
        .with_delete(true)
        .with_dry_run(true)
        .with_max_delete(DeleteLimit::Unlimited);
    let ranged = sync(source.as_ref(), &d, &opts).await.unwrap();
    let plain = sync(source.as_ref(), &d, &opts.clone().with_key_ranges(false))
        .await
        .unwrap();
    assert_eq!(sync_counts(&ranged), sync_counts(&plain));
    assert!(ranged.copied > 0 && ranged.deleted > 0);
    for op in [Op::Put, Op::PutMultipart, Op::Delete, Op::Copy, Op::Rename] {
        assert_eq!(d.calls(op), 0, "{op:?}");
    }
    assert_eq!(sizes(&d).await, before);
}

/// A store whose plain listing is right but whose `list_with_offset` is changed by `f`
/// (given the inner listing from the offset, the offset, and the whole listing).
fn offset_quirk(
    inner: Arc<InMemory>,
    what: &'static str,
    f: impl Fn(Vec<ObjectMeta>, &Path, Vec<ObjectMeta>) -> Vec<ObjectMeta> + Send + Sync + 'static,
) -> Relisted {
    let f = Arc::new(f);
    Relisted::with(inner, what, move |inner, prefix, offset| {
        let Some(offset) = offset.cloned() else {
            return inner.list(prefix);
        };
        let (inner, prefix, f) = (Arc::clone(inner), prefix.cloned(), Arc::clone(&f));
        stream::once(async move {
            let from: Vec<ObjectMeta> = inner
                .list_with_offset(prefix.as_ref(), &offset)
                .try_collect()
                .await
                .unwrap();
            let all: Vec<ObjectMeta> = inner.list(prefix.as_ref()).try_collect().await.unwrap();
            stream::iter(f(from, &offset, all).into_iter().map(Ok))
        })
        .flatten()
        .boxed()
    })
}

/// `sync --delete` from a source with a quirky offset listing onto a destination with
/// a stale copy of every source key and keys of its own: exact, or an error; never a
/// source key deleted. Returns whether it was exact.
async fn quirky_source_sync(
    make: impl Fn(Arc<InMemory>) -> Relisted,
    keys: &[String],
    conc: usize,
    block: usize,
) -> Result<(), String> {
    let src: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 1)).collect();
    let mut dst: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 2)).collect();
    dst.extend(keys.iter().step_by(5).map(|k| (format!("{k}-own"), 3)));
    dst.retain(|(k, _)| valid(k));
    dst.sort();
    dst.dedup_by(|a, b| a.0 == b.0);
    let source = make(filled_sized(&src).await);
    let d = filled_sized(&dst).await;
    let opts = options(conc, block)
        .with_delete(true)
        .with_max_delete(DeleteLimit::Unlimited);
    let result = timed("quirky", sync(&source, d.as_ref(), &opts)).await;
    let left = sizes(d.as_ref()).await;
    for key in keys {
        assert!(left.contains_key(key), "{key} of the source was deleted");
    }
    match result {
        Ok(report) => {
            let want = sizes(&source).await;
            if left != want {
                let missing: Vec<_> = want
                    .keys()
                    .filter(|k| left.get(*k) != want.get(*k))
                    .take(5)
                    .collect();
                return Err(format!(
                    "wrong result, no error: {report:?}; e.g. {missing:?}"
                ));
            }
            // verify agrees with a plain verify.
            check_verify(&source, d.as_ref(), &opts, "quirky verify").await;
            Ok(())
        }
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("key order"), "{e}");
            Ok(())
        }
    }
}

/// A `list_with_offset` that starts a few keys early (and includes the offset and keys
/// at or below it): exact.
#[tokio::test]
async fn offset_listings_that_start_early_are_exact() {
    for shape in [0u8, 1, 6] {
        let keys = shaped(shape, 1500, 31);
        let make = |inner| {
            offset_quirk(inner, "early", |_from, offset, all| {
                let at = all.partition_point(|m| m.location.as_ref() < offset.as_ref());
                all[at.saturating_sub(5)..].to_vec()
            })
        };
        quirky_source_sync(make, &keys, 8, 20).await.unwrap();
        quirky_source_sync(make, &keys, 32, 3).await.unwrap();
    }
}

/// A `list_with_offset` that gives every key twice: an error or exact, nothing of the
/// source deleted.
#[tokio::test]
async fn offset_listings_with_duplicates_are_refused_or_exact() {
    let keys = shaped(0, 1500, 32);
    let make = |inner| {
        offset_quirk(inner, "duplicates", |from, _, _| {
            from.into_iter().flat_map(|m| [m.clone(), m]).collect()
        })
    };
    quirky_source_sync(make, &keys, 8, 20).await.unwrap();
}

/// A `list_with_offset` whose listing swaps two neighbours a little way in (out of
/// order only after an offset): an error or exact, nothing of the source deleted.
#[tokio::test]
async fn offset_listings_out_of_order_are_refused_or_exact() {
    for at in [0usize, 1, 3, 40] {
        let keys = shaped(0, 1500, 33);
        let make = move |inner| {
            offset_quirk(inner, "swapped", move |mut from, _, _| {
                if from.len() > at + 1 {
                    from.swap(at, at + 1);
                }
                from
            })
        };
        quirky_source_sync(make, &keys, 8, 20).await.unwrap();
    }
}

/// A `list_with_offset` that moves the key right after the offset to the very end of
/// its listing (out of order only past the piece's end): an error or exact.
#[tokio::test]
async fn offset_listings_out_of_order_past_the_pieces_end_are_refused_or_exact() {
    let keys = shaped(0, 1500, 34);
    let make = |inner| {
        offset_quirk(inner, "first moved last", |mut from, _, _| {
            if from.len() > 2 {
                let first = from.remove(0);
                from.push(first);
            }
            from
        })
    };
    quirky_source_sync(make, &keys, 8, 20).await.unwrap();
}

/// A `list_with_offset` that ignores the offset (lists from the start): exact.
#[tokio::test]
async fn offset_listings_that_ignore_the_offset_are_exact() {
    let keys = shaped(6, 1500, 35);
    let make = |inner| offset_quirk(inner, "ignores", |_, _, all| all);
    quirky_source_sync(make, &keys, 8, 20).await.unwrap();
    quirky_source_sync(make, &keys, 100, 2).await.unwrap();
}

/// A `list_with_offset` that loses the first key after the offset (an off-by-one
/// server): the keys are in order, so no check can see it; pinned: nothing of the
/// source is deleted (a `head` proves every delete). Whether the copy is complete is
/// returned, not asserted (a plain sync never lists from an offset).
#[tokio::test]
async fn offset_listings_that_lose_a_key_delete_nothing_of_the_source() {
    let keys = shaped(0, 1500, 36);
    let make = |inner| {
        offset_quirk(inner, "loses one", |mut from, _, _| {
            if !from.is_empty() {
                from.remove(0);
            }
            from
        })
    };
    let outcome = quirky_source_sync(make, &keys, 8, 20).await;
    eprintln!("a server losing the key after the offset: {outcome:?}");
}

/// Offset listings that yield `n` entries and then fail (a dropped connection) in the
/// middle of a piece, on the source and on the destination: `sync` and `verify` end
/// with an error, in time, and nothing of the source was deleted.
#[tokio::test]
async fn a_listing_failing_in_the_middle_of_a_piece_ends_it() {
    let keys = shaped(0, 2000, 41);
    let (src, dst) = split(&keys, 4);
    for n in [0usize, 1, 5, 30] {
        for side in ["source", "destination"] {
            let failing = |inner: Arc<InMemory>| {
                Relisted::with(inner, "fails mid piece", move |inner, prefix, offset| {
                    let Some(offset) = offset else {
                        return inner.list(prefix);
                    };
                    let failure = stream::once(async {
                        Err(object_store::Error::Generic {
                            store: "test",
                            source: "connection dropped".into(),
                        })
                    });
                    inner
                        .list_with_offset(prefix, offset)
                        .take(n)
                        .chain(failure)
                        .boxed()
                })
            };
            let (a, b): (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>) = match side {
                "source" => (
                    Arc::new(failing(filled_sized(&src).await)),
                    filled_sized(&dst).await,
                ),
                _ => (
                    filled_sized(&src).await,
                    Arc::new(failing(filled_sized(&dst).await)),
                ),
            };
            let opts = options(8, 20)
                .with_delete(true)
                .with_max_delete(DeleteLimit::Unlimited);
            let what = format!("{side} fails after {n}");
            assert!(
                timed(&what, verify(a.as_ref(), b.as_ref(), &opts))
                    .await
                    .is_err(),
                "{what}"
            );
            let result = timed(&what, sync(a.as_ref(), b.as_ref(), &opts)).await;
            assert!(result.is_err(), "{what}: {result:?}");
            let left = sizes(b.as_ref()).await;
            for (key, _) in src.iter().filter(|(k, _)| contents_has(&dst, k)) {
                assert!(
                    left.contains_key(key),
                    "{what}: {key} of the source deleted"
                );
            }
        }
    }
}

/// The first piece listed from an offset never answers, the second fails: `sync` and
/// `verify` end with the failure, not a hang.
#[tokio::test]
async fn a_hung_piece_does_not_hide_a_failed_one() {
    let keys = shaped(0, 2000, 42);
    let (src, dst) = split(&keys, 5);
    let calls = Arc::new(AtomicU64::new(0));
    let make = |inner: Arc<InMemory>, calls: Arc<AtomicU64>| {
        Relisted::with(inner, "hangs then fails", move |inner, prefix, offset| {
            let Some(offset) = offset else {
                return inner.list(prefix);
            };
            match calls.fetch_add(1, Ordering::SeqCst) {
                0 => stream::pending().boxed(),
                1 => stream::once(async {
                    Err(object_store::Error::Generic {
                        store: "test",
                        source: "refused".into(),
                    })
                })
                .boxed(),
                _ => inner.list_with_offset(prefix, offset),
            }
        })
    };
    let a = make(filled_sized(&src).await, Arc::clone(&calls));
    let b = filled_sized(&dst).await;
    let opts = options(8, 20);
    let found = tokio::time::timeout(Duration::from_secs(20), verify(&a, b.as_ref(), &opts)).await;
    assert!(matches!(found, Ok(Err(_))), "verify: {found:?}");
    calls.store(0, Ordering::SeqCst);
    let synced = tokio::time::timeout(Duration::from_secs(20), sync(&a, b.as_ref(), &opts)).await;
    assert!(matches!(synced, Ok(Err(_))), "sync: {synced:?}");
}

/// Counts listings alive at once (a guard lives as long as the stream).
struct Live(Arc<AtomicU64>);
impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn counting(inner: Arc<InMemory>, live: Arc<AtomicU64>, most: Arc<AtomicU64>) -> Relisted {
    counting_slow(inner, live, most, false)
}

/// [`counting`]; with `slow`, each entry after a yield (a listing not all ready at once,
/// so the merge cannot read it ahead to its end).
fn counting_slow(
    inner: Arc<InMemory>,
    live: Arc<AtomicU64>,
    most: Arc<AtomicU64>,
    slow: bool,
) -> Relisted {
    Relisted::with(inner, "counting", move |inner, prefix, offset| {
        let now = live.fetch_add(1, Ordering::SeqCst) + 1;
        most.fetch_max(now, Ordering::SeqCst);
        let guard = Live(Arc::clone(&live));
        let listing = match offset {
            Some(o) => inner.list_with_offset(prefix, o),
            None => inner.list(prefix),
        };
        let listing = listing.map(move |item| {
            let _ = &guard;
            item
        });
        match slow {
            true => listing
                .then(|item| async move {
                    tokio::task::yield_now().await;
                    item
                })
                .boxed(),
            false => listing.boxed(),
        }
    })
}

/// Concurrency 100 with blocks of 2 over 20,000 keys: at most 32 listings of a store
/// alive at once (more than one: it was cut); concurrency 1: one listing of each store.
#[tokio::test]
async fn listings_alive_at_once_are_bounded() {
    let keys = shaped(0, 20_000, 51);
    let (src, dst) = split(&keys, 6);
    for (conc, block, bound) in [(100, 2, 32u64), (33, 5, 32), (1, 2, 1)] {
        let (la, ma, lb, mb) = (
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
            Arc::new(AtomicU64::new(0)),
        );
        let a = counting(filled_sized(&src).await, Arc::clone(&la), Arc::clone(&ma));
        let b = counting(filled_sized(&dst).await, Arc::clone(&lb), Arc::clone(&mb));
        let opts = options(conc, block);
        let found = timed("bounded", verify(&a, &b, &opts)).await.unwrap();
        let plain = verify(&a, &b, &opts.clone().with_key_ranges(false))
            .await
            .unwrap();
        assert_eq!(counts(&found), counts(&plain));
        let (ma, mb) = (ma.load(Ordering::SeqCst), mb.load(Ordering::SeqCst));
        assert!(
            ma <= bound && mb <= bound,
            "conc {conc}: {ma} {mb} listings at once"
        );
        if bound > 1 {
            assert!(ma > 1, "conc {conc}: never cut");
        }
        assert_eq!(la.load(Ordering::SeqCst), 0, "listings left alive");
    }
}

/// A checkpoint turns key ranges off: one listing of each store for `sync` and
/// `verify`, and a resumed run resumes after the recorded key.
#[tokio::test]
async fn a_checkpoint_turns_key_ranges_off() {
    let keys = shaped(0, 3000, 61);
    let (src, dst) = split(&keys, 7);
    let dir = tempfile::tempdir().unwrap();
    let a = FaultyStore::new(filled_sized(&src).await);
    let b = FaultyStore::new(filled_sized(&dst).await);
    let opts = options(16, 20).with_checkpoint(dir.path().join("v.ckpt"), 100);
    verify(&a, &b, &opts).await.unwrap();
    assert_eq!((a.calls(Op::List), b.calls(Op::List)), (1, 1), "verify");
    let opts = options(16, 20).with_checkpoint(dir.path().join("s.ckpt"), 100);
    sync(&a, &b, &opts).await.unwrap();
    assert_eq!((a.calls(Op::List), b.calls(Op::List)), (2, 2), "sync");
    assert_eq!(
        sizes(&b)
            .await
            .keys()
            .filter(|k| !contents_has(&src, k))
            .count(),
        dst.iter().filter(|(k, _)| !contents_has(&src, k)).count()
    );
}

fn contents_has(objects: &[(String, usize)], key: &str) -> bool {
    objects.iter().any(|(k, _)| k == key)
}

/// A writer adds keys to the source and removes others (`volatile` ones) while the
/// ranged sync with delete runs (at its first listings from an offset): every key the
/// source held throughout ends in the destination with the source's size, none deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_writer_never_costs_a_stable_source_key() {
    let keys = shaped(0, 6000, 71);
    let src: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 3)).collect();
    let dst: Vec<(String, usize)> = keys.iter().step_by(2).map(|k| (k.clone(), 1)).collect();
    let volatile: Vec<String> = keys.iter().skip(1).step_by(7).cloned().collect();
    let stable: Vec<String> = keys
        .iter()
        .filter(|k| !volatile.contains(k))
        .cloned()
        .collect();
    let inner = filled_sized(&src).await;
    let writes = Arc::new(AtomicU64::new(0));
    let (vol, w) = (volatile.clone(), Arc::clone(&writes));
    let source = Relisted::with(
        Arc::clone(&inner) as Arc<dyn ObjectStore>,
        "written meanwhile",
        move |inner, prefix, offset| {
            let Some(offset) = offset.cloned() else {
                return inner.list(prefix);
            };
            let (inner, prefix, vol, w) = (
                Arc::clone(inner),
                prefix.cloned(),
                vol.clone(),
                Arc::clone(&w),
            );
            stream::once(async move {
                let n = w.fetch_add(1, Ordering::SeqCst);
                if n < 3 {
                    for (i, k) in vol.iter().enumerate() {
                        if i % 3 == n as usize {
                            inner.delete(&Path::parse(k).unwrap()).await.unwrap();
                            let added = format!("{k}0new");
                            inner
                                .put(&Path::parse(&added).unwrap(), "new".into())
                                .await
                                .unwrap();
                        }
                    }
                }
                inner.list_with_offset(prefix.as_ref(), &offset)
            })
            .flatten()
            .boxed()
        },
    );
    let d = filled_sized(&dst).await;
    let opts = options(16, 40)
        .with_delete(true)
        .with_max_delete(DeleteLimit::Unlimited);
    let report = timed("writer", sync(&source, d.as_ref(), &opts)).await;
    let left = sizes(d.as_ref()).await;
    for key in &stable {
        assert_eq!(left.get(key), Some(&3), "{key} ({report:?})");
    }
    assert!(writes.load(Ordering::SeqCst) > 0, "never cut");
    report.unwrap();
}

/// Keys of its own added to the destination during a ranged sync with a `Count` limit
/// equal to the deletes counted before: no more deletes than counted are made; the
/// rest fail as past the allowance.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_stay_within_the_allowance_when_the_destination_grows() {
    let keys = shaped(0, 4000, 81);
    let src: Vec<(String, usize)> = keys.iter().step_by(2).map(|k| (k.clone(), 1)).collect();
    let dst: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 1)).collect();
    let counted = (dst.len() - src.len()) as u64;
    let inner = filled_sized(&dst).await;
    let offsets = Arc::new(AtomicU64::new(0));
    let o = Arc::clone(&offsets);
    let extra: Vec<String> = keys.iter().step_by(3).map(|k| format!("{k}x")).collect();
    let d = Relisted::with(
        Arc::clone(&inner) as Arc<dyn ObjectStore>,
        "growing",
        move |inner, prefix, offset| {
            let Some(offset) = offset.cloned() else {
                return inner.list(prefix);
            };
            let (inner, prefix, o, extra) = (
                Arc::clone(inner),
                prefix.cloned(),
                Arc::clone(&o),
                extra.clone(),
            );
            stream::once(async move {
                // The allowance's listing is the first ranged join: grow during the sync's.
                if o.fetch_add(1, Ordering::SeqCst) == 60 {
                    for k in &extra {
                        inner
                            .put(&Path::parse(k).unwrap(), "x".into())
                            .await
                            .unwrap();
                    }
                }
                inner.list_with_offset(prefix.as_ref(), &offset)
            })
            .flatten()
            .boxed()
        },
    );
    let source = filled_sized(&src).await;
    let opts = options(16, 20)
        .with_delete(true)
        .with_max_delete(DeleteLimit::Count(counted));
    let report = timed("allowance", sync(source.as_ref(), &d, &opts))
        .await
        .unwrap();
    assert!(
        report.deleted <= counted,
        "{} deleted, {counted} counted",
        report.deleted
    );
    let left = sizes(&d).await;
    for (key, _) in &src {
        assert!(left.contains_key(key), "{key}");
    }
}

/// A backup with key ranges keeps every object deleted or overwritten, as a plain sync
/// does: the same count, the same backup.
#[tokio::test]
async fn a_backup_over_key_ranges_keeps_what_a_plain_one_keeps() {
    let keys = shaped(6, 2000, 91);
    let (src, dst) = split(&keys, 8);
    let source = filled_sized(&src).await;
    let mut results = Vec::new();
    for ranges in [true, false] {
        let d = filled_sized(&dst).await;
        let backup: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let opts = options(16, 17)
            .with_delete(true)
            .with_max_delete(DeleteLimit::Unlimited)
            .with_backup(Backup::new(Arc::clone(&backup)).with_prefix(Path::from("bk")))
            .with_key_ranges(ranges);
        let report = timed("backup", sync(source.as_ref(), d.as_ref(), &opts))
            .await
            .unwrap();
        assert_eq!(report.failed, 0, "{report:?}");
        results.push((
            sync_counts(&report),
            sizes(d.as_ref()).await,
            sizes(backup.as_ref()).await,
        ));
    }
    assert_eq!(results[0], results[1]);
    assert!(results[0].0 .5 > 0, "nothing backed up");
}

/// `differences` promises "every difference between `a` and `b`, in key order": even with
/// key ranges asked for, over a store large enough to be cut.
#[tokio::test]
async fn differences_come_in_key_order() {
    let keys = shaped(0, 5000, 101);
    let a = filled_sized(&keys.iter().map(|k| (k.clone(), 1)).collect::<Vec<_>>()).await;
    let b = InMemory::new();
    let opts = SyncOptions::default().with_key_ranges(true);
    let found: Vec<Option<Difference>> = differences(a.as_ref(), &b, &opts)
        .try_collect()
        .await
        .unwrap();
    let order: Vec<String> = found
        .into_iter()
        .flatten()
        .map(|d| match d {
            Difference::MissingInA(m) | Difference::MissingInB(m) | Difference::Differs(m, _) => {
                m.location.to_string()
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(order.len(), keys.len());
    let first_out = order.windows(2).position(|w| w[0] >= w[1]);
    assert_eq!(first_out, None, "out of key order at {first_out:?}");
}

/// Progress over key ranges reports every key once: its last `done` is the union's size,
/// and `done` never goes back.
#[tokio::test]
async fn progress_counts_each_key_once() {
    let keys = shaped(1, 3000, 111);
    let (src, dst) = split(&keys, 9);
    let (a, b) = (filled_sized(&src).await, filled_sized(&dst).await);
    let union: BTreeSet<&String> = src.iter().chain(dst.iter()).map(|(k, _)| k).collect();
    let last = Arc::new(AtomicU64::new(0));
    let back = Arc::new(AtomicU64::new(0));
    let (l, bk) = (Arc::clone(&last), Arc::clone(&back));
    let opts = options(16, 9).with_progress(move |p| {
        if p.done < l.swap(p.done, Ordering::SeqCst) {
            bk.fetch_add(1, Ordering::SeqCst);
        }
    });
    verify(a.as_ref(), b.as_ref(), &opts).await.unwrap();
    assert_eq!(last.load(Ordering::SeqCst), union.len() as u64);
    assert_eq!(back.load(Ordering::SeqCst), 0);
}

/// Dropping a ranged `verify` part-way (its future dropped while pieces run) ends every
/// listing: none left alive. (`differences` is one join whatever the options: it
/// promises key order.)
#[tokio::test]
async fn a_dropped_verify_ends_every_listing() {
    let keys = shaped(0, 30_000, 121);
    let (src, dst) = split(&keys, 10);
    let (la, ma, lb, mb) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let a = counting_slow(
        filled_sized(&src).await,
        Arc::clone(&la),
        Arc::clone(&ma),
        true,
    );
    let b = FaultyStore::new(Arc::new(counting_slow(
        filled_sized(&dst).await,
        Arc::clone(&lb),
        Arc::clone(&mb),
        true,
    )));
    // Every listing of `b` but the first (the head) hangs: the pieces never end.
    b.inject(Fault::delay(Op::List, std::time::Duration::from_secs(600)).after(1));
    let opts = options(16, 10);
    let dropped =
        tokio::time::timeout(std::time::Duration::from_millis(500), verify(&a, &b, &opts)).await;
    assert!(dropped.is_err(), "verify ended before it was dropped");
    let most = ma.load(Ordering::SeqCst).min(mb.load(Ordering::SeqCst));
    assert!(most > 1, "not cut: at most {most} listings at once");
    // Listings read ahead by tasks of their own end when those tasks next run (an abort
    // is carried out by the runtime), not within the drop itself.
    let alive = || (la.load(Ordering::SeqCst), lb.load(Ordering::SeqCst));
    for _ in 0..100 {
        if alive() == (0, 0) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(alive(), (0, 0));
}

/// A source whose `list_with_offset` gives its first key last (out of key order, the
/// misplaced key within the piece, after keys past the piece's end). Onto an empty
/// destination the join is never cut (no key in common), so the sync is exact. `verify`
/// against an exact copy is cut, and the misplaced key lies past its piece's end, where
/// no order check reads: it is reported missing (a false difference, not a false
/// "identical"). This is the limit `SyncOptions::key_ranges` states (it needs listings
/// in byte order from an offset too), and why key ranges are off by default.
/// (Found by this review: before, the sync lost the key silently.)
#[tokio::test]
async fn an_offset_listing_out_of_order_past_a_pieces_end() {
    let keys = shaped(0, 1500, 34);
    let src: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 1)).collect();
    // Only the first listing from an offset (the piece after the head's first cut).
    let calls = Arc::new(AtomicU64::new(0));
    let make = |inner, calls: Arc<AtomicU64>| {
        offset_quirk(inner, "first moved last", move |mut from, _, _| {
            if calls.fetch_add(1, Ordering::SeqCst) == 0 && from.len() > 2 {
                let first = from.remove(0);
                from.push(first);
            }
            from
        })
    };
    let source = make(filled_sized(&src).await, Arc::clone(&calls));
    let opts = options(8, 20);
    // verify against an exact copy.
    let copy = filled_sized(&src).await;
    let mut wrong = Vec::new();
    match timed("verify", verify(&source, copy.as_ref(), &opts)).await {
        Ok(found) if found.is_identical() => {}
        Ok(found) => assert_eq!(
            counts(&found),
            (keys.len() as u64 - 1, 1, 0, 0),
            "the misplaced key, and nothing else, is reported missing"
        ),
        Err(e) => assert!(e.to_string().contains("key order"), "{e}"),
    }
    // sync onto an empty destination.
    calls.store(0, Ordering::SeqCst);
    let d = InMemory::new();
    match timed("sync", sync(&source, &d, &opts)).await {
        Ok(report) => {
            let left = sizes(&d).await;
            let lost: Vec<&String> = keys.iter().filter(|k| !left.contains_key(*k)).collect();
            if !lost.is_empty() {
                wrong.push(format!(
                    "sync: {} keys lost silently, e.g. {:?}; {report:?}",
                    lost.len(),
                    &lost[..lost.len().min(3)]
                ));
            }
        }
        Err(e) => assert!(e.to_string().contains("key order"), "{e}"),
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A folder-by-folder source (out of byte order) onto an EMPTY destination (so a lost key
/// is not caught by a delete's `head`): the sync copies every key or fails saying the
/// order is wrong; `verify` against an exact copy finds them identical or fails.
#[tokio::test]
async fn a_folder_by_folder_source_onto_an_empty_destination_is_exact_or_refused() {
    let mut failures = Vec::new();
    for shape in [1u8, 6] {
        for seed in 0..6u64 {
            let keys = shaped(shape, 400, 1000 + seed);
            let src: Vec<(String, usize)> = keys.iter().map(|k| (k.clone(), 1)).collect();
            for (conc, block) in [(2, 3), (8, 7), (16, 30)] {
                let source = Relisted::folder_order(filled_sized(&src).await);
                let opts = options(conc, block);
                let what = format!("shape {shape} seed {seed} conc {conc} block {block}");
                let copy = filled_sized(&src).await;
                match timed(&what, verify(&source, copy.as_ref(), &opts)).await {
                    Ok(found) if !found.is_identical() => failures.push(format!(
                        "{what}: verify {:?} e.g. {:?}",
                        counts(&found),
                        found
                            .examples
                            .iter()
                            .take(3)
                            .map(|d| match d {
                                Difference::MissingInA(m) => m.location.to_string(),
                                _ => String::new(),
                            })
                            .collect::<Vec<_>>()
                    )),
                    Ok(_) => {}
                    Err(e) => assert!(e.to_string().contains("key order"), "{e}"),
                }
                let d = InMemory::new();
                match timed(&what, sync(&source, &d, &opts)).await {
                    Ok(_) => {
                        let left = sizes(&d).await;
                        let lost: Vec<&String> =
                            keys.iter().filter(|k| !left.contains_key(*k)).collect();
                        if !lost.is_empty() {
                            failures.push(format!(
                                "{what}: sync lost {} e.g. {:?}",
                                lost.len(),
                                &lost[..lost.len().min(3)]
                            ));
                        }
                    }
                    Err(e) => assert!(e.to_string().contains("key order"), "{e}"),
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} wrong results:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Minimal: a folder-by-folder source holding `1`, `a -1`, `a/3`, `a/4`, `a/5` (listed
/// `1, a/3, a/4, a/5, a -1`: out of byte order, which a plain join refuses). Over key
/// ranges (concurrency 8, blocks of 2), `verify` against an exact copy and `sync` onto an
/// empty destination must refuse too, or be exact; never report a wrong result.
#[tokio::test]
async fn a_folder_by_folder_source_of_five_keys_is_refused_not_misreported() {
    let keys = ["1", "a -1", "a/3", "a/4", "a/5"];
    let src: Vec<(String, usize)> = keys.iter().map(|k| (k.to_string(), 1)).collect();
    let source = Relisted::folder_order(filled_sized(&src).await);
    let copy = filled_sized(&src).await;
    let opts = options(8, 2);
    let plain = verify(&source, copy.as_ref(), &opts.clone().with_key_ranges(false)).await;
    assert!(plain.is_err(), "the plain verify refuses");
    let mut wrong = Vec::new();
    match verify(&source, copy.as_ref(), &opts).await {
        Ok(found) if !found.is_identical() => wrong.push(format!(
            "verify: Ok {:?} {:?}",
            counts(&found),
            found.examples
        )),
        _ => {}
    }
    // The destination: empty, or holding `1` and `a -1` (as the copy did).
    for held in [&[][..], &["1", "a -1"][..]] {
        let d = InMemory::new();
        for key in held {
            d.put(&Path::from(*key), vec![7u8].into()).await.unwrap();
        }
        let plain = InMemory::new();
        for key in held {
            plain
                .put(&Path::from(*key), vec![7u8].into())
                .await
                .unwrap();
        }
        let refused = sync(&source, &plain, &opts.clone().with_key_ranges(false)).await;
        assert!(refused.is_err(), "the plain sync onto {held:?} refuses");
        if let Ok(report) = sync(&source, &d, &opts).await {
            let left = sizes(&d).await;
            let lost: Vec<&str> = keys
                .iter()
                .copied()
                .filter(|k| !left.contains_key(*k))
                .collect();
            if !lost.is_empty() {
                wrong.push(format!(
                    "sync onto {held:?}: Ok, copied {}, lost {lost:?}",
                    report.copied
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
