//! Adversarial: the rebalance given a plan made for another placement, and a rebalance
//! rolled back half-way.

use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt};
use std::sync::Arc;
use stratus::shard::{self, ExecuteOptions, Member, Placement, Rendezvous, ShardedStore};

fn memories(names: &[&str]) -> Vec<(String, Arc<dyn ObjectStore>)> {
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

fn pick(
    all: &[(String, Arc<dyn ObjectStore>)],
    names: &[&str],
) -> Vec<(String, Arc<dyn ObjectStore>)> {
    all.iter()
        .filter(|(n, _)| names.contains(&n.as_str()))
        .cloned()
        .collect()
}

fn placement(names: &[&str]) -> Rendezvous {
    Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 12).unwrap()
}

fn owner(p: &Rendezvous, key: &Path) -> String {
    p.members()[p.locate(key.as_ref().as_bytes())]
        .name()
        .to_string()
}

async fn read(store: &dyn ObjectStore, key: &Path) -> Option<String> {
    match store.get(key).await {
        Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
        Err(Error::NotFound { .. }) => None,
        Err(err) => panic!("get {key}: {err}"),
    }
}

#[tokio::test]
async fn a_plan_made_for_another_placement_moves_objects_off_their_owner() {
    let all = memories(&["a", "b", "c"]);
    // The store in use: equal weights.
    let store = ShardedStore::new(placement(&["a", "b", "c"]), all.clone()).unwrap();
    // A plan made on the same members with other weights (the configuration being
    // edited, or a plan saved from an earlier run).
    let weighted = Rendezvous::with_slot_bits(
        [
            Member::weighted("a", 1.0),
            Member::weighted("b", 1.0),
            Member::weighted("c", 6.0),
        ],
        12,
    )
    .unwrap();
    let other = ShardedStore::new(weighted, all.clone()).unwrap();
    let keys: Vec<Path> = (0..40).map(|i| Path::from(format!("key-{i}"))).collect();
    for key in &keys {
        store.put(key, "v".into()).await.unwrap();
    }
    let plan = shard::plan(&other).await.unwrap();
    assert!(!plan.moves.is_empty());
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;

    let mut lost = Vec::new();
    for key in &keys {
        if read(&store, key).await.is_none() {
            lost.push(key.to_string());
        }
    }
    assert!(
        lost.is_empty(),
        "execute moved {} objects to members that do not own them in the store it was \
         given; {} keys now read NotFound through it: {lost:?} ({report:?})",
        report.moved,
        lost.len()
    );
}

#[tokio::test]
async fn a_rebalance_rolled_back_half_way_serves_the_version_the_move_replaced() {
    let all = memories(&["a", "b", "c"]);
    let old = ["a", "b"];
    let new = ["a", "b", "c"];
    // A key owned by a before, by c after.
    let key = (0..)
        .map(|i| Path::from(format!("key-{i}")))
        .find(|k| owner(&placement(&old), k) == "a" && owner(&placement(&new), k) == "c")
        .unwrap();
    let before = ShardedStore::new(placement(&old), pick(&all, &old)).unwrap();
    before.put(&key, "v1".into()).await.unwrap();

    // c joins: the store serves from the new placement while objects move; v2 is
    // written (to c) before k's move ran.
    let during = ShardedStore::new(placement(&new), all.clone())
        .unwrap()
        .with_previous(placement(&old), Vec::new())
        .unwrap();
    during.put(&key, "v2".into()).await.unwrap();
    assert_eq!(read(&during, &key).await.as_deref(), Some("v2"));

    // The operator rolls back: c leaves again, its objects move back.
    let back = ShardedStore::new(placement(&old), pick(&all, &old))
        .unwrap()
        .with_previous(placement(&new), pick(&all, &["c"]))
        .unwrap();
    let now = read(&back, &key).await;
    let (plan, report) = shard::rebalance(&back, &ExecuteOptions::default())
        .await
        .unwrap();
    let after = read(&back, &key).await;
    assert!(
        now.as_deref() == Some("v2") && after.as_deref() == Some("v2"),
        "the last write was v2; during the roll-back the store reads {now:?}, and after its \
         rebalance {after:?} ({plan:?}, {report:?})"
    );
}
