//! The durable record of what members of a [`ReplicatedStore`](super::ReplicatedStore)
//! missed (hinted handoff): an append-only file in a local folder.
//!
//! **Guarantee.** When a write or delete is acknowledged (or refused) with some members
//! having missed it, or still applying it in the background (a quorum write), the key,
//! the operation and the members are appended to the journal and `fsync`ed
//! (`File::sync_data`) *before* the call returns; so is the clearing of a missed delete
//! once a later write reached every member or `repair` converged it. The clearing of a
//! missed write is appended without its own `fsync` (the next one makes it durable): if
//! a crash loses it, `repair` copies the key's newest version to members that already
//! hold it, which changes nothing. A process that
//! dies at any point and restarts with the same journal knows every key a member is
//! behind on, and whether it missed a write or a delete: `repair` then applies a missed
//! delete instead of restoring the object. If the journal cannot be written, the
//! operation fails (its members may differ, as for any failed write, and the in-memory
//! record still holds the key).
//!
//! **Format.** A sequence of records, each `length (u32 LE) | XXH3-64 of the payload
//! (u64 LE) | payload`, the payload one JSON object: `{"op":"write"|"delete","key":..,
//! "members":[names]}` or `{"op":"clear","key":..}`. Members are recorded by name, so
//! reordering the members in the configuration changes nothing; a member no longer in the
//! store is ignored on load.
//!
//! **Damage.** A record cut short (a crash during an append) or that fails its checksum
//! ends the readable journal: the records before it are used, and the damage (file,
//! byte offset, what was wrong) is reported by [`ReplicatedStore::journal_damage`]
//! (super::ReplicatedStore::journal_damage). Nothing acknowledged is lost by a cut last
//! record: its call had not returned. The journal is then rewritten from the intact
//! records, so new appends never follow garbage.
//!
//! **One writer.** A journal belongs to one store at a time: opening it while another
//! store of this process or another process has it is refused (a `.lock` file beside it,
//! locked with the operating system's advisory lock). Share the one store instead
//! (`ReplicatedStore` is `Clone`).
//!
//! **Size.** The file holds each key's latest record plus clearings; when it holds more
//! than twice as many records as keys still pending (and at least 1,024), it is rewritten
//! with the pending keys only (to a temporary file, `fsync`ed, renamed over the journal,
//! the folder `fsync`ed). So it is bounded by twice the pending keys, which are bounded by
//! the keys members missed since the last `repair`. Appends run on the calling thread
//! (one `fsync` per recorded key: writes that reach every member, within the grace a
//! quorum write gives them, and had no record cost nothing). A member that finishes a
//! write in the background is cleared with one more `fsync`, off the caller's path.

use super::policy::Missed;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::Mutex;
use xxhash_rust::xxh3::xxh3_64;

/// What a journal holds for one key: the operation missed, and by which members.
pub(crate) type Pending = BTreeMap<Path, (Missed, Vec<String>)>;

/// Where a journal was found damaged on load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalDamage {
    /// The journal file.
    pub path: PathBuf,
    /// The byte offset of the first record that could not be read.
    pub offset: u64,
    /// What was wrong with it.
    pub reason: String,
    /// Records read intact before it (these were used).
    pub intact: u64,
}

impl fmt::Display for JournalDamage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "journal {}: damaged at byte {} ({}); the {} records before it were used, \
             what followed was dropped",
            self.path.display(),
            self.offset,
            self.reason,
            self.intact
        )
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Entry {
    Write { key: String, members: Vec<String> },
    Delete { key: String, members: Vec<String> },
    Clear { key: String },
}

impl Entry {
    /// `members` missed `what` on `key`.
    fn missed(key: &Path, what: Missed, members: Vec<String>) -> Self {
        let key = key.to_string();
        match what {
            Missed::Write => Entry::Write { key, members },
            Missed::Delete => Entry::Delete { key, members },
        }
    }
}

/// Records appended since the last rewrite, and the file they go to.
struct Appender {
    file: File,
    records: u64,
    /// How long a durable append takes, smoothed (nanoseconds; the first measured at
    /// open).
    sync_nanos: u64,
}

/// An open journal.
pub(crate) struct Journal {
    path: PathBuf,
    appender: Mutex<Appender>,
    damage: Option<JournalDamage>,
    /// Held while the journal is open: `path` with `.lock`, locked against other
    /// processes, and its name in [`OPEN`] against other stores of this process.
    lock: (File, PathBuf),
}

/// The journals open in this process (their lock files). Two stores writing one journal
/// would each rewrite it with only their own pending keys, dropping the other's.
static OPEN: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

impl Drop for Journal {
    fn drop(&mut self) {
        let _ = self.lock.0.unlock();
        OPEN.lock().expect("open journals").remove(&self.lock.1);
    }
}

/// Take the journal at `path` for this store: refused when another store, of this
/// process or another, has it.
fn take(path: &FsPath) -> io::Result<(File, PathBuf)> {
    let lock = std::fs::canonicalize(path.parent().unwrap_or(FsPath::new(".")))?.join(format!(
        "{}.lock",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    if !OPEN.lock().expect("open journals").insert(lock.clone()) {
        return Err(io::Error::other(format!(
            "{} is already open in this process: open the replicated store once and share it \
             (it is Clone)",
            path.display()
        )));
    }
    let file = match OpenOptions::new().create(true).append(true).open(&lock) {
        Ok(file) => file,
        Err(e) => {
            OPEN.lock().expect("open journals").remove(&lock);
            return Err(e);
        }
    };
    if let Err(e) = file.try_lock() {
        OPEN.lock().expect("open journals").remove(&lock);
        return Err(io::Error::other(format!(
            "{} is in use by another process ({e})",
            path.display()
        )));
    }
    Ok((file, lock))
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

/// A rewrite is due above this many records and twice the pending keys.
const REWRITE_MIN: u64 = 1024;

impl Journal {
    /// Open (or create, with its folder) the journal at `path`, with what it holds
    /// pending.
    pub(crate) fn open(path: &FsPath) -> io::Result<(Self, Pending)> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder)?;
        }
        let lock = take(path)?;
        let mut bytes = Vec::new();
        match File::open(path) {
            Ok(mut file) => {
                file.read_to_end(&mut bytes)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let (pending, records, damage) = read(&bytes, path);
        let file = append_to(path)?;
        // One fsync now, timed: what recording costs on this disk, before any record.
        let started = std::time::Instant::now();
        file.sync_data()?;
        let sync_nanos = (started.elapsed().as_nanos() as u64).max(1);
        let journal = Self {
            path: path.to_path_buf(),
            appender: Mutex::new(Appender {
                file,
                records,
                sync_nanos,
            }),
            damage,
            lock,
        };
        if journal.damage.is_some() {
            journal.rewrite(&pending)?;
        }
        Ok((journal, pending))
    }

    /// The damage found when the journal was opened, if any.
    pub(crate) fn damage(&self) -> Option<&JournalDamage> {
        self.damage.as_ref()
    }

    /// Record durably that `members` missed `what` on `key`.
    pub(crate) fn record(&self, key: &Path, what: Missed, members: Vec<String>) -> io::Result<()> {
        self.append(&Entry::missed(key, what, members))
    }

    /// Record that `key` needs nothing any more: durably when `durable`, else appended
    /// without `fsync` (made durable by the next durable append). When the journal has
    /// grown past twice the `still` pending keys (`key` excluded), rewrite it with what
    /// `pending` gives: built only then, not on every clearing.
    pub(crate) fn clear(
        &self,
        key: &Path,
        durable: bool,
        still: usize,
        pending: impl FnOnce() -> Pending,
    ) -> io::Result<()> {
        let entry = Entry::Clear {
            key: key.to_string(),
        };
        if durable {
            self.append(&entry)?;
        } else {
            let mut appender = self.appender.lock().expect("journal");
            appender.file.write_all(&encode(&entry))?;
            appender.records += 1;
        }
        let records = self.appender.lock().expect("journal").records;
        if records > REWRITE_MIN.max(2 * still as u64) {
            self.rewrite(&pending())?;
        }
        Ok(())
    }

    fn append(&self, entry: &Entry) -> io::Result<()> {
        let record = encode(entry);
        let mut appender = self.appender.lock().expect("journal");
        let started = std::time::Instant::now();
        appender.file.write_all(&record)?;
        appender.file.sync_data()?;
        appender.records += 1;
        let took = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
        let last = appender.sync_nanos;
        appender.sync_nanos = (last - last / 8 + took / 8).max(1);
        Ok(())
    }

    /// How long a durable append has taken lately.
    pub(crate) fn append_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.appender.lock().expect("journal").sync_nanos)
    }

    /// Replace the journal with `pending` alone, atomically.
    fn rewrite(&self, pending: &Pending) -> io::Result<()> {
        let mut appender = self.appender.lock().expect("journal");
        let temporary = self.path.with_extension("rewrite");
        {
            let mut file = File::create(&temporary)?;
            for (key, (what, members)) in pending {
                file.write_all(&encode(&Entry::missed(key, *what, members.clone())))?;
            }
            file.sync_all()?;
        }
        std::fs::rename(&temporary, &self.path)?;
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)?.sync_all()?;
        }
        appender.file = append_to(&self.path)?;
        appender.records = pending.len() as u64;
        Ok(())
    }
}

fn append_to(path: &FsPath) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

fn encode(entry: &Entry) -> Vec<u8> {
    let payload = serde_json::to_vec(entry).expect("a journal entry serializes");
    let mut record = Vec::with_capacity(12 + payload.len());
    record.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    record.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
    record.extend_from_slice(&payload);
    record
}

/// The pending keys the intact records leave, how many records were read, and where
/// reading stopped if it did not reach the end.
fn read(bytes: &[u8], path: &FsPath) -> (Pending, u64, Option<JournalDamage>) {
    let mut pending = Pending::new();
    let mut at = 0usize;
    let mut records = 0u64;
    let damage = |offset: usize, reason: &str, intact: u64| JournalDamage {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.to_string(),
        intact,
    };
    while at < bytes.len() {
        let Some(header) = bytes.get(at..at + 12) else {
            return (
                pending,
                records,
                Some(damage(at, "record header cut short", records)),
            );
        };
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let sum = u64::from_le_bytes(header[4..].try_into().expect("8 bytes"));
        let Some(payload) = bytes.get(at + 12..at + 12 + len) else {
            return (
                pending,
                records,
                Some(damage(at, "record cut short", records)),
            );
        };
        if xxh3_64(payload) != sum {
            return (
                pending,
                records,
                Some(damage(at, "checksum mismatch", records)),
            );
        }
        let Ok(entry) = serde_json::from_slice::<Entry>(payload) else {
            return (
                pending,
                records,
                Some(damage(at, "not a journal record", records)),
            );
        };
        let (key, value) = match entry {
            Entry::Write { key, members } => (key, Some((Missed::Write, members))),
            Entry::Delete { key, members } => (key, Some((Missed::Delete, members))),
            Entry::Clear { key } => (key, None),
        };
        match (Path::parse(&key), value) {
            (Ok(key), Some(value)) => {
                pending.insert(key, value);
            }
            (Ok(key), None) => {
                pending.remove(&key);
            }
            (Err(_), _) => {
                return (
                    pending,
                    records,
                    Some(damage(at, "not a valid key", records)),
                );
            }
        }
        records += 1;
        at += 12 + len;
    }
    (pending, records, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn records_and_clearings_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, pending) = Journal::open(&path).unwrap();
        assert!(pending.is_empty());
        journal
            .record(&Path::from("a"), Missed::Write, names(&["b"]))
            .unwrap();
        journal
            .record(&Path::from("d"), Missed::Delete, names(&["b", "c"]))
            .unwrap();
        journal
            .record(&Path::from("x"), Missed::Write, names(&["c"]))
            .unwrap();
        let mut now = Pending::new();
        now.insert(Path::from("a"), (Missed::Write, names(&["b"])));
        now.insert(Path::from("d"), (Missed::Delete, names(&["b", "c"])));
        journal
            .clear(&Path::from("x"), true, now.len(), || now.clone())
            .unwrap();
        drop(journal);
        let (journal, pending) = Journal::open(&path).unwrap();
        assert_eq!(pending, now);
        assert!(journal.damage().is_none());
    }

    #[test]
    fn a_cut_last_record_and_appended_garbage_keep_the_intact_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, _) = Journal::open(&path).unwrap();
        for key in ["a", "b", "c"] {
            journal
                .record(&Path::from(key), Missed::Write, names(&["m"]))
                .unwrap();
        }
        drop(journal);
        let whole = std::fs::read(&path).unwrap();
        let third = whole.len() - (whole.len() / 3);
        for (damaged, reason) in [
            (whole[..whole.len() - 5].to_vec(), "record cut short"),
            // A length that fits, then eight bytes that are no checksum of what follows.
            (
                [whole.clone(), b"\x04\x00\x00\x00garbage!junk".to_vec()].concat(),
                "checksum",
            ),
        ] {
            std::fs::write(&path, &damaged).unwrap();
            let (journal, pending) = Journal::open(&path).unwrap();
            let damage = journal.damage().expect("damage found").clone();
            assert!(damage.reason.contains(reason), "{damage}");
            let intact = if reason == "checksum" { 3 } else { 2 };
            assert_eq!((damage.intact, pending.len() as u64), (intact, intact));
            let offset = if reason == "checksum" {
                whole.len()
            } else {
                third
            };
            assert_eq!(damage.offset as usize, offset, "{damage}");
            assert!(damage.to_string().contains(&path.display().to_string()));
            // Rewritten from the intact records: it reads back clean, and appends work.
            journal
                .record(&Path::from("z"), Missed::Delete, names(&["m"]))
                .unwrap();
            drop(journal);
            let (journal, again) = Journal::open(&path).unwrap();
            assert!(journal.damage().is_none());
            assert_eq!(again.len() as u64, intact + 1);
            std::fs::write(&path, &whole).unwrap();
        }
    }

    #[test]
    fn a_journal_has_one_store_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (first, _) = Journal::open(&path).unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("already open in this process"), "{err}");
        drop(first);
        Journal::open(&path).unwrap();
    }

    #[test]
    fn the_file_is_rewritten_once_it_holds_twice_the_pending_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, _) = Journal::open(&path).unwrap();
        for i in 0..3000u32 {
            let key = Path::from(format!("k{i}"));
            journal.record(&key, Missed::Write, names(&["m"])).unwrap();
            journal.clear(&key, true, 0, Pending::new).unwrap();
        }
        let records = journal.appender.lock().unwrap().records;
        assert!(records <= REWRITE_MIN + 1, "{records}");
        drop(journal);
        let (_, pending) = Journal::open(&path).unwrap();
        assert!(pending.is_empty());
    }
}
