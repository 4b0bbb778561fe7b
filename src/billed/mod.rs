//! What a store keeps, and its provider bills, that a listing does not show: versions that
//! are no longer current, delete markers, and multipart uploads begun and never completed
//! or aborted (their parts are stored and billed, and no listing of objects sees them).
//!
//! object_store's trait cannot ask for these, so a provider that can answers through a
//! [`Billed`] of its own, made by [`Config::billed`](crate::Config::billed) from the same
//! configuration, credentials, certificate authorities and request counters as the store:
//! S3 (and S3-compatible servers) with `ListObjectVersions`, `ListMultipartUploads`,
//! `ListParts` and `AbortMultipartUpload`, signed by object_store's own `AwsAuthorizer`;
//! GCS with the JSON API's listing of every generation (`versions=true`) and the XML
//! API's `ListMultipartUploads`, `ListParts` and `AbortMultipartUpload` (S3's, written
//! once in `multipart`), with the store's bearer token (GCS has no delete markers).
//! Every request is a LIST (or, for an abort, a multipart request) in the store's
//! [`requests`](crate::requests) counts.
//!
//! [`Billed::versions_by_folder`] lists with the delimiter `/` (S3 and GCS), so that
//! [`inventory::hidden`](crate::inventory::hidden) can list a prefix's folders at once
//! and sum them into a report;
//! [`cleanup_uploads`] aborts the old uploads.
//!
//! Bounds: a response body is read up to [`MAX_RESPONSE_BYTES`] (a page of 1,000 entries
//! is about 0.5 MB) and a key or upload ID up to [`MAX_NAME_BYTES`]; what a server sends
//! beyond either is an error naming the request, never kept. An error quotes a server's
//! text shortened, its control characters escaped (nothing raw on a terminal).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::TryStreamExt;

#[cfg(feature = "azure")]
pub(crate) mod azure;
#[cfg(feature = "gcp")]
pub(crate) mod gcs;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
pub(crate) mod http;
#[cfg(any(feature = "aws", feature = "gcp"))]
pub(crate) mod multipart;
pub(crate) mod redact;
#[cfg(feature = "aws")]
pub(crate) mod s3;
#[cfg(any(feature = "aws", feature = "gcp", feature = "azure"))]
pub(crate) mod xml;

/// The largest response body read (32 MiB): a full page of versions, uploads or parts
/// is well under 1 MiB.
pub const MAX_RESPONSE_BYTES: usize = 32 << 20;

/// The longest key, upload ID, version ID or marker accepted (S3 keys are at most 1,024
/// bytes; the rest is room for IDs of other servers).
pub const MAX_NAME_BYTES: usize = 4096;

/// One entry of a versioned listing: an object version or a delete marker. A listing
/// gives every key's entries together, the newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionEntry {
    /// The key, relative to the store's prefix.
    pub key: String,
    /// The version's ID (`null` for what was written before versioning was on).
    pub version_id: String,
    /// Whether it is the key's current entry.
    pub is_latest: bool,
    /// When it was written.
    pub last_modified: DateTime<Utc>,
    /// When it stopped being current, where the server says so (GCS `timeDeleted`);
    /// `None` for S3, where that is when the key's next entry was written.
    pub replaced: Option<DateTime<Utc>>,
    /// A version, or a delete marker.
    pub kind: VersionKind,
}

/// What a [`VersionEntry`] is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionKind {
    /// An object version: its bytes are stored.
    Version {
        /// Its size.
        size: u64,
        /// Its storage class, when the server says.
        class: Option<String>,
    },
    /// A delete marker: no bytes, a request's worth of storage.
    DeleteMarker,
}

/// One item of [`Billed::versions_by_folder`]: an entry directly under the prefix listed,
/// or a folder below it whose entries were rolled up into its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Versioned {
    /// A version or delete marker of a key directly under the prefix.
    Entry(VersionEntry),
    /// A folder: its name relative to the store's prefix, ending with `/`
    /// (`logs/2026/`). Listed once; its entries are [`Billed::versions`] of it.
    Folder(String),
}

/// A multipart upload begun and neither completed nor aborted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upload {
    /// The key it would create, relative to the store's prefix.
    pub key: String,
    /// The server's ID for it.
    pub upload_id: String,
    /// When it was begun; `None` when the server does not say (Azure's blocks staged on
    /// a blob that has committed bytes: no listing dates a block). An upload of unknown
    /// age is never "older than" anything: not in a report's oldest or stale uploads,
    /// never aborted by [`cleanup_uploads`].
    pub initiated: Option<DateTime<Utc>>,
    /// Its storage class, when the server says.
    pub class: Option<String>,
    /// Parts uploaded so far.
    pub parts: u64,
    /// Their bytes: what is stored and billed.
    pub bytes: u64,
}

/// What a store bills beyond its current objects, for a provider that can list it.
///
/// Keys are relative to the store's prefix, as the store's own listing gives them;
/// `prefix` narrows a listing further (`None`: all of the store).
#[async_trait]
pub trait Billed: std::fmt::Debug + std::fmt::Display + Send + Sync {
    /// Every object version and delete marker under `prefix`, by key, each key's newest
    /// first (what `ListObjectVersions` gives). An unversioned bucket gives each object
    /// once, current.
    fn versions<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<VersionEntry>>;

    /// Whether [`Self::versions_after`] begins a listing at a key (S3's `key-marker`, GCS's
    /// `startOffset`), so that a large folder's versions can be listed as key ranges at
    /// once. Not for Azure, whose markers are the server's own.
    fn lists_after(&self) -> bool {
        false
    }

    /// Whether the server begins a listing after a key in folder order (SeaweedFS, an
    /// S3 store with `list_order = "sorted"`: after `a-b` it skips the folder `a/`, whose
    /// keys follow `a-b` in bytes), so that a listing must never begin after a key with a
    /// byte below `/` past its folder.
    fn after_in_folder_order(&self) -> bool {
        false
    }

    /// [`Self::versions`] from the first key after `after` (a key under `prefix`,
    /// relative to the store's), where [`Self::lists_after`]; a listing may also give
    /// keys up to `after` (GCS begins at it), which the caller skips. By default the
    /// whole listing.
    fn versions_after<'a>(
        &'a self,
        prefix: Option<&'a str>,
        after: &'a str,
    ) -> BoxStream<'a, crate::Result<VersionEntry>> {
        let _ = after;
        self.versions(prefix)
    }

    /// The entries of keys directly under `prefix` (as [`Self::versions`] gives them) and
    /// each folder below it once (a listing with the delimiter `/`), so that the folders
    /// can be listed concurrently. The folders include those holding only noncurrent
    /// versions and delete markers. By default (a provider that cannot roll up folders)
    /// every entry, and no folder.
    fn versions_by_folder<'a>(
        &'a self,
        prefix: Option<&'a str>,
    ) -> BoxStream<'a, crate::Result<Versioned>> {
        use futures::StreamExt;
        self.versions(prefix).map_ok(Versioned::Entry).boxed()
    }

    /// Whether [`Self::uploads`] can list unfinished uploads here (every provider's
    /// does; a [`Billed`] of another kind may not).
    fn lists_uploads(&self) -> bool {
        true
    }

    /// Every multipart upload under `prefix` that was begun and neither completed nor
    /// aborted, with its parts counted (`ListMultipartUploads`, then `ListParts` for
    /// each).
    fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>>;

    /// [`Self::uploads`] and also those only a request per object finds, which
    /// [`Self::uploads_not_seen`] names (Azure: blocks staged on a blob that has committed
    /// bytes, one `Get Block List` per blob), `concurrency` requests at once. By default
    /// [`Self::uploads`]: S3 and GCS list every upload.
    fn uploads_per_object<'a>(
        &'a self,
        prefix: Option<&'a str>,
        concurrency: usize,
    ) -> BoxStream<'a, crate::Result<Upload>> {
        let _ = concurrency;
        self.uploads(prefix)
    }

    /// The provider (`s3`, `gcs`, `azure`): which lifecycle rules apply. `None` for a
    /// [`Billed`] of another kind (a test's).
    fn provider(&self) -> Option<&'static str> {
        None
    }

    /// What [`Self::uploads`] does not see here and [`Self::uploads_per_object`] does,
    /// said in a report's [`not_seen`](crate::inventory::hidden::Hidden::not_seen) when
    /// not looked at (Azure: blocks staged on a blob that has committed bytes).
    fn uploads_not_seen(&self) -> Option<String> {
        None
    }

    /// What [`Self::uploads_per_object`] does not see here. By default what
    /// [`Self::uploads`] does not (the default `uploads_per_object` is `uploads`), so a
    /// provider that finds more per object says so here (Azure: nothing).
    fn uploads_per_object_not_seen(&self) -> Option<String> {
        self.uploads_not_seen()
    }

    /// Whether [`Self::abort`] can abort an upload here (not for Azure, which discards
    /// staged blocks by itself and has no abort).
    fn aborts_uploads(&self) -> bool {
        self.lists_uploads()
    }

    /// Abort `upload` (its parts are deleted). An upload that no longer exists (completed
    /// or aborted since it was listed) is `Ok(false)`.
    async fn abort(&self, upload: &Upload) -> crate::Result<bool>;
}

/// A page's entries with each key's together, in the order its keys first appear, and
/// each key's the latest first, then newest first (ties in the server's order). AWS and
/// SeaweedFS send them so already; moto sends every version of a page before its delete
/// markers, GCS a name's generations oldest first. A key's entries on two pages are taken as the server splits them: the key
/// the page goes on from (`continued`, the key marker sent) first, the key the next page
/// goes on with (`continuing`, the next key marker) last, so that its entries on either
/// side of the split meet, whatever the order the server gave the page's keys in (moto
/// gives a key of versions before a key, earlier in order, of delete markers only).
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(crate) fn in_key_order(
    entries: &mut Vec<VersionEntry>,
    continued: Option<String>,
    continuing: Option<String>,
) {
    let mut groups: Vec<Vec<VersionEntry>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for entry in entries.drain(..) {
        match index.get(&entry.key) {
            Some(&i) => groups[i].push(entry),
            None => {
                index.insert(entry.key.clone(), groups.len());
                groups.push(vec![entry]);
            }
        }
    }
    if let Some(&i) = continued.and_then(|key| index.get(&key)) {
        let group = groups.remove(i);
        groups.insert(0, group);
    }
    // Found again: the first move shifted the groups' places.
    if let Some(key) = continuing {
        if let Some(i) = groups.iter().position(|g| g[0].key == key) {
            let group = groups.remove(i);
            groups.push(group);
        }
    }
    for mut group in groups {
        group.sort_by(|a, b| {
            b.is_latest
                .cmp(&a.is_latest)
                .then(b.last_modified.cmp(&a.last_modified))
        });
        entries.extend(group);
    }
}

/// The entries of a listing without a delimiter (which gives no folder).
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(crate) fn entries(
    listing: BoxStream<'_, crate::Result<Versioned>>,
) -> BoxStream<'_, crate::Result<VersionEntry>> {
    use futures::StreamExt;
    listing
        .try_filter_map(|item| async move {
            Ok(match item {
                Versioned::Entry(entry) => Some(entry),
                Versioned::Folder(_) => None,
            })
        })
        .boxed()
}

/// The crate's error for a listing of `store` (its name) under `prefix` that failed.
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(crate) fn listing_error(
    store: &str,
    prefix: Option<&str>,
    source: object_store::Error,
) -> crate::Error {
    crate::Error::Listing {
        store: store.to_string(),
        prefix: prefix.unwrap_or_default().to_string(),
        source: Box::new(source),
    }
}

/// The markers a listing has followed, hashed (8 bytes a page): markers a server gave
/// before, however many pages ago, end the listing in an error. A server whose markers
/// cycle (A, B, A, ...) would otherwise never end it; nor would one giving empty pages
/// with ever new markers, so more than [`EMPTY_PAGES`] in a row are an error too.
#[derive(Default)]
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(crate) struct Followed {
    seen: std::collections::HashSet<u64>,
    hasher: std::hash::RandomState,
    /// Empty pages in a row.
    empty: usize,
}

/// Empty pages in a row a listing follows (a server may end a page early, even with
/// nothing in it, and go on from a marker; not a thousand times).
pub(crate) const EMPTY_PAGES: usize = 1000;

impl Followed {
    /// A page was read that gave `next` (none: the last) and was `empty` or not.
    pub(crate) fn check<T: std::hash::Hash>(
        &mut self,
        next: Option<&T>,
        empty: bool,
        what: &str,
    ) -> Result<(), object_store::Error> {
        use std::hash::BuildHasher;
        self.empty = match empty {
            true => self.empty + 1,
            false => 0,
        };
        if next.is_some() && self.empty > EMPTY_PAGES {
            return Err(object_store::Error::Generic {
                store: "HTTP",
                source: format!(
                    "{what}: the server gave {EMPTY_PAGES} empty pages in a row, each with a \
                     new marker (the listing would never end)"
                )
                .into(),
            });
        }
        match next {
            Some(next) if !self.seen.insert(self.hasher.hash_one(next)) => {
                Err(object_store::Error::Generic {
                    store: "HTTP",
                    source: format!(
                    "{what}: the server gave markers it gave before (the listing would never end)"
                )
                    .into(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Every item of a paged listing: `page(state)` gives one page's items and the state the
/// next page starts from (`None`: that was the last), pages asked for one at a time as
/// the stream is read.
#[cfg_attr(
    not(any(feature = "aws", feature = "gcp", feature = "azure")),
    allow(dead_code)
)]
pub(crate) fn paged<'a, T, S, F, Fut>(first: S, page: F) -> BoxStream<'a, crate::Result<T>>
where
    T: Send + 'a,
    S: Send + 'a,
    F: Fn(S) -> Fut + Send + 'a,
    Fut: std::future::Future<Output = crate::Result<(Vec<T>, Option<S>)>> + Send + 'a,
{
    use futures::stream::{self, StreamExt};
    stream::try_unfold(Some(first), move |state: Option<S>| {
        let next = state.map(&page);
        async move {
            let Some(next) = next else {
                return Ok::<_, crate::Error>(None);
            };
            let (items, state) = next.await?;
            Ok(Some((
                stream::iter(items.into_iter().map(Ok::<_, crate::Error>)),
                state,
            )))
        }
    })
    .try_flatten()
    .boxed()
}

/// What [`cleanup_uploads`] does.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CleanupOptions {
    /// Uploads begun before `now - older_than` are aborted.
    pub older_than: std::time::Duration,
    /// Only list what would be aborted (the default): nothing is sent but listings.
    pub dry_run: bool,
    /// Only uploads under this prefix (relative to the store's).
    pub prefix: Option<String>,
}

impl CleanupOptions {
    /// A dry run for uploads older than `older_than`.
    pub fn new(older_than: std::time::Duration) -> Self {
        Self {
            older_than,
            dry_run: true,
            prefix: None,
        }
    }

    /// Abort for real (`false`) or only list (`true`, the default).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Only uploads under `prefix`.
    pub fn with_prefix(mut self, prefix: Option<String>) -> Self {
        self.prefix = prefix;
        self
    }
}

/// What [`cleanup_uploads`] did (or, in a dry run, would do).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanupReport {
    /// The uploads old enough, as listed: aborted, or to abort in a dry run.
    pub old: Vec<Upload>,
    /// Their parts' bytes: freed, or to free.
    pub bytes: u64,
    /// Uploads listed that were too young to abort (kept).
    pub kept: u64,
    /// Old uploads that were gone when their abort was sent (completed or aborted
    /// meanwhile): nothing was done to them.
    pub gone: u64,
    /// Whether this was a dry run.
    pub dry_run: bool,
}

/// Abort the uploads of `billed` begun more than `options.older_than` ago (by the
/// server's `Initiated` time), or in a dry run only list them.
///
/// Only an upload this run listed is aborted, and only if it is still older than the
/// threshold when its abort is sent (the threshold is measured again then, from the
/// clock at that moment): an upload begun during the run is never touched, whatever its
/// key. Aborts go one at a time, in listing order; the first failure stops the run
/// with the error (what was aborted before it stays aborted).
pub async fn cleanup_uploads(
    billed: &dyn Billed,
    options: &CleanupOptions,
) -> crate::Result<CleanupReport> {
    if !options.dry_run && !billed.aborts_uploads() {
        return Err(crate::Error::Store {
            store: billed.to_string(),
            source: Box::new(object_store::Error::NotSupported {
                source: "this provider has no abort for unfinished uploads (Azure discards \
                         staged blocks a week after the last was staged): run without \
                         aborting to list them"
                    .into(),
            }),
        });
    }
    let older_than =
        chrono::Duration::from_std(options.older_than).unwrap_or(chrono::Duration::MAX);
    let is_old = |upload: &Upload| {
        Utc::now()
            .checked_sub_signed(older_than)
            .is_some_and(|threshold| upload.initiated.is_some_and(|t| t < threshold))
    };
    let mut report = CleanupReport {
        dry_run: options.dry_run,
        ..CleanupReport::default()
    };
    let mut uploads = billed.uploads(options.prefix.as_deref());
    let mut old = Vec::new();
    while let Some(upload) = uploads.try_next().await? {
        if is_old(&upload) {
            old.push(upload);
        } else {
            report.kept += 1;
        }
    }
    drop(uploads);
    for upload in old {
        if !options.dry_run {
            // Measured again at the abort, so a clock set back during the run cannot
            // abort what is not old by the clock of that moment.
            if !is_old(&upload) {
                report.kept += 1;
                continue;
            }
            if !billed.abort(&upload).await? {
                report.gone += 1;
                continue;
            }
        }
        report.bytes = report.bytes.saturating_add(upload.bytes);
        report.old.push(upload);
    }
    Ok(report)
}

/// An in-memory [`Billed`] for the crate's unit tests: a listing as S3 gives it (keys in
/// byte order, each key's entries newest first), and uploads whose aborts are recorded.
#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use futures::stream::{self, StreamExt};
    use std::sync::Mutex;

    #[derive(Debug, Default)]
    pub(crate) struct FakeBilled {
        pub versions: Vec<VersionEntry>,
        pub uploads: Mutex<Vec<Upload>>,
        /// Upload IDs that answer "no such upload" to an abort (completed meanwhile).
        pub gone: Vec<String>,
        pub aborted: Mutex<Vec<String>>,
        /// Begun at the first abort: uploads another client starts during a cleanup.
        pub meanwhile: Mutex<Vec<Upload>>,
        /// Whether `versions_by_folder` rolls up folders (as S3 does), or gives every
        /// entry (the default of a provider that cannot).
        pub by_folder: bool,
        /// Whether a listing begins after a key ([`Billed::lists_after`]).
        pub after: bool,
        /// Whether "after a key" is in folder order (SeaweedFS: a folder `a/` sorts as
        /// `a`, so after `a-` skips it) rather than in bytes. `versions` is given in
        /// whatever order the test put it in.
        pub folder_order: bool,
    }

    impl FakeBilled {
        /// The entries under `prefix` (after `after`, in folder order with
        /// `folder_order`), in the order given.
        fn listed<'a>(
            &'a self,
            prefix: Option<&str>,
            after: Option<&str>,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            let prefix = prefix.unwrap_or_default();
            let entries: Vec<_> = self
                .versions
                .iter()
                .filter(|e| e.key.starts_with(prefix))
                .filter(|e| match (after, self.folder_order) {
                    (None, _) => true,
                    (Some(after), true) => after_in_folder_order(&e.key, after),
                    (Some(after), false) => e.key.as_str() > after,
                })
                .cloned()
                .map(Ok)
                .collect();
            stream::iter(entries).boxed()
        }
    }

    /// `key` after `after` in SeaweedFS's order: segment by segment.
    pub(crate) fn after_in_folder_order(key: &str, after: &str) -> bool {
        key.split('/').cmp(after.split('/')).is_gt()
    }

    impl std::fmt::Display for FakeBilled {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "fake")
        }
    }

    #[async_trait]
    impl Billed for FakeBilled {
        fn versions<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            self.listed(prefix, None)
        }

        fn lists_after(&self) -> bool {
            self.after
        }

        fn after_in_folder_order(&self) -> bool {
            self.folder_order
        }

        fn versions_after<'a>(
            &'a self,
            prefix: Option<&'a str>,
            after: &'a str,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            self.listed(prefix, Some(after))
        }

        fn versions_by_folder<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> BoxStream<'a, crate::Result<Versioned>> {
            if !self.by_folder {
                return self.versions(prefix).map_ok(Versioned::Entry).boxed();
            }
            let prefix = prefix.unwrap_or_default();
            let mut items = Vec::new();
            for entry in self.versions.iter().filter(|e| e.key.starts_with(prefix)) {
                match entry.key[prefix.len()..].find('/') {
                    None => items.push(Ok(Versioned::Entry(entry.clone()))),
                    Some(slash) => {
                        let folder = entry.key[..prefix.len() + slash + 1].to_string();
                        // A folder's keys are together in byte order: listed once.
                        if !matches!(items.last(), Some(Ok(Versioned::Folder(f))) if *f == folder) {
                            items.push(Ok(Versioned::Folder(folder)));
                        }
                    }
                }
            }
            stream::iter(items).boxed()
        }

        fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
            let prefix = prefix.unwrap_or_default();
            let uploads: Vec<_> = self
                .uploads
                .lock()
                .unwrap()
                .iter()
                .filter(|u| u.key.starts_with(prefix))
                .cloned()
                .map(Ok)
                .collect();
            stream::iter(uploads).boxed()
        }

        async fn abort(&self, upload: &Upload) -> crate::Result<bool> {
            let begun = std::mem::take(&mut *self.meanwhile.lock().unwrap());
            self.uploads.lock().unwrap().extend(begun);
            let mut uploads = self.uploads.lock().unwrap();
            let before = uploads.len();
            uploads.retain(|u| u.upload_id != upload.upload_id);
            if before == uploads.len() || self.gone.contains(&upload.upload_id) {
                return Ok(false);
            }
            self.aborted.lock().unwrap().push(upload.upload_id.clone());
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeBilled;
    use super::*;
    use proptest::prelude::*;
    use std::sync::Mutex;

    fn upload(id: usize, age_hours: i64, bytes: u64) -> Upload {
        Upload {
            key: format!("k/{}", id % 3),
            upload_id: format!("u{id}"),
            initiated: Some(Utc::now() - chrono::Duration::hours(age_hours)),
            class: None,
            parts: 1,
            bytes,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
        ))]

        /// A cleanup aborts exactly the uploads it listed that are old and still there;
        /// never a young one, never one begun while it runs; a dry run aborts nothing.
        #[test]
        fn cleanup_aborts_only_old_listed_uploads(
            ages in prop::collection::vec((0i64..400, 0u64..1000), 0..20),
            gone in prop::collection::vec(any::<bool>(), 20),
            meanwhile in 0usize..3,
            dry_run in any::<bool>(),
        ) {
            let uploads: Vec<Upload> = ages.iter().enumerate().map(|(i, (age, bytes))| upload(i, *age, *bytes)).collect();
            let gone_ids: Vec<String> = uploads.iter().zip(&gone).filter(|(_, g)| **g).map(|(u, _)| u.upload_id.clone()).collect();
            // Begun during the run: as old as can be, with keys of old uploads.
            let begun: Vec<Upload> = (0..meanwhile).map(|i| upload(100 + i, 10_000, 1)).collect();
            let fake = FakeBilled {
                uploads: Mutex::new(uploads.clone()),
                gone: gone_ids.clone(),
                meanwhile: Mutex::new(begun.clone()),
                ..FakeBilled::default()
            };
            let options = CleanupOptions::new(std::time::Duration::from_secs(7 * 86_400)).with_dry_run(dry_run);
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let report = rt.block_on(cleanup_uploads(&fake, &options)).unwrap();
            let aborted = fake.aborted.lock().unwrap().clone();
            let old: Vec<&Upload> = uploads.iter().filter(|u| u.initiated.is_some_and(|t| t < Utc::now() - chrono::Duration::days(7))).collect();
            if dry_run {
                prop_assert!(aborted.is_empty());
                let listed: Vec<&String> = report.old.iter().map(|u| &u.upload_id).collect();
                let expected: Vec<&String> = old.iter().map(|u| &u.upload_id).collect();
                prop_assert_eq!(listed, expected);
            } else {
                let expected: Vec<String> = old.iter().filter(|u| !gone_ids.contains(&u.upload_id)).map(|u| u.upload_id.clone()).collect();
                prop_assert_eq!(&aborted, &expected);
                let reported: Vec<String> = report.old.iter().map(|u| u.upload_id.clone()).collect();
                prop_assert_eq!(&reported, &expected);
                prop_assert_eq!(report.gone as usize, old.len() - expected.len());
                prop_assert_eq!(report.bytes, old.iter().filter(|u| expected.contains(&u.upload_id)).map(|u| u.bytes).sum::<u64>());
                for u in &begun {
                    prop_assert!(!aborted.contains(&u.upload_id), "begun during the run: {}", u.upload_id);
                }
            }
            prop_assert_eq!(report.kept as usize, uploads.len() - old.len());
        }
    }
}
