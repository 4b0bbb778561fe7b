//! A [`Report`] as text for people: sizes in KiB/MiB/GiB, the prefix tree, the largest
//! objects, and the size and age histograms drawn as bars.

use super::{Counts, Report};
use crate::text::{bar, human_bytes, terminal, thousands};
use std::fmt::Write;

const BAR_WIDTH: usize = 40;

/// Render `report` (titled with `title`, e.g. the store and prefix) as a table: the
/// totals, then (when there are objects) the prefix tree, the largest objects and the
/// size and age histograms. Text from outside (the title, keys, prefixes, classes, the
/// manifest) is made safe for a terminal ([`terminal`]).
pub fn render(report: &Report, title: &str) -> String {
    let mut out = String::new();
    summary(&mut out, report, title);
    if let Some(hidden) = &report.hidden {
        hidden_section(&mut out, hidden);
    }
    if report.objects == 0 {
        let _ = writeln!(out, "\n  (no objects)");
        return out;
    }
    prefix_tree(&mut out, report);
    classes(&mut out, report);
    extensions(&mut out, report);
    largest_objects(&mut out, report);
    size_histogram(&mut out, report);
    age_histogram(&mut out, report);
    out
}

/// Title, counts, bytes, size range and modification times.
fn summary(w: &mut String, report: &Report, title: &str) {
    let _ = writeln!(w, "Inventory of {}", terminal(title));
    let _ = writeln!(
        w,
        "as of {}\n",
        report.as_of.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        w,
        "  objects     {:>15}   ({} empty)",
        thousands(report.objects),
        thousands(report.zero_byte_objects)
    );
    let _ = writeln!(
        w,
        "  bytes       {:>15}   ({}){}",
        thousands(report.bytes),
        human_bytes(report.bytes),
        if report.bytes == u64::MAX {
            ", at least: the total saturated (sizes near 16 EiB)"
        } else {
            ""
        }
    );
    if let (Some(min), Some(max), Some(mean)) =
        (report.smallest, report.largest, report.mean_size())
    {
        let _ = writeln!(
            w,
            "  sizes       smallest {}, mean {}, largest {}",
            human_bytes(min),
            human_bytes(mean.round() as u64),
            human_bytes(max)
        );
    }
    if let (Some(oldest), Some(newest)) = (report.oldest, report.newest) {
        let _ = writeln!(
            w,
            "  modified    oldest {}, newest {}",
            oldest.format("%Y-%m-%d %H:%M"),
            newest.format("%Y-%m-%d %H:%M")
        );
    }
    if let Some(unlisted) = &report.unlisted {
        let _ = writeln!(w, "  NOT LISTED  {}", unlisted.describe());
    }
    if let Some(source) = &report.source {
        let _ = writeln!(
            w,
            "  from        {} {} report {} ({} files, {} rows)",
            terminal(&source.kind),
            terminal(&source.format),
            terminal(&source.manifest),
            thousands(source.files),
            thousands(source.rows)
        );
        // With `hidden`, its section says the same.
        if report.hidden.is_none() && (source.noncurrent.objects > 0 || source.delete_markers > 0) {
            let _ = writeln!(
                w,
                "  versions    {} older versions ({}) not counted above; {} delete markers",
                thousands(source.noncurrent.objects),
                human_bytes(source.noncurrent.bytes),
                thousands(source.delete_markers)
            );
        }
    }
}

/// What is stored and billed but not listed, and the lifecycle rules that would remove
/// it (stratus deletes no version; `stratus cleanup uploads` aborts old uploads).
fn hidden_section(w: &mut String, hidden: &super::hidden::Hidden) {
    let _ = writeln!(w, "\nBilled, not listed");
    let by_prefix = |w: &mut String, prefixes: &super::PrefixBreakdown| {
        let mut top: Vec<_> = prefixes
            .entries()
            .into_iter()
            .filter(|e| e.depth == 1)
            .collect();
        top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.prefix.cmp(&b.prefix)));
        for entry in top.iter().take(5) {
            let _ = writeln!(
                w,
                "      {:<30} {:>12}  {:>10}",
                terminal(&format!("{}/", entry.prefix)),
                thousands(entry.objects),
                human_bytes(entry.bytes)
            );
        }
        if top.len() > 5 {
            let _ = writeln!(
                w,
                "      ... {} more prefixes",
                thousands(top.len() as u64 - 5)
            );
        }
    };
    if let Some(versions) = &hidden.versions {
        let _ = writeln!(
            w,
            "  noncurrent versions {:>11}   ({}){}",
            thousands(versions.noncurrent.objects),
            human_bytes(versions.noncurrent.bytes),
            match versions.noncurrent_since {
                Some(t) => format!(
                    ", noncurrent since {} at the earliest",
                    t.format("%Y-%m-%d")
                ),
                None => String::new(),
            }
        );
        if !versions.classes.is_empty() {
            let classes: Vec<String> = versions
                .classes
                .iter()
                .map(|(class, c)| format!("{} {}", terminal(class), human_bytes(c.bytes)))
                .collect();
            let _ = writeln!(w, "      by class: {}", classes.join(", "));
        }
        let azure = hidden.provider.as_deref() == Some("azure");
        if azure {
            let _ = writeln!(
                w,
                "      (Azure: noncurrent versions, snapshots and soft-deleted blobs, each at its \
                 length: at most what is billed for the blocks it does not share)"
            );
        }
        by_prefix(w, &versions.prefixes);
        if !azure {
            let _ = writeln!(
                w,
                "  delete markers      {:>11}{}",
                thousands(versions.delete_markers),
                match versions.orphaned_markers {
                    Some(n) => format!("   ({} on keys with no version left)", thousands(n)),
                    None => String::new(),
                }
            );
        }
    }
    if let Some(uploads) = &hidden.uploads {
        let _ = writeln!(
            w,
            "  unfinished uploads  {:>11}   ({} in {} parts){}",
            thousands(uploads.uploads.objects),
            human_bytes(uploads.uploads.bytes),
            thousands(uploads.parts),
            match uploads.oldest {
                Some(t) => format!(", the oldest begun {}", t.format("%Y-%m-%d %H:%M")),
                None => String::new(),
            }
        );
        if uploads.stale.objects > 0 {
            let _ = writeln!(
                w,
                "      {} begun more than {} days ago ({}){}",
                thousands(uploads.stale.objects),
                uploads.stale_after_days,
                human_bytes(uploads.stale.bytes),
                match hidden.provider.as_deref() {
                    Some("azure") => "",
                    _ => ": `stratus cleanup uploads` aborts them",
                }
            );
        }
        by_prefix(w, &uploads.prefixes);
    }
    for reason in &hidden.not_seen {
        let _ = writeln!(w, "  not looked at: {}", terminal(reason));
    }
    let noncurrent = hidden
        .versions
        .as_ref()
        .is_some_and(|v| v.noncurrent.objects > 0 || v.orphaned_markers.is_some_and(|n| n > 0));
    let stale = hidden
        .uploads
        .as_ref()
        .is_some_and(|u| u.uploads.objects > 0);
    if noncurrent || stale {
        lifecycle_rules(w, hidden.provider.as_deref(), noncurrent, stale);
    }
}

/// The provider's own rule that would remove what is kept (stratus deletes no version):
/// S3's lifecycle configuration (also for reports that do not say their provider), GCS's
/// lifecycle rules (`Delete` of noncurrent objects, `AbortIncompleteMultipartUpload`),
/// Azure's lifecycle management policy (Azure discards staged blocks itself).
fn lifecycle_rules(w: &mut String, provider: Option<&str>, noncurrent: bool, stale: bool) {
    match provider {
        Some("azure") => {
            if noncurrent {
                let _ = writeln!(
                    w,
                    "  a lifecycle management rule that removes them (Azure; days to choose; \
                     soft-deleted blobs go when the retention set on the account ends):\n      \
                     {{\"name\": \"cleanup\", \"enabled\": true, \"type\": \"Lifecycle\", \
                     \"definition\": {{\"filters\": {{\"blobTypes\": [\"blockBlob\"]}}, \
                     \"actions\": {{\"version\": {{\"delete\": {{\"daysAfterCreationGreaterThan\": 30}}}}, \
                     \"snapshot\": {{\"delete\": {{\"daysAfterCreationGreaterThan\": 30}}}}}}}}}}"
                );
            }
            if stale {
                let _ = writeln!(
                    w,
                    "  staged blocks: Azure discards them a week after a blob's last block was staged"
                );
            }
        }
        Some("gcs") => {
            let mut rules = Vec::new();
            if noncurrent {
                rules.push(
                    "{\"action\": {\"type\": \"Delete\"}, \"condition\": {\"isLive\": false, \
                     \"daysSinceNoncurrentTime\": 30}}",
                );
            }
            if stale {
                rules.push(
                    "{\"action\": {\"type\": \"AbortIncompleteMultipartUpload\"}, \
                     \"condition\": {\"age\": 7}}",
                );
            }
            let _ = writeln!(
                w,
                "  lifecycle rules that remove them (GCS; days to choose):\n      {}",
                rules.join(",\n      ")
            );
        }
        _ => {
            let mut rules = Vec::new();
            if noncurrent {
                rules.push(
                    "\"NoncurrentVersionExpiration\": {\"NoncurrentDays\": 30}, \
                     \"Expiration\": {\"ExpiredObjectDeleteMarker\": true}",
                );
            }
            if stale {
                rules.push("\"AbortIncompleteMultipartUpload\": {\"DaysAfterInitiation\": 7}");
            }
            let _ = writeln!(
                w,
                "  a lifecycle rule that removes them (S3; days to choose):\n      {{\"ID\": \"cleanup\", \"Status\": \"Enabled\", \"Filter\": {{}}, {}}}",
                rules.join(", ")
            );
        }
    }
}

/// Objects and bytes per prefix, as an indented tree, with what did not fit.
fn prefix_tree(w: &mut String, report: &Report) {
    let tree = report.prefixes.tree();
    if report.prefixes.depth() > 0 && !tree.is_empty() {
        let _ = writeln!(w, "\nBy prefix (to depth {}):", report.prefixes.depth());
        let _ = writeln!(
            w,
            "  {:>12} {:>12} {:>6}  prefix",
            "objects", "bytes", "share"
        );
        for e in &tree {
            let share = 100.0 * e.bytes as f64 / report.bytes.max(1) as f64;
            let name = e.prefix.rsplit('/').next().unwrap_or(&e.prefix);
            let _ = writeln!(
                w,
                "  {:>12} {:>12} {:>5.1}%  {}{}/",
                thousands(e.objects),
                human_bytes(e.bytes),
                share,
                "  ".repeat(e.depth - 1),
                terminal(name)
            );
        }
        let other = report.prefixes.other();
        if other.prefixes > 0 {
            let _ = writeln!(
                w,
                "  {:>12} {:>12} {:>6}  ({} more prefixes not shown; their top-level objects and bytes)",
                thousands(other.objects),
                human_bytes(other.bytes),
                "",
                thousands(other.prefixes)
            );
        }
        if !report.prefixes.is_exact() {
            let missed: u64 = report.prefixes.untracked().iter().map(|c| c.objects).sum();
            let _ = writeln!(
                w,
                "  (incomplete: more distinct prefixes than the tracking bound; {} objects \
                 fell under untracked prefixes, counted in the totals but not above)",
                thousands(missed)
            );
        }
        let in_prefixes: u64 = tree
            .iter()
            .filter(|e| e.depth == 1)
            .map(|e| e.objects)
            .sum::<u64>()
            + other.objects;
        let direct = report.objects - in_prefixes.min(report.objects);
        if direct > 0 {
            let _ = writeln!(
                w,
                "  {:>12} {:>12} {:>6}  (objects directly under the scanned prefix)",
                thousands(direct),
                "",
                ""
            );
        }
    }
}

/// Objects and bytes per storage class, most bytes first; or why there are none.
fn classes(w: &mut String, report: &Report) {
    let Some(classes) = &report.classes else {
        let _ = writeln!(
            w,
            "\nBy storage class: not available from a listing (read a provider's inventory \
             report for classes)"
        );
        return;
    };
    let mut rows: Vec<_> = classes.iter().collect();
    rows.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    let _ = writeln!(w, "\nBy storage class:");
    let _ = writeln!(
        w,
        "  {:>12} {:>12} {:>6}  class",
        "objects", "bytes", "share"
    );
    for (class, c) in rows {
        let share = 100.0 * c.bytes as f64 / report.bytes.max(1) as f64;
        let _ = writeln!(
            w,
            "  {:>12} {:>12} {:>5.1}%  {}",
            thousands(c.objects),
            human_bytes(c.bytes),
            share,
            terminal(class)
        );
    }
    if let Some(c) = &report.classes_other {
        let share = 100.0 * c.bytes as f64 / report.bytes.max(1) as f64;
        let _ = writeln!(
            w,
            "  {:>12} {:>12} {:>5.1}%  (other: classes past the first {}, or named with more \
             than {} bytes)",
            thousands(c.objects),
            human_bytes(c.bytes),
            share,
            super::CLASS_LIMIT,
            super::CLASS_NAME_LIMIT
        );
    }
}

/// The extensions that hold the most bytes ([`EXTENSIONS_SHOWN`]), then the rest summed,
/// names without one, and extensions past the limit.
fn extensions(w: &mut String, report: &Report) {
    let Some(extensions) = &report.extensions else {
        return;
    };
    let rows = extensions.by_bytes();
    let _ = writeln!(w, "\nBy extension:");
    let _ = writeln!(
        w,
        "  {:>12} {:>12} {:>6}  extension",
        "objects", "bytes", "share"
    );
    let row = |w: &mut String, c: Counts, name: &str| {
        let share = 100.0 * c.bytes as f64 / report.bytes.max(1) as f64;
        let _ = writeln!(
            w,
            "  {:>12} {:>12} {:>5.1}%  {name}",
            thousands(c.objects),
            human_bytes(c.bytes),
            share
        );
    };
    for (extension, c) in rows.iter().take(EXTENSIONS_SHOWN) {
        // ASCII letters and digits only: nothing to escape.
        row(w, *c, &format!(".{extension}"));
    }
    let mut rest = Counts::default();
    for (_, c) in rows.iter().skip(EXTENSIONS_SHOWN) {
        rest.merge(*c);
    }
    if !rest.is_empty() {
        let more = rows.len() - EXTENSIONS_SHOWN;
        row(w, rest, &format!("({more} more extensions)"));
    }
    if !extensions.none().is_empty() {
        row(w, extensions.none(), "(no extension)");
    }
    if !extensions.other().is_empty() {
        let past = format!(
            "(other: extensions past the first {})",
            super::EXTENSION_LIMIT
        );
        row(w, extensions.other(), &past);
    }
}

/// The extensions the table lists one by one.
const EXTENSIONS_SHOWN: usize = 10;

/// The largest objects, largest first.
fn largest_objects(w: &mut String, report: &Report) {
    let largest = report.top.largest();
    if !largest.is_empty() {
        let _ = writeln!(w, "\nLargest {} objects:", largest.len());
        for o in &largest {
            let _ = writeln!(
                w,
                "  {:>12}  {}  {}",
                human_bytes(o.size),
                o.last_modified.format("%Y-%m-%d"),
                terminal(o.key.as_ref())
            );
        }
    }
}

/// Objects and bytes per power-of-two size bucket.
fn size_histogram(w: &mut String, report: &Report) {
    let buckets: Vec<_> = report.sizes.buckets().collect();
    let max = buckets.iter().map(|b| b.objects).max().unwrap_or(0);
    let _ = writeln!(w, "\nObject sizes:");
    for b in &buckets {
        histogram_row(w, &b.label(), 21, b.objects, b.bytes, max);
    }
}

/// Objects and bytes per age bucket (and those modified after `as_of`).
fn age_histogram(w: &mut String, report: &Report) {
    let ages: Vec<_> = report.ages.buckets().collect();
    let future = report.ages.future();
    let max = ages
        .iter()
        .map(|(_, c)| c.objects)
        .max()
        .unwrap_or(0)
        .max(future.objects);
    let _ = writeln!(
        w,
        "\nObject ages (last modified before {}):",
        report.as_of.format("%Y-%m-%d")
    );
    let future_row = (future.objects > 0).then_some(("in the future", future));
    for (label, c) in future_row.into_iter().chain(ages) {
        histogram_row(w, label, 13, c.objects, c.bytes, max);
    }
}

/// One histogram line: label, objects, bytes and a bar scaled to `max` objects.
fn histogram_row(
    w: &mut String,
    label: &str,
    label_width: usize,
    objects: u64,
    bytes: u64,
    max: u64,
) {
    let line = format!(
        "  {label:>label_width$} {:>10} {:>10}  {}",
        thousands(objects),
        human_bytes(bytes),
        bar(objects, max, BAR_WIDTH)
    );
    let _ = writeln!(w, "{}", line.trim_end());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(100), "100");
        assert_eq!(bar(0, 10, 40), "");
        assert_eq!(bar(10, 10, 4), "████");
        assert_eq!(bar(5, 10, 4), "██");
        assert_eq!(bar(1, 1000, 4), "▏");
    }

    #[test]
    fn renders_every_section() {
        use chrono::{DateTime, TimeDelta, Utc};
        use object_store::{path::Path, ObjectMeta};
        let as_of = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
        let mut report = Report::new(as_of, 2, 2, 2);
        for (key, size, days) in [
            ("logs/a/1", 3000, 0),
            ("logs/a/2", 1000, 40),
            ("logs/b/3", 10, 400),
            ("img/x", 0, 2000),
            ("top", 5, -1),
        ] {
            let meta = ObjectMeta {
                location: Path::from(key),
                last_modified: as_of - TimeDelta::days(days),
                size,
                e_tag: None,
                version: None,
            };
            report.add(key, &meta);
        }
        report.finish();
        let text = render(&report, "TestStore");
        let lines: Vec<&str> = text.lines().collect();
        let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(
            text.starts_with("Inventory of TestStore\nas of 2027-01-15 08:00:00 UTC"),
            "{text}"
        );
        assert!(has("objects                   5   (1 empty)"), "{text}");
        assert!(has("     3      3.9 KiB  99.9%  logs/"), "{text}");
        assert!(has("     2      3.9 KiB  99.6%    a/"), "{text}");
        assert!(
            has("(2 more prefixes not shown; their top-level objects and bytes)"),
            "{text}"
        );
        assert!(has("(objects directly under the scanned prefix)"), "{text}");
        assert!(has("   2.9 KiB  2027-01-15  logs/a/1"), "{text}");
        assert!(has("0 B          1        0 B  █"), "{text}");
        assert!(has("in the future          1        5 B"), "{text}");
        assert!(has("> 3 years          1        0 B"), "{text}");
        assert!(
            lines.iter().all(|l| l.trim_end() == *l),
            "trailing spaces:\n{text}"
        );
    }

    /// The rule printed is the provider's own: S3's lifecycle configuration (and for a
    /// report that does not say), GCS's lifecycle, Azure's lifecycle management policy;
    /// Azure has no delete markers and discards staged blocks itself.
    #[test]
    fn the_rule_that_removes_kept_bytes_is_the_providers() {
        use crate::inventory::hidden::{Hidden, Uploads, Versions};
        use crate::inventory::{Counts, PrefixBreakdown};
        let counts = Counts {
            objects: 2,
            bytes: 300,
        };
        let hidden = |provider: Option<&str>| Hidden {
            versions: Some(Versions {
                noncurrent: counts,
                noncurrent_since: None,
                classes: Default::default(),
                delete_markers: 0,
                orphaned_markers: Some(0),
                prefixes: PrefixBreakdown::new(1, 10),
            }),
            uploads: Some(Uploads {
                uploads: counts,
                parts: 3,
                oldest: None,
                stale: counts,
                stale_after_days: 7,
                prefixes: PrefixBreakdown::new(1, 10),
                classes: Default::default(),
            }),
            not_seen: Vec::new(),
            provider: provider.map(str::to_string),
        };
        let text = |provider| {
            let mut w = String::new();
            hidden_section(&mut w, &hidden(provider));
            w
        };
        for s3 in [text(Some("s3")), text(None)] {
            assert!(s3.contains("NoncurrentVersionExpiration"), "{s3}");
            assert!(s3.contains("AbortIncompleteMultipartUpload"), "{s3}");
            assert!(s3.contains("delete markers"), "{s3}");
            assert!(s3.contains("`stratus cleanup uploads` aborts them"), "{s3}");
        }
        let gcs = text(Some("gcs"));
        assert!(
            gcs.contains("daysSinceNoncurrentTime") && !gcs.contains("NoncurrentVersionExpiration"),
            "{gcs}"
        );
        assert!(
            gcs.contains(
                "\"type\": \"AbortIncompleteMultipartUpload\"}, \"condition\": {\"age\": 7}"
            ),
            "{gcs}"
        );
        let azure = text(Some("azure"));
        assert!(azure.contains("\"snapshot\": {\"delete\""), "{azure}");
        assert!(azure.contains("Azure discards them"), "{azure}");
        assert!(
            !azure.contains("delete markers") && !azure.contains("cleanup uploads"),
            "{azure}"
        );
    }
}
