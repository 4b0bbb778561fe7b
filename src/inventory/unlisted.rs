//! Files a local store holds but does not list: object_store's `LocalFileSystem` treats a
//! file named `NAME#N` (`N` decimal digits, as in `a#1`) as one of its own unfinished
//! uploads and leaves it out of every listing (and refuses to read or write it), and a
//! name no key can hold (an ASCII control character, bytes that are not UTF-8) fails its
//! listing; stratus's local stores leave those out too (every file below such a folder
//! with them). An inventory of a folder would miss them without a word;
//! [`scan`](super::scan) counts them instead, in [`Report::unlisted`](super::Report::unlisted).
//!
//! How: a local store's listing reads every folder itself
//! ([`crate::layer::KeyOrderedStore`]) and, during a scan, notes what each read left
//! out; the census adds those up, a file once however often its folder was read. Where a
//! read cannot see all (a folder no key can hold, whose files no listing reaches; a link
//! to a folder, which a walk enters once per path; a folder a listing from an offset
//! skipped, as a resumed sync does) or the notes grow past [`SEEN_FILES`] files, the
//! census walks the scanned folders instead, a second pass. Notes describe each folder as
//! the listing read it; a walk, as it is after the listing (a file created or removed in
//! between is counted by one and not the other).

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Examples kept of the unlisted files.
pub const UNLISTED_EXAMPLES: usize = 5;

tokio::task_local! {
    /// The local folders listed so far, outermost only.
    static LISTED: Listed;
}

/// Local folders listed during a scan (or one side of a sync), none inside another (a
/// folder inside one already noted adds nothing): the outermost are the folders of the
/// prefix listed, one per local store (a sharded store's members each have theirs). With
/// them, the files the folders' reads left out ([`Unseen`]), so that the census needs no
/// second walk.
#[derive(Clone, Default)]
pub(crate) struct Listed(
    Arc<Mutex<BTreeSet<PathBuf>>>,
    Arc<AtomicBool>,
    Arc<Mutex<Seen>>,
);

/// What one read of a local folder left out of its listing: the files it hides (by
/// name and size), and whether it met what only a walk counts as the census must.
#[derive(Debug, Default)]
pub(crate) struct Unseen {
    /// Files named `NAME#N` or with a name no key can hold.
    pub(crate) files: Vec<(std::ffi::OsString, u64)>,
    /// A folder no key can hold (its files are all unlisted, and no listing enters it)
    /// or a link to a folder (which a walk enters once per path, a scan's subtrees
    /// maybe more): the census walks the folders instead.
    pub(crate) walk: bool,
}

/// The files left out by the folders read so far, by path (a folder read twice counts
/// once), at most [`SEEN_FILES`]: past that, or when a read asked for it, the census
/// walks the folders instead (`walk`).
#[derive(Debug, Default)]
struct Seen {
    files: std::collections::BTreeMap<PathBuf, u64>,
    walk: bool,
}

/// How many left-out files a scan remembers before it counts them by a walk instead.
const SEEN_FILES: usize = 10_000;

impl Listed {
    fn note(&self, folder: PathBuf) {
        let mut folders = self.0.lock().expect("listed folders");
        if folder.ancestors().any(|a| folders.contains(a)) {
            return;
        }
        let inside: Vec<PathBuf> = folders
            .range(folder.clone()..)
            .take_while(|f| f.starts_with(&folder))
            .cloned()
            .collect();
        for f in inside {
            folders.remove(&f);
        }
        folders.insert(folder);
    }

    /// The files the store did not list in the folders noted, the folders of `prefix`
    /// (which names them in the examples): `None` when there are none.
    pub(crate) async fn census(&self, prefix: Option<&Path>) -> Option<Unlisted> {
        let folders: Vec<PathBuf> = self
            .0
            .lock()
            .expect("listed folders")
            .iter()
            .cloned()
            .collect();
        if folders.is_empty() {
            return None;
        }
        let base = prefix.map(|p| p.to_string()).unwrap_or_default();
        {
            let seen = self.2.lock().expect("unseen files");
            if !seen.walk {
                return seen.census(&folders, &base);
            }
        }
        let walk = move || {
            let mut found = Unlisted::default();
            for folder in &folders {
                found.merge(walk(folder, &base));
            }
            found
        };
        let found = if super::multi_thread_runtime() {
            tokio::task::spawn_blocking(walk)
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
        } else {
            walk()
        };
        (found.objects > 0).then_some(found)
    }

    /// `listing` noting, in this record, the local folders it lists.
    pub(crate) fn noting<S: futures::Stream + Unpin>(
        &self,
        mut listing: S,
    ) -> impl futures::Stream<Item = S::Item> {
        let listed = self.clone();
        futures::stream::poll_fn(move |cx| {
            LISTED.sync_scope(listed.clone(), || {
                futures::StreamExt::poll_next_unpin(&mut listing, cx)
            })
        })
    }
}

impl Seen {
    fn add(&mut self, dir: &std::path::Path, unseen: Unseen) {
        if self.walk {
            return;
        }
        if unseen.walk || self.files.len() + unseen.files.len() > SEEN_FILES {
            return self.fall_back();
        }
        for (name, size) in unseen.files {
            self.files.insert(dir.join(name), size);
        }
    }

    /// Count by a walk instead: the notes are dropped.
    fn fall_back(&mut self) {
        self.walk = true;
        self.files = Default::default();
    }

    /// The census from the files seen: each named as the walk of the outermost folder
    /// holding it would name it (`base`, then its path below that folder).
    fn census(&self, folders: &[PathBuf], base: &str) -> Option<Unlisted> {
        let mut found = Unlisted::default();
        let mut examples = Vec::new();
        for (path, size) in &self.files {
            let Some(below) = folders.iter().find_map(|f| path.strip_prefix(f).ok()) else {
                continue; // (every folder read is inside a folder noted)
            };
            found.objects += 1;
            found.bytes = found.bytes.saturating_add(*size);
            let below = below
                .iter()
                .map(|part| part.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            examples.push(match base {
                "" => below,
                base => format!("{base}/{below}"),
            });
        }
        first_distinct(&mut examples);
        found.examples = examples;
        (found.objects > 0).then_some(found)
    }
}

/// Whether a scan (or a sync) running now counts what local folders leave out
/// ([`note_unseen`]): a folder read outside one need not look.
pub(crate) fn counting_unseen() -> bool {
    LISTED.try_with(|_| ()).is_ok()
}

/// A local folder (`dir`, noted before with [`note_local_folder`]) was read and left
/// out `unseen`.
pub(crate) fn note_unseen(dir: &std::path::Path, unseen: Unseen) {
    if unseen.files.is_empty() && !unseen.walk {
        return;
    }
    let _ = LISTED.try_with(|listed| listed.2.lock().expect("unseen files").add(dir, unseen));
}

/// A listing from an offset left out a local folder wholly before it (a resumed sync or
/// verify, a key range): its files were never read, so the census walks instead.
pub(crate) fn note_folder_skipped() {
    let _ = LISTED.try_with(|listed| listed.2.lock().expect("unseen files").fall_back());
}

/// A local store lists `folder`: noted when a scan (or a sync) runs, nothing otherwise.
pub(crate) fn note_local_folder(folder: impl FnOnce() -> PathBuf) {
    let _ = LISTED.try_with(|listed| listed.note(folder()));
}

/// A listing of the scan running now walks folders one at a time
/// ([`crate::layer::KeyOrderedStore`]): one with an offset lists every folder on the way
/// to it again, so the scan cuts no key ranges (each would list a flat folder whole).
pub(crate) fn note_walked_listing() {
    let _ = LISTED.try_with(|listed| listed.1.store(true, Ordering::Relaxed));
}

/// Whether a listing of the scan running now walked folders ([`note_walked_listing`]).
pub(crate) fn walked_listing() -> bool {
    LISTED
        .try_with(|listed| listed.1.load(Ordering::Relaxed))
        .unwrap_or(false)
}

/// Run `work` noting the local folders listed.
pub(crate) async fn noting<T>(work: impl std::future::Future<Output = T>) -> (T, Listed) {
    let listed = Listed::default();
    let out = LISTED.scope(listed.clone(), work).await;
    (out, listed)
}

/// `work` in the scope of the scan running now (for a task it spawns).
pub(crate) fn in_scan<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    let listed = LISTED.try_with(Listed::clone);
    async move {
        match listed {
            Ok(listed) => LISTED.scope(listed, work).await,
            Err(_) => work.await,
        }
    }
}

/// Files under the scanned prefix that the store does not list (see the module doc):
/// counted apart, never in the report's other figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Unlisted {
    /// Files.
    pub objects: u64,
    /// Their bytes.
    pub bytes: u64,
    /// The first [`UNLISTED_EXAMPLES`] of their keys (as the store would name them: the
    /// scanned prefix included), in key order.
    pub examples: Vec<String>,
}

impl Unlisted {
    /// One line for people: how many, how big, a few names (escaped for a terminal), and
    /// why.
    pub fn describe(&self) -> String {
        let more = if self.objects > self.examples.len() as u64 {
            ", ..."
        } else {
            ""
        };
        let examples: Vec<_> = self
            .examples
            .iter()
            .map(|e| crate::text::terminal(e))
            .collect();
        format!(
            "{} files ({}) in the folder are not in the figures: object_store's local store \
             does not list files named NAME#N (N digits), which it takes for its unfinished \
             uploads, nor names no key can hold (control characters, bytes that are not \
             UTF-8): {}{more}",
            crate::text::thousands(self.objects),
            crate::text::human_bytes(self.bytes),
            examples.join(", ")
        )
    }

    /// Add `other`'s files.
    pub(crate) fn merge(&mut self, other: Unlisted) {
        self.objects = self.objects.saturating_add(other.objects);
        self.bytes = self.bytes.saturating_add(other.bytes);
        self.examples.extend(other.examples);
        first_distinct(&mut self.examples);
    }
}

/// Whether object_store's local store hides a file of this name: `NAME#N`, `N` one or
/// more ASCII digits after the first `#` (its rule, `is_valid_file_path`). (A name no
/// key can hold is left out as well: see [`Unlisted`].)
pub fn hidden_by_local_store(name: &str) -> bool {
    match name.split_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

/// A local name as a key segment, when a key can hold it (UTF-8, no control character,
/// not `.` or `..`).
fn holdable(name: &std::ffi::OsStr) -> Option<&str> {
    name.to_str()
        .filter(|n| object_store::path::PathPart::parse(n).is_ok())
}

/// Walk `folder` (following symlinks, as object_store's local store does, entering no
/// folder twice on one path) for hidden files; `base` is the key of `folder`.
fn walk(folder: &std::path::Path, base: &str) -> Unlisted {
    let mut found = Unlisted::default();
    let mut examples = Vec::new();
    // (folder, its key, the real paths of it and its ancestors, whether the store lists
    // its files: not below a name no key can hold)
    let mut stack = vec![(
        folder.to_path_buf(),
        base.to_string(),
        Vec::<PathBuf>::new(),
        true,
    )];
    while let Some((dir, key, mut open, listed)) = stack.pop() {
        let Ok(real) = std::fs::canonicalize(&dir) else {
            continue;
        };
        if open.contains(&real) {
            continue; // a symlink cycle: what is below was seen on this path already
        }
        open.push(real);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let raw = entry.file_name();
            let segment = holdable(&raw);
            let hidden = !listed || segment.is_none_or(hidden_by_local_store);
            // The entry's type from the folder itself; a `stat` only for a symbolic link
            // (followed, as object_store's listing follows it) or a file to count.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let is_dir = match kind.is_symlink() {
                true => std::fs::metadata(entry.path()).is_ok_and(|m| m.is_dir()),
                false => kind.is_dir(),
            };
            if !is_dir && !hidden {
                continue;
            }
            let name = raw.to_string_lossy();
            let child = match key.as_str() {
                "" => name.to_string(),
                key => format!("{key}/{name}"),
            };
            if is_dir {
                stack.push((
                    entry.path(),
                    child,
                    open.clone(),
                    listed && segment.is_some(),
                ));
                continue;
            }
            match std::fs::metadata(entry.path()) {
                Ok(meta) if meta.is_file() => {
                    found.objects += 1;
                    found.bytes = found.bytes.saturating_add(meta.len());
                    examples.push(child);
                    if examples.len() > 8 * UNLISTED_EXAMPLES {
                        first_distinct(&mut examples);
                    }
                }
                _ => {}
            }
        }
    }
    first_distinct(&mut examples);
    found.examples = examples;
    found
}

/// Keep the first [`UNLISTED_EXAMPLES`] distinct names in byte order (two names can be
/// one after a lossy conversion, `a\xff` and `a\xfe` both `a\u{fffd}`).
fn first_distinct(examples: &mut Vec<String>) {
    examples.sort();
    examples.dedup();
    examples.truncate(UNLISTED_EXAMPLES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Names: listed ones, hidden ones (`NAME#N`), ones no key can hold.
    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "a", "b", "a-b", "é", "x#1", "x#22", "#3", "y#", "\u{1b}c", "d\u{7f}",
        ])
        .prop_map(String::from)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("STRATUS_LOCAL_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
        ))]

        /// The census a scan makes from the folders it read (or, with links to folders
        /// or folders no key can hold, by a walk) equals the walk of the whole folder,
        /// whatever the concurrency and the prefix.
        #[test]
        fn a_scans_census_is_the_walk_of_its_folder(
            tree in prop::collection::vec((prop::collection::vec(name(), 1..4), 0usize..9), 1..20),
            file_links in prop::collection::vec((prop::collection::vec(name(), 1..3), prop::collection::vec(name(), 1..3)), 0..2),
            folder_link in any::<bool>(),
            prefix in prop::option::of(prop::sample::select(vec!["a", "é", "b/a"])),
            concurrency in prop::sample::select(vec![1usize, 3, 16]),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let root = std::fs::canonicalize(dir.path()).unwrap();
            for (path, size) in &tree {
                let path = path.iter().fold(root.clone(), |p, n| p.join(n));
                if std::fs::create_dir_all(path.parent().unwrap()).is_ok() {
                    let _ = std::fs::write(&path, vec![b'x'; *size]);
                }
            }
            for (at, to) in &file_links {
                let at = at.iter().fold(root.clone(), |p, n| p.join(n));
                let to = to.iter().fold(root.clone(), |p, n| p.join(n));
                if to.is_file() {
                    let _ = std::os::unix::fs::symlink(&to, &at);
                }
            }
            if folder_link {
                let _ = std::os::unix::fs::symlink(&root, root.join("a").join("up"));
            }
            let store = crate::layer::KeyOrderedStore::wrap(
                Arc::new(object_store::local::LocalFileSystem::new_with_prefix(&root).unwrap()),
                Some(&root),
            );
            let prefix = prefix.map(|p| Path::parse(p).unwrap());
            let options = super::super::ScanOptions::default().with_concurrency(concurrency);
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().unwrap();
            let report = rt.block_on(super::super::scan(store.as_ref(), prefix.as_ref(), &options)).unwrap();
            let folder = prefix.iter().flat_map(|p| p.parts()).fold(root.clone(), |p, n| p.join(n.as_ref()));
            let base = prefix.as_ref().map(|p| p.to_string()).unwrap_or_default();
            let walked = match folder.is_dir() {
                true => Some(walk(&folder, &base)).filter(|found| found.objects > 0),
                false => None,
            };
            prop_assert_eq!(report.unlisted, walked);
        }
    }

    #[test]
    fn hides_what_object_store_hides() {
        for name in ["a#1", "a#0042", "#7", "x.parquet#12"] {
            assert!(hidden_by_local_store(name), "{name}");
        }
        for name in ["a#", "a#b", "a#1b", "a#b#1", "a", "a#1#2", "a# 1"] {
            assert!(!hidden_by_local_store(name), "{name}");
        }
    }
}
