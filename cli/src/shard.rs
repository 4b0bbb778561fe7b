//! Sharded stores: where keys live, and moving objects after a membership change.
//!
//! ```text
//! cargo run --release --example shard                              # a demo in a temp folder
//! cargo run --release --example shard -- locate stores.toml objects KEY...
//! cargo run --release --example shard -- plan stores.toml objects
//! cargo run --release --example shard -- rebalance stores.toml objects [--dry-run]
//! ```
//!
//! A membership change is described in the config file: the sharded store's `members` is
//! the new membership and `previous` the old one. `plan` lists every member and prints
//! what must move; `rebalance` moves it (copy, verify, delete the original), and can be
//! interrupted and run again. Once `plan` shows nothing to move, drop `previous`.

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStoreExt;
use stratus::shard::{self, Compare, ExecuteOptions, Plan, Prefer, ShardedStore};
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Config;
use stratus::Progress;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/progress.rs"]
mod progress;
use progress::ProgressLine;

#[derive(Parser)]
#[command(about = "Show where keys live in a sharded store, and rebalance it")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print the member that owns each key (and its previous owner, while rebalancing).
    Locate {
        /// The config file.
        config: String,
        /// The sharded store in it.
        store: String,
        /// Keys to place.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// List every member and print the moves from `previous` to `members`.
    Plan {
        /// The config file.
        config: String,
        /// The sharded store in it.
        store: String,
    },
    /// Plan, then move every misplaced object to its owner.
    Rebalance {
        /// The config file.
        config: String,
        /// The sharded store in it.
        store: String,
        /// Print the plan and what would be done; touch nothing.
        #[arg(long)]
        dry_run: bool,
        /// Moves in flight at once.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
        /// How each copy is checked before its original is deleted.
        #[arg(long, value_enum, default_value_t = VerifyArg::Content)]
        verify: VerifyArg,
        /// Which version survives when an object's owner already holds a different one.
        #[arg(long, value_enum, default_value_t = PreferArg::Keep)]
        prefer: PreferArg,
    },
    /// Shard 2,000 objects over three local folders, add a fourth member of weight 2,
    /// plan and rebalance (in a temporary folder).
    Demo,
}

#[derive(Clone, Copy, ValueEnum)]
enum VerifyArg {
    /// Compare sizes.
    Size,
    /// Read the copy back and compare XXH3-128 digests.
    Content,
}

#[derive(Clone, Copy, ValueEnum)]
enum PreferArg {
    /// The owner's version wins if provably newer; otherwise keep both and report.
    Keep,
    /// The provably newer version wins, wherever it is; otherwise keep both.
    Newest,
    /// The old member's version replaces the owner's.
    Source,
    /// The owner's version wins; the old member's is deleted.
    Destination,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command.unwrap_or(Command::Demo) {
        Command::Locate {
            config,
            store,
            keys,
        } => locate(&config, &store, &keys),
        Command::Plan { config, store } => match open(&config, &store) {
            Ok((_, store)) => shard::plan(&store).await.and_then(|plan| print_plan(&plan)),
            Err(e) => Err(e),
        },
        Command::Rebalance {
            config,
            store,
            dry_run,
            concurrency,
            verify,
            prefer,
        } => {
            let options = ExecuteOptions::default()
                .with_dry_run(dry_run)
                .with_concurrency(concurrency)
                .with_verify(match verify {
                    VerifyArg::Size => Compare::Size,
                    VerifyArg::Content => Compare::Content,
                })
                .with_prefer(match prefer {
                    PreferArg::Keep => Prefer::Keep,
                    PreferArg::Newest => Prefer::Newest,
                    PreferArg::Source => Prefer::Source,
                    PreferArg::Destination => Prefer::Destination,
                });
            match open(&config, &store) {
                Ok((_, store)) => rebalance(&store, &options).await,
                Err(e) => Err(e),
            }
        }
        Command::Demo => demo().await,
    };
    cli::finish(result, false)
}

fn open(config: &str, store: &str) -> stratus::Result<(Config, ShardedStore)> {
    let config = Config::load(config)?;
    let sharded = config.open_sharded(store)?;
    Ok((config, sharded))
}

fn locate(config: &str, store: &str, keys: &[String]) -> stratus::Result<()> {
    let (_, sharded) = open(config, store)?;
    let previous = sharded.previous();
    let width = keys.iter().map(|k| k.len()).max().unwrap_or(3).max(3);
    match previous {
        None => println!("{:width$}  owner", "key"),
        Some(_) => println!("{:width$}  owner  (previous owner)", "key"),
    }
    for key in keys {
        let path = stratus::key::parse_key(key)?;
        let key = terminal(key);
        let owner = sharded.owner(&path);
        let was = previous.map(|p| p.members()[p.locate(path.as_ref().as_bytes())].name());
        match was {
            Some(was) if was != owner => println!("{key:width$}  {owner}  ({was})"),
            _ => println!("{key:width$}  {owner}"),
        }
    }
    Ok(())
}

fn print_plan(plan: &Plan) -> stratus::Result<()> {
    println!(
        "listed {} objects, {} on all members",
        thousands(plan.objects),
        human_bytes(plan.bytes)
    );
    if plan.moves.is_empty() {
        println!("every object is on its owner: nothing to move");
        return Ok(());
    }
    let routes = plan.routes();
    let width = routes
        .keys()
        .map(|(from, to)| from.len() + to.len() + 4)
        .max()
        .unwrap_or(0)
        .max(5);
    println!("\n{:width$}  {:>10}  {:>10}", "route", "objects", "bytes");
    for ((from, to), route) in &routes {
        println!(
            "{:width$}  {:>10}  {:>10}",
            format!("{from} -> {to}"),
            thousands(route.moves),
            human_bytes(route.bytes)
        );
    }
    let share = plan.moves.len() as f64 / plan.objects.max(1) as f64 * 100.0;
    println!(
        "{:width$}  {:>10}  {:>10}   ({share:.1}% of objects)",
        "total",
        thousands(plan.moves.len() as u64),
        human_bytes(plan.move_bytes())
    );
    Ok(())
}

async fn rebalance(store: &ShardedStore, options: &ExecuteOptions) -> stratus::Result<()> {
    let plan = shard::plan(store).await?;
    print_plan(&plan)?;
    if plan.moves.is_empty() {
        return Ok(());
    }
    let mut options = options.clone();
    let bar = std::io::stderr().is_terminal().then(ProgressLine::new);
    if let Some(bar) = &bar {
        let bar = Arc::clone(bar);
        options = options.with_progress(move |p: Progress| {
            let total = p.total.unwrap_or(p.done);
            bar.update(p.done == total, |secs| {
                let width = 30;
                let filled = (p.fraction().unwrap_or(0.0) * width as f64) as usize;
                format!(
                    "[{}{}] {}/{} moves, {} ({}/s), {} failed",
                    "#".repeat(filled),
                    " ".repeat(width - filled),
                    thousands(p.done),
                    thousands(total),
                    human_bytes(p.bytes),
                    human_bytes((p.bytes as f64 / secs) as u64),
                    p.failed
                )
            })
        });
    }
    let report = shard::execute(store, &plan, &options).await;
    if let Some(bar) = &bar {
        bar.clear();
    }
    if report.dry_run {
        println!(
            "\ndry run: would move {} objects ({}); nothing was touched",
            thousands(report.moved),
            human_bytes(report.bytes)
        );
        return Ok(());
    }
    println!(
        "\nmoved {} objects ({}), {} already on their owner, {} superseded by a newer version \
         there, {} gone since the plan, {} in conflict, {} failed",
        thousands(report.moved),
        human_bytes(report.bytes),
        thousands(report.already_there),
        thousands(report.superseded),
        thousands(report.vanished),
        thousands(report.conflicted),
        thousands(report.failed)
    );
    for conflict in report.conflicts.iter().take(20) {
        let version = |m: &stratus::object_store::ObjectMeta| {
            format!("{}, {}", human_bytes(m.size), m.last_modified.to_rfc3339())
        };
        println!(
            "  conflict {}: {} has {}; owner {} has {}",
            terminal(conflict.what.location.as_ref()),
            conflict.what.from,
            version(&conflict.source),
            conflict.what.to,
            version(&conflict.destination)
        );
    }
    if !report.conflicts.is_empty() {
        println!(
            "both versions of each conflict were kept; choose with --prefer \
             newest|source|destination and run again"
        );
    }
    for failure in report.failures.iter().take(20) {
        println!(
            "  {} ({} -> {}): {}",
            terminal(failure.what.location.as_ref()),
            failure.what.from,
            failure.what.to,
            terminal(&failure.error.to_string())
        );
    }
    if !report.failures.is_empty() {
        println!("every failed object is still on its old member; run again to retry");
    }
    Ok(())
}

async fn demo() -> stratus::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary folder for the demo");
    let write = |text: &str| {
        let path = dir.path().join("stores.toml");
        std::fs::write(&path, text).expect("write the demo config");
        path
    };
    let members = r#"
[stores.east]
provider = "local"
root = "east"
create_root = true
[stores.west]
provider = "local"
root = "west"
create_root = true
[stores.north]
provider = "local"
root = "north"
create_root = true
[stores.south]
provider = "local"
root = "south"
create_root = true
"#;
    let before = format!(
        "{members}[stores.objects]\nprovider = \"sharded\"\nmembers = [\"east\", \"west\", \"north\"]\n"
    );
    let config = Config::load(write(&before))?;
    let store = config.open("objects")?;
    println!("demo in {}", dir.path().display());
    println!("writing 2,000 objects to `objects`, sharded over east, west, north");
    for i in 0..2000u32 {
        let key = Path::from(format!("logs/{:02}/{i:05}.log", i % 24));
        let body = vec![b'x'; 100 + (i as usize * 37) % 4000];
        store
            .put(&key, body.into())
            .await
            .map_err(|e| stratus::Error::in_store(&*store, e))?;
    }

    let after = format!(
        "{members}[stores.objects]\nprovider = \"sharded\"\n\
         members = [\"east\", \"west\", \"north\", {{ store = \"south\", weight = 2 }}]\n\
         previous = [\"east\", \"west\", \"north\"]\n"
    );
    println!("\nadding `south` with weight 2 (config now has `previous`):\n");
    let path = write(&after);
    let (_, sharded) = open(path.to_str().expect("utf-8 temp path"), "objects")?;
    locate(
        path.to_str().expect("utf-8 temp path"),
        "objects",
        &["logs/00/00000.log".into(), "logs/05/00029.log".into()],
    )?;
    println!();
    rebalance(&sharded, &ExecuteOptions::default()).await?;
    println!("\nplanning again:");
    print_plan(&shard::plan(&sharded).await?)
}
