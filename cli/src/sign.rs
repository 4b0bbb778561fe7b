//! `stratus sign STORE KEY`: a presigned URL for a key of a configured store (S3, GCS,
//! Azure): anyone with the URL may GET (or PUT) that one object until it expires, with
//! no credentials.

use crate::config::Context;
use crate::finish::Outcome;
use clap::ValueEnum;
use std::time::Duration;
use stratus::object_store::signer::Method;

#[derive(clap::Args)]
pub struct Args {
    /// The store (a name in the config file; its provider must be s3, gcs or azure).
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

/// `stratus sign`.
pub async fn run(context: &Context, args: &Args) -> Outcome {
    let (config, _) = context.load_resolved().await?;
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
