//! Metrics for Prometheus: install the `metrics` facade's Prometheus recorder, run
//! stratus operations on a store with `metrics = true`, and print what a scrape of
//! `/metrics` would return (serve `handle.render()` from your HTTP server, or use the
//! exporter's own listener).
//!
//! ```text
//! cargo run --example prometheus                                  # the bundled sample tree
//! cargo run --example prometheus -- fixtures/stores/emulators.toml --store moto
//! ```

use clap::Parser;
use metrics_exporter_prometheus::PrometheusBuilder;
use std::process::ExitCode;
use stratus::inventory::{scan, ScanOptions};
use stratus::Config;

#[path = "support/cli.rs"]
mod cli;

#[derive(Parser)]
#[command(about = "Inventory a configured store with metrics on and print them for Prometheus")]
struct Args {
    /// A config file.
    #[arg(default_value = "fixtures/stores/local.toml")]
    config: String,
    /// The store (default: the file's `default`).
    #[arg(long)]
    store: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    cli::finish(run(&args).await, false)
}

async fn run(args: &Args) -> stratus::Result<()> {
    // Before any store runs an operation: handles are taken from the recorder then.
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .expect("no other recorder is installed");
    let config = Config::load(&args.config)?;
    let name = match &args.store {
        Some(name) => name.clone(),
        None => config.default_name()?.to_string(),
    };
    // `metrics = true` in the file does this; here it is turned on for whatever store
    // the file names.
    let mut settings = config.get(&name)?.settings.clone();
    settings.metrics = true;
    let store = settings.apply(&name, config.open(&name)?);
    let report = scan(store.as_ref(), None, &ScanOptions::default()).await?;
    eprintln!("{} objects inventoried; the metrics:\n", report.objects);
    print!("{}", handle.render());
    Ok(())
}
