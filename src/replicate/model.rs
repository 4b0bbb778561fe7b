//! A model-based test of what a replicated store with a journal promises: **every
//! acknowledged write and delete survives**, whatever happens between them.
//!
//! Random histories of puts, deletes (one at a time, and batches repeating a key),
//! renames, copies, conditional creates and reads run against a store over three
//! in-memory members, interleaved with:
//!
//! - member faults: a member fails the next operations of a kind, or hangs (its calls
//!   never answer; the member timeout counts them failed);
//! - journal I/O errors, through the journal's disk seam: a short write (a full disk),
//!   an `fsync` that fails (and drops what it should have written), a rewrite that fails;
//! - crashes: the process dies (its runtime and every write still running in the
//!   background are dropped) and the disk keeps what was `fsync`ed plus any part of what
//!   was not; then a new process opens the journal again;
//! - configuration changes between processes: a member left out (maintenance), put back,
//!   members reordered, another write policy.
//!
//! The model is what each key may hold: a set of values (`None`: absent). An
//! acknowledged write makes it one value; a write that failed may or may not have taken
//! effect (it adds its value). Each answer must be possible in the model (a read, a
//! refusal, a rename of an object that must exist), and after a last crash, a process
//! with every member, `repair_recorded` and then `repair`, every member must hold the
//! same value of every key, one the model allows: an acknowledged put is on every
//! member with its body, an acknowledged delete is gone everywhere, and nothing comes
//! back.
//!
//! Runs in CI with a fixed seed (`STRATUS_MODEL_CASES` histories, 1,500 by default;
//! `STRATUS_MODEL_SEED` to change the seed); proptest shrinks a failing history to a
//! short one and prints it.

use super::journal::testing::{Failure, FaultyDisk};
use super::{repair, repair_recorded, ReplicatedStore, SyncOptions, WritePolicy};
use crate::layer::fault::{Fault, FaultyStore, Op};
use futures::StreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions};
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError, TestRunner};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const KEYS: u8 = 4;
const NAMES: [&str; 3] = ["a", "b", "c"];
/// A call that takes this long (virtual time) hung: a failure of the store.
const HUNG: Duration = Duration::from_secs(3600);

/// What a member can be made to fail.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Put,
    Delete,
    Rename,
    Copy,
    Read,
}

#[derive(Debug, Clone)]
enum Step {
    Put(u8),
    Delete(u8),
    /// A batch deleting the key twice.
    DeleteTwice(u8),
    Rename(u8, u8),
    Copy(u8, u8),
    Create(u8),
    Get(u8),
    Fail {
        member: u8,
        kind: Kind,
        times: u8,
    },
    Hang {
        member: u8,
        times: u8,
    },
    Heal,
    Disk(Failure),
    /// Crash, then a process with these members (indexes into `NAMES`, in order; one at
    /// least) and this quorum (clamped to the members); `keep` picks how much of what
    /// was not `fsync`ed the disk keeps.
    Restart {
        members: Vec<u8>,
        quorum: u8,
        keep: u16,
    },
    Repair {
        recorded: bool,
    },
}

fn key() -> impl Strategy<Value = u8> {
    0..KEYS
}

fn step() -> impl Strategy<Value = Step> {
    let kind = prop_oneof![
        Just(Kind::Put),
        Just(Kind::Delete),
        Just(Kind::Rename),
        Just(Kind::Copy),
        Just(Kind::Read),
    ];
    let disk = prop_oneof![
        (0usize..40).prop_map(Failure::ShortWrite),
        Just(Failure::Sync),
        Just(Failure::Replace),
    ];
    let members = proptest::sample::subsequence(vec![0u8, 1, 2], 1..=3).prop_shuffle();
    prop_oneof![
        8 => key().prop_map(Step::Put),
        4 => key().prop_map(Step::Delete),
        1 => key().prop_map(Step::DeleteTwice),
        2 => (key(), key()).prop_map(|(a, b)| Step::Rename(a, b)),
        2 => (key(), key()).prop_map(|(a, b)| Step::Copy(a, b)),
        2 => key().prop_map(Step::Create),
        4 => key().prop_map(Step::Get),
        3 => (0u8..3, kind, 1u8..4).prop_map(|(member, kind, times)| Step::Fail { member, kind, times }),
        1 => (0u8..3, 1u8..3).prop_map(|(member, times)| Step::Hang { member, times }),
        2 => Just(Step::Heal),
        2 => disk.prop_map(Step::Disk),
        2 => (members, 1u8..=3, any::<u16>()).prop_map(|(members, quorum, keep)| Step::Restart { members, quorum, keep }),
        1 => any::<bool>().prop_map(|recorded| Step::Repair { recorded }),
    ]
}

fn history() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(step(), 5..60)
}

/// What each key may hold.
type Model = BTreeMap<u8, BTreeSet<Option<u64>>>;

/// What the runs exercised, for the test's report.
#[derive(Default)]
struct Seen {
    histories: AtomicU64,
    steps: AtomicU64,
    crashes: AtomicU64,
    config_changes: AtomicU64,
    absent: AtomicU64,
    disk_failures: AtomicU64,
    member_faults: AtomicU64,
    hangs: AtomicU64,
    acknowledged: AtomicU64,
    failed: AtomicU64,
}

/// One process: its runtime (dropped: the process died) and its store.
struct Process {
    runtime: tokio::runtime::Runtime,
    store: Option<ReplicatedStore>,
    members: Vec<u8>,
}

impl Process {
    fn start(
        members: &[Arc<FaultyStore>],
        disk: &FaultyDisk,
        order: &[u8],
        quorum: u8,
    ) -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let named = order.iter().map(|&m| {
            let store = Arc::clone(&members[m as usize]) as Arc<dyn ObjectStore>;
            (NAMES[m as usize].to_string(), store)
        });
        let quorum = (quorum as usize).clamp(1, order.len());
        let mut last = String::new();
        // A failure queued for the disk may hit the open (a rewrite of a damaged
        // journal): it is one-shot, so the next attempt opens it.
        for _ in 0..4 {
            let store = ReplicatedStore::new(named.clone())
                .map_err(|e| e.to_string())?
                .with_write(WritePolicy::Quorum(quorum))
                .map_err(|e| e.to_string())?
                .with_member_timeout(Duration::from_secs(5));
            match store.with_journal_on(Arc::new(disk.clone()), &PathBuf::from("/journal")) {
                Ok(store) => {
                    return Ok(Self {
                        runtime,
                        store: Some(store),
                        members: order.to_vec(),
                    })
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("the journal does not open: {last}"))
    }

    fn store(&self) -> &ReplicatedStore {
        self.store.as_ref().expect("a store")
    }

    /// The process dies: the store, and every task still running, are dropped.
    fn crash(mut self) {
        drop(self.store.take());
        drop(self.runtime);
    }
}

fn path(key: u8) -> Path {
    Path::from(format!("k{key}"))
}

fn value_of(body: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|s| s.strip_prefix('v'))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("not a value: {body:?}"))
}

/// An answer that contradicts the model.
fn impossible(what: &str, model: &Model, key: u8) -> String {
    format!("{what}, but k{key} may only hold {:?}", model[&key])
}

fn run(history: &[Step], seen: &Seen) -> Result<(), String> {
    let members: Vec<Arc<FaultyStore>> = (0..3)
        .map(|_| Arc::new(FaultyStore::new(Arc::new(InMemory::new()))))
        .collect();
    let disk = FaultyDisk::default();
    let mut model: Model = (0..KEYS).map(|k| (k, BTreeSet::from([None]))).collect();
    let mut next = 0u64;
    let mut process = Some(Process::start(&members, &disk, &[0, 1, 2], 2)?);
    let count = |c: &AtomicU64| c.fetch_add(1, Ordering::Relaxed);
    count(&seen.histories);
    for (at, step) in history.iter().enumerate() {
        count(&seen.steps);
        let p = process.as_ref().expect("a process");
        let context = |e: String| format!("step {at} ({step:?}): {e}");
        match step {
            Step::Restart {
                members: order,
                quorum,
                keep,
            } => {
                let before = p.members.clone();
                process.take().expect("a process").crash();
                count(&seen.crashes);
                disk.crash(|unsynced| *keep as usize % (unsynced + 1));
                if *order != before {
                    count(&seen.config_changes);
                }
                if order.len() < 3 {
                    count(&seen.absent);
                }
                process = Some(Process::start(&members, &disk, order, *quorum).map_err(context)?);
            }
            Step::Fail {
                member,
                kind,
                times,
            } => {
                count(&seen.member_faults);
                let times = u64::from(*times);
                let ops: &[Op] = match kind {
                    Kind::Put => &[Op::Put],
                    Kind::Delete => &[Op::Delete],
                    Kind::Rename => &[Op::Rename],
                    Kind::Copy => &[Op::Copy],
                    Kind::Read => &[Op::Get, Op::Head],
                };
                for op in ops {
                    members[*member as usize].inject(Fault::fail(*op).times(times));
                }
            }
            Step::Hang { member, times } => {
                count(&seen.hangs);
                for op in [Op::Put, Op::Delete, Op::Rename, Op::Copy, Op::Get, Op::Head] {
                    let hang = Fault::delay(op, HUNG).times(u64::from(*times));
                    members[*member as usize].inject(hang);
                }
            }
            Step::Heal => members.iter().for_each(|m| m.clear()),
            Step::Disk(failure) => disk.fail(*failure),
            step => {
                let store = p.store().clone();
                let answer = p.runtime.block_on(async {
                    tokio::time::timeout(HUNG, apply(&store, step, &mut model, &mut next, seen))
                        .await
                        .map_err(|_| "a call hung".to_string())?
                });
                answer.map_err(context)?;
            }
        }
        if std::env::var_os("STRATUS_MODEL_TRACE").is_some() {
            let p = process.as_ref().expect("a process");
            let held = p.runtime.block_on(async {
                let mut all = Vec::new();
                for k in 0..KEYS {
                    all.push(holdings(&members, k).await);
                }
                all
            });
            let now = p.runtime.block_on(async { tokio::time::Instant::now() });
            eprintln!(
                "{at} {step:?} at {now:?}: record {:?} held {held:?}",
                p.store().missed()
            );
        }
    }
    seen.disk_failures
        .fetch_add(disk.failed(), Ordering::Relaxed);
    // The last crash, then every member, healthy, and repair.
    process.take().expect("a process").crash();
    disk.crash(|_| 0);
    members.iter().for_each(|m| m.clear());
    let last = Process::start(&members, &disk, &[0, 1, 2], 3)?;
    let store = last.store().clone();
    last.runtime.block_on(async {
        // What the record holds is enough for everything acknowledged: after
        // `repair_recorded`, every key the model pins to one value holds it everywhere.
        let recorded = repair_recorded(&store, &SyncOptions::default())
            .await
            .map_err(|e| format!("final repair_recorded: {e}"))?;
        // The one key repair may leave: the members that applied its last write lost it
        // (a delete whose record a failed journal write lost), the others hold an older
        // version. Both are kept, and reads go by the record: checked through the store.
        let ambiguous = |report: &super::RepairReport| -> Result<BTreeSet<u8>, String> {
            let mut keys = BTreeSet::new();
            for (key, err) in &report.failures {
                if !err.to_string().contains("no longer hold it") {
                    return Err(format!("final repair failed: {report:?}"));
                }
                let k = key
                    .as_ref()
                    .trim_start_matches('k')
                    .parse()
                    .map_err(|_| "a key")?;
                keys.insert(k);
            }
            Ok(keys)
        };
        let mut kept = ambiguous(&recorded)?;
        for k in (0..KEYS).filter(|k| !kept.contains(k)) {
            let held = holdings(&members, k).await?;
            if model[&k].len() == 1 && held.iter().any(|v| !model[&k].contains(v)) {
                return Err(impossible(
                    &format!("after repair_recorded the members hold {held:?}"),
                    &model,
                    k,
                ));
            }
        }
        // A full repair comparing bytes converges what failed writes left different
        // (a failed write's record may die with the process, and equal sizes with opaque
        // ETags look the same to the default comparison), within what the model allows.
        let options = SyncOptions::default().with_compare(super::Compare::Content);
        let full = repair(&store, &options)
            .await
            .map_err(|e| format!("final repair: {e}"))?;
        kept.extend(ambiguous(&full)?);
        for &k in &kept {
            let read = match store.get(&path(k)).await {
                Ok(got) => Some(value_of(&got.bytes().await.map_err(|e| e.to_string())?)?),
                Err(Error::NotFound { .. }) => None,
                Err(e) => return Err(format!("read of k{k}: {e}")),
            };
            if !model[&k].contains(&read) {
                return Err(impossible(
                    &format!("after repair a read returns {read:?}"),
                    &model,
                    k,
                ));
            }
        }
        for k in (0..KEYS).filter(|k| !kept.contains(k)) {
            let held = holdings(&members, k).await?;
            if held.windows(2).any(|w| w[0] != w[1]) {
                return Err(format!(
                    "after repair, k{k} differs between members: {held:?}"
                ));
            }
            if !model[&k].contains(&held[0]) {
                return Err(impossible(
                    &format!("after repair every member holds {:?}", held[0]),
                    &model,
                    k,
                ));
            }
        }
        Ok(())
    })?;
    last.crash();
    Ok(())
}

/// What each member holds at `key` (`None`: nothing).
async fn holdings(members: &[Arc<FaultyStore>], key: u8) -> Result<Vec<Option<u64>>, String> {
    let mut held = Vec::new();
    for m in members {
        held.push(match m.inner().get(&path(key)).await {
            Ok(got) => Some(value_of(&got.bytes().await.map_err(|e| e.to_string())?)?),
            Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e.to_string()),
        });
    }
    Ok(held)
}

/// Carry out one operation and hold its answer against the model.
async fn apply(
    store: &ReplicatedStore,
    step: &Step,
    model: &mut Model,
    next: &mut u64,
    seen: &Seen,
) -> Result<(), String> {
    let mut value = || {
        *next += 1;
        *next
    };
    let tally = |ok: bool| {
        let counter = if ok { &seen.acknowledged } else { &seen.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    };
    let present = |set: &BTreeSet<Option<u64>>| -> BTreeSet<Option<u64>> {
        set.iter().filter(|v| v.is_some()).copied().collect()
    };
    match *step {
        Step::Put(k) => {
            let v = value();
            let done = store.put(&path(k), format!("v{v}").into()).await;
            tally(done.is_ok());
            match done {
                Ok(_) => model.insert(k, BTreeSet::from([Some(v)])),
                Err(_) => {
                    model.entry(k).or_default().insert(Some(v));
                    None
                }
            };
        }
        Step::Create(k) => {
            let v = value();
            let options = PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            let done = store
                .put_opts(&path(k), format!("v{v}").into(), options)
                .await;
            tally(done.is_ok());
            match done {
                Ok(_) if !model[&k].contains(&None) => {
                    return Err(impossible("a create succeeded", model, k))
                }
                Ok(_) => {
                    model.insert(k, BTreeSet::from([Some(v)]));
                }
                Err(Error::AlreadyExists { .. }) if present(&model[&k]).is_empty() => {
                    return Err(impossible("a create found the key taken", model, k))
                }
                Err(Error::AlreadyExists { .. }) => {}
                Err(_) => {
                    model.entry(k).or_default().insert(Some(v));
                }
            }
        }
        Step::Delete(k) | Step::DeleteTwice(k) => {
            let twice = matches!(step, Step::DeleteTwice(_));
            let paths: Vec<object_store::Result<Path>> = (0..if twice { 2 } else { 1 })
                .map(|_| Ok(path(k)))
                .collect();
            let answers: Vec<_> = store
                .delete_stream(futures::stream::iter(paths).boxed())
                .collect()
                .await;
            let ok = answers
                .iter()
                .all(|a| matches!(a, Ok(_) | Err(Error::NotFound { .. })));
            tally(ok);
            if ok {
                model.insert(k, BTreeSet::from([None]));
            } else {
                model.entry(k).or_default().insert(None);
            }
        }
        Step::Rename(from, to) | Step::Copy(from, to) => {
            let rename = matches!(step, Step::Rename(..));
            let done = match rename {
                true => store.rename(&path(from), &path(to)).await,
                false => store.copy(&path(from), &path(to)).await,
            };
            tally(done.is_ok());
            let source = present(&model[&from]);
            match done {
                Ok(()) if source.is_empty() => {
                    return Err(impossible("a rename or copy found its source", model, from))
                }
                Ok(()) if from == to => {}
                Ok(()) => {
                    model.insert(to, source);
                    if rename {
                        model.insert(from, BTreeSet::from([None]));
                    }
                }
                Err(Error::NotFound { .. }) if !model[&from].contains(&None) => {
                    return Err(impossible("a rename or copy found no source", model, from))
                }
                Err(Error::NotFound { .. }) => {}
                Err(_) => {
                    if from != to {
                        model.entry(to).or_default().extend(source);
                        if rename {
                            model.entry(from).or_default().insert(None);
                        }
                    }
                }
            }
        }
        Step::Get(k) => match store.get(&path(k)).await {
            Ok(got) => {
                let body = got.bytes().await.map_err(|e| e.to_string())?;
                let v = Some(value_of(&body)?);
                if !model[&k].contains(&v) {
                    return Err(impossible(&format!("a read returned {v:?}"), model, k));
                }
            }
            Err(Error::NotFound { .. }) if !model[&k].contains(&None) => {
                return Err(impossible("a read found nothing", model, k));
            }
            Err(_) => {}
        },
        Step::Repair { recorded } => {
            // What repair may carry out is what the model allows already (a failed write
            // may have taken effect); a failure is reported, and changes nothing owed.
            let options = SyncOptions::default();
            let _ = match recorded {
                true => repair_recorded(store, &options).await,
                false => repair(store, &options).await,
            };
        }
        _ => unreachable!("not an operation"),
    }
    Ok(())
}

#[test]
#[ignore = "debugging aid: set STRATUS_MODEL_TRACE and edit the history"]
fn one_history() {
    use Step::*;
    let history = vec![
        Heal,
        Hang {
            member: 0,
            times: 1,
        },
        Put(0),
        Put(2),
        Delete(3),
        Heal,
        Copy(2, 3),
        Create(3),
        Put(3),
        Delete(2),
        Repair { recorded: false },
    ];
    run(&history, &Seen::default()).unwrap();
}

#[test]
fn acknowledged_writes_and_deletes_survive_faults_crashes_and_config_changes() {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let config = ProptestConfig {
        cases: env("STRATUS_MODEL_CASES", 1500) as u32,
        rng_seed: RngSeed::Fixed(env("STRATUS_MODEL_SEED", 0x5eed_0022)),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let seen = Seen::default();
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&history(), |history| {
        run(&history, &seen).map_err(TestCaseError::fail)
    });
    let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
    eprintln!(
        "model: {} histories ({} steps) in {:.1?}: {} acknowledged and {} failed operations, \
         {} crashes, {} configuration changes ({} with a member absent), {} member faults, \
         {} hangs, {} journal I/O errors",
        n(&seen.histories),
        n(&seen.steps),
        started.elapsed(),
        n(&seen.acknowledged),
        n(&seen.failed),
        n(&seen.crashes),
        n(&seen.config_changes),
        n(&seen.absent),
        n(&seen.member_faults),
        n(&seen.hangs),
        n(&seen.disk_failures),
    );
    if let Err(err) = result {
        panic!("{err}");
    }
}
