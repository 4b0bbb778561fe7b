//! Adversarial review of the page walk (`src/inventory/reports/pages.rs`, commit 19f1510):
//! each `#[test]` below (but the `measure_*` ones) failed there and reproduced a way past
//! the promise of issue 24 (a report data file of at most 64 MiB is read in under
//! 256 MiB, in time linear in its size, with no panic); each passes since the fixes that
//! followed (rows checked against the footer, dictionary counts against their bytes,
//! DELTA text pages and overlapping chunks refused, pages kept coarse, limits lowered,
//! decoder panics turned into the file's error). Test names keep what broke. The files are built by hand, page by page (a Thrift compact writer and an
//! LZ4 block writer below), with the footer of a file the parquet crate wrote, rewritten.
//!
//! Findings (one section each): rows past a row group's footer count are decoded, never
//! costed; a v2 page's rows are costed from `num_rows`, which the crate ignores; a
//! dictionary page's `num_values` is allocated for; DELTA bodies declare their own value
//! counts; the list of pages walked is unbounded; row groups can share one chunk (time
//! quadratic in the file); BOOLEAN dictionaries decode to 8 times their pages; the footer
//! decodes to 10 times its bytes; and eight panics (one in `Checked::fetch`, seven in the
//! parquet crate on pages `walk` accepts), with a seeded byte-flip fuzz that finds them.
//!
//! Tests named `measure_*` pass: they record figures of attacks that did not break a
//! bound (printed with `--nocapture`; those marked `#[ignore]` are meant for `--release`).
#![cfg(feature = "reports")]

mod reports_support;
use reports_support::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use object_store::memory::InMemory;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::{ParquetMetaDataReader, ParquetMetaDataWriter};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    Lz4Raw,
}

/// An LZ4 block (LZ4_RAW) of `data`: runs of one byte as matches at offset 1, the rest
/// literals, the last 12 bytes literals.
fn lz4_raw(data: &[u8]) -> Vec<u8> {
    fn length(out: &mut Vec<u8>, mut v: usize) {
        while v >= 255 {
            out.push(255);
            v -= 255;
        }
        out.push(v as u8);
    }
    let mut out = Vec::new();
    let limit = data.len().saturating_sub(12);
    let (mut literal_start, mut i) = (0, 0);
    while i < limit {
        let mut j = i + 1;
        while j < limit && data[j] == data[i] {
            j += 1;
        }
        if j - i >= 17 {
            let literals = &data[literal_start..=i];
            let matched = j - i - 1;
            out.push(((literals.len().min(15) as u8) << 4) | (matched - 4).min(15) as u8);
            if literals.len() >= 15 {
                length(&mut out, literals.len() - 15);
            }
            out.extend_from_slice(literals);
            out.extend_from_slice(&1u16.to_le_bytes());
            if matched - 4 >= 15 {
                length(&mut out, matched - 4 - 15);
            }
            literal_start = j;
        }
        i = j;
    }
    let literals = &data[literal_start..];
    out.push((literals.len().min(15) as u8) << 4);
    if literals.len() >= 15 {
        length(&mut out, literals.len() - 15);
    }
    out.extend_from_slice(literals);
    out
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
        Codec::Lz4Raw => lz4_raw(body),
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
    template_with(false, extra)
}

/// [`template`], with `key` nullable when `nullable_key`.
fn template_with(nullable_key: bool, extra: Vec<Field>) -> Vec<u8> {
    let mut fields = vec![
        Field::new("key", DataType::Utf8, nullable_key),
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
                            Codec::Lz4Raw => Compression::LZ4_RAW,
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

/// A row group as written: the rows its footer declares, and each column's chunk bytes.
type Group = (i64, Vec<(Vec<u8>, Codec)>);

/// A file of one row group per entry of `groups` (declared rows, each column's chunk
/// bytes), chunks laid out one after another.
fn file_of(template: &[u8], groups: &[Group]) -> Vec<u8> {
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

// ---- finding: a v2 page's rows are taken from `num_rows`, which the crate ignores ----

/// A v2 data page header: `values` levels (what the parquet crate reads), `rows` (what
/// `walk` counts), no levels stored, the body compressed as the chunk says.
fn v2_header(inflated: i32, compressed: i32, values: i32, rows: i32, encoding: i32) -> Vec<u8> {
    let mut c = Compact::new();
    c.i32(1, 3).i32(2, inflated).i32(3, compressed);
    c.begin(8)
        .i32(1, values)
        .i32(2, 0)
        .i32(3, rows)
        .i32(4, encoding)
        .i32(5, 0)
        .i32(6, 0)
        .end();
    c.out.push(0);
    c.out
}

/// One row group of 8,192 rows, honest footer. The key chunk: a dictionary of one 60 KiB
/// value, then one v2 data page whose header says `num_rows` 1 and `num_values` 8,192
/// (an RLE run of 8,192 indexes). `Sub::parse` takes a v2 page's rows from `num_rows`
/// (`values: if id == 8 { rows }`), so the page costs one row of 60 KiB and batches are
/// 8,192; the parquet crate ignores `num_rows` (`num_rows: _` in `column/reader.rs`) and
/// reads 8,192 values from the page into the first batch: 480 MiB from a 62 KB file.
/// Unlike the footer gap above, this holds with the footer's row count enforced.
#[test]
fn a_v2_page_reads_num_values_rows_not_the_num_rows_costed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let long = "v".repeat(60 << 10);
    let mut key = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    let body = one_run(8192);
    key.extend(v2_header(
        body.len() as i32,
        body.len() as i32,
        8192,
        1,
        RLE_DICTIONARY,
    ));
    key.extend(&body);
    let mut chunks = honest("k", 8192);
    chunks[0] = (key, Codec::None);
    let file = file_of(&template(vec![]), &[(8192, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{size} bytes, peak {} MiB: {message}", peak / MIB);
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
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
    let timed = |count: usize| {
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
    // The fastest of three runs each: one run is under a millisecond, and a busy
    // machine stretches any one of them.
    let fastest = |count: usize| {
        (0..3)
            .map(|_| timed(count))
            .min_by_key(|(_, took)| *took)
            .expect("three runs")
    };
    let (small, one) = fastest(1);
    let (large, five) = fastest(5);
    assert!(
        five.as_secs_f64() < 2.0 * one.as_secs_f64(),
        "{small} bytes read in {one:?}, {large} bytes ({:.0}% more) in {five:?}",
        (large as f64 / small as f64 - 1.0) * 100.0
    );
}

// ---- finding: what a page decodes to is not what it inflates to ----

/// `storage_class`, `is_latest` and `is_delete_marker` as BOOLEAN columns, each with a
/// dictionary page of 12 MiB that declares exactly the values it holds: 96 million
/// booleans, one bit each. Each page is within `PAGE_LIMIT` and its count is honest, but
/// the parquet crate decodes a dictionary into a `Vec<bool>`, a byte a value: 96 MiB
/// each, 288 MiB for the three. `leaf_costs` costs no dictionary of a fixed-width column
/// (`Some(length) => length`), and 1 bit to 1 byte is 8 times what `walk` bounds. (The
/// class column's type is refused, by `Columns::of`, only after the batch is decoded.)
/// Uncompressed here (a 36 MiB file) to keep the test quick; gzipped, the same pages make
/// a 40 KB file and a higher peak (the inflated pages are held too).
#[test]
fn boolean_dictionaries_decode_to_eight_times_their_inflated_size() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let template = template(vec![
        Field::new("storage_class", DataType::Boolean, false),
        Field::new("is_latest", DataType::Boolean, false),
        Field::new("is_delete_marker", DataType::Boolean, false),
    ]);
    let mut chunks = honest("k", 1);
    for bits in [0x00u8, 0xff, 0x00] {
        let flags = vec![bits; 12 << 20];
        let mut flag = page(
            DICTIONARY,
            (flags.len() * 8) as i32,
            PLAIN,
            &flags,
            Codec::None,
        );
        flag.extend(page(DATA, 1, RLE_DICTIONARY, &one_run(1), Codec::None));
        chunks.push((flag, Codec::None));
    }
    let file = file_of(&template, &[(1, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!(
        "{size} bytes, {:?}, peak {} MiB: {message}",
        started.elapsed(),
        peak / MIB
    );
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

// ---- finding: the footer's decoded form is 10 times its size ----

/// A 14 MiB file: a footer of 14 MiB listing 60,000 row groups of 0 rows (all on the
/// same six tiny chunks), and one real row group whose four text columns (key,
/// storage_class, is_latest, is_delete_marker) each have a 16 MiB dictionary page
/// (4 million empty values) and a 16 MiB data page (LZ4_RAW: 66 KB each). The parquet
/// crate decodes the footer into a `ParquetMetaData` held for the whole read: about
/// 450 bytes a `ColumnChunkMetaData` for 40 bytes of Thrift, 151 MiB for 14 MiB
/// (`FOOTER_LIMIT` bounds the bytes, not this). Each column then holds its decoded
/// dictionary and its inflated data page, each page within `PAGE_LIMIT` (144 MiB for the
/// four, without the footer): together 295 MiB. (Six columns gzipped, with no footer to speak of, reach 256 MiB on their own
/// from a 200 KB file: `measure_six_columns_of_16_mib_pages`.)
#[test]
fn a_large_footer_and_large_pages_exceed_the_bound_together() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let text_field = |name: &str| Field::new(name, DataType::Utf8, false);
    let template = template(vec![
        text_field("storage_class"),
        text_field("is_latest"),
        text_field("is_delete_marker"),
    ]);
    let mut data = b"PAR1".to_vec();
    let mut real = Vec::new();
    let dictionary = {
        let mut d = vec![0u8; (16 << 20) - 16];
        d.extend(text("k"));
        d
    };
    let values = (dictionary.len() / 4) as i32 - 1;
    let mut data_page = one_run(1);
    data_page.resize(16 << 20, 0);
    let mut chunks = honest("k", 1);
    for _ in 0..4 {
        let mut chunk = page(DICTIONARY, values, PLAIN, &dictionary, Codec::Lz4Raw);
        chunk.extend(page(DATA, 1, RLE_DICTIONARY, &data_page, Codec::Lz4Raw));
        chunks.push((chunk, Codec::Lz4Raw));
    }
    chunks.swap(0, 3);
    for (chunk, codec) in chunks {
        real.push(At {
            start: data.len() as u64,
            len: chunk.len() as u64,
            codec,
        });
        data.extend(chunk);
    }
    let mut tiny = Vec::new();
    let tiny_text = || (constant(&text("k"), 1, Codec::None), Codec::None);
    for (chunk, _) in honest("k", 1)
        .into_iter()
        .chain([tiny_text(), tiny_text(), tiny_text()])
    {
        tiny.push(At {
            start: data.len() as u64,
            len: chunk.len() as u64,
            codec: Codec::None,
        });
        data.extend(chunk);
    }
    let mut groups: Vec<(i64, Vec<At>)> = vec![(1, real)];
    let empty: usize = std::env::var("ADV_ROW_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60_000);
    groups.extend((0..empty).map(|_| (0, tiny.clone())));
    let file = assemble(&template, data, &groups);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!(
        "{} MiB, {:?}, peak {} MiB: {message}",
        size / MIB,
        started.elapsed(),
        peak / MIB
    );
    assert!(peak < 256 * MIB, "peak {} MiB ({message})", peak / MIB);
}

// ---- fuzz: byte flips of valid files ----

/// Valid report files to flip bytes in: dictionary keys with SNAPPY, GZIP and v2 pages,
/// DELTA_BYTE_ARRAY keys, small pages and row groups so a flip lands in a header often.
fn fuzz_bases() -> Vec<(&'static str, Vec<u8>)> {
    let rows = 600;
    let keys: Vec<String> = (0..rows)
        .map(|i| format!("dir{}/file-{i:05}", i % 7))
        .collect();
    let classes: Vec<&str> = (0..rows).map(|i| ["STANDARD", "GLACIER"][i % 2]).collect();
    let keys: ArrayRef = Arc::new(arrow_array::StringArray::from(keys));
    let classes: ArrayRef = Arc::new(arrow_array::StringArray::from(classes));
    let base = || {
        WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .set_max_row_group_row_count(Some(250))
            .set_data_page_row_count_limit(64)
            .set_write_batch_size(32)
    };
    let make = |props: WriterProperties| parquet_file(keys.clone(), Some(classes.clone()), props);
    vec![
        (
            "snappy",
            make(base().set_compression(Compression::SNAPPY).build()),
        ),
        (
            "gzip",
            make(
                base()
                    .set_compression(Compression::GZIP(Default::default()))
                    .build(),
            ),
        ),
        (
            "v2-lz4raw",
            make(
                base()
                    .set_compression(Compression::LZ4_RAW)
                    .set_writer_version(parquet::file::properties::WriterVersion::PARQUET_2_0)
                    .build(),
            ),
        ),
        (
            "delta",
            make(
                base()
                    .set_dictionary_enabled(false)
                    .set_column_encoding(
                        parquet::schema::types::ColumnPath::from("key"),
                        parquet::basic::Encoding::DELTA_BYTE_ARRAY,
                    )
                    .build(),
            ),
        ),
    ]
}

/// A small seeded generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `base` with 1 to 4 bytes changed (a bit flipped, a random byte, or 0x00/0xff), half
/// the time in the footer.
fn flipped(base: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut file = base.to_vec();
    let n = file.len();
    let footer_len = u32::from_le_bytes(file[n - 8..n - 4].try_into().unwrap()) as usize;
    let footer_start = n - 8 - footer_len;
    for _ in 0..1 + rng.below(4) {
        let at = if rng.below(2) == 0 {
            4 + rng.below(footer_start - 4)
        } else {
            footer_start + rng.below(footer_len)
        };
        file[at] = match rng.below(4) {
            0 => file[at] ^ (1 << rng.below(8)),
            1 => rng.next() as u8,
            2 => 0xff,
            _ => 0x00,
        };
    }
    file
}

/// The child of `fuzz_byte_flips_never_panic_nor_exceed_the_bound`: run in a process of
/// its own under a 4 GiB address-space limit, so an allocation the library asks for past
/// that aborts the child, not the machine. Prints one line per failing case.
#[test]
#[ignore = "run by fuzz_byte_flips_never_panic_nor_exceed_the_bound in a limited process"]
fn fuzz_child() {
    let Ok(cases) = std::env::var("ADV_FUZZ_CASES") else {
        return;
    };
    let cases: usize = cases.parse().unwrap();
    let seed: u64 = std::env::var("ADV_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2024);
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    std::panic::set_hook(Box::new(|_| {}));
    let rt = runtime();
    let bases = fuzz_bases();
    let mut rng = Rng(seed);
    let mut failures = 0;
    let (mut worst_peak, mut slowest) = (0usize, Duration::ZERO);
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for case in 0..cases {
        let (name, base) = &bases[case % bases.len()];
        let file = flipped(base, &mut rng);
        eprintln!("case {case} ({name}) starting");
        let store = rt.block_on(s3_parquet(file.clone()));
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read(&rt, store, "inv/manifest.json")
        }));
        let took = started.elapsed();
        slowest = slowest.max(took);
        match outcome {
            Ok((result, peak)) => {
                worst_peak = worst_peak.max(peak);
                let kind = match &result {
                    Ok(_) => "ok".to_string(),
                    Err(e) => {
                        let e = e.to_string();
                        let at = e.find(".parquet`: ").map_or(0, |i| i + 11);
                        e[at..].chars().take(70).collect()
                    }
                };
                *outcomes.entry(kind).or_default() += 1;
                if peak >= 256 * MIB || took > Duration::from_secs(5) {
                    failures += 1;
                    println!(
                        "FAIL case {case} ({name}): peak {} MiB, {took:?}: {}",
                        peak / MIB,
                        message_of(&result)
                    );
                }
            }
            Err(panic) => {
                failures += 1;
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("FAIL case {case} ({name}): panicked: {text}");
                std::fs::write(format!("/tmp/adv-fuzz-panic-{case}.parquet"), &file).ok();
            }
        }
    }
    println!(
        "SUMMARY {cases} cases, {failures} failures, worst peak {} KiB, slowest {slowest:?}",
        worst_peak >> 10
    );
    let top: Vec<_> = outcomes.into_iter().collect();
    let mut top = top;
    top.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    for (kind, n) in top.iter().take(12) {
        println!("  {n:5} {kind}");
    }
    assert_eq!(failures, 0);
}

/// Seeded byte flips of four valid files (pages and footer), 3,000 cases (set
/// `ADV_FUZZ_CASES`, `ADV_FUZZ_SEED`): no panic, no abort, each under 256 MiB and 5 s.
#[test]
fn fuzz_byte_flips_never_panic_nor_exceed_the_bound() {
    let cases = std::env::var("ADV_FUZZ_CASES").unwrap_or_else(|_| "3000".to_string());
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" --exact fuzz_child --ignored --nocapture --test-threads 1")
        .arg(exe)
        .env("ADV_FUZZ_CASES", cases)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("FAIL case") || l.starts_with("SUMMARY") || l.starts_with("  "))
        .collect();
    eprintln!("{}", report.join("\n"));
    let last_case = stderr
        .lines()
        .rfind(|l| l.starts_with("case "))
        .unwrap_or("none");
    assert!(
        out.status.success(),
        "the fuzz child ended with {} (last: {last_case}; stderr ends: {})\n{}",
        out.status,
        stderr
            .lines()
            .filter(|l| !l.starts_with("case "))
            .collect::<Vec<_>>()
            .join("\n")
            .chars()
            .rev()
            .take(600)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>(),
        report.join("\n")
    );
}

/// Reads the file at `ADV_REPRO` (a case the fuzz saved), for a backtrace.
#[test]
#[ignore = "a helper: ADV_REPRO=/tmp/adv-fuzz-panic-N.parquet"]
fn repro_file() {
    let Ok(path) = std::env::var("ADV_REPRO") else {
        return;
    };
    let rt = runtime();
    let store = rt.block_on(s3_parquet(std::fs::read(path).unwrap()));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    eprintln!("peak {} KiB: {}", peak >> 10, message_of(&result));
}

// ---- finding: panics ----

fn assert_no_panic(rt: &tokio::runtime::Runtime, file: Vec<u8>) {
    let store = rt.block_on(s3_parquet(file));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read(rt, store, "inv/manifest.json")
    }));
    match outcome {
        Ok((result, peak)) => eprintln!("peak {} KiB: {}", peak >> 10, message_of(&result)),
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("reading panicked: {text}");
        }
    }
}

/// A footer whose key column chunk has `total_compressed_size` -1. `Checked::fetch`
/// calls `ColumnChunkMetaData::byte_range`, which asserts ("column start and length
/// should not be negative"): the read panics instead of failing the file. (Found by the
/// fuzz above: 10 of 3,000 byte flips.)
#[test]
fn a_negative_chunk_length_in_the_footer_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let file = file_of(&template(vec![]), &[(1, honest("k", 1))]);
    let file = with_footer(file, |c| {
        if c.column_type() == parquet::basic::Type::BYTE_ARRAY {
            c.into_builder()
                .set_total_compressed_size(-1)
                .build()
                .unwrap()
        } else {
            c
        }
    });
    assert_no_panic(&rt, file);
}

/// A nullable key column whose v1 data page's definition levels (4-byte length 1, then
/// 0x03: a bit-packed run of 8 levels) end before the run's byte, then 8 dictionary
/// indexes. `walk` checks sizes
/// only; the parquet crate's `PackedDecoder::read` slices past the levels and
/// arrow-buffer panics ("offset + len out of bounds", `bit_chunk_iterator.rs`). Found by
/// the fuzz (a flipped first level byte of a v2 page).
#[test]
fn definition_levels_cut_inside_a_bit_packed_run_panic() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut body = 1u32.to_le_bytes().to_vec();
    body.push(0x03);
    body.extend(one_run(8));
    let mut key = page(DICTIONARY, 1, PLAIN, &text("k"), Codec::None);
    key.extend(page(DATA, 8, RLE_DICTIONARY, &body, Codec::None));
    let mut chunks = honest("k", 8);
    chunks[0] = (key, Codec::None);
    let file = file_of(&template_with(true, vec![]), &[(8, chunks)]);
    assert_no_panic(&rt, file);
}

/// The size column (INT64) with a data page of 2 values encoded BYTE_STREAM_SPLIT (9)
/// whose body is 8 bytes, not 16. The parquet crate's `join_streams_const` indexes past
/// it: "index out of bounds: the len is 8 but the index is 8"
/// (`byte_stream_split_decoder.rs:67`). Found by the fuzz (a page's encoding 8 -> 9).
#[test]
fn a_short_byte_stream_split_page_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut chunks = honest("k", 2);
    chunks[1] = (page(DATA, 2, 9, &int64(1), Codec::None), Codec::None);
    let file = file_of(&template(vec![]), &[(2, chunks)]);
    assert_no_panic(&rt, file);
}

/// The size column (INT64) with a data page encoded RLE_DICTIONARY and no dictionary
/// page. `text_cost` refuses a dictionary index without a dictionary, but only for text
/// columns: `leaf_costs` costs fixed-width columns without looking at the encoding
/// (`Some(length) => pages::Cost { per_row: length, .. }`), and the parquet crate
/// panics: "Decoder for dict should have been set" (`column/reader/decoder.rs:374`).
/// Found by the fuzz (seeds 1 and 2).
#[test]
fn an_int64_page_indexing_a_missing_dictionary_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut chunks = honest("k", 1);
    chunks[1] = (
        page(DATA, 1, RLE_DICTIONARY, &one_run(1), Codec::None),
        Codec::None,
    );
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    assert_no_panic(&rt, file);
}

/// A key data page whose RLE_DICTIONARY body is a bit width and then 12 bytes of 0xff: a
/// run header longer than a varint can be. The parquet crate's `BitReader::get_vlq_int`
/// asserts on it ("Num of bytes exceed MAX_VLQ_BYTE_LEN (10)"; a debug build panics a
/// byte earlier: "attempt to shift left with overflow", `util/bit_util.rs:1187`).
/// Found by the fuzz (seed 2).
#[test]
fn an_rle_run_header_longer_than_a_varint_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let mut body = vec![1u8];
    body.extend([0xff; 12]);
    let mut key = page(DICTIONARY, 1, PLAIN, &text("k"), Codec::None);
    key.extend(page(DATA, 1, RLE_DICTIONARY, &body, Codec::None));
    let mut chunks = honest("k", 1);
    chunks[0] = (key, Codec::None);
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    assert_no_panic(&rt, file);
}

/// A key page, DELTA_BYTE_ARRAY, of one value whose suffix length is -1. The parquet
/// crate's `DeltaByteArrayDecoder::read` takes it `as usize` and adds it to its offset:
/// "attempt to add with overflow" in a debug build (`delta_byte_array.rs:95`); in a
/// release build the sum wraps past the bounds check and the slice that follows panics.
/// (DELTA_LENGTH_BYTE_ARRAY checks for negative lengths; this does not.) Found by the
/// fuzz (seed 4).
#[test]
fn a_negative_delta_byte_array_suffix_length_panics() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    // Prefix lengths: one value, 0. Suffix lengths: one value, -1 (zigzag 1).
    let mut body = vec![0x80, 0x01, 0x01, 0x01, 0x00];
    body.extend([0x80, 0x01, 0x01, 0x01, 0x01]);
    body.extend(b"kkkk");
    let mut chunks = honest("k", 1);
    chunks[0] = (
        page(DATA, 1, DELTA_BYTE_ARRAY, &body, Codec::None),
        Codec::None,
    );
    let file = file_of(&template(vec![]), &[(1, chunks)]);
    assert_no_panic(&rt, file);
}

// ---- measures: attacks that did not break a bound ----

/// Header variants where `walk` and the parquet crate could disagree: each is refused
/// by `walk`, or read at a cost the batch bound counts. Prints each outcome and peak.
#[test]
fn measure_header_variants_are_refused_or_costed() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let long = "v".repeat(60 << 10);
    let run = one_run(8192);
    let mut variants: Vec<(&str, Vec<u8>)> = Vec::new();
    // A v1 page type carrying a v2 sub-header.
    let mut c = Compact::new();
    c.i32(1, DATA)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(8)
        .i32(1, 8192)
        .i32(2, 0)
        .i32(3, 8192)
        .i32(4, RLE_DICTIONARY)
        .i32(5, 0)
        .i32(6, 0)
        .end();
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("v1 type, v2 sub-header", v));
    // Both a v1 and a v2 sub-header.
    let mut c = Compact::new();
    c.i32(1, DATA)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(5)
        .i32(1, 1)
        .i32(2, RLE_DICTIONARY)
        .i32(3, RLE)
        .i32(4, RLE)
        .end();
    c.begin(8)
        .i32(1, 8192)
        .i32(2, 0)
        .i32(3, 8192)
        .i32(4, RLE_DICTIONARY)
        .i32(5, 0)
        .i32(6, 0)
        .end();
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("v1 and v2 sub-headers", v));
    // num_values given twice (1, then 8192).
    let mut c = Compact::new();
    c.i32(1, DATA)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(5)
        .i32(1, 1)
        .i32(2, RLE_DICTIONARY)
        .i32(3, RLE)
        .i32(4, RLE);
    // field 1 again: a long-form field id.
    c.out.push(5);
    c.varint(2);
    c.varint(16384);
    c.end();
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("num_values twice", v));
    // Unknown fields (a struct at 9, a long-form id 100) around an honest page.
    let mut c = Compact::new();
    c.i32(1, DATA)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(5)
        .i32(1, 8192)
        .i32(2, RLE_DICTIONARY)
        .i32(3, RLE)
        .i32(4, RLE)
        .end();
    c.begin(9).i32(1, 7).end();
    c.i32(100, 1);
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("unknown fields, 60 KiB dictionary", v));
    // A data page before the dictionary page.
    let mut v = page(DATA, 8192, RLE_DICTIONARY, &run, Codec::None);
    v.extend(page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None));
    variants.push(("dictionary page second", v));
    // A small dictionary, a page, a second (60 KiB) dictionary, a page.
    let half = one_run(4096);
    let mut v = page(DICTIONARY, 1, PLAIN, &text("k"), Codec::None);
    v.extend(page(DATA, 4096, RLE_DICTIONARY, &half, Codec::None));
    v.extend(page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None));
    v.extend(page(DATA, 4096, RLE_DICTIONARY, &half, Codec::None));
    variants.push(("a second, longer dictionary", v));
    // v2, is_compressed false, in a GZIP chunk (a plain body): neither inflates it.
    let mut c = Compact::new();
    c.i32(1, 3)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(8)
        .i32(1, 8192)
        .i32(2, 0)
        .i32(3, 8192)
        .i32(4, RLE_DICTIONARY)
        .i32(5, 0)
        .i32(6, 0);
    c.bool(7, false).end();
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::Gzip);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("v2 uncompressed body in a gzip chunk", v));
    // v2 levels longer than the page.
    let mut c = Compact::new();
    c.i32(1, 3)
        .i32(2, run.len() as i32)
        .i32(3, run.len() as i32);
    c.begin(8)
        .i32(1, 8192)
        .i32(2, 0)
        .i32(3, 8192)
        .i32(4, RLE_DICTIONARY)
        .i32(5, 1000)
        .i32(6, 0)
        .end();
    c.out.push(0);
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::None);
    v.extend(c.out);
    v.extend(&run);
    variants.push(("v2 levels past the page", v));
    // A gzip body of two members: 1 byte declared, 16 MiB in the second member.
    let mut members = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&run).unwrap();
        gz.finish().unwrap()
    };
    members.extend({
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&vec![0u8; 16 << 20]).unwrap();
        gz.finish().unwrap()
    });
    let mut v = page(DICTIONARY, 1, PLAIN, &text(&long), Codec::Gzip);
    v.extend(header(
        DATA,
        run.len() as i32,
        members.len() as i32,
        8192,
        RLE_DICTIONARY,
    ));
    v.extend(&members);
    variants.push(("gzip page of two members, the second 16 MiB", v));
    // Index page (type 1).
    let mut c = Compact::new();
    c.i32(1, 1).i32(2, 0).i32(3, 0);
    c.begin(6).end();
    c.out.push(0);
    let mut v = c.out;
    v.extend(constant(&text(&long), 8192, Codec::None));
    variants.push(("an index page first", v));
    // A page body past the chunk's end.
    let mut v = page(DICTIONARY, 1, PLAIN, &text("k"), Codec::None);
    v.extend(header(DATA, 1000, 1000, 8192, RLE_DICTIONARY));
    v.extend(&run);
    variants.push(("a body past the chunk", v));
    for (name, key) in variants {
        let codec = if name.contains("gzip") {
            Codec::Gzip
        } else {
            Codec::None
        };
        let mut chunks = honest("k", 8192);
        chunks[0] = (key, codec);
        let file = file_of(&template(vec![]), &[(8192, chunks)]);
        let store = rt.block_on(s3_parquet(file));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read(&rt, store, "inv/manifest.json")
        }));
        let (result, peak) = outcome.unwrap_or_else(|_| panic!("{name}: panicked"));
        let message = message_of(&result);
        eprintln!(
            "{name}: peak {} MiB: {}",
            peak / MIB,
            &message[..message.len().min(200)]
        );
        assert!(peak < 256 * MIB, "{name}: peak {} MiB", peak / MIB);
    }
}

/// Seconds a MiB, for the figures below.
fn per_mib(took: Duration, bytes: usize) -> f64 {
    took.as_secs_f64() / (bytes as f64 / MIB as f64)
}

/// GZIP page bombs within every bound: 128 key pages of one value and 16 MiB of zeros
/// (16 KB each gzipped). `walk` inflates each to check its size, then the parquet crate
/// inflates it again: linear, with the constant of gzip's ratio.
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_gzip_page_bombs() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let pages = 128;
    let mut key = Vec::new();
    for i in 0..pages {
        let mut body = text(&format!("a/{i}"));
        body.resize((16 << 20) - 4096, 0);
        key.extend(page(DATA, 1, PLAIN, &body, Codec::Gzip));
    }
    let mut chunks = honest("k", pages as u64);
    chunks[0] = (key, Codec::Gzip);
    let file = file_of(&template(vec![]), &[(pages, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "gzip bombs: {size} bytes ({pages} pages of 16 MiB), {took:?} ({:.1} s/MiB), peak {} MiB: {}",
        per_mib(took, size),
        peak / MIB,
        message_of(&result)
    );
}

/// The rows-per-byte bound at its limit: a file of 4 MiB (mostly padding) declaring and
/// holding 16 rows a byte, 67 million rows of one key, with a nullable storage class
/// that is null in every row (one RLE run of definition levels).
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_sixteen_rows_a_byte() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let size_target = 4 << 20;
    let rows = 16 * size_target as u64 - 100_000;
    let template = template(vec![Field::new("storage_class", DataType::Utf8, true)]);
    let mut chunks = honest("a/b", rows);
    let mut levels = Compact::new();
    levels.varint(rows << 1);
    levels.out.push(0);
    let mut body = (levels.out.len() as u32).to_le_bytes().to_vec();
    body.extend(levels.out);
    chunks.push((
        page(DATA, rows as i32, PLAIN, &body, Codec::None),
        Codec::None,
    ));
    // Padding: a fourth row group's worth of bytes no footer entry points at.
    let mut file = file_of(&template, &[(rows as i64, chunks)]);
    let footer_len = u32::from_le_bytes(file[file.len() - 8..file.len() - 4].try_into().unwrap());
    let footer_start = file.len() - 8 - footer_len as usize;
    let tail = file.split_off(footer_start);
    file.resize(size_target - tail.len(), 0);
    file.extend(tail);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "16 rows a byte: {size} bytes, {rows} rows, {took:?} ({:.2} s/MiB, {:.0} ns a row), \
         peak {} MiB: {}",
        per_mib(took, size),
        took.as_nanos() as f64 / rows as f64,
        peak / MIB,
        message_of(&result)
    );
}

/// For scale: an honest report written by the parquet crate (1 million rows, distinct
/// 30-byte keys, SNAPPY, dictionaries where the writer chose them).
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_an_honest_report() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let rows = 1_000_000;
    let keys: Vec<String> = (0..rows)
        .map(|i| format!("dir{:02}/sub{}/file-{i:08}.dat", i % 100, i % 7))
        .collect();
    let classes: Vec<&str> = (0..rows).map(|i| ["STANDARD", "GLACIER"][i % 2]).collect();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let file = parquet_file(
        Arc::new(arrow_array::StringArray::from(keys)),
        Some(Arc::new(arrow_array::StringArray::from(classes))),
        props,
    );
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "honest report: {size} bytes, {rows} rows, {took:?} ({:.2} s/MiB, {:.0} ns a row), \
         peak {} MiB: {}",
        per_mib(took, size),
        took.as_nanos() as f64 / rows as f64,
        peak / MIB,
        message_of(&result)
    );
}

/// The shared-chunk finding in a release build: the time a row group of 0 rows costs
/// when its key chunk is one 16 MiB gzip page, 1 row group against 50.
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_shared_chunk_per_row_group() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let template = template(vec![]);
    let mut data = b"PAR1".to_vec();
    let mut body = text("k");
    body.resize(16 << 20, 0);
    let bomb = page(DATA, 1, PLAIN, &body, Codec::Gzip);
    let mut ats = vec![At {
        start: 4,
        len: bomb.len() as u64,
        codec: Codec::Gzip,
    }];
    data.extend(bomb);
    for (chunk, _) in honest("k", 1).into_iter().skip(1) {
        ats.push(At {
            start: data.len() as u64,
            len: chunk.len() as u64,
            codec: Codec::None,
        });
        data.extend(chunk);
    }
    for count in [1usize, 50] {
        let groups: Vec<(i64, Vec<At>)> = (0..count).map(|_| (0, ats.clone())).collect();
        let file = assemble(&template, data.clone(), &groups);
        let size = file.len();
        let store = rt.block_on(s3_parquet(file));
        let started = Instant::now();
        let (result, _) = read(&rt, store, "inv/manifest.json");
        let took = started.elapsed();
        eprintln!(
            "shared chunk: {count} row groups, {size} bytes: {took:?} ({:?} a row group): {}",
            took / count as u32,
            message_of(&result)
        );
    }
}

/// Six columns read, each a 16 MiB dictionary page and a 16 MiB data page (gzip: the
/// file is 200 KB): the parquet crate holds each column's decoded dictionary and
/// inflated data page at once.
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_six_columns_of_16_mib_pages() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let template = {
        let fields = vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("size", DataType::Int64, false),
            Field::new("last_modified_date", DataType::Int64, false),
            Field::new("storage_class", DataType::Utf8, false),
            Field::new("is_latest", DataType::Utf8, false),
            Field::new("is_delete_marker", DataType::Utf8, false),
        ];
        let schema = Arc::new(Schema::new(fields));
        let props = WriterProperties::builder()
            .set_statistics_enabled(EnabledStatistics::None)
            .set_dictionary_enabled(false)
            .build();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(arrow_array::StringArray::from(vec!["k"])),
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(Int64Array::from(vec![1])),
            Arc::new(arrow_array::StringArray::from(vec!["STANDARD"])),
            Arc::new(arrow_array::StringArray::from(vec!["true"])),
            Arc::new(arrow_array::StringArray::from(vec!["false"])),
        ];
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, Arc::clone(&schema), Some(props)).unwrap();
        w.write(&RecordBatch::try_new(schema, columns).unwrap())
            .unwrap();
        w.close().unwrap();
        out
    };
    let rows = 8192u64;
    let mut data_page = one_run(rows);
    data_page.resize(16 << 20, 0);
    let text_dictionary = {
        // 4 million empty values, then the one used.
        let mut d = vec![0u8; (16 << 20) - 16];
        d.extend(text("true"));
        d
    };
    let int_dictionary = vec![0u8; 16 << 20];
    let mut chunks = Vec::new();
    for (dictionary, values) in [
        (&text_dictionary, (text_dictionary.len() / 4) as i32 - 2),
        (&int_dictionary, (16 << 20) / 8),
        (&int_dictionary, (16 << 20) / 8),
        (&text_dictionary, (text_dictionary.len() / 4) as i32 - 2),
        (&text_dictionary, (text_dictionary.len() / 4) as i32 - 2),
        (&text_dictionary, (text_dictionary.len() / 4) as i32 - 2),
    ] {
        let mut chunk = page(DICTIONARY, values, PLAIN, dictionary, Codec::Gzip);
        chunk.extend(page(
            DATA,
            rows as i32,
            RLE_DICTIONARY,
            &data_page,
            Codec::Gzip,
        ));
        chunks.push((chunk, Codec::Gzip));
    }
    let file = file_of(&template, &[(rows as i64, chunks)]);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    eprintln!(
        "six columns of 16 MiB pages: {size} bytes, {:?}, peak {} MiB: {}",
        started.elapsed(),
        peak / MIB,
        message_of(&result)
    );
}

// ---- measures: CSV and manifests ----

const S3_CSV_SCHEMA: &str = "Bucket, Key, Size, LastModifiedDate, ETag";

/// An S3 CSV report of one gzip file, `gz`.
async fn s3_csv(gz: Vec<u8>) -> Arc<InMemory> {
    let store = InMemory::new();
    let size = gz.len();
    put(&store, "inv/data/part-0.csv.gz", gz).await;
    let manifest = s3_manifest("CSV", S3_CSV_SCHEMA, &[("inv/data/part-0.csv.gz", size)]);
    put(&store, "inv/manifest.json", manifest).await;
    Arc::new(store)
}

/// A CSV gzip bomb of valid rows: 1,024 rows, each with a 1 MiB - 200 bytes ETag (just
/// under the row limit), each row a gzip member of its own (about 1 KB): 1 MiB of file,
/// 1 GiB inflated and parsed.
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_csv_gzip_bomb_of_rows_just_under_the_limit() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let etag = "x".repeat((1 << 20) - 200);
    let mut gz = Vec::new();
    let rows = 1024;
    for i in 0..rows {
        let line = format!("\"b\",\"d/k{i}\",\"1\",\"2023-11-14T22:13:20.000Z\",\"{etag}\"\n");
        let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        member.write_all(line.as_bytes()).unwrap();
        gz.extend(member.finish().unwrap());
    }
    let size = gz.len();
    let store = rt.block_on(s3_csv(gz));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "CSV bomb: {size} bytes, {rows} rows of 1 MiB, {took:?} ({:.1} s/MiB), peak {} MiB: {}",
        per_mib(took, size),
        peak / MIB,
        message_of(&result)
    );
    assert_eq!(result.unwrap().objects, rows);
}

/// A manifest at the file limit: 100,000 files of one row each (60 bytes gzipped).
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_a_manifest_of_100000_tiny_files() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let store = InMemory::new();
    let files = 100_000;
    let mut listed = Vec::new();
    rt.block_on(async {
        for i in 0..files {
            let line = format!("\"b\",\"d/k{i}\",\"1\",\"2023-11-14T22:13:20.000Z\",\"e\"\n");
            let gz = gzip(&[line.as_bytes()]);
            let key = format!("inv/data/part-{i}.csv.gz");
            listed.push((key.clone(), gz.len()));
            put(&store, &key, gz).await;
        }
        let refs: Vec<(&str, usize)> = listed.iter().map(|(k, s)| (k.as_str(), *s)).collect();
        put(
            &store,
            "inv/manifest.json",
            s3_manifest("CSV", S3_CSV_SCHEMA, &refs),
        )
        .await;
    });
    let started = Instant::now();
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "100,000 tiny files: {took:?}, peak {} MiB: {}",
        peak / MIB,
        message_of(&result)
    );
}

/// A 64 MiB manifest listing 100,000 files with 640-byte keys, none of which exists;
/// then 100,000 and one (refused while parsing); then 64 MiB of nested arrays.
#[test]
fn measure_manifests_at_their_limits() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let long = "d".repeat(630);
    for (what, count) in [
        ("100,000 long keys, missing", 100_000),
        ("100,001", 100_001),
    ] {
        let store = InMemory::new();
        let mut json = String::from(
            "{\"sourceBucket\":\"src\",\"fileFormat\":\"CSV\",\"fileSchema\":\"Bucket, Key, Size, \
             LastModifiedDate\",\"files\":[",
        );
        for i in 0..count {
            if i > 0 {
                json.push(',');
            }
            json.push_str(&format!("{{\"key\":\"inv/{long}/{i:07}\",\"size\":1}}"));
        }
        json.push_str("]}");
        let size = json.len();
        rt.block_on(put(&store, "inv/manifest.json", json.into_bytes()));
        let started = Instant::now();
        let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
        eprintln!(
            "manifest of {what}: {} MiB, {:?}, peak {} MiB: {}",
            size / MIB,
            started.elapsed(),
            peak / MIB,
            message_of(&result)
        );
        assert!(peak < 256 * MIB);
    }
    for (what, json) in [
        (
            "nested arrays in an unknown field",
            format!(
                "{{\"fileFormat\":\"CSV\",\"files\":[],\"x\":{}{}}}",
                "[".repeat(30 << 20),
                "]".repeat(30 << 20)
            ),
        ),
        (
            "nested arrays as the files",
            format!(
                "{{\"fileFormat\":\"CSV\",\"files\":{}{}}}",
                "[".repeat(30 << 20),
                "]".repeat(30 << 20)
            ),
        ),
    ] {
        let store = InMemory::new();
        let size = json.len();
        rt.block_on(put(&store, "inv/manifest.json", json.into_bytes()));
        let started = Instant::now();
        let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
        eprintln!(
            "manifest of {what}: {} MiB, {:?}, peak {} MiB: {}",
            size / MIB,
            started.elapsed(),
            peak / MIB,
            message_of(&result)
        );
        assert!(peak < 256 * MIB);
    }
}

/// A footer near its 16 MiB limit: about 130,000 row groups of 0 rows whose chunks are
/// all the same three tiny honest chunks. The footer's decoded form (the parquet crate's
/// `ParquetMetaData`) and the per-row-group work (fetch, walk, a stream built and run).
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_a_16_mib_footer_of_empty_row_groups() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    eprintln!(
        "size_of ColumnChunkMetaData {} RowGroupMetaData {}",
        std::mem::size_of::<parquet::file::metadata::ColumnChunkMetaData>(),
        std::mem::size_of::<parquet::file::metadata::RowGroupMetaData>()
    );
    let template = template(vec![]);
    let mut data = b"PAR1".to_vec();
    let mut ats = Vec::new();
    for (chunk, _) in honest("k", 1) {
        ats.push(At {
            start: data.len() as u64,
            len: chunk.len() as u64,
            codec: Codec::None,
        });
        data.extend(chunk);
    }
    let count: usize = std::env::var("ADV_ROW_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(130_000);
    let groups: Vec<(i64, Vec<At>)> = (0..count).map(|_| (0, ats.clone())).collect();
    let file = assemble(&template, data, &groups);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "{count} empty row groups: {size} bytes, {took:?} ({:?} a row group), peak {} MiB: {}",
        took / count as u32,
        peak / MIB,
        message_of(&result)
    );
}

/// The same number of row groups, each with 1 honest row of its own (distinct chunks).
#[test]
#[ignore = "slow in a debug build: run with --release"]
fn measure_many_one_row_row_groups() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let count: usize = std::env::var("ADV_ROW_GROUPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let groups: Vec<Group> = (0..count)
        .map(|i| (1, honest(&format!("d/k{i}"), 1)))
        .collect();
    let file = file_of(&template(vec![]), &groups);
    let size = file.len();
    let store = rt.block_on(s3_parquet(file));
    let started = Instant::now();
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let took = started.elapsed();
    eprintln!(
        "{count} one-row row groups: {size} bytes, {took:?} ({:.2} s/MiB, {:?} a row group), \
         peak {} MiB: {}",
        per_mib(took, size),
        took / count as u32,
        peak / MIB,
        message_of(&result)
    );
}
