//! The write side of a [`ReplicatedStore`](super::ReplicatedStore): every member at once,
//! the answers judged by the write policy, what members missed (or still owe, while
//! they finish in the background) recorded.

use super::background::{Outcome, Part, Slot};
use super::policy::{Missed, PolicyError, WritePolicy};
use super::state::{generic, Inner};
use crate::error::tag;
use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, Result, UpdateVersion};
use std::collections::BTreeSet;
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

/// How a write is decided.
pub(super) enum Condition {
    /// Unconditional: every member at once.
    None,
    /// Decided by the first member holding the keys' last write (a create, a copy or
    /// rename if not exists), then applied to the others.
    First,
    /// An update conditional on this version: decided by a member holding the key's
    /// last write whose version of it carries the e-tag (see [`Inner::matching`]).
    Matching(UpdateVersion),
}

impl Condition {
    /// `First` when `conditional` (a copy or rename if not exists), else `None`.
    pub(super) fn first_if(conditional: bool) -> Self {
        match conditional {
            true => Condition::First,
            false => Condition::None,
        }
    }
}

impl Inner {
    pub(super) fn required(&self) -> usize {
        match self.write {
            WritePolicy::All => self.members.len(),
            WritePolicy::Quorum(q) => q,
        }
    }

    /// Member `slot`'s part of a write: `op` in its place, under the breaker and the
    /// member deadline, its error tagged with the member.
    pub(super) fn part<T: Send + 'static>(
        self: &Arc<Self>,
        slot: Slot,
        op: BoxFuture<'static, Result<T>>,
    ) -> Part<T> {
        let inner = Arc::clone(self);
        let member = slot.member;
        async move {
            let answer = slot.run(inner.call(member, op)).await;
            (member, answer.map_err(|e| tag(&inner.members[member].0, e)))
        }
        .boxed()
    }

    /// Run `op` on members `which` at once and wait for all (operations that are not
    /// writes, or whose futures borrow: they cannot run in the background).
    pub(super) async fn fan_out<'a, T, F, Fut>(&'a self, which: Range<usize>, op: F) -> Outcome<T>
    where
        F: Fn(usize, &'a Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
    {
        let answers = futures::future::join_all(which.map(|i| {
            let fut = op(i, &self.members[i].1);
            async move { (i, self.call(i, fut).await) }
        }))
        .await;
        let mut outcome = Outcome::new();
        for (i, answer) in answers {
            outcome.push((i, answer.map_err(|e| tag(&self.members[i].0, e))));
        }
        outcome
    }

    /// Judge a write's outcome by the policy, record what members missed (`pending`:
    /// those still running, which owe it until they end), and return the first
    /// successful member's value (members in order).
    pub(super) fn judge<T>(
        &self,
        operation: &'static str,
        location: &Path,
        what: Missed,
        outcome: Outcome<T>,
        pending: &BTreeSet<usize>,
        write: u64,
    ) -> Result<T> {
        self.judge_all(operation, &[(location, what)], outcome, pending, write)
    }

    /// [`Self::judge`] for an operation that changes several keys (a rename writes its
    /// target and deletes its source): `changes[0]` names the operation in errors.
    ///
    /// Members are recorded as having missed the operation only when **some member
    /// applied it**. When none did, no member is behind any other: recording the failed
    /// members would make [`super::repair`] apply, later, an operation the caller was
    /// told failed (for a rename, delete the source everywhere while the target exists
    /// nowhere). An earlier record for the keys stays as it was, still true.
    pub(super) fn judge_all<T>(
        &self,
        operation: &'static str,
        changes: &[(&Path, Missed)],
        mut outcome: Outcome<T>,
        pending: &BTreeSet<usize>,
        write: u64,
    ) -> Result<T> {
        if !outcome.ok.is_empty() {
            let mut missed: BTreeSet<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
            missed.extend(pending);
            // Every change recorded (in memory at least) before a journal failure is
            // returned: a rename's source as well as its target.
            let mut failed = None;
            for (location, what) in changes {
                if let Err(err) = self.record(location, *what, missed.clone(), write) {
                    failed.get_or_insert(err);
                }
            }
            if let Some(err) = failed {
                return Err(err);
            }
        }
        let location = changes[0].0;
        if outcome.ok.len() >= self.required() {
            outcome.ok.sort_by_key(|(i, _)| *i);
            return Ok(outcome.ok.remove(0).1);
        }
        Err(self.refusal(operation, location, outcome))
    }

    /// The error for a write that did not meet the policy: the members' common error
    /// when all failed alike, else a [`PolicyError`].
    pub(super) fn refusal<T>(
        &self,
        operation: &'static str,
        location: &Path,
        outcome: Outcome<T>,
    ) -> Error {
        let mut failed = outcome.failed;
        failed.sort_by_key(|(i, _)| *i);
        let same_kind = outcome.ok.is_empty()
            && failed
                .windows(2)
                .all(|w| std::mem::discriminant(&w[0].1) == std::mem::discriminant(&w[1].1));
        if same_kind && !failed.is_empty() && !matches!(failed[0].1, Error::Generic { .. }) {
            return failed.remove(0).1;
        }
        let mut applied: Vec<_> = outcome.ok.iter().map(|(i, _)| *i).collect();
        applied.sort_unstable();
        Error::Generic {
            store: "ReplicatedStore",
            source: Box::new(PolicyError {
                operation,
                location: location.to_string(),
                required: self.required(),
                applied: applied
                    .into_iter()
                    .map(|i| self.members[i].0.clone())
                    .collect(),
                failed: failed
                    .into_iter()
                    .map(|(i, e)| (self.members[i].0.clone(), e))
                    .collect(),
            }),
        }
    }

    /// Of `current` (members holding `key`'s last write, in order), the first whose
    /// version of `key` carries `expected`'s e-tag (and version): e-tags are each
    /// member's own, and the caller's came from whichever member answered its read. None:
    /// the version read is not the current one (`Precondition`); a member that cannot
    /// say, the error.
    async fn matching(
        &self,
        current: &[usize],
        key: &Path,
        expected: &UpdateVersion,
    ) -> Result<usize> {
        let mut unknown = None;
        let carries = |meta: &object_store::ObjectMeta| {
            let e_tag = expected.e_tag.is_none() || meta.e_tag == expected.e_tag;
            e_tag && (expected.version.is_none() || meta.version == expected.version)
        };
        for &m in current {
            let store = &self.members[m].1;
            match self.call(m, store.head(key)).await {
                Ok(meta) if carries(&meta) => return Ok(m),
                Ok(_) | Err(Error::NotFound { .. }) => {}
                Err(err) => {
                    unknown.get_or_insert(tag(&self.members[m].0, err));
                }
            }
        }
        if let Some(err) = unknown {
            return Err(err);
        }
        // The e-tag may come from a member whose call on the key was given up since it
        // answered the read (it missed no write: it is only uncertain): whether the e-tag
        // names the current version cannot be told, so the update is neither applied nor
        // refused. (One that missed a write holds an older version: refused.)
        let uncertain: Vec<usize> = {
            let record = self.missed.lock().expect("record");
            record.get(key).map_or_else(Vec::new, |owed| {
                owed.given_up
                    .keys()
                    .filter(|m| !owed.members.contains(m))
                    .copied()
                    .collect()
            })
        };
        for m in uncertain {
            let store = &self.members[m].1;
            if let Ok(meta) = self.call(m, store.head(key)).await {
                if carries(&meta) {
                    return Err(tag(
                        &self.members[m].0,
                        generic(format!(
                            "update of {key}: the e-tag given is this member's, which is \
                             behind on the key now; read it again and retry (or repair first)"
                        )),
                    ));
                }
            }
        }
        Err(Error::Precondition {
            path: key.to_string(),
            source: "no member holding the last write has the version the update names".into(),
        })
    }

    /// Why a write that needs a member holding the last operation on `keys` has none.
    fn no_current_member(&self, operation: &str, keys: &[&Path]) -> Error {
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        generic(format!(
            "{operation} of {}: no member of the store holds the last write to it (the \
             members that do are not in the configuration); run repair when they are back",
            keys.join(" and ")
        ))
    }

    /// A write under the policy. `op(member, conditional)` writes to one member. An
    /// unconditional write goes to every member at once; a conditional one is decided by
    /// the first member that holds the keys' last operations (the decider: the primary
    /// unless the record says it is behind), then applied unconditionally to the others.
    /// Members still running once the policy is met finish in the background
    /// (`super::background`).
    ///
    /// `changes` are the keys the write changes (the first is written; a rename's source,
    /// deleted where the rename is applied, follows it), recorded by [`Self::judge_all`].
    /// `reads` are the keys whose version it carries elsewhere (a copy's or a rename's
    /// source): a member recorded as behind on one of them does not take part (it would
    /// carry an old version), and is recorded as having missed the write. A conditional write the
    /// decider refuses records nothing: no member applied it.
    pub(super) async fn write<T, F>(
        self: &Arc<Self>,
        operation: &'static str,
        changes: &[(&Path, Missed)],
        reads: &[&Path],
        condition: Condition,
        op: F,
    ) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Arc<dyn ObjectStore>, bool) -> BoxFuture<'static, Result<T>>,
    {
        let conditional = !matches!(condition, Condition::None);
        let n = self.members.len();
        let changed: Vec<Path> = changes.iter().map(|(key, _)| (*key).clone()).collect();
        let mut keys = changed.clone();
        keys.extend(reads.iter().map(|key| (*key).clone()));
        let mut ticket = self.enqueue(&keys);
        let write = ticket.write;
        let mut outcome = Outcome::new();
        // Members behind on what the write reads sit it out; the decider must hold the
        // last operation on every key involved.
        let mut stale = BTreeSet::new();
        let mut decider = None;
        if conditional || !reads.is_empty() {
            ticket.judged().await;
            let sources = self.current(reads);
            stale = (0..n).filter(|m| !sources.contains(m)).collect();
            if sources.is_empty() {
                return Err(self.no_current_member(operation, reads));
            }
        }
        if conditional {
            let all: Vec<&Path> = keys.iter().collect();
            let mut current = self.current(&all);
            if current.is_empty() {
                return Err(self.no_current_member(operation, &all));
            }
            // Members the breaker skips come last.
            current.sort_by_key(|&m| self.health[m].is_open());
            let first = match &condition {
                Condition::Matching(expected) => {
                    self.matching(&current, changes[0].0, expected).await?
                }
                _ => current[0],
            };
            let part = self.part(ticket.take(first), op(&self.members[first].1, true));
            let (_, answer) = part.await;
            outcome.ok.push((first, answer?));
            decider = Some(first);
        }
        for &m in &stale {
            drop(ticket.take(m));
            outcome.failed.push((
                m,
                tag(
                    &self.members[m].0,
                    generic(format!(
                        "{operation}: the member is behind on {} (it missed its last write), \
                         so it would copy an old version; recorded as having missed this \
                         write",
                        reads
                            .iter()
                            .map(|k| k.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ),
            ));
        }
        let parts: FuturesUnordered<Part<T>> = (0..n)
            .filter(|m| Some(*m) != decider && !stale.contains(m))
            .map(|m| self.part(ticket.take(m), op(&self.members[m].1, false)))
            .collect();
        let required = self.required();
        let (outcome, rest) = self
            .settle(outcome, parts, |o| o.ok.len() >= required)
            .await;
        let pending = outcome.pending(n);
        ticket.judged().await;
        let result = self.judge_all(operation, changes, outcome, &pending, write);
        drop(ticket);
        self.hand_over(rest, write, pending, move |answer| match answer {
            Ok(_) => changed.clone(),
            Err(_) => Vec::new(),
        });
        result
    }

    /// A batch of deletes on every member (one `delete_stream` each), each path judged
    /// by the write policy; answers in input order.
    pub(super) async fn delete_batch(
        self: &Arc<Self>,
        batch: Vec<Result<Path>>,
    ) -> Vec<Result<Path>> {
        let mut results: Vec<Option<Result<Path>>> = Vec::with_capacity(batch.len());
        let mut paths = Vec::new();
        let mut positions = Vec::new();
        for (position, item) in batch.into_iter().enumerate() {
            match item {
                Ok(path) => {
                    positions.push(position);
                    paths.push(path);
                    results.push(None);
                }
                Err(err) => results.push(Some(Err(err))),
            }
        }
        let n = self.members.len();
        let mut ticket = self.enqueue(&paths);
        let write = ticket.write;
        let parts: FuturesUnordered<Part<Vec<Result<Path>>>> = (0..n)
            .map(|m| {
                let store = Arc::clone(&self.members[m].1);
                let paths = paths.clone();
                let op = async move {
                    let paths = stream::iter(paths.into_iter().map(Ok)).boxed();
                    Ok(store.delete_stream(paths).collect::<Vec<_>>().await)
                };
                self.part(ticket.take(m), op.boxed())
            })
            .collect();
        // Decided once every path is deleted by enough members (NotFound counts: it is
        // gone), or every member answered.
        let required = self.required();
        let count = paths.len();
        let (answers, rest) = self
            .settle(Outcome::new(), parts, |o| {
                (0..count).all(|k| {
                    o.ok.iter()
                        .filter(|(_, results)| deleted(results.get(k)))
                        .count()
                        >= required
                })
            })
            .await;
        let pending = answers.pending(n);
        ticket.judged().await;
        // Per path: which members deleted it and which failed with what.
        for (k, path) in paths.iter().enumerate() {
            let mut outcome = Outcome::new();
            for (member, results) in &answers.ok {
                match results.get(k) {
                    Some(result) if deleted(Some(result)) => outcome.ok.push((*member, ())),
                    Some(Err(err)) => outcome.failed.push((
                        *member,
                        tag(&self.members[*member].0, generic(err.to_string())),
                    )),
                    _ => outcome.failed.push((
                        *member,
                        generic("the member returned fewer results than paths".into()),
                    )),
                }
            }
            for (member, err) in &answers.failed {
                outcome
                    .failed
                    .push((*member, generic(format!("batch failed: {err}"))));
            }
            results[positions[k]] = Some(
                self.judge("delete", path, Missed::Delete, outcome, &pending, write)
                    .map(|()| path.clone()),
            );
        }
        drop(ticket);
        self.hand_over(rest, write, pending, move |answer| {
            let Ok(results) = answer else {
                return Vec::new();
            };
            paths
                .iter()
                .zip(&results)
                .filter(|(_, result)| deleted(Some(result)))
                .map(|(path, _)| path.clone())
                .collect()
        });
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(generic("no result".into()))))
            .collect()
    }
}

/// Whether a member's answer for one path of a delete batch means the path is gone.
fn deleted(result: Option<&Result<Path>>) -> bool {
    matches!(result, Some(Ok(_)) | Some(Err(Error::NotFound { .. })))
}
