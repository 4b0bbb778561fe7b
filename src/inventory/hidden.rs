//! The stored, billed bytes a listing does not show ([`Report::hidden`](super::Report)):
//! versions that are no longer current, delete markers, and multipart uploads never
//! completed or aborted, in totals and per prefix, from a store's [`Billed`].
//!
//! Memory is bounded as a listing's report is: per key only the key being read is held
//! (a listing gives a key's versions together), and the per-prefix totals are a
//! [`PrefixBreakdown`] of the report's depth and limit.

use super::{Counts, PrefixBreakdown};
use crate::billed::{Billed, VersionKind};
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
    /// markers" for AWS): they keep nothing, and cost a listing entry each.
    pub orphaned_markers: u64,
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
        }
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
        let mut versions = Versions {
            noncurrent: Counts::default(),
            noncurrent_since: None,
            classes: BTreeMap::new(),
            delete_markers: 0,
            orphaned_markers: 0,
            prefixes: PrefixBreakdown::new(options.depth, options.prefix_limit),
        };
        // The key being read: its name, the time of its entry read last, whether it has
        // a version, and its delete markers so far.
        let mut current: Option<(String, DateTime<Utc>, bool, u64)> = None;
        let mut entries = billed.versions(prefix);
        while let Some(entry) = entries.try_next().await? {
            let same = current.as_ref().is_some_and(|(key, ..)| *key == entry.key);
            if !same {
                if let Some((_, _, false, markers)) = current.take() {
                    versions.orphaned_markers += markers;
                }
                current = Some((entry.key.clone(), entry.last_modified, false, 0));
            }
            let (_, newer, has_version, markers) = current.as_mut().expect("set above");
            match &entry.kind {
                VersionKind::DeleteMarker => {
                    versions.delete_markers += 1;
                    *markers += 1;
                }
                VersionKind::Version { size, class } => {
                    *has_version = true;
                    if !entry.is_latest {
                        versions.noncurrent.add(*size);
                        versions.prefixes.add(&relative(&entry.key), *size);
                        // Noncurrent since the entry before it (newer) was written; the
                        // first entry of a key read noncurrent (a listing that began
                        // inside the key) since its own time, at the latest.
                        let since = if same { *newer } else { entry.last_modified };
                        versions.noncurrent_since =
                            Some(versions.noncurrent_since.map_or(since, |t| t.min(since)));
                        if let Some(class) = class {
                            let kept = versions.classes.len();
                            match versions.classes.get_mut(class) {
                                Some(counts) => counts.add(*size),
                                None if super::report::class_is_kept(class, kept) => {
                                    let mut counts = Counts::default();
                                    counts.add(*size);
                                    versions.classes.insert(class.clone(), counts);
                                }
                                None => {}
                            }
                        }
                    }
                }
            }
            *newer = entry.last_modified;
        }
        if let Some((_, _, false, markers)) = current {
            versions.orphaned_markers += markers;
        }
        versions.prefixes.finish();
        hidden.versions = Some(versions);
    }
    if options.uploads {
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
