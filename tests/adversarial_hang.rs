//! Adversarial: hangs and late writes around the replicated store's order of writes.
//!
//! Paused time: a call that does not answer within 600 virtual seconds hung (the member
//! timeout is 1 s).

mod adversarial_support;

use adversarial_support::{named, read, Hooked};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use std::time::Duration;
use stratus::replicate::{repair, Compare, ReplicatedStore, SyncOptions, WritePolicy};

const PATIENCE: Duration = Duration::from_secs(600);

fn two(a: &Hooked, b: &Hooked) -> ReplicatedStore {
    ReplicatedStore::new(named(&[("a", a), ("b", b)]))
        .unwrap()
        .with_write(WritePolicy::Quorum(1))
        .unwrap()
        .with_member_timeout(Duration::from_secs(1))
}

#[tokio::test(start_paused = true)]
async fn a_member_hanging_on_a_multipart_completion_freezes_every_read_of_the_key() {
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    b.hang_complete();
    let store = two(&a, &b);
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();

    let mut upload = store.put_multipart(&k).await.unwrap();
    upload.put_part("v1".into()).await.unwrap();
    let completing = tokio::spawn(async move { upload.complete().await });
    tokio::time::sleep(Duration::from_millis(10)).await;

    // The quorum (a) completed at once; b hangs.
    assert_eq!(a.body(&k).await.as_deref(), Some("v1"));
    let other = Path::from("other");
    store.put(&other, "x".into()).await.unwrap();
    assert!(read(&store, &other).await.is_ok(), "other keys are served");

    let got = tokio::time::timeout(PATIENCE, read(&store, &k)).await;
    let put = tokio::time::timeout(PATIENCE, store.put(&k, "v2".into())).await;
    let completed = tokio::time::timeout(PATIENCE, completing).await;
    assert!(
        got.is_ok() && put.is_ok() && completed.is_ok(),
        "with a 1 s member timeout, a member that hangs on completing a multipart upload \
         froze the key for 600 s: read answered: {}, put answered: {}, complete answered: \
         {}",
        got.is_ok(),
        put.is_ok(),
        completed.is_ok()
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_abandoned_at_the_member_timeout_lands_after_a_later_acknowledged_one() {
    // b applies its next put 5 s late, in a task of its own, as LocalFileSystem does
    // (its writes run on spawn_blocking, which a dropped future does not stop).
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = two(&a, &b);
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    b.late_put(Duration::from_secs(5));
    store.put(&k, "v1 older and longer".into()).await.unwrap();
    // b's part ran past the member timeout: abandoned, b recorded as owing v1.
    tokio::time::sleep(Duration::from_secs(2)).await;
    store.flush().await;
    assert_eq!(store.missed().len(), 1);
    // The next write passes the abandoned one on b; every member applies it, and b stays
    // recorded as behind on k: its given-up v1 may still land.
    store.put(&k, "v2".into()).await.unwrap();
    store.flush().await;
    assert_eq!(store.missed().len(), 1, "b stays recorded");
    // The abandoned v1 lands on b; reads do not go there.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(read(&store, &k).await.unwrap().as_deref(), Some("v2"));

    let full = repair(
        &store,
        &SyncOptions::default().with_compare(Compare::Content),
    )
    .await
    .unwrap();
    let b_holds = b.body(&k).await;
    let after = read(&store, &k).await.unwrap();
    assert!(
        b_holds.as_deref() == Some("v2") && after.as_deref() == Some("v2"),
        "acknowledged v2 undone: after a full repair ({full:?}) b holds {b_holds:?} and the \
         store reads {after:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dropped_write_lets_the_next_write_pass_a_member_still_applying_it() {
    // The same through cancellation: a put dropped while b still applies it.
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = ReplicatedStore::new(named(&[("a", &a), ("b", &b)])).unwrap();
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    b.late_put(Duration::from_secs(5));
    let dropped =
        tokio::time::timeout(Duration::from_secs(1), store.put(&k, "v1 dropped".into())).await;
    assert!(dropped.is_err(), "the caller gave up on v1");
    store.put(&k, "v2".into()).await.unwrap(); // WritePolicy::All: every member
                                               // b's dropped put may still land: b stays recorded as behind on k.
    assert_eq!(store.missed().len(), 1, "b stays recorded");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(read(&store, &k).await.unwrap().as_deref(), Some("v2"));
    let options = SyncOptions::default().with_compare(Compare::Content);
    repair(&store, &options).await.unwrap();
    let held = (a.body(&k).await, b.body(&k).await);
    assert_eq!(
        held,
        (Some("v2".to_string()), Some("v2".to_string())),
        "after v2 was acknowledged by every member, b holds the dropped v1 and nothing \
         records it: {:?}",
        store.missed()
    );
    let _ = store.head(&k).await;
}

#[tokio::test(start_paused = true)]
async fn with_a_member_timeout_a_member_that_hangs_on_a_write_holds_reads_no_longer() {
    // WritePolicy::All: a write to a hung member waits for it. Reads of the key wait for
    // that write's judgment (so two reads never see it and then the state before it):
    // without a member timeout they would wait as long as the write (documented: set
    // one); with one, they answer once the write is judged.
    use stratus::layer::fault::{Fault, FaultyStore, Op};
    let a = std::sync::Arc::new(FaultyStore::new(std::sync::Arc::new(
        object_store::memory::InMemory::new(),
    )));
    let b = std::sync::Arc::new(FaultyStore::new(std::sync::Arc::new(
        object_store::memory::InMemory::new(),
    )));
    let store = ReplicatedStore::new([
        (
            "a".to_string(),
            a.clone() as std::sync::Arc<dyn ObjectStore>,
        ),
        (
            "b".to_string(),
            b.clone() as std::sync::Arc<dyn ObjectStore>,
        ),
    ])
    .unwrap()
    .with_read(stratus::replicate::ReadPolicy::Hedged(
        Duration::from_millis(50),
    ))
    .with_member_timeout(Duration::from_secs(1));
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    b.inject(Fault::delay(Op::Put, Duration::from_secs(365 * 24 * 3600)).times(1));
    let writing = tokio::spawn({
        let store = store.clone();
        let k = k.clone();
        async move { store.put(&k, "v1".into()).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    let got = tokio::time::timeout(PATIENCE, read(&store, &k)).await;
    writing.abort();
    assert!(
        got.is_ok(),
        "a hedged read of a key that member a holds did not answer in 600 s (a holds {:?})",
        read(a.inner().as_ref(), &k).await
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_write_read_once_is_unread_by_the_next_read() {
    // A caller gives up on a put (drops it: a timeout, a client gone) while b has not
    // applied it yet. a applied it; nothing records that b did not.
    let (a, b) = (Hooked::new("a"), Hooked::new("b"));
    let store = ReplicatedStore::new(named(&[("a", &a), ("b", &b)])).unwrap();
    let k = Path::from("k");
    store.put(&k, "v0".into()).await.unwrap();
    let _held = b.hold(adversarial_support::At::Put, &k); // b's put waits (never released)
    let gave_up = tokio::time::timeout(Duration::from_secs(1), store.put(&k, "v1".into())).await;
    assert!(gave_up.is_err());
    let first = read(&store, &k).await.unwrap();
    a.fail_gets(1); // a read that would fall back to b (ordered; hedged alike)
                    // b's put was given up under way: b is behind, never read; with a failing, the read
                    // fails rather than answer from b.
    let second = read(&store, &k).await.ok().flatten();
    assert!(
        !(first.as_deref() == Some("v1") && second.as_deref() == Some("v0")),
        "a read returned the cancelled v1, the next read v0 (record: {:?})",
        store.missed()
    );
}
