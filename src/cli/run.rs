//! `driftwarden run`: the operator.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::logging::{self, LogFormat};
use crate::admission::{DEFAULT_APPLIERS, DEFAULT_EXEMPT_GROUPS, listed_or};
use crate::api::exception::MAX_MAX_DURATION;
use crate::notification::{Cidr, SinkAddressPolicy};
use crate::operator::leader::LeaderSettings;
use crate::operator::notify::NotifySettings;
use crate::operator::{OperatorSettings, RunOptions, Services, supervise};

/// Arguments of `driftwarden run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The namespace the operator runs in; DriftExceptions there may cover any namespace.
    #[arg(long, env = "POD_NAMESPACE", default_value = "driftwarden-system")]
    pub namespace: String,
    /// Watch only this namespace (repeat the flag, or separate names by commas, for
    /// several). Without it the operator watches the whole cluster; with it,
    /// ClusterDriftPolicies, RemediationCampaigns and cluster-scoped kinds are not watched
    /// and the operator needs no cluster-wide read.
    #[arg(long = "watch-namespace", env = "DRIFTWARDEN_WATCH_NAMESPACES", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,
    /// Log level or filter, for example `info` or `info,driftwarden=debug`.
    #[arg(long, env = "DRIFTWARDEN_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(long, env = "DRIFTWARDEN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Seconds between full re-evaluations of every cached object (a safety net; changes
    /// are handled as they are watched).
    #[arg(long, default_value_t = 600)]
    pub resync_seconds: u64,
    /// Where `/metrics`, `/healthz` and `/readyz` are served.
    #[arg(long, env = "DRIFTWARDEN_HEALTH_ADDRESS", default_value = "0.0.0.0:8080")]
    pub health_address: std::net::SocketAddr,
    /// Elect a leader on a Lease, so that several replicas can run and exactly one
    /// reconciles. Turn off only with a single replica.
    #[arg(long, env = "DRIFTWARDEN_LEADER_ELECT", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    /// The name of the Lease, in `--namespace`.
    #[arg(long, default_value = "driftwarden-leader")]
    pub lease_name: String,
    /// The longest any DriftException may last, whatever its own `maxDuration` says, as a
    /// duration such as `720h` (units `ms`, `s`, `m`, `h`; more than 0, at most `8760h`). One
    /// that lasts longer, from its approval or its creation, is not ready and covers nothing.
    #[arg(
        long,
        env = "DRIFTWARDEN_MAX_EXCEPTION_DURATION",
        default_value = "2160h",
        value_parser = exception_cap
    )]
    pub max_exception_duration: Duration,
    /// Blocks of addresses notification sinks may use although they are loopback,
    /// link-local, private or unique-local (as `10.20.0.0/16` or `fd00::/8`; repeat the flag,
    /// or separate blocks by commas, for several). Without it no sink may reach them.
    #[arg(
        long = "notification-allowed-cidrs",
        env = "DRIFTWARDEN_NOTIFICATION_ALLOWED_CIDRS",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub notification_allowed_cidrs: Vec<Cidr>,
    /// The ServiceAccount, by name in each DriftPolicy's own namespace, that a DriftPolicy
    /// without `spec.serviceAccountName` makes its fixes as (impersonated for every request
    /// of a fix).
    #[arg(
        long,
        env = "DRIFTWARDEN_DEFAULT_SERVICE_ACCOUNT",
        value_name = "NAME",
        value_parser = service_account_name
    )]
    pub default_service_account: Option<String>,
    /// Refuse (`Ready=False`) a DriftPolicy that names no ServiceAccount when there is no
    /// `--default-service-account` either, instead of fixing as the operator: on a shared
    /// cluster, a tenant's policy then fixes only what the tenant's ServiceAccount may write.
    #[arg(long, env = "DRIFTWARDEN_REQUIRE_SERVICE_ACCOUNT", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub require_service_account: bool,
    /// Act on policies' `spec.admission`: generate, keep and remove their
    /// ValidatingAdmissionPolicies and bindings (needs write access to both; chart value
    /// `admission.enabled`). Not available with `--watch-namespaces`.
    #[arg(long, env = "DRIFTWARDEN_ADMISSION", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub admission: bool,
    /// A user exempt from every generated admission policy (repeatable, or
    /// comma-separated): give the operator's own user and the GitOps appliers'. Default:
    /// Argo CD's application controller and Flux's kustomize and helm controllers.
    #[arg(
        long = "admission-exempt-user",
        env = "DRIFTWARDEN_ADMISSION_EXEMPT_USERS",
        value_delimiter = ',',
        value_name = "USER"
    )]
    pub admission_exempt_users: Vec<String>,
    /// A group exempt from every generated admission policy (repeatable, or
    /// comma-separated). Default: `system:masters`, the cluster's administrators.
    #[arg(
        long = "admission-exempt-group",
        env = "DRIFTWARDEN_ADMISSION_EXEMPT_GROUPS",
        value_delimiter = ',',
        value_name = "GROUP"
    )]
    pub admission_exempt_groups: Vec<String>,
    /// A field manager whose fields are never fixed (repeatable, or comma-separated): the
    /// appliers of declared state. A drifted field one of them last wrote is a `Conflict`,
    /// escalated to its owner. A policy's `spec.remediation.appliers` replaces this list for
    /// that policy. Default: `argocd-controller`, `argocd-application-controller`,
    /// `kustomize-controller`, `helm-controller` and `helm`.
    #[arg(long = "appliers", env = "DRIFTWARDEN_APPLIERS", value_delimiter = ',', value_name = "MANAGER")]
    pub appliers: Vec<String>,
}

/// Reads `--default-service-account`: a ServiceAccount name.
fn service_account_name(value: &str) -> Result<String, String> {
    crate::api::ServiceAccountRef::new("default", value).check("--default-service-account")?;
    Ok(value.to_string())
}

/// Reads `--max-exception-duration`.
fn exception_cap(value: &str) -> Result<Duration, String> {
    let cap = crate::api::duration::parse_duration_at_most(value, MAX_MAX_DURATION).map_err(|err| err.to_string())?;
    match cap.is_zero() {
        true => Err("must be more than 0: an exception that may last no time at all covers nothing".to_string()),
        false => Ok(cap),
    }
}

/// Runs the operator with the in-cluster configuration or the kubeconfig until SIGTERM or
/// Ctrl-C.
pub fn run(args: &RunArgs) -> ExitCode {
    logging::init(&args.log_level, args.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let settings = OperatorSettings {
        namespace: args.namespace.clone(),
        watch_namespaces: watch_namespaces(&args.watch_namespaces),
        resync_interval: Duration::from_secs(args.resync_seconds.max(10)),
        max_exception_duration: args.max_exception_duration,
        default_service_account: args.default_service_account.clone(),
        require_service_account: args.require_service_account,
        admission: args.admission,
        admission_exempt_users: listed_or(&args.admission_exempt_users, DEFAULT_APPLIERS),
        appliers: listed_or(&args.appliers, crate::engine::decide::DEFAULT_APPLIERS),
        admission_exempt_groups: listed_or(&args.admission_exempt_groups, DEFAULT_EXEMPT_GROUPS),
        ..OperatorSettings::default()
    };
    runtime.block_on(async {
        let client = match kube::Client::try_default().await {
            Ok(client) => client,
            Err(err) => {
                tracing::error!("no Kubernetes configuration (in-cluster or kubeconfig): {err}");
                return ExitCode::FAILURE;
            }
        };
        match settings.watch_namespaces.as_slice() {
            [] => {
                tracing::info!(namespace = %settings.namespace, "driftwarden operator starting, watching the cluster")
            }
            watched => tracing::info!(
                namespace = %settings.namespace,
                watched = %watched.join(","),
                "driftwarden operator starting, watching only these namespaces: ClusterDriftPolicies, \
                 RemediationCampaigns and cluster-scoped kinds are not watched"
            ),
        }
        let options = RunOptions {
            leader: args.leader_elect.then(|| LeaderSettings::new(&settings.namespace, &args.lease_name)),
            health_address: Some(args.health_address),
            settings,
        };
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop.send(true);
        });
        let allowed = &args.notification_allowed_cidrs;
        if !allowed.is_empty() {
            let blocks: Vec<String> = allowed.iter().map(Cidr::to_string).collect();
            tracing::info!(allowed = %blocks.join(","), "notification sinks may use these restricted addresses");
        }
        let notify = NotifySettings { addresses: SinkAddressPolicy::allowing(allowed.clone()), ..Default::default() };
        let services = Services::with_notify(client.clone(), notify);
        match supervise(client, options, services, stopped).await {
            Ok(()) => {
                tracing::info!("driftwarden operator stopped");
                ExitCode::SUCCESS
            }
            Err(err) => {
                tracing::error!(category = err.category(), "driftwarden operator failed: {err}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The namespaces to watch, trimmed, without empty names or repeats, in the order given.
fn watch_namespaces(given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in given.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Resolves on SIGTERM (how Kubernetes stops a pod) or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn watch_namespaces_are_repeatable_comma_separated_and_deduplicated() {
        let cli = Cli::try_parse_from([
            "run",
            "--watch-namespace=shop",
            "--watch-namespace",
            "batch,shop",
            "--watch-namespace= ",
        ])
        .unwrap();
        assert_eq!(watch_namespaces(&cli.run.watch_namespaces), ["shop", "batch"]);
        let cli = Cli::try_parse_from(["run"]).unwrap();
        assert!(watch_namespaces(&cli.run.watch_namespaces).is_empty(), "no flag: the whole cluster");
    }

    #[test]
    fn the_exception_cap_defaults_to_90_days_and_is_bounded() {
        let cli = Cli::try_parse_from(["run"]).unwrap();
        assert_eq!(cli.run.max_exception_duration, crate::api::exception::DEFAULT_INSTALLATION_CAP);
        let cli = Cli::try_parse_from(["run", "--max-exception-duration=720h"]).unwrap();
        assert_eq!(cli.run.max_exception_duration, Duration::from_secs(720 * 3600));
        for (bad, says) in [("8761h", "8760h"), ("0s", "more than 0"), ("90d", "90d")] {
            let error = Cli::try_parse_from(["run", "--max-exception-duration", bad]).err().expect(bad).to_string();
            assert!(error.contains("--max-exception-duration") && error.contains(says), "{bad}: {error}");
        }
    }

    #[test]
    fn allowed_notification_blocks_are_comma_separated_and_a_bad_one_stops_the_start() {
        let cli = Cli::try_parse_from(["run", "--notification-allowed-cidrs", "127.0.0.0/8,fd00::/8"]).unwrap();
        let blocks: Vec<String> = cli.run.notification_allowed_cidrs.iter().map(ToString::to_string).collect();
        assert_eq!(blocks, ["127.0.0.0/8", "fd00::/8"]);
        assert!(Cli::try_parse_from(["run"]).unwrap().run.notification_allowed_cidrs.is_empty());
        let error = Cli::try_parse_from(["run", "--notification-allowed-cidrs", "127.0.0.0/8,10.0.0.0/40"])
            .err()
            .expect("a prefix longer than 32 is refused");
        let shown = error.to_string();
        assert!(
            shown.contains("--notification-allowed-cidrs")
                && shown
                    .contains("\"10.0.0.0/40\" is not a CIDR block: the prefix length must be a number from 0 to 32"),
            "{shown}"
        );
    }
    #[test]
    fn admission_is_off_by_default_and_exempt_users_are_listed() {
        let cli = Cli::try_parse_from(["run"]).unwrap();
        assert!(!cli.run.admission && cli.run.admission_exempt_users.is_empty());
        assert!(cli.run.admission_exempt_groups.is_empty(), "the default (system:masters) comes from the settings");
        let cli = Cli::try_parse_from([
            "run",
            "--admission",
            "--admission-exempt-user=system:serviceaccount:dw:driftwarden,system:serviceaccount:argocd:app",
            "--admission-exempt-user",
            "ci-bot",
            "--admission-exempt-group=platform-admins",
        ])
        .unwrap();
        assert!(cli.run.admission);
        assert_eq!(
            cli.run.admission_exempt_users,
            ["system:serviceaccount:dw:driftwarden", "system:serviceaccount:argocd:app", "ci-bot"]
        );
        assert_eq!(cli.run.admission_exempt_groups, ["platform-admins"]);
    }

    #[test]
    fn appliers_default_to_the_gitops_tools_and_helm_and_a_list_replaces_them() {
        let cli = Cli::try_parse_from(["run"]).unwrap();
        assert!(cli.run.appliers.is_empty(), "the default comes from the settings");
        let cli =
            Cli::try_parse_from(["run", "--appliers=argocd-controller,platform-bot", "--appliers", "helm"]).unwrap();
        assert_eq!(cli.run.appliers, ["argocd-controller", "platform-bot", "helm"]);
        let defaults = crate::operator::OperatorSettings::default().appliers;
        for manager in
            ["argocd-controller", "argocd-application-controller", "kustomize-controller", "helm-controller", "helm"]
        {
            assert!(defaults.iter().any(|d| d == manager), "{manager} is a default applier");
        }
    }

    #[test]
    fn the_tenancy_flags_are_off_by_default_and_a_bad_default_account_stops_the_start() {
        let cli = Cli::try_parse_from(["run"]).unwrap();
        assert_eq!((cli.run.default_service_account, cli.run.require_service_account), (None, false));
        let cli = Cli::try_parse_from(["run", "--require-service-account", "--default-service-account=fixer"]).unwrap();
        assert_eq!(
            (cli.run.default_service_account.as_deref(), cli.run.require_service_account),
            (Some("fixer"), true)
        );
        let cli = Cli::try_parse_from(["run", "--require-service-account=false"]).unwrap();
        assert!(!cli.run.require_service_account);
        let error =
            Cli::try_parse_from(["run", "--default-service-account", "Fixer"]).err().expect("refused").to_string();
        assert!(
            error.contains("--default-service-account") && error.contains("\"Fixer\" is not a ServiceAccount name"),
            "{error}"
        );
    }
}
