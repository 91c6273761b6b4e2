//! Sharding: several replicas share the governed objects, each object acted on by exactly
//! one replica at a time.
//!
//! # Objects to shards
//! Objects are divided into `N` shards by consistent hashing of their identity (API group,
//! kind, namespace, name): [`shard_of`], [`shard_of_key`]. The hash is fixed across
//! processes, versions and architectures; changing `N` to `N + 1` moves about
//! `1 / (N + 1)` of the objects.
//!
//! # Shards to replicas
//! Each shard is held through its own `coordination.k8s.io/v1` Lease, `<base>-shard-<i>`
//! in the operator's namespace; each replica also keeps a membership Lease,
//! `<base>-member-<identity>`, annotated with its shard count. All are labelled
//! `driftwarden.dev/lease-set=<base>`. A [`ShardManager`] per replica watches them (one
//! watch on that label: a freed or expired Lease is noticed at once, nothing is polled)
//! and publishes the [`Assignment`] of shards this replica may act on.
//!
//! - **Fair share.** With `L` live replicas (unexpired membership Leases), a replica takes
//!   free shards while it holds fewer than `ceil(N / L)`; it gives up shards above that,
//!   and one at `ceil(N / L)` when another live replica holds fewer than `floor(N / L)`,
//!   which then takes it. A replica at its share leaves free shards to those below theirs,
//!   but takes any shard that stayed free for a renew period, so that no shard waits for
//!   a replica that does not come.
//! - **Taking** is a write conditioned on the `resourceVersion` seen (or a create), so of
//!   two replicas racing for a shard one wins. A free Lease is taken at once. A held Lease
//!   counts as expired a Lease duration after *this* replica first saw its current version
//!   (not by the holder's `renewTime`, so clock offsets between nodes do not matter).
//! - **Giving up** (rebalancing, or [`ShardManager::step_down`]): the shard leaves the
//!   published `Assignment` first; its Lease is freed after
//!   [`handoff_delay`](ShardSettings::handoff_delay) (at once on step-down), and another
//!   replica takes it as soon as its watch shows the free Lease.
//! - **Renewal**: every held Lease, and the membership Lease, every
//!   [`renew_period`](ShardSettings::renew_period), conditioned on the version this
//!   replica wrote last. A conflict means another replica wrote the Lease: the shard is
//!   lost at once. A failed renewal takes the shard out of the `Assignment` at once; a
//!   later successful one brings it back.
//! - **Disagreement on `N`**: while a live replica announces another shard count (a
//!   rollout that changes the shard count), objects would map to shards differently, so the
//!   replica acts on nothing and frees its shards until the replicas agree.
//!
//! # Timings (production defaults of [`ShardSettings::new`])
//! Lease duration 10 s, renewal every 2 s, safety margin 3 s, handoff delay 2 s. A replica
//! acts on a shard at most `duration - margin` = 7 s after the start of its last
//! successful renewal (three renewals may fail before it stops). A dead replica's shards
//! are taken within [`ShardSettings::failover_bound`] = 12 s (the term, plus a renew
//! period when the survivors are at their share), under the 15 s required.
//!
//! # Why no shard is acted on by two replicas
//! A replica acts on shard `s` only while `now < t + duration - margin`, where `t` is
//! when it *sent* its last successful write of `s`'s Lease (the API server wrote it at
//! some moment after `t`); [`Assignment::until`] carries that bound to the consumer, so it
//! holds even if the manager's task is late. Another replica takes `s` only by a write
//! conditioned on the version it saw: either the Lease was free — freed by the holder
//! after it stopped acting — or it saw the holder's last version, first at some moment
//! after that version was written (so after `t`), and waited a full duration from then.
//! Its write therefore succeeds no earlier than `t + duration`, a margin after the holder
//! stopped; and it fails if the holder renewed in between. The margin covers differences
//! in clock rates between nodes and actions under way when acting stops.
//!
//! # Pieces
//! - [`hash`]: objects to shards.
//! - [`view`]: what a replica has seen of the Leases, and since when.
//! - [`table`]: every decision, without IO, tested with a frozen clock.
//! - [`manager`]: the task that watches, writes and publishes.
//!
//! RBAC: `get`, `list`, `watch`, `create`, `patch` and `delete` on `leases` in the
//! operator's namespace.

pub mod assignment;
pub mod hash;
pub mod manager;
pub mod settings;
pub mod table;
pub mod view;

pub use assignment::Assignment;
pub use hash::{shard_of, shard_of_key};
pub use manager::ShardManager;
pub use settings::{MAX_SHARDS, ShardError, ShardSettings};
