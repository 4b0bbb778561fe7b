//! Inventory a bucket: how many objects and bytes, where, how big, how old.
//!
//! ```text
//! cargo run --release --example inventory                       # the bundled sample tree
//! cargo run --release --example inventory -- stores.toml --store archive --prefix logs --depth 3
//! cargo run --release --example inventory -- s3://bucket/prefix?region=eu-west-1 --format json
//! cargo run --release --example inventory -- diff last-week.json today.json   # what grew
//! # with `--features reports`: a provider's inventory report instead of a listing, and an
//! # export of a listing as an S3 Inventory in Parquet
//! cargo run --release --features reports --example inventory -- fixtures/stores/reports.toml \
//!     --store s3-parquet --from-report inventory/source-bucket/daily/2026-11-20T00-00Z/manifest.json
//! cargo run --release --features reports --example inventory -- --export file:///tmp/export
//! ```

use clap::{Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::process::ExitCode;
use stratus::inventory::{html, scan, table, Report, ScanOptions};
use stratus::object_store::path::Path;
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Progress;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/progress.rs"]
mod progress;
use progress::ProgressLine;

#[derive(Parser)]
#[command(
    about = "Inventory a bucket (any provider, by configuration): counts, bytes, prefixes, sizes, ages",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scan: Args,
}

#[derive(Subcommand)]
enum Command {
    /// What grew between two reports written with `--format json` (older first).
    Diff {
        /// The older report.
        old: std::path::PathBuf,
        /// The newer report.
        new: std::path::PathBuf,
        /// How many prefixes to list that grew (and that shrank) most.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(clap::Args)]
struct Args {
    /// A config file (TOML/JSON) or a store URL (s3://, gs://, az://, file://, memory://).
    #[arg(default_value = "fixtures/stores/local.toml")]
    source: String,
    /// The store to use from a config file (default: the file's `default`).
    #[arg(long)]
    store: Option<String>,
    /// Only objects under this prefix (whole segments; a trailing `/` is optional).
    #[arg(long, default_value = "")]
    prefix: String,
    /// Per-prefix breakdown down to this many levels (0: none).
    #[arg(long, default_value_t = 2)]
    depth: usize,
    /// How many of the largest objects to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// At most this many prefixes in the breakdown; the rest are summed as "other".
    #[arg(long, default_value_t = 50)]
    prefix_limit: usize,
    /// Listings in flight at once (1: one sequential listing).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Read this provider inventory report (the key of its manifest in the store: S3
    /// Inventory, Azure Blob Inventory or GCS Storage Insights; CSV or Parquet) instead of
    /// listing. Needs the `reports` feature.
    #[arg(long, value_name = "MANIFEST")]
    from_report: Option<String>,
    /// Also write the listing as an S3 Inventory in Parquet (a manifest and data files) to
    /// DEST: a store URL (`file:///tmp/export`, `s3://bucket/prefix`) or `NAME[:PREFIX]`, a
    /// store of the config file. Needs the `reports` feature.
    #[arg(long, value_name = "DEST", conflicts_with = "from_report")]
    export: Option<String>,
    /// Browse the prefix tree in this terminal while the scan runs (ncdu-style; `?` for
    /// keys). Needs the `browse` feature.
    #[arg(long, conflicts_with_all = ["export", "format"])]
    browse: bool,
    /// Reading a report: at most this many distinct prefixes are summed exactly.
    #[arg(long, default_value_t = 1_000_000)]
    tracked_prefixes: usize,
    /// On failure, print the full error (with the server's response) too.
    #[arg(long, short)]
    verbose: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    /// One self-contained HTML page (treemap, charts, tables; no network requests).
    Html,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Diff {
            old,
            new,
            limit,
            format,
        }) => cli::finish(diff(&old, &new, limit, format), false),
        None => cli::finish(run(&cli.scan).await, cli.scan.verbose),
    }
}

fn diff(
    old: &std::path::Path,
    new: &std::path::Path,
    limit: usize,
    format: Format,
) -> stratus::Result<()> {
    let newer = Report::load(new)?;
    let diff = Report::load(old)?.diff(&newer);
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&diff).expect("a diff serializes")
        ),
        Format::Table => print!("{}", diff.render(limit)),
        Format::Html => print!(
            "{}",
            html::render_diff(&diff, &newer, &new.display().to_string())
        ),
    }
    Ok(())
}

async fn run(args: &Args) -> stratus::Result<()> {
    let store = stratus::open_with(&args.source, args.store.as_deref())?;
    let prefix = stratus::key::parse_prefix(&args.prefix)?;
    let mut options = ScanOptions::default()
        .with_depth(args.depth)
        .with_top(args.top)
        .with_prefix_limit(args.prefix_limit)
        .with_concurrency(args.concurrency);
    let bar = std::io::stderr().is_terminal().then(ProgressLine::new);
    if let Some(bar) = &bar {
        let bar = std::sync::Arc::clone(bar);
        options = options.with_progress(move |p: Progress| {
            bar.update(false, |secs| {
                format!(
                    "{} objects, {}  ({:.0} objects/s)  partitions {}/{}",
                    thousands(p.done),
                    human_bytes(p.bytes),
                    p.done as f64 / secs,
                    p.parts_done,
                    p.parts_known
                )
            })
        });
    }

    let options = options.with_tracked_prefixes(args.tracked_prefixes);
    if args.browse {
        if let Some(bar) = &bar {
            bar.clear();
        }
        return browse(args, store, &prefix, options).await;
    }
    let report = if let Some(manifest) = &args.from_report {
        from_report(store.clone(), manifest, &prefix, &options).await
    } else if let Some(dest) = &args.export {
        export(args, store.as_ref(), &prefix, &options, dest).await
    } else {
        scan(store.as_ref(), Some(&prefix), &options).await
    };
    if let Some(bar) = &bar {
        bar.clear();
    }
    let report = report?;
    if let Some(unlisted) = &report.unlisted {
        eprintln!("warning: {}", unlisted.describe());
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("a report serializes")
        ),
        Format::Table | Format::Html => {
            let store = store_name(args);
            let title = match prefix.as_ref() {
                _ if report.source.is_some() => {
                    let source = report.source.as_ref().expect("checked");
                    let bucket = source.source_bucket.as_deref().unwrap_or("a bucket");
                    match prefix.as_ref() {
                        "" => format!("{bucket} (from its inventory report)"),
                        p => format!("{bucket}, prefix {p}/ (from its inventory report)"),
                    }
                }
                "" => store.to_string(),
                p => format!("{store}, prefix {p}/"),
            };
            if let Format::Html = args.format {
                print!("{}", html::render(&report, &title));
            } else {
                print!("{}", table::render(&report, &title));
            }
        }
    }
    Ok(())
}

/// How the store is named for people: the URL, or the store's name and its config file.
fn store_name(args: &Args) -> String {
    if args.source.contains("://") {
        return args.source.clone();
    }
    match &args.store {
        Some(name) => format!("{name} ({})", args.source),
        None => match stratus::Config::load(&args.source) {
            Ok(config) => match config.default_name() {
                Ok(name) => format!("{name} ({})", args.source),
                Err(_) => args.source.clone(),
            },
            Err(_) => args.source.clone(),
        },
    }
}

#[cfg(feature = "reports")]
async fn from_report(
    store: std::sync::Arc<dyn stratus::object_store::ObjectStore>,
    manifest: &str,
    prefix: &Path,
    options: &ScanOptions,
) -> stratus::Result<Report> {
    let manifest = stratus::key::parse_key(manifest)?;
    stratus::inventory::reports::read(store, &manifest, Some(prefix), options).await
}

#[cfg(feature = "reports")]
async fn export(
    args: &Args,
    store: &dyn stratus::object_store::ObjectStore,
    prefix: &Path,
    options: &ScanOptions,
    dest: &str,
) -> stratus::Result<Report> {
    use stratus::inventory::export::{export, ExportOptions};
    let (dest_store, dest_prefix) = if dest.contains("://") {
        (stratus::open_with(dest, None)?, None)
    } else {
        let (name, under) = dest.split_once(':').unwrap_or((dest, ""));
        let store = stratus::open_with(&args.source, Some(name))?;
        (store, Some(stratus::key::parse_prefix(under)?))
    };
    let (report, written) = export(
        store,
        Some(prefix),
        options,
        std::sync::Arc::clone(&dest_store),
        dest_prefix.as_ref(),
        &ExportOptions::default(),
    )
    .await?;
    eprintln!(
        "exported {} rows in {} Parquet files to {}; manifest: {}",
        thousands(written.rows),
        written.files.len(),
        terminal(&dest_store.to_string()),
        terminal(written.manifest.as_ref())
    );
    Ok(report)
}

#[cfg(not(feature = "reports"))]
async fn from_report(
    _: std::sync::Arc<dyn stratus::object_store::ObjectStore>,
    _: &str,
    _: &Path,
    _: &ScanOptions,
) -> stratus::Result<Report> {
    without_reports("--from-report")
}

#[cfg(not(feature = "reports"))]
async fn export(
    _: &Args,
    _: &dyn stratus::object_store::ObjectStore,
    _: &Path,
    _: &ScanOptions,
    _: &str,
) -> stratus::Result<Report> {
    without_reports("--export")
}

#[cfg(not(feature = "reports"))]
fn without_reports(flag: &str) -> ! {
    eprintln!(
        "error: {flag} needs the `reports` feature: cargo run --release --features reports \
         --example inventory -- ..."
    );
    std::process::exit(2)
}

#[cfg(feature = "browse")]
async fn browse(
    args: &Args,
    store: std::sync::Arc<dyn stratus::object_store::ObjectStore>,
    prefix: &Path,
    options: ScanOptions,
) -> stratus::Result<()> {
    use stratus::inventory::browse;
    if !std::io::stdout().is_terminal() {
        eprintln!("error: --browse needs a terminal (standard output is not one)");
        std::process::exit(2);
    }
    let name = store_name(args);
    let title = match prefix.as_ref() {
        "" => name,
        p => format!("{name}, prefix {p}/"),
    };
    // The browser shows the largest objects of each prefix it opens: keep more of them.
    let options = options.with_top(args.top.max(200));
    if let Some(manifest) = &args.from_report {
        let report = from_report(store, manifest, prefix, &options).await?;
        browse::browse_report(report, &title).await
    } else {
        browse::browse(store, Some(prefix), &options, &title)
            .await
            .map(|_| ())
    }
}

#[cfg(not(feature = "browse"))]
async fn browse(
    _: &Args,
    _: std::sync::Arc<dyn stratus::object_store::ObjectStore>,
    _: &Path,
    _: ScanOptions,
) -> stratus::Result<()> {
    eprintln!(
        "error: --browse needs the `browse` feature: cargo run --release --features browse \
         --example inventory -- --browse"
    );
    std::process::exit(2)
}
