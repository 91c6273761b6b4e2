//! Admission outside the store lock, with optimistic concurrency.
//!
//! A write path computes its write under the lock as a [`Planned`]: what admission sees,
//! the stored objects the computation read (its [`Basis`]), and how to commit it. When
//! admission has something to evaluate, the lock is released for the evaluation and
//! taken again to commit, which happens only if the write still holds:
//! - nothing was written meanwhile (the store's resourceVersion is unchanged), or no
//!   object of the basis changed (each is the very object it was);
//! - otherwise the write is computed again, and committed if admission would see exactly
//!   what it admitted; if not, the new write is admitted in turn, at most
//!   [`ATTEMPTS`] times, and then the request gets 409 Conflict.
//!
//! A recomputed write fails as it would have under the lock all along: an update that
//! names the resourceVersion it read gets 409 once another write changed the object, a
//! create raced by another create gets AlreadyExists, a patch is applied again to the
//! new object. Warnings and audit annotations are noted once, from the verdict the
//! request ends with.

use std::sync::{Arc, MutexGuard};

use serde_json::Value;

use super::{Admission, Admitted, ObjectView, PendingWrite, Prepared, Requester, Verdict};
use crate::error::ApiError;
use crate::store::Store;
use crate::store::key::ObjectKey;
use crate::store::state::State;

/// How many times a write is admitted before it gives up with 409 Conflict, when what it
/// was computed from keeps changing while admission evaluates it.
pub const ATTEMPTS: usize = 8;

/// The commit of a planned write, run under the store lock.
type Commit<T> = Box<dyn FnOnce(&mut State) -> Result<T, ApiError>>;

/// A write computed under the store lock and not yet committed.
pub struct Planned<T> {
    /// What admission sees: one write per object (a deletecollection deletes several;
    /// a delete of an object already being deleted none).
    writes: Vec<PendingWrite>,
    /// The stored objects the computation read.
    basis: Basis,
    /// Stores the write and answers the request's result.
    commit: Commit<T>,
}

impl<T> Planned<T> {
    /// A planned write: `writes` for admission, computed from `basis`, stored by `commit`.
    pub fn new(
        writes: Vec<PendingWrite>,
        basis: Basis,
        commit: impl FnOnce(&mut State) -> Result<T, ApiError> + 'static,
    ) -> Self {
        Planned { writes, basis, commit: Box::new(commit) }
    }
}

/// The stored objects (or their absence) a write was computed from, by key; `None` when
/// the computation read more than can be listed (a collection), so that only an
/// unchanged store proves the write still holds.
pub struct Basis(Option<Vec<(ObjectKey, Option<Arc<Value>>)>>);

impl Basis {
    /// The objects at `keys` as they are stored now.
    pub fn of(state: &State, keys: impl IntoIterator<Item = ObjectKey>) -> Self {
        Basis(Some(keys.into_iter().map(|key| (key.clone(), state.get(&key).cloned())).collect()))
    }

    /// A basis that holds only while nothing at all is written.
    pub fn whole_store() -> Self {
        Basis(None)
    }

    /// Whether every object of the basis is still the one the write was computed from.
    fn holds(&self, state: &State) -> bool {
        let Some(reads) = &self.0 else { return false };
        reads.iter().all(|(key, read)| match (state.get(key), read) {
            (Some(now), Some(then)) => Arc::ptr_eq(now, then),
            (None, None) => true,
            _ => false,
        })
    }
}

/// Admission's answer for each write of a plan: decided under the lock, or to evaluate.
enum Pending {
    Decided(Verdict),
    Evaluate(Box<dyn super::Evaluation>),
}

/// The verdicts of a plan's writes, in order: their notes, up to the first denial.
fn combine(verdicts: impl IntoIterator<Item = Verdict>) -> (Admitted, Option<ApiError>) {
    let mut notes = Admitted::default();
    for verdict in verdicts {
        notes.warnings.extend(verdict.notes.warnings);
        notes.audit_annotations.extend(verdict.notes.audit_annotations);
        if verdict.denial.is_some() {
            return (notes, verdict.denial);
        }
    }
    (notes, None)
}

/// Whether a recomputed write is exactly the one admitted.
fn same_writes(admitted: &[Arc<PendingWrite>], again: &[PendingWrite]) -> bool {
    admitted.len() == again.len() && admitted.iter().zip(again).all(|(a, b)| **a == *b)
}

/// 409 Conflict for a write whose basis kept changing while it was admitted.
fn unsettled(writes: &[Arc<PendingWrite>]) -> ApiError {
    let why =
        format!("the object changed while admission evaluated the write, {ATTEMPTS} times in a row; please try again");
    match writes.first() {
        Some(write) => ApiError::conflict(&write.kind.group_resource(), &write.name, &why),
        None => ApiError::new(crate::error::Reason::Conflict, format!("Operation cannot be fulfilled: {why}")),
    }
}

impl Store {
    /// Runs a write: `compute` plans it under the store lock (again, when what it read
    /// changed while admission evaluated it); the plan is committed once admitted.
    pub(in crate::store) fn admitted_write<T>(
        &self,
        requester: Option<&Requester>,
        mut compute: impl FnMut(&mut State) -> Result<Planned<T>, ApiError>,
    ) -> Result<T, ApiError> {
        let mut state = self.lock();
        let mut planned = compute(&mut state)?;
        let admission = state.admission.get().cloned();
        let (Some(admission), Some(requester)) = (admission, requester) else {
            return commit(planned, Vec::new(), &mut state);
        };
        let mut last = Vec::new();
        for _ in 0..ATTEMPTS {
            let writes: Vec<Arc<PendingWrite>> =
                std::mem::take(&mut planned.writes).into_iter().map(Arc::new).collect();
            let pending = prepare(admission.as_ref(), &state, &writes, requester);
            if pending.iter().all(|p| matches!(p, Pending::Decided(_))) {
                let (notes, denial) = combine(pending.into_iter().filter_map(|p| match p {
                    Pending::Decided(verdict) => Some(verdict),
                    Pending::Evaluate(_) => None,
                }));
                requester.note(notes);
                return match denial {
                    Some(denial) => Err(denial),
                    None => commit(planned, writes, &mut state),
                };
            }
            let rv = state.rv;
            drop(state);
            let (notes, denial) = combine(pending.into_iter().map(|p| match p {
                Pending::Decided(verdict) => verdict,
                Pending::Evaluate(evaluation) => evaluation.evaluate(),
            }));
            if let Some(denial) = denial {
                requester.note(notes);
                return Err(denial);
            }
            state = self.lock();
            if state.rv == rv || planned.basis.holds(&state) {
                requester.note(notes);
                return commit(planned, writes, &mut state);
            }
            let again = match compute(&mut state) {
                Ok(again) => again,
                Err(e) => {
                    requester.note(notes);
                    return Err(e);
                }
            };
            if same_writes(&writes, &again.writes) {
                requester.note(notes);
                return commit(again, writes, &mut state);
            }
            last = writes;
            planned = again;
        }
        Err(unsettled(&last))
    }
}

/// Prepares each write of a plan under the lock.
fn prepare(
    admission: &dyn Admission,
    state: &MutexGuard<'_, State>,
    writes: &[Arc<PendingWrite>],
    requester: &Requester,
) -> Vec<Pending> {
    writes
        .iter()
        .map(|write| match admission.prepare(ObjectView::new(state), write, &requester.user) {
            Prepared::Admitted => Pending::Decided(Verdict::default()),
            Prepared::Decided(verdict) => Pending::Decided(verdict),
            Prepared::Evaluate(evaluation) => Pending::Evaluate(evaluation),
        })
        .collect()
}

/// Commits `planned` once neither it nor admission holds a handle on its objects any
/// more, so that the commit can take them without copying.
fn commit<T>(planned: Planned<T>, admitted: Vec<Arc<PendingWrite>>, state: &mut State) -> Result<T, ApiError> {
    let Planned { writes, basis, commit } = planned;
    drop((writes, basis, admitted));
    commit(state)
}
