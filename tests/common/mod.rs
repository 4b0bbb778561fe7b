//! Shared test set-up: stores of every backend, built through stratus's own configuration.
//!
//! Emulator backends read their endpoints from the environment that
//! `scripts/emulators.sh start` writes (and `scripts/test.sh` exports). Without it they are
//! skipped with a printed reason, so a plain `cargo test` still runs the memory and local
//! tests; with `STRATUS_REQUIRE_EMULATORS=1` (set by `scripts/test.sh`) a missing emulator
//! fails the test instead of skipping it.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod alloc;
pub mod billed;
pub mod canned;

use futures::stream::{BoxStream, StreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use stratus::Config;

/// Every backend the crate is tested on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Local,
    /// S3 API on moto server.
    Moto,
    /// S3 API on SeaweedFS, a production S3 server that checks signatures (the
    /// MinIO-class server of the suite: MinIO itself cannot be installed here), with
    /// `flavor = "seaweedfs"`, which sets its region and `list_order = "sorted"` (its own
    /// order is not byte order).
    SeaweedFs,
    /// Azure Blob on Azurite.
    Azurite,
    /// GCS on fake-gcs-server (read side only: it refuses object_store's XML-API writes).
    FakeGcs,
    /// `provider = "sharded"` over three in-memory members, weighted 1, 2 and 3.
    ShardedMemory,
    /// `provider = "sharded"` over S3 on moto, Azure on Azurite, a local folder and S3 on
    /// SeaweedFS.
    ShardedMixed,
    /// `provider = "replicated"` over three in-memory members, quorum 2, hedged reads.
    ReplicatedMemory,
    /// `provider = "replicated"` over S3 on moto, Azure on Azurite, a local folder and S3
    /// on SeaweedFS.
    ReplicatedMixed,
    /// `provider = "sharded"` over two replicated stores of two in-memory members each.
    Nested,
    /// S3 on SeaweedFS (as [`Backend::SeaweedFs`]) with every setting on: `limits`,
    /// `deadline`, `metrics`, `tracing`.
    Layered,
}

impl Backend {
    pub const EMULATED: [Backend; 4] = [
        Backend::Moto,
        Backend::SeaweedFs,
        Backend::Azurite,
        Backend::FakeGcs,
    ];

    fn env_var(self) -> Option<&'static str> {
        match self {
            Backend::Memory
            | Backend::Local
            | Backend::ShardedMemory
            | Backend::ReplicatedMemory
            | Backend::Nested => None,
            Backend::ShardedMixed | Backend::ReplicatedMixed => {
                Some("STRATUS_TEST_AZURITE_ENDPOINT")
            }
            Backend::Moto => Some("STRATUS_TEST_MOTO_ENDPOINT"),
            Backend::SeaweedFs | Backend::Layered => Some("STRATUS_TEST_SEAWEED_ENDPOINT"),
            Backend::Azurite => Some("STRATUS_TEST_AZURITE_ENDPOINT"),
            Backend::FakeGcs => Some("STRATUS_TEST_GCS_ENDPOINT"),
        }
    }

    /// The emulator's endpoint, or `None` (after printing why) when the test should skip.
    pub fn endpoint(self) -> Option<String> {
        let var = self.env_var()?;
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ if std::env::var("STRATUS_REQUIRE_EMULATORS").as_deref() == Ok("1") => {
                panic!("{var} is not set but STRATUS_REQUIRE_EMULATORS=1: start the emulators with scripts/test.sh")
            }
            _ => {
                eprintln!("SKIPPED ({self:?}): {var} is not set; run scripts/test.sh to start the emulators");
                None
            }
        }
    }

    /// The TOML table (without header) of a store on this backend under `prefix`.
    /// `None` when the backend's emulator is not available (the skip is printed).
    pub fn store_toml(self, prefix: &str) -> Option<String> {
        let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
        Some(match self {
            Backend::Memory => format!("provider = \"memory\"\nprefix = \"{prefix}\"\n"),
            Backend::Local | Backend::ShardedMixed | Backend::ReplicatedMixed => {
                unreachable!("local stores need a folder: Fixture::new makes one")
            }
            Backend::ShardedMemory => "provider = \"sharded\"\nmembers = [\n\
                 { name = \"one\", store = { provider = \"memory\" } },\n\
                 { name = \"two\", weight = 2, store = { provider = \"memory\" } },\n\
                 { name = \"three\", weight = 3, store = { provider = \"memory\" } },\n]\n"
                .to_string(),
            Backend::Nested => "provider = \"sharded\"\nmembers = [\n\
                 { name = \"r1\", store = { provider = \"replicated\", write = { quorum = 1 }, members = [\n\
                   { name = \"a\", store = { provider = \"memory\" } }, { name = \"b\", store = { provider = \"memory\" } }] } },\n\
                 { name = \"r2\", store = { provider = \"replicated\", members = [\n\
                   { name = \"c\", store = { provider = \"memory\" } }, { name = \"d\", store = { provider = \"memory\" } }] } },\n]\n"
                .to_string(),
            Backend::ReplicatedMemory => "provider = \"replicated\"\nmembers = [\n\
                 { name = \"one\", store = { provider = \"memory\" } },\n\
                 { name = \"two\", store = { provider = \"memory\" } },\n\
                 { name = \"three\", store = { provider = \"memory\" } },\n]\n\
                 write = { quorum = 2 }\nread = { hedged_after_ms = 20 }\n"
                .to_string(),
            Backend::Moto => format!(
                "provider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\nendpoint = \"{}\"\n\
                 allow_http = true\nregion = \"us-east-1\"\naccess_key_id = \"test\"\n\
                 secret_access_key = \"test\"\n\
                 options = {{ aws_copy_if_not_exists = \"multipart\" }}\n",
                self.endpoint()?
            ),
            Backend::SeaweedFs => {
                let (key, secret) = seaweed_identity(Identity::Admin);
                format!(
                    "provider = \"s3\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\nendpoint = \"{}\"\n\
                     allow_http = true\nflavor = \"seaweedfs\"\naccess_key_id = \"{key}\"\n\
                     secret_access_key = \"{secret}\"\n\
                     options = {{ aws_copy_if_not_exists = \"multipart\" }}\n",
                    self.endpoint()?
                )
            }
            Backend::Layered => format!(
                "{}limits = {{ in_flight = 4, requests_per_second = 1000, bytes_per_second = 104857600 }}\n\
                 deadline = \"60s\"\nmetrics = true\ntracing = true\n",
                Backend::SeaweedFs.store_toml(prefix)?
            ),
            Backend::Azurite => {
                self.endpoint()?;
                format!(
                    "provider = \"azure\"\ncontainer = \"{bucket}\"\nprefix = \"{prefix}\"\nuse_emulator = true\n"
                )
            }
            // `disable_oauth` in the key makes object_store send no token (the emulator
            // needs none); `skip_signature` alone still fetches one for writes.
            Backend::FakeGcs => format!(
                "provider = \"gcs\"\nbucket = \"{bucket}\"\nprefix = \"{prefix}\"\nendpoint = \"{}\"\n\
                 allow_http = true\nservice_account_key = '{{\"disable_oauth\": true, \
                 \"client_email\": \"\", \"private_key\": \"\", \"private_key_id\": \"\"}}'\n",
                self.endpoint()?
            ),
        })
    }
}

/// The path of a built example. `cargo test` builds the examples beside the test
/// binaries, but not when it is told to build only some tests (`--test NAME`): then
/// `cargo build --examples --all-features` first.
pub fn example(name: &str) -> std::path::PathBuf {
    let path = target_dir().join("examples").join(name);
    assert!(
        path.exists(),
        "{} is not built: run the whole suite, or `cargo build --examples --all-features` first",
        path.display()
    );
    path
}

/// The path of the built `stratus` command (package `stratus-cli`). `cargo test` in the
/// workspace builds it with the other tests (its package has tests of its own), but not
/// when it is told to test this package only (`-p stratus`, `--test NAME`): then
/// `cargo build -p stratus-cli` first.
pub fn stratus() -> std::path::PathBuf {
    let path = target_dir().join(format!("stratus{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built: run `cargo test --workspace`, or `cargo build -p stratus-cli` first",
        path.display()
    );
    path
}

/// `target/<profile>`: where cargo put this test binary (`deps/`) and the others.
fn target_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// SeaweedFS's identities (`scripts/emulators.sh` writes them, with fresh secrets).
#[derive(Clone, Copy, Debug)]
pub enum Identity {
    /// May do anything.
    Admin,
    /// May read and list only.
    Reader,
}

/// The access key and secret of a SeaweedFS identity.
pub fn seaweed_identity(identity: Identity) -> (String, String) {
    let (key, secret) = match identity {
        Identity::Admin => (
            "STRATUS_TEST_SEAWEED_ACCESS_KEY",
            "STRATUS_TEST_SEAWEED_SECRET_KEY",
        ),
        Identity::Reader => (
            "STRATUS_TEST_SEAWEED_READER_ACCESS_KEY",
            "STRATUS_TEST_SEAWEED_READER_SECRET_KEY",
        ),
    };
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    (var(key), var(secret))
}

/// A store for one test, isolated from every other test by a unique prefix (emulators)
/// or its own folder (local).
pub struct Fixture {
    pub store: Arc<dyn ObjectStore>,
    /// The prefix inside the bucket (emulators), for tests that seed data out of band.
    pub prefix: String,
    /// The local root, for `Backend::Local`.
    pub dir: Option<tempfile::TempDir>,
}

/// A prefix no other test (nor an earlier run against the same emulator) uses.
pub fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "t/{test}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

impl Fixture {
    /// A fresh, empty store on `backend`; `None` if its emulator is not running.
    pub fn new(backend: Backend, test: &str) -> Option<Self> {
        let prefix = unique_prefix(test);
        if backend == Backend::Local {
            let dir = tempfile::tempdir().unwrap();
            let toml = "[stores.t]\nprovider = \"local\"\nroot = \"data\"\ncreate_root = true\n";
            let config = Config::from_toml(toml, "test.toml", dir.path()).unwrap();
            let store = config.open("t").unwrap();
            return Some(Self {
                store,
                prefix: String::new(),
                dir: Some(dir),
            });
        }
        if let Backend::ShardedMixed | Backend::ReplicatedMixed = backend {
            let dir = tempfile::tempdir().unwrap();
            let provider = if backend == Backend::ShardedMixed {
                "sharded"
            } else {
                "replicated"
            };
            let toml = format!(
                "[stores.t]\nprovider = \"{provider}\"\n\
                 members = [\"s3\", \"azure\", \"local\", \"seaweed\"]\n\
                 [stores.s3]\n{}\n[stores.azure]\n{}\n[stores.seaweed]\n{}\n\
                 [stores.local]\nprovider = \"local\"\nroot = \"data\"\ncreate_root = true\n",
                Backend::Moto.store_toml(&prefix)?,
                Backend::Azurite.store_toml(&prefix)?,
                Backend::SeaweedFs.store_toml(&prefix)?,
            );
            let config = Config::from_toml(&toml, "test.toml", dir.path()).unwrap();
            return Some(Self {
                store: config.open("t").unwrap(),
                prefix,
                dir: Some(dir),
            });
        }
        let toml = format!("[stores.t]\n{}", backend.store_toml(&prefix)?);
        let config = Config::from_toml(&toml, "test.toml", ".").unwrap();
        let store = config.open("t").unwrap();
        Some(Self {
            store,
            prefix,
            dir: None,
        })
    }
}

/// Upload an object to fake-gcs-server through its JSON API (object_store's writes use the
/// XML API, which the emulator does not route; see docs/TESTING.md, "What is tested against what").
pub async fn gcs_seed(prefix: &str, key: &str, body: impl Into<reqwest::Body>) {
    let endpoint = Backend::FakeGcs
        .endpoint()
        .expect("fake-gcs-server endpoint");
    let bucket = std::env::var("STRATUS_TEST_BUCKET").unwrap_or_else(|_| "stratus".into());
    let name = if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    };
    let url = reqwest::Url::parse_with_params(
        &format!("{endpoint}/upload/storage/v1/b/{bucket}/o"),
        [("uploadType", "media"), ("name", name.as_str())],
    )
    .unwrap();
    let response = reqwest::Client::new()
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "seeding GCS {name}: {}",
        response.status()
    );
}

/// What a [`Relisted`] store lists: given the inner store, the prefix and the offset.
type Lister = dyn Fn(
        &Arc<dyn ObjectStore>,
        Option<&Path>,
        Option<&Path>,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>>
    + Send
    + Sync;

/// Run `script` (Python, with the Azure SDK; `STRATUS_TEST_PYTHON`) against Azurite's
/// container `container`: `os`, `sys`, `json` and `random` are imported, `svc` (the
/// service client) and `c` (the container's, created if missing) are defined before it,
/// and the environment variable `PREFIX` is `prefix`; `args` are its `sys.argv[1:]`.
/// What it prints.
pub fn azure_sdk(container: &str, prefix: &str, script: &str, args: &[&str]) -> String {
    let python =
        std::env::var("STRATUS_TEST_PYTHON").expect("STRATUS_TEST_PYTHON (scripts/test.sh)");
    let endpoint = Backend::Azurite.endpoint().expect("checked by the caller");
    let helpers = r#"
import os, sys, json, random
from azure.storage.blob import BlobServiceClient
CONN = ("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        "BlobEndpoint=" + os.environ["ENDPOINT"] + ";")
svc = BlobServiceClient.from_connection_string(CONN)
c = svc.get_container_client(os.environ["CONTAINER"])
try:
    c.create_container()
except Exception:
    pass
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(format!("{helpers}\n{script}"))
        .args(args)
        .env("ENDPOINT", endpoint)
        .env("CONTAINER", container)
        .env("PREFIX", prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "azure-storage-blob script failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// An in-memory store holding `objects` (key, size; every byte 7).
pub async fn filled_sized(objects: &[(String, usize)]) -> Arc<object_store::memory::InMemory> {
    let store = Arc::new(object_store::memory::InMemory::new());
    for (key, size) in objects {
        store
            .put(&Path::parse(key).unwrap(), vec![7u8; *size].into())
            .await
            .unwrap();
    }
    store
}

/// Every key of `store` and its size.
pub async fn sizes(store: &dyn ObjectStore) -> std::collections::BTreeMap<String, u64> {
    use futures::TryStreamExt;
    store
        .list(None)
        .map_ok(|m| (m.location.to_string(), m.size))
        .try_collect()
        .await
        .unwrap()
}

/// Whether `key` lies under `prefix` (empty: the whole store), as a sync or a verify
/// with that prefix sees keys.
pub fn under(prefix: &str, key: &str) -> bool {
    prefix.is_empty() || key.starts_with(&format!("{prefix}/"))
}

/// What `verify` of a source holding `src` against a destination holding `dst` (keys
/// and sizes) counts under `prefix`: the same, missing in the source, missing in the
/// destination, differing.
pub fn verify_truth(
    src: &[(String, usize)],
    dst: &[(String, usize)],
    prefix: &str,
) -> (u64, u64, u64, u64) {
    use std::collections::{BTreeMap, BTreeSet};
    let s: BTreeMap<&str, usize> = src.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let d: BTreeMap<&str, usize> = dst.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let union: BTreeSet<&str> = s.keys().chain(d.keys()).copied().collect();
    let mut truth = (0, 0, 0, 0);
    for k in union.into_iter().filter(|k| under(prefix, k)) {
        match (s.get(k), d.get(k)) {
            (Some(a), Some(b)) if a == b => truth.0 += 1,
            (None, Some(_)) => truth.1 += 1,
            (Some(_), None) => truth.2 += 1,
            _ => truth.3 += 1,
        }
    }
    truth
}

/// What is wrong with a destination that held `dst` and now holds `left` after
/// `sync --delete` from a source holding `src` under `prefix`: a key of the source it
/// held that is gone (never, whatever failed), or, after a sync that `succeeded`, a key
/// not as the source has it (outside the prefix: as it was). `None` when nothing is.
pub fn sync_wrong(
    src: &[(String, usize)],
    dst: &[(String, usize)],
    prefix: &str,
    left: &std::collections::BTreeMap<String, u64>,
    succeeded: bool,
) -> Option<String> {
    let held: std::collections::BTreeSet<&str> = dst.iter().map(|(k, _)| k.as_str()).collect();
    if let Some((key, _)) = src
        .iter()
        .find(|(k, _)| held.contains(k.as_str()) && !left.contains_key(k))
    {
        return Some(format!("{key} of the source deleted"));
    }
    if !succeeded {
        return None;
    }
    let mut want: std::collections::BTreeMap<String, u64> = src
        .iter()
        .filter(|(k, _)| under(prefix, k))
        .map(|(k, v)| (k.clone(), *v as u64))
        .collect();
    for (k, v) in dst.iter().filter(|(k, _)| !under(prefix, k)) {
        want.insert(k.clone(), *v as u64);
    }
    let wrong: Vec<&String> = want
        .iter()
        .filter(|(k, v)| left.get(*k) != Some(v))
        .map(|(k, _)| k)
        .chain(left.keys().filter(|k| !want.contains_key(*k)))
        .take(5)
        .collect();
    (!wrong.is_empty()).then(|| format!("the sync succeeded but left wrong: {wrong:?}"))
}

/// `all` as SeaweedFS lists it without `list_order = "sorted"`: folder by folder (a
/// folder `a` sorting as `a`, before `a-b`), and from a start-after of `after`, which
/// skips the `after/` subtree too.
pub fn folder_listing(mut all: Vec<ObjectMeta>, after: Option<&Path>) -> Vec<ObjectMeta> {
    let by_folder = |a: &str, b: &str| a.split('/').cmp(b.split('/'));
    all.sort_by(|a, b| by_folder(a.location.as_ref(), b.location.as_ref()));
    if let Some(after) = after {
        let after = after.as_ref();
        let below = format!("{after}/");
        all.retain(|m| {
            let k = m.location.as_ref();
            by_folder(k, after).is_gt() && !k.starts_with(&below)
        });
    }
    all
}

/// A store whose `list` and `list_with_offset` are replaced (everything else is the
/// inner store's): for tests of what stratus does with listings that break their
/// promises.
pub struct Relisted {
    pub inner: Arc<dyn ObjectStore>,
    what: &'static str,
    list: Box<Lister>,
    /// Puts through this store not finished yet.
    putting: Arc<AtomicU64>,
}

impl Relisted {
    /// Listings `list` makes of `inner` (given the prefix and the offset), described as
    /// `what`: a server that lists in an order of its own, ignores an offset or a prefix.
    pub fn with(
        inner: Arc<dyn ObjectStore>,
        what: &'static str,
        list: impl Fn(
                &Arc<dyn ObjectStore>,
                Option<&Path>,
                Option<&Path>,
            ) -> BoxStream<'static, object_store::Result<ObjectMeta>>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        Self {
            inner,
            what,
            list: Box::new(list),
            putting: Arc::default(),
        }
    }

    /// As SeaweedFS lists without `list_order = "sorted"` ([`folder_listing`]).
    pub fn folder_order(inner: Arc<dyn ObjectStore>) -> Self {
        Self::with(inner, "folder by folder", |inner, prefix, after| {
            let inner = Arc::clone(inner);
            let (prefix, after) = (prefix.cloned(), after.cloned());
            futures::stream::once(async move {
                let all: Vec<ObjectMeta> = inner
                    .list(prefix.as_ref())
                    .filter_map(|m| async move { m.ok() })
                    .collect()
                    .await;
                let all = folder_listing(all, after.as_ref());
                futures::stream::iter(all.into_iter().map(Ok))
            })
            .flatten()
            .boxed()
        })
    }

    /// Listings whose every entry takes two steps of 5 ms, each started only when the
    /// listing is polled (a request, then its body: a network listing progresses only
    /// while it is polled).
    pub fn stepwise(inner: Arc<dyn ObjectStore>) -> Self {
        Self::with(inner, "two steps an entry", |inner, prefix, after| {
            let listing = match after {
                Some(after) => inner.list_with_offset(prefix, after),
                None => inner.list(prefix),
            };
            listing
                .then(|meta| async move {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    meta
                })
                .boxed()
        })
    }

    /// Listings that yield the inner store's first `n` entries and then fail, as a
    /// member that drops its connection part-way through.
    pub fn then_fail(inner: Arc<dyn ObjectStore>, n: usize) -> Self {
        Self::with(inner, "then fail", move |inner, prefix, offset| {
            let listing = match offset {
                Some(offset) => inner.list_with_offset(prefix, offset),
                None => inner.list(prefix),
            };
            let failure = futures::stream::once(async {
                Err(object_store::Error::Generic {
                    store: "Relisted",
                    source: "the connection dropped".into(),
                })
            });
            listing.take(n).chain(failure).boxed()
        })
    }

    /// Listings read a page of `page` keys at a time, each page a new listing after the
    /// last key read, once the puts through this store that started before it finished:
    /// as S3 lists (start-after, read-after-write), so an object written during a
    /// listing, at a key it has not reached yet, is listed.
    pub fn paged(inner: Arc<dyn ObjectStore>, page: usize) -> Self {
        let putting = Arc::new(AtomicU64::new(0));
        let writes = Arc::clone(&putting);
        Self {
            inner,
            what: "paged",
            list: Box::new(move |inner, prefix, offset| {
                let state = (
                    Arc::clone(inner),
                    Arc::clone(&writes),
                    prefix.cloned(),
                    offset.cloned(),
                );
                futures::stream::unfold(Some(state), move |state| async move {
                    let (inner, writes, prefix, after) = state?;
                    // A round trip: whatever else runs, runs now.
                    tokio::task::yield_now().await;
                    while writes.load(Ordering::SeqCst) > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                    }
                    let listing = match &after {
                        Some(after) => inner.list_with_offset(prefix.as_ref(), after),
                        None => inner.list(prefix.as_ref()),
                    };
                    // Key order, whatever the store's (a folder's is the file system's).
                    let mut all: Vec<_> = match listing.collect::<Vec<_>>().await {
                        found if found.iter().any(|r| r.is_err()) => {
                            return Some((futures::stream::iter(found), None));
                        }
                        found => found.into_iter().map(|r| r.expect("checked")).collect(),
                    };
                    all.sort_by(|a, b| a.location.cmp(&b.location));
                    all.truncate(page);
                    let next = match all.last() {
                        Some(last) if all.len() == page => {
                            Some((inner, writes, prefix, Some(last.location.clone())))
                        }
                        _ => None,
                    };
                    let all: Vec<object_store::Result<ObjectMeta>> =
                        all.into_iter().map(Ok).collect();
                    Some((futures::stream::iter(all), next))
                })
                .flatten()
                .boxed()
            }),
            putting,
        }
    }

    /// `inner` (listed as it lists), its puts counted with this store's, so that this
    /// store's paged listings wait for them too: another client of the same bucket, or a
    /// folder inside this one.
    pub fn and_writes_to(&self, inner: Arc<dyn ObjectStore>) -> Self {
        Self {
            inner,
            what: "writing",
            list: Box::new(|inner, prefix, offset| match offset {
                Some(offset) => inner.list_with_offset(prefix, offset),
                None => inner.list(prefix),
            }),
            putting: Arc::clone(&self.putting),
        }
    }

    /// Listings of the inner store's objects `order`, in that order (whatever the prefix
    /// and offset), as a server that lists out of key order.
    pub fn in_order(inner: Arc<dyn ObjectStore>, order: Vec<Path>) -> Self {
        Self::with(inner, "in a given order", move |inner, _, _| {
            let inner = Arc::clone(inner);
            futures::stream::iter(order.clone())
                .then(move |key| {
                    let inner = Arc::clone(&inner);
                    async move { inner.head(&key).await }
                })
                .boxed()
        })
    }
}

/// One put in flight, counted until it ends (or is dropped).
struct Putting(Arc<AtomicU64>);

impl Putting {
    fn start(count: &Arc<AtomicU64>) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Self(Arc::clone(count))
    }
}

impl Drop for Putting {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Relisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relisted({}, {:?})", self.what, self.inner)
    }
}

impl std::fmt::Display for Relisted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Relisted({}, {})", self.what, self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Relisted {
    async fn put_opts(
        &self,
        l: &Path,
        p: object_store::PutPayload,
        o: object_store::PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        let _putting = Putting::start(&self.putting);
        self.inner.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &Path,
        o: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(l, o).await
    }
    async fn get_opts(
        &self,
        l: &Path,
        o: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        self.inner.get_opts(l, o).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        (self.list)(&self.inner, prefix, None)
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        (self.list)(&self.inner, prefix, Some(offset))
    }
    async fn list_with_delimiter(
        &self,
        p: Option<&Path>,
    ) -> object_store::Result<object_store::ListResult> {
        self.inner.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

/// A seeded xorshift generator: the same numbers for the same seed, for tests that
/// draw keys and choices from a seed.
pub fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}
