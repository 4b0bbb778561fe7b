//! A one-line progress display on stderr, shared by the subcommands.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Redraws one line of stderr at most ten times a second.
pub struct ProgressLine {
    start: Instant,
    last: Mutex<Option<Instant>>,
}

impl ProgressLine {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            last: Mutex::new(None),
        })
    }

    /// Redraw with `line(seconds since start)` (controls in it shown escaped), unless the last redraw was under 100 ms
    /// ago (`force` redraws anyway: for the final state).
    pub fn update(&self, force: bool, line: impl FnOnce(f64) -> String) {
        let now = Instant::now();
        let mut last = self.last.lock().expect("not poisoned");
        if !force && last.is_some_and(|t| now.duration_since(t).as_millis() < 100) {
            return;
        }
        *last = Some(now);
        let secs = now.duration_since(self.start).as_secs_f64().max(1e-3);
        // Only this line's own escapes reach the terminal: what it shows is made safe.
        eprint!("\r\x1b[2K  {}", stratus::text::terminal(&line(secs)));
        let _ = std::io::stderr().flush();
    }

    pub fn clear(&self) {
        eprint!("\r\x1b[2K");
        let _ = std::io::stderr().flush();
    }
}
