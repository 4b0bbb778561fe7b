//! Replication: ReplicatedStore under injected faults, a randomized run checking that no
//! acknowledged write is lost and that repair converges, and sync / verify / repair on
//! emulators across providers.

mod common;

use futures::{StreamExt, TryStreamExt};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, UpdateVersion};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use stratus::layer::fault::{Fault, FaultyStore, Op};
use stratus::replicate::{
    self, Compare, Missed, ReadPolicy, ReplicatedStore, SyncOptions, WritePolicy,
};

struct Members {
    faulty: Vec<Arc<FaultyStore>>,
}

impl Members {
    fn new(n: usize) -> Self {
        Self {
            faulty: (0..n)
                .map(|_| Arc::new(FaultyStore::new(Arc::new(InMemory::new()))))
                .collect(),
        }
    }

    fn store(&self, write: WritePolicy) -> ReplicatedStore {
        let members: Vec<(String, Arc<dyn ObjectStore>)> = self
            .faulty
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let store: Arc<dyn ObjectStore> = f.clone();
                (["a", "b", "c", "d"][i].to_string(), store)
            })
            .collect();
        ReplicatedStore::new(members)
            .unwrap()
            .with_write(write)
            .unwrap()
    }

    fn raw(&self, i: usize) -> &Arc<dyn ObjectStore> {
        self.faulty[i].inner()
    }

    fn clear(&self) {
        for f in &self.faulty {
            f.clear();
        }
    }

    async fn body(&self, i: usize, key: &Path) -> Option<String> {
        match self.raw(i).get(key).await {
            Ok(got) => Some(String::from_utf8(got.bytes().await.unwrap().to_vec()).unwrap()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(err) => panic!("{err}"),
        }
    }
}

#[tokio::test]
async fn quorum_met_with_a_member_down_is_acknowledged_and_recorded() {
    let members = Members::new(3);
    members.faulty[2].inject(Fault::fail(Op::Put));
    let store = members.store(WritePolicy::Quorum(2));
    let key = Path::from("k");
    store.put(&key, "v".into()).await.unwrap();
    assert_eq!(members.body(0, &key).await.as_deref(), Some("v"));
    assert_eq!(members.body(2, &key).await, None);
    assert_eq!(
        store.missed(),
        vec![(key.clone(), Missed::Write, vec!["c".to_string()])]
    );
    // A later write that reaches everyone clears the record.
    members.clear();
    store.put(&key, "w".into()).await.unwrap();
    assert!(store.missed().is_empty());
}

/// A quorum write returns without the slow member; its part finishes in the background,
/// in order with the next write to the same key, and reads meanwhile skip it.
#[tokio::test]
async fn a_slow_member_finishes_quorum_writes_in_the_background_in_order() {
    let members = Members::new(3);
    let store = members.store(WritePolicy::Quorum(2));
    let key = Path::from("k");
    // Only c's first put is slow: without ordering, its second put would land first and
    // the first would then overwrite it with the older version.
    members.faulty[2].inject(Fault::delay(Op::Put, Duration::from_millis(200)).times(1));
    store.put(&key, "v1".into()).await.unwrap();
    assert_eq!(store.in_background(), 1);
    assert_eq!(
        store.missed(),
        vec![(key.clone(), Missed::Write, vec!["c".to_string()])],
        "owed while it runs"
    );
    store.put(&key, "v2".into()).await.unwrap();
    assert_eq!(
        store.in_background(),
        2,
        "the second waits for the first on c"
    );
    store.flush().await;
    assert_eq!(store.in_background(), 0);
    for i in 0..3 {
        assert_eq!(
            members.body(i, &key).await.as_deref(),
            Some("v2"),
            "member {i}"
        );
    }
    assert!(
        store.missed().is_empty(),
        "each caught up: {:?}",
        store.missed()
    );

    // A slow primary: the read goes to a member that applied the write.
    members.faulty[0].inject(Fault::delay(Op::Put, Duration::from_millis(200)).times(1));
    store.put(&key, "v3".into()).await.unwrap();
    assert_eq!(members.body(0, &key).await.as_deref(), Some("v2"));
    let got = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], b"v3");
    // A delete right behind it is applied after it on the primary.
    store.delete(&key).await.unwrap();
    store.flush().await;
    for i in 0..3 {
        assert_eq!(members.body(i, &key).await, None, "member {i}");
    }
    assert!(store.missed().is_empty(), "{:?}", store.missed());
}

/// Dropping the store with a write still running in the background loses nothing: the
/// write finishes (the background holds what it needs) and is taken off the record.
#[tokio::test]
async fn dropping_the_store_lets_background_writes_finish() {
    let members = Members::new(3);
    let store = members.store(WritePolicy::Quorum(2));
    members.faulty[2].inject(Fault::delay(Op::Put, Duration::from_millis(100)));
    store.put(&Path::from("k"), "v".into()).await.unwrap();
    assert_eq!(store.in_background(), 1);
    drop(store);
    for _ in 0..100 {
        if members.body(2, &Path::from("k")).await.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        members.body(2, &Path::from("k")).await.as_deref(),
        Some("v")
    );
}

/// An older write finishing in the background does not take a member off the record of
/// a newer write to the key that it then fails.
#[tokio::test]
async fn an_older_background_write_does_not_clear_a_newer_record() {
    let members = Members::new(3);
    let store = members.store(WritePolicy::Quorum(2));
    let key = Path::from("k");
    // c: the first put slow (and applied), the second refused.
    members.faulty[2].inject(Fault::delay(Op::Put, Duration::from_millis(100)).times(1));
    members.faulty[2].inject(Fault::fail(Op::Put));
    store.put(&key, "v1".into()).await.unwrap();
    store.put(&key, "v2".into()).await.unwrap();
    store.flush().await;
    assert_eq!(members.body(2, &key).await.as_deref(), Some("v1"));
    assert_eq!(
        store.missed(),
        vec![(key.clone(), Missed::Write, vec!["c".to_string()])],
        "c still owes v2"
    );
}

/// A member that fails in the background stays recorded as owing the write, for repair.
#[tokio::test]
async fn a_background_failure_stays_recorded_and_repair_converges_it() {
    let members = Members::new(3);
    // c's put runs past the member timeout, in the background.
    let store = members
        .store(WritePolicy::Quorum(2))
        .with_member_timeout(Duration::from_millis(100));
    members.faulty[2].inject(Fault::delay(Op::Put, Duration::from_secs(5)));
    let key = Path::from("k");
    store.put(&key, "v".into()).await.unwrap();
    assert_eq!(store.in_background(), 1);
    store.flush().await;
    assert_eq!(
        store.missed(),
        vec![(key.clone(), Missed::Write, vec!["c".to_string()])]
    );
    assert_eq!(members.body(2, &key).await, None);
    members.clear();
    replicate::repair_recorded(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(members.body(2, &key).await.as_deref(), Some("v"));
    // c's put was given up at the member timeout: it may still land (a server may apply
    // a request its client stopped waiting for), so c stays recorded as behind on the
    // key, and reads avoid it, until a repair `GIVEN_UP_GRACE` after.
    assert_eq!(
        store.missed(),
        vec![(key.clone(), Missed::Write, vec!["c".to_string()])]
    );
}

#[tokio::test]
async fn a_write_below_the_policy_fails_naming_each_member() {
    let members = Members::new(3);
    members.faulty[1].inject(Fault::fail(Op::Put));
    members.faulty[2].inject(Fault::fail(Op::Put));
    let store = members.store(WritePolicy::Quorum(2));
    let key = Path::from("k");
    let err = store.put(&key, "v".into()).await.unwrap_err().to_string();
    assert!(
        err.contains("1 of 3 members applied it, 2 required"),
        "{err}"
    );
    assert!(
        err.contains("member \"b\" failed") && err.contains("member \"c\" failed"),
        "{err}"
    );
    assert!(err.contains("applied by a"), "{err}");
    let (_, what, missed) = store.missed().remove(0);
    assert_eq!(
        (what, missed),
        (Missed::Write, vec!["b".into(), "c".into()])
    );

    // With write = all, one failure is enough to refuse.
    let members = Members::new(3);
    members.faulty[2].inject(Fault::fail(Op::Put));
    let err = members
        .store(WritePolicy::All)
        .put(&key, "v".into())
        .await
        .unwrap_err();
    assert!(err
        .to_string()
        .contains("2 of 3 members applied it, 3 required"));
}

#[tokio::test]
async fn reads_fall_back_on_error_and_not_found() {
    let members = Members::new(3);
    let store = members.store(WritePolicy::All);
    let key = Path::from("k");
    store.put(&key, "v".into()).await.unwrap();
    members.faulty[0].inject(Fault::fail(Op::Get));
    members.raw(1).delete(&key).await.unwrap();
    let got = store.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(got, "v", "a failed, b lacked it, c answered");
    assert_eq!(members.faulty[2].calls(Op::Get), 1);
    // Missing everywhere: NotFound, naming a member. (With a member failing instead,
    // the failure is returned: the object may be there.)
    assert!(!matches!(
        store.get(&Path::from("nope")).await.unwrap_err(),
        object_store::Error::NotFound { .. }
    ));
    members.clear();
    let err = store.get(&Path::from("nope")).await.unwrap_err();
    assert!(matches!(err, object_store::Error::NotFound { .. }), "{err}");
    assert!(stratus::member_of(&err).is_some());
}

#[tokio::test]
async fn a_hedged_read_takes_the_fast_member_and_an_ordered_one_waits() {
    let members = Members::new(2);
    let key = Path::from("k");
    members.raw(0).put(&key, "slow".into()).await.unwrap();
    members.raw(1).put(&key, "fast".into()).await.unwrap();
    members.faulty[0].inject(Fault::delay(Op::Get, Duration::from_secs(2)));
    let hedged = members
        .store(WritePolicy::All)
        .with_read(ReadPolicy::Hedged(Duration::from_millis(20)));
    let got = hedged.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(got, "fast");
    members.clear();
    members.faulty[0].inject(Fault::delay(Op::Get, Duration::from_millis(100)));
    let ordered = members.store(WritePolicy::All);
    let got = ordered.get(&key).await.unwrap().bytes().await.unwrap();
    assert_eq!(got, "slow", "ordered reads wait for the primary");
}

#[tokio::test]
async fn multipart_with_a_member_failing_to_start_completes_under_quorum() {
    let members = Members::new(3);
    members.faulty[1].inject(Fault::fail(Op::PutMultipart));
    let key = Path::from("big");
    let store = members.store(WritePolicy::Quorum(2));
    let mut upload = store.put_multipart(&key).await.unwrap();
    upload.put_part(vec![1u8; 100].into()).await.unwrap();
    upload.put_part(vec![2u8; 100].into()).await.unwrap();
    upload.complete().await.unwrap();
    assert_eq!(members.raw(0).head(&key).await.unwrap().size, 200);
    assert_eq!(members.raw(2).head(&key).await.unwrap().size, 200);
    assert!(members.raw(1).head(&key).await.is_err());
    assert_eq!(store.missed()[0].2, vec!["b".to_string()]);

    // Under write = all it cannot start.
    let err = members
        .store(WritePolicy::All)
        .put_multipart(&Path::from("other"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("member \"b\""), "{err}");
}

#[tokio::test]
async fn a_member_failing_a_part_drops_out_of_the_upload() {
    let key = Path::from("parts");
    let members = Members::new(3);
    members.faulty[2].inject(Fault::fail(Op::PutPart).after(1).times(1));
    let store = members.store(WritePolicy::Quorum(2));
    let mut upload = store.put_multipart(&key).await.unwrap();
    for part in 0..3u8 {
        upload.put_part(vec![part; 100].into()).await.unwrap();
    }
    upload.complete().await.unwrap();
    for i in 0..2 {
        assert_eq!(members.raw(i).head(&key).await.unwrap().size, 300);
    }
    assert!(
        members.raw(2).head(&key).await.is_err(),
        "c's upload was aborted"
    );
    assert_eq!(store.missed()[0].2, vec!["c".to_string()]);

    // With write = all the failed part fails the upload, naming the member.
    let members = Members::new(3);
    members.faulty[1].inject(Fault::fail(Op::PutPart));
    let store = members.store(WritePolicy::All);
    let mut upload = store.put_multipart(&key).await.unwrap();
    let err = upload.put_part(vec![0; 100].into()).await.unwrap_err();
    assert!(err.to_string().contains("member \"b\""), "{err}");
    upload.abort().await.unwrap();
    for i in 0..3 {
        assert!(members.raw(i).head(&key).await.is_err());
    }
}

#[tokio::test]
async fn conditional_writes_are_decided_by_the_primary() {
    let members = Members::new(3);
    let store = members.store(WritePolicy::All);
    let key = Path::from("k");
    // A stale copy on c alone does not block a create: the primary decides.
    members.raw(2).put(&key, "stale".into()).await.unwrap();
    let created = store
        .put_opts(&key, "one".into(), PutMode::Create.into())
        .await
        .unwrap();
    for i in 0..3 {
        assert_eq!(members.body(i, &key).await.as_deref(), Some("one"));
    }
    // The primary has it: create is refused and nothing changes.
    let err = store
        .put_opts(&key, "two".into(), PutMode::Create.into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );
    assert_eq!(members.body(1, &key).await.as_deref(), Some("one"));
    // Update with the primary's e-tag succeeds everywhere; a stale one is refused.
    let version = UpdateVersion {
        e_tag: created.e_tag,
        version: created.version,
    };
    store
        .put_opts(
            &key,
            "three".into(),
            PutMode::Update(version.clone()).into(),
        )
        .await
        .unwrap();
    assert_eq!(members.body(2, &key).await.as_deref(), Some("three"));
    let err = store
        .put_opts(&key, "four".into(), PutMode::Update(version).into())
        .await
        .unwrap_err();
    assert!(
        matches!(err, object_store::Error::Precondition { .. }),
        "{err}"
    );
    // copy_if_not_exists: refused when the primary has the target.
    let err = store.copy_if_not_exists(&key, &key).await.unwrap_err();
    assert!(
        matches!(err, object_store::Error::AlreadyExists { .. }),
        "{err}"
    );
}

/// The state of a key as acknowledged writes left it, or the set of states it may be in
/// after writes that were refused (which may have reached some members).
#[derive(Clone, Debug)]
enum Expect {
    Known(Option<String>),
    OneOf(Vec<Option<String>>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn randomized_faults_lose_no_acknowledged_write_and_repair_converges() {
    const OPS: usize = 5000;
    const KEYS: usize = 150;
    const FAILURE_RATE: f64 = 0.10; // per member and operation
    let members = Members::new(3);
    let store = members.store(WritePolicy::Quorum(2));
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let mut expect: BTreeMap<String, Expect> = BTreeMap::new();
    let (mut acked, mut refused) = (0, 0);
    for op in 0..OPS {
        let key = format!("key-{:04}", rng.random_range(0..KEYS));
        let delete = rng.random_bool(0.25);
        let kind = if delete { Op::Delete } else { Op::Put };
        for member in &members.faulty {
            if rng.random_bool(FAILURE_RATE) {
                member.inject(Fault::fail(kind).on_keys_containing(key.clone()));
            }
        }
        let value = (!delete).then(|| format!("{key} v{op}"));
        let path = Path::from(key.as_str());
        let result = match &value {
            Some(v) => store.put(&path, v.clone().into()).await.map(drop),
            None => store.delete(&path).await,
        };
        members.clear();
        let before = expect.get(&key).cloned().unwrap_or(Expect::Known(None));
        let after = match result {
            Ok(()) => {
                acked += 1;
                Expect::Known(value)
            }
            Err(_) => {
                refused += 1;
                let mut states = match before {
                    Expect::Known(v) => vec![v],
                    Expect::OneOf(vs) => vs,
                };
                states.push(value);
                Expect::OneOf(states)
            }
        };
        expect.insert(key, after);
    }
    assert!(
        refused > 50 && acked > 4000,
        "acked {acked}, refused {refused}"
    );

    let report = replicate::repair(&store, &SyncOptions::default())
        .await
        .unwrap();
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    assert!(report.copied + report.deleted > 0);

    // Every member identical...
    for i in 1..3 {
        let v = replicate::verify(
            &**members.raw(0),
            &**members.raw(i),
            &SyncOptions::default().with_compare(Compare::Content),
        )
        .await
        .unwrap();
        assert!(v.is_identical(), "member 0 vs {i}: {v:?}");
    }
    // ...and every acknowledged write is there.
    for (key, expected) in &expect {
        let got = members.body(0, &Path::from(key.as_str())).await;
        match expected {
            Expect::Known(v) => assert_eq!(&got, v, "{key}: acknowledged state lost"),
            Expect::OneOf(vs) => assert!(vs.contains(&got), "{key}: {got:?} not in {vs:?}"),
        }
    }
    assert!(
        store.missed().is_empty(),
        "repair forgets what it converged"
    );
    eprintln!(
        "{OPS} operations: {acked} acknowledged, {refused} refused; repair copied {}, deleted {}, {} conflicts",
        report.copied,
        report.deleted,
        report.conflicts.len()
    );
}

#[tokio::test]
async fn sync_copies_what_differs_deletes_with_delete_and_a_rerun_does_nothing() {
    let src: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dst: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for i in 0..100 {
        src.put(&Path::from(format!("k{i:03}")), format!("v{i}").into())
            .await
            .unwrap();
    }
    dst.put(&Path::from("k005"), "old!".into()).await.unwrap(); // same size, older
    dst.put(&Path::from("extra"), "x".into()).await.unwrap();
    let dry = replicate::sync(&*src, &*dst, &SyncOptions::default().with_dry_run(true))
        .await
        .unwrap();
    assert_eq!(dry.copied, 100);
    assert!(
        dst.head(&Path::from("k000")).await.is_err(),
        "dry run copied"
    );

    let report = replicate::sync(&*src, &*dst, &SyncOptions::default().with_delete(true))
        .await
        .unwrap();
    assert_eq!((report.copied, report.deleted, report.skipped), (100, 1, 0));
    let again = replicate::sync(&*src, &*dst, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!((again.copied, again.skipped), (0, 100));
    let v = replicate::verify(
        &*src,
        &*dst,
        &SyncOptions::default().with_compare(Compare::Content),
    )
    .await
    .unwrap();
    assert!(v.is_identical(), "{v:?}");
}

#[tokio::test]
async fn verify_reports_each_kind_of_difference() {
    let a: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let b: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for (store, key, body) in [
        (&a, "both", "same"),
        (&b, "both", "same"),
        (&a, "only-a", "1"),
        (&b, "only-b", "2"),
        (&a, "differs", "one"),
        (&b, "differs", "three"),
    ] {
        store.put(&Path::from(key), body.into()).await.unwrap();
    }
    let v = replicate::verify(&*a, &*b, &SyncOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (v.same, v.missing_in_a, v.missing_in_b, v.differing),
        (1, 1, 1, 1)
    );
    assert_eq!(v.examples.len(), 3);
}

// ---------------------------------------------------------------------------------------
// Emulators: sync and verify across providers, repair of a replicated store.

mod emulators {
    use super::*;
    use common::{Backend, Fixture};

    async fn keys(store: &dyn ObjectStore) -> usize {
        store
            .list(None)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .len()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    // Moto, the slowest server here (one Python process), comes last in the chain: it takes
    // each object once and is read once, by the last verify.
    async fn sync_local_to_seaweedfs_to_azure_to_moto_with_1200_objects_and_a_multipart_one() {
        let (Some(local), Some(seaweed), Some(azure), Some(moto)) = (
            Fixture::new(Backend::Local, "sync"),
            Fixture::new(Backend::SeaweedFs, "sync"),
            Fixture::new(Backend::Azurite, "sync"),
            Fixture::new(Backend::Moto, "sync"),
        ) else {
            return;
        };
        let (local, seaweed, azure, moto) =
            (&*local.store, &*seaweed.store, &*azure.store, &*moto.store);
        futures::stream::iter(0..1200u32)
            .map(|i| async move {
                let key = Path::from(format!("d{}/f{i:05}", i % 7));
                local
                    .put(&key, vec![(i % 251) as u8; (i % 3000) as usize].into())
                    .await
            })
            .buffer_unordered(32)
            .try_collect::<Vec<_>>()
            .await
            .unwrap();
        let big: Vec<u8> = (0..17 * 1024 * 1024u32).map(|b| (b % 253) as u8).collect();
        local.put(&Path::from("big.bin"), big.into()).await.unwrap();

        let options = SyncOptions::default().with_concurrency(32);
        let first = replicate::sync(local, seaweed, &options).await.unwrap();
        assert!(first.failures.is_empty(), "{:?}", first.failures);
        assert_eq!(first.copied, 1201);
        let again = replicate::sync(local, seaweed, &options).await.unwrap();
        assert_eq!((again.copied, again.skipped), (0, 1201));

        let to_azure = replicate::sync(seaweed, azure, &options).await.unwrap();
        assert!(to_azure.failures.is_empty(), "{:?}", to_azure.failures);
        assert_eq!(to_azure.copied, 1201);
        let to_moto = replicate::sync(azure, moto, &options).await.unwrap();
        assert!(to_moto.failures.is_empty(), "{:?}", to_moto.failures);
        assert_eq!(to_moto.copied, 1201);
        for (a, b) in [(local, seaweed), (seaweed, azure), (azure, moto)] {
            let v = replicate::verify(a, b, &options.clone().with_compare(Compare::Content))
                .await
                .unwrap();
            assert!(v.is_identical() && v.same == 1201, "{v:?}");
        }

        // A change and a deletion at the source, synced with delete.
        local
            .put(&Path::from("d0/f00000"), "changed".into())
            .await
            .unwrap();
        local.delete(&Path::from("d1/f00001")).await.unwrap();
        let delta = replicate::sync(local, seaweed, &options.clone().with_delete(true))
            .await
            .unwrap();
        assert_eq!((delta.copied, delta.deleted), (1, 1), "{delta:?}");
        assert_eq!(keys(seaweed).await, 1200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn repair_converges_a_replicated_store_over_three_providers() {
        let (Some(local), Some(s3), Some(azure)) = (
            Fixture::new(Backend::Local, "repair"),
            Fixture::new(Backend::Moto, "repair"),
            Fixture::new(Backend::Azurite, "repair"),
        ) else {
            return;
        };
        let members: Vec<(String, Arc<dyn ObjectStore>)> = vec![
            ("s3".into(), Arc::clone(&s3.store)),
            ("azure".into(), Arc::clone(&azure.store)),
            ("local".into(), Arc::clone(&local.store)),
        ];
        let store = ReplicatedStore::new(members.clone()).unwrap();
        for i in 0..60 {
            store
                .put(&Path::from(format!("r/{i:03}")), format!("v{i}").into())
                .await
                .unwrap();
        }
        // Behind the store's back: azure loses some, local gets a different version.
        for i in 0..10 {
            azure
                .store
                .delete(&Path::from(format!("r/{i:03}")))
                .await
                .unwrap();
        }
        // Provably newer than s3's copy: moto keeps whole seconds, and versions within
        // one second of each other are not ordered (the first member would win).
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        local
            .store
            .put(&Path::from("r/020"), "other".into())
            .await
            .unwrap();
        let report = replicate::repair(
            &store,
            &SyncOptions::default().with_compare(Compare::Content),
        )
        .await
        .unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
        // 10 to azure, and local's newer version of r/020 to s3 and azure.
        assert_eq!(report.copied, 12, "{report:?}");
        assert_eq!(report.conflicts.len(), 1);
        assert_eq!(report.conflicts[0].kept, "local", "the newest version wins");
        assert_eq!(report.conflicts[0].overwritten, ["s3", "azure"]);
        for (_, member) in &members[1..] {
            let v = replicate::verify(
                &*members[0].1,
                &**member,
                &SyncOptions::default().with_compare(Compare::Content),
            )
            .await
            .unwrap();
            assert!(v.is_identical(), "{v:?}");
        }
    }
}

/// sync, verify and repair report progress in the crate's one `Progress` shape: keys
/// handled so far in `done`, bytes copied and failures as the report counts them, no
/// total (a listing finds keys as it goes), the last call matching the report.
#[tokio::test]
async fn sync_verify_and_repair_report_progress_in_one_shape() {
    use std::sync::Mutex;
    use stratus::Progress;
    let collect = || {
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let sink = Arc::clone(&seen);
        let options = SyncOptions::default().with_progress(move |p| sink.lock().unwrap().push(p));
        (seen, options)
    };
    let (src, dst): (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>) =
        (Arc::new(InMemory::new()), Arc::new(InMemory::new()));
    for i in 0..40u32 {
        src.put(&Path::from(format!("k{i:02}")), vec![1u8; 10].into())
            .await
            .unwrap();
    }
    let (seen, options) = collect();
    let report = replicate::sync(&*src, &*dst, &options).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 40);
    assert!(seen
        .windows(2)
        .all(|w| w[0].done < w[1].done && w[0].bytes <= w[1].bytes));
    let last = seen.last().unwrap();
    assert_eq!((last.done, last.bytes, last.failed), (40, report.bytes, 0));
    assert_eq!((last.total, report.bytes), (None, 400));

    let (seen, options) = collect();
    replicate::verify(&*src, &*dst, &options).await.unwrap();
    assert_eq!(seen.lock().unwrap().last().map(|p| p.done), Some(40));

    let members = Members::new(2);
    let store = members.store(WritePolicy::All);
    for i in 0..10u32 {
        members.faulty[0]
            .put(&Path::from(format!("r{i}")), vec![2u8; 5].into())
            .await
            .unwrap();
    }
    let (seen, options) = collect();
    let repaired = replicate::repair(&store, &options).await.unwrap();
    let last = *seen.lock().unwrap().last().unwrap();
    assert_eq!((last.done, last.bytes), (10, repaired.bytes));
    assert_eq!(repaired.bytes, 50);
}

/// An interrupted sync resumes after its checkpoint (listing from there, not from the
/// start); a completed run removes it; a checkpoint of another run is refused; verify
/// resumes the same way.
#[tokio::test]
async fn an_interrupted_sync_resumes_after_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = dir.path().join("sync.checkpoint");
    let src: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for i in 0..1000u32 {
        src.put(&Path::from(format!("k{i:04}")), vec![1u8; 8].into())
            .await
            .unwrap();
    }
    let slow = Arc::new(FaultyStore::new(Arc::new(InMemory::new())));
    slow.inject(Fault::delay(Op::Put, Duration::from_millis(1)));
    let dst: Arc<dyn ObjectStore> = slow.clone();

    // Interrupted once 450 keys are handled; the checkpoint is written every 100.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = SyncOptions::default()
        .with_concurrency(4)
        .with_checkpoint(&checkpoint, 100)
        .with_progress(move |p| {
            let _ = tx.send(p.done);
        });
    tokio::select! {
        _ = replicate::sync(&*src, &*dst, &options) => panic!("finished before being interrupted"),
        _ = async { while rx.recv().await.unwrap() < 450 {} } => {}
    }
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    let key = text.lines().last().unwrap().to_string();
    let done: u32 = key[1..].parse::<u32>().unwrap() + 1;
    assert!((400..=450).contains(&done), "{text}");

    // Another run's checkpoint is refused, naming the file.
    let err = replicate::verify(
        &*src,
        &*dst,
        &SyncOptions::default().with_checkpoint(&checkpoint, 100),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("another run") && err.contains("sync.checkpoint"),
        "{err}"
    );

    // Resumed: only the keys after the checkpoint are listed and handled.
    slow.clear();
    let options = SyncOptions::default().with_checkpoint(&checkpoint, 100);
    let report = replicate::sync(&*src, &*dst, &options).await.unwrap();
    assert_eq!(u64::from(1000 - done), report.copied + report.skipped);
    assert_eq!(report.failed, 0);
    assert!(
        !checkpoint.exists(),
        "a completed run removes its checkpoint"
    );
    let all = replicate::verify(&*src, &*dst, &SyncOptions::default())
        .await
        .unwrap();
    assert!(all.is_identical() && all.same == 1000, "{all:?}");

    // verify resumes too (reading both copies, each read of the destination 1 ms): its
    // report covers the keys after the checkpoint.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    slow.inject(Fault::delay(Op::Get, Duration::from_millis(1)));
    let content = SyncOptions::default()
        .with_compare(Compare::Content)
        .with_checkpoint(&checkpoint, 100);
    let options = content.clone().with_progress(move |p| {
        let _ = tx.send(p.done);
    });
    tokio::select! {
        _ = replicate::verify(&*src, &*dst, &options) => panic!("finished before being interrupted"),
        _ = async { while rx.recv().await.unwrap() < 250 {} } => {}
    }
    slow.clear();
    let rest = replicate::verify(&*src, &*dst, &content).await.unwrap();
    assert!(
        (700..=800).contains(&rest.same) && rest.is_identical(),
        "{rest:?}"
    );
    assert!(!checkpoint.exists());
}
