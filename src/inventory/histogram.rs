//! Size and age histograms: fixed buckets, so they merge by adding.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An object count and a byte count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Objects.
    pub objects: u64,
    /// Bytes.
    pub bytes: u64,
}

impl Counts {
    /// Count one object. Counts saturate at `u64::MAX` (16 EiB), which then reads "at
    /// least": a server or a corrupt report claiming such sizes cannot wrap them.
    pub(crate) fn add(&mut self, size: u64) {
        self.objects = self.objects.saturating_add(1);
        self.bytes = self.bytes.saturating_add(size);
    }

    /// These counts with one object of `size` more.
    pub(crate) fn plus(mut self, size: u64) -> Self {
        self.add(size);
        self
    }

    pub(crate) fn merge(&mut self, other: Counts) {
        self.objects = self.objects.saturating_add(other.objects);
        self.bytes = self.bytes.saturating_add(other.bytes);
    }

    /// No objects.
    pub fn is_empty(&self) -> bool {
        self.objects == 0
    }
}

const SIZE_BUCKETS: usize = 65;

/// Objects by size in power-of-two buckets: bucket 0 holds empty objects, bucket `k`
/// (1..=64) holds sizes in `[2^(k-1), 2^k)`.
///
/// JSON: a list of the non-empty buckets, smallest first, each
/// `{"min": 1024, "max": 2047, "objects": 3, "bytes": 4500}` (`min`/`max` inclusive).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Vec<SizeBucket>", try_from = "Vec<SizeBucket>")]
pub struct SizeHistogram {
    buckets: [Counts; SIZE_BUCKETS],
}

/// One bucket of a [`SizeHistogram`], as serialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeBucket {
    /// Smallest size in the bucket.
    pub min: u64,
    /// Largest size in the bucket.
    pub max: u64,
    /// Objects in the bucket.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Default for SizeHistogram {
    fn default() -> Self {
        Self {
            buckets: [Counts::default(); SIZE_BUCKETS],
        }
    }
}

impl SizeHistogram {
    /// The bucket index of `size`.
    pub fn bucket_of(size: u64) -> usize {
        (u64::BITS - size.leading_zeros()) as usize
    }

    /// The inclusive size range of bucket `index`.
    pub fn bounds(index: usize) -> (u64, u64) {
        match index {
            0 => (0, 0),
            64 => (1 << 63, u64::MAX),
            k => (1 << (k - 1), (1 << k) - 1),
        }
    }

    pub(crate) fn add(&mut self, size: u64) {
        self.buckets[Self::bucket_of(size)].add(size);
    }

    pub(crate) fn merge(&mut self, other: &SizeHistogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.merge(*theirs);
        }
    }

    /// The non-empty buckets, smallest sizes first.
    pub fn buckets(&self) -> impl Iterator<Item = SizeBucket> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(i, c)| {
                let (min, max) = Self::bounds(i);
                SizeBucket {
                    min,
                    max,
                    objects: c.objects,
                    bytes: c.bytes,
                }
            })
    }
}

impl SizeBucket {
    /// Its range for people: `0 B`, `1.0 KiB – 2.0 KiB` (the end exclusive).
    pub fn label(&self) -> String {
        size_range(self.min, self.max)
    }
}

/// The sizes `min..=max` for people, the end exclusive (`1.0 KiB – 2.0 KiB`), or `0 B`.
pub(crate) fn size_range(min: u64, max: u64) -> String {
    match max {
        0 => "0 B".to_string(),
        max => format!(
            "{} – {}",
            crate::text::human_bytes(min),
            crate::text::human_bytes(max.saturating_add(1))
        ),
    }
}

impl From<SizeHistogram> for Vec<SizeBucket> {
    fn from(h: SizeHistogram) -> Self {
        h.buckets().collect()
    }
}

impl TryFrom<Vec<SizeBucket>> for SizeHistogram {
    type Error = String;

    fn try_from(buckets: Vec<SizeBucket>) -> Result<Self, String> {
        let mut h = SizeHistogram::default();
        for b in buckets {
            let index = Self::bucket_of(b.min);
            if Self::bounds(index) != (b.min, b.max) {
                return Err(format!(
                    "{}..={} is not a power-of-two size bucket",
                    b.min, b.max
                ));
            }
            h.buckets[index].merge(Counts {
                objects: b.objects,
                bytes: b.bytes,
            });
        }
        Ok(h)
    }
}

/// Age buckets, by whole days before the scan's `as_of` time (both at millisecond
/// precision).
pub const AGE_BUCKETS: &[(&str, i64, i64)] = &[
    ("< 1 day", 0, 1),
    ("1-7 days", 1, 7),
    ("7-30 days", 7, 30),
    ("30-90 days", 30, 90),
    ("90-365 days", 90, 365),
    ("1-3 years", 365, 3 * 365),
    ("> 3 years", 3 * 365, i64::MAX),
];

/// Objects by age (time between `last_modified` and the scan's `as_of`), in the
/// buckets of [`AGE_BUCKETS`], plus objects dated after `as_of` (clock skew).
///
/// JSON: `{"future": {...}, "buckets": [{"label": "< 1 day", "min_days": 0,
/// "max_days": 1, "objects": 5, "bytes": 100}, ...]}` with every bucket present.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(into = "AgeJson", try_from = "AgeJson")]
pub struct AgeHistogram {
    future: Counts,
    buckets: [Counts; 7],
    /// `as_of` and the bucket boundaries as instants (oldest allowed `last_modified` per
    /// bucket), in milliseconds since the epoch, computed on the first `add`: a
    /// comparison per bucket instead of date arithmetic per object.
    thresholds: Option<(i64, [i64; 6])>,
}

impl PartialEq for AgeHistogram {
    fn eq(&self, other: &Self) -> bool {
        self.future == other.future && self.buckets == other.buckets
    }
}

impl Eq for AgeHistogram {}

impl AgeHistogram {
    /// An empty histogram for ages measured from `as_of`.
    pub(crate) fn new(as_of: DateTime<Utc>) -> Self {
        Self {
            thresholds: Some(Self::thresholds(as_of)),
            ..Self::default()
        }
    }

    fn thresholds(as_of: DateTime<Utc>) -> (i64, [i64; 6]) {
        const DAY_MS: i64 = 86_400_000;
        let as_of = as_of.timestamp_millis();
        (
            as_of,
            // A deserialized report may carry any `as_of`: clamp, never overflow.
            std::array::from_fn(|i| as_of.saturating_sub(AGE_BUCKETS[i].2.saturating_mul(DAY_MS))),
        )
    }

    /// Account an object. `as_of` must be the same on every call (a report's `as_of`).
    ///
    /// Ages are measured in whole milliseconds (`as_of` and `modified` truncated to the
    /// millisecond): what S3 Inventory, Azure's and an export keep of a time, so an object
    /// falls in the same bucket whether listed or read back from a report.
    pub(crate) fn add(&mut self, as_of: DateTime<Utc>, modified: DateTime<Utc>, size: u64) {
        let (as_of, thresholds) = self
            .thresholds
            .get_or_insert_with(|| Self::thresholds(as_of));
        // (`timestamp_millis` rounds toward the past: the instant truncated.)
        let (as_of, modified) = (*as_of, modified.timestamp_millis());
        let bucket = if modified > as_of {
            &mut self.future
        } else {
            // An object is in bucket i when its age is under that bucket's max days, that
            // is, when it was modified after `as_of - max days`.
            let index = thresholds
                .iter()
                .position(|t| modified > *t)
                .unwrap_or(AGE_BUCKETS.len() - 1);
            &mut self.buckets[index]
        };
        bucket.add(size);
    }

    pub(crate) fn merge(&mut self, other: &AgeHistogram) {
        self.future.merge(other.future);
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            mine.merge(*theirs);
        }
    }

    /// Objects modified after the scan's `as_of` time.
    pub fn future(&self) -> Counts {
        self.future
    }

    /// `(label, counts)` for every bucket of [`AGE_BUCKETS`], youngest first.
    pub fn buckets(&self) -> impl Iterator<Item = (&'static str, Counts)> + '_ {
        AGE_BUCKETS
            .iter()
            .zip(&self.buckets)
            .map(|((label, _, _), c)| (*label, *c))
    }
}

#[derive(Serialize, Deserialize)]
struct AgeJson {
    future: Counts,
    buckets: Vec<AgeBucketJson>,
}

#[derive(Serialize, Deserialize)]
struct AgeBucketJson {
    label: String,
    min_days: i64,
    /// `null` for the open-ended last bucket.
    max_days: Option<i64>,
    objects: u64,
    bytes: u64,
}

impl From<AgeHistogram> for AgeJson {
    fn from(h: AgeHistogram) -> Self {
        AgeJson {
            future: h.future,
            buckets: AGE_BUCKETS
                .iter()
                .zip(h.buckets)
                .map(|((label, min, max), c)| AgeBucketJson {
                    label: label.to_string(),
                    min_days: *min,
                    max_days: (*max != i64::MAX).then_some(*max),
                    objects: c.objects,
                    bytes: c.bytes,
                })
                .collect(),
        }
    }
}

impl TryFrom<AgeJson> for AgeHistogram {
    type Error = String;

    fn try_from(json: AgeJson) -> Result<Self, String> {
        let mut h = AgeHistogram {
            future: json.future,
            ..Default::default()
        };
        for b in json.buckets {
            let index = AGE_BUCKETS
                .iter()
                .position(|(label, _, _)| *label == b.label)
                .ok_or_else(|| format!("unknown age bucket `{}`", b.label))?;
            h.buckets[index].merge(Counts {
                objects: b.objects,
                bytes: b.bytes,
            });
        }
        Ok(h)
    }
}

/// The most distinct storage classes a report keeps; the rows of classes met after them
/// count in [`Report::classes_other`](super::Report::classes_other). Which classes are kept past it depends on the
/// order rows and files are read in.
pub const CLASS_LIMIT: usize = 64;

/// The longest class name kept, in bytes; a longer one counts in
/// [`Report::classes_other`](super::Report::classes_other).
pub const CLASS_NAME_LIMIT: usize = 64;

/// Whether a class met for the first time, with `kept` classes already kept, is kept.
pub(crate) fn class_is_kept(class: &str, kept: usize) -> bool {
    kept < CLASS_LIMIT && class.len() <= CLASS_NAME_LIMIT
}

/// The smaller of two optional values, or the one there is.
pub(crate) fn min_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The larger of two optional values, or the one there is.
pub(crate) fn max_opt<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    a.max(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// An object's age bucket is the one date arithmetic gives on both times
        /// truncated to the millisecond, also a millisecond either side of a boundary
        /// and with sub-millisecond parts (chrono, independently of the thresholds).
        #[test]
        fn ages_fall_where_date_arithmetic_puts_them(
            as_of_s in -4_000_000_000i64..4_000_000_000,
            as_of_ns in 0u32..1_000_000_000,
            boundary in 0usize..7,
            off_ms in -3i64..3,
            mod_ns in 0u32..1_000_000,
        ) {
            let as_of = DateTime::<Utc>::from_timestamp(as_of_s, as_of_ns).unwrap();
            let days = [0, 1, 7, 30, 90, 365, 3 * 365][boundary];
            let truncated = DateTime::<Utc>::from_timestamp_millis(as_of.timestamp_millis()).unwrap();
            let modified = truncated - chrono::TimeDelta::days(days)
                + chrono::TimeDelta::milliseconds(off_ms)
                + chrono::TimeDelta::nanoseconds(i64::from(mod_ns));
            let mut h = AgeHistogram::new(as_of);
            h.add(as_of, modified, 1);
            let age = truncated
                - DateTime::<Utc>::from_timestamp_millis(modified.timestamp_millis()).unwrap();
            let expected = if age < chrono::TimeDelta::zero() {
                None
            } else {
                AGE_BUCKETS.iter().position(|(_, _, max)| {
                    *max == i64::MAX || age < chrono::TimeDelta::days(*max)
                })
            };
            let found = if h.future().objects == 1 {
                None
            } else {
                h.buckets().position(|(_, c)| c.objects == 1)
            };
            proptest::prop_assert_eq!(found, expected, "{} {}", as_of, modified);
        }
    }

    #[test]
    fn size_buckets_are_powers_of_two() {
        assert_eq!(SizeHistogram::bucket_of(0), 0);
        assert_eq!(SizeHistogram::bucket_of(1), 1);
        assert_eq!(SizeHistogram::bucket_of(2), 2);
        assert_eq!(SizeHistogram::bucket_of(3), 2);
        assert_eq!(SizeHistogram::bucket_of(1024), 11);
        assert_eq!(SizeHistogram::bucket_of(u64::MAX), 64);
        for k in 0..SIZE_BUCKETS {
            let (min, max) = SizeHistogram::bounds(k);
            assert_eq!(SizeHistogram::bucket_of(min), k);
            assert_eq!(SizeHistogram::bucket_of(max), k);
        }
    }

    #[test]
    fn histograms_round_trip_through_json() {
        let mut h = SizeHistogram::default();
        for size in [0, 0, 1, 5, 1000, 1 << 40] {
            h.add(size);
        }
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<SizeHistogram>(&json).unwrap(), h);
        assert!(
            json.starts_with(r#"[{"min":0,"max":0,"objects":2,"bytes":0}"#),
            "{json}"
        );

        let now = Utc::now();
        let mut a = AgeHistogram::default();
        a.add(now, now - chrono::TimeDelta::days(3), 7);
        a.add(now, now + chrono::TimeDelta::days(1), 1);
        a.add(now, now - chrono::TimeDelta::days(5000), 2);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<AgeHistogram>(&json).unwrap(), a);
        let counts: Vec<u64> = a.buckets().map(|(_, c)| c.objects).collect();
        assert_eq!(counts, [0, 1, 0, 0, 0, 0, 1]);
        assert_eq!(a.future().objects, 1);
    }
}

#[cfg(test)]
mod review8 {
    //! Review 8 (see tests/adversarial_review_8.rs): ages compared in milliseconds.
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;

    fn trunc(t: DateTime<Utc>) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
    }

    /// chrono's answer: `None` for the future.
    fn oracle(as_of: DateTime<Utc>, modified: DateTime<Utc>) -> Option<usize> {
        let age = trunc(as_of).signed_duration_since(trunc(modified));
        if age < TimeDelta::zero() {
            return None;
        }
        AGE_BUCKETS
            .iter()
            .position(|(_, _, max)| *max == i64::MAX || age < TimeDelta::days(*max))
    }

    fn found(h: &AgeHistogram) -> Option<usize> {
        if h.future().objects == 1 {
            None
        } else {
            h.buckets().position(|(_, c)| c.objects == 1)
        }
    }

    fn time(ms: i64, ns: u32) -> DateTime<Utc> {
        let (lo, hi) = (
            DateTime::<Utc>::MIN_UTC.timestamp_millis(),
            DateTime::<Utc>::MAX_UTC.timestamp_millis(),
        );
        let t = DateTime::from_timestamp_millis(ms.clamp(lo, hi)).unwrap();
        t.checked_add_signed(TimeDelta::nanoseconds(i64::from(ns % 1_000_000)))
            .unwrap_or(t)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]

        /// HELD UP. `as_of` and the object's time anywhere in chrono's range (its ends
        /// included, sub-millisecond parts, a millisecond either side of every boundary,
        /// `as_of` near the minimum so that `as_of - 3 years` is below it): the bucket
        /// equals chrono's arithmetic on the truncated times, for a new histogram and
        /// for one read back from JSON (thresholds made on the first add).
        #[test]
        fn ages_anywhere_in_chronos_range_fall_where_chrono_puts_them(
            as_of_ms in prop_oneof![
                any::<i64>(),
                Just(DateTime::<Utc>::MIN_UTC.timestamp_millis()),
                Just(DateTime::<Utc>::MAX_UTC.timestamp_millis()),
                (0i64..2000).prop_map(|d| DateTime::<Utc>::MIN_UTC.timestamp_millis() + d * 86_400_000),
            ],
            as_of_ns in 0u32..1_000_000,
            how in 0u8..3,
            any_ms in any::<i64>(),
            boundary in 0usize..7,
            off in -2i64..=2,
            ns in 0u32..1_000_000,
        ) {
            let as_of = time(as_of_ms, as_of_ns);
            let modified = match how {
                0 => time(any_ms, ns),
                1 => {
                    let days = [0, 1, 7, 30, 90, 365, 3 * 365][boundary];
                    time(trunc(as_of).timestamp_millis().saturating_sub(days * 86_400_000).saturating_add(off), ns)
                }
                _ => time(if any_ms % 2 == 0 { i64::MIN } else { i64::MAX }, ns),
            };
            let mut h = AgeHistogram::new(as_of);
            h.add(as_of, modified, 1);
            prop_assert_eq!(found(&h), oracle(as_of, modified), "{} {}", as_of, modified);
            let json = serde_json::to_string(&AgeHistogram::new(as_of)).unwrap();
            let mut read: AgeHistogram = serde_json::from_str(&json).unwrap();
            read.add(as_of, modified, 1);
            prop_assert_eq!(found(&read), oracle(as_of, modified));
        }
    }
}
