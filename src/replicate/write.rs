//! The write side of a [`ReplicatedStore`](super::ReplicatedStore): every member at once,
//! the answers judged by the write policy, what members missed recorded.

use super::journal::Pending;
use super::policy::{Missed, PolicyError, WritePolicy};
use super::store::{generic, Inner};
use crate::error::tag;
use futures::stream::{self, StreamExt};
use object_store::path::Path;
use object_store::{Error, ObjectStore, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::ops::Range;
use std::sync::Arc;

/// The answers of every member to one write.
pub(super) struct Outcome<T> {
    pub(super) ok: Vec<(usize, T)>,
    pub(super) failed: Vec<(usize, Error)>,
}

impl Inner {
    pub(super) fn required(&self) -> usize {
        match self.write {
            WritePolicy::All => self.members.len(),
            WritePolicy::Quorum(q) => q,
        }
    }

    pub(super) fn record(
        &self,
        location: &Path,
        what: Missed,
        members: BTreeSet<usize>,
    ) -> Result<()> {
        let mut record = self.missed.lock().expect("record");
        let journalled = match (&self.journal, members.is_empty()) {
            (None, _) => Ok(()),
            (Some(_), true) if !record.contains_key(location) => Ok(()),
            // Cleared in the journal first: a record the journal still held after a
            // restart would be acted on (a missed delete applied to a newer object).
            (Some(journal), true) => journal.clear(location, record.len() - 1, || {
                let mut pending = self.names(&record);
                pending.remove(location);
                pending
            }),
            (Some(journal), false) => journal.record(location, what, self.names_of(&members)),
        };
        if let Err(err) = journalled {
            // The record stays in memory (a clearing did not happen): `repair` in this
            // process still sees the key.
            if !members.is_empty() {
                record.insert(location.clone(), (what, members));
            }
            return Err(generic(format!(
                "cannot journal what members missed of {location}: {err}"
            )));
        }
        if members.is_empty() {
            record.remove(location);
        } else {
            record.insert(location.clone(), (what, members));
        }
        Ok(())
    }

    /// Member names of `members` (indexes).
    pub(super) fn names_of(&self, members: &BTreeSet<usize>) -> Vec<String> {
        members.iter().map(|&m| self.members[m].0.clone()).collect()
    }

    /// The record with member names, as the journal keeps it.
    fn names(&self, record: &BTreeMap<Path, (Missed, BTreeSet<usize>)>) -> Pending {
        record
            .iter()
            .map(|(key, (what, members))| (key.clone(), (*what, self.names_of(members))))
            .collect()
    }

    /// Run `op` on members `which` at once and wait for all.
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
        let mut outcome = Outcome {
            ok: Vec::new(),
            failed: Vec::new(),
        };
        for (i, answer) in answers {
            match answer {
                Ok(value) => outcome.ok.push((i, value)),
                Err(err) => outcome.failed.push((i, tag(&self.members[i].0, err))),
            }
        }
        outcome
    }

    /// Judge a write's outcome by the policy, record what members missed, and return the
    /// first successful member's value (members in order).
    pub(super) fn judge<T>(
        &self,
        operation: &'static str,
        location: &Path,
        what: Missed,
        outcome: Outcome<T>,
    ) -> Result<T> {
        self.judge_all(operation, &[(location, what)], outcome)
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
    ) -> Result<T> {
        if !outcome.ok.is_empty() {
            let missed: BTreeSet<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
            for (location, what) in changes {
                self.record(location, *what, missed.clone())?;
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

    /// A write under the policy. `op(member, conditional)` writes to one member. An
    /// unconditional write goes to every member at once; a conditional one is decided by
    /// the primary (`op(primary, true)`), then applied unconditionally to the others.
    ///
    /// `changes` are the keys the write changes (the first is written; a rename's source,
    /// deleted where the rename is applied, follows it), recorded by [`Self::judge_all`].
    /// A conditional write the primary refuses records nothing: no member applied it.
    pub(super) async fn write<'a, T, F, Fut>(
        &'a self,
        operation: &'static str,
        changes: &[(&Path, Missed)],
        conditional: bool,
        op: F,
    ) -> Result<T>
    where
        F: Fn(&'a Arc<dyn ObjectStore>, bool) -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
    {
        let n = self.members.len();
        let outcome = if conditional {
            let (name, primary) = &self.members[0];
            let first = op(primary, true).await.map_err(|err| tag(name, err))?;
            let mut outcome = self.fan_out(1..n, |_, store| op(store, false)).await;
            outcome.ok.insert(0, (0, first));
            outcome
        } else {
            self.fan_out(0..n, |_, store| op(store, false)).await
        };
        self.judge_all(operation, changes, outcome)
    }

    /// A batch of deletes on every member (one `delete_stream` each), each path judged
    /// by the write policy; answers in input order.
    pub(super) async fn delete_batch(&self, batch: Vec<Result<Path>>) -> Vec<Result<Path>> {
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
        let answers = self
            .fan_out(0..self.members.len(), |_, store| {
                let paths = stream::iter(paths.clone().into_iter().map(Ok)).boxed();
                let results = store.delete_stream(paths).collect::<Vec<_>>();
                async move { Ok::<_, Error>(results.await) }
            })
            .await;
        // Per path: which members deleted it (NotFound counts: it is gone) and which
        // failed with what.
        for (k, path) in paths.iter().enumerate() {
            let mut outcome = Outcome {
                ok: Vec::new(),
                failed: Vec::new(),
            };
            for (member, results) in &answers.ok {
                match results.get(k) {
                    Some(Ok(_)) | Some(Err(Error::NotFound { .. })) => {
                        outcome.ok.push((*member, ()))
                    }
                    Some(Err(err)) => outcome.failed.push((
                        *member,
                        tag(&self.members[*member].0, generic(err.to_string())),
                    )),
                    None => outcome.failed.push((
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
                self.judge("delete", path, Missed::Delete, outcome)
                    .map(|()| path.clone()),
            );
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(generic("no result".into()))))
            .collect()
    }
}
