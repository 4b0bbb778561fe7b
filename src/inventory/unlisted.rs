//! Files a local store holds but does not list: object_store's `LocalFileSystem` treats a
//! file named `NAME#N` (`N` decimal digits, as in `a#1`) as one of its own unfinished
//! uploads and leaves it out of every listing (and refuses to read or write it), and a
//! name no key can hold (an ASCII control character, bytes that are not UTF-8) fails its
//! listing; stratus's local stores leave those out too (every file below such a folder
//! with them). An inventory of a folder would miss them without a word;
//! [`scan`](super::scan) counts them instead, in [`Report::unlisted`](super::Report::unlisted).

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Examples kept of the unlisted files.
pub const UNLISTED_EXAMPLES: usize = 5;

tokio::task_local! {
    /// The shallowest local folder listed during a scan.
    static LISTED_FOLDER: Arc<Mutex<Option<PathBuf>>>;
}

/// A local store lists `folder` (the folder of the prefix it is asked for): noted when a
/// scan runs, nothing otherwise.
pub(crate) fn note_local_folder(folder: impl FnOnce() -> PathBuf) {
    let _ = LISTED_FOLDER.try_with(|noted| {
        let folder = folder();
        let mut noted = noted.lock().expect("listed folder");
        let deeper = |old: &PathBuf| old.components().count() > folder.components().count();
        if noted.as_ref().is_none_or(deeper) {
            *noted = Some(folder);
        }
    });
}

/// Run `work` noting the local folders listed; with it, the shallowest one.
pub(crate) async fn noting<T>(work: impl std::future::Future<Output = T>) -> (T, Option<PathBuf>) {
    let noted = Arc::new(Mutex::new(None));
    let out = LISTED_FOLDER.scope(Arc::clone(&noted), work).await;
    let folder = noted.lock().expect("listed folder").take();
    (out, folder)
}

/// `work` in the scope of the scan running now (for a task it spawns).
pub(crate) fn in_scan<F: std::future::Future>(
    work: F,
) -> impl std::future::Future<Output = F::Output> {
    let noted = LISTED_FOLDER.try_with(Arc::clone);
    async move {
        match noted {
            Ok(noted) => LISTED_FOLDER.scope(noted, work).await,
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
        self.examples.sort();
        self.examples.dedup();
        self.examples.truncate(UNLISTED_EXAMPLES);
    }
}

/// Whether object_store's local store hides a file of this name: `NAME#N`, `N` one or
/// more ASCII digits after the first `#` (its rule, `is_valid_file_path`). (A name no
/// key can hold is left out as well: see [`holdable`].)
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

/// The hidden files in `folder`, the local folder of the scanned `prefix`; `None` when
/// there are none.
pub(crate) async fn census(folder: PathBuf, prefix: Option<&Path>) -> Option<Unlisted> {
    let base = prefix.map(|p| p.to_string()).unwrap_or_default();
    let walk = move || walk(&folder, &base);
    let found = if super::multi_thread_runtime() {
        tokio::task::spawn_blocking(walk)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    } else {
        walk()
    };
    (found.objects > 0).then_some(found)
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
            let name = raw.to_string_lossy();
            let child = match key.as_str() {
                "" => name.to_string(),
                key => format!("{key}/{name}"),
            };
            let path = entry.path();
            // `metadata` follows symlinks, as object_store's listing does.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push((path, child, open.clone(), listed && segment.is_some()));
            } else if meta.is_file() && (!listed || segment.is_none_or(hidden_by_local_store)) {
                found.objects += 1;
                found.bytes = found.bytes.saturating_add(meta.len());
                examples.push(child);
                if examples.len() > 8 * UNLISTED_EXAMPLES {
                    examples.sort();
                    examples.truncate(UNLISTED_EXAMPLES);
                }
            }
        }
    }
    examples.sort();
    examples.truncate(UNLISTED_EXAMPLES);
    found.examples = examples;
    found
}

#[cfg(test)]
mod tests {
    use super::*;

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
