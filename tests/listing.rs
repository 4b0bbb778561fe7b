//! Listing past one page (S3 pages hold 1,000 keys): exact object count and total bytes on
//! real emulators, through config-built stores.

mod common;

use common::{Backend, Fixture};
use futures::{stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

const OBJECTS: usize = 2_500;

/// Deterministic sizes 0..=96 bytes, some zero-length; returns (count, total bytes).
async fn upload(store: &dyn ObjectStore) -> (usize, u64) {
    let total: u64 = stream::iter(0..OBJECTS)
        .map(|i| async move {
            let size = i % 97;
            let key = Path::from(format!("part-{}/obj-{i:05}", i % 3));
            store.put(&key, vec![b'x'; size].into()).await.unwrap();
            size as u64
        })
        .buffer_unordered(32)
        .fold(0, |acc, size| async move { acc + size })
        .await;
    (OBJECTS, total)
}

async fn lists_every_object_past_one_page(backend: Backend) {
    let Some(fixture) = Fixture::new(backend, "paged") else {
        return;
    };
    let store = &*fixture.store;
    let (count, bytes) = upload(store).await;

    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert_eq!(listed.len(), count);
    assert_eq!(listed.iter().map(|m| m.size).sum::<u64>(), bytes);
    let mut keys: Vec<_> = listed.iter().map(|m| m.location.to_string()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), count, "listing returned duplicates");

    // A prefix of ~833 objects and the delimiter listing of the top level.
    let part0: Vec<_> = store
        .list(Some(&Path::from("part-0")))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(part0.len(), OBJECTS.div_ceil(3));
    let top = store.list_with_delimiter(None).await.unwrap();
    assert!(top.objects.is_empty());
    assert_eq!(
        top.common_prefixes,
        [
            Path::from("part-0"),
            Path::from("part-1"),
            Path::from("part-2")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_moto() {
    lists_every_object_past_one_page(Backend::Moto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_seaweedfs() {
    lists_every_object_past_one_page(Backend::SeaweedFs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_azurite() {
    lists_every_object_past_one_page(Backend::Azurite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local() {
    lists_every_object_past_one_page(Backend::Local).await;
}
