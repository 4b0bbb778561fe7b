//! A listing written as an S3 Inventory in Parquet (feature `reports`): so DataFusion,
//! DuckDB, Spark or Athena can query a bucket's listing, and so stratus reads it back with
//! [`reports::read`](super::reports::read) as it reads a provider's.
//!
//! [`export`] scans like [`scan`](super::scan) (the same parallel listing, the same
//! report) and, in the same pass, hands every object to a writer task that encodes them as
//! Parquet files of at most [`ExportOptions::rows_per_file`] rows (1,000,000 by default)
//! in the documented `s3.inventory` schema (`bucket`, `key`, `size`, `last_modified_date` as
//! `TIMESTAMP(MILLIS)` in UTC, `e_tag`, `version_id`), Snappy-compressed, uploaded as they
//! fill. Then it writes an S3-form `manifest.json` (`sourceBucket`, `fileFormat`,
//! `fileSchema`, `creationTimestamp`, `files[] {key, size, MD5checksum}`) and
//! `manifest.checksum`. Under the destination prefix:
//!
//! ```text
//! data/<run>-00000.parquet, data/<run>-00001.parquet, ...
//! <run>/manifest.json
//! <run>/manifest.checksum
//! ```
//!
//! `<run>` is the scan's time (`2026-11-23T18-05-12Z`) and a random suffix, so an export
//! never overwrites another's files; the manifest is written last and only if no object
//! has its name (a conditional create), so a reader never sees a partial export. If the
//! listing or an upload fails, no manifest is written; data files already uploaded stay
//! (the error names the run, so `data/<run>-*` can be removed).
//!
//! The destination may lie inside the scanned tree (the same bucket, a folder inside the
//! scanned one, reached through another store): the scan leaves this run's own files out
//! of the report and the rows, recognised by their names wherever it lists them. An
//! earlier export's files are objects like any other, and are counted.
//!
//! Keys are the listed store's keys (a store opened under a prefix lists relative keys);
//! `last_modified_date` has millisecond precision, as S3 Inventory's does, so a store
//! with finer times (a local folder, memory) reads back with them truncated.

use super::reports::hex;
use super::{Report, ScanOptions};
use crate::error::{Error, Result};
use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMillisecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::FutureExt;
use md5::{Digest, Md5};
use object_store::buffered::BufWriter;
use object_store::path::{Path, PathPart};
use object_store::{ObjectMeta, ObjectStore, PutMode, PutOptions, PutPayload};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How to export. `ExportOptions::default()`: 1,000,000 rows per file, row groups of
/// 65,536 rows, bucket name `source`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExportOptions {
    /// At most this many rows per Parquet file.
    pub rows_per_file: usize,
    /// Rows per row group: what a reader holds in memory at once, and what the writer
    /// buffers before uploading.
    pub row_group_rows: usize,
    /// The `bucket` column and the manifest's `sourceBucket`.
    pub bucket: String,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            rows_per_file: 1_000_000,
            row_group_rows: 65_536,
            bucket: "source".to_string(),
        }
    }
}

impl ExportOptions {
    /// Set `rows_per_file` (at least 1).
    pub fn with_rows_per_file(mut self, rows: usize) -> Self {
        self.rows_per_file = rows.max(1);
        self
    }
    /// Set `row_group_rows` (at least 1).
    pub fn with_row_group_rows(mut self, rows: usize) -> Self {
        self.row_group_rows = rows.max(1);
        self
    }
    /// Set `bucket`.
    pub fn with_bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }
}

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Export {
    /// The manifest's key in the destination store: give it to
    /// [`reports::read`](super::reports::read).
    pub manifest: Path,
    /// The data files, in order.
    pub files: Vec<ExportedFile>,
    /// Rows written (objects listed).
    pub rows: u64,
}

/// One data file of an [`Export`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportedFile {
    /// Its key in the destination store.
    pub key: Path,
    /// Its size in bytes.
    pub size: u64,
    /// Its MD5, hex.
    pub md5: String,
    /// Rows in it.
    pub rows: u64,
}

/// Scan `store` under `prefix` (as [`scan`](super::scan)) and write what it lists to
/// `dest` under `dest_prefix` as an S3 Inventory in Parquet. Returns the report and what
/// was written.
pub async fn export(
    store: &dyn ObjectStore,
    prefix: Option<&Path>,
    options: &ScanOptions,
    dest: Arc<dyn ObjectStore>,
    dest_prefix: Option<&Path>,
    export: &ExportOptions,
) -> Result<(Report, Export)> {
    let as_of = options.as_of.unwrap_or_else(Utc::now);
    let options = options.clone().with_as_of(as_of);
    let run = run_name(as_of);
    // `rest` is this module's own ASCII names; the prefix is kept segment by segment, as
    // given (formatting it into text for `Path::from` would percent-encode `café`).
    let under = |rest: String| -> Path {
        let base = dest_prefix.into_iter().flat_map(|p| p.parts());
        base.chain(rest.split('/').map(|s| PathPart::from(s.to_string())))
            .collect()
    };
    let (sink, objects) = mpsc::channel(16);
    let writer = Writer {
        dest: Arc::clone(&dest),
        options: export.clone(),
        data: under("data".into()),
        run: run.clone(),
        schema: schema(),
    };
    let writing = writer.run(objects);
    let writing = if super::multi_thread_runtime() {
        tokio::spawn(writing)
            .map(|joined| joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())))
            .boxed()
    } else {
        writing.boxed()
    };
    // The destination may lie inside the scanned tree: this run's files are left out.
    let own = run.clone();
    let sink = super::Sink::from(sink).skipping(move |key| written_by(&own, key));
    let scanning = super::scan_into(store, prefix, &options, Some(sink));
    let (report, written) = futures::join!(scanning, writing);
    let failed = |message: String| Error::InventoryReport {
        store: dest.to_string(),
        key: format!("{}-*", under(format!("data/{run}"))),
        message: format!("export {run} failed, no manifest written: {message}"),
    };
    // The writer's error first: when it stops, the listing's only says it was stopped.
    let files = written.map_err(failed)?;
    let report = report?;
    let rows = files.iter().map(|f| f.rows).sum();
    let manifest = Manifest {
        source_bucket: &export.bucket,
        destination_bucket: dest.to_string(),
        version: "2016-11-30",
        creation_timestamp: as_of.timestamp_millis().to_string(),
        file_format: "Parquet",
        file_schema: file_schema(),
        files: files
            .iter()
            .map(|f| ManifestFile {
                key: f.key.as_ref(),
                size: f.size,
                md5: &f.md5,
            })
            .collect(),
    };
    let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let checksum = hex(&Md5::digest(&text));
    let manifest_key = under(format!("{run}/manifest.json"));
    let checksum_key = under(format!("{run}/manifest.checksum"));
    let create = PutOptions::from(PutMode::Create);
    // The checksum first: a manifest that exists is complete and checked.
    for (key, body) in [
        (&checksum_key, checksum.into_bytes()),
        (&manifest_key, text),
    ] {
        dest.put_opts(key, PutPayload::from(body), create.clone())
            .await
            .map_err(|e| Error::InventoryReport {
                store: dest.to_string(),
                key: key.to_string(),
                message: format!("cannot write the export's manifest: {e}"),
            })?;
    }
    Ok((
        report,
        Export {
            manifest: manifest_key,
            files,
            rows,
        },
    ))
}

/// `2026-11-23T18-05-12Z-1a2b3c4d`: the time, then 32 random bits.
fn run_name(as_of: DateTime<Utc>) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{:p}", std::process::id(), &nanos);
    let random = xxhash_rust::xxh3::xxh3_64(seed.as_bytes()) as u32;
    format!("{}-{random:08x}", as_of.format("%Y-%m-%dT%H-%M-%SZ"))
}

/// Whether `key` is one of the files of the export `run` (`…/data/<run>-00000.parquet`,
/// `…/<run>/manifest.json`, `…/<run>/manifest.checksum`). Only the last segments are
/// compared: where the destination lies in a scanned store is not known (two stores, one
/// place). No other object has them by accident: the run's name has 32 random bits.
fn written_by(run: &str, key: &str) -> bool {
    let (parent, name) = key.rsplit_once('/').unwrap_or(("", key));
    let parent_is = |segment: &str| {
        parent
            .strip_suffix(segment)
            .is_some_and(|above| above.is_empty() || above.ends_with('/'))
    };
    match name.strip_prefix(run) {
        Some(rest) => {
            let number = rest
                .strip_prefix('-')
                .and_then(|rest| rest.strip_suffix(".parquet"));
            number.is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                && parent_is("data")
        }
        None => matches!(name, "manifest.json" | "manifest.checksum") && parent_is(run),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    source_bucket: &'a str,
    destination_bucket: String,
    version: &'static str,
    creation_timestamp: String,
    file_format: &'static str,
    file_schema: String,
    files: Vec<ManifestFile<'a>>,
}

#[derive(Serialize)]
struct ManifestFile<'a> {
    key: &'a str,
    size: u64,
    #[serde(rename = "MD5checksum")]
    md5: &'a str,
}

/// The `s3.inventory` columns stratus writes.
fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("bucket", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("size", DataType::Int64, true),
        Field::new(
            "last_modified_date",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("e_tag", DataType::Utf8, true),
        Field::new("version_id", DataType::Utf8, true),
    ]))
}

/// The manifest's `fileSchema`: the Parquet message type, as S3 writes it.
fn file_schema() -> String {
    "message s3.inventory { required binary bucket (STRING); required binary key (STRING); \
     optional int64 size; optional int64 last_modified_date (TIMESTAMP(MILLIS,true)); \
     optional binary e_tag (STRING); optional binary version_id (STRING); }"
        .to_string()
}

/// Encodes what the listing hands it into Parquet files.
struct Writer {
    dest: Arc<dyn ObjectStore>,
    options: ExportOptions,
    /// `…/data`: files are `<data>/<run>-00000.parquet`, ...
    data: Path,
    run: String,
    schema: SchemaRef,
}

impl Writer {
    async fn run(
        self,
        mut objects: mpsc::Receiver<Vec<ObjectMeta>>,
    ) -> std::result::Result<Vec<ExportedFile>, String> {
        let mut files = Vec::new();
        let mut open: Option<(Path, AsyncArrowWriter<Md5Writer>, u64)> = None;
        while let Some(batch) = objects.recv().await {
            let mut rest = batch.as_slice();
            while !rest.is_empty() {
                if open.is_none() {
                    let name = format!("{}-{:05}.parquet", self.run, files.len());
                    let key = self.data.clone().join(name);
                    open = Some((key.clone(), self.open(key)?, 0));
                }
                let (_, writer, rows) = open.as_mut().expect("opened");
                let room = self.options.rows_per_file - *rows as usize;
                let (now, later) = rest.split_at(room.min(rest.len()));
                writer
                    .write(&self.batch(now))
                    .await
                    .map_err(|e| format!("cannot write Parquet: {e}"))?;
                *rows += now.len() as u64;
                rest = later;
                if *rows as usize == self.options.rows_per_file {
                    let (key, writer, rows) = open.take().expect("opened");
                    files.push(close(key, writer, rows).await?);
                }
            }
        }
        if let Some((key, writer, rows)) = open.take() {
            files.push(close(key, writer, rows).await?);
        }
        Ok(files)
    }

    fn open(&self, key: Path) -> std::result::Result<AsyncArrowWriter<Md5Writer>, String> {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(self.options.row_group_rows))
            .set_created_by(format!("stratus {}", env!("CARGO_PKG_VERSION")))
            .build();
        let out = Md5Writer {
            inner: BufWriter::new(Arc::clone(&self.dest), key),
            md5: Md5::new(),
            size: 0,
        };
        AsyncArrowWriter::try_new(out, Arc::clone(&self.schema), Some(props))
            .map_err(|e| format!("cannot start a Parquet file: {e}"))
    }

    fn batch(&self, objects: &[ObjectMeta]) -> RecordBatch {
        let n = objects.len();
        let mut bucket = StringBuilder::with_capacity(n, n * self.options.bucket.len());
        let mut key = StringBuilder::with_capacity(n, n * 32);
        let mut size = Int64Builder::with_capacity(n);
        let mut modified = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
        let mut e_tag = StringBuilder::with_capacity(n, n * 34);
        let mut version = StringBuilder::new();
        for meta in objects {
            bucket.append_value(&self.options.bucket);
            key.append_value(meta.location.as_ref());
            // Sizes past i64::MAX (8 EiB) cannot be written: they saturate.
            size.append_value(i64::try_from(meta.size).unwrap_or(i64::MAX));
            modified.append_value(meta.last_modified.timestamp_millis());
            e_tag.append_option(meta.e_tag.as_deref());
            version.append_option(meta.version.as_deref());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(bucket.finish()),
            Arc::new(key.finish()),
            Arc::new(size.finish()),
            Arc::new(modified.finish()),
            Arc::new(e_tag.finish()),
            Arc::new(version.finish()),
        ];
        RecordBatch::try_new(Arc::clone(&self.schema), columns).expect("columns match the schema")
    }
}

async fn close(
    key: Path,
    mut writer: AsyncArrowWriter<Md5Writer>,
    rows: u64,
) -> std::result::Result<ExportedFile, String> {
    writer
        .finish()
        .await
        .map_err(|e| format!("cannot finish {key}: {e}"))?;
    let out = writer.into_inner();
    Ok(ExportedFile {
        key,
        size: out.size,
        md5: hex(&out.md5.clone().finalize()),
        rows,
    })
}

/// The upload, with the MD5 and size of what went through it (for the manifest).
struct Md5Writer {
    inner: BufWriter,
    md5: Md5,
    size: u64,
}

impl AsyncFileWriter for Md5Writer {
    fn write(&mut self, bytes: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.md5.update(&bytes);
        self.size += bytes.len() as u64;
        AsyncFileWriter::write(&mut self.inner, bytes)
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        AsyncFileWriter::complete(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runs_files_are_known_by_their_last_segments_and_nothing_else_is() {
        let run = "2026-11-23T18-05-12Z-1a2b3c4d";
        for key in [
            "data/2026-11-23T18-05-12Z-1a2b3c4d-00000.parquet",
            "exports/data/2026-11-23T18-05-12Z-1a2b3c4d-00012.parquet",
            "2026-11-23T18-05-12Z-1a2b3c4d/manifest.json",
            "a/b/2026-11-23T18-05-12Z-1a2b3c4d/manifest.checksum",
        ] {
            assert!(written_by(run, key), "{key}");
        }
        for key in [
            // Another run's.
            "data/2026-11-23T18-05-12Z-1a2b3c4e-00000.parquet",
            "2026-11-23T18-05-12Z-1a2b3c4e/manifest.json",
            // Not where the export puts them.
            "2026-11-23T18-05-12Z-1a2b3c4d-00000.parquet",
            "mydata/2026-11-23T18-05-12Z-1a2b3c4d-00000.parquet",
            "data/2026-11-23T18-05-12Z-1a2b3c4d-00000.parquet.bak",
            "data/2026-11-23T18-05-12Z-1a2b3c4d-.parquet",
            "x2026-11-23T18-05-12Z-1a2b3c4d/manifest.json",
            "2026-11-23T18-05-12Z-1a2b3c4d/other.json",
            "manifest.json",
            "",
        ] {
            assert!(!written_by(run, key), "{key}");
        }
    }
}
