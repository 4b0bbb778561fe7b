//! What the settings cost and whether the limits hold:
//!
//! - `overhead`: metrics + tracing on an in-memory store, per operation, with no recorder
//!   or subscriber installed, then with real ones (the Prometheus recorder; a tracing
//!   registry filtered at INFO, as in production, then one recording every span);
//! - `inventory`: the inventory of 20,000 objects on SeaweedFS (needs the emulators:
//!   `scripts/emulators.sh start && source target/emulators/env`), observed or not;
//! - `rate`: `requests_per_second = 200` held for 10 s by 8 callers as fast as they can;
//! - `layers`: the redacting layer every cloud store has, per operation on InMemory.
//!
//! ```text
//! cargo bench --bench observe -- --runs 7 overhead rate inventory
//! ```

#[path = "support/timing.rs"]
mod timing;
use futures::StreamExt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use stratus::config::{Limits, StoreSettings};
use stratus::inventory::{scan, ScanOptions};
use stratus::object_store::memory::InMemory;
use stratus::object_store::path::Path;
use stratus::object_store::{ObjectStore, ObjectStoreExt};
use timing::median;

#[path = "support/seaweed.rs"]
mod seaweed;

fn observed(store: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
    let mut settings = StoreSettings::default();
    settings.metrics = true;
    settings.tracing = true;
    settings.apply("bench", store)
}

/// `OPS` puts then `OPS` gets of 16 bytes, one after another: the time per operation.
async fn per_op(store: &dyn ObjectStore) -> Duration {
    const OPS: u32 = 20_000;
    let keys: Vec<Path> = (0..OPS).map(|i| Path::from(format!("k/{i}"))).collect();
    let started = Instant::now();
    for key in &keys {
        store.put(key, vec![0u8; 16].into()).await.unwrap();
    }
    for key in &keys {
        store.get(key).await.unwrap().bytes().await.unwrap();
    }
    started.elapsed() / (2 * OPS)
}

async fn overhead_phase(runs: usize, label: &str) {
    let (mut bare, mut seen) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let plain: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let wrapped = observed(Arc::new(InMemory::new()));
        if run % 2 == 0 {
            bare.push(per_op(plain.as_ref()).await);
            seen.push(per_op(wrapped.as_ref()).await);
        } else {
            seen.push(per_op(wrapped.as_ref()).await);
            bare.push(per_op(plain.as_ref()).await);
        }
    }
    let (b, s) = (median(bare), median(seen));
    println!(
        "| {label} | {} ns | {} ns | {:+} ns | {:.3} |",
        b.as_nanos(),
        s.as_nanos(),
        s.as_nanos() as i64 - b.as_nanos() as i64,
        s.as_secs_f64() / b.as_secs_f64()
    );
}

async fn overhead(runs: usize) {
    println!("\n## metrics + tracing on InMemory: time per operation (20,000 puts + 20,000 gets of 16 bytes, median of {runs}, alternating)\n");
    println!("| recorder / subscriber | bare | observed | difference | ratio |");
    println!("|---|---|---|---|---|");
    overhead_phase(runs, "none installed (no-op)").await;
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("install the Prometheus recorder");
    {
        use tracing_subscriber::layer::SubscriberExt;
        // A production setting: spans at INFO and above (stratus's are DEBUG: off).
        let subscriber =
            tracing_subscriber::registry().with(tracing_subscriber::filter::LevelFilter::INFO);
        let _guard = tracing::subscriber::set_default(subscriber);
        overhead_phase(runs, "Prometheus recorder; tracing registry at INFO").await;
    }
    {
        // Every span recorded (a registry with no filter: stratus's DEBUG spans on).
        let _guard = tracing::subscriber::set_default(tracing_subscriber::registry());
        overhead_phase(runs, "Prometheus recorder; tracing registry at DEBUG").await;
    }
    let rendered = handle.render();
    assert!(rendered.contains("stratus_operations_total"));
    println!("\n(target: <= 150 ns per operation)");
}

/// What the layer every cloud store is built in costs (RedactedStore: each call's error
/// searched for secrets, on success nothing), per operation on InMemory.
async fn layers(runs: usize) {
    let (mut bare, mut wrapped) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let plain: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let redacted = stratus::layer::RedactedStore::wrap(
            Arc::new(InMemory::new()),
            vec!["a-secret-of-forty-bytes-0123456789abcdef".into()],
        );
        let mut pair = [(&plain, &mut bare), (&redacted, &mut wrapped)];
        if run % 2 == 1 {
            pair.reverse();
        }
        for (store, times) in pair {
            times.push(per_op(store.as_ref()).await);
        }
    }
    let (b, w) = (median(bare), median(wrapped));
    println!("\n## RedactedStore on InMemory: time per operation (20,000 puts + 20,000 gets of 16 bytes, median of {runs}, alternating)\n");
    println!("| bare | redacted | difference | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| {} ns | {} ns | {:+} ns | {:.3} |",
        b.as_nanos(),
        w.as_nanos(),
        w.as_nanos() as i64 - b.as_nanos() as i64,
        w.as_secs_f64() / b.as_secs_f64()
    );
}

async fn rate(seconds: u64) {
    const RATE: f64 = 200.0;
    let mut limits = Limits::default();
    limits.requests_per_second = Some(RATE);
    let mut settings = StoreSettings::default();
    settings.limits = Some(limits);
    let store = settings.apply("rated", Arc::new(InMemory::new()));
    store.put(&Path::from("k"), "v".into()).await.unwrap();
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let done: Vec<u64> = futures::stream::iter(0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    store.head(&Path::from("k")).await.unwrap();
                    n += 1;
                }
                n
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let total: u64 = done.iter().sum();
    let measured = total as f64 / started.elapsed().as_secs_f64();
    println!("\n## requests_per_second = {RATE}: 8 callers as fast as they can for {seconds} s\n");
    println!("| requests | seconds | measured rate | / limit |");
    println!("|---|---|---|---|");
    println!(
        "| {total} | {:.2} | {measured:.1}/s | {:.3} |",
        started.elapsed().as_secs_f64(),
        measured / RATE
    );
    println!("\n(target: within 10% of the limit)");
}

async fn inventory(runs: usize) {
    const OBJECTS: u64 = 20_000;
    let Some(store) = seaweed::filled("bench-observe-20000", OBJECTS).await else {
        return;
    };
    let options = ScanOptions::default();
    let wrapped = observed(Arc::clone(&store));
    let (mut bare, mut seen) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let order: [(&Arc<dyn ObjectStore>, bool); 2] = if run % 2 == 0 {
            [(&store, false), (&wrapped, true)]
        } else {
            [(&wrapped, true), (&store, false)]
        };
        for (s, is_observed) in order {
            let started = Instant::now();
            let report = scan(s.as_ref(), None, &options).await.unwrap();
            assert!(report.objects >= OBJECTS);
            let took = started.elapsed();
            if is_observed {
                seen.push(took);
            } else {
                bare.push(took);
            }
        }
    }
    let (b, s) = (median(bare), median(seen));
    println!("\n## inventory of {OBJECTS} objects on SeaweedFS, observed (metrics + tracing) or not (median of {runs}, alternating; recorder/subscriber as installed by the sections before)\n");
    println!("| bare | observed | ratio |");
    println!("|---|---|---|");
    println!(
        "| {:.1} ms | {:.1} ms | {:.3} |",
        b.as_secs_f64() * 1e3,
        s.as_secs_f64() * 1e3,
        s.as_secs_f64() / b.as_secs_f64()
    );
    println!("\n(target: <= 1.02)");
}

#[tokio::main]
async fn main() {
    let mut args: Vec<String> = timing::args();
    let mut runs = 7;
    if let Some(at) = args.iter().position(|a| a == "--runs") {
        runs = args[at + 1].parse().expect("--runs N");
        args.drain(at..at + 2);
    }
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if cfg!(debug_assertions) {
        println!("warning: a debug build; run with --release for meaningful numbers");
    }
    if want("rate") {
        rate(10).await;
    }
    if want("overhead") {
        overhead(runs).await;
    }
    if want("inventory") {
        inventory(runs).await;
    }
    if want("layers") {
        layers(runs).await;
    }
}
