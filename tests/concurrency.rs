//! The composites under concurrency (issue 23): one test per way an acknowledged write
//! was lost, a deleted object read back, or a call hung. In memory, deterministic: where
//! a race needs an order, a delay injected on one member makes it (the delayed call
//! starts at once and answers later; nothing depends on how fast the machine is).
//!
//! The random concurrent histories checked for linearizability are in `tests/history.rs`.

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use std::sync::Arc;
use std::time::Duration;
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::replicate::{self, ReadPolicy, ReplicatedStore, SyncOptions, WritePolicy};
use stratus::shard::{
    self, ExecuteOptions, Member, Move, Placement, Plan, Rendezvous, ShardedStore,
};

/// Three faulty in-memory members `a`, `b`, `c`, replicated with `write`.
fn replicated(write: WritePolicy) -> (ReplicatedStore, Vec<Arc<FaultyStore>>) {
    let members: Vec<Arc<FaultyStore>> = (0..3)
        .map(|_| Arc::new(FaultyStore::new(Arc::new(InMemory::new()))))
        .collect();
    let named = ["a", "b", "c"]
        .iter()
        .zip(&members)
        .map(|(name, m)| (name.to_string(), Arc::clone(m) as Arc<dyn ObjectStore>));
    let store = ReplicatedStore::new(named)
        .unwrap()
        .with_write(write)
        .unwrap();
    (store, members)
}

async fn body(store: &dyn ObjectStore, key: &Path) -> Option<String> {
    match store.get(key).await {
        Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
        Err(Error::NotFound { .. }) => None,
        Err(err) => panic!("get {key}: {err}"),
    }
}

async fn bodies(members: &[Arc<FaultyStore>], key: &Path) -> Vec<Option<String>> {
    let mut all = Vec::new();
    for member in members {
        all.push(body(member.inner().as_ref(), key).await);
    }
    all
}

fn put_mode(mode: PutMode) -> PutOptions {
    PutOptions {
        mode,
        ..PutOptions::default()
    }
}

fn placement(names: &[&str]) -> Rendezvous {
    Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 12).unwrap()
}

fn owner(names: &[&str], key: &Path) -> String {
    let p = placement(names);
    p.members()[p.locate(key.as_ref().as_bytes())]
        .name()
        .to_string()
}

/// A key owned by `old_owner` among `old` and by `new_owner` among `new`.
fn key_moving(old: &[&str], old_owner: &str, new: &[&str], new_owner: &str) -> Path {
    (0..)
        .map(|i| Path::from(format!("key-{i}")))
        .find(|k| owner(old, k) == old_owner && owner(new, k) == new_owner)
        .unwrap()
}

/// In-memory members by name, each behind a `FaultyStore`.
fn faulty_members(names: &[&str]) -> Vec<(String, Arc<FaultyStore>)> {
    names
        .iter()
        .map(|n| {
            (
                n.to_string(),
                Arc::new(FaultyStore::new(Arc::new(InMemory::new()))),
            )
        })
        .collect()
}

fn as_stores(members: &[(String, Arc<FaultyStore>)]) -> Vec<(String, Arc<dyn ObjectStore>)> {
    members
        .iter()
        .map(|(n, m)| (n.clone(), Arc::clone(m) as Arc<dyn ObjectStore>))
        .collect()
}

/// A sharded store over `members` placed by `new`, rebalancing from `old`.
fn migrating(new: &[&str], old: &[&str], members: &[(String, Arc<FaultyStore>)]) -> ShardedStore {
    let stores = as_stores(members);
    let (current, rest): (Vec<_>, Vec<_>) = stores
        .into_iter()
        .partition(|(name, _)| new.contains(&name.as_str()));
    ShardedStore::new(placement(new), current)
        .unwrap()
        .with_previous(placement(old), rest)
        .unwrap()
}

fn member<'a>(members: &'a [(String, Arc<FaultyStore>)], name: &str) -> &'a Arc<FaultyStore> {
    &members.iter().find(|(n, _)| n == name).unwrap().1
}

// ---------------------------------------------------------------------------------------
// 1. A rebalance never lets a copy it made pass for a newer write.

#[tokio::test]
async fn a_stray_old_version_on_another_member_never_replaces_the_current_one() {
    // `k` belonged to `a`, then to `b`: a move a -> b copied v1 but failed to delete it
    // (a stray v1 stays on `a`); the application then wrote v2 through the store (to
    // `b`). Member `d` joins, and now owns `k`.
    let old = ["a", "b", "c"];
    let new = ["a", "b", "c", "d"];
    let key = key_moving(&old, "b", &new, "d");
    let members = faulty_members(&new);
    let store = migrating(&new, &old, &members);
    member(&members, "a")
        .put(&key, "v1 old".into())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    member(&members, "b")
        .put(&key, "v2 new".into())
        .await
        .unwrap();
    // The stray's move runs first, as the issue found it (the order a listing gives).
    let size = |body: &str| body.len() as u64;
    let plan = Plan {
        moves: vec![
            Move {
                location: key.clone(),
                from: "a".into(),
                to: "d".into(),
                size: size("v1 old"),
            },
            Move {
                location: key.clone(),
                from: "b".into(),
                to: "d".into(),
                size: size("v2 new"),
            },
        ],
        objects: 2,
        bytes: 12,
    };
    let options = ExecuteOptions::default().with_concurrency(1);
    let report = shard::execute(&store, &plan, &options).await;
    assert_eq!(
        (report.moved, report.superseded, report.failed),
        (1, 1, 0),
        "{report:?}"
    );
    assert_eq!(body(&store, &key).await.as_deref(), Some("v2 new"));
    let holders: Vec<_> = [("a", None), ("b", None), ("d", Some("v2 new"))].to_vec();
    for (name, expected) in holders {
        let got = body(member(&members, name).inner().as_ref(), &key).await;
        assert_eq!(got.as_deref(), expected, "member {name}");
    }
}

// ---------------------------------------------------------------------------------------
// 2. Conditional writes are decided by a member that holds the last write.

#[tokio::test]
async fn create_and_update_are_refused_after_an_acknowledged_write_the_primary_missed() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let key = Path::from("k");
    members[0].inject(Fault::fail(Op::Put).times(1));
    store.put(&key, "v1".into()).await.unwrap();
    assert_eq!(store.missed().len(), 1, "the primary owes v1");
    // Create must see the acknowledged v1.
    let err = store
        .put_opts(&key, "create".into(), put_mode(PutMode::Create))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    assert_eq!(
        bodies(&members[1..], &key).await,
        vec![Some("v1".into()); 2]
    );

    // Update with the e-tag of a version an acknowledged write replaced is refused.
    let (store, members) = replicated(WritePolicy::Quorum(2));
    store.put(&key, "v1".into()).await.unwrap();
    let first = store.head(&key).await.unwrap();
    members[0].inject(Fault::fail(Op::Put).times(1));
    store.put(&key, "v2".into()).await.unwrap();
    let stale = UpdateVersion {
        e_tag: first.e_tag.clone(),
        version: first.version.clone(),
    };
    let err = store
        .put_opts(&key, "v3".into(), put_mode(PutMode::Update(stale)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Precondition { .. }), "{err}");
    assert_eq!(body(&store, &key).await.as_deref(), Some("v2"));
    // An update with the e-tag a read gives now succeeds.
    replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    let now = store.head(&key).await.unwrap();
    let current = UpdateVersion {
        e_tag: now.e_tag,
        version: now.version,
    };
    store
        .put_opts(&key, "v3".into(), put_mode(PutMode::Update(current)))
        .await
        .unwrap();
    store.flush().await;
    assert_eq!(bodies(&members, &key).await, vec![Some("v3".into()); 3]);
}

// ---------------------------------------------------------------------------------------
// 3. A copy waits for the member's pending write to its source, and skips members
//    behind on it.

#[tokio::test]
async fn a_copy_never_copies_a_version_its_source_no_longer_has() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "old".into()).await.unwrap();
    store.put(&dst, "old".into()).await.unwrap();
    // `c` still applies the new `src` in the background when the copy runs: it does not
    // take part (it holds no version of `src` known to be the new one), and is recorded
    // as having missed the copy, never left with an old `dst` that looks current.
    members[2].inject(Fault::delay(Op::Put, Duration::from_millis(200)).times(1));
    store.put(&src, "new".into()).await.unwrap();
    store.copy(&src, &dst).await.unwrap();
    assert_eq!(body(&store, &dst).await.as_deref(), Some("new"));
    store.flush().await;
    let recorded: Vec<_> = store
        .missed()
        .into_iter()
        .map(|(k, _, m)| (k.to_string(), m))
        .collect();
    assert_eq!(recorded, [("dst".to_string(), vec!["c".to_string()])]);
    replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(bodies(&members, &dst).await, vec![Some("new".into()); 3]);

    // `c` failed the new `src`: the copy does not run there, and `dst` is recorded.
    members[2].inject(Fault::fail(Op::Put).times(1));
    store.put(&src, "newer".into()).await.unwrap();
    store.copy(&src, &dst).await.unwrap();
    store.flush().await;
    let recorded: Vec<String> = store
        .missed()
        .iter()
        .map(|(k, _, _)| k.to_string())
        .collect();
    assert_eq!(recorded, ["dst", "src"]);
    let report = replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
    assert_eq!(bodies(&members, &dst).await, vec![Some("newer".into()); 3]);
}

/// Found by the model test (src/replicate/model.rs): a member's operations on a key stay
/// in order even when a write between them is refused before that member runs it.
#[tokio::test]
async fn a_refused_conditional_write_never_lets_a_later_write_pass_a_pending_one() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let (src, key) = (Path::from("src"), Path::from("k"));
    store.put(&key, "v1".into()).await.unwrap();
    store.put(&src, "v2".into()).await.unwrap();
    // `c` applies the copy 200 ms late; meanwhile a create is refused and a put follows.
    members[2].inject(Fault::delay(Op::Copy, Duration::from_millis(200)).times(1));
    store.copy(&src, &key).await.unwrap();
    let err = store
        .put_opts(&key, "create".into(), put_mode(PutMode::Create))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    store.put(&key, "v3".into()).await.unwrap();
    store.flush().await;
    assert_eq!(bodies(&members, &key).await, vec![Some("v3".into()); 3]);
}

/// Found by the model test: a member behind on a rename's source does not move its old
/// version to the target.
#[tokio::test]
async fn a_rename_never_moves_a_version_its_source_no_longer_has() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "v1".into()).await.unwrap();
    members[2].inject(Fault::fail(Op::Put).times(1));
    store.put(&src, "v2".into()).await.unwrap();
    store.rename(&src, &dst).await.unwrap();
    let report = replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
    assert_eq!(bodies(&members, &dst).await, vec![Some("v2".into()); 3]);
    assert_eq!(bodies(&members, &src).await, vec![None, None, None]);
}

// ---------------------------------------------------------------------------------------
// 4. A delete that fails on the previous owner leaves the new owner's version.

#[tokio::test]
async fn a_failed_delete_during_a_rebalance_never_brings_back_the_older_version() {
    let old = ["a", "b"];
    let new = ["a", "b", "c"];
    let key = key_moving(&old, "a", &new, "c");
    let members = faulty_members(&new);
    let store = migrating(&new, &old, &members);
    member(&members, "a").put(&key, "v1".into()).await.unwrap();
    store.put(&key, "v2".into()).await.unwrap(); // to the new owner `c`
    member(&members, "a").inject(Fault::fail(Op::Delete));
    let err = store.delete(&key).await.unwrap_err();
    assert!(err.to_string().contains("injected fault"), "{err}");
    assert_eq!(body(&store, &key).await.as_deref(), Some("v2"));
}

// ---------------------------------------------------------------------------------------
// 5, 6. Reads never ask a member that owes the key's last write or delete.

#[tokio::test]
async fn reads_after_a_quorum_delete_or_rename_never_see_the_old_object() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let (k, k2) = (Path::from("k"), Path::from("k2"));
    store.put(&k, "v".into()).await.unwrap();
    members[2].inject(Fault::delay(Op::Delete, Duration::from_secs(30)).times(1));
    store.delete(&k).await.unwrap();
    assert!(matches!(store.get(&k).await, Err(Error::NotFound { .. })));
    assert!(matches!(store.head(&k).await, Err(Error::NotFound { .. })));

    let (store, members) = replicated(WritePolicy::Quorum(2));
    store.put(&k, "v".into()).await.unwrap();
    members[2].inject(Fault::fail(Op::Rename));
    store.rename(&k, &k2).await.unwrap();
    assert!(matches!(store.head(&k).await, Err(Error::NotFound { .. })));
    assert_eq!(body(&store, &k2).await.as_deref(), Some("v"));
}

#[tokio::test]
async fn a_hedged_read_never_takes_a_member_still_applying_the_write() {
    let (store, members) = replicated(WritePolicy::Quorum(2));
    let store = store.with_read(ReadPolicy::Hedged(Duration::from_millis(5)));
    let key = Path::from("k");
    store.put(&key, "v1".into()).await.unwrap();
    members[2].inject(Fault::delay(Op::Put, Duration::from_secs(30)).times(1));
    store.put(&key, "v2".into()).await.unwrap();
    // The members that applied v2 answer slowly; `c`, still on v1, at once.
    for m in &members[..2] {
        m.inject(Fault::delay(Op::Get, Duration::from_millis(100)));
    }
    assert_eq!(body(&store, &key).await.as_deref(), Some("v2"));
}

// ---------------------------------------------------------------------------------------
// 7, 8. Reads and listings during a move.

#[tokio::test]
async fn a_get_during_the_move_of_its_key_finds_the_object() {
    let old = ["a", "b"];
    let new = ["a", "b", "c"];
    let key = key_moving(&old, "a", &new, "c");
    let members = faulty_members(&new);
    let store = migrating(&new, &old, &members);
    member(&members, "a").put(&key, "v".into()).await.unwrap();
    // The reader asks the new owner (nothing yet), then the old owner, which answers
    // 200 ms later: by then the move has copied the object and deleted the original.
    member(&members, "a").inject(Fault::delay(Op::Get, Duration::from_millis(200)).times(1));
    let reader = {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move { body(&store, &key).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (_, report) = shard::rebalance(&store, &ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(report.moved, 1);
    assert_eq!(reader.await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn a_listing_during_a_move_shows_the_object_once() {
    let old = ["a", "b"];
    let new = ["a", "b", "c"];
    let key = key_moving(&old, "a", &new, "c");
    let members = faulty_members(&new);
    let store = migrating(&new, &old, &members);
    // A key listed before it, so the listing is under way when the move runs.
    let first = Path::from("aaa-first");
    assert!(first.as_ref() < key.as_ref());
    store.put(&first, "x".into()).await.unwrap();
    member(&members, "a").put(&key, "v".into()).await.unwrap();
    let mut listing = store.list(None);
    let head = listing.try_next().await.unwrap().unwrap();
    assert_eq!(head.location, first);
    let (_, report) = shard::rebalance(&store, &ExecuteOptions::default())
        .await
        .unwrap();
    assert_eq!(report.moved, 1);
    let rest: Vec<Path> = listing
        .map_ok(|meta| meta.location)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, vec![key]);
}

// ---------------------------------------------------------------------------------------
// 9. Nothing hangs on a repeated key.

#[tokio::test]
async fn a_repeated_delete_and_a_rename_onto_itself_answer() {
    let (store, members) = replicated(WritePolicy::All);
    let store = store.with_member_timeout(Duration::from_secs(2));
    let key = Path::from("k");
    store.put(&key, "v".into()).await.unwrap();
    let within = Duration::from_secs(10);
    tokio::time::timeout(within, store.rename(&key, &key))
        .await
        .expect("no hang")
        .unwrap();
    assert_eq!(body(&store, &key).await.as_deref(), Some("v"));
    let err = tokio::time::timeout(within, store.rename_if_not_exists(&key, &key))
        .await
        .expect("no hang")
        .unwrap_err();
    assert!(matches!(err, Error::AlreadyExists { .. }), "{err}");
    tokio::time::timeout(within, store.copy(&key, &key))
        .await
        .expect("no hang")
        .unwrap();
    let twice = futures::stream::iter([Ok(key.clone()), Ok(key.clone())]).boxed();
    let answers: Vec<_> = tokio::time::timeout(within, store.delete_stream(twice).collect())
        .await
        .expect("no hang");
    assert_eq!(answers.len(), 2);
    assert!(answers.iter().all(|a| a.is_ok()), "{answers:?}");
    assert_eq!(bodies(&members, &key).await, vec![None, None, None]);
}

// ---------------------------------------------------------------------------------------
// 10. Sync finds a same-size change whatever the source's clock says.

#[tokio::test]
async fn sync_copies_a_same_size_change_whose_time_went_back() {
    let dir = tempfile::tempdir().unwrap();
    let src = stratus::open(&format!("file://{}", dir.path().display())).unwrap();
    let dst: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let file = dir.path().join("f.txt");
    let back = |secs: u64| {
        let at = std::time::SystemTime::now() - Duration::from_secs(secs);
        std::fs::File::options()
            .write(true)
            .open(&file)
            .unwrap()
            .set_modified(at)
            .unwrap();
    };
    std::fs::write(&file, "aaa").unwrap();
    back(600);
    let options = SyncOptions::default();
    let first = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!(first.copied, 1);
    // Changed, same size, its time still ten minutes behind the copy's.
    std::fs::write(&file, "bbb").unwrap();
    back(599);
    let second = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!((second.copied, second.skipped), (1, 0));
    assert_eq!(
        body(dst.as_ref(), &Path::from("f.txt")).await.as_deref(),
        Some("bbb")
    );
    // Unchanged, it is current.
    let third = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!((third.copied, third.skipped), (0, 1));
}

use futures::StreamExt;
