//! Checkpoints of [`sync`](super::sync) and [`verify`](super::verify): the last key fully
//! handled, so that an interrupted run over tens of millions of objects resumes after it
//! instead of listing again from the start.
//!
//! The file holds a header, what the run is (its kind, both stores' `Display` and the
//! prefix: a checkpoint of another run is refused), and the key. It is replaced
//! atomically (a temporary file renamed over it) every `every` keys, and removed when a
//! run completes. It is not `fsync`ed: a checkpoint lost to a crash of the machine costs
//! redoing work, never correctness, since every key at or before it was handled and
//! what comes after is listed again.

use object_store::path::Path;
use std::io;
use std::path::PathBuf;

const HEADER: &str = "stratus checkpoint v1";
/// The largest checkpoint file read (1 MiB): a header, a run and one key.
const MAX_CHECKPOINT_BYTES: u64 = 1 << 20;

/// Where a run records how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    path: PathBuf,
    /// What the run is: the checkpoint's second line.
    run: String,
    every: u64,
}

impl Checkpoint {
    pub(crate) fn new(path: PathBuf, run: String, every: u64) -> Self {
        Self {
            path,
            run: run.replace('\n', " "),
            every: every.max(1),
        }
    }

    /// The key to resume after, if an earlier run of the same kind left one.
    pub(crate) fn resume(&self) -> crate::Result<Option<Path>> {
        let text =
            match crate::file::read_regular_text(&self.path, MAX_CHECKPOINT_BYTES, "checkpoint") {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(self.error(format!("cannot read it: {e}"))),
            };
        let mut lines = text.splitn(3, '\n');
        match (lines.next(), lines.next(), lines.next()) {
            (Some(HEADER), Some(run), Some(key)) if run == self.run => Path::parse(key)
                .map(Some)
                .map_err(|e| self.error(format!("its key is not a valid path: {e}"))),
            (Some(HEADER), Some(run), Some(_)) => Err(self.error(format!(
                "it belongs to another run ({run}), not this one ({}): remove it or choose \
                 another file",
                self.run
            ))),
            _ => Err(self.error("not a stratus checkpoint".to_string())),
        }
    }

    /// Record `key` as handled (with everything before it) when `handled` is a multiple
    /// of the interval.
    pub(crate) fn handled(&self, key: &Path, handled: u64) -> crate::Result<()> {
        if !handled.is_multiple_of(self.every) {
            return Ok(());
        }
        let temporary = self.path.with_extension("partial");
        std::fs::write(&temporary, format!("{HEADER}\n{}\n{key}", self.run))
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| self.error(format!("cannot write it: {e}")))
    }

    /// The run completed: the next one starts from the beginning.
    pub(crate) fn finish(&self) -> crate::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.error(format!("cannot remove it: {e}"))),
        }
    }

    fn error(&self, message: String) -> crate::Error {
        crate::Error::Checkpoint {
            path: self.path.clone(),
            message,
        }
    }
}
