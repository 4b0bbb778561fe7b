//! What the benches report of their runs, and their arguments (`#[path]`-included).

use std::time::Duration;

/// The median of `runs` (the upper one of an even count).
pub fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// `d` in milliseconds, one decimal.
#[allow(dead_code)] // not every bench prints milliseconds
pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// The program's arguments without the `--bench` that `cargo bench` adds.
#[allow(dead_code)] // the clap benches take theirs from clap
pub fn args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}
