//! Print a presigned URL for a key of a configured store (S3, GCS, Azure): anyone with
//! the URL may GET (or PUT) that one object until it expires, with no credentials.
//!
//! ```text
//! cargo run --example sign -- fixtures/stores/emulators.toml seaweedfs docs/report.pdf
//! cargo run --example sign -- stores.toml aws uploads/new.bin --method put --expires 600
//! curl "$(cargo run -q --example sign -- stores.toml aws docs/report.pdf)"
//! ```

use clap::{Parser, ValueEnum};
use std::process::ExitCode;
use std::time::Duration;
use stratus::object_store::signer::Method;
use stratus::Config;

#[path = "support/cli.rs"]
mod cli;

#[derive(Parser)]
#[command(about = "Print a presigned GET or PUT URL for a key of a configured store")]
struct Args {
    /// The config file.
    config: String,
    /// The store (its provider must be s3, gcs or azure).
    store: String,
    /// The object's key in that store (below its prefix).
    key: String,
    /// What the URL allows.
    #[arg(long, value_enum, default_value_t = Verb::Get)]
    method: Verb,
    /// Seconds until the URL expires.
    #[arg(long, default_value_t = 3600)]
    expires: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Verb {
    Get,
    Put,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    cli::finish(run(&args).await, false)
}

async fn run(args: &Args) -> stratus::Result<()> {
    let config = Config::load(&args.config)?;
    let signer = config.signer(&args.store)?;
    let method = match args.method {
        Verb::Get => Method::GET,
        Verb::Put => Method::PUT,
    };
    let key = stratus::key::parse_key(&args.key)?;
    let url = signer
        .signed_url(method, &key, Duration::from_secs(args.expires))
        .await
        .map_err(|e| stratus::Error::in_store(&args.store, e))?;
    println!("{url}");
    Ok(())
}
