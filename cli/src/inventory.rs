//! `stratus inventory`: how many objects and bytes a store holds, where, how big, how
//! old; and `stratus diff`: what grew between two reports.

use crate::config::Context;
use crate::finish::{Failure, Outcome};
use crate::progress::ProgressLine;
use clap::ValueEnum;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::sync::Arc;
use stratus::billed::Billed;
use stratus::inventory::{html, scan, table, Report, ScanOptions};
use stratus::object_store::path::Path;
use stratus::object_store::ObjectStore;
use stratus::text::{human_bytes, terminal, thousands};
use stratus::Progress;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    merge: Option<Merge>,
    /// The store: a name in the config file (default: the file's `default`), or a URL
    /// (s3://, gs://, az://, file://, memory://), which needs no config file.
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
    #[arg(long, default_value = "16")]
    concurrency: NonZeroUsize,
    #[command(flatten)]
    format: FormatArgs,
    /// Read this provider inventory report (the key of its manifest in the store: S3
    /// Inventory, Azure Blob Inventory or GCS Storage Insights; CSV or Parquet) instead of
    /// listing.
    #[arg(long, value_name = "MANIFEST")]
    from_report: Option<String>,
    /// Also write the listing as an S3 Inventory in Parquet (a manifest and data files) to
    /// DEST: a store URL (`file:///tmp/export`, `s3://bucket/prefix`) or `NAME[:PREFIX]`, a
    /// store of the config file.
    #[arg(long, value_name = "DEST", conflicts_with = "from_report")]
    export: Option<String>,
    /// Browse the prefix tree in this terminal while the scan runs (ncdu-style; `?` for
    /// keys).
    #[arg(long, conflicts_with_all = ["export", "format", "json", "html"])]
    browse: bool,
    /// Reading a report: at most this many distinct prefixes are summed exactly.
    #[arg(long, default_value_t = 1_000_000)]
    tracked_prefixes: usize,
    /// Scan part K of N of the store, for a scan split over N processes or machines
    /// (each lists a deterministic share); write each part with `--json` and the same
    /// `--as-of`, then `stratus inventory merge PART.json...`.
    #[arg(long, value_name = "K/N", value_parser = parse_part, requires = "as_of",
          conflicts_with_all = ["from_report", "export", "browse"])]
    part: Option<(usize, usize)>,
    /// Measure ages from this moment (RFC 3339, `2026-12-04T00:00:00Z`) instead of the
    /// scan's start: parts of one split scan need the same.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Also count what the store bills that a listing does not show: versions no longer
    /// current, delete markers, multipart uploads never completed (S3 and S3-compatible
    /// servers; GCS: noncurrent generations and XML API uploads; Azure: versions,
    /// snapshots, staged blocks). Costs one more listing of every version, one of the uploads and one of
    /// each upload's parts. In a split scan, part 1 counts them.
    #[arg(long, conflicts_with = "from_report")]
    billed: bool,
    /// With --billed on an Azure store: also read the block list of every blob that has
    /// committed bytes (one request per blob, --concurrency at once) to find blocks
    /// staged on it and never committed; without it only blobs with no committed bytes
    /// are read, and the report says what was not looked at. Other providers list every
    /// upload anyway.
    #[arg(long, requires = "billed")]
    every_blob: bool,
}

/// `stratus inventory merge`.
#[derive(clap::Subcommand)]
enum Merge {
    /// Merge the JSON reports of the N parts of a split scan (`--part K/N`) into the
    /// report one scan gives.
    Merge(MergeArgs),
}

#[derive(clap::Args)]
struct MergeArgs {
    /// The parts' reports, written by `stratus inventory --part K/N --json`, in any order.
    #[arg(required = true)]
    parts: Vec<std::path::PathBuf>,
    #[command(flatten)]
    format: FormatArgs,
}

fn parse_part(text: &str) -> Result<(usize, usize), String> {
    let wrong = || {
        format!(
            "`{}` is not K/N with 1 <= K <= N (such as 2/5)",
            terminal(text)
        )
    };
    let (k, n) = text.split_once('/').ok_or_else(wrong)?;
    let (k, n): (usize, usize) = (
        k.parse().map_err(|_| wrong())?,
        n.parse().map_err(|_| wrong())?,
    );
    if k == 0 || k > n {
        return Err(wrong());
    }
    Ok((k, n))
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            format!(
                "`{}` is not an RFC 3339 time (2026-12-04T00:00:00Z): {e}",
                terminal(text)
            )
        })
}

/// `stratus diff`.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// The older report (written by `stratus inventory --json`).
    old: std::path::PathBuf,
    /// The newer report.
    new: std::path::PathBuf,
    /// How many prefixes to list that grew (and that shrank) most.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[command(flatten)]
    format: FormatArgs,
}

/// `--format`, or its short forms `--json` and `--html`.
#[derive(clap::Args)]
struct FormatArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Output JSON (`--format json`).
    #[arg(long, conflicts_with_all = ["format", "html"])]
    json: bool,
    /// Output one self-contained HTML page (`--format html`).
    #[arg(long, conflicts_with = "format")]
    html: bool,
}

impl FormatArgs {
    fn get(&self) -> Format {
        match (self.json, self.html) {
            (true, _) => Format::Json,
            (_, true) => Format::Html,
            _ => self.format,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    /// One self-contained HTML page (treemap, charts, tables; no network requests).
    Html,
}

/// `stratus diff OLD NEW`.
pub fn diff(args: &DiffArgs) -> Outcome {
    let newer = Report::load(&args.new)?;
    let diff = Report::load(&args.old)?.diff(&newer);
    match args.format.get() {
        Format::Json => println!(
            "{}",
            stratus::text::json(&serde_json::to_string_pretty(&diff).expect("a diff serializes"))
        ),
        Format::Table => print!("{}", diff.render(args.limit)),
        Format::Html => print!(
            "{}",
            html::render_diff(&diff, &newer, &args.new.display().to_string())
        ),
    }
    Ok(())
}

/// A store the arguments name.
pub(crate) struct Opened {
    pub store: Arc<dyn ObjectStore>,
    /// How it is named for people: the URL, or the store's name and its config file.
    pub name: String,
    /// Whether a scan may cut its listings into key ranges.
    pub key_ranges: bool,
    /// Whether its server is known to begin a listing at an offset.
    pub offsets_on_server: bool,
    /// What lists its versions and unfinished uploads, when asked for.
    pub billed: Option<Arc<dyn Billed>>,
    /// Its `prices` in the config file (none for a URL).
    pub prices: Option<stratus::requests::Prices>,
}

/// The store `store` names (a URL, a name in the config file, or the file's default),
/// and with `billed` what lists its versions and unfinished uploads.
pub(crate) async fn open(
    context: &Context,
    store: Option<&str>,
    billed: bool,
) -> Result<Opened, Failure> {
    match store {
        // The title leaves the query out: it may carry keys (`?secret_access_key=...`).
        Some(url) if url.contains("://") => {
            let (store, billed) = context.open_url_billed(url, billed).await?;
            let parsed = stratus::config::parse_url(url)?;
            Ok(Opened {
                store,
                name: url.split(['?', '#']).next().unwrap_or_default().to_string(),
                key_ranges: parsed.key_ranges(),
                offsets_on_server: parsed.offsets_on_server(),
                billed,
                prices: None,
            })
        }
        name => {
            let (config, path) = context.load_resolved().await?;
            let name = match name {
                Some(name) => name,
                None => config.default_name()?,
            };
            Ok(Opened {
                store: config.open(name)?,
                key_ranges: config.key_ranges(name)?,
                offsets_on_server: config.offsets_on_server(name)?,
                billed: match billed {
                    true => Some(config.billed(name)?),
                    false => None,
                },
                prices: config.get(name)?.settings.prices.clone(),
                name: format!("{name} ({path})"),
            })
        }
    }
}

/// `stratus inventory merge PART...`: the parts' reports merged, checked complete.
fn merge(args: &MergeArgs) -> Outcome {
    let mut merged: Option<Report> = None;
    for path in &args.parts {
        let part = Report::load(path)?;
        if part.parts.is_none() {
            return Err(Failure::Usage(format!(
                "{} is the report of a whole scan, not of a part (--part K/N)",
                terminal(&path.display().to_string())
            )));
        }
        match merged.as_mut() {
            None => merged = Some(part),
            Some(merged) => merged.merge(part).map_err(|e| {
                Failure::Usage(format!("{}: {e}", terminal(&path.display().to_string())))
            })?,
        }
    }
    let mut report = merged.expect("clap requires a part");
    let parts = report.parts.take().expect("checked above");
    if !parts.is_complete() {
        return Err(Failure::Usage(format!(
            "parts {:?} of {} are missing: merge every part of the scan",
            parts.missing(),
            parts.of
        )));
    }
    report.finish();
    print_report(
        &report,
        args.format.get(),
        format!("{} parts merged", parts.of),
    );
    Ok(())
}

/// `stratus inventory [STORE]`.
pub async fn run(context: &Context, args: &Args) -> Outcome {
    if let Some(Merge::Merge(merge_args)) = &args.merge {
        return merge(merge_args);
    }
    if args.part.is_some() && !matches!(args.format.get(), Format::Json) {
        return Err(Failure::Usage(
            "--part writes a part of a report: add --json, and merge the parts with \
             `stratus inventory merge`"
                .into(),
        ));
    }
    let Opened {
        store,
        name,
        key_ranges,
        offsets_on_server,
        billed,
        prices,
    } = open(context, args.store.as_deref(), args.billed).await?;
    let prefix = stratus::key::parse_prefix(&args.prefix)?;
    let mut options = ScanOptions::default()
        .with_key_ranges(key_ranges)
        .with_offsets_on_server(offsets_on_server)
        .with_depth(args.depth)
        .with_top(args.top)
        .with_prefix_limit(args.prefix_limit)
        .with_concurrency(args.concurrency.get());
    if let Some((k, n)) = args.part {
        options = options.with_part(k, n);
    }
    if let Some(as_of) = args.as_of {
        options = options.with_as_of(as_of);
    }
    if let Some(billed) = billed {
        options = options
            .with_hidden(billed)
            .with_uploads_per_object(args.every_blob);
    }
    let bar = std::io::stderr().is_terminal().then(ProgressLine::new);
    if let Some(bar) = &bar {
        let bar = Arc::clone(bar);
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
        return browse(args, store, &name, &prefix, options).await;
    }
    let report = if let Some(manifest) = &args.from_report {
        from_report(store.clone(), manifest, &prefix, &options).await
    } else if let Some(dest) = &args.export {
        export(context, store.as_ref(), &prefix, &options, dest).await
    } else {
        scan(store.as_ref(), Some(&prefix), &options)
            .await
            .map_err(Failure::from)
    };
    if let Some(bar) = &bar {
        bar.clear();
    }
    let report = report?;
    if let Some(unlisted) = &report.unlisted {
        eprintln!("warning: {}", unlisted.describe());
    }
    let title = match prefix.as_ref() {
        _ if report.source.is_some() => {
            let source = report.source.as_ref().expect("checked");
            let bucket = source.source_bucket.as_deref().unwrap_or("a bucket");
            match prefix.as_ref() {
                "" => format!("{bucket} (from its inventory report)"),
                p => format!("{bucket}, prefix {p}/ (from its inventory report)"),
            }
        }
        "" => name,
        p => format!("{name}, prefix {p}/"),
    };
    print_report(&report, args.format.get(), title);
    if let (Format::Table, Some(prices)) = (args.format.get(), &prices) {
        if !prices.storage.is_empty() {
            print!(
                "\n{}",
                stratus::inventory::storage_estimate(&report, prices)
            );
        }
    }
    Ok(())
}

/// Print `report` as `format` says, titled `title` (table and HTML).
fn print_report(report: &Report, format: Format, title: String) {
    match format {
        Format::Json => println!(
            "{}",
            stratus::text::json(
                &serde_json::to_string_pretty(report).expect("a report serializes")
            )
        ),
        Format::Html => print!("{}", html::render(report, &title)),
        Format::Table => print!("{}", table::render(report, &title)),
    }
}

async fn from_report(
    store: Arc<dyn ObjectStore>,
    manifest: &str,
    prefix: &Path,
    options: &ScanOptions,
) -> Result<Report, Failure> {
    let manifest = stratus::key::parse_key(manifest)?;
    Ok(stratus::inventory::reports::read(store, &manifest, Some(prefix), options).await?)
}

async fn export(
    context: &Context,
    store: &dyn ObjectStore,
    prefix: &Path,
    options: &ScanOptions,
    dest: &str,
) -> Result<Report, Failure> {
    use stratus::inventory::export::{export, ExportOptions};
    // Shown without a URL's query: it may carry keys.
    let shown = dest.split(['?', '#']).next().unwrap_or_default();
    let (dest_store, dest_prefix) = if dest.contains("://") {
        (context.open_url(&created(dest)).await?, None)
    } else {
        let (name, under) = dest.split_once(':').unwrap_or((dest, ""));
        let (config, _) = context.load_resolved().await?;
        (config.open(name)?, Some(stratus::key::parse_prefix(under)?))
    };
    let (report, written) = export(
        store,
        Some(prefix),
        options,
        Arc::clone(&dest_store),
        dest_prefix.as_ref(),
        &ExportOptions::default(),
    )
    .await?;
    let (rows, files) = (written.rows, written.files.len());
    eprintln!(
        "exported {} row{} in {} Parquet file{} to {}; manifest: {}",
        thousands(rows),
        if rows == 1 { "" } else { "s" },
        thousands(files as u64),
        if files == 1 { "" } else { "s" },
        terminal(shown),
        terminal(written.manifest.as_ref())
    );
    Ok(report)
}

/// An export's destination URL, made to create its folder when it is a local one that
/// does not exist yet (`file:///tmp/export`: where the command writes, as `cp` and
/// `rclone copy` make theirs), unless the URL says otherwise (`?create_root=false`).
fn created(url: &str) -> String {
    let local = url
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("file://"));
    let query = url.split_once('?').map(|(_, query)| query);
    let says = query.is_some_and(|query| {
        query
            .split('&')
            .any(|pair| pair.split('=').next() == Some("create_root"))
    });
    match (local && !says && !url.contains('#'), query) {
        (false, _) => url.to_string(),
        (true, None) => format!("{url}?create_root=true"),
        (true, Some(_)) => format!("{url}&create_root=true"),
    }
}

async fn browse(
    args: &Args,
    store: Arc<dyn ObjectStore>,
    name: &str,
    prefix: &Path,
    options: ScanOptions,
) -> Outcome {
    use stratus::inventory::browse;
    if !std::io::stdout().is_terminal() {
        return Err(Failure::Usage(
            "--browse needs a terminal (standard output is not one)".into(),
        ));
    }
    let title = match prefix.as_ref() {
        "" => name.to_string(),
        p => format!("{name}, prefix {p}/"),
    };
    // The browser shows the largest objects of each prefix it opens: keep more of them.
    let options = options.with_top(args.top.max(200));
    if let Some(manifest) = &args.from_report {
        let report = from_report(store, manifest, prefix, &options).await?;
        Ok(browse::browse_report(report, &title).await?)
    } else {
        browse::browse(store, Some(prefix), &options, &title).await?;
        Ok(())
    }
}
