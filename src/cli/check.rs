//! `driftwarden check`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::check::{CheckInput, Fingerprints, KeySource, run as run_check};
use crate::engine::scope::Scopes;
use crate::fingerprints;

/// How `check` prints its result.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Output {
    /// One block per violation and a summary line.
    #[default]
    Text,
    /// The whole report as JSON.
    Json,
}

/// Arguments of `driftwarden check`.
#[derive(Args, Debug)]
pub struct CheckArgs {
    /// DriftPolicy / ClusterDriftPolicy files or directories (repeatable).
    #[arg(long = "policy", short = 'p', required = true, value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// Manifest files or directories (rendered Helm or Kustomize output); `-` reads
    /// standard input, which is also the default.
    #[arg(value_name = "MANIFESTS", default_value = "-")]
    pub manifests: Vec<PathBuf>,
    /// The namespace of manifests and DriftPolicies that do not name one.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The kinds a cluster serves and whether each is namespaced: the output of `kubectl
    /// api-resources -o json` (or discovery's APIResourceLists). Built-in kinds are known
    /// without it; a DriftPolicy naming any other kind needs it.
    #[arg(long, value_name = "FILE")]
    pub api_resources: Option<PathBuf>,
    /// The key Secret values are fingerprinted with: the file's bytes as they are (16 to
    /// 4096). Give the installation's key (`data.key` of the Secret
    /// `driftwarden-fingerprint-key` in the operator's namespace, decoded) to compare with
    /// the operator's fingerprints. Without it, a key is drawn for the run and the
    /// fingerprints are not comparable across runs.
    #[arg(long, value_name = "PATH")]
    pub fingerprint_key_file: Option<PathBuf>,
}

/// Exit code: violations were found.
const VIOLATIONS: u8 = 1;
/// Exit code: the input is invalid.
const INVALID_INPUT: u8 = 2;

/// Runs `check` and prints its report to standard output, or the reason it could not run to
/// standard error.
pub fn run(args: &CheckArgs) -> ExitCode {
    let scopes = match &args.api_resources {
        None => Scopes::default(),
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| Scopes::read_api_resources(&text).map_err(|err| err.to_string()))
        {
            Ok(scopes) => scopes,
            Err(err) => {
                eprintln!("error: --api-resources {}: {err}", path.display());
                return ExitCode::from(INVALID_INPUT);
            }
        },
    };
    let (key, source) = match &args.fingerprint_key_file {
        Some(path) => match fingerprints::from_file(path) {
            Ok(key) => (key, KeySource::File { path: path.clone() }),
            Err(err) => {
                eprintln!("error: {err}");
                return ExitCode::from(INVALID_INPUT);
            }
        },
        None => (fingerprints::draw(), KeySource::PerRun { reason: "no --fingerprint-key-file".to_string() }),
    };
    let input = CheckInput {
        policies: args.policies.clone(),
        manifests: args.manifests.clone(),
        namespace: args.namespace.clone(),
        scopes,
        fingerprints: key.clone(),
    };
    match run_check(&input) {
        Ok(mut report) => {
            let used = Fingerprints::new(&key, source);
            if let Some(note) = &used.note {
                eprintln!("note: {note}");
            }
            report.fingerprints = Some(used);
            let text = match args.output {
                Output::Text => report.to_text(),
                Output::Json => report.to_json() + "\n",
            };
            if let Err(err) = super::emit(&text) {
                eprintln!("error: cannot write the report: {err}");
                return ExitCode::from(INVALID_INPUT);
            }
            if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(VIOLATIONS) }
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(INVALID_INPUT)
        }
    }
}
