//! Adversarial tests of the journal's failure handling (they need the test-only
//! `FaultyDisk`, so they live in the crate).

use super::journal::testing::{Failure, FaultyDisk};
use super::{repair, repair_recorded, Compare, ReplicatedStore, SyncOptions, WritePolicy};
use crate::layer::fault::{Fault, FaultyStore, Op};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt};
use std::path::PathBuf;
use std::sync::Arc;

fn members() -> Vec<Arc<FaultyStore>> {
    (0..2)
        .map(|_| Arc::new(FaultyStore::new(Arc::new(InMemory::new()))))
        .collect()
}

fn open(members: &[Arc<FaultyStore>], disk: &FaultyDisk) -> ReplicatedStore {
    let named = ["a", "b"]
        .iter()
        .zip(members)
        .map(|(n, m)| (n.to_string(), Arc::clone(m) as Arc<dyn ObjectStore>));
    ReplicatedStore::new(named)
        .unwrap()
        .with_write(WritePolicy::Quorum(1))
        .unwrap()
        .with_journal_on(Arc::new(disk.clone()), &PathBuf::from("/journal"))
        .unwrap()
}

async fn read(store: &dyn ObjectStore, key: &Path) -> Option<String> {
    match store.get(key).await {
        Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
        Err(Error::NotFound { .. }) => None,
        Err(err) => panic!("get {key}: {err}"),
    }
}

async fn held(members: &[Arc<FaultyStore>], key: &Path) -> Vec<Option<String>> {
    let mut all = Vec::new();
    for m in members {
        all.push(read(m.inner().as_ref(), key).await);
    }
    all
}

#[tokio::test]
async fn a_rename_whose_first_record_fails_to_journal_shows_its_source_and_its_target() {
    let (members, disk) = (members(), FaultyDisk::default());
    let store = open(&members, &disk);
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "v0".into()).await.unwrap();
    // b misses the rename; the journal fails the first record (the target's).
    members[1].inject(Fault::fail(Op::Rename).times(1));
    disk.fail(Failure::ShortWrite(5));
    let renamed = store.rename(&src, &dst).await;
    assert!(renamed.is_err(), "the journal failed: {renamed:?}");

    let (source, target) = (read(&store, &src).await, read(&store, &dst).await);
    assert!(
        source.is_none() || target.is_none(),
        "one rename, both keys readable: source {source:?}, target {target:?} (record: \
         {:?}; members hold src {:?}, dst {:?})",
        store.missed(),
        held(&members, &src).await,
        held(&members, &dst).await,
    );
}

#[tokio::test]
async fn after_that_rename_repair_brings_the_moved_source_back_everywhere() {
    let (members, disk) = (members(), FaultyDisk::default());
    let store = open(&members, &disk);
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "v0".into()).await.unwrap();
    members[1].inject(Fault::fail(Op::Rename).times(1));
    disk.fail(Failure::ShortWrite(5));
    let _ = store.rename(&src, &dst).await;
    // The target was read: the rename took effect.
    assert_eq!(read(&store, &dst).await.as_deref(), Some("v0"));

    repair_recorded(&store, &SyncOptions::default())
        .await
        .unwrap();
    let options = SyncOptions::default().with_compare(Compare::Content);
    repair(&store, &options).await.unwrap();
    assert_eq!(
        held(&members, &src).await,
        vec![None, None],
        "the renamed-away source is back (target on {:?})",
        held(&members, &dst).await
    );
}

#[tokio::test]
async fn a_record_whose_append_failed_never_reaches_the_journal_and_a_delete_read_as_done_comes_back_after_a_restart(
) {
    let (members, disk) = (members(), FaultyDisk::default());
    let store = open(&members, &disk);
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    // A delete b misses; its record's append fails (a full disk, for one write).
    members[1].inject(Fault::fail(Op::Delete).times(1));
    disk.fail(Failure::ShortWrite(3));
    let deleted = store.delete(&k).await;
    assert!(deleted.is_err(), "the journal failed: {deleted:?}");
    // The process knows: reads skip b, the delete is seen as done.
    assert_eq!(read(&store, &k).await, None);
    assert_eq!(store.missed().len(), 1);
    // The disk is fine again; later records append (the journal is rewritten first,
    // from what the journal holds).
    members[1].inject(Fault::fail(Op::Put).times(1));
    store.put(&Path::from("other"), "x".into()).await.unwrap();
    assert!(disk.failed() >= 1);

    // Any time later, the process dies and restarts with its journal.
    drop(store);
    disk.crash(|_| 0);
    let store = open(&members, &disk);
    assert_eq!(
        read(&store, &k).await,
        None,
        "a delete this process read as done is undone by a restart (record now: {:?})",
        store.missed()
    );
}
