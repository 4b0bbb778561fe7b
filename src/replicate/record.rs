//! The record of a [`ReplicatedStore`](super::ReplicatedStore): what members missed or
//! still owe, per key ([`Owed`]). Written when a write is judged (in the journal first,
//! when the store has one), cleared as members catch up in the background or `repair`
//! converges a key, and read to find the members that hold a key's last operation.

use super::policy::Missed;
use super::state::{generic, Inner, Owed, Record, GIVEN_UP_GRACE};
use object_store::path::Path;
use object_store::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::MutexGuard;

impl Inner {
    /// Record that `members` owe `what` on `location` since write `write` (nothing owed
    /// when `members` is empty), in the journal first when there is one.
    pub(super) fn record(
        &self,
        location: &Path,
        what: Missed,
        members: BTreeSet<usize>,
        write: u64,
    ) -> Result<()> {
        let mut record = self.missed.lock().expect("record");
        self.set(&mut record, location, what, members, write, true)
    }

    /// Member `member` applied write `write` to `keys`: take it off their record, unless
    /// a later operation on a key was recorded meanwhile. A journal that cannot be
    /// written keeps the record as it was (it then owes more, never less).
    pub(super) fn caught_up(&self, member: usize, keys: &[Path], write: u64) {
        let mut record = self.missed.lock().expect("record");
        for key in keys {
            let Some(owed) = record.get(key) else {
                continue;
            };
            if owed.write != write || !owed.members.contains(&member) {
                continue;
            }
            let what = owed.what;
            let mut members = owed.members.clone();
            members.remove(&member);
            let _ = self.set(&mut record, key, what, members, write, false);
        }
    }

    /// Forget `location`'s record if it is still the one of write `write` (`repair`
    /// converged the key as that record described it). Members absent from the
    /// configuration keep what the journal holds for them.
    pub(super) fn forget(&self, location: &Path, write: u64) -> Result<()> {
        let mut record = self.missed.lock().expect("record");
        match record.get_mut(location) {
            Some(owed) if owed.write == write => {
                // A member's operation given up recently may still land: it stays behind.
                owed.given_up
                    .retain(|_, since| since.elapsed() < GIVEN_UP_GRACE);
                let what = owed.what;
                self.set(&mut record, location, what, BTreeSet::new(), write, false)
            }
            _ => Ok(()),
        }
    }

    /// Member `member`'s operation on `keys` was given up (see [`Owed::given_up`]):
    /// record it as behind on them. A journal that cannot be written keeps the record in
    /// memory.
    pub(super) fn given_up(&self, member: usize, keys: &[Path]) {
        let mut record = self.missed.lock().expect("record");
        for key in keys {
            let owed = record.entry(key.clone()).or_insert_with(|| Owed {
                what: Missed::Write,
                members: BTreeSet::new(),
                write: 0,
                given_up: BTreeMap::new(),
            });
            owed.given_up.insert(member, std::time::Instant::now());
        }
    }

    /// Set `location`'s record: `members` owe `what` since write `write`; `new` for a new
    /// operation on the key (see [`super::journal::Journal::set`]).
    fn set(
        &self,
        record: &mut MutexGuard<'_, Record>,
        location: &Path,
        what: Missed,
        members: BTreeSet<usize>,
        write: u64,
        new: bool,
    ) -> Result<()> {
        // Members whose operation on the key was given up stay behind on it (in memory).
        let given_up = record
            .get(location)
            .map(|owed| owed.given_up.clone())
            .unwrap_or_default();
        if let Some(journal) = &self.journal {
            // The journal first (it also records members absent from the configuration,
            // and writes nothing when nothing changes).
            if let Err(err) = journal.set(location, what, self.names_of(&members), new) {
                // The record stays in memory (a clearing did not happen): `repair` in
                // this process still sees the key.
                if !members.is_empty() || !given_up.is_empty() {
                    record.insert(
                        location.clone(),
                        Owed {
                            what,
                            members,
                            write,
                            given_up,
                        },
                    );
                }
                return Err(generic(format!(
                    "cannot journal what members missed of {location}: {err}"
                )));
            }
        }
        if members.is_empty() && given_up.is_empty() {
            record.remove(location);
        } else {
            record.insert(
                location.clone(),
                Owed {
                    what,
                    members,
                    write,
                    given_up,
                },
            );
        }
        Ok(())
    }

    /// Member names of `members` (indexes).
    pub(super) fn names_of(&self, members: &BTreeSet<usize>) -> BTreeSet<String> {
        members.iter().map(|&m| self.members[m].0.clone()).collect()
    }

    /// The members that hold the last operation on every key of `keys` (not recorded as
    /// owing any of them), in order.
    pub(super) fn current(&self, keys: &[&Path]) -> Vec<usize> {
        let record = self.missed.lock().expect("record");
        (0..self.members.len())
            .filter(|m| {
                keys.iter().all(|key| {
                    record
                        .get(*key)
                        .is_none_or(|owed| !owed.behind().contains(m))
                })
            })
            .collect()
    }
}
