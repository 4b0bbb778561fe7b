//! Replication benchmarks: fan-out cost of replicated writes, hedged vs ordered reads with
//! a slow member, sync throughput by concurrency, quorum writes with a hung member
//! (member timeout and breaker), and the journal's cost. Members are in-memory stores behind
//! `FaultyStore` delays (a stand-in for network latency that is the same on every run),
//! and, for sync, local folders. Each comparison is measured side by side in one run.
//!
//! ```text
//! cargo bench --bench replicate [-- --runs 5]
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
use stratus::replicate::{self, Breaker, ReadPolicy, ReplicatedStore, SyncOptions, WritePolicy};
use timing::{median, ms};

#[derive(Parser)]
struct Args {
    /// What `cargo bench` adds to every bench's arguments (ignored).
    #[arg(long, hide = true)]
    bench: bool,
    /// Only these sections (all when none): fanout, hedged, sync, hung, journal, memory.
    sections: Vec<String>,
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

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let run = |name: &str| args.sections.is_empty() || args.sections.iter().any(|s| s == name);
    if run("fanout") {
        put_fan_out(args.runs).await;
    }
    if run("memory") {
        memory_writes(args.runs).await;
    }
    if run("hedged") {
        hedged_reads(args.runs).await;
    }
    if run("sync") {
        sync_throughput(args.objects).await;
    }
    if run("hung") {
        hung_member(args.runs).await;
    }
    if run("journal") {
        journal_cost(args.runs).await;
    }
}

/// The 99th percentile of `xs`.
fn p99(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[(xs.len() * 99 / 100).min(xs.len() - 1)]
}

/// Quorum-2 writes to three members taking 2 ms per put: all healthy, vs one that hangs
/// (never answers) behind a 100 ms member timeout, with and without a breaker (3
/// failures, 60 s), and with a journal.
async fn hung_member(runs: usize) {
    const PUTS: usize = 500;
    let delay = Duration::from_millis(2);
    let build = |hung: bool, breaker: bool, journal: Option<&std::path::Path>| {
        let members: Vec<(String, Arc<dyn ObjectStore>)> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                let store = delayed(Op::Put, delay);
                if hung && *name == "c" {
                    store.inject(Fault::delay(Op::Put, Duration::from_secs(3600)));
                }
                (name.to_string(), store as Arc<dyn ObjectStore>)
            })
            .collect();
        let mut store = ReplicatedStore::new(members)
            .unwrap()
            .with_write(WritePolicy::Quorum(2))
            .unwrap()
            .with_member_timeout(Duration::from_millis(100));
        if breaker {
            store = store.with_breaker(Breaker::new(3, Duration::from_secs(60)));
        }
        if let Some(folder) = journal {
            store = store.with_journal(folder.join("journal")).unwrap();
        }
        store
    };
    // (label, hung, breaker, journal)
    let cases = [
        ("all healthy", false, false, false),
        ("one hung, member timeout 100 ms", true, false, false),
        (
            "one hung, member timeout 100 ms, breaker after 3",
            true,
            true,
            false,
        ),
        ("all healthy, journal", false, false, true),
        (
            "one hung, member timeout 100 ms, journal",
            true,
            false,
            true,
        ),
    ];
    let mut p99s = vec![Vec::new(); cases.len()];
    for _ in 0..runs {
        for (case, &(_, is_hung, breaker, journal)) in cases.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let store = build(is_hung, breaker, journal.then_some(dir.path()));
            let mut latencies = Vec::with_capacity(PUTS);
            for i in 0..PUTS {
                let t = Instant::now();
                store
                    .put(&Path::from(format!("k{i}")), vec![1u8; 4096].into())
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            p99s[case].push(p99(latencies));
            store.flush().await;
        }
    }
    println!("\n## quorum-2 writes, one of three members hung ({PUTS} puts of 4 KiB, 2 ms per put, median of {runs} runs' p99)\n");
    println!("| members | p99 write latency | / all healthy (same journal setting) |");
    println!("|---|---|---|");
    let p99s: Vec<Duration> = p99s.into_iter().map(median).collect();
    for (case, &(label, _, _, journal)) in cases.iter().enumerate() {
        let base = p99s[if journal { 3 } else { 0 }];
        println!(
            "| {label} | {} | {:.3} |",
            ms(p99s[case]),
            p99s[case].as_secs_f64() / base.as_secs_f64()
        );
    }
    println!("\n(target: one hung <= 1.2x all healthy)");
}

/// Quorum-2 writes of 4 KiB to three local folders, without and with a journal (on a
/// local folder): all members healthy (nothing to record), and one member refusing every
/// put (every write recorded and fsynced).
async fn journal_cost(runs: usize) {
    const PUTS: usize = 1000;
    async fn once(journal: bool, failing: bool) -> Duration {
        let dir = tempfile::tempdir().unwrap();
        let members: Vec<(String, Arc<dyn ObjectStore>)> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                let folder = dir.path().join(name);
                std::fs::create_dir_all(&folder).unwrap();
                let store = Arc::new(FaultyStore::new(
                    stratus::open(&format!("file://{}", folder.display())).unwrap(),
                ));
                if failing && *name == "c" {
                    store.inject(Fault::fail(Op::Put));
                }
                (name.to_string(), store as Arc<dyn ObjectStore>)
            })
            .collect();
        let mut store = ReplicatedStore::new(members)
            .unwrap()
            .with_write(WritePolicy::Quorum(2))
            .unwrap();
        if journal {
            store = store.with_journal(dir.path().join("journal")).unwrap();
        }
        let t = Instant::now();
        for i in 0..PUTS {
            store
                .put(&Path::from(format!("k{i:04}")), vec![1u8; 4096].into())
                .await
                .unwrap();
        }
        t.elapsed()
    }
    println!("\n## journal cost: {PUTS} quorum-2 puts of 4 KiB to three local folders (median of {runs}, alternating which goes first)\n");
    println!("| members | no journal | journal | ratio |");
    println!("|---|---|---|---|");
    for failing in [false, true] {
        let (mut without, mut with) = (Vec::new(), Vec::new());
        // Alternating which goes first: the folders one run deletes are still being
        // written back while the next runs.
        for run in 0..runs {
            if run % 2 == 0 {
                without.push(once(false, failing).await);
                with.push(once(true, failing).await);
            } else {
                with.push(once(true, failing).await);
                without.push(once(false, failing).await);
            }
        }
        let (a, b) = (median(without), median(with));
        println!(
            "| {} | {} | {} | {:.3} |",
            if failing {
                "one refusing every put (every write journalled)"
            } else {
                "all healthy"
            },
            ms(a),
            ms(b),
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
    println!("\n(target: <= 1.10)");
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

/// The CPU cost of a replicated write: 20,000 puts of 16 bytes one after another to one
/// in-memory store, and to three in-memory members with write = all and quorum 2 (no
/// delay: what the fan-out, ordering and record cost by themselves).
async fn memory_writes(runs: usize) {
    const PUTS: u32 = 20_000;
    async fn once(store: &dyn ObjectStore) -> Duration {
        let started = Instant::now();
        for i in 0..PUTS {
            store
                .put(&Path::from(format!("k/{i}")), vec![0u8; 16].into())
                .await
                .unwrap();
        }
        started.elapsed() / PUTS
    }
    let replicated = |write: WritePolicy| -> Arc<dyn ObjectStore> {
        let members: Vec<(String, Arc<dyn ObjectStore>)> = ["a", "b", "c"]
            .iter()
            .map(|n| {
                (
                    n.to_string(),
                    Arc::new(InMemory::new()) as Arc<dyn ObjectStore>,
                )
            })
            .collect();
        Arc::new(
            ReplicatedStore::new(members)
                .unwrap()
                .with_write(write)
                .unwrap(),
        )
    };
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..runs {
        times[0].push(once(&InMemory::new()).await);
        times[1].push(once(replicated(WritePolicy::All).as_ref()).await);
        times[2].push(once(replicated(WritePolicy::Quorum(2)).as_ref()).await);
    }
    let [one, all, quorum] = times.map(median);
    println!("\n## replicated writes to in-memory members: time per put ({PUTS} puts of 16 bytes, median of {runs})\n");
    println!("| store | per put |");
    println!("|---|---|");
    println!("| one InMemory | {} ns |", one.as_nanos());
    println!("| 3 members, write = all | {} ns |", all.as_nanos());
    println!("| 3 members, quorum 2 | {} ns |", quorum.as_nanos());
}
