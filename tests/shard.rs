//! Sharding: the placement's properties and golden vectors, ShardedStore behaviour, and
//! rebalance (with injected faults here, on emulators in `shard_emulators`).
//!
//! Statistical bounds: with `2^20` slots a member's slot count is binomial, so each bound
//! below is either the target (checked on fixed member names, so the test is
//! deterministic) or several standard deviations wide; the comment at each says which.

mod common;

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::shard::{self, ExecuteOptions, Member, Placement, Rendezvous, ShardedStore};

fn equal(n: usize) -> Vec<Member> {
    (0..n)
        .map(|i| Member::new(format!("member-{i:03}")))
        .collect()
}

fn owners(p: &Rendezvous) -> Vec<String> {
    (0..1usize << p.slot_bits())
        .map(|slot| p.members()[p.slot_owner(slot)].name().to_owned())
        .collect()
}

#[test]
fn balance_at_100_equal_members_is_within_3_percent_of_the_mean() {
    let p = Rendezvous::new(equal(100)).unwrap();
    let shares = p.shares();
    let peak = shares.iter().cloned().fold(0.0, f64::max);
    let ratio = peak * 100.0;
    // The target. Expected about 1.025 (mean + 2.5 sigma of 100 binomials).
    assert!(ratio <= 1.03, "peak-to-mean {ratio:.4}");
    eprintln!("peak-to-mean share at 100 equal members: {ratio:.4}");
}

#[test]
fn adding_a_member_moves_only_its_new_slots_and_about_the_optimal_fraction() {
    let n = 100;
    let base = Rendezvous::new(equal(n)).unwrap();
    let before = owners(&base);
    let optimal = 1.0 / (n + 1) as f64;
    let mut ratios = Vec::new();
    for trial in 0..8 {
        let newcomer = format!("newcomer-{trial}");
        let mut grown = base.clone();
        grown.add(Member::new(newcomer.clone())).unwrap();
        let after = owners(&grown);
        let mut moved = 0usize;
        for (old, new) in before.iter().zip(&after) {
            if old != new {
                assert_eq!(*new, newcomer, "a slot moved between existing members");
                moved += 1;
            }
        }
        let ratio = moved as f64 / after.len() as f64 / optimal;
        // One trial's ratio is binomial with sigma ~1%: 5 sigma per trial.
        assert!(ratio < 1.05, "trial {trial}: moved {ratio:.4} x optimal");
        ratios.push(ratio);
    }
    let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
    // The target, on the mean of 8 newcomers (sigma of the mean ~0.35%).
    assert!(
        mean <= 1.01,
        "mean moved fraction {mean:.4} x optimal ({ratios:?})"
    );
    eprintln!("moved on add, x optimal: mean {mean:.4}, trials {ratios:.4?}");
}

#[test]
fn removing_a_member_moves_only_its_slots() {
    let base = Rendezvous::new(equal(50)).unwrap();
    let before = owners(&base);
    for gone in ["member-000", "member-017", "member-049"] {
        let mut shrunk = base.clone();
        shrunk.remove(gone).unwrap();
        for (old, new) in before.iter().zip(owners(&shrunk)) {
            if *old != gone {
                assert_eq!(*old, new, "a slot of a remaining member moved");
            } else {
                assert_ne!(new, gone);
            }
        }
    }
}

#[test]
fn a_new_placement_equals_one_grown_or_shrunk_incrementally() {
    let mut grown = Rendezvous::with_slot_bits(equal(20), 16).unwrap();
    grown.add(Member::weighted("extra", 2.5)).unwrap();
    grown.remove("member-007").unwrap();
    let mut members = equal(20);
    members.retain(|m| m.name() != "member-007");
    members.push(Member::weighted("extra", 2.5));
    let fresh = Rendezvous::with_slot_bits(members, 16).unwrap();
    assert_eq!(owners(&grown), owners(&fresh));
}

#[test]
fn shares_follow_weights_1_to_4_within_1_percent() {
    let members: Vec<Member> = (1..=4)
        .map(|w| Member::weighted(format!("w{w}"), w as f64))
        .collect();
    let p = Rendezvous::new(members).unwrap();
    for (member, share) in p.members().iter().zip(p.shares()) {
        let expected = member.weight() / 10.0;
        let error = (share - expected).abs() / expected;
        // The target; the weight-1 member's sigma is ~0.3%.
        assert!(
            error <= 0.01,
            "{}: share {share:.5}, expected {expected:.5}",
            member.name()
        );
    }
}

#[test]
fn raising_a_weight_moves_slots_only_to_that_member() {
    let base = Rendezvous::with_slot_bits(equal(10), 16).unwrap();
    let before = owners(&base);
    let mut heavier = base.clone();
    heavier.set_weight("member-003", 2.0).unwrap();
    for (old, new) in before.iter().zip(owners(&heavier)) {
        if *old != new {
            assert_eq!(new, "member-003");
        }
    }
    let share = heavier.shares()[3];
    assert!((share - 2.0 / 11.0).abs() < 0.01, "{share}");
}

// ---------------------------------------------------------------------------------------
// Golden vectors: the placement format must never change by accident.

// ---------------------------------------------------------------------------------------
// ShardedStore over in-memory members.

fn memory_members(names: &[&str]) -> Vec<(String, Arc<dyn ObjectStore>)> {
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Arc::new(InMemory::new()) as Arc<dyn ObjectStore>,
            )
        })
        .collect()
}

fn placement(names: &[&str]) -> Rendezvous {
    Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 12).unwrap()
}

async fn keys_of(store: &dyn ObjectStore) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test]
async fn objects_land_on_their_owner_and_list_merges_in_key_order() {
    let stores = memory_members(&["a", "b", "c"]);
    let sharded = ShardedStore::new(placement(&["a", "b", "c"]), stores.clone()).unwrap();
    for i in 0..300 {
        let key = Path::from(format!("dir{}/k{i:04}", i % 3));
        sharded.put(&key, format!("v{i}").into()).await.unwrap();
    }
    for (name, store) in &stores {
        let keys = keys_of(store.as_ref()).await;
        assert!(!keys.is_empty(), "member {name} got nothing");
        for key in keys {
            assert_eq!(sharded.owner(&Path::from(key.as_str())), name);
        }
    }
    let listed: Vec<String> = sharded
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_eq!(
        listed, sorted,
        "members list in key order, so the merge does"
    );
    assert_eq!(listed.len(), 300);

    let top = sharded.list_with_delimiter(None).await.unwrap();
    let prefixes: Vec<_> = top.common_prefixes.iter().map(|p| p.to_string()).collect();
    assert_eq!(
        prefixes,
        ["dir0", "dir1", "dir2"],
        "de-duplicated and sorted"
    );
}

#[tokio::test]
async fn errors_keep_their_kind_and_name_the_member() {
    let stores = memory_members(&["a", "b"]);
    let sharded = ShardedStore::new(placement(&["a", "b"]), stores).unwrap();
    let key = Path::from("missing");
    let err = sharded.get(&key).await.unwrap_err();
    assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    assert_eq!(stratus::member_of(&err), Some(sharded.owner(&key)), "{err}");
}

#[tokio::test]
async fn copy_and_rename_across_members_keep_conditional_semantics() {
    let stores = memory_members(&["a", "b", "c"]);
    let sharded = ShardedStore::new(placement(&["a", "b", "c"]), stores).unwrap();
    // Find two keys with different owners.
    let from = Path::from("src");
    let to = (0..)
        .map(|i| Path::from(format!("dst{i}")))
        .find(|p| sharded.owner(p) != sharded.owner(&from))
        .unwrap();
    sharded.put(&from, "body".into()).await.unwrap();
    sharded.copy(&from, &to).await.unwrap();
    assert_eq!(
        sharded.get(&to).await.unwrap().bytes().await.unwrap(),
        "body"
    );

    let err = sharded.copy_if_not_exists(&from, &to).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );

    sharded.delete(&to).await.unwrap();
    sharded.rename_if_not_exists(&from, &to).await.unwrap();
    assert!(matches!(
        sharded.head(&from).await.unwrap_err(),
        object_store::Error::NotFound { .. }
    ));
    assert_eq!(
        sharded.get(&to).await.unwrap().bytes().await.unwrap(),
        "body"
    );
}

#[test]
fn a_placement_member_without_a_store_is_an_error() {
    let err = ShardedStore::new(placement(&["a", "b"]), memory_members(&["a"])).unwrap_err();
    assert!(err.to_string().contains("member \"b\""), "{err}");
    let err = ShardedStore::new(placement(&["a"]), memory_members(&["a", "stray"])).unwrap_err();
    assert!(err.to_string().contains("\"stray\""), "{err}");
}

// ---------------------------------------------------------------------------------------
// Rebalance over in-memory members, with faults.

struct Cluster {
    faulty: BTreeMap<String, Arc<FaultyStore>>,
}

impl Cluster {
    fn new(names: &[&str]) -> Self {
        Self {
            faulty: names
                .iter()
                .map(|n| {
                    (
                        n.to_string(),
                        Arc::new(FaultyStore::new(Arc::new(InMemory::new()))),
                    )
                })
                .collect(),
        }
    }

    fn stores(&self, names: &[&str]) -> Vec<(String, Arc<dyn ObjectStore>)> {
        names
            .iter()
            .map(|n| {
                let store: Arc<dyn ObjectStore> = self.faulty[*n].clone();
                (n.to_string(), store)
            })
            .collect()
    }

    /// Every object is on its owner exactly once, with the expected body.
    async fn check(&self, target: &Rendezvous, expected: &BTreeMap<String, String>) {
        let mut seen = BTreeMap::new();
        for (name, store) in &self.faulty {
            for key in keys_of(store.inner().as_ref()).await {
                let owner = target.members()[target.locate(key.as_bytes())].name();
                assert_eq!(owner, name, "{key} is on {name}, owner {owner}");
                assert!(seen.insert(key.clone(), name.clone()).is_none());
                let body = store.inner().get(&Path::from(key.as_str())).await.unwrap();
                assert_eq!(body.bytes().await.unwrap(), expected[&key], "{key}");
            }
        }
        assert_eq!(seen.len(), expected.len(), "objects lost or duplicated");
    }
}

#[tokio::test]
async fn rebalance_with_faults_loses_nothing_and_a_rerun_finishes_it() {
    let cluster = Cluster::new(&["a", "b", "c", "d"]);
    let old = placement(&["a", "b", "c"]);
    let store = ShardedStore::new(old.clone(), cluster.stores(&["a", "b", "c"])).unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..600 {
        let key = format!("k/{i:04}");
        let body = format!("body of {key} {}", "x".repeat(i % 50));
        store
            .put(&Path::from(key.as_str()), body.clone().into())
            .await
            .unwrap();
        expected.insert(key, body);
    }

    // Add d and remove a in one change.
    let new = placement(&["b", "c", "d"]);
    let migrating = ShardedStore::new(new.clone(), cluster.stores(&["b", "c", "d"]))
        .unwrap()
        .with_previous(old.clone(), cluster.stores(&["a"]))
        .unwrap();
    let plan = shard::plan(&migrating).await.unwrap();
    assert!(plan.moves.iter().all(|m| m.from == "a" || m.to == "d"));
    assert!(!plan.moves.is_empty());

    // Faults: some copies to d fail, some deletes from a fail, some reads from b fail.
    cluster.faulty["d"].inject(Fault::fail(Op::Put).after(5).times(20));
    cluster.faulty["a"].inject(Fault::fail(Op::Delete).after(10).times(15));
    cluster.faulty["b"].inject(Fault::fail(Op::Get).after(3).times(5));
    let report = shard::execute(
        &migrating,
        &plan,
        &ExecuteOptions::default().with_concurrency(4),
    )
    .await;
    assert_eq!(report.failures.len(), 40, "{:?}", report.failures.len());
    assert_eq!(
        report.moved + report.already_there + report.failures.len() as u64,
        plan.moves.len() as u64
    );
    for failure in &report.failures {
        assert!(failure.error.member().is_some(), "{}", failure.error);
    }

    // Mid-way, every object is readable through the migrating store, unchanged.
    for (key, body) in &expected {
        let got = migrating.get(&Path::from(key.as_str())).await.unwrap();
        assert_eq!(got.bytes().await.unwrap(), body.as_str(), "{key}");
    }
    let listed = keys_of(&migrating).await;
    assert_eq!(listed, expected.keys().cloned().collect::<Vec<_>>());

    // Faults gone, plan again: only the remainder moves, then everything is in place.
    for store in cluster.faulty.values() {
        store.clear();
    }
    let rest = shard::plan(&migrating).await.unwrap();
    assert!(rest.moves.len() <= report.failures.len());
    let report = shard::execute(&migrating, &rest, &ExecuteOptions::default()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(shard::plan(&migrating).await.unwrap().moves.is_empty());
    cluster.check(&new, &expected).await;
}

#[tokio::test]
async fn an_interrupted_rebalance_resumes_and_dry_run_touches_nothing() {
    let cluster = Cluster::new(&["a", "b", "c"]);
    let old = placement(&["a", "b"]);
    let store = ShardedStore::new(old.clone(), cluster.stores(&["a", "b"])).unwrap();
    let mut expected = BTreeMap::new();
    for i in 0..400 {
        let key = format!("{i:03}");
        store
            .put(&Path::from(key.as_str()), key.clone().into())
            .await
            .unwrap();
        expected.insert(key.clone(), key);
    }
    let new = placement(&["a", "b", "c"]);
    let migrating = ShardedStore::new(new.clone(), cluster.stores(&["a", "b", "c"]))
        .unwrap()
        .with_previous(old, [])
        .unwrap();
    let plan = shard::plan(&migrating).await.unwrap();
    let dry = shard::execute(
        &migrating,
        &plan,
        &ExecuteOptions::default().with_dry_run(true),
    )
    .await;
    assert_eq!(dry.moved as usize, plan.moves.len());
    assert_eq!(cluster.faulty["c"].calls(Op::Put), 0, "dry run wrote");

    // Interrupt: drop the execution after some moves have finished (copies to c take a
    // millisecond, so the run is still going when the 30th move reports).
    cluster.faulty["c"].inject(Fault::delay(Op::Put, std::time::Duration::from_millis(1)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = ExecuteOptions::default()
        .with_concurrency(2)
        .with_progress(move |p| {
            let _ = tx.send(p.done);
        });
    let run = shard::execute(&migrating, &plan, &options);
    tokio::select! {
        _ = run => panic!("finished before being interrupted"),
        _ = async { while rx.recv().await.unwrap() < 30 {} } => {}
    }
    cluster.faulty["c"].clear();
    let rest = shard::plan(&migrating).await.unwrap();
    assert!(rest.moves.len() < plan.moves.len() && !rest.moves.is_empty());
    // Reads still find everything between the runs.
    for key in expected.keys() {
        migrating.head(&Path::from(key.as_str())).await.unwrap();
    }
    let report = shard::execute(&migrating, &rest, &ExecuteOptions::default()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    cluster.check(&new, &expected).await;
}

#[tokio::test]
async fn a_write_during_the_rebalance_wins_over_the_old_copy() {
    let cluster = Cluster::new(&["a", "b"]);
    let old = placement(&["a"]);
    let store = ShardedStore::new(old.clone(), cluster.stores(&["a"])).unwrap();
    let new = placement(&["a", "b"]);
    let key = (0..)
        .map(|i| Path::from(format!("key{i}")))
        .find(|k| new.members()[new.locate(k.as_ref().as_bytes())].name() == "b")
        .unwrap();
    store.put(&key, "old".into()).await.unwrap();
    let migrating = ShardedStore::new(new, cluster.stores(&["a", "b"]))
        .unwrap()
        .with_previous(old, [])
        .unwrap();
    let plan = shard::plan(&migrating).await.unwrap();
    assert_eq!(plan.moves.len(), 1);
    // The application writes through the migrating store before the move runs.
    migrating.put(&key, "new".into()).await.unwrap();
    let report = shard::execute(&migrating, &plan, &ExecuteOptions::default()).await;
    // The owner's version differs and is provably newer: it wins, the old copy goes.
    assert_eq!(
        (report.moved, report.already_there, report.superseded),
        (0, 0, 1)
    );
    assert!(report.conflicts.is_empty() && report.failures.is_empty());
    assert_eq!(
        migrating.get(&key).await.unwrap().bytes().await.unwrap(),
        "new"
    );
    assert!(
        cluster.faulty["a"].inner().head(&key).await.is_err(),
        "old copy kept"
    );
}

// ---------------------------------------------------------------------------------------
// Rebalance on emulators: S3 (moto), Azure (Azurite), local, then S3 (SeaweedFS) joins and
// Azure leaves.

mod emulators {
    use super::*;
    use common::{Backend, Fixture};

    /// Every expected object is on its owner exactly once with its body; nothing else.
    async fn check(
        members: &[(String, Arc<dyn ObjectStore>)],
        target: &Rendezvous,
        expected: &BTreeMap<String, Vec<u8>>,
    ) {
        let mut seen = BTreeMap::new();
        for (name, store) in members {
            for key in keys_of(store.as_ref()).await {
                let owner = target.members()[target.locate(key.as_bytes())].name();
                assert_eq!(owner, name, "{key} is on {name}, owner {owner}");
                assert!(seen.insert(key.clone(), ()).is_none(), "{key} twice");
                let body = store.get(&Path::from(key.as_str())).await.unwrap();
                assert!(
                    body.bytes().await.unwrap() == expected[&key],
                    "{key} changed"
                );
            }
        }
        assert_eq!(seen.len(), expected.len(), "objects lost");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn add_a_member_interrupt_resume_then_remove_one() {
        let fixtures = [
            ("s3", Backend::Moto),
            ("azure", Backend::Azurite),
            ("local", Backend::Local),
            ("seaweed", Backend::SeaweedFs),
        ]
        .map(|(name, backend)| (name, Fixture::new(backend, "rebalance")));
        if fixtures.iter().any(|(_, f)| f.is_none()) {
            return; // skipped (printed by Fixture::new)
        }
        let all: Vec<(String, Arc<dyn ObjectStore>)> = fixtures
            .iter()
            .map(|(name, f)| (name.to_string(), Arc::clone(&f.as_ref().unwrap().store)))
            .collect();
        let pick = |names: &[&str]| -> Vec<(String, Arc<dyn ObjectStore>)> {
            all.iter()
                .filter(|(n, _)| names.contains(&n.as_str()))
                .cloned()
                .collect()
        };
        let members = |names: &[&str]| {
            Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 16).unwrap()
        };

        let first = members(&["s3", "azure", "local"]);
        let store = ShardedStore::new(first.clone(), pick(&["s3", "azure", "local"])).unwrap();
        let mut expected = BTreeMap::new();
        for i in 0..240u32 {
            let key = format!("r/{i:04}");
            let body: Vec<u8> = (0..(i * 97 % 5000)).map(|b| (b * i) as u8).collect();
            store
                .put(&Path::from(key.as_str()), body.clone().into())
                .await
                .unwrap();
            expected.insert(key, body);
        }
        // One object above the multipart threshold, on a member that loses it below.
        let big_key = (0..)
            .map(|i| format!("big/{i}"))
            .find(|k| {
                let k = k.as_bytes();
                let now = first.members()[first.locate(k)].name();
                let next = members(&["s3", "azure", "local", "seaweed"]);
                now != "seaweed" && next.members()[next.locate(k)].name() == "seaweed"
            })
            .unwrap();
        let big: Vec<u8> = (0..17 * 1024 * 1024u32).map(|b| (b % 251) as u8).collect();
        store
            .put(&Path::from(big_key.as_str()), big.clone().into())
            .await
            .unwrap();
        expected.insert(big_key, big);

        // SeaweedFS joins; the first run is interrupted after 40 moves.
        let second = members(&["s3", "azure", "local", "seaweed"]);
        let migrating =
            ShardedStore::new(second.clone(), pick(&["s3", "azure", "local", "seaweed"]))
                .unwrap()
                .with_previous(first, [])
                .unwrap();
        let plan = shard::plan(&migrating).await.unwrap();
        assert!(plan.moves.iter().all(|m| m.to == "seaweed"));
        assert!(plan.moves.len() > 40, "{}", plan.moves.len());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let options = ExecuteOptions::default()
            .with_concurrency(4)
            .with_progress(move |p| {
                let _ = tx.send(p.done);
            });
        tokio::select! {
            _ = shard::execute(&migrating, &plan, &options) => panic!("not interrupted"),
            _ = async { while rx.recv().await.unwrap() < 40 {} } => {}
        }
        for key in expected.keys() {
            migrating.head(&Path::from(key.as_str())).await.unwrap();
        }
        let rest = shard::plan(&migrating).await.unwrap();
        assert!(rest.moves.len() < plan.moves.len());
        let report = shard::execute(&migrating, &rest, &ExecuteOptions::default()).await;
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        check(&all, &second, &expected).await;

        // azure leaves.
        let third = members(&["s3", "local", "seaweed"]);
        let migrating = ShardedStore::new(third.clone(), pick(&["s3", "local", "seaweed"]))
            .unwrap()
            .with_previous(second, pick(&["azure"]))
            .unwrap();
        let plan = shard::plan(&migrating).await.unwrap();
        assert!(plan.moves.iter().all(|m| m.from == "azure"));
        let report = shard::execute(&migrating, &plan, &ExecuteOptions::default()).await;
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        assert_eq!(report.moved as usize, plan.moves.len());
        check(&all, &third, &expected).await;
        assert!(
            keys_of(all[1].1.as_ref()).await.is_empty(),
            "azure not emptied"
        );
    }
}

#[test]
fn the_number_of_build_threads_changes_nothing() {
    let members = || (0..30).map(|i| Member::weighted(format!("m{i}"), 1.0 + (i % 3) as f64));
    let one = Rendezvous::with_threads(members(), 18, std::num::NonZeroUsize::MIN).unwrap();
    let three =
        Rendezvous::with_threads(members(), 18, std::num::NonZeroUsize::new(3).unwrap()).unwrap();
    assert_eq!(owners(&one), owners(&three));
}
