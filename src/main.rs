use std::process::ExitCode;

use clap::Parser;
use driftwarden::cli::{self, plugin};

fn main() -> ExitCode {
    let argv0 = std::env::args_os().next();
    // Installed as `kubectl-driftwarden`, the binary is a kubectl plugin: kubectl passes the
    // arguments after `kubectl driftwarden`. As `kubectl_complete-driftwarden`, it completes
    // them for kubectl's own shell completion.
    if plugin::invoked_as(argv0.as_deref(), plugin::PLUGIN_NAME) {
        return plugin::run(plugin::PluginCli::parse().args);
    }
    if plugin::invoked_as(argv0.as_deref(), cli::KUBECTL_COMPLETION_NAME) {
        let words: Vec<String> = std::env::args_os().skip(1).map(|w| w.to_string_lossy().into_owned()).collect();
        return cli::run_kubectl_completion(&words);
    }
    cli::run(cli::Cli::parse())
}
