//! [`Progress`]: the one shape every long operation reports in (inventory scans, sync,
//! verify, repair, rebalance), to one kind of callback, [`ProgressFn`].

use std::sync::Arc;

/// Where a long operation is: handed to the callback set with the options'
/// `with_progress`, after each item or batch of items.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Items finished: objects counted ([`inventory::scan`](crate::inventory::scan)),
    /// keys compared ([`replicate::sync`](crate::replicate::sync), `verify`, `repair`),
    /// moves finished ([`shard::execute`](crate::shard::execute)).
    pub done: u64,
    /// Items in all, when known beforehand (a rebalance's plan); `None` while a listing
    /// is still finding them.
    pub total: Option<u64>,
    /// Bytes of the items finished (counted, copied, moved).
    pub bytes: u64,
    /// Items that failed so far.
    pub failed: u64,
    /// Units of work finished: an inventory's listing partitions (0 for operations
    /// without them).
    pub parts_done: u64,
    /// Units of work known so far (an inventory's partitions grow while it splits the
    /// key space).
    pub parts_known: u64,
}

impl Progress {
    /// `done / total`, when the total is known.
    pub fn fraction(&self) -> Option<f64> {
        let total = self.total?;
        Some(if total == 0 {
            1.0
        } else {
            self.done as f64 / total as f64
        })
    }
}

/// A progress callback. It is called from the operation's own task: keep it quick.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;
