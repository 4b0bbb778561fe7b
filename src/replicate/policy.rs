//! A replicated store's policies (when a write is acknowledged, where reads and listings
//! go), what a member missed, and the error of a write that did not meet its policy.

use object_store::Error;
use std::fmt;
use std::time::Duration;

/// When a write is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum WritePolicy {
    /// Every member must succeed.
    #[default]
    All,
    /// At least this many members must succeed (1 to the number of members). The call
    /// returns once they have; the other members finish in the background, in order per
    /// key (see [`ReplicatedStore`](super::ReplicatedStore)).
    Quorum(usize),
}

/// Where reads go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadPolicy {
    /// Members in order; the next one on an error or `NotFound`.
    #[default]
    Ordered,
    /// Members in order, but the next one also starts when the running ones have not
    /// answered within the delay; the first good answer wins and the others are
    /// cancelled.
    Hedged(Duration),
}

/// Where listings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ListPolicy {
    /// The first member that answers; if it fails part-way, the next member continues
    /// from the last key listed.
    #[default]
    First,
    /// Every member, merged in key order with each key once (its first member's entry).
    Merged,
}

/// What a member missed, as recorded for [`super::repair`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missed {
    /// A write (put, multipart upload, copy or rename target) the member did not apply.
    Write,
    /// A delete (or rename source) the member did not apply.
    Delete,
}

/// A write that did not meet its policy.
#[derive(Debug)]
pub struct PolicyError {
    pub(super) operation: &'static str,
    pub(super) location: String,
    pub(super) required: usize,
    pub(super) applied: Vec<String>,
    pub(super) failed: Vec<(String, Error)>,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {:?}: {} of {} members applied it, {} required",
            self.operation,
            self.location,
            self.applied.len(),
            self.applied.len() + self.failed.len(),
            self.required
        )?;
        for (member, err) in &self.failed {
            write!(f, "; member {member:?} failed: {err}")?;
        }
        if !self.applied.is_empty() {
            write!(f, "; applied by {}", self.applied.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyError {}
