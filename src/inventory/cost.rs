//! What a report's bytes cost a month at the configured storage prices
//! ([`Prices::storage`]): an estimate from the prices given, never a bill (no request,
//! retrieval, minimum-duration or transfer charge is in it, and providers round and
//! tier their own way).

use super::{Counts, PrefixBreakdown, Report};
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

/// One top-level prefix's share of a [`StorageEstimate`].
///
/// Each kind's estimate (current, noncurrent versions, unfinished uploads) is shared
/// among the prefixes by their bytes of that kind: exact where a kind's bytes are all of
/// one class, as a listing's are (it gives no classes); where a kind mixes classes (a
/// provider's inventory report, versions on several classes) the report does not say a
/// prefix's own mix, and the prefix gets the kind's average price.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct PrefixCost {
    /// The prefix, relative to the scanned prefix, without its trailing `/`.
    pub prefix: String,
    /// Its bytes of current objects.
    pub current: u64,
    /// Its bytes of noncurrent versions (`None`: the report did not look).
    pub noncurrent: Option<u64>,
    /// Its bytes in the parts of unfinished uploads (`None`: the report did not look).
    pub uploads: Option<u64>,
    /// Its share of [`StorageEstimate::per_month`].
    pub per_month: f64,
    /// Whether every breakdown of the report kept this prefix. A breakdown keeps its
    /// largest prefixes only (`prefix_limit`): a kind whose breakdown dropped the prefix
    /// counts 0 bytes here, so its share is a lower bound.
    pub complete: bool,
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
    /// The top-level prefixes the report's breakdowns kept, the costliest first (ties:
    /// by name). Empty for a report without prefixes (`depth` 0). What they leave out of
    /// the total belongs to objects directly under the scanned prefix and to prefixes no
    /// breakdown kept.
    pub prefixes: Vec<PrefixCost>,
}

/// Prefixes the estimate prints; the rest are summed on one line.
const SHOWN_PREFIXES: usize = 10;

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
    kind(CURRENT, report.classes.as_ref(), report.bytes);
    // Each kind: its name, its bytes and its per-prefix breakdown.
    let mut kinds = vec![(CURRENT, report.bytes, &report.prefixes)];
    if let Some(hidden) = &report.hidden {
        if let Some(versions) = &hidden.versions {
            let bytes = versions.noncurrent.bytes;
            kind(NONCURRENT, Some(&versions.classes), bytes);
            kinds.push((NONCURRENT, bytes, &versions.prefixes));
        }
        if let Some(uploads) = &hidden.uploads {
            let bytes = uploads.uploads.bytes;
            kind(UPLOADS, Some(&uploads.classes), bytes);
            kinds.push((UPLOADS, bytes, &uploads.prefixes));
        }
    }
    estimate.prefixes = prefix_shares(&estimate.lines, &kinds);
    estimate
}

const CURRENT: &str = "current";
const NONCURRENT: &str = "noncurrent versions";
const UPLOADS: &str = "unfinished uploads";

/// Each kind's priced cost shared among the top-level prefixes of its breakdown by bytes
/// (see [`PrefixCost`]); `kinds` holds each kind's name, bytes and breakdown.
fn prefix_shares(lines: &[CostLine], kinds: &[(&str, u64, &PrefixBreakdown)]) -> Vec<PrefixCost> {
    let looked = |kind: &str| kinds.iter().any(|&(what, _, _)| what == kind);
    let mut prefixes: BTreeMap<String, ([u64; 3], usize, f64)> = BTreeMap::new();
    for &(what, bytes, breakdown) in kinds {
        let cost: f64 = lines
            .iter()
            .filter(|line| line.what == what)
            .filter_map(|line| line.per_month)
            .sum();
        let slot = [CURRENT, NONCURRENT, UPLOADS]
            .iter()
            .position(|&k| k == what)
            .expect("one of the three kinds");
        for entry in breakdown.entries().into_iter().filter(|e| e.depth == 1) {
            let (counted, kept, per_month) = prefixes.entry(entry.prefix).or_default();
            counted[slot] = entry.bytes;
            *kept += 1;
            if bytes > 0 {
                *per_month += cost * (entry.bytes as f64 / bytes as f64);
            }
        }
    }
    let mut shares: Vec<PrefixCost> = prefixes
        .into_iter()
        .map(|(prefix, (counted, kept, per_month))| PrefixCost {
            prefix,
            current: counted[0],
            noncurrent: looked(NONCURRENT).then_some(counted[1]),
            uploads: looked(UPLOADS).then_some(counted[2]),
            per_month,
            complete: kept == kinds.len(),
        })
        .collect();
    // Stable: equal costs stay in name order.
    shares.sort_by(|a, b| b.per_month.total_cmp(&a.per_month));
    shares
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
        writeln!(f)?;
        if self.prefixes.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "\nBy top-level prefix (each kind's estimate shared by its bytes there):"
        )?;
        let bytes = crate::text::human_bytes;
        for share in self.prefixes.iter().take(SHOWN_PREFIXES) {
            let name = format!("{}/", crate::text::terminal(&share.prefix));
            write!(f, "  {name:<24} current {:>10}", bytes(share.current))?;
            if let Some(noncurrent) = share.noncurrent {
                write!(f, "  noncurrent {:>10}", bytes(noncurrent))?;
            }
            if let Some(uploads) = share.uploads {
                write!(f, "  uploads {:>10}", bytes(uploads))?;
            }
            write!(f, "  about ${:.2}/month", share.per_month)?;
            if !share.complete {
                write!(
                    f,
                    " (at least: not among the largest prefixes of every kind)"
                )?;
            }
            writeln!(f)?;
        }
        let rest = &self.prefixes[self.prefixes.len().min(SHOWN_PREFIXES)..];
        if !rest.is_empty() {
            let cost: f64 = rest.iter().map(|share| share.per_month).sum();
            writeln!(
                f,
                "  ({} more prefixes: about ${cost:.2}/month)",
                rest.len()
            )?;
        }
        let shared: f64 = self.prefixes.iter().map(|share| share.per_month).sum();
        let outside = self.per_month - shared;
        if outside >= 0.005 {
            writeln!(
                f,
                "  (objects directly under the prefix, and prefixes not kept: about ${outside:.2}/month)"
            )?;
        }
        Ok(())
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
            provider: None,
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
            provider: None,
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

    /// A breakdown at depth 2 of `objects` (relative key, size), finished.
    fn breakdown(objects: &[(String, u64)], limit: usize) -> PrefixBreakdown {
        let mut sorted = objects.to_vec();
        sorted.sort();
        let mut breakdown = PrefixBreakdown::new(2, limit);
        for (key, size) in &sorted {
            breakdown.add(key, *size);
        }
        breakdown.finish();
        breakdown
    }

    fn objects() -> impl proptest::strategy::Strategy<Value = Vec<(String, u64)>> {
        use proptest::prelude::*;
        // Keys directly under the scanned prefix, in top-level prefixes and below them.
        let key = prop_oneof!["[a-c]", "[a-d]/[a-c]", "[a-d]/[a-b]/[a-c]",];
        prop::collection::btree_map(key, 0u64..(1 << 40), 0..40)
            .prop_map(|m| m.into_iter().collect())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("STRATUS_BILLED_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
        ))]

        /// With one price, each prefix's share is its bytes of every kind at that price,
        /// and the shares plus what lies outside any kept prefix are the total: nothing is
        /// counted twice or lost, whatever the tree and the breakdowns' limits.
        #[test]
        fn prefix_shares_are_their_bytes_at_the_price_and_add_up_to_the_total(
            current in objects(),
            noncurrent in objects(),
            uploads in objects(),
            limit in 1usize..8,
        ) {
            let price = 0.023;
            let mut report = Report::new(Utc::now(), 2, limit, 5);
            report.prefixes = breakdown(&current, limit);
            report.bytes = current.iter().map(|(_, size)| size).sum();
            let sum = |objects: &[(String, u64)]| Counts {
                objects: objects.len() as u64,
                bytes: objects.iter().map(|(_, size)| size).sum(),
            };
            report.hidden = Some(Hidden {
                versions: Some(Versions {
                    noncurrent: sum(&noncurrent),
                    noncurrent_since: None,
                    classes: BTreeMap::new(),
                    delete_markers: 0,
                    orphaned_markers: Some(0),
                    prefixes: breakdown(&noncurrent, limit),
                }),
                uploads: Some(Uploads {
                    uploads: sum(&uploads),
                    parts: uploads.len() as u64,
                    oldest: None,
                    stale: Counts::default(),
                    stale_after_days: 7,
                    prefixes: breakdown(&uploads, limit),
                    classes: BTreeMap::new(),
                }),
                not_seen: Vec::new(),
                provider: None,
            });
            let estimate = storage_estimate(&report, &prices(&[("STANDARD", price)]));
            let at_price = |bytes: u64| bytes as f64 / GIB * price;
            // What each kind holds under a top-level prefix, from the objects themselves.
            let under = |objects: &[(String, u64)], prefix: &str| -> u64 {
                objects
                    .iter()
                    .filter(|(key, _)| key.strip_prefix(prefix).is_some_and(|r| r.starts_with('/')))
                    .map(|(_, size)| size)
                    .sum()
            };
            let mut shared = 0.0;
            for share in &estimate.prefixes {
                let p = share.prefix.as_str();
                let (c, n, u) = (under(&current, p), under(&noncurrent, p), under(&uploads, p));
                // A kind either kept the prefix (its exact bytes) or did not (0).
                proptest::prop_assert!(share.current == c || share.current == 0);
                let (sn, su) = (share.noncurrent.unwrap(), share.uploads.unwrap());
                proptest::prop_assert!(sn == n || sn == 0);
                proptest::prop_assert!(su == u || su == 0);
                if share.complete {
                    proptest::prop_assert_eq!((share.current, sn, su), (c, n, u));
                }
                let expected = at_price(share.current) + at_price(sn) + at_price(su);
                proptest::prop_assert!((share.per_month - expected).abs() <= 1e-9 * expected.max(1.0));
                shared += share.per_month;
            }
            // Outside the shares: keys directly under the prefix, and prefixes a kind's
            // breakdown did not keep.
            let outside = |objects: &[(String, u64)], shared: fn(&PrefixCost) -> u64| {
                let all: u64 = objects.iter().map(|(_, size)| size).sum();
                at_price(all - estimate.prefixes.iter().map(shared).sum::<u64>())
            };
            let outside = outside(&current, |s| s.current)
                + outside(&noncurrent, |s| s.noncurrent.unwrap())
                + outside(&uploads, |s| s.uploads.unwrap());
            proptest::prop_assert!(
                (shared + outside - estimate.per_month).abs() <= 1e-9 * estimate.per_month.max(1.0),
                "shares {} + outside {} != total {}", shared, outside, estimate.per_month
            );
            // Costliest first.
            proptest::prop_assert!(estimate.prefixes.windows(2).all(|w| w[0].per_month >= w[1].per_month));
        }
    }

    #[test]
    fn the_estimate_names_each_prefix_and_what_lies_outside_them() {
        let objects = |list: &[(&str, u64)]| -> Vec<(String, u64)> {
            list.iter().map(|(k, s)| (k.to_string(), *s)).collect()
        };
        let current = objects(&[("logs/a", 3 << 30), ("img/b", 1 << 30), ("top", 1 << 30)]);
        let mut report = Report::new(Utc::now(), 2, 10, 5);
        report.prefixes = breakdown(&current, 10);
        report.bytes = 5 << 30;
        let estimate = storage_estimate(&report, &prices(&[("STANDARD", 0.02)]));
        let names: Vec<_> = estimate
            .prefixes
            .iter()
            .map(|s| s.prefix.as_str())
            .collect();
        assert_eq!(names, ["logs", "img"]);
        let text = estimate.to_string();
        assert!(text.contains("logs/"), "{text}");
        assert!(
            !text.contains("noncurrent"),
            "a report that did not look at versions says nothing of them: {text}"
        );
        assert!(text.contains("about $0.06/month"), "{text}");
        assert!(
            text.contains("directly under the prefix, and prefixes not kept: about $0.02/month"),
            "{text}"
        );
    }
}
