//! Multipart uploads on a [`ReplicatedStore`](super::ReplicatedStore): one upload per
//! member, parts sent to each, members that fail dropping out.

use super::background::Outcome;
use super::policy::Missed;
use super::state::{generic, Inner};
use crate::error::tag;
use async_trait::async_trait;
use object_store::path::Path;
use object_store::{
    Error, MultipartUpload, PutMultipartOptions, PutPayload, PutResult, Result, UploadPart,
};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, Mutex};

/// A multipart upload on every member at once.
pub(super) struct ReplicatedUpload {
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
    /// Start an upload on every member; refused unless enough members (by the write
    /// policy) started one, the started ones aborted then.
    pub(super) async fn start(
        inner: &Arc<Inner>,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
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
        Ok(Box::new(Self {
            inner: Arc::clone(inner),
            location: location.clone(),
            uploads: outcome.ok.into_iter().map(|(i, u)| (i, Some(u))).collect(),
            dropped: Arc::new(Mutex::new(outcome.failed)),
        }))
    }

    /// The members that dropped out so far.
    fn dropped_members(&self) -> BTreeSet<usize> {
        let dropped = self.dropped.lock().expect("dropped");
        dropped.iter().map(|(i, _)| *i).collect()
    }

    /// Abort the uploads of members that dropped out (best effort).
    async fn abort_dropped(&mut self) {
        let dropped = self.dropped_members();
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
        let dropped_now = self.dropped_members();
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
        // In the key's order: after each member's earlier writes to it (some may still
        // run in the background), before its later ones; judged in turn.
        let mut ticket = self.inner.enqueue(std::slice::from_ref(&self.location));
        let completions: Vec<_> = self
            .uploads
            .iter_mut()
            .filter_map(|(member, upload)| {
                let upload = upload.as_mut()?;
                Some((*member, upload))
            })
            .map(|(member, upload)| {
                let slot = ticket.take(member);
                let inner = &self.inner;
                async move {
                    (
                        member,
                        slot.run(inner.call(member, upload.complete())).await,
                    )
                }
            })
            .collect();
        let answers = futures::future::join_all(completions).await;
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
        ticket.judged().await;
        let write = ticket.write;
        self.inner.judge(
            "multipart upload",
            &self.location,
            Missed::Write,
            outcome,
            &BTreeSet::new(),
            write,
        )
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
