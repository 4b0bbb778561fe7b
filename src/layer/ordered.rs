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
//! A local folder holding a name that no object_store path can hold (an ASCII control
//! character such as ESC, bytes that are not UTF-8), which object_store's own listing
//! fails on whole, is read here instead ([`local_folder`]): such a name is left out, as
//! object_store leaves out its unfinished uploads (`NAME#N`), and never turned into a key
//! that would name another file; an inventory counts both apart
//! ([`crate::inventory::Unlisted`]). Every other entry is listed as object_store lists it.

use super::forward::{Layer, Layered};
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
                local_folder(inner, root, prefix).boxed()
            }
            None => inner.list_with_delimiter(prefix),
        }
    }
}

/// One folder of a local store rooted at `root`: object_store's listing of it or, when
/// object_store cannot list it because a name in it is no valid key, the folder read
/// here with the same metadata, that name left out.
async fn local_folder(
    inner: &Arc<dyn ObjectStore>,
    root: &std::path::Path,
    folder: Option<&Path>,
) -> Result<ListResult> {
    match inner.list_with_delimiter(folder).await {
        Err(object_store::Error::InvalidPath { .. }) => {}
        other => return other,
    }
    let dir = folder_of(root, folder);
    read_folder(&dir, folder).map_err(|source| object_store::Error::Generic {
        store: "LocalFileSystem",
        source: format!("cannot list {}: {source}", dir.display()).into(),
    })
}

/// `dir` (which `folder` names) read directly: sub-folders as common prefixes, files as
/// objects with object_store's metadata (its e-tag formula: inode, mtime in
/// microseconds, size), symbolic links followed (a broken one skipped, as object_store
/// does), the names it hides left out ([`crate::inventory::hidden_by_local_store`]).
fn read_folder(dir: &std::path::Path, folder: Option<&Path>) -> std::io::Result<ListResult> {
    let mut common_prefixes = Vec::new();
    let mut objects = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str().filter(|n| PathPart::parse(n).is_ok()) else {
            continue;
        };
        let metadata = match std::fs::metadata(entry.path()) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let location = match folder {
            Some(folder) => Path::parse(format!("{folder}/{name}")),
            None => Path::parse(name),
        }
        .map_err(std::io::Error::other)?;
        if metadata.is_dir() {
            common_prefixes.push(location);
            continue;
        }
        if !metadata.is_file() || crate::inventory::hidden_by_local_store(name) {
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
    Ok(ListResult {
        common_prefixes,
        objects,
        extensions: Default::default(),
    })
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
            Some(root) => local_folder(&self.store, root, folder).await?,
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

    /// Whether an entry can hold keys after the offset.
    fn wanted(&self, key: &str, entry: &Child) -> bool {
        let Some(offset) = &self.offset else {
            return true;
        };
        match entry {
            Child::Object(_) => key > offset.as_str(),
            // Every key below a folder starts with its sort key (which ends in `/`): the
            // folder is wholly at or before the offset when it sorts before the offset
            // and the offset is not inside it.
            Child::Folder(_) => key > offset.as_str() || offset.starts_with(key),
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
