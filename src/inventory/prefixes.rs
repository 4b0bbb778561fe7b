//! Per-prefix totals down to a depth, in bounded memory, exact and order-independent.
//!
//! A prefix's total includes everything below it (like `du --max-depth`): with depth 2,
//! `logs/2026/10/app.log` counts towards `logs` and `logs/2026`. Objects directly under
//! the scanned prefix belong to no entry (they are in the report's totals).
//!
//! **Bounded.** At most `limit` prefixes are kept: those with the most bytes (ties: more
//! objects, then the smaller name). A parent always has at least its children's bytes, so
//! a kept prefix's parent is kept too and the kept set reads as a tree. The rest are
//! counted in [`Other`].
//!
//! **Streaming.** Every key below a prefix is contiguous in a listing: S3, GCS, Azure and
//! memory list in key order, the local filesystem walks depth-first. So one open entry per
//! level (a stack at most `depth` long) suffices: when the listing leaves a prefix, its
//! total is final and it is offered to the bounded set. A partition of the key space that
//! is a whole subtree (see how `scan` partitions, in `mod.rs`) completes everything below its root; its root and
//! the root's ancestors stay *open* and are summed with the other partitions' open
//! entries when reports merge, then completed by `finish`. Merging is therefore exact and
//! commutative. (A store that listed a prefix's keys non-contiguously would get that
//! prefix's pieces added together when both are kept, and counted twice in
//! `other.prefixes` when not.)
//!
//! **Unordered rows.** Provider inventory reports list objects in no particular order, so
//! the stack above does not apply. `Tally` sums every prefix down to the depth in a hash
//! map instead, then offers each total to the same bounded set: the kept entries and
//! `other` are then exactly what a listing of the same objects gives. The map holds at
//! most `tracked` prefixes (every distinct prefix at every level counts one). Past that
//! bound, a prefix met for the first time is **not tracked**: its objects still count in
//! the report's totals and in every tracked ancestor, and its objects and bytes are added
//! to [`PrefixBreakdown::untracked`] at its level, so the breakdown says how much it
//! misses (`is_exact()` is false). An untracked top-level prefix's objects are also
//! counted in `other` (they lie below a top-level prefix that is not kept); `other.prefixes`
//! does not count untracked prefixes (they were never seen whole).

use super::histogram::Counts;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
#[cfg(feature = "reports")]
use std::collections::HashMap;
use std::collections::{BTreeMap, BTreeSet};

/// One prefix's totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixEntry {
    /// The prefix, relative to the scanned prefix, without a trailing `/`.
    pub prefix: String,
    /// Its depth: the number of segments in `prefix`.
    pub depth: usize,
    /// Objects below it, at any depth.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What the kept prefixes leave out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Other {
    /// How many prefixes (any depth) were not kept.
    pub prefixes: u64,
    /// Objects below top-level (depth 1) prefixes that were not kept.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// The bounded per-prefix breakdown of a [`Report`](super::Report).
///
/// JSON: `{"depth": 2, "limit": 1000, "entries": [PrefixEntry...], "other": Other}`;
/// `entries` sorted by bytes, largest first. A report that is not finished (a partition's)
/// also has `"open": [PrefixEntry...]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "BreakdownJson", from = "BreakdownJson")]
pub struct PrefixBreakdown {
    depth: usize,
    limit: usize,
    /// Complete, kept entries by name: (depth, counts).
    kept: BTreeMap<String, (usize, Counts)>,
    /// The kept entries ordered for eviction: the first is the one to drop.
    rank: BTreeSet<RankKey>,
    other: Other,
    /// Entries whose totals are not final yet (partition roots and their ancestors).
    open: BTreeMap<String, (usize, Counts)>,
    /// The prefixes the listing is inside now, outermost first.
    stack: Vec<(String, Counts)>,
    /// Per level (index 0: depth 1), what belongs to prefixes a `Tally` could not track.
    untracked: Vec<Counts>,
    /// A partition that starts inside the key space (a key range): the next key's
    /// prefixes may have begun in the range before, so they are not complete when they
    /// close here (see [`Self::resume`]).
    resuming: bool,
    /// The stack levels (outermost first) entered by the partition's first key while
    /// `resuming`: closing one of them makes it open, not complete.
    resumed: usize,
}

/// Eviction order: fewest bytes, then fewest objects, then the larger name goes first.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RankKey(u64, u64, Reverse<String>);

impl RankKey {
    fn new(name: &str, counts: Counts) -> Self {
        Self(counts.bytes, counts.objects, Reverse(name.to_string()))
    }

    fn beats(&self, other: &RankKey) -> bool {
        self > other
    }
}

impl PrefixBreakdown {
    /// Totals for prefixes down to `depth` segments (0: none), keeping at most `limit`.
    pub fn new(depth: usize, limit: usize) -> Self {
        Self {
            depth,
            limit,
            kept: BTreeMap::new(),
            rank: BTreeSet::new(),
            other: Other::default(),
            open: BTreeMap::new(),
            stack: Vec::new(),
            untracked: Vec::new(),
            resuming: false,
            resumed: 0,
        }
    }

    /// The partition about to be filled starts at a key, not at the start of a prefix
    /// (a key range): the prefixes of its first key may have begun before it, so they
    /// stay open when they close here, and their totals are completed by [`Self::merge`]
    /// and [`Self::finish`] with the other pieces.
    pub(crate) fn resume(&mut self) {
        self.resuming = true;
    }

    /// Account one object whose key, relative to the scanned prefix, is `relative`.
    ///
    /// The hot path of a scan: one pass over the key's bytes up to the `depth`-th `/`,
    /// comparing only each new segment with the open prefix at that level (the levels
    /// above matched already); it allocates only when the listing enters a new prefix.
    pub(crate) fn add(&mut self, relative: &str, size: u64) {
        let bytes = relative.as_bytes();
        let mut level = 0;
        let mut start = 0;
        while level < self.depth {
            // Walk the segment, comparing it with the open prefix at this level as we go.
            let open = self.stack.get(level).map(|(name, _)| name.as_bytes());
            // `>=`: an empty segment (`a//b`, `/y`) is the open prefix when that ends
            // where the segment would begin.
            let mut same = open.is_some_and(|o| o.len() >= start);
            let mut end = start;
            while end < bytes.len() && bytes[end] != b'/' {
                same = same && open.is_some_and(|o| o.get(end) == Some(&bytes[end]));
                end += 1;
            }
            if end == bytes.len() {
                break; // the object's own name: not a prefix
            }
            if same && open.is_some_and(|o| o.len() == end) {
                self.stack[level].1.add(size);
            } else {
                self.close_from(level);
                let mut counts = Counts::default();
                counts.add(size);
                self.stack.push((relative[..end].to_string(), counts));
            }
            level += 1;
            start = end + 1;
        }
        // A key with fewer folders than the stack is deep leaves the deeper prefixes.
        self.close_from(level);
        if self.resuming {
            self.resuming = false;
            self.resumed = self.stack.len();
        }
    }

    /// Complete the stack entries at `level` and deeper.
    fn close_from(&mut self, level: usize) {
        while self.stack.len() > level {
            let (name, counts) = self.stack.pop().expect("non-empty");
            let depth = self.stack.len() + 1;
            if self.stack.len() < self.resumed {
                // Entered by a resumed partition's first key: it may have begun before.
                self.resumed = self.stack.len();
                self.open
                    .entry(name)
                    .or_insert((depth, Counts::default()))
                    .1
                    .merge(counts);
            } else {
                self.complete(name, depth, counts);
            }
        }
    }

    /// Offer a complete entry to the bounded set.
    fn complete(&mut self, name: String, depth: usize, counts: Counts) {
        if let Some((_, existing)) = self.kept.get_mut(&name) {
            // Only for a non-contiguous listing: add the pieces up.
            self.rank.remove(&RankKey::new(&name, *existing));
            existing.merge(counts);
            self.rank.insert(RankKey::new(&name, *existing));
            return;
        }
        let key = RankKey::new(&name, counts);
        if self.kept.len() < self.limit {
            self.kept.insert(name, (depth, counts));
            self.rank.insert(key);
            return;
        }
        match self.rank.first() {
            Some(worst) if key.beats(worst) => {
                let worst = self.rank.pop_first().expect("non-empty");
                let (depth_out, counts_out) =
                    self.kept.remove(&worst.2 .0).expect("ranked is kept");
                self.fold(depth_out, counts_out);
                self.kept.insert(name, (depth, counts));
                self.rank.insert(key);
            }
            _ => self.fold(depth, counts),
        }
    }

    fn fold(&mut self, depth: usize, counts: Counts) {
        self.other.prefixes += 1;
        if depth == 1 {
            self.other.objects = self.other.objects.saturating_add(counts.objects);
            self.other.bytes = self.other.bytes.saturating_add(counts.bytes);
        }
    }

    /// End of a partition: what is still on the stack is open (its total may continue in
    /// another partition).
    pub(crate) fn end_partition(&mut self) {
        (self.resuming, self.resumed) = (false, 0);
        while let Some((name, counts)) = self.stack.pop() {
            let depth = self.stack.len() + 1;
            self.open
                .entry(name)
                .or_insert((depth, Counts::default()))
                .1
                .merge(counts);
        }
    }

    /// Combine with another partition's breakdown (same depth and limit).
    pub(crate) fn merge(&mut self, mut other: PrefixBreakdown) {
        self.end_partition();
        other.end_partition();
        for (name, (depth, counts)) in other.kept {
            self.complete(name, depth, counts);
        }
        self.other.prefixes = self.other.prefixes.saturating_add(other.other.prefixes);
        self.other.objects = self.other.objects.saturating_add(other.other.objects);
        self.other.bytes = self.other.bytes.saturating_add(other.other.bytes);
        add_levels(&mut self.untracked, &other.untracked);
        for (name, (depth, counts)) in other.open {
            self.open
                .entry(name)
                .or_insert((depth, Counts::default()))
                .1
                .merge(counts);
        }
    }

    /// All partitions are in: every open entry is complete.
    pub(crate) fn finish(&mut self) {
        self.end_partition();
        for (name, (depth, counts)) in std::mem::take(&mut self.open) {
            self.complete(name, depth, counts);
        }
    }

    /// The configured depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The configured bound on kept entries.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The kept entries, most bytes first.
    pub fn entries(&self) -> Vec<PrefixEntry> {
        self.rank
            .iter()
            .rev()
            .map(|RankKey(_, _, Reverse(name))| {
                let (depth, counts) = self.kept[name];
                PrefixEntry {
                    prefix: name.clone(),
                    depth,
                    objects: counts.objects,
                    bytes: counts.bytes,
                }
            })
            .collect()
    }

    /// The kept entries in tree order (by name; a parent before its children).
    pub fn tree(&self) -> Vec<PrefixEntry> {
        let mut entries = self.entries();
        entries.sort_by(|a, b| a.prefix.split('/').cmp(b.prefix.split('/')));
        entries
    }

    /// What the kept entries leave out.
    pub fn other(&self) -> Other {
        self.other
    }

    /// Per level (index 0: depth 1), the objects and bytes below prefixes that were not
    /// tracked (only for unordered rows past the tracking bound; see the module docs).
    /// Empty when every prefix was tracked.
    pub fn untracked(&self) -> &[Counts] {
        &self.untracked
    }

    /// Whether every prefix down to the depth was accounted: false when a `Tally` met
    /// more distinct prefixes than it may track.
    pub fn is_exact(&self) -> bool {
        self.untracked.iter().all(Counts::is_empty)
    }

    /// Whether partitions' totals are still pending (before `finish`).
    pub fn is_finished(&self) -> bool {
        self.open.is_empty() && self.stack.is_empty()
    }

    fn open_entries(&self) -> Vec<PrefixEntry> {
        let stack_depths = self
            .stack
            .iter()
            .enumerate()
            .map(|(i, (n, c))| (n, i + 1, *c));
        let mut all: BTreeMap<&String, (usize, Counts)> =
            self.open.iter().map(|(n, (d, c))| (n, (*d, *c))).collect();
        for (name, depth, counts) in stack_depths {
            all.entry(name)
                .or_insert((depth, Counts::default()))
                .1
                .merge(counts);
        }
        all.into_iter()
            .map(|(name, (depth, c))| PrefixEntry {
                prefix: name.clone(),
                depth,
                objects: c.objects,
                bytes: c.bytes,
            })
            .collect()
    }
}

#[derive(Serialize, Deserialize)]
struct BreakdownJson {
    depth: usize,
    limit: usize,
    entries: Vec<PrefixEntry>,
    other: Other,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    open: Vec<PrefixEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    untracked: Vec<Counts>,
}

impl From<PrefixBreakdown> for BreakdownJson {
    fn from(b: PrefixBreakdown) -> Self {
        BreakdownJson {
            depth: b.depth,
            limit: b.limit,
            entries: b.entries(),
            other: b.other,
            open: b.open_entries(),
            untracked: b.untracked,
        }
    }
}

impl From<BreakdownJson> for PrefixBreakdown {
    fn from(json: BreakdownJson) -> Self {
        let mut b = PrefixBreakdown::new(json.depth, json.limit);
        for e in json.entries {
            let counts = Counts {
                objects: e.objects,
                bytes: e.bytes,
            };
            b.complete(e.prefix, e.depth, counts);
        }
        b.other = json.other;
        for e in json.open {
            let counts = Counts {
                objects: e.objects,
                bytes: e.bytes,
            };
            b.open.insert(e.prefix, (e.depth, counts));
        }
        b.untracked = json.untracked;
        b
    }
}

/// Add `from` into `into` level by level.
fn add_levels(into: &mut Vec<Counts>, from: &[Counts]) {
    if into.len() < from.len() {
        into.resize(from.len(), Counts::default());
    }
    for (a, b) in into.iter_mut().zip(from) {
        a.merge(*b);
    }
}

#[cfg(feature = "reports")]
type FastMap<V> = HashMap<Box<str>, V, foldhash::fast::RandomState>;

/// Per-prefix totals over rows in any order (see the module docs): a hash map of every
/// prefix down to the depth, bounded by `tracked` entries, turned into a
/// [`PrefixBreakdown`] by `Tally::into_breakdown`.
///
/// Concurrent readers each fill a small tally of their own and `Tally::drain_into` a
/// shared one when it fills (`Tally::with_bound`) and at their end, so memory stays at the
/// shared bound plus one small tally per reader.
#[cfg(feature = "reports")]
#[derive(Debug)]
pub(crate) struct Tally {
    depth: usize,
    bound: usize,
    /// The most bytes of prefix names `map` may hold: a count alone bounds nothing when a
    /// name can be a kilobyte (a key's length).
    name_bound: usize,
    /// Bytes of prefix names in `map`.
    names: usize,
    map: FastMap<(usize, Counts)>,
    untracked: Vec<Counts>,
}

/// The name bytes a tally of `n` prefixes may hold: 64 a prefix on average (real
/// prefixes take a few dozen), so the names never outweigh the entries' own overhead by
/// much.
#[cfg(feature = "reports")]
pub(crate) const NAME_BYTES_PER_PREFIX: usize = 64;

#[cfg(feature = "reports")]
impl Tally {
    /// Totals down to `depth` segments, for at most `bound` distinct prefixes whose names
    /// take at most [`NAME_BYTES_PER_PREFIX`] bytes each on average.
    pub(crate) fn with_bound(depth: usize, bound: usize) -> Self {
        Self::with_bounds(depth, bound, bound.saturating_mul(NAME_BYTES_PER_PREFIX))
    }

    /// Totals down to `depth` segments, for at most `bound` distinct prefixes whose names
    /// take at most `name_bound` bytes in all.
    pub(crate) fn with_bounds(depth: usize, bound: usize, name_bound: usize) -> Self {
        Self {
            depth,
            bound,
            name_bound,
            names: 0,
            map: FastMap::default(),
            untracked: Vec::new(),
        }
    }

    /// Whether the object `relative` could exceed a bound: it adds up to `depth` prefixes,
    /// each at most as long as it is.
    pub(crate) fn is_full(&self, relative: &str) -> bool {
        self.map.len() + self.depth > self.bound
            || self.names + self.depth.saturating_mul(relative.len()) > self.name_bound
    }

    /// Account one object whose key, relative to the report's prefix, is `relative`.
    /// A local tally must not be full (drain it first); the shared one may be.
    pub(crate) fn add(&mut self, relative: &str, size: u64) {
        let bytes = relative.as_bytes();
        let mut from = 0;
        for depth in 1..=self.depth {
            let Some(slash) = bytes[from..].iter().position(|&b| b == b'/') else {
                break; // the object's own name: not a prefix
            };
            let end = from + slash;
            self.add_entry(
                &relative[..end],
                depth,
                Counts {
                    objects: 1,
                    bytes: size,
                },
            );
            from = end + 1;
        }
    }

    fn add_entry(&mut self, prefix: &str, depth: usize, counts: Counts) {
        if let Some((_, existing)) = self.map.get_mut(prefix) {
            existing.merge(counts);
        } else if self.has_room(prefix) {
            self.names += prefix.len();
            self.map.insert(prefix.into(), (depth, counts));
        } else {
            add_levels(&mut self.untracked, &level_counts(depth, counts));
        }
    }

    /// Whether a new prefix named `prefix` fits both bounds.
    fn has_room(&self, prefix: &str) -> bool {
        self.map.len() < self.bound && self.names + prefix.len() <= self.name_bound
    }

    /// Move every total into `shared` (which applies its own bound), leaving this empty.
    pub(crate) fn drain_into(&mut self, shared: &mut Tally) {
        self.names = 0;
        for (prefix, (depth, counts)) in self.map.drain() {
            if let Some((_, existing)) = shared.map.get_mut(&prefix) {
                existing.merge(counts);
            } else if shared.has_room(&prefix) {
                shared.names += prefix.len();
                shared.map.insert(prefix, (depth, counts));
            } else {
                add_levels(&mut shared.untracked, &level_counts(depth, counts));
            }
        }
        add_levels(&mut shared.untracked, &std::mem::take(&mut self.untracked));
    }

    /// Offer every total to a bounded breakdown of `limit` entries.
    pub(crate) fn into_breakdown(self, limit: usize) -> PrefixBreakdown {
        let mut breakdown = PrefixBreakdown::new(self.depth, limit);
        for (prefix, (depth, counts)) in self.map {
            breakdown.complete(prefix.into(), depth, counts);
        }
        if let Some(top) = self.untracked.first() {
            breakdown.other.objects = breakdown.other.objects.saturating_add(top.objects);
            breakdown.other.bytes = breakdown.other.bytes.saturating_add(top.bytes);
        }
        breakdown.untracked = self.untracked;
        breakdown
    }
}

/// `counts` at level `depth` (1-based), nothing at the levels above.
#[cfg(feature = "reports")]
fn level_counts(depth: usize, counts: Counts) -> Vec<Counts> {
    let mut levels = vec![Counts::default(); depth];
    levels[depth - 1] = counts;
    levels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakdown(depth: usize, limit: usize, keys: &[(&str, u64)]) -> PrefixBreakdown {
        let mut b = PrefixBreakdown::new(depth, limit);
        for (k, s) in keys {
            b.add(k, *s);
        }
        b.finish();
        b
    }

    fn names(b: &PrefixBreakdown) -> Vec<(String, u64, u64)> {
        b.tree()
            .into_iter()
            .map(|e| (e.prefix, e.objects, e.bytes))
            .collect()
    }

    const KEYS: &[(&str, u64)] = &[
        ("a/1", 1),
        ("a/b/2", 2),
        ("a/b/c/3", 3),
        ("a/d/4", 4),
        ("a/z", 5),
        ("root.txt", 100),
        ("x/y/z/w", 6),
    ];

    #[test]
    fn totals_are_hierarchical_to_the_depth() {
        let b = breakdown(2, 100, KEYS);
        assert_eq!(
            names(&b),
            [
                ("a".into(), 5, 15),
                ("a/b".into(), 2, 5),
                ("a/d".into(), 1, 4),
                ("x".into(), 1, 6),
                ("x/y".into(), 1, 6),
            ]
        );
        assert_eq!(b.other(), Other::default());
        assert!(breakdown(0, 100, KEYS).entries().is_empty());
    }

    #[test]
    fn bound_keeps_the_biggest_and_folds_the_rest() {
        let b = breakdown(2, 2, KEYS);
        assert_eq!(names(&b), [("a".into(), 5, 15), ("x".into(), 1, 6)]);
        // Dropped: a/b, a/d, x/y (depth 2: no objects added to other).
        assert_eq!(
            b.other(),
            Other {
                prefixes: 3,
                objects: 0,
                bytes: 0
            }
        );
        let b = breakdown(1, 1, KEYS);
        assert_eq!(names(&b), [("a".into(), 5, 15)]);
        assert_eq!(
            b.other(),
            Other {
                prefixes: 1,
                objects: 1,
                bytes: 6
            }
        );
    }

    #[test]
    fn partitions_merge_exactly_in_any_order() {
        let whole = breakdown(2, 3, KEYS);
        // Partitions as the planner makes them: whole subtrees plus direct objects.
        let parts: [&[(&str, u64)]; 5] = [
            &[("a/1", 1), ("a/z", 5)],
            &[("a/b/2", 2), ("a/b/c/3", 3)],
            &[("a/d/4", 4)],
            &[("root.txt", 100)],
            &[("x/y/z/w", 6)],
        ];
        for order in [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 4, 1, 3]] {
            let mut merged = PrefixBreakdown::new(2, 3);
            for i in order {
                let mut part = PrefixBreakdown::new(2, 3);
                for (k, s) in parts[i] {
                    part.add(k, *s);
                }
                merged.merge(part);
            }
            merged.finish();
            assert_eq!(names(&merged), names(&whole), "order {order:?}");
            assert_eq!(merged.other(), whole.other(), "order {order:?}");
        }
    }

    #[test]
    fn json_round_trip_keeps_open_entries() {
        let mut b = PrefixBreakdown::new(2, 10);
        for (k, s) in KEYS {
            b.add(k, *s);
        }
        let json = serde_json::to_string(&b).unwrap();
        assert!(json.contains("\"open\""), "{json}");
        let mut back: PrefixBreakdown = serde_json::from_str(&json).unwrap();
        back.finish();
        b.finish();
        assert_eq!(names(&back), names(&b));
    }

    /// Shuffled keys, many prefixes at two levels: what a report's rows look like.
    #[cfg(feature = "reports")]
    fn unordered_keys(seed: u64) -> Vec<(String, u64)> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut keys: Vec<(String, u64)> = (0..3000)
            .map(|i| {
                let key = match next() % 4 {
                    0 => format!("f{i}"),
                    1 => format!("t{}/f{i}", next() % 13),
                    _ => format!("t{}/s{}/x/f{i}", next() % 13, next() % 17),
                };
                (key, next() % 10_000)
            })
            .collect();
        for i in (1..keys.len()).rev() {
            keys.swap(i, (next() as usize) % (i + 1));
        }
        keys
    }

    #[cfg(feature = "reports")]
    #[test]
    fn a_tally_of_unordered_rows_equals_the_listing_in_key_order() {
        for seed in 1..4 {
            let keys = unordered_keys(seed);
            let mut sorted = keys.clone();
            sorted.sort();
            let mut listing = PrefixBreakdown::new(2, 40);
            for (k, s) in &sorted {
                listing.add(k, *s);
            }
            listing.finish();
            // Through small local tallies drained into a shared one, as readers do.
            let mut shared = Tally::with_bound(2, 1_000);
            let mut local = Tally::with_bound(2, 50);
            for (k, s) in &keys {
                if local.is_full(k) {
                    local.drain_into(&mut shared);
                }
                local.add(k, *s);
            }
            local.drain_into(&mut shared);
            let tallied = shared.into_breakdown(40);
            assert_eq!(names(&tallied), names(&listing), "seed {seed}");
            assert_eq!(tallied.other(), listing.other(), "seed {seed}");
            assert!(tallied.is_exact());
            assert!(names(&listing).len() == 40 && listing.other().prefixes > 0);
        }
    }

    // ---- Empty path segments against an independent oracle ----

    /// The oracle: every key's prefixes down to `depth`, computed directly (split on `/`,
    /// the last piece is the object's own name), then the `limit` with the most bytes
    /// (ties: more objects, then the smaller name) kept and the rest in `other`.
    fn oracle(
        depth: usize,
        limit: usize,
        keys: &[(String, u64)],
    ) -> (Vec<(String, usize, u64, u64)>, Other) {
        let mut all: BTreeMap<String, (usize, u64, u64)> = BTreeMap::new();
        for (key, size) in keys {
            let pieces: Vec<&str> = key.split('/').collect();
            for level in 1..pieces.len().min(depth + 1) {
                let name = pieces[..level].join("/");
                let e = all.entry(name).or_insert((level, 0, 0));
                e.1 += 1;
                e.2 += size;
            }
        }
        let mut ranked: Vec<(String, usize, u64, u64)> =
            all.into_iter().map(|(n, (d, o, b))| (n, d, o, b)).collect();
        ranked.sort_by(|a, b| b.3.cmp(&a.3).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
        let mut other = Other::default();
        for (_, d, o, b) in ranked.iter().skip(limit) {
            other.prefixes += 1;
            if *d == 1 {
                other.objects += o;
                other.bytes += b;
            }
        }
        ranked.truncate(limit);
        ranked.sort();
        (ranked, other)
    }

    fn got(b: &PrefixBreakdown) -> (Vec<(String, usize, u64, u64)>, Other) {
        let mut entries: Vec<_> = b
            .entries()
            .into_iter()
            .map(|e| (e.prefix, e.depth, e.objects, e.bytes))
            .collect();
        entries.sort();
        (entries, b.other())
    }

    /// Keys with empty segments (`a//b`, `/y`, `a/`, `//`), unicode, repeated keys.
    fn hostile_key() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop::collection::vec(
            prop::sample::select(vec!["", "", "a", "b", "é", "a-", "a0"]),
            1..6,
        )
        .prop_map(|segments| segments.join("/"))
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// One listing in key order; the same keys cut anywhere into key ranges (every
        /// range but the first `resume`d) and merged in any order; whole top-level
        /// subtrees merged in any order; and (reports) a tally of the rows shuffled: each
        /// equals the oracle, with empty path segments in the keys.
        #[test]
        fn empty_segments_in_listings_ranges_subtrees_and_tallies_equal_the_oracle(
            keys in proptest::collection::vec((hostile_key(), 0u64..50), 0..30),
            cuts in proptest::collection::vec(0usize..30, 0..6),
            order_seed in 0u64..1_000,
            depth in 0usize..5,
            limit in 1usize..6,
        ) {
            let mut keys = keys;
            keys.sort();
            let expected = oracle(depth, limit, &keys);

            let mut listing = PrefixBreakdown::new(depth, limit);
            for (k, s) in &keys {
                listing.add(k, *s);
            }
            listing.finish();
            proptest::prop_assert_eq!(got(&listing), expected.clone(), "one listing");

            // A permutation of `n` from the seed.
            let permute = |n: usize| {
                let mut order: Vec<usize> = (0..n).collect();
                let mut state = order_seed.wrapping_mul(2654435761).wrapping_add(1);
                for i in (1..n).rev() {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    order.swap(i, (state >> 33) as usize % (i + 1));
                }
                order
            };

            // Key ranges cut anywhere.
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c.min(keys.len())).collect();
            bounds.push(0);
            bounds.push(keys.len());
            bounds.sort();
            bounds.dedup();
            let ranges: Vec<&[(String, u64)]> = bounds.windows(2).map(|w| &keys[w[0]..w[1]]).collect();
            let mut merged = PrefixBreakdown::new(depth, limit);
            for i in permute(ranges.len()) {
                let mut part = PrefixBreakdown::new(depth, limit);
                if i > 0 {
                    part.resume();
                }
                for (k, s) in ranges[i] {
                    part.add(k, *s);
                }
                if i % 2 == 0 {
                    part.end_partition();
                }
                merged.merge(part);
            }
            merged.finish();
            proptest::prop_assert_eq!(got(&merged), expected.clone(), "key ranges {:?}", bounds);

            // Whole subtrees: the keys of each first segment (and the keys with no `/`).
            let mut subtrees: BTreeMap<Option<&str>, Vec<&(String, u64)>> = BTreeMap::new();
            for entry in &keys {
                subtrees.entry(entry.0.split_once('/').map(|(first, _)| first)).or_default().push(entry);
            }
            let subtrees: Vec<_> = subtrees.into_values().collect();
            let mut merged = PrefixBreakdown::new(depth, limit);
            for i in permute(subtrees.len()) {
                let mut part = PrefixBreakdown::new(depth, limit);
                for (k, s) in &subtrees[i] {
                    part.add(k, *s);
                }
                merged.merge(part);
            }
            merged.finish();
            proptest::prop_assert_eq!(got(&merged), expected.clone(), "subtrees");

            #[cfg(feature = "reports")]
            {
                let mut shuffled = keys.clone();
                let order = permute(shuffled.len());
                shuffled = order.into_iter().map(|i| keys[i].clone()).collect();
                let mut shared = Tally::with_bound(depth, usize::MAX);
                let mut local = Tally::with_bound(depth, 8);
                for (k, s) in &shuffled {
                    if local.is_full(k) {
                        local.drain_into(&mut shared);
                    }
                    local.add(k, *s);
                }
                local.drain_into(&mut shared);
                let tallied = shared.into_breakdown(limit);
                proptest::prop_assert_eq!(got(&tallied), expected, "tally");
            }
        }
    }

    #[cfg(feature = "reports")]
    #[test]
    fn long_prefix_names_fill_a_tally_by_their_bytes() {
        // 1,000 prefixes of a kilobyte each: a count bound of 100 would hold 100 KB of
        // names; a name bound of 10 KB holds 10 of them and calls the rest untracked.
        let mut tally = Tally::with_bounds(1, 100, 10_000);
        let mut local = Tally::with_bounds(1, 100, 3_000);
        for i in 0..1_000 {
            let key = format!("{i:0>1000}/object");
            if local.is_full(&key) {
                local.drain_into(&mut tally);
            }
            local.add(&key, 1);
            assert!(local.names <= 3_000 && local.map.len() <= 3);
        }
        local.drain_into(&mut tally);
        assert_eq!(tally.map.len(), 10);
        assert!(tally.names <= 10_000);
        let breakdown = tally.into_breakdown(100);
        assert!(!breakdown.is_exact());
        assert_eq!(breakdown.other().objects, 990);
    }

    #[cfg(feature = "reports")]
    #[test]
    fn past_its_bound_a_tally_says_what_it_missed_and_keeps_tracked_totals_exact() {
        let keys = unordered_keys(7);
        let mut exact = Tally::with_bound(2, usize::MAX);
        let mut bounded = Tally::with_bound(2, 60);
        for (k, s) in &keys {
            exact.add(k, *s);
            bounded.add(k, *s);
        }
        let exact = exact.into_breakdown(10_000);
        let bounded = bounded.into_breakdown(10_000);
        assert!(exact.is_exact() && !bounded.is_exact());
        let truth: BTreeMap<String, (u64, u64)> = names(&exact)
            .into_iter()
            .map(|(n, o, b)| (n, (o, b)))
            .collect();
        // Every tracked prefix's totals are exact...
        let kept = names(&bounded);
        assert_eq!(kept.len(), 60);
        for (name, objects, bytes) in &kept {
            assert_eq!(truth[name], (*objects, *bytes), "{name}");
        }
        // ...and per level, tracked plus untracked is everything at that level.
        for level in 1..=2 {
            let sum = |entries: &[(String, u64, u64)]| {
                entries
                    .iter()
                    .filter(|(n, _, _)| n.split('/').count() == level)
                    .fold((0, 0), |(o, b), (_, eo, eb)| (o + eo, b + eb))
            };
            let (o, b) = sum(&kept);
            let missed = bounded
                .untracked()
                .get(level - 1)
                .copied()
                .unwrap_or_default();
            assert_eq!(
                (o + missed.objects, b + missed.bytes),
                sum(&names(&exact)),
                "level {level}"
            );
        }
        // Untracked top-level prefixes are in `other`, like prefixes not kept.
        assert_eq!(bounded.other().objects, bounded.untracked()[0].objects);
        // And the JSON form keeps what was missed.
        let json = serde_json::to_string(&bounded).unwrap();
        let back: PrefixBreakdown = serde_json::from_str(&json).unwrap();
        assert_eq!(back.untracked(), bounded.untracked());
    }
}
