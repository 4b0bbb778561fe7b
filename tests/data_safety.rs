//! The four ways a delete or overwrite could lose the only or the newer copy, each pinned:
//!
//! 1. two names for one place (a renamed member, one folder configured twice, one `Arc`
//!    under two names): refused at load or construction, and a rebalance between two
//!    stores that turn out to be one place touches nothing;
//! 2. a stale copy at the new owner: never taken for the moved object; identical copies
//!    are still recognised without a transfer, and `Prefer` resolves a conflict;
//! 3. a rename no member applied: nothing recorded that `repair` could turn into a
//!    delete of the source;
//! 4. an out-of-order listing: no delete or overwrite is justified by it.
//!
//! Scenarios 1 and 2 also run over S3 (moto) and Azure (Azurite) members.

mod common;

use common::Relisted;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::replicate::{self, Backup, DeleteLimit, ReplicatedStore, SyncOptions};
use stratus::shard::{self, ExecuteOptions, Member, Placement, Prefer, Rendezvous, ShardedStore};
use stratus::Config;

fn placement(names: &[&str]) -> Rendezvous {
    Rendezvous::with_slot_bits(names.iter().map(|n| Member::new(*n)), 12).unwrap()
}

/// Every key of `store` with its body.
async fn contents(store: &dyn ObjectStore) -> BTreeMap<String, Vec<u8>> {
    let metas: Vec<ObjectMeta> = store.list(None).try_collect().await.unwrap();
    let mut all = BTreeMap::new();
    for meta in metas {
        let body = store
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        all.insert(meta.location.to_string(), body.to_vec());
    }
    all
}

async fn body(store: &dyn ObjectStore, key: &Path) -> Option<String> {
    match store.get(key).await {
        Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
        Err(object_store::Error::NotFound { .. }) => None,
        Err(err) => panic!("get {key}: {err}"),
    }
}

/// A key that `placement(members)` puts on `owner`.
fn key_owned_by(members: &[&str], owner: &str, tag: &str) -> Path {
    let placement = placement(members);
    (0..)
        .map(|i| Path::from(format!("{tag}-{i}")))
        .find(|k| placement.members()[placement.locate(k.as_ref().as_bytes())].name() == owner)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Two names for one place.

/// The issue's reproduction: a member renamed from `disk` to `disk2`, the same folder.
const RENAMED_MEMBER: &str = r#"
[stores.disk]
provider = "local"
root = "d"
[stores.s]
provider = "sharded"
members = [{ store = "disk", name = "disk2" }]
previous = ["disk"]
"#;

#[test]
fn a_renamed_member_on_the_same_folder_is_refused_at_load_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("d")).unwrap();
    let err = Config::from_toml(RENAMED_MEMBER, "stores.toml", dir.path())
        .unwrap_err()
        .to_string();
    for needle in [
        "stores.toml",
        "`disk`",
        "`disk2`",
        "local folder",
        "name = \"disk\"",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
}

#[test]
fn two_config_stores_reaching_one_place_are_refused_whatever_their_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("d/sub")).unwrap();
    let refused = |stores: &str, composite: &str| {
        let toml = format!("{stores}\n[stores.c]\n{composite}");
        Config::from_toml(&toml, "stores.toml", dir.path())
            .map(drop)
            .unwrap_err()
            .to_string()
    };
    let two_folders = "[stores.a]\nprovider = \"local\"\nroot = \"d\"\n\
                       [stores.b]\nprovider = \"local\"\nroot = \"./d/../d\"\n";
    // The same folder spelled two ways, in a sharded and in a replicated store.
    let err = refused(
        two_folders,
        "provider = \"sharded\"\nmembers = [\"a\", \"b\"]",
    );
    assert!(
        err.contains("`a`") && err.contains("`b`") && err.contains("both reach"),
        "{err}"
    );
    let err = refused(
        two_folders,
        "provider = \"replicated\"\nmembers = [\"a\", \"b\"]",
    );
    assert!(err.contains("both reach"), "{err}");
    // A member and the previous membership: the same folder under another member name.
    let err = refused(
        two_folders,
        "provider = \"sharded\"\nmembers = [\"a\"]\nprevious = [\"b\"]",
    );
    assert!(err.contains("previous[0]"), "{err}");
    // A folder and a folder inside it; a bucket and a prefix of it.
    let nested = "[stores.a]\nprovider = \"local\"\nroot = \"d\"\n\
                  [stores.b]\nprovider = \"local\"\nroot = \"d/sub\"\n";
    let err = refused(nested, "provider = \"sharded\"\nmembers = [\"a\", \"b\"]");
    assert!(err.contains("one inside the other"), "{err}");
    let buckets = "[stores.a]\nprovider = \"s3\"\nbucket = \"b1\"\nregion = \"us-east-1\"\n\
                   [stores.b]\nprovider = \"s3\"\nbucket = \"b1\"\nprefix = \"x\"\nregion = \"us-east-1\"\n";
    let err = refused(
        buckets,
        "provider = \"replicated\"\nmembers = [\"a\", \"b\"]",
    );
    assert!(
        err.contains("one inside the other") && err.contains("bucket b1"),
        "{err}"
    );
    // Inline members, and a composite nested in another.
    let err = refused(
        "",
        "provider = \"sharded\"\nmembers = [\n\
         { name = \"x\", store = { provider = \"local\", root = \"d\" } },\n\
         { name = \"y\", store = { provider = \"replicated\", members = [\n\
           { name = \"z\", store = { provider = \"local\", root = \"d/sub\" } }] } }]",
    );
    assert!(err.contains("`x`") && err.contains("`y`"), "{err}");

    // Distinct places load: two folders, two prefixes side by side, two memory stores.
    let ok = "[stores.a]\nprovider = \"local\"\nroot = \"d\"\nprefix = \"one\"\n\
              [stores.b]\nprovider = \"local\"\nroot = \"d\"\nprefix = \"two\"\n\
              [stores.m1]\nprovider = \"memory\"\n[stores.m2]\nprovider = \"memory\"\n\
              [stores.c]\nprovider = \"sharded\"\nmembers = [\"a\", \"b\", \"m1\", \"m2\"]\n";
    Config::from_toml(ok, "stores.toml", dir.path()).unwrap();
}

#[tokio::test]
async fn renaming_the_store_a_member_uses_keeps_its_name_and_moves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let before = "[stores.east]\nprovider = \"local\"\nroot = \"e\"\ncreate_root = true\n\
                  [stores.west]\nprovider = \"local\"\nroot = \"w\"\ncreate_root = true\n\
                  [stores.s]\nprovider = \"sharded\"\nmembers = [\"east\", \"west\"]\n";
    let config = Config::from_toml(before, "stores.toml", dir.path()).unwrap();
    let store = config.open("s").unwrap();
    for i in 0..40 {
        store
            .put(&Path::from(format!("k{i}")), format!("v{i}").into())
            .await
            .unwrap();
    }
    let expected = contents(store.as_ref()).await;
    // The config entry `east` is now called `eu-east`; the member keeps its name.
    let after = "[stores.eu-east]\nprovider = \"local\"\nroot = \"e\"\n\
                 [stores.west]\nprovider = \"local\"\nroot = \"w\"\n\
                 [stores.s]\nprovider = \"sharded\"\n\
                 members = [{ store = \"eu-east\", name = \"east\" }, \"west\"]\n";
    let config = Config::from_toml(after, "stores.toml", dir.path()).unwrap();
    let sharded = config.open_sharded("s").unwrap();
    let plan = shard::plan(&sharded).await.unwrap();
    assert_eq!((plan.objects, plan.moves.len()), (40, 0));
    assert_eq!(contents(&sharded).await, expected);
}

#[test]
fn one_arc_under_two_names_is_refused_by_both_composites() {
    let disk: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let err = ShardedStore::new(placement(&["disk2"]), [("disk2".to_string(), disk.clone())])
        .unwrap()
        .with_previous(placement(&["disk"]), [("disk".to_string(), disk.clone())])
        .expect_err("refused")
        .to_string();
    assert!(
        err.contains("\"disk\"") && err.contains("\"disk2\""),
        "{err}"
    );
    let err = ReplicatedStore::new([("a".to_string(), disk.clone()), ("b".to_string(), disk)])
        .expect_err("refused")
        .to_string();
    assert!(err.contains("one store"), "{err}");
}

/// Rebalance from `old` to `new`, where both are one place reached through two store
/// objects (which no configuration check can see): nothing may be deleted.
async fn rebalance_between_aliases_touches_nothing(
    old: Arc<dyn ObjectStore>,
    new: Arc<dyn ObjectStore>,
) {
    for i in 0..20 {
        old.put(&Path::from(format!("key-{i}")), format!("v{i}").into())
            .await
            .unwrap();
    }
    let before = contents(old.as_ref()).await;
    let store = ShardedStore::new(placement(&["disk2"]), [("disk2".to_string(), new)])
        .unwrap()
        .with_previous(placement(&["disk"]), [("disk".to_string(), old.clone())])
        .unwrap();
    let plan = shard::plan(&store).await.unwrap();
    assert_eq!(
        plan.moves.len(),
        20,
        "each object is listed on disk, owned by disk2"
    );
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;
    assert_eq!(report.failures.len(), 20);
    assert_eq!(
        (report.moved, report.already_there, report.superseded),
        (0, 0, 0)
    );
    let why = report.failures[0].error.to_string();
    assert!(
        why.contains("one place") && why.contains("\"disk2\""),
        "{why}"
    );
    assert_eq!(contents(old.as_ref()).await, before, "an object was lost");
}

#[tokio::test]
async fn a_rebalance_between_two_names_for_one_folder_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let one: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let two: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    rebalance_between_aliases_touches_nothing(one, two).await;
}

// ---------------------------------------------------------------------------------------
// 2. A stale copy at the new owner.

/// Members `a` (old membership) and `a`, `b` (new); `key` is owned by `b`. `b` holds
/// `stale` (written first), `a` holds `today` (written `gap` later).
async fn stale_at_owner(
    a: Arc<dyn ObjectStore>,
    b: Arc<dyn ObjectStore>,
    gap: Duration,
) -> (ShardedStore, Path) {
    let key = key_owned_by(&["a", "b"], "b", "key");
    b.put(&key, "stale".into()).await.unwrap();
    tokio::time::sleep(gap).await;
    a.put(&key, "today's version".into()).await.unwrap();
    let store = ShardedStore::new(
        placement(&["a", "b"]),
        [("a".to_string(), a), ("b".to_string(), b)],
    )
    .unwrap()
    .with_previous(placement(&["a"]), [])
    .unwrap();
    (store, key)
}

async fn a_stale_copy_never_wins(a: Arc<dyn ObjectStore>, b: Arc<dyn ObjectStore>, gap: Duration) {
    let (store, key) = stale_at_owner(a.clone(), b.clone(), gap).await;
    let plan = shard::plan(&store).await.unwrap();
    assert_eq!(plan.moves.len(), 1);

    // Default: both versions kept, the conflict reported with both versions.
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!(
        (report.moved, report.already_there, report.superseded),
        (0, 0, 0)
    );
    assert_eq!(report.conflicts.len(), 1);
    let conflict = &report.conflicts[0];
    assert_eq!((conflict.source.size, conflict.destination.size), (15, 5));
    assert!(conflict.source.last_modified > conflict.destination.last_modified);
    assert_eq!(
        body(a.as_ref(), &key).await.as_deref(),
        Some("today's version")
    );
    assert_eq!(body(b.as_ref(), &key).await.as_deref(), Some("stale"));

    // Prefer the newest: today's version replaces the stale one, then leaves `a`.
    let options = ExecuteOptions::default().with_prefer(Prefer::Newest);
    let report = shard::execute(&store, &plan, &options).await;
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert_eq!((report.moved, report.conflicts.len()), (1, 0));
    assert_eq!(
        body(b.as_ref(), &key).await.as_deref(),
        Some("today's version")
    );
    assert_eq!(body(a.as_ref(), &key).await, None);
}

#[tokio::test]
async fn a_stale_copy_at_the_new_owner_never_wins_memory() {
    let (a, b): (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>) =
        (Arc::new(InMemory::new()), Arc::new(InMemory::new()));
    a_stale_copy_never_wins(a, b, Duration::from_millis(5)).await;
}

#[tokio::test]
async fn a_stale_copy_at_the_new_owner_never_wins_local() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let folder = |i: usize| -> Arc<dyn ObjectStore> {
        Arc::new(LocalFileSystem::new_with_prefix(dirs[i].path()).unwrap())
    };
    a_stale_copy_never_wins(folder(0), folder(1), Duration::from_millis(20)).await;
}

#[tokio::test]
async fn identical_copies_move_without_a_transfer_and_prefer_resolves_the_rest() {
    // Identical bytes at the owner: recognised as moved, no write to the owner.
    let a = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    let b = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    let key = key_owned_by(&["a", "b"], "b", "same");
    a.put(&key, "bytes".into()).await.unwrap();
    b.put(&key, "bytes".into()).await.unwrap();
    let version_before = b.head(&key).await.unwrap().e_tag;
    let store = ShardedStore::new(
        placement(&["a", "b"]),
        [
            ("a".to_string(), a.clone() as Arc<dyn ObjectStore>),
            ("b".to_string(), b.clone() as Arc<dyn ObjectStore>),
        ],
    )
    .unwrap()
    .with_previous(placement(&["a"]), [])
    .unwrap();
    let plan = shard::plan(&store).await.unwrap();
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;
    assert_eq!((report.already_there, report.moved), (1, 0));
    // (The route's probe is the one other write to `b`; the key's version is unchanged.)
    assert_eq!(
        b.head(&key).await.unwrap().e_tag,
        version_before,
        "identical copy rewritten"
    );
    assert_eq!(body(a.as_ref(), &key).await, None);

    // An explicit `Destination` keeps the owner's (older) version.
    let (store, key) = stale_at_owner(
        Arc::new(InMemory::new()),
        Arc::new(InMemory::new()),
        Duration::from_millis(5),
    )
    .await;
    let plan = shard::plan(&store).await.unwrap();
    let options = ExecuteOptions::default().with_prefer(Prefer::Destination);
    let report = shard::execute(&store, &plan, &options).await;
    assert_eq!((report.superseded, report.conflicts.len()), (1, 0));
    assert_eq!(body(&store, &key).await.as_deref(), Some("stale"));

    // A source that vanished since the plan: nothing to do, nothing deleted.
    let (store, key) = stale_at_owner(
        Arc::new(InMemory::new()),
        Arc::new(InMemory::new()),
        Duration::from_millis(5),
    )
    .await;
    let plan = shard::plan(&store).await.unwrap();
    let (_, a) = store.stores().find(|(name, _)| *name == "a").unwrap();
    a.delete(&key).await.unwrap();
    let report = shard::execute(&store, &plan, &ExecuteOptions::default()).await;
    assert_eq!((report.vanished, report.conflicts.len()), (1, 0));
    assert_eq!(body(&store, &key).await.as_deref(), Some("stale"));
}

// ---------------------------------------------------------------------------------------
// 3. A rename that no member applied.

fn two_faulty() -> (ReplicatedStore, [Arc<FaultyStore>; 2]) {
    let members = [
        Arc::new(FaultyStore::new(Arc::new(InMemory::new()))),
        Arc::new(FaultyStore::new(Arc::new(InMemory::new()))),
    ];
    let store = ReplicatedStore::new([
        ("a".to_string(), members[0].clone() as Arc<dyn ObjectStore>),
        ("b".to_string(), members[1].clone() as Arc<dyn ObjectStore>),
    ])
    .unwrap();
    (store, members)
}

#[tokio::test]
async fn a_rename_no_member_applied_records_nothing_and_repair_keeps_the_source() {
    let (store, members) = two_faulty();
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "only copy".into()).await.unwrap();
    for member in &members {
        member.inject(Fault::fail(Op::Rename));
    }
    assert!(store.rename(&src, &dst).await.is_err());
    assert_eq!(
        store.missed(),
        vec![],
        "nothing was applied, so nothing was missed"
    );
    for member in &members {
        member.clear();
    }
    let report = replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!((report.deleted, report.copied), (0, 0));
    for member in &members {
        assert_eq!(
            body(member.as_ref(), &src).await.as_deref(),
            Some("only copy")
        );
        assert_eq!(body(member.as_ref(), &dst).await, None);
    }
}

#[tokio::test]
async fn a_conditional_rename_refused_by_the_primary_keeps_an_older_record_to_itself() {
    let (store, members) = two_faulty();
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "source".into()).await.unwrap();
    // `dst` is written to `a` only: `b` is recorded as having missed that write.
    members[1].inject(Fault::fail(Op::Put).times(1));
    let quorum_one = store
        .clone()
        .with_write(replicate::WritePolicy::Quorum(1))
        .unwrap();
    quorum_one.put(&dst, "target".into()).await.unwrap();
    let recorded = quorum_one.missed();
    assert_eq!(recorded.len(), 1);
    // The primary refuses the rename (its `dst` exists): nothing applied anywhere, and
    // the old record of `dst` must not become a delete of `src`.
    let err = quorum_one
        .rename_if_not_exists(&src, &dst)
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );
    assert_eq!(quorum_one.missed(), recorded);
    replicate::repair(&quorum_one, &SyncOptions::default())
        .await
        .unwrap();
    for member in &members {
        assert_eq!(body(member.as_ref(), &src).await.as_deref(), Some("source"));
        assert_eq!(body(member.as_ref(), &dst).await.as_deref(), Some("target"));
    }
}

#[tokio::test]
async fn a_rename_one_member_applied_is_completed_by_repair_without_losing_the_object() {
    let (store, members) = two_faulty();
    let (src, dst) = (Path::from("src"), Path::from("dst"));
    store.put(&src, "moving".into()).await.unwrap();
    members[1].inject(Fault::fail(Op::Rename));
    let quorum_one = store.with_write(replicate::WritePolicy::Quorum(1)).unwrap();
    quorum_one.rename(&src, &dst).await.unwrap();
    members[1].clear();
    let report = replicate::repair(&quorum_one, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!((report.deleted, report.copied), (1, 1));
    for member in &members {
        assert_eq!(body(member.as_ref(), &src).await, None);
        assert_eq!(body(member.as_ref(), &dst).await.as_deref(), Some("moving"));
    }
}

// ---------------------------------------------------------------------------------------
// 4. Out-of-order listings.

fn keys(n: usize) -> Vec<Path> {
    (0..n).map(|i| Path::from(format!("k{i:03}"))).collect()
}

async fn filled(keys: &[Path], body: &str) -> Arc<dyn ObjectStore> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for key in keys {
        store.put(key, body.to_string().into()).await.unwrap();
    }
    store
}

#[tokio::test]
async fn sync_with_delete_over_a_directory_order_listing_deletes_nothing_the_source_has() {
    // The issue's reproduction: object_store's own LocalFileSystem lists in directory
    // order; the destination holds the same 200 keys.
    let dir = tempfile::tempdir().unwrap();
    let src = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    for key in keys(200) {
        src.put(&key, "same".into()).await.unwrap();
    }
    let dst = filled(&keys(200), "same").await;
    let options = SyncOptions::default().with_delete(true);
    let err = replicate::sync(&src, dst.as_ref(), &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key order"), "{err}");
    assert_eq!(
        contents(dst.as_ref()).await.len(),
        200,
        "objects the source has were deleted"
    );
}

#[tokio::test]
async fn a_break_in_order_far_ahead_still_justifies_no_delete_or_overwrite() {
    // The source lists k001..k199 then k000: the one-ahead order check sees the break
    // only at the end, so the merge-join first believes k000 is missing at the source.
    let all = keys(200);
    let mut order = all[1..].to_vec();
    order.push(all[0].clone());
    let src = Relisted::in_order(filled(&all, "same").await, order);
    let dst = filled(&all, "same").await;
    let options = SyncOptions::default().with_delete(true);
    let err = replicate::sync(&src, dst.as_ref(), &options)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("key order"), "{err}");
    assert_eq!(contents(dst.as_ref()).await.len(), 200, "k000 was deleted");

    // The destination lists out of order: k000 looks missing there, and is copied only
    // if that does not overwrite the destination's own (different) k000.
    let src = filled(&all, "source").await;
    let dst_inner = filled(&all, "source").await;
    dst_inner
        .put(&all[0], "newer at the destination".into())
        .await
        .unwrap();
    let mut order = all[1..].to_vec();
    order.push(all[0].clone());
    let dst = Relisted::in_order(dst_inner.clone(), order);
    let result = replicate::sync(src.as_ref(), &dst, &SyncOptions::default()).await;
    assert!(result.is_err() || !result.unwrap().failures.is_empty());
    assert_eq!(
        body(dst_inner.as_ref(), &all[0]).await.as_deref(),
        Some("newer at the destination"),
        "overwritten on the word of an out-of-order listing"
    );
}

#[tokio::test]
async fn repair_over_a_member_listing_out_of_order_overwrites_nothing() {
    let all = keys(50);
    let a = filled(&all, "v").await;
    let b_inner = filled(&all, "v").await;
    b_inner.put(&all[0], "b's own".into()).await.unwrap();
    let mut order = all[1..].to_vec();
    order.push(all[0].clone());
    let b: Arc<dyn ObjectStore> = Arc::new(Relisted::in_order(b_inner.clone(), order));
    let store = ReplicatedStore::new([("a".to_string(), a), ("b".to_string(), b)]).unwrap();
    let result = replicate::repair(&store, &SyncOptions::default()).await;
    assert!(result.is_err() || !result.unwrap().failures.is_empty());
    assert_eq!(
        body(b_inner.as_ref(), &all[0]).await.as_deref(),
        Some("b's own")
    );
}

// ---------------------------------------------------------------------------------------
// 1 and 2 on emulator members: S3 (moto) and Azure (Azurite).

mod emulators {
    use super::*;
    use common::{unique_prefix, Backend};

    /// A store on `backend` under `prefix`, built from its own Config (a store object of
    /// its own, as two config files or two processes would have).
    fn open(backend: Backend, prefix: &str) -> Option<Arc<dyn ObjectStore>> {
        let toml = format!("[stores.t]\n{}", backend.store_toml(prefix)?);
        Some(
            Config::from_toml(&toml, "test.toml", ".")
                .unwrap()
                .open("t")
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn two_names_for_one_s3_prefix_and_one_azure_prefix_delete_nothing() {
        for backend in [Backend::Moto, Backend::Azurite] {
            let prefix = unique_prefix("alias");
            let (Some(one), Some(two)) = (open(backend, &prefix), open(backend, &prefix)) else {
                return;
            };
            rebalance_between_aliases_touches_nothing(one, two).await;
        }
    }

    #[tokio::test]
    async fn a_stale_azure_copy_never_wins_over_todays_s3_version() {
        let (Some(a), Some(b)) = (
            open(Backend::Moto, &unique_prefix("stale-a")),
            open(Backend::Azurite, &unique_prefix("stale-b")),
        ) else {
            return;
        };
        // Both servers report whole seconds (or milliseconds): more than one apart.
        a_stale_copy_never_wins(a, b, Duration::from_millis(2100)).await;
    }
}

#[tokio::test]
async fn sync_between_a_folder_and_a_folder_inside_it_is_refused_before_anything_is_touched() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[stores.all]\nprovider = \"local\"\nroot = \"d\"\ncreate_root = true\n\
                [stores.inner]\nprovider = \"local\"\nroot = \"d\"\nprefix = \"x\"\n\
                [stores.other]\nprovider = \"local\"\nroot = \"e\"\ncreate_root = true\n";
    let config = Config::from_toml(toml, "stores.toml", dir.path()).unwrap();
    let err = config
        .check_distinct(&["all", "inner"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`all`") && err.contains("`inner`") && err.contains("one inside"),
        "{err}"
    );
    config.check_distinct(&["all", "other"]).unwrap();

    // The command refuses it, touching nothing.
    std::fs::write(dir.path().join("stores.toml"), toml).unwrap();
    let all = config.open("all").unwrap();
    all.put(&Path::from("x/a"), "source's".into())
        .await
        .unwrap();
    let out = std::process::Command::new(common::stratus())
        .args([
            "sync",
            "--config",
            "stores.toml",
            "all",
            "inner",
            "--delete",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("one inside"),
        "{stderr}"
    );
    assert_eq!(
        body(all.as_ref(), &Path::from("x/a")).await.as_deref(),
        Some("source's")
    );
}

/// A repair limited to a prefix forgets only the records under it: a missed delete
/// elsewhere must survive it, or a later full repair would bring the object back.
#[tokio::test]
async fn a_repair_under_a_prefix_keeps_the_records_outside_it() {
    let (store, members) = two_faulty();
    let store = store.with_write(replicate::WritePolicy::Quorum(1)).unwrap();
    let (x, y) = (Path::from("x/k"), Path::from("y/k"));
    store.put(&x, "gone".into()).await.unwrap();
    members[1].inject(Fault::fail(Op::Delete));
    store.delete(&x).await.unwrap(); // b missed the delete
    members[1].clear();
    members[1].inject(Fault::fail(Op::Put));
    store.put(&y, "new".into()).await.unwrap(); // b missed the write
    members[1].clear();
    assert_eq!(store.missed().len(), 2);
    for repair in ["listing", "recorded"] {
        let options = SyncOptions::default().with_prefix(Path::from("y"));
        let report = match repair {
            "listing" => replicate::repair(&store, &options).await,
            _ => replicate::repair_recorded(&store, &options).await,
        };
        report.unwrap();
        let kept: Vec<_> = store.missed().into_iter().map(|(key, ..)| key).collect();
        assert_eq!(kept, vec![x.clone()], "{repair}");
    }
    replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    for member in &members {
        assert_eq!(body(member.as_ref(), &x).await, None);
        assert_eq!(body(member.as_ref(), &y).await.as_deref(), Some("new"));
    }
}

// ---------------------------------------------------------------------------------------
// 5. A sync that would wipe its destination, and the backup that makes it undoable.

/// A store holding `n` keys `k000`.. with `body`.
async fn holding(n: usize, body: &str) -> Arc<dyn ObjectStore> {
    filled(&keys(n), body).await
}

#[tokio::test]
async fn sync_with_delete_refuses_to_wipe_the_destination_and_says_so_first() {
    let dst = holding(50, "keep").await;
    let empty: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for dry_run in [true, false] {
        let options = SyncOptions::default()
            .with_delete(true)
            .with_dry_run(dry_run);
        let err = replicate::sync(empty.as_ref(), dst.as_ref(), &options)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                stratus::Error::DeleteLimit {
                    deletes: 50,
                    held: 50,
                    listed: 0,
                    ..
                }
            ),
            "{text}"
        );
        assert!(text.contains("nothing was copied or deleted"), "{text}");
    }
    assert_eq!(contents(dst.as_ref()).await.len(), 50);

    // A source with 20 of the 50: 30 deletes are more than half.
    let src = holding(20, "keep").await;
    let options = SyncOptions::default().with_delete(true);
    let err = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, stratus::Error::DeleteLimit { deletes: 30, .. }),
        "{err}"
    );
    assert_eq!(contents(dst.as_ref()).await.len(), 50);
    // Allowed explicitly: a count, a share, or no limit.
    for (limit, allowed) in [
        (DeleteLimit::Count(29), false),
        (DeleteLimit::Fraction(0.59), false),
        (DeleteLimit::Count(30), true),
        (DeleteLimit::Fraction(0.6), true),
        (DeleteLimit::Unlimited, true),
    ] {
        let dst = holding(50, "keep").await;
        let options = SyncOptions::default()
            .with_delete(true)
            .with_max_delete(limit);
        let result = replicate::sync(src.as_ref(), dst.as_ref(), &options).await;
        assert_eq!(result.is_ok(), allowed, "{limit:?}: {result:?}");
        let left = contents(dst.as_ref()).await.len();
        assert_eq!(left, if allowed { 20 } else { 50 }, "{limit:?}");
    }
    // Deleting half or less needs nothing.
    let src = holding(25, "keep").await;
    let report = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!(report.deleted, 25);
}

#[tokio::test]
async fn the_command_refuses_a_sync_from_a_mistyped_folder_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let toml = "[stores.src]\nprovider = \"local\"\nroot = \"typo\"\ncreate_root = true\n\
                [stores.dst]\nprovider = \"local\"\nroot = \"dst\"\ncreate_root = true\n";
    std::fs::write(dir.path().join("stores.toml"), toml).unwrap();
    let config = Config::from_toml(toml, "stores.toml", dir.path()).unwrap();
    let dst = config.open("dst").unwrap();
    for key in keys(50) {
        dst.put(&key, "data".into()).await.unwrap();
    }
    let run = |extra: &[&str]| {
        let mut args = vec!["sync", "--config", "stores.toml", "src", "dst", "--delete"];
        args.extend(extra);
        std::process::Command::new(common::stratus())
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("would delete 50 of the 50"), "{stderr}");
    assert_eq!(contents(dst.as_ref()).await.len(), 50);
    let out = run(&["--max-delete", "nine"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a count"));
    // Forced, with a backup: everything deleted is in the backup, and syncing it back
    // undoes the mistake.
    let toml = format!(
        "{toml}[stores.saved]\nprovider = \"local\"\nroot = \"saved\"\ncreate_root = true\n"
    );
    std::fs::write(dir.path().join("stores.toml"), &toml).unwrap();
    let out = run(&["--force", "--backup", "saved:run-1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("backed up") && stdout.contains("50"),
        "{stdout}"
    );
    assert!(contents(dst.as_ref()).await.is_empty());
    let config = Config::from_toml(&toml, "stores.toml", dir.path()).unwrap();
    let saved = config.open("saved").unwrap();
    let kept = contents(saved.as_ref()).await;
    assert_eq!(kept.len(), 50);
    assert!(kept.keys().all(|k| k.starts_with("run-1/")));
    // A backup inside the destination is refused before anything is touched.
    let out = run(&["--force", "--backup", "dst:old"]);
    assert!(!out.status.success());
}

#[tokio::test]
async fn a_backup_receives_every_deleted_and_overwritten_object_before_it_goes() {
    let dst = holding(20, "old").await;
    let src = holding(10, "new").await; // written later: the copies are out of date
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let backup = Backup::new(Arc::clone(&store)).with_prefix(Path::from("before"));
    let options = SyncOptions::default()
        .with_delete(true)
        .with_backup(backup.clone());
    let report = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    // 10 overwritten (different bytes, same size), 10 deleted: all 20 backed up first.
    assert_eq!(
        (
            report.copied,
            report.deleted,
            report.backed_up,
            report.failed
        ),
        (10, 10, 20, 0)
    );
    let saved = contents(store.as_ref()).await;
    assert_eq!(saved.len(), 20);
    assert!(saved.values().all(|body| body == b"old"));
    // Undo: the backup synced back restores the destination as it was.
    let restore = PrefixStore::new(Arc::clone(&store), "before");
    replicate::sync(&restore, dst.as_ref(), &SyncOptions::default())
        .await
        .unwrap();
    assert!(contents(dst.as_ref()).await.values().all(|b| b == b"old"));

    // A backup holding another version of a key is never overwritten: that key fails,
    // and the destination keeps it.
    let dst = holding(20, "odd").await;
    let src = holding(10, "new").await;
    let report = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap();
    assert_eq!((report.failed, report.deleted, report.copied), (20, 0, 0));
    let err = report.failures[0].1.to_string();
    assert!(err.contains("another version"), "{err}");
    assert!(contents(dst.as_ref()).await.values().all(|b| b == b"odd"));

    // The destination as its own backup: refused before anything is touched.
    let dst = holding(20, "old").await;
    let options = SyncOptions::default()
        .with_delete(true)
        .with_backup(Backup::new(Arc::clone(&dst)));
    let err = replicate::sync(src.as_ref(), dst.as_ref(), &options)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the backup is the destination"),
        "{err}"
    );
    assert!(contents(dst.as_ref()).await.values().all(|b| b == b"old"));
}

#[tokio::test]
async fn repair_backs_up_what_it_deletes_each_member_apart_and_keeps_a_count_limit() {
    let (store, members) = two_faulty();
    let store = store.with_write(replicate::WritePolicy::Quorum(1)).unwrap();
    for key in keys(3) {
        store.put(&key, "v".into()).await.unwrap();
    }
    members[1].inject(Fault::fail(Op::Delete));
    for key in keys(3) {
        store.delete(&key).await.unwrap();
    }
    members[1].clear();
    let limited = SyncOptions::default().with_max_delete(DeleteLimit::Count(2));
    let err = replicate::repair(&store, &limited).await.unwrap_err();
    assert!(
        matches!(err, stratus::Error::DeleteLimit { deletes: 3, .. }),
        "{err}"
    );
    assert_eq!(contents(members[1].as_ref()).await.len(), 3);
    let saved: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let options = SyncOptions::default().with_backup(Backup::new(Arc::clone(&saved)));
    let report = replicate::repair(&store, &options).await.unwrap();
    assert_eq!((report.deleted, report.backed_up), (3, 3));
    let kept: Vec<String> = contents(saved.as_ref()).await.into_keys().collect();
    assert_eq!(kept, ["b/k000", "b/k001", "b/k002"]);
}
