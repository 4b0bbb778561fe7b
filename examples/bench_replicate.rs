//! Replication benchmarks: fan-out cost of replicated writes, hedged vs ordered reads with
//! a slow member, sync throughput by concurrency. Members are in-memory stores behind
//! `FaultyStore` delays (a stand-in for network latency that is the same on every run),
//! and, for sync, local folders. Each comparison is measured side by side in one run.
//!
//! ```text
//! cargo run --release --example bench_replicate [-- --runs 5]
//! ```

use clap::Parser;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::object_store::memory::InMemory;
use stratus::object_store::path::Path;
use stratus::object_store::{ObjectStore, ObjectStoreExt};
use stratus::replicate::{self, ReadPolicy, ReplicatedStore, SyncOptions};

#[derive(Parser)]
struct Args {
    /// Runs of each measurement (medians are reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Objects for the sync benchmark.
    #[arg(long, default_value_t = 10_000)]
    objects: usize,
}

fn delayed(op: Op, delay: Duration) -> Arc<FaultyStore> {
    let store = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    store.inject(Fault::delay(op, delay));
    store
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    put_fan_out(args.runs).await;
    hedged_reads(args.runs).await;
    sync_throughput(args.objects).await;
}

/// 20 puts of 1 MiB, one after another, to one member vs to a 3-member replicated store
/// (write = all), every member taking 10 ms per put.
async fn put_fan_out(runs: usize) {
    const PUTS: usize = 20;
    let delay = Duration::from_millis(10);
    let body = bytes::Bytes::from(vec![7u8; 1 << 20]);
    let (mut single, mut replicated) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let one: Arc<dyn ObjectStore> = delayed(Op::Put, delay);
        let members: Vec<(String, Arc<dyn ObjectStore>)> = (0..3)
            .map(|i| {
                let store: Arc<dyn ObjectStore> = delayed(Op::Put, delay);
                (format!("m{i}"), store)
            })
            .collect();
        let three = ReplicatedStore::new(members).unwrap();
        for (store, times) in [
            (&one, &mut single),
            (&(Arc::new(three) as Arc<dyn ObjectStore>), &mut replicated),
        ] {
            let start = Instant::now();
            for i in 0..PUTS {
                store
                    .put(&Path::from(format!("o{i}")), body.clone().into())
                    .await
                    .unwrap();
            }
            times.push(start.elapsed());
        }
    }
    let (s, r) = (median(single), median(replicated));
    println!("## put: {PUTS} × 1 MiB, each member 10 ms per put (median of {runs})\n");
    println!("| store | wall time | per put |");
    println!("|---|---|---|");
    println!("| one member | {} | {} |", ms(s), ms(s / PUTS as u32));
    println!(
        "| replicated, 3 members, write = all | {} | {} |",
        ms(r),
        ms(r / PUTS as u32)
    );
    println!(
        "\nratio replicated / single: {:.3} (target ≤ 1.2)\n",
        r.as_secs_f64() / s.as_secs_f64()
    );
}

/// Gets from a 2-member store whose primary takes 100 ms and whose second member takes
/// 5 ms: ordered reads wait for the primary; hedged reads (after 10 ms) take the fast one.
async fn hedged_reads(runs: usize) {
    const GETS: usize = 20;
    let slow = delayed(Op::Get, Duration::from_millis(100));
    let fast = delayed(Op::Get, Duration::from_millis(5));
    let members: Vec<(String, Arc<dyn ObjectStore>)> = vec![
        ("slow".into(), slow.clone() as Arc<dyn ObjectStore>),
        ("fast".into(), fast.clone() as Arc<dyn ObjectStore>),
    ];
    let ordered = ReplicatedStore::new(members).unwrap();
    let hedged = ordered
        .clone()
        .with_read(ReadPolicy::Hedged(Duration::from_millis(10)));
    let key = Path::from("k");
    ordered.put(&key, "v".into()).await.unwrap();
    let (mut o, mut h) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        for (store, times) in [(&ordered, &mut o), (&hedged, &mut h)] {
            for _ in 0..GETS {
                let start = Instant::now();
                store.get(&key).await.unwrap().bytes().await.unwrap();
                times.push(start.elapsed());
            }
        }
    }
    println!(
        "## get: primary 100 ms, second member 5 ms ({} gets each)\n",
        runs * GETS
    );
    println!("| read policy | median latency |");
    println!("|---|---|");
    println!("| ordered | {} |", ms(median(o)));
    println!("| hedged after 10 ms | {} |", ms(median(h)));
    println!();
}

/// sync of `n` small objects between in-memory stores taking 1 ms per request, and
/// between two local folders, at concurrency 1 and 32.
async fn sync_throughput(n: usize) {
    println!("## sync: {n} objects of 100 bytes\n");
    println!("| stores | concurrency | wall time | objects/s |");
    println!("|---|---|---|---|");
    for concurrency in [1, 32] {
        let src = Arc::new(InMemory::new());
        for i in 0..n {
            src.put(&Path::from(format!("k/{i:06}")), vec![1u8; 100].into())
                .await
                .unwrap();
        }
        let delay = Duration::from_millis(1);
        let src_delayed = Arc::new(FaultyStore::new(src));
        src_delayed.inject(Fault::delay(Op::Get, delay));
        let dst = delayed(Op::Put, delay);
        let start = Instant::now();
        let report = replicate::sync(
            &*src_delayed,
            &*dst,
            &SyncOptions::default().with_concurrency(concurrency),
        )
        .await
        .unwrap();
        let took = start.elapsed();
        assert_eq!(report.copied as usize, n);
        println!(
            "| memory, 1 ms per get and put | {concurrency} | {} | {:.0} |",
            ms(took),
            n as f64 / took.as_secs_f64()
        );
    }
    for concurrency in [1, 32] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("s.toml"),
            "[stores.a]\nprovider = \"local\"\nroot = \"a\"\ncreate_root = true\n\
             [stores.b]\nprovider = \"local\"\nroot = \"b\"\ncreate_root = true\n",
        )
        .unwrap();
        let config = stratus::Config::load(dir.path().join("s.toml")).unwrap();
        let (a, b) = (config.open("a").unwrap(), config.open("b").unwrap());
        for i in 0..n {
            a.put(
                &Path::from(format!("d{}/k{i:06}", i % 100)),
                vec![1u8; 100].into(),
            )
            .await
            .unwrap();
        }
        let start = Instant::now();
        let report = replicate::sync(
            &*a,
            &*b,
            &SyncOptions::default().with_concurrency(concurrency),
        )
        .await
        .unwrap();
        let took = start.elapsed();
        assert_eq!(report.copied as usize, n);
        println!(
            "| local folders | {concurrency} | {} | {:.0} |",
            ms(took),
            n as f64 / took.as_secs_f64()
        );
    }
}
