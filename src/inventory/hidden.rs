//! The stored, billed bytes a listing does not show ([`Report::hidden`](super::Report)):
//! versions that are no longer current, delete markers, and multipart uploads never
//! completed or aborted, in totals and per prefix, from a store's [`Billed`].
//!
//! Memory is bounded as a listing's report is: per key only the key being read is held
//! (a listing gives a key's versions together), and the per-prefix totals are a
//! [`PrefixBreakdown`] of the report's depth and limit.
//!
//! Versions are listed by folder: one listing with the delimiter `/` gives the keys
//! directly under the prefix and its folders, and the folders are listed at once,
//! [`HiddenOptions::concurrency`] of them, each summed whole and merged. Folders too
//! small to be worth a request each (fewer than [`HiddenOptions::page_entries`] /
//! `concurrency` entries on average, over the first `concurrency` listed) make it one
//! listing of the prefix instead. A listing refused for permission, or not served (an
//! emulator answering another document), is said in [`Hidden::not_seen`], and the rest
//! goes on; any other failure ends the scan.
//!
//! A folder (or the prefix, listed whole) larger than a page is cut into key ranges
//! listed at once where the provider begins a listing at a key ([`Billed::lists_after`]:
//! S3, GCS), as a scan cuts a flat folder (see the `inventory` module): a key's entries
//! are all in one range, so each range is summed on its own and merged. A prefix whose
//! first page holds keys and no folder is listed whole, by ranges, rather than by
//! folder. Listings at once, folders and ranges together: at most `concurrency`.

use super::ranges::{self, Alphabet};
use super::{Counts, PrefixBreakdown};
use crate::billed::{Billed, Followed, VersionEntry, VersionKind, Versioned};
use chrono::{DateTime, Utc};
use futures::stream::FuturesUnordered;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use tokio::sync::{Semaphore, SemaphorePermit};

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
    /// The provider whose listings these are (`s3`, `gcs`, `azure`), for the rules that
    /// would remove what is kept; `None` in reports written before it and from fakes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
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
    /// Noncurrent bytes by storage class, when the source says: at most
    /// [`CLASS_LIMIT`](super::CLASS_LIMIT) classes, the first in byte order, each named
    /// with at most [`CLASS_NAME_LIMIT`](super::CLASS_NAME_LIMIT) bytes (the others are
    /// in `noncurrent` only).
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
    /// Uploads and their bytes by the storage class each will have, when the server
    /// says (as [`Versions::classes`]: at most [`CLASS_LIMIT`](super::CLASS_LIMIT)
    /// classes, the others in `uploads` only). Empty in reports written before it.
    #[serde(default)]
    pub classes: BTreeMap<String, Counts>,
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
    /// With `uploads`, also those only a request per object finds
    /// ([`Billed::uploads_per_object`]: Azure's blocks staged on blobs that have committed
    /// bytes, a `Get Block List` per blob, `concurrency` at once). Off by default.
    pub uploads_per_object: bool,
    /// See [`Uploads::stale_after_days`].
    pub stale_after_days: u32,
    /// Versions listings at once, folders and key ranges (at least 1).
    pub concurrency: usize,
    /// The entries a page of a versions listing holds (1,000 on S3 and GCS): what
    /// decides between a listing per folder and one listing of them all. A listing per
    /// folder costs at least a request per folder, `concurrency` at once; one listing
    /// costs a request per `page_entries` entries, one after the other. So once the
    /// folders listed average fewer than `page_entries / concurrency` entries, and more
    /// folders come, the rest is one listing (see [`scan_hidden`]). 0: always a listing
    /// per folder. Also the block after which a listing is cut into key ranges, and
    /// the keys directly under the prefix that make it a flat folder, listed whole
    /// (0 or `u64::MAX`: never).
    pub page_entries: u64,
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
            uploads_per_object: false,
            stale_after_days: STALE_UPLOAD_DAYS,
            concurrency: 8,
            page_entries: PAGE_ENTRIES,
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

    /// Set `uploads_per_object`.
    pub fn with_uploads_per_object(mut self, per_object: bool) -> Self {
        self.uploads_per_object = per_object;
        self
    }
}

/// Entries in a page of S3's `ListObjectVersions` and of GCS's `objects.list`.
const PAGE_ENTRIES: u64 = 1_000;

/// The versions of `billed` under `options.prefix`: the keys directly under it from one
/// listing by folder, and each folder it gives listed on its own, `options.concurrency`
/// folders at once (a versions page costs a server far more than a page of objects:
/// SeaweedFS takes 0.2 s for one). A key's entries are all in one folder, so each
/// listing sums its keys whole and the sums are merged. Memory: a page and a
/// [`VersionTally`] per folder being listed, and 8 bytes per folder listed.
///
/// Small folders are not worth a request each: once `concurrency` folders are listed
/// and they average fewer than `page_entries / concurrency` entries while more folders
/// come, everything is dropped and listed again as one listing of the prefix (so
/// 1,000 folders of one key cost a few requests, not 1,001). Decided once, from the
/// first folders listed: a prefix whose first folders are small and later ones large
/// is listed as one listing, and one whose first folders are large is listed by folder
/// to the end (what was listed is never listed again after that). What a switch
/// wastes: the delimiter pages read, the first `concurrency` folders, and the pages of
/// the folders then being listed.
async fn scan_versions(billed: &dyn Billed, options: &HiddenOptions) -> crate::Result<Versions> {
    let slots = Semaphore::new(options.concurrency.max(1));
    match by_folder(billed, options, &slots).await? {
        Some(versions) => Ok(versions),
        None => {
            let prefix = options.prefix.clone().unwrap_or_default();
            let (whole, _) = tally_folder(billed, prefix, options, &slots).await?;
            Ok(whole.finish())
        }
    }
}

/// [`scan_versions`] by folder; `None` when the folders prove too small for that.
///
/// What the server gives is checked before it is summed, so that no entry is summed
/// twice: a folder is the prefix and one more segment ending with `/` (never the prefix
/// itself, never a folder inside another), given once; a key is inside the prefix or
/// folder listed; keys inside folders never come beside folders. Anything else is an
/// error.
async fn by_folder(
    billed: &dyn Billed,
    options: &HiddenOptions,
    slots: &Semaphore,
) -> crate::Result<Option<Versions>> {
    let prefix = options.prefix.as_deref().unwrap_or_default();
    let mut top = VersionTally::new(options);
    let mut folders = Followed::default();
    // A server that ignores the delimiter gives every key and no folder: all counted
    // here. One that gives folders and keys inside folders would count keys twice.
    let (mut nested_keys, mut any_folder) = (false, false);
    // Keys directly under the prefix before any folder: a page of them (a flat folder)
    // is listed whole, by key ranges, where the provider can.
    let mut direct = 0u64;
    let flat_after = match billed.lists_after() && cuts_blocks(options) {
        true => options.page_entries,
        false => u64::MAX,
    };
    let concurrency = options.concurrency.max(1);
    // Folders listed and their entries, for the choice of one listing: made once, when
    // the next folder is given (so more are known to come) after the first
    // `concurrency` are listed. Once by folder, always by folder: a large folder listed
    // is never listed again.
    let (done, entries) = (AtomicU64::new(0), AtomicU64::new(0));
    let (decided, switched) = (AtomicBool::new(false), AtomicBool::new(false));
    let small = || {
        let done = done.load(Ordering::Relaxed);
        if decided.load(Ordering::Relaxed) || done < concurrency as u64 {
            return false;
        }
        decided.store(true, Ordering::Relaxed);
        // Averaging under a page per `concurrency` folders (compared without dividing).
        entries
            .load(Ordering::Relaxed)
            .saturating_mul(concurrency as u64)
            < options.page_entries.saturating_mul(done)
    };
    // In a block: the listings borrow `top` until they are dropped.
    let all = {
        let listed = billed
            .versions_by_folder(options.prefix.as_deref())
            .try_filter_map(|item| {
                let checked = match item {
                    Versioned::Entry(entry) => match entry.key.strip_prefix(prefix) {
                        Some(_) if !any_folder && direct >= flat_after => {
                            decided.store(true, Ordering::Relaxed);
                            switched.store(true, Ordering::Relaxed);
                            Err("a flat folder, to be listed as one listing".to_string())
                        }
                        Some(relative) => {
                            nested_keys |= relative.contains('/');
                            direct += 1;
                            top.add(&entry);
                            Ok(None)
                        }
                        None => Err(outside(&entry.key)),
                    },
                    Versioned::Folder(folder) => {
                        any_folder = true;
                        // The prefix, one segment (maybe empty: under prefix `a/`, key
                        // `a//b` is in folder `a//`), and `/`.
                        let one_segment = folder
                            .strip_prefix(prefix)
                            .is_some_and(|rest| rest.find('/') == Some(rest.len().wrapping_sub(1)));
                        let shown = || crate::text::excerpt(&folder, 64);
                        match one_segment {
                            false => Err(format!(
                                "folder {}, not one segment below the prefix",
                                shown()
                            )),
                            true if folders.check(Some(&folder), false, "folders").is_err() => {
                                Err(format!("folder {} twice", shown()))
                            }
                            true if small() => {
                                switched.store(true, Ordering::Relaxed);
                                Err("folders to be listed as one listing".to_string())
                            }
                            true => Ok(Some(folder)),
                        }
                    }
                };
                futures::future::ready(match checked {
                    Ok(_) if nested_keys && any_folder => Err(unexpected(
                        billed,
                        prefix,
                        "folders, and keys inside folders, in one listing by folder",
                    )),
                    Ok(folder) => Ok(folder),
                    Err(what) => Err(unexpected(billed, prefix, &what)),
                })
            })
            .map_ok(|folder| tally_folder(billed, folder, options, slots))
            .try_buffer_unordered(concurrency);
        let mut listed = std::pin::pin!(listed);
        let mut all = VersionTally::new(options);
        loop {
            match listed.try_next().await {
                Ok(Some((folder, n))) => {
                    all.merge(folder);
                    entries.fetch_add(n, Ordering::Relaxed);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                Ok(None) => break all,
                // Dropped with the listings under way.
                Err(_) if switched.load(Ordering::Relaxed) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    };
    top.merge(all);
    Ok(Some(top.finish()))
}

/// What a listing gave that it should not have: key `key` outside what was asked for.
fn outside(key: &str) -> String {
    format!(
        "{} outside the prefix asked for",
        crate::text::excerpt(key, 64)
    )
}

/// The error for a listing of `prefix` in which the server gave `what`.
fn unexpected(billed: &dyn Billed, prefix: &str, what: &str) -> crate::Error {
    crate::Error::Listing {
        store: billed.to_string(),
        prefix: prefix.to_string(),
        source: Box::new(object_store::Error::Generic {
            store: "HTTP",
            source: format!("ListObjectVersions: the server gave {what}").into(),
        }),
    }
}

/// Whether listings are cut into key ranges at all: a block is `page_entries` entries
/// (0 or `u64::MAX`: never).
fn cuts_blocks(options: &HiddenOptions) -> bool {
    (1..u64::MAX).contains(&options.page_entries)
}

/// The sums of one folder's versions (or of the whole prefix's: `folder` is then the
/// prefix), and the entries listed: one listing, cut into key ranges listed at once when
/// it proves larger than a page and the provider begins listings at a key. Where the
/// ranges find the keys out of byte order, or a range begun at a key is given a key
/// before it (a server that ignores the key), everything is dropped and the folder is
/// listed again as one listing, uncut.
fn tally_folder<'a>(
    billed: &'a dyn Billed,
    folder: String,
    options: &'a HiddenOptions,
    slots: &'a Semaphore,
) -> futures::future::BoxFuture<'a, crate::Result<(VersionTally, u64)>> {
    Box::pin(async move {
        let cut = billed.lists_after() && cuts_blocks(options);
        let whole = || Span {
            after: None,
            until: None,
            ahead: ranges::AHEAD,
        };
        let listing = Listing {
            billed,
            folder: &folder,
            options,
            slots,
        };
        let permit = slots.acquire().await.expect("never closed");
        match listing.tally(whole(), permit, cut).await {
            Ok(done) => Ok(done),
            Err(Ranged::Failed(e)) => Err(e),
            Err(Ranged::Uncut) => {
                let permit = slots.acquire().await.expect("never closed");
                listing
                    .tally(whole(), permit, false)
                    .await
                    .map_err(|e| match e {
                        Ranged::Failed(e) => e,
                        Ranged::Uncut => unreachable!("an uncut listing is never redone"),
                    })
            }
        }
    })
}

/// Why a listing cut into key ranges ended early.
enum Ranged {
    /// The ranges cannot be trusted (keys out of byte order, a start ignored): the
    /// folder is listed again, uncut.
    Uncut,
    Failed(crate::Error),
}

impl From<crate::Error> for Ranged {
    fn from(e: crate::Error) -> Self {
        Ranged::Failed(e)
    }
}

/// A key range of a folder: the keys after `after` (none: from the folder's first) up
/// to and including `until` (none: to its last). `ahead`: how many ranges an open one
/// cuts off ahead of itself at most, doubled with every cut ([`ranges::Range::ahead`]).
struct Span {
    after: Option<Path>,
    until: Option<Path>,
    ahead: usize,
}

/// What every range of one folder's listing shares.
#[derive(Clone, Copy)]
struct Listing<'a> {
    billed: &'a dyn Billed,
    folder: &'a str,
    options: &'a HiddenOptions,
    slots: &'a Semaphore,
}

/// `cuts` (ascending, after `last`, before `until`), each cut short before its first
/// byte below `/` past the folder (`keep` bytes), those still after the one before and
/// before `until` kept. A server that begins a listing after a key in folder order
/// (SeaweedFS: after `a-b` it skips the folder `a/`, whose keys follow `a-b` in bytes)
/// and lists in byte order would skip keys with no order check to see it; for a key
/// without such a byte both orders agree on what is after it (a key before it in bytes
/// that the server gives is skipped as the range before's).
fn alike_in_folder_order(
    keep: usize,
    last: &str,
    until: Option<&str>,
    cuts: Vec<Path>,
) -> Vec<Path> {
    let mut kept: Vec<Path> = Vec::with_capacity(cuts.len());
    for cut in cuts {
        let text = cut.as_ref();
        let end = text.as_bytes()[keep.min(text.len())..]
            .iter()
            .position(|&b| b < b'/')
            .map_or(text.len(), |i| keep + i);
        let short = &text[..end];
        let after = kept.last().map_or(last, |k| k.as_ref());
        if short.len() > keep && short > after && until.is_none_or(|until| short < until) {
            // A key of the same bytes as a cut, cut shorter at an ASCII byte.
            match Path::parse(short) {
                Ok(path) if path.as_ref() == short => kept.push(path),
                _ => {}
            }
        }
    }
    kept
}

/// A block of keys read by a range (as [`ranges`] reads one): the first key, the key
/// read last, the entries and keys, and their characters.
struct Block {
    first: String,
    last: String,
    entries: u64,
    keys: usize,
    alphabet: Alphabet,
}

impl<'a> Listing<'a> {
    /// The sums of `span` (with `permit`, a slot held until its own listing ends) and of
    /// the ranges cut off it, and the entries listed. With `cut`, every block of
    /// `page_entries` entries read, what is left is cut into ranges for the slots free
    /// then, each listed on its own, so the keys must come in byte order.
    fn tally(
        self,
        span: Span,
        permit: SemaphorePermit<'a>,
        cut: bool,
    ) -> futures::future::BoxFuture<'a, Result<(VersionTally, u64), Ranged>> {
        Box::pin(async move {
            let Listing {
                billed,
                folder,
                options,
                ..
            } = self;
            let Span {
                after,
                mut until,
                mut ahead,
            } = span;
            // Listed from just before the start (see [`ranges::offset`]).
            let offset = after.as_ref().map(ranges::offset);
            let mut entries = match &offset {
                Some(offset) => billed.versions_after(Some(folder), offset.as_ref()),
                None => billed.versions(Some(folder)),
            };
            let (mut tally, mut listed) = (VersionTally::new(options), 0u64);
            if after.is_some() {
                // Its first key's prefixes may have begun in the range before.
                tally.versions.prefixes.resume();
            }
            let mut children = VersionTally::new(options);
            let mut pieces = FuturesUnordered::new();
            // The block being read, and one read whole (cut at the next entry).
            let (mut block, mut full): (Option<Block>, Option<Block>) = (None, None);
            // Whether this range may still cut (it has not found keys out of order), and
            // whether it must be in order (it begins at a key, ends at one, or was cut).
            let (mut cutting, mut bounded) = (cut, after.is_some() || until.is_some());
            let mut last: Option<String> = None;
            loop {
                let entry = tokio::select! {
                    entry = entries.try_next() => match entry? {
                        Some(entry) => entry,
                        None => break,
                    },
                    Some(piece) = pieces.next(), if !pieces.is_empty() => {
                        let (piece, n): (VersionTally, u64) = piece?;
                        children.merge(piece);
                        listed += n;
                        continue;
                    }
                };
                let key = entry.key.as_str();
                if !key.starts_with(folder) {
                    return Err(unexpected(billed, folder, &outside(key)).into());
                }
                if let (Some(offset), Some(after)) = (&offset, &after) {
                    // Before the offset asked for: the server ignored it.
                    if key < offset.as_ref() {
                        return Err(Ranged::Uncut);
                    }
                    // Between the offset and the start: the range before's.
                    if key <= after.as_ref() {
                        continue;
                    }
                }
                // A block read and one more entry: the listing goes on past the block (a
                // folder of one page is never cut, so costs no request more).
                if let Some(b) = full.take() {
                    let first_cut = after.is_none() && until.is_none() && ahead == ranges::AHEAD;
                    for (span, permit) in self.cut(&b, &mut until, &mut ahead, first_cut) {
                        bounded = true;
                        pieces.push(self.tally(span, permit, true));
                    }
                }
                if until.as_ref().is_some_and(|until| key > until.as_ref()) {
                    break;
                }
                let new_key = last.as_deref() != Some(key);
                if new_key {
                    if last.as_deref().is_some_and(|last| key < last) {
                        match bounded {
                            true => return Err(Ranged::Uncut),
                            // Never cut: it goes on as one listing, in the server's order.
                            false => cutting = false,
                        }
                    }
                    last = Some(key.to_string());
                }
                tally.add(&entry);
                listed += 1;
                if !cutting {
                    continue;
                }
                let b = block.get_or_insert_with(|| Block {
                    first: key.to_string(),
                    last: String::new(),
                    entries: 0,
                    keys: 0,
                    alphabet: Alphabet::default(),
                });
                b.entries += 1;
                if new_key {
                    b.keys += 1;
                    let shared = ranges::common(&b.first, key).max(folder.len());
                    b.alphabet.add_varying(key, shared);
                    b.last.clear();
                    b.last.push_str(key);
                }
                if b.entries >= options.page_entries {
                    full = block.take();
                }
            }
            drop(entries);
            drop(permit);
            while let Some((piece, n)) = pieces.try_next().await? {
                children.merge(piece);
                listed += n;
            }
            tally.merge(children);
            Ok((tally, listed))
        })
    }

    /// Cut what is left of a range that has read `block` and ends at `until` into
    /// ranges for the slots free now, as a scan cuts its listings (see
    /// [`super::ranges`]): with an end, into pieces of two blocks or more; an open
    /// range's first cut as many as the keys the block predicts are left fill, spread
    /// over the key space its characters spell; else ahead of the block at its pace,
    /// `ahead` at most. Lowers `until` to the first cut; the ranges after it, each with
    /// its slot.
    fn cut(
        &self,
        block: &Block,
        until: &mut Option<Path>,
        ahead: &mut usize,
        first_cut: bool,
    ) -> Vec<(Span, SemaphorePermit<'a>)> {
        let keep = self.folder.len();
        let (first, last) = (block.first.as_str(), block.last.as_str());
        let want = match (until.is_some(), first_cut) {
            (true, _) => usize::MAX,
            (false, true) => ranges::AHEAD_MAX,
            (false, false) => *ahead,
        };
        let mut permits = Vec::new();
        while permits.len() < want {
            match self.slots.try_acquire() {
                Ok(permit) => permits.push(permit),
                Err(_) => break,
            }
        }
        if permits.is_empty() {
            return Vec::new();
        }
        let free = permits.len();
        let spread = match first_cut {
            true => ranges::blocks_to_end(keep, (first, last), block.keys, block.alphabet).map(
                |blocks| free.min(usize::try_from(blocks / ranges::PAGES).unwrap_or(usize::MAX)),
            ),
            false => None,
        };
        let until_text = until.as_ref().map(|u| u.as_ref());
        let cuts = match spread {
            // A listing the block predicts to be small goes on as one.
            Some(0) => Vec::new(),
            Some(n) => ranges::cuts_to_end(keep, (first, last), block.alphabet, n + 1),
            None => {
                let count = match until {
                    Some(_) => free,
                    None => free.min(*ahead),
                };
                ranges::cuts(keep, first, last, until_text, count, block.alphabet, false)
            }
        };
        let cuts = match self.billed.after_in_folder_order() {
            true => alike_in_folder_order(keep, last, until_text, cuts),
            false => cuts,
        };
        permits.truncate(cuts.len());
        let Some(end) = cuts.first().cloned() else {
            return Vec::new();
        };
        let tail = until.replace(end);
        let next_ahead = (*ahead * 2).min(ranges::AHEAD_MAX);
        *ahead = next_ahead;
        let ends: Vec<_> = cuts
            .iter()
            .skip(1)
            .cloned()
            .map(Some)
            .chain([tail])
            .collect();
        cuts.into_iter()
            .zip(ends)
            .map(|(after, until)| Span {
                after: Some(after),
                until,
                ahead: next_ahead,
            })
            .zip(permits)
            .collect()
    }
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
                    // Noncurrent since the server says (GCS), or else since the entry
                    // before it (newer) was written; the first entry of a key read
                    // noncurrent (a listing that began inside the key) since its own
                    // time, at the latest.
                    let since = entry.replaced.unwrap_or(match same {
                        true => *newer,
                        false => entry.last_modified,
                    });
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

/// Add `counts` to `class`'s, keeping at most the report's number of classes: the first
/// in byte order, whatever order they are met in, so that folders summed apart and
/// merged in any order keep the classes (and counts) one listing keeps. A class dropped
/// is never one of those kept at the end, so no kept class misses any of its counts.
fn add_class(classes: &mut BTreeMap<String, Counts>, class: &str, counts: Counts) {
    use super::histogram::{CLASS_LIMIT, CLASS_NAME_LIMIT};
    if let Some(ours) = classes.get_mut(class) {
        ours.merge(counts);
        return;
    }
    if class.len() > CLASS_NAME_LIMIT {
        return;
    }
    if classes.len() >= CLASS_LIMIT {
        match classes.last_key_value() {
            Some((last, _)) if class < last.as_str() => {
                classes.pop_last();
            }
            _ => return,
        }
    }
    classes.insert(class.to_string(), counts);
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
        provider: billed.provider().map(str::to_string),
    };
    if options.versions {
        match scan_versions(billed, options).await {
            Ok(versions) => hidden.versions = Some(versions),
            Err(e) if refused(&e) => hidden
                .not_seen
                .push(format!("noncurrent versions and delete markers: {e}")),
            Err(e) => return Err(e),
        }
    }
    if options.uploads && !billed.lists_uploads() {
        hidden
            .not_seen
            .push(format!("unfinished uploads: not listed for {billed}"));
    } else if options.uploads {
        hidden.not_seen.extend(match options.uploads_per_object {
            true => billed.uploads_per_object_not_seen(),
            false => billed.uploads_not_seen(),
        });
        let stale_before = options.as_of - chrono::Duration::days(options.stale_after_days.into());
        let mut uploads = Uploads {
            uploads: Counts::default(),
            parts: 0,
            oldest: None,
            stale: Counts::default(),
            stale_after_days: options.stale_after_days,
            prefixes: PrefixBreakdown::new(options.depth, options.prefix_limit),
            classes: BTreeMap::new(),
        };
        let mut undated = Counts::default();
        let mut listed = match options.uploads_per_object {
            true => billed.uploads_per_object(prefix, options.concurrency),
            false => billed.uploads(prefix),
        };
        loop {
            let upload = match listed.try_next().await {
                Ok(Some(upload)) => upload,
                Ok(None) => break,
                Err(e) if refused(&e) => {
                    hidden.not_seen.push(format!("unfinished uploads: {e}"));
                    return Ok(hidden);
                }
                Err(e) => return Err(e),
            };
            uploads.uploads.add(upload.bytes);
            if let Some(class) = &upload.class {
                let mut counts = Counts::default();
                counts.add(upload.bytes);
                add_class(&mut uploads.classes, class, counts);
            }
            uploads.parts = uploads.parts.saturating_add(upload.parts);
            match upload.initiated {
                Some(at) => {
                    uploads.oldest = Some(uploads.oldest.map_or(at, |t| t.min(at)));
                    if at < stale_before {
                        uploads.stale.add(upload.bytes);
                    }
                }
                None => undated.add(upload.bytes),
            }
            uploads.prefixes.add(&relative(&upload.key), upload.bytes);
        }
        if undated.objects > 0 {
            hidden.not_seen.push(format!(
                "unfinished uploads: when {} of them ({}) were begun is not known (the \
                 server does not date blocks staged on a blob written before): counted, but \
                 not in the oldest nor in those older than {} days",
                crate::text::thousands(undated.objects),
                crate::text::human_bytes(undated.bytes),
                options.stale_after_days
            ));
        }
        uploads.prefixes.finish();
        hidden.uploads = Some(uploads);
    }
    Ok(hidden)
}

/// Whether `error` is the server refusing the credentials asked with (no permission to
/// list versions or uploads, which a store's other requests may not need) or not
/// serving the request at all (an emulator answering another document): said in
/// [`Hidden::not_seen`], and the rest of the report goes on. Any other error ends it.
fn refused(error: &crate::Error) -> bool {
    matches!(
        error.store_error(),
        Some(
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
                | object_store::Error::NotSupported { .. }
        )
    )
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
                    replaced: None,
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
            page_entries in prop::sample::select(vec![0u64, 2, 3, 1_000, u64::MAX]),
            after in any::<bool>(),
        ) {
            let fake = FakeBilled { versions: listing(&history), by_folder, after, ..FakeBilled::default() };
            let options = HiddenOptions { uploads: false, page_entries, ..HiddenOptions::new(Utc::now()) }
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

    // ---- The listing by folder equals one listing ----

    fn odd_key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "a/", "a//b", "a/b", "a/b/", "a/b/c", "ab/c", "a-b/c", "a0", "/", "//x", "/y",
            "b/x/y", "b/é/ü", "é/x", "logs", "logs/", "logs/x", "logs2/y", "logsX",
        ])
        .prop_map(String::from)
    }

    fn odd_prefix() -> impl Strategy<Value = Option<String>> {
        prop::option::of(
            prop::sample::select(vec!["a", "a/", "/", "logs", "logs/", "b/x", "a/b/", "é"])
                .prop_map(String::from),
        )
    }

    /// The proptests' check: `history` (several storage classes) listed by folder, cut
    /// into key ranges every `page_entries` entries when `after`, gives the versions
    /// section one listing gives, field for field.
    fn by_folder_equals_one_listing(
        history: &History,
        prefix: Option<String>,
        concurrency: usize,
        (depth, limit): (usize, usize),
        after: bool,
        page_entries: u64,
    ) -> std::result::Result<(), TestCaseError> {
        let mut entries = listing(history);
        for e in &mut entries {
            if let VersionKind::Version { class, .. } = &mut e.kind {
                *class = Some(format!("C{}", e.key.len() % 3));
            }
        }
        let fake = FakeBilled {
            versions: entries.clone(),
            by_folder: true,
            after,
            ..FakeBilled::default()
        };
        let mut options = HiddenOptions {
            uploads: false,
            page_entries,
            ..HiddenOptions::new(Utc::now())
        }
        .with_concurrency(concurrency)
        .with_prefixes(depth, limit);
        options.prefix = prefix;
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let by_folder = rt.block_on(scan_hidden(&fake, &options)).unwrap();
        let one = FakeBilled {
            versions: entries,
            ..FakeBilled::default()
        };
        let single = rt
            .block_on(scan_hidden(&one, &options.clone().with_concurrency(1)))
            .unwrap();
        prop_assert_eq!(single.versions, by_folder.versions);
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
        ))]

        /// By folder equals one listing, field for field, with prefixes without a trailing
        /// `/`, keys that are folders' names (`a/`), `/`, `a//b`, unicode, several storage
        /// classes, any depth and small per-prefix limits.
        #[test]
        fn by_folder_equals_one_listing_for_odd_keys_and_prefixes(
            history in prop::collection::vec((odd_key(), prop::collection::vec(prop::option::of(0u64..100), 1..5)), 0..14),
            prefix in odd_prefix(),
            concurrency in 1usize..4,
            depth in 0usize..4,
            limit in 1usize..4,
            // Key ranges cut at every block of 2 or 3 entries, or none.
            (after, page_entries) in prop::sample::select(vec![(false, 1_000u64), (true, 2), (true, 3)]),
        ) {
            by_folder_equals_one_listing(&history, prefix, concurrency, (depth, limit), after, page_entries)?;
        }
    }

    /// The proptest's minimal case, fixed: key `a//b` (an empty path segment) with two
    /// noncurrent versions and a top key `a0` after it, depth 2, one prefix kept. `PrefixBreakdown::add` never takes
    /// an empty segment for the open prefix (`o.len() > start` is false), so `a/` is
    /// completed once per version, in pieces; one listing adds the pieces up in `kept`,
    /// the folder's tally keeps one piece and leaves the other open, and the merge then
    /// folds both: `other.prefixes` is 1 in one listing and 2 by folder.
    #[test]
    fn an_empty_segment_is_summed_by_folder_as_in_one_listing() {
        // `a0` (a noncurrent version, no folder) after it closes the prefixes in one
        // listing; by folder they are closed by the merge instead.
        let history: History = vec![
            ("a//b".into(), vec![Some(0), Some(42), None]),
            ("a0".into(), vec![Some(0), None]),
        ];
        let options = HiddenOptions {
            uploads: false,
            ..HiddenOptions::new(Utc::now())
        }
        .with_concurrency(1)
        .with_prefixes(2, 1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let one = FakeBilled {
            versions: listing(&history),
            ..FakeBilled::default()
        };
        let single = rt
            .block_on(scan_hidden(&one, &options))
            .unwrap()
            .versions
            .unwrap();
        let fake = FakeBilled {
            versions: listing(&history),
            by_folder: true,
            ..FakeBilled::default()
        };
        let by_folder = rt
            .block_on(scan_hidden(&fake, &options))
            .unwrap()
            .versions
            .unwrap();
        assert_eq!(single.prefixes.other(), by_folder.prefixes.other());
        assert_eq!(single, by_folder);
    }

    fn plain_key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "a/", "a/b", "a/b/", "a/b/c", "ab/c", "a-b/c", "a0", "b/x/y", "b/é/ü", "é/x",
            "logs", "logs/", "logs/x", "logs2/y", "logsX",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
        ))]

        /// As above without empty path segments (no `//`, no leading `/`, prefixes ending
        /// with `/`): what holds.
        #[test]
        fn by_folder_equals_one_listing_without_empty_segments(
            history in prop::collection::vec((plain_key(), prop::collection::vec(prop::option::of(0u64..100), 1..5)), 0..14),
            prefix in prop::option::of(prop::sample::select(vec!["a/", "logs/", "b/", "a/b/", "é/"]).prop_map(String::from)),
            concurrency in 1usize..4,
            depth in 0usize..4,
            limit in 1usize..4,
            // Key ranges cut at every block of 2 or 3 entries, or none.
            (after, page_entries) in prop::sample::select(vec![(false, 1_000u64), (true, 2), (true, 3)]),
        ) {
            by_folder_equals_one_listing(&history, prefix, concurrency, (depth, limit), after, page_entries)?;
        }
    }

    /// Storage classes past the report's 64 are dropped, and which are kept depends on the
    /// order sums are merged in: one listing keeps the first 64 met in key order, the
    /// listing by folder adds the top keys' classes first (`top.merge(listed)`), then
    /// the folders' in the order they finish. Key `z` (top) has class `TOP`; 64 folders
    /// before it in key order have a class each.
    #[test]
    fn by_folder_keeps_the_same_storage_classes_as_one_listing() {
        let mut entries = Vec::new();
        let mut add = |key: String, class: String, t: i64| {
            for (latest, at, size) in [(true, t + 1, 1), (false, t, 10)] {
                entries.push(VersionEntry {
                    key: key.clone(),
                    version_id: format!("{t}{latest}"),
                    is_latest: latest,
                    last_modified: DateTime::from_timestamp(at, 0).unwrap(),
                    replaced: None,
                    kind: VersionKind::Version {
                        size,
                        class: Some(class.clone()),
                    },
                });
            }
        };
        for i in 0..64 {
            add(format!("f{i:02}/k"), format!("C{i:02}"), 10 * i + 10);
        }
        add("z".into(), "TOP".into(), 5);
        let options = HiddenOptions {
            uploads: false,
            ..HiddenOptions::new(Utc::now())
        }
        .with_concurrency(1);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let one = FakeBilled {
            versions: entries.clone(),
            ..FakeBilled::default()
        };
        let single = rt
            .block_on(scan_hidden(&one, &options))
            .unwrap()
            .versions
            .unwrap();
        let fake = FakeBilled {
            versions: entries,
            by_folder: true,
            ..FakeBilled::default()
        };
        let by_folder = rt
            .block_on(scan_hidden(&fake, &options))
            .unwrap()
            .versions
            .unwrap();
        let names = |v: &Versions| v.classes.keys().cloned().collect::<Vec<_>>();
        assert_eq!(
            names(&single),
            names(&by_folder),
            "the classes kept differ (one listing, by folder)"
        );
        assert_eq!(single, by_folder);
    }

    // ---- The listing by folder in any merge order, against one listing and an oracle ----

    /// A [`FakeBilled`] whose listing of a folder waits `delays[i]` turns (the folder's
    /// index in the listing by folder) before its first entry and yields between
    /// entries, so that listings begun at once are open together and finish, and are
    /// merged, in another order than they were begun. It records the listings begun
    /// from the start (`folders`) and after a key, and the most open at once.
    #[derive(Debug, Default)]
    struct Shuffled {
        inner: FakeBilled,
        delays: Vec<u8>,
        folders: std::sync::Mutex<Vec<String>>,
        begun_after: AtomicU64,
        open: std::sync::Arc<AtomicU64>,
        most_open: std::sync::Arc<AtomicU64>,
    }

    impl Shuffled {
        fn new(inner: FakeBilled, delays: Vec<u8>) -> Self {
            Self {
                inner,
                delays,
                ..Self::default()
            }
        }

        /// The listing of `prefix` (after `after`), after the turns of the next delay.
        fn delayed<'a>(
            &'a self,
            prefix: Option<&'a str>,
            after: Option<&'a str>,
        ) -> futures::stream::BoxStream<'a, crate::Result<VersionEntry>> {
            /// Closes the listing when dropped.
            struct Open(std::sync::Arc<AtomicU64>);
            impl Drop for Open {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let turns = {
                let mut folders = self.folders.lock().unwrap();
                match after {
                    Some(_) => self.begun_after.fetch_add(1, Ordering::SeqCst),
                    None => {
                        folders.push(prefix.unwrap_or_default().to_string());
                        0
                    }
                };
                self.delays
                    .get(folders.len() % self.delays.len().max(1))
                    .copied()
                    .unwrap_or(0)
            };
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_open.fetch_max(now, Ordering::SeqCst);
            let open = Open(self.open.clone());
            let wait = futures::stream::once(async move {
                for _ in 0..turns {
                    tokio::task::yield_now().await;
                }
            })
            .filter_map(|_| async { None });
            let listing = match after {
                Some(after) => self.inner.versions_after(prefix, after),
                None => self.inner.versions(prefix),
            };
            wait.chain(listing)
                .then(move |entry| {
                    let _open = &open;
                    async move {
                        tokio::task::yield_now().await;
                        entry
                    }
                })
                .boxed()
        }
    }

    impl std::fmt::Display for Shuffled {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "shuffled")
        }
    }

    #[async_trait::async_trait]
    impl Billed for Shuffled {
        fn versions<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> futures::stream::BoxStream<'a, crate::Result<VersionEntry>> {
            self.delayed(prefix, None)
        }

        fn lists_after(&self) -> bool {
            self.inner.lists_after()
        }

        fn after_in_folder_order(&self) -> bool {
            self.inner.after_in_folder_order()
        }

        fn versions_after<'a>(
            &'a self,
            prefix: Option<&'a str>,
            after: &'a str,
        ) -> futures::stream::BoxStream<'a, crate::Result<VersionEntry>> {
            self.delayed(prefix, Some(after))
        }

        fn versions_by_folder<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> futures::stream::BoxStream<'a, crate::Result<crate::billed::Versioned>> {
            self.inner.versions_by_folder(prefix)
        }

        fn uploads<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> futures::stream::BoxStream<'a, crate::Result<crate::billed::Upload>> {
            self.inner.uploads(prefix)
        }

        async fn abort(&self, upload: &crate::billed::Upload) -> crate::Result<bool> {
            self.inner.abort(upload).await
        }
    }

    /// Keys with empty segments, a trailing `/`, unicode, names that are prefixes of
    /// others (`a`, `a/`, `a-`, `a0`).
    fn hostile_key() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["", "", "a", "b", "é", "a-", "a0"]),
            1..5,
        )
        .prop_map(|segments| segments.join("/"))
    }

    fn hostile_prefix() -> impl Strategy<Value = Option<String>> {
        prop::option::of(
            prop::sample::select(vec![
                "", "a", "a/", "a//", "/", "//", "é", "é/", "a/b", "a-", "a/a/",
            ])
            .prop_map(String::from),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500)
        ))]

        /// By folder (folders merged in any order, 1 to 8 at once) equals one listing field
        /// for field, for generated keys with empty segments and any prefix (a key equal to
        /// it, no trailing `/`, `//`); and the storage classes (up to 150 of them, past
        /// the 64 kept) equal an oracle: the first 64 names in byte order, each with all
        /// of its noncurrent bytes.
        #[test]
        fn by_folder_in_any_merge_order_equals_one_listing_and_the_class_oracle(
            history in prop::collection::vec((hostile_key(), prop::collection::vec(prop::option::of(0u64..100), 1..8)), 0..80),
            prefix in hostile_prefix(),
            concurrency in 1usize..9,
            depth in 0usize..5,
            limit in 1usize..5,
            delays in prop::collection::vec(0u8..6, 1..8),
            class_seed in 0u64..1000,
            // Never, sometimes, always one listing once the folders are found small.
            page_entries in prop::sample::select(vec![0u64, 2, 3, u64::MAX]),
            // Listings begun after a key: folders and the prefix cut into key ranges.
            after in any::<bool>(),
        ) {
            let mut entries = listing(&history);
            for (i, e) in entries.iter_mut().enumerate() {
                if let VersionKind::Version { class, .. } = &mut e.kind {
                    let n = (i as u64).wrapping_mul(2 * class_seed + 1).wrapping_add(class_seed) % 150;
                    *class = Some(format!("C{n:02}"));
                }
            }
            let fake = Shuffled::new(FakeBilled { versions: entries.clone(), by_folder: true, after, ..FakeBilled::default() }, delays);
            let mut options = HiddenOptions { uploads: false, page_entries, ..HiddenOptions::new(Utc::now()) }
                .with_concurrency(concurrency)
                .with_prefixes(depth, limit);
            options.prefix = prefix.clone();
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let by_folder = rt.block_on(scan_hidden(&fake, &options)).unwrap().versions.unwrap();
            let one = FakeBilled { versions: entries.clone(), ..FakeBilled::default() };
            let single = rt.block_on(scan_hidden(&one, &options.clone().with_concurrency(1))).unwrap().versions.unwrap();
            prop_assert_eq!(&single, &by_folder);

            // Every folder listed once, each one segment below the prefix.
            let p = prefix.as_deref().unwrap_or_default();
            let folders = fake.folders.lock().unwrap().clone();
            let distinct: std::collections::BTreeSet<&String> = folders.iter().collect();
            prop_assert_eq!(distinct.len(), folders.len(), "a folder listed twice: {:?}", folders);

            // The class oracle.
            let mut classes: BTreeMap<String, Counts> = BTreeMap::new();
            for e in entries.iter().filter(|e| e.key.starts_with(p) && !e.is_latest) {
                if let VersionKind::Version { size, class: Some(class) } = &e.kind {
                    classes.entry(class.clone()).or_default().add(*size);
                }
            }
            let kept: BTreeMap<String, Counts> = classes.into_iter().take(64).collect();
            prop_assert_eq!(&by_folder.classes, &kept);
        }
    }

    // ---- Key ranges ----

    /// `n` hashed names under `folder`, one to three entries each (some markers).
    fn hashed(folder: &str, n: u64) -> History {
        (0..n)
            .map(|i| {
                let name = format!("{folder}{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32));
                let ops = (0..=i % 3)
                    .map(|j| (j != 2).then_some(i % 97 + j))
                    .collect();
                (name, ops)
            })
            .collect()
    }

    /// A flat folder of 3,000 hashed names (in pages of 100 entries here) is listed
    /// whole and cut into key ranges listed at once, never more than `concurrency`, and
    /// sums to exactly what one listing sums to.
    #[test]
    fn a_flat_folder_is_listed_as_key_ranges_at_once() {
        let mut history = hashed("flat/", 3000);
        history.extend(hashed("flat/sub/", 50));
        let entries = listing(&history);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for prefix in [None, Some("flat/")] {
            let fake = Shuffled::new(
                FakeBilled {
                    versions: entries.clone(),
                    by_folder: true,
                    after: true,
                    ..FakeBilled::default()
                },
                vec![0],
            );
            let options = HiddenOptions {
                uploads: false,
                page_entries: 100,
                ..HiddenOptions::new(Utc::now())
            }
            .with_concurrency(8)
            .with_prefixes(2, 10)
            .with_prefix(prefix.map(String::from));
            let ranged = rt.block_on(scan_hidden(&fake, &options)).unwrap().versions;
            let one = FakeBilled {
                versions: entries.clone(),
                ..FakeBilled::default()
            };
            let single = rt.block_on(scan_hidden(&one, &options)).unwrap().versions;
            assert_eq!(ranged, single, "prefix {prefix:?}");
            let begun = fake.begun_after.load(Ordering::SeqCst);
            // Every slot but the first listing's.
            assert!(
                begun >= 7,
                "{begun} ranges begun after a key (prefix {prefix:?})"
            );
            let most = fake.most_open.load(Ordering::SeqCst);
            assert!((2..=8).contains(&most), "{most} listings open at once");
        }
    }

    /// Keys where "after `a-`" skips the folder `a/` (SeaweedFS, which lists versions in
    /// byte order but begins after a key in folder order), listed in byte order or
    /// folder by folder (`a/x` before `a-b`): cut into key ranges (or, found out of byte
    /// order, listed again uncut), the sums equal one listing's.
    #[test]
    fn key_ranges_where_after_is_in_folder_order_sum_as_one_listing() {
        let mut history = hashed("a/", 400);
        history.extend(hashed("a-", 400));
        history.extend(hashed("a", 400));
        history.extend(hashed("a-b/", 100));
        history.extend(hashed("a-b-", 100));
        let bytes = listing(&history);
        let mut folders = bytes.clone();
        // Stable: each key's entries stay newest first.
        folders.sort_by(|x, y| x.key.split('/').cmp(y.key.split('/')));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        for (entries, page_entries) in [&bytes, &folders]
            .into_iter()
            .flat_map(|e| [7, 100, 1_000].map(|n| (e, n)))
        {
            let fake = FakeBilled {
                versions: entries.clone(),
                by_folder: true,
                after: true,
                folder_order: true,
                ..FakeBilled::default()
            };
            let options = HiddenOptions {
                uploads: false,
                page_entries,
                ..HiddenOptions::new(Utc::now())
            }
            .with_concurrency(6)
            .with_prefixes(2, 5);
            let ranged = rt.block_on(scan_hidden(&fake, &options)).unwrap().versions;
            let one = FakeBilled {
                versions: entries.clone(),
                ..FakeBilled::default()
            };
            let single = rt.block_on(scan_hidden(&one, &options)).unwrap().versions;
            assert_eq!(ranged, single, "page_entries {page_entries}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(500)
        ))]

        /// Generated keys (empty segments, unicode, names that are prefixes of others)
        /// listed in byte or folder order, and "after" a key in folder order (SeaweedFS):
        /// key ranges (2 or 3 entries a block, 1 to 8 listings at once) sum as one
        /// listing does.
        #[test]
        fn key_ranges_in_folder_order_equal_one_listing(
            history in prop::collection::vec((hostile_key(), prop::collection::vec(prop::option::of(0u64..100), 1..4)), 0..60),
            prefix in hostile_prefix(),
            concurrency in 1usize..9,
            page_entries in 2u64..4,
            depth in 0usize..4,
            limit in 1usize..4,
            // SeaweedFS lists versions in byte order, begins "after" in folder order.
            listed_in_folder_order in any::<bool>(),
        ) {
            let mut entries = listing(&history);
            if listed_in_folder_order {
                entries.sort_by(|x, y| x.key.split('/').cmp(y.key.split('/')));
            }
            let fake = FakeBilled { versions: entries.clone(), by_folder: true, after: true, folder_order: true, ..FakeBilled::default() };
            let mut options = HiddenOptions { uploads: false, page_entries, ..HiddenOptions::new(Utc::now()) }
                .with_concurrency(concurrency)
                .with_prefixes(depth, limit);
            options.prefix = prefix;
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let ranged = rt.block_on(scan_hidden(&fake, &options)).unwrap().versions;
            let one = FakeBilled { versions: entries, ..FakeBilled::default() };
            let single = rt.block_on(scan_hidden(&one, &options.clone().with_concurrency(1))).unwrap().versions;
            prop_assert_eq!(single, ranged);
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

/// Review of 84493d2 (key ranges of a versions listing): servers whose "after a key"
/// is exclusive, inclusive, ignored or in folder order, listings failing half-way, the
/// listings open at once, and keys of bytes around `/`.
#[cfg(test)]
mod review6 {
    use super::*;
    use crate::billed::fake::{after_in_folder_order, FakeBilled};
    use crate::billed::Upload;
    use futures::stream::BoxStream;
    use proptest::prelude::*;
    use std::sync::Arc;

    /// What a listing begun after a key gives.
    #[derive(Clone, Copy, Debug)]
    enum Start {
        /// S3: the keys after it, in bytes.
        Bytes,
        /// GCS's `startOffset`: from it, itself included.
        Inclusive,
        /// The whole listing, whatever the key.
        Ignored,
        /// SeaweedFS: after it segment by segment.
        Folders,
    }

    /// A server of `versions` (in the order given) by folder, beginning after a key as
    /// `start` says; ranges fail after `fail_after` entries; counts listings open.
    #[derive(Debug)]
    struct Odd {
        inner: FakeBilled,
        start: Start,
        fail_after: Option<usize>,
        begun: AtomicU64,
        /// Entries the listings begun after a key gave.
        ranged: AtomicU64,
        open: Arc<AtomicU64>,
        most: Arc<AtomicU64>,
    }

    impl Odd {
        fn new(versions: Vec<VersionEntry>, start: Start) -> Self {
            Self {
                inner: FakeBilled {
                    versions,
                    by_folder: true,
                    after: true,
                    ..FakeBilled::default()
                },
                start,
                fail_after: None,
                begun: AtomicU64::new(0),
                ranged: AtomicU64::new(0),
                open: Default::default(),
                most: Default::default(),
            }
        }

        fn opened<'a>(
            &'a self,
            entries: Vec<crate::Result<VersionEntry>>,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            struct Open(Arc<AtomicU64>);
            impl Drop for Open {
                fn drop(&mut self) {
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let now = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            let open = Open(self.open.clone());
            futures::stream::iter(entries)
                .then(move |entry| {
                    let _open = &open;
                    async move {
                        tokio::task::yield_now().await;
                        entry
                    }
                })
                .boxed()
        }
    }

    fn boom() -> crate::Error {
        crate::Error::Listing {
            store: "odd".into(),
            prefix: String::new(),
            source: Box::new(object_store::Error::Generic {
                store: "HTTP",
                source: "boom half-way".into(),
            }),
        }
    }

    impl std::fmt::Display for Odd {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "odd")
        }
    }

    #[async_trait::async_trait]
    impl Billed for Odd {
        fn versions<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            let p = prefix.unwrap_or_default();
            let entries = self
                .inner
                .versions
                .iter()
                .filter(|e| e.key.starts_with(p))
                .cloned()
                .map(Ok)
                .collect();
            self.opened(entries)
        }

        fn lists_after(&self) -> bool {
            true
        }

        fn after_in_folder_order(&self) -> bool {
            matches!(self.start, Start::Folders)
        }

        fn versions_after<'a>(
            &'a self,
            prefix: Option<&'a str>,
            after: &'a str,
        ) -> BoxStream<'a, crate::Result<VersionEntry>> {
            self.begun.fetch_add(1, Ordering::SeqCst);
            let p = prefix.unwrap_or_default();
            let mut entries: Vec<_> = self
                .inner
                .versions
                .iter()
                .filter(|e| e.key.starts_with(p))
                .filter(|e| match self.start {
                    Start::Bytes => e.key.as_str() > after,
                    Start::Inclusive => e.key.as_str() >= after,
                    Start::Ignored => true,
                    Start::Folders => after_in_folder_order(&e.key, after),
                })
                .cloned()
                .map(Ok)
                .collect();
            self.ranged
                .fetch_add(entries.len() as u64, Ordering::SeqCst);
            if let Some(n) = self.fail_after {
                entries.truncate(n);
                entries.push(Err(boom()));
            }
            self.opened(entries)
        }

        fn versions_by_folder<'a>(
            &'a self,
            prefix: Option<&'a str>,
        ) -> BoxStream<'a, crate::Result<crate::billed::Versioned>> {
            self.inner.versions_by_folder(prefix)
        }

        fn uploads<'a>(&'a self, prefix: Option<&'a str>) -> BoxStream<'a, crate::Result<Upload>> {
            self.inner.uploads(prefix)
        }

        async fn abort(&self, upload: &Upload) -> crate::Result<bool> {
            self.inner.abort(upload).await
        }
    }

    /// What S3 lists for `history` (keys in byte order, each newest first).
    fn listing(history: &[(String, Vec<Option<u64>>)]) -> Vec<VersionEntry> {
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
                    replaced: None,
                    kind: match op {
                        Some(size) => VersionKind::Version {
                            size: *size,
                            class: Some(format!("C{}", size % 3)),
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

    fn hashed(folder: &str, n: u64, ops: usize) -> Vec<(String, Vec<Option<u64>>)> {
        (0..n)
            .map(|i| {
                let name = format!("{folder}{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32));
                let ops = (0..=(i as usize % ops))
                    .map(|j| (j % 3 != 2).then_some(i % 97 + j as u64))
                    .collect();
                (name, ops)
            })
            .collect()
    }

    fn options(page_entries: u64, concurrency: usize, prefix: Option<&str>) -> HiddenOptions {
        HiddenOptions {
            uploads: false,
            page_entries,
            ..HiddenOptions::new(Utc::now())
        }
        .with_concurrency(concurrency)
        .with_prefixes(3, 4)
        .with_prefix(prefix.map(String::from))
    }

    /// One plain listing of `entries` (never cut, one at once).
    fn plain(entries: &[VersionEntry], options: &HiddenOptions) -> Versions {
        let one = FakeBilled {
            versions: entries.to_vec(),
            ..FakeBilled::default()
        };
        let mut options = options.clone().with_concurrency(1);
        options.page_entries = 0;
        rt().block_on(scan_hidden(&one, &options))
            .unwrap()
            .versions
            .unwrap()
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    }

    /// Held up: 4 folders of 600 hashed names (1 to 5 entries, some keys markers only)
    /// and 300 names directly under the prefix, for every kind of start: the sums are one
    /// listing's, and never more listings open than `concurrency`.
    #[test]
    fn review6_every_start_semantics_equals_one_listing_within_concurrency() {
        let mut history = Vec::new();
        for f in ["a/", "a-/", "b/c/", "z/"] {
            history.extend(hashed(f, 600, 5));
        }
        history.extend(hashed("", 300, 3));
        let entries = listing(&history);
        for start in [
            Start::Bytes,
            Start::Inclusive,
            Start::Ignored,
            Start::Folders,
        ] {
            for (page, concurrency) in [(7, 3), (50, 5), (1_000, 8), (3, 1)] {
                let o = options(page, concurrency, None);
                let odd = Odd::new(entries.clone(), start);
                let got = rt()
                    .block_on(scan_hidden(&odd, &o))
                    .unwrap()
                    .versions
                    .unwrap();
                assert_eq!(
                    got,
                    plain(&entries, &o),
                    "{start:?} page {page} c {concurrency}"
                );
                let most = odd.most.load(Ordering::SeqCst);
                assert!(
                    most <= concurrency as u64,
                    "{most} open, {concurrency} allowed"
                );
            }
        }
    }

    /// Held up: a range whose listing fails half-way (a plain error, not a refusal) fails
    /// the scan: never swallowed, never a hang.
    #[test]
    fn review6_an_error_half_way_in_a_range_surfaces() {
        let entries = listing(&hashed("f/", 3_000, 3));
        for (fail_after, concurrency) in [(0, 4), (5, 4), (200, 2), (1_000, 8)] {
            let mut odd = Odd::new(entries.clone(), Start::Bytes);
            odd.fail_after = Some(fail_after);
            let o = options(100, concurrency, None);
            let got = rt().block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(30), scan_hidden(&odd, &o))
                    .await
                    .expect("no hang")
            });
            assert!(odd.begun.load(Ordering::SeqCst) > 0);
            let err = got.expect_err("the error surfaces").to_string();
            assert!(err.contains("boom half-way"), "{err}");
        }
    }

    /// Spark-style names, which share a `-` past the folder
    /// (`part-00042-<uuid>.snappy.parquet`), are listed in ranges where the server begins
    /// after a key in bytes. Where it begins in folder order (SeaweedFS), every cut
    /// inside the names is cut short before the `-` (so before the block's last key, and
    /// dropped): the folder is one sequential listing plus a few listings that find
    /// nothing (a known limit: docs/STATUS.md, Billed bytes). The same names with `_`
    /// are cut there too.
    #[test]
    fn review6_names_sharing_a_dash_are_cut_unless_after_is_in_folder_order() {
        let dashed: Vec<_> = (0..20_000u64)
            .map(|i| {
                let uuid = format!("{:08x}", i.wrapping_mul(0x9E37_79B9) % (1 << 32));
                (
                    format!("f/part-{i:05}-{uuid}.snappy.parquet"),
                    vec![Some(1), Some(2)],
                )
            })
            .collect();
        let underscored: Vec<_> = dashed
            .iter()
            .map(|(k, ops)| (k.replace('-', "_"), ops.clone()))
            .collect();
        let o = options(1_000, 8, None);
        for (history, start, cut) in [
            (&dashed, Start::Bytes, true),
            (&dashed, Start::Folders, false),
            (&underscored, Start::Folders, true),
        ] {
            let entries = listing(history);
            let odd = Odd::new(entries.clone(), start);
            let got = rt()
                .block_on(scan_hidden(&odd, &o))
                .unwrap()
                .versions
                .unwrap();
            assert_eq!(got, plain(&entries, &o));
            let (begun, ranged) = (
                odd.begun.load(Ordering::SeqCst),
                odd.ranged.load(Ordering::SeqCst),
            );
            match cut {
                true => assert!(
                    ranged > 10_000,
                    "{start:?}: {begun} ranges, {ranged} entries in them"
                ),
                false => assert!(
                    ranged == 0,
                    "{start:?}: {begun} ranges, {ranged} entries in them"
                ),
            }
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                " ", "!", "-", ".", "/", "//", "0", "1", "a", "b", "~", "é", "日", "a-", "a/",
                "a.", "0/", "ab",
            ]),
            1..7,
        )
        .prop_map(|parts| parts.concat())
    }

    fn start() -> impl Strategy<Value = Start> {
        prop::sample::select(vec![
            Start::Bytes,
            Start::Inclusive,
            Start::Ignored,
            Start::Folders,
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("REVIEW6_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
        ))]

        /// Held up (or not): keys of bytes around `/`, unicode, empty segments, many
        /// versions a key; any start semantics; in byte order (or folder order where
        /// the start is in folder order); blocks of 1 to 5 entries, 1 to 6 at once.
        #[test]
        fn review6_hostile_keys_equal_one_listing(
            history in prop::collection::vec((key(), prop::collection::vec(prop::option::of(0u64..50), 1..7)), 1..80),
            prefix in prop::sample::select(vec!["", "a", "a/", "a-", "a//", "é", "/", "0"]),
            start in start(),
            folder_listing in any::<bool>(),
            page in 1u64..6,
            concurrency in 1usize..7,
        ) {
            let mut entries = listing(&history);
            if folder_listing && matches!(start, Start::Folders) {
                entries.sort_by(|x, y| x.key.split('/').cmp(y.key.split('/')));
            }
            let prefix = (!prefix.is_empty()).then_some(prefix);
            let o = options(page, concurrency, prefix);
            let odd = Odd::new(entries.clone(), start);
            let got = rt().block_on(scan_hidden(&odd, &o)).unwrap().versions.unwrap();
            prop_assert_eq!(got, plain(&entries, &o));
            prop_assert!(odd.most.load(Ordering::SeqCst) <= concurrency as u64);
        }
    }
}
