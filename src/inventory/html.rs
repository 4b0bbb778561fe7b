//! A [`Report`] (or a [`ReportDiff`]) as one self-contained HTML file: no network request
//! of any kind (styles, script and charts inline; a Content-Security-Policy that forbids
//! anything else), readable on a laptop screen and printable.
//!
//! - the totals, the store and when the report was taken (and from which provider report);
//! - a **treemap of prefixes by bytes**, nested to the report's depth: every rectangle's
//!   area is its bytes, its tooltip gives objects, bytes and share; clicking a prefix
//!   with sub-prefixes zooms into it, and "back" (or Escape) zooms out; `page.html#logs`
//!   opens zoomed into `logs`. Each view is laid
//!   out here (squarified, by the `treemap` crate) and the script only shows one at a
//!   time, so the page prints without it;
//! - the size and age histograms as SVG bar charts, the storage classes when the report
//!   has them, the largest objects;
//! - [`render_diff`]: the same for the newer report, the treemap coloured by growth (green
//!   grew, red shrank, blue appeared), and the prefixes and classes that grew most.
//!
//! Every figure shown carries its exact value in a `data-value` attribute beside the text
//! people read (e.g. `<dd data-field="objects" data-value="65">65</dd>`), so a test can
//! check the page against the JSON report. Written with `maud` (escaping by construction).
//!
//! Feature `html` (`maud` and `treemap`; off by default, on in the `stratus` command,
//! whose `inventory --html` and `diff --html` write these pages). A 1,040-prefix report
//! is about 0.5 MiB. The repository's `tests/html.rs` opens every page in headless
//! Chromium and checks the figures shown against the report (`docs/TESTING.md`).

use super::diff::{signed_bytes, signed_count, PrefixStatus, ReportDiff};
use super::histogram::Counts;
use super::{PrefixEntry, Report};
use crate::text::{human_bytes, thousands};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use std::collections::BTreeMap;
use treemap::{MapItem, Mappable, Rect, TreemapLayout};

/// The treemap's drawing area (SVG units; it scales to the page's width).
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 560.0;
/// The band at the top of a nested prefix that holds its name.
const BAND: f64 = 16.0;

/// `report` as a self-contained HTML page titled `title` (e.g. the store and prefix).
pub fn render(report: &Report, title: &str) -> String {
    page(report, title, None)
}

/// The newer report of `diff` as [`render`] shows it, the treemap coloured by how each
/// prefix changed since the older one, and what grew most.
pub fn render_diff(diff: &ReportDiff, newer: &Report, title: &str) -> String {
    page(newer, title, Some(diff))
}

fn page(report: &Report, title: &str, diff: Option<&ReportDiff>) -> String {
    let tree = Tree::of(report);
    let colour = |prefix: &str, top: usize| match diff {
        Some(diff) => growth_colour(diff, prefix),
        None => format!("hsl({}, 45%, 62%)", (top * 47) % 360),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="Content-Security-Policy"
                    content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'";
                title { "Inventory of " (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    h1 { "Inventory of " (title) }
                    p.meta {
                        "as of " span data-field="as_of" data-value=(report.as_of.to_rfc3339()) {
                            (report.as_of.format("%Y-%m-%d %H:%M UTC"))
                        }
                        @if let Some(source) = &report.source {
                            " · from the " (source.kind) " " (source.format) " report "
                            code { (source.manifest) }
                            " (" (thousands(source.files)) " files, " (thousands(source.rows)) " rows)"
                        } @else {
                            " · from a listing"
                        }
                        @if let Some(diff) = diff {
                            " · compared with "
                            span data-field="diff_from" data-value=(diff.from.to_rfc3339()) {
                                (diff.from.format("%Y-%m-%d %H:%M UTC"))
                            }
                        }
                    }
                }
                (totals(report, diff))
                @if let Some(hidden) = &report.hidden { (hidden_bytes(hidden)) }
                @if report.objects > 0 {
                    section #prefixes {
                        h2 { "Where the bytes are" }
                        @if report.prefixes.depth() == 0 || tree.children.is_empty() {
                            p.note { "No prefixes (depth 0, or every object is at the top)." }
                        } @else {
                            (treemap(&tree, report, &colour))
                        }
                        @if !report.prefixes.is_exact() {
                            p.note {
                                "Incomplete: more distinct prefixes than the tracking bound; "
                                (thousands(report.prefixes.untracked().iter().map(|c| c.objects).sum()))
                                " objects fell under prefixes not tracked (in the totals, not in the map)."
                            }
                        }
                        @if let Some(diff) = diff { (legend()) (growth_table(diff)) }
                    }
                    div.charts {
                        section #sizes { h2 { "Object sizes" } (size_chart(report)) }
                        section #ages { h2 { "Object ages" } (age_chart(report)) }
                    }
                    (classes(report, diff))
                    (extensions(report))
                    (largest(report))
                } @else {
                    p.note { "No objects." }
                }
                footer { "stratus " (env!("CARGO_PKG_VERSION")) " · " (report.schema) }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    };
    // A key, prefix or title may hold any character: ESC, BEL and C1 controls are not
    // allowed in HTML text, and a bidi override (U+202E) would reorder what a reader sees.
    // Every control is shown as the terminal shows it (`\x1b`, `\u{202e}`); the line
    // break, which the page itself is written with, is whitespace in HTML.
    crate::text::terminal_lines(&markup.into_string()).into_owned()
}

fn totals(report: &Report, diff: Option<&ReportDiff>) -> Markup {
    let change = |delta: Option<i128>, bytes: bool| -> Markup {
        match delta {
            Some(d) if d != 0 => {
                html! { span.delta.(if d > 0 { "up" } else { "down" }) data-value=(d) { (signed(d, bytes)) } }
            }
            _ => html! {},
        }
    };
    html! {
        section #totals {
            dl {
                div {
                    dt { "objects" }
                    dd data-field="objects" data-value=(report.objects) {
                        (thousands(report.objects)) " " (change(diff.map(|d| d.objects.delta()), false))
                    }
                }
                div {
                    dt { "bytes" }
                    dd data-field="bytes" data-value=(report.bytes) {
                        (human_bytes(report.bytes)) " " (change(diff.map(|d| d.bytes.delta()), true))
                    }
                }
                div {
                    dt { "empty objects" }
                    dd data-field="zero_byte_objects" data-value=(report.zero_byte_objects) {
                        (thousands(report.zero_byte_objects))
                    }
                }
                @if let (Some(small), Some(large), Some(mean)) = (report.smallest, report.largest, report.mean_size()) {
                    div {
                        dt { "sizes" }
                        dd data-field="largest" data-value=(large) {
                            (human_bytes(small)) " – " (human_bytes(large)) ", mean " (human_bytes(mean.round() as u64))
                        }
                    }
                }
                @if let Some(unlisted) = &report.unlisted {
                    div {
                        dt { "not listed" }
                        dd data-field="unlisted" data-value=(unlisted.objects) {
                            (unlisted.describe())
                        }
                    }
                }
                @if let (Some(oldest), Some(newest)) = (report.oldest, report.newest) {
                    div {
                        dt { "modified" }
                        dd data-field="newest" data-value=(newest.to_rfc3339()) {
                            (oldest.format("%Y-%m-%d")) " – " (newest.format("%Y-%m-%d"))
                        }
                    }
                }
            }
        }
    }
}

/// The kept prefixes as a tree, with what the kept entries leave out at each level.
struct Tree {
    prefix: String,
    name: String,
    objects: u64,
    bytes: u64,
    children: Vec<Tree>,
}

impl Tree {
    fn of(report: &Report) -> Tree {
        let mut root = Tree {
            prefix: String::new(),
            name: String::new(),
            objects: report.objects,
            bytes: report.bytes,
            children: Vec::new(),
        };
        // Entries in tree order: a parent before its children.
        for entry in report.prefixes.tree() {
            root.insert(&entry);
        }
        root
    }

    fn insert(&mut self, entry: &PrefixEntry) {
        let parent = entry.prefix.rsplit_once('/').map(|(p, _)| p);
        match parent {
            Some(parent) if parent != self.prefix => {
                let under = format!("{}/", self.prefix);
                if let Some(child) = self
                    .children
                    .iter_mut()
                    .find(|c| parent == c.prefix || parent.starts_with(&format!("{}/", c.prefix)))
                {
                    child.insert(entry);
                } else if self.prefix.is_empty() || parent.starts_with(&under) {
                    // An ancestor was not kept (cannot happen: a parent has at least its
                    // children's bytes); shown at this level rather than lost.
                    self.push(entry);
                }
            }
            _ => self.push(entry),
        }
    }

    fn push(&mut self, entry: &PrefixEntry) {
        self.children.push(Tree {
            prefix: entry.prefix.clone(),
            name: entry
                .prefix
                .rsplit('/')
                .next()
                .unwrap_or(&entry.prefix)
                .to_string(),
            objects: entry.objects,
            bytes: entry.bytes,
            children: Vec::new(),
        });
    }

    /// Bytes under this prefix that no kept child holds (objects directly in it, and
    /// prefixes not kept).
    fn rest(&self) -> u64 {
        let children: u64 = self.children.iter().map(|c| c.bytes).sum();
        self.bytes.saturating_sub(children)
    }

    /// Every node with children, the root first: the treemap's views.
    fn views(&self) -> Vec<&Tree> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(node) = stack.pop() {
            if !node.children.is_empty() {
                out.push(node);
                stack.extend(node.children.iter().rev());
            }
        }
        out
    }
}

/// One rectangle to lay out.
struct Item<'a> {
    node: Option<&'a Tree>,
    item: MapItem,
}

impl Mappable for Item<'_> {
    fn size(&self) -> f64 {
        self.item.size()
    }
    fn bounds(&self) -> &Rect {
        self.item.bounds()
    }
    fn set_bounds(&mut self, bounds: Rect) {
        self.item.set_bounds(bounds)
    }
}

/// Squarified layout of `node`'s children (and the rest) in `bounds`.
fn layout(node: &Tree, bounds: Rect) -> Vec<Item<'_>> {
    let mut items: Vec<Item> = node
        .children
        .iter()
        .filter(|c| c.bytes > 0)
        .map(|c| Item {
            node: Some(c),
            item: MapItem::with_size(c.bytes as f64),
        })
        .collect();
    if node.rest() > 0 {
        items.push(Item {
            node: None,
            item: MapItem::with_size(node.rest() as f64),
        });
    }
    items.sort_by(|a, b| b.size().total_cmp(&a.size()));
    if bounds.w > 0.5 && bounds.h > 0.5 && !items.is_empty() {
        TreemapLayout::new().layout_items(&mut items, bounds);
    }
    items
}

fn treemap(tree: &Tree, report: &Report, colour: &dyn Fn(&str, usize) -> String) -> Markup {
    let total = report.bytes.max(1) as f64;
    let top_index: BTreeMap<&str, usize> = tree
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| (c.prefix.as_str(), i))
        .collect();
    let top_of = |prefix: &str| {
        let top = prefix.split('/').next().unwrap_or(prefix);
        top_index.get(top).copied().unwrap_or(0)
    };
    let tooltip = |name: &str, objects: Option<u64>, bytes: u64| {
        let share = 100.0 * bytes as f64 / total;
        match objects {
            Some(o) => format!(
                "{name}\n{} objects, {} ({share:.1}% of all bytes)",
                thousands(o),
                human_bytes(bytes)
            ),
            None => format!("{name}\n{} ({share:.1}% of all bytes)", human_bytes(bytes)),
        }
    };
    let rect = |r: &Rect| {
        (
            format!("{:.1}", r.x),
            format!("{:.1}", r.y),
            format!("{:.1}", r.w.max(0.0)),
            format!("{:.1}", r.h.max(0.0)),
        )
    };
    let views = tree.views();
    html! {
        div.crumbs {
            button #back type="button" disabled { "↑ back" }
            " "
            span #where { "all prefixes" }
            span.hint { " — click a prefix to zoom in; hover for its figures" }
        }
        svg #treemap viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label="treemap of prefixes by bytes" {
            @for (v, view) in views.iter().enumerate() {
                g.view data-view=(view_id(&view.prefix)) display=[(v > 0).then_some("none")] {
                    @for item in layout(view, Rect::from_points(0.0, 0.0, WIDTH, HEIGHT)) {
                        @let (x, y, w, h) = rect(item.bounds());
                        @match item.node {
                            Some(node) => {
                                g.node data-prefix=(node.prefix) data-objects=(node.objects) data-bytes=(node.bytes)
                                    data-zoom=[(!node.children.is_empty()).then(|| view_id(&node.prefix))] {
                                    rect x=(x) y=(y) width=(w) height=(h) fill=(colour(&node.prefix, top_of(&node.prefix))) {
                                        title { (tooltip(&format!("{}/", node.prefix), Some(node.objects), node.bytes)) }
                                    }
                                    @let b = item.bounds();
                                    @if b.w > 40.0 && b.h > 14.0 {
                                        text x=(format!("{:.1}", b.x + 4.0)) y=(format!("{:.1}", b.y + 12.0)) {
                                            (label(&node.name, b.w)) "/ " (human_bytes(node.bytes))
                                        }
                                    }
                                    @if !node.children.is_empty() && b.h > BAND + 8.0 && b.w > 16.0 {
                                        @let inner = Rect::from_points(b.x + 2.0, b.y + BAND, b.w - 4.0, b.h - BAND - 2.0);
                                        @for child in layout(node, inner) {
                                            @let (cx, cy, cw, ch) = rect(child.bounds());
                                            @match child.node {
                                                Some(c) => {
                                                    rect.inner x=(cx) y=(cy) width=(cw) height=(ch) fill=(colour(&c.prefix, top_of(&c.prefix))) data-prefix=(c.prefix) data-objects=(c.objects) data-bytes=(c.bytes) {
                                                        title { (tooltip(&format!("{}/", c.prefix), Some(c.objects), c.bytes)) }
                                                    }
                                                    @let cb = child.bounds();
                                                    @if cb.w > 40.0 && cb.h > 14.0 {
                                                        text.inner x=(format!("{:.1}", cb.x + 3.0)) y=(format!("{:.1}", cb.y + 11.0)) {
                                                            (label(&c.name, cb.w)) "/"
                                                        }
                                                    }
                                                }
                                                None => {
                                                    rect.rest x=(cx) y=(cy) width=(cw) height=(ch) {
                                                        title { (tooltip("objects directly here, and prefixes not kept", None, node.rest())) }
                                                    }
                                                    @let cb = child.bounds();
                                                    @if cb.w > 40.0 && cb.h > 14.0 {
                                                        text.inner.rest-label x=(format!("{:.1}", cb.x + 3.0)) y=(format!("{:.1}", cb.y + 11.0)) {
                                                            (label(REST_LABEL, cb.w))
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            None => {
                                rect.rest x=(x) y=(y) width=(w) height=(h) {
                                    title { (tooltip(if view.prefix.is_empty() { "objects at the top, and prefixes not kept" } else { "objects directly here, and prefixes not kept" }, None, view.rest())) }
                                }
                                @let b = item.bounds();
                                @if b.w > 40.0 && b.h > 14.0 {
                                    text.rest-label x=(format!("{:.1}", b.x + 4.0)) y=(format!("{:.1}", b.y + 12.0)) {
                                        (label(REST_LABEL, b.w)) " " (human_bytes(view.rest()))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What names a treemap view (`data-view`, and `data-zoom` of what opens it): the prefix,
/// with `\` doubled. The page shows controls as `\x1b`, `\u{202e}`; doubling the
/// backslash keeps two prefixes two views when one holds an ESC and the other the text
/// `\x1b`.
fn view_id(prefix: &str) -> String {
    prefix.replace('\\', "\\\\")
}

/// The label of a treemap block of the objects directly under a prefix (and the prefixes
/// not kept), drawn grey.
const REST_LABEL: &str = "(objects here)";

/// A name cut to fit about `width` units at 7 units a character.
fn label(name: &str, width: f64) -> String {
    let fits = ((width - 8.0) / 7.0).max(1.0) as usize;
    if name.chars().count() <= fits {
        name.to_string()
    } else {
        let cut: String = name.chars().take(fits.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

fn growth_colour(diff: &ReportDiff, prefix: &str) -> String {
    match diff.prefixes.iter().find(|p| p.prefix == prefix) {
        Some(p) if p.status == PrefixStatus::Appeared => "hsl(210, 70%, 62%)".to_string(),
        Some(p) => match p.bytes.ratio() {
            Some(r) if r > 0.0 => format!("hsl(130, {:.0}%, 55%)", 25.0 + 50.0 * r.min(1.0)),
            Some(r) if r < 0.0 => format!("hsl(0, {:.0}%, 62%)", 25.0 + 50.0 * (-r).min(1.0)),
            _ => "hsl(0, 0%, 78%)".to_string(),
        },
        None => "hsl(0, 0%, 78%)".to_string(),
    }
}

fn legend() -> Markup {
    html! {
        p.legend {
            span.swatch style="background: hsl(130, 75%, 55%)" {} " grew "
            span.swatch style="background: hsl(0, 75%, 62%)" {} " shrank "
            span.swatch style="background: hsl(210, 70%, 62%)" {} " appeared "
            span.swatch style="background: hsl(0, 0%, 78%)" {} " unchanged"
        }
    }
}

fn growth_table(diff: &ReportDiff) -> Markup {
    let moved: Vec<_> = diff
        .prefixes
        .iter()
        .filter(|p| p.status != PrefixStatus::Same)
        .take(20)
        .collect();
    html! {
        h3 { "Prefixes that changed most" }
        @if moved.is_empty() { p.note { "No prefix changed." } } @else {
            table.growth {
                thead { tr { th { "prefix" } th { "status" } th.n { "bytes" } th.n { "change" } th.n { "objects" } th.n { "change" } } }
                tbody {
                    @for p in moved {
                        tr data-changed=(p.prefix) data-bytes-delta=(p.bytes.delta()) {
                            td { code { (p.prefix) "/" } }
                            td { (format!("{:?}", p.status).to_lowercase()) }
                            td.n { (human_bytes(p.bytes.after)) }
                            td.n { (signed(p.bytes.delta(), true)) }
                            td.n { (thousands(p.objects.after)) }
                            td.n { (signed(p.objects.delta(), false)) }
                        }
                    }
                }
            }
        }
        @if diff.incomplete {
            p.note { "A breakdown left prefixes out: an \"appeared\" or \"vanished\" prefix may only have entered or left the kept set." }
        }
    }
}

fn signed(delta: i128, bytes: bool) -> String {
    if bytes {
        signed_bytes(delta)
    } else {
        signed_count(delta)
    }
}

/// Horizontal bars: one row per bucket with objects, the bar's length its objects.
fn bars(rows: &[(String, Counts)]) -> Markup {
    let max = rows
        .iter()
        .map(|(_, c)| c.objects)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let row_h = 20.0;
    let height = row_h * rows.len() as f64 + 4.0;
    html! {
        svg.bars viewBox=(format!("0 0 480 {height}")) role="img" {
            @for (i, (label, counts)) in rows.iter().enumerate() {
                @let y = 2.0 + row_h * i as f64;
                @let w = 220.0 * counts.objects as f64 / max;
                g data-bucket=(label) data-objects=(counts.objects) data-bytes=(counts.bytes) {
                    text.axis x="150" y=(format!("{:.1}", y + 14.0)) text-anchor="end" { (label) }
                    rect x="158" y=(format!("{:.1}", y + 3.0)) width=(format!("{w:.1}")) height="14" {
                        title { (label) ": " (thousands(counts.objects)) " objects, " (human_bytes(counts.bytes)) }
                    }
                    text.value x=(format!("{:.1}", 162.0 + w)) y=(format!("{:.1}", y + 14.0)) {
                        (thousands(counts.objects)) " · " (human_bytes(counts.bytes))
                    }
                }
            }
        }
    }
}

fn size_chart(report: &Report) -> Markup {
    let rows: Vec<(String, Counts)> = report
        .sizes
        .buckets()
        .map(|b| {
            let counts = Counts {
                objects: b.objects,
                bytes: b.bytes,
            };
            (b.label(), counts)
        })
        .collect();
    bars(&rows)
}

fn age_chart(report: &Report) -> Markup {
    let rows: Vec<(String, Counts)> = report
        .ages
        .buckets()
        .filter(|(_, c)| !c.is_empty())
        .map(|(label, c)| (label.to_string(), c))
        .collect();
    bars(&rows)
}

fn classes(report: &Report, diff: Option<&ReportDiff>) -> Markup {
    html! {
        section #classes {
            h2 { "Storage classes" }
            @match &report.classes {
                None => p.note { "Not available from a listing: read a provider's inventory report for classes." },
                Some(classes) => {
                    @let rows = by_bytes(classes);
                    table {
                        thead { tr { th { "class" } th.n { "objects" } th.n { "bytes" } th.n { "share" }
                            @if diff.and_then(|d| d.classes.as_ref()).is_some() { th.n { "bytes change" } } } }
                        tbody {
                            @for (class, c) in rows {
                                tr data-class=(class) data-objects=(c.objects) data-bytes=(c.bytes) {
                                    td { (class) }
                                    td.n { (thousands(c.objects)) }
                                    td.n { (human_bytes(c.bytes)) }
                                    td.n { (format!("{:.1}%", 100.0 * c.bytes as f64 / report.bytes.max(1) as f64)) }
                                    @if let Some(changes) = diff.and_then(|d| d.classes.as_ref()) {
                                        td.n { (changes.iter().find(|x| &x.class == class).map_or(String::new(), |x| signed(x.bytes.delta(), true))) }
                                    }
                                }
                            }
                            @if let Some(c) = &report.classes_other {
                                tr.other data-class-other="" data-objects=(c.objects) data-bytes=(c.bytes) {
                                    td { em { "other: classes past the first " (super::CLASS_LIMIT) ", or named with more than " (super::CLASS_NAME_LIMIT) " bytes" } }
                                    td.n { (thousands(c.objects)) }
                                    td.n { (human_bytes(c.bytes)) }
                                    td.n { (format!("{:.1}%", 100.0 * c.bytes as f64 / report.bytes.max(1) as f64)) }
                                    @if diff.and_then(|d| d.classes.as_ref()).is_some() {
                                        td.n { (diff.and_then(|d| d.classes_other.as_ref()).map_or(String::new(), |x| signed(x.bytes.delta(), true))) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the store bills that the listing does not show, beside the objects' totals.
fn hidden_bytes(hidden: &super::hidden::Hidden) -> Markup {
    let prefixes = |breakdown: &super::PrefixBreakdown| -> Vec<(String, Counts)> {
        let mut top: Vec<_> = breakdown
            .entries()
            .into_iter()
            .filter(|e| e.depth == 1)
            .map(|e| {
                (
                    format!("{}/", e.prefix),
                    Counts {
                        objects: e.objects,
                        bytes: e.bytes,
                    },
                )
            })
            .collect();
        top.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        top.truncate(10);
        top
    };
    html! {
        section #hidden {
            h2 { "Billed, not listed" }
            table {
                thead { tr { th { "what" } th.n { "count" } th.n { "bytes" } th { "" } } }
                tbody {
                    @if let Some(v) = &hidden.versions {
                        tr data-field="noncurrent" data-objects=(v.noncurrent.objects) data-bytes=(v.noncurrent.bytes) {
                            td { "noncurrent versions" }
                            td.n { (thousands(v.noncurrent.objects)) }
                            td.n { (human_bytes(v.noncurrent.bytes)) }
                            td { @if let Some(t) = v.noncurrent_since { "noncurrent since " (t.format("%Y-%m-%d")) " at the earliest" } }
                        }
                        tr data-field="delete_markers" data-objects=(v.delete_markers) {
                            td { "delete markers" }
                            td.n { (thousands(v.delete_markers)) }
                            td.n { }
                            td { @if let Some(n) = v.orphaned_markers { (thousands(n)) " on keys with no version left" } }
                        }
                    } @else {
                        tr { td { "versions" } td.n {} td.n {} td { "not looked at" } }
                    }
                    @if let Some(u) = &hidden.uploads {
                        tr data-field="uploads" data-objects=(u.uploads.objects) data-bytes=(u.uploads.bytes) {
                            td { "unfinished uploads" }
                            td.n { (thousands(u.uploads.objects)) }
                            td.n { (human_bytes(u.uploads.bytes)) }
                            td {
                                (thousands(u.parts)) " parts"
                                @if u.stale.objects > 0 {
                                    "; " (thousands(u.stale.objects)) " begun more than " (u.stale_after_days)
                                    " days ago (" (human_bytes(u.stale.bytes)) ")"
                                }
                            }
                        }
                    } @else {
                        tr { td { "unfinished uploads" } td.n {} td.n {} td { "not looked at" } }
                    }
                }
            }
            @for reason in &hidden.not_seen { p.note { "Not looked at: " (reason) } }
            @if let Some(v) = &hidden.versions {
                @let rows = prefixes(&v.prefixes);
                @if !rows.is_empty() { h3 { "Noncurrent versions by prefix" } (bars(&rows)) }
            }
            @if let Some(u) = &hidden.uploads {
                @let rows = prefixes(&u.prefixes);
                @if !rows.is_empty() { h3 { "Unfinished uploads by prefix" } (bars(&rows)) }
            }
        }
    }
}

/// Classes, most bytes first (ties by name).
fn by_bytes(classes: &BTreeMap<String, Counts>) -> Vec<(&String, &Counts)> {
    let mut rows: Vec<_> = classes.iter().collect();
    rows.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(b.0)));
    rows
}

/// Objects and bytes by extension: every extension kept, most bytes first, then names
/// without one and extensions past the limit.
fn extensions(report: &Report) -> Markup {
    let Some(extensions) = &report.extensions else {
        return html! {};
    };
    let share = |c: &Counts| {
        format!(
            "{:.1}%",
            100.0 * c.bytes as f64 / report.bytes.max(1) as f64
        )
    };
    let rest = [
        ("no extension".to_string(), extensions.none()),
        (
            format!(
                "other: extensions past the first {}",
                super::EXTENSION_LIMIT
            ),
            extensions.other(),
        ),
    ];
    html! {
        section #extensions {
            h2 { "By extension" }
            table {
                thead { tr { th { "extension" } th.n { "objects" } th.n { "bytes" } th.n { "share" } } }
                tbody {
                    @for (extension, c) in extensions.by_bytes() {
                        tr data-extension=(extension) data-objects=(c.objects) data-bytes=(c.bytes) {
                            td { "." (extension) }
                            td.n { (thousands(c.objects)) }
                            td.n { (human_bytes(c.bytes)) }
                            td.n { (share(&c)) }
                        }
                    }
                    @for (label, c) in rest.iter().filter(|(_, c)| !c.is_empty()) {
                        tr.other data-objects=(c.objects) data-bytes=(c.bytes) {
                            td { em { (label) } }
                            td.n { (thousands(c.objects)) }
                            td.n { (human_bytes(c.bytes)) }
                            td.n { (share(c)) }
                        }
                    }
                }
            }
        }
    }
}

fn largest(report: &Report) -> Markup {
    let largest = report.top.largest();
    html! {
        section #largest {
            h2 { "Largest " (largest.len()) " objects" }
            table {
                thead { tr { th.n { "size" } th { "modified" } th { "key" } } }
                tbody {
                    @for o in &largest {
                        tr data-key=(o.key) data-size=(o.size) {
                            td.n { (human_bytes(o.size)) }
                            td { (o.last_modified.format("%Y-%m-%d")) }
                            td { code { (o.key) } }
                        }
                    }
                }
            }
        }
    }
}

const CSS: &str = r#"
:root { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2433; background: #fff; }
body { max-width: 1100px; margin: 0 auto; padding: 16px 24px 40px; }
h1 { font-size: 1.5rem; margin: 0.2rem 0; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 0.5rem; border-bottom: 1px solid #dde2ea; padding-bottom: 4px; }
h3 { font-size: 1rem; margin: 1rem 0 0.4rem; }
.meta, .note, footer { color: #5a6475; font-size: 0.9rem; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 0.85em; }
#totals dl { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 10px; margin: 1rem 0; }
#totals dl div { background: #f4f6fa; border-radius: 8px; padding: 10px 12px; }
#totals dt { font-size: 0.8rem; color: #5a6475; text-transform: uppercase; letter-spacing: 0.04em; }
#totals dd { margin: 4px 0 0; font-size: 1.15rem; font-weight: 600; }
.delta { font-size: 0.85rem; font-weight: 500; margin-left: 4px; }
.delta.up { color: #1a7f37; } .delta.down { color: #c0392b; }
.crumbs { margin-bottom: 6px; font-size: 0.9rem; }
.crumbs .hint { color: #8a93a3; }
#treemap { width: 100%; height: auto; border: 1px solid #dde2ea; border-radius: 6px; background: #fafbfc; }
#treemap rect { stroke: #fff; stroke-width: 1; }
#treemap rect.inner { stroke-width: 0.6; opacity: 0.85; }
#treemap rect.rest { fill: #e6e9ef; }
#treemap g.node[data-zoom] { cursor: zoom-in; }
#treemap g.node:hover > rect:first-child { stroke: #1d2433; stroke-width: 2; }
#treemap text { font-size: 12px; fill: #1d2433; pointer-events: none; }
#treemap text.inner { font-size: 10px; fill: #2d3445; }
#treemap text.rest-label { fill: #6b7383; font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
svg.bars { width: 100%; height: auto; }
svg.bars rect { fill: #5b8def; }
svg.bars text { font-size: 11px; fill: #1d2433; }
svg.bars text.value { fill: #5a6475; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef1f5; }
th { color: #5a6475; font-weight: 600; }
.n { text-align: right; font-variant-numeric: tabular-nums; }
.legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -1px; margin-left: 8px; }
footer { margin-top: 2rem; }
@media print {
  body { max-width: none; padding: 0; }
  .crumbs button, .crumbs .hint { display: none; }
  section { break-inside: avoid; }
}
"#;

/// Zoom: show one view of the treemap at a time (every view is laid out already).
const SCRIPT: &str = r#"
(function () {
  var views = Array.prototype.slice.call(document.querySelectorAll('#treemap g.view'));
  var back = document.getElementById('back');
  var where = document.getElementById('where');
  var trail = [''];
  function show(prefix) {
    views.forEach(function (v) {
      if (v.getAttribute('data-view') === prefix) v.removeAttribute('display');
      else v.setAttribute('display', 'none');
    });
    where.textContent = prefix === '' ? 'all prefixes' : prefix + '/';
    back.disabled = trail.length <= 1;
  }
  document.getElementById('treemap').addEventListener('click', function (e) {
    var node = e.target.closest('g.node[data-zoom]');
    if (!node) return;
    trail.push(node.getAttribute('data-zoom'));
    show(trail[trail.length - 1]);
  });
  function up() { if (trail.length > 1) { trail.pop(); show(trail[trail.length - 1]); } }
  back.addEventListener('click', up);
  document.addEventListener('keydown', function (e) { if (e.key === 'Escape' || e.key === 'Backspace') up(); });
  if (!views.length) return;
  // A link to a prefix: page.html#logs/2026 opens zoomed in there (its ancestors are the trail).
  var wanted = decodeURIComponent(location.hash.slice(1));
  var known = views.map(function (v) { return v.getAttribute('data-view'); });
  if (wanted && known.indexOf(wanted) >= 0) {
    var parts = wanted.split('/');
    for (var i = 1; i <= parts.length; i++) {
      var p = parts.slice(0, i).join('/');
      if (known.indexOf(p) >= 0) trail.push(p);
    }
  }
  show(trail[trail.length - 1]);
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::hidden::{Hidden, Versions};
    use crate::inventory::PrefixBreakdown;

    #[test]
    fn the_page_shows_the_hidden_bytes_beside_the_objects() {
        let mut report = Report::new(chrono::Utc::now(), 1, 10, 5);
        let mut noncurrent = PrefixBreakdown::new(1, 10);
        noncurrent.add("logs/\u{1b}[31m/a", 300);
        noncurrent.finish();
        report.hidden = Some(Hidden {
            versions: Some(Versions {
                noncurrent: Counts {
                    objects: 2,
                    bytes: 300,
                },
                noncurrent_since: None,
                classes: BTreeMap::new(),
                delete_markers: 4,
                orphaned_markers: Some(1),
                prefixes: noncurrent,
            }),
            uploads: None,
            not_seen: vec!["unfinished uploads: asked not to".into()],
            provider: None,
        });
        let page = render(&report, "t");
        assert!(
            page.contains(r#"data-field="noncurrent" data-objects="2" data-bytes="300""#),
            "{page}"
        );
        assert!(page.contains(r#"data-field="delete_markers" data-objects="4""#));
        assert!(page.contains("Noncurrent versions by prefix"));
        assert!(page.contains("not looked at"));
        assert!(!page.contains('\u{1b}'), "controls are escaped");
    }

    #[test]
    fn the_grey_blocks_of_objects_directly_under_a_prefix_are_labelled() {
        use object_store::{path::Path, ObjectMeta};
        let mut report = Report::new(chrono::Utc::now(), 2, 10, 5);
        for (key, size) in [("a/b/1", 400), ("a/2", 300), ("top", 300)] {
            let meta = ObjectMeta {
                location: Path::from(key),
                last_modified: chrono::Utc::now(),
                size,
                e_tag: None,
                version: None,
            };
            report.add(key, &meta);
        }
        report.finish();
        let page = render(&report, "t");
        // At the top (the object `top`) and inside `a/` (the object `a/2`).
        assert!(page.contains("(objects here) 300 B"), "{page}");
        assert_eq!(
            page.matches("(objects here)").count(),
            3,
            "top view, inside a/ and a/'s own view"
        );
    }
}
