//! The inventory report: every figure, mergeable, in memory bounded by its limits.

use super::extensions::Extensions;
use super::histogram::{class_is_kept, max_opt, min_opt, AgeHistogram, Counts, SizeHistogram};
use super::prefixes::PrefixBreakdown;
use super::top::TopObjects;
use super::unlisted::Unlisted;
use chrono::{DateTime, Utc};
use object_store::ObjectMeta;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the JSON form; bumped on any incompatible change.
pub const SCHEMA: &str = "stratus.inventory.v1";

/// What a scan found. Built by [`scan`](super::scan); also usable by hand with
/// [`Report::add`], [`Report::merge`] and [`Report::finish`].
///
/// # JSON schema (`stratus.inventory.v1`)
///
/// ```text
/// {
///   "schema": "stratus.inventory.v1",
///   "as_of": "2026-11-22T10:00:00Z",      // ages are measured from here
///   "objects": 65, "bytes": 363631,
///   "zero_byte_objects": 5,
///   "smallest": 0, "largest": 89012,      // null when empty
///   "mean_size": 5594.3,                  // null when empty; output only
///   "oldest": "...", "newest": "...",     // last_modified; null when empty
///   "sizes": [{"min": 0, "max": 0, "objects": 5, "bytes": 0}, ...],   // SizeHistogram
///   "ages": {"future": {...}, "buckets": [...]},                      // AgeHistogram
///   "prefixes": {"depth": 2, "limit": 1000, "entries": [...], "other": {...}},
///   "top": {"limit": 20, "objects": [{"key", "size", "last_modified"}, ...]},
///   "classes": {"STANDARD": {"objects": 60, "bytes": 300000}, ...},   // null from a listing
///   "classes_other": {"objects": 0, "bytes": 0},  // classes past CLASS_LIMIT; absent if none
///   "extensions": {"kept": {"jpg": {"objects": 3, "bytes": 4500}, ...},
///                  "none": {...}, "other": {...}},   // Extensions; absent unless counted
///   "source": {"kind": "s3-inventory", "format": "parquet", ...},     // absent from a listing
///   "unlisted": {"objects": 1, "bytes": 7, "examples": ["a#1"]},      // absent unless a local store hid files
///   "parts": {"of": 3, "held": [2]},     // absent unless a part of a split scan (not finished)
///   "hidden": {"versions": {...}, "uploads": {...}, "not_seen": []}   // absent unless looked at
/// }
/// ```
///
/// `classes`, `classes_other`, `extensions`, `source`, `unlisted`, `parts` and `hidden` were
/// added after the first reports were written; a report without them reads as one from a
/// listing (without `extensions`: not counted).
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Report {
    /// [`SCHEMA`].
    pub schema: String,
    /// The moment ages are measured from (the scan's start unless set).
    pub as_of: DateTime<Utc>,
    /// Objects seen.
    pub objects: u64,
    /// Their bytes. Every count and byte total in a report saturates at `u64::MAX`
    /// (16 EiB) instead of wrapping: a total of `u64::MAX` reads "at least" (the table
    /// says so).
    pub bytes: u64,
    /// Objects of size 0.
    pub zero_byte_objects: u64,
    /// The smallest size.
    pub smallest: Option<u64>,
    /// The largest size.
    pub largest: Option<u64>,
    /// The oldest `last_modified`.
    pub oldest: Option<DateTime<Utc>>,
    /// The newest `last_modified`.
    pub newest: Option<DateTime<Utc>>,
    /// Objects by size.
    pub sizes: SizeHistogram,
    /// Objects by age.
    pub ages: AgeHistogram,
    /// Totals per prefix.
    pub prefixes: PrefixBreakdown,
    /// The largest objects.
    pub top: TopObjects,
    /// Objects and bytes per storage class (S3 storage class, Azure access tier, GCS
    /// storage class). `None` when the source does not give classes: a listing through
    /// `object_store` does not.
    pub classes: Option<BTreeMap<String, Counts>>,
    /// The objects and bytes of classes not kept in `classes`: past the first
    /// [`CLASS_LIMIT`](super::CLASS_LIMIT) distinct classes met, or named with more than
    /// [`CLASS_NAME_LIMIT`](super::CLASS_NAME_LIMIT) bytes (providers have about ten
    /// classes; a report with more is broken or hostile). `None` when every class is
    /// kept; shown as "other" in the table and the HTML page.
    pub classes_other: Option<Counts>,
    /// Objects and bytes by file-name extension, when counted
    /// ([`ScanOptions::extensions`](super::ScanOptions::extensions), on by default).
    #[serde(default)]
    pub extensions: Option<Extensions>,
    /// Where the figures come from, when it is a provider's inventory report rather than
    /// a listing.
    pub source: Option<Source>,
    /// Files of a local folder that the store does not list (object_store's local store
    /// hides files named `NAME#N`): counted apart, in no other figure. `None` when there
    /// are none, or the store is not a local one (see [`Unlisted`]).
    pub unlisted: Option<Unlisted>,
    /// The parts of a scan split over several processes this report holds
    /// ([`ScanOptions::with_part`](super::ScanOptions::with_part)); `None` for a whole
    /// scan. A report of some parts is not finished: merge it with the others
    /// ([`Report::merge`]), then [`Report::finish`].
    #[serde(default)]
    pub parts: Option<Parts>,
    /// What the store bills that the listing does not show (noncurrent versions, delete
    /// markers, unfinished uploads), when it was looked at
    /// ([`ScanOptions::with_hidden`](super::ScanOptions::with_hidden)); `None`: not looked
    /// at. In a split scan, part 1 looks.
    #[serde(default)]
    pub hidden: Option<super::hidden::Hidden>,
}

/// Which of `of` parts a [`Report`] holds (numbered from 1, ascending).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parts {
    /// How many parts the scan was split into.
    pub of: usize,
    /// The parts held.
    pub held: Vec<usize>,
}

impl Parts {
    /// Whether every part is held.
    pub fn is_complete(&self) -> bool {
        self.held.len() == self.of
    }

    /// The parts not held, for an error message.
    pub fn missing(&self) -> Vec<usize> {
        (1..=self.of).filter(|k| !self.held.contains(k)).collect()
    }
}

/// The inventory report a [`Report`] was read from (see `inventory::reports`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Source {
    /// `s3-inventory`, `azure-blob-inventory` or `gcs-storage-insights`.
    pub kind: String,
    /// `csv` or `parquet`.
    pub format: String,
    /// The manifest's key in the store it was read from.
    pub manifest: String,
    /// The bucket or container the report describes, when the manifest says.
    pub source_bucket: Option<String>,
    /// When the provider took the report.
    pub taken: Option<DateTime<Utc>>,
    /// Data files read.
    pub files: u64,
    /// Rows read, whether counted or not.
    pub rows: u64,
    /// Rows outside the requested prefix.
    pub outside_prefix: u64,
    /// Delete markers (S3 versioned buckets): not objects, not counted.
    pub delete_markers: u64,
    /// Versions that are not the current one (versioned buckets), not counted as
    /// objects (a listing does not see them) but still stored and billed.
    pub noncurrent: Counts,
}
/// The largest report file [`Report::load`] reads (256 MiB): a report with a million
/// prefixes kept is about a tenth of that.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

pub use crate::error::MergeError;

impl Report {
    /// Read a report from a JSON file (what `serde_json` makes of a `Report`, e.g. the
    /// inventory example's `--format json`), to compare with [`Report::diff`]: a regular
    /// file (links followed) of at most [`MAX_REPORT_BYTES`].
    pub fn load(path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let error = |message: String| crate::Error::ReadReport {
            path: path.to_path_buf(),
            message,
        };
        let text = crate::file::read_regular_text(path, MAX_REPORT_BYTES, "report file")
            .map_err(|e| error(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| error(format!("not an inventory report: {e}")))
    }

    /// An empty report: ages from `as_of`, prefixes to `depth` keeping `prefix_limit`,
    /// the `top` largest objects.
    pub fn new(as_of: DateTime<Utc>, depth: usize, prefix_limit: usize, top: usize) -> Self {
        Self {
            schema: SCHEMA.to_string(),
            as_of,
            objects: 0,
            bytes: 0,
            zero_byte_objects: 0,
            smallest: None,
            largest: None,
            oldest: None,
            newest: None,
            sizes: SizeHistogram::default(),
            ages: AgeHistogram::new(as_of),
            prefixes: PrefixBreakdown::new(depth, prefix_limit),
            top: TopObjects::new(top),
            classes: None,
            classes_other: None,
            extensions: None,
            source: None,
            unlisted: None,
            parts: None,
            hidden: None,
        }
    }

    /// Account one object. `relative` is its key relative to the scanned prefix (it
    /// places the object in the per-prefix breakdown).
    pub fn add(&mut self, relative: &str, meta: &ObjectMeta) {
        self.prefixes.add(relative, meta.size);
        self.add_object(meta.location.as_ref(), meta.size, meta.last_modified);
    }

    /// Account one object in every figure but the per-prefix breakdown (which the caller
    /// keeps: in key order through `prefixes.add`, or in any order through a `Tally`).
    pub(crate) fn add_object(&mut self, key: &str, size: u64, modified: DateTime<Utc>) {
        self.objects = self.objects.saturating_add(1);
        self.bytes = self.bytes.saturating_add(size);
        self.zero_byte_objects = self.zero_byte_objects.saturating_add(u64::from(size == 0));
        self.smallest = Some(self.smallest.map_or(size, |s| s.min(size)));
        self.largest = Some(self.largest.map_or(size, |s| s.max(size)));
        self.oldest = Some(self.oldest.map_or(modified, |t| t.min(modified)));
        self.newest = Some(self.newest.map_or(modified, |t| t.max(modified)));
        self.sizes.add(size);
        self.ages.add(self.as_of, modified, size);
        self.top.offer(key, size, modified);
        if let Some(extensions) = &mut self.extensions {
            extensions.add(key, size);
        }
    }

    /// This report, counting objects by extension ([`Report::extensions`]) when `on`
    /// (counts it holds are kept), or not (they are dropped). For a new report: objects
    /// added before are not in the counts.
    pub fn with_extensions(mut self, on: bool) -> Self {
        match on {
            true => {
                self.extensions.get_or_insert_with(Extensions::default);
            }
            false => self.extensions = None,
        }
        self
    }

    /// Account `counts` (objects and bytes) of storage class `class`.
    #[cfg(feature = "reports")]
    pub(crate) fn add_class(&mut self, class: &str, counts: Counts) {
        let classes = self.classes.get_or_insert_with(BTreeMap::new);
        let kept = classes.len();
        match classes.get_mut(class) {
            Some(existing) => existing.merge(counts),
            None if class_is_kept(class, kept) => {
                classes.insert(class.to_string(), counts);
            }
            None => self.add_class_other(counts),
        }
    }

    /// Account `counts` of classes not kept (see [`Report::classes_other`]).
    pub(crate) fn add_class_other(&mut self, counts: Counts) {
        self.classes.get_or_insert_with(BTreeMap::new);
        self.classes_other.get_or_insert_default().merge(counts);
    }

    /// Add another report's figures to this one.
    ///
    /// Totals, extremes, histograms and the largest objects merge exactly whatever the
    /// two reports cover. The per-prefix breakdown is exact when the reports cover
    /// disjoint parts of one key space, each a whole subtree or a set of objects (what
    /// [`scan`](super::scan) makes), and are merged before [`Report::finish`]. Both must
    /// have the same settings (`as_of`, depth, limits).
    pub fn merge(&mut self, other: Report) -> crate::Result<()> {
        let settings = |r: &Report| {
            (
                r.as_of,
                r.prefixes.depth(),
                r.prefixes.limit(),
                r.top.limit(),
            )
        };
        if settings(self) != settings(&other) {
            return Err(crate::Error::Merge(MergeError::new(format!(
                "different settings (as_of, depth, prefix limit, top): {:?} and {:?}",
                settings(self),
                settings(&other)
            ))));
        }
        if self.hidden.is_some() && other.hidden.is_some() {
            return Err(crate::Error::Merge(MergeError::new(
                "both reports list what is billed beside the objects (one part of a split \
                 lists it, once)"
                    .to_string(),
            )));
        }
        self.parts = match (self.parts.take(), other.parts.as_ref()) {
            (None, None) => None,
            (Some(ours), Some(theirs)) if ours.of == theirs.of => {
                if let Some(twice) = ours.held.iter().find(|k| theirs.held.contains(k)) {
                    let message = format!("both reports hold part {twice} of {}", ours.of);
                    self.parts = Some(ours);
                    return Err(crate::Error::Merge(MergeError::new(message)));
                }
                let mut held: Vec<usize> =
                    ours.held.into_iter().chain(theirs.held.clone()).collect();
                held.sort_unstable();
                Some(Parts { of: ours.of, held })
            }
            (ours, _) => {
                let describe = |p: &Option<Parts>| match p {
                    None => "a whole scan".to_string(),
                    Some(p) => format!("parts {:?} of {}", p.held, p.of),
                };
                let message = format!(
                    "one report is {}, the other {}: only parts of one split merge",
                    describe(&ours),
                    describe(&other.parts)
                );
                self.parts = ours;
                return Err(crate::Error::Merge(MergeError::new(message)));
            }
        };
        if self.hidden.is_none() {
            self.hidden = other.hidden;
        }
        self.objects = self.objects.saturating_add(other.objects);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.zero_byte_objects = self
            .zero_byte_objects
            .saturating_add(other.zero_byte_objects);
        self.smallest = min_opt(self.smallest, other.smallest);
        self.largest = max_opt(self.largest, other.largest);
        self.oldest = min_opt(self.oldest, other.oldest);
        self.newest = max_opt(self.newest, other.newest);
        self.sizes.merge(&other.sizes);
        self.ages.merge(&other.ages);
        self.prefixes.merge(other.prefixes);
        self.top.merge(other.top);
        if let Some(theirs) = other.classes {
            self.classes.get_or_insert_with(BTreeMap::new);
            for (class, counts) in theirs {
                let ours = self.classes.as_mut().expect("set above");
                let kept = ours.len();
                match ours.get_mut(&class) {
                    Some(existing) => existing.merge(counts),
                    None if class_is_kept(&class, kept) => {
                        ours.insert(class, counts);
                    }
                    None => self.add_class_other(counts),
                }
            }
        }
        if let Some(counts) = other.classes_other {
            self.add_class_other(counts);
        }
        // Counted in one report and not the other: the sum would be short, so none.
        match (&mut self.extensions, other.extensions) {
            (Some(ours), Some(theirs)) => ours.merge(theirs),
            (ours, _) => *ours = None,
        }
        if self.source.is_none() {
            self.source = other.source;
        }
        if let Some(theirs) = other.unlisted {
            self.unlisted
                .get_or_insert_with(Unlisted::default)
                .merge(theirs);
        }
        Ok(())
    }

    /// Mark the partition this report was filling as done (its open prefixes may go on
    /// in other partitions).
    pub(crate) fn end_partition(&mut self) {
        self.prefixes.end_partition();
    }

    /// The partition about to be filled starts at a key inside a prefix (a key range):
    /// see [`PrefixBreakdown::resume`].
    pub(crate) fn resume_partition(&mut self) {
        self.prefixes.resume();
    }

    /// All objects are in: complete the per-prefix totals. Idempotent.
    pub fn finish(&mut self) {
        self.prefixes.finish();
    }

    /// The mean object size.
    pub fn mean_size(&self) -> Option<f64> {
        (self.objects > 0).then(|| self.bytes as f64 / self.objects as f64)
    }
}

impl Serialize for Report {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The stored fields plus `mean_size`, which is derived.
        #[derive(Serialize)]
        struct Out<'a> {
            schema: &'a str,
            as_of: DateTime<Utc>,
            objects: u64,
            bytes: u64,
            zero_byte_objects: u64,
            smallest: Option<u64>,
            largest: Option<u64>,
            mean_size: Option<f64>,
            oldest: Option<DateTime<Utc>>,
            newest: Option<DateTime<Utc>>,
            sizes: &'a SizeHistogram,
            ages: &'a AgeHistogram,
            prefixes: &'a PrefixBreakdown,
            top: &'a TopObjects,
            classes: &'a Option<BTreeMap<String, Counts>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            classes_other: &'a Option<Counts>,
            #[serde(skip_serializing_if = "Option::is_none")]
            extensions: &'a Option<Extensions>,
            #[serde(skip_serializing_if = "Option::is_none")]
            source: &'a Option<Source>,
            #[serde(skip_serializing_if = "Option::is_none")]
            unlisted: &'a Option<Unlisted>,
            #[serde(skip_serializing_if = "Option::is_none")]
            parts: &'a Option<Parts>,
            #[serde(skip_serializing_if = "Option::is_none")]
            hidden: &'a Option<super::hidden::Hidden>,
        }
        Out {
            schema: &self.schema,
            as_of: self.as_of,
            objects: self.objects,
            bytes: self.bytes,
            zero_byte_objects: self.zero_byte_objects,
            smallest: self.smallest,
            largest: self.largest,
            mean_size: self.mean_size(),
            oldest: self.oldest,
            newest: self.newest,
            sizes: &self.sizes,
            ages: &self.ages,
            prefixes: &self.prefixes,
            top: &self.top,
            classes: &self.classes,
            classes_other: &self.classes_other,
            extensions: &self.extensions,
            source: &self.source,
            unlisted: &self.unlisted,
            parts: &self.parts,
            hidden: &self.hidden,
        }
        .serialize(serializer)
    }
}
