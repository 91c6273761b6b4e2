//! `kubectl driftwarden except TARGET`: a DriftException approved by the caller, for an
//! object (`kind/name`) or a Finding's asset (`finding/NAME`).

use std::time::Duration;

use clap::Args;
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, ApiResource, DynamicObject, PostParams};

use super::PluginError;
use super::cluster::{Cluster, may, request_error, whoami};
use super::target::{self, Reference};
use crate::api::exception::{DEFAULT_INSTALLATION_CAP, DEFAULT_MAX_DURATION};
use crate::api::policy::{MAX_PATH_LENGTH, MAX_PATHS};
use crate::api::{DriftException, DriftExceptionSpec, Finding, ObjectRef, TargetMatch};
use crate::engine::pointer::PathPattern;

/// The chart's ClusterRole that grants approving DriftExceptions.
pub const EXCEPTION_APPROVER_ROLE: &str = "driftwarden-exception-approver";

/// Arguments of `except`.
#[derive(Args, Debug)]
pub struct ExceptArgs {
    /// What the exception covers: an object as RESOURCE/NAME (`configmap/settings`,
    /// `deployment.apps/web`) in the current namespace, or `finding/NAME` for a Finding's
    /// asset and drifted paths.
    #[arg(value_name = "TARGET")]
    pub target: String,
    /// A field the exception covers, as a JSON pointer (`/spec/replicas`; `*` for any key or
    /// item); repeat for several. Default: a Finding's drifted paths, or every drifted field
    /// of an object.
    #[arg(long = "path", value_name = "POINTER")]
    pub paths: Vec<String>,
    /// The change or risk ticket that records the approval (an issue key or a URL).
    #[arg(long)]
    pub ticket: String,
    /// How long the exception lasts: days (`14d`) or hours (`36h`), at most 90 days.
    #[arg(long = "for", value_name = "DURATION")]
    pub lasts: String,
    /// Why the deviation is acceptable, and what compensates for it.
    #[arg(long)]
    pub justification: String,
    /// The exception's name (default: generated from the target).
    #[arg(long)]
    pub name: Option<String>,
    /// Print the DriftException as YAML instead of creating it.
    #[arg(long)]
    pub dry_run: bool,
    /// The operator's namespace, where an exception for a cluster-scoped object lives (only
    /// one there may cover it).
    #[arg(long, env = "DRIFTWARDEN_OPERATOR_NAMESPACE", default_value = "driftwarden-system")]
    pub operator_namespace: String,
}

/// Reads `--for`: a whole number of days (`14d`) or hours (`36h`), or both (`1d12h`), more
/// than zero and at most `cap`.
pub fn parse_lasts(text: &str, cap: Duration) -> Result<Duration, PluginError> {
    let invalid = |why: &str| PluginError::Invalid(format!("--for {text:?}: {why}"));
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        match c {
            '0'..='9' => digits.push(c),
            'd' | 'h' if !digits.is_empty() => {
                let unit: u64 = if c == 'd' { 86_400 } else { 3_600 };
                let amount: u64 = digits.parse().map_err(|_| invalid("too long"))?;
                total =
                    amount.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(|| invalid("too long"))?;
                digits.clear();
            }
            _ => return Err(invalid("write a number of days or hours, such as 14d, 36h or 1d12h")),
        }
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(invalid("write a number of days or hours, such as 14d, 36h or 1d12h"));
    }
    if total == 0 {
        return Err(invalid("an exception must last longer than zero"));
    }
    let lasts = Duration::from_secs(total);
    if lasts > cap {
        return Err(invalid(&format!(
            "a DriftException lasts at most {} days ({}h, its default maxDuration); ask for a shorter one and renew it \
             when it ends, or fix the drift",
            cap.as_secs() / 86_400,
            cap.as_secs() / 3_600
        )));
    }
    Ok(lasts)
}

/// Checks the paths as the CRD does: JSON pointers of non-empty segments, `~` only as `~0`
/// or `~1`, at most 64 of at most 512 characters.
pub fn check_paths(paths: &[String]) -> Result<(), PluginError> {
    if paths.len() > MAX_PATHS {
        return Err(PluginError::Invalid(format!("at most {MAX_PATHS} --path, not {}", paths.len())));
    }
    for path in paths {
        PathPattern::parse(path).map_err(|e| PluginError::Invalid(format!("--path: {e}")))?;
        if path.chars().count() > MAX_PATH_LENGTH {
            return Err(PluginError::Invalid(format!("--path {path:?} is longer than {MAX_PATH_LENGTH} characters")));
        }
    }
    Ok(())
}

/// Checks a text field the CRD bounds and requires to hold more than spaces.
fn check_text(flag: &str, value: &str, most: usize) -> Result<(), PluginError> {
    match value.trim().is_empty() || value.chars().count() > most {
        true => Err(PluginError::Invalid(format!("{flag} must hold 1 to {most} characters, not only spaces"))),
        false => Ok(()),
    }
}

/// What the exception is for, once TARGET is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Covered {
    /// The object.
    pub target: ObjectRef,
    /// Where the exception lives: the target's namespace, or the operator's for a
    /// cluster-scoped object.
    pub namespace: String,
    /// The paths it covers (none: every drifted field).
    pub paths: Vec<String>,
}

/// The DriftException: `approvedBy` the caller, approved now, expiring `lasts` later.
pub fn exception(
    covered: &Covered,
    name: Option<&str>,
    approved_by: &str,
    args: &ExceptArgs,
    now: Timestamp,
    lasts: Duration,
) -> Result<DriftException, PluginError> {
    let now = Timestamp::from_second(now.as_second()).expect("whole seconds of a valid timestamp");
    let expires = SignedDuration::try_from(lasts).ok().and_then(|d| now.checked_add(d).ok()).ok_or_else(|| {
        PluginError::Invalid(format!("--for {}: the expiry is past what a timestamp can hold", args.lasts))
    })?;
    let spec = DriftExceptionSpec {
        target: TargetMatch {
            api_version: covered.target.api_version.clone(),
            kind: covered.target.kind.clone(),
            names: vec![covered.target.name.clone()],
            ..Default::default()
        },
        paths: covered.paths.clone(),
        justification: args.justification.clone(),
        approved_by: approved_by.to_string(),
        ticket: args.ticket.clone(),
        approved_at: Time(now),
        expires_at: Time(expires),
        max_duration: DEFAULT_MAX_DURATION.to_string(),
    };
    let mut exception = DriftException::new("", spec);
    exception.metadata = ObjectMeta {
        name: name.map(str::to_string),
        generate_name: name.is_none().then(|| generate_name(&covered.target)),
        namespace: Some(covered.namespace.clone()),
        ..Default::default()
    };
    Ok(exception)
}

/// A name prefix from the target: `configmap-settings-`, within the 253 characters of a
/// name with the five the API server adds.
fn generate_name(target: &ObjectRef) -> String {
    let mut prefix: String = format!("{}-{}", target.kind.to_ascii_lowercase(), target.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c.to_ascii_lowercase() } else { '-' })
        .take(240)
        .collect();
    prefix.truncate(prefix.trim_end_matches(['-', '.']).len());
    prefix.push('-');
    prefix
}

/// Creates the exception, or prints it with `--dry-run`.
pub async fn run(cluster: &Cluster, args: &ExceptArgs) -> Result<String, PluginError> {
    let lasts = parse_lasts(&args.lasts, DEFAULT_INSTALLATION_CAP)?;
    check_paths(&args.paths)?;
    check_text("--ticket", &args.ticket, 512)?;
    check_text("--justification", &args.justification, 4096)?;
    let reference = Reference::parse(&args.target)?;
    if reference.resource.is_none() {
        return Err(PluginError::Invalid(format!(
            "TARGET {:?} names no resource: write RESOURCE/NAME (configmap/{0}) or finding/NAME",
            args.target
        )));
    }
    let covered = resolve(cluster, &reference, args).await?;
    let user = whoami(&cluster.client).await?;
    let ns = &covered.namespace;
    let mut refusals = Vec::new();
    for verb in ["approve", "create"] {
        if !may(&cluster.client, verb, "driftexceptions", ns, None).await? {
            refusals.push(verb);
        }
    }
    let refused = (!refusals.is_empty()).then(|| {
        format!(
            "you ({user}) may not {} driftexceptions in namespace {ns}: exceptions are approved by holders of the \
             ClusterRole {EXCEPTION_APPROVER_ROLE}; ask your platform team for a RoleBinding to it in {ns}, or ask an \
             approver to run this command",
            refusals.join(" or ")
        )
    });
    let exception = exception(&covered, args.name.as_deref(), &user, args, Timestamp::now(), lasts)?;
    if args.dry_run {
        if let Some(refused) = &refused {
            eprintln!("warning: {refused}");
        }
        return Ok(serde_yaml::to_string(&exception).expect("a DriftException serializes"));
    }
    if let Some(refused) = refused {
        return Err(PluginError::Refused(refused));
    }
    let api: Api<DriftException> = Api::namespaced(cluster.client.clone(), ns);
    let hint = format!("creating it needs the ClusterRole {EXCEPTION_APPROVER_ROLE} in namespace {ns}");
    let created = api
        .create(&PostParams::default(), &exception)
        .await
        .map_err(|e| request_error(&format!("cannot create the DriftException in namespace {ns}"), e, &hint))?;
    let name = created.metadata.name.unwrap_or_default();
    let paths = match covered.paths.is_empty() {
        true => "every drifted field".to_string(),
        false => covered.paths.join(", "),
    };
    Ok(format!(
        "driftexception/{name} created in namespace {ns}: {} {} ({paths}) is excepted until {} (approved by {user}, \
         ticket {})\n",
        covered.target.kind, covered.target.name, created.spec.expires_at.0, created.spec.ticket
    ))
}

/// What TARGET names: a Finding's asset (and its paths, unless `--path` is given), or an
/// object of a kind the API server serves.
async fn resolve(cluster: &Cluster, reference: &Reference, args: &ExceptArgs) -> Result<Covered, PluginError> {
    let ns = &cluster.namespace;
    if reference.is_finding() {
        let api: Api<Finding> = Api::namespaced(cluster.client.clone(), ns);
        let name = &reference.name;
        let finding = api.get(name).await.map_err(|e| request_error(&format!("finding {ns}/{name}"), e, ""))?;
        let asset = finding.spec.asset.clone();
        // A namespaced asset's exception lives in its namespace (where its Finding lives);
        // a cluster-scoped asset's in the operator's, where its Finding lives too.
        let namespace = asset.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| ns.clone());
        let paths = match args.paths.is_empty() {
            true => finding.status.map(|s| s.paths).unwrap_or_default(),
            false => args.paths.clone(),
        };
        check_paths(&paths)?;
        let target = ObjectRef { uid: None, ..asset };
        return Ok(Covered { target, namespace, paths });
    }
    let resource = reference.resource.as_deref().unwrap_or_default();
    let kinds = target::served_kinds(&cluster.client).await?;
    let kind = target::resolve(&kinds, resource)?;
    let namespace = match kind.namespaced {
        true => ns.clone(),
        false => args.operator_namespace.clone(),
    };
    let target = ObjectRef {
        api_version: kind.api_version(),
        kind: kind.kind.clone(),
        namespace: kind.namespaced.then(|| ns.clone()),
        name: reference.name.clone(),
        uid: None,
    };
    // An exception may name an object that does not exist yet (a missing object is drift
    // too): say so, and go on.
    let resource = ApiResource {
        group: kind.group.clone(),
        version: kind.version.clone(),
        api_version: kind.api_version(),
        kind: kind.kind.clone(),
        plural: kind.plural.clone(),
    };
    let api: Api<DynamicObject> = match kind.namespaced {
        true => Api::namespaced_with(cluster.client.clone(), ns, &resource),
        false => Api::all_with(cluster.client.clone(), &resource),
    };
    if let Ok(None) = api.get_opt(&reference.name).await {
        eprintln!("note: {} {} does not exist (yet); the exception covers it by name", kind.kind, reference.name);
    }
    Ok(Covered { target, namespace, paths: args.paths.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NINETY_DAYS: Duration = Duration::from_secs(90 * 86_400);

    #[test]
    fn for_takes_days_and_hours_up_to_the_cap() {
        assert_eq!(parse_lasts("14d", NINETY_DAYS).unwrap(), Duration::from_secs(14 * 86_400));
        assert_eq!(parse_lasts("36h", NINETY_DAYS).unwrap(), Duration::from_secs(36 * 3_600));
        assert_eq!(parse_lasts("1d12h", NINETY_DAYS).unwrap(), Duration::from_secs(36 * 3_600));
        assert_eq!(parse_lasts("90d", NINETY_DAYS).unwrap(), NINETY_DAYS);
        assert_eq!(parse_lasts("2160h", NINETY_DAYS).unwrap(), NINETY_DAYS);
        let long = parse_lasts("200d", NINETY_DAYS).unwrap_err();
        assert_eq!(long.exit_code(), 2);
        assert!(long.to_string().contains("at most 90 days (2160h"), "{long}");
        assert!(parse_lasts("91d", NINETY_DAYS).is_err());
        for bad in ["", "14", "d", "14w", "-1d", "1.5d", "14 d", "0d", "0h0d"] {
            assert!(parse_lasts(bad, NINETY_DAYS).is_err(), "{bad:?}");
        }
        // Numbers past what any duration holds are refused, not overflowed.
        for huge in ["99999999999999999999d", "213503982334601d", "18446744073709551615h"] {
            assert!(parse_lasts(huge, NINETY_DAYS).unwrap_err().to_string().contains("--for"), "{huge}");
        }
    }

    #[test]
    fn paths_are_checked_as_the_crd_checks_them() {
        assert!(check_paths(&["/spec/replicas".into(), "/metadata/annotations/example.com~1owner".into()]).is_ok());
        for bad in ["spec/replicas", "/spec//x", "/a~2b"] {
            assert_eq!(check_paths(&[bad.to_string()]).unwrap_err().exit_code(), 2, "{bad}");
        }
        assert!(check_paths(&vec!["/a".to_string(); 65]).is_err());
    }

    fn args() -> ExceptArgs {
        ExceptArgs {
            target: "configmap/settings".into(),
            paths: vec![],
            ticket: "OPS-1".into(),
            lasts: "14d".into(),
            justification: "migrating".into(),
            name: None,
            dry_run: false,
            operator_namespace: "driftwarden-system".into(),
        }
    }

    #[test]
    fn the_exception_is_approved_now_by_the_caller_and_expires_later() {
        let covered = Covered {
            target: ObjectRef {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                namespace: Some("shop".into()),
                name: "settings".into(),
                uid: None,
            },
            namespace: "shop".into(),
            paths: vec!["/data/mode".into()],
        };
        let now: Timestamp = "2026-04-01T10:00:00.750Z".parse().unwrap();
        let made = exception(&covered, None, "alice", &args(), now, Duration::from_secs(14 * 86_400)).unwrap();
        assert_eq!(made.metadata.generate_name.as_deref(), Some("configmap-settings-"));
        assert_eq!(made.metadata.namespace.as_deref(), Some("shop"));
        let value = serde_json::to_value(&made).unwrap();
        assert_eq!(value["spec"]["approvedAt"], "2026-04-01T10:00:00Z");
        assert_eq!(value["spec"]["expiresAt"], "2026-04-15T10:00:00Z");
        assert_eq!(value["spec"]["approvedBy"], "alice");
        assert_eq!(
            value["spec"]["match"],
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "names": ["settings"]})
        );
        assert_eq!(value["spec"]["paths"], serde_json::json!(["/data/mode"]));
        assert_eq!(value["spec"]["maxDuration"], "2160h");
        made.validate_cel().expect("the CRD's rules hold");
        let named = exception(&covered, Some("mine"), "alice", &args(), now, Duration::from_secs(3_600)).unwrap();
        assert_eq!((named.metadata.name.as_deref(), named.metadata.generate_name), (Some("mine"), None));
    }

    #[test]
    fn the_role_named_is_the_chart_s() {
        let template = super::super::approve::APPROVALS_TEMPLATE;
        let defined = template.split("\n---\n").find(|doc| doc.contains(&format!("name: {EXCEPTION_APPROVER_ROLE}\n")));
        let rules = defined.expect("the chart defines the exception approvers' ClusterRole");
        assert!(rules.contains("resources: [\"driftexceptions\"]") && rules.contains("\"approve\"]"), "{rules}");
    }

    #[test]
    fn generated_names_are_names() {
        let target = |kind: &str, name: &str| ObjectRef { kind: kind.into(), name: name.into(), ..Default::default() };
        assert_eq!(generate_name(&target("Deployment", "web")), "deployment-web-");
        assert_eq!(
            generate_name(&target("ClusterRole", "system:aggregate-to-view")),
            "clusterrole-system-aggregate-to-view-"
        );
        let long = generate_name(&target("ConfigMap", &"a".repeat(300)));
        assert!(long.len() <= 248 && long.ends_with("a-"), "{}", long.len());
    }
}
