//! Shared by the adversarial tests: an in-memory store whose chosen calls can be held
//! at a precise point (a gate), fail, hang, or apply late (as `LocalFileSystem`'s writes
//! do: they run on `spawn_blocking`, which a dropped future does not stop).
#![allow(dead_code)]

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, RenameOptions, Result, UploadPart,
};
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Where a call can be held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// A `get` (not a head) of the key, after its body was read, before it is returned.
    GetBody,
    /// A delete of the key, before it is applied.
    Delete,
    /// A put of the key, before it is applied.
    Put,
}

/// A held call: `reached` is notified when the call reaches the gate, `release` lets it
/// go on.
#[derive(Clone)]
pub struct Gate {
    pub reached: Arc<Notify>,
    pub release: Arc<Notify>,
}

struct Armed {
    at: At,
    key: Path,
    gate: Gate,
}

#[derive(Default)]
struct State {
    gates: Mutex<Vec<Armed>>,
    fail_puts: AtomicU32,
    fail_deletes: AtomicU32,
    fail_gets: AtomicU32,
    /// Multipart completions never answer.
    hang_complete: std::sync::atomic::AtomicBool,
    /// The next puts apply this late, in a task of their own (the call waits for it;
    /// dropping the call does not stop it).
    late_puts: Mutex<Vec<Duration>>,
}

impl State {
    fn take(&self, at: At, key: &Path) -> Option<Gate> {
        let mut gates = self.gates.lock().unwrap();
        let i = gates.iter().position(|g| g.at == at && &g.key == key)?;
        Some(gates.remove(i).gate)
    }

    async fn pass(&self, at: At, key: &Path) {
        if let Some(gate) = self.take(at, key) {
            gate.reached.notify_one();
            gate.release.notified().await;
        }
    }

    fn fail(counter: &AtomicU32) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

fn injected(what: &str) -> Error {
    Error::Generic {
        store: "Hooked",
        source: format!("injected {what} failure").into(),
    }
}

/// An in-memory store with hooks.
#[derive(Clone)]
pub struct Hooked {
    pub inner: Arc<InMemory>,
    state: Arc<State>,
    name: &'static str,
}

impl Hooked {
    pub fn new(name: &'static str) -> Self {
        Self {
            inner: Arc::new(InMemory::new()),
            state: Arc::default(),
            name,
        }
    }

    pub fn arc(&self) -> Arc<dyn ObjectStore> {
        Arc::new(self.clone())
    }

    /// Hold the next call `at` on `key`.
    pub fn hold(&self, at: At, key: &Path) -> Gate {
        let gate = Gate {
            reached: Arc::new(Notify::new()),
            release: Arc::new(Notify::new()),
        };
        self.state.gates.lock().unwrap().push(Armed {
            at,
            key: key.clone(),
            gate: gate.clone(),
        });
        gate
    }

    pub fn fail_puts(&self, n: u32) {
        self.state.fail_puts.store(n, Ordering::SeqCst);
    }

    pub fn fail_deletes(&self, n: u32) {
        self.state.fail_deletes.store(n, Ordering::SeqCst);
    }

    pub fn fail_gets(&self, n: u32) {
        self.state.fail_gets.store(n, Ordering::SeqCst);
    }

    pub fn hang_complete(&self) {
        self.state.hang_complete.store(true, Ordering::SeqCst);
    }

    /// The next put applies `after` this long, in a task of its own.
    pub fn late_put(&self, after: Duration) {
        self.state.late_puts.lock().unwrap().push(after);
    }

    /// What this member holds at `key` (bypassing every hook).
    pub async fn body(&self, key: &Path) -> Option<String> {
        match self.inner.get(key).await {
            Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
            Err(Error::NotFound { .. }) => None,
            Err(err) => panic!("{}: get {key}: {err}", self.name),
        }
    }
}

impl fmt::Display for Hooked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hooked({})", self.name)
    }
}

impl fmt::Debug for Hooked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug)]
struct HangingUpload(Box<dyn MultipartUpload>);

#[async_trait]
impl MultipartUpload for HangingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.0.put_part(data)
    }
    async fn complete(&mut self) -> Result<PutResult> {
        futures::future::pending().await
    }
    async fn abort(&mut self) -> Result<()> {
        self.0.abort().await
    }
}

#[async_trait]
impl ObjectStore for Hooked {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        if State::fail(&self.state.fail_puts) {
            return Err(injected("put"));
        }
        self.state.pass(At::Put, location).await;
        let late = {
            let mut late = self.state.late_puts.lock().unwrap();
            (!late.is_empty()).then(|| late.remove(0))
        };
        match late {
            Some(after) => {
                let (inner, location) = (Arc::clone(&self.inner), location.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(after).await;
                    inner.put_opts(&location, payload, opts).await
                })
                .await
                .expect("the late put's task")
            }
            None => self.inner.put_opts(location, payload, opts).await,
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        if self.state.hang_complete.load(Ordering::SeqCst) {
            return Ok(Box::new(HangingUpload(upload)));
        }
        Ok(upload)
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if !options.head && State::fail(&self.state.fail_gets) {
            return Err(injected("get"));
        }
        let head = options.head;
        let got = self.inner.get_opts(location, options).await?;
        if head
            || self
                .state
                .gates
                .lock()
                .unwrap()
                .iter()
                .all(|g| !(g.at == At::GetBody && &g.key == location))
        {
            return Ok(got);
        }
        let GetResult {
            meta,
            range,
            attributes,
            extensions,
            ..
        } = got;
        let bytes = {
            let again = self.inner.get(location).await?;
            again.bytes().await?
        };
        self.state.pass(At::GetBody, location).await;
        let body: BoxStream<'static, Result<Bytes>> =
            futures::stream::once(async move { Ok(bytes) }).boxed();
        Ok(GetResult {
            payload: GetResultPayload::Stream(body),
            meta,
            range,
            attributes,
            extensions,
        })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let (inner, state) = (Arc::clone(&self.inner), Arc::clone(&self.state));
        locations
            .then(move |location| {
                let (inner, state) = (Arc::clone(&inner), Arc::clone(&state));
                async move {
                    let location = location?;
                    if State::fail(&state.fail_deletes) {
                        return Err(injected("delete"));
                    }
                    state.pass(At::Delete, &location).await;
                    inner.delete(&location).await.map(|()| location)
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

/// `members` as the (name, store) pairs composites take.
pub fn named(members: &[(&'static str, &Hooked)]) -> Vec<(String, Arc<dyn ObjectStore>)> {
    members
        .iter()
        .map(|(name, store)| (name.to_string(), store.arc()))
        .collect()
}

/// The body `store` returns for `key` (`None`: `NotFound`).
pub async fn read(store: &dyn ObjectStore, key: &Path) -> Result<Option<String>> {
    match store.get(key).await {
        Ok(got) => Ok(Some(
            String::from_utf8(got.bytes().await?.to_vec()).unwrap(),
        )),
        Err(Error::NotFound { .. }) => Ok(None),
        Err(err) => Err(err),
    }
}
