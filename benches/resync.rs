//! Re-sync benchmark: a second `sync` where nothing changed. Source and destination are
//! in-memory stores behind `FaultyStore` delays of 1 ms on every get, put, head and list
//! (the stores of `bench_replicate`'s sync section, with the delay on all four requests
//! on both sides). The first sync copies everything; the second, timed, has nothing to
//! copy, so what it costs is the listings plus whatever the comparison asks per key.
//!
//! ```text
//! cargo bench --bench resync [-- --runs 5 --objects 3000]
//! ```

#[path = "support/timing.rs"]
mod timing;
use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::object_store::memory::InMemory;
use stratus::object_store::path::Path;
use stratus::object_store::{ObjectStore, ObjectStoreExt};
use stratus::replicate::{self, Compare, SyncOptions};
use timing::{median, ms};

#[derive(Parser)]
struct Args {
    /// What `cargo bench` adds to every bench's arguments (ignored).
    #[arg(long, hide = true)]
    bench: bool,
    /// Timed re-syncs of each case (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Objects of 100 bytes in the source.
    #[arg(long, default_value_t = 3000)]
    objects: usize,
}

/// `inner` behind a delay of `delay` on every get, put, head and list.
fn delayed(inner: Arc<dyn ObjectStore>, delay: Duration) -> Arc<FaultyStore> {
    let store = Arc::new(FaultyStore::new(inner));
    for op in [Op::Get, Op::Put, Op::Head, Op::List] {
        store.inject(Fault::delay(op, delay));
    }
    store
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let n = args.objects;
    let delay = Duration::from_millis(1);
    let src = Arc::new(InMemory::new());
    for i in 0..n {
        src.put(&Path::from(format!("k/{i:06}")), vec![1u8; 100].into())
            .await
            .unwrap();
    }
    let src = delayed(src, delay);
    let dst = delayed(Arc::new(InMemory::new()), delay);

    let start = Instant::now();
    let first = replicate::sync(&*src, &*dst, &SyncOptions::default().with_concurrency(32))
        .await
        .unwrap();
    let first_took = start.elapsed();
    assert_eq!(first.copied as usize, n);
    assert_eq!(first.failed, 0);

    // (label, concurrency, compare)
    let cases = [
        ("default", 16, None),
        ("default", 32, None),
        ("SizeAndModified", 16, Some(Compare::SizeAndModified)),
        ("SizeAndModified", 32, Some(Compare::SizeAndModified)),
    ];
    let mut times = vec![Vec::new(); cases.len()];
    // Requests per re-sync, by store and operation (the same every run).
    let mut requests = vec![String::new(); cases.len()];
    let ops = [Op::List, Op::Head, Op::Get, Op::Put];
    for _ in 0..args.runs {
        for (case, &(_, concurrency, compare)) in cases.iter().enumerate() {
            let mut options = SyncOptions::default().with_concurrency(concurrency);
            if let Some(compare) = compare {
                options = options.with_compare(compare);
            }
            let before: Vec<u64> = ops
                .iter()
                .flat_map(|&op| [src.calls(op), dst.calls(op)])
                .collect();
            let start = Instant::now();
            let report = replicate::sync(&*src, &*dst, &options).await.unwrap();
            times[case].push(start.elapsed());
            assert_eq!(report.copied, 0);
            assert_eq!(report.failed, 0);
            assert_eq!(report.skipped as usize, n);
            let after: Vec<u64> = ops
                .iter()
                .flat_map(|&op| [src.calls(op), dst.calls(op)])
                .collect();
            requests[case] = ops
                .iter()
                .enumerate()
                .map(|(i, op)| {
                    format!(
                        "{op:?} {}/{}",
                        after[2 * i] - before[2 * i],
                        after[2 * i + 1] - before[2 * i + 1]
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
        }
    }
    println!(
        "## re-sync, nothing changed: {n} objects of 100 bytes, memory 1 ms per get/put/head/list \
         (median of {} runs)\n",
        args.runs
    );
    println!(
        "first sync (copies all, concurrency 32): {}\n",
        ms(first_took)
    );
    println!("| compare | concurrency | wall time (median) | runs | requests source/destination |");
    println!("|---|---|---|---|---|");
    for (case, &(label, concurrency, _)) in cases.iter().enumerate() {
        let runs: Vec<String> = times[case]
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
            .collect();
        println!(
            "| {label} | {concurrency} | {} | {} | {} |",
            ms(median(times[case].clone())),
            runs.join(", "),
            requests[case]
        );
    }
}
