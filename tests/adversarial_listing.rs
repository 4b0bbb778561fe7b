//! Adversarial: listings of a replicated store after a member missed a delete.

mod adversarial_support;

use adversarial_support::{named, read, Hooked};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use stratus::replicate::{ListPolicy, ReplicatedStore, WritePolicy};

#[tokio::test]
async fn list_with_delimiter_shows_a_key_whose_delete_was_acknowledged() {
    let mut wrong = Vec::new();
    for policy in [ListPolicy::First, ListPolicy::Merged] {
        let (a, b) = (Hooked::new("a"), Hooked::new("b"));
        let store = ReplicatedStore::new(named(&[("a", &a), ("b", &b)]))
            .unwrap()
            .with_write(WritePolicy::Quorum(1))
            .unwrap()
            .with_listing(policy);
        let k = Path::from("dir/k");
        store.put(&k, "v0".into()).await.unwrap();
        a.fail_deletes(1);
        store.delete(&k).await.unwrap(); // acknowledged by b; a recorded as behind
        assert_eq!(read(&store, &k).await.unwrap(), None);
        let listed: Vec<Path> = store
            .list(None)
            .map_ok(|m| m.location)
            .try_collect()
            .await
            .unwrap();
        assert!(listed.is_empty(), "{policy:?}: list shows {listed:?}");
        let by_folder = store
            .list_with_delimiter(Some(&Path::from("dir")))
            .await
            .unwrap();
        let shown: Vec<&Path> = by_folder.objects.iter().map(|m| &m.location).collect();
        if !shown.is_empty() {
            wrong.push(format!("{policy:?}: {shown:?}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "after an acknowledged delete (a read says NotFound, list shows nothing), \
         list_with_delimiter still shows the key: {wrong:?}"
    );
}
