//! [`Report::diff`]: how one inventory report grew into another ("what grew since last
//! week"): totals, and every prefix either breakdown kept, sorted by growth.

use super::histogram::{size_range, Counts};
use super::prefixes::PrefixEntry;
use super::Report;
use crate::text::{human_bytes, terminal, thousands};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;

/// A count before and after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Change {
    /// In the older report.
    pub before: u64,
    /// In the newer report.
    pub after: u64,
}

impl Change {
    /// `after - before`, signed.
    pub fn delta(&self) -> i128 {
        i128::from(self.after) - i128::from(self.before)
    }

    /// The change relative to `before` (`None` from zero).
    pub fn ratio(&self) -> Option<f64> {
        (self.before > 0).then(|| self.delta() as f64 / self.before as f64)
    }
}

/// What happened to a prefix between two reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrefixStatus {
    /// Only in the newer report.
    Appeared,
    /// Only in the older report.
    Vanished,
    /// In both, with other totals.
    Changed,
    /// In both, the same totals.
    Same,
}

/// One prefix's change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrefixChange {
    /// The prefix (relative to the scanned prefix).
    pub prefix: String,
    /// Its depth (segments).
    pub depth: usize,
    /// Objects below it.
    pub objects: Change,
    /// Their bytes.
    pub bytes: Change,
    /// Appeared, vanished, changed or the same.
    pub status: PrefixStatus,
}

/// One storage class's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClassChange {
    /// The class (S3 storage class, Azure access tier, GCS storage class).
    pub class: String,
    /// Its objects.
    pub objects: Change,
    /// Their bytes.
    pub bytes: Change,
}

impl ClassChange {
    /// The change of `class` from `old` to `new` counts (none: zero).
    fn between(class: &str, old: Option<&Counts>, new: Option<&Counts>) -> Self {
        let (old, new) = (
            old.copied().unwrap_or_default(),
            new.copied().unwrap_or_default(),
        );
        ClassChange {
            class: class.to_string(),
            objects: Change {
                before: old.objects,
                after: new.objects,
            },
            bytes: Change {
                before: old.bytes,
                after: new.bytes,
            },
        }
    }
}

/// One size bucket's change ([`SizeHistogram`](super::SizeHistogram)'s power-of-two
/// buckets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SizeChange {
    /// The smallest size in the bucket.
    pub min: u64,
    /// The largest size in the bucket.
    pub max: u64,
    /// Its objects.
    pub objects: Change,
    /// Their bytes.
    pub bytes: Change,
}

/// How a report grew into another: [`Report::diff`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ReportDiff {
    /// The older report's `as_of`.
    pub from: DateTime<Utc>,
    /// The newer report's `as_of`.
    pub to: DateTime<Utc>,
    /// All objects.
    pub objects: Change,
    /// All bytes.
    pub bytes: Change,
    /// Objects of size 0.
    pub zero_byte_objects: Change,
    /// Every size bucket either report has objects in, smallest sizes first (what grew:
    /// many small objects, or a few large ones).
    pub sizes: Vec<SizeChange>,
    /// Every prefix either report kept: most bytes gained first, most lost last (ties:
    /// objects gained, then the name).
    pub prefixes: Vec<PrefixChange>,
    /// Every storage class either report has, most bytes gained first; `None` unless both
    /// reports give classes (reports read from provider inventories do, listings do not).
    pub classes: Option<Vec<ClassChange>>,
    /// The change of the classes either report did not keep ([`Report::classes_other`]),
    /// as one class named `other`; `None` when both kept every class.
    pub classes_other: Option<ClassChange>,
    /// What the store bills beside the objects (noncurrent versions, delete markers,
    /// unfinished uploads: [`Report::hidden`]), each as a [`ClassChange`] named for it;
    /// only what both reports looked at, `None` when they share nothing.
    pub hidden: Option<Vec<ClassChange>>,
    /// Whether either report's breakdown left prefixes out (its `other`, or prefixes
    /// past the tracking bound of an inventory report), or the two have different
    /// depths: then a prefix "appeared" or "vanished" may only have entered or left the
    /// kept set, and is not proof that its objects did.
    pub incomplete: bool,
}

impl Report {
    /// How this report grew into `newer` (see [`ReportDiff`]).
    pub fn diff(&self, newer: &Report) -> ReportDiff {
        let before: BTreeMap<String, PrefixEntry> = self
            .prefixes
            .entries()
            .into_iter()
            .map(|e| (e.prefix.clone(), e))
            .collect();
        let mut after: BTreeMap<String, PrefixEntry> = newer
            .prefixes
            .entries()
            .into_iter()
            .map(|e| (e.prefix.clone(), e))
            .collect();
        let mut prefixes = Vec::with_capacity(before.len().max(after.len()));
        for (name, old) in before {
            let new = after.remove(&name);
            let objects = Change {
                before: old.objects,
                after: new.as_ref().map_or(0, |n| n.objects),
            };
            let bytes = Change {
                before: old.bytes,
                after: new.as_ref().map_or(0, |n| n.bytes),
            };
            let status = match &new {
                None => PrefixStatus::Vanished,
                Some(_) if objects.delta() == 0 && bytes.delta() == 0 => PrefixStatus::Same,
                Some(_) => PrefixStatus::Changed,
            };
            prefixes.push(PrefixChange {
                prefix: name,
                depth: old.depth,
                objects,
                bytes,
                status,
            });
        }
        for (name, new) in after {
            prefixes.push(PrefixChange {
                prefix: name,
                depth: new.depth,
                objects: Change {
                    before: 0,
                    after: new.objects,
                },
                bytes: Change {
                    before: 0,
                    after: new.bytes,
                },
                status: PrefixStatus::Appeared,
            });
        }
        prefixes.sort_by(|a, b| {
            b.bytes
                .delta()
                .cmp(&a.bytes.delta())
                .then(b.objects.delta().cmp(&a.objects.delta()))
                .then(a.prefix.cmp(&b.prefix))
        });
        let left_out = |r: &Report| r.prefixes.other().prefixes > 0 || !r.prefixes.is_exact();
        let classes = match (&self.classes, &newer.classes) {
            (Some(before), Some(after)) => {
                let names: std::collections::BTreeSet<&String> =
                    before.keys().chain(after.keys()).collect();
                let mut classes: Vec<ClassChange> = names
                    .into_iter()
                    .map(|class| ClassChange::between(class, before.get(class), after.get(class)))
                    .collect();
                classes.sort_by(|a, b| {
                    b.bytes
                        .delta()
                        .cmp(&a.bytes.delta())
                        .then(a.class.cmp(&b.class))
                });
                Some(classes)
            }
            _ => None,
        };
        let classes_other =
            (self.classes_other.is_some() || newer.classes_other.is_some()).then(|| {
                ClassChange::between(
                    "other",
                    self.classes_other.as_ref(),
                    newer.classes_other.as_ref(),
                )
            });
        let hidden = match (&self.hidden, &newer.hidden) {
            (Some(old), Some(new)) => {
                let mut rows = Vec::new();
                if let (Some(a), Some(b)) = (&old.versions, &new.versions) {
                    rows.push(ClassChange::between(
                        "noncurrent versions",
                        Some(&a.noncurrent),
                        Some(&b.noncurrent),
                    ));
                    let markers = |n: u64| Counts {
                        objects: n,
                        bytes: 0,
                    };
                    rows.push(ClassChange::between(
                        "delete markers",
                        Some(&markers(a.delete_markers)),
                        Some(&markers(b.delete_markers)),
                    ));
                }
                if let (Some(a), Some(b)) = (&old.uploads, &new.uploads) {
                    rows.push(ClassChange::between(
                        "unfinished uploads",
                        Some(&a.uploads),
                        Some(&b.uploads),
                    ));
                }
                (!rows.is_empty()).then_some(rows)
            }
            _ => None,
        };
        let mut sizes: BTreeMap<u64, SizeChange> = BTreeMap::new();
        for (bucket, newer) in self
            .sizes
            .buckets()
            .map(|b| (b, false))
            .chain(newer.sizes.buckets().map(|b| (b, true)))
        {
            let change = sizes.entry(bucket.min).or_insert(SizeChange {
                min: bucket.min,
                max: bucket.max,
                objects: Change::default(),
                bytes: Change::default(),
            });
            let (objects, bytes) = match newer {
                false => (&mut change.objects.before, &mut change.bytes.before),
                true => (&mut change.objects.after, &mut change.bytes.after),
            };
            *objects = bucket.objects;
            *bytes = bucket.bytes;
        }
        ReportDiff {
            hidden,
            sizes: sizes.into_values().collect(),
            from: self.as_of,
            to: newer.as_of,
            objects: Change {
                before: self.objects,
                after: newer.objects,
            },
            bytes: Change {
                before: self.bytes,
                after: newer.bytes,
            },
            zero_byte_objects: Change {
                before: self.zero_byte_objects,
                after: newer.zero_byte_objects,
            },
            prefixes,
            classes,
            classes_other,
            incomplete: left_out(self)
                || left_out(newer)
                || self.prefixes.depth() != newer.prefixes.depth(),
        }
    }
}

/// `+1.5 KiB` / `-3 B` / `0 B`.
pub(crate) fn signed_bytes(delta: i128) -> String {
    let size = human_bytes(delta.unsigned_abs().min(u128::from(u64::MAX)) as u64);
    match delta.signum() {
        1 => format!("+{size}"),
        -1 => format!("-{size}"),
        _ => size,
    }
}

/// `+1,500` / `-3` / `0`.
pub(crate) fn signed_count(delta: i128) -> String {
    let count = thousands(delta.unsigned_abs().min(u128::from(u64::MAX)) as u64);
    match delta.signum() {
        1 => format!("+{count}"),
        -1 => format!("-{count}"),
        _ => count,
    }
}

fn percent(change: &Change) -> String {
    change
        .ratio()
        .map_or_else(|| "new".to_string(), |r| format!("{:+.1}%", r * 100.0))
}

impl ReportDiff {
    /// The diff as a table for people: totals, then the `limit` prefixes that grew most
    /// and the `limit` that shrank most (unchanged ones left out).
    pub fn render(&self, limit: usize) -> String {
        let mut out = String::new();
        let days = (self.to - self.from).num_hours() as f64 / 24.0;
        let _ = writeln!(
            out,
            "inventory diff: {} -> {} ({days:.1} days)\n",
            self.from.format("%Y-%m-%d %H:%M UTC"),
            self.to.format("%Y-%m-%d %H:%M UTC")
        );
        for (label, change, bytes) in [
            ("objects", &self.objects, false),
            ("bytes", &self.bytes, true),
        ] {
            let (before, after, delta) = if bytes {
                (
                    human_bytes(change.before),
                    human_bytes(change.after),
                    signed_bytes(change.delta()),
                )
            } else {
                (
                    thousands(change.before),
                    thousands(change.after),
                    signed_count(change.delta()),
                )
            };
            let _ = writeln!(
                out,
                "  {label:<8} {before:>12} -> {after:>12}  {delta:>12} ({})",
                percent(change)
            );
        }
        let sized: Vec<&SizeChange> = self
            .sizes
            .iter()
            .filter(|s| s.objects.delta() != 0 || s.bytes.delta() != 0)
            .collect();
        if !sized.is_empty() {
            let _ = writeln!(
                out,
                "\n  {:<32} {:>12} {:>12} {:>12} {:>10}",
                "by size (what changed)", "bytes", "growth", "objects", "growth"
            );
            for s in sized {
                let _ = writeln!(
                    out,
                    "  {:<32} {:>12} {:>12} {:>12} {:>10}",
                    size_range(s.min, s.max),
                    human_bytes(s.bytes.after),
                    signed_bytes(s.bytes.delta()),
                    thousands(s.objects.after),
                    signed_count(s.objects.delta())
                );
            }
        }
        if let Some(classes) = &self.classes {
            let _ = writeln!(
                out,
                "\n  {:<32} {:>12} {:>12} {:>12} {:>10}",
                "by class", "bytes", "growth", "objects", "growth"
            );
            let other = self.classes_other.iter().map(|c| (c, true));
            for (c, other) in classes.iter().map(|c| (c, false)).chain(other) {
                let name = match other {
                    true => format!("(other: past {} classes)", super::CLASS_LIMIT),
                    false => c.class.clone(),
                };
                let _ = writeln!(
                    out,
                    "  {:<32} {:>12} {:>12} {:>12} {:>10}",
                    terminal(&name),
                    human_bytes(c.bytes.after),
                    signed_bytes(c.bytes.delta()),
                    thousands(c.objects.after),
                    signed_count(c.objects.delta())
                );
            }
        }
        if let Some(hidden) = &self.hidden {
            let _ = writeln!(
                out,
                "\n  {:<32} {:>12} {:>12} {:>12} {:>10}",
                "billed, not listed", "bytes", "growth", "count", "growth"
            );
            for c in hidden {
                let _ = writeln!(
                    out,
                    "  {:<32} {:>12} {:>12} {:>12} {:>10}",
                    c.class,
                    human_bytes(c.bytes.after),
                    signed_bytes(c.bytes.delta()),
                    thousands(c.objects.after),
                    signed_count(c.objects.delta())
                );
            }
        }
        let moved: Vec<&PrefixChange> = self
            .prefixes
            .iter()
            .filter(|p| p.status != PrefixStatus::Same)
            .collect();
        if moved.is_empty() {
            let _ = writeln!(out, "\n  no prefix changed");
            return out;
        }
        let grew: Vec<_> = moved
            .iter()
            .filter(|p| (p.bytes.delta(), p.objects.delta()) > (0, 0))
            .take(limit)
            .collect();
        let shrank: Vec<_> = moved
            .iter()
            .rev()
            .filter(|p| (p.bytes.delta(), p.objects.delta()) < (0, 0))
            .take(limit)
            .collect();
        for (title, rows) in [("grew most", grew), ("shrank most", shrank)] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n  {title:<32} {:>12} {:>12} {:>12} {:>10}",
                "bytes", "growth", "objects", "growth"
            );
            for p in rows {
                let mark = match p.status {
                    PrefixStatus::Appeared => " (new)",
                    PrefixStatus::Vanished => " (gone)",
                    _ => "",
                };
                let name = format!("{}/{mark}", terminal(&p.prefix));
                let _ = writeln!(
                    out,
                    "  {name:<32} {:>12} {:>12} {:>12} {:>10}",
                    human_bytes(p.bytes.after),
                    signed_bytes(p.bytes.delta()),
                    thousands(p.objects.after),
                    signed_count(p.objects.delta())
                );
            }
        }
        if self.incomplete {
            let _ = writeln!(
                out,
                "\n  (a breakdown left prefixes out, or the depths differ: \"new\" and \"gone\" may \
                 only mean a prefix entered or left the kept set)"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use object_store::path::Path;
    use object_store::ObjectMeta;

    fn report(at: i64, objects: &[(&str, u64)], limit: usize) -> Report {
        let as_of = Utc.timestamp_opt(at, 0).unwrap();
        let mut report = Report::new(as_of, 2, limit, 5);
        for (key, size) in objects {
            report.add(
                key,
                &ObjectMeta {
                    location: Path::from(*key),
                    last_modified: as_of,
                    size: *size,
                    e_tag: None,
                    version: None,
                },
            );
        }
        report.finish();
        report
    }

    #[test]
    fn hidden_bytes_are_compared_when_both_reports_looked() {
        use crate::inventory::hidden::{Hidden, Versions};
        let with = |mut report: Report, noncurrent: u64, markers: u64| {
            report.hidden = Some(Hidden {
                versions: Some(Versions {
                    noncurrent: Counts {
                        objects: 1,
                        bytes: noncurrent,
                    },
                    noncurrent_since: None,
                    classes: BTreeMap::new(),
                    delete_markers: markers,
                    orphaned_markers: Some(0),
                    prefixes: crate::inventory::PrefixBreakdown::new(1, 10),
                }),
                uploads: None,
                not_seen: Vec::new(),
                provider: None,
            });
            report
        };
        let old = with(report(0, &[("a/1", 10)], 10), 1 << 20, 3);
        let new = with(report(86_400, &[("a/1", 10)], 10), 3 << 20, 1);
        let diff = old.diff(&new);
        let hidden = diff.hidden.as_ref().unwrap();
        assert_eq!(hidden[0].class, "noncurrent versions");
        assert_eq!(hidden[0].bytes.delta(), 2 << 20);
        assert_eq!(hidden[1].objects.delta(), -2);
        let text = diff.render(5);
        assert!(text.contains("noncurrent versions"), "{text}");
        assert!(text.contains("+2.0 MiB"), "{text}");
        // One report did not look: nothing to compare.
        assert!(report(0, &[], 10).diff(&new).hidden.is_none());
    }

    /// Sizes are compared bucket by bucket, smallest first, every bucket either report
    /// has; the table shows the buckets that changed.
    #[test]
    fn sizes_are_compared_bucket_by_bucket() {
        let old = report(0, &[("a/1", 0), ("a/2", 1500), ("a/3", 1600)], 10);
        let new = report(86_400, &[("a/1", 0), ("a/2", 1500), ("b/1", 5 << 20)], 10);
        let diff = old.diff(&new);
        let rows: Vec<(u64, u64, i128, i128)> = diff
            .sizes
            .iter()
            .map(|s| (s.min, s.max, s.objects.delta(), s.bytes.delta()))
            .collect();
        assert_eq!(
            rows,
            [
                (0, 0, 0, 0),
                (1024, 2047, -1, -1600),
                ((4 << 20), (8 << 20) - 1, 1, 5 << 20),
            ]
        );
        // Every bucket's totals are the reports' own.
        let after: u64 = diff.sizes.iter().map(|s| s.bytes.after).sum();
        assert_eq!(after, new.bytes);
        let text = diff.render(5);
        assert!(text.contains("by size (what changed)"), "{text}");
        assert!(text.contains("4.0 MiB – 8.0 MiB"), "{text}");
        assert!(
            !text.contains("\n  0 B "),
            "an unchanged bucket is left out: {text}"
        );
        let same = old.diff(&old);
        assert!(same.sizes.iter().all(|s| s.objects.delta() == 0));
        assert!(!same.render(5).contains("by size"));
    }

    #[test]
    fn growth_per_prefix_sorted_with_appeared_and_vanished() {
        let old = report(
            0,
            &[("a/1", 10), ("a/2", 10), ("b/1", 100), ("c/1", 5)],
            100,
        );
        let new = report(
            7 * 86_400,
            &[
                ("a/1", 10),
                ("a/2", 10),
                ("a/3", 500),
                ("b/1", 40),
                ("d/1", 7),
            ],
            100,
        );
        let diff = old.diff(&new);
        assert_eq!(
            diff.objects,
            Change {
                before: 4,
                after: 5
            }
        );
        assert_eq!(
            diff.bytes,
            Change {
                before: 125,
                after: 567
            }
        );
        assert!(!diff.incomplete);
        let order: Vec<(&str, PrefixStatus, i128)> = diff
            .prefixes
            .iter()
            .map(|p| (p.prefix.as_str(), p.status, p.bytes.delta()))
            .collect();
        assert_eq!(
            order,
            [
                ("a", PrefixStatus::Changed, 500),
                ("d", PrefixStatus::Appeared, 7),
                ("c", PrefixStatus::Vanished, -5),
                ("b", PrefixStatus::Changed, -60),
            ]
        );
        let table = diff.render(10);
        assert!(table.contains("(7.0 days)"), "{table}");
        assert!(table.contains("+442 B"), "{table}");
        assert!(
            table.contains("d/ (new)") && table.contains("c/ (gone)"),
            "{table}"
        );
        // Most shrinkage first in its own section.
        let shrank = table.split("shrank most").nth(1).unwrap();
        assert!(
            shrank.find("b/").unwrap() < shrank.find("c/").unwrap(),
            "{table}"
        );
    }

    #[test]
    fn same_reports_show_no_change_and_bounded_breakdowns_say_so() {
        let objects = [("a/1", 10), ("b/1", 20), ("c/1", 30)];
        let old = report(0, &objects, 100);
        let diff = old.diff(&old);
        assert!(diff.prefixes.iter().all(|p| p.status == PrefixStatus::Same));
        assert!(diff.render(10).contains("no prefix changed"));
        // A limit of 1 leaves prefixes out: the diff says its "new"/"gone" may be moves
        // in and out of the kept set.
        let bounded = report(0, &objects, 1);
        assert!(bounded.diff(&old).incomplete);
        assert!(bounded.diff(&old).render(10).contains("entered or left"));
    }
}
