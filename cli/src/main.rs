//! `stratus`: inventory, sync, verify, repair, shard and sign object stores (S3, GCS,
//! Azure, local folders, and stratus's sharded and replicated stores) named in one
//! configuration file. One file per subcommand; `cli/README.md` has the tour.

mod cleanup;
mod config;
mod finish;
mod inventory;
mod progress;
mod replicate;
mod shard;
mod sign;

use clap::{CommandFactory, Parser, Subcommand};
use std::process::ExitCode;

/// What `stratus --help` ends with: where the config file comes from, and the exit codes.
const AFTER_HELP: &str = "\
Config file: --config FILE, else $STRATUS_CONFIG, else stores.toml in the platform's
config folder ($XDG_CONFIG_HOME/stratus or ~/.config/stratus; %APPDATA%\\stratus on
Windows). A store given as a URL (s3://, gs://, az://, file://, memory://) needs none.

Exit codes:
  0  success (`verify` exits 0 when the stores differ too: it prints the differences,
     and `identical` when there are none)
  1  failure: a config file, store, key or report could not be read or used, a sync
     left files uncopied, or a store of `config check` cannot be built
  2  usage: the command line is wrong, or asks for what cannot run here (`--browse`
     without a terminal)";

#[derive(Parser)]
#[command(
    name = "stratus",
    version,
    about = "Inventory, sync, verify, repair, shard and sign object stores named in one config file",
    after_help = AFTER_HELP
)]
struct Cli {
    /// The config file of named stores (TOML, or JSON when named *.json).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// On failure, print the full error (with the server's response) too.
    #[arg(long, short, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inventory a store: counts, bytes, prefixes, sizes, ages (a table, JSON, an HTML
    /// page, or a browser in the terminal); from a listing or a provider's inventory
    /// report.
    Inventory(inventory::Args),
    /// What grew between two reports written with `inventory --json` (older first).
    Diff(inventory::DiffArgs),
    /// Copy what is missing or different in DST from SRC.
    Sync(replicate::SyncArgs),
    /// Report how two stores differ.
    Verify(replicate::VerifyArgs),
    /// Converge every member of a replicated store.
    Repair(replicate::RepairArgs),
    /// What the members of a replicated store are recorded to have missed.
    Status(replicate::StatusArgs),
    /// Where keys live in a sharded store, and moving objects after a membership change.
    #[command(subcommand)]
    Shard(shard::Command),
    /// Print a presigned GET or PUT URL for a key of a configured store.
    Sign(sign::Args),
    /// Remove what is billed and no longer wanted: multipart uploads never completed.
    #[command(subcommand)]
    Cleanup(cleanup::Command),
    /// Check the config file.
    #[command(subcommand)]
    Config(config::Command),
    /// Print a shell completion script (e.g. `stratus completions bash >
    /// ~/.local/share/bash-completion/completions/stratus`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `stratus man > stratus.1; man ./stratus.1`.
    Man,
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(finish::FAILURE);
        }
    };
    let code = runtime.block_on(run());
    // A request given up on (a bucket's region asked on a dead network) may leave a name
    // lookup running on a blocking thread for seconds: it is not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

async fn run() -> ExitCode {
    // Rust ignores SIGPIPE, so a print to a closed pipe (`stratus inventory | head`)
    // panics; a command line tool ends quietly there, as `ls | head` does.
    #[cfg(unix)]
    // SAFETY: sets the disposition of one signal (process-wide, no handler runs); nothing
    // in this program installs a SIGPIPE handler, and nothing has printed yet.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    let context = config::Context::new(cli.config);
    let result = match &cli.command {
        Command::Inventory(args) => inventory::run(&context, args).await,
        Command::Diff(args) => inventory::diff(args),
        Command::Sync(args) => replicate::run_sync(&context, args).await,
        Command::Verify(args) => replicate::run_verify(&context, args).await,
        Command::Repair(args) => replicate::run_repair(&context, args).await,
        Command::Status(args) => replicate::run_status(&context, args),
        Command::Shard(command) => shard::run(&context, command).await,
        Command::Sign(args) => sign::run(&context, args).await,
        Command::Cleanup(cleanup::Command::Uploads(args)) => cleanup::uploads(&context, args).await,
        Command::Config(config::Command::Check) => config::check(&context),
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "stratus",
                &mut std::io::stdout(),
            );
            return ExitCode::SUCCESS;
        }
        Command::Man => {
            return match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: writing the man page: {e}");
                    ExitCode::from(finish::FAILURE)
                }
            };
        }
    };
    // S3's redirect from a bucket of another region names none: ask where the buckets are.
    let notes = match &result {
        Err(finish::Failure::Stratus(e)) if e.is_region_redirect() => context.wrong_regions().await,
        _ => Vec::new(),
    };
    finish::finish(result, cli.verbose, &context.requests(), &notes)
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
