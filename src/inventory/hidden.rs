//! The stored, billed bytes a listing does not show ([`Report::hidden`](super::Report)):
//! versions that are no longer current, delete markers, and multipart uploads never
//! completed or aborted, in totals and per prefix, from a store's [`Billed`].
//!
//! Memory is bounded as a listing's report is: per key only the key being read is held
//! (a listing gives a key's versions together), and the per-prefix totals are a
//! [`PrefixBreakdown`] of the report's depth and limit.

use super::{Counts, PrefixBreakdown};
use crate::billed::{Billed, Followed, VersionEntry, VersionKind, Versioned};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Uploads older than this many days are called out as stale (as AWS Storage Lens does).
pub const STALE_UPLOAD_DAYS: u32 = 7;

/// What a store bills that a listing does not show.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hidden {
    /// Noncurrent versions and delete markers; `None`: not looked at.
    pub versions: Option<Versions>,
    /// Unfinished multipart uploads; `None`: not looked at.
    pub uploads: Option<Uploads>,
    /// What was not looked at, and why (`"incomplete uploads: an inventory report does
    /// not list them"`).
    #[serde(default)]
    pub not_seen: Vec<String>,
}

/// Versions that are no longer current, and delete markers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Versions {
    /// Noncurrent versions and their bytes.
    pub noncurrent: Counts,
    /// The earliest moment a version still kept became noncurrent (when the entry
    /// after it was written): what a lifecycle rule's `NoncurrentDays` counts from.
    pub noncurrent_since: Option<DateTime<Utc>>,
    /// Noncurrent bytes by storage class, when the source says.
    pub classes: BTreeMap<String, Counts>,
    /// Delete markers.
    pub delete_markers: u64,
    /// Delete markers of keys without any version behind them ("expired object delete
    /// markers" for AWS): they keep nothing, and cost a listing entry each. `None`: not
    /// known (an inventory report's rows come in no order).
    pub orphaned_markers: Option<u64>,
    /// Noncurrent versions and bytes per prefix.
    pub prefixes: PrefixBreakdown,
}

/// Multipart uploads begun and neither completed nor aborted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Uploads {
    /// Uploads, and the bytes of their parts.
    pub uploads: Counts,
    /// Parts uploaded.
    pub parts: u64,
    /// The earliest `Initiated` time.
    pub oldest: Option<DateTime<Utc>>,
    /// Uploads begun more than `stale_after_days` before the report's `as_of`, and their
    /// bytes.
    pub stale: Counts,
    /// [`STALE_UPLOAD_DAYS`] unless set otherwise.
    pub stale_after_days: u32,
    /// Uploads and their bytes per prefix (of the key each would create).
    pub prefixes: PrefixBreakdown,
}

/// What [`scan_hidden`] looks at.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct HiddenOptions {
    /// Ages are measured from here.
    pub as_of: DateTime<Utc>,
    /// Per-prefix depth and the prefixes kept ([`PrefixBreakdown::new`]).
    pub depth: usize,
    /// See `depth`.
    pub prefix_limit: usize,
    /// Only under this prefix (relative to the store's).
    pub prefix: Option<String>,
    /// List versions and delete markers.
    pub versions: bool,
    /// List unfinished uploads (and each one's parts).
    pub uploads: bool,
    /// See [`Uploads::stale_after_days`].
    pub stale_after_days: u32,
    /// Folders whose versions are listed at once (at least 1).
    pub concurrency: usize,
}

impl HiddenOptions {
    /// Both looked at, the report's depth 1 and 100 prefixes, ages from `as_of`.
    pub fn new(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            depth: 1,
            prefix_limit: 100,
            prefix: None,
            versions: true,
            uploads: true,
            stale_after_days: STALE_UPLOAD_DAYS,
            concurrency: 8,
        }
    }

    /// List the versions of this many folders at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }

    /// Per-prefix totals to `depth`, keeping `limit` prefixes.
    pub fn with_prefixes(mut self, depth: usize, limit: usize) -> Self {
        self.depth = depth;
        self.prefix_limit = limit;
        self
    }

    /// Only under `prefix` (relative to the store's; a folder prefix ends with `/`).
    pub fn with_prefix(mut self, prefix: Option<String>) -> Self {
        self.prefix = prefix;
        self
    }
}

/// The versions of `billed` under `options.prefix`: the keys directly under it from one
/// listing by folder, and each folder it gives listed on its own, `options.concurrency`
/// folders at once (a versions page costs a server far more than a page of objects:
/// SeaweedFS takes 0.2 s for one). A key's entries are all in one folder, so each
/// listing sums its keys whole and the sums are merged. Memory: a page and a
/// [`VersionTally`] per folder being listed, and 8 bytes per folder listed (each is
/// listed once: a server that gives a folder twice is an error, not counted twice).
async fn scan_versions(billed: &dyn Billed, options: &HiddenOptions) -> crate::Result<Versions> {
    let prefix = options.prefix.as_deref();
    let mut top = VersionTally::new(options);
    let mut folders = Followed::default();
    // A server that ignores the delimiter gives every key and no folder: all counted
    // here. One that gives folders and keys inside folders would count keys twice.
    let (mut nested_keys, mut any_folder) = (false, false);
    let wrong = |what: String| crate::Error::Listing {
        store: billed.to_string(),
        prefix: prefix.unwrap_or_default().to_string(),
        source: Box::new(object_store::Error::Generic {
            store: "HTTP",
            source: format!("ListObjectVersions: the server gave {what}").into(),
        }),
    };
    let listed = billed
        .versions_by_folder(prefix)
        .try_filter_map(|item| {
            let folder = match item {
                Versioned::Entry(entry) => {
                    let relative = entry
                        .key
                        .get(prefix.map_or(0, str::len)..)
                        .unwrap_or_default();
                    nested_keys |= relative.contains('/');
                    top.add(&entry);
                    None
                }
                Versioned::Folder(folder) => {
                    any_folder = true;
                    Some(folder)
                }
            };
            futures::future::ready(match folder {
                _ if nested_keys && any_folder => Err(wrong(
                    "folders, and keys inside folders, in one listing by folder".into(),
                )),
                Some(folder) if folders.check(Some(&folder), "folders").is_err() => Err(wrong(
                    format!("folder {} twice", crate::text::excerpt(&folder, 64)),
                )),
                folder => Ok(folder),
            })
        })
        .map_ok(|folder| tally_folder(billed, folder, options))
        .try_buffer_unordered(options.concurrency.max(1))
        .try_fold(VersionTally::new(options), |mut all, folder| {
            all.merge(folder);
            futures::future::ready(Ok(all))
        })
        .await?;
    top.merge(listed);
    Ok(top.finish())
}

/// The sums of one folder's versions.
fn tally_folder<'a>(
    billed: &'a dyn Billed,
    folder: String,
    options: &'a HiddenOptions,
) -> futures::future::BoxFuture<'a, crate::Result<VersionTally>> {
    Box::pin(async move {
        let mut tally = VersionTally::new(options);
        let mut entries = billed.versions(Some(&folder));
        while let Some(entry) = entries.try_next().await? {
            tally.add(&entry);
        }
        Ok(tally)
    })
}

/// The sums of one listing of versions, as it goes: each key's entries come together,
/// newest first, so only the key being read is held.
struct VersionTally {
    versions: Versions,
    /// Where keys are relative to.
    prefix: Option<String>,
    orphaned: u64,
    /// The key being read: its name, the time of its entry read last, whether it has a
    /// version, and its delete markers so far.
    current: Option<(String, DateTime<Utc>, bool, u64)>,
}

impl VersionTally {
    fn new(options: &HiddenOptions) -> Self {
        Self {
            versions: Versions {
                noncurrent: Counts::default(),
                noncurrent_since: None,
                classes: BTreeMap::new(),
                delete_markers: 0,
                orphaned_markers: Some(0),
                prefixes: PrefixBreakdown::new(options.depth, options.prefix_limit),
            },
            prefix: options.prefix.clone(),
            orphaned: 0,
            current: None,
        }
    }

    fn add(&mut self, entry: &VersionEntry) {
        let versions = &mut self.versions;
        let same = self
            .current
            .as_ref()
            .is_some_and(|(key, ..)| *key == entry.key);
        if !same {
            if let Some((_, _, false, markers)) = self.current.take() {
                self.orphaned += markers;
            }
            self.current = Some((entry.key.clone(), entry.last_modified, false, 0));
        }
        let (_, newer, has_version, markers) = self.current.as_mut().expect("set above");
        match &entry.kind {
            VersionKind::DeleteMarker => {
                versions.delete_markers += 1;
                *markers += 1;
            }
            VersionKind::Version { size, class } => {
                *has_version = true;
                if !entry.is_latest {
                    versions.noncurrent.add(*size);
                    let relative = match &self.prefix {
                        Some(p) => entry.key.strip_prefix(p.as_str()).unwrap_or(&entry.key),
                        None => &entry.key,
                    };
                    versions.prefixes.add(relative, *size);
                    // Noncurrent since the entry before it (newer) was written; the first
                    // entry of a key read noncurrent (a listing that began inside the key)
                    // since its own time, at the latest.
                    let since = if same { *newer } else { entry.last_modified };
                    versions.noncurrent_since =
                        super::histogram::min_opt(versions.noncurrent_since, Some(since));
                    if let Some(class) = class {
                        let mut counts = Counts::default();
                        counts.add(*size);
                        add_class(&mut versions.classes, class, counts);
                    }
                }
            }
        }
        *newer = entry.last_modified;
    }

    /// The end of this listing: its last key is complete.
    fn close(&mut self) {
        if let Some((_, _, false, markers)) = self.current.take() {
            self.orphaned += markers;
        }
    }

    /// Add another listing's sums (of other keys).
    fn merge(&mut self, mut other: VersionTally) {
        self.close();
        other.close();
        let (ours, theirs) = (&mut self.versions, other.versions);
        ours.noncurrent.merge(theirs.noncurrent);
        ours.noncurrent_since =
            super::histogram::min_opt(ours.noncurrent_since, theirs.noncurrent_since);
        for (class, counts) in theirs.classes {
            add_class(&mut ours.classes, &class, counts);
        }
        ours.delete_markers += theirs.delete_markers;
        self.orphaned += other.orphaned;
        ours.prefixes.merge(theirs.prefixes);
    }

    fn finish(mut self) -> Versions {
        self.close();
        self.versions.orphaned_markers = Some(self.orphaned);
        self.versions.prefixes.finish();
        self.versions
    }
}

/// Add `counts` to `class`'s, keeping at most the report's number of classes.
fn add_class(classes: &mut BTreeMap<String, Counts>, class: &str, counts: Counts) {
    let kept = classes.len();
    match classes.get_mut(class) {
        Some(ours) => ours.merge(counts),
        None if super::histogram::class_is_kept(class, kept) => {
            classes.insert(class.to_string(), counts);
        }
        None => {}
    }
}

/// Sum what `billed` lists (see the module docs). Keys in the per-prefix totals are
/// relative to `options.prefix`, as a scan's are.
pub async fn scan_hidden(billed: &dyn Billed, options: &HiddenOptions) -> crate::Result<Hidden> {
    let prefix = options.prefix.as_deref();
    let relative = |key: &str| -> String {
        match prefix {
            Some(p) => key.strip_prefix(p).unwrap_or(key).to_string(),
            None => key.to_string(),
        }
    };
    let mut hidden = Hidden {
        versions: None,
        uploads: None,
        not_seen: Vec::new(),
    };
    if options.versions {
        hidden.versions = Some(scan_versions(billed, options).await?);
    }
    if options.uploads && !billed.lists_uploads() {
        hidden
            .not_seen
            .push(format!("unfinished uploads: not listed for {billed}"));
    } else if options.uploads {
        let stale_before = options.as_of - chrono::Duration::days(options.stale_after_days.into());
        let mut uploads = Uploads {
            uploads: Counts::default(),
            parts: 0,
            oldest: None,
            stale: Counts::default(),
            stale_after_days: options.stale_after_days,
            prefixes: PrefixBreakdown::new(options.depth, options.prefix_limit),
        };
        let mut listed = billed.uploads(prefix);
        while let Some(upload) = listed.try_next().await? {
            uploads.uploads.add(upload.bytes);
            uploads.parts = uploads.parts.saturating_add(upload.parts);
            uploads.oldest = Some(
                uploads
                    .oldest
                    .map_or(upload.initiated, |t| t.min(upload.initiated)),
            );
            if upload.initiated < stale_before {
                uploads.stale.add(upload.bytes);
            }
            uploads.prefixes.add(&relative(&upload.key), upload.bytes);
        }
        uploads.prefixes.finish();
        hidden.uploads = Some(uploads);
    }
    Ok(hidden)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billed::fake::FakeBilled;
    use crate::billed::VersionEntry;
    use proptest::prelude::*;

    /// One key's history: `Some(size)` a put, `None` a delete (a marker).
    type History = Vec<(String, Vec<Option<u64>>)>;

    /// What S3 lists for `history` (keys in byte order, each key newest first), each
    /// operation one second after the one before, over the whole history.
    fn listing(history: &History) -> Vec<VersionEntry> {
        let mut clock = 0;
        let mut by_key: BTreeMap<&str, Vec<VersionEntry>> = BTreeMap::new();
        for (key, ops) in history {
            for op in ops {
                clock += 1;
                by_key.entry(key).or_default().push(VersionEntry {
                    key: key.clone(),
                    version_id: clock.to_string(),
                    is_latest: false,
                    last_modified: DateTime::from_timestamp(clock, 0).unwrap(),
                    kind: match op {
                        Some(size) => VersionKind::Version {
                            size: *size,
                            class: Some("STANDARD".into()),
                        },
                        None => VersionKind::DeleteMarker,
                    },
                });
            }
        }
        by_key
            .into_values()
            .flat_map(|mut entries| {
                entries.reverse();
                entries[0].is_latest = true;
                entries
            })
            .collect()
    }

    fn key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "a/b", "a/c", "a-b/c", "b/x/y", "b/z", "c", "d/e", "d/e/f",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
        ))]

        /// The figures of a versioned listing equal those computed from the history
        /// itself: what was overwritten or deleted and is still kept, the markers, the
        /// keys left with markers only, when the oldest kept version was replaced.
        #[test]
        fn versions_are_summed_as_the_history_says(
            history in prop::collection::vec((key(), prop::collection::vec(prop::option::of(0u64..100), 1..5)), 0..12),
            by_folder in any::<bool>(),
            concurrency in 1usize..4,
        ) {
            let fake = FakeBilled { versions: listing(&history), by_folder, ..FakeBilled::default() };
            let options = HiddenOptions { uploads: false, ..HiddenOptions::new(Utc::now()) }
                .with_concurrency(concurrency);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let hidden = rt.block_on(scan_hidden(&fake, &options)).unwrap();
            let versions = hidden.versions.unwrap();
            prop_assert!(hidden.uploads.is_none());
            // Folders listed apiece and at once sum to what one listing of all sums to,
            // field for field (the per-prefix breakdown and its order included).
            let one = FakeBilled { versions: listing(&history), ..FakeBilled::default() };
            let single = rt.block_on(scan_hidden(&one, &options.clone().with_concurrency(1))).unwrap();
            prop_assert_eq!(single.versions.as_ref(), Some(&versions));

            // The oracle: each key's operations in time order (one second apart).
            let mut clock = 0;
            let mut ops: BTreeMap<&str, Vec<(i64, Option<u64>)>> = BTreeMap::new();
            for (key, list) in &history {
                for op in list {
                    clock += 1;
                    ops.entry(key).or_default().push((clock, *op));
                }
            }
            let (mut noncurrent, mut bytes, mut markers, mut orphaned) = (0, 0, 0, 0);
            let mut since: Option<i64> = None;
            let mut top: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            for (key, list) in &ops {
                let puts = list.iter().filter(|(_, op)| op.is_some()).count();
                let deletes = list.len() - puts;
                markers += deletes as u64;
                if puts == 0 {
                    orphaned += deletes as u64;
                }
                // Every put but the last operation is noncurrent: replaced at the next.
                for (i, (_, op)) in list.iter().enumerate() {
                    if let (Some(size), Some((next, _))) = (op, list.get(i + 1)) {
                        noncurrent += 1;
                        bytes += size;
                        since = Some(since.map_or(*next, |s| s.min(*next)));
                        if let Some((first, _)) = key.split_once('/') {
                            let entry = top.entry(first.to_string()).or_default();
                            entry.0 += 1;
                            entry.1 += size;
                        }
                    }
                }
            }
            prop_assert_eq!(versions.noncurrent.objects, noncurrent);
            prop_assert_eq!(versions.noncurrent.bytes, bytes);
            prop_assert_eq!(versions.delete_markers, markers);
            prop_assert_eq!(versions.orphaned_markers, Some(orphaned));
            prop_assert_eq!(versions.noncurrent_since, since.map(|s| DateTime::from_timestamp(s, 0).unwrap()));
            let ours: BTreeMap<String, (u64, u64)> = versions.prefixes.entries().into_iter()
                .filter(|e| e.depth == 1).map(|e| (e.prefix, (e.objects, e.bytes))).collect();
            prop_assert_eq!(ours, top);
            let standard = versions.classes.get("STANDARD").copied().unwrap_or_default();
            prop_assert_eq!((standard.objects, standard.bytes), (noncurrent, bytes));
        }
    }

    #[test]
    fn a_report_with_hidden_bytes_round_trips_through_json() {
        let history: History = vec![
            ("a/x".into(), vec![Some(5), Some(7), None]),
            ("gone".into(), vec![None]),
        ];
        let fake = FakeBilled {
            versions: listing(&history),
            ..FakeBilled::default()
        };
        let as_of = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let hidden = rt
            .block_on(scan_hidden(&fake, &HiddenOptions::new(as_of)))
            .unwrap();
        let mut report = super::super::Report::new(as_of, 1, 10, 5);
        report.hidden = Some(hidden);
        let json = serde_json::to_string(&report).unwrap();
        let back: super::super::Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
        let versions = back.hidden.unwrap().versions.unwrap();
        assert_eq!(
            (versions.noncurrent.objects, versions.noncurrent.bytes),
            (2, 12)
        );
        assert_eq!(
            (versions.delete_markers, versions.orphaned_markers),
            (2, Some(1))
        );
    }
}
