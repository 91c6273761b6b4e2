//! A compiled policy's templates and ignore rules, each with what it governs and where it
//! is written: what a ValidatingAdmissionPolicy generated from the policy is made of.

use serde_json::Value;

use super::CompiledPolicy;
use crate::api::TargetMatch;
use crate::engine::pointer::PathPattern;
use crate::keys::ObjectKey;

/// A template of a policy, as [`CompiledPolicy::parts`] hands it out.
#[derive(Debug, Clone)]
pub struct TemplatePart<'p> {
    /// Where it is written: `spec.resources[0]`, `spec.baselines[1].template`.
    pub field: &'p str,
    /// How drifts it finds name it ([`super::SourcedDrifts::source`]).
    pub source: String,
    pub governs: Governs<'p>,
    pub template: &'p Value,
}

/// What a template governs.
#[derive(Debug, Clone, Copy)]
pub enum Governs<'p> {
    /// The one object a resource declares.
    Resource(&'p ObjectKey),
    /// Every object a baseline's match selects.
    Baseline(&'p TargetMatch),
}

/// An ignore rule of a policy, as [`CompiledPolicy::parts`] hands it out.
#[derive(Debug, Clone, Copy)]
pub struct IgnorePart<'p> {
    pub paths: &'p [PathPattern],
    pub managers: &'p [String],
    /// The objects it applies to; `None`: every object the policy governs.
    pub target: Option<&'p TargetMatch>,
}

impl CompiledPolicy {
    /// Every template of the policy with what it governs and where it is written, and
    /// every ignore rule (its paths, its managers, and the objects it applies to): what a
    /// ValidatingAdmissionPolicy generated from the policy is made of.
    pub fn parts(&self) -> (Vec<TemplatePart<'_>>, Vec<IgnorePart<'_>>) {
        let resources = self.resources.iter().map(|r| TemplatePart {
            field: &r.field,
            source: r.label(),
            governs: Governs::Resource(&r.key),
            template: &r.template,
        });
        let baselines = self.baselines.iter().map(|b| TemplatePart {
            field: &b.field,
            source: b.label.clone(),
            governs: Governs::Baseline(&b.target),
            template: &b.template,
        });
        let ignore = self
            .ignore
            .iter()
            .map(|i| IgnorePart { paths: &i.paths, managers: &i.managers, target: i.target.as_ref() })
            .collect();
        (resources.chain(baselines).collect(), ignore)
    }
}
