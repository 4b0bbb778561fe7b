//! Provider inventory reports read into the same [`Report`] as a listing: S3 Inventory,
//! Azure Blob Inventory and GCS Storage Insights, CSV (gzipped or not) or Parquet (feature
//! `reports`: the arrow-rs `parquet` reader and writer, `csv`, `flate2` with zlib-rs; off
//! by default, always on in the `stratus` command, whose `inventory --from-report
//! MANIFEST` reads one). Listings are written in the same form by
//! [`export`](super::export).
//!
//! Past a few hundred million objects a listing is the wrong tool (about 1,000 keys per
//! round trip); every provider already writes the answer daily as data files plus a
//! manifest in a bucket. [`read`] takes the manifest's key in any store stratus opens,
//! detects which provider wrote it, and aggregates the data files:
//!
//! - **S3 Inventory**: `manifest.json` (`sourceBucket`, `fileFormat`, `fileSchema`,
//!   `files[] {key, size, MD5checksum}`, `creationTimestamp`); CSV data files are gzipped,
//!   have no header, name their columns in `fileSchema` order and URL-encode the key (form
//!   encoding: `+` is a space); Parquet files are read by column name (`key`, `size`,
//!   `last_modified_date`, `storage_class`, `is_latest`, `is_delete_marker`), with the date
//!   as any Parquet timestamp, an ISO 8601 string or milliseconds since 1970. ORC is refused
//!   with a clear error (no well-kept Rust ORC reader is in this crate's tree). A
//!   `manifest.checksum` next to the manifest, when present, must be the manifest's MD5.
//!   File keys are taken as keys of the store given (the destination bucket).
//! - **Azure Blob Inventory**: `<rule>-manifest.json` (`files[] {blob, size}`,
//!   `summary.objectCount`, `ruleDefinition.format`, `inventoryStartTime`, `status`); CSV
//!   with a header, or Parquet; `Name`, `Content-Length`, `Last-Modified`, `AccessTier`.
//!   Only a complete run is read: `<rule>-manifest.checksum` must exist and `status`, when
//!   given, be `Succeeded`. Names start with their container: pass it as the prefix.
//! - **GCS Storage Insights**: the manifest's `report_shards_file_names` (relative to the
//!   manifest's folder), `records_processed`, `snapshot_time`; CSV with a header or Parquet;
//!   `name`, `size`, `updated`, `storageClass`.
//!
//! Column names are matched ignoring case, `-` and `_`. Checks: every listed file must
//! exist; its size must equal the manifest's where given; its MD5 must equal the
//! manifest's (S3) when [`ScanOptions::verify_checksums`] is on (for Parquet that costs a
//! second read of the file, streamed); the rows read must equal the manifest's count
//! (Azure `summary.objectCount`, GCS `records_processed`); a row that cannot be read
//! fails with its number and what is wrong. A failed check is an
//! [`Error::InventoryReport`] naming the file.
//!
//! What is counted matches a listing: delete markers are skipped and versions that are not
//! current (`is_latest` / `IsCurrentVersion` false) are counted apart, in the report's
//! [`Source`]; both are only in reports of versioned buckets. Storage classes fill
//! [`Report::classes`]. Ages are measured from the report's own time (`creationTimestamp`,
//! `inventoryStartTime`, `snapshot_time`) unless [`ScanOptions::as_of`] is set. A prefix
//! keeps the rows under it, as in a listing.
//!
//! **Unordered rows.** The data files list objects in no order, so the per-prefix totals
//! come from a hash map of every prefix down to the depth, bounded by
//! [`ScanOptions::tracked_prefixes`]: within that bound they are exactly a listing's; past
//! it see [`PrefixBreakdown::untracked`](super::PrefixBreakdown::untracked).
//! `tracked_prefixes` is 1,000,000 distinct prefixes by default (every level counts;
//! about 100 bytes each; the command's `--tracked-prefixes`), whose names take at most
//! 64 bytes each on average (a prefix can be as long as a key: a kilobyte). Each reader
//! also keeps its own tally of at most 65,536 prefixes and 4 MiB of names before it
//! hands them on. Past the bound a prefix met for
//! the first time is not tracked: its objects still count in the totals and in every
//! tracked ancestor, and the breakdown says per level how many objects and bytes fell
//! under untracked prefixes
//! ([`PrefixBreakdown::is_exact`](super::PrefixBreakdown::is_exact)); the table prints
//! an "incomplete" line and a diff marks itself incomplete.
//!
//! **Storage classes** ([`Report::classes`]: objects and bytes per S3 class, Azure tier,
//! GCS class) are in the table, the JSON and the diff. A report from a listing has none
//! (`None`: object_store's listing does not return classes; the table says so).
//!
//! **Memory and speed.** Data files are read `concurrency` at a time (each on a task of its
//! own on a multi-threaded runtime); a Parquet file is decoded a row group at a time
//! (batches of up to 8,192 rows) and only the columns above are read; a CSV file streams
//! through a small buffer on a blocking thread. Memory is the prefix map plus, per file,
//! one row group's columns or a CSV buffer.
//!
//! **Hostile reports.** Reports are written by whoever can write to the bucket; every
//! byte read has a bound, and a report file of at most 64 MiB is read in well under
//! 256 MiB, in time linear in its size (tested under a counting allocator, and fuzzed:
//! `tests/hostile_reports.rs`):
//!
//! - a key longer than 1,024 bytes (S3, GCS; Azure: 1,088 characters, its 1,024 and the
//!   container) fails its row, naming file and row; messages quote at most the start of
//!   a value;
//! - a CSV row longer than 1 MiB (inflated) fails, naming its number, once that much of
//!   it is read: it is never buffered whole;
//! - Parquet: nothing the footer says about pages is believed. A row group's column
//!   chunks are fetched once and every page header in them walked before the parquet
//!   crate decodes those bytes. The file fails on: a page inflating past 8 MiB, a gzip
//!   page inflating to other than its stated size (inflated here, bounded), a header
//!   over 1 MiB or nested past 16, a dictionary value of a column read over 64 KiB, a
//!   dictionary page counting more values than its bytes hold, pages whose rows do not
//!   add up to the row group's (or a v2 page whose values and rows differ), text pages
//!   encoded other than dictionary or PLAIN (the DELTA decoders size themselves by
//!   their body's own counts), LZ4 (Hadoop) pages, chunks the footer places outside
//!   the file or overlapping, a footer over 4 MiB, holding more than 65,536 list
//!   elements in all (walked before the parquet crate decodes it: each element decodes
//!   to a struct of up to a few hundred bytes) or declaring more than 16 rows a byte of
//!   the file. Batches are as many rows (8,192 down to 1) as keep what the pages can
//!   decode to under 16 MiB: a dictionary index at the dictionary's longest value,
//!   PLAIN values at most their page. A panic of the parquet crate's decoders on a
//!   malformed page the walk does not look inside fails the file instead (the default
//!   panic hook still prints it to stderr);
//! - storage classes: at most [`CLASS_LIMIT`](super::CLASS_LIMIT) (64) distinct ones of
//!   at most 64 bytes each are kept (a hash map); the rest count in
//!   [`Report::classes_other`], shown as "other";
//! - manifests: at most 64 MiB, parsed once into typed fields (unknown fields skipped,
//!   not kept), at most 100,000 files listed (refused while parsing), an S3
//!   `fileSchema` of at most 64 KiB (refused before it is copied); `manifest.checksum`
//!   at most 1 KiB;
//! - prefixes: the tally's names take at most 64 bytes per tracked prefix on average,
//!   and 4 MiB per reader's own tally (a prefix can be a kilobyte long), besides the
//!   count bounds above.
//!
//! A gzip Parquet page is inflated twice (bounded here, then by the parquet crate); no
//! provider writes gzip Parquet reports.
//!
//! The formats follow the providers' documentation as of 2026-11; the repository's
//! fixtures (`fixtures/inventory-reports`, one destination bucket per provider and
//! format) are generated from it, not taken from real provider output. Speeds measured
//! (CSV.gz and Parquet rows per second, with and without MD5 verification) are in the
//! repository's `docs/BENCHMARKS.md`.

mod csv;
mod manifest;
mod pages;
mod parquet;

pub(crate) use manifest::hex;

use super::prefixes::Tally;
use super::{Report, ScanOptions, Source};
use crate::error::{Error, Result};
use crate::progress::Progress;
use chrono::{DateTime, Utc};
use futures::{stream, StreamExt, TryStreamExt};
use manifest::{DataFile, Format};
use object_store::path::Path;
use object_store::ObjectStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Read the inventory report whose manifest is `manifest` in `store` into a [`Report`] of
/// the objects under `prefix` (whole segments, as [`scan`](super::scan) takes it; keys in
/// the report are relative to it). `options` gives the depth, limits, `as_of`, progress,
/// `concurrency` (data files read at once), `tracked_prefixes` and `verify_checksums`.
pub async fn read(
    store: Arc<dyn ObjectStore>,
    manifest: &Path,
    prefix: Option<&Path>,
    options: &ScanOptions,
) -> Result<Report> {
    let error = |fail: Fail| fail.into_error(&store);
    let plan = manifest::plan(store.as_ref(), manifest)
        .await
        .map_err(error)?;
    let as_of = options.as_of.or(plan.taken).unwrap_or_else(Utc::now);
    let prefix = prefix
        .map(|p| p.as_ref().trim_end_matches('/'))
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}/"));
    let job = Arc::new(Job {
        store: Arc::clone(&store),
        format: plan.format.clone(),
        prefix,
        template: options.empty_report(as_of),
        key_chars: plan.key_chars,
        tally: Mutex::new(Tally::with_bound(options.depth, options.tracked_prefixes)),
        verify: options.verify_checksums,
        progress: options.progress.clone(),
        files_known: plan.files.len() as u64,
        counters: Default::default(),
    });
    let concurrency = options.concurrency.max(1);
    let multi_thread = super::multi_thread_runtime();
    let mut parts = stream::iter(plan.files.clone())
        .map(|file| {
            let job = Arc::clone(&job);
            async move {
                if multi_thread {
                    tokio::spawn(async move { job.file(file).await })
                        .await
                        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
                } else {
                    job.file(file).await
                }
            }
        })
        .buffer_unordered(concurrency);
    let mut report = job.template.clone();
    let mut counts = Counted::default();
    while let Some((part, counted)) = parts.try_next().await.map_err(error)? {
        report.merge(part).expect("same settings");
        counts.add(&counted);
    }
    drop(parts);
    if let Some(expected) = plan.expected_rows {
        if expected != counts.rows {
            return Err(error(Fail::at(
                manifest,
                format!(
                    "the manifest says the report holds {expected} rows; its files hold {}",
                    counts.rows
                ),
            )));
        }
    }
    // Every file's task has ended; take the shared tally (without relying on when a
    // finished task drops its handle on the job).
    let tally = std::mem::replace(
        &mut *job.tally.lock().unwrap_or_else(|e| e.into_inner()),
        Tally::with_bound(0, 0),
    );
    report.prefixes = tally.into_breakdown(options.prefix_limit);
    report.finish();
    if counts.versioned {
        report.hidden = Some(hidden_from(&counts, &report, plan.kind));
    }
    report.source = Some(Source {
        kind: plan.kind.to_string(),
        format: plan.format.name().to_string(),
        manifest: manifest.to_string(),
        source_bucket: plan.source_bucket,
        taken: plan.taken,
        files: plan.files.len() as u64,
        rows: counts.rows,
        outside_prefix: counts.outside_prefix,
        delete_markers: counts.delete_markers,
        noncurrent: counts.noncurrent,
    });
    Ok(report)
}

/// What a report of versions says the store bills beside current objects: the totals
/// of its noncurrent versions and delete markers. Its rows come in no order, so which
/// markers have no version behind them is not known, nor since when a version is
/// noncurrent; no provider's report lists unfinished uploads.
fn hidden_from(counts: &Counted, report: &Report, kind: &str) -> super::hidden::Hidden {
    let mut prefixes =
        super::PrefixBreakdown::new(report.prefixes.depth(), report.prefixes.limit());
    prefixes.finish();
    super::hidden::Hidden {
        versions: Some(super::hidden::Versions {
            noncurrent: counts.noncurrent,
            noncurrent_since: None,
            classes: Default::default(),
            delete_markers: counts.delete_markers,
            orphaned_markers: None,
            prefixes,
        }),
        uploads: None,
        not_seen: vec![
            "noncurrent versions per prefix and by class: not summed from an inventory report"
                .into(),
            "unfinished uploads: no provider's inventory report lists them".into(),
        ],
        provider: kind.split('-').next().map(str::to_string),
    }
}

/// A failure at one key, before the store's name is attached.
#[derive(Debug)]
pub(crate) struct Fail {
    key: String,
    message: String,
}

impl Fail {
    pub(crate) fn at(key: &Path, message: String) -> Self {
        Self {
            key: key.to_string(),
            message,
        }
    }

    fn into_error(self, store: &Arc<dyn ObjectStore>) -> Error {
        Error::InventoryReport {
            store: store.to_string(),
            key: self.key,
            message: self.message,
        }
    }
}

impl DataFile {
    /// Why this file could not be read: missing (the manifest lists it), or another error.
    fn unreadable(&self, e: object_store::Error) -> Fail {
        match e {
            object_store::Error::NotFound { .. } => Fail::at(
                &self.path,
                "the manifest lists this file but it is missing".to_string(),
            ),
            e => Fail::at(&self.path, format!("cannot read: {e}")),
        }
    }

    /// The file's size against the manifest's, where it gives one.
    fn check_size(&self, actual: u64) -> std::result::Result<(), Fail> {
        match self.size {
            Some(expected) if expected != actual => Err(Fail::at(
                &self.path,
                format!("the manifest says {expected} bytes; the file has {actual}"),
            )),
            _ => Ok(()),
        }
    }

    /// The file's MD5 against the manifest's, where it gives one.
    fn check_md5(&self, actual: [u8; 16]) -> std::result::Result<(), Fail> {
        match self.md5 {
            Some(expected) if expected != actual => Err(Fail::at(
                &self.path,
                format!(
                    "the manifest's MD5 is {}; the file's is {}",
                    hex(&expected),
                    hex(&actual)
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Rows read and what was not counted as an object.
#[derive(Clone, Copy, Debug, Default)]
struct Counted {
    rows: u64,
    outside_prefix: u64,
    delete_markers: u64,
    noncurrent: super::Counts,
    /// Whether rows said whether they are current or a delete marker (a report of
    /// versions).
    versioned: bool,
}

impl Counted {
    fn add(&mut self, other: &Counted) {
        self.rows += other.rows;
        self.outside_prefix += other.outside_prefix;
        self.delete_markers += other.delete_markers;
        self.noncurrent.merge(other.noncurrent);
        self.versioned |= other.versioned;
    }
}

#[derive(Default)]
struct Counters {
    objects: AtomicU64,
    bytes: AtomicU64,
    files_done: AtomicU64,
}

/// What every data file's reader shares.
struct Job {
    store: Arc<dyn ObjectStore>,
    format: Format,
    /// `prefix/` when only keys under a prefix are wanted.
    prefix: Option<String>,
    template: Report,
    tally: Mutex<Tally>,
    verify: bool,
    progress: Option<crate::progress::ProgressFn>,
    files_known: u64,
    counters: Counters,
    /// Keys longer than [`KEY_BYTES`] are accepted up to this many characters (Azure
    /// counts characters, and its rows start with the container); `None`: bytes only.
    key_chars: Option<usize>,
}

impl Job {
    async fn file(self: Arc<Self>, file: DataFile) -> std::result::Result<(Report, Counted), Fail> {
        let rows = Rows::new(Arc::clone(&self));
        let rows = match &self.format {
            Format::Csv {
                header,
                columns,
                url_encoded_keys,
            } => {
                let layout = csv::Layout {
                    header: *header,
                    columns: columns.clone(),
                    url_encoded_keys: *url_encoded_keys,
                };
                csv::read(&self.store, &file, layout, rows).await?
            }
            Format::Parquet => parquet::read(&self.store, &file, self.verify, rows).await?,
        };
        let (report, counted) = rows.finish();
        self.counters.files_done.fetch_add(1, Ordering::Relaxed);
        self.report_progress();
        Ok((report, counted))
    }

    fn report_progress(&self) {
        if let Some(progress) = &self.progress {
            let c = &self.counters;
            progress(Progress {
                done: c.objects.load(Ordering::Relaxed),
                bytes: c.bytes.load(Ordering::Relaxed),
                parts_done: c.files_done.load(Ordering::Relaxed),
                parts_known: self.files_known,
                ..Progress::default()
            });
        }
    }
}

/// The columns a report's rows are read by, named as any provider names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    Key,
    Size,
    Modified,
    Class,
    Latest,
    DeleteMarker,
}

impl Role {
    /// Which role a column named `name` plays, if any.
    pub(crate) fn of(name: &str) -> Option<Role> {
        let normal: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Some(match normal.as_str() {
            "key" | "name" => Role::Key,
            "size" | "contentlength" => Role::Size,
            "lastmodifieddate" | "lastmodified" | "updated" => Role::Modified,
            "storageclass" | "accesstier" => Role::Class,
            "islatest" | "iscurrentversion" => Role::Latest,
            "isdeletemarker" => Role::DeleteMarker,
            _ => return None,
        })
    }

    pub(crate) fn required() -> [Role; 3] {
        [Role::Key, Role::Size, Role::Modified]
    }
}

/// One data row, as read.
pub(crate) struct Row<'a> {
    pub key: &'a str,
    pub size: Option<u64>,
    pub modified: Option<DateTime<Utc>>,
    pub class: Option<&'a str>,
    pub latest: Option<bool>,
    pub delete_marker: Option<bool>,
}

/// A reader's own prefix tally holds at most this many prefixes, and names of at most
/// [`LOCAL_NAMES`] bytes, before it goes to the shared one.
const LOCAL_TALLY: usize = 1 << 16;
const LOCAL_NAMES: usize = 4 << 20;

/// The longest key a row may have, in bytes: S3 and GCS keys are at most 1,024 bytes of
/// UTF-8 (Azure's names, counted in characters, have their own bound: see
/// [`manifest::Plan::key_chars`]). A longer key fails its row.
pub(crate) const KEY_BYTES: usize = 1024;

pub(crate) use crate::text::excerpt;

/// The column names of a report file for an error message: the first few, each an
/// [`excerpt`], and how many more (a header can hold any number of any length).
pub(crate) fn column_names<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 20;
    let total = names.len();
    let mut shown: Vec<String> = names.take(SHOWN).map(|n| excerpt(n, 64)).collect();
    if total > SHOWN {
        shown.push(format!("and {} more", total - SHOWN));
    }
    format!("[{}]", shown.join(", "))
}

/// One data file's figures: a partial report (everything but prefixes) and a small
/// prefix tally drained into the shared one.
pub(crate) struct Rows {
    job: Arc<Job>,
    report: Report,
    tally: Tally,
    /// Per storage class, at most [`CLASS_LIMIT`](super::CLASS_LIMIT) of them.
    classes: HashMap<Box<str>, super::Counts, foldhash::fast::RandomState>,
    /// Rows of the classes past the limit (or with names past its length bound).
    classes_other: super::Counts,
    counted: Counted,
    /// Objects and bytes not yet handed to the progress counters.
    unreported: (u64, u64),
}

impl Rows {
    fn new(job: Arc<Job>) -> Self {
        let depth = job.template.prefixes.depth();
        Self {
            report: job.template.clone(),
            tally: Tally::with_bounds(depth, LOCAL_TALLY, LOCAL_NAMES),
            classes: HashMap::default(),
            classes_other: super::Counts::default(),
            counted: Counted::default(),
            unreported: (0, 0),
            job,
        }
    }

    /// Account one row; `Err` says what is wrong with it.
    pub(crate) fn add(&mut self, row: Row<'_>) -> std::result::Result<(), String> {
        self.counted.rows += 1;
        if row.key.len() > KEY_BYTES
            && self
                .job
                .key_chars
                .is_none_or(|chars| row.key.chars().nth(chars).is_some())
        {
            return Err(format!(
                "the key {} is longer than a provider allows ({KEY_BYTES} bytes{})",
                excerpt(row.key, 64),
                match self.job.key_chars {
                    Some(chars) => format!(", or {chars} characters for Azure"),
                    None => String::new(),
                }
            ));
        }
        let relative = match &self.job.prefix {
            None => row.key,
            Some(prefix) => match row.key.strip_prefix(prefix.as_str()) {
                Some(relative) => relative,
                None => {
                    self.counted.outside_prefix += 1;
                    return Ok(());
                }
            },
        };
        self.counted.versioned |= row.latest.is_some() || row.delete_marker.is_some();
        if row.delete_marker == Some(true) {
            self.counted.delete_markers += 1;
            return Ok(());
        }
        let size = row
            .size
            .ok_or_else(|| format!("object {} has no size", excerpt(row.key, 64)))?;
        if row.latest == Some(false) {
            self.counted.noncurrent.add(size);
            return Ok(());
        }
        let modified = row
            .modified
            .ok_or_else(|| format!("object {} has no last-modified time", excerpt(row.key, 64)))?;
        self.report.add_object(row.key, size, modified);
        if let Some(class) = row.class.filter(|c| !c.is_empty()) {
            let kept = self.classes.len();
            match self.classes.get_mut(class) {
                Some(counts) => counts.add(size),
                None if super::histogram::class_is_kept(class, kept) => {
                    let mut counts = super::Counts::default();
                    counts.add(size);
                    self.classes.insert(class.into(), counts);
                }
                None => self.classes_other.add(size),
            }
        }
        if self.tally.is_full(relative) {
            self.drain();
        }
        self.tally.add(relative, size);
        self.unreported.0 += 1;
        self.unreported.1 = self.unreported.1.saturating_add(size);
        Ok(())
    }

    /// End of a batch of rows: hand the counts to progress.
    pub(crate) fn batch_done(&mut self) {
        let (objects, bytes) = std::mem::take(&mut self.unreported);
        let c = &self.job.counters;
        c.objects.fetch_add(objects, Ordering::Relaxed);
        c.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.job.report_progress();
    }

    fn drain(&mut self) {
        let mut shared = self.job.tally.lock().unwrap_or_else(|e| e.into_inner());
        self.tally.drain_into(&mut shared);
    }

    fn finish(mut self) -> (Report, Counted) {
        self.batch_done();
        self.drain();
        for (class, counts) in std::mem::take(&mut self.classes) {
            self.report.add_class(&class, counts);
        }
        if !self.classes_other.is_empty() {
            self.report.add_class_other(self.classes_other);
        }
        (self.report, self.counted)
    }
}

/// The form nearly every row has, `2026-11-20T13:25:40.123Z`, without chrono's general
/// parser (a third of a CSV row's cost); anything else is `None` and goes the long way.
fn parse_utc_millis(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(num(0..4)? as i32, num(5..7)?, num(8..10)?)?;
    let time = chrono::NaiveTime::from_hms_milli_opt(
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
        num(20..23)?,
    )?;
    Some(date.and_time(time).and_utc())
}

/// Parse a date as the providers write it: RFC 3339 / ISO 8601 (S3, GCS, Azure), or RFC
/// 2822 (`Wed, 26 May 2021 13:25:40 GMT`, as HTTP headers and some Azure tools write it).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Some(t) = parse_utc_millis(text.as_bytes()) {
        return Some(t);
    }
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_rfc2822(text))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::parse_date;

    #[test]
    fn dates_parse_the_fast_way_and_the_long_way_alike() {
        for text in [
            "2026-11-20T13:25:40.123Z",
            "2024-02-29T00:00:00.000Z",
            "1999-12-31T23:59:59.999Z",
        ] {
            let fast = parse_date(text).unwrap();
            let slow = chrono::DateTime::parse_from_rfc3339(text).unwrap();
            assert_eq!(fast, slow);
        }
        assert!(parse_date("2026-02-30T00:00:00.000Z").is_none());
        assert!(parse_date("2026-11-20T25:00:00.000Z").is_none());
        assert_eq!(
            parse_date("2021-05-26T13:25:40.0000000Z")
                .unwrap()
                .to_rfc3339(),
            "2021-05-26T13:25:40+00:00"
        );
        assert_eq!(
            parse_date("Wed, 26 May 2021 13:25:40 GMT")
                .unwrap()
                .to_rfc3339(),
            "2021-05-26T13:25:40+00:00"
        );
        assert!(parse_date("yesterday").is_none());
    }
}
