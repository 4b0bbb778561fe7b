//! The same code against whichever store a configuration names: swapping providers is an
//! edit of the config file (or a different URL), not of this program.
//!
//! ```text
//! cargo run --example swap_provider                                   # bundled sample tree
//! cargo run --example swap_provider -- fixtures/stores/emulators.toml --store moto --write-probe
//! cargo run --example swap_provider -- s3://my-bucket/some/prefix?region=eu-west-1
//! ```

use clap::Parser;
use futures::TryStreamExt;
use std::process::ExitCode;
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStoreExt;

#[path = "support/cli.rs"]
mod cli;

#[derive(Parser)]
#[command(about = "Open a store by configuration and show what it holds")]
struct Args {
    /// A config file (TOML/JSON) or a store URL (s3://, gs://, az://, file://, memory://).
    #[arg(default_value = "fixtures/stores/local.toml")]
    source: String,
    /// The store to open from a config file (default: the file's `default`).
    #[arg(long)]
    store: Option<String>,
    /// Also write, read back and delete a small probe object.
    #[arg(long)]
    write_probe: bool,
    /// On failure, print the full error (with the server's response) too.
    #[arg(long, short)]
    verbose: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    cli::finish(run(&args).await, args.verbose)
}

/// Provider-neutral code: nothing below knows which cloud it talks to.
async fn run(args: &Args) -> stratus::Result<()> {
    let store = stratus::open_with(&args.source, args.store.as_deref())?;
    // object_store's errors, with the store they came from.
    let failed = |source| stratus::Error::in_store(&store, source);
    println!("store: {store}");

    let top = store.list_with_delimiter(None).await.map_err(failed)?;
    println!(
        "top level: {} folders, {} objects",
        top.common_prefixes.len(),
        top.objects.len()
    );
    for prefix in &top.common_prefixes {
        println!("  {}/", stratus::text::terminal(prefix.as_ref()));
    }

    let (count, bytes) = store
        .list(None)
        .try_fold((0u64, 0u64), |(n, b), meta| async move {
            Ok((n + 1, b + meta.size))
        })
        .await
        .map_err(failed)?;
    println!("everything: {count} objects, {bytes} bytes");

    if args.write_probe {
        let probe = Path::from("stratus-probe/hello.txt");
        store
            .put(&probe, "hello from stratus".into())
            .await
            .map_err(failed)?;
        let back = store
            .get(&probe)
            .await
            .map_err(failed)?
            .bytes()
            .await
            .map_err(failed)?;
        store.delete(&probe).await.map_err(failed)?;
        println!("probe: wrote, read back {} bytes, deleted", back.len());
    }
    Ok(())
}
