//! The same code against whichever store a configuration names: swapping providers is an
//! edit of the config file (or a different URL), not of this program.
//!
//! ```text
//! cargo run --example swap_provider                                   # bundled sample tree
//! cargo run --example swap_provider -- fixtures/stores/emulators.toml --store moto --write-probe
//! cargo run --example swap_provider -- s3://my-bucket/some/prefix?region=eu-west-1
//! ```

use futures::TryStreamExt;
use std::process::ExitCode;
use stratus::object_store::{path::Path, ObjectStoreExt};

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name);
    let store = flag("--store")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str);
    let source = match args.first() {
        Some(first) if !first.starts_with("--") => first.as_str(),
        _ => "fixtures/stores/local.toml",
    };
    match run(source, store, flag("--write-probe").is_some()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line a person can act on (made terminal-safe), and what to check.
            eprintln!("error: {}", e.brief());
            if let Some(advice) = e.advice() {
                eprintln!("  → {advice}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Provider-neutral code: nothing below knows which cloud it talks to.
async fn run(source: &str, name: Option<&str>, probe: bool) -> stratus::Result<()> {
    let store = stratus::open_with(source, name)?;
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

    if probe {
        let key = Path::from("stratus-probe/hello.txt");
        store
            .put(&key, "hello from stratus".into())
            .await
            .map_err(failed)?;
        let back = store
            .get(&key)
            .await
            .map_err(failed)?
            .bytes()
            .await
            .map_err(failed)?;
        store.delete(&key).await.map_err(failed)?;
        println!("probe: wrote, read back {} bytes, deleted", back.len());
    }
    Ok(())
}
