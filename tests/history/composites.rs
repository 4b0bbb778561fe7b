//! The composites' promises over concurrent histories: several clients run random
//! programs of puts, conditional puts, reads, deletes (one and batches repeating a key),
//! copies, renames and listings against a `ReplicatedStore` (quorum or all, ordered or
//! hedged reads, members that fail, slow down or hang) and a `ShardedStore` (a phase on
//! the old membership, one with a rebalance running while members join or leave, one on
//! the new membership). Each operation's call, answer and result is recorded; the
//! checker then decides whether the history is linearizable against a plain object
//! store (listings by the weaker rule of `check_listings`: they are not snapshots), and
//! after `repair` every member must hold the same thing. Every call has a deadline: an
//! operation that hangs fails the test.
//!
//! What stratus promises is stated on the types (`ReplicatedStore`, `ShardedStore`'s
//! *During a rebalance*); where it is weaker than a single object store, the history is
//! recorded as that weaker promise: a rename is recorded as a copy and a delete of its
//! source over the rename's interval (object_store's in-memory store renames that way,
//! and a sharded store's rename across members is a streamed copy then a delete).
//!
//! Runs on a current-thread runtime with paused time, so a program and its faults make
//! one history, the same on every run: a failure shrinks (proptest) and replays.
//! `STRATUS_HISTORY_CASES` sets the number of programs per composite (2,000 by default);
//! `STRATUS_HISTORY_SEED` the seed.

use super::checker::{self, Event, Op, Outcome, Recorder, Value};
use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError, TestRunner};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stratus::layer::fault::{Fault, FaultyStore, Op as FaultOp};
use stratus::replicate::{self, Compare, ReadPolicy, ReplicatedStore, SyncOptions, WritePolicy};
use stratus::shard::{self, ExecuteOptions, Member, Rendezvous, ShardedStore};

const KEYS: u8 = 4;
/// A call that takes longer (virtual time) hung.
const HUNG: Duration = Duration::from_secs(600);

/// One client's step.
#[derive(Debug, Clone)]
enum Act {
    Put(u8),
    Create(u8),
    /// An update conditional on the version this client last read (a head first when
    /// it has read none).
    Update(u8),
    Get(u8),
    Head(u8),
    Delete(u8),
    /// A batch deleting the first key twice and the second once.
    DeleteBatch(u8, u8),
    Copy(u8, u8),
    CopyIfNotExists(u8, u8),
    Rename(u8, u8),
    RenameIfNotExists(u8, u8),
    List,
    Pause(u8),
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Put,
    Get,
    Head,
    Delete,
    Copy,
    Rename,
    List,
}

impl Kind {
    fn ops(self) -> &'static [FaultOp] {
        match self {
            Kind::Put => &[FaultOp::Put],
            Kind::Get => &[FaultOp::Get],
            Kind::Head => &[FaultOp::Head],
            Kind::Delete => &[FaultOp::Delete],
            Kind::Copy => &[FaultOp::Copy],
            Kind::Rename => &[FaultOp::Rename],
            Kind::List => &[FaultOp::List],
        }
    }
}

/// A fault on one member, picked by operation and call count.
#[derive(Debug, Clone)]
enum Trouble {
    Fail {
        member: u8,
        kind: Kind,
        after: u8,
        times: u8,
    },
    Slow {
        member: u8,
        kind: Kind,
        millis: u16,
    },
    Hang {
        member: u8,
        kind: Kind,
        after: u8,
    },
}

#[derive(Debug, Clone)]
struct Program {
    clients: Vec<Vec<Act>>,
    troubles: Vec<Trouble>,
    /// Replicated: the quorum (0: all) and whether reads are hedged. Sharded: whether
    /// the new membership adds a member (else one leaves).
    quorum: u8,
    hedged: bool,
}

fn key() -> impl Strategy<Value = u8> {
    0..KEYS
}

/// A key copies and renames write (the upper half).
fn target() -> impl Strategy<Value = u8> {
    KEYS / 2..KEYS
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        6 => key().prop_map(Act::Put),
        2 => key().prop_map(Act::Create),
        // Updates only of keys no copy or rename writes: a copy writes a new version with
        // the value it copies, which the model (a version is its value) cannot tell from
        // the one read, but whose e-tag differs.
        2 => (0..KEYS / 2).prop_map(Act::Update),
        5 => key().prop_map(Act::Get),
        2 => key().prop_map(Act::Head),
        3 => key().prop_map(Act::Delete),
        1 => (key(), key()).prop_map(|(a, b)| Act::DeleteBatch(a, b)),
        2 => (key(), target()).prop_map(|(a, b)| Act::Copy(a, b)),
        1 => (key(), target()).prop_map(|(a, b)| Act::CopyIfNotExists(a, b)),
        2 => (key(), target()).prop_map(|(a, b)| Act::Rename(a, b)),
        // Onto itself only: across keys it is a copy then a delete that may be refused in
        // between, which the recorder cannot express.
        1 => key().prop_map(|a| Act::RenameIfNotExists(a, a)),
        2 => Just(Act::List),
        2 => (1u8..40).prop_map(Act::Pause),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Put),
        Just(Kind::Get),
        Just(Kind::Head),
        Just(Kind::Delete),
        Just(Kind::Copy),
        Just(Kind::Rename),
        Just(Kind::List),
    ]
}

fn trouble(members: u8) -> impl Strategy<Value = Trouble> {
    prop_oneof![
        (0..members, kind(), 0u8..6, 1u8..4).prop_map(|(member, kind, after, times)| {
            Trouble::Fail {
                member,
                kind,
                after,
                times,
            }
        }),
        (0..members, kind(), 1u16..80).prop_map(|(member, kind, millis)| Trouble::Slow {
            member,
            kind,
            millis
        }),
        (0..members, kind(), 0u8..6).prop_map(|(member, kind, after)| Trouble::Hang {
            member,
            kind,
            after
        }),
    ]
}

fn program(members: u8) -> impl Strategy<Value = Program> {
    (
        proptest::collection::vec(proptest::collection::vec(act(), 1..14), 2..5),
        proptest::collection::vec(trouble(members), 0..5),
        0u8..=3,
        any::<bool>(),
    )
        .prop_map(|(clients, troubles, quorum, hedged)| Program {
            clients,
            troubles,
            quorum,
            hedged,
        })
}

fn path(k: u8) -> Path {
    Path::from(format!("k{k}"))
}

fn name(k: u8) -> String {
    format!("k{k}")
}

/// Value `v` is a body of `v` bytes: listings show it as the size.
fn body(v: Value) -> Vec<u8> {
    vec![b'x'; v as usize]
}

/// `n` in-memory members behind `FaultyStore`s, each tagging its e-tags with its index
/// (see [`Tagged`]).
fn faulty(n: usize) -> Vec<Arc<FaultyStore>> {
    (0..n)
        .map(|i| {
            let tagged = Tagged {
                inner: Arc::new(InMemory::new()),
                tag: format!("@{i}"),
            };
            Arc::new(FaultyStore::new(Arc::new(tagged)))
        })
        .collect()
}

/// An in-memory store whose e-tags end with `tag`. object_store's `InMemory` numbers
/// its e-tags from 0 in each store, so two members hold equal e-tags for different
/// versions; a replicated store decides a conditional update by the member whose
/// version carries the caller's e-tag, which needs e-tags unique to their member (as
/// S3's, Azure's, GCS's and local folders' are).
#[derive(Debug)]
struct Tagged {
    inner: Arc<dyn ObjectStore>,
    tag: String,
}

impl Tagged {
    fn tagged(&self, e_tag: Option<String>) -> Option<String> {
        e_tag.map(|e| format!("{e}{}", self.tag))
    }

    fn untagged(&self, e_tag: Option<String>) -> Option<String> {
        // An e-tag of another member names no version here.
        e_tag.map(|e| match e.strip_suffix(&self.tag) {
            Some(own) => own.to_string(),
            None => format!("{e}#elsewhere"),
        })
    }

    fn meta(&self, meta: object_store::ObjectMeta) -> object_store::ObjectMeta {
        object_store::ObjectMeta {
            e_tag: self.tagged(meta.e_tag),
            ..meta
        }
    }
}

impl std::fmt::Display for Tagged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tagged({})", self.inner)
    }
}

#[async_trait::async_trait]
#[deny(clippy::missing_trait_methods)]
impl ObjectStore for Tagged {
    async fn put_opts(
        &self,
        location: &Path,
        payload: object_store::PutPayload,
        mut opts: PutOptions,
    ) -> object_store::Result<object_store::PutResult> {
        if let PutMode::Update(version) = &mut opts.mode {
            version.e_tag = self.untagged(version.e_tag.take());
        }
        let mut result = self.inner.put_opts(location, payload, opts).await?;
        result.e_tag = self.tagged(result.e_tag);
        Ok(result)
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: object_store::PutMultipartOptions,
    ) -> object_store::Result<Box<dyn object_store::MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        mut options: object_store::GetOptions,
    ) -> object_store::Result<object_store::GetResult> {
        options.if_match = self.untagged(options.if_match);
        options.if_none_match = self.untagged(options.if_none_match);
        let mut got = self.inner.get_opts(location, options).await?;
        got.meta = self.meta(got.meta);
        Ok(got)
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: futures::stream::BoxStream<'static, object_store::Result<Path>>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(
        &self,
        prefix: Option<&Path>,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        let tag = self.tag.clone();
        self.inner
            .list(prefix)
            .map_ok(move |meta| object_store::ObjectMeta {
                e_tag: meta.e_tag.map(|e| format!("{e}{tag}")),
                ..meta
            })
            .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> futures::stream::BoxStream<'static, object_store::Result<object_store::ObjectMeta>> {
        let tag = self.tag.clone();
        self.inner
            .list_with_offset(prefix, offset)
            .map_ok(move |meta| object_store::ObjectMeta {
                e_tag: meta.e_tag.map(|e| format!("{e}{tag}")),
                ..meta
            })
            .boxed()
    }

    async fn list_with_delimiter(
        &self,
        prefix: Option<&Path>,
    ) -> object_store::Result<object_store::ListResult> {
        let mut listed = self.inner.list_with_delimiter(prefix).await?;
        listed.objects = listed.objects.into_iter().map(|m| self.meta(m)).collect();
        Ok(listed)
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: object_store::RenameOptions,
    ) -> object_store::Result<()> {
        self.inner.rename_opts(from, to, options).await
    }
}

fn inject(members: &[Arc<FaultyStore>], troubles: &[Trouble]) {
    for trouble in troubles {
        let (member, faults): (u8, Vec<Fault>) = match *trouble {
            Trouble::Fail {
                member,
                kind,
                after,
                times,
            } => (
                member,
                kind.ops()
                    .iter()
                    .map(|op| Fault::fail(*op).after(after.into()).times(times.into()))
                    .collect(),
            ),
            Trouble::Slow {
                member,
                kind,
                millis,
            } => (
                member,
                kind.ops()
                    .iter()
                    .map(|op| Fault::delay(*op, Duration::from_millis(millis.into())))
                    .collect(),
            ),
            Trouble::Hang {
                member,
                kind,
                after,
            } => (
                member,
                kind.ops()
                    .iter()
                    .map(|op| Fault::delay(*op, HUNG * 10).after(after.into()).times(1))
                    .collect(),
            ),
        };
        for fault in faults {
            members[member as usize % members.len()].inject(fault);
        }
    }
}

/// A client: runs its acts against a store, recording each.
struct Client<'a> {
    id: usize,
    recorder: &'a Recorder,
    values: &'a AtomicU64,
    /// The version (and e-tag) this client last read of each key.
    seen: BTreeMap<u8, (Value, Option<String>, Option<String>)>,
    /// A refused conditional update counts as failed: during a rebalance an object's
    /// e-tag changes when it moves (the copy at the new owner has its own), so an update
    /// naming the old one may be refused although the version is the same (the sharded
    /// store documents it: read again and retry).
    moving: bool,
}

fn value_of(size: u64) -> Value {
    size
}

impl Client<'_> {
    fn next(&self) -> Value {
        self.values.fetch_add(1, Ordering::Relaxed)
    }

    async fn read(&mut self, store: &dyn ObjectStore, k: u8, head: bool) {
        let op = if head {
            Op::Head { key: name(k) }
        } else {
            Op::Get { key: name(k) }
        };
        let ticket = self.recorder.call(self.id, op);
        let answer = async {
            if head {
                store.head(&path(k)).await
            } else {
                let got = store.get(&path(k)).await?;
                let meta = got.meta.clone();
                let bytes = got.bytes().await?;
                Ok(object_store::ObjectMeta {
                    size: bytes.len() as u64,
                    ..meta
                })
            }
        };
        let outcome = match answer.await {
            Ok(meta) => {
                let v = value_of(meta.size);
                self.seen.insert(k, (v, meta.e_tag, meta.version));
                Outcome::Found(v)
            }
            Err(Error::NotFound { .. }) => Outcome::NotFound,
            Err(_) => Outcome::Failed,
        };
        self.recorder.ret(ticket, outcome);
    }

    async fn run(&mut self, store: &dyn ObjectStore, act: &Act) {
        let rec = self.recorder;
        match *act {
            Act::Put(k) | Act::Create(k) => {
                let v = self.next();
                let create = matches!(act, Act::Create(_));
                let op = match create {
                    true => Op::Create {
                        key: name(k),
                        value: v,
                    },
                    false => Op::Put {
                        key: name(k),
                        value: v,
                    },
                };
                let ticket = rec.call(self.id, op);
                let mode = if create {
                    PutMode::Create
                } else {
                    PutMode::Overwrite
                };
                let options = PutOptions {
                    mode,
                    ..Default::default()
                };
                let outcome = match store.put_opts(&path(k), body(v).into(), options).await {
                    Ok(_) => Outcome::Ok,
                    Err(Error::AlreadyExists { .. }) if create => Outcome::AlreadyExists,
                    Err(_) => Outcome::Failed,
                };
                rec.ret(ticket, outcome);
            }
            Act::Update(k) => {
                if !self.seen.contains_key(&k) {
                    self.read(store, k, true).await;
                }
                let Some((expected, e_tag, version)) = self.seen.get(&k).cloned() else {
                    return; // absent: nothing to update
                };
                let v = self.next();
                let op = Op::Update {
                    key: name(k),
                    expected,
                    value: v,
                };
                let ticket = rec.call(self.id, op);
                let options = PutOptions {
                    mode: PutMode::Update(UpdateVersion { e_tag, version }),
                    ..Default::default()
                };
                let outcome = match store.put_opts(&path(k), body(v).into(), options).await {
                    Ok(_) => Outcome::Ok,
                    Err(Error::Precondition { .. } | Error::NotFound { .. }) if self.moving => {
                        Outcome::Failed
                    }
                    Err(Error::Precondition { .. } | Error::NotFound { .. }) => Outcome::Refused,
                    Err(_) => Outcome::Failed,
                };
                rec.ret(ticket, outcome);
            }
            Act::Get(k) => self.read(store, k, false).await,
            Act::Head(k) => self.read(store, k, true).await,
            Act::Delete(k) => {
                let ticket = rec.call(self.id, Op::Delete { key: name(k) });
                let outcome = match store.delete(&path(k)).await {
                    Ok(()) => Outcome::Ok,
                    Err(Error::NotFound { .. }) => Outcome::NotFound,
                    Err(_) => Outcome::Failed,
                };
                rec.ret(ticket, outcome);
            }
            Act::DeleteBatch(a, b) => {
                let keys = [a, a, b];
                let tickets =
                    rec.call_many(self.id, keys.iter().map(|&k| Op::Delete { key: name(k) }));
                let paths =
                    futures::stream::iter(keys.iter().map(|&k| Ok(path(k))).collect::<Vec<_>>())
                        .boxed();
                let answers: Vec<_> = store.delete_stream(paths).collect().await;
                let mut outcomes: Vec<Outcome> = answers
                    .into_iter()
                    .map(|a| match a {
                        Ok(_) => Outcome::Ok,
                        Err(Error::NotFound { .. }) => Outcome::NotFound,
                        Err(_) => Outcome::Failed,
                    })
                    .collect();
                outcomes.resize(tickets.len(), Outcome::Failed);
                rec.ret_many(tickets.into_iter().zip(outcomes));
            }
            Act::Copy(f, t) | Act::CopyIfNotExists(f, t) => {
                let create = matches!(act, Act::CopyIfNotExists(..));
                let op = match create {
                    true => Op::CopyIfNotExists {
                        from: name(f),
                        to: name(t),
                    },
                    false => Op::Copy {
                        from: name(f),
                        to: name(t),
                    },
                };
                let ticket = rec.call(self.id, op);
                let done = match create {
                    true => store.copy_if_not_exists(&path(f), &path(t)).await,
                    false => store.copy(&path(f), &path(t)).await,
                };
                let outcome = match done {
                    Ok(()) => Outcome::Ok,
                    Err(Error::NotFound { .. }) => Outcome::NotFound,
                    Err(Error::AlreadyExists { .. }) if create => Outcome::AlreadyExists,
                    Err(_) => Outcome::Failed,
                };
                rec.ret(ticket, outcome);
            }
            Act::Rename(f, t) | Act::RenameIfNotExists(f, t) => {
                let create = matches!(act, Act::RenameIfNotExists(..));
                if f == t {
                    // Onto itself: the composites change nothing (atomic, as a rename
                    // within one folder).
                    let op = match create {
                        true => Op::RenameIfNotExists {
                            from: name(f),
                            to: name(t),
                        },
                        false => Op::Rename {
                            from: name(f),
                            to: name(t),
                        },
                    };
                    let ticket = rec.call(self.id, op);
                    let done = match create {
                        true => store.rename_if_not_exists(&path(f), &path(t)).await,
                        false => store.rename(&path(f), &path(t)).await,
                    };
                    let outcome = match done {
                        Ok(()) => Outcome::Ok,
                        Err(Error::NotFound { .. }) => Outcome::NotFound,
                        Err(Error::AlreadyExists { .. }) if create => Outcome::AlreadyExists,
                        Err(_) => Outcome::Failed,
                    };
                    return rec.ret(ticket, outcome);
                }
                // A copy and a delete of the source over the rename's interval (see the
                // module documentation).
                let copy = Op::Copy {
                    from: name(f),
                    to: name(t),
                };
                let mut tickets = rec.call_many(self.id, [copy, Op::Delete { key: name(f) }]);
                let done = store.rename(&path(f), &path(t)).await;
                let delete = tickets.pop().expect("two tickets");
                let copy = tickets.pop().expect("two tickets");
                match done {
                    Ok(()) => rec.ret_many([(copy, Outcome::Ok), (delete, Outcome::Ok)]),
                    // No source: the copy found none, and the delete had nothing to do.
                    Err(Error::NotFound { .. }) => {
                        rec.ret_many([(copy, Outcome::NotFound), (delete, Outcome::NotFound)])
                    }
                    Err(_) => rec.ret_many([(copy, Outcome::Failed), (delete, Outcome::Failed)]),
                }
            }
            Act::List => {
                let ticket = rec.call(
                    self.id,
                    Op::List {
                        prefix: String::new(),
                    },
                );
                let listed: Result<Vec<_>, _> = store.list(None).try_collect().await;
                let outcome = match listed {
                    Ok(metas) => Outcome::Listed(
                        metas
                            .into_iter()
                            .map(|m| (m.location.to_string(), value_of(m.size)))
                            .collect(),
                    ),
                    Err(_) => Outcome::Failed,
                };
                rec.ret(ticket, outcome);
            }
            Act::Pause(ms) => tokio::time::sleep(Duration::from_millis(ms.into())).await,
        }
    }
}

/// Run `acts` on each client against `store` at once; an act that takes longer than
/// [`HUNG`] fails the run.
async fn clients(
    store: &dyn ObjectStore,
    programs: &[&[Act]],
    recorder: &Recorder,
    values: &AtomicU64,
    first_id: usize,
    moving: bool,
) -> Result<(), String> {
    let runs = programs.iter().enumerate().map(|(i, acts)| async move {
        let mut client = Client {
            id: first_id + i,
            recorder,
            values,
            seen: BTreeMap::new(),
            moving,
        };
        for act in acts.iter() {
            if tokio::time::timeout(HUNG, client.run(store, act))
                .await
                .is_err()
            {
                return Err(format!("client {} hung on {act:?}", first_id + i));
            }
        }
        Ok(())
    });
    futures::future::join_all(runs)
        .await
        .into_iter()
        .collect::<Result<(), String>>()
}

/// Every key read once more through `store` after everything else, recorded.
async fn final_reads(store: &dyn ObjectStore, recorder: &Recorder, values: &AtomicU64) {
    let mut client = Client {
        id: 99,
        recorder,
        values,
        seen: BTreeMap::new(),
        moving: false,
    };
    for k in 0..KEYS {
        client.read(store, k, false).await;
    }
}

fn check(history: &[Event]) -> Result<(), String> {
    let initial = BTreeMap::new();
    checker::check_from(&initial, history).map_err(|e| format!("{e:#}"))?;
    checker::check_listings(&initial, history).map_err(|e| format!("{e:#}"))?;
    Ok(())
}

/// What each member holds of each key, as values.
async fn holdings(members: &[Arc<FaultyStore>]) -> Vec<Vec<Option<Value>>> {
    let mut all = Vec::new();
    for k in 0..KEYS {
        let mut row = Vec::new();
        for m in members {
            row.push(match m.inner().head(&path(k)).await {
                Ok(meta) => Some(value_of(meta.size)),
                Err(_) => None,
            });
        }
        all.push(row);
    }
    all
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime")
}

fn run_replicated(program: &Program) -> Result<(), String> {
    runtime().block_on(async {
        let members = faulty(3);
        inject(&members, &program.troubles);
        let named = ["a", "b", "c"]
            .iter()
            .zip(&members)
            .map(|(n, m)| (n.to_string(), Arc::clone(m) as Arc<dyn ObjectStore>));
        let write = match program.quorum {
            0 => WritePolicy::All,
            q => WritePolicy::Quorum(q.into()),
        };
        let read = match program.hedged {
            true => ReadPolicy::Hedged(Duration::from_millis(5)),
            false => ReadPolicy::Ordered,
        };
        let store = ReplicatedStore::new(named)
            .map_err(|e| e.to_string())?
            .with_write(write)
            .map_err(|e| e.to_string())?
            .with_read(read)
            .with_member_timeout(Duration::from_secs(2));
        let recorder = Recorder::new();
        let values = AtomicU64::new(1);
        let programs: Vec<&[Act]> = program.clients.iter().map(Vec::as_slice).collect();
        clients(&store, &programs, &recorder, &values, 0, false).await?;
        // Everything acknowledged is kept, and repair converges the members.
        tokio::time::timeout(HUNG, store.flush())
            .await
            .map_err(|_| "flush hung")?;
        members.iter().for_each(|m| m.clear());
        let options = SyncOptions::default().with_compare(Compare::Content);
        let report = tokio::time::timeout(HUNG, replicate::repair(&store, &options))
            .await
            .map_err(|_| "repair hung")?
            .map_err(|e| format!("repair: {e}"))?;
        if report.failed > 0 {
            return Err(format!("repair failed: {report:?}"));
        }
        final_reads(&store, &recorder, &values).await;
        check(&recorder.history())?;
        let held = holdings(&members).await;
        for (k, row) in held.iter().enumerate() {
            if row.windows(2).any(|w| w[0] != w[1]) {
                return Err(format!(
                    "after repair, k{k} differs between members: {row:?}"
                ));
            }
        }
        Ok(())
    })
}

fn placement(names: &[&str]) -> Rendezvous {
    Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 8).unwrap()
}

fn sharded(
    names: &[&str],
    previous: Option<&[&str]>,
    members: &[Arc<FaultyStore>],
) -> Result<ShardedStore, String> {
    let all = ["a", "b", "c", "d"];
    let store_of = |n: &&str| {
        let i = all.iter().position(|x| x == n).expect("a member");
        (
            n.to_string(),
            Arc::clone(&members[i]) as Arc<dyn ObjectStore>,
        )
    };
    let current: Vec<_> = names.iter().map(store_of).collect();
    let store = ShardedStore::new(placement(names), current).map_err(|e| e.to_string())?;
    match previous {
        None => Ok(store),
        Some(old) => {
            let rest: Vec<_> = old
                .iter()
                .filter(|n| !names.contains(n))
                .map(store_of)
                .collect();
            store
                .with_previous(placement(old), rest)
                .map_err(|e| e.to_string())
        }
    }
}

fn run_sharded(program: &Program) -> Result<(), String> {
    // A sharded store has no member timeout: a member that hangs hangs its calls, as a
    // plain store would. Its members fail or slow down here, never hang.
    let mut program = program.clone();
    for trouble in &mut program.troubles {
        if let Trouble::Hang { member, kind, .. } = *trouble {
            *trouble = Trouble::Slow {
                member,
                kind,
                millis: 500,
            };
        }
    }
    let program = &program;
    runtime().block_on(async {
        let members = faulty(4);
        // The membership before and after: a member joins, or one leaves.
        let (old, new): (&[&str], &[&str]) = match program.hedged {
            true => (&["a", "b", "c"], &["a", "b", "c", "d"]),
            false => (&["a", "b", "c", "d"], &["a", "b", "d"]),
        };
        let recorder = Recorder::new();
        let values = AtomicU64::new(1);
        // 1. On the old membership, healthy: the first half of each program.
        let halves: Vec<(&[Act], &[Act])> = program
            .clients
            .iter()
            .map(|acts| acts.split_at(acts.len() / 2))
            .collect();
        let before = sharded(old, None, &members)?;
        let firsts: Vec<&[Act]> = halves.iter().map(|(a, _)| *a).collect();
        clients(&before, &firsts, &recorder, &values, 0, false).await?;
        // 2. A rebalance runs on the store the clients use, members slow or failing.
        inject(&members, &program.troubles);
        let during = sharded(new, Some(old), &members)?;
        let seconds: Vec<&[Act]> = halves.iter().map(|(_, b)| *b).collect();
        let rebalance = async {
            let options = ExecuteOptions::default().with_concurrency(2);
            tokio::time::timeout(HUNG, shard::rebalance(&during, &options))
                .await
                .map_err(|_| "rebalance hung".to_string())
        };
        let (ran, _) = futures::join!(
            clients(&during, &seconds, &recorder, &values, 10, true),
            rebalance
        );
        ran?;
        // Until everything is where it belongs (faults healed), then the new membership.
        members.iter().for_each(|m| m.clear());
        for _ in 0..3 {
            let (plan, report) = shard::rebalance(&during, &ExecuteOptions::default())
                .await
                .map_err(|e| format!("rebalance: {e}"))?;
            if report.conflicted > 0 {
                return Err(format!(
                    "the rebalance kept conflicting versions: {report:?}"
                ));
            }
            if plan.moves.is_empty() {
                break;
            }
        }
        let after = sharded(new, None, &members)?;
        final_reads(&after, &recorder, &values).await;
        check(&recorder.history())
    })
}

fn runner(cases_default: u32) -> TestRunner {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    TestRunner::new(ProptestConfig {
        cases: env("STRATUS_HISTORY_CASES").map_or(cases_default, |n| n as u32),
        rng_seed: RngSeed::Fixed(env("STRATUS_HISTORY_SEED").unwrap_or(0x5eed_0023)),
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

/// How many programs ran, and their operations, for the report.
static RAN: Mutex<(u64, u64)> = Mutex::new((0, 0));

fn tally(program: &Program) {
    let mut ran = RAN.lock().unwrap();
    ran.0 += 1;
    ran.1 += program.clients.iter().map(|c| c.len() as u64).sum::<u64>();
}

#[test]
fn replicated_histories_are_linearizable_and_repair_converges() {
    let started = std::time::Instant::now();
    let result = runner(2000).run(&program(3), |p| {
        tally(&p);
        run_replicated(&p).map_err(TestCaseError::fail)
    });
    eprintln!(
        "replicated: {:?} programs and acts so far, {:.1?}",
        RAN.lock().unwrap(),
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn sharded_histories_with_a_rebalance_running_are_linearizable() {
    let started = std::time::Instant::now();
    let result = runner(2000).run(&program(4), |p| {
        tally(&p);
        run_sharded(&p).map_err(TestCaseError::fail)
    });
    eprintln!(
        "sharded: {:?} programs and acts so far, {:.1?}",
        RAN.lock().unwrap(),
        started.elapsed()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Found by a long run (seed 11): a listing under `ListPolicy::First` showed the first
/// member's old copy of a key whose later writes it had not applied yet.
#[test]
fn replicated_listing_of_a_key_the_first_member_is_still_writing() {
    use Act::*;
    let program = Program {
        clients: vec![
            vec![Put(3), Rename(1, 3), Put(0), Rename(0, 3)],
            vec![Put(1), Create(0), Put(3)],
            vec![List, List],
        ],
        troubles: vec![
            Trouble::Hang {
                member: 2,
                kind: Kind::Put,
                after: 0,
            },
            Trouble::Slow {
                member: 1,
                kind: Kind::Rename,
                millis: 1,
            },
            Trouble::Slow {
                member: 0,
                kind: Kind::Rename,
                millis: 1,
            },
        ],
        quorum: 1,
        hedged: false,
    };
    run_replicated(&program).unwrap();
}
