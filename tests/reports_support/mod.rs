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
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use stratus::inventory::{reports, Report, ScanOptions};

// ---- the counting allocator ----

/// Every allocation of this test binary goes through here: `CURRENT` bytes are held now,
/// `PEAK` is the most held since it was last reset.
pub struct Counting;

pub static CURRENT: AtomicUsize = AtomicUsize::new(0);

pub static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

pub fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// One measurement at a time: the counters are process-wide.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub const MIB: usize = 1 << 20;

/// `f`'s result and the most memory it held at once above what was held before.
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

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
