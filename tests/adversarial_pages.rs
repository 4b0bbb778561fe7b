//! Adversarial review of the page walk (`src/inventory/reports/pages.rs`, commit 19f1510):
//! each `#[test]` below that fails reproduces a way past the promise of issue 24 (a report
//! data file of at most 64 MiB is read in under 256 MiB, in time linear in its size, with
//! no panic). The files are built by hand, page by page (a Thrift compact writer below),
//! with the footer of a file the parquet crate wrote, rewritten.
//!
//! Tests named `measure_*` pass: they record figures of attacks that did not break a
//! bound (printed with `--nocapture`).
#![cfg(feature = "reports")]

use arrow_array::TimestampMillisecondArray;
use arrow_array::{types::Int32Type, StringArray};
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stratus::inventory::{reports, Report, ScanOptions};

// ---- the counting allocator ----

/// Every allocation of this test binary goes through here: `CURRENT` bytes are held now,
/// `PEAK` is the most held since it was last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

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

fn grew(bytes: usize) {
    let now = CURRENT.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for part in parts {
        gz.write_all(part).unwrap();
    }
    gz.finish().unwrap()
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time: the counters are process-wide.
static SERIAL: Mutex<()> = Mutex::new(());

const MIB: usize = 1 << 20;

/// `f`'s result and the most memory it held at once above what was held before.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

// ---- reports in a memory store ----

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn put(store: &InMemory, key: &str, bytes: Vec<u8>) {
    store
        .put(&Path::from(key), PutPayload::from(bytes))
        .await
        .unwrap();
}

/// Read `manifest` from `store` (files two at a time), measuring the peak.
fn read(
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
fn s3_manifest(format: &str, schema: &str, files: &[(&str, usize)]) -> Vec<u8> {
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

/// An S3 Parquet report of one data file, in a memory store.
async fn s3_parquet(file: Vec<u8>) -> Arc<InMemory> {
    let store = InMemory::new();
    let size = file.len();
    put(&store, "inv/data/part-0.parquet", file).await;
    let manifest = s3_manifest("Parquet", "", &[("inv/data/part-0.parquet", size)]);
    put(&store, "inv/manifest.json", manifest).await;
    Arc::new(store)
}

/// A Parquet file of `keys` and `classes` (one row each), sizes 1, dates 2023.
fn parquet_file(keys: ArrayRef, classes: Option<ArrayRef>, props: WriterProperties) -> Vec<u8> {
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

fn error_text(result: &stratus::Result<Report>) -> String {
    match result {
        Ok(report) => panic!("read a hostile report: {} objects", report.objects),
        Err(e) => e.to_string(),
    }
}

/// `file` with its footer rewritten by `edit` (the pages are kept where they are).
fn with_footer(
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

fn message_of(result: &stratus::Result<Report>) -> String {
    match result {
        Ok(r) => format!("read: {} objects", r.objects),
        Err(e) => e.to_string().chars().take(300).collect(),
    }
}

// ---- pages, written by hand ----

/// Thrift compact protocol, as much as a page header needs.
struct Compact {
    out: Vec<u8>,
    last: Vec<i16>,
}

impl Compact {
    fn new() -> Self {
        Compact {
            out: Vec::new(),
            last: vec![0],
        }
    }

    fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(b);
                return;
            }
            self.out.push(b | 0x80);
        }
    }

    fn field(&mut self, id: i16, ty: u8) {
        let last = self.last.last_mut().unwrap();
        let delta = id - *last;
        if (1..=15).contains(&delta) {
            self.out.push(((delta as u8) << 4) | ty);
        } else {
            self.out.push(ty);
            let z = ((id as i64) << 1) ^ ((id as i64) >> 63);
            *last = id;
            self.varint(z as u64);
            return;
        }
        *last = id;
    }

    fn i32(&mut self, id: i16, v: i32) -> &mut Self {
        self.field(id, 5);
        let v = v as i64;
        self.varint(((v << 1) ^ (v >> 63)) as u64);
        self
    }

    fn bool(&mut self, id: i16, v: bool) -> &mut Self {
        self.field(id, if v { 1 } else { 2 });
        self
    }

    fn begin(&mut self, id: i16) -> &mut Self {
        self.field(id, 12);
        self.last.push(0);
        self
    }

    fn end(&mut self) -> &mut Self {
        self.out.push(0);
        self.last.pop();
        self
    }
}

const DATA: i32 = 0;
const DICTIONARY: i32 = 2;
const PLAIN: i32 = 0;
const RLE: i32 = 3;
const DELTA_LENGTH_BYTE_ARRAY: i32 = 6;
const DELTA_BYTE_ARRAY: i32 = 7;
const RLE_DICTIONARY: i32 = 8;

/// A v1 data page (`kind` DATA) or dictionary page (DICTIONARY) header.
fn header(kind: i32, inflated: i32, compressed: i32, values: i32, encoding: i32) -> Vec<u8> {
    let mut c = Compact::new();
    c.i32(1, kind).i32(2, inflated).i32(3, compressed);
    if kind == DICTIONARY {
        c.begin(7).i32(1, values).i32(2, encoding).end();
    } else {
        c.begin(5)
            .i32(1, values)
            .i32(2, encoding)
            .i32(3, RLE)
            .i32(4, RLE)
            .end();
    }
    c.out.push(0);
    c.out
}

#[derive(Clone, Copy, PartialEq)]
enum Codec {
    None,
    Gzip,
}

/// A page: its header (sizes from `body`, gzipped when `codec` says) and its body.
fn page(kind: i32, values: i32, encoding: i32, body: &[u8], codec: Codec) -> Vec<u8> {
    let stored = match codec {
        Codec::None => body.to_vec(),
        Codec::Gzip => {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(body).unwrap();
            gz.finish().unwrap()
        }
    };
    let mut out = header(
        kind,
        body.len() as i32,
        stored.len() as i32,
        values,
        encoding,
    );
    out.extend_from_slice(&stored);
    out
}

/// PLAIN byte arrays (a dictionary page's body).
fn plain_bytes(values: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in values {
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(v);
    }
    out
}

/// An RLE_DICTIONARY body: `rows` times index 0 in one run.
fn one_run(rows: u64) -> Vec<u8> {
    let mut c = Compact::new();
    c.out.push(1); // bit width
    c.varint(rows << 1);
    c.out.push(0);
    c.out
}

/// A column chunk of `rows` rows all holding `value` (PLAIN bytes of one value of the
/// column's physical type): a dictionary page of it and one data page indexing it.
fn constant(value: &[u8], rows: u64, codec: Codec) -> Vec<u8> {
    let mut out = page(DICTIONARY, 1, PLAIN, value, codec);
    out.extend(page(
        DATA,
        rows.min(i32::MAX as u64) as i32,
        RLE_DICTIONARY,
        &one_run(rows),
        codec,
    ));
    out
}

fn text(value: &str) -> Vec<u8> {
    plain_bytes(&[value.as_bytes()])
}

fn int64(v: i64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// A file with columns `key` (UTF-8), `size` (INT64), `last_modified_date` (timestamp,
/// ms), all required, plus `extra` fields, and no rows: its footer is the template.
fn template(extra: Vec<Field>) -> Vec<u8> {
    let mut fields = vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("size", DataType::Int64, false),
        Field::new(
            "last_modified_date",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ];
    fields.extend(extra);
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_statistics_enabled(EnabledStatistics::None)
        .set_dictionary_enabled(false)
        .set_compression(Compression::UNCOMPRESSED)
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(props)).unwrap();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| arrow_array::new_empty_array(f.data_type()))
        .collect();
    let _ = columns;
    // One row, so the footer has a row group to copy.
    let one: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| arrow_array::new_null_array(f.data_type(), 1))
        .map(|a| {
            // Required columns: make the one value valid.
            let data = a.to_data().into_builder().nulls(None).build().unwrap();
            arrow_array::make_array(data)
        })
        .collect();
    writer
        .write(&RecordBatch::try_new(schema, one).unwrap())
        .unwrap();
    writer.close().unwrap();
    out
}

/// Where a column chunk is in the file, as the footer will say.
#[derive(Clone, Copy)]
struct At {
    start: u64,
    len: u64,
    codec: Codec,
}

/// `data` (the file's bytes up to the footer, `PAR1` first) with a footer copied from
/// `template` whose row groups are `groups` (declared rows, each column's chunk).
fn assemble(template: &[u8], mut data: Vec<u8>, groups: &[(i64, Vec<At>)]) -> Vec<u8> {
    let meta = ParquetMetaDataReader::new()
        .parse_and_finish(&Bytes::from(template.to_vec()))
        .unwrap();
    let mut builder = meta.into_builder();
    let model = builder.take_row_groups().remove(0);
    let rows: Vec<_> = groups
        .iter()
        .map(|(rows, chunks)| {
            let columns = model
                .columns()
                .iter()
                .zip(chunks)
                .map(|(c, at)| {
                    c.clone()
                        .into_builder()
                        .set_dictionary_page_offset(None)
                        .set_data_page_offset(at.start as i64)
                        .set_total_compressed_size(at.len as i64)
                        .set_total_uncompressed_size(at.len as i64)
                        .set_num_values(*rows)
                        .set_compression(match at.codec {
                            Codec::None => Compression::UNCOMPRESSED,
                            Codec::Gzip => Compression::GZIP(Default::default()),
                        })
                        .set_offset_index_offset(None)
                        .set_offset_index_length(None)
                        .set_column_index_offset(None)
                        .set_column_index_length(None)
                        .set_page_encoding_stats(vec![])
                        .build()
                        .unwrap()
                })
                .collect();
            model
                .clone()
                .into_builder()
                .set_num_rows(*rows)
                .set_column_metadata(columns)
                .build()
                .unwrap()
        })
        .collect();
    let meta = builder.set_row_groups(rows).build();
    ParquetMetaDataWriter::new(&mut data, &meta)
        .finish()
        .unwrap();
    data
}

/// A file of one row group per entry of `groups` (declared rows, each column's chunk
/// bytes), chunks laid out one after another.
fn file_of(template: &[u8], groups: &[(i64, Vec<(Vec<u8>, Codec)>)]) -> Vec<u8> {
    let mut data = b"PAR1".to_vec();
    let mut placed = Vec::new();
    for (rows, chunks) in groups {
        let mut ats = Vec::new();
        for (bytes, codec) in chunks {
            ats.push(At {
                start: data.len() as u64,
                len: bytes.len() as u64,
                codec: *codec,
            });
            data.extend_from_slice(bytes);
        }
        placed.push((*rows, ats));
    }
    assemble(template, data, &placed)
}

/// Honest chunks of `rows` rows: key `key`, size 1, 2023.
fn honest(key: &str, rows: u64) -> Vec<(Vec<u8>, Codec)> {
    vec![
        (constant(&text(key), rows, Codec::None), Codec::None),
        (constant(&int64(1), rows, Codec::None), Codec::None),
        (
            constant(&int64(1_700_000_000_000), rows, Codec::None),
            Codec::None,
        ),
    ]
}

#[test]
fn measure_an_honest_hand_written_file_reads() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let file = file_of(&template(vec![]), &[(1000, honest("a/b", 1000))]);
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    eprintln!("{} (peak {} KiB)", message_of(&result), peak >> 10);
    assert_eq!(result.unwrap().objects, 1000);
}

// ---- finding: rows past the footer's count are decoded, never costed ----

/// Row group 0 is honest (8,192 rows, key `k`). Row group 1's footer entry says it
/// holds 1 row, but its pages hold 8,192: a key dictionary of one 60 KiB value indexed by
/// every row. `leaf_costs` cuts each chunk at the footer's row count (`if first >= rows
/// { continue }`, `page.values.min(rows - first)`), so row group 1 costs one row of
/// 60 KiB and gets batches of 8,192; the parquet crate reads a row group without a row
/// limit (`RowSelectionCursor::All`: until its pages run out) and decodes 8,192 rows of
/// 60 KiB into one batch: 480 MiB from a 62 KB file.
#[test]
fn rows_past_the_footers_row_count_are_decoded_but_never_costed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let long = "v".repeat(60 << 10);
    let file = file_of(
        &template(vec![]),
        &[(8192, honest("k", 8192)), (1, honest(&long, 8192))],
    );
    eprintln!("file {} bytes", file.len());
    assert!(file.len() < 64 << 10);
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("peak {} MiB: {message}", peak / MIB);
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// The same gap for time: a 1 KB file whose footer declares 8,193 rows (within 16 a
/// byte) but whose last row group's pages hold 4 million more (one RLE run each). Every
/// one is read and counted as an object: `ROWS_PER_BYTE` checks the footer, not the
/// pages, so the rows (and the time) are bounded by nothing but `i32::MAX` a page (and
/// pages a chunk): 2^31 rows from a few hundred bytes is hours.
#[test]
fn rows_past_the_footers_row_count_escape_the_rows_per_byte_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let hidden = 4_000_000;
    let file = file_of(
        &template(vec![]),
        &[(8192, honest("a/b", 8192)), (1, honest("a/c", hidden))],
    );
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    let message = message_of(&result);
    eprintln!("{size} bytes, {took:?}: {message}");
    if let Ok(report) = &result {
        assert!(
            report.objects <= 16 * size as u64,
            "{} rows read from a file of {size} bytes whose footer declares 8,193 ({took:?})",
            report.objects
        );
    }
}

// ---- finding: a dictionary page's value count is believed ----

/// The key column's dictionary page holds one value (`k`, 5 bytes) but its header says
/// `num_values` = 100,000,000. `walk` checks the page's sizes, not its count; the parquet
/// crate's `ByteArrayDecoderPlain::read` reserves offsets for every value the header
/// declares (`output.offsets.reserve(to_read)`): 400 MiB for a 200-byte file (i32::MAX
/// gives 8 GiB). The file then reads as a valid report of one object.
#[test]
fn a_dictionary_page_declaring_100m_values_is_allocated_for() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut key = page(DICTIONARY, 100_000_000, PLAIN, &text("k"), Codec::None);
    key.extend(page(DATA, 1, RLE_DICTIONARY, &one_run(1), Codec::None));
    let mut chunks = honest("k", 1);
    chunks[0] = (key, Codec::None);
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{size} bytes, peak {} MiB: {message}", peak / MIB);
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// The same for an INT64 column (`size`): `DictDecoder::set_dict` resizes its dictionary
/// to the declared count before decoding (`self.dictionary.resize(num_values, ..)`):
/// 8 bytes a declared value, written (not only reserved). 40 million: 320 MiB; i32::MAX
/// would be 16 GiB of memory written.
#[test]
fn an_int64_dictionary_page_declaring_40m_values_is_allocated_for() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut size_column = page(DICTIONARY, 40_000_000, PLAIN, &int64(1), Codec::None);
    size_column.extend(page(DATA, 1, RLE_DICTIONARY, &one_run(1), Codec::None));
    let mut chunks = honest("k", 1);
    chunks[1] = (size_column, Codec::None);
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{size} bytes, peak {} MiB: {message}", peak / MIB);
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

// ---- finding: DELTA_BYTE_ARRAY / DELTA_LENGTH_BYTE_ARRAY bodies count their own values ----

/// A DELTA_BINARY_PACKED header (the start of a DELTA_BYTE_ARRAY or
/// DELTA_LENGTH_BYTE_ARRAY body): `values` in blocks of `block`, one miniblock each,
/// first value 0, then one block of bit width 0 (every delta 0).
fn delta_lengths(values: u64, block: u64) -> Vec<u8> {
    let mut c = Compact::new();
    c.varint(block);
    c.varint(1);
    c.varint(values);
    c.varint(0); // first value, zigzag
    c.varint(0); // the block's min delta
    c.out.push(0); // its miniblock's bit width
    c.out
}

/// A one-row key page, DELTA_BYTE_ARRAY, of 14 bytes whose body's own header declares 64
/// million values in one block of bit width 0. `walk` costs it by its header (1 value,
/// 14 bytes); the parquet crate's `DeltaByteArrayDecoder::new` decodes the body's count
/// of prefix lengths, then of suffix lengths, into two `vec![0i32; count]` before
/// looking at the page's `num_values`: 512 MiB written, from a 300-byte file.
#[test]
fn a_delta_byte_array_page_declaring_64m_values_in_its_body_is_allocated_for() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let n: u64 = 64 << 20;
    let mut body = delta_lengths(n, n);
    body.extend(delta_lengths(n, n));
    let mut chunks = honest("k", 1);
    chunks[0] = (
        page(DATA, 1, DELTA_BYTE_ARRAY, &body, Codec::None),
        Codec::None,
    );
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{size} bytes, peak {} MiB: {message}", peak / MIB);
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// The same count at 2^61: `vec![0i32; 2^61]` is past `isize::MAX` bytes, and the
/// parquet crate panics ("capacity overflow") in the reading task. (At 2^40 the
/// allocation is refused instead and the process aborts: "memory allocation of
/// 4398046511104 bytes failed".) DELTA_LENGTH_BYTE_ARRAY (`ByteArrayDecoderDeltaLength`,
/// `vec![0; values]`) does the same.
#[test]
fn a_delta_page_declaring_2_pow_61_values_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    for encoding in [DELTA_BYTE_ARRAY, DELTA_LENGTH_BYTE_ARRAY] {
        let body = delta_lengths(1 << 61, 128);
        let mut chunks = honest("k", 1);
        chunks[0] = (page(DATA, 1, encoding, &body, Codec::None), Codec::None);
        let file = file_of(&template(vec![]), &[(1, chunks)]);
        let store = rt.block_on(s3_parquet(file));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read(&rt, store, "inv/manifest.json")
        }));
        match outcome {
            Ok((result, peak)) => eprintln!(
                "encoding {encoding}: peak {} MiB: {}",
                peak / MIB,
                message_of(&result)
            ),
            Err(panic) => {
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                panic!("encoding {encoding}: reading panicked: {text}");
            }
        }
    }
}

// ---- finding: the page list itself is unbounded ----

/// A key chunk of 2.6 million empty data pages (13 bytes each: type, sizes 0, 0 values,
/// PLAIN), 34 MB. `walk` keeps a `Page` (40 bytes) for each and `leaf_costs` a `PageRows`
/// (32 bytes) for each (a page of 0 rows is still pushed): both vectors double to 4
/// million entries, 288 MiB, before anything is decoded.
#[test]
fn millions_of_empty_pages_outgrow_the_memory_bound() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    // The level encodings (fields 3 and 4) are left out: `walk` does not need them.
    let mut c = Compact::new();
    c.i32(1, DATA).i32(2, 0).i32(3, 0);
    c.begin(5).i32(1, 0).i32(2, PLAIN).end();
    c.out.push(0);
    let empty = c.out;
    assert_eq!(empty.len(), 13);
    let pages = 2_600_000;
    let mut key = Vec::with_capacity(pages * 13 + 64);
    for _ in 0..pages {
        key.extend_from_slice(&empty);
    }
    key.extend(constant(&text("k"), 1, Codec::None));
    let mut chunks = honest("k", 1);
    chunks[0] = (key, Codec::None);
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!(
        "{} MB, {:?}, peak {} MiB: {message}",
        size / 1_000_000,
        started.elapsed(),
        peak / MIB
    );
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

// ---- finding: row groups can share one chunk ----

/// One gzip page (16 KB, inflating to 16 MiB) and a footer of row groups that each
/// declare 0 rows and all place their key column on that page. Each row group fetches
/// and walks its chunks again (`Checked::fetch`, `pages::walk`, which inflates a gzip
/// body to check its size), even with 0 rows: 5 row groups add 500 bytes (3%) to the
/// file and multiply the time by about 5. Work grows as row groups times chunk size, both bounded
/// only by the file: quadratic in its size (1,000 row groups, a 144 KB file, take 25
/// minutes in a debug build; a 64 MiB file can hold 100,000 row groups on a 48 MiB chunk).
#[test]
fn row_groups_sharing_one_chunk_are_walked_again_each() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let template = template(vec![]);
    let mut data = b"PAR1".to_vec();
    let mut body = text("k");
    body.resize(16 << 20, 0);
    let bomb = page(DATA, 1, PLAIN, &body, Codec::Gzip);
    let bomb_at = At {
        start: data.len() as u64,
        len: bomb.len() as u64,
        codec: Codec::Gzip,
    };
    data.extend(bomb);
    let mut ats = vec![bomb_at];
    for (chunk, _) in honest("k", 1).into_iter().skip(1) {
        ats.push(At {
            start: data.len() as u64,
            len: chunk.len() as u64,
            codec: Codec::None,
        });
        data.extend(chunk);
    }
    let mut timed = |count: usize| {
        let groups: Vec<(i64, Vec<At>)> = (0..count).map(|_| (0, ats.clone())).collect();
        let file = assemble(&template, data.clone(), &groups);
        let size = file.len();
        let store = rt.block_on(s3_parquet(file));
        let started = Instant::now();
        let (result, _) = read(&rt, store, "inv/manifest.json");
        let took = started.elapsed();
        eprintln!(
            "{count} row groups, {size} bytes: {took:?}: {}",
            message_of(&result)
        );
        (size, took)
    };
    let (small, one) = timed(1);
    let (large, five) = timed(5);
    assert!(
        five.as_secs_f64() < 2.0 * one.as_secs_f64(),
        "{small} bytes read in {one:?}, {large} bytes ({:.0}% more) in {five:?}",
        (large as f64 / small as f64 - 1.0) * 100.0
    );
}
