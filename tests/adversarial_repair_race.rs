//! `repair_recorded` (and the breaker's hand-off, which runs it on its own in the
//! background) beside a write of the key it converges: the repair holds the key (the
//! write waits for it), so a write acknowledged meanwhile is never undone on a member.
//! (Found by an adversarial review: before, repair worked on the members outside the
//! order writes take, and undid such a write.)
//!
//! Deterministic: a gate holds the repair's call at the point the race needs; the write
//! is started there and must wait.

mod adversarial_support;

use adversarial_support::{named, read, At, Hooked};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::time::Duration;
use stratus::replicate::{
    repair, repair_recorded, Breaker, Compare, ReplicatedStore, SyncOptions, WritePolicy,
};

fn two(a: &Hooked, b: &Hooked) -> ReplicatedStore {
    ReplicatedStore::new(named(&[("a", a), ("b", b)]))
        .unwrap()
        .with_write(WritePolicy::Quorum(1))
        .unwrap()
}

/// `k` holds the acknowledged `v1` on `a`; `b` failed it and holds `v0`, recorded as
/// behind.
async fn b_behind(store: &ReplicatedStore, b: &Hooked, k: &Path) {
    store.put(k, "v0".into()).await.unwrap();
    b.fail_puts(1);
    store.put(k, "v1 acknowledged first".into()).await.unwrap();
    store.flush().await;
    assert_eq!(store.missed().len(), 1, "b is recorded as behind on k");
}

#[tokio::test]
async fn repair_recorded_beside_a_write_puts_the_older_version_back_on_a_member() {
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = two(&a, &b);
    let k = Path::from("k");
    b_behind(&store, &b, &k).await;

    // repair_recorded copies a's v1 to b; it is held just after reading a's body.
    let gate = a.hold(At::GetBody, &k);
    let repairing = tokio::spawn({
        let store = store.clone();
        async move { repair_recorded(&store, &SyncOptions::default()).await }
    });
    gate.reached.notified().await;
    // Meanwhile v2 is written: it waits for the repair's hold on the key.
    let writing = tokio::spawn({
        let (store, k) = (store.clone(), k.clone());
        async move { store.put(&k, "v2".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !writing.is_finished(),
        "the write waits for the repair of its key"
    );
    gate.release.notify_one();
    repairing.await.unwrap().unwrap();
    writing.await.unwrap().unwrap();
    store.flush().await;

    let held = (a.body(&k).await, b.body(&k).await);
    let missed = store.missed();
    // A member may be behind only if the record says so (reads then avoid it).
    assert!(
        held.1.as_deref() == Some("v2") || !missed.is_empty(),
        "after the acknowledged v2, b holds {:?} and nothing records it (record: {missed:?}); \
         a read that falls back to b returns it: {:?}",
        held.1,
        {
            a.fail_gets(1);
            read(&store, &k).await.map_err(|e| e.to_string())
        }
    );
}

#[tokio::test]
async fn after_that_race_a_full_repair_spreads_the_older_version_over_the_acknowledged_one() {
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = two(&a, &b);
    let k = Path::from("k");
    b_behind(&store, &b, &k).await;
    let gate = a.hold(At::GetBody, &k);
    let repairing = tokio::spawn({
        let store = store.clone();
        async move { repair_recorded(&store, &SyncOptions::default()).await }
    });
    gate.reached.notified().await;
    // Meanwhile v2 is written: it waits for the repair's hold on the key.
    let writing = tokio::spawn({
        let (store, k) = (store.clone(), k.clone());
        async move { store.put(&k, "v2".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !writing.is_finished(),
        "the write waits for the repair of its key"
    );
    gate.release.notify_one();
    repairing.await.unwrap().unwrap();
    writing.await.unwrap().unwrap();
    store.flush().await;

    // The operator's periodic full repair (content compared).
    let options = SyncOptions::default().with_compare(Compare::Content);
    let report = repair(&store, &options).await.unwrap();
    assert_eq!(
        read(&store, &k).await.unwrap().as_deref(),
        Some("v2"),
        "the acknowledged v2 is gone from every member (a: {:?}, b: {:?}); repair kept the \
         copy the race wrote last: {report:?}",
        a.body(&k).await,
        b.body(&k).await
    );
}

#[tokio::test]
async fn repair_recorded_beside_a_write_deletes_an_acknowledged_put_from_a_member() {
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = two(&a, &b);
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    // An acknowledged delete b missed: recorded.
    b.fail_deletes(1);
    store.delete(&k).await.unwrap();
    store.flush().await;
    assert_eq!(store.missed().len(), 1);

    // repair_recorded applies the delete to b; held just before it does.
    let gate = b.hold(At::Delete, &k);
    let repairing = tokio::spawn({
        let store = store.clone();
        async move { repair_recorded(&store, &SyncOptions::default()).await }
    });
    gate.reached.notified().await;
    // Meanwhile v2 is written: it waits for the repair's hold on the key.
    let writing = tokio::spawn({
        let (store, k) = (store.clone(), k.clone());
        async move { store.put(&k, "v2".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !writing.is_finished(),
        "the write waits for the repair of its key"
    );
    gate.release.notify_one();
    repairing.await.unwrap().unwrap();
    writing.await.unwrap().unwrap();
    store.flush().await;

    let missed = store.missed();
    assert!(
        b.body(&k).await.as_deref() == Some("v2") || !missed.is_empty(),
        "the acknowledged v2 (applied by every member) is gone from b, and nothing records \
         it (record: {missed:?}); b holds {:?}",
        b.body(&k).await
    );
}

#[tokio::test]
async fn the_breakers_hand_off_does_the_same_on_its_own() {
    // No repair is called: the hand-off runs by itself when the member comes back.
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = two(&a, &b).with_breaker(Breaker::new(1, Duration::from_millis(20)));
    let k = Path::from("k");
    b_behind(&store, &b, &k).await; // b's failure opened its breaker
    tokio::time::sleep(Duration::from_millis(40)).await;
    let gate = a.hold(At::GetBody, &k);
    // Any write probes b; it answers, so its breaker closes and the hand-off starts.
    store.put(&Path::from("other"), "x".into()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), gate.reached.notified())
        .await
        .expect("the hand-off reads k from a");
    let writing = tokio::spawn({
        let (store, k) = (store.clone(), k.clone());
        async move { store.put(&k, "v2".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        !writing.is_finished(),
        "the write waits for the hand-off of its key"
    );
    gate.release.notify_one();
    writing.await.unwrap().unwrap();
    store.flush().await;

    let missed = store.missed();
    assert!(
        b.body(&k).await.as_deref() == Some("v2") || !missed.is_empty(),
        "after the acknowledged v2, the hand-off left b holding {:?}, recorded nowhere \
         (record: {missed:?})",
        b.body(&k).await
    );
}
