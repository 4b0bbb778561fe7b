//! Replication: one store written to several, read from whichever answers, and helpers
//! that prove and restore that copies agree.
//!
//! - [`ReplicatedStore`] is an `ObjectStore` over named members: writes go to all of them
//!   at once under a [`WritePolicy`] (all, or a quorum), reads follow a [`ReadPolicy`]
//!   (ordered fallback, or hedged), listings a [`ListPolicy`]. Its documentation states
//!   every edge case.
//! - [`sync`] copies what is missing or different from one store to another, [`verify`]
//!   reports how two stores differ, [`repair`] converges the members of a replicated
//!   store. All three merge-join listings in bounded memory.
//!
//! ```
//! use std::sync::Arc;
//! use stratus::object_store::{memory::InMemory, path::Path, ObjectStore, ObjectStoreExt};
//! use stratus::replicate::{self, ReplicatedStore, SyncOptions, WritePolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let members: Vec<(String, Arc<dyn ObjectStore>)> = ["a", "b", "c"]
//!     .iter()
//!     .map(|n| (n.to_string(), Arc::new(InMemory::new()) as Arc<dyn ObjectStore>))
//!     .collect();
//! let store = ReplicatedStore::new(members.clone())?.with_write(WritePolicy::Quorum(2))?;
//! store.put(&Path::from("k"), "v".into()).await?;
//!
//! // Every member has it; a copy made behind the store's back shows up in verify.
//! members[2].1.delete(&Path::from("k")).await?;
//! let report = replicate::verify(&*members[0].1, &*members[2].1, &SyncOptions::default()).await?;
//! assert_eq!(report.missing_in_b, 1);
//! let repaired = replicate::repair(&store, &SyncOptions::default()).await?;
//! assert_eq!(repaired.copied, 1);
//! # Ok(())
//! # }
//! ```

#[cfg(test)]
mod adversarial;
mod background;
mod checkpoint;
mod health;
mod journal;
#[cfg(test)]
mod model;
mod multipart;
mod policy;
mod read;
mod store;
mod sync;
mod write;

pub use crate::version::Compare;
pub use background::{BACKGROUND_DEADLINE, BACKGROUND_PER_MEMBER};
pub use health::Breaker;
pub use journal::JournalDamage;
pub use policy::{ListPolicy, Missed, PolicyError, ReadPolicy, WritePolicy};
pub use store::ReplicatedStore;
pub use sync::{
    differences, repair, repair_recorded, sync, verify, Backup, DeleteLimit, Difference,
    RepairConflict, RepairReport, SyncOptions, SyncReport, VerifyReport,
};
pub use write::GIVEN_UP_GRACE;
