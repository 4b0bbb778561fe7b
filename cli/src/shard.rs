//! `stratus shard locate|plan|rebalance`: where keys live in a sharded store, and moving
//! objects after a membership change.
//!
//! A membership change is described in the config file: the sharded store's `members` is
//! the new membership and `previous` the old one. `plan` lists every member and prints
//! what must move; `rebalance` moves it (copy, verify, delete the original), and can be
//! interrupted and run again. Once `plan` shows nothing to move, drop `previous`.

use crate::config::Context;
use crate::finish::Outcome;
use crate::progress::ProgressLine;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::sync::Arc;
use stratus::shard::{self, Compare, ExecuteOptions, Plan, Prefer, ShardedStore};
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Progress;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the member that owns each key (and its previous owner, while rebalancing).
    Locate {
        /// The sharded store (a name in the config file).
        store: String,
        /// Keys to place.
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// List every member and print the moves from `previous` to `members`.
    Plan {
        /// The sharded store (a name in the config file).
        store: String,
    },
    /// Plan, then move every misplaced object to its owner.
    Rebalance {
        /// The sharded store (a name in the config file).
        store: String,
        /// Print the plan and what would be done; touch nothing.
        #[arg(long)]
        dry_run: bool,
        /// Moves in flight at once.
        #[arg(long, default_value = "8")]
        concurrency: NonZeroUsize,
        /// How each copy is checked before its original is deleted.
        #[arg(long, value_enum, default_value_t = VerifyArg::Content)]
        verify: VerifyArg,
        /// Which version survives when an object's owner already holds a different one.
        #[arg(long, value_enum, default_value_t = PreferArg::Keep)]
        prefer: PreferArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum VerifyArg {
    /// Compare sizes.
    Size,
    /// Read the copy back and compare XXH3-128 digests.
    Content,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum PreferArg {
    /// The owner's version wins if provably newer; otherwise keep both and report.
    Keep,
    /// The provably newer version wins, wherever it is; otherwise keep both.
    Newest,
    /// The old member's version replaces the owner's.
    Source,
    /// The owner's version wins; the old member's is deleted.
    Destination,
}

/// `stratus shard ...`.
pub async fn run(context: &Context, command: &Command) -> Outcome {
    let (config, _) = context.load_resolved().await?;
    match command {
        Command::Locate { store, keys } => Ok(locate(&config.open_sharded(store)?, keys)?),
        Command::Plan { store } => {
            let store = config.open_sharded(store)?;
            Ok(print_plan(&shard::plan(&store).await?)?)
        }
        Command::Rebalance {
            store,
            dry_run,
            concurrency,
            verify,
            prefer,
        } => {
            let options = ExecuteOptions::default()
                .with_dry_run(*dry_run)
                .with_concurrency(concurrency.get())
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
            Ok(rebalance(&config.open_sharded(store)?, &options).await?)
        }
    }
}

fn locate(sharded: &ShardedStore, keys: &[String]) -> stratus::Result<()> {
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
