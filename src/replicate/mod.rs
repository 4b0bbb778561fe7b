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
//!
//! # From a configuration file
//!
//! Keep copies in two clouds, or in a cloud and on-premises MinIO, write them as one, read
//! whichever answers, and prove and restore that they agree:
//!
//! ```toml
//! [stores.safe]
//! provider = "replicated"
//! members = ["aws", "azure", { name = "nas", store = { provider = "local", root = "/srv/nas" } }]
//! write = { quorum = 2 }            # or "all" (default)
//! read = { hedged_after_ms = 50 }   # or "ordered" (default)
//! list = "first"                    # or "merged"
//! journal = "state/safe.journal"    # optional: what members missed survives a restart
//! member_timeout_ms = 2000          # optional: a member call taking longer counts as failed
//! breaker = { failures = 5, open_for_ms = 30000 }   # optional: skip a member that keeps failing
//! ```
//!
//! [`Config::open`](crate::Config::open) gives it as an `Arc<dyn ObjectStore>` (it nests
//! inside a sharded store and plugs in anywhere), and
//! [`Config::open_replicated`](crate::Config::open_replicated) as a [`ReplicatedStore`] for
//! [`repair`], [`repair_recorded`] and [`ReplicatedStore::missed`]. The `stratus` command
//! runs `sync SRC DST`, `verify A B`, `repair STORE [--recorded]` and `status STORE` (what
//! each member missed; with a journal, across restarts). [`sync`] and [`verify`] take any
//! two stores:
//!
//! ```no_run
//! use stratus::replicate::{self, Compare, SyncOptions};
//!
//! async fn migrate() -> stratus::Result<()> {
//!     let config = stratus::Config::load("stores.toml")?;
//!     let (old, new) = (config.open("aws")?, config.open("azure")?);
//!     let options = SyncOptions::default().with_concurrency(32).with_delete(true);
//!     let report = replicate::sync(&*old, &*new, &options).await.expect("listing failed");
//!     println!("copied {}, same {}, deleted {}", report.copied, report.skipped, report.deleted);
//!     let check = replicate::verify(&*old, &*new, &options.with_compare(Compare::Content))
//!         .await
//!         .expect("listing failed");
//!     assert!(check.is_identical());
//!     Ok(())
//! }
//! ```
//!
//! # The replicated store
//!
//! [`ReplicatedStore`]'s own documentation states every edge case (consistency, writes,
//! reads, listings, errors); in short:
//!
//! - Writes (put, multipart, copy, rename, delete) go to every member **at once** and are
//!   acknowledged when the [`WritePolicy`] is met; otherwise the error names each failed
//!   member with its error and the members that did apply it. With `write = { quorum = N }`
//!   the call returns as soon as N members applied it: the others **finish in the
//!   background**, each member's operations on one key in order, recorded as owing the
//!   write until they end (so reads go to members that applied it), at most
//!   [`BACKGROUND_PER_MEMBER`] per member (past it, writes wait for that member), abandoned
//!   [`BACKGROUND_DEADLINE`] after the acknowledgement (still recorded);
//!   [`ReplicatedStore::flush`] waits for them. With a journal, a quorum write first waits
//!   for the others as long as the quorum took (at most as long as an `fsync` takes), and
//!   journals those still running.
//! - **Consistency** (checked over random concurrent histories, the repository's
//!   `tests/history.rs`): within one process, each key behaves as in a single object store
//!   (linearizably) for every answered operation. A read goes only to members that hold the
//!   key's last write or delete (with `hedged` reads too), so after an acknowledged write a
//!   read returns it or a later one, and after an acknowledged delete `NotFound`. Writes to
//!   a key take their place on every member at once, so every member applies them in one
//!   order. Conditional writes (`PutMode::Create`/`Update`, `copy_if_not_exists`) wait until
//!   earlier writes to the key are judged, then are decided by the first member holding its
//!   last write (the primary unless it is behind), then replicated. A copy or rename does
//!   not run on a member behind on its source; that member is recorded instead. A failed
//!   operation may or may not have taken effect, as in any object store. Reads are
//!   `ordered` or `hedged` (the next current member also starts when the running ones have
//!   not answered within the delay; the first good answer wins). Listings come from the
//!   first member (the next one continues after the last key if it fails) or are merged.
//! - **A member that hangs or keeps failing**: `member_timeout_ms` abandons a member call
//!   that takes longer (it counts as failed), and `breaker` ([`Breaker`]) skips a member
//!   after N failed calls in a row for a while: writes count it as failed without calling
//!   it (and record, in the journal, what it missed), reads go to the next member. After
//!   the pause one call probes it; success brings it back ([`ReplicatedStore::skipped`]
//!   lists the members skipped now) and **hands off** what it owes in the background (the
//!   keys converged as [`repair_recorded`] would). A failed probe doubles the pause, up to
//!   16 times `open_for_ms`. Multipart uploads send each part to every member; aborting
//!   aborts everywhere.
//!
//! # The journal
//!
//! Keys some member missed are recorded ([`ReplicatedStore::missed`]) for `repair`: in
//! memory, and with a `journal` ([`ReplicatedStore::with_journal`]) durably, so that a
//! process that dies and restarts still knows every key a member is behind on and whether
//! it missed a write or a delete.
//!
//! - **Guarantee.** When a write or delete is acknowledged (or refused) with some members
//!   having missed it, or still applying it in the background (a quorum write), the key,
//!   the operation and the members are appended to the journal and `fsync`ed before the
//!   call returns; so is the clearing of a missed delete once a later write reached every
//!   member or `repair` converged it. If the journal cannot be written, the operation
//!   fails. [`repair_recorded`] (`stratus repair --recorded`) converges exactly the
//!   recorded keys (a `head` per member and key, no listing), applying a missed delete
//!   instead of restoring the object. A restart does not hand recorded keys off by itself:
//!   run it.
//! - **A failed append changes nothing.** An append that fails part-way (a full disk, a
//!   short write, an `fsync` error) marks the journal for a rewrite, from the records held
//!   in memory, before the next append, so no record ever follows a partial one.
//! - **Damage.** A journal cut short or with garbage appended (a crash mid-append) is read
//!   up to the damage, which [`ReplicatedStore::journal_damage`] reports ([`JournalDamage`]:
//!   the file and byte offset); nothing acknowledged is lost by a cut last record (its call
//!   had not returned).
//! - **Members taken out of the configuration** keep what they owe: the journal knows
//!   every member it has served, keeps the records of one that is missing from today's
//!   configuration ([`ReplicatedStore::absent_members`]), clears a key only for the members
//!   `repair` converged, and records every write and delete made without it, so that when
//!   it comes back `repair` deletes what was deleted meanwhile instead of bringing it back.
//!   [`ReplicatedStore::retire_member`] forgets one gone for good (until then every write
//!   costs an `fsync`).
//! - **One writer per file.** The lock is on the file itself (symbolic links followed, a
//!   journal with more than one hard link refused): opening a journal another store of this
//!   process or another process has is refused. Share the one store instead
//!   (`ReplicatedStore` is `Clone`).
//! - **Bounds.** A regular file of at most 1 GiB (a FIFO or a device is refused). It holds
//!   each key's latest record plus clearings, and is rewritten once it holds twice as many
//!   records as keys still pending (and at least 1,024). Appends run on the calling thread,
//!   one `fsync` per recorded key.
//! - **Format.** A sequence of records, each `length (u32 LE) | XXH3-64 of the payload
//!   (u64 LE) | payload`, the payload one JSON object: `{"op":"write"|"delete","key":..,
//!   "members":[names]}`, `{"op":"clear","key":..}` or `{"op":"members","names":[..]}`.
//!
//! # sync, verify, repair
//!
//! [`sync`], [`verify`] and [`repair`] merge-join the stores' listings in key order
//! (bounded memory; an out-of-order listing is an error, and every store stratus builds
//! lists in key order).
//!
//! - **Nothing is deleted or overwritten on a listing's word alone**: an entry is handed to
//!   the join only after the next one is read and found in order; a key is deleted from the
//!   destination only after a `head` confirms the source lacks it (if the source has it,
//!   its listing was out of order and `sync` stops with that error); a key a store did not
//!   list is written there only with a conditional create (above 16 MiB, after a `head`
//!   finds nothing), so a copy the listing skipped is never replaced.
//! - **What `sync` copies**: what is missing or different. By default ([`Compare`]) sizes,
//!   then ETags where both sides have an MD5-form one (as S3 and MinIO give single-part
//!   uploads), else the **source stamp** sync leaves on each copy as user metadata (the
//!   source's size, time and ETag: a changed source is found whatever its clock says), else,
//!   where the destination keeps no metadata (local folders), the copy must not be provably
//!   older; or sizes only, sizes and times, sizes and ETags, or content digests. The one
//!   definition of "same" and "provably newer" is [`crate::version`]. Bodies are streamed
//!   (multipart above 16 MiB); `with_delete` also deletes extras; there is a dry run; a
//!   re-run does only what is left.
//! - **A sync never wipes a destination by mistake.** With `--delete`
//!   ([`SyncOptions::with_delete`]) it first lists both stores and counts what it would
//!   delete; by default ([`DeleteLimit::Half`]) it refuses, touching nothing, when that is
//!   more than **half** of what the destination holds or the source lists nothing (an empty
//!   or mistyped source), naming the counts: `--max-delete N` or `P%`
//!   ([`DeleteLimit::Count`] / [`DeleteLimit::Fraction`]) or `--force`
//!   ([`DeleteLimit::Unlimited`]) allow more.
//! - **Backups**: `--backup STORE[:PREFIX]` ([`SyncOptions::with_backup`]) copies every
//!   object sync would delete or overwrite there first (a conditional create; a backup
//!   already holding another version fails that key, deleting nothing), so a mistaken sync
//!   is undone by syncing the backup back; `repair` backs up what it deletes or overwrites
//!   too, each member under `PREFIX/<member>/`, and takes `--max-delete N`.
//! - **Checkpoints**: with [`SyncOptions::with_checkpoint`]`(file, every)`, `sync` and
//!   `verify` record the last key handled every `every` keys; an interrupted run resumes
//!   after it (listing from there, not from the start: the report covers the keys after
//!   it), a checkpoint of another run (other stores, prefix or kind) is refused, the
//!   checkpoint never moves past a failed key (a resumed run retries it), and a completed
//!   run removes it. The file is read with a cap of 1 MiB.
//! - **`verify`** counts missing-in-a, missing-in-b and differing keys (with examples, or
//!   as a stream with [`differences`]).
//! - **`repair`** converges a replicated store: recorded missed deletes are applied,
//!   members recorded as having missed the last write are never sources, and otherwise the
//!   **provably newest** version wins (ties: member order), each conflict reported; every
//!   member call is under `member_timeout_ms`. It compares copies by size unless told to
//!   compare content. A write, delete or rename that **no** member applied records
//!   nothing, so `repair` never carries out an operation the caller was told failed (a
//!   failed rename never becomes a delete of its source).
//! - **Bounded reports**: sync and repair reports keep the first `examples` failures and
//!   conflicts (20 by default, [`SyncOptions::examples`]) and count all of them.
//!
//! Measured (the repository's `docs/BENCHMARKS.md`): a 3-member put of 1 MiB objects,
//! every member 10 ms per put, takes 1.008× the wall time of one member; with a 100 ms
//! primary, hedged reads (after 10 ms) answer in 17 ms vs 101 ms ordered; sync of 10,000
//! small objects over stores taking 1 ms per request runs 30× faster at concurrency 32 than
//! at 1.

#[cfg(test)]
mod adversarial;
mod background;
mod call;
mod health;
mod journal;
#[cfg(test)]
mod model;
mod multipart;
mod operations;
mod policy;
mod read;
mod record;
mod repair;
mod state;
mod store;
mod write;

/// `sync` and `verify` work on any two stores: they live in [`crate::sync`], and are
/// named here too, where they were first.
pub use crate::sync::{
    differences, sync, verify, Backup, DeleteLimit, Difference, SyncOptions, SyncReport,
    VerifyReport,
};
pub use crate::version::Compare;
pub use background::{BACKGROUND_DEADLINE, BACKGROUND_PER_MEMBER};
pub use health::Breaker;
pub use journal::JournalDamage;
pub use policy::{ListPolicy, Missed, PolicyError, ReadPolicy, WritePolicy};
pub use repair::{repair, repair_recorded, RepairConflict, RepairReport};
pub use state::GIVEN_UP_GRACE;
pub use store::ReplicatedStore;
