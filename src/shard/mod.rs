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
//!
//! # From a configuration file
//!
//! One logical store spread over several stores (buckets in one cloud to get past
//! per-bucket request limits, or buckets in several clouds), so that any process, in any
//! version of stratus, finds an object with no lookup table, and adding or removing a store
//! moves only the objects that must move.
//!
//! ```toml
//! [stores.objects]
//! provider = "sharded"
//! members = ["east", { store = "west", weight = 2 }, { name = "nas", store = { provider = "local", root = "/srv/nas" } }]
//! slot_bits = 20                 # optional, 8..=24: 2^20 key-space slots (10 bytes each)
//! # previous = ["east", "west"]  # while rebalancing: the membership objects move from
//! ```
//!
//! The `stratus` command runs `shard locate STORE KEY...` (each key's owner, and its
//! previous owner while rebalancing), `shard plan STORE` (moves per source and target, with
//! bytes) and `shard rebalance STORE [--dry-run] [--concurrency 8] [--verify size|content]
//! [--prefer keep|newest|source|destination]`. In code:
//!
//! ```no_run
//! use stratus::shard::{self, ExecuteOptions};
//!
//! async fn grow() -> stratus::Result<()> {
//!     // stores.toml: `objects` has the new `members` and the old ones as `previous`.
//!     let config = stratus::Config::load("stores.toml")?;
//!     let objects = config.open_sharded("objects")?; // an ObjectStore: serve traffic with it meanwhile
//!     let plan = shard::plan(&objects).await?; // lists every member; only misplaced objects
//!     for ((from, to), route) in plan.routes() {
//!         println!("{from} -> {to}: {} objects, {} bytes", route.moves, route.bytes);
//!     }
//!     let report = shard::execute(&objects, &plan, &ExecuteOptions::default()).await;
//!     assert!(report.failures.is_empty()); // a failed move leaves its object where it was
//!     Ok(())
//! }
//! ```
//!
//! # How it works
//!
//! - **Placement** ([`Rendezvous`], behind the object-safe [`Placement`] trait): weighted
//!   rendezvous hashing (Ceph straw2's `-log(u)/w`) over `2^slot_bits` slots of the key
//!   hash, with each slot's owner cached. A key's owner is one XXH3 hash and one array read,
//!   whatever the number of members. Every step is integer arithmetic or a correctly
//!   rounded IEEE operation (an integer `log2`, no platform `ln`), member names (not
//!   positions) are hashed, and the exact definition is on [`Rendezvous`] (the source is
//!   `src/shard/placement.rs`), pinned by golden vectors in the repository's
//!   `fixtures/shard/golden.json`. Any member can be added, removed or reweighted; only
//!   slots that must move change owner.
//! - **[`ShardedStore`]** is an `ObjectStore` (every method forwarded, so it nests and plugs
//!   in anywhere): reads and writes go to the owner; `list` is a k-way merge of every
//!   member's listing in bounded memory, in key order (every store stratus builds lists in
//!   key order: S3, GCS, Azure and memory natively, local folders through a sorted
//!   folder-by-folder walk, since object_store's `LocalFileSystem` lists in directory
//!   order); `list_with_delimiter` merges and de-duplicates prefixes; `delete_stream`
//!   batches per member; copy and rename across members stream the body and keep
//!   `copy_if_not_exists` atomic on the destination (buffering the object, up to 64 MiB:
//!   object_store has no conditional multipart upload). Errors keep object_store's kinds
//!   and name the member ([`Error::member`](crate::Error::member), or
//!   [`member_of`](crate::member_of) on an object_store error). Its documentation lists
//!   every edge case.
//! - **Rebalance**: [`plan`] lists every member (of both memberships) and returns a move for
//!   each object not on its owner, with counts and bytes per route ([`Plan::routes`]);
//!   [`execute`] copies (never replacing an object: a conditional create), verifies (size,
//!   and by default an XXH3-128 digest of the copy read back), then deletes the original;
//!   bounded concurrency (8 moves by default, each body of at most 16 MiB in memory),
//!   progress, dry run; the report keeps 1,000 examples of conflicts and failures and counts
//!   all. The moves of one key are decided together: when several members hold it (a stray
//!   copy left by an interrupted move), their versions are ordered by their own times, only
//!   the newest is copied, the older ones are deleted once the owner holds it, and versions
//!   whose times do not order them are all kept and reported; a copy the run made never
//!   counts as a newer write. Interrupted or failed moves leave the original in place, and
//!   running `plan` + `execute` again finishes the rest. `plan` holds one [`Move`] (about
//!   100 bytes plus the key) per misplaced object.
//! - **Consistency during a rebalance** (the `ShardedStore` with `previous` that the
//!   application uses, and that `execute` runs on): each key's move runs alone (writes,
//!   deletes, copies and renames of that key through the store wait for it, and it for
//!   them); reads try the new owner, the old one, then the new one again, so an object
//!   being moved is always found; `PutMode::Update` goes where the object is; a delete that
//!   fails on the old owner leaves the new owner's version (never the older one alone);
//!   listings show each key once, from its owner or else its old owner. Outside a rebalance
//!   each key is on one member, so a sharded store is as consistent as its members. This
//!   holds within one process: a process still writing with the old membership is not seen,
//!   so stop those before rebalancing. A copy or rename across members is a streamed copy
//!   then a delete (not atomic: both keys exist in between). Checked over random concurrent
//!   histories with a rebalance running (the repository's `tests/history.rs`).
//!
//! # What a move deletes, and when
//!
//! Each pinned by the repository's `tests/data_safety.rs`:
//!
//! - The original is deleted only once the owner is proven to hold the **same bytes** (size,
//!   then MD5-form ETags where both have one, else digests of both bodies; see
//!   [`crate::version`]) or a version that wins by `--prefer` ([`Prefer`]). By default
//!   (`keep`) the owner's version wins only when it is provably newer (a write made during
//!   the rebalance); an older or not provably ordered one is a **conflict**: both versions
//!   are kept and reported with their sizes and times. `newest` lets the provably newer one
//!   win either way (replacing the owner's with a write conditional on its ETag), `source`
//!   and `destination` choose a side. "Provably newer" compares last-modified times at the
//!   coarser precision of the two stores (S3 and Azure report seconds or milliseconds).
//! - **Two names for one place** are refused: at load, two members (of either membership,
//!   of a sharded or a replicated store, inline or named, nested or not) whose provider,
//!   endpoint, bucket / container / folder and prefix overlap; at construction, one store
//!   object under two names; and before the first move of each route, a probe object
//!   written through the owner must not be visible through the old member (two endpoints of
//!   one server, a symlinked folder). Otherwise every move on the route fails and nothing is
//!   touched.
//! - **Renaming.** A member's `name` is what placement hashes, so renaming a member moves
//!   its objects; renaming the *config entry* it uses does not. To rename `[stores.east]` to
//!   `[stores.eu-east]`, keep the member's name:
//!   `members = [{ store = "eu-east", name = "east" }, ...]`: `plan` then shows nothing to
//!   move. Listing the old and the new name of one store as `members` and `previous` is
//!   refused at load, with this advice.
//!
//! Measured (the repository's `docs/BENCHMARKS.md`, same run as the `hashring` crate): lookup
//! 9–11 ns at 10, 100 and 1,000 members (`hashring` with 100 virtual nodes: 64, 87 and
//! 147 ns); busiest of 100 members 2.4% above the mean (`hashring` with 1,000 virtual nodes:
//! 7.9%); adding a member moves 1.00x the optimal fraction, nothing between existing
//! members; weights 1–4 within 0.62% of their share; add / remove / reweight at 100 members
//! 3.2 / 9.5 / 5.5 ms; a full build of 2^20 slots × 100 members 172 ms on one thread (94 ms
//! on the project machine's two).

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
