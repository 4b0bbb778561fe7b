//! Metrics for Prometheus: install the `metrics` facade's Prometheus recorder, run
//! stratus operations on a store with `metrics = true`, and print what a scrape of
//! `/metrics` would return (serve `handle.render()` from your HTTP server, or use the
//! exporter's own listener).
//!
//! ```text
//! cargo run --example prometheus                                  # the bundled sample tree
//! cargo run --example prometheus -- fixtures/stores/emulators.toml moto
//! ```

use metrics_exporter_prometheus::PrometheusBuilder;
use stratus::inventory::{scan, ScanOptions};
use stratus::Config;

#[tokio::main]
async fn main() -> stratus::Result<()> {
    // Before any store runs an operation: handles are taken from the recorder then.
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other recorder is installed");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = args
        .first()
        .map_or("fixtures/stores/local.toml", String::as_str);
    let config = Config::load(file)?;
    let name = match args.get(1) {
        Some(name) => name.as_str(),
        None => config.default_name()?,
    };
    // `metrics = true` in the file does this; here it is turned on for whatever store
    // the file names.
    let mut settings = config.get(name)?.settings.clone();
    settings.metrics = true;
    let store = settings.apply(name, config.open(name)?);
    let report = scan(store.as_ref(), None, &ScanOptions::default()).await?;
    eprintln!("{} objects inventoried; the metrics:\n", report.objects);
    print!("{}", handle.render());
    Ok(())
}
