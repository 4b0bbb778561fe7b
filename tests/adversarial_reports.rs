//! Adversarial review of issue 24 items 1-3 (hostile reports): each test reproduces a way
//! past the bounds added, and failed on `main` at ae828cb (the last three at 90fc0bd). The two error-echo tests pass
//! since excerpts and column lists are bounded; the two footer tests since the batch bound
//! comes from the page headers walked on the bytes decoded, not from the footer.
#![cfg(feature = "reports")]

mod reports_support;
use reports_support::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

use arrow_array::{types::Int32Type, StringArray};
use arrow_array::{ArrayRef, DictionaryArray, Int32Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use object_store::memory::InMemory;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use std::sync::Arc;

// ---- finding 1: the dictionary check trusts the footer ----

/// The item 2 (one long dictionary value repeated over many rows) with one edit
/// to the footer: the key column's chunk says it has no dictionary page
/// (`dictionary_page_offset` unset) and its data starts where the dictionary page is.
/// `batch_rows` then reads no dictionary (longest value 0, batches of 8,192 rows), while
/// the parquet crate still reads the dictionary page at the start of the chunk and
/// expands it: the bound is bypassed and a file of a few KB decodes to hundreds of MB
/// per batch (the 1.65 GB per file again, with a larger value or more rows).
/// Why it matters: the attacker writes the footer too; a check that believes it bounds
/// nothing.
#[test]
fn a_dictionary_hidden_from_the_footer_is_still_checked() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let value: ArrayRef = Arc::new(StringArray::from(vec!["v".repeat(100 << 10)]));
    let keys =
        DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0; 4_000]), value).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    let file = parquet_file(Arc::new(keys), None, props);
    let file = with_footer(file, |c| match c.dictionary_page_offset() {
        Some(dict) => c
            .into_builder()
            .set_dictionary_page_offset(None)
            .set_data_page_offset(dict)
            .build()
            .unwrap(),
        None => c,
    });
    eprintln!("file {} bytes", file.len());
    assert!(file.len() < 64 << 10, "{} bytes", file.len());
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{message}");
    assert!(peak < 32 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// The same with DELTA_BYTE_ARRAY: every value shares the whole of the previous one
/// (a few bits each), and the footer's encodings list leaves DELTA_BYTE_ARRAY out, so
/// `batch_rows` counts the column at 0 bytes a row (it only looks at the chunk's size
/// when the footer names the encoding). Same expansion, no dictionary at all.
#[test]
fn delta_byte_array_hidden_from_the_footer_is_still_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let keys: ArrayRef = Arc::new(StringArray::from(vec!["v".repeat(100 << 10); 4_000]));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::None)
        .set_dictionary_enabled(false)
        .set_column_encoding(
            parquet::schema::types::ColumnPath::from("key"),
            parquet::basic::Encoding::DELTA_BYTE_ARRAY,
        )
        .build();
    let file = parquet_file(keys, None, props);
    let file = with_footer(file, |c| {
        if c.column_type() == parquet::basic::Type::BYTE_ARRAY {
            c.into_builder()
                .set_encodings(vec![parquet::basic::Encoding::PLAIN])
                .build()
                .unwrap()
        } else {
            c
        }
    });
    eprintln!("file {} bytes", file.len());
    assert!(file.len() < 256 << 10, "{} bytes", file.len());
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("{message}");
    assert!(peak < 32 * MIB, "peak {} MiB ({message})", peak / MIB);
}

fn reports_excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}

// ---- finding 2: a Parquet date echoed whole in the error ----

/// A Parquet report whose `last_modified_date` is a string column holding one 4 MiB
/// PLAIN value (no dictionary: no value bound applies) with terminal escapes in it:
/// `Time::get` says "`{text}` is not a date" with the whole value, unlike the CSV path
/// and every other message (`excerpt(.., 64)`). A 4 MiB error, with raw ESC, on stderr.
#[test]
fn a_parquet_date_is_echoed_whole_in_its_error() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let date = format!("\x1b]0;owned\x07\x1b[2J{}", "x".repeat(4 << 20));
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("size", DataType::Int64, true),
        Field::new("last_modified_date", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["k"])),
        Arc::new(Int64Array::from(vec![1])),
        Arc::new(StringArray::from(vec![date])),
    ];
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::SNAPPY)
        .build();
    let mut file = Vec::new();
    let mut w = ArrowWriter::try_new(&mut file, Arc::clone(&schema), Some(props)).unwrap();
    w.write(&RecordBatch::try_new(schema, columns).unwrap())
        .unwrap();
    w.close().unwrap();
    let store = rt.block_on(s3_parquet(file));
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    assert!(
        message.len() < 64 << 10 && !message.contains('\x1b'),
        "a {} byte error; raw ESC: {}",
        message.len(),
        message.contains('\x1b')
    );
}

// ---- finding 3: a CSV header echoed whole ----

/// A CSV report with a header (GCS) whose header is 1 MiB of one-byte columns and none
/// of the required ones: the error lists every column name (`{seen:?}`), a multi-MB
/// message (the Parquet path does the same with its field names, up to a 4 MiB footer).
#[test]
fn a_csv_header_is_echoed_whole_in_its_error() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let header = "a,".repeat(500_000) + "a\n";
    let store = InMemory::new();
    let data = gzip(&[header.as_bytes()]);
    rt.block_on(async {
        put(&store, "inv/shard-0.csv", data).await;
        let manifest = serde_json::to_vec(&serde_json::json!({
            "report_config": {"csvOptions": {"headerRequired": true}},
            "records_processed": 0,
            "snapshot_time": "2024-01-01T00:00:00Z",
            "shard_count": 1,
            "report_shards_file_names": ["shard-0.csv"],
        }))
        .unwrap();
        put(&store, "inv/manifest.json", manifest).await;
    });
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let message = error_text(&result);
    eprintln!(
        "header error: {} bytes: {}",
        message.len(),
        reports_excerpt(&message)
    );
    assert!(
        message.len() < 64 << 10,
        "a {} byte error (peak {} MiB): {}",
        message.len(),
        peak / MIB,
        reports_excerpt(&message)
    );
}

// ---- a second review: what each byte of a manifest, a tally and a footer can cost ----

/// An S3 manifest (CSV) whose `fileSchema` is 60 MiB of commas: under the manifest's
/// 64 MiB limit, and split into 60 million empty column names it took 5.9 GB. Refused
/// while it is parsed, naming the key.
#[test]
fn a_huge_file_schema_is_refused_before_it_is_split() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let schema = ",".repeat(60 << 20);
    let store = InMemory::new();
    rt.block_on(async {
        put(&store, "inv/data/part-0.csv.gz", gzip(&[b"x"])).await;
        let manifest = s3_manifest("CSV", &schema, &[("inv/data/part-0.csv.gz", 21)]);
        put(&store, "inv/manifest.json", manifest).await;
    });
    drop(schema);
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let message = error_text(&result);
    eprintln!("peak {} MiB: {}", peak / MIB, reports_excerpt(&message));
    assert!(message.contains("fileSchema"), "{message}");
    assert!(peak < 128 * MIB, "peak {} MiB", peak / MIB);
}

/// Two CSV files of 60,000 rows each whose keys start with a distinct 1,000-byte folder:
/// two prefixes a row at depth 2, each a kilobyte. The tally's bound counted prefixes
/// (65,536 per reader, a million shared), not their bytes: 265 MiB for 1.3 MB of gzip
/// (75 MiB now).
/// Now the names are bounded too, and the breakdown says what it did not track.
#[test]
fn long_prefixes_are_bounded_by_their_bytes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let rows = 60_000;
    let store = InMemory::new();
    let mut files = Vec::new();
    rt.block_on(async {
        for part in 0..2 {
            let mut csv = String::with_capacity(rows * 1_100);
            for i in 0..rows {
                csv.push_str(&format!(
                    "\"src\",\"{part}{i:0>999}/sub/k\",\"10\",\"2026-11-20T00:00:00.000Z\"\n"
                ));
            }
            let gz = gzip(&[csv.as_bytes()]);
            let key = format!("inv/data/part-{part}.csv.gz");
            files.push((key.clone(), gz.len()));
            put(&store, &key, gz).await;
        }
        let files: Vec<(&str, usize)> = files.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        let manifest = s3_manifest("CSV", "Bucket, Key, Size, LastModifiedDate", &files);
        put(&store, "inv/manifest.json", manifest).await;
    });
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let report = result.unwrap();
    eprintln!("peak {} MiB", peak / MIB);
    assert_eq!(report.objects, 2 * rows as u64);
    assert!(
        !report.prefixes.is_exact(),
        "past the name bound: untracked"
    );
    assert!(peak < 128 * MIB, "peak {} MiB", peak / MIB);
}

/// A Parquet file whose footer (3.5 MB, under the 4 MiB footer limit) declares 500,000
/// columns of a byte or so each: the parquet crate decoded every schema element (and the
/// Arrow schema made of them) before anything looked at a page, 215 MiB for one file.
/// The footer is walked first and its lists bounded.
#[test]
fn a_footer_of_many_small_elements_is_refused_before_it_is_decoded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let columns = 500_000u64;
    let mut footer = vec![0x15, 0x02]; // version 1
    footer.extend([0x19, 0xfc]); // schema: a list of structs, its size next
    varint(&mut footer, columns + 1);
    footer.extend([0x48, 6]); // the root: name "schema", num_children
    footer.extend(b"schema");
    footer.push(0x15);
    varint(&mut footer, columns * 2);
    footer.push(0x00);
    for _ in 0..columns {
        // type INT32, repetition OPTIONAL, name "c"
        footer.extend([0x15, 0x02, 0x25, 0x02, 0x18, 0x01, b'c', 0x00]);
    }
    footer.extend([0x16, 0x00, 0x19, 0x0c, 0x00]); // num_rows 0, no row groups, end
    assert!(footer.len() < 4 << 20, "{} bytes", footer.len());
    let mut file = b"PAR1".to_vec();
    file.extend(&footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    drop(footer);
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    eprintln!("peak {} MiB: {}", peak / MIB, reports_excerpt(&message));
    assert!(message.contains("footer"), "{message}");
    assert!(peak < 32 * MIB, "peak {} MiB", peak / MIB);
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

// ---- a third review (adv24b): what check_footer's element count does not see ----

/// `footer` as a Parquet file: `PAR1`, the footer, its length, `PAR1`.
fn footer_file(footer: &[u8]) -> Vec<u8> {
    let mut file = b"PAR1".to_vec();
    file.extend(footer);
    file.extend((footer.len() as u32).to_le_bytes());
    file.extend(b"PAR1");
    file
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// A footer: version 1, `schema` (each a SchemaElement: `(name, num_children)`, a leaf
/// INT32 OPTIONAL when `num_children` is `None`, a group OPTIONAL otherwise; the first
/// is the root), no rows, no row groups.
fn schema_footer(schema: &[(&[u8], Option<i64>)]) -> Vec<u8> {
    let mut footer = vec![0x15, 0x02]; // version 1
    footer.extend([0x19, 0xfc]); // schema: a list of structs, its size next
    varint(&mut footer, schema.len() as u64);
    for (i, (name, children)) in schema.iter().enumerate() {
        match children {
            None => footer.extend([0x15, 0x02, 0x25, 0x02, 0x18]), // INT32, OPTIONAL, name
            Some(_) if i > 0 => footer.extend([0x35, 0x02, 0x18]), // OPTIONAL, name
            Some(_) => footer.push(0x48),                          // the root: its name
        }
        varint(&mut footer, name.len() as u64);
        footer.extend(*name);
        if let Some(n) = children {
            footer.push(0x15); // num_children, field 5
            varint(&mut footer, zigzag(*n));
        }
        footer.push(0x00);
    }
    footer.extend([0x16, 0x00, 0x19, 0x0c, 0x00]); // num_rows 0, no row groups, end
    footer
}

fn read_footer(footer: Vec<u8>) -> (String, usize) {
    let rt = runtime();
    assert!(footer.len() < 4 << 20, "{} bytes", footer.len());
    let store = rt.block_on(s3_parquet(footer_file(&footer)));
    drop(footer);
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    let message = message_of(&result);
    eprintln!("peak {} MiB: {}", peak / MIB, reports_excerpt(&message));
    (message, peak)
}

/// One group of a 1 MiB name holding 300 one-byte leaves: 65,536 list elements allow
/// it, and the parquet crate gives every leaf its path (`ColumnPath`, the names of its
/// ancestors, each a `String` of its own): 300 copies of the name, 300 MiB from a
/// footer of 1 MiB.
#[test]
fn a_long_group_name_is_not_copied_into_every_leaf_path() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let leaves = 300;
    let name = vec![b'g'; 1 << 20];
    let mut schema: Vec<(&[u8], Option<i64>)> = vec![(b"schema", Some(1))];
    schema.push((&name, Some(leaves)));
    for _ in 0..leaves {
        schema.push((b"c", None));
    }
    let (message, peak) = read_footer(schema_footer(&schema));
    assert!(peak < 64 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// A chain of 30,000 groups, one inside the other, then a leaf: 30,001 list elements
/// (under 65,536), each a few bytes, nested at depth 1 of the Thrift (a flat list: the
/// walk's depth bound does not see it). The parquet crate builds the schema tree by
/// recursion, one frame per level: the thread's stack overflows and the process aborts
/// (not a panic: nothing catches it).
#[test]
fn a_deep_schema_does_not_overflow_the_stack() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let depth = 30_000;
    let mut schema: Vec<(&[u8], Option<i64>)> = vec![(b"schema", Some(1))];
    for _ in 0..depth {
        schema.push((b"g", Some(1)));
    }
    schema.push((b"c", None));
    let (message, peak) = read_footer(schema_footer(&schema));
    assert!(message.contains("footer"), "{message}");
    assert!(peak < 64 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// A root declaring i32::MAX children: the parquet crate makes room for them
/// (`Vec::with_capacity`, 8 bytes each: 16 GiB) before it finds the footer holds one.
/// Where the system refuses 16 GiB, the process aborts.
#[test]
fn a_root_of_two_billion_children_is_refused() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let schema: Vec<(&[u8], Option<i64>)> =
        vec![(b"schema", Some(i64::from(i32::MAX))), (b"c", None)];
    let (message, peak) = read_footer(schema_footer(&schema));
    assert!(message.contains("footer"), "{message}");
    assert!(peak < 64 * MIB, "peak {} MiB ({message})", peak / MIB);
}

/// An S3 manifest whose first file's `size` is a string of 60 MiB of DEL (0x7f: raw in
/// JSON, a terminal control): serde's "invalid type: string ..." message quotes the
/// whole string, Debug-escaped (`\u{7f}`, six bytes each): a 360 MiB message, built
/// by doubling, then copied into ours.
#[test]
fn a_mistyped_manifest_value_is_not_quoted_whole() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let store = InMemory::new();
    let size = "\x7f".repeat(60 << 20);
    rt.block_on(async {
        let manifest = serde_json::to_vec(&serde_json::json!({
            "sourceBucket": "src",
            "fileFormat": "CSV",
            "fileSchema": "Bucket, Key, Size, LastModifiedDate",
            "files": [{"key": "inv/data/part-0.csv.gz", "size": size}],
        }))
        .unwrap();
        put(&store, "inv/manifest.json", manifest).await;
    });
    drop(size);
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let message = error_text(&result);
    eprintln!(
        "peak {} MiB, a {} byte error: {}",
        peak / MIB,
        message.len(),
        reports_excerpt(&message)
    );
    assert!(message.len() < 64 << 10, "a {} byte error", message.len());
    assert!(peak < 128 * MIB, "peak {} MiB", peak / MIB);
}

/// A Parquet row whose key holds terminal escapes and whose size is null: "object `{}`
/// has no size" quotes the key raw (every other message goes through `excerpt`).
#[test]
fn a_key_without_a_size_is_quoted_safely() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("size", DataType::Int64, true),
        Field::new("last_modified_date", DataType::Utf8, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["\x1b]0;owned\x07\x1b[2Jk"])),
        Arc::new(Int64Array::from(vec![None])),
        Arc::new(StringArray::from(vec!["2026-11-20T00:00:00.000Z"])),
    ];
    let mut file = Vec::new();
    let mut w = ArrowWriter::try_new(&mut file, Arc::clone(&schema), None).unwrap();
    w.write(&RecordBatch::try_new(schema, columns).unwrap())
        .unwrap();
    w.close().unwrap();
    let store = rt.block_on(s3_parquet(file));
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    eprintln!("{}", message.escape_debug());
    assert!(
        !message.contains('\x1b'),
        "raw ESC: {}",
        message.escape_debug()
    );
}

/// A `manifest.checksum` of terminal escapes (under its 1 KiB bound): the mismatch
/// message quotes it raw.
#[test]
fn a_manifest_checksum_is_quoted_safely() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let store = rt.block_on(async {
        let store = s3_parquet(b"PAR1".to_vec()).await;
        put(
            &store,
            "inv/manifest.checksum",
            b"\x1b]0;owned\x07\x1b[2J".to_vec(),
        )
        .await;
        store
    });
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    eprintln!("{}", message.escape_debug());
    assert!(
        !message.contains('\x1b'),
        "raw ESC: {}",
        message.escape_debug()
    );
}

/// Four CSV files (25 MB each, not gzipped) of 262,500 rows, each key in a folder of its
/// own of 63 bytes: 1,050,000 prefixes of 63 bytes, under the shared tally's name bound
/// (64 a prefix) and past its count bound (1,000,000). What the shared tally holds at
/// its fullest: the map's table (and the one it grows from), the names, the readers'
/// own tallies.
#[test]
fn a_full_shared_tally_stays_bounded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let per_file = 262_500;
    let store = InMemory::new();
    let mut files = Vec::new();
    rt.block_on(async {
        for part in 0..4 {
            let mut csv = String::with_capacity(per_file * 100);
            for i in 0..per_file {
                let n = part * per_file + i;
                csv.push_str(&format!(
                    "\"src\",\"{n:063}/k\",\"10\",\"2026-11-20T00:00:00.000Z\"\n"
                ));
            }
            let key = format!("inv/data/part-{part}.csv");
            files.push((key.clone(), csv.len()));
            put(&store, &key, csv.into_bytes()).await;
        }
        let files: Vec<(&str, usize)> = files.iter().map(|(k, n)| (k.as_str(), *n)).collect();
        let manifest = s3_manifest("CSV", "Bucket, Key, Size, LastModifiedDate", &files);
        put(&store, "inv/manifest.json", manifest).await;
    });
    let started = std::time::Instant::now();
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    let report = result.unwrap();
    eprintln!("peak {} MiB, {:?}", peak / MIB, started.elapsed());
    assert_eq!(report.objects, 4 * per_file as u64);
    assert!(peak < 256 * MIB, "peak {} MiB", peak / MIB);
}
