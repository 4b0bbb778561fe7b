//! `stratus sync|verify|repair|status`: keep copies of data in several stores. Sync one
//! store to another, verify that two agree, repair the members of a replicated store,
//! and show what its members are recorded to have missed.
//!
//! With a `journal` in the store's configuration, what members missed survives restarts:
//! `status` shows it per member, and `repair --recorded` converges exactly those keys
//! (no listing); a plain `repair` compares every key and uses the record too.
//!
//! SRC, DST, A and B name stores of the config file (any provider); STORE names a
//! `provider = "replicated"` store.

use crate::config::Context;
use crate::finish::Outcome;
use crate::progress::ProgressLine;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::sync::Arc;
use stratus::replicate::{self, Backup, Compare, DeleteLimit, Difference, SyncOptions};
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Config;

#[derive(clap::Args)]
pub struct Common {
    /// Touch nothing; report what would be done.
    #[arg(long)]
    dry_run: bool,
    /// Compare bytes (XXH3-128 of both copies) instead of sizes and times.
    #[arg(long)]
    content: bool,
    /// Operations in flight at once.
    #[arg(long, default_value = "32")]
    concurrency: NonZeroUsize,
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

/// `stratus sync SRC DST`.
#[derive(clap::Args)]
pub struct SyncArgs {
    /// The source store.
    src: String,
    /// The destination store.
    dst: String,
    /// Also delete from DST what SRC lacks.
    #[arg(long)]
    delete: bool,
    #[command(flatten)]
    common: Common,
}

/// `stratus verify A B`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// One store.
    a: String,
    /// The other.
    b: String,
    #[command(flatten)]
    common: Common,
}

/// `stratus repair STORE`.
#[derive(clap::Args)]
pub struct RepairArgs {
    /// The replicated store.
    store: String,
    /// Only the keys members are recorded to have missed (its journal, after a
    /// restart): a head per member and key, no listing.
    #[arg(long)]
    recorded: bool,
    #[command(flatten)]
    common: Common,
}

/// `stratus status STORE`.
#[derive(clap::Args)]
pub struct StatusArgs {
    /// The replicated store.
    store: String,
}

/// `stratus sync`.
pub async fn run_sync(context: &Context, args: &SyncArgs) -> Outcome {
    let options = options(&args.common)?.with_delete(args.delete);
    let (config, _) = context.load_resolved().await?;
    Ok(sync(&config, &args.src, &args.dst, &args.common, options).await?)
}

/// `stratus verify`.
pub async fn run_verify(context: &Context, args: &VerifyArgs) -> Outcome {
    let options = options(&args.common)?;
    let (config, _) = context.load_resolved().await?;
    Ok(verify(&config, &args.a, &args.b, options).await?)
}

/// `stratus repair`.
pub async fn run_repair(context: &Context, args: &RepairArgs) -> Outcome {
    let options = options(&args.common)?;
    let (config, _) = context.load_resolved().await?;
    Ok(repair(&config, &args.store, args.recorded, &args.common, options).await?)
}

/// `stratus status`.
pub fn run_status(context: &Context, args: &StatusArgs) -> Outcome {
    let (config, _) = context.load()?;
    Ok(status(&config, &args.store)?)
}

/// The options the flags give; `--prefix` as typed ([`stratus::key`]).
fn options(common: &Common) -> stratus::Result<SyncOptions> {
    let mut options = SyncOptions::default()
        .with_dry_run(common.dry_run)
        .with_concurrency(common.concurrency.get());
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

/// `options` cut into key ranges where every one of `stores` lists from an offset
/// without reading a whole folder again ([`Config::key_ranges`]), the first cut listed
/// at once where every one's server begins at offsets ([`Config::offsets_on_server`]).
fn with_key_ranges(
    config: &Config,
    stores: &[&str],
    options: SyncOptions,
) -> stratus::Result<SyncOptions> {
    let (mut ranges, mut on_server) = (true, true);
    for name in stores {
        ranges &= config.key_ranges(name)?;
        on_server &= config.offsets_on_server(name)?;
    }
    Ok(options
        .with_key_ranges(ranges)
        .with_offsets_on_server(on_server))
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
    config: &Config,
    src: &str,
    dst: &str,
    common: &Common,
    options: SyncOptions,
) -> stratus::Result<()> {
    let (options, backup) = with_backup(config, common, options)?;
    // Between a bucket and a prefix of it, sync would copy onto and delete from what it
    // reads (or back up into what it deletes from): refuse before touching anything.
    let mut places = vec![src, dst];
    places.extend(backup.as_deref());
    config.check_distinct(&places)?;
    let (from, to) = (config.open(src)?, config.open(dst)?);
    let options = with_key_ranges(config, &[src, dst], options)?;
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

async fn verify(config: &Config, a: &str, b: &str, options: SyncOptions) -> stratus::Result<()> {
    let (x, y) = (config.open(a)?, config.open(b)?);
    let options = with_key_ranges(config, &[a, b], options)?;
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
fn status(config: &Config, store: &str) -> stratus::Result<()> {
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
    config: &Config,
    store: &str,
    recorded: bool,
    common: &Common,
    options: SyncOptions,
) -> stratus::Result<()> {
    let (options, _) = with_backup(config, common, options)?;
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
