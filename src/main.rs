use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = driftwarden::cli::Cli::parse();
    driftwarden::cli::run(cli)
}
