//! [`ReplicatedStore`]: several stores written together and read with fallback.

use crate::composite::{delete_in_batches, fmt_members, tagged_listings};
use crate::error::tag;
use crate::merge::{list_after, merge_unique};
use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{self, BoxStream, FuturesUnordered, StreamExt};
use object_store::path::Path;
use object_store::{
    CopyMode, CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
    RenameTargetMode, Result, UploadPart,
};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::ops::Range;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WritePolicy {
    /// Every member must succeed.
    #[default]
    All,
    /// At least this many members must succeed (1 to the number of members).
    Quorum(usize),
}

/// Where reads go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadPolicy {
    /// Members in order; the next one on an error or `NotFound`.
    #[default]
    Ordered,
    /// Members in order, but the next one also starts when the running ones have not
    /// answered within the delay; the first good answer wins and the others are
    /// cancelled.
    Hedged(Duration),
}

/// Where listings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListPolicy {
    /// The first member that answers; if it fails part-way, the next member continues
    /// from the last key listed.
    #[default]
    First,
    /// Every member, merged in key order with each key once (its first member's entry).
    Merged,
}

/// What a member missed, as recorded for [`super::repair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// A write (put, multipart upload, copy or rename target) the member did not apply.
    Write,
    /// A delete (or rename source) the member did not apply.
    Delete,
}

/// Several member stores written together and read with fallback.
///
/// # Writes
///
/// - **put, multipart upload, copy, rename, delete** go to every member at once, and the
///   call waits for every member's answer (so no member applies two writes to one key out
///   of order). The [`WritePolicy`] decides whether the write is acknowledged; if it is
///   not, the error lists every member that failed with its error and every member that
///   applied the write. A slow member slows writes down to its own timeout (set with the
///   member's `retry` configuration).
/// - A write acknowledged without every member, or refused, leaves members different.
///   Each such key is recorded with the members that missed the operation
///   ([`ReplicatedStore::missed`]); a later write that reaches every member clears it.
///   An operation that **no** member applied records nothing (an older record of the
///   key stays): no member is behind, and [`super::repair`] must not carry out what the
///   caller was told failed. A rename records its target as a missed write and its
///   source as a missed delete for the members that did not apply it, from the same
///   outcome.
///   The record lives in this process's memory: if the process dies, it is lost, and
///   [`super::repair`] still finds every difference by comparing listings, but can then
///   no longer tell a missed delete from a missed write (it restores the object).
/// - **Multipart uploads** start an upload on every member and send each part to each
///   of them. A member that fails to start or to take a part drops out of the upload
///   (its upload is aborted); the part fails once fewer members than the policy needs
///   remain. Completing completes every remaining member's upload, judged by the policy;
///   aborting aborts all.
/// - **Conditional writes** (`PutMode::Create`, `PutMode::Update`, `copy_if_not_exists`,
///   `rename_if_not_exists`) are decided by the first member, the primary: it runs the
///   conditional operation; if it refuses (`AlreadyExists`, `Precondition`), so does the
///   replicated store, and nothing else is touched; if it accepts, the same write goes
///   to the other members unconditionally and the policy counts the primary as one
///   success. So the primary must be up for conditional writes, and `Update`'s e-tag is
///   the primary's (the one reads return while the primary is up).
/// - The [`PutResult`] returned is the primary's, or the first successful member's.
///
/// # Reads
///
/// - **get, head, get_ranges** follow the [`ReadPolicy`]: `Ordered` tries members in
///   order and moves on at an error or `NotFound`; `Hedged` also moves on when the
///   running members have not answered within the delay. `NotModified` and
///   `Precondition` are answers, not failures: they are returned at once. When every
///   member fails: `NotFound` if every member said so, otherwise the first other error.
///   A stream already returned does not fall back if its body fails part-way.
/// - **list** and **list_with_offset** follow the [`ListPolicy`]. `First` lists the
///   first member; if it fails before its first entry the next member is listed
///   instead, and if it fails later the next member continues after the last key listed
///   (members must list in key order, as every store stratus builds does). The
///   continuation also lists the subtree below that key, because some servers
///   (SeaweedFS) skip it when the key is also a "folder" (`a` while `a/b` exists). `Merged`
///   merges all members (bounded memory, one pending entry per member), each key once.
/// - **list_with_delimiter**: `First` asks members in order until one answers; `Merged`
///   asks all and merges.
///
/// # Errors
///
/// Errors keep object_store's kinds when every member agrees on one (a copy of a missing
/// object is `NotFound`), and name the member ([`crate::member_of`]).
#[derive(Clone)]
pub struct ReplicatedStore {
    inner: Arc<Inner>,
}

struct Inner {
    members: Vec<(String, Arc<dyn ObjectStore>)>,
    write: WritePolicy,
    read: ReadPolicy,
    list: ListPolicy,
    missed: Mutex<BTreeMap<Path, (Missed, BTreeSet<usize>)>>,
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
            members,
            write: WritePolicy::All,
            read: ReadPolicy::Ordered,
            list: ListPolicy::First,
            missed: Mutex::default(),
        }))
    }

    fn from(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    fn rebuild(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            members: self.inner.members.clone(),
            write: self.inner.write,
            read: self.inner.read,
            list: self.inner.list,
            missed: Mutex::new(self.inner.missed.lock().expect("record").clone()),
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

    /// The write policy.
    pub fn write_policy(&self) -> WritePolicy {
        self.inner.write
    }

    /// Keys some member missed the last operation on, with what it missed and which
    /// members (see the type's documentation).
    pub fn missed(&self) -> Vec<(Path, Missed, Vec<String>)> {
        let record = self.inner.missed.lock().expect("record");
        record
            .iter()
            .map(|(path, (what, members))| {
                let names = members
                    .iter()
                    .map(|&m| self.inner.members[m].0.clone())
                    .collect();
                (path.clone(), *what, names)
            })
            .collect()
    }

    /// Forget what was recorded for `location` (after `repair` converged it).
    pub(crate) fn forget(&self, location: &Path) {
        self.inner.missed.lock().expect("record").remove(location);
    }

    /// The record for `location`, as member indexes.
    pub(crate) fn missed_at(&self, location: &Path) -> Option<(Missed, BTreeSet<usize>)> {
        self.inner
            .missed
            .lock()
            .expect("record")
            .get(location)
            .cloned()
    }

    /// Every key with a record.
    pub(crate) fn missed_keys(&self) -> Vec<Path> {
        self.inner
            .missed
            .lock()
            .expect("record")
            .keys()
            .cloned()
            .collect()
    }
}

fn generic(message: String) -> Error {
    Error::Generic {
        store: "ReplicatedStore",
        source: message.into(),
    }
}

fn composition(message: String) -> crate::Error {
    crate::Error::composition("replicated store", message)
}

/// A write that did not meet its policy.
#[derive(Debug)]
pub struct PolicyError {
    operation: &'static str,
    location: String,
    required: usize,
    applied: Vec<String>,
    failed: Vec<(String, Error)>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {:?}: {} of {} members applied it, {} required",
            self.operation,
            self.location,
            self.applied.len(),
            self.applied.len() + self.failed.len(),
            self.required
        )?;
        for (member, err) in &self.failed {
            write!(f, "; member {member:?} failed: {err}")?;
        }
        if !self.applied.is_empty() {
            write!(f, "; applied by {}", self.applied.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}

/// The answers of every member to one write.
struct Outcome<T> {
    ok: Vec<(usize, T)>,
    failed: Vec<(usize, Error)>,
}

impl Inner {
    fn required(&self) -> usize {
        match self.write {
            WritePolicy::All => self.members.len(),
            WritePolicy::Quorum(q) => q,
        }
    }

    fn record(&self, location: &Path, what: Missed, members: BTreeSet<usize>) {
        let mut record = self.missed.lock().expect("record");
        if members.is_empty() {
            record.remove(location);
        } else {
            record.insert(location.clone(), (what, members));
        }
    }

    /// Run `op` on members `which` at once and wait for all.
    async fn fan_out<'a, T, F, Fut>(&'a self, which: Range<usize>, op: F) -> Outcome<T>
    where
        F: Fn(usize, &'a Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
    {
        let answers = futures::future::join_all(which.map(|i| {
            let fut = op(i, &self.members[i].1);
            async move { (i, fut.await) }
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
    fn judge<T>(
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
    fn judge_all<T>(
        &self,
        operation: &'static str,
        changes: &[(&Path, Missed)],
        mut outcome: Outcome<T>,
    ) -> Result<T> {
        if !outcome.ok.is_empty() {
            let missed: BTreeSet<usize> = outcome.failed.iter().map(|(i, _)| *i).collect();
            for (location, what) in changes {
                self.record(location, *what, missed.clone());
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
    fn refusal<T>(&self, operation: &'static str, location: &Path, outcome: Outcome<T>) -> Error {
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
    async fn write<'a, T, F, Fut>(
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

    /// A read under the read policy.
    async fn read<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Arc<dyn ObjectStore>) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let n = self.members.len();
        let after = match self.read {
            ReadPolicy::Ordered => None,
            ReadPolicy::Hedged(after) => Some(after),
        };
        let mut errors: Vec<(usize, Error)> = Vec::new();
        let mut running = FuturesUnordered::new();
        let start = |i: usize| {
            let fut = op(Arc::clone(&self.members[i].1));
            async move { (i, fut.await) }
        };
        running.push(start(0));
        let mut next = 1;
        loop {
            let hedge = async {
                match after {
                    Some(after) if next < n => tokio::time::sleep(after).await,
                    _ => futures::future::pending().await,
                }
            };
            tokio::select! {
                answer = running.next() => {
                    let Some((i, answer)) = answer else { break };
                    match answer {
                        Ok(value) => return Ok(value),
                        Err(err @ (Error::NotModified { .. } | Error::Precondition { .. })) => {
                            return Err(tag(&self.members[i].0, err));
                        }
                        Err(err) => {
                            errors.push((i, tag(&self.members[i].0, err)));
                            if next < n {
                                running.push(start(next));
                                next += 1;
                            }
                        }
                    }
                }
                () = hedge => {
                    running.push(start(next));
                    next += 1;
                }
            }
        }
        errors.sort_by_key(|(i, _)| *i);
        let position = errors
            .iter()
            .position(|(_, e)| !matches!(e, Error::NotFound { .. }))
            .unwrap_or(0);
        Err(errors.swap_remove(position).1)
    }

    async fn delete_batch(&self, batch: Vec<Result<Path>>) -> Vec<Result<Path>> {
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

    fn list_first(
        self: &Arc<Self>,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        struct State {
            inner: Arc<Inner>,
            prefix: Option<Path>,
            /// The last key yielded, or the caller's offset.
            after: Option<Path>,
            member: usize,
            current: Option<BoxStream<'static, Result<ObjectMeta>>>,
            done: bool,
        }
        let state = State {
            inner: Arc::clone(self),
            prefix: prefix.cloned(),
            after: offset.cloned(),
            member: 0,
            current: None,
            done: false,
        };
        stream::unfold(state, |mut s| async move {
            loop {
                if s.done {
                    return None;
                }
                let (name, store) = &s.inner.members[s.member];
                let listing = s.current.get_or_insert_with(|| match &s.after {
                    // Not `list_with_offset` itself: see `list_after` (SeaweedFS).
                    Some(after) => list_after(store.as_ref(), s.prefix.as_ref(), after),
                    None => store.list(s.prefix.as_ref()),
                });
                match listing.next().await {
                    Some(Ok(meta)) => {
                        s.after = Some(meta.location.clone());
                        return Some((Ok(meta), s));
                    }
                    None => return None,
                    Some(Err(err)) => {
                        let err = tag(name, err);
                        if s.member + 1 < s.inner.members.len() {
                            // The next member continues after the last key listed.
                            s.member += 1;
                            s.current = None;
                            continue;
                        }
                        s.done = true;
                        return Some((Err(err), s));
                    }
                }
            }
        })
        .boxed()
    }

    fn list_merged(
        &self,
        list: impl Fn(&dyn ObjectStore) -> BoxStream<'static, Result<ObjectMeta>>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        merge_unique(tagged_listings(&self.members, list))
    }
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

/// A multipart upload on every member at once.
struct ReplicatedUpload {
    inner: Arc<Inner>,
    location: Path,
    /// Each member's upload; `None` once it dropped out.
    uploads: Vec<(usize, Option<Box<dyn MultipartUpload>>)>,
    /// Members that dropped out, with why; shared with part futures.
    dropped: Arc<Mutex<Vec<(usize, Error)>>>,
}

impl fmt::Debug for ReplicatedUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReplicatedUpload")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl ReplicatedUpload {
    /// Abort the uploads of members that dropped out (best effort).
    async fn abort_dropped(&mut self) {
        let dropped: BTreeSet<usize> = self
            .dropped
            .lock()
            .expect("dropped")
            .iter()
            .map(|(i, _)| *i)
            .collect();
        for (member, upload) in &mut self.uploads {
            if dropped.contains(member) {
                if let Some(mut upload) = upload.take() {
                    let _ = upload.abort().await;
                }
            }
        }
    }
}

#[async_trait]
impl MultipartUpload for ReplicatedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let dropped_now: BTreeSet<usize> = self
            .dropped
            .lock()
            .expect("dropped")
            .iter()
            .map(|(i, _)| *i)
            .collect();
        let parts: Vec<(usize, UploadPart)> = self
            .uploads
            .iter_mut()
            .filter(|(member, _)| !dropped_now.contains(member))
            .filter_map(|(member, upload)| Some((*member, upload.as_mut()?.put_part(data.clone()))))
            .collect();
        let dropped = Arc::clone(&self.dropped);
        let inner = Arc::clone(&self.inner);
        let location = self.location.clone();
        Box::pin(async move {
            let answers = futures::future::join_all(
                parts
                    .into_iter()
                    .map(|(member, part)| async move { (member, part.await) }),
            )
            .await;
            let mut dropped = dropped.lock().expect("dropped");
            for (member, answer) in answers {
                // Parts run concurrently: a member may fail several before it drops out.
                if let Err(err) = answer {
                    if !dropped.iter().any(|(m, _)| *m == member) {
                        dropped.push((member, tag(&inner.members[member].0, err)));
                    }
                }
            }
            let alive = inner.members.len() - dropped.len();
            if alive >= inner.required() {
                return Ok(());
            }
            let failed: Vec<_> = dropped
                .iter()
                .map(|(i, e)| (*i, generic(e.to_string())))
                .collect();
            Err(inner.refusal(
                "multipart upload part",
                &location,
                Outcome::<()> {
                    ok: Vec::new(),
                    failed,
                },
            ))
        })
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.abort_dropped().await;
        let answers =
            futures::future::join_all(self.uploads.iter_mut().filter_map(|(member, upload)| {
                let upload = upload.as_mut()?;
                let member = *member;
                Some(async move { (member, upload.complete().await) })
            }))
            .await;
        let mut outcome = Outcome {
            ok: Vec::new(),
            failed: self
                .dropped
                .lock()
                .expect("dropped")
                .iter()
                .map(|(i, e)| (*i, generic(e.to_string())))
                .collect(),
        };
        for (member, answer) in answers {
            match answer {
                Ok(result) => outcome.ok.push((member, result)),
                Err(err) => outcome
                    .failed
                    .push((member, tag(&self.inner.members[member].0, err))),
            }
        }
        self.inner
            .judge("multipart upload", &self.location, Missed::Write, outcome)
    }

    async fn abort(&mut self) -> Result<()> {
        let answers =
            futures::future::join_all(self.uploads.iter_mut().filter_map(|(member, upload)| {
                let mut upload = upload.take()?;
                let member = *member;
                Some(async move { (member, upload.abort().await) })
            }))
            .await;
        match answers.into_iter().find_map(|(member, answer)| {
            answer
                .err()
                .map(|err| tag(&self.inner.members[member].0, err))
        }) {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for ReplicatedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let conditional = !matches!(opts.mode, PutMode::Overwrite);
        let overwrite = PutOptions {
            mode: PutMode::Overwrite,
            ..opts.clone()
        };
        self.inner
            .write(
                "put",
                &[(location, Missed::Write)],
                conditional,
                |store, conditional| {
                    let opts = if conditional { &opts } else { &overwrite };
                    store.put_opts(location, payload.clone(), opts.clone())
                },
            )
            .await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let inner = &self.inner;
        let outcome = inner
            .fan_out(0..inner.members.len(), |_, store| {
                store.put_multipart_opts(location, opts.clone())
            })
            .await;
        if outcome.ok.len() < inner.required() {
            for (_, mut upload) in outcome.ok {
                let _ = upload.abort().await;
            }
            let failed = outcome.failed;
            return Err(inner.refusal(
                "multipart upload",
                location,
                Outcome::<()> {
                    ok: Vec::new(),
                    failed,
                },
            ));
        }
        Ok(Box::new(ReplicatedUpload {
            inner: Arc::clone(inner),
            location: location.clone(),
            uploads: outcome.ok.into_iter().map(|(i, u)| (i, Some(u))).collect(),
            dropped: Arc::new(Mutex::new(outcome.failed)),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner
            .read(|store| {
                let options = options.clone();
                async move { store.get_opts(location, options).await }
            })
            .await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner
            .read(|store| async move { store.get_ranges(location, ranges).await })
            .await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let inner = Arc::clone(&self.inner);
        delete_in_batches(locations, move |batch| {
            let inner = Arc::clone(&inner);
            async move { inner.delete_batch(batch).await }
        })
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        match self.inner.list {
            ListPolicy::First => self.inner.list_first(prefix, None),
            ListPolicy::Merged => self.inner.list_merged(|store| store.list(prefix)),
        }
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        match self.inner.list {
            ListPolicy::First => self.inner.list_first(prefix, Some(offset)),
            ListPolicy::Merged => self
                .inner
                .list_merged(|store| list_after(store, prefix, offset)),
        }
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let inner = &self.inner;
        if inner.list == ListPolicy::First {
            let mut first_error = None;
            for (name, store) in &inner.members {
                match store.list_with_delimiter(prefix).await {
                    Ok(result) => return Ok(result),
                    Err(err) => {
                        first_error.get_or_insert(tag(name, err));
                    }
                }
            }
            return Err(first_error.expect("at least one member"));
        }
        let outcome = inner
            .fan_out(0..inner.members.len(), |_, store| {
                store.list_with_delimiter(prefix)
            })
            .await;
        if let Some((_, err)) = outcome.failed.into_iter().next() {
            return Err(err);
        }
        let mut prefixes = BTreeSet::new();
        let mut objects = BTreeMap::new();
        let mut ok = outcome.ok;
        ok.sort_by_key(|(i, _)| *i);
        for (_, result) in ok {
            prefixes.extend(result.common_prefixes);
            for meta in result.objects {
                objects.entry(meta.location.clone()).or_insert(meta);
            }
        }
        Ok(ListResult {
            common_prefixes: prefixes.into_iter().collect(),
            objects: objects.into_values().collect(),
            extensions: Default::default(),
        })
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        let conditional = matches!(options.mode, CopyMode::Create);
        let overwrite = CopyOptions {
            mode: CopyMode::Overwrite,
            ..options.clone()
        };
        self.inner
            .write(
                "copy",
                &[(to, Missed::Write)],
                conditional,
                |store, conditional| {
                    let options = if conditional { &options } else { &overwrite };
                    store.copy_opts(from, to, options.clone())
                },
            )
            .await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        let inner = &self.inner;
        let conditional = matches!(options.target_mode, RenameTargetMode::Create);
        let overwrite = RenameOptions {
            target_mode: RenameTargetMode::Overwrite,
            ..options.clone()
        };
        // The source is gone where the rename was applied: what the target missed as a
        // write, the source missed as a delete (recorded only if some member applied it).
        let changes = [(to, Missed::Write), (from, Missed::Delete)];
        inner
            .write("rename", &changes, conditional, |store, conditional| {
                let options = if conditional { &options } else { &overwrite };
                store.rename_opts(from, to, options.clone())
            })
            .await
    }
}
