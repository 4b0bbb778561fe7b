//! What the report tests share (`tests/hostile_reports.rs`, `adversarial_reports.rs`,
//! `adversarial_pages.rs`): a counting allocator each installs as its global allocator
//! (`#[global_allocator] static ALLOCATOR: Counting = Counting;`), and reports written
//! into a memory store and read back under it.
#![allow(dead_code)]

use arrow_array::{ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
use parquet::file::properties::WriterProperties;
use std::io::Write;
use std::sync::Arc;
use stratus::inventory::{reports, Report, ScanOptions};

// ---- the counting allocator ----

#[path = "../common/alloc.rs"]
mod alloc;
pub use alloc::*;

// ---- reports in a memory store ----

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub async fn put(store: &InMemory, key: &str, bytes: Vec<u8>) {
    store
        .put(&Path::from(key), PutPayload::from(bytes))
        .await
        .unwrap();
}

/// Read `manifest` from `store` (files two at a time), measuring the peak.
pub fn read(
    rt: &tokio::runtime::Runtime,
    store: Arc<InMemory>,
    manifest: &str,
) -> (stratus::Result<Report>, usize) {
    let options = ScanOptions::default()
        .with_depth(2)
        .with_concurrency(2)
        .with_verify_checksums(true);
    let manifest = Path::from(manifest);
    peak_of(|| rt.block_on(reports::read(store, &manifest, None, &options)))
}

/// An S3 Inventory manifest listing `files` (key, bytes) in `format` with `schema`.
pub fn s3_manifest(format: &str, schema: &str, files: &[(&str, usize)]) -> Vec<u8> {
    let files: Vec<_> = files
        .iter()
        .map(|(key, size)| serde_json::json!({"key": key, "size": size}))
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "sourceBucket": "src",
        "fileFormat": format,
        "fileSchema": schema,
        "creationTimestamp": "1700000000000",
        "files": files,
    }))
    .unwrap()
}

pub fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for part in parts {
        gz.write_all(part).unwrap();
    }
    gz.finish().unwrap()
}

/// An S3 Parquet report of one data file, in a memory store.
pub async fn s3_parquet(file: Vec<u8>) -> Arc<InMemory> {
    let store = InMemory::new();
    let size = file.len();
    put(&store, "inv/data/part-0.parquet", file).await;
    let manifest = s3_manifest("Parquet", "", &[("inv/data/part-0.parquet", size)]);
    put(&store, "inv/manifest.json", manifest).await;
    Arc::new(store)
}

/// A Parquet file of `keys` and `classes` (one row each), sizes 1, dates 2023.
pub fn parquet_file(keys: ArrayRef, classes: Option<ArrayRef>, props: WriterProperties) -> Vec<u8> {
    let rows = keys.len();
    let mut fields = vec![
        Field::new("key", keys.data_type().clone(), true),
        Field::new("size", DataType::Int64, true),
        Field::new(
            "last_modified_date",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            true,
        ),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        keys,
        Arc::new(Int64Array::from(vec![1; rows])),
        Arc::new(TimestampMillisecondArray::from(vec![
            1_700_000_000_000i64;
            rows
        ])),
    ];
    if let Some(classes) = classes {
        fields.push(Field::new(
            "storage_class",
            classes.data_type().clone(),
            true,
        ));
        columns.push(classes);
    }
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(props)).unwrap();
    writer
        .write(&RecordBatch::try_new(schema, columns).unwrap())
        .unwrap();
    writer.close().unwrap();
    out
}

pub fn error_text(result: &stratus::Result<Report>) -> String {
    match result {
        Ok(report) => panic!("read a hostile report: {} objects", report.objects),
        Err(e) => e.to_string(),
    }
}

/// `file` with its footer rewritten by `edit` (the pages are kept where they are).
pub fn with_footer(
    file: Vec<u8>,
    edit: impl Fn(
        parquet::file::metadata::ColumnChunkMetaData,
    ) -> parquet::file::metadata::ColumnChunkMetaData,
) -> Vec<u8> {
    let n = file.len();
    let footer_len = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    let data_end = n - 8 - footer_len;
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::from(file.clone()))
        .unwrap();
    let mut builder = meta.into_builder();
    let groups = builder
        .take_row_groups()
        .into_iter()
        .map(|g| {
            let columns = g.columns().iter().cloned().map(&edit).collect();
            g.into_builder()
                .set_column_metadata(columns)
                .build()
                .unwrap()
        })
        .collect();
    let meta = builder.set_row_groups(groups).build();
    let mut out = file[..data_end].to_vec();
    ParquetMetaDataWriter::new(&mut out, &meta)
        .finish()
        .unwrap();
    out
}

/// What a read came to, for a failure message: the objects read, or the start of the
/// error.
pub fn message_of(result: &stratus::Result<Report>) -> String {
    match result {
        Ok(r) => format!("read: {} objects", r.objects),
        Err(e) => e.to_string().chars().take(300).collect(),
    }
}
