//! What a report's bytes cost a month at the configured storage prices
//! ([`Prices::storage`]): an estimate from the prices given, never a bill (no request,
//! retrieval, minimum-duration or transfer charge is in it, and providers round and
//! tier their own way).

use super::{Counts, Report};
use crate::requests::Prices;
use std::collections::BTreeMap;
use std::fmt;

/// One line of a [`StorageEstimate`]: bytes of one kind and class, and their price.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CostLine {
    /// `current`, `noncurrent versions` or `unfinished uploads`.
    pub what: &'static str,
    /// The storage class (`None`: the source does not say).
    pub class: Option<String>,
    /// Bytes.
    pub bytes: u64,
    /// Per month at the class's price; `None`: no price applies (it is not in the total).
    pub per_month: Option<f64>,
}

/// The monthly storage cost of a report's bytes at configured prices.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StorageEstimate {
    /// By kind, then class.
    pub lines: Vec<CostLine>,
    /// The sum of the priced lines.
    pub per_month: f64,
    /// Bytes no price applies to.
    pub unpriced: u64,
}

const GIB: f64 = (1u64 << 30) as f64;

/// What `report`'s bytes cost a month at `prices` (see [`Prices::storage`]): current
/// objects by class (a listing gives no classes: all at the `default` or `STANDARD`
/// price), and, when the report looked, noncurrent versions and the parts of unfinished
/// uploads by class (bytes whose class the source does not say at the `default` or
/// `STANDARD` price).
pub fn storage_estimate(report: &Report, prices: &Prices) -> StorageEstimate {
    let mut estimate = StorageEstimate::default();
    let mut add = |what: &'static str, class: Option<&str>, bytes: u64| {
        if bytes == 0 {
            return;
        }
        let per_month = prices
            .storage_price(class)
            .map(|price| bytes as f64 / GIB * price);
        match per_month {
            Some(cost) => estimate.per_month += cost,
            None => estimate.unpriced = estimate.unpriced.saturating_add(bytes),
        }
        estimate.lines.push(CostLine {
            what,
            class: class.map(str::to_string),
            bytes,
            per_month,
        });
    };
    // One kind's bytes: each class's, then the rest (whose class is not said).
    let mut kind = |what: &'static str, classes: Option<&BTreeMap<String, Counts>>, all: u64| {
        let mut classified = 0u64;
        for (class, counts) in classes.into_iter().flatten() {
            classified = classified.saturating_add(counts.bytes);
            add(what, Some(class), counts.bytes);
        }
        add(what, None, all.saturating_sub(classified));
    };
    kind("current", report.classes.as_ref(), report.bytes);
    if let Some(hidden) = &report.hidden {
        if let Some(versions) = &hidden.versions {
            let bytes = versions.noncurrent.bytes;
            kind("noncurrent versions", Some(&versions.classes), bytes);
        }
        if let Some(uploads) = &hidden.uploads {
            kind(
                "unfinished uploads",
                Some(&uploads.classes),
                uploads.uploads.bytes,
            );
        }
    }
    estimate
}

impl fmt::Display for StorageEstimate {
    /// A few lines for people: `noncurrent versions  STANDARD  412.0 GiB  about
    /// $9.48/month`, then the total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Storage cost, estimated from the configured prices (not a bill):"
        )?;
        for line in &self.lines {
            let class = line.class.as_deref().unwrap_or("(class not given)");
            let cost = match line.per_month {
                Some(cost) => format!("about ${cost:.2}/month"),
                None => "no price for this class".to_string(),
            };
            writeln!(
                f,
                "  {:<20} {:<18} {:>10}  {cost}",
                line.what,
                crate::text::terminal(class),
                crate::text::human_bytes(line.bytes)
            )?;
        }
        write!(
            f,
            "  total                about ${:.2}/month",
            self.per_month
        )?;
        if self.unpriced > 0 {
            write!(
                f,
                " (and {} with no price)",
                crate::text::human_bytes(self.unpriced)
            )?;
        }
        writeln!(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::hidden::{Hidden, Uploads, Versions};
    use crate::inventory::{Counts, PrefixBreakdown};
    use chrono::Utc;
    use std::collections::BTreeMap;

    fn prices(storage: &[(&str, f64)]) -> Prices {
        Prices {
            storage: storage.iter().map(|(c, p)| (c.to_string(), *p)).collect(),
            ..Prices::default()
        }
    }

    #[test]
    fn bytes_are_priced_per_gib_month_by_class_and_unknown_classes_are_said() {
        let mut report = Report::new(Utc::now(), 1, 10, 5);
        report.bytes = 10 << 30;
        report.classes = Some(BTreeMap::from([
            (
                "STANDARD".to_string(),
                Counts {
                    objects: 1,
                    bytes: 8 << 30,
                },
            ),
            (
                "DEEP_ARCHIVE".to_string(),
                Counts {
                    objects: 1,
                    bytes: 2 << 30,
                },
            ),
        ]));
        report.hidden = Some(Hidden {
            versions: Some(Versions {
                noncurrent: Counts {
                    objects: 3,
                    bytes: 412 << 30,
                },
                noncurrent_since: None,
                classes: BTreeMap::from([(
                    "STANDARD".to_string(),
                    Counts {
                        objects: 3,
                        bytes: 412 << 30,
                    },
                )]),
                delete_markers: 0,
                orphaned_markers: Some(0),
                prefixes: PrefixBreakdown::new(1, 10),
            }),
            uploads: Some(Uploads {
                uploads: Counts {
                    objects: 1,
                    bytes: 1 << 30,
                },
                parts: 1,
                oldest: None,
                stale: Counts::default(),
                stale_after_days: 7,
                prefixes: PrefixBreakdown::new(1, 10),
                classes: BTreeMap::new(),
            }),
            not_seen: Vec::new(),
        });
        let estimate = storage_estimate(&report, &prices(&[("STANDARD", 0.023)]));
        let noncurrent = estimate
            .lines
            .iter()
            .find(|l| l.what == "noncurrent versions")
            .unwrap();
        assert!((noncurrent.per_month.unwrap() - 9.476).abs() < 1e-9);
        assert_eq!(estimate.unpriced, 2 << 30, "DEEP_ARCHIVE has no price");
        let total = (8.0 + 412.0 + 1.0) * 0.023;
        assert!((estimate.per_month - total).abs() < 1e-9, "{estimate:?}");
        let text = estimate.to_string();
        assert!(text.contains("about $9.48/month"), "{text}");
        assert!(text.contains("no price for this class"), "{text}");
        assert!(text.contains("not a bill"), "{text}");
    }

    #[test]
    fn unfinished_uploads_are_priced_by_their_class() {
        let mut report = Report::new(Utc::now(), 1, 10, 5);
        let gib = |n: u64| Counts {
            objects: 1,
            bytes: n << 30,
        };
        report.hidden = Some(Hidden {
            versions: None,
            uploads: Some(Uploads {
                uploads: Counts {
                    objects: 3,
                    bytes: 7 << 30,
                },
                parts: 3,
                oldest: None,
                stale: Counts::default(),
                stale_after_days: 7,
                prefixes: PrefixBreakdown::new(1, 10),
                classes: BTreeMap::from([
                    ("GLACIER_IR".to_string(), gib(4)),
                    ("STANDARD".to_string(), gib(2)),
                ]),
            }),
            not_seen: Vec::new(),
        });
        let estimate = storage_estimate(
            &report,
            &prices(&[("STANDARD", 0.02), ("GLACIER_IR", 0.004)]),
        );
        let uploads: Vec<_> = estimate
            .lines
            .iter()
            .filter(|l| l.what == "unfinished uploads")
            .map(|l| (l.class.as_deref(), l.bytes >> 30))
            .collect();
        // The gigabyte whose class is not said is at the STANDARD price.
        assert_eq!(
            uploads,
            [(Some("GLACIER_IR"), 4), (Some("STANDARD"), 2), (None, 1)]
        );
        let total = 4.0 * 0.004 + 3.0 * 0.02;
        assert!((estimate.per_month - total).abs() < 1e-9, "{estimate:?}");
    }

    #[test]
    fn a_listing_without_classes_is_priced_at_default_then_standard() {
        let mut report = Report::new(Utc::now(), 1, 10, 5);
        report.bytes = 1 << 30;
        let at = |storage: &[(&str, f64)]| storage_estimate(&report, &prices(storage)).per_month;
        assert_eq!(at(&[("STANDARD", 0.02)]), 0.02);
        assert_eq!(at(&[("STANDARD", 0.02), ("default", 0.01)]), 0.01);
        let none = storage_estimate(&report, &prices(&[("GLACIER", 0.004)]));
        assert_eq!((none.per_month, none.unpriced), (0.0, 1 << 30));
    }
}
