//! `stratus cleanup uploads`: abort the multipart uploads a store holds that were begun
//! long ago and never completed. Their parts are stored and billed, and no listing of
//! objects shows them.

use crate::config::Context;
use crate::finish::Outcome;
use chrono::Utc;
use std::time::Duration;
use stratus::billed::{cleanup_uploads, CleanupOptions};
use stratus::text::{human_bytes, terminal, thousands};

/// `stratus cleanup ...`.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Abort multipart uploads begun more than `--older-than` ago and never completed
    /// (S3 and S3-compatible servers; Azure's staged blocks are listed, never aborted:
    /// Azure discards them itself a week on). Without `--apply`, only lists what it would
    /// abort and the bytes that would be freed. Only uploads it listed are aborted, and
    /// only if still older than the threshold then: an upload begun during the run is
    /// never touched.
    Uploads(UploadsArgs),
}

#[derive(clap::Args)]
pub struct UploadsArgs {
    /// The store: a name in the config file (default: the file's `default`), or a URL.
    store: Option<String>,
    /// Only uploads begun longer ago than this (`7d`, `36h`, `2weeks`).
    #[arg(long, value_name = "AGE", default_value = "7d", value_parser = parse_age)]
    older_than: Duration,
    /// Only uploads of keys under this prefix (whole segments).
    #[arg(long, default_value = "")]
    prefix: String,
    /// Abort them. Without it, nothing is changed.
    #[arg(long)]
    apply: bool,
}

fn parse_age(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .map_err(|e| format!("`{}` is not an age such as 7d or 36h: {e}", terminal(text)))
}

/// `stratus cleanup uploads`.
pub async fn uploads(context: &Context, args: &UploadsArgs) -> Outcome {
    let opened = crate::inventory::open(context, args.store.as_deref(), true).await?;
    let billed = opened.billed.expect("asked for");
    let prefix = stratus::key::parse_prefix(&args.prefix)?;
    let prefix = match prefix.as_ref() {
        "" => None,
        p => Some(format!("{p}/")),
    };
    let options = CleanupOptions::new(args.older_than)
        .with_dry_run(!args.apply)
        .with_prefix(prefix);
    let report = cleanup_uploads(billed.as_ref(), &options).await?;
    let now = Utc::now();
    let verb = match report.dry_run {
        true => "would abort",
        false => "aborted",
    };
    for upload in &report.old {
        // Only uploads of known age are old (`cleanup_uploads`).
        let begun = upload.initiated.map_or_else(
            || "begun at an unknown time".to_string(),
            |at| {
                let days = (now - at).num_hours() as f64 / 24.0;
                format!(
                    "begun {} ({days:.1} days ago)",
                    at.format("%Y-%m-%d %H:%M:%SZ")
                )
            },
        );
        println!(
            "{verb}  {}  {begun}  {} parts  {}",
            terminal(&upload.key),
            thousands(upload.parts),
            human_bytes(upload.bytes)
        );
    }
    let age = humantime::format_duration(args.older_than);
    let uploads = |n: usize| match n {
        1 => "1 upload".to_string(),
        n => format!("{} uploads", thousands(n as u64)),
    };
    println!(
        "{}: {} older than {age} {verb}, {} of parts{}; {} younger kept{}",
        opened.name,
        uploads(report.old.len()),
        human_bytes(report.bytes),
        match report.dry_run {
            true => " to free",
            false => " freed",
        },
        thousands(report.kept),
        match report.gone {
            0 => String::new(),
            n => format!(
                ", {} gone before their abort (completed or aborted meanwhile)",
                thousands(n)
            ),
        }
    );
    if report.dry_run && !report.old.is_empty() {
        println!("dry run: nothing was changed; add --apply to abort them");
    }
    Ok(())
}
