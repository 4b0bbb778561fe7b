//! How the command ends: an error as one line, what to check, and the exit code.

use std::process::ExitCode;

/// Exit code of a failure: a store, a config file or a report could not be used.
pub const FAILURE: u8 = 1;
/// Exit code of a command line that cannot run as given (clap's own, and what the
/// command refuses before it starts, such as `--browse` without a terminal).
pub const USAGE: u8 = 2;

/// Why a subcommand stopped.
#[derive(Debug)]
pub enum Failure {
    /// A stratus error: shown in its brief form, with its advice (exit 1).
    Stratus(stratus::Error),
    /// A failure the command itself finds, such as no config file (exit 1).
    Message(String),
    /// A command line that cannot run as given (exit 2).
    Usage(String),
}

impl From<stratus::Error> for Failure {
    fn from(e: stratus::Error) -> Self {
        Failure::Stratus(e)
    }
}

/// What a subcommand returns.
pub type Outcome = Result<(), Failure>;

/// Print `result`'s error (its brief form, its advice, and with `verbose` the full
/// error), every part made safe for a terminal, and return the process's exit code.
/// `requests`: a line per store that sent requests, with their cost where the
/// configuration gives `prices` (`Context::requests`); `notes`: what was found out about
/// a stratus error (`Context::wrong_regions`), shown instead of its advice.
pub fn finish(result: Outcome, verbose: bool, requests: &[String], notes: &[String]) -> ExitCode {
    // The HTTP requests each cloud store sent (retries included), and their cost; on
    // stderr, so that a JSON report stays alone on stdout.
    for line in requests {
        eprintln!("requests: {}", stratus::text::terminal(line));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Stratus(e)) => {
            eprintln!("error: {}", e.brief());
            for note in notes {
                eprintln!("  → {}", stratus::text::terminal(note));
            }
            if let Some(advice) = e.advice().filter(|_| notes.is_empty()) {
                eprintln!("  → {}", stratus::text::terminal(advice));
            }
            if verbose {
                // Keys and a server's response, made safe for the terminal (lines kept).
                eprintln!("\nfull error: {}", stratus::text::terminal_lines(&e.full()));
            }
            ExitCode::from(FAILURE)
        }
        Err(Failure::Message(message)) => {
            eprintln!("error: {}", stratus::text::terminal_lines(&message));
            ExitCode::from(FAILURE)
        }
        Err(Failure::Usage(message)) => {
            eprintln!("error: {}", stratus::text::terminal_lines(&message));
            ExitCode::from(USAGE)
        }
    }
}
