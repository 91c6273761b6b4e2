//! `driftwarden admission render`: the ValidatingAdmissionPolicy and binding generated
//! from each policy's `spec.admission`, for a GitOps repository that applies them itself
//! (`spec.admission.managedBy: External`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::Value;

use crate::admission::{DEFAULT_APPLIERS, DEFAULT_EXEMPT_GROUPS, Source, exempt_users, generate, listed_or};
use crate::check::load::{self, PolicyDocument};
use crate::engine::scope::{Scope, Scopes};
use crate::keys::PolicyKey;
use crate::reconcile::policies::acting_account;

/// Exit code: the input is invalid, or no policy sets `spec.admission`.
const INVALID_INPUT: u8 = 2;

/// `driftwarden admission …`.
#[derive(Subcommand, Debug)]
pub enum AdmissionCommand {
    /// Print, as YAML, the ValidatingAdmissionPolicy and binding the operator generates
    /// from each policy with `spec.admission`; what they leave unchecked goes to standard
    /// error. Exit code 0, or 2 on invalid input.
    Render(RenderArgs),
}

/// Arguments of `driftwarden admission render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// DriftPolicy / ClusterDriftPolicy files or directories (repeatable); `-` reads
    /// standard input.
    #[arg(long = "filename", short = 'f', required = true, value_name = "PATH")]
    pub policies: Vec<PathBuf>,
    /// The namespace of DriftPolicies that do not name one.
    #[arg(long, short = 'n', default_value = "default")]
    pub namespace: String,
    /// The kinds a cluster serves (`kubectl api-resources -o json`): built-in kinds are
    /// known without it; a policy naming any other kind needs it for the kind's plural.
    #[arg(long, value_name = "FILE")]
    pub api_resources: Option<PathBuf>,
    /// The user the operator runs as, exempt from every generated policy (the chart's
    /// ServiceAccount, `system:serviceaccount:<namespace>:<name>`).
    #[arg(long, default_value = "system:serviceaccount:driftwarden-system:driftwarden", value_name = "USER")]
    pub operator_user: String,
    /// The GitOps appliers exempt from every generated policy, as the chart's
    /// `admission.exemptUsers` lists them (repeatable; default: Argo CD's application
    /// controller and Flux's kustomize and helm controllers).
    #[arg(long = "exempt-user", value_name = "USER")]
    pub exempt_users: Vec<String>,
    /// The groups exempt from every generated policy, as the chart's
    /// `admission.exemptGroups` lists them (repeatable; default: `system:masters`).
    #[arg(long = "exempt-group", value_name = "GROUP")]
    pub exempt_groups: Vec<String>,
    /// The ServiceAccount a DriftPolicy without `spec.serviceAccountName` acts as (the
    /// operator's `--default-service-account`): exempt from its policy too.
    #[arg(long, value_name = "NAME")]
    pub default_service_account: Option<String>,
}

/// Runs `driftwarden admission …`.
pub fn run(command: &AdmissionCommand) -> ExitCode {
    match command {
        AdmissionCommand::Render(args) => match render(args) {
            Ok(text) => match super::emit(&text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    eprintln!("error: cannot write to standard output: {err}");
                    ExitCode::from(INVALID_INPUT)
                }
            },
            Err(err) => {
                eprintln!("error: {err}");
                ExitCode::from(INVALID_INPUT)
            }
        },
    }
}

/// The installation's exempt users: the operator and the GitOps appliers.
fn installation_users(args: &RenderArgs) -> Vec<String> {
    let appliers = listed_or(&args.exempt_users, DEFAULT_APPLIERS);
    std::iter::once(args.operator_user.clone()).chain(appliers).collect()
}

/// The YAML of every generated object; notes on standard error.
fn render(args: &RenderArgs) -> Result<String, String> {
    let scopes = match &args.api_resources {
        None => Scopes::default(),
        Some(path) => std::fs::read_to_string(path)
            .map_err(|err| err.to_string())
            .and_then(|text| Scopes::read_api_resources(&text).map_err(|err| err.to_string()))
            .map_err(|err| format!("--api-resources {}: {err}", path.display()))?,
    };
    let resource_of = |api_version: &str, kind: &str| {
        Some((scopes.plural(api_version, kind)?, scopes.scope(api_version, kind)? == Scope::Namespaced))
    };
    let policies = load::policies(&args.policies, &args.namespace).map_err(|err| err.to_string())?;
    let installation = installation_users(args);
    let groups = listed_or(&args.exempt_groups, DEFAULT_EXEMPT_GROUPS);
    // Fingerprints are never part of a generated policy: Secret values are left out.
    let key = crate::fingerprints::draw();
    let mut out = String::new();
    let mut rendered = 0;
    for loaded in &policies {
        let compiled = crate::check::compile_loaded(loaded, &scopes, &key).map_err(|err| err.to_string())?;
        let (object, uid) = match &loaded.policy {
            PolicyDocument::Namespaced(p) => (serde_json::to_value(p), p.metadata.uid.clone()),
            PolicyDocument::Cluster(p) => (serde_json::to_value(p), p.metadata.uid.clone()),
        };
        let object = object.map_err(|err| err.to_string())?;
        let policy_key = PolicyKey { namespace: compiled.namespace.clone(), name: compiled.short_name().to_string() };
        let Some(admission) = &compiled.admission else {
            eprintln!("note: {}: policy {policy_key} has no spec.admission: nothing to render", loaded.origin);
            continue;
        };
        let acts_as =
            acting_account(&object, compiled.namespace.as_deref(), args.default_service_account.as_deref(), false)
                .map_err(|(_, message)| format!("{}: policy {policy_key}: {message}", loaded.origin))?;
        let exempt = exempt_users(&installation, acts_as.as_ref());
        let generated = generate(&Source {
            key: &policy_key,
            uid: uid.as_deref(),
            admission,
            policy: &compiled,
            resource_of: &resource_of,
            exempt_users: &exempt,
            exempt_groups: &groups,
            exceptions: &[],
        });
        for (field, skipped) in &generated.skipped {
            eprintln!(
                "note: policy {policy_key}: {field}{} is not checked at admission: {}",
                skipped.pointer, skipped.why
            );
        }
        if generated.is_empty() {
            eprintln!("note: policy {policy_key}: nothing to check at admission, so nothing is rendered");
            continue;
        }
        for object in [&generated.policy, &generated.binding] {
            out.push_str("---\n");
            out.push_str(&yaml(object)?);
        }
        rendered += 1;
    }
    if rendered == 0 && policies.iter().all(|p| admission_of(&p.policy).is_none()) {
        return Err("no policy sets spec.admission: nothing to render".to_string());
    }
    Ok(out)
}

fn admission_of(policy: &PolicyDocument) -> Option<&crate::api::admission::AdmissionSpec> {
    match policy {
        PolicyDocument::Namespaced(p) => p.spec.policy.admission.as_ref(),
        PolicyDocument::Cluster(p) => p.spec.policy.admission.as_ref(),
    }
}

fn yaml(object: &Value) -> Result<String, String> {
    serde_yaml::to_string(object).map_err(|err| format!("cannot write YAML: {err}"))
}
