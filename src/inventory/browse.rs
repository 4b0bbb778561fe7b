//! A prefix browser in the terminal (feature `browse`), in the manner of `ncdu` and
//! rclone's `ncdu`: the prefix tree sorted by bytes, drill down and back, sort by bytes,
//! objects or name, the largest objects under the current prefix, **usable while the scan
//! runs** (the tree fills in as objects are listed; the final report replaces it when the
//! scan ends).
//!
//! Feature `browse` (ratatui + crossterm; off by default, on in the `stratus` command, whose
//! `inventory --browse` runs it and refuses, exit code 2, when standard output is not a
//! terminal). When the scan ends, the report's exact figures replace the live ones; while
//! it runs the live tree holds up to 200,000 prefixes (then the report's bounded tree
//! replaces it). Over a provider inventory report the whole report is read first, then
//! browsed. The largest objects shown are the report's global top N (the browser keeps
//! 200 and filters them by prefix).
//!
//! Keys: `↑`/`k`, `↓`/`j` move; `→`/`l`/`Enter` open a prefix; `←`/`h`/`Backspace` go up;
//! `s` sort by size (bytes), `c` by count (objects), `n` by name (again: reverse); `g`/`G`
//! first/last; `?` help; `q`/`Esc` quit. No colour when `NO_COLOR` is set (bold and
//! reverse video still mark the selection).
//!
//! Names, keys and the title are drawn through [`terminal`], as
//! the table prints them: controls shown escaped (`\x1b`, `\u{202e}`), not acted on nor
//! dropped.
//!
//! [`Browser`] is the state and its drawing, with no terminal of its own (tested
//! directly); [`browse`] runs it over a scan in a real terminal.

use super::{Counts, LargeObject, Report, ScanOptions};
use crate::error::Result;
use crate::progress::Progress;
use crate::text::{human_bytes, terminal, thousands};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState};
use ratatui::Frame;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the rows of a prefix are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    /// Most bytes first.
    Bytes,
    /// Most objects first.
    Objects,
    /// By name, A to Z.
    Name,
}

/// One row of the current prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Its name (the last segment), or `(objects directly here)`.
    pub name: String,
    /// Objects below it.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Whether it is a prefix that can be opened.
    pub opens: bool,
}

/// `billed, not listed: 3 noncurrent versions (28 B), 2 delete markers, 1 unfinished
/// upload (5.0 MiB)`: the whole store's, beside its objects.
fn hidden_line(hidden: &super::hidden::Hidden) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &hidden.versions {
        parts.push(format!(
            "{} noncurrent versions ({}), {} delete markers",
            thousands(v.noncurrent.objects),
            human_bytes(v.noncurrent.bytes),
            thousands(v.delete_markers)
        ));
    }
    if let Some(u) = &hidden.uploads {
        parts.push(format!(
            "{} unfinished uploads ({})",
            thousands(u.uploads.objects),
            human_bytes(u.uploads.bytes)
        ));
    }
    format!("billed, not listed: {}", parts.join(", "))
}

/// Prefixes tracked while a scan runs, at most: the final report replaces them.
const LIVE_PREFIXES: usize = 200_000;
/// Largest objects kept while a scan runs.
const LIVE_TOP: usize = 200;

/// What the browser shows and where the user is.
pub struct Browser {
    title: String,
    depth: usize,
    /// Every prefix down to `depth`, and "" for everything.
    tree: BTreeMap<String, Counts>,
    largest: Vec<LargeObject>,
    /// The scan's running totals (objects, bytes, partitions), and when it started.
    progress: Progress,
    started: Instant,
    /// How long the scan took, once it ended.
    took: Option<Duration>,
    done: bool,
    /// Whether prefixes were left out (a bound, or the report's `other`).
    partial: bool,
    path: Vec<String>,
    sort: Sort,
    reverse: bool,
    state: TableState,
    help: bool,
    colour: bool,
    /// What the report says is billed and not listed, as one line.
    hidden: Option<String>,
}

impl Browser {
    /// An empty browser for a scan to fill, with prefixes to `depth`.
    pub fn new(title: impl Into<String>, depth: usize) -> Self {
        let mut tree = BTreeMap::new();
        tree.insert(String::new(), Counts::default());
        Self {
            title: title.into(),
            depth,
            tree,
            largest: Vec::new(),
            progress: Progress::default(),
            started: Instant::now(),
            took: None,
            done: false,
            partial: false,
            path: Vec::new(),
            sort: Sort::Bytes,
            reverse: false,
            state: TableState::default().with_selected(Some(0)),
            help: false,
            colour: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            hidden: None,
        }
    }

    /// A browser over a finished report.
    pub fn from_report(title: impl Into<String>, report: &Report) -> Self {
        let mut browser = Self::new(title, report.prefixes.depth());
        browser.finish(report);
        browser
    }

    /// Whether colour is used (off when `NO_COLOR` is set).
    pub fn with_colour(mut self, colour: bool) -> Self {
        self.colour = colour;
        self
    }

    /// Objects listed so far (keys relative to the scanned prefix, in `relative`).
    pub fn add(&mut self, objects: &[(String, ObjectMeta)]) {
        for (relative, meta) in objects {
            let mut end = 0;
            self.tree.entry(String::new()).or_default().add(meta.size);
            for _ in 0..self.depth {
                let Some(slash) = relative[end..].find('/') else {
                    break;
                };
                end += slash;
                let room = self.tree.len() < LIVE_PREFIXES;
                match self.tree.get_mut(&relative[..end]) {
                    Some(t) => t.add(meta.size),
                    None if room => {
                        let mut t = Counts::default();
                        t.add(meta.size);
                        self.tree.insert(relative[..end].to_string(), t);
                    }
                    None => self.partial = true,
                }
                end += 1;
            }
            let smallest = self.largest.last().map_or(0, |o| o.size);
            if self.largest.len() < LIVE_TOP || meta.size > smallest {
                let object = LargeObject {
                    key: meta.location.to_string(),
                    size: meta.size,
                    last_modified: meta.last_modified,
                };
                let at = self.largest.partition_point(|o| o >= &object);
                self.largest.insert(at, object);
                self.largest.truncate(LIVE_TOP);
            }
        }
    }

    /// The scan's running totals.
    pub fn progress(&mut self, progress: Progress) {
        self.progress = progress;
    }

    /// The scan is over: show its report (exact, bounded) instead of the live tree.
    pub fn finish(&mut self, report: &Report) {
        self.tree.clear();
        self.tree.insert(
            String::new(),
            Counts {
                objects: report.objects,
                bytes: report.bytes,
            },
        );
        for e in report.prefixes.entries() {
            self.tree.insert(
                e.prefix,
                Counts {
                    objects: e.objects,
                    bytes: e.bytes,
                },
            );
        }
        self.depth = report.prefixes.depth();
        self.largest = report.top.largest();
        self.hidden = report.hidden.as_ref().map(hidden_line);
        self.partial = report.prefixes.other().prefixes > 0 || !report.prefixes.is_exact();
        self.progress.done = report.objects;
        self.progress.bytes = report.bytes;
        self.took.get_or_insert(self.started.elapsed());
        self.done = true;
        // The path may no longer exist (a prefix not kept): go up until it does.
        while !self.path.is_empty() && !self.tree.contains_key(&self.current()) {
            self.path.pop();
        }
        self.clamp();
    }

    /// The current prefix (`""` at the top).
    pub fn current(&self) -> String {
        self.path.join("/")
    }

    /// The rows of the current prefix, in the current order.
    pub fn entries(&self) -> Vec<Item> {
        let here = self.current();
        let start = if here.is_empty() {
            String::new()
        } else {
            format!("{here}/")
        };
        let level = self.path.len() + 1;
        let mut rows: Vec<Item> = self
            .tree
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .filter(|(k, _)| !k.is_empty() && k.split('/').count() == level)
            .map(|(k, t)| Item {
                name: k[start.len()..].to_string(),
                objects: t.objects,
                bytes: t.bytes,
                opens: level < self.depth,
            })
            .collect();
        match self.sort {
            Sort::Bytes => rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name))),
            Sort::Objects => {
                rows.sort_by(|a, b| b.objects.cmp(&a.objects).then(a.name.cmp(&b.name)))
            }
            Sort::Name => rows.sort_by(|a, b| a.name.cmp(&b.name)),
        }
        if self.reverse {
            rows.reverse();
        }
        let total = self.tree.get(&here).copied().unwrap_or_default();
        let (objects, bytes) = rows
            .iter()
            .fold((0, 0), |(o, b), r| (o + r.objects, b + r.bytes));
        if total.objects > objects {
            rows.push(Item {
                name: if self.partial {
                    "(objects directly here, and prefixes not kept)".to_string()
                } else {
                    "(objects directly here)".to_string()
                },
                objects: total.objects - objects,
                bytes: total.bytes.saturating_sub(bytes),
                opens: false,
            });
        }
        rows
    }

    /// The largest objects under the current prefix (of those the report kept).
    pub fn largest_here(&self) -> Vec<&LargeObject> {
        let here = self.current();
        self.largest
            .iter()
            .filter(|o| here.is_empty() || o.key.starts_with(&format!("{here}/")))
            .take(8)
            .collect()
    }

    fn clamp(&mut self) {
        let n = self.entries().len();
        let at = self.state.selected().unwrap_or(0).min(n.saturating_sub(1));
        self.state.select(Some(at));
    }

    /// Handle a key; `false` means quit.
    pub fn key(&mut self, code: KeyCode) -> bool {
        if self.help {
            self.help = false;
            return !matches!(code, KeyCode::Char('q'));
        }
        let selected = self.state.selected().unwrap_or(0);
        match code {
            KeyCode::Char('q') | KeyCode::Esc => return false,
            KeyCode::Char('?') => self.help = true,
            KeyCode::Down | KeyCode::Char('j') => self.state.select(Some(selected + 1)),
            KeyCode::Up | KeyCode::Char('k') => self.state.select(Some(selected.saturating_sub(1))),
            KeyCode::Char('g') | KeyCode::Home => self.state.select(Some(0)),
            KeyCode::Char('G') | KeyCode::End => self.state.select(Some(usize::MAX)),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Enter => {
                if let Some(entry) = self.entries().get(selected).filter(|e| e.opens) {
                    self.path.push(entry.name.clone());
                    self.state.select(Some(0));
                }
            }
            KeyCode::Left | KeyCode::Char('h') | KeyCode::Backspace => {
                if let Some(left) = self.path.pop() {
                    let at = self.entries().iter().position(|e| e.name == left);
                    self.state.select(Some(at.unwrap_or(0)));
                }
            }
            KeyCode::Char(c @ ('s' | 'c' | 'n')) => {
                let sort = match c {
                    's' => Sort::Bytes,
                    'c' => Sort::Objects,
                    _ => Sort::Name,
                };
                self.reverse = self.sort == sort && !self.reverse;
                self.sort = sort;
            }
            _ => {}
        }
        self.clamp();
        true
    }

    fn accent(&self) -> Style {
        if self.colour {
            Style::default().fg(Color::Cyan)
        } else {
            Style::default()
        }
    }

    /// Draw into `frame`.
    pub fn draw(&mut self, frame: &mut Frame) {
        let [head, body, largest, keys] = Layout::vertical([
            // The title row, two lines (three with the billed bytes), the border.
            Constraint::Length(if self.hidden.is_some() { 5 } else { 4 }),
            Constraint::Min(5),
            Constraint::Length(10),
            Constraint::Length(1),
        ])
        .areas(frame.area());
        let here = self.current();
        let total = self.tree.get(&here).copied().unwrap_or_default();
        let status = if self.done {
            format!(
                "scan done: {} objects, {} in {:.1} s",
                thousands(self.progress.done),
                human_bytes(self.progress.bytes),
                self.took.unwrap_or_default().as_secs_f64()
            )
        } else {
            let secs = self.started.elapsed().as_secs_f64().max(0.001);
            format!(
                "scanning… {} objects, {} ({:.0} objects/s), partitions {}/{}",
                thousands(self.progress.done),
                human_bytes(self.progress.bytes),
                self.progress.done as f64 / secs,
                self.progress.parts_done,
                self.progress.parts_known
            )
        };
        let sort = match (self.sort, self.reverse) {
            (Sort::Bytes, false) => "bytes ↓",
            (Sort::Bytes, true) => "bytes ↑",
            (Sort::Objects, false) => "objects ↓",
            (Sort::Objects, true) => "objects ↑",
            (Sort::Name, false) => "name A-Z",
            (Sort::Name, true) => "name Z-A",
        };
        let header = Paragraph::new(
            vec![
                Line::from(vec![
                    Span::styled(
                        format!(
                            "/{}{}",
                            terminal(&here),
                            if here.is_empty() { "" } else { "/" }
                        ),
                        self.accent().add_modifier(Modifier::BOLD),
                    ),
                    Span::raw(format!(
                        "   {} objects, {}   sorted by {sort}",
                        thousands(total.objects),
                        human_bytes(total.bytes)
                    )),
                ]),
                Line::from(status),
            ]
            .into_iter()
            .chain(self.hidden.clone().map(Line::from))
            .collect::<Vec<_>>(),
        )
        .block(
            Block::default()
                .borders(Borders::BOTTOM)
                .title(format!(" stratus · {} ", terminal(&self.title))),
        );
        frame.render_widget(header, head);

        let entries = self.entries();
        let width = 20usize;
        let rows: Vec<Row> = entries
            .iter()
            .map(|e| {
                let share = e.bytes as f64 / total.bytes.max(1) as f64;
                let filled = (share * width as f64).round() as usize;
                let bar = format!(
                    "[{}{}]",
                    "#".repeat(filled.min(width)),
                    " ".repeat(width - filled.min(width))
                );
                let name = if e.opens {
                    format!("{}/", terminal(&e.name))
                } else {
                    terminal(&e.name).into_owned()
                };
                Row::new(vec![
                    Cell::from(Line::from(human_bytes(e.bytes)).right_aligned()),
                    Cell::from(Span::styled(bar, self.accent())),
                    Cell::from(Line::from(format!("{:.1}%", share * 100.0)).right_aligned()),
                    Cell::from(Line::from(thousands(e.objects)).right_aligned()),
                    Cell::from(name),
                ])
            })
            .collect();
        let highlight = if self.colour {
            Style::default()
                .add_modifier(Modifier::REVERSED | Modifier::BOLD)
                .fg(Color::Yellow)
        } else {
            Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
        };
        let table = Table::new(
            rows,
            [
                Constraint::Length(11),
                Constraint::Length(width as u16 + 2),
                Constraint::Length(7),
                Constraint::Length(12),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new(vec![
                Cell::from(Line::from("bytes").right_aligned()),
                Cell::from(""),
                Cell::from(Line::from("share").right_aligned()),
                Cell::from(Line::from("objects").right_aligned()),
                Cell::from("name"),
            ])
            .style(Style::default().add_modifier(Modifier::BOLD)),
        )
        .row_highlight_style(highlight)
        .highlight_symbol("> ");
        frame.render_stateful_widget(table, body, &mut self.state);

        let title = if here.is_empty() {
            " largest objects ".to_string()
        } else {
            format!(" largest objects under {}/ ", terminal(&here))
        };
        let lines: Vec<Line> = self
            .largest_here()
            .into_iter()
            .map(|o| {
                Line::from(format!(
                    "{:>11}  {}  {}",
                    human_bytes(o.size),
                    o.last_modified.format("%Y-%m-%d"),
                    terminal(o.key.as_ref())
                ))
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines).block(Block::default().borders(Borders::TOP).title(title)),
            largest,
        );
        frame.render_widget(
            Paragraph::new(
                "↑↓/jk move  →/l/Enter open  ←/h up  s size  c count  n name  ? help  q quit",
            )
            .style(Style::default().add_modifier(Modifier::DIM)),
            keys,
        );
        if self.help {
            self.draw_help(frame);
        }
    }

    fn draw_help(&self, frame: &mut Frame) {
        let area = frame.area();
        let popup = Rect {
            x: area.width.saturating_sub(68) / 2,
            y: area.height.saturating_sub(16) / 2,
            width: area.width.min(68),
            height: area.height.min(16),
        };
        let text = vec![
            Line::from("Keys"),
            Line::from(""),
            Line::from("  ↑ k / ↓ j      move"),
            Line::from("  → l Enter      open the prefix"),
            Line::from("  ← h Backspace  up one level"),
            Line::from("  g / G          first / last row"),
            Line::from("  s c n          sort by size, count, name (again: reverse)"),
            Line::from("  ?              this help (any key closes it)"),
            Line::from("  q Esc          quit"),
            Line::from(""),
            Line::from("Totals include everything below a prefix (like du)."),
            Line::from("While the scan runs, the tree fills in as objects are listed;"),
            Line::from("when it ends, the report's exact totals replace it."),
        ];
        frame.render_widget(Clear, popup);
        frame.render_widget(
            Paragraph::new(text).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" help ")
                    .border_style(self.accent()),
            ),
            popup,
        );
    }
}

/// What the scan sends the screen.
enum Update {
    Objects(Vec<(String, ObjectMeta)>),
    Progress(Progress),
}

/// Scan `store` under `prefix` while browsing it in this terminal (standard output must
/// be a terminal). Returns the report when the user quits after the scan ended, `None` if
/// they quit before (the scan is then stopped).
pub async fn browse(
    store: Arc<dyn ObjectStore>,
    prefix: Option<&Path>,
    options: &ScanOptions,
    title: &str,
) -> Result<Option<Report>> {
    let depth = options.depth;
    let (sink, mut listed) = tokio::sync::mpsc::channel::<Vec<ObjectMeta>>(64);
    let (updates, screen) = std::sync::mpsc::channel::<Update>();
    let progress_updates = updates.clone();
    let options = options.clone().with_progress(move |p| {
        let _ = progress_updates.send(Update::Progress(p));
    });
    let prefix = prefix.cloned().filter(|p| !p.as_ref().is_empty());
    let skip = prefix.as_ref().map_or(0, |p| p.as_ref().len() + 1);
    // Objects listed, keyed relative to the prefix, to the screen.
    let forward = tokio::spawn(async move {
        while let Some(batch) = listed.recv().await {
            let batch = batch
                .into_iter()
                .map(|m| {
                    (
                        m.location
                            .as_ref()
                            .get(skip..)
                            .unwrap_or_default()
                            .to_string(),
                        m,
                    )
                })
                .collect();
            if updates.send(Update::Objects(batch)).is_err() {
                break;
            }
        }
    });
    let scanning = tokio::spawn(async move {
        super::scan_into(store.as_ref(), prefix.as_ref(), &options, Some(sink.into())).await
    });
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<Result<Report>>();
    let title = title.to_string();
    let ui = tokio::task::spawn_blocking(move || run_screen(&title, depth, screen, finished_rx));
    let abort = scanning.abort_handle();
    let waiter = tokio::spawn(async move {
        let result = match scanning.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => return, // stopped: the user quit first
        };
        let _ = forward.await;
        let _ = finished_tx.send(result);
    });
    let outcome = ui
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    abort.abort();
    waiter.abort();
    outcome
}

/// Browse a finished report in this terminal (e.g. one read from a provider's inventory
/// report).
pub async fn browse_report(report: Report, title: &str) -> Result<()> {
    let (_updates, screen) = std::sync::mpsc::channel::<Update>();
    let (finished_tx, finished_rx) = std::sync::mpsc::channel::<Result<Report>>();
    let depth = report.prefixes.depth();
    let _ = finished_tx.send(Ok(report));
    let title = title.to_string();
    tokio::task::spawn_blocking(move || run_screen(&title, depth, screen, finished_rx))
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        .map(|_| ())
}

/// The screen's loop, on a thread of its own: keys, updates, redraws.
fn run_screen(
    title: &str,
    depth: usize,
    updates: std::sync::mpsc::Receiver<Update>,
    finished: std::sync::mpsc::Receiver<Result<Report>>,
) -> Result<Option<Report>> {
    let mut terminal = ratatui::try_init()
        .map_err(|e| crate::Error::Terminal(format!("cannot use the terminal: {e}")))?;
    let mut browser = Browser::new(title, depth);
    let mut report = None;
    let result = loop {
        while let Ok(update) = updates.try_recv() {
            match update {
                Update::Objects(objects) if !browser.done => browser.add(&objects),
                Update::Progress(p) if !browser.done => browser.progress(p),
                _ => {}
            }
        }
        if report.is_none() {
            match finished.try_recv() {
                Ok(Ok(r)) => {
                    browser.finish(&r);
                    report = Some(r);
                }
                Ok(Err(e)) => break Err(e),
                Err(_) => {}
            }
        }
        if let Err(e) = terminal.draw(|frame| browser.draw(frame)) {
            break Err(crate::Error::Terminal(format!("cannot draw: {e}")));
        }
        match event::poll(Duration::from_millis(100)) {
            Ok(true) => {
                if let Ok(Event::Key(key)) = event::read() {
                    if key.kind == KeyEventKind::Press && !browser.key(key.code) {
                        break Ok(report.take());
                    }
                }
            }
            Ok(false) => {}
            Err(e) => break Err(crate::Error::Terminal(format!("cannot read keys: {e}"))),
        }
    };
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str, size: u64) -> (String, ObjectMeta) {
        (
            key.to_string(),
            ObjectMeta {
                location: Path::from(key),
                last_modified: chrono::Utc::now(),
                size,
                e_tag: None,
                version: None,
            },
        )
    }

    #[test]
    fn the_live_tree_fills_in_and_the_report_replaces_it() {
        let mut b = Browser::new("t", 2).with_colour(false);
        b.add(&[
            meta("a/x/1", 10),
            meta("a/y/2", 5),
            meta("b/3", 100),
            meta("top", 1),
        ]);
        let names = |b: &Browser| {
            b.entries()
                .into_iter()
                .map(|e| (e.name, e.objects, e.bytes))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&b),
            [
                ("b".into(), 1, 100),
                ("a".into(), 2, 15),
                ("(objects directly here)".into(), 1, 1)
            ]
        );
        // Open `a` (second row), then sort by name reversed.
        b.key(KeyCode::Down);
        b.key(KeyCode::Enter);
        assert_eq!(b.current(), "a");
        assert_eq!(names(&b), [("x".into(), 1, 10), ("y".into(), 1, 5)]);
        assert!(!b.entries()[0].opens, "depth 2 is the last level");
        b.key(KeyCode::Char('n'));
        b.key(KeyCode::Char('n'));
        assert_eq!(b.entries()[0].name, "y");
        assert_eq!(b.largest_here().len(), 2);
        // The report (depth 1 now) replaces the live tree; the path goes up to what exists.
        let store = object_store::memory::InMemory::new();
        let report = futures::executor::block_on(async {
            use object_store::ObjectStoreExt;
            store
                .put(&Path::from("a/x/1"), vec![0u8; 10].into())
                .await
                .unwrap();
            super::super::scan(
                &store,
                None,
                &ScanOptions::default().with_depth(1).with_concurrency(1),
            )
            .await
            .unwrap()
        });
        b.finish(&report);
        assert_eq!(b.current(), "a");
        b.key(KeyCode::Left);
        assert_eq!(names(&b), [("a".into(), 1, 10)]);
        assert!(!b.key(KeyCode::Char('q')));
    }

    #[test]
    fn the_header_shows_what_is_billed_and_not_listed() {
        use ratatui::{backend::TestBackend, Terminal};
        let mut report = Report::new(chrono::Utc::now(), 1, 10, 5);
        report.hidden = Some(crate::inventory::hidden::Hidden {
            versions: Some(crate::inventory::hidden::Versions {
                noncurrent: Counts {
                    objects: 3,
                    bytes: 28,
                },
                noncurrent_since: None,
                classes: Default::default(),
                delete_markers: 2,
                orphaned_markers: Some(1),
                prefixes: crate::inventory::PrefixBreakdown::new(1, 10),
            }),
            uploads: None,
            not_seen: Vec::new(),
            provider: None,
        });
        let mut b = Browser::from_report("t", &report).with_colour(false);
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal.draw(|frame| b.draw(frame)).unwrap();
        let screen: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|cell| cell.symbol())
            .collect();
        assert!(
            screen.contains("billed, not listed: 3 noncurrent versions (28 B), 2 delete markers"),
            "{screen}"
        );
    }
}
