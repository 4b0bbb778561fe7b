//! Writes acknowledged at quorum: the members that have not answered when the quorum has
//! finish in the background, each member's operations on one key in order.
//!
//! - **Order.** Every member operation on a key starts after the same member's earlier
//!   operations on that key ended (a rename or a batch of deletes waits for all its
//!   keys). So a member still applying an acknowledged write applies the next write to
//!   the key after it, never before: two quick writes to one key leave every member with
//!   the second.
//! - **Record first.** When a write is acknowledged with members still running, they are
//!   recorded as owing it (in memory, and in the journal when the store has one) before
//!   the call returns. Each one that then applies it is taken off the record, unless a
//!   later operation on the key was recorded meanwhile; one that fails, or has not ended
//!   [`BACKGROUND_DEADLINE`] after the acknowledgement, stays recorded for `repair`. A
//!   process that dies with writes in the background has them in its journal.
//! - **Grace, with a journal.** Recording costs an `fsync` there; so a write with a
//!   journal first waits for the other members as long again as the quorum took (at
//!   most as long as an `fsync` has taken lately), and journals only those still running
//!   then. A member that then finishes is cleared without an `fsync` (a missed write's
//!   clearing may be lost in a crash: `repair` then re-copies the key, harmless).
//! - **Bounded.** At most [`BACKGROUND_PER_MEMBER`] operations of a member run in the
//!   background; a write that would pass that waits for the member instead (as with
//!   `WritePolicy::All`). Without a tokio runtime, writes wait for every member.
//! - **Flush.** [`ReplicatedStore::flush`](super::ReplicatedStore::flush) waits until
//!   nothing runs in the background. Dropping the store loses nothing: what runs keeps
//!   running (it holds the store's state), and is recorded as owed until it ends.

use super::state::{Ended, Inner, Queues};
use futures::channel::oneshot;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{Error, Result};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How many operations of one member may run in the background at once; a write that
/// would pass it waits for that member.
pub const BACKGROUND_PER_MEMBER: usize = 256;

/// How long after its write was acknowledged a member's operation may still run in the
/// background (within the member timeout, when one is set): past it the operation is
/// abandoned and the member stays recorded as owing the write.
pub const BACKGROUND_DEADLINE: Duration = Duration::from_secs(60);

/// One member's part of a write: the member, and its answer (the error tagged with it).
pub(super) type Part<T> = BoxFuture<'static, (usize, Result<T>)>;

/// The answers to one write so far.
pub(super) struct Outcome<T> {
    pub(super) ok: Vec<(usize, T)>,
    pub(super) failed: Vec<(usize, Error)>,
}

impl<T> Outcome<T> {
    pub(super) fn new() -> Self {
        Self {
            ok: Vec::new(),
            failed: Vec::new(),
        }
    }

    pub(super) fn push(&mut self, (member, answer): (usize, Result<T>)) {
        match answer {
            Ok(value) => self.ok.push((member, value)),
            Err(err) => self.failed.push((member, err)),
        }
    }

    /// The members of `0..n` that have not answered.
    pub(super) fn pending(&self, n: usize) -> BTreeSet<usize> {
        let mut pending: BTreeSet<usize> = (0..n).collect();
        for i in self
            .ok
            .iter()
            .map(|(i, _)| i)
            .chain(self.failed.iter().map(|(i, _)| i))
        {
            pending.remove(i);
        }
        pending
    }
}

/// A place in the order: a member's operation on `keys` (`member` set) or a write's
/// judgment (`member` none). Dropped when the operation ended (or never ran), it lets the
/// next one go once the earlier ones have too; its entry leaves the order then.
struct Turn {
    inner: Arc<Inner>,
    member: Option<usize>,
    keys: Vec<Path>,
    ended: Ended,
    done: Option<oneshot::Sender<()>>,
}

impl Turn {
    /// Take this place's entries out of the order (those a later place did not replace).
    fn leave(inner: &Inner, member: Option<usize>, keys: Vec<Path>, ended: &Ended) {
        let mut order = inner.queues.order.lock().expect("queues");
        for key in keys {
            let mine = |e: &Ended| e.ptr_eq(ended);
            match member {
                Some(member) => {
                    let entry = (member, key);
                    if order.members.get(&entry).is_some_and(mine) {
                        order.members.remove(&entry);
                    }
                }
                None => {
                    if order.judged.get(&key).is_some_and(mine) {
                        order.judged.remove(&key);
                    }
                }
            }
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        drop(self.done.take());
        let keys = std::mem::take(&mut self.keys);
        if self.ended.clone().now_or_never().is_some() {
            return Self::leave(&self.inner, self.member, keys, &self.ended);
        }
        // Earlier operations still run: the entry stays (a later operation waits for
        // them through it) until they end.
        if tokio::runtime::Handle::try_current().is_ok() {
            let (inner, member, ended) = (Arc::clone(&self.inner), self.member, self.ended.clone());
            tokio::spawn(async move {
                ended.clone().await;
                Self::leave(&inner, member, keys, &ended);
            });
        }
    }
}

/// One member's place in a write: its operation starts after the member's earlier
/// operations on the write's keys ended.
pub(super) struct Slot {
    pub(super) member: usize,
    earlier: Vec<Ended>,
    turn: Turn,
}

impl Slot {
    /// Run `op` in this place: after the earlier operations, holding the place until it
    /// ends. An operation given up once it started (at the member timeout, or dropped:
    /// cancelled, or abandoned at the background deadline) may still be applied later by
    /// the member: the member is then recorded as behind on the keys until a repair
    /// well after it ([`Inner::given_up`]).
    pub(super) async fn run<T>(self, op: impl Future<Output = Result<T>>) -> Result<T> {
        for earlier in self.earlier {
            // Answered or dropped: either way it no longer runs.
            earlier.await;
        }
        let mut started = Started(Some((&self.turn, self.member)));
        let answer = op.await;
        if !matches!(&answer, Err(err) if super::health::given_up(err)) {
            started.0 = None;
        }
        drop(started);
        drop(self.turn);
        answer
    }
}

/// A member's operation under way: dropped before it answered (or with a given-up
/// answer), the member is recorded as behind on the operation's keys.
struct Started<'a>(Option<(&'a Turn, usize)>);

impl Drop for Started<'_> {
    fn drop(&mut self) {
        if let Some((turn, member)) = self.0.take() {
            turn.inner.given_up(member, &turn.keys);
        }
    }
}

/// A write's places, taken at once for every member and its judgment, so that every
/// member applies writes to a key in one order, and writes to a key are judged (their
/// records made) in that order too.
pub(super) struct Ticket {
    /// The write's number (its records carry it); numbers follow the order.
    pub(super) write: u64,
    /// The judgments of earlier writes to the keys.
    judged_after: Vec<Ended>,
    /// This write's judgment: dropped once its record is made.
    _judging: Turn,
    /// Each member's place, until taken.
    slots: Vec<Option<Slot>>,
}

impl Ticket {
    /// Wait until every earlier write to the keys was judged: the record then says which
    /// members hold the keys' last operations.
    pub(super) async fn judged(&mut self) {
        for earlier in std::mem::take(&mut self.judged_after) {
            earlier.await;
        }
    }

    /// Wait until every earlier operation on the keys has ended, on every member whose
    /// place is still held, and every earlier write to them was judged: nothing runs on
    /// the keys until this ticket is dropped.
    pub(super) async fn quiet(&mut self) {
        self.judged().await;
        for slot in self.slots.iter_mut().flatten() {
            for earlier in std::mem::take(&mut slot.earlier) {
                earlier.await;
            }
        }
    }

    /// Member `member`'s place (once).
    pub(super) fn take(&mut self, member: usize) -> Slot {
        self.slots[member]
            .take()
            .expect("a member's place is taken once")
    }
}

impl Inner {
    /// A new write's number (records made by it carry it).
    pub(super) fn next_write(&self) -> u64 {
        self.writes.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// A write's places on `keys` (duplicates count once) for every member and for its
    /// judgment, taken at once.
    pub(super) fn enqueue(self: &Arc<Self>, keys: &[Path]) -> Ticket {
        let keys: Vec<Path> = keys
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        // A place ends once its own operation ended *and* every earlier one on its keys
        // did: a place given up without running (a conditional write refused, a call
        // cancelled) never lets a later operation pass one still running before it.
        let turn = |member: Option<usize>, earlier: Vec<Ended>| {
            let (done, own) = oneshot::channel::<()>();
            let after = earlier.clone();
            let ended: Ended = async move {
                for earlier in after {
                    earlier.await;
                }
                let _ = own.await;
            }
            .boxed()
            .shared();
            let turn = Turn {
                inner: Arc::clone(self),
                member,
                keys: keys.clone(),
                ended: ended.clone(),
                done: Some(done),
            };
            (turn, ended, earlier)
        };
        let mut order = self.queues.order.lock().expect("queues");
        let write = self.next_write();
        let earlier = keys
            .iter()
            .filter_map(|key| order.judged.get(key).cloned())
            .collect();
        let (judging, ended, judged_after) = turn(None, earlier);
        for key in &keys {
            order.judged.insert(key.clone(), ended.clone());
        }
        let slots = (0..self.members.len())
            .map(|member| {
                let earlier = keys
                    .iter()
                    .filter_map(|key| order.members.get(&(member, key.clone())).cloned())
                    .collect();
                let (turn, ended, earlier) = turn(Some(member), earlier);
                for key in &keys {
                    order.members.insert((member, key.clone()), ended.clone());
                }
                Some(Slot {
                    member,
                    earlier,
                    turn,
                })
            })
            .collect();
        Ticket {
            write,
            judged_after,
            _judging: judging,
            slots,
        }
    }

    /// Wait until every write to `key` called so far is judged: a read that starts then
    /// sees each one as applied by the members the record does not name, so that it
    /// never returns what a write in flight replaced after another read saw the write.
    pub(super) async fn judged(&self, key: &Path) {
        let latest = self
            .queues
            .order
            .lock()
            .expect("queues")
            .judged
            .get(key)
            .cloned();
        if let Some(latest) = latest {
            latest.await;
        }
    }

    /// Wait until the operations on `key` that `members` run or have queued now ended.
    pub(super) async fn ended_on(&self, key: &Path, members: &BTreeSet<usize>) {
        let running: Vec<Ended> = {
            let order = self.queues.order.lock().expect("queues");
            members
                .iter()
                .filter_map(|&m| order.members.get(&(m, key.clone())).cloned())
                .collect()
        };
        futures::future::join_all(running).await;
    }

    /// Collect answers from `parts` (into `outcome`, which may hold answers already)
    /// until the write is decided: every part answered, or `decided` holds and the parts
    /// still running may go on in the background (see the module documentation). Returns
    /// the answers and the parts still running.
    pub(super) async fn settle<T>(
        &self,
        mut outcome: Outcome<T>,
        mut parts: FuturesUnordered<Part<T>>,
        decided: impl Fn(&Outcome<T>) -> bool,
    ) -> (Outcome<T>, FuturesUnordered<Part<T>>) {
        let started = Instant::now();
        while !decided(&outcome) {
            match parts.next().await {
                Some(answer) => outcome.push(answer),
                None => return (outcome, parts),
            }
        }
        // What is ready now costs nothing to take.
        while let Some(Some(answer)) = parts.next().now_or_never() {
            outcome.push(answer);
        }
        if parts.is_empty() {
            return (outcome, parts);
        }
        if tokio::runtime::Handle::try_current().is_err() {
            // Nowhere to run them: wait.
            while let Some(answer) = parts.next().await {
                outcome.push(answer);
            }
            return (outcome, parts);
        }
        if let Some(journal) = &self.journal {
            // Before paying an fsync to journal them: as long again as the quorum took,
            // but no longer than an fsync has taken lately (waiting longer would cost
            // more than the fsync).
            let grace = started.elapsed().min(journal.append_time());
            let _ = tokio::time::timeout(grace, async {
                while let Some(answer) = parts.next().await {
                    outcome.push(answer);
                }
            })
            .await;
        }
        let pending = outcome.pending(self.members.len());
        if !parts.is_empty() && !self.queues.admit(&pending) {
            while let Some(answer) = parts.next().await {
                outcome.push(answer);
            }
        }
        (outcome, parts)
    }

    /// Let `rest` (the parts still running of write number `write`, for members
    /// `pending`, already recorded as owing it) finish in the background: a member whose
    /// answer `applied` turns into keys is taken off their record.
    pub(super) fn hand_over<T: Send + 'static>(
        self: &Arc<Self>,
        mut rest: FuturesUnordered<Part<T>>,
        write: u64,
        mut pending: BTreeSet<usize>,
        applied: impl Fn(Result<T>) -> Vec<Path> + Send + 'static,
    ) {
        if rest.is_empty() {
            return;
        }
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + BACKGROUND_DEADLINE;
            while let Ok(Some((member, answer))) =
                tokio::time::timeout_at(deadline, rest.next()).await
            {
                inner.caught_up(member, &applied(answer), write);
                pending.remove(&member);
                inner.queues.release(&[member]);
            }
            // Past the deadline: abandoned, still recorded as owed.
            drop(rest);
            inner
                .queues
                .release(&pending.into_iter().collect::<Vec<_>>());
        });
    }

    /// Wait until nothing runs in the background (member operations, hand-offs).
    pub(super) async fn flush(&self) {
        loop {
            let ended = self.queues.ended.notified();
            if self.queues.running.lock().expect("queues").is_empty()
                && !self.health.iter().any(|h| h.is_handing_off())
            {
                return;
            }
            ended.await;
        }
    }

    /// How many operations run in the background now.
    pub(super) fn in_background(&self) -> usize {
        self.queues.running.lock().expect("queues").values().sum()
    }
}

impl Queues {
    /// Take a background slot for each of `members`, all or none.
    fn admit(&self, members: &BTreeSet<usize>) -> bool {
        let mut running = self.running.lock().expect("queues");
        if members
            .iter()
            .any(|m| running.get(m).copied().unwrap_or(0) >= BACKGROUND_PER_MEMBER)
        {
            return false;
        }
        for &m in members {
            *running.entry(m).or_default() += 1;
        }
        true
    }

    /// Give back the slots of `members`.
    fn release(&self, members: &[usize]) {
        let mut running = self.running.lock().expect("queues");
        for m in members {
            if let Some(count) = running.get_mut(m) {
                *count -= 1;
                if *count == 0 {
                    running.remove(m);
                }
            }
        }
        drop(running);
        self.ended.notify_waiters();
    }
}
