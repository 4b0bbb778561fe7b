//! [`KeyOrderedStore`]: listings in key order for a store whose own listings are not.
//!
//! S3, GCS, Azure and object_store's `InMemory` list keys in byte order; object_store's
//! `LocalFileSystem` lists in directory order, and so does SeaweedFS's S3 server (a
//! folder `a` sorts as `a`, not `a/`). Merging listings (sharded `list`, replicated
//! merged listings, `verify`, `sync`) needs key order, so stratus wraps every local store
//! it builds, and S3 stores with `list_order = "sorted"`, in `KeyOrderedStore`, whose `list` walks the tree one folder at a
//! time with `list_with_delimiter` and sorts each folder. Memory is one folder per level
//! of the path being walked. A folder's entries sort as the keys below them would: a
//! folder `a` sorts as `a/`, after an object `a-b` (`-` is below `/`), so the walk yields
//! exactly byte order.
//!
//! A local store's folders are read here ([`local_folder`]), with the keys and metadata
//! object_store's listing gives. A name that no object_store path can hold (an ASCII
//! control character such as ESC, bytes that are not UTF-8), on which object_store's own
//! listing fails whole, is left out, as object_store leaves out its unfinished uploads
//! (`NAME#N`), and never turned into a key that would name another file; an inventory
//! counts both apart ([`crate::inventory::Unlisted`]).

use super::forward::{Layer, Layered};
use crate::inventory::Unseen;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use futures::FutureExt;
use object_store::path::{Path, PathPart};
use object_store::{ListResult, ObjectMeta, ObjectStore, Result};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A store whose `list` and `list_with_offset` yield keys in byte order.
pub struct KeyOrderedStore {
    /// The folder the keys live in, when the store is a local one: the walk resolves
    /// symlinked folders against it to stop at cycles.
    root: Option<PathBuf>,
}

impl KeyOrderedStore {
    /// Wrap `inner`: a local store rooted at `root` (symlinked folders are resolved
    /// against it to stop at cycles), or a remote one that lists in another order.
    pub fn wrap(
        inner: Arc<dyn ObjectStore>,
        root: Option<&std::path::Path>,
    ) -> Arc<dyn ObjectStore> {
        let root = root.and_then(|root| std::fs::canonicalize(root).ok());
        Layered::wrap(inner, Self { root })
    }
}

impl Layer for KeyOrderedStore {
    fn describe(&self, f: &mut fmt::Formatter<'_>, inner: &dyn ObjectStore) -> fmt::Result {
        write!(f, "KeyOrderedStore({inner})")
    }

    fn list(
        &self,
        inner: &Arc<dyn ObjectStore>,
        prefix: Option<&Path>,
        offset: Option<&Path>,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        // A scan cuts no key ranges over it: each would list its folders whole again.
        crate::inventory::note_walked_listing();
        walk(Arc::clone(inner), self.root.clone(), prefix, offset)
    }

    fn list_with_delimiter<'a>(
        &'a self,
        inner: &'a Arc<dyn ObjectStore>,
        prefix: Option<&'a Path>,
    ) -> BoxFuture<'a, Result<ListResult>> {
        match &self.root {
            Some(root) => {
                crate::inventory::note_local_folder(|| folder_of(root, prefix));
                local_folder(root, prefix).boxed()
            }
            None => inner.list_with_delimiter(prefix),
        }
    }
}

/// One folder of a local store rooted at `root`, read here (on a blocking thread) with
/// the metadata object_store's listing gives ([`read_folder`]). Reading it directly, one
/// `stat` relative to the open folder per entry, rather than through object_store's
/// `list_with_delimiter` (a `walkdir` walk, a `stat` by path, a URL made and parsed per
/// entry) took a scan of 20,000 files from 1.7x `du -sb` to 1.3x (1.02x once the census
/// of unlisted files came from these reads: `cargo bench --bench inventory -- local`),
/// and lists a folder holding a name no key can hold, which object_store's listing
/// refuses whole.
async fn local_folder(root: &std::path::Path, folder: Option<&Path>) -> Result<ListResult> {
    let dir = folder_of(root, folder);
    let folder = folder.cloned();
    let counting = crate::inventory::counting_unseen();
    let (listed, dir, unseen) =
        tokio::task::spawn_blocking(move || match read_folder(&dir, folder.as_ref(), counting) {
            Ok((listed, unseen)) => Ok((listed, dir, unseen)),
            Err(source) => Err(object_store::Error::Generic {
                store: "LocalFileSystem",
                source: format!("cannot list {}: {source}", dir.display()).into(),
            }),
        })
        .await
        .map_err(|e| object_store::Error::JoinError { source: e })??;
    if let Some(unseen) = unseen {
        crate::inventory::note_unseen(&dir, unseen);
    }
    Ok(listed)
}

/// `dir` (which `folder` names) read directly: sub-folders as common prefixes, files as
/// objects with object_store's metadata (its e-tag formula: inode, mtime in
/// microseconds, size), symbolic links followed (a broken one skipped, as object_store
/// does), the names it hides left out ([`crate::inventory::hidden_by_local_store`]), and
/// so are names no key can hold and what is neither a file nor a folder (a FIFO, socket
/// or device, which object_store would list and a read of which would block or never
/// end). A folder that does not exist (or is a file) is empty, as in object_store.
///
/// With `counting` (a scan is counting what local stores leave out), also what it left
/// out ([`Unseen`]).
fn read_folder(
    dir: &std::path::Path,
    folder: Option<&Path>,
    counting: bool,
) -> std::io::Result<(ListResult, Option<Unseen>)> {
    let mut common_prefixes = Vec::new();
    let mut objects = Vec::new();
    let mut unseen = counting.then(Unseen::default);
    // This folder's real path, once a link to a folder needs it.
    let mut here: Option<Option<std::path::PathBuf>> = None;
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            let empty = ListResult {
                common_prefixes,
                objects,
                extensions: Default::default(),
            };
            return Ok((empty, unseen));
        }
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some((name, part)) = name
            .to_str()
            .and_then(|n| Some((n, PathPart::parse(n).ok()?)))
        else {
            // No key can hold this name: a file is counted apart, a folder's files too
            // (by the census's walk).
            if let Some(unseen) = &mut unseen {
                match std::fs::metadata(entry.path()) {
                    Ok(meta) if meta.is_file() => unseen.files.push((name, meta.len())),
                    Ok(meta) if meta.is_dir() => unseen.walk = true,
                    _ => {}
                }
            }
            continue;
        };
        // `stat` relative to the open folder (cheaper than by path), following a link.
        let link = entry.file_type().map_or(true, |kind| kind.is_symlink());
        let metadata = match link {
            false => entry.metadata(),
            true => std::fs::metadata(entry.path()),
        };
        let metadata = match metadata {
            Ok(metadata) => metadata,
            // Gone since the folder was read; or a link that leads nowhere (to nothing,
            // or round in circles), which object_store skips as broken.
            Err(e) if link || e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        // A link to the folder itself is an error, as in object_store's listing (its
        // walk's "loop"), not a folder to list again below itself.
        if link && metadata.is_dir() {
            let real = std::fs::canonicalize(entry.path()).ok();
            let this = here.get_or_insert_with(|| std::fs::canonicalize(dir).ok());
            if real.is_some() && real == *this {
                return Err(std::io::Error::other(format!(
                    "file system loop: {} is a link to the folder that holds it",
                    entry.path().display()
                )));
            }
        }
        let location = match folder {
            Some(folder) => folder.clone().join(part),
            None => Path::from_iter([part]),
        };
        if metadata.is_dir() {
            if let Some(unseen) = unseen.as_mut().filter(|_| link) {
                unseen.walk = true; // (see `Unseen::walk`)
            }
            common_prefixes.push(location);
            continue;
        }
        if !metadata.is_file() {
            continue;
        }
        if crate::inventory::hidden_by_local_store(name) {
            if let Some(unseen) = &mut unseen {
                unseen.files.push((name.into(), metadata.len()));
            }
            continue;
        }
        objects.push(ObjectMeta {
            e_tag: Some(e_tag(&metadata)),
            last_modified: metadata
                .modified()
                .map(chrono::DateTime::<chrono::Utc>::from)
                .unwrap_or_default(),
            size: metadata.len(),
            location,
            version: None,
        });
    }
    common_prefixes.sort();
    objects.sort_by(|a, b| a.location.cmp(&b.location));
    let listed = ListResult {
        common_prefixes,
        objects,
        extensions: Default::default(),
    };
    Ok((listed, unseen))
}

/// object_store's local e-tag: inode, modification time in microseconds and size, in hex.
fn e_tag(metadata: &std::fs::Metadata) -> String {
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(metadata);
    #[cfg(not(unix))]
    let inode = 0u64;
    let mtime = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .unwrap_or_default()
        .as_micros();
    format!("\"{inode:x}-{mtime:x}-{:x}\"", metadata.len())
}

/// The folder of the local store rooted at `root` that holds the keys below `prefix`
/// (object_store's local store names files by the raw segments).
fn folder_of(root: &std::path::Path, prefix: Option<&Path>) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(
        prefix
            .iter()
            .flat_map(|p| p.parts())
            .map(|p| p.as_ref().to_owned()),
    );
    path
}

/// One entry of a folder: an object, or a sub-folder (to walk when reached).
enum Child {
    Object(ObjectMeta),
    Folder(Path),
}

impl Child {
    /// The string this entry sorts by.
    fn sort_key(&self) -> String {
        match self {
            Child::Object(meta) => meta.location.to_string(),
            Child::Folder(path) => format!("{path}/"),
        }
    }
}

/// The walk: a stack of open folders, each with its remaining entries (last = next) and
/// its real path (symlinks resolved), when known.
///
/// Symlinks: object_store's local store follows them, to files and folders, inside the
/// root or out of it, and so does the walk (a local store exposes what its links reach:
/// do not link to what it must not expose). A link to the folder being listed is an
/// error of object_store's own listing ("loop"), naming the link. A link to a folder
/// further up would make the walk descend forever (exponentially with two such links):
/// a folder whose real path is one of its open ancestors' is not entered, so every real
/// file is listed once, under its path without the cycle.
struct Walk {
    store: Arc<dyn ObjectStore>,
    root: Option<PathBuf>,
    stack: Vec<(Vec<Child>, Option<PathBuf>)>,
    /// The folder to open first, until it is opened.
    start: Option<Option<Path>>,
    /// Skip keys up to and including this one.
    offset: Option<String>,
    /// An error ended the walk.
    failed: bool,
}

impl Walk {
    async fn open(&mut self, folder: Option<&Path>) -> Result<()> {
        // (A few `stat`s per folder: small next to the listing of the folder itself.)
        let real = self.root.as_ref().and_then(|root| {
            let path = folder_of(root, folder);
            crate::inventory::note_local_folder(|| path.clone());
            std::fs::canonicalize(path).ok()
        });
        if real.is_some() && self.stack.iter().any(|(_, open)| *open == real) {
            self.stack.push((Vec::new(), None)); // a cycle: nothing new below
            return Ok(());
        }
        let ListResult {
            common_prefixes,
            objects,
            ..
        } = match &self.root {
            Some(root) => local_folder(root, folder).await?,
            None => self.store.list_with_delimiter(folder).await?,
        };
        let mut entries: Vec<(String, Child)> = objects
            .into_iter()
            // Keys below a folder never equal the folder: such an "object" is a server's
            // marker for the folder itself (SeaweedFS lists `x/y/` so when asked for
            // `x/y`, and keeps emptied folders).
            .filter(|meta| Some(&meta.location) != folder)
            .map(Child::Object)
            .chain(common_prefixes.into_iter().map(Child::Folder))
            .map(|entry| (entry.sort_key(), entry))
            .filter(|(key, entry)| self.wanted(key, entry))
            .collect();
        entries.sort_by(|a, b| b.0.cmp(&a.0)); // descending: pop() takes the smallest
        self.stack
            .push((entries.into_iter().map(|(_, entry)| entry).collect(), real));
        Ok(())
    }

    /// Whether an entry can hold keys after the offset. (A local folder left out is
    /// never read, so the census of unlisted files must walk it: see
    /// [`crate::inventory::Unlisted`].)
    fn wanted(&self, key: &str, entry: &Child) -> bool {
        let Some(offset) = &self.offset else {
            return true;
        };
        match entry {
            Child::Object(_) => key > offset.as_str(),
            // Every key below a folder starts with its sort key (which ends in `/`): the
            // folder is wholly at or before the offset when it sorts before the offset
            // and the offset is not inside it.
            Child::Folder(_) => {
                let wanted = key > offset.as_str() || offset.starts_with(key);
                if !wanted && self.root.is_some() {
                    crate::inventory::note_folder_skipped();
                }
                wanted
            }
        }
    }

    async fn next(&mut self) -> Option<Result<ObjectMeta>> {
        if self.failed {
            return None;
        }
        if let Some(first) = self.start.take() {
            if let Err(err) = self.open(first.as_ref()).await {
                self.failed = true;
                return Some(Err(err));
            }
        }
        loop {
            let (top, _) = self.stack.last_mut()?;
            match top.pop() {
                None => {
                    self.stack.pop();
                }
                Some(Child::Object(meta)) => return Some(Ok(meta)),
                Some(Child::Folder(path)) => {
                    if let Err(err) = self.open(Some(&path)).await {
                        self.failed = true;
                        return Some(Err(err));
                    }
                }
            }
        }
    }
}

fn walk(
    store: Arc<dyn ObjectStore>,
    root: Option<PathBuf>,
    prefix: Option<&Path>,
    offset: Option<&Path>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    let walk = Walk {
        store,
        root,
        stack: Vec::new(),
        start: Some(prefix.cloned()),
        offset: offset.map(|o| o.to_string()),
        failed: false,
    };
    stream::unfold(walk, |mut walk| async move {
        let item = walk.next().await?;
        Some((item, walk))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::local::LocalFileSystem;
    use object_store::ObjectStoreExt;
    use proptest::prelude::*;

    /// A name of a file or folder: mostly ones object_store lists, some it hides
    /// (`x#1`, an unfinished upload) or refuses (a control character).
    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "b", "a-b", "a.b", "é", "%C3%A9", "a b", "x#1", "x#", "#", "~", "0", "\u{1b}e",
        ])
        .prop_map(String::from)
    }

    /// A folder's listing as comparable values: its folders, and its objects' keys,
    /// sizes, e-tags and modification times.
    type Shown = (Vec<String>, Vec<(String, u64, Option<String>, i64)>);

    fn shown(result: ListResult) -> Shown {
        let mut objects: Vec<_> = result
            .objects
            .into_iter()
            .map(|m| {
                let when = m.last_modified.timestamp_micros();
                (m.location.to_string(), m.size, m.e_tag, when)
            })
            .collect();
        objects.sort();
        let folders = result
            .common_prefixes
            .iter()
            .map(|p| p.to_string())
            .collect();
        (folders, objects)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_LOCAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
        ))]

        /// Oracle: every folder read here lists what object_store's own
        /// `list_with_delimiter` lists (same keys, sizes, e-tags, times), wherever
        /// object_store can list it; it cannot where a name no key can hold is or a link
        /// leads through a file, names left out here.
        #[test]
        fn a_folder_read_here_is_object_stores_listing(
            tree in prop::collection::vec((prop::collection::vec(name(), 1..4), any::<bool>(), 0usize..40), 1..24),
            links in prop::collection::vec((prop::collection::vec(name(), 1..3), prop::collection::vec(name(), 0..3)), 0..3),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(dir.path()).unwrap();
            let mut folders = vec![root.clone()];
            for (path, is_folder, size) in &tree {
                let path = path.iter().fold(root.clone(), |p, n| p.join(n));
                let (parent, file) = match is_folder {
                    true => (path.as_path(), None),
                    false => (path.parent().unwrap(), Some(&path)),
                };
                if std::fs::create_dir_all(parent).is_err() {
                    continue; // a file already holds that name
                }
                folders.push(parent.to_path_buf());
                if let Some(file) = file {
                    let _ = std::fs::write(file, vec![b'x'; *size]);
                }
            }
            // Links: to a folder (the one holding the link too) or a file of the tree, or
            // to nothing.
            for (at, to) in &links {
                let at = at.iter().fold(root.clone(), |p, n| p.join(n));
                let to = to.iter().fold(root.clone(), |p, n| p.join(n));
                let _ = std::os::unix::fs::symlink(&to, &at);
            }
            let local = LocalFileSystem::new_with_prefix(&root).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            for folder in folders {
                let Ok(relative) = folder.strip_prefix(&root) else { continue };
                let parts: Vec<_> = relative.iter().map(|p| p.to_str().unwrap()).collect();
                if parts.iter().any(|p| PathPart::parse(p).is_err()) {
                    continue; // no key names this folder
                }
                // (`Path::parse`, not `Path::from`, which would percent-encode `é`.)
                let prefix = (!parts.is_empty()).then(|| Path::parse(parts.join("/")).unwrap());
                let ours = rt.block_on(local_folder(&root, prefix.as_ref()));
                let theirs = rt.block_on(local.list_with_delimiter(prefix.as_ref()));
                // object_store fails on a name no key can hold, and on a link it cannot
                // follow for another reason than a missing target (a link through a
                // file); both are left out here.
                let explained = std::fs::read_dir(&folder).unwrap().any(|entry| {
                    let entry = entry.unwrap();
                    let name = entry.file_name();
                    name.to_str().is_none_or(|n| PathPart::parse(n).is_err())
                        || std::fs::metadata(entry.path()).is_err()
                });
                match (ours, theirs) {
                    (Ok(ours), Ok(theirs)) => prop_assert_eq!(shown(ours), shown(theirs), "{}", folder.display()),
                    (Ok(_), Err(e)) => prop_assert!(explained, "object_store failed on {}: {e}", folder.display()),
                    // A link to the folder that holds it: an error of both (object_store
                    // may meet another error first).
                    (Err(ours), Err(_)) => {
                        prop_assert!(ours.to_string().contains("file system loop"), "{ours}");
                    }
                    (Err(ours), Ok(_)) => prop_assert!(false, "{}: {ours}", folder.display()),
                }
            }
        }
    }

    #[tokio::test]
    async fn lists_a_local_tree_in_byte_order_with_and_without_offset() {
        let dir = tempfile::tempdir().unwrap();
        let local: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
        let store = KeyOrderedStore::wrap(local, Some(dir.path()));
        let raw = [
            "a-b", "a/b", "a/c/d", "a/c-e", "a0", "b", "z/y/x/w", "a/c/d0", "é", "A",
        ];
        for key in raw {
            store.put(&Path::from(key), "x".into()).await.unwrap();
        }
        // Order is that of the keys as stored (object_store percent-encodes `é`).
        let mut keys: Vec<String> = raw.iter().map(|k| Path::from(*k).to_string()).collect();
        keys.sort();
        let listed = |stream: BoxStream<'static, Result<ObjectMeta>>| async move {
            stream
                .map_ok(|m| m.location.to_string())
                .try_collect::<Vec<_>>()
                .await
                .unwrap()
        };
        assert_eq!(listed(store.list(None)).await, keys);
        assert_eq!(
            listed(store.list(Some(&Path::from("a")))).await,
            ["a/b", "a/c-e", "a/c/d", "a/c/d0"]
        );
        for offset in ["", "a", "a-b", "a/c", "a/c/d", "a/c-", "a0", "zz"] {
            let expected: Vec<_> = keys
                .iter()
                .filter(|k| k.as_str() > offset)
                .map(|k| k.to_string())
                .collect();
            let got = listed(store.list_with_offset(None, &Path::from(offset))).await;
            assert_eq!(got, expected, "offset {offset:?}");
        }
    }
}
