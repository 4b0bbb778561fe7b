//! Proof, before a delete, that two stores are two places.
//!
//! Moving an object from store `A` to store `B` ends with a delete in `A`. If `A` and `B`
//! are one place under two names (one folder or bucket reached through two config
//! entries, two endpoints of one server, one `Arc` given twice), the "copy" in `B` *is*
//! the original, and that delete removes the only copy. Configuration catches the names
//! it can compare ([`crate::config`] refuses two members that reach the same place);
//! [`same_place`] is the check that works whatever the stores are: it writes a probe
//! object through one and looks for it through the other.

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, Result};
use std::sync::Arc;

/// Whether `a` and `b` are the same place: a probe object written to `b` is visible in
/// `a` under the same key. The probe (`.stratus-probe-<random>`, a few bytes) is removed
/// again. Two `Arc`s to one store are the same place without a probe.
///
/// This proves identity, not disjointness: stores that overlap through a prefix (a
/// bucket and a folder of it) hold each other's objects under *different* keys, which
/// no move between them confuses; configuration refuses them where it can see them.
///
/// The probe is at `probe`, a key no one else writes ([`probe_key`] gives one; a caller
/// may pick one that its own readers never look at).
pub(crate) async fn same_place(
    a: &Arc<dyn ObjectStore>,
    b: &Arc<dyn ObjectStore>,
    probe: &Path,
) -> Result<bool> {
    if same_arc(a, b) {
        return Ok(true);
    }
    let options = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    b.put_opts(probe, "stratus probe".into(), options).await?;
    let seen = crate::transfer::head_if_any(a.as_ref(), probe)
        .await
        .map(|found| found.is_some());
    // Best effort: a probe left behind is a few bytes under a name that says what it is.
    let _ = b.delete(probe).await;
    seen
}

/// Whether two `Arc`s point at one store object (the data pointers, whatever the vtables).
pub(crate) fn same_arc(a: &Arc<dyn ObjectStore>, b: &Arc<dyn ObjectStore>) -> bool {
    std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
}

/// The names of the first two members that are one `Arc`, if any.
pub(crate) fn first_shared_store(
    members: &[(String, Arc<dyn ObjectStore>)],
) -> Option<(&str, &str)> {
    members.iter().enumerate().find_map(|(i, (a, store))| {
        members[..i]
            .iter()
            .find(|(_, other)| same_arc(store, other))
            .map(|(b, _)| (b.as_str(), a.as_str()))
    })
}

/// A key no one else writes: the process id, the time and a random number, hashed.
/// (`RandomState::new` keys differ from call to call and from process to process: no
/// counter of the crate's own.)
pub(crate) fn probe_key() -> Path {
    use std::hash::{BuildHasher, RandomState};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!(
        "{}-{nanos}-{}",
        std::process::id(),
        RandomState::new().hash_one(nanos)
    );
    Path::from(format!(
        ".stratus-probe-{:032x}",
        xxhash_rust::xxh3::xxh3_128(seed.as_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::local::LocalFileSystem;
    use object_store::memory::InMemory;
    use object_store::prefix::PrefixStore;

    #[tokio::test]
    async fn two_names_for_one_folder_are_one_place_and_the_probe_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let a: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let b: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        assert!(same_place(&a, &b, &probe_key()).await.unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "probe left behind"
        );

        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        assert!(same_place(&memory, &memory.clone(), &probe_key())
            .await
            .unwrap());
        let other: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        assert!(!same_place(&memory, &other, &probe_key()).await.unwrap());
        // A folder of the same store is another place for keys.
        let folder: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(Arc::clone(&memory), "f"));
        assert!(!same_place(&memory, &folder, &probe_key()).await.unwrap());
        assert!(
            memory.list(None).next().await.is_none(),
            "probe left behind"
        );
    }

    use futures::StreamExt;
}
