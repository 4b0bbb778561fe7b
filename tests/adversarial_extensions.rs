//! Adversarial review of the inventory's counts by file-name extension
//! (`Report::extensions`): exactness against an independent oracle, split scans, the
//! packed order, hostile keys and hostile JSON, the limit, and the table/HTML sections.
//! In-memory stores and temp files only. Five findings, fixed the same day: a name
//! given twice in a report's `kept` dropped the first one's counts (now refused), the
//! limit was checked after the whole map was held (now at entry 1,001), `with_extensions
//! (true)` emptied counts a report held (now kept), the refusal doubled its backticks,
//! and `Extensions::get` took names that are not extensions (`gz\0`).

mod common;

use common::rng;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use proptest::prelude::*;
use std::collections::BTreeMap;
use stratus::inventory::{
    scan, Counts, Extensions, Report, ScanOptions, EXTENSION_LIMIT, EXTENSION_MAX_BYTES,
};

// ---------------------------------------------------------------------------------------
// Oracle and helpers
// ---------------------------------------------------------------------------------------

/// Independent definition: last `/`-segment, text after its last `.`, the dot not first,
/// 1..=16 ASCII alphanumerics, lowercased.
fn oracle_ext(key: &str) -> Option<String> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let (stem, tail) = name.rsplit_once('.')?;
    if stem.is_empty()
        || tail.is_empty()
        || tail.len() > 16
        || !tail.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some(tail.to_ascii_lowercase())
}

#[derive(Debug, Default, PartialEq)]
struct Oracle {
    kept: BTreeMap<String, Counts>,
    none: Counts,
    objects: u64,
    bytes: u64,
}

fn c(objects: u64, bytes: u64) -> Counts {
    Counts { objects, bytes }
}

fn bump(counts: &mut Counts, size: u64) {
    counts.objects += 1;
    counts.bytes += size;
}

fn oracle<'a>(objects: impl IntoIterator<Item = (&'a str, u64)>) -> Oracle {
    let mut o = Oracle::default();
    for (key, size) in objects {
        o.objects += 1;
        o.bytes += size;
        match oracle_ext(key) {
            Some(e) => bump(o.kept.entry(e).or_default(), size),
            None => bump(&mut o.none, size),
        }
    }
    o
}

/// The extensions as an oracle would see them (only when nothing went to `other`).
fn as_oracle(e: &Extensions) -> BTreeMap<String, Counts> {
    e.by_bytes().into_iter().collect()
}

/// Every object counted once across kept, none and other.
fn conserved(report: &Report) {
    let e = report.extensions.as_ref().expect("extensions counted");
    let mut sum = e.none();
    sum.objects += e.other().objects;
    sum.bytes += e.other().bytes;
    for (_, k) in e.by_bytes() {
        sum.objects += k.objects;
        sum.bytes += k.bytes;
    }
    assert_eq!(
        sum,
        c(report.objects, report.bytes),
        "kept + none + other != report totals"
    );
}

fn check_exact(report: &Report, o: &Oracle, what: &str) {
    assert_eq!(
        (report.objects, report.bytes),
        (o.objects, o.bytes),
        "{what}"
    );
    let e = report.extensions.as_ref().expect("extensions counted");
    assert_eq!(e.other(), Counts::default(), "{what}: other not empty");
    assert_eq!(e.none(), o.none, "{what}: none");
    assert_eq!(as_oracle(e), o.kept, "{what}: kept");
    for (name, counts) in &o.kept {
        assert_eq!(e.get(name), Some(*counts), "{what}: get({name})");
    }
    conserved(report);
}

/// Hostile-ish names: dots everywhere, mixed case, digits, unicode, long tails, folders
/// with dots, hidden files, trailing dots.
fn random_key(next: &mut impl FnMut() -> u64, ext_pool: &[String]) -> String {
    let segs = 1 + next() % 3;
    let mut key = String::new();
    for s in 0..segs {
        if s > 0 {
            key.push('/');
        }
        // folder names sometimes have dots
        let last = s + 1 == segs;
        let stem_len = next() % 6;
        for _ in 0..stem_len {
            key.push(match next() % 12 {
                0 => '.',
                1 => 'é',
                2 => '-',
                3 => '_',
                4 => 'A',
                5 => '0',
                _ => (b'a' + (next() % 26) as u8) as char,
            });
        }
        if !last {
            if next().is_multiple_of(3) {
                key.push_str(".d");
            }
            if key.ends_with('/') || key.is_empty() || key.ends_with('.') {
                key.push('f');
            }
            continue;
        }
        match next() % 10 {
            0 => {}                     // no dot at all
            1 => key.push('.'),         // trailing dot
            2 => key.push_str(".日本"), // unicode tail
            3 => key.push_str(".tmp~"),
            4 => key.push_str(&format!(".{}", "x".repeat(17))), // 17 bytes: none
            5 => key.push_str(&format!(".{}", "Z".repeat(16))), // 16 bytes, upper
            _ => {
                let e = &ext_pool[(next() % ext_pool.len() as u64) as usize];
                key.push('.');
                // random case
                for ch in e.chars() {
                    if next().is_multiple_of(2) {
                        key.push(ch.to_ascii_uppercase());
                    } else {
                        key.push(ch);
                    }
                }
            }
        }
        if key.is_empty() || key.ends_with('/') {
            key.push('z');
        }
    }
    key
}

fn ext_pool(n: usize, seed: u64) -> Vec<String> {
    let mut next = rng(seed ^ 0xABCD);
    let mut pool: Vec<String> = vec![
        "jpg".into(),
        "gz".into(),
        "0".into(),
        "00".into(),
        "9".into(),
        "0123456789abcdef".into(),
        "zzzzzzzzzzzzzzzz".into(),
        "a".into(),
        "a0".into(),
    ];
    while pool.len() < n {
        let len = 1 + next() % 16;
        let e: String = (0..len)
            .map(|_| {
                let r = next() % 36;
                if r < 10 {
                    (b'0' + r as u8) as char
                } else {
                    (b'a' + (r - 10) as u8) as char
                }
            })
            .collect();
        if !pool.contains(&e) {
            pool.push(e);
        }
    }
    pool.truncate(n);
    pool
}

async fn filled(keys: &[String], seed: u64) -> (InMemory, Vec<(String, u64)>) {
    let store = InMemory::new();
    let mut next = rng(seed ^ 0x5151);
    for key in keys {
        let size = (next() % 300) as usize;
        store
            .put(&Path::from(key.as_str()), vec![7u8; size].into())
            .await
            .unwrap();
    }
    // The truth as the store lists it (Path::from may percent-encode).
    let listed = common_list(&store).await;
    (store, listed)
}

async fn common_list(store: &InMemory) -> Vec<(String, u64)> {
    use futures::StreamExt;
    let mut out = Vec::new();
    let mut s = store.list(None);
    while let Some(m) = s.next().await {
        let m = m.unwrap();
        out.push((m.location.to_string(), m.size));
    }
    out
}

fn as_of() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(2_000_000_000, 0).unwrap()
}

fn options(concurrency: usize, key_ranges: bool, block: usize) -> ScanOptions {
    ScanOptions::default()
        .with_depth(3)
        .with_prefix_limit(40)
        .with_top(5)
        .with_concurrency(concurrency)
        .with_key_ranges(key_ranges)
        .with_range_block(block)
        .with_target_partitions(16)
        .with_as_of(as_of())
}

/// Parts 1..=n scanned, merged in `order` (a permutation of 1..=n), finished.
async fn merged_parts(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    base: &ScanOptions,
    n: usize,
    order: &[usize],
) -> Report {
    let mut parts: BTreeMap<usize, Report> = BTreeMap::new();
    for k in 1..=n {
        let part = scan(store, prefix, &base.clone().with_part(k, n))
            .await
            .unwrap();
        parts.insert(k, part);
    }
    let mut merged: Option<Report> = None;
    for k in order {
        let part = parts.remove(k).unwrap();
        match merged.as_mut() {
            None => merged = Some(part),
            Some(m) => m.merge(part).unwrap(),
        }
    }
    let mut merged = merged.unwrap();
    if let Some(parts) = merged.parts.take() {
        assert!(parts.is_complete(), "{parts:?}");
    }
    merged.finish();
    merged
}

fn orders(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let forward: Vec<usize> = (1..=n).collect();
    let backward: Vec<usize> = (1..=n).rev().collect();
    let mut shuffled = forward.clone();
    let mut next = rng(seed ^ n as u64);
    for i in (1..shuffled.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        shuffled.swap(i, j);
    }
    vec![forward, backward, shuffled]
}

fn meta(key: &str, size: u64) -> ObjectMeta {
    ObjectMeta {
        location: Path::from(key),
        last_modified: as_of(),
        size,
        e_tag: None,
        version: None,
    }
}

/// The `By extension` section of a table: rows as (objects, label).
fn table_section(table: &str) -> Vec<(u64, String)> {
    let mut rows = Vec::new();
    let mut lines = table
        .lines()
        .skip_while(|l| !l.starts_with("By extension:"));
    lines.next();
    lines.next(); // header
    for line in lines {
        if line.trim().is_empty() {
            break;
        }
        let objects: u64 = line
            .split_whitespace()
            .next()
            .unwrap()
            .replace(',', "")
            .parse()
            .unwrap_or_else(|e| panic!("{line:?}: {e}"));
        let label = line.split("%  ").nth(1).unwrap_or("").to_string();
        rows.push((objects, label));
    }
    rows
}

fn ext_json(kept: &str) -> String {
    format!(
        r#"{{"kept": {{{kept}}}, "none": {{"objects": 0, "bytes": 0}}, "other": {{"objects": 0, "bytes": 0}}}}"#
    )
}

/// A whole report's JSON with `extensions` replaced by `extensions_json`.
fn report_json_with(extensions_json: &str) -> String {
    let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
    r.add("a.gz", &meta("a.gz", 3));
    let mut v: serde_json::Value = serde_json::to_value(&r).unwrap();
    v["extensions"] = serde_json::Value::Null;
    let text = serde_json::to_string(&v).unwrap();
    text.replace(
        r#""extensions":null"#,
        &format!(r#""extensions":{extensions_json}"#),
    )
}

fn no_raw_controls(text: &str) -> Result<(), String> {
    match text.char_indices().find(|(_, ch)| {
        ch.is_control() && *ch != '\n'
            || matches!(ch, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        None => Ok(()),
        Some((i, ch)) => Err(format!(
            "raw {ch:?} at {i}: {:?}",
            &text[i.saturating_sub(40)..(i + 40).min(text.len())]
        )),
    }
}

// ---------------------------------------------------------------------------------------
// 1. Exactness
// ---------------------------------------------------------------------------------------

/// HELD UP: random hostile keys (dots in folders, trailing dots, unicode tails, 16/17-byte
/// tails, mixed case, digits-only), scanned at concurrency 1, 2, 4, 8, with and without
/// key ranges at blocks 2, 7, 1000, equal an independent oracle over the listed keys
/// (kept, none, other = 0, get()) and kept+none+other = totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_scan_equals_oracle_at_any_concurrency_and_key_ranges() {
    for seed in 1..=4u64 {
        let pool = ext_pool(40, seed);
        let mut next = rng(seed);
        let mut keys: Vec<String> = (0..700).map(|_| random_key(&mut next, &pool)).collect();
        // a flat folder too, so key ranges cut it
        keys.extend((0..400).map(|i| format!("flat/{i:05}.{}", pool[i % pool.len()])));
        let (store, listed) = filled(&keys, seed).await;
        let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
        assert!(o.kept.len() > 10 && o.none.objects > 10, "{o:?}");
        for concurrency in [1, 2, 4, 8] {
            for (key_ranges, block) in [(false, 1000), (true, 2), (true, 7), (true, 1000)] {
                let r = scan(&store, None, &options(concurrency, key_ranges, block))
                    .await
                    .unwrap();
                check_exact(
                    &r,
                    &o,
                    &format!("seed {seed} c {concurrency} ranges {key_ranges} block {block}"),
                );
            }
        }
        // Under a prefix.
        let prefix = Path::from("flat");
        let under = oracle(
            listed
                .iter()
                .filter(|(k, _)| k.starts_with("flat/"))
                .map(|(k, s)| (k.as_str(), *s)),
        );
        for concurrency in [1, 4] {
            let r = scan(&store, Some(&prefix), &options(concurrency, true, 3))
                .await
                .unwrap();
            check_exact(&r, &under, &format!("prefix seed {seed} c {concurrency}"));
        }
    }
}

/// HELD UP: split scans (n = 2, 3, 7), parts merged forward, backward and shuffled, then
/// finished, equal one scan field for field (`Report: PartialEq`, extensions included)
/// and the oracle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_split_scans_merge_into_one_scan_in_any_order() {
    for seed in 1..=3u64 {
        let pool = ext_pool(60, seed);
        let mut next = rng(seed + 100);
        let mut keys: Vec<String> = (0..600).map(|_| random_key(&mut next, &pool)).collect();
        keys.extend((0..300).map(|i| format!("flat/{i:05}.{}", pool[(i * 7) % pool.len()])));
        let (store, listed) = filled(&keys, seed).await;
        let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
        for (concurrency, key_ranges, block) in [(1, false, 1000), (4, true, 5)] {
            let base = options(concurrency, key_ranges, block);
            let one = scan(&store, None, &base).await.unwrap();
            check_exact(&one, &o, "one scan");
            for n in [2, 3, 7] {
                for order in orders(n, seed) {
                    let merged = merged_parts(&store, None, &base, n, &order).await;
                    check_exact(&merged, &o, &format!("n {n} order {order:?}"));
                    assert_eq!(
                        merged, one,
                        "seed {seed} n {n} order {order:?} c {concurrency}"
                    );
                }
            }
        }
    }
}

/// HELD UP: exactly EXTENSION_LIMIT (1000) distinct extensions, split in 7 parts merged
/// in three orders, concurrency 1 and 4: exact, nothing in `other`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_exactly_the_limit_is_exact_in_split_scans() {
    let pool = ext_pool(EXTENSION_LIMIT, 9);
    let keys: Vec<String> = (0..EXTENSION_LIMIT + 500)
        .map(|i| {
            format!(
                "d{}/k{i}.{}",
                i % 5,
                pool[(i * 13) % pool.len()].to_uppercase()
            )
        })
        .collect();
    let (store, listed) = filled(&keys, 9).await;
    let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
    assert_eq!(o.kept.len(), EXTENSION_LIMIT);
    for concurrency in [1, 4] {
        let base = options(concurrency, true, 50);
        let one = scan(&store, None, &base).await.unwrap();
        check_exact(&one, &o, "one");
        for order in orders(7, 3) {
            let merged = merged_parts(&store, None, &base, 7, &order).await;
            check_exact(&merged, &o, &format!("7 parts {order:?}"));
            assert_eq!(merged, one);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(24)
    ))]

    /// HELD UP: proptest over keys from a tiny hostile alphabet (`.`, `/`, case, digits,
    /// `é`, `~`), random concurrency, key ranges, block and split n in 1..=7 with a
    /// rotated merge order: extensions equal the oracle and one scan's.
    #[test]
    fn held_proptest_scan_and_split_equal_oracle(
        raw in prop::collection::vec("[a.A0é~/]{1,10}", 1..120),
        concurrency in 1usize..6,
        key_ranges in any::<bool>(),
        block in 2usize..20,
        n in 1usize..8,
        rotate in 0usize..7,
    ) {
        let keys: Vec<String> = raw
            .into_iter()
            .map(|k| k.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/"))
            .filter(|k| !k.is_empty())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let (store, listed) = filled(&keys, 1).await;
            let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
            let base = options(concurrency, key_ranges, block);
            let one = scan(&store, None, &base).await.unwrap();
            check_exact(&one, &o, "one");
            let mut order: Vec<usize> = (1..=n).collect();
            order.rotate_left(rotate % n);
            let merged = merged_parts(&store, None, &base, n, &order).await;
            check_exact(&merged, &o, "merged");
            assert_eq!(merged, one);
        });
    }
}

// ---------------------------------------------------------------------------------------
// 2. The order trick
// ---------------------------------------------------------------------------------------

fn valid_ext() -> impl Strategy<Value = String> {
    "[a-z0-9]{1,16}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// HELD UP: for random sets of valid extensions (incl. digits-only and 16-byte),
    /// counted through `Report::add` with random case: JSON keys are in string order,
    /// each name round-trips exactly (unpack(pack)), `get` finds each, JSON -> Extensions
    /// -> JSON is identical, and `by_bytes` ties break by name.
    #[test]
    fn held_pack_order_and_round_trip(
        exts in prop::collection::btree_set(valid_ext(), 1..40),
        upper in any::<u64>(),
    ) {
        let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
        for (i, e) in exts.iter().enumerate() {
            let shown = if (upper >> (i % 64)) & 1 == 1 { e.to_uppercase() } else { e.clone() };
            let key = format!("dir/file.{shown}");
            r.add(&key, &meta(&key, 5)); // every size equal: by_bytes ties everywhere
        }
        let e = r.extensions.as_ref().unwrap();
        let names: Vec<String> = e.by_bytes().into_iter().map(|(n, _)| n).collect();
        let sorted: Vec<String> = exts.iter().cloned().collect();
        prop_assert_eq!(&names, &sorted, "by_bytes ties by name / round trip");
        for name in &sorted {
            prop_assert_eq!(e.get(name), Some(c(1, 5)));
        }
        let json = serde_json::to_string(e).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let _ = v;
        // key order in the text itself
        let mut at = 0;
        for name in &sorted {
            let needle = format!("\"{name}\":");
            let found = json[at..].find(&needle);
            prop_assert!(found.is_some(), "{} not after {} in {}", name, at, json);
            at += found.unwrap() + needle.len();
        }
        let back: Extensions = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(&back, e);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }
}

/// HELD UP: the corner names — "0", "00", "000", "0"x16, "9"x16, "z"x16, "a", "a0", "a00",
/// "0a" — keep string order (shorter prefix first, digits before letters) and round-trip.
#[test]
fn held_pack_corner_names() {
    let names = [
        "0".to_string(),
        "00".into(),
        "000".into(),
        "0".repeat(16),
        "0a".into(),
        "9".repeat(16),
        "a".into(),
        "a0".into(),
        "a00".into(),
        "z".repeat(15),
        "z".repeat(16),
    ];
    let kept: Vec<String> = names
        .iter()
        .map(|n| format!(r#""{n}": {{"objects": 1, "bytes": 1}}"#))
        .collect();
    let e: Extensions = serde_json::from_str(&ext_json(&kept.join(","))).unwrap();
    let back: Vec<String> = e.by_bytes().into_iter().map(|(n, _)| n).collect();
    let mut sorted = names.to_vec();
    sorted.sort();
    assert_eq!(back, sorted);
    for n in &names {
        assert_eq!(e.get(n), Some(c(1, 1)), "{n}");
        assert!(n.len() <= EXTENSION_MAX_BYTES);
    }
}

// ---------------------------------------------------------------------------------------
// 3. Hostile input
// ---------------------------------------------------------------------------------------

/// HELD UP: huge keys (1 MiB, 200k dots, 1 MiB tail), control characters, bidi
/// overrides, NULs, unicode, `%`-encoded tails, 16/17-byte tails: no panic, counted
/// exactly as the oracle (over the Path's string), and the table has no raw control or
/// bidi characters.
#[test]
fn held_hostile_keys_are_counted_safely_and_the_table_stays_clean() {
    let big_dots = ".".repeat(200_000) + "gz";
    let huge_tail = format!("x.{}", "a".repeat(1 << 20));
    let keys = vec![
        big_dots.clone(),
        format!("a/{big_dots}"),
        huge_tail,
        format!("{}.jpg", "b".repeat(1 << 20)),
        "x.\u{1b}[31m".to_string(),
        "x.jp\u{1b}g".to_string(),
        "x\u{1b}.jpg".to_string(),
        "x.\u{202e}gpj".to_string(),
        "x.gz\u{0}".to_string(),
        "x.\u{0}".to_string(),
        "x.ＪＰＧ".to_string(), // full-width
        "x.İ".to_string(),
        "x.ß".to_string(),
        "x.%41".to_string(),
        "x.a%".to_string(),
        "x.0123456789abcdef".to_string(),
        "x.0123456789abcdef0".to_string(),
        "x.tar.GZ".to_string(),
        "...".to_string(),
        "a.b/.c".to_string(),
        "a.b/c.".to_string(),
        "é.É".to_string(),
        "日本.語".to_string(),
    ];
    let mut r = Report::new(as_of(), 2, 10, 5).with_extensions(true);
    let mut truth = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let m = meta(key, i as u64 * 11);
        truth.push((m.location.to_string(), m.size));
        r.add(m.location.as_ref(), &m);
    }
    let o = oracle(truth.iter().map(|(k, s)| (k.as_str(), *s)));
    check_exact(&r, &o, "hostile keys");
    // Also straight through the raw (unencoded) text as a provider report would give it:
    // the oracle over raw keys yields only alnum names.
    let raw = oracle(keys.iter().map(|k| (k.as_str(), 1)));
    assert!(raw.kept.keys().all(|k| k
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())));
    let table = stratus::inventory::table::render(&r, "t");
    no_raw_controls(&table).unwrap();
}

/// HELD UP: extension names that are not extensions (upper case, empty, a dot, a slash,
/// ESC, BEL, NUL, DEL, C1 CSI, bidi override, unicode, 17 bytes, 1 MiB) in a whole
/// report's JSON are refused by `Report::load` with "is not an extension", the message
/// bounded and free of raw controls; never a panic.
#[test]
fn held_bad_names_in_a_report_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(1 << 20);
    let bad = [
        "JPG",
        "",
        ".",
        "a.b",
        "a/b",
        "jpg ",
        " jpg",
        "\\u001b[31m",
        "\\u0007",
        "\\u0000",
        "jpg\\u0000",
        "\\u007f",
        "\\u009b2J",
        "\\u202egpj",
        "日本",
        "ｊｐｇ",
        "0123456789abcdef0",
        long.as_str(),
    ];
    for name in bad {
        let json = report_json_with(&ext_json(&format!(
            r#""{name}": {{"objects": 1, "bytes": 2}}"#
        )));
        let path = dir.path().join("r.json");
        std::fs::write(&path, &json).unwrap();
        let err = Report::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("is not an extension"),
            "{name:.40}: {err:.300}"
        );
        assert!(
            err.len() < 600,
            "{name:.40}: message of {} bytes",
            err.len()
        );
        no_raw_controls(&err).unwrap_or_else(|e| panic!("{name:.40}: {e}"));
    }
}

/// FINDING, fixed (cosmetic): the refusal message doubles the backticks: `excerpt()` already
/// quotes its text in backticks and `Extensions::try_from` wraps it in backticks again,
/// so a user reads ``JPG`` is not an extension.
#[test]
fn finding_refusal_message_doubles_backticks() {
    let err = serde_json::from_str::<Extensions>(&ext_json(r#""JPG": {"objects": 1, "bytes": 2}"#))
        .unwrap_err()
        .to_string();
    assert!(!err.contains("``"), "{err}");
}

/// HELD UP: 1001 kept names are refused ("more than the 1000"); exactly 1000 are read;
/// `extensions: null` reads as not counted; a missing `kept`/`none`/`other` is refused,
/// not defaulted; a negative or fractional count is refused.
#[test]
fn held_too_many_and_malformed_sections() {
    let entry = |i: usize| format!(r#""e{i}": {{"objects": 1, "bytes": 1}}"#);
    let many: Vec<String> = (0..=EXTENSION_LIMIT).map(entry).collect();
    let err = serde_json::from_str::<Report>(&report_json_with(&ext_json(&many.join(","))))
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than the 1000"), "{err}");
    let exact: Vec<String> = (0..EXTENSION_LIMIT).map(entry).collect();
    let r: Report = serde_json::from_str(&report_json_with(&ext_json(&exact.join(",")))).unwrap();
    assert_eq!(r.extensions.unwrap().by_bytes().len(), EXTENSION_LIMIT);
    let r: Report = serde_json::from_str(&report_json_with("null")).unwrap();
    assert!(r.extensions.is_none());
    for bad in [
        r#"{}"#,
        r#"{"kept": {}, "none": {"objects": 0, "bytes": 0}}"#,
        r#"{"kept": [], "none": {"objects": 0, "bytes": 0}, "other": {"objects": 0, "bytes": 0}}"#,
        r#"{"kept": {"gz": {"objects": -1, "bytes": 0}}, "none": {"objects": 0, "bytes": 0}, "other": {"objects": 0, "bytes": 0}}"#,
        r#"{"kept": {"gz": {"objects": 1.5, "bytes": 0}}, "none": {"objects": 0, "bytes": 0}, "other": {"objects": 0, "bytes": 0}}"#,
        r#"{"kept": {"gz": {"objects": 18446744073709551616, "bytes": 0}}, "none": {"objects": 0, "bytes": 0}, "other": {"objects": 0, "bytes": 0}}"#,
        r#""jpg""#,
    ] {
        assert!(
            serde_json::from_str::<Report>(&report_json_with(bad)).is_err(),
            "{bad}"
        );
    }
}

/// FINDING, fixed: a duplicate name in `kept` is neither refused nor summed: serde's BTreeMap
/// keeps the last value, so `{"gz": 5 objects, "gz": 1 object}` reads as 1 object and
/// 5 objects vanish silently from the extension counts (kept + none + other no longer
/// equals the report's own totals, and a merge carries the loss on).
#[test]
fn finding_duplicate_names_silently_drop_counts() {
    let json = ext_json(r#""gz": {"objects": 5, "bytes": 50}, "gz": {"objects": 1, "bytes": 10}"#);
    match serde_json::from_str::<Extensions>(&json) {
        Err(e) => println!("refused: {e}"),
        Ok(e) => assert_eq!(
            e.get("gz"),
            Some(c(6, 60)),
            "duplicate `gz` neither refused nor summed"
        ),
    }
}

/// HELD UP (noted): absurd counts (u64::MAX in kept, none and other; kept sums far above
/// the report's own totals) are read (no cross-check with `objects`/`bytes`), merge
/// saturating without panic, and the table renders (a share above 100%) without panic.
#[test]
fn held_absurd_counts_are_counted_safely() {
    let max = u64::MAX;
    let json = format!(
        r#"{{"kept": {{"gz": {{"objects": {max}, "bytes": {max}}}, "jpg": {{"objects": 1, "bytes": {max}}}}}, "none": {{"objects": {max}, "bytes": {max}}}, "other": {{"objects": {max}, "bytes": 0}}}}"#
    );
    let mut a: Report = serde_json::from_str(&report_json_with(&json)).unwrap();
    let b = a.clone();
    a.merge(b).unwrap();
    let e = a.extensions.as_ref().unwrap();
    assert_eq!(e.get("gz"), Some(c(max, max)));
    assert_eq!(e.none(), c(max, max));
    let table = stratus::inventory::table::render(&a, "t");
    assert!(table.contains("By extension:"));
    no_raw_controls(&table).unwrap();
    println!("{}", &table[table.find("By extension").unwrap()..]);
}

// ---------------------------------------------------------------------------------------
// 4. The limit
// ---------------------------------------------------------------------------------------

/// HELD UP: 1,600 distinct extensions (past the limit) at concurrency 1 and 4 and split
/// in 2, 3, 7 parts merged in three orders: exactly 1000 kept, and kept + none + other
/// equals the totals (objects and bytes) every time, which equal one scan's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_past_the_limit_no_object_lost_or_doubled() {
    let pool = ext_pool(1600, 77);
    let mut next = rng(77);
    let mut keys: Vec<String> = (0..2400)
        .map(|i| format!("p{}/o{i}.{}", next() % 9, pool[i % pool.len()]))
        .collect();
    keys.extend((0..50).map(|i| format!("readme{i}")));
    let (store, listed) = filled(&keys, 77).await;
    let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
    assert_eq!(o.kept.len(), 1600);
    for concurrency in [1, 4] {
        let base = options(concurrency, true, 40);
        let one = scan(&store, None, &base).await.unwrap();
        assert_eq!((one.objects, one.bytes), (o.objects, o.bytes));
        let e = one.extensions.as_ref().unwrap();
        assert_eq!(e.by_bytes().len(), EXTENSION_LIMIT);
        assert_eq!(e.none(), o.none);
        assert!(e.other().objects > 0);
        conserved(&one);
        // every kept name is a real extension and never over-counted
        for (name, k) in e.by_bytes() {
            let truth = o
                .kept
                .get(&name)
                .unwrap_or_else(|| panic!("invented {name}"));
            assert!(
                k.objects <= truth.objects && k.bytes <= truth.bytes,
                "{name}"
            );
        }
        for n in [2, 3, 7] {
            for order in orders(n, 5) {
                let merged = merged_parts(&store, None, &base, n, &order).await;
                assert_eq!((merged.objects, merged.bytes), (o.objects, o.bytes));
                let m = merged.extensions.as_ref().unwrap();
                assert_eq!(m.by_bytes().len(), EXTENSION_LIMIT, "n {n} {order:?}");
                assert_eq!(m.none(), o.none);
                conserved(&merged);
                for (name, k) in m.by_bytes() {
                    let truth = o.kept.get(&name).unwrap();
                    assert!(k.objects <= truth.objects && k.bytes <= truth.bytes);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// 5. Everything else
// ---------------------------------------------------------------------------------------

/// HELD UP: a part counted with extensions merged with a part without (either order)
/// gives `None`, not a short sum; every other figure still merges; the merged JSON has
/// no `extensions`, and reads back as not counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_mixed_some_none_merge_to_none() {
    let keys: Vec<String> = (0..200)
        .map(|i| format!("d{}/f{i}.e{}", i % 4, i % 9))
        .collect();
    let (store, _) = filled(&keys, 3).await;
    let on = options(2, false, 1000);
    let off = on.clone().with_extensions(false);
    let one = scan(&store, None, &on).await.unwrap();
    for (first_on, second_on) in [(true, false), (false, true)] {
        let p1 = scan(
            &store,
            None,
            &(if first_on { &on } else { &off }).clone().with_part(1, 2),
        )
        .await
        .unwrap();
        let p2 = scan(
            &store,
            None,
            &(if second_on { &on } else { &off }).clone().with_part(2, 2),
        )
        .await
        .unwrap();
        assert_eq!(p1.extensions.is_some(), first_on);
        let mut m = p1;
        m.merge(p2).unwrap();
        m.parts = None;
        m.finish();
        assert!(m.extensions.is_none());
        assert_eq!((m.objects, m.bytes), (one.objects, one.bytes));
        let json = serde_json::to_string(&m).unwrap();
        assert!(!json.contains("\"extensions\""));
        let back: Report = serde_json::from_str(&json).unwrap();
        assert!(back.extensions.is_none());
        assert!(!stratus::inventory::table::render(&back, "t").contains("By extension"));
    }
}

/// FINDING, fixed (API): `Report::with_extensions(true)` on a report that already counted
/// objects replaces its counts with an empty `Extensions` (objects > 0, every extension
/// count 0), and `with_extensions(true)` on a report read back from JSON silently throws
/// away its extensions; it should keep existing counts (`get_or_insert_default`) or be
/// documented as for empty reports only.
#[test]
fn finding_with_extensions_true_discards_counts() {
    let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
    r.add("a.gz", &meta("a.gz", 3));
    let r = r.with_extensions(true);
    conserved(&r);
}

/// HELD UP: the table with 25 extensions, names without one and extensions past the
/// limit: 10 rows, one "(15 more extensions)" row, "(no extension)", the "other" row;
/// the objects of the rows sum to the report's objects; most bytes first.
#[test]
fn held_table_with_more_than_ten_extensions() {
    let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
    let mut n = 0u64;
    for i in 0..EXTENSION_LIMIT + 25 {
        let key = format!("f{i}.e{i}");
        r.add(&key, &meta(&key, (i as u64 % 50) + 1));
        n += 1;
    }
    for i in 0..7 {
        let key = format!("README{i}");
        r.add(&key, &meta(&key, 0));
        n += 1;
    }
    let table = stratus::inventory::table::render(&r, "t");
    let rows = table_section(&table);
    assert_eq!(rows.iter().map(|(o, _)| o).sum::<u64>(), n, "{rows:?}");
    assert_eq!(rows.len(), 10 + 3, "{rows:?}");
    assert_eq!(
        rows[10].1,
        format!("({} more extensions)", EXTENSION_LIMIT - 10)
    );
    assert_eq!(rows[11].1, "(no extension)");
    assert!(rows[12].1.starts_with("(other"), "{rows:?}");
    no_raw_controls(&table).unwrap();
    // Exactly 10: no "more" row; 11: "(1 more extensions)".
    for (count, more) in [(10usize, None), (11, Some("(1 more extensions)"))] {
        let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
        for i in 0..count {
            let key = format!("f.e{i}");
            r.add(&key, &meta(&key, 1));
        }
        let rows = table_section(&stratus::inventory::table::render(&r, "t"));
        assert_eq!(rows.len(), count.min(10) + usize::from(more.is_some()));
        if let Some(more) = more {
            assert_eq!(rows.last().unwrap().1, more);
        }
    }
}

/// FINDING, fixed (nit): `Extensions::get` does not check its argument: `get("gz\0")` (a name
/// with NUL padding) returns the counts of `gz` (pack zero-pads), while `get("GZ")` is
/// None. Only a caller passing odd text is affected.
#[test]
fn finding_get_accepts_nul_padded_names() {
    let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
    r.add("a.gz", &meta("a.gz", 3));
    let e = r.extensions.unwrap();
    assert_eq!(e.get("gz"), Some(c(1, 3)));
    assert_eq!(e.get("GZ"), None);
    assert_eq!(e.get(""), None);
    assert_eq!(e.get(&"g".repeat(17)), None);
    assert_eq!(e.get("gz\0"), None, "gz\\0 finds gz");
}

/// HELD UP: the HTML page's extension section escapes and lists every kept extension,
/// and "no extension"/"other" rows; data-objects sum to the report's objects.
#[cfg(feature = "html")]
#[test]
fn held_html_extension_section() {
    let mut r = Report::new(as_of(), 1, 10, 5).with_extensions(true);
    for i in 0..EXTENSION_LIMIT + 3 {
        let key = format!("<b>{i}.e{i}");
        r.add(&key, &meta(&key, 2));
    }
    r.add("x.\u{1b}", &meta("x.\u{1b}", 1));
    let page = stratus::inventory::html::render(&r, "t");
    let start = page.find("id=\"extensions\"").unwrap();
    let section = &page[start..start + page[start..].find("</section>").unwrap()];
    no_raw_controls(section).unwrap();
    let sum: u64 = section
        .split("data-objects=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].parse::<u64>().unwrap())
        .sum();
    assert_eq!(sum, r.objects);
    assert!(section.contains("no extension"));
    assert!(section.contains("other: extensions past the first 1000"));
}

use common::alloc;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// FINDING, fixed (low, memory): the 1000-entry limit is checked only after the whole `kept`
/// map is materialised (`Stored.kept: BTreeMap<String, Counts>`, then `TryFrom`), so a
/// report file (up to MAX_REPORT_BYTES = 256 MiB) with millions of names makes a map
/// about twice the text's size before it is refused. Measured here at 200k entries:
/// the peak held while refusing, against the ~100 KB a limit's worth would need.
#[test]
fn finding_too_many_names_are_materialised_before_refusal() {
    let _serial = alloc::SERIAL.lock().unwrap();
    let entries: Vec<String> = (0..200_000)
        .map(|i| format!(r#""e{i}":{{"objects":1,"bytes":1}}"#))
        .collect();
    let json = ext_json(&entries.join(","));
    drop(entries);
    let before = alloc::CURRENT.load(std::sync::atomic::Ordering::Relaxed);
    alloc::PEAK.store(before, std::sync::atomic::Ordering::Relaxed);
    let err = serde_json::from_str::<Extensions>(&json)
        .unwrap_err()
        .to_string();
    let peak = alloc::PEAK.load(std::sync::atomic::Ordering::Relaxed) - before;
    println!(
        "json {} bytes, peak while refusing {} bytes: {err}",
        json.len(),
        peak
    );
    assert!(err.contains("more than the 1000"), "{err}");
    assert!(
        peak < 1 << 20,
        "refusing {} bytes of JSON held {peak} bytes at peak",
        json.len()
    );
}

/// HELD UP: past the limit, six repeated scans at concurrency 8 with key ranges keep the
/// same extensions as the first (on an in-memory store), and each conserves the totals.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_past_the_limit_parallel_scans_repeat() {
    let pool = ext_pool(1500, 31);
    let keys: Vec<String> = (0..3000)
        .map(|i| format!("p{}/q{}/o{i}.{}", i % 7, i % 3, pool[(i * 7) % pool.len()]))
        .collect();
    let (store, _) = filled(&keys, 31).await;
    let base = options(8, true, 20);
    let first = scan(&store, None, &base).await.unwrap();
    conserved(&first);
    let mut differing = 0;
    for _ in 0..6 {
        let again = scan(&store, None, &base).await.unwrap();
        conserved(&again);
        if again.extensions != first.extensions {
            differing += 1;
        }
    }
    println!("past the limit: {differing} of 6 repeated scans differ from the first");
    // HELD UP if 0; otherwise an observation (documented as not exact past the limit).
}

/// HELD UP: a provider inventory report (an export of the store, read back through
/// `reports::read`, parquet files of 7 rows) counts the same extensions as the listing
/// and the oracle, for hostile random keys.
#[cfg(feature = "reports")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_provider_report_counts_the_same_extensions_as_the_listing() {
    use std::sync::Arc;
    use stratus::inventory::export::{export, ExportOptions};
    use stratus::inventory::reports;
    let pool = ext_pool(30, 5);
    let mut next = rng(5);
    let keys: Vec<String> = (0..400).map(|_| random_key(&mut next, &pool)).collect();
    let (store, listed) = filled(&keys, 5).await;
    let o = oracle(listed.iter().map(|(k, s)| (k.as_str(), *s)));
    let dest: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let options = options(4, true, 10);
    let (listing, written) = export(
        &store,
        None,
        &options,
        Arc::clone(&dest),
        Some(&Path::from("exports")),
        &ExportOptions::default()
            .with_rows_per_file(7)
            .with_row_group_rows(3),
    )
    .await
    .unwrap();
    check_exact(&listing, &o, "listing");
    let back = reports::read(dest, &written.manifest, None, &options)
        .await
        .unwrap();
    check_exact(&back, &o, "read back");
    assert_eq!(back.extensions, listing.extensions);
}
