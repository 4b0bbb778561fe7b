//! The durable record of what members of a [`ReplicatedStore`](super::ReplicatedStore)
//! missed (hinted handoff): an append-only file in a local folder.
//! What users rely on (guarantee, format, bounds) is summarised in the `replicate` module's
//! documentation ("The journal"); keep it in step with this file.
//!
//! **Guarantee.** When a write or delete is acknowledged (or refused) with some members
//! having missed it, or still applying it in the background (a quorum write), the key,
//! the operation and the members are appended to the journal and `fsync`ed
//! (`File::sync_data`) *before* the call returns; so is the clearing of a missed delete
//! once a later write reached every member or `repair` converged it. The clearing of a
//! missed write is appended without its own `fsync` (the next one makes it durable): if
//! a crash loses it, `repair` copies the key's newest version to members that already
//! hold it, which changes nothing. A process that dies at any point and restarts with the
//! same journal knows every key a member is behind on, and whether it missed a write or a
//! delete: `repair` then applies a missed delete instead of restoring the object. If the
//! journal cannot be written, the operation fails (its members may differ, as for any
//! failed write, and the in-memory record still holds the key).
//!
//! **A failed append changes nothing.** An append that fails part-way (a full disk, a
//! short write, an `fsync` error) may leave part of a record at the end of the file. The
//! journal then counts as broken: before the next append it is rewritten whole from the
//! records it holds in memory (a temporary file, `fsync`ed, renamed over it), so no record
//! ever follows a partial one; until that rewrite succeeds, every append fails. The
//! record whose append failed is kept in memory and written by that rewrite (its
//! operation failed, so recording it owes more, never less). A crash before the rewrite
//! leaves the partial record last, where loading stops (below) having read every record
//! before it. After an `fsync` error nothing written since the last
//! good `fsync` is trusted to be on disk: the rewrite writes it again.
//!
//! **Members that are not in the configuration.** Members are recorded by name, so
//! reordering them, or renaming the store a member uses while keeping its `name`, changes
//! nothing. The journal also keeps the names of every member it has served (a `members`
//! record). A member that is in the journal but not in today's configuration (taken out
//! for maintenance) is **absent**: its records are kept, in memory and through rewrites,
//! `repair` clears a key only for the members it converged, and every write or delete
//! made while it is absent is recorded as owed by it, so that it catches up when it comes
//! back instead of bringing back deleted objects or serving old versions. A member gone
//! for good is dropped with [`ReplicatedStore::retire_member`]
//! (super::ReplicatedStore::retire_member); until then every write costs an `fsync`.
//!
//! **Format.** A sequence of records, each `length (u32 LE) | XXH3-64 of the payload
//! (u64 LE) | payload`, the payload one JSON object: `{"op":"write"|"delete","key":..,
//! "members":[names]}`, `{"op":"clear","key":..}` or `{"op":"members","names":[..]}`.
//!
//! **Damage.** A record cut short (a crash during an append) or that fails its checksum
//! ends the readable journal: the records before it are used, and the damage (file,
//! byte offset, what was wrong) is reported by [`ReplicatedStore::journal_damage`]
//! (super::ReplicatedStore::journal_damage). Nothing acknowledged is lost by a cut last
//! record: its call had not returned. The journal is then rewritten from the intact
//! records, so new appends never follow garbage.
//!
//! **One writer per file.** A journal belongs to one store at a time: opening it while
//! another store of this process or another process has it is refused. The lock is taken
//! on the file itself, not on the name it was given: the path is resolved (symbolic links
//! followed) and the lock is held on `<file>.lock` beside the resolved file, and a
//! journal with more than one hard link is refused (two names would be two locks). A
//! rewrite goes through `<file>.rewrite` beside the resolved file, so a symbolic link to
//! the journal stays a link, and two journals in one folder never share a temporary file.
//! Share the one store instead (`ReplicatedStore` is `Clone`).
//!
//! **Bounds.** The journal must be a regular file of at most [`MAX_JOURNAL_BYTES`]
//! (a FIFO or a device is refused, not read). It holds each key's latest record plus
//! clearings; when it holds more than twice as many records as keys still pending (and at
//! least 1,024), it is rewritten with the pending keys only. So it is bounded by twice
//! the pending keys, which are bounded by the keys members missed since the last
//! `repair` (and, while a member is absent, the keys written since it left). Appends run
//! on the calling thread (one `fsync` per recorded key: writes that reach every member,
//! within the grace a quorum write gives them, and had no record cost nothing).

use super::policy::Missed;
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};
use xxhash_rust::xxh3::xxh3_64;

/// The largest journal file read (1 GiB): far above what pending keys fill (about 100
/// bytes per key), and a bound on what a damaged or hostile file can make us allocate.
pub const MAX_JOURNAL_BYTES: u64 = 1 << 30;

/// What a journal holds for one key: the operation missed, and by which members (names,
/// absent members included).
pub(crate) type Pending = BTreeMap<Path, (Missed, BTreeSet<String>)>;

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
enum Record {
    Write {
        key: String,
        members: BTreeSet<String>,
    },
    Delete {
        key: String,
        members: BTreeSet<String>,
    },
    Clear {
        key: String,
    },
    /// Every member the journal serves (present or absent).
    Members {
        names: BTreeSet<String>,
    },
}

impl Record {
    /// `members` missed `what` on `key`.
    fn missed(key: &Path, what: Missed, members: BTreeSet<String>) -> Self {
        let key = key.to_string();
        match what {
            Missed::Write => Record::Write { key, members },
            Missed::Delete => Record::Delete { key, members },
        }
    }

    fn encode(&self) -> Vec<u8> {
        let payload = serde_json::to_vec(self).expect("a journal record serializes");
        let mut bytes = Vec::with_capacity(12 + payload.len());
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&xxh3_64(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        bytes
    }
}

/// The file system a journal lives on: the real one ([`LocalDisk`]), or, in tests, one
/// that fails and crashes on demand. Every byte the journal writes goes through it.
pub(crate) trait Disk: Send + Sync + fmt::Debug {
    /// Take the journal at `path` for one store: the file's own name (links resolved),
    /// and what holds the lock until dropped. Refused when another store has it.
    fn lock(&self, path: &FsPath) -> io::Result<(PathBuf, Box<dyn Send + Sync>)>;
    /// The file's bytes (`None`: there is no file), refused above `limit` bytes.
    fn read(&self, path: &FsPath, limit: u64) -> io::Result<Option<Vec<u8>>>;
    /// The file, opened to append to (created if missing).
    fn append(&self, path: &FsPath) -> io::Result<Box<dyn DiskFile>>;
    /// Replace the file with `bytes`, atomically and durably.
    fn replace(&self, path: &FsPath, bytes: &[u8]) -> io::Result<()>;
}

/// A journal file open for appending.
pub(crate) trait DiskFile: Send {
    /// Append `bytes` (all of them, or an error; part may have been written).
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Make what was appended durable.
    fn sync(&mut self) -> io::Result<()>;
}

/// The local file system.
#[derive(Debug, Default)]
pub(crate) struct LocalDisk;

impl DiskFile for File {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        Write::write_all(self, bytes)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

/// `path` with `suffix` added to its file name (`safe.journal` -> `safe.journal.lock`).
fn beside(path: &FsPath, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Refuse what is not a regular file with one name.
fn check_file(path: &FsPath, metadata: &std::fs::Metadata) -> io::Result<()> {
    if !metadata.is_file() {
        return Err(io::Error::other(format!(
            "{} is not a regular file (a journal is one)",
            path.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.nlink() > 1 {
            return Err(io::Error::other(format!(
                "{} has {} hard links: a journal must have one name, or two stores could \
                 each hold a lock on it",
                path.display(),
                metadata.nlink()
            )));
        }
    }
    Ok(())
}

impl Disk for LocalDisk {
    fn lock(&self, path: &FsPath) -> io::Result<(PathBuf, Box<dyn Send + Sync>)> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::other(format!("{} names no file", path.display())))?;
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder {
            std::fs::create_dir_all(folder)?;
        }
        // The file itself: symbolic links followed; a new journal's name in its real folder.
        let target = match std::fs::canonicalize(path) {
            Ok(target) => {
                check_file(path, &std::fs::metadata(&target)?)?;
                target
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if std::fs::symlink_metadata(path).is_ok() {
                    return Err(io::Error::other(format!(
                        "{} is a symbolic link to nothing",
                        path.display()
                    )));
                }
                std::fs::canonicalize(folder.unwrap_or(FsPath::new(".")))?.join(name)
            }
            Err(e) => return Err(e),
        };
        let lock = OpenOptions::new()
            .create(true)
            .append(true)
            .open(beside(&target, ".lock"))?;
        // An advisory lock per open file: a second store, of this process or another,
        // is refused.
        lock.try_lock().map_err(|e| {
            io::Error::other(format!(
                "{} is in use by another store, of this process or another ({e}): open the \
                 replicated store once and share it (it is Clone); a store dropped in this \
                 process holds it until its background calls end (`flush().await` before \
                 dropping it)",
                target.display()
            ))
        })?;
        Ok((target, Box::new(lock)))
    }

    fn read(&self, path: &FsPath, limit: u64) -> io::Result<Option<Vec<u8>>> {
        let (file, metadata) = match crate::file::open_regular(path, "journal") {
            Ok(open) => open,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        check_file(path, &metadata)?;
        crate::file::read_capped(file, &metadata, path, limit, "journal").map(Some)
    }

    fn append(&self, path: &FsPath) -> io::Result<Box<dyn DiskFile>> {
        Ok(Box::new(
            OpenOptions::new().create(true).append(true).open(path)?,
        ))
    }

    fn replace(&self, path: &FsPath, bytes: &[u8]) -> io::Result<()> {
        let temporary = beside(path, ".rewrite");
        {
            let mut file = File::create(&temporary)?;
            Write::write_all(&mut file, bytes)?;
            file.sync_all()?;
        }
        std::fs::rename(&temporary, path)?;
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)?.sync_all()?;
        }
        Ok(())
    }
}

/// What the journal holds, and the file it appends to.
struct State {
    file: Box<dyn DiskFile>,
    /// Records in the file since the last rewrite.
    records: u64,
    /// An append failed: the file may end in part of a record, or hold bytes an `fsync`
    /// did not make durable. It is rewritten before the next append.
    broken: bool,
    /// How long a durable append takes, smoothed (nanoseconds; the first measured at
    /// open).
    sync_nanos: u64,
    /// What the records add up to: each key's members that owe it.
    pending: Pending,
    /// Every member the journal serves.
    known: BTreeSet<String>,
    /// Those the store does not have.
    absent: BTreeSet<String>,
}

/// An open journal.
pub(crate) struct Journal {
    /// The file itself (links resolved).
    path: PathBuf,
    disk: Arc<dyn Disk>,
    state: Mutex<State>,
    /// The members of the store that opened it.
    present: BTreeSet<String>,
    damage: Option<JournalDamage>,
    /// Held while the journal is open.
    _lock: Box<dyn Send + Sync>,
}

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal").field("path", &self.path).finish()
    }
}

/// A rewrite is due above this many records and twice the pending keys.
const REWRITE_MIN: u64 = 1024;

impl Journal {
    /// Open (or create, with its folder) the journal at `path` on `disk` for a store whose
    /// members are `present`, with what it holds pending.
    pub(crate) fn open(
        disk: Arc<dyn Disk>,
        path: &FsPath,
        present: BTreeSet<String>,
    ) -> io::Result<(Self, Pending)> {
        let (path, lock) = disk.lock(path)?;
        let bytes = disk.read(&path, MAX_JOURNAL_BYTES)?.unwrap_or_default();
        let loaded = read(&bytes, &path);
        let file = disk.append(&path)?;
        let mut known = loaded.known;
        let grew = !present.is_subset(&known);
        known.extend(present.iter().cloned());
        let absent = known.difference(&present).cloned().collect();
        let journal = Self {
            path,
            disk,
            state: Mutex::new(State {
                file,
                records: loaded.records,
                // Garbage at the end is rewritten away before anything follows it.
                broken: loaded.damage.is_some(),
                sync_nanos: 1,
                pending: loaded.pending.clone(),
                known,
                absent,
            }),
            present,
            damage: loaded.damage,
            _lock: lock,
        };
        {
            let mut state = journal.state.lock().expect("journal");
            if state.broken {
                journal.rewrite(&mut state)?;
            }
            // The members this store serves, so that a member later left out of the
            // configuration is known to be absent. The append is timed: what recording
            // costs on this disk, before any record.
            let started = std::time::Instant::now();
            if grew {
                let names = state.known.clone();
                journal.append(&mut state, &Record::Members { names }, true)?;
            } else {
                state.file.sync()?;
            }
            state.sync_nanos = (started.elapsed().as_nanos() as u64).max(1);
        }
        Ok((journal, loaded.pending))
    }

    /// The damage found when the journal was opened, if any.
    pub(crate) fn damage(&self) -> Option<&JournalDamage> {
        self.damage.as_ref()
    }

    /// The members the journal serves that the store does not have.
    pub(crate) fn absent(&self) -> BTreeSet<String> {
        self.state.lock().expect("journal").absent.clone()
    }

    /// What the journal holds: each key, the operation owed and the members (names,
    /// absent ones included).
    pub(crate) fn pending(&self) -> Pending {
        self.state.lock().expect("journal").pending.clone()
    }

    /// Record that, of the store's own members, `owed` owe `what` on `key` (none: they
    /// all applied it), `new` for a new operation on the key: absent members owe it too,
    /// whatever the store's members did. Otherwise (`repair` or a background write
    /// converged members) absent members keep what they owed. A key no member owes any
    /// more is cleared (durably when it was a missed delete, see the module
    /// documentation). Nothing is written when nothing changes.
    pub(crate) fn set(
        &self,
        key: &Path,
        what: Missed,
        mut owed: BTreeSet<String>,
        new: bool,
    ) -> io::Result<()> {
        let mut state = self.state.lock().expect("journal");
        let what = if new {
            owed.extend(state.absent.iter().cloned());
            what
        } else {
            match state.pending.get(key) {
                Some((was, members)) => {
                    owed.extend(members.intersection(&state.absent).cloned());
                    *was
                }
                None => what,
            }
        };
        if owed.is_empty() {
            let Some((was, _)) = state.pending.get(key) else {
                return Ok(());
            };
            let durable = *was == Missed::Delete;
            let record = Record::Clear {
                key: key.to_string(),
            };
            self.append(&mut state, &record, durable)?;
            state.pending.remove(key);
        } else {
            // Nothing changes, unless the journal is broken: what it holds in memory may
            // then not be on disk (an append failed), and this acknowledgement needs it.
            if !state.broken && state.pending.get(key) == Some(&(what, owed.clone())) {
                return Ok(());
            }
            let appended = self.append(&mut state, &Record::missed(key, what, owed.clone()), true);
            // Held even when the append failed (the journal is then rewritten, with it,
            // before the next append): a record owes more, never less.
            state.pending.insert(key.clone(), (what, owed));
            appended?;
        }
        if state.records > REWRITE_MIN.max(2 * state.pending.len() as u64) {
            self.rewrite(&mut state)?;
        }
        Ok(())
    }

    /// Forget member `name` (not one of the store's members): drop it from every record
    /// and from the members served, durably.
    pub(crate) fn retire(&self, name: &str) -> io::Result<()> {
        if self.present.contains(name) {
            return Err(io::Error::other(format!(
                "{name:?} is a member of the store: only a member absent from the \
                 configuration can be retired"
            )));
        }
        let mut state = self.state.lock().expect("journal");
        state.known.remove(name);
        state.absent.remove(name);
        state.pending.retain(|_, (_, members)| {
            members.remove(name);
            !members.is_empty()
        });
        self.rewrite(&mut state)
    }

    /// Append `record`, `fsync`ed when `durable`. A journal broken by an earlier failure is
    /// rewritten first; a failure leaves it broken (see the module documentation).
    fn append(&self, state: &mut State, record: &Record, durable: bool) -> io::Result<()> {
        if state.broken {
            self.rewrite(state)?;
        }
        let bytes = record.encode();
        let started = std::time::Instant::now();
        let written = state.file.write_all(&bytes).and_then(|()| match durable {
            true => state.file.sync(),
            false => Ok(()),
        });
        if let Err(err) = written {
            state.broken = true;
            return Err(err);
        }
        state.records += 1;
        if durable {
            let took = started.elapsed().as_nanos().min(u64::MAX as u128) as u64;
            let last = state.sync_nanos;
            state.sync_nanos = (last - last / 8 + took / 8).max(1);
        }
        Ok(())
    }

    /// How long a durable append has taken lately.
    pub(crate) fn append_time(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.state.lock().expect("journal").sync_nanos)
    }

    /// Replace the file with what `state` holds, atomically, and append to the new file.
    fn rewrite(&self, state: &mut State) -> io::Result<()> {
        let mut bytes = Record::Members {
            names: state.known.clone(),
        }
        .encode();
        for (key, (what, members)) in &state.pending {
            bytes.extend(Record::missed(key, *what, members.clone()).encode());
        }
        self.disk.replace(&self.path, &bytes)?;
        state.file = self.disk.append(&self.path)?;
        state.records = 1 + state.pending.len() as u64;
        state.broken = false;
        Ok(())
    }
}

/// What the intact records of a journal add up to.
struct Loaded {
    pending: Pending,
    known: BTreeSet<String>,
    records: u64,
    damage: Option<JournalDamage>,
}

/// Read the records of a journal up to the first that cannot be read.
fn read(bytes: &[u8], path: &FsPath) -> Loaded {
    let mut loaded = Loaded {
        pending: Pending::new(),
        known: BTreeSet::new(),
        records: 0,
        damage: None,
    };
    let mut at = 0usize;
    while at < bytes.len() {
        let damage = |reason: &str, intact: u64| {
            Some(JournalDamage {
                path: path.to_path_buf(),
                offset: at as u64,
                reason: reason.to_string(),
                intact,
            })
        };
        let Some(header) = bytes.get(at..at + 12) else {
            loaded.damage = damage("record header cut short", loaded.records);
            break;
        };
        let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
        let sum = u64::from_le_bytes(header[4..].try_into().expect("8 bytes"));
        let Some(payload) = bytes.get(at + 12..at + 12 + len) else {
            loaded.damage = damage("record cut short", loaded.records);
            break;
        };
        if xxh3_64(payload) != sum {
            loaded.damage = damage("checksum mismatch", loaded.records);
            break;
        }
        let Ok(record) = serde_json::from_slice::<Record>(payload) else {
            loaded.damage = damage("not a journal record", loaded.records);
            break;
        };
        let (key, value) = match record {
            Record::Write { key, members } => (key, Some((Missed::Write, members))),
            Record::Delete { key, members } => (key, Some((Missed::Delete, members))),
            Record::Clear { key } => (key, None),
            Record::Members { names } => {
                loaded.known.extend(names);
                loaded.records += 1;
                at += 12 + len;
                continue;
            }
        };
        let Ok(key) = Path::parse(&key) else {
            loaded.damage = damage("not a valid key", loaded.records);
            break;
        };
        match value {
            Some((what, members)) => {
                loaded.known.extend(members.iter().cloned());
                loaded.pending.insert(key, (what, members));
            }
            None => {
                loaded.pending.remove(&key);
            }
        }
        loaded.records += 1;
        at += 12 + len;
    }
    loaded
}

#[cfg(test)]
pub(crate) mod testing {
    //! A file system in memory that fails and crashes on demand, for the journal's tests
    //! and the model test of the replicated store.

    use super::*;

    /// One file: what a crash keeps (`durable`) and what a reader sees now (`now`).
    #[derive(Debug, Default, Clone)]
    struct FileState {
        durable: Vec<u8>,
        now: Vec<u8>,
    }

    /// What to fail next.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Failure {
        /// The next write writes this many bytes (at most all but one), then fails with
        /// "no space left on device".
        ShortWrite(usize),
        /// The next `fsync` fails: what was written since the last one may be lost.
        Sync,
        /// The next replacement fails before anything changes.
        Replace,
    }

    #[derive(Debug, Default)]
    struct Inner {
        files: BTreeMap<PathBuf, FileState>,
        locked: BTreeSet<PathBuf>,
        failures: Vec<Failure>,
        /// Failures that happened.
        failed: u64,
    }

    /// The disk. Clones share it.
    #[derive(Debug, Default, Clone)]
    pub(crate) struct FaultyDisk {
        inner: Arc<Mutex<Inner>>,
    }

    impl FaultyDisk {
        /// Fail as `failure` says, once, after the failures already queued.
        pub(crate) fn fail(&self, failure: Failure) {
            self.inner.lock().unwrap().failures.push(failure);
        }

        /// How many injected failures happened.
        pub(crate) fn failed(&self) -> u64 {
            self.inner.lock().unwrap().failed
        }

        /// The process died: locks are gone, queued failures forgotten, and each file
        /// keeps what was durable plus the first `keep(unsynced bytes)` bytes written after
        /// that (a crash may keep any part of what was not `fsync`ed).
        pub(crate) fn crash(&self, mut keep: impl FnMut(usize) -> usize) {
            let mut inner = self.inner.lock().unwrap();
            inner.locked.clear();
            inner.failures.clear();
            for file in inner.files.values_mut() {
                let extra = file.now.len().saturating_sub(file.durable.len());
                let kept = keep(extra).min(extra);
                let durable = file.durable.len();
                file.now.truncate(durable + kept);
                file.durable = file.now.clone();
            }
        }

        fn take(&self, matches: impl Fn(&Failure) -> bool) -> Option<Failure> {
            let mut inner = self.inner.lock().unwrap();
            let first = inner.failures.first().copied().filter(&matches)?;
            inner.failures.remove(0);
            inner.failed += 1;
            Some(first)
        }
    }

    struct Lock(FaultyDisk, PathBuf);
    impl Drop for Lock {
        fn drop(&mut self) {
            self.0.inner.lock().unwrap().locked.remove(&self.1);
        }
    }

    struct Appending(FaultyDisk, PathBuf);

    impl DiskFile for Appending {
        fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
            let short = match self.0.take(|f| matches!(f, Failure::ShortWrite(_))) {
                Some(Failure::ShortWrite(n)) => Some(n.min(bytes.len().saturating_sub(1))),
                _ => None,
            };
            let mut inner = self.0.inner.lock().unwrap();
            let file = inner.files.entry(self.1.clone()).or_default();
            match short {
                Some(n) => {
                    file.now.extend_from_slice(&bytes[..n]);
                    Err(io::Error::other("no space left on device (injected)"))
                }
                None => {
                    file.now.extend_from_slice(bytes);
                    Ok(())
                }
            }
        }

        fn sync(&mut self) -> io::Result<()> {
            if self.0.take(|f| *f == Failure::Sync).is_some() {
                // As Linux may: the pages are dropped, and a later fsync reports nothing.
                let mut inner = self.0.inner.lock().unwrap();
                let file = inner.files.entry(self.1.clone()).or_default();
                file.now.truncate(file.durable.len());
                return Err(io::Error::other("input/output error (injected fsync)"));
            }
            let mut inner = self.0.inner.lock().unwrap();
            let file = inner.files.entry(self.1.clone()).or_default();
            file.durable = file.now.clone();
            Ok(())
        }
    }

    impl Disk for FaultyDisk {
        fn lock(&self, path: &FsPath) -> io::Result<(PathBuf, Box<dyn Send + Sync>)> {
            if !self.inner.lock().unwrap().locked.insert(path.to_path_buf()) {
                return Err(io::Error::other(format!("{} is in use", path.display())));
            }
            Ok((
                path.to_path_buf(),
                Box::new(Lock(self.clone(), path.to_path_buf())),
            ))
        }

        fn read(&self, path: &FsPath, limit: u64) -> io::Result<Option<Vec<u8>>> {
            let inner = self.inner.lock().unwrap();
            match inner.files.get(path) {
                Some(file) if file.now.len() as u64 > limit => Err(io::Error::other("too large")),
                Some(file) => Ok(Some(file.now.clone())),
                None => Ok(None),
            }
        }

        fn append(&self, path: &FsPath) -> io::Result<Box<dyn DiskFile>> {
            self.inner
                .lock()
                .unwrap()
                .files
                .entry(path.to_path_buf())
                .or_default();
            Ok(Box::new(Appending(self.clone(), path.to_path_buf())))
        }

        fn replace(&self, path: &FsPath, bytes: &[u8]) -> io::Result<()> {
            if self.take(|f| *f == Failure::Replace).is_some() {
                return Err(io::Error::other("no space left on device (injected)"));
            }
            let mut inner = self.inner.lock().unwrap();
            inner.files.insert(
                path.to_path_buf(),
                FileState {
                    durable: bytes.to_vec(),
                    now: bytes.to_vec(),
                },
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{Failure, FaultyDisk};
    use super::*;

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn local(path: &FsPath, present: &[&str]) -> io::Result<(Journal, Pending)> {
        Journal::open(Arc::new(LocalDisk), path, names(present))
    }

    #[test]
    fn records_and_clearings_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, pending) = local(&path, &["b", "c"]).unwrap();
        assert!(pending.is_empty());
        let set = |key: &str, what, owed: &[&str]| {
            journal
                .set(&Path::from(key), what, names(owed), true)
                .unwrap()
        };
        set("a", Missed::Write, &["b"]);
        set("d", Missed::Delete, &["b", "c"]);
        set("x", Missed::Write, &["c"]);
        set("x", Missed::Write, &[]);
        let now = journal.pending();
        drop(journal);
        let (journal, pending) = local(&path, &["b", "c"]).unwrap();
        assert_eq!(pending, now);
        assert_eq!(pending.len(), 2);
        assert!(journal.damage().is_none());
    }

    #[test]
    fn a_cut_last_record_and_appended_garbage_keep_the_intact_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, _) = local(&path, &["m"]).unwrap();
        for key in ["a", "b", "c"] {
            journal
                .set(&Path::from(key), Missed::Write, names(&["m"]), true)
                .unwrap();
        }
        drop(journal);
        let whole = std::fs::read(&path).unwrap();
        let last = {
            let record = Record::missed(&Path::from("c"), Missed::Write, names(&["m"]));
            whole.len() - record.encode().len()
        };
        for (damaged, reason) in [
            (whole[..whole.len() - 5].to_vec(), "record cut short"),
            // A length that fits, then eight bytes that are no checksum of what follows.
            (
                [whole.clone(), b"\x04\x00\x00\x00garbage!junk".to_vec()].concat(),
                "checksum",
            ),
        ] {
            std::fs::write(&path, &damaged).unwrap();
            let (journal, pending) = local(&path, &["m"]).unwrap();
            let damage = journal.damage().expect("damage found").clone();
            assert!(damage.reason.contains(reason), "{damage}");
            let keys = if reason == "checksum" { 3 } else { 2 };
            // The records: a members record, then the keys.
            assert_eq!((damage.intact, pending.len()), (keys as u64 + 1, keys));
            let offset = if reason == "checksum" {
                whole.len()
            } else {
                last
            };
            assert_eq!(damage.offset as usize, offset, "{damage}");
            assert!(damage.to_string().contains(&path.display().to_string()));
            // Rewritten from the intact records: it reads back clean, and appends work.
            journal
                .set(&Path::from("z"), Missed::Delete, names(&["m"]), true)
                .unwrap();
            drop(journal);
            let (journal, again) = local(&path, &["m"]).unwrap();
            assert!(journal.damage().is_none());
            assert_eq!(again.len(), keys + 1);
            drop(journal);
            std::fs::write(&path, &whole).unwrap();
        }
    }

    #[test]
    fn a_journal_has_one_store_at_a_time_whatever_name_it_is_opened_by() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (first, _) = local(&path, &["m"]).unwrap();
        let err = local(&path, &["m"]).unwrap_err().to_string();
        assert!(err.contains("in use by another store"), "{err}");
        // A symbolic link to it is the same file.
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let err = local(&link, &["m"]).unwrap_err().to_string();
        assert!(err.contains("in use by another store"), "{err}");
        drop(first);
        // Opened through the link, a rewrite replaces the file, never the link.
        let (journal, _) = local(&link, &["m"]).unwrap();
        journal.retire("nobody").unwrap();
        drop(journal);
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        // A hard link is a second name with its own lock: refused.
        let hard = dir.path().join("hard");
        std::fs::hard_link(&path, &hard).unwrap();
        for name in [&path, &hard] {
            let err = local(name, &["m"]).unwrap_err().to_string();
            assert!(err.contains("hard links"), "{err}");
        }
    }

    #[test]
    fn two_journals_in_one_folder_with_one_stem_rewrite_apart() {
        // Their temporary files differ, whatever the timing.
        let folder = FsPath::new("/state");
        assert_ne!(
            beside(&folder.join("safe.journal"), ".rewrite"),
            beside(&folder.join("safe.log"), ".rewrite")
        );
        let dir = tempfile::tempdir().unwrap();
        let (one, _) = local(&dir.path().join("safe.journal"), &["m"]).unwrap();
        let (two, _) = local(&dir.path().join("safe.log"), &["m"]).unwrap();
        std::thread::scope(|s| {
            for journal in [&one, &two] {
                s.spawn(move || {
                    for i in 0..1500u32 {
                        let key = Path::from(format!("k{i}"));
                        journal
                            .set(&key, Missed::Delete, names(&["m"]), true)
                            .unwrap();
                        journal.set(&key, Missed::Delete, names(&[]), true).unwrap();
                    }
                });
            }
        });
        assert!(one.pending().is_empty() && two.pending().is_empty());
    }

    #[test]
    fn a_fifo_or_a_device_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let err = local(&fifo, &["m"]).unwrap_err().to_string();
            assert!(err.contains("not a regular file"), "{err}");
        }
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = local(&link, &["m"]).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[test]
    fn the_file_is_rewritten_once_it_holds_twice_the_pending_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j");
        let (journal, _) = local(&path, &["m"]).unwrap();
        for i in 0..3000u32 {
            let key = Path::from(format!("k{i}"));
            journal
                .set(&key, Missed::Write, names(&["m"]), true)
                .unwrap();
            journal.set(&key, Missed::Write, names(&[]), true).unwrap();
        }
        let records = journal.state.lock().unwrap().records;
        assert!(records <= REWRITE_MIN + 1, "{records}");
        drop(journal);
        let (_, pending) = local(&path, &["m"]).unwrap();
        assert!(pending.is_empty());
    }

    #[test]
    fn a_failed_append_loses_no_record_acknowledged_before_or_after_it() {
        // A full disk (a short write), then an fsync error: each append fails; every
        // append acknowledged before and after is read back after a crash.
        for failure in [
            Failure::ShortWrite(7),
            Failure::Sync,
            Failure::ShortWrite(0),
        ] {
            let disk = FaultyDisk::default();
            let path = PathBuf::from("/j");
            let open = || Journal::open(Arc::new(disk.clone()), &path, names(&["b"]));
            let (journal, _) = open().unwrap();
            let key = |i: u32| Path::from(format!("k{i}"));
            for i in 0..5 {
                journal
                    .set(&key(i), Missed::Write, names(&["b"]), true)
                    .unwrap();
            }
            disk.fail(failure);
            let err = journal.set(&key(5), Missed::Delete, names(&["b"]), true);
            assert!(err.is_err(), "{failure:?}");
            // The rewrite the next append makes fails too (the disk is still full).
            disk.fail(Failure::Replace);
            assert!(journal
                .set(&key(6), Missed::Write, names(&["b"]), true)
                .is_err());
            for i in 7..57 {
                journal
                    .set(&key(i), Missed::Write, names(&["b"]), true)
                    .unwrap();
            }
            assert_eq!(disk.failed(), 2);
            drop(journal);
            disk.crash(|unsynced| unsynced);
            let (journal, pending) = open().unwrap();
            assert!(journal.damage().is_none(), "{:?}", journal.damage());
            // The records whose appends failed are kept too (their operations failed:
            // recording them owes more, never less), written by the rewrite.
            let expected: BTreeSet<Path> = (0..57).map(key).collect();
            let got: BTreeSet<Path> = pending.keys().cloned().collect();
            assert_eq!(got, expected, "{failure:?}");
        }
    }

    #[test]
    fn absent_members_keep_their_records_and_owe_every_later_write() {
        let disk = FaultyDisk::default();
        let path = PathBuf::from("/j");
        let open = |present: &[&str]| Journal::open(Arc::new(disk.clone()), &path, names(present));
        let (journal, _) = open(&["a", "b", "c"]).unwrap();
        journal
            .set(
                &Path::from("gone"),
                Missed::Delete,
                names(&["b", "c"]),
                true,
            )
            .unwrap();
        drop(journal);
        // c is out of the configuration: b converges, c still owes the delete.
        let (journal, pending) = open(&["a", "b"]).unwrap();
        assert_eq!(pending[&Path::from("gone")].1, names(&["b", "c"]));
        assert_eq!(journal.absent(), names(&["c"]));
        journal
            .set(&Path::from("gone"), Missed::Delete, names(&[]), false)
            .unwrap();
        // A write every present member applied is owed by c.
        journal
            .set(&Path::from("new"), Missed::Write, names(&[]), true)
            .unwrap();
        drop(journal);
        let (journal, pending) = open(&["a", "b", "c"]).unwrap();
        assert_eq!(
            pending[&Path::from("gone")],
            (Missed::Delete, names(&["c"]))
        );
        assert_eq!(pending[&Path::from("new")], (Missed::Write, names(&["c"])));
        assert!(journal.absent().is_empty());
        // Retired, a member is forgotten everywhere.
        drop(journal);
        let (journal, _) = open(&["a", "b"]).unwrap();
        journal.retire("c").unwrap();
        assert!(journal.pending().is_empty() && journal.absent().is_empty());
        journal
            .set(&Path::from("later"), Missed::Write, names(&[]), true)
            .unwrap();
        assert!(journal.pending().is_empty());
    }
}
