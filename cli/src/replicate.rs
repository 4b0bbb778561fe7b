//! Keep copies of data in several stores: sync one store to another, verify that two
//! agree, repair the members of a replicated store.
//!
//! ```text
//! cargo run --release --example replicate                         # a demo in a temp folder
//! cargo run --release --example replicate -- sync stores.toml SRC DST [--delete] [--dry-run]
//!     [--max-delete N|P%] [--force] [--backup STORE[:PREFIX]]
//! cargo run --release --example replicate -- verify stores.toml A B [--content]
//! cargo run --release --example replicate -- repair stores.toml STORE [--dry-run] [--recorded]
//! cargo run --release --example replicate -- status stores.toml STORE
//! ```
//!
//! With a `journal` in the store's configuration, what members missed survives restarts:
//! `status` shows it per member, and `repair --recorded` converges exactly those keys
//! (no listing); a plain `repair` compares every key and uses the record too.
//!
//! SRC, DST, A and B name stores of the config file (any provider); STORE names a
//! `provider = "replicated"` store.

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStoreExt;
use stratus::replicate::{self, Backup, Compare, DeleteLimit, Difference, SyncOptions};
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Config;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/progress.rs"]
mod progress;
use progress::ProgressLine;

#[derive(Parser)]
#[command(about = "Sync, verify and repair copies of data across stores")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Args, Default)]
struct Common {
    /// Touch nothing; report what would be done.
    #[arg(long)]
    dry_run: bool,
    /// Compare bytes (XXH3-128 of both copies) instead of sizes and times.
    #[arg(long)]
    content: bool,
    /// Operations in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Only keys under this prefix.
    #[arg(long)]
    prefix: Option<String>,
    /// The most that may be deleted: a count (`100`) or a share of what the destination
    /// holds (`10%`). Default: half, and nothing from a source that lists nothing.
    #[arg(long, value_name = "N|P%", conflicts_with = "force", value_parser = max_delete)]
    max_delete: Option<DeleteLimit>,
    /// Delete whatever it takes (no delete limit).
    #[arg(long)]
    force: bool,
    /// Copy every object that would be deleted or overwritten here first
    /// (`STORE[:PREFIX]`, a store of the config file).
    #[arg(long, value_name = "STORE[:PREFIX]")]
    backup: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Copy what is missing or different in DST from SRC.
    Sync {
        /// The config file.
        config: String,
        /// The source store.
        src: String,
        /// The destination store.
        dst: String,
        /// Also delete from DST what SRC lacks.
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Report how two stores differ.
    Verify {
        /// The config file.
        config: String,
        /// One store.
        a: String,
        /// The other.
        b: String,
        #[command(flatten)]
        common: Common,
    },
    /// Converge every member of a replicated store.
    Repair {
        /// The config file.
        config: String,
        /// The replicated store.
        store: String,
        /// Only the keys members are recorded to have missed (its journal, after a
        /// restart): a head per member and key, no listing.
        #[arg(long)]
        recorded: bool,
        #[command(flatten)]
        common: Common,
    },
    /// What the members of a replicated store are recorded to have missed.
    Status {
        /// The config file.
        config: String,
        /// The replicated store.
        store: String,
    },
    /// Sync a local folder to two others, damage one, verify and repair (temp folder).
    Demo,
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Args::parse().command.unwrap_or(Command::Demo) {
        Command::Sync {
            config,
            src,
            dst,
            delete,
            common,
        } => match options(&common) {
            Ok(options) => sync(&config, &src, &dst, &common, options.with_delete(delete)).await,
            Err(e) => Err(e),
        },
        Command::Verify {
            config,
            a,
            b,
            common,
        } => match options(&common) {
            Ok(options) => verify(&config, &a, &b, options).await,
            Err(e) => Err(e),
        },
        Command::Repair {
            config,
            store,
            recorded,
            common,
        } => match options(&common) {
            Ok(options) => repair(&config, &store, recorded, &common, options).await,
            Err(e) => Err(e),
        },
        Command::Status { config, store } => status(&config, &store),
        Command::Demo => demo().await,
    };
    cli::finish(result, false)
}

/// The options the flags give; `--prefix` as typed ([`stratus::key`]).
fn options(common: &Common) -> stratus::Result<SyncOptions> {
    let mut options = SyncOptions::default()
        .with_dry_run(common.dry_run)
        .with_concurrency(common.concurrency);
    if common.content {
        options = options.with_compare(Compare::Content);
    }
    if let Some(prefix) = &common.prefix {
        options = options.with_prefix(stratus::key::parse_prefix(prefix)?);
    }
    if common.force {
        options = options.with_max_delete(DeleteLimit::Unlimited);
    }
    if let Some(limit) = common.max_delete {
        options = options.with_max_delete(limit);
    }
    Ok(options)
}

/// `--max-delete N` or `P%`.
fn max_delete(text: &str) -> Result<DeleteLimit, String> {
    let bad = || format!("{text:?}: expected a count (100) or a percentage (10%)");
    match text.strip_suffix('%') {
        Some(percent) => {
            let p: f64 = percent.trim().parse().map_err(|_| bad())?;
            if !(0.0..=100.0).contains(&p) {
                return Err(bad());
            }
            Ok(DeleteLimit::Fraction(p / 100.0))
        }
        None => Ok(DeleteLimit::Count(text.trim().parse().map_err(|_| bad())?)),
    }
}

/// `--backup STORE[:PREFIX]`: the store of the config file, and the prefix in it.
fn with_backup(
    config: &Config,
    common: &Common,
    options: SyncOptions,
) -> stratus::Result<(SyncOptions, Option<String>)> {
    let Some(text) = &common.backup else {
        return Ok((options, None));
    };
    let (name, prefix) = text.split_once(':').unwrap_or((text, ""));
    let mut backup = Backup::new(config.open(name)?);
    if !prefix.is_empty() {
        backup = backup.with_prefix(stratus::key::parse_prefix(prefix)?);
    }
    Ok((options.with_backup(backup), Some(name.to_string())))
}

/// A progress line (keys handled, rate) while `run` goes, on a terminal.
fn with_progress(
    options: SyncOptions,
    what: &'static str,
) -> (SyncOptions, Option<Arc<ProgressLine>>) {
    let Some(bar) = std::io::stderr().is_terminal().then(ProgressLine::new) else {
        return (options, None);
    };
    let line = Arc::clone(&bar);
    let options = options.with_progress(move |p| {
        line.update(false, |secs| {
            format!(
                "{what}: {} keys ({:.0}/s), {} copied, {} failed",
                thousands(p.done),
                p.done as f64 / secs,
                human_bytes(p.bytes),
                thousands(p.failed)
            )
        })
    });
    (options, Some(bar))
}

async fn sync(
    config: &str,
    src: &str,
    dst: &str,
    common: &Common,
    options: SyncOptions,
) -> stratus::Result<()> {
    let config = Config::load(config)?;
    let (options, backup) = with_backup(&config, common, options)?;
    // Between a bucket and a prefix of it, sync would copy onto and delete from what it
    // reads (or back up into what it deletes from): refuse before touching anything.
    let mut places = vec![src, dst];
    places.extend(backup.as_deref());
    config.check_distinct(&places)?;
    let (from, to) = (config.open(src)?, config.open(dst)?);
    let (options, bar) = with_progress(options, "sync");
    let report = replicate::sync(&*from, &*to, &options).await;
    if let Some(bar) = bar {
        bar.clear();
    }
    let report = report?;
    let verb = if report.dry_run {
        "would copy"
    } else {
        "copied"
    };
    println!(
        "sync {src} -> {dst}{}",
        if report.dry_run { " (dry run)" } else { "" }
    );
    println!(
        "  {:<12} {:>10}  {}",
        verb,
        thousands(report.copied),
        human_bytes(report.bytes)
    );
    println!("  {:<12} {:>10}", "same", thousands(report.skipped));
    if options.delete {
        let verb = if report.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        println!("  {:<12} {:>10}", verb, thousands(report.deleted));
    }
    if options.backup.is_some() {
        println!("  {:<12} {:>10}", "backed up", thousands(report.backed_up));
    }
    println!("  {:<12} {:>10}", "failed", report.failed);
    for (key, err) in report.failures.iter().take(20) {
        // Keys and error text may hold controls: shown escaped.
        println!(
            "    {}: {}",
            terminal(key.as_ref()),
            terminal(&err.to_string())
        );
    }
    if let Some(unlisted) = &report.unlisted_destination {
        eprintln!("warning: {dst}: {}", unlisted.describe());
    }
    match &report.unlisted_source {
        // Files the source holds that were not copied: the sync is not complete.
        Some(unlisted) => Err(stratus::Error::in_store(
            src,
            stratus::object_store::Error::Generic {
                store: "sync",
                source: format!("not copied: {}", unlisted.describe()).into(),
            },
        )),
        None => Ok(()),
    }
}

async fn verify(config: &str, a: &str, b: &str, options: SyncOptions) -> stratus::Result<()> {
    let config = Config::load(config)?;
    let (x, y) = (config.open(a)?, config.open(b)?);
    let (options, bar) = with_progress(options, "verify");
    let report = replicate::verify(&*x, &*y, &options).await;
    if let Some(bar) = bar {
        bar.clear();
    }
    let report = report?;
    println!("verify {a} vs {b}");
    println!("  {:<16} {:>10}", "same", thousands(report.same));
    println!(
        "  {:<16} {:>10}",
        format!("only in {a}"),
        thousands(report.missing_in_b)
    );
    println!(
        "  {:<16} {:>10}",
        format!("only in {b}"),
        thousands(report.missing_in_a)
    );
    println!("  {:<16} {:>10}", "different", thousands(report.differing));
    for difference in report.examples.iter().take(10) {
        match difference {
            Difference::MissingInA(m) => {
                println!("    only in {b}: {}", terminal(m.location.as_ref()))
            }
            Difference::MissingInB(m) => {
                println!("    only in {a}: {}", terminal(m.location.as_ref()))
            }
            Difference::Differs(x, y) => println!(
                "    differs: {} ({} vs {} bytes)",
                terminal(x.location.as_ref()),
                x.size,
                y.size
            ),
            _ => {}
        }
    }
    for (name, unlisted) in [(a, &report.unlisted_a), (b, &report.unlisted_b)] {
        if let Some(unlisted) = unlisted {
            println!("  not compared: {name}: {}", unlisted.describe());
        }
    }
    if report.is_identical() {
        println!("identical");
    }
    Ok(())
}

/// Print, per member, the keys it is recorded to have missed (writes and deletes).
fn status(config: &str, store: &str) -> stratus::Result<()> {
    let config = Config::load(config)?;
    let replicated = config.open_replicated(store)?;
    if let Some(damage) = replicated.journal_damage() {
        println!("warning: {}", terminal(&damage.to_string()));
    }
    let missed = replicated.missed();
    println!("{store}: {} keys pending", thousands(missed.len() as u64));
    for (member, _) in replicated.members() {
        let mine: Vec<_> = missed
            .iter()
            .filter(|(_, _, members)| members.iter().any(|m| m == member))
            .collect();
        let deletes = mine
            .iter()
            .filter(|(_, what, _)| *what == replicate::Missed::Delete)
            .count() as u64;
        println!(
            "  {member:<12} {:>10} writes {:>10} deletes",
            thousands(mine.len() as u64 - deletes),
            thousands(deletes)
        );
        for (key, what, _) in mine.iter().take(5) {
            println!("    {what:?} {}", terminal(key.as_ref()));
        }
    }
    Ok(())
}

async fn repair(
    config: &str,
    store: &str,
    recorded: bool,
    common: &Common,
    options: SyncOptions,
) -> stratus::Result<()> {
    let config = Config::load(config)?;
    let (options, _) = with_backup(&config, common, options)?;
    let replicated = config.open_replicated(store)?;
    if let Some(damage) = replicated.journal_damage() {
        println!("warning: {}", terminal(&damage.to_string()));
    }
    let (options, bar) = with_progress(options, "repair");
    let report = if recorded {
        replicate::repair_recorded(&replicated, &options).await
    } else {
        replicate::repair(&replicated, &options).await
    };
    if let Some(bar) = bar {
        bar.clear();
    }
    let report = report?;
    println!(
        "repair {store}{}",
        if report.dry_run { " (dry run)" } else { "" }
    );
    println!(
        "  {:<12} {:>10}",
        "consistent",
        thousands(report.consistent)
    );
    println!(
        "  {:<12} {:>10}  {}",
        "copies",
        thousands(report.copied),
        human_bytes(report.bytes)
    );
    println!("  {:<12} {:>10}", "deletes", thousands(report.deleted));
    if options.backup.is_some() {
        println!("  {:<12} {:>10}", "backed up", thousands(report.backed_up));
    }
    println!("  {:<12} {:>10}", "conflicts", report.conflicted);
    for conflict in report.conflicts.iter().take(20) {
        println!(
            "    {}: kept {}'s version (newest), overwrote {}",
            terminal(conflict.location.as_ref()),
            conflict.kept,
            conflict.overwritten.join(", ")
        );
    }
    println!("  {:<12} {:>10}", "failed", report.failed);
    Ok(())
}

async fn demo() -> stratus::Result<()> {
    let dir = tempfile::tempdir().expect("a temporary folder for the demo");
    let path = dir.path().join("stores.toml");
    std::fs::write(
        &path,
        r#"
[stores.primary]
provider = "local"
root = "primary"
create_root = true
[stores.backup]
provider = "local"
root = "backup"
create_root = true
[stores.offsite]
provider = "local"
root = "offsite"
create_root = true
[stores.safe]
provider = "replicated"
members = ["primary", "backup", "offsite"]
write = { quorum = 2 }
"#,
    )
    .expect("write the demo config");
    let config_path = path.to_str().expect("utf-8 temp path");
    let config = Config::load(&path)?;
    println!("demo in {}\n", dir.path().display());
    let safe = config.open_replicated("safe")?;
    for i in 0..500u32 {
        let key = Path::from(format!("docs/{:02}/{i:04}.txt", i % 10));
        safe.put(&key, vec![b'a' + (i % 26) as u8; 50 + i as usize].into())
            .await
            .map_err(|e| stratus::Error::in_store("safe", e))?;
    }
    // Quorum writes return once two members have them; the third finishes meanwhile.
    safe.flush().await;
    println!("wrote 500 objects through `safe` (replicated to primary, backup, offsite)\n");

    let offsite = config.open("offsite")?;
    for i in 0..25u32 {
        let key = Path::from(format!("docs/{:02}/{i:04}.txt", i % 10));
        offsite
            .delete(&key)
            .await
            .map_err(|e| stratus::Error::in_store("offsite", e))?;
    }
    let backup = config.open("backup")?;
    backup
        .put(
            &Path::from("docs/00/0000.txt"),
            "edited on the backup".into(),
        )
        .await
        .map_err(|e| stratus::Error::in_store("backup", e))?;
    println!("behind its back: 25 objects deleted from offsite, one edited on backup\n");

    verify(config_path, "primary", "offsite", SyncOptions::default()).await?;
    println!();
    let common = Common::default();
    repair(config_path, "safe", false, &common, SyncOptions::default()).await?;
    println!();
    verify(
        config_path,
        "primary",
        "offsite",
        SyncOptions::default().with_compare(Compare::Content),
    )
    .await?;
    println!();
    sync(
        config_path,
        "primary",
        "backup",
        &Common::default(),
        SyncOptions::default(),
    )
    .await
}
