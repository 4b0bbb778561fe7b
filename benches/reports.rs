//! What reading provider inventory reports and exporting listings cost (feature `reports`):
//!
//! - `parquet`, `csv`: aggregate a generated S3 Inventory report of `--rows` rows
//!   (default 10,000,000; Parquet, and CSV gzipped) at depth 2: rows per second and peak
//!   memory above what the process held before. The reports are generated once under
//!   `target/bench-reports/` (10 data files each, a manifest with sizes and MD5s);
//! - `export`: the inventory of 20,000 objects on SeaweedFS, listed only or listed and
//!   exported as Parquet to SeaweedFS (needs the emulators:
//!   `scripts/emulators.sh start && source target/emulators/env`), alternating.
//!
//! ```text
//! cargo bench --features reports --bench reports -- --runs 5 parquet csv export
//! ```

#[path = "support/timing.rs"]
mod timing;
use md5::{Digest, Md5};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stratus::inventory::export::{export, ExportOptions};
use stratus::inventory::{reports, scan, ScanOptions};
use stratus::object_store::local::LocalFileSystem;
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStore;
use timing::median;

#[path = "support/seaweed.rs"]
mod seaweed;

const FILES: u64 = 10;

/// A deterministic stream of pseudo-random numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 11
    }
}

/// One generated row: 200 tenants x 10 years = 2,200 prefixes to depth 2.
struct Row {
    key: String,
    size: i64,
    modified_ms: i64,
    e_tag: String,
    class: &'static str,
}

fn row(i: u64, rng: &mut Lcg) -> Row {
    const CLASSES: [&str; 4] = ["STANDARD", "STANDARD_IA", "GLACIER", "INTELLIGENT_TIERING"];
    let r = rng.next();
    Row {
        key: format!(
            "t{:03}/{}/kind{}/obj-{i:09}.bin",
            r % 200,
            2016 + (r >> 8) % 10,
            (r >> 12) % 7
        ),
        size: (rng.next() % 10_000_000) as i64,
        modified_ms: 1_700_000_000_000 - (rng.next() % 94_608_000_000) as i64,
        e_tag: format!("{:032x}", u128::from(rng.next()) << 64 | u128::from(i)),
        class: CLASSES[(r >> 20) as usize % 4],
    }
}

/// `target/bench-reports/<format>-<rows>`, generated if absent; the manifest's key.
fn generate(format: &str, rows: u64) -> (std::path::PathBuf, String) {
    let root = std::path::PathBuf::from(format!("target/bench-reports/{format}-{rows}"));
    let manifest = "inventory/manifest.json".to_string();
    if root.join(&manifest).exists() {
        return (root, manifest);
    }
    println!(
        "(generating a {rows}-row {format} report under {}, once)",
        root.display()
    );
    std::fs::create_dir_all(root.join("inventory/data")).unwrap();
    let mut rng = Lcg(42);
    let mut files = Vec::new();
    let per_file = rows.div_ceil(FILES);
    for n in 0..FILES {
        let range = (n * per_file)..((n + 1) * per_file).min(rows);
        let key = format!(
            "inventory/data/part-{n:02}.{}",
            if format == "parquet" {
                "parquet"
            } else {
                "csv.gz"
            }
        );
        let path = root.join(&key);
        if format == "parquet" {
            write_parquet(&path, range, &mut rng);
        } else {
            write_csv(&path, range, &mut rng);
        }
        let bytes = std::fs::read(&path).unwrap();
        let md5: String = Md5::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        files.push(serde_json::json!({"key": key, "size": bytes.len(), "MD5checksum": md5}));
    }
    let manifest_json = serde_json::json!({
        "sourceBucket": "bench",
        "creationTimestamp": "1700000000000",
        "fileFormat": if format == "parquet" { "Parquet" } else { "CSV" },
        "fileSchema": "Bucket, Key, Size, LastModifiedDate, ETag, StorageClass",
        "files": files,
    });
    std::fs::write(
        root.join(&manifest),
        serde_json::to_vec_pretty(&manifest_json).unwrap(),
    )
    .unwrap();
    (root, manifest)
}

fn write_parquet(path: &std::path::Path, range: std::ops::Range<u64>, rng: &mut Lcg) {
    use arrow_array::builder::{Int64Builder, StringBuilder, TimestampMillisecondBuilder};
    use arrow_array::{ArrayRef, RecordBatch};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;
    let schema = Arc::new(Schema::new(vec![
        Field::new("bucket", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("size", DataType::Int64, true),
        Field::new(
            "last_modified_date",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        Field::new("e_tag", DataType::Utf8, true),
        Field::new("storage_class", DataType::Utf8, true),
    ]));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(131_072))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(props)).unwrap();
    let mut i = range.start;
    while i < range.end {
        let n = (range.end - i).min(65_536);
        let (mut b, mut k, mut s, mut m, mut e, mut c) = (
            StringBuilder::new(),
            StringBuilder::new(),
            Int64Builder::new(),
            TimestampMillisecondBuilder::new().with_timezone("UTC"),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        for j in i..i + n {
            let r = row(j, rng);
            b.append_value("bench");
            k.append_value(&r.key);
            s.append_value(r.size);
            m.append_value(r.modified_ms);
            e.append_value(&r.e_tag);
            c.append_value(r.class);
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(b.finish()),
            Arc::new(k.finish()),
            Arc::new(s.finish()),
            Arc::new(m.finish()),
            Arc::new(e.finish()),
            Arc::new(c.finish()),
        ];
        writer
            .write(&RecordBatch::try_new(Arc::clone(&schema), columns).unwrap())
            .unwrap();
        i += n;
    }
    writer.close().unwrap();
}

fn write_csv(path: &std::path::Path, range: std::ops::Range<u64>, rng: &mut Lcg) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut w = csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(gz);
    for j in range {
        let r = row(j, rng);
        let date = chrono::DateTime::from_timestamp_millis(r.modified_ms)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        w.write_record([
            "bench",
            &r.key,
            &r.size.to_string(),
            &date,
            &r.e_tag,
            r.class,
        ])
        .unwrap();
    }
    w.into_inner().unwrap().finish().unwrap();
}

/// A field of `/proc/self/status`, in KiB (Linux; 0 elsewhere).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// One read, in this process (a fresh one: `--child`): prints the seconds it took and
/// its peak memory above what the process held before it, in KiB.
async fn child(format: &str, rows: u64, verify: bool) {
    let (root, manifest) = generate(format, rows);
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&root).unwrap());
    let concurrency = std::env::var("BENCH_FILES_AT_ONCE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let options = ScanOptions::default()
        .with_depth(2)
        .with_concurrency(concurrency)
        .with_verify_checksums(verify);
    let baseline = status_kib("VmRSS:");
    let started = Instant::now();
    let report = reports::read(store, &Path::from(manifest), None, &options)
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(report.objects, rows);
    assert!(report.prefixes.is_exact());
    println!(
        "{} {}",
        took.as_secs_f64(),
        status_kib("VmHWM:").saturating_sub(baseline)
    );
}

async fn read_report(format: &str, rows: u64, runs: usize) {
    let (root, _) = generate(format, rows);
    let variants: &[(&str, bool)] = if format == "parquet" {
        &[("MD5 verified", true), ("MD5 not verified", false)]
    } else {
        &[("MD5 verified", true)]
    };
    let mut table = Vec::new();
    for &(label, verify) in variants {
        let (mut times, mut peaks) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--child", format, &rows.to_string(), &verify.to_string()])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let mut fields = text.split_whitespace();
            times.push(Duration::from_secs_f64(
                fields.next().unwrap().parse().unwrap(),
            ));
            peaks.push(fields.next().unwrap().parse::<u64>().unwrap());
        }
        peaks.sort();
        let t = median(times);
        table.push((
            label,
            t,
            rows as f64 / t.as_secs_f64(),
            peaks[peaks.len() / 2],
            *peaks.last().unwrap(),
        ));
    }
    let bytes: u64 = std::fs::read_dir(root.join("inventory/data"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    println!(
        "\n## {format} report: {rows} rows in {FILES} files ({:.0} MiB), depth 2, 4 files at once, each run a fresh process (median of {runs})\n",
        bytes as f64 / (1 << 20) as f64
    );
    println!("| | time | rows/s | peak memory above baseline (median / max) |");
    println!("|---|---|---|---|");
    for (label, t, rate, peak, max) in table {
        println!(
            "| {label} | {:.2} s | {:.2} M | {:.0} / {:.0} MiB |",
            t.as_secs_f64(),
            rate / 1e6,
            peak as f64 / 1024.0,
            max as f64 / 1024.0
        );
    }
    let target = if format == "parquet" { 5 } else { 2 };
    println!("\n(targets: >= {target} M rows/s, <= 256 MiB)");
}

async fn export_overhead(runs: usize) {
    const OBJECTS: u64 = 20_000;
    let Some(store) = seaweed::filled("bench-observe-20000", OBJECTS).await else {
        return;
    };
    let Some(dest) = seaweed::store("bench-reports-exports") else {
        return;
    };
    let options = ScanOptions::default();
    let (mut listed, mut exported) = (Vec::new(), Vec::new());
    for run in 0..runs {
        for exporting in if run % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        } {
            let started = Instant::now();
            if exporting {
                let (report, written) = export(
                    store.as_ref(),
                    None,
                    &options,
                    Arc::clone(&dest),
                    None,
                    &ExportOptions::default(),
                )
                .await
                .unwrap();
                assert_eq!(written.rows, report.objects);
                exported.push(started.elapsed());
            } else {
                let report = scan(store.as_ref(), None, &options).await.unwrap();
                assert!(report.objects >= OBJECTS);
                listed.push(started.elapsed());
            }
        }
    }
    let (l, e) = (median(listed), median(exported));
    println!("\n## inventory of {OBJECTS} objects on SeaweedFS: listing only, or listing and exporting Parquet to SeaweedFS (median of {runs}, alternating)\n");
    println!("| listing | listing + export | ratio |");
    println!("|---|---|---|");
    println!(
        "| {:.1} ms | {:.1} ms | {:.3} |",
        l.as_secs_f64() * 1e3,
        e.as_secs_f64() * 1e3,
        e.as_secs_f64() / l.as_secs_f64()
    );
    println!("\n(target: <= 1.10)");
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = timing::args();
    if args.first().map(String::as_str) == Some("--child") {
        let rows = args[2].parse().expect("rows");
        child(&args[1], rows, args[3] == "true").await;
        return;
    }
    let mut take = |flag: &str, default: u64| -> u64 {
        match args.iter().position(|a| a == flag) {
            Some(at) => {
                let value = args[at + 1].parse().expect("a number");
                args.drain(at..at + 2);
                value
            }
            None => default,
        }
    };
    let runs = take("--runs", 5) as usize;
    let rows = take("--rows", 10_000_000);
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if cfg!(debug_assertions) {
        println!("warning: a debug build; run with --release for meaningful numbers");
    }
    if want("parquet") {
        read_report("parquet", rows, runs).await;
    }
    if want("csv") {
        read_report("csv", rows, runs).await;
    }
    if want("export") {
        export_overhead(runs).await;
    }
}
