//! Consistent-hash sharding: one logical store spread over several member stores.
//!
//! - [`Placement`] maps a key to a member; [`Rendezvous`] is the default: weighted
//!   rendezvous hashing over a fixed table of key-space slots, stable across processes,
//!   platforms and versions (its exact definition is on its page).
//! - [`ShardedStore`] is an `ObjectStore` that sends each key to its owner and merges
//!   listings; its documentation lists where every operation goes.
//! - [`plan`] and [`execute`] move objects after a membership change, moving only those
//!   whose owner changed, never deleting an original before its copy is verified.
//!
//! ```
//! use std::sync::Arc;
//! use stratus::object_store::{memory::InMemory, path::Path, ObjectStore, ObjectStoreExt};
//! use stratus::shard::{self, Member, Placement, Rendezvous, ShardedStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let stores: Vec<(String, Arc<dyn ObjectStore>)> = ["a", "b", "c"]
//!     .iter()
//!     .map(|name| (name.to_string(), Arc::new(InMemory::new()) as Arc<dyn ObjectStore>))
//!     .collect();
//! let two = Rendezvous::new([Member::new("a"), Member::new("b")])?;
//! let sharded = ShardedStore::new(two.clone(), stores[..2].to_vec())?;
//! for i in 0..100 {
//!     sharded.put(&Path::from(format!("k{i}")), "x".into()).await?;
//! }
//!
//! // Add member c, weighted 2: objects that now belong to c move there, nothing else.
//! let mut three = two.clone();
//! three.add(Member::weighted("c", 2.0))?;
//! let migrating = ShardedStore::new(three, stores.clone())?.with_previous(two, [])?;
//! let plan = shard::plan(&migrating).await?;
//! assert!(plan.moves.iter().all(|m| m.to == "c"));
//! let report = shard::execute(&migrating, &plan, &Default::default()).await;
//! assert!(report.failures.is_empty());
//! assert_eq!(report.moved as usize, plan.moves.len());
//! # Ok(())
//! # }
//! ```

mod placement;
mod rebalance;
mod store;

pub use crate::version::Compare;
pub use placement::{
    Member, Placement, PlacementError, Rendezvous, DEFAULT_SLOT_BITS, MAX_MEMBERS, SLOT_BITS,
};
pub use rebalance::{
    execute, plan, rebalance, ExecuteOptions, Move, MoveConflict, MoveFailure, Plan, Prefer,
    RebalanceReport, Route,
};
pub use store::ShardedStore;
