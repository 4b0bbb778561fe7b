//! Adversarial tests of the local census made from the folders a scan reads
//! (`Unseen`/`Seen` in src/inventory/unlisted.rs) and of local folders read directly
//! (`read_folder` in src/layer/ordered.rs), written by a review that tried to break them.
//!
//! The oracle is the census as a second walk: the walk of every outermost folder listed
//! (`old_census` below, a copy of the crate's `walk` and `Unlisted::merge`), run on the
//! same tree after the scan. The census must equal it.
//!
//! What the review broke, and the fixes:
//! - a sync or verify resumed from a checkpoint lists from an offset and never reads the
//!   folders before it: their hidden files went uncounted
//!   (`verify_resumed_from_a_checkpoint_counts_hidden_files_before_it`,
//!   `sync_resumed_from_a_checkpoint_counts_hidden_files_before_it`). Now a folder skipped
//!   for an offset makes the census walk.
//! - two names one after a lossy conversion (`a\xff`, `a\xfe`) gave other examples than
//!   the walk (`lossy_name_collisions_*`). Now both keep the first five *distinct*
//!   examples (the walk kept duplicates and then removed them, showing fewer).
//! - a tree changed between a folder's read and the end of the listing is counted as read
//!   (`hidden_files_that_change_after_their_folder_was_read`), as the listing saw it: by
//!   design, documented in the module.

use object_store::path::Path;
use object_store::ObjectStore;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use stratus::inventory::{hidden_by_local_store, scan, ScanOptions, Unlisted};
use stratus::sync::{sync, verify, SyncOptions};
use stratus::Config;

// ---------------------------------------------------------------------------------------
// The oracle: the old census (a second walk), copied from src/inventory/unlisted.rs.

const EXAMPLES: usize = 5;

type Census = Option<(u64, u64, Vec<String>)>;

fn shown(u: &Option<Unlisted>) -> Census {
    u.as_ref().map(|u| (u.objects, u.bytes, u.examples.clone()))
}

fn holdable(name: &OsStr) -> Option<&str> {
    name.to_str()
        .filter(|n| object_store::path::PathPart::parse(n).is_ok())
}

/// The crate's `walk`, verbatim but for the return type (first five distinct examples).
fn old_walk(folder: &FsPath, base: &str) -> (u64, u64, Vec<String>) {
    let (mut objects, mut bytes) = (0u64, 0u64);
    let mut examples = Vec::new();
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
            continue;
        }
        open.push(real);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let raw = entry.file_name();
            let segment = holdable(&raw);
            let hidden = !listed || segment.is_none_or(hidden_by_local_store);
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
                    objects += 1;
                    bytes = bytes.saturating_add(meta.len());
                    examples.push(child);
                    if examples.len() > 8 * EXAMPLES {
                        examples.sort();
                        examples.dedup();
                        examples.truncate(EXAMPLES);
                    }
                }
                _ => {}
            }
        }
    }
    examples.sort();
    examples.dedup();
    examples.truncate(EXAMPLES);
    (objects, bytes, examples)
}

/// The old `Listed::census`: every (outermost) folder walked, merged as `Unlisted::merge`.
fn old_census(folders: &[PathBuf], base: &str) -> Census {
    let (mut objects, mut bytes, mut examples) = (0u64, 0u64, Vec::<String>::new());
    for folder in folders {
        let (o, b, e) = old_walk(folder, base);
        objects = objects.saturating_add(o);
        bytes = bytes.saturating_add(b);
        examples.extend(e);
        examples.sort();
        examples.dedup();
        examples.truncate(EXAMPLES);
    }
    (objects > 0).then_some((objects, bytes, examples))
}

// ---------------------------------------------------------------------------------------
// Helpers.

fn local(root: &FsPath) -> Arc<dyn ObjectStore> {
    let text = format!(
        "[stores.l]\nprovider = \"local\"\nroot = {:?}\n",
        root.to_str().unwrap()
    );
    Config::from_toml(&text, "t.toml", ".")
        .unwrap()
        .open("l")
        .unwrap()
}

fn write(root: &FsPath, rel: &str, size: usize) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, vec![b'x'; size]).unwrap();
}

fn write_raw(dir: &FsPath, name: &[u8], size: usize) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(OsStr::from_bytes(name)), vec![b'x'; size]).unwrap();
}

fn rt(threads: Option<usize>) -> tokio::runtime::Runtime {
    match threads {
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        Some(n) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(n)
            .enable_all()
            .build()
            .unwrap(),
    }
}

fn scan_census(
    store: &dyn ObjectStore,
    prefix: Option<&str>,
    options: &ScanOptions,
    threads: Option<usize>,
) -> Census {
    let prefix = prefix.map(|p| Path::parse(p).unwrap());
    let report = rt(threads)
        .block_on(scan(store, prefix.as_ref(), options))
        .unwrap();
    shown(&report.unlisted)
}

fn folder(root: &FsPath, prefix: Option<&str>) -> PathBuf {
    let root = std::fs::canonicalize(root).unwrap();
    match prefix {
        Some(p) => p.split('/').fold(root, |r, s| r.join(s)),
        None => root,
    }
}

/// Scan `root` with `prefix` at several concurrencies and runtimes; every census must be
/// the old one.
fn check_all(root: &FsPath, prefix: Option<&str>) -> Census {
    let store = local(root);
    let expected = old_census(&[folder(root, prefix)], prefix.unwrap_or(""));
    for concurrency in [1usize, 2, 3, 8, 32] {
        for threads in [None, Some(2)] {
            for key_ranges in [true, false] {
                let options = ScanOptions::default()
                    .with_concurrency(concurrency)
                    .with_key_ranges(key_ranges);
                let got = scan_census(store.as_ref(), prefix, &options, threads);
                assert_eq!(
                    got, expected,
                    "prefix {prefix:?} concurrency {concurrency} threads {threads:?} key_ranges {key_ranges}"
                );
            }
        }
    }
    expected
}

// ---------------------------------------------------------------------------------------
// 1. Examples: file names that are not UTF-8 and collide once made lossy.

/// `a\xff` and `a\xfe` (both `a\u{fffd}` once made lossy) and four hidden files.
fn write_lossy_collisions(root: &FsPath) {
    write_raw(root, b"a\xff", 1);
    write_raw(root, b"a\xfe", 2);
    for name in ["b#1", "c#1", "d#1", "e#1"] {
        write(root, name, 3);
    }
}

/// BROKE the first version (fixed): two files whose names differ only in invalid UTF-8
/// bytes (`a\xff`, `a\xfe`) both show as `a\u{fffd}`. The walk kept the 5 smallest
/// examples with the duplicate and removed it after (4 examples), the notes removed it
/// first (5). Both now keep the first five distinct.
#[test]
fn lossy_name_collisions_give_the_same_examples_as_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_lossy_collisions(root);
    write(root, "listed", 1);
    let expected = old_census(&[folder(root, None)], "");
    eprintln!("old walk: {expected:?}");
    let store = local(root);
    let got = scan_census(store.as_ref(), None, &ScanOptions::default(), None);
    assert_eq!(got, expected);
}

/// Same, below a folder (the names collide in a sub-folder).
#[test]
fn lossy_name_collisions_in_a_sub_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_raw(&root.join("d"), b"\xff", 1);
    write_raw(&root.join("d"), b"\xfe", 1);
    write_raw(&root.join("d"), b"\xfd", 1);
    for name in ["d/x#1", "d/y#1", "d/z#1", "e#1"] {
        write(root, name, 3);
    }
    let expected = old_census(&[folder(root, None)], "");
    eprintln!("old walk: {expected:?}");
    let store = local(root);
    let got = scan_census(store.as_ref(), None, &ScanOptions::default(), None);
    assert_eq!(got, expected);
}

/// A sync's census of both sides is the walk of each side's folder.
fn assert_sync_census(report: &stratus::sync::SyncReport, source: &FsPath, destination: &FsPath) {
    assert_eq!(
        (
            shown(&report.unlisted_source),
            shown(&report.unlisted_destination)
        ),
        (
            old_census(&[folder(source, None)], ""),
            old_census(&[folder(destination, None)], "")
        )
    );
}

// ---------------------------------------------------------------------------------------
// 2. sync / verify resumed from a checkpoint: listings with an offset skip folders.

fn checkpoint_file(path: &FsPath, kind: &str, a: &dyn ObjectStore, b: &dyn ObjectStore, key: &str) {
    std::fs::write(
        path,
        format!("stratus checkpoint v1\n{kind} {a} -> {b} prefix ``\n{key}"),
    )
    .unwrap();
}

/// BROKE the first version (fixed): a verify resumed after key `m` lists both stores
/// from an offset; the walk skips folder `a/` (wholly before the offset), so its hidden
/// file is never read, never noted; the old census walked the whole prefix folder and
/// counted it.
#[test]
fn verify_resumed_from_a_checkpoint_counts_hidden_files_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a"), dir.path().join("b"));
    for root in [&ra, &rb] {
        write(root, "a/k", 1);
        write(root, "z/k", 1);
    }
    write(&ra, "a/h#1", 7);
    write(&ra, "top#1", 5);
    let (a, b) = (local(&ra), local(&rb));
    let cp = dir.path().join("cp");
    checkpoint_file(&cp, "verify", a.as_ref(), b.as_ref(), "m");
    let options = SyncOptions::default().with_checkpoint(&cp, 1000);
    let report = rt(None)
        .block_on(verify(a.as_ref(), b.as_ref(), &options))
        .unwrap();
    assert!(!cp.exists(), "the checkpoint was used and removed");
    assert_eq!(report.same, 1, "only z/k, after the checkpoint");
    let expected = old_census(&[folder(&ra, None)], "");
    assert_eq!(shown(&report.unlisted_a), expected);
}

/// Same for sync, with the checkpoint key inside a folder (`a/m`): `a/b/` is skipped.
#[test]
fn sync_resumed_from_a_checkpoint_counts_hidden_files_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a"), dir.path().join("b"));
    for root in [&ra, &rb] {
        write(root, "a/b/k", 1);
        write(root, "a/z", 1);
    }
    write(&ra, "a/b/h#1", 7);
    write(&rb, "a/b/g#2", 9);
    let (a, b) = (local(&ra), local(&rb));
    let cp = dir.path().join("cp");
    checkpoint_file(&cp, "sync", a.as_ref(), b.as_ref(), "a/m");
    let options = SyncOptions::default().with_checkpoint(&cp, 1000);
    let report = rt(None)
        .block_on(sync(a.as_ref(), b.as_ref(), &options))
        .unwrap();
    assert!(!cp.exists(), "the checkpoint was used and removed");
    assert_sync_census(&report, &ra, &rb);
}

/// HOLDS: a sync and a verify whose join is cut into key ranges (local folders listed from
/// offsets, as a library user gets by default) count the hidden files of both folders as
/// the walk does: the pieces that list from an offset skip folders before it, which makes
/// the census walk.
#[test]
fn a_sync_cut_into_key_ranges_counts_hidden_files_as_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a"), dir.path().join("b"));
    for i in 0..300 {
        write(
            &ra,
            &format!("flat/{:08x}", (i as u64).wrapping_mul(0x9E37_79B9)),
            1,
        );
    }
    for i in 0..12 {
        write(&ra, &format!("flat/h{i:02}#1"), i + 1);
        write(&rb, &format!("flat/g{i:02}#2"), i + 2);
    }
    write(&ra, "deep/er/x#3", 5);
    for threads in [None, Some(2)] {
        let (a, b) = (local(&ra), local(&rb));
        let options = SyncOptions::default()
            .with_key_ranges(true)
            .with_concurrency(8)
            .with_range_block(7);
        let found = rt(threads)
            .block_on(verify(a.as_ref(), b.as_ref(), &options))
            .unwrap();
        assert_eq!(
            (shown(&found.unlisted_a), shown(&found.unlisted_b)),
            (
                old_census(&[folder(&ra, None)], ""),
                old_census(&[folder(&rb, None)], "")
            )
        );
        let report = rt(threads)
            .block_on(sync(a.as_ref(), b.as_ref(), &options))
            .unwrap();
        assert_sync_census(&report, &ra, &rb);
    }
}

// ---------------------------------------------------------------------------------------
// 3. The scan's own folder, prefixes that are files or missing, folders of hidden files.

/// HOLDS: hidden files directly in the prefix folder, and folders holding only hidden
/// files (read by a listing that may be the loser of the probe/split race), every
/// concurrency, both runtimes, with and without key ranges.
#[test]
fn folders_holding_only_hidden_files_and_the_prefix_folder_itself() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "p/h#1", 3);
    write(root, "p/only/x#2", 4);
    write(root, "p/only/deeper/y#3", 5);
    write(root, "p/k", 1);
    write(root, "p/q/k", 1);
    for i in 0..40 {
        write(root, &format!("p/f{i:02}/only#{i}"), i);
    }
    write(root, "outside#1", 100);
    for prefix in [None, Some("p"), Some("p/only"), Some("p/f07")] {
        let census = check_all(root, prefix);
        assert!(census.is_some(), "{prefix:?}");
    }
}

/// HOLDS: a prefix that is a file (`p/k`, a hidden file `p/h#1`) or that does not exist.
#[test]
fn a_prefix_that_is_a_file_or_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "p/h#1", 3);
    write(root, "p/k", 1);
    for prefix in ["p/k", "p/h#1", "nothing", "p/nothing/deeper"] {
        assert_eq!(check_all(root, Some(prefix)), None, "{prefix}");
    }
}

/// HOLDS: a flat folder of more than a probe's page (1,000 keys) with folders holding
/// only hidden files interleaved: the probe wins, the range after its page is listed
/// from an offset that skips the folders the probe already read.
#[test]
fn a_flat_folder_past_the_probe_with_hidden_only_folders_between() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..2500 {
        write(root, &format!("f/k{i:05}"), 1);
        if i % 97 == 0 {
            write(root, &format!("f/k{i:05}d/h#{i}"), 2);
        }
        if i % 301 == 0 {
            write(root, &format!("f/k{i:05}#1"), 3);
        }
    }
    let census = check_all(root, None);
    assert!(census.is_some());
    check_all(root, Some("f"));
}

/// HOLDS: more than a probe's page in a flat folder whose last entries are folders of
/// hidden files only (the page ends, `now_or_never` starts reading them and drops the read).
#[test]
fn a_probe_page_that_ends_on_folders_of_hidden_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..1000 {
        write(root, &format!("k{i:04}"), 1);
    }
    for i in 0..5 {
        write(root, &format!("z{i}/h#1"), 10);
    }
    check_all(root, None);
    for i in 1000..1001 {
        write(root, &format!("k{i:04}"), 1);
    }
    check_all(root, None);
}

// ---------------------------------------------------------------------------------------
// 4. Names: '-' against '/', `x#1` as a folder, links to hidden files, names no key holds.

/// HOLDS: examples in byte order: `a-b#1` (`-` 0x2d) before `a/b#1` (`/` 0x2f), and
/// `a#1` before both; folders named `x#1` are listed and their files counted by name.
#[test]
fn examples_order_dash_slash_and_hash_folders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for name in [
        "a-b#1",
        "a/b#1",
        "a#1",
        "a.b#1",
        "a0#1",
        "x#1/k",
        "x#1/y#2",
        "x#1/z#1/w#3",
    ] {
        write(root, name, 1);
    }
    let census = check_all(root, None).unwrap();
    assert_eq!(census.2, ["a#1", "a-b#1", "a.b#1", "a/b#1", "a0#1"]);
    check_all(root, Some("x#1"));
}

/// HOLDS: links named `NAME#N` to files (counted with the target's size), broken links
/// named so (not counted), FIFOs named so (not counted), a link to a hidden file.
#[test]
fn links_and_fifos_with_hidden_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "d/target", 11);
    write(root, "d/real#1", 13);
    std::os::unix::fs::symlink(root.join("d/target"), root.join("d/link#1")).unwrap();
    std::os::unix::fs::symlink(root.join("d/real#1"), root.join("d/plain")).unwrap();
    std::os::unix::fs::symlink(root.join("d/real#1"), root.join("d/also#2")).unwrap();
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("d/broken#3")).unwrap();
    let fifo = root.join("d/fifo#4");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let census = check_all(root, None).unwrap();
    assert_eq!(census.0, 3, "{census:?}");
    check_all(root, Some("d"));
}

/// HOLDS: names no key can hold: control characters (files and a folder, which forces
/// the walk), links with such names to files.
#[test]
fn names_no_key_can_hold() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "d/e\u{1b}x", 3);
    write(root, "d/\u{7f}", 4);
    write_raw(&root.join("d"), b"\xc3\x28", 5);
    std::os::unix::fs::symlink(root.join("d/e\u{1b}x"), root.join("d/l\u{7}")).unwrap();
    write(root, "k", 1);
    check_all(root, None);
    write(root, "bad\u{1}/inner/k", 6);
    write(root, "bad\u{1}/inner/h#1", 6);
    check_all(root, None);
}

/// HOLDS: links to folders force the walk (a link to an ancestor, a link to a sibling
/// folder holding hidden files).
#[test]
fn links_to_folders_fall_back_to_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "a/h#1", 3);
    write(root, "b/k", 1);
    std::os::unix::fs::symlink(root.join("a"), root.join("b/to_a")).unwrap();
    std::os::unix::fs::symlink(root, root.join("a/up")).unwrap();
    check_all(root, None);
    check_all(root, Some("b"));
}

// ---------------------------------------------------------------------------------------
// 5. Many hidden files: the fallback past SEEN_FILES (10,000).

/// HOLDS: 10,000 hidden files (kept as notes) and 10,001 (walked instead), spread so that
/// one folder read alone does not pass the limit, and one that does.
#[test]
fn more_hidden_files_than_the_notes_keep() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for i in 0..10_000 {
        write(root, &format!("d{}/f{i}#1", i % 7), 1 + i % 3);
    }
    write(root, "k", 1);
    let store = local(root);
    let expected = old_census(&[folder(root, None)], "");
    assert_eq!(expected.as_ref().unwrap().0, 10_000);
    for concurrency in [1, 8] {
        let options = ScanOptions::default().with_concurrency(concurrency);
        assert_eq!(
            scan_census(store.as_ref(), None, &options, Some(2)),
            expected
        );
    }
    write(root, "d3/last#1", 5);
    let expected = old_census(&[folder(root, None)], "");
    for concurrency in [1, 8] {
        let options = ScanOptions::default().with_concurrency(concurrency);
        assert_eq!(
            scan_census(store.as_ref(), None, &options, Some(2)),
            expected
        );
    }
}

// ---------------------------------------------------------------------------------------
// 6. Configured stores: a local `prefix`, shards of local members, two stores on one
// folder.

/// HOLDS: a local store with `prefix = "cfg/sub"`: the census names files by the scan's
/// prefix (the store's keys), not the folder's path.
#[test]
fn a_local_store_with_a_configured_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "cfg/sub/k", 1);
    write(root, "cfg/sub/h#1", 2);
    write(root, "cfg/sub/p/x#3", 3);
    write(root, "cfg/sub/p/k", 1);
    write(root, "cfg/other#1", 50);
    write(root, "top#1", 60);
    let text = format!(
        "[stores.l]\nprovider = \"local\"\nroot = {:?}\nprefix = \"cfg/sub\"\n",
        root.to_str().unwrap()
    );
    let store = Config::from_toml(&text, "t.toml", ".")
        .unwrap()
        .open("l")
        .unwrap();
    for prefix in [None, Some("p")] {
        let real = folder(&root.join("cfg/sub"), prefix);
        let expected = old_census(&[real], prefix.unwrap_or(""));
        assert!(expected.is_some());
        for concurrency in [1, 4, 32] {
            let options = ScanOptions::default().with_concurrency(concurrency);
            for threads in [None, Some(2)] {
                assert_eq!(
                    scan_census(store.as_ref(), prefix, &options, threads),
                    expected,
                    "{prefix:?} {concurrency}"
                );
            }
        }
    }
}

/// HOLDS: a sharded store of three local members (one folder each), hidden files in
/// each; the same names in two members count twice, show once.
#[test]
fn a_shard_of_local_members() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let names = ["m1", "m2", "m3"];
    for (i, m) in names.iter().enumerate() {
        write(&root.join(m), "same#1", 1 + i);
        write(&root.join(m), &format!("own{i}#1"), 10);
        write(&root.join(m), &format!("p/in{i}#2"), 20);
        write(&root.join(m), &format!("k{i}"), 1);
        write(&root.join(m), &format!("p/k{i}"), 1);
    }
    let mut text = String::new();
    for m in names {
        text += &format!(
            "[stores.{m}]\nprovider = \"local\"\nroot = {:?}\n",
            root.join(m).to_str().unwrap()
        );
    }
    text += "[stores.s]\nprovider = \"sharded\"\nmembers = [\"m1\", \"m2\", \"m3\"]\n";
    let store = Config::from_toml(&text, "t.toml", ".")
        .unwrap()
        .open("s")
        .unwrap();
    for prefix in [None, Some("p")] {
        let folders: Vec<PathBuf> = names
            .iter()
            .map(|m| folder(&root.join(m), prefix))
            .collect();
        let expected = old_census(&folders, prefix.unwrap_or(""));
        for concurrency in [1, 3, 16] {
            for threads in [None, Some(2)] {
                let options = ScanOptions::default().with_concurrency(concurrency);
                assert_eq!(
                    scan_census(store.as_ref(), prefix, &options, threads),
                    expected,
                    "{prefix:?} {concurrency} {threads:?}"
                );
            }
        }
    }
}

/// HOLDS (the config refuses it): a shard whose members are nested folders (`m` and
/// `m/inner`): the old census walks `m` only (outermost), naming `m/inner`'s files by
/// their path below `m`.
#[test]
fn a_shard_of_nested_local_members() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "m/k", 1);
    write(root, "m/h#1", 1);
    write(root, "m/inner/g#1", 2);
    write(root, "m/inner/k2", 2);
    let text = format!(
        "[stores.outer]\nprovider = \"local\"\nroot = {:?}\n[stores.inner]\nprovider = \"local\"\nroot = {:?}\n[stores.s]\nprovider = \"sharded\"\nmembers = [\"outer\", \"inner\"]\n",
        root.join("m").to_str().unwrap(),
        root.join("m/inner").to_str().unwrap()
    );
    let store = match Config::from_toml(&text, "t.toml", ".").and_then(|c| c.open("s")) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("nested members refused: {e}");
            return;
        }
    };
    let folders = vec![folder(&root.join("m"), None)];
    let expected = old_census(&folders, "");
    for concurrency in [1, 8] {
        for threads in [None, Some(2)] {
            let options = ScanOptions::default().with_concurrency(concurrency);
            let got = scan_census(store.as_ref(), None, &options, threads);
            assert_eq!(got, expected, "{concurrency} {threads:?}");
        }
    }
}

/// HOLDS: verify and sync between two stores on the same folder, and between two local
/// stores with hidden files on both sides, with a prefix.
#[test]
fn sync_and_verify_between_local_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a"), dir.path().join("b"));
    write(&ra, "p/k", 1);
    write(&ra, "p/h#1", 2);
    write(&ra, "p/d/only#2", 3);
    write(&ra, "q#1", 4);
    write(&rb, "p/g#1", 5);
    write(&rb, "p/e/only#7", 6);
    let (a, b, a2) = (local(&ra), local(&rb), local(&ra));
    let runtime = rt(Some(2));
    for prefix in [None, Some("p")] {
        let mut options = SyncOptions::default().with_concurrency(4);
        if let Some(p) = prefix {
            options = options.with_prefix(Path::parse(p).unwrap());
        }
        let base = prefix.unwrap_or("");
        let report = runtime
            .block_on(verify(a.as_ref(), b.as_ref(), &options))
            .unwrap();
        assert_eq!(
            (shown(&report.unlisted_a), shown(&report.unlisted_b)),
            (
                old_census(&[folder(&ra, prefix)], base),
                old_census(&[folder(&rb, prefix)], base)
            ),
            "verify {prefix:?}"
        );
        let report = runtime
            .block_on(verify(a.as_ref(), a2.as_ref(), &options))
            .unwrap();
        let expected = old_census(&[folder(&ra, prefix)], base);
        assert_eq!(shown(&report.unlisted_a), expected, "same folder");
        assert_eq!(shown(&report.unlisted_b), expected, "same folder");
    }
    let options = SyncOptions::default()
        .with_concurrency(4)
        .with_dry_run(true);
    let report = runtime
        .block_on(sync(a.as_ref(), b.as_ref(), &options))
        .unwrap();
    assert_sync_census(&report, &ra, &rb);
}

// ---------------------------------------------------------------------------------------
// 7. A tree that changes during the scan (made deterministic with the progress callback,
// called after the listing ends and before the census).

/// By design (the census is as the listing read each folder): a hidden file
/// removed, and another created, after its folder was read and before the scan ends.
/// The old census walked after the listing (sees the tree at the end); the new one
/// reports what the reads saw.
#[test]
fn hidden_files_that_change_after_their_folder_was_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root, "d/gone#1", 3);
    write(&root, "d/k", 1);
    let store = local(&root);
    let hook = root.clone();
    let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let once = Arc::clone(&fired);
    let options = ScanOptions::default()
        .with_concurrency(1)
        .with_progress(move |_| {
            if !once.swap(true, std::sync::atomic::Ordering::SeqCst) {
                let _ = std::fs::remove_file(hook.join("d/gone#1"));
                let _ = std::fs::write(hook.join("d/new#1"), b"12345");
            }
        });
    let got = scan_census(store.as_ref(), None, &options, None);
    assert!(fired.load(std::sync::atomic::Ordering::SeqCst));
    // As the listing read the folder (a walk after it would say `d/new#1`).
    assert_eq!(got, Some((1, 3, vec!["d/gone#1".to_string()])));
}

// ---------------------------------------------------------------------------------------
// 8. Random trees against the old census.

/// HOLDS: random trees of listed, hidden and unholdable names, links to
/// files, random prefixes, concurrency and runtime.
#[test]
fn random_trees_against_the_old_census() {
    use rand::{Rng, SeedableRng};
    let names: [&[u8]; 14] = [
        b"a",
        b"b",
        b"a-b",
        b"a.b",
        b"\xc3\xa9",
        b"x#1",
        b"x#22",
        b"#3",
        b"y#",
        b"\x1bc",
        b"d\x7f",
        b"\xff",
        b"\xfe",
        b"a#1",
    ];
    let seed = std::env::var("CENSUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7u64);
    let cases = std::env::var("CENSUS_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for case in 0..cases {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let n = rng.random_range(1..30);
        for _ in 0..n {
            let depth = rng.random_range(1..4);
            let mut path = root.clone();
            for _ in 0..depth {
                path.push(OsStr::from_bytes(names[rng.random_range(0..names.len())]));
            }
            if std::fs::create_dir_all(path.parent().unwrap()).is_ok() {
                let _ = std::fs::write(&path, vec![b'x'; rng.random_range(0..9)]);
            }
        }
        for _ in 0..rng.random_range(0..3) {
            let at = root.join(OsStr::from_bytes(names[rng.random_range(0..names.len())]));
            let to = root.join(OsStr::from_bytes(names[rng.random_range(0..names.len())]));
            if to.is_file() {
                let _ = std::os::unix::fs::symlink(&to, at.with_extension("l#9"));
            }
        }
        let prefixes = [None, Some("a"), Some("x#1"), Some("b/a"), Some("é")];
        let prefix = prefixes[rng.random_range(0..prefixes.len())];
        let concurrency = [1usize, 2, 5, 16, 32][rng.random_range(0..5)];
        let threads = [None, Some(2)][rng.random_range(0..2)];
        let store = local(&root);
        let options = ScanOptions::default().with_concurrency(concurrency);
        let got = scan_census(store.as_ref(), prefix, &options, threads);
        let expected = old_census(&[folder(&root, prefix)], prefix.unwrap_or(""));
        assert_eq!(
            got, expected,
            "case {case} seed {seed}: prefix {prefix:?} concurrency {concurrency} threads {threads:?}\n{}",
            tree(&root)
        );
    }
}

fn tree(root: &FsPath) -> String {
    let mut out = String::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            out += &format!("{:?}\n", path.strip_prefix(root).unwrap());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// 9. The census against its own fallback: a link to a folder anywhere in a folder read
// makes the census walk. Adding one, which changes nothing the census counts, must not
// change the answer (it did, in the first version, for the breaks above).

/// HOLDS: with a link to a folder in the root, the census walks and gives the same five
/// distinct examples as without the link.
#[test]
fn lossy_collisions_with_an_unrelated_folder_link_give_the_old_examples() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_lossy_collisions(root);
    write(root, "z/k", 1);
    let store = local(root);
    let without = scan_census(store.as_ref(), None, &ScanOptions::default(), None);
    std::os::unix::fs::symlink(root.join("z"), root.join("zz")).unwrap();
    let with = scan_census(store.as_ref(), None, &ScanOptions::default(), None);
    eprintln!("without the link: {without:?}\nwith the link:    {with:?}");
    assert_eq!(with, old_census(&[folder(root, None)], ""));
    assert_eq!(with, without, "the same hidden files, one answer");
}

/// HOLDS: the resumed verify with a link to a folder in the root walks and counts
/// `a/h#1`, as the same run without the link now does.
#[test]
fn resumed_verify_with_an_unrelated_folder_link_counts_what_it_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (ra, rb) = (dir.path().join("a"), dir.path().join("b"));
    for root in [&ra, &rb] {
        write(root, "a/k", 1);
        write(root, "z/k", 1);
    }
    write(&ra, "a/h#1", 7);
    std::os::unix::fs::symlink(ra.join("z"), ra.join("zz")).unwrap();
    let (a, b) = (local(&ra), local(&rb));
    let cp = dir.path().join("cp");
    checkpoint_file(&cp, "verify", a.as_ref(), b.as_ref(), "m");
    let options = SyncOptions::default().with_checkpoint(&cp, 1000);
    let report = rt(None)
        .block_on(verify(a.as_ref(), b.as_ref(), &options))
        .unwrap();
    assert!(!cp.exists());
    assert_eq!(
        shown(&report.unlisted_a),
        Some((1, 7, vec!["a/h#1".to_string()]))
    );
}
