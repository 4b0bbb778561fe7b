//! The state a [`ReplicatedStore`](super::ReplicatedStore) and its clones share
//! ([`Inner`]), and the plain data it holds: the record of what members owe, per key
//! ([`Owed`]), and the order member operations run in ([`Queues`]); each member's health
//! is in `health.rs`. This file defines what the state is, not what it does: the
//! behaviour is in `impl Inner` blocks beside the code that uses it (the record kept in
//! `record.rs`, the order and the background in `background.rs`, member calls in
//! `call.rs`, writes in `write.rs`, reads in `read.rs`). [`generic`] makes the store's own
//! errors.

use super::health::{Breaker, Health};
use super::journal::Journal;
use super::policy::{ListPolicy, Missed, ReadPolicy, WritePolicy};
use futures::future::{BoxFuture, Shared};
use object_store::path::Path;
use object_store::{Error, ObjectStore};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;

/// What every handle of one store shares: its members and policies, the record and its
/// journal, the order of member operations, and the members' health.
pub(super) struct Inner {
    pub(super) members: Vec<(String, Arc<dyn ObjectStore>)>,
    pub(super) write: WritePolicy,
    pub(super) read: ReadPolicy,
    pub(super) list: ListPolicy,
    /// What members missed or still owe, per key (shared by every handle a builder
    /// made from this one, as the journal, the queues and the members' health are).
    pub(super) missed: Arc<Mutex<Record>>,
    /// Writes numbered so far (records carry their write's number).
    pub(super) writes: Arc<AtomicU64>,
    /// Member operations running, per key, and in the background.
    pub(super) queues: Arc<Queues>,
    /// Where `missed` is kept durably, when the store has a journal.
    pub(super) journal: Option<Arc<Journal>>,
    /// Each member's health (same order as `members`).
    pub(super) health: Arc<[Health]>,
    /// When members are skipped.
    pub(super) breaker: Option<Breaker>,
    /// How long a member call may take before it counts as failed.
    pub(super) member_timeout: Option<Duration>,
    /// This state itself (for background work a call starts: a hand-off).
    pub(super) me: Weak<Inner>,
}

pub(super) fn generic(message: String) -> Error {
    Error::Generic {
        store: "ReplicatedStore",
        source: message.into(),
    }
}

/// What the record holds for one key: the operation some members missed (or still
/// owe), which members, and the number of the write that recorded it (0: loaded from the
/// journal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owed {
    pub(crate) what: Missed,
    pub(crate) members: BTreeSet<usize>,
    pub(crate) write: u64,
    /// Members whose operation on the key was given up, and when: it may still land, so
    /// they count as behind (later writes they apply do not clear them) until a repair at
    /// least [`GIVEN_UP_GRACE`] later. Kept in memory only: they are not behind on any
    /// write (the journal records what members missed), only uncertain.
    pub(crate) given_up: BTreeMap<usize, std::time::Instant>,
}

impl Owed {
    /// The members reads and repair treat as behind on the key: those that missed its
    /// last operation, and those whose operation on it was given up.
    pub(crate) fn behind(&self) -> BTreeSet<usize> {
        let mut behind = self.members.clone();
        behind.extend(self.given_up.keys().copied());
        behind
    }
}

/// How long after a member's operation was given up it may still be applied: until
/// then the member stays recorded as behind on its keys.
pub const GIVEN_UP_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// The record: what members owe, per key.
pub(super) type Record = BTreeMap<Path, Owed>;

/// Resolves when an operation ended (answered, or was dropped) and every operation
/// before it in the order did.
pub(super) type Ended = Shared<BoxFuture<'static, ()>>;

/// The order operations run in: per member and key, the end of that member's latest
/// operation on the key; per key, the end of the latest write's judgment (its record
/// made).
#[derive(Default)]
pub(super) struct Order {
    pub(super) members: HashMap<(usize, Path), Ended>,
    pub(super) judged: HashMap<Path, Ended>,
}

/// What runs, per member.
#[derive(Default)]
pub(super) struct Queues {
    pub(super) order: Mutex<Order>,
    /// Operations running in the background, per member.
    pub(super) running: Mutex<HashMap<usize, usize>>,
    /// Woken whenever a background operation or hand-off ends.
    pub(super) ended: Notify,
}
