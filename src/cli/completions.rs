//! Shell completion: `driftwarden completions SHELL` prints a script for a shell, and the
//! binary run as `kubectl_complete-driftwarden` answers kubectl's own completion of
//! `kubectl driftwarden …` (kubectl 1.26 or later asks that program, with the words typed
//! after the plugin's name, for one candidate a line and a last line `:DIRECTIVE`).

use std::process::ExitCode;

use clap::{ArgAction, Args, Command, CommandFactory, ValueHint};
use clap_complete::Shell;

use super::plugin::{PLUGIN_NAME, PluginCli};
use super::{Cli, emit};

/// Arguments of `driftwarden completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum)]
    pub shell: Shell,
    /// Complete `kubectl-driftwarden` (the plugin run under its own name) instead of
    /// `driftwarden`.
    #[arg(long)]
    pub plugin: bool,
}

/// Prints the completion script.
pub fn run(args: &CompletionsArgs) -> ExitCode {
    let (mut command, name) = match args.plugin {
        true => (PluginCli::command(), PLUGIN_NAME),
        false => (Cli::command(), "driftwarden"),
    };
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, name, &mut script);
    match emit(&String::from_utf8_lossy(&script)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: cannot write the completion script: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The file name kubectl runs to complete `kubectl driftwarden …`.
pub const KUBECTL_COMPLETION_NAME: &str = "kubectl_complete-driftwarden";

/// Cobra's directive: complete from the candidates only, not from file names.
const NO_FILE_COMPLETION: u8 = 4;
/// Cobra's directive: the shell's default completion (file names).
const DEFAULT_COMPLETION: u8 = 0;

/// Answers kubectl's completion of `kubectl driftwarden WORDS…`, the last word being the
/// one completed (empty at a new word).
pub fn run_kubectl_completion(words: &[String]) -> ExitCode {
    let (candidates, directive) = candidates(&PluginCli::command(), words);
    let mut out: String = candidates.iter().map(|c| format!("{c}\n")).collect();
    out.push_str(&format!(":{directive}\n"));
    match emit(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// The candidates for the last of `words` (typed after the plugin's name), and cobra's
/// directive: verbs, then the verb's flags (and the global ones), and the values of flags
/// with a closed set.
pub fn candidates(command: &Command, words: &[String]) -> (Vec<String>, u8) {
    let mut command = command.clone();
    command.build();
    let (current, before) = match words.split_last() {
        Some((current, before)) => (current.as_str(), before),
        None => ("", &[][..]),
    };
    let verbs: Vec<&Command> =
        command.get_subcommands().filter(|c| !c.is_hide_set() && c.get_name() != "help").collect();
    let verb = before.iter().find_map(|word| verbs.iter().find(|v| v.get_name() == word.as_str()).copied());
    let arguments: Vec<&clap::Arg> = command
        .get_arguments()
        .chain(verb.into_iter().flat_map(|v| v.get_arguments()))
        .filter(|a| !a.is_hide_set())
        .collect();

    // The value of the flag just before.
    if let Some(flag) = before.last().filter(|w| w.starts_with('-') && !w.contains('=')) {
        let named = arguments.iter().find(|a| {
            a.get_long().is_some_and(|l| *flag == format!("--{l}"))
                || a.get_short().is_some_and(|s| *flag == format!("-{s}"))
        });
        if let Some(argument) = named.filter(|a| a.get_action().takes_values()) {
            let values: Vec<String> = argument.get_possible_values().iter().map(|v| v.get_name().to_string()).collect();
            if !values.is_empty() {
                return (matching(values, current), NO_FILE_COMPLETION);
            }
            let files = matches!(argument.get_value_hint(), ValueHint::FilePath | ValueHint::AnyPath);
            return (Vec::new(), if files { DEFAULT_COMPLETION } else { NO_FILE_COMPLETION });
        }
    }
    if current.starts_with('-') {
        let flags = arguments
            .iter()
            .filter(|a| !a.is_positional() && !matches!(a.get_action(), ArgAction::Help | ArgAction::Version))
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        return (matching(flags, current), NO_FILE_COMPLETION);
    }
    if verb.is_none() {
        let names = verbs.iter().map(|v| v.get_name().to_string()).collect();
        return (matching(names, current), NO_FILE_COMPLETION);
    }
    (Vec::new(), NO_FILE_COMPLETION)
}

fn matching(mut candidates: Vec<String>, prefix: &str) -> Vec<String> {
    candidates.retain(|c| c.starts_with(prefix));
    candidates.sort();
    candidates.dedup();
    candidates
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(words: &[&str]) -> (Vec<String>, u8) {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        candidates(&PluginCli::command(), &words)
    }

    #[test]
    fn kubectl_completion_offers_verbs_flags_and_values() {
        assert_eq!(complete(&[""]).0, ["approve", "except", "explain", "status"]);
        assert_eq!(complete(&["ex"]), (vec!["except".to_string(), "explain".to_string()], 4));
        assert_eq!(complete(&[]).0.len(), 4);
        let flags = complete(&["except", "configmap/x", "--"]).0;
        for flag in ["--for", "--ticket", "--justification", "--path", "--dry-run", "--namespace", "--context"] {
            assert!(flags.contains(&flag.to_string()), "{flag} in {flags:?}");
        }
        assert!(!flags.contains(&"--all-namespaces".to_string()), "status's flag: {flags:?}");
        assert_eq!(complete(&["status", "-o", ""]).0, ["json", "text"]);
        assert_eq!(complete(&["status", "--color", "n"]).0, ["never"]);
        assert_eq!(complete(&["status", "--kubeconfig", ""]), (vec![], 0), "file names");
        assert_eq!(complete(&["approve", "--reason", ""]), (vec![], 4));
        assert_eq!(complete(&["approve", ""]), (vec![], 4));
    }

    #[test]
    fn scripts_are_generated_for_both_names() {
        for (plugin, name) in [(false, "driftwarden"), (true, PLUGIN_NAME)] {
            let mut command = if plugin { PluginCli::command() } else { Cli::command() };
            let mut script = Vec::new();
            clap_complete::generate(Shell::Bash, &mut command, name, &mut script);
            let script = String::from_utf8(script).unwrap();
            let registers = script.lines().map(str::trim).any(|l| l.starts_with("complete -F ") && l.ends_with(name));
            assert!(registers, "{name}: {script}");
            assert!(script.contains("explain"), "{name}");
        }
    }
}
