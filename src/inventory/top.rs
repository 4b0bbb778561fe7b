//! The N largest objects, in a bounded heap.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// One of the largest objects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeObject {
    /// The full key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
}

impl Ord for LargeObject {
    /// Larger first; among equal sizes, the smaller key first (so the result does not
    /// depend on listing order).
    fn cmp(&self, other: &Self) -> Ordering {
        self.size
            .cmp(&other.size)
            .then_with(|| other.key.cmp(&self.key))
    }
}

impl PartialOrd for LargeObject {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `limit` largest objects seen; memory is O(limit).
///
/// JSON: `{"limit": 20, "objects": [{"key": ..., "size": ..., "last_modified": ...}]}`,
/// largest first.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "TopJson", from = "TopJson")]
pub struct TopObjects {
    limit: usize,
    /// A min-heap: the root is the smallest kept object, the first to go.
    heap: BinaryHeap<Reverse<LargeObject>>,
}

#[derive(Serialize, Deserialize)]
struct TopJson {
    limit: usize,
    objects: Vec<LargeObject>,
}

impl TopObjects {
    /// Keep at most `limit` objects.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            heap: BinaryHeap::with_capacity(limit.min(4096) + 1),
        }
    }

    /// Would an object of `size` bytes and key `key` be kept? Cheap: no allocation, and
    /// for most objects of a large listing one comparison with the smallest kept size.
    fn admits(&self, size: u64, key: &str) -> bool {
        if self.heap.len() < self.limit {
            return true;
        }
        match self.heap.peek() {
            Some(Reverse(worst)) if size >= worst.size => {
                size > worst.size || key < worst.key.as_str()
            }
            _ => false,
        }
    }

    pub(crate) fn offer(&mut self, key: &str, size: u64, last_modified: DateTime<Utc>) {
        if !self.admits(size, key) {
            return;
        }
        if self.heap.len() < self.limit {
            self.heap.push(Reverse(LargeObject {
                key: key.to_string(),
                size,
                last_modified,
            }));
        } else if let Some(mut worst) = self.heap.peek_mut() {
            // Full: the smallest kept gives its place, and its key's buffer, to this one
            // (one sift, no allocation: a listing whose sizes grow in key order replaces
            // the smallest at almost every object).
            let Reverse(worst) = &mut *worst;
            worst.key.clear();
            worst.key.push_str(key);
            worst.size = size;
            worst.last_modified = last_modified;
        }
    }

    fn push(&mut self, object: LargeObject) {
        self.heap.push(Reverse(object));
        if self.heap.len() > self.limit {
            self.heap.pop();
        }
    }

    pub(crate) fn merge(&mut self, other: TopObjects) {
        for Reverse(object) in other.heap {
            if self.admits(object.size, &object.key) {
                self.push(object);
            }
        }
    }

    /// The configured bound.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The kept objects, largest first.
    pub fn largest(&self) -> Vec<LargeObject> {
        let mut v: Vec<_> = self.heap.iter().map(|Reverse(o)| o.clone()).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// Equal when they keep the same objects (the heap's layout may differ).
impl PartialEq for TopObjects {
    fn eq(&self, other: &Self) -> bool {
        self.limit == other.limit && self.largest() == other.largest()
    }
}

impl Eq for TopObjects {}

impl From<TopObjects> for TopJson {
    fn from(t: TopObjects) -> Self {
        TopJson {
            limit: t.limit,
            objects: t.largest(),
        }
    }
}

impl From<TopJson> for TopObjects {
    fn from(json: TopJson) -> Self {
        let mut t = TopObjects::new(json.limit);
        for o in json.objects {
            t.offer(&o.key, o.size, o.last_modified);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the order and the ties, the kept objects are the `limit` first of
        /// all objects sorted largest first (smaller key first among equal sizes), each
        /// with its own time: the smallest's place, reused, carries nothing over.
        #[test]
        fn keeps_what_sorting_everything_keeps(
            objects in proptest::collection::vec((0u8..40, 0u64..12, 0i64..1000), 0..120),
            limit in 0usize..10,
        ) {
            let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
            let mut top = TopObjects::new(limit);
            let mut all = std::collections::BTreeMap::new();
            for (key, size, time) in &objects {
                let key = format!("k{key}");
                // One object per key: a key met again is another listing's (not offered).
                if all.contains_key(&key) {
                    continue;
                }
                top.offer(&key, *size, at(*time));
                all.insert(key.clone(), LargeObject { key, size: *size, last_modified: at(*time) });
            }
            let mut oracle: Vec<LargeObject> = all.into_values().collect();
            oracle.sort_by(|a, b| b.cmp(a));
            oracle.truncate(limit);
            prop_assert_eq!(top.largest(), oracle);
        }
    }

    #[test]
    fn keeps_the_largest_with_deterministic_ties() {
        let t0 = DateTime::<Utc>::UNIX_EPOCH;
        let mut forward = TopObjects::new(3);
        let mut backward = TopObjects::new(3);
        let items = [("a", 5), ("b", 9), ("c", 5), ("d", 1), ("e", 9), ("f", 5)];
        for (k, s) in items {
            forward.offer(k, s, t0);
        }
        for (k, s) in items.iter().rev() {
            backward.offer(k, *s, t0);
        }
        let keys = |t: &TopObjects| t.largest().into_iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(keys(&forward), ["b", "e", "a"]);
        assert_eq!(keys(&forward), keys(&backward));

        let mut merged = TopObjects::new(3);
        let mut other = TopObjects::new(3);
        for (k, s) in &items[..3] {
            merged.offer(k, *s, t0);
        }
        for (k, s) in &items[3..] {
            other.offer(k, *s, t0);
        }
        merged.merge(other);
        assert_eq!(keys(&merged), ["b", "e", "a"]);
        assert!(TopObjects::new(0).largest().is_empty());
    }
}

#[cfg(test)]
mod review8 {
    //! Review 8 (see tests/adversarial_review_8.rs): `offer` replacing the smallest in place.
    use super::*;
    use proptest::prelude::*;

    /// The offer before 53050a3: push, then drop the smallest past the limit.
    fn pushed(limit: usize, offers: &[(String, u64, i64)]) -> Vec<LargeObject> {
        let mut heap: BinaryHeap<Reverse<LargeObject>> = BinaryHeap::new();
        for (key, size, t) in offers {
            let admits = heap.len() < limit
                || heap.peek().is_some_and(|Reverse(w)| {
                    *size > w.size || (*size == w.size && key.as_str() < w.key.as_str())
                });
            if admits {
                heap.push(Reverse(LargeObject {
                    key: key.clone(),
                    size: *size,
                    last_modified: DateTime::from_timestamp_millis(*t).unwrap(),
                }));
                if heap.len() > limit {
                    heap.pop();
                }
            }
        }
        let mut v: Vec<_> = heap.into_iter().map(|Reverse(o)| o).collect();
        v.sort_by(|a, b| b.cmp(a).then_with(|| a.last_modified.cmp(&b.last_modified)));
        v
    }

    fn sorted(mut v: Vec<LargeObject>) -> Vec<LargeObject> {
        v.sort_by(|a, b| b.cmp(a).then_with(|| a.last_modified.cmp(&b.last_modified)));
        v
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// HELD UP. Any offers (unicode and empty keys, a key offered again with another
        /// size or time, sizes 0..3 and `u64::MAX`, times of chrono's whole range), any
        /// limit (0..12), offered to one set or split over several merged and read back
        /// from JSON: the kept keys and sizes are what the former push-and-pop kept, and, with
        /// distinct keys, the first `limit` of everything sorted; no key buffer carries a
        /// longer key's tail.
        #[test]
        fn offer_in_place_keeps_what_push_and_pop_kept(
            offers in proptest::collection::vec(
                (
                    prop_oneof!["", "[a-c]{1,2}", "[ -~\u{e9}\u{65e5}\u{1f600}]{0,40}"],
                    prop_oneof![0u64..3, Just(u64::MAX), any::<u64>()],
                    prop_oneof![
                        Just(DateTime::<Utc>::MIN_UTC.timestamp_millis()),
                        Just(DateTime::<Utc>::MAX_UTC.timestamp_millis()),
                        -1_000_000i64..1_000_000,
                    ],
                ),
                0..150,
            ),
            limit in 0usize..12,
            split in 1usize..5,
        ) {
            let at = |t: i64| DateTime::from_timestamp_millis(t).unwrap();
            let mut top = TopObjects::new(limit);
            for (key, size, t) in &offers {
                top.offer(key, *size, at(*t));
            }
            // (Equal in order, two copies of one key differ only in time: which one is
            // kept depends on the heap's layout, in both ways.)
            let ks = |v: Vec<LargeObject>| v.into_iter().map(|o| (o.key, o.size)).collect::<Vec<_>>();
            prop_assert_eq!(ks(sorted(top.largest())), ks(pushed(limit, &offers)));
            prop_assert!(top.largest().len() <= limit);
            // Split, merged, through JSON.
            let chunk = offers.len().div_ceil(split).max(1);
            let mut merged = TopObjects::new(limit);
            for part in offers.chunks(chunk) {
                let mut t = TopObjects::new(limit);
                for (key, size, time) in part {
                    t.offer(key, *size, at(*time));
                }
                let t: TopObjects = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
                merged.merge(t);
            }
            // Distinct keys: sorting everything is the oracle (with a key offered twice
            // the kept copy depends on the order, as it did before).
            let mut seen = std::collections::HashSet::new();
            if offers.iter().all(|(k, _, _)| seen.insert(k.clone())) {
                let mut all: Vec<LargeObject> = offers
                    .iter()
                    .map(|(k, s, t)| LargeObject { key: k.clone(), size: *s, last_modified: at(*t) })
                    .collect();
                all.sort_by(|a, b| b.cmp(a));
                all.truncate(limit);
                prop_assert_eq!(top.largest(), all.clone());
                prop_assert_eq!(merged.largest(), all);
            }
        }
    }
}
