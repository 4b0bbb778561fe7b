//! Adversarial: what repair deletes beyond its records, and two stores sharing one
//! journal through the builders.

mod adversarial_support;

use adversarial_support::{named, read, Hooked};
use object_store::path::Path;
use object_store::ObjectStoreExt;
use std::time::Duration;
use stratus::replicate::{
    repair, DeleteLimit, ReadPolicy, ReplicatedStore, SyncOptions, WritePolicy,
};

#[tokio::test]
async fn repair_with_a_count_limit_of_zero_deletes_the_last_copies_it_finds() {
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = ReplicatedStore::new(named(&[("a", &a), ("b", &b)]))
        .unwrap()
        .with_write(WritePolicy::Quorum(1))
        .unwrap();
    let keys: Vec<Path> = (0..10).map(|i| Path::from(format!("k{i}"))).collect();
    for key in &keys {
        store.put(key, "v0".into()).await.unwrap();
        b.fail_puts(1);
        store.put(key, "v1".into()).await.unwrap(); // b missed it: recorded
    }
    assert_eq!(store.missed().len(), 10);
    // a loses its objects (a bucket emptied by mistake, a disk replaced).
    for key in &keys {
        a.inner.delete(key).await.unwrap();
    }
    // The operator repairs, allowing no delete at all.
    let options = SyncOptions::default().with_max_delete(DeleteLimit::Count(0));
    let result = repair(&store, &options).await;
    let mut left = 0;
    for key in &keys {
        left += usize::from(b.body(key).await.is_some());
    }
    assert_eq!(
        left,
        10,
        "repair under DeleteLimit::Count(0) deleted {} of b's copies, the only ones left \
         anywhere: {result:?}",
        10 - left
    );
}

#[tokio::test]
async fn a_store_rebuilt_by_a_builder_shares_the_journal_but_not_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (Hooked::new("a"), Hooked::new("b"), Hooked::new("c"));
    let store = ReplicatedStore::new(named(&[("a", &a), ("b", &b), ("c", &c)]))
        .unwrap()
        .with_write(WritePolicy::Quorum(2))
        .unwrap()
        .with_journal(dir.path().join("journal"))
        .unwrap();
    // One code path wants hedged reads: a second handle through a builder. It opens no
    // journal (no "in use" refusal): it shares the first one's.
    let hedged = store
        .clone()
        .with_read(ReadPolicy::Hedged(Duration::from_millis(10)));
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    a.fail_puts(1);
    hedged.put(&k, "v1".into()).await.unwrap(); // acknowledged by b and c
    assert_eq!(
        read(&store, &k).await.unwrap().as_deref(),
        Some("v1"),
        "an acknowledged write read back as the old version through the other handle \
         (its record: {:?}; the shared journal's: {:?})",
        store.missed(),
        hedged.missed()
    );
}
