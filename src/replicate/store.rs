//! [`ReplicatedStore`]: several stores written together and read with fallback.
//!
//! The type, how it is built, and what it reports (its members, its record, its journal,
//! its background work); its shared state is in `state.rs`, its `ObjectStore` operations
//! in `operations.rs`.

use super::health::{Breaker, Health};
use super::journal::{Disk, Journal, JournalDamage, LocalDisk};
use super::policy::{ListPolicy, Missed, ReadPolicy, WritePolicy};
use super::state::{Inner, Owed};
use crate::composite::fmt_members;
use object_store::path::Path;
use object_store::{ObjectStore, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Several member stores written together and read with fallback.
///
/// Writes go to every member, reads to a member that holds the key's last write; what
/// members missed is recorded (and, with a journal, kept across restarts) so that
/// [`super::repair`] converges them. The promise it keeps is stated under
/// *Consistency*, and checked over random concurrent histories (`tests/history.rs`).
///
/// # Consistency
///
/// Within one process (one `ReplicatedStore` value and its clones), each key behaves
/// as it would in a single object store (linearizably), for every operation that was
/// answered: a read after an acknowledged write returns that write or a later one; a
/// read after an acknowledged delete returns `NotFound` or a later write; a conditional
/// write sees every write acknowledged before it; with hedged reads too. An operation
/// that failed may or may not have taken effect (as with any object store); `repair`
/// may complete it. A rename or copy is atomic per member, not across members: a member
/// behind on the source sits it out and is recorded. Across processes sharing members,
/// each process knows only its own record.
///
/// # Writes
///
/// - **put, copy, rename, delete** go to every member at once. The [`WritePolicy`]
///   decides whether the write is acknowledged; if it is not, the error lists every
///   member that failed with its error and every member that applied the write.
/// - **Order.** A write takes its place on every member and for its judgment at once:
///   every member applies the writes to a key in one order, and their records are made
///   in that order; a write given up on a member before it ran there still waits for
///   that member's earlier operations before a later write passes.
/// - **A call given up** (at the member timeout, at the background deadline, or dropped
///   by a caller that stopped waiting) may still be applied by its member later (a
///   server may apply a request its client stopped waiting for; a local write runs on a
///   blocking thread). So the member stays recorded as behind on the keys, whatever
///   later writes it applies, until a repair at least [`super::GIVEN_UP_GRACE`] later:
///   reads do not go to it meanwhile, and repair overwrites what it holds.
/// - **Quorum acknowledgement.** Under `WritePolicy::Quorum(n)` the call returns as soon
///   as `n` members applied the write; members still running finish in the background,
///   each member's operations on one key in order (a member still applying the write
///   applies the next write to the key after it). They are recorded as owing the write
///   until they end, so reads do not go to them. One that fails, or has not ended
///   [`super::BACKGROUND_DEADLINE`] after the acknowledgement, stays recorded for
///   [`super::repair`]. At most [`super::BACKGROUND_PER_MEMBER`] operations of a member
///   run in the background; past that, writes wait for it. [`ReplicatedStore::flush`]
///   waits until none runs. With a journal, a write first waits for the other members
///   as long again as the quorum took, and journals only those still running then (one
///   `fsync`).
/// - A write acknowledged without every member, or refused, leaves members different.
///   Each such key is recorded with the members that missed the operation
///   ([`ReplicatedStore::missed`]); a later write that reaches every member clears it.
///   An operation that **no** member applied records nothing (an older record of the
///   key stays): no member is behind, and [`super::repair`] must not carry out what the
///   caller was told failed. A rename records its target as a missed write and its
///   source as a missed delete for the members that did not apply it, from the same
///   outcome.
///   Without a journal ([`ReplicatedStore::with_journal`]) the record lives in this
///   process's memory: if the process dies, it is lost, and [`super::repair`] still
///   finds every difference by comparing listings, but can then no longer tell a missed
///   delete from a missed write (it restores the object). With one, it survives.
/// - **Copies and renames** carry their source's version: a member recorded as behind on
///   the source does not take part (it would carry an old version) and is recorded as
///   having missed the write. A copy or rename of a key onto itself changes nothing and
///   touches no member (it answers as a rename within one folder does).
/// - **Multipart uploads** start an upload on every member and send each part to each
///   of them. A member that fails to start or to take a part drops out of the upload
///   (its upload is aborted); the part fails once fewer members than the policy needs
///   remain. Completing completes every remaining member's upload, judged by the policy;
///   aborting aborts all. Completion takes its place in each member's order like any
///   write.
/// - **Conditional writes** (`PutMode::Create`, `PutMode::Update`, `copy_if_not_exists`,
///   `rename_if_not_exists`) wait until earlier writes to the key are judged, then are
///   decided by one member that holds the key's last write (a member the breaker skips
///   comes after the others): for a create, the first (the primary, unless the record
///   says it is behind); for an update, the first whose version carries the e-tag given
///   (e-tags are each member's own, and the caller's came from whichever member
///   answered its read; this needs e-tags unique to their member, as S3's, Azure's,
///   GCS's and local folders' are, not object_store's `InMemory` counters). The decider
///   runs the conditional operation; if it refuses (`AlreadyExists`, `Precondition`), so
///   does the replicated store, and nothing else is touched; if it accepts, the same
///   write goes to the other members unconditionally and the policy counts the decider
///   as one success. When no member holds the key's last write (those that do are absent
///   from the configuration), conditional writes to it fail.
/// - The [`PutResult`](object_store::PutResult) returned is the decider's, or the first
///   successful member's.
///
/// # Reads
///
/// - **get, head, get_ranges** first wait until the writes to the key called before
///   them are judged (so that two reads never see a write in flight and then the state
///   before it: a write is judged once its policy is met or every member answered, so
///   without a member timeout a member that hangs holds the reads of the keys it is
///   writing: set one), then go only to members that hold the key's last write or delete
///   (not recorded as owing it), following the [`ReadPolicy`]: `Ordered` tries
///   them in order and moves on at an error or `NotFound`; `Hedged` also moves on when
///   the running members have not answered within the delay. `NotModified` and
///   `Precondition` are answers, not failures: they are returned at once. When every
///   member asked fails: `NotFound` if every one said so, otherwise the first other
///   error. When every member owes the key's last operation, a read first waits for
///   those still applying it in the background; when none holds it then (the members
///   that applied it are absent from the configuration), a missed delete reads as
///   `NotFound` and a missed write is an error, as is a key whose only holders are
///   uncertain (an earlier operation of theirs on it was given up and may still land).
///   A stream already returned does not fall back if its body fails part-way.
/// - **list** and **list_with_offset** follow the [`ListPolicy`]. `First` lists the
///   first member; if it fails before its first entry the next member is listed
///   instead, and if it fails later the next member continues after the last key listed
///   (members must list in key order, as every store stratus builds does). The
///   continuation also lists the subtree below that key, because some servers
///   (SeaweedFS) skip it when the key is also a "folder" (`a` while `a/b` exists). `Merged`
///   merges all members (bounded memory, one pending entry per member), each key once.
///   Either way, each key the record names (some member missed or still applies its
///   last operation) is shown as a read sees it, one `head` each: a key the listed
///   member missed the delete of is left out, one it missed the write of is shown as
///   it is now, one it lacks is added; a key whose last write only members absent from
///   the configuration hold is shown as listed. The record is read when the listing
///   starts: listings are not snapshots (as in S3), and a key written or deleted while
///   a listing runs may or may not be in it.
/// - **list_with_delimiter**: `First` asks members in order until one answers; `Merged`
///   asks all and merges; its objects are corrected as a listing's are.
///
/// # Errors
///
/// Errors keep object_store's kinds when every member agrees on one (a copy of a missing
/// object is `NotFound`), and name the member ([`crate::member_of`]).
#[derive(Clone)]
pub struct ReplicatedStore {
    pub(super) inner: Arc<Inner>,
}

impl ReplicatedStore {
    /// A replicated store over `members` (name, store), the first being the primary; by
    /// default writes need every member, reads are ordered and listings come from the
    /// first member.
    pub fn new(
        members: impl IntoIterator<Item = (String, Arc<dyn ObjectStore>)>,
    ) -> crate::Result<Self> {
        let members: Vec<_> = members.into_iter().collect();
        if members.is_empty() {
            return Err(composition(
                "a replicated store needs at least one member".into(),
            ));
        }
        let mut names = BTreeSet::new();
        for (name, _) in &members {
            if !names.insert(name.as_str()) {
                return Err(composition(format!("member {name:?} appears twice")));
            }
        }
        if let Some((a, b)) = crate::place::first_shared_store(&members) {
            return Err(composition(format!(
                "members {a:?} and {b:?} are one store: it would count as two copies of \
                 every object while holding one"
            )));
        }
        Ok(Self::from(Inner {
            health: members.iter().map(|_| Health::default()).collect(),
            members,
            write: WritePolicy::All,
            read: ReadPolicy::Ordered,
            list: ListPolicy::First,
            missed: Arc::default(),
            writes: Arc::default(),
            queues: Arc::default(),
            journal: None,
            breaker: None,
            member_timeout: None,
            me: Weak::new(),
        }))
    }

    fn from(mut inner: Inner) -> Self {
        Self {
            inner: Arc::new_cyclic(|me| {
                inner.me = me.clone();
                inner
            }),
        }
    }

    pub(super) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// The same store with other policies: what it records, the order its writes run
    /// in and its journal are shared with `self` (two handles of one store never hold
    /// two records of it).
    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            members: self.inner.members.clone(),
            write: self.inner.write,
            read: self.inner.read,
            list: self.inner.list,
            missed: Arc::clone(&self.inner.missed),
            writes: Arc::clone(&self.inner.writes),
            queues: Arc::clone(&self.inner.queues),
            journal: self.inner.journal.clone(),
            health: Arc::clone(&self.inner.health),
            breaker: self.inner.breaker,
            member_timeout: self.inner.member_timeout,
            me: Weak::new(),
        };
        change(&mut inner);
        Self::from(inner)
    }

    /// Set the write policy; a quorum must be between 1 and the number of members.
    pub fn with_write(self, write: WritePolicy) -> crate::Result<Self> {
        if let WritePolicy::Quorum(q) = write {
            let n = self.inner.members.len();
            if q == 0 || q > n {
                return Err(composition(format!(
                    "quorum {q} with {n} members; expected 1 to {n}"
                )));
            }
        }
        Ok(self.rebuild(|inner| inner.write = write))
    }

    /// Keep the record of what members missed in the journal at `path` (a file in a
    /// local folder, created if missing; see the type's documentation), and take up what
    /// it holds: after a restart, the keys members missed before it. One store at a time
    /// holds a journal (a lock on it): a store dropped in this process holds it until its
    /// background calls end, so to open it again at once, [`Self::flush`] the old one
    /// before dropping it. Records of members this store does not have are kept, and
    /// those members owe every write made without them ([`Self::absent_members`]).
    /// Damage found in the journal is reported by [`Self::journal_damage`], not as an
    /// error: the intact records are used.
    pub fn with_journal(self, path: impl AsRef<std::path::Path>) -> crate::Result<Self> {
        self.with_journal_on(Arc::new(LocalDisk), path.as_ref())
    }

    /// [`Self::with_journal`] on `disk`.
    pub(crate) fn with_journal_on(
        self,
        disk: Arc<dyn Disk>,
        path: &std::path::Path,
    ) -> crate::Result<Self> {
        // Every handle of the store must journal: only one that nothing shares yet may
        // take a journal.
        if Arc::strong_count(&self.inner) > 1 || Arc::strong_count(&self.inner.missed) > 1 {
            return Err(composition(format!(
                "cannot open the journal {}: open it before the store is cloned or used",
                path.display()
            )));
        }
        let present = self.inner.members.iter().map(|(n, _)| n.clone()).collect();
        let (journal, pending) = Journal::open(disk, path, present).map_err(|e| {
            crate::Error::composition(
                "replicated store",
                format!("cannot open the journal {}: {e}", path.display()),
            )
        })?;
        let index: BTreeMap<&str, usize> = self
            .inner
            .members
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.as_str(), i))
            .collect();
        let mut taken = BTreeMap::new();
        for (key, (what, names)) in pending {
            let members: BTreeSet<usize> = names
                .iter()
                .filter_map(|name| index.get(name.as_str()).copied())
                .collect();
            if !members.is_empty() {
                taken.insert(
                    key,
                    Owed {
                        what,
                        members,
                        write: 0,
                        given_up: BTreeMap::new(),
                    },
                );
            }
        }
        let journal = Arc::new(journal);
        Ok(self.rebuild(|inner| {
            inner.missed.lock().expect("record").extend(taken);
            inner.journal = Some(journal);
        }))
    }

    /// Members the journal knows that this store does not have (taken out of the
    /// configuration): their records are kept, and they are recorded as owing every
    /// write and delete made without them, so that `repair` brings them up to date when
    /// they are back. A member gone for good is dropped with [`Self::retire_member`].
    pub fn absent_members(&self) -> Vec<String> {
        self.inner
            .journal
            .as_ref()
            .map_or_else(Vec::new, |j| j.absent().into_iter().collect())
    }

    /// Forget member `name`, absent from this store ([`Self::absent_members`]) and gone
    /// for good: its records are dropped from the journal, and later writes are no longer
    /// recorded for it. If it ever comes back, it must be emptied first (or compared
    /// with a full [`super::repair`], which cannot tell its old objects from new ones).
    pub fn retire_member(&self, name: &str) -> crate::Result<()> {
        let Some(journal) = &self.inner.journal else {
            return Err(composition(format!(
                "cannot retire member {name:?}: the store has no journal"
            )));
        };
        journal
            .retire(name)
            .map_err(|e| composition(format!("cannot retire member {name:?}: {e}")))
    }

    /// Damage found in the journal when it was opened ([`Self::with_journal`]): the file,
    /// the byte offset, what was wrong, and how many records before it were used.
    pub fn journal_damage(&self) -> Option<&JournalDamage> {
        self.inner.journal.as_ref()?.damage()
    }

    /// Skip a member that keeps failing (see [`Breaker`]): reads go to the next member,
    /// writes count it as failed (and record what it missed) without calling it.
    pub fn with_breaker(self, breaker: Breaker) -> Self {
        self.rebuild(|inner| inner.breaker = Some(breaker))
    }

    /// Count a member call that takes longer than `timeout` as failed (it is abandoned),
    /// so that a member that hangs slows a write or a read by `timeout` at most.
    pub fn with_member_timeout(self, timeout: Duration) -> Self {
        self.rebuild(|inner| inner.member_timeout = Some(timeout))
    }

    /// The members skipped now by the breaker.
    pub fn skipped(&self) -> Vec<&str> {
        let inner = &self.inner;
        (0..inner.members.len())
            .filter(|&i| inner.health[i].is_open())
            .map(|i| inner.members[i].0.as_str())
            .collect()
    }

    /// Set the read policy.
    pub fn with_read(self, read: ReadPolicy) -> Self {
        self.rebuild(|inner| inner.read = read)
    }

    /// Set the listing policy.
    pub fn with_listing(self, list: ListPolicy) -> Self {
        self.rebuild(|inner| inner.list = list)
    }

    /// The members by name, the primary first.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Arc<dyn ObjectStore>)> {
        self.inner.members.iter().map(|(n, s)| (n.as_str(), s))
    }

    /// The members, each under the member timeout when the store has one (what `repair`
    /// works through: a member that hangs fails its keys instead of holding it up).
    pub(crate) fn members_under_timeout(&self) -> Vec<(String, Arc<dyn ObjectStore>)> {
        self.inner
            .members
            .iter()
            .map(|(name, store)| {
                let store = match self.inner.member_timeout {
                    Some(limit) => Arc::new(crate::layer::timeout::TimeoutStore::new(
                        Arc::clone(store),
                        limit,
                    )) as Arc<dyn ObjectStore>,
                    None => Arc::clone(store),
                };
                (name.clone(), store)
            })
            .collect()
    }

    /// The write policy.
    pub fn write_policy(&self) -> WritePolicy {
        self.inner.write
    }

    /// Keys some member missed the last operation on, with what it missed and which
    /// members (see the type's documentation), members absent from the configuration
    /// included.
    pub fn missed(&self) -> Vec<(Path, Missed, Vec<String>)> {
        let mut all: BTreeMap<Path, (Missed, BTreeSet<String>)> = match &self.inner.journal {
            Some(journal) => journal.pending(),
            None => BTreeMap::new(),
        };
        let record = self.inner.missed.lock().expect("record");
        for (path, owed) in record.iter() {
            let entry = all
                .entry(path.clone())
                .or_insert_with(|| (owed.what, BTreeSet::new()));
            entry.0 = owed.what;
            entry.1.extend(self.inner.names_of(&owed.behind()));
        }
        all.into_iter()
            .map(|(path, (what, names))| (path, what, names.into_iter().collect()))
            .collect()
    }

    /// Wait until no member operation runs in the background (writes acknowledged at
    /// quorum whose other members were still running; see the type's documentation).
    /// Those that failed, or were abandoned at [`super::BACKGROUND_DEADLINE`], are then
    /// in [`Self::missed`].
    pub async fn flush(&self) {
        self.inner.flush().await
    }

    /// How many member operations run in the background now.
    pub fn in_background(&self) -> usize {
        self.inner.in_background()
    }

    /// Forget what was recorded for `location` if it is still what write `write`
    /// recorded (after `repair` converged it as recorded), in the journal too.
    pub(crate) fn forget(&self, location: &Path, write: u64) -> Result<()> {
        self.inner.forget(location, write)
    }

    /// Hold `key` for repair: wait until every operation on it called so far has ended
    /// on every member and been judged; until the hold is dropped, later writes of the
    /// key wait (reads of it too).
    pub(crate) async fn hold(&self, key: &Path) -> impl Send {
        let mut ticket = self.inner.enqueue(std::slice::from_ref(key));
        ticket.quiet().await;
        ticket
    }

    /// The record for `location`.
    pub(crate) fn missed_at(&self, location: &Path) -> Option<Owed> {
        self.inner
            .missed
            .lock()
            .expect("record")
            .get(location)
            .cloned()
    }

    /// The keys member `member` owes.
    pub(crate) fn owed_by(&self, member: usize) -> Vec<Path> {
        self.inner
            .missed
            .lock()
            .expect("record")
            .iter()
            .filter(|(_, owed)| owed.behind().contains(&member))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Every key with a record, with the number of the write that recorded it.
    pub(crate) fn missed_keys(&self) -> Vec<(Path, u64)> {
        self.inner
            .missed
            .lock()
            .expect("record")
            .iter()
            .map(|(key, owed)| (key.clone(), owed.write))
            .collect()
    }
}

fn composition(message: String) -> crate::Error {
    crate::Error::composition("replicated store", message)
}

impl fmt::Debug for ReplicatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let members: Vec<_> = self.inner.members.iter().map(|(n, s)| (n, s)).collect();
        f.debug_struct("ReplicatedStore")
            .field("write", &self.inner.write)
            .field("read", &self.inner.read)
            .field("list", &self.inner.list)
            .field("members", &members)
            .finish()
    }
}

impl fmt::Display for ReplicatedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_members(f, "ReplicatedStore", &self.inner.members)
    }
}
