//! How the examples end: a stratus error as one line, what to check, and the exit code
//! (`#[path]`-included).

use std::process::ExitCode;

/// Print `result`'s error (its brief form, its advice, and with `verbose` the full
/// error), every part made safe for a terminal, and return the process's exit code.
pub fn finish(result: stratus::Result<()>, verbose: bool) -> ExitCode {
    // The HTTP requests each cloud store sent (retries included), and their cost where
    // the configuration gives `prices`; on stderr, so that a JSON report stays alone on
    // stdout.
    for line in stratus::requests::summary() {
        eprintln!("requests: {}", stratus::text::terminal(&line));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.brief());
            if let Some(advice) = e.advice() {
                eprintln!("  → {}", stratus::text::terminal(advice));
            }
            if verbose {
                // Keys and a server's response, made safe for the terminal (lines kept).
                eprintln!(
                    "\nfull error: {}",
                    stratus::text::terminal_lines(&e.to_string())
                );
            }
            ExitCode::FAILURE
        }
    }
}
