//! Hostile provider inventory reports (feature `reports`, issue 24): every report is read
//! under a counting global allocator, and the test checks the peak it saw. First one test
//! per attack that was reproduced (a 2 GiB CSV line, a Parquet dictionary value repeated
//! into gigabytes, one storage class per row, a huge manifest), then a fuzz harness that
//! generates hostile CSV, gzip, Parquet and manifests: no panic, a bounded peak, and every
//! error names the file it is about.
//!
//! The fuzz run is seeded (`STRATUS_FUZZ_SEED`, default fixed) with a modest number of
//! cases; `STRATUS_FUZZ_CASES=5000 cargo test --release --features reports --test
//! hostile_reports -- --nocapture fuzz` runs longer and prints the figures (cases, peak
//! memory, slowest case).
#![cfg(feature = "reports")]

mod reports_support;
use reports_support::*;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

use arrow_array::LargeStringArray;
use arrow_array::{types::Int32Type, StringArray};
use arrow_array::{ArrayRef, BinaryArray, DictionaryArray, Int32Array};
use object_store::memory::InMemory;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
#[cfg(feature = "html")]
use stratus::inventory::html;
use stratus::inventory::table;

const S3_SCHEMA: &str = "Bucket, Key, Size, LastModifiedDate, StorageClass";

/// An S3 CSV report of one gzipped data file, in a memory store.
async fn s3_csv(csv_gz: Vec<u8>, schema: &str) -> Arc<InMemory> {
    let store = InMemory::new();
    let size = csv_gz.len();
    put(&store, "inv/data/part-0.csv.gz", csv_gz).await;
    let manifest = s3_manifest("CSV", schema, &[("inv/data/part-0.csv.gz", size)]);
    put(&store, "inv/manifest.json", manifest).await;
    Arc::new(store)
}

// ---- item 1: one very long CSV line ----

/// A gzipped CSV whose second row is one 16 MiB line (the was 2 GiB, 14.7 GB
/// peak): the row fails, naming file and row, and nothing near the line's size is held.
#[test]
fn a_long_csv_line_fails_its_row_without_holding_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let chunk = vec![b'a'; MIB];
    let mut parts: Vec<&[u8]> =
        vec![b"\"src\",\"ok.txt\",\"1\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n\"src\",\""];
    parts.extend(std::iter::repeat_n(chunk.as_slice(), 16));
    parts.push(b"\",\"1\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n");
    let gz = gzip(&parts);
    drop(chunk);
    let store = rt.block_on(s3_csv(gz, S3_SCHEMA));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    assert!(peak < 12 * MIB, "peak {peak} bytes for a 16 MiB line");
    let message = error_text(&result);
    assert!(
        message.contains("inv/data/part-0.csv.gz") && message.contains("row 2:"),
        "{message}"
    );
    assert!(
        message.len() < 1000,
        "a long message: {} bytes",
        message.len()
    );
}

/// A key past 1,024 bytes (provider keys are at most that) fails its row, and the message
/// quotes only its start.
#[test]
fn a_key_past_1024_bytes_fails_its_row() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let key = "k".repeat(5000);
    let csv = format!(
        "\"src\",\"a\",\"1\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n\
         \"src\",\"b\",\"1\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n\
         \"src\",\"{key}\",\"1\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n"
    );
    let store = rt.block_on(s3_csv(gzip(&[csv.as_bytes()]), S3_SCHEMA));
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    assert!(
        message.contains("inv/data/part-0.csv.gz")
            && message.contains("row 3:")
            && message.contains("1024 bytes"),
        "{message}"
    );
    assert!(
        message.len() < 1000,
        "a long message: {} bytes",
        message.len()
    );

    // The same key in Parquet.
    let keys: ArrayRef = Arc::new(StringArray::from(vec!["a", key.as_str()]));
    let file = parquet_file(keys, None, WriterProperties::default());
    let store = rt.block_on(s3_parquet(file));
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let message = error_text(&result);
    assert!(
        message.contains("inv/data/part-0.parquet") && message.contains("row 2:"),
        "{message}"
    );
}

// ---- item 2: a Parquet dictionary value repeated ----

/// One 200 KiB dictionary value as the key of 10,000 rows (the file had 100,000;
/// writing them takes the writer minutes in a debug build): a file of a few KB that
/// decoded 8,192 rows at a time held 1.65 GB. Refused before decoding, naming the file.
#[test]
fn a_huge_parquet_dictionary_value_is_refused_before_decoding() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let value: ArrayRef = Arc::new(StringArray::from(vec!["v".repeat(200 << 10)]));
    let keys =
        DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0; 10_000]), value).unwrap();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::None)
        .build();
    let file = parquet_file(Arc::new(keys), None, props);
    assert!(file.len() < 64 << 10, "{} bytes", file.len());
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    assert!(peak < 16 * MIB, "peak {peak} bytes");
    let message = error_text(&result);
    assert!(
        message.contains("inv/data/part-0.parquet") && message.contains("row group 0"),
        "{message}"
    );
}

/// A 48 KiB storage class (under the value limit) repeated over 20,000 rows: read, in
/// batches small enough that the decoded text stays bounded (8,192 rows at once held
/// 400 MB); the class counts as "other".
#[test]
fn long_repeated_parquet_values_are_decoded_in_small_batches() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let rows = 20_000;
    let keys: Vec<String> = (0..rows).map(|i| format!("p{}/k{i}", i % 7)).collect();
    let keys: ArrayRef = Arc::new(StringArray::from(keys));
    let class: ArrayRef = Arc::new(StringArray::from(vec!["C".repeat(48 << 10)]));
    let classes =
        DictionaryArray::<Int32Type>::try_new(Int32Array::from(vec![0; rows]), class).unwrap();
    let file = parquet_file(keys, Some(Arc::new(classes)), WriterProperties::default());
    let store = rt.block_on(s3_parquet(file));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    assert!(peak < 48 * MIB, "peak {peak} bytes");
    let report = result.unwrap();
    assert_eq!(report.objects, rows as u64);
    let json = serde_json::to_value(&report).unwrap();
    let kept = json["classes"]
        .as_object()
        .map(|c| c.keys().map(|k| k.len()).collect::<Vec<_>>());
    assert_eq!(
        json["classes_other"]["objects"], rows as u64,
        "classes kept: {kept:?}"
    );
}

// ---- item 3: one storage class per row ----

/// 20,000 rows, each of its own class (or an S3 manifest whose `fileSchema` names the
/// ETag column StorageClass): classes past the limit count as "other", marked in JSON,
/// table and HTML, instead of a 20,000-line class table (and a quadratic search).
#[test]
fn distinct_classes_past_the_limit_count_as_other() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let rows = 20_000;
    let mut csv = String::new();
    for i in 0..rows {
        csv.push_str(&format!(
            "\"src\",\"p{}/k{i}\",\"10\",\"2026-11-20T00:00:00.000Z\",\"{:032x}\"\n",
            i % 5,
            i * 7919
        ));
    }
    // The ETag column named StorageClass by the manifest.
    let schema = "Bucket, Key, Size, LastModifiedDate, StorageClass";
    let store = rt.block_on(s3_csv(gzip(&[csv.as_bytes()]), schema));
    let (result, peak) = read(&rt, store, "inv/manifest.json");
    assert!(peak < 32 * MIB, "peak {peak} bytes");
    let report = result.unwrap();
    let json = serde_json::to_value(&report).unwrap();
    let kept = json["classes"].as_object().unwrap().len();
    assert_eq!(kept, 64, "classes kept");
    assert_eq!(json["classes_other"]["objects"], (rows - 64) as u64);
    assert_eq!(json["classes_other"]["bytes"], (rows as u64 - 64) * 10);
    let text = table::render(&report, "hostile");
    assert!(text.contains("(other: classes past the first 64"), "{text}");
    assert!(text.lines().count() < 200, "{} lines", text.lines().count());
    #[cfg(feature = "html")]
    {
        let page = html::render(&report, "hostile");
        assert!(page.contains("data-class-other"));
    }

    // The same in Parquet, each class once.
    let keys: Vec<String> = (0..rows).map(|i| format!("k{i}")).collect();
    let classes: Vec<String> = (0..rows).map(|i| format!("{:032x}", i * 7919)).collect();
    let file = parquet_file(
        Arc::new(StringArray::from(keys)),
        Some(Arc::new(StringArray::from(classes))),
        WriterProperties::default(),
    );
    let store = rt.block_on(s3_parquet(file));
    let (result, _) = read(&rt, store, "inv/manifest.json");
    let json = serde_json::to_value(result.unwrap()).unwrap();
    assert_eq!(json["classes"].as_object().unwrap().len(), 64);
    assert_eq!(json["classes_other"]["objects"], (rows - 64) as u64);
}

// ---- item 3: the manifest ----

/// A 16 MiB manifest (fields the reader ignores): parsed once, typed, without a
/// `serde_json::Value` of it (which took 70 times the manifest's size).
#[test]
fn a_large_manifest_is_parsed_once_in_bounded_memory() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let csv = "\"src\",\"a/b\",\"10\",\"2026-11-20T00:00:00.000Z\",\"STANDARD\"\n";
    let gz = gzip(&[csv.as_bytes()]);
    let padding = format!("[{}0]", "0,".repeat(4 << 20));
    let manifest = format!(
        "{{\"sourceBucket\": \"src\", \"fileFormat\": \"CSV\", \"fileSchema\": \"{S3_SCHEMA}\", \
         \"unknown\": {padding}, \"files\": [{{\"key\": \"inv/data/part-0.csv.gz\", \"size\": {}, \
         \"extra\": {padding}}}]}}",
        gz.len()
    );
    drop(padding);
    let size = manifest.len();
    assert!(size > 16 * MIB);
    let store = InMemory::new();
    rt.block_on(async {
        put(&store, "inv/data/part-0.csv.gz", gz).await;
        put(&store, "inv/manifest.json", manifest.into_bytes()).await;
    });
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    assert_eq!(result.unwrap().objects, 1);
    // The manifest's bytes once, and a little more.
    assert!(
        peak < size + 8 * MIB,
        "peak {peak} bytes for a {size}-byte manifest"
    );
}

/// A manifest listing more files than the limit is refused while it is parsed, naming it.
#[test]
fn a_manifest_listing_too_many_files_is_refused() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let files: Vec<(String, usize)> = (0..100_001)
        .map(|i| (format!("inv/data/{i}.csv.gz"), 10))
        .collect();
    let files: Vec<(&str, usize)> = files.iter().map(|(k, s)| (k.as_str(), *s)).collect();
    let store = InMemory::new();
    let manifest = s3_manifest("CSV", S3_SCHEMA, &files);
    let manifest_size = manifest.len();
    rt.block_on(put(&store, "inv/manifest.json", manifest));
    let (result, peak) = read(&rt, Arc::new(store), "inv/manifest.json");
    assert!(peak < manifest_size + 24 * MIB, "peak {peak} bytes");
    let message = error_text(&result);
    assert!(
        message.contains("inv/manifest.json") && message.contains("100000 files"),
        "{message}"
    );
}

// ---- the fuzz harness ----

/// What one fuzz case writes.
#[derive(Debug, Clone)]
struct Hostile {
    provider: Provider,
    parquet: Option<ParquetShape>,
    /// For CSV: gzipped, and how the gzip is broken.
    gzip: Option<GzipShape>,
    rows: Vec<FuzzRow>,
    /// A value of this many bytes repeated over this many rows, in the key or the class.
    blow_up: Option<(bool, usize, usize)>,
    /// Flip this byte of the data file (position as a fraction of its length, value).
    flip: Option<(f64, u8)>,
    manifest: ManifestShape,
}

#[derive(Debug, Clone, Copy)]
enum Provider {
    S3,
    Azure,
    Gcs,
}

#[derive(Debug, Clone)]
struct ParquetShape {
    dictionary: bool,
    encoding: Option<Encoding>,
    compression: Compression,
    row_group_rows: usize,
    binary_keys: bool,
}

#[derive(Debug, Clone)]
struct GzipShape {
    /// Cut the gzip to this fraction of its length.
    truncate: Option<f64>,
    /// Write the data as two gzip members.
    two_members: bool,
}

#[derive(Debug, Clone)]
struct FuzzRow {
    key: String,
    size: String,
    date: String,
    class: String,
}

#[derive(Debug, Clone)]
enum ManifestShape {
    Plain,
    /// The manifest's bytes cut to this fraction.
    Truncated(f64),
    /// A field of the manifest replaced by this JSON.
    Field(String, String),
    /// This many more (missing) files listed.
    MoreFiles(usize),
    /// Ignored fields of this many elements.
    Padding(usize),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    let provider = prop_oneof![
        Just(Provider::S3),
        Just(Provider::Azure),
        Just(Provider::Gcs)
    ];
    let key = prop_oneof![
        4 => "[a-z]{1,3}(/[a-z0-9.]{1,8}){0,3}",
        1 => "\\PC{0,40}",
        1 => "[a\",\n\r/%+ ]{0,20}",
        1 => (1000usize..1100).prop_map(|n| "k".repeat(n)),
        1 => (1usize..40_000).prop_map(|n| format!("x/{}", "y".repeat(n))),
    ];
    let size = prop_oneof![
        6 => (0u64..1_000_000).prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => Just("-1".to_string()),
        1 => Just(String::new()),
        1 => "[0-9a-z.]{1,30}",
    ];
    let date = prop_oneof![
        6 => Just("2026-11-20T13:25:40.123Z".to_string()),
        1 => Just("Wed, 26 May 2021 13:25:40 GMT".to_string()),
        1 => Just("+275760-09-13T00:00:00.000Z".to_string()),
        1 => "\\PC{0,30}",
    ];
    let class = prop_oneof![
        4 => Just("STANDARD".to_string()),
        2 => "[A-Z_]{1,12}",
        1 => (60usize..200).prop_map(|n| "C".repeat(n)),
        1 => Just(String::new()),
    ];
    let row = (key, size, date, class).prop_map(|(key, size, date, class)| FuzzRow {
        key,
        size,
        date,
        class,
    });
    // Rows a provider could write, for the cases whose attack is elsewhere.
    let clean_row = (
        "[a-z]{1,3}(/[a-z0-9.]{1,8}){0,3}",
        0u64..1_000_000,
        prop_oneof![Just("STANDARD"), Just("GLACIER"), Just("Hot"), Just("")],
    )
        .prop_map(|(key, size, class)| FuzzRow {
            key,
            size: size.to_string(),
            date: "2026-11-20T13:25:40.123Z".to_string(),
            class: class.to_string(),
        });
    let clean_rows = proptest::collection::vec(clean_row, 0..60);
    let hostile_rows = proptest::collection::vec(row, 1..60);
    let parquet = (
        any::<bool>(),
        prop_oneof![
            Just(None),
            Just(Some(Encoding::PLAIN)),
            Just(Some(Encoding::DELTA_BYTE_ARRAY)),
            Just(Some(Encoding::DELTA_LENGTH_BYTE_ARRAY)),
        ],
        prop_oneof![
            Just(Compression::UNCOMPRESSED),
            Just(Compression::SNAPPY),
            Just(Compression::GZIP(Default::default())),
            Just(Compression::LZ4_RAW),
        ],
        1usize..5000,
        any::<bool>(),
    )
        .prop_map(
            |(dictionary, encoding, compression, row_group_rows, binary_keys)| ParquetShape {
                dictionary,
                encoding,
                compression,
                row_group_rows,
                binary_keys,
            },
        );
    let gzip = (proptest::option::weighted(0.2, 0.0f64..1.0), any::<bool>()).prop_map(
        |(truncate, two_members)| GzipShape {
            truncate,
            two_members,
        },
    );
    let field = prop_oneof![
        Just("files"),
        Just("fileFormat"),
        Just("fileSchema"),
        Just("creationTimestamp"),
        Just("summary"),
        Just("status"),
        Just("report_shards_file_names"),
        Just("records_processed"),
    ];
    let json = prop_oneof![
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("-1".to_string()),
        Just("\"CSV\"".to_string()),
        Just("[{\"key\": 1}]".to_string()),
        Just("18446744073709551616".to_string()),
        "\\PC{0,20}".prop_map(|s| serde_json::to_string(&s).unwrap()),
    ];
    let manifest = prop_oneof![
        1 => (0.0f64..1.0).prop_map(ManifestShape::Truncated),
        2 => (field, json).prop_map(|(f, j)| ManifestShape::Field(f.to_string(), j)),
        1 => (1usize..3000).prop_map(ManifestShape::MoreFiles),
        1 => (1usize..200_000).prop_map(ManifestShape::Padding),
    ];
    // Each case attacks in one way (its rows, a value repeated, its gzip, a byte of its
    // data file, or its manifest), the rest of it as a provider writes it, so that the
    // attack reaches the code it aims at instead of failing on another one first.
    let blow_length = prop_oneof![
        1usize..4096,
        4096usize..(64 << 10),
        (64usize << 10)..(256 << 10)
    ];
    let focus = prop_oneof![
        2 => Just(Focus::Rows),
        3 => Just(Focus::BlowUp),
        1 => Just(Focus::Gzip),
        1 => Just(Focus::Flip),
        2 => Just(Focus::Manifest),
    ];
    (
        (
            provider,
            proptest::option::weighted(0.5, parquet),
            gzip,
            focus,
        ),
        (clean_rows, hostile_rows),
        (any::<bool>(), blow_length, 1usize..20_000),
        (0.0f64..1.0, any::<u8>()),
        manifest,
        any::<bool>(),
    )
        .prop_map(
            |((provider, parquet, mut gzip, focus), (clean, rows), blow_up, flip, manifest, gz)| {
                if focus != Focus::Gzip {
                    gzip.truncate = None;
                }
                Hostile {
                    provider,
                    gzip: (gz || focus == Focus::Gzip).then_some(gzip),
                    parquet: parquet.filter(|_| focus != Focus::Gzip),
                    rows: if focus == Focus::Rows { rows } else { clean },
                    blow_up: (focus == Focus::BlowUp).then_some(blow_up),
                    flip: (focus == Focus::Flip).then_some(flip),
                    manifest: match focus {
                        Focus::Manifest => manifest,
                        _ => ManifestShape::Plain,
                    },
                }
            },
        )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Rows,
    BlowUp,
    Gzip,
    Flip,
    Manifest,
}

/// The most text a case writes without a dictionary (a blown-up value is cut to it).
const PLAIN_TEXT: usize = 2 << 20;

/// The most text a dictionary's rows stand for (the writer hashes every row's value:
/// more costs seconds a case in a debug build). Decoded 8,192 rows at a time, as main
/// did, that is past [`FUZZ_PEAK`].
const DICTIONARY_TEXT: usize = 96 << 20;

impl Hostile {
    /// The blown-up value and how many rows have it: as many as [`DICTIONARY_TEXT`] (in
    /// a dictionary) or [`PLAIN_TEXT`] (each row storing it) hold.
    fn blow_up(&self, dictionary: bool) -> Option<(bool, String, usize)> {
        let (in_key, length, count) = self.blow_up?;
        let count = match dictionary {
            true => count.min((DICTIONARY_TEXT / length).max(1)),
            false => count.min((PLAIN_TEXT / length).max(1)),
        };
        Some((in_key, "z".repeat(length), count))
    }

    /// The rows as text (for CSV), the blown-up ones included.
    fn all_rows(&self) -> Vec<FuzzRow> {
        let mut rows = self.rows.clone();
        if let Some((in_key, value, count)) = self.blow_up(false) {
            for i in 0..count {
                let (key, class) = match in_key {
                    true => (value.clone(), "STANDARD".to_string()),
                    false => (format!("b/{i}"), value.clone()),
                };
                rows.push(FuzzRow {
                    key,
                    size: "1".to_string(),
                    date: "2026-11-20T13:25:40.123Z".to_string(),
                    class,
                });
            }
        }
        rows
    }

    fn data_key(&self) -> &'static str {
        match (self.provider, self.parquet.is_some()) {
            (Provider::S3, false) => "inv/data/part-0.csv.gz",
            (Provider::S3, true) => "inv/data/part-0.parquet",
            (Provider::Azure, false) => "inv/rule/part-0.csv",
            (Provider::Azure, true) => "inv/rule/part-0.parquet",
            (Provider::Gcs, false) => "inv/cfg_0.csv",
            (Provider::Gcs, true) => "inv/cfg_0.parquet",
        }
    }

    fn manifest_key(&self) -> &'static str {
        match self.provider {
            Provider::S3 => "inv/manifest.json",
            Provider::Azure => "inv/rule-manifest.json",
            Provider::Gcs => "inv/cfg_manifest.json",
        }
    }

    fn data(&self) -> Vec<u8> {
        let mut data = match &self.parquet {
            Some(shape) => self.parquet_bytes(shape),
            None => self.csv_bytes(&self.all_rows()),
        };
        if let Some((at, byte)) = self.flip {
            if !data.is_empty() {
                let i = ((data.len() - 1) as f64 * at) as usize;
                data[i] = byte;
            }
        }
        data
    }

    fn csv_bytes(&self, rows: &[FuzzRow]) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .from_writer(Vec::new());
        match self.provider {
            Provider::S3 => {}
            Provider::Azure => w
                .write_record(["Name", "Content-Length", "Last-Modified", "AccessTier"])
                .unwrap(),
            Provider::Gcs => w
                .write_record(["bucket", "name", "size", "updated", "storageClass"])
                .unwrap(),
        }
        for r in rows {
            match self.provider {
                Provider::S3 => w.write_record(["src", &r.key, &r.size, &r.date, &r.class]),
                Provider::Azure => w.write_record([&r.key, &r.size, &r.date, &r.class]),
                Provider::Gcs => w.write_record(["src", &r.key, &r.size, &r.date, &r.class]),
            }
            .unwrap();
        }
        let text = w.into_inner().unwrap();
        match &self.gzip {
            None => text,
            Some(shape) => {
                let mut gz = if shape.two_members {
                    let half = text.len() / 2;
                    let mut gz = gzip(&[&text[..half]]);
                    gz.extend(gzip(&[&text[half..]]));
                    gz
                } else {
                    gzip(&[&text])
                };
                if let Some(cut) = shape.truncate {
                    gz.truncate((gz.len() as f64 * cut) as usize);
                }
                gz
            }
        }
    }

    /// The key and class columns: each row's own value, then the blown-up rows, as a
    /// dictionary (the rows point at one value, never copied) when the shape has one.
    fn parquet_bytes(&self, shape: &ParquetShape) -> Vec<u8> {
        let blow = self.blow_up(shape.dictionary);
        let mut keys: Vec<&str> = self.rows.iter().map(|r| r.key.as_str()).collect();
        let mut classes: Vec<&str> = self.rows.iter().map(|r| r.class.as_str()).collect();
        let own = keys.len();
        let extra = blow.as_ref().map_or(0, |b| b.2);
        let numbered: Vec<String> = (0..if shape.dictionary { 0 } else { extra })
            .map(|i| format!("b/{i}"))
            .collect();
        let column = |values: Vec<&str>, binary: bool| -> ArrayRef {
            let text: ArrayRef = if binary {
                Arc::new(BinaryArray::from_iter_values(
                    values.iter().map(|v| v.as_bytes()),
                ))
            } else if shape.row_group_rows.is_multiple_of(3) {
                Arc::new(LargeStringArray::from_iter_values(values.iter()))
            } else {
                Arc::new(StringArray::from_iter_values(values.iter()))
            };
            if !shape.dictionary {
                return text;
            }
            // One dictionary entry per own row, then the blown-up (or repeated) value.
            let last = values.len() as i32 - 1;
            let mut indices: Vec<i32> = (0..own as i32).collect();
            indices.extend(std::iter::repeat_n(last.max(0), extra));
            Arc::new(
                DictionaryArray::<Int32Type>::try_new(Int32Array::from(indices), text).unwrap(),
            )
        };
        let (key_column, class_column) = match (&blow, shape.dictionary) {
            (Some((in_key, value, _)), true) => {
                // The dictionary holds the value once; every blown-up row points at it.
                let (k, c) = if *in_key {
                    (value.as_str(), "STANDARD")
                } else {
                    ("b/shared", value.as_str())
                };
                keys.push(k);
                classes.push(c);
                (column(keys, shape.binary_keys), column(classes, false))
            }
            (Some((in_key, value, count)), false) => {
                if *in_key {
                    keys.extend(std::iter::repeat_n(value.as_str(), *count));
                    classes.extend(std::iter::repeat_n("STANDARD", *count));
                } else {
                    keys.extend(numbered.iter().map(String::as_str));
                    classes.extend(std::iter::repeat_n(value.as_str(), *count));
                }
                (column(keys, shape.binary_keys), column(classes, false))
            }
            (None, _) => (column(keys, shape.binary_keys), column(classes, false)),
        };
        // Statistics of long repeated values cost the writer minutes in a debug build.
        let statistics = match blow {
            Some(_) => EnabledStatistics::None,
            None => EnabledStatistics::Page,
        };
        let mut props = WriterProperties::builder()
            .set_statistics_enabled(statistics)
            .set_compression(shape.compression)
            .set_dictionary_enabled(shape.dictionary)
            .set_max_row_group_row_count(Some(shape.row_group_rows));
        if let (Some(encoding), false) = (shape.encoding, shape.dictionary) {
            for column in ["key", "storage_class"] {
                props = props.set_column_encoding(ColumnPath::from(column), encoding);
            }
        }
        parquet_file(key_column, Some(class_column), props.build())
    }

    fn manifest(&self, data_size: usize) -> Vec<u8> {
        let key = self.data_key();
        let format = if self.parquet.is_some() {
            "parquet"
        } else {
            "csv"
        };
        let mut files = vec![key.to_string()];
        if let ManifestShape::MoreFiles(n) = self.manifest {
            files.extend((0..n).map(|i| format!("inv/data/missing-{i}.{format}")));
        }
        let mut json = match self.provider {
            Provider::S3 => serde_json::json!({
                "sourceBucket": "src",
                "fileFormat": format.to_uppercase(),
                "fileSchema": S3_SCHEMA,
                "creationTimestamp": "1700000000000",
                "files": files.iter().map(|f| serde_json::json!({"key": f, "size": data_size})).collect::<Vec<_>>(),
            }),
            Provider::Azure => serde_json::json!({
                "files": files.iter().map(|f| serde_json::json!({"blob": f, "size": data_size})).collect::<Vec<_>>(),
                "summary": {"objectCount": null},
                "ruleDefinition": {"format": format},
                "status": "Succeeded",
            }),
            Provider::Gcs => serde_json::json!({
                "report_shards_file_names": files.iter().map(|f| f.trim_start_matches("inv/")).collect::<Vec<_>>(),
                "snapshot_time": "2026-11-20T00:00:00Z",
            }),
        };
        match &self.manifest {
            ManifestShape::Field(field, value) => {
                json[field.as_str()] =
                    serde_json::from_str(value).unwrap_or(serde_json::Value::Null);
            }
            ManifestShape::Padding(n) => json["padding"] = serde_json::json!(vec![0; *n]),
            _ => {}
        }
        let mut bytes = serde_json::to_vec(&json).unwrap();
        if let ManifestShape::Truncated(cut) = self.manifest {
            bytes.truncate((bytes.len() as f64 * cut) as usize);
        }
        bytes
    }
}

/// The most one fuzz case may hold at once: its inputs are at most a few MiB.
const FUZZ_PEAK: usize = 64 * MIB;

#[derive(Default)]
struct Figures {
    cases: u64,
    errors: u64,
    peak: usize,
    peak_case: String,
    slowest: Duration,
    slowest_case: String,
    /// Time spent writing the cases (not reading them).
    making: Duration,
}

fn describe(case: &Hostile, data: usize, manifest: usize) -> String {
    format!(
        "{:?} {}, {} rows{}, data {data} bytes, manifest {manifest} bytes ({:?})",
        case.provider,
        match (&case.parquet, &case.gzip) {
            (Some(p), _) => format!(
                "Parquet (dictionary {}, {:?}, {:?}, {} rows a group)",
                p.dictionary, p.encoding, p.compression, p.row_group_rows
            ),
            (None, Some(_)) => "CSV gzipped".to_string(),
            (None, None) => "CSV".to_string(),
        },
        case.rows.len(),
        match case.blow_up(case.parquet.as_ref().is_some_and(|p| p.dictionary)) {
            Some((key, value, count)) => format!(
                " + {count} x a {}-byte {}",
                value.len(),
                if key { "key" } else { "class" }
            ),
            None => String::new(),
        },
        case.manifest
    )
}

fn one_case(
    rt: &tokio::runtime::Runtime,
    case: &Hostile,
    figures: &mut Figures,
) -> Result<(), TestCaseError> {
    let made = Instant::now();
    let data = case.data();
    let manifest = case.manifest(data.len());
    let (data_len, manifest_len) = (data.len(), manifest.len());
    let store = InMemory::new();
    rt.block_on(async {
        put(&store, case.data_key(), data).await;
        put(&store, case.manifest_key(), manifest).await;
        if let Provider::Azure = case.provider {
            put(&store, "inv/rule-manifest.checksum", b"x".to_vec()).await;
        }
    });
    figures.making += made.elapsed();
    let started = Instant::now();
    let (result, peak) = read(rt, Arc::new(store), case.manifest_key());
    let took = started.elapsed();
    let what = describe(case, data_len, manifest_len);
    figures.cases += 1;
    if peak > figures.peak {
        figures.peak = peak;
        figures.peak_case = what.clone();
    }
    if took > figures.slowest {
        figures.slowest = took;
        figures.slowest_case = what.clone();
    }
    if std::env::var_os("STRATUS_FUZZ_VERBOSE").is_some() {
        let outcome = match &result {
            Ok(report) => format!("{} objects", report.objects),
            Err(e) => e.to_string().chars().take(160).collect(),
        };
        println!(
            "{:.1} MiB {took:.2?} {what}: {outcome}",
            peak as f64 / MIB as f64
        );
    }
    prop_assert!(peak <= FUZZ_PEAK, "peak {peak} bytes: {what}");
    if let Err(e) = &result {
        figures.errors += 1;
        let message = e.to_string();
        let names_file = message.contains(case.data_key())
            || message.contains(case.manifest_key())
            || message.contains("data/missing-")
            || message.contains("inv/rule-manifest.checksum");
        prop_assert!(names_file, "an error naming no file: {message} ({what})");
        prop_assert!(
            message.len() < 4096,
            "a {}-byte message ({what})",
            message.len()
        );
        if let Some(at) = message.find("row ") {
            let number = message[at + 4..]
                .split(|c: char| !c.is_ascii_digit())
                .next();
            prop_assert!(
                number.is_some_and(|n| !n.is_empty())
                    || message.contains("row group")
                    || message.contains("rows"),
                "a row without its number: {message}"
            );
        }
    }
    Ok(())
}

#[test]
fn fuzz_hostile_reports() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let cases: u32 = std::env::var("STRATUS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    let seed: u64 = std::env::var("STRATUS_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    };
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let rt = runtime();
    let figures = Mutex::new(Figures::default());
    let started = Instant::now();
    let outcome = runner.run(&hostile(), |case| {
        one_case(
            &rt,
            &case,
            &mut figures.lock().unwrap_or_else(|e| e.into_inner()),
        )
    });
    let f = figures.into_inner().unwrap_or_else(|e| e.into_inner());
    println!(
        "fuzz (seed {seed}): {} cases ({} errors) in {:.1} s ({:.1} s writing them); peak {:.1} MiB ({}); slowest {:.2} s ({})",
        f.cases,
        f.errors,
        started.elapsed().as_secs_f64(),
        f.making.as_secs_f64(),
        f.peak as f64 / MIB as f64,
        f.peak_case,
        f.slowest.as_secs_f64(),
        f.slowest_case
    );
    if let Err(e) = outcome {
        panic!("{e}");
    }
}
